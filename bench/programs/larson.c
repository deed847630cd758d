/* larson.c - server-style churn with cross-thread frees, after Larson and
 * Krishnan's benchmark: each of T threads replaces random blocks (16-512 B)
 * in an array of SLOTS live blocks. The arrays ("lanes") change hands every
 * epoch (thread t works on lane (t + e) % T), so with T > 1 most blocks are
 * freed by a thread other than the one that allocated them, as when a server
 * hands a request's objects to another worker.
 *
 *   larson THREADS STEPS [SLOTS]     STEPS: replacements per thread, in all
 *
 * A lane carries its own generator and checksum, so the check line does not
 * depend on which thread ran it. */
#include <pthread.h>
#include <string.h>

#include "prog_common.h"

#define EPOCHS 32
#define MIN_SIZE 16
#define MAX_SIZE 512

typedef struct lane_s {
  unsigned char **blocks;
  uint32_t *sizes;
  uint64_t rng;
  uint64_t sum;
  char pad[64];
} lane_t;

static lane_t *lanes;
static unsigned nthreads;
static unsigned long long steps_per_epoch, nslots;
static pthread_barrier_t barrier;

static unsigned char tag_of(const lane_t *l, size_t i, uint32_t size) {
  return (unsigned char)((uintptr_t)(l - lanes) * 131 + i * 7 + size);
}

static void release(lane_t *l, size_t i) {
  unsigned char *b = l->blocks[i];
  uint32_t n = l->sizes[i];
  unsigned char tag = tag_of(l, i, n);
  if (b[0] != tag || b[n - 1] != tag) {
    fprintf(stderr, "larson: block %zu of lane %td corrupt\n", i, l - lanes);
    exit(1);
  }
  l->sum += b[0] + n;
  free(b);
}

static void step(lane_t *l) {
  size_t i = rng_next(&l->rng) % nslots;
  if (l->blocks[i])
    release(l, i);
  uint32_t n = MIN_SIZE + (uint32_t)(rng_next(&l->rng) % (MAX_SIZE - MIN_SIZE + 1));
  unsigned char *b = xmalloc(n);
  unsigned char tag = tag_of(l, i, n);
  memset(b, tag, n < 16 ? n : 16);
  b[n - 1] = tag;
  l->blocks[i] = b;
  l->sizes[i] = n;
}

static void *worker(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  for (unsigned e = 0; e < EPOCHS; e++) {
    lane_t *l = &lanes[(t + e) % nthreads];
    for (unsigned long long s = 0; s < steps_per_epoch; s++)
      step(l);
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *usage = "THREADS STEPS [SLOTS]";
  if (argc < 3) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  nthreads = (unsigned)arg_ull(argc, argv, 1, 1, usage);
  unsigned long long steps = arg_ull(argc, argv, 2, 1, usage);
  nslots = arg_ull(argc, argv, 3, 1000, usage);
  steps_per_epoch = (steps + EPOCHS - 1) / EPOCHS;
  lanes = calloc(nthreads, sizeof(lane_t));
  for (unsigned i = 0; i < nthreads; i++) {
    lanes[i].blocks = calloc(nslots, sizeof(*lanes[i].blocks));
    lanes[i].sizes = calloc(nslots, sizeof(*lanes[i].sizes));
    lanes[i].rng = rng_seed(i);
  }
  pthread_barrier_init(&barrier, NULL, nthreads);
  pthread_t *th = calloc(nthreads, sizeof(*th));
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  for (unsigned i = 0; i < nthreads; i++)
    pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
  for (unsigned i = 0; i < nthreads; i++)
    pthread_join(th[i], NULL);
  timing_line(steps_per_epoch * EPOCHS * nthreads, t0, c0);
  uint64_t sum = 0, live = 0;
  for (unsigned i = 0; i < nthreads; i++) {
    for (size_t j = 0; j < nslots; j++)
      if (lanes[i].blocks[j]) {
        release(&lanes[i], j);
        live++;
      }
    sum += lanes[i].sum;
    free(lanes[i].blocks);
    free(lanes[i].sizes);
  }
  printf("larson threads=%u steps=%llu live=%llu sum=%llu\n", nthreads,
         steps_per_epoch * EPOCHS * nthreads, (unsigned long long)live, (unsigned long long)sum);
  free(lanes);
  free(th);
  return 0;
}
