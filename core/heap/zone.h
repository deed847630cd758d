/* zone.h - zones: the slabs of one size class and their lock (UMA's zone and
 * keg in one), one zone per class per CPU shard. Thread caches refill from and
 * flush to a zone in batches, so a zone lock is taken once per batch, never
 * per allocation. Once a second thread runs, a refill takes from the zone of
 * the CPU it runs on, so threads running at the same time get slots of
 * different slabs, and the metadata lines their fast paths write are not
 * shared (issue 24's step at the second thread); a slot goes back to its own
 * slab's zone. Lock order: one zone lock at a time, then the page lock. */
#ifndef MT_ZONE_H
#define MT_ZONE_H

#include "lock.h"
#include "sizeclass.h"

typedef struct mt_zone_s {
  mt_lock_t lock;
  mt_slab_t *partial; /* slabs with at least one free slot, empty ones included */
  uint32_t nempty;    /* wholly free slabs kept in partial */
  uint32_t nslabs;    /* slabs owned by the zone */
  void *meta_free;    /* recycled metadata blocks of dead slabs, linked */
  void *meta_free_checked; /* the same with room for free sites (checks on) */
} mt_zone_t;

/* CPU shards: CPU k refills from mt_zones[k % MT_ZONE_SHARDS]. A shard that
 * no CPU uses costs its zeroed zones only. */
#define MT_ZONE_SHARDS 16
extern mt_zone_t mt_zones[MT_ZONE_SHARDS][MT_NCLASSES];

/* Takes up to max free slots of class c from the calling CPU's zone: their
 * addresses in ptrs[], their metadata in metas[]. Returns how many (0 only
 * when out of memory). */
unsigned mt_zone_take(unsigned c, void **ptrs, mt_meta_t **metas, unsigned max);
/* From now on a take uses the zone of the CPU it runs on; until then every
 * take uses shard 0, so a process with one thread keeps one set of slabs
 * however the scheduler moves it. The thread caches call it when a second
 * thread gets one. */
void mt_zone_spread(void);
/* Returns n slots of class c, already marked free, to their slabs (each to
 * its slab's zone, whichever CPU it came from). */
void mt_zone_give(unsigned c, void *const *ptrs, unsigned n);

/* Slot index of address a in slab s (a inside the slab). */
static inline uint32_t mt_slab_index(const mt_slab_t *s, uintptr_t a) {
  return (uint32_t)(((uint64_t)(uint32_t)(a - s->start) * s->recip) >> MT_RECIP_SHIFT);
}

void mt_zone_fork_prepare(void);
void mt_zone_fork_parent(void);
void mt_zone_fork_child(void);
/* Checks class c's zones in every shard. */
bool mt_zone_is_valid(unsigned c);

#endif
