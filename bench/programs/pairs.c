/* pairs.c - malloc+free pairs for counting instructions (bench/programs.py
 * runs it under callgrind twice, with N1 and N2 pairs, and divides the
 * difference of the totals by N2 - N1, so start-up and exit cancel out).
 * Each pair frees one of 64 live blocks and allocates its successor; sizes
 * follow a fixed sequence of 16-512 B (cfrac-like: small, short-lived).
 *
 *   pairs N */
#include "prog_common.h"

#define LIVE 64

int main(int argc, char **argv) {
  const char *usage = "N";
  if (argc < 2) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  unsigned long long n = arg_ull(argc, argv, 1, 1, usage);
  static unsigned char *live[LIVE];
  uint64_t rng = rng_seed(3), sum = 0;
  for (unsigned i = 0; i < LIVE; i++)
    live[i] = xmalloc(16);
  for (unsigned long long i = 0; i < n; i++) {
    uint64_t x = rng_next(&rng);
    unsigned slot = (unsigned)(x % LIVE);
    free(live[slot]);
    size_t size = 16 + (size_t)((x >> 32) % 497);
    live[slot] = xmalloc(size);
    live[slot][0] = (unsigned char)i;
    sum += size;
  }
  for (unsigned i = 0; i < LIVE; i++)
    free(live[i]);
  printf("pairs n=%llu sum=%llu\n", n, (unsigned long long)sum);
  return 0;
}
