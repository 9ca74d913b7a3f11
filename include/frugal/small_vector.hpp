// frugal::small_vector: a vector that keeps its first N elements inside the object.
//
// A `small_vector<T, N>` has the whole `std::vector` interface. While it holds at most N
// elements they live in a buffer inside the object and it never touches the heap; past N it
// moves them to the heap like a `std::vector`. The header is a pointer and two 32-bit
// counters (16 bytes), and the pointer always points at the elements, so `operator[]`,
// iteration and `data()` cost exactly what they cost in `std::vector`.
//
// `small_vector_base<T, Allocator>` is the same object without N in its type: functions take
// `small_vector_base<T>&` to read or append to any `small_vector<T, N>`.
//
// Iterator invalidation differs from `std::vector` in one way: moving or swapping a vector
// whose elements are inline moves the elements themselves, so iterators, pointers and
// references into it are invalidated (a `std::vector` keeps them valid, pointing into the
// other vector). Unlike `std::vector`, no member is `constexpr`, and the size is at most
// 2^32 - 1. docs/small_vector.md lists every difference; everything else follows `std::vector`.
#pragma once

#include <frugal/detail/config.hpp>
#include <frugal/detail/memory.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

FRUGAL_BEGIN_NAMESPACE

/// Selects the constructor and `resize` overload that default-initialise new elements
/// (Boost.Container's `default_init`): scalars and other trivially default-constructible
/// types are left indeterminate, to be overwritten, instead of zeroed.
struct default_init_t {
  explicit default_init_t() = default;
};
/// The `default_init_t` value: `small_vector<char, 256> buf(n, frugal::default_init)`.
inline constexpr default_init_t default_init{};

namespace detail {

// Where a stateful allocator lives in the header: followed by explicit padding up to a
// multiple of the pointer size, so that the header has no tail padding that the compiler could
// reuse, and the inline buffer starts at a fixed offset after it.
template <class A>
inline constexpr std::size_t allocator_padding = (sizeof(A) + alignof(void*) - 1) / alignof(void*) *
                                                     alignof(void*) -
                                                 sizeof(A);

template <class A, std::size_t Padding = allocator_padding<A>>
struct padded_allocator {
  A value;
  unsigned char padding[Padding]{};
};
template <class A>
struct padded_allocator<A, 0> {
  A value;
};

template <class A>
using allocator_slot = std::conditional_t<std::is_empty_v<A>, A, padded_allocator<A>>;

[[noreturn]] FRUGAL_COLD inline void throw_length_error(const char* what, std::size_t n,
                                                        std::size_t max) {
  FRUGAL_THROW(std::length_error(std::string(what) + ": " + std::to_string(n) +
                                 " elements exceed max_size " + std::to_string(max)));
}

[[noreturn]] FRUGAL_COLD inline void throw_out_of_range(const char* what, std::size_t index,
                                                        std::size_t size) {
  FRUGAL_THROW(std::out_of_range(std::string(what) + ": index " + std::to_string(index) +
                                 " >= size " + std::to_string(size)));
}

// An element count of the unsigned type U that element stores cannot alias. A `uint32_t`
// member would share its alias set with `int` and `unsigned` elements, so every `push_back` of
// an int would force the compiler to reload the size from memory; a scoped enum is a distinct
// type, so the size stays in a register across a push_back loop.
template <class U>
struct basic_count {
  using value_type = U;
  enum class raw_type : U {};
  raw_type raw{};

  constexpr basic_count() noexcept = default;
  constexpr explicit basic_count(U v) noexcept : raw(static_cast<raw_type>(v)) {}
  constexpr operator U() const noexcept { return static_cast<U>(raw); }
  constexpr basic_count& operator=(U v) noexcept {
    raw = static_cast<raw_type>(v);
    return *this;
  }
  constexpr basic_count& operator++() noexcept { return *this = static_cast<U>(*this + 1u); }
  constexpr basic_count& operator--() noexcept { return *this = static_cast<U>(*this - 1u); }
  constexpr basic_count& operator+=(U v) noexcept { return *this = static_cast<U>(*this + v); }
};
// small_vector's size and capacity.
using stored_count = basic_count<std::uint32_t>;

struct synth_three_way_fn {
  template <class T, class U>
  constexpr auto operator()(const T& a, const U& b) const {
    if constexpr (std::three_way_comparable_with<T, U>) {
      return a <=> b;
    } else {
      return a < b   ? std::weak_ordering::less
             : b < a ? std::weak_ordering::greater
                     : std::weak_ordering::equivalent;
    }
  }
};

// An iterator whose legacy category (iterator_traits) is at least `Tag`. C++20's
// `std::move_iterator` models only `std::input_iterator` but keeps the category of the
// iterator it wraps, and promises multiple passes through it.
template <class It, class Tag>
concept legacy_category_at_least = requires {
  typename std::iterator_traits<It>::iterator_category;
  requires std::derived_from<typename std::iterator_traits<It>::iterator_category, Tag>;
};

// A range [first, last) whose length is known without reading its elements: the vector can
// reserve once before copying.
template <class It>
concept length_known_in_advance = std::sized_sentinel_for<It, It> || std::forward_iterator<It> ||
    legacy_category_at_least<It, std::forward_iterator_tag>;

// An iterator that can read any element by index: `first[i]`.
template <class It>
concept indexable_iterator = std::random_access_iterator<It> ||
    legacy_category_at_least<It, std::random_access_iterator_tag>;

// A type whose `std::hash` specialisation is enabled.
template <class T>
concept std_hashable = std::is_default_constructible_v<std::hash<T>> && requires(const T& x) {
  { std::hash<T>{}(x) } -> std::convertible_to<std::size_t>;
};

// Folds `value` into `state`: a 64 x 64 -> 128-bit multiply whose halves are xor-ed, so every
// input bit reaches every output bit (identity hashes such as std::hash<int> included).
inline std::size_t hash_mix(std::size_t state, std::size_t value) noexcept {
  constexpr std::uint64_t multiplier = 0x9e3779b97f4a7c15u;
#if defined(__SIZEOF_INT128__)
  __extension__ using uint128 = unsigned __int128;
  const uint128 m = static_cast<uint128>(static_cast<std::uint64_t>(state + value)) * multiplier;
  return static_cast<std::size_t>(static_cast<std::uint64_t>(m) ^
                                  static_cast<std::uint64_t>(m >> 64));
#else
  std::uint64_t x = (static_cast<std::uint64_t>(state) + value) * multiplier;
  x ^= x >> 32;
  return static_cast<std::size_t>((x * multiplier) ^ (x >> 29));
#endif
}

// The hash of a sequence: each element's std::hash folded in order, then the length (so that
// sequences nested in sequences do not collide by regrouping: {{1}, {2, 3}} and {{1, 2}, {3}}).
template <class T>
std::size_t hash_sequence(const T* first,
                          std::size_t n) noexcept(noexcept(std::hash<T>{}(*first))) {
  std::size_t state = 0;
  const std::hash<T> h{};
  for (std::size_t i = 0; i < n; ++i) state = hash_mix(state, h(first[i]));
  return hash_mix(state, n);
}

// Runs `body()`; if it throws, runs `cleanup()` and rethrows.
template <class Body, class Cleanup>
void run_or_clean_up(Body&& body, Cleanup&& cleanup) {
#if FRUGAL_HAS_EXCEPTIONS
  try {
    body();
  } catch (...) {
    cleanup();
    throw;
  }
#else
  body();
  static_cast<void>(cleanup);
#endif
}

// One T built through the allocator (so that std::pmr elements get the container's memory
// resource, as uses-allocator construction requires) and destroyed through it on scope exit.
template <class A, class T>
class allocator_temporary {
 public:
  template <class... Args>
  explicit allocator_temporary(A& alloc, Args&&... args) : alloc_(alloc) {
    std::allocator_traits<A>::construct(alloc_, get(), std::forward<Args>(args)...);
  }
  allocator_temporary(const allocator_temporary&) = delete;
  allocator_temporary& operator=(const allocator_temporary&) = delete;
  ~allocator_temporary() { std::allocator_traits<A>::destroy(alloc_, get()); }
  T* get() noexcept { return std::launder(reinterpret_cast<T*>(storage_)); }

 private:
  A& alloc_;
  alignas(T) unsigned char storage_[sizeof(T)];
};

// The element algorithms of frugal's vectors that work within the capacity and never
// allocate, shared by small_vector and static_vector: `size_` elements live at `data_`, with
// room for more after them whenever an operation adds elements. Each vector makes one of these
// for the duration of a call (`Size` is its size field, updated in place).
template <class A, class T, class Size>
struct vector_elements {
  using alloc_traits = std::allocator_traits<A>;
  using size_type = std::size_t;
  using stored_size = typename Size::value_type;

  A& alloc_;
  T* data_;
  Size& size_;

  A& alloc() const noexcept { return alloc_; }

  // The length of [first, last), read without consuming the range: `last - first` for sized
  // sentinels, a count over a copy of `first` otherwise (multi-pass iterators only).
  template <class It>
  static size_type distance_of(It first, It last) {
    if constexpr (std::sized_sentinel_for<It, It>) {
      const auto d = last - first;
      FRUGAL_ASSERT(d >= 0);
      return static_cast<size_type>(d);
    } else {
      size_type n = 0;
      for (; first != last; ++first) ++n;
      return n;
    }
  }

  // Whether `it` points at an element of this vector (only contiguous iterators of T can).
  template <class It>
  bool points_into_this(const It& it) const noexcept {
    if constexpr (std::contiguous_iterator<It> &&
                  std::is_same_v<std::remove_cv_t<std::iter_value_t<It>>, T>) {
      const T* p = std::to_address(it);
      return !std::less<const T*>{}(p, data_) && std::less<const T*>{}(p, data_ + size_);
    } else {
      return false;
    }
  }

  // Move-assigns the `n` elements at `first` to `first + by`, last one first.
  static void shift_right(T* first, size_type n, size_type by) {
    if constexpr (std::is_trivially_copyable_v<T>) {
      if (n != 0)
        std::memmove(static_cast<void*>(first + by), static_cast<const void*>(first),
                     n * sizeof(T));
    } else {
      for (size_type i = n; i != 0; --i) first[i - 1 + by] = std::move(first[i - 1]);
    }
  }

  // Opens a gap of `count` elements at `index` (capacity suffices) and fills it with
  // `source(i)`, i in [0, count): move-constructs into the uninitialised tail, shifts the rest
  // with move assignment, and copy-assigns or constructs the new elements.
  template <class Source>
  void insert_in_place(size_type index, size_type count, Source&& source) {
    T* const pos = data_ + index;
    T* const old_end = data_ + size_;
    const size_type after = size_ - index;
    if (after > count) {
      uninitialized_move_if_noexcept_n(alloc(), old_end - count, count, old_end);
      size_ += static_cast<stored_size>(count);
      shift_right(pos, after - count, count);
      for (size_type i = 0; i < count; ++i) pos[i] = source(i);
    } else {
      T* out = old_end;
      construction_guard<A, T> guard(alloc(), old_end, out);
      for (size_type i = after; i < count; ++i, ++out)
        alloc_traits::construct(alloc(), out, source(i));
      uninitialized_move_if_noexcept_n(alloc(), pos, after, out);
      guard.release();
      size_ += static_cast<stored_size>(count);
      for (size_type i = 0; i < after; ++i) pos[i] = source(i);
    }
  }

  // Constructs `count` elements at `dst`, each by `make(p)`; on a throw destroys those built.
  template <class Make>
  void construct_each(T* dst, size_type count, Make&& make) {
    T* out = dst;
    construction_guard<A, T> guard(alloc(), dst, out);
    for (T* const end = dst + count; out != end; ++out) make(out);
    guard.release();
  }
  void fill_construct(T* dst, size_type count, const T& value) {
    construct_each(dst, count, [&](T* p) { alloc_traits::construct(alloc(), p, value); });
  }
  template <class It>
  void copy_construct(T* dst, It first, size_type count) {
    if constexpr (is_plain_allocator_v<A, T>) {
      if constexpr (std::contiguous_iterator<It> && std::is_trivially_copyable_v<T> &&
                    std::is_copy_assignable_v<T> && std::is_same_v<std::iter_value_t<It>, T>) {
        copy_trivial(dst, std::to_address(first), count);
      } else if constexpr (legacy_category_at_least<It, std::input_iterator_tag>) {
        std::uninitialized_copy_n(first, count, dst);  // memmove for trivial types
      } else {
        construct_each(dst, count, [&](T* p) {
          ::new (static_cast<void*>(p)) T(*first);
          ++first;
        });
      }
    } else {
      construct_each(dst, count, [&](T* p) {
        alloc_traits::construct(alloc(), p, *first);
        ++first;
      });
    }
  }

  // Inserts `count` copies of `value` (which may be an element) at `index`.
  void insert_copies(size_type index, size_type count, const T& value) {
    // `value` may be an element that is about to move; the copy is built through the
    // allocator, like the elements.
    allocator_temporary<A, T> copy(alloc(), value);
    insert_in_place(index, count, [&](size_type) -> const T& { return *copy.get(); });
  }

  // Inserts the `count` elements of the range starting at `first` at `index`. The range may be
  // a part of this vector when its iterators are contiguous.
  template <class It>
  void insert_counted(size_type index, It first, size_type count) {
    if (index != size_ && !points_into_this(first)) {
      if constexpr (indexable_iterator<It>) {
        insert_in_place(index, count, [&](size_type i) -> decltype(auto) {
          return first[static_cast<std::iter_difference_t<It>>(i)];
        });
        return;
      }
    }
    // Copies at the end (from an untouched source, when it aliases), then rotates into place.
    copy_construct(data_ + size_, std::move(first), count);
    size_ += static_cast<stored_size>(count);
    std::rotate(data_ + index, data_ + size_ - count, data_ + size_);
  }

  // Constructs an element from `args` at `index < size_`.
  template <class... Args>
  void emplace_in_place(size_type index, Args&&... args) {
    // Built first, since `args` may refer to an element; through the allocator, so that a
    // std::pmr element uses this vector's memory resource.
    allocator_temporary<A, T> value(alloc(), std::forward<Args>(args)...);
    T* last = data_ + size_;
    alloc_traits::construct(alloc(), last, std::move(last[-1]));
    ++size_;
    shift_right(data_ + index, size_ - 2 - index, 1);  // size_ counts the new last element
    data_[index] = std::move(*value.get());
  }

  // Removes [f, l); returns the position after the removed ones.
  T* erase(T* f, T* l) {
    if (f != l) {
      T* new_end = std::move(l, data_ + size_, f);
      destroy_n(alloc(), new_end, static_cast<size_type>(data_ + size_ - new_end));
      size_ = static_cast<stored_size>(new_end - data_);
    }
    return f;
  }

  // Replaces the elements with `count` copies of `value` (which may be an element).
  void assign_copies(size_type count, const T& value) {
    if constexpr (std::is_copy_assignable_v<T>) {
      const size_type common = count < size_ ? count : size_;
      std::fill_n(data_, common, value);
      if (count > size_) {
        fill_construct(data_ + size_, count - size_, value);
      } else {
        destroy_n(alloc(), data_ + count, size_ - count);
      }
      size_ = static_cast<stored_size>(count);
    } else {
      allocator_temporary<A, T> copy(alloc(), value);  // `value` may die
      clear();
      fill_construct(data_, count, *copy.get());
      size_ = static_cast<stored_size>(count);
    }
  }

  // Replaces the elements with the `count` elements of the range starting at `first`.
  template <class It>
  void assign_counted(It first, size_type count) {
    if constexpr (std::is_assignable_v<T&, std::iter_reference_t<It>>) {
      const size_type common = count < size_ ? count : size_type{size_};
      if constexpr (std::contiguous_iterator<It>) {
        std::copy_n(first, common, data_);
        first += static_cast<std::iter_difference_t<It>>(common);
      } else {
        for (size_type i = 0; i < common; ++i, ++first) data_[i] = *first;
      }
      if (count > size_) {
        copy_construct(data_ + size_, std::move(first), count - size_);
      } else {
        destroy_n(alloc(), data_ + count, size_ - count);
      }
    } else {
      clear();
      copy_construct(data_, std::move(first), count);
    }
    size_ = static_cast<stored_size>(count);
  }

  // Destroys the elements past the first `n` (n <= size_).
  void truncate(size_type n) noexcept {
    destroy_n(alloc(), data_ + n, size_ - n);
    size_ = static_cast<stored_size>(n);
  }
  void clear() noexcept { truncate(0); }

  // Default-initialises `count` elements at `dst`: trivially default-constructible ones are
  // left indeterminate.
  void default_init_construct(T* dst, size_type count) {
    construct_each(dst, count, [&](T* p) {
      if constexpr (std::is_trivially_default_constructible_v<T>) {
        ::new (static_cast<void*>(p)) T;
      } else {
        alloc_traits::construct(alloc(), p);
      }
    });
  }
  // Value-initialises `count` elements at `dst` (zero for scalars).
  void value_init_construct(T* dst, size_type count) {
    if constexpr (is_plain_allocator_v<A, T>) {
      std::uninitialized_value_construct_n(dst, count);  // memset for scalars
    } else {
      construct_each(dst, count, [&](T* p) { alloc_traits::construct(alloc(), p); });
    }
  }
};

// Compares [a, a + na) and [b, b + nb) lexicographically, like std::vector's `<=>`.
template <class T>
auto three_way_sequence(const T* a, std::size_t na, const T* b, std::size_t nb) {
  using ordering =
      decltype(synth_three_way_fn{}(std::declval<const T&>(), std::declval<const T&>()));
  const std::size_t n = na < nb ? na : nb;
  for (std::size_t i = 0; i < n; ++i) {
    const ordering c = synth_three_way_fn{}(a[i], b[i]);
    if (c != 0) return c;
  }
  return static_cast<ordering>(na <=> nb);
}

}  // namespace detail

template <class T, class Allocator = std::allocator<T>>
class small_vector_base {
  using alloc_traits = std::allocator_traits<Allocator>;
  using stored_size = std::uint32_t;

  static_assert(std::is_same_v<typename alloc_traits::value_type, T>,
                "small_vector: Allocator::value_type must be T");
  static_assert(std::is_same_v<typename alloc_traits::pointer, T*>,
                "small_vector: allocators with fancy pointers are not supported");

 public:
  using value_type = T;
  using allocator_type = Allocator;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using pointer = T*;
  using const_pointer = const T*;
  using iterator = T*;
  using const_iterator = const T*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  small_vector_base(const small_vector_base&) = delete;

  /// Replaces the contents with a copy of `other`'s. Propagates the allocator when
  /// `propagate_on_container_copy_assignment` says so. Allocates only when `other` has more
  /// elements than this vector has capacity. Basic exception guarantee.
  small_vector_base& operator=(const small_vector_base& other) {
    if (this != &other) {
      if constexpr (alloc_traits::propagate_on_container_copy_assignment::value) {
        if (alloc() != other.alloc()) release_storage();
        alloc() = other.alloc();
      }
      assign(other.begin(), other.end());
    }
    return *this;
  }

  /// Replaces the contents with `other`'s and leaves `other` empty. Takes over `other`'s heap
  /// buffer when it has one, the allocators allow it and it is bigger than this vector's
  /// inline buffer (never allocates then); otherwise moves the elements one by one, into the
  /// inline buffer when they fit it. Allocates only when `other`'s elements fit neither this
  /// vector's capacity nor its inline buffer, which takes a bigger N or unequal,
  /// non-propagating allocators; so it is not `noexcept` (`small_vector`'s own move
  /// assignment is). Basic exception guarantee. Self-assignment does nothing.
  small_vector_base& operator=(small_vector_base&& other) {
    if (this != &other) move_assign_from(other);
    return *this;
  }

  /// Replaces the contents with the elements of `list`.
  small_vector_base& operator=(std::initializer_list<T> list) {
    assign(list.begin(), list.end());
    return *this;
  }

  // Element access -------------------------------------------------------------------------

  /// Returns the element at `i`. Throws `std::out_of_range` naming the index and the size
  /// when `i >= size()`.
  reference at(size_type i) FRUGAL_LIFETIMEBOUND {
    if (FRUGAL_UNLIKELY(i >= size_)) detail::throw_out_of_range("small_vector::at", i, size_);
    return data_[i];
  }
  const_reference at(size_type i) const FRUGAL_LIFETIMEBOUND {
    if (FRUGAL_UNLIKELY(i >= size_)) detail::throw_out_of_range("small_vector::at", i, size_);
    return data_[i];
  }
  /// Returns the element at `i`. Precondition `i < size()`, checked by FRUGAL_ASSERT.
  reference operator[](size_type i) noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(i < size_);
    return data_[i];
  }
  const_reference operator[](size_type i) const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(i < size_);
    return data_[i];
  }
  /// Returns the first element. Precondition `!empty()`, checked by FRUGAL_ASSERT.
  reference front() noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(size_ != 0);
    return data_[0];
  }
  const_reference front() const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(size_ != 0);
    return data_[0];
  }
  /// Returns the last element. Precondition `!empty()`, checked by FRUGAL_ASSERT.
  reference back() noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(size_ != 0);
    return data_[size_ - 1];
  }
  const_reference back() const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(size_ != 0);
    return data_[size_ - 1];
  }
  /// Returns a pointer to the elements, inline or on the heap. Never null.
  T* data() noexcept FRUGAL_LIFETIMEBOUND { return data_; }
  const T* data() const noexcept FRUGAL_LIFETIMEBOUND { return data_; }

  // Iterators ------------------------------------------------------------------------------

  iterator begin() noexcept FRUGAL_LIFETIMEBOUND { return data_; }
  const_iterator begin() const noexcept FRUGAL_LIFETIMEBOUND { return data_; }
  const_iterator cbegin() const noexcept FRUGAL_LIFETIMEBOUND { return data_; }
  iterator end() noexcept FRUGAL_LIFETIMEBOUND { return data_ + size_; }
  const_iterator end() const noexcept FRUGAL_LIFETIMEBOUND { return data_ + size_; }
  const_iterator cend() const noexcept FRUGAL_LIFETIMEBOUND { return data_ + size_; }
  reverse_iterator rbegin() noexcept FRUGAL_LIFETIMEBOUND { return reverse_iterator(end()); }
  const_reverse_iterator rbegin() const noexcept FRUGAL_LIFETIMEBOUND {
    return const_reverse_iterator(end());
  }
  const_reverse_iterator crbegin() const noexcept FRUGAL_LIFETIMEBOUND {
    return const_reverse_iterator(end());
  }
  reverse_iterator rend() noexcept FRUGAL_LIFETIMEBOUND { return reverse_iterator(begin()); }
  const_reverse_iterator rend() const noexcept FRUGAL_LIFETIMEBOUND {
    return const_reverse_iterator(begin());
  }
  const_reverse_iterator crend() const noexcept FRUGAL_LIFETIMEBOUND {
    return const_reverse_iterator(begin());
  }

  // Capacity -------------------------------------------------------------------------------

  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  size_type size() const noexcept { return size_; }
  /// Returns the number of elements that fit without allocating: the inline capacity while
  /// the elements are inline, the heap buffer's size otherwise.
  size_type capacity() const noexcept { return capacity_; }
  /// Returns the largest possible size: 2^32 - 1, or less when the allocator says so.
  size_type max_size() const noexcept {
    const size_type by_alloc = alloc_traits::max_size(alloc());
    const size_type by_header = std::numeric_limits<stored_size>::max();
    return by_alloc < by_header ? by_alloc : by_header;
  }
  /// Returns true while the elements live in the inline buffer (no heap memory is held).
  bool is_inline() const noexcept { return data_ == inline_data(); }
  /// Returns N, the number of elements the inline buffer holds.
  size_type inline_capacity() const noexcept {
    return is_inline() ? capacity_ : load_inline_capacity();
  }

  /// Ensures room for `n` elements; allocates exactly `n` when `n > capacity()`. Strong
  /// exception guarantee. Throws `std::length_error` when `n > max_size()`.
  void reserve(size_type n) {
    if (n > capacity_) {
      if (n > max_size()) detail::throw_length_error("small_vector::reserve", n, max_size());
      reallocate(n);
    }
  }

  /// Frees unused heap capacity: moves the elements back into the inline buffer when they
  /// fit (whatever the heap buffer's size), otherwise into a heap buffer of exactly `size()`
  /// (one allocation, none when the buffer is already that size). Does nothing while inline.
  /// Strong exception guarantee.
  void shrink_to_fit() {
    if (is_inline()) return;
    const stored_size n_inline = load_inline_capacity();
    if (size_ <= n_inline) {
      T* heap = data_;
      const stored_size heap_capacity = capacity_;
#if FRUGAL_HAS_EXCEPTIONS
      try {
#endif
        detail::relocate_n(alloc(), heap, size_, inline_data());
#if FRUGAL_HAS_EXCEPTIONS
      } catch (...) {
        store_inline_capacity(n_inline);
        throw;
      }
#endif
      data_ = inline_data();
      capacity_ = n_inline;
      deallocate(heap, heap_capacity);
    } else if (size_ != capacity_) {
      reallocate(size_);
    }
  }

  // Modifiers ------------------------------------------------------------------------------

  /// Destroys every element; keeps the capacity. Never allocates.
  void clear() noexcept {
    detail::destroy_n(alloc(), data_, size_);
    size_ = 0;
  }

  /// Appends `value`. Amortised O(1); allocates only when `size() == capacity()`, then grows
  /// the capacity twofold. Strong exception guarantee. `v.push_back(v[0])` is safe.
  void push_back(const T& value) { emplace_back(value); }
  void push_back(T&& value) { emplace_back(std::move(value)); }

  /// Constructs an element at the end from `args` and returns a reference to it. Same cost
  /// and guarantees as `push_back`.
  template <class... Args>
  FRUGAL_ALWAYS_INLINE reference emplace_back(Args&&... args) FRUGAL_LIFETIMEBOUND {
    // Reading the header into locals first lets the compiler keep all of it in registers
    // across a push_back loop.
    T* const d = data_;
    const stored_size n = size_;
    if (FRUGAL_LIKELY(n != capacity_)) {
      T* slot = d + n;
      alloc_traits::construct(alloc(), slot, std::forward<Args>(args)...);
      size_ = n + 1;
      return *slot;
    }
    if constexpr (detail::memcpy_relocatable_v<Allocator, T>) {
      return grow_relocatable_emplace_back(std::forward<Args>(args)...);
    } else {
      return grow_emplace_back(std::forward<Args>(args)...);
    }
  }

  /// Removes the last element. Precondition `!empty()`, checked by FRUGAL_ASSERT.
  void pop_back() noexcept {
    FRUGAL_ASSERT(size_ != 0);
    --size_;
    alloc_traits::destroy(alloc(), data_ + size_);
  }

  /// Removes the last element and returns it, moved out (LLVM's `pop_back_val`, Rust's
  /// `Vec::pop` without the optional). O(1); never allocates. Throws only what T's move
  /// constructor throws, and the vector is unchanged then. Precondition `!empty()`, checked by
  /// FRUGAL_ASSERT.
  [[nodiscard]] T pop_back_val() requires std::move_constructible<T> {
    FRUGAL_ASSERT(size_ != 0);
    T value(std::move(data_[size_ - 1]));
    pop_back();
    return value;
  }

  /// Destroys the elements past the first `n` and keeps the capacity; does nothing when
  /// `n >= size()` (Rust's `Vec::truncate`; LLVM's `truncate` asserts instead). O(size() - n);
  /// never allocates, never throws.
  void truncate(size_type n) noexcept {
    if (n < size_) elements().truncate(n);
  }

  /// Inserts `value` before `pos` and returns an iterator to it. O(size() - index). Safe when
  /// `value` is an element of this vector. Basic exception guarantee (strong at the end).
  iterator insert(const_iterator pos, const T& value) { return emplace(pos, value); }
  iterator insert(const_iterator pos, T&& value) { return emplace(pos, std::move(value)); }

  /// Inserts `count` copies of `value` before `pos`; returns an iterator to the first one.
  /// Safe when `value` is an element of this vector.
  iterator insert(const_iterator pos, size_type count, const T& value) {
    const size_type index = index_of(pos);
    if (count == 0) return data_ + index;
    if (capacity_ - size_ < count) {
      grow_insert(index, count, [&](T* dst) { fill_construct(dst, count, value); });
    } else {
      elements().insert_copies(index, count, value);
    }
    return data_ + index;
  }

  /// Inserts the elements of [first, last) before `pos`; returns an iterator to the first.
  /// Allocates at most once when the length of the range is known before reading it (forward
  /// iterators, `std::move_iterator`, sized sentinels). The range may be a part of this vector
  /// when its iterators are contiguous (pointers, this vector's own iterators); iterators of
  /// other kinds must not point into it.
  template <std::input_iterator It>
  iterator insert(const_iterator pos, It first, It last) {
    const size_type index = index_of(pos);
    if constexpr (detail::length_known_in_advance<It>) {
      const size_type count = distance_of(first, last);
      if (count == 0) return data_ + index;
      if (capacity_ - size_ < count) {
        // Builds the new elements before moving the old ones, so an aliased range is fine.
        grow_insert(index, count, [&](T* dst) { copy_construct(dst, first, count); });
        return data_ + index;
      }
      elements().insert_counted(index, std::move(first), count);
      return data_ + index;
    } else {
      // Single-pass ranges of unknown length: append, then rotate into place.
      const size_type old_size = size_;
      for (; first != last; ++first) emplace_back(*first);
      std::rotate(data_ + index, data_ + old_size, data_ + size_);
      return data_ + index;
    }
  }

  iterator insert(const_iterator pos, std::initializer_list<T> list) {
    return insert(pos, list.begin(), list.end());
  }

  /// Constructs an element from `args` before `pos`; returns an iterator to it. `args` may
  /// refer to elements of this vector.
  template <class... Args>
  iterator emplace(const_iterator pos, Args&&... args) {
    const size_type index = index_of(pos);
    if (index == size_) {
      emplace_back(std::forward<Args>(args)...);
    } else if (size_ == capacity_) {
      grow_insert(index, 1, [&](T* dst) {
        alloc_traits::construct(alloc(), dst, std::forward<Args>(args)...);
      });
    } else {
      elements().emplace_in_place(index, std::forward<Args>(args)...);
    }
    return data_ + index;
  }

  /// Removes the element at `pos`; returns an iterator to the element after it.
  /// Precondition: `pos` is a dereferenceable iterator of this vector (FRUGAL_ASSERT).
  iterator erase(const_iterator pos) {
    FRUGAL_ASSERT(pos >= begin() && pos < end());
    return erase(pos, pos + 1);
  }

  /// Removes [first, last); returns an iterator to the element after the removed ones.
  /// Precondition: a valid range of this vector (FRUGAL_ASSERT).
  iterator erase(const_iterator first, const_iterator last) {
    FRUGAL_ASSERT(begin() <= first && first <= last && last <= end());
    return elements().erase(data_ + (first - data_), data_ + (last - data_));
  }

  /// Replaces the contents with `count` copies of `value`, which may be an element of this
  /// vector. Allocates only when `count > capacity()`. Reuses the elements by assignment when
  /// T can be assigned, and rebuilds them otherwise (`std::pair<const K, V>`).
  void assign(size_type count, const T& value) {
    if (count > capacity_) {
      assign_fresh(count, [&](T* dst) { fill_construct(dst, count, value); });
      return;
    }
    elements().assign_copies(count, value);
  }

  /// Replaces the contents with the elements of [first, last). Allocates only when the range
  /// is longer than the capacity, then exactly once when its length is known in advance
  /// (forward iterators, `std::move_iterator`, sized sentinels). When T can be assigned from
  /// the range's elements the range may be a part of this vector; otherwise it must not
  /// point into it.
  template <std::input_iterator It>
  void assign(It first, It last) {
    if constexpr (detail::length_known_in_advance<It>) {
      const size_type count = distance_of(first, last);
      if (count > capacity_) {
        assign_fresh(count, [&](T* dst) { copy_construct(dst, first, count); });
        return;
      }
      elements().assign_counted(std::move(first), count);
    } else {
      clear();
      for (; first != last; ++first) emplace_back(*first);
    }
  }

  void assign(std::initializer_list<T> list) { assign(list.begin(), list.end()); }

  /// Replaces the contents with the elements of `range` (C++23 `assign_range`).
  template <std::ranges::input_range R>
  void assign_range(R&& range) {
    if constexpr (std::ranges::common_range<R>) {
      assign(std::ranges::begin(range), std::ranges::end(range));
    } else {
      clear();
      append_range(std::forward<R>(range));
    }
  }

  /// Appends the elements of `range`, allocating at most once when its length is known
  /// before reading it (sized or forward ranges, including `std::move_iterator` ranges)
  /// (C++23 `append_range`). Strong exception guarantee for those; for single-pass ranges of
  /// unknown length the elements appended before a throw stay. `v.append_range(v)` is safe.
  template <std::ranges::input_range R>
  void append_range(R&& range) {
    if constexpr (std::ranges::sized_range<R> || std::ranges::forward_range<R>) {
      append_counted(std::ranges::begin(range),
                     static_cast<size_type>(std::ranges::distance(range)));
    } else {
      for (auto&& x : range) emplace_back(std::forward<decltype(x)>(x));
    }
  }

  /// Inserts the elements of `range` before `pos` (C++23 `insert_range`); returns an
  /// iterator to the first inserted element.
  template <std::ranges::input_range R>
  iterator insert_range(const_iterator pos, R&& range) {
    if constexpr (std::ranges::common_range<R>) {
      return insert(pos, std::ranges::begin(range), std::ranges::end(range));
    } else {
      const size_type index = index_of(pos);
      const size_type old_size = size_;
      append_range(std::forward<R>(range));
      std::rotate(data_ + index, data_ + old_size, data_ + size_);
      return data_ + index;
    }
  }

  /// Resizes to `n` elements, value-initialising new ones (zero for scalars).
  void resize(size_type n) {
    resize_with(n, [&](T* dst, size_type count) { elements().value_init_construct(dst, count); });
  }
  /// Resizes to `n` elements, copying `value` into new ones; `value` may be an element.
  void resize(size_type n, const T& value) {
    resize_with(n, [&](T* dst, size_type count) { fill_construct(dst, count, value); });
  }
  /// Resizes to `n` elements, default-initialising new ones: scalars are left indeterminate,
  /// to be overwritten by the caller (LLVM's `resize_for_overwrite`, C++23's
  /// `resize_and_overwrite` idea). Saves the zeroing that `resize` does.
  void resize_for_overwrite(size_type n) {
    resize_with(n, [&](T* dst, size_type count) { elements().default_init_construct(dst, count); });
  }
  /// Same as `resize_for_overwrite(n)` (Boost.Container's spelling).
  void resize(size_type n, default_init_t) { resize_for_overwrite(n); }

  /// Exchanges the contents with `other`, which may have another N. A heap buffer changes
  /// hands in O(1) when the allocators compare equal or propagate and it is bigger than the
  /// receiver's inline buffer; other elements move into the receiver's inline buffer (memcpy
  /// when T is trivially relocatable), or into a new buffer when they do not fit it. So it
  /// never allocates between two vectors of the same `small_vector<T, N, A>` type with equal
  /// or propagating allocators, and may allocate once per vector otherwise, which is why it
  /// is not `noexcept` (`small_vector`'s own `swap` is). With unequal allocators that do not
  /// propagate, the elements are exchanged one by one and each vector keeps its allocator.
  /// Basic exception guarantee. Swapping a vector with itself does nothing.
  void swap(small_vector_base& other) { swap_any(other); }

  /// Exchanges the contents of `a` and `b`; see `swap`.
  friend void swap(small_vector_base& a, small_vector_base& b) { a.swap(b); }

  /// Returns a copy of the allocator.
  allocator_type get_allocator() const noexcept { return alloc(); }

  // Comparisons ----------------------------------------------------------------------------

  /// Returns true when both hold equal elements in the same order.
  friend bool operator==(const small_vector_base& a, const small_vector_base& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  /// Compares lexicographically, like `std::vector`.
  friend auto operator<=>(const small_vector_base& a, const small_vector_base& b) {
    return detail::three_way_sequence(a.data_, a.size_, b.data_, b.size_);
  }

 protected:
  small_vector_base(size_type inline_capacity, const Allocator& a) noexcept
      : data_(inline_data()), capacity_(static_cast<stored_size>(inline_capacity)), alloc_{a} {}
  ~small_vector_base() = default;

  // Where the inline buffer starts: right after this header, which has no tail padding.
  static constexpr std::size_t inline_offset() noexcept {
    return (sizeof(small_vector_base) + alignof(T) - 1) / alignof(T) * alignof(T);
  }

  // Destroys the elements and frees the heap buffer; the object is left unusable (called by
  // the destructor of small_vector).
  void destroy_and_deallocate() noexcept {
    detail::destroy_n(alloc(), data_, size_);
    if (!is_inline()) deallocate(data_, capacity_);
  }

  // Construction from another vector (used by small_vector's move constructors; this vector
  // is new, so it is empty, inline and has `other`'s allocator or an equal one): takes its
  // heap buffer when that is bigger than this vector's inline buffer, otherwise moves the
  // elements; leaves `other` empty and inline. Allocates only when `other`'s elements are inline
  // and do not fit this vector's inline buffer (a bigger N through small_vector_base).
  void steal_or_move_from(small_vector_base& other) {
    if (!other.is_inline() && other.capacity_ > capacity_) {
      adopt_heap(other.data_, other.size_, other.capacity_);
      other.reset_to_inline();
    } else if (other.size_ <= capacity_) {
      detail::relocate_n(alloc(), other.data_, other.size_, data_);
      size_ = other.size_;
      other.size_ = 0;
      other.release_storage();
    } else {
      append_counted(std::make_move_iterator(other.data_), other.size_);
      other.release_storage();
    }
  }

  // Appends `count` elements built from the range starting at `first`, read once in order;
  // allocates at most once. Strong exception guarantee.
  template <class It>
  void append_counted(It first, size_type count) {
    if (capacity_ - size_ < count) {
      grow_insert(size_, count, [&](T* dst) { copy_construct(dst, std::move(first), count); });
    } else {
      copy_construct(data_ + size_, std::move(first), count);
      size_ += static_cast<stored_size>(count);
    }
  }
  // Appends `count` copies of `value`, which must not be an element; allocates at most once.
  void append_fill(size_type count, const T& value) {
    if (capacity_ - size_ < count) {
      grow_insert(size_, count, [&](T* dst) { fill_construct(dst, count, value); });
    } else {
      fill_construct(data_ + size_, count, value);
      size_ += static_cast<stored_size>(count);
    }
  }
  // Appends the elements of [first, last), reserving once when the length is known.
  template <class It>
  void append_iterators(It first, It last) {
    if constexpr (detail::length_known_in_advance<It>) {
      const size_type count = distance_of(first, last);
      append_counted(std::move(first), count);
    } else {
      for (; first != last; ++first) emplace_back(*first);
    }
  }

  // Whether small_vector's swap of two vectors of one type cannot throw: it never allocates,
  // and moves (or swaps) elements only.
  static constexpr bool nothrow_same_type_swap =
      (alloc_traits::propagate_on_container_swap::value || alloc_traits::is_always_equal::value) &&
      std::is_nothrow_move_constructible_v<T> &&
      (std::is_nothrow_swappable_v<T> || !std::is_swappable_v<T>);

  // small_vector's swap: both vectors have the same N, so each heap buffer is bigger than the
  // other's inline buffer and can change hands.
  void swap_same_type(small_vector_base& other) noexcept(nothrow_same_type_swap) {
    constexpr bool pocs = alloc_traits::propagate_on_container_swap::value;
    constexpr bool steal_always = pocs || alloc_traits::is_always_equal::value;
    if (FRUGAL_LIKELY(!is_inline() && !other.is_inline() &&
                      (steal_always || alloc() == other.alloc()))) {
      std::swap(data_, other.data_);
      std::swap(size_, other.size_);
      std::swap(capacity_, other.capacity_);
      if constexpr (pocs) {
        using std::swap;
        swap(alloc(), other.alloc());
      }
      return;
    }
    swap_any(other);
  }

  // Fast paths of small_vector for trivially copyable T with a small inline buffer: whole
  // buffers of `Bytes` (a constant) are copied, which compiles to a few vector moves, instead
  // of `size()` elements. Bytes past `size()` are copied as raw bytes and never read as T.

  // Both vectors are inline.
  template <std::size_t Bytes>
  void swap_inline_bytes(small_vector_base& other) noexcept {
    unsigned char tmp[Bytes];
    std::memcpy(tmp, static_cast<void*>(inline_data()), Bytes);
    std::memcpy(static_cast<void*>(inline_data()), static_cast<void*>(other.inline_data()), Bytes);
    std::memcpy(static_cast<void*>(other.inline_data()), tmp, Bytes);
    std::swap(size_, other.size_);
  }
  // This vector is inline, `other` is on the heap, both have the same inline capacity: moves
  // the inline elements across in one fixed-size copy and takes over the heap buffer.
  template <std::size_t Bytes>
  void swap_mixed_bytes(small_vector_base& other) noexcept {
    FRUGAL_ASSERT(is_inline() && !other.is_inline() &&
                  inline_capacity() == other.inline_capacity());
    // The size and capacity travel as one 8-byte word: the next read of them is then served
    // from one store instead of stalling on two.
    T* const heap = other.data_;
    unsigned char heap_counts[8], inline_counts[8];
    std::memcpy(heap_counts, other.counts_address(), 8);
    std::memcpy(inline_counts, counts_address(), 8);
    std::memcpy(static_cast<void*>(other.inline_data()), static_cast<void*>(inline_data()), Bytes);
    other.data_ = other.inline_data();
    std::memcpy(other.counts_address(), inline_counts, 8);
    store_inline_capacity(capacity_);
    data_ = heap;
    std::memcpy(counts_address(), heap_counts, 8);
  }
  // The address of the 8 bytes that hold size_ and then capacity_.
  void* counts_address() noexcept {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
#endif
    static_assert(sizeof(detail::stored_count) == 4 &&
                  offsetof(small_vector_base, capacity_) == offsetof(small_vector_base, size_) + 4);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    return static_cast<void*>(&size_);
  }
  // Moves the elements of `other` into this vector; both are inline and `other`'s elements fit.
  template <std::size_t Bytes>
  void take_inline_bytes(small_vector_base& other) noexcept {
    FRUGAL_ASSERT(is_inline() && other.is_inline() && other.size_ <= capacity_);
    if (other.size_ != 0) {
      std::memcpy(static_cast<void*>(inline_data()), static_cast<void*>(other.inline_data()),
                  Bytes);
    }
    size_ = other.size_;
    other.size_ = 0;
  }
  // Copies `source` into this inline vector when its elements fit the inline buffer and its
  // buffer holds at least `Bytes`; returns false (doing nothing) otherwise.
  template <std::size_t Bytes>
  bool copy_inline_bytes(const small_vector_base& source) noexcept {
    if (!is_inline() || source.size_ > capacity_ ||
        size_type{source.capacity_} * sizeof(T) < Bytes) {
      return false;
    }
    std::memcpy(static_cast<void*>(data_), static_cast<const void*>(source.data_), Bytes);
    size_ = source.size_;
    return true;
  }

  void move_assign_from(small_vector_base& other) {
    constexpr bool pocma = alloc_traits::propagate_on_container_move_assignment::value;
    const bool equal_alloc = alloc_traits::is_always_equal::value || alloc() == other.alloc();
    if (!other.is_inline() && (pocma || equal_alloc) && other.capacity_ > inline_capacity()) {
      release_storage();
      if constexpr (pocma) alloc() = std::move(other.alloc());
      adopt_heap(other.data_, other.size_, other.capacity_);
      other.reset_to_inline();
      return;
    }
    if constexpr (pocma) {
      if (!equal_alloc) release_storage();
      alloc() = other.alloc();
    }
    // The elements move one by one, into the capacity, which grows only when they do not fit
    // it; this vector's capacity is never less than its inline capacity.
    clear();
    if (other.size_ <= capacity_ && (pocma || equal_alloc)) {
      detail::relocate_n(alloc(), other.data_, other.size_, data_);
      size_ = other.size_;
      other.size_ = 0;
      other.release_storage();
    } else {
      append_counted(std::make_move_iterator(other.data_), other.size_);
      other.release_storage();
    }
  }

 private:
  Allocator& alloc() noexcept {
    if constexpr (std::is_empty_v<Allocator>) {
      return alloc_;
    } else {
      return alloc_.value;
    }
  }
  const Allocator& alloc() const noexcept {
    if constexpr (std::is_empty_v<Allocator>) {
      return alloc_;
    } else {
      return alloc_.value;
    }
  }

  T* inline_data() noexcept {
    return reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(this) + inline_offset());
  }
  const T* inline_data() const noexcept {
    return reinterpret_cast<const T*>(reinterpret_cast<const unsigned char*>(this) +
                                      inline_offset());
  }

  // While the elements are on the heap the inline buffer is unused; it remembers N there, so
  // that the header needs no field for it. small_vector makes the buffer at least 4 bytes.
  stored_size load_inline_capacity() const noexcept {
    stored_size n;
    std::memcpy(&n, static_cast<const void*>(inline_data()), sizeof n);
    return n;
  }
  void store_inline_capacity(stored_size n) noexcept {
    std::memcpy(static_cast<void*>(inline_data()), &n, sizeof n);
  }

  // Points the header at a heap buffer. The inline buffer must hold no elements.
  void adopt_heap(T* p, stored_size size, stored_size capacity) noexcept {
    if (is_inline()) store_inline_capacity(capacity_);
    data_ = p;
    size_ = size;
    capacity_ = capacity;
  }
  // Points the header back at the (empty) inline buffer; the heap buffer is someone else's.
  void reset_to_inline() noexcept {
    const stored_size n = load_inline_capacity();
    data_ = inline_data();
    size_ = 0;
    capacity_ = n;
  }
  // Destroys the elements and gives back the heap buffer, leaving an empty inline vector.
  void release_storage() noexcept {
    clear();
    if (!is_inline()) {
      deallocate(data_, capacity_);
      reset_to_inline();
    }
  }

  T* allocate(size_type n) { return alloc_traits::allocate(alloc(), n); }
  void deallocate(T* p, size_type n) noexcept { alloc_traits::deallocate(alloc(), p, n); }

  using elements_type = detail::vector_elements<Allocator, T, detail::stored_count>;
  // The element algorithms shared with static_vector, on this vector's elements.
  elements_type elements() noexcept { return {alloc(), data_, size_}; }
  template <class It>
  static size_type distance_of(It first, It last) {
    return elements_type::distance_of(std::move(first), std::move(last));
  }
  void fill_construct(T* dst, size_type count, const T& value) {
    elements().fill_construct(dst, count, value);
  }
  template <class It>
  void copy_construct(T* dst, It first, size_type count) {
    elements().copy_construct(dst, std::move(first), count);
  }

  size_type index_of(const_iterator pos) const noexcept {
    FRUGAL_ASSERT(pos >= begin() && pos <= end());
    return static_cast<size_type>(pos - data_);
  }

  // The capacity to grow to for `needed` elements: twice the size (twice the capacity when
  // full), at least `needed`, at most max_size(), like std::vector; so a vector built in one
  // step gets exactly its size. Throws std::length_error when `needed > max_size()`.
  size_type next_capacity(size_type needed) const {
    const size_type max = max_size();
    if (FRUGAL_UNLIKELY(needed > max || needed < size_)) {
      detail::throw_length_error("small_vector", needed < size_ ? max + 1 : needed, max);
    }
    const size_type doubled = size_ > max / 2 ? max : 2 * size_type{size_};
    return doubled > needed ? doubled : needed;
  }

  // Allocates room for `n` elements and lets `build(p)` fill it; frees it again if `build`
  // throws. Returns the buffer.
  template <class Build>
  T* allocate_and_build(size_type n, Build&& build) {
    T* p = allocate(n);
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      build(p);
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {
      deallocate(p, n);
      throw;
    }
#endif
    return p;
  }

  // Moves the elements to a new heap buffer of `new_capacity` (>= size()). Strong guarantee.
  FRUGAL_NOINLINE void reallocate(size_type new_capacity) {
    T* p = allocate_and_build(new_capacity,
                              [&](T* dst) { detail::relocate_n(alloc(), data_, size_, dst); });
    if (!is_inline()) deallocate(data_, capacity_);
    adopt_heap(p, size_, static_cast<stored_size>(new_capacity));
  }

  // The growth path of every insertion that does not fit: allocates a bigger buffer, lets
  // `build(dst)` construct `count` new elements at their final place first (so arguments
  // that refer to old elements stay valid), then moves the old elements around them. If
  // anything throws, the vector is unchanged.
  template <class Build>
  FRUGAL_NOINLINE void grow_insert(size_type index, size_type count, Build&& build) {
    const size_type new_capacity = next_capacity(size_type{size_} + count);
    T* p = allocate_and_build(new_capacity, [&](T* dst) { build(dst + index); });
    const size_type tail = size_ - index;
    if constexpr (detail::memcpy_relocatable_v<Allocator, T>) {
      if (index != 0)
        std::memcpy(static_cast<void*>(p), static_cast<void*>(data_), index * sizeof(T));
      if (tail != 0) {
        std::memcpy(static_cast<void*>(p + index + count), static_cast<void*>(data_ + index),
                    tail * sizeof(T));
      }
    } else {
#if FRUGAL_HAS_EXCEPTIONS
      try {
#endif
        detail::uninitialized_move_if_noexcept_n(alloc(), data_, index, p);
#if FRUGAL_HAS_EXCEPTIONS
        try {
#endif
          detail::uninitialized_move_if_noexcept_n(alloc(), data_ + index, tail, p + index + count);
#if FRUGAL_HAS_EXCEPTIONS
        } catch (...) {
          detail::destroy_n(alloc(), p, index);
          throw;
        }
      } catch (...) {
        detail::destroy_n(alloc(), p + index, count);
        deallocate(p, new_capacity);
        throw;
      }
#endif
      detail::destroy_n(alloc(), data_, size_);
    }
    if (!is_inline()) deallocate(data_, capacity_);
    adopt_heap(p, static_cast<stored_size>(size_ + count), static_cast<stored_size>(new_capacity));
  }

  // The growth path of emplace_back for types moved by memcpy. It stays inline: its only
  // calls are to the allocator and memcpy, so the compiler keeps the header in registers
  // across a push_back loop instead of reloading it after an opaque call each iteration.
  template <class... Args>
  reference grow_relocatable_emplace_back(Args&&... args) {
    const size_type new_capacity = next_capacity(size_type{size_} + 1);
    T* p = allocate_and_build(new_capacity, [&](T* dst) {
      alloc_traits::construct(alloc(), dst + size_, std::forward<Args>(args)...);
    });
    if (size_ != 0)
      std::memcpy(static_cast<void*>(p), static_cast<const void*>(data_), size_ * sizeof(T));
    if (!is_inline()) deallocate(data_, capacity_);
    adopt_heap(p, size_ + 1, static_cast<stored_size>(new_capacity));
    return p[size_ - 1];
  }

  template <class... Args>
  FRUGAL_NOINLINE reference grow_emplace_back(Args&&... args) {
    grow_insert(size_, 1, [&](T* dst) {
      alloc_traits::construct(alloc(), dst, std::forward<Args>(args)...);
    });
    return data_[size_ - 1];
  }

  // Replaces the contents with `count` elements built by `build(dst)` into a new buffer.
  template <class Build>
  void assign_fresh(size_type count, Build&& build) {
    if (count > max_size()) detail::throw_length_error("small_vector::assign", count, max_size());
    T* p = allocate_and_build(count, build);
    release_storage();
    adopt_heap(p, static_cast<stored_size>(count), static_cast<stored_size>(count));
  }

  template <class Build>
  void resize_with(size_type n, Build&& build) {
    if (n <= size_) {
      detail::destroy_n(alloc(), data_ + n, size_ - n);
      size_ = static_cast<stored_size>(n);
    } else if (n <= capacity_) {
      build(data_ + size_, n - size_);
      size_ = static_cast<stored_size>(n);
    } else {
      const size_type count = n - size_;
      grow_insert(size_, count, [&](T* dst) { build(dst, count); });
    }
  }

  // The swap of any two vectors (small_vector_base::swap).
  FRUGAL_NOINLINE void swap_any(small_vector_base& other) {
    if (this == &other) return;
    constexpr bool pocs = alloc_traits::propagate_on_container_swap::value;
    if (!pocs && !alloc_traits::is_always_equal::value && alloc() != other.alloc()) {
      swap_by_moves(other);
      return;
    }
    // The allocators are equal or swap too. Memory made during the swap for one vector comes
    // from the allocator that vector holds afterwards: the other's when they propagate.
    if (is_inline() && other.is_inline()) {
      if constexpr (pocs) {
        using std::swap;
        swap(alloc(), other.alloc());  // first: no heap memory changes hands here
      }
      swap_inline(other);
      return;
    }
    if (!is_inline()) {
      swap_from_heap(other);
    } else {
      other.swap_from_heap(*this);
    }
    if constexpr (pocs) {
      using std::swap;
      swap(alloc(), other.alloc());
    }
  }

  // swap_any when this vector is on the heap. A heap buffer bigger than the receiver's inline
  // buffer changes hands; other elements move into the receiver's inline buffer, or into a new
  // buffer from the other vector's allocator when they do not fit it. The allocators have not
  // been swapped yet.
  void swap_from_heap(small_vector_base& b) {
    small_vector_base& a = *this;
    const stored_size na = a.load_inline_capacity();
    const stored_size nb = static_cast<stored_size>(b.inline_capacity());
    T* const a_heap = a.data_;
    const stored_size a_size = a.size_, a_capacity = a.capacity_;
    T* const b_data = b.data_;
    const stored_size b_size = b.size_, b_capacity = b.capacity_;
    const bool b_on_heap = !b.is_inline();
    const bool b_buffer_moves = b_on_heap && b_capacity > na;
    const bool a_buffer_moves = a_capacity > nb;

    // b's elements go to a's side. When they do not move with their buffer, b's buffer is
    // small enough for a's inline buffer, or b is inline and may need a new buffer.
    T* a_new = b_data;
    stored_size a_new_capacity = b_capacity;
    if (!b_buffer_moves) {
      if (b_size <= na) {
        a_new = a.inline_data();
        a_new_capacity = na;
        detail::run_or_clean_up([&] { detail::relocate_n(b.alloc(), b_data, b_size, a_new); },
                                [&] { a.store_inline_capacity(na); });
      } else {
        a_new = b.allocate_and_build(
            b_size, [&](T* dst) { detail::relocate_n(b.alloc(), b_data, b_size, dst); });
        a_new_capacity = b_size;
      }
    }
    // a's elements go to b's side: with their buffer, or into b's inline buffer (now free),
    // which holds them since a's buffer is no bigger than it.
    T* b_new = a_heap;
    stored_size b_new_capacity = a_capacity;
    if (!a_buffer_moves) {
      b_new = b.inline_data();
      b_new_capacity = nb;
      detail::run_or_clean_up([&] { detail::relocate_n(a.alloc(), a_heap, a_size, b_new); },
                              [&] {
                                // a is unchanged; b's elements, already moved, are given up and b
                                // is left empty.
                                if (b_buffer_moves) {
                                  b.store_inline_capacity(nb);
                                  return;
                                }
                                detail::destroy_n(b.alloc(), a_new, b_size);
                                if (a_new == a.inline_data()) {
                                  a.store_inline_capacity(na);
                                } else {
                                  b.deallocate(a_new, a_new_capacity);
                                }
                                if (b_on_heap) b.deallocate(b_data, b_capacity);
                                b.data_ = b.inline_data();
                                b.size_ = 0;
                                b.capacity_ = nb;
                              });
      a.deallocate(a_heap, a_capacity);
    }
    if (b_on_heap && !b_buffer_moves) b.deallocate(b_data, b_capacity);
    a.data_ = a_new;
    a.size_ = b_size;
    a.capacity_ = a_new_capacity;
    if (a_buffer_moves) b.store_inline_capacity(nb);
    b.data_ = b_new;
    b.size_ = a_size;
    b.capacity_ = b_new_capacity;
  }

  // swap_any when both vectors are inline; each allocates from its own allocator.
  void swap_inline(small_vector_base& other) {
    small_vector_base& big = size_ >= other.size_ ? *this : other;
    small_vector_base& small = size_ >= other.size_ ? other : *this;
    if (big.size_ > small.capacity_) {
      // Different inline capacities through small_vector_base&: small's elements fit big's
      // inline buffer (small.size() <= small's N < big.size() <= big's N); big's go to a new
      // buffer for small.
      const stored_size moved = big.size_;
      T* p = small.allocate_and_build(
          moved, [&](T* dst) { detail::relocate_n(small.alloc(), big.data_, moved, dst); });
      big.size_ = 0;
      detail::run_or_clean_up(
          [&] { detail::relocate_n(big.alloc(), small.data_, small.size_, big.data_); },
          [&] {
            detail::destroy_n(small.alloc(), p, moved);  // big is left empty
            small.deallocate(p, moved);
          });
      big.size_ = small.size_;
      small.size_ = 0;
      small.adopt_heap(p, moved, moved);
      return;
    }
    if constexpr (detail::memcpy_relocatable_v<Allocator, T>) {
      alignas(T) unsigned char tmp[256];
      const std::size_t big_bytes = big.size_ * sizeof(T);
      if (big_bytes <= sizeof tmp) {
        const std::size_t small_bytes = small.size_ * sizeof(T);
        std::memcpy(tmp, static_cast<void*>(big.data_), big_bytes);
        std::memcpy(static_cast<void*>(big.data_), static_cast<void*>(small.data_), small_bytes);
        std::memcpy(static_cast<void*>(small.data_), tmp, big_bytes);
        std::swap(big.size_, small.size_);
        return;
      }
    }
    big.exchange_prefix(small, small.size_);
    const size_type extra = big.size_ - small.size_;
    detail::relocate_n(small.alloc(), big.data_ + small.size_, extra, small.data_ + small.size_);
    small.size_ = big.size_;
    big.size_ = static_cast<stored_size>(big.size_ - extra);
  }

  // swap_any with unequal allocators that do not propagate: the elements are exchanged one by
  // one and each vector keeps its allocator (and allocates from it).
  void swap_by_moves(small_vector_base& other) {
    small_vector_base& big = size_ >= other.size_ ? *this : other;
    small_vector_base& small = size_ >= other.size_ ? other : *this;
    const size_type common = small.size_;
    small.reserve(big.size_);
    // Not by swap: a swap of elements that hold allocators themselves (std::pmr::string)
    // would hand each vector the other's memory.
    big.exchange_prefix<false>(small, common);
    small.append_counted(std::make_move_iterator(big.data_ + common), big.size_ - common);
    detail::destroy_n(big.alloc(), big.data_ + common, big.size_ - common);
    big.size_ = static_cast<stored_size>(common);
  }

  // Exchanges the first `n` elements of this vector and `other`: by swap when T is swappable
  // and `BySwap`, by move construction through each vector's allocator otherwise (types with
  // const members, `std::pair<const K, V>`, and vectors of unequal allocators). If a move
  // throws there, the vector with the hole keeps only the elements before it.
  template <bool BySwap = true>
  void exchange_prefix(small_vector_base& other, size_type n) {
    if constexpr (BySwap && std::is_swappable_v<T>) {
      using std::swap;
      for (size_type i = 0; i < n; ++i) swap(data_[i], other.data_[i]);
    } else {
      for (size_type i = 0; i < n; ++i) {
        T* const mine = data_ + i;
        T* const theirs = other.data_ + i;
        detail::allocator_temporary<Allocator, T> held(alloc(), std::move(*mine));
        alloc_traits::destroy(alloc(), mine);
        detail::run_or_clean_up([&] { alloc_traits::construct(alloc(), mine, std::move(*theirs)); },
                                [&] {
                                  detail::destroy_n(alloc(), mine + 1, size_ - i - 1);
                                  size_ = static_cast<stored_size>(i);
                                });
        alloc_traits::destroy(other.alloc(), theirs);
        detail::run_or_clean_up(
            [&] { alloc_traits::construct(other.alloc(), theirs, std::move(*held.get())); },
            [&] {
              detail::destroy_n(other.alloc(), theirs + 1, other.size_ - i - 1);
              other.size_ = static_cast<stored_size>(i);
            });
      }
    }
  }

  T* data_;
  detail::stored_count size_;
  detail::stored_count capacity_;
  [[no_unique_address]] detail::allocator_slot<Allocator> alloc_;
};

namespace detail {

// The default N: as many elements as make the whole small_vector 64 bytes, at least one.
template <class T, class A>
constexpr std::size_t default_inline_capacity() {
  constexpr std::size_t header = sizeof(small_vector_base<T, A>);
  constexpr std::size_t offset = (header + alignof(T) - 1) / alignof(T) * alignof(T);
  constexpr std::size_t room = offset < 64 ? 64 - offset : 0;
  return room / sizeof(T) > 0 ? room / sizeof(T) : 1;
}

}  // namespace detail

/// A vector that stores up to `N` elements inside the object and more on the heap.
/// See the file comment; every member is documented on `small_vector_base`.
template <class T, std::size_t N = detail::default_inline_capacity<T, std::allocator<T>>(),
          class Allocator = std::allocator<T>>
class small_vector : public small_vector_base<T, Allocator> {
  using base = small_vector_base<T, Allocator>;
  using alloc_traits = std::allocator_traits<Allocator>;
  static_assert(N <= std::numeric_limits<std::uint32_t>::max(), "small_vector: N too large");

 public:
  using typename base::allocator_type;
  using typename base::const_iterator;
  using typename base::const_pointer;
  using typename base::const_reference;
  using typename base::const_reverse_iterator;
  using typename base::difference_type;
  using typename base::iterator;
  using typename base::pointer;
  using typename base::reference;
  using typename base::reverse_iterator;
  using typename base::size_type;
  using typename base::value_type;

  /// Returns N: how many elements fit without a heap allocation.
  static constexpr size_type inline_capacity() noexcept { return N; }

  /// Constructs an empty vector. Never allocates.
  small_vector() noexcept(noexcept(Allocator())) : base(N, Allocator()) {}
  explicit small_vector(const Allocator& a) noexcept : base(N, a) {}

  /// Constructs `n` value-initialised elements; allocates once when `n > N`.
  explicit small_vector(size_type n, const Allocator& a = Allocator()) : small_vector(a) {
    this->resize(n);
  }
  /// Constructs `n` default-initialised elements (scalars are left indeterminate, to be
  /// overwritten); allocates once when `n > N`. Throws `std::length_error` when
  /// `n > max_size()`.
  small_vector(size_type n, default_init_t, const Allocator& a = Allocator()) : small_vector(a) {
    this->resize_for_overwrite(n);
  }
  /// Constructs `n` copies of `value`; allocates once when `n > N`. Never assigns elements,
  /// so T need not be assignable (likewise for every constructor).
  small_vector(size_type n, const T& value, const Allocator& a = Allocator()) : small_vector(a) {
    if (n > this->max_size()) detail::throw_length_error("small_vector", n, this->max_size());
    this->append_fill(n, value);
  }
  /// Constructs a copy of [first, last); allocates at most once when the length of the range
  /// is known before reading it (forward iterators, `std::move_iterator`, sized sentinels).
  template <std::input_iterator It>
  small_vector(It first, It last, const Allocator& a = Allocator()) : small_vector(a) {
    this->append_iterators(std::move(first), std::move(last));
  }
  /// Constructs a copy of `list`; allocates once when it has more than N elements.
  small_vector(std::initializer_list<T> list, const Allocator& a = Allocator()) : small_vector(a) {
    this->append_counted(list.begin(), list.size());
  }
  /// Copies `other`, with the allocator its `select_on_container_copy_construction` gives.
  /// Allocates once when `other` has more than N elements.
  small_vector(const small_vector& other)
      : small_vector(alloc_traits::select_on_container_copy_construction(other.get_allocator())) {
    if constexpr (bytewise) {
      if (this->template copy_inline_bytes<storage_bytes>(other)) return;
    }
    this->append_counted(other.begin(), other.size());
  }
  /// Copies `other` into memory from `a`.
  small_vector(const small_vector& other, const std::type_identity_t<Allocator>& a)
      : small_vector(a) {
    this->append_counted(other.begin(), other.size());
  }
  /// Copies the elements of any small_vector (any N) with the same T and allocator type.
  explicit small_vector(const base& other)
      : small_vector(alloc_traits::select_on_container_copy_construction(other.get_allocator())) {
    this->append_counted(other.begin(), other.size());
  }
  /// Takes `other`'s heap buffer, or moves its inline elements (invalidating iterators into
  /// it); `other` is left empty. Never allocates.
  small_vector(small_vector&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
      : small_vector(other.get_allocator()) {
    if constexpr (bytewise) {
      if (other.is_inline()) {
        this->template take_inline_bytes<storage_bytes>(other);
        return;
      }
    }
    this->steal_or_move_from(other);
  }
  /// Like the move constructor when `a == other.get_allocator()`; otherwise moves the
  /// elements one by one into memory from `a`, allocating once when there are more than N.
  /// `other` is left empty.
  small_vector(small_vector&& other, const std::type_identity_t<Allocator>& a) : small_vector(a) {
    move_elements_from(other, a);
  }
  /// Takes the elements of any small_vector (any N) with the same T and allocator: its heap
  /// buffer when that is bigger than N, otherwise the elements one by one. Allocates (once)
  /// only when `other` is inline with more than N elements. `other` is left empty.
  explicit small_vector(base&& other) : small_vector(other.get_allocator()) {
    this->steal_or_move_from(other);
  }
  /// Copies the elements of any small_vector (any N) with the same T and allocator type into
  /// memory from `a`. Allocates once when `other` has more than N elements; throws what the
  /// allocator and T's copy constructor throw.
  explicit small_vector(const base& other, const std::type_identity_t<Allocator>& a)
      : small_vector(a) {
    this->append_counted(other.begin(), other.size());
  }
  /// Takes the elements of any small_vector (any N) with the same T and allocator type, with
  /// `a` as the allocator: like `small_vector(base&&)` when `a == other.get_allocator()`;
  /// otherwise moves the elements one by one into memory from `a`, allocating once when there
  /// are more than N. `other` is left empty.
  explicit small_vector(base&& other, const std::type_identity_t<Allocator>& a) : small_vector(a) {
    move_elements_from(other, a);
  }

  ~small_vector() {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
#endif
    static_assert(offsetof(small_vector, storage_) == base::inline_offset(),
                  "small_vector: the inline buffer must follow the header directly");
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    this->destroy_and_deallocate();
  }

  small_vector& operator=(const small_vector& other) {
    if constexpr (bytewise) {
      if (this != &other && this->template copy_inline_bytes<storage_bytes>(other)) return *this;
    }
    base::operator=(other);
    return *this;
  }
  /// Replaces the contents with `other`'s and leaves `other` empty; see the base's move
  /// assignment. Between two vectors of this type it never allocates when the allocators are
  /// equal or propagate, hence `noexcept` then (when T's move constructor is).
  small_vector& operator=(small_vector&& other) noexcept(
      (alloc_traits::propagate_on_container_move_assignment::value ||
       alloc_traits::is_always_equal::value) &&
      std::is_nothrow_move_constructible_v<T>) {
    if constexpr (bytewise) {
      if (other.is_inline() && this->is_inline() && this != &other) {
        this->template take_inline_bytes<storage_bytes>(other);
        return *this;
      }
    }
    base::operator=(std::move(other));
    return *this;
  }
  small_vector& operator=(std::initializer_list<T> list) {
    this->assign(list.begin(), list.end());
    return *this;
  }
  using base::operator=;

  /// Exchanges the contents with `other`; see small_vector_base::swap.
  friend void swap(small_vector& a, small_vector& b) noexcept(noexcept(a.swap(b))) { a.swap(b); }
  /// Exchanges the contents with `other`; see small_vector_base::swap. Never allocates when
  /// the allocators are equal or propagate, hence `noexcept` then (when T's move constructor
  /// and swap are).
  void swap(small_vector& other) noexcept(base::nothrow_same_type_swap) {
    if constexpr (bytewise) {
      const bool mine = this->is_inline(), theirs = other.is_inline();
      if (mine && theirs) {
        if (this != &other) this->template swap_inline_bytes<storage_bytes>(other);
        return;
      }
      if (mine != theirs) {
        if (mine) {
          this->template swap_mixed_bytes<storage_bytes>(other);
        } else {
          other.template swap_mixed_bytes<storage_bytes>(*this);
        }
        return;
      }
    }
    this->swap_same_type(other);
  }
  using base::swap;

 private:
  // The allocator-extended moves; this vector is new and has `a`.
  void move_elements_from(base& other, const Allocator& a) {
    if (alloc_traits::is_always_equal::value || a == other.get_allocator()) {
      this->steal_or_move_from(other);
    } else {
      this->append_counted(std::make_move_iterator(other.begin()), other.size());
      other.clear();
    }
  }

  // The inline buffer; at least 4 bytes so that it can remember N while the elements are
  // on the heap.
  static constexpr std::size_t storage_bytes =
      N * sizeof(T) < sizeof(std::uint32_t) ? sizeof(std::uint32_t) : N * sizeof(T);
  // Copy, move and swap whole inline buffers when that is cheap (at most a cache line).
  static constexpr bool bytewise = detail::is_plain_allocator_v<Allocator, T> &&
                                   std::is_trivially_copyable_v<T> && storage_bytes <= 64;
  alignas(T) unsigned char storage_[storage_bytes];
};

template <std::input_iterator It,
          class Allocator = std::allocator<typename std::iterator_traits<It>::value_type>>
small_vector(It, It, Allocator = Allocator()) -> small_vector<
    typename std::iterator_traits<It>::value_type,
    detail::default_inline_capacity<typename std::iterator_traits<It>::value_type, Allocator>(),
    Allocator>;

/// Removes every element equal to `value`; returns how many were removed (C++20 std::erase).
template <class T, class Allocator, class U>
typename small_vector_base<T, Allocator>::size_type erase(small_vector_base<T, Allocator>& v,
                                                          const U& value) {
  auto it = std::remove(v.begin(), v.end(), value);
  const auto removed = static_cast<std::size_t>(v.end() - it);
  v.erase(it, v.end());
  return removed;
}

/// Removes every element for which `pred` returns true; returns how many were removed.
template <class T, class Allocator, class Pred>
typename small_vector_base<T, Allocator>::size_type erase_if(small_vector_base<T, Allocator>& v,
                                                             Pred pred) {
  auto it = std::remove_if(v.begin(), v.end(), pred);
  const auto removed = static_cast<std::size_t>(v.end() - it);
  v.erase(it, v.end());
  return removed;
}

FRUGAL_END_NAMESPACE

/// Hashes a small_vector (any N) when its element type has an enabled `std::hash`: the
/// elements' hashes folded in order, then the size (like `absl::Hash` of a container), so
/// equal vectors hash alike whatever their N. O(size()); never allocates; throws only what
/// `std::hash<T>` throws.
template <class T, class Allocator>
requires frugal::detail::std_hashable<T>
struct std::hash<frugal::small_vector_base<T, Allocator>> {
  std::size_t operator()(const frugal::small_vector_base<T, Allocator>& v) const
      noexcept(noexcept(std::hash<T>{}(std::declval<const T&>()))) {
    return frugal::detail::hash_sequence(v.data(), v.size());
  }
};
template <class T, std::size_t N, class Allocator>
requires frugal::detail::std_hashable<T>
struct std::hash<frugal::small_vector<T, N, Allocator>>
    : std::hash<frugal::small_vector_base<T, Allocator>> {
};
