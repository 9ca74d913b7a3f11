// The frugal twin's reader of a `POST /posts` body (examples/service/README.md, "Details both
// twins follow"): one pass over the request body, no copy of it, no allocation per item. The
// decoded texts (user id, title, body) are written one after another, each followed by '\0',
// into one buffer allocated once and sized from the body (a JSON string never decodes to more
// bytes than it spans), so they can go to libpq as parameters as they are.
#pragma once

#include <frugal/small_vector.hpp>
#include <frugal/static_vector.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace service {

/// One post of the request, its texts NUL-terminated inside `posts_request::text_`.
struct post_item {
  std::int64_t user_id = 0;
  const char* user_id_text = nullptr;
  const char* title = nullptr;
  const char* body = nullptr;
};

/// The parsed request: the items in order, and the buffer their texts live in. Move-only.
class posts_request {
 public:
  /// Reads `json` as a JSON array of 1..`max_items` objects with exactly the keys `user_id`
  /// (an id: a JSON integer 1..2^63-1), `title` and `body` (strings without `\u0000`), each
  /// once, whitespace allowed between tokens, and strictly valid UTF-8 inside the strings.
  /// Returns false for anything else (the caller answers 400 `bad json`). Allocates the text
  /// buffer once, plus the item list past 16 items.
  bool parse(std::string_view json, std::size_t max_items);

  /// Returns the items, in the order of the request.
  const frugal::small_vector<post_item, 16>& items() const noexcept { return items_; }

 private:
  bool parse_item();
  bool parse_string(const char*& out);
  bool parse_key(frugal::static_vector<char, 8>& key);
  bool parse_id(post_item& item);
  bool read_escape(std::uint32_t& cp);
  void skip_ws() noexcept;
  char* put_utf8(char* w, std::uint32_t cp) noexcept;

  std::unique_ptr<char[]> text_;
  char* write_ = nullptr;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  frugal::small_vector<post_item, 16> items_;
};

namespace detail {

// The length of the UTF-8 sequence that starts at `p` (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF), or 0 when it is invalid or cut off by `end`.
inline std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned c = p[0];
  const auto avail = static_cast<std::size_t>(end - p);
  auto cont = [&](std::size_t i) { return i < avail && (p[i] & 0xC0u) == 0x80u; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
    if (c == 0xED && p[1] >= 0xA0) return 0;  // a surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && p[1] >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace detail

inline void posts_request::skip_ws() noexcept {
  while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) ++p_;
}

inline char* posts_request::put_utf8(char* w, std::uint32_t cp) noexcept {
  if (cp < 0x80) {
    *w++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *w++ = static_cast<char>(0xC0 | (cp >> 6));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = static_cast<char>(0xE0 | (cp >> 12));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *w++ = static_cast<char>(0xF0 | (cp >> 18));
    *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return w;
}

// Reads the escape after a backslash (p_ at the character after it) into a code point;
// surrogate pairs are joined, a lone surrogate and U+0000 are rejected.
inline bool posts_request::read_escape(std::uint32_t& cp) {
  if (p_ == end_) return false;
  const char c = *p_++;
  switch (c) {
    case '"':
      cp = '"';
      return true;
    case '\\':
      cp = '\\';
      return true;
    case '/':
      cp = '/';
      return true;
    case 'b':
      cp = '\b';
      return true;
    case 'f':
      cp = '\f';
      return true;
    case 'n':
      cp = '\n';
      return true;
    case 'r':
      cp = '\r';
      return true;
    case 't':
      cp = '\t';
      return true;
    case 'u':
      break;
    default:
      return false;
  }
  auto hex4 = [&](std::uint32_t& v) {
    if (end_ - p_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = detail::hex_digit(p_[i]);
      if (d < 0) return false;
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    p_ += 4;
    return true;
  };
  std::uint32_t hi = 0;
  if (!hex4(hi) || hi == 0) return false;
  if (hi >= 0xDC00 && hi <= 0xDFFF) return false;  // a low surrogate first
  if (hi < 0xD800 || hi > 0xDBFF) {
    cp = hi;
    return true;
  }
  if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
  p_ += 2;
  std::uint32_t lo = 0;
  if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
  cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  return true;
}

// Decodes the string at p_ (its opening quote) into the text buffer, NUL-terminated.
inline bool posts_request::parse_string(const char*& out) {
  if (p_ == end_ || *p_ != '"') return false;
  ++p_;
  out = write_;
  char* w = write_;
  for (;;) {
    const char* run = p_;
    // Copy the run of plain bytes in one go (validating its UTF-8).
    while (p_ != end_) {
      const auto u = static_cast<unsigned char>(*p_);
      if (u == '"' || u == '\\' || u < 0x20) break;
      if (u < 0x80) {
        ++p_;
        continue;
      }
      const std::size_t n = detail::utf8_sequence(reinterpret_cast<const unsigned char*>(p_),
                                                  reinterpret_cast<const unsigned char*>(end_));
      if (n == 0) return false;
      p_ += n;
    }
    const auto len = static_cast<std::size_t>(p_ - run);
    std::char_traits<char>::copy(w, run, len);
    w += len;
    if (p_ == end_) return false;
    const char c = *p_++;
    if (c == '"') break;
    if (c != '\\') return false;  // a raw control byte
    std::uint32_t cp = 0;
    if (!read_escape(cp)) return false;
    w = put_utf8(w, cp);
  }
  *w++ = '\0';
  write_ = w;
  return true;
}

// Decodes an object key into `key`; a key longer than any known one leaves it marked unknown.
inline bool posts_request::parse_key(frugal::static_vector<char, 8>& key) {
  const char* text = nullptr;
  char* const mark = write_;
  if (!parse_string(text)) return false;
  key.clear();
  const std::string_view k(text);
  if (k.size() < key.capacity()) key.append_range(k);
  write_ = mark;  // the key's decoded text is not kept
  return true;
}

inline bool posts_request::parse_id(post_item& item) {
  const char* first = p_;
  while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
  const auto n = static_cast<std::size_t>(p_ - first);
  if (n == 0 || n > 19 || *first == '0') return false;
  if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
  std::uint64_t v = 0;
  for (const char* d = first; d != p_; ++d) v = v * 10 + static_cast<std::uint64_t>(*d - '0');
  if (v > static_cast<std::uint64_t>(INT64_MAX)) return false;
  item.user_id = static_cast<std::int64_t>(v);
  item.user_id_text = write_;
  std::char_traits<char>::copy(write_, first, n);
  write_ += n;
  *write_++ = '\0';
  return true;
}

inline bool posts_request::parse_item() {
  if (p_ == end_ || *p_ != '{') return false;
  ++p_;
  post_item item;
  bool has_id = false, has_title = false, has_body = false;
  frugal::static_vector<char, 8> key;
  for (bool first = true;; first = false) {
    skip_ws();
    if (first && p_ != end_ && *p_ == '}') return false;  // {}: keys missing
    if (!parse_key(key)) return false;
    skip_ws();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    skip_ws();
    const std::string_view k(key.data(), key.size());
    if (k == "user_id") {
      if (has_id || !parse_id(item)) return false;
      has_id = true;
    } else if (k == "title") {
      if (has_title || !parse_string(item.title)) return false;
      has_title = true;
    } else if (k == "body") {
      if (has_body || !parse_string(item.body)) return false;
      has_body = true;
    } else {
      return false;
    }
    skip_ws();
    if (p_ == end_) return false;
    if (*p_ == '}') {
      ++p_;
      break;
    }
    if (*p_++ != ',') return false;
  }
  if (!has_id || !has_title || !has_body) return false;
  items_.push_back(item);
  return true;
}

inline bool posts_request::parse(std::string_view json, std::size_t max_items) {
  items_.clear();
  p_ = json.data();
  end_ = json.data() + json.size();
  // Every item spends at least 3 bytes of the body per NUL it adds ("title" alone is 7), and a
  // JSON string never decodes to more bytes than it spans: twice the body is room enough.
  text_ = std::make_unique_for_overwrite<char[]>(2 * json.size() + 8);
  write_ = text_.get();
  skip_ws();
  if (p_ == end_ || *p_ != '[') return false;
  ++p_;
  for (;;) {
    skip_ws();
    if (items_.size() == max_items) return false;
    if (!parse_item()) return false;
    skip_ws();
    if (p_ == end_) return false;
    if (*p_ == ']') {
      ++p_;
      break;
    }
    if (*p_++ != ',') return false;
  }
  skip_ws();
  return p_ == end_;
}

}  // namespace service
