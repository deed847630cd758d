/* three_sites.c - a program with three allocation call sites of known counts
 * and sizes, for the dump and `memtype report --types` tests:
 *   keep_small: 100 x malloc(24), all kept
 *   churn:      50 x xmalloc(1000), all freed (through a wrapper, which
 *               MEMTYPE_SKIP=xmalloc looks through; linked -rdynamic so
 *               that xmalloc has a name at run time)
 *   big:        10 x calloc(1, 40000), 5 freed */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (p == NULL) {
    fputs("out of memory\n", stderr);
    exit(1);
  }
  return p;
}

__attribute__((noinline)) static void *keep_small(void) { return malloc(24); }
__attribute__((noinline)) static void *churn(void) { return xmalloc(1000); }
__attribute__((noinline)) static void *big(void) { return calloc(1, 40000); }

static void *kept[100], *bigs[10];

int main(void) {
  for (int i = 0; i < 100; i++)
    kept[i] = keep_small();
  for (int i = 0; i < 50; i++)
    free(churn());
  for (int i = 0; i < 10; i++)
    bigs[i] = big();
  for (int i = 0; i < 5; i++)
    free(bigs[i]);
  return kept[99] == NULL;
}
