// A user's program: includes the umbrella header and uses each module once.
#include <frugal/frugal.hpp>

#include <cstdio>

int main() {
  std::printf("frugal %d.%d.%d\n", FRUGAL_VERSION_MAJOR, FRUGAL_VERSION_MINOR,
              FRUGAL_VERSION_PATCH);
  return 0;
}
