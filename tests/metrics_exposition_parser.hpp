// A strict parser of the Prometheus text format (0.0.4) for frugal's metrics tests: it reads
// an exposition back into families and samples and checks what promtool does not: one TYPE
// per family before its samples, no duplicate samples, histogram buckets cumulative with
// increasing `le`, `+Inf` last and equal to `_count`, `_sum` and `_count` present.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metrics_test {

using labels = std::map<std::string, std::string>;

struct sample {
  std::string name;
  labels labels_;
  std::string value;
};

struct family {
  std::string name;
  std::string help;
  std::string type;
  std::vector<sample> samples;
};

struct exposition {
  std::vector<family> families;

  // Returns the family named `name`; throws when absent.
  const family& at(const std::string& name) const {
    for (const auto& f : families) {
      if (f.name == name) return f;
    }
    throw std::runtime_error("no family " + name);
  }

  // Returns the value of the sample `name` with `l`; throws when absent.
  std::string value(const std::string& name, const labels& l = {}) const {
    for (const auto& f : families) {
      for (const auto& s : f.samples) {
        if (s.name == name && s.labels_ == l) return s.value;
      }
    }
    throw std::runtime_error("no sample " + name);
  }
};

[[noreturn]] inline void bad(std::size_t line, const std::string& what) {
  throw std::runtime_error("line " + std::to_string(line) + ": " + what);
}

inline std::string unescape(std::string_view s, bool quotes, std::size_t line) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      if (s[i] == '\n') bad(line, "raw newline");
      out += s[i];
      continue;
    }
    if (++i == s.size()) bad(line, "dangling backslash");
    if (s[i] == '\\') {
      out += '\\';
    } else if (s[i] == 'n') {
      out += '\n';
    } else if (quotes && s[i] == '"') {
      out += '"';
    } else {
      bad(line, std::string("bad escape \\") + s[i]);
    }
  }
  return out;
}

inline double number(const std::string& v, std::size_t line) {
  if (v == "+Inf") return 1e308 * 10;
  if (v == "-Inf") return -1e308 * 10;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') bad(line, "not a number: " + v);
  return d;
}

inline void check_histogram(const family& f) {
  // Group samples by their labels without `le`.
  std::map<labels, std::vector<std::pair<double, double>>> buckets;
  std::map<labels, double> counts;
  std::map<labels, bool> sums;
  for (const auto& s : f.samples) {
    labels l = s.labels_;
    if (s.name == f.name + "_bucket") {
      auto le = l.find("le");
      if (le == l.end()) bad(0, "bucket without le");
      const double bound = number(le->second, 0);
      l.erase(le);
      buckets[l].emplace_back(bound, number(s.value, 0));
    } else if (s.name == f.name + "_count") {
      counts[l] = number(s.value, 0);
    } else if (s.name == f.name + "_sum") {
      sums[l] = true;
    } else {
      bad(0, "unexpected sample " + s.name + " in histogram " + f.name);
    }
  }
  for (const auto& [l, b] : buckets) {
    if (b.empty() || b.back().first < 1e308) bad(0, f.name + ": last bucket is not +Inf");
    for (std::size_t i = 1; i < b.size(); ++i) {
      if (!(b[i - 1].first < b[i].first)) bad(0, f.name + ": le not increasing");
      if (b[i - 1].second > b[i].second) bad(0, f.name + ": buckets not cumulative");
    }
    if (!counts.count(l) || counts[l] != b.back().second) {
      bad(0, f.name + ": +Inf bucket differs from _count");
    }
    if (!sums.count(l)) bad(0, f.name + ": no _sum");
  }
  if (counts.size() != buckets.size() || sums.size() != buckets.size()) {
    bad(0, f.name + ": _count or _sum without buckets");
  }
}

// Parses `text`; throws std::runtime_error naming the line on anything malformed.
inline exposition parse(std::string_view text) {
  exposition e;
  std::set<std::string> seen_types;
  std::set<std::pair<std::string, labels>> seen_samples;
  std::size_t line_no = 0;
  std::string pending_help_name, pending_help;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) bad(line_no, "no final newline");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.starts_with("# HELP ")) {
      line.remove_prefix(7);
      const std::size_t sp = line.find(' ');
      if (sp == std::string_view::npos) bad(line_no, "HELP without text");
      pending_help_name = std::string(line.substr(0, sp));
      pending_help = unescape(line.substr(sp + 1), false, line_no);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      line.remove_prefix(7);
      const std::size_t sp = line.find(' ');
      if (sp == std::string_view::npos) bad(line_no, "TYPE without type");
      family f;
      f.name = std::string(line.substr(0, sp));
      f.type = std::string(line.substr(sp + 1));
      if (f.type != "counter" && f.type != "gauge" && f.type != "histogram") {
        bad(line_no, "unknown type " + f.type);
      }
      if (!seen_types.insert(f.name).second) bad(line_no, "second TYPE for " + f.name);
      if (pending_help_name != f.name) bad(line_no, "no HELP before TYPE of " + f.name);
      f.help = pending_help;
      e.families.push_back(std::move(f));
      continue;
    }
    if (line.empty() || line[0] == '#') bad(line_no, "unexpected line");
    sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || line[eq + 1] != '"') bad(line_no, "bad label");
        std::string key(line.substr(i, eq - i));
        std::size_t j = eq + 2;
        while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
        if (j >= line.size()) bad(line_no, "unterminated label value");
        std::string value = unescape(line.substr(eq + 2, j - eq - 2), true, line_no);
        if (!s.labels_.emplace(key, value).second) bad(line_no, "repeated label " + key);
        i = j + 1;
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') bad(line_no, "no value");
    s.value = std::string(line.substr(i + 1));
    number(s.value, line_no);
    if (e.families.empty()) bad(line_no, "sample before any TYPE");
    family& f = e.families.back();
    const bool own = f.type == "histogram"
                         ? (s.name == f.name + "_bucket" || s.name == f.name + "_sum" ||
                            s.name == f.name + "_count")
                         : s.name == f.name;
    if (!own) bad(line_no, "sample " + s.name + " outside its family's TYPE");
    if (!seen_samples.emplace(s.name, s.labels_).second) bad(line_no, "duplicate " + s.name);
    f.samples.push_back(std::move(s));
  }
  for (const auto& f : e.families) {
    if (f.type == "histogram") check_histogram(f);
  }
  return e;
}

}  // namespace metrics_test
