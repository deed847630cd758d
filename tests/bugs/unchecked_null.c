/* unchecked_null - a bug that only an allocation failure shows: the result
 * of malloc is used without a check. Under MEMTYPE_FAILURE_TYPES=load_config
 * MEMTYPE_FAILURE_RATE=1 it dies of SIGSEGV, and the dump written on the way
 * down names the injected call site (memtype report --failures). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config {
  char name[32];
  int level;
};

__attribute__((noinline)) static struct config *load_config(const char *name) {
  struct config *c = malloc(sizeof(*c)); /* BUG: no NULL check */
  strncpy(c->name, name, sizeof(c->name) - 1);
  c->name[sizeof(c->name) - 1] = '\0';
  c->level = 3;
  return c;
}

int main(void) {
  struct config *c = load_config("production");
  printf("%s at level %d\n", c->name, c->level);
  free(c);
  return 0;
}
