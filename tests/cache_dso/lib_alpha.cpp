// Alpha: plain inserts and reads, and a cache in a static destroyed at exit.
#include "api.hpp"

std::uint64_t alpha_work(dso_cache& c, int from, int to, int rounds, std::atomic<long>* live,
                         dso_cache* reinsert) {
  std::uint64_t lookups = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int k = from; k < to; ++k) {
      if (!c.get(k)) c.insert(k, k, live, r % 2 == 0 ? reinsert : nullptr);
      c.visit(k, [](const dso_value&) {});
      lookups += 2;
    }
  }
  return lookups;
}

dso_cache& alpha_static_cache() {
  static dso_cache c({.max_capacity = 64});
  return c;
}
