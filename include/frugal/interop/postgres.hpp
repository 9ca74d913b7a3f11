// frugal/interop/postgres.hpp: frugal's pool and batch parts on libpq (CMake: frugal::postgres).
//
//   auto db = frugal::make_pg_pool("postgresql://app@db/app", {.max_connections = 20,
//       .min_connections = 5, .acquire_timeout = 3s, .idle_timeout = 600s,
//       .max_lifetime = 1800s, .test_before_acquire = false});
//   auto conn = db.acquire();
//   auto users = conn->query("SELECT id, name FROM users WHERE id <= $1", 10);
//   auto posts = frugal::pg_fetch_any(*conn, "SELECT user_id, title FROM posts "
//                                     "WHERE user_id = ANY($1)", ids, to_post);
//   auto by_user = frugal::group_by(posts, &post::user_id);       // 2 queries, not 1 + N
//   frugal::pg_execute(*conn, frugal::insert_rows("posts", {"user_id", "title"}, rows, f));
//   frugal::pg_copy(*conn, "posts", {"user_id", "title"}, rows, f);  // COPY ... FROM STDIN
//
// Values always travel as parameters (or as COPY data), never inside the SQL text. A pooled
// connection is checked before hand-out (`PQstatus`, and an empty round trip with
// `test_before_acquire`) and at release: one whose session broke (`CONNECTION_BAD`) or that
// was left inside a transaction is destroyed instead of returned. Prepared statements are
// cached per connection, so a query's text is parsed and planned once per connection.
//
// This header is the only one of frugal's that includes libpq; <frugal/frugal.hpp> never
// includes it.
#pragma once

#include <frugal/batch.hpp>
#include <frugal/pool.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

FRUGAL_BEGIN_NAMESPACE

/// Thrown when connecting or a statement fails: the message is libpq's, prefixed with what
/// failed; `sqlstate()` gives the server's error code ("23505": unique violation), empty for
/// errors on the client's side (a refused connection). Copying never throws.
class pg_error : public std::runtime_error {
 public:
  /// Builds the error from a message and a SQLSTATE (at most 5 characters are kept).
  pg_error(const std::string& message, std::string_view sqlstate) : std::runtime_error(message) {
    const std::size_t n = sqlstate.size() < 5 ? sqlstate.size() : 5;
    if (n != 0) std::memcpy(sqlstate_, sqlstate.data(), n);
    sqlstate_[n] = '\0';
  }
  /// Returns the SQLSTATE, or "" for a client-side error.
  const char* sqlstate() const noexcept { return sqlstate_; }

 private:
  char sqlstate_[6] = {};
};

namespace detail {

[[noreturn]] FRUGAL_COLD inline void pg_throw(std::string_view what, const char* message,
                                              const char* sqlstate) {
  std::string m(what);
  m += ": ";
  std::string_view text = message != nullptr ? std::string_view(message) : std::string_view();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  m += text.empty() ? std::string_view("unknown error") : text;
  FRUGAL_THROW(pg_error(m, sqlstate != nullptr ? std::string_view(sqlstate) : std::string_view()));
}

// `timeout` from now on the steady clock; a bound too far to represent (milliseconds::max(),
// centuries) is no bound: the clock's greatest time.
inline std::chrono::steady_clock::time_point pg_deadline(std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const clock::time_point now = clock::now();
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::time_point::max() - now);
  if (timeout >= left) return clock::time_point::max();
  return now + timeout;
}

// Waits until the answer on `c` can be read without blocking (PQisBusy is 0), sending what is
// left of the request meanwhile: 1 when it can, 0 once `deadline` passed, -1 when the
// connection failed (PQgetResult then returns its error at once).
inline int pg_wait(PGconn* c, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const int unsent = PQflush(c);  // 1: more to send, 0: all sent, -1: failed
    if (unsent < 0) return -1;
    if (unsent == 0 && PQisBusy(c) == 0) return 1;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{PQsocket(c), static_cast<short>(POLLIN | (unsent == 1 ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1'000'000))) < 0 &&
        errno != EINTR) {
      return -1;
    }
    if (PQconsumeInput(c) != 1) return -1;
  }
}

struct pg_string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

}  // namespace detail

/// A statement's result (an owned `PGresult`). Move-only; never allocates on its own part.
/// Row and column indices are `int`, as in libpq.
class pg_result {
 public:
  /// Takes ownership of `r` (may be null: an empty result).
  explicit pg_result(PGresult* r = nullptr) noexcept : r_(r) {}
  pg_result(const pg_result&) = delete;
  pg_result& operator=(const pg_result&) = delete;
  /// Takes `other`'s result. Never throws.
  pg_result(pg_result&& other) noexcept : r_(std::exchange(other.r_, nullptr)) {}
  /// Frees this result and takes `other`'s. Never throws.
  pg_result& operator=(pg_result&& other) noexcept {
    if (this != &other) {
      PQclear(r_);
      r_ = std::exchange(other.r_, nullptr);
    }
    return *this;
  }
  /// Frees the result (PQclear).
  ~pg_result() { PQclear(r_); }

  /// Returns the number of rows. O(1).
  int rows() const noexcept { return r_ != nullptr ? PQntuples(r_) : 0; }
  /// Returns the number of columns. O(1).
  int columns() const noexcept { return r_ != nullptr ? PQnfields(r_) : 0; }
  /// Returns true when the value at (`row`, `col`) is SQL NULL.
  /// Precondition (FRUGAL_ASSERT): both indices in range.
  bool is_null(int row, int col) const noexcept {
    FRUGAL_ASSERT(row >= 0 && row < rows() && col >= 0 && col < columns());
    return PQgetisnull(r_, row, col) != 0;
  }
  /// Returns the text of the value at (`row`, `col`) (empty for NULL), valid while the result
  /// lives. O(1). Precondition (FRUGAL_ASSERT): both indices in range.
  std::string_view text(int row, int col) const noexcept FRUGAL_LIFETIMEBOUND {
    FRUGAL_ASSERT(row >= 0 && row < rows() && col >= 0 && col < columns());
    return std::string_view(PQgetvalue(r_, row, col),
                            static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  /// Returns the value at (`row`, `col`) read as a decimal integer. Throws std::invalid_argument
  /// naming the cell and its text when it is NULL or not an integer of type `I`.
  template <std::integral I = std::int64_t>
  I get(int row, int col) const {
    const std::string_view t = text(row, col);
    I v{};
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (is_null(row, col) || ec != std::errc() || end != t.data() + t.size()) {
      FRUGAL_THROW(std::invalid_argument(
          "pg_result::get: row " + std::to_string(row) + " column " + std::to_string(col) +
          (is_null(row, col) ? std::string(" is NULL")
                             : " is not an integer: '" + std::string(t) + "'")));
    }
    return v;
  }
  /// Returns the number of rows the command touched (PQcmdTuples), 0 when it does not say.
  std::uint64_t affected() const noexcept {
    if (r_ == nullptr) return 0;
    const char* s = PQcmdTuples(r_);
    std::uint64_t v = 0;
    std::from_chars(s, s + std::strlen(s), v);
    return v;
  }
  /// Returns the libpq status of the result.
  ExecStatusType status() const noexcept {
    return r_ != nullptr ? PQresultStatus(r_) : PGRES_FATAL_ERROR;
  }
  /// Returns the underlying PGresult (still owned by this object).
  PGresult* native() const noexcept { return r_; }

 private:
  PGresult* r_;
};

namespace detail {

// A std::string parameter's text for libpq, which reads it up to its first NUL: one with a NUL
// inside would be cut short without a word, so it is refused (PostgreSQL's text cannot hold a
// NUL; send such bytes as bytea, hex-encoded).
inline const char* pg_text_param(const std::string& s) {
  if (FRUGAL_UNLIKELY(std::memchr(s.data(), '\0', s.size()) != nullptr)) {
    FRUGAL_THROW(std::invalid_argument(
        "pg: a string parameter contains a NUL character, which PostgreSQL text cannot hold"));
  }
  return s.c_str();
}

// A statement's parameters as libpq's text values: integers are formatted into the object,
// strings are pointed to (they must outlive the call), std::nullopt and nullptr are NULL.
// Throws std::invalid_argument for a std::string with a NUL inside (pg_text_param).
template <std::size_t N>
class pg_args {
 public:
  template <class... A>
  explicit pg_args(const A&... args) {
    std::size_t i = 0;
    (set(i++, args), ...);
  }
  const char* const* values() const noexcept { return values_; }

 private:
  template <class A>
  void set(std::size_t i, const A& a) {
    if constexpr (std::is_same_v<A, bool>) {
      values_[i] = a ? "true" : "false";
    } else if constexpr (std::is_integral_v<A>) {
      *std::to_chars(buf_[i], buf_[i] + sizeof buf_[i] - 1, a).ptr = '\0';
      values_[i] = buf_[i];
    } else if constexpr (std::is_same_v<A, std::nullopt_t> || std::is_null_pointer_v<A>) {
      values_[i] = nullptr;
    } else if constexpr (std::is_same_v<A, std::string>) {
      values_[i] = pg_text_param(a);
    } else if constexpr (std::is_same_v<A, std::optional<std::string>>) {
      values_[i] = a ? pg_text_param(*a) : nullptr;
    } else {
      static_assert(std::is_convertible_v<const A&, const char*>,
                    "a parameter is an integer, bool, const char*, std::string, "
                    "std::optional<std::string> or std::nullopt");
      values_[i] = a;
    }
  }
  const char* values_[N == 0 ? 1 : N] = {};
  char buf_[N == 0 ? 1 : N][24] = {};
};

}  // namespace detail

/// One PostgreSQL session (an owned `PGconn`) with a cache of prepared statements. Move-only.
/// Not thread-safe: one thread at a time, which a pool's lease guarantees. Every statement is
/// one round trip (`round_trips()` counts them, for tests and benchmarks).
class pg_connection {
 public:
  /// Opens a session (PQconnectdb) with `conninfo` ("host=... dbname=..." or a
  /// "postgresql://" URI). Throws pg_error "connect: <libpq's message>" when it fails.
  static pg_connection connect(const std::string& conninfo) {
    return opened(PQconnectdb(conninfo.c_str()));
  }

  /// As `connect(conninfo)`, bounding the connection attempt by `timeout` (libpq's
  /// `connect_timeout`, in whole seconds, at least 2: libpq's floor) unless `conninfo` sets a
  /// `connect_timeout` of its own. A server that accepts the connection but never answers
  /// (stopped with SIGSTOP, hung) then fails the call instead of blocking it.
  static pg_connection connect(const std::string& conninfo, std::chrono::milliseconds timeout) {
    // libpq reads connect_timeout as an int: a longer bound (milliseconds::max()) is its
    // greatest.
    const auto whole = std::chrono::ceil<std::chrono::seconds>(timeout).count();
    constexpr std::int64_t most = std::numeric_limits<int>::max();
    const std::string seconds = std::to_string(whole < 2 ? 2 : whole > most ? most : whole);
    // Processed in order, the last value of a keyword winning: the connection string's own
    // connect_timeout, if it has one, overrides this one.
    const char* const keywords[] = {"connect_timeout", "dbname", nullptr};
    const char* const values[] = {seconds.c_str(), conninfo.c_str(), nullptr};
    return opened(PQconnectdbParams(keywords, values, 1));
  }

  /// Takes ownership of `c` (may be null). Never throws.
  explicit pg_connection(PGconn* c) noexcept : c_(c) {}

 private:
  // The session libpq opened, or pg_error "connect: <libpq's message>" (the attempt closed).
  static pg_connection opened(PGconn* c) {
    if (c == nullptr) detail::pg_throw("connect", "out of memory", nullptr);
    if (PQstatus(c) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(c);
      PQfinish(c);
      detail::pg_throw("connect", message.c_str(), nullptr);
    }
    return pg_connection(c);
  }

 public:
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;
  /// Takes `other`'s session and statement cache. Never throws.
  pg_connection(pg_connection&& other) noexcept
      : c_(std::exchange(other.c_, nullptr)),
        prepared_(std::move(other.prepared_)),
        stale_(std::move(other.stale_)),
        statements_made_(std::exchange(other.statements_made_, 0)),
        round_trips_(std::exchange(other.round_trips_, 0)),
        timeout_(other.timeout_) {}
  /// Closes this session and takes `other`'s. Never throws.
  pg_connection& operator=(pg_connection&& other) noexcept {
    if (this != &other) {
      PQfinish(c_);
      c_ = std::exchange(other.c_, nullptr);
      prepared_ = std::move(other.prepared_);
      stale_ = std::move(other.stale_);
      statements_made_ = std::exchange(other.statements_made_, 0);
      round_trips_ = std::exchange(other.round_trips_, 0);
      timeout_ = other.timeout_;
    }
    return *this;
  }
  /// Closes the session (PQfinish).
  ~pg_connection() { PQfinish(c_); }

  /// Bounds the wait for every later statement's answer (`exec`, `exec_params`, `query`, the
  /// prepare of a new statement) by `timeout`; zero or negative: no bound (the default, and
  /// libpq's blocking calls). A statement unanswered in time (a server stopped with SIGSTOP,
  /// a network that drops packets) closes the session and throws pg_error "<what>: no answer
  /// within N ms; the session is closed" (no SQLSTATE): `ok()` is false from then on, a pool
  /// destroys the connection at release, and every later statement throws. The statement may
  /// still run to its end on the server. Only the wait is bounded: sending a statement larger
  /// than the socket's buffer can still wait for a frozen server, and statements made through
  /// `native()` (COPY) are not bounded. Never throws.
  void set_statement_timeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }
  /// Returns the bound set by `set_statement_timeout` (zero: none).
  std::chrono::milliseconds statement_timeout() const noexcept { return timeout_; }

  /// Returns the underlying PGconn (still owned by this object; null once a statement timed
  /// out).
  PGconn* native() const noexcept { return c_; }
  /// Returns true while the session is usable as far as libpq knows (PQstatus is
  /// CONNECTION_OK); a server-side disconnect shows only after the next statement fails.
  bool ok() const noexcept { return c_ != nullptr && PQstatus(c_) == CONNECTION_OK; }
  /// Returns true when no transaction is open (PQtransactionStatus is PQTRANS_IDLE).
  bool idle() const noexcept { return c_ != nullptr && PQtransactionStatus(c_) == PQTRANS_IDLE; }
  /// Returns the server's process id for this session (for pg_terminate_backend).
  int backend_pid() const noexcept { return c_ != nullptr ? PQbackendPID(c_) : 0; }
  /// Returns the number of statements sent (one round trip each; COPY counts two).
  std::uint64_t round_trips() const noexcept { return round_trips_; }
  /// Returns the number of statements prepared on this session.
  std::size_t prepared_count() const noexcept { return prepared_.size(); }

  /// Runs `sql` without parameters (PQexec): DDL, BEGIN/COMMIT, several statements. Returns
  /// the last statement's result. Throws pg_error "exec: <message>" with the SQLSTATE when it
  /// fails. Never put values into `sql`: use `query`.
  pg_result exec(const char* sql) {
    ++round_trips_;
    if (!bounded()) return checked(PQexec(c_, sql), "exec");
    return checked(answer(PQsendQuery(c_, sql), "exec"), "exec");
  }

  /// Runs one statement with text parameters ($1 = `values[0]`, a null pointer is NULL),
  /// parsed and planned for this call only (PQexecParams). Throws pg_error.
  pg_result exec_params(const char* sql, std::span<const char* const> values) {
    ++round_trips_;
    const int n = static_cast<int>(values.size());
    if (!bounded()) {
      return checked(PQexecParams(c_, sql, n, nullptr, values.data(), nullptr, nullptr, 0),
                     "exec_params");
    }
    return checked(
        answer(PQsendQueryParams(c_, sql, n, nullptr, values.data(), nullptr, nullptr, 0),
               "exec_params"),
        "exec_params");
  }

  /// Runs one statement with text parameters through a prepared statement cached on this
  /// session: the first call with a given text prepares it (one more round trip, and one
  /// allocation for the cache entry), later ones only execute (PQexecPrepared). Throws
  /// pg_error; a statement that fails to prepare is not cached.
  pg_result query_values(std::string_view sql, std::span<const char* const> values) {
    if (!stale_.empty()) [[unlikely]] deallocate_stale();
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      // Numbered by a count that never goes back: a statement dropped from the cache below
      // may still exist on the server under its name.
      std::string name = "frugal_" + std::to_string(++statements_made_);
      std::string text(sql);
      ++round_trips_;
      const int n = static_cast<int>(values.size());
      checked(!bounded()
                  ? PQprepare(c_, name.c_str(), text.c_str(), n, nullptr)
                  : answer(PQsendPrepare(c_, name.c_str(), text.c_str(), n, nullptr), "prepare"),
              "prepare");
      it = prepared_.emplace(std::move(text), std::move(name)).first;
    }
    ++round_trips_;
    const int n = static_cast<int>(values.size());
    PGresult* r =
        !bounded()
            ? PQexecPrepared(c_, it->second.c_str(), n, values.data(), nullptr, nullptr, 0)
            : answer(PQsendQueryPrepared(c_, it->second.c_str(), n, values.data(), nullptr,
                                         nullptr, 0),
                     "query");
    // A statement the server no longer has (DISCARD ALL, DEALLOCATE: 26000) or whose plan a
    // schema change broke ("cached plan must not change result type": 0A000) fails this call
    // and leaves the cache, so that the next call prepares it again. On 0A000 the server still
    // has it (the error may also be the statement's own, a function that raises it): it is
    // deallocated, so that such errors do not pile up statements in the session.
    if (const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        state != nullptr &&
        (std::strcmp(state, "26000") == 0 || std::strcmp(state, "0A000") == 0)) {
      std::string name = std::move(it->second);
      prepared_.erase(it);
      if (std::strcmp(state, "0A000") == 0) {
        // In a failed transaction block the server refuses DEALLOCATE (25P02): that waits
        // for the next call in a session that is idle again.
        if (c_ != nullptr && PQtransactionStatus(c_) == PQTRANS_INERROR) {
          remember_stale(std::move(name));
        } else {
          deallocate(name);  // never throws
        }
      }
    }
    return checked(r, "query");
  }

  /// `query_values` with the parameters given as arguments: integers and bool are formatted
  /// on the stack, `const char*`, std::string and std::optional<std::string> are passed as
  /// they are (std::nullopt, nullptr: NULL). Never allocates once the statement is cached
  /// (libpq allocates its result with malloc).
  template <class... A>
  pg_result query(std::string_view sql, const A&... args) {
    const detail::pg_args<sizeof...(A)> a(args...);
    return query_values(sql, std::span<const char* const>(a.values(), sizeof...(A)));
  }

  /// Counts a round trip made directly on `native()` (COPY does, through pg_copy).
  void count_round_trips(std::uint64_t n) noexcept { round_trips_ += n; }

  /// Throws pg_error "<what>: <message>" unless `r` succeeded (a COPY that started counts:
  /// its data goes through `native()`); returns it owned otherwise.
  pg_result checked(PGresult* r, const char* what) const {
    pg_result owned(r);
    const ExecStatusType s = owned.status();
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY &&
        s != PGRES_COPY_IN && s != PGRES_COPY_OUT) {
      detail::pg_throw(what,
                       r != nullptr    ? PQresultErrorMessage(r)
                       : c_ != nullptr ? PQerrorMessage(c_)
                                       : "no session (moved from, or closed after a statement timed out)",
                       r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr);
    }
    return owned;
  }

 private:
  // Whether the next statement goes through PQsend* and `answer` (a statement timeout is set);
  // not while a COPY that a statement started through `exec` or `native()` is still open, which
  // only the blocking calls end (as PQexec does: a COPY IN is ended, a COPY OUT's rows read).
  bool bounded() const noexcept {
    return timeout_.count() > 0 &&
           (c_ == nullptr || PQtransactionStatus(c_) != PQTRANS_ACTIVE);
  }

  // Keeps the name of a statement to deallocate later; without the memory for it, the
  // statement stays on the server until the session ends.
  void remember_stale(std::string name) noexcept {
#if FRUGAL_HAS_EXCEPTIONS
    try {
      stale_.push_back(std::move(name));
    } catch (...) {
    }
#else
    stale_.push_back(std::move(name));
#endif
  }
  // Deallocates the statements dropped while the session was in a failed transaction block,
  // once it is out of it (one round trip each).
  void deallocate_stale() noexcept {
    if (c_ == nullptr) {
      stale_.clear();
      return;
    }
    if (PQtransactionStatus(c_) != PQTRANS_IDLE) return;
    while (!stale_.empty() && c_ != nullptr) {
      const std::string name = std::move(stale_.back());
      stale_.pop_back();
      deallocate(name);  // a timeout there closes the session and clears stale_
    }
  }
  // Drops a prepared statement on the server (one round trip; its errors are ignored: at
  // worst the statement stays until the session ends).
  void deallocate(const std::string& name) noexcept {
    char sql[64];
    const int n = std::snprintf(sql, sizeof sql, "DEALLOCATE %s", name.c_str());
    if (c_ == nullptr || n <= 0 || static_cast<std::size_t>(n) >= sizeof sql) return;
    ++round_trips_;
    if (!bounded()) {
      PQclear(PQexec(c_, sql));
      return;
    }
#if FRUGAL_HAS_EXCEPTIONS
    try {
      PQclear(answer(PQsendQuery(c_, sql), "deallocate"));
    } catch (...) {  // the statement timeout passed: the session is closed
    }
#endif
  }

  // The answer to a statement sent by a PQsend* call that returned `sent`, as PQexec gives it
  // (the last result; a COPY's start, or a broken connection, ends it), each wait bounded by
  // the statement timeout from now. Null when the send failed (`checked` throws libpq's
  // message). Past the deadline, closes the session and throws pg_error.
  PGresult* answer(int sent, const char* what) {
    if (sent != 1) return nullptr;
    const auto deadline = detail::pg_deadline(timeout_);
    PGresult* last = nullptr;
    for (;;) {
      if (detail::pg_wait(c_, deadline) == 0) {
        PQclear(last);
        PQfinish(std::exchange(c_, nullptr));
        prepared_.clear();
        stale_.clear();
        const std::string message = "no answer within " + std::to_string(timeout_.count()) +
                                    " ms; the session is closed";
        detail::pg_throw(what, message.c_str(), nullptr);
      }
      PGresult* r = PQgetResult(c_);
      if (r == nullptr) break;
      PQclear(last);
      last = r;
      const ExecStatusType s = PQresultStatus(r);
      if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH ||
          PQstatus(c_) == CONNECTION_BAD) {
        break;
      }
    }
    return last;
  }

  PGconn* c_;
  std::unordered_map<std::string, std::string, detail::pg_string_hash, std::equal_to<>> prepared_;
  // Statements dropped from the cache that the server still has (see query_values).
  std::vector<std::string> stale_;
  std::uint64_t statements_made_ = 0;
  std::uint64_t round_trips_ = 0;
  std::chrono::milliseconds timeout_{0};
};

/// The guide's pool settings (sqlx's `PgPoolOptions`), for `make_pg_pool`.
struct pg_pool_options {
  /// The most connections open at once.
  std::size_t max_connections = 10;
  /// The fewest kept open (by `reap()`, and against idle expiry).
  std::size_t min_connections = 0;
  /// How long `acquire()` waits before throwing pool_timeout.
  std::chrono::milliseconds acquire_timeout{30'000};
  /// Idle connections beyond `min_connections` are closed after this long. Zero: never.
  std::chrono::milliseconds idle_timeout{600'000};
  /// Connections are closed this long after they were opened. Zero: never.
  std::chrono::milliseconds max_lifetime{1'800'000};
  /// Sends an empty statement (one round trip) before handing out a connection that was used
  /// before, so that a connection the server dropped is replaced, not handed out.
  bool test_before_acquire = false;
  /// Each connection's `set_statement_timeout`: zero, none (a statement waits as long as the
  /// server takes); otherwise a statement unanswered in time throws pg_error and its
  /// connection is destroyed at release.
  std::chrono::milliseconds statement_timeout{0};
};

/// A pool of PostgreSQL sessions.
using pg_pool = pool<pg_connection>;

/// Returns the checks `make_pg_pool` installs: `validate` requires CONNECTION_OK (and, with
/// `test_before_acquire`, an answered empty statement); `reusable` requires CONNECTION_OK and
/// no open transaction, so a connection whose session broke, or that a request left inside a
/// transaction, is closed instead of returned.
/// The empty statement waits at most `timeout` for its answer: a server that holds the
/// connection without answering (stopped, hung) fails the check, and the pool closes the
/// connection, instead of blocking `acquire()`.
inline pool_checks<pg_connection> pg_pool_checks(
    bool test_before_acquire, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  pool_checks<pg_connection> checks;
  checks.validate = [test_before_acquire, timeout](pg_connection& c) {
    if (!c.ok()) return false;
    if (!test_before_acquire) return true;
    c.count_round_trips(1);
    PGconn* const conn = c.native();
    if (PQsendQuery(conn, "") != 1) return false;
    // Unanswered in time: the pool closes the connection.
    if (detail::pg_wait(conn, detail::pg_deadline(timeout)) != 1) return false;
    bool answered = false;
    while (PGresult* r = PQgetResult(conn)) {
      answered = answered || PQresultStatus(r) == PGRES_EMPTY_QUERY;
      PQclear(r);
    }
    return answered && c.ok();
  };
  checks.reusable = [](pg_connection& c) { return c.ok() && c.idle(); };
  return checks;
}

/// Makes a pool of sessions opened with `conninfo`, with the guide's options. Opens nothing
/// yet: call `reap()` to open `min_connections`. A failing connect is retried by `acquire()`
/// until its timeout, whose pool_timeout carries libpq's message. Throws what the pool's
/// constructor throws (std::invalid_argument for bad options).
inline pool<pg_connection> make_pg_pool(std::string conninfo, const pg_pool_options& o = {}) {
  pool_options p;
  p.max_size = o.max_connections;
  p.min_idle = o.min_connections;
  p.acquire_timeout = o.acquire_timeout;
  p.idle_timeout = o.idle_timeout;
  p.max_lifetime = o.max_lifetime;
  // Each attempt bounded by the acquire timeout: a server that never answers fails the
  // attempt (and acquire() with pool_timeout) instead of blocking it.
  const std::chrono::milliseconds bound = o.acquire_timeout;
  return pool<pg_connection>(
      [conninfo = std::move(conninfo), bound, statement_timeout = o.statement_timeout] {
        pg_connection c = pg_connection::connect(conninfo, bound);
        c.set_statement_timeout(statement_timeout);
        return c;
      },
      p, pg_pool_checks(o.test_before_acquire, bound));
}

namespace detail {

template <class K>
void pg_append_array_element(std::string& out, const K& k) {
  if constexpr (std::is_integral_v<K>) {
    char buf[24];
    out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, k).ptr - buf));
  } else {
    const std::string_view s(k);
    out += '"';
    for (const char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
}

template <class K>
std::size_t pg_array_element_size(const K& k) {
  if constexpr (std::is_integral_v<K>) {
    return 20;
  } else {
    const std::string_view s(k);
    std::size_t n = s.size() + 2;
    for (const char c : s) n += (c == '"' || c == '\\') ? 1 : 0;
    return n;
  }
}

}  // namespace detail

/// Returns PostgreSQL's text form of an array of `keys` (`{1,2,3}`, `{"a","b\"c"}`), for an
/// array parameter such as `= ANY($1)`. Keys are integers or convertible to std::string_view;
/// strings are double-quoted with `"` and `\` escaped, so any text is safe. One allocation
/// (the size is measured first). Throws std::invalid_argument for a string with a NUL
/// character (text parameters end at the first NUL).
template <class K>
std::string pg_array(std::span<const K> keys) {
  std::size_t n = 2;
  for (const K& k : keys) {
    if constexpr (!std::is_integral_v<K>) {
      if (std::string_view(k).find('\0') != std::string_view::npos) {
        FRUGAL_THROW(std::invalid_argument("pg_array: a key contains a NUL character"));
      }
    }
    n += detail::pg_array_element_size(k) + 1;
  }
  std::string out;
  out.reserve(n);
  out += '{';
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i != 0) out += ',';
    detail::pg_append_array_element(out, keys[i]);
  }
  out += '}';
  return out;
}

/// Runs `sql`, whose `$1` is an array parameter (`... WHERE user_id = ANY($1)`), with `keys`
/// as that array, through the connection's prepared-statement cache, and returns
/// `row_fn(result, row)` for every row: one round trip for any number of keys (the fix for
/// N+1; group the rows with `group_by`). Allocations: the array text, the result vector, and
/// what `row_fn` makes. Throws pg_error, and what `row_fn` throws.
template <class K, class RowFn>
auto pg_fetch_any(pg_connection& conn, std::string_view sql, std::span<const K> keys,
                  RowFn row_fn) {
  using Row = std::invoke_result_t<RowFn&, const pg_result&, int>;
  const std::string array = pg_array(keys);
  const pg_result r = conn.query(sql, array);
  std::vector<Row> rows;
  rows.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) rows.push_back(std::invoke(row_fn, r, i));
  return rows;
}

/// `pg_fetch_any` for a std::vector of keys.
template <class K, class RowFn>
auto pg_fetch_any(pg_connection& conn, std::string_view sql, const std::vector<K>& keys,
                  RowFn row_fn) {
  return pg_fetch_any(conn, sql, std::span<const K>(keys), std::move(row_fn));
}

/// Runs the statements `insert_rows` built (PQexecParams, one round trip each), their
/// parameters as text: `P` is std::string (or std::optional<std::string>, std::nullopt being
/// NULL). Returns the number of rows inserted. Allocates one pointer array for the largest
/// statement. Throws pg_error at the first statement that fails (earlier ones stay, unless
/// the caller wrapped the call in a transaction), std::invalid_argument before a statement
/// one of whose strings has a NUL inside (PostgreSQL's text cannot hold one).
template <class P>
std::uint64_t pg_execute(pg_connection& conn, const std::vector<insert_statement<P>>& statements) {
  static_assert(std::is_same_v<P, std::string> || std::is_same_v<P, std::optional<std::string>>,
                "pg_execute: parameters are std::string or std::optional<std::string>");
  std::size_t most = 0;
  for (const auto& st : statements) most = st.params.size() > most ? st.params.size() : most;
  std::vector<const char*> values(most);
  std::uint64_t inserted = 0;
  for (const auto& st : statements) {
    for (std::size_t i = 0; i < st.params.size(); ++i) {
      if constexpr (std::is_same_v<P, std::string>) {
        values[i] = detail::pg_text_param(st.params[i]);
      } else {
        values[i] = st.params[i] ? detail::pg_text_param(*st.params[i]) : nullptr;
      }
    }
    inserted += conn.exec_params(st.sql.c_str(),
                                 std::span<const char* const>(values.data(), st.params.size()))
                    .affected();
  }
  return inserted;
}

namespace detail {

// Appends one value in COPY's text format: backslash, tab, newline and carriage return
// escaped; std::nullopt is \N.
inline void pg_copy_escape(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

template <class V>
void pg_copy_value(std::string& out, const V& v) {
  if constexpr (std::is_integral_v<V>) {
    char buf[24];
    out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
  } else if constexpr (requires {
                         v.has_value();
                         *v;
                       }) {
    if (v.has_value()) {
      pg_copy_value(out, *v);
    } else {
      out += "\\N";
    }
  } else {
    pg_copy_escape(out, std::string_view(v));
  }
}

// A std::pair, std::tuple or other tuple-like type that is not a range: one value per element.
template <class T>
concept pg_tuple_like = !std::ranges::range<T> && requires {
  std::tuple_size<T>::value;
};

// Checks an identifier for pg_copy and returns its length once double-quoted (quotes doubled).
inline std::size_t pg_identifier_size(std::string_view id, const char* which, std::size_t n) {
  const auto bad = [&](const char* why) {
    FRUGAL_THROW(std::invalid_argument(std::string("pg_copy: ") + which +
                                       (n != 0 ? " " + std::to_string(n - 1) : std::string()) +
                                       " " + why));
  };
  if (id.empty()) bad("is empty");
  std::size_t size = id.size() + 2;
  for (const char ch : id) {
    if (ch == '\0') bad("contains a NUL character");
    if (ch == '"') ++size;
  }
  return size;
}

// Sends `buf` as COPY data, in pieces of at most `most` bytes: PQputCopyData takes an int,
// and a length past INT_MAX would wrap (to 0 or less, which libpq sends nothing for).
inline void pg_copy_send(pg_connection& conn, std::string& buf,
                         std::size_t most = std::size_t{1} << 30) {
  for (std::size_t at = 0; at < buf.size();) {
    const std::size_t n = std::min(buf.size() - at, std::max<std::size_t>(most, 1));
    if (PQputCopyData(conn.native(), buf.data() + at, static_cast<int>(n)) != 1) {
      pg_throw("copy", PQerrorMessage(conn.native()), nullptr);
    }
    at += n;
  }
  buf.clear();
}

}  // namespace detail

/// Options of `pg_copy`.
struct pg_copy_options {
  /// The schema of the table, quoted like the table; empty for none.
  std::string_view schema{};
  /// Rows are sent in chunks of about this many bytes.
  std::size_t chunk_bytes = 64 * 1024;
};

/// Streams `rows` into `table` with `COPY "table" ("a", "b") FROM STDIN` (text format), the
/// fastest way to load many rows: `row_values(row)` returns a sized range (a std::array, a
/// std::vector) or a std::pair or std::tuple of exactly `columns.size()` values, each an integer,
/// something convertible to std::string_view, or a std::optional of either (std::nullopt: NULL);
/// values are escaped for COPY's format, never put into SQL. Data goes in chunks of
/// `options.chunk_bytes`, reusing one buffer (one allocation, plus its growth for a row longer
/// than a chunk). Two round trips however many rows. Returns the number of rows copied.
/// Throws std::invalid_argument for no columns or a bad identifier (as insert_rows),
/// std::logic_error for a row with another number of values, pg_error when the server refuses;
/// a throw mid-way ends the COPY with an error, so no row of this call is kept.
template <std::ranges::forward_range R, class F>
std::uint64_t pg_copy(pg_connection& conn, std::string_view table,
                      std::span<const std::string_view> columns, R&& rows, F row_values,
                      const pg_copy_options& options = {}) {
  if (columns.empty()) FRUGAL_THROW(std::invalid_argument("pg_copy: no columns"));
  std::size_t head = 5 + detail::pg_identifier_size(table, "table", 0) + 2 + 12;
  if (!options.schema.empty()) {
    head += detail::pg_identifier_size(options.schema, "schema", 0) + 1;
  }
  for (std::size_t i = 0; i < columns.size(); ++i) {
    head += detail::pg_identifier_size(columns[i], "column", i + 1) + (i == 0 ? 0 : 2);
  }
  std::string sql;
  {
    builder<std::string> b(head);
    b.append("COPY ");
    if (!options.schema.empty()) {
      detail::append_quoted(b, options.schema);
      b.append('.');
    }
    detail::append_quoted(b, table);
    b.append(" (");
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c != 0) b.append(", ");
      detail::append_quoted(b, columns[c]);
    }
    b.append(") FROM STDIN");
    FRUGAL_ASSERT(b.size() == head);
    sql = std::move(b).build();
  }
  PGconn* c = conn.native();
  conn.count_round_trips(1);
  if (conn.checked(PQexec(c, sql.c_str()), "copy").status() != PGRES_COPY_IN) {
    detail::pg_throw("copy", "the server did not enter COPY IN mode", nullptr);
  }
  std::string buf;
  std::uint64_t n = 0;
  const auto abort_copy = [&](const char* why) {
    PQputCopyEnd(c, why);
    while (PGresult* r = PQgetResult(c)) PQclear(r);
  };
#if FRUGAL_HAS_EXCEPTIONS
  try {
#endif
    buf.reserve(options.chunk_bytes + 256);
    for (auto&& row : rows) {
      auto&& values = std::invoke(row_values, row);
      using Values = std::remove_cvref_t<decltype(values)>;
      std::size_t got = 0;
      if constexpr (detail::pg_tuple_like<Values>) {
        got = std::tuple_size_v<Values>;
      } else {
        got = detail::range_count(values);
      }
      if (got != columns.size()) {
        FRUGAL_THROW(std::logic_error("pg_copy: row " + std::to_string(n) + " gave " +
                                      std::to_string(got) + " values for " +
                                      std::to_string(columns.size()) + " columns"));
      }
      bool first = true;
      const auto put = [&](const auto& v) {
        if (!first) buf += '\t';
        first = false;
        detail::pg_copy_value(buf, v);
      };
      if constexpr (detail::pg_tuple_like<Values>) {
        std::apply([&](const auto&... v) { (put(v), ...); }, values);
      } else {
        for (auto&& v : values) put(v);
      }
      buf += '\n';
      ++n;
      if (buf.size() >= options.chunk_bytes) detail::pg_copy_send(conn, buf);
    }
    detail::pg_copy_send(conn, buf);
#if FRUGAL_HAS_EXCEPTIONS
  } catch (...) {
    abort_copy("pg_copy: aborted by the client");
    throw;
  }
#endif
  conn.count_round_trips(1);
  if (PQputCopyEnd(c, nullptr) != 1) {
    abort_copy("pg_copy: could not end");
    detail::pg_throw("copy", PQerrorMessage(c), nullptr);
  }
  PGresult* last = PQgetResult(c);
  while (PGresult* r = PQgetResult(c)) PQclear(r);
  (void)conn.checked(last, "copy");
  return n;
}

/// `pg_copy` with the columns as a braced list: `pg_copy(conn, "t", {"a", "b"}, rows, f)`.
template <std::ranges::forward_range R, class F>
std::uint64_t pg_copy(pg_connection& conn, std::string_view table,
                      std::initializer_list<std::string_view> columns, R&& rows, F row_values,
                      const pg_copy_options& options = {}) {
  return pg_copy(conn, table, std::span<const std::string_view>(columns.begin(), columns.size()),
                 std::forward<R>(rows), std::move(row_values), options);
}

FRUGAL_END_NAMESPACE
