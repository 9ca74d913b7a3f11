#!/usr/bin/env python3
"""Builds frugal's benchmarks and examples with each build-tuning preset and measures the
effect: time of frugal's headline benchmarks relative to the `release` preset (g++ -O3),
object code of the examples, and build time. Writes build/tuning/tuning.md and tuning.json.

Usage: scripts/build-tuning [--repetitions N] [--min-time S] [--presets A,B,...] [FILTER]
FILTER defaults to frugal's own implementations in the headline set.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_run  # noqa: E402
import bench_stats  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = ["release-o2", "release", "release-native", "release-lto", "release-clang",
           "release-thinlto", "pgo"]
BASELINE = "release"


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def build(preset):
    """Configures and builds a preset from scratch; returns seconds spent building."""
    binary = os.path.join(ROOT, "build", "pgo" if preset.startswith("pgo") else preset)
    if preset != "pgo-use" and os.path.isdir(binary):
        shutil.rmtree(binary)  # a clean build, so that build times compare
    sh(["cmake", "--preset", preset], stdout=subprocess.DEVNULL)
    t0 = time.time()
    sh(["cmake", "--build", "--preset", preset, "-j", str(os.cpu_count() or 2)],
       stdout=subprocess.DEVNULL)
    return time.time() - t0, binary


def examples_of(binary):
    d = os.path.join(binary, "examples")
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if os.access(os.path.join(d, f), os.X_OK) and not os.path.isdir(os.path.join(d, f))
                  and "." not in f)


def train(binary, out, args):
    """Runs every selected benchmark of an instrumented build once (PGO training)."""
    sh([sys.executable, os.path.join(ROOT, "scripts", "bench_run.py"),
        "--bench-dir", os.path.join(binary, "benches"), "--build-dir", binary, "--out", out,
        "--no-build-cost", "--quick", args.filter], stdout=subprocess.DEVNULL)


def measure(builds, args, out_root):
    """Runs each selected benchmark in every build, interleaved: for each benchmark, each
    round runs the builds in order (reversed on odd rounds), so that machine drift hits all
    builds alike. Returns {preset: {name: [ns, ...]}} and the baseline's context."""
    import tempfile
    base_bins = bench_run.select(
        [bench_run.BenchBinary(os.path.join(builds[BASELINE], "benches", f))
         for f in sorted(os.listdir(os.path.join(builds[BASELINE], "benches")))
         if f.endswith("_bench")], False, args.filter)
    samples = {p: {} for p in builds}
    cpu = sorted(os.sched_getaffinity(0))[-1]  # single-threaded runs meet the same core
    context = {}
    order = list(builds)
    with tempfile.TemporaryDirectory() as tmp:
        for binary, names in base_bins:
            # One object per build, so that each asks its binary about its threads once.
            per_build = {p: bench_run.BenchBinary(os.path.join(builds[p], "benches", binary.name))
                         for p in order}
            for name in names:
                for r in range(args.repetitions):
                    for preset in (order if r % 2 == 0 else order[::-1]):
                        b = per_build[preset]
                        try:
                            runs, ctx = bench_run.run_one(b, name, args.min_time, tmp,
                                                          cpu=cpu)
                        except RuntimeError as e:
                            print(f"build-tuning: {preset}: {name}: {e}", file=sys.stderr)
                            continue
                        context = context or ctx
                        samples[preset].setdefault(name, []).extend(
                            bench_run.ns(run) for run in runs)
                line = ", ".join(f"{p} {bench_run.fmt_ns(bench_stats.median(samples[p][name]))}"
                                 for p in order if samples[p].get(name))
                print(f"{name}: {line}", flush=True)
    return samples, context


def flags_of(binary):
    cache = bench_run.read_cache(binary)
    link = cache.get("CMAKE_EXE_LINKER_FLAGS_RELEASE", "")
    return (f"{os.path.basename(cache.get('CMAKE_CXX_COMPILER', '?'))} "
            f"{cache.get('CMAKE_CXX_FLAGS_RELEASE', '')}" + (f"; link {link}" if link else ""))


def main():
    ap = argparse.ArgumentParser(prog="build-tuning")
    ap.add_argument("--repetitions", type=int, default=5,
                    help="rounds of every benchmark in every build (default 5)")
    ap.add_argument("--min-time", type=float, default=0.05,
                    help="seconds each benchmark run lasts at least (default 0.05)")
    ap.add_argument("--presets", default=",".join(PRESETS),
                    help="comma-separated builds to compare; release is always the baseline")
    ap.add_argument("filter", nargs="?", default=r"/frugal(:[a-z_]+)?(/|$)",
                    help="regular expression for the benchmarks to time "
                         "(default: frugal's own implementations in the headline set)")
    args = ap.parse_args()
    presets = args.presets.split(",")
    if BASELINE not in presets:
        presets.insert(0, BASELINE)
    out_root = os.path.join(ROOT, "build", "tuning")
    os.makedirs(out_root, exist_ok=True)
    rows, builds = {}, {}
    for preset in presets:
        print(f"=== {preset}", flush=True)
        if preset == "pgo":
            gen_s, binary = build("pgo-generate")
            # Training: every selected benchmark once, a few milliseconds each.
            train(binary, os.path.join(out_root, "pgo-training"), args)
            use_s, binary = build("pgo-use")
            seconds = gen_s + use_s
        else:
            seconds, binary = build(preset)
        builds[preset] = binary
        rows[preset] = {"flags": flags_of(binary), "build_s": round(seconds, 1),
                        "examples_text": sum(bench_run.text_bytes(e) for e in examples_of(binary))}
    print("=== measuring, interleaved across builds", flush=True)
    samples, ctx = measure(builds, args, out_root)
    ctx.update(bench_run.machine_context(builds[BASELINE]))
    for preset in presets:
        rows[preset]["samples"] = samples[preset]
    base = rows[BASELINE]["samples"]
    modules = sorted({n.split("/")[0] for n in base})
    lines = ["| preset | compiler and flags | " + " | ".join(modules) +
             " | all | examples .text | clean build |",
             "|---|---|" + "---|" * (len(modules) + 3)]
    for preset in presets:
        r = rows[preset]
        cells = []
        all_ratios = []
        for m in modules:
            ratios = [bench_stats.median(v) / bench_stats.median(base[n])
                      for n, v in r["samples"].items() if n.startswith(m + "/") and n in base]
            all_ratios += ratios
            g = bench_stats.geomean(ratios)
            cells.append(f"{g:.2f}x" if g else "-")
        g = bench_stats.geomean(all_ratios)
        r["geomean"] = g
        cells.append(f"**{g:.2f}x**" if g else "-")
        size = r["examples_text"] / rows[BASELINE]["examples_text"] \
            if rows[BASELINE]["examples_text"] else 0
        cells.append(f"{r['examples_text']:,} B ({size:.2f}x)")
        cells.append(f"{r['build_s']:.0f} s")
        lines.append(f"| {preset} | `{r['flags']}` | " + " | ".join(cells) + " |")
    text = (f"Measured {ctx.get('frugal_date', '')} on {ctx.get('frugal_machine', '?')}; "
            f"{ctx.get('frugal_allocator', '')}. Times: geometric mean over frugal's headline "
            f"benchmarks of (median time with the preset) / (median time with `release`), "
            f"{args.repetitions} repetitions each, every build of one benchmark run in turn; "
            f"below 1 is faster. PGO was trained on the same benchmarks.\n\n"
            + "\n".join(lines) + "\n")
    with open(os.path.join(out_root, "tuning.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out_root, "tuning.json"), "w") as f:
        json.dump({"context": ctx, "rows": rows}, f, indent=1)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
