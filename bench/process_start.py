#!/usr/bin/env python3
"""process_start.py - what memtype costs a short process: its start (the
preload's set-up, the first allocations' call-site types, the symbol tables
they load) and its exit (the dump, the leak scan), per process, against
glibc's malloc. Shell scripts, build systems and test suites start thousands
of processes that live a few milliseconds; this is their cost.

    python3 bench/process_start.py                      # build/lib/libmemtype.so
    python3 bench/process_start.py --lib NEW.so --before-lib OLD.so --rounds 7

Each program (true, sed, sort, grep, python3 -c pass) runs --count times in a
row per measurement, in every mode, the modes interleaved round by round; a
cell is the median over the rounds of the CPU time (user + system, from
wait4) per process, in milliseconds: CPU time rather than wall time, since
another process on a shared machine steals wall time but not CPU time.
Modes: glibc; memtype (plain LD_PRELOAD, MEMTYPE_OUTPUT=off: the profiling
mode without a dump); memtype, dump (the dump written at exit, as plain
LD_PRELOAD does by default); memtype run's defaults (the environment `memtype
run` gives a child: checks, guard pages, leak scan, 16-frame stacks, a dump).
With --before-lib, each memtype mode runs with both libraries. Python 3
standard library only."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

PROGRAMS = [
    ('true', ['true']),
    ('sed', ['sed', 's/x/y/']),
    ('sort', ['sort']),
    ('grep', ['grep', 'x']),
    ('python3 -c pass', ['/usr/bin/python3', '-c', 'pass']),
]


def modes(lib, tag, dumps):
    base = {'LD_PRELOAD': lib}
    run = dict(base, MEMTYPE_TRASH='1', MEMTYPE_REDZONE='1', MEMTYPE_GUARD='*', MEMTYPE_LEAKS='1',
               MEMTYPE_STACK_DEPTH='16', MEMTYPE_ON_ERROR='continue', MEMTYPE_BYPASS_POOLS='1',
               MEMTYPE_OUTPUT=os.path.join(dumps, '%e.%p.mtd'))
    return [('memtype%s' % tag, dict(base, MEMTYPE_OUTPUT='off')),
            ('memtype%s, dump' % tag, dict(base, MEMTYPE_OUTPUT=os.path.join(dumps, '%e.%p.mtd'))),
            ("memtype run's defaults%s" % tag, run)]


def cpu_ms(argv, env, count):
    """CPU time (user + system) per run of argv, in ms, over count runs."""
    total = 0.0
    for _ in range(count):
        with open(os.devnull, 'rb') as i, open(os.devnull, 'wb') as o:
            p = subprocess.Popen(argv, env=env, stdin=i, stdout=o, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) not in (0, 1):  # grep finds nothing: 1
            sys.exit('process_start: %s failed (%s)' % (' '.join(argv), status))
        total += ru.ru_utime + ru.ru_stime
    return total * 1000.0 / count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--lib', default=os.path.join(REPO, 'build', 'lib', 'libmemtype.so'))
    ap.add_argument('--before-lib', help='a second library, its modes run beside --lib\'s')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--count', type=int, default=20, help='processes per measurement')
    a = ap.parse_args()
    dumps = tempfile.mkdtemp(prefix='mt-start.')
    try:
        env0 = {k: v for k, v in os.environ.items()
                if not k.startswith(('MEMTYPE_', 'LD_PRELOAD', 'MALLOC_', 'PYTHONMALLOC'))}
        ms = [('glibc', {})] + modes(os.path.abspath(a.lib), '', dumps)
        if a.before_lib:
            ms += modes(os.path.abspath(a.before_lib), ' (before)', dumps)
        cells = {}
        for r in range(a.rounds):
            for pname, argv in PROGRAMS:
                for mname, add in ms:
                    env = dict(env0, **add)
                    cells.setdefault((pname, mname), []).append(cpu_ms(argv, env, a.count))
            for f in os.listdir(dumps):
                os.unlink(os.path.join(dumps, f))
            print('round %d of %d' % (r + 1, a.rounds), file=sys.stderr)
        print('CPU time per process, ms (median of %d rounds of %d processes)\n' % (a.rounds, a.count))
        print('| program | ' + ' | '.join(m for m, _ in ms) + ' |')
        print('|---|' + '---:|' * len(ms))
        for pname, _ in PROGRAMS:
            print('| %s | ' % pname + ' | '.join('%.2f' % statistics.median(cells[(pname, m)])
                                                  for m, _ in ms) + ' |')
    finally:
        shutil.rmtree(dumps, ignore_errors=True)


if __name__ == '__main__':
    main()
