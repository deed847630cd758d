/* timeline.h - memory over time: snapshots of the heap's bytes and blocks in
 * use, with the biggest types', taken on slow-path events (cache refill and
 * flush, large blocks) when the coarse clock has passed the next due time,
 * never on the fast path. At most MT_TL_MAX are kept: when full, every other
 * one is dropped and the spacing doubles (massif's thinning), so a long run
 * keeps between MT_TL_MAX / 2 and MT_TL_MAX spread over its whole life. */
#ifndef MT_TIMELINE_H
#define MT_TIMELINE_H

#include "mt_types.h"
#include "os.h"

#define MT_TL_MAX 200      /* snapshots kept */
#define MT_TL_TOP 16       /* types per snapshot, biggest first */
#define MT_TL_FIRST_NS 5000000u /* the first spacing: 5 ms */

typedef struct mt_tl_entry_s {
  uint32_t type;
  uint32_t reserved;
  uint64_t bytes;  /* requested bytes in use */
  uint64_t blocks; /* blocks in use */
} mt_tl_entry_t;

typedef struct mt_tl_snap_s {
  uint64_t time_ns;   /* since the timeline started (process start) */
  uint64_t bytes;     /* every type's requested bytes in use */
  uint64_t blocks;
  uint64_t allocated; /* requested bytes allocated so far (the massif x axis) */
  uint32_t ntop;      /* entries filled */
  uint32_t reserved;
  mt_tl_entry_t top[MT_TL_TOP];
} mt_tl_snap_t;

/* When the next snapshot is due (coarse monotonic ns), and the clock as the
 * last slow-path event read it (the peak's time); read racily. */
extern uint64_t mt_tl_due, mt_tl_now;

/* Starts the clock (bootstrap). */
void mt_timeline_init(void);
/* MEMTYPE_TIMELINE=0: no snapshots from now on (the clock still runs: the
 * peak's time). */
void mt_timeline_off(void);
/* Are snapshots taken (and the dump's TIMELINE written)? */
bool mt_timeline_is_on(void);
/* Takes a snapshot (O(types x threads)); skipped when another thread is
 * taking one. `force`: even when not due (the dump's last one). */
void mt_timeline_take(bool force) MT_NOINLINE MT_COLD;
/* From slow paths: a snapshot when one is due. Returns the coarse clock
 * (0 without the peak). mt_tl_now is stored only when the clock has moved
 * (once a tick, some milliseconds): threads refilling their caches at once
 * would otherwise write its cache line in turn, for nothing. */
static inline uint64_t mt_timeline_tick(void) {
  if (!MT_CONFIG_PEAK)
    return 0;
  uint64_t now = mt_os_coarse_ns();
  if (now != __atomic_load_n(&mt_tl_now, __ATOMIC_RELAXED))
    __atomic_store_n(&mt_tl_now, now, __ATOMIC_RELAXED);
  if (MT_UNLIKELY(now >= __atomic_load_n(&mt_tl_due, __ATOMIC_RELAXED)))
    mt_timeline_take(false);
  return now;
}
/* The snapshots kept, oldest first (valid until the next take), their number
 * and the spacing in force. */
const mt_tl_snap_t *mt_timeline_get(unsigned *n, uint64_t *spacing_ns);
/* The coarse clock when the timeline started (snapshot times count from it). */
uint64_t mt_timeline_start(void);
/* A fork child starts its own timeline, from its inherited blocks. */
void mt_timeline_fork_child(void);

#endif
