// allocation_meter: what metering costs a service.
//
//   new_delete           operator new(32) + sized operator delete
//   measure              a meter scope per request: construct, stop, read the totals
//   measure_and_record   the same, then record_allocations into a labelled counter pair
//
// Every benchmark binary links the hook (bench_main.cpp defines the testing macro, whose
// operators are the meter's), so there is no un-metered operator new in this binary to compare
// with. The hook keeps its running totals whether or not a scope is open, so new_delete/naive
// (no meter scope) and new_delete/frugal (inside one) run the same code: equal figures are the
// claim that an open scope adds nothing per allocation. What the hook itself adds is measured
// against limit: malloc(32) + free, the work libstdc++'s own operator new does without the
// two thread-local additions (and without being counted: limit reports 0 allocs/op).
#include "bench_support.hpp"

#include <frugal/allocation_meter.hpp>
#include <frugal/metrics.hpp>

#include <cstdlib>
#include <new>

namespace {

constexpr std::size_t request_size = 32;

// One operator new + sized delete, as a container's allocate/deallocate pair does it.
FRUGAL_ALWAYS_INLINE void new_delete(std::size_t n) {
  void* p = ::operator new(n);
  benchmark::DoNotOptimize(p);
#if defined(__cpp_sized_deallocation)
  ::operator delete(p, n);
#else
  ::operator delete(p);
#endif
}

// Checks outside the timed loop that the hook counts one allocation of `n` bytes.
bool hook_counts(benchmark::State& state, std::size_t n) {
  frugal::allocation_meter_scope meter;
  new_delete(n);
  meter.stop();
  if (meter.totals() != frugal::allocation_totals{1, n, 1}) {
    state.SkipWithError("the meter did not see exactly one allocation");
    return false;
  }
  return true;
}

void new_delete_limit(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : frugal::bench::counted(state)) {
    void* p = std::malloc(n);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}

void new_delete_naive(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (!hook_counts(state, n)) return;
  for (auto _ : frugal::bench::counted(state)) new_delete(n);
}

void new_delete_frugal(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  if (!hook_counts(state, n)) return;
  frugal::allocation_meter_scope meter;
  for (auto _ : frugal::bench::counted(state)) new_delete(n);
  meter.stop();
  benchmark::DoNotOptimize(meter.totals());
}

void measure_frugal(benchmark::State& state) {
  for (auto _ : frugal::bench::counted(state)) {
    frugal::allocation_meter_scope meter;
    meter.stop();
    frugal::allocation_totals t = meter.totals();
    benchmark::DoNotOptimize(t);
  }
}

void measure_and_record_frugal(benchmark::State& state) {
  frugal::metrics::registry reg;
  auto& allocations = reg.add_counter_family("handler_allocations_total",
                                             "Heap allocations made by handlers.", {"route"});
  auto& bytes = reg.add_counter_family("handler_allocation_bytes_total",
                                       "Bytes requested by handlers' heap allocations.", {"route"});
  auto& route_allocations = allocations.with({"/users"});
  auto& route_bytes = bytes.with({"/users"});
  route_allocations.inc(0);  // this thread's cells exist before the timed loop
  const std::uint64_t before = route_allocations.value();
  for (auto _ : frugal::bench::counted(state)) {
    frugal::allocation_meter_scope meter;
    new_delete(request_size);
    meter.stop();
    frugal::record_allocations(meter.totals(), route_allocations, route_bytes);
  }
  const auto recorded = route_allocations.value() - before;
  if (recorded != static_cast<std::uint64_t>(state.iterations())) {
    state.SkipWithError("record_allocations did not add one allocation per request");
  }
}

}  // namespace

BENCHMARK(new_delete_limit)->Name("allocation_meter/new_delete/limit")->Arg(request_size);
BENCHMARK(new_delete_naive)->Name("allocation_meter/new_delete/naive")->Arg(request_size);
BENCHMARK(new_delete_frugal)->Name("allocation_meter/new_delete/frugal")->Arg(request_size);
BENCHMARK(measure_frugal)->Name("allocation_meter/measure/frugal");
BENCHMARK(measure_and_record_frugal)
    ->Name("allocation_meter/measure_and_record/frugal")
    ->Arg(request_size);

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^allocation_meter/new_delete/");
FRUGAL_BENCH_NOT_LIKE_FOR_LIKE("^allocation_meter/new_delete/limit/",
                               "malloc and free: no operator new, nothing counted");
