/* timeline.c - memory over time (see timeline.h). One thread takes a
 * snapshot at a time (tl_lock, trylock only: a thread that finds it busy
 * goes on, as does a signal handler's malloc in the middle of one). The
 * per-type sums are a racy read of every slot, like the dump's. */
#include "timeline.h"

#include <string.h>

#include "lock.h"
#include "site.h"
#include "tcache.h"

MT_HIDDEN uint64_t mt_tl_due = UINT64_MAX; /* nothing before init */
MT_HIDDEN uint64_t mt_tl_now;

static mt_lock_t tl_lock;
static uint64_t tl_start;   /* coarse ns at init */
static uint64_t tl_spacing; /* between snapshots, doubled at each thinning */
static unsigned tl_n;
static mt_tl_snap_t tl_snaps[MT_TL_MAX];
static int64_t tl_bytes[65536], tl_blocks[65536]; /* scratch, per type */

static bool tl_off; /* MEMTYPE_TIMELINE=0 */

void mt_timeline_init(void) {
  tl_start = mt_tl_now = mt_os_coarse_ns();
  tl_spacing = tl_off ? 0 : MT_TL_FIRST_NS;
  tl_n = 0;
  __atomic_store_n(&mt_tl_due, tl_off ? UINT64_MAX : tl_start, __ATOMIC_RELAXED);
}

void mt_timeline_off(void) {
  tl_off = true;
  tl_spacing = 0; /* mt_timeline_take returns at once */
  tl_n = 0;
  __atomic_store_n(&mt_tl_due, UINT64_MAX, __ATOMIC_RELAXED);
}

bool mt_timeline_is_on(void) { return !tl_off; }

/* Keeps the `top` biggest types of tl_bytes, biggest first, and adds every
 * type's bytes and blocks into s (one pass: a snapshot's cost is this loop
 * and the sum, O(types x threads)). */
static unsigned pick_top(mt_tl_snap_t *s, unsigned ntypes) {
  mt_tl_entry_t *top = s->top;
  unsigned n = 0;
  uint64_t bytes = 0, blocks = 0;
  for (unsigned t = 0; t < ntypes; t++) {
    int64_t b = tl_bytes[t], k = tl_blocks[t];
    blocks += k > 0 ? (uint64_t)k : 0; /* malloc(0)'s blocks hold no bytes */
    if (b <= 0)
      continue;
    bytes += (uint64_t)b;
    if (n == MT_TL_TOP && (uint64_t)b <= top[n - 1].bytes)
      continue;
    unsigned i = n < MT_TL_TOP ? n++ : n - 1;
    while (i > 0 && top[i - 1].bytes < (uint64_t)b) {
      top[i] = top[i - 1];
      i--;
    }
    top[i].type = t;
    top[i].reserved = 0;
    top[i].bytes = (uint64_t)b;
    top[i].blocks = k > 0 ? (uint64_t)k : 0;
  }
  s->bytes = bytes;
  s->blocks = blocks;
  return n;
}

/* Full: every other snapshot goes (the first and the even ones stay) and
 * the spacing doubles. */
static void thin_locked(void) {
  unsigned k = 0;
  for (unsigned i = 0; i < tl_n; i += 2)
    tl_snaps[k++] = tl_snaps[i];
  tl_n = k;
  tl_spacing *= 2;
}

void mt_timeline_take(bool force) {
  if (tl_spacing == 0 || !mt_trylock(&tl_lock))
    return;
  uint64_t now = mt_os_coarse_ns();
  if (!force && now < __atomic_load_n(&mt_tl_due, __ATOMIC_RELAXED)) {
    mt_unlock(&tl_lock);
    return;
  }
  unsigned ntypes = mt_site_count();
  if (ntypes > 65536)
    ntypes = 65536;
  uint64_t allocated;
  mt_tcache_sum_live(tl_bytes, tl_blocks, ntypes, &allocated);
  if (tl_n == MT_TL_MAX)
    thin_locked();
  mt_tl_snap_t *s = &tl_snaps[tl_n];
  s->time_ns = now - tl_start;
  s->allocated = allocated;
  s->ntop = pick_top(s, ntypes);
  s->reserved = 0;
  /* A forced one at the same time as the last replaces it. */
  if (tl_n > 0 && tl_snaps[tl_n - 1].time_ns == s->time_ns) {
    tl_snaps[tl_n - 1] = *s;
  } else {
    tl_n++;
  }
  __atomic_store_n(&mt_tl_due, now + tl_spacing, __ATOMIC_RELAXED);
  mt_unlock(&tl_lock);
}

const mt_tl_snap_t *mt_timeline_get(unsigned *n, uint64_t *spacing_ns) {
  *n = tl_n;
  *spacing_ns = tl_spacing;
  return tl_snaps;
}

uint64_t mt_timeline_start(void) { return tl_start; }

void mt_timeline_fork_child(void) {
  mt_lock_reset(&tl_lock);
  mt_timeline_init();
}
