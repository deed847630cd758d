"""`memtype diff A B`: per-type growth from dump A to dump B."""
import argparse
import os
import sys

from .. import dump as dumpmod
from ..forms import human_k as _human_k
from ..model import merge_types


def parser():
    p = argparse.ArgumentParser(prog="memtype diff",
                                description="Per-type growth between two dumps of one "
                                            "program (e.g. two taken with MEMTYPE_DUMP_SIGNAL).")
    p.add_argument("a", metavar="A", help="the earlier dump").complete = "dump"
    p.add_argument("b", metavar="B", help="the later dump").complete = "dump"
    p.add_argument("--lines", type=int, default=30, help="rows to show (default 30)")
    p.add_argument("--no-symbolize", action="store_true", help="show raw addresses")
    return p


def main(argv):
    args = parser().parse_args(argv)
    try:
        a, b = dumpmod.load(args.a), dumpmod.load(args.b)
    except dumpmod.DumpError as e:
        print("memtype: error: %s" % e, file=sys.stderr)
        return 2
    if os.path.basename(a.exe) != os.path.basename(b.exe):
        print("memtype: warning: the dumps are of two programs (%s, %s): types match by call "
              "site only" % (os.path.basename(a.exe), os.path.basename(b.exe)), file=sys.stderr)
    ra = {r["label"]: r for r in merge_types([a], args.no_symbolize)}
    rb = {r["label"]: r for r in merge_types([b], args.no_symbolize)}
    zero = {"allocs": 0, "inuse": 0, "mem": 0}
    rows = []
    for label in set(ra) | set(rb):
        x, y = ra.get(label, zero), rb.get(label, zero)
        ma, mb = x["mem"], y["mem"]
        rows.append((mb - ma, label, x["inuse"], y["inuse"], ma, mb, y["allocs"] - x["allocs"]))
    rows.sort(key=lambda r: (-r[0], r[1]))
    secs = (b.end_ns - a.end_ns) / 1e9 if a.end_ns and b.end_ns else 0
    print("memtype: growth of %s from pid %d (%s) to pid %d (%s)%s" % (
        os.path.basename(b.exe) or "?", a.pid, a.reason, b.pid, b.reason,
        ", %.1f s apart" % secs if secs > 0 else ""))
    width = max([20] + [min(100, len(r[1])) for r in rows[:args.lines]])
    print("%-*s %9s %9s %9s %9s %10s %10s" % (width, "Type", "InUse A", "InUse B", "MemUse A",
                                             "MemUse B", "Growth", "Requests+"))
    for g, label, ia, ib, ma, mb, req in rows[:args.lines]:
        print("%-*s %9d %9d %9s %9s %10s %10d" % (width, label[:width], ia, ib, _human_k(ma),
                                                 _human_k(mb), "%+dK" % (g // 1024) if g >= 0
                                                 else "-%dK" % ((-g) // 1024), req))
    total = sum(r[0] for r in rows)
    print("memtype: total growth %+d bytes over %d types" % (total, len(rows)))
    return 0
