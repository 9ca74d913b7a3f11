// Internal configuration shared by every frugal header: version, namespaces, errors.
// Users never include this header directly; every public header does.
#pragma once

#include <frugal/config.hpp>

#include <cstdio>
#include <cstdlib>

// FRUGAL_ASSERT is active in debug builds (no NDEBUG) and whenever FRUGAL_HARDENED is defined.
#if defined(FRUGAL_HARDENED) || !defined(NDEBUG)
#define FRUGAL_ASSERTIONS_ENABLED 1
#else
#define FRUGAL_ASSERTIONS_ENABLED 0
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define FRUGAL_HAS_EXCEPTIONS 1
#else
#define FRUGAL_HAS_EXCEPTIONS 0
#endif

// The inline namespace names the version and the build mode. Assertions and exceptions change
// what inline functions do, so translation units built in different modes get different
// symbols and cannot be linked together by accident.
#define FRUGAL_ABI_CAT3(a, b, c) a##b##c
#define FRUGAL_ABI_NAME(a, b, c) FRUGAL_ABI_CAT3(a, b, c)
#if FRUGAL_ASSERTIONS_ENABLED
#define FRUGAL_ABI_CHECKED _checked
#else
#define FRUGAL_ABI_CHECKED
#endif
#if FRUGAL_HAS_EXCEPTIONS
#define FRUGAL_ABI_EXC
#else
#define FRUGAL_ABI_EXC _noexc
#endif
#define FRUGAL_ABI_NAMESPACE FRUGAL_ABI_NAME(v0_1, FRUGAL_ABI_CHECKED, FRUGAL_ABI_EXC)

#define FRUGAL_BEGIN_NAMESPACE \
  namespace frugal {           \
  inline namespace FRUGAL_ABI_NAMESPACE {
#define FRUGAL_END_NAMESPACE \
  }                          \
  }

#if defined(__GNUC__) || defined(__clang__)
#define FRUGAL_LIKELY(x) __builtin_expect(!!(x), 1)
#define FRUGAL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FRUGAL_NOINLINE __attribute__((noinline))
#define FRUGAL_COLD __attribute__((cold, noinline))
#define FRUGAL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FRUGAL_LIKELY(x) (x)
#define FRUGAL_UNLIKELY(x) (x)
#define FRUGAL_NOINLINE
#define FRUGAL_COLD
#define FRUGAL_ALWAYS_INLINE inline
#endif

FRUGAL_BEGIN_NAMESPACE
namespace detail {

// Prints "frugal: <what>: <message>" to stderr and aborts. Never returns.
[[noreturn]] FRUGAL_COLD inline void fail(const char* what, const char* message) noexcept {
  std::fprintf(stderr, "frugal: %s: %s\n", what, message);
  std::fflush(stderr);
  std::abort();
}

[[noreturn]] FRUGAL_COLD inline void assertion_failed(const char* file, int line,
                                                      const char* condition) noexcept {
  std::fprintf(stderr, "frugal: assertion failed: %s:%d: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail
FRUGAL_END_NAMESPACE

// FRUGAL_THROW(exception) throws `exception`; built without exceptions (-fno-exceptions), it
// prints the exception's type and message (`what()`) to stderr and aborts instead, so services
// that disable exceptions still get a clear answer to bad input.
#if FRUGAL_HAS_EXCEPTIONS
#define FRUGAL_THROW(...) throw __VA_ARGS__
#else
#define FRUGAL_THROW(...) ::frugal::detail::fail("fatal error", (__VA_ARGS__).what())
#endif

// FRUGAL_ASSERT(condition) checks a hot-path precondition in debug and hardened builds; on
// failure it prints the file, line and condition to stderr and aborts. Compiles to nothing
// otherwise (the condition is not evaluated).
#if FRUGAL_ASSERTIONS_ENABLED
#define FRUGAL_ASSERT(...)                       \
  (FRUGAL_LIKELY(static_cast<bool>(__VA_ARGS__)) \
       ? static_cast<void>(0)                    \
       : ::frugal::detail::assertion_failed(__FILE__, __LINE__, #__VA_ARGS__))
#else
#define FRUGAL_ASSERT(...) static_cast<void>(0)
#endif
