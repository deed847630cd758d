/* sort.h - in-place sorts for memtype's own tables (symbols, line entries,
 * function ranges, leak records): no allocation, no recursion, safe where
 * qsort is not (glibc's qsort may call malloc) and in a signal handler.
 *
 * MT_SORT_DEFINE(name, T, before) defines `static void name(T *a, size_t n)`,
 * a sort of T elements specialised for them (moves by assignment, the
 * comparison inlined): introsort, i.e. quicksort (median of three, Hoare's
 * partition, its pending ranges on a fixed stack, the larger kept for later
 * so that at most log2(n) wait) with an insertion sort for ranges of 16 or
 * fewer, and a heap sort for a range whose partitions went bad 2 log2(n)
 * times (O(n log n) whatever the input: an ELF file's symbol table is not
 * trusted). before(x, y) takes two const T * and says whether x must come
 * before y; elements neither before the other may end in any order.
 *
 * A program's start pays for it: the symbol table of every module whose call
 * sites memtype types (libc's thousands of symbols) is sorted at its first
 * allocation; the heap sort with a byte-wise swap and a called comparison
 * that this replaces took most of a short process's start (sed: 7.7 million
 * instructions of 8.6 for the table). */
#ifndef MT_SORT_H
#define MT_SORT_H

#include <stdbool.h>
#include <stddef.h>

#define MT_SORT_DEFINE(name, T, before)                                                      \
  static void name##_sift(T *a, size_t i, size_t n) {                                        \
    T v = a[i];                                                                              \
    for (;;) {                                                                               \
      size_t c = 2 * i + 1;                                                                  \
      if (c >= n)                                                                            \
        break;                                                                               \
      if (c + 1 < n && before(&a[c], &a[c + 1]))                                             \
        c++;                                                                                 \
      if (!before(&v, &a[c]))                                                                \
        break;                                                                               \
      a[i] = a[c];                                                                           \
      i = c;                                                                                 \
    }                                                                                        \
    a[i] = v;                                                                                \
  }                                                                                          \
  static void name##_heap(T *a, size_t n) {                                                  \
    for (size_t i = n / 2; i-- > 0;)                                                         \
      name##_sift(a, i, n);                                                                  \
    for (size_t e = n; e-- > 1;) {                                                           \
      T t = a[0];                                                                            \
      a[0] = a[e];                                                                           \
      a[e] = t;                                                                              \
      name##_sift(a, 0, e);                                                                  \
    }                                                                                        \
  }                                                                                          \
  static void name##_insertion(T *a, size_t n) {                                             \
    for (size_t i = 1; i < n; i++) {                                                         \
      T v = a[i];                                                                            \
      size_t j = i;                                                                          \
      for (; j > 0 && before(&v, &a[j - 1]); j--)                                            \
        a[j] = a[j - 1];                                                                     \
      a[j] = v;                                                                              \
    }                                                                                        \
  }                                                                                          \
  static void name(T *base, size_t count) {                                                  \
    struct {                                                                                 \
      T *a;                                                                                  \
      size_t n;                                                                              \
      unsigned depth;                                                                        \
    } todo[64];                                                                              \
    unsigned pending = 0, depth = 0;                                                         \
    for (size_t m = count; m > 1; m >>= 1)                                                   \
      depth += 2;                                                                            \
    T *a = base;                                                                             \
    size_t n = count;                                                                        \
    for (;;) {                                                                               \
      while (n > 16) {                                                                       \
        if (depth == 0) {                                                                    \
          name##_heap(a, n);                                                                 \
          n = 0;                                                                             \
          break;                                                                             \
        }                                                                                    \
        depth--;                                                                             \
        /* the median of the first, middle and last to the middle: the first \
         * and the last then stop both scans */                                              \
        T *lo = a, *mid = a + n / 2, *hi = a + n - 1, t;                                     \
        if (before(mid, lo))                                                                 \
          t = *mid, *mid = *lo, *lo = t;                                                     \
        if (before(hi, mid)) {                                                               \
          t = *hi, *hi = *mid, *mid = t;                                                     \
          if (before(mid, lo))                                                               \
            t = *mid, *mid = *lo, *lo = t;                                                   \
        }                                                                                    \
        T pivot = *mid;                                                                      \
        size_t i = 0, j = n - 1;                                                             \
        for (;;) {                                                                           \
          do                                                                                 \
            i++;                                                                             \
          while (before(&a[i], &pivot));                                                     \
          do                                                                                 \
            j--;                                                                             \
          while (before(&pivot, &a[j]));                                                     \
          if (i >= j)                                                                        \
            break;                                                                           \
          t = a[i], a[i] = a[j], a[j] = t;                                                   \
        }                                                                                    \
        /* [0, j] and [j + 1, n): the larger waits (64 levels: n < 2^64) */                  \
        size_t left = j + 1;                                                                 \
        if (left < n - left) {                                                               \
          todo[pending].a = a + left, todo[pending].n = n - left;                            \
          n = left;                                                                          \
        } else {                                                                             \
          todo[pending].a = a, todo[pending].n = left;                                       \
          a += left;                                                                         \
          n -= left;                                                                         \
        }                                                                                    \
        todo[pending++].depth = depth;                                                       \
      }                                                                                      \
      if (n > 1)                                                                             \
        name##_insertion(a, n);                                                              \
      if (pending == 0)                                                                      \
        return;                                                                              \
      pending--;                                                                             \
      a = todo[pending].a, n = todo[pending].n, depth = todo[pending].depth;                 \
    }                                                                                        \
  }

#endif
