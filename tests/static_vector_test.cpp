// static_vector against a model: a std::vector that refuses to hold more than N elements, as
// C++26's std::inplace_vector specifies. Random operation sequences, failures injected at every
// construction, arguments that are elements of the vector itself, move-only, non-assignable and
// over-aligned elements, and exact allocation counts (none, ever).
#include <frugal/small_vector.hpp>
#include <frugal/static_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <forward_list>
#include <functional>
#include <list>
#include <memory>
#include <new>
#include <random>
#include <ranges>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

using frugal::static_vector;
using frugal::testing::count_allocations;

// Layout and traits --------------------------------------------------------------------------

// The header is one size field, the smallest unsigned type that holds N.
static_assert(sizeof(static_vector<char, 8>) == 9);
static_assert(sizeof(static_vector<char, 255>) == 256);
static_assert(sizeof(static_vector<char, 256>) == 258);
static_assert(sizeof(static_vector<int, 8>) == 36);
static_assert(sizeof(static_vector<char, 70000>) == 70004);
static_assert(sizeof(static_vector<std::uint64_t, 4>) == 40);
static_assert(sizeof(static_vector<int, 0>) == 1);
static_assert(alignof(static_vector<double, 2>) == alignof(double));

// Trivially copyable elements make a trivially copyable vector, like std::inplace_vector.
static_assert(std::is_trivially_copyable_v<static_vector<int, 8>>);
static_assert(std::is_trivially_destructible_v<static_vector<int, 8>>);
static_assert(!std::is_trivially_copyable_v<static_vector<std::string, 8>>);
static_assert(!std::is_trivially_destructible_v<static_vector<std::string, 8>>);
static_assert(!std::is_copy_constructible_v<static_vector<std::unique_ptr<int>, 2>>);
static_assert(std::is_nothrow_move_constructible_v<static_vector<std::unique_ptr<int>, 2>>);
static_assert(std::is_nothrow_default_constructible_v<static_vector<std::string, 2>>);
static_assert(std::is_nothrow_swappable_v<static_vector<std::string, 2>>);

// A contiguous, sized range whose iterators are pointers.
static_assert(std::ranges::contiguous_range<static_vector<int, 4>>);
static_assert(std::ranges::sized_range<static_vector<int, 4>>);
static_assert(std::is_same_v<std::ranges::iterator_t<static_vector<int, 4>>, int*>);

namespace {

// Counts live instances, detects use of destroyed objects, throws on the k-th construction,
// copy, move or assignment from now.
struct fragile {
  static inline long live = 0;
  static inline long errors = 0;
  static inline long countdown = 0;
  static void maybe_throw() {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("fragile: injected failure");
  }
  void check() const {
    if (self != this) ++errors;
  }
  fragile(int v = 0) : value(v), self(this) {  // NOLINT: implicit on purpose
    maybe_throw();
    ++live;
  }
  fragile(const fragile& o) : value(o.value), self(this) {
    o.check();
    maybe_throw();
    ++live;
  }
  fragile(fragile&& o) noexcept(false) : value(o.value), self(this) {
    o.check();
    maybe_throw();
    o.value = -1;
    ++live;
  }
  fragile& operator=(const fragile& o) {
    check();
    o.check();
    maybe_throw();
    value = o.value;
    return *this;
  }
  fragile& operator=(fragile&& o) noexcept(false) {
    check();
    o.check();
    maybe_throw();
    value = o.value;
    o.value = -1;
    return *this;
  }
  ~fragile() {
    check();
    self = nullptr;
    --live;
  }
  int value;
  const fragile* self;
};

struct fragile_reset {
  fragile_reset() {
    fragile::countdown = 0;
    fragile::live = 0;
    fragile::errors = 0;
  }
  ~fragile_reset() { fragile::countdown = 0; }
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
    } else if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) {
      out.push_back(x.empty() ? 0 : std::stoi(x));  // a value-initialised string is 0
    } else {
      out.push_back(x.value);
    }
  }
  return out;
}

template <class T>
T make(int v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return std::to_string(v) + std::string(20, ' ');  // beyond the short-string buffer
  } else {
    return T(v);
  }
}

}  // namespace

TEST_CASE("an empty static_vector has capacity N and no elements", "[static_vector]") {
  static_vector<int, 4> v;
  REQUIRE(v.empty());
  REQUIRE(v.size() == 0);
  REQUIRE(v.capacity() == 4);
  REQUIRE(v.max_size() == 4);
  REQUIRE(v.begin() == v.end());
  static_vector<int, 0> none;
  REQUIRE(none.empty());
  REQUIRE(none.data() == nullptr);
  REQUIRE(none.try_push_back(1) == nullptr);
  REQUIRE_THROWS_AS(none.push_back(1), std::bad_alloc);
  none.reserve(0);
  REQUIRE_THROWS_AS(none.reserve(1), std::bad_alloc);
}

// Allocation ---------------------------------------------------------------------------------

TEST_CASE("static_vector never allocates", "[static_vector][alloc]") {
  REQUIRE(count_allocations([] {
            static_vector<int, 16> v{1, 2, 3};
            for (int i = 0; i < 13; ++i) v.push_back(i);
            REQUIRE(v.try_push_back(99) == nullptr);
            v.erase(v.begin(), v.begin() + 5);
            v.insert(v.begin(), v.back());
            v.insert(v.begin() + 2, 3, 7);
            v.append_range(std::array<int, 1>{5});
            static_vector<int, 16> w = v;
            static_vector<int, 16> x = std::move(w);
            swap(v, x);
            v.resize(16);
            v.truncate(2);
            v.assign(10, 4);
            v.resize(12, frugal::default_init);
            static_cast<void>(v.pop_back_val());
            static_cast<void>(std::hash<static_vector<int, 16>>{}(v));
          }) == 0);
}

// Model checks -------------------------------------------------------------------------------

namespace {

// One random operation on `v` and on the model `ref`, a std::vector limited to N elements: the
// model predicts whether the operation must throw std::bad_alloc, and then nothing changes.
template <class V>
void random_step(std::mt19937& rng, V& v, std::vector<int>& ref, V& other,
                 std::vector<int>& other_ref) {
  using T = typename V::value_type;
  constexpr std::size_t n = V::capacity();
  auto pick = [&](std::size_t bound) { return static_cast<std::size_t>(rng() % (bound + 1)); };
  int value = static_cast<int>(rng() % 1000);
  const std::size_t at = pick(ref.size());
  const auto pos = v.begin() + static_cast<std::ptrdiff_t>(at);
  const auto rpos = ref.begin() + static_cast<std::ptrdiff_t>(at);
  const std::vector<int> before = ref;
  bool expect_throw = false;
  try {
    switch (rng() % 24) {
      case 0:
        expect_throw = ref.size() == n;
        v.push_back(make<T>(value));
        ref.push_back(value);
        break;
      case 1: {
        T* p = v.try_push_back(make<T>(value));
        REQUIRE((p == nullptr) == (ref.size() == n));
        if (p != nullptr) ref.push_back(value);
        break;
      }
      case 2:
        if (ref.size() < n) {
          v.unchecked_emplace_back(make<T>(value));
          ref.push_back(value);
        }
        break;
      case 3:
        if (!ref.empty()) {
          v.pop_back();
          ref.pop_back();
        }
        break;
      case 4:
        expect_throw = ref.size() == n;
        v.insert(pos, make<T>(value));
        ref.insert(rpos, value);
        break;
      case 5: {
        const std::size_t count = pick(4);
        expect_throw = ref.size() + count > n;
        v.insert(pos, count, make<T>(value));
        ref.insert(rpos, count, value);
        break;
      }
      case 6: {
        std::vector<int> src(pick(4));
        for (auto& x : src) x = value++;
        std::vector<T> tsrc;
        for (int x : src) tsrc.push_back(make<T>(x));
        expect_throw = ref.size() + src.size() > n;
        v.insert(pos, tsrc.begin(), tsrc.end());
        ref.insert(rpos, src.begin(), src.end());
        break;
      }
      case 7:
        if (!ref.empty()) {
          const std::size_t e = pick(ref.size() - 1);
          v.erase(v.begin() + static_cast<std::ptrdiff_t>(e));
          ref.erase(ref.begin() + static_cast<std::ptrdiff_t>(e));
        }
        break;
      case 8: {
        const std::size_t first = pick(ref.size());
        const std::size_t last = first + pick(ref.size() - first);
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(first),
                v.begin() + static_cast<std::ptrdiff_t>(last));
        ref.erase(ref.begin() + static_cast<std::ptrdiff_t>(first),
                  ref.begin() + static_cast<std::ptrdiff_t>(last));
        break;
      }
      case 9: {
        const std::size_t size = pick(n + 2);
        expect_throw = size > n;
        v.resize(size);
        ref.resize(size, 0);
        break;
      }
      case 10: {
        const std::size_t size = pick(n + 2);
        expect_throw = size > n;
        v.resize(size, make<T>(value));
        ref.resize(size, value);
        break;
      }
      case 11: {
        const std::size_t count = pick(n + 2);
        expect_throw = count > n;
        v.assign(count, make<T>(value));
        ref.assign(count, value);
        break;
      }
      case 12: {
        std::vector<T> tsrc;
        std::vector<int> src;
        for (std::size_t i = pick(n + 1); i > 0; --i) {
          src.push_back(value + static_cast<int>(i));
          tsrc.push_back(make<T>(src.back()));
        }
        expect_throw = src.size() > n;
        v.assign_range(tsrc);
        ref = src;
        break;
      }
      case 13: {
        std::list<T> tsrc;
        std::vector<int> src;
        for (std::size_t i = pick(4); i > 0; --i) {
          src.push_back(value + static_cast<int>(i));
          tsrc.push_back(make<T>(src.back()));
        }
        expect_throw = ref.size() + src.size() > n;
        v.append_range(tsrc);
        ref.insert(ref.end(), src.begin(), src.end());
        break;
      }
      case 14: {
        std::vector<T> tsrc;
        std::vector<int> src;
        for (std::size_t i = pick(4); i > 0; --i) {
          src.push_back(value + static_cast<int>(i));
          tsrc.push_back(make<T>(src.back()));
        }
        auto stop = v.try_append_range(tsrc);
        const std::size_t taken = std::min(src.size(), n - ref.size());
        REQUIRE(stop == tsrc.begin() + static_cast<std::ptrdiff_t>(taken));
        ref.insert(ref.end(), src.begin(), src.begin() + static_cast<std::ptrdiff_t>(taken));
        break;
      }
      case 15:
        if (!ref.empty()) {
          const std::size_t from = pick(ref.size() - 1);
          expect_throw = ref.size() == n;
          v.push_back(v[from]);  // an element of the vector itself
          ref.push_back(ref[from]);
        }
        break;
      case 16:
        if (!ref.empty()) {
          const std::size_t from = pick(ref.size() - 1);
          const std::size_t count = pick(3);
          expect_throw = ref.size() + count > n;
          v.insert(pos, count, v[from]);
          const int copy = ref[from];
          ref.insert(rpos, count, copy);
        }
        break;
      case 17: {
        expect_throw = 2 * ref.size() > n;
        v.insert(pos, v.begin(), v.end());  // the vector itself
        const std::vector<int> copy = ref;
        ref.insert(ref.begin() + static_cast<std::ptrdiff_t>(at), copy.begin(), copy.end());
        break;
      }
      case 18:
        swap(v, other);
        std::swap(ref, other_ref);
        break;
      case 19:
        other = v;
        other_ref = ref;
        break;
      case 20: {
        V moved(std::move(other));
        REQUIRE(ints(moved) == other_ref);
        REQUIRE(other.size() == other_ref.size());  // moved-from elements stay
        v = std::move(moved);
        ref = other_ref;
        other_ref = ints(other);
        break;
      }
      case 21:
        if (!ref.empty()) {
          const std::size_t from = pick(ref.size() - 1);
          expect_throw = ref.size() == n;
          v.emplace(pos, v[from]);
          const int copy = ref[from];
          ref.insert(rpos, copy);
        }
        break;
      case 22: {
        const std::size_t keep = pick(n + 1);
        v.truncate(keep);
        if (keep < ref.size()) ref.resize(keep);
        break;
      }
      default:
        if (!ref.empty()) {
          const int last = ints(v).back();
          T popped = v.pop_back_val();
          ref.pop_back();
          V holder;
          holder.push_back(std::move(popped));
          REQUIRE(ints(holder).front() == last);
        }
        break;
    }
    REQUIRE_FALSE(expect_throw);
  } catch (const std::bad_alloc& e) {
    REQUIRE(expect_throw);
    REQUIRE(std::string(e.what()).find("exceed capacity " + std::to_string(n)) !=
            std::string::npos);
    ref = before;
  }
}

}  // namespace

TEMPLATE_TEST_CASE("random operation sequences match a capacity-limited std::vector",
                   "[static_vector][differential]", int, std::string, fragile) {
  fragile_reset reset;
  std::mt19937 rng(4242);
  for (int sequence = 0; sequence < 800; ++sequence) {
    {
      static_vector<TestType, 6> v, other;
      std::vector<int> ref, other_ref;
      for (int step = 0; step < 40; ++step) {
        random_step(rng, v, ref, other, other_ref);
        REQUIRE(ints(v) == ref);
        REQUIRE(ints(other) == other_ref);
        if constexpr (std::is_same_v<TestType, fragile>) {
          REQUIRE(fragile::live == static_cast<long>(v.size() + other.size()));
        }
      }
    }
    if constexpr (std::is_same_v<TestType, fragile>) REQUIRE(fragile::live == 0);
  }
  REQUIRE(fragile::errors == 0);
}

TEST_CASE("a failure at every construction leaks nothing and keeps the guarantees",
          "[static_vector][exceptions]") {
  fragile_reset reset;
  std::mt19937 rng(31337);
  int thrown = 0;
  for (int sequence = 0; sequence < 1500; ++sequence) {
    {
      static_vector<fragile, 6> v, other;
      std::vector<int> ref, other_ref;
      for (int step = 0; step < 30; ++step) {
        const std::vector<int> before = ints(v);
        const bool append = rng() % 3 == 0;
        fragile::countdown = static_cast<long>(rng() % 8) + 1;
        try {
          if (append) {
            // Appending one element gives the strong guarantee.
            const int value = static_cast<int>(rng() % 1000);
            if (rng() % 2) {
              if (v.size() < v.capacity()) v.push_back(fragile(value));
            } else {
              static_cast<void>(v.try_emplace_back(value));
            }
          } else {
            random_step(rng, v, ref, other, other_ref);
          }
        } catch (const std::runtime_error&) {
          ++thrown;
          if (append) REQUIRE(ints(v) == before);
        }
        fragile::countdown = 0;
        REQUIRE(fragile::live == static_cast<long>(v.size() + other.size()));
        ref = ints(v);
        other_ref = ints(other);
      }
    }
    REQUIRE(fragile::live == 0);
  }
  REQUIRE(thrown > 100);
  REQUIRE(fragile::errors == 0);
}

// Adding past N ------------------------------------------------------------------------------

TEST_CASE("adding past N throws std::bad_alloc naming the call and the sizes", "[static_vector]") {
  static_vector<std::string, 2> v{"a", "b"};
  const auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const std::bad_alloc& e) {
      return e.what();
    }
    return "no throw";
  };
  REQUIRE(message([&] { v.push_back("c"); }) ==
          "static_vector::emplace_back: 3 elements exceed capacity 2");
  REQUIRE(message([&] { v.insert(v.begin(), 2, "c"); }) ==
          "static_vector::insert: 4 elements exceed capacity 2");
  REQUIRE(message([&] { v.resize(3); }) == "static_vector::resize: 3 elements exceed capacity 2");
  REQUIRE(message([&] { v.reserve(7); }) == "static_vector::reserve: 7 elements exceed capacity 2");
  REQUIRE(message([&] { v.assign(5, "x"); }) ==
          "static_vector::assign: 5 elements exceed capacity 2");
  REQUIRE(message([&] { v.emplace(v.begin(), "x"); }) ==
          "static_vector::emplace: 3 elements exceed capacity 2");
  REQUIRE(message([&] { v.append_range(std::vector<std::string>(1)); }) ==
          "static_vector::append_range: 3 elements exceed capacity 2");
  REQUIRE(message([&] {
            static_vector<int, 2>{1, 2, 3};
          }) == "static_vector: 3 elements exceed capacity 2");
  // A count so large that size() + count wraps around still names the count.
  REQUIRE(message([&] { v.insert(v.begin(), SIZE_MAX, "x"); }) ==
          "static_vector::insert: " + std::to_string(SIZE_MAX) + " elements exceed capacity 2");
  REQUIRE(std::vector<std::string>(v.begin(), v.end()) == std::vector<std::string>{"a", "b"});
  REQUIRE_THROWS_AS(v.at(2), std::out_of_range);
  REQUIRE_THROWS_WITH(v.at(2), "static_vector::at: index 2 >= size 2");
}

TEST_CASE("try_push_back returns a pointer, or null leaving a moved value untouched",
          "[static_vector]") {
  static_vector<std::unique_ptr<int>, 1> v;
  auto first = std::make_unique<int>(1);
  std::unique_ptr<int>* p = v.try_push_back(std::move(first));
  REQUIRE(p == &v[0]);
  REQUIRE(**p == 1);
  REQUIRE(first == nullptr);
  auto second = std::make_unique<int>(2);
  REQUIRE(v.try_push_back(std::move(second)) == nullptr);
  REQUIRE(second != nullptr);  // not moved from
  REQUIRE(*second == 2);
  REQUIRE(v.try_emplace_back() == nullptr);
  static_vector<std::string, 2> s;
  const std::string text = "copied";
  REQUIRE(*s.try_push_back(text) == "copied");
  REQUIRE(s.unchecked_push_back(std::string("moved")) == "moved");
  REQUIRE(s.try_push_back(text) == nullptr);
}

TEST_CASE("try_append_range appends what fits and returns where it stopped", "[static_vector]") {
  static_vector<int, 4> v{1};
  const std::vector<int> src{2, 3, 4, 5, 6};
  auto stop = v.try_append_range(src);
  REQUIRE(stop == src.begin() + 3);
  REQUIRE(ints(v) == std::vector<int>{1, 2, 3, 4});
  REQUIRE(v.try_append_range(src) == src.begin());
  // A single-pass range: the element that did not fit is the one the iterator is at.
  static_vector<int, 2> w;
  std::istringstream in("7 8 9 10");
  auto words = std::views::istream<int>(in);
  auto it = w.try_append_range(words);
  REQUIRE(ints(w) == std::vector<int>{7, 8});
  REQUIRE(*it == 9);
  // A forward range without a size.
  static_vector<int, 3> f;
  std::forward_list<int> list{1, 2, 3, 4};
  REQUIRE(*f.try_append_range(list) == 4);
  static_assert(
      std::is_same_v<decltype(v.try_append_range(std::vector<int>{})), std::ranges::dangling>);
}

TEST_CASE("single-pass ranges: appended elements stay, an insertion is undone", "[static_vector]") {
  static_vector<int, 3> v{1};
  std::istringstream in("2 3 4 5");
  REQUIRE_THROWS_AS(v.append_range(std::views::istream<int>(in)), std::bad_alloc);
  REQUIRE(ints(v) == std::vector<int>{1, 2, 3});  // as std::inplace_vector specifies
  static_vector<int, 3> w{1};
  std::istringstream in2("2 3 4 5");
  REQUIRE_THROWS_AS(w.insert_range(w.begin(), std::views::istream<int>(in2)), std::bad_alloc);
  REQUIRE(ints(w) == std::vector<int>{1});
  std::istringstream in3("2 3");
  w.insert_range(w.begin(), std::views::istream<int>(in3));
  REQUIRE(ints(w) == std::vector<int>{2, 3, 1});
  std::istringstream in4("4 5 6 7");
  REQUIRE_THROWS_AS(w.assign_range(std::views::istream<int>(in4)), std::bad_alloc);
  REQUIRE(ints(w) == std::vector<int>{4, 5, 6});
  std::istringstream in5("8 9");
  w.assign(std::istream_iterator<int>(in5), std::istream_iterator<int>());
  REQUIRE(ints(w) == std::vector<int>{8, 9});
}

// A single-pass source of fragile(first), fragile(first + 1), ...: each element is built as
// it is read, so a count of k throws while the range is being read.
struct fragile_source {
  using iterator_category = std::input_iterator_tag;
  using value_type = fragile;
  using difference_type = std::ptrdiff_t;
  using reference = fragile;
  using pointer = void;
  int i = 0;
  fragile operator*() const { return fragile(i); }
  fragile_source& operator++() {
    ++i;
    return *this;
  }
  fragile_source operator++(int) {
    fragile_source was = *this;
    ++i;
    return was;
  }
  bool operator==(const fragile_source&) const = default;
};
static_assert(std::input_iterator<fragile_source> && !std::forward_iterator<fragile_source>);

TEST_CASE("a constructor that throws destroys the elements it built", "[static_vector]") {
  fragile_reset reset;
  // A single-pass range longer than N: the N elements built before the throw are destroyed.
  REQUIRE_THROWS_AS((static_vector<fragile, 3>(fragile_source{0}, fragile_source{5})),
                    std::bad_alloc);
  REQUIRE(fragile::live == 0);
  // T throws while a single-pass range is read, and on the k-th copy of an initializer list.
  int throws = 0;
  for (long k = 1; k <= 10; ++k) {
    fragile::countdown = k;
    try {
      static_vector<fragile, 3> v(fragile_source{0}, fragile_source{3});
      REQUIRE(v.size() == 3);
    } catch (const std::runtime_error&) {
      ++throws;
    }
    fragile::countdown = 0;
    REQUIRE(fragile::live == 0);
  }
  REQUIRE(throws >= 3);  // at least each element's construction
  for (long k = 1; k <= 3; ++k) {
    const fragile a(1), b(2), c(3);
    fragile::countdown = k;
    REQUIRE_THROWS_AS((static_vector<fragile, 3>{a, b, c}), std::runtime_error);
    fragile::countdown = 0;
    REQUIRE(fragile::live == 3);
  }
  REQUIRE(fragile::errors == 0);
}

// Element types ------------------------------------------------------------------------------

TEST_CASE("move-only, non-assignable and over-aligned elements", "[static_vector]") {
  static_vector<std::unique_ptr<int>, 3> u;
  u.push_back(std::make_unique<int>(1));
  u.emplace(u.begin(), std::make_unique<int>(0));
  u.insert(u.end(), std::make_unique<int>(2));
  static_vector<std::unique_ptr<int>, 3> moved(std::move(u));
  REQUIRE(*moved[0] == 0);
  REQUIRE(*moved[2] == 2);
  REQUIRE(u.size() == 3);  // moved-from elements stay, like std::inplace_vector
  REQUIRE(u[0] == nullptr);
  u = std::move(moved);
  REQUIRE(*u[1] == 1);
  REQUIRE(*u.pop_back_val() == 2);
  u.erase(u.begin());
  REQUIRE(*u[0] == 1);

  static_vector<const_member, 4> c;
  c.push_back({1});
  c.push_back({2});
  c.push_back({3});
  c.pop_back();
  static_vector<const_member, 4> d = c;
  d = c;  // rebuilt, since the elements cannot be assigned
  d.assign(2, const_member{5});
  REQUIRE(ints(d) == std::vector<int>{5, 5});
  REQUIRE(ints(c) == std::vector<int>{1, 2});

  static_vector<wide, 3> w(3);
  for (auto& x : w) REQUIRE(reinterpret_cast<std::uintptr_t>(&x) % 64 == 0);
  w.erase(w.begin());
  REQUIRE(w.size() == 2);
}

TEST_CASE("copies and moves of trivially copyable and other elements", "[static_vector]") {
  static_vector<int, 8> a{1, 2, 3};
  static_vector<int, 8> b = a;
  b.push_back(4);
  a = b;
  REQUIRE(ints(a) == std::vector<int>{1, 2, 3, 4});
  static_vector<std::string, 4> s{make<std::string>(1), make<std::string>(2)};
  static_vector<std::string, 4> t{make<std::string>(9)};
  t = s;
  REQUIRE(t == s);
  t = static_vector<std::string, 4>{make<std::string>(3)};
  REQUIRE(ints(t) == std::vector<int>{3});
  const auto& self = t;
  t = self;  // self-assignment
  REQUIRE(ints(t) == std::vector<int>{3});
  t = {make<std::string>(4), make<std::string>(5)};
  REQUIRE(ints(t) == std::vector<int>{4, 5});
  REQUIRE_THROWS_AS((t = {"a", "b", "c", "d", "e"}), std::bad_alloc);
}

TEST_CASE("default_init and resize_for_overwrite", "[static_vector]") {
  static_vector<char, 64> buffer(10, frugal::default_init);
  REQUIRE(buffer.size() == 10);
  buffer.resize(64, frugal::default_init);
  REQUIRE(buffer.size() == 64);
  buffer.resize_for_overwrite(3);
  REQUIRE(buffer.size() == 3);
  REQUIRE_THROWS_AS(buffer.resize_for_overwrite(65), std::bad_alloc);
  static_vector<std::string, 3> s(2, frugal::default_init);
  REQUIRE(s == static_vector<std::string, 3>(2));
  static_vector<int, 4> z(3);
  REQUIRE(ints(z) == std::vector<int>{0, 0, 0});
}

// Comparisons, hashing, erase ----------------------------------------------------------------

TEST_CASE("comparisons, std::hash and frugal::erase", "[static_vector]") {
  using V = static_vector<int, 8>;
  REQUIRE(V{1, 2} == V{1, 2});
  REQUIRE(V{1, 2} != V{1, 2, 3});
  REQUIRE(V{1, 2} < V{1, 3});
  REQUIRE(V{1, 2} < V{1, 2, 0});
  REQUIRE((V{2} <=> V{1, 9}) == std::strong_ordering::greater);
  REQUIRE(std::hash<V>{}(V{1, 2, 3}) ==
          std::hash<frugal::small_vector<int, 2>>{}(frugal::small_vector<int, 2>{1, 2, 3}));
  REQUIRE(std::hash<V>{}(V{1, 2}) != std::hash<V>{}(V{2, 1}));
  static_assert(!std::is_default_constructible_v<std::hash<static_vector<const_member, 2>>>);
  std::unordered_set<V> set{V{1}, V{1}, V{2}};
  REQUIRE(set.size() == 2);
  V v{1, 2, 1, 3, 1};
  REQUIRE(frugal::erase(v, 1) == 3);
  REQUIRE(ints(v) == std::vector<int>{2, 3});
  REQUIRE(frugal::erase_if(v, [](int x) { return x > 2; }) == 1);
  REQUIRE(ints(v) == std::vector<int>{2});
}

TEST_CASE("swap exchanges elements of any sizes", "[static_vector]") {
  fragile_reset reset;
  {
    static_vector<fragile, 5> a{1, 2, 3, 4}, b{9};
    swap(a, b);
    REQUIRE(ints(a) == std::vector<int>{9});
    REQUIRE(ints(b) == std::vector<int>{1, 2, 3, 4});
    a.swap(b);
    REQUIRE(ints(a) == std::vector<int>{1, 2, 3, 4});
    a.swap(a);
    REQUIRE(ints(a) == std::vector<int>{1, 2, 3, 4});
    REQUIRE(fragile::live == 5);
  }
  REQUIRE(fragile::live == 0);
}

TEST_CASE("aliasing: arguments that are elements of the vector", "[static_vector]") {
  static_vector<std::string, 8> v{make<std::string>(1), make<std::string>(2)};
  v.push_back(v[0]);
  v.insert(v.begin(), v[2]);
  v.insert(v.begin() + 1, 2, v.back());
  REQUIRE(ints(v) == std::vector<int>{1, 1, 1, 1, 2, 1});
  v.assign(3, v[4]);
  REQUIRE(ints(v) == std::vector<int>{2, 2, 2});
  v = {make<std::string>(1), make<std::string>(2), make<std::string>(3)};
  v.append_range(std::span(v.data(), 2));
  REQUIRE(ints(v) == std::vector<int>{1, 2, 3, 1, 2});
  v.insert_range(v.begin() + 1, std::span(v.data() + 3, 2));
  REQUIRE(ints(v) == std::vector<int>{1, 1, 2, 2, 3, 1, 2});
  v.assign(v.begin() + 4, v.end());
  REQUIRE(ints(v) == std::vector<int>{3, 1, 2});
  v.resize(5, v[0]);
  REQUIRE(ints(v) == std::vector<int>{3, 1, 2, 3, 3});
  v.emplace(v.begin(), v[2]);
  REQUIRE(ints(v) == std::vector<int>{2, 3, 1, 2, 3, 3});
}

TEST_CASE("self-assignment keeps elements that cannot be assigned", "[static_vector]") {
  struct named {
    const std::string name;
  };
  static_vector<named, 3> v;
  v.push_back({std::string(40, 'a')});  // on the heap: a use after destruction would show
  v.push_back({std::string(40, 'b')});
  const auto& same = v;
  v = same;
  REQUIRE(v.size() == 2);
  REQUIRE(v[0].name == std::string(40, 'a'));
  REQUIRE(v[1].name == std::string(40, 'b'));
}
