"""The live view: `memtype stat PID` reads a running program's statistics
from its live file without stopping it; two reads with work in between
differ; the last read agrees with the exit dump; the file goes at exit and a
forked child gets its own."""
import glob
import os
import subprocess
import unittest

from mtenv import CMD, LIB, clean_env, scratch  # noqa: E402  (also puts report/ on sys.path)
from memtype_report import dump, live  # noqa: E402

PROG = os.environ.get("MEMTYPE_LIVE_PROG", "build/bin/live_prog")


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

    def test_no_live_view_is_a_clear_error(self):
        r = subprocess.run([CMD, "stat", "1"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no live view for pid 1", r.stderr)
        self.assertIn("MEMTYPE_LIVE=1", r.stderr)


if __name__ == "__main__":
    unittest.main()
