// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: freeze() consumes the buffer, so it is
// called on an rvalue (std::move(buffer).freeze()), never on a buffer still in use.
#include <frugal/bytes.hpp>

#include <utility>

int main() {
  frugal::bytes_mut a(16);
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  frugal::bytes b = a.freeze();
#else
  frugal::bytes b = std::move(a).freeze();
#endif
  return static_cast<int>(b.size());
}
