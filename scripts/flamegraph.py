#!/usr/bin/env python3
"""Draws a flame graph (SVG) from `perf script` output, with matplotlib.

Usage: perf script -i perf.data | scripts/flamegraph.py [--title T] [--min-width F] OUT.svg
       scripts/flamegraph.py --folded < stacks.folded OUT.svg

Each sample's call stack becomes a tower of boxes, root at the bottom; a box's width is the
share of samples in which that function was on the stack with that ancestry. With
`--print-folded` the folded stacks (`root;caller;callee count`) are printed too, which is the
input format of other flame graph tools.
"""
import argparse
import hashlib
import re
import sys
from collections import Counter


def simplify(symbol):
    """Shortens a C++ symbol for a narrow box: no template arguments, parameters or offsets."""
    symbol = re.sub(r"\+0x[0-9a-f]+$", "", symbol)
    symbol = symbol.replace("(anonymous namespace)::", "")
    symbol = re.sub(r"\bv0_\d+(_[a-z]+)*::", "", symbol)  # frugal's versioned namespace
    out, depth = [], 0
    for c in symbol:
        if c in "<(":
            depth += 1
        elif c in ">)" and depth:
            depth -= 1
        elif depth == 0:
            out.append(c)
    s = "".join(out).strip()
    return s or symbol


def fold_perf_script(lines):
    """Returns Counter of folded stacks ('root;...;leaf') from `perf script` output."""
    stacks = Counter()
    frames = []
    in_sample = False
    for line in lines:
        if not line.strip():
            if frames:
                stacks[";".join(reversed(frames))] += 1
            frames, in_sample = [], False
            continue
        if not line[0].isspace():
            in_sample = True  # the sample header: comm pid time: period event:
            continue
        if in_sample:
            parts = line.strip().split(None, 1)
            sym = parts[1] if len(parts) > 1 else parts[0]
            sym = re.sub(r"\s+\([^()]*\)$", "", sym)  # the (dso) suffix
            frames.append(simplify(sym) if sym != "[unknown]" else "[unknown]")
    if frames:
        stacks[";".join(reversed(frames))] += 1
    return stacks


def build_tree(stacks):
    tree = {"name": "all", "count": 0, "children": {}}
    for stack, n in stacks.items():
        tree["count"] += n
        node = tree
        for frame in stack.split(";"):
            node = node["children"].setdefault(frame, {"name": frame, "count": 0, "children": {}})
            node["count"] += n
    return tree


def color(name):
    h = int(hashlib.md5(name.encode()).hexdigest()[:6], 16)
    return (0.85 + (h % 16) / 120, 0.35 + ((h >> 4) % 64) / 160, 0.15 + ((h >> 10) % 32) / 200)


def draw(tree, out, title, min_width):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "frugal"})

    def depth(node):
        return 1 + max((depth(c) for c in node["children"].values()), default=0)

    levels = depth(tree)
    fig, ax = plt.subplots(figsize=(12, 0.28 * levels + 0.8))
    total = tree["count"]

    def place(node, x, level):
        w = node["count"] / total
        if w < min_width:
            return
        ax.add_patch(Rectangle((x, level), w, 0.92, facecolor=color(node["name"]),
                               edgecolor="white", linewidth=0.4))
        label = f"{node['name']} ({w:.0%})"
        chars = int(w * 190)
        if chars >= 4:
            text = label if len(label) <= chars else label[: chars - 2] + ".."
            ax.text(x + 0.003, level + 0.46, text, va="center", ha="left", fontsize=7,
                    clip_on=True)
        cx = x
        for child in sorted(node["children"].values(), key=lambda c: c["name"]):
            place(child, cx, level + 1)
            cx += child["count"] / total

    place(tree, 0.0, 0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, levels)
    ax.axis("off")
    ax.set_title(f"{title} ({total} samples)", fontsize=9)
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})


def main():
    ap = argparse.ArgumentParser(prog="flamegraph.py")
    ap.add_argument("out")
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("--folded", action="store_true", help="read folded stacks, not perf script")
    ap.add_argument("--print-folded", action="store_true")
    ap.add_argument("--min-width", type=float, default=0.002)
    args = ap.parse_args()
    if args.folded:
        stacks = Counter()
        for line in sys.stdin:
            if line.strip():
                stack, n = line.rstrip().rsplit(" ", 1)
                stacks[stack] += int(n)
    else:
        stacks = fold_perf_script(sys.stdin)
    if not stacks:
        sys.exit("flamegraph.py: no samples with call stacks in the input "
                 "(record with perf record -g)")
    if args.print_folded:
        for stack, n in stacks.most_common():
            print(f"{stack} {n}")
    draw(build_tree(stacks), args.out, args.title, args.min_width)
    return 0


if __name__ == "__main__":
    sys.exit(main())
