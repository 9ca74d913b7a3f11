// bytes against std::string copies (naive), shared_ptr<std::string> + string_view (what people
// write by hand), absl::Cord (peer) and raw pointers or memcpy (limit).
//
// Names: bytes/<operation>/<impl>[:<variant>]/<arg>.
//   split_frames   a 64 KiB buffer of 1000 pipelined HTTP/1.1 requests split into 1000 frames,
//                  kept in a vector reserved once (frame lengths found before the timed loop)
//   clone_drop     one clone and drop of a shared buffer, per thread: ->Threads(1, 2, 4, 8, 16)
//   copy           memcpy of the 64 KiB buffer: the bandwidth bound of the copying peers
//   read_file      open, read (or map) and checksum a file of 1 MiB, 64 MiB and (not in
//                  --quick runs) 1 GiB, made by the bench in a temporary directory; reports
//                  the process's peak RSS, meaningful when each case runs in its own process
//                  (as scripts/bench runs them)
#include "bench_support.hpp"

#include <frugal/bytes.hpp>
#include <frugal/bytes_io.hpp>

#include <absl/strings/cord.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

// The pipelined requests and the length of each, built once.
struct pipelined {
  std::string buffer;
  std::vector<std::size_t> lengths;
};

const pipelined& requests() {
  static const pipelined p = [] {
    pipelined r;
    const std::size_t target = 64 * 1024;
    const std::size_t count = 1000;
    std::vector<std::string> heads;
    std::size_t base = 0;
    for (std::size_t i = 0; i < count; ++i) {
      heads.push_back("GET /api/v1/items/" + std::to_string(i * 7919 % 100000) +
                      " HTTP/1.1\r\nHost: example.com\r\nX-Pad: ");
      base += heads.back().size() + 4;  // the padding header's "\r\n" and the blank line
    }
    // Pad each request with a header so that the 1000 requests fill 64 KiB exactly.
    const std::size_t extra = target - base;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t pad = extra / count + (i < extra % count ? 1 : 0);
      std::string req = heads[i] + std::string(pad, 'a') + "\r\n\r\n";
      r.lengths.push_back(req.size());
      r.buffer += req;
    }
    return r;
  }();
  return p;
}

bool frames_match(const std::vector<std::string_view>& got) {
  const pipelined& p = requests();
  if (got.size() != p.lengths.size()) return false;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != std::string_view(p.buffer).substr(at, p.lengths[i])) return false;
    at += p.lengths[i];
  }
  return at == p.buffer.size();
}

// Split 1000 frames off a 64 KiB buffer ----------------------------------------------------

void split_frames_naive(benchmark::State& state) {
  const pipelined& p = requests();
  std::vector<std::string> frames;
  frames.reserve(p.lengths.size());
  for (auto _ : frugal::bench::counted(state)) {
    frames.clear();
    std::size_t at = 0;
    for (std::size_t n : p.lengths) {
      frames.emplace_back(p.buffer, at, n);
      at += n;
    }
    benchmark::DoNotOptimize(frames.data());
  }
  if (!frames_match({frames.begin(), frames.end()})) state.SkipWithError("wrong frames");
}

void split_frames_shared_ptr(benchmark::State& state) {
  const pipelined& p = requests();
  const auto whole = std::make_shared<const std::string>(p.buffer);
  std::vector<std::pair<std::shared_ptr<const std::string>, std::string_view>> frames;
  frames.reserve(p.lengths.size());
  for (auto _ : frugal::bench::counted(state)) {
    frames.clear();
    std::string_view rest = *whole;
    for (std::size_t n : p.lengths) {
      frames.emplace_back(whole, rest.substr(0, n));
      rest.remove_prefix(n);
    }
    benchmark::DoNotOptimize(frames.data());
  }
  std::vector<std::string_view> views;
  for (const auto& f : frames) views.push_back(f.second);
  if (!frames_match(views)) state.SkipWithError("wrong frames");
}

void split_frames_absl(benchmark::State& state) {
  const pipelined& p = requests();
  const absl::Cord whole(p.buffer);
  std::vector<absl::Cord> frames;
  frames.reserve(p.lengths.size());
  for (auto _ : frugal::bench::counted(state)) {
    frames.clear();
    std::size_t at = 0;
    for (std::size_t n : p.lengths) {
      frames.push_back(whole.Subcord(at, n));
      at += n;
    }
    benchmark::DoNotOptimize(frames.data());
  }
  std::vector<std::string> flat;
  for (const auto& f : frames) flat.push_back(std::string(f));
  if (!frames_match({flat.begin(), flat.end()})) state.SkipWithError("wrong frames");
}

void split_frames_frugal(benchmark::State& state) {
  const pipelined& p = requests();
  const frugal::bytes whole = frugal::bytes::copy_from(p.buffer);
  std::vector<frugal::bytes> frames;
  frames.reserve(p.lengths.size());
  for (auto _ : frugal::bench::counted(state)) {
    frames.clear();
    frugal::bytes rest = whole;
    for (std::size_t n : p.lengths) frames.push_back(rest.split_to(n));
    benchmark::DoNotOptimize(frames.data());
  }
  if (!frames_match({frames.begin(), frames.end()})) state.SkipWithError("wrong frames");
}

// The parser's own buffer: frames handed out as bytes_mut::split_to(n).freeze().
void split_frames_frugal_mut(benchmark::State& state) {
  const pipelined& p = requests();
  frugal::bytes_mut buf(p.buffer.size());
  std::vector<frugal::bytes> frames;
  frames.reserve(p.lengths.size());
  for (auto _ : frugal::bench::counted(state)) {
    frames.clear();
    buf.reserve(p.buffer.size());  // reclaims the whole buffer: every frame has dropped
    std::memcpy(buf.spare_capacity().data(), p.buffer.data(), p.buffer.size());
    buf.commit(p.buffer.size());
    for (std::size_t n : p.lengths) frames.push_back(buf.split_to(n).freeze());
    benchmark::DoNotOptimize(frames.data());
  }
  if (!frames_match({frames.begin(), frames.end()})) state.SkipWithError("wrong frames");
}

void split_frames_limit(benchmark::State& state) {
  const pipelined& p = requests();
  std::vector<std::pair<const char*, std::size_t>> frames;
  frames.reserve(p.lengths.size());
  for (auto _ : frugal::bench::counted(state)) {
    frames.clear();
    const char* at = p.buffer.data();
    benchmark::DoNotOptimize(at);
    for (std::size_t n : p.lengths) {
      frames.emplace_back(at, n);
      at += n;
    }
    benchmark::DoNotOptimize(frames.data());
  }
  std::vector<std::string_view> views;
  for (const auto& f : frames) views.emplace_back(f.first, f.second);
  if (!frames_match(views)) state.SkipWithError("wrong frames");
}

void copy_limit_memcpy(benchmark::State& state) {
  const pipelined& p = requests();
  std::string out(p.buffer.size(), '\0');
  for (auto _ : frugal::bench::counted(state)) {
    std::memcpy(out.data(), p.buffer.data(), p.buffer.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  if (out != p.buffer) state.SkipWithError("wrong copy");
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(p.buffer.size()));
}

// Clone and drop a shared buffer, from 1 to 16 threads -------------------------------------

void clone_drop_frugal(benchmark::State& state) {
  static const frugal::bytes shared = frugal::bytes::copy_from(requests().buffer);
  for (auto _ : frugal::bench::counted(state)) {
    frugal::bytes c = shared;
    benchmark::DoNotOptimize(c);
  }
  if (shared.size() != requests().buffer.size()) state.SkipWithError("wrong size");
}

void clone_drop_frugal_static(benchmark::State& state) {
  static const frugal::bytes shared =
      frugal::bytes::from_static(std::string_view(requests().buffer));
  for (auto _ : frugal::bench::counted(state)) {
    frugal::bytes c = shared;
    benchmark::DoNotOptimize(c);
  }
  if (shared.size() != requests().buffer.size()) state.SkipWithError("wrong size");
}

void clone_drop_shared_ptr(benchmark::State& state) {
  static const auto shared = std::make_shared<const std::string>(requests().buffer);
  for (auto _ : frugal::bench::counted(state)) {
    std::shared_ptr<const std::string> c = shared;
    benchmark::DoNotOptimize(c);
  }
  if (shared->size() != requests().buffer.size()) state.SkipWithError("wrong size");
}

void clone_drop_absl(benchmark::State& state) {
  static const absl::Cord shared(requests().buffer);
  for (auto _ : frugal::bench::counted(state)) {
    absl::Cord c = shared;
    benchmark::DoNotOptimize(c);
  }
  if (shared.size() != requests().buffer.size()) state.SkipWithError("wrong size");
}

void clone_drop_limit(benchmark::State& state) {
  const std::string& buffer = requests().buffer;
  for (auto _ : frugal::bench::counted(state)) {
    std::pair<const char*, std::size_t> c{buffer.data(), buffer.size()};
    benchmark::DoNotOptimize(c);
  }
}

// Read a file and checksum it ------------------------------------------------------------------

std::uint64_t checksum(std::span<const std::byte> data) {
  std::uint64_t sum = 0;
  for (std::byte b : data) sum = sum * 31 + std::to_integer<std::uint64_t>(b);
  return sum;
}

// The bench's temporary directory, removed at exit.
struct file_dir {
  std::filesystem::path path;
  file_dir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "frugal-bytes-bench-XXXXXX").string();
    if (::mkdtemp(templ.data()) != nullptr) path = templ;
  }
  ~file_dir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

// Returns the path of a file of `size` bytes, writing it on first use.
std::filesystem::path file_of(std::size_t size) {
  static file_dir dir;
  const auto path = dir.path / ("data-" + std::to_string(size));
  if (!std::filesystem::exists(path)) {
    std::ofstream out(path, std::ios::binary);
    std::string block(1 << 20, '\0');
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 131 % 251);
    for (std::size_t left = size; left != 0;) {
      const std::size_t n = std::min(left, block.size());
      out.write(block.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
  }
  return path;
}

std::uint64_t expected_checksum(const std::filesystem::path& path) {
  std::uint64_t sum = 0;
  for (const frugal::bytes& chunk : frugal::file_chunks(path, 1 << 20)) {
    for (std::byte b : chunk) sum = sum * 31 + std::to_integer<std::uint64_t>(b);
  }
  return sum;
}

void report_rss(benchmark::State& state) {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void read_file_naive(benchmark::State& state) {
  const auto path = file_of(static_cast<std::size_t>(state.range(0)));
  std::uint64_t sum = 0;
  for (auto _ : frugal::bench::counted(state)) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(0, std::ios::end);
    std::string content(static_cast<std::size_t>(in.tellg()), '\0');
    in.seekg(0);
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    sum = checksum(std::as_bytes(std::span<const char>(content.data(), content.size())));
    benchmark::DoNotOptimize(sum);
  }
  if (sum != expected_checksum(path)) state.SkipWithError("wrong checksum");
  report_rss(state);
}

void read_file_map_file(benchmark::State& state) {
  const auto path = file_of(static_cast<std::size_t>(state.range(0)));
  std::uint64_t sum = 0;
  for (auto _ : frugal::bench::counted(state)) {
    const frugal::bytes content = frugal::map_file(path);
    sum = checksum(content);
    benchmark::DoNotOptimize(sum);
  }
  if (sum != expected_checksum(path)) state.SkipWithError("wrong checksum");
  report_rss(state);
}

void read_file_chunks(benchmark::State& state) {
  const auto path = file_of(static_cast<std::size_t>(state.range(0)));
  std::uint64_t sum = 0;
  for (auto _ : frugal::bench::counted(state)) {
    sum = 0;
    for (const frugal::bytes& chunk : frugal::file_chunks(path, 256 * 1024)) {
      for (std::byte b : chunk) sum = sum * 31 + std::to_integer<std::uint64_t>(b);
    }
    benchmark::DoNotOptimize(sum);
  }
  if (sum != expected_checksum(path)) state.SkipWithError("wrong checksum");
  report_rss(state);
}

// The least a program can do: read() into one reused buffer.
void read_file_limit(benchmark::State& state) {
  const auto path = file_of(static_cast<std::size_t>(state.range(0)));
  std::vector<std::byte> buffer(256 * 1024);
  std::uint64_t sum = 0;
  for (auto _ : frugal::bench::counted(state)) {
    sum = 0;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n <= 0) break;
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        sum = sum * 31 + std::to_integer<std::uint64_t>(buffer[i]);
      }
    }
    ::close(fd);
    benchmark::DoNotOptimize(sum);
  }
  if (sum != expected_checksum(path)) state.SkipWithError("wrong checksum");
  report_rss(state);
}

// True when this process was started with --quick (a smoke run): the 1 GiB files are left out.
bool quick_run() {
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::string arg;
  while (std::getline(cmdline, arg, '\0')) {
    if (arg == "--quick") return true;
  }
  return false;
}

void file_sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 20)->Arg(64 << 20);
  if (!quick_run()) b->Arg(std::int64_t{1} << 30);
  b->Unit(benchmark::kMillisecond);
}

void thread_counts(benchmark::internal::Benchmark* b) {
  b->Threads(1)->Threads(2)->Threads(4)->Threads(8)->Threads(16)->UseRealTime();
}

}  // namespace

BENCHMARK(split_frames_naive)->Name("bytes/split_frames/naive/1000");
BENCHMARK(split_frames_shared_ptr)->Name("bytes/split_frames/std:shared_ptr/1000");
BENCHMARK(split_frames_absl)->Name("bytes/split_frames/absl/1000");
BENCHMARK(split_frames_frugal)->Name("bytes/split_frames/frugal/1000");
BENCHMARK(split_frames_frugal_mut)->Name("bytes/split_frames/frugal:bytes_mut/1000");
BENCHMARK(split_frames_limit)->Name("bytes/split_frames/limit/1000");
BENCHMARK(copy_limit_memcpy)->Name("bytes/copy/limit:memcpy/65536");

BENCHMARK(clone_drop_shared_ptr)->Name("bytes/clone_drop/std:shared_ptr")->Apply(thread_counts);
BENCHMARK(clone_drop_absl)->Name("bytes/clone_drop/absl")->Apply(thread_counts);
BENCHMARK(clone_drop_frugal)->Name("bytes/clone_drop/frugal")->Apply(thread_counts);
BENCHMARK(clone_drop_frugal_static)->Name("bytes/clone_drop/frugal:static")->Apply(thread_counts);
BENCHMARK(clone_drop_limit)->Name("bytes/clone_drop/limit")->Apply(thread_counts);

BENCHMARK(read_file_naive)->Name("bytes/read_file/naive:ifstream")->Apply(file_sizes);
BENCHMARK(read_file_map_file)->Name("bytes/read_file/frugal:map_file")->Apply(file_sizes);
BENCHMARK(read_file_chunks)->Name("bytes/read_file/frugal:file_chunks")->Apply(file_sizes);
BENCHMARK(read_file_limit)->Name("bytes/read_file/limit:read")->Apply(file_sizes);

FRUGAL_BENCH_HEADLINE("^bytes/split_frames/");
FRUGAL_BENCH_HEADLINE("^bytes/copy/");
FRUGAL_BENCH_HEADLINE("^bytes/clone_drop/.*threads:(1|2)$");
FRUGAL_BENCH_HEADLINE("^bytes/read_file/.*/(1048576|67108864)$");
FRUGAL_BENCH_NOT_LIKE_FOR_LIKE("^bytes/split_frames/frugal:bytes_mut/",
                               "also refills the 64 KiB buffer with memcpy each round, as a "
                               "parser reading from a socket does");
