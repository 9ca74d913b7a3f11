#!/usr/bin/env python3
"""scripts/docs_figures.py on a small project of its own: a figure that is not in the run a
page names fails, a generated table edited by hand fails, `update` rewrites it, and a line
marked as quoting another source is skipped."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "docs_figures.py")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def bench(name, ns):
    return {"name": name, "run_name": name, "run_type": "iteration", "real_time": ns,
            "cpu_time": ns, "time_unit": "ns", "iterations": 1000, "allocs/op": 0.0,
            "bytes/op": 0.0}


RUN = {"context": {"date": "2026-12-01T00:00:00+00:00"},
       "benchmarks": [bench("demo/op/naive/8", v) for v in (40.0, 41.0, 42.0)] +
                     [bench("demo/op/frugal/8", v) for v in (10.0, 10.5, 11.0)]}

PAGE = """# Demo

The run: [run.json](run.json).

<!-- figures: ^demo/ -->
<!-- /figures -->

frugal takes {time} per op, {ratio} of naive.
A figure from elsewhere: 3.14 ns. <!-- not from a run -->
A default: 50 ms. <!-- not from a run: the default option -->
"""


class Figures(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.dir, "docs"))
        with open(os.path.join(self.dir, "README.md"), "w") as f:
            f.write("# Demo project\n")
        with open(os.path.join(self.dir, "docs", "run.json"), "w") as f:
            json.dump(RUN, f)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def page(self, time="10.5 ns", ratio="0.26x"):
        path = os.path.join(self.dir, "docs", "demo.md")
        with open(path, "w") as f:
            f.write(PAGE.format(time=time, ratio=ratio))
        return path

    def run_script(self, mode):
        return subprocess.run([sys.executable, SCRIPT, "--root", self.dir, mode],
                              capture_output=True, text=True)

    def test_update_then_check_passes(self):
        path = self.page()
        self.assertEqual(self.run_script("update").returncode, 0)
        text = read(path)
        self.assertIn("| 8 | 41 ns", text)           # the naive median
        self.assertIn("10.5 ns", text)
        r = self.run_script("check")
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_a_time_not_in_the_run_fails(self):
        self.page(time="9.8 ns")
        self.run_script("update")
        r = self.run_script("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("9.8", r.stdout)
        self.assertIn("docs/demo.md:", r.stdout)

    def test_a_ratio_not_in_the_run_fails(self):
        self.page(ratio="0.20x")
        self.run_script("update")
        r = self.run_script("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("0.20", r.stdout)

    def test_a_table_edited_by_hand_fails_and_update_restores_it(self):
        path = self.page()
        self.run_script("update")
        text = read(path)
        with open(path, "w") as f:
            f.write(text.replace("41 ns", "39 ns"))
        r = self.run_script("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("generated table differs", r.stdout)
        self.run_script("update")
        self.assertEqual(read(path), text)

    def test_a_missing_run_fails(self):
        path = self.page()
        with open(path, "a") as f:
            f.write("\nAlso [gone.json](gone.json).\n")
        r = self.run_script("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("gone.json, which does not exist", r.stdout)

    def test_a_figure_on_a_page_without_a_run_fails(self):
        with open(os.path.join(self.dir, "docs", "bare.md"), "w") as f:
            f.write("# Bare\n\nIt takes 5 ns.\n")
        r = self.run_script("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("names no run", r.stdout)

    def test_plots_compare_up_to_floating_point_noise(self):
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        try:
            import docs_figures
        finally:
            sys.path.pop(0)
        drawn = '<path d="M 221.310313 220.990313 L 221.310313 21.4"/><text x="1.5">4</text>'
        self.assertTrue(docs_figures.same_drawing(drawn, drawn))
        # Another CPU's rounding in the sixth decimal is the same plot...
        self.assertTrue(docs_figures.same_drawing(drawn, drawn.replace("221.310313", "221.310312")))
        # ...a moved point, other text or another number of coordinates is not.
        self.assertFalse(docs_figures.same_drawing(drawn, drawn.replace("221.310313", "221.410313")))
        self.assertFalse(docs_figures.same_drawing(drawn, drawn.replace(">4<", ">5<")))
        self.assertFalse(docs_figures.same_drawing(drawn, drawn.replace(' 21.4"', '"')))

    def test_bad_use_exits_2(self):
        self.assertEqual(self.run_script("frobnicate").returncode, 2)


if __name__ == "__main__":
    unittest.main()
