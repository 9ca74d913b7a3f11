// frugal::postgres against a real PostgreSQL (the `postgres` fixture: a throwaway cluster on
// loopback). Each case works in its own schema, made afresh.
#include <frugal/interop/postgres.hpp>

#include "server.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::string conninfo() { return frugal::test::server_fixture("postgres").url; }

// A session in a fresh schema `frugal_test` with users and posts.
frugal::pg_connection fresh_schema() {
  auto c = frugal::pg_connection::connect(conninfo());
  c.exec(
      "DROP SCHEMA IF EXISTS frugal_test CASCADE; CREATE SCHEMA frugal_test;"
      "CREATE TABLE frugal_test.users (id int PRIMARY KEY, name text NOT NULL);"
      "CREATE TABLE frugal_test.posts (id bigserial PRIMARY KEY, user_id int NOT NULL,"
      " title text);"
      "CREATE INDEX ON frugal_test.posts (user_id);"
      "INSERT INTO frugal_test.users SELECT g, 'user' || g FROM generate_series(1, 20) g;"
      "INSERT INTO frugal_test.posts (user_id, title) SELECT 1 + g % 15, 'post' || g"
      " FROM generate_series(1, 60) g;");
  return c;
}

struct post {
  int user_id;
  std::string title;
  friend bool operator==(const post&, const post&) = default;
};

post to_post(const frugal::pg_result& r, int row) {
  return post{r.get<int>(row, 0), std::string(r.text(row, 1))};
}

std::int64_t count(frugal::pg_connection& c, const char* table) {
  return c.query(std::string("SELECT count(*) FROM ") + table).get(0, 0);
}

frugal::pg_pool_options small_pool(bool test_before_acquire = false) {
  frugal::pg_pool_options o;
  o.max_connections = 2;
  o.min_connections = 0;
  o.acquire_timeout = 2s;
  o.test_before_acquire = test_before_acquire;
  return o;
}

}  // namespace

TEST_CASE("pg_array writes PostgreSQL's array text, escaping every string", "[postgres]") {
  const std::vector<int> ints = {1, -2, 30};
  REQUIRE(frugal::pg_array(std::span<const int>(ints)) == "{1,-2,30}");
  REQUIRE(frugal::pg_array(std::span<const int>()) == "{}");
  const std::vector<std::string> s = {"a", "b\"c", "d\\e", "", "x,y}"};
  REQUIRE(frugal::pg_array(std::span<const std::string>(s)) == R"({"a","b\"c","d\\e","","x,y}"})");
  const std::vector<std::string> nul = {std::string("a\0b", 3)};
  REQUIRE_THROWS_WITH(frugal::pg_array(std::span<const std::string>(nul)),
                      "pg_array: a key contains a NUL character");
}

TEST_CASE("a refused connection is a pg_error with libpq's message", "[postgres]") {
  try {
    (void)frugal::pg_connection::connect("host=127.0.0.1 port=1 connect_timeout=2");
    FAIL("connected");
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.what()).rfind("connect: ", 0) == 0);
    REQUIRE(std::string(e.what()).find("refused") != std::string::npos);
    REQUIRE(std::string(e.sqlstate()).empty());
  }
}

TEST_CASE("statements: parameters only, prepared once per connection, errors with SQLSTATE",
          "[postgres]") {
  auto c = fresh_schema();
  const auto before = c.round_trips();
  const char* sql = "SELECT name FROM frugal_test.users WHERE id = $1";
  REQUIRE(c.query(sql, 3).text(0, 0) == "user3");
  REQUIRE(c.query(sql, 4).text(0, 0) == "user4");
  REQUIRE(c.prepared_count() == 1);
  REQUIRE(c.round_trips() - before == 3);  // prepare, execute, execute

  // A hostile value stays a value.
  const std::string evil = "O'Brien'); DROP TABLE frugal_test.users; --\t\\";
  c.query("INSERT INTO frugal_test.users VALUES ($1, $2)", 100, evil);
  REQUIRE(c.query(sql, 100).text(0, 0) == evil);
  REQUIRE(count(c, "frugal_test.users") == 21);
  // NULL, bool and optional.
  c.query("INSERT INTO frugal_test.posts (user_id, title) VALUES ($1, $2)", 100, std::nullopt);
  const auto r = c.query("SELECT title IS NULL, $1::bool FROM frugal_test.posts WHERE user_id = $2",
                         true, 100);
  REQUIRE(r.text(0, 0) == "t");
  REQUIRE(r.text(0, 1) == "t");
  REQUIRE(r.is_null(0, 0) == false);

  try {
    c.query("INSERT INTO frugal_test.users VALUES ($1, $2)", 3, "again");
    FAIL("no error");
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.sqlstate()) == "23505");
    REQUIRE(std::string(e.what()).rfind("query: ERROR:  duplicate key", 0) == 0);
  }
  try {
    c.query("SELEC 1");
    FAIL("no error");
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.sqlstate()) == "42601");
    REQUIRE(std::string(e.what()).rfind("prepare: ", 0) == 0);
  }
  REQUIRE(c.prepared_count() == 5);  // the one that failed to prepare is not cached
  REQUIRE_THROWS_WITH(c.query("SELECT 'x'").get(0, 0),
                      "pg_result::get: row 0 column 0 is not an integer: 'x'");
  REQUIRE_THROWS_WITH(c.query("SELECT NULL::int").get(0, 0),
                      "pg_result::get: row 0 column 0 is NULL");
  REQUIRE(c.exec("").status() == PGRES_EMPTY_QUERY);
}

TEST_CASE("a string parameter with a NUL inside is refused, never cut short", "[postgres]") {
  auto c = fresh_schema();
  const std::string with_nul("ab\0cd", 5);
  const std::string what =
      "pg: a string parameter contains a NUL character, which PostgreSQL text cannot hold";
  REQUIRE_THROWS_WITH(c.query("INSERT INTO frugal_test.users VALUES ($1, $2)", 200, with_nul),
                      what);
  REQUIRE_THROWS_WITH(c.query("SELECT $1::text", std::optional<std::string>(with_nul)), what);
  const std::vector<std::pair<int, std::string>> rows = {{201, "fine"}, {202, with_nul}};
  const auto statements = frugal::insert_rows(
      "users", {"id", "name"}, rows,
      [](const std::pair<int, std::string>& r) {
        return std::vector<std::string>{std::to_string(r.first), r.second};
      },
      {.schema = "frugal_test"});
  REQUIRE_THROWS_WITH(frugal::pg_execute(c, statements), what);
  REQUIRE(count(c, "frugal_test.users") == 20);  // nothing stored, not even a cut "ab"
}

TEST_CASE("a prepared statement the server lost or a schema change broke is prepared again",
          "[postgres]") {
  auto c = fresh_schema();
  const char* sql = "SELECT * FROM frugal_test.users WHERE id = $1";
  REQUIRE(c.query(sql, 3).text(0, 1) == "user3");
  // A column added under the cached plan: this call fails, the next one prepares anew.
  c.exec("ALTER TABLE frugal_test.users ADD COLUMN extra int");
  try {
    (void)c.query(sql, 3);
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.sqlstate()) == "0A000");
  }
  const auto r = c.query(sql, 3);
  REQUIRE(r.text(0, 1) == "user3");
  REQUIRE(r.columns() == 3);
  // The session's statements dropped (DISCARD ALL): one failure, then prepared again.
  c.exec("DISCARD ALL");
  try {
    (void)c.query(sql, 4);
    FAIL("no error");
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.sqlstate()) == "26000");
  }
  REQUIRE(c.query(sql, 4).text(0, 1) == "user4");
  REQUIRE(c.query(sql, 5).text(0, 1) == "user5");
}

TEST_CASE("statements dropped after 0A000 are deallocated: none pile up in the session",
          "[postgres]") {
  auto c = fresh_schema();
  // A function that raises 0A000 for some inputs: the statement itself is fine.
  c.exec(
      "CREATE FUNCTION frugal_test.only_positive(x int) RETURNS int LANGUAGE plpgsql AS $$"
      " BEGIN IF x < 0 THEN RAISE EXCEPTION 'negative not supported'"
      " USING ERRCODE = 'feature_not_supported'; END IF; RETURN x; END $$");
  const char* sql = "SELECT frugal_test.only_positive($1)";
  const auto server_statements = [&] {
    return std::stoi(std::string(
        c.exec("SELECT count(*) FROM pg_prepared_statements").text(0, 0)));
  };
  REQUIRE(c.query(sql, 1).text(0, 0) == "1");
  for (int i = 0; i < 50; ++i) {
    try {
      (void)c.query(sql, -1);
      FAIL("no error");
    } catch (const frugal::pg_error& e) {
      REQUIRE(std::string(e.sqlstate()) == "0A000");
    }
  }
  REQUIRE(server_statements() <= 1);
  REQUIRE(c.prepared_count() <= 1);
  REQUIRE(c.query(sql, 2).text(0, 0) == "2");
  // Schema changes break the cached plan of a SELECT *: the old statement goes too.
  const char* star = "SELECT * FROM frugal_test.users WHERE id = $1";
  for (int i = 0; i < 5; ++i) {
    REQUIRE(c.query(star, 3).text(0, 0) == "3");
    c.exec(("ALTER TABLE frugal_test.users ADD COLUMN extra" + std::to_string(i) + " int").c_str());
    REQUIRE_THROWS_AS(c.query(star, 3), frugal::pg_error);
  }
  REQUIRE(c.query(star, 3).columns() == 7);
  REQUIRE(server_statements() == static_cast<int>(c.prepared_count()));
  // Inside a transaction block the failure aborts it, and the server refuses DEALLOCATE
  // there: the statement goes once the session is out of the block.
  for (int i = 0; i < 5; ++i) {
    c.exec("BEGIN");
    REQUIRE_THROWS_AS(c.query(sql, -1), frugal::pg_error);
    c.exec("ROLLBACK");
  }
  REQUIRE(c.query(sql, 4).text(0, 0) == "4");
  REQUIRE(server_statements() == static_cast<int>(c.prepared_count()));
}

TEST_CASE("users with posts: 1 + N queries against 2, the same answer", "[postgres]") {
  auto c = fresh_schema();
  const auto users = c.query("SELECT id FROM frugal_test.users WHERE id <= $1 ORDER BY id", 10);
  std::vector<int> ids;
  for (int i = 0; i < users.rows(); ++i) ids.push_back(users.get<int>(i, 0));

  const auto t0 = c.round_trips();
  std::vector<std::vector<post>> naive;
  for (const int id : ids) {
    const auto r =
        c.query("SELECT user_id, title FROM frugal_test.posts WHERE user_id = $1 ORDER BY id", id);
    std::vector<post> mine;
    for (int i = 0; i < r.rows(); ++i) mine.push_back(to_post(r, i));
    naive.push_back(mine);
  }
  const auto naive_trips = c.round_trips() - t0;

  const auto t1 = c.round_trips();
  const auto posts = frugal::pg_fetch_any(
      c, "SELECT user_id, title FROM frugal_test.posts WHERE user_id = ANY($1) ORDER BY id", ids,
      to_post);
  const auto by_user = frugal::group_by(posts, &post::user_id);
  const auto batched_trips = c.round_trips() - t1;

  REQUIRE(naive_trips == 11);   // prepare once, then one per user
  REQUIRE(batched_trips == 2);  // prepare, execute: one query whatever the number of users
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto mine = by_user.find(ids[i]);
    REQUIRE(std::vector<post>(mine.begin(), mine.end()) == naive[i]);
  }
  // The same statement again: one round trip.
  const auto t2 = c.round_trips();
  (void)frugal::pg_fetch_any(
      c, "SELECT user_id, title FROM frugal_test.posts WHERE user_id = ANY($1) ORDER BY id", ids,
      to_post);
  REQUIRE(c.round_trips() - t2 == 1);
  // Text keys go through the same array parameter, escaped.
  const std::vector<std::string> names = {"user1", "user\"2", "user3"};
  const auto found = frugal::pg_fetch_any(
      c, "SELECT id FROM frugal_test.users WHERE name = ANY($1) ORDER BY id", names,
      [](const frugal::pg_result& r, int row) { return r.get<int>(row, 0); });
  REQUIRE(found == std::vector<int>{1, 3});
}

TEST_CASE("insert_rows statements run through pg_execute, NULL included", "[postgres]") {
  auto c = fresh_schema();
  c.exec("TRUNCATE frugal_test.posts");
  std::vector<post> rows;
  for (int i = 0; i < 1000; ++i) rows.push_back(post{i % 7, "t" + std::to_string(i)});
  frugal::insert_options opts;
  opts.schema = "frugal_test";
  opts.max_params = 300;  // 150 rows per statement
  const auto statements = frugal::insert_rows(
      "posts", {"user_id", "title"}, rows,
      [](const post& p) {
        return std::array<std::optional<std::string>, 2>{
            std::to_string(p.user_id),
            p.title == "t5" ? std::nullopt : std::optional<std::string>(p.title)};
      },
      opts);
  REQUIRE(statements.size() == 7);
  const auto before = c.round_trips();
  REQUIRE(frugal::pg_execute(c, statements) == 1000);
  REQUIRE(c.round_trips() - before == 7);
  REQUIRE(count(c, "frugal_test.posts") == 1000);
  REQUIRE(c.query("SELECT count(*) FROM frugal_test.posts WHERE title IS NULL").get(0, 0) == 1);
  REQUIRE(c.query("SELECT count(*) FROM frugal_test.posts WHERE user_id = 3").get(0, 0) == 143);
}

TEST_CASE("pg_copy streams rows exactly, escaping COPY's special characters", "[postgres]") {
  auto c = fresh_schema();
  c.exec("TRUNCATE frugal_test.posts");
  std::vector<post> rows;
  const std::string nasty = "tab\there\nnew line\\back slash\r\"quote\" 'single' \\N";
  for (int i = 0; i < 5000; ++i) {
    rows.push_back(post{i % 13, i == 42 ? nasty : "p" + std::to_string(i)});
  }
  frugal::pg_copy_options o;
  o.schema = "frugal_test";
  o.chunk_bytes = 4096;  // many chunks
  const auto before = c.round_trips();
  const auto to_values = [](const post& p) {
    return std::array<std::optional<std::string_view>, 2>{
        std::optional<std::string_view>(p.title == "p7" ? "" : "x"),
        p.title == "p9" ? std::nullopt : std::optional<std::string_view>(p.title)};
  };
  (void)to_values;
  const auto n = frugal::pg_copy(
      c, "posts", {"user_id", "title"}, rows,
      [](const post& p) {
        return std::pair<int, std::optional<std::string>>(
            p.user_id, p.title == "p9" ? std::nullopt : std::optional(p.title));
      },
      o);
  REQUIRE(n == 5000);
  REQUIRE(c.round_trips() - before == 2);
  REQUIRE(count(c, "frugal_test.posts") == 5000);
  REQUIRE(c.query("SELECT title FROM frugal_test.posts WHERE title LIKE 'tab%'").text(0, 0) ==
          nasty);
  REQUIRE(c.query("SELECT count(*) FROM frugal_test.posts WHERE title IS NULL").get(0, 0) == 1);
  REQUIRE(c.idle());
}

TEST_CASE("COPY data larger than one PQputCopyData call goes in pieces, whole", "[postgres]") {
  // pg_copy sends a chunk in pieces of at most 1 GiB (libpq takes an int length: a chunk
  // past 2 GiB, from a large chunk_bytes or one huge row, was sent as nothing). Here the
  // pieces are 7 bytes, cutting rows and escapes anywhere.
  auto c = fresh_schema();
  c.exec("DELETE FROM frugal_test.posts");
  REQUIRE(c.exec("COPY frugal_test.posts (user_id, title) FROM STDIN").status() == PGRES_COPY_IN);
  std::string buf;
  for (int i = 0; i < 40; ++i) buf += std::to_string(i) + "\ttitle\\t" + std::to_string(i) + "\n";
  const std::size_t sent = buf.size();
  frugal::detail::pg_copy_send(c, buf, 7);
  REQUIRE(buf.empty());
  REQUIRE(sent > 400);
  REQUIRE(PQputCopyEnd(c.native(), nullptr) == 1);
  frugal::pg_result end(PQgetResult(c.native()));
  REQUIRE(end.status() == PGRES_COMMAND_OK);
  PQclear(PQgetResult(c.native()));
  const auto r = c.exec("SELECT count(*), min(title), max(user_id) FROM frugal_test.posts");
  REQUIRE(r.text(0, 0) == "40");
  REQUIRE(r.text(0, 1) == "title\t0");
  REQUIRE(r.text(0, 2) == "39");
}

TEST_CASE("pg_copy refuses bad input and keeps no row of a failed call", "[postgres]") {
  auto c = fresh_schema();
  c.exec("TRUNCATE frugal_test.posts");
  const std::vector<int> rows = {1, 2, 3, 4};
  const auto values = [](int v) { return std::vector<std::string>{std::to_string(v), "t"}; };
  frugal::pg_copy_options o;
  o.schema = "frugal_test";
  REQUIRE_THROWS_WITH(
      frugal::pg_copy(c, "posts", std::span<const std::string_view>(), rows, values),
      "pg_copy: no columns");
  REQUIRE_THROWS_WITH(frugal::pg_copy(c, "", {"user_id", "title"}, rows, values),
                      "pg_copy: table is empty");
  REQUIRE_THROWS_WITH(
      frugal::pg_copy(c, "posts", {"user_id", std::string_view("ti\0tle", 6)}, rows, values),
      "pg_copy: column 1 contains a NUL character");
  // A row with the wrong number of values, a throwing row function, a value the server
  // refuses: each ends the COPY with an error, and the session stays usable.
  REQUIRE_THROWS_WITH(frugal::pg_copy(c, "posts", {"user_id"}, rows, values, o),
                      "pg_copy: row 0 gave 2 values for 1 columns");
  REQUIRE(c.ok());
  REQUIRE(c.idle());
  for (int k = 0; k < 4; ++k) {
    REQUIRE_THROWS_AS(frugal::pg_copy(
                          c, "posts", {"user_id", "title"}, rows,
                          [k](int v) {
                            if (v == k + 1) throw std::runtime_error("row fault");
                            return std::vector<std::string>{std::to_string(v), "t"};
                          },
                          o),
                      std::runtime_error);
    REQUIRE(c.idle());
  }
  try {
    (void)frugal::pg_copy(
        c, "posts", {"user_id", "title"}, rows,
        [](int v) {
          return std::vector<std::string>{v == 3 ? "three" : std::to_string(v), "t"};
        },
        o);
    FAIL("accepted");
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.sqlstate()) == "22P02");  // invalid integer text
  }
  REQUIRE(count(c, "frugal_test.posts") == 0);
  // Quoted identifiers: a table whose name needs quotes.
  c.exec("CREATE TABLE frugal_test.\"odd \"\"name\"\"\" (v int)");
  REQUIRE(frugal::pg_copy(
              c, "odd \"name\"", {"v"}, rows, [](int v) { return std::array<int, 1>{v}; }, o) == 4);
}

TEST_CASE("the pool lends sessions, checks them, and closes a broken one", "[postgres]") {
  (void)fresh_schema();
  auto db = frugal::make_pg_pool(conninfo(), small_pool());
  int pid = 0;
  {
    auto conn = db.acquire();
    pid = conn->backend_pid();
    REQUIRE(conn->query("SELECT 1").get(0, 0) == 1);
  }
  {
    auto conn = db.acquire();
    REQUIRE(conn->backend_pid() == pid);  // the same session, reused
    REQUIRE(conn->prepared_count() == 1);
    conn->exec("BEGIN");  // left open: the release closes the session
  }
  auto s = db.stats();
  REQUIRE(s.destroyed == 1);
  REQUIRE(s.check_failures == 1);
  {
    auto conn = db.acquire();
    REQUIRE(conn->backend_pid() != pid);
    pid = conn->backend_pid();
    // The server drops the session under the lease: the next statement fails, PQstatus turns
    // CONNECTION_BAD, and the release destroys the connection instead of returning it.
    frugal::test::server_fault("postgres", "terminate-backend " + std::to_string(pid));
    REQUIRE_THROWS_AS(conn->query("SELECT 1"), frugal::pg_error);
    REQUIRE_FALSE(conn->ok());
  }
  s = db.stats();
  REQUIRE(s.destroyed == 2);
  REQUIRE(s.idle == 0);
  auto conn = db.acquire();
  REQUIRE(conn->backend_pid() != pid);
  REQUIRE(conn->query("SELECT 2").get(0, 0) == 2);
}

TEST_CASE("test_before_acquire replaces an idle session the server dropped", "[postgres]") {
  for (const bool test : {true, false}) {
    auto db = frugal::make_pg_pool(conninfo(), small_pool(test));
    int pid = 0;
    {
      auto conn = db.acquire();
      pid = conn->backend_pid();
    }
    frugal::test::server_fault("postgres", "terminate-backend " + std::to_string(pid));
    auto conn = db.acquire();
    if (test) {
      REQUIRE(conn->backend_pid() != pid);  // the empty round trip failed: replaced
      REQUIRE(conn->query("SELECT 1").get(0, 0) == 1);
      REQUIRE(db.stats().check_failures == 1);
    } else {
      REQUIRE(conn->backend_pid() == pid);  // libpq cannot know until a statement fails
      REQUIRE_THROWS_AS(conn->query("SELECT 1"), frugal::pg_error);
      conn.reset();
      REQUIRE(db.stats().destroyed == 1);
      REQUIRE(db.acquire()->query("SELECT 1").get(0, 0) == 1);
    }
  }
}

TEST_CASE("the pool under concurrent requests: at most max_connections sessions", "[postgres]") {
  (void)fresh_schema();
  auto db = frugal::make_pg_pool(conninfo(), small_pool());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::mutex m;
  std::set<int> pids;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto conn = db.acquire();
        const auto r =
            conn->query("SELECT name FROM frugal_test.users WHERE id = $1", 1 + (t + i) % 20);
        if (r.text(0, 0) == "user" + std::to_string(1 + (t + i) % 20)) ++ok;
        std::lock_guard<std::mutex> g(m);
        pids.insert(conn->backend_pid());
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(ok == 100);
  REQUIRE(pids.size() <= 2);
  REQUIRE(db.stats().created <= 2);
  REQUIRE(db.stats().acquired == 100);
}

TEST_CASE("a paused server: acquire gives up near its timeout instead of blocking",
          "[postgres]") {
  (void)fresh_schema();
  auto o = small_pool(true);
  o.acquire_timeout = 1s;
  auto db = frugal::make_pg_pool(conninfo(), o);
  {
    auto warm = db.acquire();  // one idle session, opened before the pause
    REQUIRE(warm->query("SELECT 1").get(0, 0) == 1);
  }
  // The postmaster stopped: a new session is never answered (the idle one still is, its
  // backend runs on). Two at once: one gets the idle session, the other must open one.
  frugal::test::server_fault("postgres", "pause");
  const auto t0 = std::chrono::steady_clock::now();
  auto held = db.acquire();
  bool timed_out = false;
  try {
    (void)db.acquire();
  } catch (const frugal::pool_timeout& e) {
    timed_out = true;
    INFO(e.what());
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  frugal::test::server_fault("postgres", "resume");
  REQUIRE(timed_out);
  CHECK(took < 4s);  // libpq's connect_timeout floor (2 s) and some slack, not for ever
  REQUIRE(held->query("SELECT 1").get(0, 0) == 1);
  held.reset();
  auto again = db.acquire();
  REQUIRE(again->query("SELECT 2").get(0, 0) == 2);
}

TEST_CASE("a stopped server: pool_timeout with the connection error, then a restart recovers",
          "[postgres]") {
  auto o = small_pool(true);
  o.acquire_timeout = 1s;
  auto db = frugal::make_pg_pool(conninfo(), o);
  { auto warm = db.acquire(); }
  frugal::test::server_fault("postgres", "stop");
  try {
    auto conn = db.acquire();
    FAIL("acquired a session from a stopped server");
  } catch (const frugal::pool_timeout& e) {
    INFO(e.what());
    REQUIRE(e.waited() >= 1s);
    REQUIRE(e.last_error().rfind("connect: ", 0) == 0);
    REQUIRE(e.last_error().find("refused") != std::string_view::npos);
  }
  const auto s = db.stats();
  REQUIRE(s.check_failures == 1);  // the idle session failed its round trip
  REQUIRE(s.create_failures >= 2);
  REQUIRE(s.size() == 0);
  frugal::test::server_fault("postgres", "restart");
  auto conn = db.acquire();
  REQUIRE(conn->query("SELECT 3").get(0, 0) == 3);
}

namespace {
// Stops a session's backend process (SIGSTOP) for the guard's life: the session's statements
// then get no answer, as from a frozen server.
struct stopped_backend {
  int pid;
  explicit stopped_backend(int p) : pid(p) { REQUIRE(::kill(pid, SIGSTOP) == 0); }
  ~stopped_backend() { (void)::kill(pid, SIGCONT); }
  stopped_backend(const stopped_backend&) = delete;
  stopped_backend& operator=(const stopped_backend&) = delete;
};

// Runs `statement` and returns how long it took to throw the statement-timeout error.
template <class F>
std::chrono::steady_clock::duration time_out(F&& statement, const std::string& what) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    statement();
    FAIL("the statement was answered");
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.what()) == what + ": no answer within 300 ms; the session is closed");
    REQUIRE(std::string(e.sqlstate()).empty());
  }
  return std::chrono::steady_clock::now() - t0;
}
}  // namespace

TEST_CASE("with a statement timeout, statements answer as without one", "[postgres]") {
  auto c = fresh_schema();
  REQUIRE(c.statement_timeout() == 0ms);
  c.set_statement_timeout(5s);
  REQUIRE(c.statement_timeout() == 5s);
  const auto before = c.round_trips();
  const char* sql = "SELECT name FROM frugal_test.users WHERE id = $1";
  REQUIRE(c.query(sql, 3).text(0, 0) == "user3");
  REQUIRE(c.query(sql, 4).text(0, 0) == "user4");
  REQUIRE(c.round_trips() - before == 3);  // prepare, execute, execute
  // Several statements: the last one's result, as PQexec gives it.
  REQUIRE(c.exec("SELECT 1; SELECT 2, 3").get(0, 1) == 3);
  REQUIRE(c.exec("").status() == PGRES_EMPTY_QUERY);
  const char* values[] = {"7"};
  REQUIRE(c.exec_params("SELECT $1::int * 6", values).get(0, 0) == 42);
  // Errors keep their SQLSTATE and prefix; the first failing statement of several ends them.
  try {
    c.exec("SELECT 1; SELECT * FROM frugal_test.nothing; SELECT 2");
    FAIL("no error");
  } catch (const frugal::pg_error& e) {
    REQUIRE(std::string(e.sqlstate()) == "42P01");
    REQUIRE(std::string(e.what()).rfind("exec: ERROR:  relation", 0) == 0);
  }
  REQUIRE_THROWS_AS(c.query("INSERT INTO frugal_test.users VALUES ($1, $2)", 3, "x"),
                    frugal::pg_error);
  REQUIRE_THROWS_AS(c.query("SELEC 1"), frugal::pg_error);
  REQUIRE(c.ok());
  // A statement that takes less than the bound is answered.
  REQUIRE(c.query("SELECT pg_sleep(0.2), 5").get(0, 1) == 5);
  // Moved, the session keeps its bound.
  frugal::pg_connection moved = std::move(c);
  REQUIRE(moved.statement_timeout() == 5s);
  frugal::pg_connection assigned(nullptr);
  assigned = std::move(moved);
  REQUIRE(assigned.statement_timeout() == 5s);
  REQUIRE(assigned.query(sql, 5).text(0, 0) == "user5");
}

TEST_CASE("a statement timeout too large for the clock is no bound", "[postgres]") {
  auto c = frugal::pg_connection::connect(conninfo());
  c.set_statement_timeout(std::chrono::milliseconds::max());
  REQUIRE(c.exec("SELECT 1").get(0, 0) == 1);
  REQUIRE(c.query("SELECT $1::int", 2).get(0, 0) == 2);
  REQUIRE(c.ok());
  auto o = small_pool(true);
  o.acquire_timeout = std::chrono::milliseconds::max();
  o.statement_timeout = std::chrono::milliseconds::max();
  auto db = frugal::make_pg_pool(conninfo(), o);
  { REQUIRE(db.acquire()->query("SELECT 3").get(0, 0) == 3); }
  REQUIRE(db.acquire()->query("SELECT 4").get(0, 0) == 4);  // checked by an empty statement
}

TEST_CASE("with a statement timeout, a COPY left open is ended by the next statement",
          "[postgres]") {
  for (const char* copy : {"COPY (SELECT 1) TO STDOUT", "COPY copy_left FROM STDIN"}) {
    INFO(copy);
    auto c = frugal::pg_connection::connect(conninfo());
    c.exec("CREATE TEMP TABLE copy_left (a int)");
    c.set_statement_timeout(5s);
    (void)c.exec(copy);  // the COPY starts; nothing sends or reads its rows
    REQUIRE(c.exec("SELECT 1").get(0, 0) == 1);
    REQUIRE(c.query("SELECT $1::int", 2).get(0, 0) == 2);
    REQUIRE(c.ok());
    REQUIRE(c.idle());
  }
}

TEST_CASE("a statement unanswered within the statement timeout closes the session",
          "[postgres]") {
  SECTION("a slow statement, through each call") {
    auto c = frugal::pg_connection::connect(conninfo());
    c.set_statement_timeout(300ms);
    const char* values[] = {"2"};
    std::string what;
    std::function<void()> statement;
    SECTION("query") {
      what = "query";
      c.query("SELECT pg_sleep($1::float8)", "0");  // prepared: the execute times out
      statement = [&] { c.query("SELECT pg_sleep($1::float8)", "2"); };
    }
    SECTION("prepare") {
      what = "prepare";  // slow while another session holds a lock that planning needs (below)
    }
    SECTION("exec") {
      what = "exec";
      statement = [&] { c.exec("SELECT pg_sleep(2)"); };
    }
    SECTION("exec_params") {
      what = "exec_params";
      statement = [&] { c.exec_params("SELECT pg_sleep($1::float8)", values); };
    }
    if (what == "prepare") {
      // A second session holds an exclusive lock on a table that the statement's plan needs.
      auto locker = fresh_schema();
      locker.exec("BEGIN; LOCK TABLE frugal_test.users IN ACCESS EXCLUSIVE MODE");
      statement = [&] { c.query("SELECT name FROM frugal_test.users WHERE id = $1", 1); };
      const auto took = time_out(statement, what);
      CHECK(took < 1500ms);
      locker.exec("ROLLBACK");
    } else {
      const auto took = time_out(statement, what);
      REQUIRE(took >= 300ms);
      CHECK(took < 1500ms);  // not the statement's 2 s
    }
    REQUIRE_FALSE(c.ok());
    REQUIRE_FALSE(c.idle());
    REQUIRE(c.native() == nullptr);
    REQUIRE(c.prepared_count() == 0);
    REQUIRE(c.backend_pid() == 0);
    // Every later statement fails at once with a message that says why.
    REQUIRE_THROWS_WITH(c.query("SELECT 1"), "prepare: no session (moved from, or closed after a statement timed out)");
    REQUIRE_THROWS_WITH(c.exec("SELECT 1"), "exec: no session (moved from, or closed after a statement timed out)");
    REQUIRE_THROWS_WITH(c.exec_params("SELECT 1", {}),
                        "exec_params: no session (moved from, or closed after a statement timed out)");
  }
  SECTION("a frozen backend (SIGSTOP)") {
    auto c = frugal::pg_connection::connect(conninfo());
    c.set_statement_timeout(300ms);
    REQUIRE(c.query("SELECT 1").get(0, 0) == 1);
    stopped_backend frozen(c.backend_pid());
    const auto took = time_out([&] { c.query("SELECT 1"); }, "query");
    REQUIRE(took >= 300ms);
    CHECK(took < 1500ms);
    REQUIRE_FALSE(c.ok());
  }
}

TEST_CASE("pool: statement_timeout bounds every session's statements, and a session that "
          "timed out is closed at release",
          "[postgres]") {
  auto o = small_pool();
  o.statement_timeout = 300ms;
  auto db = frugal::make_pg_pool(conninfo(), o);
  {
    auto conn = db.acquire();
    REQUIRE(conn->statement_timeout() == 300ms);
    REQUIRE(conn->query("SELECT 1").get(0, 0) == 1);
    stopped_backend frozen(conn->backend_pid());
    (void)time_out([&] { conn->query("SELECT 1"); }, "query");  // prepared before
  }
  auto s = db.stats();
  REQUIRE(s.destroyed == 1);  // not returned to the pool
  REQUIRE(s.idle == 0);
  auto again = db.acquire();
  REQUIRE(again->ok());
  REQUIRE(again->query("SELECT 3").get(0, 0) == 3);
}
