/* foreign_free - blocks made by glibc's own malloc (as a library that looks
 * it up in libc's handle gets them) handed to the free, realloc and
 * malloc_usable_size memtype interposes: they go back to glibc, with one
 * warning; not an error. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  void *(*glibc_malloc)(size_t) = libc ? (void *(*)(size_t))dlsym(libc, "malloc") : NULL;
  if (glibc_malloc == NULL) {
    puts("no libc");
    return 1;
  }
  char *small = glibc_malloc(100), *big = glibc_malloc(1 << 20);
  strcpy(small, "glibc");
  printf("usable %s\n", malloc_usable_size(small) >= 100 ? "ok" : "wrong");
  small = realloc(small, 200);
  printf("realloc kept %s\n", small);
  free(small);
  free(big);
  puts("done");
  return 0;
}
