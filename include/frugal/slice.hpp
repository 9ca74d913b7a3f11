// frugal/slice.hpp: Rust's zero-copy slice operations for contiguous ranges, in C++20.
//
// Every function takes a contiguous range (a C array, std::array, std::vector, std::string,
// std::span, std::string_view, frugal::small_vector, ...) and returns views into it, never
// copies: `std::span<T>` for element ranges and `std::basic_string_view<C>` for strings
// (std::basic_string and std::basic_string_view). Nothing allocates; everything is constexpr.
//
// Lifetimes: a view never outlives its range. Passing a temporary container that owns its
// elements (`first_n(std::vector<int>{1, 2, 3}, 2)`) does not compile, because the result
// would dangle; temporaries of borrowed ranges (std::span, std::string_view) are fine.
//
// Bad input: counts larger than the range are clamped where Rust clamps (`first_n`,
// `last_n`), give an empty std::optional where Rust returns Option (`subslice`,
// `try_split_at`, `split_first`, `strip_prefix`, ...), and throw where Rust panics
// (`split_at` throws std::out_of_range; a chunk size of 0 throws std::invalid_argument).
#pragma once

#include <frugal/detail/config.hpp>

#include <compare>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

FRUGAL_BEGIN_NAMESPACE

namespace detail {

template <class T>
struct is_string_like : std::false_type {};
template <class C, class Traits, class A>
struct is_string_like<std::basic_string<C, Traits, A>> : std::true_type {};
template <class C, class Traits>
struct is_string_like<std::basic_string_view<C, Traits>> : std::true_type {};

// The character types whose const arrays are string literals.
template <class T>
inline constexpr bool is_char_v =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

template <class R>
using range_element_t = std::remove_reference_t<std::ranges::range_reference_t<R>>;

template <class R, bool String = is_string_like<std::remove_cvref_t<R>>::value>
struct view_of {
  using type = std::span<range_element_t<R>>;
};
template <class R>
struct view_of<R, true> {
  using type = std::basic_string_view<std::ranges::range_value_t<R>,
                                      typename std::remove_cvref_t<R>::traits_type>;
};

template <class V, class P>
constexpr V make_view(P p, std::size_t n) noexcept {
  return V(p, n);
}

// A const array of a character type: what a string literal is.
template <class A>
inline constexpr bool is_char_literal_v = (std::is_array_v<A> &&
                                           std::is_const_v<std::remove_extent_t<A>> &&
                                           is_char_v<std::remove_cv_t<std::remove_extent_t<A>>>);

// The number of elements a slice of `r`, of type `A` as the caller named it, holds: a const
// character array whose last element is '\0' (a string literal) holds one fewer than its
// extent; every other range holds its size.
template <class A>
constexpr std::size_t slice_size(const std::remove_reference_t<A>& r) noexcept {
  const auto n = static_cast<std::size_t>(std::ranges::size(r));
  if constexpr (is_char_literal_v<std::remove_reference_t<A>>) {
    if (n != 0 &&
        r[n - 1] == std::remove_cv_t<std::remove_extent_t<std::remove_reference_t<A>>>()) {
      return n - 1;
    }
  }
  return n;
}

[[noreturn]] FRUGAL_COLD inline void throw_split_at(std::size_t index, std::size_t size) {
  FRUGAL_THROW(std::out_of_range("split_at: index " + std::to_string(index) + " > size " +
                                 std::to_string(size)));
}

[[noreturn]] FRUGAL_COLD inline void throw_zero_size(const char* what) {
  FRUGAL_THROW(std::invalid_argument(std::string(what) + ": chunk size must be positive"));
}

}  // namespace detail

/// A contiguous range whose views stay valid after the call: an lvalue, or a borrowed range
/// such as std::span or std::string_view. A temporary std::vector or std::string is not.
template <class R>
concept sliceable = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    std::ranges::borrowed_range<R>;

/// The view type the functions return for `R`: std::span<T> (const T for const ranges), or
/// std::basic_string_view<C> for std::basic_string and std::basic_string_view.
template <sliceable R>
using slice_t = typename detail::view_of<R>::type;

namespace detail {

// Every function has two overloads, so that clang's -Wdangling can follow each view to the
// storage it points into:
// - an owner (a container, a C array, any range that is not borrowed) is taken by lvalue
//   reference only, marked lifetimebound: the result lives no longer than that object;
// - a borrowed range (std::string_view, std::span, ...) is taken by value, marked
//   lifetimebound too: clang then tracks what the view itself borrows, so
//   `trim(make_cow().view())` warns while `trim(std::string_view(buffer))` does not.
// A temporary owner matches neither and does not compile.
template <class R>
concept owner_slice = sliceable<R&> && !std::ranges::borrowed_range<std::remove_cv_t<R>>;

// An lvalue reference to an owner: what the owner overloads take (`R&&` with `R` an lvalue
// reference, so that a const temporary, which `const T&` would accept, does not match).
template <class R>
concept owner_ref = std::is_lvalue_reference_v<R> && owner_slice<std::remove_reference_t<R>>;

template <class V>
concept borrowed_slice = sliceable<V> && std::is_object_v<V> && !std::is_const_v<V>;

}  // namespace detail

/// Returns a view of all of `r`. A string literal (a const character array ending in '\0')
/// gives its characters without the terminator; other arrays give every element.
template <detail::borrowed_slice V>
constexpr slice_t<V> as_slice(V r FRUGAL_LIFETIMEBOUND) noexcept {
  return detail::make_view<slice_t<V>>(std::ranges::data(r), detail::slice_size<V>(r));
}
template <detail::owner_ref R>
constexpr slice_t<R> as_slice(R&& r FRUGAL_LIFETIMEBOUND) noexcept {
  return detail::make_view<slice_t<R>>(std::ranges::data(r), detail::slice_size<R>(r));
}

/// Returns the first `min(n, size)` elements. Never throws. O(1).
template <detail::borrowed_slice V>
constexpr slice_t<V> first_n(V r FRUGAL_LIFETIMEBOUND, std::size_t n) noexcept {
  const auto v = as_slice(r);
  return detail::make_view<slice_t<V>>(v.data(), n < v.size() ? n : v.size());
}
template <detail::owner_ref R>
constexpr slice_t<R> first_n(R&& r FRUGAL_LIFETIMEBOUND, std::size_t n) noexcept {
  return first_n(as_slice(r), n);
}

/// Returns the last `min(n, size)` elements. Never throws. O(1).
template <detail::borrowed_slice V>
constexpr slice_t<V> last_n(V r FRUGAL_LIFETIMEBOUND, std::size_t n) noexcept {
  const auto v = as_slice(r);
  const std::size_t k = n < v.size() ? n : v.size();
  return detail::make_view<slice_t<V>>(v.data() + (v.size() - k), k);
}
template <detail::owner_ref R>
constexpr slice_t<R> last_n(R&& r FRUGAL_LIFETIMEBOUND, std::size_t n) noexcept {
  return last_n(as_slice(r), n);
}

/// Returns `[0, i)` and `[i, size)`, or an empty optional when `i > size`. O(1).
template <detail::borrowed_slice V>
constexpr std::optional<std::pair<slice_t<V>, slice_t<V>>> try_split_at(V r FRUGAL_LIFETIMEBOUND,
                                                                        std::size_t i) noexcept {
  const auto v = as_slice(r);
  if (i > v.size()) return std::nullopt;
  using S = slice_t<V>;
  return std::pair<S, S>(detail::make_view<S>(v.data(), i),
                         detail::make_view<S>(v.data() + i, v.size() - i));
}
template <detail::owner_ref R>
constexpr std::optional<std::pair<slice_t<R>, slice_t<R>>> try_split_at(R&& r FRUGAL_LIFETIMEBOUND,
                                                                        std::size_t i) noexcept {
  return try_split_at(as_slice(r), i);
}

/// Returns `[0, i)` and `[i, size)`. Throws std::out_of_range naming both values when
/// `i > size` (Rust's `split_at` panics there). O(1).
template <detail::borrowed_slice V>
constexpr std::pair<slice_t<V>, slice_t<V>> split_at(V r FRUGAL_LIFETIMEBOUND, std::size_t i) {
  const auto v = as_slice(r);
  if (i > v.size()) detail::throw_split_at(i, v.size());
  using S = slice_t<V>;
  return {detail::make_view<S>(v.data(), i), detail::make_view<S>(v.data() + i, v.size() - i)};
}
template <detail::owner_ref R>
constexpr std::pair<slice_t<R>, slice_t<R>> split_at(R&& r FRUGAL_LIFETIMEBOUND, std::size_t i) {
  return split_at(as_slice(r), i);
}

/// Returns `[from, to)`, or an empty optional unless `from <= to <= size` (Rust's
/// `get(from..to)`). O(1).
template <detail::borrowed_slice V>
constexpr std::optional<slice_t<V>> subslice(V r FRUGAL_LIFETIMEBOUND, std::size_t from,
                                             std::size_t to) noexcept {
  const auto v = as_slice(r);
  if (from > to || to > v.size()) return std::nullopt;
  return detail::make_view<slice_t<V>>(v.data() + from, to - from);
}
template <detail::owner_ref R>
constexpr std::optional<slice_t<R>> subslice(R&& r FRUGAL_LIFETIMEBOUND, std::size_t from,
                                             std::size_t to) noexcept {
  return subslice(as_slice(r), from, to);
}

/// Returns the first element and the rest, or an empty optional when `r` is empty.
template <detail::borrowed_slice V>
constexpr auto split_first(V r FRUGAL_LIFETIMEBOUND) noexcept
    -> std::optional<std::pair<std::ranges::range_reference_t<slice_t<V>>, slice_t<V>>> {
  const auto v = as_slice(r);
  if (v.empty()) return std::nullopt;
  using P = std::pair<std::ranges::range_reference_t<slice_t<V>>, slice_t<V>>;
  return P(*v.data(), detail::make_view<slice_t<V>>(v.data() + 1, v.size() - 1));
}
template <detail::owner_ref R>
constexpr auto split_first(R&& r FRUGAL_LIFETIMEBOUND) noexcept
    -> std::optional<std::pair<std::ranges::range_reference_t<R>, slice_t<R>>> {
  const auto v = as_slice(r);
  if (v.empty()) return std::nullopt;
  using P = std::pair<std::ranges::range_reference_t<R>, slice_t<R>>;
  return P(*std::ranges::data(r), detail::make_view<slice_t<R>>(v.data() + 1, v.size() - 1));
}

/// Returns the last element and the rest, or an empty optional when `r` is empty.
template <detail::borrowed_slice V>
constexpr auto split_last(V r FRUGAL_LIFETIMEBOUND) noexcept
    -> std::optional<std::pair<std::ranges::range_reference_t<slice_t<V>>, slice_t<V>>> {
  const auto v = as_slice(r);
  if (v.empty()) return std::nullopt;
  using P = std::pair<std::ranges::range_reference_t<slice_t<V>>, slice_t<V>>;
  return P(v.data()[v.size() - 1], detail::make_view<slice_t<V>>(v.data(), v.size() - 1));
}
template <detail::owner_ref R>
constexpr auto split_last(R&& r FRUGAL_LIFETIMEBOUND) noexcept
    -> std::optional<std::pair<std::ranges::range_reference_t<R>, slice_t<R>>> {
  const auto v = as_slice(r);
  if (v.empty()) return std::nullopt;
  using P = std::pair<std::ranges::range_reference_t<R>, slice_t<R>>;
  return P(std::ranges::data(r)[v.size() - 1],
           detail::make_view<slice_t<R>>(v.data(), v.size() - 1));
}

namespace detail {

template <class V, class P>
constexpr bool starts_with(const V& v, const P& prefix) {
  const auto n = static_cast<std::size_t>(std::ranges::size(prefix));
  if (n > v.size()) return false;
  auto it = std::ranges::begin(prefix);
  for (std::size_t i = 0; i < n; ++i, ++it) {
    if (!(v[i] == *it)) return false;
  }
  return true;
}

template <class V, class P>
constexpr bool ends_with(const V& v, const P& suffix) {
  const auto n = static_cast<std::size_t>(std::ranges::size(suffix));
  if (n > v.size()) return false;
  auto it = std::ranges::begin(suffix);
  const std::size_t off = v.size() - n;
  for (std::size_t i = 0; i < n; ++i, ++it) {
    if (!(v[off + i] == *it)) return false;
  }
  return true;
}

// Calls `f` with the pattern `p`, of type `P` as the caller named it, as the caller meant it:
// for a string slice, anything that converts to its string view type (a C string, a
// std::string) as that view; a string literal as its characters without the terminator;
// otherwise the range itself.
template <class V, class P, class F>
constexpr decltype(auto) with_pattern(const std::remove_reference_t<P>& p, F&& f) {
  using A = std::remove_reference_t<P>;
  if constexpr (is_string_like<V>::value && std::is_convertible_v<const A&, V>) {
    return f(V(p));
  } else if constexpr (is_char_literal_v<A>) {
    return f(std::span<std::remove_extent_t<A>>(p, slice_size<A>(p)));
  } else {
    return f(p);
  }
}

}  // namespace detail

/// Returns the rest of `r` after `prefix`, or an empty optional when `r` does not start with
/// it. `prefix` is any sized range of comparable elements (for strings: a string, a view or
/// a C string; a string literal counts without its terminating '\0'). O(size of prefix).
template <detail::borrowed_slice V, class P>
constexpr std::optional<slice_t<V>> strip_prefix(V r FRUGAL_LIFETIMEBOUND, P&& prefix) {
  const auto v = as_slice(r);
  return detail::with_pattern<slice_t<V>, P>(
      prefix, [&](const auto& p) -> std::optional<slice_t<V>> {
        if (!detail::starts_with(v, p)) return std::nullopt;
        const auto n = static_cast<std::size_t>(std::ranges::size(p));
        return detail::make_view<slice_t<V>>(v.data() + n, v.size() - n);
      });
}
template <detail::owner_ref R, class P>
constexpr std::optional<slice_t<R>> strip_prefix(R&& r FRUGAL_LIFETIMEBOUND, P&& prefix) {
  return strip_prefix(as_slice(r), std::forward<P>(prefix));
}

/// Returns `r` without `suffix`, or an empty optional when `r` does not end with it.
template <detail::borrowed_slice V, class P>
constexpr std::optional<slice_t<V>> strip_suffix(V r FRUGAL_LIFETIMEBOUND, P&& suffix) {
  const auto v = as_slice(r);
  return detail::with_pattern<slice_t<V>, P>(
      suffix, [&](const auto& p) -> std::optional<slice_t<V>> {
        if (!detail::ends_with(v, p)) return std::nullopt;
        const auto n = static_cast<std::size_t>(std::ranges::size(p));
        return detail::make_view<slice_t<V>>(v.data(), v.size() - n);
      });
}
template <detail::owner_ref R, class P>
constexpr std::optional<slice_t<R>> strip_suffix(R&& r FRUGAL_LIFETIMEBOUND, P&& suffix) {
  return strip_suffix(as_slice(r), std::forward<P>(suffix));
}

// Chunked views ---------------------------------------------------------------------------

namespace detail {

enum class chunk_kind { forward, exact, reverse, window };

// Where the pieces of a chunked view over `size` elements with chunk size `n` lie. Piece i
// is named by its position i * step (step = 1 for windows, n otherwise), so that stepping is
// one addition with no clamp and iterating costs what the equivalent index loop costs.
template <chunk_kind Kind>
struct chunk_math {
  static constexpr std::size_t count(std::size_t size, std::size_t n) noexcept {
    if constexpr (Kind == chunk_kind::exact) {
      return size / n;
    } else if constexpr (Kind == chunk_kind::window) {
      return size >= n ? size - n + 1 : 0;
    } else {
      return size / n + (size % n != 0 ? 1 : 0);
    }
  }
  static constexpr std::size_t step(std::size_t n) noexcept {
    return Kind == chunk_kind::window ? 1 : n;
  }
  // Returns {offset, length} of the piece at `pos`.
  static constexpr std::pair<std::size_t, std::size_t> item(std::size_t size, std::size_t n,
                                                            std::size_t pos) noexcept {
    if constexpr (Kind == chunk_kind::reverse) {
      const std::size_t end = size - pos;
      const std::size_t begin = end > n ? end - n : 0;
      return {begin, end - begin};
    } else if constexpr (Kind == chunk_kind::forward) {
      const std::size_t left = size - pos;
      return {pos, left < n ? left : n};
    } else {
      return {pos, n};
    }
  }
};

}  // namespace detail

/// A random-access view of the pieces of a slice (see `chunks`, `chunks_exact`, `rchunks`,
/// `windows`). Each element is a view of type `V`. Models std::ranges::view,
/// borrowed_range, random_access_range and sized_range. O(1) to create and to index.
template <class V, detail::chunk_kind Kind>
class chunked_view : public std::ranges::view_interface<chunked_view<V, Kind>> {
  using math = detail::chunk_math<Kind>;

 public:
  class iterator {
   public:
    using iterator_concept = std::random_access_iterator_tag;
    using iterator_category = std::input_iterator_tag;  // items are values, not references
    using value_type = V;
    using difference_type = std::ptrdiff_t;

    constexpr iterator() noexcept = default;
    constexpr iterator(V base, std::size_t n, std::size_t pos) noexcept
        : base_(base), n_(n), pos_(pos) {}

    constexpr V operator*() const noexcept {
      const auto [offset, length] = math::item(base_.size(), n_, pos_);
      return detail::make_view<V>(base_.data() + offset, length);
    }
    constexpr V operator[](difference_type k) const noexcept { return *(*this + k); }

    constexpr iterator& operator++() noexcept {
      pos_ += math::step(n_);
      return *this;
    }
    constexpr iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    constexpr iterator& operator--() noexcept {
      pos_ -= math::step(n_);
      return *this;
    }
    constexpr iterator operator--(int) noexcept {
      iterator old = *this;
      --*this;
      return old;
    }
    constexpr iterator& operator+=(difference_type k) noexcept {
      pos_ = static_cast<std::size_t>(static_cast<difference_type>(pos_) +
                                      k * static_cast<difference_type>(math::step(n_)));
      return *this;
    }
    constexpr iterator& operator-=(difference_type k) noexcept { return *this += -k; }
    friend constexpr iterator operator+(iterator it, difference_type k) noexcept { return it += k; }
    friend constexpr iterator operator+(difference_type k, iterator it) noexcept { return it += k; }
    friend constexpr iterator operator-(iterator it, difference_type k) noexcept { return it -= k; }
    friend constexpr difference_type operator-(const iterator& a, const iterator& b) noexcept {
      return (static_cast<difference_type>(a.pos_) - static_cast<difference_type>(b.pos_)) /
             static_cast<difference_type>(math::step(a.n_));
    }
    friend constexpr bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.pos_ == b.pos_;
    }
    friend constexpr std::strong_ordering operator<=>(const iterator& a,
                                                      const iterator& b) noexcept {
      return a.pos_ <=> b.pos_;
    }

   private:
    V base_{};
    std::size_t n_ = 1;
    std::size_t pos_ = 0;
  };

  constexpr chunked_view() noexcept = default;
  /// Views `base` in pieces of `n` (precondition `n > 0`, checked by FRUGAL_ASSERT). A size
  /// larger than the slice gives the pieces that size gives (for `chunks` and `rchunks`, one
  /// piece of everything), so positions never leave the range of std::ptrdiff_t.
  constexpr chunked_view(V base, std::size_t n) noexcept
      : base_(base), n_(n <= base.size() ? n : base.size() + 1) {
    FRUGAL_ASSERT(n != 0);
  }

  constexpr iterator begin() const noexcept { return iterator(base_, n_, 0); }
  constexpr iterator end() const noexcept { return iterator(base_, n_, size() * math::step(n_)); }
  constexpr std::size_t size() const noexcept { return math::count(base_.size(), n_); }
  /// Returns piece `i` (precondition `i < size()`, checked by FRUGAL_ASSERT). O(1).
  constexpr V operator[](std::size_t i) const noexcept {
    FRUGAL_ASSERT(i < size());
    return begin()[static_cast<std::ptrdiff_t>(i)];
  }

  /// For `chunks_exact`: the elements left over after the last full chunk (fewer than n).
  constexpr V remainder() const noexcept requires(Kind == detail::chunk_kind::exact) {
    const std::size_t full = base_.size() / n_ * n_;
    return detail::make_view<V>(base_.data() + full, base_.size() - full);
  }

 private:
  V base_{};
  std::size_t n_ = 1;
};

/// Splits `r` into chunks of `n` elements; the last one may be shorter, and a size at least
/// as large as `r` gives one chunk of everything. Lazy, random access. Throws
/// std::invalid_argument when `n == 0`.
template <detail::borrowed_slice V>
constexpr chunked_view<slice_t<V>, detail::chunk_kind::forward> chunks(V r FRUGAL_LIFETIMEBOUND,
                                                                       std::size_t n) {
  if (n == 0) detail::throw_zero_size("chunks");
  return {as_slice(r), n};
}
template <detail::owner_ref R>
constexpr chunked_view<slice_t<R>, detail::chunk_kind::forward> chunks(R&& r FRUGAL_LIFETIMEBOUND,
                                                                       std::size_t n) {
  return chunks(as_slice(r), n);
}

/// Splits `r` into chunks of exactly `n` elements; `remainder()` gives the rest (all of `r`
/// when `n > size`). Throws std::invalid_argument when `n == 0`.
template <detail::borrowed_slice V>
constexpr chunked_view<slice_t<V>, detail::chunk_kind::exact> chunks_exact(V r FRUGAL_LIFETIMEBOUND,
                                                                           std::size_t n) {
  if (n == 0) detail::throw_zero_size("chunks_exact");
  return {as_slice(r), n};
}
template <detail::owner_ref R>
constexpr chunked_view<slice_t<R>, detail::chunk_kind::exact> chunks_exact(
    R&& r FRUGAL_LIFETIMEBOUND, std::size_t n) {
  return chunks_exact(as_slice(r), n);
}

/// Splits `r` into chunks of `n` elements starting from the end; the last chunk (the
/// front of `r`) may be shorter. Throws std::invalid_argument when `n == 0`.
template <detail::borrowed_slice V>
constexpr chunked_view<slice_t<V>, detail::chunk_kind::reverse> rchunks(V r FRUGAL_LIFETIMEBOUND,
                                                                        std::size_t n) {
  if (n == 0) detail::throw_zero_size("rchunks");
  return {as_slice(r), n};
}
template <detail::owner_ref R>
constexpr chunked_view<slice_t<R>, detail::chunk_kind::reverse> rchunks(R&& r FRUGAL_LIFETIMEBOUND,
                                                                        std::size_t n) {
  return rchunks(as_slice(r), n);
}

/// Every run of `n` consecutive elements, overlapping; empty when `n > size`. Throws
/// std::invalid_argument when `n == 0`.
template <detail::borrowed_slice V>
constexpr chunked_view<slice_t<V>, detail::chunk_kind::window> windows(V r FRUGAL_LIFETIMEBOUND,
                                                                       std::size_t n) {
  if (n == 0) detail::throw_zero_size("windows");
  return {as_slice(r), n};
}
template <detail::owner_ref R>
constexpr chunked_view<slice_t<R>, detail::chunk_kind::window> windows(R&& r FRUGAL_LIFETIMEBOUND,
                                                                       std::size_t n) {
  return windows(as_slice(r), n);
}

// Splitting by predicate -------------------------------------------------------------------

namespace detail {

// Holds a predicate so that the view holding it is assignable even when the predicate is not
// (a lambda with captures has no assignment operator): assignment destroys the held value and
// constructs a copy in its place, as the standard views' movable-box does. Empty only after a
// default construction of a predicate that cannot be default-constructed, or after a copy
// that threw; calling it then is a precondition violation.
template <class T>
class movable_box {
 public:
  constexpr movable_box() noexcept(
      std::is_nothrow_default_constructible_v<T>) requires std::default_initializable<T>
      : value_(std::in_place) {}
  constexpr movable_box() noexcept requires(!std::default_initializable<T>) = default;
  constexpr explicit movable_box(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::in_place, std::move(value)) {}

  constexpr movable_box(const movable_box&) = default;
  constexpr movable_box(movable_box&&) = default;

  constexpr movable_box& operator=(const movable_box& other) noexcept(
      std::is_nothrow_copy_constructible_v<T>) requires std::copy_constructible<T> {
    if (this != &other) {
      value_.reset();
      if (other.value_) value_.emplace(*other.value_);
    }
    return *this;
  }
  constexpr movable_box& operator=(movable_box&& other) noexcept(
      std::is_nothrow_move_constructible_v<T>) {
    if (this != &other) {
      value_.reset();
      if (other.value_) value_.emplace(std::move(*other.value_));
    }
    return *this;
  }

  constexpr const T& operator*() const noexcept {
    FRUGAL_ASSERT(value_.has_value());
    return *value_;
  }

 private:
  std::optional<T> value_;
};

}  // namespace detail

/// A forward view of the pieces of a slice between elements that match a predicate (see
/// `split`). Separators are not part of any piece; `n` separators give `n + 1` pieces, some
/// possibly empty, as in Rust. Models std::ranges::view and forward_range, also with a
/// predicate that cannot be assigned (a lambda with captures); its iterators refer to the
/// view, so it is not a borrowed range.
template <class V, class Pred>
class split_view : public std::ranges::view_interface<split_view<V, Pred>> {
 public:
  class iterator {
   public:
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = V;
    using difference_type = std::ptrdiff_t;

    constexpr iterator() noexcept = default;
    constexpr iterator(const split_view* parent, std::size_t start)
        : parent_(parent), start_(start) {
      find_end();
    }

    constexpr V operator*() const noexcept {
      return detail::make_view<V>(parent_->base_.data() + start_, end_ - start_);
    }
    constexpr iterator& operator++() {
      if (end_ == parent_->base_.size()) {
        start_ = npos;  // past the last piece
      } else {
        start_ = end_ + 1;
        find_end();
      }
      return *this;
    }
    constexpr iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend constexpr bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.start_ == b.start_;
    }

   private:
    friend split_view;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    constexpr void find_end() {
      const V& b = parent_->base_;
      std::size_t e = start_;
      while (e < b.size() && !std::invoke(*parent_->pred_, b[e])) ++e;
      end_ = e;
    }

    const split_view* parent_ = nullptr;
    std::size_t start_ = npos;
    std::size_t end_ = 0;
  };

  constexpr split_view() = default;
  constexpr split_view(V base, Pred pred) : base_(base), pred_(std::move(pred)) {}

  constexpr iterator begin() const { return iterator(this, 0); }
  constexpr iterator end() const noexcept {
    iterator it;
    it.parent_ = this;
    return it;
  }

 private:
  V base_{};
  detail::movable_box<Pred> pred_{};
};

/// Splits `r` at every element for which `pred` returns true, yielding the pieces between
/// (Rust's `split`). Lazy; never allocates. The view refers to itself while iterating: keep
/// it alive while its iterators are in use.
template <detail::borrowed_slice V, class Pred>
requires std::predicate<const Pred&, std::ranges::range_reference_t<slice_t<V>>> &&
    std::move_constructible<Pred>
constexpr split_view<slice_t<V>, Pred> split(V r FRUGAL_LIFETIMEBOUND, Pred pred) {
  return {as_slice(r), std::move(pred)};
}
template <detail::owner_ref R, class Pred>
requires std::predicate<const Pred&, std::ranges::range_reference_t<slice_t<R>>> &&
    std::move_constructible<Pred>
constexpr split_view<slice_t<R>, Pred> split(R&& r FRUGAL_LIFETIMEBOUND, Pred pred) {
  return {as_slice(r), std::move(pred)};
}

/// A forward view of the maximal runs of a slice in which `pred(a, b)` holds for every pair
/// of neighbours (Rust's `chunk_by`). An empty slice gives no runs. Models std::ranges::view
/// and forward_range, also with a predicate that cannot be assigned.
template <class V, class Pred>
class chunk_by_view : public std::ranges::view_interface<chunk_by_view<V, Pred>> {
 public:
  class iterator {
   public:
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = V;
    using difference_type = std::ptrdiff_t;

    constexpr iterator() noexcept = default;
    constexpr iterator(const chunk_by_view* parent, std::size_t start)
        : parent_(parent), start_(start) {
      find_end();
    }
    constexpr V operator*() const noexcept {
      return detail::make_view<V>(parent_->base_.data() + start_, end_ - start_);
    }
    constexpr iterator& operator++() {
      start_ = end_;
      find_end();
      return *this;
    }
    constexpr iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend constexpr bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.start_ == b.start_;
    }

   private:
    constexpr void find_end() {
      const V& b = parent_->base_;
      std::size_t e = start_;
      if (e < b.size()) {
        ++e;
        while (e < b.size() && std::invoke(*parent_->pred_, b[e - 1], b[e])) ++e;
      }
      end_ = e;
    }

    const chunk_by_view* parent_ = nullptr;
    std::size_t start_ = 0;
    std::size_t end_ = 0;
  };

  constexpr chunk_by_view() = default;
  constexpr chunk_by_view(V base, Pred pred) : base_(base), pred_(std::move(pred)) {}

  constexpr iterator begin() const { return iterator(this, 0); }
  constexpr iterator end() const { return iterator(this, base_.size()); }

 private:
  V base_{};
  detail::movable_box<Pred> pred_{};
};

/// Splits `r` into maximal runs where `pred(a, b)` holds for neighbours (Rust's `chunk_by`).
template <detail::borrowed_slice V, class Pred>
requires std::predicate<const Pred&, std::ranges::range_reference_t<slice_t<V>>,
                        std::ranges::range_reference_t<slice_t<V>>> && std::move_constructible<Pred>
constexpr chunk_by_view<slice_t<V>, Pred> chunk_by(V r FRUGAL_LIFETIMEBOUND, Pred pred) {
  return {as_slice(r), std::move(pred)};
}
template <detail::owner_ref R, class Pred>
requires std::predicate<const Pred&, std::ranges::range_reference_t<slice_t<R>>,
                        std::ranges::range_reference_t<slice_t<R>>> && std::move_constructible<Pred>
constexpr chunk_by_view<slice_t<R>, Pred> chunk_by(R&& r FRUGAL_LIFETIMEBOUND, Pred pred) {
  return {as_slice(r), std::move(pred)};
}

// Strings ---------------------------------------------------------------------------------

namespace detail {

// ASCII whitespace as Rust's `u8::is_ascii_whitespace` defines it: space, \t, \n, \f, \r.
// Not \v (0x0B), which WHATWG's definition, and so Rust's, leaves out.
template <class C>
constexpr bool is_ascii_space(C c) noexcept {
  return c == C(' ') || c == C('\t') || c == C('\n') || c == C('\r') || c == C('\f');
}

template <class V>
concept string_view_slice = borrowed_slice<V> && is_string_like<V>::value;
template <class R>
concept string_owner_ref = owner_ref<R> && is_string_like<std::remove_cvref_t<R>>::value;

template <class V, class D>
constexpr std::optional<std::pair<V, V>> split_once(const V v, const D& delimiter) {
  std::size_t at;
  std::size_t len;
  if constexpr (std::is_convertible_v<const D&, typename V::value_type> &&
                !std::is_convertible_v<const D&, V>) {
    at = v.find(static_cast<typename V::value_type>(delimiter));
    len = 1;
  } else {
    const V d(delimiter);
    at = v.find(d);
    len = d.size();
  }
  if (at == V::npos) return std::nullopt;
  return std::pair<V, V>(v.substr(0, at), v.substr(at + len));
}

}  // namespace detail

/// Splits `s` at the first occurrence of `delimiter` (a character or a string) into the
/// parts before and after it, or returns an empty optional when it does not occur (Rust's
/// `split_once`). An empty string delimiter splits before the first character. `s` is a
/// string view, a string or a cow_string lvalue.
template <detail::string_view_slice V, class D>
constexpr std::optional<std::pair<slice_t<V>, slice_t<V>>> split_once(V s FRUGAL_LIFETIMEBOUND,
                                                                      const D& delimiter) {
  return detail::split_once(as_slice(s), delimiter);
}
template <detail::string_owner_ref R, class D>
constexpr std::optional<std::pair<slice_t<R>, slice_t<R>>> split_once(R&& s FRUGAL_LIFETIMEBOUND,
                                                                      const D& delimiter) {
  return detail::split_once(as_slice(s), delimiter);
}

/// Returns `s` without leading ASCII whitespace (space, \t, \n, \r, \f; not \v, as in Rust's
/// `trim_ascii_start`). O(whitespace removed).
template <detail::string_view_slice V>
constexpr slice_t<V> trim_start(V s FRUGAL_LIFETIMEBOUND) noexcept {
  const auto v = as_slice(s);
  std::size_t b = 0;
  while (b < v.size() && detail::is_ascii_space(v[b])) ++b;
  return v.substr(b);
}
template <detail::string_owner_ref R>
constexpr slice_t<R> trim_start(R&& s FRUGAL_LIFETIMEBOUND) noexcept {
  return trim_start(as_slice(s));
}

/// Returns `s` without trailing ASCII whitespace (as `trim_start`).
template <detail::string_view_slice V>
constexpr slice_t<V> trim_end(V s FRUGAL_LIFETIMEBOUND) noexcept {
  const auto v = as_slice(s);
  std::size_t e = v.size();
  while (e > 0 && detail::is_ascii_space(v[e - 1])) --e;
  return v.substr(0, e);
}
template <detail::string_owner_ref R>
constexpr slice_t<R> trim_end(R&& s FRUGAL_LIFETIMEBOUND) noexcept {
  return trim_end(as_slice(s));
}

/// Returns `s` without leading and trailing ASCII whitespace (Rust's `trim_ascii`).
template <detail::string_view_slice V>
constexpr slice_t<V> trim(V s FRUGAL_LIFETIMEBOUND) noexcept {
  return trim_end(trim_start(s));
}
template <detail::string_owner_ref R>
constexpr slice_t<R> trim(R&& s FRUGAL_LIFETIMEBOUND) noexcept {
  return trim(as_slice(s));
}

FRUGAL_END_NAMESPACE

template <class V, frugal::detail::chunk_kind K>
inline constexpr bool std::ranges::enable_borrowed_range<frugal::chunked_view<V, K>> = true;
