// Adversarial tests of frugal::cache: many threads on few keys, tiny capacities, values that
// check themselves, user code that throws at the worst moment, and awkward value types.
// Worker threads never assert: they count failures in atomics, checked after join.
#include <frugal/cache.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

unsigned hw_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// More reader threads than the cache has read-buffer stripes (four per hardware thread, at
// most 64), so threads share stripes.
unsigned many_readers() { return std::min(4 * hw_threads() + 4, 72u); }

std::uint64_t checksum(std::uint64_t key) noexcept {
  std::uint64_t x = key * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  x ^= x >> 31;
  return x * 0xBF58476D1CE4E5B9ull;
}

constexpr std::uint64_t alive_magic = 0xA11FEA11FEA11FEull;
constexpr std::uint64_t dead_magic = 0xDEADDEADDEADDEADull;

std::atomic<long> live_values{0};
std::atomic<long> bad_destroys{0};

// A value that knows its key, checks itself and counts live instances; destroying one twice
// (or one never built) is counted.
struct checked {
  std::uint64_t key;
  std::uint64_t sum;
  std::uint64_t magic = alive_magic;
  std::vector<std::uint64_t> payload;  // heap memory a freed value would expose to ASan

  explicit checked(std::uint64_t k) : key(k), sum(checksum(k)), payload(4, checksum(k)) {
    live_values.fetch_add(1, std::memory_order_relaxed);
  }
  checked(const checked& o) : key(o.key), sum(o.sum), payload(o.payload) {
    live_values.fetch_add(1, std::memory_order_relaxed);
  }
  checked& operator=(const checked&) = delete;
  ~checked() {
    if (magic != alive_magic) bad_destroys.fetch_add(1, std::memory_order_relaxed);
    magic = dead_magic;
    sum = 0;
    live_values.fetch_sub(1, std::memory_order_relaxed);
  }
  bool ok_for(std::uint64_t k) const noexcept {
    return magic == alive_magic && key == k && sum == checksum(k) && payload.size() == 4 &&
           payload[0] == checksum(k) && payload[3] == checksum(k);
  }
};

using checked_cache = frugal::cache<std::uint64_t, checked>;
using checked_opts = frugal::cache_options<std::uint64_t, checked>;

// Runs `body` on its own thread and fails (then ends the process: a hung thread cannot be
// joined) when it does not finish within `limit`.
template <class F>
void with_watchdog(F body, std::chrono::seconds limit = 10s) {
  std::packaged_task<void()> task(std::move(body));
  auto done = task.get_future();
  std::thread t(std::move(task));
  if (done.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "watchdog: the body did not finish within %lld s (a hang)\n",
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::_Exit(3);
  }
  t.join();
  done.get();  // rethrows what the body threw
}

struct fake_clock {
  std::shared_ptr<std::atomic<std::int64_t>> ns = std::make_shared<std::atomic<std::int64_t>>(1000);
  std::function<std::chrono::steady_clock::time_point()> fn() const {
    return [n = ns] {
      return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(n->load()));
    };
  }
  void advance(std::int64_t d) const { ns->fetch_add(d); }
};

// Readers and writers on one small key range of one cache; returns the failures counted.
struct torture_result {
  long bad_values = 0;
  std::uint64_t lookups = 0;  // get and visit calls
  std::uint64_t get_with_calls = 0;
};

torture_result torture(checked_cache& c, std::uint64_t keys, int reader_ops, int writer_ops,
                       bool with_get_with) {
  std::atomic<long> bad{0};
  std::atomic<std::uint64_t> lookups{0}, get_withs{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  const unsigned readers = many_readers();
  for (unsigned r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      while (!go.load()) std::this_thread::yield();
      std::minstd_rand rng(r + 1);
      std::uint64_t mine = 0, mine_gw = 0;
      for (int i = 0; i < reader_ops; ++i) {
        const std::uint64_t k = rng() % keys;
        switch (rng() % (with_get_with ? 4 : 3)) {
          case 0: {
            ++mine;
            if (auto v = c.get(k); v && !v->ok_for(k)) bad.fetch_add(1);
            break;
          }
          case 1: {
            ++mine;
            c.visit(k, [&](const checked& v) {
              if (!v.ok_for(k)) bad.fetch_add(1);
            });
            break;
          }
          case 2:
            (void)c.contains(k);
            break;
          default: {
            ++mine_gw;
            auto v = c.get_with(k, [k] { return checked(k); });
            if (!v || !v->ok_for(k)) bad.fetch_add(1);
            break;
          }
        }
      }
      lookups.fetch_add(mine);
      get_withs.fetch_add(mine_gw);
    });
  }
  for (unsigned w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      while (!go.load()) std::this_thread::yield();
      std::minstd_rand rng(1000 + w);
      for (int i = 0; i < writer_ops; ++i) {
        const std::uint64_t k = rng() % keys;
        const auto op = rng() % 100;
        if (op < 70) {
          auto v = c.insert(k, k);
          if (!v || !v->ok_for(k)) bad.fetch_add(1);
        } else if (op < 90) {
          (void)c.invalidate(k);
        } else if (op < 95) {
          (void)c.invalidate_if([&](const std::uint64_t& key, const checked& v) {
            if (!v.ok_for(key)) bad.fetch_add(1);
            return key % 7 == k % 7;
          });
        } else if (op < 97) {
          c.invalidate_all();
        } else {
          c.run_pending_tasks();
        }
      }
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  return {bad.load(), lookups.load(), get_withs.load()};
}

// The number of keys below `keys` the table holds.
std::uint64_t held(const checked_cache& c, std::uint64_t keys) {
  std::uint64_t n = 0;
  for (std::uint64_t k = 0; k < keys; ++k) n += c.contains(k) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("readers see whole values while writers replace and invalidate the same keys",
          "[cache_stress][concurrent]") {
  const long before = live_values.load();
  {
    checked_cache c({.max_capacity = 32});
    const auto r = torture(c, 64, 2000, 2000, true);
    CHECK(r.bad_values == 0);
    c.run_pending_tasks();
    CHECK(c.entry_count() <= 32);
    CHECK(c.entry_count() == held(c, 64));  // exact after run_pending_tasks
    const auto s = c.stats();
    // get_with counts one lookup (its own get) per call.
    CHECK(s.hits + s.misses == r.lookups + r.get_with_calls);
  }
  CHECK(live_values.load() == before);
  CHECK(bad_destroys.load() == 0);
}

TEST_CASE("stats count every get and visit exactly once after the readers joined",
          "[cache_stress][concurrent]") {
  checked_cache c({.max_capacity = 1000});
  for (std::uint64_t k = 0; k < 50; k += 2) c.insert(k, k);
  std::atomic<std::uint64_t> hits{0}, misses{0};
  std::vector<std::thread> threads;
  for (unsigned r = 0; r < many_readers(); ++r) {
    threads.emplace_back([&, r] {
      std::minstd_rand rng(r + 7);
      std::uint64_t h = 0, m = 0;
      for (int i = 0; i < 3000; ++i) {
        const std::uint64_t k = rng() % 50;
        const bool found =
            (i & 1) ? static_cast<bool>(c.get(k)) : c.visit(k, [](const checked&) {});
        (found ? h : m) += 1;
      }
      hits.fetch_add(h);
      misses.fetch_add(m);
    });
  }
  for (auto& t : threads) t.join();
  const auto s = c.stats();
  CHECK(s.hits == hits.load());
  CHECK(s.misses == misses.load());
}

TEST_CASE("tiny and zero capacities stay bounded and whole under concurrency",
          "[cache_stress][concurrent]") {
  const long before = live_values.load();
  for (std::uint64_t cap : {0u, 1u, 2u}) {
    INFO("max_capacity " << cap);
    checked_cache c({.max_capacity = cap, .write_buffer = 2});
    const auto r = torture(c, 8, 800, 800, true);
    CHECK(r.bad_values == 0);
    c.run_pending_tasks();
    CHECK(c.entry_count() <= cap);
    CHECK(c.entry_count() == held(c, 8));
    if (cap == 0) {
      for (std::uint64_t k = 0; k < 8; ++k) CHECK_FALSE(c.contains(k));
    }
  }
  CHECK(live_values.load() == before);
  CHECK(bad_destroys.load() == 0);
}

TEST_CASE("time to idle expires what nobody reads and keeps what readers touch",
          "[cache_stress][concurrent]") {
  fake_clock clock;
  checked_cache c(
      {.max_capacity = 100, .time_to_idle = std::chrono::nanoseconds(1000), .clock = clock.fn()});
  c.insert(std::uint64_t{1}, std::uint64_t{1});  // read all along
  c.insert(std::uint64_t{2}, std::uint64_t{2});  // never read
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0}, missing{0};
  std::vector<std::thread> threads;
  for (unsigned r = 0; r < many_readers(); ++r) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        if (auto v = c.get(std::uint64_t{1}); v && !v->ok_for(1)) bad.fetch_add(1);
        c.visit(std::uint64_t{1}, [&](const checked& v) {
          if (!v.ok_for(1)) bad.fetch_add(1);
        });
      }
    });
  }
  // The clock moves in steps far below the idle time; after each step this thread reads
  // key 1 itself, so it is never idle for more than one step.
  for (int i = 0; i < 300; ++i) {
    clock.advance(100);
    if (!c.get(std::uint64_t{1})) missing.fetch_add(1);
    if (i % 16 == 0) c.run_pending_tasks();
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  CHECK(bad.load() == 0);
  CHECK(missing.load() == 0);
  CHECK_FALSE(c.contains(std::uint64_t{2}));
  c.run_pending_tasks();
  CHECK(c.stats().evicted_expired >= 1);
  clock.advance(1001);
  CHECK_FALSE(c.get(std::uint64_t{1}));
  c.run_pending_tasks();
  CHECK(c.entry_count() == 0);
}

// A read whose clock call returned earlier, but which stores its access time later, must not
// move the entry's idle deadline back: the last read by the clock was the later one.
TEST_CASE("a late reader with an older time does not shorten the idle deadline",
          "[cache_stress][concurrent]") {
  std::atomic<std::int64_t> now{1000};
  std::atomic<std::thread::id> slow_reader{};
  std::atomic<int> slow_state{0};  // 1: the slow reader took its time; 2: it may go on
  auto clock = [&] {
    const std::int64_t t = now.load();
    if (std::this_thread::get_id() == slow_reader.load() && slow_state.load() == 0) {
      slow_state.store(1);
      while (slow_state.load() != 2) std::this_thread::yield();
    }
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t));
  };
  checked_cache c(
      {.max_capacity = 100, .time_to_idle = std::chrono::nanoseconds(1000), .clock = clock});
  c.insert(std::uint64_t{1}, std::uint64_t{1});
  now.store(1100);
  std::thread slow([&] {
    slow_reader.store(std::this_thread::get_id());
    (void)c.get(std::uint64_t{1});  // reads the clock at 1100, stores after the fast read
  });
  while (slow_state.load() != 1) std::this_thread::yield();
  now.store(1900);
  CHECK(c.get(std::uint64_t{1}));  // the last read: alive until 2900
  slow_state.store(2);
  slow.join();
  now.store(2500);
  CHECK(c.get(std::uint64_t{1}));
}

TEST_CASE("threads that end while the cache lives hand their stripes to later threads",
          "[cache_stress][concurrent]") {
  checked_cache c({.max_capacity = 64});
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::atomic<std::uint64_t> lookups{0};
  std::thread writer([&] {
    std::minstd_rand rng(5);
    while (!stop.load()) {
      const std::uint64_t k = rng() % 96;
      if (rng() % 4 == 0) {
        c.invalidate(k);
      } else {
        c.insert(k, k);
      }
    }
  });
  for (int round = 0; round < 12; ++round) {
    std::vector<std::thread> wave;
    for (unsigned r = 0; r < many_readers(); ++r) {
      wave.emplace_back([&, r, round] {
        std::minstd_rand rng(static_cast<unsigned>(round * 100 + static_cast<int>(r)) + 1);
        for (int i = 0; i < 60; ++i) {
          const std::uint64_t k = rng() % 96;
          if (auto v = c.get(k); v && !v->ok_for(k)) bad.fetch_add(1);
        }
        lookups.fetch_add(60);
      });
    }
    for (auto& t : wave) t.join();
  }
  stop.store(true);
  writer.join();
  CHECK(bad.load() == 0);
  const auto s = c.stats();
  CHECK(s.hits + s.misses == lookups.load());
}

TEST_CASE("caches of one type built and destroyed while others of that type are in use",
          "[cache_stress][concurrent]") {
  const long before = live_values.load();
  {
    checked_cache steady({.max_capacity = 16});
    std::atomic<bool> stop{false};
    std::atomic<long> bad{0};
    std::vector<std::thread> users;
    for (unsigned r = 0; r < 4; ++r) {
      users.emplace_back([&, r] {
        std::minstd_rand rng(r + 11);
        while (!stop.load()) {
          const std::uint64_t k = rng() % 24;
          if (rng() % 3 == 0) {
            steady.insert(k, k);
          } else if (auto v = steady.get(k); v && !v->ok_for(k)) {
            bad.fetch_add(1);
          }
        }
      });
    }
    for (int round = 0; round < 10; ++round) {
      // Many caches of the same type at once, each used by several threads, then destroyed.
      std::vector<std::unique_ptr<checked_cache>> many;
      for (int i = 0; i < 8; ++i) {
        many.push_back(
            std::make_unique<checked_cache>(checked_opts{.max_capacity = 4, .shards = 1}));
      }
      std::vector<std::thread> wave;
      for (unsigned r = 0; r < 6; ++r) {
        wave.emplace_back([&, r] {
          std::minstd_rand rng(r + 31);
          for (int i = 0; i < 200; ++i) {
            auto& c = *many[rng() % many.size()];
            const std::uint64_t k = rng() % 8;
            if (rng() % 2 == 0) {
              c.insert(k, k);
            } else {
              c.visit(k, [&](const checked& v) {
                if (!v.ok_for(k)) bad.fetch_add(1);
              });
            }
          }
        });
      }
      for (auto& t : wave) t.join();
      many.clear();
    }
    stop.store(true);
    for (auto& t : users) t.join();
    CHECK(bad.load() == 0);
  }
  CHECK(live_values.load() == before);
  CHECK(bad_destroys.load() == 0);
}

// --- user code that throws inside a lookup: the claim must be released ---

namespace {

std::atomic<bool> throw_in_hash{false};
std::atomic<bool> throw_in_eq{false};
std::atomic<int> throw_hash_of{-1};  // a key whose hash throws

struct throwing_hash {
  std::size_t operator()(int k) const {
    if (throw_in_hash.load() || k == throw_hash_of.load()) throw std::runtime_error("hash");
    return static_cast<std::size_t>(k) * 0x9E3779B97F4A7C15ull;
  }
};
struct throwing_eq {
  bool operator()(int a, int b) const {
    if (throw_in_eq.load()) throw std::runtime_error("eq");
    return a == b;
  }
};
using throwing_cache = frugal::cache<int, int, throwing_hash, throwing_eq>;

}  // namespace

TEST_CASE("Eq that throws inside get and visit releases the shard", "[cache_stress]") {
  throwing_cache c({.max_capacity = 100, .shards = 1});
  c.insert(1, 1);
  with_watchdog([&] {
    throw_in_eq.store(true);
    CHECK_THROWS_AS(c.get(1), std::runtime_error);
    CHECK_THROWS_AS(c.visit(1, [](int) {}), std::runtime_error);
    throw_in_eq.store(false);
    c.insert(1, 2);  // the same shard: must not wait for a claim nobody holds
    c.insert(3, 3);
    c.invalidate_all();
  });
  CHECK_FALSE(c.get(1));
}

TEST_CASE("Hash that throws inside get and visit releases the shard", "[cache_stress]") {
  throwing_cache c({.max_capacity = 100, .shards = 1});
  c.insert(1, 1);
  with_watchdog([&] {
    throw_in_hash.store(true);
    CHECK_THROWS_AS(c.get(1), std::runtime_error);
    CHECK_THROWS_AS(c.visit(1, [](int) {}), std::runtime_error);
    throw_in_hash.store(false);
    c.insert(1, 2);
  });
  REQUIRE(c.get(1));
  CHECK(*c.get(1) == 2);
}

TEST_CASE("Eq that throws inside contains, invalidate and insert releases the shard",
          "[cache_stress]") {
  throwing_cache c({.max_capacity = 100, .shards = 1});
  c.insert(1, 1);
  with_watchdog([&] {
    throw_in_eq.store(true);
    CHECK_THROWS_AS(c.contains(1), std::runtime_error);
    CHECK_THROWS_AS(c.invalidate(1), std::runtime_error);
    CHECK_THROWS_AS(c.insert(1, 5), std::runtime_error);
    throw_in_eq.store(false);
    // The same shard, from this thread and from another: nothing may wait for a lock a
    // throw left behind.
    c.insert(2, 2);
    std::thread([&] { c.insert(3, 3); }).join();
    CHECK(c.invalidate(1));
    c.run_pending_tasks();
  });
  CHECK_FALSE(c.get(1));
  REQUIRE(c.get(2));
  CHECK(*c.get(2) == 2);
  CHECK(c.entry_count() == 2);
}

namespace {

// A batch function of throwing_cache: every key k loads as k * 10.
std::vector<std::optional<int>> times_ten(std::span<const int> keys) {
  std::vector<std::optional<int>> out;
  for (int k : keys) out.emplace_back(k * 10);
  return out;
}

// Loads `key` from another thread and returns the value (the watchdog catches a wait for a
// load nobody runs).
int load_elsewhere(throwing_cache& c, int key) {
  int got = -1;
  std::thread([&] { got = *c.get_with(key, [key] { return key * 100; }); }).join();
  return got;
}

}  // namespace

TEST_CASE("get_all whose key lookup throws leaves none of its loads in flight", "[cache_stress]") {
  throwing_cache c({.max_capacity = 100, .shards = 4});
  const std::vector<int> keys{1, 2, 666, 4};
  with_watchdog([&] {
    throw_hash_of.store(666);
    CHECK_THROWS_AS(c.get_all(std::span<const int>(keys), times_ten), std::runtime_error);
    throw_hash_of.store(-1);
    // Keys 1 and 2 were registered as this call's loads before 666 threw.
    CHECK(load_elsewhere(c, 1) == 100);
    CHECK(*c.get_with(2, [] { return 200; }) == 200);  // no "loading it already" here either
  });
  CHECK(c.stats().loads == 2);
}

TEST_CASE("get_all that finds a key this thread is loading leaves none of its loads in flight",
          "[cache_stress]") {
  throwing_cache c({.max_capacity = 100, .shards = 4});
  const std::vector<int> keys{2, 3, 1};
  with_watchdog([&] {
    CHECK_THROWS_AS(
        c.get_with(1, [&] { return *c.get_all(std::span<const int>(keys), times_ten)[0]; }),
        std::logic_error);
    CHECK(load_elsewhere(c, 2) == 200);
    CHECK(*c.get_with(3, [] { return 300; }) == 300);
    CHECK(*c.get_with(1, [] { return 100; }) == 100);
  });
}

TEST_CASE("get_all whose Eq throws while finishing its loads fails them all, and they reload",
          "[cache_stress]") {
  throwing_cache c({.max_capacity = 100, .shards = 1});
  const std::vector<int> keys{1, 2, 3};
  with_watchdog([&] {
    auto arm_then_load = [](std::span<const int> ks) {
      throw_in_eq.store(true);  // finishing the first key compares it with itself
      return times_ten(ks);
    };
    CHECK_THROWS_AS(c.get_all(std::span<const int>(keys), arm_then_load), std::runtime_error);
    throw_in_eq.store(false);
    for (int k : keys) CHECK(load_elsewhere(c, k) == k * 100);
  });
  // The batch call returned (a load); what failed was storing its results. Each call counts
  // once: the batch and the three reloads.
  CHECK(c.stats().load_failures == 0);
  CHECK(c.stats().loads == 4);
}

namespace {

// Hash and Eq that throw on the k-th call from the moment `calls_left` is set to k.
std::atomic<long> calls_left{-1};
bool call_throws() { return calls_left.fetch_sub(1) == 1; }
struct countdown_hash {
  std::size_t operator()(int k) const {
    if (call_throws()) throw std::runtime_error("hash");
    return static_cast<std::size_t>(k) * 0x9E3779B97F4A7C15ull;
  }
};
struct countdown_eq {
  bool operator()(int a, int b) const {
    if (call_throws()) throw std::runtime_error("eq");
    return a == b;
  }
};
using countdown_cache = frugal::cache<int, int, countdown_hash, countdown_eq>;

}  // namespace

TEST_CASE("a load whose Hash or Eq throws on its k-th call either stores its value and returns "
          "or stores nothing and throws",
          "[cache_stress]") {
  // The three ways to load key 1 (as 10), into a shard that holds another key.
  const std::vector<int> keys{1};
  const std::function<int(countdown_cache&, int&)> ops[] = {
      [](countdown_cache& c, int& calls) {
        return *c.get_with(1, [&] {
          ++calls;
          return 10;
        });
      },
      [](countdown_cache& c, int& calls) {
        return *c.optionally_get_with(1, [&] {
          ++calls;
          return std::optional<int>(10);
        });
      },
      [&keys](countdown_cache& c, int& calls) {
        return *c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
          ++calls;
          std::vector<std::optional<int>> out;
          for (int k : ks) out.emplace_back(k * 10);
          return out;
        })[0];
      },
  };
  int op_index = 0;
  for (const auto& op : ops) {
    int thrown = 0;
    for (long k = 1; k <= 40; ++k) {
      INFO("op " << op_index << ", throw on call " << k);
      countdown_cache c({.max_capacity = 100, .shards = 1});
      c.insert(2, 20);
      int calls = 0;
      bool threw = false;
      int got = -1;
      with_watchdog([&] {
        calls_left.store(k);
        try {
          got = op(c, calls);
        } catch (const std::runtime_error&) {
          threw = true;
        }
        calls_left.store(-1);
        // Never a load left in flight, and never a value stored by a call that threw: another
        // thread either finds what the call returned or loads the key itself.
        int elsewhere = -1;
        std::thread([&] { elsewhere = *c.get_with(1, [] { return 100; }); }).join();
        if (threw) {
          CHECK(elsewhere == 100);
        } else {
          CHECK(got == 10);
          CHECK(elsewhere == 10);
        }
      });
      thrown += threw ? 1 : 0;
      const auto s = c.stats();
      // Each loader call counts once, as a load when it returned (the throw came after), and
      // so does the other thread's load.
      CHECK(s.load_failures == 0);
      CHECK(s.loads == static_cast<std::uint64_t>(calls) + (threw ? 1 : 0));
    }
    CHECK(thrown > 0);  // the sweep reached the calls inside the load
    ++op_index;
  }
}


TEST_CASE("a clock that throws inside get and visit releases the shard", "[cache_stress]") {
  auto throwing = std::make_shared<std::atomic<bool>>(false);
  frugal::cache<int, int> c({.max_capacity = 100,
                             .time_to_live = std::chrono::hours(1),
                             .clock =
                                 [throwing] {
                                   if (throwing->load()) throw std::runtime_error("clock");
                                   return std::chrono::steady_clock::time_point(1s);
                                 },
                             .shards = 1});
  c.insert(1, 1);
  with_watchdog([&] {
    throwing->store(true);
    CHECK_THROWS_AS(c.get(1), std::runtime_error);
    CHECK_THROWS_AS(c.visit(1, [](int) {}), std::runtime_error);
    throwing->store(false);
    c.insert(1, 2);
  });
  CHECK(*c.get(1) == 2);
}

TEST_CASE("visit's f that throws releases the shard, also under concurrent readers",
          "[cache_stress][concurrent]") {
  frugal::cache<int, int> c({.max_capacity = 100, .shards = 1});
  for (int k = 0; k < 10; ++k) c.insert(k, k);
  std::atomic<long> thrown{0};
  with_watchdog([&] {
    std::vector<std::thread> threads;
    for (unsigned r = 0; r < many_readers(); ++r) {
      threads.emplace_back([&, r] {
        for (int i = 0; i < 200; ++i) {
          try {
            c.visit(static_cast<int>((r + static_cast<unsigned>(i)) % 10),
                    [](int) { throw std::runtime_error("f"); });
          } catch (const std::runtime_error&) {
            thrown.fetch_add(1);
          }
        }
      });
    }
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) c.insert(i % 10, i);
    });
    for (auto& t : threads) t.join();
  });
  CHECK(thrown.load() == static_cast<long>(many_readers()) * 200);
  CHECK(c.get(0));
}

// --- user code the cache runs while other threads load: no wait in a cycle ---

namespace {

// Each thread's listener, once, asks for `cross_want` (a key the other thread's get_all
// loads), after both threads' listeners have started (or 2 s have passed).
thread_local int cross_want = -1;
std::atomic<int> cross_arrived{0};
frugal::cache<int, int>* cross_cache = nullptr;
// Catch2's assertions are not thread-safe: other threads count their failures here.
std::atomic<int> cycle_failures{0};
void cycle_expect(bool ok) {
  if (!ok) cycle_failures.fetch_add(1);
}

}  // namespace

TEST_CASE("listeners of two get_all calls that ask for each other's keys do not wait in a cycle",
          "[cache_stress][concurrent]") {
  for (int round = 0; round < 3; ++round) {
    cross_arrived = 0;
    // A zero capacity tells the listener of every store, one key per batch call.
    frugal::cache<int, int> c({.max_capacity = 0,
                               .eviction_listener =
                                   [](const int&, const std::shared_ptr<const int>&,
                                      frugal::removal_cause) {
                                     const int want = std::exchange(cross_want, -1);
                                     if (want < 0) return;
                                     cross_arrived.fetch_add(1);
                                     const auto until = std::chrono::steady_clock::now() + 2s;
                                     while (cross_arrived.load() < 2 &&
                                            std::chrono::steady_clock::now() < until) {
                                       std::this_thread::yield();
                                     }
                                     cycle_expect(*cross_cache->get_with(want, [want] {
                                       return want * 100;
                                     }) % 10 == 0);
                                   },
                               .max_batch = 1});
    cross_cache = &c;
    std::atomic<long> loaded{0};
    auto run = [&](int first, int second, int theirs) {
      cross_want = theirs;
      const std::vector<int> keys{first, second};
      auto got = c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
        loaded.fetch_add(1);
        std::vector<std::optional<int>> out;
        for (int k : ks) out.emplace_back(k * 10);
        return out;
      });
      cycle_expect(got.size() == 2 && got[0] && *got[0] == first * 10 && got[1] &&
             *got[1] == second * 10);
    };
    const int failures = cycle_failures.load();
    with_watchdog([&] {
      std::thread a([&] { run(1, 2, 4); });  // its listener asks for the other's last key
      std::thread b([&] { run(3, 4, 2); });
      a.join();
      b.join();
    });
    CHECK(cycle_failures.load() == failures);
    CHECK(loaded.load() == 4);
  }
}

namespace {

// A value whose destructor, and a listener that, ask for a random key with get_with while
// other threads load: the cache must never run them while their thread holds a load (no
// loader here writes to the cache), so no wait cycle and no std::logic_error.
struct asking_value;
using asking_cache = frugal::cache<int, asking_value>;
asking_cache* asking_target = nullptr;
thread_local int asking_depth = 0;
// Each call asks at most once per value or notification, and all of them at most this many
// times in all: values made by those calls are destroyed on whatever thread, so without a
// budget they could go on asking for ever.
std::atomic<long> asks_left{0};
bool may_ask() {
  return asking_target != nullptr && asking_depth <= 2 && asks_left.fetch_sub(1) > 0;
}
thread_local std::minstd_rand asking_rng{std::random_device{}()};
constexpr int asking_keys = 48;
struct asking_value {
  int key;
  bool asks = true;
  explicit asking_value(int k) : key(k) {}
  asking_value(asking_value&& o) noexcept : key(o.key) { o.asks = false; }
  asking_value& operator=(asking_value&&) = delete;
  ~asking_value() {
    if (!asks || !may_ask()) return;
    ++asking_depth;
    const int k = static_cast<int>(asking_rng() % asking_keys);
    try {
      if (asking_target->get_with(k, [k] { return asking_value(k); })->key != k) {
        cycle_failures.fetch_add(1);
      }
    } catch (const std::logic_error&) {
      // Its own thread's load: the cache ran this while the thread held a load.
      cycle_failures.fetch_add(1);
    }
    --asking_depth;
  }
};

}  // namespace

TEST_CASE("values' destructors and the listener that call get_with while threads load never "
          "wait in a cycle",
          "[cache_stress][concurrent]") {
  // With `loaders_write`, loaders and batch functions also insert and invalidate other keys:
  // what those writes retire and tell must wait for the load's end too.
  for (int variant = 0; variant < 6; ++variant) {
    const bool loaders_write = variant >= 3;
    const std::uint64_t capacity =
        std::array<std::uint64_t, 3>{0, 2, 8}[static_cast<std::size_t>(variant % 3)];
    INFO("capacity " << capacity << ", loaders write " << loaders_write);
    const int failures = cycle_failures.load();
    {
      asking_cache c({.max_capacity = capacity,
                      .eviction_listener =
                          [](const int& k, const std::shared_ptr<const asking_value>& v,
                             frugal::removal_cause) {
                            if (v->key != k) cycle_failures.fetch_add(1);
                            if (!may_ask()) return;
                            ++asking_depth;
                            const int want = static_cast<int>(asking_rng() % asking_keys);
                            try {
                              asking_target->get_with(want, [want] { return asking_value(want); });
                            } catch (const std::logic_error&) {
                              cycle_failures.fetch_add(1);  // as in the destructor
                            }
                            --asking_depth;
                          },
                      .max_batch = 2,
                      .write_buffer = 2});
      asking_target = &c;
      asks_left = 20000;
      with_watchdog(
          [&] {
            std::vector<std::thread> threads;
            for (int t = 0; t < 4; ++t) {
              threads.emplace_back([&, t] {
                std::minstd_rand rng(static_cast<unsigned>(t + 1));
                for (int i = 0; i < 2000; ++i) {
                  const int k = static_cast<int>(rng() % asking_keys);
                  // A loader's own write: an insert or an invalidation of a nearby key. The
                  // value insert returns is kept until the load is done: dropped in the
                  // loader, it would be this thread's (the value may have been evicted
                  // meanwhile, its last reference the returned one) and be destroyed there.
                  std::vector<std::shared_ptr<const asking_value>> inserted;
                  auto write = [&c, &inserted, loaders_write](int key) {
                    if (!loaders_write) return;
                    const int other = (key + 3) % asking_keys;
                    if (key % 2 == 0) {
                      inserted.push_back(c.insert(other, other));
                    } else {
                      c.invalidate(other);
                    }
                  };
                  switch (rng() % 4) {
                    case 0:
                      c.get_with(k, [k, &write] {
                        write(k);
                        return asking_value(k);
                      });
                      break;
                    case 1: {
                      const std::vector<int> keys{k, (k + 1) % asking_keys, (k + 7) % asking_keys};
                      c.get_all(std::span<const int>(keys), [&write](std::span<const int> ks) {
                        write(ks[0]);
                        std::vector<std::optional<asking_value>> out;
                        for (int key : ks) out.emplace_back(std::in_place, key);
                        return out;
                      });
                      break;
                    }
                    case 2:
                      c.insert(k, k);
                      break;
                    default:
                      c.invalidate(k);
                  }
                }
              });
            }
            for (auto& th : threads) th.join();
            c.run_pending_tasks();
          },
          60s);
      asking_target = nullptr;
    }
    CHECK(cycle_failures.load() == failures);
  }
}

namespace {

// A value whose destructor, on a thread that set `crossing_want`, asks for that key once.
struct crossing_value;
using crossing_cache = frugal::cache<int, crossing_value>;
crossing_cache* crossing_target = nullptr;
thread_local int crossing_want = -1;
struct crossing_value {
  int n;
  bool asks;
  explicit crossing_value(int v, bool a = false) : n(v), asks(a) {}
  crossing_value(crossing_value&& o) noexcept : n(o.n), asks(std::exchange(o.asks, false)) {}
  crossing_value& operator=(crossing_value&&) = delete;
  ~crossing_value() {
    const int want = std::exchange(crossing_want, -1);
    if (!asks || want < 0) return;
    try {
      cycle_expect(crossing_target->get_with(want, [want] { return crossing_value(want); })->n ==
                   want);
    } catch (const std::logic_error&) {
      cycle_expect(false);
    }
  }
};

}  // namespace

TEST_CASE("loaders whose own writes retire values that ask for each other's keys do not wait "
          "in a cycle",
          "[cache_stress][concurrent]") {
  // Thread 1 loads key 1, thread 2 key 2; each loader only inserts and invalidates, and
  // those writes' maintenances retire values whose destructors ask for the other thread's
  // key. Freed within the loaders' writes, each destructor would wait for the other load.
  for (int round = 0; round < 3; ++round) {
    const int failures = cycle_failures.load();
    crossing_cache c({.max_capacity = 1000, .write_buffer = 2});
    crossing_target = &c;
    std::atomic<bool> loading1{false}, loading2{false};
    auto load = [&](int key, int theirs, std::atomic<bool>& mine, std::atomic<bool>& other) {
      crossing_want = theirs;
      auto v = c.get_with(key, [&] {
        mine = true;
        while (!other.load()) std::this_thread::yield();
        for (int i = 0; i < 4; ++i) {
          const int k = 100 * key + i;
          c.insert(k, k, true);  // its value asks, once destroyed
          c.invalidate(k);
        }
        for (int i = 0; i < 8; ++i) c.insert(50 + i % 3, i);  // more maintenances
        return crossing_value(key);
      });
      cycle_expect(v->n == key);
      crossing_want = -1;
    };
    with_watchdog([&] {
      std::thread a([&] { load(1, 2, loading1, loading2); });
      std::thread b([&] { load(2, 1, loading2, loading1); });
      a.join();
      b.join();
    });
    c.run_pending_tasks();
    CHECK(cycle_failures.load() == failures);
    crossing_target = nullptr;
  }
}

TEST_CASE("a get_all whose store throws after making room tells the listener once no key is "
          "in flight",
          "[cache_stress]") {
  // Consecutive stores of one get_all fill the write buffer, so a later store first runs a
  // maintenance (evictions to tell); Hash or Eq then throws on the k-th call. The listener
  // asks for the call's last key: never while this thread still holds it.
  const std::vector<int> keys{1, 2, 3, 4, 5, 6};
  int reentered = 0, told = 0, threw = 0;
  for (long k = 1; k <= 120; ++k) {
    INFO("throw on call " << k);
    countdown_cache* self = nullptr;
    countdown_cache c({.max_capacity = 1,
                       .eviction_listener =
                           [&](const int&, const std::shared_ptr<const int>&,
                               frugal::removal_cause) {
                             ++told;
                             const long armed = calls_left.exchange(-1);
                             try {
                               self->get_with(6, [] { return 60; });
                             } catch (const std::logic_error&) {
                               ++reentered;
                             }
                             calls_left.store(armed);
                           },
                       .max_batch = 8,
                       .shards = 1,
                       .write_buffer = 2});
    self = &c;
    with_watchdog([&] {
      calls_left.store(k);
      try {
        c.get_all(std::span<const int>(keys), times_ten);
      } catch (const std::runtime_error&) {
        ++threw;
      }
      calls_left.store(-1);
    });
  }
  CHECK(reentered == 0);
  CHECK(told > 0);
  CHECK(threw > 0);
}

// --- awkward value and key types ---

namespace {

std::atomic<int> copies_left{-1};  // throws when a copy or move brings it to 0
std::atomic<long> live_bombs{0};

struct bomb {
  int v;
  explicit bomb(int x) : v(x) { live_bombs.fetch_add(1); }
  bomb(const bomb& o) : v(o.v) {
    if (copies_left.fetch_sub(1) == 1) throw std::runtime_error("copy");
    live_bombs.fetch_add(1);
  }
  bomb(bomb&& o) : v(o.v) {
    if (copies_left.fetch_sub(1) == 1) throw std::runtime_error("move");
    live_bombs.fetch_add(1);
  }
  bomb& operator=(const bomb&) = delete;
  ~bomb() { live_bombs.fetch_sub(1); }
  bool operator==(const bomb& o) const { return v == o.v; }
};
struct bomb_hash {
  std::size_t operator()(const bomb& b) const noexcept { return static_cast<std::size_t>(b.v); }
};

struct alignas(64) wide {
  std::uint64_t x;
  explicit wide(std::uint64_t v) : x(v) {}
  bool operator==(const wide& o) const { return x == o.x; }
};
struct wide_hash {
  std::size_t operator()(const wide& w) const noexcept { return static_cast<std::size_t>(w.x); }
};

}  // namespace

TEST_CASE("a key or value that throws on its k-th copy or move leaves the cache unchanged",
          "[cache_stress]") {
  const long before = live_bombs.load();
  {
    frugal::cache<bomb, bomb, bomb_hash> c({.max_capacity = 4});
    for (int k = 1; k <= 6; ++k) {
      INFO("throw on copy/move " << k);
      for (int i = 0; i < 8; ++i) c.insert(bomb(i), bomb(i));
      c.run_pending_tasks();
      const auto count = c.entry_count();
      copies_left.store(k);
      const bomb key(100), value(100);
      try {
        c.insert(key, value);
      } catch (const std::runtime_error&) {
        copies_left.store(-1);
        c.run_pending_tasks();
        CHECK(c.entry_count() == count);
        CHECK_FALSE(c.contains(key));
      }
      copies_left.store(-1);
      c.run_pending_tasks();
      CHECK(c.entry_count() <= 4);
    }
  }
  CHECK(live_bombs.load() == before);
}

TEST_CASE("get_all whose batch returned but whose value's move then threw counts a load and "
          "leaves its keys free to load",
          "[cache_stress]") {
  const long before = live_bombs.load();
  {
    frugal::cache<int, bomb> c({.max_capacity = 100, .shards = 1});
    const std::vector<int> keys{1, 2};
    with_watchdog([&] {
      auto armed = [](std::span<const int> ks) {
        std::vector<std::optional<bomb>> out;
        for (int k : ks) out.emplace_back(bomb(k * 10));
        copies_left.store(1);  // taking the first result out throws
        return out;
      };
      CHECK_THROWS_AS(c.get_all(std::span<const int>(keys), armed), std::runtime_error);
      copies_left.store(-1);
      CHECK_FALSE(c.contains(1));
      CHECK_FALSE(c.contains(2));
      int elsewhere = -1;
      std::thread([&] { elsewhere = c.get_with(1, [] { return bomb(100); })->v; }).join();
      CHECK(elsewhere == 100);
      CHECK(c.get_with(2, [] { return bomb(200); })->v == 200);
    });
    // The batch call returned: one load, then the two reloads, and no failure.
    CHECK(c.stats().loads == 3);
    CHECK(c.stats().load_failures == 0);
  }
  CHECK(live_bombs.load() == before);
}

TEST_CASE("move-only values are stored, loaded and handed out", "[cache_stress]") {
  frugal::cache<int, std::unique_ptr<int>> c({.max_capacity = 8});
  c.insert(1, std::make_unique<int>(10));
  auto v = c.get_with(2, [] { return std::make_unique<int>(20); });
  REQUIRE(v);
  CHECK(**v == 20);
  REQUIRE(c.get(1));
  CHECK(**c.get(1) == 10);
  CHECK(c.visit(1, [](const std::unique_ptr<int>& p) { CHECK(*p == 10); }));
}

TEST_CASE("over-aligned keys and values keep their alignment", "[cache_stress][concurrent]") {
  frugal::cache<wide, wide, wide_hash> c({.max_capacity = 64});
  std::atomic<long> misaligned{0}, wrong{0};
  std::vector<std::thread> threads;
  for (unsigned r = 0; r < 6; ++r) {
    threads.emplace_back([&, r] {
      for (std::uint64_t i = 0; i < 300; ++i) {
        const std::uint64_t k = (i * 7 + r) % 100;
        if (i % 3 == 0) {
          auto v = c.insert(wide(k), wide(k * 2));
          if (reinterpret_cast<std::uintptr_t>(v.get()) % 64 != 0) misaligned.fetch_add(1);
        } else if (auto v = c.get(wide(k))) {
          if (reinterpret_cast<std::uintptr_t>(v.get()) % 64 != 0) misaligned.fetch_add(1);
          if (v->x != k * 2) wrong.fetch_add(1);
        }
        c.visit(wide(k), [&](const wide& v) {
          if (reinterpret_cast<std::uintptr_t>(&v) % 64 != 0) misaligned.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(misaligned.load() == 0);
  CHECK(wrong.load() == 0);
  c.invalidate_if([&](const wide& k, const wide& v) {
    CHECK(reinterpret_cast<std::uintptr_t>(&k) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(&v) % 64 == 0);
    return true;
  });
}

TEST_CASE("std::pmr strings as values allocate from their resource", "[cache_stress]") {
  std::pmr::monotonic_buffer_resource arena(1 << 16);
  std::pmr::polymorphic_allocator<char> alloc(&arena);
  frugal::cache<int, std::pmr::string> c({.max_capacity = 4});
  for (int k = 0; k < 10; ++k) {
    c.insert(k, std::string(40, static_cast<char>('a' + k)), alloc);
  }
  c.run_pending_tasks();
  CHECK(c.entry_count() <= 4);
  int found = 0;
  for (int k = 0; k < 10; ++k) {
    if (auto v = c.get(k)) {
      ++found;
      CHECK(std::string_view(*v) == std::string(40, static_cast<char>('a' + k)));
      CHECK(v->get_allocator().resource() == &arena);
    }
  }
  CHECK(found >= 1);
}

TEST_CASE("invalidate_if's pred that throws releases the policy and the shard", "[cache_stress]") {
  frugal::cache<int, int> c({.max_capacity = 100, .shards = 1});
  for (int k = 0; k < 10; ++k) c.insert(k, k);
  with_watchdog([&] {
    int calls = 0;
    CHECK_THROWS_AS(c.invalidate_if([&](const int&, const int&) -> bool {
      if (++calls == 5) throw std::runtime_error("pred");
      return false;
    }),
                    std::runtime_error);
    c.insert(1, 11);
    CHECK(c.invalidate(2));
    c.run_pending_tasks();
  });
  REQUIRE(c.get(1));
  CHECK(*c.get(1) == 11);
  CHECK_FALSE(c.get(2));
}

// A hit is a lookup that found a live value (cache_stats::hits): a visit whose f throws found
// one all the same.
TEST_CASE("a visit whose f throws still counts as a hit", "[cache_stress]") {
  frugal::cache<int, int> c({.max_capacity = 100});
  c.insert(1, 1);
  CHECK_THROWS_AS(c.visit(1, [](int) { throw std::runtime_error("f"); }), std::runtime_error);
  const auto s = c.stats();
  CHECK(s.hits + s.misses == 1);
  CHECK(s.hits == 1);
}

namespace {

thread_local bool reads_only_thread = false;
std::atomic<long> destroyed_by_reader{0};

struct watched {
  int v;
  explicit watched(int x) : v(x) {}
  ~watched() {
    if (reads_only_thread) destroyed_by_reader.fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace

TEST_CASE("visit and contains never destroy a value, however the writers race them",
          "[cache_stress][concurrent]") {
  destroyed_by_reader.store(0);
  {
    frugal::cache<int, watched> c({.max_capacity = 8, .write_buffer = 2});
    std::atomic<bool> stop{false};
    std::atomic<long> wrong{0};
    std::vector<std::thread> threads;
    for (unsigned r = 0; r < many_readers(); ++r) {
      threads.emplace_back([&, r] {
        reads_only_thread = true;
        std::minstd_rand rng(r + 3);
        while (!stop.load()) {
          const int k = static_cast<int>(rng() % 16);
          c.visit(k, [&](const watched& w) {
            if (w.v != k) wrong.fetch_add(1);
          });
          (void)c.contains(k);
        }
      });
    }
    std::thread writer([&] {
      std::minstd_rand rng(99);
      for (int i = 0; i < 3000; ++i) {
        const int k = static_cast<int>(rng() % 16);
        if (i % 5 == 0) {
          c.invalidate(k);
        } else {
          c.insert(k, k);
        }
      }
    });
    writer.join();
    stop.store(true);
    for (auto& t : threads) t.join();
    CHECK(wrong.load() == 0);
  }
  CHECK(destroyed_by_reader.load() == 0);
}

TEST_CASE("a listener that reads and invalidates the cache while readers run does not hang",
          "[cache_stress][concurrent]") {
  using listened = frugal::cache<int, int>;
  std::unique_ptr<listened> c;
  std::atomic<long> told{0};
  c = std::make_unique<listened>(frugal::cache_options<int, int>{
      .max_capacity = 4,
      .eviction_listener =
          [&](const int& k, const std::shared_ptr<const int>& v, frugal::removal_cause) {
            told.fetch_add(1);
            (void)c->get(k);
            (void)c->contains(*v + 1);
            (void)c->invalidate(k + 100);
          },
      .write_buffer = 2});
  with_watchdog([&] {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (unsigned r = 0; r < many_readers(); ++r) {
      threads.emplace_back([&, r] {
        std::minstd_rand rng(r + 17);
        while (!stop.load()) {
          const int k = static_cast<int>(rng() % 12);
          (void)c->get(k);
          c->visit(k, [](int) {});
        }
      });
    }
    std::thread writer([&] {
      for (int i = 0; i < 1500; ++i) c->insert(i % 12, i % 12);
    });
    writer.join();
    stop.store(true);
    for (auto& t : threads) t.join();
  });
  CHECK(told.load() > 0);
}

TEST_CASE("writers with deadlines of every scale, a shared moving clock, invalidations: every "
          "value leaves once",
          "[cache_stress][concurrent]") {
  fake_clock clock;
  clock.ns->store(-(std::int64_t{1} << 40));  // before the clock's epoch, too
  constexpr int writers = 3, per_writer = 6000;
  std::vector<std::atomic<int>> told(writers * per_writer);
  {
    frugal::cache<int, int> c(
        {.max_capacity = 300,
         .time_to_idle = std::chrono::microseconds(300),
         // A seventh of the values never expire by write; the others after 0 ns to hours,
         // spread over every level of the timer wheel.
         .expire_after_write = [](const int&,
                                  const int& v) -> std::optional<std::chrono::nanoseconds> {
           if (v % 7 == 0) return std::nullopt;
           const auto spread = static_cast<std::uint64_t>(v) * 0x9e3779b97f4a7c15ull;
           return std::chrono::nanoseconds(spread >> (40 + v % 24));
         },
         .clock = clock.fn(),
         .eviction_listener =
             [&](const int&, const std::shared_ptr<const int>& v, frugal::removal_cause) {
               told[static_cast<std::size_t>(*v)].fetch_add(1);
             },
         .write_buffer = 8});
    std::vector<std::thread> threads;
    for (int t = 0; t < writers; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(t) + 1);
        for (int i = 0; i < per_writer; ++i) {
          c.insert(static_cast<int>(rng() % 1000), t * per_writer + i);
          clock.advance(static_cast<std::int64_t>(rng() % 4000));
          c.get(static_cast<int>(rng() % 1000));
          if (rng() % 97 == 0) c.invalidate(static_cast<int>(rng() % 1000));
          if (rng() % 3000 == 0) {
            c.invalidate_if([](const int& k, const int&) { return k % 3 == 0; });
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    c.run_pending_tasks();
    clock.advance(std::int64_t{1} << 50);  // every deadline passes
    c.run_pending_tasks();
    CHECK(c.entry_count() == 0);
    c.invalidate_all();  // nothing left to tell
  }
  int not_once = 0;
  for (auto& n : told) not_once += n.load() != 1 ? 1 : 0;
  CHECK(not_once == 0);
}
