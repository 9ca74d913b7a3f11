#!/usr/bin/env python3
"""Keeps the figures quoted in the README and docs/ true to the runs they name.

Usage: scripts/docs_figures.py [--root DIR] update   rewrite the generated blocks in the pages
       scripts/docs_figures.py [--root DIR] check    exit 1 when a page disagrees with its runs
  --root DIR   the project whose README.md and docs/*.md are checked (default: this one)

A page names the runs its figures come from by linking their raw JSON: docs/benchmarks.json
(the headline run of `scripts/bench`) or a file under docs/runs/ (another `scripts/bench` run,
an `--instructions` run, a service load test, ...). Then:

- A generated block is written between `<!-- figures: WHAT -->` and `<!-- /figures -->`;
  `update` writes it from the run, `check` fails when it differs. WHAT is one of
    REGEX              the tables of every <module>/<operation>/ of the run matching REGEX,
                       with the report's columns (median ± spread, allocations, frugal/naive,
                       frugal/best peer, frugal/limit)
    @context           the run's date, machine, compiler, flags, allocator and settings
    @summary           the per-module summary table, the cases that are not like for like,
                       the `limit` rows something beats, and every loss
    @summary-table     the per-module summary table alone
    @build-cost        the cost of including each header, and the examples' code size
    @instructions REGEX  instructions per operation of the cases matching REGEX (an
                       `--instructions` run)
    @plot MODULE/OP    the plot of one operation (or `@plot summary`): an image link to
                       docs/img/bench/MODULE-OP.svg, which `update` draws from the run and
                       `check` compares byte for byte (where matplotlib is installed)
  followed by an optional `in PATH` naming the run (relative to the page); without it, the
  page's first named run (for @instructions, its first `--instructions` run).
- Every other figure on the page, outside code blocks (a time such as `1.7 ns` or `12 us`, a
  ratio such as `0.079x`, `13x` or `1.24-1.26x`, an instruction count such as `23 instructions`)
  must be a value of a run, to the precision quoted: a median of some benchmark, or the ratio
  (either way round) of two implementations of one case. The runs a figure may come from are
  those its section (the lines from one heading to the next) links to, and the page's first
  named run; a figure in a section that links to none must come from that first run. A line that ends with
  `<!-- not from a run -->` or `<!-- not from a run: WHERE FROM -->` quotes a figure from
  elsewhere (a default option, a goal, another library's published number) and is skipped;
  the line or the comment says where the figure comes from.
- A block between `<!-- printed by COMMAND -->` and `<!-- /printed -->` is another tool's
  output pasted verbatim (the service load report's tables); that tool's own check keeps it
  equal to its committed run, so its figures are skipped here.

Exit codes: 0 all figures agree; 1 some do not (each named, with its page and line); 2 bad use.
"""
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_report  # noqa: E402

UNITS = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}
TIME = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*[-–]\s*(\d+(?:\.\d+)?))?\s?(ns|us|µs|ms)\b")
RATIO = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*[-–]\s*(\d+(?:\.\d+)?))?x(?![\w])")
INSTR = re.compile(r"(?<![\w.])(\d+(?:,\d{3})*)(?:\s*(?:vs|and|-|–)\s*(\d+(?:,\d{3})*))?\s"
                   r"instructions\b")
BLOCK = re.compile(r"(<!-- figures: (.+?) -->\n)(.*?)(<!-- /figures -->)", re.S)
IMG_DIR = os.path.join(ROOT, "docs", "img", "bench")
SKIP = re.compile(r"<!-- not from a run(?:: [^>]*)? -->\s*$")


def pages():
    yield os.path.join(ROOT, "README.md")
    for name in sorted(os.listdir(os.path.join(ROOT, "docs"))):
        if name.endswith(".md"):
            yield os.path.join(ROOT, "docs", name)


def named_runs(page, text):
    """The JSON runs a page links to, as absolute paths, in order of first mention."""
    out = []
    for target in re.findall(r"\]\(([^)\s]+\.json)\)", text):
        path = os.path.normpath(os.path.join(os.path.dirname(page), target))
        if path not in out:
            out.append(path)
    return out


class Run:
    """The values a run can back: medians per benchmark and ratios within a case."""

    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.data = json.load(f)
        self.times = []        # ns
        self.ratios = []
        self.instructions = []
        if self.data.get("benchmarks"):
            samples = bench_report.samples_of(self.data)
            for s in samples.values():
                self.times.append(bench_report.bench_stats.median(s["ns"]))
            for rows in bench_report.build_cases(samples).values():
                for case in rows.values():
                    meds = [case.med(i) for i in case.impls]
                    for a in meds:
                        for b in meds:
                            if a and b and a is not b:
                                self.ratios.append(a / b)
        for row in self.data.get("frugal", {}).get("instructions", []) or []:
            for key in ("instructions_per_op", "ir_per_op", "instructions"):
                if isinstance(row.get(key), (int, float)):
                    self.instructions.append(float(row[key]))
        # Any other run (build tuning, a load test): every number in it, and their ratios
        # within one record, back a figure.
        if not self.times:
            nums = []
            collect_numbers(self.data, nums)
            self.times += nums
            self.ratios += nums
            self.instructions += nums


def section_runs(page, text, runs):
    """For each line of `text` (0-based), the runs its figures may come from: those linked in
    its section (from one heading outside code blocks to the next), then the page's first
    named run."""
    by_path = {r.path: r for r in runs}
    lines = text.split("\n")
    section_of, linked = [], {}
    section, in_code = 0, False
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            section += 1
        section_of.append(section)
        for target in re.findall(r"\]\(([^)\s]+\.json)\)", line):
            path = os.path.normpath(os.path.join(os.path.dirname(page), target))
            if path in by_path and by_path[path] not in linked.setdefault(section, []):
                linked[section].append(by_path[path])
    first = runs[:1]
    return [linked.get(sec, []) + [r for r in first if r not in linked.get(sec, [])]
            for sec in section_of]


def collect_numbers(node, out):
    if isinstance(node, dict):
        vals = [v for v in node.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        out.extend(float(v) for v in vals)
        out.extend(a / b for a in vals for b in vals if a and b and a is not b)
        for v in node.values():
            collect_numbers(v, out)
    elif isinstance(node, list):
        for v in node:
            collect_numbers(v, out)


def tolerance(text):
    """Half a unit in the last quoted digit, plus a rounding margin."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10 ** -decimals * 1.0001


def matches(quoted, candidates, scale=1.0):
    value = float(quoted.replace(",", ""))
    tol = tolerance(quoted.replace(",", ""))
    # A figure with 2 significant digits or fewer above 10 (13x, 55x) may be rounded to them.
    if "." not in quoted and value >= 10:
        tol = max(tol, 0.5 * 10 ** (len(quoted.replace(",", "")) - 2))
    return any(abs(c / scale - value) <= tol for c in candidates if c and math.isfinite(c))


def prose_lines(text):
    """Yields (line number, line) outside code blocks and generated tables."""
    in_code = in_block = False
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if line.startswith("<!-- figures: ") or line.startswith("<!-- printed by "):
            in_block = True
        if line.startswith("<!-- /figures -->") or line.startswith("<!-- /printed -->"):
            in_block = False
            continue
        if not in_code and not in_block:
            yield n, line


def figures(line):
    """Yields (kind, quoted text, scale to ns or 1) for each figure on a line."""
    clean = re.sub(r"`[^`]*`", lambda m: m.group(0) if re.search(r"\d\s?(ns|us|x)\b", m.group(0))
                   else "", line)
    clean = re.sub(r"\]\([^)]*\)", "]", clean)  # link targets
    for m in TIME.finditer(clean):
        for q in (m.group(1), m.group(2)):
            if q:
                yield "time", q, UNITS[m.group(3)]
    for m in RATIO.finditer(clean):
        for q in (m.group(1), m.group(2)):
            if q and float(q) != 0:  # `0x` is a hexadecimal prefix, never a ratio
                yield "ratio", q, 1.0
    for m in INSTR.finditer(clean):
        for q in (m.group(1), m.group(2)):
            if q:
                yield "instructions", q, 1.0


def generated_table(page, run, regex, update, failures):
    an = bench_report.Analysis(run.data, 0.05)
    svgs = plot_svgs(run)
    out = []
    for (module, op), rows in an.groups.items():
        if re.search(regex, f"{module}/{op}/"):
            out.append(f"**{module}/{op}**\n")
            name = f"{module}-{op}.svg"
            if (svgs is not None and name in svgs) or \
                    (svgs is None and os.path.exists(os.path.join(IMG_DIR, plot_file(run, name)))):
                out.append(generated_plot(page, run, f"{module}/{op}", update, failures))
            out += bench_report.table_md(an, rows)
            out.append("")
    return "\n".join(out)


def generated_context(run):
    return "\n".join(f"- {line}" for line in bench_report.context_lines(run.data)) + "\n"


def generated_summary(run):
    an = bench_report.Analysis(run.data, 0.05)
    out = [bench_report.md_table(*bench_report.summary_table(an))]
    for title, items in bench_report.notes_sections(an):
        out.append(f"**{title}**\n")
        out += [f"- {item}" for item in items]
        out.append("")
    losses = an.losses()
    out.append(f"**Where frugal is slower ({len(losses)})**\n")
    for c, other, r, v in losses:
        note = " (not significant: noise?)" if v == "loss?" else ""
        out.append(f"- {c.module}/{c.op}/{c.arg}: frugal {bench_report.fmt_time(c.med('frugal'))}"
                   f" vs {other} {bench_report.fmt_time(c.med(other))}: **{r:.2f}x**{note}")
    if not losses:
        out.append("- nowhere beyond the threshold")
    return "\n".join(out) + "\n"


def generated_build_cost(run):
    cost = run.data.get("frugal", {}).get("build_cost")
    return bench_report.build_cost_md(cost)[0].replace("## The cost of including frugal\n", "") \
        if cost else ""


def generated_instructions(run, regex):
    text = bench_report.instructions_md(run.data)
    out, keep = [], False
    for block in text.split("\n## ")[1:]:
        head, _, body = block.partition("\n")
        lines = body.strip("\n").split("\n")
        rows = [r for r in lines[2:] if re.search(regex, f"{head}/" + r.split("|")[1].strip())]
        if rows:
            keep = True
            out += [f"**{head}**\n", lines[0], lines[1]] + rows + [""]
    return "\n".join(out) + "\n" if keep else ""


_plots = {}


def plot_svgs(run):
    """{file name: svg text} of every plot the run gives; None without matplotlib."""
    if run.path not in _plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            _plots[run.path] = None
            return None
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            an = bench_report.Analysis(run.data, 0.05)
            bench_report.make_plots(an, tmp)
            folder = os.path.join(tmp, "plots")
            _plots[run.path] = {n: open(os.path.join(folder, n), encoding="utf-8").read()
                                for n in os.listdir(folder)}
    return _plots[run.path]


_COORDINATE = re.compile(r"-?\d+\.\d+")


def same_drawing(a, b):
    """Whether two SVG texts draw the same plot: the same text between their decimal numbers,
    and numbers within 0.001 of each other (matplotlib's coordinates differ in the sixth
    decimal from one CPU's floating point to another's)."""
    if a == b:
        return True
    text_a, text_b = _COORDINATE.split(a), _COORDINATE.split(b)
    nums_a, nums_b = _COORDINATE.findall(a), _COORDINATE.findall(b)
    return text_a == text_b and len(nums_a) == len(nums_b) and all(
        abs(float(x) - float(y)) <= 1e-3 for x, y in zip(nums_a, nums_b))


def plot_file(run, name):
    """The file of the run's plot `name` under docs/img/bench: the name itself for the
    headline run (docs/benchmarks.json), the name with the run's file name added for another
    run, so that one operation can be plotted from two runs."""
    if os.path.abspath(run.path) == os.path.join(ROOT, "docs", "benchmarks.json"):
        return name
    stem = os.path.splitext(os.path.basename(run.path))[0]
    return name[:-len(".svg")] + "." + stem + ".svg"


def generated_plot(page, run, what, update, failures):
    name = ("summary" if what == "summary" else what.replace("/", "-")) + ".svg"
    path = os.path.join(IMG_DIR, plot_file(run, name))
    rel = os.path.relpath(path, os.path.dirname(page))
    svgs = plot_svgs(run)
    if svgs is not None:
        if name not in svgs:
            failures.append(f"{os.path.relpath(page, ROOT)}: the run "
                            f"{os.path.relpath(run.path, ROOT)} gives no plot {name}")
        elif update:
            os.makedirs(IMG_DIR, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(svgs[name])
        elif not os.path.exists(path) or \
                same_drawing(open(path, encoding="utf-8").read(), svgs[name]) is False:
            failures.append(f"{os.path.relpath(path, ROOT)} is not the plot "
                            f"{os.path.relpath(run.path, ROOT)} gives "
                            "(run scripts/docs_figures.py update)")
    elif not os.path.exists(path):
        failures.append(f"{os.path.relpath(path, ROOT)} is missing (run "
                        "scripts/docs_figures.py update where matplotlib is installed)")
    return f"![{what}]({rel})\n"


def process(update):
    failures = []
    for page in pages():
        rel = os.path.relpath(page, ROOT)
        text = open(page, encoding="utf-8").read()
        runs_paths = named_runs(page, text)
        runs = []
        for path in runs_paths:
            if not os.path.exists(path):
                failures.append(f"{rel}: names the run {os.path.relpath(path, ROOT)}, "
                                "which does not exist")
                continue
            runs.append(Run(path))

        def regenerate(m):
            what = m.group(2).strip()
            named = re.fullmatch(r"(.*?)\s+in\s+(\S+\.json)", what)
            if named:
                what = named.group(1)
                path = os.path.normpath(os.path.join(os.path.dirname(page), named.group(2)))
                run = next((r for r in runs if r.path == path), None)
                if run is None:
                    failures.append(f"{rel}: a generated block names {named.group(2)}, "
                                    "which the page does not link or which does not exist")
                    return m.group(0)
            elif what.startswith("@instructions"):
                run = next((r for r in runs if r.instructions and not r.times), None) or \
                    next((r for r in runs if r.instructions), None)
            else:
                run = runs[0] if runs else None
            if run is None:
                failures.append(f"{rel}: a generated block needs a named run")
                return m.group(0)
            kind, _, arg = what.partition(" ")
            if kind == "@context":
                body = generated_context(run)
            elif kind == "@summary":
                body = generated_summary(run)
            elif kind == "@summary-table":
                body = bench_report.md_table(*bench_report.summary_table(
                    bench_report.Analysis(run.data, 0.05)))
            elif kind == "@build-cost":
                body = generated_build_cost(run)
            elif kind == "@instructions":
                body = generated_instructions(run, arg.strip() or ".")
            elif kind == "@plot":
                body = generated_plot(page, run, arg.strip(), update, failures)
            elif kind.startswith("@"):
                failures.append(f"{rel}: unknown generated block {kind}")
                return m.group(0)
            else:
                body = generated_table(page, run, what, update, failures) + "\n"
            if not body.strip():
                failures.append(f"{rel}: `{what}` gives nothing from "
                                f"{os.path.relpath(run.path, ROOT)}")
            return m.group(1) + body + m.group(4)

        new = BLOCK.sub(regenerate, text)
        if new != text:
            if update:
                with open(page, "w", encoding="utf-8") as f:
                    f.write(new)
            else:
                failures.append(f"{rel}: a generated table differs from its run "
                                "(run scripts/docs_figures.py update)")
        in_section = section_runs(page, new, runs)
        for n, line in prose_lines(new):
            if SKIP.search(line):
                continue
            pool_runs = in_section[n - 1]
            for kind, quoted, scale in figures(line):
                if not runs:
                    failures.append(f"{rel}:{n}: quotes {quoted} but the page names no run")
                    break
                pool = [v for r in pool_runs for v in
                        (r.times if kind == "time" else r.ratios if kind == "ratio"
                         else r.instructions)]
                if kind == "ratio":
                    ok = matches(quoted, pool)
                else:
                    ok = matches(quoted, pool, scale)
                if not ok:
                    names = ", ".join(os.path.relpath(r.path, ROOT) for r in pool_runs)
                    failures.append(f"{rel}:{n}: {quoted}{' ns/us/ms' if kind == 'time' else ''}"
                                    f" ({kind}) is not in {names}: {line.strip()[:120]}")
    return failures


def main(argv):
    global ROOT, IMG_DIR
    if len(argv) == 3 and argv[0] == "--root":
        ROOT = os.path.abspath(argv[1])
        IMG_DIR = os.path.join(ROOT, "docs", "img", "bench")
        argv = argv[2:]
    if len(argv) != 1 or argv[0] not in ("update", "check"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    failures = process(argv[0] == "update")
    for f in failures:
        print("FAIL " + f)
    print(f"docs_figures: {len(failures)} disagreement(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
