/* mallinfo.c - glibc's statistics calls (mallinfo2, mallinfo, malloc_stats,
 * malloc_trim) tell the truth about the heap that serves the program: run
 * with glibc's malloc and under memtype, the same checks hold. Without
 * memtype's own versions, glibc's describe its arena, which memtype leaves
 * empty: in-use bytes would not grow after a malloc (the first check fails
 * under a preload that does not answer them).
 *
 *   in-use bytes grow by at least what is allocated, and fall back after
 *   the frees (small blocks, page-sized ones, a huge one)
 *   mallinfo agrees with mallinfo2 where both fit an int
 *   a huge block counts among the mapped blocks while it lives
 *   after malloc_trim, 64 MiB of medium blocks freed are no longer
 *   resident, and the heap stays usable
 *   malloc_stats writes its "system bytes" / "in use bytes" lines */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mt_test.h"

#define SMALL 20000
#define MEDIUM 1024

static size_t in_use(void) { return mallinfo2().uordblks; }

static size_t resident(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, rss = 0;
  if (f == NULL || fscanf(f, "%lu %lu", &size, &rss) != 2)
    rss = 0;
  if (f)
    fclose(f);
  return rss * (size_t)sysconf(_SC_PAGESIZE);
}

static void check_growth(size_t n, size_t size, const char *what) {
  void **p = malloc(n * sizeof(*p));
  CHECK(p != NULL, "%s: the array", what);
  size_t before = in_use();
  for (size_t i = 0; i < n; i++) {
    p[i] = malloc(size);
    memset(p[i], 1, size);
  }
  size_t during = in_use();
  CHECK(during >= before + n * size, "%s: in use %zu -> %zu, allocated %zu", what, before, during,
        n * size);
  /* Bounded above too: no more than twice what is asked plus a little. */
  CHECK(during - before <= 2 * n * size + (1u << 20), "%s: in use grew by %zu for %zu", what,
        during - before, n * size);
  for (size_t i = 0; i < n; i++)
    free(p[i]);
  size_t after = in_use();
  CHECK(after + n * size / 2 <= during, "%s: in use %zu after the frees, %zu before them", what,
        after, during);
  free(p);
}

int main(void) {
  mt_owns();
  check_growth(SMALL, 48, "small");
  check_growth(200, 5000, "page-sized");

  struct mallinfo2 m2 = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo m = mallinfo(); /* deprecated, still called by old programs */
#pragma GCC diagnostic pop
  CHECK(m2.uordblks < 1u << 30 && (size_t)m.uordblks <= m2.uordblks + (1u << 20) &&
            (size_t)m.uordblks + (1u << 20) >= m2.uordblks,
        "mallinfo %d against mallinfo2 %zu", m.uordblks, m2.uordblks);

  size_t hblks = mallinfo2().hblks, hbytes = mallinfo2().hblkhd;
  char *huge = malloc(64u << 20);
  CHECK(huge != NULL, "64 MiB");
  memset(huge, 2, 4096);
  CHECK(mallinfo2().hblks == hblks + 1, "mapped blocks %zu -> %zu", hblks, mallinfo2().hblks);
  CHECK(mallinfo2().hblkhd >= hbytes + (64u << 20), "mapped bytes %zu -> %zu", hbytes,
        mallinfo2().hblkhd);
  /* glibc counts a mapped block in hblkhd only, memtype in uordblks too. */
  CHECK(in_use() + mallinfo2().hblkhd >= (64u << 20), "a huge block in use: %zu", in_use());
  free(huge);

  /* 64 MiB of medium blocks, written, then freed: after malloc_trim (if
   * the heap's own decay has not done it already) they are not resident. */
  size_t rss0 = resident();
  void *p[MEDIUM];
  for (int i = 0; i < MEDIUM; i++) {
    p[i] = malloc(64 * 1024);
    memset(p[i], 3, 64 * 1024);
  }
  for (int i = 0; i < MEDIUM; i++)
    free(p[i]);
  int trimmed = malloc_trim(0);
  CHECK(trimmed == 0 || trimmed == 1, "malloc_trim returned %d", trimmed);
  CHECK(resident() < rss0 + (24u << 20), "resident after malloc_trim %zu KiB, before the "
        "blocks %zu KiB", resident() >> 10, rss0 >> 10);
  char *again = malloc(100000);
  CHECK(again != NULL, "malloc after malloc_trim");
  memset(again, 4, 100000);
  free(again);

  /* malloc_stats on stderr: read it back through a pipe. */
  int fds[2];
  CHECK(pipe(fds) == 0, "pipe");
  int saved = dup(2);
  dup2(fds[1], 2);
  malloc_stats();
  dup2(saved, 2);
  close(fds[1]);
  char buf[4096] = {0};
  ssize_t got = read(fds[0], buf, sizeof(buf) - 1);
  close(fds[0]);
  CHECK(got > 0 && strstr(buf, "system bytes") && strstr(buf, "in use bytes"),
        "malloc_stats wrote: %s", buf);
  return mt_finish();
}
