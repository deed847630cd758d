/* double_free - a block freed twice.
 *   now     the second free right after the first
 *   later   after 100000 allocations of the same size in between
 *   ok      free, then a new block of the same size freed once: no report */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *get(void) { return malloc(24); }

__attribute__((noinline)) static void put(char *p) { free(p); }

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ok";
  char *p = get();
  put(p);
  if (!strcmp(m, "later") || !strcmp(m, "ok"))
    for (int i = 0; i < 100000; i++)
      free(malloc(24));
  if (!strcmp(m, "ok")) {
    char *q = get();
    put(q);
  } else {
    put(p);
  }
  puts("done");
  return 0;
}
