// Two instances of the guide's user service share one Redis: each keeps an in-process L1
// (frugal::cache) in front of Redis (`user:{id}`, 5-minute TTL) in front of the database.
// Shows the hit path, a profile update whose invalidation reaches the other instance, a page
// of users in one round trip, and Redis being stopped and started again under the service.
//
// The server: FRUGAL_REDIS_PORT (127.0.0.1), or the ctest fixture (FRUGAL_SERVER_REDIS), whose
// helper (FRUGAL_SERVERS_TOOL) also stops and restarts it.
#include <frugal/interop/redis.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

int redis_port() {
  if (const char* p = std::getenv("FRUGAL_REDIS_PORT")) return std::atoi(p);
  if (const char* f = std::getenv("FRUGAL_SERVER_REDIS")) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("PORT=", 0) == 0) return std::atoi(line.c_str() + 5);
    }
  }
  std::fprintf(stderr, "set FRUGAL_REDIS_PORT to a Redis on 127.0.0.1 you can flush\n");
  std::exit(2);
}

// Stops or restarts the fixture's Redis; false when not run under ctest.
bool fault(const char* what) {
  const char* tool = std::getenv("FRUGAL_SERVERS_TOOL");
  if (tool == nullptr) return false;
  const std::string cmd = std::string(tool) + " " + what + " redis >/dev/null";
  return std::system(cmd.c_str()) == 0;
}

// What a row of the users table holds. Trivially copyable: the built-in codec stores it.
struct user {
  std::uint64_t id;
  std::uint32_t age;
  char name[16];
};

// The database: a map, and a count of the queries it answered.
struct database {
  std::map<std::uint64_t, user> rows;
  int queries = 0;
  user load(std::uint64_t id) {
    ++queries;
    return rows.at(id);
  }
};

using user_cache = frugal::tiered_cache<std::uint64_t, user>;

user_cache::options_type options(int port) {
  return {.redis = {.port = port, .key_prefix = "users-svc:"},
          .local = {.max_capacity = 10'000, .time_to_live = std::chrono::seconds(30)},
          .key =
              [](std::uint64_t id, std::string& out) {
                out.append("user:");
                frugal::append_decimal(out, id);
              },
          .ttl = std::chrono::minutes(5),
          .retry = 20ms,
          .retry_max = 200ms};
}

template <class F>
bool eventually(F done) {
  for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(10ms);
  return done();
}

}  // namespace

int main() {
  const int port = redis_port();
  frugal::redis_connection admin({.port = port});
  admin.command({"FLUSHALL"});

  database db;
  for (std::uint64_t id = 1; id <= 20; ++id) {
    user u{id, static_cast<std::uint32_t>(20 + id), {}};
    std::snprintf(u.name, sizeof u.name, "user-%llu", static_cast<unsigned long long>(id));
    db.rows[id] = u;
  }

  user_cache a(options(port)), b(options(port));
  a.wait_subscribed(5s);
  b.wait_subscribed(5s);
  auto load = [&](std::uint64_t id) { return [&db, id] { return db.load(id); }; };

  std::printf("== hit path\n");
  auto u = a.get_with(2, load(2));
  std::printf("A: %s, age %u (database queries: %d)\n", u->name, u->age, db.queries);
  u = a.get_with(2, load(2));
  std::printf("A again: %s from L1 (database queries: %d)\n", u->name, db.queries);
  u = b.get_with(2, load(2));
  std::printf("B: %s from Redis, L2 hits %llu (database queries: %d)\n", u->name,
              static_cast<unsigned long long>(b.stats().l2_hits), db.queries);
  std::printf("Redis TTL of users-svc:user:2: %s\n",
              admin.command({"TTL", "users-svc:user:2"}).integer() > 290 ? "about 5 minutes"
                                                                         : "unexpected");

  std::printf("== an update on A reaches B\n");
  db.rows[2].age = 99;
  a.invalidate(2);
  const bool dropped = eventually([&] { return !b.local().contains(std::uint64_t{2}); });
  std::printf("B dropped its copy: %s\n", dropped ? "yes" : "no");
  u = b.get_with(2, load(2));
  std::printf("B: %s, age %u (database queries: %d)\n", u->name, u->age, db.queries);

  std::printf("== a page of 10 users on B\n");
  std::vector<std::uint64_t> page;
  for (std::uint64_t id = 1; id <= 10; ++id) page.push_back(id);
  const auto trips = b.stats().round_trips;
  int batches = 0;
  auto users = b.get_all(page, [&](std::span<const std::uint64_t> ids) {
    ++batches;
    std::vector<std::optional<user>> out;
    for (auto id : ids) out.emplace_back(db.load(id));
    return out;
  });
  std::printf("%zu users, %llu Redis round trips (MGET, then the write-back), %d batch query\n",
              users.size(), static_cast<unsigned long long>(b.stats().round_trips - trips),
              batches);

  std::printf("== Redis stopped\n");
  if (!fault("stop")) {
    std::printf("(not run under ctest: no fixture to stop)\n");
    return 0;
  }
  const int before = db.queries;
  u = a.get_with(15, load(15));
  std::printf("A: %s from the database (queries +%d), Redis errors counted: %s\n", u->name,
              db.queries - before, a.stats().l2_errors > 0 ? "yes" : "no");
  u = a.get_with(15, load(15));
  std::printf("A again: %s from L1, no Redis needed\n", u->name);

  std::printf("== Redis started again\n");
  fault("restart");
  admin.reconnect();
  const bool back = eventually([&] {
    a.local().invalidate(std::uint64_t{16});
    (void)a.get_with(16, load(16));
    return admin.command({"EXISTS", "users-svc:user:16"}).integer() == 1;
  });
  std::printf("A writes to Redis again: %s\n", back ? "yes" : "no");
  const bool resubscribed = a.wait_subscribed(5s, 2) && b.wait_subscribed(5s, 2);
  std::printf("both subscribed again, L1 flushed (invalidations sent meanwhile were lost): %s\n",
              resubscribed && !b.local().contains(std::uint64_t{2}) ? "yes" : "no");
  return 0;
}
