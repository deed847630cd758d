"""The live view: `memtype stat PID` reads a running program's statistics
from its live file without stopping it; two reads with work in between
differ; the last read agrees with the exit dump; the file goes at exit and a
forked child gets its own."""
import glob
import os
import subprocess
import tempfile
import time
import unittest

from mtenv import CMD, LIB, clean_env, scratch  # noqa: E402  (also puts report/ on sys.path)
from memtype_report import dump, live  # noqa: E402

PROG = os.environ.get("MEMTYPE_LIVE_PROG", "build/bin/live_prog")
THREADS = os.environ.get("MEMTYPE_LIVE_THREADS", "build/bin/live_threads")
SERVER = os.environ.get("MEMTYPE_LIVE_SERVER", "build/bin/live_server")


def module_paths(snap, d):
    """For every call-site type of the live snapshot that the dump d also
    has: (pc, the live reader's module, the dump's module), real paths."""
    by_pc = {t.pcs[0] for t in d.types if t.pcs}
    out = []
    for t in snap.types:
        if t.pcs and t.pcs[0] in by_pc:
            lm, dm = snap.module_of(t.pcs[0]), d.module_of(t.pcs[0])
            out.append((t.pcs[0], lm and os.path.realpath(lm.path),
                        dm and os.path.realpath(dm.path)))
    return out


def kill_wait(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def grow_row(out):
    rows = [l.split() for l in out.splitlines() if l.startswith("grow (live_prog.c:")]
    return [rows[0][-5], rows[0][-4], rows[0][-2]] if rows else None  # InUse, MemUse, Requests


class Live(unittest.TestCase):
    def setUp(self):
        self.tmp = scratch("memtype-live-test.")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_LIVE": "1",
                    "MEMTYPE_OUTPUT": os.path.join(self.tmp, "d.%p.mtd")})
        self.p = subprocess.Popen([PROG], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=env, text=True)

    def tearDown(self):
        if self.p.poll() is None:  # let it exit: a killed process leaves its file
            try:
                self.p.stdin.write("q\n")
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()

    def command(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        self.assertEqual(self.p.stdout.readline(), "ok\n")

    def stat(self):
        r = subprocess.run([CMD, "stat", str(self.p.pid)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_reads_follow_the_running_program_and_agree_with_the_dump(self):
        self.command("a")
        first = grow_row(self.stat())
        self.command("a")
        self.command("a")
        second = grow_row(self.stat())
        self.assertEqual(first, ["100", "7K", "100"])
        self.assertEqual(second, ["300", "19K", "300"])
        snap = live.read(self.p.pid)
        self.p.stdin.write("q\n")
        self.p.stdin.close()
        self.p.wait()
        self.assertFalse(os.path.exists(live.path_of(self.p.pid)), "live file left behind")
        d = dump.load(os.path.join(self.tmp, "d.%d.mtd" % self.p.pid))
        by_pc = {t.pcs[0]: t for t in d.types if t.pcs}
        for t in snap.types:
            if t.pcs and t.pcs[0] in by_pc and t.allocs >= 100:
                self.assertEqual((t.allocs, t.bytes_alloc),
                                 (by_pc[t.pcs[0]].allocs, by_pc[t.pcs[0]].bytes_alloc))
        self.assertEqual(sum(t.allocs for t in snap.types if t.allocs == 300), 300)

    def test_injected_failures_read_live_equal_the_dumps(self):
        # Each record's `failures` has its own place in the live file (after the counters
        # every malloc writes, in version 2): read live, it must be the dump's count.
        kill_wait(self.p)
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_LIVE": "1", "MEMTYPE_FAILURE_RATE": "4",
                    "MEMTYPE_FAILURE_TYPES": "grow", "MEMTYPE_FAILURE_SEED": "7",
                    "MEMTYPE_OUTPUT": os.path.join(self.tmp, "f.%p.mtd")})
        self.p = subprocess.Popen([PROG], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env, text=True)
        self.command("a")
        self.command("a")
        snap = live.read(self.p.pid)
        self.p.stdin.write("q\n")
        self.p.stdin.close()
        self.p.wait()
        d = dump.load(os.path.join(self.tmp, "f.%d.mtd" % self.p.pid))
        got = {t.pcs[0]: (t.allocs, t.failures) for t in snap.types if t.pcs and t.failures}
        want = {t.pcs[0]: (t.allocs, t.failures) for t in d.types if t.pcs and t.failures}
        self.assertEqual(len(want), 1, want)
        self.assertEqual(got, want)
        (allocs, failures), = want.values()
        self.assertEqual(allocs + failures, 200)
        self.assertTrue(20 < failures < 90, failures)

    def test_a_forked_child_writes_its_own_file_not_the_parents(self):
        self.command("a")
        before = live.read(self.p.pid)
        files_before = set(glob.glob("/dev/shm/memtype.*.live"))
        self.command("f")  # the child allocates 1000 blocks and exits
        after = live.read(self.p.pid)
        total = lambda d: sum(t.allocs for t in d.types)
        self.assertEqual(total(after), total(before))
        self.assertEqual(set(glob.glob("/dev/shm/memtype.*.live")), files_before)
        self.assertIn(live.path_of(self.p.pid), files_before)

    def test_a_running_python3_shows_its_types_changing(self):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_LIVE": "1", "MEMTYPE_OUTPUT": "off",
                    "PYTHONMALLOC": "malloc"})
        script = ("import sys\nkeep = []\nfor line in sys.stdin:\n"
                  "    keep.append([str(i) * 3 for i in range(20000)])\n"
                  "    print('ok', flush=True)\n")
        p = subprocess.Popen(["/usr/bin/python3", "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, text=True)
        try:
            reads = []
            for _ in range(2):
                p.stdin.write("grow\n")
                p.stdin.flush()
                self.assertEqual(p.stdout.readline(), "ok\n")
                reads.append(live.read(p.pid))
            total = [sum(t.in_use_bytes for t in d.types) for d in reads]
            allocs = [sum(t.allocs for t in d.types) for d in reads]
            self.assertGreater(total[1] - total[0], 20000 * 8)  # the second list is live
            self.assertGreater(allocs[1] - allocs[0], 20000)
            self.assertTrue(any("python3" in m.path for m in reads[1].modules))
        finally:
            p.stdin.close()
            p.wait(timeout=30)
        self.assertFalse(os.path.exists(live.path_of(p.pid)))

    def test_a_threaded_program_with_a_library_is_attributed_to_its_modules(self):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_LIVE": "1",
                    "MEMTYPE_OUTPUT": os.path.join(self.tmp, "t.%p.mtd")})
        p = subprocess.Popen([THREADS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=env, text=True)
        try:
            self.assertEqual(p.stdout.readline(), "ready\n")
            snap = live.read(p.pid)
            r = subprocess.run([CMD, "stat", str(p.pid)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            p.stdin.write("q\n")
            p.stdin.close()
            self.assertEqual(p.wait(timeout=30), 0)
        finally:
            kill_wait(p)
        self.assertFalse(os.path.exists(live.path_of(p.pid)), "live file left behind")
        for m in snap.modules:
            self.assertFalse(m.path.startswith("/dev/shm/"), "the live file taken for a module")
        # The 4 threads' 4000 blocks and the 10 the library's constructor
        # allocated before memtype's constructor ran: both in the live view.
        lib = [t for t in snap.types if t.pcs and snap.module_of(t.pcs[0])
               and "liblive_lib" in snap.module_of(t.pcs[0]).path]
        self.assertEqual(sorted(t.allocs for t in lib), [10, 4000], r.stdout)
        self.assertRegex(r.stdout, r"lib_alloc \(live_lib\.c:\d+\) +4000 ")
        self.assertRegex(r.stdout, r"early_alloc \(live_lib\.c:\d+\) +10 ")
        d = dump.load(os.path.join(self.tmp, "t.%d.mtd" % p.pid))
        pairs = module_paths(snap, d)
        self.assertGreaterEqual(len(pairs), 3)
        for pc, lm, dm in pairs:
            self.assertEqual(lm, dm, "pc %#x: live module %s, dump module %s" % (pc, lm, dm))

    def test_python3_call_sites_are_in_python_modules_as_in_its_dump(self):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_LIVE": "1", "PYTHONMALLOC": "malloc",
                    "MEMTYPE_OUTPUT": os.path.join(self.tmp, "py.%p.mtd")})
        script = ("import sys, sqlite3, json\nkeep = [json.dumps({'a': i}) for i in range(5000)]\n"
                  "c = sqlite3.connect(':memory:')\nc.execute('create table t(a)')\n"
                  "c.executemany('insert into t values (?)', [(k,) for k in keep])\n"
                  "print('ok', flush=True)\nsys.stdin.readline()\n")
        p = subprocess.Popen(["/usr/bin/python3", "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, text=True)
        try:
            self.assertEqual(p.stdout.readline(), "ok\n")
            snap = live.read(p.pid)
            p.stdin.write("\n")
            p.stdin.close()
            self.assertEqual(p.wait(timeout=60), 0)
        finally:
            kill_wait(p)
        for m in snap.modules:
            self.assertFalse(m.path.startswith("/dev/shm/"), "the live file taken for a module")
        d = dump.load(os.path.join(self.tmp, "py.%d.mtd" % p.pid))
        pairs = module_paths(snap, d)
        self.assertGreaterEqual(len(pairs), 10)
        for pc, lm, dm in pairs:
            self.assertEqual(lm, dm, "pc %#x: live module %s, dump module %s" % (pc, lm, dm))
        self.assertTrue(any("sqlite3" in (lm or "") for _, lm, _ in pairs))

    @unittest.skipUnless(os.geteuid() == 0, "needs root: the workers take uid 65534")
    def test_a_forking_server_whose_workers_change_user(self):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_LIVE": "1",
                    "MEMTYPE_OUTPUT": os.path.join(self.tmp, "s.%p.mtd")})
        os.chmod(self.tmp, 0o777)  # the workers (nobody) write their dumps there
        p = subprocess.Popen([SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=env, text=True)
        try:
            workers = sorted(int(p.stdout.readline().split()[1]) for _ in range(2))
            killed = None
            for w in workers:
                f = live.path_of(w)
                st = os.stat(f)
                # The worker's own file, given to its user.
                self.assertEqual(st.st_uid, 65534, "%s owned by uid %d" % (f, st.st_uid))
                r = subprocess.run([CMD, "stat", str(w)], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, r"grow \(live_server\.c:\d+\) +500 ")
            # Every file small, the parent's too, after the forks and the
            # reads: a fork copies only the pages the file has, and neither
            # the copy nor a reader gives a file pages where it has holes.
            for pid in workers + [p.pid]:
                f = live.path_of(pid)
                used = os.stat(f).st_blocks * 512
                self.assertLess(used, 512 << 10, "%s takes %d bytes" % (f, used))
            # The second worker dies of SIGKILL: its file stays; `memtype
            # stat` says the process is gone and removes it.
            p.stdin.write("k\n")
            p.stdin.flush()
            self.assertEqual(p.stdout.readline(), "ok\n")
            killed = workers[1] if os.path.exists(live.path_of(workers[1])) else None
            ours = [w for w in workers if w != killed]
            r = subprocess.run([CMD, "stat", str(killed or workers[1])], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertEqual(r.stdout, "")
            self.assertIn("no process %d" % (killed or workers[1]), r.stderr)
            self.assertFalse(os.path.exists(live.path_of(workers[1])))
            p.stdin.write("q\n")
            p.stdin.close()
            self.assertEqual(p.stdout.read(), "ok\n")
            self.assertEqual(p.wait(timeout=30), 0)
        finally:
            kill_wait(p)
        # The worker that exited as nobody removed its own file, the parent too.
        for pid in ours + [p.pid]:
            self.assertFalse(os.path.exists(live.path_of(pid)), "%s left behind" %
                             live.path_of(pid))

    def test_a_process_that_execs_a_program_without_memtype_is_not_shown_stale(self):
        # env runs under memtype (its live file made), drops LD_PRELOAD and
        # execs sleep: the pid lives on without memtype; its file is stale.
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_LIVE": "1", "MEMTYPE_OUTPUT": "off"})
        p = subprocess.Popen(["/usr/bin/env", "-u", "LD_PRELOAD", "/bin/sleep", "30"], env=env)
        try:
            f = live.path_of(p.pid)
            for _ in range(100):
                if os.path.exists(f):
                    break
                time.sleep(0.05)
            self.assertTrue(os.path.exists(f))
            for _ in range(200):  # until sleep runs (env's file no longer mapped)
                with open("/proc/%d/cmdline" % p.pid, "rb") as c:
                    if c.read().startswith(b"/bin/sleep"):
                        break
                time.sleep(0.05)
            time.sleep(2.2)  # not a file just made
            r = subprocess.run([CMD, "stat", str(p.pid)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertEqual(r.stdout, "")
            self.assertIn("process %d no longer runs under memtype" % p.pid, r.stderr)
            self.assertFalse(os.path.exists(f), "stale live file left")
        finally:
            kill_wait(p)

    def test_no_live_view_is_a_clear_error(self):
        r = subprocess.run([CMD, "stat", "1"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no live view for pid 1", r.stderr)
        self.assertIn("MEMTYPE_LIVE=1", r.stderr)


if __name__ == "__main__":
    unittest.main()
