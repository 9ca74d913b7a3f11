#!/usr/bin/env python3
"""Compares two frugal benchmark runs, benchmark by benchmark.

Usage: bench_compare.py OLD.json NEW.json [--threshold PCT] [--alpha P] [--out FILE.md]

For each benchmark in both runs: the median times, new/old, and the two-sided Mann-Whitney U
test over the repetitions of each run (as Google Benchmark's compare.py does); then the
geometric mean of new/old over all benchmarks and over frugal's own.

A frugal benchmark (implementation `frugal` or `frugal:<variant>`) regresses when its median
is slower than the threshold (default 5 %) and the U test finds the difference significant
(p < alpha, default 0.05). With fewer than 9 repetitions on either side the test cannot
reach significance often enough to mean anything, so the report says so and the threshold
alone decides.

Runs from different machines (or compilers) cannot be compared by their times. Then, and
whenever --mode ratios asks for it, the comparison is of frugal's ratio to each implementation
it is measured against in the same run (naive and the peers), case by case: a case regresses
when frugal/other grew by more than the threshold (and, with 9 repetitions, significantly:
the U test over the per-round ratios of the two runs). `--mode times` insists on times.

Exit codes: 0 no regression; 1 a frugal benchmark regressed; 2 a file is missing, malformed
or from a different set of benchmarks.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report  # noqa: E402
import bench_stats  # noqa: E402

MIN_REPS = 9


def selection_mismatch(old_names, new_names, old_label="OLD", new_label="NEW"):
    """Returns a message naming the benchmarks in only one of two runs, or None."""
    new_set, old_set = set(new_names), set(old_names)
    only_old = [n for n in old_names if n not in new_set]
    only_new = [n for n in new_names if n not in old_set]
    if not only_old and not only_new:
        return None

    def some(names):
        return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    msg = [f"the runs measure different sets of benchmarks ({len(old_set)} in {old_label}, "
           f"{len(new_set)} in {new_label}, {len(old_set & new_set)} in both)"]
    if only_old:
        msg.append(f"only in {old_label}: {some(only_old)}")
    if only_new:
        msg.append(f"only in {new_label}: {some(only_new)}")
    msg.append("run the same selection: the same mode (headline, --full or --quick) "
               "and the same FILTER")
    return "; ".join(msg)


MACHINE_KEYS = ("frugal_machine", "frugal_compiler", "frugal_flags", "frugal_allocator")


def same_machine(old, new):
    """Returns (True, "") when both runs name the same machine, compiler, flags and allocator,
    else (False, what differs)."""
    a, b = old.get("context", {}), new.get("context", {})
    for key in MACHINE_KEYS:
        if a.get(key) is None or a.get(key) != b.get(key):
            what = key.replace("frugal_", "")
            return False, f"{what}: {a.get(key, 'not recorded')!r} vs {b.get(key, 'not recorded')!r}"
    return True, ""


def compare_ratios(old, new, threshold, alpha, old_label="OLD", new_label="NEW", why=""):
    """Like compare(), but on frugal's same-run ratio to each other implementation of a case."""
    a = bench_report.samples_of(old)
    b = bench_report.samples_of(new)
    mismatch = selection_mismatch(list(a), list(b), old_label, new_label)
    if mismatch:
        raise bench_report.ReportError(mismatch)
    ca, cb = bench_report.build_cases(a), bench_report.build_cases(b)
    reps = [len(s["ns"]) for s in list(a.values()) + list(b.values())]
    min_reps = min(reps) if reps else 0
    lines = [f"# Comparison of ratios: {new_label} against {old_label}\n",
             (f"The runs differ ({why}), so their times are not compared. " if why else "")
             + "Each row compares frugal's time relative to another implementation measured "
             f"in the same run; a case regresses when that ratio grew by more than "
             f"{threshold:.0%}" + (f" and the U test over the per-round ratios gives p < {alpha}"
                                   if min_reps >= MIN_REPS else "") + ".\n"]
    if min_reps < MIN_REPS:
        lines.append(f"Warning: only {min_reps} repetition(s) in the smaller run; the threshold "
                     f"alone decides.\n")
    lines += ["| case | against | old frugal/other | new frugal/other | new/old | p-value | "
              "verdict |", "|---|---|---|---|---|---|---|"]
    changes, regressions = [], []
    for key, rows in ca.items():
        for arg, old_case in rows.items():
            new_case = cb.get(key, {}).get(arg)
            if new_case is None or "frugal" not in old_case.impls or \
                    "frugal" not in new_case.impls:
                continue
            for other in old_case.impls:
                if other.split(":")[0] == "frugal" or other == "limit" or \
                        other not in new_case.impls:
                    continue

                def per_round(case):
                    f, o = case.impls["frugal"]["ns"], case.impls[other]["ns"]
                    return [x / y for x, y in zip(f, o) if y > 0]
                ro, rn = per_round(old_case), per_round(new_case)
                if not ro or not rn:
                    continue
                mo, mn = bench_stats.median(ro), bench_stats.median(rn)
                r = mn / mo
                p = bench_stats.mann_whitney_u(ro, rn)[1] if len(ro) >= 2 and len(rn) >= 2 \
                    else None
                significant = p is not None and p < alpha if min_reps >= MIN_REPS else True
                name = f"{key[0]}/{key[1]}/{arg}"
                if r > 1 + threshold and significant:
                    v = "**REGRESSION**"
                    regressions.append((f"{name} against {other}", r, p))
                elif r < 1 / (1 + threshold) and significant:
                    v = "better"
                else:
                    v = "same"
                changes.append(r)
                lines.append(f"| {name} | {other} | {mo:.3f} | {mn:.3f} | {r:.3f} | "
                             f"{'-' if p is None else f'{p:.4f}'} | {v} |")
    if not changes:
        raise bench_report.ReportError(f"{old_label} and {new_label} have no case with frugal "
                                       "and another implementation in both")
    lines.append("")
    lines.append(f"Geometric mean of the change in frugal's ratios: "
                 f"{bench_stats.geomean(changes):.3f} over {len(changes)} comparisons.")
    lines.append(f"Regressions: {len(regressions)}.")
    for name, r, p in regressions:
        lines.append(f"- {name}: {r:.3f}x" + (f" (p = {p:.4f})" if p is not None else ""))
    return lines, regressions


def compare(old, new, threshold, alpha, old_label="OLD", new_label="NEW"):
    """Returns (lines of Markdown, regressions) for two loaded runs; raises ReportError when
    the runs measure different sets of benchmarks."""
    a = bench_report.samples_of(old)
    b = bench_report.samples_of(new)
    mismatch = selection_mismatch(list(a), list(b), old_label, new_label)
    if mismatch:
        raise bench_report.ReportError(mismatch)
    if not a:
        raise bench_report.ReportError(f"{old_label} and {new_label} hold no benchmark runs")
    min_reps = min(min(len(s["ns"]) for s in a.values()), min(len(s["ns"]) for s in b.values()))
    lines = [f"# Comparison: {new_label} against {old_label}\n",
             f"A frugal benchmark regresses when it is more than {threshold:.0%} slower"
             + (f" and the Mann-Whitney U test gives p < {alpha}" if min_reps >= MIN_REPS else "")
             + ". Ratios are new/old medians; below 1 is faster.\n"]
    if min_reps < MIN_REPS:
        lines.append(f"Warning: only {min_reps} repetition(s) in the smaller run; the U test "
                     f"needs about {MIN_REPS} to mean anything, so the threshold alone decides. "
                     f"Use `scripts/bench` (9 repetitions) for both runs.\n")
    lines += ["| benchmark | old | new | new/old | p-value | verdict |",
              "|---|---|---|---|---|---|"]
    ratios, frugal_ratios, regressions = [], [], []
    for name in a:
        ma, mb = bench_stats.median(a[name]["ns"]), bench_stats.median(b[name]["ns"])
        r = mb / ma if ma > 0 else float("inf")
        p = None
        if len(a[name]["ns"]) >= 2 and len(b[name]["ns"]) >= 2:
            p = bench_stats.mann_whitney_u(a[name]["ns"], b[name]["ns"])[1]
        significant = p is not None and p < alpha if min_reps >= MIN_REPS else True
        parts = bench_report.split_name(name)
        is_frugal = parts is not None and parts[2].split(":")[0] == "frugal"
        if r > 1 + threshold and significant:
            v = "**REGRESSION**" if is_frugal else "slower"
            if is_frugal:
                regressions.append((name, r, p))
        elif r < 1 / (1 + threshold) and significant:
            v = "faster"
        else:
            v = "same"
        ratios.append(r)
        if is_frugal:
            frugal_ratios.append(r)
        lines.append(f"| {name} | {bench_report.fmt_time(ma)} | {bench_report.fmt_time(mb)} | "
                     f"{r:.3f} | {'-' if p is None else f'{p:.4f}'} | {v} |")
    g = bench_stats.geomean(ratios)
    gf = bench_stats.geomean(frugal_ratios)
    lines.append("")
    lines.append(f"Geometric mean of new/old: {g:.3f} over {len(ratios)} benchmarks"
                 + (f"; {gf:.3f} over frugal's {len(frugal_ratios)}" if gf else "") + ".")
    lines.append(f"Regressions of frugal benchmarks: {len(regressions)}.")
    for name, r, p in regressions:
        lines.append(f"- {name}: {r:.3f}x" + (f" (p = {p:.4f})" if p is not None else ""))
    return lines, regressions


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bench_compare.py")
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--threshold", type=float, default=5.0, help="percent (default 5)")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--out")
    ap.add_argument("--old-label", help="the old run's name in the output (default: its path)")
    ap.add_argument("--mode", choices=("auto", "times", "ratios"), default="auto",
                    help="times: compare medians; ratios: compare frugal's same-run ratios; "
                         "auto (default): times on the same machine, ratios otherwise")
    args = ap.parse_args(argv)
    if args.threshold < 0:
        print("bench_compare: --threshold must be a non-negative percentage", file=sys.stderr)
        return 2
    try:
        old = bench_report.load(args.old)
        new = bench_report.load(args.new)
        same, why = same_machine(old, new)
        label = args.old_label or args.old
        if args.mode == "ratios" or (args.mode == "auto" and not same):
            lines, regressions = compare_ratios(old, new, args.threshold / 100, args.alpha,
                                                label, args.new, "" if same else why)
        else:
            lines, regressions = compare(old, new, args.threshold / 100, args.alpha,
                                         label, args.new)
    except bench_report.ReportError as err:
        print(f"bench --compare: {err}", file=sys.stderr)
        return 2
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
