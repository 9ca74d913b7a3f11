#include <frugal/cow_string.hpp>
#include <frugal/slice.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory_resource>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

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
  REQUIRE_THROWS_WITH(frugal::replace_all(enormous, "a", std::string_view(many.data(), big)),
                      "replace_all: result longer than max_size");
  // Two occurrences whose replacement is 2^63 bytes: the size would wrap around to a small
  // number. The check throws before the (never read) replacement is touched.
  const std::string_view wraps(many.data(), std::size_t(1) << 63);
  REQUIRE_THROWS_WITH(frugal::replace_all("aa"sv, "a", wraps),
                      "replace_all: result longer than max_size");
  REQUIRE_THROWS_WITH(frugal::replace_all(std::string("aa"), "a", wraps),
                      "replace_all: result longer than max_size");
  REQUIRE_THROWS_WITH(frugal::replace_all(cow_string(std::string("aa")), "a", wraps),
                      "replace_all: result longer than max_size");
}

// Aliasing: every mutating call given an argument that views the cow itself -----------------

namespace {

// The views of an owned cow's own text that a caller can derive and assign back.
std::vector<std::pair<std::string, std::function<std::string_view(const cow_string&)>>>
self_views() {
  return {
      {"view", [](const cow_string& c) { return c.view(); }},
      {"trim", [](const cow_string& c) { return frugal::trim(c.view()); }},
      {"trim of the cow", [](const cow_string& c) { return frugal::trim(c); }},
      {"first_n", [](const cow_string& c) { return frugal::first_n(c, 3); }},
      {"last_n", [](const cow_string& c) { return frugal::last_n(c, 3); }},
      {"middle", [](const cow_string& c) { return c.view().substr(2, c.size() / 2); }},
      {"empty at the front", [](const cow_string& c) { return c.view().substr(0, 0); }},
      {"empty at the end", [](const cow_string& c) { return c.view().substr(c.size()); }},
      {"split_once tail", [](const cow_string& c) { return frugal::split_once(c, ' ')->second; }},
  };
}

std::vector<std::string> owned_texts() {
  return {"  ab cd  ", "  " + std::string(60, 'q') + " tail  "};  // short, then heap
}

}  // namespace

TEST_CASE("assigning a view of the cow's own owned text keeps that text", "[cow_string][alias]") {
  for (const std::string& text : owned_texts()) {
    for (const auto& [name, derive] : self_views()) {
      for (int form = 0; form < 5; ++form) {
        INFO(name << ", form " << form << ", text '" << text << "'");
        cow_string c{std::string(text)};
        const std::string_view part = derive(c);
        const std::string expected(part);
        const std::size_t allocations = count_allocations([&] {
          switch (form) {
            case 0:  // converting assignment from a view
              c = part;
              break;
            case 1: {  // copy assignment from a cow that borrows it
              const cow_string borrowed = cow_string::borrowed(part);
              c = borrowed;
              break;
            }
            case 2:  // move assignment
              c = cow_string::borrowed(part);
              break;
            case 3:  // a C string pointing into it, when the view runs to its end
              if (part.data() + part.size() == c.view().data() + c.size()) {
                c = part.data();
              } else {
                c = part;
              }
              break;
            default:  // assigning a const std::string& of its own string
              c = std::as_const(c.to_mut());
              REQUIRE(c.view() == text);
              c = part;
          }
        });
        REQUIRE(allocations == 0);
        REQUIRE(c.is_owned());
        REQUIRE(c.view() == expected);
        REQUIRE(std::string(c.data(), c.size()) == expected);
      }
    }
  }
}

TEST_CASE("transformations assigned back to the cow they read keep the text",
          "[cow_string][alias]") {
  for (const std::string& text : owned_texts()) {
    const std::string lower = ref_lower(text);
    cow_string c{std::string(lower)};
    c = frugal::to_lower_ascii(c);  // nothing changes: the result borrows c
    REQUIRE(c.is_owned());
    REQUIRE(c.view() == lower);
    c = frugal::to_upper_ascii(c);  // everything changes: a new string
    REQUIRE(c.view() == ref_upper(text));
    c = frugal::to_upper_ascii(c);
    REQUIRE(c.view() == ref_upper(text));
    c = frugal::escape_html(c);
    REQUIRE(c.view() == ref_upper(text));
    c = frugal::replace_all(c, "#", "-");
    REQUIRE(c.view() == ref_upper(text));
    c = frugal::trim(c.view());
    REQUIRE(c.view() == std::string(frugal::trim(std::string_view(ref_upper(text)))));
    c = frugal::trim(c);
    REQUIRE(c.is_owned());
    c = frugal::replace_all(c, "Q", "");
    c = frugal::to_lower_ascii(c);
    REQUIRE(c.view() == ref_replace(frugal::trim(std::string_view(lower)), "q", ""));
  }
  // A borrowed cow assigned a view of its own source stays borrowed.
  const std::string source = "  keep  ";
  cow_string b(source);
  b = frugal::trim(b);
  REQUIRE(b.is_borrowed());
  REQUIRE(b.data() == source.data() + 2);
  REQUIRE(b.view() == "keep");
}

TEST_CASE("self-assignment keeps the text", "[cow_string][alias]") {
  for (const std::string& text : owned_texts()) {
    cow_string c{std::string(text)};
    cow_string& same = c;
    c = same;
    REQUIRE(c.view() == text);
    c = std::move(same);
    REQUIRE(c.view() == text);
    REQUIRE(c.is_owned());
  }
}

TEST_CASE("replace_all with patterns that view the string it changes", "[cow_string][alias]") {
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    const std::string text = random_text(rng, round % 2 == 0 ? 12 : 70);
    if (text.empty()) continue;
    // Positions of `from` and `to` inside the text, or outside (an external copy).
    const std::size_t fa = rng() % text.size();
    const std::size_t fl = 1 + rng() % std::min<std::size_t>(3, text.size() - fa);
    const std::size_t ta = rng() % text.size();
    const std::size_t tl = rng() % (std::min<std::size_t>(5, text.size() - ta) + 1);
    for (int which = 0; which < 3; ++which) {  // 0: from aliases, 1: to aliases, 2: both
      const std::string from_copy = text.substr(fa, fl);
      const std::string to_copy = text.substr(ta, tl);
      const std::string expected = ref_replace(text, from_copy, to_copy);
      INFO("text '" << text << "' from '" << from_copy << "' to '" << to_copy << "' which "
                    << which);
      {
        std::string s = text;
        const std::string_view from =
            which != 1 ? std::string_view(s).substr(fa, fl) : std::string_view(from_copy);
        const std::string_view to =
            which != 0 ? std::string_view(s).substr(ta, tl) : std::string_view(to_copy);
        const cow_string r = frugal::replace_all(std::move(s), from, to);
        REQUIRE(r.view() == expected);
        REQUIRE(r.is_owned());
      }
      {
        cow_string c{std::string(text)};
        const std::string_view from =
            which != 1 ? c.view().substr(fa, fl) : std::string_view(from_copy);
        const std::string_view to =
            which != 0 ? c.view().substr(ta, tl) : std::string_view(to_copy);
        const cow_string r = frugal::replace_all(std::move(c), from, to);
        REQUIRE(r.view() == expected);
        REQUIRE(r.is_owned());
      }
      {
        cow_string c{std::string(text)};
        const std::string_view from =
            which != 1 ? c.view().substr(fa, fl) : std::string_view(from_copy);
        const std::string_view to =
            which != 0 ? c.view().substr(ta, tl) : std::string_view(to_copy);
        c = frugal::replace_all(c, from, to);  // the view overload, assigned back
        REQUIRE(c.view() == expected);
      }
    }
  }
}

TEST_CASE("replace_all allocates once when a pattern views the string, never in place",
          "[cow_string][alias][alloc]") {
  const std::string text = std::string(40, 'a') + "-" + std::string(40, 'b');
  std::string s = text;
  const std::string_view dash = std::string_view(s).substr(40, 1);
  cow_string r;
  REQUIRE(count_allocations([&] { r = frugal::replace_all(std::move(s), dash, ""); }) == 1);
  REQUIRE(r.view() == std::string(40, 'a') + std::string(40, 'b'));
  std::string t = text;
  REQUIRE(count_allocations([&] { r = frugal::replace_all(std::move(t), "-", ""); }) == 0);
  REQUIRE(r.view() == std::string(40, 'a') + std::string(40, 'b'));
  cow_string c{std::string(text)};
  const std::string_view a = c.view().substr(0, 1);
  REQUIRE(count_allocations([&] { r = frugal::replace_all(std::move(c), "b", a); }) == 1);
  REQUIRE(r.view() == std::string(40, 'a') + "-" + std::string(40, 'a'));
}

// Lifetimes -----------------------------------------------------------------------------------

namespace {
template <class T>
concept can_borrow = requires(T&& t) {
  cow_string::borrowed(std::forward<T>(t));
};
}  // namespace

TEST_CASE("borrowed() takes views and string lvalues, never a temporary string", "[cow_string]") {
  STATIC_REQUIRE(can_borrow<std::string_view>);
  STATIC_REQUIRE(can_borrow<const char*>);
  STATIC_REQUIRE(can_borrow<std::string&>);
  STATIC_REQUIRE(can_borrow<const std::string&>);
  STATIC_REQUIRE_FALSE(can_borrow<std::string>);
  STATIC_REQUIRE_FALSE(can_borrow<const std::string>);
  STATIC_REQUIRE(std::is_constructible_v<cow_string, std::string&&>);
  STATIC_REQUIRE(std::is_constructible_v<cow_string, const std::string&>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<cow_string, const std::string&&>);
  const std::string source = long_string();
  const cow_string b = cow_string::borrowed(source);
  REQUIRE(b.is_borrowed());
  REQUIRE(b.data() == source.data());
}

TEST_CASE("slice functions take a cow lvalue as a string and view its text", "[cow_string]") {
  for (const bool owned : {false, true}) {
    const std::string source = "  key = value  ";
    const cow_string c = owned ? cow_string(std::string(source)) : cow_string(source);
    STATIC_REQUIRE(std::is_same_v<decltype(frugal::trim(c)), std::string_view>);
    STATIC_REQUIRE(std::is_same_v<decltype(frugal::first_n(c, 1)), std::string_view>);
    REQUIRE(frugal::trim(c) == "key = value");
    REQUIRE(frugal::trim(c).data() == c.data() + 2);
    REQUIRE(frugal::trim_start(c) == "key = value  ");
    REQUIRE(frugal::trim_end(c) == "  key = value");
    const auto kv = frugal::split_once(c, " = ");
    REQUIRE(kv.has_value());
    REQUIRE(kv->first == "  key");
    REQUIRE(kv->second == "value  ");
    REQUIRE(kv->second.data() == c.data() + 8);
    REQUIRE(frugal::split_once(c, '=')->first == "  key ");
    REQUIRE_FALSE(frugal::split_once(c, '#').has_value());
    REQUIRE(frugal::first_n(c, 5) == "  key");
    REQUIRE(frugal::strip_prefix(c, "  key") == std::optional<std::string_view>(" = value  "));
    REQUIRE(count_allocations([&] { (void)frugal::trim(c); }) == 0);
  }
}

// Allocators ------------------------------------------------------------------------------------

namespace {

// A stateful allocator that counts its allocations; equal only to copies of itself. With
// Propagate it follows the container on copy, move and swap, without it it stays behind.
template <class T, bool Propagate>
struct tagged_allocator {
  using value_type = T;
  using propagate_on_container_copy_assignment = std::bool_constant<Propagate>;
  using propagate_on_container_move_assignment = std::bool_constant<Propagate>;
  using propagate_on_container_swap = std::bool_constant<Propagate>;
  using is_always_equal = std::false_type;
  template <class U>
  struct rebind {
    using other = tagged_allocator<U, Propagate>;
  };
  static inline std::size_t allocations = 0;

  int id = 0;
  tagged_allocator() = default;
  explicit tagged_allocator(int i) : id(i) {}
  template <class U>
  tagged_allocator(const tagged_allocator<U, Propagate>& o) : id(o.id) {}
  T* allocate(std::size_t n) {
    ++allocations;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  friend bool operator==(const tagged_allocator& a, const tagged_allocator& b) {
    return a.id == b.id;
  }
};

// A memory resource that counts what it hands out.
struct counting_resource : std::pmr::memory_resource {
  std::size_t allocations = 0;
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    ++allocations;
    return std::pmr::new_delete_resource()->allocate(bytes, align);
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

template <class Cow>
void check_with_allocator(typename Cow::allocator_type a, typename Cow::allocator_type b,
                          const std::function<std::size_t()>& allocations) {
  using S = typename Cow::string_type;
  const std::string text = "  " + std::string(50, 'k') + " v  ";
  Cow owned_a{S(text.data(), text.size(), a)};
  Cow owned_b{S("other text that is long enough for the heap, really", b)};
  REQUIRE(owned_a.is_owned());
  // Keeping its own text: no allocation, whatever the allocator.
  std::size_t before = allocations();
  owned_a = Cow::borrowed(frugal::trim(owned_a.view()));
  REQUIRE(allocations() == before);
  REQUIRE(owned_a.view() == frugal::trim(std::string_view(text)));
  REQUIRE(owned_a.is_owned());
  const Cow copy_of_a = owned_a;
  owned_b = owned_a;  // copy assignment between different allocators
  REQUIRE(owned_b.view() == copy_of_a.view());
  owned_b = Cow{S("x", b)};
  owned_b = std::move(owned_a);  // move assignment between different allocators
  REQUIRE(owned_b.view() == copy_of_a.view());
  REQUIRE(owned_b.is_owned());
  Cow borrowed_cow{std::string_view(text)};
  before = allocations();
  borrowed_cow.to_mut();
  REQUIRE(allocations() == before + 1);
  borrowed_cow.to_mut() += "!";
  REQUIRE(borrowed_cow.view() == text + "!");
  const S out = std::move(borrowed_cow).into_owned();
  REQUIRE(std::string_view(out) == text + "!");
}

}  // namespace

TEST_CASE("stateful, propagating and non-propagating allocators, and std::pmr",
          "[cow_string][allocator]") {
  using propagating =
      frugal::basic_cow_string<char, std::char_traits<char>, tagged_allocator<char, true>>;
  using staying =
      frugal::basic_cow_string<char, std::char_traits<char>, tagged_allocator<char, false>>;
  check_with_allocator<propagating>(tagged_allocator<char, true>(1),
                                    tagged_allocator<char, true>(2),
                                    [] { return tagged_allocator<char, true>::allocations; });
  check_with_allocator<staying>(tagged_allocator<char, false>(1), tagged_allocator<char, false>(2),
                                [] { return tagged_allocator<char, false>::allocations; });
  counting_resource ra;
  counting_resource rb;
  using pmr_cow =
      frugal::basic_cow_string<char, std::char_traits<char>, std::pmr::polymorphic_allocator<char>>;
  std::pmr::set_default_resource(&ra);  // to_mut's string comes from the default resource
  check_with_allocator<pmr_cow>(&ra, &rb, [&] { return ra.allocations + rb.allocations; });
  std::pmr::set_default_resource(nullptr);
}

TEST_CASE("transformations of an owned cow rvalue work in its own string", "[cow_string][alloc]") {
  const std::string text = std::string(50, 'a') + "--" + std::string(50, 'B');
  cow_string r;
  {
    cow_string c{std::string(text)};
    const char* heap = c.data();
    REQUIRE(count_allocations([&] { r = frugal::replace_all(std::move(c), "--", "+"); }) == 0);
    REQUIRE(r.view() == std::string(50, 'a') + "+" + std::string(50, 'B'));
    REQUIRE(r.is_owned());
    REQUIRE(r.data() == heap);
  }
  for (std::string_view absent : {"#"sv, "aaB"sv}) {
    cow_string c{std::string(text)};
    const char* heap = c.data();
    REQUIRE(count_allocations([&] { r = frugal::replace_all(std::move(c), absent, "+"); }) == 0);
    REQUIRE(r.is_owned());
    REQUIRE(r.data() == heap);
    REQUIRE(r.view() == text);
  }
  {
    cow_string c{std::string(text)};
    const char* heap = c.data();
    REQUIRE(count_allocations([&] { r = frugal::to_lower_ascii(std::move(c)); }) == 0);
    REQUIRE(r.view() == ref_lower(text));
    REQUIRE(r.is_owned());
    REQUIRE(r.data() == heap);
  }
  {
    cow_string c{std::string(text)};
    const char* heap = c.data();
    REQUIRE(count_allocations([&] { r = frugal::to_upper_ascii(std::move(c)); }) == 0);
    REQUIRE(r.view() == ref_upper(text));
    REQUIRE(r.data() == heap);
  }
  {
    cow_string c{std::string(text)};
    const char* heap = c.data();
    REQUIRE(count_allocations([&] { r = frugal::escape_html(std::move(c)); }) == 0);
    REQUIRE(r.is_owned());
    REQUIRE(r.data() == heap);
    REQUIRE(r.view() == text);
  }
}
