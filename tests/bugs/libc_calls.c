/* libc_calls - the libc range checks (preload/libc_checks.c) where the call
 * is not a plain PLT call of the program: `libc_calls bad|ok dlopen` copies
 * 41 (bad) or 40 bytes into a 40-byte block from a library loaded with
 * dlopen after start; `libc_calls bad|ok pointer` does it through a
 * function pointer to memcpy kept in a data word; `libc_calls bad|ok freed`
 * copies 40 bytes into a 40-byte block freed before (bad) or live. Prints
 * "done" at the end. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *(*copy_fn)(void *, const void *, size_t);
static copy_fn volatile copier = memcpy; /* a data word naming memcpy */

__attribute__((noinline)) static void call_through(char *d, const char *s, size_t n) {
  copier(d, s, n);
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  int bad = strcmp(argv[1], "bad") == 0;
  size_t n = bad ? 41 : 40;
  char *d = malloc(40), *s = malloc(41);
  memset(s, 's', 41);
  if (strcmp(argv[2], "dlopen") == 0) {
    char path[PATH_MAX];
    const char *slash = strrchr(argv[0], '/');
    snprintf(path, sizeof(path), "%.*s/liblcplugin.so", slash ? (int)(slash - argv[0]) : 1,
             slash ? argv[0] : ".");
    void *h = dlopen(path, RTLD_NOW);
    void (*copy)(char *, const char *, size_t) =
        h ? (void (*)(char *, const char *, size_t))dlsym(h, "plugin_copy") : NULL;
    if (copy == NULL) {
      fprintf(stderr, "libc_calls: %s\n", dlerror());
      return 1;
    }
    copy(d, s, n);
  } else if (strcmp(argv[2], "pointer") == 0) {
    call_through(d, s, n);
  } else if (strcmp(argv[2], "freed") == 0) {
    char *e = malloc(40);
    free(bad ? d : e);
    call_through(d, s, 40); /* bad: into the freed block */
    if (bad)
      d = malloc(40);
  } else {
    return 2;
  }
  free(s);
  free(d);
  puts("done");
  return 0;
}
