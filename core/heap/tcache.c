/* tcache.c - thread caches (see tcache.h): creation from internal mmap'd
 * memory, batch refill and flush against the zones, release at thread exit
 * through a pthread key destructor, and clean-up of dead threads' caches in
 * a fork child. Registry lock order: registry, then zones, then page. */
#define _GNU_SOURCE
#include "tcache.h"

#include <pthread.h>
#include <string.h>

#include "arena.h"
#include "hooks.h"
#include "live.h"
#include "lock.h"
#include "os.h"
#include "page.h"
#include "site.h"
#include "timeline.h"
#include "unwind.h"
#include "zone.h"

MT_HIDDEN MT_TLS mt_tcache_t *mt_tls_cache;
MT_HIDDEN MT_TLS mt_tcache_t *mt_tls_own;
MT_HIDDEN bool mt_debug_gate;
MT_HIDDEN MT_TLS uint8_t mt_tls_state;

static mt_lock_t registry_lock;
static mt_tcache_t *registry;     /* live caches */
static mt_tcache_t *spare;        /* released caches, linked by next */
/* The shared slot: counters of dead threads and of cacheless calls. */
static mt_typestat_t *shared[MT_STAT_CHUNKS];
static unsigned threads_seen;

/* The peak (tcache.h). shared_live: the requested bytes live in the shared
 * slot (dead threads' `live`, cacheless calls) and inherited at a fork. The
 * peak's fields are written under peak_lock, taken with trylock only (a
 * signal handler's malloc in the middle of a check skips its own). */
MT_HIDDEN uint64_t mt_peak_epoch = 1;
static int64_t shared_live;
static uint64_t shared_gen; /* bumped at each change of shared_live */
static mt_lock_t peak_lock;
static mt_peak_t peak;
static pthread_key_t exit_key;
static size_t cache_bytes;        /* size of one cache with its arrays */

static void thread_exit(void *arg) {
  (void)arg;
  mt_tcache_detach();
}

void mt_tcache_init(void) {
  size_t slots = 0;
  for (unsigned c = 0; c < MT_NCLASSES; c++)
    slots += mt_classes[c].cache_cap;
  cache_bytes = sizeof(mt_tcache_t) + slots * 2 * sizeof(void *);
  cache_bytes = (cache_bytes + MT_PAGE_SIZE - 1) & ~(MT_PAGE_SIZE - 1);
  pthread_key_create(&exit_key, thread_exit);
}

static mt_tcache_t *cache_new(void) {
  static unsigned next_slot = 1;
  mt_tcache_t *tc = mt_os_map(cache_bytes);
  if (tc == NULL)
    return NULL;
  tc->slot = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED);
  void **store = (void **)(tc + 1);
  for (unsigned c = 0; c < MT_NCLASSES; c++) {
    mt_bin_t *b = &tc->bins[c];
    b->cap = mt_classes[c].cache_cap;
    b->batch = mt_classes[c].batch;
    b->items = store;
    b->metas = (mt_meta_t **)(store + b->cap);
    store += 2 * b->cap;
  }
  return tc;
}

static void set_room(mt_tcache_t *tc, int64_t limit, int64_t live);
static void arm(mt_tcache_t *tc);
static void set_armed_calls(mt_tcache_t *tc);

mt_tcache_t *mt_tcache_attach(void) {
  if (mt_tls_state != MT_THREAD_NEW)
    return mt_tls_own;
  mt_tls_state = MT_THREAD_ATTACHING;
  mt_lock(&registry_lock);
  mt_tcache_t *tc = spare;
  if (tc)
    spare = tc->next;
  mt_unlock(&registry_lock);
  if (tc == NULL && (tc = cache_new()) == NULL) {
    mt_tls_state = MT_THREAD_NEW;
    return NULL;
  }
  memset(tc->sites, 0, sizeof(tc->sites));
  tc->sample_left = mt_hook_sample_every; /* its meaning is the prelude's */
  tc->room = 0;        /* live 0: a recycled cache's was folded into shared_live */
  tc->peak_limit = 0;  /* its first growth checks the peak */
  tc->armed = false;
  set_armed_calls(tc);
  arm(tc); /* a recycled cache's records saved nothing for the peaks since */
  tc->tid = mt_os_gettid();
  mt_lock(&registry_lock);
  tc->prev = NULL;
  tc->next = registry;
  if (registry)
    registry->prev = tc;
  registry = tc;
  if (++threads_seen == 2)
    mt_zone_spread(); /* threads may now run at once: slabs per CPU (zone.h) */
  mt_unlock(&registry_lock);
  /* Any non-NULL value makes the destructor run at thread exit. This may
   * allocate (keys past the first block): the state guards it. */
  pthread_setspecific(exit_key, tc);
  mt_dbg_thread_start();
  mt_tls_own = tc;
  mt_tls_cache = mt_debug_gate ? NULL : tc;
  mt_tls_state = MT_THREAD_CACHED;
  return tc;
}


static mt_typestat_t *chunk_new(void) {
  return mt_arena_alloc(MT_STAT_CHUNK * sizeof(mt_typestat_t));
}

/* A shared-slot chunk: from the live file when it is on. */
static mt_typestat_t *shared_chunk_new(unsigned c) {
  mt_typestat_t *s = mt_live_chunk(0, c);
  return s ? s : chunk_new();
}

static void add_stat(mt_typestat_t *to, const mt_typestat_t *from) {
  int64_t high = mt_typestat_high(to) + mt_typestat_high(from);
  to->allocs += from->allocs;
  to->frees += from->frees;
  to->bytes_alloc += from->bytes_alloc;
  to->bytes_freed += from->bytes_freed;
  to->classes[0] |= from->classes[0];
  to->classes[1] |= from->classes[1];
  to->failures += from->failures;
  to->bytes_real += from->bytes_real;
  /* The shared slot's mark: the sum of the marks (a bound), as headroom. */
  to->hroom = high - (int64_t)(to->bytes_alloc - to->bytes_freed);
}

/* Requests by size of threads that exited, and of calls without a cache. */
static mt_sizeprof_t retired_prof;

static void add_prof(mt_sizeprof_t *to, const mt_sizeprof_t *from) {
  for (unsigned b = 0; b < MT_WASTE_BUCKETS; b++)
    to->requests[b] += __atomic_load_n(&from->requests[b], __ATOMIC_RELAXED);
  to->large_requests += __atomic_load_n(&from->large_requests, __ATOMIC_RELAXED);
  to->large_bytes += __atomic_load_n(&from->large_bytes, __ATOMIC_RELAXED);
  to->large_real += __atomic_load_n(&from->large_real, __ATOMIC_RELAXED);
}

/* Moves a dead thread's counters into the shared slot and zeroes its own,
 * so the recycled cache starts empty. Readers may briefly see them twice or
 * not at all: the same tolerance as any unsynchronised read. */
static void fold_stats_locked(mt_tcache_t *tc) {
  for (unsigned c = 0; c < MT_STAT_CHUNKS; c++) {
    mt_typestat_t *from = tc->stat[c];
    if (from == NULL)
      continue;
    if (shared[c] == NULL && (shared[c] = shared_chunk_new(c)) == NULL)
      continue;
    for (unsigned i = 0; i < MT_STAT_CHUNK; i++)
      if (from[i].allocs || from[i].frees || from[i].failures) {
        /* The values at the peak add up as the counters do. */
        uint64_t epoch = __atomic_load_n(&mt_peak_epoch, __ATOMIC_RELAXED);
        int64_t bytes = 0, blocks = 0;
        mt_typestat_at_peak(&shared[c][i], epoch, &bytes, &blocks);
        mt_typestat_at_peak(&from[i], epoch, &bytes, &blocks);
        add_stat(&shared[c][i], &from[i]);
        shared[c][i].peak_bytes = bytes;
        shared[c][i].peak_blocks = blocks;
        __atomic_store_n(&shared[c][i].peak_epoch, epoch, __ATOMIC_RELEASE);
        memset(&from[i], 0, sizeof(from[i]));
      }
  }
  __atomic_store_n(&shared_live, shared_live + mt_tcache_live_of(tc), __ATOMIC_RELAXED);
  __atomic_store_n(&shared_gen, shared_gen + 1, __ATOMIC_RELAXED);
  tc->armed = false;
  set_room(tc, 0, 0);
}

mt_typestat_t *mt_tcache_stat_chunk(mt_tcache_t *tc, unsigned chunk) {
  mt_typestat_t *s = mt_live_chunk(tc->slot, chunk);
  if (s == NULL)
    s = chunk_new();
  if (s == NULL) {
    /* Out of memory for counters: count into the shared slot's chunk 0
     * entry of the untyped type rather than fail the allocation. */
    static mt_typestat_t sink[MT_STAT_CHUNK];
    return sink;
  }
  /* Its types held nothing at the peak so far. */
  uint64_t epoch = mt_peak_epoch_now();
  for (unsigned i = 0; i < MT_STAT_CHUNK; i++)
    s[i].peak_epoch = epoch;
  __atomic_store_n(&tc->stat[chunk], s, __ATOMIC_RELEASE);
  tc->nchunks++;
  set_armed_calls(tc);
  return s;
}

static MT_NOINLINE uint32_t site_fill(mt_sitecache_t *e, uintptr_t pc) {
  e->pc = 0; /* a signal handler allocating here sees no half-made entry */
  e->type = mt_site_intern(pc);
  e->wrapper = mt_site_deep || mt_site_is_wrapper(e->type);
  e->pc = pc;
  return e->wrapper ? mt_site_resolve(pc) : e->type;
}

/* Without a frame when the entry is there (MEMTYPE_DEPTH > 1: every
 * allocation, a wrapper's site): a tail call to the memo's lookup. */
uint32_t mt_tcache_site_miss(mt_tcache_t *tc, uintptr_t pc) {
  mt_sitecache_t *e = &tc->sites[(pc ^ (pc >> 7)) & (MT_SITE_CACHE - 1)];
  if (MT_UNLIKELY(e->pc != pc))
    return site_fill(e, pc);
  return e->wrapper ? mt_site_resolve(pc) : e->type;
}

static void flush_all(mt_tcache_t *tc) {
  for (unsigned c = 0; c < MT_NCLASSES; c++)
    if (tc->bins[c].n)
      mt_tcache_flush(tc, c, tc->bins[c].n);
}

/* Unlinks tc from the registry and puts it on the spare list. */
static void release_locked(mt_tcache_t *tc) {
  fold_stats_locked(tc);
  add_prof(&retired_prof, &tc->prof);
  memset(&tc->prof, 0, sizeof(tc->prof));
  if (tc->prev)
    tc->prev->next = tc->next;
  else
    registry = tc->next;
  if (tc->next)
    tc->next->prev = tc->prev;
  tc->prev = NULL;
  tc->next = spare;
  spare = tc;
}

void mt_tcache_detach(void) {
  mt_dbg_thread_exit();
  mt_os_altstack_release();
  mt_unwind_thread_release();
  mt_tcache_t *tc = mt_tls_own;
  mt_tls_state = MT_THREAD_EXITED;
  mt_tls_cache = NULL;
  mt_tls_own = NULL;
  if (tc == NULL)
    return;
  flush_all(tc);
  mt_lock(&registry_lock);
  release_locked(tc);
  mt_unlock(&registry_lock);
}

/* A bin holds at most cap slots of its class, none in use: each item is
 * its meta's slot (checked here, where slots leave or enter a bin). */
static void bin_check(const mt_bin_t *b, unsigned c, unsigned from, unsigned to) {
  MT_ASSERT(b->n <= b->cap && to <= b->cap && c < MT_NCLASSES);
  for (unsigned i = from; i < to; i++) {
    uintptr_t a = (uintptr_t)b->items[i];
    mt_slab_t *s = mt_run_of(a);
    MT_ASSERT(s != NULL && s->kind == MT_RUN_SLAB && s->cls == c);
    MT_ASSERT(b->metas[i] == &s->meta[mt_slab_index(s, a)]);
    MT_ASSERT(b->metas[i]->f.state != MT_STATE_LIVE);
  }
}

/* The oldest n slots leave the bin before they reach the zone: a fork by
 * another thread between the two steps must not find them in both, or the
 * child, which gives every dead thread's cache back (mt_tcache_fork_child),
 * would give them twice and later hand one slot out twice. Found so (a
 * slot given back twice, zone.c's assertion) by a Debug build of
 * stress_short's fork mode. At worst a fork child loses those few free
 * slots. */
void mt_tcache_flush(mt_tcache_t *tc, unsigned c, unsigned n) {
  mt_bin_t *b = &tc->bins[c];
  if (n > b->n)
    n = b->n;
  if (MT_DEBUG_ON)
    bin_check(b, c, 0, n);
  void *out[MT_TCACHE_MAX_CAP];
  MT_ASSERT(n <= MT_TCACHE_MAX_CAP);
  memcpy(out, b->items, n * sizeof(void *));
  unsigned rest = b->n - n;
  memmove(b->items, b->items + n, rest * sizeof(void *));
  memmove(b->metas, b->metas + n, rest * sizeof(void *));
  __atomic_store_n(&b->n, (uint16_t)rest, __ATOMIC_RELEASE);
  mt_zone_give(c, out, n);
  if (tc == mt_tls_own) /* not a fork child's clean-up of another's cache */
    mt_tcache_slow_tick(tc);
}

bool mt_tcache_refill(mt_tcache_t *tc, unsigned c) {
  mt_bin_t *b = &tc->bins[c];
  unsigned want = b->batch;
  if (want > (unsigned)(b->cap - b->n))
    want = b->cap - b->n;
  unsigned got = mt_zone_take(c, b->items + b->n, b->metas + b->n, want);
  MT_ASSERT(got <= want);
  if (MT_DEBUG_ON)
    bin_check(b, c, b->n, b->n + got);
  b->n = (uint16_t)(b->n + got);
  mt_tcache_slow_tick(tc);
  return got != 0;
}

/* Counters counted before the live file existed (a library's constructor
 * that allocates before memtype's runs: libstdc++'s, ICU's) sit in private
 * chunks the reader never sees, and every later count of those types with
 * them. Each is copied into a chunk of the file and the pointer moved, at
 * constructor time, when the caller is normally the only thread (a count
 * made by another thread during the copy can be lost from the view only). */
void mt_tcache_live_adopt(void) {
  mt_lock(&registry_lock);
  for (mt_tcache_t *tc = registry; tc; tc = tc->next)
    for (unsigned c = 0; c < MT_STAT_CHUNKS; c++) {
      mt_typestat_t *old = tc->stat[c];
      if (old == NULL || mt_live_owns(old))
        continue;
      mt_typestat_t *s = mt_live_chunk(tc->slot, c);
      if (s == NULL)
        break;
      memcpy(s, old, MT_STAT_CHUNK * sizeof(*s));
      __atomic_store_n(&tc->stat[c], s, __ATOMIC_RELEASE);
    }
  for (unsigned c = 0; c < MT_STAT_CHUNKS; c++) {
    mt_typestat_t *old = shared[c];
    if (old == NULL || mt_live_owns(old))
      continue;
    mt_typestat_t *s = mt_live_chunk(0, c);
    if (s == NULL)
      break;
    memcpy(s, old, MT_STAT_CHUNK * sizeof(*s));
    shared[c] = s;
  }
  mt_unlock(&registry_lock);
}

void mt_tcache_count_failure(mt_tcache_t *tc, unsigned type) {
  if (tc) {
    mt_stat_add(&mt_tcache_stat(tc, type)->failures, 1);
    return;
  }
  unsigned c = type / MT_STAT_CHUNK;
  mt_lock(&registry_lock);
  if (shared[c] == NULL)
    shared[c] = shared_chunk_new(c);
  if (shared[c] != NULL)
    shared[c][type % MT_STAT_CHUNK].failures++;
  mt_unlock(&registry_lock);
}

void mt_tcache_count_nocache(bool alloc, unsigned type, unsigned cls, uint64_t bytes,
                             uint64_t real) {
  unsigned c = type / MT_STAT_CHUNK;
  mt_lock(&registry_lock);
  if (shared[c] == NULL)
    shared[c] = shared_chunk_new(c);
  if (shared[c] != NULL) {
    mt_typestat_t *s = &shared[c][type % MT_STAT_CHUNK];
    if (s->peak_epoch != __atomic_load_n(&mt_peak_epoch, __ATOMIC_RELAXED))
      mt_tcache_peak_save(s);
    __atomic_store_n(&shared_gen, shared_gen + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&shared_live, shared_live + (alloc ? (int64_t)bytes : -(int64_t)bytes),
                     __ATOMIC_RELAXED);
    if (alloc) {
      s->allocs++;
      s->bytes_alloc += bytes;
      s->bytes_real += real;
      if (cls != MT_CLASS_BIT_POOL) /* the program's own pools are not malloc requests */
        mt_sizeprof_add(&retired_prof, bytes, real);
      s->classes[MT_CLASS_WORD(cls)] |= MT_CLASS_MASK(cls);
      s->hroom -= (int64_t)bytes;
      if (s->hroom < 0)
        s->hroom = 0;
    } else {
      s->frees++;
      s->bytes_freed += bytes;
      s->hroom += (int64_t)bytes;
    }
  }
  mt_unlock(&registry_lock);
  if (alloc)
    mt_tcache_peak_check(NULL);
}

static void sum_slot(mt_typestat_t *const *slot, mt_typestat_t *out, unsigned ntypes) {
  for (unsigned c = 0; c * MT_STAT_CHUNK < ntypes; c++) {
    const mt_typestat_t *chunk = __atomic_load_n(&slot[c], __ATOMIC_ACQUIRE);
    if (chunk == NULL)
      continue;
    for (unsigned i = 0; i < MT_STAT_CHUNK && c * MT_STAT_CHUNK + i < ntypes; i++) {
      mt_typestat_t v;
      v.allocs = __atomic_load_n(&chunk[i].allocs, __ATOMIC_RELAXED);
      v.frees = __atomic_load_n(&chunk[i].frees, __ATOMIC_RELAXED);
      v.bytes_alloc = __atomic_load_n(&chunk[i].bytes_alloc, __ATOMIC_RELAXED);
      v.bytes_freed = __atomic_load_n(&chunk[i].bytes_freed, __ATOMIC_RELAXED);
      v.classes[0] = __atomic_load_n(&chunk[i].classes[0], __ATOMIC_RELAXED);
      v.classes[1] = __atomic_load_n(&chunk[i].classes[1], __ATOMIC_RELAXED);
      v.failures = __atomic_load_n(&chunk[i].failures, __ATOMIC_RELAXED);
      v.bytes_real = __atomic_load_n(&chunk[i].bytes_real, __ATOMIC_RELAXED);
      v.hroom = __atomic_load_n(&chunk[i].hroom, __ATOMIC_RELAXED);
      add_stat(&out[c * MT_STAT_CHUNK + i], &v);
    }
  }
}

bool mt_tcache_sum_sizes(mt_sizeprof_t *out) {
  memset(out, 0, sizeof(*out));
  for (unsigned tries = 0; !mt_trylock(&registry_lock); tries++) {
    if (tries == 1000)
      return false; /* held by the thread a handler interrupted */
    mt_os_yield();
  }
  add_prof(out, &retired_prof);
  for (mt_tcache_t *tc = registry; tc; tc = tc->next)
    add_prof(out, &tc->prof);
  mt_unlock(&registry_lock);
  return true;
}

void mt_tcache_sum_types(mt_typestat_t *out, unsigned ntypes) {
  mt_lock(&registry_lock);
  sum_slot(shared, out, ntypes);
  for (mt_tcache_t *tc = registry; tc; tc = tc->next)
    sum_slot(tc->stat, out, ntypes);
  mt_unlock(&registry_lock);
}

void mt_tcache_sum_stats(mt_tstats_t *out, unsigned *nthreads) {
  static mt_typestat_t all[MT_STAT_CHUNK]; /* folded by chunk to stay small */
  memset(out, 0, sizeof(*out));
  mt_lock(&registry_lock);
  for (unsigned c = 0; c < MT_STAT_CHUNKS; c++) {
    memset(all, 0, sizeof(all));
    mt_typestat_t *const one[1] = {shared[c]};
    sum_slot(one, all, MT_STAT_CHUNK);
    for (mt_tcache_t *tc = registry; tc; tc = tc->next) {
      mt_typestat_t *const mine[1] = {tc->stat[c]};
      sum_slot(mine, all, MT_STAT_CHUNK);
    }
    for (unsigned i = 0; i < MT_STAT_CHUNK; i++) {
      out->allocs += all[i].allocs;
      out->frees += all[i].frees;
      out->bytes_alloc += all[i].bytes_alloc;
      out->bytes_freed += all[i].bytes_freed;
    }
  }
  if (nthreads)
    *nthreads = threads_seen;
  mt_unlock(&registry_lock);
}

static unsigned slots_locked(mt_typestat_t *const **slots, unsigned max) {
  unsigned n = 0;
  if (n < max)
    slots[n] = shared;
  n++;
  for (mt_tcache_t *tc = registry; tc; tc = tc->next, n++)
    if (n < max)
      slots[n] = tc->stat;
  return n;
}


/* What a forked child owns at the fork: per type, the blocks and bytes that
 * were live in the parent (inherited, counted at each fork, so a grandchild
 * inherits what its parent held). The child's own counters start at zero:
 * a process tree's dumps merged count each allocation once, and a child's
 * blocks live are inherited + allocs - frees, never below zero. Written in
 * the fork child handler only (one thread), read racily like the slots. */
static uint64_t inherited_blocks[65536], inherited_bytes[65536];
static bool inherited_any;

unsigned mt_tcache_slots(mt_typestat_t *const **slots, unsigned max) {
  mt_lock(&registry_lock);
  unsigned n = slots_locked(slots, max);
  mt_unlock(&registry_lock);
  return n;
}

unsigned mt_tcache_slots_try(mt_typestat_t *const **slots, unsigned max) {
  if (!mt_trylock(&registry_lock))
    return 0;
  unsigned n = slots_locked(slots, max);
  mt_unlock(&registry_lock);
  return n;
}

unsigned mt_tcache_registered(void) {
  unsigned n = 0;
  mt_lock(&registry_lock);
  for (mt_tcache_t *tc = registry; tc; tc = tc->next)
    n++;
  mt_unlock(&registry_lock);
  return n;
}

void mt_tcache_fork_prepare(void) { mt_lock(&registry_lock); }
void mt_tcache_fork_parent(void) { mt_unlock(&registry_lock); }

/* In the child only the forking thread survives: return every other
 * thread's cached slots to the zones so they are neither lost nor leaks. */
void mt_tcache_fork_child(void) {
  mt_lock_reset(&registry_lock);
  mt_tcache_t *mine = mt_tls_own, *next;
  for (mt_tcache_t *tc = registry; tc; tc = next) {
    next = tc->next;
    if (tc == mine)
      continue;
    flush_all(tc);
    release_locked(tc);
  }
  if (mine)
    mine->tid = mt_os_gettid();
  /* The child owns the blocks live at the fork (inherited); its counters
   * start at zero, or a process tree's dumps merged would count the
   * parent's allocations twice. Its high-water mark starts at what it holds. */
  unsigned ntypes = mt_site_count();
  inherited_any = false; /* a grandchild: only what its parent held counts */
  for (unsigned t = 0; t < ntypes; t++) {
    unsigned c = t / MT_STAT_CHUNK, i = t % MT_STAT_CHUNK;
    int64_t blocks = (int64_t)inherited_blocks[t], bytes = (int64_t)inherited_bytes[t];
    mt_typestat_t *const from[2] = {shared[c], mine ? mine->stat[c] : NULL};
    for (unsigned k = 0; k < 2; k++)
      if (from[k]) {
        blocks += (int64_t)(from[k][i].allocs - from[k][i].frees);
        bytes += (int64_t)(from[k][i].bytes_alloc - from[k][i].bytes_freed);
      }
    uint64_t b = blocks > 0 ? (uint64_t)blocks : 0, n = bytes > 0 ? (uint64_t)bytes : 0;
    /* Stores only where a value changes: pages left alone stay shared. */
    if (inherited_blocks[t] != b)
      inherited_blocks[t] = b;
    if (inherited_bytes[t] != n)
      inherited_bytes[t] = n;
    inherited_any |= b > 0;
  }
  /* Its peak starts at what it inherited. */
  int64_t held = 0;
  for (unsigned t = 0; t < ntypes; t++)
    held += (int64_t)inherited_bytes[t];
  shared_live = held;
  shared_gen++;
  if (mine) {
    mine->armed = false;
    set_room(mine, 0, 0);
  }
  mt_lock_reset(&peak_lock);
  memset(&peak, 0, sizeof(peak));
  peak.bytes = (uint64_t)held;
  peak.count = 1;
  peak.epoch = ++mt_peak_epoch;
  peak.time_ns = mt_os_coarse_ns();
  if (mine)
    arm(mine); /* its records are zeroed below: each is saved (0) before it changes */
  for (unsigned c = 0; c < MT_STAT_CHUNKS; c++) {
    if (shared[c])
      memset(shared[c], 0, MT_STAT_CHUNK * sizeof(mt_typestat_t));
    if (mine && mine->stat[c])
      memset(mine->stat[c], 0, MT_STAT_CHUNK * sizeof(mt_typestat_t));
  }
  memset(&retired_prof, 0, sizeof(retired_prof));
  if (mine)
    memset(&mine->prof, 0, sizeof(mine->prof));
}

bool mt_tcache_has_inherited(void) { return inherited_any; }

uint64_t mt_tcache_inherited(unsigned type, uint64_t *bytes) {
  if (type >= 65536) {
    *bytes = 0;
    return 0;
  }
  *bytes = inherited_bytes[type];
  return inherited_blocks[type];
}

/* ---- the peak (tcache.h) ---------------------------------------------------- */

/* The owner moves its limit and room together (room = limit - live, both
 * less the bias when armed); `seq` is odd meanwhile, so a reader never takes
 * the new limit with the old room (a wrong live). */
static void set_room(mt_tcache_t *tc, int64_t limit, int64_t live) {
  if (tc->armed)
    limit -= MT_PEAK_BIAS;
  int64_t room = limit - live;
  uint64_t q = tc->seq;
  __atomic_store_n(&tc->seq, q + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&tc->peak_limit, limit, __ATOMIC_RELAXED);
  __atomic_store_n(&tc->room, room, __ATOMIC_RELAXED);
  __atomic_store_n(&tc->seq, q + 2, __ATOMIC_RELEASE);
}

/* After a new peak: the thread's calls take mt_tcache_room_out until
 * tc->armed_calls in a row make no new peak. Staying armed costs each call
 * some 40 instructions; the disarm walks every record of the slot (256 a
 * chunk) and saves most, some 13 each: the thread stays armed about as long
 * as a disarm costs (a ski rental: never more than twice the better of
 * staying armed until the next peak and disarming at once), so a
 * heap that makes a new peak now and then with few types (sqlite) pays a
 * short armed spell, one with many types and a steady climb (python) a
 * long one. */
#define MT_ARMED_PER_CHUNK 85
#define MT_ARMED_MIN 64
#define MT_ARMED_MAX 256
static void set_armed_calls(mt_tcache_t *tc) {
  uint32_t n = tc->nchunks * MT_ARMED_PER_CHUNK;
  tc->armed_calls = n < MT_ARMED_MIN ? MT_ARMED_MIN : n > MT_ARMED_MAX ? MT_ARMED_MAX : n;
}

static void arm(mt_tcache_t *tc) {
  tc->armed_left = tc->armed_calls;
  tc->seen_epoch = mt_peak_epoch_now();
  if (tc->armed)
    return;
  int64_t limit = tc->peak_limit, live = tc->peak_limit - tc->room;
  tc->armed = true;
  set_room(tc, limit, live);
}

int64_t mt_tcache_live_of(const mt_tcache_t *tc) {
  for (unsigned tries = 0;; tries++) {
    uint64_t q = __atomic_load_n(&tc->seq, __ATOMIC_ACQUIRE);
    int64_t limit = __atomic_load_n(&tc->peak_limit, __ATOMIC_RELAXED);
    int64_t room = __atomic_load_n(&tc->room, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if ((!(q & 1) && __atomic_load_n(&tc->seq, __ATOMIC_RELAXED) == q) || tries > 1000)
      return limit - room;
    mt_os_yield();
  }
}

void mt_tcache_peak_save(mt_typestat_t *s) {
  s->peak_bytes = (int64_t)(s->bytes_alloc - s->bytes_freed);
  s->peak_blocks = (int64_t)(s->allocs - s->frees);
  __atomic_store_n(&s->peak_epoch, __atomic_load_n(&mt_peak_epoch, __ATOMIC_ACQUIRE),
                   __ATOMIC_RELEASE);
}

/* The bytes live outside `me`: the shared slot, inherited blocks, every
 * other cache. A racy walk without the registry's lock: caches are never
 * unmapped, so a stale link still leads to a cache (a released one counts
 * 0); a cache may be missed or seen twice while threads come and go. */
static int64_t others_live(const mt_tcache_t *me) {
  int64_t sum = __atomic_load_n(&shared_live, __ATOMIC_RELAXED);
  unsigned guard = 0;
  for (mt_tcache_t *tc = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); tc && guard < 100000;
       tc = __atomic_load_n(&tc->next, __ATOMIC_ACQUIRE), guard++)
    if (tc != me)
      sum += mt_tcache_live_of(tc);
  return sum;
}

void mt_tcache_peak_check(mt_tcache_t *tc) {
  if (!MT_CONFIG_PEAK)
    return;
  if (tc)
    tc->shared_seen = __atomic_load_n(&shared_gen, __ATOMIC_RELAXED);
  int64_t others = others_live(tc);
  int64_t live = tc ? tc->peak_limit - tc->room : 0; /* the owner's own words */
  int64_t total = others + live;
  if (tc && !tc->armed && tc->seen_epoch != mt_peak_epoch_now())
    arm(tc); /* another thread's (or a cacheless call's) new peak */
  int64_t p = (int64_t)__atomic_load_n(&peak.bytes, __ATOMIC_RELAXED);
  /* With one thread no lock: only a signal handler's malloc could come in
   * between, and it records a peak as well (the fields stay plausible). */
  bool alone = __atomic_load_n(&threads_seen, __ATOMIC_RELAXED) <= 1;
  if (total > p && (alone || mt_trylock(&peak_lock))) {
    p = (int64_t)peak.bytes;
    if (total > p) {
      /* The records hold the values of this moment: each saves them at its
       * next change, seeing the new epoch (written under the lock, or by the
       * one thread: no locked add). */
      __atomic_store_n(&peak.bytes, (uint64_t)total, __ATOMIC_RELAXED);
      peak.time_ns = __atomic_load_n(&mt_tl_now, __ATOMIC_RELAXED); /* no clock read here */
      peak.count++;
      peak.epoch = __atomic_load_n(&mt_peak_epoch, __ATOMIC_RELAXED) + 1;
      __atomic_store_n(&mt_peak_epoch, peak.epoch, __ATOMIC_RELEASE);
      p = total;
      if (tc)
        arm(tc);
    }
    if (!alone)
      mt_unlock(&peak_lock);
  }
  if (tc)
    set_room(tc, p - others, live);
}

/* The values before this change: the first change after the peak. */
static void save_before(mt_typestat_t *s, uint64_t n, bool alloc, uint64_t epoch) {
  int64_t d = alloc ? (int64_t)n : -(int64_t)n, b = alloc ? 1 : -1;
  s->peak_bytes = (int64_t)(s->bytes_alloc - s->bytes_freed) - d;
  s->peak_blocks = (int64_t)(s->allocs - s->frees) - b;
  __atomic_store_n(&s->peak_epoch, epoch, __ATOMIC_RELEASE);
}

/* Every record of tc's slot not changed since the peak holds its value at
 * the peak: saved now, and the thread's calls go back to the fast path. */
static void disarm(mt_tcache_t *tc) {
  uint64_t epoch = mt_peak_epoch_now();
  for (unsigned c = 0; c < MT_STAT_CHUNKS; c++) {
    mt_typestat_t *chunk = tc->stat[c];
    if (chunk == NULL)
      continue;
    for (unsigned i = 0; i < MT_STAT_CHUNK; i++)
      if (chunk[i].peak_epoch != epoch)
        mt_tcache_peak_save(&chunk[i]);
  }
  int64_t limit = tc->peak_limit + MT_PEAK_BIAS, live = tc->peak_limit - tc->room;
  tc->armed = false;
  tc->seen_epoch = epoch;
  set_room(tc, limit, live);
}

/* The heap climbing with one thread: when nothing but this thread moved
 * since its last check (no other thread, no new peak elsewhere, the shared
 * slot's bytes as then), the limit is still the peak less the others, so the
 * heap is past the peak by exactly -real: a new peak, recorded without the
 * walk. False when the full check must run. */
static bool climb(mt_tcache_t *tc, int64_t real) {
  if (__atomic_load_n(&threads_seen, __ATOMIC_RELAXED) > 1 ||
      tc->seen_epoch != mt_peak_epoch_now() ||
      tc->shared_seen != __atomic_load_n(&shared_gen, __ATOMIC_RELAXED))
    return false;
  int64_t live = tc->peak_limit - tc->room, limit = tc->peak_limit + MT_PEAK_BIAS - real;
  __atomic_store_n(&peak.bytes, peak.bytes + (uint64_t)-real, __ATOMIC_RELAXED);
  peak.time_ns = __atomic_load_n(&mt_tl_now, __ATOMIC_RELAXED);
  peak.count++;
  peak.epoch = mt_peak_epoch + 1;
  __atomic_store_n(&mt_peak_epoch, peak.epoch, __ATOMIC_RELEASE);
  tc->seen_epoch = peak.epoch;
  tc->armed_left = tc->armed_calls;
  set_room(tc, limit, live);
  return true;
}

void mt_tcache_room_out(mt_tcache_t *tc, mt_typestat_t *s, uint64_t n, bool alloc) {
  if (!tc->armed) { /* past the limit */
    mt_tcache_peak_check(tc);
    return;
  }
  uint64_t epoch = mt_peak_epoch_now();
  if (__atomic_load_n(&s->peak_epoch, __ATOMIC_RELAXED) != epoch)
    save_before(s, n, alloc, epoch);
  int64_t real = tc->room + MT_PEAK_BIAS;
  if (alloc && real < 0) { /* past the limit too */
    if (!climb(tc, real))
      mt_tcache_peak_check(tc);
    return;
  }
  if (--tc->armed_left == 0)
    disarm(tc);
}

void mt_tcache_slow_tick(mt_tcache_t *tc) {
  uint64_t now = mt_timeline_tick();
  if (!MT_CONFIG_PEAK || tc == NULL || __atomic_load_n(&threads_seen, __ATOMIC_RELAXED) <= 1)
    return;
  if (now != tc->summed_ns) {
    tc->summed_ns = now;
    mt_tcache_peak_check(tc); /* the others' bytes as they are now */
  } else if (!tc->armed && tc->seen_epoch != mt_peak_epoch_now()) {
    arm(tc); /* another thread's new peak since this one's last check */
  }
}

bool mt_tcache_registered_many(void) {
  return __atomic_load_n(&threads_seen, __ATOMIC_RELAXED) > 1;
}

void mt_tcache_peak_get(mt_peak_t *out) {
  for (unsigned tries = 0; !mt_trylock(&peak_lock) && tries < 1000; tries++)
    mt_os_yield();
  *out = peak;
  out->epoch = __atomic_load_n(&mt_peak_epoch, __ATOMIC_ACQUIRE);
  out->threads = threads_seen;
  mt_unlock(&peak_lock);
}

static void sum_live_slot(mt_typestat_t *const *slot, int64_t *bytes, int64_t *blocks,
                          unsigned ntypes, uint64_t *allocated) {
  for (unsigned c = 0; c * MT_STAT_CHUNK < ntypes; c++) {
    const mt_typestat_t *chunk = __atomic_load_n(&slot[c], __ATOMIC_ACQUIRE);
    if (chunk == NULL)
      continue;
    for (unsigned i = 0; i < MT_STAT_CHUNK && c * MT_STAT_CHUNK + i < ntypes; i++) {
      uint64_t ba = __atomic_load_n(&chunk[i].bytes_alloc, __ATOMIC_RELAXED);
      bytes[c * MT_STAT_CHUNK + i] +=
          (int64_t)(ba - __atomic_load_n(&chunk[i].bytes_freed, __ATOMIC_RELAXED));
      blocks[c * MT_STAT_CHUNK + i] +=
          (int64_t)(__atomic_load_n(&chunk[i].allocs, __ATOMIC_RELAXED) -
                    __atomic_load_n(&chunk[i].frees, __ATOMIC_RELAXED));
      *allocated += ba;
    }
  }
}

void mt_tcache_sum_live(int64_t *bytes, int64_t *blocks, unsigned ntypes, uint64_t *allocated) {
  *allocated = 0;
  for (unsigned t = 0; t < ntypes; t++) {
    bytes[t] = (int64_t)inherited_bytes[t];
    blocks[t] = (int64_t)inherited_blocks[t];
  }
  sum_live_slot(shared, bytes, blocks, ntypes, allocated);
  unsigned guard = 0;
  for (mt_tcache_t *tc = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); tc && guard < 100000;
       tc = __atomic_load_n(&tc->next, __ATOMIC_ACQUIRE), guard++)
    sum_live_slot(tc->stat, bytes, blocks, ntypes, allocated);
}

static void high_slot(mt_typestat_t *const *slot, unsigned type, uint64_t epoch, int64_t *at_peak,
                      int64_t *blocks, int64_t *high, unsigned *counted) {
  const mt_typestat_t *chunk = __atomic_load_n(&slot[type / MT_STAT_CHUNK], __ATOMIC_ACQUIRE);
  if (chunk == NULL)
    return;
  const mt_typestat_t *st = &chunk[type % MT_STAT_CHUNK];
  if (!(st->allocs | st->frees))
    return;
  (*counted)++;
  mt_typestat_at_peak(st, epoch, at_peak, blocks);
  *high += mt_typestat_high(st);
}

uint64_t mt_tcache_high(unsigned type) {
  if (type >= 65536)
    return 0;
  uint64_t epoch = __atomic_load_n(&mt_peak_epoch, __ATOMIC_ACQUIRE);
  int64_t at_peak = (int64_t)inherited_bytes[type], blocks = 0, high = at_peak;
  unsigned counted = 0;
  mt_lock(&registry_lock);
  high_slot(shared, type, epoch, &at_peak, &blocks, &high, &counted);
  for (mt_tcache_t *tc = registry; tc; tc = tc->next)
    high_slot(tc->stat, type, epoch, &at_peak, &blocks, &high, &counted);
  mt_unlock(&registry_lock);
  int64_t v = counted <= 1 ? high : at_peak;
  return v > 0 ? (uint64_t)v : 0;
}
