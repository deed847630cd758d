/* fail.h - failure injection (MEMTYPE_FAILURE_*), FreeBSD's
 * debug.malloc.failure_rate for a process: 1 in N eligible allocations
 * returns NULL with ENOMEM, reproducibly from a seed, restricted to types,
 * capped, delayed; each injected failure is counted per type and kept as
 * an event for the dump. Also the time of the last failure, real or
 * injected, for malloc_last_fail(). */
#ifndef MT_FAIL_H
#define MT_FAIL_H

#include <stddef.h>

#include "mt_types.h"

/* One injected failure, as the dump's FAILURES section records it. */
typedef struct mt_fail_event_s {
  uint64_t seq;       /* 1 for the first injected failure; 0 = slot not written */
  uint64_t eligible;  /* which eligible allocation it was, from 1 */
  uint64_t time_ns;   /* when, nanoseconds since the Unix epoch */
  uint64_t size;      /* bytes asked for */
  uint32_t tid;       /* thread */
  uint16_t type;      /* type id */
  uint8_t family;     /* enum mt_family */
  uint8_t nframes;    /* frames[] filled, innermost first, memtype's own left out */
  uint64_t frames[MT_EVENT_FRAMES];
} mt_fail_event_t;
#define MT_FAIL_EVENTS 4096 /* the most recent ones are kept */

/* True when MEMTYPE_FAILURE_RATE is set: allocations ask mt_fail_should(). */
extern bool mt_fail_on;

/* Reads the options (after they are parsed): seed, filters. */
void mt_fail_init(void);
/* Should this allocation fail on purpose? Counts it when it does (type's
 * counter, event, verbose report). Called before any state changes. */
bool mt_fail_should(size_t n, unsigned type, unsigned family) MT_NOINLINE MT_COLD;
/* A real allocation failure: stamps the time for malloc_last_fail(). */
void mt_fail_note_real(void) MT_NOINLINE MT_COLD;
/* Seconds since the last failed allocation (INT32_MAX when none yet). */
int mt_fail_last_seconds(void);
/* Injected failures so far; eligible allocations seen so far. */
uint64_t mt_fail_count(void);
uint64_t mt_fail_eligible(void);
/* The seed in force (the chosen one when MEMTYPE_FAILURE_SEED=0). */
uint64_t mt_fail_seed(void);
/* The event ring: MT_FAIL_EVENTS entries, read racily (check seq). */
const mt_fail_event_t *mt_fail_events(void);

#endif
