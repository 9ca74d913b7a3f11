// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: trimming a temporary std::string would
// return a view of freed characters.
#include <frugal/slice.hpp>

#include <string>

int main() {
  std::string kept = "  text  ";
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  auto view = frugal::trim(std::string("  text  "));
#else
  auto view = frugal::trim(kept);
#endif
  return static_cast<int>(view.size()) - 4;
}
