"""corpus.py reads memtype's stderr right: where a report was made, whether it
names the access's line, a wrong kind, a leak, a clean look-alike. Fed
report blocks in the shape of DESIGN.md's contract (no program is run), so
that a matrix cell cannot be wrong because the reader is."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

RULE = "=" * 65


def report(headline, frames):
    return "\n".join([RULE, "memtype: ERROR: " + headline,
                      "  thread 1 (corpus) of process 1 (corpus)", "  detected at:"] +
                     ["    #%d %s" % (i, f) for i, f in enumerate(frames)] +
                     ["  block allocated at:", "    #0 0x1 in make+0xe (corpus)",
                      "memtype will now abort", RULE, ""])


def case(name):
    (c,) = [c for c in corpus.load_manifest() if c.name == name]
    return c


def access_line(prog, fn):
    """The ACCESS line of the function fn in the program's source."""
    (n,) = corpus.access_lines(prog)[fn]
    return n


OVF = "heap-buffer-overflow WRITE at 0x10 (0 bytes after a 40-byte block of type make+0xe (corpus))"


class Classify(unittest.TestCase):
    def test_a_report_made_in_the_at_function_is_at_the_access(self):
        err = report(OVF, ["0x1 in at_poke+0x3 (corpus)", "0x2 in overflow+0x4c (corpus)",
                           "0x3 in main+0x11e (corpus)"])
        self.assertEqual(corpus.classify(case("ovf_w1"), -6, "", err)[::2], ("access", False))

    def test_a_libc_frame_before_the_at_function_is_still_at_the_access(self):
        err = report(OVF, ["0x1 in __memmove_avx_unaligned_erms+0x11 (libc.so.6)",
                           "0x2 in at_memcpy+0x9 (corpus)", "0x3 in lc_memcpy+0x40 (corpus)"])
        self.assertEqual(corpus.classify(case("lc_memcpy"), -6, "", err)[0], "access")

    def test_a_report_made_when_the_block_is_freed_is_later(self):
        err = report(OVF, ["0x1 in release+0x9 (corpus)", "0x2 in at_poke+0x3 (corpus)"])
        self.assertEqual(corpus.classify(case("ovf_w1"), -6, "", err)[0], "later")

    def test_the_access_line_is_named_only_when_it_is_the_marked_one(self):
        n = access_line("corpus", "at_poke")
        err = report(OVF, ["0x1 in at_poke+0x3 (corpus.c:%d)" % n, "0x2 in main (corpus.c:1)"])
        self.assertEqual(corpus.classify(case("ovf_w1"), -6, "", err)[::2], ("access", True))
        err = report(OVF, ["0x1 in at_poke+0x3 (corpus.c:%d)" % (n + 1)])
        self.assertEqual(corpus.classify(case("ovf_w1"), -6, "", err)[::2], ("access", False))
        # another function's ACCESS line is not this access's
        err = report(OVF, ["0x1 in at_poke+0x3 (corpus.c:%d)" % access_line("corpus", "at_peek")])
        self.assertEqual(corpus.classify(case("ovf_w1"), -6, "", err)[::2], ("access", False))
        # and a C++ case looks in corpus_cxx.cc
        m = access_line("corpus_cxx", "at_vector_poke")
        err = report(OVF, ["0x1 in at_vector_poke+0x3 (corpus_cxx.cc:%d)" % m])
        self.assertEqual(corpus.classify(case("vector_w"), -6, "", err)[::2], ("access", True))

    def test_another_kind_is_wrong_and_the_best_report_counts(self):
        other = report("heap-buffer-overflow WRITE at 0x10 (23 bytes after a 40-byte block)",
                       ["0x1 in release+0x9 (corpus)"])
        self.assertEqual(corpus.classify(case("unf_w1"), -6, "", other)[:2],
                         ("wrong", "heap-buffer-overflow"))
        under = report("heap-buffer-underflow WRITE at 0x10 (1 bytes before a 40-byte block)",
                       ["0x1 in at_poke+0x3 (corpus)"])
        self.assertEqual(corpus.classify(case("unf_w1"), -6, "", other + under)[0], "access")

    def test_a_wild_access_counts_on_the_side_it_names(self):
        after = report("wild-access WRITE at 0x10 (0 bytes after a 3145728-byte block)",
                       ["0x1 in at_poke+0x3 (corpus)"])
        self.assertEqual(corpus.classify(case("ovf_w1_huge"), -11, "", after)[0], "access")
        self.assertEqual(corpus.classify(case("unf_w40"), -11, "", after)[0], "wrong")

    def test_no_report_is_missed_even_when_the_program_died(self):
        self.assertEqual(corpus.classify(case("ovf_r1"), 0, "done\n", "")[0], "missed")
        self.assertEqual(corpus.classify(case("ovf_r1"), -11, "", "")[0], "missed")

    def test_a_leak_is_a_leak_line(self):
        c = case("leak_block")
        err = ("memtype: LEAK: 100 bytes in 1 block is definitely lost, type make+0xe (corpus)\n"
               "memtype: leak summary: definitely lost: 100 bytes in 1 blocks\n")
        self.assertEqual(corpus.classify(c, 0, "done\n", err)[0], "later")
        self.assertEqual(corpus.classify(c, 0, "done\n", "memtype: leak summary: ...\n")[0],
                         "missed")

    def test_a_look_alike_is_clean_only_when_nothing_was_said(self):
        self.assertTrue(corpus.clean(0, "done\n", ""))
        self.assertFalse(corpus.clean(0, "done\n", "memtype: warning: x\n"))
        self.assertFalse(corpus.clean(-6, "", ""))
        self.assertFalse(corpus.clean(0, "", ""))


class Sources(unittest.TestCase):
    def test_every_at_function_has_exactly_one_access_line(self):
        for prog in corpus.SOURCES:
            lines = corpus.access_lines(prog)
            self.assertGreater(len(lines), 5, prog)
            for fn, ns in lines.items():
                self.assertEqual(len(ns), 1, (prog, fn, ns))


class Manifest(unittest.TestCase):
    def test_rows_are_well_formed_and_musts_follow_the_kind(self):
        cases = corpus.load_manifest()
        self.assertEqual(len({c.name for c in cases}), len(cases))
        for c in cases:
            if c.kind in ("double-free", "invalid-free", "mismatch", "leak", "realloc-freed"):
                self.assertEqual(c.must["checks"], "caught", c)
            if c.kind in ("overflow", "underflow", "uaf"):
                self.assertEqual(c.must["guard_all"], "access", c)
                self.assertTrue(c.line, c)
            if c.name.startswith("lc_"):
                self.assertEqual(c.must["checks"], "access", c)

    def test_meets_and_status(self):
        self.assertTrue(corpus.meets("-", "missed", True))
        self.assertTrue(corpus.meets("caught", "later", True))
        self.assertFalse(corpus.meets("caught", "wrong", False))
        self.assertFalse(corpus.meets("access", "later", False))
        self.assertFalse(corpus.meets("access", "access", True))
        self.assertTrue(corpus.meets("access", "access+line", True))
        self.assertTrue(corpus.meets("access", "access", False))
        must = {"checks": "caught", "guard_all": "access"}
        self.assertEqual(corpus.status(must, True, {"checks": "later", "guard_all": "access"}),
                         "pending-21")
        self.assertEqual(corpus.status(must, True, {"checks": "later",
                                                    "guard_all": "access+line"}), "met")

    def test_the_status_column_is_what_the_other_columns_give(self):
        for c in corpus.load_manifest():
            self.assertEqual(c.status, corpus.status(c.must, c.line, c.today), c)
        # (the status function's own cases, above, show a pending row is told
        # from a met one; the manifest has none left since the corpus's last)
        self.assertTrue({c.status for c in corpus.load_manifest()} <= {"met", "pending-21"})


if __name__ == "__main__":
    unittest.main()
