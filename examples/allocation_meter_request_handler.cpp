// A service that exports the heap allocations of each request, by route, next to its request
// counts: "allocations per request" is then one PromQL division away
// (rate(handler_allocations_total[5m]) / rate(handler_requests_total[5m])), and a change that
// adds an allocation to a hot route shows up on a dashboard, not only in a profiler.
#define FRUGAL_DEFINE_ALLOCATION_METER  // in exactly one .cpp of the program
#include <frugal/allocation_meter.hpp>
#include <frugal/metrics.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metrics = frugal::metrics;

namespace {

constexpr std::array<std::string_view, 4> user_names = {"ada", "grace", "edsger", "barbara"};

// GET /health: a short answer, held inside the string object (no heap).
std::string health() { return R"({"status":"ok"})"; }

// GET /user?id=N: one body, reserved once: one allocation.
std::string user(std::size_t id) {
  std::string body;
  body.reserve(63);
  body += R"({"id":)";
  body += std::to_string(id);
  body += R"(,"name":")";
  body += user_names[id % user_names.size()];
  body += "\"}";
  return body;
}

// GET /search?prefix=P: the matches collected as views, then the body: two allocations.
std::string search(std::string_view prefix) {
  std::vector<std::string_view> matches;
  matches.reserve(user_names.size());
  for (std::string_view name : user_names) {
    if (name.starts_with(prefix)) matches.push_back(name);
  }
  std::string body;
  body.reserve(127);
  body += "[";
  for (std::size_t i = 0; i < matches.size(); ++i) {
    if (i != 0) body += ",";
    body += "\"";
    body += matches[i];
    body += "\"";
  }
  body += "]";
  return body;
}

// The handles of one route, resolved once at start-up: recording a request looks nothing up.
struct route_metrics {
  metrics::counter& requests;
  metrics::counter& allocations;
  metrics::counter& allocation_bytes;
};

}  // namespace

int main() {
  metrics::registry reg;
  auto& requests =
      reg.add_counter_family("handler_requests_total", "Requests handled, by route.", {"route"});
  auto& allocations = reg.add_counter_family(
      "handler_allocations_total", "Heap allocations made by the handler, by route.", {"route"});
  auto& allocation_bytes = reg.add_counter_family(
      "handler_allocation_bytes_total",
      "Bytes requested by the handler's heap allocations, by route.", {"route"});
  const auto resolve = [&](std::string_view route) {
    return route_metrics{requests.with({route}), allocations.with({route}),
                         allocation_bytes.with({route})};
  };
  route_metrics health_metrics = resolve("/health");
  route_metrics user_metrics = resolve("/user");
  route_metrics search_metrics = resolve("/search");

  // Measures one request on this thread and adds it to its route's counters. The counters are
  // updated after stop(), so their own first-use allocation is not charged to the request.
  const auto serve = [](route_metrics& m, auto&& handler) {
    frugal::allocation_meter_scope meter;
    std::string answer = handler();
    meter.stop();
    m.requests.inc();
    frugal::record_allocations(meter.totals(), m.allocations, m.allocation_bytes);
    return answer;
  };

  std::printf("meter available: %s\n", frugal::allocation_meter_available() ? "yes" : "no");
  for (std::size_t id = 1; id <= 3; ++id) {
    const std::string answer = serve(user_metrics, [&] { return user(id); });
    std::printf("GET /user?id=%zu -> %s\n", id, answer.c_str());
  }
  for (int i = 0; i < 5; ++i) serve(health_metrics, [] { return health(); });
  for (std::string_view prefix : {"g", "b"}) {
    const std::string answer = serve(search_metrics, [&] { return search(prefix); });
    std::printf("GET /search?prefix=%.*s -> %s\n", static_cast<int>(prefix.size()), prefix.data(),
                answer.c_str());
  }

  for (auto [route, m] : {std::pair<std::string_view, route_metrics*>{"/health", &health_metrics},
                          {"/user", &user_metrics},
                          {"/search", &search_metrics}}) {
    const std::uint64_t n = m->requests.value();
    std::printf("%-8.*s requests=%llu allocations/request=%llu bytes/request=%llu\n",
                static_cast<int>(route.size()), route.data(), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(m->allocations.value() / n),
                static_cast<unsigned long long>(m->allocation_bytes.value() / n));
  }

  std::string exposition;
  reg.write(exposition);
  std::fputs(exposition.c_str(), stdout);
}
