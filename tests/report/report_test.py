#!/usr/bin/env python3
"""Checks scripts/bench_report.py, bench_compare.py, bench_stats.py and bench_run.py on fixed
inputs: the tables, ratios and verdicts of the report, the comparison's significance test and
exit codes, bad input, and a benchmark binary that crashes mid-run."""
import copy
import io
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "..", "scripts")
sys.path.insert(0, SCRIPTS)
import bench_compare  # noqa: E402
import bench_report  # noqa: E402
import bench_stats  # noqa: E402

FIXTURE = os.path.join(HERE, "fixture.json")

try:
    import matplotlib  # noqa: F401
    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False


def quiet(fn, *args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = fn(*args)
    return rc, out.getvalue(), err.getvalue()


class StatsTest(unittest.TestCase):
    def test_exact_u_test_of_separated_samples(self):
        u, p = bench_stats.mann_whitney_u(list(range(9)), list(range(10, 19)))
        self.assertEqual(u, 0)
        self.assertAlmostEqual(p, 2 / 48620)  # 2 / C(18, 9)

    def test_exact_u_test_matches_a_hand_count(self):
        # xs = [1, 3], ys = [2, 4]: U = 1; of the 6 arrangements, U <= 1 in 2: p = 2 * 2/6.
        u, p = bench_stats.mann_whitney_u([1, 3], [2, 4])
        self.assertEqual(u, 1)
        self.assertAlmostEqual(p, 2 / 3)
        u, p = bench_stats.mann_whitney_u([1, 2], [3, 4])
        self.assertAlmostEqual(p, 2 * 1 / 6)

    def test_u_test_with_ties_uses_the_corrected_normal_approximation(self):
        u, p = bench_stats.mann_whitney_u([1, 2, 2, 3, 4, 5, 5, 6, 7], [3, 4, 4, 5, 6, 7, 8, 8, 9])
        self.assertEqual(u, 19.5)
        self.assertAlmostEqual(p, 0.0683851, places=6)  # scipy.stats.mannwhitneyu agrees

    def test_identical_samples_are_not_significant(self):
        self.assertEqual(bench_stats.mann_whitney_u([5] * 9, [5] * 9)[1], 1.0)

    def test_geomean_spread_median(self):
        self.assertAlmostEqual(bench_stats.geomean([0.2, 0.25, 0.5]), 0.025 ** (1 / 3))
        self.assertIsNone(bench_stats.geomean([]))
        self.assertAlmostEqual(bench_stats.spread([96, 100, 104]), 0.02)  # quartiles 98, 102
        self.assertAlmostEqual(bench_stats.spread([90, 99, 100, 101, 500]), 0.01)  # outliers ignored
        self.assertEqual(bench_stats.spread([7]), 0.0)


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        args = [FIXTURE, cls.tmp.name] + ([] if HAVE_MATPLOTLIB else ["--no-plots"])
        assert bench_report.main(args) == 0
        with open(os.path.join(cls.tmp.name, "report.md")) as f:
            cls.md = f.read()
        with open(os.path.join(cls.tmp.name, "report.html")) as f:
            cls.html = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_table_has_a_column_per_implementation_and_the_three_ratios(self):
        self.assertIn("| arg | naive | frugal | std | absl | limit | frugal/naive | "
                      "frugal/best peer | frugal/limit |", self.md)
        self.assertIn("| 8 | 100 ns ±2%<br>3 allocs, 96 B | 20 ns ±2%<br>0 allocs, 0 B | "
                      "50 ns ±2%<br>1 allocs, 32 B | 18 ns ±2%<br>0 allocs, 0 B | "
                      "10 ns ±2%<br>0 allocs, 0 B | 0.20x faster | 1.11x **SLOWER** (absl) | "
                      "2.00x |", self.md)
        self.assertIn("| 0.25x faster | 0.67x faster (absl) | 2.00x |", self.md)

    def test_variants_are_columns_but_not_ratios(self):
        self.assertIn("| arg | naive | frugal | frugal:variant | frugal/naive | "
                      "frugal/best peer |", self.md)
        self.assertIn("| - | 2 us ±2%<br>2 allocs, 64 B | 1 us ±2%<br>0 allocs, 0 B | "
                      "900 ns ±2%<br>0 allocs, 0 B | 0.50x faster |  |", self.md)

    def test_summary_gives_geomeans_allocations_and_every_loss(self):
        self.assertIn("| demo | 3 | 0.29x (3.4x faster, 3 cases) | 0.20x | 0.86x (2 cases) | "
                      "12 → 1 (over 3 cases) |", self.md)
        self.assertIn("### Where frugal is slower (1)", self.md)
        self.assertIn("- demo/build/8: frugal 20 ns vs absl 18 ns: **1.11x**", self.md)

    def test_context_and_build_cost_are_reported(self):
        for text in ("Machine: a fixed fixture", "Compiler: g++ 12 (fixture)",
                     "Allocator: glibc 2.36 malloc", "9 repetition(s)",
                     "Source: commit 0123abc (uncommitted changes)",
                     "| `frugal/demo.hpp` | 450 ms | 1.50x |",
                     "| `examples/demo_story.cpp` | 12,345 |"):
            self.assertIn(text, self.md)

    def test_html_is_self_contained_and_marks_losses(self):
        self.assertTrue(self.html.startswith("<!DOCTYPE html>"))
        self.assertIn('<td class="loss">1.11x **SLOWER** (absl)</td>', self.html)
        self.assertIn('<td class="win">0.20x faster</td>', self.html)
        self.assertNotRegex(self.html, r'(src|href)="(https?:)?//')
        self.assertNotIn("<script", self.html)

    @unittest.skipUnless(HAVE_MATPLOTLIB, "matplotlib is not installed")
    def test_plots_are_embedded_svg(self):
        self.assertEqual(self.html.count("<svg"), 2)  # demo/build and the summary chart
        self.assertIn("![demo/build](plots/demo-build.svg)", self.md)
        self.assertTrue(os.path.exists(os.path.join(self.tmp.name, "plots", "summary.svg")))

    def test_a_peer_variant_that_frugal_also_has_is_not_a_peer_of_plain_frugal(self):
        data = bench_report.load(FIXTURE)
        extra = []
        for b in data["benchmarks"]:
            if b["name"] == "demo/lookup/frugal:variant":
                extra.append(dict(b, name="demo/lookup/std:variant", run_name="demo/lookup/std:variant",
                                  real_time=b["real_time"] / 10))
            if b["name"] == "demo/lookup/naive":
                extra.append(dict(b, name="demo/lookup/std:mutex", run_name="demo/lookup/std:mutex",
                                  real_time=b["real_time"]))
        data["benchmarks"] += extra
        an = bench_report.Analysis(data, 0.05)
        case = an.groups[("demo", "lookup")]["-"]
        self.assertEqual(case.peers(), ["std:mutex"])
        self.assertEqual(case.best_peer()[1], "std:mutex")
        self.assertIn("| 0.50x faster | 0.50x faster (std:mutex) |", bench_report.markdown(an, {}))

    def test_a_case_that_is_not_like_for_like_is_labelled_and_left_out_of_the_summary(self):
        data = bench_report.load(FIXTURE)
        data["frugal"]["not_like_for_like"] = [{"pattern": "^demo/build/frugal/8$",
                                                "reason": "a view against a copy"}]
        an = bench_report.Analysis(data, 0.05)
        md = bench_report.markdown(an, {})
        self.assertIn("### Not like for like (1): kept for context, left out of the summary", md)
        self.assertIn("- demo/build/8: a view against a copy (frugal/naive 0.20x)", md)
        # demo's summary now rests on build/64 (0.25x) and lookup (0.50x) alone.
        s = an.module_summary(an.modules()["demo"])
        self.assertEqual(s["n_naive"], 2)
        self.assertAlmostEqual(s["vs_naive"], (0.25 * 0.5) ** 0.5)
        self.assertEqual(s["best_vs_naive"], 0.25)
        html = bench_report.html_report(an, {})
        self.assertIn("a view against a copy", html)

    def test_a_limit_that_something_beats_is_flagged(self):
        data = bench_report.load(FIXTURE)
        for b in data["benchmarks"]:
            if b["name"] == "demo/build/absl/64":
                b["real_time"] = 40.0  # limit is 50 ns
        an = bench_report.Analysis(data, 0.05)
        md = bench_report.markdown(an, {})
        self.assertIn("### Limits beaten (1): these limit rows are not the fastest code", md)
        self.assertIn("- demo/build/64: absl 40 ns vs limit 50 ns (0.80x)", md)
        self.assertNotIn("Limits beaten", self.md)

    def test_threaded_times_are_per_thread(self):
        data = bench_report.load(FIXTURE)
        for b in data["benchmarks"]:
            b["name"] = b["run_name"] = b["name"] + "/real_time/threads:2"
            b["threads"] = 2
        an = bench_report.Analysis(data, 0.05)
        md = bench_report.markdown(an, {})
        # Google Benchmark's 20 ns with 2 threads is 40 ns of each thread's time per op.
        self.assertIn("| 8/real_time/threads:2 | 200 ns", md)
        self.assertIn("each thread's cost per operation", md)
        self.assertIn("0.20x faster", md)  # ratios are unchanged

    def test_few_repetitions_are_flagged(self):
        data = bench_report.load(FIXTURE)
        data["benchmarks"] = [b for b in data["benchmarks"] if b["repetition_index"] < 3]
        an = bench_report.Analysis(data, 0.05)
        self.assertIn("Only 3 repetition(s)", bench_report.markdown(an, {}))

    def test_insignificant_loss_is_marked_as_noise(self):
        data = bench_report.load(FIXTURE)
        for b in data["benchmarks"]:
            if b["name"] == "demo/build/absl/8":
                # Same spread as frugal's but a median 10 % lower: overlapping samples.
                b["real_time"] = 18 + (b["real_time"] - 18) * 10
        an = bench_report.Analysis(data, 0.05)
        self.assertIn("(not significant: noise?)", bench_report.markdown(an, {}))


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.old = bench_report.load(FIXTURE)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data))
        return path

    def slower(self, name, factor):
        new = copy.deepcopy(self.old)
        for b in new["benchmarks"]:
            if b["name"] == name:
                b["real_time"] *= factor
        return new

    def on_another_machine(self, data, factor):
        new = copy.deepcopy(data)
        new["context"]["frugal_machine"] = "another CPU, 16 logical CPUs"
        for b in new["benchmarks"]:
            b["real_time"] *= factor
        return new

    def test_another_machine_compares_ratios_not_times(self):
        # Everything 1.5x slower on the other machine: frugal's ratios are unchanged.
        new = self.write("new.json", self.on_another_machine(self.old, 1.5))
        rc, out, _ = quiet(bench_compare.main, [FIXTURE, new])
        self.assertEqual(rc, 0, out)
        self.assertIn("# Comparison of ratios", out)
        self.assertIn("The runs differ (machine: ", out)
        self.assertIn("| demo/build/8 | naive | 0.200 | 0.200 | 1.000 |", out)
        self.assertIn("Regressions: 0.", out)
        # The same files compared by time would report every benchmark slower.
        rc, out, _ = quiet(bench_compare.main, [FIXTURE, new, "--mode", "times"])
        self.assertIn("| demo/build/naive/8 | 100 ns | 150 ns | 1.500 |", out)

    def test_another_machine_catches_a_frugal_slowdown_relative_to_its_peers(self):
        new = self.on_another_machine(self.slower("demo/build/frugal/8", 1.2), 0.5)
        rc, out, _ = quiet(bench_compare.main, [FIXTURE, self.write("new.json", new)])
        self.assertEqual(rc, 1, out)
        self.assertIn("| demo/build/8 | naive | 0.200 | 0.240 | 1.200 | 0.0003 | **REGRESSION** |",
                      out)
        self.assertIn("- demo/build/8 against absl: 1.200x", out)
        self.assertNotIn("demo/build/64 against", out)

    def test_identical_runs_pass(self):
        rc, out, _ = quiet(bench_compare.main, [FIXTURE, FIXTURE])
        self.assertEqual(rc, 0)
        self.assertIn("Geometric mean of new/old: 1.000 over 13 benchmarks; 1.000 over "
                      "frugal's 4.", out)

    def test_a_significant_frugal_slowdown_fails(self):
        new = self.write("new.json", self.slower("demo/build/frugal/8", 1.2))
        rc, out, _ = quiet(bench_compare.main, [FIXTURE, new])
        self.assertEqual(rc, 1)
        self.assertIn("| demo/build/frugal/8 | 20 ns | 24 ns | 1.200 | 0.0000 | **REGRESSION** |",
                      out)
        self.assertIn("- demo/build/frugal/8: 1.200x (p = 0.0000)", out)

    def test_the_threshold_is_the_users(self):
        new = self.write("new.json", self.slower("demo/build/frugal/8", 1.2))
        self.assertEqual(quiet(bench_compare.main, [FIXTURE, new, "--threshold", "25"])[0], 0)

    def test_a_slower_peer_is_not_a_regression(self):
        new = self.write("new.json", self.slower("demo/build/absl/8", 1.5))
        rc, out, _ = quiet(bench_compare.main, [FIXTURE, new])
        self.assertEqual(rc, 0)
        self.assertIn("| demo/build/absl/8 | 18 ns | 27 ns | 1.500 | 0.0000 | slower |", out)

    def test_a_slowdown_inside_the_noise_is_not_significant(self):
        new = copy.deepcopy(self.old)
        for b in new["benchmarks"]:
            if b["name"] == "demo/build/frugal/8" and b["repetition_index"] % 2:
                b["real_time"] *= 1.3  # half the runs slower: medians move, samples overlap
        rc, out, _ = quiet(bench_compare.main, [FIXTURE, self.write("new.json", new)])
        self.assertEqual(rc, 0, out)

    def test_few_repetitions_warn_and_use_the_threshold_alone(self):
        few = copy.deepcopy(self.old)
        few["benchmarks"] = [b for b in few["benchmarks"] if b["repetition_index"] < 3]
        new = copy.deepcopy(few)
        for b in new["benchmarks"]:
            if b["name"] == "demo/lookup/frugal":
                b["real_time"] *= 1.1
        rc, out, _ = quiet(bench_compare.main, [self.write("old.json", few),
                                                self.write("new.json", new)])
        self.assertEqual(rc, 1)
        self.assertIn("Warning: only 3 repetition(s)", out)

    def test_bad_files_are_named_precisely(self):
        cases = [
            (os.path.join(self.tmp.name, "missing.json"), "missing.json: no such file"),
            (self.write("bad.json", '{"benchmarks": [\n  {"name": '),
             "bad.json: not valid JSON: Expecting value at line 2 column 12"),
            (self.write("list.json", "[1, 2]"), 'not a Google Benchmark JSON file'),
            (self.write("noname.json", '{"benchmarks": [{"real_time": 1}]}'),
             'benchmarks[0] has no "name"'),
            (self.write("notime.json", '{"benchmarks": [{"name": "a/b/frugal"}]}'),
             'benchmarks[0] (a/b/frugal) has no numeric "real_time"'),
        ]
        for path, message in cases:
            rc, _, err = quiet(bench_compare.main, [path, FIXTURE])
            self.assertEqual(rc, 2, path)
            self.assertIn(message, err)

    def test_a_different_set_of_benchmarks_is_refused(self):
        other = copy.deepcopy(self.old)
        other["benchmarks"] = [b for b in other["benchmarks"] if "lookup" not in b["name"]]
        other["benchmarks"] += [dict(other["benchmarks"][0], name="demo/new/frugal/1",
                                     run_name="demo/new/frugal/1")]
        rc, _, err = quiet(bench_compare.main, [FIXTURE, self.write("other.json", other)])
        self.assertEqual(rc, 2)
        self.assertIn("different sets of benchmarks (13 in", err)
        self.assertIn("only in " + FIXTURE + ": demo/lookup/naive, demo/lookup/frugal, "
                      "demo/lookup/frugal:variant", err)
        self.assertIn("demo/new/frugal/1", err)


FAKE_BENCH = r"""#!/bin/sh
# A stand-in for a benchmark binary: lists two benchmarks, crashes on the second.
for a in "$@"; do
  case "$a" in
    --benchmark_list_tests) echo fake/op/frugal/1; echo fake/op/naive/1; exit 0 ;;
    --list_headline|--list_own_threads) exit 0 ;;
    --list_not_like_for_like) printf 'fake/op/\tthe fake compares a view with a copy\n'; exit 0 ;;
    --benchmark_out=*) out="${a#--benchmark_out=}" ;;
    --benchmark_filter=*) filter="${a#--benchmark_filter=}" ;;
  esac
done
case "$filter" in *naive*) kill -SEGV $$ ;; esac
cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$$/status)
cat > "$out" <<EOF
{"context": {"num_cpus": 1}, "benchmarks": [{"name": "fake/op/frugal/1",
 "run_name": "fake/op/frugal/1", "run_type": "iteration", "real_time": 5, "time_unit": "ns",
 "allocs/op": 0, "bytes/op": 0, "label": "$cpus"}]}
EOF
"""


class RunnerTest(unittest.TestCase):
    def test_a_crashing_binary_fails_the_run_and_keeps_the_results(self):
        with tempfile.TemporaryDirectory() as tmp:
            bench_dir = os.path.join(tmp, "benches")
            os.makedirs(bench_dir)
            fake = os.path.join(bench_dir, "fake_bench")
            with open(fake, "w") as f:
                f.write(FAKE_BENCH)
            os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
            proc = subprocess.run(
                [sys.executable, os.path.join(SCRIPTS, "bench_run.py"), "--bench-dir", bench_dir,
                 "--build-dir", tmp, "--out", tmp, "--repetitions", "3", "--no-build-cost"],
                capture_output=True, text=True)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("FAILED fake_bench: fake/op/naive/1: killed by SIGSEGV", proc.stderr)
            with open(os.path.join(tmp, "report.json")) as f:
                report = json.load(f)
            self.assertEqual([b["name"] for b in report["benchmarks"]], ["fake/op/frugal/1"] * 3)
            self.assertEqual(report["frugal"]["failures"][0]["benchmark"], "fake/op/naive/1")
            self.assertEqual(report["frugal"]["not_like_for_like"],
                             [{"pattern": "fake/op/",
                               "reason": "the fake compares a view with a copy"}])
            # Single-threaded runs are pinned to the last CPU this process may use.
            last = str(sorted(os.sched_getaffinity(0))[-1])
            self.assertEqual({b["label"] for b in report["benchmarks"]}, {last})
            self.assertEqual(report["frugal"]["cpu"], int(last))
            # The report still renders, with the failure listed.
            rc, _, _ = quiet(bench_report.main, [os.path.join(tmp, "report.json"), tmp,
                                                 "--no-plots"])
            self.assertEqual(rc, 0)
            with open(os.path.join(tmp, "report.md")) as f:
                self.assertIn("fake_bench: fake/op/naive/1: killed by SIGSEGV", f.read())

    def test_filters_match_exactly_one_name(self):
        import bench_run
        self.assertEqual(bench_run.exact_filter("a/b:c/real_time/threads:2"),
                         "^a/b:c/real_time/threads:2$")
        self.assertEqual(bench_run.exact_filter("x/y.z(1)"), r"^x/y\.z\(1\)$")
        self.assertTrue(re.fullmatch(bench_run.exact_filter("x/y.z(1)")[1:-1], "x/y.z(1)"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
