// frugal/builder.hpp: build vectors and strings with one allocation.
//
// Growing a container one element at a time reallocates about log2(n) times; concatenating
// strings with `+` reallocates and copies again and again. These functions measure first and
// allocate once:
//
//   auto ids  = frugal::collect<std::vector<int>>(rows | ...);      // reserves, then fills
//   auto line = frugal::str_cat("user ", id, " took ", 1.5, " s");  // one allocation
//   auto csv  = frugal::str_join(names, ",");                       // one allocation
//
// Bad input: a total length that overflows or exceeds max_size() throws std::length_error
// before anything is written. A size hint that is too small is not an error: it costs a
// regrowth, which `frugal::builder` counts so that a service can tune its hints. Every growth
// at least doubles the capacity, whatever the standard library's `reserve` does, so repeated
// appends allocate O(log n) times.
#pragma once

#include <frugal/detail/config.hpp>

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

FRUGAL_BEGIN_NAMESPACE

namespace detail {

template <class C>
concept reservable = requires(C& c, std::size_t n) {
  c.reserve(n);
};

// Containers that can grow by `n` elements left for the caller to overwrite (frugal's
// small_vector): no zero-fill before the elements are written.
template <class C>
concept overwritable = requires(C& c, std::size_t n) {
  c.resize_for_overwrite(n);
  { c.data() } -> std::same_as<typename C::value_type*>;
};

// Containers whose storage is one array that `resize` value-initialises.
template <class C>
concept resizable_array = requires(C& c, std::size_t n) {
  c.resize(n);
  { c.data() } -> std::same_as<typename C::value_type*>;
};

template <class C, class R>
concept back_insertable = requires(C& c, R&& x) {
  c.push_back(std::forward<R>(x));
};

// True when collecting `R` into `C` may size `C` first and then assign each element into
// place: the elements are plain bytes (construction and assignment are the same thing) and
// the range knows its size.
template <class C, class R>
inline constexpr bool fill_in_place_v = [] {
  if constexpr (!std::ranges::sized_range<R> || !requires { typename C::value_type; }) {
    return false;
  } else {
    using T = typename C::value_type;
    using Ref = std::ranges::range_reference_t<R>;
    return (overwritable<C> || resizable_array<C>)&&std::is_trivially_copyable_v<T> &&
           std::is_trivially_default_constructible_v<T> && std::is_assignable_v<T&, T> &&
           std::is_convertible_v<Ref, T>;
  }
}();

// Appends every element of `range` to `out`, by push_back where the container has it.
template <class C, class R>
void append_all(C& out, R&& range) {
  for (auto&& x : range) {
    if constexpr (back_insertable<C, decltype(x)>) {
      out.push_back(std::forward<decltype(x)>(x));
    } else {
      out.insert(out.end(), std::forward<decltype(x)>(x));
    }
  }
}

// Sizes `out` to the `n` elements of `range` and assigns them into place. Never writes more
// than `n` elements, whatever the range yields.
template <class C, class R>
void fill_in_place(C& out, R& range, std::size_t n) {
  using T = typename C::value_type;
  if constexpr (overwritable<C>) {
    out.resize_for_overwrite(n);
  } else {
    out.resize(n);  // the best std::vector allows: value-initialised (a memset), then assigned
  }
  T* const p = out.data();
  auto it = std::ranges::begin(range);
  for (std::size_t i = 0; i < n; ++i, ++it) p[i] = static_cast<T>(*it);
}

[[noreturn]] FRUGAL_COLD inline void throw_builder_length(const char* what, std::size_t have,
                                                          std::size_t more, std::size_t limit) {
  FRUGAL_THROW(std::length_error(std::string(what) + ": total length exceeds max_size (" +
                                 std::to_string(have) + " + " + std::to_string(more) + " > " +
                                 std::to_string(limit) + ")"));
}

// Adds `b` to the running total `a`, throwing std::length_error past `limit`.
inline std::size_t checked_add(std::size_t a, std::size_t b, std::size_t limit, const char* what) {
  if (FRUGAL_UNLIKELY(b > limit || a > limit - b)) throw_builder_length(what, a, b, limit);
  return a + b;
}

// The capacity to grow to when `needed` (<= max) elements must fit in `capacity`: at least
// twice the capacity, clamped to `max`, so that repeated appends allocate O(log n) times even
// where `reserve` allocates exactly what it is asked for (libc++).
inline std::size_t grown_capacity(std::size_t capacity, std::size_t needed,
                                  std::size_t max) noexcept {
  const std::size_t doubled = capacity > max / 2 ? max : 2 * capacity;
  return doubled > needed ? doubled : needed;
}

}  // namespace detail

/// Returns an empty container with room for `n` elements (Rust's `with_capacity`): one
/// allocation for containers that reserve, none for `n == 0`.
template <class C>
C with_capacity(std::size_t n) {
  C c;
  if constexpr (detail::reservable<C>) {
    if (n != 0) c.reserve(n);
  }
  return c;
}

/// Builds a `C` from the elements of `range`, reserving once: exactly when the range is
/// sized, after a counting pass when it is a forward range (which walks it twice; pass a
/// hint to skip the count), and not at all for single-pass ranges. The C++20 counterpart of
/// C++23 `std::ranges::to`, plus the reservation. A sized range of trivially copyable
/// elements is written straight into place: into uninitialised room for containers with
/// `resize_for_overwrite` (frugal::small_vector), after `resize` for the others.
template <class C, std::ranges::input_range R>
C collect(R&& range) {
  C out;
  if constexpr (detail::fill_in_place_v<C, R>) {
    detail::fill_in_place(out, range, static_cast<std::size_t>(std::ranges::size(range)));
    return out;
  } else {
    if constexpr (detail::reservable<C>) {
      if constexpr (std::ranges::sized_range<R>) {
        out.reserve(static_cast<std::size_t>(std::ranges::size(range)));
      } else if constexpr (std::ranges::forward_range<R>) {
        out.reserve(static_cast<std::size_t>(std::ranges::distance(range)));
      }
    }
    detail::append_all(out, range);
    return out;
  }
}

/// Like `collect(range)`, but reserves `size_hint` when the range is not sized, instead of
/// counting. A hint that is too small costs regrowths, never an error.
template <class C, std::ranges::input_range R>
C collect(R&& range, std::size_t size_hint) {
  if constexpr (std::ranges::sized_range<R>) {
    return collect<C>(std::forward<R>(range));
  } else {
    C out;
    if constexpr (detail::reservable<C>) out.reserve(size_hint);
    detail::append_all(out, range);
    return out;
  }
}

// Text pieces ----------------------------------------------------------------------------------

namespace detail {

template <class T>
concept string_like = std::is_convertible_v<const T&, std::string_view>;

template <class T>
inline constexpr bool is_wide_char_v = std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
                                       std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

template <class T>
concept integer_piece = std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                        !std::is_same_v<T, char> && !is_wide_char_v<T>;

// Text that lives elsewhere.
class text_piece {
 public:
  explicit text_piece(std::string_view text) noexcept : view_(text) {}
  std::string_view view() const noexcept { return view_; }

 private:
  std::string_view view_;
};

class char_piece {
 public:
  explicit char_piece(char c) noexcept : c_(c) {}
  std::string_view view() const noexcept { return std::string_view(&c_, 1); }

 private:
  char c_;
};

// The number of decimal digits of `v` (> 0).
constexpr std::size_t decimal_digits(long long v) noexcept {
  std::size_t n = 1;
  for (; v >= 10; v /= 10) ++n;
  return n;
}

// The longest text std::to_chars writes for a T in its shortest round-trip form: the
// scientific form bounds it (the fixed form is chosen only when shorter), with room for the
// sign, the point, "e-" and the exponent of the smallest subnormal. 24 for double, 44 for an
// IEEE quad long double (aarch64, ppc64le).
template <class T>
constexpr std::size_t max_number_chars() noexcept {
  using limits = std::numeric_limits<T>;
  if constexpr (std::is_floating_point_v<T>) {
    const long long smallest =
        -static_cast<long long>(limits::min_exponent10) + limits::max_digits10;
    const long long largest = limits::max_exponent10;
    const std::size_t exponent = decimal_digits(smallest > largest ? smallest : largest);
    return 1 + static_cast<std::size_t>(limits::max_digits10) + 1 + 2 +
           (exponent < 2 ? 2 : exponent);
  } else {
    return static_cast<std::size_t>(limits::digits10) + 2;  // sign, and digits10 rounds down
  }
}

[[noreturn]] FRUGAL_COLD inline void throw_unformattable() {
  FRUGAL_THROW(std::logic_error("str_cat: std::to_chars could not format a number"));
}

// Digits formatted here, in a buffer sized for the longest value of T.
template <class T>
class number_piece {
 public:
  explicit number_piece(T value) {
    const auto r = std::to_chars(buffer_, buffer_ + sizeof buffer_, value);
    // Unreachable with the buffer sized above; text is never dropped silently.
    if (FRUGAL_UNLIKELY(r.ec != std::errc())) throw_unformattable();
    len_ = static_cast<std::size_t>(r.ptr - buffer_);
  }
  std::string_view view() const noexcept { return std::string_view(buffer_, len_); }

 private:
  char buffer_[max_number_chars<T>()];
  std::size_t len_;
};

template <class T>
auto make_piece(const T& x) {
  static_assert(!std::is_same_v<T, std::nullptr_t>,
                "str_cat: nullptr is not text; pass \"\" or a std::string_view");
  static_assert(!std::is_same_v<T, bool>,
                "str_cat: pass a bool as text (b ? \"true\" : \"false\"), not as a number");
  static_assert(!is_wide_char_v<T>,
                "str_cat: wchar_t, char8_t, char16_t and char32_t are not narrow text; encode "
                "them as UTF-8 and pass a std::string_view");
  if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, bool> || is_wide_char_v<T>) {
    return text_piece(std::string_view());  // rejected above
  } else if constexpr (std::is_pointer_v<T> && string_like<T>) {
    // A null C string is empty text, as in absl::StrCat.
    return text_piece(x == nullptr ? std::string_view() : std::string_view(x));
  } else if constexpr (string_like<T>) {
    return text_piece(std::string_view(x));
  } else if constexpr (std::is_same_v<T, char>) {
    return char_piece(x);
  } else {
    static_assert(
        std::is_arithmetic_v<T>,
        "str_cat takes strings, string views, characters, integers and floating-point numbers");
    return number_piece<T>(x);
  }
}

// Writes `pieces` at `w` (which has room for them) and returns the end.
template <class... P>
char* write_pieces(char* w, const P&... pieces) {
  ((std::char_traits<char>::copy(w, pieces.view().data(), pieces.view().size()),
    w += pieces.view().size()),
   ...);
  return w;
}

template <class... P>
std::size_t total_size(std::size_t start, [[maybe_unused]] std::size_t limit,
                       [[maybe_unused]] const char* what, const P&... pieces) {
  std::size_t total = start;
  ((total = checked_add(total, pieces.view().size(), limit, what)), ...);
  return total;
}

template <class... P>
std::string str_cat_pieces(const P&... pieces) {
  std::string out;
  const std::size_t total = total_size(0, out.max_size(), "str_cat", pieces...);
  out.resize(total);  // the one allocation; none when the result fits the short buffer
  write_pieces(out.data(), pieces...);
  return out;
}

// Appends into a new buffer while `out` stays intact, because a piece may view `out` itself.
template <class... P>
FRUGAL_NOINLINE void str_append_grow(std::string& out, std::size_t total, const P&... pieces) {
  std::string grown;
  grown.reserve(grown_capacity(out.capacity(), total, out.max_size()));  // the one allocation
  grown.append(out);
  grown.resize(total);
  write_pieces(grown.data() + out.size(), pieces...);
  out = std::move(grown);
}

template <class... P>
void str_append_pieces(std::string& out, const P&... pieces) {
  const std::size_t old_size = out.size();
  const std::size_t total = total_size(old_size, out.max_size(), "str_append", pieces...);
  if (FRUGAL_UNLIKELY(total > out.capacity())) return str_append_grow(out, total, pieces...);
  // Without a reallocation, a piece that views `out` lies in [0, old_size), which neither the
  // resize nor the writes after old_size touch.
  out.resize(total);
  write_pieces(out.data() + old_size, pieces...);
}

}  // namespace detail

/// Concatenates string-likes (std::string, std::string_view, C strings), characters,
/// integers and floating-point numbers (shortest round-trip form, std::to_chars) into one
/// std::string. Measures every piece first and allocates exactly once, or not at all when the
/// result fits the short-string buffer. Throws std::length_error, before writing anything,
/// when the total exceeds max_size(). A null `const char*` is empty text. `bool`, `nullptr`
/// and `wchar_t`, `char8_t`, `char16_t`, `char32_t` characters are rejected at compile time;
/// `signed char` and `unsigned char` are integers and print as numbers.
template <class... Args>
std::string str_cat(const Args&... args) {
  return detail::str_cat_pieces(detail::make_piece(args)...);
}

/// Appends the pieces (as str_cat takes them) to `out`, reallocating at most once; a
/// reallocation at least doubles the capacity. A piece may view `out` itself (as with
/// `std::string::append`). Strong exception guarantee: `out` is unchanged on a throw.
template <class... Args>
void str_append(std::string& out, const Args&... args) {
  detail::str_append_pieces(out, detail::make_piece(args)...);
}

namespace detail {

template <class F, class T>
decltype(auto) apply_formatter(F& f, T&& x) {
  if constexpr (std::is_same_v<std::remove_cvref_t<F>, std::identity>) {
    return std::forward<T>(x);
  } else {
    return f(std::forward<T>(x));
  }
}

// The average piece length (separators included) from which str_join appends into reserved
// room instead of writing into a zero-filled buffer.
inline constexpr std::size_t long_join_piece = 64;

// A checksum of the sequence of piece lengths, so that the write pass can tell that the
// formatter gave other lengths than the measuring pass even when their totals agree: the sum of
// each length times a pseudo-random 64-bit weight of its position (from 1). Weights that grow
// with the position (length times position) let a reordering keep the sum (1, 3, 2 and
// 2, 1, 3 both give 13); with pseudo-random weights two sequences of lengths that differ
// agree only by a 2^-64 coincidence. The weights depend on the position alone, so each
// piece's product is independent of the running sum: no dependent multiply per piece, which on
// many short pieces cost more than the copies themselves.
inline std::uint64_t mix_length(std::uint64_t sum, std::size_t length,
                                std::size_t position) noexcept {
  const std::uint64_t h = static_cast<std::uint64_t>(position) * 0x9E3779B97F4A7C15ull;
  return sum + static_cast<std::uint64_t>(length) * (h ^ (h >> 29));
}

[[noreturn]] FRUGAL_COLD inline void throw_join_mismatch(std::size_t measured,
                                                         std::size_t written) {
  FRUGAL_THROW(
      std::logic_error("str_join: the formatter gave pieces of other lengths than when measured (" +
                       std::to_string(measured) + " characters measured, " +
                       std::to_string(written) + (written > measured ? "+" : "") + " to write)"));
}

// Copies `n` characters; up to 16 with fixed-size moves the compiler inlines (two that may
// overlap), longer ones with memcpy. On many short pieces the call to memcpy per piece and
// separator took about half of str_join's time.
inline void copy_short(char* dst, const char* src, std::size_t n) noexcept {
  if (n >= 8) {
    if (n > 16) {
      std::memcpy(dst, src, n);
      return;
    }
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else if (n != 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

// Measures what str_join writes: the total length and the checksum of the piece lengths.
struct join_measure {
  std::size_t total = 0;
  std::size_t count = 0;
  std::uint64_t lengths = 0;
};

template <class R, class F>
join_measure measure_joined(R& range, std::string_view separator, F& formatter, std::size_t limit) {
  join_measure m;
  for (auto&& x : range) {
    if (m.count != 0) m.total = checked_add(m.total, separator.size(), limit, "str_join");
    ++m.count;
    auto&& value = apply_formatter(formatter, x);  // kept alive: the piece may view it
    const auto p = make_piece(value);
    m.lengths = mix_length(m.lengths, p.view().size(), m.count);
    m.total = checked_add(m.total, p.view().size(), limit, "str_join");
  }
  return m;
}

// The writing pass: hands `write` each separator and piece, never more than `m.total`
// characters in all, and throws std::logic_error, before writing, as soon as the pieces no
// longer match what was measured (and at the end when they fell short).
template <class R, class F, class Write>
void write_joined(R& range, std::string_view separator, F& formatter, const join_measure& m,
                  Write write) {
  std::size_t written = 0;
  std::uint64_t lengths = 0;
  std::size_t position = 0;
  for (auto&& x : range) {
    if (position++ != 0) {
      if (FRUGAL_UNLIKELY(separator.size() > m.total - written)) {
        throw_join_mismatch(m.total, written + separator.size());
      }
      write(separator);
      written += separator.size();
    }
    auto&& value = apply_formatter(formatter, x);
    const auto p = make_piece(value);
    const std::string_view text = p.view();
    if (FRUGAL_UNLIKELY(text.size() > m.total - written)) {
      throw_join_mismatch(m.total, written + text.size());
    }
    lengths = mix_length(lengths, text.size(), position);
    write(text);
    written += text.size();
  }
  if (FRUGAL_UNLIKELY(written != m.total || lengths != m.lengths)) {
    throw_join_mismatch(m.total, written);
  }
}

}  // namespace detail

/// Joins the elements of `range`, each turned into a str_cat piece by `formatter` (a
/// string-like, character or number), with `separator` between them. Measures first and
/// allocates exactly once: a forward range is walked twice and `formatter` is called twice
/// per element, once to measure and once to write, and must give a piece of the same length
/// both times. One that does not (a formatter that numbers lines, say) gets
/// std::logic_error: the write pass never writes past the measured total, and it compares
/// the lengths through their total and a 64-bit checksum of their sequence (each length times
/// a pseudo-random weight of its position). Throws std::length_error when the total exceeds
/// max_size(). Same code in every standard mode.
template <std::ranges::forward_range R, class F>
std::string str_join(R&& range, std::string_view separator, F formatter) {
  std::string out;
  const detail::join_measure m =
      detail::measure_joined(range, separator, formatter, out.max_size());
  if (m.count == 0) return out;
  if (m.total / m.count >= detail::long_join_piece) {
    // resize() zero-fills the buffer before it is overwritten: for long pieces that is a third
    // of the join's time (perf, 64 x 1 KiB), so they are appended into reserved room instead;
    // for short ones the fill is cheaper than an append call per piece.
    out.reserve(m.total);  // the one allocation
    detail::write_joined(range, separator, formatter, m,
                         [&out](std::string_view text) { out.append(text); });
  } else {
    out.resize(m.total);  // the one allocation
    char* w = out.data();
    detail::write_joined(range, separator, formatter, m, [&w](std::string_view text) {
      detail::copy_short(w, text.data(), text.size());
      w += text.size();
    });
  }
  return out;
}

/// Joins string-likes or numbers with `separator`; one allocation. See the formatter overload.
template <std::ranges::forward_range R>
std::string str_join(R&& range, std::string_view separator) {
  return str_join(std::forward<R>(range), separator, std::identity{});
}

namespace detail {

// True when `R` is contiguous with the element type of `C`, so that whether it views the
// elements of a `C` can be told by address.
template <class C, class R>
inline constexpr bool contiguous_same_elements_v = std::ranges::contiguous_range<R>&&
    std::is_same_v<std::remove_cv_t<std::ranges::range_value_t<R>>, typename C::value_type>;

}  // namespace detail

/// Builds a container whose final size is only estimated: starts with room for `hint`
/// elements (one allocation), appends, and counts how often the room ran out, so that a
/// service can tune its hints. Every regrowth at least doubles the capacity. Appending the
/// builder's own elements (`b.append(b.view())`, `b.append_range(b.view())`) is safe.
/// `std::move(b).build()` hands the container over without copying.
///
///   frugal::builder<std::string> page(4096);
///   for (const auto& row : rows) page.append(row.name, ": ", row.value, "\n");
///   if (page.regrowths() != 0) log_hint_too_small(page.size());
///   send(std::move(page).build());
template <class C>
class builder {
 public:
  using container_type = C;

  /// Starts empty with room for `hint` elements (characters for strings).
  explicit builder(std::size_t hint) : out_(with_capacity<C>(hint)), hint_(hint) {}

  /// Appends one element (vectors) or, for std::string, any str_cat pieces (which may view
  /// the string being built).
  template <class... Args>
  builder& append(const Args&... args) FRUGAL_LIFETIMEBOUND {
    const std::size_t before = out_.capacity();
    if constexpr (std::is_same_v<C, std::string>) {
      str_append(out_, args...);
    } else {
      static_assert(sizeof...(Args) == 1, "builder<C>::append takes one element");
      (out_.push_back(args), ...);
    }
    if (out_.capacity() != before) ++regrowths_;
    return *this;
  }
  /// Constructs one element in place at the end (not for std::string).
  template <class... Args>
  builder& emplace_back(Args&&... args) FRUGAL_LIFETIMEBOUND {
    const std::size_t before = out_.capacity();
    out_.emplace_back(std::forward<Args>(args)...);
    if (out_.capacity() != before) ++regrowths_;
    return *this;
  }
  /// Appends every element of `range`. A sized or forward range grows the container at most
  /// once, to at least twice its capacity (a forward range that is not sized is counted
  /// first, walking it twice) and may view the builder's own elements: a contiguous one is
  /// recognised by address; a non-contiguous view (transform, filter) is read before
  /// the old buffer is released, which for elements that are not trivially copyable costs
  /// one more allocation when the container grows. Throws std::length_error, before
  /// appending, when the total would exceed max_size(). Elements appended before a throw stay.
  /// A single-pass range is appended element by element and must not read the builder's own.
  template <std::ranges::input_range R>
  builder& append_range(R&& range) FRUGAL_LIFETIMEBOUND {
    if constexpr (std::ranges::sized_range<R> || std::ranges::forward_range<R>) {
      std::size_t n;
      if constexpr (std::ranges::sized_range<R>) {
        n = static_cast<std::size_t>(std::ranges::size(range));
      } else {
        n = static_cast<std::size_t>(std::ranges::distance(range));
      }
      const std::size_t size = out_.size();
      const std::size_t max = out_.max_size();
      if (FRUGAL_UNLIKELY(n > max - size)) {
        detail::throw_builder_length("builder::append_range", size, n, max);
      }
      if (n > out_.capacity() - size) {
        grow_and_append(range, n, detail::grown_capacity(out_.capacity(), size + n, max));
        ++regrowths_;
        return *this;
      }
      // Within capacity nothing moves: the range may read the elements it appends to. It is
      // read exactly n times, with no step past the last element: a view that searches to
      // the container's end as it steps (a filter of view()) would otherwise walk on over
      // the appended elements, past the end it started from.
      auto it = std::ranges::begin(range);
      for (std::size_t i = 0; i < n; ++i) {
        if (i != 0) ++it;
        out_.push_back(*it);
      }
    } else {
      const std::size_t before = out_.capacity();
      for (auto&& x : range) out_.push_back(std::forward<decltype(x)>(x));
      if (out_.capacity() != before) ++regrowths_;
    }
    return *this;
  }

  /// The number of elements (characters) so far.
  std::size_t size() const noexcept { return out_.size(); }
  /// The hint given at construction.
  std::size_t hint() const noexcept { return hint_; }
  /// How many appends had to grow the container past its room: 0 means the hint was enough.
  std::size_t regrowths() const noexcept { return regrowths_; }
  /// True when the content outgrew the hint.
  bool exceeded_hint() const noexcept { return out_.size() > hint_; }
  /// Read access to what was built so far; valid until the next append or the builder's end.
  const C& view() const noexcept FRUGAL_LIFETIMEBOUND { return out_; }

  /// Hands over the container; the builder is left empty.
  C build() && noexcept(std::is_nothrow_move_constructible_v<C>) { return std::move(out_); }

 private:
  C make_empty() const {
    if constexpr (requires { out_.get_allocator(); }) {
      return C(out_.get_allocator());
    } else {
      return C();
    }
  }

  // Appends the `n` elements of `range` with the capacity grown to `capacity`, reading the
  // range while the old elements are still where it may be looking.
  template <class R>
  FRUGAL_NOINLINE void grow_and_append(R& range, std::size_t n, std::size_t capacity) {
    using T = typename C::value_type;
    if constexpr (detail::contiguous_same_elements_v<C, R>) {
      const T* const first = std::ranges::data(range);
      const T* const own = out_.data();
      const std::less<const T*> before;
      if (n != 0 && !before(first, own) && before(first, own + out_.size())) {
        // Views the elements themselves: read them again at their new place.
        const auto offset = static_cast<std::size_t>(first - own);
        out_.reserve(capacity);
        for (std::size_t i = 0; i < n; ++i) out_.push_back(out_.data()[offset + i]);
        return;
      }
      out_.reserve(capacity);
      for (auto&& x : range) out_.push_back(std::forward<decltype(x)>(x));
    } else if constexpr (!std::ranges::view<std::remove_cvref_t<R>>) {
      // A container that is not a view owns its elements; `C` is contiguous, so a container
      // that aliases it was handled above.
      out_.reserve(capacity);
      for (auto&& x : range) out_.push_back(std::forward<decltype(x)>(x));
    } else if constexpr (std::is_trivially_copyable_v<T> && std::is_copy_assignable_v<T>) {
      // Copies of plain bytes cost what moves cost: fill a new buffer, then release the old.
      C grown = make_empty();
      grown.reserve(capacity);
      grown.insert(grown.end(), out_.begin(), out_.end());
      for (auto&& x : range) grown.push_back(std::forward<decltype(x)>(x));
      out_ = std::move(grown);
    } else {
      // Reads the range into a buffer of its own before the old elements move.
      C pending = make_empty();
      pending.reserve(n);
      for (auto&& x : range) pending.push_back(std::forward<decltype(x)>(x));
      out_.reserve(capacity);
      for (auto& x : pending) out_.push_back(std::move(x));
    }
  }

  C out_;
  std::size_t hint_;
  std::size_t regrowths_ = 0;
};

FRUGAL_END_NAMESPACE
