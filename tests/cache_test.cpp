#include <frugal/cache.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <semaphore>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

using frugal::testing::count_allocations;
using namespace std::chrono_literals;

namespace {

using int_cache = frugal::cache<int, int>;
using opts = frugal::cache_options<int, int>;

// A clock the test moves by hand.
struct fake_clock {
  std::shared_ptr<std::atomic<std::int64_t>> ns = std::make_shared<std::atomic<std::int64_t>>(1000);
  std::function<std::chrono::steady_clock::time_point()> fn() const {
    return [n = ns] {
      return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(n->load()));
    };
  }
  void advance(std::chrono::nanoseconds d) const { ns->fetch_add(d.count()); }
};

// What the listener heard.
struct heard {
  std::vector<std::tuple<int, int, frugal::removal_cause>> events;
  std::function<void(const int&, const std::shared_ptr<const int>&, frugal::removal_cause)> fn() {
    return [this](const int& k, const std::shared_ptr<const int>& v, frugal::removal_cause c) {
      events.emplace_back(k, *v, c);
    };
  }
  std::size_t count(frugal::removal_cause c) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](auto& e) { return std::get<2>(e) == c; }));
  }
};

// A value that counts live instances, detects double destruction and may throw on the k-th
// construction from an int.
struct tracked {
  static inline long live = 0;
  static inline long builds_left = -1;  // throw when it reaches 0; -1: never
  int v;
  const tracked* self;
  explicit tracked(int x) : v(x), self(this) {
    if (builds_left >= 0 && builds_left-- == 0) throw std::runtime_error("build failed");
    ++live;
  }
  tracked(const tracked& o) : v(o.v), self(this) { ++live; }
  ~tracked() {
    REQUIRE(self == this);
    self = nullptr;
    --live;
  }
};

// Catch2's assertions are not thread-safe: threads count failures, the test checks the count.
std::atomic<int> thread_failures{0};
void expect(bool ok) {
  if (!ok) thread_failures.fetch_add(1);
}

struct alignas(64) over_aligned {
  int v;
};

}  // namespace

TEST_CASE("insert + get + contains + visit and invalidate", "[cache]") {
  int_cache c({.max_capacity = 100});
  REQUIRE(c.get(1) == nullptr);
  REQUIRE_FALSE(c.contains(1));
  auto p = c.insert(1, 10);
  REQUIRE(*p == 10);
  REQUIRE(c.get(1).get() == p.get());  // a hit hands out the same value, no copy
  REQUIRE(c.contains(1));
  int seen = 0;
  REQUIRE(c.visit(1, [&](const int& v) { seen = v; }));
  REQUIRE(seen == 10);
  REQUIRE_FALSE(c.visit(2, [&](const int&) { FAIL("visited a missing key"); }));
  REQUIRE(c.invalidate(1));
  REQUIRE_FALSE(c.invalidate(1));
  REQUIRE(c.get(1) == nullptr);
  REQUIRE(*p == 10);  // a value handed out outlives its entry
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 0);
  auto s = c.stats();
  REQUIRE(s.hits == 2);
  REQUIRE(s.misses == 3);
  REQUIRE(s.invalidated == 1);
}

TEST_CASE("a hit allocates nothing + an insert once", "[cache]") {
  int_cache c({.max_capacity = 100});
  for (int i = 0; i < 1000; ++i) c.insert(i, i);
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 100);
  int key = -1;
  for (int i = 0; i < 1000; ++i) {
    if (c.contains(i)) key = i;
  }
  REQUIRE(key >= 0);
  std::shared_ptr<const int> hit;
  REQUIRE(count_allocations([&] { hit = c.get(key); }) == 0);
  REQUIRE(hit);
  REQUIRE(count_allocations([&] { c.visit(key, [](const int&) {}); }) == 0);
  // Steady state: every insert of a new key evicts one; one allocation each.
  REQUIRE(count_allocations([&] {
            for (int i = 1000; i < 1100; ++i) c.insert(i, i);
          }) == 100);
}

TEST_CASE("heterogeneous lookup: a string_view finds a string key without allocating", "[cache]") {
  frugal::cache<std::string, int> c({.max_capacity = 10});
  c.insert(std::string("a key longer than the small string buffer"), 7);
  const std::string_view k = "a key longer than the small string buffer";
  std::shared_ptr<const int> v;
  REQUIRE(count_allocations([&] { v = c.get(k); }) == 0);
  REQUIRE(*v == 7);
  REQUIRE(c.contains("a key longer than the small string buffer"));
  REQUIRE(c.invalidate(k));
  REQUIRE_FALSE(c.contains(k));
}

TEST_CASE("lookups convert their argument to K when the hash is not transparent", "[cache]") {
  frugal::cache<std::uint64_t, int> c({.max_capacity = 10});
  c.insert(std::uint64_t{42}, 7);
  const int id = 42;  // an int, not the key type
  REQUIRE(c.get(id));
  CHECK(*c.get(id) == 7);
  CHECK(c.contains(id));
  int seen = 0;
  CHECK(c.visit(id, [&](int v) { seen = v; }));
  CHECK(seen == 7);
  CHECK_FALSE(c.get(43));
  CHECK(c.invalidate(id));
  CHECK_FALSE(c.contains(42));
  // A string key with a hash that is not transparent: a literal converts to the key.
  struct plain_hash {
    std::size_t operator()(const std::string& s) const { return std::hash<std::string>{}(s); }
  };
  frugal::cache<std::string, int, plain_hash, std::equal_to<std::string>> s({.max_capacity = 10});
  s.insert("k", 1);
  REQUIRE(s.get("k"));
  CHECK(s.contains("k"));
  CHECK(s.visit("k", [](int) {}));
  CHECK(s.invalidate("k"));
}

TEST_CASE("constructor and insert reject bad options with the values", "[cache]") {
  REQUIRE_THROWS_WITH(int_cache(opts{.time_to_live = -1s}),
                      "cache: time_to_live must not be negative, got -1000000000 ns");
  REQUIRE_THROWS_WITH(int_cache(opts{.time_to_idle = -5ns}),
                      "cache: time_to_idle must not be negative, got -5 ns");
  REQUIRE_THROWS_WITH(int_cache(opts{.max_batch = 0}),
                      "cache: max_batch must be at least 1, got 0");
  REQUIRE_THROWS_WITH(int_cache(opts{.write_buffer = 1}),
                      "cache: write_buffer must be from 2 to 1048576, got 1");
  REQUIRE_THROWS_WITH(int_cache(opts{.write_buffer = (std::size_t{1} << 20) + 1}),
                      "cache: write_buffer must be from 2 to 1048576, got 1048577");
  REQUIRE_THROWS_WITH(int_cache(opts{.write_buffer = SIZE_MAX}),
                      "cache: write_buffer must be from 2 to 1048576, got " +
                          std::to_string(SIZE_MAX));
  REQUIRE_NOTHROW(int_cache(opts{.write_buffer = std::size_t{1} << 20}));
  int_cache w({.max_capacity = 10,
               .weigher = [](const int&, const int& v) { return static_cast<std::uint32_t>(v); }});
  REQUIRE_THROWS_WITH(w.insert(1, 11), "cache: the weigher returned 11, more than max_capacity 10");
  REQUIRE_FALSE(w.contains(1));
  int_cache e({.expire_after_write = [](const int&,
                                        const int& v) -> std::optional<std::chrono::nanoseconds> {
    return std::chrono::nanoseconds(v);
  }});
  REQUIRE_THROWS_WITH(e.insert(1, -3),
                      "cache: expire_after_write returned a negative duration, -3 ns");
  REQUIRE_FALSE(e.contains(1));
}

TEST_CASE("zero capacity stores nothing and tells the listener", "[cache]") {
  heard h;
  int_cache c({.max_capacity = 0, .eviction_listener = h.fn()});
  auto p = c.insert(1, 1);
  REQUIRE(*p == 1);
  REQUIRE_FALSE(c.contains(1));
  int loads = 0;
  REQUIRE(*c.get_with(2, [&] {
    ++loads;
    return 2;
  }) == 2);
  REQUIRE(*c.get_with(2, [&] {
    ++loads;
    return 2;
  }) == 2);
  REQUIRE(loads == 2);
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 0);
  REQUIRE(h.count(frugal::removal_cause::size) == 3);
  REQUIRE(c.stats().evicted_size == 3);
}

TEST_CASE("the bound holds after run_pending_tasks + by count and by weight", "[cache]") {
  heard h;
  int_cache c({.max_capacity = 50, .eviction_listener = h.fn(), .write_buffer = 16});
  for (int i = 0; i < 500; ++i) {
    c.insert(i, i);
    REQUIRE(c.entry_count() <= 50);
  }
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 50);
  REQUIRE(h.count(frugal::removal_cause::size) == 450);
  int present = 0;
  for (int i = 0; i < 500; ++i) present += c.contains(i) ? 1 : 0;
  REQUIRE(present == 50);

  int_cache w({.max_capacity = 100,
               .weigher = [](const int&, const int& v) { return static_cast<std::uint32_t>(v); }});
  for (int i = 0; i < 200; ++i) w.insert(i, i % 20);
  w.run_pending_tasks();
  REQUIRE(w.weighted_size() <= 100);
  std::uint64_t sum = 0;
  for (int i = 0; i < 200; ++i) {
    if (auto v = w.get(i)) sum += static_cast<std::uint64_t>(*v);
  }
  REQUIRE(sum == w.weighted_size());
}

TEST_CASE("time to live + time to idle and per-entry expiry under a fake clock", "[cache]") {
  fake_clock t;
  heard h;
  SECTION("time to live") {
    int_cache c({.time_to_live = 10s, .clock = t.fn(), .eviction_listener = h.fn()});
    c.insert(1, 1);
    t.advance(9s);
    REQUIRE(c.get(1));
    t.advance(1s);
    REQUIRE(c.get(1) == nullptr);  // expired: a miss at once
    REQUIRE_FALSE(c.contains(1));
    c.run_pending_tasks();
    REQUIRE(c.entry_count() == 0);
    REQUIRE(h.count(frugal::removal_cause::expired) == 1);
  }
  SECTION("time to idle - reads keep an entry alive") {
    int_cache c({.time_to_idle = 10s, .clock = t.fn(), .eviction_listener = h.fn()});
    c.insert(1, 1);
    c.insert(2, 2);
    for (int i = 0; i < 5; ++i) {
      t.advance(6s);
      REQUIRE(c.get(1));
      c.run_pending_tasks();
    }
    REQUIRE(c.contains(1));
    REQUIRE_FALSE(c.contains(2));
    REQUIRE(h.count(frugal::removal_cause::expired) == 1);
    REQUIRE(std::get<0>(h.events[0]) == 2);
  }
  SECTION("per-entry expiry replaces time to live") {
    int_cache c({.time_to_live = 100s,
                 .expire_after_write = [](const int& k,
                                          const int&) -> std::optional<std::chrono::nanoseconds> {
                   if (k == 1) return 5s;
                   return std::nullopt;
                 },
                 .clock = t.fn()});
    c.insert(1, 1);
    c.insert(2, 2);
    t.advance(5s);
    REQUIRE_FALSE(c.contains(1));
    REQUIRE(c.contains(2));
    t.advance(95s);
    REQUIRE_FALSE(c.contains(2));
  }
  SECTION("replacing an expired entry tells expired + a live one replaced") {
    int_cache c({.time_to_live = 10s, .clock = t.fn(), .eviction_listener = h.fn()});
    c.insert(1, 1);
    c.insert(1, 2);
    t.advance(10s);
    c.insert(1, 3);
    c.run_pending_tasks();
    REQUIRE(h.count(frugal::removal_cause::replaced) == 1);
    REQUIRE(h.count(frugal::removal_cause::expired) == 1);
    REQUIRE(*c.get(1) == 3);
  }
}

TEST_CASE("W-TinyLFU keeps popular keys through a scan", "[cache]") {
  int_cache c({.max_capacity = 100});
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 50; ++k) {
      if (!c.get(k)) c.insert(k, k);
    }
    c.run_pending_tasks();
  }
  for (int k = 1000; k < 3000; ++k) c.insert(k, k);  // a one-off scan
  c.run_pending_tasks();
  int kept = 0;
  for (int k = 0; k < 50; ++k) kept += c.contains(k) ? 1 : 0;
  REQUIRE(kept >= 45);
  // The window adapts (it starts at 1 entry); the main space's protected part stays 80 % of
  // what the window leaves.
  auto sizes = c.policy_sizes();
  REQUIRE((sizes.window == 1 || sizes.window == 30 || sizes.window == 100));  // 1, 30, 100 %
  REQUIRE(sizes.protected_ == (100 - sizes.window) * 8 / 10);
}

TEST_CASE("get_with loads once + caches + and does not cache a failure", "[cache]") {
  int_cache c({.max_capacity = 10});
  int calls = 0;
  REQUIRE(*c.get_with(1, [&] {
    ++calls;
    return 5;
  }) == 5);
  REQUIRE(*c.get_with(1, [&] {
    ++calls;
    return 6;
  }) == 5);
  REQUIRE(calls == 1);
  REQUIRE_THROWS_WITH(c.get_with(2,
                                 [&]() -> int {
                                   ++calls;
                                   throw std::runtime_error("db down");
                                 }),
                      "db down");
  REQUIRE_FALSE(c.contains(2));
  REQUIRE(*c.get_with(2, [&] {
    ++calls;
    return 7;
  }) == 7);
  REQUIRE(calls == 3);
  auto s = c.stats();
  REQUIRE(s.loads == 2);
  REQUIRE(s.load_failures == 1);
  REQUIRE(s.hits == 1);
  REQUIRE(s.misses == 3);
}

TEST_CASE("a loader re-entering get_with for its own key is a logic_error", "[cache]") {
  int_cache c({.max_capacity = 10});
  REQUIRE_THROWS_AS(c.get_with(1, [&] { return *c.get_with(1, [] { return 2; }); }),
                    std::logic_error);
  REQUIRE_FALSE(c.contains(1));
  // Another key from inside a loader is fine.
  REQUIRE(*c.get_with(1, [&] { return *c.get_with(2, [] { return 2; }) + 1; }) == 3);
  REQUIRE(*c.get(2) == 2);
  std::vector<int> keys{1, 5};
  REQUIRE_THROWS_AS(c.get_with(5,
                               [&] {
                                 c.get_all(std::span<const int>(keys), [](std::span<const int> ks) {
                                   return std::vector<std::optional<int>>(ks.size(), 0);
                                 });
                                 return 0;
                               }),
                    std::logic_error);
}

TEST_CASE("optionally_get_with caches nothing for nullopt", "[cache]") {
  int_cache c({.max_capacity = 10});
  int calls = 0;
  REQUIRE(c.optionally_get_with(1, [&]() -> std::optional<int> {
    ++calls;
    return std::nullopt;
  }) == nullptr);
  REQUIRE_FALSE(c.contains(1));
  REQUIRE(*c.optionally_get_with(1, [&]() -> std::optional<int> {
    ++calls;
    return 4;
  }) == 4);
  REQUIRE(*c.optionally_get_with(1, [&]() -> std::optional<int> {
    ++calls;
    return 5;
  }) == 4);
  REQUIRE(calls == 2);
}

TEST_CASE("get_all: hits from the cache + distinct misses in batches of max_batch", "[cache]") {
  int_cache c({.max_capacity = 100, .max_batch = 3});
  c.insert(2, 20);
  std::vector<std::vector<int>> calls;
  auto batch = [&](std::span<const int> ks) {
    calls.emplace_back(ks.begin(), ks.end());
    std::vector<std::optional<int>> out;
    for (int k : ks) out.push_back(k == 9 ? std::nullopt : std::optional<int>(k * 10));
    return out;
  };
  std::vector<int> keys{1, 2, 3, 1, 4, 5, 9, 6};
  auto got = c.get_all(std::span<const int>(keys), batch);
  REQUIRE(got.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == 9) {
      REQUIRE(got[i] == nullptr);
    } else {
      REQUIRE(*got[i] == keys[i] * 10);
    }
  }
  REQUIRE(got[0].get() == got[3].get());
  REQUIRE(calls == std::vector<std::vector<int>>{{1, 3, 4}, {5, 9, 6}});
  REQUIRE(c.contains(5));
  REQUIRE_FALSE(c.contains(9));
  calls.clear();
  got = c.get_all(std::span<const int>(keys), batch);
  REQUIRE(calls == std::vector<std::vector<int>>{{9}});
  REQUIRE(c.stats().loads == 3);
}

TEST_CASE("get_all: a wrong result count and a throwing batch fail every key", "[cache]") {
  int_cache c({.max_capacity = 100});
  std::vector<int> keys{1, 2, 3};
  REQUIRE_THROWS_WITH(
      c.get_all(std::span<const int>(keys),
                [](std::span<const int>) { return std::vector<std::optional<int>>(2); }),
      "cache::get_all: the batch function returned 2 results for 3 keys");
  REQUIRE_THROWS_WITH(c.get_all(std::span<const int>(keys),
                                [](std::span<const int>) -> std::vector<std::optional<int>> {
                                  throw std::runtime_error("batch failed");
                                }),
                      "batch failed");
  for (int k : keys) REQUIRE_FALSE(c.contains(k));
  // Nothing is left half-loaded: the keys load again.
  auto got = c.get_all(std::span<const int>(keys), [](std::span<const int> ks) {
    return std::vector<std::optional<int>>(ks.size(), 1);
  });
  REQUIRE(*got[2] == 1);
  REQUIRE(c.stats().load_failures == 2);
  REQUIRE(c.stats().loads == 1);  // the call that returned too few results is no load
}

TEST_CASE("get_all: a returned value that cannot be stored fails its key and the later ones",
          "[cache]") {
  // Weight: the value itself. Key 2's value weighs more than the bound: key 1 (before it in
  // the call) stays stored, 2 and 3 fail for the call and load again later.
  int_cache c({.max_capacity = 10, .weigher = [](const int&, const int& v) {
                 return static_cast<std::uint32_t>(v);
               }});
  std::vector<int> keys{1, 2, 3};
  int calls = 0;
  REQUIRE_THROWS_WITH(c.get_all(std::span<const int>(keys),
                                [&](std::span<const int> ks) {
                                  ++calls;
                                  REQUIRE(ks.size() == 3);
                                  return std::vector<std::optional<int>>{1, 50, 1};
                                }),
                      "cache: the weigher returned 50, more than max_capacity 10");
  REQUIRE(calls == 1);
  REQUIRE(c.contains(1));
  REQUIRE_FALSE(c.contains(2));
  REQUIRE_FALSE(c.contains(3));
  REQUIRE(c.stats().loads == 1);  // the call returned
  auto got = c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
    ++calls;
    REQUIRE(std::vector<int>(ks.begin(), ks.end()) == std::vector<int>{2, 3});
    return std::vector<std::optional<int>>{2, 3};
  });
  REQUIRE(calls == 2);
  REQUIRE((*got[0] == 1 && *got[1] == 2 && *got[2] == 3));
}

TEST_CASE("get_all: a result from a returned container is moved twice, from a view copied once",
          "[cache]") {
  // docs/cache.md: taken out into a std::optional<V> by one move (or a copy from a view of
  // lvalues), then moved into its entry.
  struct counted {
    int v;
    int* moves;
    int* copies;
    counted(int x, int* m, int* c) : v(x), moves(m), copies(c) {}
    counted(counted&& o) noexcept : v(o.v), moves(o.moves), copies(o.copies) { ++*moves; }
    counted(const counted& o) : v(o.v), moves(o.moves), copies(o.copies) { ++*copies; }
  };
  int moves = 0, copies = 0;
  std::vector<int> keys{1, 2, 3};
  frugal::cache<int, counted> c;
  auto got = c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
    std::vector<counted> out;
    out.reserve(ks.size());
    for (int k : ks) out.emplace_back(k, &moves, &copies);
    moves = copies = 0;  // what the batch function itself did does not count
    return out;
  });
  REQUIRE(got.size() == 3);
  REQUIRE(got[2]->v == 3);
  CHECK(moves == 6);
  CHECK(copies == 0);
  std::vector<counted> kept;
  kept.reserve(3);
  for (int k : {4, 5, 6}) kept.emplace_back(k, &moves, &copies);
  moves = copies = 0;
  std::vector<int> more{4, 5, 6};
  got = c.get_all(std::span<const int>(more),
                  [&](std::span<const int>) { return std::span<const counted>(kept); });
  REQUIRE(got[0]->v == 4);
  CHECK(copies == 3);
  CHECK(moves == 3);
}

TEST_CASE("get_all: a result whose move or copy throws fails its key and the later ones",
          "[cache]") {
  // Key 2's value throws when it is moved or copied out of the batch's result: key 1, before
  // it, stays stored (and a waiter on it gets its value), 2 and 3 fail.
  struct touchy {
    int v;
    explicit touchy(int x) : v(x) {}
    touchy(touchy&& o) : v(o.v) {
      if (v == 2) throw std::runtime_error("move of 2");
    }
    touchy(const touchy& o) : v(o.v) {
      if (v == 2) throw std::runtime_error("copy of 2");
    }
  };
  std::vector<int> keys{1, 2, 3};
  SECTION("moved out of a returned vector") {
    frugal::cache<int, touchy> c;
    REQUIRE_THROWS_WITH(c.get_all(std::span<const int>(keys),
                                  [](std::span<const int> ks) {
                                    std::vector<std::optional<touchy>> out;
                                    out.reserve(ks.size());
                                    for (int k : ks) out.emplace_back(std::in_place, k);
                                    return out;
                                  }),
                        "move of 2");
    CHECK(c.contains(1));
    CHECK_FALSE(c.contains(2));
    CHECK_FALSE(c.contains(3));
    CHECK(c.stats().loads == 1);
  }
  SECTION("copied out of a view") {
    frugal::cache<int, touchy> c;
    std::vector<touchy> made;
    made.reserve(3);
    made.emplace_back(1);
    made.emplace_back(2);
    made.emplace_back(3);
    REQUIRE_THROWS_WITH(c.get_all(std::span<const int>(keys),
                                  [&](std::span<const int>) { return std::span(made); }),
                        "copy of 2");
    CHECK(c.contains(1));
    CHECK_FALSE(c.contains(2));
    CHECK_FALSE(c.contains(3));
  }
}

TEST_CASE("per-entry expiry at every scale: each entry leaves at the first maintenance at or "
          "after its deadline, never before",
          "[cache]") {
  // Lifetimes from 1 ns to about 146 years, each power of two and its neighbours, so that the
  // deadlines fall at every level of the expiry schedule and on its slots' edges.
  std::vector<std::int64_t> lives;
  for (int bit = 0; bit < 62; ++bit) {
    const std::int64_t p = std::int64_t{1} << bit;
    for (const std::int64_t l : {p - 1, p, p + 1}) {
      if (l > 0) lives.push_back(l);
    }
  }
  for (const std::int64_t start : {std::int64_t{-5'000'000'000}, std::int64_t{1000},
                                    std::int64_t{(1ll << 40) + 12345}}) {
    fake_clock t;
    t.ns->store(start);
    heard h;
    int_cache c({.max_capacity = lives.size() + 10,
                 .expire_after_write = [&](const int& k, const int&)
                     -> std::optional<std::chrono::nanoseconds> {
                   return std::chrono::nanoseconds(lives[static_cast<std::size_t>(k)]);
                 },
                 .clock = t.fn(),
                 .eviction_listener = h.fn()});
    for (std::size_t k = 0; k < lives.size(); ++k) c.insert(static_cast<int>(k), 0);
    c.run_pending_tasks();
    std::vector<std::int64_t> ends = lives;
    std::sort(ends.begin(), ends.end());
    ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
    std::size_t gone = 0;
    for (const std::int64_t life : ends) {
      // 1 ns before: nobody leaves; then on the deadline: exactly the entries of that life.
      t.ns->store(start + life - 1);
      c.run_pending_tasks();
      REQUIRE(h.events.size() == gone);
      t.ns->store(start + life);
      c.run_pending_tasks();
      const auto now_gone = static_cast<std::size_t>(
          std::count(lives.begin(), lives.end(), life));
      REQUIRE(h.events.size() == gone + now_gone);
      for (std::size_t i = gone; i < h.events.size(); ++i) {
        REQUIRE(std::get<2>(h.events[i]) == frugal::removal_cause::expired);
        REQUIRE(lives[static_cast<std::size_t>(std::get<0>(h.events[i]))] == life);
      }
      gone += now_gone;
      REQUIRE(c.entry_count() == lives.size() - gone);
    }
    REQUIRE(c.entry_count() == 0);
  }
}

TEST_CASE("expiry: a maintenance expires by the time it runs, not by the time its write read",
          "[cache]") {
  fake_clock t;
  t.ns->store(0);
  heard h;
  // Time passes between the insert's reading of the clock (at 100) and its maintenance (at
  // 1000): key 1, due at 500, must leave as expired, before the size bound picks a victim.
  int_cache c({.max_capacity = 2,
               .expire_after_write = [&](const int& k, const int&)
                   -> std::optional<std::chrono::nanoseconds> {
                 if (k == 3) t.ns->store(1000);
                 return k == 1 ? 500ns : 1'000'000ns;
               },
               .clock = t.fn(),
               .eviction_listener = h.fn()});
  c.insert(1, 1);
  c.insert(2, 2);
  c.run_pending_tasks();
  t.ns->store(100);
  c.insert(3, 3);
  REQUIRE(h.events.size() == 1);
  REQUIRE(std::get<0>(h.events[0]) == 1);
  REQUIRE(std::get<2>(h.events[0]) == frugal::removal_cause::expired);
  REQUIRE(c.contains(2));
  REQUIRE(c.contains(3));
}

TEST_CASE("expiry: a deadline past the greatest time is never due, for reads as for removal",
          "[cache]") {
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  fake_clock t;
  t.ns->store(max - 10);
  heard h;
  int_cache c({.time_to_live = 100ns, .clock = t.fn(), .eviction_listener = h.fn()});
  c.insert(1, 1);  // due at max + 90: past the greatest time
  c.insert(2, 2);
  t.ns->store(max - 5);
  c.insert(3, 3);  // due at max + 95
  c.run_pending_tasks();
  t.ns->store(max);
  c.run_pending_tasks();
  // The clock cannot reach those deadlines: the entries stay live and are counted.
  REQUIRE(c.get(1));
  REQUIRE(c.contains(3));
  REQUIRE(c.entry_count() == 3);
  REQUIRE(h.events.empty());
}

TEST_CASE("expiry: the clock's greatest reading counts as one nanosecond before it",
          "[cache]") {
  // docs/cache.md: a deadline that reaches the clock's greatest value is never due, and a
  // write at that value is a write one nanosecond before it.
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  fake_clock t;
  t.ns->store(max - 10);
  heard h;
  int_cache c({.time_to_live = 10ns, .clock = t.fn(), .eviction_listener = h.fn()});
  c.insert(1, 1);  // due at max exactly
  t.ns->store(max - 1);
  c.insert(2, 2);  // due at max - 1 + 10, past the greatest time
  t.ns->store(max);
  c.run_pending_tasks();
  REQUIRE(c.contains(1));
  REQUIRE(c.contains(2));
  int_cache zero({.time_to_live = 0ns, .clock = t.fn(), .eviction_listener = h.fn()});
  zero.insert(3, 3);  // written at max - 1 with no time to live: due at once
  REQUIRE_FALSE(zero.contains(3));
  zero.run_pending_tasks();
  REQUIRE(h.events == std::vector<std::tuple<int, int, frugal::removal_cause>>{
                          {3, 3, frugal::removal_cause::expired}});
  t.ns->store(max - 2);  // a clock that goes back: entry 1's deadline is still never reached
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 2);
  // One nanosecond earlier is the last deadline that can be due: at the greatest reading.
  t.ns->store(max - 11);
  c.insert(4, 4);  // due at max - 1
  t.ns->store(max - 2);
  c.run_pending_tasks();
  REQUIRE(c.contains(4));
  t.ns->store(max);
  REQUIRE_FALSE(c.contains(4));
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 2);
}

TEST_CASE("expiry: a duration of nanoseconds::max() is forever, even from a negative time",
          "[cache]") {
  // Written at a negative time, max() would not overflow the sum: it still means forever
  // (docs/cache.md), while max() - 500 gives a deadline the clock reaches.
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t start = -4'602'715'185'117'085'401;
  fake_clock t;
  t.ns->store(start);
  heard h;
  int_cache c({.time_to_live = std::chrono::nanoseconds::max(),
               .expire_after_write =
                   [](const int& k, const int&) -> std::optional<std::chrono::nanoseconds> {
                 if (k == 2) return std::chrono::nanoseconds::max();
                 if (k == 3) return std::chrono::nanoseconds(max - 500);
                 return std::nullopt;
               },
               .clock = t.fn(),
               .eviction_listener = h.fn()});
  int_cache idle({.time_to_idle = std::chrono::nanoseconds::max(), .clock = t.fn()});
  c.insert(1, 1);  // time_to_live
  c.insert(2, 2);  // expire_after_write: max()
  c.insert(3, 3);  // expire_after_write: max() - 500, due at start + max - 500 (no overflow)
  idle.insert(1, 1);
  t.ns->store(start + (max - 500));
  REQUIRE(c.contains(1));
  REQUIRE(c.contains(2));
  REQUIRE_FALSE(c.contains(3));
  c.run_pending_tasks();
  REQUIRE(h.events == std::vector<std::tuple<int, int, frugal::removal_cause>>{
                          {3, 3, frugal::removal_cause::expired}});
  t.ns->store(max - 1);
  c.run_pending_tasks();
  idle.run_pending_tasks();
  REQUIRE(c.get(1));
  REQUIRE(c.get(2));
  REQUIRE(idle.get(1));
  REQUIRE(c.entry_count() == 2);
  REQUIRE(idle.entry_count() == 1);
  REQUIRE(h.events.size() == 1);
}

TEST_CASE("expiry: a clock set back and forward again expires exactly", "[cache]") {
  fake_clock t;
  t.ns->store(1'000'000'000'000);
  heard h;
  int_cache c({.max_capacity = 100'000, .time_to_live = 100s, .clock = t.fn(),
               .eviction_listener = h.fn()});
  for (int i = 0; i < 1000; ++i) c.insert(i, i);  // due at 1100 s
  t.ns->store(0);  // set back: the entries are not due
  for (int i = 1000; i < 2000; ++i) {
    c.insert(i, i);  // due at 100 s
    if (i % 100 == 0) c.run_pending_tasks();
  }
  c.run_pending_tasks();
  REQUIRE(h.events.empty());
  t.ns->store(100'000'000'000 - 1);
  c.run_pending_tasks();
  REQUIRE(h.events.empty());
  t.ns->store(100'000'000'000);
  c.run_pending_tasks();
  REQUIRE(h.events.size() == 1000);
  for (const auto& e : h.events) REQUIRE(std::get<0>(e) >= 1000);
  t.ns->store(1'100'000'000'000 - 1);
  c.run_pending_tasks();
  REQUIRE(h.events.size() == 1000);
  t.ns->store(1'100'000'000'000);
  c.run_pending_tasks();
  REQUIRE(h.events.size() == 2000);
  REQUIRE(c.entry_count() == 0);
}

TEST_CASE("expiry: a steady stream of inserts into a full cache allocates the entry only",
          "[cache]") {
  fake_clock t;
  for (const int mode : {0, 1, 2}) {  // time to live, per-entry expiry, time to idle
    int_cache c({.max_capacity = 64,
                 .time_to_live = mode == 0 ? std::optional(60us) : std::nullopt,
                 .time_to_idle = mode == 2 ? std::optional(40us) : std::nullopt,
                 .expire_after_write = mode == 1
                                           ? [](const int& k, const int&)
                                                 -> std::optional<std::chrono::nanoseconds> {
                                               return std::chrono::microseconds(1 + k % 120);
                                             }
                                           : std::function<std::optional<std::chrono::nanoseconds>(
                                                 const int&, const int&)>{},
                 .clock = t.fn()});
    auto step = [&](int i) {
      c.insert(i, i);
      c.get(i - 10 * (i % 5));  // keeps some entries from idling out
      // Fast phases fill the cache (entries leave for size), slow ones let them expire.
      t.advance((i / 100) % 2 == 0 ? 700ns : 3us);
    };
    for (int i = 0; i < 5000; ++i) step(i);  // warm up: the maintenance's lists reach their size
    c.run_pending_tasks();
    const auto before = c.stats();
    const std::size_t n = count_allocations([&] {
      for (int i = 5000; i < 6000; ++i) step(i);
    });
    INFO("mode " << mode);
    // Entries left both for size and by expiry, and each insert allocated its entry only.
    CAPTURE(c.stats().evicted_expired - before.evicted_expired,
            c.stats().evicted_size - before.evicted_size);
    REQUIRE(c.stats().evicted_expired > before.evicted_expired + 50);
    REQUIRE(c.stats().evicted_size > before.evicted_size + 50);
    REQUIRE(n == 1000);
  }
}

TEST_CASE("random operations against a model under a fake clock", "[cache]") {
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    fake_clock t;
    // The model: what should be present (key -> value, write time, last access).
    struct state {
      int value;
      std::int64_t written;
      std::int64_t accessed;
    };
    std::map<int, state> model;
    std::map<int, int> removed_by;  // listener counts per cause
    const bool bounded = seed % 2 == 0;
    const std::uint64_t cap = bounded ? 8 : 1000;
    int_cache c(
        {.max_capacity = cap,
         .time_to_live = 50ns,
         .time_to_idle = 20ns,
         .clock = t.fn(),
         .eviction_listener =
             [&](const int& k, const std::shared_ptr<const int>&, frugal::removal_cause why) {
               ++removed_by[static_cast<int>(why)];
               if (why == frugal::removal_cause::size) model.erase(k);
             },
         .write_buffer = 4});
    auto alive = [&](const state& s) {
      const std::int64_t now = t.ns->load();
      return now < s.written + 50 && now < s.accessed + 20;
    };
    for (int step = 0; step < 400; ++step) {
      const int k = static_cast<int>(rng() % 16);
      const std::int64_t now = t.ns->load();
      switch (rng() % 6) {
        case 0:
        case 1: {
          auto v = c.get(k);
          auto it = model.find(k);
          if (!bounded) {
            const bool expect = it != model.end() && alive(it->second);
            REQUIRE(static_cast<bool>(v) == expect);
          }
          if (v) {
            REQUIRE(it != model.end());
            REQUIRE(*v == it->second.value);
            it->second.accessed = now;
          }
          break;
        }
        case 2:
          c.insert(k, step);
          model[k] = {step, now, now};
          break;
        case 3:
          c.invalidate(k);
          model.erase(k);
          break;
        case 4:
          t.advance(std::chrono::nanoseconds(rng() % 12));
          break;
        case 5:
          c.run_pending_tasks();
          REQUIRE(c.entry_count() <= cap);
          std::uint64_t live = 0;
          for (int j = 0; j < 16; ++j) live += c.contains(j) ? 1 : 0;
          REQUIRE(live <= c.entry_count());
          break;
      }
    }
    c.run_pending_tasks();
    for (auto it = model.begin(); it != model.end();) {
      it = alive(it->second) ? std::next(it) : model.erase(it);
    }
    for (int j = 0; j < 16; ++j) {
      if (!bounded) REQUIRE(c.contains(j) == model.contains(j));
      if (c.contains(j)) REQUIRE(model.contains(j));
    }
    if (!bounded) REQUIRE(c.entry_count() == model.size());
    auto s = c.stats();
    REQUIRE(s.evicted_size == static_cast<std::uint64_t>(removed_by[0]));
    REQUIRE(s.evicted_expired == static_cast<std::uint64_t>(removed_by[1]));
    REQUIRE(s.replaced == static_cast<std::uint64_t>(removed_by[2]));
    REQUIRE(s.invalidated == static_cast<std::uint64_t>(removed_by[3]));
    if (!bounded) REQUIRE(s.evicted_size == 0);
  }
}

TEST_CASE("random operations of the whole API against a model: values, expiry, causes, stats",
          "[cache]") {
  // Unbounded by weight (no evictions for size), so the model knows every answer: presence and
  // values, each hit and miss, each load and batch call with its keys, the listener's events
  // (compared per stretch between two run_pending_tasks(), in which every removal that is due
  // must have been told, in whatever order) and the weighted size.
  using cause = frugal::removal_cause;
  using event = std::tuple<int, int, cause>;
  constexpr int keys = 24;
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    fake_clock t;
    struct state {
      int value;
      std::int64_t deadline;  // of the write
      std::int64_t accessed;
    };
    std::map<int, state> model;
    std::vector<event> told, expected;
    frugal::cache_stats want;
    auto life = [](int k) -> std::optional<std::chrono::nanoseconds> {
      switch (k % 4) {
        case 0: return std::nullopt;  // time_to_live
        case 1: return 10ns;
        case 2: return 0ns;  // due when written
        default: return 1000ns;  // time_to_idle ends it first
      }
    };
    int_cache c({.max_capacity = 1'000'000,
                 .weigher = [](const int&, const int& v) {
                   return static_cast<std::uint32_t>(v % 5 + 1);
                 },
                 .time_to_live = 50ns,
                 .time_to_idle = 20ns,
                 .expire_after_write = [&](const int& k, const int&) { return life(k); },
                 .clock = t.fn(),
                 .eviction_listener =
                     [&](const int& k, const std::shared_ptr<const int>& v, cause why) {
                       told.emplace_back(k, *v, why);
                     },
                 .max_batch = 3,
                 .write_buffer = 4});
    auto now = [&] { return t.ns->load(); };
    auto alive = [&](const state& st) { return now() < st.deadline && now() < st.accessed + 20; };
    // What a read finds: counts the hit or the miss and, on a hit, moves the last access.
    auto read = [&](int k) -> std::optional<int> {
      auto it = model.find(k);
      if (it == model.end() || !alive(it->second)) {
        ++want.misses;
        return std::nullopt;
      }
      ++want.hits;
      it->second.accessed = now();
      return it->second.value;
    };
    // A write reaching k: an expired entry leaves as expired, a live one with `live_cause`.
    auto leave = [&](int k, cause live_cause) {
      auto it = model.find(k);
      if (it == model.end()) return false;
      const bool was_live = alive(it->second);
      const cause why = was_live ? live_cause : cause::expired;
      expected.emplace_back(k, it->second.value, why);
      ++(why == cause::expired ? want.evicted_expired
                               : why == cause::replaced ? want.replaced : want.invalidated);
      model.erase(it);
      return was_live;
    };
    auto store = [&](int k, int v) {
      leave(k, cause::replaced);
      const std::int64_t d = life(k).value_or(50ns).count();
      model[k] = {v, now() + d, now()};
    };
    int next_value = 0;
    for (int step = 0; step < 300; ++step) {
      const int k = static_cast<int>(rng() % keys);
      switch (rng() % 12) {
        case 0: {
          const auto want_v = read(k);
          const auto v = c.get(k);
          REQUIRE(static_cast<bool>(v) == want_v.has_value());
          if (v) REQUIRE(*v == *want_v);
          break;
        }
        case 1: {
          const auto want_v = read(k);
          int seen = -1;
          REQUIRE(c.visit(k, [&](const int& v) { seen = v; }) == want_v.has_value());
          REQUIRE(seen == want_v.value_or(-1));
          break;
        }
        case 2: {
          auto it = model.find(k);
          REQUIRE(c.contains(k) == (it != model.end() && alive(it->second)));
          break;
        }
        case 3:
        case 4: {
          const int v = next_value++;
          store(k, v);
          c.insert(k, v);
          break;
        }
        case 5: {
          const bool was = leave(k, cause::invalidated);
          REQUIRE(c.invalidate(k) == was);
          break;
        }
        case 6: {  // the keys below a bound whose value is even
          const int below = static_cast<int>(rng() % keys);
          const std::map<int, state> before = model;
          std::size_t want_n = 0;
          for (auto it = model.begin(); it != model.end();) {
            const auto next = std::next(it);
            if (!alive(it->second)) {
              leave(it->first, cause::invalidated);
            } else if (it->first < below && it->second.value % 2 == 0) {
              leave(it->first, cause::invalidated);
              ++want_n;
            }
            it = next;
          }
          const std::size_t n = c.invalidate_if([&](const int& key, const int& v) {
            // Shown live entries only, with their values.
            const auto it = before.find(key);
            REQUIRE(it != before.end());
            REQUIRE(it->second.value == v);
            REQUIRE(alive(it->second));
            return key < below && v % 2 == 0;
          });
          REQUIRE(n == want_n);
          break;
        }
        case 7: {
          if (rng() % 4 != 0) break;  // now and then
          for (auto it = model.begin(); it != model.end();) {
            const auto next = std::next(it);
            leave(it->first, cause::invalidated);
            it = next;
          }
          c.invalidate_all();
          break;
        }
        case 8: {
          const auto want_v = read(k);
          bool loaded = false;
          const int v = next_value++;
          const auto got = c.get_with(k, [&] {
            loaded = true;
            return v;
          });
          REQUIRE(loaded == !want_v.has_value());
          if (want_v) {
            REQUIRE(*got == *want_v);
          } else {
            ++want.loads;
            store(k, v);
            REQUIRE(*got == v);
          }
          break;
        }
        case 9: {  // found only for even keys
          const auto want_v = read(k);
          bool loaded = false;
          const int v = next_value++;
          const auto got = c.optionally_get_with(k, [&]() -> std::optional<int> {
            loaded = true;
            if (k % 2 != 0) return std::nullopt;
            return v;
          });
          REQUIRE(loaded == !want_v.has_value());
          if (want_v) {
            REQUIRE(got);
            REQUIRE(*got == *want_v);
          } else {
            ++want.loads;
            if (k % 2 == 0) {
              store(k, v);
              REQUIRE(got);
              REQUIRE(*got == v);
            } else {
              REQUIRE_FALSE(got);
            }
          }
          break;
        }
        case 10: {  // a list of up to 8 keys, repeats allowed; keys divisible by 3 not found
          std::vector<int> list(rng() % 9);
          for (int& key : list) key = static_cast<int>(rng() % keys);
          std::vector<std::optional<int>> want_out;
          std::vector<int> misses;  // distinct, in order of first appearance
          for (int key : list) {
            want_out.push_back(read(key));
            if (!want_out.back() && std::find(misses.begin(), misses.end(), key) == misses.end()) {
              misses.push_back(key);
            }
          }
          std::vector<int> asked;
          std::map<int, int> made;
          std::uint64_t calls = 0;
          const auto out = c.get_all(std::span<const int>(list), [&](std::span<const int> ks) {
            ++calls;
            REQUIRE(ks.size() <= 3);
            std::vector<std::optional<int>> found;
            for (int key : ks) {
              asked.push_back(key);
              if (key % 3 == 0) {
                found.emplace_back();
              } else {
                made[key] = next_value;
                found.emplace_back(next_value++);
              }
            }
            return found;
          });
          REQUIRE(asked == misses);
          REQUIRE(calls == (misses.size() + 2) / 3);
          want.loads += calls;
          for (int key : misses) {
            if (key % 3 != 0) store(key, made.at(key));
          }
          REQUIRE(out.size() == list.size());
          for (std::size_t i = 0; i < list.size(); ++i) {
            CAPTURE(i, list[i]);
            std::optional<int> w = want_out[i];
            if (!w && made.contains(list[i])) w = made.at(list[i]);
            REQUIRE(static_cast<bool>(out[i]) == w.has_value());
            if (out[i]) REQUIRE(*out[i] == *w);
          }
          break;
        }
        default: {
          if (rng() % 3 == 0) {
            // Every removal that is due is told by the end of a maintenance.
            for (auto it = model.begin(); it != model.end();) {
              const auto next = std::next(it);
              if (!alive(it->second)) leave(it->first, cause::expired);
              it = next;
            }
            c.run_pending_tasks();
            std::sort(told.begin(), told.end());
            std::sort(expected.begin(), expected.end());
            REQUIRE(told == expected);
            told.clear();
            expected.clear();
            REQUIRE(c.entry_count() == model.size());
            std::uint64_t weight = 0;
            for (const auto& [key, st] : model) {
              weight += static_cast<std::uint64_t>(st.value % 5 + 1);
            }
            REQUIRE(c.weighted_size() == weight);
            const frugal::cache_stats got = c.stats();
            REQUIRE(got.hits == want.hits);
            REQUIRE(got.misses == want.misses);
            REQUIRE(got.loads == want.loads);
            REQUIRE(got.load_failures == 0);
            REQUIRE(got.evicted_size == 0);
            REQUIRE(got.evicted_expired == want.evicted_expired);
            REQUIRE(got.replaced == want.replaced);
            REQUIRE(got.invalidated == want.invalidated);
          } else {
            t.advance(std::chrono::nanoseconds(rng() % 9));
          }
          break;
        }
      }
    }
  }
}

TEST_CASE("values are destroyed once + none leak", "[cache]") {
  REQUIRE(tracked::live == 0);
  {
    frugal::cache<int, tracked> c({.max_capacity = 20});
    for (int i = 0; i < 100; ++i) c.insert(i, i);
    for (int i = 0; i < 100; ++i) c.get_with(i, [&] { return tracked(i); });
    c.run_pending_tasks();
    REQUIRE(tracked::live == 20);
    auto kept = c.get(c.contains(99) ? 99 : 0);
    c.invalidate_all();
    c.run_pending_tasks();
    REQUIRE(tracked::live == (kept ? 1 : 0));
    for (int i = 0; i < 10; ++i) c.insert(i, i);
  }
  REQUIRE(tracked::live == 0);
}

TEST_CASE(
    "a throwing value constructor + weigher or loader at the k-th call leaves the cache whole",
    "[cache]") {
  for (long k = 0; k < 12; ++k) {
    tracked::builds_left = k;
    {
      frugal::cache<int, tracked> c({.max_capacity = 8});
      int ok = 0;
      for (int i = 0; i < 12; ++i) {
        try {
          c.insert(i, i);
          ++ok;
        } catch (const std::runtime_error&) {
          REQUIRE_FALSE(c.contains(i));
        }
      }
      REQUIRE(ok == 11);
      c.run_pending_tasks();
      REQUIRE(c.entry_count() == 8);
      REQUIRE(tracked::live == 8);
    }
    REQUIRE(tracked::live == 0);
    tracked::builds_left = -1;
  }
  for (int k = 0; k < 6; ++k) {
    int calls = 0;
    int_cache w({.max_capacity = 100, .weigher = [&](const int&, const int&) -> std::uint32_t {
                   if (calls++ == k) throw std::runtime_error("weigher");
                   return 1;
                 }});
    int stored = 0;
    for (int i = 0; i < 6; ++i) {
      try {
        w.insert(i, i);
        ++stored;
      } catch (const std::runtime_error&) {
        REQUIRE_FALSE(w.contains(i));
      }
    }
    w.run_pending_tasks();
    REQUIRE(stored == 5);
    REQUIRE(w.entry_count() == 5);
  }
}

TEST_CASE("a throwing listener: every notification delivered + the first exception rethrown",
          "[cache]") {
  for (int k = 0; k < 4; ++k) {
    int told = 0;
    int_cache c({.max_capacity = 100,
                 .eviction_listener = [&](const int&, const std::shared_ptr<const int>&,
                                          frugal::removal_cause) {
                   if (told++ == k) throw std::runtime_error("listener");
                 }});
    for (int i = 0; i < 4; ++i) c.insert(i, i);
    REQUIRE_THROWS_WITH(c.invalidate_all(), "listener");
    REQUIRE(told == 4);
    REQUIRE(c.entry_count() == 0);
  }
}

TEST_CASE("aliasing: values and keys from the cache itself", "[cache]") {
  frugal::cache<std::string, std::string> c({.max_capacity = 4});
  c.insert(std::string("a"), std::string("value of a"));
  auto v = c.get("a");
  c.insert(std::string("a"), *v);  // a value read from the entry being replaced
  REQUIRE(*c.get("a") == "value of a");
  c.insert(*c.get("a"), std::string("x"));  // a key taken from a value of the cache
  REQUIRE(*c.get("value of a") == "x");
  // The listener re-inserts what is evicted under another key: no deadlock, no lost entry.
  frugal::cache<int, int>* self = nullptr;
  int_cache r({.max_capacity = 2,
               .eviction_listener = [&](const int& k, const std::shared_ptr<const int>& val,
                                        frugal::removal_cause why) {
                 if (why == frugal::removal_cause::size && k < 100) self->insert(k + 100, *val);
               }});
  self = &r;
  for (int i = 0; i < 5; ++i) r.insert(i, i);
  r.run_pending_tasks();
  REQUIRE(r.entry_count() <= 2);
}

TEST_CASE("get_with stores a value that can be neither copied nor moved", "[cache]") {
  struct pinned {
    std::mutex m;  // neither copyable nor movable
    int v;
    explicit pinned(int x) : v(x) {}
    pinned(const pinned&) = delete;
    pinned(pinned&&) = delete;
  };
  frugal::cache<int, pinned> c({.max_capacity = 4});
  int loads = 0;
  auto a = c.get_with(1, [&] {
    ++loads;
    return pinned(3);
  });
  auto b = c.get_with(1, [&] {
    ++loads;
    return pinned(4);
  });
  REQUIRE(a == b);  // the stored entry, loaded once
  REQUIRE(a->v == 3);
  REQUIRE(loads == 1);
  c.insert(2, 5);  // built in place from its arguments
  REQUIRE(c.get(2)->v == 5);
}

TEST_CASE("move-only + over-aligned and string values", "[cache]") {
  frugal::cache<int, std::unique_ptr<int>> m({.max_capacity = 4});
  m.insert(1, std::make_unique<int>(3));
  REQUIRE(**m.get(1) == 3);
  REQUIRE(**m.get_with(2, [] { return std::make_unique<int>(4); }) == 4);
  // get_all moves the values out of the container the batch function returned.
  const std::vector<int> keys{2, 5, 6};
  auto got = m.get_all(std::span<const int>(keys), [](std::span<const int> ks) {
    std::vector<std::optional<std::unique_ptr<int>>> out;
    for (int k : ks) {
      if (k == 5) {
        out.emplace_back(std::make_unique<int>(50));
      } else {
        out.emplace_back();
      }
    }
    return out;
  });
  REQUIRE(**got[0] == 4);  // a hit
  REQUIRE(**got[1] == 50);
  REQUIRE(got[2] == nullptr);
  REQUIRE(**m.get(5) == 50);
  // Copyable values are moved too: no copy between the batch's container and the cache.
  struct copy_counted {
    int v;
    int* copies;
    copy_counted(int x, int* n) : v(x), copies(n) {}
    copy_counted(const copy_counted& o) : v(o.v), copies(o.copies) { ++*copies; }
    copy_counted(copy_counted&&) noexcept = default;
  };
  int copies = 0;
  frugal::cache<int, copy_counted> cc({.max_capacity = 8});
  auto values = cc.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
    std::vector<std::optional<copy_counted>> out;
    for (int k : ks) out.emplace_back(copy_counted(k, &copies));
    return out;
  });
  REQUIRE(values[2]->v == 6);
  REQUIRE(copies == 0);
  // Values that cannot be assigned load through get_all too.
  struct fixed {
    const int v;
  };
  frugal::cache<int, fixed> fc({.max_capacity = 8});
  auto fixed_values = fc.get_all(std::span<const int>(keys), [](std::span<const int> ks) {
    std::vector<std::optional<fixed>> out;
    for (int k : ks) out.push_back(fixed{k});
    return out;
  });
  REQUIRE(fixed_values[1]->v == 5);
  REQUIRE(fc.get(6)->v == 6);
  frugal::cache<int, over_aligned> a({.max_capacity = 4});
  for (int i = 0; i < 8; ++i) {
    auto p = a.insert(i, over_aligned{i});
    REQUIRE(reinterpret_cast<std::uintptr_t>(p.get()) % 64 == 0);
  }
  frugal::cache<std::string, std::string> s({.max_capacity = 4});
  s.insert(std::string("k"), std::size_t{5}, 'x');  // constructed in place from (5, 'x')
  REQUIRE(*s.get("k") == "xxxxx");
}

TEST_CASE("invalidate_if removes what the predicate names", "[cache]") {
  heard h;
  int_cache c({.max_capacity = 1000, .eviction_listener = h.fn()});
  for (int i = 0; i < 100; ++i) c.insert(i, i);
  REQUIRE(c.invalidate_if([](const int& k, const int&) { return k % 3 == 0; }) == 34);
  for (int i = 0; i < 100; ++i) REQUIRE(c.contains(i) == (i % 3 != 0));
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 66);
  REQUIRE(h.count(frugal::removal_cause::invalidated) == 34);
  REQUIRE_THROWS_WITH(c.invalidate_if([](const int& k, const int&) -> bool {
    if (k == 50) throw std::runtime_error("pred");
    return false;
  }),
                      "pred");
  REQUIRE(c.contains(50));
}

TEST_CASE("invalidate_if: an entry whose deadline passes during the scan leaves as expired",
          "[cache]") {
  // One shard; time moves while the scan runs (here: from `pred`, which does not call the
  // cache), so every entry after the first is past its deadline when the scan reaches it.
  fake_clock t;
  heard h;
  int_cache c({.time_to_live = 100ns, .clock = t.fn(), .eviction_listener = h.fn(), .shards = 1});
  for (int i = 0; i < 4; ++i) c.insert(i, i);
  int seen_late = 0;
  const std::size_t n = c.invalidate_if([&](const int&, const int&) {
    if (*t.ns >= 1100) ++seen_late;
    t.advance(1000ns);
    return true;
  });
  CHECK(seen_late == 0);  // pred never sees an expired entry
  CHECK(n == 1);          // nor are they counted
  CHECK(h.count(frugal::removal_cause::invalidated) == 1);
  CHECK(h.count(frugal::removal_cause::expired) == 3);
  CHECK(c.entry_count() == 0);
}

namespace {
// A copy-only value that counts its destructions.
struct copy_only_value {
  static inline int destroyed = 0;
  int n;
  explicit copy_only_value(int v) : n(v) {}
  copy_only_value(const copy_only_value&) = default;
  ~copy_only_value() { ++destroyed; }
};
}  // namespace

TEST_CASE("get_with makes the entry's value from what the loader returns: no V dies in the load",
          "[cache]") {
  frugal::cache<int, copy_only_value> c({.max_capacity = 10});
  copy_only_value::destroyed = 0;
  const auto v = c.get_with(1, [] { return copy_only_value(7); });
  // Not copied out of a temporary that is then destroyed while key 1 is in flight (so a V
  // whose destructor calls get_with for its own key would get std::logic_error there).
  CHECK(copy_only_value::destroyed == 0);
  CHECK(v->n == 7);
  const copy_only_value kept(8);
  CHECK(c.get_with(2, [&]() -> const copy_only_value& { return kept; })->n == 8);
  CHECK(copy_only_value::destroyed == 0);
  CHECK(c.stats().loads == 2);
  CHECK_THROWS_AS(c.get_with(3, []() -> copy_only_value { throw std::runtime_error("down"); }),
                  std::runtime_error);
  CHECK(c.stats().load_failures == 1);
}

TEST_CASE("1000 concurrent get_with calls on one cold key run the loader once",
          "[cache][concurrent]") {
  int_cache c({.max_capacity = 100});
  std::atomic<int> started{0}, loads{0};
  constexpr int n = 1000;
  std::vector<std::thread> threads;
  std::vector<int> results(n);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      started.fetch_add(1);
      results[static_cast<std::size_t>(i)] = *c.get_with(42, [&] {
        while (started.load() < n) std::this_thread::yield();
        loads.fetch_add(1);
        return 7;
      });
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(loads.load() == 1);
  REQUIRE(std::all_of(results.begin(), results.end(), [](int r) { return r == 7; }));
  REQUIRE(c.stats().loads == 1);
}

TEST_CASE("a failing load reaches every waiter and is not cached", "[cache][concurrent]") {
  int_cache c({.max_capacity = 100});
  std::atomic<int> started{0}, loads{0}, failures{0};
  constexpr int n = 16;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      started.fetch_add(1);
      try {
        c.get_with(1, [&]() -> int {
          while (started.load() < n) std::this_thread::yield();
          loads.fetch_add(1);
          throw std::runtime_error("down");
        });
      } catch (const std::runtime_error&) {
        failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(failures.load() == n);
  REQUIRE(loads.load() >= 1);  // a caller that came after a failure loads again
  REQUIRE_FALSE(c.contains(1));
}

TEST_CASE("concurrent gets + inserts + invalidations + get_with and get_all on overlapping keys",
          "[cache][concurrent]") {
  std::atomic<long> told{0};
  int_cache c({.max_capacity = 64,
               .eviction_listener = [&](const int&, const std::shared_ptr<const int>&,
                                        frugal::removal_cause) { told.fetch_add(1); },
               .write_buffer = 8});
  std::atomic<int> loads_per_key[128] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(t + 1));
      for (int i = 0; i < 3000; ++i) {
        const int k = static_cast<int>(rng() % 128);
        switch (rng() % 6) {
          case 0:
            if (auto v = c.get(k)) expect(*v % 1000 == k);
            break;
          case 1:
            c.insert(k, k + 1000 * static_cast<int>(rng() % 5));
            break;
          case 2:
            c.invalidate(k);
            break;
          case 3:
            expect(*c.get_with(k,
                               [&] {
                                 loads_per_key[k].fetch_add(1);
                                 return k;
                               }) %
                       1000 ==
                   k);
            break;
          case 4: {
            std::vector<int> ks{k, (k + 1) % 128, k};
            auto got = c.get_all(std::span<const int>(ks), [](std::span<const int> keys) {
              std::vector<std::optional<int>> out;
              for (int key : keys) out.emplace_back(key);
              return out;
            });
            expect(*got[0] % 1000 == k);
            expect(*got[2] % 1000 == k);
            break;
          }
          case 5:
            c.visit(k, [&](const int& v) { expect(v % 1000 == k); });
            break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(thread_failures.load() == 0);
  c.run_pending_tasks();
  REQUIRE(c.entry_count() <= 64);
  std::uint64_t present = 0;
  for (int k = 0; k < 128; ++k) present += c.contains(k) ? 1 : 0;
  REQUIRE(present == c.entry_count());
}

TEST_CASE("get_all and get_with on the same keys share loads", "[cache][concurrent]") {
  int_cache c({.max_capacity = 1000});
  std::atomic<int> loaded[64] = {};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      std::vector<int> keys(64);
      for (int i = 0; i < 64; ++i) keys[static_cast<std::size_t>(i)] = (i * (t + 1)) % 64;
      if (t % 2 == 0) {
        auto got = c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
          std::vector<std::optional<int>> out;
          for (int k : ks) {
            loaded[k].fetch_add(1);
            out.emplace_back(k * 2);
          }
          return out;
        });
        for (std::size_t i = 0; i < keys.size(); ++i) expect(*got[i] == keys[i] * 2);
      } else {
        for (int k : keys) {
          expect(*c.get_with(k, [&] {
            loaded[k].fetch_add(1);
            return k * 2;
          }) == k * 2);
        }
      }
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  REQUIRE(thread_failures.load() == 0);
  for (auto& l : loaded) REQUIRE(l.load() == 1);  // nothing is evicted: each key loads once
}

namespace {

// A value that notes when it is destroyed inside a get.
thread_local bool inside_get = false;
std::atomic<int> destroyed_inside_get{0};
struct noisy {
  int v;
  explicit noisy(int x) : v(x) {}
  noisy(const noisy&) = default;
  ~noisy() {
    if (inside_get) destroyed_inside_get.fetch_add(1);
  }
};

}  // namespace

TEST_CASE("a get never destroys a value: the cache drops its references in writes", "[cache]") {
  frugal::cache<int, noisy> c({.max_capacity = 16});
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 40; ++i) c.insert(round * 100 + i, round);
    // Many reads, enough to fill and drain every read buffer, of live and evicted keys.
    inside_get = true;
    for (int r = 0; r < 200; ++r) {
      auto v = c.get(round * 100 + r % 40);
      c.visit(round * 100 + r % 40, [](const noisy&) {});
      REQUIRE(!c.contains(-1));
      inside_get = false;  // dropping `v` here is the caller's own doing
      v.reset();
      inside_get = true;
    }
    inside_get = false;
  }
  REQUIRE(destroyed_inside_get.load() == 0);
}

namespace {

// A value whose destructor calls the cache that held it: reads, a write that may run a
// maintenance on this thread, an invalidation and, now and then, a maintenance that waits for
// the policy lock (which would never come if the destructor ran under it). Values built with a
// negative number (the ones it inserts) do not call back. Any thread may free it.
struct reentrant_value;
using reentrant_cache = frugal::cache<int, reentrant_value>;
std::atomic<reentrant_cache*> reentrant_target{nullptr};
std::atomic<int> reentrant_destroyed{0};
struct reentrant_value {
  int v;
  explicit reentrant_value(int x) : v(x) {}
  reentrant_value(const reentrant_value&) = delete;
  reentrant_value& operator=(const reentrant_value&) = delete;
  ~reentrant_value() {
    reentrant_cache* target = reentrant_target.load();
    if (target == nullptr || v < 0) return;
    reentrant_destroyed.fetch_add(1);
    reentrant_cache& c = *target;
    (void)c.get(v + 1);
    c.visit(v, [](const reentrant_value&) {});
    (void)c.contains(v + 2);
    c.insert(-v - 1, -1);
    c.invalidate(-v - 1);
    if (v % 10 == 0) c.run_pending_tasks();  // waits for the policy lock
  }
};

}  // namespace

TEST_CASE(
    "V's destructor may call the cache that held the value: entries are freed with no lock held",
    "[cache]") {
  // With a listener, the listener's notes hold the last references (dropped after delivery);
  // without one, the cache's retired entries do.
  const bool with_listener = GENERATE(false, true);
  CAPTURE(with_listener);
  reentrant_destroyed = 0;
  {
    frugal::cache_options<int, reentrant_value> o{.max_capacity = 8};
    if (with_listener) {
      o.eviction_listener = [](const int&, const std::shared_ptr<const reentrant_value>&,
                               frugal::removal_cause) {};
    }
    reentrant_cache c(std::move(o));
    reentrant_target = &c;
    for (int i = 0; i < 200; ++i) {
      c.insert(i, i);
      if (i % 7 == 0) (void)c.get(i);
    }
    c.run_pending_tasks();
    c.invalidate_all();
    c.run_pending_tasks();
    // Every value inserted by the loop is gone, each destroyed once, by the cache, on this
    // thread, with its calls back into the cache answered.
    REQUIRE(reentrant_destroyed == 200);
    REQUIRE(c.entry_count() == 0);
    REQUIRE_FALSE(c.contains(5));
    reentrant_target = nullptr;
  }
  REQUIRE(reentrant_destroyed == 200);
}

TEST_CASE("V's destructor may call the cache while other threads write and read it",
          "[cache][concurrent]") {
  reentrant_destroyed = 0;
  constexpr int threads = 4, per_thread = 2000;
  {
    reentrant_cache c({.max_capacity = 64});
    reentrant_target = &c;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&c, t] {
        for (int i = 0; i < per_thread; ++i) {
          const int key = t * per_thread + i;
          c.insert(key, key);
          (void)c.get(key - 3);
          if (i % 100 == 0) c.invalidate(key - 50);
        }
      });
    }
    for (auto& th : pool) th.join();
    c.invalidate_all();
    c.run_pending_tasks();
    c.invalidate_all();
    c.run_pending_tasks();
    REQUIRE(reentrant_destroyed.load() == threads * per_thread);
    reentrant_target = nullptr;
  }
  REQUIRE(reentrant_destroyed.load() == threads * per_thread);
}

namespace {

// A value whose destructor is slow (a sleep, as one closing a connection would be) and that
// counts the values alive.
std::atomic<int> slow_alive{0};
std::atomic<int> slow_alive_max{0};
struct slow_value {
  int v;
  explicit slow_value(int x) : v(x) {
    const int now = slow_alive.fetch_add(1) + 1;
    int seen = slow_alive_max.load();
    while (now > seen && !slow_alive_max.compare_exchange_weak(seen, now)) {
    }
  }
  slow_value(const slow_value&) = delete;
  slow_value& operator=(const slow_value&) = delete;
  ~slow_value() {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    slow_alive.fetch_sub(1);
  }
};

}  // namespace

TEST_CASE("slow destructors do not let retired entries pile up while other threads write",
          "[cache][concurrent]") {
  slow_alive = 0;
  slow_alive_max = 0;
  constexpr int threads = 4, per_thread = 1500, capacity = 32, buffer = 16;
  {
    frugal::cache<int, slow_value> c({.max_capacity = capacity, .write_buffer = buffer});
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&c, t] {
        for (int i = 0; i < per_thread; ++i) c.insert(t * per_thread + i, i);
      });
    }
    for (auto& th : pool) th.join();
    c.run_pending_tasks();
    // Alive at most: the bound, the write buffer's entries, what one maintenance retires and
    // has not freed yet, and what each thread is freeing (one maintenance's worth), with room.
    CAPTURE(slow_alive_max.load());
    REQUIRE(slow_alive_max.load() <= capacity + (threads + 4) * (capacity + buffer));
    REQUIRE(slow_alive.load() <= capacity);
  }
  REQUIRE(slow_alive.load() == 0);
}

namespace {

// A value whose destructor inserts a new value of the same kind while a budget lasts: in a
// full cache each insert evicts one, whose destructor inserts again, and so on. Frees must
// not nest along such a chain.
struct chain_value;
using chain_cache = frugal::cache<int, chain_value>;
chain_cache* chain_target = nullptr;
int chain_budget = 0, chain_next_key = 0, chain_depth = 0, chain_max_depth = 0;
struct chain_value {
  int v;
  explicit chain_value(int x) : v(x) {}
  chain_value(const chain_value&) = delete;
  chain_value& operator=(const chain_value&) = delete;
  ~chain_value() {
    if (chain_target == nullptr) return;
    chain_max_depth = std::max(chain_max_depth, ++chain_depth);
    if (chain_budget > 0) {
      --chain_budget;
      const int key = chain_next_key++;
      chain_target->insert(key, key);
    }
    --chain_depth;
  }
};

}  // namespace

TEST_CASE("destructors that insert values whose destructors insert never nest frees", "[cache]") {
  chain_budget = 2000;
  chain_next_key = 0;
  chain_depth = chain_max_depth = 0;
  {
    chain_cache c({.max_capacity = 4});
    chain_target = &c;
    for (int round = 0; round < 100'000 && chain_budget > 0; ++round) {
      const int key = chain_next_key++;
      c.insert(key, key);
      c.run_pending_tasks();
    }
    // The budget was spent (2000 inserts from destructors), and no destructor ran inside
    // another one's call into the cache.
    REQUIRE(chain_budget == 0);
    REQUIRE(chain_max_depth == 1);
    chain_target = nullptr;
  }
}

namespace {

// A value whose destructor invalidates the next key of a chain, with a listener that runs
// the pending tasks: the listener's maintenance frees the cache's references to what the
// maintenance before it removed, so the notifications it was told of hold the last ones.
struct link_value;
using link_cache = frugal::cache<int, link_value>;
link_cache* link_target = nullptr;
int link_depth = 0, link_max_depth = 0, link_destroyed = 0;
struct link_value {
  int next;
  explicit link_value(int n) : next(n) {}
  link_value(const link_value&) = delete;
  link_value& operator=(const link_value&) = delete;
  ~link_value() {
    if (link_target == nullptr) return;
    ++link_destroyed;
    link_max_depth = std::max(link_max_depth, ++link_depth);
    link_target->invalidate(next);
    --link_depth;
  }
};

}  // namespace

TEST_CASE("values whose last reference is a notification are freed without nesting",
          "[cache]") {
  constexpr int links = 300;
  link_depth = link_max_depth = link_destroyed = 0;
  {
    link_cache c({.max_capacity = 1000,
                  .eviction_listener = [](const int&, const std::shared_ptr<const link_value>&,
                                          frugal::removal_cause) {
                    if (link_target != nullptr) link_target->run_pending_tasks();
                  }});
    for (int k = 0; k < links; ++k) c.insert(k, k + 1);
    c.run_pending_tasks();
    link_target = &c;
    c.invalidate(0);
    for (int i = 0; i < 2 * links && link_destroyed < links; ++i) c.run_pending_tasks();
    // Every link was destroyed, each one's invalidate of the next freeing nothing itself.
    REQUIRE(link_destroyed == links);
    REQUIRE(link_max_depth == 1);
    REQUIRE(c.entry_count() == 0);
    link_target = nullptr;
  }
}

TEST_CASE("a zero time to live keeps nothing and a huge one never overflows", "[cache]") {
  fake_clock t;
  int_cache zero({.time_to_live = 0ns, .clock = t.fn()});
  zero.insert(1, 1);
  REQUIRE_FALSE(zero.contains(1));
  zero.run_pending_tasks();
  REQUIRE(zero.entry_count() == 0);
  int_cache huge({.time_to_live = std::chrono::nanoseconds::max(),
                  .time_to_idle = std::chrono::nanoseconds::max(),
                  .clock = t.fn()});
  huge.insert(1, 1);
  t.advance(std::chrono::hours(24 * 365));
  REQUIRE(huge.get(1));
  huge.run_pending_tasks();
  REQUIRE(huge.entry_count() == 1);
}

TEST_CASE("entry_count and weighted_size follow the policy after each maintenance", "[cache]") {
  frugal::cache<std::string, std::string> c(
      {.max_capacity = 100, .weigher = [](const std::string&, const std::string& v) {
         return static_cast<std::uint32_t>(v.size());
       }});
  c.insert(std::string("a"), std::string(10, 'x'));
  c.insert(std::string("b"), std::string(30, 'x'));
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 2);
  REQUIRE(c.weighted_size() == 40);
  c.insert(std::string("a"), std::string(5, 'x'));  // replacing changes the weight
  c.run_pending_tasks();
  REQUIRE(c.weighted_size() == 35);
  c.insert(std::string("c"), std::string(80, 'x'));  // over the bound: something goes
  c.run_pending_tasks();
  REQUIRE(c.weighted_size() <= 100);
  REQUIRE(c.max_capacity() == 100);
}

TEST_CASE("the frequency sketch saturates at 15 and halves after its sample", "[cache]") {
  frugal::detail::cache::frequency_sketch s(64);
  REQUIRE(s.sample_size() == 640);
  const std::uint64_t hot = frugal::detail::cache::mix(12345);
  for (int i = 0; i < 40; ++i) s.increment(hot);
  REQUIRE(s.frequency(hot) == 15);
  REQUIRE(s.frequency(frugal::detail::cache::mix(999)) == 0);
  // Enough other keys to reach the sample size: every counter is halved once.
  for (std::uint64_t k = 0; k < 700; ++k) s.increment(frugal::detail::cache::mix(k + 1'000'000));
  REQUIRE(s.frequency(hot) == 7);
}

TEST_CASE("the frequency sketch's sample is ten times the bound, saturating near 2^64",
          "[cache]") {
  // 10 x the bound wrapped for these (2^63 and most / 10 + 1), and the table was halved on
  // almost every read: a cache of such a bound took seconds for a few thousand requests.
  constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
  REQUIRE(frugal::detail::cache::frequency_sketch(most / 10).sample_size() == most / 10 * 10);
  for (const std::uint64_t bound : {most / 10 + 1, std::uint64_t{1} << 63, most}) {
    CAPTURE(bound);
    frugal::detail::cache::frequency_sketch s(bound);
    REQUIRE(s.sample_size() == most);
    for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(s.count_additions(1));
  }
}

TEST_CASE("the frequency sketch adds pending counts saturating, and counts additions apart",
          "[cache]") {
  frugal::detail::cache::frequency_sketch s(64);
  const std::uint64_t k = frugal::detail::cache::mix(7);
  REQUIRE_FALSE(s.add_one(k));
  s.add(k, 9);
  REQUIRE(s.frequency(k) == 10);
  s.add(k, 9);
  REQUIRE(s.frequency(k) == 15);  // saturates
  // add_one counted one addition; add counts none.
  for (std::uint64_t i = 2; i < s.sample_size(); ++i) REQUIRE_FALSE(s.count_additions(1));
  REQUIRE(s.count_additions(1));  // the sample is reached: the caller halves
  s.halve();
  REQUIRE(s.frequency(k) == 7);
}

namespace {

// Adds and removes keys no test reads until the sketch halves once.
void halve_by_other_keys(frugal::detail::cache::w_tinylfu& p) {
  std::vector<frugal::detail::cache::policy_hook> others(p.sketch().sample_size());
  const std::uint16_t start = p.sketch().epoch();
  for (std::size_t i = 0; i < others.size() && p.sketch().epoch() == start; ++i) {
    others[i].hash = frugal::detail::cache::mix(1000 + i);
    p.on_add(&others[i]);
    p.on_remove(&others[i]);
  }
}

}  // namespace

TEST_CASE("W-TinyLFU: reads of a linked entry count as the sketch would count them", "[cache]") {
  using frugal::detail::cache::policy_hook;
  frugal::detail::cache::w_tinylfu p(100, frugal::detail::cache::window_sizing::fixed);
  policy_hook a, b;
  a.hash = frugal::detail::cache::mix(1);
  b.hash = frugal::detail::cache::mix(2);
  p.on_add(&a);
  p.on_add(&b);
  for (int i = 0; i < 5; ++i) p.on_access(&a);
  // Kept with the entry, not yet in the table; the admission sees both.
  REQUIRE(p.sketch().frequency(a.hash) == 1);
  REQUIRE(p.frequency(a) == 6);
  REQUIRE(p.frequency(b) == 1);
  for (int i = 0; i < 30; ++i) p.on_access(&b);
  REQUIRE(p.frequency(b) == 15);  // saturates as the table does
  // Leaving the policy moves them to the table: a later admission of the key remembers them.
  p.on_remove(&a);
  REQUIRE(a.counts == 0);
  REQUIRE(p.sketch().frequency(a.hash) == 6);
  // A halving halves the reads kept with an entry too (when it is next looked at).
  halve_by_other_keys(p);
  REQUIRE(p.sketch().epoch() == 1);
  // The table's share (its count of b, and whatever other keys added to b's counters) is
  // halved in the table; the 14 kept reads are halved with the entry.
  const unsigned table = p.sketch().frequency(b.hash);
  REQUIRE(table <= 7);
  REQUIRE(p.frequency(b) == std::min(15u, table + 7));
  p.on_remove(&b);
  REQUIRE(p.sketch().frequency(b.hash) == std::min(15u, table + 7));
}

TEST_CASE("W-TinyLFU: a read counts toward the halving only while its key's count is below 15",
          "[cache]") {
  using frugal::detail::cache::policy_hook;
  frugal::detail::cache::w_tinylfu p(100, frugal::detail::cache::window_sizing::fixed);
  const std::uint64_t sample = p.sketch().sample_size();
  REQUIRE(sample == 1000);
  policy_hook a;
  a.hash = frugal::detail::cache::mix(7);
  p.on_add(&a);  // the first addition
  // 14 reads raise a's count to 15 and count; the reads after them change nothing, however
  // many: the sketch never halves for them.
  for (std::uint64_t i = 0; i < 2 * sample; ++i) p.on_access(&a);
  REQUIRE(p.frequency(a) == 15);
  REQUIRE(a.counts == (1 << 4 | 14));  // the table's 1 when it looked, 14 kept reads
  REQUIRE(p.sketch().epoch() == 0);
  // Fresh keys and one read of each count: the halving comes at exactly the sample's
  // addition, here a read.
  std::vector<policy_hook> others(sample);
  others[0].hash = frugal::detail::cache::mix(1'000'000);
  p.on_add(&others[0]);
  p.on_remove(&others[0]);
  std::uint64_t additions = 16;
  for (std::size_t i = 1; additions < sample - 2; ++i) {
    others[i].hash = frugal::detail::cache::mix(2'000'000 + i);
    p.on_add(&others[i]);
    p.on_access(&others[i]);
    additions += 2;
    p.on_remove(&others[i]);  // its kept read goes to the table without counting again
  }
  REQUIRE(additions == sample - 2);
  policy_hook last;
  last.hash = frugal::detail::cache::mix(3'000'000);
  p.on_add(&last);
  REQUIRE(p.sketch().epoch() == 0);
  p.on_access(&last);
  REQUIRE(p.sketch().epoch() == 1);
  p.on_remove(&last);
}

TEST_CASE("W-TinyLFU: a halving rounds an entry's odd kept reads up or down by its hash",
          "[cache]") {
  using frugal::detail::cache::policy_hook;
  frugal::detail::cache::w_tinylfu p(100, frugal::detail::cache::window_sizing::fixed);
  std::vector<policy_hook> kept(1000);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    kept[i].hash = frugal::detail::cache::mix(5'000'000 + i);
    kept[i].counts = 15;  // 15 reads kept, none in the table, as of epoch 0
  }
  halve_by_other_keys(p);
  REQUIRE(p.sketch().epoch() == 1);
  std::size_t up = 0;
  for (const auto& h : kept) {
    // The table's share is at most 7 after the halving, so nothing is clipped at 15.
    const unsigned mine = p.frequency(h) - p.sketch().frequency(h.hash);
    REQUIRE((mine == 7 || mine == 8));
    up += mine == 8 ? 1 : 0;
  }
  REQUIRE(up > 400);  // about half round up: right on average
  REQUIRE(up < 600);
}

TEST_CASE("W-TinyLFU regions: window and protected stay within their sizes", "[cache]") {
  frugal::detail::cache::w_tinylfu p(100);
  std::vector<frugal::detail::cache::policy_hook> hooks(200);
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    hooks[i].hash = frugal::detail::cache::mix(i);
    p.on_add(&hooks[i]);
    while (auto* victim = p.evict_one()) p.on_remove(victim);
    REQUIRE(p.weighted_size() <= 100);
  }
  for (int round = 0; round < 3; ++round) {
    for (auto& h : hooks) {
      if (h.where != frugal::detail::cache::queue::none) p.on_access(&h);
    }
  }
  REQUIRE(p.protected_weight() <= p.sizes().protected_);
  REQUIRE(p.protected_weight() >= p.sizes().protected_ - 1);
  REQUIRE(p.window_weight() <= p.sizes().window);
  REQUIRE(p.entry_count() == 100);
}

TEST_CASE("get_all with a batch function that throws on its k-th call", "[cache]") {
  for (int k = 0; k < 5; ++k) {
    int_cache c({.max_capacity = 100, .max_batch = 2});
    std::vector<int> keys(10);
    for (int i = 0; i < 10; ++i) keys[static_cast<std::size_t>(i)] = i;
    int calls = 0;
    auto batch = [&](std::span<const int> ks) {
      if (calls++ == k) throw std::runtime_error("batch " + std::to_string(k));
      return std::vector<std::optional<int>>(ks.begin(), ks.end());
    };
    REQUIRE_THROWS_WITH(c.get_all(std::span<const int>(keys), batch), "batch " + std::to_string(k));
    for (int i = 0; i < 10; ++i) REQUIRE(c.contains(i) == (i < 2 * k));
    calls = 100;  // never throws again
    auto got = c.get_all(std::span<const int>(keys), batch);
    for (int i = 0; i < 10; ++i) REQUIRE(*got[static_cast<std::size_t>(i)] == i);
    REQUIRE(calls == 100 + (10 - 2 * k + 1) / 2);
    REQUIRE(c.stats().load_failures == 1);
  }
}

TEST_CASE("admission: a scan of new keys does not displace frequent keys from probation",
          "[cache]") {
  int_cache c({.max_capacity = 100});
  // 150 keys compete for 100 places many times over: the sketch learns they are frequent.
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 150; ++k) {
      if (!c.get(k)) c.insert(k, k);
    }
    c.run_pending_tasks();
  }
  int before = 0;
  for (int k = 0; k < 150; ++k) before += c.contains(k) ? 1 : 0;
  REQUIRE(before >= 98);
  // A scan of three times the capacity, each key seen once (much longer scans age the sketch
  // until the old keys' counts fade, as they should).
  for (int k = 1000; k < 1300; ++k) c.insert(k, k);
  c.run_pending_tasks();
  int after = 0;
  for (int k = 0; k < 150; ++k) after += c.contains(k) ? 1 : 0;
  // Only the window's place goes to the scan: the chooser keeps the 1 % window (its other
  // choice, 100 %, an LRU, would let the scan flush the cache).
  REQUIRE(after >= before - 10);
  REQUIRE(c.policy_sizes().window == 1);
}

TEST_CASE("invalidate_all racing with inserts leaves no entry linked twice or freed early",
          "[cache][concurrent]") {
  for (int rep = 0; rep < 20; ++rep) {
    int_cache c({.max_capacity = 1000, .shards = 4, .write_buffer = 64});
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 2; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          c.insert(t * 100'000 + i % 5000, i);
          if (i % 7 == 0) c.get(t * 100'000 + (i / 2) % 5000);
        }
      });
    }
    for (int i = 0; i < 30; ++i) c.invalidate_all();
    stop.store(true);
    for (auto& w : writers) w.join();
    c.run_pending_tasks();
    std::uint64_t present = 0;
    for (int t = 0; t < 2; ++t) {
      for (int k = 0; k < 5000; ++k) present += c.contains(t * 100'000 + k) ? 1 : 0;
    }
    REQUIRE(present == c.entry_count());
    REQUIRE(c.entry_count() <= 1000);
    // Push every linked entry out through the policy: one freed early would be touched here.
    for (int k = 0; k < 3000; ++k) c.insert(1'000'000 + k, k);
    c.run_pending_tasks();
    REQUIRE(c.entry_count() == 1000);
  }
}

TEST_CASE("invalidate_if takes an entry whose add event is still queued", "[cache][concurrent]") {
  int_cache c({.max_capacity = 100, .shards = 2});
  auto shard_of = [](int k) { return frugal::detail::cache::mix(std::hash<int>{}(k)) >> 63; };
  int y = 0, x = 1;
  while (shard_of(y) != 0) ++y;
  while (shard_of(x) != 1) ++x;
  c.insert(y, 0);
  std::atomic<int> step{0};
  std::thread writer([&] {
    while (step.load() != 1) std::this_thread::yield();
    c.insert(x, 1);  // the policy lock is held by invalidate_if: the add event stays queued
    step.store(2);
  });
  const std::size_t removed = c.invalidate_if([&](const int& k, const int&) {
    if (k == y) {
      step.store(1);
      while (step.load() != 2) std::this_thread::yield();
      return false;
    }
    return k == x;
  });
  writer.join();
  REQUIRE(removed == 1);
  c.run_pending_tasks();
  REQUIRE_FALSE(c.contains(x));
  REQUIRE(c.entry_count() == 1);
  for (int k = 1000; k < 1300; ++k) c.insert(k, k);
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 100);
}

TEST_CASE("readers without a shared lock: more threads than stripes, writers on the same shards",
          "[cache][concurrent]") {
  // Two shards, so readers and writers meet on every shard; more reader threads than read
  // stripes (four per hardware thread, at most 64), so some share a stripe and take the
  // shard's read lock. A value is always key * 1000 + version: a reader that saw a half-written
  // or freed entry would read something else (and ASan or TSan would say so).
  frugal::cache<int, long> c({.max_capacity = 200, .shards = 2, .write_buffer = 16});
  const unsigned readers = std::min(2 * 4 * std::max(1u, std::thread::hardware_concurrency()), 80u);
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0}, seen{0};
  std::vector<std::thread> threads;
  for (unsigned r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const int k = static_cast<int>((static_cast<unsigned>(i) * 7 + r) % 300);
        if (i % 2 == 0) {
          if (auto v = c.get(k)) {
            if (*v / 1000 != k) bad.fetch_add(1);
            seen.fetch_add(1, std::memory_order_relaxed);
          }
        } else {
          c.visit(k, [&](const long& v) {
            if (v / 1000 != k) bad.fetch_add(1);
          });
        }
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 4000; ++i) {
        const int k = (i * 13 + w) % 300;
        if (i % 5 == 0) {
          c.invalidate(k);
        } else {
          c.insert(k, static_cast<long>(k) * 1000 + i % 1000);
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  stop.store(true);
  for (auto& t : threads) t.join();
  REQUIRE(bad.load() == 0);
  c.run_pending_tasks();
  REQUIRE(c.entry_count() <= 200);
  // Every hit is counted once, recorded or dropped.
  const auto before = c.stats();
  int hits = 0;
  for (int k = 0; k < 300; ++k) hits += c.get(k) ? 1 : 0;
  const auto after = c.stats();
  REQUIRE(after.hits - before.hits == static_cast<std::uint64_t>(hits));
  REQUIRE(after.misses - before.misses == static_cast<std::uint64_t>(300 - hits));
}

namespace {

// Starts `waiter` and returns once it has missed in `c` (its miss counted) and had time to
// queue on the load in flight: `misses` is the count the waiter's miss makes.
template <class Cache, class F>
std::thread start_waiter(Cache& c, std::uint64_t misses, F waiter) {
  std::thread t(std::move(waiter));
  while (c.stats().misses < misses) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);
  return t;
}

}  // namespace

TEST_CASE("zero capacity and a throwing listener: a load's waiters still get its value",
          "[cache][concurrent]") {
  // The owner's store tells the listener only once the waiters have the value, so its
  // exception reaches the owner alone (a get_all's waiters were once left waiting for ever).
  for (int mode = 0; mode < 2; ++mode) {
    CAPTURE(mode);
    bool coalesced = false;
    for (int attempt = 0; attempt < 20 && !coalesced; ++attempt) {
      int_cache c({.max_capacity = 0,
                   .eviction_listener = [](const int&, const std::shared_ptr<const int>&,
                                           frugal::removal_cause) {
                     throw std::runtime_error("listener");
                   }});
      const int key = 1;
      std::atomic<bool> waiter_loaded{false};
      std::shared_ptr<const int> waiter_got;
      std::string waiter_error;
      std::thread waiter;
      auto hold = [&] {
        waiter = start_waiter(c, 2, [&] {
          try {
            waiter_got = c.get_with(key, [&] {
              waiter_loaded = true;
              return 2;
            });
          } catch (const std::exception& e) {
            waiter_error = e.what();
          }
        });
      };
      std::string owner_error;
      try {
        if (mode == 0) {
          c.get_with(key, [&] {
            hold();
            return 1;
          });
        } else {
          c.get_all(std::span<const int>(&key, 1), [&](std::span<const int> ks) {
            hold();
            return std::vector<std::optional<int>>(ks.size(), 1);
          });
        }
      } catch (const std::runtime_error& e) {
        owner_error = e.what();
      }
      waiter.join();
      REQUIRE(owner_error == "listener");
      if (!waiter_loaded) {  // it waited for the owner's load (not late enough to load itself)
        coalesced = true;
        REQUIRE(waiter_error.empty());
        REQUIRE(waiter_got);
        REQUIRE(*waiter_got == 1);
      }
      REQUIRE(c.stats().load_failures == 0);
    }
    REQUIRE(coalesced);
  }
}

TEST_CASE("a failing load's exception reaches each of its waiters, its loader having run once",
          "[cache][concurrent]") {
  // Waiters that are known to wait (start_waiter) on the load of a get_with (mode 0) or of a
  // get_all's batch call (mode 1) that throws: each gets that exception, none runs its own
  // loader, one failure is counted and nothing is cached.
  for (int mode = 0; mode < 2; ++mode) {
    CAPTURE(mode);
    bool coalesced = false;
    for (int attempt = 0; attempt < 20 && !coalesced; ++attempt) {
      int_cache c({.max_capacity = 100});
      const int key = 5;
      constexpr int n = 3;
      std::atomic<int> own_loads{0};
      std::vector<std::string> errors(n);
      std::vector<std::thread> waiters;
      auto hold = [&] {
        for (int i = 0; i < n; ++i) {
          waiters.push_back(start_waiter(c, static_cast<std::uint64_t>(2 + i), [&, i] {
            try {
              c.get_with(key, [&] {
                own_loads.fetch_add(1);
                return 2;
              });
            } catch (const std::runtime_error& e) {
              errors[static_cast<std::size_t>(i)] = e.what();
            }
          }));
        }
      };
      // The owner keeps the exception until the waiters are joined and reads it only then:
      // the threads share one exception object, whose reference count lives in the
      // uninstrumented C++ runtime, so ThreadSanitizer would not see that a waiter's release
      // of it came after the owner's read.
      std::exception_ptr owner_got;
      try {
        if (mode == 0) {
          c.get_with(key, [&]() -> int {
            hold();
            throw std::runtime_error("db down");
          });
        } else {
          c.get_all(std::span<const int>(&key, 1),
                    [&](std::span<const int>) -> std::vector<std::optional<int>> {
                      hold();
                      throw std::runtime_error("db down");
                    });
        }
      } catch (const std::runtime_error&) {
        owner_got = std::current_exception();
      }
      for (auto& t : waiters) t.join();
      std::string owner_error;
      try {
        if (owner_got) std::rethrow_exception(owner_got);
      } catch (const std::runtime_error& e) {
        owner_error = e.what();
      }
      REQUIRE(owner_error == "db down");
      if (own_loads.load() != 0) continue;  // a waiter came after the failure: try again
      coalesced = true;
      for (const std::string& e : errors) REQUIRE(e == "db down");
      const frugal::cache_stats st = c.stats();
      REQUIRE(st.loads == 0);
      REQUIRE(st.load_failures == 1);
      REQUIRE(st.misses == 1 + n);
      REQUIRE(st.hits == 0);
      REQUIRE_FALSE(c.contains(key));
      REQUIRE(*c.get_with(key, [] { return 9; }) == 9);  // the next caller loads again
      REQUIRE(c.stats().loads == 1);
    }
    REQUIRE(coalesced);
  }
}

TEST_CASE("total_load_time adds the time spent in loaders and batch functions, failed or not",
          "[cache]") {
  // By std::chrono::steady_clock, not the options' clock (held still here).
  fake_clock t;
  int_cache c({.max_capacity = 100, .clock = t.fn()});
  REQUIRE(c.stats().total_load_time == 0ns);
  auto slow = [](int v) {
    std::this_thread::sleep_for(5ms);
    return v;
  };
  c.get_with(1, [&] { return slow(1); });
  const auto one = c.stats().total_load_time;
  REQUIRE(one >= 5ms);
  c.get(1);  // a hit adds nothing
  REQUIRE(c.stats().total_load_time == one);
  const int keys[] = {2, 3};
  c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
    std::vector<std::optional<int>> out;
    for (int k : ks) out.emplace_back(slow(k));
    return out;
  });
  const auto two = c.stats().total_load_time;
  REQUIRE(two >= one + 10ms);
  CHECK_THROWS_AS(c.get_with(4,
                             [&]() -> int {
                               slow(0);
                               throw std::runtime_error("down");
                             }),
                  std::runtime_error);
  REQUIRE(c.stats().total_load_time >= two + 5ms);
  REQUIRE(c.stats().loads == 2);
  REQUIRE(c.stats().load_failures == 1);
}

TEST_CASE("while another thread holds the maintenance, the table holds at most the capacity "
          "plus write_buffer entries",
          "[cache][concurrent]") {
  // The maintenance of a cache with expiry reads the clock under the policy lock: a clock
  // that stops there for one thread holds the lock, and writers can only queue their events.
  for (const std::size_t buffer : {2u, 5u, 64u}) {
    CAPTURE(buffer);
    constexpr std::uint64_t cap = 16;
    std::atomic<std::thread::id> stopped{};
    std::atomic<bool> stop_next{false};
    std::binary_semaphore inside(0), go_on(0);
    int_cache c({.max_capacity = cap,
                 .time_to_live = 1h,
                 .clock =
                     [&] {
                       if (stop_next.load() && std::this_thread::get_id() == stopped.load()) {
                         stop_next = false;
                         inside.release();
                         go_on.acquire();
                       }
                       return std::chrono::steady_clock::time_point(1s);
                     },
                 .write_buffer = buffer});
    for (int k = 1000; k < 1000 + static_cast<int>(cap); ++k) c.insert(k, k);
    c.run_pending_tasks();
    std::thread maintainer([&] {
      stopped = std::this_thread::get_id();
      stop_next = true;
      c.run_pending_tasks();
    });
    inside.acquire();  // the maintainer holds the policy lock
    std::atomic<int> inserted{0};
    std::thread writer([&] {
      for (int k = 0; k < 500; ++k) {
        c.insert(k, k);
        inserted.fetch_add(1);
      }
    });
    // The writer stops once its events fill the buffer; give it time to get there.
    int last = -1;
    for (int i = 0, steady = 0; i < 1000 && steady < 5; ++i) {
      std::this_thread::sleep_for(10ms);
      const int now = inserted.load();
      steady = now > 0 && now == last ? steady + 1 : 0;
      last = now;
    }
    // Every insert counted before the sweep is in the table (nothing can be evicted while the
    // maintenance is held); a writer that was only slow may store more during it.
    const auto before = static_cast<std::uint64_t>(inserted.load());
    std::uint64_t held = 0;
    for (int k = 0; k < 500; ++k) held += c.contains(k) ? 1 : 0;
    for (int k = 1000; k < 1000 + static_cast<int>(cap); ++k) held += c.contains(k) ? 1 : 0;
    CAPTURE(before, inserted.load(), held);
    CHECK(before > 0);
    CHECK(inserted.load() < 500);
    CHECK(held >= cap + before);
    CHECK(held <= cap + buffer);
    go_on.release();
    maintainer.join();
    writer.join();
    c.run_pending_tasks();
    CHECK(c.entry_count() == cap);
  }
}

TEST_CASE("get_with that waited for a load that found nothing runs its own loader",
          "[cache][concurrent]") {
  // optionally_get_with's std::nullopt and a get_all key the batch did not find end their
  // load with no value; a get_with waiting for it then loads, and never returns nullptr.
  for (int mode = 0; mode < 2; ++mode) {
    CAPTURE(mode);
    int_cache c({.max_capacity = 10});
    const int key = 3;
    std::atomic<int> waiter_loads{0};
    std::shared_ptr<const int> waiter_got;
    std::thread waiter;
    auto hold = [&] {
      waiter = start_waiter(c, 2, [&] {
        waiter_got = c.get_with(key, [&] {
          waiter_loads.fetch_add(1);
          return 30;
        });
      });
    };
    if (mode == 0) {
      REQUIRE_FALSE(c.optionally_get_with(key, [&]() -> std::optional<int> {
        hold();
        return std::nullopt;
      }));
    } else {
      auto got = c.get_all(std::span<const int>(&key, 1), [&](std::span<const int> ks) {
        hold();
        return std::vector<std::optional<int>>(ks.size());
      });
      REQUIRE_FALSE(got[0]);
    }
    waiter.join();
    REQUIRE(waiter_got);
    REQUIRE(*waiter_got == 30);
    REQUIRE(waiter_loads.load() == 1);
    REQUIRE(*c.get(key) == 30);
  }
}

namespace {

// Hashes an int to itself, so that a test can tell which of two shards a key is in.
struct identity_hash {
  std::size_t operator()(int k) const noexcept { return static_cast<std::size_t>(k); }
};

// With two shards, a key's shard is the top bit of its mixed hash.
bool shard_bit(int k) {
  return (frugal::detail::cache::mix(static_cast<std::uint64_t>(k)) >> 63) != 0;
}

// The first key from `from` on that is not in `other`'s shard.
int key_apart_from(int other, int from) {
  while (shard_bit(from) == shard_bit(other)) ++from;
  return from;
}

}  // namespace

TEST_CASE("a throwing listener told of the maintenance that made room for a write: the write "
          "is done first",
          "[cache][concurrent]") {
  // write_buffer 3 fills while another thread holds the policy lock (invalidate_if's
  // predicate runs under it, and under the write lock of the shard it looks at: the keys
  // written meanwhile are in the other shard); the next write must empty the buffer first,
  // and that maintenance removes `doomed`, whose notification throws. The write is still
  // done, and its caller gets the exception.
  using cache_t = frugal::cache<int, int, identity_hash>;
  const int held = 5000;
  const int doomed = key_apart_from(held, 1000);
  const int a = key_apart_from(held, doomed + 1);
  const int b = key_apart_from(held, a + 1);
  for (int mode = 0; mode < 3; ++mode) {
    CAPTURE(mode);
    cache_t c({.max_capacity = 10,
               .eviction_listener = [doomed](const int& k, const std::shared_ptr<const int>&,
                                             frugal::removal_cause) {
                 if (k == doomed) throw std::runtime_error("listener");
               },
               .shards = 2,
               .write_buffer = 3});
    c.insert(doomed, 0);
    c.insert(held, 0);
    c.run_pending_tasks();
    std::atomic<bool> in_pred{false}, release{false};
    std::thread holder([&] {
      c.invalidate_if([&](const int& k, const int&) {
        if (k == held) {
          in_pred = true;
          while (!release.load()) std::this_thread::yield();
        }
        return false;
      });
    });
    while (!in_pred.load()) std::this_thread::yield();
    c.insert(a, 1);  // queued: the holder has the policy lock
    if (mode == 2) c.insert(b, 2);
    REQUIRE(c.invalidate(doomed));  // queued too
    release = true;
    holder.join();
    std::string error;
    try {
      if (mode == 0) c.insert(b, 2);
      if (mode == 1) c.get_with(b, [] { return 2; });
      if (mode == 2) c.invalidate(a);
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
    REQUIRE(error == "listener");
    REQUIRE(c.contains(b));
    REQUIRE(c.contains(a) == (mode != 2));
    c.run_pending_tasks();
    REQUIRE(c.stats().invalidated == (mode == 2 ? 2u : 1u));
  }
}

TEST_CASE("invalidate of an entry past its deadline finds nothing and reports it expired",
          "[cache]") {
  fake_clock clock;
  heard h;
  int_cache c({.max_capacity = 10,
               .time_to_live = 100ns,
               .clock = clock.fn(),
               .eviction_listener = h.fn()});
  c.insert(1, 1);
  clock.advance(200ns);
  REQUIRE_FALSE(c.get(1));
  REQUIRE_FALSE(c.invalidate(1));
  c.run_pending_tasks();
  REQUIRE(h.events.size() == 1);
  REQUIRE(std::get<2>(h.events[0]) == frugal::removal_cause::expired);
  REQUIRE(c.stats().invalidated == 0);
  REQUIRE(c.stats().evicted_expired == 1);
}

TEST_CASE("every write that reaches an entry past its deadline tells it expired", "[cache]") {
  fake_clock clock;
  heard h;
  int_cache c({.max_capacity = 10,
               .time_to_live = 100ns,
               .clock = clock.fn(),
               .eviction_listener = h.fn()});
  for (int k = 1; k <= 4; ++k) c.insert(k, k);
  c.run_pending_tasks();
  clock.advance(200ns);
  c.insert(1, 10);  // over an expired entry: expired, not replaced
  int asked = 0;
  REQUIRE(c.invalidate_if([&](const int&, const int&) {
            ++asked;
            return true;
          }) == 1);  // matches the new 1 only: the expired 2, 3, 4 are not offered
  REQUIRE(asked == 1);
  c.insert(5, 5);
  clock.advance(200ns);
  c.invalidate_all();
  c.run_pending_tasks();
  std::vector<std::tuple<int, int, frugal::removal_cause>> got = h.events;
  std::sort(got.begin(), got.end());
  using rc = frugal::removal_cause;
  REQUIRE(got == std::vector<std::tuple<int, int, rc>>{{1, 1, rc::expired},
                                                       {1, 10, rc::invalidated},
                                                       {2, 2, rc::expired},
                                                       {3, 3, rc::expired},
                                                       {4, 4, rc::expired},
                                                       {5, 5, rc::expired}});
  REQUIRE(c.stats().invalidated == 1);
  REQUIRE(c.stats().replaced == 0);
  REQUIRE(c.stats().evicted_expired == 5);
  REQUIRE(c.entry_count() == 0);
}

namespace {

// Values of two caches of one type: those of the first insert into the second when they are
// destroyed; `live_in_second` counts the second's values still alive.
struct relay_value;
using relay_cache = frugal::cache<int, relay_value>;
long live_in_second = 0;
struct relay_value {
  int v;
  relay_cache* forward_to;
  relay_value(int x, relay_cache* to) : v(x), forward_to(to) {
    if (to == nullptr) ++live_in_second;
  }
  relay_value(const relay_value&) = delete;
  relay_value& operator=(const relay_value&) = delete;
  ~relay_value() {
    if (forward_to == nullptr) {
      --live_in_second;
    } else {
      forward_to->insert(v, v, nullptr);
    }
  }
};

}  // namespace

TEST_CASE("a destructor writing into a second cache of the same type lets that cache free",
          "[cache]") {
  // Only a maintenance of the cache being freed hands nothing over: the second cache's own
  // maintenances, run inside the first one's frees, free its evicted values.
  live_in_second = 0;
  relay_cache second({.max_capacity = 10});
  {
    relay_cache first({.max_capacity = 10});
    for (int i = 0; i < 2000; ++i) first.insert(i, i, &second);
    first.run_pending_tasks();
    // The second cache holds 10 values; the one or two maintenances' worth it has retired
    // since its last free wait for the next one, not 1,970 of them.
    REQUIRE(second.stats().evicted_size > 1900);
    REQUIRE(live_in_second <= 10 + 4);
  }
  second.run_pending_tasks();
  REQUIRE(live_in_second == static_cast<long>(second.entry_count()));
}

TEST_CASE("writes a loader or batch function makes itself are told once its load is done",
          "[cache]") {
  bool in_call = false;
  std::vector<bool> told_in_call;
  int_cache c({.max_capacity = 1, .eviction_listener = [&](const int&,
                                                           const std::shared_ptr<const int>&,
                                                           frugal::removal_cause) {
                 told_in_call.push_back(in_call);
               }});
  auto write_two = [&] {
    in_call = true;
    c.insert(100, 1);
    c.insert(101, 2);
    c.run_pending_tasks();  // one of them leaves for size, told now
    in_call = false;
  };
  const std::vector<int> keys{1, 2};
  c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
    write_two();
    return std::vector<std::optional<int>>(ks.begin(), ks.end());
  });
  // The listener waited for the loads: told after the batch function returned.
  REQUIRE(told_in_call.size() >= 2);  // 100 or 101 for size, keys 1 and 2 for size
  REQUIRE(std::count(told_in_call.begin(), told_in_call.end(), true) == 0);
  told_in_call.clear();
  c.get_with(3, [&] {
    write_two();
    return 3;
  });
  REQUIRE(told_in_call.size() >= 2);
  REQUIRE(std::count(told_in_call.begin(), told_in_call.end(), true) == 0);
  REQUIRE(c.stats().evicted_size == told_in_call.size() + 3);  // + the get_all's
}

TEST_CASE("a batch function's own invalidation is told once, after the get_all", "[cache]") {
  // The get_all's own stores run no maintenance (room in the write buffer): only what the
  // batch function's write removed is told, once every key is done.
  bool in_batch = false;
  std::vector<std::pair<int, bool>> told;  // key, told within the batch function
  int_cache c({.max_capacity = 100,
               .eviction_listener =
                   [&](const int& k, const std::shared_ptr<const int>&, frugal::removal_cause) {
                     told.emplace_back(k, in_batch);
                   }});
  c.insert(50, 50);
  const std::vector<int> keys{1, 2};
  auto got = c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
    in_batch = true;
    REQUIRE(c.invalidate(50));
    in_batch = false;
    return std::vector<std::optional<int>>(ks.begin(), ks.end());
  });
  REQUIRE((*got[0] == 1 && *got[1] == 2));
  REQUIRE(told == std::vector<std::pair<int, bool>>{{50, false}});
  c.run_pending_tasks();
  REQUIRE(told.size() == 1);
  REQUIRE(c.stats().invalidated == 1);
}

TEST_CASE("at zero capacity a loader's own insert is told once the load is done", "[cache]") {
  // The listener asks for the key being loaded: within the loader's insert that would be
  // this thread's own load in flight (std::logic_error); after the load it is a new load.
  bool in_loader = false;
  int told_in_loader = 0, told = 0;
  int_cache* self = nullptr;
  std::vector<int> got_in_listener;
  int_cache c({.max_capacity = 0,
               .eviction_listener =
                   [&](const int& k, const std::shared_ptr<const int>&, frugal::removal_cause) {
                     ++told;
                     if (in_loader) ++told_in_loader;
                     if (k == 100) got_in_listener.push_back(*self->get_with(1, [] { return 7; }));
                   }});
  self = &c;
  auto v = c.get_with(1, [&] {
    in_loader = true;
    c.insert(100, 100);  // not stored: told as evicted for size, after the load
    in_loader = false;
    return 1;
  });
  REQUIRE(*v == 1);
  REQUIRE(told_in_loader == 0);
  REQUIRE(got_in_listener == std::vector<int>{7});  // key 1 was not stored: loaded again
  REQUIRE(told == 3);  // 100, the loaded 1, the listener's own load of 1
  REQUIRE(c.stats().evicted_size == 3);
}

namespace {

// A value whose destructor asks for key 1 with get_with, noting whether key 1's load was
// still running then.
struct asks_for_one;
using asks_cache = frugal::cache<int, asks_for_one>;
asks_cache* asks_target = nullptr;
bool loading_one = false;
int freed_before = 0, asked_while_loading = 0, asked_after = 0, asks_refused = 0;
struct asks_for_one {
  int n;
  bool asks;
  explicit asks_for_one(int v, bool a = false) : n(v), asks(a) {}
  asks_for_one(asks_for_one&& o) noexcept : n(o.n), asks(std::exchange(o.asks, false)) {}
  asks_for_one& operator=(asks_for_one&&) = delete;
  ~asks_for_one() {
    if (!asks) return;
    if (asks_target == nullptr) {
      ++freed_before;
      return;
    }
    (loading_one ? asked_while_loading : asked_after) += 1;
    try {
      asks_target->get_with(1, [] { return asks_for_one(-1); });
    } catch (const std::logic_error&) {
      ++asks_refused;
    }
  }
};

}  // namespace

TEST_CASE("values a loader's own writes retire are freed after its load, so they may load its key",
          "[cache]") {
  // The loader of key 1 writes; its writes' maintenances retire values whose destructors ask
  // for key 1. Freed within those writes, they would find key 1 in flight on their own
  // thread (std::logic_error); they are freed once the load is done, and find it stored.
  asks_cache c({.max_capacity = 100, .write_buffer = 2});
  freed_before = asked_while_loading = asked_after = asks_refused = 0;
  for (int k = 10; k < 14; ++k) {
    c.insert(k, k, true);
    c.invalidate(k);  // retired: freed at least one maintenance later
  }
  asks_target = &c;  // the values not freed yet ask from now on
  const auto v = c.get_with(1, [&] {
    loading_one = true;
    for (int k = 20; k < 30; ++k) c.insert(k, k);  // maintenances: write_buffer is 2
    c.run_pending_tasks();
    loading_one = false;
    return asks_for_one(1);
  });
  REQUIRE(v->n == 1);
  c.run_pending_tasks();  // frees what waited for the load, if nothing did yet
  asks_target = nullptr;
  REQUIRE(asked_while_loading == 0);
  REQUIRE(asked_after >= 1);  // the last invalidation's value at least was still retired
  REQUIRE(freed_before + asked_after == 4);
  REQUIRE(asks_refused == 0);
  REQUIRE(c.get(1)->n == 1);  // the destructors' get_with found the loaded value
  REQUIRE(c.stats().loads == 1);
}

TEST_CASE("a get_all tells the listener once every key is done, so it may load any of them",
          "[cache]") {
  // With zero capacity each stored key is told to the listener as evicted; the listener
  // waits until the call's last key is stored, so none of them is in flight any more.
  int calls = 0;
  std::vector<int> calls_when_told;
  std::vector<int> loaded_in_listener;
  int_cache* self = nullptr;
  int_cache c({.max_capacity = 0,
               .eviction_listener =
                   [&](const int& k, const std::shared_ptr<const int>&, frugal::removal_cause) {
                     calls_when_told.push_back(calls);
                     if (k != 1) return;
                     loaded_in_listener.push_back(*self->get_with(2, [] { return -1; }));
                   },
               .max_batch = 1});
  self = &c;
  const std::vector<int> keys{1, 2};
  auto got = c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
    ++calls;
    std::vector<std::optional<int>> out;
    for (int k : ks) out.emplace_back(k * 10);
    return out;
  });
  REQUIRE(*got[0] == 10);
  REQUIRE(*got[1] == 20);
  REQUIRE(calls == 2);
  // Told of keys 1 and 2 after both batch calls, then of the listener's own load of 2.
  REQUIRE(calls_when_told == std::vector<int>{2, 2, 2});
  REQUIRE(loaded_in_listener == std::vector<int>{-1});  // nothing is kept at zero capacity
}

TEST_CASE("invalidate_if whose pred throws removes everything it matched before the throw",
          "[cache]") {
  const std::size_t shards = GENERATE(std::size_t{1}, std::size_t{64});
  const int throw_at = GENERATE(1, 2, 50, 100);
  CAPTURE(shards, throw_at);
  heard h;
  int_cache c({.max_capacity = 1000, .eviction_listener = h.fn(), .shards = shards});
  for (int i = 0; i < 100; ++i) c.insert(i, i);
  c.run_pending_tasks();
  int calls = 0;
  std::set<int> matched;
  REQUIRE_THROWS_WITH(c.invalidate_if([&](const int& k, const int&) {
    if (++calls == throw_at) throw std::runtime_error("pred");
    if (k % 2 == 0) matched.insert(k);
    return k % 2 == 0;
  }),
                      "pred");
  for (int i = 0; i < 100; ++i) {
    CAPTURE(i);
    REQUIRE(c.contains(i) == (matched.count(i) == 0));
  }
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 100 - matched.size());
  REQUIRE(h.count(frugal::removal_cause::invalidated) == matched.size());
  REQUIRE(c.stats().invalidated == matched.size());
  if (throw_at == 50 && shards == 1) REQUIRE(matched.size() > 10);
}

TEST_CASE("a clock that throws in an insert's maintenance throws after the store", "[cache]") {
  // The insert reads the clock once for its deadline, and its maintenance once more to expire.
  auto calls = std::make_shared<int>(0);
  auto throw_on = std::make_shared<int>(0);
  int_cache c({.max_capacity = 10,
               .time_to_live = 1h,
               .clock = [calls, throw_on] {
                 if (++*calls == *throw_on) throw std::runtime_error("clock");
                 return std::chrono::steady_clock::time_point(std::chrono::seconds(1));
               }});
  c.insert(1, 1);
  *calls = 0;
  *throw_on = 1;  // the deadline: nothing is stored
  REQUIRE_THROWS_WITH(c.insert(2, 2), "clock");
  REQUIRE(!c.contains(2));
  *calls = 0;
  *throw_on = 2;  // the maintenance, after the store
  REQUIRE_THROWS_WITH(c.insert(3, 3), "clock");
  REQUIRE(c.contains(3));
  REQUIRE(*c.get(3) == 3);
  *throw_on = 0;
  c.run_pending_tasks();
  REQUIRE(c.entry_count() == 2);
}

TEST_CASE("a loaded value heavier than the bound reaches every waiter as invalid_argument",
          "[cache][concurrent]") {
  bool coalesced = false;
  for (int attempt = 0; attempt < 20 && !coalesced; ++attempt) {
    int_cache c({.max_capacity = 10, .weigher = [](const int&, const int& v) {
                   return static_cast<std::uint32_t>(v);
                 }});
    std::atomic<bool> waiter_loaded{false};
    // Both hold the (shared) exception until the waiter is joined: its count lives in
    // libstdc++, out of TSan's sight, so a free in one thread would look like a race.
    std::exception_ptr waiter_held, owner_held;
    std::string waiter_error;
    std::thread waiter;
    std::string owner_error;
    try {
      c.get_with(1, [&] {
        waiter = start_waiter(c, 2, [&] {
          try {
            c.get_with(1, [&] {
              waiter_loaded = true;
              return 50;
            });
          } catch (const std::invalid_argument& e) {
            waiter_held = std::current_exception();
            waiter_error = e.what();
          }
        });
        return 11;  // heavier than max_capacity
      });
    } catch (const std::invalid_argument&) {
      owner_held = std::current_exception();
    }
    waiter.join();
    try {
      if (owner_held) std::rethrow_exception(owner_held);
    } catch (const std::invalid_argument& e) {
      owner_error = e.what();
    }
    REQUIRE(!owner_error.empty());
    if (!waiter_loaded) {
      coalesced = true;
      REQUIRE(waiter_error == owner_error);
      REQUIRE(c.stats().loads == 1);
      REQUIRE(c.stats().load_failures == 0);
    }
    REQUIRE(!c.contains(1));
    REQUIRE(*c.get_with(1, [] { return 3; }) == 3);  // nothing left in flight
  }
  REQUIRE(coalesced);
}
