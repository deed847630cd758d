"""`memtype sweep`: rerun a command failing its 1st, 2nd, ... Nth eligible
allocation (one injected failure per run), and list the runs that crashed
or hung instead of failing gracefully, each with the call site whose NULL
it did not survive, and the runs whose error path leaked (the leak scan at
exit found lost blocks the run without failures did not have: what, and
where they were allocated). The error paths nobody tests are where crashes
and leaks hide."""
import argparse
import concurrent.futures
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from .. import dump as dumpmod
from .. import progress, symbolize

NEVER = str(10 ** 12)  # MEMTYPE_FAILURE_AFTER beyond any run: count, never fail


def parser():
    p = argparse.ArgumentParser(
        prog="memtype sweep",
        description="Rerun PROGRAM once per eligible allocation, failing that one "
                    "allocation (MEMTYPE_FAILURE_RATE=1, _TIMES=1, _AFTER=k-1), and report "
                    "the runs that crash or hang instead of failing gracefully. Every "
                    "process the command starts fails its own k-th eligible allocation.")
    p.add_argument("--fail-types", "--types", dest="types", default="",
                   help="only these types are failed (MEMTYPE_FAILURE_TYPES globs: a type "
                        "name, or the function or module of a call-site frame; as memtype "
                        "run --fail-types; --types: deprecated spelling)")
    p.add_argument("--minsize", default="0", help="only allocations of at least this size")
    p.add_argument("--max", type=int, default=200,
                   help="at most this many runs (the first N eligible allocations; "
                        "default 200)")
    p.add_argument("--timeout", type=float, default=60,
                   help="seconds before a run counts as hung (default 60)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="runs at once (default: one per CPU)")
    p.add_argument("--input", default=None, metavar="FILE",
                   help="file given to every run on stdin (default: none)").complete = "file"
    p.add_argument("--all", action="store_true", help="list every run, not only the bad ones")
    p.add_argument("--lib", default=None, metavar="FILE",
                   help="path of libmemtype.so to preload").complete = "file"
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- PROGRAM [ARGS...]")
    return p


def _run(cmd, env, outdir, input_path, timeout):
    os.makedirs(outdir, exist_ok=True)
    env = dict(env, MEMTYPE_OUTPUT=os.path.join(outdir, "run.%p.mtd"))
    stdin = open(input_path, "rb") if input_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, env=env, stdin=stdin, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            rc = None
    finally:
        if input_path:
            stdin.close()
    top = os.path.join(outdir, "run.%d.mtd" % proc.pid)
    d = None
    if os.path.exists(top):
        try:
            d = dumpmod.load(top)
        except dumpmod.DumpError:
            d = None
    return rc, err.decode("utf-8", "replace"), d


def _site(d):
    """The injected failure's call site in dump d, symbolized."""
    if d is None or d.failures is None or not d.failures.events:
        return None, None
    e = d.failures.events[-1]
    # The type's call site: MEMTYPE_SKIP wrappers (strdup...) looked through.
    pcs = [t.pcs[0] for t in d.types if t.id == e.type and t.pcs] or e.frames[:1]
    if not pcs:
        return e, "type %d" % e.type
    return e, symbolize.names(d, pcs).get(pcs[0], "%#x" % pcs[0])


def _lost(d):
    """{call site: bytes} definitely or indirectly lost in dump d (None: no scan)."""
    if d is None or d.leaks is None:
        return None
    by_id = {t.id: t for t in d.types}
    out = {}
    for r in d.leaks.records:
        if r.kind not in ("definitely lost", "indirectly lost"):
            continue
        t = by_id.get(r.type)
        if t is not None and t.pcs:
            m = d.module_of(t.pcs[0])
            key = (m.path, t.pcs[0] - m.base) if m else ("", t.pcs[0])
        else:
            key = ("type", t.name if t is not None else str(r.type))
        out[key] = out.get(key, 0) + r.bytes
    return out


def _new_leaks(d, base):
    """What run dump d lost beyond the clean run: [(bytes, where)], biggest first."""
    lost = _lost(d)
    if lost is None or base is None:
        return []
    extra = [(b - base.get(k, 0), k) for k, b in lost.items() if b > base.get(k, 0)]
    if not extra:
        return []
    by_key = {}
    for t in d.types:
        if t.pcs:
            m = d.module_of(t.pcs[0])
            by_key[(m.path, t.pcs[0] - m.base) if m else ("", t.pcs[0])] = t.pcs[0]
    names = symbolize.names(d, sorted(v for v in by_key.values()))
    out = []
    for b, k in sorted(extra, reverse=True):
        where = names.get(by_key[k], "%#x" % by_key[k]) if k in by_key else k[1]
        out.append((b, where))
    return out


def _verdict(rc, err, baseline):
    if rc is None:
        return "HANG", True
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % -rc
        return "CRASH %s" % name, True
    if "memtype: ERROR:" in err:
        return "HEAP ERROR (exit %d)" % rc, True
    if rc == baseline:
        return "ok (exit %d, as without failure)" % rc, False
    return "failed gracefully (exit %d)" % rc, False


def main(argv, lib_path):
    args = parser().parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        parser().error("no program given: memtype sweep [flags] -- PROGRAM [ARGS...]")
    lib = os.path.abspath(args.lib or lib_path)
    if not os.path.isfile(lib):
        print("memtype: error: %s: no such library; build it first or name it with --lib"
              % lib, file=sys.stderr)
        return 2
    if shutil.which(cmd[0]) is None and not os.path.exists(cmd[0]):
        print("memtype: error: cannot run %s: not found" % cmd[0], file=sys.stderr)
        return 127
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMTYPE_FAILURE_")}
    preload = env.get("LD_PRELOAD", "")
    env.update({"LD_PRELOAD": lib + (" " + preload if preload else ""),
                "MEMTYPE_FAILURE_RATE": "1", "MEMTYPE_FAILURE_TIMES": "1",
                "MEMTYPE_FAILURE_TYPES": args.types, "MEMTYPE_FAILURE_MINSIZE": args.minsize,
                "MEMTYPE_FAILURE_SEED": "1", "MEMTYPE_STATS": "0"})
    tmp = tempfile.mkdtemp(prefix="memtype-sweep.")
    bar = progress.Progress("memtype sweep")
    try:
        bar.note("the run without failures")
        rc0, err0, d0 = _run(cmd, dict(env, MEMTYPE_FAILURE_AFTER=NEVER),
                             os.path.join(tmp, "clean"), args.input, args.timeout)
        if rc0 is None or d0 is None or d0.failures is None:
            print("memtype: error: the clean run of %s %s; nothing to sweep"
                  % (cmd[0], "hung" if rc0 is None else "left no dump (exit %s)" % rc0),
                  file=sys.stderr)
            return 2
        eligible = d0.failures.eligible
        runs = min(eligible, args.max)
        print("memtype sweep: %s made %d eligible allocation%s (exit %d without failures); "
              "failing each of the first %d in turn"
              % (" ".join(cmd), eligible, "" if eligible == 1 else "s", rc0, runs))
        sys.stdout.flush()
        bar.end()
        bar = progress.Progress("memtype sweep", total=runs, unit="runs", notes=False)

        base_lost = _lost(d0)

        def one(k):
            rc, err, d = _run(cmd, dict(env, MEMTYPE_FAILURE_AFTER=str(k - 1)),
                              os.path.join(tmp, "run%d" % k), args.input, args.timeout)
            verdict, bad = _verdict(rc, err, rc0)
            e, site = _site(d)
            if not bad:
                leaks = _new_leaks(d, base_lost)
                if leaks:
                    verdict, bad = "LEAKED %d bytes" % sum(b for b, _ in leaks), True
                    site = "%s; lost: %s" % (site, ", ".join(
                        "%d bytes from %s" % (b, w) for b, w in leaks[:3]))
            bar.step()
            return k, verdict, bad, e, site
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = list(pool.map(one, range(1, runs + 1)))
        bar.end()
        bad = [r for r in results if r[2]]
        shown = results if args.all else bad
        if shown:
            print("%5s  %-34s %s" % ("alloc", "result", "injected failure"))
        for k, verdict, _, e, site in shown:
            what = "%s(%d) at %s" % (e.family, e.size, site) if e else "(no dump)"
            print("%5d  %-34s %s" % (k, verdict, what))
        leaked = sum(1 for r in bad if r[1].startswith("LEAKED"))
        print("memtype sweep: %d of %d runs crashed, hung or hit a heap error, %d leaked on their "
              "error path; %d failed gracefully" % (len(bad) - leaked, runs, leaked,
                                                    runs - len(bad)))
        return 1 if bad else 0
    finally:
        bar.end()
        shutil.rmtree(tmp, ignore_errors=True)
