#!/usr/bin/env python3
"""scale.py - how memtype's cost grows with the work, beside glibc and jemalloc
(Python 3 standard library only).

Five curves, each a sweep of one small C driver (bench/scale/*.c, built here with
gcc -O2 into the work directory):
    threads-small   threads 1..64, blocks 16 B..1 KiB (memtype: slabs + thread caches)
    threads-medium  threads 1..64, blocks 9 KiB..256 KiB (memtype: page runs)
    heap            live heap 1 MiB..4 GiB
    sites           distinct malloc call sites 10..1M (generated C, gen_sites.py)
    size            block size 8 B..64 MiB
Every point runs each tool --reps times, interleaved (point p, rep r: tool1, tool2...),
and reports the median CPU ns per malloc+free pair and the median peak RSS. Results
go to bench/results/scale.json, and docs/benchmarks.md plus the docs/scale-*.svg
charts are regenerated (the peer tables come from bench/results/peers.json, written
by run_bench.py).

    python3 bench/scale.py                      # all curves, ~10 minutes
    python3 bench/scale.py --curves threads-small,size --reps 1 --seconds 0.2
    python3 bench/scale.py --render-only        # rebuild the doc and charts from the JSON
"""

import argparse
import hashlib
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_bench as rb  # noqa: E402
import svg  # noqa: E402

SRC = os.path.join(HERE, "scale")
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
NCPU = os.cpu_count() or 1
DEFAULT_TOOLS = "glibc,jemalloc,memtype"


def fmt_bytes(n):
    for unit, m in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= m and n % m == 0:
            return "%d %s" % (n // m, unit)
    return "%d B" % n


def fmt_count(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


# ---------------------------------------------------------------------------
# THE CURVES.  argv(point, seconds, exe) gives the driver's command line.
# ---------------------------------------------------------------------------
THREADS = [1, 2, 4, 8, 16, 64]
CURVES = {
    "threads-small": dict(
        driver="scale_threads", points=THREADS, xlabel="threads", xfmt=str, per_core=True,
        argv=lambda p, s: [str(p), "16", "1024", "256", s, "8"],
        title="Threads, small blocks (16 B - 1 KiB)",
        what="`scale_threads T 16 1024 256 S 8`: each of T threads keeps 256 live blocks of "
             "16 B - 1 KiB and replaces a random one per op; 1 free in 8 is handed to the next "
             "thread (batches of 32) and freed there. In memtype these sizes are slab slots "
             "served from per-thread caches."),
    "threads-local": dict(
        driver="scale_threads", points=THREADS, xlabel="threads", xfmt=str, per_core=True,
        argv=lambda p, s: [str(p), "16", "1024", "256", s, "0"],
        title="Threads, small blocks, no cross-thread frees",
        what="`scale_threads T 16 1024 256 S 0`: as threads-small, but every block is freed "
             "by the thread that allocated it; the difference between the two curves is the "
             "cost of blocks changing threads."),
    "threads-medium": dict(
        driver="scale_threads", points=THREADS, xlabel="threads", xfmt=str, per_core=True,
        argv=lambda p, s: [str(p), str(9 * KiB), str(256 * KiB), "16", s, "8"],
        title="Threads, medium blocks (9 KiB - 256 KiB)",
        what="`scale_threads T 9216 262144 16 S 8`: as threads-small with 16 live blocks of 9 KiB - 256 KiB "
             "per thread (only their first 8 bytes written). In memtype these sizes are page "
             "runs, carved and returned under one global page lock."),
    "heap": dict(
        driver="scale_heap", points=[MiB, 4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB, GiB, 4 * GiB],
        xlabel="live heap", xfmt=fmt_bytes,
        argv=lambda p, s: [str(p), s],
        title="Live heap size",
        what="`scale_heap L`: fills the heap with L bytes of blocks (31 in 32 of 16 - 512 B, "
             "1 in 32 of 8 - 64 KiB, every byte written), then for the measured time frees a "
             "random live block and allocates a new one (written in full) in its place."),
    "sites": dict(
        driver="scale_sites", points=[10, 100, 1000, 10000, 100000, 1000000],
        extra_tools=["memtype-notype"],
        xlabel="distinct malloc call sites", xfmt=fmt_count,
        argv=lambda p, s: [s],
        title="Distinct malloc call sites",
        what="`scale_sites` linked with N generated call sites (`gen_sites.py`: N distinct "
             "`return malloc(n);` statements in 256-case switch functions, compiled -O0 so "
             "none are merged; the build counts the `call malloc` instructions): 1024 live "
             "blocks, each op frees a random one and allocates 16 - 256 B from a random site."),
    "size": dict(
        driver="scale_size",
        points=[8, 32, 128, 512, 2 * KiB, 8 * KiB, 32 * KiB, 128 * KiB, 512 * KiB, MiB,
                2 * MiB, 8 * MiB, 32 * MiB, 64 * MiB],
        xlabel="block size", xfmt=fmt_bytes,
        argv=lambda p, s: [str(p), s],
        title="Block size",
        what="`scale_size S`: 16 live blocks of S bytes; each op frees the oldest and "
             "allocates a new one, writing its first and last byte only (the allocator's cost, "
             "not a memset's)."),
}
CURVE_ORDER = list(CURVES)

# memtype's paths by request size (core/sys/mt_types.h: MT_SMALL_MAX, MT_MEDIUM_MAX)
SMALL_MAX, MEDIUM_MAX = 8 * KiB, MiB


def memtype_path(size):
    if size <= SMALL_MAX:
        return "slab + thread cache"
    if size <= MEDIUM_MAX:
        return "page run (global page lock)"
    return "own mapping (mmap/munmap)"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------
def gcc(args):
    r = subprocess.run(["gcc"] + args, capture_output=True, text=True)
    if r.returncode != 0:
        rb.die("build failed: gcc %s\n%s" % (shlex.join(args), r.stderr[-3000:]))


def build_drivers(workdir, curves):
    os.makedirs(workdir, exist_ok=True)
    exes = {}
    for d in sorted({CURVES[c]["driver"] for c in curves} - {"scale_sites"}):
        exe = os.path.join(workdir, d)
        gcc(["-O2", "-g", "-Wall", "-pthread", "-I", SRC, "-o", exe, os.path.join(SRC, d + ".c")])
        exes[d] = exe
    return exes


def build_sites(workdir, n, compile_timeout):
    """Builds scale_sites for n call sites (cached by a hash of the sources).
    Returns (exe, info) or (None, reason)."""
    srcs = [os.path.join(SRC, f) for f in ("gen_sites.py", "scale_sites.c", "scale_common.h")]
    h = hashlib.sha1(str(n).encode())
    for p in srcs:
        with open(p, "rb") as f:
            h.update(f.read())
    h.update(subprocess.run(["gcc", "--version"], capture_output=True).stdout)
    key = h.hexdigest()[:12]
    d = os.path.join(workdir, "sites", str(n))
    exe = os.path.join(d, "scale_sites")
    stamp = exe + ".json"
    try:
        with open(stamp) as f:
            info = json.load(f)
        if info.get("key") == key and os.access(exe, os.X_OK):
            return exe, info
    except (OSError, ValueError):
        pass
    sys.path.insert(0, SRC)
    import gen_sites
    t0 = time.time()
    files = gen_sites.generate(n, d)
    objs, procs = [], []
    deadline = t0 + compile_timeout
    pending = list(files)
    # two compilers at a time (the machine has 2 cores; nothing is being measured now)
    while pending or procs:
        while pending and len(procs) < 2:
            c = pending.pop(0)
            o = c[:-2] + ".o"
            objs.append(o)
            procs.append((subprocess.Popen(["gcc", "-O0", "-c", c, "-o", o],
                                           stderr=subprocess.PIPE), c))
        p, c = procs.pop(0)
        try:
            _, err = p.communicate(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            for q, _ in procs:
                q.kill()
                q.wait()
            p.wait()
            return None, "compiling %d call sites took over %d s" % (n, compile_timeout)
        if p.returncode != 0:
            rb.die("gcc -O0 -c %s failed:\n%s" % (c, err.decode(errors="replace")[-2000:]))
    gcc(["-O2", "-g", "-Wall", "-I", SRC, "-o", exe, os.path.join(SRC, "scale_sites.c")] + objs)
    compile_s = time.time() - t0
    # every site must be its own call instruction
    calls = 0
    od = subprocess.Popen(["objdump", "-d", "--no-show-raw-insn", exe], stdout=subprocess.PIPE)
    for line in od.stdout:
        if b"call" in line and b"<malloc@plt>" in line:
            calls += 1
    od.wait()
    for p in files + objs:
        os.unlink(p)
    if calls < n:
        rb.die("scale_sites for %d sites has only %d calls to malloc" % (n, calls))
    info = dict(key=key, compile_s=round(compile_s, 1), calls=calls)
    with open(stamp, "w") as f:
        json.dump(info, f)
    return exe, info


# ---------------------------------------------------------------------------
# runs
# ---------------------------------------------------------------------------
LINE = re.compile(rb"(\w+)=(\d+)")


def run_point(helper, exe, argv, tool, tname, lib, base_env, workdir, tag, timeout):
    logs = os.path.join(workdir, "logs")
    os.makedirs(logs, exist_ok=True)
    out_path = os.path.join(logs, "scale-%s-%s.stdout" % (tag, tname))
    err_path = out_path[:-len(".stdout")] + ".stderr"
    env = {k: rb.subst(v, lib=lib, data=workdir) for k, v in tool.env.items()}
    prefix = [rb.subst(a, lib=lib, data=workdir) for a in tool.prefix]
    wall, status, rss, to = rb.run_once(helper, prefix + [exe] + argv, base_env, env, None,
                                        out_path, err_path, timeout)
    r = dict(status="ok", rss=rss)
    with open(out_path, "rb") as f:
        out = f.read()
    vals = {k.decode(): int(v) for k, v in LINE.findall(out)}
    if to:
        r.update(status="timed out", detail=">%g s" % timeout)
    elif status is None:
        r.update(status="error", detail="launcher failed")
    elif os.WIFSIGNALED(status):
        r.update(status="crashed", detail=rb.signal_name(os.WTERMSIG(status)))
    elif os.WEXITSTATUS(status) != 0:
        r.update(status="bad exit", detail="exit %d" % os.WEXITSTATUS(status))
    elif not vals.get("ops"):
        r.update(status="wrong output", detail="no ops= line")
    if r["status"] == "ok":
        r.update({k: v for k, v in vals.items() if k != "sum"})
    else:
        r["stderr"] = rb.stderr_tail(err_path, 4)
    return r


def sweep(args):
    base_env = {k: v for k, v in os.environ.items() if not rb.STRIP_ENV.match(k)}
    helper = rb.build_helper(args.workdir)
    exes = build_drivers(args.workdir, args.curves)
    lib = args.lib_snapshot
    every = list(args.tools)
    for cname in args.curves:
        if "memtype" in args.tools:
            every += [t for t in CURVES[cname].get("extra_tools", []) if t not in every]
    missing = {t: rb.missing_reason(t, rb.TOOLS[t], lib) for t in every}
    for t, why in missing.items():
        if why:
            log("scale: tool %s: %s" % (t, why))
    meta = rb.machine_meta()
    data = dict(meta=meta, tools=args.tools, reps=args.reps, seconds=args.seconds,
                timeout=args.timeout, curves={}, lib=args.lib_desc)
    t_start = time.time()
    for cname in args.curves:
        c = CURVES[cname]
        tools = list(args.tools)
        if "memtype" in tools:
            tools += [t for t in c.get("extra_tools", []) if t not in tools]
        cd = dict(points={}, skipped={}, build={},
                  run=dict(tools=tools, reps=args.reps, seconds=args.seconds, timeout=args.timeout,
                           lib=args.lib_desc, date=meta["date"], load=meta["load"]))
        data["curves"][cname] = cd
        t_curve = time.time()
        for p in c["points"]:
            if cname == "sites":
                log("scale: building scale_sites with %s call sites..." % fmt_count(p))
                exe, info = build_sites(args.workdir, p, args.sites_compile_timeout)
                if exe is None:
                    cd["skipped"][str(p)] = info
                    log("scale: " + info + "; larger site counts skipped")
                    break
                cd["build"][str(p)] = info
                log("scale:   %d calls to malloc, compiled in %.0f s" % (info["calls"], info["compile_s"]))
            else:
                exe = exes[c["driver"]]
            argv = c["argv"](p, "%g" % args.seconds)
            pt = {t: [] for t in tools}
            cd["points"][str(p)] = pt
            for rep in range(args.reps):
                for t in tools:
                    if missing[t]:
                        if rep == 0:
                            pt[t].append(dict(status="not installed", detail=missing[t]))
                        continue
                    if pt[t] and pt[t][-1]["status"] in ("timed out", "error"):
                        continue
                    r = run_point(helper, exe, argv, rb.TOOLS[t], t, lib, base_env, args.workdir,
                                  "%s-%s-%d" % (cname, p, rep), args.timeout)
                    pt[t].append(r)
                    msg = "[%s %s rep %d/%d] %-14s" % (cname, c["xfmt"](p), rep + 1, args.reps, t)
                    if r["status"] == "ok":
                        msg += " %8.1f CPU ns/op %8.1f wall ns/op %9.1f MiB" % (
                            r["cpu_ns"] / r["ops"], r["ns"] / r["ops"], r["rss"] / 1024.0)
                    else:
                        msg += " %s (%s)\n%s" % (r["status"], r.get("detail", ""), r.get("stderr", ""))
                    log(msg)
        cd["run"]["elapsed_s"] = round(time.time() - t_curve)
    meta["load_end"] = "%.2f" % os.getloadavg()[0]
    data["elapsed_s"] = round(time.time() - t_start)
    return data


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------
def cell(data, cname, p, t):
    """Median figures for one tool at one point, or {'fail': text}."""
    rs = data["curves"][cname]["points"].get(str(p), {}).get(t, [])
    if not rs:
        return {"fail": "not run"}
    bad = [r for r in rs if r["status"] != "ok"]
    if bad:
        b = bad[0]
        txt = b["status"] + (" (%s)" % b["detail"] if b.get("detail") else "")
        if len(rs) > 1 and b["status"] not in ("not installed", "timed out"):
            txt += " %d/%d" % (len(bad), len(rs))
        return {"fail": txt}
    threads = p if CURVES[cname].get("per_core") else 1
    c = dict(cpu=statistics.median(r["cpu_ns"] / r["ops"] for r in rs),
             wall=statistics.median(r["ns"] * min(threads, NCPU) / r["ops"] for r in rs),
             rss=statistics.median(r["rss"] for r in rs) / 1024.0,
             runs=len(rs))
    if "fill_cpu_ns" in rs[0]:
        c["fill"] = statistics.median(r["fill_cpu_ns"] / r["blocks"] for r in rs)
        c["blocks"] = rs[0]["blocks"]
    return c


def ftime(ns):
    return "%s µs" % fnum(ns / 1000.0) if ns >= 10000 else "%s ns" % fnum(ns)


def fnum(v):
    if v >= 100000:
        return "%.3g" % v if v < 1e6 else "%.2e" % v
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def ctools(data, cname):
    """The tools a curve was measured with."""
    return data["curves"][cname].get("run", {}).get("tools", data["tools"])


def crun(data, cname):
    r = dict(tools=data["tools"], reps=data["reps"], seconds=data["seconds"],
             timeout=data["timeout"], lib=data.get("lib", "?"), date=data["meta"]["date"],
             load=data["meta"]["load"])
    r.update(data["curves"][cname].get("run", {}))
    return r


def is_peer(t):
    return not t.startswith("memtype")


def points_of(data, cname):
    return [p for p in CURVES[cname]["points"] if str(p) in data["curves"][cname]["points"]]


def growth(data, cname, t, key="cpu"):
    """last/first per-op figure for tool t over the points where it ran ok."""
    vals = [(p, cell(data, cname, p, t)) for p in points_of(data, cname)]
    vals = [(p, c[key]) for p, c in vals if key in c]
    if len(vals) < 2 or vals[0][1] <= 0:
        return None
    return vals[-1][1] / vals[0][1], vals[0][0], vals[-1][0]


WORDS = {"superlinear": "**superlinear**: memtype's per-op cost grows by more than ×1.5 and "
                       "more than 1.5 times the most any peer's grows",
         "step": "**a step at 2 threads, then flat**: the per-op cost jumps when a second "
                 "thread runs, and does not grow further with more threads (2 CPUs: at most "
                 "two run at once) — contention between threads running at the same time, "
                 "not a convoy that grows with the thread count"}


def step(data, cname, t):
    """(second/first, last/second) per-op figures, or None."""
    vals = [cell(data, cname, p, t).get("cpu") for p in points_of(data, cname)]
    if len(vals) < 3 or not all(vals):
        return None
    return vals[1] / vals[0], vals[-1] / vals[1]


def verdict(data, cname):
    """Words on memtype's growth over the curve beside its peers'."""
    peers = [t for t in ctools(data, cname) if is_peer(t)]
    g = growth(data, cname, "memtype")
    if g is None:
        return None, ""
    pg = {t: growth(data, cname, t) for t in peers}
    pg = {t: v[0] for t, v in pg.items() if v}
    st = step(data, cname, "memtype") if CURVES[cname].get("per_core") else None
    if st and st[0] > 1.5 and st[1] <= 1.3 and g[0] > 1.3:
        word = "step"
    elif g[0] <= 1.3:
        word = "flat"
    elif pg and g[0] > 1.5 * max(pg.values()) and g[0] > 1.5:
        word = "superlinear"
    elif g[0] > 1.5:
        word = "grows, like its peers'"
    else:
        word = "about flat"
    return g[0], word


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
def chart_file(cname):
    return "scale-%s.svg" % cname


def render(data):
    out = []
    a = out.append
    m = data["meta"]
    a("## How the cost grows (scale curves)")
    a("")
    a("Generated by `bench/scale.py` (also run by `bench/run_bench.py --all`).")
    a("")
    a("- machine: %s CPUs, %s, %s RAM" % (m["nproc"], m["cpu"], m["mem"]))
    runs = {}
    for cname in CURVE_ORDER:
        if cname in data["curves"]:
            r = crun(data, cname)
            key = (r["date"], r["lib"], r["reps"], r["seconds"], r["timeout"], r["load"])
            runs.setdefault(key, []).append(cname)
    for (date, lib, reps, secs, timeout, load), names in runs.items():
        a("- %s: measured %s (load average %s at start); each point run %d times per tool, "
          "interleaved; measured phase %g s per run (after the driver's set-up), timeout %g s; "
          "memtype library: %s" % (", ".join(names), date, load, reps, secs, timeout, lib))
    a("- the last sweep (`%s`) took %d min; load average %s at its end"
      % (m.get("cmd", "?"), round(data.get("elapsed_s", 0) / 60.0), m.get("load_end", "?")))
    a("")
    a("**ns/op** is the median over the runs of the process's CPU time (user + system, "
      "`getrusage`) during the measured phase divided by the malloc+free pairs done in it. "
      "CPU time rather than wall time because this machine is shared: another process "
      "running steals wall time but not CPU time. It includes the driver's own loop (a "
      "random number, one or two writes) and, for the threaded drivers, lock spinning and "
      "futex system calls — but not time spent asleep; so the threads tables also give "
      "the wall time per op multiplied by min(threads, CPUs) (`wall×cores`), which counts "
      "a convoy's idle time and equals CPU ns/op when nothing else runs. **RSS** is the "
      "median peak RSS (`ru_maxrss`) of the whole driver process. Ratios are of medians.")
    a("")
    for cname in CURVE_ORDER:
        if cname not in data["curves"]:
            continue
        c = CURVES[cname]
        cd = data["curves"][cname]
        tools = ctools(data, cname)
        pts = points_of(data, cname)
        a("### %s" % c["title"])
        a("")
        a(c["what"])
        a("")
        a("![%s](%s)" % (c["title"], chart_file(cname)))
        a("")
        hdr = [c["xlabel"]]
        if cname == "heap":
            hdr.append("blocks")
        hdr += ["%s ns/op" % t for t in tools]
        if c.get("per_core"):
            hdr += ["%s wall×cores" % t for t in tools]
        ratio_to = [t for t in tools if t != "memtype"] if "memtype" in tools else []
        ratio_to.sort(key=is_peer)
        hdr += ["memtype / %s" % t for t in ratio_to]
        if cname == "heap":
            hdr += ["%s fill ns/block" % t for t in tools]
        if cname == "size":
            hdr.append("memtype path")
        hdr += ["%s RSS MiB" % t for t in tools]
        a("| " + " | ".join(hdr) + " |")
        a("|" + "---|" * len(hdr))
        for p in pts:
            cs = {t: cell(data, cname, p, t) for t in tools}
            row = [c["xfmt"](p)]
            if cname == "heap":
                row.append(next((str(x["blocks"]) for x in cs.values() if "blocks" in x), "—"))
            row += [fnum(cs[t]["cpu"]) if "cpu" in cs[t] else cs[t]["fail"] for t in tools]
            if c.get("per_core"):
                row += [fnum(cs[t]["wall"]) if "wall" in cs[t] else "—" for t in tools]
            for t in ratio_to:
                if "cpu" in cs[t] and "cpu" in cs["memtype"]:
                    row.append("%.2f" % (cs["memtype"]["cpu"] / cs[t]["cpu"]))
                else:
                    row.append("—")
            if cname == "heap":
                row += [fnum(cs[t]["fill"]) if "fill" in cs[t] else "—" for t in tools]
            if cname == "size":
                row.append(memtype_path(p))
            row += ["%.1f" % cs[t]["rss"] if "rss" in cs[t] else "—" for t in tools]
            a("| " + " | ".join(row) + " |")
        a("")
        for p, why in cd.get("skipped", {}).items():
            a("Not measured: %s call sites — %s. " % (fmt_count(int(p)), why))
        if cname == "sites" and cd.get("build"):
            a("Build of the generated programs (gcc -O0 for the sites, -O2 for the driver): " +
              ", ".join("%s sites %s s" % (fmt_count(int(p)), ("%.0f" % b["compile_s"]))
                        for p, b in cd["build"].items()) + ".")
            a("")
            tc = typing_cost(data)
            if tc:
                a("memtype types every allocation by its call site (`MEMTYPE_DEPTH=1`, the "
                  "default: the caller's return address, looked up in a per-thread site cache, "
                  "then in a lock-free site table); `memtype-notype` is the same library with "
                  "`MEMTYPE_DEPTH=0`, so memtype / memtype-notype is what typing costs: %s." % tc)
                a("")
        gl = []
        for t in tools:
            g = growth(data, cname, t)
            if g:
                gl.append("%s ×%.2f" % (t, g[0]))
        if gl:
            first, last = c["xfmt"](pts[0]), c["xfmt"](pts[-1])
            v, word = verdict(data, cname)
            extra = ""
            if word == "step":
                st = step(data, cname, "memtype")
                extra = " (×%.2f from %s to %s, ×%.2f from %s to %s)" % (
                    st[0], first, c["xfmt"](pts[1]), st[1], c["xfmt"](pts[1]), last)
            a("Per-op cost, %s → %s (last / first point): %s.%s" %
              (first, last, ", ".join(gl),
               (" memtype: %s%s." % (WORDS.get(word, word), extra)) if v else ""))
            a("")
    return "\n".join(out)


def typing_cost(data):
    """'from a (at p) to b (at q)' for memtype / memtype-notype on the sites curve."""
    if "sites" not in data["curves"] or "memtype-notype" not in ctools(data, "sites"):
        return ""
    rs = []
    for p in points_of(data, "sites"):
        m, n = cell(data, "sites", p, "memtype"), cell(data, "sites", p, "memtype-notype")
        if "cpu" in m and "cpu" in n:
            rs.append((m["cpu"] / n["cpu"], p))
    if not rs:
        return ""
    lo, hi = min(rs), max(rs)
    return "from ×%.2f (at %s sites) to ×%.2f (at %s sites)" % (lo[0], fmt_count(lo[1]), hi[0],
                                                                 fmt_count(hi[1]))


def charts(data, docs):
    """Writes docs/scale-*.svg; returns their paths."""
    written = []
    for cname in CURVE_ORDER:
        if cname not in data["curves"]:
            continue
        tools = ctools(data, cname)
        c = CURVES[cname]
        pts = points_of(data, cname)
        series = []
        for t in tools:
            s = []
            for p in pts:
                x = cell(data, cname, p, t)
                s.append((p, x.get("cpu")))
            series.append((t, s))
        r = crun(data, cname)
        sub = "median CPU ns per malloc+free, %d runs per point, %s" % (r["reps"], r["date"])
        text = svg.line_chart(c["title"], sub, c["xlabel"], "CPU ns per malloc+free", series,
                              logx=True, xfmt=c["xfmt"], xticks=pts)
        path = os.path.join(docs, chart_file(cname))
        with open(path, "w") as f:
            f.write(text)
        written.append(path)
    return written


def ratio_range(data, cname, peers_only=True):
    """'memtype / glibc from a (at p) to b (at q)' for each peer."""
    parts = []
    for t in ctools(data, cname):
        if t == "memtype" or (peers_only and not is_peer(t)):
            continue
        rs = []
        for p in points_of(data, cname):
            m, o = cell(data, cname, p, "memtype"), cell(data, cname, p, t)
            if "cpu" in m and "cpu" in o:
                rs.append((m["cpu"] / o["cpu"], p))
        if rs:
            lo, hi = min(rs), max(rs)
            f = CURVES[cname]["xfmt"]
            parts.append("memtype / %s from %.2f (at %s) to %.2f (at %s)"
                         % (t, lo[0], f(lo[1]), hi[0], f(hi[1])))
    return "; ".join(parts)


def findings(data):
    """Sentences for the summary at the top of docs/benchmarks.md."""
    s = []
    curves = data["curves"]

    def at(cname, p, t, key="cpu"):
        return cell(data, cname, p, t).get(key)

    def growths(cname, tools, key="cpu"):
        g = {t: growth(data, cname, t, key) for t in tools}
        return {t: v[0] for t, v in g.items() if v}

    for cname in ("threads-small", "threads-local", "threads-medium"):
        if cname not in curves or "memtype" not in ctools(data, cname):
            continue
        tools = [t for t in ctools(data, cname) if is_peer(t) or t == "memtype"]
        pts = points_of(data, cname)
        g, gw = growths(cname, tools), growths(cname, tools, "wall")
        if "memtype" not in g:
            continue
        txt = ("%s: memtype's CPU cost per op from %d to %d threads changes ×%.2f "
               "(wall×cores ×%.2f); %s" % (
                   CURVES[cname]["title"], pts[0], pts[-1], g["memtype"], gw.get("memtype", 0),
                   ", ".join("%s ×%.2f" % (t, g[t]) for t in tools if is_peer(t) and t in g)))
        first, last = pts[0], pts[-1]
        for p, word in ((first, "at 1 thread"), (last, "at %d threads" % last)):
            rr = [(t, at(cname, p, "memtype") / at(cname, p, t)) for t in tools
                  if is_peer(t) and at(cname, p, t) and at(cname, p, "memtype")]
            if rr:
                txt += "; %s memtype costs %s" % (word, ", ".join("×%.2f %s's" % (r, t) for t, r in rr))
        v, word = verdict(data, cname)
        txt += ". Verdict: %s" % WORDS.get(word, word)
        st = step(data, cname, "memtype")
        if word == "step":
            pst = {t: step(data, cname, t) for t in tools if is_peer(t)}
            txt += " (memtype ×%.2f from 1 to 2 threads, then ×%.2f from 2 to %d; %s from 1 to 2)" % (
                st[0], st[1], last, ", ".join("%s ×%.2f" % (t, v[0]) for t, v in pst.items() if v))
        txt += "."
        if cname == "threads-local" and word in ("step", "superlinear"):
            txt += (" Here every block is freed by the thread that allocated it, which memtype "
                    "serves from the thread's own cache with no lock and no atomic operation; a "
                    "cost that appears as soon as two threads run at once and then stays flat "
                    "points at something both threads write on that path (a shared cache line), "
                    "not at a lock.")
        if cname == "threads-small" and "threads-local" in curves:
            lt = ctools(data, "threads-local")
            diff = [(at(cname, p, "memtype") or 0) / (at("threads-local", p, "memtype") or 1)
                    for p in pts[1:] if at(cname, p, "memtype") and at("threads-local", p, "memtype")]
            if diff and "memtype" in lt:
                txt += (" Handing 1 block in 8 to another thread costs memtype ×%.2f–×%.2f over "
                        "the same run without hand-overs (threads-local): a block freed by "
                        "another thread joins that thread's cache, which then flushes to the "
                        "per-size-class zones (one lock each) while the allocating thread refills."
                        % (min(diff), max(diff)))
        if cname == "threads-medium" and word in ("step", "superlinear"):
            small = growth(data, "threads-small", "memtype") if "threads-small" in curves else None
            txt += (" Medium blocks (8 KiB - 1 MiB) are page runs, carved and returned under "
                    "the single global page lock (`mt_page_lock`, core/heap/page.c), while small "
                    "blocks come from per-thread caches")
            if small and g["memtype"] > 1.5 * small[0]:
                txt += ("; medium blocks' per-op cost grows ×%.1f against ×%.1f for small "
                        "blocks, most of it (×%.1f) as soon as a second thread runs: the page "
                        "lock is the likely bottleneck, although memtype stays between glibc and "
                        "jemalloc in absolute cost." % (g["memtype"], small[0], st[0] if st else 0))
            elif small:
                txt += ("; but small blocks' cost grows about as much (×%.1f), so the page "
                        "lock alone does not explain it." % small[0])
            else:
                txt += "."
        s.append(txt)
    if "heap" in curves and growth(data, "heap", "memtype"):
        tools = [t for t in ctools(data, "heap") if is_peer(t) or t == "memtype"]
        pts = points_of(data, "heap")
        g = growths("heap", tools)
        txt = ("Live heap %s → %s: per-op churn cost grows %s (random slots in a bigger heap "
               "miss the caches and the TLB, for every allocator)" % (
                   fmt_bytes(pts[0]), fmt_bytes(pts[-1]),
                   ", ".join("%s ×%.2f" % (t, g[t]) for t in tools if t in g)))
        last = pts[-1]
        rss = {t: at("heap", last, t, "rss") for t in tools}
        if all(rss.values()):
            txt += "; peak RSS at %s: %s" % (fmt_bytes(last), ", ".join(
                "%s %.0f MiB" % (t, rss[t]) for t in tools))
        txt += "; %s. Verdict: %s." % (ratio_range(data, "heap"), WORDS.get(verdict(data, "heap")[1], verdict(data, "heap")[1]))
        s.append(txt)
    if "sites" in curves and growth(data, "sites", "memtype"):
        tools = ctools(data, "sites")
        pts = points_of(data, "sites")
        g = growths("sites", tools)
        txt = ("Call sites %s → %s: per-op cost grows %s (the driver's own instruction-cache "
               "and TLB misses grow with the code: 1M sites are ~20 MB of code)" % (
                   fmt_count(pts[0]), fmt_count(pts[-1]),
                   ", ".join("%s ×%.2f" % (t, g[t]) for t in tools if t in g)))
        txt += "; %s" % ratio_range(data, "sites")
        tc = typing_cost(data)
        if tc:
            txt += "; call-site typing (memtype / memtype-notype) costs %s" % tc
        sk = curves["sites"].get("skipped")
        if sk:
            txt += " (%s)" % "; ".join(sk.values())
        s.append(txt + ".")
    if "size" in curves and "memtype" in ctools(data, "size"):
        tools = [t for t in ctools(data, "size") if is_peer(t)]
        pts = points_of(data, "size")
        groups = {}
        for p in pts:
            for t in tools:
                m, o = at("size", p, "memtype"), at("size", p, t)
                if m and o:
                    groups.setdefault((memtype_path(p), t), []).append(m / o)
        if groups:
            parts = []
            for path, lo in (("slab + thread cache", "≤ 8 KiB"),
                             ("page run (global page lock)", "8 KiB – 1 MiB"),
                             ("own mapping (mmap/munmap)", "> 1 MiB")):
                rs = ["%s ×%.2f" % (t, rb.geomean(groups[(path, t)])) for t in tools
                      if (path, t) in groups]
                if rs:
                    parts.append("%s (%s): %s" % (lo, path, ", ".join(rs)))
            txt = ("Block size: memtype's cost per op against its peers (geometric mean over "
                   "the points of each size range): " + "; ".join(parts))
            big = [p for p in pts if p > MEDIUM_MAX and at("size", p, "memtype")]
            if big:
                txt += ("; from %s up memtype's cost is %s – %s per op, a mapping made, "
                        "touched and unmapped for every block" % (
                            fmt_bytes(big[0]), ftime(min(at("size", p, "memtype") for p in big)),
                            ftime(max(at("size", p, "memtype") for p in big))))
                gl = [p for p in pts if at("size", p, "glibc") and at("size", p, "glibc") > 10000]
                if gl:
                    txt += (", which glibc pays only from %s (%s: its mmap threshold rises "
                            "to 32 MiB after the first free of a mapped block)"
                            % (fmt_bytes(gl[0]), ftime(at("size", gl[0], "glibc"))))
            if MEDIUM_MAX in pts and MEDIUM_MAX // 2 in pts:
                a1, a2 = at("size", MEDIUM_MAX // 2, "memtype"), at("size", MEDIUM_MAX, "memtype")
                if a1 and a2 and a2 > 5 * a1:
                    txt += ("; 1 MiB, the largest page run, costs ×%.0f what 512 KiB does (%s "
                            "against %s) — with 16 live 1 MiB runs in 4 MiB segments, "
                            "consistent with segments emptied, unmapped and mapped again"
                            % (a2 / a1, ftime(a2), ftime(a1)))
            s.append(txt + ".")
    return s


# ---------------------------------------------------------------------------
def add_args(p):
    p.add_argument("--curves", default=",".join(CURVE_ORDER),
                   help="comma-separated curves (default: all: %s)" % ",".join(CURVE_ORDER))
    p.add_argument("--scale-tools", default=DEFAULT_TOOLS,
                   help="tools for the scale curves (default %s)" % DEFAULT_TOOLS)
    p.add_argument("--reps", type=int, default=3, help="runs per point and tool (default 3)")
    p.add_argument("--seconds", type=float, default=0.5,
                   help="measured phase of each run, seconds (default 0.5)")
    p.add_argument("--scale-timeout", type=float, default=120.0,
                   help="seconds before a scale run is killed (default 120)")
    p.add_argument("--sites-compile-timeout", type=int, default=900,
                   help="give up on a call-site count whose generated program takes longer "
                        "to compile (default 900 s)")


def check_args(p, a):
    a.curves = [c.strip() for c in a.curves.split(",") if c.strip()]
    for c in a.curves:
        if c not in CURVES:
            p.error("unknown curve %r (known: %s)" % (c, ", ".join(CURVES)))
    a.scale_tools = [t.strip() for t in a.scale_tools.split(",") if t.strip()]
    for t in a.scale_tools:
        if t not in rb.TOOLS:
            p.error("unknown tool %r" % t)
    if a.reps < 1 or a.seconds <= 0:
        p.error("--reps must be >= 1 and --seconds > 0")


def run(a, save=True):
    """Runs the sweep with parsed args (shared with run_bench.py --all); saves the JSON."""
    class A:
        pass
    s = A()
    s.curves, s.tools, s.reps, s.seconds = a.curves, a.scale_tools, a.reps, a.seconds
    s.timeout, s.sites_compile_timeout, s.workdir = a.scale_timeout, a.sites_compile_timeout, a.workdir
    s.lib_snapshot, s.lib_desc = a.lib_snapshot, a.lib_desc
    data = sweep(s)
    script = os.path.relpath(os.path.abspath(sys.argv[0]), rb.REPO)
    data["meta"]["cmd"] = "python3 " + shlex.join([script] + sys.argv[1:])
    if save:
        old = rb.load_json(rb.SCALE_JSON)
        if old:  # a partial sweep replaces its curves and keeps the others
            for cname, cd in old.get("curves", {}).items():
                if cname not in data["curves"]:
                    cd["run"] = crun(old, cname)
                    data["curves"][cname] = cd
        rb.save_json(rb.SCALE_JSON, data)
    return data


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    add_args(p)
    p.add_argument("--lib", default=os.path.join(rb.REPO, "build", "lib", "libmemtype.so"))
    p.add_argument("--workdir", default="/tmp/mtbench")
    p.add_argument("--docs", default=os.path.join(rb.REPO, "docs"),
                   help="where benchmarks.md and the charts go (default <repo>/docs)")
    p.add_argument("--no-write", action="store_true", help="measure and print, write nothing in docs/")
    p.add_argument("--render-only", action="store_true",
                   help="measure nothing: rebuild docs/benchmarks.md and the charts from "
                        "bench/results/*.json")
    a = p.parse_args()
    check_args(p, a)
    a.workdir = os.path.abspath(a.workdir)
    if not a.render_only:
        if "memtype" in a.scale_tools:
            a.lib_snapshot, a.lib_desc = rb.snapshot_lib(a.lib, a.workdir)
        else:
            a.lib_snapshot, a.lib_desc = a.lib, ""
        data = run(a, save=not a.no_write)
        if a.no_write:
            print(render(data))
        for line in findings(data):
            print("- " + line)
    if not a.no_write:
        rb.write_doc(os.path.join(a.docs, "benchmarks.md"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
