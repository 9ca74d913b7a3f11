// The guide's three database lessons, measured on a real PostgreSQL over loopback:
//
// - postgres/users_with_posts/<impl>/<users>: a page of N users with their posts. naive:n_plus_1
//   asks for the users, then for each user's posts (1 + N queries); frugal:batched asks for
//   the users, then for all their posts at once (`= ANY($1)`) and groups them with group_by
//   (2 queries). Both use prepared statements on a pooled connection.
// - postgres/insert_posts/<impl>/<rows>: naive:autocommit (one INSERT per row, each its own
//   transaction), naive:transaction (one INSERT per row inside one transaction, the guide's
//   version), frugal:multirow (insert_rows, 1,000 rows per statement, one transaction) and
//   frugal:copy (pg_copy: COPY ... FROM STDIN). `s/row` is the time per row.
// - postgres/request/<impl>/threads:<n>: one request (a primary-key lookup) opening a
//   connection per request (naive:connect_per_request) or borrowing one from a pool of 20
//   (frugal:pool), at 1, 2 and 8 concurrent workers.
//
// Counters: `queries/op` (statements sent), `round_trips/op`, and allocs/op and bytes/op,
// which count C++ operator new in the benchmark's thread only: libpq allocates with malloc and
// is not counted.
//
// The server: FRUGAL_PG_CONNINFO (a libpq connection string or URI), else the ctest fixture's
// (FRUGAL_SERVER_POSTGRES), else a throwaway cluster this binary starts with
// tests/fixtures/servers.py and stops at exit. Without any, it says so and exits 0.
#include "bench_support.hpp"

#include <frugal/batch.hpp>
#include <frugal/interop/postgres.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int user_count = 1000;
constexpr int posts_per_user = 10;

std::string fixture_dir;  // set when this binary started its own server

void stop_own_server() {
  if (fixture_dir.empty()) return;
  const std::string cmd = "python3 " FRUGAL_SOURCE_DIR "/tests/fixtures/servers.py --state-dir " +
                          fixture_dir + " down postgres_bench > /dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "postgres_bench: stopping failed\n");
}

std::string url_from_env_file(const char* path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("URL=", 0) == 0) return line.substr(4);
  }
  return {};
}

// Finds or starts the server; exits 0 with a message when there is none.
const std::string& conninfo() {
  static const std::string info = [] {
    if (const char* c = std::getenv("FRUGAL_PG_CONNINFO"); c != nullptr && *c != '\0') {
      return std::string(c);
    }
    if (const char* f = std::getenv("FRUGAL_SERVER_POSTGRES"); f != nullptr && *f != '\0') {
      return url_from_env_file(f);
    }
    fixture_dir = FRUGAL_BENCH_STATE_DIR "/postgres-fixture";
    const std::string up = "python3 " FRUGAL_SOURCE_DIR "/tests/fixtures/servers.py --state-dir " +
                           fixture_dir + " up postgres_bench postgres > /dev/null 2>&1";
    if (std::system(up.c_str()) != 0) {
      fixture_dir.clear();
      std::fprintf(stderr,
                   "postgres_bench: no PostgreSQL server (set FRUGAL_PG_CONNINFO, or install "
                   "PostgreSQL: scripts/install-deps); skipped\n");
      std::exit(0);
    }
    std::atexit(stop_own_server);
    return url_from_env_file((fixture_dir + "/postgres_bench.env").c_str());
  }();
  return info;
}

struct post {
  int user_id;
  std::string title;
};

post to_post(const frugal::pg_result& r, int row) {
  return post{r.get<int>(row, 0), std::string(r.text(row, 1))};
}

// The database every benchmark uses, made once: 1,000 users with 10 posts each, the posts'
// users interleaved (as they are written over time), and an empty table for inserts.
frugal::pg_pool& db() {
  static frugal::pg_pool pool = [] {
    frugal::pg_pool_options o;
    o.max_connections = 20;
    o.min_connections = 5;
    o.acquire_timeout = std::chrono::seconds(3);
    o.idle_timeout = std::chrono::seconds(600);
    o.max_lifetime = std::chrono::seconds(1800);
    o.test_before_acquire = false;
    return frugal::make_pg_pool(conninfo(), o);
  }();
  static const bool ready = [] {
    auto c = pool.acquire();
    c->exec(
        "DROP SCHEMA IF EXISTS frugal_bench CASCADE; CREATE SCHEMA frugal_bench;"
        "CREATE TABLE frugal_bench.users (id int PRIMARY KEY, name text NOT NULL);"
        "CREATE TABLE frugal_bench.posts (id bigserial PRIMARY KEY, user_id int NOT NULL,"
        " title text NOT NULL);"
        "INSERT INTO frugal_bench.users SELECT g, 'user' || g FROM generate_series(1, 1000) g;"
        "INSERT INTO frugal_bench.posts (user_id, title) SELECT 1 + g % 1000, 'post ' || g"
        " FROM generate_series(0, 9999) g;"
        "CREATE INDEX ON frugal_bench.posts (user_id);"
        "CREATE TABLE frugal_bench.new_posts (user_id int NOT NULL, title text NOT NULL);"
        "ANALYZE;");
    c.reset();
    // Every connection the pool may open, opened and with the lookup prepared, so that the
    // request benchmarks measure borrowing, not connecting.
    std::vector<frugal::pg_pool::lease> all;
    for (int i = 0; i < 20; ++i) {
      all.push_back(pool.acquire());
      (void)all.back()->query("SELECT name FROM frugal_bench.users WHERE id = $1", 7);
    }
    return true;
  }();
  (void)ready;
  return pool;
}

const char* const users_sql = "SELECT id, name FROM frugal_bench.users WHERE id <= $1 ORDER BY id";
const char* const posts_of_user_sql =
    "SELECT user_id, title FROM frugal_bench.posts WHERE user_id = $1 ORDER BY id";
const char* const posts_of_users_sql =
    "SELECT user_id, title FROM frugal_bench.posts WHERE user_id = ANY($1) ORDER BY id";

void set_query_counters(benchmark::State& state, std::uint64_t queries, std::uint64_t round_trips) {
  state.counters["queries/op"] =
      benchmark::Counter(static_cast<double>(queries), benchmark::Counter::kAvgIterations);
  state.counters["round_trips/op"] =
      benchmark::Counter(static_cast<double>(round_trips), benchmark::Counter::kAvgIterations);
}

// The N+1 page: the users, then each user's posts.
std::size_t page_n_plus_1(frugal::pg_connection& c, int users, std::uint64_t& queries) {
  const auto u = c.query(users_sql, users);
  ++queries;
  std::size_t posts = 0;
  for (int i = 0; i < u.rows(); ++i) {
    const auto r = c.query(posts_of_user_sql, u.get<int>(i, 0));
    ++queries;
    std::vector<post> mine;
    mine.reserve(static_cast<std::size_t>(r.rows()));
    for (int j = 0; j < r.rows(); ++j) mine.push_back(to_post(r, j));
    posts += mine.size();
    benchmark::DoNotOptimize(mine.data());
  }
  return posts;
}

// The batched page: the users, then all their posts in one query, grouped.
std::size_t page_batched(frugal::pg_connection& c, int users, std::uint64_t& queries) {
  const auto u = c.query(users_sql, users);
  std::vector<int> ids;
  ids.reserve(static_cast<std::size_t>(u.rows()));
  for (int i = 0; i < u.rows(); ++i) ids.push_back(u.get<int>(i, 0));
  const auto rows = frugal::pg_fetch_any(c, posts_of_users_sql, ids, to_post);
  queries += 2;
  const auto by_user = frugal::group_by(rows, &post::user_id);
  std::size_t posts = 0;
  for (const int id : ids) posts += by_user.find(id).size();
  return posts;
}

template <bool Batched>
void users_with_posts(benchmark::State& state) {
  const int users = static_cast<int>(state.range(0));
  auto conn = db().acquire();
  std::uint64_t warm = 0;
  const std::size_t expect = page_n_plus_1(*conn, users, warm);
  if (page_batched(*conn, users, warm) != expect ||
      expect != static_cast<std::size_t>(users * posts_per_user)) {
    state.SkipWithError("the two pages disagree");
    return;
  }
  std::uint64_t queries = 0;
  const auto trips = conn->round_trips();
  std::size_t posts = 0;
  for (auto _ : frugal::bench::counted(state)) {
    posts = Batched ? page_batched(*conn, users, queries) : page_n_plus_1(*conn, users, queries);
    benchmark::DoNotOptimize(posts);
  }
  set_query_counters(state, queries, conn->round_trips() - trips);
}

std::vector<post> new_posts(int n) {
  std::vector<post> rows;
  rows.reserve(static_cast<std::size_t>(n));
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    rows.push_back(
        post{1 + static_cast<int>(rng() % user_count), "a new post number " + std::to_string(i)});
  }
  return rows;
}

enum class insert_way { autocommit, transaction, multirow, copy };

void insert_posts_once(frugal::pg_connection& c, const std::vector<post>& rows, insert_way way,
                       std::uint64_t& queries) {
  const char* const sql = "INSERT INTO frugal_bench.new_posts (user_id, title) VALUES ($1, $2)";
  switch (way) {
    case insert_way::autocommit:
      for (const post& p : rows) c.query(sql, p.user_id, p.title);
      queries += rows.size();
      break;
    case insert_way::transaction:
      c.exec("BEGIN");
      for (const post& p : rows) c.query(sql, p.user_id, p.title);
      c.exec("COMMIT");
      queries += rows.size() + 2;
      break;
    case insert_way::multirow: {
      frugal::insert_options o;
      o.schema = "frugal_bench";
      o.max_params = 2000;  // 1,000 rows per statement
      const auto statements = frugal::insert_rows(
          "new_posts", {"user_id", "title"}, rows,
          [](const post& p) {
            return std::array<std::string, 2>{std::to_string(p.user_id), p.title};
          },
          o);
      c.exec("BEGIN");
      frugal::pg_execute(c, statements);
      c.exec("COMMIT");
      queries += statements.size() + 2;
      break;
    }
    case insert_way::copy: {
      frugal::pg_copy_options o;
      o.schema = "frugal_bench";
      frugal::pg_copy(
          c, "new_posts", {"user_id", "title"}, rows,
          [](const post& p) { return std::pair<int, const std::string&>(p.user_id, p.title); }, o);
      queries += 1;
      break;
    }
  }
}

template <insert_way Way>
void insert_posts(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<post> rows = new_posts(n);
  auto conn = db().acquire();
  conn->exec("TRUNCATE frugal_bench.new_posts");
  std::uint64_t warm = 0;
  insert_posts_once(*conn, rows, Way, warm);
  if (conn->query("SELECT count(*), sum(user_id) FROM frugal_bench.new_posts").get(0, 1) != [&] {
        std::int64_t s = 0;
        for (const post& p : rows) s += p.user_id;
        return s;
      }()) {
    state.SkipWithError("the rows in the table are not the rows inserted");
    return;
  }
  std::uint64_t queries = 0;
  const auto trips = conn->round_trips();
  for (auto _ : frugal::bench::counted(state)) {
    insert_posts_once(*conn, rows, Way, queries);
  }
  set_query_counters(state, queries, conn->round_trips() - trips);
  state.counters["s/row"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
  conn->exec("TRUNCATE frugal_bench.new_posts");
}

constexpr const char* lookup_sql = "SELECT name FROM frugal_bench.users WHERE id = $1";

void request_connect_per_request(benchmark::State& state) {
  (void)db();
  const std::string& info = conninfo();
  std::uint64_t queries = 0;
  std::uint64_t trips = 0;
  for (auto _ : frugal::bench::counted(state)) {
    auto c = frugal::pg_connection::connect(info);
    const auto r = c.exec_params(lookup_sql, std::array<const char*, 1>{"7"});
    benchmark::DoNotOptimize(r.text(0, 0).data());
    ++queries;
    trips += c.round_trips();
  }
  set_query_counters(state, queries, trips);
}

void request_pool(benchmark::State& state) {
  frugal::pg_pool& pool = db();
  std::uint64_t queries = 0;
  std::uint64_t trips = 0;
  for (auto _ : frugal::bench::counted(state)) {
    auto c = pool.acquire();
    const auto before = c->round_trips();
    const auto r = c->query(lookup_sql, 7);
    benchmark::DoNotOptimize(r.text(0, 0).data());
    ++queries;
    trips += c->round_trips() - before;
  }
  set_query_counters(state, queries, trips);
}

using bench_fn = void (*)(benchmark::State&);

benchmark::internal::Benchmark* add(const std::string& name, bench_fn fn) {
  return benchmark::RegisterBenchmark(("postgres/" + name).c_str(), fn);
}

const bool registered = [] {
  for (const int users : {10, 100, 1000}) {
    add("users_with_posts/naive:n_plus_1", users_with_posts<false>)
        ->Arg(users)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    add("users_with_posts/frugal:batched", users_with_posts<true>)
        ->Arg(users)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  for (const int rows : {1000, 10000}) {
    for (const auto& [impl, fn] :
         {std::pair<const char*, bench_fn>{"naive:autocommit",
                                           insert_posts<insert_way::autocommit>},
          std::pair<const char*, bench_fn>{"naive:transaction",
                                           insert_posts<insert_way::transaction>},
          std::pair<const char*, bench_fn>{"frugal:multirow", insert_posts<insert_way::multirow>},
          std::pair<const char*, bench_fn>{"frugal:copy", insert_posts<insert_way::copy>}}) {
      add(std::string("insert_posts/") + impl, fn)
          ->Arg(rows)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  for (const int threads : {1, 2, 8}) {
    add("request/naive:connect_per_request", request_connect_per_request)
        ->Threads(threads)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
    add("request/frugal:pool", request_pool)
        ->Threads(threads)
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

// Every case carries the proof of one lesson.
FRUGAL_BENCH_HEADLINE("^postgres/");
// The server runs in other processes: never pin these to one CPU.
FRUGAL_BENCH_OWN_THREADS("^postgres/");
