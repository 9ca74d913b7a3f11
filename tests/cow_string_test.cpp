#include <frugal/cow_string.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

using frugal::cow_string;
using frugal::testing::count_allocations;
using namespace std::string_view_literals;

namespace {

// Reference implementations, written the obvious way.
std::string ref_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}
std::string ref_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}
std::string ref_replace(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.substr(i, from.size()) == from) {
      out += to;
      i += from.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}
std::string ref_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string random_text(std::mt19937& rng, std::size_t max_len) {
  static constexpr char alphabet[] = "abcXYZ &<>\"'-_.@\xC3\xA9\xFF\x80";
  std::string s(rng() % (max_len + 1), ' ');
  for (char& c : s) c = alphabet[rng() % (sizeof(alphabet) - 1)];
  return s;
}

std::string long_string(char c = 'x') { return std::string(64, c); }

}  // namespace

// Construction and ownership ---------------------------------------------------------------

TEST_CASE("views, C strings and const std::string& are borrowed; std::string&& is owned",
          "[cow_string]") {
  const std::string source = long_string();
  cow_string from_view(std::string_view{source});
  cow_string from_cstr("literal");
  cow_string from_ref(source);
  REQUIRE(from_view.is_borrowed());
  REQUIRE(from_cstr.is_borrowed());
  REQUIRE(from_ref.is_borrowed());
  REQUIRE(from_ref.data() == source.data());
  std::string moved_in = long_string('m');
  const char* heap = moved_in.data();
  cow_string owner(std::move(moved_in));
  REQUIRE(owner.is_owned());
  REQUIRE(owner.data() == heap);  // moved, not copied
  REQUIRE(cow_string().empty());
  REQUIRE(cow_string().is_borrowed());
  REQUIRE(cow_string::borrowed("b"sv).is_borrowed());
  REQUIRE(cow_string::owned("o").is_owned());
  REQUIRE(count_allocations([&] {
            cow_string c(source);
            cow_string d{std::string_view(source)};
          }) == 0);
}

TEST_CASE("reading members", "[cow_string]") {
  cow_string c("hello");
  REQUIRE(c.view() == "hello");
  REQUIRE(c.size() == 5);
  REQUIRE(c.length() == 5);
  REQUIRE_FALSE(c.empty());
  REQUIRE(c[1] == 'e');
  REQUIRE(std::string(c.begin(), c.end()) == "hello");
  std::string_view v = c;
  REQUIRE(v == "hello");
  std::ostringstream out;
  out << c;
  REQUIRE(out.str() == "hello");
}

TEST_CASE("to_mut copies only when borrowed", "[cow_string]") {
  const std::string source = long_string();
  cow_string c(source);
  std::size_t allocations = count_allocations([&] { c.to_mut() += "!"; });
  REQUIRE(allocations >= 1);
  REQUIRE(c.is_owned());
  REQUIRE(source == long_string());  // the source is untouched
  REQUIRE(c.view() == long_string() + "!");
  REQUIRE(count_allocations([&] { c.to_mut()[0] = 'y'; }) == 0);
  REQUIRE(c.view()[0] == 'y');
}

TEST_CASE("into_owned moves an owned string and copies a borrowed one", "[cow_string]") {
  std::string s = long_string();
  const char* heap = s.data();
  cow_string owned(std::move(s));
  std::string out;
  REQUIRE(count_allocations([&] { out = std::move(owned).into_owned(); }) == 0);
  REQUIRE(out.data() == heap);
  const std::string source = long_string('b');
  cow_string borrowed(source);
  REQUIRE(count_allocations([&] { out = std::move(borrowed).into_owned(); }) == 1);
  REQUIRE(out == source);
}

TEST_CASE("views are correct after copies and moves, including short owned strings",
          "[cow_string]") {
  for (std::string text : {std::string("short"), long_string()}) {
    cow_string owned(std::string{text});
    cow_string copy = owned;
    REQUIRE(copy.view() == text);
    REQUIRE(copy.is_owned());
    cow_string moved = std::move(copy);
    REQUIRE(moved.view() == text);
    cow_string assigned;
    assigned = moved;
    REQUIRE(assigned.view() == text);
    assigned = std::move(moved);
    REQUIRE(assigned.view() == text);
    cow_string borrowed(text);
    cow_string borrowed_copy = borrowed;
    REQUIRE(borrowed_copy.data() == text.data());
  }
}

// Comparison and hashing -------------------------------------------------------------------

TEST_CASE("comparisons with cow strings, std::string, views and C strings", "[cow_string]") {
  cow_string a("apple");
  cow_string b(std::string("banana"));
  const std::string apple = "apple";
  REQUIRE(a == cow_string("apple"));
  REQUIRE(a != b);
  REQUIRE(a < b);
  REQUIRE(a == apple);
  REQUIRE(apple == a);
  REQUIRE(a == "apple"sv);
  REQUIRE("apple"sv == a);
  REQUIRE(a == "apple");
  REQUIRE("apple" == a);
  REQUIRE(b > "apple");
  REQUIRE((a <=> b) == std::strong_ordering::less);
  REQUIRE((b <=> apple) == std::strong_ordering::greater);
}

TEST_CASE("hash agrees with std::hash<std::string_view>; transparent lookup", "[cow_string]") {
  cow_string owned(long_string());
  cow_string borrowed("key");
  REQUIRE(std::hash<cow_string>{}(owned) == std::hash<std::string_view>{}(long_string()));
  REQUIRE(std::hash<cow_string>{}(borrowed) == std::hash<std::string_view>{}("key"));
  REQUIRE(frugal::string_hash{}("key") == std::hash<std::string_view>{}("key"));

  std::unordered_map<std::string, int, frugal::string_hash, frugal::string_equal> users;
  users.emplace(long_string('u'), 7);
  const std::string probe = long_string('u');
  const cow_string key(probe);
  REQUIRE(count_allocations([&] {
            REQUIRE(users.find(key) != users.end());
            REQUIRE(users.find(std::string_view(probe))->second == 7);
            REQUIRE(users.count(long_string('z').c_str()) == 0);
          }) == 1);  // only the long_string('z') temporary allocates
  std::unordered_set<cow_string> set{cow_string("a"), cow_string(std::string("b"))};
  REQUIRE(set.count(cow_string("b")) == 1);
}

// Transformations ----------------------------------------------------------------------------

TEST_CASE("transformations match references on random input", "[cow_string]") {
  std::mt19937 rng(2026);
  for (int round = 0; round < 3000; ++round) {
    const std::string s = random_text(rng, 40);
    const auto lower = frugal::to_lower_ascii(s);
    REQUIRE(lower.view() == ref_lower(s));
    REQUIRE(lower.is_borrowed() == (ref_lower(s) == s));
    if (lower.is_borrowed()) REQUIRE(lower.data() == s.data());
    REQUIRE(frugal::to_upper_ascii(s).view() == ref_upper(s));
    REQUIRE(frugal::to_lower_ascii(std::string(s)).view() == ref_lower(s));
    REQUIRE(frugal::to_upper_ascii(std::string(s)).view() == ref_upper(s));
    const auto escaped = frugal::escape_html(s);
    REQUIRE(escaped.view() == ref_escape(s));
    REQUIRE(escaped.is_borrowed() == (ref_escape(s) == s));
    REQUIRE(frugal::escape_html(std::string(s)).view() == ref_escape(s));
    for (std::string_view from : {"a"sv, "ab"sv, "&"sv, "XY"sv, "aa"sv}) {
      for (std::string_view to : {""sv, "-"sv, "&amp;"sv, "zz"sv}) {
        const std::string expected = ref_replace(s, from, to);
        const auto r = frugal::replace_all(s, from, to);
        REQUIRE(r.view() == expected);
        REQUIRE(r.is_borrowed() == (s.find(from) == std::string::npos));
        REQUIRE(frugal::replace_all(std::string(s), from, to).view() == expected);
        REQUIRE(frugal::replace_all(cow_string(s), from, to).view() == expected);
      }
    }
  }
}

TEST_CASE("cow overloads chain: borrowed stays borrowed, owned changes in place", "[cow_string]") {
  const std::string clean = "already clean";
  const auto chained = frugal::escape_html(frugal::to_lower_ascii(clean));
  REQUIRE(chained.is_borrowed());
  REQUIRE(chained.data() == clean.data());
  const std::string dirty = "Tom & JERRY's <Show>";
  const auto result =
      frugal::replace_all(frugal::escape_html(frugal::to_lower_ascii(dirty)), "&amp;", "and");
  REQUIRE(result.view() == "tom and jerry&#39;s &lt;show&gt;");
}

TEST_CASE("allocations: none when unchanged, exactly one when changed", "[cow_string][alloc]") {
  const std::string clean = std::string(100, 'a');
  const std::string upper = std::string(99, 'a') + "A";
  const std::string special = std::string(99, 'a') + "<";
  REQUIRE(count_allocations([&] { auto c = frugal::to_lower_ascii(clean); }) == 0);
  REQUIRE(count_allocations([&] { auto c = frugal::escape_html(clean); }) == 0);
  REQUIRE(count_allocations([&] { auto c = frugal::replace_all(clean, "b", "cc"); }) == 0);
  REQUIRE(count_allocations([&] { auto c = frugal::to_lower_ascii(upper); }) == 1);
  REQUIRE(count_allocations([&] { auto c = frugal::escape_html(special); }) == 1);
  REQUIRE(count_allocations([&] { auto c = frugal::replace_all(clean, "a", "bb"); }) == 1);
  REQUIRE(count_allocations([&] { auto c = frugal::to_lower_ascii("SHORT"sv); }) == 0);  // fits SSO
  std::string in_place = upper;
  REQUIRE(count_allocations([&] { auto c = frugal::to_lower_ascii(std::move(in_place)); }) == 0);
  std::string shrink = clean;
  REQUIRE(count_allocations([&] { auto c = frugal::replace_all(std::move(shrink), "aa", "b"); }) ==
          0);
}

TEST_CASE("string literals, views, lvalue and rvalue strings pick the right overload",
          "[cow_string]") {
  REQUIRE(frugal::escape_html("a<b").view() == "a&lt;b");
  REQUIRE(frugal::to_lower_ascii("ABC").view() == "abc");
  REQUIRE(frugal::to_upper_ascii("abc").view() == "ABC");
  REQUIRE(frugal::replace_all("a-b", "-", "+").view() == "a+b");
  const std::string lvalue = "Keep";
  REQUIRE(frugal::to_upper_ascii(lvalue).view() == "KEEP");
  REQUIRE(lvalue == "Keep");
  cow_string cow_lvalue(lvalue);
  REQUIRE(frugal::escape_html(cow_lvalue).is_borrowed());
  REQUIRE(frugal::to_lower_ascii(std::string("MOVED")).is_owned());
}

TEST_CASE("bad input: empty pattern and overflow", "[cow_string]") {
  REQUIRE_THROWS_AS(frugal::replace_all("abc"sv, "", "x"), std::invalid_argument);
  REQUIRE_THROWS_WITH(frugal::replace_all(std::string("abc"), "", "x"),
                      "replace_all: the pattern to replace is empty");
  const std::string many(1000, 'a');
  const std::string_view enormous(many);
  // 1000 occurrences of a one-byte pattern, each replaced by more than max_size / 999 bytes:
  // the size check throws before the (never read) replacement is touched.
  const std::size_t big = std::string().max_size() / 999;
  REQUIRE_THROWS_AS(frugal::replace_all(enormous, "a", std::string_view(many.data(), big)),
                    std::length_error);
}
