// shared_config under allocation failure. This program replaces operator new with one that can
// be told to fail the calling thread's k-th allocation: a holder's destructor must not
// allocate at all (it is noexcept, so a failure there would end the process), and a read that
// fails to allocate throws std::bad_alloc and leaves the holder readable.
#define CATCH_CONFIG_MAIN
#include <frugal/shared_config.hpp>

#include <catch2/catch.hpp>

#include "failing_new.hpp"
#include "idle_reader.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

using frugal::shared_config;

namespace {

// Fails every allocation `f` makes on this thread; returns whether it made none.
template <class F>
bool allocates_nothing(F f) {
  countdown = 0;
  f();
  const bool none = countdown == 0;
  countdown = -1;
  return none;
}

}  // namespace

TEST_CASE("a holder's destructor allocates nothing, so it survives allocation failure",
          "[shared_config]") {
  // Copies cached on this thread, on a thread that idles and on one that has exited: the
  // destructor visits every live table and returns the id to the free list.
  auto* config = new shared_config<std::string>(std::string(100, 'a'));
  (void)config->read();
  std::thread([&] { (void)config->read(); }).join();
  idle_reader<shared_config<std::string>> idle(*config);
  config->store(std::string(100, 'b'));  // the idle thread's copy is a retired version
  CHECK(allocates_nothing([&] { delete config; }));

  // Holders destroyed in a row, each with a copy cached here: the free list of ids never grows.
  std::vector<std::unique_ptr<shared_config<int>>> holders;
  for (int i = 0; i < 300; ++i) holders.push_back(std::make_unique<shared_config<int>>(i));
  for (auto& h : holders) (void)h->read();
  for (auto& h : holders) CHECK(allocates_nothing([&] { h.reset(); }));
}

namespace {

// Reads holders[i] with the calling thread's k-th allocation failing; returns whether the read
// either threw std::bad_alloc or saw i, and a read after it sees i.
bool read_under_failure(const std::vector<std::unique_ptr<shared_config<int>>>& holders,
                        std::size_t i, long k) {
  int seen = -1;
  countdown = k;
  try {
    seen = *holders[i]->read();
  } catch (const std::bad_alloc&) {
  }
  countdown = -1;
  const int expected = static_cast<int>(i);
  return (seen == -1 || seen == expected) && *holders[i]->read() == expected;
}

}  // namespace

TEST_CASE("a read that runs out of memory throws std::bad_alloc, later reads work",
          "[shared_config]") {
  std::vector<std::unique_ptr<shared_config<int>>> holders;
  for (int i = 0; i < 40; ++i) holders.push_back(std::make_unique<shared_config<int>>(i));
  // On fresh threads: the first read (it makes the table), a read whose table must grow, and
  // a read that takes a slot of its own because a guard is alive while the table cannot grow.
  for (long k = 0; k < 8; ++k) {
    bool ok = false;
    std::thread([&] {
      ok = read_under_failure(holders, 0, k) && read_under_failure(holders, 20, k);
    }).join();
    CHECK(ok);
    std::thread([&] {
      auto pin = holders[0]->read();
      ok = read_under_failure(holders, 39, k);
    }).join();
    CHECK(ok);
  }
}
