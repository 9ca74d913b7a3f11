// The program defines the hook; a -fvisibility=hidden shared library built in another mode
// (NDEBUG or FRUGAL_HARDENED) measures through it. Exit code 0 when it sees exactly one
// allocation of an int and one deallocation.
#define FRUGAL_DEFINE_ALLOCATION_METER
#include <frugal/allocation_meter.hpp>

#include <cstdio>

frugal::allocation_totals library_measure(bool& available);

int main() {
  bool available = false;
  const frugal::allocation_totals t = library_measure(available);
  std::printf("available in the library: %s; allocations %llu, bytes %llu, deallocations %llu\n",
              available ? "yes" : "no", static_cast<unsigned long long>(t.allocations),
              static_cast<unsigned long long>(t.bytes),
              static_cast<unsigned long long>(t.deallocations));
  return available && t == frugal::allocation_totals{1, sizeof(int), 1} ? 0 : 1;
}
