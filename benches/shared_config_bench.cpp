// shared_config against the usual ways to share a reloadable configuration: copying it per
// read (naive), a mutex around a shared_ptr copy (std:mutex), std::shared_mutex
// (std:shared_mutex), C++20 std::atomic<std::shared_ptr> (std:atomic_shared_ptr, where the
// standard library has it), and a raw atomic pointer load (limit, which cannot reclaim old
// versions safely). Every read accesses one field.
//
// Names: shared_config/<operation>_<config>[_<writer>]/<impl>/threads:<n>, where the writer
// is absent (none), `1ms` (a store every millisecond) or `busy` (stores back to back).
#include "bench_support.hpp"

#include <frugal/shared_config.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct tiny_config {
  int timeout_ms = 250;
  int retries = 3;
};

// About twenty fields, with strings, a vector and a map, like a service's settings.
struct big_config {
  std::string service_name = "checkout-service-eu-west";
  std::string region = "eu-west-1";
  std::string database_url = "postgres://db.internal.example:5432/checkout?sslmode=require";
  std::string cache_url = "redis://cache.internal.example:6379/0";
  int timeout_ms = 250;
  int retries = 3;
  int max_connections = 512;
  int worker_threads = 16;
  int queue_depth = 4096;
  double sample_rate = 0.01;
  double circuit_breaker_ratio = 0.5;
  bool tls = true;
  bool compression = true;
  bool tracing = false;
  long max_body_bytes = 1 << 20;
  long rate_limit_per_s = 10000;
  std::vector<std::string> allowed_origins = {"https://shop.example", "https://admin.example",
                                              "https://m.shop.example"};
  std::map<std::string, std::string> feature_flags = {
      {"new_checkout", "on"}, {"fast_refunds", "off"}, {"gift_cards", "on"}, {"wallets", "beta"}};
  std::string log_level = "info";
  std::string owner_team = "payments-platform";
};

template <class T>
T make_version(int i) {
  T t;
  t.timeout_ms = 250 + i % 7;
  return t;
}

// The implementations, one read interface each. ------------------------------------------

template <class T>
struct naive_holder {
  mutable std::mutex mu;
  T value = make_version<T>(0);
  int read_timeout() const {
    T copy;
    {
      std::lock_guard lock(mu);
      copy = value;
    }
    return copy.timeout_ms;
  }
  void store(T v) {
    std::lock_guard lock(mu);
    value = std::move(v);
  }
};

template <class T>
struct mutex_holder {
  mutable std::mutex mu;
  std::shared_ptr<const T> value = std::make_shared<const T>(make_version<T>(0));
  int read_timeout() const {
    std::shared_ptr<const T> copy;
    {
      std::lock_guard lock(mu);
      copy = value;
    }
    return copy->timeout_ms;
  }
  void store(T v) {
    auto next = std::make_shared<const T>(std::move(v));
    std::lock_guard lock(mu);
    value.swap(next);
  }
};

template <class T>
struct shared_mutex_holder {
  mutable std::shared_mutex mu;
  std::shared_ptr<const T> value = std::make_shared<const T>(make_version<T>(0));
  int read_timeout() const {
    std::shared_lock lock(mu);
    return value->timeout_ms;
  }
  void store(T v) {
    auto next = std::make_shared<const T>(std::move(v));
    std::unique_lock lock(mu);
    value.swap(next);
  }
};

#if defined(__cpp_lib_atomic_shared_ptr)
template <class T>
struct atomic_shared_ptr_holder {
  std::atomic<std::shared_ptr<const T>> value{std::make_shared<const T>(make_version<T>(0))};
  int read_timeout() const { return value.load()->timeout_ms; }
  void store(T v) { value.store(std::make_shared<const T>(std::move(v))); }
};
#endif

// The limit: one atomic load. It keeps every replaced version until the holder is destroyed,
// since it cannot know when readers are done with them; that is the price it does not pay.
template <class T>
struct limit_holder {
  std::atomic<const T*> value{new T(make_version<T>(0))};
  std::vector<const T*> retired;  // written by the (single) writer only
  int read_timeout() const { return value.load(std::memory_order_acquire)->timeout_ms; }
  void store(T v) {
    retired.push_back(value.exchange(new T(std::move(v)), std::memory_order_acq_rel));
  }
  limit_holder() = default;
  limit_holder(const limit_holder&) = delete;
  limit_holder& operator=(const limit_holder&) = delete;
  ~limit_holder() {
    for (const T* p : retired) delete p;
    delete value.load();
  }
};

template <class T>
struct frugal_holder {
  frugal::shared_config<T> config{make_version<T>(0)};
  int read_timeout() const { return config.read()->timeout_ms; }
  void store(T v) { config.store(std::move(v)); }
};

template <class T>
struct frugal_snapshot_holder {
  frugal::shared_config<T> config{make_version<T>(0)};
  int read_timeout() const { return config.snapshot()->timeout_ms; }
  void store(T v) { config.store(std::move(v)); }
};

enum class writer { none, every_ms, busy };

// One holder shared by the benchmark's threads, and an optional writer thread, both set up by
// thread 0 before the timed loop (Google Benchmark starts all threads' loops together).
template <class Holder>
struct shared_state {
  static inline Holder* holder = nullptr;
  static inline std::thread writer_thread;
  static inline std::atomic<bool> stop{false};
};

template <class Holder, class T, writer W>
void read_bench(benchmark::State& state) {
  using S = shared_state<Holder>;
  if (state.thread_index() == 0) {
    S::holder = new Holder();
    S::stop = false;
    if constexpr (W != writer::none) {
      S::writer_thread = std::thread([] {
        int i = 1;
        while (!S::stop.load(std::memory_order_relaxed)) {
          S::holder->store(make_version<T>(i++));
          if constexpr (W == writer::every_ms)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
    }
  }
  long sum = 0;
  for (auto _ : frugal::bench::counted(state)) {
    sum += S::holder->read_timeout();
    benchmark::DoNotOptimize(sum);
  }
  if (sum < 250 * static_cast<long>(state.iterations())) state.SkipWithError("wrong value read");
  if (state.thread_index() == 0) {
    // Every thread has left its loop (Google Benchmark waits for all of them at the loop's
    // end) and none touches the holder after it.
    S::stop = true;
    if (S::writer_thread.joinable()) S::writer_thread.join();
    delete S::holder;
    S::holder = nullptr;
  }
  state.counters["reads/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

template <class Holder, class T>
void store_bench(benchmark::State& state) {
  Holder holder;
  const T next = make_version<T>(1);
  for (auto _ : frugal::bench::counted(state)) {
    holder.store(next);
  }
}

// The time from a store until a reader thread, spinning on reads, sees it. One reader: with
// the storing thread that is all this 2-core machine runs without time-slicing (a third
// spinning thread turns the figure into the scheduler's 4 ms quantum).
template <class Holder, class T>
void propagation_bench(benchmark::State& state) {
  Holder holder;
  std::atomic<int> target{0};
  std::atomic<int> seen{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 1; ++r) {
    readers.emplace_back([&] {
      int last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const int want = target.load(std::memory_order_relaxed);
        if (want != last && holder.read_timeout() == 250 + want % 7) {
          last = want;
          seen.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  int i = 0;
  for (auto _ : frugal::bench::counted(state)) {
    ++i;
    if (i % 7 == 0) ++i;  // every version reads differently from the one before
    seen.store(0, std::memory_order_relaxed);
    target.store(i, std::memory_order_relaxed);
    holder.store(make_version<T>(i));
    while (seen.load(std::memory_order_relaxed) < 1) {
    }
  }
  stop = true;
  for (auto& r : readers) r.join();
}

template <class T, writer W>
void register_reads(const std::string& op) {
  auto add = [&](const char* impl, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark(("shared_config/" + op + "/" + impl).c_str(), fn)
        ->ThreadRange(1, 4)
        ->UseRealTime();
  };
  add("naive", read_bench<naive_holder<T>, T, W>);
  add("std:mutex", read_bench<mutex_holder<T>, T, W>);
  add("std:shared_mutex", read_bench<shared_mutex_holder<T>, T, W>);
#if defined(__cpp_lib_atomic_shared_ptr)
  add("std:atomic_shared_ptr", read_bench<atomic_shared_ptr_holder<T>, T, W>);
#endif
  add("frugal", read_bench<frugal_holder<T>, T, W>);
  add("frugal:snapshot", read_bench<frugal_snapshot_holder<T>, T, W>);
  add("limit", read_bench<limit_holder<T>, T, W>);
}

template <class T>
void register_writes(const std::string& config) {
  benchmark::RegisterBenchmark(("shared_config/store_" + config + "/std:mutex").c_str(),
                               store_bench<mutex_holder<T>, T>);
  benchmark::RegisterBenchmark(("shared_config/store_" + config + "/frugal").c_str(),
                               store_bench<frugal_holder<T>, T>);
  benchmark::RegisterBenchmark(("shared_config/propagate_" + config + "/std:mutex").c_str(),
                               propagation_bench<mutex_holder<T>, T>)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("shared_config/propagate_" + config + "/frugal").c_str(),
                               propagation_bench<frugal_holder<T>, T>)
      ->UseRealTime();
}

const bool registered = [] {
  register_reads<tiny_config, writer::none>("read_tiny");
  register_reads<big_config, writer::none>("read_big");
  register_reads<tiny_config, writer::every_ms>("read_tiny_1ms");
  register_reads<tiny_config, writer::busy>("read_tiny_busy");
  register_writes<tiny_config>("tiny");
  register_writes<big_config>("big");
  return true;
}();

}  // namespace

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^shared_config/read_tiny/.*threads:(1|2)$");
FRUGAL_BENCH_HEADLINE("^shared_config/(store|propagate)_tiny/");

// A writer thread runs beside the readers, or a reader beside the writer.
FRUGAL_BENCH_OWN_THREADS("^shared_config/(read_[a-z]+_(1ms|busy)|propagate_[a-z]+)/");
