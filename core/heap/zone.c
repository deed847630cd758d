/* zone.c - slab life cycle per size class and CPU shard: carve a run into a
 * slab, hand out free slots by bitmap, take them back, give empty slabs back
 * to the page level. Every function takes the zone's lock itself, one zone
 * at a time; slab descriptors and bitmaps are only touched under the lock of
 * the zone that owns the slab (s->shard, fixed while the slab lives). */
#include "zone.h"

#include <string.h>

#include "arena.h"
#include "hooks.h"
#include "page.h"

#include "os.h"

MT_HIDDEN mt_zone_t mt_zones[MT_ZONE_SHARDS][MT_NCLASSES];

/* Set by mt_zone_spread; only ever goes from false to true. */
static bool spread;

void mt_zone_spread(void) { __atomic_store_n(&spread, true, __ATOMIC_RELAXED); }

/* The zone a take on this CPU uses. */
static unsigned zone_shard(void) {
  return __atomic_load_n(&spread, __ATOMIC_RELAXED) ? mt_os_cpu() % MT_ZONE_SHARDS : 0;
}

#define KEEP_EMPTY 1 /* empty slabs a zone keeps before returning pages */

/* A slab with free slots is on its zone's partial list (list 1), a full
 * one on none (list 0). Under the zone lock. */
static void partial_push(mt_zone_t *z, mt_slab_t *s) {
  MT_ASSERT(s->list == 0 && s->kind == MT_RUN_SLAB && s->nfree > 0);
  s->prev = NULL;
  s->next = z->partial;
  if (z->partial)
    z->partial->prev = s;
  z->partial = s;
  s->list = 1;
}

static void partial_remove(mt_zone_t *z, mt_slab_t *s) {
  MT_ASSERT(s->list == 1 && (s->prev ? s->prev->next == s : z->partial == s));
  MT_ASSERT(s->next == NULL || s->next->prev == s);
  if (s->prev)
    s->prev->next = s->next;
  else
    z->partial = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
  s->list = 0;
}

/* The metas' bytes, rounded up to a cache line: the bitmap after them, which
 * the zone writes, must not share a line with metas the fast paths write. */
static size_t metas_bytes(const mt_class_info_t *ci) {
  return (ci->nslots * sizeof(mt_meta_t) + 63u) & ~(size_t)63u;
}

/* nslots metas (to a line's end), the bitmap, and with checks on the free
 * sites, the stack ids and the front redzones' sizes. */
static size_t meta_block_size(const mt_class_info_t *ci, bool checked) {
  return metas_bytes(ci) + ((ci->nslots + 63u) / 64u) * sizeof(uint64_t) +
         (checked ? ci->nslots * (sizeof(uintptr_t) + sizeof(uint64_t) + sizeof(uint32_t)) : 0);
}

static mt_slab_t *slab_new_locked(mt_zone_t *z, unsigned shard, unsigned c) {
  const mt_class_info_t *ci = &mt_classes[c];
  bool dirty;
  mt_slab_t *s = mt_page_alloc_run(ci->npages, 1, &dirty);
  if (s == NULL)
    return NULL;
  s->start = mt_run_addr(s);
  s->slot_size = ci->size;
  s->recip = ci->recip;
  s->nslots = ci->nslots;
  s->nfree = ci->nslots;
  s->cls = (uint8_t)c;
  s->shard = (uint8_t)shard;
  /* Metadata block: nslots metas then the bitmap (then the free sites),
   * recycled per class; blocks with and without free sites apart. */
  bool checked = mt_hook_slots; /* free sites kept for the debug layers */
  void **list = checked ? &z->meta_free_checked : &z->meta_free;
  void *mb = *list;
  if (mb != NULL) {
    *list = *(void **)mb;
    *(void **)mb = NULL; /* slot 0's meta again: state FREE */
  } else if ((mb = mt_arena_alloc(meta_block_size(ci, checked))) == NULL) {
    mt_page_free_run(s);
    return NULL;
  }
  s->meta = mb;
  s->bits = (uint64_t *)((char *)mb + metas_bytes(ci));
  size_t words = (ci->nslots + 63u) / 64u;
  s->free_pcs = checked ? (uintptr_t *)(s->bits + words) : NULL;
  s->stks = checked ? (uint64_t *)(s->free_pcs + ci->nslots) : NULL;
  for (size_t w = 0; w < words; w++)
    s->bits[w] = ~0ull;
  if (ci->nslots % 64)
    s->bits[words - 1] = (1ull << (ci->nslots % 64)) - 1;
  s->scan = 0;
  __atomic_store_n(&s->kind, MT_RUN_SLAB, __ATOMIC_RELEASE);
  partial_push(z, s);
  z->nempty++;
  z->nslabs++;
  return s;
}

unsigned mt_zone_take(unsigned c, void **ptrs, mt_meta_t **metas, unsigned max) {
  unsigned shard = zone_shard();
  mt_zone_t *z = &mt_zones[shard][c];
  unsigned got = 0;
  mt_lock(&z->lock);
  while (got < max) {
    mt_slab_t *s = z->partial;
    if (s == NULL && (s = slab_new_locked(z, shard, c)) == NULL)
      break;
    MT_ASSERT(s->kind == MT_RUN_SLAB && s->cls == c && s->list == 1 && s->shard == shard);
    MT_ASSERT(s->nfree > 0 && s->nfree <= s->nslots && s->nslots == mt_classes[c].nslots);
    if (s->nfree == s->nslots)
      z->nempty--;
    size_t words = (s->nslots + 63u) / 64u;
    for (size_t w = s->scan; w < words && got < max; w++) {
      uint64_t bits = s->bits[w];
      while (bits && got < max) {
        unsigned b = (unsigned)__builtin_ctzll(bits);
        bits &= bits - 1;
        size_t idx = w * 64 + b;
        MT_ASSERT(idx < s->nslots && s->meta[idx].f.state != MT_STATE_LIVE);
        ptrs[got] = (void *)(s->start + idx * s->slot_size);
        metas[got] = &s->meta[idx];
        got++;
        s->nfree--;
      }
      s->bits[w] = bits;
      s->scan = (uint16_t)(bits ? w : w + 1);
    }
    if (s->nfree == 0)
      partial_remove(z, s);
  }
  mt_unlock(&z->lock);
  return got;
}

void mt_zone_give(unsigned c, void *const *ptrs, unsigned n) {
  mt_zone_t *z = NULL;
  for (unsigned i = 0; i < n; i++) {
    uintptr_t a = (uintptr_t)ptrs[i];
    mt_slab_t *s = mt_run_of(a);
    /* s->shard may be read unlocked: the caller holds a slot of s, so s
     * lives, and its shard is fixed while it does. */
    MT_ASSERT(s->shard < MT_ZONE_SHARDS);
    mt_zone_t *zs = &mt_zones[s->shard][c];
    if (zs != z) {
      if (z != NULL)
        mt_unlock(&z->lock);
      z = zs;
      mt_lock(&z->lock);
    }
    uint32_t idx = mt_slab_index(s, a);
    MT_ASSERT(s->kind == MT_RUN_SLAB && s->cls == c && idx < s->nslots);
    /* A slot's start, given back once (its bit clear), not in use. */
    MT_ASSERT(a == s->start + (uintptr_t)idx * s->slot_size);
    MT_ASSERT(!(s->bits[idx >> 6] & (1ull << (idx & 63))) && s->nfree < s->nslots);
    MT_ASSERT(s->meta[idx].f.state != MT_STATE_LIVE);
    s->bits[idx >> 6] |= 1ull << (idx & 63);
    if (idx >> 6 < s->scan)
      s->scan = (uint16_t)(idx >> 6);
    if (s->nfree++ == 0)
      partial_push(z, s);
    if (s->nfree == s->nslots) {
      if (z->nempty < KEEP_EMPTY) {
        z->nempty++;
      } else {
        partial_remove(z, s);
        z->nslabs--;
        s->kind = MT_RUN_NONE;
        /* Every slot is free, so every meta state is FREE (or TRASHED with
         * checks on: the next slab here has fresh bytes, so FREE again). */
        void **list = s->free_pcs ? &z->meta_free_checked : &z->meta_free;
        if (s->free_pcs) {
          mt_dbg_slab_dtor(s); /* trash about to be lost with the pages: verified first */
          memset(s->meta, 0, s->nslots * sizeof(mt_meta_t));
          memset(mt_slab_fronts(s), 0, s->nslots * sizeof(uint32_t));
        }
        *(void **)s->meta = *list;
        *list = s->meta;
        mt_page_free_run(s);
      }
    }
  }
  if (z != NULL)
    mt_unlock(&z->lock);
}

void mt_zone_fork_prepare(void) {
  for (unsigned k = 0; k < MT_ZONE_SHARDS; k++)
    for (unsigned c = 0; c < MT_NCLASSES; c++)
      mt_lock(&mt_zones[k][c].lock);
}

void mt_zone_fork_parent(void) {
  for (unsigned k = 0; k < MT_ZONE_SHARDS; k++)
    for (unsigned c = 0; c < MT_NCLASSES; c++)
      mt_unlock(&mt_zones[k][c].lock);
}

void mt_zone_fork_child(void) {
  for (unsigned k = 0; k < MT_ZONE_SHARDS; k++)
    for (unsigned c = 0; c < MT_NCLASSES; c++)
      mt_lock_reset(&mt_zones[k][c].lock);
}

static bool zone_is_valid(unsigned shard, unsigned c) {
  mt_zone_t *z = &mt_zones[shard][c];
  bool ok = true;
  unsigned empty = 0;
  mt_lock(&z->lock);
  for (mt_slab_t *s = z->partial; s; s = s->next) {
    unsigned count = 0;
    size_t words = (s->nslots + 63u) / 64u;
    for (size_t w = 0; w < words; w++) {
      count += (unsigned)__builtin_popcountll(s->bits[w]);
      if (w < s->scan && s->bits[w])
        ok = false;
    }
    if (s->kind != MT_RUN_SLAB || s->cls != c || s->shard != shard || count != s->nfree ||
        s->nfree == 0)
      ok = false;
    if (s->nfree == s->nslots)
      empty++;
  }
  if (empty != z->nempty)
    ok = false;
  mt_unlock(&z->lock);
  return ok;
}

bool mt_zone_is_valid(unsigned c) {
  bool ok = true;
  for (unsigned k = 0; k < MT_ZONE_SHARDS; k++)
    ok &= zone_is_valid(k, c);
  return ok;
}
