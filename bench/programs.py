#!/usr/bin/env python3
"""programs.py - our own allocation programs (bench/programs/, issue 24 point 6):
the last section of docs/benchmarks.md. Python 3 standard library only.

    python3 bench/programs.py                     # ~15 minutes on 2 cores
    python3 bench/programs.py --parts pairs       # only the instruction counts
    python3 bench/programs.py --render-only       # rewrite the doc from bench/results/

It does three things, each saved in bench/results/ and rendered by run_bench.py
as the section "Our own allocation programs" at the end of docs/benchmarks.md:

  table   `run_bench.py --workloads programs`: larson, smallobj, bigloop and prodcons
          under glibc, jemalloc, mimalloc, tcmalloc and every memtype mode, interleaved,
          wall time and peak RSS against glibc (bench/results/programs.json);
  pairs   instructions per malloc+free pair under callgrind for each allocator:
          `pairs N` (bench/programs/pairs.c) run with two N, the difference of the
          totals over the difference of N, so start-up and exit cancel out;
  scale   CPU ns per operation of larson and prodcons as threads grow (1..16), from
          the ops/ns/cpu_ns line each program prints on stderr
          (pairs and scale in bench/results/programs-extra.json);
  huge    (only when asked: --parts huge --before-lib OLD.so) bigloop under glibc, an older
          libmemtype.so, this one and tcmalloc: the huge cache's before and after.

The peers are installed from Debian packages when missing (`sh scripts/deps.sh peers`,
as root); not as root a missing one is reported `not installed`.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import run_bench  # noqa: E402
import svg  # noqa: E402

COMMAND = "python3 bench/programs.py"
EXTRA_JSON = os.path.join(run_bench.RESULTS, "programs-extra.json")
TABLE_JSON = os.path.join(run_bench.RESULTS, "programs.json")
TABLE_TOOLS = ("glibc,jemalloc,mimalloc,tcmalloc,memtype,memtype-notype,memtype-d8,memtype-failon,"
               "memtype-checks,memtype-guard,memtype-guardall")
PAIR_TOOLS = "glibc,jemalloc,mimalloc,tcmalloc,memtype,memtype-notype,memtype-d8,memtype-checks"
SCALE_TOOLS = "glibc,jemalloc,mimalloc,tcmalloc,memtype,memtype-checks"
PAIRS_N = (50000, 250000)
# name -> (argv for T threads, the ops total kept fixed across thread counts, thread counts)
SCALE = {
    "larson": (lambda t, total: ["larson", str(t), str(total // t)], 2000000, [1, 2, 4, 8, 16]),
    "prodcons": (lambda t, total: ["prodcons", str(t // 2), str(total // (t // 2))], 1000000,
                 [2, 4, 8, 16]),
}
NCPU = os.cpu_count() or 1
LINE = re.compile(r"ops=(\d+) ns=(\d+) cpu_ns=(\d+)")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def tool_env(name, lib, data):
    """The environment a tool adds, as run_bench's TOOLS table says."""
    t = run_bench.TOOLS[name]
    if t.prefix:
        raise SystemExit("programs.py: tool %s has a command prefix; not supported here" % name)
    return {k: run_bench.subst(v, lib=lib, data=data) for k, v in t.env.items()}


def base_env():
    return {k: v for k, v in os.environ.items() if not run_bench.STRIP_ENV.match(k)}


def installed(names, lib):
    ok = []
    for n in names:
        why = run_bench.missing_reason(n, run_bench.TOOLS[n], lib)
        if why:
            log("tool %s: %s; left out" % (n, why))
        else:
            ok.append(n)
    return ok


# ---------------------------------------------------------------------------
def instructions(exe, n, env, data):
    out = os.path.join(data, "cg.out")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, exe, str(n)],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    if r.returncode != 0:
        raise RuntimeError("exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[-400:]))
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1]), r.stdout.decode()
    raise RuntimeError("no summary line in %s" % out)


def run_pairs(args):
    exe = run_bench.build_program(args.workdir, "pairs")
    res = {}
    for t in installed(args.pair_tools, args.lib):
        with tempfile.TemporaryDirectory(dir=args.workdir) as data:
            env = base_env()
            env.update(tool_env(t, args.lib, data))
            try:
                (i1, o1), (i2, o2) = (instructions(exe, n, env, data) for n in PAIRS_N)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log("pairs %s: %s" % (t, e))
                res[t] = dict(error=str(e)[:200])
                continue
        per = (i2 - i1) / float(PAIRS_N[1] - PAIRS_N[0])
        res[t] = dict(per_pair=round(per, 1), total=[i1, i2])
        log("pairs %-16s %7.1f instructions per malloc+free pair" % (t, per))
    return res


# ---------------------------------------------------------------------------
def run_scale(args):
    curves = {}
    tools = installed(args.scale_tools, args.lib)
    for name, (argv_of, total, threads) in SCALE.items():
        exe_dir = args.workdir
        run_bench.build_program(exe_dir, name)
        pts = {}
        for t in threads:
            argv = argv_of(t, total)
            argv[0] = os.path.join(exe_dir, argv[0])
            got = {tool: [] for tool in tools}
            for rep in range(args.reps):
                for tool in tools:
                    with tempfile.TemporaryDirectory(dir=args.workdir) as data:
                        env = base_env()
                        env.update(tool_env(tool, args.lib, data))
                        try:
                            r = subprocess.run(argv, env=env, capture_output=True, timeout=300)
                        except subprocess.TimeoutExpired:
                            log("scale %s %d threads %s: timed out" % (name, t, tool))
                            continue
                    m = LINE.search(r.stderr.decode(errors="replace"))
                    if r.returncode != 0 or not m:
                        log("scale %s %d threads %s: exit %d" % (name, t, tool, r.returncode))
                        continue
                    ops, ns, cpu = (int(x) for x in m.groups())
                    got[tool].append(dict(cpu=cpu / ops, wall=ns * min(t, NCPU) / ops))
            pts[str(t)] = {tool: dict(cpu=statistics.median(x["cpu"] for x in v),
                                      wall=statistics.median(x["wall"] for x in v), reps=len(v))
                           for tool, v in got.items() if v}
            log("scale %s %2d threads: %s" % (name, t, ", ".join(
                "%s %.0f" % (tool, c["cpu"]) for tool, c in pts[str(t)].items())))
        curves[name] = dict(points=pts, tools=tools, threads=threads,
                            argv=" ".join(shlex.quote(a) for a in argv_of(1 if name == "larson" else 2,
                                                                        total)))
    return curves


# ---------------------------------------------------------------------------
HUGE_ARGV = ["bigloop", "40"]


def run_huge(args):
    """bigloop under glibc, memtype from --before-lib, memtype, tcmalloc: interleaved runs,
    wall time and peak RSS through run_bench's launcher."""
    exe = run_bench.build_program(args.workdir, "bigloop")
    helper = run_bench.build_helper(args.workdir)
    before, before_desc = run_bench.snapshot_lib(os.path.abspath(args.before_lib), args.workdir)
    rev = run_bench.sh(["git", "-C", os.path.dirname(os.path.abspath(args.before_lib)), "describe",
                        "--always", "--dirty"]).strip()
    if rev:
        before_desc += ", its tree at `%s`" % rev
    tools = [("glibc", {}), ("memtype before", {"LD_PRELOAD": before, "MEMTYPE_OUTPUT": "off"}),
             ("memtype", {"LD_PRELOAD": args.lib, "MEMTYPE_OUTPUT": "off"})]
    tools += [(t, tool_env(t, args.lib, args.workdir)) for t in installed(["tcmalloc"], args.lib)]
    got = {t: [] for t, _ in tools}
    logs = os.path.join(args.workdir, "logs")
    os.makedirs(logs, exist_ok=True)
    for i in range(args.runs):
        for t, env in tools:
            out, err = (os.path.join(logs, "huge-%s-%d.%s" % (t.replace(" ", "_"), i, x))
                        for x in ("stdout", "stderr"))
            wall, st, rss, to = run_bench.run_once(helper, [exe] + HUGE_ARGV[1:], base_env(), env,
                                                   None, out, err, 600)
            if to or st is None or st != 0:
                log("huge %s run %d failed" % (t, i))
                continue
            got[t].append(dict(wall=wall, rss=rss))
            log("huge %-15s %6.2f s %7.1f MiB" % (t, wall, rss / 1024.0))
    return dict(argv=" ".join(HUGE_ARGV), before=before_desc, runs=args.runs,
                tools=[t for t, _ in tools],
                med={t: dict(wall=statistics.median(x["wall"] for x in v),
                             rss=statistics.median(x["rss"] for x in v), n=len(v))
                     for t, v in got.items() if v})


def render_huge(h):
    g = h["med"].get("glibc")
    out = ["### The large-block loop before and after the huge cache", "",
           "`%s` (blocks of 2-64 MiB) with memtype before the huge cache (%s) and with it, "
           "beside glibc and tcmalloc; %d interleaved runs, medians." % (h["argv"], h["before"],
                                                                          h["runs"]), "",
           "| allocator | wall | / glibc | peak RSS | / glibc |", "|---|---|---|---|---|"]
    for t in h["tools"]:
        m = h["med"].get(t)
        if not m:
            out.append("| %s | failed | | | |" % t)
            continue
        out.append("| %s | %.2f s | %s | %.0f MiB | %s |" % (
            t, m["wall"], "%.2f" % (m["wall"] / g["wall"]) if g else "—", m["rss"] / 1024.0,
            "%.2f" % (m["rss"] / g["rss"]) if g else "—"))
    return out + [""]


def tool_rank(t):
    """Order of the TOOLS table (glibc, memtype modes, peers), for the tables."""
    names = list(run_bench.TOOLS)
    return names.index(t) if t in names else len(names)


def findings(table, extra):
    """Sentences computed from the saved figures."""
    s = []
    if table and "memtype" in table["tools"]:
        cells = run_bench.peers_cells(table)
        ws = table["workloads"]
        g = {t: run_bench.geo_of(cells, t, ws, "wall") for t in table["tools"] if t != "glibc"}
        peers = [t for t in ("mimalloc", "jemalloc", "tcmalloc") if g.get(t)]
        if g.get("memtype"):
            s.append("Wall time, geometric mean over the %d programs (glibc = 1): memtype %s%s."
                     % (len(ws), run_bench.fmt_ratio(g["memtype"]),
                        "".join(", %s %s" % (t, run_bench.fmt_ratio(g[t])) for t in peers)))
        per = ["%s %s" % (w, run_bench.fmt_ratio(cells[(w, "memtype")]["wall"]))
               for w in ws if "wall" in cells[(w, "memtype")]]
        if per:
            s.append("memtype per program, wall / glibc: %s (issue 24 asks ≤ 0.80 on each)."
                     % ", ".join(per))
        chk = cells.get(("larson", "memtype-checks"), {})
        if "wall" in chk:
            s.append("All heap checks on larson (threaded churn): %s × glibc (issue 24 asks ≤ 2)."
                     % run_bench.fmt_ratio(chk["wall"]))
    pairs = extra.get("pairs") or {}
    if pairs.get("memtype", {}).get("per_pair"):
        s.append("Instructions per malloc+free pair: memtype %.0f, %s." % (
            pairs["memtype"]["per_pair"], ", ".join(
                "%s %.0f" % (t, pairs[t]["per_pair"]) for t in ("glibc", "jemalloc", "mimalloc",
                                                                 "tcmalloc")
                if pairs.get(t, {}).get("per_pair"))))
    for name, c in (extra.get("scale") or {}).items():
        pts, ths = c["points"], c["threads"]
        if len(ths) > 1 and "memtype" in pts.get(str(ths[0]), {}) and "memtype" in pts.get(str(ths[1]), {}):
            a, b = pts[str(ths[0])]["memtype"]["cpu"], pts[str(ths[1])]["memtype"]["cpu"]
            s.append("%s: memtype's CPU per op from %d to %d threads ×%.2f, to %d threads ×%.2f."
                     % (name, ths[0], ths[1], b / a, ths[-1],
                        pts.get(str(ths[-1]), {}).get("memtype", {}).get("cpu", a) / a))
    return s


def fnum(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v


LARGE_JSON = os.path.join(run_bench.RESULTS, "large.json")
LARGE_COMMAND = ("python3 bench/run_bench.py --workloads large --tools glibc,jemalloc,mimalloc,"
                 "tcmalloc,memtype,memtype-notype,memtype-d8,memtype-failon,memtype-checks,"
                 "memtype-guard,memtype-guardall --runs 3 --no-doc")


def render_large_section():
    """Markdown for the large-block programs (bench/results/large.json), or ""."""
    table = run_bench.load_json(LARGE_JSON)
    if not table:
        return ""
    out = ["## Large blocks (issue 24 point 3)", "",
           "Blocks over 1 MiB: `bigloop` (allocated, touched, freed) and `bigrealloc` (grown "
           "and shrunk by realloc), against the peers and every memtype mode (issue 24 asks "
           "memtype for no more than glibc's time). Measured with (from the repository root; "
           "the section is rebuilt from `bench/results/large.json`):", "",
           "```sh", LARGE_COMMAND, "```", ""]
    sec = run_bench.render(run_bench.peers_cells(table), table).split("\n")
    sec = [l for i, l in enumerate(sec) if not l.startswith("![")
           and not (l == "" and i and sec[i - 1] == "")]
    sec[0] = "### Wall time and peak RSS against glibc"
    sec = [("#" + l) if l.startswith("### ") and i else l for i, l in enumerate(sec)]
    return "\n".join(out + sec)


def render_section():
    """Markdown for the end of docs/benchmarks.md, or "" when nothing was measured."""
    table = run_bench.load_json(TABLE_JSON)
    extra = run_bench.load_json(EXTRA_JSON) or {}
    if not table and not extra:
        return ""
    out = ["## Our own allocation programs", "",
           "Four programs of our own in `bench/programs/` (issue 24): server-style churn with "
           "cross-thread frees, many small short-lived objects, a loop of large blocks, "
           "producer/consumer threads. Measured with (from the repository root):", "",
           "```sh", COMMAND, "```", "",
           "and the huge cache's before and after with `%s --parts huge --before-lib OLD.so "
           "--runs 5`. Wall times come from a shared machine (its load average is in the notes of "
           "the table); the instruction counts do not depend on the load, and the scale curves "
           "use CPU time." % COMMAND, ""]
    if extra.get("meta"):
        m = extra["meta"]
        out += ["- instructions and scale curves: %s; %s CPUs; memtype library %s" %
                (m["date"], m["nproc"], m["lib"]), ""]
    found = findings(table, extra)
    if found:
        out += ["Computed from the figures below:", ""] + ["- " + f for f in found] + [""]
    if table:
        sec = run_bench.render(run_bench.peers_cells(table), table).split("\n")
        sec = [l for i, l in enumerate(sec) if not l.startswith("![")
               and not (l == "" and i and sec[i - 1] == "")]
        sec[0] = "### Wall time and peak RSS against glibc"
        sec = [("#" + l) if l.startswith("### ") and i else l for i, l in enumerate(sec)]
        out += sec
    pairs = extra.get("pairs")
    if pairs:
        out += ["### Instructions per malloc+free pair (callgrind)", "",
                "`pairs N` (`bench/programs/pairs.c`: 64 live blocks, each step frees one and "
                "allocates 16-512 B in its place) under `valgrind --tool=callgrind`, with N = %d "
                "and %d; the figure is the difference of the two totals over %d, so start-up "
                "and exit cancel out. It includes the loop's own ~15 instructions." %
                (PAIRS_N[0], PAIRS_N[1], PAIRS_N[1] - PAIRS_N[0]), "",
                "| allocator | instructions per pair | / glibc |", "|---|---|---|"]
        g = pairs.get("glibc", {}).get("per_pair")
        for t, v in sorted(pairs.items(), key=lambda kv: tool_rank(kv[0])):
            desc = run_bench.TOOLS[t].desc if t in run_bench.TOOLS else t
            if "per_pair" in v:
                out.append("| %s | %.0f | %s |" % (desc, v["per_pair"],
                                                   "%.2f" % (v["per_pair"] / g) if g else "—"))
            else:
                out.append("| %s | failed: %s | — |" % (desc, v.get("error", "?")))
        out.append("")
    if extra.get("huge"):
        out += render_huge(extra["huge"])
    for name, c in (extra.get("scale") or {}).items():
        out += ["### Scale: %s as threads grow" % name, "",
                "`%s` with the thread count varied and the total work fixed; median of %d runs "
                "per point. CPU ns per operation (process user+system time / ops), and wall ns "
                "× min(threads, %d CPUs) / ops in parentheses (time lost waiting counts)." %
                (c["argv"], extra.get("reps", 0), extra.get("meta", {}).get("nproc", NCPU)), "",
                "![%s CPU ns per operation as threads grow](programs-scale-%s.svg)" % (name, name), "",
                "| threads | " + " | ".join(c["tools"]) + " |",
                "|---|" + "---|" * len(c["tools"])]
        for t in c["threads"]:
            p = c["points"].get(str(t), {})
            out.append("| %d | %s |" % (t, " | ".join(
                "%s (%s)" % (fnum(p[tool]["cpu"]), fnum(p[tool]["wall"])) if tool in p else "—"
                for tool in c["tools"])))
        first, last = str(c["threads"][0]), str(c["threads"][-1])
        grow = []
        for tool in c["tools"]:
            a, b = c["points"].get(first, {}).get(tool), c["points"].get(last, {}).get(tool)
            if a and b:
                grow.append("%s ×%.2f" % (tool, b["cpu"] / a["cpu"]))
        if grow:
            out.append("")
            out.append("CPU per op at %s threads over %s: %s." % (last, first, ", ".join(grow)))
        out.append("")
    return "\n".join(out)


def charts(docs):
    extra = run_bench.load_json(EXTRA_JSON) or {}
    for name, c in (extra.get("scale") or {}).items():
        series = [(tool, [(t, c["points"].get(str(t), {}).get(tool, {}).get("cpu"))
                          for t in c["threads"]]) for tool in c["tools"]]
        text = svg.line_chart("%s: CPU ns per operation" % name,
                              "median of %d runs per point, %s" % (extra.get("reps", 0),
                                                                   extra["meta"]["date"]),
                              "threads", "CPU ns per operation", series, logx=True,
                              xticks=c["threads"])
        with open(os.path.join(docs, "programs-scale-%s.svg" % name), "w") as f:
            f.write(text)


# ---------------------------------------------------------------------------
def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="table,pairs,scale", help="which parts to measure "
                   "(default table,pairs,scale); the others keep their saved results")
    p.add_argument("--runs", type=int, default=3, help="runs per tool and program in the table "
                   "(and of bigloop in part huge)")
    p.add_argument("--reps", type=int, default=3, help="runs per point of the scale curves")
    p.add_argument("--tools", default=TABLE_TOOLS, help="tools of the table (default %(default)s)")
    p.add_argument("--pair-tools", default=PAIR_TOOLS, help="tools counted under callgrind")
    p.add_argument("--scale-tools", default=SCALE_TOOLS, help="tools of the scale curves")
    p.add_argument("--lib", default=os.path.join(REPO, "build", "lib", "libmemtype.so"))
    p.add_argument("--workdir", default="/tmp/mtbench")
    p.add_argument("--before-lib", help="part `huge` (not in the default parts): bigloop with this "
                   "libmemtype.so (memtype before the huge cache) beside --lib, glibc and tcmalloc")
    p.add_argument("--render-only", action="store_true", help="measure nothing, rewrite the doc")
    p.add_argument("--no-doc", action="store_true", help="save the results, leave the doc")
    a = p.parse_args()
    a.parts = [x for x in a.parts.split(",") if x]
    a.pair_tools = a.pair_tools.split(",")
    a.scale_tools = a.scale_tools.split(",")
    a.lib, a.workdir = os.path.abspath(a.lib), os.path.abspath(a.workdir)
    os.makedirs(a.workdir, exist_ok=True)
    if not a.render_only:
        r = subprocess.run(["sh", os.path.join(REPO, "scripts", "deps.sh"), "peers"])
        if r.returncode != 0 and os.geteuid() == 0:
            raise SystemExit("programs.py: `sh scripts/deps.sh peers` failed")
        if "table" in a.parts:
            cmd = [sys.executable, os.path.join(HERE, "run_bench.py"), "--workloads", "programs",
                   "--tools", a.tools, "--runs", str(a.runs), "--lib", a.lib, "--workdir", a.workdir,
                   "--no-doc"]
            log("$ " + shlex.join(cmd))
            subprocess.run(cmd, check=True)
        extra = run_bench.load_json(EXTRA_JSON) or {}
        if set(a.parts) & {"pairs", "scale", "huge"}:
            a.lib, lib_desc = run_bench.snapshot_lib(a.lib, a.workdir)
            meta = run_bench.machine_meta()
            meta["lib"] = lib_desc
            extra["meta"] = meta
        if "pairs" in a.parts:
            extra["pairs"] = run_pairs(a)
        if "scale" in a.parts:
            extra["scale"] = run_scale(a)
            extra["reps"] = a.reps
        if "huge" in a.parts:
            if not a.before_lib:
                raise SystemExit("programs.py: --parts huge needs --before-lib")
            extra["huge"] = run_huge(a)
        run_bench.save_json(EXTRA_JSON, extra)
    if not a.no_doc:
        print(run_bench.write_doc(run_bench.MAIN_DOC))
    return 0


if __name__ == "__main__":
    sys.exit(main())
