// Tests that need no exceptions, built with -fno-exceptions by the `noexcept` preset. With no
// argument it checks the ordinary paths; with a case name it triggers that bad input, which
// must print a message naming the problem and abort (checked by expect_abort.cmake).
#include <frugal/frugal.hpp>

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2) {
    if (std::strcmp(argv[1], "throw") == 0) {
      FRUGAL_THROW(std::out_of_range("noexcept_test: index 3 > size 2"));
    }
    std::fprintf(stderr, "noexcept_test: unknown case %s\n", argv[1]);
    return 0;
  }
  check(FRUGAL_HAS_EXCEPTIONS == 0, "built without exceptions");
  if (failures == 0) std::printf("noexcept_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
