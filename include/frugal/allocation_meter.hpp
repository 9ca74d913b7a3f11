// Heap allocations per request, in production: how many allocations, and how many bytes, the
// current thread made inside a scope, cheap enough to leave on in a service and export as
// metrics.
//
//   // In exactly one .cpp of the program (the one with main is a good place):
//   #define FRUGAL_DEFINE_ALLOCATION_METER
//   #include <frugal/allocation_meter.hpp>
//
//   // In a handler:
//   frugal::allocation_meter_scope meter;
//   std::string body = handle(request);
//   meter.stop();
//   frugal::record_allocations(meter.totals(), route_allocations, route_bytes);
//
// The macro replaces the global `operator new` and `operator delete` (every form: plain,
// array, nothrow, aligned, sized) with ones that add to the calling thread's running totals:
// two thread-local additions per allocation, one per deallocation, no atomics, no locks.
//
// What it sees and what it does not:
// - Per thread. A scope counts its own thread's allocations only; a handler that hops
//   threads (a continuation on an executor, a callback on an I/O thread) must measure on each
//   thread and add the figures up.
// - `operator new` only. Memory C libraries take with `malloc` (libpq, hiredis, OpenSSL,
//   zlib) and custom allocators that do not call `operator new` are not counted.
// - One definition. The operators cannot be inline: a second .cpp that defines
//   FRUGAL_DEFINE_ALLOCATION_METER or FRUGAL_DEFINE_ALLOCATION_COUNTER fails to link.
//   Without the macro anywhere, every figure is zero and `allocation_meter_available()` is
//   false; nothing throws.
//
// No #pragma once: see detail/allocation_hook.hpp. Defining the macro and including this header
// again emits the operators even when a frugal header included it before.
#ifndef FRUGAL_ALLOCATION_METER_HPP
#define FRUGAL_ALLOCATION_METER_HPP

#include <frugal/detail/allocation_hook.hpp>
#include <frugal/detail/config.hpp>

#include <cstdint>

FRUGAL_BEGIN_NAMESPACE

/// What a thread allocated: the number of allocations, the bytes they requested, and the
/// number of deallocations.
struct allocation_totals {
  std::uint64_t allocations = 0;
  std::uint64_t bytes = 0;
  std::uint64_t deallocations = 0;

  friend bool operator==(const allocation_totals&, const allocation_totals&) = default;
};

/// Returns true when the metering `operator new` is linked into this program: one translation
/// unit defined FRUGAL_DEFINE_ALLOCATION_METER (or FRUGAL_DEFINE_ALLOCATION_COUNTER) before
/// including this header, and its static initialisation has run (always by `main`).
/// Never throws. O(1).
inline bool allocation_meter_available() noexcept {
  return ::frugal::detail_alloc_hooks::allocation_hook_linked;
}

/// Returns the current thread's running totals since it started (zeros without the hook).
/// Subtract two readings to measure a stretch of code. Never allocates, never throws. O(1).
inline allocation_totals thread_allocation_totals() noexcept {
  const ::frugal::detail_alloc_hooks::allocation_hook_totals& t =
      ::frugal::detail_alloc_hooks::allocation_hook_thread;
  return {t.allocations, t.bytes, t.deallocations};
}

/// Measures the current thread's allocations from construction until `stop()` or
/// destruction. Scopes nest: an inner scope's allocations also count in the outer one. Costs
/// one read of the thread's totals at construction and one per `totals()`; nothing per
/// allocation beyond what the hook always does. Never allocates, never throws; without the
/// hook it reports zeros.
///
/// Belongs to the thread that constructed it. Called on another thread, `stop()` freezes the
/// totals at zero and `totals()` returns zeros (or what an earlier `stop()` on the scope's own
/// thread froze): another thread's counts are never mixed in.
class allocation_meter_scope {
 public:
  /// Starts measuring. Never throws.
  allocation_meter_scope() noexcept : start_(thread_allocation_totals()) {}
  allocation_meter_scope(const allocation_meter_scope&) = delete;
  allocation_meter_scope& operator=(const allocation_meter_scope&) = delete;

  /// Returns what this thread allocated since construction, or until `stop()`. Never throws.
  /// O(1).
  allocation_totals totals() const noexcept {
    if (stopped_) return end_;
    if (!owner_.is_this_thread()) return {};
    return since_start();
  }

  /// Stops measuring: later `totals()` return the figures at this point. Idempotent. Never
  /// throws. O(1).
  void stop() noexcept {
    if (stopped_) return;
    end_ = owner_.is_this_thread() ? since_start() : allocation_totals{};
    stopped_ = true;
  }

 private:
  allocation_totals since_start() const noexcept {
    const allocation_totals now = thread_allocation_totals();
    return {now.allocations - start_.allocations, now.bytes - start_.bytes,
            now.deallocations - start_.deallocations};
  }

  ::frugal::detail_alloc_hooks::allocation_hook_owner owner_;
  allocation_totals start_;
  allocation_totals end_{};
  bool stopped_ = false;
};

/// Adds `t.allocations` to `allocations` and `t.bytes` to `bytes`: any pair of counters with
/// `inc(std::uint64_t)`, such as the `frugal::metrics::counter`s a labelled family returns
/// from `with({route})` (resolve them once, keep the references). Two counter updates; no
/// allocation beyond what `inc` does (frugal's counters: none after a thread's first update).
/// Throws what `inc` throws. Call it after `stop()`, so that a first update's allocation is
/// not counted in the figures it records.
template <class Counter>
requires requires(Counter& c, std::uint64_t n) { c.inc(n); }
void record_allocations(const allocation_totals& t, Counter& allocations, Counter& bytes) {
  allocations.inc(t.allocations);
  bytes.inc(t.bytes);
}

FRUGAL_END_NAMESPACE

#endif  // FRUGAL_ALLOCATION_METER_HPP

// Emits the operators when FRUGAL_DEFINE_ALLOCATION_METER is defined (once per translation unit).
#include <frugal/detail/allocation_hook.hpp>
