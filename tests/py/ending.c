/* ending.c - a program that ends in the way its first argument names, with
 * a 48-byte block leaked first (type lose_me): _exit, _Exit, a signal it
 * does not handle (term, int, hup), a heap error after closing its stderr
 * (closed), SIGTERM it ignores (ignored: inherited or its own), SIGTERM it
 * handles (own), what sigaction says of SIGINT (query), a vfork child and a
 * posix_spawn child whose exec fails (vfork: neither may write a dump or
 * touch the parent's books), and waiting for a signal (wait). */
#include <pthread.h>
#include <spawn.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile keep;

__attribute__((noinline)) static void lose_me(void) {
  keep = malloc(48);
  memset(keep, 1, 48);
  keep = NULL;
}

static volatile sig_atomic_t got;

/* Allocates and frees for ever: a process-directed signal most often finds
 * one of these threads inside memtype. */
static void *churn(void *arg) {
  void *held[64] = {0};
  for (unsigned i = (unsigned)(uintptr_t)arg;; i = i * 1103515245u + 12345u) {
    unsigned k = (i >> 8) % 64;
    free(held[k]);
    held[k] = malloc(16 + (i >> 16) % 2000);
  }
  return NULL;
}
static void on_term(int sig) { got = sig; }

int main(int argc, char **argv) {
  const char *how = argc > 1 ? argv[1] : "";
  lose_me();
  printf("started\n");
  fflush(stdout);
  if (!strcmp(how, "_exit"))
    _exit(5);
  if (!strcmp(how, "_Exit"))
    _Exit(6);
  if (!strcmp(how, "term"))
    raise(SIGTERM);
  if (!strcmp(how, "int"))
    kill(getpid(), SIGINT);
  if (!strcmp(how, "hup"))
    raise(SIGHUP);
  if (!strcmp(how, "closed")) {
    close(2);
    char *p = malloc(16);
    free(p);
    free(p); /* double free: reported where fd 2 no longer goes */
  }
  if (!strcmp(how, "ignored")) {
    struct sigaction sa;
    sigaction(SIGTERM, NULL, &sa);
    printf("SIGTERM %s\n", sa.sa_handler == SIG_IGN ? "ignored" : "not ignored");
    fflush(stdout);
    raise(SIGTERM);
    printf("alive\n");
  }
  if (!strcmp(how, "own")) {
    signal(SIGTERM, on_term);
    raise(SIGTERM);
    printf("handled %d\n", (int)got);
    fflush(stdout);
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM); /* the default again: memtype's exit work, then death */
  }
  if (!strcmp(how, "query")) {
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    printf("SIGINT %s flags %d\n", sa.sa_handler == SIG_DFL ? "default" : "handled",
           sa.sa_flags);
  }
  if (!strcmp(how, "vfork")) {
    signal(SIGUSR1, on_term);
    pid_t pid = vfork();
    if (pid == 0) {
      /* As Python's subprocess does before exec: handlers back to default
       * (in the child's own table; the parent's must stay). */
      signal(SIGUSR1, SIG_DFL);
      signal(SIGSEGV, SIG_DFL);
      execl("/nonexistent/program", "program", (char *)NULL);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    char *args[] = {"program", NULL};
    pid_t pid2;
    int st2 = 0;
    if (posix_spawn(&pid2, "/nonexistent/program", NULL, NULL, args, NULL) == 0)
      waitpid(pid2, &st2, 0);
    raise(SIGUSR1);
    printf("child %d, parent's handler %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1, (int)got);
  }
  if (!strcmp(how, "threads")) {
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
      pthread_create(&t[i], NULL, churn, (void *)(i + 1));
    for (volatile unsigned long spin = 0; spin < 20000000ul; spin++)
      ;
    kill(getpid(), SIGTERM); /* process-directed: any thread may take it */
    for (;;)
      pause();
  }
  if (!strcmp(how, "wait")) {
    printf("waiting %d\n", (int)getpid());
    fflush(stdout);
    alarm(120); /* never outlives a test that lost track of it */
    for (;;)
      pause();
  }
  printf("done\n");
  return 7;
}
