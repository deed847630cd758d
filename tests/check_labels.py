#!/usr/bin/env python3
"""Every CTest test has a feature label, and every feature label is described
in tests/README.md: `ctest -L <feature>` must find all that covers a feature.

Reads the test list as CTest has it (ctest --show-only=json-v1 in the build
tree), so it sees tests of a directory that forgot mt_feature() as well.
Exits 1 naming each test without a feature label and each label that the
README does not describe."""
import argparse
import json
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ctest", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--features", required=True, help="the labels, ';'-separated")
    a = ap.parse_args()
    features = [f for f in a.features.split(";") if f]
    out = subprocess.run([a.ctest, "--show-only=json-v1"], cwd=a.build, check=True,
                         capture_output=True, text=True).stdout
    tests = json.loads(out)["tests"]
    problems = []
    for t in tests:
        labels = []
        for p in t.get("properties", []):
            if p["name"] == "LABELS":
                labels = p["value"]
        if not [l for l in labels if l in features and l != "unit"]:
            problems.append("test %s has no feature label (labels: %s)"
                            % (t["name"], ", ".join(labels) or "none"))
    with open(a.readme, encoding="utf-8") as f:
        readme = f.read()
    for f in features:
        # Each feature has a heading naming its label: "### `guard`: ..."
        if not re.search(r"^#+ .*`%s`" % re.escape(f), readme, re.M):
            problems.append("feature label %s has no section in %s" % (f, a.readme))
    for p in problems:
        print(p)
    print("%d tests, %d feature labels, %d problems" % (len(tests), len(features), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
