// Collecting a user's roles per request without touching the heap.
//
// Most users of a service hold a handful of roles. A std::vector allocates for every request;
// a small_vector with room for 8 roles allocates only for the rare user with more. The roles
// are views into the role table, so collecting them copies no strings either.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/small_vector.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <array>
#include <cstdio>
#include <string_view>

namespace {

struct grant {
  int user_id;
  std::string_view role;
};

constexpr std::array<grant, 15> grants = {{
    {1, "reader"},
    {1, "commenter"},
    {2, "reader"},
    {2, "editor"},
    {2, "publisher"},
    {3, "admin"},
    {4, "reader"},
    {4, "editor"},
    {4, "publisher"},
    {4, "moderator"},
    {4, "billing"},
    {4, "support"},
    {4, "auditor"},
    {4, "on-call"},
    {4, "developer"},
}};

using roles = frugal::small_vector<std::string_view, 8>;

// Appends the roles of `user_id` to `out`. Taking small_vector_base lets callers choose N.
void collect_roles(int user_id, frugal::small_vector_base<std::string_view>& out) {
  for (const grant& g : grants) {
    if (g.user_id == user_id) out.push_back(g.role);
  }
}

bool may_publish(const roles& r) {
  for (std::string_view role : r) {
    if (role == "publisher" || role == "admin") return true;
  }
  return false;
}

}  // namespace

int main() {
  std::printf("sizeof(roles) = %zu bytes, room for %zu roles inline\n", sizeof(roles),
              roles::inline_capacity());
  for (int user : {1, 2, 3, 4}) {
    roles r;
    bool publish = false;
    const auto stats = frugal::testing::measure_allocations([&] {
      collect_roles(user, r);
      publish = may_publish(r);
    });
    std::printf("user %d: %zu roles, may publish: %-3s, inline: %-3s, heap allocations: %zu\n",
                user, r.size(), publish ? "yes" : "no", r.is_inline() ? "yes" : "no",
                stats.allocations);
  }
  return 0;
}
