// Self-checks of the benchmark harness: the allocation counters must be exact, or no figure in
// any report can be trusted. Each benchmark fails (SkipWithError) when its count is wrong.
#include "bench_support.hpp"

#include <string>
#include <vector>

namespace {

void expect_allocs_per_op(benchmark::State& state, double expected) {
  const double got = state.counters["allocs/op"];
  // Counters hold totals until the report divides by iterations.
  const double per_op = got / static_cast<double>(state.iterations());
  if (per_op != expected) {
    const std::string message =
        "allocs/op is " + std::to_string(per_op) + ", expected " + std::to_string(expected);
    state.SkipWithError(message.c_str());
  }
}

void harness_empty_loop_limit(benchmark::State& state) {
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::ClobberMemory();
  }
  expect_allocs_per_op(state, 0.0);
}
BENCHMARK(harness_empty_loop_limit)->Name("harness/empty_loop/limit");

void harness_string64_std(benchmark::State& state) {
  for (auto _ : frugal::bench::counted(state)) {
    std::string s(64, 'x');
    benchmark::DoNotOptimize(s.data());
  }
  expect_allocs_per_op(state, 1.0);
}
BENCHMARK(harness_string64_std)->Name("harness/string_64/std");

// The number of times std::vector<int> reallocates while growing to `n` by push_back.
double vector_growths(int n) {
  std::vector<int> v;
  double growths = 0;
  auto cap = v.capacity();
  for (int i = 0; i < n; ++i) {
    v.push_back(i);
    if (v.capacity() != cap) {
      ++growths;
      cap = v.capacity();
    }
  }
  return growths;
}

void harness_vector_push_back_std(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : frugal::bench::counted(state)) {
    std::vector<int> v;
    for (int i = 0; i < n; ++i) v.push_back(i);
    benchmark::DoNotOptimize(v.data());
  }
  expect_allocs_per_op(state, vector_growths(n));
  state.counters["growths"] = vector_growths(n);
}
BENCHMARK(harness_vector_push_back_std)->Name("harness/vector_push_back/std")->Arg(100);

}  // namespace
