/* small_types.c - types named as a user expects (test_report_forms.py):
 * two functions allocating through an inlined wrapper (named by the
 * function, not the wrapper), two call sites on one line (distinct rows),
 * and blocks kept of 48 bytes and 1500 bytes (MemUse 48B and 2K). */
#include <stdio.h>
#include <stdlib.h>

#include "small_types_wrap.h"

static void *kept[8];

__attribute__((noinline)) static void *make_a(void) { return wrap_alloc(48); }
__attribute__((noinline)) static void *make_b(void) { return wrap_alloc(1500); }
/* Both calls on one line: one function, one line, two call sites. */
__attribute__((noinline)) static void *either(int c) { return c ? malloc(100) : malloc(200); }

int main(void) {
  kept[0] = make_a();
  kept[1] = make_b();
  kept[2] = either(1);
  kept[3] = either(0);
  printf("%p %p %p %p\n", kept[0], kept[1], kept[2], kept[3]);
  return 0;
}
