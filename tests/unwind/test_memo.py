"""The stack memo (MEMTYPE_STACK_MEMO, core/sys/unwind.c): a remembered
stack is the one the walk finds. Run with MEMTYPE_STACK_MEMO=2, memtype walks
again at every hit and aborts on a difference (and compares the depot id or
type kept with the frames), then prints its counts at exit; each program
here must run to its end with no difference and with remembered stacks
used: memo_stacks.cc (recursion of varying depth, alloca, two paths at one
stack pointer, C++ containers and exceptions, threads), python3 with
threads, sqlite3 and gcc (cc1 under the driver), at MEMTYPE_DEPTH=16 (types
of 16 frames) and with checks (allocation and free stacks)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from mtenv import LIB, clean_env  # noqa: E402

PROG = os.environ.get("MEMTYPE_MEMO_STACKS", "build/bin/memo_stacks")
LINE = re.compile(r"memtype: stack memo check: (\d+) remembered stacks equal to the walk's, "
                  r"(\d+) values equal, (\d+) walks")
MODES = {"depth16": {"MEMTYPE_DEPTH": "16"},
         "checks": {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"}}

PY = r"""
import json, threading
def work(n):
    d = {}
    for i in range(n):
        d[str(i)] = [i] * (i % 7) + [{"k": str(i) * 3}]
        if i % 5 == 0:
            json.loads(json.dumps(d[str(i)]))
    return len(d)
ts = [threading.Thread(target=work, args=(20000,)) for _ in range(3)]
[t.start() for t in ts]
print(work(20000))
[t.join() for t in ts]
"""

SQL = ("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);\n" +
       "".join("INSERT INTO t(b) VALUES('%s');\n" % ("v%d" % i * 5) for i in range(3000)) +
       "CREATE INDEX tb ON t(b);\nSELECT count(*), sum(length(b)) FROM t WHERE b LIKE 'v1%';\n")

C_SRC = "".join("static int f%d(int x) { int a[%d]; for (int i = 0; i < %d; i++) a[i] = x + i; "
                "return a[%d] * f%d(x - 1); }\n" % (i, i + 2, i + 2, i + 1, i - 1 if i else 0)
                for i in range(200)).replace("f0(x - 1)", "x") + \
    "int main(void) { return f199(3) & 1; }\n"


class StackMemo(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memtype-memo.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_checked(self, argv, mode, stdin=None, memo="2"):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off", "MEMTYPE_STACK_MEMO": memo,
                    "PYTHONMALLOC": "malloc"})
        env.update(MODES[mode])
        r = subprocess.run(argv, env=env, cwd=self.tmp, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=600)
        self.assertNotIn("internal error", r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        counts = [tuple(int(x) for x in m.groups()) for m in LINE.finditer(r.stderr)]
        return r, counts

    def assert_used(self, argv, mode, stdin=None):
        r, counts = self.run_checked(argv, mode, stdin)
        self.assertTrue(counts, "no memo counts printed: " + r.stderr[-2000:])
        hits = sum(c[0] for c in counts)
        values = sum(c[1] for c in counts)
        walks = sum(c[2] for c in counts)
        self.assertGreater(hits, 0, counts)  # remembered stacks were used (and checked)
        self.assertGreater(values, 0, counts)
        self.assertGreater(walks, 0, counts)
        return r

    def test_memo_stacks_cxx_recursion_alloca_threads(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                r = self.assert_used([PROG, "3"], mode)
                self.assertIn("memo_stacks: done 3 threads", r.stdout)

    def test_python3_with_threads(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                r = self.assert_used(["python3", "-c", PY], mode)
                self.assertEqual(r.stdout.strip(), "20000")

    def test_sqlite3(self):
        if not shutil.which("sqlite3"):
            self.skipTest("sqlite3 not installed")
        for mode in MODES:
            with self.subTest(mode=mode):
                r = self.assert_used(["sqlite3", ":memory:"], mode, stdin=SQL)
                self.assertRegex(r.stdout, r"^\d+\|\d+")

    def test_gcc_and_its_cc1(self):
        src = os.path.join(self.tmp, "big.c")
        with open(src, "w") as f:
            f.write(C_SRC)
        for mode in MODES:
            with self.subTest(mode=mode):
                _, counts = self.run_checked(["gcc", "-O2", "-c", src, "-o",
                                              os.path.join(self.tmp, "big.o")], mode)
                self.assertGreaterEqual(len(counts), 2, counts)  # the driver and cc1 (and as)
                self.assertGreater(max(c[0] for c in counts), 0, counts)

    def test_off_and_on_print_no_counts(self):
        for memo in ("0", "1"):
            r, counts = self.run_checked([PROG, "1"], "depth16", memo=memo)
            self.assertEqual(counts, [])
            self.assertIn("memo_stacks: done 1 threads", r.stdout)


if __name__ == "__main__":
    unittest.main()
