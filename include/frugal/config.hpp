// frugal's version and the macros users may write in their own code.
#pragma once

/// The version of frugal, as in `CMakeLists.txt`'s `project(VERSION)` (a test checks that
/// they agree). `FRUGAL_VERSION` is `major * 10000 + minor * 100 + patch`, for `#if`:
/// `#if FRUGAL_VERSION >= 200` means 0.2.0 or later.
#define FRUGAL_VERSION_MAJOR 0
#define FRUGAL_VERSION_MINOR 1
#define FRUGAL_VERSION_PATCH 0
#define FRUGAL_VERSION \
  (FRUGAL_VERSION_MAJOR * 10000 + FRUGAL_VERSION_MINOR * 100 + FRUGAL_VERSION_PATCH)

/// Marks a parameter (or, after a member function's parameter list, the object itself) whose
/// storage the function's result may view, so that clang warns (`-Wdangling`) when the result
/// outlives a temporary passed there. Expands to `[[clang::lifetimebound]]` on clang and to
/// nothing elsewhere, so code using it compiles warning-free on every compiler:
///
///     std::string_view first_word(std::string_view s FRUGAL_LIFETIMEBOUND);
#if defined(__clang__) && defined(__has_cpp_attribute)
#if __has_cpp_attribute(clang::lifetimebound)
#define FRUGAL_LIFETIMEBOUND [[clang::lifetimebound]]
#endif
#endif
#ifndef FRUGAL_LIFETIMEBOUND
#define FRUGAL_LIFETIMEBOUND
#endif
