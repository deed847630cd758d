"""The inlined calls memtype reads from a program's DWARF in the process
(core/sys/lines.c, mt_lines_inlined: what its stderr stacks print as
"(inlined)" frames) are the ones llvm-symbolizer reads (addr2line -i where
it is not installed, for GCC's output), frame for frame:
the chain at every third byte of a C++ program's code, built -O2 -g by g++
(DWARF 5 and DWARF 4) and by clang++ (DWARF 5 with string and address
indexes, range lists), where those compilers are installed; through the
index of functions memtype builds for a module, and by a walk of the
address's unit without it. And a program
under the preload prints them: its allocation stack runs from the
standard library's inlined lines down to the line of its own source."""
import os
import re
import shutil
import subprocess
import unittest

from mtenv import LIB, clean_env, scratch

PROBE = os.environ.get("MEMTYPE_LINES_PROBE", "build/bin/lines_probe")
SOURCE = r"""
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>
#include <algorithm>
#include <cstdio>
struct Rec { std::string name; std::vector<int> vals; };
static std::map<std::string, std::unique_ptr<Rec>> table;
static std::unordered_map<int, std::string> rev;
static void add(const std::string &k, int v) {
  auto &r = table[k];
  if (!r) r.reset(new Rec{k, {}});
  r->vals.push_back(v);
  rev[v] = k;
}
int main(int argc, char **argv) {
  (void)argv;
  for (int i = 0; i < 1000 * argc; i++) {
    std::ostringstream os; os << "key" << (i % 37);
    add(os.str(), i);
  }
  std::vector<std::pair<size_t, std::string>> sizes;
  for (auto &kv : table) sizes.emplace_back(kv.second->vals.size(), kv.first);
  std::sort(sizes.begin(), sizes.end());
  for (auto &s : sizes) printf("%s %zu\n", s.second.c_str(), s.first);
  return (int)rev.size() % 2;
}
"""


# C, one unit whose code is in one range: clang writes its DW_AT_low_pc as an
# address index before the unit's DW_AT_addr_base (the base must be read
# after it)
C_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
int work(int);
static inline int h(int *a, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) { if (a[i] > 5) s += work(a[i]); else s -= a[i] * 7; }
  return s;
}
int main(int c, char **v) {
  int a[100];
  for (int i = 0; i < 100; i++) a[i] = atoi(v[i % c]);
  int r = h(a, c);
  if (r > 3) puts("x");
  return h(a + 1, c - 1) + r;
}
int work(int x) { printf("%d", x); return x + 1; }
"""


def text_range(path):
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"\.text\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out)
    return int(m.group(1), 16), int(m.group(2), 16)


def compressed_info(path):
    """Is the .debug_info of this ELF file compressed (SHF_COMPRESSED, or a
    .zdebug_info section)?"""
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if ".zdebug_info " in line:
            return True
        m = re.search(r"\.debug_info\s+PROGBITS(\s+\S+){4}\s+([A-Z]*)\s", line)
        if m and "C" in m.group(2):
            return True
    return False


def symbolizer_chains(path, addrs):
    """[(file, line) of each frame's call, innermost first], per address:
    frame k's location for k >= 1 (the lines the inlined calls were made
    at), as llvm-symbolizer prints the frames (or, without it, binutils'
    addr2line -i, which reads GCC's DWARF as llvm-symbolizer does)."""
    if not shutil.which("llvm-symbolizer"):
        return addr2line_chains(path, addrs)
    out = subprocess.run(["llvm-symbolizer", "--obj=" + path, "--no-demangle"] +
                         ["0x%x" % a for a in addrs], capture_output=True, text=True,
                         check=True).stdout
    chains = []
    for block in out.strip("\n").split("\n\n"):
        lines = block.split("\n")
        locs = []
        for loc in lines[1::2]:
            base = loc.rsplit("/", 1)[-1]
            parts = base.rsplit(":", 2)
            locs.append((parts[0], parts[1] if len(parts) == 3 else "0"))
        chains.append(locs[1:])
    return chains


def addr2line_chains(path, addrs):
    out = subprocess.run(["addr2line", "-i", "-a", "-e", path] + ["0x%x" % a for a in addrs],
                         capture_output=True, text=True, check=True).stdout
    chains = []
    for line in out.splitlines():
        if line.startswith("0x"):
            chains.append([])
            continue
        line = re.sub(r" \(discriminator \d+\)", "", line)
        f, _, n = line.rpartition(":")
        chains[-1].append((f.rsplit("/", 1)[-1], n.replace("?", "0")))
    return [c[1:] for c in chains]


class AgainstTheSymbolizer(unittest.TestCase):
    def setUp(self):
        if not shutil.which("readelf") or not (shutil.which("llvm-symbolizer") or
                                               shutil.which("addr2line")):
            self.skipTest("readelf, or both llvm-symbolizer and addr2line, not installed")
        self.tmp = scratch("memtype-inlined.")
        with open(os.path.join(self.tmp, "prog.cc"), "w") as f:
            f.write(SOURCE)
        with open(os.path.join(self.tmp, "prog.c"), "w") as f:
            f.write(C_SOURCE)

    def compare(self, compiler, *flags, scan=False, source="prog.cc", step=3, compressed=False):
        if not shutil.which(compiler):
            self.skipTest(compiler + " is not installed")
        if compiler.startswith("clang") and not shutil.which("llvm-symbolizer"):
            # binutils 2.40's addr2line misreads some of clang's DWARF 5
            # (an inlined call it does not see): no reference to compare with
            self.skipTest("llvm-symbolizer is not installed")
        prog = os.path.join(self.tmp, "prog")
        subprocess.run([compiler, "-O2", "-g", *flags, "-o", prog,
                        os.path.join(self.tmp, source)], check=True)
        if compressed:
            # the test reads what it means to: compressed .debug_info
            self.assertTrue(compressed_info(prog), prog + ": .debug_info is not compressed")
        lo, size = text_range(prog)
        addrs = list(range(lo, lo + size, step))
        env = dict(os.environ, MEMTYPE_PROBE_SCAN="1" if scan else "0")
        r = subprocess.run([PROBE, prog], input="".join("%x\n" % a for a in addrs),
                           capture_output=True, text=True, timeout=300, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        ours = []
        for line in r.stdout.splitlines():
            ours.append([tuple(p.rsplit(" ", 1)[1].rsplit(":", 1)) for p in line.split(" | ")[1:]])
        ref = prog
        if compressed:
            # the reference reads a copy with the sections decompressed
            # (binutils 2.40's addr2line -i finds no inlined call in .zdebug_*)
            ref = prog + ".plain"
            subprocess.run(["objcopy", "--decompress-debug-sections", prog, ref], check=True)
            self.assertFalse(compressed_info(ref), ref)
        theirs = symbolizer_chains(ref, addrs)
        self.assertEqual(len(ours), len(addrs))
        differ = [(hex(a), o, t) for a, o, t in zip(addrs, ours, theirs) if o != t]
        self.assertEqual(differ[:5], [], "%d of %d addresses differ" % (len(differ), len(addrs)))
        # the program is much inlined code: a test of something
        self.assertGreater(sum(1 for o in ours if o), len(addrs) // 5)

    def test_gcc_dwarf5(self):
        self.compare("g++")

    def test_gcc_dwarf4(self):
        self.compare("g++", "-gdwarf-4")

    def test_clang_dwarf5(self):
        self.compare("clang++")

    def test_clang_c_unit_of_one_range(self):
        for scan in (False, True):
            self.compare("clang", source="prog.c", step=1, scan=scan)

    # compressed debug sections (gcc -gz: SHF_COMPRESSED zlib; zlib-gnu: the
    # older .zdebug_* sections), inflated in the process (core/sys/inflate.c)
    def test_gcc_compressed_zlib(self):
        self.compare("g++", "-gz=zlib", compressed=True)

    def test_gcc_compressed_zlib_gnu(self):
        self.compare("g++", "-gz=zlib-gnu", compressed=True)

    def test_clang_compressed_zlib(self):
        self.compare("clang++", "-gz=zlib", compressed=True)

    # without the functions' index: a walk of the address's whole unit
    def test_gcc_dwarf5_unit_walk(self):
        self.compare("g++", scan=True)

    def test_clang_dwarf5_unit_walk(self):
        self.compare("clang++", scan=True)


def stack_after(stderr, heading):
    """The frame lines ("    #i ...") under a heading of a report."""
    lines = stderr.splitlines()
    at = [i for i, l in enumerate(lines) if l.strip() == heading]
    out = []
    for l in lines[at[0] + 1:] if at else []:
        if not l.startswith("    #"):
            break
        out.append(l)
    return "\n".join(out)


class UnderThePreload(unittest.TestCase):
    def test_an_allocation_inlined_from_vector_names_the_programs_line(self):
        if not shutil.which("g++"):
            self.skipTest("g++ is not installed")
        tmp = scratch("memtype-inlined-run.")
        src = os.path.join(tmp, "v.cc")
        with open(src, "w") as f:
            f.write("#include <vector>\n"
                    "int main(int argc, char **) {\n"
                    "  std::vector<int> *v = new std::vector<int>(10 + argc);\n"  # line 3
                    "  int *p = v->data();\n"
                    "  p[11 + argc] = 7;\n"
                    "  delete v;\n"  # line 6
                    "  return 0;\n"
                    "}\n")
        prog = os.path.join(tmp, "v")
        subprocess.run(["g++", "-O2", "-g", "-o", prog, src], check=True)
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off", "MEMTYPE_TRASH": "1",
                    "MEMTYPE_REDZONE": "1", "MEMTYPE_ON_ERROR": "continue"})
        r = subprocess.run([prog], env=env, capture_output=True, text=True, timeout=60)
        alloc = stack_after(r.stderr, "block allocated at:")
        # (a frame with no symbol has no "in": libc's without its debug symbols)
        frames = re.findall(r"#(\d+) 0x[0-9a-f]+ (?:in )?(.*)", alloc)
        self.assertTrue(frames, r.stderr)
        # numbered in order, the inlined ones first, then main at line 3
        self.assertEqual([int(i) for i, _ in frames], list(range(len(frames))), alloc)
        inlined = [f for _, f in frames if f.endswith("(inlined)")]
        self.assertGreaterEqual(len(inlined), 3, alloc)
        self.assertIn("(new_allocator.h:", inlined[0])
        self.assertIn("std::vector<int, std::allocator<int> >::vector(", inlined[-1])
        self.assertRegex(frames[len(inlined)][1], r"^main\+0x[0-9a-f]+ \(v\.cc:3\)$")
        detected = stack_after(r.stderr, "detected at:")
        self.assertRegex(detected, r"in main\+0x[0-9a-f]+ \(v\.cc:6\)")


QSORT_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
static char *volatile kept;
static int cmp(const void *a, const void *b) {
  static int once;
  if (!once++) {
    kept = malloc(10);
    free(kept);
    free(kept); /* line 9: the second free */
  }
  return *(const int *)a - *(const int *)b;
}
int main(void) {
  int v[] = {3, 1, 2};
  qsort(v, 3, sizeof v[0], cmp);
  printf("%d\n", v[0]);
  return 0;
}
"""


def libc_debug_file():
    """The separate debug file of the libc this Python runs with, as
    Debian's libc6-dbg installs it (by build-id), or None."""
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    if not os.path.exists(libc) or not shutil.which("readelf"):
        return None
    out = subprocess.run(["readelf", "-n", libc], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    if not m:
        return None
    path = "/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1)[:2], m.group(1)[2:])
    return path if os.path.exists(path) else None


class CompressedDebugSections(unittest.TestCase):
    """A program whose debug sections are compressed (gcc -gz, clang -gz;
    Debian's -dbgsym packages and libc6-dbg ship theirs so) gets the same
    file:line in memtype's stderr stacks as one built with plain -g."""

    def frames(self, compiler, gz):
        if not shutil.which(compiler) or not shutil.which("readelf"):
            self.skipTest(compiler + " or readelf is not installed")
        tmp = scratch("memtype-gz.")
        src = os.path.join(tmp, "q.c")
        with open(src, "w") as f:
            f.write(QSORT_SOURCE.lstrip("\n"))
        prog = os.path.join(tmp, "q")
        subprocess.run([compiler, "-O2", "-g", "-gz=" + gz, "-o", prog, src], check=True)
        self.assertEqual(compressed_info(prog), gz != "none")
        env = clean_env()
        env.update({"LD_PRELOAD": LIB, "MEMTYPE_OUTPUT": "off", "MEMTYPE_TRASH": "1",
                    "MEMTYPE_ON_ERROR": "continue"})
        r = subprocess.run([prog], env=env, capture_output=True, text=True, timeout=60)
        self.assertIn("double-free", r.stderr)
        return stack_after(r.stderr, "detected at:"), r.stderr

    def test_the_programs_lines(self):
        for compiler, gz in (("gcc", "zlib"), ("gcc", "zlib-gnu"), ("clang", "zlib"),
                             ("gcc", "none")):
            with self.subTest(compiler=compiler, gz=gz):
                detected, err = self.frames(compiler, gz)
                self.assertRegex(detected, r"#0 0x[0-9a-f]+ in cmp\+0x[0-9a-f]+ \(q\.c:9\)", err)
                self.assertRegex(detected, r"in main\+0x[0-9a-f]+ \(q\.c:15\)", err)

    def test_libcs_lines_from_its_compressed_debug_file(self):
        debug = libc_debug_file()
        if debug is None:
            self.skipTest("libc's debug file is not installed (Debian: libc6-dbg)")
        self.assertTrue(compressed_info(debug), debug)
        detected, err = self.frames("gcc", "none")
        # qsort's merge sort, its inlined call included
        self.assertRegex(detected, r"in msort_with_tmp[.a-z0-9]*\+0x[0-9a-f]+ \(msort\.c:\d+\)",
                         err)
        self.assertRegex(detected, r"in msort_with_tmp \(msort\.c:\d+\) \(inlined\)", err)


if __name__ == "__main__":
    unittest.main()
