#include <frugal/cache.hpp>
#include <frugal/detail/cache/climber.hpp>
#include <frugal/detail/cache/policy.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include "cache_sim_policies.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

using frugal::detail::cache::window_climber;
using frugal::testing::count_allocations;

namespace {

// A sample big enough that a change of one point is well outside the noise band.
constexpr std::uint64_t big_sample = 1'000'000;

double ratio(std::uint64_t hits, std::size_t requests) {
  return static_cast<double>(hits) / static_cast<double>(requests);
}

}  // namespace

TEST_CASE("climber: the first sample explores by growing the window one step", "[cache_policy]") {
  window_climber c(1000, 10);
  REQUIRE(c.window() == 10);
  REQUIRE(c.max_window() == 800);
  REQUIRE(c.step() == Approx(62.5));
  REQUIRE(c.on_sample(0.30, big_sample) == 73);  // 10 + 62.5, rounded
  REQUIRE(c.direction() == 1);
  REQUIRE(c.step() == Approx(62.5 * 0.98));
}

TEST_CASE("climber: keeps stepping while the hit ratio improves, reverses when it falls",
          "[cache_policy]") {
  window_climber c(1000, 10);
  std::uint64_t w = c.on_sample(0.30, big_sample);
  for (double r : {0.31, 0.32, 0.33}) {
    const std::uint64_t next = c.on_sample(r, big_sample);
    REQUIRE(next > w);
    REQUIRE(c.direction() == 1);
    w = next;
  }
  const std::uint64_t next = c.on_sample(0.32, big_sample);  // worse: back
  REQUIRE(c.direction() == -1);
  REQUIRE(next < w);
  w = next;
  REQUIRE(c.on_sample(0.33, big_sample) < w);  // better going down: keep going down
  REQUIRE(c.direction() == -1);
}

TEST_CASE("climber: a change within the noise band shrinks the window a quarter step",
          "[cache_policy]") {
  window_climber c(1000, 10);
  REQUIRE(c.on_sample(0.30, 1000) == 73);  // 10 + 62.5
  // With 1000 requests a sample, a point either way is noise (the band is about 3 points).
  const double step = c.step();
  REQUIRE(c.on_sample(0.31, 1000) == static_cast<std::uint64_t>(72.5 - step / 4 + 0.5));
  REQUIRE(c.direction() == -1);
  // With a million requests a point is not noise: a rise keeps going down.
  const std::uint64_t w = c.window();
  REQUIRE(c.on_sample(0.32, big_sample) < w);
  REQUIRE(c.direction() == -1);
}

TEST_CASE("climber: the step decays, so the window settles", "[cache_policy]") {
  window_climber c(10'000, 100);
  double r = 0.5;
  std::uint64_t last = c.on_sample(r, big_sample);
  for (int i = 0; i < 200; ++i) {
    r += (i % 2 == 0) ? 0.004 : -0.004;  // up, down, up, ...: it keeps reversing
    const std::uint64_t next = c.on_sample(r, big_sample);
    const double moved = static_cast<double>(next > last ? next - last : last - next);
    REQUIRE(moved <= c.step() / window_climber::step_decay + 1);
    last = next;
  }
  REQUIRE(c.step() < 625 * 0.02);
  REQUIRE_FALSE(c.restarted());
}

TEST_CASE("climber: a jump of the hit ratio restarts the search at the initial step",
          "[cache_policy]") {
  window_climber c(10'000, 100);
  double r = 0.5;
  c.on_sample(r, big_sample);
  for (int i = 0; i < 100; ++i) c.on_sample(r += 0.001, big_sample);
  REQUIRE(c.step() < 625 * 0.2);
  c.on_sample(r - 0.10, big_sample);  // the workload changed
  REQUIRE(c.restarted());
  REQUIRE(c.step() == Approx(625 * window_climber::step_decay));
  c.on_sample(r - 0.10 + 0.001, big_sample);
  REQUIRE_FALSE(c.restarted());
}

TEST_CASE("climber: the window stays within [1, 80 % of the capacity]", "[cache_policy]") {
  window_climber up(1000, 10);
  double r = 0.1;
  for (int i = 0; i < 60; ++i) REQUIRE(up.on_sample(r += 0.01, big_sample) <= 800);
  REQUIRE(up.window() == 800);

  window_climber down(1000, 10);
  down.on_sample(0.5, big_sample);
  down.on_sample(0.48, big_sample);  // growing was worse: shrink from now on
  REQUIRE(down.direction() == -1);
  r = 0.48;
  for (int i = 0; i < 60; ++i) REQUIRE(down.on_sample(r += 0.002, big_sample) >= 1);
  REQUIRE(down.window() == 1);

  window_climber tiny(1, 1);  // a one-entry cache: the window is that entry
  REQUIRE(tiny.on_sample(0.5, big_sample) == 1);
  window_climber none(0, 0);
  REQUIRE(none.on_sample(0.5, big_sample) == 1);
}

TEST_CASE("climber: deciding allocates nothing", "[cache_policy]") {
  window_climber c(1000, 10);
  double r = 0.3;
  REQUIRE(count_allocations([&] {
            for (int i = 0; i < 1000; ++i) c.on_sample(r += (i % 3 == 0 ? -0.01 : 0.01), 5000);
          }) == 0);

  // The policy through many samples: hooks are the caller's, the sketch was allocated at
  // construction, the climber allocates nothing.
  frugal::detail::cache::w_tinylfu p(100);
  std::vector<frugal::detail::cache::policy_hook> hooks(1000);
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    hooks[i].hash = frugal::detail::cache::mix(i);
  }
  REQUIRE(count_allocations([&] {
            for (int round = 0; round < 50; ++round) {
              for (std::size_t i = 0; i < hooks.size(); i += 1 + (i % 7)) {
                auto& h = hooks[(i * 31 + static_cast<std::size_t>(round)) % hooks.size()];
                if (h.where != frugal::detail::cache::queue::none) {
                  p.on_access(&h);
                } else {
                  p.on_add(&h);
                  while (auto* victim = p.evict_one()) p.on_remove(victim);
                }
              }
            }
          }) == 0);
  REQUIRE(p.climber().samples() > 5);
  REQUIRE(p.weighted_size() <= 100);
}

TEST_CASE("policy: a resized window keeps every region within its size", "[cache_policy]") {
  frugal::detail::cache::w_tinylfu p(100);
  std::vector<frugal::detail::cache::policy_hook> hooks(400);
  for (std::size_t i = 0; i < hooks.size(); ++i) hooks[i].hash = frugal::detail::cache::mix(i);
  std::uint64_t windows_seen = 0, last_window = p.sizes().window;
  for (int round = 0; round < 100; ++round) {
    for (std::size_t i = 0; i < hooks.size(); i += 1 + static_cast<std::size_t>(round % 3)) {
      auto& h = hooks[i];
      if (h.where != frugal::detail::cache::queue::none) {
        p.on_access(&h);
      } else {
        p.on_add(&h);
      }
      while (auto* victim = p.evict_one()) p.on_remove(victim);
      REQUIRE(p.weighted_size() <= 100);
      REQUIRE(p.window_weight() <= p.sizes().window);
      REQUIRE(p.protected_weight() <= p.sizes().protected_);
      REQUIRE(p.sizes().window + p.sizes().protected_ <= 100);
    }
    if (p.sizes().window != last_window) ++windows_seen;
    last_window = p.sizes().window;
  }
  REQUIRE(windows_seen > 0);  // the window did move
}

TEST_CASE("policy: a fixed window never moves", "[cache_policy]") {
  cache_sim::w_tinylfu_policy p(100, frugal::detail::cache::window_sizing::fixed);
  cache_sim::replay(p, cache_sim::burst_trace(20'000, 1));
  REQUIRE_FALSE(p.policy().adaptive());
  REQUIRE(p.policy().sizes().window == 1);
  REQUIRE(p.policy().climber().samples() == 0);
}

TEST_CASE("sim: LRU on hand-computed traces", "[cache_policy]") {
  {
    cache_sim::lru_policy lru(2);
    const cache_sim::trace t = {1, 2, 1, 3, 2, 1};
    // 1 m, 2 m, 1 h, 3 m (evicts 2), 2 m (evicts 1), 1 m (evicts 3)
    REQUIRE(cache_sim::replay(lru, t) == 1);
    REQUIRE(lru.contains(2));
    REQUIRE(lru.contains(1));
    REQUIRE_FALSE(lru.contains(3));
  }
  {
    cache_sim::lru_policy lru(3);
    const cache_sim::trace t = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};
    REQUIRE(cache_sim::replay(lru, t) == 2);  // the 1 and the 2 after the 5
  }
  {
    cache_sim::lru_policy lru(0);
    REQUIRE(cache_sim::replay(lru, cache_sim::trace{1, 1, 1}) == 0);
  }
}

TEST_CASE("sim: Belady's optimal policy on hand-computed traces", "[cache_policy]") {
  // 3 is never used again: it is not stored, so 2 and 1 both hit (3 hits; without bypass, 2).
  REQUIRE(cache_sim::optimal_hits(cache_sim::trace{1, 2, 1, 3, 2, 1}, 2) == 3);
  // The classic: 4 and 5 are bypassed; 1, 2, 1, 2 and 3 hit.
  REQUIRE(cache_sim::optimal_hits(cache_sim::trace{1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5}, 3) == 5);
  // Evicts the farthest next use: with room for 2, at 3 the 2 (next used last) leaves.
  REQUIRE(cache_sim::optimal_hits(cache_sim::trace{1, 2, 3, 1, 3, 1, 3, 2}, 2) == 4);
  REQUIRE(cache_sim::optimal_hits(cache_sim::trace{1, 1, 1}, 0) == 0);
  // A loop over 3 keys with room for 2: every other request after the first pass.
  REQUIRE(cache_sim::optimal_hits(cache_sim::loop_trace(3, 300, 0), 2) >= 190);
}

TEST_CASE("sim: traces are deterministic and shaped as documented", "[cache_policy]") {
  REQUIRE(cache_sim::zipf_trace(1000, 0.9, 5000, 3) == cache_sim::zipf_trace(1000, 0.9, 5000, 3));
  REQUIRE(cache_sim::zipf_trace(1000, 0.9, 5000, 3) != cache_sim::zipf_trace(1000, 0.9, 5000, 4));
  const auto scan = cache_sim::scan_trace(1000, 10'000, 5000, 2000, 1);
  REQUIRE(scan.size() == 14'000);
  REQUIRE(cache_sim::distinct_keys(scan) <= 1000 + 4000);
  const auto loop = cache_sim::loop_trace(150, 1000, 1);
  REQUIRE(cache_sim::distinct_keys(loop) == 150);
  const auto shifting = cache_sim::shifting_trace(3, 10'000, 1000, 200, 1);
  REQUIRE(shifting.size() == 30'000);
  REQUIRE(*std::max_element(shifting.begin(), shifting.end()) < 2 * 800 + 1000);
  const auto bursts = cache_sim::burst_trace(50'000, 1);
  REQUIRE(bursts.size() == 50'000);
  // Most keys are asked for 2 to 5 times; a fifth to a third of the requests are first ones.
  const double first = static_cast<double>(cache_sim::distinct_keys(bursts)) / 50'000;
  REQUIRE(first > 0.2);
  REQUIRE(first < 0.34);
}

TEST_CASE("cache: the public API adapts as the policy driven directly does", "[cache_policy]") {
  const auto t = cache_sim::burst_trace(60'000, 2);
  cache_sim::frugal_cache_policy through_api(200);
  cache_sim::w_tinylfu_policy direct(200, frugal::detail::cache::window_sizing::adaptive);
  const double a = ratio(cache_sim::replay(through_api, t), t.size());
  const double d = ratio(cache_sim::replay(direct, t), t.size());
  INFO("through the API " << a << ", direct " << d);
  REQUIRE(std::abs(a - d) <= 0.001);
  REQUIRE(through_api.cache().policy_sizes().window > 2);  // it grew from 1 % (2 entries)
}

TEST_CASE("cache: on a loop the adaptive cache beats LRU", "[cache_policy]") {
  const auto t = cache_sim::loop_trace(150, 60'000, 1);
  cache_sim::frugal_cache_policy frugal_cache(100);
  cache_sim::lru_policy lru(100);
  const double f = ratio(cache_sim::replay(frugal_cache, t), t.size());
  const double l = ratio(cache_sim::replay(lru, t), t.size());
  REQUIRE(l == 0);
  REQUIRE(f > 0.5);
}

TEST_CASE("cache: on recency bursts the adaptive cache comes near LRU", "[cache_policy]") {
  const auto t = cache_sim::burst_trace(300'000, 1);
  const std::size_t capacity = cache_sim::distinct_keys(t) / 100;  // 1 %
  cache_sim::frugal_cache_policy frugal_cache(capacity);
  cache_sim::lru_policy lru(capacity);
  cache_sim::w_tinylfu_policy fixed(capacity, frugal::detail::cache::window_sizing::fixed);
  const double f = ratio(cache_sim::replay(frugal_cache, t), t.size());
  const double l = ratio(cache_sim::replay(lru, t), t.size());
  const double w = ratio(cache_sim::replay(fixed, t), t.size());
  INFO("frugal " << f << ", LRU " << l << ", fixed window " << w);
  // The goal is LRU - 0.5 points; this trace misses it by about a point (docs/cache.md).
  REQUIRE(f >= l - 0.02);
  REQUIRE(f > w + 0.3);                                                 // the window grew
  REQUIRE(frugal_cache.cache().policy_sizes().window > capacity / 25);  // from 1 %
}
