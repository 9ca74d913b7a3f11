// Internal: relocation and allocator helpers shared by frugal's containers.
// Users never include this header directly.
#pragma once

#include <frugal/detail/config.hpp>

#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

FRUGAL_BEGIN_NAMESPACE

/// Tells frugal's containers that moving a `T` to a new address and ending the old object's
/// lifetime can be done by copying its bytes (`memcpy`), without running the move constructor
/// and destructor. True for trivially copyable types. Specialise it as `std::true_type` for
/// your own types that qualify (most types that own heap memory through a plain pointer, such
/// as `std::unique_ptr` or libstdc++'s `std::vector`, do; types that point into themselves,
/// such as libstdc++'s `std::string` with its short-string buffer, do not).
template <class T>
struct is_trivially_relocatable : std::bool_constant<std::is_trivially_copyable_v<T>> {};

template <class T>
inline constexpr bool is_trivially_relocatable_v = is_trivially_relocatable<T>::value;

namespace detail {

// True when `allocator_traits<A>::construct` and `destroy` do nothing beyond placement-new and
// the destructor, so that bytes may be copied instead of objects constructed.
template <class A, class T>
inline constexpr bool is_plain_allocator_v = std::is_same_v<A, std::allocator<T>>;

template <class A, class T>
inline constexpr bool memcpy_relocatable_v = is_trivially_relocatable_v<T> &&
                                             (is_plain_allocator_v<A, T> ||
                                              std::is_trivially_copyable_v<T>);

// Copies `n` trivially copyable objects. A few elements are copied by a loop the compiler
// unrolls, saving the call to memmove that dominates copies of a handful of ints.
template <class T>
void copy_trivial(T* dst, const T* src, std::size_t n) noexcept {
  if (n * sizeof(T) <= 32) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  } else {
    std::memcpy(static_cast<void*>(dst), static_cast<const void*>(src), n * sizeof(T));
  }
}

// Destroys `n` objects starting at `p`; nothing for trivially destructible T.
template <class A, class T>
void destroy_n(A& alloc, T* p, std::size_t n) noexcept {
  if constexpr (is_plain_allocator_v<A, T>) {
    std::destroy_n(p, n);
  } else {
    for (T* const end = p + n; p != end; ++p) std::allocator_traits<A>::destroy(alloc, p);
  }
}

// Constructs `n` objects at uninitialised `dst` from `src`, moving when the move constructor
// cannot throw (or T cannot be copied) and copying otherwise, so that a throw leaves the
// sources intact. On a throw it destroys what it built and rethrows. The sources stay alive.
template <class A, class T>
void uninitialized_move_if_noexcept_n(A& alloc, T* src, std::size_t n, T* dst) {
  using traits = std::allocator_traits<A>;
  if constexpr (memcpy_relocatable_v<A, T> && std::is_trivially_copyable_v<T>) {
    if (n != 0) std::memcpy(static_cast<void*>(dst), static_cast<const void*>(src), n * sizeof(T));
  } else {
    std::size_t built = 0;
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      for (; built < n; ++built) {
        traits::construct(alloc, dst + built, std::move_if_noexcept(src[built]));
      }
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
      destroy_n(alloc, dst, built);
      throw;
    }
#endif
  }
}

// Moves `n` objects from `src` to uninitialised `dst` and ends the sources' lifetimes. With a
// trivially relocatable T this is one memcpy; otherwise it is
// uninitialized_move_if_noexcept_n followed by destroying the sources (strong guarantee).
template <class A, class T>
void relocate_n(A& alloc, T* src, std::size_t n, T* dst) {
  if constexpr (memcpy_relocatable_v<A, T>) {
    if (n != 0) std::memcpy(static_cast<void*>(dst), static_cast<const void*>(src), n * sizeof(T));
  } else if constexpr (std::is_nothrow_move_constructible_v<T>) {
    // One pass: nothing can throw between a move and the source's destruction.
    for (std::size_t i = 0; i < n; ++i) {
      std::allocator_traits<A>::construct(alloc, dst + i, std::move(src[i]));
      std::allocator_traits<A>::destroy(alloc, src + i);
    }
  } else {
    uninitialized_move_if_noexcept_n(alloc, src, n, dst);
    destroy_n(alloc, src, n);
  }
}

// Destroys the objects constructed so far in [first, *cursor) when a loop that constructs
// them one by one throws. `release()` keeps them.
template <class A, class T>
class construction_guard {
 public:
  construction_guard(A& alloc, T* first, T*& cursor) noexcept
      : alloc_(alloc), first_(first), cursor_(cursor) {}
  construction_guard(const construction_guard&) = delete;
  construction_guard& operator=(const construction_guard&) = delete;
  ~construction_guard() {
    if (active_) destroy_n(alloc_, first_, static_cast<std::size_t>(cursor_ - first_));
  }
  void release() noexcept { active_ = false; }

 private:
  A& alloc_;
  T* first_;
  T*& cursor_;
  bool active_ = true;
};

}  // namespace detail
FRUGAL_END_NAMESPACE
