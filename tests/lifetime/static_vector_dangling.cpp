// Compiled by clang-16 with -Werror=dangling once per CASE. Cases 1 to 13 keep a pointer,
// reference or iterator into a temporary static_vector past the end of the statement and must
// be diagnosed; case 100 uses the same calls within one full-expression, which is safe, and
// must compile cleanly with -Werror.
#include <frugal/static_vector.hpp>

using vec = frugal::static_vector<int, 4>;

vec make() { return vec{1, 2, 3}; }
const vec make_const() { return vec{1, 2, 3}; }

#if CASE == 1
int run() {
  int* p = make().data();
  return *p;
}
#elif CASE == 2
int run() {
  const int* p = make_const().data();
  return *p;
}
#elif CASE == 3
int run() {
  int& r = make()[0];
  return r;
}
#elif CASE == 4
int run() {
  const int& r = make_const().front();
  return r;
}
#elif CASE == 5
int run() {
  int& r = make().back();
  return r;
}
#elif CASE == 6
int run() {
  int& r = make().at(1);
  return r;
}
#elif CASE == 7
int run() {
  auto it = make().begin();
  return *it;
}
#elif CASE == 8
int run() {
  auto it = make().end();
  return it[-1];
}
#elif CASE == 9
int run() {
  int* p = make().try_push_back(4);
  return *p;
}
#elif CASE == 10
int run() {
  int& r = make().emplace_back(4);
  return r;
}
#elif CASE == 11
int run() {
  int& r = make().unchecked_push_back(4);
  return r;
}
#elif CASE == 12
int run() {
  int& r = make().push_back(4);
  return r;
}
#elif CASE == 13
int run() {
  int* p = make().try_emplace_back(4);
  return *p;
}
#elif CASE == 100
int run() {
  int total = *make().data() + make()[0] + make_const().front() + make().back() + make().at(1);
  total += *make().begin() + make().end()[-1] + *make().try_push_back(4);
  total += make().emplace_back(4) + make().unchecked_push_back(4) + make().push_back(4);
  vec kept = make();
  int* p = kept.try_push_back(5);
  return total + *p;
}
#endif

int main() { return run(); }
