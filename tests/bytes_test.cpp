#include <frugal/bytes.hpp>
#include <frugal/bytes_io.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using frugal::bytes;
using frugal::bytes_chain;
using frugal::bytes_mut;
using frugal::testing::count_allocations;
using frugal::testing::measure_allocations;
using namespace frugal::literals;
using namespace std::string_view_literals;

namespace {

std::span<const std::byte> as_span(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

template <class F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

// Counts live owners and releases, to catch leaks and double releases.
struct owner_counts {
  int live = 0;
  int released = 0;
};

struct counting_owner {
  owner_counts* counts;
  bool moved_from = false;
  explicit counting_owner(owner_counts& c) : counts(&c) { ++counts->live; }
  counting_owner(counting_owner&& o) noexcept : counts(o.counts) {
    o.moved_from = true;
    ++counts->live;
  }
  ~counting_owner() { --counts->live; }
  void operator()() noexcept {
    CHECK(!moved_from);
    ++counts->released;
  }
};

// An owner whose move throws on the k-th move (counting down a shared budget).
struct throwing_owner {
  int* budget;
  int* released;
  explicit throwing_owner(int& b, int& r) : budget(&b), released(&r) {}
  throwing_owner(throwing_owner&& o) : budget(o.budget), released(o.released) {
    if ((*budget)-- == 0) throw std::runtime_error("owner move failed");
  }
  void operator()() noexcept { ++*released; }
};

struct alignas(64) over_aligned_owner {
  std::array<std::byte, 64> payload{};
  static inline int destroyed = 0;
  over_aligned_owner() = default;
  over_aligned_owner(over_aligned_owner&&) noexcept = default;
  ~over_aligned_owner() {
    REQUIRE(reinterpret_cast<std::uintptr_t>(this) % 64 == 0);
    ++destroyed;
  }
};

// A temporary directory removed at the end of the test.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string templ = (std::filesystem::temp_directory_path() / "frugal-bytes-XXXXXX").string();
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    const auto p = path / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

std::string pattern_text(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

struct socket_pair {
  int fd[2] = {-1, -1};
  socket_pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0); }
  ~socket_pair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void close_end(int i) {
    ::close(fd[i]);
    fd[i] = -1;
  }
};

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n >= 0);
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

// bytes: backings ----------------------------------------------------------------------------

TEST_CASE("bytes is a handle of at most 32 bytes", "[bytes]") {
  STATIC_REQUIRE(sizeof(bytes) <= 32);
  STATIC_REQUIRE(sizeof(bytes_mut) <= 32);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<bytes>);
  STATIC_REQUIRE(std::is_nothrow_copy_constructible_v<bytes>);
  STATIC_REQUIRE(!std::is_copy_constructible_v<bytes_mut>);
}

TEST_CASE("static bytes: no allocation, clones and slices free, never unique", "[bytes]") {
  REQUIRE(count_allocations([] {
            bytes a = "GET / HTTP/1.1\r\n"_bytes;
            bytes b = a;
            bytes c = b.slice(4, 5);
            bytes d = bytes::from_static("literal"sv);
            REQUIRE(c == "/"sv);
            REQUIRE(d == "literal"sv);
            REQUIRE(!a.is_unique());
            REQUIRE(!a.try_into_mut().has_value());
            REQUIRE(a.size() == 16);
          }) == 0);
  bytes e;
  REQUIRE(e.empty());
  REQUIRE(e.size() == 0);
  REQUIRE(e.as_string_view().empty());
  REQUIRE(!e.is_unique());
}

TEST_CASE("copy_from: one allocation for control block and data, none when empty", "[bytes]") {
  bytes b;
  auto stats = measure_allocations([&] { b = bytes::copy_from("hello, world"sv); });
  REQUIRE(stats.allocations == 1);
  REQUIRE(b == "hello, world"sv);
  REQUIRE(b.is_unique());
  REQUIRE(count_allocations([&] { b = bytes::copy_from(""sv); }) == 0);
  REQUIRE(b.empty());
  REQUIRE(count_allocations([&] { b = bytes::copy_from(as_span("xyz")); }) == 1);
  REQUIRE(b.to_string() == "xyz");
}

TEST_CASE("clone, slice, split and drop never allocate and the last drop frees once", "[bytes]") {
  const std::string text = pattern_text(1000);
  auto stats = measure_allocations([&] {
    bytes whole = bytes::copy_from(text);
    std::vector<bytes> frames;
    frames.reserve(100);
    auto inner = measure_allocations([&] {
      bytes rest = whole;
      while (!rest.empty()) frames.push_back(rest.split_to(std::min<std::size_t>(10, rest.size())));
      bytes copy = frames[3];
      bytes tail = copy.split_off(4);
      bytes mid = whole.slice(100, 200);
      mid.advance(10);
      mid.truncate(5);
      REQUIRE(mid.as_string_view() == std::string_view(text).substr(110, 5));
      REQUIRE(tail.as_string_view() == std::string_view(text).substr(34, 6));
    });
    REQUIRE(inner.allocations == 0);
    REQUIRE(inner.deallocations == 0);
    REQUIRE(frames.size() == 100);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      REQUIRE(frames[i].as_string_view() == std::string_view(text).substr(i * 10, 10));
    }
  });
  REQUIRE(stats.allocations == 2);  // the buffer and the vector of frames
  REQUIRE(stats.deallocations == 2);
}

TEST_CASE("adopting a std::string or vector copies no heap data", "[bytes]") {
  std::string s = pattern_text(200);
  const char* heap = s.data();
  bytes b;
  REQUIRE(count_allocations([&] { b = bytes(std::move(s)); }) == 1);
  REQUIRE(reinterpret_cast<const char*>(b.data()) == heap);
  REQUIRE(b == pattern_text(200));
  REQUIRE(b.is_unique());

  std::vector<std::byte> v(300, std::byte{7});
  const std::byte* vdata = v.data();
  bytes c;
  REQUIRE(count_allocations([&] { c = bytes(std::move(v)); }) == 1);
  REQUIRE(c.data() == vdata);
  REQUIRE(c.size() == 300);

  std::string short_text = "hi";
  bytes d(std::move(short_text));
  REQUIRE(d == "hi"sv);
  bytes e(std::string{});
  REQUIRE(e.empty());
  REQUIRE(count_allocations([] { bytes f(std::vector<std::byte>{}); }) == 0);
  auto stats = measure_allocations([&] {
    b.clear();
    c.clear();
  });
  REQUIRE(stats.deallocations == 4);  // two control blocks, the string's and the vector's data
}

TEST_CASE("owner backing: released exactly once with the last view", "[bytes]") {
  owner_counts counts;
  const std::string data = "mapped bytes";
  {
    bytes b;
    REQUIRE(count_allocations(
                [&] { b = bytes::from_owner(as_span(data), counting_owner(counts)); }) == 1);
    REQUIRE(counts.live == 1);
    bytes slice = b.slice(7, 12);
    b.clear();
    REQUIRE(counts.released == 0);
    REQUIRE(slice == "bytes"sv);
    REQUIRE(!slice.is_unique());  // an owner's bytes are never writable
    REQUIRE(!slice.try_into_mut().has_value());
    bytes other = slice;
    slice.clear();
    REQUIRE(counts.released == 0);
  }
  REQUIRE(counts.released == 1);
  REQUIRE(counts.live == 0);
}

TEST_CASE("owner backing: over-aligned owners and non-callable owners", "[bytes]") {
  over_aligned_owner::destroyed = 0;
  {
    bytes b = bytes::from_owner(as_span("x"), over_aligned_owner{});
    bytes c = b;
  }
  REQUIRE(over_aligned_owner::destroyed >= 1);
  const int before = over_aligned_owner::destroyed;
  { bytes b = bytes::from_owner(as_span("x"), over_aligned_owner{}); }
  REQUIRE(over_aligned_owner::destroyed - before == 2);  // the argument and the stored owner
  auto keep = std::make_shared<int>(5);
  std::weak_ptr<int> watch = keep;
  {
    bytes b = bytes::from_owner(as_span("y"), std::move(keep));
    REQUIRE(!watch.expired());
  }
  REQUIRE(watch.expired());
}

TEST_CASE("owner backing: a throwing owner move releases the resource", "[bytes]") {
  for (int k = 0; k < 3; ++k) {
    int budget = k;
    int released = 0;
    bool threw = false;
    try {
      bytes b = bytes::from_owner(as_span("z"), throwing_owner(budget, released));
      REQUIRE(b == "z"sv);
    } catch (const std::runtime_error& e) {
      threw = true;
      REQUIRE(std::string(e.what()) == "owner move failed");
    }
    // Whether or not the move threw, the release ran exactly once.
    REQUIRE(released == 1);
    REQUIRE(threw == (k == 0));
  }
}

TEST_CASE("conversions to span and string_view do not copy", "[bytes]") {
  bytes b = bytes::copy_from("abc"sv);
  std::span<const std::byte> s = b;
  std::string_view v = b;
  REQUIRE(s.data() == b.data());
  REQUIRE(reinterpret_cast<const std::byte*>(v.data()) == b.data());
  REQUIRE(v == "abc");
  REQUIRE(b[1] == std::byte{'b'});
  REQUIRE(std::string(b.begin() == b.end() ? "" : "x") == "x");
  REQUIRE((bytes::copy_from("abc"sv) < bytes::copy_from("abd"sv)));
  REQUIRE(bytes::copy_from("abc"sv) == "abc"_bytes);
}

// bytes: bad input ----------------------------------------------------------------------------

TEST_CASE("out-of-range slice, split and advance throw std::out_of_range naming the values",
          "[bytes]") {
  bytes b = bytes::copy_from("0123456789"sv);
  REQUIRE_THROWS_AS(b.slice(5, 11), std::out_of_range);
  REQUIRE(thrown_message([&] { (void)b.slice(5, 12); }) ==
          "bytes::slice: range [5, 12) out of bounds of size 10");
  REQUIRE(thrown_message([&] { (void)b.slice(6, 5); }) ==
          "bytes::slice: range [6, 5) out of bounds of size 10");
  REQUIRE(thrown_message([&] { (void)b.split_to(11); }) == "bytes::split_to: 11 > size 10");
  REQUIRE(thrown_message([&] { (void)b.split_off(12); }) == "bytes::split_off: 12 > size 10");
  REQUIRE(thrown_message([&] { b.advance(13); }) == "bytes::advance: 13 > size 10");
  REQUIRE(b == "0123456789"sv);  // unchanged by the failed calls
  REQUIRE_NOTHROW(b.slice(10, 10));
  REQUIRE(b.slice(0, 10) == b);
  b.truncate(100);  // past the end: nothing, as in Rust
  REQUIRE(b.size() == 10);
  b.truncate(10);
  REQUIRE(b.size() == 10);
  b.truncate(9);
  REQUIRE(b == "012345678"sv);
}

TEST_CASE("split_to and split_off at the edges", "[bytes]") {
  bytes b = bytes::copy_from("abcdef"sv);
  bytes none = b.split_to(0);
  REQUIRE(none.empty());
  REQUIRE(b == "abcdef"sv);
  bytes back = b.split_off(6);
  REQUIRE(back.empty());
  REQUIRE(b == "abcdef"sv);
  bytes all = b.split_off(0);
  REQUIRE(all == "abcdef"sv);
  REQUIRE(b.empty());
  bytes front = all.split_to(6);
  REQUIRE(front == "abcdef"sv);
  REQUIRE(all.empty());
  front.advance(6);
  REQUIRE(front.empty());
  front.advance(0);
}

TEST_CASE("slice_ref finds a parser's string_view inside the bytes", "[bytes]") {
  bytes req = bytes::copy_from("GET /index.html HTTP/1.1"sv);
  std::string_view text = req;
  bytes path = req.slice_ref(text.substr(4, 11));
  REQUIRE(path == "/index.html"sv);
  REQUIRE(path.data() == req.data() + 4);
  REQUIRE(req.slice_ref(text.substr(24)).empty());
  REQUIRE(req.slice_ref(text.substr(20, 4)) == "/1.1"sv);
  const std::string elsewhere = "/index.html";
  REQUIRE(thrown_message([&] { (void)req.slice_ref(elsewhere); }) ==
          "bytes::slice_ref: the 11 bytes given are not within this view of 24 bytes");
  REQUIRE_THROWS_AS(req.slice_ref(std::string_view(text.data() + 20, 5)), std::out_of_range);
  REQUIRE_THROWS_AS(req.slice_ref(std::string_view(text.data() - 1, 2)), std::out_of_range);
}

#if FRUGAL_ASSERTIONS_ENABLED
TEST_CASE("element access past the end aborts with the condition in checked builds", "[bytes]") {
  for (int which = 0; which < 2; ++which) {
    int err[2];
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::dup2(err[1], 2);
      bytes b = bytes::copy_from("abc"sv);
      bytes_mut m(8);
      m.extend("abc"sv);
      if (which == 0) {
        (void)b[3];
      } else {
        (void)m[3];
      }
      ::_exit(0);
    }
    ::close(err[1]);
    const std::string message = read_all(err[0]);
    ::close(err[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGABRT);
    REQUIRE(message.find("frugal: assertion failed:") != std::string::npos);
    REQUIRE(message.find("i < len_") != std::string::npos);
  }
}
#endif

// bytes: aliasing ------------------------------------------------------------------------------

TEST_CASE("self-assignment and assignment from a view of the same backing", "[bytes]") {
  bytes b = bytes::copy_from("abcdef"sv);
  bytes& alias = b;
  b = alias;
  REQUIRE(b == "abcdef"sv);
  b = std::move(alias);
  REQUIRE(b == "abcdef"sv);
  b = b.slice(1, 3);  // the source is a temporary sharing the backing
  REQUIRE(b == "bc"sv);
  bytes c = b;
  b.clear();
  REQUIRE(c == "bc"sv);
  c = c.split_to(1);
  REQUIRE(c == "b"sv);
}

// bytes_mut --------------------------------------------------------------------------------------

TEST_CASE("bytes_mut grows by doubling and freezes without copying", "[bytes]") {
  bytes_mut m;
  REQUIRE(m.capacity() == 0);
  REQUIRE(count_allocations([&] { m.extend("hello"sv); }) == 1);
  REQUIRE(m.capacity() >= 64);
  const std::size_t cap = m.capacity();
  REQUIRE(count_allocations([&] {
            for (std::size_t i = m.size(); i < cap; ++i) m.put_u8('x');
          }) == 0);
  REQUIRE(count_allocations([&] { m.put_u8('y'); }) == 1);
  REQUIRE(m.capacity() == 2 * cap);
  const std::byte* where = m.data();
  bytes frozen;
  REQUIRE(count_allocations([&] { frozen = std::move(m).freeze(); }) == 0);
  REQUIRE(frozen.data() == where);
  REQUIRE(frozen.size() == cap + 1);
  REQUIRE(frozen.as_string_view().substr(0, 5) == "hello");
  REQUIRE(m.empty());
  REQUIRE(m.capacity() == 0);
  REQUIRE(std::move(m).freeze().empty());
}

TEST_CASE("bytes_mut with capacity allocates once and an empty freeze frees", "[bytes]") {
  auto stats = measure_allocations([] {
    bytes_mut m(100);
    REQUIRE(m.capacity() == 100);
    bytes b = std::move(m).freeze();
    REQUIRE(b.empty());
  });
  REQUIRE(stats.allocations == 1);
  REQUIRE(stats.deallocations == 1);
  REQUIRE(count_allocations([] { bytes_mut m(0); }) == 0);
}

TEST_CASE("put_* writes integers in big and little endian", "[bytes]") {
  bytes_mut m(64);
  m.put_u16_be(0x0102);
  m.put_u16_le(0x0102);
  m.put_u32_be(0x01020304);
  m.put_u32_le(0x01020304);
  m.put_u64_be(0x0102030405060708);
  m.put_u64_le(0x0102030405060708);
  m.put_uint(std::uint8_t{0xAB});
  const std::vector<int> want = {1, 2, 2, 1, 1, 2, 3, 4, 4, 3, 2, 1, 1, 2,   3,
                                 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1, 0xAB};
  REQUIRE(m.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) REQUIRE(std::to_integer<int>(m[i]) == want[i]);
}

TEST_CASE("bytes_mut split_to hands out frames and reclaims the buffer once they drop", "[bytes]") {
  bytes_mut buf(256);
  const std::byte* const base = buf.data();
  std::vector<bytes> frames;
  frames.reserve(8);
  REQUIRE(count_allocations([&] {
            for (int i = 0; i < 8; ++i) {
              buf.extend("frame-"sv);
              buf.put_u8(static_cast<std::uint8_t>('0' + i));
              buf.extend("|"sv);
              frames.push_back(buf.split_to(7).freeze());
              buf.advance(1);
            }
            buf.extend("partial"sv);
          }) == 0);
  REQUIRE(frames[5] == "frame-5"sv);
  REQUIRE(buf.as_string_view() == "partial");
  REQUIRE(buf.capacity() == 256 - 8 * 8);
  // Frames alive: the buffer is shared, so making room must allocate.
  {
    bytes_mut other(256);
    other.extend("x"sv);
    bytes keep = other.split_to(1).freeze();
    REQUIRE(count_allocations([&] { other.reserve(256); }) == 1);
    REQUIRE(keep == "x"sv);
  }
  // Every frame dropped: reserve reuses the whole allocation, moving the tail to the front.
  REQUIRE(count_allocations([&] { buf.reserve(200); }) == 1);  // frames alive: a new buffer
  REQUIRE(buf.data() != base);
  bytes_mut again(256);
  const std::byte* const again_base = again.data();
  for (int i = 0; i < 8; ++i) {
    again.extend("frame-x|"sv);
    frames.push_back(again.split_to(8).freeze());
  }
  again.extend("partial"sv);
  frames.clear();
  REQUIRE(count_allocations([&] { again.reserve(200); }) == 0);
  REQUIRE(again.data() == again_base);
  REQUIRE(again.capacity() == 256);
  REQUIRE(again.as_string_view() == "partial");
}

TEST_CASE("bytes_mut reclaims only when unique, whatever thread dropped the frames", "[bytes]") {
  bytes_mut buf(64);
  buf.extend(std::string(40, 'a'));
  bytes frame = buf.split_to(40).freeze();
  bytes clone = frame;
  frame.clear();
  // One clone alive: no reclaim, a fresh buffer.
  const std::byte* old_base = clone.data();
  buf.reserve(64);
  REQUIRE(buf.data() != old_base);
  REQUIRE(clone == std::string(40, 'a'));
}

TEST_CASE("bytes_mut reclaim does not move bytes onto themselves", "[bytes]") {
  bytes_mut buf(64);
  buf.extend(std::string(40, 'b'));
  bytes f = buf.split_to(10).freeze();
  f.clear();
  // 30 bytes left at offset 10: the front room (10) is smaller than them, so the buffer grows.
  REQUIRE(count_allocations([&] { buf.reserve(40); }) == 1);
  REQUIRE(buf.as_string_view() == std::string(30, 'b'));
  REQUIRE(buf.capacity() >= 70);
}

TEST_CASE("bytes_mut split_off keeps the front and hands out the tail with the room", "[bytes]") {
  bytes_mut m(32);
  m.extend("headerbody"sv);
  bytes_mut body = m.split_off(6);
  REQUIRE(m.as_string_view() == "header");
  REQUIRE(m.capacity() == 6);
  REQUIRE(body.as_string_view() == "body");
  REQUIRE(body.capacity() == 26);
  REQUIRE(count_allocations([&] { body.extend("more"sv); }) == 0);
  REQUIRE(body.as_string_view() == "bodymore");
  REQUIRE(count_allocations([&] { m.extend("!"sv); }) == 1);  // no room left in the front piece
  REQUIRE(m.as_string_view() == "header!");
  REQUIRE(body.as_string_view() == "bodymore");  // untouched by the front's growth
  bytes_mut all = body.split();
  REQUIRE(all.as_string_view() == "bodymore");
  REQUIRE(body.empty());
  REQUIRE(body.capacity() == 18);
}

TEST_CASE("bytes_mut reserve takes back the room of a dropped split_off tail", "[bytes]") {
  bytes_mut m(64);
  m.extend("headerbody"sv);
  const std::byte* const base = m.data();
  {
    bytes_mut body = m.split_off(6);
    // The tail is alive: the room after "header" is its, so the front piece grows.
    bytes_mut other(64);
    other.extend("headerbody"sv);
    bytes_mut other_body = other.split_off(6);
    REQUIRE(count_allocations([&] { other.reserve(10); }) == 1);
    REQUIRE(other_body.as_string_view() == "body");
  }
  // The tail is gone: the whole allocation after "header" is the front piece's again, with
  // no allocation and no move.
  REQUIRE(count_allocations([&] { m.reserve(50); }) == 0);
  REQUIRE(m.data() == base);
  REQUIRE(m.capacity() == 64);
  REQUIRE(m.as_string_view() == "header");
  m.extend("-more"sv);
  REQUIRE(m.as_string_view() == "header-more");
  // More than the allocation holds: it grows.
  REQUIRE(count_allocations([&] { m.reserve(64); }) == 1);
  REQUIRE(m.as_string_view() == "header-more");
}

TEST_CASE("bytes_mut reserve takes back the room after its bytes without moving them", "[bytes]") {
  bytes_mut m(64);
  m.extend(std::string(40, 'c'));
  (void)m.split_to(30);  // dropped at once: 10 bytes left at offset 30
  bytes_mut tail = m.split_off(5);
  tail = bytes_mut();
  // 5 bytes at offset 30, the room to the end (34) is enough for 20 more: no move.
  const std::byte* const where = m.data();
  REQUIRE(count_allocations([&] { m.reserve(20); }) == 0);
  REQUIRE(m.data() == where);
  REQUIRE(m.capacity() == 34);
  REQUIRE(m.as_string_view() == std::string(5, 'c'));
  // Not enough to the end, but the front room holds the bytes: they move to the front.
  REQUIRE(count_allocations([&] { m.reserve(40); }) == 0);
  REQUIRE(m.capacity() == 64);
  REQUIRE(m.as_string_view() == std::string(5, 'c'));
}

TEST_CASE("bytes_mut bad input: out-of-range split, advance and commit throw", "[bytes]") {
  bytes_mut m(16);
  m.extend("abc"sv);
  REQUIRE(thrown_message([&] { (void)m.split_to(4); }) == "bytes_mut::split_to: 4 > size 3");
  REQUIRE(thrown_message([&] { (void)m.split_off(5); }) == "bytes_mut::split_off: 5 > size 3");
  REQUIRE(thrown_message([&] { m.advance(6); }) == "bytes_mut::advance: 6 > size 3");
  REQUIRE(thrown_message([&] { m.commit(14); }) == "bytes_mut::commit: 14 > size 13");
  REQUIRE(m.as_string_view() == "abc");
  m.truncate(10);
  REQUIRE(m.size() == 3);
  m.truncate(1);
  REQUIRE(m.as_string_view() == "a");
  m.clear();
  REQUIRE(m.empty());
  REQUIRE(m.capacity() == 16);
}

TEST_CASE("bytes_mut reserve: overflow throws length_error, failure leaves it unchanged",
          "[bytes]") {
  bytes_mut m(16);
  m.extend("abc"sv);
  const std::size_t huge = std::numeric_limits<std::size_t>::max() - 1;
  REQUIRE_THROWS_AS(m.reserve(huge), std::length_error);
  REQUIRE(thrown_message([&] { m.reserve(huge); }).starts_with("bytes_mut::reserve: size 3 + "));
  // Too big to allocate: std::bad_alloc (or length_error for the header), buffer unchanged.
  REQUIRE_THROWS(m.reserve(std::numeric_limits<std::size_t>::max() / 2));
  REQUIRE_THROWS_AS(bytes_mut(std::numeric_limits<std::size_t>::max() - 8), std::length_error);
  // A size that adds up but leaves no room for the storage's header names the capacity asked
  // for, not the header's size.
  const std::size_t most = std::numeric_limits<std::size_t>::max();
  REQUIRE(thrown_message([&] { m.reserve(most - 3); }) ==
          "bytes: a capacity of " + std::to_string(most) + " bytes is more than can be allocated");
  REQUIRE(m.as_string_view() == "abc");
  REQUIRE(m.capacity() == 16);
}

TEST_CASE("bytes_mut extend with a view of its own bytes", "[bytes]") {
  for (std::size_t cap : {8u, 64u}) {
    bytes_mut m(cap);
    m.extend("abcdef"sv);
    m.extend(m.as_span());  // grows when cap is 8: the source moves with the buffer
    REQUIRE(m.as_string_view() == "abcdefabcdef");
    m.extend(m.as_span().subspan(2, 3));
    REQUIRE(m.as_string_view() == "abcdefabcdefcde");
  }
}

TEST_CASE("bytes_mut extend with a view taken before advance appends what the view shows",
          "[bytes]") {
  // Unique storage that grows: the old storage is freed, so the view is copied first.
  bytes_mut m(8);
  m.extend("abcdefgh"sv);
  const std::span<const std::byte> whole = m.as_span();
  m.advance(2);  // a parser consumed "ab"; `whole` starts before the bytes
  REQUIRE(count_allocations([&] { m.extend(whole); }) == 1);
  REQUIRE(m.as_string_view() == "cdefghabcdefgh");

  // Unique storage whose growth could move the bytes to the front, over the view.
  bytes_mut r(16);
  r.extend("0123456789ABCDEF"sv);
  const std::span<const std::byte> front = r.as_span().first(8);
  r.advance(12);
  REQUIRE(r.as_string_view() == "CDEF");
  REQUIRE(count_allocations([&] { r.extend(front); }) == 1);  // never a reclaim in place
  REQUIRE(r.as_string_view() == "CDEF01234567");

  // A view that starts in the bytes and reaches before them.
  bytes_mut s(8);
  s.extend("abcdefgh"sv);
  const std::span<const std::byte> middle = s.as_span().subspan(1, 4);
  s.advance(3);
  s.extend(std::span<const std::byte>(middle.data(), 6));  // "bcdefg": room 5, grows
  REQUIRE(s.as_string_view() == "defghbcdefg");
}

TEST_CASE("bytes_mut extend with a view taken before truncate appends what the view shows",
          "[bytes]") {
  // Growth: the view reaches past the bytes, into what the old storage still holds.
  bytes_mut m(8);
  m.extend("abcdefgh"sv);
  const std::span<const std::byte> whole = m.as_span();
  m.truncate(2);
  REQUIRE(count_allocations([&] { m.extend(whole); }) == 1);
  REQUIRE(m.as_string_view() == "ababcdefgh");

  // No growth: the view overlaps the room written to.
  bytes_mut n(16);
  n.extend("abcdefgh"sv);
  const std::span<const std::byte> tail = n.as_span().subspan(1, 6);
  n.truncate(3);
  REQUIRE(count_allocations([&] { n.extend(tail); }) == 0);
  REQUIRE(n.as_string_view() == "abcbcdefg");

  // A view of the spare capacity alone, and a reclaim that could have moved bytes over it.
  bytes_mut r(16);
  r.extend("0123456789ABCDEF"sv);
  const std::span<const std::byte> end = r.as_span().last(4);
  r.truncate(12);
  { bytes dropped = r.split_to(10).freeze(); }  // unique again, room in front
  REQUIRE(r.as_string_view() == "AB");
  r.extend(end);  // room 4 (the truncated bytes): fits
  REQUIRE(r.as_string_view() == "ABCDEF");
  r.truncate(2);
  r.extend(std::span<const std::byte>(end.data(), 4));  // still "CDEF" in the storage
  REQUIRE(r.as_string_view() == "ABCDEF");
}

TEST_CASE("bytes_mut extend with a view of a frame split from its storage", "[bytes]") {
  bytes_mut m(8);
  m.extend("abcdefgh"sv);
  const bytes frame = m.split_to(3).freeze();
  m.extend(frame);  // shared storage: growth allocates and the frame keeps the old one
  REQUIRE(m.as_string_view() == "defghabc");
  m.extend(frame.as_span());
  REQUIRE(m.as_string_view() == "defghabcabc");
  REQUIRE(frame == "abc"sv);
}

TEST_CASE("try_into_mut: unique views become writable without a copy", "[bytes]") {
  bytes b = bytes::copy_from("hello"sv);
  const std::byte* where = b.data();
  bytes clone = b;
  REQUIRE(!b.try_into_mut().has_value());
  REQUIRE(b == "hello"sv);  // unchanged on failure
  clone.clear();
  std::optional<bytes_mut> m;
  REQUIRE(count_allocations([&] { m = b.try_into_mut(); }) == 0);
  REQUIRE(m.has_value());
  REQUIRE(b.empty());
  REQUIRE(m->data() == where);
  REQUIRE(m->capacity() == 5);
  m->extend("!"sv);
  REQUIRE(m->as_string_view() == "hello!");

  // A frozen frame at the front of a bigger buffer gets that buffer's room back.
  bytes_mut buf(100);
  buf.extend("frame"sv);
  bytes frame = std::move(buf).freeze();
  auto again = frame.try_into_mut();
  REQUIRE(again.has_value());
  REQUIRE(again->capacity() == 100);

  // A unique view past the front: its capacity runs from the view to the end of the storage.
  bytes_mut parts(100);
  parts.extend("headbody"sv);
  bytes body = std::move(parts).freeze();
  bytes head = body.split_to(4);
  head.clear();
  auto body_mut = body.try_into_mut();
  REQUIRE(body_mut.has_value());
  REQUIRE(body_mut->as_string_view() == "body");
  REQUIRE(body_mut->capacity() == 96);

  // An adopted string: writable, its own size and no more.
  bytes adopted(std::string(50, 's'));
  auto ms = adopted.try_into_mut();
  REQUIRE(ms.has_value());
  REQUIRE(ms->capacity() == 50);
  (*ms)[0] = std::byte{'S'};
  ms->extend("tail"sv);  // grows into a fresh shared buffer
  REQUIRE(ms->as_string_view() == "S" + std::string(49, 's') + "tail");
}

// Differential: random operation sequences against a std::string model ------------------------

TEST_CASE("random slice/split/advance/truncate/clone/freeze sequences match std::string",
          "[bytes]") {
  std::mt19937_64 rng(20261202);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % (n + 1)); };
  owner_counts counts;
  auto stats = measure_allocations([&] {
    for (int round = 0; round < 200; ++round) {
      std::vector<std::pair<bytes, std::string>> pool;
      const std::string seed = pattern_text(1 + pick(300));
      switch (round % 4) {
        case 0:
          pool.emplace_back(bytes::copy_from(seed), seed);
          break;
        case 1:
          pool.emplace_back(bytes(std::string(seed)), seed);
          break;
        case 2:
          pool.emplace_back(bytes::from_owner(as_span(seed), counting_owner(counts)), seed);
          break;
        default: {
          bytes_mut m;
          for (char c : seed) m.put_u8(static_cast<std::uint8_t>(c));
          pool.emplace_back(std::move(m).freeze(), seed);
        }
      }
      bytes_mut writer;
      std::string writer_model;
      for (int step = 0; step < 60; ++step) {
        auto& [b, s] = pool[rng() % pool.size()];
        const std::size_t a = pick(s.size() + 2);
        const std::size_t c = pick(s.size() + 2);
        switch (rng() % 11) {
          case 0:
            if (a <= c && c <= s.size()) {
              pool.emplace_back(b.slice(a, c), s.substr(a, c - a));
            } else {
              REQUIRE_THROWS_AS(b.slice(a, c), std::out_of_range);
            }
            break;
          case 1:
            if (a <= s.size()) {
              bytes front = b.split_to(a);
              std::string model_front = s.substr(0, a);
              s.erase(0, a);
              pool.emplace_back(std::move(front), std::move(model_front));
            } else {
              REQUIRE_THROWS_AS(b.split_to(a), std::out_of_range);
            }
            break;
          case 2:
            if (a <= s.size()) {
              bytes back = b.split_off(a);
              std::string model_back = s.substr(a);
              s.resize(a);
              pool.emplace_back(std::move(back), std::move(model_back));
            } else {
              REQUIRE_THROWS_AS(b.split_off(a), std::out_of_range);
            }
            break;
          case 3:
            if (a <= s.size()) {
              b.advance(a);
              s.erase(0, a);
            } else {
              REQUIRE_THROWS_AS(b.advance(a), std::out_of_range);
            }
            break;
          case 4:
            b.truncate(a);
            if (a < s.size()) s.resize(a);
            break;
          case 5: {
            std::pair<bytes, std::string> copy(b, s);
            pool.push_back(std::move(copy));
            break;
          }
          case 6:
            if (pool.size() > 1) {
              pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(rng() % pool.size()));
            }
            break;
          case 7: {
            bytes copy = b;
            REQUIRE(!b.try_into_mut().has_value());  // a clone is alive
            REQUIRE(!copy.try_into_mut().has_value());
            REQUIRE(b.as_string_view() == s);
            break;
          }
          case 8: {
            auto& [victim, model] = pool[rng() % pool.size()];
            if (auto m = victim.try_into_mut()) {
              REQUIRE(m->as_string_view() == model);
              m->extend("+"sv);
              model += "+";
              victim = std::move(*m).freeze();
            }
            break;
          }
          case 9:
            writer.extend(b.as_span());
            writer_model += s;
            if (writer.size() > a) {
              const std::size_t n = pick(writer.size());
              pool.emplace_back(writer.split_to(n).freeze(), writer_model.substr(0, n));
              writer_model.erase(0, n);
            }
            break;
          default:
            writer.reserve(a);
            REQUIRE(writer.capacity() - writer.size() >= a);
            break;
        }
        REQUIRE(writer.as_string_view() == writer_model);
        for (const auto& [view, model] : pool) REQUIRE(view.as_string_view() == model);
      }
    }
  });
  REQUIRE(stats.allocations == stats.deallocations);  // every control block freed
  REQUIRE(counts.live == 0);
  REQUIRE(counts.released == 50);  // one release per owner backing, never two
}

// bytes_chain ------------------------------------------------------------------------------------

TEST_CASE("bytes_chain holds header and body without allocating and advances across pieces",
          "[bytes]") {
  bytes header = "HTTP/1.1 200 OK\r\n\r\n"_bytes;
  bytes body = bytes::copy_from("<html></html>"sv);
  bytes_chain chain;
  REQUIRE(count_allocations([&] {
            chain = bytes_chain{header, body};
            chain.push_back(bytes());
          }) == 0);
  REQUIRE(chain.pieces().size() == 2);
  REQUIRE(chain.size() == header.size() + body.size());
  chain.advance(5);
  REQUIRE(chain.pieces()[0] == "1.1 200 OK\r\n\r\n"sv);
  chain.advance(14);
  REQUIRE(chain.pieces().size() == 1);
  REQUIRE(chain.pieces()[0] == "<html></html>"sv);
  REQUIRE(thrown_message([&] { chain.advance(14); }) == "bytes_chain::advance: 14 > size 13");
  REQUIRE(chain.concat().data() == body.data());  // a single piece is returned as is
  chain.push_back("!"_bytes);
  bytes joined;
  REQUIRE(count_allocations([&] { joined = chain.concat(); }) == 1);
  REQUIRE(joined == "<html></html>!"sv);
  chain.advance(chain.size());
  REQUIRE(chain.empty());
  REQUIRE(chain.pieces().empty());
  REQUIRE(chain.concat().empty());
}

TEST_CASE("bytes_chain reuses the slots of consumed pieces: four pending never allocate",
          "[bytes]") {
  const bytes a = bytes::copy_from("aaa"sv);
  const bytes b = "bb"_bytes;
  const bytes c = "c"_bytes;
  const bytes d = bytes::copy_from("dddd"sv);
  for (std::size_t consumed : {1u, 2u, 3u}) {
    bytes_chain chain{a, b, c, d};
    const std::string all = "aaabbcdddd";
    std::size_t skip = 0;
    for (std::size_t i = 0; i < consumed; ++i) skip += chain.pieces()[i].size();
    chain.advance(skip);
    std::string expected = all.substr(skip);
    for (std::size_t i = 0; i < consumed; ++i) {
      REQUIRE(count_allocations([&] { chain.push_back(a); }) == 0);  // four pending at most
      expected += "aaa";
    }
    REQUIRE(chain.pieces().size() == 4);
    REQUIRE(chain.size() == expected.size());
    REQUIRE(chain.concat() == std::string_view(expected));
    REQUIRE(count_allocations([&] { chain.push_back(b); }) == 1);  // the fifth pending piece
  }
  // A piece consumed in part keeps its slot.
  bytes_chain chain{a, b, c, d};
  chain.advance(4);  // "aaa" and one "b"
  REQUIRE(count_allocations([&] { chain.push_back(d); }) == 0);
  REQUIRE(chain.concat() == "bcdddddddd"sv);
}

TEST_CASE("bytes_chain used as a queue that never drains stays bounded", "[bytes]") {
  const bytes piece = "0123456789"_bytes;
  for (std::size_t pending : {1u, 2u, 3u, 5u, 13u}) {
    bytes_chain queue;
    for (std::size_t i = 0; i < pending; ++i) queue.push_back(piece);
    // One message queued per write; the writes end inside pieces as well as on their edges,
    // and every three of them send three messages.
    auto send_and_queue = [&](int rounds) {
      for (int i = 0; i < rounds; ++i) {
        queue.push_back(piece);
        queue.advance(i % 3 == 0 ? 10 : (i % 3 == 1 ? 7 : 13));
      }
    };
    const std::size_t warm_up = count_allocations([&] { send_and_queue(30); });
    // At most pending + 2 pieces are pending at once (a partly sent one, the rest, the new
    // one): four slots hold them while pending <= 2.
    if (pending <= 2) REQUIRE(warm_up == 0);
    REQUIRE(count_allocations([&] { send_and_queue(30000); }) == 0);
    REQUIRE(queue.size() == pending * 10);
    std::string rest;
    std::string expected;
    for (const bytes& p : queue.pieces()) rest.append(p.as_string_view());
    for (std::size_t i = 0; i < pending; ++i) expected.append(piece.as_string_view());
    REQUIRE(rest == expected);
  }
}

TEST_CASE("bytes_chain random push_back and advance match a std::string", "[bytes]") {
  std::mt19937 rng(46);
  const std::string text = pattern_text(64);
  for (int round = 0; round < 200; ++round) {
    bytes_chain chain;
    std::string reference;
    reference.reserve(200 * 64);
    std::size_t most_pending = 0;
    bool sizes_match = true;
    const std::size_t allocations = count_allocations([&] {
      for (int op = 0; op < 200; ++op) {
        if (rng() % 2 == 0) {
          const std::size_t begin = rng() % 64;
          const std::size_t end = begin + rng() % (64 - begin + 1);
          chain.push_back(bytes::from_static(std::string_view(text).substr(begin, end - begin)));
          reference.append(text, begin, end - begin);
        } else {
          const std::size_t n = reference.empty() ? 0 : rng() % (reference.size() + 1);
          chain.advance(n);
          reference.erase(0, n);
        }
        if (chain.pieces().size() > most_pending) most_pending = chain.pieces().size();
        sizes_match = sizes_match && chain.size() == reference.size();
      }
    });
    REQUIRE(sizes_match);
    std::string joined;
    for (const bytes& p : chain.pieces()) joined.append(p.as_string_view());
    REQUIRE(joined == reference);
    // Each growth doubles the slots, which stay under four times the most ever pending.
    std::size_t bound = 0;
    for (std::size_t slots = 4; slots < 4 * most_pending; slots *= 2) ++bound;
    REQUIRE(allocations <= bound);
  }
}

TEST_CASE("bytes_chain concat returns a single pending piece as is and allocates nothing",
          "[bytes]") {
  const bytes a = bytes::copy_from("aaa"sv);
  const bytes b = bytes::copy_from("bbbb"sv);
  struct chain_case {
    std::size_t advance;
    std::string_view rest;
  };
  for (const chain_case& k : {chain_case{3, "bbbb"}, chain_case{4, "bbb"}, chain_case{6, "b"}}) {
    bytes_chain chain{a, b};
    chain.advance(k.advance);
    bytes joined;
    REQUIRE(count_allocations([&] { joined = chain.concat(); }) == 0);
    REQUIRE(joined == k.rest);
    REQUIRE(joined.data() == chain.pieces()[0].data());
  }
  bytes_chain one{a};
  one.advance(1);
  bytes joined;
  REQUIRE(count_allocations([&] { joined = one.concat(); }) == 0);
  REQUIRE(joined == "aa"sv);
  bytes_chain many{a, b, a, b, a, b};
  many.advance(18);  // five pieces consumed, part of the sixth
  REQUIRE(count_allocations([&] { joined = many.concat(); }) == 0);
  REQUIRE(joined == "bbb"sv);
}

// Files and sockets ------------------------------------------------------------------------------

TEST_CASE("map_file maps the file and slices keep the mapping alive", "[bytes]") {
  temp_dir dir;
  const std::string content = pattern_text(10000);
  const auto path = dir.write("page.html", content);
  bytes tail;
  {
    bytes whole = frugal::map_file(path);
    REQUIRE(whole == content);
    REQUIRE(!whole.is_unique());
    tail = whole.slice(9000, 10000);
  }
  std::filesystem::remove(path);  // the mapping outlives the name
  REQUIRE(tail.as_string_view() == std::string_view(content).substr(9000));
  tail.clear();

  const auto empty = dir.write("empty", "");
  bool was_empty = false;
  REQUIRE(count_allocations([&] { was_empty = frugal::map_file(empty).empty(); }) == 0);
  REQUIRE(was_empty);
}

TEST_CASE("map_file errors name the path and errno", "[bytes]") {
  temp_dir dir;
  const auto missing = dir.path / "missing.txt";
  try {
    (void)frugal::map_file(missing);
    FAIL("no throw");
  } catch (const std::system_error& e) {
    REQUIRE(e.code() == std::errc::no_such_file_or_directory);
    REQUIRE(std::string(e.what()).find("map_file: open '" + missing.string() + "'") == 0);
  }
  try {
    (void)frugal::map_file(dir.path);
    FAIL("no throw");
  } catch (const std::system_error& e) {
    REQUIRE(e.code() == std::errc::invalid_argument);
    REQUIRE(std::string(e.what()).find("not a regular file") != std::string::npos);
  }
  // A regular file whose size reads 0 but which holds bytes: not taken for an empty file.
  try {
    (void)frugal::map_file("/proc/self/status");
    FAIL("no throw");
  } catch (const std::system_error& e) {
    REQUIRE(e.code() == std::errc::invalid_argument);
    REQUIRE(std::string(e.what()).find(
                "map_file: a file whose size is unknown: '/proc/self/status'") == 0);
  }
  frugal::file_chunks status("/proc/self/status", 4096);
  const auto first = status.next();
  REQUIRE(first.has_value());
  REQUIRE(first->as_string_view().find("Name:") == 0);
}

TEST_CASE("file_chunks streams a file through one recycled buffer", "[bytes]") {
  temp_dir dir;
  const std::string content = pattern_text(10 * 4096 + 123);
  const auto path = dir.write("big.log", content);
  std::string seen;
  seen.reserve(content.size());
  std::vector<std::size_t> sizes;
  sizes.reserve(16);
  frugal::file_chunks file(path, 4096);
  // One allocation for the whole file: the buffer, reused for every chunk.
  REQUIRE(count_allocations([&] {
            for (const bytes& chunk : file) {
              sizes.push_back(chunk.size());
              seen.append(chunk.as_string_view());
            }
          }) == 1);
  REQUIRE(seen == content);
  REQUIRE(sizes == std::vector<std::size_t>{4096, 4096, 4096, 4096, 4096, 4096, 4096, 4096, 4096,
                                            4096, 123});

  // Chunks kept alive: each next one needs a fresh buffer; all stay valid.
  frugal::file_chunks again(path, 4096);
  std::vector<bytes> kept;
  while (auto chunk = again.next()) kept.push_back(std::move(*chunk));
  REQUIRE(kept.size() == 11);
  std::string joined;
  for (const bytes& k : kept) joined.append(k.as_string_view());
  REQUIRE(joined == content);
  REQUIRE(!again.next().has_value());
}

TEST_CASE("file_chunks: the recycled buffer allocates once for the whole file", "[bytes]") {
  temp_dir dir;
  const auto path = dir.write("f", pattern_text(64 * 1024));
  frugal::file_chunks file(path, 1024);
  std::size_t total = 0;
  auto first = file.next();
  REQUIRE(first.has_value());
  total += first->size();
  first.reset();
  REQUIRE(count_allocations([&] {
            while (auto chunk = file.next()) total += chunk->size();
          }) == 0);
  REQUIRE(total == 64 * 1024);
}

TEST_CASE("file_chunks: chunks smaller than the smallest buffer are still chunk-sized", "[bytes]") {
  temp_dir dir;
  const auto path = dir.write("small", "0123456789abcdefghijklmnopqrstuvwxyz");
  std::vector<std::string> chunks;
  for (const bytes& chunk : frugal::file_chunks(path, 10)) chunks.push_back(chunk.to_string());
  REQUIRE(chunks == std::vector<std::string>{"0123456789", "abcdefghij", "klmnopqrst", "uvwxyz"});
}

TEST_CASE("file_chunks bad input", "[bytes]") {
  temp_dir dir;
  REQUIRE(thrown_message([&] { frugal::file_chunks f(dir.path / "x", 0); }) ==
          "file_chunks: chunk_size is 0");
  try {
    frugal::file_chunks f(dir.path / "nope", 10);
    FAIL("no throw");
  } catch (const std::system_error& e) {
    REQUIRE(e.code() == std::errc::no_such_file_or_directory);
    REQUIRE(std::string(e.what()).find("file_chunks: open '") == 0);
  }
  frugal::file_chunks d(dir.path, 10);  // a directory opens, and reading it fails
  REQUIRE_THROWS_AS(d.next(), std::system_error);
  const auto empty = dir.write("empty", "");
  frugal::file_chunks e(empty, 10);
  REQUIRE(e.begin() == e.end());
}

TEST_CASE("file_chunks keeps a short path without allocating", "[bytes]") {
  // "/dev/null" has several components: a std::filesystem::path copy would allocate them.
  const std::filesystem::path short_path("/dev/null");
  REQUIRE(short_path.native().size() <= std::string().capacity());
  REQUIRE(count_allocations([&] { frugal::file_chunks f(short_path, 10); }) == 0);
  frugal::file_chunks null_file(short_path, 10);
  REQUIRE(!null_file.next().has_value());

  // A path longer than the string's short buffer: one allocation, for its text.
  temp_dir dir;
  const auto long_path = dir.write("a-file-name-longer-than-a-short-string", "0123456789abc");
  REQUIRE(long_path.native().size() > std::string().capacity());
  REQUIRE(count_allocations([&] { frugal::file_chunks f(long_path, 10); }) == 1);
  std::string seen;
  for (const bytes& chunk : frugal::file_chunks(long_path, 10)) seen += chunk.to_string();
  REQUIRE(seen == "0123456789abc");

  // The kept text names the path in read errors.
  frugal::file_chunks d(dir.path, 10);
  const std::string message = thrown_message([&] { (void)d.next(); });
  REQUIRE(message.starts_with("file_chunks: read '" + dir.path.string() + "': "));
}

TEST_CASE("read_from reads into spare capacity and gives an empty optional when it would block",
          "[bytes]") {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
  bytes_mut buf;
  REQUIRE(!frugal::read_from(p[0], buf).has_value());
  REQUIRE(::write(p[1], "hello", 5) == 5);
  auto n = frugal::read_from(p[0], buf, 16);
  REQUIRE(n == 5u);
  REQUIRE(buf.as_string_view() == "hello");
  REQUIRE(buf.capacity() >= 16);
  ::close(p[1]);
  REQUIRE(frugal::read_from(p[0], buf) == 0u);
  ::close(p[0]);
  try {
    (void)frugal::read_from(p[0], buf);
    FAIL("no throw");
  } catch (const std::system_error& e) {
    REQUIRE(e.code() == std::errc::bad_file_descriptor);
    REQUIRE(std::string(e.what()).find("read_from: read on descriptor " + std::to_string(p[0])) ==
            0);
  }
  REQUIRE(buf.as_string_view() == "hello");
}

TEST_CASE("send_all writes a chain with writev semantics, past IOV_MAX pieces", "[bytes]") {
  socket_pair sp;
  bytes_chain chain;
  std::string want;
  for (int i = 0; i < 3000; ++i) {  // more pieces than IOV_MAX (1024)
    const std::string piece = std::to_string(i) + ",";
    want += piece;
    chain.push_back(bytes::copy_from(piece));
  }
  std::string got;
  std::thread reader([&] { got = read_all(sp.fd[1]); });
  const std::size_t total = want.size();
  REQUIRE(frugal::send_all(sp.fd[0], chain) == total);
  REQUIRE(chain.empty());
  sp.close_end(0);
  reader.join();
  REQUIRE(got == want);
}

TEST_CASE("send_all loops over partial writes to a small socket buffer", "[bytes]") {
  socket_pair sp;
  int small = 4096;
  REQUIRE(::setsockopt(sp.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  const std::string big = pattern_text(1 << 20);
  bytes header = "HEADER\r\n"_bytes;
  bytes body = bytes::copy_from(big);
  bytes_chain chain{header, body};
  std::string got;
  std::thread reader([&] { got = read_all(sp.fd[1]); });
  std::size_t sent = 0;
  REQUIRE(count_allocations([&] { sent = frugal::send_all(sp.fd[0], chain); }) == 0);
  REQUIRE(sent == big.size() + 8);
  sp.close_end(0);
  reader.join();
  REQUIRE(got == "HEADER\r\n" + big);
}

TEST_CASE("send_all to a closed peer throws EPIPE, never SIGPIPE", "[bytes]") {
  struct sigaction old {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, &old);
  {
    socket_pair sp;
    sp.close_end(1);
    try {
      frugal::send_all(sp.fd[0], "data"_bytes);
      FAIL("no throw");
    } catch (const std::system_error& e) {
      REQUIRE((e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset));
      REQUIRE(std::string(e.what()).find("send_all: sendmsg on descriptor") == 0);
    }
  }
  {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    ::close(p[0]);
    try {
      frugal::send_all(p[1], "data"_bytes);  // a pipe: writev, with SIGPIPE blocked
      FAIL("no throw");
    } catch (const std::system_error& e) {
      REQUIRE(e.code() == std::errc::broken_pipe);
      REQUIRE(std::string(e.what()).find("send_all: writev on descriptor") == 0);
    }
    ::close(p[1]);
  }
  {
    temp_dir dir;
    const auto path = dir.write("f", pattern_text(100000));
    socket_pair sp;
    sp.close_end(1);
    REQUIRE_THROWS_AS(frugal::send_file(sp.fd[0], path), std::system_error);
  }
  ::sigaction(SIGPIPE, &old, nullptr);
}

TEST_CASE("send_all writes to pipes and files through writev", "[bytes]") {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  bytes_chain chain{"abc"_bytes, bytes::copy_from("def"sv)};
  REQUIRE(frugal::send_all(p[1], chain) == 6);
  ::close(p[1]);
  REQUIRE(read_all(p[0]) == "abcdef");
  ::close(p[0]);
}

TEST_CASE("send_file sends a whole file, or a range of it, with sendfile", "[bytes]") {
  temp_dir dir;
  const std::string content = pattern_text(300000);
  const auto path = dir.write("video.bin", content);
  {
    socket_pair sp;
    std::string got;
    std::thread reader([&] { got = read_all(sp.fd[1]); });
    REQUIRE(frugal::send_file(sp.fd[0], path) == content.size());
    sp.close_end(0);
    reader.join();
    REQUIRE(got == content);
  }
  {
    socket_pair sp;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::string got;
    std::thread reader([&] { got = read_all(sp.fd[1]); });
    REQUIRE(frugal::send_file(sp.fd[0], fd, 1000, 5000) == 5000);
    REQUIRE(frugal::send_file(sp.fd[0], fd, content.size() - 10, 100) == 10);  // stops at EOF
    sp.close_end(0);
    reader.join();
    ::close(fd);
    REQUIRE(got == content.substr(1000, 5000) + content.substr(content.size() - 10));
  }
  REQUIRE_THROWS_AS(frugal::send_file(-1, path), std::system_error);
  try {
    frugal::send_file(1, dir.path / "gone");
    FAIL("no throw");
  } catch (const std::system_error& e) {
    REQUIRE(std::string(e.what()).find("send_file: open '") == 0);
  }
}

// Threads ----------------------------------------------------------------------------------------

TEST_CASE("clones and drops of one buffer across threads", "[bytes][concurrent]") {
  owner_counts counts;
  const std::string data = pattern_text(4096);
  bytes shared = bytes::from_owner(as_span(data), counting_owner(counts));
  bytes heap = bytes::copy_from(data);
  std::vector<std::thread> threads;
  std::atomic<std::size_t> checksum{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::size_t sum = 0;
      for (int i = 0; i < 5000; ++i) {
        bytes a = shared;
        bytes b = heap.slice(static_cast<std::size_t>(t), 100);
        bytes c = b;
        sum += std::to_integer<std::size_t>(a[static_cast<std::size_t>(i % 4096)]) +
               std::to_integer<std::size_t>(c[0]);
      }
      checksum += sum;
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(checksum.load() > 0);
  REQUIRE(!heap.slice(0, 1).is_unique());
  REQUIRE(heap.is_unique());
  shared.clear();
  REQUIRE(counts.released == 1);
  REQUIRE(counts.live == 0);
}

TEST_CASE("frames dropped on other threads let the parser reuse its buffer",
          "[bytes][concurrent]") {
  bytes_mut buf(4096);
  const std::byte* const base = buf.data();
  std::atomic<int> empty_frames{0};
  for (int round = 0; round < 50; ++round) {
    std::vector<bytes> frames;
    for (int i = 0; i < 8; ++i) {
      buf.extend(std::string(100, static_cast<char>('a' + i)));
      frames.push_back(buf.split_to(100).freeze());
    }
    std::vector<std::thread> workers;
    for (auto& f : frames) {
      workers.emplace_back([&empty_frames, frame = std::move(f)]() mutable {
        std::size_t sum = 0;
        for (std::byte x : frame) sum += std::to_integer<std::size_t>(x);
        if (sum == 0) ++empty_frames;
        frame.clear();  // the last reference may drop here
      });
    }
    for (auto& w : workers) w.join();
    buf.reserve(4096);  // unique again: the same allocation, written by this thread
    REQUIRE(buf.data() == base);
  }
  REQUIRE(empty_frames.load() == 0);
}

TEST_CASE("send_all and read_from between two threads over a socket", "[bytes][concurrent]") {
  socket_pair sp;
  std::string want;
  for (int i = 0; i < 2000; ++i) want += "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
  std::thread writer([&] {
    bytes all = bytes::copy_from(want);
    while (!all.empty())
      frugal::send_all(sp.fd[0], all.split_to(std::min<std::size_t>(777, all.size())));
    sp.close_end(0);
  });
  bytes_mut buf;
  std::vector<bytes> frames;
  for (;;) {
    auto n = frugal::read_from(sp.fd[1], buf, 4096);
    REQUIRE(n.has_value());
    if (*n == 0) break;
    for (;;) {
      const auto end = buf.as_string_view().find("\r\n\r\n");
      if (end == std::string_view::npos) break;
      frames.push_back(buf.split_to(end + 4).freeze());
    }
  }
  writer.join();
  REQUIRE(frames.size() == 2000);
  REQUIRE(frames[1234] == "GET /1234 HTTP/1.1\r\n\r\n"sv);
}

TEST_CASE("a moved-from bytes_chain is empty and reusable, partly sent or not", "[bytes]") {
  using frugal::bytes;
  for (const bool sent : {false, true}) {
    frugal::bytes_chain a{bytes::from_static(std::string_view("ab")),
                          bytes::from_static(std::string_view("cde"))};
    if (sent) a.advance(3);  // past the first piece
    frugal::bytes_chain b(std::move(a));
    CHECK(std::string(b.concat().as_string_view()) == (sent ? "de" : "abcde"));
    CHECK(a.size() == 0);  // NOLINT(bugprone-use-after-move): documented state
    CHECK(a.empty());
    CHECK(a.pieces().empty());
    CHECK(a.concat().empty());
    a.push_back(bytes::from_static(std::string_view("xyz")));
    CHECK(a.size() == 3);
    CHECK(a.pieces().size() == 1);
    frugal::bytes_chain c;
    c = std::move(a);
    CHECK(a.empty());
    CHECK(a.pieces().empty());
    CHECK(std::string(c.concat().as_string_view()) == "xyz");
  }
}

TEST_CASE("a copy of a partly sent bytes_chain holds the rest, without copying bytes",
          "[bytes]") {
  using frugal::bytes;
  const bytes one = bytes::copy_from(std::string_view("hello "));
  frugal::bytes_chain a{one, bytes::from_static(std::string_view("world"))};
  a.advance(2);
  frugal::bytes_chain b(a);
  CHECK(b.size() == a.size());
  CHECK(b.pieces().size() == 2);
  CHECK(std::string(b.concat().as_string_view()) == "llo world");
  CHECK(b.pieces()[0].data() == one.data() + 2);  // a view, not a copy
  frugal::bytes_chain c;
  CHECK(frugal::testing::count_allocations([&] { c = b; }) == 0);  // four pieces fit inline
  CHECK(std::string(c.concat().as_string_view()) == "llo world");
}

TEST_CASE("copy_from and extend take bytes as they are", "[bytes]") {
  using frugal::bytes;
  const bytes big = bytes::copy_from(std::string_view("header|payload"));
  const bytes frame = big.slice(7, 14);
  const bytes kept = bytes::copy_from(frame);
  CHECK(kept.as_string_view() == "payload");
  CHECK(kept.data() != frame.data());
  frugal::bytes_mut m;
  m.extend(frame);
  m.extend(frame);
  CHECK(m.as_string_view() == "payloadpayload");
  const frugal::bytes_mut& view = m;
  CHECK(view[0] == std::byte{'p'});
  CHECK(view[view.size() - 1] == std::byte{'d'});
}

TEST_CASE("map_file refuses a FIFO and a socket as not regular files, without blocking",
          "[bytes]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("frugal_bytes_fifo_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto errno_of = [](const std::filesystem::path& p) {
    try {
      (void)frugal::map_file(p);
    } catch (const std::system_error& e) {
      return e.code().value();
    }
    return 0;
  };
  CHECK(errno_of(fifo) == EINVAL);  // no writer: a blocking open would wait for ever
  const auto sock_path = dir / "sock";
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  CHECK(errno_of(sock_path) == EINVAL);
  CHECK(errno_of(dir) == EINVAL);
  ::close(s);
  std::filesystem::remove_all(dir);
}
