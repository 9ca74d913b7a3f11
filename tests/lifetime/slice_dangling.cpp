// Compiled by clang-16 with -Werror=dangling once per CASE. Cases 1 to 21 and 24 to 45 keep a
// view whose storage dies at the end of the statement or of the function and must be
// diagnosed; cases 22 and 23 pass a temporary cow_string, an owner, and must not compile;
// cases from 100 on use views correctly and must compile cleanly with -Werror (no false
// alarm).
#include <frugal/cow_string.hpp>
#include <frugal/slice.hpp>

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

frugal::cow_string make_cow() { return frugal::cow_string(std::string(40, 'x')); }
std::vector<int> make_vector() { return std::vector<int>(8, 1); }

bool is_space(char c) { return c == ' '; }
bool same(char a, char b) { return a == b; }

std::size_t use(std::string_view v) { return v.size(); }

#if CASE == 1
std::size_t run() {
  auto v = frugal::as_slice(make_cow().view());
  return v.size();
}
#elif CASE == 2
std::size_t run() {
  auto v = frugal::first_n(make_cow().view(), 3);
  return v.size();
}
#elif CASE == 3
std::size_t run() {
  auto v = frugal::last_n(make_cow().view(), 3);
  return v.size();
}
#elif CASE == 4
std::size_t run() {
  auto v = frugal::try_split_at(make_cow().view(), 3);
  return v->first.size();
}
#elif CASE == 5
std::size_t run() {
  auto v = frugal::split_at(make_cow().view(), 3);
  return v.first.size();
}
#elif CASE == 6
std::size_t run() {
  auto v = frugal::subslice(make_cow().view(), 1, 3);
  return v->size();
}
#elif CASE == 7
std::size_t run() {
  auto v = frugal::split_first(make_cow().view());
  return v->second.size();
}
#elif CASE == 8
std::size_t run() {
  auto v = frugal::split_last(make_cow().view());
  return v->second.size();
}
#elif CASE == 9
std::size_t run() {
  auto v = frugal::strip_prefix(make_cow().view(), "x");
  return v->size();
}
#elif CASE == 10
std::size_t run() {
  auto v = frugal::strip_suffix(make_cow().view(), "x");
  return v->size();
}
#elif CASE == 11
std::size_t run() {
  auto v = frugal::chunks(make_cow().view(), 3);
  return v.size();
}
#elif CASE == 12
std::size_t run() {
  auto v = frugal::chunks_exact(make_cow().view(), 3);
  return v.size();
}
#elif CASE == 13
std::size_t run() {
  auto v = frugal::rchunks(make_cow().view(), 3);
  return v.size();
}
#elif CASE == 14
std::size_t run() {
  auto v = frugal::windows(make_cow().view(), 3);
  return v.size();
}
#elif CASE == 15
std::size_t run() {
  auto v = frugal::split(make_cow().view(), is_space);
  return v.front().size();
}
#elif CASE == 16
std::size_t run() {
  auto v = frugal::chunk_by(make_cow().view(), same);
  return v.front().size();
}
#elif CASE == 17
std::size_t run() {
  auto v = frugal::split_once(make_cow().view(), ' ');
  return v->first.size();
}
#elif CASE == 18
std::size_t run() {
  auto v = frugal::trim(make_cow().view());
  return v.size();
}
#elif CASE == 19
std::size_t run() {
  auto v = frugal::trim_start(make_cow().view());
  return v.size();
}
#elif CASE == 20
std::size_t run() {
  auto v = frugal::trim_end(make_cow().view());
  return v.size();
}
#elif CASE == 21
std::size_t run() {
  auto v = frugal::trim(frugal::trim(make_cow().view()));
  return v.size();
}
#elif CASE == 22
std::size_t run() {
  std::string_view v = frugal::trim(make_cow());
  return v.size();
}
#elif CASE == 23
std::size_t run() {
  auto v = frugal::split_once(make_cow(), ' ');
  return v->first.size();
}
#elif CASE == 24
std::span<int> run_view() {
  std::vector<int> local = make_vector();
  return frugal::first_n(local, 2);
}
std::size_t run() { return run_view().size(); }
#elif CASE == 25
std::string_view run_view() {
  std::string local(40, ' ');
  return frugal::trim(local);
}
std::size_t run() { return run_view().size(); }
#elif CASE == 26
std::span<const char> run_view() {
  const char local[] = {'a', 'b', 'c'};
  return frugal::as_slice(local);
}
std::size_t run() { return run_view().size(); }
#elif CASE == 27
std::string_view run_view() {
  const frugal::cow_string local = make_cow();
  return frugal::first_n(local, 3);
}
std::size_t run() { return run_view().size(); }
#elif CASE == 100
std::size_t run() {
  char buffer[] = "  text  ";
  auto v = frugal::trim(std::string_view(buffer));
  auto w = frugal::first_n(std::string_view(buffer), 3);
  return v.size() + w.size();
}
#elif CASE == 101
std::string_view trimmed(std::string_view line) { return frugal::trim(line); }
std::span<int> head(std::span<int> values) { return frugal::first_n(values, 2); }
std::string_view key(std::string_view line) { return frugal::split_once(line, '=')->first; }
std::size_t run() {
  std::vector<int> v = make_vector();
  auto s = frugal::first_n(std::span<int>(v), 2);
  auto c = frugal::chunks(std::span<int>(v), 3);
  return trimmed(" a ").size() + head(v).size() + key("k=v").size() + s.size() + c.size();
}
#elif CASE == 102
std::size_t run() {
  char buffer[] = "a b c";
  std::size_t total =
      use(frugal::trim(make_cow().view())) + use(frugal::first_n(make_cow().view(), 3));
  for (auto piece : frugal::split(std::string_view(buffer), is_space)) total += piece.size();
  const frugal::cow_string kept = make_cow();
  auto v = frugal::trim(kept);
  auto [head, rest] = *frugal::split_once(kept, 'x');
  std::array<int, 3> a{1, 2, 3};
  auto w = frugal::windows(a, 2);
  return total + v.size() + head.size() + rest.size() + w.size();
}
#elif CASE == 28
std::size_t run() {
  auto v = frugal::split(make_cow().view(), ',');
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 29
std::size_t run() {
  auto v = frugal::split(make_cow().view(), "::");
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 30
std::size_t run() {
  auto v = frugal::splitn(make_cow().view(), 2, ',');
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 31
std::size_t run() {
  auto v = frugal::rsplit(make_cow().view(), ',');
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 32
std::size_t run() {
  auto v = frugal::rsplitn(make_cow().view(), 2, "::");
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 33
std::size_t run() {
  auto v = frugal::split_terminator(make_cow().view(), ';');
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 34
std::size_t run() {
  auto v = frugal::split_inclusive(make_cow().view(), '\n');
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 35
std::size_t run() {
  auto v = frugal::lines(make_cow().view());
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 36
std::size_t run() {
  auto v = frugal::split_whitespace(make_cow().view());
  return static_cast<std::size_t>(v.begin() == v.end());
}
#elif CASE == 37
std::size_t run() {
  auto v = frugal::rsplit_once(make_cow().view(), ' ');
  return static_cast<std::size_t>(v->first.size());
}
#elif CASE == 38
std::size_t run() {
  auto v = frugal::trim_matches(make_cow().view(), 'x');
  return static_cast<std::size_t>(v.size());
}
#elif CASE == 39
std::size_t run() {
  auto v = frugal::trim_start_matches(make_cow().view(), "xx");
  return static_cast<std::size_t>(v.size());
}
#elif CASE == 40
std::size_t run() {
  auto v = frugal::trim_end_matches(make_cow().view(), is_space);
  return static_cast<std::size_t>(v.size());
}
#elif CASE == 41
std::size_t run() {
  auto v = frugal::strip_prefix(make_cow().view(), 'x');
  return static_cast<std::size_t>(v->size());
}
#elif CASE == 42
std::size_t run() {
  auto v = frugal::first(make_cow().view());
  return static_cast<std::size_t>(v.has_value());
}
#elif CASE == 43
std::size_t run() {
  auto v = frugal::last(make_cow().view());
  return static_cast<std::size_t>(v.has_value());
}
#elif CASE == 44
std::size_t run() {
  auto v = frugal::get(make_cow().view(), 1);
  return static_cast<std::size_t>(v.has_value());
}
#elif CASE == 45
std::size_t run() {
  auto v = frugal::rchunks_exact(make_cow().view(), 3);
  return static_cast<std::size_t>(v.size());
}
#elif CASE == 103
std::size_t run() {
  char buffer[] = "k=v;a b\nc\r\n";
  const std::string_view text(buffer);
  std::size_t total = 0;
  auto parts = frugal::split(text, ';');
  auto words = frugal::split_whitespace(text);
  auto pairs = frugal::splitn(text, 2, "=");
  for (auto p : parts) total += p.size();
  for (auto w : words) total += w.size();
  for (auto p : pairs) total += p.size();
  const frugal::cow_string kept = make_cow();
  for (auto l : frugal::lines(kept)) total += l.size();
  auto last = frugal::rsplit_once(kept, ' ');
  auto trimmed = frugal::trim_matches(kept, 'x');
  auto head = frugal::first(kept);
  auto value = frugal::parse<int>(frugal::trim(make_cow().view()));
  return total + last.has_value() + trimmed.size() + head.has_value() + value.has_value();
}
#else
#error "define CASE"
#endif

int main() { return static_cast<int>(run() % 2); }
