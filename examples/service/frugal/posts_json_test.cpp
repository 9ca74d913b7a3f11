// The frugal twin's POST /posts reader against the contract's rules (examples/service/README.md,
// "Details both twins follow"): what it accepts, what it decodes, what it refuses, and that a
// batch costs one allocation for all its texts.
#include "posts_json.hpp"

#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using service::posts_request;

namespace {

bool accepts(std::string_view json, std::size_t max_items = 100) {
  posts_request r;
  return r.parse(json, max_items);
}

}  // namespace

TEST_CASE("reads a batch in order, any key order, whitespace between tokens", "[service]") {
  posts_request r;
  REQUIRE(
      r.parse(" \r\n[ {\"user_id\" : 12 ,\"title\":\"a\",\"body\":\"b\"},\t"
              "{\"body\":\"\",\"title\":\"T\",\"user_id\":9223372036854775807} ]\n",
              100));
  REQUIRE(r.items().size() == 2);
  CHECK(r.items()[0].user_id == 12);
  CHECK(std::string_view(r.items()[0].user_id_text) == "12");
  CHECK(std::string_view(r.items()[0].title) == "a");
  CHECK(std::string_view(r.items()[0].body) == "b");
  CHECK(r.items()[1].user_id == 9223372036854775807);
  CHECK(std::string_view(r.items()[1].user_id_text) == "9223372036854775807");
  CHECK(std::string_view(r.items()[1].title) == "T");
  CHECK(std::string_view(r.items()[1].body).empty());
}

TEST_CASE("decodes every escape; \\u escapes and pairs become UTF-8", "[service]") {
  posts_request r;
  REQUIRE(r.parse(
      R"([{"user_id":1,"title":"\"\\\/\b\f\n\r\t","body":"\u00e9\u20ac\ud83d\ude00x"}])", 100));
  CHECK(std::string_view(r.items()[0].title) == "\"\\/\b\f\n\r\t");
  CHECK(std::string_view(r.items()[0].body) == "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80x");
  // Keys may be escaped too.
  REQUIRE(r.parse(R"([{"user\u005fid":2,"t\u0069tle":"","body":"\u00C9"}])", 100));
  CHECK(r.items()[0].user_id == 2);
  CHECK(std::string_view(r.items()[0].body) == "\xC3\x89");
  // Raw UTF-8 is copied as it is.
  REQUIRE(
      r.parse("[{\"user_id\":3,\"title\":\"Zo\xC3\xAB \xF0\x9F\x98\x80\",\"body\":\"\"}]", 100));
  CHECK(std::string_view(r.items()[0].title) == "Zo\xC3\xAB \xF0\x9F\x98\x80");
}

TEST_CASE("takes up to max_items items, no more", "[service]") {
  std::string two =
      R"([{"user_id":1,"title":"a","body":"b"},{"user_id":2,"title":"a","body":"b"}])";
  CHECK(accepts(two, 2));
  CHECK_FALSE(accepts(two, 1));
}

TEST_CASE("refuses everything else the contract lists", "[service]") {
  const char* const bad[] = {
      "",
      "   ",
      "{}",
      "[]",
      "[ ]",
      "null",
      R"({"user_id":1,"title":"a","body":"b"})",
      R"([{}])",
      R"([{"user_id":1,"title":"a"}])",
      R"([{"user_id":1,"body":"b"}])",
      R"([{"title":"a","body":"b"}])",
      R"([{"user_id":1,"user_id":2,"title":"a","body":"b"}])",
      R"([{"user_id":1,"title":"a","title":"a","body":"b"}])",
      R"([{"user_id":1,"title":"a","body":"b","extra":1}])",
      R"([{"user_id":1,"title":"a","body":"b","user_idx":1}])",
      R"([{"user_id":1,"title":"a","body":"b"},])",
      R"([{"user_id":1,"title":"a","body":"b"}] x)",
      R"([{"user_id":1,"title":"a","body":"b"}]])",
      R"([{"user_id":1,"title":"a","body":"b",}])",
      R"([{"user_id":1,"title":"a","body":"b"})",
      R"([[{"user_id":1,"title":"a","body":"b"}]])",
      R"([{"user_id":0,"title":"a","body":"b"}])",
      R"([{"user_id":01,"title":"a","body":"b"}])",
      R"([{"user_id":-1,"title":"a","body":"b"}])",
      R"([{"user_id":+1,"title":"a","body":"b"}])",
      R"([{"user_id":1.0,"title":"a","body":"b"}])",
      R"([{"user_id":1e3,"title":"a","body":"b"}])",
      R"([{"user_id":1E3,"title":"a","body":"b"}])",
      R"([{"user_id":9223372036854775808,"title":"a","body":"b"}])",
      R"([{"user_id":99999999999999999999,"title":"a","body":"b"}])",
      R"([{"user_id":"1","title":"a","body":"b"}])",
      R"([{"user_id":null,"title":"a","body":"b"}])",
      R"([{"user_id":1,"title":1,"body":"b"}])",
      R"([{"user_id":1,"title":"a","body":null}])",
      R"([{"user_id":1,"title":["a"],"body":"b"}])",
      R"([{"user_id":1,"title":"\x","body":"b"}])",
      R"([{"user_id":1,"title":"\u00","body":"b"}])",
      R"([{"user_id":1,"title":"\u00g0","body":"b"}])",
      R"([{"user_id":1,"title":"\u0000","body":"b"}])",
      R"([{"user_id":1,"title":"\ud83d","body":"b"}])",
      R"([{"user_id":1,"title":"\ud83dx","body":"b"}])",
      R"([{"user_id":1,"title":"\ud83d\u0041","body":"b"}])",
      R"([{"user_id":1,"title":"\ude00","body":"b"}])",
      R"([{"user_id":1,"title":"a,"body":"b"}])",
      R"([{"user_id":1,"title":"a)",
      "[{\"user_id\":1,\"title\":\"a\tb\",\"body\":\"b\"}]",
      "[{\"user_id\":1,\"title\":\"a\nb\",\"body\":\"b\"}]",
      "[{\"user_id\":1,\"title\":\"\xC0\x80\",\"body\":\"b\"}]",          // overlong
      "[{\"user_id\":1,\"title\":\"\xED\xA0\x80\",\"body\":\"b\"}]",      // a surrogate
      "[{\"user_id\":1,\"title\":\"\xF4\x90\x80\x80\",\"body\":\"b\"}]",  // past U+10FFFF
      "[{\"user_id\":1,\"title\":\"\xF5\",\"body\":\"b\"}]",
      "[{\"user_id\":1,\"title\":\"\xC3\",\"body\":\"b\"}]",  // cut short by the quote
      "[{\"user_id\":1,\"title\":\"\x80\",\"body\":\"b\"}]",
      "\xEF\xBB\xBF[{\"user_id\":1,\"title\":\"a\",\"body\":\"b\"}]",  // a byte-order mark
  };
  for (const char* json : bad) {
    INFO(json);
    CHECK_FALSE(accepts(json));
  }
  // A NUL byte inside the body text is a raw control byte.
  std::string with_nul = R"([{"user_id":1,"title":"a)";
  with_nul += '\0';
  with_nul += R"(","body":"b"}])";
  CHECK_FALSE(accepts(with_nul));
}

TEST_CASE("one allocation holds every text of a batch of up to 16 items", "[service]") {
  std::string json = "[";
  for (int i = 1; i <= 16; ++i) {
    if (i > 1) json += ',';
    json += R"({"user_id":)" + std::to_string(i) +
            R"(,"title":"a title long enough to need the heap","body":"\u00e9\n and a body"})";
  }
  json += ']';
  posts_request r;
  bool ok = false;
  const auto n = frugal::testing::count_allocations([&] { ok = r.parse(json, 100); });
  REQUIRE(ok);
  CHECK(n == 1);
  REQUIRE(r.items().size() == 16);
  CHECK(std::string_view(r.items()[15].body) == "\xC3\xA9\n and a body");
}
