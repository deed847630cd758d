"""The HTML page (`memtype report --html`) driven in headless Chromium over
the DevTools protocol (cdp.py): the flame graph draws the dump's stacks
(a screenshot of its canvas is not blank), its search sums the weight of
the matching stacks, a click zooms in and out, Reset and the weight menu do
what they say; leak and error rows open on their full stacks; python3's and
gcc's pages open fast and never scroll sideways."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import cdp
from mtenv import CMD, scratch
from memtype_report import dump, formats
from test_report_forms import run_with_dump

BUGS = os.environ.get("MEMTYPE_BUGS_DIR", "build/bin")
ROW = 18  # the flame graph's row height in CSS pixels (flame.py)
SHOTS = os.environ.get("MT_SCREENSHOTS")  # a directory to keep the screenshots in


def page_of(files, tmp, name="report.html"):
    page = os.path.join(tmp, name)
    r = subprocess.run([CMD, "report", "--html", page] + files, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return page


def weight_matching(stacks, pred, key):
    """What the page's search should sum: the weight of every stack with a
    frame that matches (each stack once, however many frames match)."""
    return sum(w[key] for frames, w in stacks if any(pred(f) for f in frames))


def browser_or_skip(test, width=1200):
    if cdp.chromium() is None:
        if os.environ.get("MT_REQUIRE_CHROMIUM") == "1":
            test.fail("chromium is not installed (scripts/deps.sh test installs it)")
        test.skipTest("chromium is not installed")
    return cdp.Browser(scratch("memtype-chromium."), width=width)


def non_background(png):
    """(pixels that are not the page's white, distinct colours) of a PNG."""
    w, h, rows = cdp.png_pixels(png)
    colours, inked = set(), 0
    for row in rows:
        for px in row:
            colours.add(px)
            if min(px) < 245:
                inked += 1
    return inked, w * h, len(colours)


class FlameGraph(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="memtype-flame.")
        r, files = run_with_dump([os.path.join(BUGS, "leaky"), "leaks"], cls.tmp,
                                 MEMTYPE_DEPTH="16")
        assert r.returncode == 0, r.stderr
        cls.stacks = list(formats.stacks([dump.load(files[0])]))
        cls.page = page_of(files, cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def setUp(self):
        self.b = browser_or_skip(self)
        self.addCleanup(self.b.close)
        self.b.open("file://" + self.page)
        self.b.eval("document.getElementById('flame-canvas').scrollIntoView()")
        self.shots = SHOTS or self.tmp

    def state(self):
        return self.b.eval("(function(){var c=document.getElementById('flame-canvas');"
                           "return {weight:c.dataset.weight, zoom:c.dataset.zoom, "
                           "drawn:+c.dataset.drawn, matched:c.dataset.matched, "
                           "text:document.getElementById('flame-match').textContent};})()")

    def click_frame(self, row, where):
        """Clicks the flame graph's row at where (0 = left edge, 1 = right)."""
        x, y, w, _ = self.b.eval("(function(){var r=document.getElementById('flame-canvas')"
                                 ".getBoundingClientRect();return [r.left,r.top,r.width,0];})()")
        self.b.click(x + min(max(w * where, 2), w - 2), y + row * ROW + ROW // 2)

    def search(self, text):
        self.b.eval("var s=document.getElementById('flame-search');s.value='';"
                    "s.dispatchEvent(new Event('input'))")
        self.b.type_into("#flame-search", text)

    def test_the_flame_graph_draws_every_stack_of_the_dump(self):
        s = self.state()
        self.assertEqual((s["weight"], s["zoom"]), ("bytes", ""))
        # all, the program, then one box per distinct frame prefix
        prefixes = {tuple(f[:i + 1]) for f, w in self.stacks if w["bytes"] for i in range(len(f))}
        self.assertEqual(s["drawn"], 1 + len(prefixes))
        png = self.b.screenshot(os.path.join(self.shots, "flame.png"),
                                self.b.rect("#flame-canvas"))
        inked, area, colours = non_background(png)
        self.assertGreater(inked, area // 4, "the flame graph's canvas is mostly blank")
        self.assertGreater(colours, 8)  # frames in several colours, and their labels
        self.assertEqual(self.b.console_errors(), [])

    def test_search_sums_the_weight_of_the_matching_stacks(self):
        self.search("make_")
        expect = weight_matching(self.stacks, lambda f: "make_" in f, "bytes")
        self.assertEqual(expect, 100 + 64 + 96)  # make_held, make_inner, make_pair (leaky.c)
        self.assertEqual(int(self.state()["matched"]), expect)
        self.search("/^new_node$|^MAKE_INNER$/")  # a regexp, without case
        self.assertEqual(int(self.state()["matched"]), 480 + 64)
        self.b.eval("var m=document.getElementById('flame-weight');m.value='3';"
                    "m.dispatchEvent(new Event('change'))")
        s = self.state()
        self.assertEqual(s["weight"], "leaks")
        self.assertEqual(int(s["matched"]),
                         weight_matching(self.stacks, lambda f: f in ("new_node", "make_inner"),
                                         "leaks"))
        self.search("no such frame")
        self.assertEqual(int(self.state()["matched"]), 0)

    def test_a_click_zooms_in_and_a_click_above_or_reset_zooms_out(self):
        before = self.b.screenshot(os.path.join(self.shots, "before.png"),
                                   self.b.rect("#flame-canvas"))
        main = next(f for f, _ in self.stacks if "make_inner" in f)
        row = main.index("make_inner") + 1  # row 0 is "all"
        # children of main, heaviest first: make_inner is the lightest, at
        # the right end of its row
        self.click_frame(row, 0.999)
        zoom = ";".join(main[:main.index("make_inner") + 1])
        self.assertEqual(self.state()["zoom"], zoom)
        self.search("make_inner")  # the zoomed frame spans the width: all of it matches
        s = self.state()
        self.assertEqual(int(s["matched"]), 64)
        self.assertIn("(100.0%)", s["text"])
        after = self.b.screenshot(os.path.join(self.shots, "after.png"),
                                  self.b.rect("#flame-canvas"))
        self.assertNotEqual(before, after)
        self.assertGreater(non_background(after)[0], 0)
        self.click_frame(row - 1, 0.5)  # its caller, drawn above it over the full width
        self.assertEqual(self.state()["zoom"], ";".join(main[:main.index("make_inner")]))
        self.b.eval("document.getElementById('flame-reset').click()")
        s = self.state()
        self.assertEqual(s["zoom"], "")
        self.assertEqual(int(s["matched"]), 64)  # the search stays
        self.assertEqual(self.b.console_errors(), [])

    def test_hovering_a_frame_tells_its_weight(self):
        self.click_frame(1, 0.5)
        info = self.b.eval("document.getElementById('flame-info').textContent")
        self.assertIn("leaky", info)
        self.assertIn("100.00% of all", info)


class FullStacks(unittest.TestCase):
    def test_leak_and_error_rows_open_on_their_full_stacks(self):
        tmp = scratch("memtype-stacks.")
        r, leaks = run_with_dump([os.path.join(BUGS, "leaky"), "leaks"], tmp, MEMTYPE_DEPTH="8")
        self.assertEqual(r.returncode, 0, r.stderr)
        r, errs = run_with_dump([os.path.join(BUGS, "write_after_free"), "now"], tmp,
                                MEMTYPE_DEPTH="8", MEMTYPE_TRASH="1", MEMTYPE_REDZONE="1")
        self.assertNotEqual(r.returncode, 0)
        errs = [f for f in errs if f not in leaks]
        with open(page_of(leaks + errs, tmp), encoding="utf-8") as f:
            text = f.read()
        # the new_node leak row: its label, then the stack down to main
        self.assertRegex(text, r"<summary>new_node \(leaky\.c:27\)</summary><pre>allocated at:\n"
                               r"#0 new_node \(leaky\.c:27\)\n#1 lose_list \(leaky\.c:\d+\)\n"
                               r"#2 main \(leaky\.c:\d+\)\n")
        # the write-after-free row: where it was seen, allocated and freed
        self.assertRegex(text, r"<pre>allocated at:\n#0 make_record \(write_after_free\.c:10\)\n"
                               r"#1 main \(write_after_free\.c:\d+\)\n")
        # the block's own free stack (1.7 STACKS, checks on), not its free site alone
        self.assertRegex(text, r"<pre>freed at:\n#0 drop_record \(write_after_free\.c:12\)\n"
                               r"#1 main \(write_after_free\.c:\d+\)\n")
        # where it was seen (in the loader at exit, whose symbols depend on the
        # machine's packages): a stack of more than one frame, whatever its names
        self.assertRegex(text, re.compile(r"write-after-free WRITE</td>.*?<details><summary>[^<]+"
                                          r"</summary><pre>#0 [^\n]+\n#1 [^\n]+\n", re.S))


class BigPages(unittest.TestCase):
    """python3's and gcc's reports (thousands of call sites, stacks 16 deep)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="memtype-bigpages.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def open_timed(self, b, page, times=3):
        """The page's own time to ready (performance.now() when its scripts
        are done, the flame graph drawn), the best of a few loads: the
        machine may be busy with other tests."""
        best = None
        for _ in range(times):
            b.open("file://" + page)
            ms = int(b.eval("document.body.getAttribute('data-ready-ms')"))
            best = ms if best is None else min(best, ms)
        return best

    def no_sideways_scroll(self, b):
        return b.eval("document.documentElement.scrollWidth <= "
                      "document.documentElement.clientWidth")

    def test_python3s_page_opens_in_under_two_seconds_and_fits_the_window(self):
        work = os.path.join(self.tmp, "py")
        os.mkdir(work)
        r, files = run_with_dump(["python3", "-c", "import json, email.parser, http.client\n"
                                  "d = [{'k': i, 'v': str(i) * 5} for i in range(50000)]\n"
                                  "json.loads(json.dumps(d))"], work, MEMTYPE_DEPTH="16")
        self.assertEqual(r.returncode, 0, r.stderr)
        page = page_of(files, work)
        b = browser_or_skip(self)
        self.addCleanup(b.close)
        ms = self.open_timed(b, page)
        print("python3's page (%d KiB): ready in %d ms" % (os.path.getsize(page) // 1024, ms))
        self.assertLess(ms, 2000)
        self.assertGreater(int(b.eval("document.getElementById('flame').dataset.depth")), 10)
        self.assertTrue(self.no_sideways_scroll(b))
        self.assertEqual(b.console_errors(), [])

    def test_gccs_page_fits_the_window_with_all_its_rows_shown(self):
        gcc = os.environ.get("MEMTYPE_GCC") or shutil.which("gcc")
        if not gcc:
            self.skipTest("no gcc")
        work = os.path.join(self.tmp, "gcc")
        os.mkdir(work)
        src = os.path.join(work, "t.c")
        with open(src, "w") as f:
            f.write("#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n")
        r, files = run_with_dump([gcc, "-O2", "-c", src, "-o", os.path.join(work, "t.o")], work,
                                 MEMTYPE_DEPTH="16")
        self.assertEqual(r.returncode, 0, r.stderr)
        page = page_of(files, work)
        b = browser_or_skip(self, width=1000)
        self.addCleanup(b.close)
        ms = self.open_timed(b, page, 1)
        print("gcc's page (%d KiB, %d dumps): ready in %d ms"
              % (os.path.getsize(page) // 1024, len(files), ms))
        self.assertTrue(self.no_sideways_scroll(b))
        rows = b.eval("document.querySelector('table.sortable').tBodies[0].rows.length")
        self.assertGreater(rows, 200)  # gcc's cc1 has thousands of call sites
        shown = "Array.prototype.filter.call(document.querySelector('table.sortable')" \
                ".tBodies[0].rows, function (r) { return r.offsetParent !== null; }).length"
        self.assertEqual(b.eval(shown), 200)
        # sorting by Requests keeps the first 200 rows of the new order shown
        b.eval("document.querySelectorAll('table.sortable th')[4].click()")
        top = b.eval("Array.prototype.slice.call(document.querySelector('table.sortable')"
                     ".tBodies[0].rows, 0, 201).map(function (r) {"
                     "return [+r.cells[4].textContent, r.offsetParent !== null]; })")
        self.assertEqual([v for v, _ in top], sorted([v for v, _ in top], reverse=True))
        self.assertEqual([s for _, s in top], [True] * 200 + [False])
        b.eval("document.querySelector('button.show-all').click()")
        self.assertEqual(b.eval(shown), rows)
        self.assertTrue(self.no_sideways_scroll(b))
        self.assertEqual(b.console_errors(), [])


if __name__ == "__main__":
    unittest.main()
