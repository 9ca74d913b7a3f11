// metrics under allocation failure. This program replaces operator new (plain and aligned)
// with one that fails the k-th allocation of the calling thread; every operation that
// allocates is run with k = 0, 1, 2, ... until it completes. A failure must leave the registry,
// family or counter as it was and leak nothing (LeakSanitizer checks at exit).
#define CATCH_CONFIG_MAIN
#include <frugal/metrics.hpp>

#include <catch2/catch.hpp>

#include "failing_new.hpp"

#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <thread>

namespace m = frugal::metrics;

namespace {

// Runs `op` failing its k-th allocation for every k until it completes; `check(threw)` runs
// after each attempt. Returns the number of allocations the operation made.
long for_each_failure(const std::function<void()>& op, const std::function<void(bool)>& check) {
  for (long k = 0;; ++k) {
    bool threw = false;
    countdown = k;
    try {
      op();
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    countdown = -1;
    check(threw);
    if (!threw) return k;
  }
}

}  // namespace

TEST_CASE("a failed registration leaves the registry without the name", "[metrics]") {
  m::registry reg;
  reg.add_gauge("before", "Before.");
  const long n = for_each_failure(
      [&] {
        reg.add_histogram_family("latency_seconds", "Latency.", {"route"},
                                 m::histogram_buckets::default_seconds());
      },
      [&](bool threw) { REQUIRE(reg.size() == (threw ? 1u : 2u)); });
  REQUIRE(n > 3);
  REQUIRE(reg.text().find("# TYPE latency_seconds histogram\n") != std::string::npos);
}

TEST_CASE("a failed new series leaves the family as it was", "[metrics]") {
  for (int kind = 0; kind < 2; ++kind) {
    m::family<m::counter> c("made_total", "Made.", {"a", "b"});
    m::family<m::histogram> h("made_seconds", "Made.", {"a"}, m::histogram_buckets{1, 2});
    c.with({"x", "y"}).inc();
    h.with({"x"}).observe(1);
    const long n = for_each_failure(
        [&] {
          if (kind == 0) {
            c.with({"newer", "series1234"}).inc(5);
          } else {
            h.with({"new"}).observe(1.5);
          }
        },
        [&](bool threw) {
          REQUIRE(c.size() == (kind == 0 && !threw ? 2u : 1u));
          REQUIRE(h.size() == (kind == 1 && !threw ? 2u : 1u));
        });
    // The series, its values, and (for the counter) its label text, longer than a short
    // string (15 characters in libstdc++, 22 in libc++); the values themselves are short.
    REQUIRE(n == (kind == 0 ? 3 : 2));
    if (kind == 0) REQUIRE(c.with({"newer", "series1234"}).value() == 5);
    if (kind == 1) REQUIRE(h.with({"new"}).count() == 1);
  }
}

TEST_CASE("a thread whose first update fails adds nothing, and its next update counts",
          "[metrics]") {
  m::counter c;
  m::histogram h(m::histogram_buckets{1});
  std::thread([&] {
    const long n = for_each_failure([&] { c.inc(3); },
                                    [&](bool threw) { REQUIRE(c.value() == (threw ? 0u : 3u)); });
    REQUIRE(n == 2);
    h.observe(0.5);
  }).join();
  std::thread([&] {
    const long n = for_each_failure([&] { h.observe(2); },
                                    [&](bool threw) { REQUIRE(h.count() == (threw ? 1u : 2u)); });
    REQUIRE(n == 2);
  }).join();
  REQUIRE(c.value() == 3);
  REQUIRE(h.snapshot().sum == 2.5);
}

TEST_CASE("a thread that exits out of memory keeps its counts visible", "[metrics]") {
  m::counter c;
  m::counter big;
  std::thread([&] {
    c.inc(7);
    countdown = 0;  // the exit hook's allocation of the retired sums fails
  }).join();
  REQUIRE(c.value() == 7);
  std::thread([&] { c.inc(1); }).join();
  REQUIRE(c.value() == 8);
}

TEST_CASE("a failed write throws and the registry keeps working", "[metrics]") {
  m::registry reg;
  auto& f = reg.add_counter_family("w_total", "W.", {"k"});
  for (int i = 0; i < 20; ++i) f.with({std::to_string(i)}).inc();
  std::string expected = reg.text();
  std::string out;
  for_each_failure(
      [&] {
        out.clear();
        out.shrink_to_fit();
        reg.write(out);
      },
      [&](bool threw) {
        if (!threw) REQUIRE(out == expected);
      });
  frugal::bytes_mut buf;
  const long n = for_each_failure([&] { reg.write(buf); }, [](bool) {});
  REQUIRE(n == 1);
  REQUIRE(buf.as_string_view() == expected);
}

TEST_CASE("failed standalone constructions leak no slot", "[metrics]") {
  for_each_failure([] { m::histogram h(m::histogram_buckets::linear(1, 1, 30)); }, [](bool) {});
  for_each_failure([] { m::counter c; }, [](bool) {});
  for_each_failure([] { m::float_counter c; }, [](bool) {});
  for_each_failure([] { auto b = m::histogram_buckets::exponential(1, 2, 10); }, [](bool) {});
  m::counter c;
  REQUIRE(c.value() == 0);
}
