// Normalising e-mail addresses at sign-up and log-in: trim, then lower-case.
//
// Most addresses arrive already clean. Returning std::string would allocate for every one of
// them; a cow_string borrows the input when nothing changes and allocates only for the
// addresses that do change (and not even then when the result fits std::string's short
// buffer). The lookup takes a std::string_view, so the cow converts without a copy, and the
// user table's transparent hash finds it without building a std::string.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/cow_string.hpp>
#include <frugal/slice.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

frugal::cow_string normalize_email(std::string_view raw FRUGAL_LIFETIMEBOUND) {
  return frugal::to_lower_ascii(frugal::trim(raw));
}

}  // namespace

int main() {
  std::unordered_map<std::string, int, frugal::string_hash, frugal::string_equal> users = {
      {"ada.lovelace@analytical-engine.example", 1},
      {"grace.hopper@cobol.example", 2},
      {"kernighan@bell-labs.example", 3},
  };
  const std::array<std::string, 5> inputs = {
      "ada.lovelace@analytical-engine.example",
      "  grace.hopper@cobol.example\n",
      "Kernighan@Bell-Labs.example",
      "Dennis.Ritchie@UNIX.example",
      "nobody@example.org",
  };
  for (const std::string& raw : inputs) {
    int user = 0;
    bool borrowed = false;
    const auto allocations = frugal::testing::count_allocations([&] {
      const frugal::cow_string email = normalize_email(raw);
      borrowed = email.is_borrowed();
      const auto it = users.find(email);
      user = it == users.end() ? 0 : it->second;
    });
    std::printf("%-42s -> user %d, %-8s, %zu allocation(s)\n",
                std::string(frugal::trim(raw)).c_str(), user, borrowed ? "borrowed" : "owned",
                allocations);
  }
  return 0;
}
