/* Tiny check harness shared by the C/C++ programs in tests/c.
 *
 * Every program is run twice by CTest: plain (glibc malloc) and with
 * LD_PRELOAD=libmemtype.so.  The same checks must pass under both.
 * CHECK() counts passes and failures; mt_finish() prints the final
 * "N passed, M failed" line and returns the exit status.
 *
 * memtype_owns() is looked up at run time (the programs never link
 * libmemtype).  When LD_PRELOAD names libmemtype, the symbol is required. */
#ifndef MT_TEST_H
#define MT_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long mt_passed, mt_failed;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (cond) {                                                                \
      mt_passed++;                                                             \
    } else {                                                                   \
      mt_failed++;                                                             \
      fprintf(stderr, "FAIL %s:%d: (%s) ", __FILE__, __LINE__, #cond);         \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      fflush(stderr);                                                          \
    }                                                                          \
  } while (0)

typedef int (*mt_owns_fn)(const void *);

/* 1 when LD_PRELOAD names libmemtype (i.e. we are the _memtype variant). */
static inline int mt_under_memtype(void) {
  const char *s = getenv("LD_PRELOAD");
  return s != NULL && strstr(s, "libmemtype") != NULL;
}

/* memtype_owns or NULL; the lookup is done once. */
static inline mt_owns_fn mt_owns(void) {
  static int looked;
  static mt_owns_fn fn;
  if (!looked) {
    looked = 1;
    void *sym = dlsym(RTLD_DEFAULT, "memtype_owns");
    memcpy(&fn, &sym, sizeof fn);
    if (mt_under_memtype())
      CHECK(fn != NULL, "LD_PRELOAD has libmemtype but memtype_owns is not exported");
  }
  return fn;
}

/* When memtype_owns exists, p must come from memtype's allocator. */
#define CHECK_OWNS(p, what)                                                    \
  do {                                                                         \
    mt_owns_fn mt_fn_ = mt_owns();                                             \
    if (mt_fn_ != NULL) {                                                      \
      const void *mt_p_ = (const void *)(p);                                   \
      CHECK(mt_fn_(mt_p_) == 1, "%s: %p not owned by memtype", (what), mt_p_); \
    }                                                                          \
  } while (0)

static inline int mt_finish(void) {
  printf("%lu passed, %lu failed\n", mt_passed, mt_failed);
  fflush(stdout);
  return mt_failed == 0 ? 0 : 1;
}

/* Position-based byte pattern: byte k of a block with seed s is byte (k & 7)
 * of (s + (k >> 3) * C).  Any prefix of a filled block matches the pattern
 * of the same seed, which makes realloc checks trivial. */
#define MT_PAT_C 0x9E3779B97F4A7C15ull

static inline uint64_t mt_mix64(uint64_t x) {
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27; x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

static inline void mt_fill(void *p, size_t n, uint64_t seed) {
  unsigned char *b = (unsigned char *)p;
  size_t words = n >> 3, i;
  uint64_t v = seed;
  for (i = 0; i < words; i++, v += MT_PAT_C)
    memcpy(b + i * 8, &v, 8);
  if (n & 7)
    memcpy(b + words * 8, &v, n & 7);
}

/* Returns the index of the first bad byte, or (size_t)-1 when all match. */
static inline size_t mt_verify(const void *p, size_t n, uint64_t seed) {
  const unsigned char *b = (const unsigned char *)p;
  size_t words = n >> 3, i;
  uint64_t v = seed;
  for (i = 0; i < words; i++, v += MT_PAT_C) {
    uint64_t w;
    memcpy(&w, b + i * 8, 8);
    if (w != v) {
      size_t k = 0;
      while (b[i * 8 + k] == ((const unsigned char *)&v)[k]) k++;
      return i * 8 + k;
    }
  }
  for (i = 0; i < (n & 7); i++)
    if (b[words * 8 + i] != ((const unsigned char *)&v)[i])
      return words * 8 + i;
  return (size_t)-1;
}

#define MT_OK ((size_t)-1)

/* 1 when all n bytes are zero. */
static inline int mt_is_zero(const void *p, size_t n) {
  const unsigned char *b = (const unsigned char *)p;
  size_t i = 0;
  for (; i < n && ((uintptr_t)(b + i) & 7); i++)
    if (b[i]) return 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    if (w) return 0;
  }
  for (; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

#endif
