/* small_stacks.c - threads with small stacks, as servers and runtimes make
 * them (node's platform threads, thread pools with 16-64 KiB stacks):
 * pthread_create must succeed under memtype as under glibc. glibc refuses
 * (EINVAL) a stack that cannot hold the process's static TLS, so memtype's
 * own thread-local state must stay small (its stack memo is mapped per
 * thread, not in TLS). Each thread allocates through a chain of calls (a
 * stack capture walks it), in waves of threads at once (more than memtype
 * keeps spare memo tables for) and one after another (tables reused).
 * Run also with checks and 16-frame stacks (CTest small_stacks_checks). */
#include <limits.h>
#include <pthread.h>

#include "mt_test.h"

#define NOINLINE __attribute__((noinline))

static NOINLINE void *nest(int depth, size_t n) {
  if (depth > 0) {
    void *p = nest(depth - 1, n);
    __asm__ volatile("" ::: "memory");
    return p;
  }
  return malloc(n);
}

static void *worker(void *arg) {
  unsigned long seed = (unsigned long)(uintptr_t)arg, bad = 0;
  for (int i = 0; i < 200; i++) {
    size_t n = 8 + (seed * 7 + (unsigned long)i * 13) % 600;
    unsigned char *p = nest(i % 8, n);
    if (p == NULL) {
      bad++;
      continue;
    }
    memset(p, (int)(i & 0xff), n);
    if (p[n - 1] != (unsigned char)(i & 0xff))
      bad++;
    free(p);
  }
  return (void *)(uintptr_t)bad;
}

/* Starts `count` threads at once with the given stack size; returns how
 * many could not be created, and adds the workers' bad counts to *bad. */
static int wave(size_t stack, int count, unsigned long *bad) {
  pthread_t t[96];
  int failed = 0, started = 0;
  for (int i = 0; i < count; i++) {
    pthread_attr_t at;
    pthread_attr_init(&at);
    int r = pthread_attr_setstacksize(&at, stack);
    if (r == 0)
      r = pthread_create(&t[started], &at, worker, (void *)(uintptr_t)(i + 1));
    pthread_attr_destroy(&at);
    if (r != 0) {
      failed++;
      fprintf(stderr, "small_stacks: pthread_create with a %zu-byte stack: %s\n", stack,
              strerror(r));
    } else {
      started++;
    }
  }
  for (int i = 0; i < started; i++) {
    void *res = NULL;
    pthread_join(t[i], &res);
    *bad += (unsigned long)(uintptr_t)res;
  }
  return failed;
}

int main(void) {
  const size_t stacks[] = {PTHREAD_STACK_MIN, 24576, 32768, 65536};
  for (unsigned s = 0; s < sizeof(stacks) / sizeof(stacks[0]); s++) {
    unsigned long bad = 0;
    int failed = wave(stacks[s], 80, &bad); /* more at once than spare memo tables */
    CHECK(failed == 0, "%d of 80 threads with a %zu-byte stack not created", failed, stacks[s]);
    CHECK(bad == 0, "%lu bad blocks in threads with a %zu-byte stack", bad, stacks[s]);
    for (int i = 0; i < 20; i++) { /* one at a time: tables reused */
      bad = 0;
      failed = wave(stacks[s], 1, &bad);
      CHECK(failed == 0 && bad == 0, "thread %d with a %zu-byte stack: %d, %lu", i, stacks[s],
            failed, bad);
    }
  }
  return mt_finish();
}
