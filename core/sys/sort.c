/* sort.c - see sort.h. */
#include "sort.h"

#include <string.h>

static void swap(char *a, char *b, size_t size) {
  char t[64];
  memcpy(t, a, size);
  memcpy(a, b, size);
  memcpy(b, t, size);
}

static void sift(char *a, size_t i, size_t n, size_t size,
                 bool (*before)(const void *, const void *)) {
  for (;;) {
    size_t top = i, l = 2 * i + 1, r = l + 1;
    if (l < n && before(a + top * size, a + l * size))
      top = l;
    if (r < n && before(a + top * size, a + r * size))
      top = r;
    if (top == i)
      return;
    swap(a + i * size, a + top * size, size);
    i = top;
  }
}

void mt_sort(void *base, size_t n, size_t size, bool (*before)(const void *, const void *)) {
  char *a = base;
  if (size > 64)
    return;
  for (size_t i = n / 2; i-- > 0;)
    sift(a, i, n, size, before);
  for (size_t end = n; end-- > 1;) {
    swap(a, a + end * size, size);
    sift(a, 0, end, size, before);
  }
}
