/* init.c - process life hooks of the preloaded library: options once the
 * environment is known, fork handlers, the summary at exit. The allocator
 * itself bootstraps lazily on the first malloc, before any constructor. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "../core/alloc.h"
#include "../core/life.h"
#include "entry.h"

/* exit(status): registered at constructor time, so it runs after the
 * program's own atexit handlers and before the destructors. */
static void note_exit(int status, void *arg) {
  (void)arg;
  mt_life_note_exit(status);
}

__attribute__((constructor(101))) static void memtype_preload_init(void) {
  mt_late_init();
  pthread_atfork(mt_fork_prepare, mt_fork_parent, mt_fork_child);
  on_exit(note_exit, NULL);
}

__attribute__((destructor(101))) static void memtype_preload_fini(void) { mt_at_exit(); }
