// frugal::static_vector: a vector of at most N elements that never allocates.
//
// A `static_vector<T, N>` keeps its elements inside the object, like `std::array<T, N>`, but
// holds a varying number of them, like `std::vector`: the interface of C++26's
// `std::inplace_vector`, available in C++20. Its header is a size field of 1, 2, 4 or 8 bytes
// (the smallest unsigned type that holds N), so `static_vector<int, 8>` is 36 bytes.
//
// Adding past N throws `std::bad_alloc` (as `std::inplace_vector` does; `what()` names the call
// and the sizes), or use the `try_` forms, which return null or stop, or the `unchecked_`
// forms, whose precondition FRUGAL_ASSERT checks in debug and hardened builds. The element
// algorithms are small_vector's own (detail::vector_elements), so both vectors give the same
// answers, aliasing rules and exception guarantees.
//
// Unlike `std::inplace_vector`, no member is `constexpr`, and there is no `from_range_t`
// constructor (use `assign_range` or `append_range`). docs/static_vector.md lists every call
// with its cost.
#pragma once

#include <frugal/detail/config.hpp>
#include <frugal/detail/memory.hpp>
#include <frugal/small_vector.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <new>
#include <ranges>
#include <type_traits>
#include <utility>

FRUGAL_BEGIN_NAMESPACE

namespace detail {

// The smallest unsigned type that counts up to N.
template <std::size_t N>
using static_size_type = std::conditional_t<
    N <= 0xffu, std::uint8_t,
    std::conditional_t<N <= 0xffffu, std::uint16_t,
                       std::conditional_t<N <= 0xffffffffu, std::uint32_t, std::uint64_t>>>;

// The `std::bad_alloc` that static_vector throws when elements would not fit: `what()` names
// the call and the sizes. Building it never allocates.
class capacity_exceeded : public std::bad_alloc {
 public:
  capacity_exceeded(const char* where, std::size_t needed, std::size_t capacity) noexcept {
    std::snprintf(message_, sizeof message_, "%s: %zu elements exceed capacity %zu", where, needed,
                  capacity);
  }
  const char* what() const noexcept override { return message_; }

 private:
  char message_[128];
};

[[noreturn]] FRUGAL_COLD inline void throw_capacity_exceeded(const char* where, std::size_t needed,
                                                             std::size_t capacity) {
  FRUGAL_THROW(capacity_exceeded(where, needed, capacity));
}

// The inline buffer of N elements; none for N == 0.
template <class T, std::size_t N>
struct static_storage {
  T* data() noexcept { return reinterpret_cast<T*>(bytes); }
  const T* data() const noexcept { return reinterpret_cast<const T*>(bytes); }
  alignas(T) unsigned char bytes[N * sizeof(T)];
};
template <class T>
struct static_storage<T, 0> {
  T* data() noexcept { return nullptr; }
  const T* data() const noexcept { return nullptr; }
};

}  // namespace detail

/// A vector of at most `N` elements stored inside the object; never allocates. The interface
/// of C++26's `std::inplace_vector`, plus `pop_back_val`, `truncate`, `default_init` and
/// `resize_for_overwrite` as on `small_vector`. See the file comment.
template <class T, std::size_t N>
class static_vector {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                "static_vector: T must be a non-const, non-volatile object type");

  using size_field = detail::basic_count<detail::static_size_type<N>>;
  using alloc_type = std::allocator<T>;
  using elements_type = detail::vector_elements<alloc_type, T, size_field>;

 public:
  using value_type = T;
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

  // Construction --------------------------------------------------------------------------

  /// Constructs an empty vector. O(1), never throws.
  static_vector() noexcept {}  // NOLINT: user-provided, so `static_vector v{};` zeroes no buffer

  /// Constructs `n` value-initialised elements. Throws `std::bad_alloc` when `n > N`.
  explicit static_vector(size_type n) {
    check_room("static_vector", n);
    elements().value_init_construct(data(), n);
    size_ = static_cast<stored_size>(n);
  }
  /// Constructs `n` default-initialised elements (scalars are left indeterminate, to be
  /// overwritten). Throws `std::bad_alloc` when `n > N`.
  static_vector(size_type n, default_init_t) {
    check_room("static_vector", n);
    elements().default_init_construct(data(), n);
    size_ = static_cast<stored_size>(n);
  }
  /// Constructs `n` copies of `value`. Throws `std::bad_alloc` when `n > N`.
  static_vector(size_type n, const T& value) {
    check_room("static_vector", n);
    elements().fill_construct(data(), n, value);
    size_ = static_cast<stored_size>(n);
  }
  /// Constructs a copy of [first, last). Throws `std::bad_alloc` when it has more than N
  /// elements (before reading any when its length is known in advance).
  /// The elements built before a throw are destroyed (the constructor delegates to the
  /// default one, so the destructor runs).
  template <std::input_iterator It>
  static_vector(It first, It last) : static_vector() {
    append_iterators("static_vector", std::move(first), std::move(last));
  }
  /// Constructs a copy of `list`. Throws `std::bad_alloc` when it has more than N elements.
  static_vector(std::initializer_list<T> list) : static_vector() {
    append_iterators("static_vector", list.begin(), list.end());
  }

  /// Copies `other`'s elements. Trivial when T's copy constructor is.
  static_vector(const static_vector&) requires std::is_trivially_copy_constructible_v<T>
  = default;
  static_vector(const static_vector& other) noexcept(
      std::is_nothrow_copy_constructible_v<T>) requires(std::is_copy_constructible_v<T> &&
                                                        !std::is_trivially_copy_constructible_v<
                                                            T>) {
    elements().copy_construct(data(), other.begin(), other.size());
    size_ = other.size_;
  }
  /// Moves `other`'s elements one by one; `other` keeps its size, its elements moved-from
  /// (like `std::inplace_vector`). Trivial when T's move constructor is.
  static_vector(static_vector&&) requires std::is_trivially_move_constructible_v<T>
  = default;
  static_vector(static_vector&& other) noexcept(std::is_nothrow_move_constructible_v<T>) requires(
      std::is_move_constructible_v<T> && !std::is_trivially_move_constructible_v<T>) {
    elements().copy_construct(data(), std::make_move_iterator(other.begin()), other.size());
    size_ = other.size_;
  }

  ~static_vector() requires std::is_trivially_destructible_v<T>
  = default;
  ~static_vector() { elements().clear(); }

  /// Replaces the contents with a copy of `other`'s, assigning over the common prefix when T
  /// can be assigned (rebuilding the elements otherwise). Never throws beyond T's.
  static_vector& operator=(const static_vector&) requires(
      std::is_trivially_copy_assignable_v<T>&& std::is_trivially_copy_constructible_v<T>&&
          std::is_trivially_destructible_v<T>) = default;
  static_vector& operator=(const static_vector& other) requires(
      std::is_copy_constructible_v<T> &&
      !(std::is_trivially_copy_assignable_v<T> && std::is_trivially_copy_constructible_v<T> &&
        std::is_trivially_destructible_v<T>)) {
    if (this != &other) elements().assign_counted(other.begin(), other.size());
    return *this;
  }
  /// Replaces the contents with `other`'s, moved element by element; `other` keeps its size.
  static_vector& operator=(static_vector&&) requires(
      std::is_trivially_move_assignable_v<T>&& std::is_trivially_move_constructible_v<T>&&
          std::is_trivially_destructible_v<T>) = default;
  static_vector& operator=(static_vector&& other) noexcept(
      std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_move_assignable_v<
          T>) requires(std::is_move_constructible_v<T> &&
                       !(std::is_trivially_move_assignable_v<T> &&
                         std::is_trivially_move_constructible_v<T> &&
                         std::is_trivially_destructible_v<T>)) {
    if (this != &other) {
      elements().assign_counted(std::make_move_iterator(other.begin()), other.size());
    }
    return *this;
  }
  /// Replaces the contents with `list`. Throws `std::bad_alloc` when it has more than N.
  static_vector& operator=(std::initializer_list<T> list) {
    assign(list.begin(), list.end());
    return *this;
  }

  /// Replaces the contents with `count` copies of `value`, which may be an element. Throws
  /// `std::bad_alloc` when `count > N`, leaving the vector unchanged.
  void assign(size_type count, const T& value) {
    check_room("static_vector::assign", count);
    elements().assign_copies(count, value);
  }
  /// Replaces the contents with [first, last). When its length is known in advance, throws
  /// `std::bad_alloc` before changing anything if it exceeds N; for single-pass ranges the
  /// vector holds the first N elements when it throws. The range may be a part of this vector
  /// when its iterators are contiguous and T can be assigned from its elements.
  template <std::input_iterator It>
  void assign(It first, It last) {
    if constexpr (detail::length_known_in_advance<It>) {
      const size_type count = elements_type::distance_of(first, last);
      check_room("static_vector::assign", count);
      elements().assign_counted(std::move(first), count);
    } else {
      clear();
      append_iterators("static_vector::assign", std::move(first), std::move(last));
    }
  }
  void assign(std::initializer_list<T> list) { assign(list.begin(), list.end()); }
  /// Replaces the contents with the elements of `range` (like `assign`).
  template <std::ranges::input_range R>
  void assign_range(R&& range) {
    if constexpr (std::ranges::sized_range<R> || std::ranges::forward_range<R>) {
      const auto count = static_cast<size_type>(std::ranges::distance(range));
      check_room("static_vector::assign_range", count);
      elements().assign_counted(std::ranges::begin(range), count);
    } else {
      clear();
      append_iterators("static_vector::assign_range", std::ranges::begin(range),
                       std::ranges::end(range));
    }
  }

  // Element access -------------------------------------------------------------------------

  /// Returns the element at `i`. Throws `std::out_of_range` naming the index and the size
  /// when `i >= size()`.
  reference at(size_type i) FRUGAL_LIFETIMEBOUND {
    if (FRUGAL_UNLIKELY(i >= size())) detail::throw_out_of_range("static_vector::at", i, size());
    return data()[i];
  }
  const_reference at(size_type i) const FRUGAL_LIFETIMEBOUND {
    if (FRUGAL_UNLIKELY(i >= size())) detail::throw_out_of_range("static_vector::at", i, size());
    return data()[i];
  }
  /// Returns the element at `i`. Precondition `i < size()`, checked by FRUGAL_ASSERT.
  reference operator[](size_type i) noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(i < size());
    return data()[i];
  }
  const_reference operator[](size_type i) const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(i < size());
    return data()[i];
  }
  /// Returns the first element. Precondition `!empty()`, checked by FRUGAL_ASSERT.
  reference front() noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(!empty());
    return data()[0];
  }
  const_reference front() const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(!empty());
    return data()[0];
  }
  /// Returns the last element. Precondition `!empty()`, checked by FRUGAL_ASSERT.
  reference back() noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(!empty());
    return data()[size() - 1];
  }
  const_reference back() const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(!empty());
    return data()[size() - 1];
  }
  /// Returns a pointer to the elements (null when N is 0).
  T* data() noexcept FRUGAL_LIFETIMEBOUND { return storage_.data(); }
  const T* data() const noexcept FRUGAL_LIFETIMEBOUND { return storage_.data(); }

  // Iterators ------------------------------------------------------------------------------

  iterator begin() noexcept FRUGAL_LIFETIMEBOUND { return data(); }
  const_iterator begin() const noexcept FRUGAL_LIFETIMEBOUND { return data(); }
  const_iterator cbegin() const noexcept FRUGAL_LIFETIMEBOUND { return data(); }
  iterator end() noexcept FRUGAL_LIFETIMEBOUND { return data() + size(); }
  const_iterator end() const noexcept FRUGAL_LIFETIMEBOUND { return data() + size(); }
  const_iterator cend() const noexcept FRUGAL_LIFETIMEBOUND { return data() + size(); }
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

  // Size and capacity ----------------------------------------------------------------------

  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  size_type size() const noexcept { return static_cast<stored_size>(size_); }
  /// Returns N.
  static constexpr size_type capacity() noexcept { return N; }
  /// Returns N.
  static constexpr size_type max_size() noexcept { return N; }
  /// Does nothing when `n <= N`; throws `std::bad_alloc` otherwise.
  static void reserve(size_type n) {
    if (n > N) detail::throw_capacity_exceeded("static_vector::reserve", n, N);
  }
  /// Does nothing: the capacity is always N.
  static void shrink_to_fit() noexcept {}

  /// Resizes to `n` elements, value-initialising new ones. Throws `std::bad_alloc` when
  /// `n > N`, leaving the vector unchanged.
  void resize(size_type n) {
    resize_with(n, [&](T* dst, size_type count) { elements().value_init_construct(dst, count); });
  }
  /// Resizes to `n` elements, copying `value` (which may be an element) into new ones.
  void resize(size_type n, const T& value) {
    resize_with(n, [&](T* dst, size_type count) { elements().fill_construct(dst, count, value); });
  }
  /// Resizes to `n` elements, default-initialising new ones: scalars are left indeterminate,
  /// to be overwritten. Throws `std::bad_alloc` when `n > N`.
  void resize_for_overwrite(size_type n) {
    resize_with(n, [&](T* dst, size_type count) { elements().default_init_construct(dst, count); });
  }
  /// Same as `resize_for_overwrite(n)`.
  void resize(size_type n, default_init_t) { resize_for_overwrite(n); }

  // Adding at the end ----------------------------------------------------------------------

  /// Constructs an element at the end from `args` and returns a reference to it. O(1).
  /// Throws `std::bad_alloc` when the vector is full; strong exception guarantee.
  template <class... Args>
  reference emplace_back(Args&&... args) FRUGAL_LIFETIMEBOUND {
    if (FRUGAL_UNLIKELY(size() == N)) {
      detail::throw_capacity_exceeded("static_vector::emplace_back", N + 1, N);
    }
    return unchecked_emplace_back(std::forward<Args>(args)...);
  }
  /// Appends `value`; see `emplace_back`.
  reference push_back(const T& value) FRUGAL_LIFETIMEBOUND { return emplace_back(value); }
  reference push_back(T&& value) FRUGAL_LIFETIMEBOUND { return emplace_back(std::move(value)); }

  /// Constructs an element at the end from `args` and returns a pointer to it, or returns
  /// null and does nothing (`args` untouched) when the vector is full. O(1); throws only what
  /// T's constructor throws, strong guarantee.
  template <class... Args>
  T* try_emplace_back(Args&&... args) FRUGAL_LIFETIMEBOUND {
    if (FRUGAL_UNLIKELY(size() == N)) return nullptr;
    return std::addressof(unchecked_emplace_back(std::forward<Args>(args)...));
  }
  /// Appends `value` and returns a pointer to the new element, or null when full (a moved
  /// `value` is then left untouched).
  T* try_push_back(const T& value) FRUGAL_LIFETIMEBOUND { return try_emplace_back(value); }
  T* try_push_back(T&& value) FRUGAL_LIFETIMEBOUND { return try_emplace_back(std::move(value)); }

  /// Constructs an element at the end from `args` without checking for room. Precondition
  /// `size() < N`, checked by FRUGAL_ASSERT. O(1); throws only what T's constructor throws.
  template <class... Args>
  reference unchecked_emplace_back(Args&&... args) FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(size() < N);
    T* slot = data() + size();
    std::construct_at(slot, std::forward<Args>(args)...);
    ++size_;
    return *slot;
  }
  reference unchecked_push_back(const T& value) FRUGAL_LIFETIMEBOUND {
    return unchecked_emplace_back(value);
  }
  reference unchecked_push_back(T&& value) FRUGAL_LIFETIMEBOUND {
    return unchecked_emplace_back(std::move(value));
  }

  /// Appends the elements of `range`. Sized and forward ranges are measured first: when they
  /// do not fit, throws `std::bad_alloc` and nothing changes. A single-pass range is read one
  /// element at a time and throws when the (N+1)-th would not fit; the elements appended
  /// before stay. `v.append_range(v)` is safe.
  template <std::ranges::input_range R>
  void append_range(R&& range) {
    if constexpr (std::ranges::sized_range<R> || std::ranges::forward_range<R>) {
      const auto count = static_cast<size_type>(std::ranges::distance(range));
      check_room("static_vector::append_range", size() + count, count);
      elements().copy_construct(data() + size(), std::ranges::begin(range), count);
      size_ += static_cast<stored_size>(count);
    } else {
      append_iterators("static_vector::append_range", std::ranges::begin(range),
                       std::ranges::end(range));
    }
  }
  /// Appends the elements of `range` while they fit; returns an iterator to the first element
  /// not appended (the end when all were). Never throws `std::bad_alloc`; a throw from T
  /// keeps the elements appended before it.
  template <std::ranges::input_range R>
  std::ranges::borrowed_iterator_t<R> try_append_range(R&& range) {
    auto first = std::ranges::begin(range);
    const auto last = std::ranges::end(range);
    if constexpr (std::ranges::sized_range<R> && std::forward_iterator<decltype(first)>) {
      const size_type n = std::min(static_cast<size_type>(std::ranges::size(range)), N - size());
      elements().copy_construct(data() + size(), first, n);
      size_ += static_cast<stored_size>(n);
      return std::ranges::next(first, static_cast<std::iter_difference_t<decltype(first)>>(n));
    } else {
      for (; first != last && size() != N; ++first) unchecked_emplace_back(*first);
      return first;
    }
  }

  // Removing -------------------------------------------------------------------------------

  /// Removes the last element. Precondition `!empty()`, checked by FRUGAL_ASSERT.
  void pop_back() noexcept {
    FRUGAL_ASSERT(!empty());
    --size_;
    std::destroy_at(data() + size());
  }
  /// Removes the last element and returns it, moved out. O(1). Throws only what T's move
  /// constructor throws, and the vector is unchanged then. Precondition `!empty()`
  /// (FRUGAL_ASSERT).
  [[nodiscard]] T pop_back_val() requires std::move_constructible<T> {
    FRUGAL_ASSERT(!empty());
    T value(std::move(data()[size() - 1]));
    pop_back();
    return value;
  }
  /// Destroys the elements past the first `n`; does nothing when `n >= size()`. Never throws.
  void truncate(size_type n) noexcept {
    if (n < size()) elements().truncate(n);
  }
  /// Destroys every element. Never throws.
  void clear() noexcept { elements().clear(); }

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
    return elements().erase(data() + (first - data()), data() + (last - data()));
  }

  // Inserting ------------------------------------------------------------------------------

  /// Constructs an element from `args` (which may refer to elements) before `pos`; returns an
  /// iterator to it. O(size() - index). Throws `std::bad_alloc` when full, changing nothing.
  /// Basic exception guarantee otherwise (strong at the end).
  template <class... Args>
  iterator emplace(const_iterator pos, Args&&... args) {
    const size_type index = index_of(pos);
    if (FRUGAL_UNLIKELY(size() == N)) {
      detail::throw_capacity_exceeded("static_vector::emplace", N + 1, N);
    }
    if (index == size()) {
      unchecked_emplace_back(std::forward<Args>(args)...);
    } else {
      elements().emplace_in_place(index, std::forward<Args>(args)...);
    }
    return data() + index;
  }
  /// Inserts `value` before `pos`; see `emplace`.
  iterator insert(const_iterator pos, const T& value) { return emplace(pos, value); }
  iterator insert(const_iterator pos, T&& value) { return emplace(pos, std::move(value)); }
  /// Inserts `count` copies of `value` (which may be an element) before `pos`; returns an
  /// iterator to the first. Throws `std::bad_alloc` when they do not fit, changing nothing.
  iterator insert(const_iterator pos, size_type count, const T& value) {
    const size_type index = index_of(pos);
    check_room("static_vector::insert", size() + count, count);
    if (count != 0) elements().insert_copies(index, count, value);
    return data() + index;
  }
  /// Inserts [first, last) before `pos`; returns an iterator to the first inserted element.
  /// When the length is known in advance, throws `std::bad_alloc` before changing anything if
  /// it does not fit; a single-pass range is appended, then rotated into place, and when it
  /// does not fit the elements read are removed again before the throw. The range may be a
  /// part of this vector when its iterators are contiguous.
  template <std::input_iterator It>
  iterator insert(const_iterator pos, It first, It last) {
    const size_type index = index_of(pos);
    if constexpr (detail::length_known_in_advance<It>) {
      const size_type count = elements_type::distance_of(first, last);
      check_room("static_vector::insert", size() + count, count);
      if (count != 0) elements().insert_counted(index, std::move(first), count);
    } else {
      insert_single_pass(index, std::move(first), std::move(last));
    }
    return data() + index;
  }
  iterator insert(const_iterator pos, std::initializer_list<T> list) {
    return insert(pos, list.begin(), list.end());
  }
  /// Inserts the elements of `range` before `pos`; see `insert(pos, first, last)`.
  template <std::ranges::input_range R>
  iterator insert_range(const_iterator pos, R&& range) {
    const size_type index = index_of(pos);
    if constexpr (std::ranges::sized_range<R> || std::ranges::forward_range<R>) {
      const auto count = static_cast<size_type>(std::ranges::distance(range));
      check_room("static_vector::insert_range", size() + count, count);
      if (count != 0) elements().insert_counted(index, std::ranges::begin(range), count);
    } else {
      insert_single_pass(index, std::ranges::begin(range), std::ranges::end(range));
    }
    return data() + index;
  }

  /// Exchanges the contents with `other` element by element. O(max(size(), other.size())).
  /// Never allocates; basic exception guarantee.
  void swap(static_vector& other) noexcept(N == 0 || (std::is_nothrow_swappable_v<T> &&
                                                      std::is_nothrow_move_constructible_v<T>)) {
    if (this == &other) return;
    static_vector& big = size() >= other.size() ? *this : other;
    static_vector& small = size() >= other.size() ? other : *this;
    const size_type common = small.size();
    std::swap_ranges(small.begin(), small.end(), big.begin());
    detail::relocate_n(alloc_, big.data() + common, big.size() - common, small.data() + common);
    small.size_ = big.size_;
    big.size_ = static_cast<stored_size>(common);
  }
  /// Exchanges the contents of `a` and `b`; see `swap`.
  friend void swap(static_vector& a, static_vector& b) noexcept(noexcept(a.swap(b))) { a.swap(b); }

  // Comparisons ----------------------------------------------------------------------------

  /// Returns true when both hold equal elements in the same order.
  friend bool operator==(const static_vector& a, const static_vector& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
  /// Compares lexicographically, like `std::vector`.
  friend auto operator<=>(const static_vector& a, const static_vector& b) {
    return detail::three_way_sequence(a.data(), a.size(), b.data(), b.size());
  }

 private:
  using stored_size = typename size_field::value_type;

  elements_type elements() noexcept { return {alloc_, data(), size_}; }

  size_type index_of(const_iterator pos) const noexcept {
    FRUGAL_ASSERT(pos >= begin() && pos <= end());
    return static_cast<size_type>(pos - data());
  }

  // Throws std::bad_alloc when `needed` elements exceed N; `added` (the elements being added
  // to the current ones) catches sums that wrapped around.
  static void check_room(const char* where, size_type needed, size_type added = 0) {
    if (FRUGAL_UNLIKELY(needed > N || added > N)) {
      detail::throw_capacity_exceeded(where, added > N ? added : needed, N);
    }
  }

  template <class Build>
  void resize_with(size_type n, Build&& build) {
    if (n <= size()) {
      truncate(n);
    } else {
      check_room("static_vector::resize", n);
      build(data() + size(), n - size());
      size_ = static_cast<stored_size>(n);
    }
  }

  // Appends [first, last): measured first when its length is known, otherwise read one
  // element at a time until the vector is full.
  template <class It, class Sentinel>
  void append_iterators(const char* where, It first, Sentinel last) {
    if constexpr (std::is_same_v<It, Sentinel> && detail::length_known_in_advance<It>) {
      const size_type count = elements_type::distance_of(first, last);
      check_room(where, size() + count, count);
      elements().copy_construct(data() + size(), std::move(first), count);
      size_ += static_cast<stored_size>(count);
    } else {
      for (; first != last; ++first) {
        if (FRUGAL_UNLIKELY(size() == N)) detail::throw_capacity_exceeded(where, N + 1, N);
        unchecked_emplace_back(*first);
      }
    }
  }

  // Inserts a single-pass range at `index`: appends, then rotates into place. When the range
  // does not fit, or an element's construction throws, the appended elements are removed.
  template <class It, class Sentinel>
  void insert_single_pass(size_type index, It first, Sentinel last) {
    const size_type old_size = size();
    detail::run_or_clean_up(
        [&] { append_iterators("static_vector::insert", std::move(first), std::move(last)); },
        [&] { truncate(old_size); });
    std::rotate(data() + index, data() + old_size, data() + size());
  }

  // No allocator member: std::allocator's destructor is not trivial in every standard library,
  // and static_vector<T, N> must be trivially copyable and destructible when T is.
  static inline alloc_type alloc_{};

  size_field size_{};
  [[no_unique_address]] detail::static_storage<T, N> storage_;
};

/// Removes every element equal to `value`; returns how many were removed.
template <class T, std::size_t N, class U>
std::size_t erase(static_vector<T, N>& v, const U& value) {
  auto it = std::remove(v.begin(), v.end(), value);
  const auto removed = static_cast<std::size_t>(v.end() - it);
  v.erase(it, v.end());
  return removed;
}

/// Removes every element for which `pred` returns true; returns how many were removed.
template <class T, std::size_t N, class Pred>
std::size_t erase_if(static_vector<T, N>& v, Pred pred) {
  auto it = std::remove_if(v.begin(), v.end(), pred);
  const auto removed = static_cast<std::size_t>(v.end() - it);
  v.erase(it, v.end());
  return removed;
}

FRUGAL_END_NAMESPACE

/// Hashes a static_vector when its element type has an enabled `std::hash`, the same way as a
/// small_vector with the same elements. O(size()); never allocates.
template <class T, std::size_t N>
requires frugal::detail::std_hashable<T>
struct std::hash<frugal::static_vector<T, N>> {
  std::size_t operator()(const frugal::static_vector<T, N>& v) const
      noexcept(noexcept(std::hash<T>{}(std::declval<const T&>()))) {
    return frugal::detail::hash_sequence(v.data(), v.size());
  }
};
