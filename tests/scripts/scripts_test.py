#!/usr/bin/env python3
"""Checks the user-facing behaviour of frugal's scripts: every `--help` reads as a manual
page (no raw comment markers or shell code, a Usage line, every option of the Usage line
explained), unknown options get a one-line answer with exit code 2, a prose figure of the
docs is checked against the runs its section links to, and a missing Python
dependency is a one-line message that says what to install, not a traceback."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = ["test", "install-deps", "bench", "build-tuning", "mutate", "bench-service"]


def run(args, **kw):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, **kw)


class HelpTexts(unittest.TestCase):
    def test_help_reads_as_a_manual_page(self):
        for name in SCRIPTS:
            with self.subTest(script=name):
                r = run([os.path.join(ROOT, "scripts", name), "--help"])
                self.assertEqual(r.returncode, 0, r.stderr)
                text = r.stdout
                self.assertIn("Usage: scripts/" + name, text)
                for line in text.splitlines():
                    self.assertFalse(line.startswith("#"), f"raw comment line: {line!r}")
                    self.assertNotRegex(line, r"^\s*(set -|cd |exec |if |for )",
                                        f"shell code in the help: {line!r}")
                usage = next(l for l in text.splitlines() if l.startswith("Usage:"))
                for option in set(re.findall(r"--[a-z][a-z-]*", usage)):
                    explained = [l for l in text.splitlines()
                                 if l.lstrip().startswith(option) and l is not usage]
                    self.assertTrue(explained, f"{name}: option {option} is not explained")

    def test_unknown_option_is_one_line_and_exit_2(self):
        for name in ["test", "install-deps", "bench", "mutate", "bench-service"]:
            with self.subTest(script=name):
                r = run([os.path.join(ROOT, "scripts", name), "--no-such-option"])
                self.assertEqual(r.returncode, 2)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertIn("--no-such-option", r.stderr)


class MissingDependencies(unittest.TestCase):
    def test_report_without_matplotlib_says_what_to_install(self):
        with tempfile.TemporaryDirectory() as fake:
            # A matplotlib that cannot be imported, as on a Python without it.
            os.makedirs(os.path.join(fake, "matplotlib"))
            with open(os.path.join(fake, "matplotlib", "__init__.py"), "w") as f:
                f.write("raise ImportError('No module named matplotlib')\n")
            env = dict(os.environ, PYTHONPATH=fake)
            out = os.path.join(fake, "out")
            r = run([sys.executable, os.path.join(ROOT, "scripts", "bench_report.py"),
                     os.path.join(ROOT, "tests", "report", "fixture.json"), out], env=env)
            self.assertNotEqual(r.returncode, 0)
            self.assertNotIn("Traceback", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("python3-matplotlib", r.stderr)


class DocsFigures(unittest.TestCase):
    """A prose figure must come from a run its section links to (or the page's first run),
    not from any run the page names."""

    def test_a_figure_is_checked_against_its_sections_runs(self):
        fixture = os.path.join(ROOT, "tests", "report", "fixture.json")
        with open(fixture, encoding="utf-8") as f:
            base = json.load(f)
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "docs", "runs"))
            with open(os.path.join(root, "README.md"), "w", encoding="utf-8") as f:
                f.write("# demo\n")
            for name, scale in (("a", 1), ("b", 3), ("c", 7)):
                run_data = json.loads(json.dumps(base))
                for b in run_data["benchmarks"]:
                    b["real_time"] *= scale
                    b["cpu_time"] *= scale
                with open(os.path.join(root, "docs", "runs", name + ".json"), "w",
                          encoding="utf-8") as f:
                    json.dump(run_data, f)
            # The fixture's demo/build/std/8 has a median of 50 ns (150 in b, 350 in c), its
            # demo/build/absl/8 one of 18 ns (54 in b); a has neither 54 nor 350.
            page = os.path.join(root, "docs", "demo.md")

            def check(text):
                with open(page, "w", encoding="utf-8") as f:
                    f.write(text)
                return run([sys.executable, os.path.join(ROOT, "scripts", "docs_figures.py"),
                            "--root", root, "check"])

            head = "# Demo\n\nFrom [a](runs/a.json).\n\n## B\n\nFrom [b](runs/b.json): "
            tail = "\n\n## C\n\nFrom [c](runs/c.json): 350 ns.\n"
            self.assertEqual(check(head + "54 ns." + tail).returncode, 0)
            self.assertEqual(check(head + "50 ns, the first run's." + tail).returncode, 0)
            r = check(head + "350 ns." + tail)  # run c's figure, in b's section
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("docs/demo.md:7: 350", r.stdout)


class BenchService(unittest.TestCase):
    def test_a_twin_not_built_is_named_in_one_line(self):
        with tempfile.TemporaryDirectory() as empty:
            r = run([os.path.join(ROOT, "scripts", "bench-service"), "--no-build",
                     "--build-dir", empty])
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertNotIn("Traceback", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("not built: service-naive", r.stderr)
            self.assertIn("service-frugal", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
