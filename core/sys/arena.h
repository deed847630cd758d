/* arena.h - memtype's internal memory: a bump allocator over mmap'd chunks
 * for its own bookkeeping (slab metadata, later type tables). Never returns
 * memory; callers recycle what they take. Thread-safe (own lock), never
 * calls malloc, so it is what re-entrant and bootstrap paths use. */
#ifndef MT_ARENA_H
#define MT_ARENA_H

#include <stddef.h>

/* Zeroed memory of size bytes aligned to 64; NULL when mmap fails. */
void *mt_arena_alloc(size_t size);
size_t mt_arena_bytes(void); /* bytes handed out so far */
void mt_arena_fork_prepare(void);
void mt_arena_fork_parent(void);
void mt_arena_fork_child(void);

#endif
