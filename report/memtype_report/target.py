"""Before `memtype run` starts a program: can the preload get into it? The
loader alone reads LD_PRELOAD, so memtype cannot be inside a statically
linked program (no PT_INTERP: no loader runs), a program of another ELF class
or machine than libmemtype.so, or a program that runs in secure-execution
mode (set-user-ID or set-group-ID to another user or group, or file
capabilities gained by a user other than root: the loader then ignores
LD_PRELOAD paths). For a `#!` script the interpreter is what the kernel runs,
so the interpreter is what is looked at. One line says why, or None.

Only the standard library: the ELF header and program headers are read with
struct (never the whole file)."""
import os
import shutil
import stat
import struct
import sys

PT_DYNAMIC, PT_INTERP = 2, 3
MACHINES = {3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "S/390", 40: "ARM",
            62: "x86-64", 183: "AArch64", 243: "RISC-V"}


def resolve(prog, env):
    """The file `prog` names as exec would find it (PATH from env), or None."""
    if "/" in prog:
        return prog if os.path.isfile(prog) else None
    return shutil.which(prog, path=env.get("PATH", os.defpath))


class Elf:
    """The facts of an ELF file that decide whether a preload can enter."""

    def __init__(self, path):
        self.path, self.interp, self.dynamic = path, None, False
        with open(path, "rb") as f:
            h = f.read(64)
            if len(h) < 52 or h[:4] != b"\x7fELF" or h[4] not in (1, 2) or h[5] not in (1, 2):
                raise ValueError("not an ELF file")
            self.bits = 32 if h[4] == 1 else 64
            e = "<" if h[5] == 1 else ">"
            self.type, self.machine = struct.unpack_from(e + "HH", h, 16)
            if self.bits == 64:
                phoff, = struct.unpack_from(e + "Q", h, 32)
                phentsize, phnum = struct.unpack_from(e + "HH", h, 54)
                ph_fmt, need = e + "IIQQQQ", 40
            else:
                phoff, = struct.unpack_from(e + "I", h, 28)
                phentsize, phnum = struct.unpack_from(e + "HH", h, 42)
                ph_fmt, need = e + "IIIII", 20
            if phentsize < need or phnum > 4096:
                raise ValueError("bad program headers")
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            for i in range(min(phnum, len(table) // phentsize)):
                fields = struct.unpack_from(ph_fmt, table, i * phentsize)
                if self.bits == 64:
                    p_type, _, p_offset, _, _, p_filesz = fields
                else:
                    p_type, p_offset, _, _, p_filesz = fields
                if p_type == PT_DYNAMIC:
                    self.dynamic = True
                elif p_type == PT_INTERP and 0 < p_filesz < 4096:
                    f.seek(p_offset)
                    self.interp = f.read(p_filesz).split(b"\0")[0].decode("utf-8", "replace")

    def kind(self):
        return "%d-bit %s" % (self.bits, MACHINES.get(self.machine, "machine %d" % self.machine))


def _is_the_loader(path):
    """Is path the dynamic loader itself (`ld.so PROG` preloads PROG)? It has
    no PT_INTERP either; it is the one Python's own executable names."""
    try:
        mine = Elf(os.path.realpath(sys.executable)).interp
    except (OSError, ValueError):
        mine = None
    real = os.path.realpath(path)
    if mine and os.path.realpath(mine) == real:
        return True
    base = os.path.basename(real)
    return base.startswith(("ld-linux", "ld.so", "ld64.so")) or base.startswith("ld-2.")


def _interpreter(path, env):
    """The interpreter a `#!` script names (through env(1)'s PATH search),
    None when path is no script; '' when it names nothing usable."""
    try:
        with open(path, "rb") as f:
            line = f.readline(256)
    except OSError:
        return None
    if not line.startswith(b"#!"):
        return None
    words = line[2:].decode("utf-8", "replace").split()
    if not words:
        return ""
    interp = words[0]
    if os.path.basename(interp) == "env":
        rest = [w for w in words[1:] if not w.startswith("-")]
        if rest:
            return resolve(rest[0], env) or ""
    return interp


def _secure(path):
    """Why the kernel would run path in secure-execution mode for us, or None."""
    try:
        st = os.stat(path)
        if os.statvfs(path).f_flag & os.ST_NOSUID:
            return None  # the set-ID bits and capabilities are ignored there
    except OSError:
        return None
    if st.st_mode & stat.S_ISUID and st.st_uid != os.getuid():
        return "is set-user-ID (it runs as %s)" % _user(st.st_uid)
    if st.st_mode & stat.S_ISGID and st.st_mode & stat.S_IXGRP and st.st_gid != os.getgid():
        return "is set-group-ID (it runs as group %s)" % _group(st.st_gid)
    if os.getuid() != 0:
        try:
            os.getxattr(path, "security.capability")
            return "has file capabilities"
        except (OSError, AttributeError):
            pass
    return None


def _user(uid):
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return "uid %d" % uid


def _group(gid):
    try:
        import grp
        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return "gid %d" % gid


def cannot_enter(prog, env, lib):
    """One line (without the "memtype: warning: " start) saying why memtype
    cannot be inside the process `prog` starts, or None when it can (or when
    that cannot be told: exec will say what is wrong with a missing file)."""
    path = resolve(prog, env)
    if path is None:
        return None
    name = prog
    for _ in range(4):  # a script's interpreter may be a script (Linux allows a few)
        interp = _interpreter(path, env)
        if interp is None:
            break
        if not interp or not os.path.isfile(interp):
            return None  # exec fails and says so
        path = interp
        # The kernel ignores a script's own set-ID bits and runs the
        # interpreter: that is the program the loader sees.
        name = "%s, the interpreter of %s," % (path, prog)
    else:
        return None
    why = _secure(path)
    if why:
        return "%s %s: in secure-execution mode the loader ignores LD_PRELOAD, so memtype " \
               "cannot be inside it; running it without memtype" % (name, why)
    try:
        elf = Elf(path)
    except (OSError, ValueError):
        return None
    if elf.interp is None and not _is_the_loader(path):
        return "%s is statically linked: no loader runs in it to preload memtype; running " \
               "it without memtype" % name
    try:
        own = Elf(lib)
    except (OSError, ValueError):
        return None
    if (elf.bits, elf.machine) != (own.bits, own.machine):
        return "%s is a %s program and %s is %s: the loader cannot preload it into it; " \
               "running it without memtype" % (name, elf.kind(), os.path.basename(lib),
                                               own.kind())
    return None
