/* invalid_free - free of something malloc never returned.
 *   stack     a local array   global   a static array
 *   wild      an integer made a pointer
 *   interior  a pointer 8 bytes into a live block
 *   ok        free(NULL) and a proper free: no report */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char global_buf[64];

__attribute__((noinline)) static void release(void *p) { free(p); }

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ok";
  char local[64];
  char *block = malloc(100);
  memset(local, 0, sizeof(local));
  if (!strcmp(m, "stack"))
    release(local);
  else if (!strcmp(m, "global"))
    release(global_buf);
  else if (!strcmp(m, "wild"))
    release((void *)(uintptr_t)0x1234560);
  else if (!strcmp(m, "interior"))
    release(block + 8);
  else
    release(NULL);
  release(block);
  puts("done");
  return 0;
}
