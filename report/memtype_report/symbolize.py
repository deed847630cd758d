"""Offline symbolization of the addresses in a dump, from its module map:
the heaptrack way (raw addresses and the module map recorded in the
process, resolved later, elsewhere).

llvm-symbolizer when it is installed (Debian's `llvm`; much faster than
addr2line, and it gives the inlined frames), binutils' addr2line otherwise;
batched per module, cached per module and build-id, never over the network
(DEBUGINFOD_URLS is emptied). The tools are found on the system's PATH, never
named by a dump. A module that is missing, changed since the run (its
build-id differs), or has no debug information degrades to module+offset,
and `notes()` says which, for the line that ends a report."""
import json
import re
import os
import shutil
import struct
import subprocess
from dataclasses import dataclass

from . import progress


@dataclass
class Frame:
    function: str = None  # None when unknown
    file: str = None      # base name, None without line information
    line: int = 0
    inlined: bool = False  # inlined into the next frame of the same address

    def label(self, pc, module, offset):
        if self.function and self.file:
            return "%s (%s:%d)" % (self.function, self.file, self.line)
        if self.function:
            return "%s (%s+%#x)" % (self.function, module, offset)
        return "%#x (%s+%#x)" % (pc, module, offset)


_cache = {}       # (path, build_id) -> {offset: [Frame...]}
_trouble = {}     # module path -> why it has no lines ("missing", "changed", "no debug info")
_checked = {}     # (path, build_id) -> None, or the trouble


def file_build_id(path):
    """The GNU build-id of an ELF file (bytes), or None."""
    # (the dump keeps it as hex text: compare with .hex())
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:
                return None
            shoff, = struct.unpack_from("<Q", head, 0x28)
            shentsize, shnum = struct.unpack_from("<HH", head, 0x3a)
            if shentsize != 64 or shnum == 0 or shnum > 4096:
                return None
            f.seek(shoff)
            table = f.read(64 * shnum)
            for i in range(len(table) // 64):
                sh_type, = struct.unpack_from("<I", table, 64 * i + 4)
                off, size = struct.unpack_from("<QQ", table, 64 * i + 24)
                if sh_type != 7 or size > 1 << 16:  # SHT_NOTE
                    continue
                f.seek(off)
                notes = f.read(size)
                p = 0
                while p + 12 <= len(notes):
                    namesz, descsz, ntype = struct.unpack_from("<III", notes, p)
                    name_end = p + 12 + ((namesz + 3) & ~3)
                    if ntype == 3 and notes[p + 12:p + 12 + namesz].rstrip(b"\0") == b"GNU":
                        return notes[name_end:name_end + descsz]
                    p = name_end + ((descsz + 3) & ~3)
    except OSError:
        return None
    return None


def _env():
    env = dict(os.environ)
    env["DEBUGINFOD_URLS"] = ""  # never the network
    return env


def _llvm(tool, path, offsets):
    try:
        out = subprocess.run([tool, "--obj=" + path, "--inlining", "--demangle",
                              "--output-style=JSON"] + ["%#x" % o for o in offsets],
                             capture_output=True, text=True, timeout=300, env=_env(),
                             stdin=subprocess.DEVNULL).stdout
        rows = json.loads(out) if out.strip().startswith("[") else \
            [json.loads(line) for line in out.splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    res = {}
    for off, row in zip(offsets, rows):
        frames = []
        syms = row.get("Symbol") or []
        for k, s in enumerate(syms):
            func = s.get("FunctionName") or None
            if func in ("??", "_end"):
                func = None
            fname = s.get("FileName") or None
            frames.append(Frame(func, os.path.basename(fname) if fname and s.get("Line") else None,
                                int(s.get("Line") or 0), k < len(syms) - 1))
        res[off] = frames or [Frame()]
    return res


def _addr2line(tool, path, offsets):
    try:
        out = subprocess.run([tool, "-f", "-C", "-i", "-a", "-e", path] +
                             ["%#x" % o for o in offsets], capture_output=True, text=True,
                             timeout=300, env=_env(), stdin=subprocess.DEVNULL).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    res, cur, frames, i = {}, None, [], 0
    while i < len(out):
        line = out[i]
        if re.fullmatch(r"0x[0-9a-f]+", line):
            if cur is not None:
                res[cur] = frames
            cur, frames = int(line, 16), []
            i += 1
            continue
        func = out[i]
        loc = out[i + 1] if i + 1 < len(out) else "??:0"
        i += 2
        fname, _, ln = loc.split(" ")[0].rpartition(":")
        frames.append(Frame(None if func == "??" else func,
                            None if fname in ("??", "") or not ln.isdigit() or ln == "0"
                            else os.path.basename(fname),
                            int(ln) if ln.isdigit() else 0))
    if cur is not None:
        res[cur] = frames
    for fr in res.values():
        for k in range(len(fr) - 1):
            fr[k].inlined = True
    return res


def _resolve(path, offsets):
    tool = shutil.which("llvm-symbolizer")
    res = _llvm(tool, path, offsets) if tool else None
    if res is None:
        tool = shutil.which("addr2line")
        res = _addr2line(tool, path, offsets) if tool else None
    return res or {}


def _module_trouble(m):
    key = (m.path, m.build_id)
    if key not in _checked:
        why = None
        if not m.path or not os.path.isfile(m.path):
            why = "missing"
        elif m.build_id and (file_build_id(m.path) or b"").hex() not in ("", m.build_id):
            why = "changed since the run: its build-id differs"
        _checked[key] = why
    return _checked[key]


def frames(dump, pcs, exact=False):
    """{pc: [Frame, ...]} innermost first (inlined frames before the function
    they were inlined into); unknown addresses get one empty Frame. The pcs
    are return addresses (looked up at pc - 1, inside the call), or with
    exact the addresses of instructions themselves (a faulting access: the
    instruction after a call is at that call's return address, so pc - 1
    would name the call's line)."""
    by_module = {}
    for pc in pcs:
        m = dump.module_of(pc)
        if m is not None:
            by_module.setdefault(m, []).append(pc)
    result = {}
    for m, mpcs in by_module.items():
        why = _module_trouble(m)
        if why:
            _trouble[m.path or "?"] = why
            continue
        # A return address points after the call: pc - 1 is inside it.
        back = 0 if exact else 1
        offs = sorted({pc - m.base - back for pc in mpcs})
        cached = _cache.setdefault((m.path, m.build_id), {})
        missing = [o for o in offs if o not in cached]
        if missing:
            progress.note("symbolizing %d addresses in %s" % (len(missing), _short(m.path)))
            cached.update(_resolve(m.path, missing))
        got_lines = False
        for pc in mpcs:
            fr = cached.get(pc - m.base - back)
            if fr:
                result[pc] = fr
                got_lines = got_lines or any(f.file for f in fr)
        if not got_lines and mpcs:
            _trouble.setdefault(m.path, "no debug information")
    return result


def _short(path):
    return os.path.basename(path) if path else "?"


def names(dump, pcs):
    """{pc: 'function (file.c:42)'} for the given addresses: the outermost
    frame of the inlined chain, the function whose symbol holds the address
    (as memtype's table at exit names it), at the line of the call in it.
    Code inlined from a wrapper (ld.so's calloc from rtld-malloc.h inlined
    into allocate_dtv) is named by its caller, not by the wrapper: the
    wrapper's line is the same for every caller. stack_lines() shows the
    whole chain."""
    fr = frames(dump, pcs)
    result = {}
    for pc in pcs:
        m = dump.module_of(pc)
        f = fr.get(pc)
        if m is None:
            result[pc] = "%#x" % pc
        elif f:
            result[pc] = f[-1].label(pc, _short(m.path), pc - m.base)
        else:
            result[pc] = "%#x (%s+%#x)" % (pc, _short(m.path), pc - m.base)
    return result


FAULTING = " (the faulting instruction)"


def stack_lines(dump, pcs, fr, fault_fr=None):
    """Lines "#i function (file:line)" for a stack, inlined frames expanded.
    With fault_fr (frames(..., exact=True) of pcs[0]), pcs[0] is a faulting
    instruction: looked up there and its innermost line says so."""
    out, i = [], 0
    for k, pc in enumerate(pcs):
        m = dump.module_of(pc)
        if k > 0 and m is not None and _short(m.path).startswith("libmemtype"):
            continue  # memtype's own wrapper of a libc call (printf, getline): not the program's
        fault = k == 0 and fault_fr is not None
        chain = (fault_fr if fault else fr).get(pc) or [Frame()]
        for j, f in enumerate(chain):
            text = f.label(pc, _short(m.path) if m else "?", pc - m.base if m else pc)
            if m is None:
                text = "%#x" % pc
            out.append("#%d %s%s%s" % (i, text, " (inlined)" if f.inlined else "",
                                       FAULTING if fault and j == 0 else ""))
            i += 1
    return out


def notes(truncated=0, depth=0):
    """The line that ends a report: modules without lines, truncated stacks."""
    parts = []
    if _trouble:
        parts.append("no file:line for %d module%s (%s): shown as module+offset" % (
            len(_trouble), "" if len(_trouble) == 1 else "s",
            ", ".join("%s: %s" % (_short(p), why) for p, why in sorted(_trouble.items()))))
    if truncated:
        parts.append("%d stack%s cut at MEMTYPE_DEPTH=%d" % (
            truncated, "" if truncated == 1 else "s", depth))
    return "memtype: note: " + "; ".join(parts) if parts else None
