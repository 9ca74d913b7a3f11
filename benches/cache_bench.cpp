// cache against the code a busy engineer writes, a std::mutex around an std::unordered_map
// and an LRU std::list (naive), TBB's concurrent_lru_cache (std:tbb, when TBB is found), and
// an unlocked std::unordered_map::find (limit, reads only; limit:shared_ptr also copies and
// releases the shared_ptr it finds, the least a `get` that hands out shared_ptr pays;
// limit:claimed and limit:claimed_shared_ptr add what a reader pays to tell writers it is
// reading, the least any cache that frees entries while others read them pays).
// frugal:fixed_window is frugal with `adaptive_window = false` (its window stays at 1 %): the
// difference is what adapting costs.
//
// Names: cache/<operation>/<impl>[:<variant>]/<arg>, with Google Benchmark's /threads:<n>.
// - zipf_reads_<r>: Zipf-distributed keys (s = 0.99 over 1,000,000 keys) on a 10,000-entry
//   cache filled with the 10,000 most popular keys; r % of the operations are `get`, the rest
//   `insert` of the same key. TBB's cache has only `operator[]` with the loader fixed at
//   construction (a lookup that loads on a miss), so every operation of it is that lookup,
//   whatever r: it is registered under zipf_reads_100 only. The counter `hit_ratio` is the
//   share of the gets that hit, for frugal and the naive cache (the limits never evict).
// - zipf_hits: as zipf_reads_100, with the keys drawn from the 10,000 keys in the cache only
//   (Zipf, s = 0.99, over those ranks: the 1,000,000-key Zipf given that the key is cached), so
//   that every `get` is a hit: the time of a hit, and its ratio to the limit, under the key
//   distribution of the other cases rather than on get_hit's 1,000 keys read in turn.
// - get_hit: a `get` (or `visit`) of a key that is in the cache, one thread.
// - insert: an insert of a new key into a full cache (one eviction each), one thread. With
//   expiry (frugal:ttl, frugal:expire_after, and insert_1m): cache_expiry_bench.cpp.
// - stampede/<n>: n threads call get_with on one cold key; the time until all have returned.
// - hit_ratio/<capacity>: a trace of Zipf (s = 0.9) over 100,000 keys with a one-off scan of
//   20,000 new keys every 50,000 requests, replayed once; the counter `hit_ratio` is the
//   figure (frugal's W-TinyLFU against an LRU of the same capacity).
#include "bench_support.hpp"

#include <frugal/cache.hpp>

#if defined(FRUGAL_BENCH_HAVE_TBB)
#define TBB_PREVIEW_CONCURRENT_LRU_CACHE 1
#include <tbb/concurrent_lru_cache.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using key_t_ = std::uint64_t;
using value_t = std::uint64_t;

constexpr std::size_t zipf_keys = 1'000'000;
constexpr std::size_t cache_entries = 10'000;
constexpr std::size_t trace_length = 1 << 20;

// Draws ranks 0..n-1 with P(rank i) proportional to 1 / (i + 1)^s.
std::vector<std::uint32_t> zipf_trace(std::size_t n, double s, std::size_t length,
                                      std::uint64_t seed) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    cdf[i] = sum;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, sum);
  std::vector<std::uint32_t> out(length);
  for (auto& r : out) {
    r = static_cast<std::uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
  }
  return out;
}

// Keys are spread ranks, so that popular keys are not neighbours in the hash table.
key_t_ key_of(std::uint32_t rank) { return rank * 0x9E3779B97F4A7C15ull; }

const std::vector<std::uint32_t>& shared_trace() {
  static const auto trace = zipf_trace(zipf_keys, 0.99, trace_length, 42);
  return trace;
}

// The same distribution given that the key is among the cache_entries most popular ones.
const std::vector<std::uint32_t>& hits_trace() {
  static const auto trace = zipf_trace(cache_entries, 0.99, trace_length, 42);
  return trace;
}

// The naive cache: one mutex, a map to list positions, an LRU list.
class naive_cache {
 public:
  explicit naive_cache(std::size_t capacity) : capacity_(capacity) {}
  std::shared_ptr<const value_t> get(key_t_ k) {
    std::lock_guard lock(m_);
    auto it = map_.find(k);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  void insert(key_t_ k, value_t v) {
    auto p = std::make_shared<const value_t>(v);
    std::lock_guard lock(m_);
    auto it = map_.find(k);
    if (it != map_.end()) {
      it->second->second = std::move(p);
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    lru_.emplace_front(k, std::move(p));
    map_.emplace(k, lru_.begin());
    if (map_.size() > capacity_) {
      map_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }

 private:
  std::mutex m_;
  std::size_t capacity_;
  std::list<std::pair<key_t_, std::shared_ptr<const value_t>>> lru_;
  std::unordered_map<key_t_, std::list<std::pair<key_t_, std::shared_ptr<const value_t>>>::iterator>
      map_;
};

struct frugal_impl {
  static constexpr bool evicts = true;
  explicit frugal_impl(bool adaptive = true)
      : c({.max_capacity = cache_entries, .adaptive_window = adaptive}) {}
  frugal::cache<key_t_, value_t> c;
  value_t get(key_t_ k) {
    auto p = c.get(k);
    return p ? *p : 0;
  }
  void insert(key_t_ k, value_t v) { c.insert(k, v); }
  void settle() { c.run_pending_tasks(); }
};
// How a benchmark builds its implementation. frugal:fixed_window is the same type as frugal,
// built with `adaptive_window = false` (its window stays at 1 %, no miniature simulations):
// both run one instantiation of the timed loop, the same machine code, so that their
// difference is what adapting costs and not where the compiler placed two copies of the loop
// (which moved either by a few per cent from build to build).
template <class Impl>
Impl* make_impl() {
  return new Impl();
}
frugal_impl* make_fixed_window() { return new frugal_impl(false); }

struct frugal_visit_impl : frugal_impl {
  value_t get(key_t_ k) {
    value_t out = 0;
    c.visit(k, [&](const value_t& v) { out = v; });
    return out;
  }
};

struct naive_impl {
  static constexpr bool evicts = true;
  naive_cache c{cache_entries};
  value_t get(key_t_ k) {
    auto p = c.get(k);
    return p ? *p : 0;
  }
  void insert(key_t_ k, value_t v) { c.insert(k, v); }
  void settle() {}
};

struct limit_impl {
  static constexpr bool evicts = false;
  std::unordered_map<key_t_, value_t> m;
  value_t get(key_t_ k) {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
  }
  void insert(key_t_ k, value_t v) { m[k] = v; }
  void settle() {}
};

// The limit for any cache that hands values out as shared_ptr (frugal's `get`, the naive
// cache): the same unlocked find, plus the copy and the release of the found shared_ptr (two
// atomic changes of its use count, since the process runs threads).
struct limit_shared_impl {
  static constexpr bool evicts = false;
  std::unordered_map<key_t_, std::shared_ptr<const value_t>> m;
  value_t get(key_t_ k) {
    auto it = m.find(k);
    if (it == m.end()) return 0;
    const std::shared_ptr<const value_t> p = it->second;
    return *p;
  }
  void insert(key_t_ k, value_t v) { m[k] = std::make_shared<const value_t>(v); }
  void settle() {}
};

// The least a reader pays that tells writers it is reading, so that no writer frees what it
// reads, without asymmetric fences: limit (or limit:shared_ptr), plus a sequentially
// consistent exchange on a cache line no other thread writes before the find and a release
// store after it. On x86 the exchange is a locked instruction: no later load may pass it, as
// a writer that checks the flag after its own store needs. frugal's readers pay this (their
// stripe claim, cache::lookup); the `claimed` limits price that floor.
struct alignas(64) read_flag {
  std::atomic<std::uint32_t> reading{0};
};
inline read_flag& my_read_flag() {
  thread_local read_flag flag;
  return flag;
}

struct limit_claimed_impl {
  static constexpr bool evicts = false;
  limit_impl plain;
  value_t get(key_t_ k) {
    read_flag& f = my_read_flag();
    f.reading.exchange(1, std::memory_order_seq_cst);
    const value_t v = plain.get(k);
    f.reading.store(0, std::memory_order_release);
    return v;
  }
  void insert(key_t_ k, value_t v) { plain.insert(k, v); }
  void settle() {}
};

// The shared_ptr is copied inside the claim and released after it, as frugal's `get` does.
struct limit_claimed_shared_impl {
  static constexpr bool evicts = false;
  limit_shared_impl plain;
  value_t get(key_t_ k) {
    read_flag& f = my_read_flag();
    f.reading.exchange(1, std::memory_order_seq_cst);
    auto it = plain.m.find(k);
    std::shared_ptr<const value_t> p;
    if (it != plain.m.end()) p = it->second;
    f.reading.store(0, std::memory_order_release);
    return p ? *p : 0;
  }
  void insert(key_t_ k, value_t v) { plain.insert(k, v); }
  void settle() {}
};

#if defined(FRUGAL_BENCH_HAVE_TBB)
value_t tbb_load(key_t_ k) { return k + 1; }
struct tbb_impl {
  static constexpr bool evicts = false;  // it loads every miss: a get never misses
  tbb::concurrent_lru_cache<key_t_, value_t, value_t (*)(key_t_)> c{&tbb_load, cache_entries};
  value_t get(key_t_ k) { return c[k].value(); }
  void insert(key_t_ k, value_t) { c[k]; }
  void settle() {}
};
#endif

// One cache shared by the benchmark's threads, built by thread 0 before the timed loop.
template <class Impl>
struct shared {
  static inline Impl* impl = nullptr;
};

template <class Impl, int ReadPercent, bool HitsOnly = false>
void zipf_bench(benchmark::State& state, Impl* (*make)()) {
  const auto& trace = HitsOnly ? hits_trace() : shared_trace();
  if (state.thread_index() == 0) {
    shared<Impl>::impl = make();
    for (std::uint32_t r = 0; r < cache_entries; ++r)
      shared<Impl>::impl->insert(key_of(r), key_of(r) + 1);
    shared<Impl>::impl->settle();
    // A hit returns the key plus 1 (never 0, which stands for a miss): checked once, outside
    // the timed loop.
    if (shared<Impl>::impl->get(key_of(0)) != key_of(0) + 1) state.SkipWithError("wrong value");
  }
  // Thread 0 builds the cache before its loop starts, and every thread's loop starts together:
  // the pointer is read inside the loop.
  // Each thread replays its own stretch of the trace (thread t starts t/n of the way in), so
  // that the threads' requests together are still independent Zipf draws. Threads that
  // replayed one stretch a short way apart would request every key a second time a fixed,
  // short distance later: a recency pattern that one thread's stream does not have, which
  // favours an LRU and changes the hit ratio (and so the work per get) with the thread count.
  std::size_t i = static_cast<std::size_t>(state.thread_index()) *
                  (trace_length / static_cast<std::size_t>(state.threads()));
  std::uint32_t op = static_cast<std::uint32_t>(state.thread_index()) * 37;
  value_t sum = 0;
  std::uint64_t gets = 0, hits = 0;
  for (auto _ : frugal::bench::counted(state)) {
    const key_t_ k = key_of(trace[i++ & (trace_length - 1)]);
    if (ReadPercent == 100 || (ReadPercent > 0 && (op++ % 4) != 0)) {
      const value_t v = shared<Impl>::impl->get(k);
      sum += v;
      ++gets;
      hits += v != 0 ? 1 : 0;
    } else {
      shared<Impl>::impl->insert(k, k + 1);
    }
  }
  benchmark::DoNotOptimize(sum);
  if (HitsOnly && hits != gets) state.SkipWithError("a get of a cached key missed");
  // The share of gets that hit, for the caches that miss (TBB's loads every miss, and the
  // limits never evict): with writes, a policy that keeps more of the popular keys does
  // more work per get, since a miss costs nothing here, where it would cost a load.
  if constexpr (Impl::evicts) {
    state.counters["hit_ratio"] =
        benchmark::Counter(gets == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(gets),
                           benchmark::Counter::kAvgThreads);
  }
  if (state.thread_index() == 0) {
    delete shared<Impl>::impl;
    shared<Impl>::impl = nullptr;
  }
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

template <class Impl>
void get_hit_bench(benchmark::State& state, Impl* (*make)()) {
  const std::unique_ptr<Impl> owner(make());
  Impl& impl = *owner;
  std::vector<key_t_> keys;
  for (std::uint32_t r = 0; r < 1000; ++r) keys.push_back(key_of(r));
  for (key_t_ k : keys) impl.insert(k, k);
  impl.settle();
  value_t expect = 0;
  for (key_t_ k : keys) expect += impl.get(k);
  value_t want = 0;
  for (key_t_ k : keys) want += k;
  if (expect != want) state.SkipWithError("a key missed");
  std::size_t i = 0;
  value_t sum = 0;
  for (auto _ : frugal::bench::counted(state)) {
    sum += impl.get(keys[i++ % keys.size()]);
    benchmark::DoNotOptimize(sum);
  }
}

template <class Impl>
void insert_bench(benchmark::State& state, Impl* (*make)()) {
  const std::unique_ptr<Impl> owner(make());
  Impl& impl = *owner;
  for (std::uint32_t r = 0; r < cache_entries; ++r) impl.insert(key_of(r), r);
  impl.settle();
  std::uint64_t next = cache_entries;
  for (auto _ : frugal::bench::counted(state)) {
    impl.insert(key_of(static_cast<std::uint32_t>(next)), next);
    ++next;
  }
  impl.settle();
  if (impl.get(key_of(static_cast<std::uint32_t>(next - 1))) != next - 1) {
    state.SkipWithError("the last insert is missing");
  }
}

// n threads wait on a condition variable; each iteration releases them on a new cold key and
// waits until every get_with has returned.
void stampede_bench(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  frugal::cache<key_t_, value_t> c({.max_capacity = cache_entries});
  std::mutex m;
  std::condition_variable start_cv, done_cv;
  std::uint64_t generation = 0;
  int remaining = 0;
  bool stop = false;
  std::atomic<std::uint64_t> loads{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&] {
      std::uint64_t seen = 0;
      for (;;) {
        {
          std::unique_lock lock(m);
          start_cv.wait(lock, [&] { return stop || generation != seen; });
          if (stop) return;
          seen = generation;
        }
        const auto v = c.get_with(seen, [&] {
          loads.fetch_add(1, std::memory_order_relaxed);
          return seen * 2;
        });
        if (*v != seen * 2) wrong.fetch_add(1);
        std::lock_guard lock(m);
        if (--remaining == 0) done_cv.notify_one();
      }
    });
  }
  for (auto _ : frugal::bench::counted(state)) {
    std::unique_lock lock(m);
    ++generation;
    remaining = n;
    start_cv.notify_all();
    done_cv.wait(lock, [&] { return remaining == 0; });
  }
  {
    std::lock_guard lock(m);
    stop = true;
  }
  start_cv.notify_all();
  for (auto& t : threads) t.join();
  if (loads.load() != static_cast<std::uint64_t>(state.iterations()) || wrong.load() != 0) {
    state.SkipWithError("the loader ran more than once per key");
  }
  state.counters["loads/op"] =
      benchmark::Counter(static_cast<double>(loads.load()), benchmark::Counter::kAvgIterations);
}

// The hit-ratio trace: Zipf 0.9 over 100,000 keys, a scan of 20,000 never-seen keys after
// every 50,000 requests.
const std::vector<key_t_>& hit_ratio_trace() {
  static const auto trace = [] {
    const auto zipf = zipf_trace(100'000, 0.9, 500'000, 7);
    std::vector<key_t_> out;
    key_t_ scan_key = 1'000'000;
    for (std::size_t i = 0; i < zipf.size(); ++i) {
      out.push_back(zipf[i]);
      if ((i + 1) % 50'000 == 0) {
        for (int j = 0; j < 20'000; ++j) out.push_back(scan_key++);
      }
    }
    return out;
  }();
  return trace;
}

template <class Cache>
void hit_ratio_bench(benchmark::State& state) {
  const auto& trace = hit_ratio_trace();
  const auto capacity = static_cast<std::size_t>(state.range(0));
  double ratio = 0;
  for (auto _ : frugal::bench::counted(state)) {
    std::uint64_t hits = 0;
    if constexpr (std::is_same_v<Cache, naive_cache>) {
      naive_cache c(capacity);
      for (key_t_ k : trace) {
        if (c.get(k)) {
          ++hits;
        } else {
          c.insert(k, k);
        }
      }
    } else {
      frugal::cache<key_t_, value_t> c({.max_capacity = capacity});
      for (key_t_ k : trace) {
        if (c.get(k)) {
          ++hits;
        } else {
          c.insert(k, k);
        }
      }
    }
    ratio = static_cast<double>(hits) / static_cast<double>(trace.size());
    benchmark::DoNotOptimize(ratio);
  }
  if (ratio <= 0 || ratio >= 1) state.SkipWithError("implausible hit ratio");
  state.counters["hit_ratio"] = ratio;
}

template <class Impl, int R, bool HitsOnly = false>
void add_zipf(const char* impl_name, Impl* (*make)() = &make_impl<Impl>) {
  const std::string name =
      (HitsOnly ? std::string("cache/zipf_hits/") : "cache/zipf_reads_" + std::to_string(R) + "/") +
      impl_name;
  benchmark::RegisterBenchmark(name.c_str(), zipf_bench<Impl, R, HitsOnly>, make)
      ->Threads(1)
      ->Threads(2)
      ->Threads(4)
      ->Threads(8)
      ->Threads(16)
      ->UseRealTime();
}

// Registers a one-thread case run on an implementation built by `make`.
template <class Impl>
void add_one(const char* name, void (*bench)(benchmark::State&, Impl* (*)()),
             Impl* (*make)() = &make_impl<Impl>) {
  benchmark::RegisterBenchmark(name, bench, make);
}

const bool registered = [] {
  add_zipf<frugal_impl, 100>("frugal");
  add_zipf<frugal_visit_impl, 100>("frugal:visit");
  add_zipf<naive_impl, 100>("naive");
#if defined(FRUGAL_BENCH_HAVE_TBB)
  add_zipf<tbb_impl, 100>("std:tbb");
#endif
  add_zipf<limit_impl, 100>("limit");
  add_zipf<limit_shared_impl, 100>("limit:shared_ptr");
  add_zipf<limit_claimed_impl, 100>("limit:claimed");
  add_zipf<limit_claimed_shared_impl, 100>("limit:claimed_shared_ptr");
  add_zipf<frugal_impl, 100>("frugal:fixed_window", &make_fixed_window);
  add_zipf<frugal_impl, 100, true>("frugal");
  add_zipf<frugal_visit_impl, 100, true>("frugal:visit");
  add_zipf<naive_impl, 100, true>("naive");
  add_zipf<limit_impl, 100, true>("limit");
  add_zipf<limit_shared_impl, 100, true>("limit:shared_ptr");
  add_zipf<limit_claimed_impl, 100, true>("limit:claimed");
  add_zipf<limit_claimed_shared_impl, 100, true>("limit:claimed_shared_ptr");
  add_zipf<frugal_impl, 100, true>("frugal:fixed_window", &make_fixed_window);
  add_zipf<frugal_impl, 75>("frugal");
  add_zipf<frugal_impl, 75>("frugal:fixed_window", &make_fixed_window);
  add_zipf<naive_impl, 75>("naive");
  add_zipf<frugal_impl, 0>("frugal");
  add_zipf<frugal_impl, 0>("frugal:fixed_window", &make_fixed_window);
  add_zipf<naive_impl, 0>("naive");
  add_one<frugal_impl>("cache/get_hit/frugal", get_hit_bench<frugal_impl>);
  add_one<frugal_visit_impl>("cache/get_hit/frugal:visit", get_hit_bench<frugal_visit_impl>);
  add_one<frugal_impl>("cache/get_hit/frugal:fixed_window", get_hit_bench<frugal_impl>,
                       &make_fixed_window);
  add_one<naive_impl>("cache/get_hit/naive", get_hit_bench<naive_impl>);
  add_one<limit_impl>("cache/get_hit/limit", get_hit_bench<limit_impl>);
  add_one<limit_shared_impl>("cache/get_hit/limit:shared_ptr", get_hit_bench<limit_shared_impl>);
  add_one<limit_claimed_impl>("cache/get_hit/limit:claimed", get_hit_bench<limit_claimed_impl>);
  add_one<limit_claimed_shared_impl>("cache/get_hit/limit:claimed_shared_ptr",
                                     get_hit_bench<limit_claimed_shared_impl>);
  add_one<frugal_impl>("cache/insert/frugal", insert_bench<frugal_impl>);
  add_one<frugal_impl>("cache/insert/frugal:fixed_window", insert_bench<frugal_impl>,
                       &make_fixed_window);
  add_one<naive_impl>("cache/insert/naive", insert_bench<naive_impl>);
  benchmark::RegisterBenchmark("cache/stampede/frugal", stampede_bench)->Arg(1000)->UseRealTime();
  benchmark::RegisterBenchmark("cache/hit_ratio/frugal",
                               hit_ratio_bench<frugal::cache<key_t_, value_t>>)
      ->Arg(1000)
      ->Iterations(1);
  benchmark::RegisterBenchmark("cache/hit_ratio/naive", hit_ratio_bench<naive_cache>)
      ->Arg(1000)
      ->Iterations(1);
  return true;
}();

}  // namespace

// The cases that carry this module's claims (1 and 2 threads: the machine has 2 cores; the
// bench takes up to 16 threads for a bigger one).
FRUGAL_BENCH_HEADLINE("^cache/zipf_(reads_(100|75|0)|hits)/.*threads:(1|2)$");
FRUGAL_BENCH_HEADLINE("^cache/(get_hit|insert|stampede|hit_ratio)/");

// The stampede starts its own 1000 threads.
FRUGAL_BENCH_OWN_THREADS("^cache/stampede/");
