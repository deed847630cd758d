"""The report's model, built from dump.py's reader and printed by forms/:
processes, the rows of the vmstat -m table (the types of one or more dumps
merged by call site or name, with their labels and their order), and each
process's leaks, heap errors and injected failures with the stacks to show.
Nothing here prints; the symbolized names and frames a view needs are in the
model (symbolize.py resolves them)."""
import os
from dataclasses import dataclass, field
from typing import Optional

from . import symbolize
from .dump import program_name


# ---------------------------------------------------------------- processes

@dataclass
class Process:
    """One process of a report: its dump, and how reports name it."""
    dump: object   # dump.Dump (or live.py's view of a running process)

    @property
    def program(self):
        return program_name(self.dump)

    @property
    def title(self):
        """"prog (pid N)", as every report names a process."""
        return "%s (pid %d)" % (self.program, self.dump.pid)


def processes_title(dumps):
    """The processes of a table in one phrase: each one when there are few,
    else the count and each program once ("12 processes (cc1 x4, make)")."""
    if len(dumps) <= 4:
        return ", ".join(Process(d).title for d in dumps)
    count = {}
    for d in dumps:
        k = Process(d).program
        count[k] = count.get(k, 0) + 1
    return "%d processes (%s)" % (len(dumps), ", ".join(
        "%s x%d" % (k, n) if n > 1 else k for k, n in sorted(count.items())))


def by_program(dumps, order="memuse"):
    """The dumps grouped by program (a process tree: make, cc1, as...), the
    group with the most memory in use (or requests, or bytes) first."""
    groups = {}
    for d in dumps:
        groups.setdefault(Process(d).program, []).append(d)

    def weight(g):
        ts = [t for d in g for t in d.types]
        if order == "requests":
            return sum(t.allocs for t in ts)
        if order == "bytes":
            return sum(t.bytes_alloc for t in ts)
        return sum(t.in_use_bytes for t in ts)
    return sorted(groups.values(), key=lambda g: (-weight(g), program_name(g[0])))


# ---------------------------------------------------------------- types

@dataclass
class TypeRow:
    """A row of the vmstat -m table: one call site (or named type) summed
    over the processes of a table. in_use and in_use_bytes count a forked
    child's inherited blocks as its own (docs/format.md)."""
    label: str
    allocs: int = 0
    frees: int = 0
    bytes_alloc: int = 0
    bytes_freed: int = 0
    in_use: int = 0                    # blocks live
    in_use_bytes: int = 0              # bytes live (MemUse)
    high_use: Optional[int] = 0        # sampled high-water mark; None: unknown in a process
    failures: int = 0                  # injected failures
    guarded: int = 0                   # blocks memguard guarded
    guard_misses: int = 0              # blocks chosen but not guarded
    bytes_real: int = 0                # bytes handed out (0 without a size profile)
    inherited: int = 0                 # blocks a forked child inherited
    sizes: set = field(default_factory=set)   # size-class names
    site: Optional[tuple] = None       # (module path, offset) of the innermost frame
    unnamed: Optional[tuple] = None    # (dump, pcs) still to symbolize (merge_types lazy)

    @property
    def waste(self):
        """Bytes handed out beyond those asked for."""
        return max(0, self.bytes_real - self.bytes_alloc)


def merge_types(dumps, no_symbolize=False, frames=2, lazy=False):
    """Rows of the vmstat -m table, most memory in use first; types of
    several processes merge by call site (module path + offset of each
    frame) or by name. lazy: labels stay raw addresses until label_rows()
    names the rows shown."""
    merged = {}
    for d in dumps:
        names = {} if no_symbolize or lazy else symbolize.names(
            d, sorted({pc for t in d.types for pc in t.pcs}))
        guard = getattr(d, "guard", None) or {}
        waste = getattr(d, "waste", None)
        for t in d.types:
            if t.allocs == 0 and t.frees == 0 and t.failures == 0 and not t.inherited and \
                    t.id not in guard:
                continue
            if t.name:
                key = label = t.name
            elif t.pcs:
                key = []
                for pc in t.pcs:
                    m = d.module_of(pc)
                    key.append((m.path, pc - m.base) if m else ("", pc))
                key = tuple(key)
                label = " < ".join(names.get(pc, "%#x" % pc) for pc in t.pcs[:max(1, frames)])
            else:
                key = label = "(untyped)" if t.id == 0 else "(other sites: type table full)"
            row = merged.get(key)
            if row is None:
                row = merged[key] = TypeRow(label, site=key[0] if t.pcs and not t.name else None)
            if lazy and not no_symbolize and t.pcs and not t.name and row.unnamed is None:
                row.unnamed = (d, t.pcs[:max(1, frames)])
            row.failures += t.failures
            row.bytes_real += waste.real_by_type.get(t.id, 0) if waste else 0
            g, gm = guard.get(t.id, (0, 0))
            row.guarded += g
            row.guard_misses += gm
            if t.highuse is None or row.high_use is None:
                row.high_use = None
            else:
                row.high_use += t.highuse
            row.allocs += t.allocs
            row.frees += t.frees
            row.bytes_alloc += t.bytes_alloc
            row.bytes_freed += t.bytes_freed
            row.in_use += t.in_use
            row.in_use_bytes += t.in_use_bytes
            row.inherited += t.inherited
            row.sizes.update(d.class_names(t.classes))
    rows = sorted(merged.values(), key=lambda r: (-r.in_use_bytes, -r.allocs, r.label))
    return rows if lazy else distinct_labels(rows)


def label_rows(rows, n):
    """Symbolizes the labels of rows[:n] made by merge_types(lazy=True): a
    table prints 30 rows of what may be 65,000 types."""
    by_dump = {}
    for r in rows[:n]:
        if r.unnamed:
            d, pcs = r.unnamed
            by_dump.setdefault(id(d), (d, set()))[1].update(pcs)
    names = {k: symbolize.names(d, sorted(pcs)) for k, (d, pcs) in by_dump.items()}
    for r in rows[:n]:
        if r.unnamed:
            d, pcs = r.unnamed
            r.label = " < ".join(names[id(d)].get(pc, "%#x" % pc) for pc in pcs)
    distinct_labels(rows)
    return rows


def distinct_labels(rows):
    """Rows of distinct call sites whose labels are the same (a line of an
    inline wrapper, a function without line information) get the module and
    offset of their call site appended, then a number, so that no two rows
    of a table read alike."""
    by = {}
    for r in rows:
        by.setdefault(r.label, []).append(r)
    for label, same in by.items():
        if len(same) < 2:
            continue
        for r in same:
            if r.site:
                r.label = "%s [%s+%#x]" % (label, os.path.basename(r.site[0]) or "?", r.site[1])
        again = {}
        for r in same:
            again.setdefault(r.label, []).append(r)
        for dup in again.values():
            if len(dup) > 1:
                for k, r in enumerate(dup, 1):
                    r.label = "%s #%d" % (r.label, k)
    return rows


def sort_rows(rows, order):
    """--sort: memuse keeps merge_types' order; requests and bytes resort."""
    if order == "requests":
        rows.sort(key=lambda r: (-r.allocs, r.label))
    elif order == "bytes":
        rows.sort(key=lambda r: (-r.bytes_alloc, r.label))


def type_label(d, tid, names):
    """A type's label in dump d: its name, or its call site symbolized."""
    for t in d.types:
        if t.id == tid:
            if t.name:
                return t.name
            if t.pcs:
                return names.get(t.pcs[0], "%#x" % t.pcs[0])
    return "(untyped)" if tid == 0 else "type %d" % tid


def _symbols(d, pcs, no_symbolize):
    """(names, frames) of these addresses, both empty without symbolization."""
    if no_symbolize:
        return {}, {}
    return symbolize.names(d, pcs), symbolize.frames(d, pcs)


# ---------------------------------------------------------------- leaks

@dataclass
class Leak:
    """A leak record of the exit scan, with its type's label and stack."""
    record: object    # dump.LeakRecord
    label: str
    stack: list       # the sample block's own allocation stack (1.7 STACKS: checks or guard
                      # pages on), else its type's; innermost first


@dataclass
class ProcessLeaks:
    """The leak records of one process to show, biggest first."""
    process: Process
    scanned: bool               # False: no leak scan in the dump
    leaks: list = field(default_factory=list)     # Leak, those shown
    more: int = 0               # records left out (--lines)
    totals: dict = field(default_factory=dict)    # kind -> (bytes, blocks)
    scan_ns: int = 0
    roots_bytes: int = 0
    frames: dict = field(default_factory=dict)    # pc -> [symbolize.Frame]


def leaks_of(d, no_symbolize=False, lines=30, reachable=False):
    """The leaks of dump d to show: all but the still-reachable ones (all
    with reachable), the first `lines` of them (0: all), symbolized."""
    p = Process(d)
    if d.leaks is None:
        return ProcessLeaks(p, False)
    show = [r for r in d.leaks.records if reachable or r.kind != "still reachable"]
    by_id = {t.id: t for t in d.types}
    shown = show[:lines] if lines else show
    # only the records shown are symbolized: a dump may hold 65,000
    pcs = sorted({pc for r in shown
                  for pc in (by_id[r.type].pcs if r.type in by_id else []) + r.stack})
    names, fr = _symbols(d, pcs, no_symbolize)
    leaks = [Leak(r, type_label(d, r.type, names),
                  r.stack or (by_id[r.type].pcs if r.type in by_id else [])) for r in shown]
    return ProcessLeaks(p, True, leaks, len(show) - len(shown) if lines else 0,
                        d.leaks.totals, d.leaks.ns, d.leaks.roots_bytes, fr)


# ---------------------------------------------------------------- errors

@dataclass
class HeapError:
    """A heap error event, where its address lies and the stacks to show."""
    event: object          # dump.ErrorEvent
    block_label: str       # the block's type ("?" unknown), "" when in no block
    relation: str          # "after", "before" or "into" the block ("" when in none)
    distance: int          # bytes after, before or into the block
    alloc_stack: list      # the block's own allocation stack (1.7 STACKS), else its type's
                           # ([] when unknown)
    free_stack: list       # the block's own free stack, else where it was freed ([] when
                           # not or unknown)
    fault: bool = False    # frames[0] is the faulting instruction, not a return address


# Kinds only memtype's fault handler reports: their stack starts at the
# faulting instruction (core/types/report.c, error_stack). A guard page's
# heap-buffer-overflow/underflow does too, but a redzone's (found in code) does
# not: from 1.8 the record's flags say which (fault_pc); before, those stay
# return addresses.
FAULT_KINDS = ("use-after-free", "wild-access", "segv", "bus-error")


def is_fault(e):
    """Is the error's frames[0] a faulting instruction's own address? A 1.8
    dump says so (a guard page's overflow too); before, the kinds only a
    fault reports."""
    return bool(e.frames) and (e.fault_pc or e.kind in FAULT_KINDS)


@dataclass
class ProcessErrors:
    """The heap errors of one process to show, oldest first."""
    process: Process
    total: int                                    # errors reported in the process
    errors: list = field(default_factory=list)    # HeapError, the last `lines` of them
    frames: dict = field(default_factory=dict)
    fault_frames: dict = field(default_factory=dict)   # faulting pcs, looked up exactly

    def access_lines(self, err):
        """The symbolized lines of where err was detected: from the faulting
        instruction on for a fault."""
        return symbolize.stack_lines(self.process.dump, err.event.frames, self.frames,
                                     self.fault_frames if err.fault else None)

    def lines(self, stack):
        """The symbolized lines of a stack of return addresses."""
        return symbolize.stack_lines(self.process.dump, stack, self.frames)


def errors_of(d, no_symbolize=False, lines=30):
    p = Process(d)
    if not d.errors_total:
        return ProcessErrors(p, 0)
    pcs = sorted({pc for e in d.errors
                  for pc in e.sym_frames + [e.free_pc] + e.alloc_stack + e.free_stack if pc} |
                 {pc for t in d.types for pc in t.pcs})
    names, fr = _symbols(d, pcs, no_symbolize)
    faults = sorted({e.frames[0] for e in d.errors if is_fault(e)})
    fault_fr = symbolize.frames(d, faults, exact=True) if faults and not no_symbolize else {}
    by_id = {}
    for t in d.types:
        by_id.setdefault(t.id, t)
    out = []
    for e in d.errors[-lines:] if lines else d.errors:
        relation, distance, label = "", 0, ""
        if e.block:
            end = e.block + e.size
            if e.addr >= end and e.addr != e.block:
                relation, distance = "after", e.addr - end
            elif e.addr < e.block:
                relation, distance = "before", e.block - e.addr
            else:
                relation, distance = "into", e.addr - e.block
            label = type_label(d, e.type, names) if e.type >= 0 else "?"
        t = by_id.get(e.type) if e.block and e.type >= 0 else None
        out.append(HeapError(e, label, relation, distance, e.alloc_stack or (t.pcs if t else []),
                             e.free_stack or ([e.free_pc] if e.free_pc else []),
                             is_fault(e)))
    return ProcessErrors(p, d.errors_total, out, fr, fault_fr)


# ---------------------------------------------------------------- failures

@dataclass
class Failure:
    """An injected failure with its type's label."""
    event: object    # dump.FailureEvent
    label: str


@dataclass
class ProcessFailures:
    """The injected failures of one process to show, newest last."""
    process: Process
    injection: object                              # dump.Failures, None when it was off
    failures: list = field(default_factory=list)   # Failure, the last `lines` of them
    frames: dict = field(default_factory=dict)
    died_after: Optional[Failure] = None           # the last failure, when a signal followed it


def failures_of(d, no_symbolize=False, lines=30):
    p = Process(d)
    f = d.failures
    if f is None:
        return ProcessFailures(p, None)
    pcs = sorted({pc for e in f.events for pc in e.frames} |
                 {pc for t in d.types for pc in t.pcs[:1]})
    names, fr = _symbols(d, pcs, no_symbolize)
    shown = [Failure(e, type_label(d, e.type, names))
             for e in (f.events[-lines:] if lines else f.events)]
    died = None
    if d.reason == "fatal signal" and f.events:
        died = Failure(f.events[-1], type_label(d, f.events[-1].type, names))
    return ProcessFailures(p, f, shown, fr, died)


# ---------------------------------------------------------------- growth

@dataclass
class Growth:
    """A type's change from dump A to dump B (`memtype diff`)."""
    label: str
    in_use_a: int
    in_use_b: int
    bytes_a: int        # bytes in use in A
    bytes_b: int
    requests: int       # allocations made in between

    @property
    def growth(self):
        return self.bytes_b - self.bytes_a


def growth(a, b, no_symbolize=False):
    """Growth of every type of dump a or b, the biggest first; types match by
    their labels."""
    ra = {r.label: r for r in merge_types([a], no_symbolize)}
    rb = {r.label: r for r in merge_types([b], no_symbolize)}
    zero = TypeRow("")
    out = []
    for label in set(ra) | set(rb):
        x, y = ra.get(label, zero), rb.get(label, zero)
        out.append(Growth(label, x.in_use, y.in_use, x.in_use_bytes, y.in_use_bytes,
                          y.allocs - x.allocs))
    out.sort(key=lambda g: (-g.growth, g.label))
    return out


# ---------------------------------------------------------------- peak and timeline

@dataclass
class PeakRow:
    """A type's share of the heap's peak (format 1.8 PEAK)."""
    label: str
    bytes: int            # requested bytes it held at the peak
    blocks: int
    percent: float        # of the peak
    high: Optional[int]   # its own high-water mark (None: unknown)
    high_exact: bool      # exact (one thread counted it), else a lower bound


@dataclass
class ProcessPeak:
    process: Process
    peak: object          # dump.Peak, None when the dump has none (before 1.8)
    rows: list = field(default_factory=list)   # PeakRow, biggest at the peak first
    more: int = 0         # rows left out (--lines)


def peak_of(d, no_symbolize=False, lines=30):
    """The types that held memory at the peak of dump d, biggest first."""
    p = Process(d)
    pk = getattr(d, "peak", None)
    if pk is None:
        return ProcessPeak(p, None)
    held = sorted((t for t in d.types if t.peak_bytes), key=lambda t: (-t.peak_bytes, t.id))
    shown = held[:lines] if lines else held
    names, _ = _symbols(d, sorted({t.pcs[0] for t in shown if t.pcs}), no_symbolize)
    rows = [PeakRow(type_label(d, t.id, names), t.peak_bytes, t.peak_blocks or 0,
                    100.0 * t.peak_bytes / pk.bytes if pk.bytes else 0.0,
                    t.highuse, t.high_exact) for t in shown]
    return ProcessPeak(p, pk, rows, len(held) - len(shown))


@dataclass
class Series:
    """One type's bytes in use over the timeline (None where it was not
    among a snapshot's biggest: then it is in `other`)."""
    label: str
    type: int
    values: list
    peak: int             # the most it held in a snapshot


@dataclass
class ProcessTimeline:
    process: Process
    times_ns: list = field(default_factory=list)    # per snapshot, since the start
    allocated: list = field(default_factory=list)   # bytes allocated so far
    totals: list = field(default_factory=list)      # the heap's bytes in use
    blocks: list = field(default_factory=list)
    series: list = field(default_factory=list)      # Series of the top types, biggest first
    other: list = field(default_factory=list)       # the rest, per snapshot
    spacing_ns: int = 0
    peak: object = None   # dump.Peak or None


def timeline_of(d, no_symbolize=False, top=6):
    """Dump d's snapshots with the `top` types that held the most in any of
    them as series and the rest summed as `other` (empty before 1.8)."""
    p = Process(d)
    snaps = getattr(d, "timeline", None) or []
    tl = ProcessTimeline(p, [s.time_ns for s in snaps], [s.allocated for s in snaps],
                         [s.bytes for s in snaps], [s.blocks for s in snaps],
                         spacing_ns=getattr(d, "timeline_spacing_ns", 0),
                         peak=getattr(d, "peak", None))
    most = {}
    for s in snaps:
        for tid, (b, _k) in s.top.items():
            most[tid] = max(most.get(tid, 0), b)
    chosen = sorted(most, key=lambda tid: (-most[tid], tid))[:top]
    by_id = {t.id: t for t in d.types}
    names, _ = _symbols(d, sorted({by_id[tid].pcs[0] for tid in chosen
                                   if tid in by_id and by_id[tid].pcs}), no_symbolize)
    for tid in chosen:
        tl.series.append(Series(type_label(d, tid, names), tid,
                                [s.top.get(tid, (0, 0))[0] for s in snaps], most[tid]))
    tl.other = [max(0, s.bytes - sum(s.top.get(tid, (0, 0))[0] for tid in chosen))
                for s in snaps]
    return tl
