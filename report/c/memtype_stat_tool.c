/* memtype_stat_tool.c - prints a dump's types through the C reader, one line
 * per type with activity: id name-or-pc allocs frees bytes_alloc bytes_freed
 * (and, for a forked child's inherited blocks, "inherited N BYTES inuse N BYTES"),
 * after the pid and the ending (how status signal via).
 * Used by the tests to check the C reader against the Python one. */
#include <inttypes.h>
#include <stdio.h>

#include "memtype_stat.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: memtype-stat FILE.mtd\n");
    return 2;
  }
  char err[512];
  memtype_stat_t *st = memtype_stat_open(argv[1], err, sizeof(err));
  if (st == NULL) {
    fprintf(stderr, "memtype-stat: error: %s\n", err);
    return 2;
  }
  printf("pid %" PRIu32 "\n", memtype_stat_pid(st));
  const memtype_stat_ending_t *e = memtype_stat_ending(st);
  printf("ending %" PRIu32 " %" PRId32 " %" PRIu32 " %" PRIu32 "\n", e->how, e->status, e->signal,
         e->via);
  for (size_t i = 0; i < memtype_stat_ntypes(st); i++) {
    const memtype_stat_type_t *t = memtype_stat_type(st, i);
    if (t->allocs == 0 && t->frees == 0 && t->inherited == 0)
      continue;
    printf("%" PRIu32 " %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, t->id,
           t->name[0] ? t->name : "-", t->allocs, t->frees, t->bytes_alloc, t->bytes_freed);
    if (t->inherited) /* a forked child's: blocks and bytes inherited, in use */
      printf(" inherited %" PRIu64 " %" PRIu64 " inuse %" PRIu64 " %" PRIu64, t->inherited,
             t->bytes_inherited, memtype_stat_inuse(t), memtype_stat_memuse(t));
    printf("\n");
  }
  memtype_stat_close(st);
  return 0;
}
