// pool: one acquire and release of a pooled object, against the pool a busy engineer writes (a
// std::mutex around a std::deque of objects, moved out and back in: naive). frugal runs with
// expiry off (frugal) and with the guide's options (frugal:guide: idle timeout and max
// lifetime, so each cycle reads the clock twice), and with the guide's options on a coarse
// clock (frugal:coarse_clock, CLOCK_MONOTONIC_COARSE, the clock a service may pass for
// expiry measured in minutes).
//
// Names: pool/acquire_release/<impl>/threads:<n>, every thread working on one shared pool of
// 20 objects, so nobody waits. The machine the headline runs on has 2 cores: only 1 and 2
// threads are headline cases; 4 to 16 threads run on request.
#include "bench_support.hpp"

#include <frugal/pool.hpp>

#include <time.h>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace {

// What a connection handle carries for the benchmark: an id and a use count.
struct handle {
  int id = 0;
  std::uint64_t uses = 0;
};

constexpr std::size_t pool_objects = 20;

// The naive pool: a mutex and a deque of owned objects.
class naive_pool {
 public:
  std::unique_ptr<handle> acquire() {
    std::lock_guard<std::mutex> g(mu_);
    if (objects_.empty()) return std::make_unique<handle>(handle{++made_, 0});
    std::unique_ptr<handle> h = std::move(objects_.front());
    objects_.pop_front();
    return h;
  }
  void release(std::unique_ptr<handle> h) {
    std::lock_guard<std::mutex> g(mu_);
    objects_.push_back(std::move(h));
  }

 private:
  std::mutex mu_;
  std::deque<std::unique_ptr<handle>> objects_;
  int made_ = 0;
};

struct coarse_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<coarse_clock>;
  [[maybe_unused]] static constexpr bool is_steady = true;
  static time_point now() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

frugal::pool_options guide_options() {
  frugal::pool_options o;
  o.max_size = pool_objects;
  o.min_idle = 5;
  o.acquire_timeout = std::chrono::seconds(3);
  o.idle_timeout = std::chrono::seconds(600);
  o.max_lifetime = std::chrono::seconds(1800);
  return o;
}

frugal::pool_options plain_options() {
  frugal::pool_options o = guide_options();
  o.idle_timeout = std::chrono::milliseconds(0);
  o.max_lifetime = std::chrono::milliseconds(0);
  return o;
}

int made = 0;
handle make_handle() { return handle{++made, 0}; }

naive_pool& shared_naive() {
  static naive_pool p;
  return p;
}
template <class Clock>
frugal::pool<handle, Clock>& shared_frugal(bool guide) {
  static frugal::pool<handle, Clock> plain(make_handle, plain_options());
  static frugal::pool<handle, Clock> with_expiry(make_handle, guide_options());
  return guide ? with_expiry : plain;
}

// The work done with the object while it is held, the same in every implementation.
inline void use(handle& h) {
  ++h.uses;
  benchmark::DoNotOptimize(h.uses);
}

void acquire_release_naive(benchmark::State& state) {
  naive_pool& p = shared_naive();
  for (auto _ : frugal::bench::counted(state)) {
    std::unique_ptr<handle> h = p.acquire();
    use(*h);
    p.release(std::move(h));
  }
}

template <class Clock, bool Guide>
void acquire_release_frugal(benchmark::State& state) {
  auto& p = shared_frugal<Clock>(Guide);
  for (auto _ : frugal::bench::counted(state)) {
    auto h = p.acquire();
    use(*h);
  }
}

// The clock read that expiry costs per cycle, alone (limit: what frugal:guide adds at least).
void clock_read_limit(benchmark::State& state) {
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(std::chrono::steady_clock::now());
  }
}

// Both pools hand out working objects and count every use: checked once, outside any timed
// loop, before the benchmarks run.
const bool checked = [] {
  naive_pool n;
  frugal::pool<handle> f(make_handle, guide_options());
  std::uint64_t naive_uses = 0;
  std::uint64_t frugal_uses = 0;
  for (int i = 0; i < 1000; ++i) {
    auto a = n.acquire();
    use(*a);
    naive_uses += a->uses;
    n.release(std::move(a));
    auto b = f.acquire();
    use(*b);
    frugal_uses += b->uses;
  }
  if (naive_uses != frugal_uses || f.stats().created != 1 || f.stats().acquired != 1000) {
    std::fprintf(stderr, "pool_bench: the pools disagree (%llu vs %llu uses)\n",
                 static_cast<unsigned long long>(naive_uses),
                 static_cast<unsigned long long>(frugal_uses));
    std::abort();
  }
  return true;
}();

const bool registered = [] {
  const auto add = [](const char* impl, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark((std::string("pool/acquire_release/") + impl).c_str(), fn)
        ->Threads(1)
        ->Threads(2)
        ->Threads(4)
        ->Threads(8)
        ->Threads(16)
        ->UseRealTime();
  };
  add("naive", acquire_release_naive);
  add("frugal", acquire_release_frugal<std::chrono::steady_clock, false>);
  add("frugal:guide", acquire_release_frugal<std::chrono::steady_clock, true>);
  add("frugal:coarse_clock", acquire_release_frugal<coarse_clock, true>);
  benchmark::RegisterBenchmark("pool/clock_read/limit:steady_clock/1", clock_read_limit);
  return true;
}();

}  // namespace

// The claim: frugal's pool, uncontended and with the guide's expiry on, is within 1.5x of the
// naive mutex + deque and allocates nothing per cycle. 2 cores: 1 and 2 threads only.
FRUGAL_BENCH_HEADLINE("^pool/acquire_release/.*threads:(1|2)$");
FRUGAL_BENCH_HEADLINE("^pool/clock_read/");
