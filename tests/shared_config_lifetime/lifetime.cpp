// Reads of frugal::shared_config at the edges of a thread's and a process's life, and the
// misuses that hardened builds diagnose. Built with FRUGAL_HARDENED; run by ctest once per
// case (tests/shared_config.cmake). The cases that end in an assertion are checked with
// expect_abort.cmake; the others exit 0 and print "ok", and fail by exit code, by a sanitizer
// report, or by a crash.
#include <frugal/shared_config.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

struct settings {
  static inline std::atomic<long> live{0};
  std::string name;
  long limit;
  settings(std::string n, long l) : name(std::move(n)), limit(l) { ++live; }
  settings(const settings& o) : name(o.name), limit(o.limit) { ++live; }
  ~settings() { --live; }
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "shared_config_lifetime: %s\n", what);
    std::fflush(stderr);
    std::_Exit(1);
  }
}

// Destroyed after main returns, after the main thread's slot table (thread-locals go first):
// its destructor reads a holder that is destroyed after it.
struct reads_at_exit {
  const frugal::shared_config<settings>* config = nullptr;
  ~reads_at_exit() {
    if (config == nullptr) return;
    for (int i = 0; i < 3; ++i) {
      auto g = config->read();
      auto nested = config->read();
      check(g->limit == 2 && nested->limit == 2, "a read during static destruction is wrong");
    }
    std::printf("ok: read during static destruction\n");
    std::fflush(stdout);
  }
};

// Reads from a thread-local's destructor; constructed before the thread's first read, so it
// is destroyed after the thread's slot table.
struct reads_at_thread_exit {
  const frugal::shared_config<settings>* config = nullptr;
  std::atomic<long>* sum = nullptr;
  ~reads_at_thread_exit() {
    if (config == nullptr) return;
    auto g = config->read();
    *sum += g->limit;
  }
};

// A version whose destructor reads another holder: destroyed with its own static holder.
struct reads_when_destroyed {
  const frugal::shared_config<settings>* other;
  ~reads_when_destroyed() {
    auto g = other->read();
    check(g->limit == 2, "a read from a version's destructor at exit is wrong");
    std::printf("ok: read from a version's destructor at exit\n");
    std::fflush(stdout);
  }
};

int static_destruction() {
  // Order of construction: holder, then readers; destruction runs the other way round.
  static frugal::shared_config<settings> config(settings("static", 1));
  static frugal::shared_config<reads_when_destroyed> dependent(std::in_place, &config);
  (void)dependent.read();
  static reads_at_exit reader;
  reader.config = &config;
  check(config.read()->limit == 1, "first read");
  config.store(settings("static", 2));
  check(config.read()->limit == 2, "read after store");
  thread_local reads_at_thread_exit main_thread_reader;  // destroyed after this thread's table
  static std::atomic<long> sum{0};
  main_thread_reader.config = &config;
  main_thread_reader.sum = &sum;
  return 0;
}

int thread_exit() {
  std::atomic<long> sum{0};
  {
    frugal::shared_config<settings> config(settings("threads", 1));
    std::vector<std::thread> threads;
    for (int round = 0; round < 10; ++round) {
      for (int i = 0; i < 5; ++i) {
        threads.emplace_back([&] {
          thread_local reads_at_thread_exit reader;
          reader.config = &config;
          reader.sum = &sum;
          sum += config.read()->limit;
        });
      }
      for (auto& t : threads) t.join();
      threads.clear();
    }
    check(sum.load() == 100, "reads at thread exit are wrong");
    check(settings::live.load() == 1, "exited threads keep versions alive");
  }
  check(settings::live.load() == 0, "destroying the holder leaves versions alive");
  std::printf("ok: reads at thread exit\n");
  return 0;
}

int guard_other_thread() {
  frugal::shared_config<int> config(7);
  auto guard = config.read();
  std::thread other([g = std::move(guard)] { (void)*g; });  // destroyed on the wrong thread
  other.join();
  return 0;
}

int guard_outlives_holder_on_other_thread() {
  auto config = std::make_unique<frugal::shared_config<int>>(7);
  std::atomic<int> step{0};
  std::thread reader([&] {
    {
      auto g = config->read();
      step = 1;
      while (step.load() != 2) std::this_thread::yield();
    }  // destroyed after its holder
    step = 3;
  });
  while (step.load() != 1) std::this_thread::yield();
  config.reset();
  step = 2;
  reader.join();
  return 0;
}

int holder_destroyed_under_guard() {
  auto config = std::make_unique<frugal::shared_config<int>>(7);
  auto g = config->read();
  config.reset();  // a guard of this holder is alive on this thread
  return *g;
}

// 40 holders, ids 0 to 39 in this fresh process. While a guard of the first is alive, the
// calling thread's table (8 slots, made by that read) cannot grow, so a read of the last takes
// a slot of its own (a detached read).
std::vector<std::unique_ptr<frugal::shared_config<int>>> holders_beyond_the_table() {
  std::vector<std::unique_ptr<frugal::shared_config<int>>> holders;
  for (int i = 0; i < 40; ++i) holders.push_back(std::make_unique<frugal::shared_config<int>>(i));
  return holders;
}

void check_detached() {
  const std::size_t slots = frugal::detail::tls_table_bytes / sizeof(frugal::detail::config_slot);
  check(slots > 0 && slots < 40, "the read of the last holder is not detached");
}

int holder_destroyed_under_detached_guard() {
  auto holders = holders_beyond_the_table();
  auto pin = holders.front()->read();
  auto g = holders.back()->read();
  check_detached();
  holders.back().reset();  // a guard of this holder is alive on this thread
  return *g + *pin;
}

int detached_guard_outlives_holder() {
  auto holders = holders_beyond_the_table();
  std::atomic<int> step{0};
  std::thread reader([&] {
    {
      auto pin = holders.front()->read();
      auto g = holders.back()->read();
      check_detached();
      step = 1;
      while (step.load() != 2) std::this_thread::yield();
    }  // `g` is destroyed after its holder
    step = 3;
  });
  while (step.load() != 1) std::this_thread::yield();
  holders.back().reset();
  step = 2;
  reader.join();
  return 0;
}

// Constant-initialised: destroyed after every static constructed during main, and after the
// main thread's slot table, which it outlives.
std::optional<frugal::shared_config<int>::guard> guard_kept_in_a_static;

int static_holder_destroyed_under_static_guard() {
  static frugal::shared_config<int> config(7);  // destroyed before the guard
  guard_kept_in_a_static.emplace(config.read());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* which = argc > 1 ? argv[1] : "";
  if (std::strcmp(which, "static_destruction") == 0) return static_destruction();
  if (std::strcmp(which, "thread_exit") == 0) return thread_exit();
  if (std::strcmp(which, "guard_other_thread") == 0) guard_other_thread();
  if (std::strcmp(which, "guard_outlives_holder") == 0) guard_outlives_holder_on_other_thread();
  if (std::strcmp(which, "holder_destroyed_under_guard") == 0) holder_destroyed_under_guard();
  if (std::strcmp(which, "holder_destroyed_under_detached_guard") == 0) {
    holder_destroyed_under_detached_guard();
  }
  if (std::strcmp(which, "detached_guard_outlives_holder") == 0) detached_guard_outlives_holder();
  if (std::strcmp(which, "static_holder_destroyed_under_static_guard") == 0) {
    return static_holder_destroyed_under_static_guard();
  }
  std::fprintf(stderr, "shared_config_lifetime: unknown case or no abort: %s\n", which);
  return 2;
}
