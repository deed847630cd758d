"""The timeline and the exact peak (dump format 1.8): examples/phases holds
4 MiB, then 12 MiB, then 2 MiB, each while it churns small blocks; its dump
must show three plateaus at those heights (within 5 %), and a peak of
exactly 12 MiB + 32 KiB (the 12 MiB phase and the churn's 512 x 64 bytes),
of which the 12 MiB phase's type holds exactly 12 MiB; each phase's own
high-water mark is exact. A dump written before 1.8 has neither, and the
report says so instead of drawing an empty chart; a long run keeps at most
200 snapshots; two threads make the peak not exact, and it says so."""
import json
import os
import subprocess
import unittest

from mtenv import CMD, LIB, clean_env, scratch, HERE  # noqa: E402
from memtype_report import dump  # noqa: E402

PROG = os.environ.get("MEMTYPE_PHASES", "build/bin/phases")
THREADS = os.environ.get("MEMTYPE_THREADS_PROG", "")
MIB = 1 << 20
PEAK = 12 * MIB + 512 * 64
OLD_DUMP = os.path.normpath(os.path.join(HERE, "..", "fuzz", "corpus", "dump", "plain.mtd"))


def run_phases(rounds, extra=None, prog=None):
    tmp = scratch("memtype-timeline-test.")
    env = clean_env()
    env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": os.path.join(tmp, "p.%p.mtd")})
    env.update(extra or {})
    r = subprocess.run([prog or PROG, str(rounds)], env=env, capture_output=True, text=True,
                       timeout=300)
    files = [os.path.join(tmp, f) for f in os.listdir(tmp)]
    assert r.returncode == 0 and len(files) == 1, (r, files)
    return files[0]


def by_function(d, name):
    """The type whose call site is in function `name` (symbolized)."""
    from memtype_report import symbolize
    names = symbolize.names(d, sorted({t.pcs[0] for t in d.types if t.pcs}))
    for t in d.types:
        if t.pcs and names.get(t.pcs[0], "").startswith(name + " "):
            return t
    raise AssertionError("no type in %s" % name)


def plateaus(totals, heights, tolerance=0.05):
    """For each height in turn, the snapshots (at least 2 in a row) within
    tolerance of it, found in that order; the indexes of each run's first."""
    found, i = [], 0
    for h in heights:
        while i < len(totals) and abs(totals[i] - h) > tolerance * h:
            i += 1
        start = i
        while i < len(totals) and abs(totals[i] - h) <= tolerance * h:
            i += 1
        if i - start < 2:
            return found
        found.append(start)
    return found


class Phases(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = run_phases(8000)   # each phase held ~0.1 s or more: 20+ snapshots
        cls.d = dump.load(cls.path)

    def test_the_peak_is_exact_to_the_byte(self):
        pk = self.d.peak
        self.assertEqual(pk.bytes, PEAK)
        self.assertTrue(pk.exact)
        self.assertEqual(pk.threads, 1)

    def test_the_big_phase_holds_its_12_mib_at_the_peak(self):
        big = by_function(self.d, "phase_big")
        self.assertEqual((big.peak_bytes, big.peak_blocks), (12 * MIB, 12 * 1024))
        # the others' blocks were all freed before: nothing of theirs at the peak
        self.assertEqual(by_function(self.d, "phase_small").peak_bytes, 0)
        self.assertEqual(by_function(self.d, "phase_end").peak_bytes, 0)
        self.assertEqual(sum(t.peak_bytes or 0 for t in self.d.types), PEAK)

    def test_each_phase_has_its_exact_high_water_mark(self):
        for name, size in (("phase_small", 4), ("phase_big", 12), ("phase_end", 2)):
            t = by_function(self.d, name)
            self.assertEqual(t.highuse, size * MIB, name)
            self.assertTrue(t.high_exact, name)
            self.assertEqual(t.in_use_bytes, 0, name)

    def test_the_timeline_has_three_plateaus_at_the_phases_heights(self):
        totals = [s.bytes for s in self.d.timeline]
        self.assertEqual(len(plateaus(totals, [4 * MIB, 12 * MIB, 2 * MIB])), 3, totals)
        # and no snapshot above the peak
        self.assertLessEqual(max(totals), PEAK)
        times = [s.time_ns for s in self.d.timeline]
        self.assertEqual(times, sorted(times))

    def test_a_plateau_is_the_phases_type(self):
        big = by_function(self.d, "phase_big")
        best = max(self.d.timeline, key=lambda s: s.bytes)
        self.assertEqual(best.top[big.id][0], 12 * MIB)

    def test_report_draws_the_chart_and_the_peak_table(self):
        r = subprocess.run([CMD, "report", "--timeline", "--peak", self.path],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertIn("memtype: memory in use over phases (pid", out)
        self.assertRegex(out, r"  A  phase_big \(phases\.c:\d+\) \(most 12\.0 MiB\)")
        self.assertIn("memtype: peak of phases (pid", out)
        self.assertIn(": %d bytes (12.0 MiB)" % PEAK, out)
        row = [l for l in out.splitlines() if l.startswith("phase_big (")][0].split()
        self.assertEqual(row[-4:], [str(12 * MIB), "99.7%", str(12 * 1024), str(12 * MIB)])
        chart = [l for l in out.splitlines() if " |" in l]
        self.assertEqual(len(chart), 16)
        self.assertTrue(any("A" in l for l in chart[:2]), "the top rows are the 12 MiB phase")

    def test_json_has_the_documented_keys(self):
        r = subprocess.run([CMD, "report", "--json", self.path], capture_output=True, text=True)
        p = json.loads(r.stdout)["processes"][0]
        self.assertEqual(p["peak"]["bytes"], PEAK)
        self.assertTrue(p["peak"]["exact"])
        self.assertEqual(sorted(p["peak"]["types"][0]),
                         ["blocks", "bytes", "high_exact", "high_use", "type"])
        self.assertEqual(p["peak"]["types"][0]["bytes"], 12 * MIB)
        snaps = p["timeline"]["snapshots"]
        self.assertGreaterEqual(len(snaps), 6)
        self.assertEqual(sorted(snaps[0]), ["allocated", "blocks", "bytes", "time_ns", "types"])


class Bounds(unittest.TestCase):
    def test_a_long_run_keeps_at_most_200_snapshots_spread_over_it(self):
        d = dump.load(run_phases(60000))   # over a second: 200 snapshots at 5 ms
        self.assertLessEqual(len(d.timeline), 200)
        self.assertGreaterEqual(len(d.timeline), 100)
        self.assertGreater(d.timeline_spacing_ns, 1000000)   # thinned: spacing doubled
        # spread: the last snapshot is the end, the first near the start
        self.assertLess(d.timeline[0].time_ns, d.timeline[-1].time_ns / 10)

    def test_a_dump_before_1_8_has_no_peak_and_the_report_says_so(self):
        d = dump.load(OLD_DUMP)
        self.assertLess(d.minor, 8)
        self.assertIsNone(d.peak)
        self.assertEqual(d.timeline, [])
        r = subprocess.run([CMD, "report", "--timeline", "--peak", OLD_DUMP],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no timeline in this dump (format 1.8 or later has one)", r.stdout)
        self.assertIn("no peak in this dump (format 1.8 or later has one)", r.stdout)

    def test_a_newer_minors_sections_are_named_as_not_shown(self):
        # a 1.8 dump told it is a 1.9 one, with a section of a tag 1.8 lacks
        with open(run_phases(20), "rb") as f:
            data = bytearray(f.read())
        data[10:12] = (dump.MINOR + 1).to_bytes(2, "little")
        end = len(data) - 16
        data[end:end] = (99).to_bytes(4, "little") + bytes(4) + (8).to_bytes(8, "little") + \
            bytes(8)
        tmp = scratch("memtype-timeline-test.")
        path = os.path.join(tmp, "newer.mtd")
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run([CMD, "report", "--peak", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("memtype: peak of phases", r.stdout)
        self.assertIn("is newer than this reader's 1.%d: its section(s) 0x63 are not shown; "
                      "upgrade memtype to see them" % dump.MINOR, r.stderr)

    @unittest.skipUnless(THREADS, "MEMTYPE_THREADS_PROG not set")
    def test_with_threads_the_peak_says_it_is_not_exact(self):
        d = dump.load(run_phases(2000, prog=THREADS))
        self.assertGreater(d.peak.threads, 1)
        self.assertFalse(d.peak.exact)
        self.assertGreaterEqual(d.peak.bytes, max(s.bytes for s in d.timeline) * 0.95)


if __name__ == "__main__":
    unittest.main()
