// A job queue drained by worker threads that count jobs by kind and time them; the workers end
// before the scrape, and their counts are still there: each thread's cells are folded into the
// series when it exits.
#include <frugal/metrics.hpp>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace metrics = frugal::metrics;

int main() {
  metrics::registry reg;
  auto& jobs = reg.add_counter_family("jobs_processed_total", "Jobs processed, by kind.", {"kind"});
  auto& job_seconds = reg.add_histogram_family("job_duration_seconds", "Time to process a job.",
                                               {"kind"}, metrics::histogram_buckets{0.001, 0.01});
  auto& workers = reg.add_gauge("workers_running", "Worker threads running now.");

  // Resolved once, shared by every worker: an update writes the calling thread's own cell.
  auto& resize = jobs.with({"resize"});
  auto& resize_seconds = job_seconds.with({"resize"});
  auto& email = jobs.with({"email"});

  std::vector<std::thread> pool;
  for (int w = 0; w < 4; ++w) {
    pool.emplace_back([&] {
      workers.inc();
      for (int i = 0; i < 250; ++i) {
        resize.inc();
        // A job's measured time (powers of two, so that the sum prints exactly).
        resize_seconds.observe(i % 2 == 0 ? 1.0 / 2048 : 1.0 / 128);
        if (i % 10 == 0) email.inc();
      }
      workers.dec();
    });
  }
  for (auto& t : pool) t.join();

  std::string body;
  reg.write(body);
  std::fputs(body.c_str(), stdout);
}
