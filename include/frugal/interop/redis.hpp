// frugal/interop/redis.hpp: a Redis client layer over hiredis, and `tiered_cache`, an
// in-process `frugal::cache` (L1) in front of a Redis shared by every instance of a service
// (L2) in front of the service's own loader (the database).
//
//   frugal::tiered_cache<std::uint64_t, user> users({
//       .redis = {.host = "127.0.0.1", .port = 6379, .key_prefix = "svc:"},
//       .local = {.max_capacity = 10'000, .time_to_live = std::chrono::seconds(30)},
//       .key = [](std::uint64_t id, std::string& out) { frugal::append_decimal(out, id); },
//       .ttl = std::chrono::minutes(5)});
//   auto u = users.get_with(id, [&] { return db.load_user(id); });   // shared_ptr<const user>
//   users.invalidate(id);   // DEL in Redis, PUBLISH: every instance drops its L1 copy
//
// Opt-in: this header includes <hiredis/hiredis.h> and POSIX <poll.h>; link `frugal::redis`
// (frugal + hiredis, found with pkg-config). frugal.hpp never includes it. hiredis 0.14 has no
// TLS: connect over loopback, a unix socket or a private network only.
//
// The client layer, useful alone:
// - `redis_connection`: one hiredis context, RAII, with connect and command timeouts, AUTH,
//   SELECT, a key prefix, reusable key and argument buffers, and commands sent as argument
//   vectors (`redisCommandArgv`), so keys and values are binary-safe and can never inject a
//   command. A timed-out or dropped context is dead: `reconnect()` replaces it.
// - `redis_codec<T>`: values to bytes and back, for std::string, frugal::bytes and trivially
//   copyable types; a user's codec (JSON, protobuf) has the same two static functions.
// - `redis_try_lock` / `redis_unlock`: a short lock (`SET NX PX` with a random token, released
//   by a compare-and-delete script through EVALSHA).
// - `redis_subscriber`: a pub/sub subscription on its own connection and thread.
//
// Failure is a mode, not a crash: in `tiered_cache` a Redis that is down, slow or full only
// skips L2 (the loader answers, `stats().l2_errors` rises, the log hook is told), and is tried
// again after a backoff; nothing there throws a Redis error to the caller.
#pragma once

#include <frugal/bytes.hpp>
#include <frugal/cache.hpp>
#include <frugal/detail/config.hpp>
#include <frugal/pool.hpp>

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

FRUGAL_BEGIN_NAMESPACE

/// Where a Redis server is and how to talk to it. Designated initialisers read best:
/// `{.host = "127.0.0.1", .port = 6379, .command_timeout = 50ms}`.
struct redis_options {
  /// The server's address (an IP address or a name hiredis resolves). Ignored with `unix_socket`.
  std::string host = "127.0.0.1";
  /// The server's TCP port, 1 to 65535. Ignored with `unix_socket`.
  int port = 6379;
  /// A unix socket path; when set, used instead of host and port.
  std::string unix_socket{};
  /// The ACL user for `AUTH user password` (Redis 6+); empty: `AUTH password`.
  std::string username{};
  /// The password; empty: no AUTH.
  std::string password{};
  /// The database for SELECT, at least 0; 0 sends no SELECT.
  int database = 0;
  /// How long connecting may take. Must be positive.
  std::chrono::milliseconds connect_timeout{200};
  /// How long one command (send and reply) may take; zero waits forever. Must not be negative.
  std::chrono::milliseconds command_timeout{100};
  /// Prepended to every key built by `redis_connection::make_key` and to every key and channel
  /// `tiered_cache` uses, so that services sharing one Redis never see each other's keys.
  std::string key_prefix{};
};

/// What went wrong in a `redis_error`.
enum class redis_errc : std::uint8_t {
  io,        ///< connecting, sending or receiving failed (refused, reset, closed by the server)
  timeout,   ///< the connect or command timeout passed
  server,    ///< the server answered with an error reply (its message is in `what()`)
  protocol,  ///< the reply was malformed, or not of the type the call expects
};

/// Thrown by the throwing calls of the Redis client layer. `what()` names the server and,
/// for `redis_errc::server`, carries the server's own message (`ERR ...`, `WRONGPASS ...`).
class redis_error : public std::runtime_error {
 public:
  /// Builds the error. Allocates the message once.
  redis_error(redis_errc code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  /// Returns the kind of failure.
  redis_errc code() const noexcept { return code_; }

 private:
  redis_errc code_;
};

class redis_reply;

/// A non-owning view of one reply (or one element of an array reply). Valid while the
/// `redis_reply` it came from lives. Never allocates, never throws.
class redis_value {
 public:
  /// Views `r` (may be null: then every query answers as for a nil reply).
  explicit redis_value(const redisReply* r = nullptr) noexcept : r_(r) {}
  /// A view of a temporary reply would dangle at the end of the statement: keep the
  /// `redis_reply` (a named one converts to a view).
  redis_value(redis_reply&&) = delete;
  redis_value(const redis_reply&&) = delete;
  redis_value& operator=(redis_reply&&) = delete;
  redis_value& operator=(const redis_reply&&) = delete;
  redis_value(const redis_value&) noexcept = default;
  redis_value& operator=(const redis_value&) noexcept = default;
  /// Returns true for a nil reply (a missing key in GET or MGET) or no reply.
  bool is_nil() const noexcept { return r_ == nullptr || r_->type == REDIS_REPLY_NIL; }
  /// Returns true for a bulk string or a status reply (`OK`).
  bool is_string() const noexcept {
    return r_ != nullptr && (r_->type == REDIS_REPLY_STRING || r_->type == REDIS_REPLY_STATUS);
  }
  /// Returns true for an integer reply.
  bool is_integer() const noexcept { return r_ != nullptr && r_->type == REDIS_REPLY_INTEGER; }
  /// Returns true for an array reply.
  bool is_array() const noexcept { return r_ != nullptr && r_->type == REDIS_REPLY_ARRAY; }
  /// Returns true for an error reply.
  bool is_error() const noexcept { return r_ != nullptr && r_->type == REDIS_REPLY_ERROR; }
  /// Returns the bytes of a string, status or error reply, else an empty view. Binary-safe.
  std::string_view str() const noexcept {
    if (r_ == nullptr || r_->str == nullptr) return {};
    return {r_->str, r_->len};
  }
  /// Returns an integer reply's value, else 0.
  long long integer() const noexcept { return is_integer() ? r_->integer : 0; }
  /// Returns the number of elements of an array reply, else 0.
  std::size_t size() const noexcept { return is_array() ? r_->elements : 0; }
  /// Returns element `i` of an array reply. Precondition (FRUGAL_ASSERT): `i < size()`.
  redis_value operator[](std::size_t i) const noexcept {
    FRUGAL_ASSERT(i < size());
    return redis_value(r_->element[i]);
  }
  /// Returns the hiredis reply viewed (may be null).
  const redisReply* get() const noexcept { return r_; }

 protected:
  const redisReply* r_;
};

/// An owning reply: frees it with `freeReplyObject` when destroyed. Move-only.
class redis_reply : public redis_value {
 public:
  /// Makes an empty (nil) reply. Never allocates.
  redis_reply() noexcept = default;
  /// Takes ownership of `r` (from redisCommand or redisGetReply).
  explicit redis_reply(redisReply* r) noexcept : redis_value(r) {}
  /// Takes `other`'s reply; `other` becomes nil.
  redis_reply(redis_reply&& other) noexcept : redis_value(std::exchange(other.r_, nullptr)) {}
  /// Frees this reply, then takes `other`'s.
  redis_reply& operator=(redis_reply&& other) noexcept {
    if (this != &other) {
      free();
      r_ = std::exchange(other.r_, nullptr);
    }
    return *this;
  }
  redis_reply(const redis_reply&) = delete;
  redis_reply& operator=(const redis_reply&) = delete;
  /// Frees the reply.
  ~redis_reply() { free(); }

  /// As `redis_value::str()`: the view lives as long as this reply (clang's -Wdangling says
  /// so of a view kept from a temporary reply).
  std::string_view str() const noexcept FRUGAL_LIFETIMEBOUND { return redis_value::str(); }
  /// As `redis_value::operator[]`: the element lives as long as this reply.
  redis_value operator[](std::size_t i) const noexcept FRUGAL_LIFETIMEBOUND {
    return redis_value::operator[](i);
  }

 private:
  void free() noexcept {
    if (r_ != nullptr) freeReplyObject(const_cast<redisReply*>(r_));
  }
};

namespace detail::redis {

inline timeval to_timeval(std::chrono::milliseconds ms) noexcept {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

inline std::string where(const redis_options& o) {
  if (!o.unix_socket.empty()) return "redis " + o.unix_socket;
  return "redis " + o.host + ":" + std::to_string(o.port);
}

// The time `d` from now on the steady clock, at most 100 years ahead (no wait is longer in
// practice, and a longer `d` overflows the clock's nanoseconds).
inline std::chrono::steady_clock::time_point later(std::chrono::milliseconds d) noexcept {
  constexpr std::chrono::milliseconds most = std::chrono::hours(24 * 365 * 100);
  return std::chrono::steady_clock::now() + std::clamp(d, std::chrono::milliseconds(0), most);
}

[[noreturn]] FRUGAL_COLD inline void throw_invalid(const std::string& message) {
  FRUGAL_THROW(std::invalid_argument(message));
}

// Appends the decimal digits of `v`. Never allocates beyond `out`'s growth.
template <class I>
void append_int(std::string& out, I v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace detail::redis

/// Appends the decimal text of integer `v` to `out` (a key function's helper: `user:42`).
/// Allocates only when `out` grows. O(digits).
template <std::integral I>
void append_decimal(std::string& out, I v) {
  detail::redis::append_int(out, v);
}

/// Checks `o`: throws std::invalid_argument naming the value for a port outside 1-65535 (without
/// a unix socket), a negative database, a connect timeout that is not positive or a negative
/// command timeout.
inline void validate(const redis_options& o) {
  using detail::redis::throw_invalid;
  if (o.unix_socket.empty() && (o.port < 1 || o.port > 65535)) {
    throw_invalid("redis_options: port must be 1 to 65535, got " + std::to_string(o.port));
  }
  if (o.database < 0) {
    throw_invalid("redis_options: database must be at least 0, got " + std::to_string(o.database));
  }
  if (o.connect_timeout.count() <= 0) {
    throw_invalid("redis_options: connect_timeout must be positive, got " +
                  std::to_string(o.connect_timeout.count()) + " ms");
  }
  if (o.command_timeout.count() < 0) {
    throw_invalid("redis_options: command_timeout must not be negative, got " +
                  std::to_string(o.command_timeout.count()) + " ms");
  }
}

/// One connection to Redis: a hiredis context, blocking, with the options' timeouts. Move-only.
/// Not thread-safe: one thread uses it at a time (a `frugal::pool` lends it out).
///
/// Two styles of call: the throwing ones (`command`, `read_reply`, the constructor) throw
/// `redis_error`; the `try_` ones return an empty optional or false and leave the reason in
/// `error()` and `error_code()`, and never throw a Redis error (tiered_cache uses those, so it
/// works in builds without exceptions). After an I/O error or a timeout the connection is
/// `broken()` (hiredis cannot resume a half-read reply) until `reconnect()`.
class redis_connection {
 public:
  /// Connects (TCP or unix socket) within `connect_timeout`, sets the command timeout, sends
  /// AUTH and SELECT when configured. Allocates the context and the options' copy. Throws
  /// std::invalid_argument for bad options (see `validate`), and redis_error naming the server
  /// when it cannot connect (io, timeout) or AUTH/SELECT fail (server, with its message).
  explicit redis_connection(redis_options options) : options_(std::move(options)) {
    validate(options_);
    if (!try_reconnect()) throw_error();
  }

  /// Returns a connection that is connected, or broken with the reason in `error()`; never
  /// throws a Redis error (std::invalid_argument for bad options, std::bad_alloc).
  static redis_connection open(redis_options options) {
    validate(options);
    redis_connection c(std::move(options), nullptr);
    c.try_reconnect();
    return c;
  }

  /// Takes `other`'s context; `other` is left broken.
  redis_connection(redis_connection&& other) noexcept
      : options_(std::move(other.options_)),
        ctx_(std::exchange(other.ctx_, nullptr)),
        error_(std::move(other.error_)),
        code_(other.code_),
        key_(std::move(other.key_)),
        scratch_(std::move(other.scratch_)),
        argv_(std::move(other.argv_)),
        lens_(std::move(other.lens_)) {}
  /// Closes this connection, then takes `other`'s.
  redis_connection& operator=(redis_connection&& other) noexcept {
    if (this != &other) {
      close();
      options_ = std::move(other.options_);
      ctx_ = std::exchange(other.ctx_, nullptr);
      error_ = std::move(other.error_);
      code_ = other.code_;
      key_ = std::move(other.key_);
      scratch_ = std::move(other.scratch_);
      argv_ = std::move(other.argv_);
      lens_ = std::move(other.lens_);
    }
    return *this;
  }
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;
  /// Closes the socket and frees the context.
  ~redis_connection() { close(); }

  /// Returns true when the connection cannot be used until `reconnect()`: it never connected,
  /// or an I/O error or timeout broke it.
  bool broken() const noexcept { return ctx_ == nullptr || ctx_->err != 0; }
  /// Returns true when the connection is not broken and its socket, looked at without waiting
  /// (one non-blocking peek, no round trip), has not been closed or reset by the other end
  /// and holds nothing unread. False for a connection the server (its `timeout`, `CLIENT
  /// KILL`, a restart) or a proxy closed while it sat idle; a connection whose peer vanished
  /// without closing it (a dropped route, a paused server) still looks alive. Meant for an
  /// idle connection, between commands. Never allocates, never throws.
  bool alive() const noexcept {
    if (broken()) return false;
    if (ctx_->reader != nullptr && ctx_->reader->pos < ctx_->reader->len) return false;
    char b = 0;
    for (;;) {
      const ssize_t n = ::recv(ctx_->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n >= 0) return false;  // end of stream, or bytes nobody asked for
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }
  /// Returns the last failure's message ("" if none), naming the server.
  const std::string& error() const noexcept { return error_; }
  /// Returns the last failure's kind (meaningful when `error()` is not empty).
  redis_errc error_code() const noexcept { return code_; }
  /// Returns the options it was made with.
  const redis_options& options() const noexcept { return options_; }
  /// Returns the socket's file descriptor, or -1 when not connected.
  int fd() const noexcept { return ctx_ == nullptr ? -1 : ctx_->fd; }
  /// Returns the hiredis context (null when never connected), for calls this class lacks.
  redisContext* native() const noexcept { return ctx_; }

  /// Replaces the context by a new connection (AUTH and SELECT again). Throws redis_error as
  /// the constructor does; the connection is then broken.
  void reconnect() {
    if (!try_reconnect()) throw_error();
  }

  /// Replaces the context by a new connection; returns false (reason in `error()`) when it
  /// fails. Allocates the context. Waits at most connect_timeout plus a command timeout per
  /// AUTH/SELECT.
  bool try_reconnect() {
    close();
    error_.clear();
    const timeval tv = detail::redis::to_timeval(options_.connect_timeout);
    ctx_ = options_.unix_socket.empty()
               ? redisConnectWithTimeout(options_.host.c_str(), options_.port, tv)
               : redisConnectUnixWithTimeout(options_.unix_socket.c_str(), tv);
    if (ctx_ == nullptr) FRUGAL_THROW(std::bad_alloc());
    if (ctx_->err != 0) return abandon_io("cannot connect");
    if (options_.command_timeout.count() > 0 &&
        redisSetTimeout(ctx_, detail::redis::to_timeval(options_.command_timeout)) != REDIS_OK) {
      return abandon_io("cannot set the command timeout");
    }
    if (!options_.password.empty()) {
      std::optional<redis_reply> r =
          options_.username.empty()
              ? try_command({std::string_view("AUTH"), std::string_view(options_.password)})
              : try_command({std::string_view("AUTH"), std::string_view(options_.username),
                             std::string_view(options_.password)});
      if (!r) return abandon("AUTH");
    }
    if (options_.database != 0) {
      std::string db;
      detail::redis::append_int(db, options_.database);
      if (!try_command({std::string_view("SELECT"), std::string_view(db)}))
        return abandon("SELECT");
    }
    return true;
  }

  /// Sets the command timeout of this connection (zero: wait forever); returns false when the
  /// socket refuses it. Never allocates.
  bool set_command_timeout(std::chrono::milliseconds timeout) noexcept {
    if (ctx_ == nullptr) return false;
    return redisSetTimeout(ctx_, detail::redis::to_timeval(timeout)) == REDIS_OK;
  }

  /// Fills the connection's reusable key buffer with the key prefix, then whatever
  /// `write(std::string&)` appends, and returns a view of it, valid until the next call.
  /// Allocates only while the buffer grows to the longest key. Throws what `write` throws.
  template <class Write>
  std::string_view make_key(Write&& write) FRUGAL_LIFETIMEBOUND {
    key_.assign(options_.key_prefix);
    std::forward<Write>(write)(key_);
    return key_;
  }

  /// Returns a second reusable buffer, for encoding a value beside the key of `make_key`.
  /// It keeps its capacity between commands; the connection itself never touches it.
  std::string& scratch() noexcept { return scratch_; }

  /// Sends one command (each argument sent as is: binary-safe, never parsed) and returns its
  /// reply. One round trip. Allocates the reply (hiredis) and, beyond 8 arguments, grows the
  /// reusable argument arrays. Throws redis_error: io or timeout (the connection is then
  /// broken), server for an error reply (with the server's message), and for a broken
  /// connection; std::invalid_argument for an empty `args` (no command name).
  redis_reply command(std::span<const std::string_view> args) {
    std::optional<redis_reply> r = try_command(args);
    if (!r) throw_error();
    return std::move(*r);
  }
  /// Sends one command given as a list: `c.command({"GET", key})`. See the span overload.
  redis_reply command(std::initializer_list<std::string_view> args) {
    return command(std::span<const std::string_view>(args.begin(), args.size()));
  }

  /// Sends one command and returns its reply, or std::nullopt with the reason in `error()`:
  /// a server error reply (the connection stays usable), an I/O error or a timeout (it is then
  /// broken), or a broken connection. Never throws a Redis error; throws
  /// std::invalid_argument for an empty `args` (no command name).
  std::optional<redis_reply> try_command(std::span<const std::string_view> args) {
    if (!try_append(args)) return std::nullopt;
    return try_read_reply();
  }
  /// As the span overload.
  std::optional<redis_reply> try_command(std::initializer_list<std::string_view> args) {
    return try_command(std::span<const std::string_view>(args.begin(), args.size()));
  }

  /// Queues one command in the output buffer without sending it (pipelining): the next read
  /// sends every queued command at once, then each reply is read in order with `read_reply`.
  /// Returns false (reason in `error()`) for a broken connection. Never throws a Redis error;
  /// throws std::invalid_argument for an empty `args` (Redis would never answer it).
  bool try_append(std::span<const std::string_view> args) {
    // Redis ignores an empty command without a reply: the read would wait for ever.
    if (args.empty()) FRUGAL_THROW(std::invalid_argument("redis: a command needs at least its name"));
    if (broken()) return fail_broken();
    error_.clear();
    argv_.clear();
    lens_.clear();
    for (std::string_view a : args) {
      argv_.push_back(a.data() == nullptr ? "" : a.data());
      lens_.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv_.data(), lens_.data()) !=
        REDIS_OK) {
      return fail_io("cannot queue a command");
    }
    return true;
  }
  /// As the span overload.
  bool try_append(std::initializer_list<std::string_view> args) {
    return try_append(std::span<const std::string_view>(args.begin(), args.size()));
  }
  /// Queues one command (see `try_append`); throws redis_error for a broken connection.
  void append(std::span<const std::string_view> args) {
    if (!try_append(args)) throw_error();
  }
  /// As the span overload.
  void append(std::initializer_list<std::string_view> args) {
    append(std::span<const std::string_view>(args.begin(), args.size()));
  }

  /// Sends what is queued and reads the next reply, waiting up to the command timeout;
  /// std::nullopt with the reason in `error()` for an error reply, an I/O error or a timeout
  /// (then broken). Never throws a Redis error.
  std::optional<redis_reply> try_read_reply() {
    if (broken()) {
      fail_broken();
      return std::nullopt;
    }
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      fail_io("no reply");
      return std::nullopt;
    }
    redis_reply r(static_cast<redisReply*>(raw));
    if (r.is_error()) {
      code_ = redis_errc::server;
      error_ = detail::redis::where(options_) + ": " + std::string(r.str());
      return std::nullopt;
    }
    return r;
  }
  /// Reads the next reply (see `try_read_reply`); throws redis_error instead of std::nullopt.
  redis_reply read_reply() {
    std::optional<redis_reply> r = try_read_reply();
    if (!r) throw_error();
    return std::move(*r);
  }

 private:
  redis_connection(redis_options options, std::nullptr_t) noexcept : options_(std::move(options)) {}

  void close() noexcept {
    if (ctx_ != nullptr) redisFree(ctx_);
    ctx_ = nullptr;
  }

  FRUGAL_COLD bool fail_io(const char* what) {
    const int saved = errno;
    const bool timed_out =
        ctx_ != nullptr && ctx_->err == REDIS_ERR_IO &&
        (saved == EAGAIN || saved == EWOULDBLOCK || saved == EINPROGRESS || saved == ETIMEDOUT);
    code_ = timed_out                                              ? redis_errc::timeout
            : (ctx_ != nullptr && ctx_->err == REDIS_ERR_PROTOCOL) ? redis_errc::protocol
                                                                   : redis_errc::io;
    error_ =
        detail::redis::where(options_) + ": " + what + ": " +
        (timed_out ? std::string("timed out")
                   : std::string(ctx_ != nullptr && ctx_->errstr[0] != '\0' ? ctx_->errstr
                                                                            : "unknown error"));
    if (ctx_ != nullptr && ctx_->err == 0) ctx_->err = REDIS_ERR_OTHER;  // now unusable
    return false;
  }
  FRUGAL_COLD bool fail_broken() {
    if (error_.empty()) {
      code_ = redis_errc::io;
      error_ = detail::redis::where(options_) + ": the connection is broken: reconnect first";
    }
    return false;
  }
  FRUGAL_COLD bool abandon_io(const char* what) {
    fail_io(what);
    close();
    return false;
  }
  // A server error during AUTH or SELECT: the connection is closed, the message kept.
  FRUGAL_COLD bool abandon(const char* step) {
    error_ = error_.empty() ? std::string(step) + " failed" : error_ + " (" + step + ")";
    close();
    return false;
  }
  [[noreturn]] FRUGAL_COLD void throw_error() const { FRUGAL_THROW(redis_error(code_, error_)); }

  redis_options options_;
  redisContext* ctx_ = nullptr;
  std::string error_;
  redis_errc code_ = redis_errc::io;
  std::string key_;
  std::string scratch_;
  std::vector<const char*> argv_;
  std::vector<std::size_t> lens_;
};

/// Turns values into bytes for Redis and back. Specialised for std::string, frugal::bytes and
/// trivially copyable types; specialise it (or pass a codec type to `tiered_cache`) for others:
/// `static void encode(const T&, std::string& out)` appends the bytes of a value, and
/// `static std::optional<T> decode(std::string_view)` returns std::nullopt for bytes it cannot
/// read (tiered_cache then treats them as a miss and overwrites them).
template <class T>
struct redis_codec;

/// The codec of std::string: the bytes as they are. Encode allocates only when `out` grows;
/// decode allocates the string (none for up to 15 bytes).
template <>
struct redis_codec<std::string> {
  /// Appends `v`.
  static void encode(const std::string& v, std::string& out) { out.append(v); }
  /// Returns a copy of `data`.
  static std::optional<std::string> decode(std::string_view data) { return std::string(data); }
};

/// The codec of frugal::bytes: the bytes as they are. Decode allocates one shared buffer
/// (none when empty).
template <>
struct redis_codec<bytes> {
  /// Appends the bytes of `v`.
  static void encode(const bytes& v, std::string& out) { out.append(v.as_string_view()); }
  /// Returns a copy of `data` in a shared buffer.
  static std::optional<bytes> decode(std::string_view data) { return bytes::copy_from(data); }
};

namespace detail::redis {
// An enumeration whose every value of the underlying type is a value of its own (a fixed
// underlying type: scoped, or `enum E : int`), which list-initialisation from it shows.
template <class T>
concept enum_with_fixed_type = std::is_enum_v<T> && requires { T{std::underlying_type_t<T>{}}; };
}  // namespace detail::redis

/// The codec of trivially copyable types (integers, doubles, plain structs): their object
/// representation, in the machine's byte order, so every instance sharing the Redis must have
/// the same architecture and the same definition of T. Decode returns std::nullopt unless the
/// data is exactly sizeof(T) bytes (and, for `bool`, unless it is 0 or 1). The bytes are
/// trusted otherwise: a struct with members that not every bit pattern suits (a `bool`, an
/// enumeration without a fixed type) needs a codec of its own that checks them; an enumeration
/// without a fixed type has no built-in codec. Never allocates beyond `out`'s growth.
template <class T>
requires(std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && !std::is_empty_v<T> &&
         (!std::is_enum_v<T> || detail::redis::enum_with_fixed_type<T>)) struct redis_codec<T> {
  /// Appends the sizeof(T) bytes of `v`.
  static void encode(const T& v, std::string& out) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  /// Returns the value whose bytes are `data`, or std::nullopt when the size differs (or, for
  /// `bool`, the byte is neither 0 nor 1).
  static std::optional<T> decode(std::string_view data) noexcept {
    if (data.size() != sizeof(T)) return std::nullopt;
    if constexpr (std::is_same_v<std::remove_cv_t<T>, bool>) {
      if (static_cast<unsigned char>(data[0]) > 1) return std::nullopt;
    }
    std::array<char, sizeof(T)> raw;
    std::memcpy(raw.data(), data.data(), sizeof(T));
    return std::bit_cast<T>(raw);
  }
};

/// A codec for values of type T (see `redis_codec`).
template <class C, class T>
concept redis_codec_for = requires(const T& v, std::string& out, std::string_view data) {
  C::encode(v, out);
  { C::decode(data) } -> std::convertible_to<std::optional<T>>;
};

/// A lock's token: 32 random hex digits, kept inline (no allocation).
struct redis_lock_token {
  /// The token's text.
  std::array<char, 32> text{};
  /// Returns the token as text.
  std::string_view view() const noexcept FRUGAL_LIFETIMEBOUND {
    return {text.data(), text.size()};
  }
};

/// The compare-and-delete script that releases a lock, and its SHA-1 (for EVALSHA).
inline constexpr std::string_view redis_unlock_script =
    "if redis.call(\"get\", KEYS[1]) == ARGV[1] then return redis.call(\"del\", KEYS[1]) "
    "else return 0 end";
/// The SHA-1 of `redis_unlock_script`, as SCRIPT LOAD returns it.
inline constexpr std::string_view redis_unlock_script_sha =
    "cf0e94b2e9ffc7e04395cf88f7583fc309985910";

namespace detail::redis {

// Reseeded from the system's entropy in a new process: a child of fork() inherits the
// generator's state, and would draw the parent's next tokens (and could release its locks).
inline redis_lock_token make_token() {
  const auto seeded = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  };
  thread_local std::mt19937_64 rng = seeded();
  thread_local ::pid_t seeded_in = ::getpid();
  if (const ::pid_t now = ::getpid(); now != seeded_in) {
    rng = seeded();
    seeded_in = now;
  }
  static constexpr char hex[] = "0123456789abcdef";
  redis_lock_token t;
  for (std::size_t i = 0; i < t.text.size(); i += 16) {
    std::uint64_t v = rng();
    for (std::size_t j = 0; j < 16; ++j, v >>= 4) t.text[i + j] = hex[v & 15];
  }
  return t;
}

}  // namespace detail::redis

/// Tries to take the lock `key` for `ttl` (`SET key token NX PX ttl`): returns its token, or
/// std::nullopt when another holder has it or Redis failed (then `c.error()` is not empty).
/// One round trip; allocates the reply. Never throws a Redis error; throws
/// std::invalid_argument when `ttl` is not positive.
inline std::optional<redis_lock_token> redis_try_lock(redis_connection& c, std::string_view key,
                                                      std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) {
    detail::redis::throw_invalid("redis_try_lock: ttl must be positive, got " +
                                 std::to_string(ttl.count()) + " ms");
  }
  redis_lock_token token = detail::redis::make_token();
  char px[24];
  const auto end = std::to_chars(px, px + sizeof px, ttl.count()).ptr;
  std::optional<redis_reply> r = c.try_command(
      {std::string_view("SET"), key, token.view(), std::string_view("NX"), std::string_view("PX"),
       std::string_view(px, static_cast<std::size_t>(end - px))});
  if (!r || r->is_nil()) return std::nullopt;
  return token;
}

namespace detail::redis {
// redis_unlock, adding its round trips (1, or 2 when the server lacked the script) to `trips`.
inline bool unlock(redis_connection& c, std::string_view key, const redis_lock_token& token,
                   std::uint64_t& trips) {
  ++trips;
  std::optional<redis_reply> r =
      c.try_command({std::string_view("EVALSHA"), redis_unlock_script_sha, std::string_view("1"),
                     key, token.view()});
  if (!r && !c.broken() && c.error().find("NOSCRIPT") != std::string::npos) {
    ++trips;
    r = c.try_command(
        {std::string_view("EVAL"), redis_unlock_script, std::string_view("1"), key, token.view()});
  }
  return r && r->integer() == 1;
}
}  // namespace detail::redis

/// Releases the lock `key` if it still holds `token` (a lock that expired and was taken by
/// another holder is left alone), with the compare-and-delete script: EVALSHA, and EVAL once
/// when the server does not know the script yet. Returns true when it deleted the lock. One
/// round trip (two the first time on a server). Never throws a Redis error.
inline bool redis_unlock(redis_connection& c, std::string_view key, const redis_lock_token& token) {
  std::uint64_t trips = 0;
  return detail::redis::unlock(c, key, token, trips);
}

/// A subscription to one pub/sub channel on a connection and thread of its own. The thread
/// waits on the socket with `poll` (no read timeout: a quiet channel is not an error), reads
/// with `redisBufferRead`, and calls `on_message(payload)` for each message (those that came
/// in one read with the SUBSCRIBE reply too). When the
/// connection drops it reconnects with backoff (50 ms doubling to 2 s) and, once subscribed
/// again, calls `on_subscribed()` (pub/sub drops what was published meanwhile, so a cache
/// flushes there); it calls it after the first subscription too. Callbacks run on the
/// subscriber's thread and must not throw; where exceptions are on, one that escapes a callback
/// is caught and logged and the subscription goes on (a throwing `on_message` loses that
/// message only, a throwing `on_subscribed` leaves its flush undone). The destructor stops and
/// joins the thread within about 50 ms while it listens;
/// while it connects or subscribes, within the connect timeout plus one command timeout (the
/// subscription waits at most 1 s for its answer when `command_timeout` is 0, "none").
class redis_subscriber {
 public:
  /// Starts the thread; it connects in the background (see `wait_subscribed`). Allocates the
  /// shared state and the thread. Throws std::invalid_argument for bad options or an empty
  /// channel, std::system_error when the thread cannot start.
  redis_subscriber(redis_options options, std::string channel,
                   std::function<void(std::string_view)> on_message,
                   std::function<void()> on_subscribed = {},
                   std::function<void(std::string_view)> log = {})
      : options_(std::move(options)),
        channel_(std::move(channel)),
        on_message_(std::move(on_message)),
        on_subscribed_(std::move(on_subscribed)),
        log_(std::move(log)) {
    validate(options_);
    if (channel_.empty()) detail::redis::throw_invalid("redis_subscriber: the channel is empty");
    // The SUBSCRIBE must not wait for ever (the destructor joins this thread): no timeout
    // ("0") becomes 1 s for it; listening then polls with no timeout of its own.
    subscribe_options_ = options_;
    if (subscribe_options_.command_timeout.count() == 0) {
      subscribe_options_.command_timeout = std::chrono::seconds(1);
    }
    thread_ = std::thread([this] { run(); });
  }
  redis_subscriber(const redis_subscriber&) = delete;
  redis_subscriber& operator=(const redis_subscriber&) = delete;
  /// Stops the thread and closes its connection.
  ~redis_subscriber() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }

  /// Returns true while subscribed.
  bool subscribed() const noexcept { return subscribed_.load(std::memory_order_acquire); }
  /// Returns how many times it has subscribed (1 after the first success, +1 per reconnect).
  std::uint64_t subscriptions() const noexcept {
    return subscriptions_.load(std::memory_order_acquire);
  }
  /// Waits until it has subscribed at least `n` times or `timeout` passes; returns whether it
  /// has. Never allocates.
  bool wait_subscribed(std::chrono::milliseconds timeout, std::uint64_t n = 1) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return subscriptions() >= n && subscribed(); });
  }

 private:
  void log(std::string_view message) noexcept {
    if (!log_) return;
#if FRUGAL_HAS_EXCEPTIONS
    try {
      log_(message);
    } catch (...) {
    }
#else
    log_(message);
#endif
  }

  template <class F>
  void guarded(F&& f) noexcept {
#if FRUGAL_HAS_EXCEPTIONS
    try {
      f();
    } catch (const std::exception& e) {
      log(e.what());
    } catch (...) {
      log("redis_subscriber: a callback threw");
    }
#else
    f();
#endif
  }

  // Sleeps up to `d`, waking every 10 ms to notice a stop.
  bool nap(std::chrono::milliseconds d) const {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop_.load(std::memory_order_relaxed)) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return true;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - now, std::chrono::milliseconds(10)));
    }
    return false;
  }

  void set_subscribed(bool on) {
    {
      std::lock_guard lock(mutex_);
      subscribed_.store(on, std::memory_order_release);
      if (on) subscriptions_.fetch_add(1, std::memory_order_acq_rel);
    }
    cv_.notify_all();
  }

  void run() noexcept {
    std::chrono::milliseconds backoff{50};
    const char* lost = nullptr;
    while (!stop_.load(std::memory_order_relaxed)) {
      guarded([&] {
        redis_connection c = redis_connection::open(subscribe_options_);
        if (!c.broken() &&
            c.try_command({std::string_view("SUBSCRIBE"), std::string_view(channel_)}) &&
            c.set_command_timeout(std::chrono::milliseconds(0))) {
          backoff = std::chrono::milliseconds(50);
          if (on_subscribed_) guarded([&] { on_subscribed_(); });
          set_subscribed(true);
          lost = listen(c);
          set_subscribed(false);
        }
        if (!stop_.load(std::memory_order_relaxed)) {
          // The connection's own error when opening or subscribing failed; why listening
          // stopped otherwise (never an empty message).
          std::string_view why = lost != nullptr ? std::string_view(lost) : c.error();
          if (why.empty()) why = "the subscriber's connection was lost";
          log(why);
        }
        lost = nullptr;
      });
      nap(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }

  // Listens until asked to stop (returns nullptr) or the connection fails: returns why.
  const char* listen(redis_connection& c) {
    redisContext* ctx = c.native();
    const auto reason = [ctx](const char* otherwise) {
      return ctx->err != 0 && ctx->errstr[0] != '\0' ? static_cast<const char*>(ctx->errstr)
                                                      : otherwise;
    };
    while (!stop_.load(std::memory_order_relaxed)) {
      // What the reader holds first: the read that took the SUBSCRIBE reply may have taken
      // messages sent right behind it, which the socket will not announce again.
      for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) {
          return reason("subscriber: a reply could not be read");
        }
        if (raw == nullptr) break;
        redis_reply r(static_cast<redisReply*>(raw));
        if (r.size() == 3 && r[0].str() == "message") guarded([&] { on_message_(r[2].str()); });
      }
      pollfd p{c.fd(), POLLIN, 0};
      const int ready = ::poll(&p, 1, 50);
      if (ready < 0 && errno != EINTR) return "subscriber: poll failed";
      if (ready > 0 && redisBufferRead(ctx) != REDIS_OK) {  // closed or reset: reconnect
        return reason("subscriber: the server closed the connection");
      }
    }
    return nullptr;
  }

  redis_options options_;
  redis_options subscribe_options_;  // options_ with a bounded command timeout
  std::string channel_;
  std::function<void(std::string_view)> on_message_;
  std::function<void()> on_subscribed_;
  std::function<void(std::string_view)> log_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::atomic<std::uint64_t> subscriptions_{0};
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::thread thread_;
};

/// How a `tiered_cache` reaches Redis, builds keys and fills its L1. `key` is required.
template <class K, class V>
struct tiered_cache_options {
  /// The Redis server (and key prefix, applied to keys, lock keys and the channel).
  redis_options redis{};
  /// The in-process cache (L1). Its `time_to_live` bounds how long a copy can outlive an
  /// invalidation that did not reach this instance; 0 `max_capacity` turns L1 off.
  cache_options<K, V> local{};
  /// Appends the Redis key of a K (after the prefix) to the buffer: `user:42`. Called on every
  /// L1 miss with a reusable buffer: write into it, allocate nothing. Must not throw.
  std::function<void(const K&, std::string&)> key{};
  /// How long a value lives in Redis (`SET ... EX`), in whole seconds, at least 1 s.
  std::chrono::seconds ttl{300};
  /// The invalidation channel (after the prefix); empty: no subscription and no PUBLISH.
  std::string channel = "frugal:invalidate";
  /// How long the stampede lock lives: the longest load it keeps other instances waiting
  /// for. Zero: no lock (every instance that misses loads).
  std::chrono::milliseconds lock_ttl{2000};
  /// The first pause between polls of a waiter (doubled up to `lock_poll_max`).
  std::chrono::milliseconds lock_poll{2};
  /// The longest pause between polls.
  std::chrono::milliseconds lock_poll_max{50};
  /// The most Redis connections (a frugal::pool), at least 1.
  std::size_t connections = 8;
  /// How long L2 is skipped after a failure, doubled per failure in a row up to `retry_max`.
  std::chrono::milliseconds retry{50};
  /// The longest pause before Redis is tried again.
  std::chrono::milliseconds retry_max{2000};
  /// Is told of each Redis failure (the server, the command, the message); must not throw.
  /// Called on the thread that met it (the subscriber's for pub/sub).
  std::function<void(std::string_view)> log{};
};

/// What a tiered_cache has counted (each a relaxed atomic read; L1 counts are `local().stats()`).
struct tiered_cache_stats {
  std::uint64_t l2_hits = 0;         ///< values found in Redis
  std::uint64_t l2_misses = 0;       ///< keys Redis did not have (or held undecodable bytes)
  std::uint64_t l2_errors = 0;       ///< Redis failures (down, timeout, error reply); L2 skipped
  std::uint64_t l2_skipped = 0;      ///< lookups that did not try Redis: it failed recently
  std::uint64_t decode_errors = 0;   ///< Redis values the codec rejected (overwritten)
  std::uint64_t loads = 0;           ///< loader calls, and keys given to batch loaders
  std::uint64_t lock_waits = 0;      ///< misses that waited for another instance's load
  std::uint64_t lock_wait_hits = 0;  ///< waits that ended with the other instance's value
  std::uint64_t round_trips = 0;     ///< Redis round trips (a pipeline counts once)
  std::uint64_t invalidations_received = 0;  ///< pub/sub messages that dropped an L1 entry
  std::uint64_t l1_flushes = 0;              ///< L1 flushed on (re)subscribing
};

namespace detail::redis {

struct counters {
  std::atomic<std::uint64_t> l2_hits{0}, l2_misses{0}, l2_errors{0}, l2_skipped{0},
      decode_errors{0}, loads{0}, lock_waits{0}, lock_wait_hits{0}, round_trips{0},
      invalidations_received{0}, l1_flushes{0};
};

inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace detail::redis

/// A two-level cache: `frugal::cache` in this process (L1), a Redis shared by every instance
/// (L2), and the caller's loader. See the file comment and docs/redis.md for the consistency
/// it gives. Thread-safe. Neither copyable nor movable (its subscriber's thread points at it).
template <class K, class V, class Codec = redis_codec<V>, class KeyCodec = redis_codec<K>>
requires redis_codec_for<Codec, V>
class tiered_cache {
 public:
  using value_ptr = std::shared_ptr<const V>;
  using options_type = tiered_cache_options<K, V>;
  using lease = pool_lease<redis_connection>;

  /// Builds the L1, the connection pool (no connection is opened yet) and, with a channel,
  /// the subscriber, which connects in the background (`wait_subscribed`). Throws
  /// std::invalid_argument naming the value for bad Redis options, an empty key function,
  /// a ttl below 1 s or above 2^52 s, a negative lock_ttl or one above 2^52 ms, a poll pause
  /// or retry that is not positive, or 0
  /// connections; and what building the L1 throws.
  explicit tiered_cache(options_type options)
      : options_(std::move(options)),
        l1_(options_.local),
        pool_([this] { return redis_connection::open(options_.redis); },
              pool_options{.max_size = checked_connections(options_.connections),
                           .acquire_timeout = options_.redis.connect_timeout},
              // An idle connection the server or a proxy closed (Redis's `timeout`, a
              // restart) is replaced before a command fails on it.
              pool_checks<redis_connection>{
                  .validate = [](redis_connection& c) { return c.alive(); }, .reusable = {}}) {
    using detail::redis::throw_invalid;
    validate(options_.redis);
    if (!options_.key) throw_invalid("tiered_cache: the key function is empty");
    if (options_.ttl.count() < 1) {
      throw_invalid("tiered_cache: ttl must be at least 1 s, got " +
                    std::to_string(options_.ttl.count()) + " s");
    }
    // Redis refuses an expiry whose milliseconds from now overflow 64 bits ("invalid expire
    // time"): every SET would then fail. 2^52 s (about 140 million years) is far inside.
    if (options_.ttl.count() > (std::int64_t{1} << 52)) {
      throw_invalid("tiered_cache: ttl must be at most 2^52 s (Redis refuses longer), got " +
                    std::to_string(options_.ttl.count()) + " s");
    }
    if (options_.lock_ttl.count() > (std::int64_t{1} << 52)) {
      throw_invalid("tiered_cache: lock_ttl must be at most 2^52 ms (Redis refuses longer), got " +
                    std::to_string(options_.lock_ttl.count()) + " ms");
    }
    if (options_.lock_ttl.count() < 0 || options_.lock_poll.count() <= 0 ||
        options_.lock_poll_max < options_.lock_poll) {
      throw_invalid("tiered_cache: lock_ttl " + std::to_string(options_.lock_ttl.count()) +
                    " ms, lock_poll " + std::to_string(options_.lock_poll.count()) +
                    " ms, lock_poll_max " + std::to_string(options_.lock_poll_max.count()) +
                    " ms: need lock_ttl >= 0 and 0 < lock_poll <= lock_poll_max");
    }
    if (options_.retry.count() <= 0 || options_.retry_max < options_.retry) {
      throw_invalid("tiered_cache: retry " + std::to_string(options_.retry.count()) +
                    " ms, retry_max " + std::to_string(options_.retry_max.count()) +
                    " ms: need 0 < retry <= retry_max");
    }
    ttl_text_.clear();
    detail::redis::append_int(ttl_text_, options_.ttl.count());
    {
      using std::chrono::milliseconds;
      const milliseconds hour = std::chrono::hours(1);  // a probe blocks others this long at most
      const milliseconds connect = std::min(options_.redis.connect_timeout, hour);
      const milliseconds command = std::min(options_.redis.command_timeout, hour);
      probe_span_ = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        2 * connect + command).count();
    }
    if (!options_.channel.empty()) {
      channel_ = options_.redis.key_prefix + options_.channel;
      subscriber_ = std::make_unique<redis_subscriber>(
          options_.redis, channel_, [this](std::string_view payload) { on_message(payload); },
          [this] {
            l1_.invalidate_all();
            detail::redis::bump(n_.l1_flushes);
          },
          options_.log);
    }
  }
  tiered_cache(const tiered_cache&) = delete;
  tiered_cache& operator=(const tiered_cache&) = delete;
  /// Stops the subscriber, closes the connections and drops L1 (values held by callers live on).
  ~tiered_cache() { subscriber_.reset(); }

  /// Returns `key`'s value: from L1; else from Redis (`GET`, one round trip), stored in L1;
  /// else from `loader()` (returning V), written to Redis (`SET key value EX ttl`) and L1.
  /// Callers in this process that miss the same key wait for one load (L1 coalescing); callers
  /// in other instances wait on the stampede lock (see docs/redis.md), so the loader runs once
  /// across instances while a load is shorter than `lock_ttl`. An L1 hit allocates nothing and
  /// never touches Redis. Redis failures never reach the caller: the loader answers. Throws
  /// what the loader throws (nothing is cached; the lock is released) and std::bad_alloc.
  template <class Loader>
  requires std::convertible_to<std::invoke_result_t<Loader&>, V> value_ptr get_with(const K& key,
                                                                                    Loader loader) {
    if (value_ptr hit = l1_.get(key)) return hit;
    return l1_.get_with(key, [&]() -> V { return load_one(key, loader); });
  }

  /// Returns the values of `keys` in order (nullptr where the batch loader found nothing):
  /// L1 hits; then, for the rest, one pipelined `MGET` (one round trip per `local.max_batch`
  /// keys); then one call of `batch(std::span<const K>)` with the keys Redis lacked, returning
  /// one `std::optional<V>` per key in order; then one pipelined write-back of what it found.
  /// No stampede lock is taken. Allocates the result, the key lists and one entry per value.
  /// Throws std::logic_error when `batch` returns another number of results than keys, and what
  /// `batch` throws.
  template <class Batch>
  requires batch_function<Batch, K, V> std::vector<value_ptr> get_all(std::span<const K> keys,
                                                                      Batch batch) {
    return l1_.get_all(keys, [&](std::span<const K> missing) { return load_many(missing, batch); });
  }

  /// Drops `key` here, deletes it in Redis and publishes it on the channel, in one pipelined
  /// round trip; every subscribed instance drops its L1 copy when the message arrives. Returns
  /// true when Redis took both commands, false when it failed (counted and logged; other
  /// instances keep their copies until their L1 time to live, and Redis its copy until its
  /// `ttl`). Tried even while reads skip Redis after a failure (the backoff): while Redis is
  /// down or paused each call costs up to a wait for a pooled connection plus a command
  /// timeout. Never throws a Redis error.
  bool invalidate(const K& key) {
    struct drop_local {
      cache<K, V>& l1;
      const K& key;
      ~drop_local() { l1.invalidate(key); }
    } drop{l1_, key};
    // Tried even while reads skip Redis after a failure (the backoff): a DEL left out would
    // leave the old value in Redis for its `ttl`, for this instance to read back.
    std::optional<lease> c = connection(nullptr);
    if (!c) return false;
    redis_connection& conn = **c;
    const std::string_view k = conn.make_key([&](std::string& out) { options_.key(key, out); });
    bool ok = conn.try_append({std::string_view("DEL"), k});
    std::size_t expect = 1;
    if (ok && !channel_.empty()) {
      conn.scratch().clear();
      KeyCodec::encode(key, conn.scratch());
      ok = conn.try_append({std::string_view("PUBLISH"), std::string_view(channel_),
                            std::string_view(conn.scratch())});
      ++expect;
    }
    bool replies = true;
    for (std::size_t i = 0; ok && i < expect; ++i)
      replies = conn.try_read_reply().has_value() && replies;
    detail::redis::bump(n_.round_trips);
    if (!ok || !replies) {
      failed(*c, "DEL/PUBLISH");
      return false;
    }
    succeeded();
    return true;
  }

  /// Returns true once the subscriber has subscribed (`n` times), waiting up to `timeout`;
  /// true at once without a channel.
  bool wait_subscribed(std::chrono::milliseconds timeout, std::uint64_t n = 1) const {
    return subscriber_ == nullptr || subscriber_->wait_subscribed(timeout, n);
  }

  /// Returns the counters. Never allocates.
  tiered_cache_stats stats() const noexcept {
    auto r = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    return {r(n_.l2_hits),       r(n_.l2_misses),
            r(n_.l2_errors),     r(n_.l2_skipped),
            r(n_.decode_errors), r(n_.loads),
            r(n_.lock_waits),    r(n_.lock_wait_hits),
            r(n_.round_trips),   r(n_.invalidations_received),
            r(n_.l1_flushes)};
  }

  /// Returns the L1 cache (its own statistics, `invalidate_all`, `run_pending_tasks`).
  cache<K, V>& local() noexcept { return l1_; }
  /// Returns the connection pool (its statistics).
  pool<redis_connection>& connections() noexcept { return pool_; }
  /// Returns the options it was built with.
  const options_type& options() const noexcept { return options_; }

 private:
  static std::size_t checked_connections(std::size_t n) {
    if (n == 0) detail::redis::throw_invalid("tiered_cache: connections must be at least 1, got 0");
    return n;
  }

  // The end of a probe (see connection): when its caller ends without an answer from Redis
  // that ended or extended the backoff (it had nothing to write, the codec refused the value,
  // Redis answered with an error reply, no connection was free), the next caller probes at
  // once instead of skipping Redis for the rest of the probe's span.
  struct probe_scope {
    std::atomic<std::int64_t>* until = nullptr;
    std::int64_t claimed = 0;
    probe_scope() = default;
    probe_scope(const probe_scope&) = delete;
    probe_scope& operator=(const probe_scope&) = delete;
    ~probe_scope() { end(); }
    void end() noexcept {
      if (until == nullptr) return;
      const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
      until->compare_exchange_strong(claimed, now, std::memory_order_acq_rel);
      until = nullptr;
    }
  };

  // A pooled connection, or nullopt: while the backoff after a failure lasts (unless `probe`
  // is nullptr), or when none can be had (counted and logged).
  // When a backoff ends, one caller tries Redis again (the probe): it moves the end of the
  // backoff on by the most a try can take, so the others keep skipping Redis until the
  // probe's answer ends the backoff (succeeded) or extends it (back_off), instead of each
  // paying the timeout of a Redis that is still down or paused. `probe`: the caller's scope,
  // which ends the probe if nothing else did; nullptr: tried even while reads skip Redis.
  std::optional<lease> connection(probe_scope* probe) {
    const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (probe != nullptr) {
      std::int64_t until = down_until_.load(std::memory_order_acquire);
      // A failed exchange reloads `until` with what another caller stored (its claim, a new
      // backoff, the end of an unanswered probe, or 0 when the backoff is over): look again.
      while (until != 0) {
        if (now < until) {
          detail::redis::bump(n_.l2_skipped);
          return std::nullopt;
        }
        const std::int64_t claim = detail::cache::saturating_add(now, probe_span_);
        if (down_until_.compare_exchange_weak(until, claim, std::memory_order_acq_rel)) {
          probe->until = &down_until_;
          probe->claimed = claim;
          break;
        }
      }
    }
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      lease c = pool_.acquire();
      if (!c->broken()) return c;
      failed(c, "connect");
#if FRUGAL_HAS_EXCEPTIONS
    } catch (const pool_timeout& e) {
      detail::redis::bump(n_.l2_errors);
      if (!e.last_error().empty()) back_off();
      log(e.what());
    }
#endif
    return std::nullopt;
  }

  // Counts a failed exchange with Redis and logs `what` (the command) and `why`.
  FRUGAL_COLD void count_failure(const char* what, std::string_view why) noexcept {
    detail::redis::bump(n_.l2_errors);
    if (!options_.log) return;
#if FRUGAL_HAS_EXCEPTIONS
    try {
#endif
      log(std::string("tiered_cache: ") + what + ": " + std::string(why));
#if FRUGAL_HAS_EXCEPTIONS
    } catch (...) {  // no memory for the message: the count stands
    }
#endif
  }

  FRUGAL_COLD void failed(lease& c, const char* what) {
    const redis_errc code = c->error_code();
    count_failure(what, c->error());
    if (c->broken()) {
      c.discard();
      // The idle connections share this one's fate (the server restarted or dropped its
      // clients): handed out one by one, each would fail in turn and double the backoff.
      // The next try after the backoff connects anew.
      pool_.discard_idle();
      back_off();
    } else if (code != redis_errc::server) {
      c.discard();
    }
  }

  // A GET's reply (or an MGET element) is a bulk string or nil; anything else (a status, an
  // integer or an array, from a proxy or a server that is not Redis) is no value.
  static bool value_reply(const redis_value& v) noexcept {
    return v.is_nil() || v.get()->type == REDIS_REPLY_STRING;
  }
  // Such a reply: counted and logged as a protocol failure; the connection is closed (its
  // stream is not to be trusted) and Redis is skipped for the backoff.
  FRUGAL_COLD void wrong_reply(lease& c, const char* what) {
    count_failure(what, "a reply of another type or length than the command answers");
    c.discard();
    back_off();
  }

  void back_off() noexcept {
    const unsigned n = std::min(failures_.fetch_add(1, std::memory_order_relaxed), 16u);
    const std::int64_t retry = options_.retry.count();
    const std::int64_t most = options_.retry_max.count();
    const std::chrono::milliseconds pause(retry > (most >> n) ? most : retry << n);
    down_until_.store(detail::redis::later(pause).time_since_epoch().count(),
                      std::memory_order_release);
  }
  void succeeded() noexcept {
    if (failures_.load(std::memory_order_relaxed) != 0 ||
        down_until_.load(std::memory_order_relaxed) != 0) {
      failures_.store(0, std::memory_order_relaxed);
      down_until_.store(0, std::memory_order_release);
    }
  }

  void log(std::string_view m) noexcept {
    if (!options_.log) return;
#if FRUGAL_HAS_EXCEPTIONS
    try {
      options_.log(m);
    } catch (...) {
    }
#else
    options_.log(m);
#endif
  }

  void on_message(std::string_view payload) {
    std::optional<K> k = KeyCodec::decode(payload);
    if (k && l1_.invalidate(*k)) detail::redis::bump(n_.invalidations_received);
  }

  // GET: a decoded value, or nullopt (miss, undecodable, or failure: then `c` is reset).
  std::optional<V> get_l2(std::optional<lease>& c, std::string_view k) {
    std::optional<redis_reply> r = (*c)->try_command({std::string_view("GET"), k});
    detail::redis::bump(n_.round_trips);
    if (!r) {
      failed(*c, "GET");
      c.reset();
      return std::nullopt;
    }
    if (!value_reply(*r)) {
      wrong_reply(*c, "GET");
      c.reset();
      return std::nullopt;
    }
    succeeded();
    if (r->is_nil()) return std::nullopt;
    return decode(r->str());
  }

  // The codec's answer, or nullopt (counted) when it rejects the bytes or throws.
  // `count`: false where the same bytes were counted by an earlier GET of this lookup.
  std::optional<V> decode(std::string_view data, bool count = true) {
#if FRUGAL_HAS_EXCEPTIONS
    try {
      return counted(Codec::decode(data), count);
    } catch (const std::exception& e) {
      log(e.what());
      return counted(std::nullopt, count);
    }
#else
    return counted(Codec::decode(data), count);
#endif
  }
  std::optional<V> counted(std::optional<V> v, bool count) {
    if (!v && count) detail::redis::bump(n_.decode_errors);
    return v;
  }

  // Appends the encoding of `v`; false (counted as an error) when the codec throws.
  bool encode(const V& v, std::string& out) {
#if FRUGAL_HAS_EXCEPTIONS
    try {
      Codec::encode(v, out);
    } catch (const std::exception& e) {
      detail::redis::bump(n_.l2_errors);
      log(e.what());
      return false;
    }
#else
    Codec::encode(v, out);
#endif
    return true;
  }

  void set_l2(lease& c, std::string_view k, const V& v) {
    std::string& buf = c->scratch();
    buf.clear();
    if (!encode(v, buf)) return;
    std::optional<redis_reply> r =
        c->try_command({std::string_view("SET"), k, std::string_view(buf), std::string_view("EX"),
                        std::string_view(ttl_text_)});
    detail::redis::bump(n_.round_trips);
    if (r) {
      succeeded();
    } else {
      failed(c, "SET");
    }
  }

  // Releases a stampede lock on scope exit, the loader's exceptions included.
  struct lock_guard {
    tiered_cache* self;
    std::string key;
    std::optional<redis_lock_token> token;
    ~lock_guard() {
      if (!token) return;
#if FRUGAL_HAS_EXCEPTIONS
      try {
        release();
      } catch (...) {  // std::bad_alloc: the lock then expires after lock_ttl
      }
#else
      release();
#endif
    }
    void release() {
      // Even while reads skip Redis after a failure: a lock left behind holds the other
      // instances' loads of the key for lock_ttl.
      std::optional<lease> c = self->connection(nullptr);
      if (!c) return;
      std::uint64_t trips = 0;
      detail::redis::unlock(**c, key, *token, trips);
      detail::redis::bump(self->n_.round_trips, trips);
      if ((*c)->broken()) self->failed(*c, "unlock");
    }
  };

  template <class Loader>
  V load_one(const K& key, Loader& loader) {
    lock_guard held{this, {}, std::nullopt};
    {
      probe_scope probe;
      std::optional<lease> c = connection(&probe);
      if (c) {
        const std::string_view k =
            (*c)->make_key([&](std::string& out) { options_.key(key, out); });
        if (std::optional<V> v = get_l2(c, k)) {
          detail::redis::bump(n_.l2_hits);
          return std::move(*v);
        }
        if (c && options_.lock_ttl.count() > 0) {
          // The GET beside the lock may find the value (written since the first GET): a hit.
          bool found_at_once = false;
          std::optional<V> v = wait_or_lock(c, key, held, found_at_once);
          detail::redis::bump(found_at_once ? n_.l2_hits : n_.l2_misses);
          if (v) return std::move(*v);
        } else if (c) {
          detail::redis::bump(n_.l2_misses);
        }
      }
    }
    detail::redis::bump(n_.loads);
    V v = loader();
    probe_scope probe;
    if (std::optional<lease> c = connection(&probe)) {
      const std::string_view k = (*c)->make_key([&](std::string& out) { options_.key(key, out); });
      set_l2(*c, k, v);
    }
    return v;
  }

  // Takes the lock (returns nullopt: the caller loads), or waits while another instance holds
  // it: its value, or nullopt once lock_ttl has passed. Each try is one round trip, `SET lock
  // token NX PX ttl` pipelined with `GET key`, so a holder that finished between our first GET
  // and the try is seen, and its loader is not run a second time.
  // `found_at_once`: set when the first try's GET found the value (no wait).
  std::optional<V> wait_or_lock(std::optional<lease>& c, const K& key, lock_guard& held,
                                bool& found_at_once) {
    held.key = (*c)->make_key([&](std::string& out) {
      options_.key(key, out);
      out.append(":lock");
    });
    char px[24];
    const auto px_end = std::to_chars(px, px + sizeof px, options_.lock_ttl.count()).ptr;
    const std::string_view ttl(px, static_cast<std::size_t>(px_end - px));
    const auto deadline = detail::redis::later(options_.lock_ttl);
    auto pause = options_.lock_poll;
    bool waited = false;
    for (;;) {
      const redis_lock_token token = detail::redis::make_token();
      redis_connection& conn = **c;
      const std::string_view k = conn.make_key([&](std::string& out) { options_.key(key, out); });
      bool ok = conn.try_append({std::string_view("SET"), std::string_view(held.key), token.view(),
                                 std::string_view("NX"), std::string_view("PX"), ttl}) &&
                conn.try_append({std::string_view("GET"), k});
      std::optional<redis_reply> lock = ok ? conn.try_read_reply() : std::nullopt;
      const bool lock_refused = ok && !lock && !conn.broken();  // an error reply (OOM)
      std::optional<redis_reply> value =
          ok && !conn.broken() ? conn.try_read_reply() : std::nullopt;
      detail::redis::bump(n_.round_trips);
      if (!ok || conn.broken() || (!value && !lock_refused)) {
        failed(*c, "SET NX + GET");
        return std::nullopt;
      }
      if (lock && !lock->is_nil()) held.token = token;
      if (value && !value_reply(*value)) {
        wrong_reply(*c, "GET");  // the caller loads (and unlocks what it holds)
        return std::nullopt;
      }
      if (value && !value->is_nil()) {
        if (std::optional<V> v = decode(value->str(), waited)) {
          if (waited) detail::redis::bump(n_.lock_wait_hits);
          found_at_once = !waited;
          return v;
        }
      }
      if (held.token) return std::nullopt;
      if (lock_refused) {
        failed(*c, "SET NX");
        return std::nullopt;
      }
      if (!waited) detail::redis::bump(n_.lock_waits);
      waited = true;
      const auto left = deadline - std::chrono::steady_clock::now();
      if (std::chrono::duration_cast<std::chrono::milliseconds>(left) < pause) return std::nullopt;
      std::this_thread::sleep_for(pause);
      pause = pause > options_.lock_poll_max / 2 ? options_.lock_poll_max : pause * 2;
    }
  }

  template <class Batch>
  std::vector<std::optional<V>> load_many(std::span<const K> missing, Batch& batch) {
    std::vector<std::optional<V>> out(missing.size());
    std::vector<std::size_t> absent;  // positions in `missing` Redis lacked
    std::vector<std::string_view> args;
    std::string keys;               // every key, back to back
    std::vector<std::size_t> ends;  // where each key ends in `keys`
    auto build_keys = [&] {
      keys.clear();
      ends.clear();
      for (const K& k : missing) {
        keys.append(options_.redis.key_prefix);
        options_.key(k, keys);
        ends.push_back(keys.size());
      }
    };
    auto key_at = [&](std::size_t i) {
      const std::size_t b = i == 0 ? 0 : ends[i - 1];
      return std::string_view(keys).substr(b, ends[i] - b);
    };
    std::optional<lease> c;
    probe_scope mget_probe;
    c = connection(&mget_probe);
    if (c) {
      build_keys();
      args.reserve(missing.size() + 1);
      args.push_back("MGET");
      for (std::size_t i = 0; i < missing.size(); ++i) args.push_back(key_at(i));
      std::optional<redis_reply> r = (*c)->try_command(args);
      detail::redis::bump(n_.round_trips);
      const auto element_wrong = [&] {
        for (std::size_t i = 0; i < r->size(); ++i) {
          if (!value_reply((*r)[i])) return true;
        }
        return false;
      };
      if (!r) {
        failed(*c, "MGET");
        c.reset();
      } else if (!r->is_array() || r->size() != missing.size() || element_wrong()) {
        wrong_reply(*c, "MGET");
        c.reset();
      } else {
        succeeded();
        for (std::size_t i = 0; i < missing.size(); ++i) {
          if (!(*r)[i].is_nil()) out[i] = decode((*r)[i].str());
          if (out[i]) {
            detail::redis::bump(n_.l2_hits);
          } else {
            detail::redis::bump(n_.l2_misses);
            absent.push_back(i);
          }
        }
      }
    }
    if (!c) {
      absent.resize(missing.size());
      for (std::size_t i = 0; i < missing.size(); ++i) absent[i] = i;
    }
    if (absent.empty()) return out;
    // The connection goes back to the pool while the batch function runs (a database query):
    // held, slow batches would starve the other callers of connections.
    c.reset();
    mget_probe.end();
    std::vector<K> ask;
    ask.reserve(absent.size());
    for (std::size_t i : absent) ask.push_back(missing[i]);
    detail::redis::bump(n_.loads, ask.size());
    auto&& found = batch(std::span<const K>(ask));
    std::size_t n = 0;
    for (auto&& v : found) {
      if (n < absent.size()) {
        detail::put_result(out[absent[n]], detail::element_of<decltype(found)>(v));
      }
      ++n;
    }
    if (n != absent.size()) detail::throw_result_count("tiered_cache::get_all", n, absent.size());
    std::string values;
    std::vector<std::size_t> value_ends;
    std::vector<bool> encoded;
    bool any = false;
    for (std::size_t i : absent) {
      const std::size_t before = values.size();
      encoded.push_back(out[i] && encode(*out[i], values));
      if (!encoded.back()) values.resize(before);
      any = any || encoded.back();
      value_ends.push_back(values.size());
    }
    if (!any) return out;  // nothing to write: no connection taken
    probe_scope probe;
    c = connection(&probe);
    if (!c) return out;
    if (keys.empty()) build_keys();
    std::size_t queued = 0;
    bool ok = true;
    for (std::size_t j = 0; ok && j < absent.size(); ++j) {
      if (!encoded[j]) continue;
      const std::size_t b = j == 0 ? 0 : value_ends[j - 1];
      ok = (*c)->try_append({std::string_view("SET"), key_at(absent[j]),
                             std::string_view(values).substr(b, value_ends[j] - b),
                             std::string_view("EX"), std::string_view(ttl_text_)});
      queued += ok ? 1 : 0;
    }
    bool replies = ok;
    for (std::size_t j = 0; j < queued && !(*c)->broken(); ++j) {
      replies = (*c)->try_read_reply().has_value() && replies;
    }
    if (queued != 0) detail::redis::bump(n_.round_trips);
    if (!replies || (*c)->broken()) {
      failed(*c, "SET (pipelined)");
    } else if (queued != 0) {
      succeeded();
    }
    return out;
  }

  options_type options_;
  cache<K, V> l1_;
  pool<redis_connection> pool_;
  std::string ttl_text_;
  std::string channel_;
  detail::redis::counters n_;
  // Until when reads skip Redis (steady clock, ns); 0: no backoff since the last success.
  std::atomic<std::int64_t> down_until_{0};
  std::atomic<unsigned> failures_{0};
  // The most a probe (see connection) can take, in steady-clock ticks: a wait for a pooled
  // connection, a connect and a command.
  std::int64_t probe_span_ = 0;
  std::unique_ptr<redis_subscriber> subscriber_;
};

FRUGAL_END_NAMESPACE
