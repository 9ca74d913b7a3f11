// A benchmark that forgets frugal::bench::counted: the shared main must refuse to report it
// (exit code 3 and a message naming it). ctest runs this binary and expects exactly that.
#include <benchmark/benchmark.h>

#include <string>

namespace {

void harness_uncounted_std(benchmark::State& state) {
  for (auto _ : state) {
    std::string s(64, 'x');
    benchmark::DoNotOptimize(s.data());
  }
}
BENCHMARK(harness_uncounted_std)->Name("harness/uncounted/std");

}  // namespace
