#!/bin/sh
# demo.sh - the README's first command: installs what is missing, builds
# memtype, and runs the demo program under it (`memtype run`), which prints
# the program's own output and then memtype's summary.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "\$ build/bin/memtype run -- build/bin/wordfreq"
exec build/bin/memtype run -- build/bin/wordfreq
