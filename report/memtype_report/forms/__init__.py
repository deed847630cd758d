"""The views of `memtype report`, one module per form (types, leaks, errors,
failures, waste, json, folded, html), over the model (model.py), and the
text helpers they share. Printers only: what they print is in the model."""
from .. import symbolize


def human_k(n):
    """A memory cell: bytes under 1 KiB exactly ("48B"), else KiB rounded up
    ("2K"); 0 is "0K". The table at exit says the same (core/stats.c)."""
    return "%dB" % n if 0 < n < 1024 else "%dK" % ((n + 1023) // 1024)


def print_notes(dumps):
    """The last line of a report: modules without file:line, cut stacks."""
    cut = sum(1 for d in dumps if d.depth > 1 for t in d.types if len(t.pcs) >= d.depth)
    line = symbolize.notes(cut, max([d.depth for d in dumps] or [0]))
    if line:
        print(line)
