"""Redzones on both sides (issue 21, point 1), read off the corpus's
programs in checks mode (MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1): every overflow
and underflow write that stays within the block's redzone is reported once,
as the right kind, on the right side of the right block at the right
distance, with the block's allocation stack; its look-alike is not.
(corpus.py says whether a case is caught; this says the report is right.)"""
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "py"))
from mtenv import LIB, clean_env  # noqa: E402

BIN = os.environ.get("MEMTYPE_BUGS_DIR", "build/bin")
CHECKS = {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"}

# case: (program, kind, distance, side, block size, the function that allocated it)
CASES = {
    "ovf_w1": ("corpus", "overflow", 0, "after", 40, "make"),
    "ovf_w8": ("corpus", "overflow", 7, "after", 40, "make"),
    "ovf_w64_rec": ("corpus", "overflow", 63, "after", 100, "make"),
    "ovf_w1_a16": ("corpus", "overflow", 0, "after", 48, "make"),
    "ovf_w1_run": ("corpus", "overflow", 0, "after", 10000, "make"),
    "ovf_w1_huge": ("corpus", "overflow", 0, "after", 3 << 20, "make"),
    "straddle_w": ("corpus", "overflow", 0, "after", 40, "make"),
    "realloc_shrink_w": ("corpus", "overflow", 7, "after", 40, "resize"),
    "realloc_grow_w": ("corpus", "overflow", 0, "after", 100, "resize"),
    "live_ovf_exit": ("corpus", "overflow", 3, "after", 40, "make"),
    "unf_w1": ("corpus", "underflow", 1, "before", 40, "make"),
    "unf_w40_rec": ("corpus", "underflow", 40, "before", 100, "make"),
    "straddle_unf_w": ("corpus", "underflow", 4, "before", 40, "make"),
    "live_unf_exit": ("corpus", "underflow", 2, "before", 40, "make"),
    "newarr_w1": ("corpus_cxx", "overflow", 0, "after", 40, "make_array"),
    "newarr_w8": ("corpus_cxx", "overflow", 7, "after", 40, "make_array"),
    "newarr_w64_rec": ("corpus_cxx", "overflow", 63, "after", 100, "make_array"),
    "newarr_unf_w1": ("corpus_cxx", "underflow", 1, "before", 40, "make_array"),
    "newarr_unf_w40_rec": ("corpus_cxx", "underflow", 40, "before", 100, "make_array"),
    "live_newarr_exit": ("corpus_cxx", "overflow", 5, "after", 40, "make_array"),
    "vector_w": ("corpus_cxx", "overflow", 0, "after", 40, "make_vector"),
    "vector_unf_w": ("corpus_cxx", "underflow", 1, "before", 40, "make_vector"),
    "string_w": ("corpus_cxx", "overflow", 0, "after", 41, "make_string"),
}


def run(prog, case, variant):
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off"})
    env.update(CHECKS)
    return subprocess.run([os.path.join(BIN, prog), case, variant], env=env,
                          capture_output=True, text=True, timeout=120)


def allocated_at(report):
    """The function names under `block allocated at:` (C++ names may be mangled)."""
    m = re.search(r"^  block allocated at:\n((?:    #\d+ .*\n)+)", report, re.M)
    return re.findall(r"#\d+ 0x[0-9a-f]+ in ([\w:]+)", m.group(1)) if m else []


class Redzones(unittest.TestCase):
    def test_every_write_within_a_redzone_is_reported_on_its_side_of_its_block(self):
        for case, (prog, kind, dist, side, size, maker) in CASES.items():
            with self.subTest(case=case):
                r = run(prog, case, "bad")
                self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
                head = r"(?m)^memtype: ERROR: heap-buffer-%s WRITE at 0x[0-9a-f]+ \(%d bytes %s " \
                       r"a %d-byte block of type " % (kind, dist, side, size)
                self.assertRegex(r.stderr, head)
                self.assertIn("the redzone %s the block was written" % side, r.stderr)
                self.assertTrue(any(maker in f for f in allocated_at(r.stderr)),  # (mangled or not)
                                "%s not in the allocation stack:\n%s" % (maker, r.stderr))
                self.assertEqual(r.returncode, -6, r.stderr)  # MEMTYPE_ON_ERROR=abort

    def test_no_look_alike_is_reported(self):
        for case, (prog, *_rest) in CASES.items():
            with self.subTest(case=case):
                r = run(prog, case, "ok")
                self.assertEqual((r.returncode, r.stderr, r.stdout), (0, "", "done\n"))


if __name__ == "__main__":
    unittest.main()
