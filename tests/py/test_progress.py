"""Progress of long work (report/memtype_report/progress.py): a long
`memtype sweep` and a report over many large dumps draw one line on a
terminal (stderr on a pseudo-terminal here), redrawn in place and erased at
the end; with stderr on a pipe they write no byte of it, and their output
is the same either way."""
import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import tempfile
import termios
import threading
import time
import unittest

from mtenv import CMD, clean_env
from test_report_forms import run_with_dump

ERASE = "\r\x1b[K"


def run_on_tty(argv, timeout=600, columns=200):
    """(exit status, stdout, what reached the terminal) of argv run with its
    stderr on a pseudo-terminal of that many columns and its stdout on a pipe."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = clean_env()
    env["TERM"] = "xterm"
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                         env=env)
    os.close(slave)
    chunks = []

    def pump():
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not b:
                break
            chunks.append(b)
    t = threading.Thread(target=pump)
    t.start()
    out = p.stdout.read()
    p.wait(timeout=timeout)
    t.join(timeout=60)
    os.close(master)
    return p.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


def run_on_pipe(argv, timeout=600):
    env = clean_env()
    env["TERM"] = "xterm"
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


class Progress(unittest.TestCase):
    def check_drawn_and_erased(self, tty, pattern):
        lines = [l for l in tty.split(ERASE) if l]
        self.assertTrue(lines, repr(tty[-500:]))
        for l in lines:  # every draw is a progress line
            self.assertRegex(l, pattern)
            self.assertNotIn("\n", l)
        self.assertTrue(tty.endswith(ERASE), repr(tty[-200:]))  # erased at the end

    def test_a_long_sweep_shows_its_progress_on_a_terminal_only(self):
        # each run sleeps, so that the sweep outlasts the progress line's delay on
        # any machine (13 runs of a bare `python3 -c pass` took 0.2 s on a fast one)
        argv = [CMD, "sweep", "--max", "12", "--jobs", "2", "--", "python3", "-c",
                "import time; time.sleep(0.3)"]
        t0 = time.time()
        rc, out, tty = run_on_tty(argv)
        took = time.time() - t0
        self.assertGreater(took, 1.0)  # 13 runs of python3 under memtype: long enough to show
        self.check_drawn_and_erased(tty, r"^memtype sweep: (\d+/12 runs \(\d+%\)|the run "
                                         r"without failures), \d+ s")
        counts = [int(n) for n in re.findall(r"memtype sweep: (\d+)/12", tty)]
        self.assertEqual(counts, sorted(counts))
        self.assertEqual(counts[-1], 12)
        rc2, out2, err2 = run_on_pipe(argv)
        self.assertEqual(rc2, rc)
        self.assertEqual(err2, "")  # not a byte of it on a pipe
        self.assertNotIn("\r", out)
        self.assertEqual(out.splitlines()[0], out2.splitlines()[0])
        self.assertEqual(out.splitlines()[-1], out2.splitlines()[-1])

    def test_a_report_over_large_dumps_shows_its_progress_on_a_terminal_only(self):
        tmp = tempfile.mkdtemp(prefix="memtype-progress.")
        self.addCleanup(shutil.rmtree, tmp)
        r, files = run_with_dump(["python3", "-c", "import json\n"
                                  "json.loads(json.dumps([str(i) for i in range(20000)]))"],
                                 tmp, MEMTYPE_DEPTH="16")
        self.assertEqual(r.returncode, 0, r.stderr)
        many = []
        for i in range(40):  # forty processes' dumps, 16-deep stacks: seconds of work
            many.append(os.path.join(tmp, "p%d.mtd" % i))
            shutil.copy(files[0], many[-1])
        rc, out, tty = run_on_tty([CMD, "report", "--html", os.path.join(tmp, "a.html")] + many)
        self.assertEqual(rc, 0)
        self.check_drawn_and_erased(tty, r"^memtype report: (reading p\d+\.mtd|symbolizing \d+ "
                                         r"addresses in \S+|the page: [a-z ]+), \d+ s$")
        self.assertEqual(out, "memtype: wrote %s\n" % os.path.join(tmp, "a.html"))
        # a narrow terminal gets lines no wider than itself
        rc, out, tty = run_on_tty([CMD, "report", "--html", os.path.join(tmp, "c.html")] + many,
                                  columns=30)
        self.assertEqual(rc, 0)
        self.check_drawn_and_erased(tty, r"^memtype report: .{0,14}$")
        self.assertEqual(out, "memtype: wrote %s\n" % os.path.join(tmp, "c.html"))
        rc, out, err = run_on_pipe([CMD, "report", "--html", os.path.join(tmp, "b.html")] + many)
        self.assertEqual((rc, err), (0, ""))


if __name__ == "__main__":
    unittest.main()
