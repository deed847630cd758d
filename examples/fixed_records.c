/* fixed_records - reads fixed-width name fields (8 bytes, padded with
 * spaces, no terminator, as in an old file format) into blocks of their own
 * and prints them. A name that fills its whole field leaves no room for a
 * NUL: printf's %s reads on past the block until it meets a zero byte, and
 * prints what follows it in the heap. memtype holds each %s argument to its
 * block before printf reads it, and names the line:
 *
 *   build/bin/memtype run -- build/bin/fixed_records */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD 8

__attribute__((noinline)) static char *read_name(const char *record) {
  char *name = malloc(FIELD); /* BUG: FIELD + 1, and a terminator after the copy */
  if (name == NULL)
    return NULL;
  memcpy(name, record, FIELD);
  for (int i = FIELD - 1; i >= 0 && name[i] == ' '; i--)
    name[i] = '\0'; /* trailing spaces off: a full field keeps no NUL */
  return name;
}

int main(void) {
  static const char *const records[] = {"ada     ", "grace   ", "margaret"};
  for (int i = 0; i < 3; i++) {
    char *name = read_name(records[i]);
    if (name == NULL)
      return 1;
    printf("user %d: %s\n", i + 1, name);
    free(name);
  }
  return 0;
}
