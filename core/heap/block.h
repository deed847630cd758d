/* block.h - the block model: for any address, which block holds it, of which
 * kind (slab slot, page run, huge mapping, guarded run), its state, requested
 * size, type and free site; and a walk over every block. Free, realloc,
 * usable size, the leak scan, the whole-heap check and the fault reporter
 * all decode blocks here and nowhere else. Lookups take no lock and may race
 * with the block's owner (the caller re-reads the metadata when it matters);
 * the walk holds the page lock, so no run or mapping disappears under it. */
#ifndef MT_BLOCK_H
#define MT_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mt_types.h"
#include "page.h"
#include "zone.h"

typedef enum mt_block_kind {
  MT_BLOCK_NONE = 0, /* no block of ours */
  MT_BLOCK_SLOT,     /* a slot of a slab (size classes) */
  MT_BLOCK_RUN,      /* a page run of its own (medium blocks) */
  MT_BLOCK_HUGE,     /* a mapping of its own */
  MT_BLOCK_GUARD,    /* a guarded run (memguard), guard pages beside it */
  MT_BLOCK_KINDS
} mt_block_kind_t;
extern const char *const mt_block_kind_names[MT_BLOCK_KINDS];

/* One block. Invariant: kind != NONE implies meta != NULL, base <= start,
 * and base <= the looked-up address < start + max(usable, 1) (a slot: its
 * whole slot). With redzones (checks on) the block's storage is laid out
 *   base            start                start+size        start+usable
 *   | front redzone | the program's bytes | back redzone ... |
 * and start - base is the front redzone's size (0 without redzones). */
typedef struct mt_block_s {
  mt_block_kind_t kind;
  uintptr_t start;     /* the user pointer: the first byte the program may use */
  uintptr_t base;      /* its storage's first byte (start minus the front redzone) */
  size_t usable;       /* bytes its storage holds from start */
  mt_slab_t *run;      /* SLOT: its slab; RUN: its run */
  mt_huge_t *huge;     /* HUGE: its mapping's header */
  void *guard;         /* GUARD: memguard's descriptor (opaque here) */
  mt_meta_t *meta;     /* size, type, state, family; never NULL when kind != NONE */
  uintptr_t *free_pc;  /* where its free site is kept (checks on), or NULL */
  uint64_t *stk;       /* its allocation and free stacks' depot ids (depot.h; checks or guard
                          pages on), or NULL */
  uint8_t *leak_mark;  /* RUN, HUGE, GUARD: the leak scan's mark (slots: mt_block_mark) */
  uint32_t slot;       /* SLOT: its index in the slab */
} mt_block_t;

/* Finds the block holding address a; true only when a is the start of a
 * block (live or free): b->kind says whether a is inside one at all (the
 * fields a kind does not use are left as they were). A page run freed
 * already is found at its start as a RUN block in state FREE with no run
 * (mt_block_is_gone). Lock-free, async-signal-safe. Inline: the leak scan
 * asks it of every word it reads. */
static inline bool mt_block_lookup(uintptr_t a, mt_block_t *b);

/* The page run that was freed before the lookup (nothing more is known). */
extern mt_meta_t mt_block_gone_meta;
static inline bool mt_block_is_gone(const mt_block_t *b) { return b->meta == &mt_block_gone_meta; }

/* The size the program asked for (huge blocks keep it full width). */
static inline size_t mt_block_size(const mt_block_t *b) {
  return b->kind == MT_BLOCK_HUGE ? b->huge->big_size : b->meta->f.size;
}

/* The leak scan's mark byte of a block (slots: in a side array made on first
 * need; NULL when it cannot be made). Page lock held. */
static inline uint8_t *mt_block_mark(mt_block_t *b);
/* A slab's side array of marks, made on first need (NULL when it cannot be). */
uint8_t *mt_block_slot_marks(mt_slab_t *run);

/* Calls fn on every block of the heap: every slot of every slab (whatever
 * its state), every page run, every huge block, every live guarded block.
 * mt_block_walk takes the page lock; _locked: the caller holds it. */
typedef void (*mt_block_fn)(mt_block_t *b, void *arg);
void mt_block_walk(mt_block_fn fn, void *arg);
void mt_block_walk_locked(mt_block_fn fn, void *arg);

/* The block nearest to address a (a fault's): the one holding a, else the
 * first found within max_pages pages before or after it. Lock-free, for
 * a signal handler; racy (the block may change meanwhile). */
typedef struct mt_near_s {
  bool in_heap;      /* a is in memory memtype manages for blocks */
  bool live;         /* the block is allocated (else freed) */
  bool guarded;      /* a guard-page block (MEMTYPE_GUARD) */
  uintptr_t start;   /* the block's first byte */
  size_t size;       /* its requested size */
  size_t usable;     /* bytes the program may use, as malloc_usable_size says */
  int type;          /* its type */
  uintptr_t free_pc; /* where it was freed, 0 when unknown */
  uint32_t alloc_stack, free_stack; /* its stacks' depot ids (depot.h), 0 when unknown */
} mt_near_t;
bool mt_block_near(uintptr_t a, unsigned max_pages, mt_near_t *out);

/* ---- lookup (inline) ------------------------------------------------------ */

static inline void mt_block_of_slot(mt_slab_t *run, uint32_t idx, mt_block_t *b) {
  b->kind = MT_BLOCK_SLOT;
  b->run = run;
  b->slot = idx;
  b->base = run->start + (uintptr_t)idx * run->slot_size;
  uint32_t *fronts = mt_slab_fronts(run);
  uint32_t front = fronts ? fronts[idx] : 0;
  MT_ASSERT(front < run->slot_size);
  b->start = b->base + front;
  b->usable = run->slot_size - front;
  b->meta = &run->meta[idx];
  b->free_pc = run->free_pcs ? &run->free_pcs[idx] : NULL;
  b->stk = run->stks ? &run->stks[idx] : NULL;
  b->leak_mark = NULL;
}

static inline void mt_block_of_run(mt_slab_t *run, mt_block_t *b) {
  b->kind = MT_BLOCK_RUN;
  b->run = run;
  b->base = mt_run_addr(run);
  b->start = run->start;
  b->usable = b->base + ((size_t)run->npages << MT_PAGE_SHIFT) - run->start;
  b->meta = &run->run_meta;
  b->free_pc = &run->free_pc;
  b->stk = &run->stk;
  b->leak_mark = &run->leak_mark;
}

/* Huge mappings and guarded runs (out of line). */
bool mt_block_lookup_other(uintptr_t a, uint8_t map, mt_block_t *b);

static inline bool mt_block_lookup(uintptr_t a, mt_block_t *b) {
  b->kind = MT_BLOCK_NONE;
  b->base = 0;
  uint8_t map = mt_segmap_lookup(a);
  if (map != MT_MAP_SEGMENT)
    return map != MT_MAP_NONE && mt_block_lookup_other(a, map, b);
  mt_slab_t *run = mt_run_of(a);
  if (run == NULL)
    return false;
  uint8_t kind = __atomic_load_n(&run->kind, __ATOMIC_ACQUIRE);
  if (kind == MT_RUN_SLAB) {
    uint32_t idx = mt_slab_index(run, a);
    if (idx >= run->nslots)
      return false;
    mt_block_of_slot(run, idx, b);
    /* The slot holds a and lies in its run; the slab is carved from its class;
     * the block starts inside its slot, a multiple of 16 bytes into it. */
    MT_ASSERT(run->meta != NULL && run->cls < MT_NCLASSES &&
              run->slot_size == mt_classes[run->cls].size);
    MT_ASSERT(b->base <= a && a < b->base + run->slot_size);
    MT_ASSERT(b->base <= b->start && (b->start - b->base) % MT_MIN_ALIGN == 0 &&
              b->start + b->usable == b->base + run->slot_size);
    MT_ASSERT(b->start + b->usable <= mt_run_addr(run) + ((uintptr_t)run->npages << MT_PAGE_SHIFT));
    return b->start == a;
  }
  if (kind == MT_RUN_MEDIUM) {
    /* The block starts in its run, a multiple of 16 bytes in (its front redzone). */
    MT_ASSERT(run->npages > 0 && mt_run_addr(run) <= run->start &&
              run->start < mt_run_addr(run) + ((uintptr_t)run->npages << MT_PAGE_SHIFT) &&
              (run->start - mt_run_addr(run)) % MT_MIN_ALIGN == 0);
    mt_block_of_run(run, b);
    return b->start == a;
  }
  if (kind == MT_RUN_FREE && a == mt_run_addr(run)) {
    b->kind = MT_BLOCK_RUN;
    b->start = a;
    b->base = a;
    b->run = NULL;
    b->free_pc = NULL;
    b->stk = NULL;
    b->meta = &mt_block_gone_meta;
    return true;
  }
  return false;
}

/* ---- the leak scan's light lookup (inline) ---------------------------------- */

/* A live block as the leak scan sees it: only what it needs. */
typedef struct mt_block_live_s {
  uintptr_t start; /* its first byte */
  size_t len;      /* the size the program asked for */
  uint8_t *mark;   /* its leak mark (a slot's side array made on first need) */
  uint16_t type;   /* its type */
} mt_block_live_t;

/* Huge mappings and guarded runs (out of line). */
bool mt_block_live_other(uintptr_t a, uint8_t map, mt_block_live_t *l);

/* The live block holding address a (its start or inside it): true and l
 * filled, as mt_block_lookup plus its state, size and mark would, but
 * without filling a whole mt_block_t: the leak scan asks it of every word
 * it reads. False for no block, a block not LIVE, or a slot whose marks
 * cannot be made. Page lock held (the marks). */
static inline __attribute__((always_inline)) bool mt_block_live_at(uintptr_t a, mt_block_live_t *l) {
  uint8_t map = mt_segmap_lookup(a);
  if (map != MT_MAP_SEGMENT)
    return map != MT_MAP_NONE && mt_block_live_other(a, map, l);
  mt_slab_t *run = mt_run_of(a);
  if (run == NULL)
    return false;
  uint8_t kind = __atomic_load_n(&run->kind, __ATOMIC_ACQUIRE);
  if (kind == MT_RUN_SLAB) {
    uint32_t idx = mt_slab_index(run, a);
    if (idx >= run->nslots)
      return false;
    mt_meta_t m = run->meta[idx];
    if (m.f.state != MT_STATE_LIVE)
      return false;
    uintptr_t start = run->start + (uintptr_t)idx * run->slot_size;
    if (MT_UNLIKELY(run->stks != NULL)) { /* checks' side arrays: a front redzone */
      start += mt_slab_fronts(run)[idx];
      if (a < start)
        return false; /* the front redzone reaches nothing */
    }
    uint8_t *marks = run->leak_marks ? run->leak_marks : mt_block_slot_marks(run);
    if (marks == NULL)
      return false;
    l->start = start;
    l->len = m.f.size;
    l->mark = &marks[idx];
    l->type = m.f.type;
    return true;
  }
  if (kind == MT_RUN_MEDIUM && a >= run->start) {
    mt_meta_t m = run->run_meta;
    if (m.f.state != MT_STATE_LIVE)
      return false;
    l->start = run->start;
    l->len = m.f.size;
    l->mark = &run->leak_mark;
    l->type = m.f.type;
    return true;
  }
  return false;
}

static inline uint8_t *mt_block_mark(mt_block_t *b) {
  if (b->kind != MT_BLOCK_SLOT)
    return b->leak_mark;
  uint8_t *marks = b->run->leak_marks ? b->run->leak_marks : mt_block_slot_marks(b->run);
  return marks ? &marks[b->slot] : NULL;
}

#endif
