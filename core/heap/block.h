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

typedef enum mt_block_kind {
  MT_BLOCK_NONE = 0, /* no block of ours */
  MT_BLOCK_SLOT,     /* a slot of a slab (size classes) */
  MT_BLOCK_RUN,      /* a page run of its own (medium blocks) */
  MT_BLOCK_HUGE,     /* a mapping of its own */
  MT_BLOCK_GUARD,    /* a guarded run (memguard), guard pages beside it */
  MT_BLOCK_KINDS
} mt_block_kind_t;
extern const char *const mt_block_kind_names[MT_BLOCK_KINDS];

/* One block. Invariant: kind != NONE implies meta != NULL and start <= the
 * looked-up address < start + max(usable, 1) (a slot: its whole slot). */
typedef struct mt_block_s {
  mt_block_kind_t kind;
  uintptr_t start;     /* its first byte (the user pointer) */
  size_t usable;       /* bytes its storage holds from start */
  mt_slab_t *run;      /* SLOT: its slab; RUN: its run */
  mt_huge_t *huge;     /* HUGE: its mapping's header */
  void *guard;         /* GUARD: memguard's descriptor (opaque here) */
  mt_meta_t *meta;     /* size, type, state, family; never NULL when kind != NONE */
  uintptr_t *free_pc;  /* where its free site is kept (checks on), or NULL */
  uint8_t *leak_mark;  /* RUN, HUGE, GUARD: the leak scan's mark (slots: mt_block_mark) */
  uint32_t slot;       /* SLOT: its index in the slab */
} mt_block_t;

/* Finds the block holding address a; true only when a is the start of a
 * block (live or free): b->kind says whether a is inside one at all. A page
 * run freed already is found at its start as a RUN block in state FREE with
 * no run (mt_block_is_gone). Lock-free, async-signal-safe. */
bool mt_block_lookup(uintptr_t a, mt_block_t *b);

/* The page run that was freed before the lookup (nothing more is known). */
bool mt_block_is_gone(const mt_block_t *b);

/* The size the program asked for (huge blocks keep it full width). */
static inline size_t mt_block_size(const mt_block_t *b) {
  return b->kind == MT_BLOCK_HUGE ? b->huge->big_size : b->meta->f.size;
}

/* The leak scan's mark byte of a block (slots: in a side array made on first
 * need; NULL when it cannot be made). Page lock held. */
uint8_t *mt_block_mark(mt_block_t *b);

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
  int type;          /* its type */
  uintptr_t free_pc; /* where it was freed, 0 when unknown */
} mt_near_t;
bool mt_block_near(uintptr_t a, unsigned max_pages, mt_near_t *out);

#endif
