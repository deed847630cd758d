/* heapcheck.h - the heap checks behind MEMTYPE_TRASH and MEMTYPE_REDZONE, as
 * UMA's trash/verify and redzone(9): patterns written when a block is freed
 * (0xdeadc0de over its storage) or handed out (a pattern over its redzones,
 * before its start and after its requested bytes), verified when it is
 * handed out again, freed, leaves the quarantine, by the whole-heap check
 * and at exit. Redzones grow with the block (mt_check_redzone_size). The quarantine holds freed blocks back from reuse:
 * per-thread batches of MT_QUARANTINE_BATCH, then one FIFO in bytes. All of
 * it runs on the slow path (the debug gate closes the fast paths). */
#ifndef MT_HEAPCHECK_H
#define MT_HEAPCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hooks.h"
#include "mt_types.h"
#include "options.h"

#define MT_REDZONE_MIN 16        /* every block gets at least this much on each side */
#define MT_REDZONE_CAP 2048      /* the largest redzone a block is sized for (each side) */
#define MT_REDZONE_MAX 4096      /* pattern bytes written on one side of a block */
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
  size_t front;        /* bytes of its storage before start (its front redzone) */
} mt_blk_t;

/* Gives back the storage of a block leaving the quarantine (alloc.c);
 * `hint` is what its free put in with it (mt_check_quarantine). */
typedef void (*mt_check_release_fn)(void *p, void *hint);
void mt_check_init(mt_check_release_fn release);

/* The redzone on each side of a block of n bytes (hooks.h says how they
 * are sized: AddressSanitizer's allocator's rule, 16 to MT_REDZONE_CAP). */
static inline size_t mt_check_redzone_size(size_t n) { return mt_hook_redzone_size(n); }

/* The pattern, one for trash and redzones (heapcheck.c): the 32-bit word
 * 0xdeadc0de (bytes de c0 ad de) at every 4-aligned address, so that a
 * byte's expected value depends on its address alone. A freed slot is
 * trash from end to end, its old redzones included; a slot handed out
 * again after its trash was verified therefore has its new redzones laid
 * already, and a free trashes the block's own bytes only. The inline
 * helpers below are what the checked slots' paths (prelude.c) pay on every
 * block: libc's memcmp and memcpy against the pattern page, from the phase
 * of the address. A length is hidden from gcc, which would expand a copy
 * it knows to be at most a page as `rep movsb` (some 30 cycles to start). */
#define MT_PATTERN_SPAN 4096 /* bytes compared or written a call */
extern uint8_t mt_check_pattern_page[MT_PATTERN_SPAN + 4];

static inline const uint8_t *mt_check_pattern_for(uintptr_t a) {
  return mt_check_pattern_page + (a & 3);
}

/* Writes the pattern over [to, to + len), len <= MT_PATTERN_SPAN. */
static inline void mt_check_lay_pattern(uintptr_t to, size_t len) {
  __asm__("" : "+r"(len));
  memcpy((void *)to, mt_check_pattern_for(to), len);
}

/* Is [from, from + len) all pattern (len <= MT_PATTERN_SPAN)? */
static inline bool mt_check_pattern_intact(uintptr_t from, size_t len) {
  __asm__("" : "+r"(len));
  return memcmp((const void *)from, mt_check_pattern_for(from), len) == 0;
}

/* The same for any length (trash: up to MT_TRASH_MAX). */
static inline bool mt_check_trash_intact_at(uintptr_t from, size_t len) {
  if (MT_LIKELY(len <= MT_PATTERN_SPAN)) /* every slot up to 4 KiB */
    return mt_check_pattern_intact(from, len);
  for (size_t off = 0; off < len; off += MT_PATTERN_SPAN)
    if (!mt_check_pattern_intact(from + off, len - off < MT_PATTERN_SPAN ? len - off
                                                                        : MT_PATTERN_SPAN))
      return false;
  return true;
}

static inline void mt_check_trash_at(uintptr_t from, size_t len) {
  if (MT_LIKELY(len <= MT_PATTERN_SPAN)) {
    mt_check_lay_pattern(from, len);
    return;
  }
  for (size_t off = 0; off < len; off += MT_PATTERN_SPAN)
    mt_check_lay_pattern(from + off, len - off < MT_PATTERN_SPAN ? len - off : MT_PATTERN_SPAN);
}

/* A block is being handed out; `old` is the slot's last owner (its
 * metadata, start and front as they were). Verifies the trash of a TRASHED
 * one (a change is reported as write-after-free against it), then writes
 * the new block b's redzones. */
void mt_check_alloc(const mt_blk_t *old, const mt_blk_t *b);
/* Writes the redzones alone (a block whose bytes are fresh). */
void mt_check_lay_redzone(const mt_blk_t *b);
/* A live block is being freed from call site pc: verifies its redzones
 * (heap-buffer-underflow before it, heap-buffer-overflow after it), keeps pc
 * and its free stack, trashes it. */
void mt_check_free(const mt_blk_t *b, uintptr_t pc);
/* Verifies a live block's redzones (realloc, the whole-heap check, exit);
 * false after a report. */
bool mt_check_redzone_ok(const mt_blk_t *b);
/* The same for a block freed since (its free stack shown): a quarantined
 * block whose trash is off. */
bool mt_check_redzone_freed_ok(const mt_blk_t *b);
/* The redzone pattern after b->size, written and verified whatever
 * MEMTYPE_REDZONE says (memguard's alignment bytes); `what` heads a report. */
void mt_check_lay_slack(const mt_blk_t *b);
bool mt_check_slack_ok(const mt_blk_t *b, const char *what);
/* Verifies a freed block (quarantine exit): its trash, or without trash its
 * redzones; false after a report. */
bool mt_check_trash_ok(const mt_blk_t *b);
/* Trashes a freed block's storage (MEMTYPE_TRASH; memguard's overflow-only
 * blocks, verified by mt_check_trash_ok when their run is reused). */
void mt_check_trash_fill(const mt_blk_t *b);
/* Puts a freed, trashed block (state QUARANTINE) in the calling thread's
 * quarantine batch; full batches join the FIFO, whose oldest blocks are
 * given back when it holds more than MEMTYPE_QUARANTINE bytes. `hint` is
 * kept with p and handed to the release function (the prelude's: the slab of
 * a slot, which spares it a lookup of p; NULL for other blocks). */
typedef struct mt_check_batch_s {
  struct mt_check_batch_s *next;
  unsigned n;
  size_t bytes;
  struct {
    void *p, *hint;
  } e[MT_QUARANTINE_BATCH];
} mt_check_batch_t;
extern MT_TLS mt_check_batch_t *mt_check_mine; /* the calling thread's batch, or NULL */
void mt_check_quarantine_slow(void *p, void *hint, size_t usable) MT_NOINLINE;
static inline void mt_check_quarantine(void *p, void *hint, size_t usable) {
  mt_check_batch_t *q = mt_check_mine;
  /* Most frees: room in the batch, and it does not fill with this one. */
  if (MT_LIKELY(q != NULL && q->n + 1 < MT_QUARANTINE_BATCH &&
                (q->bytes + usable) * 8 <= (size_t)mt_opt.quarantine)) {
    q->e[q->n].p = p;
    q->e[q->n].hint = hint;
    q->n++;
    q->bytes += usable;
    return;
  }
  mt_check_quarantine_slow(p, hint, usable);
}
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
