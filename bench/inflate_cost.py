"""What reading compressed debug sections costs memtype: its in-process
reader (build/bin/lines_probe: the functions' index of a file, then one
lookup) run on an ELF file whose debug sections are compressed and on the
same file with them decompressed (objcopy --decompress-debug-sections);
the difference is the inflating (core/sys/inflate.c), paid once per module
the first time a stack passes through it. zlib's own time for the same
sections (Python's zlib module) is shown beside it. Files: libc's debug
file when libc6-dbg is installed, and memtype's own library compressed
with objcopy --compress-debug-sections=zlib. Median of 7 interleaved runs
each.

    python3 bench/inflate_cost.py [--build build]"""
import argparse
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "py"))
from test_inlined import libc_debug_file  # noqa: E402

RUNS = 7


def run_probe(probe, path, addr):
    t = time.perf_counter()
    subprocess.run([probe, path], input="%x\n" % addr, stdout=subprocess.DEVNULL, check=True,
                   text=True)
    return time.perf_counter() - t


def compressed_sections(path):
    """[(name, compressed bytes, inflated bytes, zlib's seconds)] of the
    SHF_COMPRESSED sections of an ELF file."""
    data = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", data, 0x3c)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64) for i in range(shnum)]
    names = secs[shstrndx][4]
    out = []
    for s in secs:
        if not s[2] & 0x800:
            continue
        name = data[names + s[0]:data.index(b"\0", names + s[0])].decode()
        _, _, size, _ = struct.unpack_from("<IIQQ", data, s[4])
        t = time.perf_counter()
        zlib.decompress(data[s[4] + 24:s[4] + s[5]])
        out.append((name, s[5], size, time.perf_counter() - t))
    return out


def text_address(path):
    """An address in the middle of .text (NOBITS in a separate debug file)."""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
    m = re.search(r"\.text\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out)
    return int(m.group(1), 16) + int(m.group(2), 16) // 2 if m else 0x1000


def measure(probe, label, path, tmp):
    plain = os.path.join(tmp, os.path.basename(path) + ".plain")
    subprocess.run(["objcopy", "--decompress-debug-sections", path, plain], check=True)
    secs = compressed_sections(path)
    read = ("debug_info", "debug_abbrev", "debug_line", "debug_str", "debug_line_str",
            "debug_rnglists", "debug_ranges", "debug_addr", "debug_str_offsets")
    used = [s for s in secs if s[0].lstrip(".") in read]
    addr = text_address(path)
    a, b = [], []
    for _ in range(RUNS):
        a.append(run_probe(probe, path, addr))
        b.append(run_probe(probe, plain, addr))
    comp, dec = statistics.median(a), statistics.median(b)
    print("| %s | %.1f MB | %.1f MB | %.0f ms | %.0f ms | **%.0f ms** | %.0f ms |" % (
        label, sum(s[1] for s in used) / 1e6, sum(s[2] for s in used) / 1e6, comp * 1e3,
        dec * 1e3, (comp - dec) * 1e3, sum(s[3] for s in used) * 1e3))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    probe = os.path.join(args.build, "bin", "lines_probe")
    for tool in ("objcopy", "readelf"):
        if not shutil.which(tool):
            sys.exit("%s is not installed" % tool)
    tmp = tempfile.mkdtemp(prefix="memtype-inflate-bench.")
    try:
        print("| file | sections read, compressed | inflated | memtype: compressed file | "
              "decompressed copy | inflating | zlib, the same sections |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        debug = libc_debug_file()
        if debug:
            measure(probe, "libc's debug file (libc6-dbg)", debug, tmp)
        lib = os.path.join(args.build, "lib", "libmemtype.so")
        if os.path.exists(lib):
            comp = os.path.join(tmp, "libmemtype.so")
            subprocess.run(["objcopy", "--compress-debug-sections=zlib", lib, comp], check=True)
            measure(probe, "memtype's own library (RelWithDebInfo), compressed by objcopy",
                    comp, tmp)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
