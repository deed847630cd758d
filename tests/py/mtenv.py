"""Shared by the Python tests: where the built pieces are (CTest passes them
in the environment) and a clean environment for the programs they start."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

CMD = os.environ.get("MEMTYPE_CMD", "build/bin/memtype")
LIB = os.environ.get("MEMTYPE_LIB_PATH", "build/lib/libmemtype.so")


def clean_env():
    """The test's environment without inherited MEMTYPE_* variables, so that
    only what a test sets configures memtype."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MEMTYPE_")}
