"""Every command of `memtype` that reads dumps, in every form, on fixed
inputs (the dumps of tests/fuzz/corpus/dump: formats 1.3 to 1.8, with leaks,
errors, injected failures, guard pages, waste and forked children), checked
byte for byte against tests/py/golden/. Unsymbolized (--no-symbolize), so
that the expected text is the same on every machine.

After a change meant to alter a report, rewrite the expected files and read
their diff:  python3 test_report_golden.py --update"""
import contextlib
import glob
import io
import os
import re
import shutil
import sys
import tempfile
import unittest

from mtenv import HERE

# MT_REPORT_DIR: the report package to test (default: this tree's), e.g. to
# show that another version prints the same.
if os.environ.get("MT_REPORT_DIR"):
    sys.path.insert(0, os.environ["MT_REPORT_DIR"])
from memtype_report import cli, dump, live  # noqa: E402

GOLDEN = os.path.join(HERE, "golden")
CORPUS = os.path.normpath(os.path.join(HERE, "..", "fuzz", "corpus", "dump"))
OPTIONS_DEF = os.path.normpath(os.path.join(HERE, "..", "..", "core", "types", "options.def"))
DUMPS = {os.path.basename(f)[:-4]: f for f in sorted(glob.glob(os.path.join(CORPUS, "*.mtd")))}
UPDATE = "--update" in sys.argv

# report's forms, each on every dump alone and on all of them together.
FORMS = {
    "table": [], "table-lines3": ["--table", "--lines", "3"], "merge": ["--merge"],
    "sort-requests": ["--sort", "requests"], "sort-bytes": ["--sort", "bytes"],
    "leaks": ["--leaks"], "leaks-reachable": ["--leaks", "--reachable"],
    "errors": ["--errors"], "failures": ["--failures"],
    "failures-lines1": ["--failures", "--lines", "1"],
    "waste": ["--waste"], "json": ["--json"],
    "timeline": ["--timeline"], "timeline-allocated": ["--timeline", "--by", "allocated"],
    "peak": ["--peak"],
    "folded": ["--folded"], "folded-allocs": ["--folded", "--weight", "allocs"],
    "folded-inuse": ["--folded", "--weight", "inuse"],
    "folded-leaks": ["--folded", "--weight", "leaks"],
    "all-text": ["--leaks", "--errors", "--failures", "--waste", "--table"],
    "html": ["--html", "OUT"],
}


def _normal(text, tmp):
    """What differs from run to run: the scratch directory, the page's date."""
    text = text.replace(CORPUS + os.sep, "CORPUS/").replace(tmp, "TMP")
    return re.sub(r"made \d{4}-\d\d-\d\d \d\d:\d\d", "made DATE", text)


def run(argv, tmp, call=None):
    """stdout, stderr and status of one command line, run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = call() if call else cli.main(argv, "", OPTIONS_DEF, "0")
        except SystemExit as e:
            rc = e.code
    return _normal("%s[stderr]\n%s[status %s]\n" % (out.getvalue(), err.getvalue(), rc), tmp)


class Golden(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="memtype-golden.")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def check(self, name, text):
        path = os.path.join(GOLDEN, name + ".txt")
        if UPDATE:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return
        with open(path, encoding="utf-8") as f:
            self.assertEqual(text, f.read(), "%s: memtype's output changed (if on purpose: "
                             "python3 test_report_golden.py --update, then read the diff)" % name)

    def report(self, name, form, files):
        argv = ["report", "--no-symbolize"] + FORMS[form] + files
        page = os.path.join(self.tmp, "page.html")
        text = run([page if a == "OUT" else a for a in argv], self.tmp)
        if form == "html":
            with open(page, encoding="utf-8") as f:
                text += _normal(f.read(), self.tmp)
        self.check("report.%s.%s" % (name, form), text)

    def test_the_corpus_is_there(self):
        self.assertGreaterEqual(len(DUMPS), 7, CORPUS)

    def test_report_every_form_of_every_dump(self):
        for name, f in DUMPS.items():
            for form in FORMS:
                if form == "html" and name != "errors":  # the page is mostly its script
                    continue
                with self.subTest(dump=name, form=form):
                    self.report(name, form, [f])

    def test_report_every_form_of_a_process_tree(self):
        for form in FORMS:
            if form == "json":  # each process's part is checked above
                continue
            with self.subTest(form=form):
                self.report("all", form, list(DUMPS.values()))

    def test_report_of_a_damaged_file_among_good_ones(self):
        bad = os.path.join(self.tmp, "bad.mtd")
        with open(DUMPS["plain"], "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[:len(data) // 2])
        self.check("report.damaged", run(["report", "--no-symbolize", bad, DUMPS["plain"]],
                                         self.tmp))

    def test_diff(self):
        for a, b in (("plain", "deep"), ("forked", "failures"), ("guard", "guard")):
            for extra in ([], ["--lines", "2"]):
                with self.subTest(a=a, b=b, extra=extra):
                    self.check("diff.%s.%s%s" % (a, b, "".join(extra)),
                               run(["diff", "--no-symbolize"] + extra + [DUMPS[a], DUMPS[b]],
                                   self.tmp))

    def live_of(self, name):
        """stat and top read a running process: here, a dump read as if it
        were one (live.read gives the same Dump), removing nothing."""
        d = dump.load(DUMPS[name])
        saved = live.read, live.sweep
        live.read, live.sweep = (lambda pid: d), (lambda keep=None: [])
        self.addCleanup(setattr, live, "read", saved[0])
        self.addCleanup(setattr, live, "sweep", saved[1])

    def test_stat_and_top(self):
        for name in ("failures", "guard", "forked"):
            with self.subTest(dump=name):
                self.live_of(name)
                self.check("stat." + name, run(["stat", "--no-symbolize", "1"], self.tmp))
                self.check("top." + name, run(["top", "--no-symbolize", "--count", "2",
                                               "--interval", "0", "--lines", "4", "1"], self.tmp))

    def test_run_summary(self):
        for name, f in DUMPS.items():
            shutil.copy(f, os.path.join(self.tmp, "%s.%d.mtd" % (name, len(name))))
        here = os.getcwd()
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, here)
        try:
            from memtype_report.commands.run import run_summary
        except ImportError:  # before the commands had modules of their own
            run_summary = cli.run_summary
        # The summary names its biggest types through the symbolizer, which
        # reads this machine's modules: libc's line numbers exist only where
        # its debug symbols are installed. Unsymbolized, as every other form
        # here, so that the expected text is the same on every machine.
        from memtype_report import symbolize
        with_trouble = symbolize._module_trouble
        symbolize._module_trouble = lambda m: "not read in the golden test"
        self.addCleanup(setattr, symbolize, "_module_trouble", with_trouble)
        for tmpl, name in (("%e.%p.mtd", "all"), ("plain.%p.mtd", "one"),
                           ("none.%p.mtd", "none")):
            with self.subTest(template=tmpl):
                self.check("summary." + name,
                           run([], self.tmp, lambda: run_summary(
                               os.path.join(self.tmp, tmpl), 0, glob)))

    def test_usage_and_errors_of_the_command_line(self):
        for name, argv in (("help", ["--help"]), ("version", ["--version"]),
                           ("unknown", ["frob"]), ("report-nofile", ["report"]),
                           ("report-badweight", ["report", "--weight", "x", "f"]),
                           ("diff-missing", ["diff", "/nonexistent.mtd", DUMPS["plain"]]),
                           ("report-html-over-input",
                            ["report", "--html", DUMPS["plain"], DUMPS["plain"]])):
            with self.subTest(name=name):
                self.check("cli." + name, run(argv, self.tmp))


if __name__ == "__main__":
    if UPDATE:
        sys.argv.remove("--update")
    unittest.main()
