// A server reads pipelined HTTP/1.1 requests from a socket into one buffer and hands each
// complete request on as a frugal::bytes frame: no copy per frame, no allocation per frame,
// and the buffer is reused once the handled frames are dropped.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/bytes.hpp>
#include <frugal/bytes_io.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace frugal::literals;

namespace {

// The request line of a frame ("GET /cart HTTP/1.1"), as a view that shares the frame.
frugal::bytes request_line(const frugal::bytes& frame) {
  const std::string_view text = frame;
  return frame.slice_ref(text.substr(0, text.find("\r\n")));
}

}  // namespace

int main() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 1;

  // The client pipelines five requests and sends them in pieces that cut requests in half.
  std::thread client([fd = fds[0]] {
    std::string all;
    for (const char* path : {"/", "/cart", "/items/42", "/items/43", "/checkout"}) {
      all += std::string("GET ") + path + " HTTP/1.1\r\nHost: shop.example\r\n\r\n";
    }
    frugal::bytes wire = frugal::bytes::copy_from(all);
    while (!wire.empty()) {
      frugal::send_all(fd, wire.split_to(wire.size() < 37 ? wire.size() : 37));
      std::this_thread::yield();
    }
    ::shutdown(fd, SHUT_WR);
  });

  frugal::bytes_mut buffer(4096);
  std::vector<frugal::bytes> frames;
  frames.reserve(16);
  std::size_t split_allocations = 0;
  for (;;) {
    const auto n = frugal::read_from(fds[1], buffer, 1024);
    if (!n || *n == 0) break;
    // Every complete request leaves the buffer as a frame; a partial one waits for more.
    split_allocations += frugal::testing::count_allocations([&] {
      for (auto end = buffer.as_string_view().find("\r\n\r\n"); end != std::string_view::npos;
           end = buffer.as_string_view().find("\r\n\r\n")) {
        frames.push_back(buffer.split_to(end + 4).freeze());
      }
    });
  }
  client.join();

  std::printf("%zu requests, %zu allocations to split them\n", frames.size(), split_allocations);
  for (const frugal::bytes& frame : frames) {
    const frugal::bytes line = request_line(frame);
    std::printf("  %-26.*s %zu bytes, shares the read buffer: %s\n", static_cast<int>(line.size()),
                reinterpret_cast<const char*>(line.data()), frame.size(),
                frame.is_unique() ? "no" : "yes");
  }

  // The response: a static status line and a body, written with one sendmsg, no concatenation.
  frugal::bytes_chain response{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"_bytes,
                               frugal::bytes::copy_from("ok")};
  const std::size_t size = response.size();
  const std::size_t pieces = response.pieces().size();
  const std::size_t written = frugal::send_all(fds[1], response);
  std::printf("response of %zu bytes in %zu pieces: %zu bytes written\n", size, pieces, written);

  // Once the handled frames are dropped, the next read reuses the whole buffer.
  const std::byte* before = buffer.data();
  frames.clear();
  const auto reuse = frugal::testing::count_allocations([&] { buffer.reserve(4000); });
  std::printf(
      "after the frames are dropped: %zu allocations to make room, buffer moved back %td bytes\n",
      reuse, before - buffer.data());
  ::close(fds[0]);
  ::close(fds[1]);
}
