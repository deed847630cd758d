#!/usr/bin/env python3
"""examples_readme.py - runs the commands of examples/README.md and keeps its
report blocks true: --write captures them, --check compares them.

A block is everything between `<!-- run: NAME -->` and `<!-- end -->`; the
script owns it (the commands of NAME in EXAMPLES below, each as `$ command`
followed by its stdout and stderr as one stream, then `[exit status N]` or
`[killed by SIGNAME]` when it did not exit 0); prose outside is never touched.
Commands run in a fresh temporary directory (their dumps land there) in which
build/bin/ links to the built memtype command and example binaries (and
examples/F to the source tree's file F a command names), with no
MEMTYPE_* or LD_PRELOAD from the caller's environment.

Output is normalised before it is written or compared (normalise(), shared
by both modes): addresses and offsets 0x1f2e -> 0x…, `pid|process N` ->
<pid>, `thread N` -> <tid>, dump names memtype.prog.N.mtd -> .<pid>.mtd,
timings `0.8 ms` -> `<t> ms`, the root size of the leak scan -> <n> KiB,
the guard pages' method -> <method>, absolute paths of the build tree, the source tree and the temporary directory
-> build/, ./ and ./; trailing blanks dropped.

--check compares only the lines that matter (matters(), stated once here and
in examples/README.md), in order, between the captured block and a new run:
  - each `$ command` line, and the `[exit status N]` / `[killed by SIG]` line;
  - `memtype: ERROR:` headlines (kind, access, offset, block size, type), the
    explanation line right after each, and `memtype will now ...`;
  - `memtype: LEAK:` lines;
  - summary lines: any line containing `summary: ` (memtype: summary, leak
    summary, run summary) and the `memtype sweep:` lines;
  - report headlines: `memtype: N heap error(s) in`, `memtype: N injected
    failure(s) in`, `memtype: leaks of`;
  - table headers: `Type ...` (with or without `memtype: `), the waste
    table's `Size Requests ...` header and its `Total memory used:` line;
  - lines naming the example's own code: `<example>.c:<line>` (a type or a
    frame as file:line) or `function+0x… (<example>)` (the in-process names);
  - lines starting with one of the example's key type names (`keys`: the
    explicit types' rows of explicit_types);
  a frame's number is not compared (`#9 main` and `#6 main` are alike: the
  frames of libc before it depend on its debug information);
  except `memtype: most memory in use at exit:` (it also names libc's blocks,
  whose names depend on the libc's debug information). Everything else (libc
  frames, hex windows, program output) is shown but not compared.
Blanks are collapsed before comparing (column widths follow the longest
label, often a libc one). On a mismatch it prints a unified diff of those
lines and exits 1.

  python3 scripts/examples_readme.py --write --build build     # rewrite the blocks
  python3 scripts/examples_readme.py --check --build build     # compare (CTest)
  (or --memtype PATH --bin DIR; environment MEMTYPE_CMD, MEMTYPE_EXAMPLES_BIN)
Python standard library only."""
import argparse
import difflib
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Example:
    def __init__(self, name, commands, keys=()):
        self.name = name          # the block's name; also the example's program and source
        self.commands = commands  # shell-like lines: VAR=value words, build/bin/X, globs
        self.keys = keys          # type names whose table rows matter


EXAMPLES = [
    Example("first_run", [
        "build/bin/memtype run -- build/bin/first_run",
        "build/bin/memtype run --brief --error-exitcode 1 -- build/bin/first_run"]),
    Example("leaky_cache", [
        "build/bin/memtype run -- build/bin/leaky_cache",
        "build/bin/memtype report --leaks memtype-run.leaky_cache.1/*.mtd"]),
    Example("counted_strings", [
        "build/bin/memtype run -- build/bin/counted_strings",
        "build/bin/memtype report --leaks --reachable memtype-run.counted_strings.1/*.mtd"]),
    Example("stale_pointer", [
        "build/bin/memtype run --profile --trash -- build/bin/stale_pointer",
        "build/bin/memtype report --errors memtype-run.stale_pointer.1/*.mtd"]),
    Example("off_by_one", [
        "build/bin/memtype run --profile --guard copy_id -- build/bin/off_by_one",
        "build/bin/memtype report --errors memtype-run.off_by_one.1/*.mtd"]),
    Example("packet_headroom", [
        "build/bin/memtype run --profile --redzone -- build/bin/packet_headroom",
        "build/bin/memtype report --errors memtype-run.packet_headroom.1/*.mtd",
        "build/bin/memtype run --brief -- build/bin/packet_headroom"]),
    Example("aligned_pool", [
        "build/bin/memtype run -- build/bin/aligned_pool"]),
    Example("word_lengths", [
        "build/bin/memtype run -- build/bin/word_lengths"]),
    Example("tag_format", [
        "build/bin/memtype run -- build/bin/tag_format"]),
    Example("wide_names", [
        "build/bin/memtype run -- build/bin/wide_names"]),
    Example("fixed_records", [
        "build/bin/memtype run -- build/bin/fixed_records"]),
    Example("pooled_buffer", [
        "build/bin/memtype run --brief --leaks 0 -- /usr/bin/python3 examples/pooled_buffer.py",
        "build/bin/memtype run --brief --leaks 0 --bypass-pools 0 -- "
        "/usr/bin/python3 examples/pooled_buffer.py"]),
    Example("vendor_leaks", [
        "build/bin/memtype run --brief -- build/bin/vendor_leaks",
        "build/bin/memtype run --suppress examples/vendor_leaks.supp -- build/bin/vendor_leaks"]),
    Example("wild_index", [
        "MEMTYPE_GUARD='*' build/bin/memtype run --profile -- build/bin/wild_index",
        "build/bin/memtype report --errors memtype-run.wild_index.1/*.mtd"]),
    Example("stale_next", [
        "build/bin/memtype run --profile --trash -- build/bin/stale_next",
        "build/bin/memtype run -- build/bin/stale_next"]),
    Example("error_paths", [
        "build/bin/memtype run --profile --fail-rate 1 --fail-after 3 --fail-times 1 --fail-seed 1 "
        "--fail-verbose -- build/bin/error_paths",
        "build/bin/memtype report --failures memtype-run.error_paths.1/*.mtd",
        "build/bin/memtype sweep -- build/bin/error_paths"]),
    Example("size_waste", [
        "build/bin/memtype run --profile -- build/bin/size_waste",
        "build/bin/memtype report --waste memtype-run.size_waste.1/*.mtd"]),
    Example("explicit_types", [
        "build/bin/memtype run --profile -- build/bin/explicit_types",
        "build/bin/memtype report --types memtype-run.explicit_types.1/*.mtd"],
        keys=("token", "arena")),
]

BEGIN = re.compile(r"^<!-- run: ([\w.-]+) -->\s*$")
END = "<!-- end -->"
TIMEOUT = 300  # seconds per command (memtype sweep reruns the program)


# --- normalisation and the lines that matter (shared by --write and --check) ---

def _sub(pattern, repl, line):
    """re.sub that keeps table columns where they were: when a replacement
    is shorter or longer than what it replaces, the next run of two or more
    blanks after it grows or shrinks by the difference (down to two)."""
    for m in reversed(list(re.finditer(pattern, line))):
        new = m.expand(repl)
        line = line[:m.start()] + new + line[m.end():]
        delta = (m.end() - m.start()) - len(new)
        gap = re.compile(r"  +").search(line, m.start() + len(new))
        if delta and gap:
            width = max(2, len(gap.group()) + delta)
            line = line[:gap.start()] + " " * width + line[gap.end():]
    return line


def normalise(text, paths=()):
    """Makes a run's output comparable across runs and machines; idempotent,
    so captured blocks can go through it again. `paths` are (absolute path,
    placeholder) pairs, longest first."""
    out = []
    for line in text.splitlines():
        for path, repl in paths:
            line = _sub(re.escape(path), repl, line)
        line = _sub(r"0x[0-9a-fA-F]+", "0x…", line)
        line = _sub(r"\b(pid|process) \d+", r"\1 <pid>", line)
        line = _sub(r"\bthread \d+", "thread <tid>", line)
        line = _sub(r"\.\d+\.mtd\b", ".<pid>.mtd", line)
        line = _sub(r"\b\d+(\.\d+)? ms\b", "<t> ms", line)
        line = _sub(r"\bover \d+ KiB of roots", "over <n> KiB of roots", line)
        # the kernel decides how guard pages are made (Linux 6.13+: madvise)
        line = _sub(r"; made by (madvise|mprotect)", "; made by <method>", line)
        out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    return out


ALWAYS = [re.compile(p) for p in (
    r"^\$ ",
    r"^\[(exit status|killed by) ",
    r"^memtype: ERROR: ",
    r"^memtype will now ",
    r"^memtype: LEAK: ",
    r"summary: ",
    r"^memtype sweep: ",
    r"^memtype: \d+ (heap errors?|injected failures?) in ",
    r"^memtype: leaks of ",
    r"^(memtype: )?Type\b",
    r"^\s*Size\s+Requests\b",
    r"^Total memory used: ",
)]
NEVER = re.compile(r"^memtype: most memory in use at exit: ")


def matters(lines, ex):
    """The lines of a block that --check compares (see the opening comment)."""
    own = re.compile(r"\b%s\.c:\d+|\b\w+\+0x… \(%s\)" % (re.escape(ex.name), re.escape(ex.name)))
    keys = [re.compile(r"^(memtype: )?%s\s" % re.escape(k)) for k in ex.keys]
    kept, after_error = [], False
    for line in lines:
        keep = after_error and line.strip() != ""
        after_error = line.startswith("memtype: ERROR: ")
        if NEVER.search(line):
            continue
        if keep or any(p.search(line) for p in ALWAYS) or own.search(line) \
                or any(k.search(line) for k in keys):
            # column widths do not matter, nor a frame's number (how many
            # frames of libc come before it depends on its debug information)
            kept.append(re.sub(r"^#\d+ ", "# ", " ".join(line.split())))
    return kept


# --- running an example ---

def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMTYPE_") and k not in ("LD_PRELOAD", "PYTHONPATH")}
    env["LC_ALL"] = "C"
    return env


def signame(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return "signal %d" % n


def run_example(ex, memtype, bindir):
    """Runs ex's commands in a fresh directory; returns the block's lines."""
    work = tempfile.mkdtemp(prefix="memtype-examples.")
    try:
        os.makedirs(os.path.join(work, "build", "bin"))
        paths = [(os.path.realpath(work) + "/", ""), (work + "/", ""),
                 (os.path.realpath(work), "."), (work, "."),
                 (os.path.realpath(bindir) + "/", "build/bin/"),
                 (os.path.abspath(bindir) + "/", "build/bin/"),
                 (os.path.dirname(os.path.abspath(bindir)) + "/", "build/"),
                 (ROOT + "/", "")]
        paths.sort(key=lambda p: -len(p[0]))
        lines = []
        for cmd in ex.commands:
            words = shlex.split(cmd)
            env = clean_env()
            while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
                k, v = words.pop(0).split("=", 1)
                env[k] = v
            argv = []
            for w in words:
                if w.startswith("build/bin/"):
                    prog = w[len("build/bin/"):]
                    target = memtype if prog == "memtype" else os.path.join(bindir, prog)
                    if not os.path.exists(target):
                        raise SystemExit("examples_readme: %s: not built (%s)" % (w, target))
                    link = os.path.join(work, w)
                    if not os.path.lexists(link):
                        os.symlink(os.path.abspath(target), link)
                elif w.startswith("examples/"):
                    # a file of the source tree's examples (a suppressions file)
                    link = os.path.join(work, w)
                    os.makedirs(os.path.dirname(link), exist_ok=True)
                    if not os.path.lexists(link):
                        os.symlink(os.path.join(ROOT, w), link)
                if any(c in w for c in "*?["):
                    found = sorted(os.path.relpath(f, work)
                                   for f in glob.glob(os.path.join(work, w)))
                    argv.extend(found or [w])
                else:
                    argv.append(w)
            try:
                r = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   timeout=TIMEOUT)
                out, rc = r.stdout.decode("utf-8", "replace"), r.returncode
            except subprocess.TimeoutExpired as e:
                out, rc = (e.stdout or b"").decode("utf-8", "replace"), None
            if lines:
                lines.append("")
            lines.append("$ " + cmd)
            lines.extend(normalise(out, paths))
            if rc is None:
                lines.append("[timed out after %d s]" % TIMEOUT)
            elif rc < 0:
                lines.append("[killed by %s]" % signame(-rc))
            elif rc:
                lines.append("[exit status %d]" % rc)
        return lines
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the README's blocks ---

def parse_blocks(text):
    """Returns (pieces, blocks): pieces alternate prose strings and
    ("block", name) pairs; blocks maps a name to the captured lines (without the fence)."""
    pieces, blocks, cur, body = [], {}, [], None
    for line in text.splitlines(keepends=True):
        m = BEGIN.match(line)
        if body is None and m:
            cur.append(line)
            pieces.append("".join(cur))
            cur, body, name = [], [], m.group(1)
            if name in blocks:
                raise SystemExit("examples_readme: block %s appears twice" % name)
        elif body is not None and line.strip() == END:
            inner = [b.rstrip("\n") for b in body]
            if inner and inner[0].startswith("```"):
                inner = inner[1:]
            if inner and inner[-1].startswith("```"):
                inner = inner[:-1]
            blocks[name] = inner
            pieces.append(("block", name))
            cur, body = [line], None
        elif body is not None:
            body.append(line)
        else:
            cur.append(line)
    if body is not None:
        raise SystemExit("examples_readme: block %s has no %s" % (name, END))
    pieces.append("".join(cur))
    return pieces, blocks


def main(argv):
    p = argparse.ArgumentParser(description="Capture (--write) or compare (--check) the "
                                "reports of examples/README.md.")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="run and rewrite the blocks")
    mode.add_argument("--check", action="store_true",
                      help="run and compare the lines that matter; exit 1 on a difference")
    p.add_argument("--build", help="a build tree: --memtype BUILD/bin/memtype --bin BUILD/bin")
    p.add_argument("--memtype", default=os.environ.get("MEMTYPE_CMD"),
                   help="the built memtype command (env MEMTYPE_CMD)")
    p.add_argument("--bin", default=os.environ.get("MEMTYPE_EXAMPLES_BIN"),
                   help="directory of the built examples (env MEMTYPE_EXAMPLES_BIN)")
    p.add_argument("--readme", default=os.path.join(ROOT, "examples", "README.md"))
    p.add_argument("names", nargs="*", help="only these examples (default: all)")
    args = p.parse_args(argv)
    build = args.build or (None if args.memtype and args.bin else os.path.join(ROOT, "build"))
    memtype = args.memtype or os.path.join(build, "bin", "memtype")
    bindir = args.bin or os.path.join(build, "bin")
    known = {e.name: e for e in EXAMPLES}
    for n in args.names:
        if n not in known:
            p.error("no example %s (known: %s)" % (n, ", ".join(known)))
    chosen = [e for e in EXAMPLES if not args.names or e.name in args.names]

    with open(args.readme, encoding="utf-8") as f:
        text = f.read()
    pieces, blocks = parse_blocks(text)
    problems = ["%s: no <!-- run: %s --> block" % (args.readme, e.name)
                for e in chosen if e.name not in blocks]
    problems += ["%s: block %s is no example of this script" % (args.readme, n)
                 for n in blocks if n not in known]
    if problems:
        print("\n".join("examples_readme: " + s for s in problems), file=sys.stderr)
        return 1

    failed = []
    for ex in chosen:
        got = run_example(ex, memtype, bindir)
        if args.write:
            blocks[ex.name] = got
            print("examples_readme: %s: %d lines captured" % (ex.name, len(got)))
            continue
        want = matters(normalise("\n".join(blocks[ex.name])), ex)
        have = matters(got, ex)
        if want == have:
            print("examples_readme: %s: ok (%d lines compared)" % (ex.name, len(have)))
            continue
        failed.append(ex.name)
        print("examples_readme: %s: the report no longer matches its capture in "
              "examples/README.md:" % ex.name)
        sys.stdout.writelines(difflib.unified_diff(
            [s + "\n" for s in want], [s + "\n" for s in have],
            "examples/README.md (%s, captured)" % ex.name, "%s (this run)" % ex.name, n=2))
    if args.write:
        out = []
        for piece in pieces:
            if isinstance(piece, tuple):
                body = "".join(s + "\n" for s in blocks[piece[1]])
                out.append("```console\n" + body + "```\n")
            else:
                out.append(piece)
        with open(args.readme + ".tmp", "w", encoding="utf-8") as f:
            f.write("".join(out))
        os.replace(args.readme + ".tmp", args.readme)
        return 0
    if failed:
        print("examples_readme: %d of %d examples differ (%s); if the change is intended: "
              "python3 scripts/examples_readme.py --write --build BUILD" %
              (len(failed), len(chosen), ", ".join(failed)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
