/* stress_lib.c - a module that stress.c's dlopen mode loads and unloads over
 * and over: it allocates in its constructor and frees in its destructor, and
 * hands out blocks allocated at its own call sites that the loader frees
 * after the module is gone (call sites in an unloaded module). */
#include <stdlib.h>
#include <string.h>

static char *ctor_blocks[16];

__attribute__((constructor)) static void stress_lib_ctor(void) {
  for (int i = 0; i < 16; i++) {
    ctor_blocks[i] = malloc((size_t)(24 + i * 40));
    if (ctor_blocks[i])
      memset(ctor_blocks[i], 0x5a, (size_t)(24 + i * 40));
  }
}

__attribute__((destructor)) static void stress_lib_dtor(void) {
  for (int i = 0; i < 16; i++) {
    free(ctor_blocks[i]);
    ctor_blocks[i] = NULL;
  }
}

/* A block of n bytes allocated here (the caller frees it, maybe after dlclose). */
__attribute__((noinline)) void *stress_lib_make(size_t n) {
  void *p = malloc(n);
  if (p)
    memset(p, 0x3c, n);
  return p;
}

/* Grows and shrinks a block here: realloc call sites in the module. */
__attribute__((noinline)) void *stress_lib_resize(void *p, size_t n) { return realloc(p, n); }
