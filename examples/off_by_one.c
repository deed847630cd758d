/* off_by_one - copies session ids (16 hex digits) into buffers sized by
 * strlen, forgetting the terminating NUL: each copy writes one byte past its
 * 16-byte block. A 16-byte block fills its slot exactly, so the stray byte
 * lands in the neighbouring block and nothing notices. With a guard page
 * behind the blocks of copy_id (MEMTYPE_GUARD, or --guard), the write faults
 * at the guilty instruction and memtype reports it, then aborts:
 *
 *   build/bin/memtype run --guard copy_id -- build/bin/off_by_one
 *   build/bin/memtype report --errors memtype.off_by_one.*.mtd */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *copy_id(const char *id) {
  size_t n = strlen(id);
  char *copy = malloc(n); /* BUG: n bytes, but the loop copies n + 1 */
  if (copy == NULL)
    return NULL;
  for (size_t i = 0; i <= n; i++) /* the last round copies the NUL */
    copy[i] = id[i];
  return copy;
}

int main(void) {
  static const char *const ids[] = {"3f9a0c41d2b87e65", "0d4e7a19c3f25b88"};
  for (int i = 0; i < 2; i++) {
    char *id = copy_id(ids[i]);
    if (id == NULL)
      return 1;
    fprintf(stderr, "session %s\n", id);
    free(id);
  }
  return 0;
}
