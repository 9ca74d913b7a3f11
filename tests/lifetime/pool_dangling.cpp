// Compiled by clang-16 with -Werror=dangling once per CASE. Cases 1 to 3 keep a reference to a
// pooled object through a lease that ends at the end of the statement (the object goes back
// to the pool, another caller may take it) and must be diagnosed; case 100 keeps the lease.
#include <frugal/pool.hpp>

#include <string>

frugal::pool<std::string>& strings() {
  static frugal::pool<std::string> p([] { return std::string("pooled"); });
  return p;
}

#if CASE == 1
std::size_t run() {
  std::string& s = *strings().acquire();
  return s.size();
}
#elif CASE == 2
std::size_t run() {
  std::string* s = strings().acquire().operator->();
  return s->size();
}
#elif CASE == 3
std::size_t run() {
  std::string& s = strings().acquire().get();
  return s.size();
}
#elif CASE == 100
std::size_t run() {
  auto lease = strings().acquire();
  std::string& s = *lease;
  std::string* p = lease.operator->();
  return s.size() + p->size() + lease.get().size();
}
#else
#error "define CASE as 1 to 3 or 100"
#endif

int main() { return static_cast<int>(run()) == -1; }
