"""What reading a frame's inlined calls costs at report time: memtype's
in-process reader (core/sys/lines.c, mt_lines_inlined, run by
build/bin/lines_probe) asked for the chain at every third byte of a C++
program's code, built -O2 -g by g++ and, where installed, clang++; the time
per lookup (median of 5 runs), against llvm-symbolizer's for the same
addresses where it is installed (one process, its own caches: it reads the
file once and indexes it). Not a hot path: it runs when a report prints a
stack (each frame once).

    python3 bench/inlined_lookup.py [--build build]"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))
from test_inlined import SOURCE, text_range  # noqa: E402


def timed(argv, stdin, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL, check=True, text=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    probe = os.path.join(args.build, "bin", "lines_probe")
    tmp = tempfile.mkdtemp(prefix="memtype-inl-bench.")
    try:
        src = os.path.join(tmp, "prog.cc")
        with open(src, "w") as f:
            f.write(SOURCE)
        print("| compiler | .debug_info | lookups | memtype, per lookup | llvm-symbolizer, per lookup |")
        print("|---|---:|---:|---:|---:|")
        for cxx in ("g++", "clang++"):
            if not shutil.which(cxx):
                continue
            prog = os.path.join(tmp, "prog-" + cxx)
            subprocess.run([cxx, "-O2", "-g", "-o", prog, src], check=True)
            lo, size = text_range(prog)
            addrs = list(range(lo, lo + size, 3))
            out = subprocess.run(["readelf", "-SW", prog], capture_output=True, text=True).stdout
            info = int(re.search(r"\.debug_info\s+PROGBITS\s+\S+\s+\S+\s+([0-9a-f]+)", out).group(1), 16)
            ours = timed([probe, prog], "".join("%x\n" % a for a in addrs)) / len(addrs)
            theirs = ""
            if shutil.which("llvm-symbolizer"):
                t = timed(["llvm-symbolizer", "--obj=" + prog], "".join("0x%x\n" % a for a in addrs))
                theirs = "%.1f µs" % (t / len(addrs) * 1e6)
            print("| %s | %d KiB | %d | %.1f µs | %s |" % (cxx, info // 1024, len(addrs), ours * 1e6,
                                                          theirs))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
