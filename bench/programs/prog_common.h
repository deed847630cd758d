/* prog_common.h - what the benchmark programs share: a fixed-seed xorshift64*
 * generator, argument parsing, and the timing line.
 *
 * Each program prints one deterministic check line on stdout (the same under
 * every allocator, whatever the thread interleaving: run_bench.py compares it
 * with glibc's) and one timing line on stderr that bench/programs.py parses:
 *     ops=N ns=WALL_NS cpu_ns=CPU_NS
 * ops are the malloc+free pairs (realloc counted as one) of the measured phase. */
#ifndef PROG_COMMON_H
#define PROG_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 2685821657736338717ULL;
}

/* A seed that is never zero (xorshift would stay at zero). */
static inline uint64_t rng_seed(uint64_t i) { return (i + 1) * 0x9E3779B97F4A7C15ULL; }

static inline uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static inline uint64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

/* A positive integer argument, or the usage message and exit 2. */
static inline unsigned long long arg_ull(int argc, char **argv, int i, unsigned long long dflt,
                                         const char *usage) {
  if (i >= argc)
    return dflt;
  char *end;
  unsigned long long v = strtoull(argv[i], &end, 0);
  if (*end || v == 0) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    exit(2);
  }
  return v;
}

static inline void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "malloc(%zu) failed\n", n);
    exit(3);
  }
  return p;
}

static inline void timing_line(uint64_t ops, uint64_t t0, uint64_t c0) {
  fprintf(stderr, "ops=%llu ns=%llu cpu_ns=%llu\n", (unsigned long long)ops,
          (unsigned long long)(now_ns() - t0), (unsigned long long)(cpu_ns() - c0));
}

#endif
