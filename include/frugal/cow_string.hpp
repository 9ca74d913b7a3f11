// frugal::cow_string: text that is borrowed until a change forces a copy (Rust's Cow<str>).
//
// A normaliser that returns std::string allocates for every input, even the many that need
// no change. One that returns a cow_string returns a view of its input when nothing changes
// and allocates once when something does:
//
//   frugal::cow_string email = frugal::to_lower_ascii(frugal::trim(raw));  // usually borrowed
//   find_user(email);                                 // converts to std::string_view
//
// Ownership rules:
// - Constructed from a std::string_view, a C string or a `const std::string&`, it borrows:
//   the text must outlive the cow. Constructed from a `std::string&&`, it owns (moved in).
// - `view()`, `data()` and the conversion to std::string_view point at the borrowed text or
//   into the owned string. Like views into a std::string, those into an owned cow are
//   invalidated when it is moved from, assigned or destroyed (a short string lives inside the
//   object and moves with it); views into a borrowed cow stay valid as long as the source does.
// - Assigning a cow a view of its own owned text (`c = trim(c.view())`, `c = to_lower_ascii(c)`)
//   keeps that text: the cow stays owned and allocates nothing.
// - Every function that can return or keep a view of its argument or of `*this` is marked
//   FRUGAL_LIFETIMEBOUND, so clang warns (-Wdangling) on `std::string_view v = make_cow();`.
#pragma once

#include <frugal/detail/config.hpp>
#include <frugal/slice.hpp>

#include <bit>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <version>

// std::format: where the standard library has it (libc++ 16 with -fexperimental-library has it
// without announcing it).
#if defined(__cpp_lib_format) || (defined(_LIBCPP_VERSION) && _LIBCPP_VERSION >= 160000 && \
                                  !defined(_LIBCPP_HAS_NO_INCOMPLETE_FORMAT))
#include <format>
#define FRUGAL_COW_HAS_FORMAT 1
#else
#define FRUGAL_COW_HAS_FORMAT 0
#endif

FRUGAL_BEGIN_NAMESPACE

namespace detail {

// Empties `s` and gives it room for exactly `n` characters where it must allocate. libstdc++'s
// reserve at least doubles the capacity, so 16 to 29 characters from the 15 of the short
// buffer would get 30; a string built with its size allocates exactly, so that is what is
// done then (filling fewer than 30 characters costs nothing worth counting).
template <class S>
void reserve_exact(S& s, typename S::size_type n) {
  s.clear();
  if (n <= s.capacity()) return;
  if (n / 2 < s.capacity()) {
    s = S(n, typename S::value_type(), s.get_allocator());
    s.clear();
  } else {
    s.reserve(n);
  }
}

}  // namespace detail

/// Text that either borrows a string view or owns a std::basic_string. See the file comment.
template <class CharT, class Traits = std::char_traits<CharT>,
          class Allocator = std::allocator<CharT>>
class basic_cow_string {
 public:
  using string_type = std::basic_string<CharT, Traits, Allocator>;
  using view_type = std::basic_string_view<CharT, Traits>;
  using value_type = CharT;
  using traits_type = Traits;
  using allocator_type = Allocator;
  using size_type = std::size_t;
  using const_iterator = typename view_type::const_iterator;
  using iterator = const_iterator;

  /// Constructs an empty, borrowed text. Never allocates.
  constexpr basic_cow_string() noexcept = default;
  /// Borrows `text`, which must outlive this object. Never allocates.
  constexpr basic_cow_string(view_type text FRUGAL_LIFETIMEBOUND) noexcept : borrowed_(text) {}
  /// Borrows the C string `text`, which must outlive this object. Never allocates.
  constexpr basic_cow_string(const CharT* text FRUGAL_LIFETIMEBOUND)
      : borrowed_(text), terminated_(true) {}
  /// Borrows the contents of `text`, which must outlive this object (and not change size).
  basic_cow_string(const string_type& text FRUGAL_LIFETIMEBOUND) noexcept
      : borrowed_(text), terminated_(true) {}
  /// Takes ownership of `text` by moving it. Never copies characters.
  basic_cow_string(string_type&& text) noexcept : owned_(std::move(text)), is_owned_(true) {}
  /// Deleted: a const temporary string can be neither moved in nor borrowed beyond the
  /// statement.
  basic_cow_string(const string_type&& text) = delete;

  basic_cow_string(std::nullptr_t) = delete;

  /// Returns a cow that borrows `text`.
  static constexpr basic_cow_string borrowed(view_type text FRUGAL_LIFETIMEBOUND) noexcept {
    return basic_cow_string(text);
  }
  /// Returns a cow that borrows the C string `text`, which must outlive it.
  static constexpr basic_cow_string borrowed(const CharT* text FRUGAL_LIFETIMEBOUND) {
    return basic_cow_string(text);
  }
  /// Returns a cow that borrows the string `text`, which must outlive it.
  static basic_cow_string borrowed(const string_type& text FRUGAL_LIFETIMEBOUND) noexcept {
    return basic_cow_string(text);
  }
  /// Deleted: borrowing a temporary string would dangle at the end of the statement; use
  /// `owned` or the `std::string&&` constructor to take it over.
  static basic_cow_string borrowed(string_type&& text) = delete;
  static basic_cow_string borrowed(const string_type&& text) = delete;
  /// Returns a cow that owns `text` (moved in).
  static basic_cow_string owned(string_type text) noexcept {
    return basic_cow_string(std::move(text));
  }

  /// Copies `other`: the copy of an owned cow copies its string (and may allocate, like
  /// std::string), the copy of a borrowed one borrows the same text.
  basic_cow_string(const basic_cow_string& other) = default;
  /// Moves `other`; never allocates. Views into a short owned text are invalidated.
  basic_cow_string(basic_cow_string&& other) noexcept = default;

  /// Replaces the text with `other`'s. When `other` borrows this cow's own owned text (as
  /// `c = trim(c.view())` or `c = to_lower_ascii(c)` do when nothing changes), that text is
  /// kept: this cow stays owned and moves the borrowed part to the front of its string,
  /// without allocating. Otherwise as std::string's copy assignment.
  basic_cow_string& operator=(const basic_cow_string& other) {
    if (borrows_own_text(other)) {
      keep_own_text(other.borrowed_);
    } else if (this != &other) {
      owned_ = other.owned_;
      borrowed_ = other.borrowed_;
      is_owned_ = other.is_owned_;
      terminated_ = other.terminated_;
    }
    return *this;
  }
  /// Replaces the text with `other`'s, moving its string; keeps the text as the copy
  /// assignment does when `other` borrows this cow's own owned text.
  basic_cow_string& operator=(basic_cow_string&& other) noexcept(
      std::is_nothrow_move_assignable_v<string_type>) {
    if (borrows_own_text(other)) {
      keep_own_text(other.borrowed_);
    } else if (this != &other) {
      owned_ = std::move(other.owned_);
      borrowed_ = other.borrowed_;
      is_owned_ = other.is_owned_;
      terminated_ = other.terminated_;
    }
    return *this;
  }

  /// Returns the text. Valid while this object lives unchanged and, when borrowed, while the
  /// borrowed text lives.
  constexpr view_type view() const noexcept FRUGAL_LIFETIMEBOUND {
    return is_owned_ ? view_type(owned_) : borrowed_;
  }
  /// Converts to a view of the text; see `view()`.
  constexpr operator view_type() const noexcept FRUGAL_LIFETIMEBOUND { return view(); }

  const CharT* data() const noexcept FRUGAL_LIFETIMEBOUND { return view().data(); }
  size_type size() const noexcept { return view().size(); }
  size_type length() const noexcept { return size(); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  const_iterator begin() const noexcept FRUGAL_LIFETIMEBOUND { return view().begin(); }
  const_iterator end() const noexcept FRUGAL_LIFETIMEBOUND { return view().end(); }
  CharT operator[](size_type i) const noexcept {
    FRUGAL_ASSERT(i < size());
    return view()[i];
  }

  /// Returns true while the text is borrowed.
  constexpr bool is_borrowed() const noexcept { return !is_owned_; }
  /// Returns true once the text is owned.
  constexpr bool is_owned() const noexcept { return is_owned_; }

  /// Returns the owned string, first copying the borrowed text into it (one allocation when
  /// it does not fit the short-string buffer). Not noexcept: the copy may throw bad_alloc.
  string_type& to_mut() FRUGAL_LIFETIMEBOUND {
    if (!is_owned_) {
      owned_.assign(borrowed_.data(), borrowed_.size());
      is_owned_ = true;
    }
    return owned_;
  }

  /// Returns the text as a std::string: moved out when owned, copied when borrowed (one
  /// allocation unless it fits the short-string buffer). Leaves this cow empty and borrowed.
  string_type into_owned() && {
    string_type out = is_owned_ ? std::move(owned_) : string_type(borrowed_);
    owned_.clear();
    borrowed_ = view_type();
    is_owned_ = false;
    terminated_ = false;
    return out;
  }

  /// Returns a copy of the text as a std::string; this cow is unchanged. One allocation
  /// unless the text fits the short-string buffer; throws what std::string's copy throws.
  string_type to_owned() const& { return string_type(view(), owned_.get_allocator()); }
  /// Returns the text as a std::string, moved out when owned (see `into_owned`).
  string_type to_owned() && { return std::move(*this).into_owned(); }

  /// Returns the text followed by a '\0'. Free when owned, and when borrowed from a C string
  /// or a std::string (whose terminator it reuses). Otherwise a borrowed view is not known to
  /// be terminated: the text is first copied into an owned string (one allocation unless it
  /// fits the short-string buffer; may throw bad_alloc, leaving this cow unchanged), which
  /// is why this member is not const. Valid as `data()` is.
  const CharT* c_str() FRUGAL_LIFETIMEBOUND {
    if (!is_owned_ && !terminated_) to_mut();
    return is_owned_ ? owned_.c_str() : borrowed_.data();
  }

  /// Appends `text`. A borrowed cow stays borrowed when `text` is empty; otherwise it turns
  /// owned, copying its text and `text` into one allocation of the exact size (none when
  /// short). An owned cow appends as std::string does (amortised O(size of text)). `text`
  /// may view this cow's own text. Throws std::length_error when the result would exceed
  /// max_size(), bad_alloc when allocation fails; either way this cow is unchanged.
  basic_cow_string& append(view_type text) {
    if (text.empty()) return *this;
    const view_type current = view();
    if (text.size() > owned_.max_size() - current.size()) throw_append_length();
    if (!is_owned_) {
      detail::reserve_exact(owned_, current.size() + text.size());  // the one allocation
      owned_.append(current.data(), current.size());
      owned_.append(text.data(), text.size());
      is_owned_ = true;
      return *this;
    }
    const std::less_equal<const CharT*> not_after;
    const CharT* const begin = owned_.data();
    if (not_after(begin, text.data()) &&
        not_after(text.data() + text.size(), begin + owned_.size())) {
      // `text` is part of the owned string, which growing may move: read it by position.
      // Grown geometrically, as append does: a reserve of the exact size would make repeated
      // self-appends quadratic where reserve allocates exactly what it is asked (libc++).
      const auto offset = static_cast<size_type>(text.data() - begin);
      const size_type needed = owned_.size() + text.size();
      if (needed > owned_.capacity()) {
        const size_type cap = owned_.capacity();
        owned_.reserve(cap > owned_.max_size() / 2 ? needed : std::max(needed, 2 * cap));
      }
      owned_.append(owned_.data() + offset, text.size());
    } else {
      owned_.append(text.data(), text.size());
    }
    return *this;
  }
  /// Appends `count` copies of `ch`, as `append(view)` does (nothing changes when `count` is
  /// 0).
  basic_cow_string& append(size_type count, CharT ch) {
    if (count == 0) return *this;
    const view_type current = view();
    if (count > owned_.max_size() - current.size()) throw_append_length();
    if (!is_owned_) {
      detail::reserve_exact(owned_, current.size() + count);
      owned_.append(current.data(), current.size());
      is_owned_ = true;
    }
    owned_.append(count, ch);
    return *this;
  }
  /// Appends `text`; see `append`.
  basic_cow_string& operator+=(view_type text) { return append(text); }
  /// Appends one character; see `append`.
  basic_cow_string& operator+=(CharT ch) { return append(1, ch); }

  // The read-only members of std::basic_string_view, on the text. None allocates.

  static constexpr size_type npos = view_type::npos;

  /// Returns the first character (precondition: not empty, checked by FRUGAL_ASSERT).
  CharT front() const noexcept {
    FRUGAL_ASSERT(!empty());
    return view().front();
  }
  /// Returns the last character (precondition: not empty, checked by FRUGAL_ASSERT).
  CharT back() const noexcept {
    FRUGAL_ASSERT(!empty());
    return view().back();
  }
  /// Returns the position of the first `text` at or after `pos`, or npos. O(size * size of
  /// text) at worst, as std::string_view::find.
  size_type find(view_type text, size_type pos = 0) const noexcept {
    return view().find(text, pos);
  }
  size_type find(CharT ch, size_type pos = 0) const noexcept { return view().find(ch, pos); }
  /// Returns the position of the last `text` starting at or before `pos`, or npos.
  size_type rfind(view_type text, size_type pos = npos) const noexcept {
    return view().rfind(text, pos);
  }
  size_type rfind(CharT ch, size_type pos = npos) const noexcept { return view().rfind(ch, pos); }
  /// Returns true when the text starts with `text`. O(size of text).
  bool starts_with(view_type text) const noexcept { return view().starts_with(text); }
  bool starts_with(CharT ch) const noexcept { return view().starts_with(ch); }
  /// Returns true when the text ends with `text`. O(size of text).
  bool ends_with(view_type text) const noexcept { return view().ends_with(text); }
  bool ends_with(CharT ch) const noexcept { return view().ends_with(ch); }
  /// Returns true when `text` occurs in the text (C++23's string_view::contains).
  bool contains(view_type text) const noexcept { return view().find(text) != npos; }
  bool contains(CharT ch) const noexcept { return view().find(ch) != npos; }
  /// Compares the text with `text` as std::string_view::compare does: negative, zero or
  /// positive.
  int compare(view_type text) const noexcept { return view().compare(text); }
  /// Returns a borrowed cow of `[pos, pos + min(count, size - pos))`: a view of this cow's
  /// text, valid while that text is (for an owned cow, while this object lives unchanged).
  /// Never allocates. Throws std::out_of_range naming both values when `pos > size()`, as
  /// std::string_view::substr does.
  basic_cow_string substr(size_type pos = 0, size_type count = npos) const FRUGAL_LIFETIMEBOUND {
    const view_type v = view();
    if (pos > v.size()) throw_substr(pos, v.size());
    return basic_cow_string(v.substr(pos, count));
  }

  friend constexpr bool operator==(const basic_cow_string& a, const basic_cow_string& b) noexcept {
    return a.view() == b.view();
  }
  friend constexpr bool operator==(const basic_cow_string& a, view_type b) noexcept {
    return a.view() == b;
  }
  friend constexpr auto operator<=>(const basic_cow_string& a, const basic_cow_string& b) noexcept {
    return a.view() <=> b.view();
  }
  friend constexpr auto operator<=>(const basic_cow_string& a, view_type b) noexcept {
    return a.view() <=> b;
  }
  // With std::string and C strings on either side: C++20 rewrites the reversed forms.
  friend bool operator==(const basic_cow_string& a, const string_type& b) noexcept {
    return a.view() == view_type(b);
  }
  friend auto operator<=>(const basic_cow_string& a, const string_type& b) noexcept {
    return a.view() <=> view_type(b);
  }
  friend constexpr bool operator==(const basic_cow_string& a, const CharT* b) {
    return a.view() == view_type(b);
  }
  friend constexpr auto operator<=>(const basic_cow_string& a, const CharT* b) {
    return a.view() <=> view_type(b);
  }

  /// Writes the text.
  friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os,
                                                       const basic_cow_string& s) {
    return os << s.view();
  }

 private:
  // Returns true when `other` is borrowed and views characters of this cow's owned string,
  // which an assignment would otherwise destroy before reading them.
  bool borrows_own_text(const basic_cow_string& other) const noexcept {
    if (!is_owned_ || other.is_owned_ || other.borrowed_.data() == nullptr) return false;
    const std::less_equal<const CharT*> not_after;
    const CharT* const begin = owned_.data();
    return not_after(begin, other.borrowed_.data()) &&
           not_after(other.borrowed_.data() + other.borrowed_.size(), begin + owned_.size());
  }
  // Makes the owned string exactly `part`, which lies inside it. Never allocates.
  void keep_own_text(view_type part) noexcept {
    const auto offset = static_cast<size_type>(part.data() - owned_.data());
    owned_.erase(offset + part.size());
    owned_.erase(0, offset);
  }

  [[noreturn]] FRUGAL_COLD static void throw_append_length() {
    FRUGAL_THROW(std::length_error("cow_string::append: result longer than max_size"));
  }
  [[noreturn]] FRUGAL_COLD static void throw_substr(size_type pos, size_type size) {
    FRUGAL_THROW(std::out_of_range("cow_string::substr: pos " + std::to_string(pos) + " > size " +
                                   std::to_string(size)));
  }

  string_type owned_;
  view_type borrowed_;
  bool is_owned_ = false;
  bool terminated_ = false;  // borrowed_ is followed by a '\0' (from a C string or a string)
};

using cow_string = basic_cow_string<char>;

namespace detail {
// The slice functions (`trim`, `split_once`, `first_n`, ...) take a cow lvalue as a string and
// return std::basic_string_view into its text.
template <class C, class Traits, class A>
struct is_string_like<basic_cow_string<C, Traits, A>> : std::true_type {};
}  // namespace detail

/// A transparent hash for unordered containers keyed by std::string: lookups with a
/// std::string_view, a C string or a cow_string build no std::string. Agrees with
/// std::hash<std::string_view>.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// The transparent equality that goes with string_hash.
struct string_equal {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// Transformations ------------------------------------------------------------------------------
//
// Each returns a borrowed view of its argument when nothing changes and allocates exactly once
// when something does (zero times when the result fits the short-string buffer). The
// `std::string&&` overloads (templates, so that a string literal picks the view overload
// unambiguously) work in place where they can; the `cow_string&&` overloads keep a
// borrowed input borrowed and change an owned one in place, so that calls chain (they take
// only cow_string rvalues; a cow lvalue is read through its view).

namespace detail {

[[noreturn]] FRUGAL_COLD inline void throw_cow_length(const char* what) {
  FRUGAL_THROW(std::length_error(std::string(what) + ": result longer than max_size"));
}

constexpr bool is_ascii_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
constexpr bool is_ascii_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }

template <bool Upper>
constexpr bool needs_case_change(char c) noexcept {
  return Upper ? is_ascii_lower(c) : is_ascii_upper(c);
}

// Returns, in the high bit of each byte, whether that byte of `x` is an ASCII letter of the
// case that changes (A-Z when lower-casing, a-z when upper-casing). Exact per byte: adding
// at most 0x3F to a byte's low seven bits never carries into the next byte.
template <bool Upper>
constexpr std::uint64_t case_change_mask(std::uint64_t x) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  constexpr std::uint64_t lo = Upper ? 'a' : 'A';
  constexpr std::uint64_t hi = Upper ? 'z' : 'Z';
  const std::uint64_t low7 = x & ~high;
  const std::uint64_t at_least_lo = low7 + (0x80 - lo) * ones;
  const std::uint64_t above_hi = low7 + (0x80 - hi - 1) * ones;
  return at_least_lo & ~above_hi & ~x & high;
}

// Returns the `n` bytes at `p` (1 to 7) as a word, byte i of them in bits 8i to 8i + 7 and
// the rest zero (on a little-endian machine, what memcpy of `n` bytes into a zeroed word
// gives), without a call for the variable size: two overlapping 4-byte loads, or three
// single bytes. Reads p[0] to p[n - 1] only.
inline std::uint64_t load_short(const char* p, std::size_t n) noexcept {
  if (n >= 4) {
    std::uint32_t lo;
    std::uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    if constexpr (std::endian::native != std::endian::little) {
      // Byte i of each load to bits 8i, as on a little-endian machine, so that the
      // overlapping bytes of the two coincide.
      const auto swap = [](std::uint32_t x) {
        return (x >> 24) | ((x >> 8) & 0xFF00u) | ((x << 8) & 0xFF0000u) | (x << 24);
      };
      lo = swap(lo);
      hi = swap(hi);
    }
    return std::uint64_t{lo} | (std::uint64_t{hi} << (8 * (n - 4)));
  }
  const auto byte = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
  return byte(0) | (byte(n / 2) << (8 * (n / 2))) | (byte(n - 1) << (8 * (n - 1)));
}

// Returns the index of the first character that changes, or npos. Tests 32 bytes per step
// with word-wide arithmetic, then finds the byte within the step.
template <bool Upper>
constexpr std::size_t find_case_change(std::string_view s) noexcept {
  std::size_t i = 0;
  if (!std::is_constant_evaluated()) {
    const char* p = s.data();
    for (; i + 32 <= s.size(); i += 32) {
      std::uint64_t w[4];
      std::memcpy(w, p + i, 32);
      if ((case_change_mask<Upper>(w[0]) | case_change_mask<Upper>(w[1]) |
           case_change_mask<Upper>(w[2]) | case_change_mask<Upper>(w[3])) != 0) {
        break;
      }
    }
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      const std::uint64_t m = case_change_mask<Upper>(w);
      if (m != 0) {
        if constexpr (std::endian::native == std::endian::little) {
          return i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
        } else {
          break;
        }
      }
    }
  }
  for (; i < s.size(); ++i) {
    if (needs_case_change<Upper>(s[i])) return i;
  }
  return std::string_view::npos;
}

template <bool Upper>
void change_case(char* p, std::size_t n) noexcept {
  // Eight bytes at a time: the mask's high bits shifted down by two are exactly the 0x20 case
  // bits of the letters that change.
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= case_change_mask<Upper>(w) >> 2;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) {
    const char c = p[i];
    p[i] = static_cast<char>(c ^ (needs_case_change<Upper>(c) ? 0x20 : 0));
  }
}

template <bool Upper>
cow_string change_case_cow(std::string_view s FRUGAL_LIFETIMEBOUND) {
  cow_string result = cow_string::borrowed(s);
  const std::size_t first = find_case_change<Upper>(s);
  if (first != std::string_view::npos) {
    std::string& out = result.to_mut();  // the one allocation (none for short text)
    // From the start: whole words, and no loop whose length depends on where `first` is.
    change_case<Upper>(out.data(), out.size());
  }
  return result;
}

// The replacement of an HTML-special character, or empty when it needs none.
constexpr std::string_view html_entity(char c) noexcept {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return {};
  }
}

}  // namespace detail

/// Returns `s` with ASCII A-Z lower-cased (other bytes, including UTF-8, unchanged): borrowed
/// when `s` has no upper-case letter, else one allocation. O(size).
inline cow_string to_lower_ascii(std::string_view s FRUGAL_LIFETIMEBOUND) {
  return detail::change_case_cow<false>(s);
}
/// Lower-cases `s` in place and returns it, owned. Never allocates.
template <class S>
requires std::same_as<S, std::string> cow_string to_lower_ascii(S&& s)
noexcept {
  detail::change_case<false>(s.data(), s.size());
  return cow_string(std::move(s));
}
/// Lower-cases an owned cow in place; a borrowed one as the view overload does.
template <class C>
requires std::same_as<C, cow_string> cow_string to_lower_ascii(C&& s) {
  if (s.is_owned()) return to_lower_ascii(std::move(s).into_owned());
  return to_lower_ascii(s.view());
}

/// Returns `s` with ASCII a-z upper-cased: borrowed when nothing changes, else one allocation.
inline cow_string to_upper_ascii(std::string_view s FRUGAL_LIFETIMEBOUND) {
  return detail::change_case_cow<true>(s);
}
/// Upper-cases `s` in place and returns it, owned. Never allocates.
template <class S>
requires std::same_as<S, std::string> cow_string to_upper_ascii(S&& s)
noexcept {
  detail::change_case<true>(s.data(), s.size());
  return cow_string(std::move(s));
}
/// Upper-cases an owned cow in place; a borrowed one as the view overload does.
template <class C>
requires std::same_as<C, cow_string> cow_string to_upper_ascii(C&& s) {
  if (s.is_owned()) return to_upper_ascii(std::move(s).into_owned());
  return to_upper_ascii(s.view());
}

namespace detail {

inline std::size_t checked_replace_size(std::size_t size, std::size_t count, std::size_t from,
                                        std::size_t to) {
  if (to <= from) return size - count * (from - to);
  const std::size_t grow = to - from;
  const std::size_t limit = std::string().max_size();
  if (count > (limit - size) / grow) throw_cow_length("replace_all");
  return size + count * grow;
}

inline void check_pattern(std::string_view from) {
  if (from.empty()) {
    FRUGAL_THROW(std::invalid_argument("replace_all: the pattern to replace is empty"));
  }
}

// Writes `text` with every occurrence of `from` (found left to right, not overlapping)
// replaced by `to`, starting at the first occurrence `first`, into `out`.
inline void append_replaced(std::string& out, std::string_view text, std::string_view from,
                            std::string_view to, std::size_t first) {
  std::size_t done = 0;
  for (std::size_t at = first; at != std::string_view::npos; at = text.find(from, done)) {
    out.append(text.data() + done, at - done);
    out.append(to);
    done = at + from.size();
  }
  out.append(text.data() + done, text.size() - done);
}

inline std::size_t count_occurrences(std::string_view text, std::string_view from,
                                     std::size_t first) {
  std::size_t count = 0;
  for (std::size_t at = first; at != std::string_view::npos; at = text.find(from, at + from.size()))
    ++count;
  return count;
}

// Writes `c`, or its entity, at `w` and returns the position after it. Byte stores instead
// of a copy call: entities are a few bytes and a call would cost more than the copy.
inline char* write_escaped(char* w, char c) noexcept {
  auto put = [&w](std::initializer_list<char> bytes) {
    for (char b : bytes) *w++ = b;
  };
  switch (c) {
    case '&':
      put({'&', 'a', 'm', 'p', ';'});
      break;
    case '<':
      put({'&', 'l', 't', ';'});
      break;
    case '>':
      put({'&', 'g', 't', ';'});
      break;
    case '"':
      put({'&', 'q', 'u', 'o', 't', ';'});
      break;
    case '\'':
      put({'&', '#', '3', '9', ';'});
      break;
    default:
      *w++ = c;
  }
  return w;
}

// The high bit of each byte of the result says whether that byte of `x` is one of & < > " '.
// The lowest set bit is exact (a borrow can only mark bytes above a true match).
constexpr std::uint64_t html_special_mask(std::uint64_t x) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  auto zero_bytes = [](std::uint64_t v) { return (v - ones) & ~v & high; };
  return zero_bytes(x ^ ('&' * ones)) | zero_bytes(x ^ ('<' * ones)) |
         zero_bytes(x ^ ('>' * ones)) | zero_bytes(x ^ ('"' * ones)) |
         zero_bytes(x ^ ('\'' * ones));
}

// Returns the index of the first character escape_html replaces, or the size.
inline std::size_t find_html_special(std::string_view s) noexcept {
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      const std::uint64_t m = html_special_mask(w);
      if (m != 0) return i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
    }
  }
  while (i < s.size() && html_entity(s[i]).empty()) ++i;
  return i;
}

}  // namespace detail

/// Returns `text` with every occurrence of `from` replaced by `to` (left to right, not
/// overlapping): borrowed when `from` does not occur, else one allocation of the exact
/// result size. Throws std::invalid_argument when `from` is empty and std::length_error
/// when the result would exceed max_size(). O(size).
inline cow_string replace_all(std::string_view text FRUGAL_LIFETIMEBOUND, std::string_view from,
                              std::string_view to) {
  detail::check_pattern(from);
  const std::size_t first = text.find(from);
  if (first == std::string_view::npos) return cow_string::borrowed(text);
  const std::size_t count = detail::count_occurrences(text, from, first);
  std::string out;
  detail::reserve_exact(out,
                        detail::checked_replace_size(text.size(), count, from.size(), to.size()));
  detail::append_replaced(out, text, from, to, first);
  return cow_string(std::move(out));
}

namespace detail {

// Returns true when `part` shares characters with `whole`. std::less orders pointers into
// unrelated objects, where the built-in `<` does not.
inline bool overlaps(std::string_view part, std::string_view whole) noexcept {
  if (part.empty() || whole.empty()) return false;
  const std::less<const char*> before;
  return before(part.data(), whole.data() + whole.size()) &&
         before(whole.data(), part.data() + part.size());
}

// Replaces every occurrence of `from` by `to` in `text`: in place when `to` is not longer and
// neither pattern views `text` itself; otherwise into a new string of the exact size (one
// allocation), read from the unchanged `text` and moved into it at the end.
inline void replace_all_in(std::string& text, std::string_view from, std::string_view to) {
  check_pattern(from);
  const std::size_t first = text.find(from);
  if (first == std::string::npos) return;
  const std::string_view v(text);
  if (to.size() <= from.size() && !overlaps(from, v) && !overlaps(to, v)) {
    // Compact in place: the write position never passes the read position.
    char* p = text.data();
    std::size_t write = first;
    std::size_t read = first;
    for (std::size_t at = first; at != std::string::npos; at = text.find(from, read)) {
      std::char_traits<char>::move(p + write, p + read, at - read);
      write += at - read;
      std::char_traits<char>::copy(p + write, to.data(), to.size());
      write += to.size();
      read = at + from.size();
    }
    std::char_traits<char>::move(p + write, p + read, text.size() - read);
    text.resize(write + (text.size() - read));
    return;
  }
  const std::size_t count = count_occurrences(v, from, first);
  std::string out;
  reserve_exact(out, checked_replace_size(v.size(), count, from.size(), to.size()));
  append_replaced(out, v, from, to, first);
  text = std::move(out);
}

}  // namespace detail

/// Replaces in `text` itself when the result is not longer (no allocation); otherwise builds
/// the result with one allocation. `from` and `to` may view `text` itself (then the result
/// is built beside it, with one allocation). Same errors as the view overload; when one is
/// thrown, `text` is unchanged.
template <class S>
requires std::same_as<S, std::string> cow_string replace_all(S&& text, std::string_view from,
                                                             std::string_view to) {
  detail::replace_all_in(text, from, to);
  return cow_string(std::move(text));
}

/// Replaces in an owned cow (in place when not longer, as the `std::string&&` overload,
/// `from` and `to` may view it); a borrowed one as the view overload.
template <class C>
requires std::same_as<C, cow_string> cow_string replace_all(C&& text, std::string_view from,
                                                            std::string_view to) {
  if (text.is_owned()) {
    detail::replace_all_in(text.to_mut(), from, to);
    return std::move(text);
  }
  return replace_all(text.view(), from, to);
}

/// Returns `s` with &, <, >, " and ' replaced by HTML entities: borrowed when none occurs,
/// else one allocation of the exact result size. O(size).
inline cow_string escape_html(std::string_view s FRUGAL_LIFETIMEBOUND) {
  const std::size_t first = detail::find_html_special(s);
  if (first == s.size()) return cow_string::borrowed(s);
  std::size_t grow = 0;  // each entity replaces one character
  for (std::size_t i = first; i < s.size(); ++i) {
    const std::size_t n = detail::html_entity(s[i]).size();
    if (n != 0) grow += n - 1;
  }
  if (grow > std::string().max_size() - s.size()) detail::throw_cow_length("escape_html");
  // The one allocation, as large as the result (built with its size: exact, see reserve_exact).
  cow_string result(std::string(s.size() + grow, '\0'));
  std::string& out = result.to_mut();
  std::char_traits<char>::copy(out.data(), s.data(), first);
  char* w = out.data() + first;
  for (std::size_t i = first; i < s.size(); ++i) w = detail::write_escaped(w, s[i]);
  return result;
}

/// Escapes `s`: returned as is (owned, no allocation) when nothing needs escaping, else one
/// allocation.
template <class S>
requires std::same_as<S, std::string> cow_string escape_html(S&& s) {
  cow_string escaped = escape_html(std::string_view(s));
  if (escaped.is_borrowed()) return cow_string(std::move(s));
  return escaped;
}

/// Escapes an owned cow without copying when nothing changes; a borrowed one as the view
/// overload.
template <class C>
requires std::same_as<C, cow_string> cow_string escape_html(C&& s) {
  // The text is taken only once the result is built: when building it throws, `s` is unchanged.
  cow_string escaped = escape_html(s.view());
  if (escaped.is_borrowed() && s.is_owned()) return std::move(s);
  return escaped;
}

namespace detail {

constexpr char hex_digits_upper[] = "0123456789ABCDEF";
constexpr char hex_digits_lower[] = "0123456789abcdef";

// The number of bytes escape_json writes for `c`: 2 for '"' and '\\', 6 for a control
// character (\u00XX), else 1.
constexpr std::size_t json_escaped_size(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20) return 6;
  return (c == '"' || c == '\\') ? 2 : 1;
}

// Returns the index of the first byte escape_json replaces, or the size. Eight bytes per step:
// a byte needs escaping when it is below 0x20, '"' or '\\'.
inline std::size_t find_json_special(std::string_view s) noexcept {
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t high = 0x8080808080808080ULL;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      auto zero_bytes = [](std::uint64_t v) { return (v - ones) & ~v & high; };
      // Below 0x20: the byte's value minus 0x20 borrows; exact for the lowest set byte.
      const std::uint64_t m = ((w - 0x20 * ones) & ~w & high) | zero_bytes(w ^ ('"' * ones)) |
                              zero_bytes(w ^ ('\\' * ones));
      if (m != 0) return i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
    }
  }
  while (i < s.size() && json_escaped_size(s[i]) == 1) ++i;
  return i;
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether `s[i]` starts a valid "%XX" escape.
constexpr bool is_percent_escape(std::string_view s, std::size_t i) noexcept {
  return s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0;
}

// RFC 3986's unreserved characters, which percent_encode leaves as they are.
constexpr bool is_url_unreserved(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

constexpr char ascii_lower(char c) noexcept {
  return is_ascii_upper(c) ? static_cast<char>(c + ('a' - 'A')) : c;
}

}  // namespace detail

/// Returns `s` escaped for the inside of a JSON string (RFC 8259): '"' and '\\' get a
/// backslash, the control characters U+0000 to U+001F become "\u00XX" (lower-case hex); every
/// other byte, UTF-8 included, is kept (invalid UTF-8 too: validating is not its job). Borrowed
/// when nothing needs escaping, else one allocation of the exact result size. O(size).
/// Throws std::length_error when the result would exceed max_size().
inline cow_string escape_json(std::string_view s FRUGAL_LIFETIMEBOUND) {
  const std::size_t first = detail::find_json_special(s);
  if (first == s.size()) return cow_string::borrowed(s);
  std::size_t grow = 0;
  for (std::size_t i = first; i < s.size(); ++i) grow += detail::json_escaped_size(s[i]) - 1;
  if (grow > std::string().max_size() - s.size()) detail::throw_cow_length("escape_json");
  cow_string result(std::string(s.size() + grow, '\0'));  // the one allocation, exact
  std::string& out = result.to_mut();
  std::char_traits<char>::copy(out.data(), s.data(), first);
  char* w = out.data() + first;
  for (std::size_t i = first; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20) {
      const char esc[6] = {
          '\\', 'u', '0', '0', detail::hex_digits_lower[u >> 4], detail::hex_digits_lower[u & 0xF]};
      std::char_traits<char>::copy(w, esc, 6);
      w += 6;
    } else if (c == '"' || c == '\\') {
      *w++ = '\\';
      *w++ = c;
    } else {
      *w++ = c;
    }
  }
  return result;
}
/// Escapes `s`: returned as is (owned, no allocation) when nothing needs escaping, else one
/// allocation.
template <class S>
requires std::same_as<S, std::string> cow_string escape_json(S&& s) {
  cow_string escaped = escape_json(std::string_view(s));
  if (escaped.is_borrowed()) return cow_string(std::move(s));
  return escaped;
}
/// Escapes an owned cow without copying when nothing changes; a borrowed one as the view
/// overload.
template <class C>
requires std::same_as<C, cow_string> cow_string escape_json(C&& s) {
  // The text is taken only once the result is built: when building it throws, `s` is unchanged.
  cow_string escaped = escape_json(s.view());
  if (escaped.is_borrowed() && s.is_owned()) return std::move(s);
  return escaped;
}

/// Returns `s` with every "%XX" (two hex digits, either case) replaced by the byte it names,
/// for URL components (RFC 3986). '+' is kept (it means a space only in form bodies). A '%'
/// not followed by two hex digits is kept as it is, as WHATWG URL's percent-decode does;
/// decoded bytes may be anything, '\0' and invalid UTF-8 included. Borrowed when there is no
/// escape, else one allocation of the exact result size. O(size). Never throws but bad_alloc.
inline cow_string percent_decode(std::string_view s FRUGAL_LIFETIMEBOUND) {
  std::size_t first = s.find('%');
  while (first != std::string_view::npos && !detail::is_percent_escape(s, first)) {
    first = s.find('%', first + 1);
  }
  if (first == std::string_view::npos) return cow_string::borrowed(s);
  std::size_t escapes = 0;
  for (std::size_t i = first; i < s.size();) {
    if (detail::is_percent_escape(s, i)) {
      ++escapes;
      i += 3;
    } else {
      ++i;
    }
  }
  cow_string result(std::string(s.size() - 2 * escapes, '\0'));  // the one allocation, exact
  std::string& out = result.to_mut();
  std::char_traits<char>::copy(out.data(), s.data(), first);
  char* w = out.data() + first;
  for (std::size_t i = first; i < s.size();) {
    if (detail::is_percent_escape(s, i)) {
      *w++ = static_cast<char>(detail::hex_value(s[i + 1]) * 16 + detail::hex_value(s[i + 2]));
      i += 3;
    } else {
      *w++ = s[i++];
    }
  }
  return result;
}

/// Returns `s` with every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~)
/// written as "%XX" (upper-case hex), fit for any URL component: path segments, query keys
/// and values. Borrowed when every byte is unreserved, else one allocation of the exact
/// result size. O(size). Throws std::length_error when the result would exceed max_size().
inline cow_string percent_encode(std::string_view s FRUGAL_LIFETIMEBOUND) {
  std::size_t first = 0;
  while (first < s.size() && detail::is_url_unreserved(s[first])) ++first;
  if (first == s.size()) return cow_string::borrowed(s);
  std::size_t encoded = 0;
  for (std::size_t i = first; i < s.size(); ++i) encoded += !detail::is_url_unreserved(s[i]);
  if (encoded > (std::string().max_size() - s.size()) / 2) {
    detail::throw_cow_length("percent_encode");
  }
  cow_string result(std::string(s.size() + 2 * encoded, '\0'));  // the one allocation, exact
  std::string& out = result.to_mut();
  std::char_traits<char>::copy(out.data(), s.data(), first);
  char* w = out.data() + first;
  for (std::size_t i = first; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (detail::is_url_unreserved(s[i])) {
      *w++ = s[i];
    } else {
      *w++ = '%';
      *w++ = detail::hex_digits_upper[u >> 4];
      *w++ = detail::hex_digits_upper[u & 0xF];
    }
  }
  return result;
}

/// Returns true when `a` and `b` are equal ignoring ASCII case (Rust's
/// `eq_ignore_ascii_case`): A-Z match a-z, every other byte, UTF-8 included, matches only
/// itself. O(size), eight bytes per step; never allocates, never throws.
constexpr bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  if (!std::is_constant_evaluated()) {
    // Eight bytes at a time: setting the 0x20 bit of exactly the A-Z bytes lower-cases a word.
    for (; i + 8 <= a.size(); i += 8) {
      std::uint64_t x;
      std::uint64_t y;
      std::memcpy(&x, a.data() + i, 8);
      std::memcpy(&y, b.data() + i, 8);
      x |= detail::case_change_mask<false>(x) >> 2;
      y |= detail::case_change_mask<false>(y) >> 2;
      if (x != y) return false;
    }
    if (i == a.size()) return true;
    std::uint64_t x = detail::load_short(a.data() + i, a.size() - i);
    std::uint64_t y = detail::load_short(b.data() + i, a.size() - i);
    x |= detail::case_change_mask<false>(x) >> 2;
    y |= detail::case_change_mask<false>(y) >> 2;
    return x == y;
  }
  for (; i < a.size(); ++i) {
    if (detail::ascii_lower(a[i]) != detail::ascii_lower(b[i])) return false;
  }
  return true;
}

/// A transparent hash that ignores ASCII case, for unordered containers keyed by header
/// names and the like: "Content-Type" and "content-type" hash alike, and lookups with a
/// std::string_view, a C string or a cow_string build no std::string. Use it with
/// string_equal_ignore_case. O(size), eight bytes per step; never allocates, never throws.
struct string_hash_ignore_case {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
    std::uint64_t h = s.size() * k;
    auto mix = [&h](std::uint64_t w) {
      // Lower-case the word: the case-change mask's high bits, moved to 0x20, set the bit.
      w |= detail::case_change_mask<false>(w) >> 2;
      h = (h ^ w) * k;
      h ^= h >> 29;
    };
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      mix(w);
    }
    if (i < s.size()) mix(detail::load_short(s.data() + i, s.size() - i));
    h ^= h >> 32;
    h *= k;
    h ^= h >> 29;
    return static_cast<std::size_t>(h);
  }
};

/// The transparent equality that goes with string_hash_ignore_case (`equals_ignore_case`).
struct string_equal_ignore_case {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept {
    return equals_ignore_case(a, b);
  }
};

FRUGAL_END_NAMESPACE

/// Hashes the text, agreeing with std::hash<std::basic_string_view>.
template <class CharT, class Traits, class Allocator>
struct std::hash<frugal::basic_cow_string<CharT, Traits, Allocator>> {
  std::size_t operator()(
      const frugal::basic_cow_string<CharT, Traits, Allocator>& s) const noexcept {
    return std::hash<std::basic_string_view<CharT, Traits>>{}(s.view());
  }
};

#if FRUGAL_COW_HAS_FORMAT
/// Formats the text as std::formatter<std::basic_string_view> does, with its format spec
/// (`std::format("{:>8}", cow)`).
template <class CharT, class Allocator>
struct std::formatter<frugal::basic_cow_string<CharT, std::char_traits<CharT>, Allocator>, CharT>
    : std::formatter<std::basic_string_view<CharT>, CharT> {
  template <class FormatContext>
  auto format(const frugal::basic_cow_string<CharT, std::char_traits<CharT>, Allocator>& s,
              FormatContext& ctx) const {
    return std::formatter<std::basic_string_view<CharT>, CharT>::format(s.view(), ctx);
  }
};
#endif
