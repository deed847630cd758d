/* stale_pointer - a session table that frees a session on logout but keeps
 * using the pointer a worker cached: a write-after-free that usually goes
 * unnoticed (the bytes are free, nobody looks). With trash/verify memtype
 * sees the freed block change and says where it was allocated and freed:
 *
 *   build/bin/memtype run --trash -- build/bin/stale_pointer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session {
  char user[24];
  long requests;
};

__attribute__((noinline)) static struct session *open_session(const char *user) {
  struct session *s = calloc(1, sizeof(*s));
  if (s)
    strncpy(s->user, user, sizeof(s->user) - 1);
  return s;
}

__attribute__((noinline)) static void close_session(struct session *s) { free(s); }

int main(void) {
  struct session *alice = open_session("alice");
  struct session *cached = alice; /* a worker keeps its own copy of the pointer */
  if (alice == NULL)
    return 1;
  alice->requests = 41;
  close_session(alice); /* logout */
  cached->requests++;   /* BUG: the worker still counts requests into the freed session */
  struct session *bob = open_session("bob");
  printf("bob has %ld requests\n", bob ? bob->requests : -1L);
  close_session(bob);
  return 0;
}
