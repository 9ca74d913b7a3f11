#!/usr/bin/env python3
"""Builds frugal's benchmarks and examples with each build-tuning preset and measures the
effect: time of frugal's headline benchmarks relative to the `release` preset (g++ -O3),
object code of the examples, and build time. Writes build/tuning/tuning.md and tuning.json.

Usage: scripts/build-tuning [--repetitions N] [--min-time S] [--presets A,B,...] [FILTER]
       scripts/build_tuning.py --markdown RUN.json      the table of a kept run, run nothing
       scripts/build_tuning.py --check-doc PAGE RUN.json  exit 1 when PAGE's printed table differs
FILTER defaults to frugal's own implementations in the headline set.

Each build holds only what is measured: the benchmarks of MODULES (the containers, strings and
helpers whose code is compiled into the caller's own functions, where flags act) and their
example programs.
"""
import glob
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
import printed_block  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = ["release-o2", "release", "release-native", "release-lto", "release-clang",
           "release-thinlto", "pgo"]
BASELINE = "release"
# frugal's own implementations in the headline set.
DEFAULT_FILTER = r"/frugal(:[a-z_]+)?(/|$)"
MODULES = ["builder", "cow_string", "shared_config", "slice", "small_vector"]
# The example programs of MODULES (static_vector lives in small_vector.hpp).
EXAMPLE_PREFIXES = tuple(m + "_" for m in MODULES) + ("static_vector_",)


def targets():
    examples = sorted(os.path.basename(f)[:-4]
                      for f in glob.glob(os.path.join(ROOT, "examples", "*.cpp"))
                      if os.path.basename(f).startswith(EXAMPLE_PREFIXES))
    return [m + "_bench" for m in MODULES] + examples


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
    sh(["cmake", "--build", "--preset", preset, "-j", str(os.cpu_count() or 2),
        "--target"] + targets(), stdout=subprocess.DEVNULL)
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


def markdown(run):
    """The run's table (every preset's geometric means per module, code size, build time),
    with the line that says how it was measured. Also sets each row's "geomean"."""
    rows, ctx, settings = run["rows"], run["context"], run["settings"]
    presets = list(rows)
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
    return (f"Measured {ctx.get('frugal_date', '')} on {ctx.get('frugal_machine', '?')}; "
            f"{ctx.get('frugal_allocator', '')}. Times: geometric mean over the headline "
            f"benchmarks of {', '.join(settings['modules'])} "
            + ("(frugal's own implementations) " if settings["filter"] == DEFAULT_FILTER
               else f"matching `{settings['filter']}` ") +
            f"of "
            f"(median time with the preset) / (median time with `release`), "
            f"{settings['repetitions']} repetitions each, every build of one benchmark run in "
            f"turn; below 1 is faster. PGO was trained on the same benchmarks.\n\n"
            + "\n".join(lines) + "\n")


def check_doc(page, run_path):
    """0 when the block of `page` printed from `run_path` is what --markdown prints."""
    return printed_block.check(ROOT, page, "scripts/build_tuning.py --markdown", run_path,
                               markdown, "build-tuning", "scripts/build_tuning.py --markdown")


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--check-doc"] and len(argv) == 3:
        return check_doc(argv[1], argv[2])
    if argv[:1] == ["--markdown"] and len(argv) == 2:
        try:
            with open(argv[1]) as f:
                print(markdown(json.load(f)), end="")
        except (OSError, ValueError, KeyError) as e:
            print(f"build-tuning: cannot read {argv[1]}: {e}", file=sys.stderr)
            return 2
        return 0
    ap = argparse.ArgumentParser(prog="build-tuning")
    ap.add_argument("--repetitions", type=int, default=5,
                    help="rounds of every benchmark in every build (default 5)")
    ap.add_argument("--min-time", type=float, default=0.05,
                    help="seconds each benchmark run lasts at least (default 0.05)")
    ap.add_argument("--presets", default=",".join(PRESETS),
                    help="comma-separated builds to compare; release is always the baseline")
    ap.add_argument("filter", nargs="?", default=DEFAULT_FILTER,
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
    run = {"context": ctx, "settings": {"repetitions": args.repetitions,
                                        "min_time_s": args.min_time, "filter": args.filter,
                                        "presets": presets, "modules": MODULES},
           "rows": rows}
    text = markdown(run)
    with open(os.path.join(out_root, "tuning.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out_root, "tuning.json"), "w") as f:
        json.dump(run, f, indent=1)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
