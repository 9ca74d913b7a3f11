#include <frugal/detail/config.hpp>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

namespace {
int checked_half(int x) {
  if (x % 2 != 0)
    FRUGAL_THROW(std::invalid_argument("checked_half: " + std::to_string(x) + " is odd"));
  return x / 2;
}
}  // namespace

TEST_CASE("FRUGAL_THROW throws the given exception", "[config]") {
  REQUIRE(checked_half(4) == 2);
  REQUIRE_THROWS_WITH(checked_half(3), "checked_half: 3 is odd");
  REQUIRE_THROWS_AS(checked_half(3), std::invalid_argument);
}

TEST_CASE("FRUGAL_ASSERT passes a true condition", "[config]") {
  int evaluated = 0;
  FRUGAL_ASSERT(++evaluated == 1);
#if FRUGAL_ASSERTIONS_ENABLED
  REQUIRE(evaluated == 1);
#else
  REQUIRE(evaluated == 0);
#endif
}

TEST_CASE("the version is in the inline namespace", "[config]") {
  REQUIRE(FRUGAL_VERSION_MAJOR == 0);
  REQUIRE(FRUGAL_VERSION_MINOR == 1);
}
