/* fork_frees - a forked child that frees the blocks its parent allocated, as
 * every postgres backend does with the postmaster's.
 *   parent      keep_block: 1000 blocks of 100 bytes; forks; waits for the
 *               child; frees 400 of its own: 600 live at exit
 *   child       frees all 1000 it inherited; child_block: 10 blocks of 50
 *               bytes, kept; forks a grandchild and waits for it
 *   grandchild  frees the child's 10 blocks; frees nothing else
 * Every block stays reachable from a global (no leak). Prints "done" once,
 * from the parent. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *kept[1000];
static void *own[10];

__attribute__((noinline)) static void *keep_block(void) { return malloc(100); }
__attribute__((noinline)) static void *child_block(void) { return malloc(50); }

static int wait_for(pid_t pid) {
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(void) {
  for (int i = 0; i < 1000; i++)
    kept[i] = keep_block();
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 1000; i++) {
      free(kept[i]);
      kept[i] = NULL;
    }
    for (int i = 0; i < 10; i++)
      own[i] = child_block();
    pid_t grandchild = fork();
    if (grandchild == 0) {
      for (int i = 0; i < 10; i++) {
        free(own[i]);
        own[i] = NULL;
      }
      return 0;
    }
    return wait_for(grandchild);
  }
  int rc = wait_for(child);
  for (int i = 0; i < 400; i++) {
    free(kept[i]);
    kept[i] = NULL;
  }
  printf("done\n");
  return rc;
}
