// Counting heap allocations in a scope, for tests and benchmarks.
//
//   // In exactly one translation unit of the test program:
//   #define FRUGAL_DEFINE_ALLOCATION_COUNTER
//   #include <frugal/testing/allocation_counter.hpp>
//
//   // Anywhere:
//   REQUIRE(frugal::testing::count_allocations([&] { handle(request); }) == 0);
//
// Counting works by replacing the global `operator new` and `operator delete` (every
// replaceable form: plain, array, sized, aligned, nothrow) in the one translation unit that
// defines FRUGAL_DEFINE_ALLOCATION_COUNTER. The replacement is the allocation meter's
// (<frugal/allocation_meter.hpp>, detail/allocation_hook.hpp): a program may define
// FRUGAL_DEFINE_ALLOCATION_METER, this macro or both in that one translation unit, and gets
// the operators once. Counts are per thread: a scope sees the allocations its own thread makes
// while it is alive, never another thread's. Memory obtained with `malloc` directly is not
// counted.
//
// No #pragma once: see detail/allocation_hook.hpp.
#ifndef FRUGAL_TESTING_ALLOCATION_COUNTER_HPP
#define FRUGAL_TESTING_ALLOCATION_COUNTER_HPP

#include <frugal/detail/allocation_hook.hpp>
#include <frugal/detail/config.hpp>

#include <cstddef>
#include <stdexcept>
#include <utility>

FRUGAL_BEGIN_NAMESPACE
namespace testing {

/// What a scope observed on its thread: the number of allocations, the bytes they
/// requested, and the number of deallocations.
struct allocation_stats {
  std::size_t allocations = 0;
  std::size_t bytes = 0;
  std::size_t deallocations = 0;

  friend bool operator==(const allocation_stats&, const allocation_stats&) = default;
};

namespace detail {

inline allocation_stats thread_totals() noexcept {
  const ::frugal::detail_alloc_hooks::allocation_hook_totals& t =
      ::frugal::detail_alloc_hooks::allocation_hook_thread;
  return {static_cast<std::size_t>(t.allocations), static_cast<std::size_t>(t.bytes),
          static_cast<std::size_t>(t.deallocations)};
}

}  // namespace detail

/// Returns true when the counting `operator new` is linked into this program (one translation
/// unit defined FRUGAL_DEFINE_ALLOCATION_COUNTER before including this header).
inline bool allocation_counting_available() noexcept {
  return ::frugal::detail_alloc_hooks::allocation_hook_linked;
}

/// Counts the current thread's heap allocations from construction until `stop()` or
/// destruction. Scopes nest; an inner scope's allocations also count in the outer one.
/// Never allocates. Throws `std::logic_error` when counting is not linked in, because a
/// count of zero would then be a lie.
class allocation_scope {
 public:
  allocation_scope() {
    if (!allocation_counting_available()) {
      FRUGAL_THROW(std::logic_error(
          "allocation_scope: no counting operator new is linked; define "
          "FRUGAL_DEFINE_ALLOCATION_COUNTER in one translation unit before including "
          "<frugal/testing/allocation_counter.hpp>"));
    }
    start_ = detail::thread_totals();
  }
  allocation_scope(const allocation_scope&) = delete;
  allocation_scope& operator=(const allocation_scope&) = delete;
  ~allocation_scope() { stop(); }

  /// Stops counting; later calls to `stats()` return the figures at this point. Idempotent.
  /// Called on another thread than the one that built the scope, it freezes zeros.
  void stop() noexcept {
    if (active_) {
      end_ = owner_.is_this_thread() ? detail::thread_totals() : start_;
      active_ = false;
    }
  }

  /// Returns what this scope has seen so far (or until `stop()`). Zeros on another thread
  /// than the one that built the scope (unless a `stop()` there froze its figures).
  allocation_stats stats() const noexcept {
    if (active_ && !owner_.is_this_thread()) return {};
    const allocation_stats now = active_ ? detail::thread_totals() : end_;
    return {now.allocations - start_.allocations, now.bytes - start_.bytes,
            now.deallocations - start_.deallocations};
  }
  /// Returns the number of allocations seen so far.
  std::size_t allocations() const noexcept { return stats().allocations; }
  /// Returns the number of bytes requested by the allocations seen so far.
  std::size_t bytes() const noexcept { return stats().bytes; }
  /// Returns the number of deallocations seen so far.
  std::size_t deallocations() const noexcept { return stats().deallocations; }

 private:
  ::frugal::detail_alloc_hooks::allocation_hook_owner owner_;
  allocation_stats start_{};
  allocation_stats end_{};
  bool active_ = true;
};

/// Runs `f()` and returns the allocations, bytes and deallocations it made on this thread.
template <class F>
allocation_stats measure_allocations(F&& f) {
  allocation_scope scope;
  std::forward<F>(f)();
  scope.stop();
  return scope.stats();
}

/// Runs `f()` and returns how many heap allocations it made on this thread.
/// `REQUIRE(count_allocations([&] { ... }) == 0)` makes a zero-allocation promise one line.
template <class F>
std::size_t count_allocations(F&& f) {
  return measure_allocations(std::forward<F>(f)).allocations;
}

}  // namespace testing
FRUGAL_END_NAMESPACE

#endif  // FRUGAL_TESTING_ALLOCATION_COUNTER_HPP

// Emits the operators when FRUGAL_DEFINE_ALLOCATION_COUNTER is defined (once per translation
// unit).
#include <frugal/detail/allocation_hook.hpp>
