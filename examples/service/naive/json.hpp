// The naive twin's JSON: escaping into a std::string and a small recursive parser for the
// body of POST /posts, both written by hand over std::string the way a service often grows
// them. The rules are the contract's (examples/service/README.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace naive {

// Returns `s` escaped for the inside of a JSON string as the contract says: `"` and `\` get a
// backslash, every byte below 0x20 becomes \u00XX (lowercase hex), every other byte is copied.
inline std::string escape_json(const std::string& s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20) {
      const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

// Parses an id as the contract writes it: 1..2^63-1 in decimal, no sign, no leading zero.
inline std::optional<std::int64_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 19 || s[0] == '0') return std::nullopt;
  std::uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

struct new_post {
  std::int64_t user_id = 0;
  std::string title;
  std::string body;
};

// Parses the body of POST /posts: a JSON array of objects with exactly the keys user_id (an
// id), title and body (strings). Returns nothing for anything else; the caller checks the
// number of items.
class posts_parser {
 public:
  explicit posts_parser(std::string text) : text_(std::move(text)) {}

  std::optional<std::vector<new_post>> parse() {
    std::vector<new_post> posts;
    skip_space();
    if (!consume('[')) return std::nullopt;
    skip_space();
    if (peek() == ']') return std::nullopt;  // an empty batch is refused like bad JSON
    while (true) {
      skip_space();
      std::optional<new_post> post = parse_post();
      if (!post) return std::nullopt;
      posts.push_back(*post);
      skip_space();
      if (consume(',')) continue;
      if (consume(']')) break;
      return std::nullopt;
    }
    skip_space();
    if (pos_ != text_.size()) return std::nullopt;
    return posts;
  }

 private:
  std::string text_;
  std::size_t pos_ = 0;

  int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : -1; }

  bool consume(char c) {
    if (peek() == static_cast<unsigned char>(c)) {
      ++pos_;
      return true;
    }
    return false;
  }

  void skip_space() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r') ++pos_;
  }

  std::optional<new_post> parse_post() {
    if (!consume('{')) return std::nullopt;
    new_post post;
    bool have_user = false, have_title = false, have_body = false;
    skip_space();
    if (peek() == '}') return std::nullopt;
    while (true) {
      skip_space();
      std::optional<std::string> key = parse_string();
      if (!key) return std::nullopt;
      skip_space();
      if (!consume(':')) return std::nullopt;
      skip_space();
      if (*key == "user_id") {
        if (have_user) return std::nullopt;
        std::optional<std::int64_t> id = parse_integer();
        if (!id) return std::nullopt;
        post.user_id = *id;
        have_user = true;
      } else if (*key == "title") {
        if (have_title) return std::nullopt;
        std::optional<std::string> value = parse_string();
        if (!value) return std::nullopt;
        post.title = *value;
        have_title = true;
      } else if (*key == "body") {
        if (have_body) return std::nullopt;
        std::optional<std::string> value = parse_string();
        if (!value) return std::nullopt;
        post.body = *value;
        have_body = true;
      } else {
        return std::nullopt;
      }
      skip_space();
      if (consume(',')) continue;
      if (consume('}')) break;
      return std::nullopt;
    }
    if (!have_user || !have_title || !have_body) return std::nullopt;
    return post;
  }

  // A JSON number that must be an id: the digits are read as JSON allows them, then checked.
  std::optional<std::int64_t> parse_integer() {
    std::string digits;
    while (peek() >= '0' && peek() <= '9') digits += text_[pos_++];
    // A sign, fraction or exponent makes it another kind of number.
    int next = peek();
    if (next == '.' || next == 'e' || next == 'E' || next == '-' || next == '+') {
      return std::nullopt;
    }
    return parse_id(digits);
  }

  std::optional<unsigned> parse_hex4() {
    if (pos_ + 4 > text_.size()) return std::nullopt;
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Copies one UTF-8 sequence starting at pos_ into out, or fails when it is not valid
  // (overlong forms, surrogates and code points past U+10FFFF included).
  bool copy_utf8(std::string& out) {
    unsigned char lead = static_cast<unsigned char>(text_[pos_]);
    std::size_t length = 0;
    unsigned cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      cp = lead & 0x07;
    } else {
      return false;
    }
    if (pos_ + length > text_.size()) return false;
    for (std::size_t i = 1; i < length; ++i) {
      unsigned char c = static_cast<unsigned char>(text_[pos_ + i]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    out += text_.substr(pos_, length);
    pos_ += length;
    return true;
  }

  std::optional<std::string> parse_string() {
    if (!consume('"')) return std::nullopt;
    std::string out;
    while (true) {
      int c = peek();
      if (c < 0) return std::nullopt;
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return std::nullopt;
      if (c == '\\') {
        ++pos_;
        int e = peek();
        ++pos_;
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            std::optional<unsigned> cp = parse_hex4();
            if (!cp || *cp == 0) return std::nullopt;
            if (*cp >= 0xDC00 && *cp <= 0xDFFF) return std::nullopt;
            if (*cp >= 0xD800 && *cp <= 0xDBFF) {
              if (!consume('\\') || !consume('u')) return std::nullopt;
              std::optional<unsigned> low = parse_hex4();
              if (!low || *low < 0xDC00 || *low > 0xDFFF) return std::nullopt;
              append_utf8(out, 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00));
            } else {
              append_utf8(out, *cp);
            }
            break;
          }
          default:
            return std::nullopt;
        }
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
      } else if (!copy_utf8(out)) {
        return std::nullopt;
      }
    }
  }
};

}  // namespace naive
