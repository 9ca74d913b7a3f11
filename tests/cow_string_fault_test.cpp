// cow_string under allocation failure. This program replaces operator new with one that can
// be told to fail the k-th allocation; every operation that allocates is run with k = 0, 1,
// 2, ... until it completes, and each failure must leave the objects it was given as they
// were (the strong guarantee) and leak nothing (LeakSanitizer checks at exit).
#define CATCH_CONFIG_MAIN
#include <frugal/cow_string.hpp>

#include <catch2/catch.hpp>

#include "failing_new.hpp"

#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>

using frugal::cow_string;

namespace {

const std::string long_text = "  Tom & Jerry's <" + std::string(60, 'X') + "> show  ";

// Runs `op` failing its k-th allocation for every k until it completes. `op` receives whether
// it is being run to completion; `check(threw)` checks the state afterwards. Returns the
// number of allocations the operation made.
long for_each_failure(const std::function<void()>& setup, const std::function<void()>& op,
                      const std::function<void(bool)>& check) {
  for (long k = 0;; ++k) {
    setup();
    bool threw = false;
    countdown = k;
    try {
      op();
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    countdown = -1;
    check(threw);
    if (!threw) return k;
  }
}

}  // namespace

TEST_CASE("to_mut and into_owned keep a borrowed cow when the copy fails", "[cow_string]") {
  cow_string c;
  std::string out;
  const long to_mut = for_each_failure([&] { c = cow_string(long_text); }, [&] { c.to_mut(); },
                                       [&](bool threw) {
                                         REQUIRE(c.is_borrowed() == threw);
                                         REQUIRE(c.view() == long_text);
                                       });
  REQUIRE(to_mut == 1);
  const long into =
      for_each_failure([&] { c = cow_string(long_text); }, [&] { out = std::move(c).into_owned(); },
                       [&](bool threw) {
                         if (threw) {
                           REQUIRE(c.is_borrowed());
                           REQUIRE(c.data() == long_text.data());
                         } else {
                           REQUIRE(out == long_text);
                         }
                       });
  REQUIRE(into == 1);
}

TEST_CASE("copies of an owned cow are all or nothing", "[cow_string]") {
  cow_string source;
  cow_string target;
  for_each_failure([&] { source = cow_string(std::string(long_text)); },
                   [&] {
                     cow_string copy(source);
                     target = copy;
                   },
                   [&](bool threw) {
                     REQUIRE(source.view() == long_text);
                     if (!threw) REQUIRE(target.view() == long_text);
                   });
  for_each_failure(
      [&] {
        source = cow_string(std::string(long_text));
        target = cow_string(std::string("short"));
      },
      [&] { target = source; },
      [&](bool threw) {
        REQUIRE(source.view() == long_text);
        REQUIRE(target.view() == (threw ? std::string_view("short") : std::string_view(long_text)));
        REQUIRE(target.is_owned());
      });
  // Keeping its own text never allocates, so it never fails.
  const long own = for_each_failure([&] { target = cow_string(std::string(long_text)); },
                                    [&] { target = frugal::trim(target.view()); },
                                    [&](bool threw) { REQUIRE_FALSE(threw); });
  REQUIRE(own == 0);
  REQUIRE(target.view() == frugal::trim(std::string_view(long_text)));
}

TEST_CASE("transformations fail cleanly and leave rvalue inputs unchanged", "[cow_string]") {
  cow_string result;
  const auto check_result = [&](const std::string& expected) {
    return [&result, expected](bool threw) {
      if (!threw) REQUIRE(result.view() == expected);
    };
  };
  auto lower = long_text;
  for (char& ch : lower) ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
  REQUIRE(for_each_failure([] {}, [&] { result = frugal::to_lower_ascii(long_text); },
                           check_result(lower)) == 1);
  std::string escaped;
  for (char ch : long_text) {
    escaped += ch == '&'    ? "&amp;"
               : ch == '<'  ? "&lt;"
               : ch == '>'  ? "&gt;"
               : ch == '\'' ? "&#39;"
                            : std::string(1, ch);
  }
  REQUIRE(for_each_failure([] {}, [&] { result = frugal::escape_html(long_text); },
                           check_result(escaped)) == 1);
  std::string s;
  REQUIRE(for_each_failure([&] { s = long_text; },
                           [&] { result = frugal::escape_html(std::move(s)); },
                           [&](bool threw) {
                             if (threw) REQUIRE(s == long_text);
                             if (!threw) REQUIRE(result.view() == escaped);
                           }) == 1);
  std::string replaced = long_text;
  for (std::size_t at = 0; (at = replaced.find("X", at)) != std::string::npos; at += 2)
    replaced.replace(at, 1, "YY");
  REQUIRE(for_each_failure([] {}, [&] { result = frugal::replace_all(long_text, "X", "YY"); },
                           check_result(replaced)) == 1);
  REQUIRE(for_each_failure([&] { s = long_text; },
                           [&] { result = frugal::replace_all(std::move(s), "X", "YY"); },
                           [&](bool threw) {
                             if (threw) REQUIRE(s == long_text);
                             if (!threw) REQUIRE(result.view() == replaced);
                           }) == 1);
  // A pattern viewing the string: the result is built beside it, in one allocation.
  std::string shrunk = long_text;
  shrunk.erase(shrunk.find('&'), 1);
  REQUIRE(
      for_each_failure(
          [&] { s = long_text; },
          [&] { result = frugal::replace_all(std::move(s), std::string_view(s).substr(6, 1), ""); },
          [&](bool threw) {
            if (threw) REQUIRE(s == long_text);
            if (!threw) REQUIRE(result.view() == shrunk);
          }) == 1);
  cow_string c;
  REQUIRE(for_each_failure(
              [&] { c = cow_string(std::string(long_text)); },
              [&] { result = frugal::replace_all(std::move(c), c.view().substr(6, 1), ""); },
              [&](bool threw) {
                if (threw) {
                  REQUIRE(c.is_owned());
                  REQUIRE(c.view() == long_text);
                } else {
                  REQUIRE(result.view() == shrunk);
                }
              }) == 1);
  REQUIRE(for_each_failure([&] { c = cow_string(long_text); },
                           [&] { result = frugal::to_upper_ascii(std::move(c)); },
                           [&](bool threw) {
                             if (threw) REQUIRE(c.data() == long_text.data());
                           }) == 1);
}

TEST_CASE("append keeps the cow as it was when its allocation fails", "[cow_string]") {
  cow_string c;
  const std::string tail(40, 't');
  // Borrowed: the one allocation holds both texts; on failure the cow still borrows.
  REQUIRE(for_each_failure([&] { c = cow_string(long_text); }, [&] { c += tail; },
                           [&](bool threw) {
                             REQUIRE(c.is_borrowed() == threw);
                             REQUIRE(c.view() == (threw ? long_text : long_text + tail));
                           }) == 1);
  REQUIRE(for_each_failure([&] { c = cow_string(long_text); }, [&] { c.append(50, '!'); },
                           [&](bool threw) {
                             REQUIRE(c.is_borrowed() == threw);
                             if (threw) REQUIRE(c.data() == long_text.data());
                           }) == 1);
  // Owned and full, appending its own text: the text survives a failed growth.
  REQUIRE(for_each_failure(
              [&] {
                c = cow_string(std::string(long_text));
                c.to_mut().shrink_to_fit();
              },
              [&] { c += c.view(); },
              [&](bool threw) {
                REQUIRE(c.is_owned());
                REQUIRE(c.view() == (threw ? long_text : long_text + long_text));
              }) == 1);
  // c_str of a borrowed view: the copy either happens whole or not at all.
  const std::string_view part = std::string_view(long_text).substr(0, 50);
  // (A fresh cow each time: one that was owned keeps its string's capacity and copies into it.)
  REQUIRE(for_each_failure(
              [&] {
                std::destroy_at(&c);
                std::construct_at(&c, part);
              },
              [&] { (void)c.c_str(); },
              [&](bool threw) {
                REQUIRE(c.is_borrowed() == threw);
                REQUIRE(c.view() == part);
              }) == 1);
}

TEST_CASE("escape_json, percent_decode and percent_encode fail cleanly", "[cow_string]") {
  cow_string result;
  const std::string json_input = long_text + "\"\n";
  REQUIRE(for_each_failure([] {}, [&] { result = frugal::escape_json(json_input); },
                           [&](bool threw) {
                             if (!threw) REQUIRE(result.view().ends_with("\\\"\\u000a"));
                           }) == 1);
  std::string s;
  REQUIRE(for_each_failure([&] { s = json_input; },
                           [&] { result = frugal::escape_json(std::move(s)); },
                           [&](bool threw) {
                             if (threw) REQUIRE(s == json_input);
                           }) == 1);
  // An owned cow rvalue, escaped (a new buffer) by both escapes: unchanged when that fails.
  cow_string c;
  REQUIRE(for_each_failure([&] { c = cow_string(std::string(json_input)); },
                           [&] { result = frugal::escape_json(std::move(c)); },
                           [&](bool threw) {
                             if (threw) {
                               REQUIRE(c.is_owned());
                               REQUIRE(c.view() == json_input);
                             } else {
                               REQUIRE(result.view().ends_with("\\\"\\u000a"));
                             }
                           }) == 1);
  REQUIRE(for_each_failure([&] { c = cow_string(std::string(json_input)); },
                           [&] { result = frugal::escape_html(std::move(c)); },
                           [&](bool threw) {
                             if (threw) {
                               REQUIRE(c.is_owned());
                               REQUIRE(c.view() == json_input);
                             } else {
                               REQUIRE(result.view().find("&amp;") != std::string_view::npos);
                             }
                           }) == 1);
  // Nothing to escape: the owned text itself comes back, no allocation.
  const char* text = nullptr;
  const auto same_text = [&](bool) { REQUIRE(result.data() == text); };
  const auto own_plain = [&] {
    c = cow_string(std::string(200, 'z'));
    text = c.data();
  };
  REQUIRE(for_each_failure(own_plain, [&] { result = frugal::escape_html(std::move(c)); },
                           same_text) == 0);
  REQUIRE(for_each_failure(own_plain, [&] { result = frugal::escape_json(std::move(c)); },
                           same_text) == 0);
  REQUIRE(for_each_failure([] {}, [&] { result = frugal::percent_encode(long_text); },
                           [&](bool threw) {
                             if (!threw) REQUIRE(result.view().starts_with("%20%20Tom%20%26"));
                           }) == 1);
  const std::string encoded = std::string(40, 'a') + "%20%41";
  REQUIRE(for_each_failure([] {}, [&] { result = frugal::percent_decode(encoded); },
                           [&](bool threw) {
                             if (!threw) REQUIRE(result.view() == std::string(40, 'a') + " A");
                           }) == 1);
}
