// One cache used through two shared libraries built with -fvisibility=hidden, each with its
// own copy of the cache's code and thread-locals, by threads that start and end in rounds;
// values whose destructors call the cache through the other library; and a cache in a
// function-local static of one library, filled by threads that have ended and destroyed at
// exit. Every value must be destroyed exactly once, the bound must hold, and nothing may hang.
// Exits 0 and prints "ok", or prints what went wrong and exits 1.
#include "api.hpp"

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

int failures = 0;
std::atomic<long> static_live{0};  // values of alpha's static cache

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cache_dso: %s\n", what);
    ++failures;
  }
}

// Runs after alpha's static cache is destroyed (registered before it was built).
void check_static_cache_freed() {
  if (static_live.load() != 0) {
    std::fprintf(stderr, "cache_dso: %ld values of the static cache outlived it\n",
                 static_live.load());
    std::_Exit(1);
  }
}

}  // namespace

int main() {
  std::atexit(check_static_cache_freed);
  std::atomic<long> live{0};
  {
    dso_cache c({.max_capacity = 200, .write_buffer = 16});
    std::atomic<std::uint64_t> lookups{0};
    for (int round = 0; round < 20; ++round) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          const int from = t * 60;
          lookups += t % 2 == 0 ? alpha_work(c, from, from + 120, 3, &live, &c)
                                : beta_work(c, from, from + 120, 3, &live);
        });
      }
      for (auto& th : threads) th.join();  // the threads end: their stripes go to new ones
    }
    for (int i = 0; i < 3; ++i) c.run_pending_tasks();
    check(c.entry_count() <= 200, "the bound does not hold after run_pending_tasks");
    check(live.load() >= static_cast<long>(c.entry_count()), "fewer values alive than entries");
    const frugal::cache_stats s = c.stats();
    check(s.hits + s.misses >= lookups.load(), "lookups went uncounted");
    check(s.loads > 0 && s.evicted_size > 0 && s.invalidated > 0, "some path never ran");
    // A cache being destroyed must not be called from V's destructor: its values that would
    // (re-inserting into it) go first; those they insert do not call it.
    c.invalidate_all();
    for (int i = 0; i < 2; ++i) c.run_pending_tasks();
    check(live.load() == static_cast<long>(c.entry_count()), "values alive that the cache lost");
  }
  check(live.load() == 0, "values outlived their cache");

  std::vector<std::thread> fillers;
  for (int t = 0; t < 2; ++t) {
    fillers.emplace_back(
        [t] { alpha_work(alpha_static_cache(), t * 50, t * 50 + 100, 2, &static_live, nullptr); });
  }
  for (auto& th : fillers) th.join();
  check(static_live.load() > 0, "the static cache holds nothing");
  if (failures != 0) return 1;
  std::puts("ok");
  return 0;
}
