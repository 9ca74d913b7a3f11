// A feed page of users with their posts, loaded both ways from PostgreSQL through a pool: one
// query for the users and one per user for the posts (N+1), then one query for all the posts
// (`= ANY($1)`) grouped in memory. Prints the queries each way sent; the times, which vary
// from run to run, go to stderr.
//
// The server: FRUGAL_PG_CONNINFO, or the ctest fixture (FRUGAL_SERVER_POSTGRES).
#include <frugal/batch.hpp>
#include <frugal/interop/postgres.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string server() {
  if (const char* c = std::getenv("FRUGAL_PG_CONNINFO")) return c;
  if (const char* f = std::getenv("FRUGAL_SERVER_POSTGRES")) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("URL=", 0) == 0) return line.substr(4);
    }
  }
  std::fprintf(stderr, "set FRUGAL_PG_CONNINFO to a PostgreSQL connection string\n");
  std::exit(2);
}

struct post {
  int user_id;
  std::string title;
};

post to_post(const frugal::pg_result& r, int row) {
  return post{r.get<int>(row, 0), std::string(r.text(row, 1))};
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  using namespace std::chrono_literals;
  frugal::pg_pool_options options;
  options.max_connections = 20;
  options.min_connections = 5;
  options.acquire_timeout = 3s;
  options.idle_timeout = 600s;
  options.max_lifetime = 1800s;
  options.test_before_acquire = false;
  auto db = frugal::make_pg_pool(server(), options);
  db.reap();

  {
    auto conn = db.acquire();
    conn->exec(
        "DROP SCHEMA IF EXISTS feed CASCADE; CREATE SCHEMA feed;"
        "CREATE TABLE feed.users (id int PRIMARY KEY, name text NOT NULL);"
        "CREATE TABLE feed.posts (id bigserial PRIMARY KEY, user_id int NOT NULL,"
        " title text NOT NULL);"
        "CREATE INDEX ON feed.posts (user_id);"
        "INSERT INTO feed.users SELECT g, 'user' || g FROM generate_series(1, 100) g;");
    // 500 posts in one COPY: values travel as data, never inside SQL text.
    std::vector<post> posts;
    for (int i = 0; i < 500; ++i)
      posts.push_back(post{1 + i * 37 % 100, "post " + std::to_string(i)});
    frugal::pg_copy_options copy;
    copy.schema = "feed";
    const auto before = conn->round_trips();
    const auto copied = frugal::pg_copy(
        *conn, "posts", {"user_id", "title"}, posts,
        [](const post& p) { return std::pair<int, const std::string&>(p.user_id, p.title); }, copy);
    std::printf("setup: %llu posts copied in %llu round trips\n",
                static_cast<unsigned long long>(copied),
                static_cast<unsigned long long>(conn->round_trips() - before));
  }

  const char* users_sql = "SELECT id, name FROM feed.users WHERE id <= $1 ORDER BY id";
  for (const int page_size : {10, 100}) {
    // N+1: the users, then each user's posts.
    auto conn = db.acquire();
    auto trips = conn->round_trips();
    auto t0 = std::chrono::steady_clock::now();
    const auto users = conn->query(users_sql, page_size);
    std::size_t naive_posts = 0;
    for (int i = 0; i < users.rows(); ++i) {
      const auto r = conn->query("SELECT user_id, title FROM feed.posts WHERE user_id = $1",
                                 users.get<int>(i, 0));
      naive_posts += static_cast<std::size_t>(r.rows());
    }
    const double naive_ms = ms_since(t0);
    // The prepared statements are cached per connection: count the executions alone.
    const auto naive_queries = 1 + users.rows();
    const auto naive_trips = conn->round_trips() - trips;

    // Batched: the users, then all their posts in one query, grouped by user.
    trips = conn->round_trips();
    t0 = std::chrono::steady_clock::now();
    const auto again = conn->query(users_sql, page_size);
    std::vector<int> ids;
    for (int i = 0; i < again.rows(); ++i) ids.push_back(again.get<int>(i, 0));
    const auto rows = frugal::pg_fetch_any(
        *conn, "SELECT user_id, title FROM feed.posts WHERE user_id = ANY($1) ORDER BY id", ids,
        to_post);
    const auto by_user = frugal::group_by(rows, &post::user_id);
    std::size_t batched_posts = 0;
    for (const int id : ids) batched_posts += by_user.find(id).size();
    const double batched_ms = ms_since(t0);
    const auto batched_trips = conn->round_trips() - trips;

    // Round trips beyond the queries are first preparations of a statement on this
    // connection: the pool hands back the same connection, so later pages skip them.
    std::printf(
        "%d users: N+1 %d queries, %llu round trips; batched 2 queries, %llu round "
        "trips; %zu posts either way%s\n",
        page_size, naive_queries, static_cast<unsigned long long>(naive_trips),
        static_cast<unsigned long long>(batched_trips), batched_posts,
        naive_posts == batched_posts ? "" : " (DIFFERENT)");
    std::fprintf(stderr, "%d users: N+1 %.2f ms, batched %.2f ms\n", page_size, naive_ms,
                 batched_ms);
  }

  // A pooled request loop: 200 requests, a connection borrowed for each.
  int found = 0;
  for (int request = 0; request < 200; ++request) {
    auto conn = db.acquire();
    found += conn->query("SELECT name FROM feed.users WHERE id = $1", 1 + request % 100).rows();
  }
  const auto s = db.stats();
  std::printf("200 pooled requests: %d users found, %llu connections opened in all\n", found,
              static_cast<unsigned long long>(s.created));
  db.acquire()->exec("DROP SCHEMA feed CASCADE");
}
