/* alloc.h - the allocator's API used by preload/ (one call per entry point)
 * and by the unit tests. Every function is safe before initialisation (it
 * bootstraps), from any thread, and never calls the C library's malloc. */
#ifndef MT_ALLOC_H
#define MT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mt_types.h"

/* pc: the call site (return address of the entry point), or 0. */
void *mt_malloc(size_t n, unsigned family, uintptr_t pc);
void mt_free(void *p, unsigned family, uintptr_t pc);
/* Sets the family byte of the live block starting at p (mt_fam_aligned:
 * an aligned operator new's, once it has its block). */
void mt_block_set_family(void *p, unsigned byte);
void *mt_calloc(size_t count, size_t size, uintptr_t pc);
void *mt_realloc(void *p, size_t n, uintptr_t pc);
void *mt_reallocarray(void *p, size_t count, size_t size, uintptr_t pc);
/* align: a power of two; n may be 0. NULL + ENOMEM on failure. */
void *mt_memalign(size_t align, size_t n, unsigned family, uintptr_t pc);
/* posix_memalign semantics: EINVAL for a bad alignment, *out untouched. */
int mt_posix_memalign(void **out, size_t align, size_t n, uintptr_t pc);
size_t mt_usable_size(const void *p, uintptr_t pc);
/* Explicit types (memtype.h): allocate or resize as `type`, and account
 * memory the program manages itself (its pools) into a type. */
void *mt_malloc_type(size_t n, unsigned type, bool zero);
void *mt_realloc_type(void *p, size_t n, unsigned type, uintptr_t pc);
void mt_type_account(unsigned type, size_t n, bool allocated);
/* True when p is inside memory this allocator manages (live or not). */
bool mt_owns(const void *p);

/* The block nearest to an address (fault reports): block.h, mt_block_near. */

/* Bootstrap: idempotent, thread-safe; false when the configuration is
 * invalid (then the process has been stopped already). */
void mt_init(void);
/* Re-reads the options once the environment is known (constructor time). */
void mt_late_init(void);
bool mt_is_initialized(void);

/* Fork and exit hooks (called from preload/). */
void mt_fork_prepare(void);
void mt_fork_parent(void);
void mt_fork_child(void);
void mt_at_exit(void);

#endif
