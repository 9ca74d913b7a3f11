// Compiled by clang-16 with -Werror=dangling once per CASE. Cases 1 to 4 keep a reference into
// a guard that is destroyed at the end of the full expression, or a guard of a holder that is,
// and must be diagnosed; case 5 uses each the safe way and must compile cleanly.
#include <frugal/shared_config.hpp>

#include <string>

struct settings {
  std::string name = "checkout";
  int timeout_ms = 250;
};

frugal::shared_config<settings> config{settings{}};

int main() {
#if CASE == 1
  const settings& s = *config.read();  // the guard dies here, and with it the pin
  return s.timeout_ms;
#elif CASE == 2
  const settings& s = config.read().get();
  return s.timeout_ms;
#elif CASE == 3
  const settings* s = config.read().operator->();
  return s->timeout_ms;
#elif CASE == 4
  auto g = frugal::shared_config<settings>(settings{}).read();  // a guard of a dead holder
  return g->timeout_ms;
#elif CASE == 5
  const auto g = config.read();
  const settings& s = *g;
  const int by_value = config.read()->timeout_ms;
  return s.timeout_ms + g.get().timeout_ms + by_value - 3 * 250;
#else
#error "define CASE as 1 to 5"
#endif
}
