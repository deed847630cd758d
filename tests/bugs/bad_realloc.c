/* bad_realloc - realloc and malloc_usable_size of a freed block.
 *   realloc   realloc of a freed block
 *   usable    malloc_usable_size of a freed block
 *   ok        realloc growing and shrinking a live block, its usable size
 *             within bounds: no report */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ok";
  char *p = malloc(64);
  if (!strcmp(m, "realloc")) {
    free(p);
    p = realloc(p, 128);
  } else if (!strcmp(m, "usable")) {
    free(p);
    printf("%zu\n", malloc_usable_size(p));
    p = NULL;
  } else {
    memset(p, 1, 64);
    p = realloc(p, 1000);
    memset(p, 2, malloc_usable_size(p));
    p = realloc(p, 10);
    memset(p, 3, 10);
  }
  free(p);
  puts("done");
  return 0;
}
