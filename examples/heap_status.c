/* heap_status.c - a program that reports its own memory, as servers do on a
 * status page, through glibc's mallinfo2(): under memtype the figures are
 * memtype's heap's (README, "glibc's statistics calls"), not glibc's empty
 * arena's.
 *
 *   build/bin/heap_status
 *   LD_PRELOAD=build/lib/libmemtype.so MEMTYPE_OUTPUT=off build/bin/heap_status */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void status(const char *when) {
  struct mallinfo2 m = mallinfo2();
  printf("%-22s in use %9zu bytes, heap %9zu bytes, mapped blocks %zu (%zu bytes)\n", when,
         m.uordblks, m.arena, m.hblks, m.hblkhd);
}

int main(void) {
  enum { N = 10000 };
  static char *cache[N];
  status("at start");
  for (int i = 0; i < N; i++) {
    cache[i] = malloc(100);
    memset(cache[i], 'x', 100);
  }
  status("10000 entries cached");
  char *big = malloc(8 << 20);
  memset(big, 0, 4096);
  status("an 8 MiB buffer");
  free(big);
  for (int i = 0; i < N; i++)
    free(cache[i]);
  status("all freed");
  printf("malloc_trim gave memory back: %s\n", malloc_trim(0) ? "yes" : "no");
  return 0;
}
