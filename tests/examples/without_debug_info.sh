#!/bin/sh
# without_debug_info.sh COMMAND... - runs COMMAND as on a machine without
# separate debug information: /usr/lib/debug (where Debian's -dbg and -dbgsym
# packages, libc6-dbg for one, put it) is hidden under an empty tmpfs in a
# mount namespace of its own; nothing changes outside it. What memtype shows
# must not depend on those packages (frame numbers, the frames of a guard
# fault). Exit 77 (skipped) when it cannot be done here: not root, no
# unshare, or nothing to hide (the plain run is then the same).
set -eu
[ -d /usr/lib/debug ] || { echo "SKIPPED: no /usr/lib/debug on this machine"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIPPED: hiding /usr/lib/debug needs root"; exit 77; }
command -v unshare >/dev/null 2>&1 || { echo "SKIPPED: no unshare"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIPPED: no mount namespace allowed"; exit 77; }
exec unshare -m sh -c 'mount -t tmpfs -o mode=755 none /usr/lib/debug && exec "$@"' sh "$@"
