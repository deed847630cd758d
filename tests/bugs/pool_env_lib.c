/* pool_env_lib.c - a library that reads its pool's switch in its
 * constructor, after a first allocation, as GLib does (GObject's constructor
 * allocates, and the first g_slice_alloc reads G_SLICE): a preloaded
 * library's own constructor runs after this one, so MEMTYPE_BYPASS_POOLS
 * must have set the variable by then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char pool_env_seen[64];

__attribute__((constructor)) static void read_switch(void) {
  void *volatile first = malloc(24); /* kept: a malloc+free pair may be dropped */
  free(first);
  const char *v = getenv("G_SLICE");
  snprintf(pool_env_seen, sizeof(pool_env_seen), "%s", v ? v : "(unset)");
}
