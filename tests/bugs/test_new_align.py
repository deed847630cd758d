"""Guarded operator new blocks keep C++'s alignment where the code relies on
it: new_align.cc built by clang++ (which initialises a new'd 40-byte object
with aligned SSE stores) and by g++ (which does not, so the block keeps the
exact rule: flush with its guard page). Needs clang++ and g++ (scripts/deps.sh
installs both)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "py"))
from mtenv import clean_env  # noqa: E402

LIB = os.environ.get("MEMTYPE_LIB_PATH", os.path.join(HERE, "..", "..", "build", "lib",
                                                      "libmemtype.so"))
GUARD_ALL = {"MEMTYPE_GUARD": "*", "MEMTYPE_GUARD_COST": "100", "MEMTYPE_GUARD_RSS": "0"}


class NewAlignment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mtnewal.")
        cls.bins = {}
        for cxx in ("clang++", "g++"):
            exe = shutil.which(cxx)
            if exe is None:
                raise unittest.SkipTest("%s is not installed (scripts/deps.sh installs it)" % cxx)
            out = os.path.join(cls.tmp, cxx.rstrip("+"))
            subprocess.run([exe, "-O2", "-g", os.path.join(HERE, "new_align.cc"), "-o", out],
                           check=True)
            cls.bins[cxx] = out

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_prog(self, cxx, *args, preload=True):
        env = clean_env()
        if preload:
            env.update(GUARD_ALL, LD_PRELOAD=LIB)
        # In the scratch directory: the dumps the runs write go there, not into the sources.
        return subprocess.run([self.bins[cxx], *args], env=env, capture_output=True, text=True,
                              timeout=120, cwd=self.tmp)

    def test_clang_code_gets_new_s_alignment(self):
        plain = self.run_prog("clang++", preload=False)
        self.assertEqual(plain.stdout, "0\ndone\n")
        r = self.run_prog("clang++")
        self.assertEqual((r.returncode, r.stdout), (0, "0\ndone\n"), r.stderr)
        self.assertEqual(r.stderr, "")

    def test_gcc_code_keeps_the_block_flush_with_its_guard_page(self):
        r = self.run_prog("g++")
        self.assertEqual((r.returncode, r.stdout), (0, "8\ndone\n"), r.stderr)
        r = self.run_prog("g++", "overflow")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("heap-buffer-overflow WRITE", r.stderr)
        self.assertRegex(r.stderr, r"detected at:\n    #0 0x[0-9a-f]+ in main\+0x[0-9a-f]+ "
                                   r"\(new_align\.cc:2[0-9]\)")


if __name__ == "__main__":
    unittest.main()
