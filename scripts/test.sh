#!/bin/sh
# test.sh - the README's second command, and what CI runs: installs what is
# missing, builds memtype and every test, then runs them all with CTest
# (unit tests, C programs under the preload, real Debian programs, Python
# tests). Then a Debug build (-O0, MT_ASSERT on: core/'s invariants checked)
# in build-debug/ runs the unit tests and a few named real programs. Exits
# non-zero when any test fails, or when the Debug step finds fewer tests than
# it names (a renamed test must not silently drop out).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure --timeout 600 "$@")

# The Debug step. The real programs: threads (python), checks on with a
# database (sqlite), guard pages with fork and exec (git), a shell (bash).
# stress_short: threads, fork, exec, signals and dlopen at once; its fork mode
# found a slot given back twice in a fork child, which only the assertions see.
DEBUG_REAL="real_checked_python_threads real_checked_sqlite real_guarded_git real_bash stress_short"
cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-debug -j"$(nproc)"
cd build-debug
regex="^($(echo "$DEBUG_REAL" | tr ' ' '|'))\$"
want=$(echo "$DEBUG_REAL" | wc -w)
have=$(ctest -N -R "$regex" | grep -c 'Test *#' || true)
if [ "$have" -ne "$want" ]; then
  echo "test.sh: the Debug step names $want real-program tests, CTest has $have of them" \
    "(ctest -N -R '$regex' in build-debug): renamed or not registered?" >&2
  exit 1
fi
ctest --output-on-failure --timeout 600 --no-tests=error -L '^unit$'
ctest --output-on-failure --timeout 600 --no-tests=error -R "$regex"
