// A replacement for the global operator new (every form) that fails on request, for the
// fault-injection tests. Include it in exactly one translation unit of a test program.
//
//   countdown = k;   // the calling thread's k-th allocation from now (0: the next) throws
//   ...              // std::bad_alloc; the ones after succeed again
//   countdown = -1;  // none fails
//
// Counts per thread, so other threads (Catch2's, a test's readers) allocate normally.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

// Allocations left before one fails, for the calling thread; -1: none fails.
inline thread_local long countdown = -1;

namespace failing_new_detail {
inline void tick() {
  if (countdown == 0) {
    countdown = -1;
    throw std::bad_alloc();
  }
  if (countdown > 0) --countdown;
}
}  // namespace failing_new_detail

void* operator new(std::size_t n) {
  failing_new_detail::tick();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t al) {
  failing_new_detail::tick();
  const auto a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t al) { return operator new(n, al); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return operator new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return operator new(n, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
