// Building an HTTP-style response body: a CSV export of a user list, with one allocation per
// string and a builder that tells whether its size hint was right.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/builder.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <cstdio>
#include <list>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct user {
  int id;
  std::string name;
  double balance;
};

}  // namespace

int main() {
  const std::vector<user> users = {
      {1, "ada.lovelace", 1815.5},     {2, "alan.turing", 1912.25},
      {3, "grace.hopper", 1906.0},     {4, "katherine.johnson", 1918.125},
      {5, "edsger.dijkstra", 1930.75},
  };

  // One allocation for the header line, however many pieces it has.
  std::string header;
  auto stats = frugal::testing::measure_allocations([&] {
    header = frugal::str_cat("# users=", users.size(), " total=", 9482.625, " currency=EUR\n");
  });
  std::printf("header: %s", header.c_str());
  std::printf("  %zu allocation(s) for %zu bytes\n", stats.allocations, header.size());

  // One allocation for the joined names (the formatter returns a view: no copies).
  std::string names;
  stats = frugal::testing::measure_allocations([&] {
    names = frugal::str_join(users, ",", [](const user& u) -> std::string_view { return u.name; });
  });
  std::printf("names: %s\n  %zu allocation(s)\n", names.c_str(), stats.allocations);

  // The body's final size is only estimated, first at 16 bytes a row, then at 32. The builder says
  // whether that was enough, so the estimate can be tuned.
  for (std::size_t per_row : {std::size_t{16}, std::size_t{32}}) {
    frugal::builder<std::string> body(users.size() * per_row);
    for (const user& u : users) body.append(u.id, ',', u.name, ',', u.balance, '\n');
    const std::size_t size = body.size();
    const std::size_t regrowths = body.regrowths();
    const std::string csv = std::move(body).build();
    std::printf("hint %zu bytes/row: %zu bytes built, %zu regrowth(s)%s\n", per_row, size,
                regrowths, regrowths != 0 ? " - raise the hint" : "");
    if (per_row == 32) std::printf("%s", csv.c_str());
  }

  // collect: the ids waiting in a queue, into a vector reserved once (the list is sized).
  const std::list<int> queue = {5, 3, 1, 4};
  std::vector<int> ids;
  stats =
      frugal::testing::measure_allocations([&] { ids = frugal::collect<std::vector<int>>(queue); });
  std::printf("ids: %zu collected with %zu allocation(s)\n", ids.size(), stats.allocations);
  return 0;
}
