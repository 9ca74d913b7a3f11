// builder against growing one element at a time (naive), the standard library's range
// constructor or reserve + push_back (std), absl::StrCat / absl::StrJoin (absl), and copying the
// pieces into a preallocated buffer (limit; the same text, so the least work it takes).
//
// Names: builder/<operation>/<impl>/<size>.
#include "bench_support.hpp"

#include <frugal/builder.hpp>
#include <frugal/small_vector.hpp>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <list>
#include <memory>
#include <ranges>
#include <string>
#include <vector>

namespace {

// Collecting n ints from a sized (std::list) and from a non-sized forward range. ----------

std::list<int> make_list(std::size_t n) {
  std::list<int> l;
  for (std::size_t i = 0; i < n; ++i) l.push_back(static_cast<int>(i * 7));
  return l;
}

template <class Source>
void collect_naive(benchmark::State& state, const Source& src) {
  for (auto _ : frugal::bench::counted(state)) {
    std::vector<int> out;
    for (int x : src) out.push_back(x);
    benchmark::DoNotOptimize(out.data());
  }
}
template <class Source>
void collect_std(benchmark::State& state, const Source& src) {
  for (auto _ : frugal::bench::counted(state)) {
    std::vector<int> out(src.begin(), src.end());
    benchmark::DoNotOptimize(out.data());
  }
}
template <class Source>
void collect_frugal(benchmark::State& state, const Source& src) {
  std::vector<int> check = frugal::collect<std::vector<int>>(src);
  if (!std::equal(check.begin(), check.end(), src.begin()))
    return state.SkipWithError("wrong result");
  for (auto _ : frugal::bench::counted(state)) {
    auto out = frugal::collect<std::vector<int>>(src);
    benchmark::DoNotOptimize(out.data());
  }
}

void sized_naive(benchmark::State& s) {
  collect_naive(s, make_list(static_cast<std::size_t>(s.range(0))));
}
void sized_std(benchmark::State& s) {
  collect_std(s, make_list(static_cast<std::size_t>(s.range(0))));
}
void sized_frugal(benchmark::State& s) {
  collect_frugal(s, make_list(static_cast<std::size_t>(s.range(0))));
}

std::forward_list<int> make_flist(std::size_t n) {
  const auto l = make_list(n);
  return std::forward_list<int>(l.begin(), l.end());
}
void unsized_naive(benchmark::State& s) {
  collect_naive(s, make_flist(static_cast<std::size_t>(s.range(0))));
}
void unsized_std(benchmark::State& s) {
  collect_std(s, make_flist(static_cast<std::size_t>(s.range(0))));
}
void unsized_frugal(benchmark::State& s) {
  collect_frugal(s, make_flist(static_cast<std::size_t>(s.range(0))));
}

// Collecting a sized, mapped range: n uint64_t through `x * 3 + 1` -------------------------

std::uint64_t map_id(std::uint64_t x) { return x * 3 + 1; }

std::vector<std::uint64_t> make_ids(std::size_t n) {
  std::vector<std::uint64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = i * 7919;
  return ids;
}

template <class C>
bool maps_right(const C& out, const std::vector<std::uint64_t>& src) {
  return out.size() == src.size() &&
         std::equal(src.begin(), src.end(), out.begin(),
                    [](std::uint64_t s, std::uint64_t o) { return map_id(s) == o; });
}

void mapped_naive(benchmark::State& state) {
  const auto src = make_ids(static_cast<std::size_t>(state.range(0)));
  for (auto _ : frugal::bench::counted(state)) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t x : src) out.push_back(map_id(x));
    benchmark::DoNotOptimize(out.data());
  }
}
void mapped_std(benchmark::State& state) {
  const auto src = make_ids(static_cast<std::size_t>(state.range(0)));
  for (auto _ : frugal::bench::counted(state)) {
    std::vector<std::uint64_t> out;
    out.reserve(src.size());
    for (std::uint64_t x : src) out.push_back(map_id(x));
    benchmark::DoNotOptimize(out.data());
  }
}
void mapped_frugal(benchmark::State& state) {
  const auto src = make_ids(static_cast<std::size_t>(state.range(0)));
  auto mapped = src | std::views::transform([](std::uint64_t x) { return map_id(x); });
  if (!maps_right(frugal::collect<std::vector<std::uint64_t>>(mapped), src))
    return state.SkipWithError("wrong result");
  for (auto _ : frugal::bench::counted(state)) {
    auto out = frugal::collect<std::vector<std::uint64_t>>(mapped);
    benchmark::DoNotOptimize(out.data());
  }
}
void mapped_frugal_small_vector(benchmark::State& state) {
  using vec = frugal::small_vector<std::uint64_t, 8>;
  const auto src = make_ids(static_cast<std::size_t>(state.range(0)));
  auto mapped = src | std::views::transform([](std::uint64_t x) { return map_id(x); });
  if (!maps_right(frugal::collect<vec>(mapped), src)) return state.SkipWithError("wrong result");
  for (auto _ : frugal::bench::counted(state)) {
    auto out = frugal::collect<vec>(mapped);
    benchmark::DoNotOptimize(out.data());
  }
}
// The limit: new[] and a transform loop, nothing initialised twice, no capacity checks.
void mapped_limit(benchmark::State& state) {
  const auto src = make_ids(static_cast<std::size_t>(state.range(0)));
  for (auto _ : frugal::bench::counted(state)) {
    std::unique_ptr<std::uint64_t[]> out(new std::uint64_t[src.size()]);
    std::uint64_t* const p = out.get();
    for (std::size_t i = 0; i < src.size(); ++i) p[i] = map_id(src[i]);
    benchmark::DoNotOptimize(out.get());
    benchmark::ClobberMemory();
  }
}

// str_cat of 2, 4 and 8 pieces (strings and integers), and of a double --------------------
//
// Every implementation of str_cat/N writes the same text, checked once before timing, so the
// limit (the pieces copied and the integers formatted straight into a preallocated buffer) is
// the least work that text takes. Doubles are timed apart (str_cat_double): frugal prints the
// shortest text that reads back to the same double, std::to_string six decimals and
// absl::StrCat six significant digits, three different outputs.

struct pieces {
  std::string user = "ada.lovelace";
  std::string path = "/api/v1/reports/monthly";
  int status = 200;
  long bytes = 48213;
  std::string method = "GET";
  long micros = 37512;
  std::string agent = "curl/8.4.0";
  int shard = 17;
  double seconds = 0.0375;
  double ratio = 1.0 / 3.0;
};

std::string naive_cat(const pieces& p, int n) {
  switch (n) {
    case 2:
      return p.user + std::to_string(p.status);
    case 4:
      return p.user + " " + p.path + " " + std::to_string(p.bytes);
    default:
      return p.method + " " + p.path + " " + std::to_string(p.status) + " " +
             std::to_string(p.bytes) + " " + std::to_string(p.micros) + " " + p.user + " " +
             p.agent + " " + std::to_string(p.shard);
  }
}

std::string frugal_cat(const pieces& p, int n) {
  switch (n) {
    case 2:
      return frugal::str_cat(p.user, p.status);
    case 4:
      return frugal::str_cat(p.user, ' ', p.path, ' ', p.bytes);
    default:
      return frugal::str_cat(p.method, ' ', p.path, ' ', p.status, ' ', p.bytes, ' ', p.micros, ' ',
                             p.user, ' ', p.agent, ' ', p.shard);
  }
}

std::string absl_cat(const pieces& p, int n) {
  switch (n) {
    case 2:
      return absl::StrCat(p.user, p.status);
    case 4:
      return absl::StrCat(p.user, " ", p.path, " ", p.bytes);
    default:
      return absl::StrCat(p.method, " ", p.path, " ", p.status, " ", p.bytes, " ", p.micros, " ",
                          p.user, " ", p.agent, " ", p.shard);
  }
}

// The limit: the pieces written straight into a buffer allocated outside the loop.
std::size_t limit_cat(char* out, const pieces& p, int n) {
  char* w = out;
  auto text = [&w](const std::string& s) {
    std::memcpy(w, s.data(), s.size());
    w += s.size();
  };
  auto num = [&w](auto v) { w = std::to_chars(w, w + 32, v).ptr; };
  switch (n) {
    case 2:
      text(p.user);
      num(p.status);
      break;
    case 4:
      text(p.user);
      *w++ = ' ';
      text(p.path);
      *w++ = ' ';
      num(p.bytes);
      break;
    default:
      text(p.method);
      *w++ = ' ';
      text(p.path);
      *w++ = ' ';
      num(p.status);
      *w++ = ' ';
      num(p.bytes);
      *w++ = ' ';
      num(p.micros);
      *w++ = ' ';
      text(p.user);
      *w++ = ' ';
      text(p.agent);
      *w++ = ' ';
      num(p.shard);
  }
  return static_cast<std::size_t>(w - out);
}

template <class F>
void cat_bench(benchmark::State& state, F f) {
  const pieces p;
  const int n = static_cast<int>(state.range(0));
  std::array<char, 256> buffer{};
  const std::string_view expected(buffer.data(), limit_cat(buffer.data(), p, n));
  if (f(p, n) != expected) return state.SkipWithError("writes a different text than the limit");
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(&p);
    std::string s = f(p, n);
    benchmark::DoNotOptimize(s.data());
  }
  state.counters["length"] = static_cast<double>(expected.size());
}
void cat_naive(benchmark::State& s) { cat_bench(s, naive_cat); }
void cat_absl(benchmark::State& s) { cat_bench(s, absl_cat); }
void cat_frugal(benchmark::State& s) { cat_bench(s, frugal_cat); }
void cat_limit(benchmark::State& state) {
  const pieces p;
  const int n = static_cast<int>(state.range(0));
  std::vector<char> buffer(4096);
  std::size_t len = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(&p);
    len = limit_cat(buffer.data(), p, n);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.counters["length"] = static_cast<double>(len);
}

// A text and two doubles: each implementation prints doubles its own way (see above).
template <class F>
void cat_double_bench(benchmark::State& state, F f) {
  const pieces p;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(&p);
    std::string s = f(p);
    benchmark::DoNotOptimize(s.data());
  }
  state.counters["length"] = static_cast<double>(f(p).size());
}
void cat_double_naive(benchmark::State& s) {
  cat_double_bench(s, [](const pieces& p) {
    return p.user + " " + std::to_string(p.seconds) + " " + std::to_string(p.ratio);
  });
}
void cat_double_absl(benchmark::State& s) {
  cat_double_bench(
      s, [](const pieces& p) { return absl::StrCat(p.user, " ", p.seconds, " ", p.ratio); });
}
void cat_double_frugal(benchmark::State& s) {
  cat_double_bench(
      s, [](const pieces& p) { return frugal::str_cat(p.user, ' ', p.seconds, ' ', p.ratio); });
}

// str_join of (count x bytes) pieces --------------------------------------------------------

std::vector<std::string> make_parts(std::size_t count, std::size_t bytes) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < count; ++i)
    parts.emplace_back(bytes, static_cast<char>('a' + i % 26));
  return parts;
}

void join_naive(benchmark::State& state) {
  const auto parts = make_parts(static_cast<std::size_t>(state.range(0)),
                                static_cast<std::size_t>(state.range(1)));
  for (auto _ : frugal::bench::counted(state)) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (i != 0) out += ",";
      out += parts[i];
    }
    benchmark::DoNotOptimize(out.data());
  }
}
void join_absl(benchmark::State& state) {
  const auto parts = make_parts(static_cast<std::size_t>(state.range(0)),
                                static_cast<std::size_t>(state.range(1)));
  for (auto _ : frugal::bench::counted(state)) {
    std::string out = absl::StrJoin(parts, ",");
    benchmark::DoNotOptimize(out.data());
  }
}
void join_frugal(benchmark::State& state) {
  const auto parts = make_parts(static_cast<std::size_t>(state.range(0)),
                                static_cast<std::size_t>(state.range(1)));
  if (frugal::str_join(parts, ",") != absl::StrJoin(parts, ","))
    return state.SkipWithError("differs from absl");
  for (auto _ : frugal::bench::counted(state)) {
    std::string out = frugal::str_join(parts, ",");
    benchmark::DoNotOptimize(out.data());
  }
}
void join_limit(benchmark::State& state) {
  const auto parts = make_parts(static_cast<std::size_t>(state.range(0)),
                                static_cast<std::size_t>(state.range(1)));
  std::vector<char> buffer(parts.size() * (parts.empty() ? 0 : parts[0].size() + 1) + 1);
  for (auto _ : frugal::bench::counted(state)) {
    char* w = buffer.data();
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (i != 0) *w++ = ',';
      std::memcpy(w, parts[i].data(), parts[i].size());
      w += parts[i].size();
    }
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
}

const bool registered = [] {
  for (std::int64_t n : {10, 100, 1000, 10000}) {
    benchmark::RegisterBenchmark("builder/collect_sized/naive", sized_naive)->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_sized/std", sized_std)->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_sized/frugal", sized_frugal)->Arg(n);
  }
  for (std::int64_t n : {10, 100, 1000, 10000}) {
    benchmark::RegisterBenchmark("builder/collect_unsized/naive", unsized_naive)->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_unsized/std", unsized_std)->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_unsized/frugal", unsized_frugal)->Arg(n);
  }
  for (std::int64_t n : {10, 1000, 10000}) {
    benchmark::RegisterBenchmark("builder/collect_mapped/naive", mapped_naive)->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_mapped/std", mapped_std)->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_mapped/frugal", mapped_frugal)->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_mapped/frugal:small_vector",
                                 mapped_frugal_small_vector)
        ->Arg(n);
    benchmark::RegisterBenchmark("builder/collect_mapped/limit", mapped_limit)->Arg(n);
  }
  for (std::int64_t n : {2, 4, 8}) {
    benchmark::RegisterBenchmark("builder/str_cat/naive", cat_naive)->Arg(n);
    benchmark::RegisterBenchmark("builder/str_cat/absl", cat_absl)->Arg(n);
    benchmark::RegisterBenchmark("builder/str_cat/frugal", cat_frugal)->Arg(n);
    benchmark::RegisterBenchmark("builder/str_cat/limit", cat_limit)->Arg(n);
  }
  benchmark::RegisterBenchmark("builder/str_cat_double/naive", cat_double_naive);
  benchmark::RegisterBenchmark("builder/str_cat_double/absl", cat_double_absl);
  benchmark::RegisterBenchmark("builder/str_cat_double/frugal", cat_double_frugal);
  for (auto [count, bytes] : {std::pair<std::int64_t, std::int64_t>{8, 8}, {256, 8}, {64, 1024}}) {
    benchmark::RegisterBenchmark("builder/str_join/naive", join_naive)->Args({count, bytes});
    benchmark::RegisterBenchmark("builder/str_join/absl", join_absl)->Args({count, bytes});
    benchmark::RegisterBenchmark("builder/str_join/frugal", join_frugal)->Args({count, bytes});
    benchmark::RegisterBenchmark("builder/str_join/limit", join_limit)->Args({count, bytes});
  }
  return true;
}();

}  // namespace

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^builder/str_cat/");
FRUGAL_BENCH_HEADLINE("^builder/str_join/");
FRUGAL_BENCH_HEADLINE("^builder/str_cat_double/");
FRUGAL_BENCH_NOT_LIKE_FOR_LIKE("^builder/str_cat_double/",
                               "doubles printed three ways: frugal the shortest text that reads "
                               "back to the same double, std::to_string six decimals, "
                               "absl::StrCat six significant digits");
FRUGAL_BENCH_HEADLINE("^builder/collect_sized/[a-z]+/10000$");
FRUGAL_BENCH_HEADLINE("^builder/collect_mapped/[a-z:_]+/1000$");
