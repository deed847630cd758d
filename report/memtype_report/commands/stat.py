"""`memtype stat PID` and `memtype top PID`: the vmstat -m table of a running
process (MEMTYPE_LIVE=1), once or refreshed."""
import argparse
import os
import sys

from .. import live as livemod
from ..forms.types import print_table
from ..model import merge_types


def parser(top=False):
    p = argparse.ArgumentParser(prog="memtype top" if top else "memtype stat",
                                description="The vmstat -m table of a running process "
                                            "(started with MEMTYPE_LIVE=1)%s." % (
                                                ", refreshed, its growth since the last "
                                                "refresh shown" if top else ""))
    p.add_argument("pid", type=int, metavar="PID", help="the process").complete = "live"
    p.add_argument("--lines", type=int, default=30, help="rows to show (default 30)")
    p.add_argument("--no-symbolize", action="store_true", help="show raw addresses")
    if top:
        p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
        p.add_argument("--count", type=int, default=0, help="refreshes, 0 = until it exits")
    return p


def main(argv, top=False):
    import time
    args = parser(top).parse_args(argv)
    # The files of processes gone without removing them (killed, or exec'd
    # a program without memtype): up to 70 MB each of /dev/shm otherwise.
    for p in livemod.sweep(keep=args.pid):
        print("memtype: removed %s: its process is gone" % p, file=sys.stderr)
    last, n = None, 0
    while True:
        try:
            d = livemod.read(args.pid)
        except livemod.LiveError as e:
            if last is not None and not os.path.exists("/proc/%d" % args.pid):
                print("memtype: pid %d has exited" % args.pid)
                return 0
            print("memtype: error: %s" % e, file=sys.stderr)
            return 2
        rows = merge_types([d], args.no_symbolize)
        if top and sys.stdout.isatty():
            sys.stdout.write("\033[H\033[2J")
        print_table([d], rows, args.lines,
                    growth=None if not top or last is None else
                    {r.label: r.in_use_bytes for r in last})
        sys.stdout.flush()
        if not top:
            return 0
        last, n = rows, n + 1
        if args.count and n >= args.count:
            return 0
        time.sleep(args.interval)
