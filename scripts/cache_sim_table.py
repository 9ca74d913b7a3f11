#!/usr/bin/env python3
"""Renders the hit-ratio table of a cache_sim run, or checks the one a page quotes.

Usage: scripts/cache_sim_table.py [--root DIR] render [RUN]   print the table of RUN
       scripts/cache_sim_table.py [--root DIR] check          exit 1 when docs/cache.md differs
       scripts/cache_sim_table.py [--root DIR] plot           draw docs/img/cache_sim_1pct.svg

RUN defaults to docs/runs/cache_sim.json (written by `benches/cache_sim --json`). In
docs/cache.md the table follows the line `<!-- figures from docs/runs/cache_sim.json -->` and
ends at the first line that does not start with `|`. The rendering is the one cache_sim prints
(percentages to 0.1, the means rounded to 6 decimals as the JSON holds them).
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = "<!-- figures from docs/runs/cache_sim.json -->"


def render(run):
    out = ["| trace | capacity | frugal | LRU | W-TinyLFU 1 % | optimal | frugal - best of LRU, "
           "W-TinyLFU 1 % |", "|---|---|---|---|---|---|---|"]
    for r in run["results"]:
        f, l, w, o = (float(r[k]) for k in ("frugal", "lru", "wtinylfu_fixed", "optimal"))
        out.append("| %s | %s (%s) | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %+.1f |" % (
            r["trace"], r["capacity_label"], "{:,}".format(int(r["capacity"])), f * 100, l * 100,
            w * 100, o * 100, (f - max(l, w)) * 100))
    return "\n".join(out) + "\n"


def plot(run, path):
    """Hit ratio per trace at 1 % capacity, one bar per policy (needs matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "cache_sim"
    import matplotlib.pyplot as plt
    rows = [r for r in run["results"] if r["capacity_label"] == "1 %"]
    policies = [("frugal", "frugal"), ("lru", "LRU"), ("wtinylfu_fixed", "W-TinyLFU 1 %"),
                ("optimal", "optimal")]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.2
    for i, (key, label) in enumerate(policies):
        xs = [j + (i - 1.5) * width for j in range(len(rows))]
        ax.bar(xs, [100 * float(r[key]) for r in rows], width, label=label)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["trace"] for r in rows])
    ax.set_ylabel("hit ratio (%)")
    ax.set_title("Hit ratio at 1 % of the distinct keys (mean of 3 seeds)")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})


def quoted(page_text):
    lines = page_text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == MARK:
            table = []
            for row in lines[i + 1:]:
                if not row.startswith("|"):
                    break
                table.append(row)
            return "\n".join(table) + "\n"
    return None


def main(argv):
    root = ROOT
    if len(argv) >= 2 and argv[0] == "--root":
        root, argv = argv[1], argv[2:]
    if not argv or argv[0] not in ("render", "check", "plot"):
        print(__doc__, file=sys.stderr)
        return 2
    run_path = argv[1] if argv[0] == "render" and len(argv) > 1 else os.path.join(
        root, "docs", "runs", "cache_sim.json")
    with open(run_path, encoding="utf-8") as f:
        table = render(json.load(f))
    if argv[0] == "render":
        sys.stdout.write(table)
        return 0
    if argv[0] == "plot":
        with open(run_path, encoding="utf-8") as f:
            plot(json.load(f), os.path.join(root, "docs", "img", "cache_sim_1pct.svg"))
        return 0
    page = os.path.join(root, "docs", "cache.md")
    with open(page, encoding="utf-8") as f:
        got = quoted(f.read())
    if got is None:
        print("%s: no line %s" % (page, MARK), file=sys.stderr)
        return 1
    if got != table:
        print("%s: the hit-ratio table differs from %s; expected:\n%s" % (page, run_path, table),
              file=sys.stderr)
        return 1
    print("docs/cache.md: the hit-ratio table agrees with %s" % run_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
