// Compiled by clang-16 with -Werror=dangling once per CASE: cases 1 to 5 keep a view of the
// bytes of a temporary frugal::bytes or bytes_mut and must be diagnosed; case 100 keeps the
// bytes themselves (a clone or a slice shares the storage) and must compile cleanly.
#include <frugal/bytes.hpp>

#include <span>
#include <string_view>

frugal::bytes make_bytes() { return frugal::bytes::copy_from(std::string_view("a frame")); }
frugal::bytes_mut make_mut() {
  frugal::bytes_mut m(16);
  m.extend(std::string_view("a buffer"));
  return m;
}

int main() {
#if CASE == 1
  std::string_view v = make_bytes();
  return static_cast<int>(v.size());
#elif CASE == 2
  auto v = make_bytes().as_string_view();
  return static_cast<int>(v.size());
#elif CASE == 3
  auto s = make_bytes().as_span();
  return static_cast<int>(s.size());
#elif CASE == 4
  const std::byte* p = make_bytes().data();
  return static_cast<int>(p[0]);
#elif CASE == 5
  auto v = make_mut().as_string_view();
  return static_cast<int>(v.size());
#elif CASE == 100
  const frugal::bytes kept = make_bytes().slice(2, 7);
  const std::string_view v = kept;
  return static_cast<int>(v.size()) - 5;
#endif
}
