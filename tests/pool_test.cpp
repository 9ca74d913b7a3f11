#include <frugal/pool.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using frugal::testing::count_allocations;
using namespace std::chrono_literals;

namespace {

// A clock the tests move by hand, for idle and lifetime expiry.
struct test_clock {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = std::chrono::milliseconds;
  using time_point = std::chrono::time_point<test_clock>;
  [[maybe_unused]] static constexpr bool is_steady = true;
  static inline time_point current{};
  static time_point now() noexcept { return current; }
  static void advance(duration d) noexcept { current += d; }
};

// An object that counts live instances and catches double destruction.
struct conn {
  static inline std::atomic<long> live{0};
  int id;
  const conn* self;
  bool broken = false;
  explicit conn(int i) : id(i), self(this) { ++live; }
  // Pools destroy objects on many threads, where Catch's assertions are not safe: a moved-from
  // or destroyed object that is not what it claims aborts the test process instead.
  conn(conn&& o) noexcept : id(o.id), self(this), broken(o.broken) {
    if (o.self != &o) std::abort();
    ++live;
  }
  conn(const conn&) = delete;
  conn& operator=(const conn&) = delete;
  ~conn() {
    if (self != this) std::abort();
    self = nullptr;
    --live;
  }
};

// A factory numbering its objects, which can be told to fail.
struct counter_factory {
  // Atomics: the pool calls its factory outside its lock, from several threads at once.
  std::shared_ptr<std::atomic<int>> next = std::make_shared<std::atomic<int>>(0);
  // Calls that throw before one succeeds.
  std::shared_ptr<std::atomic<int>> fail_left = std::make_shared<std::atomic<int>>(0);
  // The call (0-based) that throws; -1: none.
  std::shared_ptr<std::atomic<long>> fail_on = std::make_shared<std::atomic<long>>(-1);
  std::shared_ptr<std::atomic<long>> calls = std::make_shared<std::atomic<long>>(0);
  conn operator()() const {
    const long k = (*calls)++;
    if ((*fail_left)-- > 0) {
      throw std::runtime_error("connection refused (attempt " + std::to_string(k) + ")");
    }
    ++*fail_left;
    if (k == *fail_on) throw std::runtime_error("factory fault");
    return conn(++*next);
  }
};

template <class Clock = std::chrono::steady_clock>
using conn_pool = frugal::pool<conn, Clock>;

frugal::pool_options opts(std::size_t max, std::size_t min = 0,
                          std::chrono::milliseconds idle = 0ms,
                          std::chrono::milliseconds life = 0ms,
                          std::chrono::milliseconds timeout = 0ms) {
  frugal::pool_options o;
  o.max_size = max;
  o.min_idle = min;
  o.idle_timeout = idle;
  o.max_lifetime = life;
  o.acquire_timeout = timeout;
  return o;
}

}  // namespace

TEST_CASE("acquire creates, release returns, the next acquire reuses", "[pool]") {
  counter_factory f;
  {
    conn_pool<> p(f, opts(2));
    {
      auto a = p.acquire();
      REQUIRE(a);
      REQUIRE(a->id == 1);
      REQUIRE((*a).id == 1);
      REQUIRE(a.get().id == 1);
      const auto s = p.stats();
      REQUIRE(s.in_use == 1);
      REQUIRE(s.idle == 0);
      REQUIRE(s.created == 1);
      REQUIRE(s.acquired == 1);
      REQUIRE(s.size() == 1);
    }
    auto s = p.stats();
    REQUIRE(s.in_use == 0);
    REQUIRE(s.idle == 1);
    auto b = p.acquire();
    REQUIRE(b->id == 1);
    auto c = p.acquire();
    REQUIRE(c->id == 2);
    s = p.stats();
    REQUIRE(s.created == 2);
    REQUIRE(s.acquired == 3);
    REQUIRE(s.destroyed == 0);
    REQUIRE(conn::live == 2);
  }
  REQUIRE(conn::live == 0);
}

TEST_CASE("idle objects are handed out newest first", "[pool]") {
  counter_factory f;
  conn_pool<> p(f, opts(3));
  auto a = p.acquire();
  auto b = p.acquire();
  auto c = p.acquire();
  b.reset();
  a.reset();
  c.reset();
  REQUIRE(p.acquire()->id == 3);
  auto x = p.acquire();
  REQUIRE(x->id == 3);
  auto y = p.acquire();
  REQUIRE(y->id == 1);
  auto z = p.acquire();
  REQUIRE(z->id == 2);
}

TEST_CASE("a full pool times out with the figures in the message", "[pool]") {
  counter_factory f;
  conn_pool<> p(f, opts(2));
  auto a = p.acquire();
  auto b = p.acquire();
  try {
    (void)p.acquire_for(0ms);
    FAIL("no timeout");
  } catch (const frugal::pool_timeout& e) {
    REQUIRE(std::string(e.what()) ==
            "pool: no object available after 0 ms (2 of 2 in use, 0 waiting)");
    REQUIRE(e.in_use() == 2);
    REQUIRE(e.max_size() == 2);
    REQUIRE(e.waited() == 0ms);
    REQUIRE(e.last_error().empty());
    static_assert(std::is_nothrow_copy_constructible_v<frugal::pool_timeout>);
  }
  REQUIRE_THROWS_AS(p.acquire_for(-5ms), frugal::pool_timeout);
  REQUIRE_THROWS_AS(p.acquire(), frugal::pool_timeout);  // options' timeout is 0 here
  REQUIRE(p.stats().timeouts == 3);
  REQUIRE(p.stats().waiting == 0);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(p.acquire_for(30ms), frugal::pool_timeout);
  REQUIRE(std::chrono::steady_clock::now() - t0 >= 30ms);
  try {
    (void)p.acquire_for(std::chrono::duration<double, std::milli>(20.5));
  } catch (const frugal::pool_timeout& e) {
    REQUIRE(e.waited() >= 20ms);
  }
}

TEST_CASE("bad options are rejected, naming the values", "[pool]") {
  counter_factory f;
  const auto msg = [&](frugal::pool_options o, std::function<conn()> fn) {
    try {
      conn_pool<> p(std::move(fn), o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  REQUIRE(msg(opts(0), f) == "pool: max_size must be at least 1");
  REQUIRE(msg(opts(2, 3), f) == "pool: min_idle 3 > max_size 2");
  REQUIRE(msg(opts(2), nullptr) == "pool: the factory is empty");
  auto o = opts(2);
  o.acquire_timeout = -1ms;
  REQUIRE(msg(o, f) == "pool: acquire_timeout is negative (-1 ms)");
  o = opts(2, 0, -2ms);
  REQUIRE(msg(o, f) == "pool: idle_timeout is negative (-2 ms)");
  o = opts(2, 0, 0ms, -3ms);
  REQUIRE(msg(o, f) == "pool: max_lifetime is negative (-3 ms)");
  REQUIRE(msg(opts(2, 2), f) == "no throw");
  REQUIRE(*f.calls == 0);  // nothing is created by the constructor
}

TEST_CASE("exact allocations: two at construction, none per acquire and release", "[pool][alloc]") {
  conn (*make)() = [] { return conn(7); };
  std::optional<conn_pool<>> p;
  REQUIRE(count_allocations([&] { p.emplace(make, opts(4)); }) == 2);
  // The guide's options: idle and lifetime expiry, so each cycle reads the clock.
  std::optional<conn_pool<>> q;
  q.emplace(make, opts(4, 1, 600'000ms, 1'800'000ms, 3000ms));
  { auto warm = p->acquire(), warm2 = q->acquire(); }
  REQUIRE(count_allocations([&] {
            for (int i = 0; i < 100; ++i) {
              auto a = p->acquire();
              auto b = q->acquire();
              auto c = p->acquire();
              b.discard();  // destroying an object allocates nothing on the pool's part
            }
          }) == 0);
  REQUIRE(count_allocations([&] {
            auto a = p->acquire();
            auto b = std::move(a);
            a = std::move(b);
            (void)p->stats();
            (void)q->reap();
          }) == 0);
  const auto end = frugal::testing::measure_allocations([&] { p.reset(); });
  REQUIRE(end.allocations == 0);
  REQUIRE(end.deallocations == 2);
}

TEST_CASE("a factory that throws is retried until the timeout, its error reported", "[pool]") {
  counter_factory f;
  *f.fail_left = 1'000'000;
  conn_pool<> p(f, opts(2, 0, 0ms, 0ms, 40ms));
  try {
    (void)p.acquire();
    FAIL("no timeout");
  } catch (const frugal::pool_timeout& e) {
    const std::string what = e.what();
    REQUIRE(what.find("pool: no object available after ") == 0);
    REQUIRE(what.find("(0 of 2 in use, 0 waiting); creating one failed: connection refused") !=
            std::string::npos);
    REQUIRE(e.last_error().substr(0, 18) == "connection refused");
    REQUIRE(e.waited() >= 40ms);
  }
  const auto s = p.stats();
  REQUIRE(*f.calls >= 3);  // 5 ms, then 10 ms, then 20 ms apart
  REQUIRE(*f.calls <= 8);
  REQUIRE(s.create_failures == static_cast<std::uint64_t>(*f.calls));
  REQUIRE(s.size() == 0);
  REQUIRE(s.timeouts == 1);
  REQUIRE(p.last_error().substr(0, 18) == "connection refused");
  // The factory recovers: the next acquire succeeds, and timeouts no longer carry the error.
  *f.fail_left = 0;
  auto a = p.acquire();
  auto b = p.acquire();
  try {
    (void)p.acquire_for(0ms);
  } catch (const frugal::pool_timeout& e) {
    REQUIRE(e.last_error().empty());
  }
  REQUIRE(p.stats().created == 2);
}

TEST_CASE("a failing factory is never retried at or after the deadline", "[pool]") {
  // Retries come 5, 10, 20 ms after each failure. A retry due after the deadline must not
  // run when the waiter wakes at the deadline (late, as a loaded machine wakes it): with a
  // 5 ms timeout the only retry is due 5 ms after the first call failed, past the deadline.
  for (int round = 0; round < 10; ++round) {
    counter_factory f;
    *f.fail_left = 1'000'000;
    conn_pool<> p(f, opts(2, 0, 0ms, 0ms, 5ms));
    REQUIRE_THROWS_AS(p.acquire(), frugal::pool_timeout);
    REQUIRE(*f.calls == 1);
  }
  // 5 + 10 ms: the second call is due before a 15 ms deadline, the third after it.
  counter_factory g;
  *g.fail_left = 1'000'000;
  conn_pool<> q(g, opts(2, 0, 0ms, 0ms, 15ms));
  REQUIRE_THROWS_AS(q.acquire(), frugal::pool_timeout);
  REQUIRE(*g.calls >= 1);
  REQUIRE(*g.calls <= 2);
}

TEST_CASE("discard_idle destroys every idle object and leaves lent ones alone", "[pool]") {
  counter_factory f;
  conn_pool<> p(f, opts(4));
  {
    auto a = p.acquire();
    auto b = p.acquire();
    auto c = p.acquire();
  }
  auto held = p.acquire();  // the newest idle one, lent out
  REQUIRE(p.stats().idle == 2);
  REQUIRE(p.discard_idle() == 2);
  REQUIRE(p.stats().idle == 0);
  REQUIRE(p.stats().destroyed == 2);
  REQUIRE(p.stats().size() == 1);
  REQUIRE(p.discard_idle() == 0);
  auto fresh = p.acquire();  // made anew
  REQUIRE(fresh->id == 4);
  REQUIRE(held->id == 1);  // a was returned last (destroyed after c and b): the newest idle
}

TEST_CASE("a factory failing a few times is retried within one acquire", "[pool]") {
  counter_factory f;
  *f.fail_left = 2;
  conn_pool<> p(f, opts(1, 0, 0ms, 0ms, 5000ms));
  auto a = p.acquire();
  REQUIRE(a->id == 1);
  REQUIRE(p.stats().create_failures == 2);
  REQUIRE(p.stats().created == 1);
}

TEST_CASE("a factory throwing something else is reported too", "[pool]") {
  conn_pool<> p([]() -> conn { throw 42; }, opts(1));
  try {
    (void)p.acquire();
  } catch (const frugal::pool_timeout& e) {
    REQUIRE(e.last_error() == "the factory threw an exception not derived from std::exception");
  }
}

TEST_CASE("discard destroys the object and frees its place", "[pool]") {
  counter_factory f;
  conn_pool<> p(f, opts(1));
  auto a = p.acquire();
  a.discard();
  REQUIRE_FALSE(a);
  a.discard();  // empty: nothing
  a.reset();
  REQUIRE(conn::live == 0);
  auto b = p.acquire();
  REQUIRE(b->id == 2);
  const auto s = p.stats();
  REQUIRE(s.destroyed == 1);
  REQUIRE(s.created == 2);
  REQUIRE(s.size() == 1);
}

TEST_CASE("reusable decides at release, validate before hand-out", "[pool]") {
  counter_factory f;
  bool validate_throws = false;
  int validations = 0;
  frugal::pool_checks<conn> checks;
  checks.reusable = [](conn& c) { return !c.broken; };
  checks.validate = [&](conn& c) {
    ++validations;
    if (validate_throws) throw std::runtime_error("ping failed");
    return c.id % 2 == 1;
  };
  conn_pool<> p(f, opts(2), checks);
  {
    auto a = p.acquire();  // new: not validated
    REQUIRE(validations == 0);
    a->broken = true;
  }
  REQUIRE(conn::live == 0);
  REQUIRE(p.stats().check_failures == 1);
  {
    auto b = p.acquire();
    REQUIRE(b->id == 2);
  }
  // id 2 fails validation: destroyed, a new one (3) made, which is not validated.
  {
    auto c = p.acquire();
    REQUIRE(c->id == 3);
    REQUIRE(validations == 1);
    REQUIRE(p.stats().check_failures == 2);
    REQUIRE(p.stats().destroyed == 2);
    REQUIRE(p.stats().acquired == 3);
  }
  {
    auto d = p.acquire();  // id 3 passes
    REQUIRE(d->id == 3);
    REQUIRE(validations == 2);
  }
  validate_throws = true;
  {
    auto e = p.acquire();  // throwing counts as failing
    REQUIRE(e->id == 4);
  }
  REQUIRE(p.stats().check_failures == 3);
  REQUIRE(conn::live == 1);
}

TEST_CASE("a reusable check that throws destroys the object", "[pool]") {
  counter_factory f;
  frugal::pool_checks<conn> checks;
  checks.reusable = [](conn&) -> bool { throw std::runtime_error("status unknown"); };
  conn_pool<> p(f, opts(1), checks);
  { auto a = p.acquire(); }
  REQUIRE(p.stats().size() == 0);
  REQUIRE(p.stats().check_failures == 1);
  REQUIRE(conn::live == 0);
}

TEST_CASE("idle timeout and max lifetime, on acquire, release and reap", "[pool]") {
  counter_factory f;
  test_clock::current = {};
  conn_pool<test_clock> p(f, opts(4, 1, 100ms, 1000ms));

  SECTION("expired idle objects go on the next acquire, down to min_idle") {
    auto a = p.acquire(), b = p.acquire(), c = p.acquire();
    a.reset();
    test_clock::advance(60ms);
    b.reset();  // a release reads no clock: idle since the last acquire's time, 0
    test_clock::advance(50ms);
    auto d = p.acquire();  // a and b idle for 110 ms: both go (2 remain), a new one is made
    REQUIRE(d->id == 4);
    auto s = p.stats();
    REQUIRE(s.idle == 0);
    REQUIRE(s.destroyed == 2);
    c.reset();
    d.reset();
    test_clock::advance(200ms);  // both expired now, but min_idle is 1
    REQUIRE(p.reap().destroyed == 1);
    s = p.stats();
    REQUIRE(s.idle == 1);
    REQUIRE(s.size() == 1);
    REQUIRE(p.reap().destroyed == 0);  // kept for min_idle
  }
  SECTION("an expired object is never handed out") {
    auto a = p.acquire(), b = p.acquire();
    b.reset();
    a.reset();  // idle: a (newest), b
    test_clock::advance(150ms);
    auto c = p.acquire();  // b expires (idle), then a is handed out: 1 remains >= min_idle
    REQUIRE(c->id == 1);
    REQUIRE(p.stats().destroyed == 1);
  }
  SECTION("lifetime ends at release and at hand-out") {
    auto a = p.acquire(), b = p.acquire();
    test_clock::advance(1000ms);
    a.reset();  // lifetime over, but a release reads no clock: kept until the next acquire
    REQUIRE(p.stats().destroyed == 0);
    REQUIRE(p.stats().idle == 1);
    auto c = p.acquire();  // sees a's lifetime over: destroyed, a new one made
    REQUIRE(p.stats().destroyed == 1);
    REQUIRE(c->id == 3);
    test_clock::advance(999ms);
    c.reset();
    test_clock::advance(1ms);
    auto d = p.acquire();  // c's lifetime ended while idle
    REQUIRE(d->id == 4);
    REQUIRE(p.stats().destroyed == 2);
  }
  SECTION("reap destroys expired idle objects and tops up to min_idle") {
    REQUIRE(p.stats().size() == 0);
    auto r = p.reap();
    REQUIRE(r.created == 1);
    REQUIRE(r.destroyed == 0);
    REQUIRE(p.stats().idle == 1);
    test_clock::advance(1000ms);
    r = p.reap();
    REQUIRE(r.destroyed == 1);
    REQUIRE(r.created == 1);
    REQUIRE(p.stats().idle == 1);
    REQUIRE(p.stats().created == 2);
  }
  SECTION("reap records a failing factory without throwing") {
    *f.fail_left = 1;
    const auto r = p.reap();
    REQUIRE(r.created == 0);
    REQUIRE(p.stats().create_failures == 1);
    REQUIRE(p.last_error() == "connection refused (attempt 0)");
    REQUIRE(p.stats().size() == 0);
    REQUIRE(p.reap().created == 1);
  }
}

TEST_CASE("a clock stepping backwards never makes objects look older", "[pool]") {
  counter_factory f;
  test_clock::current = test_clock::time_point(1000ms);
  conn_pool<test_clock> p(f, opts(2, 0, 100ms));
  { auto a = p.acquire(); }  // idle since 1000
  test_clock::current = test_clock::time_point(0ms);
  { auto b = p.acquire(); }  // the pool keeps 1000 as the latest time it has seen
  test_clock::current = test_clock::time_point(150ms);
  auto c = p.acquire();
  REQUIRE(c->id == 1);
  REQUIRE(p.stats().destroyed == 0);
}

TEST_CASE("no expiry when both timeouts are zero", "[pool]") {
  counter_factory f;
  test_clock::current = {};
  conn_pool<test_clock> p(f, opts(2));
  { auto a = p.acquire(); }
  test_clock::advance(std::chrono::hours(1000));
  REQUIRE(p.reap().destroyed == 0);
  REQUIRE(p.acquire()->id == 1);
}

TEST_CASE("a pool destroyed while leases are out", "[pool]") {
  counter_factory f;
  std::optional<conn_pool<>> p;
  p.emplace(f, opts(3));
  auto a = p->acquire();
  auto b = p->acquire();
  { auto c = p->acquire(); }
  REQUIRE(conn::live == 3);
  p.reset();
  REQUIRE(conn::live == 2);  // the idle one went with the pool
  REQUIRE(a->id == 1);
  a.reset();
  REQUIRE(conn::live == 1);
  b.discard();
  REQUIRE(conn::live == 0);  // the shared state went with the last lease (ASan: no leak)
}

TEST_CASE("leases move, and self-assignment keeps the object", "[pool]") {
  counter_factory f;
  conn_pool<> p(f, opts(2));
  auto a = p.acquire();
  auto& alias = a;
  a = std::move(alias);
  REQUIRE(a);
  REQUIRE(a->id == 1);
  frugal::pool_lease<conn> b(std::move(a));
  REQUIRE_FALSE(a);
  REQUIRE(b->id == 1);
  auto c = p.acquire();
  b = std::move(c);  // returns 1, takes 2
  REQUIRE(b->id == 2);
  REQUIRE(p.stats().idle == 1);
  frugal::pool_lease<conn> empty;
  REQUIRE_FALSE(empty);
  b = std::move(empty);
  REQUIRE_FALSE(b);
  REQUIRE(p.stats().idle == 2);
  static_assert(sizeof(frugal::pool_lease<conn>) == 2 * sizeof(void*));
  static_assert(!std::is_copy_constructible_v<frugal::pool_lease<conn>>);
  static_assert(std::is_nothrow_move_assignable_v<frugal::pool_lease<conn>>);
  static_assert(!std::is_move_constructible_v<frugal::pool<conn>>);
}

TEST_CASE("objects that are move-only, immovable or over-aligned", "[pool]") {
  struct immovable {
    std::atomic<int> n{0};
    std::mutex m;
  };
  frugal::pool<immovable> a([] { return immovable{}; }, opts(2));
  {
    auto l = a.acquire();
    l->n = 5;
  }
  REQUIRE(a.acquire()->n == 5);

  struct alignas(128) wide {
    char bytes[3];
  };
  frugal::pool<wide> w([] { return wide{}; }, opts(3));
  auto x = w.acquire(), y = w.acquire(), z = w.acquire();
  for (wide* q : {&*x, &*y, &*z}) {
    REQUIRE(reinterpret_cast<std::uintptr_t>(q) % 128 == 0);
  }

  frugal::pool<std::unique_ptr<int>> u([] { return std::make_unique<int>(3); }, opts(1));
  REQUIRE(**u.acquire() == 3);
}

TEST_CASE("a factory throwing on the k-th call leaves the counts right", "[pool]") {
  for (long k = 0; k < 8; ++k) {
    counter_factory f;
    *f.fail_on = k;
    {
      conn_pool<> p(f, opts(3, 2));
      std::vector<frugal::pool_lease<conn>> held;
      for (int round = 0; round < 4; ++round) {
        (void)p.reap();
        for (int i = 0; i < 3; ++i) {
          try {
            held.push_back(p.acquire_for(0ms));
          } catch (const frugal::pool_timeout&) {
          }
        }
        if (!held.empty()) held.front().discard();
        held.clear();
        const auto s = p.stats();
        REQUIRE(s.size() == static_cast<std::size_t>(conn::live.load()));
        REQUIRE(s.created - s.destroyed == s.size());
        REQUIRE(s.in_use == 0);
      }
    }
    REQUIRE(conn::live == 0);
  }
}

TEST_CASE("checks throwing on the k-th call leave the counts right", "[pool]") {
  for (int k = 0; k < 10; ++k) {
    counter_factory f;
    int calls = 0;
    frugal::pool_checks<conn> checks;
    const auto fault = [&](conn&) -> bool {
      if (calls++ == k) throw std::runtime_error("check fault");
      return true;
    };
    checks.validate = fault;
    checks.reusable = fault;
    {
      conn_pool<> p(f, opts(2), checks);
      for (int i = 0; i < 6; ++i) {
        auto a = p.acquire();
        auto b = p.acquire();
        const auto s = p.stats();
        REQUIRE(s.in_use == 2);
        REQUIRE(s.size() == static_cast<std::size_t>(conn::live.load()));
      }
      REQUIRE(p.stats().check_failures == 1);
      REQUIRE(p.stats().size() == static_cast<std::size_t>(conn::live.load()));
    }
    REQUIRE(conn::live == 0);
  }
}

TEST_CASE("random operations agree with a simple model", "[pool]") {
  // The model: idle ids newest first with their idle-since and creation times, leases by id.
  struct model_obj {
    int id;
    std::int64_t created;
    std::int64_t idle_since;
  };
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    const auto pick = [&](std::uint32_t n) { return static_cast<std::int64_t>(rng() % n); };
    const std::size_t max = static_cast<std::size_t>(1 + pick(4));
    const std::size_t min = static_cast<std::size_t>(pick(static_cast<std::uint32_t>(max) + 1));
    const std::int64_t idle_to = pick(2) != 0 ? 0 : 10 + pick(50);
    const std::int64_t life = pick(2) != 0 ? 0 : 50 + pick(200);
    test_clock::current = {};
    counter_factory f;
    conn_pool<test_clock> p(
        f, opts(max, min, std::chrono::milliseconds(idle_to), std::chrono::milliseconds(life)));
    std::deque<model_obj> idle;  // front: newest
    std::vector<std::pair<frugal::pool_lease<conn, test_clock>, model_obj>> out;
    int next_id = 0;
    std::uint64_t destroyed = 0;
    std::int64_t latest = 0;  // the latest time the pool read: releases stamp with it
    const auto now = [] { return test_clock::now().time_since_epoch().count(); };
    const auto size = [&] { return idle.size() + out.size(); };
    const auto life_over = [&](const model_obj& o) {
      return life != 0 && now() - o.created >= life;
    };
    const auto idle_over = [&](const model_obj& o, std::size_t remaining) {
      return idle_to != 0 && remaining >= min && now() - o.idle_since >= idle_to;
    };
    const auto expiry = idle_to != 0 || life != 0;
    for (int step = 0; step < 300; ++step) {
      const std::int64_t op = pick(10);
      if (op < 4) {  // acquire
        std::optional<model_obj> expect;
        if (expiry) latest = now();
        while (!idle.empty() && expiry) {
          if (life_over(idle.back()) || idle_over(idle.back(), size() - 1)) {
            idle.pop_back();
            ++destroyed;
          } else if (life_over(idle.front())) {
            idle.pop_front();
            ++destroyed;
          } else {
            break;
          }
        }
        if (!idle.empty()) {
          expect = idle.front();
          idle.pop_front();
        } else if (size() < max) {
          expect = model_obj{++next_id, now(), 0};
        }
        if (expect) {
          auto l = p.acquire_for(0ms);
          REQUIRE(l->id == expect->id);
          out.emplace_back(std::move(l), *expect);
        } else {
          REQUIRE_THROWS_AS(p.acquire_for(0ms), frugal::pool_timeout);
        }
      } else if (op < 7 && !out.empty()) {  // release or discard
        const std::size_t i =
            static_cast<std::size_t>(pick(static_cast<std::uint32_t>(out.size())));
        model_obj o = out[i].second;
        const bool discard = op == 6;
        if (discard) {
          out[i].first.discard();
        } else {
          out[i].first.reset();
        }
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(i));
        if (discard || (life != 0 && latest - o.created >= life)) {
          ++destroyed;
        } else {
          o.idle_since = latest;
          idle.push_front(o);
        }
      } else if (op < 9) {
        test_clock::advance(std::chrono::milliseconds(pick(30)));
      } else {  // reap
        if (expiry) latest = now();
        std::deque<model_obj> kept;
        std::size_t remaining = size();
        for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
          if (expiry && (life_over(*it) || idle_over(*it, remaining - 1))) {
            --remaining;
            ++destroyed;
          } else {
            kept.push_front(*it);
          }
        }
        idle = kept;
        while (size() < min) idle.push_front(model_obj{++next_id, now(), latest});
        (void)p.reap();
      }
      const auto s = p.stats();
      REQUIRE(s.idle == idle.size());
      REQUIRE(s.in_use == out.size());
      REQUIRE(s.destroyed == destroyed);
      REQUIRE(s.created == static_cast<std::uint64_t>(next_id));
      REQUIRE(s.size() == static_cast<std::size_t>(conn::live.load()));
    }
  }
  REQUIRE(conn::live == 0);
}

TEST_CASE("waiters are served first come, first served", "[pool][concurrent]") {
  counter_factory f;
  conn_pool<> p(f, opts(1, 0, 0ms, 0ms, 10'000ms));
  auto held = p.acquire();
  std::mutex m;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      auto l = p.acquire();
      std::lock_guard<std::mutex> g(m);
      order.push_back(i);
    });
    while (p.stats().waiting != static_cast<std::size_t>(i + 1)) std::this_thread::yield();
  }
  // A newcomer arriving now queues behind them even though it could try first.
  REQUIRE_THROWS_AS(p.acquire_for(0ms), frugal::pool_timeout);
  held.reset();
  for (auto& t : threads) t.join();
  REQUIRE(order == std::vector<int>{0, 1, 2, 3, 4});
  REQUIRE(p.stats().created == 1);
  REQUIRE(p.stats().waiting == 0);
}

TEST_CASE("a discarded object's place goes to a waiter, which creates one", "[pool][concurrent]") {
  counter_factory f;
  conn_pool<> p(f, opts(1, 0, 0ms, 0ms, 10'000ms));
  auto held = p.acquire();
  std::thread t([&] {
    auto l = p.acquire();
    REQUIRE(l->id == 2);
  });
  while (p.stats().waiting != 1) std::this_thread::yield();
  held.discard();
  t.join();
  REQUIRE(p.stats().created == 2);
}

TEST_CASE("a waiter times out, then others still get objects", "[pool][concurrent]") {
  counter_factory f;
  conn_pool<> p(f, opts(1, 0, 0ms, 0ms, 10'000ms));
  auto held = p.acquire();
  std::thread t([&] {
    try {
      (void)p.acquire_for(20ms);
      FAIL("no timeout");
    } catch (const frugal::pool_timeout& e) {
      REQUIRE(e.waited() >= 20ms);
      REQUIRE(std::string(e.what()).find("(1 of 1 in use, 0 waiting)") != std::string::npos);
    }
  });
  t.join();
  std::thread u([&] { REQUIRE(p.acquire()->id == 1); });
  while (p.stats().waiting != 1) std::this_thread::yield();
  held.reset();
  u.join();
  REQUIRE(p.stats().timeouts == 1);
}

TEST_CASE("waiters retry a failing factory and recover", "[pool][concurrent]") {
  counter_factory f;
  *f.fail_left = 6;
  conn_pool<> p(f, opts(2, 0, 0ms, 0ms, 10'000ms));
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  std::atomic<int> bad_ids{0};  // Catch's assertions are not thread-safe: checked after join
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        auto l = p.acquire();
        if (l->id < 1) ++bad_ids;
      }
      ++done;
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(done == 4);
  REQUIRE(bad_ids == 0);
  const auto s = p.stats();
  REQUIRE(s.create_failures == 6);
  REQUIRE(s.created <= 2);
  REQUIRE(s.in_use == 0);
  REQUIRE(s.waiting == 0);
}

TEST_CASE("many threads never share an object", "[pool][concurrent]") {
  counter_factory f;
  std::mutex out_mu;
  std::set<const conn*> out;  // the objects lent out now
  frugal::pool_checks<conn> checks;
  std::atomic<int> validations{0};
  checks.validate = [&](conn&) {
    ++validations;
    return true;
  };
  std::optional<conn_pool<>> p;
  p.emplace(f, opts(3, 1, 1ms, 5ms, 10'000ms), checks);
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  std::thread reaper([&] {
    while (!stop) {
      (void)p->reap();
      std::this_thread::yield();
    }
  });
  std::vector<frugal::pool_lease<conn>> kept(8);
  std::atomic<int> shared{0};  // checked after the threads end: Catch is not thread-safe
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 300; ++j) {
        auto l = p->acquire();
        {
          std::lock_guard<std::mutex> g(out_mu);
          if (!out.insert(&*l).second) ++shared;  // somebody else holds it
        }
        std::this_thread::yield();
        {
          std::lock_guard<std::mutex> g(out_mu);
          out.erase(&*l);
        }
        if (j % 50 == 7) l.discard();
        if (j == 299 && i % 4 == 0) kept[static_cast<std::size_t>(i)] = std::move(l);
      }
    });
  }
  for (std::size_t i = 0; i < threads.size(); ++i) {
    if (i % 2 == 1) threads[i].join();
  }
  stop = true;
  reaper.join();
  for (std::size_t i = 0; i < threads.size(); ++i) {
    if (i % 2 == 0) threads[i].join();
  }
  REQUIRE(shared == 0);
  const auto s = p->stats();
  REQUIRE(s.waiting == 0);
  REQUIRE(s.pending == 0);
  REQUIRE(s.size() <= 3);
  REQUIRE(s.created - s.destroyed == s.size());
  // The pool goes first; the kept leases end on other threads afterwards.
  p.reset();
  std::vector<std::thread> enders;
  for (auto& l : kept) enders.emplace_back([l = std::move(l)]() mutable { l.reset(); });
  for (auto& t : enders) t.join();
  REQUIRE(conn::live == 0);
}

TEST_CASE("a new object made after the clock stepped back keeps its whole lifetime", "[pool]") {
  counter_factory f;
  test_clock::current = test_clock::time_point(3'600'000ms);
  conn_pool<test_clock> p(f, opts(2, 0, 0ms, 60'000ms));
  auto a = p.acquire();                                  // the pool has now seen 1 h
  test_clock::current = test_clock::time_point(1000ms);  // the clock steps back
  auto b = p.acquire();                                  // made "at 1 s": the pool's 1 h
  test_clock::advance(1000ms);
  b.reset();  // one second old: not past its 60 s lifetime
  REQUIRE(p.stats().destroyed == 0);
  REQUIRE(p.stats().idle == 1);
}

TEST_CASE("timeouts of a thousand years saturate instead of overflowing", "[pool]") {
  using years = std::chrono::duration<std::int64_t, std::ratio<31'536'000>>;
  const auto forever = std::chrono::duration_cast<std::chrono::milliseconds>(years(1000));
  for (int which = 0; which < 3; ++which) {
    counter_factory f;
    frugal::pool_options o = opts(2);
    if (which == 0) o.idle_timeout = forever;
    if (which == 1) o.max_lifetime = forever;
    if (which == 2) o.idle_timeout = o.max_lifetime = std::chrono::milliseconds::max();
    conn_pool<> p(f, o);  // the steady clock counts nanoseconds: 292 years at most
    for (int i = 0; i < 5; ++i) {
      auto l = p.acquire();
      REQUIRE(l->id == 1);  // reused every time: nothing looks expired
    }
    REQUIRE(p.stats().created == 1);
    REQUIRE(p.stats().destroyed == 0);
  }
}

TEST_CASE("acquire_for in picoseconds times out as it says", "[pool][concurrent]") {
  counter_factory f;
  conn_pool<> p(f, opts(1));
  auto held = p.acquire();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(p.acquire_for(std::chrono::duration<std::int64_t, std::pico>(20'000'000'000)),
                    frugal::pool_timeout);  // 20 ms
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(took >= 20ms);
  REQUIRE(took < 10s);  // not the century that an overflowed cap would wait
}

TEST_CASE("acquire_for takes units of a century or more (a millennium)", "[pool][concurrent]") {
  // One millennium in nanoseconds overflows the ratio's arithmetic: such a unit waits a
  // century (in effect, until an object comes back) without being converted.
  using millennia = std::chrono::duration<std::int64_t, std::ratio<31'556'952'000>>;
  counter_factory f;
  conn_pool<> p(f, opts(1));
  {
    auto l = p.acquire_for(millennia(1));
    REQUIRE(l->id == 1);
  }
  auto held = p.acquire();
  REQUIRE_THROWS_AS(p.acquire_for(millennia(-1)), frugal::pool_timeout);  // no wait
  std::thread giver([&] {
    std::this_thread::sleep_for(20ms);
    held.reset();
  });
  auto l = p.acquire_for(millennia(1));
  giver.join();
  REQUIRE(l->id == 1);
  // A unit below a century whose ratio still overflows in nanoseconds (about 97 years).
  using odd = std::chrono::duration<std::int64_t, std::ratio<9'223'372'037, 3>>;
  l.reset();
  REQUIRE(p.acquire_for(odd(1))->id == 1);
  held = p.acquire();
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(p.acquire_for(std::chrono::duration<double, std::ratio<9'223'372'037, 3>>(1e-8)),
                    frugal::pool_timeout);  // about 30 ms
  REQUIRE(std::chrono::steady_clock::now() - t0 >= 25ms);
  // About 98 years in thirds of a second: the exact conversion multiplies the count by 10^9
  // before it divides by 3, and overflowed into no wait at all.
  using thirds = std::chrono::duration<std::int64_t, std::ratio<1, 3>>;
  std::thread giver2([&] {
    std::this_thread::sleep_for(30ms);
    held.reset();
  });
  const auto t1 = std::chrono::steady_clock::now();
  auto l2 = p.acquire_for(thirds(9'300'000'000));
  giver2.join();
  REQUIRE(l2->id == 1);
  REQUIRE(std::chrono::steady_clock::now() - t1 >= 25ms);  // it waited for the release
}

TEST_CASE("a waiter whose handed-over object fails validate keeps its place in line",
          "[pool][concurrent]") {
  counter_factory f;
  frugal::pool_checks<conn> checks;
  checks.validate = [](conn& c) { return c.id != 1; };  // the first object is broken
  conn_pool<> p(f, opts(1, 0, 0ms, 0ms, 10'000ms), checks);
  auto held = p.acquire();  // object 1 (a new object is not validated)
  std::mutex m;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      auto l = p.acquire();
      std::lock_guard<std::mutex> g(m);
      order.push_back(i);
    });
    while (p.stats().waiting != static_cast<std::size_t>(i + 1)) std::this_thread::yield();
  }
  held.reset();  // object 1 goes to waiter 0, fails validate: waiter 0 makes object 2
  for (auto& t : threads) t.join();
  REQUIRE(order == std::vector<int>{0, 1, 2});
  REQUIRE(p.stats().check_failures == 1);
  REQUIRE(p.stats().created == 2);
  REQUIRE(p.stats().destroyed == 1);
  REQUIRE(p.stats().in_use == 0);
  REQUIRE(p.stats().idle == 1);
}

TEST_CASE("a waiter behind one that times out is woken for the room it leaves",
          "[pool][concurrent]") {
  std::atomic<bool> first_gone{false};
  std::atomic<int> made{0};
  // The factory fails until the first caller has given up.
  conn_pool<> p(
      [&] {
        if (!first_gone.load()) throw std::runtime_error("backend down");
        return conn(++made);
      },
      opts(1));
  std::atomic<bool> first_timed_out{false};
  std::thread first([&] {
    try {
      (void)p.acquire_for(300ms);
    } catch (const frugal::pool_timeout&) {
      first_timed_out.store(true);
    }
    first_gone.store(true);
  });
  while (p.stats().create_failures == 0) std::this_thread::yield();
  std::atomic<long long> took_ms{-1};
  std::thread second([&] {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      auto l = p.acquire_for(10'000ms);
      took_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count());
    } catch (const frugal::pool_timeout&) {
    }
  });
  first.join();
  second.join();
  REQUIRE(first_timed_out.load());
  REQUIRE(took_ms.load() >= 0);
  REQUIRE(took_ms.load() < 5000);  // woken when the first left, not at its own deadline
}

TEST_CASE("validate skips an object reap() made and nobody used yet", "[pool]") {
  counter_factory f;
  frugal::pool_checks<conn> checks;
  std::atomic<int> validated{0};
  checks.validate = [&](conn&) {
    ++validated;
    return true;
  };
  conn_pool<> p(f, opts(2, 1), checks);
  REQUIRE(p.reap().created == 1);
  { auto a = p.acquire(); }  // new to its user: not validated
  REQUIRE(validated.load() == 0);
  { auto b = p.acquire(); }  // used before: validated
  REQUIRE(validated.load() == 1);
}

TEST_CASE("a waiter whose factory call fails keeps its place at the head of the line",
          "[pool][concurrent]") {
  counter_factory f;
  conn_pool<> p(f, opts(1));
  auto held = p.acquire();  // object 1
  std::mutex m;
  std::vector<int> served;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&, i] {
      auto l = p.acquire_for(10'000ms);
      std::lock_guard lock(m);
      served.push_back(i);
    });  // each returns its object at once, to the next waiter
    while (p.stats().waiting != static_cast<std::size_t>(i + 1)) std::this_thread::yield();
  }
  *f.fail_left = 1;  // the next factory call fails
  // The place goes to waiter 0, whose factory call fails: it retries after its delay while
  // waiters 1 and 2 wait behind it (neither calls the factory meanwhile).
  held.discard();
  for (auto& t : waiters) t.join();
  REQUIRE(served == std::vector<int>{0, 1, 2});
  REQUIRE(f.calls->load() == 3);  // object 1, the failed call, object 2
  REQUIRE(p.stats().create_failures == 1);
  REQUIRE(p.stats().created == 2);
}

namespace {
thread_local int caller_number = -1;  // which caller of the test below runs on this thread
}  // namespace

TEST_CASE("queued callers wait their turn while the factory fails and are served in order",
          "[pool][concurrent]") {
  std::atomic<bool> down{true}, watching{false};
  std::atomic<int> calls{0}, calls_from_behind{0};
  frugal::pool<int> p(
      [&] {
        const int k = calls++;
        if (!down.load()) return k;
        if (watching.load() && caller_number != 0) ++calls_from_behind;
        throw std::runtime_error("server down");
      },
      opts(4));
  // Each caller keeps its object until all are served, so each creates one, and the value
  // of its object (the factory's call number) tells who called it with success first.
  std::atomic<int> got{0};
  std::array<int, 3> value{-1, -1, -1};
  const auto caller = [&](int i) {
    return std::thread([&, i] {
      caller_number = i;
      auto l = p.acquire_for(10'000ms);
      value[static_cast<std::size_t>(i)] = *l;
      ++got;
      while (got.load() < 3) std::this_thread::yield();
    });
  };
  std::thread a = caller(0);
  while (p.stats().create_failures == 0 || p.stats().waiting != 1) std::this_thread::yield();
  std::thread b = caller(1);  // queues behind a, which waits for its retry
  while (p.stats().waiting < 2) std::this_thread::yield();
  std::thread c = caller(2);
  while (p.stats().waiting < 3) std::this_thread::yield();
  watching.store(true);
  std::this_thread::sleep_for(100ms);  // a few of a's retries: b and c call nothing
  watching.store(false);
  down.store(false);
  a.join();
  b.join();
  c.join();
  CHECK(calls_from_behind.load() == 0);
  CHECK(value[0] < value[1]);  // in order of arrival
  CHECK(value[1] < value[2]);
  CHECK(p.stats().timeouts == 0);
}

TEST_CASE("a caller whose factory call failed takes an object returned meanwhile",
          "[pool][concurrent]") {
  std::atomic<bool> down{false};
  std::atomic<bool> in_failing_call{false}, release{false};
  frugal::pool<int> p(
      [&] {
        if (!down.load()) return 1;
        in_failing_call.store(true);
        while (!release.load()) std::this_thread::yield();
        throw std::runtime_error("server down");
      },
      opts(2));
  auto held = p.acquire();
  down.store(true);
  std::atomic<bool> got{false};
  std::thread a([&] {
    try {
      auto l = p.acquire_for(5'000ms);
      got.store(true);
    } catch (const frugal::pool_timeout&) {
    }
  });
  while (!in_failing_call.load()) std::this_thread::yield();
  held.reset();  // nobody queued: the object goes idle while a's call runs
  release.store(true);
  const auto t0 = std::chrono::steady_clock::now();
  a.join();  // a fails, then takes the idle object instead of retrying the factory
  REQUIRE(got.load());
  CHECK(std::chrono::steady_clock::now() - t0 < 2'000ms);
  CHECK(p.stats().create_failures == 1);
}

TEST_CASE("a waiter behind one whose retry succeeds is woken for the room left",
          "[pool][concurrent]") {
  counter_factory f;
  *f.fail_left = 1;  // the first caller's first call fails: it waits 5 ms to retry
  conn_pool<> p(f, opts(2));
  std::atomic<bool> second_done{false};
  std::thread first([&] {
    auto l = p.acquire_for(10'000ms);
    while (!second_done.load()) std::this_thread::yield();  // holds its object meanwhile
  });
  while (p.stats().create_failures != 1) std::this_thread::yield();
  // The second caller queues behind the first (within its 5 ms back-off, as a rule), which
  // then takes one of the two places: the other is free, and the second must be woken for it.
  const auto t0 = std::chrono::steady_clock::now();
  long long took_ms = -1;
  std::size_t taken = 0;
  try {
    auto l = p.acquire_for(3'000ms);
    took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    const auto s = p.stats();
    taken = s.in_use + s.pending;  // the first caller's object may still be in the making
  } catch (const frugal::pool_timeout&) {
  }
  second_done.store(true);
  first.join();
  REQUIRE(taken == 2);
  REQUIRE(took_ms >= 0);
  REQUIRE(took_ms < 1'500);  // not at its own deadline
  REQUIRE(p.stats().created == 2);
  REQUIRE(p.stats().timeouts == 0);
}

namespace {
// A one-place pool whose object 1 is lent out, and whose `validate` (once `slow` is set)
// outlasts a 50 ms waiter's deadline and then fails: handing object 1 to that waiter puts
// the waiter past its deadline with a place of its own.
struct late_failing_check {
  counter_factory f;
  std::atomic<bool> slow{false};
  conn_pool<> p{f, opts(1), checks()};
  conn_pool<>::lease held = p.acquire();  // object 1
  std::atomic<bool> timed_out{false};

  frugal::pool_checks<conn> checks() {
    frugal::pool_checks<conn> c;
    c.validate = [this](conn&) {
      if (!slow.exchange(false)) return true;
      std::this_thread::sleep_for(150ms);
      return false;
    };
    return c;
  }
  // Starts a caller that waits 50 ms for an object; returns once it is queued.
  std::thread start_short_waiter() {
    std::thread t([this] {
      try {
        (void)p.acquire_for(50ms);
      } catch (const frugal::pool_timeout&) {
        timed_out.store(true);
      }
    });
    while (p.stats().waiting != 1) std::this_thread::yield();
    return t;
  }
  // After a check that failed past the deadline and no factory call: nothing is out or
  // pending, and the place was not lost (the next acquire creates object 2).
  void require_place_kept() {
    REQUIRE(f.calls->load() == 1);
    REQUIRE(p.stats().in_use == 0);
    REQUIRE(p.stats().pending == 0);
    auto again = p.acquire();
    REQUIRE(again->id == 2);
  }
};
}  // namespace

TEST_CASE("no factory call starts after the deadline, even for a place handed over",
          "[pool][concurrent]") {
  late_failing_check t;
  std::atomic<int> later_got{0};
  std::thread first = t.start_short_waiter();
  std::thread second([&] {
    try {
      later_got.store(t.p.acquire_for(10'000ms)->id);
    } catch (const frugal::pool_timeout&) {
    }
  });
  while (t.p.stats().waiting != 2) std::this_thread::yield();
  t.slow.store(true);
  // Object 1 goes to the first waiter, whose check outlasts its deadline and fails: with a
  // waiter behind, it keeps the place, but past its deadline must not start the factory: the
  // place goes on to the second waiter, which creates object 2.
  t.held.reset();
  first.join();
  second.join();
  REQUIRE(t.timed_out.load());
  REQUIRE(later_got.load() == 2);
  REQUIRE(t.f.calls->load() == 2);
  REQUIRE(t.p.stats().check_failures == 1);
  REQUIRE(t.p.stats().in_use == 0);
  REQUIRE(t.p.stats().pending == 0);
  REQUIRE(t.p.stats().idle == 1);
}

TEST_CASE("a caller woken past its deadline starts no factory call", "[pool][concurrent]") {
  late_failing_check t;
  std::thread waiter = t.start_short_waiter();
  t.slow.store(true);
  t.held.reset();  // handed to the waiter, whose check outlasts its deadline and fails
  waiter.join();
  REQUIRE(t.timed_out.load());
  REQUIRE(t.p.stats().created == 1);
  REQUIRE(t.p.stats().destroyed == 1);
  t.require_place_kept();
}

TEST_CASE("a check that runs past the deadline is followed by no factory call",
          "[pool][concurrent]") {
  late_failing_check t;
  t.held.reset();  // object 1 idle and used: the next acquire checks it
  t.slow.store(true);
  long long waited_ms = -1;
  try {
    (void)t.p.acquire_for(50ms);  // the check takes 150 ms, then fails
  } catch (const frugal::pool_timeout& e) {
    waited_ms = e.waited().count();
  }
  REQUIRE(waited_ms >= 50);  // counted from before the check, not from its end
  REQUIRE(t.p.stats().check_failures == 1);
  REQUIRE(t.p.stats().timeouts == 1);
  t.require_place_kept();
}

TEST_CASE("an acquire whose check ran past its deadline checks no other idle object",
          "[pool][concurrent]") {
  counter_factory f;
  frugal::pool_checks<conn> checks;
  std::atomic<bool> slow{false};
  checks.validate = [&](conn&) {
    if (!slow.load()) return true;
    std::this_thread::sleep_for(60ms);
    return false;
  };
  conn_pool<> p(f, opts(3), checks);
  {
    auto a = p.acquire();
    auto b = p.acquire();
    auto c = p.acquire();
  }  // three used idle objects
  slow.store(true);
  REQUIRE_THROWS_AS(p.acquire_for(30ms), frugal::pool_timeout);
  CHECK(p.stats().check_failures == 1);  // one check past the deadline, not three
  CHECK(p.stats().idle == 2);
  CHECK(f.calls->load() == 3);
}

TEST_CASE("with a zero timeout, an object failing its check is replaced on arrival", "[pool]") {
  counter_factory f;
  frugal::pool_checks<conn> checks;
  checks.validate = [](conn&) { return false; };
  conn_pool<> p(f, opts(1), checks);
  { auto first = p.acquire(); }  // object 1, used, idle
  auto l = p.acquire_for(0ms);
  REQUIRE(l->id == 2);
  REQUIRE(p.stats().check_failures == 1);
}

namespace {
// How many callers wait in the pool under test: the objects' destructor and the validate check
// below wait for a second caller to queue while the first is destroying or checking.
std::function<std::size_t()> waiting_now;
std::atomic<bool> hold_until_queued{false};
void wait_for_a_waiter() {  // once per race
  if (!hold_until_queued.exchange(false)) return;
  while (waiting_now() != 1) std::this_thread::yield();
}
struct slow_end {
  conn c;
  explicit slow_end(int i) : c(i) {}
  slow_end(slow_end&&) = default;
  ~slow_end() { wait_for_a_waiter(); }
};

// Caller X acquires; while X destroys or checks the pool's one idle object (lock released),
// caller W queues. Returns who got an object first.
template <class Pool>
std::vector<char> race_for_the_one_place(Pool& pool) {
  waiting_now = [&] { return pool.stats().waiting; };
  hold_until_queued.store(true);
  std::mutex m;
  std::vector<char> order;
  const auto take = [&](char who) {
    auto l = pool.acquire_for(10'000ms);
    std::lock_guard<std::mutex> g(m);
    order.push_back(who);
  };
  std::thread x(take, 'x');
  while (pool.stats().pending + pool.stats().in_use != 1) std::this_thread::yield();
  std::thread w(take, 'w');
  x.join();
  w.join();
  hold_until_queued.store(false);
  return order;
}
}  // namespace

TEST_CASE("a caller destroying an expired idle object or one failing validate keeps its place",
          "[pool][concurrent]") {
  test_clock::current = test_clock::time_point{};
  counter_factory f;
  SECTION("an expired idle object") {
    frugal::pool<slow_end, test_clock> p([&] { return slow_end(f().id); }, opts(1, 0, 10ms));
    { auto l = p.acquire(); }
    test_clock::advance(20ms);  // the idle object expired
    REQUIRE(race_for_the_one_place(p) == std::vector<char>{'x', 'w'});
    REQUIRE(p.stats().created == 2);
    REQUIRE(p.stats().destroyed == 1);
  }
  SECTION("an object failing validate") {
    std::atomic<bool> fail{false};
    frugal::pool_checks<conn> checks;
    checks.validate = [&](conn&) {
      if (!fail.exchange(false)) return true;  // only the first check fails
      wait_for_a_waiter();
      return false;
    };
    conn_pool<> q(f, opts(1), checks);
    { auto l = q.acquire(); }
    fail.store(true);
    REQUIRE(race_for_the_one_place(q) == std::vector<char>{'x', 'w'});
    REQUIRE(q.stats().check_failures == 1);
    REQUIRE(q.stats().created == 2);
  }
}

TEST_CASE("expiry works with a clock whose now() is before its epoch", "[pool]") {
  test_clock::current = test_clock::time_point{} - 3'600'000ms;  // an hour before the epoch
  counter_factory f;
  conn_pool<test_clock> p(f, opts(2, 0, 20ms, 50ms));
  { auto l = p.acquire(); }
  test_clock::advance(30ms);  // idle past idle_timeout
  {
    auto l = p.acquire();
    REQUIRE(l->id == 2);
  }
  test_clock::advance(10ms);
  {
    auto l = p.acquire();
    REQUIRE(l->id == 2);  // idle 10 ms, 10 ms old: kept
  }
  test_clock::advance(45ms);  // object 2 is 55 ms old (idle 45 ms)
  auto l = p.acquire();
  REQUIRE(l->id == 3);
  REQUIRE(p.stats().destroyed == 2);
}

TEST_CASE("a NaN timeout counts as no wait", "[pool]") {
  counter_factory f;
  conn_pool<> p(f, opts(1));
  auto held = p.acquire();
  const std::chrono::duration<double> nan(std::numeric_limits<double>::quiet_NaN());
  REQUIRE_THROWS_AS(p.acquire_for(nan), frugal::pool_timeout);
  held.reset();
  REQUIRE(p.acquire_for(nan)->id == 1);
}
