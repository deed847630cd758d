"""`memtype run`'s summary tells the truth about this run (issue 22, point 3):
it lists exactly this run's processes (each dump carries the run's identity,
MEMTYPE_RUN), never an earlier run's dump or a neighbour's; a run's dumps
go to a directory of its own, which the summary names; each process's end
is said, and a process killed by a signal is never a clean one, even when
it left no dump (SIGKILL). Before the summary, the full reports of the
run, symbolized: heap errors, then leaks with their stacks (point 2), unless
--brief. C (leaky_cache, stale_pointer) and C++ (cxx_leak) programs."""
import glob
import os
import re
import shutil
import subprocess
import unittest

from mtenv import CMD, LIB, clean_env, scratch
from memtype_report import dump

LEAKY = os.environ.get("MEMTYPE_LEAKY_CACHE", "build/bin/leaky_cache")
CXX_LEAK = os.environ.get("MEMTYPE_CXX_LEAK", "build/bin/cxx_leak")
STALE = os.environ.get("MEMTYPE_STALE_POINTER", "build/bin/stale_pointer")


def run(cwd, *args, env=None):
    e = clean_env()
    e.update(env or {})
    return subprocess.run([CMD, "run", "--lib", LIB, *args], capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=120)


def start(cwd, *args):
    return subprocess.Popen([CMD, "run", "--lib", LIB, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=cwd)


def headline(stderr):
    line, = [l for l in stderr.splitlines() if l.startswith("memtype: run summary: ")]
    return line


class OwnDumpsOnly(unittest.TestCase):
    def test_a_run_after_a_leaky_one_reports_only_itself(self):
        # The issue's case: the second run said "2 processes ... definitely
        # lost 512 bytes".
        tmp = scratch("memtype-summary.")
        first = run(tmp, "--", LEAKY)
        self.assertIn("definitely lost 512 bytes", headline(first.stderr))
        second = run(tmp, "--", "/bin/true")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertEqual(headline(second.stderr),
                         "memtype: run summary: 1 process (true); 0 heap errors; no leaks")
        # Each run in a directory of its own, named in its summary.
        self.assertEqual(sorted(os.listdir(tmp)), ["memtype-run.leaky_cache.1",
                                                    "memtype-run.true.1"])
        f, = glob.glob(os.path.join(tmp, "memtype-run.true.1", "*.mtd"))
        self.assertIn("memtype: dumps of this run in memtype-run.true.1/: %s;"
                      % os.path.basename(f), second.stderr)

    def test_two_runs_side_by_side_into_one_place_do_not_see_each_other(self):
        tmp = scratch("memtype-summary.")
        out = os.path.join(tmp, "d.%e.%p.mtd")
        # Both running at once, writing to one place: the C++ leak ends
        # first, the quiet one after it.
        quiet = start(tmp, "--output", out, "--", "/bin/sh", "-c", "sleep 2; exec /bin/true")
        leaky = start(tmp, "--output", out, "--", CXX_LEAK)
        _, qerr = quiet.communicate(timeout=120)
        _, lerr = leaky.communicate(timeout=120)
        self.assertEqual((quiet.returncode, leaky.returncode), (0, 0), qerr + lerr)
        self.assertEqual(len(glob.glob(os.path.join(tmp, "*.mtd"))), 3)  # sh, true, cxx_leak
        self.assertRegex(headline(lerr), r"^memtype: run summary: 1 process \(cxx_leak\); 0 heap "
                                         r"errors; leaks: definitely lost 144 bytes in 3 blocks$")
        self.assertRegex(headline(qerr), r"^memtype: run summary: 2 processes \(sleep, true\); "
                                         r"0 heap errors; no leaks$")
        self.assertNotIn("cxx_leak", qerr)

    def test_two_runs_side_by_side_get_two_directories(self):
        tmp = scratch("memtype-summary.")
        runs = [start(tmp, "--", "/bin/sh", "-c", "sleep 1; exec %s" % LEAKY) for _ in range(2)]
        errs = [p.communicate(timeout=120)[1] for p in runs]
        self.assertEqual(sorted(os.listdir(tmp)), ["memtype-run.sh.1", "memtype-run.sh.2"])
        for err in errs:
            # sleep, then the shell's own process become leaky_cache (exec)
            self.assertRegex(headline(err), r"^memtype: run summary: 2 processes \(leaky_cache, "
                                            r"sleep\); 0 heap errors; leaks: definitely "
                                            r"lost 512 bytes in 32 blocks, ")
        said = sorted(re.search(r"dumps of this run in (memtype-run\.sh\.\d)/", e).group(1)
                      for e in errs)
        self.assertEqual(said, ["memtype-run.sh.1", "memtype-run.sh.2"])

    def test_a_fixed_output_twice_never_lists_the_first_runs_dump(self):
        tmp = scratch("memtype-summary.")
        first = run(tmp, "--output", "fixed.mtd", "--", LEAKY)
        self.assertIn("memtype: dumps: fixed.mtd;", first.stderr)
        second = run(tmp, "--output", "fixed.mtd", "--", "/bin/true")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn("memtype never overwrites a dump", second.stderr)
        self.assertIn("memtype: run summary: no process of the run wrote a dump", second.stderr)
        self.assertNotIn("leaky_cache", second.stderr)
        self.assertNotIn("definitely lost", second.stderr)

    def test_every_process_of_a_script_is_in_the_run(self):
        tmp = scratch("memtype-summary.")
        r = run(tmp, "--", "/bin/sh", "-c", "%s; /bin/true" % LEAKY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(headline(r.stderr), r"^memtype: run summary: 3 processes \(leaky_cache, "
                                             r"sh, true\); ")
        dumps = [dump.load(f) for f in glob.glob(os.path.join(tmp, "memtype-run.sh.1", "*.mtd"))]
        self.assertEqual(len(dumps), 3)
        self.assertEqual(len({d.run for d in dumps}), 1)
        self.assertTrue(dumps[0].run)


    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"),
                         "needs root and setpriv (a process that changes user)")
    def test_a_process_that_outlives_the_program_is_in_the_run(self):
        # Python's multiprocessing resource tracker, a shell's background
        # job: reparented when the program ends, its dump written after it.
        # The summary waited for none (python3 with a Pool: 3 dumps listed,
        # 4 in the directory).
        tmp = scratch("memtype-summary.")
        r = run(tmp, "--", "/bin/sh", "-c", "(sleep 1; exec /bin/true) & echo top")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "top\n")
        self.assertIn("(sh, sleep, true)", headline(r.stderr))
        # One that goes on running is named, and the summary does not wait forever.
        r = run(tmp, "--", "/bin/sh", "-c", "sleep 30 >/dev/null 2>&1 </dev/null & echo top")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"memtype: 1 process of the run still running 10 s after "
                         r"the program ended \(pid \d+\): not in this summary")
        self.assertIn("1 process (sh)", headline(r.stderr))

    def test_a_process_that_changes_user_writes_its_dump(self):
        # Run as root, a server's workers change user (nginx's workers run
        # as nobody): the run's directory was 0700, their dumps failed with
        # EACCES and the summary left them out (or said no process wrote one).
        tmp = scratch("memtype-summary.")
        os.chmod(tmp, 0o755)  # a working directory others can reach
        # The library and the program where user 65534 can read them: a
        # tree under /root (0700) is not, and ld.so would then skip the
        # preload of the worker, a failure of the setup, not of memtype.
        bin_dir = os.path.join(tmp, "bin")
        os.mkdir(bin_dir)
        lib, prog = (shutil.copy(f, bin_dir) for f in (LIB, LEAKY))
        r = subprocess.run([CMD, "run", "--lib", lib, "--", "/bin/sh", "-c",
                            "setpriv --reuid=65534 --regid=65534 --clear-groups %s" % prog],
                           capture_output=True, text=True, env=clean_env(), cwd=tmp, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(headline(r.stderr), r"^memtype: run summary: 2 processes \(leaky_cache, "
                                             r"sh\); 0 heap errors; "
                                             r"leaks: definitely lost 512 bytes")
        f, = glob.glob(os.path.join(tmp, "memtype-run.sh.1", "*leaky_cache*.mtd"))
        self.assertEqual(os.stat(f).st_uid, 65534)

    def test_a_program_run_twice_has_its_biggest_type_once(self):
        # make runs cc1 per file: one call site of one program in several
        # processes is one line of the summary's biggest types, summed.
        tmp = scratch("memtype-summary.")
        one = run(tmp, "--", LEAKY)
        self.assertEqual(one.returncode, 0, one.stderr)
        m = re.search(r"\nmemtype: most memory in use at exit: ([^;\n]+?) (\d+)K", one.stderr)
        self.assertTrue(m, one.stderr)
        site, kib = m.group(1), int(m.group(2))
        r = run(tmp, "--", "/bin/sh", "-c", "%s; %s" % (LEAKY, LEAKY))
        self.assertEqual(r.returncode, 0, r.stderr)
        line, = [l for l in r.stderr.splitlines() if l.startswith("memtype: most memory in use")]
        self.assertEqual(line.count(site), 1, line)
        self.assertIn("%s %dK in 2 processes" % (site, 2 * kib), line)


class Endings(unittest.TestCase):
    def test_a_process_killed_by_sigsegv_is_not_a_clean_run(self):
        tmp = scratch("memtype-summary.")
        r = run(tmp, "--", "/bin/sh", "-c", "%s; kill -SEGV $$" % LEAKY)
        self.assertEqual(r.returncode, -11, r.stderr)
        self.assertRegex(headline(r.stderr), r"; 0 heap errors; 1 killed by SIGSEGV; leaks: ")
        self.assertRegex(r.stderr, r"\nmemtype: ended: .*leaky_cache \(pid \d+\) exit status 0"
                                   r".*killed by SIGSEGV")

    def test_a_program_killed_by_sigkill_is_said_so_without_a_dump(self):
        tmp = scratch("memtype-summary.")
        r = run(tmp, "--", "/bin/sh", "-c", "kill -KILL $$")
        self.assertEqual(r.returncode, -9, r.stderr)
        self.assertRegex(r.stderr, r"\nmemtype: ended: sh \(pid \d+\) killed by SIGKILL, no "
                                   r"dump\n")
        self.assertEqual(os.listdir(tmp), [])  # the run's empty directory is not left behind

    def test_a_tree_whose_top_was_killed_counts_it(self):
        tmp = scratch("memtype-summary.")
        r = run(tmp, "--", "/bin/sh", "-c", "%s; kill -KILL $$" % LEAKY)
        self.assertEqual(r.returncode, -9, r.stderr)
        self.assertRegex(headline(r.stderr), r"^memtype: run summary: 2 processes \(leaky_cache, sh\); "
                                             r"0 heap errors; 1 killed by SIGKILL; leaks: ")
        self.assertRegex(r.stderr, r"sh \(pid \d+\) killed by SIGKILL, no dump")



class FullReports(unittest.TestCase):
    def test_errors_then_leaks_with_file_and_line_then_the_summary(self):
        # stale_pointer writes to a freed block; memtype run's defaults find
        # the write where it is made (the freed block's guard pages), and the
        # leak scan still runs (they go on after an error).
        tmp = scratch("memtype-summary.")
        r = run(tmp, "--", "/bin/sh", "-c", "%s; %s" % (STALE, CXX_LEAK))
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr
        errors = err.index("memtype: 1 heap error in stale_pointer (pid ")
        leaks = err.index("memtype: leaks of cxx_leak (pid ")
        summary = err.index("memtype: run summary: ")
        self.assertLess(errors, leaks)
        self.assertLess(leaks, summary)
        self.assertRegex(err[errors:leaks], r"#1 use-after-free WRITE at 0x[0-9a-f]+ \(24 bytes "
                                            r"into a 32-byte block of type open_session "
                                            r"\(stale_pointer.c:17\)\), thread \d+\n"
                                            r"    #0 main \(stale_pointer.c:32\) "
                                            r"\(the faulting instruction\)\n")
        self.assertIn("  allocated at:\n    #0 open_session (stale_pointer.c:17)\n",
                      err[errors:leaks])
        self.assertIn("  freed at:\n    #0 close_session (stale_pointer.c:23)\n",
                      err[errors:leaks])
        # C++: demangled, with the file and line of the allocation.
        self.assertRegex(err[leaks:summary], r"\n1\. 144 bytes in 3 blocks are definitely lost, "
                                             r"type cache::make_entry\(int\) \(cxx_leak.cc:10\)")
        self.assertIn("    #0 cache::make_entry(int) (cxx_leak.cc:10)\n", err[leaks:summary])

    def test_brief_prints_only_the_summary(self):
        tmp = scratch("memtype-summary.")
        r = run(tmp, "--brief", "--", CXX_LEAK)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("memtype: leaks of cxx_leak", r.stderr)
        self.assertIn("memtype: run summary: 1 process (cxx_leak)", r.stderr)


if __name__ == "__main__":
    unittest.main()
