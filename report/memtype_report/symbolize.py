"""Offline symbolization of call-site addresses with binutils' addr2line,
batched per module and cached: the heaptrack way (record raw addresses and
the module map in the process, resolve later, elsewhere)."""
import os
import shutil
import subprocess

_cache = {}


def _addr2line(path, offsets):
    tool = shutil.which("addr2line")
    if not tool or not os.path.exists(path):
        return {}
    try:
        out = subprocess.run([tool, "-f", "-C", "-e", path] + ["%#x" % o for o in offsets],
                             capture_output=True, text=True, timeout=120).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    res = {}
    for i, off in enumerate(offsets):
        if 2 * i + 1 >= len(out):
            break
        func, loc = out[2 * i], out[2 * i + 1]
        res[off] = (None if func == "??" else func,
                    None if loc.startswith("??") else os.path.basename(loc.split(" ")[0]))
    return res


def names(dump, pcs):
    """{pc: 'function (file.c:42)'} for the given call-site addresses."""
    by_module = {}
    for pc in pcs:
        m = dump.module_of(pc)
        if m is not None:
            by_module.setdefault(m, []).append(pc)
    result = {}
    for m, mpcs in by_module.items():
        # A return address points after the call: pc - 1 is inside it.
        offs = sorted({pc - m.base - 1 for pc in mpcs})
        key = (m.path, m.build_id)
        cached = _cache.setdefault(key, {})
        todo = [o for o in offs if o not in cached]
        if todo:
            cached.update(_addr2line(m.path, todo))
        mod = os.path.basename(m.path)
        for pc in mpcs:
            func, loc = cached.get(pc - m.base - 1, (None, None))
            if func and loc:
                result[pc] = "%s (%s)" % (func, loc)
            elif func:
                # No line table: the nearest exported symbol, with the exact offset.
                result[pc] = "%s (%s+%#x)" % (func, mod, pc - m.base)
            else:
                result[pc] = "%#x (%s+%#x)" % (pc, mod, pc - m.base)
    for pc in pcs:
        result.setdefault(pc, "%#x" % pc)
    return result
