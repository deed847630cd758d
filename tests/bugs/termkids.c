/* termkids - forks N children that run malloc-heavy work in 2 threads and
 * SIGTERMs each at a random moment: half of them while they work (some at
 * once after fork, before the child's fork bookkeeping may be done), half
 * just after they call _exit or exit, while memtype's exit work (the leak
 * scan, the dump) may be running. Prints "<pid> <wait status>" a child.
 * Usage: termkids [N] [seed]. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEEP 4096

static void *churn(void *arg) {
  unsigned seed = (unsigned)(unsigned long)arg;
  void **keep = calloc(KEEP, sizeof(void *));
  for (;;) {
    unsigned i = (unsigned)rand_r(&seed) % KEEP;
    free(keep[i]);
    keep[i] = malloc(8 + (unsigned)rand_r(&seed) % 512);
    if (keep[i])
      memset(keep[i], 1, 8);
  }
  return NULL;
}

static void child(int k, int ready, int ending) {
  pthread_t t;
  pthread_create(&t, NULL, churn, (void *)(unsigned long)(k * 2 + 1));
  if (!ending)
    churn((void *)(unsigned long)(k * 2 + 2));
  usleep(2000); /* the other thread fills its heap */
  char c = 'x';
  if (write(ready, &c, 1) != 1)
    _exit(97);
  if (k % 4 == 1)
    exit(0);
  _exit(0);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20;
  unsigned seed = argc > 2 ? (unsigned)atoi(argv[2]) : (unsigned)time(NULL) ^ (unsigned)getpid();
  for (int k = 0; k < n; k++) {
    int ending = k % 2; /* 1: killed as it ends */
    int fds[2];
    if (pipe(fds) != 0)
      return 2;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
      return 2;
    if (pid == 0) {
      close(fds[0]);
      child(k, fds[1], ending);
    }
    close(fds[1]);
    int delay = (int)((unsigned)rand_r(&seed) % 3000);
    if (ending) {
      char c;
      if (read(fds[0], &c, 1) != 1)
        return 3;
    } else if (k % 4 == 0) {
      delay = 0; /* at once after fork */
    } else {
      delay += 1000;
    }
    close(fds[0]);
    if (delay)
      usleep((useconds_t)delay);
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    printf("%d %d\n", (int)pid, st);
  }
  return 0;
}
