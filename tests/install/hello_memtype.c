/* hello_memtype.c - a program built against the installed memtype.h (by
 * pkg-config and by find_package(memtype CONFIG)): one explicit type, one
 * pool accounted by hand, and the answers only libmemtype gives. */
#include <stdio.h>
#include <string.h>

#include <memtype.h>

MEMTYPE_DEFINE(M_GREETING, "greeting", "the words this program prints");
MEMTYPE_DEFINE(M_POOL, "hello_pool", "a pool the program manages itself");

int main(void) {
  char *held[8];
  for (int i = 0; i < 8; i++) {
    held[i] = memtype_malloc(32, M_GREETING, MEMTYPE_ZERO);
    if (held[i] == NULL)
      return 1;
    strcpy(held[i], "hello");
  }
  memtype_type_allocated(M_POOL, 4096);
  printf("%s from memtype: owns=%d last_fail=%d\n", held[0], memtype_owns(held[0]),
         malloc_last_fail());
  for (int i = 1; i < 8; i++)
    memtype_free(held[i], M_GREETING);
  memtype_free(held[0], M_GREETING);
  memtype_type_freed(M_POOL, 4096);
  return 0;
}
