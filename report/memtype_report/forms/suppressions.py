"""`memtype report --suppressions`: a suppressions file (MEMTYPE_SUPPRESS,
`memtype run --suppress`) with one rule for each leak record and each heap
error of the dumps, as valgrind's --gen-suppressions writes them: run once,
keep the rules of what is known, and the next runs report only what is new.

Each rule names the function of the first frame of the stack the report
shows (a leak: where the block was allocated; an error: where it was
detected), anchored at the start of the name and without its parameters,
which memtype's matcher reads from the same symbol table: `leak:^make_pair`,
`heap-buffer-overflow:^shop::Basket::overflow_write`; a leak's rule passes
over allocation wrappers (xmalloc, g_malloc, strdup...) and the C and C++
runtimes to the first frame that is the program's. A frame with no
function name gives its module, as a comment to edit. Above each rule, what
it covers."""
from .. import symbolize
from ..model import errors_of, leaks_of


def function_of(chain):
    """The name memtype's matcher sees for a frame: the function whose
    symbol holds the address (the outermost of an inlined chain), without
    its parameter list."""
    if not chain or not chain[-1].function:
        return None
    name = chain[-1].function
    depth = 0
    for i, c in enumerate(name):
        depth += c == "<"
        depth -= c == ">"
        if c == "(" and depth == 0 and i > 0 and not name.startswith("operator()", i - 8):
            return name[:i]
    return name


# An allocation wrapper (xmalloc, g_malloc0, strdup, operator new...) or
# the C and C++ runtimes: a rule on it would take every leak made through
# it, so a leak's rule names the first frame past them (the first frame
# when every one is such).
WRAPPER_WORDS = ("alloc", "strdup", "strndup", "memdup", "operator new")
RUNTIME_MODULES = ("libc.so", "libstdc++.so", "ld-linux", "libmemtype.so")


def is_wrapper(d, pc, name):
    m = d.module_of(pc)
    if m is not None and m.path and any(r in symbolize._short(m.path) for r in RUNTIME_MODULES):
        return True
    low = name.lower()
    return any(w in low for w in WRAPPER_WORDS)


NO_NAME = "# (no function name: its module, a rule to narrow or drop) "
WRAPPER = ("# (every frame past this one is an allocation wrapper, the C or C++ runtime, or "
           "has no name: the rule may take more than this leak)")


def rule_for(d, word, pcs, fr, past_wrappers=False):
    """The rule for a stack and the comment it needs: a line to print
    before it (WRAPPER), or a prefix that comments it out (NO_NAME); None
    when no frame can be named."""
    first = None
    for pc in pcs:
        name = function_of(fr.get(pc))
        if name:
            rule = "%s:^%s" % (word, name)
            if not past_wrappers or not is_wrapper(d, pc, name):
                return rule, None
            first = first or rule
            continue
        m = d.module_of(pc)
        if first is None and m is not None and m.path:
            return "%s:%s" % (word, symbolize._short(m.path)), NO_NAME
    return (first, WRAPPER) if first else (None, None)


def emit(rule, note):
    if note == NO_NAME:
        print(NO_NAME + rule)
        return
    if note:
        print(note)
    print(rule)


def show(dumps, args):
    seen = set()
    print("# memtype suppressions, written by memtype report --suppressions from %s"
          % ", ".join(getattr(d, "path", "?") for d in dumps))
    print("# give it to memtype run --suppress FILE (MEMTYPE_SUPPRESS=FILE); keep the rules of")
    print("# what is known, delete the others.")
    for d in dumps:
        pl = leaks_of(d, args.no_symbolize, 0)
        title = pl.process.title
        for leak in pl.leaks if pl.scanned else []:
            r = leak.record
            rule, note = rule_for(d, "leak", leak.stack, pl.frames, past_wrappers=True)
            if rule is None or rule in seen:
                continue
            seen.add(rule)
            print()
            print("# %d bytes in %d block%s %s, type %s, in %s"
                  % (r.bytes, r.blocks, "" if r.blocks == 1 else "s", r.kind, leak.label, title))
            emit(rule, note)
        pe = errors_of(d, args.no_symbolize, 0)
        for err in pe.errors:
            e = err.event
            fr = pe.fault_frames if err.fault else pe.frames
            first = [e.frames[0]] if err.fault and e.frames else []
            rule, note = rule_for(d, e.kind, first, fr)
            if rule is None:
                rule, note = rule_for(d, e.kind, e.frames[1:] if first else e.frames,
                                      pe.frames)
            if rule is None or rule in seen:
                continue
            seen.add(rule)
            print()
            where = (" (%d bytes %s a %d-byte block of type %s)"
                     % (err.distance, err.relation, e.size, err.block_label)
                     if err.relation else "")
            print("# %s%s at %#x%s, in %s" % (e.kind, " " + e.access if e.access else "",
                                             e.addr, where, title))
            emit(rule, note)
    if not seen:
        print()
        print("# (no leak and no heap error in these dumps)")
