"""Failure injection (MEMTYPE_FAILURE_*): the rate holds, the filters and
caps are exact, a seed repeats its run, every entry point fails the way
glibc's would, C++ throws, the counts reach the stats and the dump, and a
crash on an unchecked NULL is traced back to the injected call site."""
import glob
import math
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from mtenv import CMD, LIB, clean_env  # noqa: E402  (also puts report/ on sys.path)
from memtype_report import dump  # noqa: E402

PROG = os.environ.get("MEMTYPE_FAILPROG", "build/bin/failprog")
CXX = os.environ.get("MEMTYPE_FAILCXX", "build/bin/failcxx")
BUGS = os.environ.get("MEMTYPE_BUGS_DIR", "build/bin")


def run(args, output="off", **env_vars):
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": output})
    env.update({("MEMTYPE_" + k if k != "PYTHONMALLOC" else k): str(v) for k, v in env_vars.items()})
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def failing(stdout):
    """The failed call numbers printed by `failprog count`."""
    m = re.search(r"failed (\d+) of (\d+):(.*)", stdout)
    assert m, stdout
    return int(m.group(1)), [int(x) for x in m.group(3).split()]


class Rate(unittest.TestCase):
    def test_fraction_is_within_a_binomial_bound(self):
        n, rate = 200000, 10
        r = run([PROG, "count", str(n), "24"], FAILURE_RATE=rate, FAILURE_TYPES="site_a",
                FAILURE_SEED=12345)
        self.assertEqual(r.returncode, 0, r.stderr)
        k, _ = failing(r.stdout)
        p = 1 / rate
        sigma = math.sqrt(n * p * (1 - p))
        self.assertLess(abs(k - n * p), 5 * sigma, "%d failures of %d at 1 in %d" % (k, n, rate))

    def test_rate_one_fails_every_eligible_allocation(self):
        r = run([PROG, "count", "1000", "24"], FAILURE_RATE=1, FAILURE_TYPES="site_a")
        self.assertEqual(failing(r.stdout)[0], 1000)

    def test_off_by_default_and_silent(self):
        r = run([PROG, "count", "1000", "24"])
        self.assertEqual(failing(r.stdout)[0], 0)
        self.assertEqual(r.stderr, "")


class Filters(unittest.TestCase):
    def test_type_filter_fails_only_eligible_types(self):
        r = run([PROG, "two", "5000"], FAILURE_RATE=1, FAILURE_TYPES="site_a")
        self.assertIn("site_a failed 5000, site_b failed 0", r.stdout)
        r = run([PROG, "two", "5000"], FAILURE_RATE=1, FAILURE_TYPES="nothing*,site_b")
        self.assertIn("site_a failed 0, site_b failed 5000", r.stdout)

    def test_module_glob_selects_by_module(self):
        r = run([PROG, "two", "100"], FAILURE_RATE=1, FAILURE_TYPES="failprog")
        self.assertIn("site_a failed 100, site_b failed 100", r.stdout)

    def test_source_file_globs_come_from_the_line_tables(self):
        # site_h is inlined into header(): same function and module as its
        # neighbour, another source file.
        r = run([PROG, "header", "300"], FAILURE_RATE=1, FAILURE_TYPES="failprog_inline.h")
        self.assertIn("header failed 300, site_a failed 0", r.stdout)
        r = run([PROG, "header", "300"], FAILURE_RATE=1, FAILURE_TYPES="*/py/failprog.c")
        self.assertIn("header failed 0, site_a failed 300", r.stdout)

    def test_named_types_by_source_file(self):
        r = run([PROG, "header", "300"], TYPES="inl=failprog_inline.h;main=failprog.c",
                STATS=1)
        rows = {l.split()[1]: l.split() for l in r.stderr.splitlines()
                if l.startswith("memtype: ") and len(l.split()) > 5}
        self.assertEqual(rows["inl"][-2:], ["300", "48"], r.stderr)
        self.assertEqual(rows["main"][-2:], ["300", "48"], r.stderr)

    def test_times_and_after_are_exact(self):
        r = run([PROG, "count", "100", "24"], FAILURE_RATE=1, FAILURE_TYPES="site_a",
                FAILURE_AFTER=10, FAILURE_TIMES=5)
        self.assertEqual(failing(r.stdout), (5, [11, 12, 13, 14, 15]))

    def test_minsize(self):
        r = run([PROG, "count", "100", "24"], FAILURE_RATE=1, FAILURE_TYPES="site_a",
                FAILURE_MINSIZE=25)
        self.assertEqual(failing(r.stdout)[0], 0)
        r = run([PROG, "count", "100", "25"], FAILURE_RATE=1, FAILURE_TYPES="site_a",
                FAILURE_MINSIZE=25)
        self.assertEqual(failing(r.stdout)[0], 100)


class Seed(unittest.TestCase):
    def sequence(self, seed):
        r = run([PROG, "count", "20000", "40"], FAILURE_RATE=50, FAILURE_TYPES="site_a",
                FAILURE_SEED=seed)
        return failing(r.stdout)[1]

    def test_same_seed_same_failures(self):
        a, b, c = self.sequence(99), self.sequence(99), self.sequence(100)
        self.assertGreater(len(a), 100)
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)

    def test_a_chosen_seed_is_shown_and_repeats_the_run(self):
        r = run([PROG, "count", "20000", "40"], FAILURE_RATE=50, FAILURE_TYPES="site_a",
                VERBOSE=1)
        m = re.search(r"MEMTYPE_FAILURE_SEED=(\d+) repeats this run", r.stderr)
        self.assertTrue(m, r.stderr)
        self.assertEqual(failing(r.stdout)[1], self.sequence(int(m.group(1))))


class EntryPoints(unittest.TestCase):
    def test_every_entry_point_fails_with_enomem(self):
        r = run([PROG, "entries"], FAILURE_RATE=1, FAILURE_TYPES="entries,site_a")
        self.assertEqual(r.returncode, 0, r.stderr)
        for what in ("malloc", "calloc", "calloc-big", "realloc", "memalign", "aligned_alloc",
                     "valloc", "malloc-huge"):
            self.assertIn("%s NULL errno=ENOMEM" % what, r.stdout)
        self.assertIn("old block intact", r.stdout)
        self.assertIn("posix_memalign ENOMEM out=untouched", r.stdout)

    def test_without_injection_they_succeed(self):
        r = run([PROG, "entries"])
        self.assertNotIn("NULL", r.stdout)

    def test_cxx_new_throws_and_nothrow_returns_null(self):
        r = run([CXX], FAILURE_RATE=1, FAILURE_TYPES="main")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "new[] threw bad_alloc",
            "nothrow new returned NULL",
            "new threw bad_alloc after 1 handler call(s)"])

    def test_malloc_last_fail_moves(self):
        r = run([PROG, "lastfail"], FAILURE_RATE=1, FAILURE_TYPES="site_a")
        self.assertEqual(r.stdout.splitlines(),
                         ["before never", "site_a NULL, after 0", "later 2"])


class Counting(unittest.TestCase):
    def test_stats_table_and_dump_count_failures_not_allocations(self):
        tmp = tempfile.mkdtemp(prefix="memtype-fail-test.")
        try:
            r = run([PROG, "count", "10000", "48"], output=os.path.join(tmp, "d.%p.mtd"),
                    FAILURE_RATE=4, FAILURE_TYPES="site_a", FAILURE_SEED=5, STATS=1)
            k, _ = failing(r.stdout)
            self.assertIn("memtype: failure injection: %d allocations failed on purpose" % k,
                          r.stderr)
            row = [l for l in r.stderr.splitlines() if "site_a+" in l]
            self.assertEqual(len(row), 1, r.stderr)
            self.assertEqual(row[0].split()[-3:-1], [str(10000 - k), str(k)])
            d = dump.load(glob.glob(os.path.join(tmp, "d.*.mtd"))[0])
            self.assertEqual((d.failures.total, d.failures.seed, d.failures.rate), (k, 5, 4))
            t = [t for t in d.types if t.failures]
            self.assertEqual(len(t), 1)
            self.assertEqual((t[0].allocs, t[0].failures, t[0].bytes_alloc),
                             (10000 - k, k, 48 * (10000 - k)))
            self.assertEqual([e.seq for e in d.failures.events], list(range(1, k + 1)))
            self.assertTrue(all(e.size == 48 and e.family == "malloc" for e in d.failures.events))
            rep = subprocess.run([CMD, "report", "--failures", "--lines", "2",
                                  glob.glob(os.path.join(tmp, "d.*.mtd"))[0]],
                                 capture_output=True, text=True)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            self.assertIn("%d injected failures" % k, rep.stdout)
            self.assertRegex(rep.stdout, r"#%d malloc\(48\) returned NULL" % k)
            self.assertRegex(rep.stdout, r"#0 site_a \(failprog\.c:\d+\)")
            self.assertRegex(rep.stdout, r"#1 count \(failprog\.c:\d+\)")
        finally:
            shutil.rmtree(tmp)

    def test_verbose_prints_each_failure_with_its_stack(self):
        r = run([PROG, "count", "10", "24"], FAILURE_RATE=1, FAILURE_TYPES="site_a",
                FAILURE_TIMES=2, FAILURE_VERBOSE=1)
        heads = re.findall(r"memtype: failure injected #(\d+): malloc\(24\) returns NULL", r.stderr)
        self.assertEqual(heads, ["1", "2"])
        self.assertRegex(r.stderr, r"#0 0x[0-9a-f]+ in site_a\+0x[0-9a-f]+ \(failprog\.c:\d+\)")
        self.assertRegex(r.stderr, r"#1 0x[0-9a-f]+ in count")

    def test_run_flags_map_to_the_variables(self):
        env = clean_env()
        r = subprocess.run([CMD, "run", "--lib", LIB, "--stats=0", "--output=off",
                            "--fail-rate", "1", "--fail-types", "site_b", "--fail-seed", "3",
                            "--", PROG, "two", "10"], env=env, capture_output=True, text=True)
        self.assertIn("site_a failed 0, site_b failed 10", r.stdout)


class UncheckedNull(unittest.TestCase):
    def test_crash_is_traced_to_the_injected_call_site(self):
        prog = os.path.join(BUGS, "unchecked_null")
        clean = run([prog])
        self.assertEqual((clean.returncode, clean.stdout), (0, "production at level 3\n"))
        tmp = tempfile.mkdtemp(prefix="memtype-fail-test.")
        try:
            r = run([prog], output=os.path.join(tmp, "d.%p.mtd"), FAILURE_RATE=1,
                    FAILURE_TYPES="load_config")
            self.assertEqual(r.returncode, -11, r.stderr)
            files = glob.glob(os.path.join(tmp, "d.*.mtd"))
            self.assertEqual(len(files), 1)
            d = dump.load(files[0])
            self.assertEqual((d.reason, d.signal, d.failures.total), ("fatal signal", 11, 1))
            rep = subprocess.run([CMD, "report", "--failures", files[0]],
                                 capture_output=True, text=True)
            self.assertRegex(rep.stdout, r"#1 malloc\(36\) returned NULL")
            self.assertRegex(rep.stdout, r"died of signal 11 after injected failure #1 at "
                                         r"load_config \(unchecked_null\.c:\d+\)")
        finally:
            shutil.rmtree(tmp)


class Sweep(unittest.TestCase):
    def test_sweep_finds_the_unchecked_allocation_and_the_leaky_error_path(self):
        prog = os.path.join(BUGS, "error_paths")
        r = subprocess.run([CMD, "sweep", "--lib", LIB, "--", prog], capture_output=True,
                           text=True, env=clean_env(), timeout=300)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        m = re.search(r"made (\d+) eligible allocations \(exit 0 without failures\)", r.stdout)
        self.assertTrue(m, r.stdout)
        crashes = [l for l in r.stdout.splitlines() if "CRASH" in l]
        leaks = [l for l in r.stdout.splitlines() if "LEAKED" in l]
        # one of each per record (3 records): the value's strdup is unchecked,
        # and the key's failed copy leaves the value behind
        self.assertEqual((len(crashes), len(leaks)), (3, 3), r.stdout)
        for line in crashes:
            self.assertRegex(line, r"CRASH SIGSEGV +malloc\(\d+\) at parse_record "
                                   r"\(error_paths\.c:\d+\)")
        for line in leaks:
            self.assertRegex(line, r"LEAKED \d+ bytes +malloc\(5\) at copy_field \(error_paths\.c:"
                                   r"\d+\); lost: \d+ bytes from parse_record \(error_paths\.c:\d+\)")
        self.assertIn("3 of %s runs crashed, hung or hit a heap error, 3 leaked on their error "
                      "path" % m.group(1), r.stdout)

    def test_sweep_of_a_careful_program_is_clean(self):
        r = subprocess.run([CMD, "sweep", "--lib", LIB, "--types", "site_a", "--", PROG,
                            "count", "20", "24"], capture_output=True, text=True,
                           env=clean_env(), timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("made 20 eligible allocations", r.stdout)
        self.assertIn("0 of 20 runs crashed, hung or hit a heap error, 0 leaked on their error "
                      "path; 20 failed gracefully", r.stdout)


class RealPrograms(unittest.TestCase):
    """Programs written to survive a failed allocation do, under injection."""

    def test_python_raises_memory_error(self):
        code = ("try:\n    b = bytearray(300_000_000)\nexcept MemoryError:\n"
                "    print('MemoryError')\nprint(len(bytearray(1000)))\n")
        env_plain = clean_env()
        plain = subprocess.run(["python3", "-c", code], env=env_plain, capture_output=True,
                               text=True)
        self.assertEqual(plain.stdout, "1000\n")
        r = run(["python3", "-c", code], FAILURE_RATE=1, FAILURE_MINSIZE="200M",
                FAILURE_SEED=1, PYTHONMALLOC="malloc")
        self.assertEqual((r.returncode, r.stdout), (0, "MemoryError\n1000\n"), r.stderr)

    @unittest.skipUnless(shutil.which("sqlite3"), "sqlite3 not installed")
    def test_sqlite_reports_out_of_memory_and_goes_on(self):
        sql = ("select length(randomblob(150000000));\n"
               "create table t(x); insert into t values (41); select x + 1 from t;\n")
        plain = subprocess.run(["sqlite3", ":memory:"], input=sql, capture_output=True,
                               text=True, env=clean_env())
        self.assertEqual(plain.stdout, "150000000\n42\n")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off", "MEMTYPE_FAILURE_RATE": "1",
                    "MEMTYPE_FAILURE_MINSIZE": "100M", "MEMTYPE_FAILURE_SEED": "1"})
        r = subprocess.run(["sqlite3", ":memory:"], input=sql, capture_output=True, text=True,
                           env=env)
        self.assertEqual(r.stdout, "42\n")
        self.assertIn("out of memory", r.stderr)


if __name__ == "__main__":
    unittest.main()
