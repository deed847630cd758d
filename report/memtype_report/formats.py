"""Machine-readable forms of a set of dumps: JSON (everything, a stable
schema: docs/report-json.md), folded stacks for flame graphs (flamegraph.pl,
speedscope, inferno), and the per-type difference of two dumps."""
import json
import os

from . import symbolize
from .dump import program_name

JSON_SCHEMA = 1


def _program(d):
    return program_name(d)


def _frames_json(d, pcs, fr, keys=None):
    """keys: the addresses by which fr knows each of pcs (an error's
    sym_frames), when not the same."""
    out = []
    for pc, key in zip(pcs, keys or pcs):
        m = d.module_of(pc)
        for f in fr.get(key) or [symbolize.Frame()]:
            out.append({"pc": pc, "module": m.path if m else None,
                        "offset": pc - m.base if m else None, "function": f.function,
                        "file": f.file, "line": f.line or None, "inlined": f.inlined})
    return out


def to_json(dumps, no_symbolize=False):
    """Every dump as one JSON document (a dict)."""
    procs = []
    for d in dumps:
        pcs = sorted({pc for t in d.types for pc in t.pcs} |
                     {pc for e in d.errors
                      for pc in e.sym_frames + [e.free_pc] + e.alloc_stack + e.free_stack if pc} |
                     {pc for e in (d.failures.events if d.failures else []) for pc in e.frames})
        fr = {} if no_symbolize else symbolize.frames(d, pcs)
        guard = d.guard or {}
        types = []
        for t in d.types:
            g, gm = guard.get(t.id, (0, 0))
            types.append({
                "id": t.id, "name": t.name or None, "stack": _frames_json(d, t.pcs, fr),
                "allocs": t.allocs, "frees": t.frees, "bytes_alloc": t.bytes_alloc,
                "bytes_freed": t.bytes_freed, "inherited_blocks": t.inherited,
                "inherited_bytes": t.bytes_inherited, "in_use_blocks": t.in_use,
                "in_use_bytes": t.in_use_bytes, "high_use": t.highuse,
                "sizes": d.class_names(t.classes), "failures": t.failures,
                "guarded": g, "guard_misses": gm,
                "bytes_real": d.waste.real_by_type.get(t.id, 0) if d.waste else None})
        p = {"program": _program(d), "exe": d.exe, "argv": d.argv, "pid": d.pid,
             "ppid": d.ppid, "reason": d.reason, "signal": d.signal or None,
             "ending": {"how": d.ending.how, "status": d.ending.status,
                        "signal": d.ending.signal or None, "via": d.ending.via or None,
                        "text": str(d.ending)} if d.ending else None,
             "start_ns": d.start_ns, "end_ns": d.end_ns, "depth": d.depth,
             "format": "%d.%d" % (d.major, d.minor), "file": d.path,
             "modules": [{"path": m.path, "base": m.base,
                          "build_id": m.build_id or None}
                         for m in d.modules],
             "types": types,
             "errors": {"total": d.errors_total, "events": [
                 {"seq": e.seq, "kind": e.kind, "access": e.access or None, "addr": e.addr,
                  "block": e.block or None, "size": e.size, "type": e.type if e.type >= 0 else None,
                  "tid": e.tid, "stack": _frames_json(d, e.frames, fr, e.sym_frames),
                  "fault_pc": e.fault_pc, "alloc_stack": _frames_json(d, e.alloc_stack, fr) if e.alloc_stack else None,
                  "free_stack": _frames_json(d, e.free_stack or [e.free_pc], fr)
                  if e.free_stack or e.free_pc else []}
                 for e in d.errors]},
             "failures": None, "leaks": None, "guard": None}
        if d.failures is not None:
            f = d.failures
            p["failures"] = {"total": f.total, "rate": f.rate, "eligible": f.eligible,
                             "seed": f.seed, "events": [
                                 {"seq": e.seq, "family": e.family, "size": e.size,
                                  "eligible": e.eligible, "tid": e.tid, "type": e.type,
                                  "stack": _frames_json(d, e.frames, fr)} for e in f.events]}
        if d.leaks is not None:
            p["leaks"] = {"scan_ns": d.leaks.ns, "roots_bytes": d.leaks.roots_bytes,
                          "totals": {k: {"bytes": b, "blocks": n}
                                     for k, (b, n) in d.leaks.totals.items()},
                          "records": [{"kind": r.kind, "type": r.type, "bytes": r.bytes,
                                       "blocks": r.blocks, "sample": r.sample}
                                      for r in d.leaks.records]}
        if d.guard is not None:
            g, n = d.guard_coverage()
            p["guard"] = {"pages_live": d.guard_pages, "budget_pages": d.guard_budget,
                          "guarded": g, "allocations": n, "method": d.guard_method or None,
                          "overflow_only": d.guard_overflow_only()}
        p["waste"] = None
        if d.waste is not None:
            table, large = waste_rows([d])
            p["waste"] = {"by_size": [{"size": s, "requests": n, "real_size": r}
                                      for s, n, r in table],
                          "larger": {"requests": large[0], "bytes": large[1],
                                     "bytes_real": large[2]}}
        p["peak"] = None
        pk = getattr(d, "peak", None)
        if pk is not None:
            held = sorted((t for t in d.types if t.peak_bytes or t.highuse),
                          key=lambda t: (-(t.peak_bytes or 0), t.id))
            p["peak"] = {"bytes": pk.bytes, "time_ns": pk.time_ns, "peaks": pk.count,
                         "threads": pk.threads, "exact": pk.exact,
                         "types": [{"type": t.id, "bytes": t.peak_bytes or 0,
                                    "blocks": t.peak_blocks or 0, "high_use": t.highuse,
                                    "high_exact": t.high_exact} for t in held]}
        p["timeline"] = None
        if getattr(d, "timeline", None):
            p["timeline"] = {"spacing_ns": d.timeline_spacing_ns, "top": d.timeline_top,
                             "snapshots": [{"time_ns": sn.time_ns, "bytes": sn.bytes,
                                            "blocks": sn.blocks, "allocated": sn.allocated,
                                            "types": [{"type": tid, "bytes": b, "blocks": k}
                                                      for tid, (b, k) in sn.top.items()]}
                                           for sn in d.timeline]}
        procs.append(p)
    return {"memtype_report": JSON_SCHEMA, "processes": procs}


def waste_rows(dumps):
    """(rounded size, requests, size handed out) per 16-byte bucket with
    requests, summed over the dumps, and the larger blocks' totals."""
    buckets, large = {}, [0, 0, 0]
    for d in dumps:
        w = d.waste
        if w is None:
            continue
        slots = sorted(d.sizes)
        for b, n in enumerate(w.requests):
            if n:
                size = max(16, b * 16)
                real = next((s for s in slots if s >= size), size)
                r = buckets.setdefault(b * 16, [0, real])
                r[0] += n
        large[0] += w.large_requests
        large[1] += w.large_bytes
        large[2] += w.large_real
    return sorted((size, n, real) for size, (n, real) in buckets.items()), large


FOLDED_WEIGHTS = ("bytes", "allocs", "inuse", "leaks", "peak")


def stacks(dumps, no_symbolize=False):
    """One (frames, weights) per type of each dump: frames are the program
    then the call-site stack, outermost first, inlined frames expanded, a
    named type's name last; weights maps each of FOLDED_WEIGHTS to its value
    (bytes: bytes allocated; allocs: allocations; inuse: bytes in use at the
    dump; leaks: bytes definitely, indirectly or possibly lost; peak: bytes in
    use at the heap's peak, format 1.8 on, else 0)."""
    for d in dumps:
        fr = {} if no_symbolize else symbolize.frames(d, sorted({pc for t in d.types
                                                                  for pc in t.pcs}))
        leaked = {}
        if d.leaks is not None:
            for r in d.leaks.records:
                if r.kind != "still reachable":
                    leaked[r.type] = leaked.get(r.type, 0) + r.bytes
        for t in d.types:
            w = {"bytes": t.bytes_alloc, "allocs": t.allocs, "inuse": t.in_use_bytes,
                 "leaks": leaked.get(t.id, 0), "peak": getattr(t, "peak_bytes", 0) or 0}
            if not any(v > 0 for v in w.values()):
                continue
            names = []
            for pc in reversed(t.pcs):  # outermost first
                m = d.module_of(pc)
                chain = fr.get(pc) or [symbolize.Frame()]
                for f in reversed(chain):
                    names.append(f.function or ("%s+%#x" % (os.path.basename(m.path), pc - m.base)
                                                if m else "%#x" % pc))
            if not names:
                names = [t.name or ("(untyped)" if t.id == 0 else "(other sites)")]
            elif t.name:
                names.append("[%s]" % t.name)
            yield [_program(d)] + names, w


def folded(dumps, weight="bytes", no_symbolize=False):
    """Lines "program;outermost;...;innermost WEIGHT", one per call-site
    stack with a positive weight (see stacks())."""
    acc = {}
    for names, w in stacks(dumps, no_symbolize):
        if w[weight] <= 0:
            continue
        key = ";".join(n.replace(";", ":").replace(" ", "_") for n in names)
        acc[key] = acc.get(key, 0) + w[weight]
    return ["%s %d" % (k, v) for k, v in sorted(acc.items())]
