// A program whose one translation unit defines both FRUGAL_DEFINE_ALLOCATION_METER and
// FRUGAL_DEFINE_ALLOCATION_COUNTER, after the meter's header was already included without
// them: the operators are defined once, and both APIs count through them.
#define CATCH_CONFIG_MAIN
#include <frugal/allocation_meter.hpp>

#include <catch2/catch.hpp>

#define FRUGAL_DEFINE_ALLOCATION_METER
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/allocation_meter.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include "keep_allocation.hpp"

using frugal_test::escape;

#if !defined(FRUGAL_ALLOCATION_HOOK_DEFINED)
#error "the operators were not emitted"
#endif

TEST_CASE("both macros in one translation unit: one hook, both APIs count",
          "[allocation_meter_both]") {
  REQUIRE(frugal::allocation_meter_available());
  REQUIRE(frugal::testing::allocation_counting_available());
  frugal::allocation_meter_scope meter;
  frugal::testing::allocation_scope counter;
  delete escape(new int(1));
  delete[] escape(new char[48]);
  meter.stop();
  counter.stop();
  REQUIRE(meter.totals() == frugal::allocation_totals{2, sizeof(int) + 48, 2});
  REQUIRE(counter.stats() == frugal::testing::allocation_stats{2, sizeof(int) + 48, 2});
}
