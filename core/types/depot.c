/* depot.c - the stack depot (see depot.h). One mapping, made on first use:
 * the hash table (MT_DEPOT_SLOTS u32 ids, 0 = empty), then the entries,
 * handed out by an atomic bump pointer in 8-byte units. An id is an entry's
 * offset in units (the first unit is never handed out, so 0 is no id). A
 * writer bumps, writes the entry, then CASes the id into an empty slot
 * (release); a reader loads a slot (acquire) and reads an entry that no one
 * writes again. An entry whose writer lost the race to an equal one, or died
 * (fork) before publishing, is space lost, never a wrong stack. Untouched
 * pages cost nothing. */
#include "depot.h"

#include <string.h>

#include "modules.h"
#include "mt_types.h"
#include "options.h"
#include "os.h"
#include "unwind.h"

/* ---- data ---------------------------------------------------------------- */

typedef struct entry_s {
  uint32_t hash;
  uint32_t n;       /* frames that follow */
  uint64_t pcs[];
} entry_t;

#define UNIT 8u
#define TABLE_BYTES ((uint64_t)MT_DEPOT_SLOTS * sizeof(uint32_t))
#define MAX_PROBES 64u

static uint8_t *region;   /* TABLE_BYTES of slots, then MT_DEPOT_BYTES of entries */
static uint64_t used = 1; /* units of entries handed out (unit 0: never an id) */
static uint64_t stored, drops;
MT_HIDDEN bool mt_depot_on;

static uint8_t *depot_region(void) {
  uint8_t *r = __atomic_load_n(&region, __ATOMIC_ACQUIRE);
  if (MT_LIKELY(r != NULL))
    return r;
  r = mt_os_map(TABLE_BYTES + MT_DEPOT_BYTES);
  if (r == NULL)
    return NULL;
  uint8_t *none = NULL;
  if (!__atomic_compare_exchange_n(&region, &none, r, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    mt_os_unmap(r, TABLE_BYTES + MT_DEPOT_BYTES);
    r = none;
  }
  return r;
}

static inline entry_t *entry_at(uint8_t *r, uint32_t id) {
  return (entry_t *)(void *)(r + TABLE_BYTES + (uint64_t)id * UNIT);
}

static uint32_t hash_of(const uintptr_t *pcs, unsigned n) {
  uint64_t h = 0xcbf29ce484222325ull ^ n;
  for (unsigned i = 0; i < n; i++)
    h = (h ^ pcs[i]) * 0x100000001b3ull;
  return (uint32_t)(h ^ (h >> 32));
}

static bool same(const entry_t *e, uint32_t h, const uintptr_t *pcs, unsigned n) {
  return e->hash == h && e->n == n && memcmp(e->pcs, pcs, n * sizeof(uintptr_t)) == 0;
}

/* ---- public ---------------------------------------------------------------- */

uint32_t mt_depot_put(const uintptr_t *pcs, unsigned n) {
  if (n == 0)
    return 0;
  if (n > MT_DEPOT_MAX_FRAMES)
    n = MT_DEPOT_MAX_FRAMES;
  uint8_t *r = depot_region();
  if (r == NULL)
    return 0;
  uint32_t *slots = (uint32_t *)(void *)r, h = hash_of(pcs, n), mine = 0;
  for (unsigned probe = 0; probe < MAX_PROBES; probe++) {
    uint32_t *slot = &slots[(h + probe) & (MT_DEPOT_SLOTS - 1)];
    uint32_t id = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (id == 0) {
      if (mine == 0) { /* written once, published in the first empty slot that takes it */
        uint64_t units = (sizeof(entry_t) + n * sizeof(uintptr_t)) / UNIT;
        uint64_t at = __atomic_load_n(&used, __ATOMIC_RELAXED);
        do { /* never past the end: the entries' bytes stay bounded */
          if (at + units > MT_DEPOT_BYTES / UNIT)
            goto full;
        } while (!__atomic_compare_exchange_n(&used, &at, at + units, true, __ATOMIC_RELAXED,
                                              __ATOMIC_RELAXED));
        mine = (uint32_t)at;
        entry_t *e = entry_at(r, mine);
        memcpy(e->pcs, pcs, n * sizeof(uintptr_t));
        e->hash = h;
        e->n = n;
      }
      if (__atomic_compare_exchange_n(slot, &id, mine, false, __ATOMIC_RELEASE,
                                      __ATOMIC_ACQUIRE)) {
        __atomic_fetch_add(&stored, 1, __ATOMIC_RELAXED);
        return mine;
      }
      /* another writer took the slot first: id is theirs, compared below */
    }
    if (same(entry_at(r, id), h, pcs, n))
      return id; /* (mine, if written, is lost) */
  }
full:
  __atomic_fetch_add(&drops, 1, __ATOMIC_RELAXED);
  return 0;
}

unsigned mt_depot_get(uint32_t id, uintptr_t *out, unsigned max) {
  uint8_t *r = __atomic_load_n(&region, __ATOMIC_ACQUIRE);
  if (r == NULL || id == 0 || id >= __atomic_load_n(&used, __ATOMIC_RELAXED))
    return 0;
  const entry_t *e = entry_at(r, id);
  if (e->n > MT_DEPOT_MAX_FRAMES)
    return 0; /* not an entry's start */
  unsigned n = e->n < max ? e->n : max;
  memcpy(out, e->pcs, n * sizeof(uintptr_t));
  return n;
}

/* memtype's own code: [own_lo, own_hi), the executable segment holding
 * this file (0, 0 until known, and when it cannot be: then nothing is
 * skipped). */
static uintptr_t own_lo, own_hi;
static bool own_known;

static void own_range(void) {
  mt_module_t m;
  uintptr_t here = (uintptr_t)&mt_depot_capture;
  if (mt_modules_find(here, &m))
    for (unsigned i = 0; i < m.nseg; i++)
      if (here >= m.seg_lo[i] && here < m.seg_hi[i]) {
        own_lo = m.seg_lo[i];
        own_hi = m.seg_hi[i];
      }
  __atomic_store_n(&own_known, true, __ATOMIC_RELEASE);
}

/* mt_depot_capture's value of the frames the memo's walk found from `from`:
 * their id, kept for the next hit when there were frames (none: the call
 * site alone, not kept). */
static uint32_t capture_value(uintptr_t from, uintptr_t key, const uintptr_t *pcs, unsigned n,
                              bool *keep) {
  (void)key;
  *keep = n != 0;
  return n ? mt_depot_put(pcs, n) : mt_depot_put(&from, 1);
}

/* A block stack with no call site to start from: walked whole, memtype's
 * own frames dropped here. Apart from mt_depot_capture, so that its common
 * path (from a call site, through the memo) needs no frame of its own: the
 * 80-word array and the saved registers are this function's. */
static MT_NOINLINE uint32_t capture_walk(unsigned depth) {
  uintptr_t all[MT_DEPOT_MAX_FRAMES + 16];
  /* room for memtype's own frames (entry point, slow path, checks) */
  unsigned n = mt_unwind_capture(all, depth + 16), i = 0;
  if (MT_UNLIKELY(!__atomic_load_n(&own_known, __ATOMIC_ACQUIRE)))
    own_range();
  while (i < n && all[i] - own_lo < own_hi - own_lo)
    i++;
  if (i == n) /* all of it memtype's (a static link: the unit tests): keep it */
    i = 0;
  return mt_depot_put(all + i, n - i < depth ? n - i : depth);
}

uint32_t mt_depot_capture(uintptr_t from) {
  unsigned depth = (unsigned)mt_opt.stack_depth;
  if (depth == 0)
    return 0;
  if (depth > MT_DEPOT_MAX_FRAMES)
    depth = MT_DEPOT_MAX_FRAMES;
  /* memtype's own frames walked, not kept; the walk ends at depth. Through
   * the memo's lean lookup: the same frames from here as last time give
   * their id in one small call (a tail call), the walk and the depot only
   * on a miss. */
  if (MT_LIKELY(from)) {
    /* from the program's frame when the slow path has it (unwind.h) */
    const mt_unwind_at_t *at = &mt_unwind_entry;
    if (at->ip == from)
      return mt_unwind_memo_value_at(depth, at, 0, capture_value);
    return mt_unwind_memo_value(depth, from, 0, capture_value);
  }
  return capture_walk(depth);
}

uint64_t mt_depot_count(void) { return __atomic_load_n(&stored, __ATOMIC_RELAXED); }
uint64_t mt_depot_bytes(void) { return (__atomic_load_n(&used, __ATOMIC_RELAXED) - 1) * UNIT; }
uint64_t mt_depot_drops(void) { return __atomic_load_n(&drops, __ATOMIC_RELAXED); }
