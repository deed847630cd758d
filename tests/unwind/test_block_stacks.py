"""Block stacks (core/depot.c): with checks or guard pages on, a write after
free, a read after free and a leak are each reported with the block's own
allocation stack (block_stacks.c: bs_make <- bs_level2 <- bs_level1 <- main)
and, for a freed block, its free stack (bs_drop <- bs_drop2 <- main), at
least three frames of the program's own call chain each: the errors on
stderr and in `memtype report --errors`, the leak in `memtype report
--leaks` from the dump (its stderr LEAK line stays one line, with checks on
or off)."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from mtenv import CMD, LIB, clean_env  # noqa: E402

PROG = os.environ.get("MEMTYPE_BLOCK_STACKS", "build/bin/block_stacks")
ALLOC = ["bs_make", "bs_level2", "bs_level1"]
FREE = ["bs_drop", "bs_drop2", "main"]


def stack_after(text, heading):
    """The function names of the frames under the first line containing
    heading (lines "#i ... in name+0x.." or "#i name (file:line)")."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if heading in line:
            names = []
            for l in lines[i + 1:]:
                m = re.match(r"^\s+#\d+ (?:0x[0-9a-f]+ in )?([A-Za-z_][\w.]*)", l)
                if not m:
                    if re.match(r"^\s+#\d+ ", l):
                        names.append("?")
                        continue
                    break
                names.append(m.group(1).split("+")[0])
            return names
    return None


class BlockStacks(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memtype-block-stacks.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_prog(self, extra, arg=None):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(self.tmp, "d.%p.mtd"),
                    "MEMTYPE_ON_ERROR": "continue", "MEMTYPE_LEAKS": "1"})
        env.update(extra)
        r = subprocess.run([PROG] + ([arg] if arg else []), env=env, cwd=self.tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        dumps = glob.glob(os.path.join(self.tmp, "d.*.mtd"))
        return r, dumps

    def report(self, what, dumps):
        env = clean_env()
        r = subprocess.run([CMD, "report", what] + dumps, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def assertChain(self, names, chain, text):
        self.assertIsNotNone(names, text)
        self.assertEqual(names[:len(chain)], chain, text)

    def test_write_after_free_and_leak_show_the_blocks_own_stacks(self):
        r, dumps = self.run_prog({"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"})
        err = r.stderr
        self.assertIn("memtype: ERROR: write-after-free", err)
        self.assertChain(stack_after(err, "block allocated at:"), ALLOC + ["main"], err)
        self.assertChain(stack_after(err, "block freed at:"), FREE, err)
        leak = err.splitlines()[[l.startswith("memtype: LEAK:") for l in err.splitlines()].index(True) + 1]
        self.assertTrue(leak.startswith("memtype: leak summary:"), err)  # one line per record
        self.assertEqual(len(dumps), 1)
        out = self.report("--errors", dumps)
        self.assertChain(stack_after(out, "allocated at:"), ALLOC + ["main"], out)
        self.assertChain(stack_after(out, "freed at:"), FREE, out)
        out = self.report("--leaks", dumps)
        self.assertChain(stack_after(out, "definitely lost"), ALLOC + ["bs_leak3", "main"], out)

    def test_read_after_free_on_a_guard_page_shows_both_stacks(self):
        r, dumps = self.run_prog({"MEMTYPE_GUARD": "*"}, "read")
        err = r.stderr
        self.assertIn("memtype: ERROR: use-after-free READ", err)
        self.assertChain(stack_after(err, "block allocated at:"), ALLOC + ["main"], err)
        self.assertChain(stack_after(err, "block freed at:"), FREE, err)

    def test_stack_depth_bounds_the_frames_kept(self):
        r, _ = self.run_prog({"MEMTYPE_TRASH": "1", "MEMTYPE_STACK_DEPTH": "2"})
        self.assertEqual(stack_after(r.stderr, "block allocated at:"), ALLOC[:2], r.stderr)
        self.assertEqual(stack_after(r.stderr, "block freed at:"), FREE[:2], r.stderr)

    def test_without_checks_a_leak_has_its_types_stack_only(self):
        r, dumps = self.run_prog({})
        self.assertIn("memtype: LEAK: 50 bytes in 1 block is definitely lost", r.stderr)
        out = self.report("--leaks", dumps)
        self.assertEqual(stack_after(out, "definitely lost"), ["bs_make"], out)


if __name__ == "__main__":
    unittest.main()
