/* huge_blocks.c - large blocks (over 1 MiB: memtype's huge blocks, glibc's
 * mmapped chunks) through every path, under glibc and under memtype:
 *   - realloc grows a block from 3 MiB to 64 MiB and shrinks it back to
 *     2 MiB, keeping its contents at every step (a word in every page);
 *   - a grown or shrunk block's pages are moved, not copied (mremap): growing
 *     a touched 40 MiB block to 64 MiB takes almost no page faults, where a
 *     copy would fault in each of its 10240 pages again (THP is off for this
 *     process so that a fault is a page). Skipped with memtype's heap checks:
 *     the checked realloc always copies, so a use of the old pointer is caught;
 *   - an aligned large block keeps its alignment and contents through realloc;
 *   - a freed block's memory reused (memtype's huge cache) never shows through
 *     calloc, and a block reused is one the program can fill and read whole;
 *   - 4 threads allocate, fill, grow, shrink, check and free large blocks while
 *     the main thread forks in the middle: the child reads the block the parent
 *     filled before the fork, grows and frees it, allocates large blocks of its
 *     own (the inherited cache), and exits; the parent's threads go on.
 * Prints "N passed, M failed". */
#define _GNU_SOURCE 1
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mt_test.h"

#define MiB ((size_t)1 << 20)
#define PAGE 4096

/* A word derived from seed in every page of p[from, to). */
static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed) {
  for (size_t off = (from + PAGE - 1) & ~(size_t)(PAGE - 1); off + 8 <= to; off += PAGE) {
    uint64_t v = seed ^ (off * 0x9E3779B97F4A7C15ull);
    memcpy(p + off, &v, 8);
  }
}

/* The first page offset in [0, upto) that lost its word, or SIZE_MAX. */
static size_t first_lost(const unsigned char *p, size_t upto, uint64_t seed) {
  for (size_t off = 0; off + 8 <= upto; off += PAGE) {
    uint64_t v;
    memcpy(&v, p + off, 8);
    if (v != (seed ^ (off * 0x9E3779B97F4A7C15ull)))
      return off;
  }
  return SIZE_MAX;
}

static long minor_faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

/* memtype with its heap checks on: realloc always copies. */
static int checked_realloc(void) {
  const char *t = getenv("MEMTYPE_TRASH"), *r = getenv("MEMTYPE_REDZONE");
  return mt_under_memtype() && ((t && strcmp(t, "0") != 0) || (r && strcmp(r, "0") != 0));
}

static void test_realloc_grows_and_shrinks_keeping_contents(void) {
  static const size_t steps[] = {3 * MiB + 17, 9 * MiB, 17 * MiB + 4095, 33 * MiB, 64 * MiB + 1,
                                 20 * MiB,     5 * MiB + 3, 2 * MiB};
  size_t n = steps[0];
  unsigned char *p = malloc(n);
  CHECK(p != NULL, "malloc(%zu)", n);
  if (!p)
    return;
  CHECK_OWNS(p, "a large block");
  fill(p, 0, n, 1);
  for (size_t i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
    size_t m = steps[i];
    p = realloc(p, m);
    CHECK(p != NULL, "realloc to %zu", m);
    if (!p)
      return;
    size_t kept = n < m ? n : m;
    size_t lost = first_lost(p, kept, 1);
    CHECK(lost == SIZE_MAX, "realloc %zu -> %zu lost the page at %zu", n, m, lost);
    CHECK(malloc_usable_size(p) >= m, "usable %zu < %zu after realloc", malloc_usable_size(p), m);
    p[m - 1] = 0x5a; /* the last byte is the block's */
    CHECK_OWNS(p + m - 1, "a resized block's last byte");
    if (m > n)
      fill(p, n, m, 1);
    n = m;
  }
  free(p);
}

static void test_realloc_moves_pages_rather_than_copying(void) {
  if (checked_realloc()) {
    printf("skipped: the checked realloc copies on purpose\n");
    return;
  }
  size_t n = 40 * MiB, m = 64 * MiB;
  unsigned char *p = malloc(n);
  CHECK(p != NULL, "malloc(%zu)", n);
  if (!p)
    return;
  memset(p, 0x33, n); /* every page resident */
  /* a large block right after it, so that growing in place is often impossible */
  unsigned char *wall = malloc(3 * MiB);
  CHECK(wall != NULL, "malloc(3 MiB)");
  long f0 = minor_faults();
  unsigned char *q = realloc(p, m);
  long grow_faults = minor_faults() - f0;
  CHECK(q != NULL, "realloc(%zu)", m);
  if (!q)
    return;
  CHECK(q[0] == 0x33 && q[n / 2] == 0x33 && q[n - 1] == 0x33, "contents lost by the move");
  CHECK(grow_faults < 1000, "growing a touched 40 MiB block took %ld page faults (a copy takes "
        "10240): not moved with mremap", grow_faults);
  f0 = minor_faults();
  unsigned char *r = realloc(q, 8 * MiB);
  long shrink_faults = minor_faults() - f0;
  CHECK(r != NULL && r[8 * MiB - 1] == 0x33, "shrunk block lost its contents");
  CHECK(shrink_faults < 100, "shrinking to 8 MiB took %ld page faults", shrink_faults);
  free(r);
  free(wall);
}

static void test_an_aligned_large_block_keeps_alignment_and_contents(void) {
  void *v = NULL;
  int rc = posix_memalign(&v, 2 * MiB, 10 * MiB);
  CHECK(rc == 0 && v != NULL && ((uintptr_t)v & (2 * MiB - 1)) == 0, "posix_memalign 2 MiB: %d %p",
        rc, v);
  if (rc)
    return;
  unsigned char *p = v;
  fill(p, 0, 10 * MiB, 7);
  p = realloc(p, 30 * MiB);
  CHECK(p != NULL, "realloc of an aligned block");
  if (!p)
    return;
  size_t lost = first_lost(p, 10 * MiB, 7);
  CHECK(lost == SIZE_MAX, "aligned block lost the page at %zu", lost);
  p = realloc(p, 4 * MiB);
  CHECK(p != NULL && first_lost(p, 4 * MiB, 7) == SIZE_MAX, "aligned block shrunk lost contents");
  free(p);
}

static void test_reused_memory_never_shows_through_calloc(void) {
  for (int i = 0; i < 6; i++) {
    size_t n = (size_t)(2 + 3 * i) * MiB + 100;
    unsigned char *p = malloc(n);
    CHECK(p != NULL, "malloc(%zu)", n);
    if (!p)
      return;
    memset(p, 0xee, n);
    free(p);
    unsigned char *z = calloc(1, n - 4096);
    CHECK(z != NULL, "calloc(%zu)", n - 4096);
    if (!z)
      return;
    size_t bad = SIZE_MAX;
    for (size_t off = 0; off < n - 4096; off += 1021)
      if (z[off]) {
        bad = off;
        break;
      }
    CHECK(bad == SIZE_MAX && z[n - 4097] == 0, "calloc'ed large block holds old bytes at %zu", bad);
    free(z);
  }
}

/* ---- threads and a fork ----------------------------------------------------- */

static atomic_int stop;
static atomic_int thread_failures;

static void *churn(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < 24 && !atomic_load(&stop); i++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    size_t n = 2 * MiB + (size_t)(rng % (4 * MiB));
    unsigned char *p = malloc(n);
    if (!p) {
      atomic_fetch_add(&thread_failures, 1);
      break;
    }
    fill(p, 0, n, rng);
    if (i % 3 == 0) { /* grow, then shrink */
      size_t m = n + n / 2;
      unsigned char *q = realloc(p, m);
      if (!q) {
        atomic_fetch_add(&thread_failures, 1);
        free(p);
        break;
      }
      p = q;
      fill(p, n, m, rng);
      n = m;
      q = realloc(p, n / 3);
      if (!q) {
        atomic_fetch_add(&thread_failures, 1);
        free(p);
        break;
      }
      p = q;
      n /= 3;
    }
    if (first_lost(p, n, rng) != SIZE_MAX)
      atomic_fetch_add(&thread_failures, 1);
    free(p);
  }
  return NULL;
}

static int child_work(unsigned char *inherited, size_t n) {
  int bad = 0;
  if (first_lost(inherited, n, 99) != SIZE_MAX)
    bad |= 1;
  unsigned char *g = realloc(inherited, 3 * n);
  if (!g || first_lost(g, n, 99) != SIZE_MAX)
    bad |= 2;
  else
    fill(g, n, 3 * n, 99);
  free(g);
  for (int i = 0; i < 8; i++) {
    size_t m = (size_t)(2 + i) * MiB;
    unsigned char *p = malloc(m);
    if (!p) {
      bad |= 4;
      break;
    }
    fill(p, 0, m, (uint64_t)i);
    if (first_lost(p, m, (uint64_t)i) != SIZE_MAX)
      bad |= 8;
    free(p);
  }
  return bad;
}

static void test_threads_and_a_fork_in_the_middle(void) {
  size_t n = 6 * MiB;
  unsigned char *mine = malloc(n);
  CHECK(mine != NULL, "malloc(6 MiB)");
  if (!mine)
    return;
  fill(mine, 0, n, 99);
  pthread_t th[4];
  for (uintptr_t i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, churn, (void *)(i + 1));
  usleep(20000);
  int status = -1;
  for (int k = 0; k < 3; k++) {
    pid_t pid = fork();
    if (pid == 0)
      _exit(child_work(mine, n));
    CHECK(pid > 0, "fork");
    if (pid > 0) {
      waitpid(pid, &status, 0);
      CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "fork %d: the child's large blocks went wrong (status %#x)", k, status);
    }
    usleep(10000);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  CHECK(atomic_load(&thread_failures) == 0, "%d thread failures", atomic_load(&thread_failures));
  size_t lost = first_lost(mine, n, 99);
  CHECK(lost == SIZE_MAX, "the parent's block lost the page at %zu after the forks", lost);
  free(mine);
}

int main(void) {
  prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); /* a page fault is a page (see the mremap test) */
  test_realloc_grows_and_shrinks_keeping_contents();
  test_realloc_moves_pages_rather_than_copying();
  test_an_aligned_large_block_keeps_alignment_and_contents();
  test_reused_memory_never_shows_through_calloc();
  test_threads_and_a_fork_in_the_middle();
  return mt_finish();
}
