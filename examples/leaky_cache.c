/* leaky_cache - a lookup cache whose eviction drops entries without freeing
 * their values: a leak of the kind that grows until the service is
 * restarted. memtype's leak scan at exit says what was lost and where it
 * was allocated (the entries' strings are lost through them: indirectly):
 *
 *   build/bin/memtype run -- build/bin/leaky_cache
 *   build/bin/memtype report --leaks memtype.leaky_cache.*.mtd */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  char *key, *value;
};

#define SLOTS 8
static struct entry *cache[SLOTS];

__attribute__((noinline)) static char *copy(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c)
    memcpy(c, s, n);
  return c;
}

__attribute__((noinline)) static void put(unsigned slot, const char *key, const char *value) {
  struct entry *e = malloc(sizeof(*e));
  if (e == NULL)
    return;
  e->key = copy(key);
  e->value = copy(value);
  cache[slot % SLOTS] = e; /* BUG: the entry that was there is dropped, not freed */
}

int main(void) {
  char key[32], value[64];
  for (unsigned i = 0; i < 40; i++) {
    snprintf(key, sizeof(key), "user:%u", i);
    snprintf(value, sizeof(value), "{\"id\": %u, \"plan\": \"basic\"}", i);
    put(i, key, value);
  }
  printf("%s\n", cache[3]->value);
  return 0;
}
