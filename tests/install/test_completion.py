"""The bash completion the build generates: it parses (bash -n), it names
every subcommand and every option of the command's argument parsers, and
sourced into bash it completes what a user would expect: commands, each
command's own options and nothing else, choices, 0|1 values, dumps, the
program after `--`. Run by CTest with MT_COMPLETION (the generated file)
and MT_CMD (the build's memtype command) set."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "report"))
from memtype_report import cli, options  # noqa: E402

SCRIPT = os.environ.get("MT_COMPLETION", os.path.join(
    SRC, "build", "share", "bash-completion", "completions", "memtype"))
CMD = os.environ.get("MT_CMD", os.path.join(SRC, "build", "bin", "memtype"))
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
PARSERS = cli.parsers(options.load(os.path.join(SRC, "core", "types", "options.def")))


def complete(*words, cwd=None, full=False):
    """COMPREPLY for the command line `words` (the last one is the word
    being completed), from the script sourced into a non-interactive bash;
    full: with bash-completion loaded first, as in a user's shell."""
    prog = "\n".join([
        "set -u" if not full else "",
        'source "%s"' % BASH_COMPLETION if full else "",
        'source "$1"', "shift",
        'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))',
        'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
        "_memtype", 'printf "%s\\n" "${COMPREPLY[@]}"'])
    r = subprocess.run(["bash", "-c", prog, "bash", SCRIPT, *words], capture_output=True,
                       text=True, cwd=cwd)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return [w for w in r.stdout.split("\n") if w]


class Script(unittest.TestCase):
    def test_it_parses(self):
        r = subprocess.run(["bash", "-n", SCRIPT], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")

    def test_it_is_what_the_command_prints(self):
        r = subprocess.run([CMD, "completion", "bash"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(SCRIPT, encoding="utf-8") as f:
            self.assertEqual(r.stdout, f.read())

    def test_every_subcommand_and_option_of_the_parsers_is_in_it(self):
        with open(SCRIPT, encoding="utf-8") as f:
            words = set(re.findall(r"[\w-]+", f.read()))
        self.assertGreaterEqual(len(PARSERS), 8)
        for name, p in PARSERS.items():
            self.assertIn(name, words)
            for a in p._actions:
                for o in a.option_strings:
                    self.assertIn(o, words, "memtype %s %s" % (name, o))


class Completing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="memtype-completion-test.")
        for name in ("one.mtd", "two.mtd.1", "notes.txt"):
            open(os.path.join(cls.dir, name), "w").close()
        os.mkdir(os.path.join(cls.dir, "dumps"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_the_first_word_is_a_command(self):
        self.assertEqual(set(complete("memtype", "")), set(PARSERS) | {"--help", "--version"})
        self.assertEqual(complete("memtype", "re"), ["report"])
        self.assertEqual(complete("memtype", "s"), ["sweep", "stat"])

    def test_each_command_completes_exactly_its_options(self):
        for name, p in PARSERS.items():
            want = {o for a in p._actions for o in a.option_strings}
            self.assertEqual(set(complete("memtype", name, "-")), want, name)

    def test_option_prefixes(self):
        self.assertEqual(complete("memtype", "run", "--fail-r"), ["--fail-rate"])
        self.assertEqual(complete("memtype", "report", "--we"), ["--weight"])

    def test_choices_of_an_option(self):
        weight = next(a for a in PARSERS["report"]._actions if "--weight" in a.option_strings)
        self.assertIn("leaks", weight.choices)
        self.assertEqual(complete("memtype", "report", "--weight", ""), list(weight.choices))
        self.assertEqual(complete("memtype", "report", "--weight", "=", "in"), ["inuse"])
        self.assertEqual(complete("memtype", "report", "--sort", "r"), ["requests"])

    def test_a_boolean_flag_offers_0_and_1_and_then_the_options(self):
        self.assertEqual(complete("memtype", "run", "--trash", ""), ["0", "1"])
        self.assertIn("--redzone", complete("memtype", "run", "--trash", "--red"))

    def test_a_number_offers_nothing(self):
        self.assertEqual(complete("memtype", "report", "--lines", "", cwd=self.dir), [])
        self.assertEqual(complete("memtype", "run", "--depth", "", cwd=self.dir), [])

    def test_reports_complete_dumps_and_directories(self):
        got = set(complete("memtype", "report", "", cwd=self.dir))
        self.assertEqual(got, {"one.mtd", "two.mtd.1", "dumps"})
        got = set(complete("memtype", "report", "--lines", "5", "--leaks", "", cwd=self.dir))
        self.assertEqual(got, {"one.mtd", "two.mtd.1", "dumps"})
        self.assertEqual(set(complete("memtype", "diff", "one.mtd", "", cwd=self.dir)),
                         {"one.mtd", "two.mtd.1", "dumps"})
        self.assertEqual(complete("memtype", "diff", "one.mtd", "two.mtd.1", "", cwd=self.dir),
                         [])

    def test_files_for_a_file_option(self):
        self.assertIn("notes.txt", complete("memtype", "report", "--html", "", cwd=self.dir))
        self.assertIn("notes.txt", complete("memtype", "run", "--lib", "", cwd=self.dir))

    def test_positional_choices(self):
        self.assertEqual(complete("memtype", "completion", ""), ["bash"])

    def test_enumerated_option_values_come_from_options_def(self):
        self.assertEqual(complete("memtype", "run", "--guard-side", ""),
                         ["after", "before", "around"])
        self.assertEqual(complete("memtype", "run", "--guard-side", "=", "ar"), ["around"])
        self.assertEqual(complete("memtype", "run", "--dump-signal", "US"), ["USR1", "USR2"])
        self.assertIn("off", complete("memtype", "run", "--dump-signal", ""))

    def test_stat_offers_the_processes_with_a_live_file(self):
        # a process of ours with a live file, and a file left by a dead pid
        live = subprocess.Popen(["sleep", "30"])
        dead = subprocess.Popen(["true"])
        dead.wait()
        files = ["/dev/shm/memtype.%d.live" % p for p in (live.pid, dead.pid)]
        try:
            for f in files:
                with open(f, "wb"):
                    pass
            got = complete("memtype", "stat", "")
            self.assertIn(str(live.pid), got)
            self.assertNotIn(str(dead.pid), got)
            self.assertNotIn(str(os.getpid()), got)  # running, but with no live file
            self.assertIn(str(live.pid), complete("memtype", "top", str(live.pid)[:-1]))
        finally:
            for f in files:
                os.unlink(f)
            live.kill()
            live.wait()

    def test_the_program_after_the_separator(self):
        self.assertIn("bash", complete("memtype", "run", "--trash", "--", "bas"))
        self.assertIn("bash", complete("memtype", "sweep", "--max", "5", "--", "bas"))
        # without `--`: the first word that is not an option or its value
        self.assertIn("bash", complete("memtype", "run", "--depth", "4", "bas"))
        self.assertIn("bash", complete("memtype", "run", "--trash", "1", "bas"))

    @unittest.skipUnless(os.path.isfile(BASH_COMPLETION), "bash-completion is not installed")
    def test_the_program_s_own_completion_with_bash_completion(self):
        got = complete("memtype", "run", "--", "ls", "--colo", full=True)
        self.assertTrue(any(w.startswith("--color") for w in got), got)


if __name__ == "__main__":
    unittest.main()
