// slice against copying (naive) and against hand-written index loops (limit).
//
// Names: slice/<operation>/<impl>/<size>.
#include "bench_support.hpp"

#include <frugal/slice.hpp>

#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>

#include <charconv>
#include <cstdint>
#include <exception>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

std::vector<std::int64_t> make_ids(std::size_t n) {
  std::vector<std::int64_t> ids(n);
  std::iota(ids.begin(), ids.end(), 1000);
  return ids;
}

template <class V>
std::int64_t sum(const V& v) {
  std::int64_t total = 0;
  for (auto x : v) total += x;
  return total;
}

// A page of results: the first ten, or the first half (a page that grows with the list). ------

void first_ten_naive(benchmark::State& state) {
  const auto ids = make_ids(static_cast<std::size_t>(state.range(0)));
  std::int64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(ids.data());
    std::vector<std::int64_t> page(
        ids.begin(),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(10, ids.size())));
    total = sum(page);
    benchmark::DoNotOptimize(total);
  }
  if (total != sum(frugal::first_n(ids, 10))) state.SkipWithError("wrong page");
}

void first_ten_frugal(benchmark::State& state) {
  const auto ids = make_ids(static_cast<std::size_t>(state.range(0)));
  std::int64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(ids.data());
    total = sum(frugal::first_n(ids, 10));
    benchmark::DoNotOptimize(total);
  }
  if (total != sum(std::vector<std::int64_t>(
                   ids.begin(), ids.begin() + std::min<std::ptrdiff_t>(
                                                  10, static_cast<std::ptrdiff_t>(ids.size()))))) {
    state.SkipWithError("wrong page");
  }
}

// The page is handed on (to a serialiser, say): taking it is what is measured.
void first_half_naive(benchmark::State& state) {
  const auto ids = make_ids(static_cast<std::size_t>(state.range(0)));
  std::int64_t edge = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(ids.data());
    std::vector<std::int64_t> page(ids.begin(),
                                   ids.begin() + static_cast<std::ptrdiff_t>(ids.size() / 2));
    benchmark::DoNotOptimize(page.data());
    edge = page.front() + page.back();
    benchmark::DoNotOptimize(edge);
  }
  if (edge != ids.front() + ids[ids.size() / 2 - 1]) state.SkipWithError("wrong page");
}

void first_half_frugal(benchmark::State& state) {
  const auto ids = make_ids(static_cast<std::size_t>(state.range(0)));
  std::int64_t edge = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(ids.data());
    const auto page = frugal::first_n(ids, ids.size() / 2);
    benchmark::DoNotOptimize(page.data());
    edge = page.front() + page.back();
    benchmark::DoNotOptimize(edge);
  }
  if (edge != ids.front() + ids[ids.size() / 2 - 1]) state.SkipWithError("wrong page");
}

// Iterating pieces of a 1 MiB buffer: the view against the index loop it replaces ------------

constexpr std::size_t kMiB = 1 << 20;

std::vector<std::uint8_t> make_bytes() {
  std::vector<std::uint8_t> bytes(kMiB);
  std::mt19937 rng(5);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

// Each piece contributes its first and last byte and its length (lines: the square of it, so
// that no compiler can sum the pieces in closed form), the same small work per piece in every
// implementation.
void chunks_limit(benchmark::State& state) {
  const auto bytes = make_bytes();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::uint64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(bytes.data());
    total = 0;
    for (std::size_t i = 0; i < bytes.size(); i += n) {
      const std::size_t len = std::min(n, bytes.size() - i);
      total += bytes[i] + bytes[i + len - 1] + len;
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

void chunks_frugal(benchmark::State& state) {
  const auto bytes = make_bytes();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::uint64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(bytes.data());
    total = 0;
    for (auto c : frugal::chunks(bytes, n)) total += c.front() + c.back() + c.size();
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

void windows_limit(benchmark::State& state) {
  const auto bytes = make_bytes();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::uint64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(bytes.data());
    total = 0;
    for (std::size_t i = 0; i + n <= bytes.size(); ++i) total += bytes[i] + bytes[i + n - 1] + n;
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

void windows_frugal(benchmark::State& state) {
  const auto bytes = make_bytes();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::uint64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(bytes.data());
    total = 0;
    for (auto w : frugal::windows(bytes, n)) total += w.front() + w.back() + w.size();
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

std::string make_lines() {
  std::string text;
  std::mt19937 rng(11);
  while (text.size() < kMiB) {
    text.append(rng() % 80, 'x');
    text.push_back('\n');
  }
  text.resize(kMiB);
  return text;
}

void split_lines_limit(benchmark::State& state) {
  const std::string text = make_lines();
  std::uint64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(text.data());
    total = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') {
        total += (i - start) * (i - start);
        start = i + 1;
      }
    }
    total += (text.size() - start) * (text.size() - start);
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

void split_lines_frugal(benchmark::State& state) {
  const std::string text = make_lines();
  std::uint64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(text.data());
    total = 0;
    for (auto line : frugal::split(text, [](char c) { return c == '\n'; })) {
      total += line.size() * line.size();
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

// Splitting a CSV-like line into fields ------------------------------------------------------

std::string make_csv_line(std::size_t fields) {
  std::string line;
  for (std::size_t i = 0; i < fields; ++i) {
    if (i != 0) line.push_back(',');
    line += "field-value-" + std::to_string(i * 37);
  }
  return line;
}

void split_csv_naive(benchmark::State& state) {
  const std::string line = make_csv_line(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(line.data());
    std::vector<std::string> fields;
    std::string current;
    for (char c : line) {
      if (c == ',') {
        fields.push_back(current);
        current.clear();
      } else {
        current.push_back(c);
      }
    }
    fields.push_back(current);
    total = 0;
    for (const auto& f : fields) total += f.size();
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

void split_csv_frugal(benchmark::State& state) {
  const std::string line = make_csv_line(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(line.data());
    total = 0;
    for (auto f : frugal::split(line, [](char c) { return c == ','; })) total += f.size();
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

// The same line split by a character and by a two-character string, as a user writes it
// without split: a std::string_view::find loop.
template <class Sep>
std::size_t split_find_loop(std::string_view line, Sep sep, std::size_t sep_size) {
  std::size_t total = 0;
  std::size_t start = 0;
  for (std::size_t at; (at = line.find(sep, start)) != std::string_view::npos;
       start = at + sep_size) {
    total += at - start;
  }
  return total + (line.size() - start);
}

void split_csv_char_limit(benchmark::State& state) {
  const std::string line = make_csv_line(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(line.data());
    total = split_find_loop(line, ',', 1);
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

void split_csv_char_frugal(benchmark::State& state) {
  const std::string line = make_csv_line(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(line.data());
    total = 0;
    for (auto f : frugal::split(line, ',')) total += f.size();
    benchmark::DoNotOptimize(total);
  }
  if (total != split_find_loop(line, ',', 1)) state.SkipWithError("wrong fields");
  state.counters["check"] = static_cast<double>(total);
}

std::string make_path(std::size_t parts) {
  std::string path;
  for (std::size_t i = 0; i < parts; ++i) {
    if (i != 0) path += "::";
    path += "module" + std::to_string(i * 7);
  }
  return path;
}

void split_str_limit(benchmark::State& state) {
  const std::string path = make_path(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(path.data());
    total = split_find_loop(path, std::string_view("::"), 2);
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

void split_str_frugal(benchmark::State& state) {
  const std::string path = make_path(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(path.data());
    total = 0;
    for (auto f : frugal::split(path, "::")) total += f.size();
    benchmark::DoNotOptimize(total);
  }
  if (total != split_find_loop(path, std::string_view("::"), 2)) {
    state.SkipWithError("wrong parts");
  }
  state.counters["check"] = static_cast<double>(total);
}

void lines_frugal(benchmark::State& state) {
  const std::string text = make_lines();
  std::uint64_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(text.data());
    total = 0;
    for (auto line : frugal::lines(text)) total += line.size() * line.size();
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total % 1000);
}

void split_csv_char_absl(benchmark::State& state) {
  const std::string line = make_csv_line(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(line.data());
    total = 0;
    for (absl::string_view f : absl::StrSplit(line, ',')) total += f.size();
    benchmark::DoNotOptimize(total);
  }
  if (total != split_find_loop(line, ',', 1)) state.SkipWithError("wrong fields");
  state.counters["check"] = static_cast<double>(total);
}

void split_str_absl(benchmark::State& state) {
  const std::string path = make_path(static_cast<std::size_t>(state.range(0)));
  std::size_t total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(path.data());
    total = 0;
    for (absl::string_view f : absl::StrSplit(path, "::")) total += f.size();
    benchmark::DoNotOptimize(total);
  }
  if (total != split_find_loop(path, std::string_view("::"), 2)) {
    state.SkipWithError("wrong parts");
  }
  state.counters["check"] = static_cast<double>(total);
}

// Parsing the numbers of a query string: what a request parser does per field. ---------------

std::vector<std::string> make_numbers() {
  std::vector<std::string> numbers;
  std::mt19937 rng(5);
  for (int i = 0; i < 64; ++i) numbers.push_back(std::to_string(rng() % 1000000));
  numbers.push_back("12x");  // one bad field
  return numbers;
}

// naive: std::stoi, which needs a std::string, skips whitespace, accepts a trailing suffix
// unless checked, and throws on bad input.
void parse_int_naive(benchmark::State& state) {
  const auto numbers = make_numbers();
  std::vector<std::string_view> fields(numbers.begin(), numbers.end());
  long total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(fields.data());
    total = 0;
    for (auto f : fields) {
      try {
        std::size_t used = 0;
        const int v = std::stoi(std::string(f), &used);
        if (used == f.size()) total += v;
      } catch (const std::exception&) {
      }
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

void parse_int_std(benchmark::State& state) {
  const auto numbers = make_numbers();
  std::vector<std::string_view> fields(numbers.begin(), numbers.end());
  long total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(fields.data());
    total = 0;
    for (auto f : fields) {
      int v = 0;
      const auto r = std::from_chars(f.data(), f.data() + f.size(), v);
      if (r.ec == std::errc() && r.ptr == f.data() + f.size()) total += v;
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

void parse_int_frugal(benchmark::State& state) {
  const auto numbers = make_numbers();
  std::vector<std::string_view> fields(numbers.begin(), numbers.end());
  long total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(fields.data());
    total = 0;
    for (auto f : fields) {
      if (auto v = frugal::parse<int>(f)) total += *v;
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

// absl::SimpleAtoi also skips surrounding whitespace, which the others do not. (Debian's
// Abseil has its own string_view type, hence the conversions.)
void parse_int_absl(benchmark::State& state) {
  const auto numbers = make_numbers();
  std::vector<std::string_view> fields(numbers.begin(), numbers.end());
  long total = 0;
  for (auto _ : frugal::bench::counted(state)) {
    benchmark::DoNotOptimize(fields.data());
    total = 0;
    for (auto f : fields) {
      int v = 0;
      if (absl::SimpleAtoi(absl::string_view(f.data(), f.size()), &v)) total += v;
    }
    benchmark::DoNotOptimize(total);
  }
  state.counters["check"] = static_cast<double>(total);
}

const bool registered = [] {
  for (std::int64_t n : {10, 100, 1000, 10000}) {
    benchmark::RegisterBenchmark("slice/first_ten/naive", first_ten_naive)->Arg(n);
    benchmark::RegisterBenchmark("slice/first_ten/frugal", first_ten_frugal)->Arg(n);
  }
  for (std::int64_t n : {10, 100, 1000, 10000}) {
    benchmark::RegisterBenchmark("slice/first_half/naive", first_half_naive)->Arg(n);
    benchmark::RegisterBenchmark("slice/first_half/frugal", first_half_frugal)->Arg(n);
  }
  for (std::int64_t n : {16, 64, 4096}) {
    benchmark::RegisterBenchmark("slice/chunks_1MiB/limit", chunks_limit)->Arg(n);
    benchmark::RegisterBenchmark("slice/chunks_1MiB/frugal", chunks_frugal)->Arg(n);
  }
  for (std::int64_t n : {4, 64}) {
    benchmark::RegisterBenchmark("slice/windows_1MiB/limit", windows_limit)->Arg(n);
    benchmark::RegisterBenchmark("slice/windows_1MiB/frugal", windows_frugal)->Arg(n);
  }
  benchmark::RegisterBenchmark("slice/split_lines_1MiB/limit", split_lines_limit);
  benchmark::RegisterBenchmark("slice/split_lines_1MiB/frugal", split_lines_frugal);
  for (std::int64_t n : {8, 32}) {
    benchmark::RegisterBenchmark("slice/split_csv/naive", split_csv_naive)->Arg(n);
    benchmark::RegisterBenchmark("slice/split_csv/frugal", split_csv_frugal)->Arg(n);
    benchmark::RegisterBenchmark("slice/split_csv/limit:find", split_csv_char_limit)->Arg(n);
    benchmark::RegisterBenchmark("slice/split_csv/frugal:char", split_csv_char_frugal)->Arg(n);
    benchmark::RegisterBenchmark("slice/split_str/limit:find", split_str_limit)->Arg(n);
    benchmark::RegisterBenchmark("slice/split_str/frugal", split_str_frugal)->Arg(n);
    benchmark::RegisterBenchmark("slice/split_csv/absl", split_csv_char_absl)->Arg(n);
    benchmark::RegisterBenchmark("slice/split_str/absl", split_str_absl)->Arg(n);
  }
  benchmark::RegisterBenchmark("slice/split_lines_1MiB/frugal:lines", lines_frugal);
  benchmark::RegisterBenchmark("slice/parse_int/naive", parse_int_naive);
  benchmark::RegisterBenchmark("slice/parse_int/std", parse_int_std);
  benchmark::RegisterBenchmark("slice/parse_int/frugal", parse_int_frugal);
  benchmark::RegisterBenchmark("slice/parse_int/absl", parse_int_absl);
  return true;
}();

}  // namespace

// The cases that carry this module's claims: `scripts/bench` runs these by default.
FRUGAL_BENCH_HEADLINE("^slice/(first_half|split_csv|chunks_1MiB|windows_1MiB)/");
FRUGAL_BENCH_HEADLINE("^slice/(split_str|parse_int|first_ten)/");
