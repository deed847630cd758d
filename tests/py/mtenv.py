"""Shared by the Python tests: where the built pieces are (CTest passes them
in the environment) and a clean environment for the programs they start."""
import atexit
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

CMD = os.environ.get("MEMTYPE_CMD", "build/bin/memtype")
LIB = os.environ.get("MEMTYPE_LIB_PATH", "build/lib/libmemtype.so")


# Variables of the developer's shell that change how the programs a test
# starts behave, whatever the test asks: python's buffering, allocator and
# fault handler (PYTHONUNBUFFERED=1 hid a test that relied on it), a preload
# or library path, glibc's malloc tunables.
LEAKY_VARS = ("PYTHONUNBUFFERED", "PYTHONMALLOC", "PYTHONFAULTHANDLER", "PYTHONDEVMODE",
              "PYTHONTRACEMALLOC", "PYTHONWARNINGS", "PYTHONSTARTUP", "PYTHONINSPECT",
              "PYTHONOPTIMIZE", "PYTHONVERBOSE", "PYTHONMALLOCSTATS", "PYTHONASYNCIODEBUG",
              "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_BIND_NOW", "GLIBC_TUNABLES",
              "MALLOC_CHECK_", "MALLOC_PERTURB_", "MALLOC_ARENA_MAX")


def clean_env():
    """The test's environment without inherited MEMTYPE_* variables, so that
    only what a test sets configures memtype, and without LEAKY_VARS, so that
    the programs behave alike on every machine."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("MEMTYPE_") and k not in LEAKY_VARS}


def scratch(prefix):
    """A new temporary directory, removed when the test process exits (with
    the dumps the programs left in it), so that no run leaves files behind."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path
