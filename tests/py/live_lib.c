/* live_lib.c - a shared library for the live-view tests: call sites in a
 * module of its own (lib_alloc), and a constructor that allocates before
 * memtype's own constructor has run (as libstdc++'s and ICU's do in redis
 * and postgres), whose counts must still reach the live file. */
#include <stdlib.h>

static void *early[10];

__attribute__((noinline)) void *lib_alloc(size_t n) { return malloc(n); }

__attribute__((noinline)) static void *early_alloc(void) { return malloc(48); }

__attribute__((constructor)) static void live_lib_init(void) {
  for (int i = 0; i < 10; i++)
    early[i] = early_alloc();
}

void *live_lib_early(int i) { return early[i]; }
