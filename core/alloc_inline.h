/* alloc_inline.h - the fast paths of malloc and free, inlined into the entry
 * points. Cost, with stats on: malloc = size class (a table load), a thread-
 * cache pop, one 8-byte metadata store, two counter adds; free = page-map
 * byte, run descriptor, a multiply for the slot, a state check, a push, two
 * counter adds. No lock, syscall, stdio or allocation. Anything else (empty
 * or full cache, no cache yet, large blocks, bad pointers) takes one
 * unlikely branch to the out-of-line slow path in alloc.c. */
#ifndef MT_ALLOC_INLINE_H
#define MT_ALLOC_INLINE_H

#include "alloc.h"
#include "page.h"
#include "tcache.h"
#include "zone.h"

void *mt_malloc_slow(size_t n, unsigned family) MT_NOINLINE MT_COLD;
void mt_free_slow(void *p, unsigned family) MT_NOINLINE MT_COLD;

static inline void *mt_malloc_inline(size_t n, unsigned family) {
  mt_tcache_t *tc = mt_tls_cache;
  if (MT_LIKELY(tc != NULL && n <= MT_SMALL_MAX)) {
    mt_bin_t *b = &tc->bins[mt_size_class(n)];
    if (MT_LIKELY(b->n != 0)) {
      unsigned i = --b->n;
      b->metas[i]->word = mt_meta_pack((uint32_t)n, 0, MT_STATE_LIVE, (uint8_t)family);
      tc->stats.allocs++;
      tc->stats.bytes_alloc += n;
      return b->items[i];
    }
  }
  return mt_malloc_slow(n, family);
}

static inline void mt_free_inline(void *p, unsigned family) {
  uintptr_t a = (uintptr_t)p;
  mt_tcache_t *tc = mt_tls_cache;
  if (MT_LIKELY(tc != NULL && mt_segmap_lookup(a) == MT_MAP_SEGMENT)) {
    mt_slab_t *s = mt_run_of(a);
    if (MT_LIKELY(s != NULL && s->kind == MT_RUN_SLAB)) {
      uint32_t off = (uint32_t)(a - s->start);
      uint32_t idx = mt_slab_index(s, a);
      mt_meta_t *m = &s->meta[idx];
      mt_bin_t *b = &tc->bins[s->cls];
      if (MT_LIKELY(idx * s->slot_size == off && idx < s->nslots &&
                    m->f.state == MT_STATE_LIVE && m->f.family == family && b->n < b->cap)) {
        tc->stats.frees++;
        tc->stats.bytes_freed += m->f.size;
        m->f.state = MT_STATE_FREE;
        b->items[b->n] = p;
        b->metas[b->n] = m;
        b->n++;
        return;
      }
    }
  }
  mt_free_slow(p, family);
}

#endif
