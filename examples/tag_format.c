/* tag_format - builds "host:port" tags in buffers of a fixed 16 bytes, as a
 * server's log line code might. Built as Debian builds its packages, -O2
 * with _FORTIFY_SOURCE=2: the compiler knows each buffer's size from
 * malloc's and turns sprintf into glibc's __sprintf_chk. The third host
 * name is longer than the others: its tag needs 18 bytes. Without memtype,
 * glibc stops the program with "*** buffer overflow detected ***" and
 * nothing more; under memtype, the report names the block, where it was
 * allocated and the line of the sprintf, first:
 *
 *   build/bin/memtype run -- build/bin/tag_format */
#include <stdio.h>
#include <stdlib.h>

#define TAG_SIZE 16

__attribute__((noinline)) static char *make_tag(const char *host, int port) {
  char *tag = malloc(TAG_SIZE);
  if (tag == NULL)
    return NULL;
  sprintf(tag, "%s:%d", host, port); /* BUG: no bound: snprintf(tag, TAG_SIZE, ...) */
  return tag;
}

int main(int argc, char **argv) {
  static const char *const hosts[] = {"db1", "cache-02", "backup-east1"};
  int port = argc > 1 ? atoi(argv[1]) : 5432; /* (not a constant: no clone of make_tag) */
  for (int i = 0; i < 3; i++) {
    char *tag = make_tag(hosts[i], port);
    if (tag == NULL)
      return 1;
    printf("tag %s\n", tag);
    free(tag);
  }
  return 0;
}
