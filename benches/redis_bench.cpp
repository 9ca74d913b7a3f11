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
#include "bench_support.hpp"

#include <frugal/interop/redis.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
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

FRUGAL_BENCH_HEADLINE("^redis/get/(frugal:l1_hit|frugal:l2_hit|limit:hiredis)/1$");
FRUGAL_BENCH_HEADLINE("^redis/get/frugal:miss/");
FRUGAL_BENCH_HEADLINE("^redis/get_all/");
FRUGAL_BENCH_HEADLINE("^redis/get/frugal:l2_hit/.*threads:(1|2)$");
FRUGAL_BENCH_HEADLINE("^redis/stampede/");
FRUGAL_BENCH_OWN_THREADS("^redis/stampede/");
FRUGAL_BENCH_NOT_LIKE_FOR_LIKE("^redis/get/frugal:l1_hit/",
                               "served from process memory: no Redis round trip");
