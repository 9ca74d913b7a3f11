// frugal/slice.hpp: Rust's zero-copy slice operations for contiguous ranges, in C++20.
//
// Every function takes a contiguous range (a C array, std::array, std::vector, std::string,
// std::span, std::string_view, frugal::small_vector, ...) and returns views into it, never
// copies: `std::span<T>` for element ranges and `std::basic_string_view<C>` for strings
// (std::basic_string and std::basic_string_view). Nothing allocates; everything is constexpr
// but `parse`, which reads numbers with std::from_chars.
//
// Lifetimes: a view never outlives its range. Passing a temporary container that owns its
// elements (`first_n(std::vector<int>{1, 2, 3}, 2)`) does not compile, because the result
// would dangle; temporaries of borrowed ranges (std::span, std::string_view) are fine.
//
// Bad input: counts larger than the range are clamped where Rust clamps (`first_n`,
// `last_n`), give an empty std::optional where Rust returns Option (`subslice`,
// `try_split_at`, `split_first`, `strip_prefix`, ...), and throw where Rust panics
// (`split_at` throws std::out_of_range; a chunk size of 0 throws std::invalid_argument).
//
// Strings are split by a character, a string or a predicate (`split`, `rsplit`, `splitn`,
// `lines`, `split_whitespace`, ...) into lazy views whose pieces are string views, and read
// as numbers by `parse<T>`, which returns an empty std::optional unless the whole input is
// one number.
#pragma once

#include <frugal/detail/config.hpp>

#include <charconv>
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
#include <system_error>
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

/// What `first`, `last` and `get` return for `R`: a reference to an element of the slice, or
/// nothing. `std::reference_wrapper<const int>` for a `const std::vector<int>`, `const char`
/// for strings; read the element with `->get()` or `**`.
template <sliceable R>
using element_ref_t = std::optional<
    std::reference_wrapper<std::remove_reference_t<std::ranges::range_reference_t<slice_t<R>>>>>;

/// Returns the first element, or an empty optional when `r` is empty (Rust's `first`). O(1);
/// never allocates, never throws.
template <detail::borrowed_slice V>
constexpr element_ref_t<V> first(V r FRUGAL_LIFETIMEBOUND) noexcept {
  const auto v = as_slice(r);
  if (v.empty()) return std::nullopt;
  return std::ref(v.data()[0]);
}
template <detail::owner_ref R>
constexpr element_ref_t<R> first(R&& r FRUGAL_LIFETIMEBOUND) noexcept {
  return first(as_slice(r));
}

/// Returns the last element, or an empty optional when `r` is empty (Rust's `last`). O(1);
/// never allocates, never throws.
template <detail::borrowed_slice V>
constexpr element_ref_t<V> last(V r FRUGAL_LIFETIMEBOUND) noexcept {
  const auto v = as_slice(r);
  if (v.empty()) return std::nullopt;
  return std::ref(v.data()[v.size() - 1]);
}
template <detail::owner_ref R>
constexpr element_ref_t<R> last(R&& r FRUGAL_LIFETIMEBOUND) noexcept {
  return last(as_slice(r));
}

/// Returns element `i`, or an empty optional when `i >= size` (Rust's `get(i)`). O(1);
/// never allocates, never throws.
template <detail::borrowed_slice V>
constexpr element_ref_t<V> get(V r FRUGAL_LIFETIMEBOUND, std::size_t i) noexcept {
  const auto v = as_slice(r);
  if (i >= v.size()) return std::nullopt;
  return std::ref(v.data()[i]);
}
template <detail::owner_ref R>
constexpr element_ref_t<R> get(R&& r FRUGAL_LIFETIMEBOUND, std::size_t i) noexcept {
  return get(as_slice(r), i);
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
  if constexpr (is_string_like<V>::value &&
                std::is_same_v<std::remove_cv_t<A>, typename V::value_type>) {
    return f(V(&p, 1));  // one character
  } else if constexpr (is_string_like<V>::value && std::is_convertible_v<const A&, V>) {
    return f(V(p));
  } else if constexpr (is_char_literal_v<A>) {
    return f(std::span<std::remove_extent_t<A>>(p, slice_size<A>(p)));
  } else {
    return f(p);
  }
}

}  // namespace detail

/// Returns the rest of `r` after `prefix`, or an empty optional when `r` does not start with
/// it. `prefix` is any sized range of comparable elements (for strings: a string, a view, a
/// C string or one character; a string literal counts without its terminating '\0').
/// Never allocates. O(size of prefix).
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

/// Returns `r` without `suffix`, or an empty optional when `r` does not end with it. Takes
/// what `strip_prefix` takes, one character included. Never allocates. O(size of suffix).
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

enum class chunk_kind { forward, exact, reverse, reverse_exact, window };

// Where the pieces of a chunked view over `size` elements with chunk size `n` lie. Piece i
// is named by its position i * step (step = 1 for windows, n otherwise), so that stepping is
// one addition with no clamp and iterating costs what the equivalent index loop costs.
template <chunk_kind Kind>
struct chunk_math {
  static constexpr std::size_t count(std::size_t size, std::size_t n) noexcept {
    if constexpr (Kind == chunk_kind::exact || Kind == chunk_kind::reverse_exact) {
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
    } else if constexpr (Kind == chunk_kind::reverse_exact) {
      return {size - pos - n, n};
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
  /// For `rchunks_exact`: the elements left over before the last full chunk, at the front of
  /// the slice (fewer than n).
  constexpr V remainder() const noexcept requires(Kind == detail::chunk_kind::reverse_exact) {
    return detail::make_view<V>(base_.data(), base_.size() % n_);
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

/// Splits `r` into chunks of exactly `n` elements starting from the end (Rust's
/// `rchunks_exact`): the first piece is the last `n` elements; `remainder()` gives the
/// `size % n` elements left at the front (all of `r` when `n > size`). Lazy, random access,
/// never allocates. Throws std::invalid_argument when `n == 0`.
template <detail::borrowed_slice V>
constexpr chunked_view<slice_t<V>, detail::chunk_kind::reverse_exact> rchunks_exact(
    V r FRUGAL_LIFETIMEBOUND, std::size_t n) {
  if (n == 0) detail::throw_zero_size("rchunks_exact");
  return {as_slice(r), n};
}
template <detail::owner_ref R>
constexpr chunked_view<slice_t<R>, detail::chunk_kind::reverse_exact> rchunks_exact(
    R&& r FRUGAL_LIFETIMEBOUND, std::size_t n) {
  return rchunks_exact(as_slice(r), n);
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

/// Splits `s` at the last occurrence of `delimiter` (a character or a string) into the parts
/// before and after it, or returns an empty optional when it does not occur (Rust's
/// `rsplit_once`). An empty string delimiter splits after the last character. Never
/// allocates. O(size).
template <detail::string_view_slice V, class D>
constexpr std::optional<std::pair<slice_t<V>, slice_t<V>>> rsplit_once(V s FRUGAL_LIFETIMEBOUND,
                                                                       const D& delimiter) {
  const auto v = as_slice(s);
  using S = slice_t<V>;
  std::size_t at;
  std::size_t len;
  if constexpr (std::is_convertible_v<const D&, typename S::value_type> &&
                !std::is_convertible_v<const D&, S>) {
    at = v.rfind(static_cast<typename S::value_type>(delimiter));
    len = 1;
  } else {
    const S d(delimiter);
    at = v.rfind(d);
    len = d.size();
  }
  if (at == S::npos) return std::nullopt;
  return std::pair<S, S>(v.substr(0, at), v.substr(at + len));
}
template <detail::string_owner_ref R, class D>
constexpr std::optional<std::pair<slice_t<R>, slice_t<R>>> rsplit_once(R&& s FRUGAL_LIFETIMEBOUND,
                                                                       const D& delimiter) {
  return rsplit_once(as_slice(s), delimiter);
}

// Splitting strings by a character or a string -------------------------------------------

namespace detail {

// The pattern that `split_whitespace` splits at: one ASCII whitespace character.
struct ascii_whitespace {
  friend constexpr bool operator==(ascii_whitespace, ascii_whitespace) noexcept { return true; }
};

enum class split_mode : unsigned char { split, terminator, inclusive, lines, whitespace };

// Whether position `i` (at most the size) of `v` is between two characters: the two ends
// always; inside, for one-byte character types, not before a UTF-8 continuation byte
// (0x80-0xBF), so that a sequence is never cut.
template <class V>
constexpr bool at_boundary(const V& v, std::size_t i) noexcept {
  if constexpr (sizeof(typename V::value_type) == 1) {
    return i == 0 || i == v.size() || (static_cast<unsigned char>(v[i]) & 0xC0) != 0x80;
  } else {
    return true;
  }
}

inline constexpr std::size_t no_match = static_cast<std::size_t>(-1);

// Returns the first match [a, b) of `pat` in `v` with a >= from, or {no_match, no_match}.
// `from` may be size + 1 (nothing left to search). An empty string matches at every
// character boundary.
template <class V, class P>
constexpr std::pair<std::size_t, std::size_t> find_forward(const V& v, const P& pat,
                                                           std::size_t from) noexcept {
  if (from > v.size()) return {no_match, no_match};
  if constexpr (std::is_same_v<P, ascii_whitespace>) {
    for (std::size_t i = from; i < v.size(); ++i) {
      if (is_ascii_space(v[i])) return {i, i + 1};
    }
    return {no_match, no_match};
  } else if constexpr (std::is_same_v<P, typename V::value_type>) {
    const std::size_t i = v.find(pat, from);
    if (i == V::npos) return {no_match, no_match};
    return {i, i + 1};
  } else {
    if (pat.empty()) {
      while (!at_boundary(v, from)) ++from;
      return {from, from};
    }
    const std::size_t i = v.find(pat, from);
    if (i == V::npos) return {no_match, no_match};
    return {i, i + pat.size()};
  }
}

// Returns the last match [a, b) of `pat` in `v` with b <= limit - 1, or {no_match, no_match}
// when there is none or `limit` is 0 (nothing left to search).
template <class V, class P>
constexpr std::pair<std::size_t, std::size_t> find_backward(const V& v, const P& pat,
                                                            std::size_t limit) noexcept {
  if (limit == 0) return {no_match, no_match};
  const std::size_t end = limit - 1;
  if constexpr (std::is_same_v<P, typename V::value_type>) {
    if (end == 0) return {no_match, no_match};
    const std::size_t i = v.rfind(pat, end - 1);
    if (i == V::npos) return {no_match, no_match};
    return {i, i + 1};
  } else {
    if (pat.empty()) {
      std::size_t at = end;
      while (!at_boundary(v, at)) --at;  // position 0 is always a boundary
      return {at, at};
    }
    if (pat.size() > end) return {no_match, no_match};
    const std::size_t i = v.rfind(pat, end - pat.size());
    if (i == V::npos) return {no_match, no_match};
    return {i, i + pat.size()};
  }
}

}  // namespace detail

/// A forward view of the pieces of a string split by a character or a string (see `split`,
/// `splitn`, `rsplit`, `rsplitn`, `split_terminator`, `split_inclusive`, `lines` and
/// `split_whitespace`). Each piece is a `V` (a std::basic_string_view) into the string.
/// Models std::ranges::view, forward_range and borrowed_range: its iterators hold what they
/// need (a view of the string and of the separator), so they stay valid after the view
/// object is gone. Never allocates.
template <class V, class P, detail::split_mode Mode, bool Reverse>
class str_split_view : public std::ranges::view_interface<str_split_view<V, P, Mode, Reverse>> {
  static constexpr std::size_t npos = detail::no_match;

 public:
  class iterator {
   public:
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;  // pieces are values, not references
    using value_type = V;
    using difference_type = std::ptrdiff_t;

    constexpr iterator() noexcept = default;

    constexpr V operator*() const noexcept {
      return detail::make_view<V>(s_.data() + piece_begin_, piece_end_ - piece_begin_);
    }
    constexpr iterator& operator++() noexcept {
      advance();
      return *this;
    }
    constexpr iterator operator++(int) noexcept {
      iterator old = *this;
      advance();
      return old;
    }
    // Pieces are numbered, so that two empty pieces at one position still differ.
    friend constexpr bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.index_ == b.index_;
    }

   private:
    friend str_split_view;

    constexpr iterator(V s, P pat, std::size_t count) noexcept
        : s_(s), pat_(pat), end_(s.size()), search_(Reverse ? s.size() + 1 : 0), count_(count) {
      index_ = static_cast<std::size_t>(-1);  // becomes 0 in advance()
      advance();
    }

    constexpr void advance() noexcept {
      ++index_;
      if constexpr (Mode == detail::split_mode::whitespace) {
        while (next() && piece_end_ == piece_begin_) {
        }
      } else {
        next();
      }
    }

    // Moves to the next piece; returns false (and becomes the end) when there is none.
    constexpr bool next() noexcept {
      if (count_ == 0) return done();
      if (count_ == 1) {  // the last piece splitn allows: all that is left
        count_ = 0;
        return rest();
      }
      --count_;
      if (finished_) return done();
      if constexpr (Reverse) {
        const auto [a, b] = detail::find_backward(s_, pat_, search_);
        if (a == npos) return rest();
        piece_begin_ = b;
        piece_end_ = end_;
        end_ = a;
        search_ = a == b ? a : a + 1;  // an empty match steps one position back
      } else {
        const auto [a, b] = detail::find_forward(s_, pat_, search_);
        if (a == npos) return rest();
        piece_begin_ = start_;
        piece_end_ = Mode == detail::split_mode::inclusive ? b : a;
        if constexpr (Mode == detail::split_mode::lines) {
          if (piece_end_ != piece_begin_ && s_[piece_end_ - 1] == typename V::value_type('\r')) {
            --piece_end_;
          }
        }
        start_ = b;
        search_ = a == b ? b + 1 : b;  // an empty match steps one position on
      }
      return true;
    }
    // Yields what is left between the last match and the end, once (Rust's `get_end`):
    // always for `split`, only when not empty for the other modes.
    constexpr bool rest() noexcept {
      if (finished_) return done();
      finished_ = true;
      if (Mode == detail::split_mode::split || Mode == detail::split_mode::whitespace ||
          end_ > start_) {
        piece_begin_ = start_;
        piece_end_ = end_;
        return true;
      }
      return done();
    }
    constexpr bool done() noexcept {
      index_ = npos;
      return false;
    }

    V s_{};
    P pat_{};
    std::size_t start_ = 0;  // the text not yet yielded is [start_, end_)
    std::size_t end_ = 0;
    std::size_t search_ = 0;  // where the next search starts (from the end: one past it)
    std::size_t count_ = 0;   // pieces left to yield; SIZE_MAX when unlimited
    std::size_t piece_begin_ = 0;
    std::size_t piece_end_ = 0;
    std::size_t index_ = npos;
    bool finished_ = false;
  };

  constexpr str_split_view() noexcept = default;
  constexpr str_split_view(V s, P pat, std::size_t count = npos) noexcept
      : s_(s), pat_(pat), count_(count) {}

  /// Finds the first piece: O(distance to the first separator).
  constexpr iterator begin() const noexcept { return iterator(s_, pat_, count_); }
  constexpr iterator end() const noexcept { return iterator(); }

 private:
  V s_{};
  P pat_{};
  std::size_t count_ = npos;
};

namespace detail {

// The pattern a string view `V` is split by: a character of its type, or a string of its
// type (anything that converts to `V`).
template <class D, class V>
concept split_pattern = std::same_as < std::remove_cvref_t<D>,
typename V::value_type > || (std::is_convertible_v<const std::remove_reference_t<D>&, V> &&
                             !std::same_as<std::remove_cvref_t<D>, std::nullptr_t>);

template <class V, class D>
using pattern_t = std::conditional_t<std::same_as<std::remove_cvref_t<D>, typename V::value_type>,
                                     typename V::value_type, V>;

template <class V, class D>
constexpr pattern_t<V, D> make_pattern(const std::remove_reference_t<D>& d) noexcept {
  // The view keeps the separator: a temporary string would be gone before the first piece.
  static_assert(
      !(std::is_rvalue_reference_v<D&&> && is_string_like<std::remove_cvref_t<D>>::value &&
        !std::ranges::borrowed_range<std::remove_cvref_t<D>>),
      "split: the view keeps a view of its separator; pass a literal, a string "
      "view or a string that outlives the view, not a temporary string");
  return pattern_t<V, D>(d);
}

template <class V, class D, split_mode Mode, bool Reverse>
using str_split_t = str_split_view<V, pattern_t<V, D>, Mode, Reverse>;

}  // namespace detail

/// Splits `s` at every occurrence of `sep`, a character or a string, yielding the pieces
/// between (Rust's `str::split`): `n` separators give `n + 1` pieces, empty ones included,
/// and an empty `s` gives one empty piece. An empty string separator matches before every
/// character and at the end (`split("ab", "")` gives "", "a", "b", ""), never inside a UTF-8
/// sequence. Lazy; never allocates, never throws; O(size) over a whole iteration. The view
/// keeps a view of `sep`: a temporary std::string separator does not compile.
template <detail::string_view_slice V, detail::split_pattern<slice_t<V>> D>
constexpr detail::str_split_t<slice_t<V>, D, detail::split_mode::split, false> split(
    V s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<V>, D>(sep)};
}
template <detail::string_owner_ref R, detail::split_pattern<slice_t<R>> D>
constexpr detail::str_split_t<slice_t<R>, D, detail::split_mode::split, false> split(
    R&& s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<R>, D>(sep)};
}

/// As `split`, but yields at most `n` pieces, the last one holding the rest of `s`
/// separators included (Rust's `splitn`); `n == 0` gives no piece. Lazy; never allocates.
template <detail::string_view_slice V, detail::split_pattern<slice_t<V>> D>
constexpr detail::str_split_t<slice_t<V>, D, detail::split_mode::split, false> splitn(
    V s FRUGAL_LIFETIMEBOUND, std::size_t n, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<V>, D>(sep), n};
}
template <detail::string_owner_ref R, detail::split_pattern<slice_t<R>> D>
constexpr detail::str_split_t<slice_t<R>, D, detail::split_mode::split, false> splitn(
    R&& s FRUGAL_LIFETIMEBOUND, std::size_t n, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<R>, D>(sep), n};
}

/// Yields the pieces `split` yields, last first (Rust's `rsplit`). Lazy; never allocates.
template <detail::string_view_slice V, detail::split_pattern<slice_t<V>> D>
constexpr detail::str_split_t<slice_t<V>, D, detail::split_mode::split, true> rsplit(
    V s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<V>, D>(sep)};
}
template <detail::string_owner_ref R, detail::split_pattern<slice_t<R>> D>
constexpr detail::str_split_t<slice_t<R>, D, detail::split_mode::split, true> rsplit(
    R&& s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<R>, D>(sep)};
}

/// As `rsplit`, but yields at most `n` pieces, the last one holding the front of `s`
/// (Rust's `rsplitn`); `n == 0` gives no piece. Lazy; never allocates.
template <detail::string_view_slice V, detail::split_pattern<slice_t<V>> D>
constexpr detail::str_split_t<slice_t<V>, D, detail::split_mode::split, true> rsplitn(
    V s FRUGAL_LIFETIMEBOUND, std::size_t n, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<V>, D>(sep), n};
}
template <detail::string_owner_ref R, detail::split_pattern<slice_t<R>> D>
constexpr detail::str_split_t<slice_t<R>, D, detail::split_mode::split, true> rsplitn(
    R&& s FRUGAL_LIFETIMEBOUND, std::size_t n, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<R>, D>(sep), n};
}

/// As `split`, but a separator ends a piece rather than separating two: an empty last piece
/// is not yielded (Rust's `split_terminator`; "a;b;" gives "a", "b"; "" gives nothing).
/// Lazy; never allocates.
template <detail::string_view_slice V, detail::split_pattern<slice_t<V>> D>
constexpr detail::str_split_t<slice_t<V>, D, detail::split_mode::terminator, false>
split_terminator(V s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<V>, D>(sep)};
}
template <detail::string_owner_ref R, detail::split_pattern<slice_t<R>> D>
constexpr detail::str_split_t<slice_t<R>, D, detail::split_mode::terminator, false>
split_terminator(R&& s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<R>, D>(sep)};
}

/// As `split_terminator`, but each piece keeps the separator that ends it (Rust's
/// `split_inclusive`; "a\nb" gives "a\n", "b"). Lazy; never allocates.
template <detail::string_view_slice V, detail::split_pattern<slice_t<V>> D>
constexpr detail::str_split_t<slice_t<V>, D, detail::split_mode::inclusive, false> split_inclusive(
    V s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<V>, D>(sep)};
}
template <detail::string_owner_ref R, detail::split_pattern<slice_t<R>> D>
constexpr detail::str_split_t<slice_t<R>, D, detail::split_mode::inclusive, false> split_inclusive(
    R&& s FRUGAL_LIFETIMEBOUND, D&& sep) noexcept {
  return {as_slice(s), detail::make_pattern<slice_t<R>, D>(sep)};
}

/// The lines of `s` (Rust's `lines`): pieces ended by "\n" or "\r\n", neither included; a
/// last line without one is yielded as is (a lone '\r' at its end kept), and no empty line
/// follows a final "\n". Lazy; never allocates.
template <detail::string_view_slice V>
constexpr str_split_view<slice_t<V>, typename slice_t<V>::value_type, detail::split_mode::lines,
                         false>
lines(V s FRUGAL_LIFETIMEBOUND) noexcept {
  return {as_slice(s), typename slice_t<V>::value_type('\n')};
}
template <detail::string_owner_ref R>
constexpr str_split_view<slice_t<R>, typename slice_t<R>::value_type, detail::split_mode::lines,
                         false>
lines(R&& s FRUGAL_LIFETIMEBOUND) noexcept {
  return lines(as_slice(s));
}

/// The words of `s`: the non-empty pieces between runs of ASCII whitespace (space, \t, \n,
/// \f, \r, as `trim`; Rust's `split_ascii_whitespace`). Lazy; never allocates.
template <detail::string_view_slice V>
constexpr str_split_view<slice_t<V>, detail::ascii_whitespace, detail::split_mode::whitespace,
                         false>
split_whitespace(V s FRUGAL_LIFETIMEBOUND) noexcept {
  return {as_slice(s), detail::ascii_whitespace{}};
}
template <detail::string_owner_ref R>
constexpr str_split_view<slice_t<R>, detail::ascii_whitespace, detail::split_mode::whitespace,
                         false>
split_whitespace(R&& s FRUGAL_LIFETIMEBOUND) noexcept {
  return split_whitespace(as_slice(s));
}

// Trimming by pattern ---------------------------------------------------------------------

namespace detail {

// A pattern for the trim_*_matches functions on a string view `V`: a character, a string (for
// trim_start_matches and trim_end_matches) or a predicate on a character.
template <class V, class M>
concept char_predicate = std::predicate<const M&, typename V::value_type> &&
    !std::is_convertible_v<const M&, typename V::value_type>;

template <class V, class M>
constexpr std::size_t leading_matches(const V v, const M& m) {
  std::size_t b = 0;
  if constexpr (char_predicate<V, M>) {
    while (b < v.size() && std::invoke(m, v[b])) ++b;
  } else if constexpr (std::same_as<M, typename V::value_type>) {
    while (b < v.size() && V::traits_type::eq(v[b], m)) ++b;
  } else {
    const V p(m);
    if (p.empty()) return 0;
    while (v.size() - b >= p.size() && v.substr(b, p.size()) == p) b += p.size();
  }
  return b;
}

template <class V, class M>
constexpr std::size_t trailing_matches(const V v, const M& m) {
  std::size_t e = v.size();
  if constexpr (char_predicate<V, M>) {
    while (e > 0 && std::invoke(m, v[e - 1])) --e;
  } else if constexpr (std::same_as<M, typename V::value_type>) {
    while (e > 0 && V::traits_type::eq(v[e - 1], m)) --e;
  } else {
    const V p(m);
    if (p.empty()) return 0;
    while (e >= p.size() && v.substr(e - p.size(), p.size()) == p) e -= p.size();
  }
  return v.size() - e;
}

template <class V, class M>
concept trim_pattern = char_predicate<V, M> || std::same_as<M, typename V::value_type> ||
    (std::is_convertible_v<const M&, V> && !std::same_as<M, std::nullptr_t>);

}  // namespace detail

/// Returns `s` without its leading matches of `pat` (Rust's `trim_start_matches`): a
/// character, a string (removed as many times as it repeats; an empty one removes nothing)
/// or a predicate on a character. Never allocates. O(characters removed).
template <detail::string_view_slice V, class M>
requires detail::trim_pattern<slice_t<V>, M>
constexpr slice_t<V> trim_start_matches(V s FRUGAL_LIFETIMEBOUND, const M& pat) {
  const auto v = as_slice(s);
  return v.substr(detail::leading_matches(v, pat));
}
template <detail::string_owner_ref R, class M>
requires detail::trim_pattern<slice_t<R>, M>
constexpr slice_t<R> trim_start_matches(R&& s FRUGAL_LIFETIMEBOUND, const M& pat) {
  return trim_start_matches(as_slice(s), pat);
}

/// Returns `s` without its trailing matches of `pat` (Rust's `trim_end_matches`); takes
/// what `trim_start_matches` takes. Never allocates. O(characters removed).
template <detail::string_view_slice V, class M>
requires detail::trim_pattern<slice_t<V>, M>
constexpr slice_t<V> trim_end_matches(V s FRUGAL_LIFETIMEBOUND, const M& pat) {
  const auto v = as_slice(s);
  return v.substr(0, v.size() - detail::trailing_matches(v, pat));
}
template <detail::string_owner_ref R, class M>
requires detail::trim_pattern<slice_t<R>, M>
constexpr slice_t<R> trim_end_matches(R&& s FRUGAL_LIFETIMEBOUND, const M& pat) {
  return trim_end_matches(as_slice(s), pat);
}

/// Returns `s` without leading and trailing matches of `pat`, a character or a predicate on
/// a character (Rust's `trim_matches`; as in Rust, not a string, whose matches from the two
/// ends could overlap). Never allocates. O(characters removed).
template <detail::string_view_slice V, class M>
requires(
    detail::char_predicate<slice_t<V>, M> ||
    std::same_as<M, typename slice_t<
                        V>::value_type>) constexpr slice_t<V> trim_matches(V s FRUGAL_LIFETIMEBOUND,
                                                                           const M& pat) {
  return trim_end_matches(trim_start_matches(s, pat), pat);
}
template <detail::string_owner_ref R, class M>
requires(
    detail::char_predicate<slice_t<R>, M> ||
    std::same_as<M, typename slice_t<
                        R>::value_type>) constexpr slice_t<R> trim_matches(R&& s
                                                                               FRUGAL_LIFETIMEBOUND,
                                                                           const M& pat) {
  return trim_matches(as_slice(s), pat);
}

// Parsing numbers ---------------------------------------------------------------------------

namespace detail {

template <class T>
concept parse_integer = std::integral<T> && !std::same_as<T, bool> && !is_char_v<T>;

#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
inline constexpr bool has_float_from_chars = true;
#else
inline constexpr bool has_float_from_chars = false;
#endif

template <class T>
concept parse_float = std::floating_point<T> && has_float_from_chars;

[[noreturn]] FRUGAL_COLD inline void throw_parse_base(int base) {
  FRUGAL_THROW(std::invalid_argument("parse: base " + std::to_string(base) + " is not in [2, 36]"));
}

}  // namespace detail

/// Parses all of `s` as a number of type `T` (Rust's `str::parse`), or returns an empty
/// optional when `s` is not exactly one number of `T` or the number does not fit. Integers:
/// an optional sign ('-' for signed types only, '+' for any) then digits in `base` (2 to 36,
/// letters in either case, no "0x" prefix). Floating point (where the standard library has
/// floating-point std::from_chars): an optional sign, then decimal digits with an optional
/// point and exponent, "inf", "infinity" or "nan" in any case. No whitespace, no locale.
/// `bool`: exactly "true" or "false". Never allocates. O(size). Throws
/// std::invalid_argument naming the base when it is not in [2, 36].
template <class T>
requires detail::parse_integer<T> || detail::parse_float<T> || std::same_as<T, bool>
constexpr std::optional<T> parse(std::string_view s, int base = 10) {
  if (base < 2 || base > 36) detail::throw_parse_base(base);
  if constexpr (std::same_as<T, bool>) {
    if (s == "true") return true;
    if (s == "false") return false;
    return std::nullopt;
  } else {
    // std::from_chars takes no '+'; Rust does, once, before digits. (Like Rust, from_chars
    // takes no '-' for unsigned types, not even in "-0".)
    if (!s.empty() && s.front() == '+') {
      s.remove_prefix(1);
      if (!s.empty() && (s.front() == '+' || s.front() == '-')) return std::nullopt;
    }
    T value{};
    const char* const end = s.data() + s.size();
    std::from_chars_result r;
    if constexpr (std::floating_point<T>) {
      r = std::from_chars(s.data(), end, value);
    } else {
      r = std::from_chars(s.data(), end, value, base);
    }
    if (r.ec != std::errc() || r.ptr != end) return std::nullopt;
    if constexpr (std::floating_point<T>) {
      if (s.back() == ')') return std::nullopt;  // from_chars's "nan(...)", which Rust rejects
    }
    return value;
  }
}

FRUGAL_END_NAMESPACE

template <class V, frugal::detail::chunk_kind K>
inline constexpr bool std::ranges::enable_borrowed_range<frugal::chunked_view<V, K>> = true;
template <class V, class P, frugal::detail::split_mode M, bool R>
inline constexpr bool std::ranges::enable_borrowed_range<frugal::str_split_view<V, P, M, R>> = true;
