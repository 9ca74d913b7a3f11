// The one Catch2 main shared by every frugal test program. It also links the counting
// operator new, so every test can use frugal::testing::count_allocations.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/testing/allocation_counter.hpp>
