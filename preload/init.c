/* init.c - process life hooks of the preloaded library: options once the
 * environment is known, fork handlers, the summary at exit. The allocator
 * itself bootstraps lazily on the first malloc, before any constructor. The
 * libc range checks start here, once the options are known. */
#include <pthread.h>

#include "alloc.h"
#include "entry.h"
#include "libc_checks.h"
#include "report.h"

__attribute__((constructor(101))) static void memtype_preload_init(void) {
  mt_late_init();
  /* A program that links an allocator in (jemalloc, tcmalloc, mimalloc)
   * defines malloc itself, and the loader binds every module's malloc to
   * the program's first: memtype would see nothing and say "no leaks". */
  const char *who = mt_preload_foreign_malloc();
  if (who)
    mt_warn("malloc and free in this process are %s's, not memtype's (an allocator linked "
            "into the program, or preloaded before memtype): memtype sees none of the blocks "
            "they hand out, and its reports say nothing of them", who);
  mt_lc_install(); /* checks on: libc's range functions checked at the call */
  mt_exec_init();  /* MEMTYPE_FOLLOW_EXEC: the exec calls keep memtype in children */
  pthread_atfork(mt_fork_prepare, mt_fork_parent, mt_fork_child);
}

__attribute__((destructor(101))) static void memtype_preload_fini(void) { mt_at_exit(); }
