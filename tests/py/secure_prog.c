/* secure_prog.c - a program linked against libmemtype (not preloaded, so
 * that it still loads when it runs set-user-ID), for the secure-execution
 * test: it leaks one block, allocates 1000 more and says whether every
 * allocation succeeded. Under MEMTYPE_FAILURE_RATE=1 some fail, unless
 * memtype ignores its configuration as it must in secure-execution mode. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <memtype.h>

static void *leaked;

int main(void) {
  int failed = 0;
  leaked = malloc(4096);
  leaked = NULL;
  for (int i = 0; i < 1000; i++) {
    void *p = malloc(64 + i);
    failed += p == NULL;
    free(p);
  }
  void *q = malloc(16);
  printf("secure=%lu failed=%d owned=%d\n", getauxval(AT_SECURE), failed, memtype_owns(q));
  free(q);
  return 0;
}
