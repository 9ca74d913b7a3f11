// cache with expiry, linked into cache_bench (names as there): inserts into a full cache with a
// time to live of an hour for every entry (frugal:ttl) and with a per-entry expiry of one to
// two hours by value (frugal:expire_after); no entry is due during a run, so the difference
// from the same insert without expiry (frugal) is what scheduling and cancelling deadlines
// cost, and the difference between the two is what a deadline per entry adds.
// - insert/frugal:ttl, insert/frugal:expire_after: a cache of 10,000 entries, as
//   cache/insert/frugal in cache_bench.cpp.
// - insert_1m/<impl>: the same with and without expiry on a cache of 2^20 entries, whose
//   expiry schedule does not fit in the CPU's caches.
// A translation unit of its own: more instantiations of the cache's read path in
// cache_bench.cpp would change which calls g++ inlines in the other benchmarks' loops.
#include "bench_support.hpp"

#include <frugal/cache.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace {

using key_t_ = std::uint64_t;
using value_t = std::uint64_t;

key_t_ spread(std::uint64_t rank) { return rank * 0x9E3779B97F4A7C15ull; }

// Expiry 0: none; 1: a time to live of an hour; 2: one to two hours per entry, by value.
template <int Expiry, std::size_t Capacity>
frugal::cache_options<key_t_, value_t> options() {
  frugal::cache_options<key_t_, value_t> o{.max_capacity = Capacity};
  if (Expiry == 1) o.time_to_live = std::chrono::hours(1);
  if (Expiry == 2) {
    o.expire_after_write = [](const key_t_&,
                              const value_t& v) -> std::optional<std::chrono::nanoseconds> {
      return std::chrono::hours(1) + std::chrono::seconds((v * 0x9e3779b97f4a7c15ull) >> 52);
    };
  }
  return o;
}

// Fills the cache, then times inserts of new keys (one eviction each).
template <int Expiry, std::size_t Capacity>
void insert_bench(benchmark::State& state) {
  frugal::cache<key_t_, value_t> c(options<Expiry, Capacity>());
  for (std::uint64_t r = 0; r < Capacity; ++r) c.insert(spread(r), r);
  c.run_pending_tasks();
  std::uint64_t next = Capacity;
  for (auto _ : frugal::bench::counted(state)) {
    c.insert(spread(next), next);
    ++next;
  }
  c.run_pending_tasks();
  if (!c.contains(spread(next - 1))) state.SkipWithError("the last insert is missing");
  if (c.stats().evicted_expired != 0) state.SkipWithError("an entry expired during the run");
}

[[maybe_unused]] const bool registered = [] {
  constexpr std::size_t small = 10'000, big = std::size_t{1} << 20;
  benchmark::RegisterBenchmark("cache/insert/frugal:ttl", insert_bench<1, small>);
  benchmark::RegisterBenchmark("cache/insert/frugal:expire_after", insert_bench<2, small>);
  benchmark::RegisterBenchmark("cache/insert_1m/frugal", insert_bench<0, big>);
  benchmark::RegisterBenchmark("cache/insert_1m/frugal:ttl", insert_bench<1, big>);
  benchmark::RegisterBenchmark("cache/insert_1m/frugal:expire_after", insert_bench<2, big>);
  return true;
}();

}  // namespace
