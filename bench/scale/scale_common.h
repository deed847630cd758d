/* scale_common.h - what the scale drivers share: a fixed-seed xorshift64* generator,
 * a monotonic clock, process CPU time, and the result line that bench/scale.py parses:
 *     ops=N ns=WALL_NS cpu_ns=CPU_NS [name=value]...
 * ops are malloc+free pairs done in the measured phase, ns its wall time and cpu_ns
 * the process's user+system time over the same phase. Each driver runs its measured
 * phase for a fixed time (SECONDS argument) rather than a fixed count, so that a slow
 * point costs no more than a fast one; per-op cost is ns/ops. */
#ifndef SCALE_COMMON_H
#define SCALE_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

static inline uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static inline uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

static inline double arg_double(const char *s, const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || v <= 0) {
        fprintf(stderr, "bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

static inline unsigned long long arg_ull(const char *s, const char *what)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || v == 0) {
        fprintf(stderr, "bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "malloc(%zu) failed\n", n);
        exit(3);
    }
    return p;
}

#endif
