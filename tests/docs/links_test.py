#!/usr/bin/env python3
"""Every image committed under docs/img is shown by some page, and every relative link or
image in the README and docs/ points to a file that exists."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pages():
    yield os.path.join(ROOT, "README.md")
    yield os.path.join(ROOT, "CHANGELOG.md")
    for name in sorted(os.listdir(os.path.join(ROOT, "docs"))):
        if name.endswith(".md"):
            yield os.path.join(ROOT, "docs", name)


def main():
    failures = []
    linked = set()
    for page in pages():
        text = open(page, encoding="utf-8").read()
        text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold no links
        for target in re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
            linked.add(path)
            if not os.path.exists(path):
                failures.append(f"{os.path.relpath(page, ROOT)}: broken link {target}")
    for folder, _, files in os.walk(os.path.join(ROOT, "docs", "img")):
        for name in files:
            path = os.path.normpath(os.path.join(folder, name))
            if path not in linked:
                failures.append(f"{os.path.relpath(path, ROOT)} is shown by no page: "
                                "link it or remove it")
    for f in failures:
        print("FAIL " + f)
    print(f"{len(linked)} links checked, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
