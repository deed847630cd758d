"""Reader of a running process's live file (/dev/shm/memtype.PID.live,
written by core/heap/live.c when MEMTYPE_LIVE=1): sums every slot without
stopping the process, as libmemstat reads the kernel's per-CPU slots."""
import os
import struct

from .dump import Dump, Module, TypeStats

MAGIC = b"mtlive\x00\x01"


class LiveError(Exception):
    """The live view of a process cannot be read; str() says why."""


def path_of(pid):
    return "/dev/shm/memtype.%d.live" % pid


def _load_segments(path, cache):
    """(p_offset page, p_vaddr page) of each executable PT_LOAD of the ELF
    file at path, [] when it is not one we can read."""
    if path in cache:
        return cache[path]
    segs = []
    try:
        with open(path, "rb") as e:
            head = e.read(64)
            if len(head) == 64 and head[:4] == b"\x7fELF" and head[4] == 2 and head[5] == 1:
                phoff, = struct.unpack_from("<Q", head, 32)
                phentsize, phnum = struct.unpack_from("<HH", head, 54)
                if 56 <= phentsize <= 4096 and phnum < 4096:
                    e.seek(phoff)
                    ph = e.read(phentsize * phnum)
                    for i in range(len(ph) // phentsize):
                        p_type, p_flags, p_offset, p_vaddr = struct.unpack_from(
                            "<IIQQ", ph, i * phentsize)
                        if p_type == 1 and p_flags & 1:  # PT_LOAD, PF_X
                            segs.append((p_offset & ~0xfff, p_vaddr & ~0xfff))
    except OSError:
        pass
    cache[path] = segs
    return segs


def _modules(pid):
    """The process's modules with their load biases, from the executable
    mappings in /proc/PID/maps: the bias is where the loader put the code
    segment less the address the ELF file gives it (0 for a fixed-address
    executable). Mappings that are not the loader's (the live file itself,
    a file memtype or the program maps to read) have no execute right and
    are left out, so no call site is put in them."""
    mods, seen, cache = [], set(), {}
    try:
        with open("/proc/%d/maps" % pid) as f:
            lines = f.readlines()
    except OSError:
        return mods
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6 or "x" not in parts[1] or not parts[5].startswith("/"):
            continue
        path = parts[5].strip()
        if path.endswith(" (deleted)"):
            path = path[:-len(" (deleted)")]
        start = int(parts[0].split("-")[0], 16)
        offset = int(parts[2], 16)
        base = None
        for seg_off, seg_vaddr in _load_segments(path, cache):
            if seg_off == offset:
                base = start - seg_vaddr
                break
        if base is None or (path, base) in seen:
            continue
        seen.add((path, base))
        mods.append(Module(base, path, ""))
    return mods


def pid_alive(pid):
    """Is process pid running? A zombie is not: it has ended, only its
    parent has not reaped it yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[:1] != [b"Z"]
    except OSError:
        return True


def _maps_file(pid, path):
    """Does process pid map path? None when its maps cannot be read."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return any(l.rstrip("\n").split(None, 5)[-1] == path for l in f if "/" in l)
    except OSError:
        return None


def _stale(pid, p, st, now):
    """Is p, process pid's live file, left over? Its process is gone, or no
    longer maps it (it exec'd a program without memtype, or the pid went to
    another program); not a file just made (a process maps it right after
    creating it)."""
    if not pid_alive(pid):
        return True
    return now - st.st_mtime >= 2 and _maps_file(pid, p) is False


def sweep(now=None, keep=None):
    """Removes the live files whose process is gone (it died of a signal
    before removing its file, or ended some other way memtype did not see)
    or no longer maps it (it exec'd a program without memtype); only those
    this user may remove; not pid keep's (read() says what it finds).
    Returns the paths removed."""
    import glob
    import time
    removed = []
    now = time.time() if now is None else now
    for p in glob.glob("/dev/shm/memtype.*.live"):
        try:
            pid = int(p[len("/dev/shm/memtype."):-len(".live")])
            st = os.stat(p)
        except (ValueError, OSError):
            continue
        if pid == keep or not _stale(pid, p, st, now):
            continue
        try:
            os.unlink(p)
            removed.append(p)
        except OSError:
            pass
    return removed


class _Reader:
    """The live file read with pread, never mapped: a read fault on a hole
    of a shared tmpfs mapping gives the file a page (a reader of the whole
    directory would add a megabyte to a file of a few kilobytes); pread of
    a hole reads zeros and allocates nothing."""

    def __init__(self, fd):
        self.fd = fd

    def __getitem__(self, sl):
        start = sl.start or 0
        return os.pread(self.fd, sl.stop - start, start)

    def unpack(self, fmt, off):
        n = struct.calcsize(fmt)
        b = os.pread(self.fd, n, off)
        if len(b) < n:
            raise LiveError("the live file is shorter than its header says")
        return struct.unpack(fmt, b)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def read(pid):
    """A Dump-like snapshot of process pid's live statistics."""
    p = path_of(pid)
    try:
        fd = os.open(p, os.O_RDONLY)
    except FileNotFoundError:
        if not pid_alive(pid):
            raise LiveError("no process %d (it has exited, or never was)" % pid) from None
        raise LiveError("no live view for pid %d (%s does not exist): run the program with "
                        "MEMTYPE_LIVE=1 (memtype run --live=1)" % (pid, p)) from None
    except OSError as e:
        raise LiveError("%s: %s" % (p, e.strerror)) from None
    m = _Reader(fd)
    size = os.fstat(fd).st_size
    if size < 4096:
        m.close()
        raise LiveError("%s: too short to be a live file" % p)
    import time
    if _stale(pid, p, os.stat(p), time.time()):
        # Its figures are those of a process that is gone or no longer runs
        # under memtype. Removed when we may.
        m.close()
        gone = not pid_alive(pid)
        try:
            os.unlink(p)
            what = "its stale live file %s removed" % p
        except OSError as e:
            what = "its stale live file %s left (%s)" % (p, e.strerror)
        raise LiveError("%s; %s" % ("no process %d (it has exited)" % pid if gone else
                                    "process %d no longer runs under memtype" % pid, what))
    try:
        if m[:8] != MAGIC:
            raise LiveError("%s: not a memtype live file (or not ready yet)" % p)
        (version, fpid, slots, ctypes, cps, rec, dir_off, types_off, chunks_off, ntypes,
         nchunks, nclasses) = m.unpack("<IIIIIIQQQIII", 8)
        if version not in (1, 2) or rec < 48 or rec > 4096:
            raise LiveError("%s: live file version %d, record size %d; this reader knows "
                            "versions 1 and 2 (use a newer memtype)" % (p, version, rec))
        # Where a record's `failures` is: version 1 after `classes`, version 2 after the
        # fast paths' counters (bytes_real, hroom).
        fails_off = 48 if version == 1 else 64
        chunk_bytes = ctypes * rec
        d = Dump(path=p, major=1, minor=0, reason="live", nslots=slots, pid=fpid)
        try:
            d.exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            d.exe = ""
        d.depth = 0
        if nclasses > 1000:
            raise LiveError("%s: corrupt class count %d" % (p, nclasses))
        d.sizes = list(m.unpack("<%dI" % nclasses, 68))
        d.modules = _modules(pid)
        types = {}
        dir_entries = m.unpack("<%dI" % (slots * cps), dir_off)
        for s in range(slots):
            row = dir_entries[s * cps:(s + 1) * cps]
            for c, idx in enumerate(row):
                if idx == 0 or idx > nchunks:
                    continue
                off = chunks_off + (idx - 1) * chunk_bytes
                if off + chunk_bytes > size:
                    continue
                chunk = m[off:off + chunk_bytes]
                for i in range(ctypes):
                    a, f, ba, bf, c0, c1 = struct.unpack_from("<6Q", chunk, i * rec)
                    fails = (struct.unpack_from("<Q", chunk, i * rec + fails_off)[0]
                             if rec >= fails_off + 8 else 0)
                    if not (a or f or fails):
                        continue
                    tid = c * ctypes + i
                    t = types.get(tid)
                    if t is None:
                        toff = types_off + tid * 64
                        trec = m[toff:toff + 64]
                        pc = struct.unpack_from("<Q", trec, 0)[0] if tid < ntypes else 0
                        name = trec[8:64].split(b"\0", 1)[0].decode("utf-8", "replace")
                        t = types[tid] = TypeStats(tid, [pc] if pc and not name else [], name)
                    t.add_record(a, f, ba, bf, c0 | c1 << 64, fails)
        d.types = [types[k] for k in sorted(types)]
        return d
    finally:
        m.close()
