/* live_prog.c - a program driven over stdin for the live-view tests: `a`
 * allocates 100 blocks of 64 bytes at one call site and keeps them, `f`
 * forks a child that allocates and exits, `q` quits; each command answers
 * "ok" once done. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void *grow(void) { return malloc(64); }

int main(void) {
  static void *kept[100000];
  int n = 0;
  char line[16];
  setvbuf(stdout, NULL, _IONBF, 0);
  while (fgets(line, sizeof(line), stdin)) {
    if (line[0] == 'a') {
      for (int i = 0; i < 100 && n < 100000; i++)
        kept[n++] = grow();
    } else if (line[0] == 'f') {
      pid_t pid = fork();
      if (pid == 0) {
        for (int i = 0; i < 1000; i++)
          free(grow());
        exit(0);
      }
      waitpid(pid, NULL, 0);
    } else if (line[0] == 'q') {
      break;
    }
    fputs("ok\n", stdout);
  }
  return n > 0 && kept[0] == NULL; /* the blocks stay live to the end */
}
