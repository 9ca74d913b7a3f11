// Rendering a feed page: each user with their posts. The loop a busy engineer writes asks the
// database once for the users and once more per user for their posts (1 + N queries). With
// frugal/batch.hpp the page takes two queries whatever N is: the posts of every user come in
// one call and are grouped in one allocation, and a batch_loader collects the authors that
// several parts of the page ask for. New posts go back in one multi-row INSERT.
#define FRUGAL_DEFINE_ALLOCATION_COUNTER
#include <frugal/batch.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {

struct user {
  int id;
  std::string name;
};

struct post {
  int id;
  int user_id;
  std::string title;
};

// An in-memory stand-in for the database, counting the queries it answers.
struct database {
  std::vector<user> users;
  std::vector<post> posts;
  int queries = 0;

  // SELECT * FROM posts WHERE user_id = $1
  std::vector<post> posts_of(int user_id) {
    ++queries;
    std::vector<post> out;
    for (const post& p : posts) {
      if (p.user_id == user_id) out.push_back(p);
    }
    return out;
  }
  // SELECT * FROM posts WHERE user_id = ANY($1)
  std::vector<post> posts_of_any(std::span<const int> user_ids) {
    ++queries;
    std::vector<post> out;
    for (const post& p : posts) {
      if (std::find(user_ids.begin(), user_ids.end(), p.user_id) != user_ids.end()) {
        out.push_back(p);
      }
    }
    return out;
  }
  // SELECT * FROM users WHERE id = ANY($1)
  std::vector<user> users_by_ids(std::span<const int> ids) {
    ++queries;
    std::vector<user> out;
    for (const user& u : users) {
      if (std::find(ids.begin(), ids.end(), u.id) != ids.end()) out.push_back(u);
    }
    return out;
  }
};

}  // namespace

int main() {
  database db{{{1, "ada"}, {2, "alan"}, {3, "grace"}, {4, "edsger"}},
              {{10, 1, "Notes on the engine"},
               {11, 3, "Compilers for everyone"},
               {12, 1, "On Bernoulli numbers"},
               {13, 2, "Computable numbers"},
               {14, 3, "Nanoseconds, explained"}}};
  const std::vector<int> page = {1, 2, 3, 4};

  // 1 + N: one query per user on the page.
  db.queries = 0;
  std::size_t shown = 0;
  for (int id : page) shown += db.posts_of(id).size();
  std::printf("naive: %zu posts in %d queries\n", shown, db.queries);

  // One query, grouped by user in first-appearance order, one allocation for the grouping.
  db.queries = 0;
  const std::vector<post> posts = db.posts_of_any(page);
  frugal::grouped<int, post> by_user;
  const auto stats = frugal::testing::measure_allocations(
      [&] { by_user = frugal::group_by(posts, &post::user_id); });
  std::printf("grouped: %zu posts of %zu users in %d query\n", by_user.row_count(), by_user.size(),
              db.queries);
  // The grouping copies each post; a title longer than the standard library's short-string
  // buffer (15 characters in libstdc++, 22 in libc++) allocates when copied.
  const auto long_titles =
      static_cast<std::size_t>(std::count_if(posts.begin(), posts.end(), [](const post& p) {
        return p.title.size() > std::string().capacity();
      }));
  std::printf("  allocations: %s\n", stats.allocations == 1 + long_titles
                                         ? "1 for the grouping, 1 per long title it copies"
                                         : "more than 1 for the grouping and its copies");

  // Authors are wanted by the header, by each post and by the sidebar: each load is a
  // request, and one dispatch sends the distinct ids in one call.
  frugal::batch_loader<int, user> authors(frugal::batch_from_rows(
      [&](std::span<const int> ids) { return db.users_by_ids(ids); }, &user::id));
  std::vector<frugal::batch_loader<int, user>::handle> wanted;
  for (int id : page) {
    for (const post& p : by_user.find(id)) wanted.push_back(authors.load(p.user_id));
  }
  const auto sidebar = authors.load(4);
  const auto missing = authors.load(99);
  std::printf("authors: %zu requests, %zu distinct ids\n", wanted.size() + 2, authors.pending());
  const frugal::dispatch_stats sent = authors.dispatch();
  std::printf("dispatch: %zu call with %zu ids; %d queries in all\n", sent.batches, sent.keys,
              db.queries);

  for (std::size_t i = 0, w = 0; i < page.size(); ++i) {
    for (const post& p : by_user.find(page[i])) {
      std::printf("  %-8s %s\n", wanted[w++].get()->name.c_str(), p.title.c_str());
    }
  }
  std::printf("sidebar: %s, id 99: %s\n", sidebar.get()->name.c_str(),
              missing.get() ? "found" : "not found");

  // New posts, inserted in statements of at most 4 parameters here (65,535 on PostgreSQL).
  const std::vector<post> fresh = {
      {20, 4, "Goto, considered"}, {21, 2, "The imitation game"}, {22, 1, "Poetical science"}};
  const auto statements =
      frugal::insert_rows("posts", {"user_id", "title"}, fresh,
                          [](const post& p) {
                            return std::array<std::string, 2>{std::to_string(p.user_id), p.title};
                          },
                          {.max_params = 4});
  for (const auto& st : statements) {
    std::printf("%s\n  params:", st.sql.c_str());
    for (const std::string& v : st.params) std::printf(" '%s'", v.c_str());
    std::printf("\n");
  }
}
