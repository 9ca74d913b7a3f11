#include <frugal/metrics.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include "metrics_exposition_parser.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace m = frugal::metrics;
using frugal::testing::count_allocations;

namespace {

// Runs `f` on a new thread and waits for it.
template <class F>
void on_new_thread(F f) {
  std::thread t(f);
  t.join();
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

}  // namespace

TEST_CASE("counter counts on every thread and keeps an exited thread's counts", "[metrics]") {
  m::counter c;
  REQUIRE(c.value() == 0);
  c.inc();
  c.inc(41);
  REQUIRE(c.value() == 42);
  on_new_thread([&] { c.inc(8); });
  REQUIRE(c.value() == 50);
  on_new_thread([&] {
    c.inc(1);
    on_new_thread([&] { c.inc(2); });
  });
  REQUIRE(c.value() == 53);
}

TEST_CASE("a destroyed counter's slot comes back at zero in every thread", "[metrics]") {
  std::vector<std::unique_ptr<m::counter>> many;
  for (int i = 0; i < 50; ++i) {
    many.push_back(std::make_unique<m::counter>());
    many.back()->inc(7);
    on_new_thread([&] { many.back()->inc(3); });
  }
  many.clear();
  for (int i = 0; i < 50; ++i) {
    m::counter fresh;
    REQUIRE(fresh.value() == 0);
    m::histogram h(m::histogram_buckets{1, 2});
    REQUIRE(h.count() == 0);
    REQUIRE(h.sum() == 0);
    m::float_counter f;
    REQUIRE(f.value() == 0);
  }
}

TEST_CASE("a freed double slot reused as a counter adds as an integer at thread exit",
          "[metrics]") {
  auto f = std::make_unique<m::float_counter>();
  on_new_thread([&] { f->inc(1.5); });
  REQUIRE(f->value() == 1.5);
  f.reset();
  std::vector<std::unique_ptr<m::counter>> cs;
  for (int i = 0; i < 8; ++i) cs.push_back(std::make_unique<m::counter>());
  on_new_thread([&] {
    for (auto& c : cs) c->inc(3);
  });
  on_new_thread([&] {
    for (auto& c : cs) c->inc(4);
  });
  for (auto& c : cs) REQUIRE(c->value() == 7);
}

TEST_CASE("float_counter adds doubles and ignores negative and NaN increments", "[metrics]") {
  m::float_counter f;
  f.inc(0.5);
  f.inc();
  f.inc(-3);
  f.inc(std::nan(""));
  f.inc(0);
  REQUIRE(f.value() == 1.5);
  on_new_thread([&] { f.inc(0.25); });
  on_new_thread([&] { f.inc(0.25); });
  REQUIRE(f.value() == 2.0);
}

TEST_CASE("gauge sets, adds and subtracts", "[metrics]") {
  m::gauge g;
  REQUIRE(g.value() == 0);
  g.set(10);
  g.inc();
  g.inc(2.5);
  g.dec();
  g.dec(0.5);
  REQUIRE(g.value() == 12);
  g.set(-1.25);
  REQUIRE(g.value() == -1.25);
  REQUIRE(count_allocations([&] { g.inc(); }) == 0);
}

TEST_CASE("histogram buckets are chosen by the first bound >= the value", "[metrics]") {
  m::histogram h(m::histogram_buckets{0.1, 1, 10});
  REQUIRE(h.bucket_of(-5) == 0);
  REQUIRE(h.bucket_of(0.1) == 0);
  REQUIRE(h.bucket_of(0.1000001) == 1);
  REQUIRE(h.bucket_of(1) == 1);
  REQUIRE(h.bucket_of(10) == 2);
  REQUIRE(h.bucket_of(10.5) == 3);
  REQUIRE(h.bucket_of(std::numeric_limits<double>::infinity()) == 3);
  REQUIRE(h.bucket_of(std::nan("")) == 3);
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 50.0}) h.observe(v);
  on_new_thread([&] { h.observe(0.2); });
  const auto s = h.snapshot();
  REQUIRE(s.buckets == std::vector<std::uint64_t>{2, 3, 1, 1});
  REQUIRE(s.count == 7);
  REQUIRE(s.sum == Approx(56.85));
  REQUIRE(h.count() == 7);
}

TEST_CASE("histogram with many bounds searches them in order", "[metrics]") {
  auto b = m::histogram_buckets::linear(0, 1, 40);
  m::histogram h(b);
  for (int i = 0; i < 40; ++i) {
    REQUIRE(h.bucket_of(i) == static_cast<std::size_t>(i));
    REQUIRE(h.bucket_of(i - 0.5) == static_cast<std::size_t>(i));
  }
  REQUIRE(h.bucket_of(39.5) == 40);
  REQUIRE(h.bucket_of(std::nan("")) == 40);
  REQUIRE(h.bucket_of(-1) == 0);
}

TEST_CASE("histogram NaN observations land in +Inf and make the sum NaN", "[metrics]") {
  m::histogram h(m::histogram_buckets{1});
  h.observe(std::nan(""));
  const auto s = h.snapshot();
  REQUIRE(s.buckets == std::vector<std::uint64_t>{0, 1});
  REQUIRE(std::isnan(s.sum));
}

TEST_CASE("bucket helpers build the documented bounds", "[metrics]") {
  auto lin = m::histogram_buckets::linear(1, 0.5, 4);
  REQUIRE(std::vector<double>(lin.bounds().begin(), lin.bounds().end()) ==
          std::vector<double>{1, 1.5, 2, 2.5});
  auto ex = m::histogram_buckets::exponential(0.001, 10, 4);
  REQUIRE(ex.bounds().size() == 4);
  REQUIRE(ex.bounds()[0] == 0.001);
  REQUIRE(ex.bounds()[3] == Approx(1.0));
  auto def = m::histogram_buckets::default_seconds();
  REQUIRE(def.bounds().size() == 11);
  REQUIRE(def.bounds().front() == 0.005);
  REQUIRE(def.bounds().back() == 10);
  m::histogram h(m::histogram_buckets::exponential(1, 2, 3));
  REQUIRE(h.layout().le == std::vector<std::string>{"1", "2", "4", "+Inf"});
}

TEST_CASE("bad bucket bounds throw naming the values", "[metrics]") {
  REQUIRE(what_of([] { m::histogram_buckets b{}; }) == "histogram_buckets: no bounds given");
  REQUIRE(what_of([] {
            m::histogram_buckets b{1, 2, 2};
          }) == "histogram_buckets: bounds not increasing: 2 then 2");
  REQUIRE(what_of([] {
            m::histogram_buckets b{3, 1};
          }) == "histogram_buckets: bounds not increasing: 3 then 1");
  REQUIRE(what_of([] {
            m::histogram_buckets b{1, std::nan("")};
          }) == "histogram_buckets: bound 1 is NaN, not finite");
  REQUIRE(what_of([] {
            m::histogram_buckets b{1, HUGE_VAL};
          }) == "histogram_buckets: bound 1 is +Inf, not finite");
  REQUIRE(what_of([] { m::histogram_buckets::linear(0, 1, 0); }) ==
          "histogram_buckets::linear: count is 0");
  REQUIRE(what_of([] { m::histogram_buckets::linear(0, 0, 3); }) ==
          "histogram_buckets::linear: width 0 is not positive");
  REQUIRE(what_of([] { m::histogram_buckets::exponential(1, 2, 0); }) ==
          "histogram_buckets::exponential: count is 0");
  REQUIRE(what_of([] { m::histogram_buckets::exponential(0, 2, 3); }) ==
          "histogram_buckets::exponential: start 0 is not positive");
  REQUIRE(what_of([] { m::histogram_buckets::exponential(1, 1, 3); }) ==
          "histogram_buckets::exponential: factor 1 is not greater than 1");
  REQUIRE(what_of([] { m::histogram_buckets::exponential(1e300, 1e10, 3); }) ==
          "histogram_buckets: bound 1 is +Inf, not finite");
}

TEST_CASE("timers observe once, on destruction or stop", "[metrics]") {
  m::histogram h(m::histogram_buckets{1000});
  { auto t = h.start_timer(); }
  REQUIRE(h.count() == 1);
  {
    auto t = h.start_timer();
    const double s = t.stop();
    REQUIRE(s >= 0);
    REQUIRE(t.stop() == 0);
  }
  REQUIRE(h.count() == 2);
  {
    auto t = h.start_timer();
    auto moved = std::move(t);
  }
  REQUIRE(h.count() == 3);
  h.observe(std::chrono::milliseconds(1500));
  REQUIRE(h.snapshot().sum >= 1.5);
  REQUIRE(h.snapshot().sum < 2);
}

TEST_CASE("updates allocate nothing once the thread has cells", "[metrics]") {
  m::counter c;
  m::float_counter f;
  m::histogram h;
  c.inc();
  f.inc();
  h.observe(1);
  REQUIRE(count_allocations([&] {
            for (int i = 0; i < 1000; ++i) {
              c.inc();
              f.inc(0.5);
              h.observe(i * 0.001);
              auto t = h.start_timer();
            }
          }) == 0);
}

TEST_CASE("a thread's first update allocates its block and cells, growth one array", "[metrics]") {
  std::vector<std::unique_ptr<m::counter>> many;
  for (int i = 0; i < 600; ++i) many.push_back(std::make_unique<m::counter>());
  std::size_t first = 99, rest = 99, growth = 99, expected_growth = 99;
  std::size_t capacity_before = 0, capacity_after = 0, sum_slot = 0;
  on_new_thread([&] {
    // The last counter made holds the highest slot: the thread's cells cover every one.
    first = count_allocations([&] { many.back()->inc(); });
    rest = count_allocations([&] {
      for (auto& c : many) c->inc();
    });
    m::histogram wide(m::histogram_buckets::linear(0, 1, 5000));
    sum_slot = wide.first_slot() + 5001;
    capacity_before = m::detail::tls_cells.capacity;
    expected_growth = sum_slot >= capacity_before ? 1 : 0;
    growth = count_allocations([&] { wide.observe(1); });
    capacity_after = m::detail::tls_cells.capacity;
    REQUIRE(wide.count() == 1);
  });
  REQUIRE(first == 2);
  REQUIRE(rest == 0);
  REQUIRE(capacity_before >= 512);
  REQUIRE(growth == expected_growth);
  REQUIRE(expected_growth == 1);
  REQUIRE(capacity_after > sum_slot);
  REQUIRE(capacity_after % 8 == 0);
  REQUIRE(many.back()->value() == 2);
  REQUIRE(many.front()->value() == 1);
}

TEST_CASE("a family resolves label values to one series and looks it up without allocating",
          "[metrics]") {
  m::family<m::counter> f("requests_total", "Requests.", {"method", "path"});
  REQUIRE(f.size() == 0);
  auto& get_users = f.with({"GET", "/users"});
  auto& post_users = f.with({"POST", "/users"});
  REQUIRE(&get_users != &post_users);
  REQUIRE(&f.with({"GET", "/users"}) == &get_users);
  // Same characters, split differently: different series.
  REQUIRE(&f.with({"GE", "T/users"}) != &get_users);
  REQUIRE(f.size() == 3);
  std::string method = "GET", path = "/users";
  get_users.inc();  // this thread's cells exist from here on
  REQUIRE(count_allocations([&] {
            for (int i = 0; i < 100; ++i) f.with({method, path}).inc();
          }) == 0);
  REQUIRE(get_users.value() == 101);
  const std::vector<std::string_view> values{"POST", "/users"};
  REQUIRE(&f.with(std::span<const std::string_view>(values)) == &post_users);
}

TEST_CASE("a family without labels holds its one series from the start", "[metrics]") {
  m::family<m::gauge> f("temperature_celsius", "Temperature.");
  REQUIRE(f.size() == 1);
  f.with({}).set(21.5);
  std::string out;
  f.write(out);
  REQUIRE(out ==
          "# HELP temperature_celsius Temperature.\n# TYPE temperature_celsius gauge\n"
          "temperature_celsius 21.5\n");
}

TEST_CASE("a wrong number of label values throws naming both counts", "[metrics]") {
  m::family<m::counter> f("requests_total", "Requests.", {"method", "path"});
  REQUIRE(what_of([&] { f.with({"GET"}); }) ==
          "metrics: 1 label values given to \"requests_total\", which has 2 label names "
          "(method, path)");
  REQUIRE(what_of([&] {
            f.with({"GET", "/", "x"});
          }) ==
          "metrics: 3 label values given to \"requests_total\", which has 2 label names "
          "(method, path)");
  m::family<m::counter> none("plain_total", "Plain.");
  REQUIRE(what_of([&] { none.with({"x"}); }) ==
          "metrics: 1 label values given to \"plain_total\", which has 0 label names ()");
  REQUIRE(f.size() == 0);
}

TEST_CASE("label values that are not UTF-8 are refused", "[metrics]") {
  m::family<m::counter> f("requests_total", "Requests.", {"path"});
  for (std::string_view bad :
       {std::string_view("\xff"), std::string_view("a\xc3"), std::string_view("\xc0\x80"),
        std::string_view("\xed\xa0\x80"), std::string_view("\xf4\x90\x80\x80"),
        std::string_view("\xe0\x80\xaf"), std::string_view("\xf0\x80\x80\xaf"),
        std::string_view("\x80"), std::string_view("\xc3\x28")}) {
    REQUIRE(what_of([&] { f.with({bad}); }) ==
            "metrics: the value of label \"path\" in \"requests_total\" is not UTF-8");
  }
  REQUIRE(f.size() == 0);
  for (std::string_view good :
       {std::string_view("caf\xc3\xa9"), std::string_view("\xe2\x82\xac"),
        std::string_view("\xf0\x9f\x98\x80"), std::string_view(""),
        std::string_view("\xf4\x8f\xbf\xbf"), std::string_view("\xed\x9f\xbf")}) {
    f.with({good}).inc();
  }
  REQUIRE(f.size() == 6);
}

TEST_CASE("invalid names are refused at registration", "[metrics]") {
  REQUIRE(what_of([] { m::family<m::gauge> f("1abc", "x"); }) ==
          "metrics: invalid metric name \"1abc\" (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)");
  REQUIRE(what_of([] { m::family<m::gauge> f("", "x"); }) ==
          "metrics: invalid metric name \"\" (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)");
  REQUIRE(what_of([] { m::family<m::gauge> f("a-b", "x"); }) ==
          "metrics: invalid metric name \"a-b\" (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)");
  REQUIRE(what_of([] { m::family<m::gauge> f("a:b_c9", "x"); }) == "(nothing thrown)");
  REQUIRE(what_of([] { m::family<m::gauge> f(":a", "x"); }) == "(nothing thrown)");
  REQUIRE(what_of([] { m::family<m::counter> f("requests", "x"); }) ==
          "metrics: counter name \"requests\" does not end in _total");
  REQUIRE(what_of([] { m::family<m::float_counter> f("seconds", "x"); }) ==
          "metrics: counter name \"seconds\" does not end in _total");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", ""); }) ==
          "metrics: the help of \"g\" is empty or not UTF-8");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", "\xff"); }) ==
          "metrics: the help of \"g\" is empty or not UTF-8");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", "x", {"9a"}); }) ==
          "metrics: invalid label name \"9a\" in \"g\"");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", "x", {"__name"}); }) ==
          "metrics: invalid label name \"__name\" in \"g\"");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", "x", {"a:b"}); }) ==
          "metrics: invalid label name \"a:b\" in \"g\"");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", "x", {""}); }) ==
          "metrics: invalid label name \"\" in \"g\"");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", "x", {"le"}); }) == "(nothing thrown)");
  REQUIRE(what_of([] { m::family<m::gauge> f("g", "x", {"_a", "b"}); }) == "(nothing thrown)");
  REQUIRE(what_of([] { m::family<m::histogram> f("h", "x", {"le"}); }) ==
          "metrics: invalid label name \"le\" in \"h\"");
  REQUIRE(what_of([] {
            m::family<m::gauge> f("g", "x", {"a", "b", "a"});
          }) == "metrics: label name \"a\" repeated in \"g\"");
}

TEST_CASE("a registry refuses a name registered twice, of any kind", "[metrics]") {
  m::registry reg;
  reg.add_counter("jobs_total", "Jobs.");
  REQUIRE(what_of([&] { reg.add_counter("jobs_total", "Again."); }) ==
          "metrics: \"jobs_total\" is already registered");
  REQUIRE(what_of([&] { reg.add_float_counter_family("jobs_total", "Again.", {"a"}); }) ==
          "metrics: \"jobs_total\" is already registered");
  reg.add_gauge("queue_length", "Queue.");
  REQUIRE(what_of([&] { reg.add_histogram("queue_length", "Again.", {1}); }) ==
          "metrics: \"queue_length\" is already registered");
  REQUIRE(reg.size() == 2);
  // Aliasing: the name given is a view of the registered family's own name.
  auto& fam = reg.add_gauge_family("self_named", "Self.", {"x"});
  REQUIRE(what_of([&] { reg.add_gauge_family(fam.name(), "Again.", {"x"}); }) ==
          "metrics: \"self_named\" is already registered");
  REQUIRE(reg.size() == 3);
}

TEST_CASE("family lookups given views of the family's own strings", "[metrics]") {
  m::family<m::counter> f("aliased_total", "Aliased.", {"method", "path"});
  auto names = f.label_names();
  auto& a = f.with({names[0], names[1]});
  auto& b = f.with({std::string_view(names[0]), std::string_view(names[1])});
  REQUIRE(&a == &b);
  std::string out;
  f.write(out);
  REQUIRE(out.find("aliased_total{method=\"method\",path=\"path\"} 0\n") != std::string::npos);
}

TEST_CASE("the exposition escapes HELP and label values as the format says", "[metrics]") {
  m::registry reg;
  auto& f =
      reg.add_counter_family("tricky_total", "Back\\slash and\nnewline \"quoted\".", {"value"});
  f.with({"q\"uote"}).inc();
  f.with({"back\\slash"}).inc(2);
  f.with({"new\nline"}).inc(3);
  f.with({"caf\xc3\xa9 \xf0\x9f\x98\x80"}).inc(4);
  const std::string text = reg.text();
  REQUIRE(text ==
          "# HELP tricky_total Back\\\\slash and\\nnewline \"quoted\".\n"
          "# TYPE tricky_total counter\n"
          "tricky_total{value=\"q\\\"uote\"} 1\n"
          "tricky_total{value=\"back\\\\slash\"} 2\n"
          "tricky_total{value=\"new\\nline\"} 3\n"
          "tricky_total{value=\"caf\xc3\xa9 \xf0\x9f\x98\x80\"} 4\n");
  const auto e = metrics_test::parse(text);
  REQUIRE(e.at("tricky_total").help == "Back\\slash and\nnewline \"quoted\".");
  REQUIRE(e.value("tricky_total", {{"value", "q\"uote"}}) == "1");
  REQUIRE(e.value("tricky_total", {{"value", "back\\slash"}}) == "2");
  REQUIRE(e.value("tricky_total", {{"value", "new\nline"}}) == "3");
}

TEST_CASE("the exposition of every kind, exactly", "[metrics]") {
  m::registry reg;
  reg.add_counter("jobs_total", "Jobs done.").inc(3);
  reg.add_float_counter("cpu_seconds_total", "CPU time.").inc(0.125);
  auto& g = reg.add_gauge_family("queue_length", "Queued jobs.", {"queue"});
  g.with({"mail"}).set(4);
  g.with({"sms"}).set(-0.5);
  auto& h = reg.add_histogram_family("job_duration_seconds", "Job time.", {"kind"},
                                     m::histogram_buckets{0.5, 1});
  h.with({"fast"}).observe(0.25);
  h.with({"fast"}).observe(0.75);
  h.with({"fast"}).observe(7);
  h.with({"slow"});
  auto& big = reg.add_counter("big_total", "Large.");
  big.inc(UINT64_MAX);
  auto& inf = reg.add_gauge("inf_value", "Infinite.");
  inf.set(-HUGE_VAL);
  reg.add_gauge("nan_value", "NaN.").set(std::nan(""));
  reg.add_gauge("tiny_value", "Tiny.").set(1e-300);
  REQUIRE(reg.text() ==
          "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n"
          "# HELP cpu_seconds_total CPU time.\n# TYPE cpu_seconds_total counter\n"
          "cpu_seconds_total 0.125\n"
          "# HELP queue_length Queued jobs.\n# TYPE queue_length gauge\n"
          "queue_length{queue=\"mail\"} 4\nqueue_length{queue=\"sms\"} -0.5\n"
          "# HELP job_duration_seconds Job time.\n# TYPE job_duration_seconds histogram\n"
          "job_duration_seconds_bucket{kind=\"fast\",le=\"0.5\"} 1\n"
          "job_duration_seconds_bucket{kind=\"fast\",le=\"1\"} 2\n"
          "job_duration_seconds_bucket{kind=\"fast\",le=\"+Inf\"} 3\n"
          "job_duration_seconds_sum{kind=\"fast\"} 8\n"
          "job_duration_seconds_count{kind=\"fast\"} 3\n"
          "job_duration_seconds_bucket{kind=\"slow\",le=\"0.5\"} 0\n"
          "job_duration_seconds_bucket{kind=\"slow\",le=\"1\"} 0\n"
          "job_duration_seconds_bucket{kind=\"slow\",le=\"+Inf\"} 0\n"
          "job_duration_seconds_sum{kind=\"slow\"} 0\n"
          "job_duration_seconds_count{kind=\"slow\"} 0\n"
          "# HELP big_total Large.\n# TYPE big_total counter\nbig_total 18446744073709551615\n"
          "# HELP inf_value Infinite.\n# TYPE inf_value gauge\ninf_value -Inf\n"
          "# HELP nan_value NaN.\n# TYPE nan_value gauge\nnan_value NaN\n"
          "# HELP tiny_value Tiny.\n# TYPE tiny_value gauge\ntiny_value 1e-300\n");
  big.inc(2);
  REQUIRE(big.value() == 1);
}

TEST_CASE("writing reserves once: one allocation into a new buffer, none when reused",
          "[metrics]") {
  m::registry reg;
  auto& f = reg.add_counter_family("series_total", "Many series.", {"id"});
  auto& h = reg.add_histogram_family("sizes_bytes", "Sizes.", {"id"},
                                     m::histogram_buckets::exponential(64, 4, 8));
  for (int i = 0; i < 1000; ++i) {
    f.with({std::to_string(i)}).inc(static_cast<std::uint64_t>(i) * 1000003u);
    h.with({std::to_string(i % 10)}).observe(i * 100.0);
  }
  reg.add_gauge("g", "G.").set(1.0 / 3);
  std::string out;
  REQUIRE(count_allocations([&] { reg.write(out); }) == 1);
  const std::string first = out;
  out.clear();
  REQUIRE(count_allocations([&] { reg.write(out); }) == 0);
  REQUIRE(out == first);
  frugal::bytes_mut buf;
  REQUIRE(count_allocations([&] { reg.write(buf); }) == 1);
  REQUIRE(buf.as_string_view() == first);
  metrics_test::parse(first);
}

TEST_CASE("write appends after what the buffer holds", "[metrics]") {
  m::registry reg;
  reg.add_counter("a_total", "A.").inc();
  std::string out = "prefix\n";
  reg.write(out);
  REQUIRE(out == "prefix\n# HELP a_total A.\n# TYPE a_total counter\na_total 1\n");
  frugal::bytes_mut buf;
  buf.extend(std::string_view("x"));
  reg.write(buf);
  REQUIRE(buf.as_string_view() == "x# HELP a_total A.\n# TYPE a_total counter\na_total 1\n");
  REQUIRE(m::registry().text().empty());
}

TEST_CASE("request_metrics counts and times requests by method and path", "[metrics]") {
  m::registry reg;
  m::request_metrics http(reg);
  { auto t = http.start("GET", "/users"); }
  {
    auto t = http.start("GET", "/users");
    auto moved = std::move(t);
  }
  auto route = http.for_route("POST", "/users");
  route.record(0.3);
  REQUIRE(route.requests->value() == 1);
  REQUIRE(http.requests().with({"GET", "/users"}).value() == 2);
  REQUIRE(http.durations().with({"GET", "/users"}).count() == 2);
  REQUIRE(count_allocations([&] { auto t = http.start("GET", "/users"); }) == 0);
  const auto e = metrics_test::parse(reg.text());
  REQUIRE(e.value("http_requests_total", {{"method", "GET"}, {"path", "/users"}}) == "3");
  REQUIRE(e.value("http_request_duration_seconds_count",
                  {{"method", "POST"}, {"path", "/users"}}) == "1");
  REQUIRE(e.value("http_request_duration_seconds_sum", {{"method", "POST"}, {"path", "/users"}}) ==
          "0.3");
  REQUIRE(e.value("http_request_duration_seconds_bucket",
                  {{"method", "POST"}, {"path", "/users"}, {"le", "0.25"}}) == "0");
  REQUIRE(e.value("http_request_duration_seconds_bucket",
                  {{"method", "POST"}, {"path", "/users"}, {"le", "0.5"}}) == "1");
  m::registry other;
  m::request_metrics api(other, "api", m::histogram_buckets{1});
  api.for_route("GET", "/").record(2);
  REQUIRE(other.text().find("api_request_duration_seconds_bucket{method=\"GET\",path=\"/\","
                            "le=\"+Inf\"} 1\n") != std::string::npos);
}

TEST_CASE("the default registry is one per process", "[metrics]") {
  REQUIRE(&m::default_registry() == &m::default_registry());
}

TEST_CASE("random operations match a model, parsed back from the exposition", "[metrics]") {
  std::mt19937_64 rng(20261202);
  for (int round = 0; round < 20; ++round) {
    m::registry reg;
    auto& counters = reg.add_counter_family("ops_total", "Ops.", {"a", "b"});
    auto& floats = reg.add_float_counter_family("work_seconds_total", "Work.", {"a"});
    auto& gauges = reg.add_gauge_family("level", "Level.", {"a"});
    auto& hists = reg.add_histogram_family("size_bytes", "Size.", {"a"},
                                           m::histogram_buckets::linear(10, 10, 5));
    std::map<std::pair<std::string, std::string>, std::uint64_t> c_model;
    std::map<std::string, double> f_model, g_model;
    std::map<std::string, std::vector<std::uint64_t>> h_model;
    std::map<std::string, double> h_sum;
    const char* values[] = {"", "x", "y\"", "z\\", "w\n", "\xc3\xa9"};
    auto pick = [&] { return std::string(values[rng() % 6]); };
    for (int op = 0; op < 300; ++op) {
      const std::string a = pick(), b = pick();
      switch (rng() % 5) {
        case 0: {
          const std::uint64_t n = rng() % 1000;
          counters.with({a, b}).inc(n);
          c_model[{a, b}] += n;
          break;
        }
        case 1: {
          const double v = static_cast<double>(rng() % 64) / 8;
          floats.with({a}).inc(v);
          f_model[a] += v;
          break;
        }
        case 2: {
          const double v = static_cast<double>(rng() % 100) - 50;
          gauges.with({a}).set(v);
          g_model[a] = v;
          break;
        }
        case 3: {
          const double v = static_cast<double>(rng() % 70);
          hists.with({a}).observe(v);
          auto& bk = h_model[a];
          bk.resize(6);
          std::size_t i = 0;
          while (i < 5 && v > 10.0 * static_cast<double>(i + 1)) ++i;
          ++bk[i];
          h_sum[a] += v;
          break;
        }
        default: {
          std::thread t([&, a] {
            counters.with({a, a}).inc(5);
            hists.with({a}).observe(15);
          });
          t.join();
          c_model[{a, a}] += 5;
          auto& bk = h_model[a];
          bk.resize(6);
          ++bk[1];
          h_sum[a] += 15;
        }
      }
    }
    const auto e = metrics_test::parse(reg.text());
    std::size_t samples = 0;
    for (const auto& [k, v] : c_model) {
      REQUIRE(e.value("ops_total", {{"a", k.first}, {"b", k.second}}) == std::to_string(v));
      ++samples;
    }
    REQUIRE(e.at("ops_total").samples.size() == samples);
    for (const auto& [k, v] : f_model) {
      REQUIRE(std::stod(e.value("work_seconds_total", {{"a", k}})) == v);
    }
    for (const auto& [k, v] : g_model) REQUIRE(std::stod(e.value("level", {{"a", k}})) == v);
    for (const auto& [k, bk] : h_model) {
      std::uint64_t cum = 0;
      const char* les[] = {"10", "20", "30", "40", "50", "+Inf"};
      for (std::size_t i = 0; i < 6; ++i) {
        cum += bk[i];
        REQUIRE(e.value("size_bytes_bucket", {{"a", k}, {"le", les[i]}}) == std::to_string(cum));
      }
      REQUIRE(std::stod(e.value("size_bytes_sum", {{"a", k}})) == h_sum[k]);
    }
  }
}

TEST_CASE("the test parser rejects inconsistent histograms and misplaced samples", "[metrics]") {
  const std::string head = "# HELP h H.\n# TYPE h histogram\n";
  REQUIRE_NOTHROW(metrics_test::parse(head + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                                             "h_sum 3\nh_count 2\n"));
  REQUIRE_THROWS(metrics_test::parse(head + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                                            "h_sum 3\nh_count 3\n"));
  REQUIRE_THROWS(metrics_test::parse(head + "h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n"
                                            "h_sum 3\nh_count 2\n"));
  REQUIRE_THROWS(metrics_test::parse(head + "h_bucket{le=\"1\"} 1\nh_sum 3\nh_count 1\n"));
  REQUIRE_THROWS(metrics_test::parse("# HELP c C.\n# TYPE c counter\nc 1\nc 2\n"));
  REQUIRE_THROWS(metrics_test::parse("c 1\n"));
  REQUIRE_THROWS(metrics_test::parse("# HELP c C.\n# TYPE c counter\n# TYPE c counter\n"));
  REQUIRE_THROWS(metrics_test::parse("# HELP c C.\n# TYPE c counter\nd 1\n"));
}

TEST_CASE("concurrent increments from many threads sum exactly", "[metrics][concurrent]") {
  m::registry reg;
  auto& fam = reg.add_counter_family("hits_total", "Hits.", {"route"});
  auto& h = reg.add_histogram("work_seconds", "Work.", {0.5});
  auto& fc = reg.add_float_counter("units_total", "Units.");
  constexpr int threads = 8, per_thread = 20000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& mine = fam.with({"/shared"});
      auto& own = fam.with({"/t" + std::to_string(t)});
      for (int i = 0; i < per_thread; ++i) {
        mine.inc();
        own.inc(2);
        h.observe(i % 2 == 0 ? 0.25 : 1.0);
        fc.inc(0.5);
      }
    });
  }
  for (auto& t : pool) t.join();
  REQUIRE(fam.with({"/shared"}).value() == threads * per_thread);
  for (int t = 0; t < threads; ++t) {
    REQUIRE(fam.with({"/t" + std::to_string(t)}).value() == 2u * per_thread);
  }
  const auto s = h.snapshot();
  REQUIRE(s.buckets ==
          std::vector<std::uint64_t>{threads * per_thread / 2, threads * per_thread / 2});
  REQUIRE(s.sum == Approx(threads * per_thread * 0.625));
  REQUIRE(fc.value() == threads * per_thread * 0.5);
}

TEST_CASE("a scrape during updates never shows a counter going down", "[metrics][concurrent]") {
  m::registry reg;
  auto& c = reg.add_counter("ticks_total", "Ticks.");
  auto& h = reg.add_histogram("tick_seconds", "Tick.", {1});
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        // Short-lived threads too: their exit moves counts to the retired sums.
        std::thread([&] {
          for (int i = 0; i < 200; ++i) {
            c.inc();
            h.observe(0.5);
          }
        }).join();
      }
    });
  }
  std::uint64_t last = 0, last_count = 0;
  std::string out;
  for (int scrape = 0; scrape < 200; ++scrape) {
    out.clear();
    reg.write(out);
    const auto e = metrics_test::parse(out);
    const std::uint64_t now = std::stoull(e.value("ticks_total"));
    const std::uint64_t count = std::stoull(e.value("tick_seconds_count"));
    REQUIRE(now >= last);
    REQUIRE(count >= last_count);
    last = now;
    last_count = count;
  }
  stop = true;
  for (auto& t : writers) t.join();
  REQUIRE(c.value() % 200 == 0);
  REQUIRE(h.count() == c.value());
}

TEST_CASE("concurrent lookups of a new series return one series", "[metrics][concurrent]") {
  m::family<m::counter> f("made_total", "Made.", {"k"});
  std::vector<m::counter*> seen(8);
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) f.with({std::to_string(i)}).inc();
      seen[static_cast<std::size_t>(t)] = &f.with({"0"});
    });
  }
  for (auto& t : pool) t.join();
  for (auto* p : seen) REQUIRE(p == seen[0]);
  REQUIRE(f.size() == 100);
  for (int i = 0; i < 100; ++i) REQUIRE(f.with({std::to_string(i)}).value() == 8);
}

TEST_CASE("gauges and registration race safely with scrapes", "[metrics][concurrent]") {
  m::registry reg;
  auto& g = reg.add_gauge("inflight", "In flight.");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int i = 0;
    while (!stop.load(std::memory_order_relaxed) && i < 300) {
      g.inc();
      g.dec();
      reg.add_counter("made_" + std::to_string(i++) + "_total", "Made.").inc();
    }
  });
  std::string out;
  for (int i = 0; i < 100; ++i) {
    out.clear();
    reg.write(out);
    metrics_test::parse(out);
  }
  stop = true;
  writer.join();
  REQUIRE(g.value() == 0);
}

TEST_CASE("a scrape allocates once into a new buffer while series are being created",
          "[metrics][concurrent]") {
  // The text is bounded first, then written: a series created in between used to be written
  // too, outgrowing the reserved room (a second allocation). It now waits for the next scrape.
  m::registry reg;
  // Families written before it: the time between bounding and writing it. Values of 20
  // digits, the most a counter has, leave the bound little slack; each new series has a long
  // label, so that one created in between outgrows it.
  constexpr std::uint64_t big = 10'000'000'000'000'000'000ull;
  for (int i = 0; i < 1000; ++i) {
    reg.add_counter("other_" + std::to_string(i) + "_total", "O.").inc(big);
  }
  auto& fam = reg.add_counter_family("made_total", "Made.", {"id"});
  const std::string long_id(50'000, 'x');
  std::atomic<bool> stop{false};
  std::atomic<int> made{0};
  std::thread creator([&] {
    // One series now and then, all through the scrapes.
    for (int i = 0; i < 40 && !stop.load(std::memory_order_relaxed); ++i) {
      fam.with({long_id + std::to_string(i)}).inc(big);
      made.fetch_add(1, std::memory_order_release);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  while (made.load(std::memory_order_acquire) == 0) std::this_thread::yield();
  std::size_t most = 0;
  std::size_t last_series = 0;
  const auto count_series = [](const std::string& text) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = text.find("made_total{", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  for (int scrape = 0; scrape < 200; ++scrape) {
    std::string out;  // new each time: the reserve is its one allocation
    most = std::max(most, count_allocations([&] { reg.write(out); }));
    const std::size_t series = count_series(out);
    REQUIRE(series >= last_series);  // never fewer than a scrape before
    last_series = series;
  }
  stop = true;
  creator.join();
  REQUIRE(most == 1);
  std::string out;
  reg.write(out);
  REQUIRE(metrics_test::parse(out).at("made_total").samples.size() == fam.size());  // all
}

namespace {
// Armed on a thread before its first update, so destroyed after the thread's exit hook (a
// function-local thread_local: registered for destruction when first reached, before the
// hook is): its update goes to the retired sums.
std::atomic<bool> late_saw_exited{false};
struct late_updater {
  m::counter* c = nullptr;
  ~late_updater() {
    if (c != nullptr) {
      late_saw_exited = m::detail::tls_cells.exited;
      c->inc(10);
    }
  }
};
void arm_late_update(m::counter* c) {
  thread_local late_updater late;
  late.c = c;
}
}  // namespace

TEST_CASE("updates after a thread's exit hook still count", "[metrics]") {
  m::counter c;
  m::histogram h(m::histogram_buckets{1});
  late_saw_exited = false;
  std::thread([&] {
    arm_late_update(&c);
    c.inc();
    h.observe(3);
  }).join();
  REQUIRE(late_saw_exited);
  REQUIRE(c.value() == 11);
  REQUIRE(h.count() == 1);
}

TEST_CASE("an exited thread leaves no cells behind, even after a late update", "[metrics]") {
  m::counter c;
  c.inc();
  const std::size_t live = m::detail::table().live_threads();
  late_saw_exited = false;
  std::thread([&] {
    arm_late_update(&c);
    c.inc();
  }).join();
  REQUIRE(late_saw_exited);
  std::thread([&] { c.inc(); }).join();
  REQUIRE(m::detail::table().live_threads() == live);
  REQUIRE(c.value() == 13);
}

TEST_CASE("slots split from a freed range are never shared", "[metrics]") {
  // A freed histogram leaves a range of 1,002 slots; counters made afterwards take single
  // slots from the freed ranges, splitting them.
  { m::histogram wide(m::histogram_buckets::linear(0, 1, 1000)); }
  std::vector<std::unique_ptr<m::counter>> cs;
  for (int i = 0; i < 2000; ++i) cs.push_back(std::make_unique<m::counter>());
  for (std::size_t i = 0; i < cs.size(); ++i) cs[i]->inc(i + 1);
  for (std::size_t i = 0; i < cs.size(); ++i) REQUIRE(cs[i]->value() == i + 1);
}

TEST_CASE("a float counter and a histogram's sum never go down when a thread exits", "[metrics]") {
  // 0.1 + 0.1 + 1.1 rounds to 1.3000000000000003 in one order and 1.3 in another: a thread
  // that exits adds its cell into the retired sum, which changes the order.
  m::float_counter fc;
  m::histogram h(m::histogram_buckets({1.0}));
  on_new_thread([&] {
    fc.inc(0.1);
    h.observe(0.1);
  });
  std::atomic<int> step{0};
  std::thread t1([&] {
    fc.inc(0.1);
    h.observe(0.1);
    step.store(1);
    while (step.load() != 3) std::this_thread::yield();
  });
  while (step.load() != 1) std::this_thread::yield();
  std::thread t2([&] {
    fc.inc(1.1);
    h.observe(1.1);
    step.store(2);
    while (step.load() != 4) std::this_thread::yield();
  });
  while (step.load() != 2) std::this_thread::yield();
  const double fc_before = fc.value();
  const double h_before = h.sum();
  step.store(3);  // t1 exits, t2 lives on
  t1.join();
  CHECK(fc.value() >= fc_before);
  CHECK(h.sum() >= h_before);
  CHECK(h.snapshot().sum >= h_before);
  step.store(4);
  t2.join();
  CHECK(fc.value() >= fc_before);
  CHECK(h.sum() >= h_before);
  CHECK(std::abs(fc.value() - 1.3) < 1e-12);
}

TEST_CASE("a histogram that saw a negative observation reports its sum as it is", "[metrics]") {
  m::histogram h(m::histogram_buckets({0.0}));
  h.observe(5.0);
  CHECK(h.sum() == 5.0);
  h.observe(-2.0);
  CHECK(h.sum() == 3.0);  // a real decrease is not held at the last sum
  h.observe(-3.0);
  CHECK(h.sum() == 0.0);
  CHECK(h.count() == 3);
}

TEST_CASE("histogram::count and metric destructors allocate nothing", "[metrics]") {
  auto h = std::make_unique<m::histogram>(m::histogram_buckets({1.0, 2.0}));
  h->observe(1.5);
  CHECK(count_allocations([&] { CHECK(h->count() == 1); }) == 0);
  std::vector<std::unique_ptr<m::counter>> cs;
  for (int i = 0; i < 100; ++i) cs.push_back(std::make_unique<m::counter>());
  // Freed in an order that leaves holes and merges them.
  for (std::size_t i = 0; i < 100; i += 2) CHECK(count_allocations([&] { cs[i].reset(); }) == 0);
  for (std::size_t i = 1; i < 100; i += 2) CHECK(count_allocations([&] { cs[i].reset(); }) == 0);
  CHECK(count_allocations([&] { h.reset(); }) == 0);
  CHECK(count_allocations([&] {
          m::float_counter f;
          (void)f;
        }) <= 1);  // its own bookkeeping only, kept for its return
}

TEST_CASE("freed slots merge: a wider metric reuses a run of narrow ones", "[metrics]") {
  std::vector<std::unique_ptr<m::counter>> cs;
  for (int i = 0; i < 1000; ++i) cs.push_back(std::make_unique<m::counter>());
  // A histogram placed after them, for reference: where fresh slots start.
  auto after = std::make_unique<m::histogram>(m::histogram_buckets({1.0, 2.0, 3.0}));
  const std::size_t top = after->first_slot();
  after.reset();
  for (int i = 0; i < 1000; ++i) cs[static_cast<std::size_t>(i)].reset();
  // 1000 one-slot ranges freed one by one are one range now: a 5-slot histogram takes its
  // start, below where fresh slots began.
  m::histogram h(m::histogram_buckets({1.0, 2.0, 3.0}));
  CHECK(h.first_slot() + 1000 <= top);
  h.observe(2.5);
  CHECK(h.count() == 1);
}

TEST_CASE("a name a histogram's samples use cannot be registered in either order",
          "[metrics]") {
  m::registry r;
  r.add_histogram("rpc_seconds", "Latency.", m::histogram_buckets({1.0}));
  for (const char* n : {"rpc_seconds_count", "rpc_seconds_sum", "rpc_seconds_bucket"}) {
    CHECK(what_of([&] { r.add_gauge(n, "x"); }) ==
          std::string("metrics: \"") + n + "\" is already registered");
  }
  m::registry r2;
  r2.add_gauge("lat_sum", "A gauge.");
  CHECK(what_of([&] { r2.add_histogram("lat", "Latency.", m::histogram_buckets({1.0})); }) ==
        "metrics: \"lat_sum\", a sample name of the histogram \"lat\", is already registered");
  CHECK(r2.size() == 1);
  // The exposition stays parseable: one HELP per family.
  r2.add_gauge("lat_other", "Another.");
  CHECK(r2.size() == 2);
  CHECK(r.size() == 1);
}

TEST_CASE("request_metrics registers both families or neither", "[metrics]") {
  m::registry r;
  r.add_gauge("svc_request_duration_seconds", "Taken.");
  CHECK(what_of([&] { m::request_metrics rm(r, "svc"); }) ==
        "metrics: \"svc_request_duration_seconds\" is already registered");
  CHECK(r.size() == 1);  // svc_requests_total was not left behind
  m::registry r2;
  r2.add_gauge("svc_requests_total", "Taken.");
  CHECK_THROWS_AS(m::request_metrics(r2, "svc"), std::invalid_argument);
  CHECK(r2.size() == 1);
  m::registry r3;
  m::request_metrics ok(r3, "svc");
  CHECK(r3.size() == 2);
}
