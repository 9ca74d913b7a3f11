// Compiled by clang-16 with -Werror=dangling once per CASE. Cases 1 to 5 keep a view into a
// grouping or a loader that dies at the end of the statement and must be diagnosed; case 100
// uses the same calls on objects that live on, and must compile cleanly with -Werror.
#include <frugal/batch.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

std::vector<int> ids() { return {1, 2, 1}; }
int same(int x) { return x; }

#if CASE == 1
std::size_t run() {
  std::span<const int> rows = frugal::group_by(ids(), same).find(1);
  return rows.size();
}
#elif CASE == 2
std::size_t run() {
  std::span<const int> rows = frugal::group_by(ids(), same).group(0);
  return rows.size();
}
#elif CASE == 3
std::size_t run() {
  const int& key = frugal::group_by(ids(), same).key(0);
  return static_cast<std::size_t>(key);
}
#elif CASE == 4
std::size_t run() {
  std::span<const int> keys = frugal::group_indices_by(ids(), same).keys();
  return keys.size();
}
#elif CASE == 5
std::size_t run() {
  std::span<const int> rows = frugal::group_by(ids(), same).rows();
  return rows.size();
}
#elif CASE == 100
std::size_t run() {
  const std::vector<int> v = ids();
  const auto g = frugal::group_by(v, same);
  std::span<const int> rows = g.find(1);
  const int& key = g.key(0);
  return rows.size() + g.keys().size() + g.rows().size() + static_cast<std::size_t>(key) +
         frugal::group_by(ids(), same).find(1).size();
}
#endif

int main() { return static_cast<int>(run()); }
