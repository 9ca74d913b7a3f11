// Built as C++20 and linked with builder_mixed_std_b.cpp, built as C++23: both translation
// units instantiate the same frugal functions, which must be one definition (the same symbol,
// the same code) whatever the standard mode.
#include <frugal/builder.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

using join_fn = std::string (*)(const std::vector<std::string>&, std::string_view);

join_fn join_in_b();
const std::type_info& builder_type_in_b();
std::string numbered_in_b(const std::vector<int>& ids);
long standard_of_b();

int main() {
  const join_fn here = &frugal::str_join<const std::vector<std::string>&>;
  int failures = 0;
  if (here != join_in_b()) {
    std::puts("str_join differs between the C++20 and C++23 units");
    ++failures;
  }
  if (typeid(frugal::builder<std::string>) != builder_type_in_b()) {
    std::puts("builder<std::string> differs between the C++20 and C++23 units");
    ++failures;
  }
  const std::vector<int> ids{1, 22, 333};
  const std::string a = frugal::str_join(ids, ",", [](int i) { return i * 2; });
  if (a != "2,44,666" || numbered_in_b(ids) != "1,22,333") {
    std::puts("wrong joins");
    ++failures;
  }
  std::printf("C++ %ld and %ld units: %s\n", static_cast<long>(__cplusplus), standard_of_b(),
              failures == 0 ? "one definition" : "FAILED");
  return failures;
}
