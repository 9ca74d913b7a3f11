#include <frugal/shared_config.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include "idle_reader.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// A version that counts live instances, and destructions per thread, and carries an invariant
// (b == 2 * a) and a sequence number that must never go backwards for a reader.
struct counted {
  static inline std::atomic<long> live{0};
  static inline thread_local long destroyed_here = 0;
  long seq = 0;
  long a = 0;
  long b = 0;
  std::string padding = std::string(40, 'p');  // owns heap memory, like real configs

  counted(long s, long x) : seq(s), a(x), b(2 * x) { ++live; }
  counted(const counted& o) : seq(o.seq), a(o.a), b(o.b), padding(o.padding) { ++live; }
  ~counted() {
    --live;
    ++destroyed_here;
  }
};

// Runs `f` on a new thread and returns what it returns.
template <class F>
auto on_thread(F f) {
  std::optional<decltype(f())> result;
  std::thread t([&] { result.emplace(f()); });
  t.join();
  return *result;
}

// Returns the id of `holder`: the slot its read fills in a fresh thread's table.
template <class T>
std::uint32_t id_of(const frugal::shared_config<T>& holder) {
  const auto id = on_thread([&] {
    (void)holder.read();
    std::uint32_t found = ~0u;
    auto* slots = frugal::detail::tls_slots;
    const std::size_t n = frugal::detail::tls_table_bytes / sizeof(frugal::detail::config_slot);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (slots[i].owner == &holder) found = i;
    }
    return found;
  });
  REQUIRE(id != ~0u);
  return id;
}

// Gives the next holder created the id of `holder`, as a second registry in another shared
// object would: two live holders then share one slot of each thread's table.
template <class T>
std::uint32_t next_holder_shares_id_with(const frugal::shared_config<T>& holder) {
  const auto id = id_of(holder);
  auto& r = frugal::detail::config_registry::get();
  std::lock_guard lock(r.mu);
  r.free_ids.push_back(id);
  return id;
}

// Leaves one copy of `id` in the free list, where holders sharing it put several.
void forget_duplicate_id(std::uint32_t id) {
  auto& r = frugal::detail::config_registry::get();
  std::lock_guard lock(r.mu);
  const auto copies = std::count(r.free_ids.begin(), r.free_ids.end(), id);
  REQUIRE(copies >= 2);
  r.free_ids.erase(std::remove(r.free_ids.begin(), r.free_ids.end(), id), r.free_ids.end());
  r.free_ids.push_back(id);
}

}  // namespace

TEST_CASE("read, store, update, snapshot and version", "[shared_config]") {
  frugal::shared_config<counted> config(counted(0, 1));
  REQUIRE(config.version() == 0);
  REQUIRE(config.read()->a == 1);
  REQUIRE((*config.read()).b == 2);
  REQUIRE(config.read().get().b == 2);
  config.store(counted(1, 5));
  REQUIRE(config.version() == 1);
  REQUIRE(config.read()->a == 5);
  const auto published =
      config.update([](const counted& c) { return counted(c.seq + 1, c.a + 1); });
  REQUIRE(published->a == 6);
  REQUIRE(config.version() == 2);
  const std::shared_ptr<const counted> snap = config.snapshot();
  config.store(std::make_shared<const counted>(3, 7));
  REQUIRE(snap->a == 6);  // a snapshot outlives later stores
  REQUIRE(config.read()->a == 7);
  frugal::shared_config<std::string> in_place(std::in_place, 3, 'x');
  REQUIRE(*in_place.read() == "xxx");
}

TEST_CASE("a guard keeps its version across a store, nested reads agree", "[shared_config]") {
  frugal::shared_config<counted> config(counted(0, 1));
  {
    auto outer = config.read();
    config.store(counted(1, 2));
    REQUIRE(outer->a == 1);
    auto nested = config.read();
    REQUIRE(nested->a == 1);  // the outermost guard's version
    REQUIRE(&*nested == &*outer);
    config.store(counted(2, 3));
    {
      auto deeper = config.read();
      REQUIRE(&*deeper == &*outer);
    }
  }
  REQUIRE(config.read()->a == 3);  // with no guard alive, the new version
}

TEST_CASE("a moved guard keeps its pin, the moved-from guard releases nothing", "[shared_config]") {
  frugal::shared_config<counted> config(counted(0, 1));
  std::optional<frugal::shared_config<counted>::guard> kept;
  {
    auto g = config.read();
    kept.emplace(std::move(g));
  }  // the moved-from guard is destroyed here
  config.store(counted(1, 2));
  REQUIRE((*kept)->a == 1);
  REQUIRE(config.read()->a == 1);  // still pinned by the moved guard
  kept.reset();
  REQUIRE(config.read()->a == 2);
}

TEST_CASE("null versions are rejected with an exception", "[shared_config]") {
  REQUIRE_THROWS_AS(frugal::shared_config<int>(std::shared_ptr<const int>()),
                    std::invalid_argument);
  frugal::shared_config<int> config(1);
  REQUIRE_THROWS_WITH(config.store(std::shared_ptr<const int>()),
                      "shared_config::store: the new version is a null pointer");
  REQUIRE(config.version() == 0);
  REQUIRE(*config.read() == 1);
}

TEST_CASE("reads allocate nothing after a thread's first read of a holder",
          "[shared_config][alloc]") {
  frugal::shared_config<counted> config(counted(0, 1));
  (void)config.read();
  REQUIRE(frugal::testing::count_allocations([&] {
            long sum = 0;
            for (int i = 0; i < 1000; ++i) sum += config.read()->a;
            REQUIRE(sum == 1000);
          }) == 0);
  // A refresh after a store copies a shared_ptr: no allocation, no deallocation either.
  config.store(counted(1, 2));
  const auto refresh = frugal::testing::measure_allocations([&] { (void)config.read(); });
  REQUIRE(refresh.allocations == 0);
  REQUIRE(refresh.deallocations == 0);
}

TEST_CASE("exact allocations of writers, snapshots and reclaim", "[shared_config][alloc]") {
  frugal::shared_config<int> config(0);
  // Nothing cached anywhere: store(T) allocates the version only, and frees the old one.
  auto s = frugal::testing::measure_allocations([&] { config.store(1); });
  REQUIRE(s.allocations == 1);
  REQUIRE(s.deallocations == 1);
  auto next = std::make_shared<const int>(2);
  s = frugal::testing::measure_allocations([&] { config.store(std::move(next)); });
  REQUIRE(s.allocations == 0);
  REQUIRE(s.deallocations == 1);
  REQUIRE(frugal::testing::count_allocations([&] { (void)config.snapshot(); }) == 0);
  s = frugal::testing::measure_allocations(
      [&] { (void)config.update([](int v) { return v + 1; }); });
  REQUIRE(s.allocations == 1);
  REQUIRE(s.deallocations == 1);
  REQUIRE(frugal::testing::count_allocations([&] { REQUIRE(config.reclaim() == 0); }) == 0);
  // A version this thread caches is retired (the retired list allocates once, then reuses its
  // room), and destroyed by a later writer call once nobody refers to it.
  (void)config.read();
  s = frugal::testing::measure_allocations([&] { config.store(10); });
  REQUIRE(s.allocations == 2);  // the version and the retired list's first room
  REQUIRE(s.deallocations == 0);
  (void)config.read();  // drops this thread's reference to the retired version
  s = frugal::testing::measure_allocations([&] { REQUIRE(config.reclaim() == 1); });
  REQUIRE(s.allocations == 0);
  REQUIRE(s.deallocations == 1);
  for (int i = 0; i < 100; ++i) {
    s = frugal::testing::measure_allocations([&] {
      config.store(11 + i);
      (void)config.read();
    });
    REQUIRE(s.allocations == 1);  // steady state: the version only
  }
}

TEST_CASE("a writer call destroys at most four unreferenced versions, reclaim the rest",
          "[shared_config][alloc]") {
  frugal::shared_config<int> config(0);
  std::vector<std::shared_ptr<const int>> snapshots;
  for (int i = 1; i <= 6; ++i) {
    snapshots.push_back(config.snapshot());  // keeps version i - 1 retired
    config.store(i);
  }
  snapshots.clear();  // six retired versions nothing refers to
  const auto s = frugal::testing::measure_allocations([&] { config.store(7); });
  REQUIRE(s.allocations == 1);
  REQUIRE(s.deallocations == 5);  // four retired ones, and version 6 that nobody read
  REQUIRE(config.reclaim() == 2);
  REQUIRE(config.reclaim() == 0);
  REQUIRE(*config.read() == 7);
}

TEST_CASE("old versions are released, memory stays bounded", "[shared_config]") {
  const long before = counted::live.load();
  {
    frugal::shared_config<counted> config(counted(0, 0));
    for (long i = 1; i <= 1000; ++i) {
      config.store(counted(i, i));
      REQUIRE(config.read()->a == i);
      // The current version, plus the previous one, retired until the next writer call.
      REQUIRE(counted::live.load() - before <= 2);
    }
    REQUIRE(config.reclaim() == 1);
    REQUIRE(counted::live.load() - before == 1);
  }
  REQUIRE(counted::live.load() == before);
}

TEST_CASE("a read never runs a version's destructor, writer calls do",
          "[shared_config][concurrent]") {
  const long before = counted::live.load();
  frugal::shared_config<counted> config(counted(0, 0));
  std::atomic<int> phase{0};
  long reader_destroyed = -1;
  std::thread reader([&] {
    for (int round = 1; round <= 50; ++round) {
      (void)config.read();
      phase.store(2 * round - 1);
      while (phase.load() != 2 * round) std::this_thread::yield();
      auto g = config.read();  // refreshes, dropping this thread's copy of the old version
      (void)g;
    }
    reader_destroyed = counted::destroyed_here;  // before thread exit
  });
  const long writer_before = counted::destroyed_here;
  for (int round = 1; round <= 50; ++round) {
    while (phase.load() != 2 * round - 1) std::this_thread::yield();
    config.store(counted(round, round));  // destroys up to 4 unreferenced retired versions
    phase.store(2 * round);
  }
  reader.join();
  REQUIRE(reader_destroyed == 0);
  // Each temporary passed to store(T) is destroyed here too: 50 of them, plus the versions.
  config.reclaim();
  REQUIRE(counted::live.load() - before == 1);
  REQUIRE(counted::destroyed_here - writer_before == 50 + 50);
}

TEST_CASE("a big version is destroyed by a writer call, not by the request that reads next",
          "[shared_config][alloc]") {
  std::map<int, std::string> big;
  for (int i = 0; i < 10000; ++i) big.emplace(i, std::string(32, 'v'));
  frugal::shared_config<std::map<int, std::string>> config(big);
  (void)config.read();
  config.store(std::map<int, std::string>{{1, "one"}});
  const auto request = frugal::testing::measure_allocations([&] {
    auto g = config.read();
    REQUIRE(g->size() == 1);
  });
  REQUIRE(request.deallocations == 0);
  const auto writer = frugal::testing::measure_allocations([&] { REQUIRE(config.reclaim() == 1); });
  REQUIRE(writer.deallocations == 20001);  // 10000 nodes, 10000 strings, the version
}

TEST_CASE("thousands of holders are cheap to create, read and destroy", "[shared_config]") {
  const long before = counted::live.load();
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<frugal::shared_config<counted>>> holders;
    for (int i = 0; i < 3000; ++i) {
      holders.push_back(std::make_unique<frugal::shared_config<counted>>(counted(0, i)));
    }
    long sum = 0;
    for (auto& h : holders) sum += h->read()->a;
    REQUIRE(sum == 3000L * 2999 / 2);
    // A new thread's first read is of the holder with the largest id.
    REQUIRE(on_thread([&] { return holders.back()->read()->a + holders.front()->read()->a; }) ==
            2999);
    holders.clear();
    REQUIRE(counted::live.load() == before);  // every version released, cached ones included
  }
}

TEST_CASE("the table grows while a guard is alive: reads stay correct", "[shared_config]") {
  const long before = counted::live.load();
  {
    frugal::shared_config<counted> first(counted(0, -1));
    auto pinned = first.read();
    std::vector<std::unique_ptr<frugal::shared_config<counted>>> holders;
    for (int i = 0; i < 200; ++i) {
      holders.push_back(std::make_unique<frugal::shared_config<counted>>(counted(0, i)));
    }
    for (int i = 0; i < 200; ++i) {
      auto g = holders[static_cast<std::size_t>(i)]->read();  // may not move the pinned slot
      REQUIRE(g->a == i);
      auto again = holders[static_cast<std::size_t>(i)]->read();
      REQUIRE(again->a == i);
    }
    REQUIRE(pinned->a == -1);
    REQUIRE(first.read()->a == -1);
    REQUIRE(&*first.read() == &*pinned);
  }
  REQUIRE(counted::live.load() == before);
}

TEST_CASE("holders sharing an id (two registries) never return each other's versions",
          "[shared_config]") {
  std::uint32_t id;
  {
    frugal::shared_config<std::string> text(std::string("text"));
    id = next_holder_shares_id_with(text);
    frugal::shared_config<long> number(42L);
    for (int round = 0; round < 3; ++round) {
      REQUIRE(*text.read() == "text");
      REQUIRE(*number.read() == 42);
      {
        auto t = text.read();  // pins the shared slot for `text`
        auto n = number.read();
        REQUIRE(*n == 42);
        REQUIRE(*t == "text");
        auto n2 = number.read();
        REQUIRE(*n2 == 42);
      }
      {
        auto n = number.read();  // and the other way round
        REQUIRE(*text.read() == "text");
        REQUIRE(*n == 42);
      }
    }
    {
      // Destroying a holder leaves the slot it shares with a live holder's guard alone.
      auto t = text.read();
      next_holder_shares_id_with(text);
      {
        frugal::shared_config<long> transient(7L);
        REQUIRE(*transient.read() == 7);  // read around the pinned slot
      }
      auto pinned = &*t;
      REQUIRE(&*text.read() == pinned);
      REQUIRE(*t == "text");
    }
    text.store(std::string("changed"));
    REQUIRE(*number.read() == 42);
    REQUIRE(*text.read() == "changed");
  }
  forget_duplicate_id(id);
}

TEST_CASE("update runs f once, f may read the holder, a store from f throws", "[shared_config]") {
  frugal::shared_config<int> config(1);
  int calls = 0;
  auto p = config.update([&](int v) {
    ++calls;
    REQUIRE(*config.read() == 1);
    REQUIRE(*config.snapshot() == 1);
    return v + 1;
  });
  REQUIRE(calls == 1);
  REQUIRE(*p == 2);
  REQUIRE_THROWS_WITH(config.update([&](int v) {
    config.store(7);
    return v;
  }),
                      "shared_config::store: called from inside update(f) on the same holder");
  REQUIRE_THROWS_AS(config.update([&](int v) {
    (void)config.update([](int w) { return w; });
    return v;
  }),
                    std::logic_error);
  REQUIRE_THROWS_AS(config.update([&](int v) {
    (void)config.reclaim();
    return v;
  }),
                    std::logic_error);
  REQUIRE(*config.read() == 2);  // nothing published by the failed calls
  REQUIRE(config.version() == 1);
  config.store(3);  // the holder is usable again on this thread
  REQUIRE(*config.read() == 3);
  // f may write to another holder.
  frugal::shared_config<int> other(0);
  config.update([&](int v) {
    other.store(v);
    return v + 1;
  });
  REQUIRE(*other.read() == 3);
  REQUIRE(*config.read() == 4);
}

TEST_CASE("update completes under a stream of stores", "[shared_config][concurrent]") {
  frugal::shared_config<long> config(0L);
  std::atomic<bool> stop{false};
  std::thread storer([&] {
    long i = 0;
    while (!stop.load()) config.store(-(++i));
  });
  long calls = 0;
  for (int i = 0; i < 200; ++i) {
    config.update([&](long v) {
      ++calls;
      return v;
    });
  }
  stop = true;
  storer.join();
  REQUIRE(calls == 200);  // one call of f per update, whatever the stores do
}

namespace {

// Throws on the k-th call of its copy, move or value constructor (k counted from 1 over all
// three), to walk every failure point of a writer call.
struct fragile {
  static inline int countdown = 0;  // 0: never throws
  int v = 0;
  static void tick() {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("fragile");
  }
  explicit fragile(int x) : v(x) { tick(); }
  fragile(const fragile& o) : v(o.v) { tick(); }
  fragile(fragile&& o) : v(o.v) { tick(); }
  fragile& operator=(const fragile&) = delete;
};

// An allocator that fails its k-th allocation, for allocate_shared.
template <class T>
struct failing_allocator {
  using value_type = T;
  int* countdown;
  explicit failing_allocator(int* c) : countdown(c) {}
  template <class U>
  failing_allocator(const failing_allocator<U>& o) : countdown(o.countdown) {}
  T* allocate(std::size_t n) {
    if (*countdown > 0 && --*countdown == 0) throw std::bad_alloc();
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const failing_allocator<U>& o) const {
    return countdown == o.countdown;
  }
};

}  // namespace

TEST_CASE("a writer call that throws publishes nothing (every failure point)", "[shared_config]") {
  frugal::shared_config<fragile> config(fragile(1));
  (void)config.read();
  for (int k = 1; k <= 8; ++k) {
    const auto version = config.version();
    const int value = config.read()->v;
    bool threw = false;
    fragile::countdown = k;
    try {
      if (k % 2 == 0) {
        config.store(fragile(value + 1));
      } else {
        (void)config.update([](const fragile& f) { return fragile(f.v + 1); });
      }
    } catch (const std::runtime_error&) {
      threw = true;
    }
    const bool reached = fragile::countdown == 0;
    fragile::countdown = 0;
    if (threw) {
      REQUIRE(reached);
      REQUIRE(config.version() == version);
      REQUIRE(config.read()->v == value);
    } else {
      REQUIRE(config.version() == version + 1);
      REQUIRE(config.read()->v == value + 1);
    }
  }
  // A version whose allocation fails (allocate_shared with a failing allocator).
  for (int k = 1; k <= 2; ++k) {
    int countdown = k;
    const auto version = config.version();
    try {
      config.store(std::shared_ptr<const fragile>(
          std::allocate_shared<fragile>(failing_allocator<fragile>(&countdown), 5)));
    } catch (const std::bad_alloc&) {
    }
    REQUIRE(config.version() == (countdown == 0 ? version : version + 1));
  }
}

namespace {

struct alignas(128) over_aligned {
  int v;
};

struct move_only {
  std::unique_ptr<int> p;
  explicit move_only(int v) : p(std::make_unique<int>(v)) {}
};

struct non_assignable {
  const int v;
  const std::string s;
};

struct throwing_move {
  std::string s;
  explicit throwing_move(std::string x) : s(std::move(x)) {}
  throwing_move(const throwing_move&) = default;
  throwing_move(throwing_move&& o) noexcept(false) : s(std::move(o.s)) {}
};

}  // namespace

TEST_CASE("element types: over-aligned, move-only, non-assignable, throwing move, pmr",
          "[shared_config]") {
  frugal::shared_config<over_aligned> aligned(over_aligned{1});
  REQUIRE(reinterpret_cast<std::uintptr_t>(&*aligned.read()) % 128 == 0);
  aligned.update([](const over_aligned& o) { return over_aligned{o.v + 1}; });
  REQUIRE(aligned.read()->v == 2);
  REQUIRE(reinterpret_cast<std::uintptr_t>(&*aligned.read()) % 128 == 0);

  frugal::shared_config<move_only> moved(move_only(1));
  moved.store(move_only(2));
  REQUIRE(*moved.read()->p == 2);
  moved.update([](const move_only& m) { return move_only(*m.p + 1); });
  REQUIRE(*moved.read()->p == 3);

  frugal::shared_config<non_assignable> fixed(non_assignable{1, "a"});
  fixed.store(non_assignable{2, "b"});
  fixed.update([](const non_assignable& n) { return non_assignable{n.v + 1, n.s + "c"}; });
  REQUIRE(fixed.read()->s == "bc");

  frugal::shared_config<throwing_move> tm(throwing_move("x"));
  tm.store(throwing_move("y"));
  REQUIRE(tm.read()->s == "y");

  std::pmr::monotonic_buffer_resource arena;
  using pmr_vec = std::pmr::vector<int>;
  frugal::shared_config<pmr_vec> pv(pmr_vec({1, 2, 3}, &arena));
  pv.update([&](const pmr_vec& v) {
    pmr_vec next(v, &arena);
    next.push_back(4);
    return next;
  });
  REQUIRE(pv.read()->size() == 4);
  REQUIRE(pv.read()->get_allocator().resource() == &arena);
}

TEST_CASE("every writer call accepts a version viewed through the holder itself",
          "[shared_config]") {
  const long before = counted::live.load();
  {
    frugal::shared_config<counted> config(counted(0, 1));
    // store(snapshot of itself): the same version again.
    config.store(config.snapshot());
    REQUIRE(config.version() == 1);
    REQUIRE(config.read()->a == 1);
    // store(copy of *read()): the guard keeps the source alive during the copy.
    config.store(*config.read());
    REQUIRE(config.read()->a == 1);
    {
      auto g = config.read();
      config.store(*g);
      config.store(config.snapshot());
      REQUIRE(g->a == 1);
    }
    // update(f) where f returns what it reads through the holder.
    config.update([&](const counted&) { return *config.read(); });
    config.update([&](const counted& c) { return counted(c.seq + 1, config.snapshot()->a + 1); });
    REQUIRE(config.read()->a == 2);
    // store(the shared_ptr update returned)
    auto p = config.update([](const counted& c) { return counted(c.seq + 1, c.a + 1); });
    config.store(p);
    REQUIRE(config.read()->a == 3);
    REQUIRE(config.version() == 8);
    config.reclaim();
    REQUIRE(counted::live.load() - before == 1);
    // Versions stored again after being replaced are retired once, and freed.
    for (long i = 0; i < 100; ++i) {
      auto old = config.snapshot();
      config.store(counted(100 + i, i));
      (void)config.read();
      config.store(old);
      (void)config.read();
      config.store(std::move(old));
      (void)config.read();
    }
    config.reclaim();
    REQUIRE(counted::live.load() - before == 1);
  }
  REQUIRE(counted::live.load() == before);
}

TEST_CASE("a version's destructor may use the holder that destroys it", "[shared_config]") {
  struct reporter {
    frugal::shared_config<int>* other;
    frugal::shared_config<reporter>** self;
    reporter(frugal::shared_config<int>* o, frugal::shared_config<reporter>** s)
        : other(o), self(s) {}
    reporter(const reporter&) = delete;
    ~reporter() {
      if (other != nullptr) other->store(*other->read() + 1);
      if (self != nullptr && *self != nullptr) (void)(*self)->read();
    }
  };
  frugal::shared_config<int> other(0);
  frugal::shared_config<reporter>* self_ptr = nullptr;
  {
    frugal::shared_config<reporter> config(std::in_place, &other, &self_ptr);
    self_ptr = &config;
    // The first version, never read, is destroyed by this store, after its locks.
    config.store(std::make_shared<const reporter>(nullptr, &self_ptr));
    REQUIRE(*other.read() == 1);
    (void)config.read();
    config.store(std::make_shared<const reporter>(nullptr, nullptr));
    config.reclaim();
    self_ptr = nullptr;
  }
}

TEST_CASE("readers see consistent versions that never go backwards",
          "[shared_config][concurrent]") {
  const long before = counted::live.load();
  {
    frugal::shared_config<counted> config(counted(0, 0));
    std::atomic<bool> stop{false};
    std::atomic<long> bad{0};
    std::atomic<long> destroyed_by_readers{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 2; ++r) {
      readers.emplace_back([&] {
        long last = -1;
        while (!stop.load(std::memory_order_relaxed)) {
          auto v = config.read();
          if (v->b != 2 * v->a || v->seq < last) ++bad;
          last = v->seq;
          auto nested = config.read();
          if (nested->seq != v->seq) ++bad;
          (void)config.snapshot();
        }
        destroyed_by_readers += counted::destroyed_here;
      });
    }
    std::vector<std::thread> writers;
    writers.emplace_back([&] {
      for (int i = 0; i < 3000; ++i) {
        config.update([&](const counted& c) { return counted(c.seq + 1, c.a + 1); });
      }
    });
    writers.emplace_back([&] {
      for (int i = 0; i < 3000; ++i) {
        config.update([&](const counted& c) { return counted(c.seq + 1, c.a + 3); });
        if (i % 100 == 0) config.reclaim();
      }
    });
    for (auto& w : writers) w.join();
    stop = true;
    for (auto& r : readers) r.join();
    REQUIRE(bad.load() == 0);
    REQUIRE(destroyed_by_readers.load() == 0);
    REQUIRE(config.read()->seq == 6000);  // no lost update
    REQUIRE(config.version() == 6000);
  }
  REQUIRE(counted::live.load() == before);
}

TEST_CASE("a store happens-before a later read on another thread", "[shared_config][concurrent]") {
  frugal::shared_config<counted> config(counted(0, 0));
  long stale = 0;  // Catch2's REQUIRE is not thread-safe: threads report, the test checks
  for (long i = 1; i <= 200; ++i) {
    std::atomic<bool> stored{false};
    std::atomic<bool> saw_old{false};
    std::thread reader([&] {
      (void)config.read();  // caches the old version
      while (!stored.load(std::memory_order_acquire)) {
      }
      if (config.read()->seq < i) saw_old = true;
    });
    config.store(counted(i, i));
    stored.store(true, std::memory_order_release);
    reader.join();
    stale += saw_old ? 1 : 0;
  }
  REQUIRE(stale == 0);
}

TEST_CASE("destroying a holder frees versions cached by idle threads at once",
          "[shared_config][concurrent]") {
  const long before = counted::live.load();
  auto config = std::make_unique<frugal::shared_config<counted>>(counted(0, 1));
  std::atomic<int> ready{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> idle;
  for (int t = 0; t < 3; ++t) {
    idle.emplace_back([&] {
      { auto g = config->read(); }
      ++ready;
      while (!release.load()) std::this_thread::yield();
    });
  }
  while (ready.load() != 3) std::this_thread::yield();
  config->store(counted(1, 2));  // the idle threads still cache version 0
  REQUIRE(counted::live.load() - before == 2);
  config.reset();
  REQUIRE(counted::live.load() == before);  // while the threads live on
  release = true;
  for (auto& t : idle) t.join();
}

TEST_CASE("destroying a holder never allocates, and its id is reused",
          "[shared_config][alloc][concurrent]") {
  // Copies cached on this thread and on an idle one: the destructor visits both tables.
  auto config = std::make_unique<frugal::shared_config<int>>(1);
  (void)config->read();
  const idle_reader<frugal::shared_config<int>> idle(*config);
  const std::uint32_t id = id_of(*config);
  const auto first = frugal::testing::measure_allocations([&] { config.reset(); });
  frugal::shared_config<int> next(2);  // takes the id just returned
  // Many holders destroyed in a row: each returns its id without growing the free list.
  std::vector<std::unique_ptr<frugal::shared_config<int>>> many;
  for (int i = 0; i < 1000; ++i) many.push_back(std::make_unique<frugal::shared_config<int>>(i));
  for (auto& h : many) (void)h->read();
  std::size_t later = 0;
  for (auto& h : many) later += frugal::testing::count_allocations([&] { h.reset(); });
  CHECK(first.allocations == 0);
  CHECK(first.deallocations == 2);  // the version and the holder
  CHECK(later == 0);
  CHECK(id_of(next) == id);
}

TEST_CASE("threads that start and exit repeatedly release their copies",
          "[shared_config][concurrent]") {
  const long before = counted::live.load();
  frugal::shared_config<counted> config(counted(0, 0));
  for (int round = 0; round < 100; ++round) {
    std::atomic<bool> ok{false};
    std::atomic<long> destroyed{-1};
    std::thread t([&] {
      ok = config.read()->b == 2 * config.read()->a;
      // Thread exit below drops this thread's copy without destroying the version.
      destroyed = counted::destroyed_here;
    });
    t.join();
    REQUIRE(ok.load());
    REQUIRE(destroyed.load() == 0);
    config.store(counted(round + 1, round + 1));
    REQUIRE(counted::live.load() - before <= 2);  // the current version and the one retired
  }
  config.reclaim();
  REQUIRE(counted::live.load() - before == 1);
}

namespace {

// Reads a holder from its destructor, which runs at thread exit after the thread's slot table
// is gone when it was constructed before the thread's first read.
struct late_reader {
  const frugal::shared_config<counted>* config = nullptr;
  std::atomic<long>* sum = nullptr;
  ~late_reader() {
    if (config == nullptr) return;
    auto g = config->read();
    auto nested = config->read();
    *sum += g->a + nested->a;
  }
};

}  // namespace

TEST_CASE("reads from thread-local destructors after the slot table is gone leak nothing",
          "[shared_config][concurrent]") {
  const long before = counted::live.load();
  {
    frugal::shared_config<counted> config(counted(0, 1));
    std::atomic<long> sum{0};
    for (int i = 0; i < 50; ++i) {
      std::thread t([&] {
        thread_local late_reader reader;  // constructed first, destroyed after the table
        reader.config = &config;
        reader.sum = &sum;
        sum += config.read()->a;
      });
      t.join();
    }
    REQUIRE(sum.load() == 150);
    REQUIRE(counted::live.load() - before == 1);  // nothing kept by the exited threads
    config.store(counted(1, 2));
    REQUIRE(counted::live.load() - before == 1);
  }
  REQUIRE(counted::live.load() == before);
}

TEST_CASE("holders are created, read and destroyed while other threads read others",
          "[shared_config][concurrent]") {
  frugal::shared_config<long> stable(7L);
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      if (*stable.read() != 7) ++bad;
    }
  });
  for (int i = 0; i < 300; ++i) {
    frugal::shared_config<long> transient(static_cast<long>(i));
    std::thread t([&] {
      if (*transient.read() != i) ++bad;
    });
    t.join();
    if (*transient.read() != i) ++bad;
  }
  stop = true;
  reader.join();
  REQUIRE(bad.load() == 0);
}

namespace {

// A guard in a thread-local constructed before the thread's first read: it outlives the
// thread's slot table.
thread_local std::optional<frugal::shared_config<int>::guard> early_kept_guard;

thread_local bool exit_started = false;
std::atomic<int> destroyed_on_exit{0};
struct exit_marked {
  int v;
  explicit exit_marked(int x) : v(x) {}
  ~exit_marked() {
    if (exit_started) destroyed_on_exit.fetch_add(1);
  }
};
struct mark_exit {
  std::atomic<int>* exiting;
  ~mark_exit() {
    exit_started = true;
    exiting->store(1);
  }
};

}  // namespace

TEST_CASE("a guard that outlives its thread's slot table stays valid", "[shared_config]") {
  frugal::shared_config<int> config(7);
  int seen = 0;
  std::thread t([&] {
    early_kept_guard.emplace(config.read());  // made before read() makes the table
    seen = **early_kept_guard;
  });
  t.join();  // the guard is released after the table (ASan: no use after free)
  CHECK(seen == 7);
  CHECK(*config.read() == 7);
}

namespace {

// Reads a holder from its destructor, and records what a guard kept past the slot table sees
// then: constructed after that guard's thread-local and before the thread's first read, it is
// destroyed after the table and before the guard.
struct nested_reader_at_exit {
  const frugal::shared_config<int>* config = nullptr;
  const std::optional<frugal::shared_config<int>::guard>* outer = nullptr;
  int* outer_seen = nullptr;
  int* nested_seen = nullptr;
  ~nested_reader_at_exit() {
    if (config == nullptr) return;
    auto nested = config->read();
    auto deeper = config->read();
    *outer_seen = ***outer;
    *nested_seen = *nested == *deeper ? *nested : -1;
  }
};

}  // namespace

TEST_CASE("a read nested in a guard kept past the slot table sees that guard's version",
          "[shared_config]") {
  frugal::shared_config<int> config(1);
  int outer_seen = 0;
  int nested_seen = 0;
  std::thread t([&] {
    thread_local std::optional<frugal::shared_config<int>::guard> outer;
    thread_local nested_reader_at_exit reader;
    reader.config = &config;
    reader.outer = &outer;
    reader.outer_seen = &outer_seen;
    reader.nested_seen = &nested_seen;
    outer.emplace(config.read());  // the first read: the table is made after both
    config.store(2);
  });
  t.join();
  CHECK(outer_seen == 1);
  CHECK(nested_seen == 1);  // the outermost guard's version, not the current one
  CHECK(*config.read() == 2);
}

TEST_CASE("a holder destroyed while a reader thread exits destroys its versions itself",
          "[shared_config][concurrent]") {
  // Many holders, so that the exiting thread's table is large and its teardown slow.
  std::vector<std::unique_ptr<frugal::shared_config<exit_marked>>> filler;
  for (int i = 0; i < 50'000; ++i) {
    filler.push_back(std::make_unique<frugal::shared_config<exit_marked>>(std::in_place, 0));
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int tries = 0;
  for (int delay = 0; std::chrono::steady_clock::now() < end; delay = (delay + 7) % 400) {
    ++tries;
    auto h = std::make_unique<frugal::shared_config<exit_marked>>(std::in_place, 1);
    std::atomic<int> read{0}, exiting{0}, go{0};
    std::thread t([&] {
      (void)h->read()->v;  // the table, grown to h's high id
      thread_local mark_exit m{&exiting};  // destroyed just before the table
      m.exiting = &exiting;
      read.store(1);
      while (go.load() == 0) std::this_thread::yield();
    });
    while (read.load() == 0) std::this_thread::yield();
    h->store(exit_marked(2));  // version 1 retired; t's slot holds it
    go.store(1);
    while (exiting.load() == 0) {
    }
    for (int i = 0; i < delay * 10; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
    h.reset();  // while t releases its table
    t.join();
  }
  CHECK(tries > 0);
  CHECK(destroyed_on_exit.load() == 0);
}

TEST_CASE("a read nested in a guard of a detached read sees the outer guard's version",
          "[shared_config]") {
  frugal::shared_config<int> first(0);
  std::vector<std::unique_ptr<frugal::shared_config<int>>> filler;
  for (int i = 0; i < 40; ++i) filler.push_back(std::make_unique<frugal::shared_config<int>>(i));
  frugal::shared_config<int> late(1);  // a high id: its first read would grow the table
  {
    auto pin = first.read();  // a guard alive: the table cannot grow, the read is detached
    auto outer = late.read();
    late.store(2);
    std::optional<frugal::shared_config<int>::guard> nested;
    CHECK(frugal::testing::count_allocations([&] { nested.emplace(late.read()); }) == 0);
    CHECK(*outer == 1);
    CHECK(**nested == 1);  // the outermost guard's version
    auto deeper = late.read();
    CHECK(*deeper == 1);
  }
  CHECK(*late.read() == 2);  // once every guard is gone, the current version
  {
    auto pin = first.read();
    auto again = late.read();  // the table serves it now, or a new detached slot does
    CHECK(*again == 2);
  }
}
