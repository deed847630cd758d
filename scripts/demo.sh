#!/bin/sh
# demo.sh - the README's first command: installs what is missing, builds
# memtype, runs the demo program under it (`memtype run`: the program's own
# output, then memtype's summary and type table), then prints the report of
# the dump it left (`memtype report --types`), call sites as file:line.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
rm -rf build/demo
mkdir -p build/demo
echo "\$ build/bin/memtype run --output build/demo/memtype.%e.%p.mtd -- build/bin/wordfreq"
build/bin/memtype run --output 'build/demo/memtype.%e.%p.mtd' -- build/bin/wordfreq
echo
echo "\$ build/bin/memtype report --types --sort requests build/demo/*.mtd"
exec build/bin/memtype report --types --sort requests build/demo/*.mtd
