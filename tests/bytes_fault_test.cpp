// bytes under allocation failure: a bytes_chain whose push_back cannot grow is left as it was,
// and one that reuses the slots of consumed pieces needs no memory. And under read failure:
// file_chunks keeps what it read before a failing read(2).
// Its own operator new (tests/failing_new.hpp) and read(2), so its own main.
#define CATCH_CONFIG_MAIN
#include <frugal/bytes.hpp>
#include <frugal/bytes_io.hpp>

#include <catch2/catch.hpp>

#include "failing_new.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/syscall.h>
#include <unistd.h>

namespace {
// Scripted results for this program's read(2): while `read_script` has entries, each call
// takes the next: n >= 0 reads at most n bytes, -1 fails with EIO. Then reads are real.
std::vector<long> read_script;
std::size_t read_step = 0;
}  // namespace

extern "C" ssize_t read(int fd, void* buf, std::size_t count) {
  if (read_step < read_script.size()) {
    const long step = read_script[read_step++];
    if (step < 0) {
      errno = EIO;
      return -1;
    }
    if (static_cast<std::size_t>(step) < count) count = static_cast<std::size_t>(step);
  }
  return static_cast<ssize_t>(::syscall(SYS_read, fd, buf, count));
}

namespace {
// Pushes "efgh" onto `chain` with allocation number `k` (0: the next) failing; returns
// whether the push threw std::bad_alloc.
bool push_failing_at(frugal::bytes_chain& chain, long k) {
  bool threw = false;
  countdown = k;
  try {
    chain.push_back(frugal::bytes::from_static(std::string_view("efgh")));
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  countdown = -1;
  return threw;
}
}  // namespace

TEST_CASE("a bytes_chain push_back that fails leaves the chain as it was", "[bytes]") {
  using frugal::bytes;
  for (long k = 0; k < 4; ++k) {
    frugal::bytes_chain chain;
    for (int i = 0; i < 4; ++i) chain.push_back(bytes::from_static(std::string_view("abcd")));
    chain.advance(2);  // partly sent
    REQUIRE(chain.size() == 14);
    // The growth past four pieces is the allocation that fails (k = 0).
    const bool threw = push_failing_at(chain, k);
    std::size_t in_pieces = 0;
    for (const bytes& p : chain.pieces()) in_pieces += p.size();
    CHECK(in_pieces == chain.size());
    CHECK(chain.size() == (threw ? 14u : 18u));
    CHECK(std::string(chain.concat().as_string_view()) ==
          (threw ? "cdabcdabcdabcd" : "cdabcdabcdabcdefgh"));
    chain.advance(chain.size());  // every byte, as a sender would
    CHECK(chain.empty());
    CHECK(chain.pieces().empty());
    if (!threw) break;
  }
}

TEST_CASE("a bytes_chain push_back into the slots of consumed pieces needs no memory", "[bytes]") {
  using frugal::bytes;
  const bytes piece = bytes::from_static(std::string_view("abcd"));
  // {pieces held, pieces consumed}: four inline slots with one to three consumed; eight heap
  // slots with at least as many consumed as pending.
  const std::size_t cases[][2] = {{4, 1}, {4, 2}, {4, 3}, {8, 4}, {8, 6}};
  for (const auto& c : cases) {
    frugal::bytes_chain chain;
    for (std::size_t i = 0; i < c[0]; ++i) chain.push_back(piece);
    chain.advance(4 * c[1] + 1);  // and a part of the next piece
    std::string expected(chain.concat().as_string_view());
    CHECK(!push_failing_at(chain, 0));
    expected += "efgh";
    CHECK(chain.size() == expected.size());
    CHECK(chain.pieces().size() == c[0] - c[1] + 1);
    CHECK(std::string(chain.concat().as_string_view()) == expected);
  }
}

TEST_CASE("a bytes_chain push_back that must grow past consumed slots and fails is undone",
          "[bytes]") {
  using frugal::bytes;
  const bytes piece = bytes::from_static(std::string_view("abcd"));
  frugal::bytes_chain chain;
  for (int i = 0; i < 8; ++i) chain.push_back(piece);
  chain.advance(4 * 3 + 2);  // three consumed, five pending: the slots double
  const std::string before(chain.concat().as_string_view());
  CHECK(push_failing_at(chain, 0));
  CHECK(chain.size() == before.size());
  CHECK(chain.pieces().size() == 5);
  CHECK(std::string(chain.concat().as_string_view()) == before);
  chain.push_back(bytes::from_static(std::string_view("efgh")));
  CHECK(std::string(chain.concat().as_string_view()) == before + "efgh");
}

TEST_CASE("file_chunks: bytes read before a read error begin the next chunk", "[bytes]") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("frugal_bytes_fault_" + std::to_string(::getpid()) + ".txt");
  std::string content;
  for (int i = 0; i < 100; ++i) content += static_cast<char>('a' + i % 26);
  std::ofstream(path, std::ios::binary) << content;
  frugal::file_chunks file(path, 64);
  std::vector<std::string> chunks;
  // First chunk: a short read of 10 bytes, then a failing read.
  read_script = {10, -1};
  read_step = 0;
  bool threw = false;
  try {
    (void)file.next();
  } catch (const std::system_error& e) {
    threw = true;
    CHECK(e.code().value() == EIO);
  }
  read_script.clear();
  CHECK(threw);
  while (auto chunk = file.next()) chunks.emplace_back(chunk->as_string_view());
  std::filesystem::remove(path);
  // The 10 bytes already read are not lost, and no chunk is longer than 64 bytes.
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0].size() == 64);
  CHECK(chunks[1].size() == 36);
  CHECK(chunks[0] + chunks[1] == content);
}
