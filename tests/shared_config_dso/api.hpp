// Two shared libraries built with -fvisibility=hidden, each holding frugal::shared_config
// instances of its own type, and a program that reads them through its own instantiations and
// through the libraries'. See main.cpp.
#pragma once

#include <frugal/shared_config.hpp>

#include <atomic>
#include <string>

#define DSO_API __attribute__((visibility("default")))

// A version type that counts its live instances (in the library that creates and destroys it).
struct text_version {
  static inline std::atomic<long> live{0};
  std::string text;
  explicit text_version(std::string t) : text(std::move(t)) { ++live; }
  text_version(const text_version& o) : text(o.text) { ++live; }
  ~text_version() { --live; }
};

using text_config = frugal::shared_config<text_version>;
using number_config = frugal::shared_config<long>;

DSO_API text_config* text_make(const char* text);
DSO_API std::string text_read(const text_config& c);
DSO_API std::string text_read_nested_with(const text_config& c, const number_config& n,
                                          long* number);
DSO_API void text_store(text_config& c, const char* text);
// A guard of `c` read while a guard of `pinned` is alive: where this thread's table in the
// library is too small for `c`'s id, the read cannot grow it and takes a slot of its own.
DSO_API text_config::guard text_read_while_pinned(const text_config& pinned,
                                                  const text_config& c);
DSO_API void text_destroy(text_config* c);
DSO_API long text_live();

DSO_API number_config* number_make(long v);
DSO_API long number_read(const number_config& c);
DSO_API void number_destroy(number_config* c);
