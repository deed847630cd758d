/* counted_strings - the two kinds of leftover block that are not printed as
 * LEAK lines at exit. A counted string is one block: a header (length) and
 * then the text; the program hands out pointers to the text, 8 bytes into
 * the block. It keeps its keywords in a table for the whole run and never
 * frees anything:
 *   - the table is still reachable: a global points to its start;
 *   - each keyword block is possibly lost: only a pointer into its middle
 *     (the text) remains, and the scan cannot tell that from a stray value.
 * The exit line (run summary) counts them; the report lists them:
 *
 *   build/bin/memtype run -- build/bin/counted_strings
 *   build/bin/memtype report --leaks --reachable memtype.counted_strings.*.mtd */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct counted {
  size_t len;
  char text[]; /* what callers get: &block->text, not the block */
};

const char **keywords; /* the table: all the program keeps */

__attribute__((noinline)) static const char *counted_new(const char *s) {
  size_t n = strlen(s);
  struct counted *c = malloc(sizeof(*c) + n + 1);
  if (c == NULL)
    return NULL;
  c->len = n;
  memcpy(c->text, s, n + 1);
  return c->text;
}

__attribute__((noinline)) static const char **table_new(size_t n) {
  return calloc(n, sizeof(const char *));
}

int main(void) {
  static const char *const words[] = {"malloc", "free", "realloc"};
  keywords = table_new(3);
  if (keywords == NULL)
    return 1;
  for (int i = 0; i < 3; i++)
    keywords[i] = counted_new(words[i]);
  for (int i = 0; i < 3; i++)
    printf("%s\n", keywords[i] ? keywords[i] : "?");
  return 0; /* nothing is freed: memory the program held to the end */
}
