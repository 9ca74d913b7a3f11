// A request loop that borrows database connections from a pool instead of opening one per
// request: the pool opens a handful, lends them out, replaces the one the server dropped, and
// closes the surplus after a quiet spell (the clock is simulated so the output is exact).
#include <frugal/pool.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

// Simulated time, so that ten quiet minutes take no time.
struct service_clock {
  using duration = std::chrono::milliseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<service_clock>;
  [[maybe_unused]] static constexpr bool is_steady = true;
  static inline time_point current{};
  static time_point now() noexcept { return current; }
};

int connections_opened = 0;

// Stands for a database session: opening one costs a handshake and a backend process.
struct connection {
  int id;
  int queries = 0;
  bool dropped_by_server = false;

  std::string query(int user) {
    ++queries;
    return "user " + std::to_string(user) + " via connection " + std::to_string(id);
  }
};

connection open_connection() { return connection{++connections_opened}; }

}  // namespace

int main() {
  using namespace std::chrono_literals;
  frugal::pool_options options;
  options.max_size = 20;
  options.min_idle = 2;
  options.acquire_timeout = 3s;
  options.idle_timeout = 600s;
  options.max_lifetime = 1800s;
  frugal::pool_checks<connection> checks;
  checks.reusable = [](connection& c) { return !c.dropped_by_server; };
  frugal::pool<connection, service_clock> db(open_connection, options, checks);

  db.reap();  // at start: opens min_idle connections
  std::printf("at start: %d connections open\n", connections_opened);

  // 1,000 requests, in bursts of up to 4 at once; the server drops one session at request 500.
  std::string last;
  int served = 0;
  for (int burst = 0; burst < 400; ++burst) {
    std::vector<frugal::pool_lease<connection, service_clock>> in_flight;
    for (int i = 0; i < 1 + burst % 4; ++i) in_flight.push_back(db.acquire());
    for (auto& conn : in_flight) {
      last = conn->query(served);
      if (++served == 500) conn->dropped_by_server = true;
    }
    for (auto& conn : in_flight) conn.reset();  // returned in order (not the vector's)
    service_clock::current += 100ms;
  }
  auto s = db.stats();
  std::printf("served %d requests; last: %s\n", served, last.c_str());
  std::printf("connections opened: %d (one per request would have opened %d)\n", connections_opened,
              served);
  std::printf("pool: %zu idle, %zu in use, %llu created, %llu destroyed\n", s.idle, s.in_use,
              static_cast<unsigned long long>(s.created),
              static_cast<unsigned long long>(s.destroyed));

  // Eleven quiet minutes, then the service's housekeeping timer calls reap().
  service_clock::current += 11min;
  const auto r = db.reap();
  s = db.stats();
  std::printf("after 11 idle minutes: reap closed %zu, %zu stay open (min_idle)\n", r.destroyed,
              s.idle);
  {
    auto conn = db.acquire();
    std::printf("next request: %s\n", conn->query(served).c_str());
  }
}
