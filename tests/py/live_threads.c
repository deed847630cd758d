/* live_threads.c - a threaded program for the live-view tests: 4 threads
 * each keep 1000 blocks of 32 bytes allocated in a shared library
 * (live_lib.c's lib_alloc), then the program prints "ready" and waits for a
 * line on stdin before it exits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

void *lib_alloc(size_t n);
void *live_lib_early(int i);

enum { THREADS = 4, BLOCKS = 1000 };
static void *kept[THREADS][BLOCKS];

static void *work(void *arg) {
  void **mine = arg;
  for (int i = 0; i < BLOCKS; i++)
    mine[i] = lib_alloc(32);
  return NULL;
}

int main(void) {
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    if (pthread_create(&t[i], NULL, work, kept[i]) != 0)
      return 1;
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  printf("ready\n");
  fflush(stdout);
  char line[16];
  if (fgets(line, sizeof(line), stdin) == NULL)
    return 1;
  return kept[0][0] == NULL || live_lib_early(0) == NULL;
}
