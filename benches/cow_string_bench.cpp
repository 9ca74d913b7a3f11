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
  return true;
}();

}  // namespace

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^cow_string/(to_lower|escape_html)/[a-z]+/(8|64|1024)/(0|100)$");
