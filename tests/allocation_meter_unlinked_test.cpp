// A program that includes the allocation meter without defining FRUGAL_DEFINE_ALLOCATION_METER
// anywhere: the meter is unavailable, reports zeros and never throws; the testing counter
// refuses to count.
#define CATCH_CONFIG_MAIN
#include <frugal/allocation_meter.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "keep_allocation.hpp"

using frugal_test::escape;

TEST_CASE("without the hook the meter is unavailable and reports zeros",
          "[allocation_meter_unlinked]") {
  REQUIRE_FALSE(frugal::allocation_meter_available());
  REQUIRE_FALSE(frugal::testing::allocation_counting_available());
  REQUIRE(frugal::thread_allocation_totals() == frugal::allocation_totals{});
  frugal::allocation_meter_scope meter;
  std::string s(100, 'x');
  delete escape(new int(1));
  escape(s.data());
  REQUIRE(meter.totals() == frugal::allocation_totals{});
  meter.stop();
  REQUIRE(meter.totals() == frugal::allocation_totals{});
  REQUIRE(frugal::thread_allocation_totals() == frugal::allocation_totals{});
}

TEST_CASE("without the hook record_allocations adds zeros", "[allocation_meter_unlinked]") {
  struct plain_counter {
    std::uint64_t value = 0;
    void inc(std::uint64_t n) { value += n; }
  };
  plain_counter allocations;
  plain_counter bytes;
  frugal::allocation_meter_scope meter;
  delete escape(new int(2));
  frugal::record_allocations(meter.totals(), allocations, bytes);
  REQUIRE(allocations.value == 0);
  REQUIRE(bytes.value == 0);
}

TEST_CASE("without the hook the testing scope still refuses to count",
          "[allocation_meter_unlinked]") {
  REQUIRE_THROWS_AS(frugal::testing::allocation_scope(), std::logic_error);
}
