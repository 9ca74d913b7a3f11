// Splits request paths into at most 8 segments without touching the heap: a router's matcher
// needs the segments for one request only, and a path with more of them is refused, not grown.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/static_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <cstdio>
#include <string_view>

namespace {

using segments = frugal::static_vector<std::string_view, 8>;

// Returns false when the path has more than 8 segments; `out` then holds the first 8.
bool split_path(std::string_view path, segments& out) {
  out.clear();
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t end = path.find('/');
    if (out.try_push_back(path.substr(0, end)) == nullptr) return false;  // full: refuse
    path.remove_prefix(end == std::string_view::npos ? path.size() : end);
  }
  return true;
}

}  // namespace

int main() {
  std::printf("sizeof(segments) = %zu bytes: 8 views and a 1-byte size\n", sizeof(segments));
  const std::string_view paths[] = {
      "/users/42/orders",
      "/static//css/site.css",
      "/a/b/c/d/e/f/g/h/i",
  };
  for (std::string_view path : paths) {
    segments parts;
    bool ok = false;
    const auto allocations =
        frugal::testing::count_allocations([&] { ok = split_path(path, parts); });
    std::printf("%-22.*s %s %zu segments:", static_cast<int>(path.size()), path.data(),
                ok ? "ok     " : "refused", parts.size());
    for (std::string_view part : parts)
      std::printf(" [%.*s]", static_cast<int>(part.size()), part.data());
    std::printf(", heap allocations: %zu\n", allocations);
  }
}
