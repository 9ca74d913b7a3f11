#!/usr/bin/env python3
"""Runs frugal's benchmark binaries in an interleaved order and writes report.json.

Called by scripts/bench after the build; see `scripts/bench --help` for the options.

Order: benchmarks are grouped into cases (<module>/<operation>/<arg>: every implementation of
one operation at one size). For each case, each round runs every implementation once, in
registration order on even rounds and reversed on odd rounds, one process per run, so slow
drift of the machine (frequency, neighbours) hits every implementation of a case alike.

report.json holds the raw Google Benchmark runs (one entry per run, with its round as
`repetition_index`) under "benchmarks", Google Benchmark's "context" extended with the
machine, compiler, flags, allocator and date, and a "frugal" section with the settings, the
failures and the cost of including each header.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ERE_SPECIAL = set(".[]()*+?{}|^$\\")


def exact_filter(name):
    """Returns a Google Benchmark filter (POSIX extended regex) matching exactly `name`."""
    return "^" + "".join("\\" + c if c in ERE_SPECIAL else c for c in name) + "$"


def split_name(name):
    """Splits <module>/<operation>/<impl>[:<variant>]/<arg>... into (module, op, impl, arg)."""
    parts = name.split("/")
    if len(parts) < 3:
        return None
    return parts[0], parts[1], parts[2], "/".join(parts[3:])


def describe_exit(rc):
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit code {rc}"


class BenchBinary:
    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.name = os.path.basename(path)

    def _lines(self, *args):
        out = subprocess.run([self.path, *args], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"{self.name} {' '.join(args)}: {describe_exit(out.returncode)}\n"
                               f"{out.stderr[-2000:]}")
        return [line.strip() for line in out.stdout.splitlines() if line.strip()]

    def benchmarks(self):
        return self._lines("--benchmark_list_tests")

    def headline_patterns(self):
        return self._lines("--list_headline")

    def not_like_for_like(self):
        """[(pattern, reason)] declared with FRUGAL_BENCH_NOT_LIKE_FOR_LIKE."""
        return [tuple(line.split("\t", 1)) if "\t" in line else (line, "")
                for line in self._lines("--list_not_like_for_like")]

    def own_threads(self, name):
        """Whether the benchmark starts threads of its own (FRUGAL_BENCH_OWN_THREADS)."""
        if not hasattr(self, "_own_threads"):
            self._own_threads = self._lines("--list_own_threads")
        return any(re.search(p, name) for p in self._own_threads)


def select(binaries, full, user_filter):
    """Returns [(binary, [names])] for the headline set (or every benchmark with `full`)."""
    chosen = []
    for b in binaries:
        names = b.benchmarks()
        if not full:
            patterns = b.headline_patterns()
            if patterns:
                names = [n for n in names if any(re.search(p, n) for p in patterns)]
        if user_filter:
            names = [n for n in names if re.search(user_filter, n)]
        if names:
            chosen.append((b, names))
    return chosen


def cases_of(names):
    """Groups names by (module, operation, arg), in first-appearance order."""
    cases = {}
    for n in names:
        parts = split_name(n)
        key = (parts[0], parts[1], parts[3]) if parts else (n, "", "")
        cases.setdefault(key, []).append(n)
    return list(cases.values())


def threads_of(name):
    m = re.search(r"threads:(\d+)", name)
    return int(m.group(1)) if m else 1


def run_one(binary, name, min_time, tmpdir, extra_env=None, wrapper=(), cpu=None):
    """Runs one benchmark once; returns (runs, context) or raises RuntimeError.

    With `cpu`, a single-threaded benchmark that starts no threads of its own runs pinned to
    that CPU, so that every run of a case meets the same core (unpinned, the runs of a case
    were seen alternating between fast and slow from one launch to the next)."""
    out_path = os.path.join(tmpdir, "run.json")
    if os.path.exists(out_path):
        os.remove(out_path)
    cmd = [*wrapper, binary.path, f"--benchmark_filter={exact_filter(name)}",
           "--benchmark_repetitions=1", f"--benchmark_min_time={min_time}",
           f"--benchmark_out={out_path}", "--benchmark_out_format=json",
           "--benchmark_color=false"]
    env = dict(os.environ, **(extra_env or {}))
    pin = None
    if cpu is not None and threads_of(name) == 1 and not binary.own_threads(name):
        pin = lambda: os.sched_setaffinity(0, {cpu})  # noqa: E731
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmpdir,
                          preexec_fn=pin)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise RuntimeError(f"{describe_exit(proc.returncode)}" + (f": {tail}" if tail else ""))
    with open(out_path) as f:
        data = json.load(f)
    runs = [r for r in data.get("benchmarks", []) if r.get("run_type") != "aggregate"]
    errors = [r for r in runs if r.get("error_occurred")]
    if errors:
        raise RuntimeError(f"reported an error: {errors[0].get('error_message', '?')}")
    if not runs:
        raise RuntimeError("produced no result")
    return runs, data.get("context", {})


def ns(run):
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[run.get("time_unit", "ns")]
    return run["real_time"] * scale


def fmt_ns(t):
    for unit, s in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if t >= s:
            return f"{t / s:.3g} {unit}"
    return f"{t:.3g} ns"


def read_cache(build_dir):
    cache = {}
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                m = re.match(r"^([A-Za-z_0-9]+):[A-Z]+=(.*)$", line.strip())
                if m:
                    cache[m.group(1)] = m.group(2)
    except OSError:
        pass
    return cache


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine_context(build_dir):
    cache = read_cache(build_dir)
    cxx = cache.get("CMAKE_CXX_COMPILER", "c++")
    build_type = cache.get("CMAKE_BUILD_TYPE", "")
    flags = " ".join(x for x in (cache.get("CMAKE_CXX_FLAGS", ""),
                                 cache.get(f"CMAKE_CXX_FLAGS_{build_type.upper()}", "")) if x)
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    os_name = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    allocator = first_line(["ldd", "--version"])
    m = re.search(r"(\d+\.\d+)\s*$", allocator)
    allocator = f"glibc {m.group(1)} malloc" if m else allocator
    if os.environ.get("LD_PRELOAD"):
        allocator += f" (LD_PRELOAD={os.environ['LD_PRELOAD']})"
    tunables = {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    if tunables:
        allocator += " with " + " ".join(f"{k}={v}" for k, v in sorted(tunables.items()))
    return {
        "frugal_machine": f"{cpu}, {os.cpu_count()} logical CPUs, {os_name}, "
                          f"Linux {platform.release()}",
        "frugal_cpu": cpu,
        "frugal_os": os_name,
        "frugal_compiler": f"{first_line([cxx, '--version'])} ({cxx})",
        "frugal_flags": f"{flags} -std=c++20 ({build_type} build)".strip(),
        "frugal_allocator": allocator,
        "frugal_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "frugal_commit": source_revision(cache.get("CMAKE_HOME_DIRECTORY")),
    }


def source_revision(source_dir=None):
    """The commit of the source tree the build measures (`source_dir`, the build's
    CMAKE_HOME_DIRECTORY; this script's checkout when unknown), with " (uncommitted changes)"
    when a tracked file differs from it or a file git does not ignore is not yet added, or
    "unknown" where that tree is not the top of a git checkout."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.realpath(source_dir or here)
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")

    def git(*args):
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                              check=True, env=env).stdout.strip()
    try:
        if os.path.realpath(git("rev-parse", "--show-toplevel")) != root:
            return "unknown"  # a tree unpacked inside another repository
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=normal")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (uncommitted changes)" if dirty else "")


def text_bytes(path):
    """Returns the size of the machine code (.text sections) of an object file or binary."""
    out = subprocess.run(["size", "-A", path], capture_output=True, text=True).stdout
    return sum(int(m.group(1)) for m in re.finditer(r"^\.text\S*\s+(\d+)", out, re.M))


def build_cost(root, build_dir, compiles):
    """Measures the compile time of each public header alone and the object size of each
    example, with the release compiler at -O2."""
    cache = read_cache(build_dir)
    cxx = cache.get("CMAKE_CXX_COMPILER", "g++")
    include = os.path.join(root, "include")
    base = [cxx, "-std=c++20", "-O2", "-I", include, "-c", "-o"]
    result = {"compiler": first_line([cxx, "--version"]), "flags": "-std=c++20 -O2",
              "compiles": compiles, "headers": [], "examples": []}
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "x.o")

        def timed(source_text):
            src = os.path.join(tmp, "x.cpp")
            with open(src, "w") as f:
                f.write(source_text)
            times = []
            for _ in range(compiles):
                t0 = time.perf_counter()
                proc = subprocess.run(base + [obj, src], capture_output=True, text=True)
                times.append(time.perf_counter() - t0)
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr[-1000:])
            return statistics.median(times) * 1e3

        baseline = timed("#include <string>\n#include <vector>\n")
        result["baseline_ms"] = baseline
        headers = sorted(h for h in os.listdir(os.path.join(include, "frugal")) if h.endswith(".hpp"))
        for h in headers:
            ms = timed(f"#include <frugal/{h}>\n")
            result["headers"].append({"header": f"frugal/{h}", "ms": ms})
        examples_dir = os.path.join(root, "examples")
        for ex in sorted(os.listdir(examples_dir)) if os.path.isdir(examples_dir) else []:
            if not ex.endswith(".cpp"):
                continue
            proc = subprocess.run(base + [obj, os.path.join(examples_dir, ex)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                continue
            result["examples"].append({"example": ex, "text_bytes": text_bytes(obj)})
    return result


def run_timings(args, chosen, report):
    reps = args.repetitions
    total = sum(len(names) for _, names in chosen)
    print(f"bench: {total} benchmarks x {reps} round(s), min time {args.min_time} s each, "
          f"interleaved per case", flush=True)
    failures = report["frugal"]["failures"]
    context = None
    with tempfile.TemporaryDirectory() as tmp:
        done = 0
        for binary, names in chosen:
            for case in cases_of(names):
                per_name = {n: [] for n in case}
                dead = set()
                for r in range(reps):
                    order = case if r % 2 == 0 else list(reversed(case))
                    for name in order:
                        if name in dead:
                            continue
                        try:
                            runs, ctx = run_one(binary, name, args.min_time, tmp, cpu=args.cpu)
                        except RuntimeError as e:
                            dead.add(name)
                            msg = f"{binary.name}: {name}: {e}"
                            print(f"bench: FAILED {msg}", file=sys.stderr, flush=True)
                            failures.append({"binary": binary.name, "benchmark": name,
                                             "error": str(e)})
                            continue
                        context = context or ctx
                        for run in runs:
                            run["repetition_index"] = r
                            run["repetitions"] = reps
                            run["frugal_binary"] = binary.name
                            report["benchmarks"].append(run)
                            per_name[name].append(ns(run))
                done += len(case)
                parts = split_name(case[0])
                label = f"{parts[0]}/{parts[1]}/{parts[3]}" if parts else case[0]
                cells = ", ".join(
                    f"{split_name(n)[2] if split_name(n) else n} {fmt_ns(statistics.median(v))}"
                    for n, v in per_name.items() if v)
                print(f"[{done:>4}/{total}] {label}: {cells}", flush=True)
    if context:
        report["context"].update({k: v for k, v in context.items() if k not in report["context"]})


def parse_dumps(directory):
    """Returns (instructions per iteration of the longest run, iterations) from callgrind dumps."""
    best = None
    for f in os.listdir(directory):
        if not f.startswith("callgrind.out"):
            continue
        trigger, total = None, None
        with open(os.path.join(directory, f)) as fh:
            for line in fh:
                if line.startswith("desc: Trigger:"):
                    m = re.search(r"frugal-bench iterations=(\d+)", line)
                    trigger = int(m.group(1)) if m else None
                elif line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
        if trigger and total is not None and (best is None or trigger > best[1]):
            best = (total / trigger, trigger)
    return best


def run_instructions(args, chosen, report):
    if not shutil.which("valgrind"):
        raise SystemExit("bench: --instructions needs valgrind (scripts/install-deps installs it)")
    impls = re.compile(args.impls)
    rows = report["frugal"]["instructions"] = []
    for binary, names in chosen:
        for name in names:
            parts = split_name(name)
            if not parts or not impls.fullmatch(parts[2]):
                continue
            if threads_of(name) > 1 or binary.own_threads(name):
                continue  # callgrind serialises threads: the count would not mean the same
            with tempfile.TemporaryDirectory() as tmp:
                wrapper = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                           f"--callgrind-out-file={tmp}/callgrind.out.%p"]
                try:
                    # Long enough for many iterations even when valgrind is slow to start.
                    run_one(binary, name, 0.1, tmp, wrapper=wrapper)
                except RuntimeError as e:
                    print(f"bench: FAILED {binary.name}: {name}: {e}", file=sys.stderr)
                    report["frugal"]["failures"].append(
                        {"binary": binary.name, "benchmark": name, "error": str(e)})
                    continue
                best = parse_dumps(tmp)
            if best is None:
                print(f"bench: {name}: no callgrind dump (benches built without "
                      f"valgrind/callgrind.h?)", file=sys.stderr)
                continue
            rows.append({"name": name, "instructions_per_op": best[0], "iterations": best[1]})
            print(f"{name}: {best[0]:.1f} instructions/op ({best[1]} iterations)", flush=True)


def main():
    ap = argparse.ArgumentParser(prog="bench_run.py")
    ap.add_argument("--bench-dir", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repetitions", type=int, default=9)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--instructions", action="store_true")
    ap.add_argument("--impls", default=".*")
    ap.add_argument("--no-build-cost", action="store_true")
    ap.add_argument("--cpu", default="last",
                    help="CPU for single-threaded runs: a number, 'last' (default) or 'none'")
    ap.add_argument("--expect-same-as", help="a saved run whose benchmarks this run must match")
    ap.add_argument("--expect-label", help="the name of that run in messages")
    ap.add_argument("filter", nargs="?", default="")
    args = ap.parse_args()
    if args.quick:
        args.repetitions, args.min_time = 1, 0.002
    allowed = sorted(os.sched_getaffinity(0))
    if args.cpu == "none":
        args.cpu = None
    elif args.cpu == "last":
        args.cpu = allowed[-1]
    elif not args.cpu.isdigit() or int(args.cpu) not in allowed:
        print(f"bench: --cpu {args.cpu}: not one of this process's CPUs {allowed}",
              file=sys.stderr)
        return 2
    else:
        args.cpu = int(args.cpu)

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binaries = sorted((BenchBinary(os.path.join(args.bench_dir, f))
                       for f in os.listdir(args.bench_dir) if f.endswith("_bench")),
                      key=lambda b: b.name)
    chosen = select(binaries, args.full, args.filter)
    if not chosen:
        print(f"bench: no benchmark matches '{args.filter}'", file=sys.stderr)
        return 1
    if args.expect_same_as:
        import bench_compare
        import bench_report
        label = args.expect_label or args.expect_same_as
        try:
            old_names = list(bench_report.samples_of(bench_report.load(args.expect_same_as)))
        except bench_report.ReportError as e:
            print(f"bench --compare: {e}", file=sys.stderr)
            return 2
        mismatch = bench_compare.selection_mismatch(
            old_names, [n for _, names in chosen for n in names], label, "this run")
        if mismatch:
            print(f"bench --compare: {mismatch}", file=sys.stderr)
            return 2
    mode = "instructions" if args.instructions else "full" if args.full else \
        "quick" if args.quick else "headline"
    report = {
        "context": machine_context(args.build_dir),
        "benchmarks": [],
        "frugal": {"mode": mode, "repetitions": args.repetitions, "min_time_s": args.min_time,
                   "cpu": args.cpu,
                   "filter": args.filter, "failures": [],
                   "selection": [n for _, names in chosen for n in names],
                   "not_like_for_like": [{"pattern": p, "reason": r} for b, _ in chosen
                                         for p, r in b.not_like_for_like()]},
    }
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    if args.instructions:
        run_instructions(args, chosen, report)
        path = os.path.join(args.out, "instructions.json")
    else:
        run_timings(args, chosen, report)
        if not args.no_build_cost:
            print("bench: measuring the cost of including each header", flush=True)
            report["frugal"]["build_cost"] = build_cost(root, args.build_dir,
                                                        1 if args.quick else 5)
        path = os.path.join(args.out, "report.json")
    report["frugal"]["seconds"] = round(time.time() - started, 1)
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(f"bench: wrote {path} ({report['frugal']['seconds']} s)")
    failures = report["frugal"]["failures"]
    if failures:
        print(f"bench: {len(failures)} benchmark(s) failed:", file=sys.stderr)
        for fl in failures:
            print(f"  {fl['binary']}: {fl['benchmark']}: {fl['error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
