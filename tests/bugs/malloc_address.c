/* malloc_address - a program built without PIE that takes malloc's address
 * (as CPython's allocator table does): the loader makes the program's PLT
 * stub malloc's address for every module, a stub that jumps to memtype's
 * malloc. memtype must not take it for an allocator of the program's own
 * (own_malloc.c): no warning. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *(*volatile alloc_fn)(size_t);
void (*volatile free_fn)(void *);

int main(void) {
  /* taken in code built without -fpic: an absolute relocation, so the
   * linker gives malloc a canonical PLT entry in the program */
  alloc_fn = malloc;
  free_fn = free;
  char *p = alloc_fn(16);
  strcpy(p, "done");
  puts(p);
  free_fn(p);
  return 0;
}
