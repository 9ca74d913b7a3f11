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
#include <optional>

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
    return it;
  }
  sentinel end() { return {}; }

 private:
  FRUGAL_NOINLINE void finish() {
    if (!scope_) return;
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

/// Returns the counted timed loop over `state`'s iterations (see the file comment).
inline counted_loop counted(benchmark::State& state) { return counted_loop(state); }

/// Defeats dead-code elimination of a value without forcing it to memory first when it
/// fits a register.
template <class T>
inline void keep(T&& value) {
  benchmark::DoNotOptimize(value);
}

}  // namespace frugal::bench
