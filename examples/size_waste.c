/* size_waste - where rounding costs memory: a few request sizes, each
 * handed a slot (or pages) bigger than asked. `memtype report --waste`
 * prints MALLOC_PROFILE's table for it:
 *
 *   build/bin/memtype run -- build/bin/size_waste
 *   build/bin/memtype report --waste memtype.size_waste.*.mtd
 *
 * 20-byte keys get 32-byte slots (37.5 % wasted): the fix would be to pack
 * them, or to ask for 32 and use it all. The other sizes lose little. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *make_key(void) { return malloc(20); }
__attribute__((noinline)) static char *make_node(void) { return malloc(100); }
__attribute__((noinline)) static char *make_line(void) { return malloc(1000); }
__attribute__((noinline)) static char *make_page(void) { return malloc(5000); }
__attribute__((noinline)) static char *make_image(void) { return malloc(100000); }

static void churn(char *(*make)(void), size_t size, int n) {
  for (int i = 0; i < n; i++) {
    char *p = make();
    if (p == NULL)
      exit(1);
    memset(p, i, size);
    free(p);
  }
}

int main(void) {
  churn(make_key, 20, 1000);
  churn(make_node, 100, 500);
  churn(make_line, 1000, 300);
  churn(make_page, 5000, 10);
  churn(make_image, 100000, 5);
  puts("size_waste: done");
  return 0;
}
