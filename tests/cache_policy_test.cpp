#include <frugal/cache.hpp>
#include <frugal/detail/cache/policy.hpp>
#include <frugal/detail/cache/timer_wheel.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include "cache_sim_policies.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

using frugal::detail::cache::window_chooser;
using frugal::testing::count_allocations;

namespace {

double ratio(std::uint64_t hits, std::size_t requests) {
  return static_cast<double>(hits) / static_cast<double>(requests);
}

// A window chooser fed by key, as the policy feeds it by entry: each key keeps its replay
// stamp from its first request on (as an entry that is never evicted would), or from the
// last `observe` told that its entry is new.
class keyed_chooser {
 public:
  explicit keyed_chooser(std::uint64_t capacity) : chooser_(capacity) {}

  std::uint64_t observe(std::uint64_t hash, std::uint32_t weight, bool new_entry = false) {
    auto [it, fresh] = stamps_.try_emplace(hash, 0u);
    if (fresh || new_entry) it->second = chooser_.long_ago();
    return chooser_.observe(hash, weight, it->second);
  }
  std::uint64_t choices() const { return chooser_.choices(); }
  double window_fraction() const { return chooser_.window_fraction(); }
  std::uint64_t rate() const { return chooser_.rate(); }

 private:
  window_chooser chooser_;
  std::unordered_map<std::uint64_t, std::uint32_t> stamps_;
};

}  // namespace

TEST_CASE("chooser: samples every key of a small cache, a few hundred entries' worth of a big one",
          "[cache_policy]") {
  constexpr std::uint64_t m = window_chooser::miniature_entries;
  static_assert(m == 256);
  window_chooser small(m);
  REQUIRE(small.rate() == window_chooser::all_hashes);
  REQUIRE(small.miniature_capacity() == m);
  window_chooser big(100'000);
  REQUIRE(big.rate() == 10'995'117);  // ceil(2^32 * 256 / 100,000)
  REQUIRE(big.miniature_capacity() == m);
  // Huge bounds (a byte budget, say) keep miniatures of a few hundred entries.
  window_chooser huge(std::uint64_t{1} << 39);
  REQUIRE(huge.rate() == 2);
  REQUIRE(huge.miniature_capacity() == m);
  window_chooser beyond(std::uint64_t{1} << 50);
  REQUIRE(beyond.rate() == 1);
  REQUIRE(beyond.miniature_capacity() == 2 * m);  // the clamp
  window_chooser one(1);
  REQUIRE(one.miniature_capacity() == 1);
  // The span of sure hits is the 1 % miniature's window.
  REQUIRE(small.sure_span() == 3);  // 1 % of 256 entries, to the nearest
  REQUIRE(big.sure_span() == 3);
  REQUIRE(beyond.sure_span() == 5);
  REQUIRE(one.sure_span() == 1);
  REQUIRE(small.window_fraction() == 0.01);  // before any choice
}

TEST_CASE("miniature: hits exactly as the fixed-window policy does, on every trace shape",
          "[cache_policy]") {
  const std::vector<cache_sim::trace> traces = {
      cache_sim::zipf_trace(5'000, 0.9, 30'000, 1), cache_sim::loop_trace(150, 20'000, 1),
      cache_sim::burst_trace(30'000, 1), cache_sim::scan_trace(5'000, 30'000, 5'000, 1'000, 1)};
  for (const auto& t : traces) {
    // 150 and 256: a 1 % window of 1.5 and 2.56 entries, which the miniature rounds up.
    for (std::uint64_t capacity : {1u, 7u, 100u, 150u, 256u, 600u}) {
      for (double fraction : window_chooser::windows) {
        frugal::detail::cache::miniature mini(capacity, fraction);
        const auto sizes = frugal::detail::cache::region_sizes::nearest(capacity, fraction);
        cache_sim::w_tinylfu_policy reference(sizes, frugal::detail::cache::window_sizing::fixed);
        std::uint64_t reference_hits = 0;
        for (auto k : t) {
          mini.access(frugal::detail::cache::mix(k), 1);
          reference_hits += reference.access(k) ? 1 : 0;
        }
        INFO("capacity " << capacity << ", window " << fraction);
        REQUIRE(mini.take_hits() == reference_hits);
        REQUIRE(mini.take_hits() == 0);
      }
    }
  }
}

TEST_CASE("miniature: a whole-capacity window hits as the policy does, with weights too",
          "[cache_policy]") {
  // The miniature runs a whole-capacity window as a plain LRU list; the policy itself is the
  // reference here, driven by hand with weights from 1 to a third of the capacity.
  using frugal::detail::cache::policy_hook;
  using frugal::detail::cache::w_tinylfu;
  for (std::uint64_t capacity : {1u, 5u, 64u, 300u}) {
    frugal::detail::cache::miniature mini(capacity, 1.0);
    w_tinylfu reference(capacity, frugal::detail::cache::window_sizing::fixed, 1.0);
    std::unordered_map<std::uint64_t, std::unique_ptr<policy_hook>> nodes;
    std::uint64_t reference_hits = 0, x = capacity;
    for (int i = 0; i < 40'000; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      const std::uint64_t key = (x >> 33) % (capacity / 4 + 3);
      const std::uint64_t h = frugal::detail::cache::mix(key);
      const auto weight =
          static_cast<std::uint32_t>(1 + (x >> 13) % std::max<std::uint64_t>(1, capacity / 3));
      mini.access(h, weight);
      if (auto it = nodes.find(h); it != nodes.end()) {
        ++reference_hits;
        reference.on_access(it->second.get());
      } else {
        auto node = std::make_unique<policy_hook>();
        node->hash = h;
        node->weight = weight;
        reference.on_add(node.get());
        nodes.emplace(h, std::move(node));
      }
      while (policy_hook* victim = reference.evict_one()) {
        reference.on_remove(victim);
        nodes.erase(victim->hash);
      }
      INFO("capacity " << capacity << ", request " << i);
      for (const auto& [hash, node] : nodes) REQUIRE(mini.contains(hash));
    }
    INFO("capacity " << capacity);
    REQUIRE(mini.take_hits() == reference_hits);
    REQUIRE(reference_hits > 1000);
  }
}

TEST_CASE("replay clock: an entry replayed among the last w is cached in every miniature",
          "[cache_policy]") {
  using frugal::detail::cache::miniature;
  using frugal::detail::cache::region_sizes;
  using frugal::detail::cache::replay_clock;
  // Traces whose keys come back at every distance, the near ones included: Zipf over a few
  // times the capacity, bursts, a loop just over the capacity, a uniform mix.
  std::vector<cache_sim::trace> traces = {
      cache_sim::zipf_trace(3'000, 0.9, 60'000, 1), cache_sim::zipf_trace(1'200, 0.6, 60'000, 2),
      cache_sim::burst_trace(60'000, 3), cache_sim::loop_trace(700, 60'000, 4)};
  cache_sim::trace uniform;
  std::uint64_t x = 7;
  for (int i = 0; i < 60'000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    uniform.push_back((x >> 33) % 620);
  }
  traces.push_back(uniform);
  std::size_t taken = 0, requests = 0;
  for (std::uint64_t capacity : {200u, 256u, 512u}) {
    const std::uint64_t w = region_sizes::nearest(capacity, window_chooser::windows[0]).window;
    for (const auto& t : traces) {
      replay_clock clock(w);
      REQUIRE(clock.span() == w);
      std::unordered_map<std::uint64_t, std::uint32_t> stamps;
      std::vector<std::unique_ptr<miniature>> minis;
      for (double f : window_chooser::windows) minis.push_back(std::make_unique<miniature>(capacity, f));
      std::size_t sure = 0;
      for (auto k : t) {
        const std::uint64_t h = frugal::detail::cache::mix(k);
        std::uint32_t& stamp = stamps.try_emplace(h, clock.long_ago()).first->second;
        if (clock.sure(stamp)) {
          ++sure;
          for (const auto& m : minis) {
            INFO("capacity " << capacity << ", window " << w);
            REQUIRE(m->contains(h));
          }
          continue;
        }
        clock.replayed(1, stamp);
        for (const auto& m : minis) m->access(h, 1);
      }
      taken += sure;
      requests += t.size();
    }
  }
  REQUIRE(taken > requests / 100);  // the rule is taken, not only sound
}

TEST_CASE("replay clock: the last w replayed entries, none after a heavier request",
          "[cache_policy]") {
  using frugal::detail::cache::replay_clock;
  {
    // A new entry is stamped long ago: not sure, in a span of 1 and right at the start.
    replay_clock z(1);
    std::uint32_t a = z.long_ago(), b = z.long_ago();
    REQUIRE_FALSE(z.sure(a));
    z.replayed(1, a);
    REQUIRE(z.sure(a));
    REQUIRE_FALSE(z.sure(b));
    z.replayed(1, b);
    REQUIRE_FALSE(z.sure(a));  // b was replayed since: a is out of a span of 1
    REQUIRE(z.sure(b));
  }
  replay_clock r(3);
  std::uint32_t e1 = r.long_ago(), e2 = r.long_ago(), e3 = r.long_ago(), e4 = r.long_ago();
  r.replayed(1, e1);
  REQUIRE(r.sure(e1));  // an immediate repeat
  r.replayed(1, e2);
  r.replayed(0, e3);    // weight 0 counts as 1
  REQUIRE(r.sure(e1));  // two replays since e1's: still within 3
  r.replayed(1, e4);
  REQUIRE_FALSE(r.sure(e1));  // e1's replay is now the fourth back
  REQUIRE(r.sure(e2));
  REQUIRE(r.sure(e4));
  r.replayed(2, e4);  // after a heavier request no entry is sure any more
  REQUIRE(r.span() == 0);
  REQUIRE_FALSE(r.sure(e4));
  REQUIRE_FALSE(r.sure(e3));
  // Why heavy requests end it: a key inserted heavy stays heavy in the policy. Miniatures of
  // 256 entries, a span of 2: K of weight 256, K again of weight 1, R; K would be sure, yet R
  // pushed K out of every miniature.
  {
    using frugal::detail::cache::miniature;
    replay_clock clock(2);
    std::uint32_t sk = clock.long_ago(), so = clock.long_ago();
    std::vector<std::unique_ptr<miniature>> minis;
    for (double f : window_chooser::windows) minis.push_back(std::make_unique<miniature>(256, f));
    const std::uint64_t k = frugal::detail::cache::mix(1), other = frugal::detail::cache::mix(2);
    for (auto [h, w] : {std::pair{k, 256u}, {k, 1u}, {other, 1u}}) {
      std::uint32_t& stamp = h == k ? sk : so;
      REQUIRE_FALSE(clock.sure(stamp));
      clock.replayed(w, stamp);
      for (const auto& m : minis) m->access(h, w);
    }
    for (const auto& m : minis) REQUIRE_FALSE(m->contains(k));
    REQUIRE_FALSE(clock.sure(sk));
  }
  REQUIRE(replay_clock(0).span() == 1);
}

TEST_CASE("chooser: recency bursts get a large window, a loop the 1 % window",
          "[cache_policy]") {
  // Bursts: each new key is read a few times within a short distance, then rarely; only a
  // window large enough to keep the newcomers until their re-reads gets hits.
  const auto t = cache_sim::burst_trace(100'000, 1);
  keyed_chooser bursts(cache_sim::distinct_keys(t) / 100);  // 1 %, as in docs/cache.md
  for (auto k : t) bursts.observe(frugal::detail::cache::mix(k), 1);
  REQUIRE(bursts.choices() > 100);
  REQUIRE(bursts.window_fraction() >= 0.3);
  // A loop over 1.5 times the capacity: LRU (the 100 % window) never hits; the admission test
  // keeps a fixed part of the loop, which only a small window leaves room for.
  keyed_chooser loop(100);
  for (auto k : cache_sim::loop_trace(150, 60'000, 1)) loop.observe(frugal::detail::cache::mix(k), 1);
  REQUIRE(loop.choices() > 100);
  REQUIRE(loop.window_fraction() == 0.01);
}

TEST_CASE("chooser: a shift of the workload changes the choice back", "[cache_policy]") {
  keyed_chooser c(100);
  for (auto k : cache_sim::loop_trace(150, 30'000, 1)) c.observe(frugal::detail::cache::mix(k), 1);
  REQUIRE(c.window_fraction() == 0.01);
  for (auto k : cache_sim::burst_trace(100'000, 2)) c.observe(frugal::detail::cache::mix(k + (1u << 30)), 1);
  REQUIRE(c.window_fraction() >= 0.3);
}

TEST_CASE("chooser: after a shift the choice follows within a few periods", "[cache_policy]") {
  // Every key of a 100-entry cache is sampled: a period is 25 requests, rounded up to one
  // batch of 32. The chooser takes 215 to 250 requests on these seeds; with a period of the
  // whole miniature capacity (128 requests) it took 864 to 962.
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    CAPTURE(seed);
    keyed_chooser c(100);
    for (auto k : cache_sim::loop_trace(150, 30'000, seed)) {
      c.observe(frugal::detail::cache::mix(k), 1);
    }
    REQUIRE(c.window_fraction() == 0.01);
    std::size_t requests = 0;
    for (auto k : cache_sim::burst_trace(100'000, seed + 1)) {
      c.observe(frugal::detail::cache::mix(k + (1u << 30)), 1);
      ++requests;
      if (c.window_fraction() >= 0.3) break;
    }
    REQUIRE(requests <= 400);
  }
}

TEST_CASE("chooser: on a steady workload the choice settles and stays", "[cache_policy]") {
  // Zipf 0.9: the 1 % window is right, and near-ties with 100 % must not make it flap.
  keyed_chooser c(300);
  const auto t = cache_sim::zipf_trace(20'000, 0.9, 400'000, 2);
  std::size_t changes = 0;
  double last = c.window_fraction();
  for (std::size_t i = 0; i < t.size(); ++i) {
    c.observe(frugal::detail::cache::mix(t[i]), 1);
    if (c.window_fraction() != last && i > t.size() / 4) ++changes;
    last = c.window_fraction();
  }
  REQUIRE(c.choices() > 500);
  REQUIRE(changes == 0);
  REQUIRE(c.window_fraction() == 0.01);
}

TEST_CASE("chooser: a loop after bursts brings the window back to 1 %", "[cache_policy]") {
  keyed_chooser c(100);
  for (auto k : cache_sim::burst_trace(60'000, 3)) c.observe(frugal::detail::cache::mix(k), 1);
  REQUIRE(c.window_fraction() >= 0.3);
  for (auto k : cache_sim::loop_trace(150, 60'000, 2)) c.observe(frugal::detail::cache::mix(k + (1u << 30)), 1);
  REQUIRE(c.window_fraction() == 0.01);
}

TEST_CASE("cache: with a weigher the window stays at 1 %, and adaptive_window = false keeps it",
          "[cache_policy]") {
  const auto t = cache_sim::burst_trace(60'000, 1);
  using key_cache = frugal::cache<cache_sim::key_type, cache_sim::key_type>;
  key_cache weighted({.max_capacity = 1000,
                      .weigher = [](const cache_sim::key_type&, const cache_sim::key_type&) {
                        return std::uint32_t{2};
                      },
                      .shards = 1});
  key_cache fixed({.max_capacity = 500, .shards = 1, .adaptive_window = false});
  key_cache adaptive({.max_capacity = 500, .shards = 1});
  for (auto k : t) {
    for (key_cache* c : {&weighted, &fixed, &adaptive}) {
      if (!c->get(k)) c->insert(k, k);
      c->run_pending_tasks();
    }
  }
  REQUIRE(weighted.policy_sizes().window == 10);
  REQUIRE(fixed.policy_sizes().window == 5);
  REQUIRE(adaptive.policy_sizes().window > 5);  // the same trace moves the adaptive one
}

TEST_CASE("chooser: a weight above the miniatures' capacity is not replayed", "[cache_policy]") {
  keyed_chooser c(10);
  for (int i = 0; i < 1000; ++i) REQUIRE(c.observe(frugal::detail::cache::mix(static_cast<std::uint64_t>(i)), 11) == 0);
  REQUIRE(c.choices() == 0);
  std::uint64_t chosen = 0;
  for (int i = 0; i < 1000; ++i) chosen += c.observe(frugal::detail::cache::mix(static_cast<std::uint64_t>(i % 30)), 10);
  REQUIRE(c.choices() > 0);
  REQUIRE(chosen > 0);
}

TEST_CASE("chooser: its memory is bounded whatever the capacity (about 32 KiB)",
          "[cache_policy]") {
  std::size_t most = 0;
  for (const std::uint64_t capacity : {1ull, 100ull, 256ull, 257ull, 10'000ull, 1ull << 40}) {
    std::unique_ptr<window_chooser> c;
    const auto used = frugal::testing::measure_allocations(
        [&] { c = std::make_unique<window_chooser>(capacity); });
    INFO("capacity " << capacity);
    REQUIRE(used.bytes <= 33'000);
    most = std::max(most, used.bytes);
  }
  REQUIRE(most > 30'000);  // from 256 entries up: two miniatures of 256 entries
}

TEST_CASE("chooser: choosing allocates nothing", "[cache_policy]") {
  window_chooser c(1000);
  const auto t = cache_sim::burst_trace(20'000, 3);
  std::vector<std::uint32_t> stamps(cache_sim::distinct_keys(t) + 1, c.long_ago());
  REQUIRE(count_allocations([&] {
            for (auto k : t) c.observe(frugal::detail::cache::mix(k), 1, stamps.at(k));
          }) == 0);
  REQUIRE(c.choices() > 0);

  // The policy through many choices: hooks are the caller's, the sketch and the chooser were
  // allocated at construction.
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
  REQUIRE(p.chooser()->choices() > 5);
  REQUIRE(p.weighted_size() <= 100);
}

TEST_CASE("policy: the chooser gets every sampled request, in order, batched or not",
          "[cache_policy]") {
  // Reads are noted for the chooser and handed over 64 at a time, or when the policy next
  // evicts; the chooser's state must be the one it reaches fed request by request. Every
  // fifth request comes three times in a row (a hot key's reads); with `heavy`, a seventh
  // of the keys weigh 2 (the chooser then replays repeats instead of counting them).
  using frugal::detail::cache::policy_hook;
  using frugal::detail::cache::queue;
  // 200 entries: every key is sampled; 5,000: about 256 entries' worth of keys.
  const std::uint64_t capacity = GENERATE(std::uint64_t{200}, std::uint64_t{5'000});
  const bool heavy = GENERATE(false, true);
  CAPTURE(capacity, heavy);
  const auto t = cache_sim::burst_trace(capacity * 150, 4);
  struct request {
    std::uint64_t hash;
    std::uint32_t weight;
  };
  std::vector<request> requests;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const request r{frugal::detail::cache::mix(t[i]), heavy && t[i] % 7 == 0 ? 2u : 1u};
    for (std::size_t n = i % 5 == 0 ? 3 : 1; n > 0; --n) requests.push_back(r);
  }
  frugal::detail::cache::w_tinylfu batched(capacity), eager(capacity);
  keyed_chooser direct(capacity);
  std::unordered_map<std::uint64_t, policy_hook> hooks_a, hooks_b;
  std::size_t reads = 0;
  // Feeds one request to a policy; returns true for a read (the key was linked).
  auto feed = [](frugal::detail::cache::w_tinylfu& p,
                 std::unordered_map<std::uint64_t, policy_hook>& hooks, const request& r,
                 bool flush_after_read) {
    auto [it, fresh] = hooks.try_emplace(r.hash);
    it->second.hash = r.hash;
    it->second.weight = r.weight;
    if (!fresh && it->second.where != queue::none) {
      p.on_access(&it->second);
      if (flush_after_read) p.flush_samples();
      return true;
    }
    p.on_add(&it->second);
    while (policy_hook* victim = p.evict_one()) p.on_remove(victim);
    return false;
  };
  for (const request& r : requests) {
    if (frugal::detail::cache::sampled_at(r.hash, direct.rate())) {
      // A key the policy (re-)adds gets a new entry, stamped long ago.
      const auto it = hooks_a.find(r.hash);
      direct.observe(r.hash, r.weight, it == hooks_a.end() || it->second.where == queue::none);
    }
    reads += feed(batched, hooks_a, r, false) ? 1 : 0;
    feed(eager, hooks_b, r, true);
  }
  REQUIRE(reads > capacity * 50);
  batched.flush_samples();
  eager.flush_samples();
  REQUIRE(direct.choices() > 10);
  REQUIRE(batched.chooser()->choices() == direct.choices());
  REQUIRE(eager.chooser()->choices() == direct.choices());
  REQUIRE(batched.chooser()->window_fraction() == direct.window_fraction());
  REQUIRE(eager.chooser()->window_fraction() == direct.window_fraction());

  // Fewer than 64 noted reads wait until the policy next evicts: evict_one hands them over
  // first, so a size they make the chooser name applies to that eviction.
  {
    frugal::detail::cache::w_tinylfu q(100);
    keyed_chooser ref(100);  // every key of a 100-entry cache is sampled
    std::vector<policy_hook> few(100);
    for (std::size_t i = 0; i < few.size(); ++i) {
      few[i].hash = frugal::detail::cache::mix(i + 1'000'000);
      ref.observe(few[i].hash, 1);
      q.on_add(&few[i]);
      while (policy_hook* victim = q.evict_one()) q.on_remove(victim);
    }
    REQUIRE(q.chooser()->choices() == ref.choices());
    for (std::size_t i = 0; i < 40; ++i) {
      ref.observe(few[i].hash, 1);
      q.on_access(&few[i]);
    }
    REQUIRE(ref.choices() > q.chooser()->choices());  // a period ended within those reads
    REQUIRE(q.evict_one() == nullptr);
    REQUIRE(q.chooser()->choices() == ref.choices());
  }

  // Reads alone, with no eviction: the noted requests reach the chooser when 64 are waiting.
  frugal::detail::cache::w_tinylfu p(100);
  std::vector<policy_hook> hooks(100);
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    hooks[i].hash = frugal::detail::cache::mix(i);
    p.on_add(&hooks[i]);
    while (policy_hook* victim = p.evict_one()) p.on_remove(victim);
  }
  const std::uint64_t before = p.chooser()->choices();
  for (int round = 0; round < 100; ++round) {
    for (auto& h : hooks) p.on_access(&h);
  }
  REQUIRE(p.chooser()->choices() > before + 50);
}

TEST_CASE("policy: a resized window keeps every region within its size", "[cache_policy]") {
  frugal::detail::cache::w_tinylfu p(100);
  std::vector<frugal::detail::cache::policy_hook> hooks(20'000);
  for (std::size_t i = 0; i < hooks.size(); ++i) hooks[i].hash = frugal::detail::cache::mix(i);
  std::uint64_t last_window = p.sizes().window;
  bool grew = false, shrank = false;
  auto request = [&](std::size_t i) {
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
    grew = grew || p.sizes().window > last_window;
    shrank = shrank || p.sizes().window < last_window;
    last_window = p.sizes().window;
  };
  for (int phase = 0; phase < 4; ++phase) {
    // A loop over 150 keys (the small window wins), then bursts: each new key read three
    // times within a few requests, then never (the large window wins).
    for (int round = 0; round < 40; ++round) {
      for (std::size_t i = 0; i < 150; ++i) request(i);
    }
    for (std::size_t i = 150 + 4000 * static_cast<std::size_t>(phase), end = i + 4000; i < end;
         ++i) {
      request(i);
      request(i - 1);
      request(i - 2);
    }
  }
  REQUIRE(grew);
  REQUIRE(shrank);
}

TEST_CASE("policy: a big change of window moves at most max_moves entries per eviction",
          "[cache_policy]") {
  using frugal::detail::cache::w_tinylfu;
  constexpr std::uint64_t capacity = 5000;
  w_tinylfu p(capacity);
  std::vector<frugal::detail::cache::policy_hook> hooks(400'000);
  for (std::size_t i = 0; i < hooks.size(); ++i) hooks[i].hash = frugal::detail::cache::mix(i);
  std::uint64_t largest_step = 0, largest_window = 0;
  auto request = [&](std::size_t i) {
    auto& h = hooks[i];
    const std::uint64_t window_before = p.window_weight();
    const std::uint64_t protected_before = p.protected_weight();
    if (h.where != frugal::detail::cache::queue::none) {
      p.on_access(&h);
    } else {
      p.on_add(&h);
    }
    auto* victim = p.evict_one();  // one eviction: its moves are bounded
    if (window_before > p.window_weight()) {
      largest_step = std::max(largest_step, window_before - p.window_weight());
    }
    if (protected_before > p.protected_weight()) {
      largest_step = std::max(largest_step, protected_before - p.protected_weight());
    }
    if (victim != nullptr) p.on_remove(victim);
    while (auto* more = p.evict_one()) p.on_remove(more);
    largest_window = std::max(largest_window, p.window_weight());
  };
  // New keys, each read again 1,000 new keys later (farther than a 1 % window reaches, and
  // with nothing to win admission with): the window grows to all of the capacity. Then a loop
  // over 1.5 times the capacity, which only the admission test keeps hitting: back to 1 %.
  std::size_t next = 0;
  for (; next < 200'000; ++next) {
    request(next);
    if (next >= 1000) request(next - 1000);
  }
  REQUIRE(p.sizes().window == capacity);
  REQUIRE(largest_window > 4000);
  for (int round = 0; round < 40; ++round) {
    for (std::size_t i = 0; i < capacity * 3 / 2; ++i) request(next + i);
  }
  REQUIRE(p.sizes().window == capacity / 100);
  REQUIRE(p.window_weight() <= p.sizes().window);
  REQUIRE(largest_step > 1);                     // it did move many entries at once...
  REQUIRE(largest_step <= w_tinylfu::max_moves);  // ...but never more than max_moves
}

TEST_CASE("policy: a fixed window never moves", "[cache_policy]") {
  cache_sim::w_tinylfu_policy p(100, frugal::detail::cache::window_sizing::fixed);
  cache_sim::replay(p, cache_sim::burst_trace(20'000, 1));
  REQUIRE_FALSE(p.policy().adaptive());
  REQUIRE(p.policy().sizes().window == 1);
  REQUIRE(p.policy().chooser() == nullptr);
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
  // With a maintenance after every request, the cache makes the policy's decisions exactly:
  // the same hits, request for request.
  const std::uint64_t seed = GENERATE(std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3});
  const std::size_t capacity = GENERATE(std::size_t{200}, std::size_t{300}, std::size_t{3'000});
  CAPTURE(seed, capacity);
  const auto t = cache_sim::burst_trace(60'000, seed);
  cache_sim::frugal_cache_policy through_api(capacity);
  cache_sim::w_tinylfu_policy direct(capacity, frugal::detail::cache::window_sizing::adaptive);
  REQUIRE(cache_sim::replay(through_api, t) == cache_sim::replay(direct, t));
  REQUIRE(through_api.cache().policy_sizes().window > capacity / 100);  // it grew from 1 %
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

// --- the timer wheel (expiry) ---

namespace {

using frugal::detail::cache::expiry_hook;
using frugal::detail::cache::timer_wheel;

// Empties the due list into a set of hook numbers (erasing each from the wheel).
std::set<std::size_t> take_due(timer_wheel& w, std::vector<expiry_hook>& hooks) {
  std::set<std::size_t> due;
  while (expiry_hook* h = w.next_due()) {
    const auto i = static_cast<std::size_t>(h - hooks.data());
    REQUIRE(due.insert(i).second);
    w.erase(h);
  }
  return due;
}

// t - x, or the least time when that would overflow (x at least 0).
std::int64_t back(std::int64_t t, std::int64_t x) {
  return t < std::numeric_limits<std::int64_t>::min() + x ? std::numeric_limits<std::int64_t>::min()
                                                           : t - x;
}

// An offset of any magnitude: 0 to 2^62 ns, its scale drawn evenly.
std::int64_t any_offset(std::mt19937_64& rng) {
  const unsigned bits = static_cast<unsigned>(rng() % 63);
  return static_cast<std::int64_t>(rng() & ((std::uint64_t{1} << bits) - 1));
}

}  // namespace

TEST_CASE("timer wheel: due hooks are exactly a sorted-set model's, under a fake clock",
          "[cache_policy]") {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<expiry_hook> hooks(300);
    std::map<std::size_t, std::int64_t> scheduled;   // hook -> deadline: the model
    std::set<std::size_t> left;                      // found due and left in the due list
    std::multiset<std::pair<std::int64_t, std::size_t>> by_deadline;
    timer_wheel w;
    w.reserve();
    // Start anywhere, the ends of the range included.
    std::int64_t now = seed % 5 == 0   ? std::numeric_limits<std::int64_t>::min()
                       : seed % 5 == 1 ? -static_cast<std::int64_t>(rng() >> 2)
                                       : static_cast<std::int64_t>(rng() >> (seed % 40));
    w.advance(now);
    REQUIRE(w.next_due() == nullptr);
    auto schedule = [&](std::size_t i, std::int64_t d) {
      left.erase(i);
      if (auto it = scheduled.find(i); it != scheduled.end()) {
        by_deadline.erase(by_deadline.find({it->second, i}));
        scheduled.erase(it);
      }
      w.schedule(&hooks[i], d);
      REQUIRE(hooks[i].known_deadline == d);
      if (d == frugal::detail::cache::never) return;
      scheduled[i] = d;
      by_deadline.insert({d, i});
    };
    for (int step = 0; step < 3000; ++step) {
      const std::size_t i = rng() % hooks.size();
      switch (rng() % 8) {
        case 0:
        case 1:
        case 2: {  // schedule after now, at any scale; now and then in the past or never
          std::int64_t d = frugal::detail::cache::saturating_add(now, any_offset(rng));
          if (rng() % 16 == 0) d = back(now, static_cast<std::int64_t>(rng() % 5000));
          if (rng() % 32 == 0) d = frugal::detail::cache::never;
          if (rng() % 64 == 0) d = std::numeric_limits<std::int64_t>::max() - 1;
          schedule(i, d);
          break;
        }
        case 3: {
          w.erase(&hooks[i]);
          left.erase(i);
          if (auto it = scheduled.find(i); it != scheduled.end()) {
            by_deadline.erase(by_deadline.find({it->second, i}));
            scheduled.erase(it);
          }
          break;
        }
        default: {  // advance by any amount (now and then back a little, or to a deadline)
          std::int64_t t = frugal::detail::cache::saturating_add(now, any_offset(rng) >> (rng() % 40));
          if (rng() % 10 == 0) t = back(now, static_cast<std::int64_t>(rng() % 3000));
          if (rng() % 6 == 0 && !by_deadline.empty()) {
            auto it = by_deadline.begin();
            std::advance(it, static_cast<long>(rng() % by_deadline.size()));
            t = back(it->first, static_cast<std::int64_t>(rng() % 2));  // on it, or 1 ns before
          }
          w.advance(t);
          REQUIRE(w.now() == t);
          now = t;
          // Due: what the model says, and what an earlier advance found due and was left.
          std::set<std::size_t> expect = left;
          for (auto it = by_deadline.begin(); it != by_deadline.end() && it->first <= t; ++it) {
            expect.insert(it->second);
          }
          left.clear();
          // Take out what is due, or schedule it again for later, as a time-to-idle read makes
          // the cache do; now and then stop part-way, as a maintenance that failed does.
          std::set<std::size_t> got;
          while (expiry_hook* h = w.next_due()) {
            const auto j = static_cast<std::size_t>(h - hooks.data());
            REQUIRE(got.insert(j).second);
            REQUIRE(expect.contains(j));
            if (rng() % 8 == 0) {
              // Leave the rest: the due list keeps them in its order, so take them by walking.
              for (expiry_hook* r = h; r != nullptr; r = r->wheel_next) {
                left.insert(static_cast<std::size_t>(r - hooks.data()));
                got.insert(static_cast<std::size_t>(r - hooks.data()));
              }
              break;
            }
            if (rng() % 3 == 0) {
              schedule(j, frugal::detail::cache::saturating_add(now, 1 + any_offset(rng)));
            } else {
              w.erase(h);
              by_deadline.erase(by_deadline.find({scheduled[j], j}));
              scheduled.erase(j);
            }
          }
          REQUIRE(got == expect);
          break;
        }
      }
      REQUIRE(w.size() == scheduled.size());
    }
    // Every deadline comes: the last one's time takes out all that is left.
    if (!by_deadline.empty()) {
      const std::int64_t last = std::prev(by_deadline.end())->first;
      w.advance(last);
      std::set<std::size_t> expect;
      for (const auto& [d, j] : by_deadline) expect.insert(j);
      REQUIRE(take_due(w, hooks) == expect);
    }
    REQUIRE(w.empty());
  }
}

TEST_CASE("timer wheel: deadlines at every level's edges, from the least time to the greatest",
          "[cache_policy]") {
  const std::int64_t starts[] = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                 std::int64_t{1} << 40,
                                 std::numeric_limits<std::int64_t>::max() - (std::int64_t{1} << 50)};
  for (const std::int64_t start : starts) {
    std::vector<std::int64_t> deadlines;
    for (int bit = 0; bit < 63; ++bit) {
      const std::int64_t d = std::int64_t{1} << bit;
      for (const std::int64_t off : {d - 1, d, d + 1}) {
        const std::int64_t t = frugal::detail::cache::saturating_add(start, off);
        if (t != frugal::detail::cache::never) deadlines.push_back(t);
      }
    }
    std::vector<expiry_hook> hooks(deadlines.size());
    timer_wheel w;
    w.reserve();
    w.advance(start);
    for (std::size_t i = 0; i < hooks.size(); ++i) w.schedule(&hooks[i], deadlines[i]);
    REQUIRE(w.size() == hooks.size());
    std::vector<std::int64_t> sorted = deadlines;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    // Step to each deadline and 1 ns before it: nothing early, everything on time.
    std::size_t taken = 0;
    for (const std::int64_t d : sorted) {
      if (d > start + 1) {
        w.advance(d - 1);
        REQUIRE(w.next_due() == nullptr);
      }
      w.advance(d);
      const auto due = take_due(w, hooks);
      REQUIRE(!due.empty());
      for (const std::size_t i : due) REQUIRE(deadlines[i] == d);
      taken += due.size();
    }
    REQUIRE(taken == hooks.size());
    REQUIRE(w.empty());
  }
}

TEST_CASE("timer wheel: one big jump takes out everything due, and nothing allocates",
          "[cache_policy]") {
  std::vector<expiry_hook> hooks(1000);
  timer_wheel w;
  w.reserve();
  std::mt19937_64 rng(7);
  std::size_t late = 0;
  const auto allocations = count_allocations([&] {
    w.advance(0);
    for (auto& h : hooks) {
      const std::int64_t d = any_offset(rng);
      late += d > 1'000'000'000'000 ? 1 : 0;  // after about 16.7 minutes
      w.schedule(&h, d);
    }
    w.advance(1'000'000'000'000);
    std::size_t due = 0;
    while (expiry_hook* h = w.next_due()) {
      REQUIRE(h->known_deadline <= 1'000'000'000'000);
      w.erase(h);
      ++due;
    }
    REQUIRE(due + late == hooks.size());
    REQUIRE(w.size() == late);
  });
  REQUIRE(allocations == 0);
}

TEST_CASE("policy: a run of reads through on_accesses does what on_access does one by one",
          "[cache_policy]") {
  using frugal::detail::cache::policy_hook;
  using frugal::detail::cache::queue;
  using frugal::detail::cache::w_tinylfu;
  using frugal::detail::cache::window_sizing;
  const auto sizing = GENERATE(window_sizing::fixed, window_sizing::adaptive);
  const std::uint64_t capacity = GENERATE(std::uint64_t{100}, std::uint64_t{2'000});
  CAPTURE(sizing == window_sizing::adaptive, capacity);
  w_tinylfu one(capacity, sizing), run(capacity, sizing);
  const std::size_t keys = capacity * 3;
  std::vector<policy_hook> a(keys), b(keys);
  for (std::size_t i = 0; i < keys; ++i) {
    a[i].hash = b[i].hash = frugal::detail::cache::mix(i);
    a[i].weight = b[i].weight = 1;
  }
  std::mt19937_64 rng(7);
  std::vector<policy_hook*> victims_a, victims_b;
  auto evict = [](w_tinylfu& p, std::vector<policy_hook*>& victims, policy_hook* base) {
    while (policy_hook* v = p.evict_one()) {
      victims.push_back(reinterpret_cast<policy_hook*>(v - base));  // as an index
      p.on_remove(v);
    }
  };
  for (int round = 0; round < 400; ++round) {
    // A few adds (or re-adds of evicted keys), then a run of up to 64 reads of linked and
    // unlinked keys, skewed toward low indexes.
    for (int k = 0; k < 8; ++k) {
      const std::size_t i = rng() % keys;
      if (a[i].where == queue::none) {
        one.on_add(&a[i]);
        run.on_add(&b[i]);
        evict(one, victims_a, a.data());
        evict(run, victims_b, b.data());
      }
    }
    const std::size_t n = rng() % 65;
    std::vector<std::size_t> picks(n);
    for (auto& i : picks) i = static_cast<std::size_t>(std::min<double>(
                              static_cast<double>(keys - 1),
                              std::pow(static_cast<double>(rng() % 10'000) / 10'000.0, 3) *
                                  static_cast<double>(keys)));
    for (std::size_t i : picks) {
      if (a[i].where != queue::none) one.on_access(&a[i]);
    }
    run.on_accesses(n, [&](std::size_t j) -> policy_hook* {
      policy_hook* h = &b[picks[j]];
      return h->where != queue::none ? h : nullptr;
    });
    one.flush_samples();
    run.flush_samples();
    REQUIRE(one.sizes().window == run.sizes().window);
    REQUIRE(one.window_weight() == run.window_weight());
    REQUIRE(one.protected_weight() == run.protected_weight());
    for (std::size_t i = 0; i < keys; ++i) {
      REQUIRE(a[i].where == b[i].where);
      REQUIRE(a[i].counts == b[i].counts);
    }
  }
  REQUIRE(victims_a == victims_b);
  REQUIRE(victims_a.size() > capacity / 4);  // the runs met a full policy
  if (sizing == window_sizing::adaptive) {
    REQUIRE(one.chooser()->choices() == run.chooser()->choices());
    REQUIRE(one.chooser()->choices() > 0);
  }
}

TEST_CASE("policy: the requests noted for the chooser never outlive their hooks",
          "[cache_policy]") {
  using frugal::detail::cache::policy_hook;
  using frugal::detail::cache::w_tinylfu;
  w_tinylfu p(100);  // every key of a 100-entry cache is sampled
  std::vector<std::unique_ptr<policy_hook>> hooks;
  for (std::uint64_t i = 0; i < 50; ++i) {
    hooks.push_back(std::make_unique<policy_hook>());
    hooks.back()->hash = frugal::detail::cache::mix(i);
    p.on_add(hooks.back().get());
    while (policy_hook* victim = p.evict_one()) p.on_remove(victim);
  }
  p.flush_samples();
  REQUIRE(p.noted_count() == 0);
  for (int i = 0; i < 5; ++i) p.on_access(hooks[static_cast<std::size_t>(i)].get());
  p.on_accesses(5, [&](std::size_t i) { return hooks[i + 5].get(); });
  REQUIRE(p.noted_count() == 10);
  // Removing a hook hands every pending note over first; the hook may then be freed, and a
  // later hand-over (here by evict_one) reads no freed memory (checked under ASan).
  p.on_remove(hooks[3].get());
  REQUIRE(p.noted_count() == 0);
  hooks[3].reset();
  p.on_access(hooks[4].get());
  REQUIRE(p.noted_count() == 1);
  REQUIRE(p.evict_one() == nullptr);
  REQUIRE(p.noted_count() == 0);
}
