#!/bin/sh
# test.sh - the README's second command, and what CI runs: installs what is
# missing, builds memtype and every test, then runs them all with CTest
# (unit tests, C programs under the preload, real Debian programs, Python
# tests). Exits non-zero when any test fails.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure --timeout 600 "$@"
