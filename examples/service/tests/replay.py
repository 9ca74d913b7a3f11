#!/usr/bin/env python3
"""Replays examples/service/requests.json against a twin and compares the answers with the
golden file examples/service/expected/replay.txt, byte for byte: status, Content-Type and
body of each response (only the status for GET /health and GET /metrics, whose bodies are
the process's own).

    replay.py BINARY [--requests FILE] [--expected FILE] [--actual FILE] [--update]

Needs the fixture servers (run through ctest: `ctest -R service/`). The data is reset first
(reseeded, post ids restarted, Redis emptied), so the ids that POST /posts answers are the same
on every run. --update rewrites the golden file from this twin's answers instead of comparing
(review the diff by hand before committing it)."""

import argparse
import difflib
import json
import os
import sys

import twin

UNCOMPARED = ("/health", "/metrics")


def describe(index, request):
    line = f"### {index} {request['method']} {request['path']}"
    if "body" in request:
        body = request["body"]
        shown = json.dumps(body if len(body) <= 120 else body[:117] + "...", ensure_ascii=False)
        line += f"\n> {shown}"
    elif "body_hex" in request:
        line += f"\n> hex {request['body_hex'][:240]}"
    return line


def replay(service, requests):
    out = []
    for index, request in enumerate(requests, 1):
        if "body_hex" in request:
            body = bytes.fromhex(request["body_hex"])
        else:
            body = request.get("body", "").encode("utf-8")
        response = service.request(request["method"], request["path"], body)
        out.append(describe(index, request))
        if response is None:
            out.append("no response")
            continue
        status, headers, payload = response
        if request["method"] == "GET" and request["path"].split("?")[0] in UNCOMPARED:
            out.append(f"{status} (body not compared)")
        else:
            out.append(f"{status} {headers.get('content-type', '(no content-type)')}")
            out.append(payload.decode("utf-8", errors="backslashreplace"))
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--requests", default=os.path.join(twin.SERVICE_DIR, "requests.json"))
    parser.add_argument("--expected",
                        default=os.path.join(twin.SERVICE_DIR, "expected", "replay.txt"))
    parser.add_argument("--actual", help="where to write this run's answers")
    parser.add_argument("--update", action="store_true")
    args = parser.parse_args()

    with open(args.requests, encoding="utf-8") as f:
        requests = json.load(f)
    twin.reset_data()
    with twin.twin(args.binary) as service:
        actual = replay(service, requests)
        if not service.alive():
            twin.fail(f"{args.binary} died during the replay:\n{service.stderr_text()}")

    if args.actual:
        with open(args.actual, "w", encoding="utf-8") as f:
            f.write(actual)
    if args.update:
        os.makedirs(os.path.dirname(args.expected), exist_ok=True)
        with open(args.expected, "w", encoding="utf-8") as f:
            f.write(actual)
        print(f"wrote {args.expected} ({len(requests)} requests)")
        return 0
    with open(args.expected, encoding="utf-8") as f:
        expected = f.read()
    if actual != expected:
        diff = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "expected",
                                    os.path.basename(args.binary), lineterm="", n=2)
        print("\n".join(diff))
        twin.fail(f"{args.binary}: answers differ from {args.expected}")
    print(f"{len(requests)} requests: every answer matches {args.expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
