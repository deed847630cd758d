"""The bug corpus (issue 21, point 5): every case of corpus/corpus.c and
corpus/corpus_cxx.cc, its buggy run and its correct look-alike, in each mode,
read from memtype's stderr and set against corpus/cases.txt.

A buggy run is one of:
  access   reported with the case's kind, made at the access: the report's
           first frame in the program is the at_ function that made it
           (for a libc call, the frame that called libc)
  later    reported with the case's kind, elsewhere: when the block was
           freed or resized, at exit, by the leak scan
  wrong    reported, but as another kind (shown beside it)
  missed   no report
and, where caught at the access, whether the report names the access's
source line (a line marked ACCESS in the program, as `corpus.c:N`).
A look-alike must print "done", exit 0 and leave stderr empty; anything else
is a false report.

  python3 tests/bugs/corpus.py [--build DIR]         the matrix, as a table
  python3 tests/bugs/corpus.py --write docs/corpus.md [--offline-lines]
  python3 tests/bugs/corpus.py --update-manifest     today's columns of cases.txt
  python3 tests/bugs/corpus.py --check lookalikes|caught|manifest --mode M
                                                     what CTest runs (corpus_*)
The library and the programs come from MEMTYPE_LIB_PATH and MEMTYPE_BUGS_DIR
(CTest sets them), else from --build (default build)."""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "py"))
from mtenv import clean_env  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
MANIFEST = os.path.join(CORPUS, "cases.txt")
SOURCES = {"corpus": "corpus.c", "corpus_cxx": "corpus_cxx.cc"}

# The modes, as issue 21 names them. guard_all guards every block whatever
# it costs (MEMTYPE_GUARD_COST=100, MEMTYPE_GUARD_RSS=0): with the default
# bounds whether a block is guarded would depend on the machine's speed.
MODES = {
    "plain": {},
    "checks": {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"},
    "guard_all": {"MEMTYPE_GUARD": "*", "MEMTYPE_GUARD_COST": "100", "MEMTYPE_GUARD_RSS": "0"},
}
# A guard page is flush with one end of a block: the end by default
# (MEMTYPE_GUARD_SIDE=after, overflows fault), the start with
# MEMTYPE_GUARD_SIDE=before. The underflow cases (buggy and look-alike) run
# guard_all with the guard before the block; every other case with the default.
KIND_ENV = {("guard_all", "underflow"): {"MEMTYPE_GUARD_SIDE": "before"}}


def case_env(case, mode, extra_env=None):
    """The environment a case adds to its mode's."""
    return dict(KIND_ENV.get((mode, case.kind), {}), **(extra_env or {}))

# The report kinds that name each bug kind of the manifest.
KINDS = {
    "overflow": ("heap-buffer-overflow",),
    "underflow": ("heap-buffer-underflow",),
    "uaf": ("use-after-free", "write-after-free"),
    "overlap": ("memcpy-param-overlap", "strcpy-param-overlap", "param-overlap", "overlap"),
    "double-free": ("double-free",),
    "invalid-free": ("invalid-free",),
    "mismatch": ("mismatched-free",),
    "realloc-freed": ("realloc-of-freed",),
    "bad-param": ("bad-param",),
    "leak": (),  # a `memtype: LEAK:` line
}
RESULTS = ("missed", "wrong", "later", "access")  # worst to best
RANKS = RESULTS + ("access+line",)  # cases.txt's today columns
MUSTS = ("-", "caught", "access")


# ---- the manifest ----------------------------------------------------------

class Case:
    __slots__ = ("name", "prog", "kind", "must", "line", "today", "status", "what")

    def __repr__(self):
        return "%s %s" % (self.prog, self.name)


def load_manifest(path=MANIFEST, strict=True):
    """The cases of cases.txt, in order; each row is
    case prog kind must_checks must_guard_all line today_plain today_checks
    today_guard_all status, then `#` and what the case does. status must be
    what the musts and today's columns give (pending-21 or met)."""
    cases = []
    with open(path) as fh:
        rows = fh.readlines()
    for n, raw in enumerate(rows, 1):
        line, _, what = raw.partition("#")
        f = line.split()
        if not f:
            continue
        if len(f) != 10:
            raise SystemExit("%s:%d: 10 columns expected, found %d" % (path, n, len(f)))
        c = Case()
        c.name, c.prog, c.kind = f[0], f[1], f[2]
        c.must = {"checks": f[3], "guard_all": f[4]}
        c.line = f[5] == "yes"
        c.today = dict(zip(MODES, f[6:9]))
        c.status = f[9]
        c.what = what.strip()
        bad = [v for v in c.must.values() if v not in MUSTS]
        bad += [v for v in c.today.values() if v not in RANKS]
        if c.prog not in SOURCES or c.kind not in KINDS or f[5] not in ("yes", "no") or bad:
            raise SystemExit("%s:%d: bad row: %s" % (path, n, line.strip()))
        if strict and c.status != status(c.must, c.line, c.today):
            raise SystemExit("%s:%d: %s: status %s, but its musts and today's columns make it "
                             "%s" % (path, n, c.name, c.status, status(c.must, c.line, c.today)))
        cases.append(c)
    return cases


def write_manifest_today(today, path=MANIFEST):
    """Rewrites the today columns of cases.txt (case name -> mode -> result),
    keeping the other columns, the comments and the alignment."""
    out = []
    with open(path) as fh:
        rows = fh.readlines()
    for raw in rows:
        line, sep, what = raw.rstrip("\n").partition("#")
        f = line.split()
        if len(f) == 10 and f[0] in today:
            f[6:9] = [today[f[0]].get(m, f[6 + i]) for i, m in enumerate(MODES)]
            f[9] = status({"checks": f[3], "guard_all": f[4]}, f[5] == "yes",
                          dict(zip(MODES, f[6:9])))
            line = "%-24s %-10s %-13s %-7s %-9s %-4s %-11s %-11s %-11s %-10s " % tuple(f)
        out.append(line + sep + what)
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")


def access_lines(prog):
    """{at_ function: line numbers marked ACCESS in its body} of the
    program's source (a function's body runs from its definition, the line
    `AT ... at_name(...) {`, to the next definition)."""
    out, fn = {}, None
    with open(os.path.join(CORPUS, SOURCES[prog])) as fh:
        for n, line in enumerate(fh, 1):
            m = re.match(r"^AT .*\b(at_\w+)\(.*\{", line)
            if m:
                fn = m.group(1)
            if "ACCESS" in line and fn:
                out.setdefault(fn, set()).add(n)
    return out


# ---- running and reading ---------------------------------------------------

def locate(build):
    lib = os.environ.get("MEMTYPE_LIB_PATH") or os.path.join(build, "lib", "libmemtype.so")
    bins = os.environ.get("MEMTYPE_BUGS_DIR") or os.path.join(build, "bin")
    return os.path.abspath(lib), os.path.abspath(bins)


def run(lib, bins, prog, case, variant, mode, extra_env=None):
    env = clean_env()
    env.update({"LD_PRELOAD": lib, "MEMTYPE_OUTPUT": "off"})
    env.update(MODES[mode])
    env.update(extra_env or {})
    try:
        r = subprocess.run([os.path.join(bins, prog), case, variant], env=env,
                           capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        return "timeout", e.stdout or "", e.stderr or ""


FRAME = re.compile(r"^    #\d+ (?:0x[0-9a-f]+ in )?(.*)$")


def reports(stderr):
    """(kind, headline, detected-at frames) of each `memtype: ERROR:` block."""
    out = []
    lines = stderr.splitlines()
    for i, l in enumerate(lines):
        m = re.match(r"^memtype: ERROR: (\S+)", l)
        if not m:
            continue
        frames = []
        j = i + 1
        while j < len(lines) and not lines[j].startswith("memtype: ERROR:"):
            if lines[j] == "  detected at:":
                j += 1
                while j < len(lines) and FRAME.match(lines[j]):
                    frames.append(FRAME.match(lines[j]).group(1))
                    j += 1
                break
            j += 1
        out.append((m.group(1), l, frames))
    return out


def first_own_frame(frames, prog):
    """The function of the first frame in the program itself (its module
    name, or its source file, in the trailing parentheses), and that frame."""
    src = SOURCES[prog]
    for f in frames:
        where = re.search(r"\(([^()]*)\)\s*$", f)
        fn = re.split(r"[+ (]", f, 1)[0]
        # A frame's line may be a header's, where libc inlined a wrapper
        # into the program's function: "at_getline+0x11 (stdio.h:120)".
        if where and (where.group(1) == prog or src + ":" in where.group(1)
                      or fn in defined_functions(prog)):
            return fn, f
    return None, None


_DEFINED = {}


def defined_functions(prog):
    """The names of the functions the program's source defines."""
    if prog not in _DEFINED:
        with open(os.path.join(CORPUS, SOURCES[prog])) as fh:
            _DEFINED[prog] = set(re.findall(r"(?m)^[A-Za-z][\w\s*:]*?\b(\w+)\(", fh.read())) - {"if", "for", "while", "switch", "return", "sizeof"}
    return _DEFINED[prog]


def classify(case, rc, stdout, stderr):
    """(result, detail, line named) of a buggy run."""
    if case.kind == "leak":
        leaks = [l for l in stderr.splitlines() if l.startswith("memtype: LEAK: ")]
        if leaks:
            return "later", leaks[0][len("memtype: LEAK: "):], False
        errs = reports(stderr)
        if errs:
            return "wrong", errs[0][0], False
        return "missed", "", False
    best = None
    for kind, headline, frames in reports(stderr):
        fn, frame = first_own_frame(frames, case.prog)
        at = bool(fn and fn.startswith("at_"))
        right = kind in KINDS[case.kind] or (kind == "wild-access" and (
            (case.kind == "overflow" and " after " in headline) or
            (case.kind == "underflow" and " before " in headline)))
        if not right:
            cand = ("wrong", kind + (" at the access" if at else ""), False)
        else:
            src = SOURCES[case.prog]
            named = at and any(re.search(r"\b%s:%d\b" % (re.escape(src), n), frame)
                               for n in access_lines(case.prog).get(fn, ()))
            cand = ("access" if at else "later", "%s in %s" % (kind, fn or "?"), named)
        if best is None or RESULTS.index(cand[0]) > RESULTS.index(best[0]):
            best = cand
    if best:
        return best
    if rc != 0:
        return "missed", "no report; exit %s" % rc, False
    return "missed", "", False


def clean(rc, stdout, stderr):
    """A look-alike's run is clean: done, status 0, nothing on stderr."""
    return rc == 0 and stdout == "done\n" and stderr == ""


def programs_cases(bins):
    out = {}
    for prog in SOURCES:
        try:
            r = subprocess.run([os.path.join(bins, prog), "--list"], capture_output=True,
                               text=True, env=clean_env())
            out[prog] = r.stdout.split()
        except OSError as e:
            print("%s: %s" % (prog, e))
            out[prog] = []
    return out


def offline_line(case, mode, lib, bins, cmd, extra_env=None):
    """Runs a buggy case again with a dump: does `memtype report --errors`
    (symbolized offline) name the access's line in the first error's stack?"""
    tmp = tempfile.mkdtemp(prefix="memtype-corpus.")
    try:
        run(lib, bins, case.prog, case.name, "bad", mode,
            dict(case_env(case, mode, extra_env), MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd")))
        dumps = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".mtd")]
        if len(dumps) != 1:
            return False
        r = subprocess.run([cmd, "report", "--errors", dumps[0]], capture_output=True,
                           text=True, env=clean_env(), timeout=120)
        first = r.stdout.split("\n#2 ")[0]
        lines = access_lines(case.prog)
        src = re.escape(SOURCES[case.prog])
        return any(int(n) in lines.get(fn, ())
                   for fn, n in re.findall(r"#\d+ (at_\w+) \(%s:(\d+)\)" % src, first))
    finally:
        shutil.rmtree(tmp, True)


def measure(cases, modes, lib, bins, extra_env=None, variants=("bad", "ok"), jobs=2,
            offline_cmd=None):
    """{(case name, mode, variant): (result or clean?, detail, line named)};
    with offline_cmd (the memtype command), also {(case name, mode,
    "offline"): line named by memtype report} of the runs caught at the
    access."""
    def one(key):
        c, mode, variant = key
        if variant == "offline":
            return key, offline_line(c, mode, lib, bins, offline_cmd, extra_env)
        rc, out, err = run(lib, bins, c.prog, c.name, variant, mode, case_env(c, mode, extra_env))
        if variant == "ok":
            ok = clean(rc, out, err)
            why = "" if ok else "exit %s, stdout %r, stderr: %s" % (
                rc, out, (err.strip().splitlines() or [""])[0][:120])
            return key, (ok, why, False)
        return key, classify(c, rc, out, err)
    keys = [(c, m, v) for c in cases for m in modes for v in variants]
    res = {}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for (c, m, v), val in pool.map(one, keys):
            res[(c.name, m, v)] = val
    if offline_cmd:
        keys = [(c, m, "offline") for c in cases for m in modes
                if c.kind != "leak" and res.get((c.name, m, "bad"), ("",))[0] == "access"]
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            for (c, m, v), val in pool.map(one, keys):
                res[(c.name, m, v)] = val
    return res


def word(res):
    """A buggy run's result as cases.txt records it."""
    return "access+line" if res[0] == "access" and res[2] else res[0]


def meets(must, result, line_required):
    """Does a result (a RANKS word) do what issue 21 requires?"""
    if must == "-":
        return True
    if must == "caught":
        return result in ("later", "access", "access+line")
    return result == "access+line" or (result == "access" and not line_required)


def status(must, line_required, today):
    """pending-21 when a mode does less than issue 21 requires, else met."""
    return "met" if all(meets(must[m], today[m], line_required) for m in must) else "pending-21"


# ---- the matrix --------------------------------------------------------------

def cell(res):
    result, detail, named = res
    if result == "access":
        return "access+line" if named else "access"
    if result == "wrong":
        return "wrong (%s)" % detail
    return result


def matrix(cases, modes, res):
    """The rows of the table, and the figures under it."""
    rows, pending, false = [], [], []
    for c in cases:
        row = [c.name, c.prog, c.kind, c.must["checks"], c.must["guard_all"],
               "yes" if c.line else "no"]
        for m in modes:
            r = res[(c.name, m, "bad")]
            mark = ""
            if m in c.must and not meets(c.must[m], word(r), c.line):
                mark = " [pending-21]"
                pending.append((c.name, m))
            ok = res.get((c.name, m, "ok"))
            if ok and not ok[0]:
                mark += " [FALSE REPORT]"
                false.append((c.name, m, ok[1]))
            if res.get((c.name, m, "offline")) and not r[2]:
                mark = " (line in memtype report)" + mark
            row.append(cell(r) + mark)
        rows.append(row)
    return rows, pending, false


def counts(cases, modes, res):
    out = {}
    for m in modes:
        n = {k: 0 for k in RESULTS}
        lines = 0
        for c in cases:
            r = res[(c.name, m, "bad")]
            n[r[0]] += 1
            lines += r[2]
        n["line"] = lines
        n["offline"] = sum(1 for c in cases if res.get((c.name, m, "offline")))
        n["false"] = sum(1 for c in cases if (c.name, m, "ok") in res and not res[(c.name, m, "ok")][0])
        n["lookalikes"] = sum(1 for c in cases if (c.name, m, "ok") in res)
        out[m] = n
    return out


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    return "\n".join([fmt % tuple(header), fmt % tuple("-" * w for w in widths)] +
                     [fmt % tuple(r) for r in rows])


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


HEADER = ["case", "prog", "kind", "must checks", "must guard_all", "line"]


def render(cases, modes, res, command, markdown):
    rows, pending, false = matrix(cases, modes, res)
    n = counts(cases, modes, res)
    header = HEADER + list(modes)
    offline = any(k[2] == "offline" for k in res)
    summary = [[m, n[m]["access"], n[m]["line"]] + ([n[m]["offline"]] if offline else []) +
               [n[m]["later"], n[m]["wrong"], n[m]["missed"],
                "%d of %d" % (n[m]["false"], n[m]["lookalikes"])] for m in modes]
    sh = ["mode", "at the access", "line on stderr"] + (
        ["line in memtype report"] if offline else []) + [
        "later", "wrong kind", "missed", "false reports (look-alikes)"]
    pend_by_mode = {m: sum(1 for _, pm in pending if pm == m) for m in modes}
    # pending only because the report does not name the access's line
    line_only = sum(1 for c in cases for m in modes if (c.name, m) in pending and
                    res[(c.name, m, "bad")][0] == "access")
    pend_cases = len({c for c, _ in pending})
    if not markdown:
        return "\n\n".join([table(header, rows), table(sh, summary),
                            "pending-21: %d case-mode pairs (%d cases) that issue 21 requires and "
                            "memtype does not do yet: %s; %d of them caught at the access, only "
                            "without the source line" % (
                                len(pending), pend_cases,
                                ", ".join("%s %d" % (m, k) for m, k in pend_by_mode.items()),
                                line_only),
                            "false reports: %d%s" % (len(false), "".join(
                                "\n  %s %s: %s" % f for f in false))])
    return TEMPLATE.format(
        command=command, ncases=len(cases),
        nc=sum(1 for c in cases if c.prog == "corpus"),
        ncxx=sum(1 for c in cases if c.prog == "corpus_cxx"),
        summary=md_table(sh, summary), npending=len(pending), npcases=pend_cases,
        pend_by_mode=", ".join("%s %d" % (m, k) for m, k in pend_by_mode.items()),
        nfalse=len(false), line_only=line_only,
        matrix=md_table(header + ["what the buggy run does"],
                        [[("`%s`" % x if i == 0 else x) for i, x in enumerate(r)] + [c.what]
                         for r, c in zip(rows, cases)]))


TEMPLATE = """# The bug corpus: what each mode catches today

Produced by (regenerate it the same way after a change to a detector):

```sh
{command}
```

[tests/bugs/corpus/](../tests/bugs/corpus/) holds {ncases} cases ({nc} in C,
`corpus.c`; {ncxx} in C++, `corpus_cxx.cc`): each commits one heap bug
(`corpus CASE bad`) or runs its correct look-alike (`corpus CASE ok`: the same
blocks, allocated, resized and freed the same way, the access in bounds).
[cases.txt](../tests/bugs/corpus/cases.txt) says for each case its kind, what
issue 21 requires of the checks mode and of `MEMTYPE_GUARD='*'`, and what they
do today. [corpus.py](../tests/bugs/corpus.py) runs every case in three modes
through `LD_PRELOAD` of the built library:

| mode | environment |
|---|---|
| plain | none (types and stats) |
| checks | `MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1` (no guard pages) |
| guard_all | `MEMTYPE_GUARD='*' MEMTYPE_GUARD_COST=100 MEMTYPE_GUARD_RSS=0` (every block guarded, whatever it costs, so the result does not depend on the machine's speed) |

and reads memtype's stderr. A buggy run is **access** (reported with the
case's kind, and the report's first frame in the program is the function that
made the access, or that called the libc function that did), **later**
(reported with the case's kind when the block was freed or resized, at exit,
or by the leak scan), **wrong** (reported as another kind, shown in
parentheses), or **missed**; **+line** when the report also names the
access's source line (`corpus.c:N`) on stderr. With `--offline-lines`, each
report made at the access is made again with a dump, and the column "line in
memtype report" counts those whose `memtype report --errors` (symbolized
offline) names the line; such cells say `(line in memtype report)` when stderr
does not. A look-alike must print `done`,
exit 0 and write nothing on stderr; anything else is a **false report**.

## Summary

{summary}

**pending-21: {npending} case-mode pairs ({npcases} cases)** that issue 21
requires and memtype does not do yet ({pend_by_mode}); {line_only} of them are
caught at the access already, only without the source line on stderr. They are marked
`[pending-21]` below and in the status column of cases.txt, and are not
registered as failing tests. False reports on
the look-alikes: **{nfalse}**.

"must" is what issue 21 requires: `caught` (at the access or later, with the
right kind), `access` (at the access, with the right kind, and the source line
where `line` says yes), `-` nothing. The tests (CTest, label `corpus`):
`corpus_lookalikes_<mode>` (no false report, every look-alike, each mode),
`corpus_caught_<mode>` (each case caught today, as cases.txt records it, is
still caught at least as well: at the access stays at the access, the right
kind stays right, a named line stays named), `corpus_manifest` (cases.txt
lists exactly the cases the programs have) and `corpus_harness` (the reading
of stderr, on report blocks it is fed, including ones that name the line).

To see `corpus_caught_<mode>` catch a broken detector, turn one off under it:
`python3 tests/bugs/corpus.py --check caught --mode checks --env MEMTYPE_REDZONE=0`
fails and lists the cases that flipped.

## The matrix

{matrix}
"""


# ---- the checks CTest runs -------------------------------------------------

def check(what, modes, lib, bins, extra_env):
    cases = load_manifest()
    if what == "manifest":
        have = programs_cases(bins)
        listed = {p: [c.name for c in cases if c.prog == p] for p in SOURCES}
        bad = False
        for p in SOURCES:
            missing = sorted(set(have[p]) - set(listed[p]))
            extra = sorted(set(listed[p]) - set(have[p]))
            if missing or extra or not have[p]:
                print("%s: not in cases.txt: %s; in cases.txt, not in the program: %s" % (
                    p, missing, extra))
                bad = True
        print("%d cases, %s" % (len(cases), "MISMATCH" if bad else "cases.txt matches the programs"))
        return 1 if bad else 0
    fails = []
    if what == "lookalikes":
        res = measure(cases, modes, lib, bins, extra_env, variants=("ok",))
        for (name, m, _), (ok, why, _) in sorted(res.items()):
            if not ok:
                fails.append("%s %s: false report: %s" % (name, m, why))
        print("%d look-alikes x %d modes, %d false reports" % (len(cases), len(modes), len(fails)))
    else:
        res = measure(cases, modes, lib, bins, extra_env, variants=("bad",))
        held = 0
        for c in cases:
            for m in modes:
                want = c.today[m]
                got = res[(c.name, m, "bad")]
                if want == "missed":
                    continue
                held += 1
                if RANKS.index(word(got)) < RANKS.index(want):
                    fails.append("%s %s: caught %s in cases.txt, now %s (%s)" % (
                        c.name, m, want, word(got), got[1]))
        print("%d case-mode pairs caught today (cases.txt), %d no longer caught as well" % (
            held, len(fails)))
    for f in fails:
        print("FAIL " + f)
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="the build tree (default build)")
    ap.add_argument("--mode", action="append", choices=list(MODES),
                    help="only this mode (repeatable; default all)")
    ap.add_argument("--case", help="only the cases whose name matches this regex")
    ap.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                    help="added to every run after the mode's variables (to see cases flip)")
    ap.add_argument("--check", choices=("lookalikes", "caught", "manifest"))
    ap.add_argument("--write", metavar="FILE", help="write the matrix as markdown")
    ap.add_argument("--update-manifest", action="store_true",
                    help="record this run's results as today's columns of cases.txt")
    ap.add_argument("--offline-lines", action="store_true",
                    help="for the runs caught at the access, also see whether `memtype report "
                         "--errors` on the dump names the line (one more run each)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    a = ap.parse_args()
    lib, bins = locate(a.build)
    modes = a.mode or list(MODES)
    extra = dict(kv.split("=", 1) for kv in a.env)
    if a.check:
        return check(a.check, modes, lib, bins, extra)
    cases = [c for c in load_manifest(strict=not a.update_manifest)
             if not a.case or re.search(a.case, c.name)]
    cmd = os.environ.get("MEMTYPE_CMD") or os.path.abspath(os.path.join(a.build, "bin", "memtype"))
    res = measure(cases, modes, lib, bins, extra, jobs=a.jobs,
                  offline_cmd=cmd if a.offline_lines else None)
    command = "python3 tests/bugs/corpus.py" + "".join(" " + x for x in sys.argv[1:])
    print(render(cases, modes, res, command, False))
    if a.write:
        with open(a.write, "w") as fh:
            fh.write(render(cases, modes, res, command, True))
    if a.update_manifest:
        write_manifest_today({c.name: {m: word(res[(c.name, m, "bad")]) for m in modes}
                              for c in cases})
    return 0


if __name__ == "__main__":
    sys.exit(main())
