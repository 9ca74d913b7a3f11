// Compiled by clang-16 with -Werror=dangling once per CASE: cases 1, 2, 4 and 5 keep the view
// of a temporary builder, or the builder an append returns, and must be diagnosed; case 3
// passes it to a function, which is safe, and must compile cleanly.
#include <frugal/builder.hpp>

#include <string>
#include <vector>

std::size_t use(const std::string& s) { return s.size(); }

int main() {
#if CASE == 1
  const std::string& v = frugal::builder<std::string>(8).view();
  return static_cast<int>(v.size());
#elif CASE == 2
  const std::vector<int>& v = frugal::builder<std::vector<int> >(8).view();
  return static_cast<int>(v.size());
#elif CASE == 3
  return static_cast<int>(use(frugal::builder<std::string>(8).append("ab").view())) - 2;
#elif CASE == 4
  const std::string& v = frugal::builder<std::string>(8).append("ab").view();
  return static_cast<int>(v.size());
#elif CASE == 5
  auto& b = frugal::builder<std::vector<int> >(8).append_range(std::vector<int>{1}).emplace_back(2);
  return static_cast<int>(b.size());
#else
#error "define CASE as 1 to 5"
#endif
}
