// Compiled by clang-16 with -Werror=dangling once per CASE: cases 1 and 2, 4 to 19 and 23 to 28, keep a
// view of a temporary (or of a local, returned) and must be diagnosed; case 3 and cases from
// 100 on use views correctly and must compile cleanly with -Werror. Cases 20 to 22 are
// overloads that can only dangle and are deleted: they must not compile.
#include <frugal/cow_string.hpp>
#include <frugal/slice.hpp>

#include <string>
#include <string_view>

frugal::cow_string make_cow() { return frugal::cow_string(std::string(40, 'x')); }
std::string make_str() { return std::string(40, 'x'); }
const std::string make_const_str() { return std::string(40, 'x'); }

std::size_t use(std::string_view v) { return v.size(); }

int main() {
#if CASE == 1
  std::string_view v = make_cow();
  return static_cast<int>(v.size());
#elif CASE == 2
  auto v = make_cow().view();
  return static_cast<int>(v.size());
#elif CASE == 3
  return static_cast<int>(use(make_cow())) - 40;
#elif CASE == 4
  auto p = make_cow().data();
  return p[0];
#elif CASE == 5
  auto it = make_cow().begin();
  return *it;
#elif CASE == 6
  auto it = make_cow().end();
  return it[-1];
#elif CASE == 7
  std::string& s = make_cow().to_mut();
  return static_cast<int>(s.size());
#elif CASE == 8
  auto c = frugal::to_lower_ascii(frugal::trim(make_cow().view()));
  return static_cast<int>(c.size());
#elif CASE == 9
  auto c = frugal::to_upper_ascii(make_cow().view());
  return static_cast<int>(c.size());
#elif CASE == 10
  auto c = frugal::escape_html(make_cow().view());
  return static_cast<int>(c.size());
#elif CASE == 11
  auto c = frugal::replace_all(make_cow().view(), "y", "z");
  return static_cast<int>(c.size());
#elif CASE == 12
  frugal::cow_string c(make_cow().view());
  return static_cast<int>(c.size());
#elif CASE == 13
  auto c = frugal::cow_string::borrowed(make_cow().view());
  return static_cast<int>(c.size());
#elif CASE == 14
  auto v = frugal::trim(make_cow().view());
  return static_cast<int>(v.size());
#elif CASE == 15
  auto v = frugal::split_once(make_cow().view(), ' ');
  return static_cast<int>(v.has_value());
#elif CASE == 16
  auto v = frugal::first_n(make_cow().view(), 3);
  return static_cast<int>(v.size());
#elif CASE == 17
  struct holder {
    static frugal::cow_string borrow_local() {
      std::string local = make_str();
      return frugal::cow_string::borrowed(local);
    }
  };
  return static_cast<int>(holder::borrow_local().size());
#elif CASE == 18
  struct holder {
    static std::string_view view_of_local() {
      frugal::cow_string local(make_str());
      return local;
    }
  };
  return static_cast<int>(holder::view_of_local().size());
#elif CASE == 19
  struct holder {
    static std::string_view trim_local() {
      const frugal::cow_string local(make_str());
      return frugal::trim(local);
    }
  };
  return static_cast<int>(holder::trim_local().size());
#elif CASE == 20
  auto c = frugal::cow_string::borrowed(make_str());
  return static_cast<int>(c.size());
#elif CASE == 21
  auto c = frugal::cow_string::borrowed(make_const_str());
  return static_cast<int>(c.size());
#elif CASE == 22
  frugal::cow_string c(make_const_str());
  return static_cast<int>(c.size());
#elif CASE == 100
  const std::string kept = make_str();
  auto a = frugal::cow_string::borrowed(kept);
  auto b = frugal::to_lower_ascii(frugal::trim(std::string_view(kept)));
  frugal::cow_string c = make_cow();
  c = frugal::trim(c.view());
  c = frugal::to_lower_ascii(c);
  auto d = frugal::cow_string::owned(make_str());
  frugal::cow_string e(make_str());
  auto f = frugal::trim(e);
  return static_cast<int>(a.size() + b.size() + c.size() + d.size() + f.size() +
                          use(frugal::trim(make_cow().view())) + use(make_cow().view())) -
         200;
#elif CASE == 23
  auto v = make_cow().substr(2);
  return static_cast<int>(v.size());
#elif CASE == 24
  auto p = make_cow().c_str();
  return static_cast<int>(p[0]);
#elif CASE == 25
  auto v = frugal::escape_json(make_cow().view());
  return static_cast<int>(v.size());
#elif CASE == 26
  auto v = frugal::percent_decode(make_cow().view());
  return static_cast<int>(v.size());
#elif CASE == 27
  auto v = frugal::percent_encode(make_cow().view());
  return static_cast<int>(v.size());
#elif CASE == 28
  auto u = frugal::cow_string(make_str()).substr(3);
  return static_cast<int>(u.size());
#elif CASE == 101
  const std::string kept = make_str();
  frugal::cow_string a(kept);
  a += "!";
  auto b = a.substr(1, 3);
  auto c = frugal::escape_json(std::string_view(kept));
  auto d = frugal::percent_encode(frugal::trim(std::string_view(kept)));
  auto e = frugal::percent_decode(kept);
  frugal::cow_string f = make_cow();
  f = f.substr(2);
  return static_cast<int>(b.size() + c.size() + d.size() + e.size() + f.size() +
                          use(make_cow().substr(1)) + use(frugal::escape_json(make_cow().view())) +
                          std::string_view(a.c_str()).size()) -
         200;
#else
#error "define CASE"
#endif
}
