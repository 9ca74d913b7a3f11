// libservice-malloc-count.so: counts the heap allocations of a process it is preloaded into
// (LD_PRELOAD), from every thread and library: each successful malloc, calloc, realloc to a
// non-zero size, posix_memalign, aligned_alloc, memalign, valloc and pvalloc adds one to a
// process-wide counter, then the call goes on to glibc's own allocator; nothing else changes.
// A failed call, free, and realloc(p, 0) (which frees) add nothing. scripts/bench-service
// preloads it into both twins, which export the count as service_process_allocations_total
// (http_edge.hpp). The cost: one relaxed atomic addition per allocation, on one counter that
// every thread shares.
//
// glibc only: it forwards to the __libc_* entry points glibc exports for this purpose.
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

extern "C" {
void* __libc_malloc(size_t) noexcept;
void* __libc_calloc(size_t, size_t) noexcept;
void* __libc_realloc(void*, size_t) noexcept;
void* __libc_memalign(size_t, size_t) noexcept;
void* __libc_valloc(size_t) noexcept;
void* __libc_pvalloc(size_t) noexcept;

namespace {
unsigned long long allocations = 0;

inline void* counted(void* p) noexcept {
  if (p != nullptr) __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
  return p;
}
}  // namespace

__attribute__((visibility("default"))) unsigned long long service_malloc_count() noexcept {
  return __atomic_load_n(&allocations, __ATOMIC_RELAXED);
}

__attribute__((visibility("default"))) void* malloc(size_t n) noexcept {
  return counted(__libc_malloc(n));
}

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) noexcept {
  return counted(__libc_calloc(n, size));
}

// A realloc that returns a block is counted as one allocation, as the meter counts a new
// buffer; realloc(p, 0) frees p and returns null.
__attribute__((visibility("default"))) void* realloc(void* p, size_t n) noexcept {
  return counted(__libc_realloc(p, n));
}

__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t n) noexcept {
  return counted(__libc_memalign(alignment, n));
}

__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t n) noexcept {
  return counted(__libc_memalign(alignment, n));
}

__attribute__((visibility("default"))) void* valloc(size_t n) noexcept {
  return counted(__libc_valloc(n));
}

__attribute__((visibility("default"))) void* pvalloc(size_t n) noexcept {
  return counted(__libc_pvalloc(n));
}

__attribute__((visibility("default"))) int posix_memalign(void** out, size_t alignment,
                                                          size_t n) noexcept {
  // posix_memalign's own rule: a power of two and a multiple of sizeof(void*).
  if (alignment == 0 || alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  void* p = counted(__libc_memalign(alignment, n));
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
