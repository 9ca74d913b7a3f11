// redis: tiered_cache over a real Redis on loopback, started by this binary (redis-server on a
// free port, no persistence, its own temporary directory; FRUGAL_REDIS_PORT uses a running one
// instead, which it flushes).
//
// Names:
// - redis/get/frugal:l1_hit/1      get_with answered by the in-process cache;
// - redis/get/frugal:l2_hit/1      get_with with L1 off (max_capacity 0): GET, decode, the L1's
//                                  coalescing; the limit is limit:hiredis, a raw
//                                  redisCommandArgv GET of the same value, copied out;
// - redis/get/frugal:miss/1        a key nobody has: GET, lock, a loader of 1 ms, SET EX, unlock;
// - redis/get_all/frugal:mget/100  100 keys in Redis, L1 off: one MGET, against
//   redis/get_all/naive:get_each/100, 100 get_with calls (the N+1 at the cache level); both
//   report round_trips/op;
// - redis/get/frugal:l2_hit/threads:<n>  one shared tiered_cache, L1 off, 1 to 16 threads; the
//   headline runs on 2 cores, so only 1 and 2 threads are headline cases;
// - redis/stampede/frugal/2 and redis/stampede/naive:no_lock/2: two instances (two
//   tiered_caches, as two processes would have) miss one cold key at once with a 1 ms loader;
//   loader_calls/op is 1 with the lock, 2 without.
// - redis/two_processes/<impl>/100000: two service processes share the one Redis. The timed
//   process forks the second before its loop; both replay the same trace of 10,000 user reads
//   (Zipf, s = 0.99, over 100,000 ids), each through an L1 of 1,000 entries and its own
//   database of 200 us per read. loader_calls/op is both processes' database reads per request
//   of the timed one; the time is the timed process's per request. Implementations:
//   frugal:tiered (tiered_cache), naive:local_only (the same L1, nothing shared) and
//   naive:redis_get_set (the same L1 over plain cache-aside: GET, then on a miss the database
//   and SET EX, no lock). The second process checks every value it gets; the timed one
//   checks every 97th request of the trace after its loop.
#include "bench_support.hpp"

#include <frugal/interop/redis.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// What the benchmarks cache: a 64-byte row, stored by the trivially copyable codec.
struct user {
  std::uint64_t id;
  std::uint32_t age;
  char name[52];
  bool operator==(const user& o) const { return std::memcmp(this, &o, sizeof o) == 0; }
};

user make_user(std::uint64_t id) {
  user u{};
  u.id = id;
  u.age = static_cast<std::uint32_t>(20 + id % 50);
  std::snprintf(u.name, sizeof u.name, "user number %llu", static_cast<unsigned long long>(id));
  return u;
}

// A redis-server of this process's own, stopped at exit.
class server {
 public:
  server() {
    if (const char* p = std::getenv("FRUGAL_REDIS_PORT")) {
      port_ = std::atoi(p);
      return;
    }
    char dir[] = "/tmp/frugal-redis-bench-XXXXXX";
    if (::mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    port_ = free_port();
    const std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = dir_ + "/redis.log";
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", dir_.c_str(), "--logfile", log.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      auto c = frugal::redis_connection::open({.port = port_});
      if (!c.broken() && c.try_command({"PING"})) return;
      std::this_thread::sleep_for(10ms);
    }
    port_ = 0;
  }
  ~server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  int port() const { return port_; }

 private:
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }
  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
};

server& redis() {
  static server s;
  return s;
}

using users = frugal::tiered_cache<std::uint64_t, user>;

users::options_type options(std::uint64_t l1_capacity,
                            std::chrono::milliseconds lock_ttl = 2000ms) {
  return {.redis = {.port = redis().port(), .command_timeout = 1000ms, .key_prefix = "bench:"},
          .local = {.max_capacity = l1_capacity},
          .key =
              [](std::uint64_t id, std::string& out) {
                out.append("user:");
                frugal::append_decimal(out, id);
              },
          .channel = "",
          .lock_ttl = lock_ttl,
          .connections = 16};
}

bool ready(benchmark::State& state) {
  if (redis().port() != 0) return true;
  state.SkipWithError("no redis-server: install it or set FRUGAL_REDIS_PORT");
  return false;
}

void flush() { frugal::redis_connection({.port = redis().port()}).command({"FLUSHALL"}); }

// Writes users 1..n to Redis through a tiered_cache.
void seed(std::uint64_t n) {
  users c(options(0));
  for (std::uint64_t id = 1; id <= n; ++id) (void)c.get_with(id, [id] { return make_user(id); });
}

void counter(benchmark::State& state, const char* name, double total) {
  state.counters[name] = benchmark::Counter(total, benchmark::Counter::kAvgIterations);
}

void redis_get_l1_hit(benchmark::State& state) {
  if (!ready(state)) return;
  flush();
  users c(options(10'000));
  const user expected = make_user(7);
  if (!(*c.get_with(7, [] { return make_user(7); }) == expected))
    state.SkipWithError("wrong value");
  for (auto _ : frugal::bench::counted(state)) {
    auto v = c.get_with(7, [] { return make_user(0); });
    benchmark::DoNotOptimize(v);
  }
}

// One cache with L1 off, shared by every thread of the threaded cases.
users& shared_users() {
  static users c(options(0));
  return c;
}

void redis_get_l2_hit(benchmark::State& state) {
  if (!ready(state)) return;
  users& c = shared_users();
  const std::uint64_t id = 1 + static_cast<std::uint64_t>(state.thread_index()) % 64;
  // Writes the value when another benchmark flushed it; checks it either way.
  if (!(*c.get_with(id, [id] { return make_user(id); }) == make_user(id))) {
    state.SkipWithError("wrong value");
  }
  const auto trips = c.stats().round_trips;
  for (auto _ : frugal::bench::counted(state)) {
    auto v = c.get_with(id, [id] { return make_user(id); });
    benchmark::DoNotOptimize(v);
  }
  if (state.threads() == 1) {
    counter(state, "round_trips/op", static_cast<double>(c.stats().round_trips - trips));
  }
}

void redis_get_limit(benchmark::State& state) {
  if (!ready(state)) return;
  flush();
  seed(64);
  frugal::redis_connection conn({.port = redis().port(), .command_timeout = 1000ms});
  redisContext* ctx = conn.native();
  const char* argv[] = {"GET", "bench:user:7"};
  const std::size_t lens[] = {3, 12};
  auto get = [&] {
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx, 2, argv, lens));
    user u{};
    if (r != nullptr && r->type == REDIS_REPLY_STRING && r->len == sizeof u) {
      std::memcpy(&u, r->str, sizeof u);
    }
    freeReplyObject(r);
    return u;
  };
  if (!(get() == make_user(7))) state.SkipWithError("wrong value");
  for (auto _ : frugal::bench::counted(state)) {
    user u = get();
    benchmark::DoNotOptimize(u);
  }
}

void redis_get_miss(benchmark::State& state) {
  if (!ready(state)) return;
  flush();
  users c(options(10'000));
  std::uint64_t next = 1'000'000;
  int loads = 0;
  auto loader = [&] {
    ++loads;
    std::this_thread::sleep_for(1ms);
    return make_user(next);
  };
  if (!(*c.get_with(next, loader) == make_user(next))) state.SkipWithError("wrong value");
  const auto trips = c.stats().round_trips;
  loads = 0;
  for (auto _ : frugal::bench::counted(state)) {
    ++next;
    auto v = c.get_with(next, loader);
    benchmark::DoNotOptimize(v);
  }
  counter(state, "round_trips/op", static_cast<double>(c.stats().round_trips - trips));
  counter(state, "loader_calls/op", loads);
}

std::vector<std::optional<user>> load_batch(std::span<const std::uint64_t> ids) {
  std::vector<std::optional<user>> out;
  for (auto id : ids) out.emplace_back(make_user(id));
  return out;
}

void redis_get_all_frugal(benchmark::State& state) {
  if (!ready(state)) return;
  const auto n = static_cast<std::uint64_t>(state.range(0));
  flush();
  seed(n);
  users c(options(0));
  std::vector<std::uint64_t> keys;
  for (std::uint64_t id = 1; id <= n; ++id) keys.push_back(id);
  auto check = c.get_all(keys, load_batch);
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!(*check[i] == make_user(keys[i]))) state.SkipWithError("wrong value");
  }
  const auto trips = c.stats().round_trips;
  for (auto _ : frugal::bench::counted(state)) {
    auto v = c.get_all(keys, load_batch);
    benchmark::DoNotOptimize(v);
  }
  counter(state, "round_trips/op", static_cast<double>(c.stats().round_trips - trips));
}

void redis_get_all_naive(benchmark::State& state) {
  if (!ready(state)) return;
  const auto n = static_cast<std::uint64_t>(state.range(0));
  flush();
  seed(n);
  users c(options(0));
  std::vector<std::uint64_t> keys;
  for (std::uint64_t id = 1; id <= n; ++id) keys.push_back(id);
  auto get_each = [&] {
    std::vector<std::shared_ptr<const user>> out;
    out.reserve(keys.size());
    for (auto id : keys) out.push_back(c.get_with(id, [id] { return make_user(id); }));
    return out;
  };
  auto check = get_each();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (!(*check[i] == make_user(keys[i]))) state.SkipWithError("wrong value");
  }
  const auto trips = c.stats().round_trips;
  for (auto _ : frugal::bench::counted(state)) {
    auto v = get_each();
    benchmark::DoNotOptimize(v);
  }
  counter(state, "round_trips/op", static_cast<double>(c.stats().round_trips - trips));
}

// Two instances miss one cold key at once; each iteration a new key.
void redis_stampede(benchmark::State& state, std::chrono::milliseconds lock_ttl) {
  if (!ready(state)) return;
  flush();
  users a(options(10'000, lock_ttl)), b(options(10'000, lock_ttl));
  std::atomic<int> loads{0};
  std::uint64_t key = 5'000'000;
  auto loader = [&] {
    loads.fetch_add(1);
    std::this_thread::sleep_for(1ms);
    return make_user(key);
  };
  auto race = [&] {
    std::shared_ptr<const user> other;
    std::thread t([&] { other = b.get_with(key, loader); });
    auto mine = a.get_with(key, loader);
    t.join();
    return *mine == *other;
  };
  if (!race()) state.SkipWithError("the instances disagree");
  loads = 0;
  for (auto _ : frugal::bench::counted(state)) {
    ++key;
    bool same = race();
    benchmark::DoNotOptimize(same);
  }
  counter(state, "loader_calls/op", loads.load());
}

void redis_stampede_frugal(benchmark::State& state) { redis_stampede(state, 2000ms); }
void redis_stampede_naive(benchmark::State& state) { redis_stampede(state, 0ms); }

// Two service processes, one Redis: the timed process forks a second one before the loop;
// both replay the same trace of user reads through their own cache against the shared Redis,
// each with its own 200 us database, and count their database calls.
constexpr std::size_t service_l1 = 1'000;
constexpr auto database_latency = 200us;

// Draws `length` user ids in 1..ids, Zipf (s = 0.99) over their popularity rank; the
// popular ids are spread over the range rather than being 1, 2, 3.
std::vector<std::uint64_t> zipf_ids(std::uint64_t ids, std::size_t length, std::uint64_t seed) {
  std::vector<double> cdf(ids);
  double sum = 0;
  for (std::uint64_t i = 0; i < ids; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), 0.99);
    cdf[i] = sum;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, sum);
  std::vector<std::uint64_t> out(length);
  for (auto& id : out) {
    const auto rank =
        static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
    id = 1 + (rank * 0x9E3779B97F4A7C15ull) % ids;
  }
  return out;
}

// The database of one service process: a read costs `database_latency`, and is counted.
struct database {
  std::uint64_t calls = 0;
  user load(std::uint64_t id) {
    ++calls;
    std::this_thread::sleep_for(database_latency);
    return make_user(id);
  }
};

// frugal:tiered: tiered_cache, L1 of service_l1 entries, Redis, the cross-process load lock.
class tiered_service {
 public:
  tiered_service() : c_(options(service_l1)) {}
  std::shared_ptr<const user> get(std::uint64_t id, database& db) {
    return c_.get_with(id, [&] { return db.load(id); });
  }

 private:
  users c_;
};

// naive:local_only: the same L1 and nothing shared; each process loads what it misses.
class local_service {
 public:
  std::shared_ptr<const user> get(std::uint64_t id, database& db) {
    return c_.get_with(id, [&] { return db.load(id); });
  }

 private:
  frugal::cache<std::uint64_t, user> c_{{.max_capacity = service_l1}};
};

// naive:redis_get_set: the same L1 in front of plain cache-aside on one connection: GET; on a
// miss (or an error) the database, then SET EX. No lock: processes that miss a key together
// both load it.
class get_set_service {
 public:
  std::shared_ptr<const user> get(std::uint64_t id, database& db) {
    return l1_.get_with(id, [&] {
      const std::string key = "bench:user:" + std::to_string(id);
      if (auto r = conn_.try_command({"GET", key}); r && r->str().size() == sizeof(user)) {
        user u;
        std::memcpy(&u, r->str().data(), sizeof u);
        return u;
      }
      const user u = db.load(id);
      (void)conn_.try_command(
          {"SET", key, std::string_view(reinterpret_cast<const char*>(&u), sizeof u), "EX", "300"});
      return u;
    });
  }

 private:
  frugal::cache<std::uint64_t, user> l1_{{.max_capacity = service_l1}};
  frugal::redis_connection conn_{{.port = redis().port(), .command_timeout = 1000ms}};
};

// What the second process sends back once its trace is done.
struct peer_report {
  std::uint64_t loads = 0;
  std::uint64_t wrong = 0;  // values that differ from the database's
};

bool read_all(int fd, void* p, std::size_t n) {
  auto* b = static_cast<char*>(p);
  while (n != 0) {
    const ssize_t r = ::read(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const char*>(p);
  while (n != 0) {
    const ssize_t r = ::write(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// The second process: builds its service, says it is ready, waits for the start, replays the
// trace checking every value, and reports. Never returns (no destructor of the parent's
// objects, no flush of its buffers runs twice).
template <class Service>
[[noreturn]] void second_process(int go, int report, const std::vector<std::uint64_t>& trace) {
  peer_report r;
  char c = 0;
  {
    Service s;
    database db;
    if (write_all(report, &c, 1) && read_all(go, &c, 1)) {
      for (const std::uint64_t id : trace) {
        if (!(*s.get(id, db) == make_user(id))) ++r.wrong;
      }
      r.loads = db.calls;
      (void)write_all(report, &r, sizeof r);
    }
  }
  ::_exit(0);
}

template <class Service>
void redis_two_processes(benchmark::State& state) {
  if (!ready(state)) return;
  const auto ids = static_cast<std::uint64_t>(state.range(0));
  // Built before the fork: both processes replay this very trace.
  const std::vector<std::uint64_t> trace =
      zipf_ids(ids, static_cast<std::size_t>(state.max_iterations), 7);
  flush();
  int go[2], report[2];
  if (::pipe(go) != 0 || ::pipe(report) != 0) {
    state.SkipWithError("pipe failed");
    return;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);
    ::close(report[0]);
    second_process<Service>(go[0], report[1], trace);
  }
  ::close(go[0]);
  ::close(report[1]);
  if (pid < 0) {
    ::close(go[1]);
    ::close(report[0]);
    state.SkipWithError("fork failed");
    return;
  }
  Service s;
  database db;
  char c = 1;
  const bool started = read_all(report[0], &c, 1) && write_all(go[1], &c, 1);
  ::close(go[1]);  // a second process still waiting reads the end and leaves
  if (!started) state.SkipWithError("the second process did not start");
  std::size_t i = 0;
  for (auto _ : frugal::bench::counted(state)) {
    auto v = s.get(trace[i], db);
    benchmark::DoNotOptimize(v);
    if (++i == trace.size()) i = 0;
  }
  const std::uint64_t loads = db.calls;
  peer_report peer;
  const bool reported = started && read_all(report[0], &peer, sizeof peer);
  ::close(report[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!started) return;
  if (!reported || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    state.SkipWithError("the second process failed");
    return;
  }
  std::uint64_t wrong = peer.wrong;
  for (std::size_t j = 0; j < trace.size(); j += 97) {
    if (!(*s.get(trace[j], db) == make_user(trace[j]))) ++wrong;
  }
  if (wrong != 0) state.SkipWithError("wrong values");
  counter(state, "loader_calls/op", static_cast<double>(loads + peer.loads));
}

}  // namespace

BENCHMARK(redis_get_l1_hit)->Name("redis/get/frugal:l1_hit/1");
BENCHMARK(redis_get_l2_hit)->Name("redis/get/frugal:l2_hit/1");
BENCHMARK(redis_get_limit)->Name("redis/get/limit:hiredis/1");
BENCHMARK(redis_get_miss)->Name("redis/get/frugal:miss/1")->Iterations(200);
BENCHMARK(redis_get_all_frugal)->Name("redis/get_all/frugal:mget")->Arg(100);
BENCHMARK(redis_get_all_naive)->Name("redis/get_all/naive:get_each")->Arg(100);
BENCHMARK(redis_get_l2_hit)
    ->Name("redis/get/frugal:l2_hit")
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->Threads(8)
    ->Threads(16)
    ->UseRealTime();
BENCHMARK(redis_stampede_frugal)->Name("redis/stampede/frugal/2")->Iterations(100);
BENCHMARK(redis_stampede_naive)->Name("redis/stampede/naive:no_lock/2")->Iterations(100);
BENCHMARK(redis_two_processes<tiered_service>)
    ->Name("redis/two_processes/frugal:tiered")
    ->Arg(100'000)
    ->Iterations(10'000);
BENCHMARK(redis_two_processes<local_service>)
    ->Name("redis/two_processes/naive:local_only")
    ->Arg(100'000)
    ->Iterations(10'000);
BENCHMARK(redis_two_processes<get_set_service>)
    ->Name("redis/two_processes/naive:redis_get_set")
    ->Arg(100'000)
    ->Iterations(10'000);

FRUGAL_BENCH_HEADLINE("^redis/get/(frugal:l1_hit|frugal:l2_hit|limit:hiredis)/1$");
FRUGAL_BENCH_HEADLINE("^redis/get/frugal:miss/");
FRUGAL_BENCH_HEADLINE("^redis/get_all/");
FRUGAL_BENCH_HEADLINE("^redis/get/frugal:l2_hit/.*threads:(1|2)$");
FRUGAL_BENCH_HEADLINE("^redis/stampede/");
FRUGAL_BENCH_OWN_THREADS("^redis/stampede/");
FRUGAL_BENCH_HEADLINE("^redis/two_processes/");
FRUGAL_BENCH_OWN_THREADS("^redis/two_processes/");
FRUGAL_BENCH_NOT_LIKE_FOR_LIKE("^redis/get/frugal:l1_hit/",
                               "served from process memory: no Redis round trip");
