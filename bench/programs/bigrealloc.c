/* bigrealloc.c - a realloc growth loop of large blocks: two buffers grow in
 * turn by realloc from 2 MiB to 64 MiB (by about a quarter each step, sizes
 * not page multiples), a word written in each new page, then shrink back by
 * halves; every step checks a sample of the pages kept. Two buffers growing
 * in turn means one often lies in the other's way, so growing in place is not
 * always possible. Each round ends with both freed.
 *
 *   bigrealloc ROUNDS [MIN_MIB MAX_MIB] */
#include <string.h>

#include "prog_common.h"

#define PAGE 4096

static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed) {
  for (size_t off = from & ~(size_t)(PAGE - 1); off + 8 <= to; off += PAGE) {
    if (off < from)
      continue;
    uint64_t v = seed + off;
    memcpy(p + off, &v, 8);
  }
}

/* Checks 64 pages spread over [0, upto). */
static uint64_t check(const unsigned char *p, size_t upto, uint64_t seed) {
  uint64_t sum = 0;
  size_t pages = upto / PAGE, step = pages / 64 ? pages / 64 : 1;
  for (size_t i = 0; i < pages; i += step) {
    size_t off = i * PAGE;
    uint64_t v;
    memcpy(&v, p + off, 8);
    if (v != seed + off) {
      fprintf(stderr, "bigrealloc: lost contents at offset %zu\n", off);
      exit(1);
    }
    sum += v;
  }
  return sum;
}

static unsigned char *xrealloc(unsigned char *p, size_t n) {
  unsigned char *q = realloc(p, n);
  if (!q) {
    fprintf(stderr, "realloc(%zu) failed\n", n);
    exit(3);
  }
  return q;
}

int main(int argc, char **argv) {
  const char *usage = "ROUNDS [MIN_MIB MAX_MIB]";
  if (argc < 2) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  unsigned long long rounds = arg_ull(argc, argv, 1, 1, usage);
  size_t lo = (size_t)arg_ull(argc, argv, 2, 2, usage) << 20;
  size_t hi = (size_t)arg_ull(argc, argv, 3, 64, usage) << 20;
  if (hi < lo || lo < PAGE) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  uint64_t rng = rng_seed(11), sum = 0, ops = 0;
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  for (unsigned long long r = 0; r < rounds; r++) {
    unsigned char *b[2];
    size_t n[2];
    uint64_t seed[2];
    for (int k = 0; k < 2; k++) {
      n[k] = lo + (size_t)(rng_next(&rng) % 4096);
      seed[k] = r * 2 + (uint64_t)k;
      b[k] = xmalloc(n[k]);
      fill(b[k], 0, n[k], seed[k]);
      ops++;
    }
    /* grow in turn */
    for (int moving = 1; moving;) {
      moving = 0;
      for (int k = 0; k < 2; k++) {
        if (n[k] >= hi)
          continue;
        size_t m = n[k] + n[k] / 4 + (size_t)(rng_next(&rng) % 4096);
        if (m > hi)
          m = hi;
        b[k] = xrealloc(b[k], m);
        sum += check(b[k], n[k], seed[k]);
        fill(b[k], n[k], m, seed[k]);
        n[k] = m;
        ops++;
        moving = 1;
      }
    }
    /* shrink in turn */
    for (int moving = 1; moving;) {
      moving = 0;
      for (int k = 0; k < 2; k++) {
        if (n[k] / 2 < lo)
          continue;
        n[k] = n[k] / 2 + (size_t)(rng_next(&rng) % 4096);
        b[k] = xrealloc(b[k], n[k]);
        sum += check(b[k], n[k], seed[k]);
        ops++;
        moving = 1;
      }
    }
    for (int k = 0; k < 2; k++) {
      sum += check(b[k], n[k], seed[k]) + n[k];
      free(b[k]);
    }
  }
  timing_line(ops, t0, c0);
  printf("bigrealloc rounds=%llu sum=%llu\n", rounds, (unsigned long long)sum);
  return 0;
}
