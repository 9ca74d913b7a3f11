// Triggers one frugal precondition failure, named by argv[1], so that a test can check the
// process aborts with a clear message. Built with FRUGAL_HARDENED, so assertions are on.
#include <frugal/frugal.hpp>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: abort_probe <case>\n");
    return 2;
  }
  const char* which = argv[1];
  if (std::strcmp(which, "assert") == 0) {
    volatile int zero = 0;
    FRUGAL_ASSERT(zero == 1);
  }
  std::fprintf(stderr, "abort_probe: unknown case or no abort: %s\n", which);
  return 0;
}
