/* deepbind_lib.c: a module the program opens with RTLD_DEEPBIND (built twice:
 * bound at load, -z now, and lazily bound), and with dlmopen into a new
 * namespace. Its allocator references bind first in its own dependencies
 * (libc.so.6) under DEEPBIND: memtype must still get every call. */
#define _GNU_SOURCE 1
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* A data word holding malloc's address (an absolute relocation). */
void *(*const dbl_alloc_fn)(size_t) = malloc;
static void *kept; /* one block live until exit */
static char *ctor_block; /* made by the constructor, while the module loads */

__attribute__((constructor)) static void dbl_ctor(void) {
  ctor_block = malloc(64);
  if (ctor_block)
    strcpy(ctor_block, "made by the constructor");
}

/* The constructor's block, for the caller to free. */
char *dbl_take_ctor_block(void) {
  char *p = ctor_block;
  ctor_block = NULL;
  return p;
}

void *dbl_alloc(size_t n) { return malloc(n); }
void dbl_free(void *p) { free(p); }
void *dbl_realloc(void *p, size_t n) { return realloc(p, n); }
void *dbl_calloc(size_t c, size_t n) { return calloc(c, n); }
void *dbl_memalign(size_t align, size_t n) {
  void *p = NULL;
  return posix_memalign(&p, align, n) == 0 ? p : NULL;
}
void *dbl_aligned_alloc(size_t align, size_t n) { return aligned_alloc(align, n); }
size_t dbl_usable(void *p) { return malloc_usable_size(p); }
char *dbl_strdup(const char *s) { return strdup(s); }
void *dbl_via_table(size_t n) { return dbl_alloc_fn(n); }

/* The block stays referenced from this module until exit: its call site
 * must show among the types memtype counted. */
void *dbl_keep_block(size_t n) {
  kept = malloc(n);
  if (kept)
    memset(kept, 0x5a, n);
  return kept;
}

/* Allocates and frees its own blocks; a checksum of what it wrote. */
long dbl_roundtrip(int n) {
  long sum = 0;
  for (int i = 0; i < n; i++) {
    unsigned char *p = malloc((size_t)(i % 300) + 1);
    if (!p)
      return -1;
    p[0] = (unsigned char)i;
    p = realloc(p, (size_t)(i % 700) + 1);
    if (!p)
      return -1;
    sum += p[0];
    free(p);
  }
  return sum;
}
