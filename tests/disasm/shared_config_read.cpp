// Compiled to assembly with -O2 by ctest (check_no_lock.cmake): the function below, a read of
// one field through shared_config::read(), must contain no lock-prefixed instruction. The
// refresh path is a call to an out-of-line function, which the check also requires.
#include <frugal/shared_config.hpp>

struct settings {
  int timeout_ms = 250;
  int retries = 3;
};

extern "C" int frugal_read_timeout(const frugal::shared_config<settings>& config) {
  return config.read()->timeout_ms;
}
