/* live_server.c - a forking server for the live-view tests, as nginx or
 * postgres run one: the parent (root) forks 2 workers that take another
 * user (setuid(65534), nobody) when they can, allocate 500 blocks of 64
 * bytes and print "worker PID". On "k" the parent kills the second worker
 * (SIGKILL); on "q" it tells the workers to exit (closes their pipe), waits
 * for them and exits. Every command answers "ok". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void *grow(void) { return malloc(64); }

int main(void) {
  int fds[2];
  pid_t w[2];
  if (pipe(fds) != 0)
    return 1;
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int i = 0; i < 2; i++) {
    w[i] = fork();
    if (w[i] < 0)
      return 1;
    if (w[i] == 0) {
      close(fds[1]);
      if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        _exit(3);
      static void *kept[500];
      for (int j = 0; j < 500; j++)
        kept[j] = grow();
      printf("worker %d\n", (int)getpid());
      char c;
      while (read(fds[0], &c, 1) > 0)
        ;
      exit(kept[0] == NULL);
    }
  }
  close(fds[0]);
  char line[16];
  int bad = 0;
  while (fgets(line, sizeof(line), stdin)) {
    if (line[0] == 'k') {
      kill(w[1], SIGKILL);
      waitpid(w[1], NULL, 0);
      w[1] = 0;
    } else if (line[0] == 'q') {
      break;
    }
    printf("ok\n");
  }
  close(fds[1]);
  for (int i = 0; i < 2; i++) {
    int st;
    if (w[i] > 0 && (waitpid(w[i], &st, 0) != w[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
      bad = 1;
  }
  printf("ok\n");
  return bad;
}
