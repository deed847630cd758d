#!/usr/bin/env python3
"""scale_ab.py - before/after of the thread scale drivers, by hand (issue 24).

Runs `scale_threads T 16 1024 256 SECS R` (R = 0: threads-local, R = 8:
threads-small) for T = 1, 2, 4 with each library in turn, interleaved, and
prints per point the median CPU ns per op (process user+system time over the
measured phase's ops), the median peak RSS, and every run's CPU ns per op and
its CPU use (process CPU / wall / min(T, 2)): a run whose use is far below 1
had its threads time-sliced with other programs, not running at once.

    python3 bench/scale_ab.py --runs 9 before=OLD.so after=build/lib/libmemtype.so glibc=

A library given as an empty path runs on glibc. Builds the driver and
mtb_spawn (peak RSS without the interpreter's) into --workdir.
"""
import argparse
import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("libs", nargs="+", help="NAME=PATH (PATH empty: glibc)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--secs", default="0.5", help="measured phase per run")
    ap.add_argument("--threads", default="1,2,4")
    ap.add_argument("--workdir", default="/tmp/mt-scale-ab")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.workdir, "dumps"), exist_ok=True)
    drv = os.path.join(a.workdir, "scale_threads")
    spawn = os.path.join(a.workdir, "mtb_spawn")
    subprocess.run(["gcc", "-O2", "-g", "-Wall", "-pthread", "-I", os.path.join(HERE, "scale"), "-o",
                    drv, os.path.join(HERE, "scale", "scale_threads.c")], check=True)
    subprocess.run(["gcc", "-O2", "-o", spawn, os.path.join(HERE, "mtb_spawn.c")], check=True)
    libs = [x.split("=", 1) for x in a.libs]
    res = {}
    result = os.path.join(a.workdir, "spawn.out")
    dumps = os.path.join(a.workdir, "dumps")
    for _ in range(a.runs):
        for bench, remote in (("local", "0"), ("small", "8")):
            for t in [int(x) for x in a.threads.split(",")]:
                for name, path in libs:
                    env = ["-e", "LD_PRELOAD=" + os.path.abspath(path)] if path else []
                    env += ["-e", "MEMTYPE_OUTPUT=" + os.path.join(dumps, "m.%p.mtd")]
                    out = subprocess.run([spawn, result] + env + ["--", drv, str(t), "16", "1024", "256",
                                         a.secs, remote], capture_output=True, text=True, check=True).stdout
                    kv = dict(x.split("=", 1) for x in out.split())
                    ops, cpu, wall = int(kv["ops"]), int(kv["cpu_ns"]), int(kv["ns"])
                    with open(result) as f:
                        rss = int(f.read().split()[1]) / 1024
                    res.setdefault((bench, t, name), []).append((cpu / ops, rss, cpu / wall / min(t, 2)))
                    for f in os.listdir(dumps):
                        os.unlink(os.path.join(dumps, f))
    print("| curve | threads | library | CPU ns/op | peak RSS MiB | runs (ns/op, CPU use) |")
    print("|---|---|---|---:|---:|---|")
    for (bench, t, name), v in sorted(res.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        print("| %s | %d | %s | %.1f | %.1f | %s |" % (
            bench, t, name, statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
            " ".join("%.1f@%.2f" % (x[0], x[2]) for x in v)))


if __name__ == "__main__":
    main()
