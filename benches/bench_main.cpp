// The main shared by every frugal benchmark binary.
//
// On top of Google Benchmark's flags it accepts `--quick` (a smoke run: a few milliseconds per
// benchmark, one repetition), refuses to report a benchmark without the `allocs/op` and
// `bytes/op` counters of frugal::bench::counted (exit code 3), and fails when the filter
// matches nothing (exit code 4), which Google Benchmark 1.7.1 treats as success.
// `--list_headline`, `--list_own_threads` and `--list_not_like_for_like` print the
// FRUGAL_BENCH_HEADLINE, FRUGAL_BENCH_OWN_THREADS and FRUGAL_BENCH_NOT_LIKE_FOR_LIKE patterns
// of the binary, one per line.
//
// Before any benchmark runs it starts and joins one thread. A service runs many threads, and
// in a process that has never started one, libstdc++ (on glibc 2.32 and later) changes
// shared_ptr reference counts with plain adds instead of atomic ones: a single-threaded
// benchmark would then time every shared_ptr copy (frugal's or a peer's) at a fraction of
// what it costs in a service. The main exits with code 5 if the process still counts as
// single-threaded.
#include <benchmark/benchmark.h>

#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/testing/allocation_counter.hpp>

#include "bench_support.hpp"

#include <unistd.h>
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define FRUGAL_BENCH_HAVE_SINGLE_THREADED 1
#endif

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

class checking_reporter : public benchmark::ConsoleReporter {
 public:
  explicit checking_reporter(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> good;
    for (const Run& run : runs) {
      if (run.error_occurred ||
          (run.counters.count("allocs/op") != 0 && run.counters.count("bytes/op") != 0)) {
        good.push_back(run);
        if (run.error_occurred) errors.insert(run.benchmark_name());
      } else {
        missing.insert(run.benchmark_name());
      }
    }
    if (!good.empty()) ConsoleReporter::ReportRuns(good);
  }
  std::set<std::string> missing;
  std::set<std::string> errors;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  bool quick = false;
  bool has_min_time = false;
  // Colour only on a terminal, unless --benchmark_color says otherwise.
  bool color = isatty(STDOUT_FILENO) != 0;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--benchmark_color=", 18) == 0) {
      const char* v = argv[i] + 18;
      color = std::strcmp(v, "true") == 0 || std::strcmp(v, "yes") == 0 ||
              std::strcmp(v, "1") == 0 || (std::strcmp(v, "auto") == 0 && color);
    }
    using frugal::bench::pattern_kind;
    for (const auto& [flag, kind] :
         {std::pair{"--list_headline", pattern_kind::headline},
          std::pair{"--list_own_threads", pattern_kind::own_threads},
          std::pair{"--list_not_like_for_like", pattern_kind::not_like_for_like}}) {
      if (std::strcmp(argv[i], flag) != 0) continue;
      for (const std::string& pattern : frugal::bench::patterns(kind)) {
        std::printf("%s\n", pattern.c_str());
      }
      return 0;
    }
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
      continue;
    }
    if (std::strncmp(argv[i], "--benchmark_min_time", 20) == 0) has_min_time = true;
    args.push_back(argv[i]);
  }
  std::string min_time = "--benchmark_min_time=0.002";
  std::string reps = "--benchmark_repetitions=1";
  if (quick) {
    if (!has_min_time) args.push_back(min_time.data());
    args.push_back(reps.data());
  }
  int count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  // Multi-threaded from here on, as a service is (see the top of this file).
  std::thread([] {}).join();
#if defined(FRUGAL_BENCH_HAVE_SINGLE_THREADED)
  if (__libc_single_threaded) {
    std::fprintf(stderr, "error: the process still counts as single-threaded\n");
    return 5;
  }
#endif

  checking_reporter reporter(color ? benchmark::ConsoleReporter::OO_ColorTabular
                                   : benchmark::ConsoleReporter::OO_Tabular);
  const std::size_t ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (ran == 0) {
    std::fprintf(stderr, "error: no benchmark matches the filter\n");
    return 4;
  }
  for (const std::string& name : reporter.missing) {
    std::fprintf(stderr,
                 "error: %s has no allocs/op counter; use for (auto _ : "
                 "frugal::bench::counted(state))\n",
                 name.c_str());
  }
  for (const std::string& name : reporter.errors) {
    std::fprintf(stderr, "error: %s failed\n", name.c_str());
  }
  if (!reporter.missing.empty()) return 3;
  return reporter.errors.empty() ? 0 : 5;
}
