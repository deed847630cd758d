#!/usr/bin/env python3
"""report_speed.py - how long `memtype report` takes on big dumps.

A generated program (bench/scale/leak_sites.c linked with gen_sites.py's call
sites) leaks a million blocks from tens of thousands of distinct call sites
under memtype; the exit leak scan classifies them and the dump holds one
leak record per site. Then `memtype report --leaks` (and --types) is timed
on one such dump (the most types one process can hold: type ids are 16-bit,
65,533 call sites) and on two dumps of 50,000 sites each (100,000 types, two
million blocks). Results go to bench/results/report_speed.json; run_bench.py
puts them in docs/benchmarks.md (`--render-only` redraws it).

  python3 bench/report_speed.py            # measure, save, rewrite the doc
  python3 bench/report_speed.py --no-write # measure and print"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(HERE, "scale")
RESULTS = os.path.join(HERE, "results", "report_speed.json")
COMMAND = "python3 bench/report_speed.py"

CASES = [  # (label, sites per dump, dumps, blocks per dump)
    ("one dump: 1M leaked blocks, 65,533 types", 65533, 1, 1000000),
    ("two dumps: 2M leaked blocks, 100,000 types", 50000, 2, 1000000),
]


def log(msg):
    print("[report_speed] " + msg, file=sys.stderr, flush=True)


def build(workdir, nsites):
    sys.path.insert(0, SRC)
    import gen_sites
    d = os.path.join(workdir, "leak_sites_%d" % nsites)
    exe = os.path.join(d, "leak_sites")
    if os.access(exe, os.X_OK):
        return exe
    files = gen_sites.generate(nsites, d)
    objs, procs = [], []
    for c in files:  # two compilers at a time
        o = c[:-2] + ".o"
        objs.append(o)
        procs.append(subprocess.Popen(["gcc", "-O0", "-c", c, "-o", o]))
        if len(procs) == 2:
            if procs.pop(0).wait() != 0:
                raise SystemExit("gcc failed on the generated sites")
    for p in procs:
        if p.wait() != 0:
            raise SystemExit("gcc failed on the generated sites")
    subprocess.run(["gcc", "-O2", "-g", "-o", exe, os.path.join(SRC, "leak_sites.c")] + objs,
                   check=True)
    return exe


def timed(argv, env=None):
    t0 = time.monotonic()
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    return time.monotonic() - t0, r


def run(args):
    lib = os.path.abspath(args.lib)
    cmd = os.path.join(ROOT, "build", "bin", "memtype")
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cases": []}
    with tempfile.TemporaryDirectory(prefix="mt-report-speed.") as tmp:
        for label, sites, ndumps, blocks in CASES:
            exe = build(args.workdir, sites * ndumps)
            files, scans = [], []
            for k in range(ndumps):
                env = {k2: v for k2, v in os.environ.items() if not k2.startswith("MEMTYPE_")}
                path = os.path.join(tmp, "case%d_%d.mtd" % (len(out["cases"]), k))
                env.update({"LD_PRELOAD": lib, "MEMTYPE_OUTPUT": path, "MEMTYPE_LEAK_LINES": "3"})
                secs, r = timed([exe, str(blocks), str(k * sites), str(sites)], env)
                if r.returncode != 0 or not os.path.exists(path):
                    raise SystemExit("leak_sites failed: %s" % r.stderr[-2000:])
                files.append(path)
                scans.append(secs)
            row = {"label": label, "types": sites * ndumps, "blocks": blocks * ndumps,
                   "dump_bytes": sum(os.path.getsize(f) for f in files),
                   "program_s": [round(s, 2) for s in scans]}
            for what, flags in (("leaks", ["--leaks"]), ("types", ["--types"])):
                secs, r = timed([cmd, "report"] + flags + files)
                if r.returncode != 0:
                    raise SystemExit("memtype report %s failed: %s" % (" ".join(flags), r.stderr))
                row[what + "_s"] = round(secs, 2)
                if what == "leaks":
                    lost = sum(1 for line in r.stdout.splitlines() if "definitely lost" in line
                               and line[:1].isdigit())
                    row["records_shown"] = lost
            log("%s: report --leaks %.2f s, --types %.2f s" % (label, row["leaks_s"], row["types_s"]))
            out["cases"].append(row)
    return out


def render(data):
    if not data:
        return ""
    lines = ["## Reports on big dumps", "",
             "How long `memtype report` takes on the dumps of a generated program that leaks "
             "every block it allocates, from tens of thousands of distinct call sites "
             "(`bench/scale/leak_sites.c` with `gen_sites.py`), measured %s with `%s`. "
             "A process holds at most 65,533 call-site types (16-bit type ids); 100,000 types "
             "take two processes. The reports symbolize the records they print (30 by "
             "default) with llvm-symbolizer or addr2line." % (data["date"], COMMAND), "",
             "| dumps | leak records (types) | blocks | dump size | `report --leaks` | "
             "`report --types` |", "|---|---|---|---|---|---|"]
    for c in data["cases"]:
        lines.append("| %s | %s | %s | %.1f MiB | %.2f s | %.2f s |" % (
            c["label"].split(":")[0], "{:,}".format(c["types"]), "{:,}".format(c["blocks"]),
            c["dump_bytes"] / 1048576.0, c["leaks_s"], c["types_s"]))
    lines.append("")
    return "\n".join(lines)


def findings(data):
    if not data:
        return []
    worst = max(data["cases"], key=lambda c: c["leaks_s"])
    return ["`memtype report --leaks` on %s leaked blocks from %s call sites: %.1f s "
            "(`bench/report_speed.py`)." % ("{:,}".format(worst["blocks"]),
                                            "{:,}".format(worst["types"]), worst["leaks_s"])]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lib", default=os.path.join(ROOT, "build", "lib", "libmemtype.so"))
    p.add_argument("--workdir", default="/tmp/mtbench")
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    data = run(args)
    if args.no_write:
        print(render(data))
        return 0
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(data, f, indent=1)
    sys.path.insert(0, HERE)
    import run_bench
    print(run_bench.write_doc(os.path.join(ROOT, "docs", "benchmarks.md")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
