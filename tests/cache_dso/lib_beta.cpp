// Beta: loads, reads and invalidations, and the value's destructor, which calls the cache.
#include "api.hpp"

#include <optional>
#include <span>
#include <vector>

dso_value::~dso_value() {
  --*live;
  if (reinsert_into != nullptr) beta_on_destroy(*reinsert_into, key, live);
}

void beta_on_destroy(dso_cache& c, int key, std::atomic<long>* live) {
  (void)c.get(key);
  if (key < 1000) c.insert(key + 1000, key + 1000, live, nullptr);
}

std::uint64_t beta_work(dso_cache& c, int from, int to, int rounds, std::atomic<long>* live) {
  std::uint64_t lookups = 0;
  std::vector<int> keys;
  for (int k = from; k < to; ++k) keys.push_back(k);
  for (int r = 0; r < rounds; ++r) {
    for (int k = from; k < to; ++k) {
      c.get_with(k, [&] { return dso_value(k, live, &c); });
      lookups += 1;
      if (k % 7 == r % 7) c.invalidate(k);
    }
    auto got = c.get_all(std::span<const int>(keys), [&](std::span<const int> ks) {
      std::vector<std::optional<dso_value>> out;
      for (int k : ks) out.emplace_back(std::in_place, k, live, nullptr);
      return out;
    });
    lookups += keys.size();
  }
  return lookups;
}
