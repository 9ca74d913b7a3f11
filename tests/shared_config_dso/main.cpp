// Holders created in two shared libraries built with -fvisibility=hidden, read from the
// program and from both libraries, on several threads: every read returns its own holder's
// version, and destroying a holder frees the copies that every thread cached, whichever
// library's code read them. With the argument `separate_registries` (everything built with
// FRUGAL_SHARED_CONFIG_EXPORT defined empty, so each library has its own registry and the
// holders' ids collide) the reads must still be right; only the copies cached through another
// library outlive their holder. Exits 0 and prints "ok", or prints what went wrong and exits 1.
#include "api.hpp"

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "shared_config_dso: %s\n", what);
    ++failures;
  }
}

void read_everything(const text_config& t, const number_config& n, const char* text, long v,
                     std::atomic<int>* bad) {
  for (int i = 0; i < 100; ++i) {
    bool ok =
        text_read(t) == text && number_read(n) == v && t.read()->text == text && *n.read() == v;
    long nested = 0;
    ok = ok && text_read_nested_with(t, n, &nested) == text && nested == v;
    {
      auto g = t.read();  // pins the program's slot for t
      ok = ok && *n.read() == v && number_read(n) == v && g->text == text;
    }
    {
      auto g = n.read();
      ok = ok && t.read()->text == text && text_read(t) == text && *g == v;
    }
    if (!ok) ++*bad;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool separate = argc > 1 && std::string(argv[1]) == "separate_registries";
  text_config* t = text_make("text");
  number_config* n = number_make(42);
  std::atomic<int> bad{0};
  read_everything(*t, *n, "text", 42, &bad);
  check(bad.load() == 0, "a read returned another holder's version");

  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] { read_everything(*t, *n, "text", 42, &bad); });
  for (auto& th : threads) th.join();
  check(bad.load() == 0, "a read on another thread returned another holder's version");

  text_store(*t, "changed");
  read_everything(*t, *n, "changed", 42, &bad);
  check(bad.load() == 0, "a read after a store returned a wrong version");

  // The program's and both libraries' tables on this thread cache versions of t; destroying t
  // frees them all (one registry for the whole process).
  text_destroy(t);
  if (!separate) {
    check(text_live() == 0, "destroying a holder left versions cached by another library alive");
  }

  // A guard on a slot of its own, made in the library and destroyed here: the slot leaves the
  // library's list of this thread's slots of their own (its code has a list of its own), so
  // the library's later reads never meet it freed.
  {
    std::vector<text_config*> many;
    for (int i = 0; i < 300; ++i) many.push_back(text_make("many"));
    (void)text_read(*many[0]);  // the library's table fits the first ids
    for (std::size_t round = 0; round < 3; ++round) {
      auto g = text_read_while_pinned(*many[0], *many[299 - round]);
      check(g->text == "many", "a guard made in a library read a wrong version");
    }
    for (std::size_t round = 0; round < 3; ++round) {
      auto g = text_read_while_pinned(*many[0], *many[299 - round]);
      check(text_read(*many[299 - round]) == "many", "a nested read in the library");
    }
    for (text_config* c : many) text_destroy(c);
  }

  // A new holder, maybe on t's id, in the other library.
  number_config* m = number_make(7);
  check(*m->read() == 7 && number_read(*m) == 7 && *n->read() == 42, "reads after destroy");
  number_destroy(m);
  number_destroy(n);
  if (failures != 0) return 1;
  std::printf("ok\n");
  return 0;
}
