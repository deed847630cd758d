/* corpus_prog.c - a small program whose dumps seed the dump-reader fuzzers
 * (tests/fuzz/make_corpus.sh): a few call sites of different sizes, an
 * explicit type (looked up with dlsym, so it runs without memtype too), a
 * lost list, and on request a double free, unchecked failures, or a fork
 * whose child frees blocks its parent allocated (its dump has INHERITED). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memtype.h"

struct node {
  struct node *next;
  char pad[40];
};

static void *keep[64];

static __attribute__((noinline)) void *small_site(size_t n) { return malloc(n); }
static __attribute__((noinline)) void *page_site(void) { return malloc(20000); }
static __attribute__((noinline)) void *huge_site(void) { return calloc(1, 2 << 20); }

static __attribute__((noinline)) void lose_list(int n) {
  struct node *head = NULL;
  for (int i = 0; i < n; i++) {
    struct node *e = malloc(sizeof(*e));
    if (e == NULL)
      return;
    e->next = head;
    head = e;
  }
}

int main(int argc, char **argv) {
  MEMTYPE_DEFINE(M_SEED, "fuzz_seed", "the corpus program's own type");
  void *(*typed_malloc)(size_t, struct memtype_type *, int) =
      (void *(*)(size_t, struct memtype_type *, int))dlsym(RTLD_DEFAULT, "memtype_malloc");
  for (int i = 0; i < 64; i++) {
    keep[i] = small_site((size_t)(i * 7 + 1));
    if (keep[i])
      memset(keep[i], i, (size_t)(i * 7 + 1));
  }
  void *p = page_site(), *h = huge_site();
  void *t = typed_malloc ? typed_malloc(100, M_SEED, MEMTYPE_ZERO) : malloc(100);
  for (int i = 0; i < 64; i += 2) {
    free(keep[i]);
    keep[i] = NULL;
  }
  lose_list(5);
  free(p);
  free(h);
  if (argc > 1 && strcmp(argv[1], "double-free") == 0) {
    char *volatile d = malloc(24);
    free(d);
    free(d); /* reported; MEMTYPE_ON_ERROR=continue goes on */
  }
  if (argc > 1 && strcmp(argv[1], "fork") == 0) {
    /* Only the child writes the dump (it ends first; the parent's finds the
     * file there and writes none). */
    pid_t pid = fork();
    if (pid == 0) {
      for (int i = 1; i < 64; i += 4) {
        free(keep[i]);
        keep[i] = NULL;
      }
      keep[0] = small_site(9);
      return 0;
    }
    if (pid > 0)
      waitpid(pid, NULL, 0);
  }
  free(t);
  return 0;
}
