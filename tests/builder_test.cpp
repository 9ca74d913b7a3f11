#include <frugal/builder.hpp>
#include <frugal/small_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <forward_list>
#include <limits>
#include <list>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
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

TEST_CASE("collect with a hint: no counting pass; a small hint costs regrowths only", "[builder]") {
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
  REQUIRE_THROWS_WITH(frugal::str_append(s, huge, huge),
                      "str_append: total length exceeds max_size");
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
