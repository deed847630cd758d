/* heap.h - the heap's slow-path services for the layers above it: the debug
 * prelude (prelude.c) and process life (process.c). None of them runs a
 * prelude or a hook: they are what the prelude falls back on. Callers hold
 * the signal gate (mt_locks_enter) as the slow paths do. */
#ifndef MT_HEAP_H
#define MT_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "mt_types.h"
#include "sizeclass.h"
#include "tcache.h"

/* Size(s) bits beyond the slab classes: page runs and huge blocks. */
#define MT_CLASS_BIT_MEDIUM MT_NCLASSES
#define MT_CLASS_BIT_HUGE (MT_NCLASSES + 1)
#define MT_CLASS_BIT_POOL (MT_NCLASSES + 2) /* reported by memtype_type_allocated() */
_Static_assert(MT_NCLASSES + 3 <= 128, "class bits fit the Size(s) bitmap");

/* n bytes of the heap's own storage (align 0: malloc's), zeroed when asked;
 * NULL + ENOMEM when there is no memory. No injection, no guard. */
void *mt_heap_alloc(size_t n, size_t align, unsigned family, bool zero, unsigned type);
/* Gives a block's storage back; `state` is what its metadata says after
 * (FREE, or TRASHED when its bytes are the trash pattern). No counting. */
void mt_heap_give_back(const mt_block_t *b, void *p, uint8_t state);
/* A slab slot's storage (base: its first byte, front redzone included)
 * back to the calling thread's cache, its metadata saying `state` after:
 * mt_heap_give_back's common case, inline for the quarantine's exits. */
static inline void mt_heap_give_slot(mt_slab_t *run, uintptr_t base, mt_meta_t *m,
                                     uint8_t state) {
  mt_tcache_t *tc = mt_tls_own;
  if (MT_LIKELY(tc != NULL)) {
    mt_bin_t *bin = &tc->bins[run->cls];
    if (MT_LIKELY(bin->n < bin->cap)) {
      m->f.state = state;
      bin->items[bin->n] = (void *)base;
      bin->metas[bin->n] = m;
      bin->n++;
      return;
    }
  }
  mt_block_t b;
  mt_block_of_slot(run, mt_slab_index(run, base), &b);
  mt_heap_give_back(&b, (void *)b.start, state);
}
/* Frees a live block: counted, then the prelude, then given back. */
void mt_heap_release(const mt_block_t *b, void *p, uintptr_t pc);
/* The type's counters: an allocation of `bytes` in `real` bytes of size
 * class bit cls, and a free. */
void mt_heap_count_alloc(unsigned type, unsigned cls, uint64_t bytes, uint64_t real);
void mt_heap_count_free(unsigned type, uint64_t bytes);

#endif
