// The Redis client layer and tiered_cache without a server: options, codecs, key buffers, and
// every path where Redis cannot be reached (a port nobody listens on). The same code against a
// real redis-server is in redis_server_test.cpp.
#include <frugal/interop/redis.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using frugal::testing::count_allocations;
using namespace std::chrono_literals;

namespace {

// A loopback port that nobody listens on: bound, read and closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

frugal::redis_options nowhere() {
  return {.port = closed_port(), .connect_timeout = 100ms, .command_timeout = 50ms};
}

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

struct point {
  std::int32_t x, y;
  double weight;
  bool operator==(const point&) const = default;
};

struct alignas(32) wide {
  std::uint64_t a[4];
  bool operator==(const wide&) const = default;
};

using users = frugal::tiered_cache<std::uint64_t, std::string>;

users::options_type user_options(frugal::redis_options redis) {
  return {.redis = redis,
          .local = {.max_capacity = 100},
          .key =
              [](std::uint64_t id, std::string& out) {
                out.append("user:");
                frugal::append_decimal(out, id);
              },
          .channel = ""};
}

}  // namespace

TEST_CASE("redis_options are checked, naming the bad value", "[redis]") {
  frugal::redis_options o;
  o.port = 0;
  CHECK(message_of([&] { frugal::validate(o); }) ==
        "redis_options: port must be 1 to 65535, got 0");
  o.port = 70000;
  CHECK_THROWS_AS(frugal::validate(o), std::invalid_argument);
  o.unix_socket = "/tmp/redis.sock";  // the port is then ignored
  CHECK_NOTHROW(frugal::validate(o));
  o = {};
  o.database = -1;
  CHECK(message_of([&] { frugal::validate(o); }) ==
        "redis_options: database must be at least 0, got -1");
  o = {};
  o.connect_timeout = 0ms;
  CHECK(message_of([&] { frugal::validate(o); }) ==
        "redis_options: connect_timeout must be positive, got 0 ms");
  o = {};
  o.command_timeout = -1ms;
  CHECK(message_of([&] { frugal::validate(o); }) ==
        "redis_options: command_timeout must not be negative, got -1 ms");
  o = {};
  o.command_timeout = 0ms;  // waits forever: allowed
  CHECK_NOTHROW(frugal::validate(o));
  o.port = 1;
  o.port = 65535;
  CHECK_NOTHROW(frugal::validate(o));
  CHECK_THROWS_AS(frugal::redis_connection(frugal::redis_options{.port = -3}),
                  std::invalid_argument);
  CHECK_THROWS_AS(frugal::redis_connection::open({.database = -2}), std::invalid_argument);
}

TEST_CASE("connecting to a port nobody listens on throws redis_error naming the server",
          "[redis]") {
  const auto o = nowhere();
  try {
    frugal::redis_connection c(o);
    FAIL("connected to a closed port");
  } catch (const frugal::redis_error& e) {
    CHECK(e.code() == frugal::redis_errc::io);
    const std::string m = e.what();
    CHECK(m.find("redis 127.0.0.1:" + std::to_string(o.port) + ": cannot connect") == 0);
  }
}

TEST_CASE("open() on a closed port returns a broken connection and never throws", "[redis]") {
  auto c = frugal::redis_connection::open(nowhere());
  CHECK(c.broken());
  CHECK(c.fd() == -1);
  CHECK(c.error().find("cannot connect") != std::string::npos);
  CHECK_FALSE(c.try_command({"PING"}));
  CHECK_FALSE(c.try_append({"PING"}));
  CHECK_FALSE(c.try_read_reply());
  CHECK_FALSE(c.set_command_timeout(10ms));
  CHECK_FALSE(frugal::redis_try_lock(c, "k", 100ms));
  CHECK_FALSE(frugal::redis_unlock(c, "k", frugal::redis_lock_token{}));
  CHECK_THROWS_AS(c.command({"PING"}), frugal::redis_error);
  CHECK_THROWS_AS(c.read_reply(), frugal::redis_error);
  CHECK_THROWS_AS(c.append({"PING"}), frugal::redis_error);
  CHECK_THROWS_AS(c.reconnect(), frugal::redis_error);
  CHECK_FALSE(c.try_reconnect());
  // Moving keeps the state; the moved-from connection is broken too.
  frugal::redis_connection d = std::move(c);
  CHECK(d.broken());
  CHECK(d.error().find("cannot connect") != std::string::npos);
  CHECK(c.broken());  // NOLINT(bugprone-use-after-move): documented state
  c = std::move(d);
  CHECK(c.error().find("cannot connect") != std::string::npos);
}

TEST_CASE("a unix socket that does not exist is named in the error", "[redis]") {
  auto c = frugal::redis_connection::open({.unix_socket = "/nonexistent/frugal-redis.sock"});
  CHECK(c.broken());
  CHECK(c.error().find("redis /nonexistent/frugal-redis.sock: cannot connect") == 0);
}

TEST_CASE("make_key fills a reusable buffer: prefix, then the user's key, no allocation",
          "[redis]") {
  auto c = frugal::redis_connection::open({.port = closed_port(), .key_prefix = "svc:"});
  auto write = [](std::uint64_t id) {
    return [id](std::string& out) {
      out.append("user:");
      frugal::append_decimal(out, id);
    };
  };
  CHECK(c.make_key(write(42)) == "svc:user:42");
  CHECK(c.make_key(write(18446744073709551615u)) == "svc:user:18446744073709551615");
  std::string_view k;
  CHECK(count_allocations([&] { k = c.make_key(write(7)); }) == 0);
  CHECK(k == "svc:user:7");
  // A key with spaces, a newline and a NUL byte is kept byte for byte.
  const std::string odd("a b\r\nSET x\0y", 12);
  CHECK(c.make_key([&](std::string& out) { out.append(odd); }) == "svc:" + odd);
  c.scratch().reserve(64);
  CHECK(count_allocations([&] { c.scratch().assign(40, 'x'); }) == 0);
}

TEST_CASE("append_decimal writes integers of every width and sign", "[redis]") {
  std::string s;
  frugal::append_decimal(s, -12);
  frugal::append_decimal(s, std::uint8_t{255});
  frugal::append_decimal(s, std::int64_t{-9223372036854775807 - 1});
  CHECK(s == "-12255-9223372036854775808");
}

TEST_CASE("codecs round-trip strings, bytes and trivially copyable types", "[redis]") {
  std::string out;
  const std::string text("binary\0\r\n data", 15);
  frugal::redis_codec<std::string>::encode(text, out);
  CHECK(out == text);
  CHECK(frugal::redis_codec<std::string>::decode(out) == text);

  out.clear();
  const auto b = frugal::bytes::copy_from(std::string_view(text));
  frugal::redis_codec<frugal::bytes>::encode(b, out);
  CHECK(out == text);
  auto back = frugal::redis_codec<frugal::bytes>::decode(out);
  REQUIRE(back);
  CHECK(back->as_string_view() == text);
  CHECK(count_allocations([&] { (void)frugal::redis_codec<frugal::bytes>::decode(""); }) == 0);

  out.clear();
  const point p{-3, 7, 0.5};
  frugal::redis_codec<point>::encode(p, out);
  CHECK(out.size() == sizeof(point));
  CHECK(frugal::redis_codec<point>::decode(out) == p);
  CHECK_FALSE(frugal::redis_codec<point>::decode(std::string_view(out).substr(1)));
  CHECK_FALSE(frugal::redis_codec<point>::decode(out + "x"));
  CHECK_FALSE(frugal::redis_codec<point>::decode(""));

  out.clear();
  const wide w{{1, 2, 3, 4}};  // over-aligned: decode must not read it in place
  frugal::redis_codec<wide>::encode(w, out);
  CHECK(frugal::redis_codec<wide>::decode(std::string_view(out)) == w);
  std::string shifted = "x" + out;
  CHECK(frugal::redis_codec<wide>::decode(std::string_view(shifted).substr(1)) == w);

  std::string reserved;
  reserved.reserve(64);
  CHECK(count_allocations([&] {
          frugal::redis_codec<std::uint64_t>::encode(42, reserved);
          (void)frugal::redis_codec<std::uint64_t>::decode(reserved);
        }) == 0);
  static_assert(frugal::redis_codec_for<frugal::redis_codec<std::string>, std::string>);
  static_assert(frugal::redis_codec_for<frugal::redis_codec<double>, double>);
  static_assert(!frugal::redis_codec_for<frugal::redis_codec<double>, std::string>);
}

namespace {
enum plain_colour { red, green };         // no fixed type: values beyond its range are UB
enum class scoped_colour : std::uint8_t { red, green };  // every std::uint8_t is one
}  // namespace

TEST_CASE("the built-in codec refuses bytes that are no value of a bool", "[redis]") {
  using bool_codec = frugal::redis_codec<bool>;
  std::string out;
  bool_codec::encode(true, out);
  bool_codec::encode(false, out);
  CHECK(bool_codec::decode(std::string_view(out).substr(0, 1)) == true);
  CHECK(bool_codec::decode(std::string_view(out).substr(1, 1)) == false);
  CHECK_FALSE(bool_codec::decode(std::string_view("\x02", 1)));
  CHECK_FALSE(bool_codec::decode(std::string_view("\xff", 1)));
  // An enumeration with a fixed type takes any of its type's values; one without has no
  // built-in codec (a user codec must check the range).
  CHECK(frugal::redis_codec<scoped_colour>::decode(std::string_view("\x07", 1)) ==
        scoped_colour{7});
  static_assert(frugal::redis_codec_for<frugal::redis_codec<scoped_colour>, scoped_colour>);
  static_assert(!frugal::redis_codec_for<frugal::redis_codec<plain_colour>, plain_colour>);
}

TEST_CASE("a forked child draws other lock tokens than its parent", "[redis]") {
  (void)frugal::detail::redis::make_token();  // the parent's generator is seeded
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const ::pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const auto t = frugal::detail::redis::make_token();
    const auto written = ::write(fds[1], t.view().data(), t.view().size());
    ::_exit(written == 32 ? 0 : 1);
  }
  ::close(fds[1]);
  const auto mine = frugal::detail::redis::make_token();
  char buf[32] = {};
  std::size_t got = 0;
  while (got < sizeof buf) {
    const auto n = ::read(fds[0], buf + got, sizeof buf - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(got == 32);
  REQUIRE(std::string_view(buf, 32) != mine.view());
}

TEST_CASE("lock tokens are 32 hex digits and differ", "[redis]") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const auto t = frugal::detail::redis::make_token();
    const std::string s(t.view());
    CHECK(s.size() == 32);
    CHECK(s.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(s);
  }
  CHECK(seen.size() == 200);
  std::set<char> digits;  // every hex digit shows up: 6400 digits drawn
  for (const auto& s : seen) digits.insert(s.begin(), s.end());
  CHECK(digits.size() == 16);
  auto c = frugal::redis_connection::open(nowhere());
  CHECK(message_of([&] { (void)frugal::redis_try_lock(c, "k", 0ms); }) ==
        "redis_try_lock: ttl must be positive, got 0 ms");
}

TEST_CASE("a nil redis_value answers every query harmlessly", "[redis]") {
  frugal::redis_value v;
  CHECK(v.is_nil());
  CHECK_FALSE(v.is_string());
  CHECK_FALSE(v.is_integer());
  CHECK_FALSE(v.is_array());
  CHECK_FALSE(v.is_error());
  CHECK(v.str().empty());
  CHECK(v.integer() == 0);
  CHECK(v.size() == 0);
  frugal::redis_reply r;
  frugal::redis_reply s = std::move(r);
  CHECK(s.is_nil());
}

TEST_CASE("tiered_cache options are checked, naming the bad value", "[redis]") {
  auto base = user_options(nowhere());
  auto o = base;
  o.key = nullptr;
  CHECK(message_of([&] { users c(o); }) == "tiered_cache: the key function is empty");
  o = base;
  o.ttl = 0s;
  CHECK(message_of([&] { users c(o); }) == "tiered_cache: ttl must be at least 1 s, got 0 s");
  o = base;
  o.ttl = std::chrono::seconds((std::int64_t{1} << 52) + 1);
  CHECK(message_of([&] { users c(o); }) ==
        "tiered_cache: ttl must be at most 2^52 s (Redis refuses longer), got 4503599627370497 s");
  o.ttl = std::chrono::seconds(std::int64_t{1} << 52);
  CHECK_NOTHROW(users(o));
  o = base;
  o.lock_ttl = std::chrono::milliseconds((std::int64_t{1} << 52) + 1);
  CHECK_THROWS_AS(users(o), std::invalid_argument);
  o = base;
  o.lock_poll = 0ms;
  CHECK(message_of([&] { users c(o); }).find("lock_poll 0 ms") != std::string::npos);
  o = base;
  o.lock_ttl = -1ms;
  CHECK_THROWS_AS(users(o), std::invalid_argument);
  o = base;
  o.lock_poll_max = 1ms;
  CHECK_THROWS_AS(users(o), std::invalid_argument);
  o = base;
  o.retry = 0ms;
  CHECK(message_of([&] { users c(o); }).find("retry 0 ms") != std::string::npos);
  o = base;
  o.retry_max = 1ms;
  CHECK_THROWS_AS(users(o), std::invalid_argument);
  o = base;
  o.redis.port = 0;
  CHECK_THROWS_AS(users(o), std::invalid_argument);
  o = base;
  o.connections = 0;
  CHECK(message_of([&] { users c(o); }) == "tiered_cache: connections must be at least 1, got 0");
  o = base;
  o.lock_ttl = 0ms;  // no lock: allowed
  CHECK_NOTHROW(users(o));
}

TEST_CASE("tiered_cache with Redis unreachable: the loader answers, errors are counted",
          "[redis]") {
  std::vector<std::string> logged;
  auto o = user_options(nowhere());
  o.log = [&](std::string_view m) { logged.emplace_back(m); };
  o.retry = 10'000ms;
  o.retry_max = 10'000ms;
  users c(o);
  int loads = 0;
  auto v = c.get_with(1, [&] {
    ++loads;
    return std::string("ada");
  });
  REQUIRE(v);
  CHECK(*v == "ada");
  CHECK(loads == 1);
  auto s = c.stats();
  CHECK(s.l2_errors == 1);
  CHECK(s.loads == 1);
  CHECK(s.l2_hits == 0);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].find("tiered_cache: connect: redis 127.0.0.1:") == 0);
  // The L1 answers now, without Redis.
  CHECK(*c.get_with(1, [&] { return std::string("other"); }) == "ada");
  // Another key: Redis is skipped during the backoff, the loader answers at once.
  CHECK(*c.get_with(2, [] { return std::string("bob"); }) == "bob");
  s = c.stats();
  CHECK(s.l2_errors == 1);
  CHECK(s.l2_skipped >= 1);
  CHECK(s.loads == 2);
  CHECK_FALSE(c.invalidate(1));
  CHECK_FALSE(c.local().contains(std::uint64_t{1}));
  CHECK(c.wait_subscribed(1ms));  // no channel: nothing to wait for
}

TEST_CASE("tiered_cache: a throwing loader reaches the caller and caches nothing", "[redis]") {
  auto o = user_options(nowhere());
  users c(o);
  for (int k = 0; k < 3; ++k) {
    CHECK_THROWS_WITH(c.get_with(5, [&]() -> std::string { throw std::runtime_error("db down"); }),
                      "db down");
    CHECK_FALSE(c.local().contains(std::uint64_t{5}));
  }
  CHECK(*c.get_with(5, [] { return std::string("x"); }) == "x");
}

TEST_CASE("tiered_cache get_all without Redis: one batch load, the batch's count checked",
          "[redis]") {
  users c(user_options(nowhere()));
  std::vector<std::vector<std::uint64_t>> calls;
  const std::vector<std::uint64_t> keys{1, 2, 3, 2};
  auto out = c.get_all(keys, [&](std::span<const std::uint64_t> ask) {
    calls.emplace_back(ask.begin(), ask.end());
    std::vector<std::optional<std::string>> r;
    for (auto k : ask) {
      r.push_back(k == 3 ? std::nullopt : std::optional<std::string>("u" + std::to_string(k)));
    }
    return r;
  });
  REQUIRE(out.size() == 4);
  CHECK(*out[0] == "u1");
  CHECK(*out[1] == "u2");
  CHECK(out[2] == nullptr);
  CHECK(*out[3] == "u2");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0] == std::vector<std::uint64_t>{1, 2, 3});
  const std::vector<std::uint64_t> more{7, 8};
  CHECK_THROWS_AS(c.get_all(more,
                            [](std::span<const std::uint64_t>) {
                              return std::vector<std::optional<std::string>>(1);
                            }),
                  std::logic_error);
  CHECK_FALSE(c.local().contains(std::uint64_t{7}));
}

TEST_CASE("tiered_cache under many threads with Redis unreachable", "[redis][concurrent]") {
  auto o = user_options(nowhere());
  o.retry = 5ms;
  o.retry_max = 20ms;
  o.channel = "invalidate";  // a subscriber thread that keeps failing to connect, beside them
  users c(o);
  std::atomic<int> loads{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0; i < 50; ++i) {
        const std::uint64_t k = (i * 7 + static_cast<std::uint64_t>(t)) % 20;
        auto v = c.get_with(k, [&] {
          loads.fetch_add(1);
          return std::to_string(k);
        });
        if (*v != std::to_string(k)) wrong.fetch_add(1);
        if (i % 10 == 0) c.invalidate(k);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  CHECK_FALSE(c.wait_subscribed(1ms));
  CHECK(loads.load() >= 20);  // L1 coalesces concurrent loads of a key; invalidate drops it
  CHECK(c.stats().loads == static_cast<std::uint64_t>(loads.load()));
}

TEST_CASE("a subscriber rejects an empty channel and bad options, and stops while failing",
          "[redis]") {
  auto nothing = [](std::string_view) {};
  CHECK(message_of([&] { frugal::redis_subscriber s(nowhere(), "", nothing); }) ==
        "redis_subscriber: the channel is empty");
  CHECK_THROWS_AS(frugal::redis_subscriber({.port = 0}, "c", nothing), std::invalid_argument);
  std::vector<std::string> logged;
  std::mutex m;
  {
    frugal::redis_subscriber s(
        nowhere(), "c", nothing, [] {},
        [&](std::string_view e) {
          std::lock_guard lock(m);
          logged.emplace_back(e);
        });
    CHECK_FALSE(s.wait_subscribed(100ms));
    CHECK_FALSE(s.subscribed());
    CHECK(s.subscriptions() == 0);
  }
  std::lock_guard lock(m);
  REQUIRE_FALSE(logged.empty());
  CHECK(logged[0].find("cannot connect") != std::string::npos);
}

namespace {
// A stand-in for Redis on a loopback port: it parses each command (RESP arrays of bulk
// strings) and answers it with what `answer(name, n)` returns for the n-th command of that
// name (from 1), on any number of connections, until it is destroyed.
class stand_in_server {
 public:
  using answer_fn = std::function<std::string(const std::string& name, int n)>;
  explicit stand_in_server(answer_fn answer) : answer_(std::move(answer)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~stand_in_server() {
    stopping_.store(true);
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : served_) t.join();
    ::close(listener_);
  }
  stand_in_server(const stand_in_server&) = delete;
  stand_in_server& operator=(const stand_in_server&) = delete;
  int port() const { return port_; }
  // How many commands named `name` it has answered.
  int count(const std::string& name) {
    std::lock_guard lock(m_);
    return seen_[name];
  }
  frugal::redis_options options() const {
    return {.port = port_, .connect_timeout = 1s, .command_timeout = 1s};
  }
  // Closes every connection it serves (as Redis's `timeout` or CLIENT KILL does).
  void close_connections() {
    std::lock_guard lock(m_);
    for (int c : open_) ::shutdown(c, SHUT_RDWR);
  }

 private:
  void accept_loop() {
    for (;;) {
      const int c = ::accept(listener_, nullptr, nullptr);
      if (c < 0) return;
      served_.emplace_back([this, c] { serve(c); });
    }
  }
  // The name of the first complete command in `in` (erased from it), or "" when none is.
  static std::string take_command(std::string& in) {
    std::size_t pos = 0;
    const auto line = [&](std::string& out) {
      const std::size_t end = in.find("\r\n", pos);
      if (end == std::string::npos) return false;
      out = in.substr(pos, end - pos);
      pos = end + 2;
      return true;
    };
    std::string header;
    if (!line(header) || header.empty() || header[0] != '*') return "";
    const int n = std::stoi(header.substr(1));
    std::string name;
    for (int i = 0; i < n; ++i) {
      std::string size;
      if (!line(size)) return "";
      const auto bytes = static_cast<std::size_t>(std::stoul(size.substr(1)));
      if (in.size() < pos + bytes + 2) return "";
      if (i == 0) name = in.substr(pos, bytes);
      pos += bytes + 2;
    }
    in.erase(0, pos);
    return name;
  }
  void serve(int c) {
    {
      std::lock_guard lock(m_);
      open_.insert(c);
    }
    std::string in;
    char buf[4096];
    while (!stopping_.load()) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t got = ::recv(c, buf, sizeof buf, 0);
      if (got <= 0) break;
      in.append(buf, static_cast<std::size_t>(got));
      std::string out;
      for (std::string name = take_command(in); !name.empty(); name = take_command(in)) {
        std::lock_guard lock(m_);
        out += answer_(name, ++seen_[name]);
      }
      (void)::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    }
    {
      std::lock_guard lock(m_);
      open_.erase(c);
    }
    ::close(c);
  }

  answer_fn answer_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> served_;  // only the acceptor adds, before the destructor joins it
  std::mutex m_;
  std::map<std::string, int> seen_;
  std::set<int> open_;
};

// A listening socket that never accepts: connects succeed (the kernel's backlog), commands
// are never answered, as from a paused Redis.
class silent_listener {
 public:
  silent_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 128) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~silent_listener() { ::close(fd_); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};
}  // namespace

TEST_CASE("a subscriber hands out a message that came in one read with its SUBSCRIBE reply",
          "[redis][concurrent]") {
  // The stand-in answers SUBSCRIBE with the confirmation and a message in one write, then
  // says nothing more.
  stand_in_server server([](const std::string& name, int) {
    if (name != "SUBSCRIBE") return std::string("+OK\r\n");
    return std::string(
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nchan\r\n:1\r\n"
        "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n");
  });
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> got;
  {
    frugal::redis_subscriber sub(
        {.port = server.port(), .connect_timeout = 2s, .command_timeout = 2s}, "chan",
        [&](std::string_view message) {
          {
            std::lock_guard lock(m);
            got.emplace_back(message);
          }
          cv.notify_all();
        });
    std::unique_lock lock(m);
    cv.wait_for(lock, 5s, [&] { return !got.empty(); });
  }
  REQUIRE(got == std::vector<std::string>{"hello"});
  REQUIRE(server.count("SUBSCRIBE") == 1);
}

TEST_CASE("an empty command is refused before anything is sent", "[redis]") {
  stand_in_server server([](const std::string&, int) { return std::string("+PONG\r\n"); });
  frugal::redis_connection c(server.options());
  const std::span<const std::string_view> none;
  REQUIRE_THROWS_WITH(c.command(none), "redis: a command needs at least its name");
  REQUIRE_THROWS_AS(c.try_command(none), std::invalid_argument);
  REQUIRE_THROWS_AS(c.try_append(none), std::invalid_argument);
  REQUIRE_THROWS_AS(c.append(none), std::invalid_argument);
  REQUIRE_FALSE(c.broken());
  REQUIRE(c.command({"PING"}).str() == "PONG");  // nothing was queued: the replies line up
}

TEST_CASE("tiered_cache: a GET or MGET reply that is not a bulk string or nil is no value",
          "[redis]") {
  // What a proxy or a server that is not Redis might answer a GET with.
  const std::string reply = GENERATE(std::string("+OK\r\n"), std::string(":5\r\n"),
                                     std::string("*1\r\n$1\r\nx\r\n"));
  stand_in_server server([&](const std::string& name, int) {
    if (name == "MGET") return "*2\r\n" + reply + "$-1\r\n";
    if (name == "GET") return reply;
    return std::string("+OK\r\n");  // SET
  });
  std::vector<std::string> logged;
  auto o = user_options(server.options());
  o.log = [&](std::string_view m) { logged.emplace_back(m); };
  o.lock_ttl = 0ms;
  o.retry = 1ms;
  o.retry_max = 1ms;
  users c(o);
  int loads = 0;
  auto v = c.get_with(1, [&] {
    ++loads;
    return std::string("from the database");
  });
  CHECK(*v == "from the database");
  CHECK(loads == 1);
  auto s = c.stats();
  CHECK(s.l2_hits == 0);
  CHECK(s.l2_errors == 1);
  REQUIRE_FALSE(logged.empty());
  CHECK(logged[0] == "tiered_cache: GET: a reply of another type or length than the command answers");
  std::this_thread::sleep_for(5ms);  // past the backoff
  const std::vector<std::uint64_t> keys{2, 3};
  int batch_keys = 0;
  auto all = c.get_all(keys, [&](std::span<const std::uint64_t> ks) {
    batch_keys += static_cast<int>(ks.size());
    std::vector<std::string> out;
    for (auto k : ks) out.push_back("db" + std::to_string(k));
    return out;
  });
  REQUIRE(all.size() == 2);
  CHECK(*all[0] == "db2");
  CHECK(*all[1] == "db3");
  CHECK(batch_keys == 2);  // both loaded: the MGET reply was not trusted
  s = c.stats();
  CHECK(s.l2_hits == 0);
  CHECK(s.l2_errors == 2);
}

TEST_CASE("tiered_cache: a wrong reply to the GET that goes with the stampede lock is no value",
          "[redis]") {
  // GET: nil; SET NX: taken or refused (nil: another instance holds the lock); the GET beside
  // it: a status.
  const bool taken = GENERATE(false, true);
  stand_in_server server([&](const std::string& name, int n) {
    if (name == "GET") return std::string(n == 1 ? "$-1\r\n" : "+OK\r\n");
    if (name == "SET") return std::string(n == 1 && !taken ? "$-1\r\n" : "+OK\r\n");
    if (name == "EVALSHA") return std::string(":1\r\n");
    return std::string("+OK\r\n");
  });
  auto o = user_options(server.options());
  o.lock_ttl = 1'000ms;
  users c(o);
  int loads = 0;
  auto v = c.get_with(7, [&] {
    ++loads;
    return std::string("loaded");
  });
  CHECK(*v == "loaded");
  CHECK(loads == 1);
  const auto s = c.stats();
  CHECK(s.l2_errors == 1);
  CHECK(s.lock_wait_hits == 0);
  CHECK(s.l2_hits == 0);
  // A lock it took is released though the failure started a backoff: the other instances
  // do not wait lock_ttl for it.
  CHECK(server.count("EVALSHA") == (taken ? 1 : 0));
}

TEST_CASE("alive(): a connection the server closed while idle is not alive", "[redis]") {
  CHECK_FALSE(frugal::redis_connection::open(nowhere()).alive());  // broken
  stand_in_server server([](const std::string&, int) { return std::string("+PONG\r\n"); });
  frugal::redis_connection c(server.options());
  CHECK(c.alive());
  CHECK(c.command({"PING"}).str() == "PONG");
  CHECK(c.alive());
  server.close_connections();
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (c.alive() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  CHECK_FALSE(c.alive());
  CHECK_FALSE(c.broken());  // alive() only looks: the next command finds the end
  CHECK_FALSE(c.try_command({"PING"}));
  CHECK(c.broken());
}

TEST_CASE("tiered_cache: an idle connection the server closed is replaced, not a failure",
          "[redis]") {
  stand_in_server server([](const std::string& name, int) {
    if (name == "GET") return std::string("$-1\r\n");
    if (name == "DEL" || name == "PUBLISH") return std::string(":1\r\n");
    return std::string("+OK\r\n");
  });
  auto o = user_options(server.options());
  o.lock_ttl = 0ms;
  users c(o);
  CHECK(*c.get_with(1, [] { return std::string("a"); }) == "a");  // a connection goes idle
  REQUIRE(c.connections().stats().idle == 1);
  server.close_connections();
  std::this_thread::sleep_for(50ms);  // the end of stream reaches the client's socket
  CHECK(c.invalidate(1));
  CHECK(server.count("DEL") == 1);
  CHECK(c.stats().l2_errors == 0);
  CHECK(c.connections().stats().check_failures == 1);
  CHECK(*c.get_with(2, [] { return std::string("b"); }) == "b");
  CHECK(c.stats().l2_errors == 0);
  CHECK(c.stats().l2_misses == 2);
}

TEST_CASE("tiered_cache: when a backoff ends one caller tries Redis, the others skip it",
          "[redis][concurrent]") {
  // Redis as if paused: every command waits the whole command timeout. Before, every thread
  // that came once the backoff was over paid that timeout, all at once.
  silent_listener paused;
  auto o = user_options({.port = paused.port(), .connect_timeout = 500ms,
                         .command_timeout = 100ms});
  o.lock_ttl = 0ms;
  o.retry = 30ms;
  o.retry_max = 30ms;
  o.local.max_capacity = 0;  // every get goes to Redis (or skips it)
  users c(o);
  (void)c.get_with(0, [] { return std::string("v"); });  // times out: the backoff starts
  REQUIRE(c.stats().l2_errors == 1);
  struct slow_call {
    std::chrono::steady_clock::time_point from, to;
  };
  std::mutex m;
  std::vector<slow_call> slow;
  const auto end = std::chrono::steady_clock::now() + 700ms;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t k = 1 + static_cast<std::uint64_t>(t) * 100000;
           std::chrono::steady_clock::now() < end; ++k) {
        const auto from = std::chrono::steady_clock::now();
        (void)c.get_with(k, [] { return std::string("v"); });
        const auto to = std::chrono::steady_clock::now();
        if (to - from >= 60ms) {
          std::lock_guard lock(m);
          slow.push_back({from, to});
        }
        std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::sort(slow.begin(), slow.end(), [](const slow_call& a, const slow_call& b) { return a.from < b.from; });
  REQUIRE(slow.size() >= 2);  // a probe after each backoff
  int overlapping = 0;
  for (std::size_t i = 1; i < slow.size(); ++i) {
    if (slow[i].from < slow[i - 1].to) ++overlapping;
  }
  INFO("slow calls " << slow.size() << ", errors " << c.stats().l2_errors);
  CHECK(overlapping == 0);
  CHECK(c.stats().l2_errors == 1 + slow.size());
  CHECK(c.stats().l2_skipped >= 10);
}

TEST_CASE("tiered_cache: retry pauses as long as the options allow do not overflow", "[redis]") {
  auto o = user_options(nowhere());
  o.retry = std::chrono::milliseconds(std::int64_t{1} << 62);
  o.retry_max = std::chrono::milliseconds::max();
  users c(o);
  CHECK(*c.get_with(1, [] { return std::string("a"); }) == "a");  // fails: the backoff starts
  CHECK(c.stats().l2_errors == 1);
  CHECK(*c.get_with(2, [] { return std::string("b"); }) == "b");
  CHECK(c.stats().l2_skipped >= 1);  // the backoff lasts (100 years), no overflow to the past
  CHECK(c.stats().l2_errors == 1);
}

TEST_CASE("tiered_cache: a value the lock's GET finds at once is an L2 hit, not a miss",
          "[redis]") {
  // The first GET finds nothing; another instance writes the value before the lock's try,
  // whose GET then finds it (and whose SET NX finds the lock taken).
  stand_in_server server([](const std::string& name, int n) {
    if (name == "GET") return std::string(n == 1 ? "$-1\r\n" : "$1\r\nx\r\n");
    if (name == "SET") return std::string("$-1\r\n");
    return std::string("+OK\r\n");
  });
  users c(user_options(server.options()));
  int loads = 0;
  CHECK(*c.get_with(1, [&] {
    ++loads;
    return std::string("loaded");
  }) == "x");
  CHECK(loads == 0);
  const auto s = c.stats();
  CHECK(s.l2_hits == 1);
  CHECK(s.l2_misses == 0);
  CHECK(s.lock_waits == 0);
  CHECK(s.lock_wait_hits == 0);
  CHECK(s.round_trips == 2);
}

TEST_CASE("tiered_cache: a probe that gets no answer from Redis does not keep it skipped",
          "[redis]") {
  // After a backoff, the first caller to try Redis again is the probe, and the others skip
  // it until the probe's answer. A caller that took that turn and then sent nothing (a
  // get_all whose batch found nothing to write back) must not leave it taken.
  stand_in_server server([](const std::string& name, int n) {
    if (name == "GET") return std::string(n == 1 ? "+OK\r\n" : "$-1\r\n");  // 1st: wrong type
    if (name == "MGET") return std::string("*1\r\n$-1\r\n");
    return std::string("+OK\r\n");
  });
  auto o = user_options(server.options());
  o.lock_ttl = 0ms;
  o.retry = 20ms;
  o.retry_max = 20ms;
  users c(o);
  (void)c.get_with(1, [] { return std::string("a"); });
  REQUIRE(c.stats().l2_errors == 1);  // the backoff starts
  const std::vector<std::uint64_t> keys{2};
  auto out = c.get_all(keys, [](std::span<const std::uint64_t> ask) {
    std::this_thread::sleep_for(60ms);  // the backoff ends meanwhile
    return std::vector<std::optional<std::string>>(ask.size());
  });
  REQUIRE(out.size() == 1);
  CHECK(out[0] == nullptr);
  CHECK(c.connections().stats().acquired == 1);  // the first get's: nothing to write back
  const auto skipped = c.stats().l2_skipped;
  (void)c.get_with(3, [] { return std::string("c"); });
  CHECK(c.stats().l2_skipped == skipped);  // Redis was asked
  CHECK(server.count("GET") == 2);
  CHECK(c.stats().l2_errors == 1);
}

TEST_CASE("tiered_cache: a probe answered with an error reply does not keep Redis skipped",
          "[redis]") {
  // The write-back after a load is the probe, and Redis refuses it (full: an error reply,
  // which neither ends nor extends the backoff): the next caller asks Redis.
  stand_in_server server([](const std::string& name, int n) {
    if (name == "GET") return std::string(n == 1 ? "+OK\r\n" : "$-1\r\n");  // 1st: wrong type
    if (name == "SET") return std::string("-OOM command not allowed when used memory > 'maxmemory'\r\n");
    return std::string("+OK\r\n");
  });
  auto o = user_options(server.options());
  o.lock_ttl = 0ms;
  o.retry = 20ms;
  o.retry_max = 20ms;
  users c(o);
  (void)c.get_with(1, [] { return std::string("a"); });
  REQUIRE(c.stats().l2_errors == 1);  // the backoff starts
  (void)c.get_with(2, [] {
    std::this_thread::sleep_for(60ms);  // the GET was skipped; the backoff ends meanwhile
    return std::string("b");
  });
  REQUIRE(server.count("SET") == 1);  // the write-back was the probe
  const auto skipped = c.stats().l2_skipped;
  (void)c.get_with(3, [] { return std::string("c"); });
  CHECK(c.stats().l2_skipped == skipped);  // Redis was asked
  CHECK(server.count("GET") == 2);
}

TEST_CASE("tiered_cache: get_all's MGET probe answered with an error reply is over before the batch",
          "[redis]") {
  stand_in_server server([](const std::string& name, int n) {
    if (name == "GET") return std::string(n == 1 ? "+OK\r\n" : "$-1\r\n");  // 1st: wrong type
    if (name == "MGET") return std::string("-LOADING Redis is loading the dataset in memory\r\n");
    return std::string("+OK\r\n");
  });
  auto o = user_options(server.options());
  o.lock_ttl = 0ms;
  o.retry = 20ms;
  o.retry_max = 20ms;
  users c(o);
  (void)c.get_with(1, [] { return std::string("a"); });
  REQUIRE(c.stats().l2_errors == 1);  // the backoff starts
  std::this_thread::sleep_for(40ms);  // and ends
  std::uint64_t skipped_inside = 99;
  const std::vector<std::uint64_t> keys{5};
  (void)c.get_all(keys, [&](std::span<const std::uint64_t> ask) {
    // The MGET was the probe; during the batch (a query) another request asks Redis.
    const auto before = c.stats().l2_skipped;
    (void)c.get_with(6, [] { return std::string("f"); });
    skipped_inside = c.stats().l2_skipped - before;
    return std::vector<std::optional<std::string>>(ask.size());
  });
  CHECK(server.count("MGET") == 1);
  CHECK(skipped_inside == 0);
  CHECK(server.count("GET") == 2);
}
