"""Reader of a running process's live file (/dev/shm/memtype.PID.live,
written by core/live.c when MEMTYPE_LIVE=1): sums every slot without
stopping the process, as libmemstat reads the kernel's per-CPU slots."""
import mmap
import os
import struct

from .dump import Dump, Module, TypeStats

MAGIC = b"mtlive\x00\x01"


class LiveError(Exception):
    """The live view of a process cannot be read; str() says why."""


def path_of(pid):
    return "/dev/shm/memtype.%d.live" % pid


def _modules(pid):
    """Load biases of the process's modules, from /proc/PID/maps."""
    mods, seen = [], set()
    try:
        with open("/proc/%d/maps" % pid) as f:
            lines = f.readlines()
    except OSError:
        return mods
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue
        path = parts[5].strip()
        if path in seen:
            continue
        seen.add(path)
        start = int(parts[0].split("-")[0], 16)
        offset = int(parts[2], 16)
        try:
            with open(path, "rb") as e:
                head = e.read(18)
            exec_type = len(head) == 18 and head[:4] == b"\x7fELF" and \
                struct.unpack_from("<H", head, 16)[0] == 2
        except OSError:
            exec_type = False
        mods.append(Module(0 if exec_type else start - offset, path, ""))
    return mods


def read(pid):
    """A Dump-like snapshot of process pid's live statistics."""
    p = path_of(pid)
    try:
        fd = os.open(p, os.O_RDONLY)
    except FileNotFoundError:
        raise LiveError("no live view for pid %d (%s does not exist): run the program with "
                        "MEMTYPE_LIVE=1 (memtype run --live=1)" % (pid, p)) from None
    except OSError as e:
        raise LiveError("%s: %s" % (p, e.strerror)) from None
    try:
        size = os.fstat(fd).st_size
        if size < 4096:
            raise LiveError("%s: too short to be a live file" % p)
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    try:
        if m[:8] != MAGIC:
            raise LiveError("%s: not a memtype live file (or not ready yet)" % p)
        (version, fpid, slots, ctypes, cps, rec, dir_off, types_off, chunks_off, ntypes,
         nchunks, nclasses) = struct.unpack_from("<IIIIIIQQQIII", m, 8)
        if version != 1 or rec < 48 or rec > 4096:
            raise LiveError("%s: live file version %d, record size %d; this reader knows "
                            "version 1" % (p, version, rec))
        chunk_bytes = ctypes * rec
        d = Dump(path=p, major=1, minor=0, reason="live", nslots=slots, pid=fpid)
        try:
            d.exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            d.exe = ""
        d.depth = 0
        if nclasses > 1000:
            raise LiveError("%s: corrupt class count %d" % (p, nclasses))
        d.sizes = list(struct.unpack_from("<%dI" % nclasses, m, 68))
        d.modules = _modules(pid)
        types = {}
        dir_entries = struct.unpack_from("<%dI" % (slots * cps), m, dir_off)
        for s in range(slots):
            row = dir_entries[s * cps:(s + 1) * cps]
            for c, idx in enumerate(row):
                if idx == 0 or idx > nchunks:
                    continue
                off = chunks_off + (idx - 1) * chunk_bytes
                if off + chunk_bytes > size:
                    continue
                for i in range(ctypes):
                    a, f, ba, bf, c0, c1 = struct.unpack_from("<6Q", m, off + i * rec)
                    fails = struct.unpack_from("<Q", m, off + i * rec + 48)[0] if rec >= 56 else 0
                    if not (a or f or fails):
                        continue
                    tid = c * ctypes + i
                    t = types.get(tid)
                    if t is None:
                        toff = types_off + tid * 64
                        pc = struct.unpack_from("<Q", m, toff)[0] if tid < ntypes else 0
                        name = m[toff + 8:toff + 64].split(b"\0", 1)[0].decode("utf-8", "replace")
                        t = types[tid] = TypeStats(tid, [pc] if pc and not name else [], name)
                    t.add_record(a, f, ba, bf, c0 | c1 << 64, fails)
        d.types = [types[k] for k in sorted(types)]
        return d
    finally:
        m.close()
