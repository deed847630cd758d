/* tcache.h - per-thread caches: for each size class a bounded stack of free
 * slots with their metadata pointers, so the fast path pops or pushes without
 * a lock. Each cache is touched only by its thread, except in a fork child
 * (the caches of threads that did not survive are flushed there) and by the
 * racy, read-only stats summary. The registry of caches has its own lock. */
#ifndef MT_TCACHE_H
#define MT_TCACHE_H

#include "sizeclass.h"

typedef struct mt_bin_s {
  uint16_t n;         /* cached slots */
  uint16_t cap;       /* bound */
  uint16_t batch;     /* refill/flush size */
  void **items;       /* cap slot addresses, newest last */
  mt_meta_t **metas;  /* their metadata */
} mt_bin_t;

/* Totals (the summary line, tests). */
typedef struct mt_tstats_s {
  uint64_t allocs;
  uint64_t frees;
  uint64_t bytes_alloc;
  uint64_t bytes_freed;
} mt_tstats_t;

/* One type's counters in one thread's stat slot. Written only by the owning
 * thread with relaxed load + store (no locked instruction); readers sum all
 * slots without stopping anyone, as libmemstat reads malloc_type_stats. */
typedef struct mt_typestat_s {
  /* What the fast paths write, the first 64 bytes: one cache line when the
   * record starts on one (the live file's version 2 order). */
  uint64_t allocs;      /* successful allocations */
  uint64_t frees;
  uint64_t bytes_alloc; /* requested bytes */
  uint64_t bytes_freed;
  uint64_t classes[MT_CLASS_WORDS]; /* size classes used (sizeclass.h), vmstat's Size(s) */
  uint64_t bytes_real;  /* bytes handed out for them (slot, run or mapping sizes):
                         * the type's waste is bytes_real - bytes_alloc */
  /* The exact peak (see "The peak" below). Owner-written like the rest. */
  int64_t hroom;        /* this slot's own high-water mark of bytes_alloc - bytes_freed,
                         * less that difference now (>= 0): the headroom a malloc
                         * takes and a free gives back; mt_typestat_high adds it up */
  /* Slow paths only. */
  uint64_t failures;    /* allocations failed on purpose (MEMTYPE_FAILURE_RATE) */
  int64_t peak_bytes;   /* bytes_alloc - bytes_freed when the heap peaked, valid when */
  int64_t peak_blocks;  /* allocs - frees then;                  peak_epoch is current */
  uint64_t peak_epoch;  /* mt_peak_epoch when peak_* were saved */
} mt_typestat_t;
_Static_assert(__builtin_offsetof(mt_typestat_t, hroom) + 8 <= 64,
               "the fast paths' counters share a cache line");

/* MALLOC_PROFILE's table: requests by size rounded up to 16 bytes (bucket
 * (n + 15) / 16, to MT_SMALL_MAX), the larger ones summed in one row. */
#define MT_WASTE_BUCKETS (MT_SMALL_MAX / 16 + 1)
typedef struct mt_sizeprof_s {
  uint64_t requests[MT_WASTE_BUCKETS];
  uint64_t large_requests, large_bytes, large_real;
} mt_sizeprof_t;

#define MT_STAT_CHUNK 256 /* types per lazily allocated chunk of a slot */
#define MT_STAT_CHUNKS (65536 / MT_STAT_CHUNK)

/* Site cache entry: a call site and its type id. */
typedef struct mt_sitecache_s {
  uintptr_t pc;
  uint16_t type;
  uint8_t wrapper; /* pc is in a MEMTYPE_SKIP wrapper: unwind each time */
} mt_sitecache_t;
#define MT_SITE_CACHE 64

typedef struct mt_tcache_s {
  /* Fast-path mallocs left before one takes the slow path so memguard may
   * sample it (MEMTYPE_GUARD_RATE); counts down through 0 to UINT32_MAX
   * when sampling is off, a slow call in four billion. Owner only. */
  uint32_t sample_left;
  /* The peak gate: peak_limit less the requested bytes this thread
   * allocated less those it freed (its `live`, any thread's blocks: it may
   * be negative). A malloc takes its size off, a free gives it back, one
   * instruction each; below zero the heap may pass its recorded peak
   * through this thread (the limit is the peak less the others' bytes as
   * last seen): mt_tcache_peak_check. Owner-written (volatile: one
   * read-modify-write instruction); the others' peak checks read
   * live = peak_limit - room, with `seq` odd while the owner moves both
   * (mt_tcache_live_of). A cache line of their own: the others' reads must
   * not take the line of the bins' counts from the owner. */
  int64_t room __attribute__((aligned(64)));
  int64_t peak_limit;
  uint64_t seq;
  /* Armed (after a new peak): room and peak_limit both carry -MT_PEAK_BIAS,
   * so every malloc and free lands in mt_tcache_room_out, which saves each
   * record's values at the peak before its first change; after
   * armed_left such calls with no new peak the rest are saved at once and
   * the bias goes. seen_epoch: the peak epoch this thread last armed for.
   * Owner only. */
  uint64_t seen_epoch;
  uint64_t shared_seen; /* the shared slot's generation at its last check */
  uint64_t summed_ns;   /* the coarse clock when its slow path last summed the others */
  uint32_t armed_left;
  uint32_t nchunks;     /* stat chunks of its slot: what a disarm walks */
  uint32_t armed_calls; /* an armed spell's length, from nchunks (tcache.c) */
  bool armed;
  mt_bin_t bins[MT_NCLASSES];
  mt_sitecache_t sites[MT_SITE_CACHE];
  mt_typestat_t *stat[MT_STAT_CHUNKS]; /* this thread's slot, by type >> 8 */
  struct mt_tcache_s *prev, *next;     /* registry */
  long tid;                            /* owner's kernel thread id */
  unsigned slot;                       /* its slot number in the live file (1..) */
  mt_sizeprof_t prof;                  /* this thread's requests by size */
} mt_tcache_t;

/* Thread states in mt_tls_state. While a thread is ATTACHING it may call
 * into libc (pthread_setspecific), which may call malloc again: such a
 * re-entrant call sees no cache and takes the plain path (one slot straight
 * from the zone), never a second attach. This is the recursion guard. */
enum { MT_THREAD_NEW = 0, MT_THREAD_CACHED = 1, MT_THREAD_EXITED = 2, MT_THREAD_ATTACHING = 3 };

/* mt_tls_own is the thread's cache; mt_tls_cache is the same pointer when
 * the fast paths may use it, NULL when a debug feature (failure injection,
 * trash, redzones...) sends every call through the slow path: the debug
 * gate costs the fast path nothing, it is its existing NULL test. */
extern MT_TLS mt_tcache_t *mt_tls_cache;
extern MT_TLS mt_tcache_t *mt_tls_own;
/* Set once at option load: the fast paths are closed to every thread. */
extern bool mt_debug_gate;
extern MT_TLS uint8_t mt_tls_state;

/* Gives the calling thread a cache (slow path); NULL when none can be had
 * (out of memory, or the thread is exiting). */
mt_tcache_t *mt_tcache_attach(void);
/* Flushes and releases the calling thread's cache (thread exit). */
void mt_tcache_detach(void);
/* Moves the oldest `n` slots of bin c back to the zone. */
void mt_tcache_flush(mt_tcache_t *tc, unsigned c, unsigned n);
/* Fills bin c with a batch; false when the zone is out of memory. */
bool mt_tcache_refill(mt_tcache_t *tc, unsigned c);

/* Allocation counters of all threads, dead ones included (racy read). */
void mt_tcache_sum_stats(mt_tstats_t *out, unsigned *threads_seen);
/* Fills slots[] with up to max stat slots (the shared one first, then each
 * registered thread's) and returns how many there are. The slots stay
 * readable after the call (caches are recycled, never unmapped). */
unsigned mt_tcache_slots(mt_typestat_t *const **slots, unsigned max);
/* The same from a signal handler: 0 when the registry is busy. */
unsigned mt_tcache_slots_try(mt_typestat_t *const **slots, unsigned max);
/* Caches registered now (threads that have one). */
unsigned mt_tcache_registered(void);
/* Adds every slot's counters for types [0, ntypes) into out[] (zeroed by
 * the caller). Racy by design: a type may show a free before its alloc, so
 * callers clamp differences at zero. */
void mt_tcache_sum_types(mt_typestat_t *out, unsigned ntypes);
/* Counters for blocks handled without a cache (before init, after exit). */
void mt_tcache_count_nocache(bool alloc, unsigned type, unsigned cls, uint64_t bytes,
                             uint64_t real);
/* Every thread's requests by size, dead ones included (racy read); false
 * when the registry stays busy (it never waits long: dumps in handlers). */
bool mt_tcache_sum_sizes(mt_sizeprof_t *out);
/* Gives tc the stat chunk for types [chunk*256, chunk*256+256): slow path. */
mt_typestat_t *mt_tcache_stat_chunk(mt_tcache_t *tc, unsigned chunk);
/* Type of call site pc through the thread's site cache: slow path. */
uint32_t mt_tcache_site_miss(mt_tcache_t *tc, uintptr_t pc);

static inline uint16_t mt_tcache_site(mt_tcache_t *tc, uintptr_t pc) {
  mt_sitecache_t *e = &tc->sites[(pc ^ (pc >> 7)) & (MT_SITE_CACHE - 1)];
  if (MT_LIKELY(e->pc == pc && !e->wrapper))
    return e->type;
  return (uint16_t)mt_tcache_site_miss(tc, pc);
}

static inline mt_typestat_t *mt_tcache_stat(mt_tcache_t *tc, unsigned type) {
  mt_typestat_t *chunk = tc->stat[type / MT_STAT_CHUNK];
  if (MT_UNLIKELY(chunk == NULL))
    chunk = mt_tcache_stat_chunk(tc, type / MT_STAT_CHUNK);
  return &chunk[type % MT_STAT_CHUNK];
}

/* Relaxed owner-only update, no lock prefix: on x86-64 one add to memory
 * (as mt_owner_add below: a reader never sees a torn value, and only the
 * owner writes), elsewhere a relaxed load and store. */
static inline void mt_stat_add(uint64_t *c, uint64_t v) {
#if defined(__x86_64__)
  __asm__("addq %1, %0" : "+m"(*c) : "er"(v) : "cc");
#else
  __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
#endif
}

/* ---- The peak ----------------------------------------------------------
 * The heap's peak of requested bytes in use, exact, and each type's bytes
 * and blocks in use at that moment. Every count takes its size off (malloc)
 * or gives it back (free) to its thread's `room` (peak_limit - live); a
 * malloc that takes it below zero calls mt_tcache_peak_check, which sums the
 * other threads' `live` (O(threads)) and, when the heap as a whole is past
 * the recorded peak, records the new one and bumps mt_peak_epoch: O(1),
 * whatever the number of types. Each type's value at that peak is kept
 * lazily: the first change of a stat record after a new peak (its peak_epoch
 * is behind mt_peak_epoch) first saves the record's value then, so the value
 * at the peak is peak_* where peak_epoch is current, the counters otherwise.
 * That compare is off the fast path: a thread that records a new peak is
 * armed (its room carries -MT_PEAK_BIAS, so each of its calls takes
 * mt_tcache_room_out, which saves the record before its first change) until
 * armed_calls calls in a row make no new peak; then every record of its
 * slot not yet saved is saved at once (O(its types)) and the bias goes. A
 * new stat chunk starts saved (its types held nothing then).
 * With one thread this is exact. With several, a thread sees the others'
 * `live` as at its own last check (its last try at a new peak, or its first
 * cache refill or flush or large block after the coarse clock moved: a few
 * milliseconds at most while it allocates): a moment where threads together
 * pass the peak while each stays under its own limit is missed, by at most
 * what the other threads gained since that check; and a thread arms for
 * another's new peak at its own next refill, flush, large block or check, so
 * what it changed in between counts as at the peak (docs/format.md, PEAK). */
extern uint64_t mt_peak_epoch MT_HIDDEN; /* hidden: a direct load, not through the GOT */
void mt_tcache_peak_save(mt_typestat_t *s) MT_NOINLINE MT_COLD;
void mt_tcache_peak_check(mt_tcache_t *tc) MT_NOINLINE MT_COLD;

typedef struct mt_peak_s {
  uint64_t bytes;   /* the peak: requested bytes in use */
  uint64_t time_ns; /* when (coarse monotonic clock, mt_os_coarse_ns) */
  uint64_t count;   /* new peaks recorded */
  uint64_t epoch;   /* mt_peak_epoch of the peak */
  unsigned threads; /* threads that had a cache so far (1: exact) */
} mt_peak_t;
void mt_tcache_peak_get(mt_peak_t *out);
/* Has more than one thread had a cache (a racy read)? Then the slow paths
 * refresh the others' bytes for the peak check. */
bool mt_tcache_registered_many(void);
/* A slow-path event of tc's owner (a cache refill or flush, a large block;
 * tc may be NULL): the timeline's clock and, when several threads have had
 * a cache, the others' bytes for the peak, summed again once the coarse
 * clock has moved since this thread last summed them (some milliseconds):
 * the sum reads each other thread's `room`, a line its owner writes on
 * every call, so summing at every refill made two busy threads trade those
 * lines (some 5 % of mtchurn's time). Between sums only another thread's
 * new peak is looked for (one load), and arms this one. */
void mt_tcache_slow_tick(mt_tcache_t *tc);

/* A stat record's bytes and blocks in use at the peak of `epoch`. */
static inline void mt_typestat_at_peak(const mt_typestat_t *s, uint64_t epoch, int64_t *bytes,
                                       int64_t *blocks) {
  if (__atomic_load_n(&s->peak_epoch, __ATOMIC_ACQUIRE) == epoch) {
    *bytes += __atomic_load_n(&s->peak_bytes, __ATOMIC_RELAXED);
    *blocks += __atomic_load_n(&s->peak_blocks, __ATOMIC_RELAXED);
  } else {
    *bytes += (int64_t)(__atomic_load_n(&s->bytes_alloc, __ATOMIC_RELAXED) -
                        __atomic_load_n(&s->bytes_freed, __ATOMIC_RELAXED));
    *blocks += (int64_t)(__atomic_load_n(&s->allocs, __ATOMIC_RELAXED) -
                         __atomic_load_n(&s->frees, __ATOMIC_RELAXED));
  }
}

/* A stat record's own high-water mark (racy: the headroom and the counters
 * are read apart). */
static inline int64_t mt_typestat_high(const mt_typestat_t *s) {
  return __atomic_load_n(&s->hroom, __ATOMIC_RELAXED) +
         (int64_t)(__atomic_load_n(&s->bytes_alloc, __ATOMIC_RELAXED) -
                   __atomic_load_n(&s->bytes_freed, __ATOMIC_RELAXED));
}
/* The requested bytes a thread holds (its allocations less its frees), as
 * another thread reads them. */
int64_t mt_tcache_live_of(const mt_tcache_t *tc);

/* A type's own high-water mark of bytes in use: exact when one slot counted
 * it (one thread, say), else the bytes it held at the heap's peak, a lower
 * bound (the exit table; the dump adds the timeline's). */
uint64_t mt_tcache_high(unsigned type);

/* Every slot's bytes and blocks in use per type, inherited included, and the
 * bytes requested in all, for types [0, ntypes): a racy walk of the registry
 * without its lock (callable from any slow path and at exit). */
void mt_tcache_sum_live(int64_t *bytes, int64_t *blocks, unsigned ntypes, uint64_t *allocated);

static inline void mt_sizeprof_add(mt_sizeprof_t *p, uint64_t n, uint64_t real) {
  if (MT_LIKELY(n <= MT_SMALL_MAX)) {
    mt_stat_add(&p->requests[(n + 15) >> 4], 1);
  } else {
    mt_stat_add(&p->large_requests, 1);
    mt_stat_add(&p->large_bytes, n);
    mt_stat_add(&p->large_real, real);
  }
}

/* The global peak epoch as the fast path compares it: one plain load. */
static inline uint64_t mt_peak_epoch_now(void) { return *(volatile uint64_t *)&mt_peak_epoch; }

/* The owner's updates of its own words that other threads read: one
 * read-modify-write instruction to memory without a lock prefix (no torn
 * value for a reader, no lost update: only the owner writes, and a signal
 * handler of its own lands between instructions, not inside one). The
 * compiler splits a volatile or relaxed-atomic one into load, op, store, so
 * x86-64 gets it written out; elsewhere the relaxed load and store. Returns
 * whether the result is negative. */
static inline bool mt_owner_sub(int64_t *w, int64_t v) {
#if defined(__x86_64__)
  bool neg;
  __asm__("subq %2, %0" : "+m"(*w), "=@ccs"(neg) : "er"(v));
  return neg;
#else
  int64_t x = __atomic_load_n(w, __ATOMIC_RELAXED) - v;
  __atomic_store_n(w, x, __ATOMIC_RELAXED);
  return x < 0;
#endif
}
static inline bool mt_owner_add(int64_t *w, int64_t v) {
#if defined(__x86_64__)
  bool neg;
  __asm__("addq %2, %0" : "+m"(*w), "=@ccs"(neg) : "er"(v));
  return neg;
#else
  int64_t x = __atomic_load_n(w, __ATOMIC_RELAXED) + v;
  __atomic_store_n(w, x, __ATOMIC_RELAXED);
  return x < 0;
#endif
}

/* The bias an armed thread's room carries: no malloc or free brings it
 * back to zero or above. */
#define MT_PEAK_BIAS ((int64_t)1 << 62)
/* A malloc (alloc) or free of n bytes counted in s took tc's room below
 * zero: a possible new peak, or the thread is armed. */
void mt_tcache_room_out(mt_tcache_t *tc, mt_typestat_t *s, uint64_t n, bool alloc) MT_NOINLINE
    MT_COLD;

/* real: the bytes handed out for the n asked (the slot, the run...). Cost
 * beside the counters: the slot's high-water headroom and the thread's peak
 * room, a subtract to memory and a sign test each (a free: two adds, one
 * sign test). */
/* The counting of an allocation in record s, the room's check left to the
 * caller: true when it took the thread's room below zero, and the caller
 * must then call mt_tcache_room_out(tc, s, n, true) (the fast path does,
 * as a tail call: it makes no call of its own). */
static inline bool mt_tcache_count_alloc_in(mt_tcache_t *tc, mt_typestat_t *s, unsigned cls,
                                            uint64_t n, uint64_t real) {
  mt_stat_add(&s->allocs, 1);
  mt_stat_add(&s->bytes_alloc, n);
  mt_stat_add(&s->bytes_real, real);
  if (MT_CONFIG_PEAK && MT_UNLIKELY(mt_owner_sub(&s->hroom, (int64_t)n)))
    __atomic_store_n(&s->hroom, 0, __ATOMIC_RELAXED); /* a new own high: what it holds now */
  uint64_t bit = MT_CLASS_MASK(cls), *w = &s->classes[MT_CLASS_WORD(cls)];
  uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
  if (MT_UNLIKELY(!(old & bit)))
    __atomic_store_n(w, old | bit, __ATOMIC_RELAXED);
  return MT_CONFIG_PEAK && MT_UNLIKELY(mt_owner_sub(&tc->room, (int64_t)n));
}

static inline void mt_tcache_count_alloc(mt_tcache_t *tc, unsigned type, unsigned cls,
                                         uint64_t n, uint64_t real) {
  mt_typestat_t *s = mt_tcache_stat(tc, type);
  if (mt_tcache_count_alloc_in(tc, s, cls, n, real))
    mt_tcache_room_out(tc, s, n, true);
}

/* An injected failure of `type` (slow path; tc may be NULL). */
void mt_tcache_count_failure(mt_tcache_t *tc, unsigned type);
/* The live file has just been made: moves the counters kept so far in
 * private chunks into it (live.c). */
void mt_tcache_live_adopt(void);

/* The counting of a free in record s; true: the caller must call
 * mt_tcache_room_out(tc, s, n, false) (see mt_tcache_count_alloc_in). */
static inline void mt_tcache_count_free_rec(mt_typestat_t *s, uint64_t n) {
  mt_stat_add(&s->frees, 1);
  mt_stat_add(&s->bytes_freed, n);
  if (MT_CONFIG_PEAK)
    mt_owner_add(&s->hroom, (int64_t)n);
}
/* The thread's half of a free's count: true when the room stays below zero. */
static inline bool mt_tcache_count_free_room(mt_tcache_t *tc, uint64_t n) {
  return MT_CONFIG_PEAK && MT_UNLIKELY(mt_owner_add(&tc->room, (int64_t)n));
}
static inline bool mt_tcache_count_free_in(mt_tcache_t *tc, mt_typestat_t *s, uint64_t n) {
  mt_tcache_count_free_rec(s, n);
  return mt_tcache_count_free_room(tc, n);
}

static inline void mt_tcache_count_free(mt_tcache_t *tc, unsigned type, uint64_t n) {
  mt_typestat_t *s = mt_tcache_stat(tc, type);
  if (mt_tcache_count_free_in(tc, s, n))
    mt_tcache_room_out(tc, s, n, false);
}

/* A forked child's baseline: the blocks and bytes of `type` live in its
 * parent at the fork (0 in a process that never forked from one). A type's
 * blocks live are inherited + allocs - frees. */
uint64_t mt_tcache_inherited(unsigned type, uint64_t *bytes);
/* Did this process inherit any live block (a forked child)? */
bool mt_tcache_has_inherited(void);

void mt_tcache_init(void);
void mt_tcache_fork_prepare(void);
void mt_tcache_fork_parent(void);
void mt_tcache_fork_child(void);

#endif
