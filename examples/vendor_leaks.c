/* vendor_leaks - a program whose vendor library keeps its settings in a
 * block it never frees (by design: it lives as long as the process), beside
 * a leak of the program's own. The vendor's leak is known and not yours to
 * fix; a suppressions file silences it, so that a run reports only what is
 * new (vendor_leaks.supp):
 *
 *   build/bin/memtype run -- build/bin/vendor_leaks
 *   build/bin/memtype run --suppress examples/vendor_leaks.supp -- build/bin/vendor_leaks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- "the vendor library": its settings, never freed -------------------- */

struct vendor_settings {
  char name[32];
  int level;
};

__attribute__((noinline)) static struct vendor_settings *vendor_init(const char *name) {
  struct vendor_settings *s = calloc(1, sizeof(*s));
  if (s != NULL) {
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->level = 3;
  }
  return s;
}

/* ---- the program ---------------------------------------------------------- */

__attribute__((noinline)) static char *greeting(const char *who) {
  char *g = malloc(strlen(who) + 8);
  if (g != NULL)
    sprintf(g, "hello, %s", who);
  return g;
}

int main(void) {
  struct vendor_settings *s = vendor_init("demo");
  if (s == NULL)
    return 1;
  printf("vendor %s at level %d\n", s->name, s->level);
  s = NULL; /* the vendor keeps it "for the process's life" */
  for (int i = 0; i < 3; i++) {
    char *g = greeting(i == 2 ? "world" : "you");
    if (g == NULL)
      return 1;
    puts(g);
    if (i < 2) /* BUG: the last greeting is never freed */
      free(g);
  }
  return 0;
}
