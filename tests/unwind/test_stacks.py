"""Stacks memtype captures (core/sys/unwind.c) against gdb's: each scenario of
stacks.c (C: nested calls, qsort and bsearch comparators, an atexit
handler, a signal handler raised synchronously and one interrupting a loop,
a thread, a clone(2) child on a stack of its own) and cxx_stacks.cc (C++
-O2: a catch handler, a destructor run while an exception unwinds, inlined
calls) reports a double free from uw_report_here; run under gdb with the
preload, gdb's physical frames at a breakpoint there (gdb_frames.py) must be
the report's "detected at" frames #1 on, pc for pc, to the thread's start.
A corrupted stack (a return address overwritten with garbage, with a data
address, with 0; a frame pointer that cannot be read) ends the stack cleanly
after the frame that smashed it."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from mtenv import LIB, clean_env  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STACKS = os.environ.get("MEMTYPE_STACKS", "build/bin/stacks")
CXX_STACKS = os.environ.get("MEMTYPE_CXX_STACKS", "build/bin/cxx_stacks")
GDB = shutil.which("gdb")

FRAME = re.compile(r"^\s+#(\d+) (0x[0-9a-f]+)(?: in (\S+))?")


def detected_at(stderr):
    """The pcs (and names) of the first report's "detected at" stack, one
    per frame (the lines of the calls inlined there left out)."""
    out, inside = [], False
    for line in stderr.splitlines():
        if line.strip() == "detected at:":
            inside = True
            continue
        if inside:
            m = FRAME.match(line)
            if not m:
                break
            if line.endswith(" (inlined)"):
                continue  # a call inlined at the next frame's pc: not a frame of the stack
            out.append((int(m.group(2), 16), m.group(3) or ""))
    return out


def env_for_memtype():
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_ON_ERROR": "continue", "MEMTYPE_OUTPUT": "off"})
    return env


@unittest.skipIf(GDB is None, "gdb is not installed (scripts/deps.sh test installs it)")

def is_trampoline(name):
    """The kernel's return to libc's signal trampoline: named __restore_rt
    only where libc's debug symbols are installed (libc6-dbg); elsewhere it
    has no name of its own (the pc is checked against gdb's frame anyway)."""
    return name in ("__restore_rt", "") or name.startswith(("libc.so", "?"))

class SameAsGdb(unittest.TestCase):
    def compare(self, prog, scenario, gdb_extra=()):
        # The program runs under gdb with the preload: the same process, so
        # the same addresses for both.
        args = [GDB, "-batch", "-nx", "-ex", "set debuginfod enabled off",
                "-ex", "set startup-with-shell off",
                "-ex", "set backtrace past-main on", "-ex", "set backtrace past-entry on",
                "-ex", "handle SIGUSR1 nostop noprint pass",
                "-ex", "handle SIGALRM nostop noprint pass",
                "-ex", "set environment LD_PRELOAD=" + LIB,
                "-ex", "set environment MEMTYPE_ON_ERROR=continue",
                "-ex", "set environment MEMTYPE_OUTPUT=off",
                *gdb_extra,
                "-ex", "break uw_report_here", "-ex", "run",
                "-ex", "source " + os.path.join(HERE, "gdb_frames.py"),
                "-ex", "delete", "-ex", "continue",
                "--args", prog, scenario]
        env = clean_env()
        env.pop("LD_PRELOAD", None)
        r = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
        if "ptrace: Operation not permitted" in r.stdout:
            self.skipTest("gdb may not trace here (ptrace refused: a container without "
                          "CAP_SYS_PTRACE or a Yama policy)")
        gdb_pcs = [int(l.split()[1], 16) for l in r.stdout.splitlines() if l.startswith("FRAME ")]
        ours = detected_at(r.stdout)
        self.assertIn("done " + scenario, r.stdout)
        self.assertGreater(len(gdb_pcs), 3, r.stdout)
        self.assertGreater(len(ours), 3, r.stdout)
        # #0: gdb stops at uw_report_here's start, memtype is inside it.
        self.assertEqual(ours[0][1].split("+")[0], "uw_report_here", r.stdout)
        self.assertEqual([hex(p) for p, _ in ours[1:]], [hex(p) for p in gdb_pcs[1:]], r.stdout)
        return ours

    def test_nested_calls(self):
        names = [n.split("+")[0] for _, n in self.compare(STACKS, "nested")]
        self.assertEqual(names[:5], ["uw_report_here", "uw_c3", "uw_c2", "uw_c1", "main"])
        self.assertEqual(names[-1], "_start")

    def test_qsort_comparator(self):
        names = [n.split("+")[0] for _, n in self.compare(STACKS, "qsort")]
        self.assertEqual(names[1], "uw_cmp")
        self.assertLess(names.index("uw_cmp"), names.index("uw_sort"))

    def test_signal_handler(self):
        names = [n.split("+")[0] for _, n in self.compare(STACKS, "signal")]
        self.assertEqual(names[1], "uw_handler")
        self.assertTrue(is_trampoline(names[2]), names)
        self.assertIn("uw_raise", names)
        self.assertIn("uw_sig_top", names)

    def test_signal_interrupting_a_loop(self):
        names = [n.split("+")[0] for _, n in self.compare(STACKS, "async")]
        i = names.index("uw_spin")
        self.assertTrue(is_trampoline(names[i - 1]), names)
        self.assertEqual(names[i:i + 3], ["uw_spin", "uw_async_top", "main"])

    def test_thread(self):
        names = [n.split("+")[0] for _, n in self.compare(STACKS, "thread")]
        self.assertEqual(names[1:3], ["uw_thread_inner", "uw_thread_main"])
        self.assertNotIn("main", names)

    def test_bsearch_comparator(self):
        names = [n.split("+")[0] for _, n in self.compare(STACKS, "bsearch")]
        self.assertEqual(names[1], "uw_bcmp")
        self.assertLess(names.index("uw_bcmp"), names.index("uw_search"))
        self.assertIn("main", names)

    def test_atexit_handler(self):
        names = [n.split("+")[0] for _, n in self.compare(STACKS, "atexit")]
        self.assertEqual(names[1:3], ["uw_atexit_inner", "uw_at_exit"])
        self.assertNotIn("main", names)  # main has returned: exit's frames, then _start
        self.assertEqual(names[-1], "_start")

    def test_clone_child(self):
        # gdb takes a clone without CLONE_THREAD for a fork: it follows the child
        names = [n.split("+")[0] for _, n in self.compare(
            STACKS, "clone", gdb_extra=("-ex", "set follow-fork-mode child"))]
        self.assertEqual(names[1:3], ["uw_clone_inner", "uw_clone_main"])
        self.assertNotIn("main", names)  # the child's stack starts in clone

    def test_cxx_catch_handler(self):
        names = [n for _, n in self.compare(CXX_STACKS, "catch")]
        self.assertIn("uw_catcher", names[1])

    def test_cxx_destructor_during_unwinding(self):
        names = [n for _, n in self.compare(CXX_STACKS, "dtor")]
        self.assertIn("Guard::~Guard()", names[1])  # demangled by memtype itself
        self.assertIn("uw_with_cleanup", names[2])
        self.assertIn("uw_dtor_top", names[3])


class CorruptedStack(unittest.TestCase):
    def run_scenario(self, scenario):
        r = subprocess.run([STACKS, scenario], env=env_for_memtype(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done " + scenario, r.stdout)
        frames = detected_at(r.stderr)
        names = [n.split("+")[0] for _, n in frames]
        self.assertEqual(names[:2], ["uw_report_here", "uw_smash"], r.stderr)
        return frames

    def test_garbage_return_address_ends_the_stack(self):
        self.assertEqual(len(self.run_scenario("garbage")), 2)

    def test_zero_return_address_ends_the_stack(self):
        self.assertEqual(len(self.run_scenario("zero")), 2)

    def test_unreadable_frame_pointer_ends_the_stack(self):
        r = subprocess.run([STACKS, "rbp"], env=env_for_memtype(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("done rbp", r.stdout)
        names = [n.split("+")[0] for _, n in detected_at(r.stderr)]
        self.assertEqual(names, ["uw_report_here", "uw_smash_rbp"], r.stderr)

    def test_return_address_into_data_ends_the_stack(self):
        frames = self.run_scenario("data")
        # The data address may show as a last frame (it is in the program),
        # never anything past it.
        self.assertLessEqual(len(frames), 3)


if __name__ == "__main__":
    unittest.main()
