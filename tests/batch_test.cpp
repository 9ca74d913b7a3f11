#include <frugal/batch.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <ranges>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

using frugal::testing::count_allocations;

namespace {

struct post {
  int user_id;
  std::string title;
  friend bool operator==(const post&, const post&) = default;
};

// A row that counts live instances, detects double destruction, and can be told to throw on
// the k-th copy.
struct tracked {
  static inline long live = 0;
  static inline long copies_left = -1;  // throw when it reaches 0; -1: never
  int key;
  int seq;
  const tracked* self;

  tracked(int k, int s) : key(k), seq(s), self(this) { ++live; }
  tracked(const tracked& o) : key(o.key), seq(o.seq), self(this) {
    REQUIRE(o.self == &o);
    if (copies_left >= 0 && copies_left-- == 0) throw std::runtime_error("copy failed");
    ++live;
  }
  tracked& operator=(const tracked&) = delete;
  ~tracked() {
    REQUIRE(self == this);  // destroyed once, at the place it was built
    self = nullptr;
    --live;
  }
};

struct alignas(64) wide {
  int key;
  int seq;
};

// A hash that sends every key to one slot: grouping must still be right, only slower.
struct constant_hash {
  std::size_t operator()(int) const noexcept { return 7; }
};

// The groups as the naive code computes them: a map from key to rows, and the key order.
template <class Row, class KeyFn>
std::pair<std::vector<int>, std::unordered_map<int, std::vector<Row>>> naive_groups(
    const std::vector<Row>& rows, KeyFn key) {
  std::vector<int> order;
  std::unordered_map<int, std::vector<Row>> m;
  for (const Row& r : rows) {
    auto [it, fresh] = m.try_emplace(key(r));
    if (fresh) order.push_back(key(r));
    it->second.push_back(r);
  }
  return {order, m};
}

}  // namespace

// group_by --------------------------------------------------------------------------------------

TEST_CASE("group_by groups in first-appearance order, stable within a group", "[batch]") {
  const std::vector<post> posts = {{3, "a"}, {1, "b"}, {3, "c"}, {2, "d"}, {1, "e"}, {3, "f"}};
  const auto g = frugal::group_by(posts, &post::user_id);
  REQUIRE(g.size() == 3);
  REQUIRE(g.row_count() == 6);
  REQUIRE_FALSE(g.empty());
  REQUIRE(std::vector<int>(g.keys().begin(), g.keys().end()) == std::vector<int>{3, 1, 2});
  REQUIRE(std::vector<std::uint32_t>(g.offsets().begin(), g.offsets().end()) ==
          std::vector<std::uint32_t>{0, 3, 5, 6});
  const auto titles = [](std::span<const post> rows) {
    std::string s;
    for (const post& p : rows) s += p.title;
    return s;
  };
  REQUIRE(titles(g.group(0)) == "acf");
  REQUIRE(titles(g.group(1)) == "be");
  REQUIRE(titles(g.group(2)) == "d");
  REQUIRE(titles(g.find(3)) == "acf");
  REQUIRE(titles(g.find(2)) == "d");
  REQUIRE(g.find(4).empty());
  REQUIRE(g.index_of(1) == std::optional<std::size_t>(1));
  REQUIRE_FALSE(g.index_of(0).has_value());
  REQUIRE(g.contains(2));
  REQUIRE_FALSE(g.contains(9));
  REQUIRE(titles(g.rows()) == "acfbed");
  REQUIRE(g[1].key == 1);
  REQUIRE(titles(g[1].rows) == "be");
  std::string walk;
  for (const auto grp : g) walk += std::to_string(grp.key) + ":" + titles(grp.rows) + " ";
  REQUIRE(walk == "3:acf 1:be 2:d ");
  REQUIRE(g.end() - g.begin() == 3);
  REQUIRE((*(g.begin() + 2)).key == 2);
  static_assert(std::ranges::random_access_range<decltype(g)>);
}

TEST_CASE("group_by allocates exactly once, nothing for an empty input", "[batch]") {
  std::vector<post> posts;
  for (int i = 0; i < 1000; ++i)
    posts.push_back({i % 37, "title that does not fit SSO " + std::to_string(i)});
  std::list<post> as_list(posts.begin(), posts.end());
  std::forward_list<int> ids;
  for (int i = 0; i < 500; ++i) ids.push_front(i % 10);

  frugal::grouped<int, std::size_t> idx;
  REQUIRE(count_allocations([&] { idx = frugal::group_indices_by(posts, &post::user_id); }) == 1);
  REQUIRE(idx.size() == 37);
  REQUIRE(idx.allocated_bytes() > 0);
  frugal::grouped<int, int> fl;
  REQUIRE(count_allocations([&] { fl = frugal::group_by(ids, [](int x) { return x; }); }) == 1);
  REQUIRE(fl.size() == 10);
  REQUIRE(fl.row_count() == 500);
  // Copying rows costs only what copying each row costs (here a long string each).
  frugal::grouped<int, post> copied;
  REQUIRE(count_allocations([&] { copied = frugal::group_by(as_list, &post::user_id); }) == 1001);
  // Ints copy for free.
  std::vector<int> ints(1000);
  for (std::size_t i = 0; i < ints.size(); ++i) ints[i] = static_cast<int>(i * 7 % 13);
  REQUIRE(count_allocations([&] { auto g = frugal::group_by(ints, [](int x) { return x; }); }) ==
          1);
  // n rows + room for n keys + 2^ceil(log2 n) * 2 slots + n + 1 offsets + n group ids.
  REQUIRE(frugal::group_by(ints, [](int x) { return x; }).allocated_bytes() ==
          1000 * 4 + 1000 * 4 + 2048 * 4 + 1001 * 4 + 1000 * 4);

  const std::vector<post> none;
  REQUIRE(count_allocations([&] { copied = frugal::group_by(none, &post::user_id); }) == 0);
  REQUIRE(copied.empty());
  REQUIRE(copied.size() == 0);
  REQUIRE(copied.find(1).empty());
  REQUIRE(copied.offsets().empty());
  REQUIRE(copied.begin() == copied.end());
  REQUIRE(copied.allocated_bytes() == 0);
  // Lookups never allocate.
  REQUIRE(count_allocations([&] {
            for (int k = 0; k < 50; ++k) (void)idx.find(k);
          }) == 0);
}

TEST_CASE("group_by matches the naive map of vectors on random input", "[batch]") {
  std::mt19937 rng(20261202);
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, 300)(rng);
    const int keys = std::uniform_int_distribution<int>(1, round % 3 == 0 ? 3 : 400)(rng);
    std::vector<post> rows;
    for (std::size_t i = 0; i < n; ++i) {
      rows.push_back(
          {std::uniform_int_distribution<int>(-keys, keys)(rng) * 1024, std::to_string(i)});
    }
    const auto key = [](const post& p) { return p.user_id; };
    const auto [order, model] = naive_groups(rows, key);
    const auto g = frugal::group_by(rows, key);
    const auto gi = frugal::group_indices_by(rows, key);
    const auto gc = frugal::group_by(rows, key, constant_hash{});
    const auto gm = frugal::group_into<std::map<int, std::vector<post>>>(rows, key);
    REQUIRE(g.size() == order.size());
    REQUIRE(gi.size() == order.size());
    REQUIRE(gc.size() == order.size());
    REQUIRE(gm.size() == order.size());
    REQUIRE(g.row_count() == n);
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::vector<post>& want = model.at(order[k]);
      REQUIRE(g.key(k) == order[k]);
      REQUIRE(gc.key(k) == order[k]);
      const auto got = g.group(k);
      REQUIRE(std::vector<post>(got.begin(), got.end()) == want);
      const auto found = g.find(order[k]);
      REQUIRE(found.data() == got.data());
      REQUIRE(std::vector<post>(gc.find(order[k]).begin(), gc.find(order[k]).end()) == want);
      const auto ix = gi.find(order[k]);
      REQUIRE(ix.size() == want.size());
      for (std::size_t j = 0; j < ix.size(); ++j) REQUIRE(rows[ix[j]] == want[j]);
      REQUIRE(gm.at(order[k]) == want);
      REQUIRE(gm.at(order[k]).capacity() == want.size());
    }
    REQUIRE_FALSE(g.contains(1));  // keys are multiples of 1024
    REQUIRE_FALSE(gc.contains(1));
  }
}

TEST_CASE("group_by takes projections, prvalue ranges, unsized ranges and custom keys", "[batch]") {
  std::vector<post> posts = {{1, "x"}, {2, "y"}, {1, "z"}};
  // Rows produced on the fly: the key (a member of the row) is read while the row lives.
  auto made = std::views::iota(0, 6) | std::views::transform([](int i) {
                return post{i % 2, std::string(30, static_cast<char>('a' + i))};
              });
  const auto g = frugal::group_by(made, &post::title);
  REQUIRE(g.size() == 6);
  const auto byparity = frugal::group_by(made, &post::user_id);
  REQUIRE(byparity.find(1).size() == 3);
  REQUIRE(byparity.find(1)[2].title == std::string(30, 'f'));
  // String keys.
  const auto bytitle = frugal::group_by(posts, [](const post& p) { return p.title + "!"; });
  REQUIRE(bytitle.find("y!").size() == 1);
  // Over-aligned rows land on their alignment.
  std::vector<wide> ws;
  for (int i = 0; i < 100; ++i) ws.push_back({i % 7, i});
  const auto gw = frugal::group_by(ws, &wide::key);
  for (std::size_t k = 0; k < gw.size(); ++k) {
    for (const wide& w : gw.group(k)) {
      REQUIRE(reinterpret_cast<std::uintptr_t>(&w) % 64 == 0);
      REQUIRE(w.key == gw.key(k));
    }
  }
  // Move-only rows, moved out of an rvalue container.
  std::vector<std::unique_ptr<int>> owned;
  for (int i = 0; i < 10; ++i) owned.push_back(std::make_unique<int>(i));
  const auto gu =
      frugal::group_by(std::move(owned), [](const std::unique_ptr<int>& p) { return *p % 3; });
  REQUIRE(gu.size() == 3);
  REQUIRE(*gu.find(1)[2] == 7);
  for (const auto& p : owned) REQUIRE(p == nullptr);  // NOLINT: moved from on purpose
  // An rvalue vector of strings is moved, an lvalue one copied.
  std::vector<post> again = posts;
  const auto moved = frugal::group_by(std::move(again), &post::user_id);
  REQUIRE(moved.find(1)[1].title == "z");
  REQUIRE(posts[0].title == "x");
}

TEST_CASE("group_by moves the grouping without allocating", "[batch]") {
  const std::vector<int> xs = {5, 6, 5};
  auto a = frugal::group_by(xs, [](int x) { return x; });
  frugal::grouped<int, int> b;
  REQUIRE(count_allocations([&] { b = std::move(a); }) == 0);
  REQUIRE(a.empty());  // NOLINT: moved from, documented empty
  REQUIRE(b.find(5).size() == 2);
  frugal::grouped<int, int> c(std::move(b));
  REQUIRE(c.size() == 2);
  REQUIRE(b.empty());  // NOLINT
  auto& alias = c;
  c = std::move(alias);  // self-move keeps it
  REQUIRE(c.size() == 2);
}

TEST_CASE("group_by refuses more rows than its 32-bit ids hold", "[batch]") {
  const auto huge = std::views::iota(std::uint64_t{0}, std::uint64_t{5'000'000'000});
  REQUIRE_THROWS_MATCHES(
      frugal::group_by(huge, [](std::uint64_t x) { return x; }), std::length_error,
      Catch::Matchers::Message("group_by: 5000000000 elements exceed the limit of 4294967294"));
}

TEST_CASE("group_by leaves nothing behind when the key function or a copy throws", "[batch]") {
  std::vector<tracked> rows;
  for (int i = 0; i < 40; ++i) rows.emplace_back(i % 6, i);
  const long base = tracked::live;
  for (int k = 0; k <= 40; ++k) {
    int calls = 0;
    const auto key = [&](const tracked& t) {
      if (calls++ == k) throw std::runtime_error("key failed");
      return std::to_string(t.key) + " with a long enough tail to allocate";
    };
    if (k < 40) {
      REQUIRE_THROWS_AS(frugal::group_by(rows, key), std::runtime_error);
    } else {
      const auto g = frugal::group_by(rows, key);
      REQUIRE(calls == 40);  // once per row
      REQUIRE(tracked::live == base + 40);
    }
    REQUIRE(tracked::live == base);
  }
  for (long k = 0; k <= 40; ++k) {
    tracked::copies_left = k;
    if (k < 40) {
      REQUIRE_THROWS_AS(frugal::group_by(rows, &tracked::key), std::runtime_error);
    } else {
      const auto g = frugal::group_by(rows, &tracked::key);
      REQUIRE(g.size() == 6);
      for (std::size_t j = 0; j < g.size(); ++j) {
        int prev = -1;
        for (const tracked& t : g.group(j)) {
          REQUIRE(t.seq > prev);
          prev = t.seq;
        }
      }
    }
    tracked::copies_left = -1;
    REQUIRE(tracked::live == base);
  }
}

TEST_CASE("group_into fills a map of exactly reserved vectors", "[batch]") {
  const std::vector<post> posts = {{1, "a"}, {2, "b"}, {1, "c"}};
  auto m = frugal::group_into<std::unordered_map<int, std::vector<post>>>(posts, &post::user_id);
  REQUIRE(m.size() == 2);
  REQUIRE(m[1] == std::vector<post>{{1, "a"}, {1, "c"}});
  REQUIRE(m[1].capacity() == 2);
  // A forward range that is not random access: the key function runs twice per row.
  std::forward_list<int> ids = {4, 5, 4, 4};
  int calls = 0;
  const auto fm = frugal::group_into<std::map<int, std::vector<int>>>(ids, [&](int x) {
    ++calls;
    return x;
  });
  REQUIRE(calls == 8);
  REQUIRE(fm.at(4) == std::vector<int>{4, 4, 4});
  REQUIRE(fm.at(4).capacity() == 3);
  // An rvalue container is moved from.
  std::vector<std::unique_ptr<int>> owned;
  owned.push_back(std::make_unique<int>(1));
  owned.push_back(std::make_unique<int>(2));
  const auto mo = frugal::group_into<std::map<bool, std::vector<std::unique_ptr<int>>>>(
      std::move(owned), [](const std::unique_ptr<int>& p) { return *p > 1; });
  REQUIRE(*mo.at(true)[0] == 2);
  // Allocations: the index grouping, the map's nodes, one per vector (std::map: a node each).
  REQUIRE(count_allocations([&] {
            auto mm = frugal::group_into<std::map<int, std::vector<post>>>(posts, &post::user_id);
          }) == 1 + 2 + 2);
}

TEST_CASE("group_into takes a key function that wants its row by non-const reference",
          "[batch]") {
  struct row {
    int key;
    int n;
  };
  auto key = [](row& r) { return r.key; };
  const std::vector<row> rows = {{1, 0}, {2, 1}, {1, 2}};
  std::vector<row> v(rows);
  std::list<row> l(rows.begin(), rows.end());
  const auto a = frugal::group_into<std::map<int, std::vector<row>>>(v, key);
  const auto b = frugal::group_into<std::map<int, std::vector<row>>>(l, key);
  for (const auto* m : {&a, &b}) {
    REQUIRE(m->size() == 2);
    REQUIRE(m->at(1).size() == 2);
    REQUIRE(m->at(1)[0].n == 0);
    REQUIRE(m->at(1)[1].n == 2);
    REQUIRE(m->at(2)[0].n == 1);
  }
}

TEST_CASE("a key function over rows given as rvalue references does not move from them",
          "[batch]") {
  // A range yielding `post&&`: the rows are the grouping's to move, once, when it stores them;
  // the key function sees each row as an lvalue, so a member pointer copies the title and a
  // by-value parameter copies the row.
  const std::vector<post> source = {{1, std::string(40, 'x')}, {2, std::string(40, 'y')},
                                    {1, std::string(40, 'z')}};
  const auto as_rvalues = [](std::vector<post>& v) {
    return v | std::views::transform([](post& p) -> post&& { return std::move(p); });
  };
  {
    std::vector<post> v = source;
    auto rows = as_rvalues(v);
    const auto g = frugal::group_by(rows, &post::title);
    REQUIRE(g.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(g.key(i) == source[i].title);
      REQUIRE(g.group(i).size() == 1);
      CHECK(g.group(i)[0] == source[i]);
    }
  }
  {
    std::vector<post> v = source;
    auto rows = as_rvalues(v);
    const auto g = frugal::group_by(rows, [](post p) { return p.user_id; });
    REQUIRE(g.size() == 2);
    CHECK(std::ranges::equal(g.group(0), std::vector<post>{source[0], source[2]}));
    CHECK(std::ranges::equal(g.group(1), std::vector<post>{source[1]}));
  }
  {
    // Indices only: the caller's rows stay as they were.
    std::vector<post> v = source;
    auto rows = as_rvalues(v);
    const auto g = frugal::group_indices_by(rows, &post::title);
    REQUIRE(g.size() == 3);
    CHECK(g.key(1) == source[1].title);
    CHECK(v == source);
  }
  {
    std::vector<post> v = source;
    std::list<post> l(source.begin(), source.end());
    auto from_vector = as_rvalues(v);
    auto from_list =
        l | std::views::transform([](post& p) -> post&& { return std::move(p); });
    const auto a = frugal::group_into<std::map<int, std::vector<post>>>(
        from_vector, [](post p) { return p.user_id; });
    const auto b = frugal::group_into<std::map<int, std::vector<post>>>(
        from_list, [](post p) { return p.user_id; });
    for (const auto* m : {&a, &b}) {
      REQUIRE(m->size() == 2);
      CHECK(m->at(1) == std::vector<post>{source[0], source[2]});
      CHECK(m->at(2) == std::vector<post>{source[1]});
    }
  }
}

TEST_CASE("a grouping is read from many threads at once", "[batch][concurrent]") {
  std::vector<int> xs(10000);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<int>(i % 97);
  const auto g = frugal::group_by(xs, [](int x) { return x; });
  std::atomic<long> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      long sum = 0;
      for (int k = 0; k < 97; ++k) sum += static_cast<long>(g.find(k).size());
      total += sum;
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(total == 40000);
}

// batch_loader -------------------------------------------------------------------------------

namespace {

// A batch function over an in-memory table that records every call.
struct recording_source {
  explicit recording_source(std::map<int, std::string> t) : table(std::move(t)) {}
  std::map<int, std::string> table;
  std::vector<std::vector<int>> calls;
  int fail_call = -1;   // throw on this call (0-based)
  int short_call = -1;  // return one result too few on this call

  std::vector<std::optional<std::string>> operator()(std::span<const int> keys) {
    calls.emplace_back(keys.begin(), keys.end());
    if (static_cast<int>(calls.size()) - 1 == fail_call) throw std::runtime_error("db down");
    std::vector<std::optional<std::string>> out;
    for (int k : keys) {
      auto it = table.find(k);
      out.push_back(it == table.end() ? std::nullopt : std::optional<std::string>(it->second));
    }
    if (static_cast<int>(calls.size()) - 1 == short_call) out.pop_back();
    return out;
  }
};

std::map<int, std::string> table_of(int n) {
  std::map<int, std::string> t;
  for (int i = 0; i < n; ++i) t[i] = "user" + std::to_string(i);
  return t;
}

}  // namespace

TEST_CASE("batch_loader sends distinct keys once, split into max_batch calls", "[batch]") {
  recording_source src{table_of(10)};
  frugal::batch_loader<int, std::string> loader(std::ref(src), {.max_batch = 2});
  auto a = loader.load(3);
  auto b = loader.load(1);
  auto c = loader.load(3);
  auto d = loader.load(42);
  auto e = loader.load(7);
  REQUIRE(loader.pending() == 4);
  REQUIRE(loader.size() == 4);
  REQUIRE_FALSE(a.ready());
  REQUIRE(a.status() == frugal::load_status::pending);
  REQUIRE_THROWS_MATCHES(
      a.get(), std::logic_error,
      Catch::Matchers::Message("batch_loader: get() before dispatch() sent the key"));
  const auto stats = loader.dispatch();
  REQUIRE(stats == frugal::dispatch_stats{2, 4, 0});
  REQUIRE(src.calls == std::vector<std::vector<int>>{{3, 1}, {42, 7}});
  REQUIRE(a.get() == "user3");
  REQUIRE(b.get() == "user1");
  REQUIRE(c.get() == "user3");
  REQUIRE(&c.get() == &a.get());
  REQUIRE(d.status() == frugal::load_status::missing);
  REQUIRE_FALSE(d.get().has_value());
  REQUIRE(e.status() == frugal::load_status::found);
  REQUIRE(e.key() == 7);
  REQUIRE(loader.pending() == 0);
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{});  // nothing waiting: no call
  REQUIRE(src.calls.size() == 2);

  // Memoised: found and missing keys are answered without a call.
  auto a2 = loader.load(3);
  auto d2 = loader.load(42);
  REQUIRE(a2.get() == "user3");
  REQUIRE_FALSE(d2.get().has_value());
  REQUIRE(loader.pending() == 0);
  auto f = loader.load(5);
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{1, 1, 0});
  REQUIRE(src.calls.back() == std::vector<int>{5});
  REQUIRE(f.get() == "user5");
}

TEST_CASE("batch_loader takes move-only values out of the container the batch returned",
          "[batch]") {
  static_assert(frugal::batch_function<std::vector<std::optional<std::unique_ptr<int>>> (*)(
                                           std::span<const int>),
                                       int, std::unique_ptr<int>>);
  // A view of values it does not own would have to be copied: not a batch function for them.
  static_assert(!frugal::batch_function<std::span<std::optional<std::unique_ptr<int>>> (*)(
                                            std::span<const int>),
                                        int, std::unique_ptr<int>>);
  frugal::batch_loader<int, std::unique_ptr<int>> loader(
      [](std::span<const int> keys) {
        std::vector<std::optional<std::unique_ptr<int>>> out;
        for (int k : keys) {
          if (k >= 0) {
            out.emplace_back(std::make_unique<int>(k * 10));
          } else {
            out.emplace_back();
          }
        }
        return out;
      },
      {.max_batch = 2});
  auto a = loader.load(1);
  auto b = loader.load(-1);
  auto c = loader.load(3);
  loader.dispatch();
  REQUIRE(**a.get() == 10);
  REQUIRE_FALSE(b.get().has_value());
  REQUIRE(**c.get() == 30);
}

TEST_CASE("batch_loader takes values that cannot be assigned", "[batch]") {
  struct fixed {
    const int v;
  };
  static_assert(!std::is_move_assignable_v<fixed>);
  frugal::batch_loader<int, fixed> loader([](std::span<const int> keys) {
    std::vector<std::optional<fixed>> out;
    for (int k : keys) {
      if (k != 2) {
        out.push_back(fixed{k * 10});
      } else {
        out.emplace_back();
      }
    }
    return out;
  });
  auto a = loader.load(1);
  auto b = loader.load(2);
  loader.dispatch();
  REQUIRE(a.get()->v == 10);
  REQUIRE_FALSE(b.get().has_value());
}

TEST_CASE("batch_loader without memoisation sends a key again after a dispatch", "[batch]") {
  recording_source src{table_of(5)};
  frugal::batch_loader<int, std::string> loader(std::ref(src), {.max_batch = 10, .memoize = false});
  auto a = loader.load(1);
  auto b = loader.load(1);
  loader.dispatch();
  src.table[1] = "renamed";
  auto c = loader.load(1);
  auto d = loader.load(1);
  REQUIRE(loader.pending() == 1);
  loader.dispatch();
  REQUIRE(src.calls == std::vector<std::vector<int>>{{1}, {1}});
  REQUIRE(a.get() == "user1");  // earlier handles keep their own answer
  REQUIRE(b.get() == "user1");
  REQUIRE(c.get() == "renamed");
  REQUIRE(d.get() == "renamed");
}

TEST_CASE("batch_loader: a failing batch fails its keys only, and they are sent again", "[batch]") {
  recording_source src{table_of(10)};
  src.fail_call = 1;
  frugal::batch_loader<int, std::string> loader(std::ref(src), {.max_batch = 2});
  std::vector<frugal::batch_loader<int, std::string>::handle> hs;
  for (int k = 0; k < 6; ++k) hs.push_back(loader.load(k));
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{3, 6, 1});
  REQUIRE(hs[0].get() == "user0");
  REQUIRE(hs[1].get() == "user1");
  for (int k : {2, 3}) {
    REQUIRE(hs[static_cast<std::size_t>(k)].status() == frugal::load_status::failed);
    REQUIRE(hs[static_cast<std::size_t>(k)].ready());
    REQUIRE_THROWS_MATCHES(hs[static_cast<std::size_t>(k)].get(), std::runtime_error,
                           Catch::Matchers::Message("db down"));
  }
  REQUIRE(hs[4].get() == "user4");
  REQUIRE(hs[5].get() == "user5");
  // Memoisation does not keep failures: the key goes out again.
  auto again = loader.load(2);
  auto kept = loader.load(4);
  REQUIRE(loader.pending() == 1);
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{1, 1, 0});
  REQUIRE(again.get() == "user2");
  REQUIRE(kept.get() == "user4");
  REQUIRE_THROWS_AS(hs[2].get(), std::runtime_error);  // the old handle keeps its answer
}

TEST_CASE("batch_loader: a wrong number of results is a logic_error naming both counts",
          "[batch]") {
  recording_source src{table_of(10)};
  src.short_call = 0;
  frugal::batch_loader<int, std::string> loader(std::ref(src), {.max_batch = 3});
  std::vector<frugal::batch_loader<int, std::string>::handle> hs;
  for (int k = 0; k < 5; ++k) hs.push_back(loader.load(k));
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{2, 5, 1});
  for (std::size_t k = 0; k < 3; ++k) {
    REQUIRE_THROWS_MATCHES(
        hs[k].get(), std::logic_error,
        Catch::Matchers::Message("batch_loader: the batch function returned 2 results for 3 keys"));
  }
  REQUIRE(hs[3].get() == "user3");
  // Too many results, from a lambda returning a sized range of plain values.
  frugal::batch_loader<int, int> longer(
      [](std::span<const int> keys) { return std::vector<int>(keys.size() + 1, 7); });
  auto h = longer.load(1);
  longer.dispatch();
  REQUIRE_THROWS_MATCHES(
      h.get(), std::logic_error,
      Catch::Matchers::Message("batch_loader: the batch function returned 2 results for 1 keys"));
}

namespace {

// A value whose move throws on the k-th move, to fail a batch half way through its results.
struct fragile {
  static inline int moves_left = -1;
  static inline long live = 0;
  int v = 0;
  explicit fragile(int x) : v(x) { ++live; }
  fragile(const fragile& o) : v(o.v) { ++live; }
  fragile(fragile&& o) : v(o.v) {
    if (moves_left >= 0 && moves_left-- == 0) throw std::runtime_error("move failed");
    ++live;
  }
  fragile& operator=(const fragile&) = default;
  fragile& operator=(fragile&& o) {
    if (moves_left >= 0 && moves_left-- == 0) throw std::runtime_error("move failed");
    v = o.v;
    return *this;
  }
  ~fragile() { --live; }
};

}  // namespace

TEST_CASE("batch_loader keeps no half-filled batch when storing a result throws", "[batch]") {
  for (int k = 0; k < 8; ++k) {
    {
      frugal::batch_loader<int, fragile> loader(
          [](std::span<const int> keys) {
            std::vector<std::optional<fragile>> out;
            out.reserve(keys.size());
            for (int key : keys) out.emplace_back(std::in_place, key * 10);
            return out;
          },
          {.max_batch = 4});
      std::vector<frugal::batch_loader<int, fragile>::handle> hs;
      for (int key = 0; key < 8; ++key) hs.push_back(loader.load(key));
      fragile::moves_left = k;
      const auto stats = loader.dispatch();
      fragile::moves_left = -1;
      REQUIRE(stats.failed_batches == 1);
      const std::size_t failed = static_cast<std::size_t>(k) / 4;
      for (std::size_t i = 0; i < 8; ++i) {
        if (i / 4 == failed) {
          REQUIRE(hs[i].status() == frugal::load_status::failed);
          REQUIRE_THROWS_AS(hs[i].get(), std::runtime_error);
        } else {
          REQUIRE(hs[i].get()->v == static_cast<int>(i) * 10);
        }
      }
      // The failed batch holds no values: 4 live values, in the other batch.
      REQUIRE(fragile::live == 4);
    }
    REQUIRE(fragile::live == 0);
  }
}

TEST_CASE("batch_loader refuses loads and dispatches from inside the batch function", "[batch]") {
  frugal::batch_loader<int, int>* self = nullptr;
  int calls = 0;
  frugal::batch_loader<int, int> loader(
      [&](std::span<const int> keys) {
        ++calls;
        if (keys[0] == 1) self->load(99);
        if (keys[0] == 2) self->dispatch();
        return std::vector<std::optional<int>>(keys.begin(), keys.end());
      },
      {.max_batch = 1});
  self = &loader;
  auto a = loader.load(1);
  auto b = loader.load(2);
  auto c = loader.load(3);
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{3, 3, 2});
  REQUIRE(calls == 3);
  REQUIRE_THROWS_MATCHES(
      a.get(), std::logic_error,
      Catch::Matchers::Message("batch_loader: load() called from inside the batch function"));
  REQUIRE_THROWS_MATCHES(
      b.get(), std::logic_error,
      Catch::Matchers::Message("batch_loader: dispatch() called from inside the batch function"));
  REQUIRE(c.get() == 3);
  REQUIRE(loader.size() == 3);  // the refused load left nothing
}

TEST_CASE("batch_loader: clear() from inside the batch function waits for dispatch's end",
          "[batch]") {
  frugal::batch_loader<int, std::string>* self = nullptr;
  int calls = 0;
  frugal::batch_loader<int, std::string> loader(
      [&](std::span<const int> keys) {
        ++calls;
        std::vector<std::optional<std::string>> out;
        for (int k : keys) out.emplace_back(std::string(64, static_cast<char>('a' + k)));
        if (calls == 1) self->clear();  // a callback that ends the unit of work
        return out;
      },
      {.max_batch = 1});
  self = &loader;
  auto a = loader.load(1);
  auto b = loader.load(2);
  // Both keys are sent, then the clear is done: every handle is stale, nothing is pending.
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{2, 2, 0});
  REQUIRE(calls == 2);
  REQUIRE(loader.size() == 0);
  REQUIRE(loader.pending() == 0);
  REQUIRE_THROWS_AS(a.get(), std::logic_error);
  REQUIRE_THROWS_AS(b.status(), std::logic_error);
  // The next unit of work runs as usual.
  auto c = loader.load(3);
  REQUIRE(loader.pending() == 1);
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{1, 1, 0});
  REQUIRE(c.get() == std::string(64, 'd'));
}

TEST_CASE("batch_loader moves move-only values out of a view that yields them", "[batch]") {
  auto fn = [](std::span<const int> ids) {
    return ids | std::views::transform([](int id) {
             return std::optional<std::unique_ptr<int>>(std::make_unique<int>(id * 10));
           });
  };
  static_assert(frugal::batch_function<decltype(fn), int, std::unique_ptr<int>>);
  frugal::batch_loader<int, std::unique_ptr<int>> loader(fn);
  auto h = loader.load(3);
  auto g = loader.load(4);
  loader.dispatch();
  REQUIRE(**h.get() == 30);
  REQUIRE(**g.get() == 40);
}

TEST_CASE("batch_loader: bad options, stale handles and aliasing keys", "[batch]") {
  const auto echo = [](std::span<const std::string> keys) {
    return std::vector<std::optional<std::string>>(keys.begin(), keys.end());
  };
  REQUIRE_THROWS_MATCHES(
      (frugal::batch_loader<std::string, std::string>(echo, {.max_batch = 0})),
      std::invalid_argument,
      Catch::Matchers::Message("batch_loader: max_batch is 0; it must be at least 1"));
  frugal::batch_loader<std::string, std::string> loader(echo);
  REQUIRE(loader.options().max_batch == 1000);
  REQUIRE(loader.options().memoize);
  auto h = loader.load(std::string(40, 'k'));
  // Loading a key that lives inside the loader itself, many times, while its arrays grow.
  std::vector<frugal::batch_loader<std::string, std::string>::handle> hs;
  for (int i = 0; i < 100; ++i) {
    hs.push_back(loader.load(h.key()));
    hs.push_back(loader.load(hs.back().key() + std::to_string(i)));
  }
  REQUIRE(loader.size() == 101);
  loader.dispatch();
  REQUIRE(hs[1].get() == std::string(40, 'k') + "0");
  REQUIRE(hs[0].get() == std::string(40, 'k'));
  loader.clear();
  REQUIRE(loader.size() == 0);
  REQUIRE_THROWS_MATCHES(h.get(), std::logic_error,
                         Catch::Matchers::Message("batch_loader: handle used after clear()"));
  REQUIRE_THROWS_AS(h.key(), std::logic_error);
  REQUIRE_THROWS_AS(h.status(), std::logic_error);
  auto fresh = loader.load("x");
  loader.dispatch();
  REQUIRE(fresh.get() == "x");
}

TEST_CASE("batch_loader allocation counts: nothing per load once warm", "[batch]") {
  std::vector<int> sink(64);
  frugal::batch_loader<int, int> loader(
      [](std::span<const int> keys) {
        return std::vector<std::optional<int>>(keys.begin(), keys.end());
      },
      {.max_batch = 16});
  for (int k = 0; k < 64; ++k) loader.load(k);
  loader.dispatch();
  loader.clear();  // keeps capacity
  REQUIRE(count_allocations([&] {
            for (int k = 0; k < 64; ++k) loader.load(k % 40);
          }) == 0);
  // One allocation per call: the batch function's own result vector.
  REQUIRE(count_allocations([&] { loader.dispatch(); }) == 3);
}

TEST_CASE("batch_loader matches a model on random load/dispatch/clear sequences", "[batch]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 60; ++round) {
    const std::size_t max_batch = std::uniform_int_distribution<std::size_t>(1, 7)(rng);
    const bool memo = round % 2 == 0;
    std::vector<std::vector<int>> calls;
    frugal::batch_loader<int, int> loader(
        [&](std::span<const int> keys) {
          calls.emplace_back(keys.begin(), keys.end());
          std::vector<std::optional<int>> out;
          for (int k : keys) out.push_back(k % 3 == 0 ? std::nullopt : std::optional<int>(k * 2));
          return out;
        },
        {.max_batch = max_batch, .memoize = memo});
    // The model: keys waiting in first-request order, and the keys answered in this unit.
    std::vector<int> waiting;
    std::set<int> answered;
    std::vector<std::pair<int, frugal::batch_loader<int, int>::handle>> live;
    for (int step = 0; step < 200; ++step) {
      const int op = std::uniform_int_distribution<int>(0, 9)(rng);
      if (op < 7) {
        const int k = std::uniform_int_distribution<int>(0, 25)(rng);
        live.emplace_back(k, loader.load(k));
        const bool queued = std::find(waiting.begin(), waiting.end(), k) != waiting.end();
        if (!queued && !(memo && answered.count(k))) waiting.push_back(k);
      } else if (op < 9) {
        const std::size_t before = calls.size();
        const auto stats = loader.dispatch();
        std::vector<std::vector<int>> expected;
        for (std::size_t i = 0; i < waiting.size(); i += max_batch) {
          expected.emplace_back(waiting.begin() + static_cast<std::ptrdiff_t>(i),
                                waiting.begin() + static_cast<std::ptrdiff_t>(
                                                      std::min(i + max_batch, waiting.size())));
        }
        REQUIRE(std::vector<std::vector<int>>(calls.begin() + static_cast<std::ptrdiff_t>(before),
                                              calls.end()) == expected);
        REQUIRE(stats.batches == expected.size());
        REQUIRE(stats.keys == waiting.size());
        answered.insert(waiting.begin(), waiting.end());
        waiting.clear();
        for (auto& [k, h] : live) {
          REQUIRE(h.ready());
          REQUIRE(h.key() == k);
          REQUIRE(h.get() == (k % 3 == 0 ? std::nullopt : std::optional<int>(k * 2)));
        }
      } else {
        loader.clear();
        waiting.clear();
        answered.clear();
        live.clear();
      }
      REQUIRE(loader.pending() == waiting.size());
    }
  }
}

// Adapters ------------------------------------------------------------------------------------

TEST_CASE("batch_from_rows, batch_from_grouped_rows and batch_from_map keep the contract",
          "[batch]") {
  const std::vector<post> posts = {{1, "a"}, {2, "b"}, {1, "c"}, {4, "d"}};
  int fetches = 0;
  const auto one = frugal::batch_from_rows(
      [&](std::span<const int> keys) {
        ++fetches;
        std::vector<post> rows;
        for (const post& p : posts) {
          if (std::find(keys.begin(), keys.end(), p.user_id) != keys.end()) rows.push_back(p);
        }
        return rows;
      },
      &post::user_id);
  static_assert(frugal::batch_function<decltype(one), int, post>);
  const std::array<int, 3> keys = {4, 3, 1};
  const auto r = one(std::span<const int>(keys));
  REQUIRE(r.size() == 3);
  REQUIRE(r[0] == post{4, "d"});
  REQUIRE_FALSE(r[1].has_value());
  REQUIRE(r[2] == post{1, "a"});  // the first of several rows

  const auto many =
      frugal::batch_from_grouped_rows([&](std::span<const int>) { return posts; }, &post::user_id);
  static_assert(frugal::batch_function<decltype(many), int, std::vector<post>>);
  const auto g = many(std::span<const int>(keys));
  REQUIRE(g[0] == std::vector<post>{{4, "d"}});
  REQUIRE(g[1] == std::vector<post>{});  // found, without rows
  REQUIRE(g[2] == std::vector<post>{{1, "a"}, {1, "c"}});

  const auto bymap = frugal::batch_from_map([](std::span<const int> ks) {
    std::unordered_map<int, std::string> m;
    for (int k : ks) {
      if (k != 3) m.emplace(k, "v" + std::to_string(k));
    }
    return m;
  });
  const auto m = bymap(std::span<const int>(keys));
  REQUIRE(m == std::vector<std::optional<std::string>>{"v4", std::nullopt, "v1"});

  // Through a loader.
  frugal::batch_loader<int, std::vector<post>> loader(many);
  auto h1 = loader.load(1);
  auto h9 = loader.load(9);
  loader.dispatch();
  REQUIRE(h1.get()->size() == 2);
  REQUIRE(h9.get()->empty());
}

// insert_rows ---------------------------------------------------------------------------------

namespace {

std::array<std::string, 2> post_params(const post& p) {
  return {std::to_string(p.user_id), p.title};
}

}  // namespace

TEST_CASE("insert_rows writes quoted identifiers and numbered parameters", "[batch]") {
  const std::vector<post> posts = {{1, "a'); DROP TABLE posts; --"}, {2, "b"}, {3, "c"}};
  const auto st = frugal::insert_rows("posts", {"user_id", "title"}, posts, post_params);
  REQUIRE(st.size() == 1);
  REQUIRE(st[0].sql ==
          R"(INSERT INTO "posts" ("user_id", "title") VALUES ($1,$2),($3,$4),($5,$6))");
  REQUIRE(st[0].params ==
          std::vector<std::string>{"1", "a'); DROP TABLE posts; --", "2", "b", "3", "c"});
  REQUIRE(st[0].first_row == 0);
  REQUIRE(st[0].rows == 3);

  const auto q = frugal::insert_rows("we\"ird", {"a\"b"}, std::vector<int>{5},
                                     [](int x) { return std::array<int, 1>{x}; },
                                     {.schema = "app", .suffix = " ON CONFLICT DO NOTHING"});
  REQUIRE(q[0].sql == R"(INSERT INTO "app"."we""ird" ("a""b") VALUES ($1) ON CONFLICT DO NOTHING)");
  REQUIRE(q[0].params == std::vector<int>{5});
  REQUIRE(q[0].sql.capacity() >= q[0].sql.size());

  const std::vector<std::string_view> cols = {"x", "y", "z"};
  const auto s =
      frugal::insert_rows("t", std::span<const std::string_view>(cols), std::views::iota(0, 4),
                          [](int i) {
                            return std::vector<int>{i, i + 1, i + 2};
                          },
                          {.max_params = 7});
  REQUIRE(s.size() == 2);
  REQUIRE(s[0].sql == R"(INSERT INTO "t" ("x", "y", "z") VALUES ($1,$2,$3),($4,$5,$6))");
  REQUIRE(s[1].sql == R"(INSERT INTO "t" ("x", "y", "z") VALUES ($1,$2,$3),($4,$5,$6))");
  REQUIRE(s[1].first_row == 2);
  REQUIRE(s[1].params == std::vector<int>{2, 3, 4, 3, 4, 5});

  REQUIRE(frugal::insert_rows("t", {"a"}, std::vector<int>{}, [](int x) {
            return std::array<int, 1>{x};
          }).empty());
}

TEST_CASE("insert_rows splits at PostgreSQL's 65,535 parameters", "[batch]") {
  const auto one = [](int x) { return std::array<int, 1>{x}; };
  const auto three = [](int x) { return std::array<int, 3>{x, x, x}; };
  for (const int n : {65534, 65535, 65536, 131070, 131071}) {
    const auto st = frugal::insert_rows("t", {"a"}, std::views::iota(0, n), one);
    REQUIRE(st.size() == static_cast<std::size_t>((n + 65534) / 65535));
    std::size_t rows = 0;
    for (const auto& s : st) {
      REQUIRE(s.params.size() <= 65535);
      REQUIRE(s.first_row == rows);
      rows += s.rows;
      const std::string last = "($" + std::to_string(s.params.size()) + ")";
      REQUIRE(s.sql.ends_with(last));
      REQUIRE(s.sql.find("($" + std::to_string(s.params.size() + 1) + ")") == std::string::npos);
    }
    REQUIRE(rows == static_cast<std::size_t>(n));
    REQUIRE(st.back().params.back() == n - 1);
  }
  const auto st3 = frugal::insert_rows("t", {"a", "b", "c"}, std::views::iota(0, 21846), three);
  REQUIRE(st3.size() == 2);
  REQUIRE(st3[0].rows == 21845);
  REQUIRE(st3[0].params.size() == 65535);
  REQUIRE(st3[0].sql.ends_with(",($65533,$65534,$65535)"));
  REQUIRE(st3[1].sql.ends_with("VALUES ($1,$2,$3)"));
  const auto st2 = frugal::insert_rows("t", {"a", "b"}, std::views::iota(0, 32768), [](int x) {
    return std::array<int, 2>{x, x};
  });
  REQUIRE(st2[0].rows == 32767);
  REQUIRE(st2[0].sql.ends_with("($65533,$65534)"));
}

TEST_CASE("insert_rows allocates once per text and once per parameter array", "[batch]") {
  const auto one = [](int x) { return std::array<int, 1>{x}; };
  for (const int n : {1, 10, 65535, 65536, 200000}) {
    const std::size_t statements = static_cast<std::size_t>((n + 65534) / 65535);
    REQUIRE(count_allocations([&] {
              auto st = frugal::insert_rows("posts", {"user_id"}, std::views::iota(0, n), one);
            }) == 1 + 2 * statements);
  }
}

TEST_CASE("insert_rows rejects bad identifiers, counts and limits", "[batch]") {
  const auto f = [](int x) { return std::array<int, 1>{x}; };
  const std::vector<int> rows = {1};
  using Catch::Matchers::Message;
  REQUIRE_THROWS_MATCHES(frugal::insert_rows(std::string_view("po\0sts", 6), {"a"}, rows, f),
                         std::invalid_argument,
                         Message("insert_rows: table contains a NUL character"));
  REQUIRE_THROWS_MATCHES(frugal::insert_rows("t", {"a", std::string_view("b\0", 2)}, rows, f),
                         std::invalid_argument,
                         Message("insert_rows: column 1 contains a NUL character"));
  REQUIRE_THROWS_MATCHES(frugal::insert_rows("t", {"a", ""}, rows, f), std::invalid_argument,
                         Message("insert_rows: column 1 is empty"));
  REQUIRE_THROWS_MATCHES(frugal::insert_rows("", {"a"}, rows, f), std::invalid_argument,
                         Message("insert_rows: table is empty"));
  REQUIRE_THROWS_MATCHES(
      frugal::insert_rows("t", {"a"}, rows, f, {.schema = std::string_view("s\0", 2)}),
      std::invalid_argument, Message("insert_rows: schema contains a NUL character"));
  REQUIRE_THROWS_MATCHES(frugal::insert_rows("t", std::span<const std::string_view>(), rows, f),
                         std::invalid_argument, Message("insert_rows: no columns"));
  REQUIRE_THROWS_MATCHES(frugal::insert_rows("t", {"a", "b", "c"}, rows, f, {.max_params = 2}),
                         std::invalid_argument,
                         Message("insert_rows: 3 columns exceed max_params 2"));
  REQUIRE_THROWS_MATCHES(
      frugal::insert_rows("t", {"a", "b"}, std::vector<int>{1, 2, 3},
                          [](int x) { return std::vector<int>(x == 3 ? 1u : 2u, x); }),
      std::logic_error, Message("insert_rows: row 2 gave 1 parameters for 2 columns"));
  // Identifier checks come first: even with no rows.
  REQUIRE_THROWS_AS(frugal::insert_rows("t", {""}, std::vector<int>{}, f), std::invalid_argument);
}

TEST_CASE("insert_rows leaves nothing behind when row_params throws", "[batch]") {
  for (int k = 0; k < 6; ++k) {
    int calls = 0;
    const auto f = [&](int x) {
      if (calls++ == k) throw std::runtime_error("bad row");
      return std::array<std::string, 2>{std::string(40, 'v'), std::to_string(x)};
    };
    REQUIRE_THROWS_AS(
        frugal::insert_rows("t", {"a", "b"}, std::views::iota(0, 6), f, {.max_params = 4}),
        std::runtime_error);
  }
  // Strings returned by value are moved into the parameters, not copied.
  int calls = 0;
  const auto st = frugal::insert_rows("t", {"a"}, std::views::iota(0, 3), [&](int) {
    ++calls;
    return std::array<std::string, 1>{std::string(40, 'm')};
  });
  REQUIRE(calls == 3);
  REQUIRE(count_allocations([&] {
            auto s2 = frugal::insert_rows("t", {"a"}, std::views::iota(0, 3), [](int) {
              return std::array<std::string, 1>{std::string(40, 'm')};
            });
          }) == 3 + 3);  // 3 strings made by the lambda, moved; vector, text, params
}

namespace {

// A key whose copy throws while `fail` is set.
struct touchy_key {
  static inline bool fail = false;
  int v;
  explicit touchy_key(int x) : v(x) {}
  touchy_key(const touchy_key& o) : v(o.v) {
    if (fail) throw std::runtime_error("key copy failed");
  }
  touchy_key& operator=(const touchy_key&) = default;
  friend bool operator==(const touchy_key&, const touchy_key&) = default;
};

struct touchy_hash {
  std::size_t operator()(const touchy_key& k) const noexcept {
    return static_cast<std::size_t>(k.v);
  }
};

}  // namespace

TEST_CASE("batch_loader is unchanged when copying a key throws", "[batch]") {
  frugal::batch_loader<touchy_key, int, touchy_hash> loader(
      [](std::span<const touchy_key> keys) {
        std::vector<std::optional<int>> out;
        for (const touchy_key& k : keys) out.emplace_back(k.v);
        return out;
      },
      {.max_batch = 3});
  for (int i = 0; i < 20; ++i) {
    auto h = loader.load(touchy_key(i));
    touchy_key::fail = true;
    REQUIRE_THROWS_AS(loader.load(touchy_key(100 + i)), std::runtime_error);
    touchy_key::fail = false;
    REQUIRE(loader.size() == static_cast<std::size_t>(i + 1));
    REQUIRE(loader.pending() == static_cast<std::size_t>(i + 1));
    REQUIRE(h.key().v == i);
  }
  auto again = loader.load(touchy_key(100));  // the refused key is new, not half-recorded
  REQUIRE(loader.size() == 21);
  REQUIRE(loader.dispatch() == frugal::dispatch_stats{7, 21, 0});
  REQUIRE(again.get() == 100);
}

TEST_CASE("the batch-function concept and insert_rows over a forward list", "[batch]") {
  const auto good = [](std::span<const int> k) {
    return std::vector<std::optional<int>>(k.size());
  };
  const auto plain = [](std::span<const int> k) { return std::vector<int>(k.size()); };
  const auto wrong_key = [](std::span<const std::string> k) {
    return std::vector<std::optional<int>>(k.size());
  };
  const auto not_range = [](std::span<const int>) { return 3; };
  static_assert(frugal::batch_function<decltype(good), int, int>);
  static_assert(frugal::batch_function<decltype(plain), int, int>);
  static_assert(!frugal::batch_function<decltype(wrong_key), int, int>);
  static_assert(!frugal::batch_function<decltype(not_range), int, int>);
  static_assert(!frugal::batch_function<decltype(good), int, std::string>);

  const std::forward_list<int> rows = {7, 8, 9};
  const auto st = frugal::insert_rows("t", {"a", "b"}, rows,
                                      [](int x) {
                                        return std::array<int, 2>{x, -x};
                                      },
                                      {.max_params = 5});
  REQUIRE(st.size() == 2);
  REQUIRE(st[0].sql == R"(INSERT INTO "t" ("a", "b") VALUES ($1,$2),($3,$4))");
  REQUIRE(st[1].params == std::vector<int>{9, -9});
}

TEST_CASE("insert_rows: placeholders past the stack buffer and long identifiers", "[batch]") {
  // 200 columns: one row's placeholders outgrow the writer's 256-byte buffer many times.
  std::vector<std::string> names;
  for (int c = 0; c < 200; ++c) names.push_back("column_" + std::to_string(c));
  const std::vector<std::string_view> cols(names.begin(), names.end());
  const auto st =
      frugal::insert_rows(std::string(300, 't'), std::span<const std::string_view>(cols),
                          std::views::iota(0, 400), [](int x) { return std::vector<int>(200, x); });
  REQUIRE(st.size() == 2);
  REQUIRE(st[0].rows == 327);  // 65,535 / 200
  std::string want = "INSERT INTO \"" + std::string(300, 't') + "\" (";
  for (int c = 0; c < 200; ++c)
    want += (c ? ", \"" : "\"") + names[static_cast<std::size_t>(c)] + "\"";
  want += ") VALUES ";
  for (int r = 0; r < 73; ++r) {
    want += r ? ",(" : "(";
    for (int c = 0; c < 200; ++c) want += (c ? ",$" : "$") + std::to_string(r * 200 + c + 1);
    want += ")";
  }
  REQUIRE(st[1].sql == want);
}

TEST_CASE("batch_loader: a key sent again and again keeps its hash index small", "[batch]") {
  // Without memoisation, each dispatch of the same key adds an entry, but not a distinct key:
  // the loader allocates what its three per-entry arrays allocate, plus its first hash index.
  std::vector<int> model;
  const std::size_t growths = count_allocations([&] {
    for (int i = 0; i < 300; ++i) model.push_back(i);
  });
  frugal::batch_loader<int, int> loader(
      [](std::span<const int> keys) { return std::array<std::optional<int>, 1>{keys[0]}; },
      {.max_batch = 1, .memoize = false});
  const std::size_t allocations = count_allocations([&] {
    for (int i = 0; i < 300; ++i) {
      auto h = loader.load(1);
      loader.dispatch();
      REQUIRE(h.get() == 1);
    }
  });
  REQUIRE(loader.size() == 300);
  REQUIRE(allocations == 3 * growths + 1);
}
