// small_vector's calls beyond std::vector's: pop_back_val, truncate, default_init, the
// allocator-extended constructors from small_vector_base, std::hash, and the C++23 *_range
// members over ranges of every kind. Each is checked against a std::vector model, with exact
// allocation counts, failures injected at every construction and allocation, stateful and pmr
// allocators, and move-only, non-assignable and over-aligned elements.
#include <frugal/small_vector.hpp>
#include <frugal/static_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <forward_list>
#include <functional>
#include <memory>
#include <memory_resource>
#include <new>
#include <random>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

using frugal::small_vector;
using frugal::small_vector_base;
using frugal::testing::count_allocations;

namespace {

// Counts live instances and throws on the k-th construction (of any kind) from now.
struct brittle {
  static inline long live = 0;
  static inline long countdown = 0;
  static void maybe_throw() {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("brittle: injected failure");
  }
  brittle() : value(7) {
    maybe_throw();
    ++live;
  }
  brittle(int v) : value(v) {  // NOLINT: implicit on purpose
    maybe_throw();
    ++live;
  }
  brittle(const brittle& o) : value(o.value) {
    maybe_throw();
    ++live;
  }
  brittle(brittle&& o) noexcept(false) : value(o.value) {
    maybe_throw();
    o.value = -1;
    ++live;
  }
  brittle& operator=(const brittle&) = default;
  brittle& operator=(brittle&&) = default;
  ~brittle() { --live; }
  int value;
};

struct countdown_guard {
  countdown_guard() { brittle::countdown = 0; }
  ~countdown_guard() { brittle::countdown = 0; }
};

// A stateful allocator that can fail on the k-th allocation and counts what is outstanding.
template <class T>
struct failing_allocator {
  using value_type = T;
  using is_always_equal = std::false_type;
  static inline long fail_at = 0;
  static inline long outstanding = 0;
  int id = 0;
  failing_allocator() = default;
  explicit failing_allocator(int i) : id(i) {}
  template <class U>
  failing_allocator(const failing_allocator<U>& o) : id(o.id) {}
  T* allocate(std::size_t n) {
    if (fail_at > 0 && --fail_at == 0) throw std::bad_alloc();
    ++outstanding;
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) {
    --outstanding;
    std::allocator<T>{}.deallocate(p, n);
  }
  friend bool operator==(const failing_allocator& a, const failing_allocator& b) {
    return a.id == b.id;
  }
};

struct const_member {
  const int value;
};

struct alignas(64) wide {
  int value = 0;
};

template <class V>
std::vector<int> ints(const V& v) {
  std::vector<int> out;
  for (const auto& x : v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(x)>, int>) {
      out.push_back(x);
    } else {
      out.push_back(x.value);
    }
  }
  return out;
}

}  // namespace

// pop_back_val ----------------------------------------------------------------------------

TEST_CASE("pop_back_val returns the last element and removes it", "[small_vector]") {
  small_vector<std::string, 2> v{"a", "b", "a string too long for any short-string buffer"};
  std::vector<std::string> model(v.begin(), v.end());
  while (!model.empty()) {
    std::string expected = std::move(model.back());
    model.pop_back();
    std::string got;
    REQUIRE(count_allocations([&] { got = v.pop_back_val(); }) == 0);
    REQUIRE(got == expected);
    REQUIRE(std::vector<std::string>(v.begin(), v.end()) == model);
  }
  REQUIRE(v.empty());
  REQUIRE(v.capacity() == 3);  // the capacity stays
}

TEST_CASE("pop_back_val with move-only, non-assignable and over-aligned elements",
          "[small_vector]") {
  small_vector<std::unique_ptr<int>, 1> u;
  u.push_back(std::make_unique<int>(1));
  u.push_back(std::make_unique<int>(2));
  std::unique_ptr<int> p = u.pop_back_val();
  REQUIRE(*p == 2);
  REQUIRE(u.size() == 1);

  small_vector<const_member, 2> c;
  c.push_back({1});
  c.push_back({2});
  REQUIRE(c.pop_back_val().value == 2);
  REQUIRE(ints(c) == std::vector<int>{1});

  small_vector<wide, 1> w(3);
  w[2].value = 9;
  const wide last = w.pop_back_val();
  REQUIRE(last.value == 9);
  REQUIRE(reinterpret_cast<std::uintptr_t>(&last) % 64 == 0);
}

TEST_CASE("pop_back_val leaves the vector unchanged when the move throws",
          "[small_vector][exceptions]") {
  countdown_guard guard;
  brittle::live = 0;
  {
    small_vector<brittle, 2> v{1, 2, 3};
    brittle::countdown = 1;
    REQUIRE_THROWS_AS(static_cast<void>(v.pop_back_val()), std::runtime_error);
    REQUIRE(ints(v) == std::vector<int>{1, 2, 3});
    REQUIRE(brittle::live == 3);
    REQUIRE(v.pop_back_val().value == 3);
    REQUIRE(brittle::live == 2);
  }
  REQUIRE(brittle::live == 0);
}

TEST_CASE("pop_back_val with a pmr allocator keeps the element's resource",
          "[small_vector][allocator]") {
  std::pmr::monotonic_buffer_resource arena(4096);
  small_vector<std::pmr::string, 2, std::pmr::polymorphic_allocator<std::pmr::string>> v(&arena);
  v.emplace_back("a string long enough to leave the short buffer");
  const std::pmr::string s = v.pop_back_val();
  REQUIRE(s == "a string long enough to leave the short buffer");
  REQUIRE(s.get_allocator().resource() == &arena);
}

// truncate --------------------------------------------------------------------------------

TEST_CASE("truncate keeps the first n elements and does nothing past the size", "[small_vector]") {
  small_vector<std::string, 4> v{"a", "b", "c", "d", "e", "f"};
  const auto capacity = v.capacity();
  REQUIRE(count_allocations([&] { v.truncate(6); }) == 0);
  REQUIRE(v.size() == 6);
  v.truncate(100);
  REQUIRE(v.size() == 6);
  REQUIRE(count_allocations([&] { v.truncate(3); }) == 0);
  REQUIRE(std::vector<std::string>(v.begin(), v.end()) == std::vector<std::string>{"a", "b", "c"});
  REQUIRE(v.capacity() == capacity);
  REQUIRE_FALSE(v.is_inline());
  v.truncate(0);
  REQUIRE(v.empty());
  v.truncate(0);
  REQUIRE(v.empty());
  static_assert(noexcept(v.truncate(1)));
}

TEST_CASE("truncate matches Rust's Vec::truncate on random sequences",
          "[small_vector][differential]") {
  countdown_guard guard;
  brittle::live = 0;
  std::mt19937 rng(2024);
  for (int round = 0; round < 500; ++round) {
    {
      small_vector<brittle, 3> v;
      std::vector<int> model;
      for (int step = 0; step < 20; ++step) {
        if (rng() % 3 != 0) {
          const int x = static_cast<int>(rng() % 100);
          v.push_back(x);
          model.push_back(x);
        } else {
          const std::size_t n = rng() % 12;
          v.truncate(n);
          if (n < model.size()) model.resize(n);
        }
        REQUIRE(ints(v) == model);
        REQUIRE(brittle::live == static_cast<long>(model.size()));
      }
    }
    REQUIRE(brittle::live == 0);
  }
}

// default_init ----------------------------------------------------------------------------

TEST_CASE("the default_init constructor and resize allocate like resize_for_overwrite",
          "[small_vector][alloc]") {
  REQUIRE(count_allocations([] {
            small_vector<char, 64> buf(64, frugal::default_init);
            REQUIRE(buf.size() == 64);
            REQUIRE(buf.is_inline());
          }) == 0);
  REQUIRE(count_allocations([] {
            small_vector<char, 64> buf(65, frugal::default_init);
            REQUIRE(buf.size() == 65);
            REQUIRE(buf.capacity() == 65);
          }) == 1);
  small_vector<int, 4> v{1, 2};
  REQUIRE(count_allocations([&] { v.resize(4, frugal::default_init); }) == 0);
  REQUIRE(v.size() == 4);
  REQUIRE(v[0] == 1);
  REQUIRE(v[1] == 2);
  REQUIRE(count_allocations([&] { v.resize(10, frugal::default_init); }) == 1);
  REQUIRE(v.size() == 10);
  REQUIRE(v[1] == 2);
  v.resize(1, frugal::default_init);
  REQUIRE(ints(v) == std::vector<int>{1});
  // default_init_t is not made from {}: resize(n, {}) still means a value-initialised T.
  v.resize(3, {});
  REQUIRE(ints(v) == std::vector<int>{1, 0, 0});
  static_assert(!std::is_convertible_v<std::initializer_list<int>, frugal::default_init_t>);
}

TEST_CASE("default_init builds class types with their default constructor", "[small_vector]") {
  small_vector<std::string, 2> v(3, frugal::default_init);
  REQUIRE(v == small_vector<std::string, 2>(3));
  small_vector<brittle, 2> b(3, frugal::default_init);
  REQUIRE(ints(b) == std::vector<int>{7, 7, 7});

  std::pmr::monotonic_buffer_resource arena(4096);
  using pmr_vector =
      small_vector<std::pmr::string, 1, std::pmr::polymorphic_allocator<std::pmr::string>>;
  pmr_vector p(3, frugal::default_init, &arena);
  for (const auto& s : p) REQUIRE(s.get_allocator().resource() == &arena);
  p.resize(5, frugal::default_init);
  for (const auto& s : p) REQUIRE(s.get_allocator().resource() == &arena);
}

TEST_CASE("default_init: a throwing construction leaks nothing", "[small_vector][exceptions]") {
  countdown_guard guard;
  brittle::live = 0;
  for (long k = 1; k <= 12; ++k) {
    brittle::countdown = k;
    bool threw = false;
    try {
      small_vector<brittle, 4> v(10, frugal::default_init);
    } catch (const std::runtime_error&) {
      threw = true;
    }
    brittle::countdown = 0;
    REQUIRE(threw == (k <= 10));
    REQUIRE(brittle::live == 0);

    small_vector<brittle, 4> w{1, 2, 3};
    brittle::countdown = k;
    try {
      w.resize(9, frugal::default_init);
      REQUIRE(ints(w) == std::vector<int>{1, 2, 3, 7, 7, 7, 7, 7, 7});
    } catch (const std::runtime_error&) {
      REQUIRE(ints(w) == std::vector<int>{1, 2, 3});  // growth: strong guarantee
    }
    brittle::countdown = 0;
    REQUIRE(brittle::live == static_cast<long>(w.size()));
  }
}

TEST_CASE("default_init past max_size throws std::length_error", "[small_vector]") {
  using V = small_vector<char, 4>;
  const std::size_t too_many = std::size_t{1} << 33;
  REQUIRE_THROWS_AS(V(too_many, frugal::default_init), std::length_error);
  V v;
  REQUIRE_THROWS_AS(v.resize(too_many, frugal::default_init), std::length_error);
  REQUIRE(v.empty());
}

// Allocator-extended constructors from small_vector_base ----------------------------------

TEST_CASE("copy from small_vector_base with an allocator", "[small_vector][allocator]") {
  using A = failing_allocator<std::string>;
  small_vector<std::string, 8, A> source(A(1));
  for (int i = 0; i < 5; ++i) source.push_back(std::to_string(i));
  const small_vector_base<std::string, A>& base = source;

  small_vector<std::string, 8, A> inline_copy(base, A(2));  // same N through the base
  REQUIRE(inline_copy == source);
  REQUIRE(inline_copy.get_allocator().id == 2);
  REQUIRE(inline_copy.is_inline());

  small_vector<std::string, 2, A> heap_copy(base, A(3));  // a smaller N: one allocation
  REQUIRE(heap_copy == source);
  REQUIRE(heap_copy.get_allocator().id == 3);
  REQUIRE_FALSE(heap_copy.is_inline());
  REQUIRE(heap_copy.capacity() == 5);
  REQUIRE(source.size() == 5);  // untouched

  REQUIRE(count_allocations([&] {
            small_vector<int, 2> c(small_vector<int, 8>{1, 2, 3}, {});
          }) == 1);
  const small_vector<int, 8> s{1, 2, 3};
  REQUIRE(count_allocations([&] {
            small_vector<int, 4> c(static_cast<const small_vector_base<int>&>(s), {});
            REQUIRE(c.size() == 3);
          }) == 0);
}

TEST_CASE("move from small_vector_base with an allocator", "[small_vector][allocator]") {
  using A = failing_allocator<std::string>;
  using base = small_vector_base<std::string, A>;
  const auto strings = [](const auto& v) { return std::vector<std::string>(v.begin(), v.end()); };
  const std::vector<std::string> five{"0", "1", "2", "3", "4"};
  {
    small_vector<std::string, 2, A> source(A(1));
    source.assign(five.begin(), five.end());
    const std::string* data = source.data();
    const long before = A::outstanding;
    small_vector<std::string, 4, A> target(static_cast<base&&>(source), A(1));
    // Equal allocators, a buffer bigger than the target's N: it changes hands.
    REQUIRE(target.data() == data);
    REQUIRE(A::outstanding == before);
    REQUIRE(strings(target) == five);
    REQUIRE(source.empty());
    REQUIRE(source.is_inline());
  }
  {
    small_vector<std::string, 2, A> source(A(1));
    source.assign(five.begin(), five.begin() + 3);
    small_vector<std::string, 8, A> target(static_cast<base&&>(source), A(1));
    // Equal allocators, a buffer no bigger than the target's N: the elements move inline.
    REQUIRE(target.is_inline());
    REQUIRE(strings(target) == std::vector<std::string>(five.begin(), five.begin() + 3));
    REQUIRE(source.empty());
    REQUIRE(source.is_inline());
  }
  {
    small_vector<std::string, 2, A> source(A(1));
    source.assign(five.begin(), five.end());
    small_vector<std::string, 3, A> target(static_cast<base&&>(source), A(2));
    // Unequal allocators: the elements move one by one into memory from A(2).
    REQUIRE(target.get_allocator().id == 2);
    REQUIRE(strings(target) == five);
    REQUIRE(source.empty());
  }
  {
    small_vector<std::string, 8, A> source(A(1));
    source.assign(five.begin(), five.end());
    small_vector<std::string, 2, A> target(static_cast<base&&>(source), A(1));
    // Inline elements that do not fit the target's N: one allocation.
    REQUIRE(strings(target) == five);
    REQUIRE(target.capacity() == 5);
    REQUIRE(source.empty());
  }
  REQUIRE(A::outstanding == 0);
  {
    small_vector<int, 8> s{1, 2, 3, 4, 5};
    std::size_t inline_to_heap = 0;
    REQUIRE(count_allocations([&] {
              small_vector<int, 2> t(static_cast<small_vector_base<int>&&>(s), {});
              inline_to_heap = t.size();
            }) == 1);
    REQUIRE(inline_to_heap == 5);
  }
  {
    small_vector<int, 2> s{1, 2, 3, 4, 5};
    const int* heap = s.data();
    REQUIRE(count_allocations([&] {
              small_vector<int, 4> t(static_cast<small_vector_base<int>&&>(s), {});
              REQUIRE(t.data() == heap);  // the buffer changes hands
            }) == 0);
  }
}

TEST_CASE("constructors from small_vector_base choose the closest overload", "[small_vector]") {
  using V = small_vector<int, 4>;
  using B = small_vector_base<int>;
  using A = std::allocator<int>;
  static_assert(std::is_constructible_v<V, const B&, const A&>);
  static_assert(std::is_constructible_v<V, B&&, const A&>);
  static_assert(!std::is_convertible_v<const B&, V>);  // explicit, like small_vector(const B&)
  V same{1, 2};
  V copy(same, A{});  // small_vector's own copy, not the base's
  REQUIRE(copy == same);
  REQUIRE(same.size() == 2);
}

TEST_CASE("allocator-extended constructors from the base: failure at every point",
          "[small_vector][exceptions]") {
  countdown_guard guard;
  using A = failing_allocator<brittle>;
  using base = small_vector_base<brittle, A>;
  brittle::live = 0;
  for (int mode = 0; mode < 4; ++mode) {
    for (long k = 1; k <= 8; ++k) {
      for (int by_allocation = 0; by_allocation < 2; ++by_allocation) {
        {
          small_vector<brittle, 6, A> source(A(1));
          for (int i = 0; i < 5; ++i) source.emplace_back(i);
          const std::vector<int> before = ints(source);
          (by_allocation ? A::fail_at : brittle::countdown) = k;
          try {
            if (mode == 0) {
              small_vector<brittle, 2, A> t(static_cast<const base&>(source), A(2));
              REQUIRE(ints(t) == before);
            } else if (mode == 1) {
              small_vector<brittle, 2, A> t(static_cast<base&&>(source), A(2));
              REQUIRE(ints(t) == before);
            } else if (mode == 2) {
              small_vector<brittle, 2, A> t(static_cast<base&&>(source), A(1));
              REQUIRE(ints(t) == before);
            } else {
              small_vector<brittle, 8, A> t(static_cast<const base&>(source), A(1));
              REQUIRE(ints(t) == before);
            }
          } catch (const std::runtime_error&) {
            REQUIRE(by_allocation == 0);
          } catch (const std::bad_alloc&) {
            REQUIRE(by_allocation == 1);
          }
          A::fail_at = 0;
          brittle::countdown = 0;
          REQUIRE(brittle::live == static_cast<long>(source.size()));
          if (mode == 0 || mode == 3) REQUIRE(ints(source) == before);
        }
        REQUIRE(brittle::live == 0);
        REQUIRE(A::outstanding == 0);
      }
    }
  }
}

TEST_CASE("allocator-extended constructors from the base with pmr", "[small_vector][allocator]") {
  std::pmr::monotonic_buffer_resource one(4096), two(4096);
  using PA = std::pmr::polymorphic_allocator<std::pmr::string>;
  small_vector<std::pmr::string, 1, PA> source(&one);
  source.emplace_back("a string long enough to leave the short buffer");
  source.emplace_back("another string long enough to leave the short buffer");
  small_vector<std::pmr::string, 4, PA> copy(
      static_cast<const small_vector_base<std::pmr::string, PA>&>(source), &two);
  for (const auto& s : copy) REQUIRE(s.get_allocator().resource() == &two);
  small_vector<std::pmr::string, 4, PA> moved(
      static_cast<small_vector_base<std::pmr::string, PA>&&>(source), &two);
  for (const auto& s : moved) REQUIRE(s.get_allocator().resource() == &two);
  REQUIRE(moved == copy);
  REQUIRE(count_allocations([&] {
            small_vector<std::pmr::string, 4, PA> more(
                static_cast<const small_vector_base<std::pmr::string, PA>&>(moved), &two);
          }) == 0);
}

// std::hash --------------------------------------------------------------------------------

namespace {
struct not_hashable {};
}  // namespace

TEST_CASE("std::hash of small_vector", "[small_vector]") {
  using V4 = small_vector<int, 4>;
  using V16 = small_vector<int, 16>;
  static_assert(std::is_default_constructible_v<std::hash<V4>>);
  static_assert(std::is_default_constructible_v<std::hash<small_vector_base<int>>>);
  static_assert(!std::is_default_constructible_v<std::hash<small_vector<not_hashable, 4>>>);
  static_assert(noexcept(std::hash<V4>{}(std::declval<const V4&>())));

  const V4 a{1, 2, 3, 4, 5, 6};   // on the heap
  const V16 b{1, 2, 3, 4, 5, 6};  // inline
  REQUIRE(std::hash<V4>{}(a) == std::hash<V16>{}(b));
  REQUIRE(std::hash<small_vector_base<int>>{}(a) == std::hash<V4>{}(a));
  REQUIRE(std::hash<V4>{}(V4{}) != std::hash<V4>{}(V4{0}));
  REQUIRE(std::hash<V4>{}(V4{0}) != std::hash<V4>{}(V4{0, 0}));
  REQUIRE(std::hash<V4>{}(V4{1, 2}) != std::hash<V4>{}(V4{2, 1}));

  // Nested vectors: regrouping the same elements gives another hash.
  using nested = small_vector<V4, 2>;
  REQUIRE(std::hash<nested>{}(nested{V4{1}, V4{2, 3}}) !=
          std::hash<nested>{}(nested{V4{1, 2}, V4{3}}));

  // Strings hash through std::hash<std::string>; equal contents, equal hashes.
  small_vector<std::string, 2> s{"alpha", "beta", "gamma"};
  small_vector<std::string, 8> t(s.begin(), s.end());
  REQUIRE(std::hash<small_vector<std::string, 2>>{}(s) ==
          std::hash<small_vector<std::string, 8>>{}(t));

  REQUIRE(count_allocations(
              [&] { static_cast<void>(std::hash<small_vector<std::string, 2>>{}(s)); }) == 0);
}

TEST_CASE("std::hash spreads random vectors and keys unordered containers",
          "[small_vector][differential]") {
  std::mt19937 rng(99);
  std::unordered_set<small_vector<int, 4>> set;
  std::vector<std::vector<int>> model;
  std::unordered_set<std::size_t> hashes;
  for (int i = 0; i < 5000; ++i) {
    small_vector<int, 4> v;
    const std::size_t n = rng() % 8;
    for (std::size_t j = 0; j < n; ++j) v.push_back(static_cast<int>(rng() % 4));
    const bool fresh = std::find(model.begin(), model.end(), ints(v)) == model.end();
    if (fresh) {
      model.push_back(ints(v));
      hashes.insert(std::hash<small_vector<int, 4>>{}(v));
    }
    REQUIRE(set.insert(v).second == fresh);
  }
  REQUIRE(set.size() == model.size());
  REQUIRE(hashes.size() == model.size());  // no collision among these few thousand
}

// *_range over ranges of every kind --------------------------------------------------------

TEST_CASE("append_range, insert_range and assign_range match std::vector for every range kind",
          "[small_vector][differential]") {
  std::mt19937 rng(5);
  for (int round = 0; round < 400; ++round) {
    small_vector<std::string, 3> v;
    std::vector<std::string> model;
    for (int step = 0; step < 12; ++step) {
      std::vector<std::string> src(rng() % 6);
      for (auto& s : src) s = std::to_string(rng() % 50);
      std::forward_list<std::string> forward(src.begin(), src.end());
      std::istringstream words;
      std::string joined;
      for (const auto& s : src) joined += s + " ";
      words.str(joined);
      auto single_pass = std::views::istream<std::string>(words);
      const auto non_common = src | std::views::take_while([](const std::string&) { return true; });
      const std::size_t pos = model.empty() ? 0 : rng() % (model.size() + 1);
      const auto at = v.begin() + static_cast<std::ptrdiff_t>(pos);
      const auto mpos = model.begin() + static_cast<std::ptrdiff_t>(pos);
      switch (rng() % 9) {
        case 0:
          v.append_range(src);
          model.insert(model.end(), src.begin(), src.end());
          break;
        case 1:
          v.append_range(forward);
          model.insert(model.end(), src.begin(), src.end());
          break;
        case 2:
          v.append_range(single_pass);
          model.insert(model.end(), src.begin(), src.end());
          break;
        case 3:
          v.insert_range(at, non_common);
          model.insert(mpos, src.begin(), src.end());
          break;
        case 4:
          v.insert_range(at, forward);
          model.insert(mpos, src.begin(), src.end());
          break;
        case 5:
          v.insert_range(at, single_pass);
          model.insert(mpos, src.begin(), src.end());
          break;
        case 6:
          v.assign_range(non_common);
          model = src;
          break;
        case 7:
          v.assign_range(single_pass);
          model = src;
          break;
        default:
          v.assign_range(forward);
          model = src;
          break;
      }
      REQUIRE(std::vector<std::string>(v.begin(), v.end()) == model);
      REQUIRE(v.size() <= v.capacity());
    }
  }
}

namespace {

// A sized range whose iterator is move-only (allowed for C++20 input iterators).
struct move_only_end {
  const int* e = nullptr;
};
struct move_only_it {
  using value_type = int;
  using difference_type = std::ptrdiff_t;
  const int* p = nullptr;
  explicit move_only_it(const int* q) : p(q) {}
  move_only_it(move_only_it&&) = default;
  move_only_it& operator=(move_only_it&&) = default;
  int operator*() const { return *p; }
  move_only_it& operator++() {
    ++p;
    return *this;
  }
  void operator++(int) { ++p; }
  bool operator==(const move_only_end& s) const { return p == s.e; }
};
struct move_only_range {
  const int* b;
  const int* e;
  move_only_it begin() const { return move_only_it(b); }
  move_only_end end() const { return move_only_end{e}; }
  std::size_t size() const { return static_cast<std::size_t>(e - b); }
};
static_assert(std::ranges::input_range<move_only_range> &&
              std::ranges::sized_range<move_only_range> &&
              !std::copyable<move_only_it>);

}  // namespace

TEST_CASE("the range members take a sized range with a move-only iterator",
          "[small_vector][ranges]") {
  const int src[] = {1, 2, 3, 4, 5, 6, 7};
  const move_only_range r{src, src + 7};
  const std::vector<int> all(src, src + 7);
  small_vector<int, 4> a;
  a.append_range(r);
  REQUIRE(std::vector<int>(a.begin(), a.end()) == all);
  a.append_range(r);  // into the heap buffer, growing it
  REQUIRE(a.size() == 14);
  small_vector<int, 4> b{9, 9, 9};
  b.assign_range(r);
  REQUIRE(std::vector<int>(b.begin(), b.end()) == all);
  b.assign_range(move_only_range{src, src + 2});  // fewer than it holds
  REQUIRE(std::vector<int>(b.begin(), b.end()) == std::vector<int>{1, 2});
  small_vector<int, 16> c{8, 9};
  c.insert_range(c.begin() + 1, r);  // in place, no growth
  REQUIRE(std::vector<int>(c.begin(), c.end()) == std::vector<int>{8, 1, 2, 3, 4, 5, 6, 7, 9});
  small_vector<int, 4> d{8, 9};
  d.insert_range(d.begin() + 1, r);  // with growth
  REQUIRE(std::vector<int>(d.begin(), d.end()) == std::vector<int>{8, 1, 2, 3, 4, 5, 6, 7, 9});
  frugal::static_vector<int, 16> e{8, 9};
  e.insert_range(e.begin() + 1, r);
  REQUIRE(std::vector<int>(e.begin(), e.end()) == std::vector<int>{8, 1, 2, 3, 4, 5, 6, 7, 9});
  e.assign_range(r);
  REQUIRE(std::vector<int>(e.begin(), e.end()) == all);
  e.append_range(r);
  REQUIRE(e.size() == 14);
}

TEST_CASE("std::hash sets every output bit about half the time", "[small_vector][differential]") {
  // Keys of small consecutive ints, the worst case for identity element hashes: a weak fold
  // leaves some output bits mostly set or mostly clear, which crowds hash-table buckets.
  constexpr int keys = 20000;
  std::array<int, 64> ones{};
  for (int i = 0; i < keys; ++i) {
    const small_vector<int, 4> v{i % 100, i / 100};
    const std::uint64_t h = std::hash<small_vector<int, 4>>{}(v);
    for (int bit = 0; bit < 64; ++bit)
      ones[static_cast<std::size_t>(bit)] += static_cast<int>((h >> bit) & 1u);
  }
  for (int bit = 0; bit < 64; ++bit) {
    INFO("bit " << bit);
    REQUIRE(ones[static_cast<std::size_t>(bit)] > keys * 45 / 100);
    REQUIRE(ones[static_cast<std::size_t>(bit)] < keys * 55 / 100);
  }
}
