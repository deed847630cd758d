/* write_after_free - a freed block written through a stale pointer. now: right
 * after free (caught when the quarantine is verified at exit, or on reuse with a
 * small quarantine); later: then 200000 allocations of the same size; ok: the same
 * churn without the stale write (no report); big, bigok: a 256 KiB block (alone more
 * than the default quarantine holds), written after free or not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *make_record(void) { return malloc(40); }

__attribute__((noinline)) static void drop_record(char *p) { free(p); }

__attribute__((noinline)) static void stale_write(char *p) { ((volatile char *)p)[8] = 0; }

__attribute__((noinline)) static void churn(int n) {
  for (int i = 0; i < n; i++) {
    char *q = malloc(40);
    memset(q, 'q', 40);
    free(q);
  }
}

__attribute__((noinline)) static char *make_big(void) { return malloc(256 * 1024); }

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ok";
  if (!strncmp(m, "big", 3)) {
    char *b = make_big();
    memset(b, 'b', 256 * 1024);
    drop_record(b);
    if (!strcmp(m, "big"))
      stale_write(b);
    puts("done");
    return 0;
  }
  char *p = make_record();
  memset(p, 'r', 40);
  drop_record(p);
  if (strcmp(m, "ok") != 0)
    stale_write(p);
  if (strcmp(m, "now") != 0)
    churn(200000);
  puts("done");
  return 0;
}
