// The allocation meter in a program whose hook comes from the testing macro (test_main.cpp
// defines FRUGAL_DEFINE_ALLOCATION_COUNTER): one set of operators serves both APIs.
#include <frugal/allocation_meter.hpp>
#include <frugal/metrics.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "keep_allocation.hpp"

using frugal_test::escape;
using frugal_test::over_aligned;

using frugal::allocation_meter_scope;
using frugal::allocation_totals;

namespace {

// The value of the series `name{route="<route>"}` in an exposition, or -1.
long long series_value(const std::string& text, const std::string& name, const std::string& route) {
  const std::string key = name + "{route=\"" + route + "\"} ";
  const auto at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + key.size()));
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<allocation_totals> {
  static std::string convert(const allocation_totals& t) {
    return "{allocations " + std::to_string(t.allocations) + ", bytes " + std::to_string(t.bytes) +
           ", deallocations " + std::to_string(t.deallocations) + "}";
  }
};
}  // namespace Catch

TEST_CASE("the meter is available when either macro links the hook", "[allocation_meter]") {
  REQUIRE(frugal::allocation_meter_available());
  REQUIRE(frugal::testing::allocation_counting_available());
}

TEST_CASE("an empty scope measures nothing", "[allocation_meter]") {
  allocation_meter_scope meter;
  REQUIRE(meter.totals() == allocation_totals{});
}

TEST_CASE("every form of operator new and delete is measured exactly", "[allocation_meter]") {
  SECTION("plain and array") {
    allocation_meter_scope meter;
    delete escape(new int(1));
    delete[] escape(new int[10]);
    REQUIRE(meter.totals() == allocation_totals{2, 11 * sizeof(int), 2});
  }
  SECTION("sized delete") {
    allocation_meter_scope meter;
    void* p = ::operator new(24);
#if defined(__cpp_sized_deallocation)
    ::operator delete(escape(p), 24);
#else
    ::operator delete(escape(p));
#endif
    REQUIRE(meter.totals() == allocation_totals{1, 24, 1});
  }
  SECTION("aligned") {
    allocation_meter_scope meter;
    over_aligned* p = escape(new over_aligned{});
    const bool aligned = reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
    delete p;
    over_aligned* arr = escape(new over_aligned[3]);
    const bool arr_aligned = reinterpret_cast<std::uintptr_t>(arr) % 64 == 0;
    delete[] arr;
    void* raw = ::operator new (100, std::align_val_t{32});
#if defined(__cpp_sized_deallocation)
    ::operator delete (escape(raw), 100, std::align_val_t{32});
#else
    ::operator delete (escape(raw), std::align_val_t{32});
#endif
    meter.stop();
    REQUIRE(aligned);
    REQUIRE(arr_aligned);
    REQUIRE(meter.totals().allocations == 3);
    REQUIRE(meter.totals().bytes >= 64 + 3 * 64 + 100);  // an array may carry a cookie
    REQUIRE(meter.totals().deallocations == 3);
  }
  SECTION("nothrow") {
    allocation_meter_scope meter;
    int* p = escape(new (std::nothrow) int(3));
    delete p;
    int* a = escape(new (std::nothrow) int[4]);
    delete[] a;
    void* raw = ::operator new (100, std::align_val_t{32}, std::nothrow);
    ::operator delete (escape(raw), std::align_val_t{32}, std::nothrow);
    meter.stop();
    REQUIRE(p != nullptr);
    REQUIRE(a != nullptr);
    REQUIRE(raw != nullptr);
    REQUIRE(meter.totals() == allocation_totals{3, sizeof(int) * 5 + 100, 3});
  }
  SECTION("size 0 is one allocation of 0 bytes, with a distinct pointer") {
    allocation_meter_scope meter;
    void* a = ::operator new(0);
    void* b = ::operator new[](0);
    void* c = ::operator new (0, std::align_val_t{64});
    const bool distinct = a != nullptr && b != nullptr && a != b;
    const bool c_aligned = reinterpret_cast<std::uintptr_t>(c) % 64 == 0;
    ::operator delete(escape(a));
    ::operator delete[](escape(b));
    ::operator delete (escape(c), std::align_val_t{64});
    meter.stop();
    REQUIRE(distinct);
    REQUIRE(c_aligned);
    REQUIRE(meter.totals() == allocation_totals{3, 0, 3});
  }
  SECTION("deleting null is not a deallocation") {
    allocation_meter_scope meter;
    ::operator delete(escape(static_cast<void*>(nullptr)));
    delete escape(static_cast<int*>(nullptr));
    REQUIRE(meter.totals() == allocation_totals{});
  }
}

TEST_CASE("scopes nest and stop freezes the figures", "[allocation_meter]") {
  allocation_meter_scope outer;
  {
    allocation_meter_scope inner;
    delete escape(new int(1));
    REQUIRE(inner.totals() == allocation_totals{1, sizeof(int), 1});
  }
  delete escape(new int(2));
  outer.stop();
  outer.stop();  // idempotent
  delete escape(new int(3));
  REQUIRE(outer.totals() == allocation_totals{2, 2 * sizeof(int), 2});
}

TEST_CASE("the running totals only grow and match a scope's", "[allocation_meter]") {
  const allocation_totals before = frugal::thread_allocation_totals();
  allocation_meter_scope meter;
  std::string s(100, 'x');
  escape(s.data());
  meter.stop();
  const allocation_totals after = frugal::thread_allocation_totals();
  REQUIRE(after.allocations - before.allocations == meter.totals().allocations);
  REQUIRE(after.bytes - before.bytes == meter.totals().bytes);
  REQUIRE(meter.totals().allocations == 1);
  REQUIRE(meter.totals().bytes >= 101);
}

TEST_CASE("the meter and the testing counter see the same allocations", "[allocation_meter]") {
  allocation_meter_scope meter;
  const auto stats = frugal::testing::measure_allocations([] {
    std::vector<int> v(1000);
    escape(v.data());
  });
  meter.stop();
  REQUIRE(stats.allocations == 1);
  REQUIRE(meter.totals().allocations == stats.allocations);
  REQUIRE(meter.totals().bytes == stats.bytes);
  REQUIRE(meter.totals().deallocations == stats.deallocations);
}

TEST_CASE("a scope never allocates", "[allocation_meter]") {
  REQUIRE(frugal::testing::count_allocations([] {
            allocation_meter_scope meter;
            meter.stop();
            volatile auto n = meter.totals().allocations;
            (void)n;
          }) == 0);
}

TEST_CASE("a failed allocation is not counted and the scope survives the unwinding",
          "[allocation_meter]") {
  allocation_meter_scope meter;
  bool threw = false;
  try {
    std::vector<std::string> v;
    v.reserve(2);
    v.emplace_back(64, 'x');
    escape(::operator new(static_cast<std::size_t>(-1) / 2));  // fails: bad_alloc
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  REQUIRE(::operator new(static_cast<std::size_t>(-1) / 2, std::nothrow) == nullptr);
  REQUIRE(::operator new (static_cast<std::size_t>(-1) / 2, std::align_val_t{64}, std::nothrow) ==
          nullptr);
  meter.stop();
  const auto string_bytes = frugal::testing::measure_allocations([] {
                              std::string s(64, 'x');
                              escape(s.data());
                            }).bytes;
  REQUIRE(threw);
  // The vector's buffer and the string's, both freed during unwinding.
  REQUIRE(meter.totals().allocations == 2);
  REQUIRE(meter.totals().deallocations == 2);
  REQUIRE(meter.totals().bytes == 2 * sizeof(std::string) + string_bytes);
}

TEST_CASE("a new-handler that throws is honoured and nothing is counted", "[allocation_meter]") {
  struct out_of_memory {};  // carries no message: constructing it allocates nothing
  static int calls = 0;
  calls = 0;
  std::new_handler previous = std::set_new_handler([] {
    ++calls;
    throw out_of_memory();
  });
  allocation_meter_scope meter;
  bool threw = false;
  try {
    escape(::operator new(static_cast<std::size_t>(-1) / 2));
  } catch (const out_of_memory&) {
    threw = true;
  }
  meter.stop();
  std::set_new_handler(previous);
  REQUIRE(threw);
  REQUIRE(calls == 1);
  REQUIRE(meter.totals() == allocation_totals{});
}

TEST_CASE("another thread's allocations are never counted", "[allocation_meter][concurrent]") {
  std::atomic<bool> go{false};
  std::atomic<std::uint64_t> worker_allocations{0};
  std::atomic<std::uint64_t> worker_deallocations{0};
  std::atomic<std::uint64_t> foreign_totals{1};  // a main-thread scope read on the worker
  // What starting and joining a thread allocates on this thread (libstdc++: 1, libc++: 3).
  allocation_meter_scope thread_cost;
  std::thread([] {}).join();
  thread_cost.stop();
  allocation_meter_scope mine;
  std::thread worker([&] {
    allocation_meter_scope theirs;
    while (!go.load()) {
    }
    for (int i = 0; i < 1000; ++i) delete escape(new int(i));
    theirs.stop();
    worker_allocations.store(theirs.totals().allocations);
    worker_deallocations.store(theirs.totals().deallocations);
    foreign_totals.store(mine.totals().allocations);
  });
  go.store(true);
  for (int i = 0; i < 10; ++i) delete escape(new int(i));
  worker.join();
  mine.stop();
  REQUIRE(worker_allocations.load() == 1000);
  REQUIRE(worker_deallocations.load() == 1000);
  REQUIRE(foreign_totals.load() == 0);
  // The thread's own state and this thread's 10; the worker's 1000 never show here.
  REQUIRE(mine.totals().allocations == thread_cost.totals().allocations + 10);
}

TEST_CASE("a scope stopped on another thread reports zeros", "[allocation_meter][concurrent]") {
  allocation_meter_scope meter;
  delete escape(new int(1));
  std::thread([&] { meter.stop(); }).join();
  REQUIRE(meter.totals() == allocation_totals{});
}

TEST_CASE("a scope read on a later thread, after its own exited, reports zeros",
          "[allocation_meter][concurrent]") {
  // A new thread may get an exited thread's thread-local storage, and so its totals' address:
  // the scope must still tell it from its own thread (whose counts it started from).
  for (int round = 0; round < 20; ++round) {
    std::unique_ptr<allocation_meter_scope> meter;
    std::thread([&] {
      for (int i = 0; i < 100; ++i) delete escape(new int(i));
      meter = std::make_unique<allocation_meter_scope>();
    }).join();
    allocation_totals seen{1, 1, 1};
    std::thread([&] {
      delete escape(new int(1));
      seen = meter->totals();
    }).join();
    REQUIRE(seen == allocation_totals{});
    std::thread([&] { meter->stop(); }).join();
    REQUIRE(meter->totals() == allocation_totals{});
  }
}

TEST_CASE("totals reach labelled counters and the exposition", "[allocation_meter]") {
  frugal::metrics::registry reg;
  auto& allocations = reg.add_counter_family("handler_allocations_total",
                                             "Heap allocations made by handlers.", {"route"});
  auto& bytes = reg.add_counter_family("handler_allocation_bytes_total",
                                       "Bytes requested by handlers' heap allocations.", {"route"});
  // Resolved once, kept by the handler.
  auto& users_allocations = allocations.with({"/users"});
  auto& users_bytes = bytes.with({"/users"});
  auto& health_allocations = allocations.with({"/health"});
  auto& health_bytes = bytes.with({"/health"});

  const auto handle_users = [&] {
    allocation_meter_scope meter;
    std::vector<std::string> names;
    names.reserve(2);
    names.emplace_back(40, 'a');
    names.emplace_back(40, 'b');
    escape(names.data());
    meter.stop();
    frugal::record_allocations(meter.totals(), users_allocations, users_bytes);
  };
  const auto handle_health = [&] {
    allocation_meter_scope meter;
    meter.stop();
    frugal::record_allocations(meter.totals(), health_allocations, health_bytes);
  };
  handle_users();  // this thread's first update allocates its cells, after stop()
  handle_health();
  // Warm: a request and its export allocate only what the handler itself does.
  REQUIRE(frugal::testing::count_allocations(handle_health) == 0);
  REQUIRE(frugal::testing::count_allocations(handle_users) == 3);

  const std::string text = reg.text();
  const auto per_request_bytes = static_cast<long long>(frugal::testing::measure_allocations([] {
                                                          std::vector<std::string> names;
                                                          names.reserve(2);
                                                          names.emplace_back(40, 'a');
                                                          names.emplace_back(40, 'b');
                                                          escape(names.data());
                                                        }).bytes);
  REQUIRE(per_request_bytes >= static_cast<long long>(2 * sizeof(std::string) + 2 * 41));
  REQUIRE(series_value(text, "handler_allocations_total", "/users") == 6);
  REQUIRE(series_value(text, "handler_allocation_bytes_total", "/users") == 2 * per_request_bytes);
  REQUIRE(series_value(text, "handler_allocations_total", "/health") == 0);
  REQUIRE(series_value(text, "handler_allocation_bytes_total", "/health") == 0);
}

TEST_CASE("record_allocations takes any counter with inc(uint64_t)", "[allocation_meter]") {
  struct plain_counter {
    std::uint64_t value = 0;
    void inc(std::uint64_t n) { value += n; }
  };
  plain_counter allocations;
  plain_counter bytes;
  frugal::record_allocations(allocation_totals{3, 120, 2}, allocations, bytes);
  frugal::record_allocations(allocation_totals{1, 8, 1}, allocations, bytes);
  REQUIRE(allocations.value == 4);
  REQUIRE(bytes.value == 128);
}
