"""The `memtype` command: `run` preloads the library, passes the program's exit
status and signals through, maps flags to MEMTYPE_* variables; `options`
lists the table. Run by CTest with MEMTYPE_CMD and MEMTYPE_DEMO set."""
import os
import re
import signal
import subprocess
import unittest

from mtenv import clean_env, scratch

CMD = os.environ.get("MEMTYPE_CMD", "build/bin/memtype")
DEMO = os.environ.get("MEMTYPE_DEMO", "build/bin/wordfreq")


SCRATCH = scratch("memtype-cli-test.")


def memtype(*args, **kw):
    env = clean_env()
    env["MEMTYPE_OUTPUT"] = "off"
    env.update(kw.pop("env", {}))
    kw.setdefault("cwd", SCRATCH)
    return subprocess.run([CMD, *args], capture_output=True, text=True, env=env, **kw)


class RunTest(unittest.TestCase):
    def test_run_prints_the_program_output_then_one_summary_line(self):
        # the profiling mode prints the statistics at exit (MEMTYPE_STATS)
        r = memtype("run", "--profile", "--", DEMO)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("distinct words in 800000 words", r.stdout)
        lines = [l for l in r.stderr.splitlines() if l.startswith("memtype: summary: ")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"wordfreq \(pid \d+\): [1-9]\d* allocations, \d+ frees")
        self.assertIn("5 threads", lines[0])

    def test_preload_is_set_for_the_program_and_its_children(self):
        r = memtype("run", "--profile", "--", "/bin/sh", "-c",
                    "echo $LD_PRELOAD; /usr/bin/env | grep ^MEMTYPE_STATS")
        self.assertRegex(r.stdout.splitlines()[0], r"libmemtype\.so$")
        self.assertEqual(r.stdout.splitlines()[1], "MEMTYPE_STATS=1")

    def test_exit_status_is_passed_through(self):
        r = memtype("run", "--", "/bin/sh", "-c", "exit 42")
        self.assertEqual(r.returncode, 42)

    def test_death_by_signal_is_passed_through(self):
        r = memtype("run", "--", "/bin/sh", "-c", "kill -TERM $$")
        self.assertEqual(r.returncode, -signal.SIGTERM)

    def test_flags_set_their_variables(self):
        r = memtype("run", "--stats=0", "--on-error", "exit:3", "--", "/usr/bin/env")
        self.assertIn("MEMTYPE_STATS=0", r.stdout.splitlines())
        self.assertIn("MEMTYPE_OUTPUT=off", r.stdout.splitlines())
        self.assertIn("MEMTYPE_ON_ERROR=exit:3", r.stdout.splitlines())
        self.assertNotIn("memtype: summary:", r.stderr)

    def test_types_has_one_meaning_per_command_and_the_old_spellings_still_work(self):
        # run: naming rules; report: the table; sweep: the types to fail.
        for flag in ("--type-rules", "--types"):
            r = memtype("run", flag, "mine=*", "--", "/usr/bin/env")
            self.assertIn("MEMTYPE_TYPES=mine=*", r.stdout.splitlines(), flag)
        run = memtype("run", "--help").stdout
        self.assertIn("--type-rules", run)
        self.assertIn("--types: deprecated spelling", run)
        report = memtype("report", "--help").stdout
        self.assertIn("--table, --types", report)
        sweep = memtype("sweep", "--help").stdout
        self.assertIn("--fail-types", sweep)
        dump = os.path.join(ROOT, "tests", "fuzz", "corpus", "dump", "plain.mtd")
        new = memtype("report", "--table", "--no-symbolize", dump)
        old = memtype("report", "--types", "--no-symbolize", dump)
        self.assertEqual(new.returncode, 0, new.stderr)
        self.assertEqual(new.stdout, old.stdout)
        self.assertIn("call sites in", new.stdout)

    def test_invalid_value_stops_the_program_with_a_clear_error(self):
        r = memtype("run", "--on-error", "sometimes", "--", "/bin/echo", "never printed")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("memtype: error: MEMTYPE_ON_ERROR=sometimes: invalid value; accepted: abort, "
                      "continue, exit:N", r.stderr)

    def test_enumerated_values_are_named_when_one_is_wrong(self):
        r = memtype("run", "--guard-side", "left", "--", "/bin/true")
        self.assertEqual(r.returncode, 1)
        self.assertIn("memtype: error: MEMTYPE_GUARD_SIDE=left: invalid value; accepted: after, "
                      "before, around\n", r.stderr)
        r = memtype("run", "--dump-signal", "KILL", "--", "/bin/true")
        self.assertEqual(r.returncode, 1)
        self.assertIn("MEMTYPE_DUMP_SIGNAL=KILL: invalid value; accepted: off, USR1, USR2", r.stderr)
        self.assertIn("other than 9 (KILL) and 19 (STOP)", r.stderr)
        r = memtype("options")
        self.assertIn("accepted: after, before, around; flag --guard-side", r.stdout)

    def test_every_listed_signal_is_taken(self):
        # options.def's words for MEMTYPE_DUMP_SIGNAL and the library's own
        # signal table (core/sys/os_linux.c) agree: each word starts a program.
        import sys
        sys.path.insert(0, os.path.join(ROOT, "report"))
        from memtype_report import options
        row, = [o for o in options.load(os.path.join(ROOT, "core", "types", "options.def"))
                if o.name == "DUMP_SIGNAL"]
        self.assertIn("USR2", row.values)
        for word in row.values:
            r = memtype("run", "--dump-signal", word, "--", "/bin/true",
                        env={"MEMTYPE_OUTPUT": os.path.join(SCRATCH, "sig.%p.mtd"),
                             "MEMTYPE_LEAKS": "0"})
            self.assertEqual((word, r.returncode), (word, 0), r.stderr)
            self.assertNotIn("memtype: error", r.stderr)
            self.assertNotIn("memtype: warning", r.stderr)

    def test_missing_program_and_missing_library_are_clear_errors(self):
        r = memtype("run", "--", "/nonexistent/prog")
        self.assertEqual(r.returncode, 127)
        self.assertIn("memtype: error: cannot run /nonexistent/prog", r.stderr)
        r = memtype("run", "--lib", "/nonexistent/libmemtype.so", "--", "/bin/true")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no such library", r.stderr)

    def test_no_program_is_a_usage_error(self):
        r = memtype("run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no program given", r.stderr)

    def test_unknown_variable_is_warned_about(self):
        r = memtype("run", "--", "/bin/true", env={"MEMTYPE_STAT": "1"})
        self.assertIn("memtype: warning: unknown variable MEMTYPE_STAT ignored; did you mean "
                      "MEMTYPE_STATS?", r.stderr)


HELLO_C = r"""
#include <stdio.h>
int main(int argc, char **argv) { printf("hello %s %d\n", argv[argc - 1], argc); return 3; }
"""


def static_libc():
    """Is there a static C library to link against (libc6-dev's libc.a)?"""
    r = subprocess.run(["gcc", "-print-file-name=libc.a"], capture_output=True, text=True)
    return r.returncode == 0 and os.path.isabs(r.stdout.strip()) and os.path.exists(r.stdout.strip())


class CannotEnter(unittest.TestCase):
    """`memtype run` on a program the preload cannot enter (statically linked,
    or run in secure-execution mode) says so in one line before it runs it,
    then runs it as it is: same output, same status. After a run where no
    process wrote a dump, one line says so."""

    def setUp(self):
        import shutil
        self.tmp = scratch("memtype-cli-enter.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)  # a set-ID program of another owner runs from here
        src = os.path.join(self.tmp, "hello.c")
        with open(src, "w") as f:
            f.write(HELLO_C)
        self.dynamic = os.path.join(self.tmp, "hello")
        subprocess.run(["gcc", "-O1", "-o", self.dynamic, src], check=True)
        self.out = os.path.join(self.tmp, "d.%e.%p.mtd")

    def run_it(self, *command):
        return memtype("run", "--", *command, env={"MEMTYPE_OUTPUT": self.out}, cwd=self.tmp)

    def dumps(self):
        return [f for f in os.listdir(self.tmp) if f.endswith(".mtd")]

    def static(self):
        if not static_libc():
            self.skipTest("no static C library (libc.a: Debian's libc6-dev) to build a "
                          "statically linked program with")
        prog = os.path.join(self.tmp, "hello_static")
        subprocess.run(["gcc", "-O1", "-static", "-o", prog, os.path.join(self.tmp, "hello.c")],
                       check=True)
        return prog

    def assert_one_warning(self, r, pattern):
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertRegex(r.stderr, r"\Amemtype: warning: " + pattern + r"[^\n]*; running it "
                         r"without memtype\n\Z")
        self.assertEqual(self.dumps(), [])

    def test_a_dynamic_program_gets_no_warning(self):
        r = self.run_it(self.dynamic, "x")
        self.assertEqual((r.returncode, r.stdout), (3, "hello x 2\n"), r.stderr)
        self.assertNotIn("memtype: warning", r.stderr)
        self.assertIn("memtype: run summary: 1 process (hello); ", r.stderr)
        self.assertEqual(len(self.dumps()), 1, r.stderr)

    def test_a_static_program_is_named_and_still_run(self):
        prog = self.static()
        r = self.run_it(prog, "a", "b")
        self.assertEqual(r.stdout, "hello b 3\n")
        self.assert_one_warning(r, re.escape(prog) + r" is statically linked: ")
        # Found through PATH as exec finds it.
        r = memtype("run", "--", "hello_static", "c", cwd=self.tmp,
                    env={"MEMTYPE_OUTPUT": self.out, "PATH": self.tmp + ":/usr/bin:/bin"})
        self.assertEqual(r.stdout, "hello c 2\n")
        self.assert_one_warning(r, r"hello_static is statically linked: ")

    def test_a_script_is_judged_by_its_interpreter(self):
        prog = self.static()
        script = os.path.join(self.tmp, "script")
        with open(script, "w") as f:
            f.write("#!%s\n" % prog)
        os.chmod(script, 0o755)
        r = self.run_it(script)
        self.assertEqual(r.stdout, "hello %s 2\n" % script)
        self.assert_one_warning(r, re.escape("%s, the interpreter of %s, is statically linked: "
                                             % (prog, script)))
        # A script run by a dynamic interpreter: no warning.
        with open(script, "w") as f:
            f.write("#!/usr/bin/env sh\nexit 3\n")
        r = self.run_it(script)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertNotIn("memtype: warning", r.stderr)

    def test_a_run_where_no_process_wrote_a_dump_says_so(self):
        # sh has memtype inside, but exec replaces it by a static program.
        prog = self.static()
        r = self.run_it("/bin/sh", "-c", 'exec "$0" z', prog)
        self.assertEqual((r.returncode, r.stdout), (3, "hello z 2\n"), r.stderr)
        self.assertEqual(r.stderr, "memtype: run summary: no process of the run wrote a dump "
                         "(%s, from %s): memtype was inside none of them, or none of them "
                         "reached its end\n" % (self.out, self.tmp))

    def test_the_elf_reader_tells_each_case(self):
        import struct
        import sys
        from memtype_report import target
        from mtenv import LIB

        def fake_elf32(path, interp):
            # An i386 executable: ELF header, then one program header.
            phdr = struct.pack("<IIIIIIII", 3 if interp else 1, 84, 0, 0, 20, 20, 4, 1)
            head = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack(
                "<HHIIIIIHHHHHH", 2, 3, 1, 0, 52, 0, 0, 52, 32, 1, 40, 0, 0)
            with open(path, "wb") as f:
                f.write(head + phdr + b"/lib/ld-linux.so.2\0")
            os.chmod(path, 0o755)
        prog = os.path.join(self.tmp, "old32")
        fake_elf32(prog, True)
        self.assertRegex(target.cannot_enter(prog, os.environ, LIB),
                         r" is a 32-bit i386 program and libmemtype\.so is 64-bit x86-64: ")
        fake_elf32(prog, False)
        self.assertRegex(target.cannot_enter(prog, os.environ, LIB), r" is statically linked: ")
        # The loader run as a program preloads the one it runs; a dynamic
        # program and something that is no ELF file are left to exec.
        loader = target.Elf(os.path.realpath(sys.executable)).interp
        self.assertIsNone(target.cannot_enter(loader, os.environ, LIB))
        self.assertIsNone(target.cannot_enter(self.dynamic, os.environ, LIB))
        self.assertIsNone(target.cannot_enter(os.path.join(self.tmp, "hello.c"), os.environ, LIB))

    def test_dumps_of_processes_that_change_directory_are_found(self):
        # A relative MEMTYPE_OUTPUT is the run's directory: a server that
        # changes directory (postgres) writes its dump where the summary looks.
        os.mkdir(os.path.join(self.tmp, "sub"))
        r = memtype("run", "--", "/bin/sh", "-c", 'cd sub && exec "$0" c', self.dynamic,
                    cwd=self.tmp, env={"MEMTYPE_OUTPUT": "r.%e.%p.mtd"})
        self.assertEqual((r.returncode, r.stdout), (3, "hello c 2\n"), r.stderr)
        dumps = self.dumps()
        self.assertEqual(len(dumps), 1, r.stderr)
        self.assertEqual(os.listdir(os.path.join(self.tmp, "sub")), [])
        self.assertRegex(r.stderr, r"memtype: run summary: 1 process \(hello\);")
        self.assertIn("memtype: dumps: %s; full report: " % dumps[0], r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to make a set-ID program of another owner")
    def test_a_set_id_program_is_named_and_still_run(self):
        import grp
        import pwd
        import stat
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        for mode, uid, gid, said in ((stat.S_ISUID, nobody.pw_uid, 0,
                                      r"is set-user-ID \(it runs as nobody\): "),
                                     (stat.S_ISGID, 0, nobody.pw_gid,
                                      r"is set-group-ID \(it runs as group %s\): " % group)):
            os.chown(self.dynamic, uid, gid)
            os.chmod(self.dynamic, 0o755 | mode)
            r = self.run_it(self.dynamic, "s")
            self.assertEqual(r.stdout, "hello s 2\n")
            self.assert_one_warning(r, re.escape(self.dynamic) + " " + said + "in secure-execution "
                                    "mode the loader ignores LD_PRELOAD")
        # Near misses: set-user-ID to ourselves (no secure execution), and
        # no set-ID bit: memtype is inside, no warning.
        for owner, mode in ((0, stat.S_ISUID), (nobody.pw_uid, 0)):
            os.chown(self.dynamic, owner, 0)
            os.chmod(self.dynamic, 0o755 | mode)
            r = self.run_it(self.dynamic, "n")
            self.assertEqual((r.returncode, r.stdout), (3, "hello n 2\n"), r.stderr)
            self.assertNotIn("memtype: warning", r.stderr)
            self.assertIn("memtype: run summary: 1 process (hello); ", r.stderr)
            for f in self.dumps():
                os.unlink(os.path.join(self.tmp, f))


class OptionsTest(unittest.TestCase):
    def test_options_lists_every_variable_with_default(self):
        r = memtype("options")
        self.assertEqual(r.returncode, 0)
        for name in ("MEMTYPE_STATS", "MEMTYPE_VERBOSE", "MEMTYPE_ON_ERROR"):
            self.assertIn(name, r.stdout)
        self.assertIn("default abort", r.stdout)

    def test_unknown_command_is_an_error(self):
        r = memtype("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command", r.stderr)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CommandTest(unittest.TestCase):
    def test_version_is_the_one_cmake_project_sets(self):
        import re
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            want = re.search(r"project\(memtype VERSION ([0-9.]+)", f.read()).group(1)
        for flag in ("--version", "version"):
            r = memtype(flag)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "memtype %s\n" % want, ""))

    def test_a_reader_that_stops_early_ends_the_command_quietly(self):
        # `memtype report --json ... | head`: the reader goes away while the
        # command writes; it ends as cat does (SIGPIPE), with no traceback.
        dump = os.path.join(ROOT, "tests", "fuzz", "corpus", "dump", "deep.mtd")
        for form in (["--json"], ["--types", "--leaks", "--lines", "1000"], ["--folded"]):
            p = subprocess.Popen([CMD, "report"] + form + [dump] * 40, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=clean_env())
            p.stdout.readline()
            p.stdout.close()
            err = p.stderr.read().decode()
            p.stderr.close()
            rc = p.wait()
            with self.subTest(form=form):
                self.assertEqual(err, "")
                self.assertIn(rc, (0, -signal.SIGPIPE, 128 + signal.SIGPIPE))  # 0: all fit in the pipe


if __name__ == "__main__":
    unittest.main()
