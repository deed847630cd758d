/* follow - MEMTYPE_FOLLOW_EXEC: a child started with an environment that
 * lacks memtype's variables. `follow HOW bad|ok` starts `follow child
 * bad|ok` through HOW and waits for it:
 *   execve     fork, then execve with an environment of one variable (PATH)
 *   chdir      fork, chdir("/"), then execve as above
 *   execle     fork, then execle, the same environment
 *   execvpe    fork, then execvpe by name (found on our PATH), the same
 *              environment
 *   fexecve    fork, then fexecve of the program opened, the same environment
 *   clearenv   fork, clearenv() and setenv(PATH) in the child, then execv
 *   execlp     the same, then execlp by name (found on that PATH)
 *   vfork      vfork, then execve as above (the child shares our memory)
 *   spawn      posix_spawn, the same environment
 * The child writes one byte past a 10-byte block (bad) or not (ok), frees
 * it and prints "child done"; the parent prints "done". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static void child(int bad) {
  char *volatile p = malloc(10);
  memset(p, 'c', 10);
  if (bad)
    p[10] = 'x';
  free(p);
  puts("child done");
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  if (!strcmp(argv[1], "child")) {
    child(!strcmp(argv[2], "bad"));
    return 0;
  }
  const char *how = argv[1];
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return 3;
  self[n] = '\0';
  char *cargv[] = {self, "child", argv[2], NULL};
  char *cenv[] = {"PATH=/usr/bin:/bin", NULL};
  fflush(stdout);
  pid_t pid;
  if (!strcmp(how, "spawn")) {
    if (posix_spawn(&pid, self, NULL, NULL, cargv, cenv) != 0)
      return 4;
  } else if (!strcmp(how, "vfork")) {
    pid = vfork();
    if (pid == 0) {
      execve(self, cargv, cenv);
      _exit(127);
    }
  } else {
    pid = fork();
    if (pid == 0) {
      if (!strcmp(how, "execve")) {
        execve(self, cargv, cenv);
      } else if (!strcmp(how, "chdir")) { /* from another directory */
        if (chdir("/") == 0)
          execve(self, cargv, cenv);
      } else if (!strcmp(how, "execle")) {
        execle(self, self, "child", argv[2], (char *)NULL, cenv);
      } else if (!strcmp(how, "execvpe")) {
        char dir[4096];
        strcpy(dir, self);
        *strrchr(dir, '/') = '\0';
        setenv("PATH", dir, 1); /* execvpe searches the caller's PATH */
        char *pargv[] = {"follow", "child", argv[2], NULL};
        execvpe("follow", pargv, cenv);
      } else if (!strcmp(how, "fexecve")) {
        int fd = open(self, O_RDONLY | O_CLOEXEC);
        fexecve(fd, cargv, cenv);
      } else if (!strcmp(how, "execlp")) { /* our own environment, cleared */
        char dir[4096];
        strcpy(dir, self);
        *strrchr(dir, '/') = '\0';
        clearenv();
        setenv("PATH", dir, 1);
        execlp("follow", "follow", "child", argv[2], (char *)NULL);
      } else if (!strcmp(how, "clearenv")) {
        clearenv();
        setenv("PATH", "/usr/bin:/bin", 1);
        execv(self, cargv);
      }
      _exit(127);
    }
  }
  if (pid < 0)
    return 5;
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return 6;
  puts("done");
  return WEXITSTATUS(status);
}
