#!/usr/bin/env python3
"""Turns a frugal benchmark run (report.json from scripts/bench) into report.md and a
self-contained report.html with plots.

Benchmarks are named <module>/<operation>/<impl>[:<variant>]/<arg>...; the report has one
table per <module>/<operation>, one row per argument and one column per implementation
(naive, frugal, std, boost, absl, limit and their variants), with the median time per
operation, its spread over the repetitions, allocs/op and bytes/op, and frugal's ratio to
naive, to the best peer and to the limit.

Usage: bench_report.py REPORT.json OUT_DIR [--no-plots] [--threshold PCT]
       bench_report.py --instructions INSTRUCTIONS.json
"""
import argparse
import html
import io
import json
import os
import re
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_stats  # noqa: E402

IMPL_ORDER = ["naive", "frugal", "std", "boost", "absl", "limit"]
PEERS = ("std", "boost", "absl")
TIME_SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class ReportError(Exception):
    """A report file that cannot be used, with a message naming the file and the problem."""


def load(path):
    """Loads and checks a report.json or a plain Google Benchmark JSON file."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file")
    except OSError as e:
        raise ReportError(f"{path}: cannot read: {e.strerror}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ReportError(f"{path}: not a Google Benchmark JSON file (no \"benchmarks\" list)")
    for i, b in enumerate(data["benchmarks"]):
        if not isinstance(b, dict) or "name" not in b:
            raise ReportError(f"{path}: benchmarks[{i}] has no \"name\"")
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        if not isinstance(b.get("real_time"), (int, float)):
            raise ReportError(f"{path}: benchmarks[{i}] ({b['name']}) has no numeric \"real_time\"")
        if b.get("time_unit", "ns") not in TIME_SCALE:
            raise ReportError(f"{path}: benchmarks[{i}] ({b['name']}) has unknown time_unit "
                              f"\"{b.get('time_unit')}\"")
    return data


def samples_of(data):
    """Returns OrderedDict name -> {"ns": [...], "allocs": float|None, "bytes": float|None}."""
    out = OrderedDict()
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        s = out.setdefault(name, {"ns": [], "allocs": [], "bytes": [], "counters": {}})
        # With N threads, Google Benchmark divides the wall time by the iterations of all
        # threads together: a throughput figure. Each thread pays N times that per operation,
        # and that per-thread cost is what the report shows.
        threads = int(b.get("threads", 1) or 1)
        s["ns"].append(b["real_time"] * TIME_SCALE[b.get("time_unit", "ns")] * threads)
        if b.get("allocs/op") is not None:
            s["allocs"].append(b["allocs/op"])
        if b.get("bytes/op") is not None:
            s["bytes"].append(b["bytes/op"])
        # Other exact per-operation counts a benchmark reports (queries/op, round_trips/op).
        for key, value in b.items():
            if key.endswith("/op") and key not in ("allocs/op", "bytes/op") and \
                    isinstance(value, (int, float)):
                s["counters"].setdefault(key[:-3], []).append(value)
    for s in out.values():
        s["counters"] = {k: bench_stats.median(v) for k, v in s["counters"].items()}
        s["allocs"] = bench_stats.median(s["allocs"]) if s["allocs"] else None
        s["bytes"] = bench_stats.median(s["bytes"]) if s["bytes"] else None
    return out


def split_name(name):
    parts = name.split("/")
    if len(parts) < 3:
        return None
    return parts[0], parts[1], parts[2], "/".join(parts[3:]) or "-"


def impl_key(impl):
    base = impl.split(":")[0]
    return (IMPL_ORDER.index(base) if base in IMPL_ORDER else len(IMPL_ORDER), impl)


def is_peer(impl):
    return impl.split(":")[0] in PEERS


class Case:
    """One <module>/<operation> at one argument: the implementations measured side by side."""

    def __init__(self, module, op, arg):
        self.module, self.op, self.arg = module, op, arg
        self.impls = OrderedDict()  # impl -> samples dict

    def med(self, impl):
        s = self.impls.get(impl)
        return bench_stats.median(s["ns"]) if s else None

    def peers(self):
        """The peers that plain `frugal` is compared with: a peer variant whose variant name
        frugal also has (`boost:default_init` and `frugal:default_init`) answers that
        variant's question instead."""
        frugal_variants = {i.split(":", 1)[1] for i in self.impls if i.startswith("frugal:")}
        return [i for i in self.impls
                if is_peer(i) and (":" not in i or i.split(":", 1)[1] not in frugal_variants)]

    def best_peer(self):
        peers = [(self.med(i), i) for i in self.peers()]
        return min(peers) if peers else (None, None)

    def ratio(self, other):
        f, o = self.med("frugal"), self.med(other) if other else None
        return f / o if f and o else None

    def p_value(self, other):
        a, b = self.impls.get("frugal"), self.impls.get(other)
        if not a or not b or len(a["ns"]) < 2 or len(b["ns"]) < 2:
            return None
        return bench_stats.mann_whitney_u(a["ns"], b["ns"])[1]


def build_cases(samples):
    """Returns OrderedDict (module, op) -> OrderedDict arg -> Case."""
    groups = OrderedDict()
    for name, s in samples.items():
        parts = split_name(name)
        if not parts:
            continue
        module, op, impl, arg = parts
        case = groups.setdefault((module, op), OrderedDict()).setdefault(arg, Case(module, op, arg))
        case.impls[impl] = s
    for rows in groups.values():
        for case in rows.values():
            case.impls = OrderedDict(sorted(case.impls.items(), key=lambda kv: impl_key(kv[0])))
    return groups


def fmt_time(ns):
    if ns is None:
        return ""
    for unit, s in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= s:
            return f"{ns / s:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_count(a):
    if a is None:
        return "-"
    if 0 < a < 0.01:
        return "~0"  # one growth in the first of millions of iterations
    if a >= 1000:
        return f"{a:,.0f}"
    return f"{a:.2f}".rstrip("0").rstrip(".")


def fmt_x(r):
    """Formats a ratio with two decimals, or two significant digits below 0.1 (0.0047x)."""
    return f"{r:.2g}x" if 0 < r < 0.1 else f"{r:.2f}x"


def verdict(ratio, p, threshold):
    """Classifies frugal's time ratio to another implementation: win, loss or tie."""
    if ratio is None:
        return None
    if ratio <= 1 / (1 + threshold):
        return "win"
    if ratio >= 1 + threshold:
        return "loss" if p is None or p < 0.05 else "loss?"
    return "tie"


VERDICT_MD = {"win": "faster", "loss": "**SLOWER**", "loss?": "slower (noise?)", "tie": "tie"}


def fmt_ratio(ratio, v):
    if ratio is None:
        return ""
    return f"{fmt_x(ratio)} {VERDICT_MD[v]}"


class Analysis:
    def __init__(self, data, threshold):
        self.data = data
        self.threshold = threshold
        self.samples = samples_of(data)
        self.groups = build_cases(self.samples)
        self.reps = max((len(s["ns"]) for s in self.samples.values()), default=0)

    def modules(self):
        mods = OrderedDict()
        for (module, op), rows in self.groups.items():
            mods.setdefault(module, []).extend(rows.values())
        return mods

    def not_like_for_like(self, case):
        """The reason frugal's work in `case` differs from its comparands, or None."""
        for entry in self.data.get("frugal", {}).get("not_like_for_like", []):
            name = f"{case.module}/{case.op}/frugal/{case.arg}"
            if re.search(entry["pattern"], name):
                return entry.get("reason") or "not like for like"
        return None

    def like_for_like(self, cases):
        return [c for c in cases if not self.not_like_for_like(c)]

    def unlike_cases(self):
        return [(c, self.not_like_for_like(c)) for rows in self.groups.values()
                for c in rows.values() if self.not_like_for_like(c)]

    def limits_beaten(self):
        """Cases where another implementation is faster than `limit` beyond the threshold:
        that `limit` is not the fastest possible code for the task."""
        out = []
        for rows in self.groups.values():
            for c in rows.values():
                lim = c.med("limit")
                if lim is None:
                    continue
                for other in c.impls:
                    t = c.med(other)
                    if other != "limit" and t and t * (1 + self.threshold) <= lim:
                        out.append((c, other, t / lim))
        return out

    def module_summary(self, cases):
        cases = self.like_for_like(cases)
        vs_naive = [c.ratio("naive") for c in cases if c.ratio("naive")]
        vs_peer = [c.ratio(c.best_peer()[1]) for c in cases if c.best_peer()[1] and c.med("frugal")]
        naive_allocs = frugal_allocs = 0.0
        counted = 0
        for c in cases:
            n, f = c.impls.get("naive"), c.impls.get("frugal")
            if n and f and n["allocs"] is not None and f["allocs"] is not None:
                naive_allocs += n["allocs"]
                frugal_allocs += f["allocs"]
                counted += 1
        return {
            "cases": len(cases),
            "vs_naive": bench_stats.geomean(vs_naive), "n_naive": len(vs_naive),
            "best_vs_naive": min(vs_naive) if vs_naive else None,
            "vs_peer": bench_stats.geomean(vs_peer), "n_peer": len(vs_peer),
            "naive_allocs": naive_allocs, "frugal_allocs": frugal_allocs, "alloc_cases": counted,
        }

    def losses(self):
        """Every case where frugal is slower than naive or a peer beyond the threshold."""
        out = []
        for rows in self.groups.values():
            for c in rows.values():
                if c.med("frugal") is None:
                    continue
                peers = c.peers()
                for other in c.impls:
                    if other == "naive" or other in peers:
                        r = c.ratio(other)
                        v = verdict(r, c.p_value(other), self.threshold)
                        if v in ("loss", "loss?"):
                            out.append((c, other, r, v))
        return out


def context_lines(data):
    ctx = data.get("context", {})
    fr = data.get("frugal", {})
    lines = []
    if ctx.get("frugal_date"):
        lines.append(f"Date: {ctx['frugal_date']}")
    if ctx.get("frugal_machine"):
        lines.append(f"Machine: {ctx['frugal_machine']}")
    elif ctx.get("num_cpus"):
        lines.append(f"Machine: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz")
    if ctx.get("frugal_compiler"):
        lines.append(f"Compiler: {ctx['frugal_compiler']}, flags: {ctx.get('frugal_flags', '?')}")
    if ctx.get("frugal_allocator"):
        lines.append(f"Allocator: {ctx['frugal_allocator']}")
    if ctx.get("frugal_commit"):
        lines.append(f"Source: commit {ctx['frugal_commit']}")
    if ctx.get("library_build_type") == "debug":
        lines.append("Google Benchmark library: reports a \"debug\" build (Debian's package is "
                     "built without NDEBUG; the timed loop is compiled into the benchmark itself)")
    elif ctx.get("library_build_type"):
        lines.append(f"Google Benchmark library: {ctx['library_build_type']} build")
    if fr.get("mode") == "instructions":
        lines.append(f"Run: under valgrind --tool=callgrind, one run of at least 0.1 s per "
                     f"benchmark, {len(fr.get('selection', []))} benchmarks selected; took "
                     f"{fr.get('seconds', '?')} s")
    elif fr:
        lines.append(f"Run: {fr.get('mode', '?')} set, {len(fr.get('selection', [])) or '?'} "
                     f"benchmarks, {fr.get('repetitions', '?')} repetition(s) of at least "
                     f"{fr.get('min_time_s', '?')} s each, interleaved per case"
                     + (f", single-threaded runs pinned to CPU {fr['cpu']}"
                        if fr.get("cpu") is not None else "")
                     + f"; took {fr.get('seconds', '?')} s")
    return lines


def numeric_x(arg):
    """Splits an argument like '64/100' or 'real_time/threads:4' into (x, rest)."""
    parts = arg.split("/")
    for i, p in enumerate(parts):
        m = re.fullmatch(r"(?:[a-z_]+:)?(\d+(?:\.\d+)?)", p)
        if m:
            return float(m.group(1)), "/".join(parts[:i] + parts[i + 1:])
    return None, arg


def notes_sections(an):
    """Returns [(title, [item text])]: the cases left out of the summary because frugal does
    different work there, and the `limit` rows that something beats."""
    out = []
    unlike = an.unlike_cases()
    if unlike:
        out.append((f"Not like for like ({len(unlike)}): kept for context, left out of the "
                    "summary", [f"{c.module}/{c.op}/{c.arg}: {reason}" +
                                (f" (frugal/naive {fmt_x(c.ratio('naive'))})"
                                 if c.ratio("naive") else "") for c, reason in unlike]))
    beaten = an.limits_beaten()
    if beaten:
        out.append((f"Limits beaten ({len(beaten)}): these limit rows are not the fastest code",
                    [f"{c.module}/{c.op}/{c.arg}: {other} {fmt_time(c.med(other))} vs limit "
                     f"{fmt_time(c.med('limit'))} ({fmt_x(r)})" for c, other, r in beaten]))
    return out


def summary_table(an):
    """Returns (header, rows) of the per-module summary; rows are lists of cell texts."""
    header = ["module", "cases", "frugal/naive (geomean)", "best case vs naive",
              "frugal/best peer (geomean)", "allocs/op naive → frugal"]
    rows = []
    for module, cases in an.modules().items():
        s = an.module_summary(cases)
        if not s["n_naive"] and not s["n_peer"]:
            continue
        if s["vs_naive"] and s["vs_naive"] <= 1:
            g = f"{fmt_x(s['vs_naive'])} ({1 / s['vs_naive']:.1f}x faster, {s['n_naive']} cases)"
        elif s["vs_naive"]:
            g = f"{fmt_x(s['vs_naive'])} ({s['vs_naive']:.1f}x slower, {s['n_naive']} cases)"
        else:
            g = "-"
        b = fmt_x(s["best_vs_naive"]) if s["best_vs_naive"] else "-"
        p = f"{s['vs_peer']:.2f}x ({s['n_peer']} cases)" if s["vs_peer"] else "-"
        a = (f"{fmt_count(s['naive_allocs'])} → {fmt_count(s['frugal_allocs'])} "
             f"(over {s['alloc_cases']} cases)") if s["alloc_cases"] else "-"
        rows.append([module, str(s["cases"]), g, b, p, a])
    return header, rows


def build_cost_sections(cost):
    """Returns [(paragraph, header, rows)] for the cost of including frugal; `code` in
    backticks."""
    sections = [(
        f"Compile time of a file that includes one public header and nothing else, median of "
        f"{cost['compiles']} compile(s) with {cost['compiler']} {cost['flags']}, against a file "
        f"that includes `<string>` and `<vector>` ({cost['baseline_ms']:.0f} ms).",
        ["header", "compile time", "vs `<string>` + `<vector>`"],
        [[f"`{h['header']}`", f"{h['ms']:.0f} ms", f"{h['ms'] / cost['baseline_ms']:.2f}x"]
         for h in cost["headers"]])]
    if cost.get("examples"):
        sections.append((
            "Object code (.text) of each example, a typical use of one module including its "
            "output code, at -O2:",
            ["example", ".text bytes"],
            [[f"`examples/{x['example']}`", f"{x['text_bytes']:,}"] for x in cost["examples"]]))
    return sections


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def html_text(text):
    """Escapes `text` for HTML, turning `code` spans and <br> into their tags."""
    t = html.escape(text).replace("&lt;br&gt;", "<br>")
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", t)


def html_table(header, rows, classes=None):
    out = ["<table><tr>" + "".join(f"<th>{html_text(h)}</th>" for h in header) + "</tr>"]
    for k, r in enumerate(rows):
        cls = classes[k] if classes else [""] * len(r)
        out.append("<tr>" + "".join(f"<td class=\"{c}\">{html_text(t)}</td>" if c else
                                    f"<td>{html_text(t)}</td>" for t, c in zip(r, cls)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------- Markdown

def markdown(an, plots):
    out = []
    w = out.append
    w("# frugal benchmark report\n")
    for line in context_lines(an.data):
        w(f"- {line}")
    w("")
    w(f"Times are medians of the repetitions; ± is half their interquartile range relative to the median. "
      f"Ratios below 1 mean frugal is faster. With N threads, times are each thread's cost per operation (Google Benchmark's figure, a total over the threads, times N). A ratio beyond ±{an.threshold:.0%} is a win or a "
      f"loss; a loss that the Mann-Whitney U test does not find significant (p ≥ 0.05) is "
      f"marked \"noise?\". allocs/op and bytes/op are exact counts from the timed loop.\n")
    if an.reps < 9:
        w(f"Only {an.reps} repetition(s) per benchmark: too few for the significance test to "
          f"mean much (it needs about 9).\n")
    w("## Summary\n")
    w(md_table(*summary_table(an)))
    w("")
    losses = an.losses()
    for title, items in notes_sections(an):
        w(f"### {title}\n")
        for item in items:
            w(f"- {item}")
        w("")
    w(f"### Where frugal is slower ({len(losses)})\n")
    if losses:
        for c, other, r, v in losses:
            note = " (not significant: noise?)" if v == "loss?" else ""
            w(f"- {c.module}/{c.op}/{c.arg}: frugal {fmt_time(c.med('frugal'))} vs {other} "
              f"{fmt_time(c.med(other))}: **{r:.2f}x**{note}")
    else:
        w("- nowhere beyond the threshold")
    w("")
    if "summary" in plots:
        w(f"![speed-ups]({plots['summary']})\n")
    fr = an.data.get("frugal", {})
    if fr.get("failures"):
        w("## Failures\n")
        for f in fr["failures"]:
            w(f"- {f['binary']}: {f['benchmark']}: {f['error']}")
        w("")
    for (module, op), rows in an.groups.items():
        w(f"## {module}/{op}\n")
        if (module, op) in plots:
            w(f"![{module}/{op}]({plots[(module, op)]})\n")
        w(*table_md(an, rows))
    cost = an.data.get("frugal", {}).get("build_cost")
    if cost:
        w(*build_cost_md(cost))
    return "\n".join(out) + "\n"


def impls_of(rows):
    return sorted({i for c in rows.values() for i in c.impls}, key=impl_key)


def table_cells(an, rows):
    """Yields (header, rows of cells as (text, css class)) for one operation."""
    impls = impls_of(rows)
    has_limit = any("limit" in c.impls for c in rows.values())
    header = ["arg"] + impls + ["frugal/naive", "frugal/best peer"] + \
        (["frugal/limit"] if has_limit else [])
    body = []
    for arg, c in rows.items():
        cells = [(arg, "")]
        for i in impls:
            s = c.impls.get(i)
            if not s:
                cells.append(("", ""))
                continue
            m = bench_stats.median(s["ns"])
            sp = bench_stats.spread(s["ns"])
            text = f"{fmt_time(m)} ±{sp:.0%}" if len(s["ns"]) > 1 else fmt_time(m)
            text += f"<br>{fmt_count(s['allocs'])} allocs, {fmt_count(s['bytes'])} B"
            for key, value in s.get("counters", {}).items():
                text += f", {fmt_count(value)} {key.replace('_', ' ')}"
            cells.append((text, "frugal" if i == "frugal" else ""))
        r = c.ratio("naive")
        v = verdict(r, c.p_value("naive"), an.threshold)
        cells.append((fmt_ratio(r, v), v or ""))
        peer_t, peer = c.best_peer()
        r = c.ratio(peer)
        v = verdict(r, c.p_value(peer), an.threshold)
        cells.append(((fmt_ratio(r, v) + f" ({peer})") if r else "", v or ""))
        if has_limit:
            r = c.ratio("limit")
            cells.append((fmt_x(r) if r else "", ""))
        body.append(cells)
    return header, body


def table_md(an, rows):
    header, body = table_cells(an, rows)
    return [md_table(header, [[t for t, _ in cells] for cells in body])]


def build_cost_md(cost):
    lines = ["## The cost of including frugal\n"]
    for paragraph, header, rows in build_cost_sections(cost):
        lines += [paragraph + "\n", md_table(header, rows)]
    return ["\n".join(lines)]


# ---------------------------------------------------------------------------------- plots

def make_plots(an, out_dir):
    """Writes SVG plots into out_dir/plots; returns {key: relative path} and {key: svg text}."""
    try:
        import matplotlib
    except ImportError:
        sys.exit("bench_report.py: the plots need matplotlib: install it with "
                 "`apt-get install python3-matplotlib` (Debian) or `pip install matplotlib`, "
                 "or run with --no-plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9,
                                "svg.hashsalt": "frugal"})
    plot_dir = os.path.join(out_dir, "plots")
    os.makedirs(plot_dir, exist_ok=True)
    paths, svgs = {}, {}

    def save(fig, key, filename):
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
        svg = buf.getvalue()
        with open(os.path.join(plot_dir, filename), "w") as f:
            f.write(svg)
        paths[key] = f"plots/{filename}"
        svgs[key] = svg[svg.find("<svg"):]

    styles = {"naive": ("tab:red", "o"), "frugal": ("tab:blue", "s"), "std": ("tab:orange", "^"),
              "boost": ("tab:green", "v"), "absl": ("tab:purple", "D"), "limit": ("black", "x")}
    for (module, op), rows in an.groups.items():
        series = OrderedDict()
        for arg, c in rows.items():
            x, rest = numeric_x(arg)
            if x is None or x <= 0:
                continue
            for impl, s in c.impls.items():
                label = impl + (f" ({rest})" if rest and len({numeric_x(a)[1] for a in rows}) > 1
                                else "")
                q1, q3 = bench_stats.quartiles(s["ns"])
                series.setdefault(label, (impl, []))[1].append(
                    (x, bench_stats.median(s["ns"]), q1, q3))
        if not any(len(pts) >= 2 for _, pts in series.values()):
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        linestyles = ["-", "--", ":", "-."]
        rests = []
        for label, (impl, pts) in series.items():
            if len(pts) < 2:
                continue
            rest = label[len(impl):]
            if rest not in rests:
                rests.append(rest)
            color, marker = styles.get(impl.split(":")[0], ("gray", "."))
            if ":" in impl:  # variants: colours of their own, so that they stay apart
                variants = sorted({i for _, (i, _) in series.items() if ":" in i})
                extra = ["tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray"]
                color, marker = extra[variants.index(impl) % len(extra)], "."
            pts.sort()
            # Error bars: the interquartile range of the repetitions.
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                        yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
                        marker=marker, color=color, capsize=2, elinewidth=0.8,
                        linestyle=linestyles[rests.index(rest) % len(linestyles)],
                        linewidth=2.2 if impl == "frugal" else 1.2, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        xs = sorted({p[0] for _, pts in series.values() for p in pts})
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        named = re.search(r"([a-z_]+):\d", next(iter(rows)))
        ax.set_xlabel(named.group(1) if named else f"size ({op} argument)")
        ax.set_ylabel("time per op per thread (ns), median and IQR"
                      if any("threads:" in str(a) for a in rows) else
                      "time per op (ns), median and IQR")
        ax.set_title(f"{module}/{op}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        save(fig, (module, op), f"{module}-{op}.svg")

    labels, over_naive, over_peer = [], [], []
    # Like-for-like cases first; the others last, labelled.
    ordered = [c for rows in an.groups.values() for c in rows.values()]
    ordered.sort(key=lambda c: bool(an.not_like_for_like(c)))
    for c in ordered:
        f = c.med("frugal")
        n = c.med("naive")
        p = c.best_peer()[0]
        if not f or (not n and not p):
            continue
        labels.append(f"{c.module}/{c.op}/{c.arg}"
                      + (" (not like for like)" if an.not_like_for_like(c) else ""))
        over_naive.append(n / f if n else None)
        over_peer.append(p / f if p else None)
    if labels:
        height = max(2.5, 0.22 * len(labels) + 1)
        fig, ax = plt.subplots(figsize=(7.5, height))
        ys = list(range(len(labels)))
        # Bars grow from 1 (equal speed): right means frugal is faster, left slower.
        for offset, values, color, label in ((-0.2, over_naive, "tab:red", "speed-up over naive"),
                                             (0.2, over_peer, "tab:purple",
                                              "speed-up over the best peer")):
            pts = [(y + offset, v) for y, v in zip(ys, values) if v]
            ax.barh([p[0] for p in pts], [p[1] - 1 for p in pts], left=1, height=0.4,
                    color=color, label=label)
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_xscale("log")
        ax.set_yticks(ys)
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("speed-up (old time / frugal time; right of 1 = frugal faster)")
        ax.grid(True, axis="x", which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        save(fig, "summary", "summary.svg")
    return paths, svgs


# ---------------------------------------------------------------------------------- HTML

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; vertical-align: top; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
td.frugal { background: #eef4ff; } td.win { background: #e3f6e3; }
td.loss { background: #fbe0e0; font-weight: bold; } td.loss\\? { background: #fdf0e0; }
.plot svg { max-width: 100%; height: auto; } code { background: #f4f4f4; padding: 0 3px; }
"""


def html_report(an, svgs):
    e = html.escape
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           "<title>frugal benchmark report</title>", f"<style>{CSS}</style></head><body>",
           "<h1>frugal benchmark report</h1><ul>"]
    out += [f"<li>{e(line)}</li>" for line in context_lines(an.data)]
    out.append("</ul>")
    out.append(f"<p>Times are medians of the repetitions; ± is half their range relative to the "
               f"median. Ratios below 1 mean frugal is faster; beyond ±{an.threshold:.0%} a ratio "
               f"is a win (green) or a loss (red; orange when the Mann-Whitney U test does not "
               f"find it significant). allocs/op and bytes/op are exact.</p>")
    if an.reps < 9:
        out.append(f"<p><b>Only {an.reps} repetition(s)</b>: too few for the significance test "
                   f"to mean much (it needs about 9).</p>")
    out.append("<h2>Summary</h2>" + html_table(*summary_table(an)))
    for title, items in notes_sections(an):
        out.append(f"<h3>{e(title)}</h3><ul>" + "".join(f"<li>{e(i)}</li>" for i in items)
                   + "</ul>")
    losses = an.losses()
    out.append(f"<h3>Where frugal is slower ({len(losses)})</h3><ul>")
    for c, other, r, v in losses:
        note = " (not significant: noise?)" if v == "loss?" else ""
        out.append(f"<li>{e(c.module)}/{e(c.op)}/{e(c.arg)}: frugal {fmt_time(c.med('frugal'))}"
                   f" vs {e(other)} {fmt_time(c.med(other))}: <b>{r:.2f}x</b>{note}</li>")
    if not losses:
        out.append("<li>nowhere beyond the threshold</li>")
    out.append("</ul>")
    if "summary" in svgs:
        out.append(f"<div class=\"plot\">{svgs['summary']}</div>")
    fr = an.data.get("frugal", {})
    if fr.get("failures"):
        out.append("<h2>Failures</h2><ul>")
        out += [f"<li>{e(f['binary'])}: {e(f['benchmark'])}: {e(f['error'])}</li>"
                for f in fr["failures"]]
        out.append("</ul>")
    for (module, op), rows in an.groups.items():
        out.append(f"<h2 id=\"{e(module)}-{e(op)}\">{e(module)}/{e(op)}</h2>")
        if (module, op) in svgs:
            out.append(f"<div class=\"plot\">{svgs[(module, op)]}</div>")
        header, body = table_cells(an, rows)
        out.append(html_table(header, [[t for t, _ in cells] for cells in body],
                              [[c for _, c in cells] for cells in body]))
    cost = fr.get("build_cost")
    if cost:
        out.append("<h2>The cost of including frugal</h2>")
        for paragraph, header, rows in build_cost_sections(cost):
            out.append(f"<p>{html_text(paragraph)}</p>" + html_table(header, rows))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def instructions_md(data):
    rows = data.get("frugal", {}).get("instructions", [])
    by_case = OrderedDict()
    for r in rows:
        parts = split_name(r["name"])
        if parts:
            by_case.setdefault((parts[0], parts[1], parts[3]), {})[parts[2]] = r
    lines = ["# Instructions per operation (callgrind)\n"]
    lines += [f"- {line}" for line in context_lines(data)]
    lines += ["", "Counted by callgrind in the timed loop only (client requests around it); "
              "they do not depend on machine noise. The loop itself costs a few instructions "
              "per iteration (see harness/empty_loop).\n"]

    def ratio(v, other):
        if "frugal" in v and other in v and v[other]["instructions_per_op"] > 0:
            return v["frugal"]["instructions_per_op"] / v[other]["instructions_per_op"]
        return None
    modules = OrderedDict()
    for key, v in by_case.items():
        modules.setdefault(key[0], []).append((key, v))
    for module, cases in modules.items():
        impls = sorted({i for _, v in cases for i in v}, key=impl_key)
        lines += [f"## {module}\n", "| case | " + " | ".join(impls) +
                  " | frugal/naive | frugal/best peer |", "|---|" + "---|" * (len(impls) + 2)]
        for (m, op, arg), v in cases:
            cells = [f"{v[i]['instructions_per_op']:,.0f}" if i in v else "" for i in impls]
            r = ratio(v, "naive")
            peers = [(v[i]["instructions_per_op"], i) for i in v if is_peer(i)]
            best = min(peers)[1] if peers else None
            rp = ratio(v, best) if best else None
            lines.append(f"| {op}/{arg} | " + " | ".join(cells) + " | "
                         + (fmt_x(r) if r else "") + " | "
                         + (f"{rp:.2f}x ({best})" if rp else "") + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bench_report.py")
    ap.add_argument("report")
    ap.add_argument("out_dir", nargs="?")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--threshold", type=float, default=5.0, help="percent")
    ap.add_argument("--instructions", action="store_true")
    args = ap.parse_args(argv)
    try:
        data = load(args.report)
    except ReportError as err:
        print(f"bench_report: {err}", file=sys.stderr)
        return 2
    out_dir = args.out_dir or os.path.dirname(os.path.abspath(args.report))
    os.makedirs(out_dir, exist_ok=True)
    if args.instructions:
        text = instructions_md(data)
        with open(os.path.join(out_dir, "instructions.md"), "w") as f:
            f.write(text)
        print(text)
        return 0
    an = Analysis(data, args.threshold / 100)
    paths, svgs = ({}, {}) if args.no_plots else make_plots(an, out_dir)
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(markdown(an, paths))
    with open(os.path.join(out_dir, "report.html"), "w") as f:
        f.write(html_report(an, svgs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
