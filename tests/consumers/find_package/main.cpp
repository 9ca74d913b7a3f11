// A user's program: includes the umbrella header and uses each module once.
#include <frugal/frugal.hpp>

#include <cstdio>
#include <string_view>

int main() {
  frugal::small_vector<int, 4> ids{3, 1, 4, 1, 5};
  const auto head = frugal::first_n(ids, 2);
  const auto word = frugal::trim(std::string_view("  frugal  "));
  std::printf("frugal %d.%d.%d: %zu ids, first two sum to %d, '%.*s'\n", FRUGAL_VERSION_MAJOR,
              FRUGAL_VERSION_MINOR, FRUGAL_VERSION_PATCH, ids.size(), head[0] + head[1],
              static_cast<int>(word.size()), word.data());
  return ids.size() == 5 && head.size() == 2 ? 0 : 1;
}
