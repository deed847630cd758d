/* explicit_types.c - a program that opts in to memtype's explicit types
 * (include/memtype.h, malloc(9) style): a tokenizer allocates its tokens as
 * M_TOKEN, and a small arena of its own reports what it hands out as
 * M_ARENA, so the exit table and the dump show both by name.
 *
 *   build/bin/memtype run -- build/bin/explicit_types
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memtype.h"

MEMTYPE_DEFINE(M_TOKEN, "token", "tokens of the input text");
MEMTYPE_DEFINE(M_ARENA, "arena", "the program's own bump arena");

struct token {
  char *text;
  struct token *next;
};

/* A bump arena on one malloc'd chunk: memtype sees one block, the program
 * reports each piece it hands out. */
static char arena[1 << 16];
static size_t arena_used;

static void *arena_alloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (arena_used + n > sizeof(arena))
    return NULL;
  memtype_type_allocated(M_ARENA, n);
  void *p = arena + arena_used;
  arena_used += n;
  return p;
}

int main(void) {
  const char *text = "the quick brown fox jumps over the lazy dog and the cat";
  struct token *head = NULL;
  for (int round = 0; round < 100; round++) {
    const char *p = text;
    while (*p) {
      size_t len = strcspn(p, " ");
      struct token *t = memtype_malloc(sizeof(*t), M_TOKEN, MEMTYPE_ZERO);
      t->text = arena_alloc(len + 1);
      memcpy(t->text, p, len);
      t->text[len] = '\0';
      t->next = head;
      head = t;
      p += len;
      p += *p == ' ';
    }
  }
  size_t n = 0;
  while (head) {
    struct token *next = head->next;
    n++;
    memtype_type_freed(M_ARENA, (strlen(head->text) + 1 + 15) & ~(size_t)15);
    memtype_free(head, M_TOKEN);
    head = next;
  }
  printf("%zu tokens, %zu arena bytes\n", n, arena_used);
  return 0;
}
