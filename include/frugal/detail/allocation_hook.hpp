// The replacement global `operator new`/`operator delete` behind the allocation meter
// (<frugal/allocation_meter.hpp>) and the testing allocation counter
// (<frugal/testing/allocation_counter.hpp>). Internal: include one of those.
//
// Every allocation and deallocation made through the replaced operators adds to the calling
// thread's running totals: two thread-local additions per allocation, one per deallocation,
// no atomics, no locks, no branch on whether anyone is measuring. Scopes (the meter's and the
// counter's) read the totals when they start and when they are asked, and report the
// difference.
//
// The operators are defined once per program, by the translation unit that defines
// FRUGAL_DEFINE_ALLOCATION_METER or FRUGAL_DEFINE_ALLOCATION_COUNTER (or both) before
// including a header that includes this one. They cannot be inline ([replacement.functions]),
// so a second translation unit that defines either macro fails to link with a duplicate
// `operator new`.
//
// No #pragma once: the definitions must be emitted when a macro is defined and this header is
// included again, even if it was included earlier in the same translation unit without one
// (through <frugal/frugal.hpp>, say). The declarations have an include guard.
#ifndef FRUGAL_DETAIL_ALLOCATION_HOOK_HPP
#define FRUGAL_DETAIL_ALLOCATION_HOOK_HPP

#include <frugal/detail/config.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__GNUC__) || defined(__clang__)
#define FRUGAL_ALLOCATION_HOOK_EXPORT __attribute__((visibility("default")))
#else
#define FRUGAL_ALLOCATION_HOOK_EXPORT
#endif

// Outside the versioned inline namespace on purpose: the one translation unit with the
// operators writes these variables and every other one reads them, whatever its build mode
// (NDEBUG, FRUGAL_HARDENED, -fno-exceptions), so they must have one name in all of them. The
// namespace has a name of its own: reopening `frugal::detail` would land in the inline
// namespace's `detail` on g++ (which looks through inline namespaces) and not on clang.
// Exported, so that shared objects built with -fvisibility=hidden read the program's totals.
namespace frugal::detail_alloc_hooks {

// One thread's running totals since it started. Trivial, so that touching it from inside
// `operator new` needs no TLS initialisation guard and never allocates.
struct allocation_hook_totals {
  std::uint64_t allocations;
  std::uint64_t bytes;
  std::uint64_t deallocations;
};

FRUGAL_ALLOCATION_HOOK_EXPORT inline constinit thread_local allocation_hook_totals
    allocation_hook_thread{0, 0, 0};

// Set during static initialisation by the translation unit that defines the operators.
FRUGAL_ALLOCATION_HOOK_EXPORT inline constinit bool allocation_hook_linked = false;

// A number for each thread that asks for one, never reused in the process (a thread-local's
// address is: a new thread may get an exited one's), so that a scope can tell its own thread
// from a later one. Exported, as the totals are, so that every shared object sees one.
FRUGAL_ALLOCATION_HOOK_EXPORT inline constinit thread_local std::uint64_t
    allocation_hook_thread_number = 0;
FRUGAL_ALLOCATION_HOOK_EXPORT inline constinit std::atomic<std::uint64_t>
    allocation_hook_threads{0};

inline std::uint64_t allocation_hook_this_thread() noexcept {
  std::uint64_t& n = allocation_hook_thread_number;
  if (n == 0) n = allocation_hook_threads.fetch_add(1, std::memory_order_relaxed) + 1;
  return n;
}

// The thread an object was built on, by its number (a later thread may get an exited one's
// thread-local storage, and so its totals' address, but never its number).
class allocation_hook_owner {
 public:
  bool is_this_thread() const noexcept { return number_ == allocation_hook_this_thread(); }

 private:
  std::uint64_t number_ = allocation_hook_this_thread();
};

FRUGAL_ALWAYS_INLINE void allocation_hook_on_allocate(std::size_t bytes) noexcept {
  allocation_hook_totals& t = allocation_hook_thread;
  ++t.allocations;
  t.bytes += bytes;
}

FRUGAL_ALWAYS_INLINE void allocation_hook_on_deallocate() noexcept {
  ++allocation_hook_thread.deallocations;
}

}  // namespace frugal::detail_alloc_hooks

#endif  // FRUGAL_DETAIL_ALLOCATION_HOOK_HPP

#if (defined(FRUGAL_DEFINE_ALLOCATION_METER) || defined(FRUGAL_DEFINE_ALLOCATION_COUNTER)) && \
    !defined(FRUGAL_ALLOCATION_HOOK_DEFINED)
#define FRUGAL_ALLOCATION_HOOK_DEFINED
// Kept for programs that test the macro the testing header used to define.
#define FRUGAL_ALLOCATION_COUNTER_DEFINED
namespace frugal::detail_alloc_hooks {

// Ordered before any later static initialiser of this translation unit.
[[maybe_unused]] const bool registered = (allocation_hook_linked = true);

// Counts the requested size: `new T[0]` is one allocation of 0 bytes (malloc gets 1).
inline void* allocate(std::size_t size) {
  for (;;) {
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
      allocation_hook_on_allocate(size);
      return p;
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) FRUGAL_THROW(std::bad_alloc());
    handler();
  }
}

// aligned_alloc wants a multiple of the alignment; 0 if that overflows.
inline std::size_t aligned_size(std::size_t size, std::size_t align) noexcept {
  if (size == 0) return align;
  const std::size_t rounded = (size + align - 1) / align * align;
  return rounded < size ? 0 : rounded;
}

inline void* allocate_aligned(std::size_t size, std::align_val_t al) {
  const auto align = static_cast<std::size_t>(al);
  const std::size_t rounded = aligned_size(size, align);
  if (rounded == 0) FRUGAL_THROW(std::bad_alloc());
  for (;;) {
    if (void* p = std::aligned_alloc(align, rounded)) {
      allocation_hook_on_allocate(size);
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
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p) allocation_hook_on_allocate(size);
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
  const std::size_t rounded = aligned_size(size, align);
  if (rounded == 0) return nullptr;
  void* p = std::aligned_alloc(align, rounded);
  if (p) allocation_hook_on_allocate(size);
  return p;
#endif
}

inline void release(void* p) noexcept {
  if (p != nullptr) {
    allocation_hook_on_deallocate();
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
