// Two hidden-visibility shared libraries and this program see one default registry: the
// exposition written here holds both libraries' metrics with their counts.
#include <frugal/metrics.hpp>

#include <cstdio>
#include <string>
#include <thread>

extern "C" void* alpha_registry();
extern "C" void* beta_registry();
extern "C" void alpha_serve(unsigned n);
extern "C" void beta_serve(unsigned n);

int main() {
  auto* mine = &frugal::metrics::default_registry();
  if (alpha_registry() != mine || beta_registry() != mine) {
    std::fprintf(stderr, "registries differ: %p %p %p\n", alpha_registry(), beta_registry(),
                 static_cast<void*>(mine));
    return 1;
  }
  alpha_serve(3);
  std::thread([] {
    beta_serve(5);
    alpha_serve(1);
  }).join();
  mine->add_counter("main_total", "Main.").inc(2);
  const std::string text = mine->text();
  for (const char* line : {"alpha_requests_total{path=\"/\"} 4\n",
                           "beta_requests_total{path=\"/\"} 5\n", "alpha_latency_seconds_count 4\n",
                           "beta_latency_seconds_bucket{le=\"1\"} 5\n", "main_total 2\n"}) {
    if (text.find(line) == std::string::npos) {
      std::fprintf(stderr, "missing: %s in:\n%s", line, text.c_str());
      return 1;
    }
  }
  std::puts("one registry, both libraries' series");
  return 0;
}
