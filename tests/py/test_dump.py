"""The dump written at exit and its readers: a program with three known call
sites gives exactly those figures in the dump and in `memtype report
--types`; damaged files give one clear error line, never a traceback."""
import glob
import os
import re
import struct
import subprocess
import unittest

from mtenv import CMD, LIB, clean_env, scratch  # noqa: E402  (also puts report/ on sys.path)
from memtype_report import dump  # noqa: E402

PROG = os.environ.get("MEMTYPE_THREE_SITES", "build/bin/three_sites")


def cells(words):
    """InUse, MemUse, Requests, Size(s) of a table row's words (HighUse and
    Waste left out)."""
    return [words[-6], words[-5], words[-2], words[-1]]


def high_use_k(words):
    """HighUse in KiB (a cell under 1 KiB reads "1000B": 0 KiB)."""
    cell = words[-4]
    return 0 if cell.endswith("B") else int(cell.rstrip("K"))


def run_for_dump(tmp, extra_env=None):
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%e.%p.mtd"),
                "MEMTYPE_SKIP": "xmalloc"})
    env.update(extra_env or {})
    r = subprocess.run([PROG], env=env, capture_output=True, text=True)
    files = glob.glob(os.path.join(tmp, "d.three_sites.*.mtd"))
    return r, files


class ThreeSites(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = scratch("memtype-dump-test.")
        cls.run_result, files = run_for_dump(cls.tmp)
        assert len(files) == 1, files
        cls.path = files[0]
        cls.d = dump.load(cls.path)

    def site(self, func):
        from memtype_report import symbolize
        names = symbolize.names(self.d, [t.pcs[0] for t in self.d.types if t.pcs])
        found = [t for t in self.d.types if t.pcs and names[t.pcs[0]].startswith(func + " ")]
        self.assertEqual(len(found), 1, "%s: %s" % (func, [names[t.pcs[0]] for t in self.d.types if t.pcs]))
        return found[0]

    def test_file_is_private_and_whole(self):
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        self.assertEqual(self.d.reason, "exit")
        self.assertTrue(self.d.exe.endswith("three_sites"))
        self.assertEqual(self.d.pid, int(self.path.rsplit(".", 2)[1]))
        self.assertTrue(any(m.path.endswith("libmemtype.so") for m in self.d.modules))
        self.assertTrue(all(len(m.build_id) in (0, 40) for m in self.d.modules))

    def test_three_sites_have_exact_figures(self):
        small, churn, big = self.site("keep_small"), self.site("churn"), self.site("big")
        self.assertEqual((small.allocs, small.frees, small.bytes_alloc), (100, 0, 2400))
        self.assertEqual((churn.allocs, churn.frees, churn.in_use_bytes), (50, 50, 0))
        self.assertEqual(churn.bytes_alloc, 50000)
        self.assertEqual((big.allocs, big.frees, big.in_use_bytes), (10, 5, 200000))
        self.assertEqual(self.d.class_names(small.classes), ["32"])
        self.assertEqual(self.d.class_names(big.classes), ["pages"])

    def test_deeper_types_carry_their_callers(self):
        tmp = scratch("memtype-dump-test.")
        _, files = run_for_dump(tmp, {"MEMTYPE_DEPTH": "3"})
        d = dump.load(files[0])
        self.assertEqual(d.depth, 3)
        r = subprocess.run([CMD, "report", "--types", files[0]], capture_output=True, text=True)
        rows = [l for l in r.stdout.splitlines() if l.startswith("churn (three_sites.c:")]
        self.assertEqual(len(rows), 1, r.stdout)
        self.assertRegex(rows[0], r"^churn \(three_sites\.c:\d+\) < main \(three_sites\.c:\d+\) ")
        self.assertEqual(cells(rows[0].split()), ["0", "0K", "50", "1024"])
        deep = [t for t in d.types if len(t.pcs) == 3]
        self.assertGreaterEqual(len(deep), 3)

    def test_naming_rules_group_sites_by_function_and_module(self):
        tmp = scratch("memtype-dump-test.")
        _, files = run_for_dump(tmp, {"MEMTYPE_SKIP": "",
                                      "MEMTYPE_TYPES": "wrapped=xmalloc;program=*three_sites"})
        d = dump.load(files[0])
        named = {t.name: t for t in d.types if t.name}
        self.assertEqual(sorted(named), ["program", "wrapped"])
        self.assertEqual((named["wrapped"].allocs, named["wrapped"].bytes_alloc), (50, 50000))
        self.assertEqual(named["program"].allocs, 110)  # keep_small 100 + big 10
        r = subprocess.run([CMD, "report", "--types", files[0]], capture_output=True, text=True)
        self.assertRegex(r.stdout, r"\nprogram +105 +198K +\d+K +\d+K +110  32,pages\n")

    def test_malformed_naming_rule_stops_the_program(self):
        tmp = scratch("memtype-dump-test.")
        r, files = run_for_dump(tmp, {"MEMTYPE_TYPES": "novalue"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("memtype: error: MEMTYPE_TYPES=novalue: rule 1 is not name=glob", r.stderr)
        self.assertEqual(files, [])

    def test_without_skip_the_wrapper_is_the_type(self):
        tmp = scratch("memtype-dump-test.")
        _, files = run_for_dump(tmp, {"MEMTYPE_SKIP": ""})
        r = subprocess.run([CMD, "report", "--types", files[0]], capture_output=True, text=True)
        funcs = [l.split(" (")[0] for l in r.stdout.splitlines() if "(three_sites.c:" in l]
        self.assertEqual(sorted(funcs), ["big", "keep_small", "xmalloc"])

    def test_report_types_prints_the_table(self):
        r = subprocess.run([CMD, "report", "--types", self.path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[1], r"^Type +InUse +MemUse +HighUse +Waste +Requests +Size\(s\)$")
        rows = {l.split(" (")[0]: l.split() for l in lines[2:] if " (three_sites.c:" in l}
        self.assertEqual(cells(rows["big"]), ["5", "196K", "10", "pages"])
        self.assertEqual(cells(rows["keep_small"]), ["100", "3K", "100", "32"])
        self.assertEqual(cells(rows["churn"]), ["0", "0K", "50", "1024"])
        # HighUse: exact with one thread (1.8), never below MemUse; churn's
        # blocks were freed one by one, so it never held more than one
        self.assertGreaterEqual(high_use_k(rows["big"]), 196)
        self.assertEqual(rows["churn"][-4], "1000B")
        self.assertEqual(high_use_k(rows["keep_small"]), 3)
        # biggest memory in use first
        order = [l.split(" (")[0] for l in lines[2:] if " (three_sites.c:" in l]
        self.assertEqual(order[:2], ["big", "keep_small"])

    def test_two_dumps_merge_by_call_site(self):
        tmp = scratch("memtype-dump-test.")
        run_for_dump(tmp)
        run_for_dump(tmp)
        files = glob.glob(os.path.join(tmp, "*.mtd"))
        r = subprocess.run([CMD, "report", "--types"] + files, capture_output=True, text=True)
        row = [l for l in r.stdout.splitlines() if l.startswith("keep_small (")]
        self.assertEqual(cells(row[0].split()), ["200", "5K", "200", "32"])

    def test_an_existing_file_is_never_overwritten(self):
        tmp = scratch("memtype-dump-test.")
        target = os.path.join(tmp, "fixed.mtd")
        with open(target, "w") as f:
            f.write("precious")
        env = {"MEMTYPE_OUTPUT": target}
        r, _ = run_for_dump(tmp, env)
        self.assertEqual(r.returncode, 0)
        self.assertIn("memtype: warning: cannot create the dump", r.stderr)
        with open(target) as f:
            self.assertEqual(f.read(), "precious")

    def test_a_symlink_planted_at_the_dump_path_is_never_followed(self):
        # A shared directory (/tmp): someone plants a symlink where the dump
        # will go, pointing at a file of the user's. memtype must not write
        # through it, nor fail the program.
        tmp = scratch("memtype-dump-test.")
        victim = os.path.join(tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious")
        link = os.path.join(tmp, "dump.mtd")
        os.symlink(victim, link)
        dangling = os.path.join(tmp, "dangling.mtd")
        os.symlink(os.path.join(tmp, "created-through-the-link"), dangling)
        for path in (link, dangling):
            r, _ = run_for_dump(tmp, {"MEMTYPE_OUTPUT": path})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr.count("memtype: warning: cannot create the dump"), 1, r.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")
        self.assertFalse(os.path.exists(os.path.join(tmp, "created-through-the-link")))

    def test_dumps_are_readable_by_their_owner_only(self):
        tmp = scratch("memtype-dump-test.")
        old = os.umask(0)  # even with a permissive umask
        try:
            r, files = run_for_dump(tmp)
        finally:
            os.umask(old)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(files), 1)
        self.assertEqual(os.stat(files[0]).st_mode & 0o777, 0o600)

    def test_unwritable_directory_warns_and_keeps_the_exit_status(self):
        r, _ = run_for_dump(self.tmp, {"MEMTYPE_OUTPUT": "/nonexistent/dir/x.mtd"})
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertIn("memtype: warning: cannot create the dump /nonexistent/dir/x.mtd (No such "
                      "file or directory); no dump written", r.stderr)

    def test_output_off_writes_nothing(self):
        tmp = scratch("memtype-dump-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off"})
        subprocess.run([PROG], env=env, cwd=tmp)
        self.assertEqual(os.listdir(tmp), [])


SIGNALS = os.environ.get("MEMTYPE_SIGNALS", "build/bin/signals")
EXPLICIT = os.environ.get("MEMTYPE_EXPLICIT", "build/bin/explicit_types")


class Modules(unittest.TestCase):
    def test_an_address_past_the_last_modules_image_is_in_no_module(self):
        # A jump into the heap puts a heap address in a stack: it is no module's (it was
        # shown as the executable's, some terabytes in).
        exe = os.path.realpath("/bin/true")
        size = dump.image_size(exe)
        self.assertTrue(size and 4096 < size < 1 << 30, size)
        d = dump.Dump(path="x.mtd", major=1, minor=8, reason="exit", nslots=1)
        d.modules = [dump.Module(0x10000, exe, "")]
        self.assertEqual(d.module_of(0x10000 + 16).path, exe)
        self.assertEqual(d.module_of(0x10000 + size - 1).path, exe)
        self.assertIsNone(d.module_of(0x10000 + size))
        self.assertIsNone(d.module_of(0x7f0000000000))
        self.assertIsNone(d.module_of(0x1000))
        # a module whose file is gone reaches as far as before
        d.modules = [dump.Module(0x10000, "/nonexistent/lib.so", "")]
        self.assertEqual(d.module_of(0x7f0000000000).path, "/nonexistent/lib.so")


class ExplicitTypes(unittest.TestCase):
    def test_named_types_and_pool_accounting_reach_dump_and_report(self):
        tmp = scratch("memtype-explicit-test.")
        env = clean_env()
        env.update({"MEMTYPE_OUTPUT": os.path.join(tmp, "d.mtd"), "LD_PRELOAD": ""})
        r = subprocess.run([EXPLICIT], env=env, capture_output=True, text=True)
        self.assertEqual(r.stdout, "1200 tokens, 19200 arena bytes\n")
        d = dump.load(os.path.join(tmp, "d.mtd"))
        named = {t.name: t for t in d.types if t.name}
        self.assertEqual(sorted(named), ["arena", "token"])
        tok, arena = named["token"], named["arena"]
        self.assertEqual((tok.allocs, tok.frees, tok.bytes_alloc), (1200, 1200, 1200 * 16))
        self.assertEqual(d.class_names(tok.classes), ["16"])
        self.assertEqual((arena.allocs, arena.frees, arena.bytes_alloc, arena.in_use_bytes),
                         (1200, 1200, 19200, 0))
        self.assertEqual(d.class_names(arena.classes), ["pool"])
        self.assertEqual(tok.pcs, [])
        r = subprocess.run([CMD, "report", "--types", os.path.join(tmp, "d.mtd")],
                           capture_output=True, text=True)
        rows = {l.split()[0]: l.split() for l in r.stdout.splitlines()[2:]}
        self.assertEqual(cells(rows["token"]), ["0", "0K", "1200", "16"])
        self.assertEqual(cells(rows["arena"]), ["0", "0K", "1200", "pool"])
        # 1200 tokens were all live at once before the frees: the sampled peak sees most
        self.assertGreaterEqual(high_use_k(rows["token"]), 17)


class Signals(unittest.TestCase):
    def run_mode(self, mode, extra=None):
        tmp = scratch("memtype-sig-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%p.mtd")})
        env.update(extra or {})
        r = subprocess.run([SIGNALS, mode], env=env, capture_output=True, text=True)
        return r, sorted(glob.glob(os.path.join(tmp, "*")))

    def test_fatal_signal_leaves_a_dump_and_the_same_death(self):
        for mode, sig in (("segv", 11), ("abort", 6)):
            with self.subTest(mode=mode):
                r, files = self.run_mode(mode)
                self.assertEqual(r.returncode, -sig)
                self.assertEqual(len(files), 1, files)
                d = dump.load(files[0])
                self.assertEqual((d.reason, d.signal), ("fatal signal", sig))
                self.assertGreaterEqual(sum(t.allocs for t in d.types), 1)

    def test_no_fatal_dump_when_asked_not_to(self):
        r, files = self.run_mode("segv", {"MEMTYPE_DUMP_FATAL": "0"})
        self.assertEqual(r.returncode, -11)
        self.assertEqual(files, [])

    def test_dump_signal_writes_numbered_dumps_and_the_program_goes_on(self):
        r, files = self.run_mode("usr2", {"MEMTYPE_DUMP_SIGNAL": "USR2"})
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "went on\n")
        self.assertEqual([os.path.basename(f).split(".", 2)[2] for f in files],
                         ["mtd", "mtd.1", "mtd.2"])
        first, second, last = dump.load(files[1]), dump.load(files[2]), dump.load(files[0])
        self.assertEqual((first.reason, first.signal), ("dump signal", 12))
        total = [sum(t.bytes_alloc for t in d.types) for d in (first, second, last)]
        # 200 bytes between the signals; 300 (and stdout's buffer) after
        self.assertEqual(total[1] - total[0], 200)
        self.assertGreaterEqual(total[2] - total[1], 300)
        self.assertEqual(last.reason, "exit")

    def test_bad_signal_name_stops_the_program_at_start(self):
        r, files = self.run_mode("usr2", {"MEMTYPE_DUMP_SIGNAL": "NOPE"})
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("memtype: error: MEMTYPE_DUMP_SIGNAL=NOPE: invalid value; accepted: off, "
                      "USR1, USR2, HUP", r.stderr)


STAT_TOOL = os.environ.get("MEMTYPE_STAT_TOOL", "build/bin/memtype-stat")


class CReader(unittest.TestCase):
    """report/c/memtype_stat.c reads what the Python reader reads."""

    def test_c_reader_agrees_with_the_python_reader(self):
        tmp = scratch("memtype-creader-test.")
        _, files = run_for_dump(tmp)
        r = subprocess.run([STAT_TOOL, files[0]], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        d = dump.load(files[0])
        self.assertEqual(lines[0], "pid %d" % d.pid)
        e = d.ending
        self.assertEqual(lines[1], "ending %d %d %d %d" % (
            dump.ENDING_HOW.index(e.how), e.status, e.signal, dump.ENDING_VIA.index(e.via)))
        want = ["%d %s %d %d %d %d" % (t.id, t.name or "-", t.allocs, t.frees, t.bytes_alloc,
                                       t.bytes_freed)
                for t in d.types if t.allocs or t.frees]
        self.assertEqual(lines[2:], want)

    def test_c_reader_survives_damaged_files(self):
        import random
        tmp = scratch("memtype-creader-test.")
        _, files = run_for_dump(tmp)
        with open(files[0], "rb") as f:
            good = f.read()
        rng = random.Random(99)
        bad_path = os.path.join(tmp, "bad.mtd")
        cases = [good[:n] for n in range(0, len(good), 97)]
        for _ in range(150):
            b = bytearray(good)
            for _ in range(rng.randint(1, 6)):
                b[rng.randrange(64, len(b))] = rng.randrange(256)
            cases.append(bytes(b))
        for data in cases:
            with open(bad_path, "wb") as f:
                f.write(data)
            r = subprocess.run([STAT_TOOL, bad_path], capture_output=True, text=True)
            self.assertIn(r.returncode, (0, 2), r.stderr)  # a verdict, never a crash
            if r.returncode == 2:
                self.assertTrue(r.stderr.startswith("memtype-stat: error: "), r.stderr)


FORK_FREES = os.environ.get("MEMTYPE_FORK_FREES", "build/bin/fork_frees")


class ForkedChild(unittest.TestCase):
    """A forked child owns the blocks live in its parent at the fork
    (inherited): freeing them never takes its figures below zero, and the
    parent's and children's dumps merged count each allocation once and each
    process's blocks live (docs/format.md, INHERITED). fork_frees: the parent
    keeps 1000 blocks (keep_block) and frees 400 after the fork; the child
    frees all 1000 and keeps 10 of its own (child_block); the grandchild
    frees those 10."""

    @classmethod
    def setUpClass(cls):
        cls.runs, cls.tmps = {}, []
        for mode, extra in (("default", {}),
                            ("checks", {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"}),
                            ("guard", {"MEMTYPE_GUARD": "*"})):
            tmp = scratch("memtype-fork-test.")
            env = clean_env()
            env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%p.mtd"),
                        "MEMTYPE_STATS": "1", "MEMTYPE_DUMP_CHILDREN": "1"}, **extra)
            r = subprocess.run([FORK_FREES], env=env, capture_output=True, text=True, timeout=120)
            files = sorted(glob.glob(os.path.join(tmp, "d.*.mtd")))
            cls.runs[mode] = (r, files)
            cls.tmps.append(tmp)

    @classmethod
    def tearDownClass(cls):
        import shutil
        for tmp in cls.tmps:
            shutil.rmtree(tmp, ignore_errors=True)

    def procs(self, mode):
        r, files = self.runs[mode]
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertEqual(len(files), 3, r.stderr)
        ds = {d.pid: d for d in map(dump.load, files)}
        parent, = [d for d in ds.values() if d.ppid not in ds]
        child, = [d for d in ds.values() if d.ppid == parent.pid]
        grand, = [d for d in ds.values() if d.ppid == child.pid]
        return r, parent, child, grand

    def site(self, d, func):
        from memtype_report import symbolize
        names = symbolize.names(d, [t.pcs[0] for t in d.types if t.pcs])
        found = [t for t in d.types if t.pcs and names[t.pcs[0]].startswith(func + " ")]
        self.assertEqual(len(found), 1, found)
        return found[0]

    def test_the_child_owns_what_it_inherited(self):
        for mode in self.runs:
            r, parent, child, grand = self.procs(mode)
            keep = self.site(child, "keep_block")
            self.assertEqual((keep.allocs, keep.frees, keep.inherited, keep.bytes_inherited,
                              keep.in_use, keep.in_use_bytes), (0, 1000, 1000, 100000, 0, 0), mode)
            own = self.site(child, "child_block")
            self.assertEqual((own.allocs, own.inherited, own.in_use, own.in_use_bytes),
                             (10, 0, 10, 500), mode)
            gown = self.site(grand, "child_block")
            self.assertEqual((gown.allocs, gown.frees, gown.inherited, gown.in_use),
                             (0, 10, 10, 0), mode)
            pkeep = self.site(parent, "keep_block")
            self.assertEqual((pkeep.allocs, pkeep.frees, pkeep.inherited, pkeep.in_use),
                             (1000, 400, 0, 600), mode)
            # The summary lines: no wrapped figure, the inherited blocks said.
            lines = {int(m.group(1)): m.group(0) for m in re.finditer(
                r"(?m)^memtype: summary: fork_frees \(pid (\d+)\): .*$", r.stderr)}
            self.assertEqual(set(lines), {parent.pid, child.pid, grand.pid}, r.stderr)
            self.assertRegex(lines[child.pid], r": 10 allocations, 1000 frees, 500 bytes "
                             r"requested, \d+ blocks inherited at fork, \d+ blocks live at exit")
            self.assertRegex(lines[grand.pid], r": 0 allocations, 10 frees, 0 bytes requested, "
                             r"\d+ blocks inherited at fork, \d+ blocks live at exit")
            self.assertNotIn("inherited", lines[parent.pid])
            for line in lines.values():
                self.assertTrue(all(int(n) < 1 << 32 for n in re.findall(r"\d+", line)), line)
            # The child's table at exit: keep_block 0 in use, child_block 10.
            self.assertRegex(r.stderr, r"(?m)^memtype: child_block\+0x[0-9a-f]+ \(fork_frees\) +10 +500B ")
            self.assertRegex(r.stderr, r"(?m)^memtype: keep_block\+0x[0-9a-f]+ \(fork_frees\) +0 +0K ")

    def test_the_report_merges_parent_and_children(self):
        _, files = self.runs["default"]
        self.procs("default")
        for how in (["--types"], ["--types", "--merge"]):
            r = subprocess.run([CMD, "report", *how, *files], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            rows = {l.split(" (")[0]: l.split() for l in r.stdout.splitlines()
                    if l.startswith(("keep_block (", "child_block ("))}
            # InUse, MemUse, Requests: the parent's 600 live, the child's 10
            # (freed in the grandchild, live in the child), each allocated once.
            self.assertEqual(cells(rows["keep_block"])[:3], ["600", "59K", "1000"], r.stdout)
            self.assertEqual(cells(rows["child_block"])[:3], ["10", "500B", "10"], r.stdout)
        r = subprocess.run([CMD, "report", "--json", *files], capture_output=True, text=True)
        import json
        doc = json.loads(r.stdout)

        def numbers(x):
            if isinstance(x, dict):
                for v in x.values():
                    yield from numbers(v)
            elif isinstance(x, list):
                for v in x:
                    yield from numbers(v)
            elif isinstance(x, int) and not isinstance(x, bool):
                yield x
        self.assertTrue(all(0 <= n < 1 << 63 for n in numbers(doc)))
        inherited = sorted(t["inherited_blocks"] for p in doc["processes"] for t in p["types"]
                           if t["inherited_blocks"])
        self.assertIn(1000, inherited)
        self.assertIn(10, inherited)

    def test_older_and_newer_dumps_read_alike(self):
        # The checked-in seeds: format 1.3 dumps (no INHERITED) read as they
        # always did; the forked child's (1.4) with its inherited blocks, in
        # both readers.
        corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz",
                              "corpus", "dump")
        plain = dump.load(os.path.join(corpus, "plain.mtd"))
        self.assertEqual((plain.major, plain.minor), (1, 3))
        self.assertTrue(all(t.inherited == 0 and t.in_use == max(0, t.allocs - t.frees)
                            for t in plain.types))
        forked = dump.load(os.path.join(corpus, "forked.mtd"))
        self.assertEqual((forked.major, forked.minor), (1, 4))
        frees_more = [t for t in forked.types if t.frees > t.allocs]
        self.assertTrue(frees_more)
        self.assertTrue(all(t.in_use == t.inherited + t.allocs - t.frees for t in frees_more))
        r = subprocess.run([STAT_TOOL, os.path.join(corpus, "forked.mtd")], capture_output=True,
                           text=True)
        want = ["%d %s %d %d %d %d inherited %d %d inuse %d %d" % (
            t.id, t.name or "-", t.allocs, t.frees, t.bytes_alloc, t.bytes_freed, t.inherited,
            t.bytes_inherited, t.in_use, t.in_use_bytes) for t in forked.types if t.inherited]
        self.assertTrue(want)
        for line in want:
            self.assertIn(line, r.stdout.splitlines())

    def test_the_c_reader_counts_the_inherited_blocks(self):
        _, parent, child, _ = self.procs("default")
        r = subprocess.run([STAT_TOOL, child.path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        keep = self.site(child, "keep_block")
        self.assertIn("%d - 0 1000 0 100000 inherited 1000 100000 inuse 0 0" % keep.id,
                      r.stdout.splitlines())


class RealPrograms(unittest.TestCase):
    """Dumps of real Debian programs give tables whose top types are call
    sites in those programs' own code."""

    def report_of(self, argv, stdin=None, extra=None):
        tmp = scratch("memtype-realdump-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%e.%p.mtd"),
                    "MEMTYPE_DUMP_CHILDREN": "1"})
        env.update(extra or {})
        r = subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, cwd=tmp)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        files = glob.glob(os.path.join(tmp, "*.mtd"))
        self.assertTrue(files)
        rep = subprocess.run([CMD, "report", "--types", "--sort", "requests", "--lines", "8"] + files,
                             capture_output=True, text=True)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        return rep.stdout.splitlines()[2:10]

    def test_sqlite3(self):
        script = "create table t(a,b);" + "insert into t values(1,'%s');" % ("x" * 50) * 2000 + \
                 "select count(*), sum(length(b)) from t;"
        top = self.report_of(["/usr/bin/sqlite3", ":memory:"], stdin=script)
        self.assertTrue(any("libsqlite3" in l or "sqlite3" in l.split()[0] for l in top[:3]), top)

    def test_python3(self):
        top = self.report_of(["/usr/bin/python3", "-c",
                              "d = {str(i): [i] * 3 for i in range(50000)}; print(len(d))"],
                             extra={"PYTHONMALLOC": "malloc"})
        self.assertTrue(any("python3" in l for l in top[:3]), top)

    def test_no_two_rows_of_a_real_program_read_alike(self):
        # python3 with a thread: ld.so allocates through its inline wrappers
        # (rtld-malloc.h) from many functions; each is its own row, named by
        # its function, never five rows "malloc (rtld-malloc.h:56)".
        tmp = scratch("memtype-realdump-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%e.%p.mtd"),
                    "PYTHONMALLOC": "malloc"})
        r = subprocess.run(["/usr/bin/python3", "-c", "import threading, json; "
                            "t = threading.Thread(target=print); t.start(); t.join()"],
                           env=env, capture_output=True, text=True, cwd=tmp)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        files = glob.glob(os.path.join(tmp, "*.mtd"))
        rep = subprocess.run([CMD, "report", "--table", "--lines", "100000"] + files,
                             capture_output=True, text=True)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        rows = [l for l in rep.stdout.splitlines()[2:] if not l.startswith(("memtype:", "..."))]
        labels = [" ".join(l.split()[:-6]) for l in rows]
        self.assertGreater(len(labels), 50)
        self.assertEqual(len(set(labels)), len(labels),
                         sorted(l for l in labels if labels.count(l) > 1)[:10])
        self.assertFalse([l for l in labels if "rtld-malloc.h" in l], labels)

    def test_gcc_and_its_children(self):
        tmp = scratch("memtype-realdump-src.")
        src = os.path.join(tmp, "x.c")
        with open(src, "w") as f:
            f.write("".join("int f%d(int x){return x*%d+%d;}\n" % (i, i, i) for i in range(300)))
        top = self.report_of(["/usr/bin/gcc", "-O2", "-c", src, "-o", os.path.join(tmp, "x.o")])
        self.assertTrue(any("cc1" in l for l in top), top)


class ProcessTree(unittest.TestCase):
    """Plain LD_PRELOAD on a shell script: only the top process writes its
    exit dump (MEMTYPE_DUMP_CHILDREN=0, the default), so a script leaves one
    file, not one per command; asked, every process writes one. A dump
    carries MEMTYPE_RUN (format 1.6, RUN) for both readers."""
    SCRIPT = "ls / >/dev/null; /bin/true; cat /dev/null; echo x | tr x y >/dev/null"

    def run_script(self, extra=None):
        tmp = scratch("memtype-tree-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%e.%p.mtd")})
        env.update(extra or {})
        r = subprocess.run(["/bin/sh", "-c", self.SCRIPT], env=env, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        return [dump.load(f) for f in sorted(glob.glob(os.path.join(tmp, "*.mtd")))]

    def test_a_shell_script_leaves_one_dump_of_its_top_process(self):
        dumps = self.run_script()
        self.assertEqual(len(dumps), 1, [d.path for d in dumps])
        self.assertEqual(os.path.realpath(dumps[0].exe), os.path.realpath("/bin/sh"))
        self.assertTrue(str(dumps[0].ending).startswith("exit status 0"), dumps[0].ending)

    def test_every_process_writes_one_when_asked(self):
        dumps = self.run_script({"MEMTYPE_DUMP_CHILDREN": "1"})
        progs = sorted(os.path.basename(d.exe) for d in dumps)
        for prog in ("ls", "true", "cat", "tr"):
            self.assertIn(prog, progs)
        sh, = [d for d in dumps if d.ppid not in {c.pid for c in dumps}]
        self.assertEqual(os.path.realpath(sh.exe), os.path.realpath("/bin/sh"))
        ls, = [d for d in dumps if os.path.basename(d.exe) == "ls"]
        self.assertEqual(ls.ppid, sh.pid)

    def test_the_run_identity_reaches_both_readers(self):
        dumps = self.run_script({"MEMTYPE_RUN": "run-42"})
        self.assertEqual([d.run for d in dumps], ["run-42"])
        r = subprocess.run([STAT_TOOL, dumps[0].path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.run_script()[0].run, "")


class DamagedFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = scratch("memtype-dump-test.")
        _, files = run_for_dump(tmp)
        with open(files[0], "rb") as f:
            cls.good = f.read()
        cls.tmp = tmp

    def report_error(self, data):
        path = os.path.join(self.tmp, "bad.mtd")
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run([CMD, "report", "--types", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        return r.stderr

    def test_every_truncation_is_a_clear_error(self):
        for n in list(range(0, 200, 7)) + list(range(len(self.good) - 64, len(self.good))):
            with self.subTest(n=n):
                with self.assertRaises(dump.DumpError):
                    dump.parse(self.good[:n], "cut")
        self.assertIn("truncated", self.report_error(self.good[: len(self.good) // 2]))

    def test_newer_major_version_is_refused_naming_both(self):
        bad = bytearray(self.good)
        struct.pack_into("<HH", bad, 8, 7, 0)
        err = self.report_error(bytes(bad))
        self.assertIn("written by a newer memtype (format 7.0)", err)
        self.assertIn("knows formats up to 1.%d: upgrade memtype" % dump.MINOR, err)
        self.assertIn("written by a newer memtype (format 7.0)", self.c_reader_error(bytes(bad)))

    def test_older_major_version_is_not_told_to_use_a_newer_memtype(self):
        bad = bytearray(self.good)
        struct.pack_into("<HH", bad, 8, 0, 9)
        for err in (self.report_error(bytes(bad)), self.c_reader_error(bytes(bad))):
            self.assertIn("format 0.9 is older than any this reader knows", err)
            self.assertNotIn("newer", err)

    def c_reader_error(self, data):
        """The C reader's verdict on data: its one error line (it must refuse)."""
        path = os.path.join(self.tmp, "bad-c.mtd")
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run([STAT_TOOL, path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, "the C reader accepted it: " + r.stdout[:200])
        self.assertTrue(r.stderr.startswith("memtype-stat: error: "), r.stderr)
        return r.stderr

    def sections(self, data=None):
        data = data or self.good
        out, pos = [], 64
        while pos + 16 <= len(data):
            tag, _, length = struct.unpack_from("<IIQ", data, pos)
            out.append((pos, tag, length))
            pos += 16 + length
        return out

    def test_a_section_tag_overwritten_with_ff_is_corruption_not_an_empty_program(self):
        # The issue's case: TYPES' tag overwritten read as "0 call sites, no
        # heap errors" with exit 0. Every section, every byte of its tag.
        for off, tag, _ in self.sections():
            for at, width in ((0, 1), (1, 1), (3, 1), (0, 4)):
                if tag == 0xFFFFFFFF:
                    continue  # END's tag is all 0xff already
                bad = bytearray(self.good)
                bad[off + at:off + at + width] = b"\xff" * width
                with self.subTest(tag=tag, at=at, width=width):
                    self.assertIn("corrupt", self.report_error(bytes(bad)))
                    self.assertIn("corrupt", self.c_reader_error(bytes(bad)))

    def test_a_known_section_longer_than_its_contents_is_corruption(self):
        for off, tag, length in self.sections():
            if tag == 0xFFFFFFFF:
                continue
            end = off + 16 + length
            bad = bytearray(self.good[:end] + b"\0" * 8 + self.good[end:])
            struct.pack_into("<Q", bad, off + 8, length + 8)
            with self.subTest(tag=tag):
                self.assertIn("contents take", self.report_error(bytes(bad)))
                self.assertIn("contents take", self.c_reader_error(bytes(bad)))

    def test_a_missing_required_section_is_corruption(self):
        for off, tag, length in self.sections():
            if tag not in (1, 2, 3, 4):
                continue
            bad = bytearray(self.good[:off] + self.good[off + 16 + length:])
            if tag == 4:
                struct.pack_into("<I", bad, 24, 0)  # the header's type count agrees
            with self.subTest(tag=tag):
                self.assertIn("every dump has one", self.report_error(bytes(bad)))
                self.assertIn("every dump has one", self.c_reader_error(bytes(bad)))

    def test_a_section_twice_or_bytes_after_end_are_corruption(self):
        off, tag, length = [s for s in self.sections() if s[1] == 5][0]
        end = self.sections()[-1][0]
        twice = self.good[:end] + self.good[off:off + 16 + length] + self.good[end:]
        self.assertIn("a second HIGHUSE section", self.report_error(twice))
        self.assertIn("a second HIGHUSE section", self.c_reader_error(twice))
        after = self.good + b"\0" * 16
        self.assertIn("followed by 16 bytes", self.report_error(after))
        self.assertIn("followed by 16 bytes", self.c_reader_error(after))

    def test_incomplete_dump_is_not_read_as_whole(self):
        bad = bytearray(self.good)
        struct.pack_into("<I", bad, 16, 0)
        self.assertIn("incomplete", self.report_error(bytes(bad)))

    def test_unknown_sections_of_a_newer_minor_are_skipped(self):
        # Insert an unknown section right after the header of a dump that says
        # it is of a newer minor version: both readers read the rest.
        extra = struct.pack("<IIQ", 0x77, 0, 8) + b"\x01" * 8
        newer = bytearray(self.good[:64] + extra + self.good[64:])
        struct.pack_into("<H", newer, 10, dump.MINOR + 1)
        d = dump.parse(bytes(newer), "x")
        self.assertEqual(d.unknown_sections, [0x77])
        self.assertGreater(len(d.types), 3)
        path = os.path.join(self.tmp, "newer.mtd")
        with open(path, "wb") as f:
            f.write(newer)
        r = subprocess.run([STAT_TOOL, path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [l for l in r.stdout.splitlines() if not l.startswith(("pid ", "ending "))]
        self.assertEqual(len(rows), len([t for t in d.types if t.allocs or t.frees]))
        # The same section in a dump of a minor this reader knows cannot be.
        known = self.good[:64] + extra + self.good[64:]
        self.assertIn("tag 0x77 at offset 64 is not one of format 1.", self.report_error(known))
        self.assertIn("tag 0x77 at offset 64 is not one of format 1.", self.c_reader_error(known))

    def test_a_damaged_dump_among_several_is_named_and_the_others_reported(self):
        good = os.path.join(self.tmp, "good.mtd")
        cut = os.path.join(self.tmp, "cut.mtd")
        with open(good, "wb") as f:
            f.write(self.good)
        with open(cut, "wb") as f:
            f.write(self.good[:len(self.good) // 2])
        for form in (["--types"], ["--json"], ["--leaks", "--errors"]):
            r = subprocess.run([CMD, "report"] + form + [cut, good], capture_output=True,
                               text=True)
            with self.subTest(form=form):
                self.assertEqual(r.returncode, 2)
                self.assertNotIn("Traceback", r.stderr)
                self.assertRegex(r.stderr, r"memtype: error: \S*cut\.mtd: truncated")
                self.assertIn("1 of 2 files could not be read", r.stderr)
                self.assertIn("three_sites", r.stdout)
                self.assertIn('"pid"' if form == ["--json"] else "(pid", r.stdout)
        self.assertIn("could not be read", subprocess.run(
            [CMD, "report", "--help"], capture_output=True, text=True).stdout)

    def test_no_output_is_written_over_an_input_or_a_dump(self):
        good = os.path.join(self.tmp, "keep.mtd")
        other = os.path.join(self.tmp, "other.mtd")
        link = os.path.join(self.tmp, "keep-link.html")
        for p in (good, other):
            with open(p, "wb") as f:
                f.write(self.good)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(good, link)
        # The output name forgotten: the first dump taken as the page's name.
        cases = ([["--html", good, other], "memtype dump"],
                 [["--html", other, good], "memtype dump"],
                 [["--html", link, good], "one of the input files"],
                 [[good, "--html", good], "one of the input files"])
        for argv, why in cases:
            r = subprocess.run([CMD, "report"] + argv, capture_output=True, text=True)
            with self.subTest(argv=argv):
                self.assertEqual(r.returncode, 2)
                self.assertIn(why, r.stderr)
                for p in (good, other):
                    with open(p, "rb") as f:
                        self.assertEqual(f.read(), self.good, p)
        # An input that is not a dump is not overwritten either.
        notes = os.path.join(self.tmp, "notes.txt")
        with open(notes, "w") as f:
            f.write("mine\n")
        r = subprocess.run([CMD, "report", "--html", notes, notes, good], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("one of the input files", r.stderr)
        with open(notes) as f:
            self.assertEqual(f.read(), "mine\n")

    def test_the_page_is_written_whole_or_not_at_all(self):
        out = os.path.join(self.tmp, "page.html")
        good = os.path.join(self.tmp, "page-src.mtd")
        with open(good, "wb") as f:
            f.write(self.good)
        with open(out, "w") as f:
            f.write("old page\n")
        r = subprocess.run([CMD, "report", "--html", out, good], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            self.assertTrue(f.read().rstrip().endswith("</html>"))
        # A write that fails half-way (a file-size limit of 4 KiB: EFBIG) leaves
        # the old page as it was and no temporary file.
        import resource
        with open(out, "w") as f:
            f.write("old page\n")
        r = subprocess.run([CMD, "report", "--html", out, good], capture_output=True, text=True,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                                 (4096, 4096)))
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot write %s: File too large" % out, r.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), "old page\n")
        self.assertEqual([f for f in os.listdir(self.tmp) if f.endswith(".tmp")], [])
        # A directory that is not there: a clear error, no file and no temporary left.
        missing = os.path.join(self.tmp, "nodir", "page.html")
        r = subprocess.run([CMD, "report", "--html", missing, good], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot write %s: No such file or directory" % missing, r.stderr)
        self.assertEqual([f for f in os.listdir(self.tmp) if f.endswith(".tmp")], [])

    def test_random_corruption_never_escapes_as_anything_but_dump_error(self):
        import random
        rng = random.Random(1234)
        for i in range(300):
            bad = bytearray(self.good)
            for _ in range(rng.randint(1, 8)):
                bad[rng.randrange(64, len(bad))] = rng.randrange(256)
            try:
                dump.parse(bytes(bad), "fuzz")
            except dump.DumpError:
                pass

    def test_not_a_dump(self):
        self.assertIn("not a memtype dump", self.report_error(b"hello world\n" * 10))

    def test_a_dump_stopped_before_its_header_is_truncated_not_foreign(self):
        # A writer killed between creating the file and writing its header
        # leaves it empty or with the magic's start: that is a cut dump.
        for data in (b"", self.good[:5], self.good[:40]):
            self.assertIn("truncated inside its header", self.report_error(data))
        self.assertIn("not a memtype dump", self.report_error(b"memtypX" + self.good[7:40]))

    def test_missing_file(self):
        r = subprocess.run([CMD, "report", "--types", "/nonexistent.mtd"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)


if __name__ == "__main__":
    unittest.main()
