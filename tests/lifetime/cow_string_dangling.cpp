// Compiled by clang-16 with -Werror=dangling once per CASE: cases 1 and 2 keep a view of a
// temporary cow_string and must be diagnosed; case 3 passes the temporary to a function
// taking a std::string_view, which is safe, and must compile cleanly.
#include <frugal/cow_string.hpp>

#include <string>
#include <string_view>

frugal::cow_string make_cow() { return frugal::cow_string(std::string(40, 'x')); }

std::size_t use(std::string_view v) { return v.size(); }

int main() {
#if CASE == 1
  std::string_view v = make_cow();
  return static_cast<int>(v.size());
#elif CASE == 2
  auto v = make_cow().view();
  return static_cast<int>(v.size());
#elif CASE == 3
  return static_cast<int>(use(make_cow())) - 40;
#else
#error "define CASE as 1, 2 or 3"
#endif
}
