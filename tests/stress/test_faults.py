"""Faults of the world: memtype in a process that runs out of address space
or of mappings, with a dump directory that is missing, read-only or full,
and with its dump killed while it is being written. In each, the program
must behave as with glibc (allocations fail with ENOMEM and work again once
memory is freed, the exit status stays), memtype must not crash or report
an error that is not there, and no dump may be taken for a whole one unless
it is."""
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "py"))
from mtenv import CMD, LIB, clean_env  # noqa: E402  (also puts report/ on sys.path)
from memtype_report import dump  # noqa: E402

FAULTS = os.environ.get("MEMTYPE_FAULTS", "build/bin/faults")
FAULTS_NEW = os.environ.get("MEMTYPE_FAULTS_NEW", "build/bin/faults_new")
STAT_TOOL = os.environ.get("MEMTYPE_STAT_TOOL", "build/bin/memtype-stat")
CHECKS = {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1", "MEMTYPE_GUARD_RATE": "100",
          "MEMTYPE_LEAKS": "1"}


def run(argv, tmp, timeout=180, **extra):
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.%e.%p.mtd")})
    env.update(extra)
    return subprocess.run(argv, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout)


def memtype_lines(stderr):
    return [ln for ln in stderr.splitlines() if ln.startswith("memtype:")]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memtype-faults.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_clean(self, r, what):
        self.assertNotIn("memtype: ERROR", r.stderr, what)
        self.assertNotIn("memtype: LEAK:", r.stderr, what)
        self.assertNotIn("FAIL", r.stderr, what)

    def the_dump(self, prog):
        files = glob.glob(os.path.join(self.tmp, "d.%s.*.mtd" % prog))
        self.assertEqual(len(files), 1, files)
        return dump.load(files[0])


class AddressSpace(Base):
    """RLIMIT_AS set by the program to what it has mapped + N MiB."""

    def check_as(self, how, mb, **extra):
        r = run([FAULTS, "as", str(mb), how], self.tmp, **extra)
        what = "faults as %s %s %s\n%s\n%s" % (mb, how, extra, r.stdout, r.stderr)
        self.assertEqual(r.returncode, 0, what)
        self.assert_clean(r, what)
        m = re.search(r"blocks=(\d+)", r.stdout)
        self.assertTrue(m and int(m.group(1)) > 0, what)
        d = self.the_dump("faults")  # reporting still works: the exit dump is whole
        self.assertEqual(d.reason, "exit")
        self.assertEqual(d.errors_total, 0)
        return d

    def test_every_entry_point_fails_with_enomem_and_works_again_after_free(self):
        d = self.check_as("free", 256)
        self.assertIsNotNone(d.leaks)

    def test_small_blocks_and_memtypes_own_tables_run_out_first(self):
        self.check_as("smallfirst", 96)

    def test_with_every_check_on(self):
        self.check_as("free", 256, **CHECKS)
        shutil.rmtree(self.tmp)
        os.mkdir(self.tmp)
        self.check_as("smallfirst", 96, **CHECKS)

    def test_the_exit_dump_is_written_at_the_limit(self):
        self.check_as("full", 256)

    def test_new_throws_bad_alloc_and_nothrow_new_returns_null(self):
        r = run([FAULTS_NEW, "256"], self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_clean(r, r.stderr)
        self.assertRegex(r.stdout, r"bad_alloc=[4-9]")
        self.assertEqual(self.the_dump("faults_new").errors_total, 0)


class Mappings(Base):
    """vm.max_map_count reached: the program takes the mappings first."""

    def check_maps(self, spare, misses_expected=True, **extra):
        r = run([FAULTS, "maps", str(spare)], self.tmp, **extra)
        what = "%s spare %d\n%s\n%s" % (extra, spare, r.stdout, r.stderr)
        self.assertEqual(r.returncode, 0, what)
        self.assert_clean(r, what)
        # memguard falls back (counted as misses) and leaves the heap the
        # mappings it needs: no allocation fails.
        self.assertRegex(r.stdout, r"blocks=20000 nulls=0", what)
        d = self.the_dump("faults")
        guarded = sum(g for g, _ in d.guard.values())
        misses = sum(m for _, m in d.guard.values())
        if misses_expected:
            self.assertGreater(misses, 0, what)
        else:  # a few may still miss for the cost bound (wall time: the machine's load)
            self.assertLessEqual(misses, (guarded + misses) // 20, what)
        self.assertGreater(guarded, 0, what)
        return d, guarded, misses

    def test_guard_everything_falls_back_at_the_mapping_limit(self):
        for spare in (10, 300):
            self.check_maps(spare, MEMTYPE_GUARD="*")
            for f in glob.glob(os.path.join(self.tmp, "*.mtd")):
                os.unlink(f)

    def test_guard_sampling_falls_back_at_the_mapping_limit(self):
        # mprotect splits a mapping per guarded block: at the limit memguard
        # falls back and the heap keeps the mappings it needs.
        d, guarded, _ = self.check_maps(100, MEMTYPE_GUARD_RATE="3", MEMTYPE_TRASH="1",
                                        MEMTYPE_GUARD_METHOD="mprotect")
        self.assertEqual(d.guard_method, "mprotect")
        self.assertLess(guarded, 20000 // 3 // 2)

    def test_guard_sampling_needs_no_mapping_with_madvise(self):
        # MADV_GUARD_INSTALL splits nothing: with 100 mappings to spare the
        # sampled blocks (one in 3) are guarded; none falls back for the
        # mapping limit (mprotect: 50 of 6667 guarded).
        probe = run([FAULTS, "status", "0"], self.tmp, MEMTYPE_GUARD_RATE="3",
                    MEMTYPE_GUARD_METHOD="madvise")
        if "no MADV_GUARD_INSTALL" in probe.stderr:
            self.skipTest("this kernel has no MADV_GUARD_INSTALL")
        for f in glob.glob(os.path.join(self.tmp, "*.mtd")):
            os.unlink(f)
        # The cost bound off: it counts guarding's whole time (a lock, the
        # patterns, a stack a block), which a loaded machine can push past
        # 25 % with one block in 3 guarded; this test is of mappings.
        d, guarded, _ = self.check_maps(100, misses_expected=False, MEMTYPE_GUARD_RATE="3",
                                        MEMTYPE_TRASH="1", MEMTYPE_GUARD_METHOD="madvise",
                                        MEMTYPE_GUARD_COST="100")
        self.assertEqual(d.guard_method, "madvise")
        self.assertGreaterEqual(guarded, 20000 // 3 * 19 // 20)


def mount_tmpfs(where, size):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", where],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


class DumpDirectory(Base):
    """The dump cannot be written: one warning line, the status unchanged."""

    def one_warning(self, r, start):
        lines = memtype_lines(r.stderr)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("memtype: warning: " + start), lines[0])
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    def mounted(self, size, name="mnt"):
        where = os.path.join(self.tmp, name)
        os.mkdir(where)
        ok, err = mount_tmpfs(where, size)
        if not ok:
            self.skipTest("cannot mount a tmpfs here (%s): read-only and full directories "
                          "need root" % err)
        # Cleanups run last in, first out, after tearDown: the mount goes
        # first, then the directory it was on (tearDown's rmtree could not).
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(subprocess.run, ["umount", "-l", where])
        return where

    def test_missing_directory(self):
        r = run([FAULTS, "status", "7"], self.tmp,
                MEMTYPE_OUTPUT=os.path.join(self.tmp, "no", "such", "dir", "d.mtd"))
        self.one_warning(r, "cannot create the dump")

    def test_read_only_directory(self):
        where = self.mounted("1m")
        r = subprocess.run(["mount", "-o", "remount,ro", where], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run([FAULTS, "status", "7"], self.tmp, MEMTYPE_OUTPUT=os.path.join(where, "d.%p.mtd"))
        self.one_warning(r, "cannot create the dump")
        self.assertIn("(Read-only file system)", r.stderr)
        self.assertEqual(os.listdir(where), [])

    def fill(self, where, leave):
        fd = os.open(os.path.join(where, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.close(fd)
        if leave:
            os.truncate(os.path.join(where, "filler"), os.path.getsize(os.path.join(where, "filler")) - leave)

    def test_full_directory(self):
        for leave in (0, 4096):  # no room at all; room for a part of the dump (7 KB)
            where = self.mounted("256k", "full%d" % leave)
            self.fill(where, leave)
            r = run([FAULTS, "status", "7"], self.tmp, MEMTYPE_OUTPUT=os.path.join(where, "d.%p.mtd"))
            self.one_warning(r, "writing the dump")
            self.assertIn("(No space left on device)", r.stderr)
            # What was written is never taken for a whole dump.
            for f in glob.glob(os.path.join(where, "d.*.mtd")):
                with self.assertRaises(dump.DumpError) as e:
                    dump.load(f)
                self.assertRegex(str(e.exception), "incomplete|not a memtype dump|truncated")
                c = subprocess.run([STAT_TOOL, f], capture_output=True, text=True)
                self.assertNotEqual(c.returncode, 0)
                self.assertRegex(c.stderr, "incomplete|not a memtype dump|truncated|short")


class KilledMidway(Base):
    """SIGKILL while the exit dump is written (a big one: 16384 stack types in
    9 threads' slots, 15 MB, about 0.1 s to write): a file left at the dump's
    path is either whole or refused by both readers, never read as a whole one."""

    def test_a_dump_killed_midway_is_never_taken_for_a_whole_one(self):
        rng = random.Random(1234)
        outcome = {"whole": 0, "refused": 0, "none": 0}
        env = {"MEMTYPE_DEPTH": "16", "MEMTYPE_OUTPUT": os.path.join(self.tmp, "k.%p.mtd")}
        for i in range(12):
            e = clean_env()
            e.update({"LD_PRELOAD": LIB})
            e.update(env)
            p = subprocess.Popen([FAULTS, "big", "7", "8"], env=e, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
            for line in p.stdout:
                if line.startswith("exiting"):
                    break
            path = os.path.join(self.tmp, "k.%d.mtd" % p.pid)
            deadline = time.monotonic() + 60
            while not os.path.exists(path) and p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0002)
            # Kill somewhere in the write, or just after it.
            time.sleep(rng.uniform(0, 0.15))
            p.kill()
            p.wait()
            p.stdout.close()
            if not os.path.exists(path):
                outcome["none"] += 1
                continue
            c = subprocess.run([STAT_TOOL, path], capture_output=True, text=True)
            rep = subprocess.run([CMD, "report", "--types", "--no-symbolize", path],
                                 capture_output=True, text=True, env=clean_env())
            try:
                d = dump.load(path)
            except dump.DumpError as err:
                outcome["refused"] += 1
                self.assertRegex(str(err), "incomplete|truncated")
                self.assertNotEqual(c.returncode, 0, c.stdout)
                self.assertRegex(c.stderr, "incomplete|truncated")
                self.assertNotEqual(rep.returncode, 0)
                self.assertNotIn("Traceback", rep.stderr)
                self.assertRegex(rep.stderr, "incomplete|truncated")
            else:
                outcome["whole"] += 1
                self.assertEqual(d.reason, "exit")
                self.assertEqual(c.returncode, 0, c.stderr)
                self.assertEqual(rep.returncode, 0, rep.stderr)
            os.unlink(path)
        print("\nkilled while dumping: %s" % outcome, file=sys.stderr)
        self.assertGreater(outcome["refused"], 0, "no kill landed inside a write: %s" % outcome)


if __name__ == "__main__":
    unittest.main()
