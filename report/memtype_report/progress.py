"""Progress of long work (`memtype sweep`, a report over large dumps) as one
line on stderr, redrawn in place: what is being done, how far (n/total
and an estimate of the time left when the total is known) and for how long.

Only on a terminal: when stderr is not a tty (a pipe, a file, a test's
capture) nothing is written, ever. Work done within DELAY seconds shows
nothing either. The line is erased before anything is written to stdout
or stderr through sys.stdout/sys.stderr (they are wrapped while the line
is up) and when the work ends, so that no output is interleaved with it.
A daemon thread redraws it every TICK seconds, so a long step still shows
its clock; callers from several threads are serialized by one lock."""
import atexit
import os
import sys
import threading
import time

DELAY = 0.5   # seconds of work before the line first appears
TICK = 0.25   # seconds between redraws by the clock
LEAST = 0.1   # seconds between redraws by step()

_lock = threading.RLock()
_current = None   # the Progress being shown, or None


class _Erasing:
    """A stream that erases the progress line before each write."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, s):
        with _lock:
            if _current is not None:
                _current._erase()
            return self._stream.write(s)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _tty(stream):
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """Progress("memtype sweep", total=40, unit="runs"); step() after each
    unit of work; note("symbolizing libc.so.6") for what is being done
    (notes=False: not the notes of the module-level note(), when the steps
    say enough); end() (or a with block) erases the line. Does nothing off
    a terminal."""

    def __init__(self, title, total=None, unit="", notes=True):
        self.title, self.total, self.unit, self.notes = title, total, unit, notes
        self.done, self.what = 0, ""
        self.start = time.monotonic()
        self._err = sys.stderr
        self._on = _tty(self._err)
        self._shown = False
        self._last = 0.0
        self._saved = None
        if self._on:
            self._begin()

    def _begin(self):
        global _current
        with _lock:
            if _current is not None:
                _current.end()
            _current = self
            self._saved = (sys.stdout, sys.stderr)
            sys.stdout, sys.stderr = _Erasing(sys.stdout), _Erasing(sys.stderr)
        threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self):
        while True:
            time.sleep(TICK)
            with _lock:
                if _current is not self:
                    return
                self._draw()

    def _line(self):
        secs = time.monotonic() - self.start
        parts = [self.title + ":"]
        if self.total:
            parts.append("%d/%d%s (%d%%)" % (self.done, self.total,
                                            " " + self.unit if self.unit else "",
                                            100 * self.done // self.total))
        elif self.done:
            parts.append("%d%s" % (self.done, " " + self.unit if self.unit else ""))
        if self.what:
            parts.append(self.what)
        parts.append("%d s" % secs)
        if self.total and self.done and self.done < self.total:
            parts.append("about %d s left" % (secs * (self.total - self.done) / self.done + 0.5))
        try:
            cols = os.get_terminal_size(self._err.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            cols = 80
        text = " ".join(parts[:1]) + " " + ", ".join(parts[1:])
        return text[:max(10, cols - 1)]

    def _draw(self):
        now = time.monotonic()
        if now - self.start < DELAY:
            return
        self._last = now
        try:
            self._err.write("\r\033[K" + self._line())
            self._err.flush()
            self._shown = True
        except (OSError, ValueError):
            self._on = False

    def _erase(self):
        if self._shown:
            try:
                self._err.write("\r\033[K")
                self._err.flush()
            except (OSError, ValueError):
                pass
            self._shown = False

    def step(self, n=1, what=None):
        """n more units done (thread-safe); what: the step now under way."""
        with _lock:
            self.done += n
            if what is not None:
                self.what = what
            if self._on and _current is self and (
                    time.monotonic() - self._last >= LEAST or self.done == self.total):
                self._draw()

    def note(self, what):
        self.step(0, what)

    def end(self):
        """Erases the line; later calls do nothing."""
        global _current
        with _lock:
            if _current is not self:
                return
            self._erase()
            sys.stdout, sys.stderr = self._saved
            _current = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.end()


def note(what):
    """Tells the progress line shown now (if any) what is being done: for
    code deep in a report (reading a dump, symbolizing a module) that does
    not know who asked for it."""
    with _lock:
        if _current is not None and _current.notes:
            _current.note(what)


@atexit.register
def _at_exit():
    with _lock:
        if _current is not None:
            _current.end()
