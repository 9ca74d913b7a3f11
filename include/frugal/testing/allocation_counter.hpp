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
// defines FRUGAL_DEFINE_ALLOCATION_COUNTER. Counts are per thread and only taken while an
// `allocation_scope` is alive on that thread, so a scope sees the allocations its own thread
// makes, never another thread's. Memory obtained with `malloc` directly is not counted.
#pragma once

#include <frugal/detail/config.hpp>

#include <cstddef>
#include <cstdlib>
#include <new>
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

struct thread_counters {
  std::size_t depth = 0;
  allocation_stats stats{};
};

// Constant-initialised, so touching it from inside operator new never allocates.
inline constinit thread_local thread_counters counters{};

// Set by the translation unit that defines the replacement operators.
inline constinit bool hooks_linked = false;

inline void on_allocate(std::size_t bytes) noexcept {
  thread_counters& c = counters;
  if (c.depth != 0) {
    ++c.stats.allocations;
    c.stats.bytes += bytes;
  }
}

inline void on_deallocate() noexcept {
  thread_counters& c = counters;
  if (c.depth != 0) {
    ++c.stats.deallocations;
  }
}

}  // namespace detail

/// Returns true when the counting `operator new` is linked into this program (one translation
/// unit defined FRUGAL_DEFINE_ALLOCATION_COUNTER before including this header).
inline bool allocation_counting_available() noexcept { return detail::hooks_linked; }

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
    start_ = detail::counters.stats;
    ++detail::counters.depth;
  }
  allocation_scope(const allocation_scope&) = delete;
  allocation_scope& operator=(const allocation_scope&) = delete;
  ~allocation_scope() { stop(); }

  /// Stops counting; later calls to `stats()` return the figures at this point. Idempotent.
  void stop() noexcept {
    if (active_) {
      end_ = detail::counters.stats;
      --detail::counters.depth;
      active_ = false;
    }
  }

  /// Returns what this scope has seen so far (or until `stop()`).
  allocation_stats stats() const noexcept {
    const allocation_stats now = active_ ? detail::counters.stats : end_;
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

#if defined(FRUGAL_DEFINE_ALLOCATION_COUNTER) && !defined(FRUGAL_ALLOCATION_COUNTER_DEFINED)
#define FRUGAL_ALLOCATION_COUNTER_DEFINED
namespace frugal::detail_alloc_hooks {

namespace t = ::frugal::testing::detail;

inline const bool linked = (t::hooks_linked = true);

inline void* allocate(std::size_t size) {
  if (size == 0) size = 1;
  for (;;) {
    if (void* p = std::malloc(size)) {
      t::on_allocate(size);
      return p;
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) FRUGAL_THROW(std::bad_alloc());
    handler();
  }
}

inline void* allocate_aligned(std::size_t size, std::align_val_t al) {
  const auto align = static_cast<std::size_t>(al);
  std::size_t rounded = size == 0 ? align : (size + align - 1) / align * align;
  if (rounded < size) FRUGAL_THROW(std::bad_alloc());
  for (;;) {
    if (void* p = std::aligned_alloc(align, rounded)) {
      t::on_allocate(size);
      return p;
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) FRUGAL_THROW(std::bad_alloc());
    handler();
  }
}

inline void* allocate_nothrow(std::size_t size) noexcept {
#if FRUGAL_HAS_EXCEPTIONS
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
#else
  if (size == 0) size = 1;
  void* p = std::malloc(size);
  if (p) t::on_allocate(size);
  return p;
#endif
}

inline void* allocate_aligned_nothrow(std::size_t size, std::align_val_t al) noexcept {
#if FRUGAL_HAS_EXCEPTIONS
  try {
    return allocate_aligned(size, al);
  } catch (...) {
    return nullptr;
  }
#else
  const auto align = static_cast<std::size_t>(al);
  const std::size_t rounded = size == 0 ? align : (size + align - 1) / align * align;
  if (rounded < size) return nullptr;
  void* p = std::aligned_alloc(align, rounded);
  if (p) t::on_allocate(size);
  return p;
#endif
}

inline void release(void* p) noexcept {
  if (p != nullptr) {
    t::on_deallocate();
    std::free(p);
  }
}

}  // namespace frugal::detail_alloc_hooks

// The replaceable global allocation functions ([new.delete]); all of them, so that a sized or
// aligned delete never reaches a runtime's own operator for memory allocated here.
void* operator new(std::size_t n) { return frugal::detail_alloc_hooks::allocate(n); }
void* operator new[](std::size_t n) { return frugal::detail_alloc_hooks::allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return frugal::detail_alloc_hooks::allocate_nothrow(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return frugal::detail_alloc_hooks::allocate_nothrow(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return frugal::detail_alloc_hooks::allocate_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return frugal::detail_alloc_hooks::allocate_aligned(n, a);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return frugal::detail_alloc_hooks::allocate_aligned_nothrow(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return frugal::detail_alloc_hooks::allocate_aligned_nothrow(n, a);
}
void operator delete(void* p) noexcept { frugal::detail_alloc_hooks::release(p); }
void operator delete[](void* p) noexcept { frugal::detail_alloc_hooks::release(p); }
void operator delete(void* p, std::size_t) noexcept { frugal::detail_alloc_hooks::release(p); }
void operator delete[](void* p, std::size_t) noexcept { frugal::detail_alloc_hooks::release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept {
  frugal::detail_alloc_hooks::release(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  frugal::detail_alloc_hooks::release(p);
}
void operator delete(void* p, std::align_val_t) noexcept { frugal::detail_alloc_hooks::release(p); }
void operator delete[](void* p, std::align_val_t) noexcept {
  frugal::detail_alloc_hooks::release(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  frugal::detail_alloc_hooks::release(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  frugal::detail_alloc_hooks::release(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  frugal::detail_alloc_hooks::release(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  frugal::detail_alloc_hooks::release(p);
}
#endif
