#!/usr/bin/env python3
"""check_layers.py - the core's layers and the dependencies allowed between
them (docs/architecture.md), checked on the sources:

  1. every source and header of core/ lives in one layer folder;
  2. an #include "x" names a file of its own layer or of a layer it may use
     (LAYERS below; core/CMakeLists.txt declares the same graph, so the
     build refuses the include too: the check says which edge is wrong);
  3. heap code tests no debug flag: the debug layers are reached only
     through the prelude and slot hooks of heap/hooks.h, whose hook words
     (mt_hook_*) are the only debug names heap code may test;
  4. core/CMakeLists.txt links each layer to exactly the layers below.

Usage: check_layers.py [--root DIR]   (exit status 1 and one line per
violation when the tree breaks a rule; DIR defaults to the checkout)."""
import argparse
import os
import re
import sys

# Bottom to top: each layer may include its own files and those of every
# layer before it, never one after it.
LAYERS = ["sys", "types", "heap", "debug", "out", "proc"]
WHAT = {
    "sys": "OS primitives, locks, the signal gate, internal memory, symbols and stacks",
    "types": "call-site types, the options, the reporter, how the process ends",
    "heap": "the allocator: size classes, pages, zones, thread caches, the block model, the live file",
    "debug": "the debug prelude, trash/redzones/quarantine, failure injection, memguard, the leak scan",
    "out": "what memtype writes out: the dump, the type table, the crash report",
    "proc": "the process's life: bootstrap, fork, exit",
}

# Names of debug state heap code must not test (hooks.h words excepted).
DEBUG_FLAG = re.compile(r"\b(mt_check_\w+|mt_guard_\w+|mt_fail_\w+|mt_leak_\w+|"
                        r"mt_opt\s*\.\s*(?:guard|check|failure|trash|redzone|quarantine|leak)\w*)")
# The fast path's gate (set by the prelude at start, tested when a cache attaches).
HEAP_ALLOWED = {"mt_debug_gate"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')


def allowed(layer):
    return set(LAYERS[:LAYERS.index(layer) + 1])


def sources(core):
    """(path, layer or None) of every C source and header under core/."""
    for dirpath, _, files in os.walk(core):
        rel = os.path.relpath(dirpath, core)
        layer = rel.split(os.sep)[0] if rel != "." else None
        for f in sorted(files):
            if f.endswith((".c", ".h", ".def")):
                yield os.path.join(dirpath, f), layer if layer in LAYERS else None


def check(root):
    core = os.path.join(root, "core")
    errors = []
    files = list(sources(core))
    where = {}
    for path, layer in files:
        where.setdefault(os.path.basename(path), layer)
        if layer is None:
            errors.append("%s: not in a layer folder (core/{%s}/)" %
                          (os.path.relpath(path, root), ",".join(LAYERS)))
    for path, layer in files:
        if layer is None:
            continue
        rel = os.path.relpath(path, root)
        text = open(path, encoding="utf-8", errors="replace").read()
        for m in INCLUDE.finditer(text):
            name = os.path.basename(m.group(1))
            dep = where.get(name)
            if name not in where:
                continue  # not a core file (memtype.h, a test's)
            if dep is None or dep not in allowed(layer):
                line = text.count("\n", 0, m.start()) + 1
                errors.append("%s:%d: includes %s (%s): %s may use only %s" %
                              (rel, line, m.group(1), dep, layer,
                               ", ".join(LAYERS[:LAYERS.index(layer) + 1])))
        if layer == "heap":
            code = STRING.sub('""', COMMENT.sub(lambda c: re.sub(r"[^\n]", " ", c.group(0)), text))
            for m in DEBUG_FLAG.finditer(code):
                if m.group(1) in HEAP_ALLOWED:
                    continue
                line = code.count("\n", 0, m.start()) + 1
                errors.append("%s:%d: heap code names debug state %s: test a hook word "
                              "(heap/hooks.h) and call the prelude instead" % (rel, line, m.group(1)))
    errors += check_cmake(root)
    return errors


def check_cmake(root):
    """core/CMakeLists.txt: mt_<layer> linked to exactly the layer below it."""
    path = os.path.join(root, "core", "CMakeLists.txt")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        return ["%s: %s" % (path, e.strerror)]
    errors = []
    for i, layer in enumerate(LAYERS):
        m = re.search(r"mt_layer\(\s*%s\b([^)]*)\)" % layer, text)
        if m is None:
            errors.append("core/CMakeLists.txt: no mt_layer(%s ...)" % layer)
            continue
        deps = re.search(r"\bDEPS\b([^A-Z)]*)", m.group(1))
        got = set(deps.group(1).split()) if deps else set()
        want = {LAYERS[i - 1]} if i else set()
        if got != want:
            errors.append("core/CMakeLists.txt: layer %s DEPS %s, the graph says %s" %
                          (layer, sorted(got) or "none", sorted(want) or "none"))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    a = ap.parse_args()
    errors = check(a.root)
    for e in errors:
        print(e)
    if not errors:
        print("layers: %s; no include across an undeclared edge, no debug flag in heap code" %
              " <- ".join(LAYERS))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
