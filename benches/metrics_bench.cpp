// metrics: the hot paths of a service's instrumentation and the scrape.
//
//   counter_inc        one increment of one shared series, per thread: ->Threads(1..16)
//   labelled_inc       the same through a handle resolved once from a labelled family
//   lookup             finding an existing series by its label values (100 series), then inc
//   histogram_observe  one observation into one shared series (12 buckets), per thread
//   timer              an RAII timer: two clock reads and one observation, per thread
//   exposition         Collect + text serialisation of 1,000 counter series into a buffer
//   add_series         creating 1,000 labelled series (bytes/op: their memory)
//
// Implementations: frugal; prometheus-cpp 1.0, the peer, named `std:prometheus_cpp` so that
// the report compares it as a peer (it is built on the standard library alone); naive, a
// shared std::atomic fetch_add (a mutex and a map for lookups, a mutex for histograms);
// limit, a non-atomic add into a thread_local. Only 1 and 2 threads are headline cases:
// 4 to 16 need a machine with that many cores.
#include "bench_support.hpp"

#include <frugal/metrics.hpp>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace m = frugal::metrics;

const std::vector<double> bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

// Observed values cycle through these, so that every bucket is used.
constexpr std::array<double, 8> samples = {0.003, 0.02, 0.07, 0.2, 0.4, 0.9, 3, 40};

void fail_unless(benchmark::State& state, bool ok, const char* what) {
  if (!ok) state.SkipWithError(what);
}

// --- counter_inc ------------------------------------------------------------------------

m::counter& frugal_counter() {
  static m::counter c;
  return c;
}

void counter_inc_frugal(benchmark::State& state) {
  auto& c = frugal_counter();
  c.inc();  // this thread's cells exist before the timed loop
  const std::uint64_t before = c.value();
  for (auto _ : frugal::bench::counted(state)) c.inc();
  if (state.threads() == 1) {
    fail_unless(state, c.value() - before == static_cast<std::uint64_t>(state.iterations()),
                "frugal counter lost increments");
  }
}

prometheus::Counter& prom_counter() {
  static auto registry = std::make_shared<prometheus::Registry>();
  static auto& c =
      prometheus::BuildCounter().Name("bench_total").Help("Bench.").Register(*registry).Add({});
  return c;
}

void counter_inc_prometheus(benchmark::State& state) {
  auto& c = prom_counter();
  const double before = c.Value();
  for (auto _ : frugal::bench::counted(state)) c.Increment();
  if (state.threads() == 1) {
    fail_unless(state, c.Value() - before == static_cast<double>(state.iterations()),
                "prometheus-cpp counter lost increments");
  }
}

std::atomic<std::uint64_t> naive_counter{0};

void counter_inc_naive(benchmark::State& state) {
  const std::uint64_t before = naive_counter.load();
  for (auto _ : frugal::bench::counted(state)) {
    naive_counter.fetch_add(1, std::memory_order_relaxed);
  }
  if (state.threads() == 1) {
    fail_unless(state,
                naive_counter.load() - before == static_cast<std::uint64_t>(state.iterations()),
                "atomic counter lost increments");
  }
}

thread_local std::uint64_t limit_counter = 0;

void counter_inc_limit(benchmark::State& state) {
  const std::uint64_t before = limit_counter;
  for (auto _ : frugal::bench::counted(state)) {
    limit_counter += 1;
    benchmark::DoNotOptimize(limit_counter);
  }
  fail_unless(state, limit_counter - before == static_cast<std::uint64_t>(state.iterations()),
              "thread-local counter lost increments");
}

// --- labelled_inc -----------------------------------------------------------------------

m::counter& frugal_labelled() {
  static m::registry reg;
  static auto& fam = reg.add_counter_family("http_requests_total", "Requests.", {"method", "path"});
  static auto& c = fam.with({"GET", "/users"});
  return c;
}

void labelled_inc_frugal(benchmark::State& state) {
  auto& c = frugal_labelled();
  c.inc();
  const std::uint64_t before = c.value();
  for (auto _ : frugal::bench::counted(state)) c.inc();
  if (state.threads() == 1) {
    fail_unless(state, c.value() - before == static_cast<std::uint64_t>(state.iterations()),
                "lost increments");
  }
}

struct prom_family {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter().Name("http_requests_total").Help("Requests.").Register(*registry);
};

prom_family& prom_labelled_family() {
  static prom_family f;
  return f;
}

void labelled_inc_prometheus(benchmark::State& state) {
  auto& c = prom_labelled_family().family.Add({{"method", "GET"}, {"path", "/users"}});
  const double before = c.Value();
  for (auto _ : frugal::bench::counted(state)) c.Increment();
  if (state.threads() == 1) {
    fail_unless(state, c.Value() - before == static_cast<double>(state.iterations()),
                "lost increments");
  }
}

// --- lookup -----------------------------------------------------------------------------

const std::vector<std::string>& paths() {
  static const std::vector<std::string> p = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 50; ++i) v.push_back("/api/v1/resource_" + std::to_string(i));
    return v;
  }();
  return p;
}

m::family<m::counter>& frugal_lookup_family() {
  static m::family<m::counter> fam("lookup_total", "Lookups.", {"method", "path"});
  static const bool filled = [] {
    for (const auto& p : paths()) {
      fam.with({"GET", p});
      fam.with({"POST", p});
    }
    return true;
  }();
  (void)filled;
  return fam;
}

void lookup_frugal(benchmark::State& state) {
  auto& fam = frugal_lookup_family();
  const std::string method = "GET", path = paths()[17];
  fam.with({method, path}).inc();
  const std::uint64_t before = fam.with({method, path}).value();
  for (auto _ : frugal::bench::counted(state)) fam.with({method, path}).inc();
  if (state.threads() == 1) {
    fail_unless(
        state,
        fam.with({method, path}).value() - before == static_cast<std::uint64_t>(state.iterations()),
        "lost increments");
  }
}

prometheus::Family<prometheus::Counter>& prom_lookup_family() {
  static prom_family f;
  static const bool filled = [] {
    for (const auto& p : paths()) {
      f.family.Add({{"method", "GET"}, {"path", p}});
      f.family.Add({{"method", "POST"}, {"path", p}});
    }
    return true;
  }();
  (void)filled;
  return f.family;
}

void lookup_prometheus(benchmark::State& state) {
  auto& fam = prom_lookup_family();
  const std::string method = "GET", path = paths()[17];
  const double before = fam.Add({{"method", method}, {"path", path}}).Value();
  for (auto _ : frugal::bench::counted(state)) {
    fam.Add({{"method", method}, {"path", path}}).Increment();
  }
  if (state.threads() == 1) {
    fail_unless(state,
                fam.Add({{"method", method}, {"path", path}}).Value() - before ==
                    static_cast<double>(state.iterations()),
                "lost increments");
  }
}

// What a busy engineer writes: a mutex and a map keyed by the joined label values.
struct naive_family {
  std::mutex mutex;
  std::map<std::string, std::uint64_t> series;
};

naive_family& naive_lookup_family() {
  static naive_family f;
  static const bool filled = [] {
    for (const auto& p : paths()) {
      f.series["GET|" + p] = 0;
      f.series["POST|" + p] = 0;
    }
    return true;
  }();
  (void)filled;
  return f;
}

void lookup_naive(benchmark::State& state) {
  auto& fam = naive_lookup_family();
  const std::string method = "GET", path = paths()[17];
  for (auto _ : frugal::bench::counted(state)) {
    std::lock_guard lock(fam.mutex);
    ++fam.series[method + "|" + path];
  }
  std::lock_guard lock(fam.mutex);
  fail_unless(state, fam.series.size() == 100, "naive lookup added a series");
}

// --- histogram_observe ------------------------------------------------------------------

m::histogram& frugal_histogram() {
  static m::histogram h{m::histogram_buckets(std::vector<double>(bounds))};
  return h;
}

void histogram_observe_frugal(benchmark::State& state) {
  auto& h = frugal_histogram();
  h.observe(0.0);
  const std::uint64_t before = h.count();
  std::size_t i = 0;
  for (auto _ : frugal::bench::counted(state)) h.observe(samples[i++ & 7]);
  if (state.threads() == 1) {
    fail_unless(state, h.count() - before == static_cast<std::uint64_t>(state.iterations()),
                "lost observations");
  }
}

prometheus::Histogram& prom_histogram() {
  static auto registry = std::make_shared<prometheus::Registry>();
  static auto& h = prometheus::BuildHistogram()
                       .Name("bench_seconds")
                       .Help("Bench.")
                       .Register(*registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries(bounds));
  return h;
}

std::uint64_t prom_count(prometheus::Histogram& h) { return h.Collect().histogram.sample_count; }

void histogram_observe_prometheus(benchmark::State& state) {
  auto& h = prom_histogram();
  const std::uint64_t before = prom_count(h);
  std::size_t i = 0;
  for (auto _ : frugal::bench::counted(state)) h.Observe(samples[i++ & 7]);
  if (state.threads() == 1) {
    fail_unless(state, prom_count(h) - before == static_cast<std::uint64_t>(state.iterations()),
                "lost observations");
  }
}

struct naive_histogram {
  std::mutex mutex;
  std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(bounds.size() + 1);
  double sum = 0;
};

naive_histogram shared_naive_histogram;

void histogram_observe_naive(benchmark::State& state) {
  auto& h = shared_naive_histogram;
  std::size_t i = 0;
  for (auto _ : frugal::bench::counted(state)) {
    const double v = samples[i++ & 7];
    std::size_t b = 0;
    while (b < bounds.size() && v > bounds[b]) ++b;
    std::lock_guard lock(h.mutex);
    ++h.counts[b];
    h.sum += v;
  }
}

struct limit_histogram {
  std::array<std::uint64_t, 13> counts{};
  double sum = 0;
};
thread_local limit_histogram tl_histogram;

void histogram_observe_limit(benchmark::State& state) {
  auto& h = tl_histogram;
  const double* b = bounds.data();
  std::size_t i = 0;
  for (auto _ : frugal::bench::counted(state)) {
    const double v = samples[i++ & 7];
    std::size_t k = 0;
    while (k < 12 && !(v <= b[k])) ++k;
    ++h.counts[k];
    h.sum += v;
    benchmark::DoNotOptimize(h);
  }
}

// --- timer ------------------------------------------------------------------------------

void timer_frugal(benchmark::State& state) {
  auto& h = frugal_histogram();
  h.observe(0.0);
  for (auto _ : frugal::bench::counted(state)) {
    auto t = h.start_timer();
    benchmark::DoNotOptimize(t);
  }
}

void timer_prometheus(benchmark::State& state) {
  auto& h = prom_histogram();
  for (auto _ : frugal::bench::counted(state)) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(start);
    h.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

// --- exposition -------------------------------------------------------------------------

std::string label_path(int i) { return "/api/v1/resource_" + std::to_string(i % 500); }

// Parses "name{labels} value" lines into a map, so that two texts can be compared.
std::map<std::string, double> samples_of(const std::string& text) {
  std::map<std::string, double> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    const std::size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

struct frugal_scrape {
  m::registry reg;
  frugal_scrape() {
    auto& fam = reg.add_counter_family("http_requests_total", "Requests.", {"method", "path"});
    for (int i = 0; i < 1000; ++i) {
      fam.with({i < 500 ? "GET" : "POST", label_path(i)}).inc(static_cast<std::uint64_t>(i));
    }
  }
};

struct prom_scrape {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prom_scrape() {
    auto& fam = prometheus::BuildCounter()
                    .Name("http_requests_total")
                    .Help("Requests.")
                    .Register(*registry);
    for (int i = 0; i < 1000; ++i) {
      fam.Add({{"method", i < 500 ? "GET" : "POST"}, {"path", label_path(i)}})
          .Increment(static_cast<double>(i));
    }
  }
  std::string text() const { return prometheus::TextSerializer().Serialize(registry->Collect()); }
};

void exposition_frugal(benchmark::State& state) {
  static frugal_scrape s;
  std::string out;
  s.reg.write(out);  // the buffer is reused between scrapes, as a server's would be
  for (auto _ : frugal::bench::counted(state)) {
    out.clear();
    s.reg.write(out);
    benchmark::DoNotOptimize(out.data());
  }
  static prom_scrape p;
  fail_unless(state, samples_of(out) == samples_of(p.text()), "expositions differ");
}

void exposition_frugal_new_buffer(benchmark::State& state) {
  static frugal_scrape s;
  for (auto _ : frugal::bench::counted(state)) {
    std::string out;
    s.reg.write(out);
    benchmark::DoNotOptimize(out.data());
  }
}

void exposition_prometheus(benchmark::State& state) {
  static prom_scrape p;
  for (auto _ : frugal::bench::counted(state)) {
    auto text = p.text();
    benchmark::DoNotOptimize(text.data());
  }
}

// --- add_series -------------------------------------------------------------------------

void add_series_frugal(benchmark::State& state) {
  std::vector<std::string> path_texts;
  for (int i = 0; i < 1000; ++i) path_texts.push_back(label_path(i) + "_" + std::to_string(i));
  for (auto _ : frugal::bench::counted(state)) {
    m::family<m::counter> fam("made_total", "Made.", {"method", "path"});
    for (const auto& p : path_texts) fam.with({"GET", p});
    benchmark::DoNotOptimize(fam.size());
  }
}

void add_series_prometheus(benchmark::State& state) {
  std::vector<std::string> path_texts;
  for (int i = 0; i < 1000; ++i) path_texts.push_back(label_path(i) + "_" + std::to_string(i));
  for (auto _ : frugal::bench::counted(state)) {
    prometheus::Registry registry;
    auto& fam = prometheus::BuildCounter().Name("made_total").Help("Made.").Register(registry);
    for (const auto& p : path_texts) fam.Add({{"method", "GET"}, {"path", p}});
    benchmark::DoNotOptimize(&fam);
  }
}

void thread_counts(benchmark::internal::Benchmark* b) {
  b->Threads(1)->Threads(2)->Threads(4)->Threads(8)->Threads(16)->UseRealTime();
}

}  // namespace

BENCHMARK(counter_inc_naive)->Name("metrics/counter_inc/naive")->Apply(thread_counts);
BENCHMARK(counter_inc_frugal)->Name("metrics/counter_inc/frugal")->Apply(thread_counts);
BENCHMARK(counter_inc_prometheus)
    ->Name("metrics/counter_inc/std:prometheus_cpp")
    ->Apply(thread_counts);
BENCHMARK(counter_inc_limit)->Name("metrics/counter_inc/limit")->Apply(thread_counts);

BENCHMARK(labelled_inc_frugal)->Name("metrics/labelled_inc/frugal")->Apply(thread_counts);
BENCHMARK(labelled_inc_prometheus)
    ->Name("metrics/labelled_inc/std:prometheus_cpp")
    ->Apply(thread_counts);

BENCHMARK(lookup_naive)->Name("metrics/lookup/naive")->Apply(thread_counts);
BENCHMARK(lookup_frugal)->Name("metrics/lookup/frugal")->Apply(thread_counts);
BENCHMARK(lookup_prometheus)->Name("metrics/lookup/std:prometheus_cpp")->Apply(thread_counts);

BENCHMARK(histogram_observe_naive)->Name("metrics/histogram_observe/naive")->Apply(thread_counts);
BENCHMARK(histogram_observe_frugal)->Name("metrics/histogram_observe/frugal")->Apply(thread_counts);
BENCHMARK(histogram_observe_prometheus)
    ->Name("metrics/histogram_observe/std:prometheus_cpp")
    ->Apply(thread_counts);
BENCHMARK(histogram_observe_limit)->Name("metrics/histogram_observe/limit")->Apply(thread_counts);

BENCHMARK(timer_frugal)->Name("metrics/timer/frugal")->Apply(thread_counts);
BENCHMARK(timer_prometheus)->Name("metrics/timer/std:prometheus_cpp")->Apply(thread_counts);

BENCHMARK(exposition_frugal)->Name("metrics/exposition/frugal/1000");
BENCHMARK(exposition_frugal_new_buffer)->Name("metrics/exposition/frugal:new_buffer/1000");
BENCHMARK(exposition_prometheus)->Name("metrics/exposition/std:prometheus_cpp/1000");

BENCHMARK(add_series_frugal)->Name("metrics/add_series/frugal/1000");
BENCHMARK(add_series_prometheus)->Name("metrics/add_series/std:prometheus_cpp/1000");

FRUGAL_BENCH_HEADLINE(
    "^metrics/(counter_inc|labelled_inc|lookup|histogram_observe|timer)/.*threads:(1|2)$");
FRUGAL_BENCH_HEADLINE("^metrics/exposition/");
FRUGAL_BENCH_HEADLINE("^metrics/add_series/");
