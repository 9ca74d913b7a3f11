// Two shared libraries built with -fvisibility=hidden, each with its own copy of the cache's
// inline code and thread-locals (the read-buffer stripe number, the frees in progress), working on
// one cache that the program owns. See main.cpp.
#pragma once

#include <frugal/cache.hpp>

#include <atomic>
#include <cstdint>
#include <utility>

#define DSO_API __attribute__((visibility("default")))

struct dso_value;
using dso_cache = frugal::cache<int, dso_value>;

// A value that counts its live instances in a counter the program owns (a static member
// would be one counter per library), and whose destructor may call the cache through the
// beta library: beta_on_destroy reads the key back and re-inserts keys below 1,000 as key +
// 1,000 (once), so V's destructor calls into the cache from another library's code.
struct dso_value {
  int key;
  std::atomic<long>* live;
  dso_cache* reinsert_into;
  dso_value(int k, std::atomic<long>* l, dso_cache* c) : key(k), live(l), reinsert_into(c) {
    ++*live;
  }
  dso_value(dso_value&& o) noexcept
      : key(o.key), live(o.live), reinsert_into(std::exchange(o.reinsert_into, nullptr)) {
    ++*live;
  }
  dso_value(const dso_value&) = delete;
  dso_value& operator=(const dso_value&) = delete;
  DSO_API ~dso_value();
};

// Inserts and reads keys [from, to) `rounds` times through alpha's code (values re-insert
// into `reinsert` when destroyed, if not null); returns the number of lookups it made.
DSO_API std::uint64_t alpha_work(dso_cache& c, int from, int to, int rounds,
                                 std::atomic<long>* live, dso_cache* reinsert);
// Loads, reads and invalidates keys [from, to) through beta's code; returns its lookups.
DSO_API std::uint64_t beta_work(dso_cache& c, int from, int to, int rounds,
                                std::atomic<long>* live);
// Called by ~dso_value (defined in beta).
DSO_API void beta_on_destroy(dso_cache& c, int key, std::atomic<long>* live);
// A cache that alpha keeps in a function-local static, destroyed at exit after the threads
// that filled it have ended.
DSO_API dso_cache& alpha_static_cache();
