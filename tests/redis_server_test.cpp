// The Redis client layer and tiered_cache against a real redis-server (the `redis` ctest
// fixture: no persistence, its own directory, DEBUG allowed from loopback). Fault cases stop,
// pause, fill and restart that server; each leaves it running and empty for the next case.
#include "server.hpp"

#include <frugal/interop/redis.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace std::chrono_literals;

namespace {

frugal::redis_options opts(std::string prefix = "") {
  const auto s = frugal::test::server_fixture("redis");
  return {.host = s.host,
          .port = s.port,
          .connect_timeout = 500ms,
          .command_timeout = 1000ms,
          .key_prefix = std::move(prefix)};
}

// A plain connection for the test's own checks.
frugal::redis_connection admin() {
  auto o = opts();
  o.command_timeout = 5000ms;
  return frugal::redis_connection(o);
}

void flushall() { admin().command({"FLUSHALL"}); }

// Waits up to 5 s for `done()`; returns its last answer.
bool eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct user {
  std::uint64_t id;
  std::uint32_t age;
  bool operator==(const user&) const = default;
};

using users = frugal::tiered_cache<std::uint64_t, user>;

users::options_type user_options(std::string prefix = "t:") {
  return {.redis = opts(std::move(prefix)),
          .local = {.max_capacity = 1000},
          .key =
              [](std::uint64_t id, std::string& out) {
                out.append("user:");
                frugal::append_decimal(out, id);
              },
          .ttl = 300s,
          .retry = 20ms,
          .retry_max = 100ms};
}

// Starts `child(i)` in `n` forked processes (before the caller starts any thread of its own).
std::vector<pid_t> spawn(int n, const std::function<int(int)>& child) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int rc = 99;
      try {
        rc = child(i);
      } catch (...) {
        rc = 98;
      }
      std::fflush(nullptr);
      ::_exit(rc);
    }
    pids.push_back(pid);
  }
  return pids;
}

// Waits for every process; returns their exit codes (0: all its checks passed).
std::vector<int> wait_all(const std::vector<pid_t>& pids) {
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

}  // namespace

TEST_CASE("commands are argument vectors: binary keys and values round-trip, nothing injects",
          "[redis]") {
  flushall();
  frugal::redis_connection c(opts());
  CHECK(c.command({"PING"}).str() == "PONG");
  const std::string key("user 1\r\nFLUSHALL\r\n\0end", 22);
  const std::string value("*1\r\n$8\r\nFLUSHALL\r\n\0\xff", 21);
  c.command({"SET", "survivor", "1"});
  CHECK(c.command({"SET", key, value}).str() == "OK");
  const auto r = c.command({"GET", key});
  CHECK(r.is_string());
  CHECK(r.str() == value);
  CHECK(c.command({"DBSIZE"}).integer() == 2);
  CHECK(c.command({"GET", "survivor"}).str() == "1");
  CHECK(c.command({"GET", "absent"}).is_nil());
  CHECK(c.command({"EXISTS", std::string_view(key).substr(0, 6)}).integer() == 0);
}

TEST_CASE("a unix socket connection works like TCP", "[redis]") {
  const auto s = frugal::test::server_fixture("redis");
  frugal::redis_connection c({.unix_socket = s.socket});
  CHECK(c.command({"PING"}).str() == "PONG");
  CHECK(c.fd() >= 0);
}

TEST_CASE("an error reply throws redis_error with the server's message, the connection lives",
          "[redis]") {
  flushall();
  frugal::redis_connection c(opts());
  c.command({"SET", "name", "ada"});
  try {
    c.command({"INCR", "name"});
    FAIL("INCR of a string succeeded");
  } catch (const frugal::redis_error& e) {
    CHECK(e.code() == frugal::redis_errc::server);
    CHECK(std::string(e.what()).find("ERR value is not an integer") != std::string::npos);
  }
  CHECK_FALSE(c.broken());
  CHECK_FALSE(c.try_command({"NOSUCHCOMMAND"}));
  CHECK(c.error().find("unknown command") != std::string::npos);
  CHECK(c.error_code() == frugal::redis_errc::server);
  CHECK(c.command({"GET", "name"}).str() == "ada");
  CHECK(c.error().empty());
}

TEST_CASE("AUTH with an ACL user, a wrong password named by the server, and SELECT", "[redis]") {
  flushall();
  auto a = admin();
  a.command({"ACL", "SETUSER", "frugal", "on", ">s3cret", "~*", "&*", "+@all"});
  auto o = opts();
  o.username = "frugal";
  o.password = "s3cret";
  o.database = 3;
  {
    frugal::redis_connection c(o);
    c.command({"SET", "k", "in-db-3"});
    CHECK(c.command({"ACL", "WHOAMI"}).str() == "frugal");
  }
  CHECK(a.command({"GET", "k"}).is_nil());
  a.command({"SELECT", "3"});
  CHECK(a.command({"GET", "k"}).str() == "in-db-3");
  a.command({"FLUSHDB"});
  a.command({"SELECT", "0"});
  o.password = "wrong";
  try {
    frugal::redis_connection c(o);
    FAIL("AUTH with a wrong password succeeded");
  } catch (const frugal::redis_error& e) {
    CHECK(e.code() == frugal::redis_errc::server);
    CHECK(std::string(e.what()).find("WRONGPASS") != std::string::npos);
  }
  auto broken = frugal::redis_connection::open(o);
  CHECK(broken.broken());
  o.password = "s3cret";
  o.database = 100000;  // beyond `databases`: SELECT fails
  CHECK_THROWS_AS(frugal::redis_connection(o), frugal::redis_error);
  a.command({"ACL", "DELUSER", "frugal"});
}

TEST_CASE("pipelined commands: many queued, one send, replies in order", "[redis]") {
  flushall();
  frugal::redis_connection c(opts());
  for (int i = 0; i < 100; ++i) {
    const std::string k = "p" + std::to_string(i);
    c.append({"SET", k, std::to_string(i * i)});
  }
  for (int i = 0; i < 100; ++i) CHECK(c.read_reply().str() == "OK");
  std::vector<std::string> keys;
  std::vector<std::string_view> args{"MGET"};
  for (int i = 0; i < 100; ++i) keys.push_back("p" + std::to_string(i));
  for (auto& k : keys) args.push_back(k);
  const auto r = c.command(args);
  REQUIRE(r.size() == 100);
  for (std::size_t i = 0; i < 100; ++i) CHECK(r[i].str() == std::to_string(i * i));
}

TEST_CASE("a command timeout breaks the connection, reconnect() brings it back", "[redis]") {
  flushall();
  auto o = opts();
  o.command_timeout = 100ms;
  frugal::redis_connection c(o);
  auto sleeper = std::async(std::launch::async, [] { admin().command({"DEBUG", "SLEEP", "0.6"}); });
  std::this_thread::sleep_for(100ms);  // let DEBUG SLEEP start
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(c.try_command({"PING"}));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(c.broken());
  CHECK(c.error_code() == frugal::redis_errc::timeout);
  CHECK(c.error().find("timed out") != std::string::npos);
  CHECK(waited < 500ms);
  sleeper.get();
  CHECK_THROWS_AS(c.command({"PING"}), frugal::redis_error);
  c.reconnect();
  CHECK(c.command({"PING"}).str() == "PONG");
}

TEST_CASE("CLIENT PAUSE holds commands past the timeout", "[redis]") {
  auto o = opts();
  o.command_timeout = 100ms;
  frugal::redis_connection c(o);
  frugal::test::server_fault("redis", "client-pause 400");
  CHECK_FALSE(c.try_command({"SET", "x", "1"}));
  CHECK(c.error_code() == frugal::redis_errc::timeout);
  std::this_thread::sleep_for(400ms);
  CHECK(c.try_reconnect());
  CHECK(c.command({"PING"}).str() == "PONG");
}

TEST_CASE("the stampede lock: one holder, token-checked release, expiry", "[redis]") {
  flushall();
  frugal::redis_connection c(opts());
  CHECK(c.command({"SCRIPT", "LOAD", frugal::redis_unlock_script}).str() ==
        frugal::redis_unlock_script_sha);
  c.command({"SCRIPT", "FLUSH"});  // the first unlock must fall back to EVAL
  auto t1 = frugal::redis_try_lock(c, "lock:a", 5000ms);
  REQUIRE(t1);
  CHECK(c.command({"GET", "lock:a"}).str() == t1->view());
  const auto pttl = c.command({"PTTL", "lock:a"}).integer();
  CHECK(pttl > 4000);
  CHECK(pttl <= 5000);
  CHECK_FALSE(frugal::redis_try_lock(c, "lock:a", 5000ms));
  CHECK(c.error().empty());  // held by another, not a failure
  frugal::redis_lock_token other = *t1;
  other.text[0] = other.text[0] == 'a' ? 'b' : 'a';
  CHECK_FALSE(frugal::redis_unlock(c, "lock:a", other));
  CHECK(c.command({"EXISTS", "lock:a"}).integer() == 1);
  CHECK(frugal::redis_unlock(c, "lock:a", *t1));
  CHECK(c.command({"EXISTS", "lock:a"}).integer() == 0);
  CHECK_FALSE(frugal::redis_unlock(c, "lock:a", *t1));  // EVALSHA now known
  auto t2 = frugal::redis_try_lock(c, "lock:b", 50ms);
  REQUIRE(t2);
  CHECK(eventually([&] { return c.command({"EXISTS", "lock:b"}).integer() == 0; }));
  auto t3 = frugal::redis_try_lock(c, "lock:b", 5000ms);
  REQUIRE(t3);
  CHECK_FALSE(frugal::redis_unlock(c, "lock:b", *t2));  // expired: the new holder keeps it
  CHECK(c.command({"GET", "lock:b"}).str() == t3->view());
}

TEST_CASE("a subscriber gets messages and subscribes again after its connection is killed",
          "[redis]") {
  std::mutex m;
  std::vector<std::string> got;
  std::atomic<int> subscribed{0};
  std::vector<std::string> logged;
  frugal::redis_subscriber sub(
      opts(), "chan",
      [&](std::string_view p) {
        std::lock_guard lock(m);
        got.emplace_back(p);
      },
      [&] { subscribed.fetch_add(1); },
      [&](std::string_view why) {
        std::lock_guard lock(m);
        logged.emplace_back(why);
      });
  REQUIRE(sub.wait_subscribed(5s));
  auto a = admin();
  const std::string binary("x\0y\r\n", 5);
  CHECK(a.command({"PUBLISH", "chan", binary}).integer() == 1);
  CHECK(a.command({"PUBLISH", "other", "ignored"}).integer() == 0);
  CHECK(eventually([&] {
    std::lock_guard lock(m);
    return got.size() == 1;
  }));
  a.command({"CLIENT", "KILL", "TYPE", "pubsub"});
  REQUIRE(sub.wait_subscribed(5s, 2));
  CHECK(subscribed.load() == 2);
  CHECK(sub.subscriptions() == 2);
  a.command({"PUBLISH", "chan", "after"});
  CHECK(eventually([&] {
    std::lock_guard lock(m);
    return got.size() == 2;
  }));
  std::lock_guard lock(m);
  CHECK(got[0] == binary);
  CHECK(got[1] == "after");
  // The lost connection was logged with a reason, never an empty message.
  REQUIRE_FALSE(logged.empty());
  for (const auto& why : logged) CHECK_FALSE(why.empty());
}

TEST_CASE("a subscriber whose callbacks throw keeps its subscription and later messages",
          "[redis]") {
  std::mutex m;
  std::vector<std::string> got;
  std::vector<std::string> logged;
  std::atomic<int> subscribed{0};
  frugal::redis_subscriber sub(
      opts(), "chan",
      [&](std::string_view p) {
        if (p == "bad") throw std::runtime_error("on_message failed");
        std::lock_guard lock(m);
        got.emplace_back(p);
      },
      [&] {
        subscribed.fetch_add(1);
        throw std::runtime_error("on_subscribed failed");
      },
      [&](std::string_view why) {
        std::lock_guard lock(m);
        logged.emplace_back(why);
      });
  REQUIRE(sub.wait_subscribed(5s));
  auto a = admin();
  // Pipelined, so that all three can arrive in one read: the throw must lose "bad" only.
  a.append({"PUBLISH", "chan", "one"});
  a.append({"PUBLISH", "chan", "bad"});
  a.append({"PUBLISH", "chan", "two"});
  for (int i = 0; i < 3; ++i) CHECK(a.read_reply().integer() == 1);
  CHECK(eventually([&] {
    std::lock_guard lock(m);
    return got.size() == 2;
  }));
  std::lock_guard lock(m);
  CHECK(got == std::vector<std::string>{"one", "two"});
  CHECK(sub.subscriptions() == 1);  // never dropped its connection
  CHECK(subscribed.load() == 1);
  CHECK(std::count(logged.begin(), logged.end(), "on_message failed") == 1);
  CHECK(std::count(logged.begin(), logged.end(), "on_subscribed failed") == 1);
}

TEST_CASE("a subscriber stuck subscribing to a paused Redis is destroyed in bounded time",
          "[redis]") {
  auto o = opts();
  o.command_timeout = 0ms;  // none: the subscription still waits at most 1 s
  frugal::test::server_fault("redis", "pause");
  std::optional<frugal::redis_subscriber> sub;
  sub.emplace(o, "chan", [](std::string_view) {});
  std::this_thread::sleep_for(100ms);  // its thread sent SUBSCRIBE and waits for the answer
  const auto t0 = std::chrono::steady_clock::now();
  sub.reset();
  const auto took = std::chrono::steady_clock::now() - t0;
  frugal::test::server_fault("redis", "resume");
  CHECK(took < 2500ms);
}

TEST_CASE("get_with: L1 hit, L2 hit in another instance, miss loads and writes with EX",
          "[redis]") {
  flushall();
  users a(user_options()), b(user_options());
  REQUIRE(a.wait_subscribed(5s));
  int loads = 0;
  auto load = [&] {
    ++loads;
    return user{42, 36};
  };
  CHECK(*a.get_with(42, load) == user{42, 36});
  CHECK(loads == 1);
  auto sa = a.stats();
  CHECK(sa.l2_misses == 1);
  CHECK(sa.loads == 1);
  CHECK(sa.round_trips == 4);  // GET, SET NX (the lock), SET EX, EVALSHA (the unlock)
  auto c = admin();
  CHECK(c.command({"TTL", "t:user:42"}).integer() > 290);
  CHECK(c.command({"EXISTS", "t:user:42:lock"}).integer() == 0);  // released
  CHECK(c.command({"GET", "t:user:42"}).str().size() == sizeof(user));
  CHECK(*a.get_with(42, load) == user{42, 36});    // L1
  CHECK(a.stats().round_trips == sa.round_trips);  // an L1 hit never reaches Redis
  CHECK(*b.get_with(42, load) == user{42, 36});    // L2
  CHECK(loads == 1);
  CHECK(b.stats().l2_hits == 1);
  CHECK(b.stats().round_trips == 1);
  CHECK(b.local().contains(std::uint64_t{42}));
}

TEST_CASE("invalidate deletes in Redis and every instance drops its L1 copy", "[redis]") {
  flushall();
  users a(user_options()), b(user_options());
  REQUIRE(a.wait_subscribed(5s));
  REQUIRE(b.wait_subscribed(5s));
  std::uint32_t age = 30;
  auto load = [&] { return user{7, age}; };
  CHECK(a.get_with(7, load)->age == 30);
  CHECK(b.get_with(7, load)->age == 30);
  age = 31;
  CHECK(a.invalidate(7));
  CHECK(admin().command({"EXISTS", "t:user:7"}).integer() == 0);
  CHECK_FALSE(a.local().contains(std::uint64_t{7}));
  CHECK(eventually([&] { return !b.local().contains(std::uint64_t{7}); }));
  CHECK(b.stats().invalidations_received == 1);
  CHECK(b.get_with(7, load)->age == 31);
  CHECK(a.get_with(7, load)->age == 31);  // from Redis, written by b
}

TEST_CASE("invalidation reaches an instance in another process", "[redis]") {
  flushall();
  admin().command({"SET", "db:9", "1"});  // the database row both processes load
  auto db_age = [] {
    return static_cast<std::uint32_t>(
        std::stoul(std::string(admin().command({"GET", "db:9"}).str())));
  };
  // The child fills its L1, says so, waits for the parent's invalidation and loads again.
  const auto pids = spawn(1, [&](int) {
    users b(user_options());
    if (!b.wait_subscribed(5s)) return 1;
    if (b.get_with(9, [&] { return user{9, db_age()}; })->age != 1) return 2;
    admin().command({"SET", "child:ready", "1"});
    if (!eventually([&] { return !b.local().contains(std::uint64_t{9}); })) return 3;
    if (b.get_with(9, [&] { return user{9, db_age()}; })->age != 2) return 4;
    return b.stats().invalidations_received == 1 ? 0 : 5;
  });
  users a(user_options());
  REQUIRE(eventually([] { return admin().command({"EXISTS", "child:ready"}).integer() == 1; }));
  CHECK(a.get_with(9, [&] { return user{9, db_age()}; })->age == 1);  // from Redis
  CHECK(a.stats().l2_hits == 1);
  admin().command({"SET", "db:9", "2"});  // the row changes, then the cache is told
  CHECK(a.invalidate(9));
  CHECK(wait_all(pids) == std::vector<int>{0});
}

TEST_CASE("get_all: L1 hits, one MGET, one batch load, one pipelined write-back", "[redis]") {
  flushall();
  users a(user_options()), b(user_options());
  std::vector<std::vector<std::uint64_t>> calls;
  auto batch = [&](std::span<const std::uint64_t> ask) {
    calls.emplace_back(ask.begin(), ask.end());
    std::vector<std::optional<user>> r;
    for (auto k : ask) r.push_back(k % 10 == 0 ? std::nullopt : std::optional<user>(user{k, 20}));
    return r;
  };
  std::vector<std::uint64_t> keys;
  for (std::uint64_t k = 1; k <= 100; ++k) keys.push_back(k);
  (void)a.get_with(5, [] { return user{5, 20}; });  // in L1 and Redis
  const auto before = a.stats().round_trips;
  auto out = a.get_all(keys, batch);
  REQUIRE(out.size() == 100);
  for (std::size_t i = 0; i < 100; ++i) {
    if (keys[i] % 10 == 0) {
      CHECK(out[i] == nullptr);
    } else {
      REQUIRE(out[i]);
      CHECK(*out[i] == user{keys[i], 20});
    }
  }
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].size() == 99);  // key 5 was an L1 hit
  CHECK(a.stats().round_trips - before == 2);
  // Another instance: everything Redis has comes in one MGET, the rest in one batch.
  calls.clear();
  auto out_b = b.get_all(keys, batch);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].size() == 10);  // the keys nobody has
  CHECK(b.stats().l2_hits == 90);
  CHECK(b.stats().round_trips == 1);  // no value to write back
  CHECK(*out_b[4] == user{5, 20});
  auto c = admin();
  CHECK(c.command({"TTL", "t:user:99"}).integer() > 290);
}

TEST_CASE("get_all lends its connection back while the batch function runs", "[redis]") {
  flushall();
  auto o = user_options();
  o.connections = 1;
  o.channel = "";
  users a(o);
  (void)a.get_with(7, [] { return user{7, 1}; });  // Redis holds t:user:7
  bool invalidated = false;
  std::chrono::steady_clock::duration took{};
  const std::vector<std::uint64_t> keys{1, 2};
  auto out = a.get_all(keys, [&](std::span<const std::uint64_t> ask) {
    // A slow page's batch (a database query) while another request invalidates: the one
    // connection is free, not held by this get_all.
    const auto t0 = std::chrono::steady_clock::now();
    invalidated = a.invalidate(7);
    took = std::chrono::steady_clock::now() - t0;
    std::vector<user> r;
    for (auto k : ask) r.push_back(user{k, 2});
    return r;
  });
  CHECK(invalidated);
  CHECK(took < 400ms);  // no wait for the pool (connect_timeout 500 ms)
  CHECK(a.stats().l2_errors == 0);
  CHECK(admin().command({"EXISTS", "t:user:7"}).integer() == 0);
  REQUIRE(out.size() == 2);
  CHECK(*out[1] == user{2, 2});
  CHECK(admin().command({"EXISTS", "t:user:2"}).integer() == 1);  // written back
}

TEST_CASE("idle connections Redis closed (CLIENT KILL) are replaced before use", "[redis]") {
  flushall();
  auto o = user_options();
  o.channel = "";
  users a(o);
  (void)a.get_with(7, [] { return user{7, 1}; });
  REQUIRE(a.connections().stats().idle >= 1);
  admin().command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  std::this_thread::sleep_for(50ms);
  CHECK(a.invalidate(7));  // on a new connection: the DEL is not lost
  CHECK(admin().command({"EXISTS", "t:user:7"}).integer() == 0);
  CHECK(a.stats().l2_errors == 0);
  CHECK(a.connections().stats().check_failures >= 1);
  a.local().invalidate(std::uint64_t{8});
  CHECK(a.get_with(8, [] { return user{8, 1}; })->age == 1);
  CHECK(admin().command({"EXISTS", "t:user:8"}).integer() == 1);
  CHECK(a.stats().l2_errors == 0);
}

TEST_CASE("a lock_ttl as long as the options allow: waiters still wait for the holder",
          "[redis]") {
  flushall();
  auto o = user_options();
  o.channel = "";
  o.lock_ttl = std::chrono::milliseconds(std::int64_t{1} << 52);
  o.lock_poll = 5ms;
  o.lock_poll_max = 20ms;
  users a(o);
  // Another instance holds the lock of key 9 and writes the value 150 ms later.
  admin().command({"SET", "t:user:9:lock", "someone-else", "PX", "60000"});
  std::thread holder([] {
    std::this_thread::sleep_for(150ms);
    std::string bytes;
    frugal::redis_codec<user>::encode(user{9, 42}, bytes);
    auto c = admin();
    c.command({"SET", "t:user:9", bytes, "EX", "300"});
    c.command({"DEL", "t:user:9:lock"});
  });
  int loads = 0;
  const auto v = a.get_with(9, [&] {
    ++loads;
    return user{9, 1};
  });
  holder.join();
  CHECK(loads == 0);  // the deadline is far ahead, not overflowed into the past
  CHECK(v->age == 42);
  CHECK(a.stats().lock_wait_hits == 1);
}

TEST_CASE("round_trips counts the unlock's second round trip on a server without the script",
          "[redis]") {
  flushall();
  admin().command({"SCRIPT", "FLUSH"});
  auto o = user_options();
  o.channel = "";
  users a(o);
  (void)a.get_with(1, [] { return user{1, 1}; });
  // GET, SET NX + GET, SET EX, EVALSHA (NOSCRIPT), EVAL.
  CHECK(a.stats().round_trips == 5);
  (void)a.get_with(2, [] { return user{2, 1}; });
  CHECK(a.stats().round_trips == 9);  // the script is loaded now: EVALSHA alone
}

TEST_CASE("a value that fails to decode is a miss and is overwritten", "[redis]") {
  flushall();
  auto c = admin();
  c.command({"SET", "t:user:3", "not a user"});
  users a(user_options());
  CHECK(*a.get_with(3, [] { return user{3, 50}; }) == user{3, 50});
  CHECK(a.stats().decode_errors == 1);
  CHECK(c.command({"GET", "t:user:3"}).str().size() == sizeof(user));
  c.command({"SET", "t:user:4", "bad"});
  const std::vector<std::uint64_t> keys{4};
  auto out = a.get_all(keys, [](std::span<const std::uint64_t> k) {
    return std::vector<std::optional<user>>{user{k[0], 51}};
  });
  CHECK(out[0]->age == 51);
  CHECK(a.stats().decode_errors == 2);
  CHECK(c.command({"GET", "t:user:4"}).str().size() == sizeof(user));
}

TEST_CASE("stampede across processes: the loader runs once", "[redis]") {
  flushall();
  const auto pids = spawn(4, [](int) {
    auto o = user_options();
    o.channel = "";
    users u(o);
    auto c = admin();
    // Start together: each waits for the others' arrival.
    c.command({"INCR", "arrived"});
    if (!eventually([&] { return c.command({"GET", "arrived"}).str() == "4"; })) return 1;
    const auto v = u.get_with(1234, [&] {
      c.command({"INCR", "loader_runs"});
      std::this_thread::sleep_for(200ms);
      return user{1234, 77};
    });
    return *v == user{1234, 77} ? 0 : 2;
  });
  CHECK(wait_all(pids) == std::vector<int>(4, 0));
  CHECK(admin().command({"GET", "loader_runs"}).str() == "1");
}

TEST_CASE("two processes on one cold trace: the tier loads each key once, L1 alone twice",
          "[redis]") {
  // A Zipf-like trace over 400 ids (popular ids repeat, most come once or twice).
  std::mt19937_64 rng(11);
  std::vector<std::uint64_t> trace;
  for (int i = 0; i < 1500; ++i) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    trace.push_back(1 + static_cast<std::uint64_t>(std::pow(400.0, u)) % 400);
  }
  const auto distinct = std::set<std::uint64_t>(trace.begin(), trace.end()).size();
  // Runs `service` on the trace in two forked processes that start together; returns their
  // database reads in total. A process whose values are wrong reports ~0.
  auto in_two_processes = [&](const std::function<std::uint64_t()>& service) {
    int ready[2], go[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(go) == 0);
    std::vector<int> results;
    const auto pids = spawn(2, [&](int) {
      ::close(ready[0]);
      ::close(go[1]);
      char c = 'r';
      if (::write(ready[1], &c, 1) != 1 || ::read(go[0], &c, 1) != 1) return 1;
      const std::uint64_t loads = service();
      return ::write(ready[1], &loads, sizeof loads) == sizeof loads ? 0 : 2;
    });
    ::close(ready[1]);
    ::close(go[0]);
    char c[2];
    for (int n = 0; n < 2;) {  // both built their service and wait
      const auto r = ::read(ready[0], c, 2 - static_cast<std::size_t>(n));
      REQUIRE(r > 0);
      n += static_cast<int>(r);
    }
    REQUIRE(::write(go[1], "gg", 2) == 2);
    ::close(go[1]);
    CHECK(wait_all(pids) == std::vector<int>{0, 0});
    std::uint64_t total = 0, loads = 0;
    for (int i = 0; i < 2; ++i) {
      REQUIRE(::read(ready[0], &loads, sizeof loads) == sizeof loads);
      total += loads;
    }
    ::close(ready[0]);
    return total;
  };
  // Each process counts its database reads and checks every value.
  auto replay = [&](auto& cache) -> std::uint64_t {
    std::uint64_t loads = 0;
    for (const std::uint64_t id : trace) {
      const auto v = cache.get_with(id, [&] {
        ++loads;
        std::this_thread::sleep_for(200us);
        return user{id, static_cast<std::uint32_t>(id % 90)};
      });
      if (!(*v == user{id, static_cast<std::uint32_t>(id % 90)})) return ~std::uint64_t{0};
    }
    return loads;
  };
  auto tier = [&](std::uint64_t l1) {
    return [&replay, l1] {
      auto o = user_options();
      o.channel = "";
      o.local.max_capacity = l1;
      // A stalled machine must not turn a GET into a load.
      o.redis.connect_timeout = 5000ms;
      o.redis.command_timeout = 5000ms;
      o.lock_ttl = 10'000ms;
      users u(o);
      return replay(u);
    };
  };
  auto local_only = [&](std::uint64_t l1) {
    return [&replay, l1] {
      frugal::cache<std::uint64_t, user> c({.max_capacity = l1});
      return replay(c);
    };
  };
  SECTION("an L1 that holds every key") {
    flushall();
    CHECK(in_two_processes(tier(1000)) == distinct);
    CHECK(in_two_processes(local_only(1000)) == 2 * distinct);
  }
  SECTION("an L1 of 50 entries: Redis still holds every key once loaded") {
    flushall();
    CHECK(in_two_processes(tier(50)) == distinct);
    CHECK(in_two_processes(local_only(50)) > 2 * distinct);
  }
}

TEST_CASE("stampede between two instances in one process, and a lock holder that fails",
          "[redis]") {
  flushall();
  auto o = user_options();
  o.channel = "";
  users a(o), b(o);
  std::atomic<int> runs{0};
  auto slow = [&] {
    runs.fetch_add(1);
    std::this_thread::sleep_for(150ms);
    return user{8, 1};
  };
  auto fa = std::async(std::launch::async, [&] { return *a.get_with(8, slow); });
  auto fb = std::async(std::launch::async, [&] { return *b.get_with(8, slow); });
  CHECK(fa.get() == user{8, 1});
  CHECK(fb.get() == user{8, 1});
  CHECK(runs.load() == 1);
  CHECK(a.stats().lock_waits + b.stats().lock_waits == 1);
  CHECK(a.stats().lock_wait_hits + b.stats().lock_wait_hits == 1);
  // A holder whose loader throws releases the lock at once: the waiter takes over.
  auto failing = [&]() -> user {
    std::this_thread::sleep_for(50ms);
    throw std::runtime_error("db error");
  };
  auto fc = std::async(std::launch::async, [&] { return a.get_with(10, failing); });
  std::this_thread::sleep_for(10ms);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(b.get_with(10, [] { return user{10, 2}; })->age == 2);
  CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);  // well under the 2 s lock
  CHECK_THROWS_WITH(fc.get(), "db error");
}

TEST_CASE("Redis stopped mid-run: the loader answers, restarted: L2 is used again", "[redis]") {
  flushall();
  std::vector<std::string> logged;
  std::mutex m;
  auto o = user_options();
  o.log = [&](std::string_view s) {
    std::lock_guard lock(m);
    logged.emplace_back(s);
  };
  users a(o);
  REQUIRE(a.wait_subscribed(5s));
  CHECK(a.get_with(1, [] { return user{1, 1}; })->age == 1);
  frugal::test::server_fault("redis", "stop");
  int loads = 0;
  for (std::uint64_t k = 100; k < 110; ++k) {
    CHECK(a.get_with(k, [&] {
             ++loads;
             return user{k, 2};
           })->id == k);
  }
  CHECK(loads == 10);
  CHECK(a.stats().l2_errors >= 1);
  CHECK_FALSE(a.invalidate(1));
  {
    std::lock_guard lock(m);
    CHECK_FALSE(logged.empty());
  }
  frugal::test::server_fault("redis", "restart");
  // Picked up without a restart of ours: after the backoff, values reach Redis again.
  CHECK(eventually([&] {
    (void)a.get_with(500, [] { return user{500, 3}; });
    a.local().invalidate(std::uint64_t{500});
    try {
      return admin().command({"EXISTS", "t:user:500"}).integer() == 1;
    } catch (const frugal::redis_error&) {
      return false;
    }
  }));
  REQUIRE(a.wait_subscribed(5s, 2));
  CHECK(a.stats().l1_flushes >= 2);  // flushed on subscribing again
  CHECK_FALSE(a.local().contains(std::uint64_t{1}));
}

TEST_CASE("a paused Redis (SIGSTOP) costs one command timeout, then L2 is skipped", "[redis]") {
  flushall();
  auto o = user_options();
  o.redis.command_timeout = 100ms;
  o.retry = 1000ms;
  o.retry_max = 1000ms;
  o.channel = "";
  users a(o);
  (void)a.get_with(1, [] { return user{1, 1}; });  // a connection in the pool
  frugal::test::server_fault("redis", "pause");
  const auto t0 = std::chrono::steady_clock::now();
  const auto v = a.get_with(2, [] { return user{2, 2}; });
  const auto first = std::chrono::steady_clock::now() - t0;
  const auto t1 = std::chrono::steady_clock::now();
  const auto w = a.get_with(3, [] { return user{3, 3}; });
  const auto second = std::chrono::steady_clock::now() - t1;
  frugal::test::server_fault("redis", "resume");
  CHECK(v->age == 2);
  CHECK(w->age == 3);
  CHECK(first < 900ms);
  CHECK(second < 50ms);  // skipped: Redis failed within the retry pause
  CHECK(a.stats().l2_errors == 1);
  CHECK(a.stats().l2_skipped >= 1);
}

TEST_CASE("invalidate during the backoff after a failure still deletes in Redis", "[redis]") {
  flushall();
  auto o = user_options();
  o.redis.command_timeout = 100ms;
  o.retry = 10'000ms;  // reads skip Redis for the rest of the case
  o.retry_max = 10'000ms;
  o.channel = "";
  users a(o);
  (void)a.get_with(1, [] { return user{1, 1}; });  // Redis holds t:user:1
  REQUIRE(admin().command({"EXISTS", "t:user:1"}).integer() == 1);
  frugal::test::server_fault("redis", "pause");
  (void)a.get_with(2, [] { return user{2, 2}; });  // times out: the backoff starts
  frugal::test::server_fault("redis", "resume");
  REQUIRE(a.stats().l2_errors == 1);
  CHECK(a.invalidate(1));
  CHECK(admin().command({"EXISTS", "t:user:1"}).integer() == 0);
  // Reads still skip Redis until the backoff ends; the key was not read back from it.
  CHECK(a.get_with(1, [] { return user{1, 2}; })->age == 2);
  CHECK(a.stats().l2_skipped >= 1);
}

TEST_CASE("Redis at maxmemory refuses writes: counted, values still served", "[redis]") {
  flushall();
  auto c = admin();
  c.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  c.command({"CONFIG", "SET", "maxmemory", "1"});
  auto o = user_options();
  o.channel = "";
  users a(o);
  CHECK(a.get_with(1, [] { return user{1, 1}; })->age == 1);
  const auto errors = a.stats().l2_errors;
  c.command({"CONFIG", "SET", "maxmemory", "0"});
  CHECK(errors >= 1);  // SET NX of the lock or SET EX refused (OOM)
  CHECK(c.command({"EXISTS", "t:user:1"}).integer() == 0);
  CHECK(a.get_with(2, [] { return user{2, 2}; })->age == 2);
  CHECK(c.command({"EXISTS", "t:user:2"}).integer() == 1);
}

TEST_CASE("connections killed under load: no caller sees an error", "[redis]") {
  flushall();
  auto o = user_options();
  o.channel = "";
  o.retry = 1ms;
  o.retry_max = 5ms;
  users a(o);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!stop.load()) {
        const std::uint64_t k = rng() % 200;
        const auto v = a.get_with(k, [&] { return user{k, 9}; });
        if (!(*v == user{k, 9})) wrong.fetch_add(1);
        if (rng() % 4 == 0) a.local().invalidate(k);
      }
    });
  }
  auto c = admin();
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(40ms);
    c.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  }
  stop.store(true);
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  // Each kill broke a command in flight or an idle connection (replaced before use).
  CHECK(a.stats().l2_errors + a.connections().stats().check_failures >= 1);
  CHECK(a.stats().l2_hits >= 1);
}

TEST_CASE("killed idle connections cost one failure, not one per connection", "[redis]") {
  flushall();
  auto o = user_options();
  o.channel = "";
  o.retry = 50ms;
  o.retry_max = 2000ms;
  users a(o);
  // Fill the pool with idle connections: several lookups at once, each on its own.
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 20; ++i) {
          const auto k = static_cast<std::uint64_t>(1000 + t * 100 + i);
          (void)a.get_with(k, [&] { return user{k, 1}; });
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  const auto idle_before = a.connections().stats().idle;
  INFO("idle connections: " << idle_before);
  REQUIRE(idle_before >= 2);
  admin().command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  const auto errors_before = a.stats().l2_errors;
  // One request every 10 ms: Redis is used again after one backoff (50 ms), where handing
  // out the dead connections one by one doubled it per connection (seconds).
  const auto t0 = std::chrono::steady_clock::now();
  bool back = false;
  for (std::uint64_t k = 5000; k < 5300 && !back; ++k) {
    (void)a.get_with(k, [&] { return user{k, 2}; });
    a.local().invalidate(k);
    back = admin().command({"EXISTS", "t:user:" + std::to_string(k)}).integer() == 1;
    if (!back) std::this_thread::sleep_for(10ms);
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(back);
  CHECK(took < 1500ms);
  CHECK(a.stats().l2_errors - errors_before <= 2);
}

TEST_CASE("exact allocations: an L1 hit none, an L2 hit the L1 entry and coalescing record",
          "[redis]") {
  flushall();
  auto o = user_options();
  o.channel = "";
  users a(o), b(o);
  (void)a.get_with(1, [] { return user{1, 1}; });
  (void)b.get_with(2, [] { return user{2, 2}; });  // warms b's connection and key buffer
  b.local().run_pending_tasks();
  CHECK(frugal::testing::count_allocations([&] { (void)a.get_with(1, [] { return user{}; }); }) ==
        0);
  // An L2 hit: what frugal::cache allocates to load (coalescing record and entry); the key
  // buffer, the argument arrays and the codec allocate nothing (hiredis's reply is malloc'd).
  const auto l1_load = frugal::testing::count_allocations([&] {
    (void)b.local().get_with(3, [] { return user{3, 3}; });
  });
  b.local().invalidate(std::uint64_t{3});
  b.local().run_pending_tasks();
  CHECK(frugal::testing::count_allocations([&] { (void)b.get_with(1, [] { return user{}; }); }) ==
        l1_load);
  CHECK(b.stats().l2_hits == 1);
}

TEST_CASE("differential: random reads, writes and drops against a model database", "[redis]") {
  flushall();
  auto o = user_options();
  o.channel = "";
  o.local.max_capacity = 16;  // small: evictions mix in
  users a(o);
  std::unordered_map<std::uint64_t, std::uint32_t> db;  // the model: the source of truth
  auto c = admin();
  std::mt19937 rng(7);
  int loads = 0;
  for (int step = 0; step < 600; ++step) {
    const std::uint64_t k = rng() % 40;
    const auto load = [&] {
      ++loads;
      return user{k, db[k]};
    };
    switch (rng() % 6) {
      case 0:  // the row changes, then the cache is told
        db[k] = static_cast<std::uint32_t>(rng());
        REQUIRE(a.invalidate(k));
        break;
      case 1:  // L1 forgets (eviction, another instance's invalidation)
        a.local().invalidate(k);
        break;
      case 2: {  // Redis forgets (expiry, eviction)
        std::string key = "t:user:" + std::to_string(k);
        c.command({"DEL", key});
        break;
      }
      case 3: {
        std::vector<std::uint64_t> keys{k, (k + 1) % 40, (k + 7) % 40, k};
        auto out = a.get_all(keys, [&](std::span<const std::uint64_t> ask) {
          std::vector<std::optional<user>> r;
          for (auto x : ask) {
            ++loads;
            r.push_back(user{x, db[x]});
          }
          return r;
        });
        for (std::size_t i = 0; i < keys.size(); ++i)
          REQUIRE(*out[i] == user{keys[i], db[keys[i]]});
        break;
      }
      default:
        REQUIRE(*a.get_with(k, load) == user{k, db[k]});
    }
  }
  CHECK(a.stats().l2_errors == 0);
  CHECK(a.stats().l2_hits > 0);
  CHECK(loads > 0);
}

namespace {

// A value that counts its instances, with a codec that throws on the k-th call.
struct tracked {
  static inline int live = 0;
  std::string text;
  explicit tracked(std::string t) : text(std::move(t)) { ++live; }
  tracked(const tracked& o) : text(o.text) { ++live; }
  tracked(tracked&& o) noexcept : text(std::move(o.text)) { ++live; }
  ~tracked() { --live; }
};

struct flaky_codec {
  static inline int calls = 0, fail_at = -1;
  static void tick() {
    if (++calls == fail_at) throw std::runtime_error("codec failure");
  }
  static void encode(const tracked& v, std::string& out) {
    tick();
    out.append(v.text);
  }
  static std::optional<tracked> decode(std::string_view data) {
    tick();
    return tracked(std::string(data));
  }
};

}  // namespace

TEST_CASE("fault injection: a codec that throws on the k-th call, for every k", "[redis]") {
  // A throwing decode is a miss (counted, overwritten); a throwing encode skips the write-back
  // (counted); the caller always gets the loader's value, and no lock or instance leaks.
  auto o = frugal::tiered_cache<std::uint64_t, tracked, flaky_codec>::options_type{
      .redis = opts("f:"),
      .key = [](std::uint64_t id, std::string& out) { frugal::append_decimal(out, id); }};
  o.channel = "";
  for (int k = 1; k <= 8; ++k) {
    flushall();
    {
      frugal::tiered_cache<std::uint64_t, tracked, flaky_codec> a(o), b(o);
      flaky_codec::calls = 0;
      flaky_codec::fail_at = k;
      for (std::uint64_t key = 0; key < 3; ++key) {
        for (auto* t : {&a, &b}) {
          std::string got;
          CHECK_NOTHROW(
              got = t->get_with(key, [&] { return tracked("v" + std::to_string(key)); })->text);
          CHECK(got == "v" + std::to_string(key));
        }
      }
      const auto errors = a.stats().l2_errors + b.stats().l2_errors + a.stats().decode_errors +
                          b.stats().decode_errors;
      CHECK(errors == (k <= flaky_codec::calls ? 1u : 0u));
      flaky_codec::fail_at = -1;
      for (std::uint64_t key = 0; key < 3; ++key) {
        CHECK(admin().command({"EXISTS", "f:" + std::to_string(key) + ":lock"}).integer() == 0);
        b.local().invalidate(key);
        CHECK(b.get_with(key, [&] { return tracked("v" + std::to_string(key)); })->text ==
              "v" + std::to_string(key));
      }
    }
    CHECK(tracked::live == 0);
  }
}

namespace {

struct box_codec {
  static void encode(const std::unique_ptr<int>& v, std::string& out) {
    frugal::append_decimal(out, *v);
  }
  static std::optional<std::unique_ptr<int>> decode(std::string_view data) {
    int v = 0;
    if (std::from_chars(data.data(), data.data() + data.size(), v).ec != std::errc{}) return {};
    return std::make_unique<int>(v);
  }
};

struct alignas(64) block {
  std::uint64_t words[8];
};

}  // namespace

TEST_CASE("move-only and over-aligned values", "[redis]") {
  flushall();
  frugal::tiered_cache<std::string, std::unique_ptr<int>, box_codec> boxes(
      {.redis = opts("m:"), .key = [](const std::string& k, std::string& out) { out.append(k); }});
  CHECK(**boxes.get_with("a b\n", [] { return std::make_unique<int>(5); }) == 5);
  boxes.local().invalidate(std::string("a b\n"));
  CHECK(**boxes.get_with("a b\n", [] { return std::make_unique<int>(6); }) == 5);  // from L2
  CHECK(admin().command({"GET", "m:a b\n"}).str() == "5");

  frugal::tiered_cache<std::uint64_t, block> blocks(
      {.redis = opts("b:"),
       .key = [](std::uint64_t k, std::string& out) { frugal::append_decimal(out, k); }});
  auto v = blocks.get_with(1, [] { return block{{1, 2, 3, 4, 5, 6, 7, 8}}; });
  CHECK(reinterpret_cast<std::uintptr_t>(v.get()) % 64 == 0);
  blocks.local().invalidate(std::uint64_t{1});
  auto w = blocks.get_with(1, [] { return block{}; });
  CHECK(w->words[7] == 8);
  CHECK(reinterpret_cast<std::uintptr_t>(w.get()) % 64 == 0);
}

TEST_CASE("aliasing: arguments that view the connection's own buffers", "[redis]") {
  flushall();
  frugal::redis_connection c(opts("a:"));
  const std::string_view k = c.make_key([](std::string& out) { out.append("self"); });
  c.command({"SET", k, k});  // the key buffer as key and value
  CHECK(c.command({"GET", "a:self"}).str() == "a:self");
  c.scratch() = "payload";
  c.append({"SET", c.make_key([](std::string& out) { out.append("s"); }), c.scratch()});
  CHECK(c.read_reply().str() == "OK");
  CHECK(c.command({"GET", "a:s"}).str() == "payload");
  // A reply's view stays valid while the reply lives, across later commands.
  auto r = c.command({"GET", "a:self"});
  const std::string_view seen = r.str();
  c.command({"SET", "a:self", "changed"});
  CHECK(seen == "a:self");
}
