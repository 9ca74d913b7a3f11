// One of two shared libraries built with -fvisibility=hidden: each registers its own metrics
// in frugal::metrics::default_registry() and updates them from its own code.
#include <frugal/metrics.hpp>

#ifndef METRICS_DSO_NAME
#error "METRICS_DSO_NAME names the library"
#endif
#define METRICS_DSO_CAT2(a, b) a##b
#define METRICS_DSO_CAT(a, b) METRICS_DSO_CAT2(a, b)

extern "C" __attribute__((visibility("default"))) void* METRICS_DSO_CAT(METRICS_DSO_NAME,
                                                                        _registry)() {
  return &frugal::metrics::default_registry();
}

extern "C" __attribute__((visibility("default"))) void METRICS_DSO_CAT(METRICS_DSO_NAME,
                                                                       _serve)(unsigned n) {
  static auto& requests = frugal::metrics::default_registry().add_counter_family(
      METRICS_DSO_NAME_STR "_requests_total", "Requests served by this library.", {"path"});
  static auto& latency = frugal::metrics::default_registry().add_histogram(
      METRICS_DSO_NAME_STR "_latency_seconds", "Latency.", {0.1, 1});
  for (unsigned i = 0; i < n; ++i) {
    requests.with({"/"}).inc();
    latency.observe(0.5);
  }
}
