// libservice-malloc-count.so: counts every heap allocation of a process it is preloaded into
// (LD_PRELOAD), from every thread and library: malloc, calloc, realloc, posix_memalign,
// aligned_alloc, memalign. Each call adds one to a process-wide counter and goes on to glibc's
// own allocator; nothing else changes. scripts/bench-service preloads it into both twins, which
// export the count as service_process_allocations_total (http_edge.hpp).
//
// glibc only: it forwards to the __libc_* entry points glibc exports for this purpose.
#include <stddef.h>
#include <stdlib.h>

extern "C" {
void* __libc_malloc(size_t) noexcept;
void* __libc_calloc(size_t, size_t) noexcept;
void* __libc_realloc(void*, size_t) noexcept;
void* __libc_memalign(size_t, size_t) noexcept;

namespace {
unsigned long long allocations = 0;
inline void count_one() noexcept { __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED); }
}  // namespace

__attribute__((visibility("default"))) unsigned long long service_malloc_count() noexcept {
  return __atomic_load_n(&allocations, __ATOMIC_RELAXED);
}

__attribute__((visibility("default"))) void* malloc(size_t n) noexcept {
  count_one();
  return __libc_malloc(n);
}

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) noexcept {
  count_one();
  return __libc_calloc(n, size);
}

// A realloc is counted as one allocation, as the meter counts a new buffer.
__attribute__((visibility("default"))) void* realloc(void* p, size_t n) noexcept {
  count_one();
  return __libc_realloc(p, n);
}

__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t n) noexcept {
  count_one();
  return __libc_memalign(alignment, n);
}

__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t n) noexcept {
  count_one();
  return __libc_memalign(alignment, n);
}

__attribute__((visibility("default"))) int posix_memalign(void** out, size_t alignment,
                                                          size_t n) noexcept {
  // posix_memalign's own checks: a power of two, a multiple of sizeof(void*).
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
  count_one();
  void* p = __libc_memalign(alignment, n);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}
