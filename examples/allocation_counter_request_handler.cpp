// A service's test that its request handler does not allocate on the hot path, and that the
// slow path allocates exactly what it should. Users copy this into their own test programs.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER  // in exactly one translation unit
#include <frugal/testing/allocation_counter.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>

namespace {

// Answers a status request. Known paths use static strings; others build an error message.
std::string_view route(std::string_view path, std::string& scratch) {
  static constexpr std::array<std::string_view, 3> known = {"/health", "/ready", "/version"};
  for (std::string_view k : known) {
    if (path == k) return k;
  }
  scratch = "unknown path: ";
  scratch += path;
  return scratch;
}

}  // namespace

int main() {
  using frugal::testing::measure_allocations;
  std::string scratch;
  std::string_view answer;

  auto hot = measure_allocations([&] { answer = route("/health", scratch); });
  std::printf("hot path   %-32s allocations=%zu bytes=%zu\n", std::string(answer).c_str(),
              hot.allocations, hot.bytes);

  auto cold =
      measure_allocations([&] { answer = route("/a/very/long/path/that/is/not/routed", scratch); });
  std::printf("cold path  %-32.32s allocations=%zu\n", std::string(answer).c_str(),
              cold.allocations);

  return hot.allocations == 0 ? 0 : 1;
}
