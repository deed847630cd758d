"""The `memtype` command: `run` preloads the library, passes the program's exit
status and signals through, maps flags to MEMTYPE_* variables; `options`
lists the table. Run by CTest with MEMTYPE_CMD and MEMTYPE_DEMO set."""
import os
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
        r = memtype("run", "--", DEMO)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("distinct words in 800000 words", r.stdout)
        lines = [l for l in r.stderr.splitlines() if l.startswith("memtype: summary: ")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"wordfreq \(pid \d+\): [1-9]\d* allocations, \d+ frees")
        self.assertIn("5 threads", lines[0])

    def test_preload_is_set_for_the_program_and_its_children(self):
        r = memtype("run", "--", "/bin/sh", "-c", "echo $LD_PRELOAD; /usr/bin/env | grep ^MEMTYPE_STATS")
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

    def test_invalid_value_stops_the_program_with_a_clear_error(self):
        r = memtype("run", "--on-error", "sometimes", "--", "/bin/echo", "never printed")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("memtype: error: MEMTYPE_ON_ERROR=sometimes: invalid value; accepted: abort, "
                      "continue, exit:N", r.stderr)

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


if __name__ == "__main__":
    unittest.main()
