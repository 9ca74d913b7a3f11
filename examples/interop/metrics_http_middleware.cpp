// A users service on cpp-httplib with the guide's metrics middleware: every route is wrapped
// once, at registration, in a handler that counts the request and times it by method and
// route (the route's pattern, not the raw path, so that /users/42 and /users/43 share one
// series), and /metrics serves the registry in the Prometheus text format.
//
//   metrics_http_middleware                  serves on a free port, drives a few requests,
//                                            prints what a scrape shows (CI diffs it)
//   metrics_http_middleware --serve [PORT]   serves until SIGINT/SIGTERM, printing
//                                            "listening on 127.0.0.1:PORT" first
#include <frugal/metrics.hpp>

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace metrics = frugal::metrics;

namespace {

struct service_metrics {
  metrics::registry registry;
  metrics::request_metrics http{registry};
  metrics::gauge& in_flight =
      registry.add_gauge("http_requests_in_flight", "Requests being served now.");
};

// Wraps `handler` for (method, pattern): the series are resolved here, once; each request
// then costs two relaxed load/store pairs on this thread's cells and two clock reads.
template <class Handler>
httplib::Server::Handler instrumented(service_metrics& m, std::string_view method,
                                      std::string_view pattern, Handler handler) {
  const auto route = m.http.for_route(method, pattern);
  return [&m, route, handler](const httplib::Request& req, httplib::Response& res) {
    metrics::request_metrics::timer timer(route);
    m.in_flight.inc();
    handler(req, res);
    m.in_flight.dec();
  };
}

void build(httplib::Server& server, service_metrics& m) {
  server.Get("/users", instrumented(m, "GET", "/users", [](const auto&, auto& res) {
               res.set_content("[\"ada\",\"grace\"]", "application/json");
             }));
  server.Get(R"(/users/(\d+))",
             instrumented(m, "GET", "/users/:id", [](const httplib::Request& req, auto& res) {
               res.set_content("{\"id\":" + std::string(req.matches[1]) + "}", "application/json");
             }));
  server.Post("/users",
              instrumented(m, "POST", "/users", [](const auto&, auto& res) { res.status = 201; }));
  server.Get("/metrics", [&m](const httplib::Request&, httplib::Response& res) {
    // One buffer per serving thread, reused: after the first scrape, writing allocates
    // nothing (httplib then copies it into the response).
    thread_local std::string body;
    body.clear();
    m.registry.write(body);
    res.set_content(body, std::string(metrics::content_type));
  });
}

httplib::Server* running = nullptr;

int serve(int port) {
  service_metrics m;
  httplib::Server server;
  build(server, m);
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "address already in use\n");
    return 1;
  }
  running = &server;
  std::signal(SIGTERM, [](int) { running->stop(); });
  std::signal(SIGINT, [](int) { running->stop(); });
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  server.listen_after_bind();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "--serve") {
    return serve(argc >= 3 ? std::atoi(argv[2]) : 0);
  }
  service_metrics m;
  httplib::Server server;
  build(server, m);
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  httplib::Client client("127.0.0.1", port);
  for (int i = 0; i < 3; ++i) client.Get("/users");
  client.Get("/users/42");
  client.Get("/users/43");
  client.Post("/users", "{\"name\":\"edsger\"}", "application/json");
  const auto scrape = client.Get("/metrics");
  server.stop();
  listener.join();

  std::printf("GET /metrics: %d, Content-Type: %s\n", scrape->status,
              scrape->get_header_value("Content-Type").c_str());
  // Durations vary from run to run: print the counts, which do not.
  std::istringstream lines(scrape->body);
  for (std::string line; std::getline(lines, line);) {
    const bool counts = line.starts_with("http_requests_total") ||
                        line.starts_with("http_request_duration_seconds_count") ||
                        line.starts_with("http_requests_in_flight") || line.starts_with("# TYPE");
    if (counts) std::printf("%s\n", line.c_str());
  }
  return 0;
}
