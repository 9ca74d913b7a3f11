// A guard that outlives its holder, in a build without assertions (NDEBUG, not hardened),
// where that precondition violation is not diagnosed: the documented promise is that a later
// holder reusing the id still works on that thread, whenever the stale guard is released.
// Run by ctest once per case (tests/shared_config.cmake); exits 0 and prints "ok", fails by
// exit code or by a sanitizer report.
#ifndef NDEBUG
#define NDEBUG
#endif
#include <frugal/shared_config.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

static_assert(!FRUGAL_ASSERTIONS_ENABLED, "this probe checks the behaviour without assertions");

namespace {

// Versions record their destruction, so a version destroyed under a live guard is seen
// without a sanitizer too.
std::vector<char> destroyed;
struct version {
  char name;
  explicit version(char n) : name(n) {}
  version(const version&) = default;
  ~version() { destroyed.push_back(name); }
};
bool was_destroyed(char n) {
  for (char d : destroyed) {
    if (d == n) return true;
  }
  return false;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "shared_config_release_misuse: %s\n", what);
    std::fflush(stderr);
    std::_Exit(1);
  }
}

using holder = frugal::shared_config<version>;

// `stale` guards of holder 'a' outlive it; a holder 'b' takes its id and is read (guard g)
// before the stale guards are released (one of them before g's read when
// `release_some_before`, the rest while g is alive); then stores and reclaims must never
// destroy g's version, and nested reads must see it.
void stale_then_new(int stale, bool release_some_before) {
  auto a = std::make_unique<holder>(std::in_place, 'a');
  std::optional<holder::guard> old[3];
  for (int i = 0; i < stale; ++i) old[i].emplace(a->read());
  check((*old[0])->name == 'a', "the stale guards read a");
  a.reset();  // the misuse: guards of `a` are alive
  auto b = std::make_unique<holder>(std::in_place, 'b');
  if (release_some_before) old[0].reset();
  {
    holder::guard g = b->read();
    check(g->name == 'b', "the new holder's guard reads b");
    for (auto& o : old) o.reset();  // the stale guards go while g is alive
    b->store(std::make_shared<const version>('c'));
    {
      holder::guard nested = b->read();
      check(nested->name == 'b', "a read nested in g sees g's version");
    }
    b->store(std::make_shared<const version>('d'));
    b->store(std::make_shared<const version>('e'));
    b->reclaim();
    check(!was_destroyed('b'), "g's version was destroyed while g was alive");
    check(g->name == 'b', "g still reads b");
  }
  // Every guard gone: reads see the current version, and keep working.
  for (int i = 0; i < 3; ++i) {
    holder::guard g = b->read();
    check(g->name == 'e', "a fresh read sees the current version");
  }
  b->store(std::make_shared<const version>('f'));
  check(b->read()->name == 'f', "a read after a store sees it");
}

// The stale guard is released before the new holder's first read: the slot is free again.
void stale_released_first() {
  auto a = std::make_unique<holder>(std::in_place, 'a');
  std::optional<holder::guard> old(a->read());
  a.reset();
  auto b = std::make_unique<holder>(std::in_place, 'b');
  old.reset();
  holder::guard g = b->read();
  check(g->name == 'b', "the new holder reads b");
  b->store(std::make_shared<const version>('c'));
  check(b->read()->name == 'b', "a nested read sees g's version");
}

}  // namespace

int main(int argc, char** argv) {
  const char* which = argc > 1 ? argv[1] : "";
  if (std::strcmp(which, "one_stale_guard") == 0) {
    stale_then_new(1, false);
  } else if (std::strcmp(which, "two_stale_guards") == 0) {
    stale_then_new(2, false);
  } else if (std::strcmp(which, "stale_guards_released_around_a_read") == 0) {
    stale_then_new(3, true);
  } else if (std::strcmp(which, "stale_guard_released_first") == 0) {
    stale_released_first();
  } else {
    std::fprintf(stderr, "shared_config_release_misuse: unknown case %s\n", which);
    return 2;
  }
  std::puts("ok");
  return 0;
}
