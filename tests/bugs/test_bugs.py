"""Every heap-error detector against a buggy program that it must catch,
with the right kind, place, type and stacks on the report, and a correct
look-alike that it must not flag (the "ok" variant of each program)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "py"))
from mtenv import LIB, clean_env  # noqa: E402  (also puts report/ on sys.path)

BIN = os.environ.get("MEMTYPE_BUGS_DIR", "build/bin")
CHECKS = {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"}


def run(prog, variant, extra_args=(), **env_vars):
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off"})
    env.update(CHECKS)
    env.update(env_vars)
    return subprocess.run([os.path.join(BIN, prog), variant, *extra_args], env=env, capture_output=True,
                          text=True, timeout=120)


def section(report, title):
    """The frames listed under `title:` in a report (function names)."""
    m = re.search(r"^  %s:\n((?:    #\d+ .*\n)+)" % re.escape(title), report, re.M)
    if not m:
        return []
    return re.findall(r"#\d+ (?:0x[0-9a-f]+ in )?([\w.]+)", m.group(1))


class Caught(unittest.TestCase):
    def caught(self, prog, variant, headline, detected=None, allocated=None, freed=None,
               extra_args=(), **env_vars):
        r = run(prog, variant, extra_args, **env_vars)
        self.assertEqual(r.returncode, -6, "%s %s: expected an abort\n%s" % (prog, variant, r.stderr))
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: " + headline, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^  thread \d+ \(\S+\) of process \d+ \(%s\)" % prog)
        if detected:
            self.assertIn(detected, section(r.stderr, "detected at"), r.stderr)
        if allocated:
            self.assertEqual(section(r.stderr, "block allocated at")[:1], [allocated], r.stderr)
        if freed:
            self.assertEqual(section(r.stderr, "block freed at")[:1], [freed], r.stderr)
        self.assertIn("memtype will now abort", r.stderr)
        self.assertNotIn("done", r.stdout)
        return r

    # heap-buffer-overflow: the redzone after the block
    def test_overflow_inside_the_slack(self):
        r = self.caught("overflow", "slack", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                        r"after a 40-byte block of type make\+0x[0-9a-f]+ \(overflow\)\)",
                        detected="release", allocated="make")
        self.assertRegex(r.stderr, r"1 byte changed, from offset 40 to 40 of the block")
        self.assertRegex(r.stderr, r"(?m)^    0x[0-9a-f]+: 78( \.\.)+$")  # 'x', the rest intact

    def test_overflow_at_an_exact_class_size(self):
        self.caught("overflow", "exact", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                    r"after a 48-byte block of type make\+", detected="release", allocated="make")

    def test_overflow_far_past_a_page_run(self):
        self.caught("overflow", "far", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(600 bytes "
                    r"after a 10000-byte block of type make\+", detected="release")

    def test_overflow_past_a_huge_block(self):
        self.caught("overflow", "huge", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(100 bytes "
                    r"after a 3145728-byte block of type make\+", detected="release")

    def test_overflow_found_by_realloc(self):
        self.caught("overflow", "realloc", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                    r"after a 40-byte block", detected="main", allocated="make")

    def test_overflow_of_a_block_never_freed_is_found_at_exit(self):
        self.caught("overflow", "kept", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                    r"after a 40-byte block of type make\+", allocated="make")

    def test_overflow_found_by_memtype_check_heap(self):
        r = run("overflow", "checked", MEMTYPE_ON_ERROR="continue")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "found 1\ndone\n")
        self.assertEqual(r.stderr.count("memtype: ERROR: heap-buffer-overflow"), 1, r.stderr)
        self.assertIn("main", section(r.stderr, "detected at"))

    def test_overflow_found_by_the_periodic_check(self):
        self.caught("overflow", "busy", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                    r"after a 40-byte block", detected="make", MEMTYPE_CHECK_INTERVAL="100")

    def test_a_write_between_blocks_names_both_neighbours(self):
        r = run("overflow", "gap")
        self.assertEqual(r.returncode, -6, r.stderr)
        self.assertRegex(r.stderr, r"memtype: ERROR: write-after-free WRITE at 0x[0-9a-f]+ \(3 bytes "
                                   r"into a 40-byte block of type make\+")
        self.assertIn("the slot before holds a live 40-byte block of type make+", r.stderr)
        self.assertIn("(an overflow past its end would land here)", r.stderr)

    # write-after-free: the trash of a freed block
    def test_write_after_free_right_away(self):
        r = self.caught("write_after_free", "now", r"write-after-free WRITE at 0x[0-9a-f]+ \(8 bytes "
                        r"into a 40-byte block of type make_record\+", allocated="make_record",
                        freed="drop_record")
        self.assertIn("1 byte changed, from offset 8 to 8", r.stderr)

    def test_write_after_free_after_many_allocations(self):
        # The default quarantine gives the block back during the churn: caught
        # when it is handed out again...
        self.caught("write_after_free", "later", r"write-after-free WRITE at 0x[0-9a-f]+ \(8 bytes "
                    r"into a 40-byte block", detected="churn", allocated="make_record",
                    freed="drop_record")
        # ...a big one still holds it at exit: caught by the heap check there.
        r = self.caught("write_after_free", "later", r"write-after-free WRITE at 0x[0-9a-f]+ \(8 "
                        r"bytes into a 40-byte block", allocated="make_record", freed="drop_record",
                        MEMTYPE_QUARANTINE="64M")
        self.assertNotIn("churn", section(r.stderr, "detected at"))

    def test_write_after_free_of_a_block_bigger_than_the_quarantine(self):
        # 256 KiB alone is more than the default quarantine holds: it left the quarantine
        # in the free that put it there, and the write was never seen.
        self.caught("write_after_free", "big", r"(write|use)-after-free WRITE at 0x[0-9a-f]+ \(8 "
                    r"bytes into a 262144-byte block of type make_big\+", allocated="make_big",
                    freed="drop_record")
        r = run("write_after_free", "bigok")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertNotIn("ERROR", r.stderr)

    def test_write_after_free_without_quarantine_is_caught_on_reuse(self):
        self.caught("write_after_free", "later", r"write-after-free WRITE", detected="churn",
                    freed="drop_record", MEMTYPE_QUARANTINE="0")

    # double-free
    def test_double_free_right_away(self):
        self.caught("double_free", "now", r"double-free at 0x[0-9a-f]+ \(0 bytes into a 24-byte "
                    r"block of type get\+", detected="put", allocated="get", freed="put")

    def test_double_free_after_the_slot_could_have_been_reused(self):
        # A quarantine bigger than the churn keeps the slot: exact stacks.
        self.caught("double_free", "later", r"double-free at 0x[0-9a-f]+ \(0 bytes into a 24-byte "
                    r"block of type get\+", detected="put", allocated="get", freed="put",
                    MEMTYPE_QUARANTINE="64M")
        # The default one gives it back: the slot was reused and freed again by
        # the churn, so it is free when the second free comes - still a
        # double-free, told with the stacks of the slot's last owner.
        self.caught("double_free", "later", r"double-free at 0x[0-9a-f]+ \(0 bytes into a 24-byte "
                    r"block", detected="put")

    def test_double_free_is_caught_without_checks_too(self):
        r = subprocess.run([os.path.join(BIN, "double_free"), "now"], capture_output=True,
                           text=True, env=dict(clean_env(), LD_PRELOAD=LIB, MEMTYPE_OUTPUT="off"))
        self.assertRegex(r.stderr, r"memtype: ERROR: double-free at")

    # invalid-free
    def test_invalid_free_of_stack_global_and_wild_pointers(self):
        for v in ("stack", "global", "wild"):
            r = self.caught("invalid_free", v, r"invalid-free at 0x[0-9a-f]+\n", detected="release")
            self.assertIn("not returned by malloc or new", r.stderr)

    def test_invalid_free_of_an_interior_pointer(self):
        self.caught("invalid_free", "interior", r"invalid-free at 0x[0-9a-f]+ \(8 bytes into a "
                    r"100-byte block of type main\+", detected="release", allocated="main")

    # mismatched-free
    def test_mismatched_families(self):
        for v, what in (("new-free", "a block from new released with free"),
                        ("malloc-delete", "a block from malloc released with delete"),
                        ("newarr-delete", r"a block from new\[\] released with delete "),
                        ("new-deletearr", r"a block from new released with delete\[\]")):
            r = self.caught("mismatched", v, r"mismatched-free at 0x[0-9a-f]+ \(0 bytes into a "
                            r"\d+-byte block of type main\+", detected="main")
            self.assertRegex(r.stderr, what)

    def test_aligned_new_released_with_another_alignment(self):
        r = self.caught("mismatched", "aligned-plain", r"mismatched-free at 0x[0-9a-f]+ \(0 bytes "
                        r"into a 1024-byte block", detected="main")
        self.assertIn("a block from new (aligned to 256) released with delete (default-aligned)",
                      r.stderr)
        # the block's whole allocation stack, not only its call site
        frames = section(r.stderr, "block allocated at")
        self.assertEqual(frames[:1], ["main"], r.stderr)
        self.assertGreater(len(frames), 1, r.stderr)  # main's callers too (libc's, named or not)
        r = self.caught("mismatched", "aligned-other", r"mismatched-free at 0x[0-9a-f]+ \(0 bytes "
                        r"into a 32-byte block", detected="main")
        self.assertIn(r"a block from new[] (aligned to 64) released with delete[] (aligned to 128)",
                      r.stderr)

    def test_sized_delete_with_the_wrong_size(self):
        r = self.caught("mismatched", "sized", r"mismatched-free at 0x[0-9a-f]+ \(0 bytes into "
                        r"a 24-byte block")
        self.assertIn("sized delete of 32 bytes; the block has 24", r.stderr)

    # realloc and malloc_usable_size of freed blocks
    def test_realloc_of_a_freed_block(self):
        self.caught("bad_realloc", "realloc", r"realloc-of-freed at 0x[0-9a-f]+ \(0 bytes into "
                    r"a 64-byte block of type main\+", detected="main", freed="main")

    def test_usable_size_of_a_freed_block(self):
        self.caught("bad_realloc", "usable", r"usable-size-of-freed at 0x[0-9a-f]+ \(0 bytes "
                    r"into a 64-byte block", detected="main")


class Actions(unittest.TestCase):
    def test_continue_reports_once_and_goes_on(self):
        r = run("overflow", "slack", MEMTYPE_ON_ERROR="continue")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1)
        self.assertIn("memtype will now continue", r.stderr)

    def test_the_same_error_again_is_counted_not_printed(self):
        # one byte past each of 200 blocks, the same lines every time: one
        # report on stderr and one line saying the rest are counted (valgrind
        # tells an error context once); the dump has the first few, the
        # report groups them under the first, and the count is all 200
        import glob
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="memtype-bugs.")
        try:
            r = run("overflow", "loop", MEMTYPE_ON_ERROR="continue",
                    MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"))
            self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
            self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
            self.assertEqual(len(re.findall(r"(?m)^memtype: heap-buffer-overflow WRITE again with "
                                            r"the same stacks, at 0x[0-9a-f]+: such errors are "
                                            r"counted", r.stderr)), 1, r.stderr)
            rep = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "report",
                                  "--errors", glob.glob(os.path.join(tmp, "d.*.mtd"))[0]],
                                 capture_output=True, text=True)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            self.assertIn("memtype: 200 heap errors in overflow", rep.stdout)
            self.assertRegex(rep.stdout, r"(?m)^#1 heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 "
                                         r"bytes after a 40-byte block of type make")
            self.assertEqual(rep.stdout.count("  allocated at:"), 1, rep.stdout)
            self.assertIn("  the same stacks again (3 more kept in the dump):", rep.stdout)
            self.assertRegex(rep.stdout, r"(?m)^    #4 heap-buffer-overflow WRITE at")
            self.assertIn("(196 more errors were counted but not kept in the dump", rep.stdout)
        finally:
            shutil.rmtree(tmp)
        # a second bug, from another line, is still told in full
        r = run("overflow", "loop2", MEMTYPE_ON_ERROR="continue")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 2, r.stderr)
        # each block once, as before: the look-alike says nothing
        r = run("overflow", "ok", MEMTYPE_ON_ERROR="continue")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))

    def test_exit_status(self):
        r = run("double_free", "now", MEMTYPE_ON_ERROR="exit:42")
        self.assertEqual(r.returncode, 42)
        self.assertIn("memtype will now exit with status 42", r.stderr)

    def test_error_exit_code_fails_a_run_that_went_on(self):
        # MEMTYPE_ERROR_EXITCODE: the program goes on after each report and
        # ends as it would have, but with this status when any heap error
        # was reported (valgrind's --error-exitcode), so a test suite run
        # under memtype fails on a bug it survived.
        r = run("overflow", "slack", MEMTYPE_ON_ERROR="continue", MEMTYPE_ERROR_EXITCODE="42")
        self.assertEqual((r.returncode, r.stdout), (42, "done\n"), r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        # the look-alike: no error, the program's own status
        r = run("overflow", "ok", MEMTYPE_ON_ERROR="continue", MEMTYPE_ERROR_EXITCODE="42")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))
        # an error found only by the whole-heap check at exit counts too
        r = run("overflow", "kept", MEMTYPE_ON_ERROR="continue", MEMTYPE_ERROR_EXITCODE="42",
                MEMTYPE_LEAKS="0")
        self.assertEqual((r.returncode, r.stdout), (42, "done\n"), r.stderr)
        self.assertIn("heap-buffer-overflow WRITE", r.stderr)
        # a leak is not a heap error: MEMTYPE_LEAK_EXITCODE says what it does
        r = run("leaky", "leaks", MEMTYPE_ERROR_EXITCODE="42")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("leaky", "leaks", MEMTYPE_ERROR_EXITCODE="42", MEMTYPE_LEAK_EXITCODE="23")
        self.assertEqual(r.returncode, 23, r.stderr)
        # an error that ends the program (abort) is not turned into a status
        r = run("overflow", "slack", MEMTYPE_ERROR_EXITCODE="42")
        self.assertEqual(r.returncode, -6, r.stderr)

    def test_error_exit_code_is_in_the_dump_and_memtype_run(self):
        import tempfile
        import shutil
        from memtype_report import dump
        tmp = tempfile.mkdtemp(prefix="memtype-bugs.")
        try:
            env = clean_env()
            cmd = os.environ.get("MEMTYPE_CMD", "build/bin/memtype")
            r = subprocess.run([cmd, "run", "--error-exitcode", "42", "--",
                                os.path.join(BIN, "overflow"), "slack"], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual((r.returncode, r.stdout), (42, "done\n"), r.stderr)
            self.assertRegex(r.stderr, r"(?m)^memtype: run summary: 1 process \(overflow\); "
                                       r"1 heap error;")
            self.assertRegex(r.stderr, r"(?m)^memtype: ended: overflow \(pid \d+\) exit status 42 "
                                       r"\(error exit code\)$")
            dumps = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs
                     if f.endswith(".mtd")]
            self.assertEqual(len(dumps), 1, dumps)
            e = dump.load(dumps[0]).ending
            self.assertEqual((e.how, e.status, e.via), ("exit", 42, "error exit code"))
            # the same program without the option: its own status
            r = subprocess.run([cmd, "run", "--", os.path.join(BIN, "overflow"), "slack"], cwd=tmp,
                               env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_the_dump_lists_the_error(self):
        import tempfile
        import glob
        import shutil
        tmp = tempfile.mkdtemp(prefix="memtype-bugs.")
        try:
            r = run("overflow", "slack", MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"))
            self.assertEqual(r.returncode, -6)
            files = glob.glob(os.path.join(tmp, "d.*.mtd"))
            self.assertEqual(len(files), 1)
            rep = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "report",
                                  "--errors", files[0]], capture_output=True, text=True)
            self.assertRegex(rep.stdout, r"#1 heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                                         r"after a 40-byte block of type make \(overflow\.c:\d+\)\)")
            self.assertRegex(rep.stdout, r"#0 release \(overflow\.c:\d+\)")
        finally:
            shutil.rmtree(tmp)


class BadParam(unittest.TestCase):
    """Sizes and alignments no correct call gives (bad-param): reported at
    the call in every mode, once per call site, and never stopping the
    program, whatever MEMTYPE_ON_ERROR says (the call fails as glibc's does
    and the program handles it)."""

    def corpus(self, case, variant, prog="corpus", **env_vars):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off"})
        env.update(env_vars)
        return subprocess.run([os.path.join(BIN, prog), case, variant], env=env,
                              capture_output=True, text=True, timeout=120)

    def test_reported_at_the_call_and_the_program_goes_on(self):
        for case, call in (("bp_malloc_neg", "at_malloc"), ("bp_calloc_ovf", "at_calloc"),
                           ("bp_realloc_neg", "at_realloc_to"),
                           ("bp_reallocarray_ovf", "at_reallocarray"),
                           ("bp_posix_memalign", "at_posix_memalign"),
                           ("bp_aligned_alloc", "at_aligned_alloc"),
                           ("bp_pvalloc_neg", "at_pvalloc")):
            for mode in ({}, CHECKS):  # MEMTYPE_ON_ERROR left at abort
                r = self.corpus(case, "bad", **mode)
                self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
                self.assertEqual(r.stderr.count("memtype: ERROR: bad-param at "), 1, r.stderr)
                self.assertEqual(section(r.stderr, "detected at")[:1], [call], r.stderr)
                self.assertRegex(r.stderr, r"in %s\+0x[0-9a-f]+ \(corpus\.c:\d+\)" % call)
                self.assertIn("the call fails as glibc's does", r.stderr)
                ok = self.corpus(case, "ok", **mode)
                self.assertEqual((ok.returncode, ok.stdout, ok.stderr), (0, "done\n", ""))

    def test_the_details_name_the_values(self):
        r = self.corpus("bp_calloc_ovf", "bad")
        self.assertIn("calloc(2305843009213693952, 16): the product overflows size_t", r.stderr)
        r = self.corpus("bp_malloc_neg", "bad")
        self.assertIn("malloc of 18446744073709551576 bytes (-40 as a signed number)", r.stderr)
        r = self.corpus("bp_posix_memalign", "bad")
        self.assertIn("posix_memalign's alignment 24 is not a power of two", r.stderr)

    def test_operator_new_throws_bad_alloc_after_the_report(self):
        r = self.corpus("bp_new_neg", "bad", prog="corpus_cxx")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertIn("operator new of 18446744073709551552 bytes (-64 as a signed number)",
                      r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)

    def test_the_dump_and_the_report_list_it(self):
        import tempfile
        import glob
        tmp = tempfile.mkdtemp(prefix="memtype-bugs.")
        try:
            r = self.corpus("bp_calloc_ovf", "bad", MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"))
            self.assertEqual(r.returncode, 0, r.stderr)
            files = glob.glob(os.path.join(tmp, "d.*.mtd"))
            self.assertEqual(len(files), 1)
            rep = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "report",
                                  "--errors", files[0]], capture_output=True, text=True)
            self.assertRegex(rep.stdout, r"#1 bad-param at 0x[0-9a-f]+")
            self.assertRegex(rep.stdout, r"#0 at_calloc \(corpus\.c:\d+\)")
        finally:
            shutil.rmtree(tmp)


class Foreign(unittest.TestCase):
    def test_glibc_blocks_go_back_to_glibc_with_one_warning(self):
        for env in (CHECKS, {"MEMTYPE_TRASH": "0"}):
            r = run("foreign_free", "", **env)
            self.assertEqual((r.returncode, r.stdout), (0, "usable ok\nrealloc kept glibc\ndone\n"),
                             r.stderr)
            lines = r.stderr.splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertRegex(lines[0], r"^memtype: warning: malloc_usable_size\(0x[0-9a-f]+\) of a "
                                       r"block from glibc's own malloc, called from main\+0x[0-9a-f]+ "
                                       r"\(foreign_free\): passed to glibc")

    def test_a_program_with_its_own_malloc_is_told_it_is_not_seen(self):
        # The loader binds malloc to the program's own definition first:
        # memtype's never runs. One warning at start names the module, and
        # the program runs as without memtype.
        for env in ({}, CHECKS, {"MEMTYPE_GUARD": "*"}):
            r = run("own_malloc", "", **env)
            self.assertEqual((r.returncode, r.stdout), (0, "0123456789AB\n"), r.stderr)
            self.assertRegex(r.stderr, r"^memtype: warning: malloc and free in this process are "
                                       r"\S*own_malloc's, not memtype's ")
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        # A program not built as PIE that takes malloc's address: its PLT
        # stub is malloc's address for everyone, and jumps to memtype's.
        for env in ({}, CHECKS, {"MEMTYPE_GUARD": "*"}):
            r = run("malloc_address", "", **env)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))


class Leaks(unittest.TestCase):
    def leak_lines(self, r):
        return [l for l in r.stderr.splitlines() if l.startswith("memtype: LEAK: ")]

    def test_every_kind_is_classified(self):
        r = run("leaky", "leaks", MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        lines = self.leak_lines(r)
        self.assertEqual(len(lines), 4, r.stderr)
        # biggest first within definitely lost, then indirectly lost
        self.assertRegex(lines[0], r"^memtype: LEAK: 48 bytes in 1 block is definitely lost, "
                                   r"type (make_pair|new_node)\+")
        self.assertRegex(lines[1], r"^memtype: LEAK: 48 bytes in 1 block is definitely lost, "
                                   r"type (make_pair|new_node)\+")
        self.assertRegex(lines[2], r"^memtype: LEAK: 432 bytes in 9 blocks are indirectly lost, "
                                   r"type new_node\+")
        self.assertRegex(lines[3], r"^memtype: LEAK: 48 bytes in 1 block is indirectly lost, "
                                   r"type make_pair\+")
        self.assertRegex(r.stderr, r"(?m)^memtype: leak summary: definitely lost: 96 bytes in 2 "
                                   r"blocks; indirectly lost: 480 bytes in 10 blocks; possibly lost: "
                                   r"64 bytes in 1 blocks; still reachable: \d+ bytes in \d+ blocks$")

    def test_blocks_held_through_a_pointer_inside_them_are_reachable(self):
        # valgrind's leak heuristics: new[] of a type with a destructor, an
        # object held by its second base, a size header, an old-ABI
        # std::string, and memtype's CPython object after its collector's
        # header: reachable, not "possibly lost" (a look-alike that is no
        # object stays possibly lost); lost, each is
        # definitely lost. `memtype run` (checks, guard pages, leak scan)
        # and --profile with the leak scan alone.
        import tempfile
        for flags in ((), ("--profile", "--leaks")):
            tmp = tempfile.mkdtemp(prefix="memtype-held.")
            try:
                for variant, want in (
                        ("held", r"; no leaks$"),
                        ("lost", r"; leaks: definitely lost 232 bytes in 5 blocks, indirectly lost "
                                 r"85 bytes in 1 blocks$"),
                        ("notpy", r"; leaks: possibly lost 48 bytes in 1 blocks$")):
                    r = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "run",
                                        "--lib", LIB, *flags, "--", os.path.join(BIN, "held_inside"),
                                        variant], capture_output=True, text=True, cwd=tmp,
                                       env=clean_env(), timeout=120)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn("7 2 y k x\ndone\n", r.stdout)
                    line, = [l for l in r.stderr.splitlines()
                             if l.startswith("memtype: run summary: ")]
                    self.assertRegex(line, want, (flags, variant, r.stderr))
            finally:
                shutil.rmtree(tmp)

    def test_stale_copies_on_the_stack_do_not_hide_a_leak(self):
        # The only copies left of a lost block's pointer: below where the
        # program called exit (main returned, exit, _exit), or in the
        # registers a handled guard-page fault saved on memtype's signal
        # stack. Guard pages on, with and without the other checks.
        for checks in ("0", "1"):
            env = dict(MEMTYPE_LEAKS="1", MEMTYPE_GUARD="*", MEMTYPE_ON_ERROR="continue",
                       MEMTYPE_TRASH=checks, MEMTYPE_REDZONE=checks)
            for mode, size in (("ret", 4), ("exit", 4), ("_exit", 4), ("fault", 24), ("thread", 4),
                               ("report", 15), ("mainlocal", 15)):
                r = run("stale_roots", mode, **env)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("done\n", r.stdout)
                self.assertRegex(r.stderr, r"(?m)^memtype: LEAK: %d bytes in 1 block is definitely "
                                           r"lost, type (drop|drop_after_fault|drop_after_report|main)\+" % size,
                                 (mode, checks, r.stderr))
            # The look-alikes: a global, a live frame above exit's.
            for mode in ("held", "heldlocal", "heldthread", "heldreg", "heldreg_exit"):
                r = run("stale_roots", mode, **env)
                self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
                self.assertEqual(self.leak_lines(r), [], (mode, checks, r.stderr))

    def test_the_dump_and_report_list_the_records(self):
        import glob
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="memtype-leaks.")
        try:
            run("leaky", "leaks", MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"))
            f = glob.glob(os.path.join(tmp, "d.*.mtd"))[0]
            rep = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "report",
                                  "--leaks", f], capture_output=True, text=True)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            self.assertRegex(rep.stdout, r"432 bytes in 9 blocks are indirectly lost, type "
                                         r"new_node \(leaky\.c:\d+\)")
            self.assertRegex(rep.stdout, r"64 bytes in 1 block is possibly lost, type make_inner "
                                         r"\(leaky\.c:\d+\)")
            self.assertNotIn("still reachable, type", rep.stdout)
            rep = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "report",
                                  "--leaks", "--reachable", f], capture_output=True, text=True)
            self.assertRegex(rep.stdout, r"100 bytes in 1 block is still reachable, type make_held")
        finally:
            shutil.rmtree(tmp)

    def test_no_leak_no_line(self):
        r = run("leaky", "clean")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))

    def test_no_false_leaks_in_a_forked_child(self):
        r = run("leaky", "fork")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "child\ndone\n", ""))

    def test_no_false_leaks_when_the_main_thread_ended_first(self):
        # /proc/self/maps reads empty once the thread-group leader has ended:
        # the scan reads /proc/thread-self/maps (it found no root before).
        r = run("leaky", "leader")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))

    def test_glibc_thread_vectors_are_not_possibly_lost(self):
        # A joined thread (its stack and TLS cached by glibc) and one alive at
        # exit: their DTVs are held by their control blocks through dtv + 1.
        import glob
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="memtype-dtv.")
        try:
            r = run("leaky", "threads", MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"))
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))
            f = glob.glob(os.path.join(tmp, "d.*.mtd"))[0]
            rep = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "report",
                                  "--leaks", "--reachable", f], capture_output=True, text=True)
            self.assertEqual(rep.returncode, 0, rep.stderr)
            self.assertIn("definitely lost: 0 bytes in 0 blocks; indirectly lost: 0 bytes in 0 "
                          "blocks; possibly lost: 0 bytes in 0 blocks", rep.stdout)
            # The DTV is ld.so's block: named allocate_dtv where ld.so's full
            # symbol table is installed (libc6-dbg), else ld.so+offset.
            self.assertRegex(rep.stdout, r"bytes in 1 block is still reachable, type "
                                         r"(allocate_dtv \(|\S+ \(ld-linux-x86-64\.so\.2\+0x)")
        finally:
            shutil.rmtree(tmp)

    def test_two_million_blocks_scan_quickly(self):
        import time
        t0 = time.time()
        r = run("leaky", "million", MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0")
        took = time.time() - t0
        self.assertRegex(r.stderr, r"47999952 bytes in 999999 blocks are indirectly lost")
        self.assertLess(took, 20, "2M live blocks took %.1f s" % took)

    MODES = ({"MEMTYPE_TRASH": "0", "MEMTYPE_REDZONE": "0"}, CHECKS,
             {"MEMTYPE_TRASH": "0", "MEMTYPE_REDZONE": "0", "MEMTYPE_GUARD": "*"},
             {"MEMTYPE_GUARD": "make_sealed,make_empty"})

    def test_pages_the_program_made_unreadable_are_skipped_not_faulted(self):
        # Live blocks (a page run, a huge block, a guarded block) with a
        # PROT_NONE page in the middle: the exit scan read them in place and
        # died of SIGSEGV (or reported a guard fault of its own).
        for env in self.MODES:
            with self.subTest(**env):
                r = run("leaky", "protnone", MEMTYPE_LEAKS="1", **env)
                self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
                self.assertEqual(self.leak_lines(r), [], r.stderr)
                self.assertNotIn("ERROR", r.stderr)
                r = run("leaky", "protnone_lost", MEMTYPE_LEAKS="1", **env)
                self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
                lines = self.leak_lines(r)
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertRegex(lines[0], r"^memtype: LEAK: 1048576 bytes in 1 block is definitely "
                                           r"lost, type make_sealed\+")

    def test_the_default_scan_of_memtype_run_survives_unreadable_pages(self):
        env = clean_env()
        r = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "run", "--output",
                            "off", "--", os.path.join(BIN, "leaky"), "protnone"], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertNotIn("memtype: LEAK:", r.stderr)

    def test_blocks_of_size_zero_held_by_a_global_are_not_lost(self):
        # Under guard pages a block of size 0 starts where its guard page
        # does: a pointer to it was not taken for one ("0 bytes in 5 blocks
        # are definitely lost", where valgrind finds no leak).
        for env in self.MODES:
            with self.subTest(**env):
                r = run("leaky", "zero", MEMTYPE_LEAKS="1", **env)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))
                # and lost, they are still found
                r = run("leaky", "zero_lost", MEMTYPE_LEAKS="1", **env)
                self.assertRegex(r.stderr, r"(?m)^memtype: LEAK: 0 bytes in 5 blocks are definitely "
                                           r"lost, type make_empty\+")
                self.assertEqual(len(self.leak_lines(r)), 1, r.stderr)

    def test_exit_code_only_when_asked(self):
        self.assertEqual(run("leaky", "leaks").returncode, 0)
        # the status replaced, and nothing the program wrote lost: its stdout
        # (a pipe, fully buffered) and a log file it left open are written
        # out as exit() would have
        import tempfile
        with tempfile.TemporaryDirectory(prefix="memtype-bugs.") as tmp:
            log = os.path.join(tmp, "log")
            r = run("leaky", "leaks", [log], MEMTYPE_LEAK_EXITCODE="23")
            self.assertEqual((r.returncode, r.stdout), (23, "done\n"), r.stderr)
            with open(log) as f:
                self.assertEqual(f.read(), "logged\n")
        self.assertEqual(run("leaky", "clean", MEMTYPE_LEAK_EXITCODE="23").returncode, 0)
        r = run("leaky", "leaks", MEMTYPE_LEAKS="0")
        self.assertEqual(r.stderr, "")


GUARD = {"MEMTYPE_TRASH": "0", "MEMTYPE_REDZONE": "0", "MEMTYPE_GUARD": "make_buf"}


class Guard(unittest.TestCase):
    """memguard: guard pages catch reads too, at the faulting access."""
    caught = Caught.caught

    def test_every_kind_by_type_and_by_sampling(self):
        cases = (("read", r"heap-buffer-overflow READ at 0x[0-9a-f]+ \(12 bytes after", {}),
                 ("write", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(12 bytes after", {}),
                 ("under", r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(1 bytes before",
                  {"MEMTYPE_GUARD_SIDE": "before"}),
                 ("uaf", r"use-after-free READ at 0x[0-9a-f]+ \(5 bytes into", {}),
                 ("uafw", r"use-after-free WRITE at 0x[0-9a-f]+ \(5 bytes into", {}))
        for chosen in (GUARD, {"MEMTYPE_TRASH": "0", "MEMTYPE_REDZONE": "0",
                               "MEMTYPE_GUARD_RATE": "1"}):
            for variant, headline, extra in cases:
                freed = "main" if variant.startswith("uaf") else None
                self.caught("guard", variant, headline + r" a 100-byte block of type make_buf\+",
                            detected="main", allocated="make_buf", freed=freed,
                            **dict(chosen, **extra))

    def test_write_before_the_start_with_the_guard_before(self):
        self.caught("guard", "under", r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(1 bytes before "
                    r"a 100-byte block of type make_buf\+", detected="main",
                    MEMTYPE_GUARD_SIDE="before", **GUARD)

    def test_a_call_site_that_underflowed_gets_the_next_underflow_at_the_access(self):
        # madvise's guard pages (Linux 6.13) have one before every run; with
        # mprotect a side before is guarded only with MEMTYPE_GUARD_SIDE=around
        kernel = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
        envs = [{"MEMTYPE_GUARD_METHOD": "mprotect", "MEMTYPE_GUARD_SIDE": "around"}]
        if kernel >= (6, 13):
            envs.append({})
        for env in envs:
            with self.subTest(**env):
                self.underflow_learned(env)

    def underflow_learned(self, env):
        r = run("guard", "underagain", MEMTYPE_GUARD="*", MEMTYPE_ON_ERROR="continue", **env)
        self.assertEqual(r.returncode, 0, r.stderr)
        heads = re.findall(r"(?m)^memtype: ERROR: .*$", r.stderr)
        self.assertEqual(len(heads), 2, r.stderr)
        block = r"1 bytes before a 24-byte block of type make_label\+"
        # the first: found when the block was freed; the site learns
        self.assertRegex(heads[0], r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(" + block)
        first, second = r.stderr.split("memtype: ERROR: ")[1:3]
        self.assertIn("found when it was freed", first)
        self.assertIn("from now on this call site's guarded blocks start right after a guard "
                      "page", first)
        # the second: at the faulting write, in set_prefix
        self.assertRegex(heads[1], r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(" + block)
        self.assertIn("the access hit the guard page before the block", second)
        self.assertEqual(section("  " + second.split("\n  ", 1)[1], "detected at")[:2],
                         ["set_prefix", "main"], second)
        self.assertNotIn("start right after a guard page", second)
        # the third, the same stacks: counted, not told again; the read before
        # another site's block is no fault
        self.assertIn("heap-buffer-underflow WRITE again with the same stacks", r.stderr)
        self.assertRegex(r.stdout, r"\A-?\d+\ndone\n\Z")

    def test_read_after_free(self):
        self.caught("guard", "uaf", r"use-after-free READ at 0x[0-9a-f]+ \(5 bytes into a 100-byte "
                    r"block of type make_buf\+", detected="main", allocated="make_buf",
                    freed="main", **GUARD)

    def test_a_guard_page_let_through_is_closed_again_for_the_next_block(self):
        # MEMTYPE_ON_ERROR=continue opens the guard page for the faulting read;
        # the block's free must close its whole run again, or the next block
        # on that run (the FIFO is empty) would have no guard.
        r = run("guard", "again", MEMTYPE_ON_ERROR="continue", MEMTYPE_GUARD_FIFO="0", **GUARD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "0\n0\ndone\n")
        self.assertEqual(r.stderr.count("heap-buffer-overflow READ"), 2, r.stderr)

    def test_the_report_does_not_wait_for_the_loader(self):
        # Another thread is inside dlopen, in a constructor that sleeps 30 s
        # holding the loader's lock: dladdr would wait for it; the report
        # reads memtype's own module snapshot instead and comes at once.
        t0 = time.monotonic()
        self.caught("guard", "loading", r"heap-buffer-overflow READ at 0x[0-9a-f]+ \(12 bytes after "
                    r"a 100-byte block of type make_buf\+", detected="main", allocated="make_buf",
                    extra_args=[os.path.join(BIN, "libslow_ctor.so")], **GUARD)
        self.assertLess(time.monotonic() - t0, 15)

    def test_sampling_guards_one_in_n(self):
        r = run("guard", "read", MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0", MEMTYPE_GUARD_RATE="1")
        self.assertRegex(r.stderr, r"heap-buffer-overflow READ")

    def test_the_programs_own_handler_still_runs_and_memguard_still_reports(self):
        r = run("guard", "own", MEMTYPE_ON_ERROR="continue", **GUARD)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stdout, "read 0\nown handler\n")
        self.assertRegex(r.stderr, r"heap-buffer-overflow READ at 0x[0-9a-f]+ \(3996 bytes after")

    def test_faults_that_are_not_memguards_are_explained_kill_as_before_and_leave_a_dump(self):
        import glob
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="memtype-guard.")
        try:
            r = run("guard", "null", MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"), **GUARD)
            self.assertEqual(r.returncode, -11, r.stderr)
            # Not memguard's: a short crash report (issue 18, point 9), then the same death.
            self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
            self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: segv WRITE at 0x0\n  address 0x0, "
                                       r"not in memtype's heap")
            self.assertEqual(len(glob.glob(os.path.join(tmp, "d.*.mtd"))), 1)
        finally:
            shutil.rmtree(tmp)

    def test_the_access_stack_starts_at_the_faulting_function_on_every_machine(self):
        # Frame #0 of a guard fault is the function whose instruction faulted
        # (read_past), #1 its caller; memtype's handler and the kernel's signal
        # trampoline (libc's __restore_rt) never show. That must not depend on
        # the debug packages installed (libc6-dbg names the trampoline): as
        # root, the run is repeated with /usr/lib/debug hidden (an empty tmpfs
        # over it, in a mount namespace of its own).
        variants = [("as installed", [])]
        if os.path.isdir("/usr/lib/debug") and os.geteuid() == 0 and shutil.which("unshare"):
            variants.append(("without /usr/lib/debug", [
                "unshare", "-m", "sh", "-c",
                'mount -t tmpfs none /usr/lib/debug && exec "$@"', "sh"]))
        for what, prefix in variants:
            with self.subTest(what):
                env = clean_env()
                env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off"}, **GUARD)
                r = subprocess.run(prefix + [os.path.join(BIN, "guard"), "deep"], env=env,
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, -6, r.stderr)
                self.assertRegex(r.stderr, r"heap-buffer-overflow READ at 0x[0-9a-f]+ \(12 bytes "
                                           r"after a 100-byte block of type make_buf\+")
                frames = section(r.stderr, "detected at")
                self.assertEqual(frames[:2], ["read_past", "main"], r.stderr)
                # the faulting instruction's own line (the read), not a call's
                with open(os.path.join(HERE, "guard.c")) as f:
                    line = [n for n, l in enumerate(f, 1)
                            if "return ((const volatile char *)p)[at];" in l]
                self.assertRegex(r.stderr, r"(?m)^    #0 0x[0-9a-f]+ in read_past\+0x[0-9a-f]+ "
                                           r"\(guard\.c:%d\)$" % line[0])
                detected = r.stderr.split("detected at:")[1].split("block allocated at:")[0]
                self.assertNotIn("__restore_rt", detected)
                self.assertNotIn("libmemtype", detected)

    def test_python_faulthandler_keeps_working(self):
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off", "MEMTYPE_GUARD_RATE": "50",
                    "PYTHONMALLOC": "malloc"})
        r = subprocess.run(["/usr/bin/python3", "-X", "faulthandler", "-c",
                            # flush=True: stdout is a pipe here, so without it the line
                            # would still be in python's buffer when SIGSEGV ends it
                            # (unless PYTHONUNBUFFERED happened to be set).
                            "import ctypes; print(sum(range(10)), flush=True); "
                            "ctypes.string_at(0)"],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertEqual(r.stdout, "45\n")
        self.assertIn("Fatal Python error: Segmentation fault", r.stderr)
        self.assertNotIn("memtype: ERROR", r.stderr)

    def test_a_write_one_byte_past_faults_at_the_access(self):
        # the block's end is flush with its guard page (4-aligned: 100 bytes)
        r = self.caught("guard", "slack", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes after "
                        r"a 100-byte block of type make_buf\+", detected="main", **GUARD)
        self.assertIn("the access hit the guard page after the block", r.stderr)

    def test_a_write_into_the_alignment_bytes_is_found_on_free(self):
        # 99 bytes: 4-aligned at least, so one byte lies before the guard page
        r = self.caught("guard", "slackodd", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                        r"after a 99-byte block of type make_buf\+", detected="main", **GUARD)
        self.assertIn("between the block's end and its guard page were written", r.stderr)

    def test_python_with_faulthandler_gets_the_guard_page_report(self):
        env = clean_env()
        # Every block guarded, however long it takes and whatever memory it
        # takes (no cost or resident-memory bound): the buffer below must be
        # one of them.
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off", "MEMTYPE_GUARD": "*",
                    "MEMTYPE_GUARD_COST": "100", "MEMTYPE_GUARD_RSS": "0",
                    "PYTHONMALLOC": "malloc"})
        code = ("import ctypes, faulthandler; assert faulthandler.is_enabled()\n"
                "b = ctypes.create_string_buffer(4000)\n"
                "ctypes.string_at(ctypes.addressof(b), 4200)\n")
        r = subprocess.run(["/usr/bin/python3", "-X", "faulthandler", "-c", code], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, -6, r.stderr)
        self.assertRegex(r.stderr, r"memtype: ERROR: heap-buffer-overflow READ at 0x[0-9a-f]+ "
                                   r"\(\d+ bytes after a 4000-byte block")

    def test_over_budget_falls_back_and_counts(self):
        import glob
        import shutil
        import tempfile
        from memtype_report import dump
        tmp = tempfile.mkdtemp(prefix="memtype-guard.")
        try:
            # A budget of physical memory / 10^6 pages: a few blocks at most.
            r = run("guard", "many", MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"),
                    MEMTYPE_GUARD_DIVISOR="1000000", MEMTYPE_LEAKS="0", **GUARD)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))
            d = dump.load(glob.glob(os.path.join(tmp, "d.*.mtd"))[0])
            (g, miss), = [v for v in d.guard.values() if v[0] + v[1] > 30000]
            self.assertEqual(g + miss, 30001)
            self.assertGreater(miss, 29000)
            rep = subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "report",
                                  "--types", glob.glob(os.path.join(tmp, "d.*.mtd"))[0]],
                                 capture_output=True, text=True)
            self.assertRegex(rep.stdout, r"Requests +Guarded +GMiss")
            self.assertRegex(rep.stdout, r"memguard: guard \(pid \d+\): \d+ KiB of guarded blocks "
                                         r"live \(guard pages included\), budget \d+ KiB")
        finally:
            shutil.rmtree(tmp)

    def guard_counts(self, variant, kinds=False, **env_vars):
        """Runs guard VARIANT with a dump; (guarded, misses) of make_buf's type,
        and with kinds, of the guarded how many were overflow-only."""
        import glob
        import shutil
        import tempfile
        from memtype_report import dump
        tmp = tempfile.mkdtemp(prefix="memtype-guard.")
        try:
            t0 = time.monotonic()
            r = run("guard", variant, MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"),
                    MEMTYPE_LEAKS="0", MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0", **env_vars)
            took = time.monotonic() - t0
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))
            d = dump.load(glob.glob(os.path.join(tmp, "d.*.mtd"))[0])
            tid = max(d.guard, key=lambda t: sum(d.guard[t]))
            if kinds:
                return d.guard[tid] + (d.guard_cheap[tid],), took
            return d.guard[tid], took
        finally:
            shutil.rmtree(tmp)

    def test_the_cost_bound_guards_what_it_can_and_counts_the_rest(self):
        # 200000 blocks, every one chosen, fully guarded only
        # (MEMTYPE_GUARD_FULL=100): guarding each costs two system calls; at
        # the default 25 % of the run's time, some are guarded and the others
        # counted as misses, and the run stays short.
        (g, miss, cheap), took = self.guard_counts("churn", True, MEMTYPE_GUARD="*",
                                                   MEMTYPE_GUARD_FULL="100")
        self.assertEqual((g + miss, cheap), (200001, 0))
        self.assertGreater(g, 100)
        self.assertGreater(miss, 1000)
        (g_all, miss_all, cheap_all), took_all = self.guard_counts(
            "churn", True, MEMTYPE_GUARD="*", MEMTYPE_GUARD_COST="100")
        self.assertEqual((g_all, miss_all, cheap_all), (200001, 0, 0))
        self.assertLess(took, took_all)

    def test_overflow_only_blocks_guard_more_within_the_cost_bound(self):
        # The same churn within the default bounds: past its share of the
        # cost bound, full guarding gives way to overflow-only blocks, whose
        # runs are recycled with no system call; their time counts against
        # the bound too, but each costs far less, so many more blocks are
        # guarded than with full guarding alone (here: 70-100 % of the
        # blocks against about 3 %).
        # Both counts follow the wall clock, which a loaded machine (CI runs
        # tests side by side on two cores) stretches unevenly: a preemption
        # inside a sampled, timed guarding is charged eight times over. So
        # the pair runs up to three times, interleaved, and one pair must
        # show the gain; without overflow-only blocks none would.
        pairs = []
        for _ in range(3):
            (g, miss, cheap), _ = self.guard_counts("churn", True, MEMTYPE_GUARD="*")
            self.assertEqual(g + miss, 200001)
            self.assertLessEqual(cheap, g)
            (gf, missf, cheapf), _ = self.guard_counts("churn", True, MEMTYPE_GUARD="*",
                                                       MEMTYPE_GUARD_FULL="100")
            self.assertEqual((gf + missf, cheapf), (200001, 0))
            pairs.append((g, gf))
            if g > 10 * max(gf, 1000):
                break
        else:
            self.fail("overflow-only blocks did not guard 10 times more than full "
                      "guarding alone in any of three runs (guarded, full only): %s" % pairs)
        # Overflow-only from the start and no cost bound: every block, one
        # run recycled.
        (g0, miss0, cheap0), _ = self.guard_counts("churn", True, MEMTYPE_GUARD="*",
                                                   MEMTYPE_GUARD_FULL="0",
                                                   MEMTYPE_GUARD_COST="100")
        self.assertEqual((g0, miss0, cheap0), (200001, 0, 200001))

    def test_an_overflow_only_block_faults_at_a_read_one_byte_past_it(self):
        r = self.caught("guard", "churnread", r"heap-buffer-overflow READ at 0x[0-9a-f]+ \(0 bytes "
                        r"after a 24-byte block of type make_buf\+", detected="read_past",
                        allocated="make_buf", MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0",
                        MEMTYPE_GUARD_COST="100")
        with open(os.path.join(HERE, "guard.c")) as f:
            line = [n for n, l in enumerate(f, 1) if "return ((const volatile char *)p)[at];" in l]
        self.assertRegex(r.stderr, r"(?m)^    #0 0x[0-9a-f]+ in read_past\+0x[0-9a-f]+ "
                                   r"\(guard\.c:%d\)$" % line[0])
        # The look-alike: the same churn, every byte of the block in bounds.
        r = run("guard", "churnok", MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0",
                MEMTYPE_GUARD_COST="100")
        self.assertEqual((r.returncode, r.stderr), (0, ""), r.stderr)
        self.assertTrue(r.stdout.endswith("done\n"), r.stdout)

    def test_an_underflow_of_an_overflow_only_block_is_reported_once(self):
        # A reused pooled run lays only the front bytes its last block did
        # not cover: a front found written at free is laid again, so the
        # run's later blocks are not reported for it.
        r = run("guard", "underreuse", MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0",
                MEMTYPE_GUARD_COST="100", MEMTYPE_ON_ERROR="continue")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertRegex(r.stderr, r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(40 bytes "
                                   r"before a 100-byte block of type make_buf\+")
        r = run("guard", "ok", MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0",
                MEMTYPE_GUARD_COST="100", MEMTYPE_ON_ERROR="continue")
        self.assertEqual((r.returncode, r.stderr), (0, ""), r.stderr)

    def test_the_patterns_of_guarded_blocks_live_at_exit_are_checked(self):
        env = dict(MEMTYPE_GUARD="*", MEMTYPE_ON_ERROR="continue")
        for checks in ("0", "1"):
            r = run("guard", "liveunder", MEMTYPE_TRASH=checks, MEMTYPE_REDZONE=checks, **env)
            self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
            self.assertRegex(r.stderr, r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(1 bytes "
                                       r"before a 100-byte block of type make_buf\+")
            self.assertIn("found at exit: the block is still live", r.stderr)
            r = run("guard", "liveslack", MEMTYPE_TRASH=checks, MEMTYPE_REDZONE=checks, **env)
            self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
            self.assertRegex(r.stderr, r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                                       r"after a 17-byte block of type make_buf\+")
            self.assertIn("found at exit: the block is still live", r.stderr)
            r = run("guard", "liveok", MEMTYPE_TRASH=checks, MEMTYPE_REDZONE=checks, **env)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""), r.stderr)

    def test_the_low_bit_of_a_guarded_blocks_pointer_is_free_for_a_tag(self):
        # fontconfig keeps a tag in the low bit of its strings' pointers (an
        # odd one is an offset into a cache file): a 1-aligned guarded string
        # crashed every program that draws text (fc-match, graphviz's dot).
        for full in ("100", "0"):
            r = run("guard", "tagged", MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL=full,
                    MEMTYPE_GUARD_COST="100", MEMTYPE_TRASH="1", MEMTYPE_REDZONE="1")
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""), r.stderr)

    def test_aligned_sse_accesses_to_an_under_aligned_guarded_block_are_carried_out(self):
        # A 40-byte guarded block is 8-aligned; movaps, movdqa, paddd and
        # vmovaps on its 16 bytes at offset 16 fault with a general
        # protection fault: memtype carries them out, and the call site's next
        # blocks are 16-aligned. Nothing is reported: the program is correct.
        want = subprocess.run([os.path.join(BIN, "guard_align"), "sse"], capture_output=True,
                              text=True, env=clean_env(), timeout=60).stdout
        self.assertIn("sum 2400", want)
        for env in ({"MEMTYPE_GUARD_FULL": "100"}, {"MEMTYPE_GUARD_FULL": "0"},
                    {"MEMTYPE_GUARD_METHOD": "mprotect"}, CHECKS):
            r = run("guard_align", "sse", MEMTYPE_GUARD="*", MEMTYPE_GUARD_COST="100", **env)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, want, ""), env)
        # a SIGTRAP handler of the program's, installed after a first
        # carried-out access: memtype's traps stay memtype's, the program's
        # int3 reaches its handler once
        for env in ({}, {"MEMTYPE_GUARD": "*", "MEMTYPE_GUARD_COST": "100"}):
            r = run("guard_align", "trap", **env)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "traps 1, b 2 2 2 2\n", ""))
        # the program's own misaligned movaps (a 16-aligned block, 8 bytes
        # in): a crash, told as such, in every mode
        for mode, env in (("mine", {}), ("mine", {"MEMTYPE_GUARD": "*"}),
                          ("mine40", {"MEMTYPE_GUARD": "*"})):
            r = run("guard_align", mode, **env)
            self.assertEqual(r.returncode, -11, r.stderr)
            self.assertRegex(r.stderr, r"memtype: ERROR: segv at 0x[0-9a-f]+ \((8 bytes into a "
                                       r"48|4 bytes into a 40)-byte block of type make\+")
            self.assertIn("an aligned SSE/AVX access (movaps, movdqa...) to 0x", r.stderr)
            self.assertRegex(r.stderr, r"#0 0x[0-9a-f]+ in bump\+0x[0-9a-f]+ \(guard_align.c:\d+\)")

    def test_calloc_of_a_reused_guarded_run_is_zero(self):
        # A pooled run's block keeps its last block's bytes for malloc, not
        # for calloc.
        import tempfile
        from memtype_report import dump
        for trash in ("0", "1"):
            with tempfile.TemporaryDirectory(prefix="memtype-guard.") as tmp:
                out = os.path.join(tmp, "d.mtd")
                r = run("guard", "calloczero", MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0",
                        MEMTYPE_GUARD_COST="100", MEMTYPE_TRASH=trash, MEMTYPE_OUTPUT=out)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""), r.stderr)
                guarded, allocs = dump.load(out).guard_coverage()
                self.assertGreater(guarded, 3900, (guarded, allocs))

    def test_a_reused_runs_front_window_is_laid_where_its_last_block_was(self):
        # The front pattern is the 512 bytes before a block; a pooled run's
        # next block lays what its last one's window did not cover (a
        # smaller block starts where the last one's bytes were, a larger one
        # before its window).
        env = dict(MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0", MEMTYPE_GUARD_COST="100",
                   MEMTYPE_ON_ERROR="continue")
        r = run("guard", "underwin", **env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 2, r.stderr)
        self.assertRegex(r.stderr, r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(60 bytes "
                                   r"before a 24-byte block of type make_buf\+")
        self.assertRegex(r.stderr, r"heap-buffer-underflow WRITE at 0x[0-9a-f]+ \(512 bytes "
                                   r"before a 200-byte block of type make_buf\+")
        r = run("guard", "underwinok", **env)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r.stderr)

    def test_a_write_after_free_of_an_overflow_only_block_is_found_at_reuse(self):
        self.caught("guard", "uafreuse", r"write-after-free WRITE at 0x[0-9a-f]+ \(5 bytes into "
                    r"a 100-byte block of type make_buf\+", allocated="make_buf", freed="main",
                    MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0")
        # Without the write, no report (the ok variant reuses no run).
        r = run("guard", "ok", MEMTYPE_GUARD="*", MEMTYPE_GUARD_FULL="0")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))

    def test_the_resident_memory_bound_limits_live_guarded_blocks(self):
        # 30000 live blocks of 64 bytes, each a page when guarded: at most
        # the program's other resident memory plus 16 MiB (4096 pages) are.
        (g, miss), _ = self.guard_counts("many", MEMTYPE_GUARD="*", MEMTYPE_GUARD_COST="100")
        self.assertEqual(g + miss, 30001)
        self.assertLess(g, 4096 + 2048)
        (g0, miss0), _ = self.guard_counts("many", MEMTYPE_GUARD="*", MEMTYPE_GUARD_COST="100",
                                           MEMTYPE_GUARD_RSS="0")
        self.assertGreater(g0, g + 1000)

    def test_the_mapping_limit_falls_back_too(self):
        r = run("guard", "many", MEMTYPE_GUARD="*", MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0",
                MEMTYPE_LEAKS="0")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))


class ProcessTitle(unittest.TestCase):
    """A program that writes over its argv and environment strings to set its
    process title (postgres, nginx, redis do): memtype read its options and
    the program's name and command line at start, into its own memory, so
    nothing changes for it: guard pages still guard, the dump is written
    under the right name, and no option reads the title or the padding."""
    caught = Caught.caught

    def test_guard_pages_still_guard_and_the_dump_has_the_right_name(self):
        import glob
        import shutil
        import tempfile
        from memtype_report import dump
        for pad in ("nul", "junk"):
            tmp = tempfile.mkdtemp(prefix="memtype-proctitle.")
            try:
                r = self.caught("proctitle", "overflow", r"heap-buffer-overflow WRITE at "
                                r"0x[0-9a-f]+ \(0 bytes after a 64-byte block of type make_buf\+",
                                detected="main", allocated="make_buf", extra_args=[pad],
                                MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0", MEMTYPE_GUARD="*",
                                MEMTYPE_OUTPUT=os.path.join(tmp, "d.%e.%p.mtd"))
                self.assertNotIn("memtype: warning", r.stderr)
                files = glob.glob(os.path.join(tmp, "*"))
                self.assertEqual([os.path.basename(f).split(".")[:2] for f in files],
                                 [["d", "proctitle"]], (pad, files, r.stderr))
                d = dump.load(files[0])
                self.assertEqual(d.reason, "fatal signal")
                # The command line as it started, not the title.
                self.assertEqual(d.argv, [os.path.join(BIN, "proctitle"), "overflow", pad])
                self.assertEqual([e.kind for e in d.errors], ["heap-buffer-overflow"])
            finally:
                shutil.rmtree(tmp)

    def test_output_off_stays_off_and_the_summary_names_the_program(self):
        for pad in ("nul", "junk"):
            for env in ({}, {"MEMTYPE_GUARD": "*"}, CHECKS):
                r = run("proctitle", "ok", [pad], MEMTYPE_OUTPUT="off", MEMTYPE_STATS="1", **env)
                self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
                self.assertNotIn("memtype: warning", r.stderr)
                lines = r.stderr.splitlines()
                self.assertRegex(lines[0], r"^memtype: summary: proctitle \(pid \d+\): ", r.stderr)
                self.assertTrue(all(l.startswith("memtype: ") for l in lines), r.stderr)


class NotFlagged(unittest.TestCase):
    """Correct programs that look like the buggy ones: no report, same output."""

    def test_correct_look_alikes_are_clean(self):
        for prog in ("overflow", "write_after_free", "double_free", "invalid_free", "mismatched",
                     "bad_realloc", "guard"):
            for env in (CHECKS, {"MEMTYPE_TRASH": "0", "MEMTYPE_REDZONE": "0"},
                        dict(CHECKS, MEMTYPE_QUARANTINE="0"), dict(CHECKS, MEMTYPE_GUARD="*")):
                r = run(prog, "ok", **env)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""),
                                 "%s ok with %s" % (prog, env))


if __name__ == "__main__":
    unittest.main()


class Crashes(unittest.TestCase):
    """A fault the program does not handle is explained (issue 18, point 9):
    one report through the reporter, the dump, then the same death."""

    def crash(self, variant, *args, **env_vars):
        import glob
        import shutil
        import tempfile
        from memtype_report import dump
        tmp = tempfile.mkdtemp(prefix="memtype-crash.")
        try:
            r = run("crash", variant, args, MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"), **env_vars)
            files = glob.glob(os.path.join(tmp, "d.*.mtd"))
            return r, [dump.load(f) for f in files]
        finally:
            shutil.rmtree(tmp)

    def test_a_read_far_past_a_guarded_block_is_reported_with_the_nearest_block(self):
        r, dumps = self.crash("wild", MEMTYPE_GUARD="*", MEMTYPE_GUARD_COST="100",
                              MEMTYPE_GUARD_RSS="0")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: wild-access READ at 0x[0-9a-f]+ "
                                   r"\(39980 bytes after a 20-byte block of type make_small\+")
        self.assertIn("touch", section(r.stderr, "detected at"), r.stderr)
        self.assertEqual(section(r.stderr, "block allocated at")[:1], ["make_small"], r.stderr)
        self.assertIn("let the process die of SIGSEGV", r.stderr)
        self.assertNotIn("done", r.stdout)
        (d,) = dumps
        self.assertEqual([e.kind for e in d.errors], ["wild-access"])
        self.assertEqual((d.ending.how, d.ending.signal, d.ending.via), ("signal", 11, "crash"))

    def test_a_call_into_a_heap_block_is_told_as_a_jump_and_dies_as_without_memtype(self):
        # The heap is not executable, glibc's or memtype's. Guarded (as under memtype run,
        # which goes on after errors), the block's page must not be opened and the call
        # retried forever: it ran into the test's timeout before.
        for env in ({}, {"MEMTYPE_GUARD": "*", "MEMTYPE_GUARD_COST": "100",
                         "MEMTYPE_GUARD_RSS": "0", "MEMTYPE_ON_ERROR": "continue"}):
            r, dumps = self.crash("exec", **env)
            self.assertEqual(r.returncode, -11, (env, r.stderr))
            self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
            self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: segv at 0x[0-9a-f]+ \(0 bytes into a "
                                       r"16-byte block of type call_copy\+")
            self.assertRegex(r.stderr, r"the program jumped to 0x[0-9a-f]+ \(an instruction fetch")
            # the target, then the stack of the call: its caller's line
            frames = section(r.stderr, "detected at")
            self.assertRegex(frames[0], r"^0x[0-9a-f]+$", r.stderr)
            self.assertEqual(frames[1:3], ["call_copy", "main"], r.stderr)
            self.assertNotIn("done", r.stdout)
            (d,) = dumps
            self.assertEqual([e.kind for e in d.errors], ["segv"])

    def test_a_call_through_a_null_function_pointer_is_told_with_the_callers_line(self):
        r, dumps = self.crash("nullcall", MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: segv at 0x0\n  the program jumped to "
                                   r"(0x0|\(nil\)) \(an instruction fetch.*a call through a NULL "
                                   r"function pointer")
        self.assertEqual(section(r.stderr, "detected at")[1:3], ["fire_event", "main"], r.stderr)
        (d,) = dumps
        self.assertEqual([e.kind for e in d.errors], ["segv"])

    def test_a_write_far_below_the_first_guarded_block_faults_as_without_memtype(self):
        # Below memtype's guarded region lay its own page table of the region: a write
        # 1 MiB before the first guarded block went there, unseen, and the program went on.
        r, dumps = self.crash("farunder", MEMTYPE_GUARD="*", MEMTYPE_GUARD_COST="100",
                              MEMTYPE_GUARD_RSS="0", MEMTYPE_ON_ERROR="continue")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: segv WRITE at 0x[0-9a-f]+", r.stderr)
        self.assertNotIn("done", r.stdout)

    def test_a_null_dereference_gets_a_short_report_in_the_default_mode(self):
        r, dumps = self.crash("null", MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: segv READ at 0x0\n  address 0x0, not in "
                                   r"memtype's heap: a NULL pointer dereference$")
        self.assertIn("touch", section(r.stderr, "detected at"), r.stderr)
        self.assertNotIn("block allocated at", r.stderr)
        self.assertEqual(len(dumps), 1)

    @unittest.skipUnless(os.uname().machine == "x86_64", "a general protection fault is x86-64's")
    def test_a_non_canonical_pointer_is_not_called_a_null_dereference(self):
        # the kernel gives no address: memtype decodes the faulting instruction's operand
        r, dumps = self.crash("trash")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: wild-access READ at 0xdeadc0dedeadc0de\n"
                                   r"  address 0xdeadc0dedeadc0de is not canonical: it is made of "
                                   r"memtype's trash pattern \(0xdeadc0dedeadc0de in r[a-z0-9]+\)")
        self.assertNotIn("NULL", r.stderr)
        self.assertIn("touch", section(r.stderr, "detected at"), r.stderr)
        (d,) = dumps
        self.assertEqual([e.kind for e in d.errors], ["wild-access"])

    @unittest.skipUnless(os.uname().machine == "x86_64", "a general protection fault is x86-64's")
    def test_a_pointer_read_from_a_freed_block_is_a_use_after_free_of_that_block(self):
        # head->next->value after free(head): with trash on, head->next is
        # 0xdeadc0de..., and the register still holding head names the block
        r, dumps = self.crash("uafptr", MEMTYPE_TRASH="1")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: use-after-free READ at 0x[0-9a-f]+ \(0 "
                                   r"bytes into a 16-byte freed block of type make_node\+")
        self.assertRegex(r.stderr, r"a pointer read from this freed block \(memtype's trash "
                                   r"0xdeadc0dedeadc0de in r[a-z0-9]+\) was used as an address")
        self.assertEqual(section(r.stderr, "detected at")[:1], ["second_value"], r.stderr)
        self.assertEqual(section(r.stderr, "block allocated at")[:2], ["make_node", "main"], r.stderr)
        self.assertEqual(section(r.stderr, "block freed at")[:1], ["main"], r.stderr)
        (d,) = dumps
        self.assertEqual([e.kind for e in d.errors], ["use-after-free"])

    @unittest.skipUnless(os.uname().machine == "x86_64", "a general protection fault is x86-64's")
    def test_a_freed_block_held_only_by_a_local_variable_is_found_on_the_stack(self):
        r, dumps = self.crash("uafstack", MEMTYPE_TRASH="1")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: use-after-free READ at 0x[0-9a-f]+ \(0 "
                                   r"bytes into a 16-byte freed block of type make_node\+")
        self.assertRegex(r.stderr, r"was used as an address; the stack word at rsp\+\d+ \(a local "
                                   r"or a saved register\) points into the block")
        self.assertEqual(section(r.stderr, "detected at")[:1], ["second_value_o0"], r.stderr)
        self.assertEqual(section(r.stderr, "block freed at")[:1], ["second_value_o0"], r.stderr)
        (d,) = dumps
        self.assertEqual([e.kind for e in d.errors], ["use-after-free"])

    @unittest.skipUnless(os.uname().machine == "x86_64", "a general protection fault is x86-64's")
    def test_a_pointer_read_past_a_block_from_its_redzone_is_an_overflow_of_that_block(self):
        # three words and no room for the NULL that ends the walk: v[3] is the
        # redzone's pattern, and strlen follows it
        r, dumps = self.crash("words")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: heap-buffer-overflow READ at 0x[0-9a-f]+ \(0 "
                                   r"bytes after a 24-byte block of type make_words\+")
        self.assertRegex(r.stderr, r"a pointer read from this block's redzone \(memtype's pattern "
                                   r"0xdeadc0dedeadc0de in r[a-z0-9]+, past the block\) was used as an "
                                   r"address")
        self.assertIn("total_length", section(r.stderr, "detected at"), r.stderr)
        self.assertEqual(section(r.stderr, "block allocated at")[:2], ["make_words", "main"],
                         r.stderr)
        (d,) = dumps
        self.assertEqual([e.kind for e in d.errors], ["heap-buffer-overflow"])
        # without redzones the pattern past the block is not memtype's: no such claim
        r, _ = self.crash("words", MEMTYPE_REDZONE="0")
        self.assertNotIn("heap-buffer-overflow", r.stderr)

    @unittest.skipUnless(os.uname().machine == "x86_64", "a general protection fault is x86-64's")
    def test_a_pointer_overwritten_by_text_is_shown_as_text(self):
        # the label pointer after an 8-byte name field took "IJKLMNOP"; the
        # fault is in libc's strlen (an SSE, AVX2 or EVEX load, by the CPU)
        r, dumps = self.crash("text")
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: wild-access READ at 0x504f4e4d4c4b4a4.\n"
                                   r"  address 0x504f4e4d4c4b4a4. is not canonical \(no memory can "
                                   r"be there\): the pointer in r[a-z0-9]+ is text, \"IJKLMNOP\"")
        self.assertIn("main", section(r.stderr, "detected at"), r.stderr)
        # the record that held it: found through a register or a saved word
        self.assertRegex(r.stderr, r"(?m)^  the same 8 bytes are at byte 8 of a 16-byte block of "
                                   r"type main\+0x[0-9a-f]+ \(crash\) \(still allocated\): the "
                                   r"pointer was read from there, or its bytes copied from there$")
        # a pointer that is not text: its value, no text
        r, _ = self.crash("text", "ABCDEFGH\x01\x02\x03\x04\x05\x06\x07\x7f")
        self.assertRegex(r.stderr, r"the pointer in r[a-z0-9]+, 0x7f07060504030201, was "
                                   r"overwritten or never set")

    def test_a_sigbus_is_reported_as_a_bus_error(self):
        r, dumps = self.crash("bus")
        self.assertEqual(r.returncode, -7, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: bus-error at 0x[0-9a-f]+\n  address "
                                   r"0x[0-9a-f]+, not in memtype's heap, no block near it")
        self.assertIn("die of SIGBUS", r.stderr)
        (d,) = dumps
        self.assertEqual((d.ending.how, d.ending.signal, d.ending.via), ("signal", 7, "crash"))

    def test_a_program_that_recovers_from_its_own_fault_is_not_reported(self):
        for env in ({}, {"MEMTYPE_GUARD": "*"}):
            r, dumps = self.crash("recover", **env)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "recovered\ndone\n", ""), env)
            (d,) = dumps
            self.assertEqual(d.errors_total, 0)
            self.assertEqual((d.ending.how, d.ending.status), ("exit", 0))

    def test_no_fault_no_report(self):
        r, _ = self.crash("ok", MEMTYPE_GUARD="*")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""))


class Fortified(unittest.TestCase):
    """glibc's _FORTIFY_SOURCE variants (__memcpy_chk, __sprintf_chk, ...),
    which every fortified program calls instead of the plain names (Debian
    builds its packages so), are checked at the call as the plain ones are."""
    caught = Caught.caught
    FUNCTIONS = ("memcpy", "memmove", "mempcpy", "memset", "strcpy", "stpcpy", "strncpy",
                 "strcat", "strncat", "sprintf", "vsprintf", "snprintf", "vsnprintf", "read",
                 "pread", "recv", "fread", "fgets")

    def test_each_variant_is_checked_at_the_call(self):
        # glibc is given no object size ((size_t)-1): it checks nothing, and
        # without memtype these overflows go unseen
        for fn in self.FUNCTIONS:
            with self.subTest(fn=fn):
                r = self.caught("fortified", "bad",
                                r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes after a "
                                r"40-byte block of type main\+0x[0-9a-f]+ \(fortified\)\)",
                                allocated="main", extra_args=(fn,))
                # (the fillers, read or snprintf, are given a size they may fill)
                self.assertRegex(r.stderr, r"__%s_chk (?:writes|may write) 41 bytes at offset 0 of "
                                           r"the block, the last 1 past its end \(checked at the "
                                           r"call" % fn)
                detected = section(r.stderr, "detected at")
                self.assertIn(detected[:1], (["main"], ["vsp"], ["vsnp"]), r.stderr)
        r = self.caught("fortified", "bad", r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes "
                        r"after a 16-byte block", detected="main", extra_args=("poll",))
        self.assertIn("__poll_chk writes 24 bytes", r.stderr)

    WIDE = ("wmemcpy", "wmemmove", "wmempcpy", "wmemset", "wcscpy", "wcpcpy", "wcsncpy",
            "wcpncpy", "wcscat", "wcsncat", "swprintf", "mbstowcs")

    def test_each_wide_variant_is_checked_at_the_call(self):
        # 11 wide characters (44 bytes) into a block of 10 (40 bytes)
        for fn in self.WIDE:
            with self.subTest(fn=fn):
                r = self.caught("fortified", "bad",
                                r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes after a "
                                r"40-byte block of type main\+0x[0-9a-f]+ \(fortified\)\)",
                                allocated="main", detected="main", extra_args=(fn,))
                self.assertRegex(r.stderr, r"__%s_chk (?:writes|may write) 44 bytes at offset 0 of "
                                           r"the block, the last 4 past its end \(checked at the "
                                           r"call" % fn)

    PRINTED = tuple("pf_" + f for f in (
        "printf", "fprintf", "dprintf", "asprintf", "vprintf", "vfprintf", "vdprintf",
        "vasprintf", "__printf_chk", "__fprintf_chk", "__dprintf_chk", "__asprintf_chk",
        "__vprintf_chk", "__vfprintf_chk", "__vdprintf_chk", "__vasprintf_chk"))

    def test_printfs_string_arguments_are_held_to_their_blocks(self):
        # %s of a 40-byte block with no NUL: a read past it, told before
        # printf reads it, by each name of the family, plain and fortified
        for fn in self.PRINTED:
            with self.subTest(fn=fn):
                r = self.caught("fortified", "bad",
                                r"heap-buffer-overflow READ at 0x[0-9a-f]+ \(0 bytes after a "
                                r"40-byte block of type main\+0x[0-9a-f]+ \(fortified\)\)",
                                allocated="main", extra_args=(fn,))
                # (glibc's stdio.h makes vprintf an inline call of vfprintf)
                name = "vfprintf" if fn == "pf_vprintf" else fn[3:]
                self.assertIn("%s reads 41 bytes at offset 0 of the block, the last 1 past its "
                              "end (checked at the call" % name, r.stderr)
                detected = section(r.stderr, "detected at")
                self.assertTrue({"printed", "vcall"} & set(detected[:3]), r.stderr)

    def test_the_look_alikes_are_not_flagged(self):
        for fn in self.FUNCTIONS + self.WIDE + self.PRINTED + ("poll", "sprintf_fortified"):
            with self.subTest(fn=fn):
                r = run("fortified", "ok", (fn,))
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertTrue(r.stdout.endswith("done\n"), r.stdout)

    def test_a_fortified_build_is_reported_before_glibc_ends_it(self):
        # built -O2 -D_FORTIFY_SOURCE=2: the compiler knows the block's size
        # from malloc's and calls __sprintf_chk, which ends the program on
        # the overflow; memtype's report, with the lines, comes first
        with open(os.path.join(HERE, "fortified_real.c")) as f:
            lines = {k: n for n, l in enumerate(f, 1)
                     for k in ("malloc(", "sprintf(") if k in l}
        r = run("fortified", "bad", ("sprintf_fortified",), MEMTYPE_ON_ERROR="continue")
        self.assertEqual(r.returncode, -6, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: heap-buffer-overflow WRITE at 0x[0-9a-f]+ "
                                   r"\(0 bytes after a 16-byte block of type fortified_sprintf\+")
        self.assertIn("__sprintf_chk writes 17 bytes at offset 0 of the block, the last 1 past its "
                      "end", r.stderr)
        self.assertRegex(r.stderr, r"(?m)^    #\d+ 0x[0-9a-f]+ in fortified_sprintf\+0x[0-9a-f]+ "
                                   r"\(fortified_real\.c:%d\)$" % lines["sprintf("])
        self.assertRegex(r.stderr, r"(?m)^    #0 0x[0-9a-f]+ in fortified_sprintf\+0x[0-9a-f]+ "
                                   r"\(fortified_real\.c:%d\)$" % lines["malloc("])
        # then glibc's own check, as without memtype
        self.assertIn("buffer overflow detected", r.stderr.split("memtype will now continue")[1])
        self.assertNotIn("done", r.stdout)


class FollowExec(unittest.TestCase):
    """MEMTYPE_FOLLOW_EXEC (memtype run sets it): a child started with an
    environment without memtype's variables (env -i, a test runner's own
    environment) still runs under memtype, whatever exec call starts it."""
    HOWS = ("execve", "execle", "execvpe", "fexecve", "clearenv", "execlp", "vfork", "spawn")

    def memtype_run(self, *args):
        import tempfile
        with tempfile.TemporaryDirectory(prefix="memtype-follow.") as tmp:
            return subprocess.run([os.environ.get("MEMTYPE_CMD", "build/bin/memtype"), "run",
                                   *args], cwd=tmp, env=clean_env(), capture_output=True,
                                  text=True, timeout=120)

    def test_children_with_an_environment_of_their_own_are_followed(self):
        for how in self.HOWS:
            with self.subTest(how=how):
                r = self.memtype_run("--", os.path.join(BIN, "follow"), how, "bad")
                self.assertEqual((r.returncode, r.stdout), (0, "child done\ndone\n"), r.stderr)
                self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
                self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: heap-buffer-overflow WRITE at "
                                           r"0x[0-9a-f]+ \(0 bytes after a 10-byte block")
                self.assertEqual(section(r.stderr, "detected at")[:1], ["child"], r.stderr)
                self.assertRegex(r.stderr, r"(?m)^memtype: run summary: 2 processes \(follow "
                                           r"x2\); 1 heap error;")
                # the look-alike: the same tree, no error
                r = self.memtype_run("--", os.path.join(BIN, "follow"), how, "ok")
                self.assertEqual((r.returncode, r.stdout), (0, "child done\ndone\n"), r.stderr)
                self.assertNotIn("memtype: ERROR:", r.stderr)
                self.assertRegex(r.stderr, r"(?m)^memtype: run summary: 2 processes \(follow "
                                           r"x2\); 0 heap errors;")

    def test_without_it_such_a_child_runs_without_memtype(self):
        r = self.memtype_run("--follow-exec", "0", "--", os.path.join(BIN, "follow"), "execve",
                             "bad")
        self.assertEqual((r.returncode, r.stdout), (0, "child done\ndone\n"), r.stderr)
        self.assertNotIn("memtype: ERROR:", r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: run summary: 1 process \(follow\); "
                                   r"0 heap errors;")

    def test_plain_preload_follows_only_when_asked(self):
        r = run("follow", "execve", ("bad",))
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "child done\ndone\n", ""))
        r = run("follow", "execve", ("bad",), MEMTYPE_FOLLOW_EXEC="1", MEMTYPE_ON_ERROR="continue")
        self.assertEqual((r.returncode, r.stdout), (0, "child done\ndone\n"), r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR: heap-buffer-overflow"), 1, r.stderr)
        # preloaded by a relative path, the child started from another
        # directory: it is given the library's absolute path
        env = dict(clean_env(), MEMTYPE_OUTPUT="off", MEMTYPE_FOLLOW_EXEC="1",
                   MEMTYPE_ON_ERROR="continue", **CHECKS)
        libdir = os.path.dirname(os.path.abspath(LIB))
        env["LD_PRELOAD"] = os.path.join(".", os.path.basename(LIB))
        r = subprocess.run([os.path.abspath(os.path.join(BIN, "follow")), "chdir", "bad"],
                           cwd=libdir, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual((r.returncode, r.stdout), (0, "child done\ndone\n"), r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR: heap-buffer-overflow"), 1, r.stderr)


class LibcRangeChecks(unittest.TestCase):
    """The libc range checks (preload/libc_checks.c) where the call is no
    plain PLT call of the program (the corpus's lc_* cases cover those):
    reported at the call, before memcpy runs, whatever the mode that turns
    them on; nothing rewritten and nothing reported at the call without one."""
    caught = Caught.caught
    HEADLINE = (r"heap-buffer-overflow WRITE at 0x[0-9a-f]+ \(0 bytes after a 40-byte block of "
                r"type main\+0x[0-9a-f]+ \(libc_calls\)\)")

    def test_a_library_loaded_later_is_checked_at_its_call(self):
        r = self.caught("libc_calls", "bad", self.HEADLINE, detected="plugin_copy",
                        allocated="main", extra_args=("dlopen",))
        self.assertIn("memcpy writes 41 bytes at offset 0 of the block, the last 1 past its end",
                      r.stderr)
        # the block's whole allocation stack, not only its call site
        frames = section(r.stderr, "block allocated at")
        self.assertEqual(frames[:1], ["main"], r.stderr)
        self.assertGreater(len(frames), 1, r.stderr)  # main's callers too (libc's, named or not)

    def test_a_function_pointer_to_memcpy_is_checked_at_its_call(self):
        self.caught("libc_calls", "bad", self.HEADLINE, detected="call_through",
                    extra_args=("pointer",))

    def test_a_copy_into_a_freed_block_is_a_use_after_free_at_the_call(self):
        r = self.caught("libc_calls", "bad", r"use-after-free WRITE at 0x[0-9a-f]+ \(0 bytes into "
                        r"a 40-byte block of type main\+0x[0-9a-f]+ \(libc_calls\)\)",
                        detected="call_through", freed="main", extra_args=("freed",))
        self.assertIn("memcpy writes 40 bytes in a freed block", r.stderr)
        frames = section(r.stderr, "block freed at")
        self.assertEqual(frames[:1], ["main"], r.stderr)
        self.assertGreater(len(frames), 1, r.stderr)  # main's callers too (libc's, named or not)

    def test_guard_pages_turn_them_on_too(self):
        self.caught("libc_calls", "bad", self.HEADLINE, detected="plugin_copy",
                    extra_args=("dlopen",), MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0",
                    MEMTYPE_GUARD="*", MEMTYPE_GUARD_COST="100", MEMTYPE_GUARD_RSS="0")

    def test_scanf_by_its_gnu_names(self):
        # (C99's __isoc99_sscanf: the corpus's lc_sscanf and lc_fscanf)
        r = run("scanf_gnu", "bad", MEMTYPE_ON_ERROR="continue")
        self.assertEqual((r.returncode, r.stdout), (0, "alexander a-longer-word-than-eight\ndone\n"),
                         r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: ERROR: heap-buffer-overflow WRITE at 0x[0-9a-f]+ "
                                   r"\(0 bytes after a 8-byte block")
        self.assertIn("sscanf writes 10 bytes at offset 0 of the block, the last 2 past its end "
                      "(checked at the call, when libc had written them)", r.stderr)
        self.assertEqual(section(r.stderr, "detected at")[:1], ["main"], r.stderr)
        # %as (GNU: scanf allocates) writes a pointer, in bounds
        r = run("scanf_gnu", "ok")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "alex a-longer-word-than-eight\ndone\n", ""))

    def test_the_look_alikes_are_not_flagged(self):
        for how in ("dlopen", "pointer", "freed"):
            r = subprocess.run([os.path.join(BIN, "libc_calls"), "ok", how],
                               env=dict(clean_env(), LD_PRELOAD=LIB, MEMTYPE_OUTPUT="off", **CHECKS),
                               capture_output=True, text=True, timeout=120)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "done\n", ""), how)

    def test_continue_reports_the_call_once_and_goes_on(self):
        r = run("libc_calls", "bad", ("dlopen",), MEMTYPE_ON_ERROR="continue")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertIn("plugin_copy", section(r.stderr, "detected at"), r.stderr)

    def test_without_checks_nothing_is_rewritten_and_nothing_reported_at_the_call(self):
        for mode, env in (("plain", {}), ("sampling", {"MEMTYPE_GUARD_RATE": "1000"})):
            r = run("libc_calls", "bad", ("dlopen",), MEMTYPE_TRASH="0", MEMTYPE_REDZONE="0",
                    MEMTYPE_VERBOSE="1", **env)
            self.assertEqual((r.returncode, r.stdout), (0, "done\n"), mode + r.stderr)
            self.assertNotIn("libc range checks", r.stderr, mode)
            self.assertNotIn("memtype: ERROR:", r.stderr, mode)
        r = run("libc_calls", "ok", ("dlopen",), MEMTYPE_VERBOSE="1")
        m = re.search(r"memtype: libc range checks: (\d+) call slots in (\d+) objects", r.stderr)
        self.assertTrue(m and int(m.group(1)) > 0, r.stderr)


class Suppressions(unittest.TestCase):
    """MEMTYPE_SUPPRESS (memtype run --suppress): a file of leak:, error: and
    KIND: rules that silence known leaks and errors, matched on the
    function (as linked or demangled), module or source file of a frame."""

    def write(self, text):
        import tempfile
        fd, path = tempfile.mkstemp(prefix="memtype-supp.", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path

    def test_each_kind_of_rule(self):
        # many_bugs_cxx: a leak, three overflows, two uses after free and a
        # double free, each in a method of shop::Basket
        supp = self.write("# the team's known bugs\n"
                          "leak:shop::Basket::make_item\n"
                          "\n"
                          "use-after-free:Basket::uaf_*\n"
                          "heap-buffer-overflow:^shop::Basket::overflow_write(bool)$\n")
        r = run("many_bugs_cxx", "bad", MEMTYPE_ON_ERROR="continue", MEMTYPE_SUPPRESS=supp,
                MEMTYPE_GUARD="*", MEMTYPE_STACK_DEPTH="16")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        kinds = re.findall(r"(?m)^memtype: ERROR: (\S+ ?(?:READ|WRITE)?) at .*type "
                           r"shop::Basket::(\w+)", r.stderr)
        self.assertEqual(sorted(kinds), [("double-free", "double_free"),
                                         ("heap-buffer-overflow READ", "overflow_read"),
                                         ("heap-buffer-overflow WRITE", "overflow_slack")],
                         r.stderr)
        self.assertNotIn("memtype: LEAK:", r.stderr)
        self.assertIn("memtype: suppressed by %s: 3 heap errors, 1 leaked block (16 bytes)" % supp,
                      r.stderr)
        self.assertIn("memtype:   leak:shop::Basket::make_item: 1 block\n", r.stderr)
        self.assertIn("memtype:   use-after-free:Basket::uaf_*: 2 errors\n", r.stderr)
        # without the file, all of them (the rules are what silenced them)
        r = run("many_bugs_cxx", "bad", MEMTYPE_ON_ERROR="continue", MEMTYPE_GUARD="*")
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 6, r.stderr)
        self.assertIn("memtype: LEAK: 16 bytes in 1 block is definitely lost", r.stderr)

    def test_a_source_file_or_module_rule_and_the_exit_code(self):
        # leaky.c's leaks named by their source file; the overflow loop's
        # errors by the program's module: the error exit code is not set by
        # suppressed errors
        supp = self.write("leak:bugs/leaky.c$\nerror:overflow\n")
        r = run("leaky", "leaks", MEMTYPE_SUPPRESS=supp, MEMTYPE_STACK_DEPTH="16")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("memtype: LEAK:", r.stderr)
        self.assertIn("0 heap errors, 13 leaked blocks (640 bytes)", r.stderr)
        r = run("overflow", "loop", MEMTYPE_ON_ERROR="continue", MEMTYPE_SUPPRESS=supp,
                MEMTYPE_ERROR_EXITCODE="42")
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertNotIn("memtype: ERROR:", r.stderr)
        self.assertIn("200 heap errors, 0 leaked blocks", r.stderr)
        # a rule that matches nothing leaves the errors alone
        other = self.write("error:no_such_function\n")
        r = run("overflow", "loop", MEMTYPE_ON_ERROR="continue", MEMTYPE_SUPPRESS=other,
                MEMTYPE_ERROR_EXITCODE="42")
        self.assertEqual(r.returncode, 42, r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertNotIn("memtype: suppressed by", r.stderr)  # nothing was

    def test_a_suppressed_error_leaves_the_blocks_next_error_told(self):
        # fill_a's overflow of the block is suppressed; fill_b's, on the
        # same block from another stack, is still reported (each block is
        # otherwise told once)
        supp = self.write("error:fill_a\n")
        r = run("overflow", "twocalls", MEMTYPE_ON_ERROR="continue", MEMTYPE_SUPPRESS=supp)
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertIn("fill_b", section(r.stderr, "detected at")[:2], r.stderr)
        self.assertIn("1 heap error, 0 leaked blocks", r.stderr)
        # without the rule: fill_a's, and the block is not told again
        r = run("overflow", "twocalls", MEMTYPE_ON_ERROR="continue")
        self.assertEqual(r.stderr.count("memtype: ERROR:"), 1, r.stderr)
        self.assertIn("fill_a", section(r.stderr, "detected at")[:2], r.stderr)

    def test_a_bad_file_stops_the_program_saying_why(self):
        for text, why in (("leak\n", "line 1: not a rule"),
                          ("# ok\nleak:x\nwhatever:y\n", "line 3: not a rule"),
                          ("error:\n", "line 1: not a rule")):
            supp = self.write(text)
            r = run("overflow", "ok", MEMTYPE_SUPPRESS=supp)
            self.assertEqual((r.returncode, r.stdout), (1, ""), r.stderr)
            self.assertIn("memtype: error: MEMTYPE_SUPPRESS=%s: %s; accepted: lines leak:PATTERN"
                          % (supp, why), r.stderr)
        r = run("overflow", "ok", MEMTYPE_SUPPRESS="/nonexistent/supp.txt")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("memtype: error: MEMTYPE_SUPPRESS=/nonexistent/supp.txt: no such file",
                      r.stderr)

    def test_memtype_report_writes_the_rules_of_a_run(self):
        # run once, let memtype report --suppressions write a rule for each
        # leak and error, run again with it: nothing is reported, all of it
        # is counted as suppressed; the rules name the functions
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="memtype-bugs.")
        self.addCleanup(shutil.rmtree, tmp)
        cmd = os.environ.get("MEMTYPE_CMD", "build/bin/memtype")
        prog = [os.path.join(BIN, "many_bugs_cxx"), "bad"]
        r = subprocess.run([cmd, "run", "--brief", "--"] + prog, cwd=tmp, env=clean_env(),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        dumps = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs if f.endswith(".mtd")]
        g = subprocess.run([cmd, "report", "--suppressions"] + dumps, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(g.returncode, 0, g.stderr)
        rules = [l for l in g.stdout.splitlines() if l and not l.startswith("#")]
        self.assertEqual(sorted(rules), [
            "double-free:^shop::Basket::double_free",
            "heap-buffer-overflow:^shop::Basket::overflow_read",
            "heap-buffer-overflow:^shop::Basket::overflow_slack",
            "heap-buffer-overflow:^shop::Basket::overflow_write",
            "leak:^shop::Basket::make_item",
            "use-after-free:^shop::Basket::uaf_read",
            "use-after-free:^shop::Basket::uaf_write"], g.stdout)
        self.assertRegex(g.stdout, r"(?m)^# 16 bytes in 1 block definitely lost, type "
                                   r"shop::Basket::make_item\(int\) \(many_bugs_cxx\.cc:\d+\)")
        supp = os.path.join(tmp, "known.supp")
        with open(supp, "w") as f:
            f.write(g.stdout)
        r = subprocess.run([cmd, "run", "--suppress", supp, "--"] + prog, cwd=tmp, env=clean_env(),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual((r.returncode, r.stdout), (0, "done\n"), r.stderr)
        self.assertNotIn("memtype: ERROR:", r.stderr)
        self.assertIn("memtype: suppressed by %s: 6 heap errors, 1 leaked block (16 bytes)"
                      % supp, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: run summary: 1 process \(many_bugs_cxx\); 0 "
                                   r"heap errors; no leaks$")
        # a dump with nothing to suppress says so
        r = subprocess.run([cmd, "run", "--brief", "--", os.path.join(BIN, "overflow"), "ok"],
                           cwd=tmp, env=clean_env(), capture_output=True, text=True, timeout=120)
        ok = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs
              if f.startswith("overflow.") and f.endswith(".mtd")]
        g = subprocess.run([cmd, "report", "--suppressions"] + ok, capture_output=True,
                           text=True, timeout=120)
        self.assertIn("# (no leak and no heap error in these dumps)", g.stdout)

    def test_memtype_run_takes_the_flag(self):
        import shutil
        import tempfile
        supp = self.write("leak:make_pair\nleak:new_node\n")
        tmp = tempfile.mkdtemp(prefix="memtype-bugs.")
        self.addCleanup(shutil.rmtree, tmp)
        cmd = os.environ.get("MEMTYPE_CMD", "build/bin/memtype")
        r = subprocess.run([cmd, "run", "--suppress", supp, "--", os.path.join(BIN, "leaky"),
                            "leaks"], cwd=tmp, env=clean_env(), capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"(?m)^memtype: run summary: 1 process \(leaky\); 0 heap "
                                   r"errors; leaks: possibly lost 64 bytes in 1 blocks$")
        self.assertIn("12 leaked blocks (576 bytes)", r.stderr)


class SignalDeaths(unittest.TestCase):
    """A process ended by a catchable signal writes its dump with that ending
    and still dies of the signal: forked children SIGTERMed while they work
    in 2 threads (some at once after fork) and while they end (exit or
    _exit: memtype's exit work, the leak scan, may be running; a Pool worker
    told to stop that gets Pool.terminate's SIGTERM)."""

    def test_every_sigtermed_child_leaves_a_dump_recording_its_death(self):
        import tempfile
        from memtype_report import dump
        killed_ending = 0
        for seed in range(1, 5):
            tmp = tempfile.mkdtemp(prefix="memtype-termkids.")
            try:
                r = run("termkids", "24", (str(seed),),
                        MEMTYPE_OUTPUT=os.path.join(tmp, "d.%p.mtd"), MEMTYPE_GUARD="*", MEMTYPE_LEAKS="1", MEMTYPE_STACK_DEPTH="16",
                        MEMTYPE_ON_ERROR="continue", MEMTYPE_DUMP_CHILDREN="0")
                self.assertEqual(r.returncode, 0, r.stderr)
                rows = [tuple(map(int, line.split())) for line in r.stdout.splitlines()]
                self.assertEqual(len(rows), 24, r.stdout)
                for k, (pid, st) in enumerate(rows):
                    path = os.path.join(tmp, "d.%d.mtd" % pid)
                    what = "seed %d child %d (pid %d, status %#x)" % (seed, k, pid, st)
                    if k % 2 == 0 or os.WIFSIGNALED(st):
                        # killed: the same death as without memtype, and its dump
                        self.assertTrue(os.WIFSIGNALED(st), what)
                        self.assertEqual(os.WTERMSIG(st), signal.SIGTERM, what)
                        self.assertTrue(os.path.exists(path), what + ": no dump")
                        d = dump.load(path)
                        self.assertEqual((d.ending.how, d.ending.signal), ("signal", 15), what)
                        killed_ending += k % 2
                    else:
                        # it ended before the signal came: no death to record
                        self.assertTrue(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, what)
            finally:
                shutil.rmtree(tmp)
        # the case this is about: a signal that came while the child ended
        self.assertGreater(killed_ending, 0)
