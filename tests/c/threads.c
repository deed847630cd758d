/* threads.c: 16 threads churning malloc/free with cross-thread frees.
 *
 * Each block carries a pattern derived from (thread id, sequence number) and
 * is verified in full before it is freed, wherever that happens.  Blocks are
 * passed between threads through per-slot queues, so most blocks are freed
 * by a thread other than the one that allocated them.  Threads are replaced
 * in waves: a new thread takes over a slot as soon as the old one is joined,
 * while the other slots' threads still run and still hold blocks of the
 * thread that just exited.  All randomness is seeded deterministically.
 * Exact accounting: every allocated block is freed exactly once, and the sum
 * of the per-block tokens at allocation equals the sum at free. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt_test.h"

#define NSLOTS 16
#define NWAVES 4
#define OPS 3000
#define LIVE_MAX 48

struct node {
  struct node *next;
  unsigned char *data;
  size_t size;
  uint32_t tid, seq;
  int zeroed_ok; /* calloc'd blocks: zero check result */
};

struct queue {
  pthread_mutex_t mu;
  struct node *head;
  size_t len;
};

static struct queue queues[NSLOTS];

static atomic_ullong n_alloc, n_free, tok_alloc, tok_free;
static atomic_ulong bad_pattern, bad_null, bad_align, bad_zero, bad_usable;

static uint64_t block_seed(uint32_t tid, uint32_t seq) {
  return mt_mix64(((uint64_t)tid << 32) | seq);
}

static uint64_t rng_next(uint64_t *s) {
  *s += 0x9E3779B97F4A7C15ull;
  return mt_mix64(*s);
}

static size_t pick_size(uint64_t *rng) {
  uint64_t r = rng_next(rng);
  if (r % 400 == 0) return ((size_t)1 << 20) + (size_t)((r >> 20) % 4096); /* ~1 MiB */
  unsigned shift = 3 + (unsigned)((r >> 9) % 14);                          /* 8 .. 64 KiB */
  size_t n = ((size_t)1 << shift) + (size_t)((r >> 24) % ((size_t)1 << shift));
  return n > 65536 ? 65536 : n;
}

static void queue_push(int slot, struct node *n) {
  struct queue *q = &queues[slot];
  pthread_mutex_lock(&q->mu);
  n->next = q->head;
  q->head = n;
  q->len++;
  pthread_mutex_unlock(&q->mu);
}

static struct node *queue_take_all(int slot) {
  struct queue *q = &queues[slot];
  pthread_mutex_lock(&q->mu);
  struct node *h = q->head;
  q->head = NULL;
  q->len = 0;
  pthread_mutex_unlock(&q->mu);
  return h;
}

static void verify_node(const struct node *n) {
  if (mt_verify(n->data, n->size, block_seed(n->tid, n->seq)) != MT_OK) {
    unsigned long b = atomic_fetch_add(&bad_pattern, 1);
    if (b < 5)
      fprintf(stderr, "pattern mismatch: block t%u/s%u size %zu at byte %zu\n", n->tid, n->seq, n->size,
              mt_verify(n->data, n->size, block_seed(n->tid, n->seq)));
  }
  if (!n->zeroed_ok) atomic_fetch_add(&bad_zero, 1);
  if (malloc_usable_size(n->data) < n->size) atomic_fetch_add(&bad_usable, 1);
}

static void release(struct node *n) {
  verify_node(n);
  atomic_fetch_add(&n_free, 1);
  atomic_fetch_add(&tok_free, block_seed(n->tid, n->seq) & 0xffffffffu);
  free(n->data);
  free(n);
}

static struct node *make_block(uint32_t tid, uint32_t seq, uint64_t *rng) {
  struct node *n = malloc(sizeof *n);
  if (!n) { atomic_fetch_add(&bad_null, 1); return NULL; }
  n->size = pick_size(rng);
  n->tid = tid;
  n->seq = seq;
  n->zeroed_ok = 1;
  uint64_t how = rng_next(rng) % 20;
  if (how == 0) {
    n->data = calloc(1, n->size);
    if (n->data && !mt_is_zero(n->data, n->size)) n->zeroed_ok = 0;
  } else if (how == 1) {
    void *p = NULL;
    size_t al = (size_t)64 << (rng_next(rng) % 7); /* 64 .. 4096 */
    n->data = posix_memalign(&p, al, n->size) == 0 ? p : NULL;
    if (n->data && ((uintptr_t)n->data & (al - 1))) atomic_fetch_add(&bad_align, 1);
  } else if (how == 2) {
    /* Allocate small, grow with realloc. */
    unsigned char *p = malloc(8);
    if (p) {
      mt_fill(p, 8, block_seed(tid, seq));
      n->data = realloc(p, n->size);
      if (!n->data) free(p);
    } else {
      n->data = NULL;
    }
  } else {
    n->data = malloc(n->size);
  }
  if (!n->data) {
    atomic_fetch_add(&bad_null, 1);
    free(n);
    return NULL;
  }
  if ((uintptr_t)n->data & 15) atomic_fetch_add(&bad_align, 1);
  mt_fill(n->data, n->size, block_seed(tid, seq));
  atomic_fetch_add(&n_alloc, 1);
  atomic_fetch_add(&tok_alloc, block_seed(tid, seq) & 0xffffffffu);
  return n;
}

/* Blocks received from other threads: verify and free, or sometimes realloc
 * them first (realloc of a block allocated by another, maybe dead, thread). */
static void drain(int slot, uint64_t *rng2) {
  struct node *h = queue_take_all(slot);
  while (h) {
    struct node *next = h->next;
    if (rng_next(rng2) % 4 == 0) {
      verify_node(h);
      size_t nsz = pick_size(rng2);
      unsigned char *p = realloc(h->data, nsz);
      if (!p) {
        atomic_fetch_add(&bad_null, 1);
      } else {
        size_t keep = nsz < h->size ? nsz : h->size;
        if (mt_verify(p, keep, block_seed(h->tid, h->seq)) != MT_OK) atomic_fetch_add(&bad_pattern, 1);
        h->data = p;
        h->size = nsz;
        mt_fill(p, nsz, block_seed(h->tid, h->seq));
      }
    }
    release(h);
    h = next;
  }
}

struct targ {
  int slot, wave;
};

static void *worker(void *arg) {
  const struct targ *a = arg;
  const int slot = a->slot;
  const uint32_t tid = (uint32_t)(a->wave * NSLOTS + slot);
  uint64_t rng = 0x5eed0000ull + tid;  /* allocation decisions */
  uint64_t rng2 = 0xd2a10000ull + tid; /* decisions about received blocks */
  struct node *live[LIVE_MAX];
  int nlive = 0;
  uint32_t seq = 0;

  for (int op = 0; op < OPS; op++) {
    uint64_t r = rng_next(&rng);
    if (nlive == 0 || (nlive < LIVE_MAX && r % 3 != 0)) {
      struct node *n = make_block(tid, seq++, &rng);
      if (n) live[nlive++] = n;
    } else {
      int i = (int)((r >> 8) % (uint64_t)nlive);
      struct node *n = live[i];
      live[i] = live[--nlive];
      if ((r >> 16) % 4 == 0) {
        release(n); /* local free */
      } else {
        int to = (int)((r >> 24) % NSLOTS);
        if (to == slot) to = (to + 1) % NSLOTS;
        verify_node(n);
        queue_push(to, n); /* freed by another thread */
      }
    }
    if (op % 16 == 15) drain(slot, &rng2);
  }
  /* Exit while still owning blocks: hand them all to other slots, where the
   * next waves (or main) free them after this thread is gone. */
  for (int i = 0; i < nlive; i++) queue_push((int)((slot + 1 + i) % NSLOTS), live[i]);
  drain(slot, &rng2);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("threads: %d slots x %d waves, %d ops each, memtype_owns %s\n", NSLOTS, NWAVES, OPS,
         mt_owns() ? "present" : "absent");
  for (int i = 0; i < NSLOTS; i++) pthread_mutex_init(&queues[i].mu, NULL);

  pthread_t th[NSLOTS];
  static struct targ args[NWAVES][NSLOTS];
  int create_fail = 0;
  for (int s = 0; s < NSLOTS; s++) {
    args[0][s] = (struct targ){s, 0};
    if (pthread_create(&th[s], NULL, worker, &args[0][s]) != 0) create_fail++;
  }
  /* Waves: replace each slot's thread as soon as it finishes, the others
   * keep running and keep holding the finished thread's blocks. */
  for (int w = 1; w < NWAVES; w++) {
    for (int s = 0; s < NSLOTS; s++) {
      pthread_join(th[s], NULL);
      args[w][s] = (struct targ){s, w};
      if (pthread_create(&th[s], NULL, worker, &args[w][s]) != 0) create_fail++;
    }
  }
  for (int s = 0; s < NSLOTS; s++) pthread_join(th[s], NULL);
  CHECK(create_fail == 0, "%d pthread_create failures", create_fail);

  /* Main frees whatever the last wave left behind (blocks of dead threads). */
  size_t leftover = 0;
  for (int s = 0; s < NSLOTS; s++) {
    struct node *h = queue_take_all(s);
    while (h) {
      struct node *next = h->next;
      if (leftover == 0) CHECK_OWNS(h->data, "leftover block");
      leftover++;
      release(h);
      h = next;
    }
  }
  printf("threads: %llu blocks allocated, %llu freed, %zu freed by main after all threads exited\n",
         (unsigned long long)n_alloc, (unsigned long long)n_free, leftover);

  CHECK(leftover > 0, "no blocks outlived their threads (test is not exercising that path)");
  CHECK(n_alloc == n_free, "allocated %llu blocks but freed %llu", (unsigned long long)n_alloc,
        (unsigned long long)n_free);
  CHECK(tok_alloc == tok_free, "token checksum: allocated %llx freed %llx", (unsigned long long)tok_alloc,
        (unsigned long long)tok_free);
  CHECK(bad_pattern == 0, "%lu blocks had a corrupted pattern", (unsigned long)bad_pattern);
  CHECK(bad_null == 0, "%lu allocations returned NULL", (unsigned long)bad_null);
  CHECK(bad_align == 0, "%lu blocks misaligned", (unsigned long)bad_align);
  CHECK(bad_zero == 0, "%lu calloc blocks were not zero", (unsigned long)bad_zero);
  CHECK(bad_usable == 0, "%lu blocks had malloc_usable_size < size", (unsigned long)bad_usable);
  return mt_finish();
}
