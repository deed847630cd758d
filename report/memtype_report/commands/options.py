"""`memtype options [--markdown]`: every MEMTYPE_* variable."""
import argparse
import sys

from .. import options as opts


def parser():
    p = argparse.ArgumentParser(prog="memtype options",
                                description="Every MEMTYPE_* variable: its default, the "
                                            "values it accepts, its memtype run flag and "
                                            "what it does.")
    p.add_argument("--markdown", action="store_true", help="print docs/options.md")
    return p


def main(argv, rows):
    args = parser().parse_args(argv)
    sys.stdout.write(opts.markdown(rows) if args.markdown else opts.text(rows))
    return 0
