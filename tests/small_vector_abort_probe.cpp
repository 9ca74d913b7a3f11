// Triggers one precondition failure of small_vector's or static_vector's newer calls, named by
// argv[1], so that a test can check the process aborts with a clear message. Built with
// FRUGAL_HARDENED, so assertions are on whatever the build type.
#include <frugal/small_vector.hpp>
#include <frugal/static_vector.hpp>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: small_vector_abort_probe <case>\n");
    return 2;
  }
  const char* which = argv[1];
  frugal::small_vector<int, 2> empty_small;
  frugal::static_vector<int, 2> full{1, 2};
  frugal::static_vector<int, 2> empty_static;
  if (std::strcmp(which, "small_vector_pop_back_val_empty") == 0) {
    return empty_small.pop_back_val();
  }
  if (std::strcmp(which, "static_vector_unchecked_push_back_full") == 0) {
    full.unchecked_push_back(3);
  }
  if (std::strcmp(which, "static_vector_index") == 0) {
    volatile std::size_t i = 2;
    return full[i];
  }
  if (std::strcmp(which, "static_vector_pop_back_empty") == 0) empty_static.pop_back();
  if (std::strcmp(which, "static_vector_pop_back_val_empty") == 0) {
    return empty_static.pop_back_val();
  }
  if (std::strcmp(which, "static_vector_erase_end") == 0) full.erase(full.end());
  std::fprintf(stderr, "small_vector_abort_probe: unknown case or no abort: %s\n", which);
  return 0;
}
