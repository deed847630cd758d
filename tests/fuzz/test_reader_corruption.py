"""Corrupt and truncated dumps against the Python reader and `memtype report`.

Takes the real dumps of tests/fuzz/corpus/dump and breaks them in known
ways: cut at every section boundary (and around it), section lengths and
tags overwritten, every count-like field set to interesting values, then
thousands of seeded random byte flips and field overwrites. Each case must
end one of two ways: dump.parse() returns a Dump whose every report form
renders, or it raises DumpError; nothing else (IndexError, struct.error,
UnicodeDecodeError, MemoryError, RecursionError...) may escape, and no case
may take more than a few seconds. A sample of the cases also goes through
the real `memtype report` command (MEMTYPE_CMD) and the C reader's tool
(MEMTYPE_STAT_TOOL): exit status 0, or non-zero with one line
`memtype: error: ...` / `memtype-stat: error: ...` and no traceback.

MEMTYPE_FUZZ_SEED picks the random cases (default fixed, so a failure
replays); a failing input is written to MEMTYPE_FUZZ_ARTIFACTS (default a
temporary directory) and named in the failure message: keep it in
tests/fuzz/regressions/dump/, which this test and fuzz_dump_reader replay.
Run: python3 tests/fuzz/test_reader_corruption.py"""
import contextlib
import glob
import io
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "report"))

from memtype_report import cli, dump  # noqa: E402

CMD = os.environ.get("MEMTYPE_CMD", os.path.join(ROOT, "build", "bin", "memtype"))
SEED = int(os.environ.get("MEMTYPE_FUZZ_SEED", "20261125"))
RANDOM_CASES = int(os.environ.get("MEMTYPE_FUZZ_RANDOM_CASES", "2000"))
CASE_SECONDS = 5        # one in-process case (parse and render)
COMMAND_SECONDS = 30    # one run of `memtype report`
COMMAND_CASES = 30      # cases also run through the command and the C tool
INTERESTING = (0, 1, 2, 7, 8, 15, 16, 63, 64, 255, 256, 4095, 4096, 65535, 65536,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
               0xFFFFFFFFFFFFFFFF)
FORMS = ([], ["--types", "--leaks", "--errors", "--failures", "--waste", "--reachable"],
         ["--json"], ["--folded"], ["--folded", "--weight", "leaks"], ["--html", None],
         ["--merge", "--sort", "requests", "--frames", "4"])


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout()


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def sections(data):
    """[(offset, tag, length)] of a well-formed dump."""
    out, pos = [], struct.unpack_from("<H", data, 12)[0]
    while pos + 16 <= len(data):
        tag, _, length = struct.unpack_from("<IIQ", data, pos)
        out.append((pos, tag, length))
        pos += 16 + length
    return out


def put(data, at, width, value):
    b = bytearray(data)
    b[at:at + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    return bytes(b)


def structured_cases(name, data):
    """(description, bytes) for the cases derived from the format's layout."""
    secs = sections(data)
    cuts = set(range(0, 72)) | {len(data) - k for k in range(1, 24)}
    for off, _, length in secs:
        for k in (-8, -1, 0, 1, 4, 8, 12, 15, 16, 17, 24):
            cuts.add(off + k)
        cuts.add(off + 16 + length // 2)
    for cut in sorted(c for c in cuts if 0 <= c < len(data)):
        yield "%s cut at %d" % (name, cut), data[:cut]
    # header fields: hsize, flags, nslots, ntypes, reason, major, minor, byte order
    for at, width in ((8, 2), (10, 2), (12, 2), (14, 2), (16, 4), (20, 4), (24, 4), (28, 4)):
        for v in INTERESTING:
            yield "%s header +%d = %#x" % (name, at, v), put(data, at, width, v)
    tags = sorted({t for _, t, _ in secs} | set(range(1, 12)) | {0xFFFFFFFF})
    for off, tag, length in secs:
        for v in INTERESTING + (length - 8, length + 8, len(data)):
            yield "%s section %#x length = %#x" % (name, tag, v), put(data, off + 8, 8, v)
        for t in tags:
            if t != tag:
                yield "%s section %#x relabelled %#x" % (name, tag, t), put(data, off, 4, t)
        # the body's first fields are counts in every section, then the first
        # record's (the 2-byte lengths of a module or type record at +12..+18)
        fields = [(k, 4) for k in range(0, 48, 4)] + [(k, 8) for k in range(0, 48, 8)]
        fields += [(k, 2) for k in (12, 14, 16, 18)]
        for k, width in fields:
            if k + width <= length:
                for v in (0, 1, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
                    yield ("%s section %#x body +%d/%d = %#x" % (name, tag, k, width, v),
                           put(data, off + 16 + k, width, v))
        # a section repeated (readers must not keep two of anything badly)
        end = secs[-1][0]
        chunk = data[off:off + 16 + length]
        yield "%s section %#x twice" % (name, tag), data[:end] + chunk + data[end:]


def random_cases(name, data, rng, n):
    secs = sections(data)
    for i in range(n):
        b = bytearray(data)
        what = []
        for _ in range(rng.randint(1, 8)):
            op = rng.randrange(5)
            if op == 0:
                at = rng.randrange(len(b))
                b[at] ^= 1 << rng.randrange(8)
                what.append("flip@%d" % at)
            elif op == 1:
                at = rng.randrange(len(b))
                b[at] = rng.randrange(256)
                what.append("byte@%d" % at)
            elif op == 2:
                width = rng.choice((1, 2, 4, 8))
                off, _, length = rng.choice(secs)
                at = off + 16 + (rng.randrange(max(length, 1)) & ~(width - 1))
                if at + width <= len(b):
                    v = rng.choice(INTERESTING) + rng.choice((-1, 0, 1))
                    b[at:at + width] = (v & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
                    what.append("field@%d/%d" % (at, width))
            elif op == 3:
                at = rng.randrange(len(b))
                del b[at:at + rng.randint(1, 64)]
                what.append("del@%d" % at)
            else:
                at = rng.randrange(len(b) + 1)
                b[at:at] = bytes([rng.randrange(256)]) * rng.randint(1, 32)
                what.append("ins@%d" % at)
        yield "%s random #%d (%s)" % (name, i, " ".join(what)), bytes(b)


class ReaderCorruption(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dumps = {os.path.basename(p): _read(p)
                     for p in sorted(glob.glob(os.path.join(HERE, "corpus", "dump", "*.mtd")))}
        cls.regressions = {os.path.basename(p): _read(p)
                           for p in sorted(glob.glob(os.path.join(HERE, "regressions", "dump",
                                                                  "*")))}
        cls.tmp = tempfile.TemporaryDirectory(prefix="memtype-corrupt-")
        cls.artifacts = os.environ.get("MEMTYPE_FUZZ_ARTIFACTS") or cls.tmp.name
        os.makedirs(cls.artifacts, exist_ok=True)
        cls.file = os.path.join(cls.tmp.name, "case.mtd")
        cls.html = os.path.join(cls.tmp.name, "case.html")
        assert cls.dumps, "no seed dumps in tests/fuzz/corpus/dump (run make_corpus.sh)"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def all_cases(self):
        rng = random.Random(SEED)
        for name, data in self.regressions.items():
            yield "regression %s" % name, data
        for name, data in self.dumps.items():
            yield from structured_cases(name, data)
        per = max(1, RANDOM_CASES // len(self.dumps))
        for name, data in self.dumps.items():
            yield from random_cases(name, data, rng, per)

    def keep(self, desc, data):
        path = os.path.join(self.artifacts, "case-%08x.mtd" % (hash(desc) & 0xFFFFFFFF))
        with open(path, "wb") as f:
            f.write(data)
        return path

    def pristine(self, desc):
        """The intact seed dump a case was made from, as a file."""
        name = desc.split()[0]
        path = os.path.join(HERE, "corpus", "dump", name)
        return path if name in self.dumps else os.path.join(HERE, "corpus", "dump", "plain.mtd")

    def check_case(self, i, desc, data):
        """None when the case ends well, else what went wrong."""
        with open(self.file, "wb") as f:
            f.write(data)
        form = [a if a is not None else self.html for a in FORMS[i % len(FORMS)]]
        out, err = io.StringIO(), io.StringIO()
        signal.alarm(CASE_SECONDS)
        try:
            try:
                dump.parse(data, "case.mtd")
                parsed = True
            except dump.DumpError as e:
                parsed = False
                msg = str(e)
                if "\n" in msg or not msg.startswith("case.mtd: "):
                    return "DumpError message is not one line naming the file: %r" % msg
            files = [self.file]
            if i % 11 == 0:  # a process tree's dumps merge: the same one twice
                files = [self.file, self.file]
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                if i % 13 == 0:  # growth from the intact dump to this one
                    rc = cli.main(["diff", "--no-symbolize", self.pristine(desc), self.file],
                                  "", "")
                else:
                    rc = cli.main(["report", "--no-symbolize"] + form + files, "", "")
        except CaseTimeout:
            return "took more than %d s" % CASE_SECONDS
        except BaseException as e:  # noqa: B902 - anything escaping is the failure
            import traceback
            return "%s escaped:\n%s" % (type(e).__name__, traceback.format_exc())
        finally:
            signal.alarm(0)
        lines = err.getvalue().splitlines()
        if parsed and rc != 0:
            return "the reader read it but `memtype %s` said %d: %s" % (
                "diff" if i % 13 == 0 else "report " + " ".join(form), rc, err.getvalue())
        # one line for each file given (the same damaged file twice: two)
        nfiles = 1 if i % 13 == 0 else len(files)
        if not parsed and (rc == 0 or len(lines) != nfiles or
                           not all(l.startswith("memtype: error: ") for l in lines)):
            return "`memtype report` on a refused dump: status %d, stderr %r" % (
                rc, err.getvalue())
        return None

    def test_every_case_reads_or_is_refused_cleanly(self):
        signal.signal(signal.SIGALRM, _alarm)
        # `memtype options` rows are not needed by `report`: stand-in paths
        real_load = cli.opts.load
        cli.opts.load = lambda path: []
        failures, n, t0 = [], 0, time.time()
        try:
            for i, (desc, data) in enumerate(self.all_cases()):
                n += 1
                why = self.check_case(i, desc, data)
                if why:
                    failures.append("%s -> %s\n  input kept as %s" % (desc, why,
                                                                      self.keep(desc, data)))
                    if len(failures) >= 20:
                        break
        finally:
            cli.opts.load = real_load
        print("\nreader corruption: %d cases in %.1f s, seed %d, %d failed" % (
            n, time.time() - t0, SEED, len(failures)), file=sys.stderr)
        self.assertGreater(n, 2000)
        self.assertEqual(failures, [], "\n\n".join(failures))

    def test_the_command_and_the_c_reader_refuse_cleanly(self):
        cmd = os.environ.get("MEMTYPE_CMD")
        tool = os.environ.get("MEMTYPE_STAT_TOOL")
        if not cmd and not tool:
            self.skipTest("MEMTYPE_CMD and MEMTYPE_STAT_TOOL not set (run through CTest)")
        cases = list(self.all_cases())
        rng = random.Random(SEED + 1)
        sample = rng.sample(cases, min(COMMAND_CASES, len(cases)))
        failures, t0 = [], time.time()
        for k, (desc, data) in enumerate(sample):
            with open(self.file, "wb") as f:
                f.write(data)
            runs = []
            if cmd:
                # every other case symbolizes (the module map is hostile input too)
                runs.append(([sys.executable, cmd, "report"] + (["--no-symbolize"] if k % 2 else [])
                             + ["--leaks", "--errors", "--types", self.file], "memtype: error: "))
            if tool:
                runs.append(([tool, self.file], "memtype-stat: error: "))
            for argv, prefix in runs:
                try:
                    p = subprocess.run(argv, capture_output=True, text=True,
                                       timeout=COMMAND_SECONDS, stdin=subprocess.DEVNULL,
                                       errors="replace")
                except subprocess.TimeoutExpired:
                    failures.append("%s: %s hung" % (desc, argv[-2]))
                    continue
                lines = p.stderr.splitlines()
                bad = None
                if "Traceback" in p.stderr or p.returncode < 0:
                    bad = "crashed (status %d)" % p.returncode
                elif p.returncode != 0 and (len(lines) != 1 or not lines[0].startswith(prefix)):
                    bad = "status %d without one error line" % p.returncode
                if bad:
                    failures.append("%s: %s %s:\n%s\n  input kept as %s" % (
                        desc, os.path.basename(argv[1] if argv[0] == sys.executable else argv[0]),
                        bad, p.stderr[-2000:], self.keep(desc, data)))
        print("\ncommand corruption: %d cases in %.1f s" % (len(sample), time.time() - t0),
              file=sys.stderr)
        self.assertEqual(failures, [], "\n\n".join(failures))

    def test_a_stream_that_is_no_dump_is_refused_at_once(self):
        # /dev/zero never ends: read whole, it was a MemoryError traceback
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(CASE_SECONDS)
        try:
            with self.assertRaisesRegex(dump.DumpError, "not a memtype dump"):
                dump.load("/dev/zero")
            with self.assertRaisesRegex(dump.DumpError, "cannot read"):
                dump.load(self.tmp.name)  # a directory
        finally:
            signal.alarm(0)
        tool = os.environ.get("MEMTYPE_STAT_TOOL")
        if tool:
            p = subprocess.run([tool, "/dev/zero"], capture_output=True, text=True, timeout=30)
            self.assertEqual((p.returncode, p.stderr),
                             (2, "memtype-stat: error: /dev/zero: not a memtype dump\n"))

    def test_names_from_a_dump_are_escaped_in_html(self):
        data = self.dumps["plain.mtd"]
        off = [o for o, tag, _ in sections(data) if tag == 1][0]
        exe_len = struct.unpack_from("<I", data, off + 16 + 32)[0]
        evil = b"<b onmouseover=alert(1)>x"  # no '/': reports show the base name
        self.assertGreaterEqual(exe_len, len(evil))
        at = off + 16 + 40
        data = data[:at] + evil.ljust(exe_len, b"x") + data[at + exe_len:]
        # and argv[0], the name reports give a process
        a0 = at + exe_len + 4
        a0_len = struct.unpack_from("<I", data, a0 - 4)[0]
        self.assertGreaterEqual(a0_len, len(evil))
        data = data[:a0] + evil.ljust(a0_len, b"x") + data[a0 + a0_len:]
        with open(self.file, "wb") as f:
            f.write(data)
        real_load = cli.opts.load
        cli.opts.load = lambda path: []
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                rc = cli.main(["report", "--no-symbolize", "--html", self.html, self.file], "", "")
        finally:
            cli.opts.load = real_load
        self.assertEqual(rc, 0)
        with open(self.html, encoding="utf-8") as f:
            page = f.read()
        self.assertNotIn("<b onmouseover", page)
        self.assertIn("&lt;b onmouseover=alert(1)&gt;x", page)

    def test_control_characters_from_a_dump_never_reach_the_terminal(self):
        # A program name carrying an escape sequence (here: clear the screen,
        # set the window title) is shown with '?' in its place.
        data = self.dumps["plain.mtd"]
        off = [o for o, tag, _ in sections(data) if tag == 1][0]
        exe_len = struct.unpack_from("<I", data, off + 16 + 32)[0]
        evil = b"\x1b[2J\x1b]0;owned\x07\x9bx"
        self.assertGreaterEqual(exe_len, len(evil))
        at = off + 16 + 40
        data = data[:at] + evil.ljust(exe_len, b"x") + data[at + exe_len:]
        # and argv[0], the name reports give a process
        a0 = at + exe_len + 4
        a0_len = struct.unpack_from("<I", data, a0 - 4)[0]
        self.assertGreaterEqual(a0_len, len(evil))
        data = data[:a0] + evil.ljust(a0_len, b"x") + data[a0 + a0_len:]
        with open(self.file, "wb") as f:
            f.write(data)
        for form in ("--types", "--leaks", "--errors", "--waste", "--json", "--folded"):
            p = subprocess.run([CMD, "report", "--no-symbolize", form, self.file],
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            out = p.stdout + p.stderr
            self.assertNotIn(b"\x1b", out, form)
            self.assertNotIn(b"\x07", out, form)
            self.assertNotIn("\x9b".encode("utf-8"), out, form)
        d = dump.load(self.file)
        self.assertNotIn("\x1b", d.exe)


if __name__ == "__main__":
    unittest.main(verbosity=2)
