"""Security: in secure-execution mode (a set-user-ID or set-group-ID program,
AT_SECURE) memtype reads no MEMTYPE_* variable and writes no file; `memtype
report` never runs a program that a dump names.

The set-ID cases need root (to give the program another owner): as root, a
program owned by `nobody` with the set-user-ID bit runs with euid nobody and
ruid root, and the kernel sets AT_SECURE. The program is linked against a
copy of libmemtype in a world-readable directory, because the loader ignores
LD_PRELOAD paths for set-ID programs. Each case also runs the same binary
without the set-ID bit, where the same variables must take effect: that
shows the test can fail."""
import glob
import os
import pwd
import grp
import shutil
import stat
import subprocess
import tempfile
import unittest

from mtenv import CMD, LIB, HERE, clean_env  # noqa: E402

INCLUDE = os.environ.get("MEMTYPE_INCLUDE", os.path.join(HERE, "..", "..", "include"))
THREE_SITES = os.environ.get("MEMTYPE_THREE_SITES", "build/bin/three_sites")

# Each of these would change what the program sees if memtype read it: every
# malloc fails, a leak line, a dump file, a stop at start for a bad value.
HOSTILE = {"MEMTYPE_FAILURE_RATE": "1", "MEMTYPE_LEAKS": "1", "MEMTYPE_TRASH": "1",
           "MEMTYPE_DUMP_SIGNAL": "USR2", "MEMTYPE_LIVE": "1"}


def build_prog(tmp):
    """secure_prog.c linked against a copy of the library in tmp (RUNPATH
    tmp): returns the program's path."""
    shutil.copy(LIB, os.path.join(tmp, "libmemtype.so"))
    prog = os.path.join(tmp, "secure_prog")
    subprocess.run(["gcc", "-O1", "-g", "-fno-builtin", "-I", INCLUDE,
                    os.path.join(HERE, "secure_prog.c"), "-L", tmp, "-lmemtype",
                    "-Wl,-rpath," + tmp, "-o", prog], check=True)
    return prog


@unittest.skipUnless(os.geteuid() == 0, "needs root to make a set-ID program of another owner")
class SecureExecution(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memtype-secure-test.")
        os.chmod(self.tmp, 0o1777)  # anyone could write a dump here
        self.prog = build_prog(self.tmp)
        self.out = os.path.join(self.tmp, "dump.%p.mtd")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_prog(self, extra):
        env = clean_env()
        env.pop("LD_PRELOAD", None)
        env.update(HOSTILE, MEMTYPE_OUTPUT=self.out, **extra)
        return subprocess.run([self.prog], env=env, capture_output=True, text=True, timeout=60)

    def dumps(self):
        return glob.glob(os.path.join(self.tmp, "dump.*"))

    def make_set_id(self, mode):
        nobody = pwd.getpwnam("nobody")
        nogroup = grp.getgrgid(nobody.pw_gid)
        os.chown(self.prog, nobody.pw_uid if mode & stat.S_ISUID else 0,
                 nogroup.gr_gid if mode & stat.S_ISGID else 0)
        os.chmod(self.prog, 0o755 | mode)

    def test_without_set_id_the_variables_take_effect(self):
        r = self.run_prog({})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^secure=0 failed=[1-9]\d* owned=[01]$")
        self.assertEqual(len(self.dumps()), 1, r.stderr)
        leaky = self.run_prog({"MEMTYPE_FAILURE_RATE": "0"})
        self.assertIn("memtype: LEAK: ", leaky.stderr)
        bad = self.run_prog({"MEMTYPE_DEPTH": "banana"})
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("MEMTYPE_DEPTH", bad.stderr)

    def check_secure(self, mode):
        self.make_set_id(mode)
        for extra in ({}, {"MEMTYPE_DEPTH": "banana", "MEMTYPE_WHATEVER": "1"}):
            r = self.run_prog(extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            # Secure, memtype owns the heap, and no malloc failed.
            self.assertEqual(r.stdout, "secure=1 failed=0 owned=1\n", r.stderr)
            self.assertNotIn("memtype:", r.stderr)
            self.assertEqual(self.dumps(), [])
            self.assertEqual(sorted(os.listdir(self.tmp)), ["libmemtype.so", "secure_prog"])

    def test_set_user_id_reads_no_variable_and_writes_no_file(self):
        self.check_secure(stat.S_ISUID)

    def test_set_group_id_reads_no_variable_and_writes_no_file(self):
        self.check_secure(stat.S_ISGID)

    def test_a_dump_signal_asked_for_is_not_taken(self):
        # MEMTYPE_DUMP_SIGNAL=USR2 ignored: USR2 keeps its default action
        # (the process ends by it) and no dump appears.
        self.make_set_id(stat.S_ISUID)
        env = clean_env()
        env.pop("LD_PRELOAD", None)
        env.update(HOSTILE, MEMTYPE_OUTPUT=self.out)
        script = 'exec "$0" & kill -USR2 $! 2>/dev/null; wait $!; echo status=$?'
        # The program may end before the signal arrives: either way no dump.
        r = subprocess.run(["sh", "-c", script, self.prog], env=env, capture_output=True,
                           text=True, timeout=60)
        self.assertIn("status=", r.stdout)
        self.assertEqual(self.dumps(), [])


class HostilePaths(unittest.TestCase):
    def test_an_output_template_that_expands_too_long_writes_nothing(self):
        # 1900 times %e: within the option's 4000 characters, far beyond a
        # path once expanded. One warning, no dump, the program unharmed.
        tmp = tempfile.mkdtemp(prefix="memtype-path-test.")
        try:
            env = clean_env()
            env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": tmp + "/" + "%e" * 1900})
            r = subprocess.run([THREE_SITES], env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stderr, r"^memtype: warning: MEMTYPE_OUTPUT: the path is too long "
                             r"once expanded \(at most \d+ characters\); no dump written\n$")
            self.assertEqual(os.listdir(tmp), [])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class ReportRunsNothing(unittest.TestCase):
    def test_a_program_named_by_a_dump_is_read_never_run(self):
        # A dump's module paths name programs; the report hands them to the
        # symbolizer (found on PATH, never in the dump) as files to read.
        # Here the program is replaced, after its run, by a script that
        # would leave a mark if anything executed it.
        tmp = tempfile.mkdtemp(prefix="memtype-report-exec-test.")
        try:
            prog = os.path.join(tmp, "three_sites")
            shutil.copy(THREE_SITES, prog)
            env = clean_env()
            env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "d.mtd")})
            subprocess.run([prog], env=env, check=True, timeout=60)
            mark = os.path.join(tmp, "executed")
            os.unlink(prog)
            with open(prog, "w") as f:
                f.write("#!/bin/sh\ntouch '%s'\n" % mark)
            os.chmod(prog, 0o755)
            for form in ("--types", "--leaks", "--json", "--folded"):
                r = subprocess.run([CMD, "report", form, os.path.join(tmp, "d.mtd")],
                                   env=clean_env(), capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn("Traceback", r.stderr)
            self.assertFalse(os.path.exists(mark), "memtype report ran a program named by a dump")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
