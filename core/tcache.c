/* tcache.c - thread caches (see tcache.h): creation from internal mmap'd
 * memory, batch refill and flush against the zones, release at thread exit
 * through a pthread key destructor, and clean-up of dead threads' caches in
 * a fork child. Registry lock order: registry, then zones, then page. */
#define _GNU_SOURCE
#include "tcache.h"

#include <pthread.h>
#include <string.h>

#include "lock.h"
#include "os.h"
#include "zone.h"

MT_HIDDEN MT_TLS mt_tcache_t *mt_tls_cache;
MT_HIDDEN MT_TLS uint8_t mt_tls_state;

static mt_lock_t registry_lock;
static mt_tcache_t *registry;     /* live caches */
static mt_tcache_t *spare;        /* released caches, linked by next */
static mt_tstats_t dead_stats;    /* folded counters of released caches */
static unsigned threads_seen;
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
  mt_tcache_t *tc = mt_os_map(cache_bytes);
  if (tc == NULL)
    return NULL;
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

mt_tcache_t *mt_tcache_attach(void) {
  if (mt_tls_state != MT_THREAD_NEW)
    return mt_tls_cache;
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
  memset(&tc->stats, 0, sizeof(tc->stats));
  tc->tid = mt_os_gettid();
  mt_lock(&registry_lock);
  tc->prev = NULL;
  tc->next = registry;
  if (registry)
    registry->prev = tc;
  registry = tc;
  threads_seen++;
  mt_unlock(&registry_lock);
  /* Any non-NULL value makes the destructor run at thread exit. This may
   * allocate (keys past the first block): the state guards it. */
  pthread_setspecific(exit_key, tc);
  mt_tls_cache = tc;
  mt_tls_state = MT_THREAD_CACHED;
  return tc;
}

static void fold_stats_locked(const mt_tstats_t *s) {
  dead_stats.allocs += s->allocs;
  dead_stats.frees += s->frees;
  dead_stats.bytes_alloc += s->bytes_alloc;
  dead_stats.bytes_freed += s->bytes_freed;
}

static void flush_all(mt_tcache_t *tc) {
  for (unsigned c = 0; c < MT_NCLASSES; c++)
    if (tc->bins[c].n)
      mt_tcache_flush(tc, c, tc->bins[c].n);
}

/* Unlinks tc from the registry and puts it on the spare list. */
static void release_locked(mt_tcache_t *tc) {
  fold_stats_locked(&tc->stats);
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
  mt_tcache_t *tc = mt_tls_cache;
  mt_tls_state = MT_THREAD_EXITED;
  mt_tls_cache = NULL;
  if (tc == NULL)
    return;
  flush_all(tc);
  mt_lock(&registry_lock);
  release_locked(tc);
  mt_unlock(&registry_lock);
}

void mt_tcache_flush(mt_tcache_t *tc, unsigned c, unsigned n) {
  mt_bin_t *b = &tc->bins[c];
  if (n > b->n)
    n = b->n;
  mt_zone_give(c, b->items, n);
  unsigned rest = b->n - n;
  memmove(b->items, b->items + n, rest * sizeof(void *));
  memmove(b->metas, b->metas + n, rest * sizeof(void *));
  b->n = (uint16_t)rest;
}

bool mt_tcache_refill(mt_tcache_t *tc, unsigned c) {
  mt_bin_t *b = &tc->bins[c];
  unsigned want = b->batch;
  if (want > (unsigned)(b->cap - b->n))
    want = b->cap - b->n;
  unsigned got = mt_zone_take(c, b->items + b->n, b->metas + b->n, want);
  b->n = (uint16_t)(b->n + got);
  return got != 0;
}

void mt_tcache_count_nocache(bool alloc, uint64_t bytes) {
  mt_lock(&registry_lock);
  if (alloc) {
    dead_stats.allocs++;
    dead_stats.bytes_alloc += bytes;
  } else {
    dead_stats.frees++;
    dead_stats.bytes_freed += bytes;
  }
  mt_unlock(&registry_lock);
}

void mt_tcache_sum_stats(mt_tstats_t *out, unsigned *nthreads) {
  mt_lock(&registry_lock);
  *out = dead_stats;
  for (mt_tcache_t *tc = registry; tc; tc = tc->next) {
    out->allocs += tc->stats.allocs;
    out->frees += tc->stats.frees;
    out->bytes_alloc += tc->stats.bytes_alloc;
    out->bytes_freed += tc->stats.bytes_freed;
  }
  if (nthreads)
    *nthreads = threads_seen;
  mt_unlock(&registry_lock);
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
  mt_tcache_t *mine = mt_tls_cache, *next;
  for (mt_tcache_t *tc = registry; tc; tc = next) {
    next = tc->next;
    if (tc == mine)
      continue;
    flush_all(tc);
    release_locked(tc);
  }
  if (mine)
    mine->tid = mt_os_gettid();
}
