/* thread_getattr.c - a thread whose first allocation is made inside glibc's
 * pthread_getattr_np, as the JVM's threads (os::current_stack_base at thread
 * start) and other runtimes do: glibc holds the thread's descriptor lock
 * while it allocates the cpu set. memtype's stack capture, which learns a
 * thread's stack block with pthread_getattr_np, must not call it again from
 * that malloc (the thread would wait on its own lock forever: java -version
 * hung under MEMTYPE_TRASH=1). Also threads asking each other's attributes
 * at once (each holds the other's lock while it allocates). Run in every
 * mode that captures stacks (CTest thread_getattr_checks). */
#include "mt_test.h"

#include <pthread.h>

static pthread_t peers[8];
static pthread_barrier_t ready;

static int stack_of(pthread_t t, size_t *size) {
  pthread_attr_t at;
  void *addr = NULL;
  int r = pthread_getattr_np(t, &at);
  if (r != 0)
    return r;
  r = pthread_attr_getstack(&at, &addr, size);
  pthread_attr_destroy(&at);
  return r;
}

static void *first_call(void *arg) {
  size_t size = 0;
  (void)arg;
  /* the very first thing the thread does: no allocation before it */
  int r = stack_of(pthread_self(), &size);
  return (void *)(uintptr_t)(r != 0 || size == 0);
}

static void *cross(void *arg) {
  unsigned i = (unsigned)(uintptr_t)arg, bad = 0;
  pthread_barrier_wait(&ready);
  for (unsigned k = 0; k < 200; k++) {
    size_t size = 0;
    if (stack_of(peers[(i + k) % 8], &size) != 0 || size == 0)
      bad++;
    free(malloc(16 + k));
  }
  pthread_barrier_wait(&ready); /* every peer alive until all are done */
  return (void *)(uintptr_t)bad;
}

int main(void) {
  for (int i = 0; i < 20; i++) {
    pthread_t t;
    void *res = (void *)1;
    CHECK(pthread_create(&t, NULL, first_call, NULL) == 0, "pthread_create");
    pthread_join(t, &res);
    CHECK(res == NULL, "pthread_getattr_np in a new thread failed");
  }
  pthread_barrier_init(&ready, NULL, 9);
  for (uintptr_t i = 0; i < 8; i++)
    CHECK(pthread_create(&peers[i], NULL, cross, (void *)i) == 0, "pthread_create");
  pthread_barrier_wait(&ready);
  pthread_barrier_wait(&ready);
  unsigned long bad = 0;
  for (int i = 0; i < 8; i++) {
    void *res = NULL;
    pthread_join(peers[i], &res);
    bad += (unsigned long)(uintptr_t)res;
  }
  CHECK(bad == 0, "%lu pthread_getattr_np calls on other threads failed", bad);
  return mt_finish();
}
