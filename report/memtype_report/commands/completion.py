"""`memtype completion bash`: the completion script, from the parsers."""
import argparse
import sys


def parser():
    p = argparse.ArgumentParser(prog="memtype completion",
                                description="Print a completion script for a shell, made "
                                            "from the command's own argument parsers.")
    p.add_argument("shell", choices=("bash",), help="the shell (bash)")
    return p


def main(argv, parsers):
    """parsers: every command's parser by name (cli.parsers())."""
    parser().parse_args(argv)
    from .. import completion
    sys.stdout.write(completion.bash(parsers))
    return 0
