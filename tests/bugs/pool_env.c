/* pool_env - prints what its library's constructor saw of G_SLICE
 * (pool_env_lib.c), then what main sees of the five switches of
 * MEMTYPE_BYPASS_POOLS. */
#include <stdio.h>
#include <stdlib.h>

extern char pool_env_seen[64];

static const char *get(const char *name) {
  const char *v = getenv(name);
  return v ? v : "(unset)";
}

int main(void) {
  printf("constructor: G_SLICE=%s\n", pool_env_seen);
  printf("main: %s %s %s %s %s\n", get("PYTHONMALLOC"), get("G_SLICE"), get("USE_ZEND_ALLOC"),
         get("GLIBCXX_FORCE_NEW"), get("NSS_DISABLE_ARENA_FREE_LIST"));
  return 0;
}
