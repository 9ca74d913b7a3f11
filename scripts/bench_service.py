#!/usr/bin/env python3
"""Puts the example service's twins under load and writes report.json and report.md (run it
through scripts/bench-service, which builds the twins first; `--help` there lists the options).

For each twin (service-naive, service-frugal) and each request mix (scripts/service_mix.lua),
one run from a cold state: the database reseeded, Redis emptied with its statistics reset, the
twin started on a free loopback port, /metrics scraped, wrk for --duration seconds, /metrics
scraped again, the twin's peak RSS read, the twin stopped (SIGTERM), the servers' counters read.
What each figure is:

- requests/s, latency p50 and p99: wrk's (--latency; its percentiles, read by the Lua done()).
- handler CPU and allocations per request: the deltas of service_handler_cpu_seconds_total,
  service_handler_allocations_total and service_handler_allocation_bytes_total over the delta
  of service_requests_total, every route but /metrics (the contract's metrics). The handler's
  allocations leave out the hand-off of its finished answer to cpp-httplib's Response (the
  body string, the Content-Type header), the same code in both twins
  (examples/service/http_edge.hpp): that is service_handoff_allocations_total, reported beside.
- process allocations per request: the delta of service_process_allocations_total (every
  malloc, calloc, realloc and aligned allocation of the twin's process, every thread and
  library, libpq and hiredis included, counted by libservice-malloc-count.so, which this script
  preloads into both twins) over the same requests; it includes cpp-httplib's reading and
  writing, the background threads and the two scrapes of /metrics.
- per route: the handler's and the hand-off's allocations and the handler CPU per request of
  each route, from the same series' route labels.
- peak RSS: VmHWM of /proc/<pid>/status just before the twin is stopped.
- database: pg_stat_statements is not available, so two counters of PostgreSQL's statistics,
  read before the twin starts and after it has exited (a backend reports its counts when it
  exits): transactions (xact_commit + xact_rollback of the service's database, less the one
  read before) and table scans (seq_scan + idx_scan of pg_stat_user_tables). A statement
  outside a transaction block is one transaction; a lookup by key is one index scan per table
  it reads.
- Redis commands: the calls of INFO commandstats after the run (CONFIG RESETSTAT before it),
  less INFO and CONFIG themselves.

Every "per request" divides by the requests the twin answered (the delta of
service_requests_total without /metrics), which exceeds wrk's count by the requests still in
flight when wrk stopped.

Each comparison and attribution run first drives the twin with the same mix for --warmup
seconds (default 5; 0: none), then scrapes /metrics and measures --duration seconds: requests
per second, latency and the handler figures (allocations, CPU) are the measured window's, with
the caches warm. The database and Redis figures per request cover the twin's whole life
(warm-up included) over all the requests it answered, since the servers' counters cannot be
read at the window's edges.

--attribution: the cached mix run with service-frugal once with every part frugal, once with
each part in turn swapped for the naive twin's way of doing its job (--naive-parts PART: cache,
batch, pool, json, parse, metrics, config) and once with all of them swapped; each part's row
is its difference against all-frugal in handler allocations and CPU per request.

--faults: the mixed mix for 3 x --duration seconds with a fault, per twin: (a) Redis stopped
at --duration and started again at 2 x --duration, (b) PostgreSQL restarted at --duration.
wrk counts every response by status (service_mix.lua `statuses`) and every request it wrote;
a poller writes GET /users/{id}/posts and GET /users/{id} in turn every 50 ms on a connection
of its own and logs each status. What each figure is:
- responses by status, 5xx: wrk's counts; socket errors: wrk's connect/read/write/timeout.
- unanswered: requests written less responses read; up to --connections of them are still in
  flight when wrk stops, so lost = unanswered - connections - socket errors (at least 0) must
  be 0.
- errors stop: the time of the first poll after which every poll answered 2xx; recovery: that
  less the time the server was back (Redis started, PostgreSQL's restart finished), 0 when
  the errors stopped before.
- the poller's statuses, per second of the run.

--markdown REPORT.json prints the tables of a report for docs/service.md and runs nothing.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import printed_block  # noqa: E402

SERVICE_DIR = os.path.join(ROOT, "examples", "service")
SERVERS = os.path.join(ROOT, "tests", "fixtures", "servers.py")
MIX_SCRIPT = os.path.join(HERE, "service_mix.lua")
TWINS = {"naive": "service-naive", "frugal": "service-frugal"}
PARTS = ("cache", "batch", "pool", "json", "parse", "metrics", "config")
POLL_INTERVAL_S = 0.05
MIXES = ("cached", "mixed")
POSTGRES = "bench_service_postgres"
REDIS = "bench_service_redis"

sys.path.insert(0, os.path.dirname(SERVERS))
import servers  # noqa: E402  (redis_command: one RESP command)


class BenchError(Exception):
    pass


def log(message):
    print(f"bench-service: {message}", flush=True)


def psql_program():
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True,
                                text=True).stdout.strip()
        if os.path.exists(os.path.join(bindir, "psql")):
            return os.path.join(bindir, "psql")
    return shutil.which("psql")


class fixtures:
    """PostgreSQL and Redis of this run, started and stopped through servers.py."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.up = []

    def tool(self, *args):
        r = subprocess.run([sys.executable, SERVERS, "--state-dir", self.state_dir] + list(args),
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise BenchError(f"servers.py {' '.join(args)}: {r.stderr.strip() or r.stdout}")
        return r.stdout

    def start(self, name, kind):
        self.tool("up", name, kind)
        self.up.append(name)
        env = {}
        with open(os.path.join(self.state_dir, name + ".env")) as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    env[key] = value
        return env

    def stop_all(self):
        for name in reversed(self.up):
            try:
                self.tool("down", name)
            except BenchError as e:
                print(f"bench-service: {e}", file=sys.stderr)
        self.up = []


def psql(psql_bin, url, *args):
    r = subprocess.run([psql_bin, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url] +
                       list(args), capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise BenchError(f"psql {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def database_counters(psql_bin, url):
    row = psql(psql_bin, url, "-c",
               "SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database "
               "WHERE datname = current_database()), "
               "(SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0) "
               "FROM pg_stat_user_tables)")
    xacts, scans = row.split("|")
    return int(xacts), int(scans)


def redis_commandstats(port):
    text = servers.redis_command(port, "INFO", "commandstats", timeout=5.0)
    calls = {}
    for m in re.finditer(r"^cmdstat_([^:]+):calls=(\d+)", text, re.M):
        calls[m.group(1)] = int(m.group(2))
    return calls


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return status, body.decode(errors="replace")


# A sample line: name, labels (values are quoted and may hold braces: route="/users/{id}"),
# value.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)')


def metric_sums(text, names):
    """Sums of each metric in `names` over its label sets, leaving out route="...metrics..."."""
    sums = {n: 0.0 for n in names}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) not in sums:
            continue
        if m.group(2) and re.search(r'route="[^"]*metrics[^"]*"', m.group(2)):
            continue
        try:
            sums[m.group(1)] += float(m.group(3))
        except ValueError:
            pass
    return sums


METRICS = ("service_requests_total", "service_handler_cpu_seconds_total",
           "service_handler_allocations_total", "service_handler_allocation_bytes_total",
           "service_handoff_allocations_total", "service_process_allocations_total")
ROUTE_METRICS = ("service_requests_total", "service_handler_cpu_seconds_total",
                 "service_handler_allocations_total", "service_handoff_allocations_total")
PRELOAD = "libservice-malloc-count.so"


def metric_by_route(text, names):
    """{route: {name: sum}} of each metric in `names`, over the series of each route label."""
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) not in names or not m.group(2):
            continue
        r = re.search(r'route="((?:[^"\\]|\\.)*)"', m.group(2))
        if not r:
            continue
        try:
            v = float(m.group(3))
        except ValueError:
            continue
        per = out.setdefault(r.group(1), {n: 0.0 for n in names})
        per[m.group(1)] += v
    return out


def route_figures(before, after):
    """Per route (but /metrics): requests and, per request, handler and hand-off allocations
    and handler CPU, over the measured window."""
    b, a = metric_by_route(before, ROUTE_METRICS), metric_by_route(after, ROUTE_METRICS)
    out = {}
    for route, m1 in sorted(a.items()):
        if "metrics" in route:
            continue
        m0 = b.get(route, {n: 0.0 for n in ROUTE_METRICS})
        d = {n: m1[n] - m0[n] for n in ROUTE_METRICS}
        n = d["service_requests_total"]
        if n <= 0:
            continue
        out[route] = {"requests": n,
                      "allocations_per_request": d["service_handler_allocations_total"] / n,
                      "handoff_allocations_per_request":
                          d["service_handoff_allocations_total"] / n,
                      "handler_cpu_us_per_request":
                          d["service_handler_cpu_seconds_total"] * 1e6 / n}
    return out


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def start_twin(binary, postgres, redis, threads, log_file, naive_parts=None):
    extra = ["--naive-parts", naive_parts] if naive_parts else []
    env = dict(os.environ)
    env["LD_PRELOAD"] = os.path.join(os.path.dirname(binary), PRELOAD)
    for _ in range(5):
        port = free_port()
        p = subprocess.Popen([binary, "--port", str(port), "--postgres", postgres["URL"],
                              "--redis-port", redis["PORT"], "--threads", str(threads)] + extra,
                             stdout=subprocess.PIPE, stderr=log_file, env=env)
        line = p.stdout.readline().decode(errors="replace")
        if line.startswith(f"listening on 127.0.0.1:{port}"):
            # Whatever it prints later must not fill the pipe and block it.
            threading.Thread(target=p.stdout.read, daemon=True).start()
            return p, port
        p.kill()
        p.wait()
    raise BenchError(f"{os.path.basename(binary)} did not print 'listening on 127.0.0.1:PORT' "
                     f"(its stderr: {log_file.name})")


def stop_twin(p):
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "killed after 30 s"
    return None if code == 0 else f"exit code {code}"


def run_wrk(port, mix, args, out_path, duration=None, statuses=False):
    duration = duration or args.duration
    command = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections),
               "-d", f"{duration}s", "--latency", "-s", MIX_SCRIPT,
               f"http://127.0.0.1:{port}", "--", mix] + (["statuses"] if statuses else [])
    r = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    with open(out_path, "w") as f:
        f.write(" ".join(command) + "\n\n" + r.stdout + r.stderr)
    m = re.search(r"^wrk-json (\{.*\})$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise BenchError(f"wrk failed (exit {r.returncode}); its output: {out_path}")
    return json.loads(m.group(1))


def fresh_state(psql_bin, postgres, redis):
    """The database reseeded, Redis emptied with its statistics reset."""
    psql(psql_bin, postgres["URL"], "-f", os.path.join(SERVICE_DIR, "seed.sql"))
    servers.redis_command(redis["PORT"], "FLUSHALL", timeout=10.0)
    servers.redis_command(redis["PORT"], "CONFIG", "RESETSTAT", timeout=5.0)


def one_run(twin, mix, binary, env, psql_bin, args, out_dir, naive_parts=None):
    postgres, redis = env
    url = postgres["URL"]
    fresh_state(psql_bin, postgres, redis)
    xacts0, scans0 = database_counters(psql_bin, url)
    stem = os.path.join(out_dir, f"{twin}-{mix}" + (f"-naive-{naive_parts}" if naive_parts
                                                     else ""))
    with open(stem + ".stderr.txt", "w") as err:
        p, port = start_twin(binary, postgres, redis, args.service_threads, err, naive_parts)
        failure = None
        try:
            if args.warmup > 0:
                log(f"{twin}{' --naive-parts ' + naive_parts if naive_parts else ''} / {mix}: "
                    f"{args.warmup} s of warm-up on port {port}")
                run_wrk(port, mix, args, stem + ".warmup.wrk.txt", duration=args.warmup)
            status, before = http_get(port, "/metrics")
            if status != 200:
                raise BenchError(f"{twin}: GET /metrics answered {status}")
            log(f"{twin}{' --naive-parts ' + naive_parts if naive_parts else ''} / {mix}: "
                f"{args.duration} s of load on port {port}")
            w = run_wrk(port, mix, args, stem + ".wrk.txt")
            status, after = http_get(port, "/metrics")
            if status != 200:
                raise BenchError(f"{twin}: GET /metrics answered {status} after the run")
            rss = peak_rss_kib(p.pid)
        finally:
            failure = stop_twin(p)
    if failure:
        raise BenchError(f"{twin} did not stop cleanly on SIGTERM ({failure}); "
                         f"its stderr: {stem}.stderr.txt")
    xacts1, scans1 = database_counters(psql_bin, url)
    commands = redis_commandstats(redis["PORT"])
    for own in ("info", "config", "config|resetstat", "info|commandstats"):
        commands.pop(own, None)
    if "service_process_allocations_total" not in after:
        raise BenchError(f"{twin}: no service_process_allocations_total on /metrics: "
                         f"{PRELOAD} was not preloaded (a sanitized build does not have it)")
    m0, m1 = metric_sums(before, METRICS), metric_sums(after, METRICS)
    d = {k: m1[k] - m0[k] for k in METRICS}
    handled = d["service_requests_total"]
    # The servers' counters cover the twin's whole life, warm-up included.
    handled_life = m1["service_requests_total"]
    sent = w["requests"]
    per = (lambda x: x / handled if handled else None)
    per_life = (lambda x: x / handled_life if handled_life else None)
    errors = sum(w["errors"].values())
    return {
        "twin": twin, "mix": mix, "binary": shown(binary), "naive_parts": naive_parts or "",
        "requests": sent, "requests_handled": handled, "errors": w["errors"],
        "requests_per_s": sent / (w["duration_us"] / 1e6) if w["duration_us"] else None,
        "latency_us": w["latency_us"],
        "handler_cpu_us_per_request": per(d["service_handler_cpu_seconds_total"] * 1e6),
        "allocations_per_request": per(d["service_handler_allocations_total"]),
        "allocated_bytes_per_request": per(d["service_handler_allocation_bytes_total"]),
        "handoff_allocations_per_request": per(d["service_handoff_allocations_total"]),
        "process_allocations_per_request": per(d["service_process_allocations_total"]),
        "routes": route_figures(before, after),
        "peak_rss_kib": rss,
        "db_transactions_per_request": per_life(xacts1 - xacts0 - 1),
        "db_table_scans_per_request": per_life(scans1 - scans0),
        "redis_commands_per_request": per_life(sum(commands.values())),
        "redis_commands": commands,
        "ok": errors == 0,
    }


def attempt(what, identity, fn, trouble=None):
    """Runs fn() and returns (its run, whether it went well). A run that raises is recorded as
    `identity` with the failure, and said on stderr; a run that is not ok is logged with
    trouble(run)."""
    try:
        run = fn()
    except (BenchError, OSError, subprocess.SubprocessError) as e:
        print(f"bench-service: {what}: {e}", file=sys.stderr)
        return dict(identity, failed=str(e)), False
    if not run.get("ok", True) and trouble:
        log(f"{what}: {trouble(run)}")
    return run, run.get("ok", True)


def attribution_runs(binary, env, psql_bin, args, out_dir):
    """The cached mix with service-frugal: every part frugal, each part naive, all naive."""
    runs = []
    for parts in [None] + list(PARTS) + ["all"]:
        run, _ = attempt(f"frugal --naive-parts {parts} / cached",
                         {"twin": "frugal", "mix": "cached", "naive_parts": parts or ""},
                         lambda: one_run("frugal", "cached", binary, env, psql_bin, args,
                                         out_dir, parts))
        runs.append(run)
    return runs


class poller:
    """GET /users/{id}/posts and GET /users/{id} in turn every POLL_INTERVAL_S on a connection
    of its own, each status logged with its time from `t0` (0: no answer within a second)."""

    def __init__(self, port, t0):
        self.port, self.t0 = port, t0
        self.polls = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        k = 0
        while not self.stopping.is_set():
            k += 1
            user = (k * 7919) % 10000 + 1
            path = f"/users/{user}/posts" if k % 2 else f"/users/{user}"
            t = time.monotonic() - self.t0
            try:
                status, _ = http_get(self.port, path, timeout=1.0)
            except OSError:
                status = 0
            self.polls.append((round(t, 3), path, status))
            spent = time.monotonic() - self.t0 - t
            self.stopping.wait(max(0.0, POLL_INTERVAL_S - spent))


def errors_stop(polls, fault_at):
    """The time of the first poll after which every poll answered 2xx, counting from the fault
    (`fault_at` itself when none failed from then on); None when the last poll failed."""
    after = [p for p in polls if p[0] >= fault_at]
    failed = [i for i, p in enumerate(after) if not 200 <= p[2] < 300]
    if not failed:
        return fault_at
    if failed[-1] + 1 >= len(after):
        return None
    return after[failed[-1] + 1][0]


def fault_run(twin, fault, binary, env, psql_bin, args, out_dir, servers_up):
    """The mixed mix with Redis stopped for --duration s in the middle, or PostgreSQL restarted
    after --duration s; see --faults in the module's comment."""
    postgres, redis = env
    fresh_state(psql_bin, postgres, redis)
    t_fault = args.duration
    length = 3 * t_fault if fault == "redis" else 2 * t_fault
    stem = os.path.join(out_dir, f"{twin}-fault-{fault}")
    events = []
    redis_down = False
    with open(stem + ".stderr.txt", "w") as err:
        p, port = start_twin(binary, postgres, redis, args.service_threads, err)
        t0 = time.monotonic()
        polls = poller(port, t0)
        ending = threading.Event()

        def at(name, seconds, action):
            if ending.wait(max(0.0, seconds - (time.monotonic() - t0))):
                return False
            events.append((name, round(time.monotonic() - t0, 3)))
            action()
            events.append((name + " done", round(time.monotonic() - t0, 3)))
            return True

        def inject():
            nonlocal redis_down
            try:
                if fault == "redis":
                    redis_down = True
                    if not at("redis stop", t_fault, lambda: servers_up.tool("stop", REDIS)):
                        redis_down = False
                        return
                    if at("redis start", 2 * t_fault, lambda: servers_up.tool("restart", REDIS)):
                        redis_down = False
                else:
                    at("postgres restart", t_fault, lambda: servers_up.tool("restart", POSTGRES))
            except BenchError as e:
                events.append((f"failed: {e}", round(time.monotonic() - t0, 3)))

        injector = threading.Thread(target=inject, daemon=True)
        failure = None
        try:
            polls.thread.start()
            injector.start()
            log(f"{twin} / fault {fault}: {length} s of the mixed mix on port {port}")
            w = run_wrk(port, "mixed", args, stem + ".wrk.txt", duration=length, statuses=True)
        finally:
            ending.set()
            injector.join()
            polls.stopping.set()
            polls.thread.join()
            if redis_down:
                servers_up.tool("restart", REDIS)
            failure = stop_twin(p)
    if failure:
        raise BenchError(f"{twin} did not stop cleanly on SIGTERM ({failure}); "
                         f"its stderr: {stem}.stderr.txt")
    statuses = {int(k): v for k, v in w["statuses"].items()}
    answered = sum(statuses.values())
    # wrk calls request() once more than it sends: on its first thread, before the run, to
    # check the script.
    sent = w["sent"] - 1
    socket_errors = sum(v for k, v in w["errors"].items() if k != "status")
    unanswered = sent - answered
    back_name = "redis start done" if fault == "redis" else "postgres restart done"
    back = next((t for name, t in events if name == back_name), None)
    stop = errors_stop(polls.polls, t_fault)
    per_second = {}
    for t, _, status in polls.polls:
        second = per_second.setdefault(str(int(t)), {})
        second[str(status)] = second.get(str(status), 0) + 1
    poll_failures = [p for p in polls.polls if not 200 <= p[2] < 300]
    with open(stem + ".polls.json", "w") as f:
        json.dump(polls.polls, f)
    return {
        "twin": twin, "fault": fault, "binary": shown(binary), "duration_s": length,
        "fault_at_s": t_fault, "events": events,
        "sent": sent, "answered": answered, "statuses": w["statuses"],
        "non_2xx": {str(k): v for k, v in statuses.items() if not 200 <= k < 300},
        "responses_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "socket_errors": socket_errors, "wrk_errors": w["errors"],
        "unanswered": unanswered,
        "lost": max(0, unanswered - args.connections - socket_errors),
        "polls": len(polls.polls), "poll_failures": len(poll_failures),
        "poll_failures_from_s": poll_failures[0][0] if poll_failures else None,
        "poll_failures_to_s": poll_failures[-1][0] if poll_failures else None,
        "server_back_s": back, "errors_stop_s": stop,
        "recovery_s": None if stop is None or back is None else round(max(0.0, stop - back), 3),
        "polls_per_second": per_second,
        "ok": sent > 0 and back is not None and unanswered - args.connections
        - socket_errors <= 0,
    }


def shown(path):
    """The path relative to the repository when it lies inside, else absolute."""
    rel = os.path.relpath(path, ROOT)
    return path if rel.startswith("..") else rel


def fmt(v, digits=2):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def write_report(report, out_dir):
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(markdown(report))


def context_line(report):
    return (f"{report['date']}, {report['machine']['cpu']} ({report['machine']['cpus']} CPUs), "
            f"wrk {report['settings']['wrk_threads']} threads, "
            f"{report['settings']['connections']} connections, "
            f"{report['settings']['duration_s']} s per run, twins with "
            f"{report['settings']['service_threads']} threads. Each run from a cold start "
            "(database reseeded, Redis emptied, the twin started afresh)"
            + (f", then {report['settings']['warmup_s']} s of warm-up with the same mix before "
               "the measured window (comparison and attribution runs)."
               if report['settings'].get('warmup_s') else "."))


PART_SAYS = {
    "cache": "mutex LRU map + hiredis GET/SETEX for tiered_cache",
    "batch": "one lookup per id of `?ids=` for one per page",
    "pool": "a PostgreSQL connection per request for the pool",
    "json": "std::string escaping and `+` for builder/cow_string",
    "parse": "std::string copies of path, id and query for views",
    "metrics": "a mutex-guarded map of counters for frugal metrics",
    "config": "mutex + shared_ptr for shared_config",
    "all": "every part above at once",
}


def attribution_table(report):
    runs = report.get("attribution") or []
    if not runs:
        return []
    base = next((r for r in runs if not r.get("naive_parts") and "failed" not in r), None)
    naive = next((r for r in report.get("runs", []) if r.get("twin") == "naive"
                  and r.get("mix") == "cached" and "failed" not in r), None)
    lines = ["| service-frugal with | naive part | allocs/req | Δ allocs/req | handler CPU/req | "
             "Δ CPU/req | requests/s | p99 |",
             "|---|---|---|---|---|---|---|---|"]

    def delta(r, key, digits):
        if base is None or r.get(key) is None or base.get(key) is None:
            return "n/a"
        return f"{r[key] - base[key]:+,.{digits}f}"

    rows = [(r, "every part frugal" if not r.get("naive_parts") else
             ("all parts naive" if r["naive_parts"] == "all" else f"`{r['naive_parts']}` naive"),
             PART_SAYS.get(r.get("naive_parts"), "")) for r in runs]
    if naive:
        rows.append((naive, "service-naive", "the naive twin itself"))
    for r, name, says in rows:
        if "failed" in r:
            lines.append(f"| {name} | {says} | failed: {r['failed']} |" + " |" * 5)
            continue
        lines.append(
            f"| {name} | {says} | {fmt(r['allocations_per_request'], 1)} | "
            f"{delta(r, 'allocations_per_request', 1)} | "
            f"{fmt(r['handler_cpu_us_per_request'], 1)} us | "
            f"{delta(r, 'handler_cpu_us_per_request', 1)} us | "
            f"{fmt(r['requests_per_s'], 0)} | {fmt(r['latency_us']['p99'] / 1000, 3)} ms |")
    return lines


def fault_table(report):
    runs = report.get("faults") or []
    if not runs:
        return []
    lines = ["| twin | fault | requests sent | answered | 5xx | other non-2xx | socket errors | "
             "lost | poll failures (from-to s) | server back | errors stop | recovery |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        if "failed" in r:
            lines.append(f"| {r['twin']} | {r['fault']} | failed: {r['failed']} |" + " |" * 9)
            continue
        other = ", ".join(f"{k}: {v}" for k, v in sorted(r["non_2xx"].items()) if int(k) < 500)
        window = (f" ({r['poll_failures_from_s']:.2f}-{r['poll_failures_to_s']:.2f})"
                  if r["poll_failures"] else "")
        rec = "not recovered" if r["recovery_s"] is None else f"{r['recovery_s']:.2f} s"
        back = "n/a" if r.get("server_back_s") is None else f"{r['server_back_s']:.2f} s"
        stop = "n/a" if r.get("errors_stop_s") is None else f"{r['errors_stop_s']:.2f} s"
        what = ("Redis stopped at {0} s, started at {1} s".format(r["fault_at_s"],
                                                                  2 * r["fault_at_s"])
                if r["fault"] == "redis" else f"PostgreSQL restarted at {r['fault_at_s']} s")
        lines.append(
            f"| {r['twin']} | {what} | {fmt(r['sent'])} | {fmt(r['answered'])} | "
            f"{fmt(r['responses_5xx'])} | {other or '0'} | {fmt(r['socket_errors'])} | "
            f"{fmt(r['lost'])} | {r['poll_failures']}{window} | {back} | {stop} | {rec} |")
    return lines


def markdown(report):
    """The report's tables as Markdown: the comparison, the attribution, the fault runs."""
    lines = ["# The service twins under load", "", context_line(report), ""]
    if report.get("runs"):
        lines += comparison_table(report)
        lines += ["", "What the columns are: " + report["measures"], ""]
        routes = route_table(report)
        if routes:
            lines += ["#### Per route (handler scope)", "",
                      "Each route's own requests in the measured window, and per request the "
                      "handler's allocations, the hand-off's, and the handler CPU.", ""]
            lines += routes + [""]
    attribution = attribution_table(report)
    if attribution:
        lines += ["## Attribution (cached mix, service-frugal with one part naive at a time)", "",
                  "Each Δ is against every part frugal: what swapping that one part for the "
                  "naive twin's way costs.", ""] + attribution + [""]
    faults = fault_table(report)
    if faults:
        lines += ["## Fault runs (mixed mix)", "",
                  "lost: requests written but not answered, beyond the connections still in "
                  "flight when wrk stopped and the socket errors; errors stop: the first of the "
                  f"poller's requests (one every {int(POLL_INTERVAL_S * 1000)} ms) after which "
                  "all answered 2xx; recovery: from the server back to then (0 when the errors "
                  "stopped first). Times from the start of the run.", ""]
        lines += faults + [""]
    return "\n".join(lines)


def comparison_table(report):
    lines = ["| twin | mix | requests/s | p50 | p99 | handler CPU/req | allocs/req | "
             "bytes/req | hand-off allocs/req | process allocs/req | peak RSS | DB xacts/req | "
             "DB scans/req | Redis cmds/req | errors |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        if "failed" in r:
            lines.append(f"| {r['twin']} | {r['mix']} | failed: {r['failed']} |"
                         + " |" * 12)
            continue
        lat = r["latency_us"]
        lines.append(
            f"| {r['twin']} | {r['mix']} | {fmt(r['requests_per_s'], 0)} | "
            f"{fmt(lat['p50'] / 1000, 3)} ms | {fmt(lat['p99'] / 1000, 3)} ms | "
            f"{fmt(r['handler_cpu_us_per_request'], 1)} us | "
            f"{fmt(r['allocations_per_request'], 1)} | "
            f"{fmt(r['allocated_bytes_per_request'], 0)} | "
            f"{fmt(r.get('handoff_allocations_per_request'), 1)} | "
            f"{fmt(r.get('process_allocations_per_request'), 1)} | "
            f"{fmt((r['peak_rss_kib'] or 0) / 1024, 1)} MiB | "
            f"{fmt(r['db_transactions_per_request'], 3)} | "
            f"{fmt(r['db_table_scans_per_request'], 3)} | "
            f"{fmt(r['redis_commands_per_request'], 3)} | {sum(r['errors'].values())} |")
    return lines


def route_table(report):
    rows = [r for r in report.get("runs", []) if r.get("routes")]
    if not rows:
        return []
    lines = ["| twin | mix | route | requests | allocs/req | hand-off allocs/req | "
             "handler CPU/req |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        for route, f in r["routes"].items():
            lines.append(f"| {r['twin']} | {r['mix']} | `{route}` | {fmt(f['requests'], 0)} | "
                         f"{fmt(f['allocations_per_request'], 1)} | "
                         f"{fmt(f['handoff_allocations_per_request'], 1)} | "
                         f"{fmt(f['handler_cpu_us_per_request'], 1)} us |")
    return lines


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/bench-service",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--twins", default="naive,frugal")
    ap.add_argument("--mixes", default=",".join(MIXES))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--service-threads", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "service"))
    ap.add_argument("--attribution", action="store_true")
    ap.add_argument("--faults", action="store_true")
    ap.add_argument("--markdown", metavar="REPORT_JSON")
    args = ap.parse_args(argv)
    for name in ("duration", "connections", "wrk_threads", "service_threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        ap.error("--warmup must be 0 or more")
    # cpp-httplib serves a keep-alive connection on one worker until it closes: a connection
    # beyond the workers waits unserved, and so would the fault runs' poller and the scrapes.
    if args.connections + 1 > args.service_threads:
        ap.error(f"--connections {args.connections} needs --service-threads "
                 f"{args.connections + 1} or more (cpp-httplib serves each keep-alive "
                 "connection on one worker thread; one more for the poller and /metrics)")
    args.twins = [t for t in args.twins.split(",") if t]
    args.mixes = [m for m in args.mixes.split(",") if m]
    for t in args.twins:
        if t not in TWINS:
            ap.error(f"unknown twin '{t}' (known: {', '.join(TWINS)})")
    for m in args.mixes:
        if m not in MIXES:
            ap.error(f"unknown mix '{m}' (known: {', '.join(MIXES)})")
    if not args.twins or not args.mixes:
        ap.error("--twins and --mixes need at least one name each")
    return args


def doc_tables(report):
    """The tables as docs/service.md carries them: --markdown's output without its title, its
    sections one level down."""
    text = markdown(report).replace("# The service twins under load\n", "", 1).strip()
    return text.replace("\n## ", "\n#### ")


def check_doc(page, run):
    """Exit status 0 when the block that `page` says was printed from `run` equals it."""
    return printed_block.check(ROOT, page, "scripts/bench_service.py --markdown", run, doc_tables,
                               "bench-service", "scripts/bench_service.py --doc-tables")


def main(argv):
    if argv[:1] == ["--check-doc"] and len(argv) == 3:
        return check_doc(argv[1], argv[2])
    if argv[:1] == ["--doc-tables"] and len(argv) == 2:
        with open(argv[1]) as f:
            print(doc_tables(json.load(f)))
        return 0
    args = parse_args(argv)
    if args.markdown:
        try:
            with open(args.markdown) as f:
                print(markdown(json.load(f)))
        except (OSError, ValueError, KeyError) as e:
            print(f"bench-service: cannot read {args.markdown}: {e}", file=sys.stderr)
            return 2
        return 0
    build_dir = os.path.abspath(args.build_dir)
    # In TWINS' order, so that what is missing is always said in the same order.
    needed = [t for t in TWINS if t in args.twins or (t == "frugal" and args.attribution)]
    binaries = {t: os.path.join(build_dir, "examples", TWINS[t]) for t in needed}
    missing = [f"{TWINS[t]} ({shown(b)})" for t, b in binaries.items()
               if not os.access(b, os.X_OK)]
    preload = os.path.join(build_dir, "examples", PRELOAD)
    if not os.path.isfile(preload):
        missing.append(f"service-malloc-count ({shown(preload)})")
    if missing:
        print(f"bench-service: not built: {', '.join(missing)}. The twins follow "
              "examples/service/README.md and build where their dependencies are found "
              "(cpp-httplib, libpq, hiredis, prometheus-cpp); run scripts/bench-service "
              "without --no-build, or build them in that directory.", file=sys.stderr)
        return 2
    psql_bin = psql_program()
    for program, path in (("wrk", shutil.which("wrk")), ("psql", psql_bin)):
        if not path:
            print(f"bench-service: {program} is not installed (scripts/install-deps)",
                  file=sys.stderr)
            return 2
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "kernel": platform.release()},
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup,
                     "connections": args.connections,
                     "wrk_threads": args.wrk_threads, "service_threads": args.service_threads,
                     "attribution": args.attribution, "faults": args.faults,
                     "mix_script": os.path.relpath(MIX_SCRIPT, ROOT)},
        "measures": ("requests/s and latency from wrk; handler CPU time and allocations per "
                     "request from the twin's /metrics (service_handler_cpu_seconds_total, "
                     "service_handler_allocations_total, service_handler_allocation_bytes_total "
                     "over service_requests_total, /metrics itself left out); hand-off allocs/req: "
                     "service_handoff_allocations_total, the answer handed to cpp-httplib's "
                     "Response (body string, Content-Type header), left out of the handler's; "
                     "process allocs/req: service_process_allocations_total, every malloc of "
                     "the process (all threads and libraries, the scrapes included), counted by "
                     "the preloaded libservice-malloc-count.so; peak RSS is VmHWM; "
                     "DB xacts/req is xact_commit + xact_rollback of pg_stat_database and DB "
                     "scans/req is seq_scan + idx_scan of pg_stat_user_tables "
                     "(pg_stat_statements is not available), over the twin's whole life; "
                     "Redis cmds/req from INFO commandstats; every per-request figure but wrk's divides by "
                     "the requests the twin answered (service_requests_total)."),
        "runs": [],
    }
    state_dir = tempfile.mkdtemp(prefix="frugal-bench-service-")
    servers_up = fixtures(state_dir)
    failed = False
    try:
        log("starting PostgreSQL and Redis")
        postgres = servers_up.start(POSTGRES, "postgres")
        redis = servers_up.start(REDIS, "redis")
        psql(psql_bin, postgres["URL"], "-f", os.path.join(SERVICE_DIR, "schema.sql"))
        for twin in args.twins:
            for mix in args.mixes:
                run, ok = attempt(f"{twin} / {mix}", {"twin": twin, "mix": mix},
                                  lambda: one_run(twin, mix, binaries[twin], (postgres, redis),
                                                  psql_bin, args, out_dir),
                                  lambda r: f"wrk counted errors {r['errors']}")
                failed = failed or not ok
                report["runs"].append(run)
                write_report(report, out_dir)
        if args.attribution:
            report["attribution"] = attribution_runs(binaries["frugal"], (postgres, redis),
                                                     psql_bin, args, out_dir)
            failed = failed or any("failed" in r for r in report["attribution"])
            write_report(report, out_dir)
        if args.faults:
            report["faults"] = []
            for fault in ("redis", "postgres"):
                for twin in args.twins:
                    run, ok = attempt(f"{twin} / fault {fault}", {"twin": twin, "fault": fault},
                                      lambda: fault_run(twin, fault, binaries[twin],
                                                        (postgres, redis), psql_bin, args,
                                                        out_dir, servers_up),
                                      lambda r: "requests lost or the server did not come "
                                                f"back: {r['events']}")
                    failed = failed or not ok
                    report["faults"].append(run)
                    write_report(report, out_dir)
    except BenchError as e:
        print(f"bench-service: {e}", file=sys.stderr)
        failed = True
    finally:
        servers_up.stop_all()
        shutil.rmtree(state_dir, ignore_errors=True)
    write_report(report, out_dir)
    log(f"report in {shown(out_dir)}/report.md and report.json")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
