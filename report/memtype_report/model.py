"""The report's model: the rows of the vmstat -m table (the types of one or
more dumps merged by call site or name), their labels, their order and the
groups of dumps by program. Built from dump.py's reader; printed by forms/."""
import os

from . import symbolize


def merge_types(dumps, no_symbolize=False, frames=2, lazy=False):
    """Rows of the vmstat -m table; types of several processes merge by call
    site (module path + offset of each frame) or by name. lazy: labels stay
    raw addresses until label_rows() names the rows shown."""
    class A:  # the few knobs the loop below reads
        pass
    args = A()
    args.no_symbolize, args.frames = no_symbolize, frames
    merged = {}
    for d in dumps:
        names = {} if args.no_symbolize or lazy else symbolize.names(
            d, sorted({pc for t in d.types for pc in t.pcs}))
        for t in d.types:
            if t.allocs == 0 and t.frees == 0 and t.failures == 0 and not t.inherited and \
                    t.id not in (getattr(d, "guard", None) or {}):
                continue
            if t.name:
                key = label = t.name
            elif t.pcs:
                key = []
                for pc in t.pcs:
                    m = d.module_of(pc)
                    key.append((m.path, pc - m.base) if m else ("", pc))
                key = tuple(key)
                label = " < ".join(names.get(pc, "%#x" % pc)
                                   for pc in t.pcs[:max(1, args.frames)])
            else:
                key = label = "(untyped)" if t.id == 0 else "(other sites: type table full)"
            # inuse, mem: blocks and bytes live, summed per process (a
            # forked child's inherited blocks are its own: docs/format.md).
            row = merged.setdefault(key, {"label": label, "allocs": 0, "frees": 0,
                                          "ba": 0, "bf": 0, "sizes": set(), "hu": 0,
                                          "fail": 0, "guard": 0, "gmiss": 0, "real": 0,
                                          "inuse": 0, "mem": 0, "inh": 0,
                                          "_at": key[0] if t.pcs and not t.name else None})
            if lazy and not args.no_symbolize and t.pcs and not t.name and "_src" not in row:
                row["_src"] = (d, t.pcs[:max(1, args.frames)])
            row["fail"] += t.failures
            row["real"] += d.waste.real_by_type.get(t.id, 0) if getattr(d, "waste", None) else 0
            g, gm = (getattr(d, "guard", None) or {}).get(t.id, (0, 0))
            row["guard"] += g
            row["gmiss"] += gm
            if t.highuse is None or row["hu"] is None:
                row["hu"] = None
            else:
                row["hu"] += t.highuse
            row["allocs"] += t.allocs
            row["frees"] += t.frees
            row["ba"] += t.bytes_alloc
            row["bf"] += t.bytes_freed
            row["inuse"] += t.in_use
            row["mem"] += t.in_use_bytes
            row["inh"] += t.inherited
            row["sizes"].update(d.class_names(t.classes))
    rows = sorted(merged.values(), key=lambda r: (-r["mem"], -r["allocs"], r["label"]))
    return rows if lazy else distinct_labels(rows)


def label_rows(rows, n, frames=2):
    """Symbolizes the labels of rows[:n] made by merge_types(lazy=True): a
    table prints 30 rows of what may be 65,000 types."""
    by_dump = {}
    for r in rows[:n]:
        if r.get("_src"):
            d, pcs = r["_src"]
            by_dump.setdefault(id(d), (d, set()))[1].update(pcs)
    names = {k: symbolize.names(d, sorted(pcs)) for k, (d, pcs) in by_dump.items()}
    for r in rows[:n]:
        if r.get("_src"):
            d, pcs = r["_src"]
            r["label"] = " < ".join(names[id(d)].get(pc, "%#x" % pc) for pc in pcs)
    distinct_labels(rows)
    return rows


def distinct_labels(rows):
    """Rows of distinct call sites whose labels are the same (a line of an
    inline wrapper, a function without line information) get the module and
    offset of their call site appended, then a number, so that no two rows
    of a table read alike."""
    by = {}
    for r in rows:
        by.setdefault(r["label"], []).append(r)
    for label, same in by.items():
        if len(same) < 2:
            continue
        for r in same:
            at = r.get("_at")
            if at:
                r["label"] = "%s [%s+%#x]" % (label, os.path.basename(at[0]) or "?", at[1])
        again = {}
        for r in same:
            again.setdefault(r["label"], []).append(r)
        for dup in again.values():
            if len(dup) > 1:
                for k, r in enumerate(dup, 1):
                    r["label"] = "%s #%d" % (r["label"], k)
    return rows


def sort_rows(rows, order):
    if order == "requests":
        rows.sort(key=lambda r: (-r["allocs"], r["label"]))
    elif order == "bytes":
        rows.sort(key=lambda r: (-r["ba"], r["label"]))


def by_program(dumps, order="memuse"):
    """The dumps grouped by program (a process tree: make, cc1, as...), the
    group with the most memory in use (or requests, or bytes) first."""
    groups = {}
    for d in dumps:
        groups.setdefault(os.path.basename(d.exe) or "?", []).append(d)

    def weight(g):
        ts = [t for d in g for t in d.types]
        if order == "requests":
            return sum(t.allocs for t in ts)
        if order == "bytes":
            return sum(t.bytes_alloc for t in ts)
        return sum(t.in_use_bytes for t in ts)
    return sorted(groups.values(), key=lambda g: (-weight(g), os.path.basename(g[0].exe)))


def type_label(d, tid, names):
    """A type's label in dump d: its name, or its call site symbolized."""
    for t in d.types:
        if t.id == tid:
            if t.name:
                return t.name
            if t.pcs:
                return names.get(t.pcs[0], "%#x" % t.pcs[0])
    return "(untyped)" if tid == 0 else "type %d" % tid
