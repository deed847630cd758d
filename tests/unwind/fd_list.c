/* fd_list: allocates (strdup, nested calls, threads: every way memtype may
 * unwind), forks, and at exit each process prints the descriptors it holds
 * ("parent: 0 1 2", "child: 0 1 2"): the same with and without memtype. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *who = "parent";
void *keep[64]; /* global: the strdup copies stay reachable */
static unsigned nkeep;

static void list_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    perror("opendir");
    return;
  }
  int fds[1024], n = 0, own = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 1024)
    if (e->d_name[0] != '.' && atoi(e->d_name) != own)
      fds[n++] = atoi(e->d_name);
  closedir(d);
  for (int i = 1; i < n; i++) /* insertion sort */
    for (int j = i; j > 0 && fds[j] < fds[j - 1]; j--) {
      int t = fds[j];
      fds[j] = fds[j - 1];
      fds[j - 1] = t;
    }
  char line[4096];
  int pos = snprintf(line, sizeof(line), "%s:", who);
  for (int i = 0; i < n && pos < (int)sizeof(line) - 16; i++)
    pos += snprintf(line + pos, sizeof(line) - (size_t)pos, " %d", fds[i]);
  printf("%s\n", line);
  fflush(stdout);
}

__attribute__((noinline)) static void *deep(int level, size_t n) {
  if (level == 0)
    return malloc(n);
  void *p = deep(level - 1, n + 1);
  __asm__ volatile("" ::: "memory");
  return p;
}

static void churn(void) {
  for (int i = 0; i < 8; i++) {
    char *s = strdup("a string copied by libc's strdup"); /* MEMTYPE_SKIP looks through it */
    void *p = deep(i, 24);
    if (nkeep < 64)
      keep[nkeep++] = s; /* still reachable */
    free(p);
  }
}

static void *thread_main(void *arg) {
  (void)arg;
  churn();
  return NULL;
}

int main(void) {
  atexit(list_fds);
  churn();
  pthread_t t;
  if (pthread_create(&t, NULL, thread_main, NULL) == 0)
    pthread_join(t, NULL);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    who = "child";
    churn();
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  churn();
  return 0;
}
