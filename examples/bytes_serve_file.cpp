// A server sends a file to a client three ways: streamed in chunks read into one recycled
// buffer, handed to the kernel with sendfile, and memory-mapped and sent as bytes.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/bytes.hpp>
#include <frugal/bytes_io.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

// Reads everything the server sends and returns its size and a checksum.
std::pair<std::size_t, std::uint32_t> drain(int fd) {
  std::size_t total = 0;
  std::uint32_t sum = 0;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n; ++i) sum = sum * 31 + static_cast<unsigned char>(buf[i]);
    total += static_cast<std::size_t>(n);
  }
  return {total, sum};
}

template <class Serve>
void serve_one(const char* how, Serve serve) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::exit(1);
  std::pair<std::size_t, std::uint32_t> got;
  std::thread client([&] { got = drain(fds[1]); });
  const std::string note = serve(fds[0]);
  ::close(fds[0]);
  client.join();
  ::close(fds[1]);
  std::printf("%-12s client got %zu bytes, checksum %08x; %s\n", how, got.first,
              static_cast<unsigned>(got.second), note.c_str());
}

}  // namespace

int main() {
  char dir_template[] = "/tmp/frugal-serve-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return 1;
  const std::filesystem::path dir = dir_template;
  const auto path = dir / "report.csv";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 20000; ++i) out << "row," << i << ',' << i * 37 % 1000 << '\n';
  }

  serve_one("file_chunks", [&](int socket) {
    std::size_t chunks = 0;
    frugal::file_chunks file(path, 64 * 1024);
    const auto allocations = frugal::testing::count_allocations([&] {
      for (const frugal::bytes& chunk : file) {
        frugal::send_all(socket, chunk);
        ++chunks;
      }
    });
    return std::to_string(chunks) + " chunks through " + std::to_string(allocations) + " buffer";
  });

  serve_one("send_file", [&](int socket) {
    const std::size_t sent = frugal::send_file(socket, path);
    return std::to_string(sent) + " bytes copied by the kernel";
  });

  serve_one("map_file", [&](int socket) {
    const frugal::bytes whole = frugal::map_file(path);
    // Header and body in one writev; the body is the mapping itself.
    frugal::bytes_chain reply{whole.slice(0, 4), whole.slice(4, whole.size())};
    const std::string note =
        "mapped, sent as " + std::to_string(reply.pieces().size()) + " pieces without a copy";
    frugal::send_all(socket, reply);
    return note;
  });

  std::filesystem::remove_all(dir);
}
