#include <frugal/builder.hpp>
#include <frugal/small_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <forward_list>
#include <limits>
#include <list>
#include <memory>
#include <memory_resource>
#include <new>
#include <random>
#include <ranges>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

using frugal::testing::count_allocations;
using frugal::testing::measure_allocations;
using namespace std::string_view_literals;

namespace {

// A forward range that does not know its size, so collect must count it.
struct unsized_ints {
  std::forward_list<int> items;
  auto begin() const { return items.begin(); }
  auto end() const { return items.end(); }
};

std::string long_text(char c) { return std::string(40, c); }

}  // namespace

// with_capacity and collect -----------------------------------------------------------------

TEST_CASE("with_capacity reserves once", "[builder]") {
  std::vector<int> v;
  REQUIRE(count_allocations([&] { v = frugal::with_capacity<std::vector<int>>(100); }) == 1);
  REQUIRE(v.empty());
  REQUIRE(v.capacity() >= 100);
  REQUIRE(count_allocations([] { auto e = frugal::with_capacity<std::vector<int>>(0); }) == 0);
  auto s = frugal::with_capacity<std::string>(200);
  REQUIRE(s.capacity() >= 200);
  auto sv = frugal::with_capacity<frugal::small_vector<int, 4>>(3);
  REQUIRE(sv.is_inline());
}

TEST_CASE("collect reserves exactly for sized ranges and after counting forward ranges",
          "[builder]") {
  for (std::size_t n : {0u, 1u, 10u, 100u, 1000u}) {
    std::vector<int> src(n);
    for (std::size_t i = 0; i < n; ++i) src[i] = static_cast<int>(i * 3);
    std::list<int> sized(src.begin(), src.end());
    unsized_ints unsized{std::forward_list<int>(src.begin(), src.end())};
    std::vector<int> a, b;
    REQUIRE(count_allocations([&] { a = frugal::collect<std::vector<int>>(sized); }) ==
            (n ? 1u : 0u));
    REQUIRE(count_allocations([&] { b = frugal::collect<std::vector<int>>(unsized); }) ==
            (n ? 1u : 0u));
    REQUIRE(a == src);
    REQUIRE(b == src);
    REQUIRE(a.capacity() == n);
  }
}

TEST_CASE("collect with a hint: no counting pass, a small hint costs regrowths only", "[builder]") {
  std::istringstream in("1 2 3 4 5 6 7 8 9 10");
  const auto v = frugal::collect<std::vector<int>>(
      std::ranges::subrange(std::istream_iterator<int>(in), std::istream_iterator<int>()), 4);
  REQUIRE(v == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  unsized_ints unsized{{1, 2, 3}};
  std::vector<int> w;
  REQUIRE(count_allocations([&] { w = frugal::collect<std::vector<int>>(unsized, 3); }) == 1);
  REQUIRE(w == std::vector<int>{1, 2, 3});
  const auto s = frugal::collect<std::string>(std::vector<char>{'a', 'b'});
  REQUIRE(s == "ab");
  const auto sv = frugal::collect<frugal::small_vector<int, 8>>(std::vector<int>{1, 2, 3});
  REQUIRE(sv.size() == 3);
  REQUIRE(sv.is_inline());
  const auto d = frugal::collect<std::deque<int>>(std::vector<int>{4, 5});
  REQUIRE(d.back() == 5);
}

// str_cat and str_append --------------------------------------------------------------------

TEST_CASE("str_cat formats every kind of piece", "[builder]") {
  const std::string name = "ada";
  REQUIRE(frugal::str_cat("user ", name, ' ', 42, " took ", 1.5, "s") == "user ada 42 took 1.5s");
  REQUIRE(frugal::str_cat() == "");
  REQUIRE(frugal::str_cat(-7, 'x', std::uint64_t{18446744073709551615u}) ==
          "-7x18446744073709551615");
  REQUIRE(frugal::str_cat(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
  REQUIRE(frugal::str_cat(0.1) == "0.1");
  REQUIRE(frugal::str_cat(1e300) == "1e+300");
  REQUIRE(frugal::str_cat(-0.0) == "-0");
  REQUIRE(frugal::str_cat(std::numeric_limits<double>::infinity()) == "inf");
  REQUIRE(frugal::str_cat(2.5f) == "2.5");
  REQUIRE(frugal::str_cat("a"sv, std::string_view()) == "a");
}

TEST_CASE("str_cat of doubles round-trips (shortest form)", "[builder]") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    const std::string s = frugal::str_cat(d);
    // strtod, not from_chars: libc++ 16 has no floating-point from_chars.
    char* end = nullptr;
    const double back = std::strtod(s.c_str(), &end);
    REQUIRE(end == s.c_str() + s.size());
    REQUIRE(back == d);
    REQUIRE(s.size() <= 24);
  }
}

TEST_CASE("str_cat allocates exactly once, or never for short results", "[builder][alloc]") {
  const std::string a = long_text('a'), b = long_text('b');
  std::string out;
  REQUIRE(count_allocations([&] { out = frugal::str_cat(a, ", ", b, " #", 12345, ' ', 0.25); }) ==
          1);
  REQUIRE(out == a + ", " + b + " #12345 0.25");
  REQUIRE(count_allocations([&] { out = frugal::str_cat("id=", 7); }) == 0);
}

TEST_CASE("str_append reallocates at most once", "[builder][alloc]") {
  std::string s = "prefix:";
  const std::string x = long_text('x'), y = long_text('y'), z = long_text('z');
  REQUIRE(count_allocations([&] { frugal::str_append(s, x, 99, y); }) == 1);
  REQUIRE(s == "prefix:" + x + "99" + y);
  s.reserve(1000);
  REQUIRE(count_allocations([&] { frugal::str_append(s, z, 1.5); }) == 0);
}

TEST_CASE("a total longer than max_size throws std::length_error before writing", "[builder]") {
  const std::string text = "abc";
  // Views that claim more than max_size: the sizes are added and checked before any read.
  const std::string_view huge(text.data(), std::string().max_size() / 2 + 1);
  std::string s = "keep";
  REQUIRE_THROWS_AS(frugal::str_cat(huge, huge), std::length_error);
  const std::size_t max = std::string().max_size();
  REQUIRE_THROWS_WITH(frugal::str_append(s, huge, huge),
                      "str_append: total length exceeds max_size (" +
                          std::to_string(4 + huge.size()) + " + " + std::to_string(huge.size()) +
                          " > " + std::to_string(max) + ")");
  REQUIRE(s == "keep");
  const std::vector<std::string_view> parts{huge, huge};
  REQUIRE_THROWS_AS(frugal::str_join(parts, ","), std::length_error);
}

// str_join ----------------------------------------------------------------------------------

TEST_CASE("str_join joins strings and numbers with one allocation", "[builder][alloc]") {
  const std::vector<std::string> names{long_text('a'), long_text('b'), long_text('c')};
  std::string out;
  REQUIRE(count_allocations([&] { out = frugal::str_join(names, ", "); }) == 1);
  REQUIRE(out == long_text('a') + ", " + long_text('b') + ", " + long_text('c'));
  const std::vector<int> ids{10, -2, 300000, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  REQUIRE(count_allocations([&] { out = frugal::str_join(ids, ","); }) == 1);
  REQUIRE(out == "10,-2,300000,4,5,6,7,8,9,10,11,12");
  REQUIRE(frugal::str_join(std::vector<double>{0.5, 2.0}, "|") == "0.5|2");
  REQUIRE(frugal::str_join(std::vector<std::string>{}, ",").empty());
  REQUIRE(frugal::str_join(std::vector<std::string>{"one"}, ",") == "one");
  REQUIRE(frugal::str_join(std::list<std::string_view>{"a", "b"}, "") == "ab");
}

TEST_CASE("str_join of long pieces allocates the exact size once", "[builder][alloc]") {
  const std::vector<std::string> parts(64, std::string(1024, 'x'));
  std::string out;
  const auto stats =
      frugal::testing::measure_allocations([&] { out = frugal::str_join(parts, ","); });
  REQUIRE(stats.allocations == 1);
  REQUIRE(stats.bytes == 64 * 1024 + 63 + 1);
  REQUIRE(out.size() == 64 * 1024 + 63);
  REQUIRE(out.find_first_not_of("x,") == std::string::npos);
  REQUIRE(out[1024] == ',');
  // A formatter that returns a new string for each long element.
  const std::vector<int> ids{1, 2, 3};
  REQUIRE(frugal::str_join(ids, "|", [](int i) { return std::string(100, char('0' + i)); }) ==
          std::string(100, '1') + "|" + std::string(100, '2') + "|" + std::string(100, '3'));
}

TEST_CASE("str_join with a formatter", "[builder]") {
  struct user {
    std::string name;
    int age;
  };
  const std::vector<user> users{{"ada", 36}, {"alan", 41}};
  REQUIRE(frugal::str_join(users, "; ", [](const user& u) { return u.name; }) == "ada; alan");
  REQUIRE(frugal::str_join(users, "+", [](const user& u) { return u.age; }) == "36+41");
}

TEST_CASE("str_cat and str_join agree with a stream on random input", "[builder]") {
  std::mt19937 rng(5);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> parts(rng() % 6);
    // Short and long pieces: str_join writes the two kinds differently.
    const unsigned longest = round % 2 == 0 ? 30 : 300;
    for (auto& p : parts) p.assign(rng() % longest, static_cast<char>('a' + rng() % 26));
    std::ostringstream expected;
    for (std::size_t i = 0; i < parts.size(); ++i) expected << (i ? "::" : "") << parts[i];
    REQUIRE(frugal::str_join(parts, "::") == expected.str());
    const long n = static_cast<long>(rng()) - 2000000000L;
    std::ostringstream cat;
    cat << n << '/' << (parts.empty() ? "" : parts[0]);
    REQUIRE(frugal::str_cat(n, '/', parts.empty() ? std::string() : parts[0]) == cat.str());
  }
}

// builder -------------------------------------------------------------------------------------

TEST_CASE("builder counts how often the hint was exceeded", "[builder]") {
  frugal::builder<std::string> page(64);
  REQUIRE(page.hint() == 64);
  for (int i = 0; i < 3; ++i) page.append("row ", i, "\n");
  REQUIRE(page.regrowths() == 0);
  REQUIRE_FALSE(page.exceeded_hint());
  page.append(long_text('x'), long_text('y'));
  REQUIRE(page.regrowths() == 1);
  REQUIRE(page.exceeded_hint());
  const char* data = page.view().data();
  std::string out = std::move(page).build();
  REQUIRE(out.data() == data);  // handed over, not copied
  REQUIRE(out.substr(0, 6) == "row 0\n");

  frugal::builder<std::vector<int>> ids(4);
  REQUIRE(count_allocations([&] {
            for (int i = 0; i < 4; ++i) ids.append(i);
          }) == 0);
  ids.emplace_back(4);
  ids.append_range(std::vector<int>{5, 6, 7, 8, 9, 10, 11, 12});
  REQUIRE(ids.regrowths() == 2);
  REQUIRE(std::move(ids).build().size() == 13);
}

// Aliasing: every appending call given an argument that views the object itself -------------

namespace {

// The (offset, length) windows of a string of `size` characters that the aliasing matrix
// appends: all of it, empty, prefixes, suffixes and middles.
std::vector<std::pair<std::size_t, std::size_t>> windows(std::size_t size) {
  std::vector<std::pair<std::size_t, std::size_t>> w{{0, size}, {0, 0}, {size, 0}};
  if (size >= 1) w.insert(w.end(), {{0, 1}, {size - 1, 1}, {0, size - 1}, {1, size - 1}});
  if (size >= 3) w.push_back({1, size - 2});
  return w;
}

// Appends a copy of `v` to itself (the model; std::vector::insert of its own range is UB).
template <class V>
void append_copy(V& v) {
  const V copy = v;
  v.insert(v.end(), copy.begin(), copy.end());
}

std::string text_of(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s;
}

}  // namespace

TEST_CASE("str_append of views of the string itself matches std::string::append",
          "[builder][alias]") {
  // Sizes straddle the short-string buffer (15 in libstdc++, 22 in libc++) and capacities
  // cover growth from the short buffer, growth from the heap and no growth at all.
  for (std::size_t size : {0u, 1u, 5u, 7u, 8u, 14u, 15u, 16u, 22u, 23u, 40u, 100u}) {
    for (int room : {0, 1, 2}) {
      for (auto [offset, length] : windows(size)) {
        std::string s = text_of(size);
        if (room == 1) s.reserve(size * 3 + 30);
        if (room == 2) s.shrink_to_fit();
        const std::string copy = s.substr(offset, length);
        const std::string_view self(s.data() + offset, length);
        std::string model = s;
        model.append(copy).append("#").append(copy).append("42");
        frugal::str_append(s, self, '#', self, 42);
        REQUIRE(s == model);

        std::string t = text_of(size);
        if (room == 1) t.reserve(size * 3 + 30);
        std::string expected = t + t + t.c_str();
        frugal::str_append(t, t, t.c_str());  // the string and its C string
        REQUIRE(t == expected);
      }
    }
  }
}

TEST_CASE("builder<std::string>::append of its own view", "[builder][alias]") {
  for (std::size_t hint : {0u, 4u, 64u}) {
    frugal::builder<std::string> b(hint);
    std::string model;
    for (int round = 0; round < 8; ++round) {
      b.append("x", round);
      model += "x" + std::to_string(round);
      const std::string copy = model;
      b.append(b.view(), '|', std::string_view(b.view()).substr(0, 3));
      model += copy + "|" + copy.substr(0, 3);
      REQUIRE(b.view() == model);
    }
  }
}

TEST_CASE("append_range of the builder's own elements, within room and growing",
          "[builder][alias]") {
  SECTION("contiguous: the whole container and a part of it") {
    for (std::size_t hint : {0u, 3u, 100u}) {
      frugal::builder<std::vector<int>> b(hint);
      for (int i = 0; i < 3; ++i) b.append(i);
      std::vector<int> model = b.view();
      b.append_range(b.view());
      append_copy(model);
      REQUIRE(b.view() == model);
      b.append_range(std::span<const int>(b.view()).subspan(1, 2));
      model.push_back(model[1]);
      model.push_back(model[2]);
      REQUIRE(b.view() == model);
    }
  }
  SECTION("strings: contiguous, transform and filter views") {
    for (std::size_t hint : {0u, 2u, 100u}) {
      frugal::builder<std::vector<std::string>> b(hint);
      b.append(long_text('a'));
      b.append(long_text('b'));
      std::vector<std::string> model = b.view();
      b.append_range(b.view());
      append_copy(model);
      REQUIRE(b.view() == model);
      b.append_range(b.view() |
                     std::views::transform([](const std::string& x) { return x + "!"; }));
      const std::size_t n = model.size();
      for (std::size_t i = 0; i < n; ++i) model.push_back(model[i] + "!");
      REQUIRE(b.view() == model);
      b.append_range(b.view() |
                     std::views::filter([](const std::string& x) { return x.back() == '!'; }));
      const std::size_t m = model.size();
      for (std::size_t i = 0; i < m; ++i)
        if (model[i].back() == '!') model.push_back(model[i]);
      REQUIRE(b.view() == model);
    }
  }
  SECTION("a filter that the appended elements fail: it stops at the end it started from") {
    // The filter searches the container as it steps; within room, the appended elements sit
    // where it searches, so reading it one step too far walked past the container's end.
    for (std::size_t hint : {0u, 2u, 16u, 100u}) {
      frugal::builder<std::vector<int>> b(hint);
      b.append(1);
      b.append(5);
      b.append(8);
      b.append_range(b.view() | std::views::transform([](int x) { return x + 1; }) |
                     std::views::filter([](int x) { return x % 2 == 0; }));
      REQUIRE(b.view() == std::vector<int>{1, 5, 8, 2, 6});
    }
  }
  SECTION("trivially copyable elements through a transform view") {
    for (std::size_t hint : {0u, 5u, 100u}) {
      frugal::builder<std::vector<int>> b(hint);
      for (int i = 0; i < 5; ++i) b.append(i);
      std::vector<int> model = b.view();
      b.append_range(b.view() | std::views::transform([](int x) { return x * 10; }));
      for (int i = 0; i < 5; ++i) model.push_back(model[static_cast<std::size_t>(i)] * 10);
      REQUIRE(b.view() == model);
    }
  }
  SECTION("std::string builder appending its own characters") {
    frugal::builder<std::string> b(4);
    b.append("abc");
    b.append_range(b.view());
    b.append_range(b.view() | std::views::reverse);
    REQUIRE(b.view() == "abcabccbacba");
  }
}

// Growth: geometric on every standard library ---------------------------------------------

namespace {

// Counts how often `c.capacity()` changes over `calls` calls of `step(c)`, and the
// allocations they made.
template <class C, class Step>
std::pair<std::size_t, std::size_t> growth_of(C& c, int calls, Step step) {
  std::size_t changes = 0;
  const std::size_t allocations = count_allocations([&] {
    for (int i = 0; i < calls; ++i) {
      const std::size_t before = c.capacity();
      step(c);
      if (c.capacity() != before) {
        ++changes;
        REQUIRE(c.capacity() >= 2 * before);
      }
    }
  });
  return {changes, allocations};
}

}  // namespace

TEST_CASE("repeated appends grow geometrically: O(log n) allocations", "[builder][alloc]") {
  std::string s;
  auto [changes, allocations] =
      growth_of(s, 1000, [](std::string& x) { frugal::str_append(x, "abc", 7); });
  REQUIRE(s.size() == 4000);
  REQUIRE(allocations == changes);
  REQUIRE(allocations <= 9);  // 4000 bytes from the short buffer, doubling

  frugal::builder<std::string> page(0);
  std::size_t allocs = count_allocations([&] {
    for (int i = 0; i < 1000; ++i) page.append("abc", 7);
  });
  REQUIRE(allocs == page.regrowths());
  REQUIRE(allocs <= 9);

  frugal::builder<std::vector<int>> ids(0);
  const std::vector<int> three{1, 2, 3};
  allocs = count_allocations([&] {
    for (int i = 0; i < 1000; ++i) ids.append_range(three);
  });
  REQUIRE(ids.size() == 3000);
  REQUIRE(allocs == ids.regrowths());
  REQUIRE(allocs <= 12);  // 3000 elements from 3, doubling: 10

  // Views that are read before the old buffer goes: still one allocation per growth.
  frugal::builder<std::vector<int>> tripled(0);
  tripled.append(1);
  allocs = count_allocations([&] {
    for (int i = 0; i < 1000; ++i)
      tripled.append_range(three | std::views::transform([](int x) { return x + 1; }));
  });
  REQUIRE(allocs == tripled.regrowths() - 1);  // the first append was not counted
  REQUIRE(allocs <= 12);
}

TEST_CASE("a regrowth at least doubles the capacity and allocates once", "[builder][alloc]") {
  std::string s(100, 'x');
  s.shrink_to_fit();
  s.resize(s.capacity(), 'x');  // full: libc++ rounds capacities up
  const std::size_t before = s.capacity();
  REQUIRE(count_allocations([&] { frugal::str_append(s, 'y'); }) == 1);
  REQUIRE(s.capacity() >= 2 * before);
  std::vector<int> v(100, 1);
  frugal::builder<std::vector<int>> b(100);
  b.append_range(v);
  REQUIRE(b.regrowths() == 0);
  REQUIRE(count_allocations([&] { b.append_range(std::vector<int>{}); }) == 0);
  REQUIRE(b.regrowths() == 0);
  REQUIRE(count_allocations([&] { b.append_range(std::span<const int>(v).first(1)); }) == 1);
  REQUIRE(b.view().capacity() >= 200);
  REQUIRE(b.regrowths() == 1);
}

TEST_CASE("append_range past max_size throws std::length_error before appending", "[builder]") {
  frugal::builder<std::vector<std::size_t>> b(4);
  b.append(std::size_t{7});
  const std::size_t max = b.view().max_size();
  const auto huge = std::views::iota(std::size_t{0}, max);
  REQUIRE_THROWS_WITH(b.append_range(huge),
                      "builder::append_range: total length exceeds "
                      "max_size (1 + " +
                          std::to_string(max) + " > " + std::to_string(max) + ")");
  REQUIRE(b.view() == std::vector<std::size_t>{7});
  frugal::builder<std::string> s(4);
  REQUIRE_THROWS_AS(s.append_range(std::views::iota(std::size_t{0}, s.view().max_size() + 1) |
                                   std::views::transform([](std::size_t) { return 'c'; })),
                    std::length_error);
}

// str_join's formatter contract ------------------------------------------------------------

TEST_CASE("str_join with a formatter whose lengths change between passes throws logic_error",
          "[builder]") {
  const std::vector<int> ids(20, 0);
  for (std::size_t piece : {1u, 100u}) {  // both write paths: short and long pieces
    // Numbering lines: the second pass counts on from where the first stopped.
    int line = 5;
    auto numbered = [&line, piece](int) {
      return std::string(piece, 'x') + std::to_string(line++);
    };
    REQUIRE_THROWS_AS(frugal::str_join(ids, ",", numbered), std::logic_error);
    // Shorter the second time.
    int calls = 0;
    auto shrinking = [&calls, piece](int) {
      return std::string(calls++ < 20 ? piece + 1 : piece, 'y');
    };
    REQUIRE_THROWS_AS(frugal::str_join(ids, ",", shrinking), std::logic_error);
    // Same total, other lengths: one piece longer, another shorter.
    calls = 0;
    auto swapped = [&calls, piece](int) {
      const int i = calls++;
      std::size_t n = piece;
      if (i == 20 + 3) n = piece + 1;
      if (i == 20 + 7) n = piece - 1;
      return std::string(n, 'z');
    };
    REQUIRE_THROWS_AS(frugal::str_join(ids, ",", swapped), std::logic_error);
    // Same total, lengths that trade places: 1, 3, 2 measured and 2, 1, 3 written (the same
    // sum of length times position, 13).
    calls = 0;
    auto reordered = [&calls, piece](int) {
      static constexpr std::size_t measured[] = {1, 3, 2}, written[] = {2, 1, 3};
      const int i = calls++;
      const std::size_t at = static_cast<std::size_t>(i % 20);
      if (at >= 3) return std::string(piece, 'r');
      return std::string(piece - 1 + (i < 20 ? measured[at] : written[at]), 'r');
    };
    REQUIRE_THROWS_AS(frugal::str_join(ids, ",", reordered), std::logic_error);
    // Stateful but of constant length: fine, and the write pass's text is kept.
    int digit = 0;
    auto cycling = [&digit, piece](int) {
      return std::string(piece, 'w') + std::to_string(digit++ % 10);
    };
    const std::string joined = frugal::str_join(ids, ",", cycling);
    REQUIRE(joined.size() == 20 * (piece + 1) + 19);
  }
  {
    // A piece longer the second time by exactly the room left: the separator after it must
    // not be written past the measured total (past the end of the allocation).
    int calls = 0;
    auto longer_first = [&calls](int) {
      const int i = calls++;
      return std::string(i == 0 ? 40 : i == 2 ? 42 : 0, 's');  // heap, exact capacity
    };
    REQUIRE_THROWS_AS(frugal::str_join(std::vector<int>(2, 0), ",,", longer_first),
                      std::logic_error);
  }
  try {
    int line = 8;  // 8, 9, 10 measured; 11, 12, 13 to write
    (void)frugal::str_join(std::vector<int>(3, 0), "", [&line](int) { return line++; });
    FAIL("no exception");
  } catch (const std::logic_error& e) {
    REQUIRE(std::string(e.what()) ==
            "str_join: the formatter gave pieces of other lengths than "
            "when measured (4 characters measured, 6+ to write)");
  }
}

// Pieces: characters, null C strings, numbers of every type -----------------------------------

TEST_CASE("a null C string is empty text", "[builder]") {
  const char* none = nullptr;
  char* none_mutable = nullptr;
  REQUIRE(frugal::str_cat("a", none, "b", none_mutable) == "ab");
  std::string s = "x";
  frugal::str_append(s, none, 1);
  REQUIRE(s == "x1");
  REQUIRE(frugal::str_join(std::vector<const char*>{"p", nullptr, "q"}, ",") == "p,,q");
  frugal::builder<std::string> b(8);
  b.append(none, "z");
  REQUIRE(b.view() == "z");
}

TEST_CASE("char is a character, signed and unsigned char are numbers", "[builder]") {
  REQUIRE(frugal::str_cat('a', static_cast<signed char>(-5), static_cast<unsigned char>(200)) ==
          "a-5200");
}

namespace {

template <class T>
std::string reference_chars(T value) {
  char buffer[256];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  REQUIRE(r.ec == std::errc());
  return std::string(buffer, r.ptr);
}

template <class T>
void check_extremes() {
  using L = std::numeric_limits<T>;
  for (T v : {L::max(), L::lowest(), L::min(), T(0), T(1), T(-1)}) {
    REQUIRE(frugal::str_cat(v) == reference_chars(v));
    REQUIRE(frugal::str_cat("<", v, ">") == "<" + reference_chars(v) + ">");
  }
  if constexpr (std::is_floating_point_v<T>) {
    for (T v : {L::denorm_min(), -L::denorm_min(), -L::min(), L::epsilon(), T(1) / T(3),
                -L::max() / T(3), L::min() * T(1.5), L::infinity(), -L::infinity()}) {
      REQUIRE(frugal::str_cat(v) == reference_chars(v));
    }
  }
}

}  // namespace

TEST_CASE("every arithmetic type prints its extremes in full", "[builder]") {
  check_extremes<short>();
  check_extremes<unsigned short>();
  check_extremes<int>();
  check_extremes<unsigned>();
  check_extremes<long>();
  check_extremes<unsigned long>();
  check_extremes<long long>();
  check_extremes<unsigned long long>();
  check_extremes<signed char>();
  check_extremes<unsigned char>();
  check_extremes<float>();
  check_extremes<double>();
  check_extremes<long double>();
  // Random long doubles, in whatever format this platform has.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    long double v;
    unsigned char bytes[sizeof v];
    for (auto& b : bytes) b = static_cast<unsigned char>(rng());
    std::memcpy(&v, bytes, sizeof v);
    if (!std::isfinite(v)) continue;
    REQUIRE(frugal::str_cat(v) == reference_chars(v));
  }
}

// collect: written in place ----------------------------------------------------------------

TEST_CASE("collect of a sized, mapped range allocates once and maps in order", "[builder][alloc]") {
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 1000u}) {
    std::vector<std::uint64_t> src(n);
    for (std::size_t i = 0; i < n; ++i) src[i] = i * 11;
    std::vector<std::uint64_t> model;
    for (auto x : src) model.push_back(x * 3 + 1);
    std::size_t calls = 0;
    auto mapped = src | std::views::transform([&calls](std::uint64_t x) {
                    ++calls;
                    return x * 3 + 1;
                  });
    std::vector<std::uint64_t> v;
    REQUIRE(count_allocations([&] { v = frugal::collect<std::vector<std::uint64_t>>(mapped); }) ==
            (n ? 1u : 0u));
    REQUIRE(v == model);
    REQUIRE(v.capacity() == n);
    REQUIRE(calls == n);
    frugal::small_vector<std::uint64_t, 8> sv;
    REQUIRE(count_allocations([&] {
              sv = frugal::collect<frugal::small_vector<std::uint64_t, 8>>(mapped);
            }) == (n > 8 ? 1u : 0u));
    REQUIRE(std::vector<std::uint64_t>(sv.begin(), sv.end()) == model);
    REQUIRE(frugal::collect<std::string>(src | std::views::transform([](std::uint64_t x) {
                                           return static_cast<char>('a' + x % 26);
                                         })) ==
            frugal::collect<std::string>(src | std::views::transform([](std::uint64_t x) {
                                           return static_cast<char>('a' + x % 26);
                                         }),
                                         0));
  }
}

TEST_CASE("collect converts as push_back would", "[builder]") {
  const std::vector<int> src{1, -2, 3};
  REQUIRE(frugal::collect<std::vector<long>>(src) == std::vector<long>{1, -2, 3});
  REQUIRE(frugal::collect<std::vector<double>>(src) == std::vector<double>{1, -2, 3});
  struct wrapped {
    int v;
    wrapped(int x) : v(x) {}  // NOLINT: implicit on purpose
  };
  const auto w = frugal::collect<std::vector<wrapped>>(src);
  REQUIRE(w.size() == 3);
  REQUIRE(w[1].v == -2);
}

// Element types ----------------------------------------------------------------------------

namespace {

struct non_assignable {
  const int v;
};

struct alignas(64) over_aligned {
  int v = 0;
  over_aligned() = default;
  over_aligned(int x) : v(x) {}  // NOLINT: implicit on purpose
  friend bool operator==(const over_aligned&, const over_aligned&) = default;
};

struct throwing_move {
  std::string v;
  throwing_move(std::string x) : v(std::move(x)) {}  // NOLINT
  throwing_move(const throwing_move&) = default;
  throwing_move(throwing_move&& o) noexcept(false) : v(std::move(o.v)) {}
};

}  // namespace

TEST_CASE("move-only, non-assignable, over-aligned and throwing-move elements", "[builder]") {
  SECTION("move-only") {
    std::vector<std::unique_ptr<int>> src;
    for (int i = 0; i < 10; ++i) src.push_back(std::make_unique<int>(i));
    auto moved = std::ranges::subrange(std::make_move_iterator(src.begin()),
                                       std::make_move_iterator(src.end()));
    auto out = frugal::collect<std::vector<std::unique_ptr<int>>>(moved);
    REQUIRE(out.size() == 10);
    REQUIRE(*out[9] == 9);
    frugal::builder<std::vector<std::unique_ptr<int>>> b(2);
    b.emplace_back(std::make_unique<int>(-1));
    b.append_range(std::ranges::subrange(std::make_move_iterator(out.begin()),
                                         std::make_move_iterator(out.end())));
    REQUIRE(b.size() == 11);
    REQUIRE(b.regrowths() == 1);
    REQUIRE(*std::move(b).build()[10] == 9);
  }
  SECTION("non-assignable") {
    const std::vector<int> src{4, 5, 6};
    auto out = frugal::collect<std::vector<non_assignable>>(
        src | std::views::transform([](int x) { return non_assignable{x}; }));
    REQUIRE(out.size() == 3);
    REQUIRE(out[2].v == 6);
    frugal::builder<std::vector<non_assignable>> b(1);
    b.append(non_assignable{1});
    b.append_range(out);
    b.append_range(b.view() | std::views::transform(
                                  [](const non_assignable& x) { return non_assignable{x.v}; }));
    REQUIRE(b.size() == 8);
    REQUIRE(b.view()[7].v == 6);
  }
  SECTION("over-aligned") {
    const std::vector<int> src{1, 2, 3, 4, 5};
    auto out = frugal::collect<std::vector<over_aligned>>(src);
    REQUIRE(reinterpret_cast<std::uintptr_t>(out.data()) % 64 == 0);
    frugal::builder<std::vector<over_aligned>> b(1);
    b.append(over_aligned{9});
    b.append_range(b.view());
    b.append_range(out);
    b.append_range(b.view() | std::views::take(3));
    REQUIRE(reinterpret_cast<std::uintptr_t>(b.view().data()) % 64 == 0);
    REQUIRE(b.view() == std::vector<over_aligned>{9, 9, 1, 2, 3, 4, 5, 9, 9, 1});
    auto sv = frugal::collect<frugal::small_vector<over_aligned, 2>>(src);
    REQUIRE(reinterpret_cast<std::uintptr_t>(sv.data()) % 64 == 0);
    REQUIRE(sv[4] == over_aligned{5});
  }
  SECTION("throwing move") {
    frugal::builder<std::vector<throwing_move>> b(1);
    b.append(throwing_move(long_text('a')));
    b.append_range(b.view());
    b.append_range(b.view() | std::views::transform(
                                  [](const throwing_move& x) { return throwing_move(x.v + "!"); }));
    REQUIRE(b.size() == 4);
    REQUIRE(b.view()[3].v == long_text('a') + "!");
  }
}

// Fault injection: an element that throws on the k-th copy, an allocator that fails the k-th
// allocation ---------------------------------------------------------------------------------

namespace {

struct fault_plan {
  static inline int countdown = -1;  // throw when it reaches 0; -1: never
  static inline int live = 0;
  static void tick() {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("injected");
  }
};

struct fragile {
  int v;
  explicit fragile(int x) : v(x) {
    fault_plan::tick();
    ++fault_plan::live;
  }
  fragile(const fragile& o) : v(o.v) {
    fault_plan::tick();
    ++fault_plan::live;
  }
  fragile(fragile&& o) noexcept(false) : v(o.v) {
    fault_plan::tick();
    ++fault_plan::live;
  }
  fragile& operator=(const fragile&) = default;
  ~fragile() { --fault_plan::live; }
};

template <class T>
struct failing_allocator {
  using value_type = T;
  static inline int countdown = -1;  // fail the allocation that brings it to 0
  failing_allocator() = default;
  template <class U>
  failing_allocator(const failing_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (countdown > 0 && --countdown == 0) throw std::bad_alloc();
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  template <class U>
  friend bool operator==(const failing_allocator&, const failing_allocator<U>&) noexcept {
    return true;
  }
};

std::vector<int> values(const std::vector<fragile>& v) {
  std::vector<int> out;
  for (const auto& x : v) out.push_back(x.v);
  return out;
}

}  // namespace

TEST_CASE("a throw at every construction leaves a valid prefix and no leak", "[builder][fault]") {
  std::vector<fragile> src;
  for (int i = 0; i < 6; ++i) src.emplace_back(100 + i);
  const int baseline = fault_plan::live;
  for (int k = 1; k < 80; ++k) {
    bool threw = false;
    {
      frugal::builder<std::vector<fragile>> b(2);
      std::vector<int> model;
      try {
        fault_plan::countdown = k;
        b.emplace_back(1);
        model.push_back(1);
        b.append_range(src);  // grows
        for (auto& x : src) model.push_back(x.v);
        b.append_range(b.view() | std::views::take(4));  // views itself, grows again
        for (int i = 0; i < 4; ++i) model.push_back(model[static_cast<std::size_t>(i)]);
        b.append(src[0]);
        model.push_back(src[0].v);
      } catch (const std::runtime_error&) {
        threw = true;
      }
      fault_plan::countdown = -1;
      // Basic guarantee: the old elements, then some prefix of what was being appended.
      const auto got = values(b.view());
      REQUIRE(got.size() >= model.size());
      REQUIRE(std::equal(model.begin(), model.end(), got.begin()));
      REQUIRE(fault_plan::live == baseline + static_cast<int>(got.size()));
      try {
        fault_plan::countdown = k;
        auto c = frugal::collect<std::vector<fragile>>(src);
        fault_plan::countdown = -1;
        REQUIRE(values(c) == values(src));
      } catch (const std::runtime_error&) {
        threw = true;
      }
      fault_plan::countdown = -1;
    }
    REQUIRE(fault_plan::live == baseline);
    if (!threw) break;  // k is past every construction
  }
}

TEST_CASE("an allocation failure at every point leaves the builder as it was", "[builder][fault]") {
  using vec = std::vector<int, failing_allocator<int>>;
  for (int k = 1; k < 20; ++k) {
    bool threw = false;
    failing_allocator<int>::countdown = -1;
    frugal::builder<vec> b(2);
    b.append(7);
    std::vector<int> model(b.view().begin(), b.view().end());  // allocates from the heap
    const std::vector<int> more{1, 2, 3, 4, 5};
    failing_allocator<int>::countdown = k;
    try {
      b.append_range(more);
      model.insert(model.end(), more.begin(), more.end());
      b.append_range(b.view());
      append_copy(model);
      b.append_range(b.view() | std::views::transform([](int x) { return -x; }));
      const std::size_t n = model.size();
      for (std::size_t i = 0; i < n; ++i) model.push_back(-model[i]);
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    failing_allocator<int>::countdown = -1;
    REQUIRE(std::vector<int>(b.view().begin(), b.view().end()) == model);  // nothing appended
    if (!threw) break;
  }
}

// Allocators: stateful, propagating or not, and pmr -------------------------------------------

namespace {

struct arena_counts {
  static inline std::size_t allocations[4] = {};
};

template <class T, bool Propagate>
struct tagged_allocator {
  using value_type = T;
  using propagate_on_container_copy_assignment = std::bool_constant<Propagate>;
  using propagate_on_container_move_assignment = std::bool_constant<Propagate>;
  using propagate_on_container_swap = std::bool_constant<Propagate>;
  int id = 1;
  tagged_allocator() = default;
  explicit tagged_allocator(int i) : id(i) {}
  template <class U>
  tagged_allocator(const tagged_allocator<U, Propagate>& o) noexcept : id(o.id) {}
  template <class U>
  struct rebind {
    using other = tagged_allocator<U, Propagate>;
  };
  T* allocate(std::size_t n) {
    ++arena_counts::allocations[id];
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  template <class U>
  friend bool operator==(const tagged_allocator& a, const tagged_allocator<U, Propagate>& b) {
    return a.id == b.id;
  }
};

template <bool Propagate>
void check_allocator_kept() {
  using alloc = tagged_allocator<int, Propagate>;
  using vec = std::vector<int, alloc>;
  arena_counts::allocations[1] = 0;
  frugal::builder<vec> b(2);  // default-constructed: arena 1
  b.append(1);
  b.append(2);
  b.append_range(std::vector<int>{3, 4, 5});                                       // container
  b.append_range(b.view());                                                        // itself
  b.append_range(b.view() | std::views::transform([](int x) { return x + 10; }));  // a view
  REQUIRE(b.view().get_allocator().id == 1);
  REQUIRE(b.size() == 20);
  REQUIRE(arena_counts::allocations[1] == 1 + b.regrowths());

  using svec = std::vector<std::string, tagged_allocator<std::string, Propagate>>;
  frugal::builder<svec> s(1);
  s.append(long_text('q'));
  s.append_range(s.view() | std::views::transform([](const std::string& x) { return x + "!"; }));
  REQUIRE(s.view().get_allocator().id == 1);
  REQUIRE(s.view()[1] == long_text('q') + "!");
}

}  // namespace

TEST_CASE("growth keeps a stateful allocator, propagating or not", "[builder][allocator]") {
  check_allocator_kept<true>();
  check_allocator_kept<false>();
}

TEST_CASE("pmr containers keep their memory resource", "[builder][allocator]") {
  // An arena that cannot fall back to the heap, the default only while the builder is made.
  static std::byte buffer[1 << 16];
  std::pmr::monotonic_buffer_resource arena(buffer, sizeof buffer,
                                            std::pmr::null_memory_resource());
  std::pmr::memory_resource* const old = std::pmr::set_default_resource(&arena);
  frugal::builder<std::pmr::vector<std::pmr::string>> b(1);
  frugal::builder<std::pmr::vector<int>> ints(1);
  auto c = frugal::collect<std::pmr::vector<int>>(std::vector<int>(100, 3));
  std::pmr::set_default_resource(old);
  REQUIRE(c.get_allocator().resource() == &arena);
  const std::size_t heap = count_allocations([&] {
    b.append(std::pmr::string(40, 'x', &arena));
    b.append_range(b.view());  // itself, contiguous
    b.append_range(b.view() | std::views::transform([&arena](const std::pmr::string& x) {
                     std::pmr::string marked(x, &arena);
                     marked += '!';
                     return marked;
                   }));  // read into a temporary container first
    ints.append(1);
    ints.append_range(ints.view());
    ints.append_range(ints.view() | std::views::transform([](int x) { return x + 1; }));
  });
  REQUIRE(heap == 0);  // every buffer, grown or temporary, came from the arena
  REQUIRE(b.view().get_allocator().resource() == &arena);
  REQUIRE(b.size() == 4);
  REQUIRE(std::string_view(b.view()[3]) == std::string(40, 'x') + "!");
  REQUIRE(ints.view().get_allocator().resource() == &arena);
  REQUIRE(std::vector<int>(ints.view().begin(), ints.view().end()) == std::vector<int>{1, 1, 2, 2});
}

TEST_CASE("a formatter or a mapping that throws at any call leaks nothing", "[builder][fault]") {
  const std::vector<int> ids{1, 2, 3, 4, 5};
  for (std::size_t piece : {1u, 100u}) {
    for (int k = 1; k <= 10; ++k) {
      int calls = 0;
      auto formatter = [&calls, k, piece](int i) {
        if (++calls == k) throw std::runtime_error("formatter");
        return std::string(piece, static_cast<char>('0' + i));
      };
      REQUIRE_THROWS_AS(frugal::str_join(ids, ",", formatter), std::runtime_error);
    }
  }
  for (int k = 1; k <= 5; ++k) {
    int calls = 0;
    auto mapped = ids | std::views::transform([&calls, k](int i) {
                    if (++calls == k) throw std::runtime_error("mapping");
                    return static_cast<std::uint64_t>(i);
                  });
    REQUIRE_THROWS_AS(frugal::collect<std::vector<std::uint64_t>>(mapped), std::runtime_error);
    calls = 0;
    REQUIRE_THROWS_AS((frugal::collect<frugal::small_vector<std::uint64_t, 2>>(mapped)),
                      std::runtime_error);
    calls = 0;
    frugal::builder<std::vector<std::uint64_t>> b(1);
    b.append(std::uint64_t{9});
    REQUIRE_THROWS_AS(b.append_range(mapped), std::runtime_error);
    REQUIRE(b.view().front() == 9);
  }
}
