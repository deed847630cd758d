/* fortified_real - built -O2 -D_FORTIFY_SOURCE=2 (see fortified.c): the
 * compiler knows the block's size from malloc's and turns sprintf into
 * __sprintf_chk, as in every fortified package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void fortified_sprintf(int bad) {
  char *name = malloc(16);
  /* 15 characters and the NUL fit (ok); 16 do not (bad) */
  sprintf(name, "%s-%d", bad ? "sessions" : "session", 1234567);
  puts(name);
  free(name);
}
