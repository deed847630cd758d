/* peak_threads.c - two threads each hold 2 MiB (1 KiB blocks) at the same
 * time, meet at a barrier, then free: the heap's peak is at least 4 MiB, and
 * with two threads memtype says its peak is not known exactly
 * (test_timeline.py). argv[1]: ignored (the test passes a round count). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 2048

static pthread_barrier_t met;

static void *hold(void *arg) {
  (void)arg;
  static __thread void *b[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    b[i] = malloc(1024);
    memset(b[i], 1, 8);
  }
  pthread_barrier_wait(&met);
  for (int i = 0; i < BLOCKS; i++)
    free(b[i]);
  return NULL;
}

int main(void) {
  pthread_t t[2];
  pthread_barrier_init(&met, NULL, 2);
  for (int i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, hold, NULL) != 0)
      return 1;
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  return 0;
}
