// The service (examples/service/README.md) built from frugal's parts: the request is read
// through views (slice helpers over cpp-httplib's strings, never copied), text is normalised
// and escaped with cow_string (borrowed unless something changes), ids and posts sit in
// small_vector/static_vector, the configuration in a shared_config reloaded by a sigwait
// thread, responses are built in one reserved buffer and moved into cpp-httplib's response,
// users go through a tiered_cache (frugal::cache in front of Redis, one `= ANY($1)` query for
// the misses of a page), PostgreSQL sessions come from a pool, POST /posts is one multi-row
// INSERT, and the metrics are frugal's. docs/service.md says which part saves what.
//
// Each part can be swapped for the naive twin's way of doing the same job
// (`--naive-parts cache,batch,...` or FRUGAL_SERVICE_NAIVE_PARTS), with the same answers, so
// that a difference under load can be put down to one part (scripts/bench-service
// --attribution).
#define FRUGAL_DEFINE_ALLOCATION_METER
#include "http_edge.hpp"
#include "meter_shim.hpp"
#include "naive/json.hpp"
#include "naive/lru_cache.hpp"
#include "posts_json.hpp"

#include <frugal/builder.hpp>
#include <frugal/cow_string.hpp>
#include <frugal/interop/postgres.hpp>
#include <frugal/interop/redis.hpp>
#include <frugal/metrics.hpp>
#include <frugal/shared_config.hpp>
#include <frugal/slice.hpp>
#include <frugal/small_vector.hpp>
#include <frugal/static_vector.hpp>

#include <hiredis/hiredis.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using namespace std::literals;

// Parts swapped for the naive twin's ------------------------------------------------------

// Which parts do their job the naive twin's way. Set once in main() before any thread starts.
struct naive_parts {
  bool cache = false;    // a mutex LRU map + hiredis GET/SETEX instead of tiered_cache
  bool batch = false;    // one lookup per id of GET /users?ids= instead of one for the page
  bool pool = false;     // a PostgreSQL connection per request instead of the pool
  bool json = false;     // std::string escaping and concatenation instead of builder/cow_string
  bool parse = false;    // std::string copies of the path, the id and the query
  bool metrics = false;  // a mutex-guarded map of counters instead of frugal metrics
  bool config = false;   // a mutex-guarded shared_ptr instead of shared_config
};

naive_parts naive;

constexpr std::string_view part_names[] = {"cache", "batch",   "pool",  "json",
                                           "parse", "metrics", "config"};

// Reads a comma-separated list of part_names (or `all`, or nothing). Returns nothing and says
// why in `error` for an unknown name.
std::optional<naive_parts> parse_naive_parts(std::string_view list, std::string& error) {
  naive_parts p;
  bool* flags[] = {&p.cache, &p.batch, &p.pool, &p.json, &p.parse, &p.metrics, &p.config};
  for (std::string_view name : frugal::split(list, ',')) {
    name = frugal::trim(name);
    if (name.empty()) continue;
    bool known = false;
    for (std::size_t i = 0; i < std::size(part_names); ++i) {
      if (name == part_names[i] || name == "all") {
        *flags[i] = true;
        known = true;
      }
    }
    if (!known) {
      error = "unknown part '" + std::string(name) +
              "' (known: cache, batch, pool, json, parse, metrics, config, all)";
      return std::nullopt;
    }
  }
  return p;
}

// Configuration -----------------------------------------------------------------------------

struct service_config {
  std::uint64_t max_ids = 100;
  std::uint64_t max_batch = 100;
  std::uint64_t cache_ttl_seconds = 300;
  std::uint64_t cache_capacity = 10'000;
};

// Reads `key = value` lines (`#` starts a comment) over the defaults; every value is a
// positive integer. Returns nothing and says why in `error` for anything else.
std::optional<service_config> read_config(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open " + path;
    return std::nullopt;
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  service_config c;
  int number = 0;
  for (std::string_view line : frugal::lines(text)) {
    ++number;
    if (auto comment = frugal::split_once(line, '#')) line = comment->first;
    line = frugal::trim(line);
    if (line.empty()) continue;
    const auto kv = frugal::split_once(line, '=');
    const auto where = path + ":" + std::to_string(number) + ": ";
    if (!kv) {
      error = where + "expected key = value";
      return std::nullopt;
    }
    const std::string_view key = frugal::trim(kv->first);
    const std::string_view value = frugal::trim(kv->second);
    const auto parsed = frugal::parse<std::uint64_t>(value);
    if (!parsed || *parsed < 1 || value.front() == '+' ||
        *parsed > static_cast<std::uint64_t>(INT64_MAX)) {
      error =
          where + std::string(key) + " needs a positive integer, not '" + std::string(value) + "'";
      return std::nullopt;
    }
    if (key == "max_ids") {
      c.max_ids = *parsed;
    } else if (key == "max_batch") {
      c.max_batch = *parsed;
    } else if (key == "cache_ttl_seconds") {
      c.cache_ttl_seconds = *parsed;
    } else if (key == "cache_capacity") {
      c.cache_capacity = *parsed;
    } else {
      error = where + "unknown key '" + std::string(key) + "'";
      return std::nullopt;
    }
  }
  return c;
}

// Metrics -----------------------------------------------------------------------------------

namespace metrics = frugal::metrics;

enum class route : std::uint8_t { user, user_posts, users, posts, health, metrics, other, count };

constexpr std::string_view route_names[] = {"/users/{id}", "/users/{id}/posts", "/users", "/posts",
                                            "/health",     "/metrics",          "other"};

struct route_metrics {
  metrics::histogram* duration = nullptr;
  metrics::counter* allocations = nullptr;
  metrics::counter* allocation_bytes = nullptr;
  metrics::float_counter* cpu = nullptr;
  metrics::counter* handoff_allocations = nullptr;
};

struct service_metrics {
  metrics::registry registry;
  metrics::family<metrics::counter>& requests = registry.add_counter_family(
      "service_requests_total", "Requests answered, by route and status.", {"route", "status"});
  metrics::family<metrics::histogram>& duration = registry.add_histogram_family(
      "service_request_duration_seconds", "Time spent in the handler, by route.", {"route"},
      metrics::histogram_buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1, 0.25, 0.5, 1, 2.5});
  metrics::family<metrics::counter>& allocations =
      registry.add_counter_family("service_handler_allocations_total",
                                  "Heap allocations made by the handlers, by route.", {"route"});
  metrics::family<metrics::counter>& allocation_bytes =
      registry.add_counter_family("service_handler_allocation_bytes_total",
                                  "Bytes allocated by the handlers, by route.", {"route"});
  metrics::family<metrics::counter>& handoff_allocations = registry.add_counter_family(
      "service_handoff_allocations_total",
      "Heap allocations made handing the answers to cpp-httplib's Response, by route.",
      {"route"});
  metrics::family<metrics::float_counter>& cpu = registry.add_float_counter_family(
      "service_handler_cpu_seconds_total", "Thread CPU time spent in the handlers, by route.",
      {"route"});
  metrics::gauge& l1_hits = registry.add_gauge(
      "service_cache_local_hits", "User lookups answered by the local cache (at the scrape).");
  metrics::gauge& l2_hits = registry.add_gauge("service_cache_redis_hits",
                                               "User lookups answered by Redis (at the scrape).");
  metrics::gauge& loads = registry.add_gauge("service_cache_database_loads",
                                             "Users looked up in PostgreSQL (at the scrape).");
  metrics::gauge& redis_errors = registry.add_gauge(
      "service_redis_errors", "Redis failures, each served as a cache miss (at the scrape).");
  route_metrics routes[static_cast<int>(route::count)];

  service_metrics() {
    for (int r = 0; r < static_cast<int>(route::count); ++r) {
      const std::string_view name = route_names[r];
      routes[r] = {&duration.with({name}), &allocations.with({name}),
                   &allocation_bytes.with({name}), &cpu.with({name}),
                   &handoff_allocations.with({name})};
    }
  }

  // Counts one answer; the series exists after the first request with this status, and the
  // lookup then takes no lock and allocates nothing.
  void count(route r, int status) {
    char digits[12];
    const auto end = std::to_chars(digits, digits + sizeof digits, status).ptr;
    requests.with({route_names[static_cast<int>(r)], std::string_view(digits, end)}).inc();
  }
};

// The naive part for metrics: every series is a string key in one map behind one mutex, the
// label text built for each update, as a hand-rolled registry does. The histogram keeps only
// its sum and count.
class naive_counters {
 public:
  void add(const std::string& series, double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    values_[series] += value;
  }

  // Appends every series as an exposition line.
  void write(std::string& out) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [series, value] : values_) {
      std::ostringstream line;
      line.precision(17);
      line << series << ' ' << value << '\n';
      out += line.str();
    }
  }

 private:
  std::mutex mutex_;
  std::map<std::string, double> values_;
};

double thread_cpu_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Errors and responses ----------------------------------------------------------------------

// PostgreSQL could not answer (down, refused, a session lost twice in a row): 503.
struct database_unavailable {};
// An id with no user, thrown by the cache's loader (nothing is cached for it).
struct no_such_user {};

// cpp-httplib takes header names and values as const std::string&: a literal would become a
// temporary std::string per answer, and "application/json" is one byte too long for
// libstdc++'s short-string buffer. These are made once.
const std::string content_type = "Content-Type";
const std::string json_type = "application/json";
const std::string text_type = "text/plain";

// Hands `body` to cpp-httplib without copying it: Response::body is a std::string, and
// set_content would copy into it, so the buffer we built is moved in. The hand-off is metered
// apart from the handler (http_edge.hpp).
void send_json(httplib::Response& res, int status, std::string&& body) {
  service_edge::handoff_scope handoff;
  res.status = status;
  if (naive.json) {
    res.set_content(body, "application/json");  // the naive part: a copy
    return;
  }
  res.body = std::move(body);
  res.set_header(content_type, json_type);
}

// Hands JSON the handler shares (a cached user) to cpp-httplib: the one copy its
// std::string body forces, made in the hand-off.
void send_shared_json(httplib::Response& res, int status, const std::string& json) {
  service_edge::handoff_scope handoff;
  res.status = status;
  if (naive.json) {
    res.set_content(json, "application/json");  // the naive part, as the naive twin hands off
    return;
  }
  res.body = json;
  res.set_header(content_type, json_type);
}

// A plain-text answer (GET /health).
void send_text(httplib::Response& res, int status, const char* text) {
  service_edge::handoff_scope handoff;
  res.status = status;
  res.body = text;
  res.set_header(content_type, text_type);
}

void send_error(httplib::Response& res, int status, std::string_view message) {
  if (naive.json) {
    send_json(res, status, "{\"error\":\"" + naive::escape_json(std::string(message)) + "\"}");
    return;
  }
  send_json(res, status, frugal::str_cat("{\"error\":\"", message, "\"}"));
}

// Parses an id as the contract spells it: 1..2^63-1, digits only, no leading zero.
std::optional<std::int64_t> parse_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 19 || s.front() < '1' || s.front() > '9') return std::nullopt;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return frugal::parse<std::int64_t>(s);  // empty when past 2^63-1
}

// The naive part for the cache: the naive twin's LRU map (naive/lru_cache.hpp); Redis through one hiredis connection per thread, GET and SETEX, one
// command per id.
class naive_user_cache {
 public:
  naive_user_cache(std::size_t capacity, int redis_port)
      : local_(capacity), redis_port_(redis_port) {}

  std::optional<std::string> get_local(std::int64_t id) { return local_.get(id); }

  void put_local(std::int64_t id, const std::string& value, std::uint64_t ttl_seconds) {
    local_.put(id, value, std::chrono::seconds(static_cast<std::int64_t>(ttl_seconds)));
  }

  std::optional<std::string> redis_get(std::int64_t id) {
    redisContext* c = connection();
    if (c == nullptr) return std::nullopt;
    const std::string key = "user:" + std::to_string(id);
    auto* reply = static_cast<redisReply*>(redisCommand(c, "GET %s", key.c_str()));
    if (reply == nullptr) return std::nullopt;
    std::optional<std::string> value;
    if (reply->type == REDIS_REPLY_STRING) {
      value = std::string(reply->str, static_cast<std::size_t>(reply->len));
    }
    freeReplyObject(reply);
    return value;
  }

  void redis_setex(std::int64_t id, std::uint64_t ttl_seconds, const std::string& value) {
    redisContext* c = connection();
    if (c == nullptr) return;
    const std::string key = "user:" + std::to_string(id);
    auto* reply = static_cast<redisReply*>(
        redisCommand(c, "SETEX %s %llu %b", key.c_str(),
                     static_cast<unsigned long long>(ttl_seconds), value.data(), value.size()));
    if (reply != nullptr) freeReplyObject(reply);
  }

 private:
  struct redis_holder {
    redisContext* context = nullptr;
    ~redis_holder() {
      if (context != nullptr) redisFree(context);
    }
  };

  // This thread's connection, made again after an error; null while Redis does not answer.
  redisContext* connection() {
    static thread_local redis_holder holder;
    redisContext*& c = holder.context;
    if (c != nullptr && c->err == 0) return c;
    if (c != nullptr) {
      redisFree(c);
      c = nullptr;
    }
    const timeval timeout{0, 200'000};
    redisContext* fresh = redisConnectWithTimeout("127.0.0.1", redis_port_, timeout);
    if (fresh == nullptr || fresh->err != 0) {
      if (fresh != nullptr) redisFree(fresh);
      return nullptr;
    }
    redisSetTimeout(fresh, timeout);
    c = fresh;
    return c;
  }

  naive::lru_cache local_;
  int redis_port_;
};

// The naive part for the pool: the session of the request being served on this thread,
// opened by its first statement and closed when the request is answered.
thread_local std::optional<frugal::pg_connection> request_session;

// The service ------------------------------------------------------------------------------

using user_cache = frugal::tiered_cache<std::int64_t, std::string>;

struct service_options {
  int port = 0;
  std::string postgres;
  int redis_port = 0;
  std::string config_file;
  int threads = 8;
};

class api {
 public:
  api(const service_options& o, const service_config& c)
      : config_(c),
        naive_config_(std::make_shared<const service_config>(c)),
        conninfo_(o.postgres),
        db_(frugal::make_pg_pool(o.postgres, pg_options(o.threads))),
        users_(cache_options(o, c)),
        naive_users_(c.cache_capacity, o.redis_port) {}

  // The configuration now; cache_capacity keeps the value read at start.
  service_config settings() {
    if (naive.config) {
      std::shared_ptr<const service_config> held;
      {
        std::lock_guard<std::mutex> lock(naive_config_mutex_);
        held = naive_config_;
      }
      return *held;
    }
    return *config_.read();
  }

  // Takes a configuration read again from the file (SIGHUP).
  void reload(const service_config& loaded) {
    config_.update([&](const service_config& old) {
      service_config next = loaded;
      next.cache_capacity = old.cache_capacity;  // read at start only
      return next;
    });
    std::lock_guard<std::mutex> lock(naive_config_mutex_);
    auto next = std::make_shared<service_config>(loaded);
    next->cache_capacity = naive_config_->cache_capacity;
    naive_config_ = std::move(next);
  }

  // The metrics part's naive version also counts every user lookup inside the handler, by
  // where it was answered, as the naive twin does; frugal's cache counts them itself and the
  // scrape reads them.
  void count_lookup(const std::string& source) {
    if (naive.metrics)
      naive_metrics_.add("service_cache_lookups_total{source=\"" + source + "\"}", 1);
  }

  // Counts one answer of route `r`.
  void count(route r, int status) {
    if (naive.metrics) {
      naive_metrics_.add("service_requests_total{route=\"" +
                             std::string(route_names[static_cast<int>(r)]) + "\",status=\"" +
                             std::to_string(status) + "\"}",
                         1);
      return;
    }
    metrics_.count(r, status);
  }

  // Answers one request routed to a handler: times it, meters its allocations and CPU time,
  // and counts its status.
  void serve(const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_seconds();
    service_edge::begin_request();
    frugal::allocation_meter_scope scope;
    route r = route::other;
    try {
      r = dispatch(req, res);
    } catch (const database_unavailable&) {
      send_error(res, 503, "database unavailable");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "service-frugal: %s: %s\n", req.path.c_str(), e.what());
      send_error(res, 500, "internal error");
    } catch (...) {
      std::fprintf(stderr, "service-frugal: %s: an unknown exception\n", req.path.c_str());
      send_error(res, 500, "internal error");
    }
    request_session.reset();
    scope.stop();
    const service_edge::request_allocations split = service_edge::split(scope.totals());
    const frugal::allocation_totals& totals = split.handler;
    if (naive.metrics) {
      const std::string labels =
          "{route=\"" + std::string(route_names[static_cast<int>(r)]) + "\"}";
      naive_metrics_.add("service_handler_allocations_total" + labels,
                         static_cast<double>(totals.allocations));
      naive_metrics_.add("service_handler_allocation_bytes_total" + labels,
                         static_cast<double>(totals.bytes));
      naive_metrics_.add("service_handoff_allocations_total" + labels,
                         static_cast<double>(split.handoff.allocations));
      naive_metrics_.add("service_handler_cpu_seconds_total" + labels,
                         thread_cpu_seconds() - cpu_start);
      naive_metrics_.add(
          "service_request_duration_seconds_sum" + labels,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      naive_metrics_.add("service_request_duration_seconds_count" + labels, 1);
      count(r, res.status);
      return;
    }
    const route_metrics& m = metrics_.routes[static_cast<int>(r)];
    m.allocations->inc(totals.allocations);
    m.allocation_bytes->inc(totals.bytes);
    m.handoff_allocations->inc(split.handoff.allocations);
    m.cpu->inc(thread_cpu_seconds() - cpu_start);
    m.duration->observe(std::chrono::steady_clock::now() - start);
    metrics_.count(r, res.status);
  }

 private:
  static frugal::pg_pool_options pg_options(int threads) {
    frugal::pg_pool_options p;
    // One session per worker is all the workers can use at once; a refused connect is retried
    // for a short while only, so that a request answers 503 quickly while PostgreSQL is down.
    p.max_connections = static_cast<std::size_t>(threads);
    p.acquire_timeout = 300ms;
    // A frozen server (stopped, a network that drops packets) holds a statement for at most
    // this long: the request answers 503 instead of holding its worker.
    p.statement_timeout = 2s;
    return p;
  }

  frugal::tiered_cache_options<std::int64_t, std::string> cache_options(const service_options& o,
                                                                        const service_config& c) {
    frugal::tiered_cache_options<std::int64_t, std::string> t;
    t.redis.port = o.redis_port;
    t.local.max_capacity = c.cache_capacity;
    // The local time to live follows reloads of the configuration; Redis's is set at start.
    t.local.time_to_live = std::chrono::seconds(c.cache_ttl_seconds);
    t.local.expire_after_write = [this](const std::int64_t&, const std::string&) {
      return std::optional<std::chrono::nanoseconds>(
          std::chrono::seconds(settings().cache_ttl_seconds));
    };
    t.key = [](const std::int64_t& id, std::string& out) {
      out.append("user:");
      frugal::append_decimal(out, id);
    };
    t.ttl = std::chrono::seconds(c.cache_ttl_seconds);
    t.channel.clear();  // nothing here invalidates users: no subscriber
    t.lock_ttl = 0ms;   // a user's row loads in one short query: no stampede lock
    t.connections = static_cast<std::size_t>(o.threads);
    return t;
  }

  route dispatch(const httplib::Request& req, httplib::Response& res) {
    if (service_edge::body_too_large(req)) {
      send_error(res, 413, "payload too large");
      return route::other;
    }
    if (naive.parse) return dispatch_copying(req, res);
    const std::string_view path = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (path == "/users") return get ? get_users(req, res) : not_allowed(res, route::users);
    if (path == "/posts") {
      return req.method == "POST" ? post_posts(req, res) : not_allowed(res, route::posts);
    }
    if (path == "/health") return get ? health(res) : not_allowed(res, route::health);
    if (path == "/metrics") return get ? scrape(res) : not_allowed(res, route::metrics);
    if (const auto rest = frugal::strip_prefix(path, "/users/")) {
      const auto parts = frugal::split_once(*rest, '/');
      if (!parts) return get ? get_user(*rest, res) : not_allowed(res, route::user);
      if (parts->second == "posts") {
        return get ? get_user_posts(parts->first, res) : not_allowed(res, route::user_posts);
      }
    }
    send_error(res, 404, "not found");
    return route::other;
  }

  // dispatch's naive part: the path, its parts and the id copied into std::strings.
  route dispatch_copying(const httplib::Request& req, httplib::Response& res) {
    const std::string path = req.path;
    const std::string method = req.method;
    const bool get = method == "GET" || method == "HEAD";
    if (path == "/users") return get ? get_users(req, res) : not_allowed(res, route::users);
    if (path == "/posts") {
      return method == "POST" ? post_posts(req, res) : not_allowed(res, route::posts);
    }
    if (path == "/health") return get ? health(res) : not_allowed(res, route::health);
    if (path == "/metrics") return get ? scrape(res) : not_allowed(res, route::metrics);
    if (path.rfind("/users/", 0) == 0) {
      const std::string rest = path.substr(7);
      const std::string::size_type slash = rest.find('/');
      if (slash == std::string::npos) {
        const std::string id = rest;
        return get ? get_user(id, res) : not_allowed(res, route::user);
      }
      if (rest.substr(slash) == "/posts") {
        const std::string id = rest.substr(0, slash);
        return get ? get_user_posts(id, res) : not_allowed(res, route::user_posts);
      }
    }
    send_error(res, 404, "not found");
    return route::other;
  }

  static route not_allowed(httplib::Response& res, route r) {
    send_error(res, 405, "method not allowed");
    return r;
  }

  // Runs `f(connection)` on a pooled session. A session the server dropped (a restart, a
  // terminated backend) shows only when a statement fails: it is discarded and, when that was
  // `f`'s first statement (nothing of `f` can have reached the database), `f` runs once more
  // on a fresh one. A later statement lost with its session (a COMMIT whose answer never
  // came, a statement timeout) may have been applied: `f` is not run again. Unavailable
  // PostgreSQL throws database_unavailable.
  template <class F>
  auto with_db(F f) {
    if (naive.pool) return with_request_session(f);
    for (int attempt = 0;; ++attempt) {
      frugal::pool_lease<frugal::pg_connection> conn;
      try {
        conn = db_.acquire();
      } catch (const frugal::pool_timeout&) {
        throw database_unavailable{};
      }
      const std::uint64_t before = conn->round_trips();
      try {
        return f(*conn);
      } catch (const frugal::pg_error& e) {
        const std::string_view state = e.sqlstate();
        const bool lost =
            !conn->ok() || state.empty() || state.starts_with("08") || state.starts_with("57P");
        if (!lost) throw;
        const bool first_statement = conn->round_trips() - before <= 1;
        conn.discard();
        if (attempt == 1 || !first_statement) throw database_unavailable{};
      }
    }
  }

  // with_db's naive part: the request's own session, connected on first use.
  template <class F>
  auto with_request_session(F& f) {
    for (int attempt = 0;; ++attempt) {
      if (!request_session) {
        try {
          request_session.emplace(frugal::pg_connection::connect(conninfo_));
        } catch (const frugal::pg_error&) {
          throw database_unavailable{};
        }
      }
      const std::uint64_t before = request_session->round_trips();
      try {
        return f(*request_session);
      } catch (const frugal::pg_error& e) {
        const std::string_view state = e.sqlstate();
        const bool lost = !request_session->ok() || state.empty() || state.starts_with("08") ||
                          state.starts_with("57P");
        if (!lost) throw;
        const bool first_statement = request_session->round_trips() - before <= 1;  // see with_db
        request_session.reset();
        if (attempt == 1 || !first_statement) throw database_unavailable{};
      }
    }
  }

  // The user's JSON as GET /users/{id} answers it: the name escaped, the e-mail lower-cased
  // and escaped, each borrowed from the row unless it changes; one allocation of the total.
  static std::string user_json(std::string_view id, std::string_view name, std::string_view email) {
    if (naive.json) {
      std::string lower(email);
      for (char& ch : lower) {
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      }
      return "{\"id\":" + std::string(id) + ",\"name\":\"" + naive::escape_json(std::string(name)) +
             "\",\"email\":\"" + naive::escape_json(lower) + "\"}";
    }
    const frugal::cow_string lower = frugal::to_lower_ascii(email);
    const frugal::cow_string escaped_name = frugal::escape_json(name);
    const frugal::cow_string escaped_email = frugal::escape_json(lower.view());
    return frugal::str_cat("{\"id\":", id, ",\"name\":\"", escaped_name.view(), "\",\"email\":\"",
                           escaped_email.view(), "\"}");
  }

  std::string load_user(std::int64_t id) {
    return with_db([&](frugal::pg_connection& c) {
      const frugal::pg_result r = c.query("SELECT id, name, email FROM users WHERE id = $1", id);
      if (r.rows() == 0) throw no_such_user{};
      return user_json(r.text(0, 0), r.text(0, 1), r.text(0, 2));
    });
  }

  route get_user(std::string_view id_text, httplib::Response& res) {
    const auto id = parse_id(id_text);
    if (!id) {
      send_error(res, 400, "invalid id");
      return route::user;
    }
    if (!naive.cache) count_lookup("cache");
    if (naive.cache) {
      const std::optional<std::string> user = find_user_naive(*id);
      if (user) {
        send_shared_json(res, 200, *user);
      } else {
        send_error(res, 404, "not found");
      }
      return route::user;
    }
    try {
      const user_cache::value_ptr user = users_.get_with(*id, [&] { return load_user(*id); });
      // The cached JSON is shared; cpp-httplib's body is a std::string of its own.
      send_shared_json(res, 200, *user);
    } catch (const no_such_user&) {
      send_error(res, 404, "not found");
    }
    return route::user;
  }

  route get_user_posts(std::string_view id_text, httplib::Response& res) {
    const auto id = parse_id(id_text);
    if (!id) {
      send_error(res, 400, "invalid id");
      return route::user_posts;
    }
    with_db([&](frugal::pg_connection& c) {
      // One round trip answers both questions: no row, no user; a NULL post id, no posts.
      const frugal::pg_result r = c.query(
          "SELECT p.id, p.title, p.body FROM users u LEFT JOIN posts p ON p.user_id = u.id "
          "WHERE u.id = $1 ORDER BY p.id",
          *id);
      if (r.rows() == 0) {
        send_error(res, 404, "not found");
        return;
      }
      const int posts = r.is_null(0, 0) ? 0 : r.rows();
      if (naive.json) {
        std::string body = "{\"user_id\":" + std::string(id_text) + ",\"posts\":[";
        for (int i = 0; i < posts; ++i) {
          if (i > 0) body += ",";
          body += "{\"id\":" + std::string(r.text(i, 0)) + ",\"title\":\"" +
                  naive::escape_json(std::string(r.text(i, 1))) + "\",\"body\":\"" +
                  naive::escape_json(std::string(r.text(i, 2))) + "\"}";
        }
        body += "]}";
        send_json(res, 200, std::move(body));
        return;
      }
      std::size_t hint = 32 + id_text.size();
      for (int i = 0; i < posts; ++i) {
        hint += 32 + r.text(i, 0).size() + r.text(i, 1).size() + r.text(i, 2).size();
      }
      frugal::builder<std::string> b(hint);
      b.append("{\"user_id\":", id_text, ",\"posts\":[");
      for (int i = 0; i < posts; ++i) {
        const frugal::cow_string title = frugal::escape_json(r.text(i, 1));
        const frugal::cow_string body = frugal::escape_json(r.text(i, 2));
        b.append(i == 0 ? "{\"id\":" : ",{\"id\":", r.text(i, 0), ",\"title\":\"", title.view(),
                 "\",\"body\":\"", body.view(), "\"}");
      }
      b.append("]}");
      send_json(res, 200, std::move(b).build());
    });
    return route::user_posts;
  }

  route get_users(const httplib::Request& req, httplib::Response& res) {
    const service_config cfg = settings();
    frugal::small_vector<std::int64_t, 32> ids;
    std::vector<std::int64_t> copied_ids;
    std::span<const std::int64_t> keys;
    if (naive.parse) {
      // The naive part: the value copied, split into a vector of strings.
      if (!req.has_param("ids")) {
        send_error(res, 400, "invalid id");
        return route::users;
      }
      const std::string value = req.get_param_value("ids");
      std::vector<std::string> parts;
      std::string part;
      std::stringstream stream(value);
      while (std::getline(stream, part, ',')) parts.push_back(part);
      if (!value.empty() && value.back() == ',') parts.push_back("");
      if (parts.empty()) {
        send_error(res, 400, "invalid id");
        return route::users;
      }
      if (parts.size() > cfg.max_ids) {
        send_error(res, 400, "too many ids");
        return route::users;
      }
      for (const std::string& p : parts) {
        const auto id = parse_id(p);
        if (!id) {
          send_error(res, 400, "invalid id");
          return route::users;
        }
        copied_ids.push_back(*id);
      }
      keys = copied_ids;
    } else {
      // cpp-httplib has already split and decoded the query; the first `ids` is read in place.
      const auto param = req.params.find("ids");
      if (param == req.params.end() || param->second.empty()) {
        send_error(res, 400, "invalid id");
        return route::users;
      }
      const std::string_view value = param->second;
      const auto parts = frugal::split(value, ',');
      if (static_cast<std::uint64_t>(std::ranges::distance(parts)) > cfg.max_ids) {
        send_error(res, 400, "too many ids");
        return route::users;
      }
      for (const std::string_view part : parts) {
        const auto id = parse_id(part);
        if (!id) {
          send_error(res, 400, "invalid id");
          return route::users;
        }
        ids.push_back(*id);
      }
      keys = std::span<const std::int64_t>(ids.data(), ids.size());
    }
    if (naive.cache) {
      const std::vector<std::optional<std::string>> found = find_users_naive(keys);
      send_users(res, found.size(), [&](std::size_t i) { return found[i] ? &*found[i] : nullptr; });
      return route::users;
    }
    std::vector<user_cache::value_ptr> found;
    if (naive.batch) {
      // The naive part: one lookup (and on a miss, one GET and one query) per id.
      found.reserve(keys.size());
      for (const std::int64_t id : keys) {
        count_lookup("cache");
        try {
          found.push_back(users_.get_with(id, [&] { return load_user(id); }));
        } catch (const no_such_user&) {
          found.emplace_back();
        }
      }
    } else {
      for (std::size_t i = 0; i < keys.size(); ++i) count_lookup("cache");
      try {
        found = users_.get_all(
            keys, [&](std::span<const std::int64_t> missing) { return load_users(missing); });
      } catch (const no_such_user&) {
        // A key of this page was being loaded by a GET /users/{id} whose user did not exist:
        // its waiters, this call among them, get that load's answer. The page is then read
        // id by id, each id with no user answered null.
        found.clear();
        for (const std::int64_t id : keys) {
          try {
            found.push_back(users_.get_with(id, [&] { return load_user(id); }));
          } catch (const no_such_user&) {
            found.emplace_back();
          }
        }
      }
    }
    send_users(res, found.size(), [&](std::size_t i) { return found[i].get(); });
    return route::users;
  }

  // Answers {"users":[...]} with `user(i)` (the JSON, or null for no user) for i < n.
  template <class User>
  static void send_users(httplib::Response& res, std::size_t n, User user) {
    if (naive.json) {
      std::string body = "{\"users\":[";
      for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) body += ",";
        const std::string* u = user(i);
        body += u != nullptr ? *u : std::string("null");
      }
      body += "]}";
      send_json(res, 200, std::move(body));
      return;
    }
    std::size_t size = 12;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string* u = user(i);
      size += 1 + (u != nullptr ? u->size() : 4);
    }
    frugal::builder<std::string> b(size);
    b.append("{\"users\":[");
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) b.append(',');
      const std::string* u = user(i);
      if (u != nullptr) {
        b.append(*u);
      } else {
        b.append("null");
      }
    }
    b.append("]}");
    send_json(res, 200, std::move(b).build());
  }

  // The cache's naive part for one user: the local map, Redis, then PostgreSQL, each hit
  // copied; a load is stored in both caches. Nothing for an id without a user.
  std::optional<std::string> find_user_naive(std::int64_t id) {
    const std::uint64_t ttl = settings().cache_ttl_seconds;
    if (std::optional<std::string> hit = naive_users_.get_local(id)) {
      count_lookup("local");
      return hit;
    }
    if (std::optional<std::string> hit = naive_users_.redis_get(id)) {
      count_lookup("redis");
      naive_users_.put_local(id, *hit, ttl);
      return hit;
    }
    std::string json;
    try {
      json = load_user(id);
    } catch (const no_such_user&) {
      count_lookup("missing");
      return std::nullopt;
    }
    count_lookup("database");
    naive_users_.put_local(id, json, ttl);
    naive_users_.redis_setex(id, ttl, json);
    return json;
  }

  // The cache's naive part for a page: one lookup per id, or (batch on) the local map and
  // Redis per id, then one query for what is left.
  std::vector<std::optional<std::string>> find_users_naive(std::span<const std::int64_t> keys) {
    std::vector<std::optional<std::string>> out(keys.size());
    if (naive.batch) {
      for (std::size_t i = 0; i < keys.size(); ++i) out[i] = find_user_naive(keys[i]);
      return out;
    }
    const std::uint64_t ttl = settings().cache_ttl_seconds;
    std::vector<std::int64_t> missing;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if ((out[i] = naive_users_.get_local(keys[i]))) {
        count_lookup("local");
        continue;
      }
      if ((out[i] = naive_users_.redis_get(keys[i]))) {
        count_lookup("redis");
        naive_users_.put_local(keys[i], *out[i], ttl);
        continue;
      }
      missing.push_back(keys[i]);
      where.push_back(i);
    }
    if (missing.empty()) return out;
    std::vector<std::optional<std::string>> loaded = load_users(missing);
    for (std::size_t j = 0; j < missing.size(); ++j) {
      count_lookup(loaded[j] ? "database" : "missing");
      if (!loaded[j]) continue;
      naive_users_.put_local(missing[j], *loaded[j], ttl);
      naive_users_.redis_setex(missing[j], ttl, *loaded[j]);
      out[where[j]] = std::move(loaded[j]);
    }
    return out;
  }

  // batch's contract for get_all: one result per key, in key order, std::nullopt for an id
  // without a user; one `= ANY($1)` query for all of them.
  std::vector<std::optional<std::string>> load_users(std::span<const std::int64_t> ids) {
    return with_db([&](frugal::pg_connection& c) {
      struct row {
        std::int64_t id;
        std::string json;
      };
      auto rows = frugal::pg_fetch_any(
          c, "SELECT id, name, email FROM users WHERE id = ANY($1) ORDER BY id", ids,
          [](const frugal::pg_result& r, int i) {
            return row{r.get<std::int64_t>(i, 0),
                       user_json(r.text(i, 0), r.text(i, 1), r.text(i, 2))};
          });
      std::vector<std::optional<std::string>> out;
      out.reserve(ids.size());
      for (const std::int64_t id : ids) {
        const auto it = std::ranges::lower_bound(rows, id, {}, &row::id);
        if (it != rows.end() && it->id == id) {
          out.emplace_back(it->json);
        } else {
          out.emplace_back(std::nullopt);
        }
      }
      return out;
    });
  }

  route post_posts(const httplib::Request& req, httplib::Response& res) {
    service::posts_request parsed;
    if (!parsed.parse(req.body, settings().max_batch)) {
      send_error(res, 400, "bad json");
      return route::posts;
    }
    const auto& items = parsed.items();
    frugal::small_vector<std::int64_t, 16> users;
    for (const auto& item : items) users.push_back(item.user_id);
    std::ranges::sort(users);
    const auto distinct = std::ranges::unique(users);
    users.erase(distinct.begin(), distinct.end());

    const bool known = with_db([&](frugal::pg_connection& c) {
      c.exec("BEGIN");
      try {
        const std::string array =
            frugal::pg_array(std::span<const std::int64_t>(users.data(), users.size()));
        const frugal::pg_result n = c.query("SELECT count(*) FROM users WHERE id = ANY($1)", array);
        if (n.get<std::uint64_t>(0, 0) != users.size()) {
          c.exec("ROLLBACK");
          return false;
        }
        const auto statements = frugal::insert_rows(
            "posts", {"user_id", "title", "body"}, items,
            [](const service::post_item& p) {
              return frugal::static_vector<const char*, 3>{p.user_id_text, p.title, p.body};
            },
            {.suffix = " RETURNING id"});
        std::optional<frugal::builder<std::string>> b;
        std::string naive_body;  // the json part's naive version
        if (naive.json) {
          naive_body = "{\"ids\":[";
        } else {
          b.emplace(16 + 21 * items.size());
          b->append("{\"ids\":[");
        }
        bool first = true;
        for (const auto& st : statements) {
          const frugal::pg_result r = c.query_values(
              st.sql, std::span<const char* const>(st.params.data(), st.params.size()));
          for (int i = 0; i < r.rows(); ++i) {
            if (naive.json) {
              naive_body += (first ? "" : ",") + std::string(r.text(i, 0));
            } else {
              b->append(first ? "" : ",", r.text(i, 0));
            }
            first = false;
          }
        }
        c.exec("COMMIT");
        if (naive.json) {
          send_json(res, 201, naive_body + "]}");
        } else {
          b->append("]}");
          send_json(res, 201, std::move(*b).build());
        }
        return true;
      } catch (...) {
        // A session left inside a transaction is closed by the pool at release; one that still
        // talks is rolled back so that it can be reused.
        if (c.ok()) {
          try {
            c.exec("ROLLBACK");
          } catch (const frugal::pg_error&) {
          }
        }
        throw;
      }
    });
    if (!known) send_error(res, 422, "unknown user");
    return route::posts;
  }

  route health(httplib::Response& res) {
    try {
      with_db([](frugal::pg_connection& c) { c.exec("SELECT 1"); });
      send_text(res, 200, "ok");
    } catch (const database_unavailable&) {
      send_text(res, 503, "database unavailable");
    }
    return route::health;
  }

  route scrape(httplib::Response& res) {
    const frugal::tiered_cache_stats s = users_.stats();
    const auto l1 = users_.local().stats();
    metrics_.l1_hits.set(static_cast<double>(l1.hits));
    metrics_.l2_hits.set(static_cast<double>(s.l2_hits));
    metrics_.loads.set(static_cast<double>(s.loads));
    metrics_.redis_errors.set(static_cast<double>(s.l2_errors));
    // The exposition is written straight into the response's own string, reserved once from
    // an upper bound of its size: a buffer kept between scrapes would have to be copied into
    // the response anyway.
    metrics_.registry.write(res.body);
    // The naive part's series follow frugal's families, which stay at zero, under the same
    // names and labels: a sum over the series is right, a strict scraper sees duplicates.
    if (naive.metrics) naive_metrics_.write(res.body);
    service_edge::append_process_allocations(res.body);
    res.status = 200;
    res.set_header("Content-Type", "text/plain; version=0.0.4");
    return route::metrics;
  }

  frugal::shared_config<service_config> config_;
  std::mutex naive_config_mutex_;  // the config part's naive version
  std::shared_ptr<const service_config> naive_config_;
  std::string conninfo_;
  service_metrics metrics_;
  naive_counters naive_metrics_;
  frugal::pg_pool db_;
  user_cache users_;
  naive_user_cache naive_users_;
};

// Server ------------------------------------------------------------------------------------

// Whether the request reached a known path (for 405 against 404 on methods without handlers).
bool known_path(std::string_view path) {
  if (path == "/users" || path == "/posts" || path == "/health" || path == "/metrics") return true;
  const auto rest = frugal::strip_prefix(path, "/users/");
  if (!rest) return false;
  const auto parts = frugal::split_once(*rest, '/');
  return !parts || parts->second == "posts";
}

[[noreturn]] void usage(const std::string& message) {
  std::cerr << "service-frugal: " << message
            << "\nusage: service-frugal --port P --postgres CONNINFO --redis-port R"
               " [--config FILE] [--threads N]"
               " [--naive-parts cache,batch,pool,json,parse,metrics,config|all]\n";
  std::exit(2);
}

service_options parse_options(int argc, char** argv) {
  service_options o;
  if (const char* parts = std::getenv("FRUGAL_SERVICE_NAIVE_PARTS")) {
    std::string error;
    const auto parsed = parse_naive_parts(parts, error);
    if (!parsed) usage("FRUGAL_SERVICE_NAIVE_PARTS: " + error);
    naive = *parsed;
  }
  for (int i = 1; i < argc; i += 2) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) usage("missing value for " + std::string(name));
    const std::string_view value = argv[i + 1];
    auto number = [&] {
      const auto n = frugal::parse<int>(value);
      if (!n || *n <= 0) usage("bad value for " + std::string(name) + ": " + std::string(value));
      return *n;
    };
    if (name == "--port") {
      o.port = number();
    } else if (name == "--postgres") {
      o.postgres = value;
    } else if (name == "--redis-port") {
      o.redis_port = number();
    } else if (name == "--config") {
      o.config_file = value;
    } else if (name == "--threads") {
      o.threads = number();
    } else if (name == "--naive-parts") {
      std::string error;
      const auto parts = parse_naive_parts(value, error);
      if (!parts) usage(error);
      naive = *parts;
    } else {
      usage("unknown option " + std::string(name));
    }
  }
  if (o.port == 0 || o.postgres.empty() || o.redis_port == 0) {
    usage("--port, --postgres and --redis-port are required");
  }
  if (o.port > 65535 || o.redis_port > 65535) usage("a port is at most 65535");
  if (o.threads > service_edge::max_threads) {
    usage("--threads is at most " + std::to_string(service_edge::max_threads));
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals go to one sigwait thread: blocked first, so every thread started later inherits
  // the mask and a SIGTERM during start-up waits for that thread.
  const sigset_t signals = service_edge::block_service_signals();

  const service_options opts = parse_options(argc, argv);
  service_config initial;
  if (!opts.config_file.empty()) {
    std::string error;
    auto loaded = read_config(opts.config_file, error);
    if (!loaded) {
      std::cerr << "service-frugal: " << error << "\n";
      return 2;
    }
    initial = *loaded;
  }

  api svc(opts, initial);
  service_edge::http_server server;
  const int threads = opts.threads;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  server.set_keep_alive_max_count(10'000);
  // cpp-httplib writes a response's headers and body in two writes: without TCP_NODELAY the
  // body waits for the client's delayed ACK (about 40 ms) on every keep-alive response.
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(64 * 1024);

  server.set_pre_routing_handler([&svc](const httplib::Request& req, httplib::Response& res) {
    const auto refused = service_edge::early_refusal(req);
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    if (refused->close) res.set_header("Connection", "close");
    send_error(res, refused->status, refused->message);
    svc.count(route::other, refused->status);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Answers what cpp-httplib refused before any handler ran (a handler's answer has a body).
  server.set_error_handler([&svc](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const auto r = service_edge::refusal_for(req, res.status, known_path(req.path));
    send_error(res, r.status, r.message);
    svc.count(route::other, res.status);
  });

  auto handler = [&svc](const httplib::Request& req, httplib::Response& res) {
    svc.serve(req, res);
  };
  server.Get(R"([\s\S]*)", handler);
  server.Post(R"([\s\S]*)", handler);

  if (!server.bind_to_port("127.0.0.1", opts.port)) {
    std::cerr << "service-frugal: cannot listen on 127.0.0.1:" << opts.port << "\n";
    return 1;
  }
  server.raise_backlog();

  std::atomic<bool> served{false};
  std::thread signal_thread([&server, &svc, &served, signals, file = opts.config_file] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig != SIGHUP) break;
      if (file.empty()) continue;
      std::string error;
      auto loaded = read_config(file, error);
      if (!loaded) {
        std::cerr << "service-frugal: keeping the old configuration: " << error << "\n";
        continue;
      }
      svc.reload(*loaded);
    }
    // cpp-httplib's stop() does nothing to a server whose accept loop has not started yet: a
    // signal that arrives that early is answered once the loop runs.
    while (!served.load()) {
      server.stop();
      std::this_thread::sleep_for(10ms);
    }
  });

  std::cout << "listening on 127.0.0.1:" << opts.port << std::endl;
  server.listen_after_bind();
  served.store(true);
  // Ends the sigwait thread also when the server stopped on its own (an accept failure).
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return 0;
}
