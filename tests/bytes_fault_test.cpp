// bytes under allocation failure: a bytes_chain whose push_back cannot grow is left as it was.
// Its own operator new (tests/failing_new.hpp), so its own main.
#define CATCH_CONFIG_MAIN
#include <frugal/bytes.hpp>

#include <catch2/catch.hpp>

#include "failing_new.hpp"

#include <cstddef>
#include <new>
#include <string>
#include <string_view>

TEST_CASE("a bytes_chain push_back that fails leaves the chain as it was", "[bytes]") {
  using frugal::bytes;
  for (long k = 0; k < 4; ++k) {
    frugal::bytes_chain chain;
    for (int i = 0; i < 4; ++i) chain.push_back(bytes::from_static(std::string_view("abcd")));
    chain.advance(2);  // partly sent
    REQUIRE(chain.size() == 14);
    bool threw = false;
    countdown = k;  // the growth past four pieces is the allocation that fails (k = 0)
    try {
      chain.push_back(bytes::from_static(std::string_view("efgh")));
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    countdown = -1;
    std::size_t in_pieces = 0;
    for (const bytes& p : chain.pieces()) in_pieces += p.size();
    CHECK(in_pieces == chain.size());
    CHECK(chain.size() == (threw ? 14u : 18u));
    CHECK(std::string(chain.concat().as_string_view()) ==
          (threw ? "cdabcdabcdabcd" : "cdabcdabcdabcdefgh"));
    chain.advance(chain.size());  // every byte, as a sender would
    CHECK(chain.empty());
    CHECK(chain.pieces().empty());
    if (!threw) break;
  }
}
