"""No descriptor of memtype's: a program that lists /proc/self/fd at exit
(fd_list.c: strdup through MEMTYPE_SKIP, deep stacks, a thread, a fork)
prints the same set with and without memtype in every mode, and so does its
forked child. (libunwind 1.6 kept a pipe for life in every process that
unwound, moved to fds 1008/1009 and inherited by children.)"""
import os
import shutil
import subprocess
import tempfile
import unittest

from mtenv import CMD, LIB, clean_env  # noqa: E402

PROG = os.environ.get("MEMTYPE_FD_LIST", "build/bin/fd_list")

MODES = {
    "plain (MEMTYPE_SKIP default, strdup)": {},
    "MEMTYPE_DEPTH=8": {"MEMTYPE_DEPTH": "8"},
    "MEMTYPE_DEPTH=16": {"MEMTYPE_DEPTH": "16"},
    "checks, block stacks at depth 16": {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1",
                                         "MEMTYPE_STACK_DEPTH": "16", "MEMTYPE_DEPTH": "16"},
    "checks": {"MEMTYPE_TRASH": "1", "MEMTYPE_REDZONE": "1"},
    "guard all": {"MEMTYPE_GUARD": "*"},
    "guard all, depth 16": {"MEMTYPE_GUARD": "*", "MEMTYPE_DEPTH": "16"},
    "leak scan": {"MEMTYPE_LEAKS": "1"},
    "live file": {"MEMTYPE_LIVE": "1", "MEMTYPE_DEPTH": "4"},
    "failure verbose": {"MEMTYPE_FAILURE_RATE": "1000000", "MEMTYPE_FAILURE_VERBOSE": "1",
                        "MEMTYPE_STATS": "1"},
}


class Descriptors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memtype-fds-test.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_prog(self, argv, env):
        # Only 0, 1, 2 inherited: the set must not depend on the caller's.
        r = subprocess.run(argv, env=env, cwd=self.tmp, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120, close_fds=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = sorted(l for l in r.stdout.splitlines() if l.startswith(("parent:", "child:")))
        self.assertEqual([l.split(":")[0] for l in lines], ["child", "parent"], r.stdout)
        return lines, r.stderr

    def baseline(self):
        env = clean_env()
        env["LD_PRELOAD"] = ""
        lines, _ = self.run_prog([PROG], env)
        return lines

    def test_every_mode_holds_the_programs_descriptors_only(self):
        want = self.baseline()
        for name, extra in MODES.items():
            with self.subTest(mode=name):
                env = clean_env()
                env.update({"LD_PRELOAD": LIB,
                            "MEMTYPE_OUTPUT": os.path.join(self.tmp, "d.%p.mtd")})
                env.update(extra)
                got, err = self.run_prog([PROG], env)
                self.assertEqual(got, want, err)

    def test_memtype_run_defaults(self):
        want = self.baseline()
        env = clean_env()
        env["LD_PRELOAD"] = ""
        got, err = self.run_prog([CMD, "run", "--lib", LIB, "--", PROG], env)
        self.assertEqual(got, want, err)


if __name__ == "__main__":
    unittest.main()
