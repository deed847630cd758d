#!/usr/bin/env python3
"""juliet.py - memtype run against valgrind on the heap test cases of NIST's Juliet Test
Suite for C/C++ (SARD, version 1.3). Python 3 standard library, gcc/g++, git for a git
directory.

    python3 bench/juliet.py --juliet JULIET                 # flow variant 01 of each case
    python3 bench/juliet.py --juliet JULIET --only 'CWE416' --modes run

The suite is not part of memtype: the user names a checkout or a git directory of it
(for instance https://github.com/arichardson/juliet-test-suite-c, which adds a build for
Unix). Its testcases of the heap's weaknesses are copied into WORKDIR/src:

  CWE122 heap-based buffer overflow       CWE415 double free
  CWE124 buffer underwrite (heap only)    CWE416 use after free
  CWE126 buffer over-read (heap only)     CWE590 free of memory not on the heap
  CWE127 buffer under-read (heap only)    CWE761 free of a pointer not at the start
  CWE401 memory leak                      CWE762 mismatched memory routines
  CWE680 integer overflow to buffer overflow

Each case (a functional variant: one bug written one way) is built twice, -O0 -g, as the
suite means it: "bad" (-DOMITGOOD: only the flawed function runs) and "good" (-DOMITBAD:
only its corrected look-alikes). By default only flow variant 01 (the bug in straight-line
code) is taken; the other flow variants wrap the same lines in branches, loops and calls
between functions and files (--flows 01,02,... or --flows all). Cases for Windows, and
those whose data comes from a network peer (listen_socket, connect_socket), are left out;
those reading stdin get /dev/null.

Each binary runs under:
  plain     the program alone
  run       memtype run -- PROG   (no flag: its defaults)
  checks    LD_PRELOAD=libmemtype.so MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1
  valgrind  valgrind --leak-check=full

A bad case is caught when the mode reports a heap error (for CWE401, a definite leak);
a good case is a false report when the mode reports a heap error (a leak only in CWE401:
the other CWEs' good functions often leak, on purpose or not, and both tools say so). A bad case valgrind does
not catch either is counted apart ("not triggered"): some variants only go wrong for
input they did not get, or not at all on this platform (wchar_t is 4 bytes here).
Results merge into WORKDIR/results.json; the markdown summary goes to --out
(default WORKDIR/summary.md) and its table is printed.
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

# CWE number -> (what memtype and valgrind are expected to report, the functional
# variants kept: a regex on the variant's name, or None for all)
CWES = {
    122: (['overflow'], None),
    124: (['overflow'], r'malloc|new'),
    126: (['overflow'], r'malloc|new'),
    127: (['overflow'], r'malloc|new'),
    401: (['leak'], None),
    415: (['badfree'], None),
    416: (['uaf'], None),
    590: (['badfree'], None),
    680: (['overflow', 'size'], None),  # a wrapped size: a "fishy" malloc argument, or the overflow
    761: (['badfree'], None),
    762: (['mismatch'], None),
}
LEFT_OUT = [(r'w32|_wchar_t_environment', 'Windows only'),
            (r'listen_socket|connect_socket', 'needs a network peer')]
NAME = re.compile(r'^(CWE(\d+)_[^_].*?__(.+)_(\d\d))([a-e]|_bad|_good\w*)?\.(c|cpp)$')


def cases_of(src, flows):
    """The cases under SRC/testcases: (cases, skipped); a case is one test case's files."""
    groups = collections.OrderedDict()
    skipped = []
    root = os.path.join(src, 'testcases')
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            m = NAME.match(f)
            if not m:
                continue
            base, cwe, variant, flow = m.group(1), int(m.group(2)), m.group(3), m.group(4)
            if cwe not in CWES or (flows and flow not in flows):
                continue
            keep = CWES[cwe][1]
            if keep and not re.search(keep, variant):
                continue
            why = next((w for rx, w in LEFT_OUT if re.search(rx, f)), None)
            if why:
                if base not in [s[0] for s in skipped]:
                    skipped.append((base, why))
                continue
            g = groups.setdefault(base, dict(id=base, cwe=cwe, variant=variant, flow=flow, dir=d, files=[]))
            g['files'].append(f)
    cases = []
    for g in groups.values():
        lang = 'cxx' if any(f.endswith('.cpp') for f in g['files']) else 'c'
        for side in ('bad', 'good'):
            # class-based cases: CASE_bad.cpp and CASE_good1.cpp each hold a main;
            # virtual-based ones (flows 81-84) keep the flawed class in CASE_bad.cpp
            # and the corrected ones in CASE_goodG2B.cpp, CASE_goodB2G.cpp
            files = [f for f in g['files']
                     if not re.search(r'_(bad|good\w*)\.cpp$', f) or
                     re.search(r'_bad\.cpp$' if side == 'bad' else r'_good\w*\.cpp$', f)]
            cases.append(dict(id='%s-%s' % (g['id'], side), base=g['id'], side=side, cwe=g['cwe'],
                              variant=g['variant'], flow=g['flow'], lang=lang,
                              src=[os.path.join(g['dir'], f) for f in files],
                              file=os.path.relpath(os.path.join(g['dir'], files[0]), src),
                              expect=CWES[g['cwe']][0] if side == 'bad' else [], args=[]))
    return cases, skipped


class Runner(ps.Runner):
    """peer_suites' runner with the suite's own build: the case's files and the support
    files (io.c, std_thread.c), -DINCLUDEMAIN, -DOMITGOOD or -DOMITBAD."""

    def __init__(self, workdir, memtype, lib, valgrind, timeout):
        super().__init__(workdir, memtype, lib, valgrind, timeout)
        self.support = os.path.join(workdir, 'src', 'testcasesupport')

    def build(self, c):
        os.makedirs(self.bindir, exist_ok=True)
        exe = os.path.join(self.bindir, c['id'])
        omit = '-DOMITGOOD' if c['side'] == 'bad' else '-DOMITBAD'
        cc = 'g++' if c['lang'] == 'cxx' else 'gcc'
        support = [os.path.join(self.support, f) for f in ('io.c', 'std_thread.c')]
        cmd = [cc, '-O0', '-g', '-w', '-DINCLUDEMAIN', omit, '-I', self.support] + \
            c['src'] + support + ['-o', exe, '-pthread', '-lm']
        if c['lang'] == 'cxx':  # the support files are C
            cmd = [cc, '-O0', '-g', '-w', '-DINCLUDEMAIN', omit, '-I', self.support] + c['src'] + \
                ['-x', 'c'] + support + ['-x', 'none', '-o', exe, '-pthread', '-lm']
        h = hashlib.sha1(repr(cmd).encode())
        for p in c['src']:
            with open(p, 'rb') as fh:
                h.update(fh.read())
        key, keyfile = h.hexdigest(), exe + '.key'
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
    """A bad case: True when MODE caught it. A good case: True when MODE reported a heap
    error (a leak only in CWE401's: the suite's other good functions leak, by the way, and
    valgrind and memtype both say so)."""
    r = c.get('results', {}).get(mode)
    if not r or mode == 'plain':
        return None
    if c['side'] == 'bad':
        return ps.caught(c, mode)
    ignored = {'crash', 'other'} | (set() if c['cwe'] == 401 else {'leak'})
    return bool(set(r['kinds']) - ignored)


def table(cases, modes):
    """The main table: per CWE, bad cases caught (in parentheses: with a report of the kind
    the CWE names) and good cases flagged, per mode."""
    judged = [m for m in modes if m != 'plain']
    head = '| CWE | bad cases | ' + ' | '.join('%s: caught' % m for m in judged) + \
        ' | good cases | ' + ' | '.join('%s: false reports' % m for m in judged) + ' |'
    rows = [head, '|' + '---|' * (3 + 2 * len(judged))]
    per = collections.OrderedDict()
    for c in cases:
        if c.get('build') == 'ok':
            per.setdefault(c['cwe'], []).append(c)
    per['all'] = [c for c in cases if c.get('build') == 'ok']
    for cwe, cs in per.items():
        bad = [c for c in cs if c['side'] == 'bad']
        good = [c for c in cs if c['side'] == 'good']
        cells = ['%s' % cwe if cwe == 'all' else 'CWE%d' % cwe, str(len(bad))]
        for m in judged:
            cells.append('%d (%d)' % (sum(1 for c in bad if judge(c, m)),
                                      sum(1 for c in bad if ps.kind_match(c, m))))
        cells.append(str(len(good)))
        for m in judged:
            cells.append(str(sum(1 for c in good if judge(c, m))))
        rows.append('| ' + ' | '.join(cells) + ' |')
    return rows


def summary(cases, skipped, meta, modes):
    judged = [m for m in modes if m != 'plain']
    out = ['# memtype against valgrind on the Juliet Test Suite\'s heap cases', '',
           'Generated by `bench/juliet.py` on %s.' % meta['generated'], '',
           '- suite: %s' % meta['source'],
           '- memtype: %s (%s)' % (meta['memtype_version'], meta['lib']),
           '- valgrind: %s' % meta['valgrind'],
           '- flow variants: %s; %d cases built of %d (bad and good counted apart); %d left out' %
           (meta['flows'], sum(1 for c in cases if c.get('build') == 'ok'), len(cases), len(skipped)), '']
    out += table(cases, modes)
    out += ['', 'A bad case is caught when the mode reports a heap error; in parentheses, with a report of '
            'the kind its CWE names (an overflow, a use after free, a bad free, a mismatch, a leak): '
            'a stack buffer overflow that ends in a crash at a smashed pointer counts as caught for '
            'valgrind (its "Invalid read" of an address no block holds), not of the kind.', '']
    if 'valgrind' in judged:
        out += ['## Bad cases valgrind reports with the right kind and a memtype mode does not', '']
        for m in judged:
            if m == 'valgrind':
                continue
            miss = [c for c in cases if c['side'] == 'bad' and ps.kind_match(c, 'valgrind') and
                    ps.kind_match(c, m) is False]
            out.append('- %s (%d): %s' % (m, len(miss), ', '.join(c['base'] for c in miss) or 'none'))
        out += ['', '## Bad cases a memtype mode reports with the right kind and valgrind does not', '']
        for m in judged:
            if m == 'valgrind':
                continue
            extra = [c for c in cases if c['side'] == 'bad' and ps.kind_match(c, m) and
                     ps.kind_match(c, 'valgrind') is False]
            out.append('- %s (%d): %s' % (m, len(extra), ', '.join(c['base'] for c in extra) or 'none'))
        nt = [c for c in cases if c['side'] == 'bad' and judge(c, 'valgrind') is False and
              not any(judge(c, m) for m in judged)]
        out += ['', '## Bad cases no mode catches (%d)' % len(nt), '',
                ', '.join(c['base'] for c in nt) or 'none', '']
    out += ['## False reports on good cases', '']
    for m in judged:
        fr = [c for c in cases if c['side'] == 'good' and judge(c, m)]
        out.append('- %s (%d): %s' % (m, len(fr), '; '.join(
            '%s (%s)' % (c['base'], ','.join(c['results'][m]['kinds'])) for c in fr) or 'none'))
    bad_exit = [c for c in cases if c['side'] == 'good' and c.get('results', {}).get('run') and
                c['results'].get('plain') and c['results']['run'].get('signal') and not c['results']['plain'].get('signal')]
    out += ['', '## Good cases that died under `memtype run` and not alone (%d)' % len(bad_exit), '',
            ', '.join(c['base'] for c in bad_exit) or 'none', '']
    if skipped:
        why = collections.Counter(w for _, w in skipped)
        out += ['## Left out', ''] + ['- %s: %d cases' % (w, n) for w, n in why.items()] + ['']
    return '\n'.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--juliet', required=True, metavar='DIR',
                    help='the Juliet Test Suite for C/C++: a checkout or a git directory')
    ap.add_argument('--build', default=os.path.join(REPO, 'build'),
                    help='memtype build directory (bin/memtype, lib/libmemtype.so); default %(default)s')
    ap.add_argument('--workdir', default='/tmp/mt-juliet', help='sources, binaries, runs, results; default %(default)s')
    ap.add_argument('--flows', default='01', help="flow variants, comma-separated, or 'all'; default %(default)s")
    ap.add_argument('--only', metavar='REGEX', help='run only the cases whose id matches')
    ap.add_argument('--modes', default='run,valgrind', help='of run,checks,valgrind; default %(default)s')
    ap.add_argument('-j', type=int, default=os.cpu_count() or 2, help='cases run at once; default %(default)s')
    ap.add_argument('--timeout', type=float, default=30, help='seconds a run may take; default %(default)s')
    ap.add_argument('--out', help='markdown summary; default WORKDIR/summary.md')
    ap.add_argument('--list', action='store_true', help='list the cases, run nothing')
    ap.add_argument('--render-only', action='store_true', help='rewrite the summary from the kept results, run nothing')
    a = ap.parse_args()

    modes, valgrind, memtype, lib = ps.modes_and_tools(a.modes, a.build, 'juliet')
    workdir = os.path.abspath(a.workdir)
    src = os.path.join(workdir, 'src')
    dirs = ['testcasesupport'] + ['testcases/' + d for d in juliet_dirs(a.juliet)]
    source = ps.copy_tree(a.juliet, [''], dirs, src)
    flows = None if a.flows == 'all' else set(a.flows.split(','))
    cases, skipped = cases_of(src, flows)
    if a.list:
        for c in cases:
            print(c['id'], ' '.join(os.path.basename(s) for s in c['src']))
        print('%d cases (bad and good), %d left out' % (len(cases), len(skipped)))
        return
    runner = Runner(workdir, memtype, lib, valgrind, a.timeout)
    rpath = os.path.join(workdir, 'results.json')
    ps.merge_kept(rpath, cases)
    byid = {c['id']: c for c in cases}
    sel = [c for c in cases if not a.render_only and (not a.only or re.search(a.only, c['id']))]
    ps.run_selected(runner, sel, modes, byid, a.j, width=70)
    cases = sorted(byid.values(), key=lambda c: c['id'])
    modes_run = [m for m in ['plain'] + ps.JUDGED_MODES if any(m in c.get('results', {}) for c in cases)]
    meta = dict(generated=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), lib=lib, source=source,
                memtype_version=ps.memtype_version(memtype), valgrind=ps.valgrind_version(valgrind),
                flows=a.flows)
    out = a.out or os.path.join(workdir, 'summary.md')
    ps.write_results(rpath, meta, skipped, cases, summary(cases, skipped, meta, modes_run), out,
                     table(cases, modes_run))


def juliet_dirs(source):
    """The testcases/ directories of the CWEs kept, as the suite names them."""
    if os.path.isdir(os.path.join(source, 'testcases')):
        names = os.listdir(os.path.join(source, 'testcases'))
    else:
        r = subprocess.run(['git', '-C', source, 'ls-tree', '--name-only', 'HEAD:testcases'],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit('juliet: %s holds no testcases/ (give a checkout or a git directory of the suite)' % source)
        names = r.stdout.split()
    keep = sorted(n for n in names if re.match(r'CWE(\d+)_', n) and int(re.match(r'CWE(\d+)_', n).group(1)) in CWES)
    if not keep:
        sys.exit('juliet: %s/testcases holds none of CWE %s' % (source, ', '.join(map(str, CWES))))
    return keep


if __name__ == '__main__':
    main()
