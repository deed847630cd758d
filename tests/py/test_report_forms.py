"""`memtype report` in its other forms (--json, --folded), `memtype diff`,
the summary `memtype run` ends with, and offline symbolization: inlined
frames, and the note for modules that are missing or changed since the run."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import cdp
from mtenv import CMD, LIB, clean_env
from memtype_report import dump

BUGS = os.environ.get("MEMTYPE_BUGS_DIR", "build/bin")
FAILPROG = os.environ.get("MEMTYPE_FAILPROG", "build/bin/failprog")


def run_with_dump(argv, tmp, **env_vars):
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%e.%p.mtd")})
    env.update(env_vars)
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    return r, sorted(glob.glob(os.path.join(tmp, "*.mtd*")), key=os.path.getmtime)


def report(*args):
    r = subprocess.run([CMD, "report"] + list(args), capture_output=True, text=True, timeout=120)
    return r


class Forms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="memtype-forms.")
        r, files = run_with_dump([os.path.join(BUGS, "leaky"), "leaks"], cls.tmp)
        assert r.returncode == 0, r.stderr
        cls.file = files[0]
        cls.d = dump.load(cls.file)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_json_has_everything_the_dump_has(self):
        r = report("--json", self.file)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["memtype_report"], 1)
        p, = doc["processes"]
        self.assertEqual((p["program"], p["pid"], p["reason"]), ("leaky", self.d.pid, "exit"))
        self.assertEqual(sum(t["allocs"] for t in p["types"]), sum(t.allocs for t in self.d.types))
        self.assertEqual(sum(t["in_use_bytes"] for t in p["types"]),
                         sum(max(0, t.bytes_alloc - t.bytes_freed) for t in self.d.types))
        self.assertEqual(p["leaks"]["totals"]["definitely lost"], {"bytes": 96, "blocks": 2})
        self.assertEqual(p["leaks"]["totals"]["indirectly lost"], {"bytes": 480, "blocks": 10})
        node = [t for t in p["types"] if t["stack"] and t["stack"][0]["function"] == "new_node"]
        self.assertEqual(len(node), 1)
        self.assertEqual((node[0]["stack"][0]["file"], node[0]["stack"][0]["line"]), ("leaky.c", 27))

    def test_folded_stacks_weigh_what_they_say(self):
        r = report("--folded", self.file)
        lines = r.stdout.splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^leaky(;[^; ]+)+ \d+$")
        self.assertEqual(sum(int(l.rsplit(" ", 1)[1]) for l in lines),
                         sum(t.bytes_alloc for t in self.d.types))
        leaks = report("--folded", "--weight", "leaks", self.file).stdout.splitlines()
        self.assertEqual(sorted(leaks), ["leaky;make_inner 64", "leaky;make_pair 96",
                                         "leaky;new_node 480"])


class Html(unittest.TestCase):
    """The page opens in headless Chromium (scripts/deps.sh test installs it)
    without a console error, its script runs, and its charts are there."""

    def test_the_page_loads_in_chromium_with_its_charts(self):
        browser = cdp.chromium()
        if browser is None:
            if os.environ.get("MT_REQUIRE_CHROMIUM") == "1":
                self.fail("chromium is not installed (scripts/deps.sh test installs it)")
            self.skipTest("chromium is not installed")
        tmp = tempfile.mkdtemp(prefix="memtype-html.")
        try:
            r, _ = run_with_dump([os.path.join(BUGS, "leaky"), "leaks"], tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            r, files = run_with_dump([os.environ.get("MEMTYPE_SIZE_WASTE", "build/bin/size_waste")],
                                     tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            page = os.path.join(tmp, "report.html")
            out = report("--html", page, *files)
            self.assertEqual(out.returncode, 0, out.stderr)
            with open(page, encoding="utf-8") as f:
                text = f.read()
            self.assertNotRegex(text, r"(src|href)=\"https?:")  # nothing from the network
            c = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                                "--no-first-run", "--disable-extensions",
                                "--user-data-dir=" + os.path.join(tmp, "profile"),
                                "--enable-logging=stderr", "--v=0", "--dump-dom",
                                "file://" + page], capture_output=True, text=True, timeout=120)
            dom, log = c.stdout, c.stderr
            self.assertIn('data-ready="1"', dom, log[-3000:])
            console = [l for l in log.splitlines() if "CONSOLE" in l]
            # four tables (types, leaks, the peak of each of the two
            # processes; no errors) and seven charts: memory in use and
            # allocations by type, waste by size class, memory over time of
            # each process, bytes by leak kind, bytes lost by site; and the
            # flame graph (test_html.py)
            self.assertTrue(any("memtype report ready: 4 tables, 7 charts, 1 flame graph" in l
                                for l in console),
                            console)
            self.assertFalse([l for l in console if "Uncaught" in l or "rror" in l], console)
            self.assertEqual(dom.count('<svg class="chart"'), 5, dom[:2000])
            self.assertGreater(dom.count("<rect "), 8)
            self.assertIn("new_node (leaky.c:27)", dom)
        finally:
            shutil.rmtree(tmp)


class Waste(unittest.TestCase):
    def test_the_waste_table_matches_the_hand_computed_figures(self):
        # examples/size_waste.c: 1000 x 20 bytes (32-byte slots), 500 x 100
        # (112), 300 x 1000 (1024), 10 x 5000 (5120), 5 x 100000 (25 pages).
        tmp = tempfile.mkdtemp(prefix="memtype-waste.")
        try:
            prog = os.environ.get("MEMTYPE_SIZE_WASTE", "build/bin/size_waste")
            r, files = run_with_dump([prog], tmp, MEMTYPE_LEAKS="0")
            self.assertEqual(r.returncode, 0, r.stderr)
            out = report("--waste", files[0]).stdout
            rows = {int(l.split()[0]): l.split()[1:] for l in out.splitlines()
                    if l.split() and l.split()[0].isdigit()}
            # MALLOC_PROFILE's rows: rounded size -> requests, real size, waste
            self.assertEqual(rows[32][:2], ["1000", "32"])
            self.assertEqual(rows[112][:2], ["500", "112"])
            self.assertEqual(rows[1008], ["300", "1024", str(300 * (1024 - 1008)),
                                          str(300 * (1024 - 993))])
            self.assertEqual(rows[5008], ["10", "5120", str(10 * (5120 - 5008)),
                                          str(10 * (5120 - 4993))])
            self.assertRegex(out, r"larger +5 +pages +12000 +12000  \(500000 bytes asked, "
                                  r"512000 handed out\)")
            # The size table agrees with the type table: 1000 x 20 bytes in
            # 32-byte slots waste 12000 bytes (37.5%), within the 32-byte row's
            # bounds (requests of 17..32 bytes: 0 to 15000), not "0 waste".
            self.assertEqual(rows[32], ["1000", "32", "0", "15000"])
            self.assertEqual(rows[112], ["500", "112", "0", str(500 * 15)])
            # the program's own blocks, exactly
            real = 1000 * 32 + 500 * 112 + 300 * 1024 + 10 * 5120 + 5 * 25 * 4096
            asked = 1000 * 20 + 500 * 100 + 300 * 1000 + 10 * 5000 + 5 * 100000
            by_type = {l.split()[0]: l.split()[-5:] for l in out.splitlines()
                       if l.startswith("make_")}
            self.assertEqual(by_type["make_key"], ["1000", "20000", "32000", "12000", "37.5%"])
            low, high = int(rows[32][2]), int(rows[32][3])
            self.assertTrue(low <= 12000 <= high, rows[32])
            self.assertEqual(by_type["make_image"], ["5", "500000", "512000", "12000", "2.3%"])
            got = sum(int(v[2]) for v in by_type.values())
            self.assertEqual((got, sum(int(v[1]) for v in by_type.values())), (real, asked))
            total = re.search(r"Total memory used: (\d+) bytes; total waste: (\d+) bytes", out)
            # stdio's buffer (puts) is the only other block: 1024 asked... or a page
            self.assertGreaterEqual(int(total.group(1)), real)
            self.assertGreaterEqual(int(total.group(2)), real - asked)
        finally:
            shutil.rmtree(tmp)


class Diff(unittest.TestCase):
    def test_growth_between_two_dumps_of_one_run(self):
        tmp = tempfile.mkdtemp(prefix="memtype-diff.")
        try:
            code = ("import os, signal\n"
                    "def grow(n): return [bytearray(1000) for _ in range(n)]\n"
                    "a = grow(100)\n"
                    "os.kill(os.getpid(), signal.SIGUSR2)\n"
                    "b = grow(3000)\n"
                    "os.kill(os.getpid(), signal.SIGUSR2)\n")
            r, files = run_with_dump(["/usr/bin/python3", "-c", code], tmp,
                                     MEMTYPE_DUMP_SIGNAL="USR2", PYTHONMALLOC="malloc",
                                     MEMTYPE_LEAKS="0")
            self.assertEqual(r.returncode, 0, r.stderr)
            # In the order they were written: <dump>.1, then <dump>.2 (their
            # modification times may be equal, the file system's clock being
            # coarser than the time between the two signals).
            sig = sorted((f for f in files if dump.load(f).reason == "dump signal"),
                         key=lambda f: int(f.rsplit(".", 1)[1]))
            self.assertEqual([f.rsplit(".", 1)[1] for f in sig], ["1", "2"], files)
            d = subprocess.run([CMD, "diff"] + sig, capture_output=True, text=True)
            self.assertEqual(d.returncode, 0, d.stderr)
            rows = d.stdout.splitlines()
            self.assertRegex(rows[0], r"^memtype: growth of python3[.0-9]* from pid \d+")
            top = rows[2].split()
            # the bytearrays: 3000 more blocks of ~1 KiB in use at the second dump
            self.assertGreaterEqual(int(top[-5]) - int(top[-6]), 3000)  # InUse B - InUse A
            self.assertRegex(rows[2], r" \+(29|30|31|32|33)\d\dK ")
        finally:
            shutil.rmtree(tmp)


class RunSummary(unittest.TestCase):
    def test_run_ends_with_leaks_errors_top_types_and_the_dump(self):
        tmp = tempfile.mkdtemp(prefix="memtype-run.")
        try:
            env = clean_env()
            r = subprocess.run([CMD, "run", "--lib", LIB, "--", os.path.join(BUGS, "leaky"),
                                "leaks"], env=env, cwd=tmp, capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stderr, r"memtype: run summary: 1 process \(leaky\); 0 heap errors; "
                                       r"leaks: definitely lost 96 bytes in 2 blocks, indirectly "
                                       r"lost 480 bytes in 10 blocks, possibly lost 64 bytes in 1 blocks")
            self.assertRegex(r.stderr, r"memtype: most memory in use at exit: .*new_node \(leaky.c:27\)")
            f, = glob.glob(os.path.join(tmp, "memtype-run.leaky.1", "*.mtd"))
            self.assertIn("memtype: dumps of this run in memtype-run.leaky.1/: %s; full report: "
                          "memtype report --leaks --errors --table %s\n" % (
                              os.path.basename(f), os.path.relpath(f, tmp)), r.stderr)
        finally:
            shutil.rmtree(tmp)


class TypeNames(unittest.TestCase):
    """tests/py/small_types.c: a type is named by the function that calls
    an inlined wrapper, not by the wrapper; two call sites on one line are
    two rows that read differently; memory under 1 KiB is shown in bytes;
    the table at exit and the report name and size a type alike."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="memtype-names.")
        prog = os.environ.get("MEMTYPE_SMALL_TYPES", "build/bin/small_types")
        cls.result, files = run_with_dump([prog], cls.tmp, MEMTYPE_STATS="1", MEMTYPE_LEAKS="0")
        assert cls.result.returncode == 0, cls.result.stderr
        out = report("--table", files[0]).stdout
        # label -> [InUse, MemUse, HighUse, Waste, Requests, Size(s)]
        cls.rows = {}
        for line in out.splitlines()[2:]:
            words = line.split()
            cls.rows.setdefault(" ".join(words[:-6]), []).append(words[-6:])
        cls.exit_rows = {}
        for line in cls.result.stderr.splitlines():
            m = re.match(r"memtype: (\S+)\+0x[0-9a-f]+ \(small_types\) +(.*)", line)
            if m:
                cls.exit_rows.setdefault(m.group(1), []).append(m.group(2).split())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_a_type_allocated_through_an_inlined_wrapper_is_named_by_its_caller(self):
        self.assertIn("make_a (small_types.c:12)", self.rows)
        self.assertIn("make_b (small_types.c:13)", self.rows)
        self.assertFalse([l for l in self.rows if "wrap_alloc" in l or "_wrap.h" in l], self.rows)

    def test_distinct_call_sites_never_share_a_label(self):
        self.assertTrue(all(len(v) == 1 for v in self.rows.values()), self.rows)
        either = sorted(l for l in self.rows if l.startswith("either (small_types.c:15) ["))
        self.assertEqual(len(either), 2, self.rows)
        self.assertRegex(either[0], r"\[small_types\+0x[0-9a-f]+\]$")

    def test_memory_under_a_kib_is_shown_in_bytes_at_exit_and_in_the_report(self):
        self.assertEqual(self.rows["make_a (small_types.c:12)"][0][1:3], ["48B", "48B"])
        self.assertEqual(self.rows["make_b (small_types.c:13)"][0][1:3], ["2K", "2K"])
        self.assertEqual(sorted(r[0][1] for l, r in self.rows.items() if l.startswith("either")),
                         ["100B", "200B"])
        self.assertEqual(self.exit_rows["make_a"][0][1:3], ["48B", "48B"])
        self.assertEqual(self.exit_rows["make_b"][0][1:3], ["2K", "2K"])
        self.assertEqual(sorted(r[1] for r in self.exit_rows["either"]), ["100B", "200B"])

    def test_the_table_at_exit_and_the_report_name_the_same_functions(self):
        report_funcs = sorted(l.split()[0] for l in self.rows
                              for _ in range(len(self.rows[l])) if "small_types.c" in l)
        exit_funcs = sorted(f for f, v in self.exit_rows.items() for _ in v)
        self.assertEqual(report_funcs, ["either", "either", "make_a", "make_b"])
        self.assertEqual(exit_funcs, report_funcs)
        # libc's blocks: its public names, not its internal __GI_ aliases
        # (which the table at exit gave where libc's symbol table has them)
        self.assertNotRegex(self.result.stderr, r"(?m)^memtype: __GI_")


class Symbolization(unittest.TestCase):
    def test_inlined_frames_are_shown(self):
        tmp = tempfile.mkdtemp(prefix="memtype-inline.")
        try:
            r, files = run_with_dump([FAILPROG, "header", "10"], tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(report("--json", files[0]).stdout)
            stacks = [t["stack"] for t in doc["processes"][0]["types"] if t["stack"]]
            inl = [s for s in stacks if s[0]["function"] == "site_h"]
            self.assertTrue(inl, stacks)
            self.assertEqual((inl[0][0]["file"], inl[0][0]["inlined"]), ("failprog_inline.h", True))
            self.assertEqual((inl[0][1]["function"], inl[0][1]["file"]), ("header", "failprog.c"))
        finally:
            shutil.rmtree(tmp)

    def test_cxx_names_are_demangled(self):
        tmp = tempfile.mkdtemp(prefix="memtype-cxx.")
        try:
            r, files = run_with_dump([os.environ.get("MEMTYPE_CXX_LEAK", "build/bin/cxx_leak")], tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = report("--leaks", files[0]).stdout
            self.assertRegex(out, r"144 bytes in 3 blocks are definitely lost, type "
                                  r"cache::make_entry\(int\) \(cxx_leak\.cc:10\)")
            self.assertRegex(out, r"#0 cache::make_entry\(int\) \(cxx_leak\.cc:10\)")
        finally:
            shutil.rmtree(tmp)

    def test_a_missing_or_changed_binary_degrades_with_a_note(self):
        tmp = tempfile.mkdtemp(prefix="memtype-gone.")
        try:
            prog = os.path.join(tmp, "leaky")
            shutil.copy(os.path.join(BUGS, "leaky"), prog)
            r, files = run_with_dump([prog, "leaks"], tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
            good = report("--leaks", files[0]).stdout
            self.assertIn("new_node (leaky.c:27)", good)
            shutil.copy("/bin/true", prog)  # another program at the same path
            changed = report("--leaks", files[0])
            self.assertEqual(changed.returncode, 0, changed.stderr)
            self.assertNotIn("leaky.c:27", changed.stdout)
            self.assertRegex(changed.stdout, r"#0 0x[0-9a-f]+ \(leaky\+0x[0-9a-f]+\)")
            self.assertRegex(changed.stdout, r"memtype: note: no file:line for 1 module \(leaky: "
                                             r"changed since the run: its build-id differs\)")
            os.unlink(prog)
            gone = report("--leaks", files[0])
            self.assertEqual(gone.returncode, 0, gone.stderr)
            self.assertRegex(gone.stdout, r"memtype: note: no file:line for 1 module \(leaky: missing\)")
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main()
