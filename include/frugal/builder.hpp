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
// regrowth, which `frugal::builder` counts so that a service can tune its hints.
#pragma once

#include <frugal/detail/config.hpp>

#include <charconv>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <limits>
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

template <class C, class T>
concept back_insertable = requires(C& c, T&& x) {
  c.push_back(std::forward<T>(x));
};

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

[[noreturn]] FRUGAL_COLD inline void throw_builder_length(const char* what) {
  FRUGAL_THROW(std::length_error(std::string(what) + ": total length exceeds max_size"));
}

// Adds `b` to the running total `a`, throwing std::length_error past `limit`.
inline std::size_t checked_add(std::size_t a, std::size_t b, std::size_t limit, const char* what) {
  if (b > limit || a > limit - b) throw_builder_length(what);
  return a + b;
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
/// C++23 `std::ranges::to`, plus the reservation.
template <class C, std::ranges::input_range R>
C collect(R&& range) {
  C out;
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

/// Like `collect(range)`, but reserves `size_hint` when the range is not sized, instead of
/// counting. A hint that is too small costs regrowths, never an error.
template <class C, std::ranges::input_range R>
C collect(R&& range, std::size_t size_hint) {
  C out;
  if constexpr (detail::reservable<C>) {
    if constexpr (std::ranges::sized_range<R>) {
      out.reserve(static_cast<std::size_t>(std::ranges::size(range)));
    } else {
      out.reserve(size_hint);
    }
  }
  detail::append_all(out, range);
  return out;
}

// Text pieces ----------------------------------------------------------------------------------

namespace detail {

template <class T>
concept string_like = std::is_convertible_v<const T&, std::string_view>;

template <class T>
concept integer_piece =
    std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char> &&
    !std::is_same_v<T, wchar_t> && !std::is_same_v<T, char8_t> && !std::is_same_v<T, char16_t> &&
    !std::is_same_v<T, char32_t>;

// One argument of str_cat, measured: text that lives elsewhere, or digits formatted here.
class piece {
 public:
  piece(std::string_view text) noexcept : view_(text) {}  // NOLINT: implicit on purpose
  explicit piece(char c) noexcept : len_(1) {
    buffer_[0] = c;
    view_ = std::string_view(buffer_, 1);
  }
  template <integer_piece T>
  explicit piece(T value) noexcept {
    const auto r = std::to_chars(buffer_, buffer_ + sizeof buffer_, value);
    len_ = static_cast<std::size_t>(r.ptr - buffer_);
    view_ = std::string_view(buffer_, len_);
  }
  template <std::floating_point T>
  explicit piece(T value) noexcept {
    // Shortest form that reads back to the same value; at most 24 characters for a double.
    const auto r = std::to_chars(buffer_, buffer_ + sizeof buffer_, value);
    len_ = r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - buffer_) : 0;
    view_ = std::string_view(buffer_, len_);
  }
  piece(const piece&) = delete;
  piece& operator=(const piece&) = delete;

  std::string_view view() const noexcept { return view_; }

 private:
  char buffer_[40];
  std::size_t len_ = 0;
  std::string_view view_;
};

template <class T>
decltype(auto) as_piece_arg(const T& x) {
  if constexpr (string_like<T>) {
    return std::string_view(x);
  } else {
    static_assert(!std::is_same_v<T, bool>,
                  "str_cat: pass a bool as text (b ? \"true\" : \"false\"), not as a number");
    static_assert(
        std::is_arithmetic_v<T>,
        "str_cat takes strings, string views, characters, integers and floating-point numbers");
    return x;
  }
}

template <class T>
piece make_piece(const T& x) {
  if constexpr (string_like<T>) {
    return piece(std::string_view(x));
  } else {
    return piece(as_piece_arg(x));
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

template <class... Args>
std::string str_cat_pieces(const Args&... pieces) {
  std::string out;
  const std::size_t total = total_size(0, out.max_size(), "str_cat", pieces...);
  out.resize(total);  // the one allocation; none when the result fits the short buffer
  write_pieces(out.data(), pieces...);
  return out;
}

template <class... Args>
void str_append_pieces(std::string& out, const Args&... pieces) {
  const std::size_t old_size = out.size();
  const std::size_t total = total_size(old_size, out.max_size(), "str_append", pieces...);
  if (total > out.capacity()) out.reserve(total);
  out.resize(total);
  write_pieces(out.data() + old_size, pieces...);
}

}  // namespace detail

/// Concatenates string-likes (std::string, std::string_view, C strings), characters,
/// integers and floating-point numbers (shortest round-trip form, std::to_chars) into one
/// std::string. Measures every piece first and allocates exactly once, or not at all when the
/// result fits the short-string buffer. Throws std::length_error, before writing anything,
/// when the total exceeds max_size(). bool is rejected at compile time (say what you mean).
template <class... Args>
std::string str_cat(const Args&... args) {
  return detail::str_cat_pieces(detail::make_piece(args)...);
}

/// Appends the pieces (as str_cat takes them) to `out`, reallocating at most once.
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

}  // namespace detail

namespace detail {

// The average piece length (separators included) from which str_join appends into reserved
// room instead of writing into a zero-filled buffer.
inline constexpr std::size_t long_join_piece = 64;

template <class R, class F>
void append_joined(std::string& out, R& range, std::string_view separator, F& formatter) {
  bool first = true;
  for (auto&& x : range) {
    if (!first) out.append(separator);
    first = false;
    auto&& value = apply_formatter(formatter, x);
    const auto p = make_piece(value);
    out.append(p.view());
  }
}

}  // namespace detail

/// Joins the elements of `range`, each turned into a str_cat piece by `formatter` (a
/// string-like, character or number), with `separator` between them. Measures first (a
/// forward range is walked twice; numbers are formatted twice into a stack buffer) and
/// allocates exactly once. Throws std::length_error when the total exceeds max_size().
template <std::ranges::forward_range R, class F>
std::string str_join(R&& range, std::string_view separator, F formatter) {
  std::string out;
  const std::size_t limit = out.max_size();
  std::size_t total = 0;
  std::size_t count = 0;
  for (auto&& x : range) {
    if (count != 0) total = detail::checked_add(total, separator.size(), limit, "str_join");
    ++count;
    auto&& value = detail::apply_formatter(formatter, x);  // kept alive: the piece may view it
    const auto p = detail::make_piece(value);
    total = detail::checked_add(total, p.view().size(), limit, "str_join");
  }
#if !defined(__cpp_lib_string_resize_and_overwrite)
  // resize() zero-fills the buffer before it is overwritten: for long pieces that is a third
  // of the join's time (perf, 64 x 1 KiB), so they are appended into reserved room instead;
  // for short ones the fill is cheaper than an append call per piece.
  if (count != 0 && total / count >= detail::long_join_piece) {
    out.reserve(total);  // the one allocation
    detail::append_joined(out, range, separator, formatter);
    return out;
  }
  out.resize(total);  // the one allocation
  char* w = out.data();
#else
  // C++23: sized without the fill; every character is written below, before any is read.
  // Returns `total`, not the size passed in: libstdc++ 12 passes the grown capacity there.
  out.resize_and_overwrite(total, [total](char*, std::size_t) { return total; });  // 1 alloc
  char* w = out.data();
#endif
  bool first = true;
  for (auto&& x : range) {
    if (!first) {
      std::char_traits<char>::copy(w, separator.data(), separator.size());
      w += separator.size();
    }
    first = false;
    auto&& value = detail::apply_formatter(formatter, x);
    const auto p = detail::make_piece(value);
    std::char_traits<char>::copy(w, p.view().data(), p.view().size());
    w += p.view().size();
  }
  return out;
}

/// Joins string-likes or numbers with `separator`; one allocation. See the formatter overload.
template <std::ranges::forward_range R>
std::string str_join(R&& range, std::string_view separator) {
  return str_join(std::forward<R>(range), separator, std::identity{});
}

/// Builds a container whose final size is only estimated: starts with room for `hint`
/// elements (one allocation), appends, and counts how often the room ran out, so that a
/// service can tune its hints. `std::move(b).build()` hands the container over without
/// copying.
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

  /// Appends one element (vectors) or, for std::string, any str_cat pieces.
  template <class... Args>
  builder& append(const Args&... args) {
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
  builder& emplace_back(Args&&... args) {
    const std::size_t before = out_.capacity();
    out_.emplace_back(std::forward<Args>(args)...);
    if (out_.capacity() != before) ++regrowths_;
    return *this;
  }
  /// Appends every element of `range`, growing at most once for a sized range.
  template <std::ranges::input_range R>
  builder& append_range(R&& range) {
    const std::size_t before = out_.capacity();
    if constexpr (std::ranges::sized_range<R>) {
      const auto n = static_cast<std::size_t>(std::ranges::size(range));
      if (out_.size() + n > out_.capacity()) out_.reserve(out_.size() + n);
    }
    for (auto&& x : range) out_.push_back(std::forward<decltype(x)>(x));
    if (out_.capacity() != before) ++regrowths_;
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
  /// Read access to what was built so far.
  const C& view() const noexcept { return out_; }

  /// Hands over the container; the builder is left empty.
  C build() && noexcept(std::is_nothrow_move_constructible_v<C>) { return std::move(out_); }

 private:
  C out_;
  std::size_t hint_;
  std::size_t regrowths_ = 0;
};

FRUGAL_END_NAMESPACE
