"""What the service tests share: the fixture servers' addresses, resetting the data, starting
a twin binary and talking HTTP to it (plain sockets, so malformed requests can be sent too).

The servers come from ctest fixtures (tests/fixtures/, docs/testing.md): the environment
variables FRUGAL_SERVER_SERVICE_POSTGRES and FRUGAL_SERVER_SERVICE_REDIS name their
environment files, FRUGAL_SERVERS_TOOL is the command line of the fault helper."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVICE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSTGRES_FIXTURE = "service_postgres"
REDIS_FIXTURE = "service_redis"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def server_env(fixture):
    """Reads a fixture's environment file (KEY=VALUE lines) afresh: a restart changes it."""
    var = "FRUGAL_SERVER_" + fixture.upper()
    path = os.environ.get(var)
    if not path:
        fail(f"{var} is not set: run this through ctest, whose fixtures start the servers")
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.rstrip("\n").partition("=")
            if sep:
                env[key] = value
    return env


def servers_tool(*args, timeout=120):
    """Runs the fault helper (servers.py): stop, restart, pause, resume, query..."""
    tool = os.environ.get("FRUGAL_SERVERS_TOOL")
    if not tool:
        fail("FRUGAL_SERVERS_TOOL is not set: run this through ctest")
    r = subprocess.run(shlex.split(tool) + list(args), capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        fail(f"servers.py {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def psql_program():
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True,
                                text=True).stdout.strip()
        candidate = os.path.join(bindir, "psql")
        if os.path.exists(candidate):
            return candidate
    return shutil.which("psql") or "psql"


def psql(url, *args):
    r = subprocess.run([psql_program(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        url] + list(args), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail(f"psql {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def reset_data():
    """Creates the tables when missing, reseeds them (post ids restart at 1, so the first
    post inserted afterwards is 15001) and empties Redis."""
    url = server_env(POSTGRES_FIXTURE)["URL"]
    if psql(url, "-c", "SELECT to_regclass('public.users') IS NULL") == "t":
        psql(url, "-f", os.path.join(SERVICE_DIR, "schema.sql"))
    psql(url, "-f", os.path.join(SERVICE_DIR, "seed.sql"))
    servers_tool("query", REDIS_FIXTURE, "FLUSHALL")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class twin:
    """A twin binary started against the fixture servers; stopped with SIGTERM on exit, which
    must end it with status 0."""

    def __init__(self, binary, config=None, threads=4, env=None):
        self.binary = binary
        self.env = env
        self.config = config
        self.threads = threads
        self.process = None
        self.port = None
        self.stderr = None

    def __enter__(self):
        postgres = server_env(POSTGRES_FIXTURE)
        redis = server_env(REDIS_FIXTURE)
        self.stderr = tempfile.TemporaryFile()
        for _ in range(5):
            self.port = free_port()
            command = [self.binary, "--port", str(self.port), "--postgres", postgres["URL"],
                       "--redis-port", redis["PORT"], "--threads", str(self.threads)]
            if self.config:
                command += ["--config", self.config]
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                            stderr=self.stderr,
                                            env=dict(os.environ, **(self.env or {})))
            line = self.process.stdout.readline().decode(errors="replace")
            if line.startswith(f"listening on 127.0.0.1:{self.port}"):
                return self
            self.process.wait(timeout=30)
            # Another process may have taken the port between free_port() and the bind.
            if "listen" not in self.stderr_text().lower():
                fail(f"{self.binary} did not start (exit {self.process.returncode}):\n"
                     f"{line}{self.stderr_text()}")
        fail(f"{self.binary}: no free port after 5 tries")

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def alive(self):
        return self.process.poll() is None

    def signal(self, number):
        self.process.send_signal(number)

    def __exit__(self, kind, value, traceback):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                if kind is None:
                    fail(f"{self.binary} did not exit within 30 s of SIGTERM")
        if kind is None and self.process.returncode != 0:
            fail(f"{self.binary} exited {self.process.returncode}:\n{self.stderr_text()}")
        return False

    def raw(self, data, timeout=10.0):
        """Sends `data` on a new connection and returns (status, headers, body) of the first
        response, or None when the server closed the connection without one."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading everything
            return read_response(s)

    def request(self, method, path, body=b"", headers=()):
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        return self.raw(head.encode() + b"\r\n" + body)


def read_response(s):
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    if b"\r\n\r\n" not in data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not match:
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    try:
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    except ConnectionResetError:
        pass
    return int(match.group(1)), headers, body[:length]
