#!/usr/bin/env python3
"""Prints a Markdown summary of Google Benchmark JSON files written by frugal's benches.

Benchmarks are named <module>/<operation>/<impl>[:<variant>]/<arg>...; the summary has one
table per <module>/<operation>, one row per argument and one column per implementation,
showing the median time per operation and allocs/op, and frugal's ratio to naive and to
the best peer.
"""
import json
import statistics
import sys
from collections import OrderedDict, defaultdict

IMPL_ORDER = ["naive", "std", "boost", "absl", "frugal", "limit"]
PEERS = ("std", "boost", "absl")


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.2f} ns"


def fmt_allocs(a):
    # A growth in the first of millions of iterations shows as a tiny fraction.
    if 0 < a < 0.01:
        return "~0"
    return f"{a:.2f}".rstrip("0").rstrip(".")


def scale(unit):
    return {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


def main(paths):
    context = None
    samples = defaultdict(list)  # name -> [ns]
    counters = {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        context = context or data.get("context", {})
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            name = b.get("run_name", b["name"])
            samples[name].append(b["real_time"] * scale(b.get("time_unit", "ns")))
            counters[name] = (b.get("allocs/op"), b.get("bytes/op"))

    groups = OrderedDict()
    for name in samples:
        parts = name.split("/")
        if len(parts) < 3:
            continue
        module, op, impl = parts[0], parts[1], parts[2]
        arg = "/".join(parts[3:]) or "-"
        groups.setdefault((module, op), OrderedDict()).setdefault(arg, {})[impl] = name

    print("# frugal benchmark summary\n")
    if context:
        print(f"{context.get('date', '')}, {context.get('num_cpus', '?')} CPUs at "
              f"{context.get('mhz_per_cpu', '?')} MHz, Google Benchmark library build: "
              f"{context.get('library_build_type', '?')}. Compiler g++ -O3 -DNDEBUG "
              f"(release preset), allocator: glibc malloc. Times are medians of "
              f"{max(len(v) for v in samples.values()) if samples else 0} repetition(s).\n")
    for (module, op), rows in groups.items():
        impls = sorted({i for r in rows.values() for i in r},
                       key=lambda i: (IMPL_ORDER.index(i.split(":")[0])
                                      if i.split(":")[0] in IMPL_ORDER else 99, i))
        print(f"## {module}/{op}\n")
        has_limit = "limit" in impls
        header = ["arg"] + [f"{i}" for i in impls] + ["frugal/naive", "frugal/best peer"]
        if has_limit:
            header.append("frugal/limit")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for arg, row in rows.items():
            med = {i: statistics.median(samples[n]) for i, n in row.items()}
            cells = [arg]
            for i in impls:
                if i in row:
                    allocs = counters[row[i]][0]
                    a = "" if allocs is None else f", {fmt_allocs(allocs)} allocs"
                    cells.append(fmt_time(med[i]) + a)
                else:
                    cells.append("")
            # Plain implementations only: a variant (frugal:for_overwrite) answers another question.
            fr = med.get("frugal")
            naive = med.get("naive")
            peers = [med[i] for i in med if i in PEERS]
            cells.append(f"{fr / naive:.2f}x" if fr and naive else "")
            if fr and peers:
                r = fr / min(peers)
                cells.append(f"{r:.2f}x" + (" (slower)" if r > 1.05 else ""))
            else:
                cells.append("")
            if has_limit:
                limit = med.get("limit")
                cells.append(f"{fr / limit:.2f}x" if fr and limit else "")
            print("| " + " | ".join(cells) + " |")
        print()
    print("Ratios below 1 mean frugal is faster. allocs/op are exact counts from the timed loop.")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: bench_summary.py FILE.json...")
    main(sys.argv[1:])
