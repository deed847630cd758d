/* wild_index.c - a crash memtype explains: a table of 5 scores is looked up
 * with an index that was never checked (here: a player number read as 10000,
 * as a corrupt save file would give). The read lands 40,000 bytes past the
 * 20-byte block, far beyond any redzone or guard page, and the process dies
 * of SIGSEGV. Under memtype the death comes with a report: the address, that
 * it lies in memtype's heap, the nearest block (its size, the offset, where
 * it was allocated), the faulting line; then the same SIGSEGV, and `memtype
 * run` says how the process ended. examples/README.md walks through it. */
#include <stdio.h>
#include <stdlib.h>

static __attribute__((noinline)) int *make_scores(int n) {
  int *s = malloc((size_t)n * sizeof(*s));
  if (s == NULL)
    exit(1);
  for (int i = 0; i < n; i++)
    s[i] = 10 * i;
  return s;
}

static __attribute__((noinline)) int score_of(const int *scores, int player) {
  return scores[player]; /* no check against the table's size */
}

int main(int argc, char **argv) {
  int *scores = make_scores(5);
  int player = argc > 1 ? atoi(argv[1]) : 10000;
  printf("player %d scored %d\n", player, score_of(scores, player));
  free(scores);
  return 0;
}
