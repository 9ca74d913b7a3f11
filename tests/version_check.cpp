// Compiled by ctest with -DEXPECT_MAJOR/MINOR/PATCH from CMakeLists.txt's project(VERSION):
// the version users read in the header is the one the package says.
#include <frugal/config.hpp>

static_assert(FRUGAL_VERSION_MAJOR == EXPECT_MAJOR, "FRUGAL_VERSION_MAJOR != project(VERSION)");
static_assert(FRUGAL_VERSION_MINOR == EXPECT_MINOR, "FRUGAL_VERSION_MINOR != project(VERSION)");
static_assert(FRUGAL_VERSION_PATCH == EXPECT_PATCH, "FRUGAL_VERSION_PATCH != project(VERSION)");
static_assert(FRUGAL_VERSION ==
              EXPECT_MAJOR * 10000 + EXPECT_MINOR * 100 + EXPECT_PATCH);

int main() { return 0; }
