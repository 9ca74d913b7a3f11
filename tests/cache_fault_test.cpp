// cache under allocation failure. This program replaces operator new with one that fails the
// k-th allocation of the calling thread; every write is run with k = 0, 1, 2, ... until it
// completes. A write that throws std::bad_alloc, whether its own store or the maintenance it
// ran failed, must leave the cache whole: every removal the statistics count reaches the
// listener exactly once, no value is freed while the cache still holds it, the bound holds
// after run_pending_tasks(), and nothing leaks (LeakSanitizer checks at exit).
#define CATCH_CONFIG_MAIN
#include <frugal/cache.hpp>

#include <catch2/catch.hpp>

#include "failing_new.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <span>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr int max_serials = 1 << 16;

// Per value (by serial number): how often it was built, destroyed and told to the listener.
// Fixed arrays, so that the bookkeeping itself never allocates.
struct ledger {
  using counts = std::array<std::atomic<int>, max_serials>;
  counts built_{}, destroyed_{}, told_{};
  std::atomic<int> next{0};

  static std::atomic<int>& at(counts& c, int serial) { return c[static_cast<std::size_t>(serial)]; }
  std::atomic<int>& built(int s) { return at(built_, s); }
  std::atomic<int>& destroyed(int s) { return at(destroyed_, s); }
  std::atomic<int>& told(int s) { return at(told_, s); }

  void reset() {
    for (int i = 0; i < max_serials; ++i) built(i) = destroyed(i) = told(i) = 0;
    next = 0;
  }
  int alive() {
    int n = 0;
    for (int i = 0; i < next; ++i) n += built(i) - destroyed(i);
    return n;
  }
  int told_total() {
    int n = 0;
    for (int i = 0; i < next; ++i) n += told(i);
    return n;
  }
};
ledger book;

// A value with a serial number; a move hands the serial on (the moved-from object has none),
// a copy gets a new one.
struct tracked {
  int serial;
  explicit tracked(int s) : serial(s) {
    if (serial >= max_serials) std::abort();
    ++book.built(serial);
  }
  tracked(tracked&& o) noexcept : serial(std::exchange(o.serial, -1)) {}
  tracked(const tracked&) : tracked(book.next++) {}
  tracked& operator=(const tracked&) = delete;
  tracked& operator=(tracked&&) = delete;
  ~tracked() {
    if (serial >= 0) ++book.destroyed(serial);
  }
};

using cache_type = frugal::cache<int, tracked>;
using options = frugal::cache_options<int, tracked>;

std::uint64_t removals(const frugal::cache_stats& s) {
  return s.evicted_size + s.evicted_expired + s.replaced + s.invalidated;
}

// What must hold after any write, failed or not, once run_pending_tasks() has run without a
// failure.
void check_whole(cache_type& c, std::uint64_t capacity) {
  c.run_pending_tasks();
  REQUIRE(c.entry_count() <= capacity);
  REQUIRE(static_cast<std::uint64_t>(book.told_total()) == removals(c.stats()));
  REQUIRE(book.alive() == static_cast<int>(c.entry_count()));
  for (int i = 0; i < book.next; ++i) {
    REQUIRE(book.built(i) <= 1);
    REQUIRE(book.destroyed(i) <= book.built(i));
    REQUIRE(book.told(i) <= 1);
  }
}

// Runs `op` failing its k-th allocation for k = 0, 1, ... until it completes, checking the
// cache after every attempt. Returns how many attempts failed after `late()` became true.
template <class Op, class Late>
long until_done(cache_type& c, std::uint64_t capacity, Op op, Late late) {
  long late_failures = 0;
  for (long k = 0;; ++k) {
    bool threw = false;
    countdown = k;
    try {
      op();
    } catch (const std::bad_alloc&) {
      threw = true;
      late_failures += late();
    }
    countdown = -1;
    // Every removal counted so far has been told, even by a write that failed part-way.
    REQUIRE(static_cast<std::uint64_t>(book.told_total()) == removals(c.stats()));
    check_whole(c, capacity);
    if (!threw) return late_failures;
  }
}

}  // namespace

TEST_CASE(
    "a write whose store or maintenance cannot allocate loses no removal and frees no "
    "held value",
    "[cache]") {
  book.reset();
  const bool with_ttl = GENERATE(false, true);
  CAPTURE(with_ttl);
  std::int64_t now_ns = 1'000;
  constexpr std::uint64_t capacity = 8;
  options o{.max_capacity = capacity,
            .eviction_listener = [](const int&, const std::shared_ptr<const tracked>& v,
                                    frugal::removal_cause) { ++book.told(v->serial); },
            .shards = 2,
            .write_buffer = 4};
  if (with_ttl) {
    o.time_to_live = std::chrono::nanoseconds(120);
    o.clock = [&now_ns] {
      return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now_ns));
    };
  }
  std::vector<int> completed;  // values whose insert returned: each is told exactly once
  long late_failures = 0;      // inserts that failed after building their value
  {
    cache_type c(o);
    for (int step = 0; step < 120; ++step) {
      const int key = (step * 7) % 23;  // replacements as well as evictions
      int serial = -1;
      late_failures += until_done(
          c, capacity,
          [&] {
            serial = book.next++;
            c.insert(key, serial);
          },
          [&] { return book.built(serial) == 1; });
      completed.push_back(serial);
      now_ns += 10;
    }
    // Removals by invalidate_if fail part-way too: those done before the failure stay done.
    const auto before = c.stats().invalidated;
    const long invalidate_failures = until_done(
        c, capacity,
        [&] { c.invalidate_if([](const int& k, const tracked&) { return k % 2 == 0; }); },
        [&] { return c.stats().invalidated > before; });
    REQUIRE(invalidate_failures > 0);  // some failed after removing entries
    REQUIRE(c.stats().evicted_size > 0);
    REQUIRE(c.stats().replaced > 0);
    if (with_ttl) REQUIRE(c.stats().evicted_expired > 0);
    c.invalidate_all();
    c.run_pending_tasks();
    REQUIRE(c.entry_count() == 0);
    REQUIRE(book.alive() == 0);
    REQUIRE(static_cast<std::uint64_t>(book.told_total()) == removals(c.stats()));
  }
  for (int s : completed) REQUIRE(book.told(s) == 1);
  for (int i = 0; i < book.next; ++i) REQUIRE(book.destroyed(i) == book.built(i));
  // The failures reached the table and the maintenance, not only the entry's own allocation.
  INFO("late failures " << late_failures);
  REQUIRE(late_failures > 50);
}

TEST_CASE("readers running beside writes that cannot allocate never see a freed entry",
          "[cache][concurrent]") {
  book.reset();
  constexpr std::uint64_t capacity = 16;
  const bool with_listener = GENERATE(false, true);
  CAPTURE(with_listener);
  options o{.max_capacity = capacity, .shards = 4, .write_buffer = 4};
  if (with_listener) {
    o.eviction_listener = [](const int&, const std::shared_ptr<const tracked>& v,
                             frugal::removal_cause) { ++book.told(v->serial); };
  }
  cache_type c(o);
  std::atomic<bool> stop{false};
  std::atomic<long> seen{0};
  for (int k = 0; k < 16; ++k) c.insert(k, book.next++);
  std::atomic<int> hitting{0};  // readers that have had a hit
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      long local = 0;
      bool told_hit = false;
      for (unsigned i = static_cast<unsigned>(t); !stop.load(std::memory_order_relaxed); ++i) {
        if (auto v = c.get(static_cast<int>(i % 40))) local += v->serial >= 0;
        c.visit(static_cast<int>((i * 3) % 40), [&](const tracked& v) { local += v.serial >= 0; });
        if (local > 0 && !told_hit) {
          told_hit = true;
          ++hitting;
        }
      }
      seen += local;
    });
  }
  // The writes start once both readers read: a fast build could otherwise finish them first.
  while (hitting.load() < 2) std::this_thread::yield();
  for (int step = 0; step < 3000; ++step) {
    for (long k = (step % 5) * 2;; ++k) {
      bool threw = false;
      countdown = k;
      try {
        c.insert(step % 40, book.next++);
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      countdown = -1;
      if (!threw) break;
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  c.run_pending_tasks();
  REQUIRE(c.entry_count() <= capacity);
  REQUIRE(seen.load() > 0);
  if (with_listener) {
    REQUIRE(static_cast<std::uint64_t>(book.told_total()) == removals(c.stats()));
  }
}

TEST_CASE(
    "loads whose store or maintenance cannot allocate leave no load in flight and count "
    "each loader call once",
    "[cache]") {
  constexpr std::uint64_t capacity = 8;
  const options o{.max_capacity = capacity,
                  .eviction_listener = [](const int&, const std::shared_ptr<const tracked>& v,
                                          frugal::removal_cause) { ++book.told(v->serial); },
                  .max_batch = 2,
                  .shards = 2,
                  .write_buffer = 4};
  long calls = 0;     // loader and batch calls
  long returned = 0;  // those that returned
  auto loader = [&] {
    ++calls;
    ++returned;
    return book.next++;
  };
  auto optional_loader = [&] {
    ++calls;
    ++returned;
    return std::optional<tracked>(std::in_place, book.next++);
  };
  auto batch = [&](std::span<const int> keys) {
    ++calls;
    std::vector<std::optional<tracked>> out;
    out.reserve(keys.size());
    for (int k : keys) {
      if (k % 5 == 0) {
        out.emplace_back();  // not found: nothing cached
      } else {
        out.emplace_back(std::in_place, book.next++);
      }
    }
    ++returned;
    return out;
  };
  auto keys_of = [](int step) {
    const int key = (step * 5) % 17;
    return std::vector<int>{key, (key + 3) % 17, (key + 6) % 17, key};
  };
  // Step i: a get_with, an optionally_get_with or a get_all, then the invalidation of a key,
  // so that later steps miss again.
  auto run_step = [&](cache_type& c, int step) {
    const std::vector<int> keys = keys_of(step);
    switch (step % 3) {
      case 0:
        c.get_with(keys[0], loader);
        break;
      case 1:
        c.optionally_get_with(keys[0], optional_loader);
        break;
      default:
        c.get_all(std::span<const int>(keys), batch);
        break;
    }
  };
  long late_failures = 0;  // attempts that failed after a loader or batch call
  // Each step's k-th allocation fails in a cache brought to the same state by replaying the
  // steps before it without failures, so that every allocation of the step is failed once.
  for (int step = 0; step < 30; ++step) {
    for (long k = 0;; ++k) {
      book.reset();
      calls = returned = 0;
      cache_type c(o);
      for (int i = 0; i < step; ++i) {
        run_step(c, i);
        c.invalidate(keys_of(i)[1]);
      }
      const long calls_before = calls;
      bool threw = false;
      countdown = k;
      try {
        run_step(c, step);
      } catch (const std::bad_alloc&) {
        threw = true;
        late_failures += calls > calls_before;
      }
      countdown = -1;
      INFO("step " << step << ", allocation " << k);
      REQUIRE(static_cast<std::uint64_t>(book.told_total()) == removals(c.stats()));
      const frugal::cache_stats st = c.stats();
      REQUIRE(static_cast<long>(st.loads) == returned);  // even if storing the value failed
      REQUIRE(static_cast<long>(st.load_failures) == calls - returned);
      // No load of these keys is left in flight: on this thread it would be reported as a
      // loader asking for its own key (std::logic_error) or wait for ever.
      for (int key : keys_of(step)) REQUIRE_NOTHROW(c.get_with(key, loader));
      check_whole(c, capacity);
      if (!threw) break;
    }
  }
  REQUIRE(late_failures > 30);
}
