"""`memtype report --html OUT`: the page (html.py) of the model's rows,
written whole or not at all, never over an input or a dump."""
import os
import sys

from .. import dump as dumpmod
from ..model import merge_types


def show(dumps, args):
    """Writes the page; returns 2 when it could not be written."""
    from .. import html as htmlmod
    page = htmlmod.render(dumps, lambda g: merge_types(g, args.no_symbolize, args.frames),
                          args.no_symbolize)
    why = write_output(args.html, page)
    if why:
        print("memtype: error: %s" % why, file=sys.stderr)
        return 2
    print("memtype: wrote %s" % args.html)
    return None


def check_output(out, inputs):
    """Why out must not be written (None when it may): no command writes over
    one of its inputs, or over any memtype dump."""
    for f in inputs:
        try:
            same = os.path.samefile(out, f)
        except OSError:
            same = os.path.realpath(out) == os.path.realpath(f)
        if same:
            return "%s is one of the input files; name another output file" % out
    try:
        with open(out, "rb") as f:
            if f.read(len(dumpmod.MAGIC)) == dumpmod.MAGIC:
                return ("%s is a memtype dump; it is not overwritten (forgot the output "
                        "name? --html OUT.html FILE...)" % out)
    except OSError:
        pass
    return None


def write_output(out, text):
    """Writes text to out through a temporary file in its directory, renamed
    over out once whole: a failed write never leaves half a file. Returns an
    error message or None."""
    import tempfile
    d = os.path.dirname(os.path.abspath(out))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(out), suffix=".tmp", dir=d)
    except OSError as e:
        return "cannot write %s: %s" % (out, e.strerror or e)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # as open(out, "w") would make it
        os.replace(tmp, out)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return "cannot write %s: %s" % (out, e.strerror or e)
    return None


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m
