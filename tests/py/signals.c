/* signals.c - dumps on request and post mortem: `segv` dies of a NULL write,
 * `abort` calls abort(), `usr2` raises SIGUSR2 twice with allocations in
 * between and exits normally. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[3];

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  keep[0] = malloc(100);
  if (strcmp(mode, "segv") == 0) {
    volatile int *p = NULL;
    *p = 1;
  }
  if (strcmp(mode, "abort") == 0)
    abort();
  if (strcmp(mode, "usr2") == 0) {
    raise(SIGUSR2);
    keep[1] = malloc(200);
    raise(SIGUSR2);
    keep[2] = malloc(300);
    puts("went on");
  }
  return 0;
}
