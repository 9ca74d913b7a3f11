// Must not compile with FRUGAL_EXPECT_COMPILE_ERROR: a temporary cow_string may own its text,
// so trimming it would return a view of freed characters. A cow lvalue is fine.
#include <frugal/cow_string.hpp>
#include <frugal/slice.hpp>

#include <string>

frugal::cow_string make_cow() { return frugal::cow_string(std::string("  text  ")); }

int main() {
  const frugal::cow_string kept = make_cow();
#ifdef FRUGAL_EXPECT_COMPILE_ERROR
  auto view = frugal::trim(make_cow());
#else
  auto view = frugal::trim(kept);
#endif
  return static_cast<int>(view.size()) - 4;
}
