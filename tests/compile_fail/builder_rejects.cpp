// Each CASE must not compile: str_cat and str_append take narrow text only. Wide and UTF
// characters would lose all but their low byte, nullptr is no text and a bool is no number.
// CASE 0 is the control and compiles cleanly.
#include <frugal/builder.hpp>

#include <string>

int main() {
  std::string s;
#if CASE == 0
  s = frugal::str_cat('a', "b", 1, static_cast<const char*>(nullptr));
  frugal::str_append(s, 'c');
#elif CASE == 1
  s = frugal::str_cat(U'x');
#elif CASE == 2
  s = frugal::str_cat(L'x');
#elif CASE == 3
  s = frugal::str_cat(u'x');
#elif CASE == 4
  s = frugal::str_cat(u8'a');
#elif CASE == 5
  s = frugal::str_cat(nullptr);
#elif CASE == 6
  s = frugal::str_cat(true);
#elif CASE == 7
  frugal::str_append(s, U'x');
#elif CASE == 8
  frugal::builder<std::string> b(4);
  b.append(u8'a');
#else
#error "define CASE as 0 to 8"
#endif
  return static_cast<int>(s.size()) == -1;
}
