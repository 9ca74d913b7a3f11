// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: a small_vector_base cannot be copied by
// value, which would slice the inline buffer off.
#include <frugal/small_vector.hpp>

int main() {
  frugal::small_vector<int, 4> v{1, 2, 3};
  frugal::small_vector_base<int>& ref = v;
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  auto copy = ref;
  return static_cast<int>(copy.size());
#else
  return static_cast<int>(ref.size()) - 3;
#endif
}
