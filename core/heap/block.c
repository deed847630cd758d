/* block.c - the block model (see block.h): the one place that decodes a
 * pointer into a slab slot, a page run, a huge mapping or a guarded run,
 * and the one walk over all of them. Lookups are lock-free reads of the page
 * map and of run descriptors published with release stores (page.c); the
 * walk holds the page lock, as page.c's own walk does. */
#include "block.h"

#include <string.h>

#include "arena.h"
#include "depot.h"
#include "hooks.h"
#include "page.h"
#include "zone.h"

const char *const mt_block_kind_names[MT_BLOCK_KINDS] = {"none", "slot", "run", "huge",
                                                         "guarded"};
_Static_assert(sizeof(mt_block_kind_names) / sizeof(mt_block_kind_names[0]) == MT_BLOCK_KINDS,
               "a name for every block kind");

MT_HIDDEN mt_meta_t mt_block_gone_meta = {.f = {.state = MT_STATE_FREE}};

static void of_huge(mt_huge_t *h, mt_block_t *b) {
  b->kind = MT_BLOCK_HUGE;
  b->huge = h;
  b->start = h->user;
  b->base = h->user - h->front;
  b->usable = h->usable;
  b->meta = &h->meta;
  b->free_pc = &h->free_pc;
  b->stk = &h->stk;
  b->leak_mark = &h->leak_mark;
}

bool mt_block_lookup_other(uintptr_t a, uint8_t map, mt_block_t *b) {
  if (map == MT_MAP_GUARD) {
    bool is_start = mt_dbg_guard_lookup(a, b);
    b->base = b->start; /* memguard's blocks: the bytes before are its own */
    return is_start;
  }
  if (map == MT_MAP_HUGE || map == MT_MAP_HUGE_TAIL) {
    mt_huge_t *h = mt_huge_of(a);
    if (h == NULL)
      return false;
    /* The user's bytes end where the mapping ends. */
    MT_ASSERT(h->user + h->usable == (uintptr_t)h + h->map_size);
    of_huge(h, b);
    return a == h->user;
  }
  return false;
}

bool mt_block_live_other(uintptr_t a, uint8_t map, mt_block_live_t *l) {
  mt_block_t b;
  b.kind = MT_BLOCK_NONE;
  mt_block_lookup_other(a, map, &b);
  if (b.kind == MT_BLOCK_NONE || a < b.start || b.meta->f.state != MT_STATE_LIVE)
    return false;
  /* A guarded block of size 0 is its start address alone (it may be the
   * first byte of the guard page after it): a pointer to it holds it. */
  if (b.kind == MT_BLOCK_GUARD && a - b.start >= (b.usable ? b.usable : 1))
    return false;
  l->start = b.start;
  l->len = mt_block_size(&b);
  l->mark = b.leak_mark;
  l->type = b.meta->f.type;
  return l->mark != NULL;
}

uint8_t *mt_block_slot_marks(mt_slab_t *run) {
  if (run->leak_marks == NULL)
    run->leak_marks = mt_arena_alloc(run->nslots);
  return run->leak_marks;
}

/* ---- the walk -------------------------------------------------------------- */

typedef struct walk_s {
  mt_block_fn fn;
  void *arg;
} walk_t;

static void walk_run(mt_slab_t *run, void *arg) {
  walk_t *w = arg;
  mt_block_t b;
  memset(&b, 0, sizeof(b));
  if (run->kind == MT_RUN_MEDIUM) {
    mt_block_of_run(run, &b);
    w->fn(&b, w->arg);
    return;
  }
  for (uint32_t i = 0; i < run->nslots; i++) {
    mt_block_of_slot(run, i, &b);
    w->fn(&b, w->arg);
  }
}

static void walk_huge(mt_huge_t *h, void *arg) {
  walk_t *w = arg;
  mt_block_t b;
  memset(&b, 0, sizeof(b));
  of_huge(h, &b);
  w->fn(&b, w->arg);
}

void mt_block_walk_locked(mt_block_fn fn, void *arg) {
  walk_t w = {fn, arg};
  mt_page_walk_locked(walk_run, walk_huge, &w);
  mt_dbg_guard_walk(fn, arg);
}

void mt_block_walk(mt_block_fn fn, void *arg) {
  mt_lock(&mt_page_lock);
  mt_block_walk_locked(fn, arg);
  mt_unlock(&mt_page_lock);
}

/* ---- nearest block (fault reports) ----------------------------------------- */

bool mt_block_near(uintptr_t a, unsigned max_pages, mt_near_t *out) {
  memset(out, 0, sizeof(*out));
  out->in_heap = mt_segmap_lookup(a) != MT_MAP_NONE;
  for (unsigned d = 0; d <= max_pages; d++) {
    for (int dir = -1; dir <= 1; dir += 2) {
      if (d == 0 && dir > 0)
        continue;
      uintptr_t off = (uintptr_t)d << MT_PAGE_SHIFT;
      if (dir < 0 ? a < off : a > UINTPTR_MAX - off)
        continue;
      uintptr_t c = dir < 0 ? a - off : a + off;
      mt_block_t b;
      mt_block_lookup(c, &b);
      if (b.kind == MT_BLOCK_NONE || mt_block_is_gone(&b))
        continue;
      uint8_t state = __atomic_load_n(&b.meta->f.state, __ATOMIC_RELAXED);
      if (state == MT_STATE_BUSY || b.meta->word == 0)
        continue; /* in flux, or a slot never handed out: no block to speak of */
      out->start = b.start;
      out->size = mt_block_size(&b);
      /* With redzones (slack after every block) or a guarded block, the program
       * may use only what it asked for; otherwise what malloc_usable_size says. */
      out->usable = mt_hook_slack || b.kind == MT_BLOCK_GUARD ? out->size : b.usable;
      out->type = (int)b.meta->f.type;
      out->live = state == MT_STATE_LIVE;
      out->free_pc = !out->live && b.free_pc ? *b.free_pc : 0;
      out->alloc_stack = b.stk ? mt_stk_alloc(*b.stk) : 0;
      out->free_stack = !out->live && b.stk ? mt_stk_free(*b.stk) : 0;
      out->guarded = b.kind == MT_BLOCK_GUARD;
      return true;
    }
  }
  return false;
}
