#!/usr/bin/env python3
"""mibench_security.py - memtype against valgrind on the heap-bug programs of
mimalloc-bench's security tests (bench/security: one bug each, in the allocator hardening
tests of isoalloc's kind). Python 3 standard library, gcc/g++, git for a git directory.

    python3 bench/mibench_security.py --suite MIMALLOC_BENCH
    python3 bench/mibench_security.py --suite MIMALLOC_BENCH --only 'double_free' --modes run

The suite is not part of memtype: the user names a checkout or a git directory of
https://github.com/daanx/mimalloc-bench; its bench/security directory is copied into
WORKDIR/src. Each C program is built three times, as the suite does, with
ALLOCATION_SIZE 8, 4096 and 262144 (small, medium, large), with the suite's flags
(-fno-inline and friends, so that the bug stays in the binary) and -O2 -g; each C++ one with
4096 and -O0 -g (at -O2 g++ removes a `new` whose block is only deleted, bug and all).

Each program prints NOT_CAUGHT when it reaches its end: a hardened allocator is meant to
stop it before. A debugger that reports and goes on, as valgrind and `memtype run` do,
prints it too; what is judged here is the report, as in bench/peer_suites.py:

  plain     the program alone
  run       memtype run -- PROG   (no flag: its defaults)
  checks    LD_PRELOAD=libmemtype.so MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1
  valgrind  valgrind --leak-check=full

A bug program is caught when the mode reports a heap error; in parentheses, of the kind
its name says (PROGRAMS below). The suite's programs that test a hardening property and
hold no bug (the heap not executable, no address reused at once, fresh blocks zeroed) are
run as correct programs: a heap error reported there is a false report.
impossibly_large_malloc's malloc(-2) is judged a bad size, as valgrind calls it "fishy".
zero_on_malloc reads bytes no one wrote, which only shadow memory sees (valgrind's
"uninitialised value"): it is judged a correct program for the heap-error kinds here.
Results merge into WORKDIR/results.json; the summary goes to --out (default
WORKDIR/summary.md) and its table is printed.
"""

import argparse
import collections
import hashlib
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import peer_suites as ps  # noqa: E402  (classification and the runner are shared)

# Program name (a regex on the file's base name) -> the kinds it is expected to report;
# [] for the programs that hold no heap bug. The first match wins.
PROGRAMS = [
    (r'overflow|underflow', ['overflow']),
    (r'^(read|write)_zero_size', ['overflow']),        # a byte of a 0-byte block
    (r'^(write|zero)_after_free', ['uaf']),
    (r'^double_free', ['badfree']),
    (r'^invalid_free', ['badfree']),
    (r'^invalid_(array_delete|delete_array)', ['mismatch']),
    (r'^delete_type_size_mismatch', ['mismatch', 'size', 'overflow']),  # sized delete of 72 on `new char`
    (r'^impossibly_large_malloc', ['size']),          # malloc(-2): a negative size
    (r'^realloc_reuse', []),   # leaks realloc's block, on purpose or not
    (r'^(executable_heap|malloc_reuse|zero_on_malloc)', []),
]
SIZES = [('small', '8'), ('medium', '4096'), ('large', '262144')]
FLAGS = ['-Wno-free-nonheap-object', '-fno-inline', '-fno-builtin-inline',
         '-fno-inline-small-functions', '-fno-ipa-pure-const']


def expected(base):
    return next((k for rx, k in PROGRAMS if re.search(rx, base)), None)


def cases_of(src):
    """The programs of SRC: one case a program and size (cases, skipped)."""
    cases, skipped = [], []
    for f in sorted(os.listdir(src)):
        base, ext = os.path.splitext(f)
        if ext not in ('.c', '.cc'):
            continue
        expect = expected(base)
        if expect is None:
            skipped.append((base, 'not classified (a new program of the suite?)'))
            continue
        sizes = SIZES if ext == '.c' else [('', '4096')]
        for tag, n in sizes:
            cid = base + ('_' + tag if tag else '')
            cases.append(dict(id=cid, base=base, src=os.path.join(src, f),
                              lang='cxx' if ext == '.cc' else 'c', size=n, args=[],
                              expect=expect, bug=bool(expect), suite='mibench'))
    return cases, skipped


class Runner(ps.Runner):
    """peer_suites' runner with the suite's own build flags and ALLOCATION_SIZE."""

    def build(self, c):
        os.makedirs(self.bindir, exist_ok=True)
        exe = os.path.join(self.bindir, c['id'])
        # C++ at -O0: at -O2 g++ removes a `new` whose block is only deleted (C++14 lets
        # it), and delete_type_size_mismatch's bug with it
        cc = ['g++', '-std=c++17', '-fsized-deallocation', '-O0'] if c['lang'] == 'cxx' else ['gcc', '-O2']
        cmd = cc + ['-g', '-w'] + (FLAGS if c['lang'] == 'c' else []) + \
            ['-DALLOCATION_SIZE=%s' % c['size'], c['src'], '-o', exe]
        with open(c['src'], 'rb') as fh:
            key = hashlib.sha1(repr(cmd).encode() + fh.read()).hexdigest()
        keyfile = exe + '.key'
        if os.path.exists(exe) and os.path.exists(keyfile):
            with open(keyfile) as fh:
                if fh.read() == key:
                    c['build'] = 'ok'
                    return exe
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            c['build'], c['build_err'] = 'no build', ps.first_error(r.stderr)
            return None
        with open(keyfile, 'w') as fh:
            fh.write(key)
        c['build'] = 'ok'
        return exe


def judge(c, mode):
    """A bug program: True when MODE caught it. A correct one: True when MODE reported a
    heap error other than a leak (a false report)."""
    r = c.get('results', {}).get(mode)
    if not r or mode == 'plain':
        return None
    if c['bug']:
        return ps.caught(c, mode)
    return bool(set(r['kinds']) - {'crash', 'other', 'leak'})


def table(cases, modes):
    """Per program (its sizes together): bug programs caught, and in parentheses with the
    kind named; correct programs flagged."""
    judged = [m for m in modes if m != 'plain']
    rows = ['| program | runs | expected | ' + ' | '.join(judged) + ' |',
            '|' + '---|' * (3 + len(judged))]
    per = collections.OrderedDict()
    for c in cases:
        if c.get('build') == 'ok':
            per.setdefault(c['base'], []).append(c)
    for base, cs in per.items():
        cells = [base, str(len(cs)), ','.join(cs[0]['expect']) if cs[0]['bug'] else 'no bug']
        for m in judged:
            if cs[0]['bug']:
                cells.append('%d (%d)' % (sum(1 for c in cs if judge(c, m)),
                                          sum(1 for c in cs if ps.kind_match(c, m))))
            else:
                fr = sum(1 for c in cs if judge(c, m))
                cells.append('%d false' % fr if fr else 'clean')
        rows.append('| ' + ' | '.join(cells) + ' |')
    bugs = [c for c in cases if c.get('build') == 'ok' and c['bug']]
    good = [c for c in cases if c.get('build') == 'ok' and not c['bug']]
    cells = ['**all bug programs**', str(len(bugs)), '']
    for m in judged:
        cells.append('**%d** (%d)' % (sum(1 for c in bugs if judge(c, m)),
                                      sum(1 for c in bugs if ps.kind_match(c, m))))
    rows.append('| ' + ' | '.join(cells) + ' |')
    cells = ['**correct programs: false reports**', str(len(good)), '']
    for m in judged:
        cells.append(str(sum(1 for c in good if judge(c, m))))
    rows.append('| ' + ' | '.join(cells) + ' |')
    return rows


def summary(cases, skipped, meta, modes):
    judged = [m for m in modes if m != 'plain']
    out = ["# memtype against valgrind on mimalloc-bench's security tests", '',
           'Generated by `bench/mibench_security.py` on %s.' % meta['generated'], '',
           '- suite: %s' % meta['source'],
           '- memtype: %s (%s)' % (meta['memtype_version'], meta['lib']),
           '- valgrind: %s' % meta['valgrind'],
           '- %d programs built of %d; %d left out' %
           (sum(1 for c in cases if c.get('build') == 'ok'), len(cases), len(skipped)), '']
    out += table(cases, modes)
    out += ['', '## What each mode said, where it missed or differed', '']
    for c in cases:
        rs = c.get('results', {})
        verdicts = {m: judge(c, m) for m in judged}
        if c['bug'] and all(verdicts.values()) and all(ps.kind_match(c, m) for m in judged):
            continue
        if not c['bug'] and not any(verdicts.values()):
            continue
        out.append('- `%s`: ' % c['id'] + '; '.join(
            '%s: %s' % (m, ','.join(rs[m]['kinds']) or 'nothing') + (' (%s)' % rs[m]['signal'] if rs.get(m, {}).get('signal') else '')
            for m in judged if m in rs))
    if skipped:
        out += ['', '## Left out', ''] + ['- %s: %s' % s for s in skipped]
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--suite', required=True, metavar='DIR',
                    help='mimalloc-bench: a checkout or a git directory')
    ap.add_argument('--build', default=os.path.join(REPO, 'build'),
                    help='memtype build directory (bin/memtype, lib/libmemtype.so); default %(default)s')
    ap.add_argument('--workdir', default='/tmp/mt-mibench', help='sources, binaries, runs, results; default %(default)s')
    ap.add_argument('--only', metavar='REGEX', help='run only the cases whose id matches')
    ap.add_argument('--modes', default='run,checks,valgrind', help='of run,checks,valgrind; default %(default)s')
    ap.add_argument('-j', type=int, default=os.cpu_count() or 2, help='cases run at once; default %(default)s')
    ap.add_argument('--timeout', type=float, default=60, help='seconds a run may take; default %(default)s')
    ap.add_argument('--out', help='markdown summary; default WORKDIR/summary.md')
    ap.add_argument('--render-only', action='store_true', help='rewrite the summary from the kept results, run nothing')
    a = ap.parse_args()

    modes, valgrind, memtype, lib = ps.modes_and_tools(a.modes, a.build, 'mibench_security')
    workdir = os.path.abspath(a.workdir)
    src = os.path.join(workdir, 'src')
    source = ps.copy_tree(a.suite, [''], ['bench/security'], src)
    cases, skipped = cases_of(os.path.join(src, 'bench', 'security'))
    runner = Runner(workdir, memtype, lib, valgrind, a.timeout)
    rpath = os.path.join(workdir, 'results.json')
    ps.merge_kept(rpath, cases)
    byid = {c['id']: c for c in cases}
    sel = [c for c in cases if not a.render_only and (not a.only or re.search(a.only, c['id']))]
    ps.run_selected(runner, sel, modes, byid, a.j, width=40)
    cases = sorted(byid.values(), key=lambda c: c['id'])
    modes_run = [m for m in ['plain'] + ps.JUDGED_MODES if any(m in c.get('results', {}) for c in cases)]
    meta = dict(generated=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), lib=lib, source=source,
                memtype_version=ps.memtype_version(memtype), valgrind=ps.valgrind_version(valgrind))
    out = a.out or os.path.join(workdir, 'summary.md')
    ps.write_results(rpath, meta, skipped, cases, summary(cases, skipped, meta, modes_run), out,
                     table(cases, modes_run))


if __name__ == '__main__':
    main()
