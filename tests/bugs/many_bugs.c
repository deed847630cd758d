/* many_bugs - the bugs a new user tries first, all in one run (issue 22):
 * `memtype run -- many_bugs bad` with no flag must report every one, with
 * the source line of the allocation, of the free and, where memtype can see
 * it, of the access (test_run_defaults.py reads the lines marked here).
 *   bad  a leak; a one-byte write past a 32-byte block and a one-byte read
 *        past a 48-byte block (sizes a multiple of 16: the block ends at its
 *        guard page); a one-byte write past a 24-byte block (its end is 8
 *        bytes before the guard page: found when the block is freed, so no
 *        line for the write); a read and a write after free; a double free
 *   ok   the same functions on the same sizes, each access inside its block,
 *        each block freed once: no report
 * Each bug is in a function of its own (noinline), so that frame #0 names it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile char sink;

__attribute__((noinline)) static char *make_name(int n) {
  char *p = malloc(16); /* ALLOC leak */
  snprintf(p, 16, "name-%d", n);
  return p;
}

__attribute__((noinline)) static void leak(int bad) {
  char *p = make_name(1);
  sink = p[0];
  if (!bad)
    free(p);
}

__attribute__((noinline)) static void overflow_write(int bad) {
  char *p = malloc(32); /* ALLOC overflow_write */
  memset(p, 'a', 32);
  ((volatile char *)p)[bad ? 32 : 31] = 'x'; /* ACCESS overflow_write */
  free(p);
}

__attribute__((noinline)) static void overflow_read(int bad) {
  char *p = malloc(48); /* ALLOC overflow_read */
  memset(p, 'b', 48);
  sink = ((volatile char *)p)[bad ? 48 : 47]; /* ACCESS overflow_read */
  free(p);
}

__attribute__((noinline)) static void overflow_slack(int bad) {
  char *p = malloc(24); /* ALLOC overflow_slack */
  memset(p, 'c', 24);
  ((volatile char *)p)[bad ? 24 : 23] = 'x'; /* ACCESS overflow_slack */
  free(p);
}

__attribute__((noinline)) static void uaf_read(int bad) {
  char *p = malloc(32); /* ALLOC uaf_read */
  memset(p, 'd', 32);
  if (!bad)
    sink = ((volatile char *)p)[3];
  free(p); /* FREE uaf_read */
  if (bad)
    sink = ((volatile char *)p)[3]; /* ACCESS uaf_read */
}

__attribute__((noinline)) static void uaf_write(int bad) {
  char *p = malloc(64); /* ALLOC uaf_write */
  memset(p, 'e', 64);
  if (!bad)
    ((volatile char *)p)[5] = 'w';
  free(p); /* FREE uaf_write */
  if (bad)
    ((volatile char *)p)[5] = 'w'; /* ACCESS uaf_write */
}

__attribute__((noinline)) static void double_free(int bad) {
  char *p = malloc(56); /* ALLOC double_free */
  memset(p, 'f', 56);
  free(p); /* FREE double_free */
  if (bad)
    free(p); /* ACCESS double_free */
}

int main(int argc, char **argv) {
  int bad = argc > 1 && strcmp(argv[1], "bad") == 0;
  leak(bad);
  overflow_write(bad);
  overflow_read(bad);
  overflow_slack(bad);
  uaf_read(bad);
  uaf_write(bad);
  double_free(bad);
  printf("done\n");
  return 0;
}
