#!/usr/bin/env python3
"""peer_suites.py - how many heap-bug programs of two peers' public test suites memtype
catches, beside valgrind. Python 3 standard library, gcc/g++, git for a git directory.

    python3 bench/peer_suites.py --asan LLVM/compiler-rt --memcheck VALGRIND
    python3 bench/peer_suites.py ... --only 'strndup|badrw' --modes run   # a few again

The suites are not part of memtype: the user names a checkout or a git directory of
llvm compiler-rt (test/asan/TestCases) and of valgrind (memcheck/tests); their files
are copied into WORKDIR/src. Each case is a program of those suites, built with
gcc/g++ -O0 -g -w into WORKDIR/bin and run in WORKDIR/runs/CASE/MODE under:

  plain     the program alone (what the others' exit status and stdout are held to)
  run       memtype run -- PROG            (its defaults: checks, guard pages, leak scan)
  checks    LD_PRELOAD=libmemtype.so MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1
  valgrind  valgrind --leak-check=full

Results merge into WORKDIR/results.json (so --only runs a subset again); the markdown
summary is rewritten from it (--out, default WORKDIR/summary.md) and its main table
printed. bench/README.md, section "Detection against peers' test suites", says how
cases are chosen and judged and what the figures do not say.
"""

import argparse
import collections
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

JUDGED_MODES = ['run', 'checks', 'valgrind']
# The kinds of heap error a case can expect; a report is reduced to these (plus
# 'wild', 'crash' and 'other', which no case expects).
HEAP_KINDS = ['overflow', 'uaf', 'badfree', 'mismatch', 'size', 'leak', 'overlap']
SUITES = ['asan', 'memcheck']
CLEAN_SUITES = ['asan-clean', 'memcheck-clean']


# ---------------------------------------------------------------- sources

def _git_dir(path):
    """True when PATH is a git directory (bare or not) that `git archive` can read."""
    r = subprocess.run(['git', '-C', path, 'rev-parse', '--git-dir'], capture_output=True, text=True)
    return r.returncode == 0


def copy_tree(source, prefixes, paths, dest):
    """Copies the directories PATHS (relative to the project's root) from SOURCE into DEST.

    SOURCE is a checkout or a git directory (its HEAD is read with `git archive`); the
    project's root is SOURCE itself or SOURCE/PREFIX for the first PREFIX holding
    PATHS[0] (so llvm-project or its compiler-rt both do). Returns a line naming what
    was read, or raises SystemExit saying what is missing."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for prefix in prefixes:
        if os.path.isdir(os.path.join(source, prefix, paths[0])):
            for p in paths:
                shutil.copytree(os.path.join(source, prefix, p), os.path.join(dest, p), symlinks=True)
            return '%s (checkout)' % os.path.join(source, prefix)
    if _git_dir(source):
        head = subprocess.run(['git', '-C', source, 'rev-parse', 'HEAD'],
                              capture_output=True, text=True).stdout.strip()
        for prefix in prefixes:
            full = [os.path.join(prefix, p) for p in paths]
            ls = subprocess.run(['git', '-C', source, 'ls-tree', '--name-only', 'HEAD', full[0].rstrip('/')],
                                capture_output=True, text=True).stdout
            if not ls.strip():
                continue
            strip = ['--strip-components=%d' % len(prefix.strip('/').split('/'))] if prefix else []
            # git's complaints are shown only if it fails (a partial mirror warns about
            # objects outside PATHS)
            with tempfile.TemporaryFile() as errors:
                archive = subprocess.Popen(['git', '-C', source, 'archive', 'HEAD'] + full,
                                           stdout=subprocess.PIPE, stderr=errors)
                subprocess.run(['tar', '-x', '-C', dest] + strip, stdin=archive.stdout, check=True)
                archive.stdout.close()
                if archive.wait() != 0:
                    errors.seek(0)
                    sys.exit('peer_suites: git archive failed in %s:\n%s' % (source, errors.read().decode(errors='replace')))
            return '%s at %s' % (os.path.join(source, prefix), head[:12])
    sys.exit('peer_suites: %s holds no %s (give a checkout or a git directory)' % (source, paths[0]))


# Enough of valgrind's config.h for its tests to build with gcc on Linux amd64
# (the real one is made by its configure).
MEMCHECK_CONFIG_H = ('/* minimal config.h for valgrind tests, gcc on Linux amd64 */\n'
                     '#define VGO_linux 1\n#define VGA_amd64 1\n#define VGP_amd64_linux 1\n'
                     '#define HAVE_MEMALIGN 1\n')


def extract_sources(asan_src, memcheck_src, srcdir):
    """Copies both suites into SRCDIR; returns (asan dir, memcheck dir, origin lines)."""
    asan_root = os.path.join(srcdir, 'asan')
    mc_root = os.path.join(srcdir, 'memcheck')
    origins = [
        'ASan: ' + copy_tree(asan_src, ['', 'compiler-rt/'], ['test/asan/TestCases'], asan_root),
        'memcheck: ' + copy_tree(memcheck_src, [''], ['memcheck/tests', 'tests'], mc_root),
    ]
    with open(os.path.join(mc_root, 'config.h'), 'w') as f:
        f.write(MEMCHECK_CONFIG_H)
    return os.path.join(asan_root, 'test/asan/TestCases'), os.path.join(mc_root, 'memcheck/tests'), origins


def case_id(prefix, rel, variant):
    """A file-name-safe id: PREFIX.FILE[.VARIANT] (VARIANT: defines and arguments)."""
    base = re.sub(r'[^\w]+', '_', rel.rsplit('.', 1)[0])
    tag = '_'.join(re.sub(r'[^\w]+', '', x) for x in variant)
    return prefix + '.' + base + ('.' + tag[:40] if tag else '')


# ---------------------------------------------------------------- the ASan suite
# A case is one (file, -D defines, program arguments) that a RUN line runs. Under
# `not %run` it is a bug case if its FileCheck lines name a heap error (ASAN_KINDS);
# under a bare `%run` with no ASan options it is a clean case.

ASAN_KINDS = [  # (regex on a CHECK line, kind)
    (r'heap-buffer-overflow|bytes (to the )?right of|bytes (to the )?left of|bytes after|-byte region', 'overflow'),
    (r'(?<!stack-)use-after-free|freed by thread|bytes inside of', 'uaf'),
    (r'double-free|not malloc\(\)-ed|bad-free|free on address', 'badfree'),
    (r'alloc-dealloc-mismatch|new-delete-type-mismatch', 'mismatch'),
    (r'calloc-overflow|allocation-size-too-big|requested allocation size|negative-size-param|'
     r'invalid-allocation-alignment|invalid-aligned-alloc|invalid-posix-memalign|pvalloc-overflow|'
     r'reallocarray-overflow|out-of-memory|allocator is out of memory', 'size'),
    (r'LeakSanitizer|detected memory leaks|Direct leak', 'leak'),
    (r'param-overlap|overlapping', 'overlap'),
]
# Errors outside the heap, or found only by compiler instrumentation.
ASAN_NOT_HEAP = (r'stack-buffer|stack-use-after|global-buffer|use-after-return|container-overflow|'
                 r'odr-violation|initialization-order|use-after-poison|invalid-pointer-pair|'
                 r'dynamic-stack|intra-object|stack-overflow|use-after-scope')
# When the CHECK lines name no error, the file's name may.
ASAN_NAME_KINDS = [(r'heap-overflow|oob', 'overflow'), (r'use-after-free|uaf', 'uaf'),
                   (r'double-free|invalid-free', 'badfree'), (r'leak', 'leak')]
ASAN_FLAGS_KEPT = r'(-std=\S+|-pthread|-lm|-fno-exceptions|-fsized-deallocation|-fno-sized-deallocation|-faligned-allocation)'


def asan_kinds(lines):
    """The heap-error kinds named by CHECK lines, in order of first mention."""
    kinds = []
    for line in lines:
        for rx, kind in ASAN_KINDS:
            if re.search(rx, line) and kind not in kinds:
                kinds.append(kind)
    return kinds


def lit_run_lines(text):
    """The RUN: commands of a lit test, continuation lines joined."""
    runs, cur = [], ''
    for line in text.splitlines():
        m = re.match(r'\s*//\s*RUN:\s?(.*)$', line)
        if not m:
            continue
        s = m.group(1)
        if s.rstrip().endswith('\\'):
            cur += s.rstrip()[:-1] + ' '
            continue
        runs.append(cur + s)
        cur = ''
    return runs


def lit_check_lines(text):
    """{prefix: [pattern]} of the FileCheck lines (CHECK-NOT lines left out)."""
    checks = {}
    for line in text.splitlines():
        m = re.match(r'\s*//\s*([A-Za-z0-9_-]+?)(-NEXT|-NOT|-DAG|-SAME|-LABEL|-EMPTY)?:\s*(.*)$', line)
        if m and m.group(1) not in ('RUN', 'REQUIRES', 'UNSUPPORTED', 'XFAIL') and m.group(2) != '-NOT':
            checks.setdefault(m.group(1), []).append(m.group(3))
    return checks


def asan_file_variants(rel, text):
    """The runs of one ASan test file: (variants, skipped).

    A variant is a dict (file, defines, extra, lang, args, prefixes, kinds, not_heap, env,
    checks, clean, so); skipped is [(file, reason)] for a file that uses ASan's own API,
    options found only by instrumentation, or a build of several objects or tools."""
    if re.search(r'\b__(asan|lsan|sanitizer|msan|interceptor)_\w+\s*\(|ASAN_POISON|ASAN_UNPOISON', text):
        return [], [(rel, 'asan API / feature test')]
    runs = lit_run_lines(text)
    if re.search(r'detect_invalid_pointer_pair|asan-detect-invalid-pointer-pair|detect_container_overflow', text):
        return [], [(rel, 'instrumentation-only check (pointer pairs / containers)')]
    so = None  # flags of a helper shared library built from the same file
    for r in runs:
        mso = re.search(r'%clang(?:xx)?\s+(.*?)\s*%s\s+-o\s+%t\.so', r)
        if mso and '-shared' in mso.group(1):
            so = [x for x in mso.group(1).split() if x not in ('-shared', '-fPIC')]
    if re.search(r'%dynamiclib|%shared_libasan|%sancov|%asan_symbolize|%clangxx_asan_static|'
                 r'%ld_flags_rpath|%p/|%xdynamiclib|%libdl', ' '.join(runs)):
        return [], [(rel, 'multi-object / tool build')]
    checklines = lit_check_lines(text)
    outputs = {}  # %t name -> (defines, kept flags, language)
    seen = set()
    variants = []
    for r in runs:
        for part in re.split(r'&&|;', r):
            part = part.strip()
            mc = re.search(r'%clang(xx)?_asan\b(.*)', part)
            if mc:
                args = mc.group(2)
                mo = re.search(r'-o\s+(%t\S*)', args)
                if not mo or '%s' not in args:
                    continue
                if '%t.so' in args.replace(mo.group(0), '') and not so:
                    continue
                defs = tuple(d.replace(' ', '') for d in re.findall(r'(-D\s*\S+)', args))
                if any('%' in d for d in defs):
                    continue
                extra = tuple(re.findall(ASAN_FLAGS_KEPT, args))
                outputs[mo.group(1)] = (defs, extra, 'c' if mc.group(1) is None else 'cxx')
                continue
            clean = bool(re.match(r'%run\s+(%t\S*)(.*)', part)) and not re.search(r'%env|not ', r)
            mr = (re.search(r'(?<![\w-])not\s+(--crash\s+)?(%env_asan_opts=\S+\s+)?%run\s+(%t\S*)(.*)', part)
                  or re.search(r'(%env_asan_opts=\S+\s+)?not\s+(--crash\s+)?%run\s+(%t\S*)(.*)', part))
            if not mr and clean:
                mr = re.match(r'()()%run\s+(%t\S*)(.*)', part)
            if not mr or mr.group(3) not in outputs:
                continue
            rest = re.split(r'\s2>|\s>|\||<', ' ' + mr.group(4))[0].strip()
            try:
                pargs = shlex.split(rest)
            except ValueError:
                pargs = rest.split()
            if any('%' in a for a in pargs):
                continue
            prefixes = []
            for p in re.findall(r'--?check-prefix(?:es)?[= ]+([\w,%-]+)', r[r.find(part):]):
                prefixes += [x.replace('%os', 'Linux') for x in p.split(',')]
            prefixes = prefixes or ['CHECK']
            clines = [l for p in prefixes for l in checklines.get(p, [])]
            defs, extra, lang = outputs[mr.group(3)]
            key = (defs, tuple(pargs), clean)
            if key in seen:
                continue
            seen.add(key)
            kinds = asan_kinds(clines)
            if not kinds:
                kinds = next(([k] for rx, k in ASAN_NAME_KINDS if re.search(rx, os.path.basename(rel))), [])
            variants.append(dict(file=rel, defines=list(defs), extra=list(extra), lang=lang, args=pargs,
                                 prefixes=prefixes, kinds=kinds,
                                 not_heap=any(re.search(ASAN_NOT_HEAP, l) for l in clines),
                                 env=(mr.group(2) or '').strip(), checks=clines[:8], clean=clean,
                                 so=so if so and '%t.so' in r + ' '.join(runs) else None))
    return variants, []


def asan_judge(v):
    """Turns a variant into a case (suite asan or asan-clean), or a skip reason."""
    if v['clean']:
        if v['kinds'] or v['not_heap'] or re.search(r'leak|Leak|ERROR', ' '.join(v['checks'])):
            return None, None  # a run that checks some output of a bug: not a clean program
        v.update(suite='asan-clean', expect=[], id=case_id('asanclean', v['file'], v['defines'] + v['args']))
        return v, None
    if not v['kinds']:
        return None, 'not a heap error' if v['not_heap'] or v['checks'] else 'no error named in CHECK lines'
    if (v['not_heap'] or any(re.search(r'global|stack|intra-object', l) for l in v['checks'])) and \
            not any(re.search(r'heap|allocated by thread|freed by thread|malloc|new|Leak|leak|free', l)
                    for l in v['checks']):
        return None, 'stack/global error'
    v.update(suite='asan', expect=v['kinds'], id=case_id('asan', v['file'], v['defines'] + v['args']))
    return v, None


def asan_cases(adir):
    """Cases of test/asan/TestCases and its Linux/ and Posix/ directories: (cases, skipped)."""
    cases, skipped = [], []
    for sub in ['', 'Linux', 'Posix']:
        d = os.path.join(adir, sub)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith(('.c', '.cc', '.cpp')):
                continue
            rel = os.path.join(sub, f) if sub else f
            with open(os.path.join(adir, rel), errors='replace') as fh:
                variants, skip = asan_file_variants(rel, fh.read())
            skipped += skip
            for v in variants:
                case, reason = asan_judge(v)
                if case:
                    case['src'] = os.path.join(adir, rel)
                    cases.append(case)
                elif reason:
                    name = rel if reason == 'stack/global error' else ' '.join([rel] + v['defines'] + v['args'])
                    skipped.append((name, reason))
    ids = collections.Counter()
    for c in cases:  # two variants may reduce to one id
        ids[c['id']] += 1
        if ids[c['id']] > 1:
            c['id'] += '.%d' % (ids[c['id']] - 1)
    return cases, skipped


# ---------------------------------------------------------------- the memcheck suite
# A case is one .vgtest (program and arguments; another .vgtest running the same
# program with the same arguments is an alias). It is a bug case when its expected
# stderr names a heap error (mc_kinds), a clean case when it names no error at all.

# valgrind options that do not change what a program does or which heap errors exist.
MC_SAFE_OPTS = re.compile(r'^(-q|-s|-v|--leak-check=\S+|--leak-resolution=\S+|--show-reachable=\S+|'
                          r'--show-leak-kinds=\S+|--errors-for-leak-kinds=\S+|--num-callers=\S+|'
                          r'--keep-stacktraces=\S+|--track-origins=\S+|--error-markers=\S+|'
                          r'--show-possibly-lost=\S+|--fullpath-after=\S+|--suppressions=darwin\.supp|'
                          r'--partial-loads-ok=no|--read-var-info=\S+|--vex-\S+|--px-\S+|'
                          r'--valgrind-stacksize=\S+|--undef-value-errors=\S+|--xml=\S+|--xml-fd=\S+|'
                          r'--log-file=\S+|--child-silent-after-fork=\S+|--exit-on-first-error=\S+|'
                          r'--error-exitcode=\S+|--suppressions=\S+|--leak-check-heuristics=\S+|'
                          r'--show-mismatched-frees=yes)$')
MC_ANY_ERROR = (r'Invalid|Mismatched|lost|uninitialised|Conditional|Syscall param|Warning|'
                r'overlap|fishy|Use of|Address 0x|Process terminating|error')


def mc_kinds(text):
    """The heap-error kinds named in an expected memcheck stderr."""
    tests = [
        ('overflow', r'bytes (after|before) a block'),
        ('uaf', r"inside a block of size \d+ free'd"),
        ('badfree', r'Invalid (free\(\)|delete|realloc)'),
        ('mismatch', r'Mismatched (free|new)'),
        ('size', r'fishy|negative'),
        ('leak', r'(are|is) definitely lost in loss record'),
        ('overlap', r'Source and destination overlap'),
    ]
    kinds = [k for k, rx in tests if re.search(rx, text)]
    if 'uaf' in kinds and not re.search(r'Invalid (read|write)', text):
        kinds.remove('uaf')  # a freed block named by another error (an invalid free)
    return kinds


def mc_expected_stderr(mdir, name, files):
    """The expected stderr of test NAME: its Linux/glibc/64-bit variants, else its first."""
    wanted = [name + s for s in ('.stderr.exp', '.stderr.exp-glibc', '.stderr.exp-linux', '.stderr.exp-64bit')]
    chosen = [f for f in files if f in wanted] or [f for f in files if f.startswith(name + '.stderr.exp')][:1]
    text = ''
    for f in chosen:
        with open(os.path.join(mdir, f), errors='replace') as fh:
            text += fh.read()
    return text


def mc_cases(mdir):
    """Cases of memcheck/tests: (cases, skipped)."""
    files = sorted(os.listdir(mdir))
    cases, skipped, seen = [], [], {}
    for vg in files:
        if not vg.endswith('.vgtest'):
            continue
        name = vg[:-len('.vgtest')]
        meta = {}
        with open(os.path.join(mdir, vg), errors='replace') as fh:
            for line in fh:
                m = re.match(r'^(\w+):\s*(.*)$', line.rstrip())
                if m:
                    meta[m.group(1)] = m.group(2)
        prog = meta.get('prog', '')
        vgopts = meta.get('vgopts', '')
        exp = mc_expected_stderr(mdir, name, files)
        kinds = mc_kinds(exp)
        clean = not kinds
        if clean:
            if (not exp and '-q' not in vgopts.split()) or re.search(MC_ANY_ERROR, exp, re.I):
                continue  # an error of another kind, or nothing known
            if re.search(r'--suppressions=(?!darwin)', vgopts):
                continue  # clean only because its errors are suppressed
        src = next((prog + e for e in ('.cpp', '.c') if os.path.exists(os.path.join(mdir, prog + e))), None)
        if not src:
            skipped.append((vg, 'no C/C++ source for prog ' + prog))
            continue
        with open(os.path.join(mdir, src), errors='replace') as fh:
            if re.search(r'valgrind\.h|memcheck\.h|VALGRIND_', fh.read()):
                skipped.append((vg, 'client requests (valgrind.h/memcheck.h)'))
                continue
        bad = [o for o in vgopts.split() if not MC_SAFE_OPTS.match(o)]
        if bad:
            skipped.append((vg, 'needs valgrind options: ' + ' '.join(bad)))
            continue
        args = meta.get('args', '')
        if (prog, args) in seen:
            seen[(prog, args)]['alias'].append(vg)
            continue
        try:
            pargs = shlex.split(args)
        except ValueError:
            pargs = args.split()
        c = dict(id=('mcclean.' if clean else 'mc.') + name, suite='memcheck-clean' if clean else 'memcheck',
                 file=vg, prog=prog, src=os.path.join(mdir, src), lang='cxx' if src.endswith('.cpp') else 'c',
                 defines=[], extra=[], args=pargs, expect=kinds, vgopts=vgopts, alias=[])
        seen[(prog, args)] = c
        cases.append(c)
    return cases, skipped


# ---------------------------------------------------------------- build and run

class Runner:
    """Builds and runs cases in WORKDIR with the memtype of BUILD (bin/memtype, lib/libmemtype.so)."""

    def __init__(self, workdir, memtype, lib, valgrind, timeout):
        self.workdir, self.memtype, self.lib, self.valgrind, self.timeout = workdir, memtype, lib, valgrind, timeout
        self.bindir = os.path.join(workdir, 'bin')
        self.mc_root = os.path.join(workdir, 'src', 'memcheck')

    def build(self, c):
        """Builds case C once (again when its command or source changes): the binary, or None
        with c['build_err'] set. c['build'] becomes 'ok' or 'no build'."""
        os.makedirs(self.bindir, exist_ok=True)
        exe = os.path.join(self.bindir, c['id'])
        cc = 'g++' if c['lang'] == 'cxx' else 'gcc'
        flags = ['-O0', '-g', '-w', '-I', os.path.dirname(c['src'])]
        if c['suite'].startswith('memcheck'):  # tests/malloc.h, config.h
            flags += ['-I', self.mc_root, '-I', os.path.join(self.mc_root, 'memcheck')]
        steps = []
        pre = []
        if c.get('so'):
            steps.append([cc, '-fPIC', '-shared', '-w', '-g'] + c['so'] + [c['src'], '-o', exe + '.so'])
            pre = [exe + '.so', '-Wl,-rpath,' + self.bindir]
        kept = [x for x in c['extra'] if x.startswith(('-std', '-fsized', '-fno-sized', '-faligned'))]
        cmd = [cc] + flags + c['defines'] + kept + [c['src']] + pre + ['-o', exe, '-pthread', '-lm', '-ldl']
        with open(c['src'], 'rb') as fh:
            key = hashlib.sha1(repr(steps + [cmd]).encode() + fh.read()).hexdigest()
        keyfile = exe + '.key'
        if os.path.exists(exe) and os.path.exists(keyfile):
            with open(keyfile) as fh:
                if fh.read() == key:
                    c['build'] = 'ok'
                    return exe
        for step in steps:
            r = subprocess.run(step, capture_output=True, text=True)
            if r.returncode:
                c['build'], c['build_err'] = 'no build', 'helper .so: ' + first_error(r.stderr)
                return None
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode and c['lang'] == 'c':  # old C
            r = subprocess.run(cmd[:1] + ['-fpermissive', '-std=gnu89'] + cmd[1:], capture_output=True, text=True)
        if r.returncode:
            c['build'], c['build_err'] = 'no build', first_error(r.stderr)
            return None
        with open(keyfile, 'w') as fh:
            fh.write(key)
        c['build'] = 'ok'
        return exe

    def command(self, mode, exe, args):
        """(argv, environment additions) of MODE."""
        if mode == 'run':
            return [self.memtype, 'run', '--', exe] + args, {}
        if mode == 'checks':
            return [exe] + args, {'LD_PRELOAD': self.lib, 'MEMTYPE_TRASH': '1', 'MEMTYPE_REDZONE': '1'}
        if mode == 'valgrind':
            return [self.valgrind, '--leak-check=full', '--error-exitcode=99', exe] + args, {}
        return [exe] + args, {}

    def run_mode(self, c, exe, mode):
        """Runs case C under MODE in runs/ID/MODE (stdout, stderr kept there); its result."""
        d = self.run_dir(c['id'], mode)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        argv, add = self.command(mode, exe, c['args'])
        env = clean_env()
        env.update(add)
        t0 = time.time()
        try:
            p = subprocess.run(argv, cwd=d, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=self.timeout)
            rc, out, err, timed_out = p.returncode, p.stdout, p.stderr, False
        except subprocess.TimeoutExpired as e:
            rc, out, err, timed_out = None, e.stdout or b'', e.stderr or b'', True
        secs = time.time() - t0
        out, err = out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
        for name, text in (('stdout', out), ('stderr', err)):
            with open(os.path.join(d, name), 'w') as fh:
                fh.write(text)
        res = dict(rc=rc, timeout=timed_out, secs=round(secs, 2), stdout_len=len(out), stdout_hash=stdout_hash(out))
        res.update(classify(mode, err, rc))
        return res

    def run_dir(self, cid, mode):
        return os.path.join(self.workdir, 'runs', cid, mode)

    def run_case(self, c, modes):
        """Builds C and runs it under MODES; returns the case with its results (those of
        modes not run this time kept)."""
        res = dict(c)
        res['results'] = dict(c.get('results', {}))
        res.pop('build_err', None)
        exe = self.build(res)
        if exe:
            for m in modes:
                res['results'][m] = self.run_mode(res, exe, m)
        return res

    def leak_summary(self, cid):
        """The leak summary `memtype report --leaks` gives of the run mode's dump, or ''."""
        dumps = sorted(glob.glob(os.path.join(self.run_dir(cid, 'run'), 'memtype-run.*', '*.mtd')))
        if not dumps:
            return ''
        r = subprocess.run([self.memtype, 'report', '--leaks', dumps[0]], capture_output=True, text=True,
                           timeout=60, env=clean_env())
        m = re.search(r'leak summary: (.*)', r.stdout + r.stderr)
        return m.group(1).strip() if m else ''

    def stderr(self, cid, mode):
        p = os.path.join(self.run_dir(cid, mode), 'stderr')
        if not os.path.exists(p):
            return ''
        with open(p, errors='replace') as fh:
            return fh.read()


def first_error(text):
    """The compiler's first error line (else its last line), for the table of failed builds."""
    lines = text.strip().splitlines() or ['']
    return next((l for l in lines if 'error' in l), lines[-1])[:200]


def clean_env():
    """The programs' environment: no MEMTYPE_*, LD_PRELOAD or MALLOC_* of the caller's shell."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('MEMTYPE_', 'MALLOC_', 'GLIBC_TUNABLES', 'LD_PRELOAD', 'ASAN_', 'LSAN_'))}
    env['PATH'] = '/usr/bin:/bin'
    return env


def stdout_hash(s):
    """A short hash of stdout with addresses blanked, so runs under different allocators compare."""
    return hashlib.sha1(re.sub(r'0x[0-9a-fA-F]+', '0x?', s).encode()).hexdigest()[:12]


# ---------------------------------------------------------------- classification
# Each report is reduced to kinds (HEAP_KINDS, or wild/crash/other); a case is caught
# in a mode when that mode reported a heap error of any kind (for a case that expects
# only a leak: a definite leak), and of the right kind when one kind matches.

MEMTYPE_KINDS = {'heap-buffer-overflow': 'overflow', 'heap-buffer-underflow': 'overflow',
                 'use-after-free': 'uaf', 'write-after-free': 'uaf', 'usable-size-of-freed': 'uaf',
                 'double-free': 'badfree', 'invalid-free': 'badfree', 'realloc-of-freed': 'badfree',
                 'invalid-realloc': 'badfree', 'invalid-usable-size': 'badfree',
                 'mismatched-free': 'mismatch', 'param-overlap': 'overlap', 'bad-param': 'size',
                 'wild-access': 'wild', 'segv': 'crash', 'bus-error': 'crash'}

VALGRIND_KINDS = [  # (part of an error record searched, regex, kind); the first match names the record
    ('head', r'^Invalid (free\(\)|delete|realloc)', 'badfree'),
    ('head', r'^Mismatched (free|new)', 'mismatch'),
    ('head', r'fishy|negative', 'size'),
    ('head', r'Source and destination overlap', 'overlap'),
    ('head', r'definitely lost in loss record', 'leak'),
    ('record', r"inside a block of size \d+ free'd", 'uaf'),
    ('record', r"bytes (after|before) a block|inside a block of size \d+ alloc'd", 'overflow'),
    ('head', r'^(Invalid (read|write)|Syscall param.*unaddressable|Jump to the invalid)', 'wild'),
    ('head', r'Process terminating with default action', 'crash'),
]


def valgrind_records(err):
    """valgrind's error records, their "==PID== " prefixes removed: the lines of each
    process apart (a forked child writes to the same stderr, interleaved), then split
    at blank lines. A record's heading is its first line not indented."""
    lines = collections.defaultdict(list)
    for m in re.finditer(r'^==(\d+)== ?(.*)$', err, re.M):
        lines[m.group(1)].append(m.group(2))
    records = []
    for pid_lines in lines.values():
        records += [r for r in '\n'.join(pid_lines).split('\n\n') if r.strip()]
    return records


def classify(mode, err, rc):
    """What a run's stderr reports: {kinds, lines (a few, for the tables), signal}."""
    kinds, lines = [], []

    def add(k):
        if k not in kinds:
            kinds.append(k)

    if mode in ('run', 'checks'):
        for line in err.splitlines():
            # an error report, or an error line of memtype run's summary
            m = re.match(r'\S*memtype: ERROR: ([\w-]+)', line) or re.match(r'#\d+ ([\w-]+) ', line)
            if m and m.group(1) in MEMTYPE_KINDS:
                add(MEMTYPE_KINDS[m.group(1)])
                if len(lines) < 6 and line.strip()[:220] not in lines:
                    lines.append(line.strip()[:220])
            if re.search(r'LEAK: .* definitely lost|definitely lost:? [1-9]', line):
                add('leak')
            if re.match(r'memtype: (run summary|ended|leak summary|LEAK)', line) and len(lines) < 10:
                lines.append(line.strip()[:220])
    elif mode == 'valgrind':
        for record in valgrind_records(err):
            head = next((l for l in record.splitlines() if l and not l[0].isspace()), '')
            for where, rx, kind in VALGRIND_KINDS:
                if re.search(rx, head if where == 'head' else record):
                    add(kind)
                    break
        for line in err.splitlines():
            if re.search(r'Invalid |Mismatched|fishy|definitely lost in|overlap|ERROR SUMMARY', line) and len(lines) < 6:
                lines.append(re.sub(r'^==\d+== ', '', line).strip()[:200])
        m = re.search(r'ERROR SUMMARY: (\d+) errors', err)
        if m and int(m.group(1)) and not kinds:
            add('other')
    return dict(kinds=kinds, lines=lines, signal=-rc if rc is not None and rc < 0 else None)


def caught(c, mode):
    """Whether MODE reported C's bug (None: not run in that mode)."""
    r = c.get('results', {}).get(mode)
    if not r:
        return None
    expect, got = set(c['expect']), set(r['kinds'])
    if expect == {'leak'}:
        return 'leak' in got
    return bool(got - {'leak', 'crash', 'other'}) or bool(expect & got)


def kind_match(c, mode):
    """Whether MODE reported one of the kinds C expects (None: not run in that mode)."""
    r = c.get('results', {}).get(mode)
    if not r:
        return None
    return bool(set(c['expect']) & set(r['kinds']))


def built(cases, suite=None):
    return [c for c in cases if c.get('build') == 'ok' and (suite is None or c['suite'] == suite)]


def bug_cases(cases):
    return [c for c in cases if c['suite'] in SUITES]


# ---------------------------------------------------------------- explanations
# Facts about test programs, checked by hand and matched on the case id: why no tool
# can or need report a bug case, or the real bug a "clean" program holds. They
# describe the program, not memtype, so they stay true as memtype changes.

PROGRAM_NOTES = {
    r'_strict\b|_strict\.': 'ASan strict_string_checks=true only: the function stops inside the block, '
                            'no byte outside it is read',
    r'allocator_oom_test|malloc_size_too_big': 'ASan allocator limit (a ~1 TiB request): malloc just returns NULL, '
                                               'not a bug in a plain run',
    r'printf_fortify': 'glibc _FORTIFY_SOURCE (__sprintf_chk in the -O2 -D_FORTIFY_SOURCE=2 .so) aborts first '
                       'in every mode, plain too',
    r'partial_right': '4-byte read at offset 8 of a 10-byte block: valgrind allows partial loads',
    r'new_aligned_delete_default': 'new with align_val_t(256) freed by plain delete',
    r'new_array_cookie_test': 'write to the new[] cookie 8 bytes before the array: still inside the malloc block',
    r'^mc\.badrw$': 'reads 1-4 bytes before a leaked block and writes the same value back: '
                    'the bytes never change',
    r'^mcclean\.clo_redzone_default$': 'a real bug: writes 69 bytes past a 128-byte block, beyond valgrind\'s '
                                      'default 16-byte redzone (clo_redzone_128 runs it with --redzone-size=128)',
    r'^mcclean\.malloc_usable$': 'valgrind-specific: asserts malloc_usable_size(p) == 99 (glibc\'s plain run fails '
                                 'it) and passes 0xdeadbeef, not a heap pointer, to malloc_usable_size',
    r'^asanclean\.inline$': 'a real bug: reads 4 bytes at offset 8 of a 10-byte block; the test checks that '
                            'no_sanitize_address silences ASan there',
}


def program_note(cid):
    return next((v for k, v in PROGRAM_NOTES.items() if re.search(k, cid)), '')


def likely_reason(c, runner):
    """One line on why memtype run missed what valgrind reported: a program note, or a
    guess from valgrind's report of the access (offset, block size, slack before the
    guard page) and from what memtype run printed."""
    note = program_note(c['id'])
    if note:
        return note
    r = c['results'].get('run', {})
    got = r.get('kinds', [])
    vkinds = c['results'].get('valgrind', {}).get('kinds', [])
    err = runner.stderr(c['id'], 'run')
    verr = runner.stderr(c['id'], 'valgrind')
    if r.get('timeout'):
        return 'memtype run timed out'
    if 'wild' in got or 'crash' in got:
        return 'the program faulted; memtype reported a wild access or crash, not a heap error'
    if r.get('signal') and not got:
        return 'the program died of signal %d before any report' % r['signal']
    if 'memtype: run summary' not in err:
        return 'no run summary (the program ended abnormally, _exit, exec?)'
    if set(c['expect']) == {'leak'}:
        if re.search(r'\b0 bytes in \d+ blocks are definitely lost', verr):
            return 'the leaked block has size 0'
        summary = runner.leak_summary(c['id'])
        for what in ('possibly lost', 'still reachable', 'indirectly lost'):
            if re.search(what + r': [1-9]', summary + err):
                return 'the leak was counted %s (%s)' % (what, summary or 'run stderr')
        return 'the leak scan did not find the block'
    sc = re.search(r'Syscall param (\S+) points to unaddressable', verr)
    if sc and not re.search(r'Invalid (read|write)', verr):
        return ('the kernel accessed past the block (%s): where that is a guard page, the call fails with '
                'EFAULT and there is no fault to report' % sc.group(1))
    m = re.search(r"Invalid (read|write) of size (\d+)[^\n]*\n(?:==\d+==    (?:at|by)[^\n]*\n)*"
                  r"==\d+==  Address \S+ is (\d+) bytes (after|before|inside) a block of size (\d+) (alloc'd|free'd)",
                  verr)
    if m:
        rw, size, off, where, bsize, state = (m.group(1), int(m.group(2)), int(m.group(3)), m.group(4),
                                              int(m.group(5)), m.group(6))
        frame = re.search(r'==\d+==    at 0x[0-9A-F]+: (\S+) \(([^)]*)\)', verr[m.start():])
        via = ''
        if frame and (frame.group(2).startswith(('vg_replace', 'in /')) or 'libc' in frame.group(2)):
            via = ' (inside %s)' % frame.group(1)
        slack = (-bsize) % 16
        if state == "free'd":
            return '%s of a freed %d-byte block%s not seen' % (rw, bsize, via)
        if 'overflow' in c['results'].get('checks', {}).get('kinds', []) and where != 'inside':
            return ('%s %d bytes %s a %d-byte block never freed: checks mode reports it at exit, run mode does not%s'
                    % (rw, off, where, bsize, via))
        if where == 'after':
            if off + size <= slack:
                return ('%s %d bytes after a %d-byte block, within the %d-byte slack before the guard page%s'
                        % (rw, off, bsize, slack, via))
            return '%s %d bytes after a %d-byte block, past the slack%s' % (rw, off, bsize, via)
        if where == 'before':
            return '%s %d bytes before a %d-byte block (the guard page is after the block)%s' % (rw, off, bsize, via)
        return '%s straddling the end of a %d-byte block%s' % (rw, bsize, via)
    for kind, why in (('uaf', 'access to a freed block not seen'), ('overflow', 'overflow not seen'),
                      ('badfree', 'invalid or double free not reported'),
                      ('mismatch', 'alloc/dealloc mismatch not reported'),
                      ('size', 'bad size argument not reported'), ('overlap', 'overlap not reported')):
        if kind in vkinds:
            return why
    return ''


# ---------------------------------------------------------------- the summary

def fraction(cases, pred):
    return '%d/%d' % (sum(1 for c in cases if pred(c)), len(cases))


def main_table(cases, modes_run):
    """The counts per suite and mode: markdown lines."""
    lines = ['| suite | cases | no build | built | ' +
             ' | '.join('%s caught | %s kind ok' % (m, m) for m in JUDGED_MODES) + ' |',
             '|---|---|---|---|---|' + '---|' * (2 * len(JUDGED_MODES) - 1)]
    for s in SUITES + ['all']:
        cs = bug_cases(cases) if s == 'all' else [c for c in cases if c['suite'] == s]
        ok = built(cs)
        row = [s, len(cs), sum(1 for c in cs if c.get('build') == 'no build'), len(ok)]
        for m in JUDGED_MODES:
            have = [c for c in ok if m in c.get('results', {})]
            if not have and m not in modes_run:
                row += ['not run', 'not run']
                continue
            row += [fraction(have, lambda c: caught(c, m)), fraction(have, lambda c: kind_match(c, m))]
        lines.append('| ' + ' | '.join(map(str, row)) + ' |')
    return lines


def table_cell(text):
    return text.replace('|', '\\|')


def reported_beyond_valgrind(c, mode):
    """The kinds MODE reported on a clean program that valgrind did not (crashes aside)."""
    vk = set() if mode == 'valgrind' else set(c['results'].get('valgrind', {}).get('kinds', []))
    return set(c['results'][mode]['kinds']) - {'crash'} - vk


def differences(c, mode):
    """(problems, expected changes) of MODE against the plain run: hangs and signals are
    problems; a changed exit status or stdout is a problem on a clean program and an
    expected change on a bug program (it uses the garbage it read)."""
    res = c.get('results', {})
    plain, r = res.get('plain'), res.get(mode)
    what, soft = [], []
    if not r:
        return what, soft
    if r.get('timeout'):
        what.append('timeout (plain: %s)' % ('timeout' if plain and plain.get('timeout') else 'ok'))
    sig = r.get('signal')
    # checks mode ends the program with SIGABRT at its first report (the preload's default)
    if sig and not (plain and plain.get('signal') == sig) and not (mode == 'checks' and sig == 6 and r['kinds']):
        what.append('signal %d (plain: %s), kinds reported: %s' % (sig, (plain or {}).get('signal'),
                                                                   ','.join(r['kinds']) or 'none'))
    if plain and not plain.get('timeout') and not r.get('timeout') and not sig:
        d = []
        if r['stdout_hash'] != plain['stdout_hash']:
            d.append('stdout differs (%d vs plain %d bytes)' % (r['stdout_len'], plain['stdout_len']))
        if r['rc'] != plain['rc'] and not (plain['rc'] or 0) < 0:
            d.append('exit %s vs plain %s' % (r['rc'], plain['rc']))
        clean = c['suite'] in CLEAN_SUITES
        if d and (clean or not r['kinds'] or mode == 'run'):
            (what if clean else soft).extend(d)
    return what, soft


def summary(cases, skipped, meta, modes_run, runner):
    """The markdown summary of all results."""
    bugs = built(bug_cases(cases))
    L = ['# memtype and valgrind on the heap-bug programs of ASan\'s and memcheck\'s test suites', '',
         'Generated by `python3 bench/peer_suites.py` on %s with %s (%s); %s.' % (
             meta['generated'], meta['memtype_version'], meta['lib'], meta['valgrind'] or 'valgrind not installed'),
         'Sources: ' + '; '.join(meta['sources']) + '.', '',
         'Modes: **run** = `memtype run -- prog` (its defaults: checks, guard pages, leak scan); '
         '**checks** = `LD_PRELOAD=libmemtype.so MEMTYPE_TRASH=1 MEMTYPE_REDZONE=1`; '
         '**valgrind** = `valgrind --leak-check=full`. Caught = a heap error reported (for a case that '
         'expects only a leak: a definite leak); kind ok = a reported kind is one the case expects.', '']
    L += main_table(cases, modes_run) + ['']
    reasons = collections.Counter(r.split(':')[0] for _, r in skipped)
    L += ['Skipped files or variants: ' + '; '.join('%s %d' % kv for kv in reasons.most_common()) +
          ' (each in results.json, "skipped").', '']
    L += ['Clean programs (no error expected): those where a mode reported a kind valgrind did not '
          '(valgrind: any kind) / built', '',
          '| suite | built | run | checks | valgrind |', '|---|---|---|---|---|']
    for s in CLEAN_SUITES:
        cs = built(cases, s)
        row = [s, len(cs)]
        for m in JUDGED_MODES:
            have = [c for c in cs if m in c.get('results', {})]
            row.append(fraction(have, lambda c: reported_beyond_valgrind(c, m)) if have or m in modes_run else 'not run')
        L.append('| ' + ' | '.join(map(str, row)) + ' |')
    L += ['', '## By expected kind (built cases; caught by run / checks / valgrind)', '',
          '| kind | cases | run | checks | valgrind |', '|---|---|---|---|---|']
    for k in HEAP_KINDS:
        cs = [c for c in bugs if k in c['expect']]
        if cs:
            L.append('| %s | %d | %s |' % (k, len(cs), ' | '.join(str(sum(1 for c in cs if caught(c, m)))
                                                                  for m in JUDGED_MODES)))
    miss = [c for c in bugs if caught(c, 'valgrind') and caught(c, 'run') is False]
    L += ['', '## Caught by valgrind, missed by `memtype run` (%d)' % len(miss), '',
          '| case | file | args | expected | valgrind | memtype run printed | likely reason |',
          '|---|---|---|---|---|---|---|']
    for c in miss:
        r = c['results']['run']
        printed = '; '.join(l for l in r['lines'] if 'ERROR' in l or 'run summary' in l)[:260] or '(nothing)'
        if r.get('signal'):
            printed += ' [signal %d]' % r['signal']
        L.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            c['id'], c['file'], ' '.join(c['defines'] + c['args']), ','.join(c['expect']),
            ', '.join(c['results']['valgrind']['kinds']), table_cell(printed), table_cell(c.get('reason', ''))))
    leaks = [c for c in built(cases) if 'leak' in c['results'].get('valgrind', {}).get('kinds', [])
             and 'run' in c['results'] and 'leak' not in c['results']['run']['kinds']]
    L += ['', '## Definite leaks valgrind reports that `memtype run` does not (%d)' % len(leaks), '',
          'Any case, leak expected or not. memtype run prints no leak line when it finds no definite leak; '
          'its summary here is from `memtype report --leaks` on the run\'s dump. "checks" = whether checks mode '
          'reported the leak (it stops at the first error, so "no" may mean it never reached exit).', '',
          '| case | valgrind | memtype run leak summary | checks |', '|---|---|---|---|']
    for c in leaks:
        vl = re.search(r'definitely lost: ([\d,]+ bytes in [\d,]+ blocks)', runner.stderr(c['id'], 'valgrind'))
        L.append('| %s | %s | %s | %s |' % (c['id'], vl.group(1) if vl else '?', runner.leak_summary(c['id']) or '?',
                                          'yes' if 'leak' in c['results'].get('checks', {}).get('kinds', []) else 'no'))
    other = [c for c in bugs if caught(c, 'run') and not kind_match(c, 'run')]
    L += ['', '## `memtype run` caught something of another kind (%d)' % len(other), '',
          '| case | expected | memtype kinds | valgrind kinds |', '|---|---|---|---|']
    for c in other:
        L.append('| %s | %s | %s | %s |' % (c['id'], ','.join(c['expect']), ','.join(c['results']['run']['kinds']),
                                           ','.join(c['results'].get('valgrind', {}).get('kinds', []))))
    both = [c for c in bugs if caught(c, 'valgrind') is False and caught(c, 'run') is False]
    L += ['', '## Missed by both valgrind and `memtype run` (%d)' % len(both), '',
          '| case | why |', '|---|---|']
    L += ['| %s | %s |' % (c['id'], program_note(c['id'])) for c in both]
    only = [c for c in bugs if caught(c, 'valgrind') is False and caught(c, 'run')]
    L += ['', '## Caught by `memtype run`, missed by valgrind (%d)' % len(only), '',
          ', '.join(c['id'] for c in only) or 'none', '']
    L += ['## memtype crashes, hangs and changed output (against the plain run)', '',
          'A SIGABRT in checks mode after a report is memtype stopping at the first error, not listed. '
          'Bug programs often return or print the garbage they read, so their changed exit status or '
          'stdout is listed apart, below the table.', '',
          '| case | mode | what |', '|---|---|---|']
    garbage = []
    for c in cases:
        for m in ('run', 'checks'):
            what, soft = differences(c, m)
            if what:
                L.append('| %s | %s | %s |' % (c['id'], m, '; '.join(what)))
            if soft:
                garbage.append('%s (%s: %s)' % (c['id'], m, '; '.join(soft)))
    L += ['', 'Bug programs whose exit status or stdout differ under memtype: ' + (', '.join(garbage) or 'none'), '']
    clean = built([c for c in cases if c['suite'] in CLEAN_SUITES])
    L += ['## False reports: programs expected to run clean (%d built)' % len(clean), '',
          'ASan RUN lines without `not` and without ASan options; memcheck tests whose expected stderr has no '
          'error. Listed: a mode reported a kind valgrind did not.', '',
          '| case | mode | memtype printed | valgrind | note |', '|---|---|---|---|---|']
    for c in clean:
        for m in ('run', 'checks'):
            if m in c['results'] and reported_beyond_valgrind(c, m):
                printed = '; '.join(l for l in c['results'][m]['lines'] if not l.startswith('memtype: ended'))[:240]
                L.append('| %s | %s | %s | %s | %s |' % (
                    c['id'], m, table_cell(printed),
                    ','.join(c['results'].get('valgrind', {}).get('kinds', [])) or 'clean', program_note(c['id'])))
    nobuild = [c for c in cases if c.get('build') == 'no build']
    L += ['', '## Not built (%d)' % len(nobuild), '']
    L += ['- %s: %s' % (c['id'], c.get('build_err', '')) for c in nobuild]
    return '\n'.join(L) + '\n'


# ---------------------------------------------------------------- main

def memtype_version(memtype):
    r = subprocess.run([memtype, '--version'], capture_output=True, text=True, env=clean_env())
    v = (r.stdout or r.stderr).strip().splitlines()
    return v[0] if v and r.returncode == 0 else '?'


def valgrind_version(valgrind):
    if not valgrind:
        return ''
    return subprocess.run([valgrind, '--version'], capture_output=True, text=True).stdout.strip()


def merge_kept(rpath, cases):
    """Gives CASES the results and build states kept in RPATH by an earlier run."""
    kept = {}
    if os.path.exists(rpath):
        with open(rpath) as fh:
            kept = {c['id']: c for c in json.load(fh)['cases']}
    for c in cases:
        if c['id'] in kept:
            c['results'] = kept[c['id']].get('results', {})
            for k in ('build', 'build_err'):
                if k in kept[c['id']]:
                    c[k] = kept[c['id']][k]


def modes_and_tools(modes_arg, build, name):
    """For a suite script: --modes and --build checked. Returns (modes, 'plain' first;
    valgrind's path or None; memtype; libmemtype.so), or exits saying what is wrong."""
    modes = [m for m in modes_arg.split(',') if m]
    unknown = set(modes) - set(JUDGED_MODES)
    if unknown:
        sys.exit('%s: unknown mode %s (modes: %s)' % (name, ','.join(sorted(unknown)), ','.join(JUDGED_MODES)))
    valgrind = shutil.which('valgrind')
    if 'valgrind' in modes and not valgrind:
        print('%s: valgrind is not installed; its mode is skipped' % name, file=sys.stderr)
        modes.remove('valgrind')
    memtype = os.path.join(os.path.abspath(build), 'bin', 'memtype')
    lib = os.path.join(os.path.abspath(build), 'lib', 'libmemtype.so')
    for path in (memtype, lib):
        if not os.path.exists(path):
            sys.exit('%s: %s is missing (build memtype, or give --build)' % (name, path))
    return ['plain'] + modes, valgrind, memtype, lib


def write_results(rpath, meta, skipped, cases, text, out, table_rows):
    """Keeps the results in RPATH, the summary TEXT in OUT; prints the table."""
    with open(rpath, 'w') as fh:
        json.dump(dict(meta, skipped=[list(x) for x in skipped], cases=cases), fh, indent=1)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as fh:
        fh.write(text)
    print('\n'.join(table_rows))
    print('summary: %s; results: %s' % (out, rpath))


def run_selected(runner, sel, modes, byid, jobs, width=50):
    """Builds and runs the cases SEL under MODES, JOBS at once, into BYID; a line each."""
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        futures = [ex.submit(runner.run_case, c, modes) for c in sel]
        for i, f in enumerate(concurrent.futures.as_completed(futures)):
            r = f.result()
            byid[r['id']] = r
            rr = r.get('results', {})
            print('[%d/%d] %-*s %-9s %s' % (i + 1, len(sel), width, r['id'], r.get('build'),
                  ' '.join('%s=%s' % (m, ','.join(rr[m]['kinds']) or '-') for m in modes if m in rr)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--asan', required=True, metavar='DIR',
                    help='llvm compiler-rt (or llvm-project): a checkout or a git directory')
    ap.add_argument('--memcheck', required=True, metavar='DIR', help='valgrind: a checkout or a git directory')
    ap.add_argument('--build', default=os.path.join(REPO, 'build'),
                    help='memtype build directory (bin/memtype, lib/libmemtype.so); default %(default)s')
    ap.add_argument('--workdir', default='/tmp/mt-peers', help='sources, binaries, runs, results; default %(default)s')
    ap.add_argument('--only', metavar='REGEX', help='run only the cases whose id or file matches')
    ap.add_argument('--modes', default='run,checks,valgrind',
                    help='of run,checks,valgrind (plain is added for run and checks); default %(default)s')
    ap.add_argument('-j', type=int, default=os.cpu_count() or 2, help='cases run at once; default %(default)s')
    ap.add_argument('--timeout', type=float, default=60, help='seconds a run may take; default %(default)s')
    ap.add_argument('--out', help='markdown summary; default WORKDIR/summary.md')
    ap.add_argument('--list', action='store_true', help='list the cases and the skipped files, run nothing')
    ap.add_argument('--render-only', action='store_true',
                    help='classify the kept outputs again and rewrite the summary, run nothing')
    a = ap.parse_args()

    modes = [m for m in a.modes.split(',') if m]
    unknown = set(modes) - set(JUDGED_MODES)
    if unknown:
        sys.exit('peer_suites: unknown mode %s (modes: %s)' % (','.join(sorted(unknown)), ','.join(JUDGED_MODES)))
    valgrind = shutil.which('valgrind')
    if 'valgrind' in modes and not valgrind:
        print('peer_suites: valgrind is not installed; its mode is skipped', file=sys.stderr)
        modes.remove('valgrind')
    if 'run' in modes or 'checks' in modes:
        modes.insert(0, 'plain')
    memtype = os.path.join(os.path.abspath(a.build), 'bin', 'memtype')
    lib = os.path.join(os.path.abspath(a.build), 'lib', 'libmemtype.so')
    for path in (memtype, lib):
        if not os.path.exists(path):
            sys.exit('peer_suites: %s is missing (build memtype, or give --build)' % path)
    workdir = os.path.abspath(a.workdir)
    out = a.out or os.path.join(workdir, 'summary.md')
    runner = Runner(workdir, memtype, lib, valgrind, a.timeout)

    adir, mdir, sources = extract_sources(a.asan, a.memcheck, os.path.join(workdir, 'src'))
    ac, askip = asan_cases(adir)
    mc, mskip = mc_cases(mdir)
    cases, skipped = ac + mc, askip + mskip
    if a.list:
        for c in cases:
            print(c['id'], c['suite'], ','.join(c['expect']) or '-', ' '.join(c['defines'] + c['args']))
        for name, why in skipped:
            print('skipped', name, '-', why)
        print('%d ASan and %d memcheck cases; %d skipped' % (len(ac), len(mc), len(skipped)))
        return

    rpath = os.path.join(workdir, 'results.json')
    merge_kept(rpath, cases)
    byid = {c['id']: c for c in cases}
    if a.render_only:
        for c in cases:
            for m, r in c.get('results', {}).items():
                r.update(classify(m, runner.stderr(c['id'], m), r['rc']))
    else:
        sel = [c for c in cases if not a.only or re.search(a.only, c['id']) or re.search(a.only, c['file'])]
        run_selected(runner, sel, modes, byid, a.j)
    cases = sorted(byid.values(), key=lambda c: c['id'])
    for c in cases:
        c.pop('reason', None)
        for m, r in c.get('results', {}).items():
            if m != 'plain':
                r['caught'] = caught(c, m) if c['expect'] else bool(set(r['kinds']) - {'crash'})
                r['kind_match'] = kind_match(c, m) if c['expect'] else None
        if c['suite'] in SUITES and c.get('build') == 'ok' and caught(c, 'valgrind') and caught(c, 'run') is False:
            c['reason'] = likely_reason(c, runner)
    meta = dict(generated=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), lib=lib,
                memtype_version=memtype_version(memtype), valgrind=valgrind_version(valgrind), sources=sources)
    modes_run = {m for c in cases for m in c.get('results', {})}
    with open(rpath, 'w') as fh:
        json.dump(dict(meta, skipped=[list(x) for x in skipped], cases=cases), fh, indent=1)
    text = summary(cases, skipped, meta, modes_run, runner)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as fh:
        fh.write(text)
    print('\n'.join(main_table(cases, modes_run)))
    print('summary: %s; results: %s' % (out, rpath))


if __name__ == '__main__':
    main()
