"""Reader for memtype dump files (docs/format.md, version 1.x).

    d = dump.load("memtype.prog.123.mtd")
    for t in d.types: print(t.id, t.pcs, t.allocs, t.in_use_bytes)

Every problem with the file (not a dump, truncated, interrupted, a newer
major version, a section running past the end) raises DumpError with a
message that names the file and what is wrong; nothing else escapes.

Corruption is never read as an empty program. A dump of a minor version
this reader knows can hold only the sections it knows, each once, each
exactly as long as its contents (plus zero padding to 8 bytes), with
PROCESS, SIZES, MODULES and TYPES present and END last; only a newer
minor's unknown sections are skipped (docs/format.md, "Reading").
report/c/memtype_stat.c applies the same rules."""
import os
import struct
from dataclasses import dataclass, field

from . import progress

# The format's constants and record layouts: core/dump_format.h is the
# contract, and py_dump_format (tests/py/test_dump_format.py) checks these
# against it.
MAGIC = b"memtype\x1a"
MAJOR = 1
MINOR = 9   # the newest minor version this reader knows: 1.0 .. 1.9
HEADER = "<8sHHHHIIII32x"   # magic, major, minor, header_size, byte_order, flags, nslots, ...
HEADER_SIZE = 64
BYTE_ORDER = 0x0102
SECTION_HEADER = "<IIQ"     # tag, reserved, length
SECTION_HEADER_SIZE = struct.calcsize(SECTION_HEADER)
COUNT_HEADER = "II"         # a section's count, then reserved (or a second count)
EVENT_FRAMES = 8            # return addresses in a FAILURES or ERRORS event
# Fixed records, little-endian, fields in docs/format.md's order:
PROCESS_FIXED = "IIQQIIII"     # then the exe and the arguments
CLASS_RECORD = "IIII"          # SIZES
MODULE_FIXED = "QHHI"          # then the path and the build-id
TYPE_FIXED = "IHHII"           # then the call sites, the name, the stat records
STAT_RECORD = "IIQQQQQQ"
FAILURES_HEADER = "QQQQII"
FAILURE_FIELDS = "QQQQIHHII"   # then EVENT_FRAMES addresses
ERRORS_HEADER = "QII"
ERROR_FIELDS = "QQQQQQIiHHHH"  # then EVENT_FRAMES addresses
ERROR_FAULT_PC = 1  # ERRORS flags (1.8): frames[0] is the faulting instruction's address
LEAK_TOTAL = "QQ"              # per leak kind
LEAK_FACTS = "QQ"
LEAK_RECORD = "QQQII"
GUARD_HEADER = "QQII"
GUARD_RECORD = "IIQQ"
GUARD_METHODS = {1: "mprotect", 2: "madvise"}   # GUARD's method (1.8; 0 before)
WASTE_LARGE = "QQQ"
INHERITED_RECORD = "IIQQ"
ENDING_RECORD = "IiII"
PEAK_HEADER = "QQQIIII"        # bytes, time_ns, peaks, threads, flags, count, reserved
PEAK_RECORD = "IIQQQ"          # type, flags, bytes, blocks, high
PEAK_EXACT = 1                 # PEAK flags bit: one thread (header), high exact (record)
TIMELINE_HEADER = "IIQ"        # count, top, spacing_ns
SNAPSHOT_FIXED = "QQQQII"      # time_ns, bytes, blocks, allocated, ntop, reserved
SNAPSHOT_ENTRY = "IIQQ"        # type, reserved, bytes, blocks
WASTE_MAX = 65536   # a bound on WASTE's counts: more is corruption
CLASS_EXTRA = ("pages", "huge", "pool")   # the classes bits after the last size class
TAG_PROCESS, TAG_SIZES, TAG_MODULES, TAG_TYPES, TAG_HIGHUSE, TAG_FAILURES = 1, 2, 3, 4, 5, 6
TAG_ERRORS, TAG_LEAKS, TAG_GUARD, TAG_WASTE, TAG_INHERITED, TAG_ENDING = 7, 8, 9, 10, 11, 12
TAG_RUN = 13
TAG_STACKS = 14
TAG_PEAK, TAG_TIMELINE = 15, 16
TAG_END = 0xFFFFFFFF
TAG_NAMES = {TAG_PROCESS: "PROCESS", TAG_SIZES: "SIZES", TAG_MODULES: "MODULES",
             TAG_TYPES: "TYPES", TAG_HIGHUSE: "HIGHUSE", TAG_FAILURES: "FAILURES",
             TAG_ERRORS: "ERRORS", TAG_LEAKS: "LEAKS", TAG_GUARD: "GUARD", TAG_WASTE: "WASTE",
             TAG_INHERITED: "INHERITED", TAG_ENDING: "ENDING", TAG_RUN: "RUN",
             TAG_STACKS: "STACKS", TAG_PEAK: "PEAK", TAG_TIMELINE: "TIMELINE"}
REQUIRED = (TAG_PROCESS, TAG_SIZES, TAG_MODULES, TAG_TYPES)   # in every 1.x dump
FLAG_COMPLETE = 1
REASONS = {1: "exit", 2: "dump signal", 3: "fatal signal"}


class DumpError(Exception):
    """The file cannot be read as a memtype dump; str() says why."""


@dataclass(frozen=True)
class Module:
    base: int
    path: str
    build_id: str


@dataclass
class TypeStats:
    id: int
    pcs: list
    name: str = ""
    allocs: int = 0
    frees: int = 0
    bytes_alloc: int = 0
    bytes_freed: int = 0
    classes: int = 0          # bitmap, see Dump.class_names()
    slots: int = 0            # slot records summed
    highuse: object = None    # high-water mark of bytes in use (None: unknown); before 1.8
                              # sampled, a lower bound; from 1.8 exact where high_exact
    high_exact: bool = False  # highuse is exact (1.8 PEAK: one thread counted the type)
    peak_bytes: object = None   # bytes in use at the heap's peak (1.8 PEAK), None: unknown
    peak_blocks: object = None
    failures: int = 0         # injected failures (MEMTYPE_FAILURE_RATE)
    inherited: int = 0        # a forked child's blocks live at the fork (1.4 on)
    bytes_inherited: int = 0  # their requested bytes

    def add_record(self, allocs, frees, bytes_alloc, bytes_freed, classes, failures=0):
        """Adds one slot's counters (a stat record) into the type's totals."""
        self.failures += failures
        self.allocs += allocs
        self.frees += frees
        self.bytes_alloc += bytes_alloc
        self.bytes_freed += bytes_freed
        self.classes |= classes
        self.slots += 1

    @property
    def in_use(self):
        """Blocks live: a forked child's inherited ones count as its own."""
        return max(0, self.inherited + self.allocs - self.frees)

    @property
    def in_use_bytes(self):
        return max(0, self.bytes_inherited + self.bytes_alloc - self.bytes_freed)


FAMILIES = ("malloc", "new", "new[]")


@dataclass
class Peak:
    """The heap's exact peak of requested bytes in use (format 1.8)."""
    bytes: int
    time_ns: int     # when, since the process started (the timeline's clock, ~4 ms steps)
    count: int       # new peaks recorded over the run
    threads: int     # threads that had a cache; exact == (threads <= 1)
    exact: bool


@dataclass
class Snapshot:
    """One point of the timeline (format 1.8): the heap's bytes and blocks in
    use, the bytes allocated so far, and the biggest types' (id -> (bytes, blocks))."""
    time_ns: int
    bytes: int
    blocks: int
    allocated: int
    top: dict


@dataclass
class FailureEvent:
    seq: int         # 1 for the first injected failure
    eligible: int    # which eligible allocation it was
    time_ns: int
    size: int
    tid: int
    type: int        # type id
    family: str      # malloc, new, new[]
    frames: list     # call stack, innermost first, memtype's frames left out


@dataclass
class Failures:
    total: int = 0
    eligible: int = 0
    seed: int = 0
    rate: int = 0
    events: list = field(default_factory=list)   # the most recent (up to 4096)


ERROR_KINDS = ("invalid-free", "double-free", "realloc-of-freed", "invalid-realloc",
               "heap-buffer-overflow", "write-after-free", "mismatched-free",
               "usable-size-of-freed", "invalid-usable-size", "heap-buffer-underflow",
               "use-after-free", "wild-access", "segv", "bus-error", "param-overlap",
               "bad-param")
ACCESS = ("", "READ", "WRITE")


@dataclass
class ErrorEvent:
    seq: int
    time_ns: int
    kind: str
    access: str      # READ, WRITE or ""
    addr: int
    block: int       # 0 when the address is in no block
    size: int
    type: int        # -1 when unknown
    tid: int
    free_pc: int     # where the block was freed, 0 when not freed or unknown
    frames: list     # where it was detected, innermost first
    alloc_stack: list = field(default_factory=list)  # the block's allocation stack (1.7 STACKS)
    free_stack: list = field(default_factory=list)   # its free stack (1.7 STACKS)
    fault_pc: bool = False  # frames[0] is a faulting instruction's own address (1.8)

    @property
    def sym_frames(self):
        """frames as the symbolizer takes them: every address is read as a
        return address (its line is the call's, the byte before it), so a
        faulting instruction's own address stands as the address after it."""
        if self.fault_pc and self.frames:
            return [self.frames[0] + 1] + self.frames[1:]
        return self.frames


LEAK_KINDS = ("definitely lost", "indirectly lost", "possibly lost", "still reachable")


@dataclass
class LeakRecord:
    type: int
    kind: str        # one of LEAK_KINDS
    bytes: int
    blocks: int
    sample: int      # the address of one of the blocks
    stack: list = field(default_factory=list)  # the sample's allocation stack (1.7 STACKS)


@dataclass
class Leaks:
    totals: dict     # kind -> (bytes, blocks)
    ns: int          # how long the scan took
    roots_bytes: int
    records: list    # LeakRecord, by kind (definite first), biggest first


@dataclass
class Waste:
    requests: list   # requests[b]: requests of (b-1)*16+1 .. b*16 bytes (b = 0: size 0)
    large_requests: int   # requests above the largest bucket
    large_bytes: int      # their bytes requested
    large_real: int       # their bytes handed out (page runs, mappings)
    real_by_type: dict    # type id -> bytes handed out (slots, runs, mappings)


ENDING_HOW = ("unknown", "exit", "signal", "running")
ENDING_VIA = ("", "exit", "_exit", "signal", "error", "crash", "leak exit code", "error exit code")
SIGNAL_NAMES = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
                7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV",
                12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT",
                24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 29: "SIGIO",
                30: "SIGPWR", 31: "SIGSYS"}


@dataclass
class Ending:
    """How the process ended (format 1.4 on): how is "exit" (status), "signal"
    (signal), "running" (a dump on request) or "unknown"; via says through
    what: exit, _exit, signal, error (MEMTYPE_ON_ERROR), crash, leak exit code,
    error exit code."""
    how: str
    status: int
    signal: int
    via: str

    def __str__(self):
        if self.how == "exit":
            s = "exit status %d" % self.status
            return s + (" (%s)" % self.via if self.via in ("_exit", "error", "leak exit code",
                                                           "error exit code") else "")
        if self.how == "signal":
            s = "killed by %s" % SIGNAL_NAMES.get(self.signal, "signal %d" % self.signal)
            return s + (" (%s)" % self.via if self.via in ("error", "crash") else "")
        if self.how == "running":
            return "still running (a dump on request)"
        return "ended in a way memtype did not see"


@dataclass
class Dump:
    path: str
    major: int
    minor: int
    reason: str
    nslots: int
    pid: int = 0
    ppid: int = 0
    start_ns: int = 0
    end_ns: int = 0
    signal: int = 0
    exe: str = ""
    argv: list = field(default_factory=list)
    depth: int = 0
    sizes: list = field(default_factory=list)     # slot size per class
    modules: list = field(default_factory=list)
    types: list = field(default_factory=list)
    unknown_sections: list = field(default_factory=list)
    notes: list = field(default_factory=list)   # what a reader should tell (newer sections)
    failures: object = None   # Failures when injection was on, else None
    errors_total: int = 0     # heap errors reported
    errors: list = field(default_factory=list)   # ErrorEvent, the latest (up to 256)
    leaks: object = None      # Leaks when the leak scan ran (exit dumps), else None
    guard: object = None      # {type id: (guarded, misses)} when memguard was on
    guard_pages: int = 0      # guarded pages live when the dump was written
    guard_budget: int = 0     # memguard's budget in pages
    guard_method: str = ""    # how guard pages were made (1.8 on): mprotect, madvise
    guard_cheap: object = None  # {type id: overflow-only guarded} (1.9 on; saturated at 2**32-1)
    waste: object = None      # Waste (format 1.3 on), else None
    ending: object = None     # Ending (format 1.4 on), else None
    run: str = ""             # MEMTYPE_RUN, the run that wrote it (format 1.6 on)
    peak: object = None       # Peak (format 1.8 on), else None
    timeline: list = field(default_factory=list)   # Snapshot, oldest first (1.8 on)
    timeline_top: int = 0     # types kept per snapshot
    timeline_spacing_ns: int = 0

    def guard_coverage(self):
        """(allocations guarded, all allocations) of a dump with a GUARD
        section, else None."""
        if self.guard is None:
            return None
        return (sum(g for g, _ in self.guard.values()), sum(t.allocs for t in self.types))

    def guard_overflow_only(self):
        """Of the guarded allocations, those guarded overflow-only (their
        use after free found by trash, not at the access); None before 1.9."""
        if self.guard is None or self.guard_cheap is None:
            return None
        return sum(self.guard_cheap.values())

    def class_names(self, bitmap):
        out = []
        for c in range(len(self.sizes) + len(CLASS_EXTRA)):
            if bitmap >> c & 1:
                if c < len(self.sizes):
                    out.append(str(self.sizes[c]))
                else:
                    out.append(CLASS_EXTRA[c - len(self.sizes)])
        return out

    def module_of(self, pc):
        """The module whose image holds pc, or None (an address in no module: a jump
        into the heap, say). A module whose file cannot be read is taken to reach as
        far as the next one."""
        best = None
        for m in self.modules:
            if m.base <= pc and (best is None or m.base > best.base):
                best = m
        if best is not None:
            end = image_size(best.path)
            if end is not None and pc - best.base >= end:
                return None
        return best

    @property
    def program(self):
        """The name the program was started under: argv[0]'s last part
        (redis-server, sh), as ps shows it, not the file the executable
        resolves to (one binary is often installed under several names:
        redis-check-rdb, dash); the executable's name when there is no
        argv[0]."""
        return program_name(self)


_image_sizes = {}


def image_size(path):
    """The end of an ELF file's loaded image, relative to its load address (the
    highest p_vaddr + p_memsz of its PT_LOAD segments), or None when the file
    cannot be read as a 64-bit ELF file."""
    if path in _image_sizes:
        return _image_sizes[path]
    end = None
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) == 64 and head[:4] == b"\x7fELF" and head[4] == 2:
                order = "<" if head[5] == 1 else ">"
                phoff, = struct.unpack_from(order + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
                if 56 <= phentsize <= 4096 and 0 < phnum < 4096:
                    f.seek(phoff)
                    table = f.read(phentsize * phnum)
                    for i in range(len(table) // phentsize):
                        p_type, = struct.unpack_from(order + "I", table, i * phentsize)
                        if p_type == 1:  # PT_LOAD
                            vaddr, = struct.unpack_from(order + "Q", table, i * phentsize + 16)
                            memsz, = struct.unpack_from(order + "Q", table, i * phentsize + 40)
                            end = max(end or 0, vaddr + memsz)
    except (OSError, struct.error):
        end = None
    _image_sizes[path] = end
    return end


class _Cursor:
    def __init__(self, path, data, start, end):
        self.path, self.data, self.pos, self.end = path, data, start, end

    def take(self, n, what):
        if n < 0 or self.pos + n > self.end:
            raise DumpError("%s: truncated or corrupt: %s runs past the end of its section "
                            "(offset %d)" % (self.path, what, self.pos))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u(self, fmt, what):
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size, what))

    def align8(self):
        self.pos = min(self.end, (self.pos + 7) & ~7)


# Control characters (C0, DEL, C1) in a dump's text become '?': a hostile
# dump must not send escape sequences to the terminal of whoever reads it.
_CONTROLS = {c: "?" for c in list(range(0x20)) + list(range(0x7f, 0xa0))}


def program_name(d):
    """Dump.program for a dump or anything with exe and argv (a live view)."""
    argv = getattr(d, "argv", None) or []
    a0 = os.path.basename(argv[0]).lstrip("-") if argv and argv[0] else ""
    return a0 or os.path.basename(getattr(d, "exe", "") or "") or "?"


def _text(b):
    return b.decode("utf-8", "replace").translate(_CONTROLS)


def load(path):
    progress.note("reading %s" % path.rsplit("/", 1)[-1])
    try:
        with open(path, "rb") as f:
            # The magic first: a stream that is no dump (/dev/zero, a log
            # piped in) is refused without reading it all.
            data = f.read(HEADER_SIZE)
            if len(data) == HEADER_SIZE and data[:len(MAGIC)] == MAGIC:
                data += f.read()
    except OSError as e:
        raise DumpError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    except MemoryError:
        raise DumpError("%s: too big to read into memory" % path) from None
    return parse(data, path)


def parse(data, path="<bytes>"):
    if len(data) < HEADER_SIZE and MAGIC.startswith(data[:len(MAGIC)]):
        # Empty, or the magic's start: a writer stopped before its header.
        raise DumpError("%s: truncated inside its header (%d bytes of %d): its writer was "
                        "stopped, or a copy was cut short" % (path, len(data), HEADER_SIZE))
    if len(data) < HEADER_SIZE or data[:len(MAGIC)] != MAGIC:
        raise DumpError("%s: not a memtype dump (no 'memtype\\x1a' magic at the start)" % path)
    _, major, minor, hsize, order, flags, nslots, ntypes, reason = struct.unpack_from(
        HEADER, data, 0)
    if order != BYTE_ORDER:
        raise DumpError("%s: byte-order mark 0x%04x is not 0x0102: corrupt or foreign file"
                        % (path, order))
    if major > MAJOR:
        raise DumpError("%s: written by a newer memtype (format %d.%d); this reader knows "
                        "formats up to %d.%d: upgrade memtype to read it"
                        % (path, major, minor, MAJOR, MINOR))
    if major < MAJOR:
        raise DumpError("%s: format %d.%d is older than any this reader knows (%d.0 to %d.%d), "
                        "and no memtype wrote it (1.0 is the first format): corrupt or "
                        "foreign file" % (path, major, minor, MAJOR, MAJOR, MINOR))
    if not flags & FLAG_COMPLETE:
        raise DumpError("%s: the dump is incomplete (its writer was interrupted); it is not "
                        "read as a whole one" % path)
    if hsize < HEADER_SIZE or hsize > len(data):
        raise DumpError("%s: corrupt header size %d" % (path, hsize))
    d = Dump(path=path, major=major, minor=minor, reason=REASONS.get(reason, str(reason)),
             nslots=nslots)
    pos, seen_end, seen = hsize, False, set()
    while pos + SECTION_HEADER_SIZE <= len(data):
        tag, _, length = struct.unpack_from(SECTION_HEADER, data, pos)
        body = pos + SECTION_HEADER_SIZE
        if body + length > len(data):
            raise DumpError("%s: truncated: section %#x at offset %d claims %d bytes, %d left"
                            % (path, tag, pos, length, len(data) - body))
        if length % 8:
            raise DumpError("%s: corrupt: section %#x at offset %d is %d bytes long, not a "
                            "multiple of 8" % (path, tag, pos, length))
        c = _Cursor(path, data, body, body + length)
        if tag == TAG_END:
            if length or body != len(data):
                raise DumpError("%s: corrupt: the END section at offset %d is followed by %d "
                                "bytes" % (path, pos, len(data) - body))
            seen_end = True
            break
        name = TAG_NAMES.get(tag)
        if name is None and minor <= MINOR:
            raise DumpError("%s: corrupt: section tag %#x at offset %d is not one of format "
                            "%d.%d's" % (path, tag, pos, major, minor))
        if name in seen and name:
            raise DumpError("%s: corrupt: a second %s section at offset %d" % (path, name, pos))
        seen.add(name)
        if tag == TAG_PROCESS:
            _process(c, d)
        elif tag == TAG_SIZES:
            n, _ = c.u(COUNT_HEADER, "class count")
            d.sizes = [c.u(CLASS_RECORD, "class record")[0] for _ in range(n)]
        elif tag == TAG_MODULES:
            n, _ = c.u(COUNT_HEADER, "module count")
            for _ in range(n):
                base, plen, idlen, _ = c.u(MODULE_FIXED, "module record")
                p = _text(c.take(plen, "module path"))
                bid = c.take(idlen, "build-id").hex()
                c.align8()
                d.modules.append(Module(base, p, bid))
        elif tag == TAG_TYPES:
            _types(c, d, ntypes)
        elif tag == TAG_HIGHUSE:
            n, _ = c.u(COUNT_HEADER, "high-use count")
            marks = c.u("%dQ" % n, "high-use marks") if n else ()
            by_id = {t.id: t for t in d.types}
            for tid, v in enumerate(marks):
                if tid in by_id:
                    by_id[tid].highuse = v
        elif tag == TAG_INHERITED:
            n, _ = c.u(COUNT_HEADER, "inherited count")
            by_id = {t.id: t for t in d.types}
            for _ in range(n):
                tid, _, blocks, nbytes = c.u(INHERITED_RECORD, "inherited record")
                if tid in by_id:
                    by_id[tid].inherited += blocks
                    by_id[tid].bytes_inherited += nbytes
        elif tag == TAG_FAILURES:
            _failures(c, d)
        elif tag == TAG_ERRORS:
            _errors(c, d)
        elif tag == TAG_LEAKS:
            _leaks(c, d)
        elif tag == TAG_GUARD:
            d.guard_pages, d.guard_budget, n, method = c.u(GUARD_HEADER, "guard counts")
            d.guard_method = GUARD_METHODS.get(method, "") if minor >= 8 else ""
            d.guard = {}
            d.guard_cheap = {} if minor >= 9 else None
            for _ in range(n):
                tid, cheap, g, m = c.u(GUARD_RECORD, "guard record")
                d.guard[tid] = (g, m)
                if d.guard_cheap is not None:
                    d.guard_cheap[tid] = cheap
        elif tag == TAG_WASTE:
            nb, nt = c.u(COUNT_HEADER, "waste counts")
            if nb > WASTE_MAX or nt > WASTE_MAX:
                raise DumpError("%s: corrupt: WASTE section counts %d, %d" % (path, nb, nt))
            req = list(c.u("%dQ" % nb, "requests by size")) if nb else []
            lr, lb, lreal = c.u(WASTE_LARGE, "large requests")
            real = c.u("%dQ" % nt, "bytes handed out by type") if nt else ()
            d.waste = Waste(req, lr, lb, lreal, {tid: v for tid, v in enumerate(real)})
        elif tag == TAG_STACKS:
            _stacks(c, d)
        elif tag == TAG_ENDING:
            how, status, sig, via = c.u(ENDING_RECORD, "ending")
            d.ending = Ending(ENDING_HOW[how] if how < len(ENDING_HOW) else str(how), status,
                              sig, ENDING_VIA[via] if via < len(ENDING_VIA) else str(via))
        elif tag == TAG_RUN:
            n, _ = c.u("II", "run")
            d.run = _text(c.take(n, "run"))
        elif tag == TAG_PEAK:
            _peak(c, d)
        elif tag == TAG_TIMELINE:
            _timeline(c, d)
        else:
            d.unknown_sections.append(tag)
            c.pos = c.end
        _check_rest(c, name, pos, minor)
        pos = body + length
    if not seen_end:
        raise DumpError("%s: truncated: no END section" % path)
    missing = [TAG_NAMES[t] for t in REQUIRED if TAG_NAMES[t] not in seen]
    if missing:
        raise DumpError("%s: corrupt: no %s section (every dump has one)"
                        % (path, " or ".join(missing)))
    if d.unknown_sections:
        newer = ", ".join("%#x" % t for t in d.unknown_sections)
        d.notes.append("%s: format %d.%d is newer than this reader's %d.%d: its section(s) %s "
                       "are not shown; upgrade memtype to see them"
                       % (path, major, minor, MAJOR, MINOR, newer))
    for t in d.types:  # a sampled mark is at least what is in use now
        if t.highuse is not None:
            t.highuse = max(t.highuse, t.in_use_bytes)
    return d


def _check_rest(c, name, pos, minor):
    """A known section's contents must fill its length up to zero padding
    (a newer minor may give a meaning to reserved bytes: left alone)."""
    rest = c.data[c.pos:c.end]
    if minor <= MINOR and (len(rest) >= 8 or rest.count(0) != len(rest)):
        raise DumpError("%s: corrupt: the %s section at offset %d is %d bytes long but its "
                        "contents take %d" % (c.path, name, pos,
                                              c.end - pos - SECTION_HEADER_SIZE,
                                              c.pos - pos - SECTION_HEADER_SIZE))


def _peak(c, d):
    nbytes, when, count, threads, flags, n, _ = c.u(PEAK_HEADER, "peak")
    if n > 65536:
        raise DumpError("%s: corrupt: PEAK has %d records (at most 65536)" % (d.path, n))
    d.peak = Peak(nbytes, when, count, threads, bool(flags & PEAK_EXACT))
    by_id = {t.id: t for t in d.types}
    for t in d.types:
        t.peak_bytes, t.peak_blocks = 0, 0
    for _ in range(n):
        tid, fl, b, blocks, high = c.u(PEAK_RECORD, "peak record")
        t = by_id.get(tid)
        if t is not None:
            t.peak_bytes, t.peak_blocks = b, blocks
            t.highuse, t.high_exact = high, bool(fl & PEAK_EXACT)


def _timeline(c, d):
    n, d.timeline_top, d.timeline_spacing_ns = c.u(TIMELINE_HEADER, "timeline")
    for _ in range(n):
        when, nbytes, blocks, allocated, ntop, _ = c.u(SNAPSHOT_FIXED, "snapshot")
        if ntop > max(d.timeline_top, 0) or ntop > 65536:
            raise DumpError("%s: corrupt: a snapshot of %d types (at most %d)"
                            % (d.path, ntop, d.timeline_top))
        top = {}
        for _ in range(ntop):
            tid, _, b, k = c.u(SNAPSHOT_ENTRY, "snapshot entry")
            top[tid] = (b, k)
        d.timeline.append(Snapshot(when, nbytes, blocks, allocated, top))


def _process(c, d):
    (d.pid, d.ppid, d.start_ns, d.end_ns, d.signal, argc, exe_len, _) = c.u(
        PROCESS_FIXED, "process facts")
    d.exe = _text(c.take(exe_len, "executable path"))
    for _ in range(argc):
        (n,) = c.u("I", "argument length")
        d.argv.append(_text(c.take(n, "argument")))


def _types(c, d, ntypes):
    n, d.depth = c.u(COUNT_HEADER, "type count")
    if n != ntypes:
        raise DumpError("%s: corrupt: the header says %d types, the TYPES section %d"
                        % (d.path, ntypes, n))
    for _ in range(n):
        tid, npcs, name_len, nrec, _ = c.u(TYPE_FIXED, "type header")
        pcs = list(c.u("%dQ" % npcs, "call-site addresses")) if npcs else []
        name = _text(c.take(name_len, "type name"))
        c.align8()
        t = TypeStats(tid, pcs, name)
        for _ in range(nrec):
            _slot, fails, a, f, ba, bf, c0, c1 = c.u(STAT_RECORD, "stat record")
            # Before 1.2 the failures field was reserved (zero).
            t.add_record(a, f, ba, bf, c0 | c1 << 64, fails)
        d.types.append(t)


def _failures(c, d):
    total, eligible, seed, rate, n, _ = c.u(FAILURES_HEADER, "failure counts")
    f = Failures(total, eligible, seed, rate)
    for _ in range(n):
        seq, nth, t_ns, size, tid, typ, fam, nfr, _ = c.u(FAILURE_FIELDS, "failure event")
        frames = c.u("%dQ" % EVENT_FRAMES, "failure stack")
        if seq == 0:
            continue  # overwritten while the dump was written
        f.events.append(FailureEvent(seq, nth, t_ns, size, tid, typ,
                                     FAMILIES[fam] if fam < len(FAMILIES) else str(fam),
                                     list(frames[:min(nfr, EVENT_FRAMES)])))
    d.failures = f


def _errors(c, d):
    d.errors_total, n, _ = c.u(ERRORS_HEADER, "error counts")
    for _ in range(n):
        # nframes was 4 bytes before 1.8, whose upper half is now the flags
        seq, t_ns, addr, block, size, free_pc, tid, typ, kind, acc, nfr, flags = c.u(
            ERROR_FIELDS, "error event")
        frames = c.u("%dQ" % EVENT_FRAMES, "error stack")
        if seq == 0:
            continue
        d.errors.append(ErrorEvent(seq, t_ns,
                                   ERROR_KINDS[kind] if kind < len(ERROR_KINDS) else str(kind),
                                   ACCESS[acc] if acc < len(ACCESS) else "", addr, block, size,
                                   typ, tid, free_pc, list(frames[:min(nfr, EVENT_FRAMES)]),
                                   fault_pc=bool(flags & ERROR_FAULT_PC)))


def _stacks(c, d):
    """STACKS (1.7): the blocks' stacks of the error and leak records read
    before it (the writer puts it after ERRORS and LEAKS)."""
    nref, nstacks = c.u("II", "stack counts")
    refs = [c.u("QIIII", "stack reference") for _ in range(nref)]
    stacks = {}
    for _ in range(nstacks):
        sid, n = c.u("II", "stack header")
        if n > 64:
            raise DumpError("%s: corrupt: a stack of %d frames in STACKS" % (c.path, n))
        stacks[sid] = list(c.u("%dQ" % n, "stack frames")) if n else []
    errors = {e.seq: e for e in d.errors}
    recs = d.leaks.records if d.leaks else []
    for key, what, _, alloc, free in refs:
        if what == 1 and key in errors:
            errors[key].alloc_stack = stacks.get(alloc, [])
            errors[key].free_stack = stacks.get(free, [])
        elif what == 2 and key < len(recs):
            recs[key].stack = stacks.get(alloc, [])


def _leaks(c, d):
    n, nkinds = c.u(COUNT_HEADER, "leak counts")
    totals = {}
    for k in range(nkinds):
        b, n_blocks = c.u(LEAK_TOTAL, "leak totals")
        totals[LEAK_KINDS[k] if k < len(LEAK_KINDS) else str(k)] = (b, n_blocks)
    ns, roots = c.u(LEAK_FACTS, "leak scan facts")
    recs = []
    for _ in range(n):
        b, blocks, sample, typ, kind = c.u(LEAK_RECORD, "leak record")
        recs.append(LeakRecord(typ, LEAK_KINDS[kind] if kind < len(LEAK_KINDS) else str(kind),
                               b, blocks, sample))
    d.leaks = Leaks(totals, ns, roots, recs)
