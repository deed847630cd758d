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

/* Counters of one thread; written by it alone with plain stores. */
typedef struct mt_tstats_s {
  uint64_t allocs;
  uint64_t frees;
  uint64_t bytes_alloc;
  uint64_t bytes_freed;
} mt_tstats_t;

typedef struct mt_tcache_s {
  mt_bin_t bins[MT_NCLASSES];
  mt_tstats_t stats;
  struct mt_tcache_s *prev, *next; /* registry */
  long tid;                        /* owner's kernel thread id */
} mt_tcache_t;

/* Thread states in mt_tls_state. While a thread is ATTACHING it may call
 * into libc (pthread_setspecific), which may call malloc again: such a
 * re-entrant call sees no cache and takes the plain path (one slot straight
 * from the zone), never a second attach. This is the recursion guard. */
enum { MT_THREAD_NEW = 0, MT_THREAD_CACHED = 1, MT_THREAD_EXITED = 2, MT_THREAD_ATTACHING = 3 };

extern MT_TLS mt_tcache_t *mt_tls_cache;
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
/* Caches registered now (threads that have one). */
unsigned mt_tcache_registered(void);
/* Counters for allocations made without a cache (before init, after exit). */
void mt_tcache_count_nocache(bool alloc, uint64_t bytes);

void mt_tcache_init(void);
void mt_tcache_fork_prepare(void);
void mt_tcache_fork_parent(void);
void mt_tcache_fork_child(void);

#endif
