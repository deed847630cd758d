"""The dump written at exit and its readers: a program with three known call
sites gives exactly those figures in the dump and in `memtype report
--types`; damaged files give one clear error line, never a traceback."""
import glob
import os
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
    return int(words[-4].rstrip("K"))


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
        # HighUse: sampled every 64th allocation, never below MemUse
        self.assertGreaterEqual(high_use_k(rows["big"]), 196)
        self.assertGreaterEqual(high_use_k(rows["churn"]), 0)
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
        self.assertIn("memtype: warning: cannot create the dump /nonexistent/dir/x.mtd", r.stderr)

    def test_output_off_writes_nothing(self):
        tmp = scratch("memtype-dump-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off"})
        subprocess.run([PROG], env=env, cwd=tmp)
        self.assertEqual(os.listdir(tmp), [])


SIGNALS = os.environ.get("MEMTYPE_SIGNALS", "build/bin/signals")
EXPLICIT = os.environ.get("MEMTYPE_EXPLICIT", "build/bin/explicit_types")


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
        self.assertIn("memtype: error: MEMTYPE_DUMP_SIGNAL=NOPE: not a signal", r.stderr)


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
        want = ["%d %s %d %d %d %d" % (t.id, t.name or "-", t.allocs, t.frees, t.bytes_alloc,
                                       t.bytes_freed)
                for t in d.types if t.allocs or t.frees]
        self.assertEqual(lines[1:], want)

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


class RealPrograms(unittest.TestCase):
    """Dumps of real Debian programs give tables whose top types are call
    sites in those programs' own code."""

    def report_of(self, argv, stdin=None, extra=None):
        tmp = scratch("memtype-realdump-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%e.%p.mtd")})
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

    def test_gcc_and_its_children(self):
        tmp = scratch("memtype-realdump-src.")
        src = os.path.join(tmp, "x.c")
        with open(src, "w") as f:
            f.write("".join("int f%d(int x){return x*%d+%d;}\n" % (i, i, i) for i in range(300)))
        top = self.report_of(["/usr/bin/gcc", "-O2", "-c", src, "-o", os.path.join(tmp, "x.o")])
        self.assertTrue(any("cc1" in l for l in top), top)


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
        self.assertIn("version 7.0", err)
        self.assertIn("knows 1.x", err)

    def test_incomplete_dump_is_not_read_as_whole(self):
        bad = bytearray(self.good)
        struct.pack_into("<I", bad, 16, 0)
        self.assertIn("incomplete", self.report_error(bytes(bad)))

    def test_unknown_sections_are_skipped(self):
        # Insert an unknown section right after the header.
        extra = struct.pack("<IIQ", 0x77, 0, 8) + b"\x01" * 8
        d = dump.parse(self.good[:64] + extra + self.good[64:], "x")
        self.assertEqual(d.unknown_sections, [0x77])
        self.assertGreater(len(d.types), 3)

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

    def test_missing_file(self):
        r = subprocess.run([CMD, "report", "--types", "/nonexistent.mtd"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)


if __name__ == "__main__":
    unittest.main()
