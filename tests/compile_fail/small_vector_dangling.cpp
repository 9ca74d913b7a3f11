// Compiled by clang-16 with -Wdangling. With FRUGAL_EXPECT_DANGLING, each of the 14 functions
// below keeps a pointer, reference or iterator into a temporary small_vector, and each must be
// diagnosed once (tests/compile_fail/small_vector_dangling.cmake counts the warnings). Without
// it, main() uses the same calls on temporaries within one full-expression, which is safe, and
// must compile cleanly with -Werror.
#include <frugal/small_vector.hpp>

#include <numeric>

using vec = frugal::small_vector<int, 4>;

vec make() { return vec{1, 2, 3}; }
const vec make_const() { return vec{1, 2, 3}; }

#ifdef FRUGAL_EXPECT_DANGLING
int data() {
  int* p = make().data();
  return *p;
}
int data_const() {
  const int* p = make_const().data();
  return *p;
}
int index() {
  int& r = make()[0];
  return r;
}
int index_const() {
  const int& r = make_const()[0];
  return r;
}
int front() {
  int& r = make().front();
  return r;
}
int back() {
  int& r = make().back();
  return r;
}
int back_const() {
  const int& r = make_const().back();
  return r;
}
int at() {
  int& r = make().at(0);
  return r;
}
int at_const() {
  const int& r = make_const().at(0);
  return r;
}
int begin() {
  auto it = make().begin();
  return *it;
}
int end() {
  auto it = make().end();
  return it[-1];
}
int cbegin() {
  auto it = make().cbegin();
  return *it;
}
int cend_const() {
  auto it = make_const().cend();
  return it[-1];
}
int emplace_back() {
  int& r = make().emplace_back(4);
  return r;
}
#endif

int main() {
  return make()[0] + *make().data() + make().front() + make().back() + make().at(0) +
         std::accumulate(make().begin(), make().end(), 0) - 12 + (*make().rbegin() - 3) +
         make().emplace_back(4) - 4;
}
