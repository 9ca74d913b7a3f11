// Paging through search results and parsing a request line, without copying either.
//
// A handler gets the full, sorted result list once and serves it page by page: each page is
// a view into the list. The request line and its query string are cut into views of the
// original text. Nothing here allocates.
#include <frugal/slice.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct result {
  int id;
  std::string_view title;
};

void print_page(std::span<const result> page, std::size_t number) {
  std::printf("page %zu:", number);
  for (const result& r : page)
    std::printf(" #%d %.*s;", r.id, static_cast<int>(r.title.size()), r.title.data());
  std::printf("\n");
}

}  // namespace

int main() {
  const std::vector<result> results = {
      {101, "intro"}, {102, "setup"}, {103, "usage"}, {104, "errors"},
      {105, "faq"},   {106, "api"},   {107, "news"},
  };

  // Pages of 3: the last one is short. chunks() is random access, so page 2 is O(1).
  const auto pages = frugal::chunks(results, 3);
  std::printf("%zu results, %zu pages\n", results.size(), pages.size());
  for (std::size_t i = 0; i < pages.size(); ++i) print_page(pages[i], i + 1);

  // "Top 10" when there are fewer than 10: first_n clamps instead of reading past the end.
  std::printf("top 10 has %zu results\n", frugal::first_n(results, 10).size());

  // A bad page number is an empty optional, not undefined behaviour.
  const auto page9 = frugal::subslice(results, 8 * 3, 9 * 3);
  std::printf("page 9 exists: %s\n", page9 ? "yes" : "no");

  // Parsing "GET /search?q=frugal&page=2 HTTP/1.1" into views of the line.
  const std::string line = "  GET /search?q=frugal&page=2 HTTP/1.1\r\n";
  const std::string_view request = frugal::trim(line);
  const auto [method, rest] = *frugal::split_once(request, ' ');
  const auto [target, version] = *frugal::split_once(rest, ' ');
  const auto [path, query] =
      frugal::split_once(target, '?').value_or(std::pair(target, std::string_view()));
  std::printf("method=%.*s path=%.*s version=%.*s\n", static_cast<int>(method.size()),
              method.data(), static_cast<int>(path.size()), path.data(),
              static_cast<int>(version.size()), version.data());
  for (std::string_view param : frugal::split(query, [](char c) { return c == '&'; })) {
    const auto kv = frugal::split_once(param, '=');
    if (kv) {
      std::printf("  %.*s = %.*s\n", static_cast<int>(kv->first.size()), kv->first.data(),
                  static_cast<int>(kv->second.size()), kv->second.data());
    }
  }
  if (const auto api = frugal::strip_prefix(path, "/api/")) {
    std::printf("api call: %.*s\n", static_cast<int>(api->size()), api->data());
  } else {
    std::printf("not an api call\n");
  }
  return 0;
}
