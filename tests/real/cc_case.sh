#!/usr/bin/env bash
# cc_case.sh COMPILER SRC OBJ [flags...]: compile SRC to OBJ with COMPILER
# (which spawns cc1/cc1plus and as: the preload reaches them too), then print
# what was built: size, a digest of the disassembly and of the object bytes.
# Run by run_compare.sh in its work dir, which also compares OBJ byte for byte
# (--compare-tree).
set -euo pipefail
cc=$1 src=$2 obj=$3
shift 3
"$cc" "$@" -c "$src" -o "$obj"
size "$obj"
objdump -d "$obj" | sha256sum
nm "$obj" | wc -l
sha256sum "$obj"
