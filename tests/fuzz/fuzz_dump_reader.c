/* fuzz_dump_reader.c - libFuzzer target for the C dump reader
 * (report/c/memtype_stat.c).
 *
 * Input: the bytes of a dump file, copied into a buffer of their exact size
 * (ASan sees a read past the end). Checked each time: no crash, no read
 * outside the input, no allocation the input's size does not justify (run
 * with -malloc_limit_mb), no hang (-timeout); a refusal comes with a
 * one-line reason naming the file; an accepted dump can be walked whole. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memtype_stat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_dump_reader: property broken: %s\n", what);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *copy = malloc(size ? size : 1);
  if (size)
    memcpy(copy, data, size);
  char err[256];
  memset(err, 'x', sizeof(err));
  memtype_stat_t *st = memtype_stat_open_mem(copy, size, "fuzz.mtd", err, sizeof(err));
  free(copy); /* the reader must not keep pointers into its input */
  if (st == NULL) {
    check(memchr(err, '\0', sizeof(err)) != NULL, "the reason is terminated");
    check(strncmp(err, "fuzz.mtd: ", 10) == 0, "the reason names the file");
    check(strchr(err, '\n') == NULL, "the reason is one line");
    return 0;
  }
  uint64_t sum = memtype_stat_pid(st);
  size_t n = memtype_stat_ntypes(st);
  for (size_t i = 0; i < n; i++) {
    const memtype_stat_type_t *t = memtype_stat_type(st, i);
    check(t != NULL, "every type below ntypes exists");
    check(memchr(t->name, '\0', sizeof(t->name)) != NULL, "a type's name is terminated");
    sum += t->id + t->pc + t->allocs + t->frees + t->bytes_alloc + t->bytes_freed +
           t->classes[0] + t->classes[1] + t->failures + strlen(t->name);
    sum += memtype_stat_inuse(t) + memtype_stat_memuse(t);
  }
  check(memtype_stat_type(st, n) == NULL, "no type past ntypes");
  for (unsigned c = 0; c < 200; c++)
    sum += memtype_stat_class_size(st, c);
  memtype_stat_close(st);
  /* keep the walk from being optimized away */
  volatile uint64_t sink = sum;
  (void)sink;
  return 0;
}
