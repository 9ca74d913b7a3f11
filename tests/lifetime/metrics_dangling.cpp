// Compiled by clang-16 with -Werror=dangling once per CASE. Cases 1 and 2 keep the bounds of a
// temporary bucket list or histogram, freed at the end of the statement, and must be
// diagnosed; case 100 keeps the objects and must compile cleanly.
#include <frugal/metrics.hpp>

#include <span>

#if CASE == 1
std::size_t run() {
  std::span<const double> b = frugal::metrics::histogram_buckets::linear(0, 1, 5).bounds();
  return b.size();
}
#elif CASE == 2
std::size_t run() {
  std::span<const double> b = frugal::metrics::histogram().bounds();
  return b.size();
}
#elif CASE == 100
std::size_t run() {
  const auto buckets = frugal::metrics::histogram_buckets::linear(0, 1, 5);
  std::span<const double> b = buckets.bounds();
  const frugal::metrics::histogram h(buckets);
  std::span<const double> hb = h.bounds();
  return b.size() + hb.size() + frugal::metrics::histogram_buckets::linear(0, 1, 5).bounds().size();
}
#else
#error "define CASE as 1, 2 or 100"
#endif

int main() { return static_cast<int>(run()) == -1; }
