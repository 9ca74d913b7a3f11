// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: a bytes_mut owns its writable range alone,
// so it cannot be copied (freeze it, then clone the bytes).
#include <frugal/bytes.hpp>

#include <utility>

int main() {
  frugal::bytes_mut a(16);
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  frugal::bytes_mut b = a;
#else
  frugal::bytes_mut b = std::move(a);
#endif
  return static_cast<int>(b.capacity()) - 16;
}
