// Compiled by clang-16 with -Werror=dangling once per CASE. Cases 1 to 4 keep a view of a
// temporary reply, token or connection, which is freed at the end of the statement, and must be
// diagnosed; cases 5 and 6 make a redis_value of a temporary reply, which must not compile
// (deleted); case 100 keeps the reply (or uses the temporary within its statement) and must
// compile cleanly.
#include <frugal/interop/redis.hpp>

#include <chrono>
#include <string>
#include <string_view>

frugal::redis_connection& conn();

#if CASE == 1
std::size_t run() {
  std::string_view v = conn().command({"GET", "k"}).str();
  return v.size();
}
#elif CASE == 2
std::size_t run() {
  frugal::redis_value first = conn().command({"MGET", "a", "b"})[0];
  return first.str().size();
}
#elif CASE == 3
std::size_t run() {
  std::string_view token = frugal::redis_lock_token{}.view();
  return token.size();
}
#elif CASE == 4
std::size_t run() {
  std::string_view key =
      frugal::redis_connection::open({}).make_key([](std::string& out) { out += "k"; });
  return key.size();
}
#elif CASE == 5
std::size_t run() {
  frugal::redis_value v = conn().command({"GET", "k"});
  return v.str().size();
}
#elif CASE == 6
std::size_t run() {
  frugal::redis_value v;
  v = conn().command({"GET", "k"});
  return v.str().size();
}
#elif CASE == 100
std::size_t run() {
  const frugal::redis_reply r = conn().command({"MGET", "a", "b"});
  std::string_view v = r.str();
  frugal::redis_value first = r[0];
  const frugal::redis_value whole = r;  // a view of a named reply
  std::string_view inner = r[1].str();  // a view of an element of a reply that lives
  const std::string copied(conn().command({"GET", "k"}).str());
  const auto t = frugal::redis_try_lock(conn(), "lock", std::chrono::seconds(1));
  std::string_view token = t ? t->view() : std::string_view();
  return v.size() + whole.str().size() + first.str().size() + inner.size() + copied.size() + token.size();
}
#else
#error "define CASE as 1 to 6 or 100"
#endif

int main() { return static_cast<int>(run()) == -1; }
