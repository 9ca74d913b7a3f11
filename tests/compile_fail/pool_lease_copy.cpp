// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: a lease is its object's only user, so it
// cannot be copied (move it to hand the object on).
#include <frugal/pool.hpp>

#include <utility>

int main() {
  frugal::pool<int> p([] { return 7; });
  auto a = p.acquire();
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  auto b = a;
#else
  auto b = std::move(a);
#endif
  return *b - 7;
}
