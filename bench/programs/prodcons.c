/* prodcons.c - producer/consumer threads: PAIRS producers each send ITEMS
 * messages (16-1024 B, malloc'ed and filled) through a bounded queue to their
 * consumer, which checks and frees them: every free is a cross-thread free,
 * as in a pipeline or a logger thread.
 *
 *   prodcons PAIRS ITEMS        (2 * PAIRS threads) */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "prog_common.h"

#define QLEN 256 /* a power of two */

typedef struct msg_s {
  uint64_t seq;
  uint32_t size;
  unsigned char body[];
} msg_t;

typedef struct pair_s {
  _Alignas(64) _Atomic uint64_t head; /* written by the producer */
  _Alignas(64) _Atomic uint64_t tail; /* written by the consumer */
  _Alignas(64) msg_t *ring[QLEN];
  uint64_t seed;
  uint64_t sum;
} pair_t;

static pair_t *pairs;
static unsigned long long items;

static void *producer(void *arg) {
  pair_t *q = arg;
  uint64_t rng = q->seed;
  for (unsigned long long i = 0; i < items; i++) {
    uint32_t n = 48 + (uint32_t)(rng_next(&rng) % (1024 - 48 + 1));
    msg_t *m = xmalloc(n);
    m->seq = i;
    m->size = n;
    memset(m->body, (int)(i & 0xff), 16);
    ((unsigned char *)m)[n - 1] = (unsigned char)i;
    uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    while (h - atomic_load_explicit(&q->tail, memory_order_acquire) == QLEN)
      sched_yield();
    q->ring[h % QLEN] = m;
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
  }
  return NULL;
}

static void *consumer(void *arg) {
  pair_t *q = arg;
  uint64_t sum = 0;
  for (unsigned long long i = 0; i < items; i++) {
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    while (atomic_load_explicit(&q->head, memory_order_acquire) == t)
      sched_yield();
    msg_t *m = q->ring[t % QLEN];
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    if (m->seq != i || ((unsigned char *)m)[m->size - 1] != (unsigned char)i ||
        m->body[0] != (unsigned char)(i & 0xff)) {
      fprintf(stderr, "prodcons: message %llu corrupt\n", i);
      exit(1);
    }
    sum += m->size + m->body[0];
    free(m);
  }
  q->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  const char *usage = "PAIRS ITEMS";
  if (argc < 3) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  unsigned npairs = (unsigned)arg_ull(argc, argv, 1, 1, usage);
  items = arg_ull(argc, argv, 2, 1, usage);
  pairs = aligned_alloc(64, sizeof(pair_t) * npairs);
  memset(pairs, 0, sizeof(pair_t) * npairs);
  pthread_t *th = calloc(2 * (size_t)npairs, sizeof(*th));
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  for (unsigned i = 0; i < npairs; i++) {
    pairs[i].seed = rng_seed(i);
    pthread_create(&th[2 * i], NULL, consumer, &pairs[i]);
    pthread_create(&th[2 * i + 1], NULL, producer, &pairs[i]);
  }
  for (unsigned i = 0; i < 2 * npairs; i++)
    pthread_join(th[i], NULL);
  timing_line((uint64_t)npairs * items, t0, c0);
  uint64_t sum = 0;
  for (unsigned i = 0; i < npairs; i++)
    sum += pairs[i].sum;
  printf("prodcons pairs=%u items=%llu sum=%llu\n", npairs, items, (unsigned long long)sum);
  free(pairs);
  free(th);
  return 0;
}
