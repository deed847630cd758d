/* first_run - a session table with four bugs, for the first run of memtype:
 * `memtype run -- build/bin/first_run` with no flag reports all four in one
 * run, each with its source lines, as valgrind's memcheck does.
 *   - a session name one byte too short: strcpy writes its terminator past
 *     the block (48 bytes, so the byte lands on the guard page)
 *   - a pointer kept to a session after it is closed, then read
 *   - a session closed twice
 *   - a session never closed: a leak */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session {
  char user[32];
  long requests;
  long started;
};

__attribute__((noinline)) static char *copy_name(const char *name) {
  char *p = malloc(strlen(name)); /* BUG: no room for the terminator */
  strcpy(p, name);
  return p;
}

__attribute__((noinline)) static struct session *open_session(const char *user) {
  struct session *s = calloc(1, sizeof(*s));
  snprintf(s->user, sizeof(s->user), "%s", user);
  return s;
}

__attribute__((noinline)) static void close_session(struct session *s) { free(s); }

__attribute__((noinline)) static void log_in(const char *user) {
  struct session *s = open_session(user);
  s->requests = 1; /* BUG: the session is never closed */
}

/* Clears the stack below main, where log_in's frame left a copy of the
 * lost pointer: the leak scan is conservative, and a stale copy there would
 * keep the session "reachable" on some runs. */
__attribute__((noinline)) static void wipe_stack(void) {
  volatile char junk[8192];
  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = 0;
}

int main(void) {
  char *title = copy_name("the administrators of the cluster, every day!!!!");
  struct session *alice = open_session("alice");
  struct session *bob = open_session("bob");
  log_in("carol");
  wipe_stack();
  alice->requests = 3;
  close_session(alice);
  printf("alice made %ld requests\n", alice->requests); /* BUG: read after close */
  close_session(bob);
  close_session(bob); /* BUG: closed twice */
  printf("%s\n", title);
  free(title);
  return 0;
}
