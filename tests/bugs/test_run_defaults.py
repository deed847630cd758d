"""`memtype run -- PROG` with no flag finds the bugs (issue 22, points 1 and 2):
many_bugs.c and many_bugs_cxx.cc hold a leak, a one-byte overflow write and
read, a one-byte write into the slack before a guard page, a use-after-free
read and write and a double free. One run must report every one, each block
once, the program going on to its end; each report on stderr names the
source line of the allocation and of the free and, for an access the guard
pages catch, of the access itself (the write into the slack is found when
the block is freed: its line is the free's, the access's is unknown); C++
names demangled. The end of the run repeats them symbolized, then the
leaks with their stacks, then the summary. The correct look-alikes (the same
functions, no bug) report nothing."""
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "py"))
from mtenv import CMD, LIB, clean_env, scratch  # noqa: E402

BIN = os.environ.get("MEMTYPE_BUGS_DIR", "build/bin")
RULE = "=" * 65

# bug -> (headline after "memtype: ERROR: ", where it is detected: the
# access's own line, or DETECT (the free that finds it), and whether the
# report has a free stack)
BUGS = {
    "overflow_write": ("heap-buffer-overflow WRITE", "ACCESS", False),
    "overflow_read": ("heap-buffer-overflow READ", "ACCESS", False),
    # 24 bytes end flush with their guard page: no slack hides the byte after
    "overflow_slack": ("heap-buffer-overflow WRITE", "ACCESS", False),
    "uaf_read": ("use-after-free READ", "ACCESS", True),
    "uaf_write": ("use-after-free WRITE", "ACCESS", True),
    "double_free": ("double-free", "ACCESS", True),
}


def marks(src):
    """{(MARK, bug): line} of the lines marked `ALLOC bug`, `FREE bug`, ... ."""
    out = {}
    with open(os.path.join(HERE, src)) as fh:
        for n, line in enumerate(fh, 1):
            m = re.search(r"(?://|/\*) (ALLOC|FREE|ACCESS|DETECT) (\w+)", line)
            if m:
                out[(m.group(1), m.group(2))] = n
    return out


def run(prog, variant, *flags, env=None):
    e = clean_env()
    e.update(env or {})
    return subprocess.run([CMD, "run", *flags, "--", os.path.join(BIN, prog), variant],
                          env=e, capture_output=True, text=True, timeout=300, cwd=scratch("mtrd."))


def reports(stderr):
    """The error reports memtype printed while the program ran: {function of
    frame #0 of `detected at`: (headline, {section: (function, file, line) of
    its frame #0})}."""
    out = {}
    for block in stderr.split(RULE + "\n"):
        m = re.match(r"memtype: ERROR: (.*?) at 0x", block)
        if not m:
            continue
        sections = {}
        for title, frame in re.findall(r"(?m)^  (detected at|block allocated at|block freed at):"
                                       r"\n    #0 0x[0-9a-f]+ in (.*)$", block):
            f = re.match(r"(.*)\+0x[0-9a-f]+ \((\S+?):(\d+)\)$", frame)
            sections[title] = (f.group(1), f.group(2), int(f.group(3))) if f else (frame, None, 0)
        out[sections["detected at"][0]] = (m.group(1), sections)
    return out


def end_reports(stderr):
    """The symbolized reports printed at the end of the run: {n: (headline,
    {"": frame #0 of where it was detected, "allocated at": ..., "freed at":
    ...} as "function (file:line)")}."""
    out = {}
    for m in re.finditer(r"(?m)^#(\d+) (.*?) at 0x[0-9a-f]+ .*\n((?:  .*\n)*)", stderr):
        sections, title = {}, ""
        for line in m.group(3).splitlines():
            t = re.match(r"^  (allocated at|freed at):$", line)
            if t:
                title = t.group(1)
            elif re.match(r"^    #0 ", line):
                sections[title] = line[len("    #0 "):]
        out[int(m.group(1))] = (m.group(2), sections)
    return out


class FindsEveryBug(unittest.TestCase):
    def check(self, prog, src, name):
        """name(bug): the function's name as the report shows it."""
        lines = marks(src)
        r = run(prog, "bad")
        err = r.stderr
        # one run, to the end: the program's own output and exit status
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), err)
        self.assertNotIn("_ZN", err)  # demangled everywhere
        got = reports(err)
        self.assertEqual(err.count("memtype: ERROR: "), len(BUGS), err)  # each block once
        for bug, (headline, where, freed) in BUGS.items():
            func = name(bug)
            self.assertIn(func, got, "%s: no report detected in %s\n%s" % (bug, func, err))
            head, sec = got[func]
            self.assertEqual(head, headline, bug)
            self.assertEqual(sec["detected at"], (func, src, lines[(where, bug)]), bug)
            self.assertEqual(sec["block allocated at"], (func, src, lines[("ALLOC", bug)]), bug)
            if freed:
                self.assertEqual(sec["block freed at"], (func, src, lines[("FREE", bug)]), bug)
            else:
                self.assertNotIn("block freed at", sec, bug)
        # the leak, on stderr as the program ends, then at the end of the run
        # with its allocation stack
        self.assertRegex(err, r"(?m)^memtype: LEAK: 16 bytes in 1 block is definitely lost, "
                              r"type %s\+0x" % re.escape(name("make")))
        leak = re.search(r"(?m)^memtype: leaks of .*\n1\. 16 bytes in 1 block is definitely "
                         r"lost, .*\n    #0 (.*)\n", err)
        self.assertTrue(leak, err)
        self.assertEqual(leak.group(1), "%s (%s:%d)" % (name("make"), src, lines[("ALLOC", "leak")]))
        # the end of the run: the same errors symbolized, in order, then the
        # leaks, then the summary
        ends = end_reports(err)
        self.assertEqual(len(ends), len(BUGS), err)
        for n, (bug, (headline, where, freed)) in enumerate(BUGS.items(), 1):
            head, sec = ends[n]
            func = name(bug)
            self.assertEqual(head, headline, bug)
            # (a fault's frame #0 says it is the faulting instruction)
            self.assertEqual(sec[""].replace(" (the faulting instruction)", ""),
                             "%s (%s:%d)" % (func, src, lines[(where, bug)]), bug)
            self.assertEqual(sec["allocated at"], "%s (%s:%d)" % (func, src, lines[("ALLOC", bug)]))
            if freed:
                self.assertEqual(sec["freed at"], "%s (%s:%d)" % (func, src, lines[("FREE", bug)]))
        tail = err[err.index("memtype: %d heap errors in " % len(BUGS)):]
        self.assertLess(tail.index("memtype: leaks of "), tail.index("memtype: run summary: "))
        self.assertRegex(tail, r"(?m)^memtype: run summary: 1 process \(%s\); %d heap errors; "
                               r"leaks: definitely lost 16 bytes in 1 blocks$" % (prog, len(BUGS)))
        self.assertRegex(tail, r"(?m)^memtype: ended: %s \(pid \d+\) exit status 0$" % prog)

    def test_c_program_every_bug_in_one_run_with_its_lines(self):
        self.check("many_bugs", "many_bugs.c",
                   lambda bug: "make_name" if bug == "make" else bug)

    def test_cxx_program_every_bug_in_one_run_with_its_lines_demangled(self):
        self.check("many_bugs_cxx", "many_bugs_cxx.cc",
                   lambda bug: "shop::Basket::make_item(int)" if bug == "make"
                   else "shop::Basket::%s(bool)" % bug)


class LookAlikes(unittest.TestCase):
    def test_the_correct_programs_report_nothing(self):
        for prog in ("many_bugs", "many_bugs_cxx"):
            with self.subTest(prog=prog):
                r = run(prog, "ok")
                self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
                for word in ("memtype: ERROR", "memtype: LEAK", "memtype: warning", RULE):
                    self.assertNotIn(word, r.stderr)
                self.assertRegex(r.stderr, r"(?m)^memtype: run summary: 1 process \(%s\); "
                                           r"0 heap errors; no leaks$" % prog)


class Modes(unittest.TestCase):
    SHOW = ["/bin/sh", "-c", "env | grep ^MEMTYPE_ | sort"]

    def env_of(self, *flags, env=None):
        e = clean_env()
        e.update(env or {})
        r = subprocess.run([CMD, "run", "--output", "off", *flags, "--", *self.SHOW], env=e,
                           capture_output=True, text=True, timeout=120, cwd=scratch("mtrd."))
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict(line.split("=", 1) for line in r.stdout.splitlines())

    def test_the_default_mode_finds_bugs(self):
        got = self.env_of()
        for k, v in (("MEMTYPE_TRASH", "1"), ("MEMTYPE_REDZONE", "1"), ("MEMTYPE_GUARD", "*"),
                     ("MEMTYPE_LEAKS", "1"), ("MEMTYPE_STACK_DEPTH", "16"),
                     ("MEMTYPE_ON_ERROR", "continue"), ("MEMTYPE_BYPASS_POOLS", "1")):
            self.assertEqual(got.get(k), v, k)
        self.assertNotIn("MEMTYPE_STATS", got)

    def test_profile_is_types_and_statistics_only(self):
        got = self.env_of("--profile")
        self.assertEqual(got.get("MEMTYPE_STATS"), "1")
        for k in ("MEMTYPE_TRASH", "MEMTYPE_REDZONE", "MEMTYPE_GUARD", "MEMTYPE_ON_ERROR",
                  "MEMTYPE_STACK_DEPTH", "MEMTYPE_BYPASS_POOLS"):
            self.assertNotIn(k, got)

    def test_the_users_flags_and_environment_win(self):
        got = self.env_of("--guard", "mine*", "--trash", "0", env={"MEMTYPE_ON_ERROR": "abort"})
        self.assertEqual((got["MEMTYPE_GUARD"], got["MEMTYPE_TRASH"], got["MEMTYPE_ON_ERROR"]),
                         ("mine*", "0", "abort"))
        self.assertEqual(got["MEMTYPE_REDZONE"], "1")

    def test_profile_does_not_look_for_overflows(self):
        # the same buggy program, profiled: no checks, no guard pages; the
        # double free (checked in every mode) stops it as plain LD_PRELOAD does
        r = run("many_bugs", "bad", "--profile")
        self.assertEqual(r.returncode, -6, r.stderr)
        self.assertEqual(re.findall(r"(?m)^memtype: ERROR: (\S+)", r.stderr), ["double-free"])


class Pools(unittest.TestCase):
    """The pools programs keep inside malloc's blocks (CPython's pymalloc,
    GLib's slices) are bypassed under `memtype run` (MEMTYPE_BYPASS_POOLS):
    a read past a 10-byte object from either is reported at the access; with
    --bypass-pools 0, or the user's own PYTHONMALLOC, it is not seen."""
    PY = "/usr/bin/python3"

    def pools(self, mode, *flags, env=None):
        e = clean_env()
        e.update(env or {})
        r = subprocess.run([CMD, "run", *flags, "--", self.PY, os.path.join(HERE, "pools.py"),
                            mode], env=e, capture_output=True, text=True, timeout=300,
                           cwd=scratch("mtrd."))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def headlines(self, r):
        return re.findall(r"(?m)^memtype: ERROR: (\S+ \S+)", r.stderr)

    def test_an_overflow_inside_a_pool_is_reported_at_the_access(self):
        for pool, lib in (("pymalloc", None), ("gslice", "libglib-2.0.so.0")):
            if lib and not any(os.path.exists(os.path.join(d, lib)) for d in
                               ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu")):
                self.skipTest(lib + " is not installed (Debian package libglib2.0-0)")
            r = self.pools(pool + "_read")
            self.assertEqual(r.stdout, "12\n")
            self.assertEqual(self.headlines(r), ["heap-buffer-overflow READ"], r.stderr)
            self.assertIn("1 heap error", r.stderr)
            r = self.pools(pool + "_ok")
            self.assertEqual((r.stdout, self.headlines(r)), ("10\n", []), r.stderr)
            r = self.pools(pool + "_read", "--bypass-pools", "0")
            self.assertEqual((r.stdout, self.headlines(r)), ("12\n", []), r.stderr)

    def test_the_switches_are_set_before_the_libraries_constructors_read_them(self):
        # GLib reads G_SLICE in its first g_slice_alloc, made by GObject's
        # constructor; a preloaded library's constructor runs after it
        e = clean_env()
        r = subprocess.run([CMD, "run", "--output", "off", "--", os.path.join(BIN, "pool_env")],
                           env=e, capture_output=True, text=True, timeout=120,
                           cwd=scratch("mtrd."))
        self.assertEqual(r.stdout, "constructor: G_SLICE=always-malloc\n"
                                   "main: malloc always-malloc 0 1 1\n", r.stderr)
        r = subprocess.run([CMD, "run", "--output", "off", "--bypass-pools", "0", "--",
                            os.path.join(BIN, "pool_env")], env=e, capture_output=True,
                           text=True, timeout=120, cwd=scratch("mtrd."))
        self.assertEqual(r.stdout, "constructor: G_SLICE=(unset)\n"
                                   "main: (unset) (unset) (unset) (unset) (unset)\n", r.stderr)
        # plain LD_PRELOAD, the variable alone
        r = subprocess.run([os.path.join(BIN, "pool_env")], capture_output=True, text=True,
                           env=dict(e, LD_PRELOAD=LIB, MEMTYPE_BYPASS_POOLS="1",
                                    MEMTYPE_OUTPUT="off"), timeout=120)
        self.assertEqual(r.stdout.splitlines()[0], "constructor: G_SLICE=always-malloc", r.stderr)

    def test_python_objects_held_by_their_modules_are_not_leaks(self):
        # Under PYTHONMALLOC=malloc every object is a block, and the pointers
        # to an object the garbage collector tracks point past its 16-byte
        # header: valgrind calls them "possibly lost" (91 blocks for these
        # imports), memtype's pyobject heuristic reachable.
        r = subprocess.run([CMD, "run", "--", self.PY, "-c",
                            "import json, asyncio, sqlite3, ssl, re, subprocess"],
                           env=clean_env(), capture_output=True, text=True, timeout=300,
                           cwd=scratch("mtrd."))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("memtype: run summary: 1 process (python3); 0 heap errors; no leaks\n",
                      r.stderr)

    def test_the_users_own_allocator_setting_wins(self):
        r = self.pools("pymalloc_read", env={"PYTHONMALLOC": "pymalloc"})
        self.assertEqual(self.headlines(r), [], r.stderr)
        got = subprocess.run([CMD, "run", "--output", "off", "--", "/bin/sh", "-c",
                              "echo $PYTHONMALLOC $G_SLICE $USE_ZEND_ALLOC"],
                             env=dict(clean_env(), G_SLICE="debug-blocks"), capture_output=True,
                             text=True, timeout=120, cwd=scratch("mtrd."))
        self.assertEqual(got.stdout, "malloc debug-blocks 0\n", got.stderr)


if __name__ == "__main__":
    unittest.main()
