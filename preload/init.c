/* init.c - process life hooks of the preloaded library: options once the
 * environment is known, fork handlers, the summary at exit. The allocator
 * itself bootstraps lazily on the first malloc, before any constructor. The
 * libc range checks start here, once the options are known. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc.h"
#include "entry.h"
#include "libc_checks.h"
#include "options.h"

/* MEMTYPE_BYPASS_POOLS: the variables with which programs that keep pools
 * of their own inside malloc's blocks take each object from malloc instead
 * (what their projects tell users of memory debuggers to set). Set before
 * the program's main, which reads them (CPython, PHP) or whose first use of
 * the pool does (GLib, libstdc++, NSS); a value already set is the user's.
 * Not with setenv, whose strings and array would be the program's blocks
 * (its "still reachable" and its table): environ becomes a copy of itself
 * with the missing ones added, in a mapping of its own (scanned by the leak
 * scan, as the program may write a block's pointer into it with setenv), the
 * strings in a writable array of ours. A later setenv of the program copies
 * the array into a block of libc's, as it does with the one the kernel gave. */
extern char **environ;

static char pool_vars[][40] = {
    "PYTHONMALLOC=malloc", "G_SLICE=always-malloc", "USE_ZEND_ALLOC=0",
    "GLIBCXX_FORCE_NEW=1", "NSS_DISABLE_ARENA_FREE_LIST=1",
};
#define NPOOL_VARS (sizeof(pool_vars) / sizeof(pool_vars[0]))

static bool is_set(char **env, const char *entry) {
  size_t len = strcspn(entry, "=");
  for (unsigned i = 0; env && env[i]; i++)
    if (strncmp(env[i], entry, len) == 0 && env[i][len] == '=')
      return true;
  return false;
}

static void bypass_pools(void) {
  char **env = environ;
  unsigned n = 0, missing = 0;
  bool add[NPOOL_VARS];
  while (env && env[n])
    n++;
  for (unsigned i = 0; i < NPOOL_VARS; i++)
    missing += add[i] = !is_set(env, pool_vars[i]);
  if (!missing)
    return;
  size_t bytes = ((n + missing + 1) * sizeof(char *) + 4095) & ~(size_t)4095;
  char **copy = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED)
    return;
  for (unsigned i = 0; i < n; i++)
    copy[i] = env[i];
  for (unsigned i = 0; i < NPOOL_VARS; i++)
    if (add[i])
      copy[n++] = pool_vars[i];
  copy[n] = NULL;
  environ = copy;
}

__attribute__((constructor(101))) static void memtype_preload_init(void) {
  mt_late_init();
  if (mt_opt.bypass_pools)
    bypass_pools();
  mt_lc_install(); /* checks on: libc's range functions checked at the call */
  mt_exec_init();  /* MEMTYPE_FOLLOW_EXEC: the exec calls keep memtype in children */
  pthread_atfork(mt_fork_prepare, mt_fork_parent, mt_fork_child);
}

__attribute__((destructor(101))) static void memtype_preload_fini(void) { mt_at_exit(); }
