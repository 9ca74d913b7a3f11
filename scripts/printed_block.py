"""A page's block of another tool's output, between `<!-- printed by COMMAND -->` and
`<!-- /printed -->`: the service load report's tables (bench_service.py) and the build-tuning
table (build_tuning.py) are pasted into docs/ that way, and each tool's --check-doc compares
the block with what it prints from the committed run. scripts/docs_figures.py skips such
blocks."""
import json
import os
import sys


def check(root, page, command, run, render, tool, paste):
    """Returns 0 when the block of `page` (relative to `root`) headed
    `<!-- printed by COMMAND RUN -->` equals render(the JSON of RUN), stripped; otherwise says
    on stderr, as `tool`, what differs and that `paste` prints the right block, and returns 1."""
    start = f"<!-- printed by {command} {run} -->"
    with open(os.path.join(root, page)) as f:
        text = f.read()
    if start not in text or "<!-- /printed -->" not in text:
        print(f"{tool}: {page} has no block printed from {run}", file=sys.stderr)
        return 1
    block = text.split(start, 1)[1].split("<!-- /printed -->", 1)[0].strip()
    with open(os.path.join(root, run)) as f:
        want = render(json.load(f)).strip()
    if block != want:
        print(f"{tool}: the block in {page} differs from {run}; paste the output of "
              f"{paste} {run}", file=sys.stderr)
        return 1
    print(f"{tool}: the block in {page} is {run}'s")
    return 0
