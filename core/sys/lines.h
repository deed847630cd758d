/* lines.h - which source file and line a code address comes from, read from
 * an ELF image's DWARF line tables (.debug_line, versions 2 to 5). The index
 * keeps only the file: one entry where the file changes, so it stays small;
 * the line is found on demand by running again the one unit's program that
 * the entry came from (mt_lines_line). Used by symtab.c, which owns the
 * module mappings. Nothing here allocates from the arena or takes a lock:
 * memory comes from mt_os_map, so a report in a signal handler may build an
 * index or look a line up. */
#ifndef MT_LINES_H
#define MT_LINES_H

#include <stddef.h>
#include <stdint.h>

typedef struct mt_line_s {
  uint64_t addr;    /* link-time address where this file's code starts */
  const char *dir;  /* its directory (may be NULL), in the image */
  const char *name; /* its name; NULL marks the end of a sequence */
  const unsigned char *unit; /* the start of its unit in .debug_line (mt_lines_line) */
} mt_line_t;

/* The index of an ELF image (mapped whole), sorted by address, in internal
 * memory; NULL when it has no usable .debug_line. Every read is checked
 * against the image's bounds: a corrupt table yields less, never a fault. */
mt_line_t *mt_lines_index(const unsigned char *elf, size_t size, uint32_t *n);
/* The entry covering addr in an index, or NULL. */
const mt_line_t *mt_lines_find(const mt_line_t *index, uint32_t n, uint64_t addr);
/* The line of the row covering addr, in the unit of entry e (found by
 * mt_lines_find in the index of the same image); 0 when no row of it covers
 * addr. Runs that unit's program once, in the caller's stack. */
unsigned mt_lines_line(const unsigned char *elf, size_t size, const mt_line_t *e, uint64_t addr);

/* One inlined call covering an address: the function inlined (its names in
 * the image; either may be NULL) and where it was called from. */
typedef struct mt_inline_s {
  const char *name;       /* DW_AT_name: "allocate" */
  const char *linkage;    /* the mangled name, when it has one */
  const char *dir, *file; /* the call's file (dir may be NULL) */
  unsigned line;          /* the call's line, 0 when unknown */
} mt_inline_t;
/* The inlined calls covering link-time address addr in an ELF image
 * (mapped whole), innermost first, from its .debug_info: up to max, their
 * count (0: none, or no usable .debug_info). Frame k's function is out[k]'s
 * name; its line is the line table's for k = 0, else out[k - 1]'s call;
 * the function that holds them all (the symbol) is at out[count - 1]'s call.
 * Reads one compile unit in the caller's stack (about 3 KiB), allocates
 * nothing; a corrupt table yields fewer entries, never a fault. */
unsigned mt_lines_inlined(const unsigned char *elf, size_t size, uint64_t addr, mt_inline_t *out,
                          unsigned max);

/* The index of an image's functions for the same lookups: each code range
 * of each function (DW_TAG_subprogram) of .debug_info, sorted by address,
 * with where its DIE is; in memory from mt_os_map, as the line index; NULL
 * without functions. Built once a module (a walk of all its units), it
 * brings a lookup from a walk of a unit to a walk of one function. */
typedef struct mt_fn_range_s {
  uint64_t lo, hi;        /* link-time [lo, hi) */
  uint32_t unit, die;     /* offsets in .debug_info of its unit and its DIE */
} mt_fn_range_t;
mt_fn_range_t *mt_lines_fn_index(const unsigned char *elf, size_t size, uint32_t *n);
/* mt_lines_inlined through that index (of the same image). scratch: NULL,
 * or mt_lines_scratch_size() bytes the caller keeps for these lookups alone
 * (zeroed at first; one lookup at a time): a unit read once is not read
 * again by the next lookup into it. */
unsigned mt_lines_inlined_by(const unsigned char *elf, size_t size, const mt_fn_range_t *index,
                             uint32_t n, uint64_t addr, mt_inline_t *out, unsigned max,
                             void *scratch);
size_t mt_lines_scratch_size(void);

#endif
