/* bigloop.c - a loop of large blocks (2-64 MiB by default): each iteration
 * allocates a block, writes one word in each of its pages, and frees the
 * block allocated before it (two are live at a time); every fourth block is
 * grown with realloc before use, and its first pages are checked to have
 * kept their contents. Sizes are not page multiples.
 *
 *   bigloop ITERATIONS [MIN_MIB MAX_MIB] */
#include <string.h>

#include "prog_common.h"

#define PAGE 4096

static uint64_t fill(unsigned char *p, size_t n, uint64_t seed) {
  uint64_t sum = 0;
  for (size_t off = 0; off < n; off += PAGE) {
    uint64_t v = seed + off;
    memcpy(p + off, &v, off + 8 <= n ? 8 : n - off);
    sum += v;
  }
  p[n - 1] = (unsigned char)seed;
  return sum;
}

static void check(const unsigned char *p, size_t n, uint64_t seed, size_t upto) {
  for (size_t off = 0; off + 8 <= upto && off + 8 <= n; off += PAGE) {
    uint64_t v;
    memcpy(&v, p + off, 8);
    if (v != seed + off) {
      fprintf(stderr, "bigloop: lost contents at offset %zu\n", off);
      exit(1);
    }
  }
}

int main(int argc, char **argv) {
  const char *usage = "ITERATIONS [MIN_MIB MAX_MIB]";
  if (argc < 2) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  unsigned long long iters = arg_ull(argc, argv, 1, 1, usage);
  size_t lo = (size_t)arg_ull(argc, argv, 2, 2, usage) << 20;
  size_t hi = (size_t)arg_ull(argc, argv, 3, 64, usage) << 20;
  if (hi < lo) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  uint64_t rng = rng_seed(7), sum = 0, ops = 0;
  unsigned char *prev = NULL;
  size_t prev_n = 0;
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  for (unsigned long long i = 0; i < iters; i++) {
    size_t n = lo + (size_t)(rng_next(&rng) % (hi - lo + 1));
    unsigned char *p;
    if (i % 4 == 3) { /* start smaller, write, grow, check */
      size_t first = n / 2;
      p = xmalloc(first);
      fill(p, first, i);
      p = realloc(p, n);
      if (!p) {
        fprintf(stderr, "realloc(%zu) failed\n", n);
        return 3;
      }
      check(p, n, i, first);
      ops++;
    } else {
      p = xmalloc(n);
    }
    sum += fill(p, n, i) + n;
    ops++;
    if (prev) {
      sum += prev[prev_n - 1];
      free(prev);
    }
    prev = p;
    prev_n = n;
  }
  free(prev);
  timing_line(ops, t0, c0);
  printf("bigloop iterations=%llu sum=%llu\n", iters, (unsigned long long)sum);
  return 0;
}
