// The hit-ratio simulator's traces and policies (benches/cache_sim.cpp), in a header so that
// tests/cache_policy_test.cpp checks them against hand-computed results.
//
// Every policy answers `access(key)`: true on a hit; on a miss it stores the key (or, where the
// policy may refuse, decides not to). Nothing here reads a clock: a trace and a capacity give
// one result on every run.
#pragma once

#include <frugal/cache.hpp>
#include <frugal/detail/cache/policy.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <queue>
#include <random>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cache_sim {

using key_type = std::uint64_t;
using trace = std::vector<key_type>;

// --- policies ---

/// Least recently used: a map to positions in a recency list.
class lru_policy {
 public:
  explicit lru_policy(std::size_t capacity) : capacity_(capacity) {}

  bool access(key_type key) {
    auto it = where_.find(key);
    if (it != where_.end()) {
      order_.splice(order_.end(), order_, it->second);
      return true;
    }
    if (capacity_ == 0) return false;
    if (where_.size() == capacity_) {
      where_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    where_.emplace(key, std::prev(order_.end()));
    return false;
  }
  bool contains(key_type key) const { return where_.count(key) != 0; }

 private:
  std::size_t capacity_;
  std::list<key_type> order_;  // front: least recently used
  std::unordered_map<key_type, std::list<key_type>::iterator> where_;
};

/// frugal's policy (`detail::cache::w_tinylfu`) driven directly, without the concurrent table:
/// with `window_sizing::fixed` it is the reference "W-TinyLFU with a 1 % window". Keys are
/// hashed as `frugal::cache<std::uint64_t, V>` hashes them, and every request ends with the
/// eviction loop, as every maintenance of the cache does, so with `window_sizing::adaptive` it
/// makes exactly the decisions the cache makes when every request is followed by
/// `run_pending_tasks()`.
class w_tinylfu_policy {
 public:
  w_tinylfu_policy(std::size_t capacity, frugal::detail::cache::window_sizing sizing,
                   double window_fraction = 0.01)
      : policy_(capacity, sizing, window_fraction) {}
  /// With the regions `sizes` (a window chooser's miniature rounds its window to the nearest
  /// entry: region_sizes::nearest).
  w_tinylfu_policy(const frugal::detail::cache::region_sizes& sizes,
                   frugal::detail::cache::window_sizing sizing)
      : policy_(sizes, sizing) {}

  bool access(key_type key) {
    auto it = nodes_.find(key);
    const bool hit = it != nodes_.end();
    if (hit) {
      policy_.on_access(&it->second);
    } else {
      node& n = nodes_.try_emplace(key).first->second;
      n.key = key;
      n.hash = frugal::detail::cache::mix(static_cast<std::uint64_t>(std::hash<key_type>{}(key)));
      policy_.on_add(&n);
    }
    // After a hit too: a size the window chooser names applies here (the window's overflow
    // moves to probation), as in the cache's maintenance.
    while (auto* victim = policy_.evict_one()) {
      policy_.on_remove(victim);
      nodes_.erase(static_cast<node*>(victim)->key);
    }
    return hit;
  }
  const frugal::detail::cache::w_tinylfu& policy() const { return policy_; }

 private:
  struct node : frugal::detail::cache::policy_hook {
    key_type key = 0;
  };
  frugal::detail::cache::w_tinylfu policy_;
  std::unordered_map<key_type, node> nodes_;  // nodes never move: the policy links them
};

/// `frugal::cache` through its public API: `get`, then `insert` on a miss, one shard, and
/// `run_pending_tasks()` after every request, so that no recorded read is dropped or late.
class frugal_cache_policy {
 public:
  explicit frugal_cache_policy(std::size_t capacity)
      : cache_({.max_capacity = capacity, .shards = 1}) {}

  bool access(key_type key) {
    const bool hit = cache_.get(key) != nullptr;
    if (!hit) cache_.insert(key, key);
    cache_.run_pending_tasks();
    return hit;
  }
  const frugal::cache<key_type, key_type>& cache() const { return cache_; }

 private:
  frugal::cache<key_type, key_type> cache_;
};

/// Belady's optimal offline policy (MIN), with bypass: on a miss, the key whose next use is
/// farthest in the future leaves, and that may be the requested key itself (it is then not
/// stored). No demand cache of the same capacity gets more hits on the trace.
inline std::uint64_t optimal_hits(std::span<const key_type> keys, std::size_t capacity) {
  constexpr std::size_t never = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> next(keys.size());
  {
    std::unordered_map<key_type, std::size_t> seen;
    seen.reserve(keys.size() / 4);
    for (std::size_t i = keys.size(); i-- > 0;) {
      auto [it, fresh] = seen.try_emplace(keys[i], never);
      next[i] = it->second;
      it->second = i;
    }
  }
  std::unordered_map<key_type, std::size_t> held;                  // key -> its next use
  std::priority_queue<std::pair<std::size_t, key_type>> farthest;  // stale pairs skipped
  std::uint64_t hits = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const key_type k = keys[i];
    const std::size_t use = next[i];
    auto it = held.find(k);
    if (it != held.end()) {
      ++hits;
      it->second = use;
      farthest.emplace(use, k);
      continue;
    }
    if (capacity == 0 || use == never) continue;
    if (held.size() == capacity) {
      while (held.at(farthest.top().second) != farthest.top().first) farthest.pop();
      if (farthest.top().first <= use) continue;  // the newcomer is needed last: bypass
      held.erase(farthest.top().second);
      farthest.pop();
    }
    held.emplace(k, use);
    farthest.emplace(use, k);
  }
  return hits;
}

/// Replays `keys` through `policy` and returns the number of hits.
template <class Policy>
std::uint64_t replay(Policy& policy, std::span<const key_type> keys) {
  std::uint64_t hits = 0;
  for (key_type k : keys) hits += policy.access(k) ? 1 : 0;
  return hits;
}

// --- traces ---

/// A uniform double in [0, 1) from the top 53 bits of one draw (the same on every platform,
/// unlike std::uniform_real_distribution).
inline double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

/// Draws ranks 0..n-1 with P(rank i) proportional to 1 / (i + 1)^s.
class zipf_ranks {
 public:
  zipf_ranks(std::size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
      cdf_[i] = sum;
    }
  }
  std::size_t operator()(std::mt19937_64& rng) const {
    const double u = unit(rng) * cdf_.back();
    const auto i =
        static_cast<std::size_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    return std::min(i, cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

/// Trace 1: `length` Zipf(s) requests over keys 0..n-1 (key = rank).
inline trace zipf_trace(std::size_t n, double s, std::size_t length, std::uint64_t seed) {
  zipf_ranks z(n, s);
  std::mt19937_64 rng(seed);
  trace out(length);
  for (auto& k : out) k = z(rng);
  return out;
}

/// Trace 2: `length` Zipf(0.9) requests over keys 0..n-1, and after every `every` of them a
/// scan of `scan` keys never requested before or after.
inline trace scan_trace(std::size_t n, std::size_t length, std::size_t every, std::size_t scan,
                        std::uint64_t seed) {
  const trace zipf = zipf_trace(n, 0.9, length, seed);
  trace out;
  out.reserve(length + length / every * scan);
  key_type fresh = key_type{1} << 40;
  for (std::size_t i = 0; i < zipf.size(); ++i) {
    out.push_back(zipf[i]);
    if ((i + 1) % every == 0) {
      for (std::size_t j = 0; j < scan; ++j) out.push_back(fresh++);
    }
  }
  return out;
}

/// Trace 3: `length` requests looping over `keys` keys in order (an LRU of fewer than `keys`
/// entries never hits). The seed only moves the key numbers (and so their hashes).
inline trace loop_trace(std::size_t keys, std::size_t length, std::uint64_t seed) {
  trace out(length);
  const key_type base = seed << 32;
  for (std::size_t i = 0; i < length; ++i) out[i] = base + i % keys;
  return out;
}

/// Trace 4: `phases` phases of `per_phase` Zipf(0.9) requests, each over a range of `range`
/// keys that starts `range - overlap` after the previous phase's (so consecutive ranges share
/// `overlap` keys). Within a phase, ranks map to the range's keys through a random
/// permutation, so a key's popularity in one phase says nothing about the next.
inline trace shifting_trace(std::size_t phases, std::size_t per_phase, std::size_t range,
                            std::size_t overlap, std::uint64_t seed) {
  zipf_ranks z(range, 0.9);
  std::mt19937_64 rng(seed);
  std::vector<key_type> perm(range);
  trace out;
  out.reserve(phases * per_phase);
  for (std::size_t p = 0; p < phases; ++p) {
    const key_type start = p * (range - overlap);
    for (std::size_t i = 0; i < range; ++i) perm[i] = start + i;
    for (std::size_t i = range; i > 1; --i) std::swap(perm[i - 1], perm[rng() % i]);
    for (std::size_t i = 0; i < per_phase; ++i) out.push_back(perm[z(rng)]);
  }
  return out;
}

/// Trace 5, recency-heavy bursts. Request by request: a repeat that falls due is served first
/// (when several fall due at once, the others slip to the next requests); otherwise, with
/// probability `revisit` (0.1), a key drawn uniformly from all keys seen so far ("rarely":
/// with N keys seen, a given old key is asked for with probability revisit / N per request);
/// otherwise a new key, which is then requested 1 to 4 more times (2 to 5 in all, uniform),
/// each repeat 1 to 99 requests later (uniform).
inline trace burst_trace(std::size_t length, std::uint64_t seed, double revisit = 0.1) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<key_type>> due(length + 1);
  trace out;
  out.reserve(length);
  key_type next_key = 0;
  for (std::size_t t = 0; t < length; ++t) {
    auto& now = due[t];
    if (!now.empty()) {
      out.push_back(now.front());
      if (now.size() > 1) due[t + 1].insert(due[t + 1].end(), now.begin() + 1, now.end());
      trace().swap(now);
      continue;
    }
    if (next_key > 0 && unit(rng) < revisit) {
      out.push_back(rng() % next_key);
      continue;
    }
    const key_type k = next_key++;
    out.push_back(k);
    const std::uint64_t repeats = 1 + rng() % 4;
    for (std::uint64_t r = 0; r < repeats; ++r) {
      const std::size_t at = t + 1 + static_cast<std::size_t>(rng() % 99);
      if (at < length) due[at].push_back(k);
    }
  }
  return out;
}

/// The number of distinct keys of a trace.
inline std::size_t distinct_keys(std::span<const key_type> keys) {
  std::vector<key_type> sorted(keys.begin(), keys.end());
  std::sort(sorted.begin(), sorted.end());
  return static_cast<std::size_t>(std::unique(sorted.begin(), sorted.end()) - sorted.begin());
}

}  // namespace cache_sim
