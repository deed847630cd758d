/* own_malloc - a program with an allocator of its own linked in, as one
 * built with jemalloc, tcmalloc or mimalloc: it defines malloc, free, calloc
 * and realloc, so the loader binds every module's calls to them, not to a
 * preloaded library's. memtype must say so at start instead of reporting "no
 * leaks" on a heap it never saw. The program overflows a block and leaks
 * it, which no one can see. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static char *arena;
static size_t used;

void *malloc(size_t n) {
  if (arena == NULL) {
    arena = mmap(NULL, 1 << 24, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena == MAP_FAILED)
      return NULL;
  }
  n = (n + 15) & ~(size_t)15;
  if (used + n > (1 << 24))
    return NULL;
  void *p = arena + used;
  used += n;
  return p;
}
void free(void *p) { (void)p; }
void *calloc(size_t count, size_t size) {
  void *p = malloc(count * size);
  if (p)
    memset(p, 0, count * size);
  return p;
}
void *realloc(void *p, size_t n) {
  void *q = malloc(n);
  if (q && p)
    memcpy(q, p, n);
  return q;
}

int main(void) {
  char *volatile p = malloc(10);
  memcpy(p, "0123456789AB", 12); /* 2 bytes past its 10 */
  printf("%.12s\n", p);
  return 0;
}
