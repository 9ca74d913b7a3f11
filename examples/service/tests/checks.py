#!/usr/bin/env python3
"""Checks a twin beyond the replay: bad input on raw sockets, server faults, configuration
reload on SIGHUP (examples/service/README.md).

    checks.py bad_input BINARY   malformed requests answered 4xx, the process still serves
    checks.py faults BINARY      Redis stopped: reads from PostgreSQL; PostgreSQL stopped: 503
                                 where it is needed; both back: 200 again, no crash
    checks.py sighup BINARY      max_ids 100 -> 5 in the config file, SIGHUP, 6 ids refused;
                                 max_batch too; a file that does not parse changes nothing
    checks.py meter BINARY PRELOAD  the allocation figures on /metrics: a cached
                                 GET /users/{id} hands its answer to cpp-httplib in exactly 3
                                 (frugal) or 4 (naive) allocations, a GET /users?ids= page in
                                 2 or 4; the frugal twin's handler makes none for a cached
                                 user; with
                                 PRELOAD (libservice-malloc-count.so; `-`: none, a sanitized
                                 build) the process count covers both; without it the series
                                 is absent

Needs the fixture servers (run through ctest: `ctest -R service/`)."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import twin

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"  not ok: {message}", file=sys.stderr)


def expect(service, method, path, status, body=None, payload=b""):
    response = service.request(method, path, payload)
    if response is None:
        check(False, f"{method} {path}: no response")
        return None
    got_status, _, got_body = response
    check(got_status == status, f"{method} {path}: status {got_status}, expected {status}"
          f" (body {got_body[:200]!r})")
    if body is not None:
        check(got_body == body, f"{method} {path}: body {got_body[:200]!r}, expected {body!r}")
    return response


def healthy(service, after):
    response = service.request("GET", "/health")
    check(response is not None and response[0] == 200 and response[2] == b"ok",
          f"GET /health after {after}: {response!r}")
    check(service.alive(), f"the process died after {after}")


def eventually(service, method, path, status, seconds=10.0):
    """Polls until `path` answers `status` (a server coming back takes a moment)."""
    deadline = time.monotonic() + seconds
    response = None
    while time.monotonic() < deadline:
        response = service.request(method, path)
        if response is not None and response[0] == status:
            return response
        time.sleep(0.2)
    check(False, f"{method} {path}: not {status} within {seconds} s, last answer {response!r}")
    return response


def bad_input(binary):
    command_line(binary)
    twin.reset_data()
    with twin.twin(binary) as service:
        for name, data in [
            ("a request line that is not HTTP", b"GARBAGE\r\n\r\n"),
            ("a request line without a target", b"GET\r\n\r\n"),
            ("an unknown HTTP version", b"GET /health HTTP/9.9\r\n\r\n"),
            ("binary bytes", b"\x00\x01\x02\xff\r\n\r\n"),
            ("a request line with spaces in the target", b"GET /users /1 HTTP/1.1\r\n\r\n"),
        ]:
            response = service.raw(data)
            check(response is not None and 400 <= response[0] < 500,
                  f"{name}: expected a 4xx, got {response!r}")
            healthy(service, name)

        headers = b"".join(b"X-Header-%d: %d\r\n" % (i, i) for i in range(100))
        response = service.raw(b"GET /users/1 HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        check(response is not None and response[0] == 431 and
              response[2] == b'{"error":"headers too large"}',
              f"100 headers: expected 431 headers too large, got {response!r}")
        healthy(service, "100 headers")

        response = service.raw(b"GET /users/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 16384 +
                               b"\r\n\r\n")
        check(response is not None and response[0] == 431 and
              response[2] == b'{"error":"headers too large"}',
              f"a 16 KiB header: expected 431 headers too large, got {response!r}")
        healthy(service, "a 16 KiB header")

        body = b"[" + b" " * (1024 * 1024 - 2) + b"]"
        response = service.raw(b"POST /posts HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                               % len(body) + body)
        check(response is not None and response[0] == 413 and
              response[2] == b'{"error":"payload too large"}',
              f"a 1 MiB body: expected 413 payload too large, got {response!r}")
        healthy(service, "a 1 MiB body")

        edge_cases(service)

        for bad in ["0", "-1", "01", "1x", "18446744073709551616", "", "%00", "1%0a"]:
            expect(service, "GET", f"/users/{bad}", 400, b'{"error":"invalid id"}')
            expect(service, "GET", f"/users?ids=1,{bad}", 400, b'{"error":"invalid id"}')
        healthy(service, "invalid ids")


def edge_cases(service):
    """What cpp-httplib would let through, answered by the contract's edge rules."""
    whole = service.request("GET", "/users/1")
    for path, body in [("/health", b"ok"), ("/users/1", whole[2] if whole else None)]:
        response = service.request("GET", path, headers=[("Range", "bytes=0-1")])
        check(response is not None and response[0] == 200 and response[2] == body and
              "content-range" not in response[1],
              f"GET {path} with a Range: expected the whole 200 answer, got {response!r}")

    # A GET's body is refused and its connection closed: never read as a request of its own.
    smuggled = b"GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as s:
        s.sendall(b"GET /users/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                  % len(smuggled) + smuggled)
        first = twin.read_response(s)
        check(first is not None and first[0] == 400 and first[2] == b'{"error":"bad request"}',
              f"a GET with a body: expected 400 bad request, got {first!r}")
        second = twin.read_response(s)
        check(second is None, f"a GET's body was answered as a request: {second!r}")
    response = service.raw(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n")
    check(response is not None and response[0] == 413,
          f"a GET announcing a 64 KiB + 1 body: expected 413, got {response!r}")

    # A chunked body over the limit (cpp-httplib checks only a Content-Length), a bad chunk.
    item = b'{"user_id":1,"title":"t","body":"' + b"b" * 1000 + b'"},'
    batch = b"[" + item * 70 + item[:-1] + b"]"
    chunked = b"%x\r\n" % len(batch) + batch + b"\r\n0\r\n\r\n"
    response = service.raw(b"POST /posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\n" + chunked)
    check(response is not None and response[0] == 413 and
          response[2] == b'{"error":"payload too large"}',
          f"a chunked body over 64 KiB: expected 413 payload too large, got {response!r}")
    response = service.raw(b"POST /posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\nzz\r\n[]\r\n0\r\n\r\n")
    check(response is not None and response[0] == 400 and
          response[2] == b'{"error":"bad request"}',
          f"a bad chunk size: expected 400 bad request, got {response!r}")

    # A POST with neither Content-Length nor Transfer-Encoding has an empty body (RFC 9112),
    # answered at once (not after the server's 5 s read timeout).
    started = time.monotonic()
    response = service.raw(b"POST /posts HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10.0)
    took = time.monotonic() - started
    check(response is not None and response[0] == 400 and
          response[2] == b'{"error":"bad json"}' and took < 2.0,
          f"a POST without a length: expected 400 bad json at once, got {response!r}"
          f" after {took:.1f} s")

    # Methods cpp-httplib does not route: as any other method the path does not serve.
    for method, path, status in [("TRACE", "/users/1", 405), ("TRACE", "/nowhere", 404),
                                 ("CONNECT", "/health", 405)]:
        response = service.raw(f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\n\r\n".encode())
        check(response is not None and response[0] == status,
              f"{method} {path}: expected {status}, got {response!r}")
    healthy(service, "the edge cases")


def command_line(binary):
    """Ports and thread counts out of range are refused at start (exit 2)."""
    for args in (["--port", "70000"], ["--port", "1", "--redis-port", "65536"],
                 ["--port", "1", "--threads", "100000"]):
        argv = [binary, "--postgres", "postgresql://127.0.0.1:1/x", "--redis-port", "1"] + args
        result = subprocess.run(argv, capture_output=True, timeout=30)
        check(result.returncode == 2 and b"listening" not in result.stdout,
              f"{' '.join(args)}: expected exit 2 before listening, got {result.returncode}"
              f" {result.stdout[-200:]!r} {result.stderr[-200:]!r}")


def faults(binary):
    twin.reset_data()
    user = lambda i: (f'{{"id":{i},"name":"User {i}","email":"user{i}@example.com"}}').encode()
    with twin.twin(binary) as service:
        expect(service, "GET", "/users/20", 200, user(20))

        print("Redis stopped: reads come from PostgreSQL", file=sys.stderr)
        twin.servers_tool("stop", twin.REDIS_FIXTURE)
        try:
            expect(service, "GET", "/users/21", 200, user(21))
            expect(service, "GET", "/users?ids=22,23", 200,
                   b'{"users":[' + user(22) + b"," + user(23) + b"]}")
            expect(service, "GET", "/users/3/posts", 200)
            expect(service, "GET", "/users/20", 200, user(20))
        finally:
            twin.servers_tool("restart", twin.REDIS_FIXTURE)
        eventually(service, "GET", "/users/24", 200)

        print("Redis paused: a slow cache is a miss, not a hang", file=sys.stderr)
        twin.servers_tool("pause", twin.REDIS_FIXTURE)
        try:
            start = time.monotonic()
            expect(service, "GET", "/users/25", 200, user(25))
            expect(service, "GET", "/users?ids=26,25", 200,
                   b'{"users":[' + user(26) + b"," + user(25) + b"]}")
            took = time.monotonic() - start
            check(took < 5.0, f"two reads with Redis paused took {took:.1f} s")
        finally:
            twin.servers_tool("resume", twin.REDIS_FIXTURE)
        eventually(service, "GET", "/users/27", 200)

        print("PostgreSQL stopped: 503 where it is needed", file=sys.stderr)
        unavailable = b'{"error":"database unavailable"}'
        twin.servers_tool("stop", twin.POSTGRES_FIXTURE)
        try:
            expect(service, "GET", "/users/30", 503, unavailable)
            expect(service, "GET", "/users/3/posts", 503, unavailable)
            expect(service, "GET", "/users?ids=20,31", 503, unavailable)
            expect(service, "POST", "/posts", 503, unavailable,
                   b'[{"user_id":1,"title":"t","body":"b"}]')
            expect(service, "GET", "/health", 503)
            # Answered by the local cache without the database.
            expect(service, "GET", "/users/20", 200, user(20))
            expect(service, "GET", "/users?ids=20,20", 200, b'{"users":[' + user(20) + b"," +
                   user(20) + b"]}")
            # Bad input is refused before the database is needed.
            expect(service, "POST", "/posts", 400, b'{"error":"bad json"}', b"[")
        finally:
            twin.servers_tool("restart", twin.POSTGRES_FIXTURE)
        eventually(service, "GET", "/users/3/posts", 200)
        expect(service, "GET", "/users/30", 200, user(30))
        expect(service, "GET", "/health", 200, b"ok")

        print("both stopped, then both restarted", file=sys.stderr)
        twin.servers_tool("stop", twin.REDIS_FIXTURE)
        twin.servers_tool("stop", twin.POSTGRES_FIXTURE)
        try:
            expect(service, "GET", "/users/40", 503, unavailable)
            expect(service, "GET", "/users/30", 200, user(30))
        finally:
            twin.servers_tool("restart", twin.POSTGRES_FIXTURE)
            twin.servers_tool("restart", twin.REDIS_FIXTURE)
        eventually(service, "GET", "/users/40", 200)
        expect(service, "GET", "/users?ids=41,42", 200,
               b'{"users":[' + user(41) + b"," + user(42) + b"]}")
        expect(service, "POST", "/posts", 201, b'{"ids":[15001]}',
               b'[{"user_id":1,"title":"t","body":"b"}]')
        healthy(service, "the faults")


def sighup(binary):
    twin.reset_data()
    ids = lambda n: "/users?ids=" + ",".join(str(i) for i in range(1, n + 1))
    too_many = b'{"error":"too many ids"}'
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "service.conf")

        def write(text):
            # A new file renamed over the old one, as an editor or a deployment would.
            with open(path + ".new", "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(path + ".new", path)

        write("# the service's limits\nmax_ids = 100\nmax_batch = 100\n")
        with twin.twin(binary, config=path) as service:
            expect(service, "GET", ids(6), 200)

            write("max_ids = 5  # fewer\nmax_batch = 100\n")
            service.signal(signal.SIGHUP)
            eventually(service, "GET", ids(6), 400, seconds=5)
            expect(service, "GET", ids(6), 400, too_many)
            expect(service, "GET", ids(5), 200)

            posts = lambda n: ("[" + ",".join('{"user_id":1,"title":"t","body":"b"}'
                                              for _ in range(n)) + "]").encode()
            write("max_ids = 5\nmax_batch = 2\n")
            service.signal(signal.SIGHUP)
            eventually_post = time.monotonic() + 5
            while time.monotonic() < eventually_post:
                response = service.request("POST", "/posts", posts(3))
                if response is not None and response[0] == 400:
                    break
                time.sleep(0.2)
            expect(service, "POST", "/posts", 400, b'{"error":"bad json"}', posts(3))
            expect(service, "POST", "/posts", 201, None, posts(2))

            write("max_ids = five\n")
            service.signal(signal.SIGHUP)
            time.sleep(1.0)
            expect(service, "GET", ids(6), 400, too_many)
            expect(service, "GET", ids(5), 200)
            check(service.stderr_text().strip() != "",
                  "a configuration that does not parse: no line on stderr")

            write("max_ids = 100\n")
            service.signal(signal.SIGHUP)
            eventually(service, "GET", ids(6), 200, seconds=5)
            healthy(service, "the reloads")


def series(text, name, route=None):
    """The value of `name` (with route="`route`" when given), or None when absent."""
    label = f'{{route="{route}"}}' if route else ""
    for line in text.splitlines():
        if line.startswith(name + label + " "):
            return float(line.split()[-1])
    return None


def scrape(service):
    response = service.request("GET", "/metrics")
    check(response is not None and response[0] == 200, f"GET /metrics: {response!r}")
    return response[2].decode() if response else ""


def repeated(service, path, route, names, n):
    """Requests `path` once (so that what it reads is cached), then `n` times between two
    scrapes; returns both scrapes and, for each of `names`, its series for `route` moved by."""
    expect(service, "GET", path, 200)
    before = scrape(service)
    for _ in range(n):
        expect(service, "GET", path, 200)
    after = scrape(service)
    moved = {}
    for name in names:
        b, a = series(before, name, route), series(after, name, route)
        check(a is not None, f"{name}{{route=\"{route}\"}} is not on /metrics")
        moved[name] = (a or 0) - (b or 0)
    return before, after, moved


def meter(binary, preload):
    twin.reset_data()
    frugal = "frugal" in os.path.basename(binary)
    route = "/users/{id}"
    n = 20
    env = {"LD_PRELOAD": preload} if preload != "-" else {}
    with twin.twin(binary, env=env) as service:
        # The user is loaded and cached by the first request; the next ones are hits.
        before, after, d = repeated(
            service, "/users/7", route,
            ("service_handoff_allocations_total", "service_handler_allocations_total"), n)
        # The cached JSON copied into Response::body, the Content-Type header's map node and
        # its 16-byte value ("application/json", past libstdc++'s short-string buffer); the
        # naive twin's set_content(body, "application/json") also makes a temporary
        # std::string of the literal.
        per = 3 if frugal else 4
        check(d["service_handoff_allocations_total"] == per * n,
              f"hand-off: {d['service_handoff_allocations_total']} allocations for {n} cached "
              f"GET {route}, expected {per * n}")
        if frugal:
            check(d["service_handler_allocations_total"] == 0,
                  f"frugal handler: {d['service_handler_allocations_total']} allocations for "
                  f"{n} cached GET {route}, expected 0")
        else:
            check(d["service_handler_allocations_total"] >= n,
                  f"naive handler: {d['service_handler_allocations_total']} allocations for "
                  f"{n} cached GET {route}, expected at least one each")
        # A page of cached users: the frugal twin moves the body it built into the response
        # (the header's node and value remain); the naive twin's set_content copies it.
        page = "/users?ids=1,2,3"
        _, _, moved = repeated(service, page, "/users", ("service_handoff_allocations_total",), n)
        per_page = 2 if frugal else 4
        check(moved["service_handoff_allocations_total"] == per_page * n,
              f"hand-off: {moved['service_handoff_allocations_total']} allocations for {n} "
              f"GET {page}, expected {per_page * n}")
        p0 = series(before, "service_process_allocations_total")
        p1 = series(after, "service_process_allocations_total")
        if preload == "-":
            check(p0 is None and p1 is None,
                  "service_process_allocations_total without the counting library preloaded")
            return
        check(p0 is not None and p1 is not None,
              "service_process_allocations_total is not on /metrics with the counting library "
              "preloaded")
        if p0 is not None and p1 is not None:
            counted = sum(d.values())
            check(p1 - p0 >= counted,
                  f"process allocations {p1 - p0} < the handlers' and hand-offs' {counted}")
    with twin.twin(binary) as service:
        check(series(scrape(service), "service_process_allocations_total") is None,
              "service_process_allocations_total without the counting library preloaded")


def main():
    modes = ("bad_input", "faults", "sighup", "meter")
    if len(sys.argv) < 3 or sys.argv[1] not in modes or \
            len(sys.argv) != (4 if sys.argv[1] == "meter" else 3):
        print(__doc__, file=sys.stderr)
        return 2
    mode, binary = sys.argv[1], sys.argv[2]
    globals()[mode](*sys.argv[2:])
    if failures:
        twin.fail(f"{binary} {mode}: {len(failures)} check(s) failed")
    print(f"{os.path.basename(binary)} {mode}: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
