// Triggers one frugal precondition failure, named by argv[1], so that a test can check the
// process aborts with a clear message. Built with FRUGAL_HARDENED, so assertions are on.
#include <frugal/frugal.hpp>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <thread>

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
  frugal::small_vector<int, 4> v{1, 2, 3};
  frugal::small_vector<int, 4> empty;
  volatile std::size_t index = 3;
  if (std::strcmp(which, "small_vector_index") == 0) return v[index];
  if (std::strcmp(which, "small_vector_back_empty") == 0) return empty.back();
  if (std::strcmp(which, "small_vector_pop_back_empty") == 0) empty.pop_back();
  if (std::strcmp(which, "small_vector_erase_end") == 0) v.erase(v.end());
  if (std::strcmp(which, "shared_config_guard_other_thread") == 0) {
    frugal::shared_config<int> config(7);
    auto guard = config.read();
    std::thread other([g = std::move(guard)] { (void)*g; });  // destroyed on the wrong thread
    other.join();
  }
  std::fprintf(stderr, "abort_probe: unknown case or no abort: %s\n", which);
  return 0;
}
