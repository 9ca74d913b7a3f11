// What the allocation tests share: a way to keep the optimiser from removing a new/delete pair,
// and an over-aligned type for the aligned operator new.
#pragma once

namespace frugal_test {

// Returns `p` after telling the compiler that it escapes: the allocation behind it is kept.
template <class T>
T* escape(T* p) {
  asm volatile("" : : "g"(p) : "memory");
  return p;
}

struct alignas(64) over_aligned {
  char bytes[64];
};

}  // namespace frugal_test
