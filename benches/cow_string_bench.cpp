// cow_string transformations against the usual function returning std::string (naive).
//
// Names: cow_string/<operation>/<impl>/<input bytes>/<percent of inputs that change>, and
// cow_string/<operation>_last/<impl>/<bytes> for the worst case where only the last character
// changes (the whole input is scanned before anything is copied). Each iteration transforms
// one input from a pool of 64, so allocs/op is per input.
#include "bench_support.hpp"

#include <frugal/cow_string.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

std::string naive_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

std::string naive_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

enum class where { random, last };

// 64 inputs of `bytes` lower-case letters; `percent` of them get one `mark` character.
std::vector<std::string> make_pool(std::size_t bytes, int percent, char mark, where at) {
  std::mt19937 rng(static_cast<unsigned>(bytes * 131 + static_cast<std::size_t>(percent)));
  std::vector<std::string> pool;
  for (int i = 0; i < 64; ++i) {
    std::string s(bytes, 'a');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    if (at == where::last) {
      s.back() = mark;
    } else if (static_cast<int>(rng() % 100) < percent) {
      s[rng() % bytes] = mark;
    }
    pool.push_back(std::move(s));
  }
  return pool;
}

template <class F>
void run(benchmark::State& state, const std::vector<std::string>& pool, F transform) {
  std::size_t i = 0;
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    const std::string& in = pool[i++ & 63];
    benchmark::DoNotOptimize(in.data());
    auto out = transform(in);
    total +=
        std::string_view(out).size() + static_cast<unsigned char>(std::string_view(out).back());
    benchmark::DoNotOptimize(total);
  }
}

template <class F, class G>
bool agree(const std::vector<std::string>& pool, F a, G b) {
  for (const auto& s : pool) {
    if (std::string_view(a(s)) != std::string_view(b(s))) return false;
  }
  return true;
}

auto frugal_lower = [](const std::string& s) { return frugal::to_lower_ascii(s); };
auto frugal_escape = [](const std::string& s) { return frugal::escape_html(s); };

void lower_naive(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)),
                              static_cast<int>(state.range(1)), 'Q', where::random);
  if (!agree(pool, naive_lower, frugal_lower)) return state.SkipWithError("results differ");
  run(state, pool, naive_lower);
}
void lower_frugal(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)),
                              static_cast<int>(state.range(1)), 'Q', where::random);
  if (!agree(pool, naive_lower, frugal_lower)) return state.SkipWithError("results differ");
  run(state, pool, frugal_lower);
}
void lower_last_naive(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)), 100, 'Q', where::last);
  run(state, pool, naive_lower);
}
void lower_last_frugal(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)), 100, 'Q', where::last);
  if (!agree(pool, naive_lower, frugal_lower)) return state.SkipWithError("results differ");
  run(state, pool, frugal_lower);
}
void escape_naive(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)),
                              static_cast<int>(state.range(1)), '<', where::random);
  if (!agree(pool, naive_escape, frugal_escape)) return state.SkipWithError("results differ");
  run(state, pool, naive_escape);
}
void escape_frugal(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)),
                              static_cast<int>(state.range(1)), '<', where::random);
  if (!agree(pool, naive_escape, frugal_escape)) return state.SkipWithError("results differ");
  run(state, pool, frugal_escape);
}
void escape_last_naive(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)), 100, '<', where::last);
  run(state, pool, naive_escape);
}
void escape_last_frugal(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)), 100, '<', where::last);
  if (!agree(pool, naive_escape, frugal_escape)) return state.SkipWithError("results differ");
  run(state, pool, frugal_escape);
}

// escape_json, percent_encode and percent_decode against the std::string-returning loops a
// service writes without them.
std::string naive_escape_json(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

std::string naive_percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    }
  }
  return out;
}

int naive_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string naive_percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && naive_hex(s[i + 1]) >= 0 && naive_hex(s[i + 2]) >= 0) {
      out += static_cast<char>(naive_hex(s[i + 1]) * 16 + naive_hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

auto frugal_escape_json = [](const std::string& s) { return frugal::escape_json(s); };
auto frugal_percent_encode = [](const std::string& s) { return frugal::percent_encode(s); };
auto frugal_percent_decode = [](const std::string& s) { return frugal::percent_decode(s); };

// A pool whose changing inputs hold one "%41" (3 bytes) in place of one letter.
std::vector<std::string> make_escaped_pool(std::size_t bytes, int percent) {
  auto pool = make_pool(bytes, percent, '%', where::random);
  for (auto& s : pool) {
    const auto at = s.find('%');
    if (at != std::string::npos) s.replace(at, 1, "%41");
  }
  return pool;
}

template <bool Frugal>
void escape_json_bench(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)),
                              static_cast<int>(state.range(1)), '"', where::random);
  if (!agree(pool, naive_escape_json, frugal_escape_json)) {
    return state.SkipWithError("results differ");
  }
  if constexpr (Frugal) {
    run(state, pool, frugal_escape_json);
  } else {
    run(state, pool, naive_escape_json);
  }
}

template <bool Frugal>
void percent_encode_bench(benchmark::State& state) {
  const auto pool = make_pool(static_cast<std::size_t>(state.range(0)),
                              static_cast<int>(state.range(1)), ' ', where::random);
  if (!agree(pool, naive_percent_encode, frugal_percent_encode)) {
    return state.SkipWithError("results differ");
  }
  if constexpr (Frugal) {
    run(state, pool, frugal_percent_encode);
  } else {
    run(state, pool, naive_percent_encode);
  }
}

template <bool Frugal>
void percent_decode_bench(benchmark::State& state) {
  const auto pool =
      make_escaped_pool(static_cast<std::size_t>(state.range(0)), static_cast<int>(state.range(1)));
  if (!agree(pool, naive_percent_decode, frugal_percent_decode)) {
    return state.SkipWithError("results differ");
  }
  if constexpr (Frugal) {
    run(state, pool, frugal_percent_decode);
  } else {
    run(state, pool, naive_percent_decode);
  }
}

// Case-insensitive header lookup: naive lower-cases the key into a std::string and hashes that.
template <bool Frugal>
void header_lookup_bench(benchmark::State& state) {
  const std::vector<std::string> names = {"Content-Type",  "Content-Length", "Host",
                                          "User-Agent",    "Accept",         "Accept-Encoding",
                                          "Authorization", "X-Request-Id"};
  std::vector<std::string> queries;
  for (const auto& n : names) queries.push_back(frugal::to_upper_ascii(n).to_owned());
  std::unordered_map<std::string, int> naive_map;
  std::unordered_map<std::string, int, frugal::string_hash_ignore_case,
                     frugal::string_equal_ignore_case>
      frugal_map;
  for (std::size_t i = 0; i < names.size(); ++i) {
    naive_map.emplace(naive_lower(names[i]), static_cast<int>(i));
    frugal_map.emplace(names[i], static_cast<int>(i));
  }
  for (const auto& q : queries) {
    if (frugal_map.find(q)->second != naive_map.find(naive_lower(q))->second) {
      return state.SkipWithError("results differ");
    }
  }
  std::size_t i = 0;
  long total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    const std::string_view q = queries[i++ & 7];
    benchmark::DoNotOptimize(q.data());
    if constexpr (Frugal) {
      total += frugal_map.find(q)->second;
    } else {
      total += naive_map.find(naive_lower(q))->second;
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

const bool registered = [] {
  for (std::int64_t bytes : {8, 64, 1024}) {
    for (std::int64_t percent : {0, 10, 100}) {
      benchmark::RegisterBenchmark("cow_string/to_lower/naive", lower_naive)
          ->Args({bytes, percent});
      benchmark::RegisterBenchmark("cow_string/to_lower/frugal", lower_frugal)
          ->Args({bytes, percent});
    }
  }
  for (std::int64_t bytes : {8, 64, 1024}) {
    benchmark::RegisterBenchmark("cow_string/to_lower_last/naive", lower_last_naive)->Arg(bytes);
    benchmark::RegisterBenchmark("cow_string/to_lower_last/frugal", lower_last_frugal)->Arg(bytes);
  }
  for (std::int64_t bytes : {8, 64, 1024}) {
    for (std::int64_t percent : {0, 10, 100}) {
      benchmark::RegisterBenchmark("cow_string/escape_html/naive", escape_naive)
          ->Args({bytes, percent});
      benchmark::RegisterBenchmark("cow_string/escape_html/frugal", escape_frugal)
          ->Args({bytes, percent});
    }
  }
  for (std::int64_t bytes : {8, 64, 1024}) {
    benchmark::RegisterBenchmark("cow_string/escape_html_last/naive", escape_last_naive)
        ->Arg(bytes);
    benchmark::RegisterBenchmark("cow_string/escape_html_last/frugal", escape_last_frugal)
        ->Arg(bytes);
  }
  for (std::int64_t bytes : {8, 64, 1024}) {
    for (std::int64_t percent : {0, 100}) {
      benchmark::RegisterBenchmark("cow_string/escape_json/naive", escape_json_bench<false>)
          ->Args({bytes, percent});
      benchmark::RegisterBenchmark("cow_string/escape_json/frugal", escape_json_bench<true>)
          ->Args({bytes, percent});
      benchmark::RegisterBenchmark("cow_string/percent_encode/naive", percent_encode_bench<false>)
          ->Args({bytes, percent});
      benchmark::RegisterBenchmark("cow_string/percent_encode/frugal", percent_encode_bench<true>)
          ->Args({bytes, percent});
      benchmark::RegisterBenchmark("cow_string/percent_decode/naive", percent_decode_bench<false>)
          ->Args({bytes, percent});
      benchmark::RegisterBenchmark("cow_string/percent_decode/frugal", percent_decode_bench<true>)
          ->Args({bytes, percent});
    }
  }
  benchmark::RegisterBenchmark("cow_string/header_lookup/naive", header_lookup_bench<false>);
  benchmark::RegisterBenchmark("cow_string/header_lookup/frugal", header_lookup_bench<true>);
  return true;
}();

}  // namespace

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^cow_string/(to_lower|escape_html)/[a-z]+/(8|64|1024)/(0|100)$");
FRUGAL_BENCH_HEADLINE("^cow_string/(escape_json|percent_encode|percent_decode)/[a-z]+/1024/");
FRUGAL_BENCH_HEADLINE("^cow_string/header_lookup/");
