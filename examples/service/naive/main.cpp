// The service (examples/service/README.md) as a busy engineer writes it: std::string copies of
// the request, std::vector everywhere, a mutex-guarded shared_ptr config, a mutex-guarded
// unordered_map + list LRU, hiredis GET/SETEX, prometheus-cpp, one query per id, a PostgreSQL
// connection per request and hand-written JSON. It is the baseline the frugal twin is
// measured against, so it is correct and answers byte for byte what the frugal twin answers.
#define FRUGAL_DEFINE_ALLOCATION_METER
#include "http_edge.hpp"
#include "meter_shim.hpp"

#include <hiredis/hiredis.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "json.hpp"
#include "lru_cache.hpp"

namespace {

// ---- configuration ----

struct config {
  long max_ids = 100;
  long max_batch = 100;
  long cache_ttl_seconds = 300;
  long cache_capacity = 10000;
};

std::optional<config> load_config(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open " + path;
    return std::nullopt;
  }
  config c;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string::size_type hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    std::string::size_type first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    std::string::size_type eq = line.find('=');
    if (eq == std::string::npos) {
      error = path + ":" + std::to_string(number) + ": expected key = value";
      return std::nullopt;
    }
    std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    key.erase(0, key.find_first_not_of(" \t"));
    key.erase(key.find_last_not_of(" \t\r") + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r") + 1);
    long parsed = 0;
    try {
      std::size_t used = 0;
      // Digits only: std::stol would take a sign or leading blanks.
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        throw std::invalid_argument(value);
      }
      parsed = std::stol(value, &used);
      if (used != value.size() || parsed < 1) throw std::invalid_argument(value);
    } catch (const std::exception&) {
      error = path + ":" + std::to_string(number) + ": " + key +
              " needs a positive integer, not '" + value + "'";
      return std::nullopt;
    }
    if (key == "max_ids") {
      c.max_ids = parsed;
    } else if (key == "max_batch") {
      c.max_batch = parsed;
    } else if (key == "cache_ttl_seconds") {
      c.cache_ttl_seconds = parsed;
    } else if (key == "cache_capacity") {
      c.cache_capacity = parsed;
    } else {
      error = path + ":" + std::to_string(number) + ": unknown key '" + key + "'";
      return std::nullopt;
    }
  }
  return c;
}

std::mutex config_mutex;
std::shared_ptr<config> current_config = std::make_shared<config>();

std::shared_ptr<config> get_config() {
  std::lock_guard<std::mutex> lock(config_mutex);
  return current_config;
}

void set_config(std::shared_ptr<config> c) {
  std::lock_guard<std::mutex> lock(config_mutex);
  current_config = c;
}

// ---- metrics ----

struct metrics_state {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("service_requests_total")
          .Help("Requests answered, by route and status.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& duration =
      prometheus::BuildHistogram()
          .Name("service_request_duration_seconds")
          .Help("Time spent in the handler, by route.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& allocations =
      prometheus::BuildCounter()
          .Name("service_handler_allocations_total")
          .Help("Heap allocations made by the handlers, by route.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& allocation_bytes =
      prometheus::BuildCounter()
          .Name("service_handler_allocation_bytes_total")
          .Help("Bytes allocated by the handlers, by route.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& handoff_allocations =
      prometheus::BuildCounter()
          .Name("service_handoff_allocations_total")
          .Help("Heap allocations made handing the answers to cpp-httplib's Response, by route.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cpu =
      prometheus::BuildCounter()
          .Name("service_handler_cpu_seconds_total")
          .Help("Thread CPU time spent in the handlers, by route.")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& cache =
      prometheus::BuildCounter()
          .Name("service_cache_lookups_total")
          .Help("User lookups, by where they were answered (local, redis, database, missing).")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& redis_errors =
      prometheus::BuildCounter()
          .Name("service_redis_errors_total")
          .Help("Redis commands that failed or timed out (each counted as a cache miss).")
          .Register(*registry);
};

metrics_state* metrics = nullptr;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// ---- the service's state ----

std::string postgres_conninfo;
int redis_port = 6379;
naive::lru_cache* local_cache = nullptr;

struct database_unavailable : std::runtime_error {
  database_unavailable() : std::runtime_error("database unavailable") {}
};

std::string error_body(const std::string& message) {
  return "{\"error\":\"" + naive::escape_json(message) + "\"}";
}

// The hand-off to cpp-httplib is metered apart from the handler (http_edge.hpp).
void send_json(httplib::Response& res, int status, const std::string& body) {
  service_edge::handoff_scope handoff;
  res.status = status;
  res.set_content(body, "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, error_body(message));
}

// ---- PostgreSQL: a new connection for each request ----

class database {
 public:
  database() {
    const char* keywords[] = {"dbname", "connect_timeout", nullptr};
    const char* values[] = {postgres_conninfo.c_str(), "2", nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      if (conn_ != nullptr) PQfinish(conn_);
      conn_ = nullptr;
      throw database_unavailable();
    }
  }
  ~database() {
    if (conn_ != nullptr) PQfinish(conn_);
  }
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  // Runs one statement with text parameters; returns the rows as strings. A failed
  // statement throws database_unavailable when the connection is gone, or runtime_error with
  // the SQLSTATE otherwise.
  std::vector<std::vector<std::string>> query(const std::string& sql,
                                              const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    PGresult* result = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                    values.data(), nullptr, nullptr, 0);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      std::string code = state != nullptr ? state : "";
      PQclear(result);
      if (PQstatus(conn_) != CONNECTION_OK || code.rfind("08", 0) == 0 ||
          code.rfind("57P", 0) == 0 || code.empty()) {
        throw database_unavailable();
      }
      throw std::runtime_error(code);
    }
    std::vector<std::vector<std::string>> rows;
    for (int r = 0; r < PQntuples(result); ++r) {
      std::vector<std::string> row;
      for (int c = 0; c < PQnfields(result); ++c) row.push_back(PQgetvalue(result, r, c));
      rows.push_back(row);
    }
    PQclear(result);
    return rows;
  }

 private:
  PGconn* conn_ = nullptr;
};

// ---- Redis: one connection per thread, reconnected after an error ----

struct redis_holder {
  redisContext* context = nullptr;
  ~redis_holder() {
    if (context != nullptr) redisFree(context);
  }
};

thread_local redis_holder redis_of_thread;

redisContext* redis_connection() {
  redisContext*& redis = redis_of_thread.context;
  if (redis != nullptr && redis->err == 0) return redis;
  if (redis != nullptr) {
    redisFree(redis);
    redis = nullptr;
  }
  timeval timeout{0, 200000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", redis_port, timeout);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    metrics->redis_errors.Add({}).Increment();
    return nullptr;
  }
  redisSetTimeout(c, timeout);
  redis = c;
  return redis;
}

std::optional<std::string> redis_get(const std::string& key) {
  redisContext* c = redis_connection();
  if (c == nullptr) return std::nullopt;
  redisReply* reply = static_cast<redisReply*>(redisCommand(c, "GET %s", key.c_str()));
  if (reply == nullptr) {
    metrics->redis_errors.Add({}).Increment();
    return std::nullopt;
  }
  std::optional<std::string> value;
  if (reply->type == REDIS_REPLY_STRING) value = std::string(reply->str, reply->len);
  freeReplyObject(reply);
  return value;
}

void redis_setex(const std::string& key, long ttl, const std::string& value) {
  redisContext* c = redis_connection();
  if (c == nullptr) return;
  redisReply* reply = static_cast<redisReply*>(
      redisCommand(c, "SETEX %s %ld %b", key.c_str(), ttl, value.data(), value.size()));
  if (reply == nullptr) {
    metrics->redis_errors.Add({}).Increment();
    return;
  }
  freeReplyObject(reply);
}

// ---- users ----

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string user_json(const std::string& id, const std::string& name, const std::string& email) {
  return "{\"id\":" + id + ",\"name\":\"" + naive::escape_json(name) + "\",\"email\":\"" +
         naive::escape_json(lower_ascii(email)) + "\"}";
}

// Finds a user's JSON through the local cache, Redis, then PostgreSQL (opening `db` the first
// time it is needed). An id without a user answers nothing.
std::optional<std::string> find_user(std::int64_t id, std::unique_ptr<database>& db) {
  std::shared_ptr<config> cfg = get_config();
  if (std::optional<std::string> hit = local_cache->get(id)) {
    metrics->cache.Add({{"source", "local"}}).Increment();
    return hit;
  }
  std::string key = "user:" + std::to_string(id);
  if (std::optional<std::string> hit = redis_get(key)) {
    metrics->cache.Add({{"source", "redis"}}).Increment();
    local_cache->put(id, *hit, std::chrono::seconds(cfg->cache_ttl_seconds));
    return hit;
  }
  if (!db) db = std::make_unique<database>();
  std::vector<std::vector<std::string>> rows =
      db->query("SELECT id, name, email FROM users WHERE id = $1", {std::to_string(id)});
  if (rows.empty()) {
    metrics->cache.Add({{"source", "missing"}}).Increment();
    return std::nullopt;
  }
  metrics->cache.Add({{"source", "database"}}).Increment();
  std::string json = user_json(rows[0][0], rows[0][1], rows[0][2]);
  local_cache->put(id, json, std::chrono::seconds(cfg->cache_ttl_seconds));
  redis_setex(key, cfg->cache_ttl_seconds, json);
  return json;
}

// ---- handlers ----

void get_user(const httplib::Request& req, httplib::Response& res) {
  std::string text = req.matches[1];
  std::optional<std::int64_t> id = naive::parse_id(text);
  if (!id) return send_error(res, 400, "invalid id");
  std::unique_ptr<database> db;
  std::optional<std::string> user = find_user(*id, db);
  if (!user) return send_error(res, 404, "not found");
  send_json(res, 200, *user);
}

void get_user_posts(const httplib::Request& req, httplib::Response& res) {
  std::string text = req.matches[1];
  std::optional<std::int64_t> id = naive::parse_id(text);
  if (!id) return send_error(res, 400, "invalid id");
  database db;
  std::string id_text = std::to_string(*id);
  if (db.query("SELECT 1 FROM users WHERE id = $1", {id_text}).empty()) {
    return send_error(res, 404, "not found");
  }
  std::vector<std::vector<std::string>> rows =
      db.query("SELECT id, title, body FROM posts WHERE user_id = $1 ORDER BY id", {id_text});
  std::string body = "{\"user_id\":" + id_text + ",\"posts\":[";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) body += ",";
    body += "{\"id\":" + rows[i][0] + ",\"title\":\"" + naive::escape_json(rows[i][1]) +
            "\",\"body\":\"" + naive::escape_json(rows[i][2]) + "\"}";
  }
  body += "]}";
  send_json(res, 200, body);
}

void get_users(const httplib::Request& req, httplib::Response& res) {
  std::shared_ptr<config> cfg = get_config();
  if (!req.has_param("ids")) return send_error(res, 400, "invalid id");
  std::string ids = req.get_param_value("ids");
  std::vector<std::string> parts;
  std::string part;
  std::stringstream stream(ids);
  while (std::getline(stream, part, ',')) parts.push_back(part);
  if (!ids.empty() && ids.back() == ',') parts.push_back("");
  if (parts.empty()) return send_error(res, 400, "invalid id");
  if (static_cast<long>(parts.size()) > cfg->max_ids) return send_error(res, 400, "too many ids");
  std::vector<std::int64_t> parsed;
  for (const std::string& p : parts) {
    std::optional<std::int64_t> id = naive::parse_id(p);
    if (!id) return send_error(res, 400, "invalid id");
    parsed.push_back(*id);
  }
  std::unique_ptr<database> db;
  std::string body = "{\"users\":[";
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (i > 0) body += ",";
    std::optional<std::string> user = find_user(parsed[i], db);
    body += user ? *user : "null";
  }
  body += "]}";
  send_json(res, 200, body);
}

void post_posts(const httplib::Request& req, httplib::Response& res) {
  if (service_edge::body_too_large(req)) return send_error(res, 413, "payload too large");
  std::shared_ptr<config> cfg = get_config();
  naive::posts_parser parser(req.body);
  std::optional<std::vector<naive::new_post>> posts = parser.parse();
  if (!posts || static_cast<long>(posts->size()) > cfg->max_batch) {
    return send_error(res, 400, "bad json");
  }
  database db;
  // Every user is checked before the first insert, so a refused batch takes no post ids.
  for (const naive::new_post& post : *posts) {
    if (db.query("SELECT 1 FROM users WHERE id = $1", {std::to_string(post.user_id)}).empty()) {
      return send_error(res, 422, "unknown user");
    }
  }
  db.query("BEGIN", {});
  std::vector<std::string> ids;
  try {
    for (const naive::new_post& post : *posts) {
      std::vector<std::vector<std::string>> rows =
          db.query("INSERT INTO posts (user_id, title, body) VALUES ($1, $2, $3) RETURNING id",
                   {std::to_string(post.user_id), post.title, post.body});
      ids.push_back(rows[0][0]);
    }
  } catch (const database_unavailable&) {
    throw;
  } catch (const std::runtime_error& e) {
    db.query("ROLLBACK", {});
    if (std::string(e.what()) == "23503") return send_error(res, 422, "unknown user");
    throw;
  }
  db.query("COMMIT", {});
  std::string body = "{\"ids\":[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) body += ",";
    body += ids[i];
  }
  body += "]}";
  send_json(res, 201, body);
}

void get_health(const httplib::Request&, httplib::Response& res) {
  try {
    database db;
    db.query("SELECT 1", {});
    service_edge::handoff_scope handoff;
    res.status = 200;
    res.set_content("ok", "text/plain");
  } catch (const database_unavailable&) {
    service_edge::handoff_scope handoff;
    res.status = 503;
    res.set_content("database unavailable", "text/plain");
  }
}

void get_metrics(const httplib::Request&, httplib::Response& res) {
  prometheus::TextSerializer serializer;
  std::string text = serializer.Serialize(metrics->registry->Collect());
  service_edge::append_process_allocations(text);
  res.status = 200;
  res.set_content(text, "text/plain; version=0.0.4");
}

// Wraps a handler: counts its allocations and CPU time, times it, counts its status, and
// turns an unavailable database into 503.
httplib::Server::Handler instrument(const std::string& route, httplib::Server::Handler handler) {
  prometheus::Histogram& duration = metrics->duration.Add(
      {{"route", route}},
      prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                              0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  prometheus::Counter& allocations = metrics->allocations.Add({{"route", route}});
  prometheus::Counter& bytes = metrics->allocation_bytes.Add({{"route", route}});
  prometheus::Counter& handoff = metrics->handoff_allocations.Add({{"route", route}});
  prometheus::Counter& cpu = metrics->cpu.Add({{"route", route}});
  return [=, &duration, &allocations, &bytes, &handoff, &cpu](const httplib::Request& req,
                                                              httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = thread_cpu_seconds();
    service_edge::begin_request();
    frugal::allocation_meter_scope scope;
    try {
      handler(req, res);
    } catch (const database_unavailable&) {
      send_error(res, 503, "database unavailable");
    } catch (const std::exception& e) {
      std::cerr << "service-naive: " << route << ": " << e.what() << "\n";
      send_error(res, 500, "internal error");
    } catch (...) {
      std::cerr << "service-naive: " << route << ": an unknown exception\n";
      send_error(res, 500, "internal error");
    }
    scope.stop();
    service_edge::request_allocations split = service_edge::split(scope.totals());
    frugal::allocation_totals totals = split.handler;
    handoff.Increment(static_cast<double>(split.handoff.allocations));
    allocations.Increment(static_cast<double>(totals.allocations));
    bytes.Increment(static_cast<double>(totals.bytes));
    cpu.Increment(thread_cpu_seconds() - cpu_start);
    duration.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    metrics->requests.Add({{"route", route}, {"status", std::to_string(res.status)}}).Increment();
  };
}

// The paths the service knows, for 405 against 404.
bool known_path(const std::string& path) {
  if (path == "/users" || path == "/posts" || path == "/health" || path == "/metrics") {
    return true;
  }
  if (path.rfind("/users/", 0) != 0) return false;
  std::string rest = path.substr(7);
  std::string::size_type slash = rest.find('/');
  return slash == std::string::npos || rest.substr(slash) == "/posts";
}


struct options {
  int port = 0;
  std::string postgres;
  int redis_port = 0;
  std::string config_file;
  int threads = 8;
};

[[noreturn]] void usage(const std::string& message) {
  std::cerr << "service-naive: " << message
            << "\nusage: service-naive --port P --postgres CONNINFO --redis-port R"
               " [--config FILE] [--threads N]\n";
  std::exit(2);
}

options parse_options(int argc, char** argv) {
  options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    if (i + 1 >= args.size()) usage("missing value for " + name);
    std::string value = args[++i];
    try {
      if (name == "--port") {
        o.port = std::stoi(value);
      } else if (name == "--postgres") {
        o.postgres = value;
      } else if (name == "--redis-port") {
        o.redis_port = std::stoi(value);
      } else if (name == "--config") {
        o.config_file = value;
      } else if (name == "--threads") {
        o.threads = std::stoi(value);
      } else {
        usage("unknown option " + name);
      }
    } catch (const std::logic_error&) {
      usage("bad value for " + name + ": " + value);
    }
  }
  if (o.port <= 0 || o.postgres.empty() || o.redis_port <= 0 || o.threads <= 0) {
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
  options opts = parse_options(argc, argv);
  postgres_conninfo = opts.postgres;
  redis_port = opts.redis_port;
  if (!opts.config_file.empty()) {
    std::string error;
    std::optional<config> loaded = load_config(opts.config_file, error);
    if (!loaded) {
      std::cerr << "service-naive: " << error << "\n";
      return 2;
    }
    set_config(std::make_shared<config>(*loaded));
  }

  // Signals go to one sigwait thread: every thread started from here on has them blocked.
  const sigset_t signals = service_edge::block_service_signals();

  metrics_state state;
  metrics = &state;
  naive::lru_cache cache(static_cast<std::size_t>(get_config()->cache_capacity));
  local_cache = &cache;

  service_edge::http_server server;
  std::size_t threads = static_cast<std::size_t>(opts.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(10000);
  // cpp-httplib writes a response's headers and body in two writes: without TCP_NODELAY the
  // body waits for the client's delayed ACK (about 40 ms) on every keep-alive response.
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(64 * 1024);

  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    std::optional<service_edge::refusal> refused = service_edge::early_refusal(req);
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    if (refused->close) res.set_header("Connection", "close");
    send_error(res, refused->status, refused->message);
    metrics->requests.Add({{"route", "other"}, {"status", std::to_string(res.status)}}).Increment();
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own answer
    service_edge::refusal r = service_edge::refusal_for(req, res.status, known_path(req.path));
    send_error(res, r.status, r.message);
    metrics->requests.Add({{"route", "other"}, {"status", std::to_string(res.status)}}).Increment();
  });

  server.Get(R"(/users/([^/]*))", instrument("/users/{id}", get_user));
  server.Get(R"(/users/([^/]*)/posts)", instrument("/users/{id}/posts", get_user_posts));
  server.Get("/users", instrument("/users", get_users));
  server.Post("/posts", instrument("/posts", post_posts));
  server.Get("/health", instrument("/health", get_health));
  server.Get("/metrics", instrument("/metrics", get_metrics));

  if (!server.bind_to_port("127.0.0.1", opts.port)) {
    std::cerr << "service-naive: cannot listen on 127.0.0.1:" << opts.port
              << ": address already in use\n";
    return 1;
  }
  server.raise_backlog();

  std::string config_file = opts.config_file;
  std::thread signal_thread([&server, signals, config_file] {
    while (true) {
      int signal_number = 0;
      if (sigwait(&signals, &signal_number) != 0) continue;
      if (signal_number == SIGHUP) {
        if (config_file.empty()) continue;
        std::string error;
        std::optional<config> loaded = load_config(config_file, error);
        if (!loaded) {
          std::cerr << "service-naive: keeping the old configuration: " << error << "\n";
          continue;
        }
        // cache_capacity is read at start only.
        loaded->cache_capacity = get_config()->cache_capacity;
        set_config(std::make_shared<config>(*loaded));
        continue;
      }
      // A signal that comes before the accept loop runs would be lost by stop(): wait for it.
      for (int i = 0; i < 100 && !server.is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      server.stop();
      return;
    }
  });

  std::cout << "listening on 127.0.0.1:" << opts.port << std::endl;
  server.listen_after_bind();
  signal_thread.join();
  return 0;
}
