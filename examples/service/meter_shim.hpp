// The allocation meter both twins use: frugal/allocation_meter.hpp where this tree has it,
// otherwise a stand-in with the same names that counts nothing (allocation_meter_available()
// answers false, so the exported allocation counters stay at zero).
#pragma once

#if __has_include(<frugal/allocation_meter.hpp>)
#include <frugal/allocation_meter.hpp>
#else
#include <cstdint>

namespace frugal {

struct allocation_totals {
  std::uint64_t allocations = 0, bytes = 0, deallocations = 0;
};

inline bool allocation_meter_available() noexcept { return false; }
inline allocation_totals thread_allocation_totals() noexcept { return {}; }

class allocation_meter_scope {
 public:
  allocation_meter_scope() noexcept = default;
  allocation_totals totals() const noexcept { return {}; }
  void stop() noexcept {}
};

}  // namespace frugal
#endif
