"""`memtype report --waste`: MALLOC_PROFILE's table and the waste by type."""
from .. import formats
from ..model import Process, by_program, merge_types


def print_waste(dumps, rows, lines=30):
    """MALLOC_PROFILE's waste table, then the totals (exact: bytes handed out
    minus bytes requested) overall and by type (rows: model.TypeRow)."""
    procs = ", ".join(Process(d).title for d in dumps)
    if all(d.waste is None for d in dumps):
        print("memtype: %s: no size profile in this dump (format 1.3 or later has one)" % procs)
        return
    table, large = formats.waste_rows(dumps)
    # A row holds the requests of size-15 .. size bytes (the dump counts them
    # by 16-byte bucket, not their bytes), so its waste is known between two
    # bounds: all of them size bytes, or all size-15. The totals and the
    # per-type table below are exact (bytes handed out minus bytes asked).
    print("memtype: requests by size in %s (rounded up to 16 bytes, as MALLOC_PROFILE; a "
          "row's waste lies between its two bounds, the totals below are exact)" % procs)
    print("%10s %12s %10s %14s %14s" % ("Size", "Requests", "Real size", "Waste from", "to"))
    for size, n, real in table:
        low = max(0, size - 15) if size else 0
        print("%10d %12d %10d %14d %14d" % (size, n, real, n * (real - size), n * (real - low)))
    if large[0]:
        print("%10s %12d %10s %14d %14d  (%d bytes asked, %d handed out)" % (
            "larger", large[0], "pages", large[2] - large[1], large[2] - large[1], large[1],
            large[2]))
    real = sum(d.waste.real_by_type.get(t.id, 0) for d in dumps if d.waste for t in d.types)
    asked = sum(t.bytes_alloc for d in dumps if d.waste for t in d.types)
    waste = max(0, real - asked)
    print("Total memory used: %d bytes; total waste: %d bytes (%.1f%%) -- exact: bytes handed "
          "out minus bytes requested" % (real, waste, 100.0 * waste / real if real else 0))
    by = [r for r in rows if r.bytes_real]
    by.sort(key=lambda r: (-(r.bytes_real - r.bytes_alloc), r.label))
    if by:
        width = max([20] + [min(100, len(r.label)) for r in by[:lines]])
        print("%-*s %10s %12s %12s %12s %7s" % (width, "Type", "Requests", "Requested",
                                                "Handed out", "Waste", "Waste%"))
        for r in by[:lines]:
            print("%-*s %10d %12d %12d %12d %6.1f%%" % (width, r.label[:width], r.allocs,
                                                        r.bytes_alloc, r.bytes_real, r.waste,
                                                        100.0 * r.waste / r.bytes_real))


def show(dumps, args):
    for group in [dumps] if args.merge else by_program(dumps, args.sort):
        print_waste(group, merge_types(group, args.no_symbolize, args.frames), args.lines)
