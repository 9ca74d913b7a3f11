// Run with libservice-malloc-count.so preloaded (ctest service/malloc_count): each allocation
// function adds exactly one to the count when it returns memory, and nothing when it fails or
// frees. Prints what it checked; exits 1 on the first difference.
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

namespace {

using count_fn = unsigned long long (*)() noexcept;
count_fn count = nullptr;
int failures = 0;

// Keeps the compiler from pairing up or removing an allocation and its free.
void* escape(void* p) {
  asm volatile("" : : "g"(p) : "memory");
  return p;
}

// Runs `f` and checks that the count moved by exactly `expected`.
template <class F>
void expect(const char* what, unsigned long long expected, F f) {
  const unsigned long long before = count();
  f();
  const unsigned long long moved = count() - before;
  if (moved != expected) {
    ++failures;
    printf("not ok: %s: %llu counted, expected %llu\n", what, moved, expected);
  } else {
    printf("ok: %s: %llu\n", what, moved);
  }
}

}  // namespace

int main() {
  count = reinterpret_cast<count_fn>(dlsym(RTLD_DEFAULT, "service_malloc_count"));
  if (count == nullptr) {
    printf("service_malloc_count not found: run with libservice-malloc-count.so preloaded\n");
    return 1;
  }
  // Sizes no allocation can satisfy, kept from the compiler's view.
  volatile size_t huge = SIZE_MAX - 4096;
  volatile size_t half = SIZE_MAX / 2;
  void* p = nullptr;
  expect("malloc", 1, [&] { p = escape(malloc(100)); });
  expect("realloc to 1000", 1, [&] { p = escape(realloc(p, 1000)); });
  expect("free", 0, [&] { free(escape(p)); });
  expect("realloc(nullptr, 10)", 1, [&] { p = escape(realloc(nullptr, 10)); });
  expect("realloc(p, 0), which frees", 0, [&] { escape(realloc(p, 0)); });
  expect("calloc", 1, [&] { free(escape(calloc(10, 10))); });
  expect("calloc that overflows", 0, [&] {
    void* q = escape(calloc(half, 4));
    if (q != nullptr) free(q);
  });
  expect("malloc that fails", 0, [&] {
    void* q = escape(malloc(huge));
    if (q != nullptr) free(q);
  });
  expect("posix_memalign", 1, [&] {
    void* q = nullptr;
    if (posix_memalign(&q, 64, 100) == 0) free(escape(q));
  });
  expect("posix_memalign with alignment 0: EINVAL", 0, [&] {
    void* q = nullptr;
    if (posix_memalign(&q, 0, 100) != EINVAL) ++failures;
  });
  expect("posix_memalign with alignment 24: EINVAL", 0, [&] {
    void* q = nullptr;
    if (posix_memalign(&q, 24, 100) != EINVAL) ++failures;
  });
  expect("aligned_alloc", 1, [&] { free(escape(aligned_alloc(64, 128))); });
  expect("memalign", 1, [&] { free(escape(memalign(64, 100))); });
  expect("valloc", 1, [&] { free(escape(valloc(100))); });
  expect("pvalloc", 1, [&] { free(escape(pvalloc(100))); });
  expect("operator new (through malloc)", 1, [&] { delete static_cast<int*>(escape(new int(1))); });
  printf("%s\n", failures == 0 ? "every check passed" : "some checks failed");
  return failures == 0 ? 0 : 1;
}
