// A shared library built with -fvisibility=hidden and another build mode than the program: it
// measures with the program's hook.
#include <frugal/allocation_meter.hpp>

#include <cstdint>

// Returns what a scope in this library saw of one new/delete pair, and whether the hook is
// available as seen from here.
__attribute__((visibility("default"))) frugal::allocation_totals library_measure(bool& available) {
  available = frugal::allocation_meter_available();
  frugal::allocation_meter_scope meter;
  int* volatile p = new int(1);
  delete p;
  meter.stop();
  return meter.totals();
}
