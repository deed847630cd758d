/* rustc_align.c - a module made by rustc (its .comment says so, as the
 * one below does) calls malloc for blocks it needs aligned to 16, or to the
 * largest power of two not above a smaller size: Rust's std asks malloc,
 * not memalign, for any alignment up to 16 not above the size (hashbrown's
 * tables are then read with movdqa: cargo died of SIGSEGV at start under
 * MEMTYPE_GUARD='*'). Guard pages keep the block's end flush with the guard
 * (GWP-ASan's rule) but must not break that promise for such a module. Run
 * with every allocation guarded (CTest rustc_align_guard). */
#include "mt_test.h"

__asm__(".ident \"rustc version 1.95.0 (memtype test)\"");

static size_t promised(size_t n) {
  if (n >= 16)
    return 16;
  size_t a = 1;
  while (a * 2 <= n)
    a *= 2;
  return a;
}

int main(void) {
  static const size_t sizes[] = {12, 20, 24, 40, 56, 72, 100, 120, 200, 1000, 4000};
  unsigned long bad = 0;
  for (int round = 0; round < 4; round++)
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
      size_t n = sizes[i];
      unsigned char *p = malloc(n), *q = calloc(1, n), *r = realloc(malloc(8), n);
      CHECK(p && q && r, "allocation of %zu bytes failed", n);
      if ((uintptr_t)p % promised(n) || (uintptr_t)q % promised(n) ||
          (uintptr_t)r % promised(n)) {
        bad++;
        fprintf(stderr, "rustc_align: %zu-byte blocks %p %p %p not %zu-aligned\n", n,
                (void *)p, (void *)q, (void *)r, promised(n));
      }
      memset(p, 1, n);
      memset(r, 2, n);
      free(p);
      free(q);
      free(r);
    }
  CHECK(bad == 0, "%lu allocations not aligned as glibc's malloc aligns them", bad);
  return mt_finish();
}
