/* failprog - allocations with known call sites for the failure-injection
 * tests (test_failures.py). Modes:
 *   count N SIZE   N malloc(SIZE) from one site; prints how many failed and
 *                  the 1-based numbers of the failing calls
 *   two N          N allocations from site_a, then N from site_b; prints the
 *                  failures of each
 *   entries        every allocating entry point once; prints each result
 *   lastfail       malloc_last_fail() before and after a failure
 *   header N       N allocations inlined from failprog_inline.h, then N from site_a */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "failprog_inline.h"

__attribute__((noinline)) void *site_a(size_t n) { return malloc(n); }
__attribute__((noinline)) void *site_b(size_t n) { return malloc(n); }

__attribute__((noinline)) int count(long n, size_t size) {
  long failed = 0;
  char *list = malloc((size_t)n * 12 + 1); /* before any eligible call? it is one too */
  size_t pos = 0;
  if (list == NULL) {
    printf("list failed\n");
    return 1;
  }
  list[0] = '\0';
  for (long i = 1; i <= n; i++) {
    void *p = site_a(size);
    if (p == NULL) {
      failed++;
      pos += (size_t)sprintf(list + pos, " %ld", i);
    }
    free(p);
  }
  printf("failed %ld of %ld:%s\n", failed, n, list);
  free(list);
  return 0;
}

__attribute__((noinline)) int two(long n) {
  long fa = 0, fb = 0;
  for (long i = 0; i < n; i++) {
    void *p = site_a(24);
    fa += p == NULL;
    free(p);
  }
  for (long i = 0; i < n; i++) {
    void *p = site_b(24);
    fb += p == NULL;
    free(p);
  }
  printf("site_a failed %ld, site_b failed %ld\n", fa, fb);
  return 0;
}

__attribute__((noinline)) int header(long n) {
  long fh = 0, fa = 0;
  for (long i = 0; i < n; i++) {
    void *p = site_h(40);
    fh += p == NULL;
    free(p);
    p = site_a(40);
    fa += p == NULL;
    free(p);
  }
  printf("header failed %ld, site_a failed %ld\n", fh, fa);
  return 0;
}

static void show(const char *what, void *p) {
  printf("%s %s errno=%s\n", what, p ? "ok" : "NULL", p ? "-" : errno == ENOMEM ? "ENOMEM" : "other");
}

__attribute__((noinline)) int entries(void) {
  char *keep = site_b(16); /* not eligible when only site_a is */
  strcpy(keep, "still here");
  errno = 0;
  show("malloc", site_a(100));
  errno = 0;
  show("calloc", calloc(10, 10));
  errno = 0;
  show("calloc-big", calloc(1, 100000));
  errno = 0;
  void *r = realloc(keep, 5000);
  show("realloc", r);
  printf("old block %s\n", r == NULL && strcmp(keep, "still here") == 0 ? "intact" : "moved");
  if (r)
    keep = r;
  errno = 0;
  show("memalign", memalign(64, 100));
  errno = 0;
  show("aligned_alloc", aligned_alloc(4096, 4096));
  errno = 0;
  show("valloc", valloc(100));
  void *q = (void *)1;
  int rc = posix_memalign(&q, 256, 100);
  printf("posix_memalign %s out=%s\n", rc == ENOMEM ? "ENOMEM" : rc == 0 ? "ok" : "other",
         q == (void *)1 ? "untouched" : "set");
  errno = 0;
  show("malloc-huge", malloc(3u << 20));
  free(keep);
  return 0;
}

__attribute__((noinline)) int lastfail(void) {
  int (*last)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "malloc_last_fail");
  if (last == NULL) {
    printf("no malloc_last_fail\n");
    return 1;
  }
  printf("before %s\n", last() == INT_MAX ? "never" : "some");
  void *p = site_a(64);
  printf("site_a %s, after %d\n", p ? "ok" : "NULL", last());
  sleep(2);
  printf("later %d\n", last());
  free(p);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0); /* stdio's buffer is no eligible allocation */
  if (argc >= 4 && strcmp(argv[1], "count") == 0)
    return count(atol(argv[2]), (size_t)atol(argv[3]));
  if (argc >= 3 && strcmp(argv[1], "two") == 0)
    return two(atol(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "entries") == 0)
    return entries();
  if (argc >= 3 && strcmp(argv[1], "header") == 0)
    return header(atol(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "lastfail") == 0)
    return lastfail();
  fprintf(stderr, "usage: failprog count N SIZE | two N | entries | lastfail\n");
  return 2;
}
