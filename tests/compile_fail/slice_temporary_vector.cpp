// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: the view would point into a temporary
// vector destroyed at the end of the statement.
#include <frugal/slice.hpp>

#include <vector>

int main() {
  std::vector<int> kept{1, 2, 3};
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  auto view = frugal::first_n(std::vector<int>{1, 2, 3}, 2);
#else
  auto view = frugal::first_n(kept, 2);
#endif
  return static_cast<int>(view.size()) - 2;
}
