#!/usr/bin/env python3
"""build_refuses.py CMAKE BUILD_DIR - the build refuses an include across an
undeclared layer edge: layers_wrong_include (heap code including memguard.h)
fails to compile because the header is not on the heap layer's path, while
layers_right_include (heap code including heap and lower headers) builds."""
import subprocess
import sys


def build(cmake, build_dir, target):
    p = subprocess.run([cmake, "--build", build_dir, "--target", target, "-j1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def main():
    cmake, build_dir = sys.argv[1], sys.argv[2]
    rc, out = build(cmake, build_dir, "layers_right_include")
    if rc != 0:
        print(out)
        print("FAIL: heap code including heap headers does not build (the control)")
        return 1
    rc, out = build(cmake, build_dir, "layers_wrong_include")
    if rc == 0:
        print(out)
        print("FAIL: heap code including memguard.h (a debug header) built")
        return 1
    if "memguard.h" not in out or "No such file" not in out:
        print(out)
        print("FAIL: the build failed, but not for want of memguard.h on the heap's path")
        return 1
    print("the heap layer cannot include memguard.h: %s" %
          next(l for l in out.splitlines() if "memguard.h" in l).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
