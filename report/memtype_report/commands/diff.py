"""`memtype diff A B`: per-type growth from dump A to dump B."""
import argparse
import os
import sys

from .. import dump as dumpmod
from .. import model
from ..forms import human_k


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
    rows = model.growth(a, b, args.no_symbolize)
    secs = (b.end_ns - a.end_ns) / 1e9 if a.end_ns and b.end_ns else 0
    print("memtype: growth of %s from pid %d (%s) to pid %d (%s)%s" % (
        b.program, a.pid, a.reason, b.pid, b.reason,
        ", %.1f s apart" % secs if secs > 0 else ""))
    width = max([20] + [min(100, len(r.label)) for r in rows[:args.lines]])
    print("%-*s %9s %9s %9s %9s %10s %10s" % (width, "Type", "InUse A", "InUse B", "MemUse A",
                                             "MemUse B", "Growth", "Requests+"))
    for r in rows[:args.lines]:
        g = r.growth
        print("%-*s %9d %9d %9s %9s %10s %10d" % (width, r.label[:width], r.in_use_a, r.in_use_b,
                                                 human_k(r.bytes_a), human_k(r.bytes_b),
                                                 "%+dK" % (g // 1024) if g >= 0
                                                 else "-%dK" % ((-g) // 1024), r.requests))
    total = sum(r.growth for r in rows)
    print("memtype: total growth %+d bytes over %d types" % (total, len(rows)))
    return 0
