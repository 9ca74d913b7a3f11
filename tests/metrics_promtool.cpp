// Prints the exposition of a registry with every kind of metric and tricky label values;
// ctest pipes it into `promtool check metrics`, which must find nothing to complain about.
#include <frugal/metrics.hpp>

#include <cstdio>
#include <thread>

int main() {
  namespace m = frugal::metrics;
  m::registry reg;
  auto& requests = reg.add_counter_family("http_requests_total",
                                          "Requests served, by method and path.\n"
                                          "Paths are \"raw\" and may hold a \\ backslash.",
                                          {"method", "path"});
  requests.with({"GET", "/users"}).inc(3);
  requests.with({"GET", "/say \"hi\""}).inc();
  requests.with({"POST", "C:\\temp\\file"}).inc(2);
  requests.with({"GET", "/line\nbreak"}).inc();
  requests.with({"GET", "/caf\xc3\xa9/\xf0\x9f\x98\x80"}).inc(4);
  requests.with({"GET", ""}).inc();
  reg.add_float_counter("process_cpu_seconds_total", "CPU time spent.").inc(1.25);
  auto& inflight =
      reg.add_gauge_family("http_requests_in_flight", "Requests in flight.", {"method"});
  inflight.with({"GET"}).set(3);
  inflight.with({"POST"}).set(-1e-9);
  auto& latency =
      reg.add_histogram_family("http_request_duration_seconds", "Time to serve a request.",
                               {"method", "path"}, m::histogram_buckets::exponential(0.001, 2, 12));
  latency.with({"GET", "/users"}).observe(0.003);
  std::thread([&] { latency.with({"GET", "/users"}).observe(7); }).join();
  latency.with({"POST", "/say \"hi\""});
  reg.add_histogram("response_size_bytes", "Response sizes.",
                    m::histogram_buckets::linear(100, 100, 5))
      .observe(250);
  std::string out;
  reg.write(out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
