/* sort.h - an in-place heap sort for memtype's own tables (symbols, line
 * entries, leak records): no allocation, no recursion, safe where qsort is
 * not (glibc's qsort may call malloc). */
#ifndef MT_SORT_H
#define MT_SORT_H

#include <stdbool.h>
#include <stddef.h>

/* Sorts n elements of `size` bytes (at most 64) so that before(a, b) holds
 * for no element a after an element b. */
void mt_sort(void *base, size_t n, size_t size, bool (*before)(const void *a, const void *b));

#endif
