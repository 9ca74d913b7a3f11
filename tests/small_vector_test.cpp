#include <frugal/small_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <compare>
#include <forward_list>
#include <list>
#include <memory>
#include <memory_resource>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using frugal::small_vector;
using frugal::small_vector_base;
using frugal::testing::count_allocations;

namespace {

// An element that counts live instances, detects double destruction and use of destroyed
// objects, and can be told to throw on the k-th copy or move.
struct tracked {
  static inline long live = 0;
  static inline long errors = 0;
  static inline long countdown = 0;  // > 0: the countdown-th copy or move from now throws

  static void maybe_throw() {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("tracked: injected failure");
  }
  void check() const {
    if (self != this) ++errors;
  }

  tracked(int v = 0) : value(v), self(this) { ++live; }  // NOLINT: implicit on purpose
  tracked(const tracked& o) : value(o.value), self(this) {
    o.check();
    maybe_throw();
    ++live;
  }
  tracked(tracked&& o) noexcept(false) : value(o.value), self(this) {
    o.check();
    maybe_throw();
    o.value = -1;
    ++live;
  }
  tracked& operator=(const tracked& o) {
    check();
    o.check();
    maybe_throw();
    value = o.value;
    return *this;
  }
  tracked& operator=(tracked&& o) {
    check();
    o.check();
    maybe_throw();
    value = o.value;
    o.value = -1;
    return *this;
  }
  ~tracked() {
    check();
    self = nullptr;
    --live;
  }

  int value;
  const tracked* self;
};

// Like tracked, but its move cannot throw (the common case: std::string, std::unique_ptr).
struct nothrow_tracked : tracked {
  using tracked::tracked;
  nothrow_tracked(const nothrow_tracked&) = default;
  nothrow_tracked(nothrow_tracked&& o) noexcept : tracked(o.value) { o.value = -1; }
  nothrow_tracked& operator=(const nothrow_tracked&) = default;
  nothrow_tracked& operator=(nothrow_tracked&& o) noexcept {
    value = o.value;
    o.value = -1;
    return *this;
  }
};

template <class V>
std::vector<int> values(const V& v) {
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

// A stateful allocator with an id and switchable propagation traits; counts its allocations.
template <class T, bool Pocca = false, bool Pocma = false, bool Pocs = false>
struct tagged_allocator {
  using value_type = T;
  using propagate_on_container_copy_assignment = std::bool_constant<Pocca>;
  using propagate_on_container_move_assignment = std::bool_constant<Pocma>;
  using propagate_on_container_swap = std::bool_constant<Pocs>;
  using is_always_equal = std::false_type;
  template <class U>
  struct rebind {
    using other = tagged_allocator<U, Pocca, Pocma, Pocs>;
  };

  static inline long allocations = 0;
  static inline long outstanding = 0;
  int id = 0;

  tagged_allocator() = default;
  explicit tagged_allocator(int i) : id(i) {}
  template <class U>
  tagged_allocator(const tagged_allocator<U, Pocca, Pocma, Pocs>& o) : id(o.id) {}

  T* allocate(std::size_t n) {
    ++allocations;
    ++outstanding;
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) {
    --outstanding;
    std::allocator<T>{}.deallocate(p, n);
  }
  tagged_allocator select_on_container_copy_construction() const {
    return tagged_allocator(id + 100);
  }
  friend bool operator==(const tagged_allocator& a, const tagged_allocator& b) {
    return a.id == b.id;
  }
};

struct reset_tracked {
  reset_tracked() { tracked::countdown = 0; }
  ~reset_tracked() { tracked::countdown = 0; }
};

}  // namespace

// Layout ----------------------------------------------------------------------------------

TEST_CASE("the header is 16 bytes and the default N fills 64 bytes", "[small_vector]") {
  STATIC_REQUIRE(sizeof(small_vector<int, 8>) == 48);
  STATIC_REQUIRE(sizeof(small_vector<int, 8>) <= 48);
  STATIC_REQUIRE(sizeof(small_vector<int>) == 64);
  STATIC_REQUIRE(small_vector<int>::inline_capacity() == 12);
  STATIC_REQUIRE(small_vector<char>::inline_capacity() == 48);
  STATIC_REQUIRE(small_vector<std::string>::inline_capacity() == 48 / sizeof(std::string));
  STATIC_REQUIRE(sizeof(small_vector<int, 0>) == 24);
  STATIC_REQUIRE(sizeof(small_vector<double, 4>) == 48);
  // A pmr allocator adds its 8 bytes; the inline buffer still follows the header directly.
  STATIC_REQUIRE(sizeof(small_vector<int, 4, std::pmr::polymorphic_allocator<int>>) == 40);
  struct alignas(32) wide {
    char c[32];
  };
  STATIC_REQUIRE(alignof(small_vector<wide, 2>) == 32);
  STATIC_REQUIRE(sizeof(small_vector<wide, 2>) == 96);
}

TEST_CASE("an empty vector is inline, with capacity N", "[small_vector]") {
  small_vector<int, 4> v;
  REQUIRE(v.empty());
  REQUIRE(v.size() == 0);
  REQUIRE(v.capacity() == 4);
  REQUIRE(v.is_inline());
  REQUIRE(v.inline_capacity() == 4);
  REQUIRE(v.data() != nullptr);
  REQUIRE(v.begin() == v.end());
  REQUIRE(v.max_size() == 0xFFFFFFFFu);
}

// Zero-allocation promises -----------------------------------------------------------------

TEST_CASE("no allocation while size() <= N", "[small_vector][alloc]") {
  REQUIRE(count_allocations([] {
            small_vector<int, 8> v;
            for (int i = 0; i < 7; ++i) v.push_back(i);
            v.insert(v.begin(), 7);
            v.erase(v.begin());
            v.emplace_back(9);
            v.resize(3);
            v.resize(8, 1);
            v.assign({1, 2, 3, 4, 5, 6, 7, 8});
            small_vector<int, 8> copy = v;
            small_vector<int, 8> moved = std::move(copy);
            swap(moved, v);
            v.shrink_to_fit();
            REQUIRE(v.is_inline());
          }) == 0);
  REQUIRE(count_allocations([] {
            small_vector<std::string, 4> v;
            v.emplace_back("short");
            v.emplace_back("strings");
            small_vector<std::string, 4> w(v);
            w.insert(w.begin(), "fit");
          }) == 0);
}

TEST_CASE("growing past N allocates once per doubling", "[small_vector][alloc]") {
  small_vector<int, 4> v;
  frugal::testing::allocation_scope scope;
  for (int i = 0; i < 5; ++i) v.push_back(i);
  REQUIRE(scope.allocations() == 1);
  REQUIRE(v.capacity() == 8);
  REQUIRE_FALSE(v.is_inline());
  REQUIRE(v.inline_capacity() == 4);
  for (int i = 5; i < 17; ++i) v.push_back(i);
  REQUIRE(scope.allocations() == 3);  // 8 -> 16 -> 32
  REQUIRE(v.capacity() == 32);
  REQUIRE(scope.deallocations() == 2);
}

TEST_CASE("move and swap of the same type never allocate", "[small_vector][alloc]") {
  for (int a_size : {0, 3, 4, 5, 40}) {
    for (int b_size : {0, 2, 4, 6, 50}) {
      small_vector<std::string, 4> a, b;
      for (int i = 0; i < a_size; ++i) a.push_back("a" + std::to_string(i) + std::string(30, 'x'));
      for (int i = 0; i < b_size; ++i) b.push_back("b" + std::to_string(i));
      const std::vector<std::string> a0(a.begin(), a.end()), b0(b.begin(), b.end());
      REQUIRE(count_allocations([&] { swap(a, b); }) == 0);
      REQUIRE(std::vector<std::string>(a.begin(), a.end()) == b0);
      REQUIRE(std::vector<std::string>(b.begin(), b.end()) == a0);
      REQUIRE(count_allocations([&] { a.swap(b); }) == 0);
      REQUIRE(std::vector<std::string>(a.begin(), a.end()) == a0);
      std::size_t moved_size = 0;
      REQUIRE(count_allocations([&] {
                small_vector<std::string, 4> c(std::move(a));
                moved_size = c.size();
                b = std::move(c);
              }) == 0);
      REQUIRE(moved_size == a0.size());
      REQUIRE(a.empty());
      REQUIRE(std::vector<std::string>(b.begin(), b.end()) == a0);
    }
  }
}

TEST_CASE("a copy of a heap vector allocates exactly once", "[small_vector][alloc]") {
  small_vector<int, 4> v(100, 7);
  REQUIRE(count_allocations([&] {
            small_vector<int, 4> copy(v);
            REQUIRE(copy.capacity() == 100);
          }) == 1);
}

// Constructors ----------------------------------------------------------------------------

TEST_CASE("constructors", "[small_vector]") {
  SECTION("count") {
    small_vector<int, 4> v(6);
    REQUIRE(values(v) == std::vector<int>(6, 0));
  }
  SECTION("count and value") {
    small_vector<std::string, 2> v(3, "x");
    REQUIRE(v.size() == 3);
    REQUIRE(v[2] == "x");
  }
  SECTION("iterators, including single-pass ones") {
    std::list<int> l{1, 2, 3, 4, 5};
    small_vector<int, 4> v(l.begin(), l.end());
    REQUIRE(values(v) == std::vector<int>{1, 2, 3, 4, 5});
    std::istringstream in("7 8 9");
    small_vector<int, 2> w{std::istream_iterator<int>(in), std::istream_iterator<int>()};
    REQUIRE(values(w) == std::vector<int>{7, 8, 9});
  }
  SECTION("initializer list and deduction guide") {
    small_vector<int, 2> v{1, 2, 3};
    REQUIRE(values(v) == std::vector<int>{1, 2, 3});
    std::vector<long> src{1, 2};
    small_vector w(src.begin(), src.end());
    STATIC_REQUIRE(std::is_same_v<decltype(w), small_vector<long>>);
  }
  SECTION("copy and move, inline and heap") {
    for (int n : {0, 2, 3, 9}) {
      small_vector<std::string, 3> v;
      for (int i = 0; i < n; ++i) v.push_back(std::to_string(i) + std::string(20, 'y'));
      small_vector<std::string, 3> copy(v);
      REQUIRE(copy == v);
      small_vector<std::string, 3> moved(std::move(copy));
      REQUIRE(moved == v);
      REQUIRE(copy.empty());
      REQUIRE(copy.is_inline());
      copy.push_back("reusable after move");
      REQUIRE(copy.size() == 1);
    }
  }
  SECTION("from a vector with another N, through small_vector_base") {
    small_vector<int, 2> big{1, 2, 3, 4, 5};
    small_vector<int, 8> copy(static_cast<const small_vector_base<int>&>(big));
    REQUIRE(values(copy) == values(big));
    small_vector<int, 8> moved(static_cast<small_vector_base<int>&&>(big));
    REQUIRE(values(moved) == std::vector<int>{1, 2, 3, 4, 5});
    REQUIRE(big.empty());
    REQUIRE(big.is_inline());
    REQUIRE(big.capacity() == 2);
  }
}

// Element access --------------------------------------------------------------------------

TEST_CASE("element access", "[small_vector]") {
  small_vector<int, 4> v{10, 20, 30};
  const auto& c = v;
  REQUIRE(v[1] == 20);
  REQUIRE(c[2] == 30);
  REQUIRE(v.front() == 10);
  REQUIRE(c.back() == 30);
  REQUIRE(v.at(0) == 10);
  REQUIRE(*v.data() == 10);
  v.front() = 1;
  v.back() = 3;
  REQUIRE(values(v) == std::vector<int>{1, 20, 3});
  REQUIRE(std::vector<int>(v.rbegin(), v.rend()) == std::vector<int>{3, 20, 1});
  REQUIRE(std::vector<int>(c.crbegin(), c.crend()) == std::vector<int>{3, 20, 1});
  REQUIRE(c.cend() - c.cbegin() == 3);
}

TEST_CASE("at() out of range throws std::out_of_range naming index and size", "[small_vector]") {
  small_vector<int, 4> v{1, 2, 3};
  REQUIRE_THROWS_AS(v.at(3), std::out_of_range);
  REQUIRE_THROWS_WITH(v.at(12), "small_vector::at: index 12 >= size 3");
  const auto& c = v;
  REQUIRE_THROWS_WITH(c.at(3), "small_vector::at: index 3 >= size 3");
}

TEST_CASE("growing past max_size() throws std::length_error", "[small_vector]") {
  small_vector<int, 4> v{1, 2};
  REQUIRE_THROWS_AS(v.reserve(v.max_size() + 1), std::length_error);
  REQUIRE_THROWS_WITH(v.reserve(std::size_t{1} << 40),
                      "small_vector::reserve: 1099511627776 elements exceed max_size 4294967295");
  REQUIRE_THROWS_AS(v.resize(std::size_t{1} << 33), std::length_error);
  REQUIRE_THROWS_AS(v.insert(v.begin(), std::size_t{1} << 33, 1), std::length_error);
  REQUIRE_THROWS_AS(v.assign(std::size_t{1} << 33, 1), std::length_error);
  REQUIRE(values(v) == std::vector<int>{1, 2});
}

// Modifiers -------------------------------------------------------------------------------

TEST_CASE("push_back of an element of the vector itself while growing", "[small_vector]") {
  small_vector<std::string, 2> v{"first element, long enough to be on the heap", "b"};
  v.push_back(v[0]);
  REQUIRE(v[2] == v[0]);
  v.emplace_back(v[1]);
  REQUIRE(v[3] == "b");
  small_vector<int, 2> w{5, 6};
  w.push_back(w[0]);
  w.insert(w.begin(), w[2]);
  w.insert(w.begin() + 1, 3, w.back());
  w.resize(10, w[0]);
  REQUIRE(values(w) == std::vector<int>{5, 5, 5, 5, 5, 6, 5, 5, 5, 5});
}

TEST_CASE("emplace_back returns a reference to the new element", "[small_vector]") {
  small_vector<std::pair<int, std::string>, 1> v;
  auto& a = v.emplace_back(1, "one");
  REQUIRE(&a == &v.back());
  auto& b = v.emplace_back(2, "two");  // grows
  REQUIRE(&b == &v.back());
  REQUIRE(b.second == "two");
}

TEST_CASE("insert and emplace at every position", "[small_vector]") {
  for (std::size_t n : {0u, 3u, 4u, 8u}) {
    for (std::size_t at = 0; at <= n; ++at) {
      for (std::size_t count : {1u, 2u, 5u}) {
        small_vector<std::string, 4> v;
        std::vector<std::string> ref;
        for (std::size_t i = 0; i < n; ++i) {
          v.push_back(std::to_string(i));
          ref.push_back(std::to_string(i));
        }
        std::vector<std::string> ins;
        for (std::size_t i = 0; i < count; ++i) ins.push_back("n" + std::to_string(i));
        auto it = v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
        ref.insert(ref.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
        REQUIRE(it == v.begin() + static_cast<std::ptrdiff_t>(at));
        REQUIRE(std::vector<std::string>(v.begin(), v.end()) == ref);
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), count, "c");
        ref.insert(ref.begin() + static_cast<std::ptrdiff_t>(at), count, "c");
        REQUIRE(std::vector<std::string>(v.begin(), v.end()) == ref);
        v.emplace(v.begin() + static_cast<std::ptrdiff_t>(at), std::size_t{3}, 'e');
        ref.emplace(ref.begin() + static_cast<std::ptrdiff_t>(at), std::size_t{3}, 'e');
        REQUIRE(std::vector<std::string>(v.begin(), v.end()) == ref);
        std::list<std::string> l{"l1", "l2"};
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), l.begin(), l.end());
        ref.insert(ref.begin() + static_cast<std::ptrdiff_t>(at), l.begin(), l.end());
        v.insert(v.end(), {"i1", "i2"});
        ref.insert(ref.end(), {"i1", "i2"});
        REQUIRE(std::vector<std::string>(v.begin(), v.end()) == ref);
      }
    }
  }
}

TEST_CASE("erase single elements and ranges", "[small_vector]") {
  small_vector<int, 4> v{0, 1, 2, 3, 4, 5, 6};
  auto it = v.erase(v.begin() + 1);
  REQUIRE(*it == 2);
  it = v.erase(v.begin() + 2, v.begin() + 4);
  REQUIRE(*it == 5);
  REQUIRE(values(v) == std::vector<int>{0, 2, 5, 6});
  it = v.erase(v.end() - 1);
  REQUIRE(it == v.end());
  it = v.erase(v.begin(), v.begin());
  REQUIRE(it == v.begin());
  REQUIRE(values(v) == std::vector<int>{0, 2, 5});
}

TEST_CASE("assign forms and assignment operators", "[small_vector]") {
  small_vector<std::string, 3> v{"a", "b"};
  v.assign(5, "x");
  REQUIRE(v.size() == 5);
  v.assign({"p", "q"});
  REQUIRE(v.size() == 2);
  REQUIRE(v[1] == "q");
  std::forward_list<std::string> fl{"f", "g", "h", "i"};
  v.assign(fl.begin(), fl.end());
  REQUIRE(v.size() == 4);
  v = {"z"};
  REQUIRE(v.size() == 1);
  small_vector<std::string, 3> w{"1", "2", "3", "4", "5"};
  v = w;
  REQUIRE(v == w);
  auto& same_v = v;
  v = same_v;  // self-assignment
  REQUIRE(v == w);
  small_vector<std::string, 8> other_n{"other"};
  static_cast<small_vector_base<std::string>&>(v) = other_n;
  REQUIRE(v.size() == 1);
  REQUIRE(v[0] == "other");
  v = std::move(w);
  REQUIRE(v.size() == 5);
  REQUIRE(w.empty());
}

TEST_CASE("assign_range, append_range and insert_range", "[small_vector]") {
  small_vector<int, 4> v;
  std::array<int, 3> a{1, 2, 3};
  v.append_range(a);
  v.append_range(std::vector<int>{4, 5, 6});
  REQUIRE(values(v) == std::vector<int>{1, 2, 3, 4, 5, 6});
  v.insert_range(v.begin() + 1, std::list<int>{9, 9});
  REQUIRE(values(v) == std::vector<int>{1, 9, 9, 2, 3, 4, 5, 6});
  v.assign_range(a);
  REQUIRE(values(v) == std::vector<int>{1, 2, 3});
  std::istringstream in("4 5");
  v.append_range(
      std::ranges::subrange(std::istream_iterator<int>(in), std::istream_iterator<int>()));
  REQUIRE(values(v) == std::vector<int>{1, 2, 3, 4, 5});
  REQUIRE(count_allocations([] {
            small_vector<int, 4> w{1};
            std::vector<int> src(40, 3);
            frugal::testing::allocation_scope inner;
            w.append_range(src);
            REQUIRE(inner.allocations() == 1);
          }) == 2);
}

TEST_CASE("resize, resize with value and resize_for_overwrite", "[small_vector]") {
  small_vector<int, 4> v{1, 2};
  v.resize(5);
  REQUIRE(values(v) == std::vector<int>{1, 2, 0, 0, 0});
  v.resize(1);
  v.resize(3, 7);
  REQUIRE(values(v) == std::vector<int>{1, 7, 7});
  v.resize_for_overwrite(6);
  REQUIRE(v.size() == 6);
  for (int i = 0; i < 6; ++i) v[static_cast<std::size_t>(i)] = i;
  REQUIRE(values(v) == std::vector<int>{0, 1, 2, 3, 4, 5});
  small_vector<std::string, 2> s;
  s.resize_for_overwrite(3);
  REQUIRE(s[2].empty());
}

TEST_CASE("reserve, shrink_to_fit back into the inline buffer, clear", "[small_vector]") {
  small_vector<std::string, 4> v{"a", "b"};
  v.reserve(3);
  REQUIRE(v.is_inline());
  v.reserve(100);
  REQUIRE_FALSE(v.is_inline());
  REQUIRE(v.capacity() == 100);
  REQUIRE(v.inline_capacity() == 4);
  v.shrink_to_fit();
  REQUIRE(v.is_inline());
  REQUIRE(v.capacity() == 4);
  REQUIRE(std::vector<std::string>(v.begin(), v.end()) == std::vector<std::string>{"a", "b"});
  for (int i = 0; i < 10; ++i) v.push_back("x");
  v.shrink_to_fit();
  REQUIRE(v.capacity() == 12);
  v.clear();
  REQUIRE(v.empty());
  REQUIRE(v.capacity() == 12);
  v.shrink_to_fit();
  REQUIRE(v.is_inline());
  REQUIRE(v.capacity() == 4);
}

TEST_CASE("pop_back", "[small_vector]") {
  small_vector<std::string, 1> v{"a", "b"};
  v.pop_back();
  REQUIRE(v.size() == 1);
  v.pop_back();
  REQUIRE(v.empty());
}

TEST_CASE("swap every combination of inline and heap", "[small_vector]") {
  for (int a_size : {0, 1, 3, 4, 5, 20}) {
    for (int b_size : {0, 2, 4, 7, 30}) {
      small_vector<int, 4> a, b;
      for (int i = 0; i < a_size; ++i) a.push_back(i);
      for (int i = 0; i < b_size; ++i) b.push_back(100 + i);
      const auto a0 = values(a), b0 = values(b);
      swap(a, b);
      REQUIRE(values(a) == b0);
      REQUIRE(values(b) == a0);
      REQUIRE(a.is_inline() == (b_size <= 4));
      REQUIRE(b.is_inline() == (a_size <= 4));
    }
  }
}

TEST_CASE("swap and assignment between different N through small_vector_base", "[small_vector]") {
  small_vector<int, 2> a{1, 2};
  small_vector<int, 8> b{3, 4, 5, 6, 7};
  small_vector_base<int>& ra = a;
  small_vector_base<int>& rb = b;
  swap(ra, rb);  // b's 5 elements do not fit a's inline buffer: a allocates
  REQUIRE(values(a) == std::vector<int>{3, 4, 5, 6, 7});
  REQUIRE(values(b) == std::vector<int>{1, 2});
  swap(ra, rb);
  REQUIRE(values(a) == std::vector<int>{1, 2});
  REQUIRE(values(b) == std::vector<int>{3, 4, 5, 6, 7});
  ra = std::move(rb);
  REQUIRE(values(a) == std::vector<int>{3, 4, 5, 6, 7});
  REQUIRE(b.empty());
}

TEST_CASE("a function appends to any small_vector through small_vector_base", "[small_vector]") {
  auto collect = [](small_vector_base<std::string>& out) {
    out.push_back("admin");
    out.emplace_back("reader");
  };
  small_vector<std::string, 1> one;
  small_vector<std::string, 16> sixteen;
  collect(one);
  collect(sixteen);
  REQUIRE(one.size() == 2);
  REQUIRE(sixteen.size() == 2);
  REQUIRE(sixteen.is_inline());
  REQUIRE_FALSE(one.is_inline());
  REQUIRE(one == sixteen);
}

TEST_CASE("comparisons", "[small_vector]") {
  small_vector<int, 2> a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4}, d{1, 2};
  REQUIRE(a == b);
  REQUIRE(a != c);
  REQUIRE(a < c);
  REQUIRE(d < a);
  REQUIRE((a <=> b) == std::strong_ordering::equal);
  REQUIRE((c <=> a) == std::strong_ordering::greater);
  small_vector<int, 8> e{1, 2, 3};
  REQUIRE(a == e);  // any N compares through small_vector_base
  struct only_less {
    int v;
    bool operator<(const only_less& o) const { return v < o.v; }
    bool operator==(const only_less& o) const { return v == o.v; }
  };
  small_vector<only_less, 2> x{{1}, {2}}, y{{1}, {3}};
  REQUIRE(x < y);
  REQUIRE((x <=> y) == std::weak_ordering::less);
}

TEST_CASE("frugal::erase and frugal::erase_if", "[small_vector]") {
  small_vector<int, 4> v{1, 2, 3, 2, 5, 2};
  REQUIRE(frugal::erase(v, 2) == 3);
  REQUIRE(values(v) == std::vector<int>{1, 3, 5});
  REQUIRE(frugal::erase_if(v, [](int x) { return x > 2; }) == 2);
  REQUIRE(values(v) == std::vector<int>{1});
}

TEST_CASE("move-only elements", "[small_vector]") {
  small_vector<std::unique_ptr<int>, 2> v;
  for (int i = 0; i < 5; ++i) v.push_back(std::make_unique<int>(i));
  v.insert(v.begin(), std::make_unique<int>(-1));
  v.erase(v.begin() + 2);
  small_vector<std::unique_ptr<int>, 2> w(std::move(v));
  REQUIRE(w.size() == 5);
  REQUIRE(*w[0] == -1);
  REQUIRE(*w[4] == 4);
  w.shrink_to_fit();
  swap(v, w);
  REQUIRE(v.size() == 5);
}

TEST_CASE("trivially relocatable user types move by memcpy", "[small_vector]") {
  REQUIRE(frugal::is_trivially_relocatable_v<int>);
  REQUIRE_FALSE(frugal::is_trivially_relocatable_v<tracked>);
  REQUIRE(frugal::is_trivially_relocatable_v<std::pair<int, double>> ==
          std::is_trivially_copyable_v<std::pair<int, double>>);
}

// Allocators ------------------------------------------------------------------------------

TEST_CASE("stateful allocators: every allocation goes through the allocator",
          "[small_vector][allocator]") {
  using A = tagged_allocator<int>;
  A::allocations = 0;
  {
    small_vector<int, 2, A> v(A(1));
    for (int i = 0; i < 20; ++i) v.push_back(i);
    REQUIRE(A::allocations == 4);  // 4, 8, 16, 32
    REQUIRE(v.get_allocator().id == 1);
    small_vector<int, 2, A> copy(v);
    REQUIRE(copy.get_allocator().id == 101);  // select_on_container_copy_construction
    REQUIRE(copy == v);
  }
  REQUIRE(A::outstanding == 0);
}

TEST_CASE("allocator propagation on copy, move and swap", "[small_vector][allocator]") {
  SECTION("not propagating: move assignment between unequal allocators moves elements") {
    using A = tagged_allocator<std::string>;
    small_vector<std::string, 2, A> a(A(1)), b(A(2));
    for (int i = 0; i < 5; ++i) b.push_back(std::to_string(i));
    a = std::move(b);
    REQUIRE(a.get_allocator().id == 1);
    REQUIRE(a.size() == 5);
    REQUIRE(b.empty());
    a = b;
    REQUIRE(a.get_allocator().id == 1);
    REQUIRE(a.empty());
    small_vector<std::string, 2, A> c(A(3));
    c.push_back("x");
    a.push_back("y");
    swap(a, c);  // unequal, not propagating: elements are exchanged, allocators stay
    REQUIRE(a.get_allocator().id == 1);
    REQUIRE(a[0] == "x");
    REQUIRE(c[0] == "y");
  }
  SECTION("propagating: the allocator travels with the contents") {
    using A = tagged_allocator<int, true, true, true>;
    small_vector<int, 2, A> a(A(1)), b(A(2));
    for (int i = 0; i < 5; ++i) b.push_back(i);
    a = b;
    REQUIRE(a.get_allocator().id == 2);
    small_vector<int, 2, A> c(A(3));
    c = std::move(a);
    REQUIRE(c.get_allocator().id == 2);
    REQUIRE(c.size() == 5);
    small_vector<int, 2, A> d(A(4));
    swap(c, d);
    REQUIRE(c.get_allocator().id == 4);
    REQUIRE(d.get_allocator().id == 2);
    REQUIRE(d.size() == 5);
  }
  SECTION("allocator-extended move with an unequal allocator") {
    using A = tagged_allocator<int>;
    small_vector<int, 2, A> a(A(1));
    for (int i = 0; i < 5; ++i) a.push_back(i);
    small_vector<int, 2, A> b(std::move(a), A(9));
    REQUIRE(b.get_allocator().id == 9);
    REQUIRE(values(b) == std::vector<int>{0, 1, 2, 3, 4});
    REQUIRE(a.empty());
    small_vector<int, 2, A> c(b, A(7));
    REQUIRE(c.get_allocator().id == 7);
    REQUIRE(c == b);
  }
  REQUIRE(tagged_allocator<std::string>::outstanding == 0);
  REQUIRE(tagged_allocator<int, true, true, true>::outstanding == 0);
}

TEST_CASE("std::pmr::polymorphic_allocator", "[small_vector][allocator]") {
  std::array<std::byte, 4096> buffer{};
  std::pmr::monotonic_buffer_resource arena(buffer.data(), buffer.size(),
                                            std::pmr::null_memory_resource());
  using V = small_vector<std::pmr::string, 2, std::pmr::polymorphic_allocator<std::pmr::string>>;
  REQUIRE(count_allocations([&] {
            V v(&arena);
            for (int i = 0; i < 6; ++i) {
              v.emplace_back("a string long enough to leave the short buffer");
            }
            // uses-allocator construction: the elements allocate from the arena too
            REQUIRE(v[5].get_allocator().resource() == &arena);
            REQUIRE(v.get_allocator().resource() == &arena);
          }) == 0);
}

namespace {

// A memory resource that remembers what it handed out and counts frees of anything else.
class owning_resource : public std::pmr::memory_resource {
 public:
  ~owning_resource() override {
    for (const auto& [p, size] : live_) std::pmr::new_delete_resource()->deallocate(p, size);
  }
  std::size_t foreign_frees = 0;
  std::size_t live() const { return live_.size(); }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    void* p = std::pmr::new_delete_resource()->allocate(bytes, align);
    live_.emplace_back(p, bytes);
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    for (auto it = live_.begin(); it != live_.end(); ++it) {
      if (it->first == p) {
        live_.erase(it);
        std::pmr::new_delete_resource()->deallocate(p, bytes, align);
        return;
      }
    }
    ++foreign_frees;  // not ours: left alone (the test fails on the count)
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
  std::vector<std::pair<void*, std::size_t>> live_;
};

}  // namespace

TEST_CASE("swap with unequal pmr allocators: each element stays with its vector's resource",
          "[small_vector][allocator]") {
  using S = std::pmr::string;
  using V = small_vector<S, 2, std::pmr::polymorphic_allocator<S>>;
  const std::string_view long_a = "a string long enough to leave the short buffer, A";
  const std::string_view long_b = "a string long enough to leave the short buffer, B";
  for (const std::size_t na : {0u, 1u, 2u, 3u, 5u}) {
    for (const std::size_t nb : {0u, 1u, 2u, 4u}) {
      owning_resource ra, rb;
      {
        V a(&ra), b(&rb);
        for (std::size_t i = 0; i < na; ++i) a.emplace_back(long_a);
        for (std::size_t i = 0; i < nb; ++i) b.emplace_back(long_b);
        a.swap(b);
        INFO(na << " and " << nb << " elements");
        REQUIRE(a.size() == nb);
        REQUIRE(b.size() == na);
        for (const S& e : a) {
          REQUIRE(e == long_b);
          REQUIRE(e.get_allocator().resource() == &ra);
        }
        for (const S& e : b) {
          REQUIRE(e == long_a);
          REQUIRE(e.get_allocator().resource() == &rb);
        }
        REQUIRE(a.get_allocator().resource() == &ra);
        REQUIRE(b.get_allocator().resource() == &rb);
      }
      REQUIRE(ra.foreign_frees == 0);
      REQUIRE(rb.foreign_frees == 0);
      REQUIRE(ra.live() == 0);
      REQUIRE(rb.live() == 0);
    }
  }
}

// Differential tests ----------------------------------------------------------------------

namespace {

// Applies one random operation to `v` and `ref` alike.
template <class V>
void random_step(std::mt19937& rng, V& v, std::vector<int>& ref, V& other,
                 std::vector<int>& other_ref) {
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n)(rng); };
  const int value = static_cast<int>(rng() % 1000);
  switch (rng() % 20) {
    case 0:
    case 1:
      v.push_back(value);
      ref.push_back(value);
      break;
    case 2:
      v.emplace_back(value);
      ref.emplace_back(value);
      break;
    case 3:
      if (!ref.empty()) {
        v.pop_back();
        ref.pop_back();
      }
      break;
    case 4: {
      const std::size_t at = pick(ref.size());
      v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), value);
      ref.insert(ref.begin() + static_cast<std::ptrdiff_t>(at), value);
      break;
    }
    case 5: {
      const std::size_t at = pick(ref.size()), n = pick(6);
      v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), n, value);
      ref.insert(ref.begin() + static_cast<std::ptrdiff_t>(at), n, value);
      break;
    }
    case 6: {
      const std::size_t at = pick(ref.size());
      std::vector<int> src(pick(9), value);
      std::iota(src.begin(), src.end(), value);
      v.insert(v.begin() + static_cast<std::ptrdiff_t>(at), src.begin(), src.end());
      ref.insert(ref.begin() + static_cast<std::ptrdiff_t>(at), src.begin(), src.end());
      break;
    }
    case 7:
      if (!ref.empty()) {
        const std::size_t at = pick(ref.size() - 1);
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(at));
        ref.erase(ref.begin() + static_cast<std::ptrdiff_t>(at));
      }
      break;
    case 8: {
      const std::size_t a = pick(ref.size()), b = pick(ref.size());
      const auto lo = static_cast<std::ptrdiff_t>(std::min(a, b)),
                 hi = static_cast<std::ptrdiff_t>(std::max(a, b));
      v.erase(v.begin() + lo, v.begin() + hi);
      ref.erase(ref.begin() + lo, ref.begin() + hi);
      break;
    }
    case 9: {
      const std::size_t n = pick(20);
      v.resize(n);
      ref.resize(n);
      break;
    }
    case 10: {
      const std::size_t n = pick(20);
      v.resize(n, value);
      ref.resize(n, value);
      break;
    }
    case 11:
      v.reserve(pick(30));
      break;
    case 12:
      v.shrink_to_fit();
      break;
    case 13:
      if (rng() % 4 == 0) {
        v.clear();
        ref.clear();
      }
      break;
    case 14: {
      std::vector<int> src(pick(12));
      std::iota(src.begin(), src.end(), value);
      v.assign(src.begin(), src.end());
      ref.assign(src.begin(), src.end());
      break;
    }
    case 15: {
      V copy(v);
      v = std::move(copy);
      break;
    }
    case 16:
      swap(v, other);
      std::swap(ref, other_ref);
      break;
    case 17:
      other = v;
      other_ref = ref;
      break;
    case 18:
      if (!ref.empty()) {
        const std::size_t at = pick(ref.size() - 1);
        v.push_back(v[at]);
        ref.push_back(ref[at]);
      }
      break;
    case 19: {
      const std::size_t at = pick(ref.size());
      v.emplace(v.begin() + static_cast<std::ptrdiff_t>(at), value);
      ref.emplace(ref.begin() + static_cast<std::ptrdiff_t>(at), value);
      break;
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("random operation sequences match std::vector", "[small_vector][differential]",
                   int, tracked, nothrow_tracked) {
  reset_tracked reset;
  tracked::live = 0;
  tracked::errors = 0;
  std::mt19937 rng(12345);
  for (int sequence = 0; sequence < 1500; ++sequence) {
    {
      small_vector<TestType, 4> v, other;
      std::vector<int> ref, other_ref;
      for (int step = 0; step < 40; ++step) {
        random_step(rng, v, ref, other, other_ref);
        REQUIRE(values(v) == ref);
        REQUIRE(values(other) == other_ref);
        REQUIRE(v.size() <= v.capacity());
        REQUIRE((v.is_inline() ? v.capacity() == 4 : v.capacity() >= v.size()));
        if constexpr (!std::is_same_v<TestType, int>) {
          REQUIRE(tracked::live == static_cast<long>(v.size() + other.size()));
        }
      }
    }
    if constexpr (!std::is_same_v<TestType, int>) REQUIRE(tracked::live == 0);
  }
  REQUIRE(tracked::errors == 0);
}

TEMPLATE_TEST_CASE("a throwing copy or move never leaks or double-destroys",
                   "[small_vector][differential][exceptions]", tracked, nothrow_tracked) {
  reset_tracked reset;
  tracked::live = 0;
  tracked::errors = 0;
  std::mt19937 rng(777);
  int thrown = 0;
  for (int sequence = 0; sequence < 1500; ++sequence) {
    {
      small_vector<TestType, 4> v, other;
      std::vector<int> ref, other_ref;
      for (int step = 0; step < 30; ++step) {
        const std::vector<int> before = values(v);
        const std::size_t capacity_before = v.capacity();
        const bool append_op = rng() % 3 == 0;
        tracked::countdown = static_cast<long>(rng() % 8) + 1;
        try {
          if (append_op) {
            // push_back, emplace_back and reserve give the strong guarantee.
            const int value = static_cast<int>(rng() % 1000);
            if (rng() % 2) {
              v.push_back(TestType(value));
            } else {
              v.reserve(v.capacity() + 3);
            }
          } else {
            random_step(rng, v, ref, other, other_ref);
          }
          tracked::countdown = 0;
        } catch (const std::runtime_error&) {
          tracked::countdown = 0;
          ++thrown;
          if (append_op) {
            REQUIRE(values(v) == before);
            REQUIRE(v.capacity() == capacity_before);
          }
        }
        tracked::countdown = 0;
        // Whatever happened, every element is alive exactly once.
        REQUIRE(tracked::live == static_cast<long>(v.size() + other.size()));
        ref = values(v);
        other_ref = values(other);
      }
    }
    REQUIRE(tracked::live == 0);
  }
  REQUIRE(thrown > 100);
  REQUIRE(tracked::errors == 0);
}

TEST_CASE("a throwing copy during growth leaves push_back's vector unchanged",
          "[small_vector][exceptions]") {
  reset_tracked reset;
  tracked::live = 0;
  {
    small_vector<tracked, 2> v{1, 2};
    const tracked extra(3);
    tracked::countdown = 2;  // the new element copies fine, relocating the first old one throws
    REQUIRE_THROWS_AS(v.push_back(extra), std::runtime_error);
    REQUIRE(values(v) == std::vector<int>{1, 2});
    REQUIRE(v.is_inline());
    REQUIRE(tracked::live == 3);
  }
  REQUIRE(tracked::live == 0);
}
