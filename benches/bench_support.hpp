// Shared helpers for frugal's benchmarks: a timed loop that counts heap allocations exactly.
//
//   static void small_vector_build_frugal(benchmark::State& state) {
//     for (auto _ : frugal::bench::counted(state)) { ... }
//   }
//
// `counted(state)` runs the same iterations as `for (auto _ : state)` and counts the
// allocations made on this thread between the first and the last iteration, nothing before
// or after, so setup and Google Benchmark's own bookkeeping never leak into the figure. It
// then sets the counters `allocs/op` and `bytes/op`. The shared main refuses to report a
// benchmark that lacks them.
#pragma once

#include <frugal/testing/allocation_counter.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#if defined(FRUGAL_BENCH_HAVE_CALLGRIND)
#include <valgrind/callgrind.h>
#endif

namespace frugal::bench {

class counted_loop {
 public:
  explicit counted_loop(benchmark::State& state) : state_(state) {}

  struct sentinel {};

  class iterator {
   public:
    iterator(counted_loop& loop, benchmark::State::StateIterator inner)
        : loop_(&loop),
          inner_(inner),
          remaining_(loop.state_.error_occurred() ? 0 : loop.state_.max_iterations) {}
    // Mirrors StateIterator: the count reaching zero ends counting before Google Benchmark
    // finishes the run.
    FRUGAL_ALWAYS_INLINE bool operator!=(sentinel) {
      if (FRUGAL_LIKELY(remaining_ != 0)) return true;
      loop_->finish();
      return inner_ != *loop_->end_;
    }
    FRUGAL_ALWAYS_INLINE iterator& operator++() {
      --remaining_;
      ++inner_;
      return *this;
    }
    benchmark::State::StateIterator::Value operator*() const { return *inner_; }

   private:
    counted_loop* loop_;
    benchmark::State::StateIterator inner_;
    benchmark::IterationCount remaining_;
  };

  iterator begin() {
    // State::end() starts the timer, so it runs first; counting starts last.
    end_.emplace(state_.end());
    iterator it(*this, state_.begin());
    scope_.emplace();
#if defined(FRUGAL_BENCH_HAVE_CALLGRIND)
    // `scripts/bench --instructions`: count only the timed loop (a no-op outside valgrind).
    CALLGRIND_TOGGLE_COLLECT;
#endif
    return it;
  }
  sentinel end() { return {}; }

 private:
  FRUGAL_NOINLINE void finish() {
    if (!scope_) return;
#if defined(FRUGAL_BENCH_HAVE_CALLGRIND)
    CALLGRIND_TOGGLE_COLLECT;
    if (RUNNING_ON_VALGRIND) {
      // A stack buffer: the dump must not allocate inside the counted scope.
      char trigger[64];
      std::snprintf(trigger, sizeof trigger, "frugal-bench iterations=%lld",
                    static_cast<long long>(state_.max_iterations));
      CALLGRIND_DUMP_STATS_AT(trigger);
    }
#endif
    scope_->stop();
    const auto stats = scope_->stats();
    scope_.reset();
    state_.counters["allocs/op"] = benchmark::Counter(static_cast<double>(stats.allocations),
                                                      benchmark::Counter::kAvgIterations);
    state_.counters["bytes/op"] =
        benchmark::Counter(static_cast<double>(stats.bytes), benchmark::Counter::kAvgIterations);
  }

  benchmark::State& state_;
  std::optional<benchmark::State::StateIterator> end_;
  std::optional<testing::allocation_scope> scope_;
};

/// The name patterns a bench binary declares about its benchmarks.
enum class pattern_kind {
  headline,     // FRUGAL_BENCH_HEADLINE: run by `scripts/bench` by default
  own_threads,  // FRUGAL_BENCH_OWN_THREADS: start threads of their own, never pinned
  not_like_for_like,  // FRUGAL_BENCH_NOT_LIKE_FOR_LIKE: "pattern<TAB>reason", context only
};

/// Returns the patterns of `kind` declared in this binary.
inline std::vector<std::string>& patterns(pattern_kind kind) {
  static std::vector<std::string> lists[3];
  return lists[static_cast<int>(kind)];
}

/// Adds `pattern` to the patterns of `kind`; returns true (for static registration).
inline bool add_pattern(pattern_kind kind, const char* pattern) {
  patterns(kind).emplace_back(pattern);
  return true;
}

/// Returns the counted timed loop over `state`'s iterations (see the file comment).
inline counted_loop counted(benchmark::State& state) { return counted_loop(state); }

/// Defeats dead-code elimination of a value without forcing it to memory first when it
/// fits a register.
template <class T>
inline void keep(T&& value) {
  benchmark::DoNotOptimize(value);
}

}  // namespace frugal::bench

#define FRUGAL_BENCH_CAT2(a, b) a##b
#define FRUGAL_BENCH_CAT(a, b) FRUGAL_BENCH_CAT2(a, b)

/// Declares that the benchmarks whose names match `pattern` (a regular expression searched in
/// the name, Python `re` syntax) carry this module's claims and belong to the headline set
/// that `scripts/bench` runs by default. Declarations add up; a binary that declares none
/// puts all its benchmarks in the headline set. `--list_headline` prints the patterns.
#define FRUGAL_BENCH_HEADLINE(pattern)                                                    \
  [[maybe_unused]] static const bool FRUGAL_BENCH_CAT(frugal_bench_headline_, __LINE__) = \
      ::frugal::bench::add_pattern(::frugal::bench::pattern_kind::headline, pattern)

/// Declares that the benchmarks whose names match `pattern` start threads of their own (a
/// writer beside the measured reader, say). `scripts/bench` pins single-threaded benchmarks to
/// one CPU; these are left free to use all of them. `--list_own_threads` prints the patterns.
#define FRUGAL_BENCH_OWN_THREADS(pattern)                                                    \
  [[maybe_unused]] static const bool FRUGAL_BENCH_CAT(frugal_bench_own_threads_, __LINE__) = \
      ::frugal::bench::add_pattern(::frugal::bench::pattern_kind::own_threads, pattern)

/// Declares that in the benchmarks whose names match `pattern` frugal does different work
/// from the implementations it is compared with (a view against a copy, say), for the reason
/// given. The report keeps these cases, labelled with the reason, out of its summaries and
/// headline ratios. `--list_not_like_for_like` prints "pattern<TAB>reason" lines.
#define FRUGAL_BENCH_NOT_LIKE_FOR_LIKE(pattern, reason)                                      \
  [[maybe_unused]] static const bool FRUGAL_BENCH_CAT(frugal_bench_not_like_, __LINE__) =  \
      ::frugal::bench::add_pattern(::frugal::bench::pattern_kind::not_like_for_like,        \
                                   pattern "\t" reason)
