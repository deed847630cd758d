/* dump_format.h - the dump format's contract (docs/format.md) in one place:
 * version, header, section tags, the sizes of fixed records and the numbers
 * their fields take. The writer (core/dump.c) and the C reader
 * (report/c/memtype_stat.c) include it; the Python reader
 * (report/memtype_report/dump.py) is checked against it by py_dump_format
 * (tests/py/test_dump_format.py, through tests/py/dump_format_print.c).
 * Change this file, the writer, the readers and docs/format.md together, and
 * raise MT_DUMP_MINOR when a section or a field's meaning is added. Plain
 * macros and no includes: the reader is built without the core. */
#ifndef MT_DUMP_FORMAT_H
#define MT_DUMP_FORMAT_H

/* ---- file header (64 bytes) --------------------------------------------- */
#define MT_DUMP_MAGIC "memtype\x1a"
#define MT_DUMP_MAGIC_LEN 8
#define MT_DUMP_MAJOR 1u
#define MT_DUMP_MINOR 9u /* 1.1 HIGHUSE; 1.2 FAILURES, ERRORS, LEAKS, GUARD, the stat
                          * records' failures; 1.3 WASTE; 1.4 INHERITED; 1.5 ENDING;
                          * 1.6 RUN; 1.7 STACKS; 1.8 PEAK, TIMELINE, GUARD's method,
                          * the ERRORS records' flags; 1.9 GUARD records' overflow_only,
                          * error kinds 14 (param-overlap) and 15 (bad-param) */
#define MT_DUMP_HEADER_SIZE 64u
#define MT_DUMP_BYTE_ORDER 0x0102u
#define MT_DUMP_FLAGS_OFFSET 16u /* rewritten last, with MT_DUMP_FLAG_COMPLETE */
#define MT_DUMP_FLAG_COMPLETE 1u
#define MT_DUMP_HEADER_RESERVED 32u

/* Why a dump was written (the header's `reason`): X(NAME, value, words). */
#define MT_DUMP_REASONS(X)        \
  X(EXIT, 1, "exit")              \
  X(SIGNAL, 2, "dump signal")     \
  X(FATAL, 3, "fatal signal")

/* ---- sections --------------------------------------------------------------
 * Each is a 16-byte header (tag 4, reserved 4, length 8) and a body padded to
 * a multiple of 8. X(NAME, tag, minor version that added it); tags run from 1
 * without a gap, END apart. */
#define MT_DUMP_SECTION_HEADER 16u
#define MT_DUMP_ALIGN 8u
#define MT_DUMP_SECTIONS(X) \
  X(PROCESS, 1, 0)          \
  X(SIZES, 2, 0)            \
  X(MODULES, 3, 0)          \
  X(TYPES, 4, 0)            \
  X(HIGHUSE, 5, 1)          \
  X(FAILURES, 6, 2)         \
  X(ERRORS, 7, 2)           \
  X(LEAKS, 8, 2)            \
  X(GUARD, 9, 2)            \
  X(WASTE, 10, 3)           \
  X(INHERITED, 11, 4)       \
  X(ENDING, 12, 5)          \
  X(RUN, 13, 6)             \
  X(STACKS, 14, 7)          \
  X(PEAK, 15, 8)            \
  X(TIMELINE, 16, 8)
#define MT_DUMP_TAG_END 0xffffffffu

#define MT_DUMP_TAG_ENUM_(name, tag, since) MT_DUMP_TAG_##name = tag,
#define MT_DUMP_TAG_COUNT_(name, tag, since) +1
enum mt_dump_tag { MT_DUMP_SECTIONS(MT_DUMP_TAG_ENUM_) };
enum { MT_DUMP_NTAGS = 0 MT_DUMP_SECTIONS(MT_DUMP_TAG_COUNT_) }; /* tags 1..MT_DUMP_NTAGS */

/* ---- record layouts (bytes; docs/format.md has their fields) ------------- */
#define MT_DUMP_COUNT_HEADER 8u      /* count (4), reserved or a second count (4) */
#define MT_DUMP_PROCESS_FIXED 40u    /* pid .. reserved; then exe and the arguments */
#define MT_DUMP_CLASS_RECORD 16u     /* SIZES: size, slab_pages, slab_slots, reserved */
#define MT_DUMP_MODULE_FIXED 16u     /* base, path_len, build_id_len, reserved; then bytes */
#define MT_DUMP_TYPE_FIXED 16u       /* id, npcs, name_len, nrecords, reserved */
#define MT_DUMP_STAT_RECORD 56u      /* slot, failures, allocs .. bytes_freed, classes */
#define MT_DUMP_HIGHUSE_VALUE 8u
#define MT_DUMP_EVENT_FRAMES 8u      /* return addresses in a FAILURES or ERRORS event */
#define MT_DUMP_FAILURES_HEADER 40u  /* total, eligible, seed, rate, count, reserved */
#define MT_DUMP_FAILURE_RECORD 112u  /* 48 bytes of fields, then the frames */
#define MT_DUMP_ERRORS_HEADER 16u    /* total, count, reserved */
#define MT_DUMP_ERROR_RECORD 128u    /* 64 bytes of fields, then the frames */
/* ERRORS record `flags` (1.8; the upper half of what was a 4-byte nframes):
 * frames[0] is the faulting instruction's own address (a guard-page fault),
 * not a return address: its line is its own, not the call's before it. */
#define MT_DUMP_ERROR_FAULT_PC 1u
#define MT_DUMP_LEAK_KINDS 4u        /* definitely, indirectly, possibly lost, reachable */
#define MT_DUMP_LEAK_TOTAL 16u       /* per kind: bytes, blocks */
#define MT_DUMP_LEAK_FACTS 16u       /* scan_ns, roots_bytes */
#define MT_DUMP_LEAK_RECORD 32u      /* bytes, blocks, sample, type, kind */
#define MT_DUMP_GUARD_HEADER 24u     /* pages_live, budget_pages, count, method (1.8) */
/* GUARD's method (1.8; 0 in older dumps): how guard pages were made. */
#define MT_DUMP_GUARD_METHODS(X) \
  X(MPROTECT, 1, "mprotect")     \
  X(MADVISE, 2, "madvise")
#define MT_DUMP_GUARD_RECORD 24u     /* type, overflow_only (1.9), guarded, misses */
#define MT_DUMP_WASTE_LARGE 24u      /* large_requests, large_bytes, large_real */
#define MT_DUMP_WASTE_MAX 65536u     /* a reader's bound on WASTE's two counts */
#define MT_DUMP_INHERITED_RECORD 24u /* type, reserved, blocks, bytes */
#define MT_DUMP_ENDING_SIZE 16u      /* how, status, signal, via */
#define MT_DUMP_STACK_REF 24u       /* STACKS: key, what, reserved, alloc, free */
#define MT_DUMP_STACK_FIXED 8u       /* STACKS: id, nframes; then the frames */
#define MT_DUMP_PEAK_HEADER 40u     /* bytes, time_ns, peaks, threads, flags, count, reserved */
#define MT_DUMP_PEAK_RECORD 32u     /* type, flags, bytes, blocks, high */
#define MT_DUMP_PEAK_EXACT 1u       /* PEAK flags: one thread (header); high exact (record) */
#define MT_DUMP_TIMELINE_HEADER 16u /* count, top, spacing_ns */
#define MT_DUMP_SNAPSHOT_FIXED 40u  /* time_ns, bytes, blocks, allocated, ntop, reserved */
#define MT_DUMP_SNAPSHOT_ENTRY 24u  /* type, reserved, bytes, blocks */
#define MT_DUMP_MAX_TYPES 65536u     /* a reader's bound on TYPES's count */

_Static_assert(MT_DUMP_FAILURE_RECORD == 48 + 8 * MT_DUMP_EVENT_FRAMES, "FAILURES record");
_Static_assert(MT_DUMP_ERROR_RECORD == 64 + 8 * MT_DUMP_EVENT_FRAMES, "ERRORS record");

/* The TYPES records' `classes`: a 128-bit bitmap of the size classes a type
 * used. Bit i < the SIZES count is class i; the ones after the last class:
 * X(NAME, bit - SIZES count, name readers show), NAME as in the core's
 * MT_CLASS_BIT_<NAME> (core/sizeclass.h). */
#define MT_DUMP_CLASS_WORDS 2u /* 64-bit words */
#define MT_DUMP_CLASS_EXTRA(X) \
  X(MEDIUM, 0, "pages")        \
  X(HUGE, 1, "huge")           \
  X(POOL, 2, "pool")
#define MT_DUMP_CLASS_EXTRA_COUNT_(name, off, text) +1
enum { MT_DUMP_CLASS_EXTRAS = 0 MT_DUMP_CLASS_EXTRA(MT_DUMP_CLASS_EXTRA_COUNT_) };

#endif
