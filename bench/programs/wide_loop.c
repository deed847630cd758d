/* wide_loop.c - wide-character copies and measures on heap blocks, for
 * counting what the libc range checks add to each call (callgrind, N1 and
 * N2 rounds, the difference of the totals over N2 - N1 as with pairs.c).
 * Each round: wcscpy of 16 wide characters from one block into another,
 * wcslen of the copy, wmemcpy of 16 back: five ranges in heap blocks.
 *
 *   wide_loop N */
#include <wchar.h>

#include "prog_common.h"

int main(int argc, char **argv) {
  const char *usage = "N";
  if (argc < 2) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  unsigned long long n = arg_ull(argc, argv, 1, 1, usage);
  wchar_t *src = xmalloc(17 * sizeof(wchar_t)), *dst = xmalloc(17 * sizeof(wchar_t));
  wmemset(src, L's', 16);
  src[16] = 0;
  unsigned long long total = 0;
  for (unsigned long long i = 0; i < n; i++) {
    wcscpy(dst, src);
    total += wcslen(dst);
    wmemcpy(src, dst, 16);
  }
  free(src);
  free(dst);
  printf("wide_loop n=%llu total=%llu\n", n, total);
  return total == 16 * n ? 0 : 1;
}
