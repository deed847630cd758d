/* memtype.h - the public API of libmemtype, for programs that want to talk
 * to the debugger they run under. Everything here is optional: memtype works
 * on unmodified binaries through LD_PRELOAD. Link with -lmemtype (which also
 * makes memtype the program's allocator), or look the functions up with
 * dlsym(RTLD_DEFAULT, "memtype_owns") to stay runnable without it.
 *
 * Explicit types, in the style of FreeBSD's malloc(9):
 *
 *     MEMTYPE_DEFINE(M_PARSER, "parser", "parse trees and tokens");
 *     struct node *n = memtype_malloc(sizeof(*n), M_PARSER, MEMTYPE_ZERO);
 *     ...
 *     memtype_free(n, M_PARSER);
 *
 * Blocks allocated this way are counted under the type's name in memtype's
 * statistics, the exit table and the dump, instead of under their call site.
 * Memory a program manages itself (pools, arenas, mmap'd caches) can be
 * reported into a type with memtype_type_allocated()/memtype_type_freed(),
 * as malloc_type_allocated()/malloc_type_freed() do for contigmalloc(9). */
#ifndef MEMTYPE_H
#define MEMTYPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A malloc type. Define one per kind of memory with MEMTYPE_DEFINE; treat
 * the fields as private. */
struct memtype_type {
  const char *shortdesc; /* the name shown in tables and dumps */
  const char *longdesc;  /* what the memory is for */
  unsigned id;           /* memtype's id, set on first use */
};

/* Defines `var`, a pointer-like handle to a type: shortdesc is its name. */
#define MEMTYPE_DEFINE(var, shortdesc, longdesc) \
  struct memtype_type var[1] = {{(shortdesc), (longdesc), 0}}
#define MEMTYPE_DECLARE(var) extern struct memtype_type var[1]

/* Flags for memtype_malloc and memtype_realloc. */
#define MEMTYPE_ZERO 0x1 /* zero the memory (memtype_malloc only) */

/* malloc/realloc/free counted under `type`. memtype_free and plain free
 * both release any block; the type argument is for symmetry with malloc(9). */
void *memtype_malloc(size_t size, struct memtype_type *type, int flags);
void *memtype_realloc(void *p, size_t size, struct memtype_type *type, int flags);
void memtype_free(void *p, struct memtype_type *type);

/* Accounting for memory that bypasses malloc: `size` bytes of the program's
 * own pool were handed out (allocated) or given back (freed) as `type`. */
void memtype_type_allocated(struct memtype_type *type, size_t size);
void memtype_type_freed(struct memtype_type *type, size_t size);

/* Returns 1 when p points into memory that memtype's allocator manages (a
 * slab slot, a page run or a huge block, live or free), 0 otherwise. */
int memtype_owns(const void *p);

/* Verifies the whole heap now, as memtype does at exit: with MEMTYPE_TRASH
 * every free block's trash, with MEMTYPE_REDZONE every live block's redzone.
 * Each corrupt block is reported (then MEMTYPE_ON_ERROR applies); returns how
 * many were found (0 when the checks are off). */
unsigned long memtype_check_heap(void);

/* Seconds since an allocation last failed in this process, for want of
 * memory or injected by MEMTYPE_FAILURE_RATE, as malloc_last_fail() in
 * malloc(9); INT_MAX (2147483647) when none has failed yet. */
int malloc_last_fail(void);

#ifdef __cplusplus
}
#endif

#endif
