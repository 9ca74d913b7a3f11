#!/usr/bin/env python3
"""Compiles every C++ block of a Markdown file the way its info string says, and runs the
programs whose output the page shows.

    ```cpp                 a whole program a user can paste: compiled with the project's
                           warnings as errors, linked and run; when the next fenced block is
                           ```text, the program's standard output must equal it
    ```cpp fragment        declarations and definitions at namespace scope (a piece of a
                           larger file): compiled -fsyntax-only after a prelude that includes
                           every core frugal header and the common standard headers
    ```cpp compile-fail    code that must not compile (with -Werror=dangling on clang)
    ```cpp dangling        code that compiles, but on clang-16 `-Werror=dangling` rejects it
    ```cpp catch2          a Catch2 2.x test file: compiled and linked with Catch2's main
                           (not run: such a page shows how a failing test reads)

Every other info string on a ```cpp block is an error, so that no block is skipped by
accident.

Usage: check_snippets.py FILE.md --cxx COMPILER [--cxx COMPILER...] --include DIR
                         [--flags "..."] [--work DIR]
Exit code 0 when every block behaves as marked, 1 otherwise (each failure explained).
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

KINDS = {"", "fragment", "compile-fail", "dangling", "catch2"}
PRELUDE = """#include <frugal/frugal.hpp>
#include <frugal/testing/allocation_counter.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>
"""
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]


def blocks(path):
    """Yields (line, info, code, expected_output_or_None) for each ```cpp block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    fences = []  # (start line index, info, body lines)
    i = 0
    while i < len(lines):
        m = re.match(r"^(```+)\s*(.*)$", lines[i])
        if m:
            fence, info = m.group(1), m.group(2).strip()
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            fences.append((len(fences), info, body, i))
        i += 1
    starts = [n for n, l in enumerate(lines) if re.match(r"^```+", l)][0::2]
    for k, (idx, info, body, _) in enumerate(fences):
        words = info.split()
        if not words or words[0] != "cpp":
            continue
        expected = None
        if k + 1 < len(fences):
            nxt = fences[k + 1]
            if nxt[1].split()[:1] == ["text"]:
                expected = "\n".join(nxt[2]) + "\n"
        yield starts[k] + 1, " ".join(words[1:]), "\n".join(body) + "\n", expected


def compile_cmd(cxx, include, flags, src, out=None, syntax_only=False):
    cmd = [cxx, "-std=c++20", "-I", include] + WARNINGS + flags + [src]
    cmd += ["-fsyntax-only"] if syntax_only else ["-o", out]
    return cmd


def is_clang(cxx):
    return "clang" in os.path.basename(cxx)


def check(path, cxxs, include, flags, work):
    failures = []
    count = 0
    for line, kind, code, expected in blocks(path):
        count += 1
        where = f"{path}:{line}"
        if kind not in KINDS:
            failures.append(f"{where}: unknown block kind 'cpp {kind}' (one of: "
                            "cpp, cpp fragment, cpp compile-fail, cpp dangling, cpp catch2)")
            continue
        for cxx in cxxs:
            tag = f"{where} [{os.path.basename(cxx)}]"
            src = os.path.join(work, f"snippet_{line}.cpp")
            text = (PRELUDE + "\n#line 1\n" + code) if kind == "fragment" else code
            with open(src, "w", encoding="utf-8") as f:
                f.write(text)
            if kind == "":
                exe = os.path.join(work, f"snippet_{line}_{os.path.basename(cxx)}")
                r = subprocess.run(compile_cmd(cxx, include, flags, src, exe),
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{tag}: does not compile:\n{r.stderr[-3000:]}")
                    continue
                run = subprocess.run([exe], capture_output=True, text=True, timeout=60)
                if run.returncode != 0:
                    failures.append(f"{tag}: exits with {run.returncode}:\n{run.stderr[-2000:]}")
                elif expected is not None and run.stdout != expected:
                    failures.append(f"{tag}: prints\n{run.stdout}\nbut the page shows\n{expected}")
            elif kind == "catch2":
                exe = os.path.join(work, f"snippet_{line}_{os.path.basename(cxx)}")
                r = subprocess.run(compile_cmd(cxx, include, flags + ["-DCATCH_CONFIG_MAIN"],
                                               src, exe), capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{tag}: Catch2 test does not compile:\n{r.stderr[-3000:]}")
            elif kind == "fragment":
                r = subprocess.run(compile_cmd(cxx, include, flags, src, syntax_only=True),
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{tag}: fragment does not compile:\n{r.stderr[-3000:]}")
            elif kind == "compile-fail":
                extra = ["-Werror=dangling"] if is_clang(cxx) else []
                r = subprocess.run(compile_cmd(cxx, include, flags + extra, src, syntax_only=True),
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    failures.append(f"{tag}: compiles, but the page says it must not")
            elif kind == "dangling":
                quiet = ["-Wno-dangling"] if is_clang(cxx) else []
                r = subprocess.run(compile_cmd(cxx, include, flags + quiet, src, syntax_only=True),
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    failures.append(f"{tag}: must compile (it only dangles):\n{r.stderr[-2000:]}")
                if is_clang(cxx):
                    r = subprocess.run(compile_cmd(cxx, include, flags + ["-Werror=dangling"],
                                                   src, syntax_only=True),
                                       capture_output=True, text=True)
                    if r.returncode == 0 or "dangling" not in r.stderr:
                        failures.append(f"{tag}: clang -Werror=dangling does not reject it")
    return count, failures


def main():
    ap = argparse.ArgumentParser(prog="check_snippets.py",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("markdown")
    ap.add_argument("--cxx", action="append", required=True, help="compiler (repeatable)")
    ap.add_argument("--include", required=True, help="frugal's include directory")
    ap.add_argument("--flags", default="", help="extra compiler flags, one string")
    ap.add_argument("--work", help="folder for sources and binaries (default: a temporary one)")
    args = ap.parse_args()
    flags = shlex.split(args.flags)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        count, failures = check(args.markdown, args.cxx, args.include, flags, work)
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    print(f"{args.markdown}: {count} C++ block(s), {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
