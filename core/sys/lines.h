/* lines.h - which source file a code address comes from, read from an ELF
 * image's DWARF line tables (.debug_line, versions 2 to 5). Only the file is
 * kept, not the line: the index holds one entry where the file changes, so
 * it stays small. Used by symtab.c, which owns the module mappings. */
#ifndef MT_LINES_H
#define MT_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mt_line_s {
  uint64_t addr;    /* link-time address where this file's code starts */
  const char *dir;  /* its directory (may be NULL), in the image */
  const char *name; /* its name; NULL marks the end of a sequence */
} mt_line_t;

/* The index of an ELF image (mapped whole), sorted by address, in internal
 * memory; NULL when it has no usable .debug_line. Every read is checked
 * against the image's bounds: a corrupt table yields less, never a fault. */
mt_line_t *mt_lines_index(const unsigned char *elf, size_t size, uint32_t *n);
/* The row of the image's line programs covering addr: its file (dir, name)
 * and line; false when none does. Runs every line program (no index: for
 * the few addresses an error report names). Not thread-safe: the caller
 * serializes (symtab.c's lock). */
bool mt_lines_lookup(const unsigned char *elf, size_t size, uint64_t addr, mt_line_t *at,
                     unsigned *line);
/* The entry covering addr in an index, or NULL. */
const mt_line_t *mt_lines_find(const mt_line_t *index, uint32_t n, uint64_t addr);

#endif
