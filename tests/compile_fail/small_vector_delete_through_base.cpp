// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: small_vector_base has a protected
// destructor, so a small_vector cannot be destroyed through a pointer to its base.
#include <frugal/small_vector.hpp>

int main() {
  frugal::small_vector_base<int>* base = new frugal::small_vector<int, 4>();
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  delete base;
#else
  delete static_cast<frugal::small_vector<int, 4>*>(base);
#endif
  return 0;
}
