"""The man pages the build generates (memtype(1), (3), (7)): groff formats
each without a single warning; memtype(1) has the FreeBSD sections, lists
every MEMTYPE_* variable of core/types/options.def under ENVIRONMENT and every
command and option of the argument parsers; memtype(3) documents every
function of include/memtype.h; no page names a variable that does not exist.
Run by CTest with MT_MAN_DIR (the build's share/man) set."""
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "report"))
from memtype_report import cli, options  # noqa: E402

MAN = os.environ.get("MT_MAN_DIR", os.path.join(SRC, "build", "share", "man"))
PAGES = {s: os.path.join(MAN, "man%s" % s, "memtype.%s" % s) for s in "137"}
OPTIONS_DEF = os.path.join(SRC, "core", "types", "options.def")
# Read by the command, not by the library: not in options.def.
COMMAND_VARIABLES = {"MEMTYPE_LIB"}


def def_variables():
    """The variables of options.def, read here without options.py."""
    with open(OPTIONS_DEF, encoding="utf-8") as f:
        return ["MEMTYPE_" + m.group(1) for m in
                re.finditer(r"^MT_OPT\(\s*\w+\s*,\s*(\w+)\s*,", f.read(), re.M)]


def source(s):
    with open(PAGES[s], encoding="utf-8") as f:
        return f.read()


def rendered(s):
    """The page as text, 80 columns, no formatting."""
    r = subprocess.run(["groff", "-mandoc", "-Tutf8", "-rLL=78n", "-P-c", "-P-b", "-P-u",
                        PAGES[s]], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def section(text, name):
    """The lines of one section (a heading at column 0) of a rendered page."""
    m = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]+\n)" % re.escape(name), text, re.M | re.S)
    return m.group(1) if m else None


class Formatting(unittest.TestCase):
    def test_groff_gives_no_warning(self):
        for s, path in PAGES.items():
            for argv in (["groff", "-ww", "-z", "-mandoc", path],
                         ["groff", "-ww", "-mandoc", "-Tutf8", path]):
                r = subprocess.run(argv, capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "", "memtype(%s): %s" % (s, " ".join(argv)))

    def test_man_opens_each_page(self):
        for s, path in PAGES.items():
            r = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                               env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^MEMTYPE\(%s\)" % s)

    def test_sections_in_the_freebsd_order(self):
        want = {"1": ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES", "EXIT STATUS",
                      "EXAMPLES", "SEE ALSO", "HISTORY"],
                "3": ["NAME", "LIBRARY", "SYNOPSIS", "DESCRIPTION", "RETURN VALUES",
                      "EXAMPLES", "SEE ALSO", "HISTORY"],
                "7": ["NAME", "DESCRIPTION", "ENVIRONMENT", "EXAMPLES", "SEE ALSO", "HISTORY",
                      "CAVEATS"]}
        for s, names in want.items():
            got = re.findall(r"^\.Sh (.+)$", source(s), re.M)
            self.assertEqual(got, names, "memtype(%s)" % s)


class Content(unittest.TestCase):
    def test_environment_lists_every_variable_of_options_def(self):
        env = section(rendered("1"), "ENVIRONMENT")
        self.assertIsNotNone(env)
        variables = def_variables()
        self.assertGreater(len(variables), 20)
        for v in variables:
            self.assertTrue(re.search(r"(?m)^ {5}%s\b" % v, env), "%s is not listed" % v)
        listed = set(re.findall(r"(?m)^ {5}(MEMTYPE_\w+)", env))
        self.assertEqual(listed - set(variables) - COMMAND_VARIABLES, set())

    def test_environment_gives_each_variable_its_flag_and_default(self):
        env = section(rendered("1"), "ENVIRONMENT")
        self.assertRegex(env, r"MEMTYPE_TRASH \(--trash\)")
        self.assertRegex(env, r"MEMTYPE_FAILURE_RATE \(--failure-rate,\s+--fail-rate\)")
        self.assertRegex(env, r"Default:\s+‘memtype\.%e\.%p\.mtd’")

    def test_no_page_names_a_variable_that_does_not_exist(self):
        known = set(def_variables()) | COMMAND_VARIABLES
        for s in PAGES:
            named = set(re.findall(r"\.Ev (MEMTYPE_\w+)", source(s)))
            self.assertEqual(named - known - {"MEMTYPE_"}, set(), "memtype(%s)" % s)

    def test_every_command_and_option_is_documented(self):
        rows = options.load(OPTIONS_DEF)
        text = rendered("1")
        synopsis = section(text, "SYNOPSIS")
        for name, p in cli.parsers(rows).items():
            self.assertRegex(synopsis, r"memtype %s\b" % name)
            self.assertIn("\n     memtype %s" % name, section(text, "DESCRIPTION"))
            for a in p._actions:
                for o in a.option_strings:
                    self.assertTrue(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text),
                                    "memtype %s %s is not documented" % (name, o))

    def test_memtype_3_documents_every_function_of_the_header(self):
        with open(os.path.join(SRC, "include", "memtype.h"), encoding="utf-8") as f:
            header = f.read()
        functions = set(re.findall(r"^[a-z][\w ]*?\**\b(\w+)\(", header, re.M))
        macros = set(re.findall(r"^#define (MEMTYPE_[A-Z]+)\(", header, re.M))
        self.assertIn("malloc_last_fail", functions)
        self.assertIn("MEMTYPE_DEFINE", macros)
        page = source("3")
        for f in functions | macros:
            self.assertRegex(page, r"(?m)^\.Fn %s\b" % f, f)
            self.assertRegex(page, r"(?m)^\.Nm %s\b" % f, f)


if __name__ == "__main__":
    unittest.main()
