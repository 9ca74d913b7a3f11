#!/usr/bin/env python3
"""End to end: the metrics example service scraped by a real Prometheus.

Starts examples/interop/metrics_http_middleware in --serve mode on a free loopback port, points
the Prometheus fixture at it (its file_sd TARGETS file), drives a known number of requests,
then polls Prometheus's query API (up to 30 s; the first scrape can take 5 s) until the counter
and the histogram it stored equal what the service counted. The service is stopped at the end
whatever happens; ctest's fixture stops Prometheus.

usage: scrape_test.py SERVICE_BINARY   (FRUGAL_SERVER_PROMETHEUS names the fixture's env file)
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

GETS, GETS_BY_ID, POSTS = 37, 11, 5


def env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            env[k] = v
    return env


def http(url, data=None):
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
        return r.status, r.read().decode()


def query(prom, q):
    _, body = http(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def main():
    binary = sys.argv[1]
    prom = env_file(os.environ["FRUGAL_SERVER_PROMETHEUS"])
    prom_url = prom["URL"]
    service = subprocess.Popen([binary, "--serve", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = service.stdout.readline()
        if not line.startswith("listening on "):
            sys.exit(f"the service did not start: {line!r}")
        address = line.split()[-1]
        base = f"http://{address}"
        # A job label of our own, so that a target left by an earlier test cannot answer.
        job = f"metrics_e2e_{os.getpid()}"
        with open(prom["TARGETS"] + ".tmp", "w") as f:
            json.dump([{"targets": [address], "labels": {"service": job}}], f)
        os.replace(prom["TARGETS"] + ".tmp", prom["TARGETS"])

        for _ in range(GETS):
            assert http(f"{base}/users")[0] == 200
        for i in range(GETS_BY_ID):
            assert http(f"{base}/users/{i}")[0] == 200
        for _ in range(POSTS):
            assert http(f"{base}/users", data=b"{}")[0] == 201

        # What the service itself counted.
        status, text = http(f"{base}/metrics")
        assert status == 200
        own = {}
        for l in text.splitlines():
            if l and not l.startswith("#"):
                name, _, value = l.rpartition(" ")
                own[name] = float(value)
        expect = {
            'http_requests_total{method="GET",path="/users"}': GETS,
            'http_requests_total{method="GET",path="/users/:id"}': GETS_BY_ID,
            'http_requests_total{method="POST",path="/users"}': POSTS,
            'http_request_duration_seconds_count{method="GET",path="/users"}': GETS,
            'http_request_duration_seconds_bucket{method="GET",path="/users",le="+Inf"}': GETS,
        }
        for k, v in expect.items():
            if own.get(k) != v:
                sys.exit(f"the service counted {own.get(k)} for {k}, expected {v}")

        sel = f'service="{job}"'
        checks = {
            f'http_requests_total{{{sel},method="GET",path="/users"}}': GETS,
            f'http_requests_total{{{sel},method="GET",path="/users/:id"}}': GETS_BY_ID,
            f'http_requests_total{{{sel},method="POST",path="/users"}}': POSTS,
            f'http_request_duration_seconds_count{{{sel},method="GET",path="/users"}}': GETS,
            f'http_request_duration_seconds_bucket{{{sel},method="GET",path="/users",le="+Inf"}}':
                GETS,
            f'sum(http_request_duration_seconds_count{{{sel}}})': GETS + GETS_BY_ID + POSTS,
        }
        deadline = time.monotonic() + 30
        got = {}
        while time.monotonic() < deadline:
            got = {q: query(prom_url, q) for q in checks}
            if all(got[q] == v for q, v in checks.items()):
                break
            time.sleep(0.5)
        else:
            sys.exit(f"Prometheus stored {got}, expected {checks}")
        # The stored sum is the service's own, and a quantile is answerable.
        stored_sum = query(prom_url, f'http_request_duration_seconds_sum{{{sel},method="GET",path="/users"}}')
        if stored_sum is None or stored_sum <= 0:
            sys.exit(f"no positive duration sum stored: {stored_sum}")
        p99 = query(prom_url, "histogram_quantile(0.99, sum by (le) "
                    f"(rate(http_request_duration_seconds_bucket{{{sel}}}[1m])))")
        print(f"Prometheus stored every count; p99 query answered {p99}")
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            code = service.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
            sys.exit("the service did not stop on SIGTERM")
    if code != 0:
        sys.exit(f"the service exited with {code}")


if __name__ == "__main__":
    main()
