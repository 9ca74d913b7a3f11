// What both twins do alike at the edge between cpp-httplib and their handlers: the signals
// left to a sigwait thread, which request headers count against the limit, what a request cpp-httplib refused before any handler ran
// is answered, the listen backlog, and the two allocation figures beside the handlers' own:
// the hand-off of a finished answer to cpp-httplib's Response, and the whole process's
// allocations. Kept in one place so that the twins cannot differ where they must not.
#pragma once

#include <dlfcn.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "meter_shim.hpp"

namespace service_edge {

// Header lines cpp-httplib adds to each request itself, not counted against the limit.
inline bool added_by_httplib(std::string_view name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
         name == "LOCAL_PORT";
}

// The request's own header lines.
inline std::size_t header_count(const httplib::Request& req) {
  std::size_t count = 0;
  for (const auto& header : req.headers) count += added_by_httplib(header.first) ? 0 : 1;
  return count;
}

inline constexpr std::size_t max_headers = 64;
inline constexpr int max_threads = 1024;  // --threads: a worker thread per request in flight
inline constexpr std::size_t max_body = 64 * 1024;

struct refusal {
  int status;
  const char* message;
  bool close = false;  // the connection must close after the answer
};

// A body read whole (chunked or compressed: cpp-httplib bounds only a Content-Length) that
// is over the limit. cpp-httplib reads a body after the pre-routing handler, so the handlers
// and the error handler ask this themselves.
inline bool body_too_large(const httplib::Request& req) { return req.body.size() > max_body; }

// The methods cpp-httplib routes; it refuses any other (TRACE, ...) with a 400 of its own.
inline bool routable_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "POST" || method == "PUT" ||
         method == "DELETE" || method == "OPTIONS" || method == "PATCH";
}

// The answer to a request cpp-httplib refused with `status` before any handler ran.
// `known_path`: the path is one the service serves (then a 404 means the method is wrong).
inline refusal refusal_for(const httplib::Request& req, int status, bool known_path) {
  if (body_too_large(req)) return {413, "payload too large"};
  switch (status) {
    case 400:
      // A request line that did not parse leaves no path.
      if (req.path.empty()) return {400, "bad request"};
      // A well-formed method that cpp-httplib does not route (TRACE, CONNECT, PRI): as any
      // method the path does not serve.
      if (!routable_method(req.method) && !req.method.empty() &&
          req.method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos) {
        return known_path ? refusal{405, "method not allowed"} : refusal{404, "not found"};
      }
      // A body that cpp-httplib could not read (a bad chunk, an encoding it cannot decode).
      if (req.has_header("Transfer-Encoding") || req.has_header("Content-Encoding")) {
        return {400, "bad request"};
      }
      // Otherwise a header line was at fault (cpp-httplib refuses one over 8 KiB).
      return {431, "headers too large"};
    case 413:
      return {413, "payload too large"};
    case 404:
      return known_path ? refusal{405, "method not allowed"} : refusal{404, "not found"};
    case 414:
      return {414, "uri too long"};
    default:
      return {status, "bad request"};
  }
}

// The limits that come before routing, for what cpp-httplib lets through: more than
// `max_headers` header lines (431); a Content-Length over `max_body` on any method (413;
// cpp-httplib checks it only for the methods that carry a body, and a chunked or compressed
// body only once read: body_too_large); and a body on a GET or HEAD (400), which cpp-httplib
// does not read, so that its bytes would be taken for the next request on the connection: the
// answer closes the connection. Also drops a `Range` header's ranges: every answer is whole
// (cpp-httplib would cut a 200's body to the range). Returns the refusal, if any.
inline std::optional<refusal> early_refusal(const httplib::Request& req) {
  const_cast<httplib::Request&>(req).ranges.clear();  // the server's own, mutable object
  if (header_count(req) > max_headers) return refusal{431, "headers too large"};
  const bool bodiless = req.method == "GET" || req.method == "HEAD";
  if (req.has_header("Content-Length")) {
    const std::string& declared = req.get_header_value("Content-Length");
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(declared.data(), declared.data() + declared.size(), n);
    if (ec != std::errc() || end != declared.data() + declared.size() || n > max_body) {
      return ec == std::errc::invalid_argument ? refusal{400, "bad request", true}
                                               : refusal{413, "payload too large", true};
    }
    if (bodiless && n != 0) return refusal{400, "bad request", true};
  }
  if (bodiless && req.has_header("Transfer-Encoding")) return refusal{400, "bad request", true};
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112, 6.3);
  // cpp-httplib would read one until the client closes the connection, so that a POST
  // without them waited for the read timeout. It is told the length: none.
  if (!bodiless && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
    const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
  }
  return std::nullopt;
}

// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread, and so in every thread it starts
// later, for one sigwait thread to take them; ignores SIGPIPE. Returns the blocked set.
inline sigset_t block_service_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

// cpp-httplib listens with a backlog of 5; the contract wants 1,024 pending connections.
class http_server : public httplib::Server {
 public:
  void raise_backlog() { ::listen(svr_sock_, 1024); }
};

// The hand-off: putting a finished answer into cpp-httplib's Response (the body copied or
// moved into Response::body, the Content-Type header's map node and value). Every answer of a
// metered route (all but /metrics, which is left out of every figure) goes through a
// handoff_scope in both twins; the handler's figures leave these allocations out and the twins
// export them apart, as service_handoff_allocations_total{route}. Answers cpp-httplib's
// refusals get (the pre-routing and error handlers) are metered too but belong to no route:
// the next begin_request() drops them.
inline thread_local frugal::allocation_totals handoff_totals{};
inline thread_local int handoff_depth = 0;

class handoff_scope {
 public:
  handoff_scope() noexcept { ++handoff_depth; }
  handoff_scope(const handoff_scope&) = delete;
  handoff_scope& operator=(const handoff_scope&) = delete;
  ~handoff_scope() {
    meter_.stop();
    // A scope inside another is already counted by the outer one.
    if (--handoff_depth != 0) return;
    const frugal::allocation_totals t = meter_.totals();
    handoff_totals.allocations += t.allocations;
    handoff_totals.bytes += t.bytes;
    handoff_totals.deallocations += t.deallocations;
  }

 private:
  frugal::allocation_meter_scope meter_;
};

// A request's allocations split in two: the handler's (what the request's scope counted, less
// the hand-offs made since begin_request()) and the hand-offs'. Every hand-off scope of the
// request lies inside the request's scope on the same thread, so the difference cannot wrap.
struct request_allocations {
  frugal::allocation_totals handler, handoff;
};

inline void begin_request() noexcept { handoff_totals = {}; }

inline request_allocations split(const frugal::allocation_totals& all) noexcept {
  const frugal::allocation_totals h = handoff_totals;
  return {{all.allocations - h.allocations, all.bytes - h.bytes,
           all.deallocations - h.deallocations},
          h};
}

// The whole process's heap allocations (malloc, calloc, realloc and the aligned forms, from
// every thread and every library, libpq and hiredis included) when the counting library
// (examples/service/malloc_count.cpp, libservice-malloc-count.so) is preloaded; -1 otherwise.
inline long long process_allocations() noexcept {
  using count_fn = unsigned long long (*)() noexcept;
  static const count_fn count =
      reinterpret_cast<count_fn>(dlsym(RTLD_DEFAULT, "service_malloc_count"));
  return count ? static_cast<long long>(count()) : -1;
}

// Appends service_process_allocations_total to a scrape, where the count is available.
inline void append_process_allocations(std::string& exposition) {
  const long long n = process_allocations();
  if (n < 0) return;
  exposition +=
      "# HELP service_process_allocations_total Heap allocations (malloc and its kin) of the "
      "whole process, every thread and library.\n"
      "# TYPE service_process_allocations_total counter\n"
      "service_process_allocations_total ";
  exposition += std::to_string(n);
  exposition += '\n';
}

}  // namespace service_edge
