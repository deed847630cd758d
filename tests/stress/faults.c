/* faults.c - a correct program in a hostile world, for test_faults.py:
 *
 *   faults as MB [free|full|smallfirst]
 *                              the address space limited (RLIMIT_AS) to what is
 *                              mapped now + MB: every entry point runs out and
 *                              must say ENOMEM, memory freed is usable again;
 *                              `full` exits still at the limit, `smallfirst`
 *                              runs out with small blocks first
 *   faults maps N              the program takes all but N of the mappings
 *                              vm.max_map_count allows, then allocates (run it
 *                              with MEMTYPE_GUARD='*': guarding must fall back)
 *   faults status N            allocates a little and exits with status N
 *   faults big DEPTH THREADS   many stack types (4^DEPTH, with MEMTYPE_DEPTH=16)
 *                              and live blocks in THREADS threads' slots: a big
 *                              exit dump, to be killed while it is written
 *
 * Prints "faults: ..." figures; exits 0 when every check held (1 otherwise). */
#define _GNU_SOURCE 1
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static int bad;
#define CHECK(c, ...)                                   \
  do {                                                  \
    if (!(c)) {                                         \
      bad++;                                            \
      fprintf(stderr, "faults: FAIL line %d: ", __LINE__); \
      fprintf(stderr, __VA_ARGS__);                     \
      fputc('\n', stderr);                              \
    }                                                   \
  } while (0)

/* Every block held starts with a link: the whole list is reachable from
 * `held`, so the leak scan finds nothing lost. */
struct node {
  struct node *next;
};
static struct node *held, *held_big; /* held_big: the huge blocks and page runs */
static unsigned long nheld;

static void hold(void *p, struct node **list) {
  struct node *n = p;
  n->next = *list;
  *list = n;
  nheld++;
}

static void free_list(struct node **list, unsigned long n) {
  while (n-- && *list) {
    struct node *x = *list;
    *list = x->next;
    free(x);
    nheld--;
  }
}

static long vm_size_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmSize: %ld", &kb) == 1)
      break;
  if (f)
    fclose(f);
  return kb;
}

/* Allocates blocks of n bytes until one fails; returns how many it got and
 * checks that the failure said ENOMEM. */
__attribute__((noinline)) static unsigned long exhaust(size_t n, const char *what) {
  unsigned long got = 0;
  for (;;) {
    errno = 0;
    void *p = malloc(n);
    if (p == NULL) {
      CHECK(errno == ENOMEM, "%s: malloc(%zu) failed with errno %d, not ENOMEM", what, n, errno);
      return got;
    }
    memset(p, 0xab, n < 4096 ? n : 4096);
    hold(p, n > 65536 ? &held_big : &held);
    got++;
  }
}

/* A call site never used before, reached only once memory is exhausted. */
__attribute__((noinline)) static void *fresh_site(size_t n) { return malloc(n); }

static int mode_as(long mb, const char *how) {
  long before = vm_size_kb();
  struct rlimit rl = {(rlim_t)(before + mb * 1024) * 1024, (rlim_t)(before + mb * 1024) * 1024};
  CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit");
  unsigned long first = 0;
  if (!strcmp(how, "smallfirst")) /* slabs and memtype's own tables run out first */
    first = exhaust(48, "small first");
  unsigned long big = exhaust((size_t)4 << 20, "huge");
  unsigned long mid = exhaust(200000, "page run");
  unsigned long small = exhaust(100, "small");
  unsigned long tiny = exhaust(16, "tiny");
  /* Every entry point, at the limit. */
  errno = 0;
  CHECK(calloc(1000, 1000) == NULL && errno == ENOMEM, "calloc: errno %d", errno);
  errno = 0;
  CHECK(malloc((size_t)64 << 20) == NULL && errno == ENOMEM, "malloc 64M: errno %d", errno);
  void *blk = held; /* grow a held block: fails, and the block stays */
  errno = 0;
  void *r = realloc(blk, (size_t)64 << 20);
  CHECK(r == NULL && errno == ENOMEM, "realloc: %p errno %d", r, errno);
  CHECK(held == blk && ((struct node *)blk)->next != NULL, "realloc's failure changed the block");
  void *m = (void *)1;
  int e = posix_memalign(&m, 4096, (size_t)64 << 20);
  CHECK(e == ENOMEM, "posix_memalign returned %d", e);
  errno = 0;
  CHECK(aligned_alloc(65536, (size_t)64 << 20) == NULL && errno == ENOMEM, "aligned_alloc: errno %d",
        errno);
  errno = 0;
  void *f = fresh_site((size_t)32 << 20);
  CHECK(f == NULL && errno == ENOMEM, "a new call site: %p errno %d", f, errno);
  free(f);
  unsigned long total = nheld;
  /* Free the big blocks and half of the small ones: allocating works
   * again, in every size. */
  if (strcmp(how, "full") != 0) {
    free_list(&held_big, ~0ul);
    free_list(&held, (small + first) / 2);
    void *a = malloc(100), *b = malloc(200000), *c = calloc(1, (size_t)4 << 20);
    void *d = fresh_site(5000), *e = malloc(16);
    CHECK(a && b && c && d && e, "after freeing: %p %p %p %p %p", a, b, c, d, e);
    CHECK(c == NULL || ((char *)c)[12345] == 0, "calloc's block is not zero");
    free(a), free(b), free(c), free(d), free(e);
    free_list(&held, ~0ul);
  }
  printf("faults: as limit=+%ldM blocks=%lu (small first %lu, huge %lu, runs %lu, small %lu, tiny %lu) "
         "held at exit=%lu\n", mb, total, first, big, mid, small, tiny, nheld);
  return bad != 0;
}

static int mode_maps(long spare) {
  /* Fragments: one mapping, every other page made inaccessible, until the
   * kernel refuses (ENOMEM: max_map_count). */
  size_t pages = 200000;
  char *area = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1, 0);
  CHECK(area != MAP_FAILED, "mmap");
  if (area == MAP_FAILED)
    return 1;
  size_t k = 1;
  while (k < pages && mprotect(area + k * 4096, 4096, PROT_NONE) == 0)
    k += 2;
  int err = errno;
  CHECK(k < pages && err == ENOMEM, "mapping count never ran out (k=%zu errno %d)", k, err);
  /* Give back `spare` mappings: unmapping an inaccessible page between two
   * accessible ones leaves one mapping fewer... two fewer merges aside. */
  size_t given = 0;
  for (size_t j = 1; j < k && given < (size_t)spare; j += 2, given++)
    munmap(area + j * 4096, 4096);
  unsigned long got = 0, nulls = 0;
  void **v = calloc(20000, sizeof(void *));
  CHECK(v != NULL, "calloc of the table");
  for (int i = 0; v && i < 20000; i++) {
    errno = 0;
    v[i] = malloc((size_t)(16 + i % 3000));
    if (v[i] == NULL) {
      CHECK(errno == ENOMEM, "malloc failed with errno %d", errno);
      nulls++;
    } else {
      memset(v[i], 1, (size_t)(16 + i % 3000));
      got++;
    }
  }
  for (int i = 0; v && i < 20000; i++)
    free(v[i]);
  free(v);
  munmap(area, pages * 4096);
  void *after = malloc(1000);
  CHECK(after != NULL, "malloc after the mappings came back");
  free(after);
  printf("faults: maps fragments=%zu spare=%ld blocks=%lu nulls=%lu\n", k / 2, spare, got, nulls);
  return bad != 0;
}

/* ---- big: many stack types, many slots ---------------------------------------- */

#define PER_TYPE 2
static void **big_keep;
static size_t big_n, big_cap;
static void rec(int depth, unsigned path);
/* Four callers per level: 4^DEPTH distinct stacks within 2*DEPTH+1 frames. */
#define HOP(name)                                                   \
  __attribute__((noinline)) static void name(int depth, unsigned path) { \
    rec(depth, path);                                               \
    __asm__ volatile("");                                           \
  }
HOP(hop0)
HOP(hop1)
HOP(hop2)
HOP(hop3)
__attribute__((noinline)) static void rec(int depth, unsigned path) {
  static void (*const hops[4])(int, unsigned) = {hop0, hop1, hop2, hop3};
  if (depth == 0) {
    for (int i = 0; i < PER_TYPE && big_n < big_cap; i++)
      big_keep[big_n++] = malloc(24 + (path % 50) * 8);
  } else {
    hops[path & 3](depth - 1, path >> 2);
  }
  __asm__ volatile("");
}

static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t big_cv = PTHREAD_COND_INITIALIZER;
static int big_ready;
static int big_depth;

static void *big_thread(void *arg) {
  unsigned id = (unsigned)(uintptr_t)arg;
  for (unsigned p = 0; p < (1u << 2 * big_depth); p += 1 + id % 3) {
    void *x = malloc(40);
    pthread_mutex_lock(&big_mu);
    rec(big_depth, p);
    pthread_mutex_unlock(&big_mu);
    free(x);
  }
  pthread_mutex_lock(&big_mu);
  big_ready++;
  pthread_cond_broadcast(&big_cv);
  pthread_mutex_unlock(&big_mu);
  for (;;)
    pause(); /* alive at exit: its stat slot is in the dump */
  return NULL;
}

static int mode_big(int depth, int nthreads) {
  big_depth = depth;
  big_cap = ((size_t)nthreads + 1) * PER_TYPE << 2 * depth;
  big_keep = malloc(big_cap * sizeof(void *));
  for (int t = 0; t < nthreads; t++) {
    pthread_t th;
    pthread_create(&th, NULL, big_thread, (void *)(uintptr_t)t);
  }
  pthread_mutex_lock(&big_mu);
  while (big_ready < nthreads)
    pthread_cond_wait(&big_cv, &big_mu);
  pthread_mutex_unlock(&big_mu);
  printf("faults: big types=%u threads=%d blocks=%zu\nexiting\n", 1u << 2 * depth, nthreads, big_n);
  fflush(stdout);
  exit(0);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "as"))
    return mode_as(argc > 2 ? atol(argv[2]) : 256, argc > 3 ? argv[3] : "free");
  if (!strcmp(mode, "maps"))
    return mode_maps(argc > 2 ? atol(argv[2]) : 100);
  if (!strcmp(mode, "status")) {
    void *p = malloc(1000);
    free(p);
    return argc > 2 ? atoi(argv[2]) : 0;
  }
  if (!strcmp(mode, "big"))
    return mode_big(argc > 2 ? atoi(argv[2]) : 12, argc > 3 ? atoi(argv[3]) : 8);
  fprintf(stderr, "usage: faults as MB [free|full] | maps N | status N | big DEPTH THREADS\n");
  return 2;
}
