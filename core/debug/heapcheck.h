/* heapcheck.h - the heap checks behind MEMTYPE_TRASH and MEMTYPE_REDZONE, as
 * UMA's trash/verify and redzone(9): patterns written when a block is freed
 * (0xdeadc0de over the block) or handed out (a pattern over the slack after
 * the requested bytes), verified when it is handed out again, freed or
 * leaves the quarantine. The quarantine holds freed blocks back from reuse:
 * per-thread batches of MT_QUARANTINE_BATCH, then one FIFO in bytes. All of
 * it runs on the slow path (the debug gate closes the fast paths). */
#ifndef MT_HEAPCHECK_H
#define MT_HEAPCHECK_H

#include <stddef.h>

#include "mt_types.h"

#define MT_REDZONE_MIN 16        /* every block gets at least this much slack */
#define MT_REDZONE_MAX 4096      /* pattern bytes written after a large block */
#define MT_TRASH_MAX 8192        /* bytes trashed at the start of a block (all of a slab slot) */
#define MT_QUARANTINE_BATCH 64

extern bool mt_check_on;      /* MEMTYPE_TRASH or MEMTYPE_REDZONE */
extern bool mt_check_trash;
extern bool mt_check_redzone;

/* What the checks need to know of one block. */
typedef struct mt_blk_s {
  uintptr_t start;     /* the user pointer */
  size_t size;         /* requested bytes */
  size_t usable;       /* bytes of its storage from start */
  mt_meta_t *meta;
  uintptr_t *free_pc;  /* where its free site is kept, NULL if nowhere */
  const char *note;    /* a second line for a report on it, or NULL */
  uint64_t *stk;       /* its stack depot ids (depot.h), NULL if nowhere */
} mt_blk_t;

/* Gives back the storage of a block leaving the quarantine (alloc.c). */
typedef void (*mt_check_release_fn)(void *p);
void mt_check_init(mt_check_release_fn release);

/* The slack a block of n bytes needs in storage of `usable` bytes: true
 * when it has less than MT_REDZONE_MIN and must go to a bigger one. */
static inline bool mt_check_needs_more(size_t n, size_t usable) {
  return mt_check_redzone && usable - n < MT_REDZONE_MIN;
}

/* A block is being handed out; b->meta still holds the previous owner's
 * metadata. Verifies the trash of a TRASHED block (a change is reported as
 * write-after-free), then writes the redzone after b->size bytes. */
void mt_check_alloc(const mt_blk_t *b);
/* Writes the redzone alone (a block whose bytes are fresh). */
void mt_check_lay_redzone(const mt_blk_t *b);
/* A live block is being freed from call site pc: verifies its redzone
 * (heap-buffer-overflow), keeps pc, trashes it. */
void mt_check_free(const mt_blk_t *b, uintptr_t pc);
/* Verifies a live block's redzone (realloc, exit); false after a report. */
bool mt_check_redzone_ok(const mt_blk_t *b);
/* The redzone pattern after b->size, written and verified whatever
 * MEMTYPE_REDZONE says (memguard's alignment bytes); `what` heads a report. */
void mt_check_lay_slack(const mt_blk_t *b);
bool mt_check_slack_ok(const mt_blk_t *b, const char *what);
/* Verifies the trash of a freed block (quarantine exit); false after a report. */
bool mt_check_trash_ok(const mt_blk_t *b);
/* Puts a freed, trashed block (state QUARANTINE) in the calling thread's
 * quarantine batch; full batches join the FIFO, whose oldest blocks are
 * given back when it holds more than MEMTYPE_QUARANTINE bytes. */
void mt_check_quarantine(void *p, size_t usable);
/* True when a block's patterns are as they should be for `state` (the
 * redzone of a LIVE block, the trash of a QUARANTINE or TRASHED one); no
 * report. For the whole-heap check, which re-reads the metadata before it
 * believes a mismatch (the owner may be changing the block). */
bool mt_check_intact(const mt_blk_t *b, uint8_t state);
/* Verifies every block of the heap (MEMTYPE_TRASH/REDZONE patterns), as at
 * exit; reports each corrupt one and returns how many there were (prelude.c). */
unsigned long mt_check_heap(void);
/* The calling thread's batch joins the FIFO (thread exit). */
void mt_check_thread_exit(void);
/* fork: the quarantine's lock held across it (taken last: it is a leaf). */
void mt_check_fork_prepare(void);
void mt_check_fork_parent(void);
void mt_check_fork_child(void);

#endif
