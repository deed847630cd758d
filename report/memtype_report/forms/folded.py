"""`memtype report --folded [--weight W]`: folded stacks for flame graphs
(formats.folded)."""
from .. import formats


def show(dumps, args):
    for line in formats.folded(dumps, args.weight, args.no_symbolize):
        print(line)
