/* process.c - the process's life around the heap: bootstrap (mt_init, on
 * the first call, and mt_late_init once constructors run), the options,
 * fork (every lock taken before, released or reset after, in one order),
 * and the exit work (heap check, leak scan, dump, summary). The layers it
 * sets up are below it: it includes them, none of them includes it. */
#define _GNU_SOURCE
#include "alloc.h"

#include <string.h>

#include "arena.h"
#include "dump.h"
#include "fail.h"
#include "heapcheck.h"
#include "leak.h"
#include "life.h"
#include "live.h"
#include "memguard.h"
#include "modules.h"
#include "options.h"
#include "os.h"
#include "page.h"
#include "prelude.h"
#include "rebind.h"
#include "report.h"
#include "siggate.h"
#include "site.h"
#include "sizeclass.h"
#include "stats.h"
#include "suppress.h"
#include "symtab.h"
#include "tcache.h"
#include "timeline.h"
#include "unwind.h"
#include "zone.h"

extern uintptr_t mt_site_mask; /* alloc.c (alloc_inline.h) */

static int init_state; /* 0 none, 1 running, 2 done */
static bool options_from_env;

/* ---- bootstrap ---------------------------------------------------------- */

/* An invalid configuration stops the program at start, saying why. */
static void stop_on_config_error(const char *err) {
  mt_os_write(2, err, strlen(err));
  mt_os_exit(1);
}

/* MEMTYPE_BYPASS_POOLS: the variables with which programs that keep pools
 * of their own inside malloc's blocks take each object from malloc instead
 * (what their projects tell users of memory debuggers to set); a value the
 * environment has already is the user's. Added when the options are first
 * read from the environment: at the first malloc after libc set environ,
 * before the constructors of the program's libraries that use them (GLib's
 * reads G_SLICE in the first g_slice_alloc, made by GObject's constructor;
 * a preloaded library's own constructor runs after all of them), else once
 * constructors run. Writable storage of ours: a program may edit its
 * environment's strings in place. */
static char py_var[] = "PYTHONMALLOC=malloc", slice_var[] = "G_SLICE=always-malloc",
            zend_var[] = "USE_ZEND_ALLOC=0", cxx_var[] = "GLIBCXX_FORCE_NEW=1",
            nss_var[] = "NSS_DISABLE_ARENA_FREE_LIST=1";
static char *const pool_vars[] = {py_var, slice_var, zend_var, cxx_var, nss_var};

static void bypass_pools(void) {
  static bool done;
  if (!done) {
    done = true;
    mt_os_environ_add_missing(pool_vars, sizeof(pool_vars) / sizeof(pool_vars[0]));
  }
}

static void load_options(void) {
  char err[512];
  char **env = mt_os_environ();
  if (!mt_options_parse(env, mt_os_is_secure(), err, sizeof(err)))
    stop_on_config_error(err);
  options_from_env = env != NULL;
  if (options_from_env && mt_opt.bypass_pools)
    bypass_pools();
  mt_os_note_progname(); /* the name as it is before main may rewrite argv */
  mt_site_mask = mt_opt.depth ? ~(uintptr_t)0 : 0;
  if (!mt_opt.timeline)
    mt_timeline_off();
  if (!mt_site_set_rules(mt_opt.types, err, sizeof(err)) ||
      !mt_suppress_load(mt_opt.suppress, err, sizeof(err)))
    stop_on_config_error(err);
  mt_site_deep = mt_opt.depth > 1;
  mt_unwind_memo_mode = (int)mt_opt.stack_memo;
  mt_dbg_init(); /* the debug layers, their hook words and the debug gate */
}

static void print_config(void) {
  mt_options_print();
  if (mt_fail_on)
    mt_printf("memtype: failure injection seed %lu (MEMTYPE_FAILURE_SEED=%lu repeats this run)\n",
              (unsigned long)mt_fail_seed(), (unsigned long)mt_fail_seed());
}

void mt_init(void) {
  if (MT_LIKELY(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 2))
    return;
  int expect = 0;
  if (!__atomic_compare_exchange_n(&init_state, &expect, 1, false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
      mt_os_yield();
    return;
  }
  mt_sizeclass_init();
  mt_page_init();
  mt_tcache_init();
  mt_timeline_init();
  mt_dump_note_start();
  load_options();
  /* Heap checks on: a freed huge block is unmapped, not cached, so that a late
   * access to it still faults and is reported (page.c, the huge cache). */
  mt_huge_cache_set_limit(mt_check_on ? 0 : (size_t)mt_opt.huge_cache);
  __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
  if (options_from_env && mt_opt.verbose)
    print_config();
}

bool mt_is_initialized(void) { return __atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 2; }

/* The loader may call malloc before libc has set environ: read the options
 * again once constructors run. */
static void dump_before_dying(int sig) {
  mt_dump_write(sig ? MT_DUMP_FATAL : MT_DUMP_EXIT, sig);
  mt_live_fini();
}
static void exit_work(bool by_signal);

void mt_late_init(void) {
  mt_init();
  mt_report_note_stderr();
  mt_modules_sync();
  mt_report_exit_hook = dump_before_dying;
  if (!options_from_env) {
    load_options();
    if (mt_opt.verbose)
      print_config();
  }
  mt_live_start();
  char err[512];
  if (!mt_dump_install_signals(err, sizeof(err)))
    stop_on_config_error(err);
  if (mt_guard_on) {
    if (strcmp(mt_opt.guard_side, "after") && strcmp(mt_opt.guard_side, "before") &&
        strcmp(mt_opt.guard_side, "around")) {
      mt_snprintf(err, sizeof(err), "memtype: error: MEMTYPE_GUARD_SIDE=%s: not a side; "
                  "accepted: after, before, around\n", mt_opt.guard_side);
      stop_on_config_error(err);
    }
  }
  mt_guard_fault_init(); /* every mode: crashes are reported (core/out/fault.c) */
  mt_life_init(exit_work, mt_dump_late_death);
}

/* ---- process life ----------------------------------------------------------- */

void mt_fork_prepare(void) {
  if (!mt_is_initialized())
    return;
  mt_dump_fork_prepare();
  mt_guard_fork_prepare();
  mt_tcache_fork_prepare();
  mt_zone_fork_prepare();
  mt_page_fork_prepare();
  mt_arena_fork_prepare();
  mt_check_fork_prepare();
}

void mt_fork_parent(void) {
  if (!mt_is_initialized())
    return;
  mt_check_fork_parent();
  mt_arena_fork_parent();
  mt_page_fork_parent();
  mt_zone_fork_parent();
  mt_tcache_fork_parent();
  mt_guard_fork_parent();
  mt_dump_fork_parent();
}

void mt_fork_child(void) {
  if (!mt_is_initialized())
    return;
  mt_check_fork_child();
  mt_arena_fork_child();
  mt_os_fork_child();
  mt_dump_fork_child();
  mt_guard_fork_child();
  mt_report_fork_child();
  mt_symtab_fork_child();
  mt_site_fork_child();
  mt_modules_fork_child();
  mt_page_fork_child();
  mt_zone_fork_child();
  mt_live_fork_child();
  mt_tcache_fork_child();
  mt_timeline_fork_child();
  mt_rebind_fork_child();
  mt_life_fork_child();
  mt_siggate_fork_child(); /* last: it may run a kept signal's exit work */
}

static void print_summary(void);

void mt_at_exit(void) { mt_life_at_exit(); }

/* The exit work (core/types/life.c runs it once): by_signal, in the handler of a
 * terminating signal, after which the process dies of it. */
static void exit_work(bool by_signal) {
  if (!mt_is_initialized())
    return;
  if (mt_check_on)
    mt_check_heap(); /* corruption that no free or reuse saw */
  if (mt_guard_on)
    mt_guard_check_live(); /* the same, around guarded blocks */
  const mt_leak_result_t *leaks = NULL;
  if (mt_opt.leaks && !mt_os_is_secure()) {
    leaks = mt_leak_scan();
    mt_leak_print(leaks, mt_opt.leak_lines);
  }
  mt_suppress_print();
  /* MEMTYPE_ERROR_EXITCODE, MEMTYPE_LEAK_EXITCODE: heap errors (those
   * found just now by the whole-heap checks too), else leaks, fail the run
   * when the user asks. */
  int fail_code = 0;
  uint32_t fail_via = MT_VIA_NONE;
  if (!by_signal && mt_opt.error_exitcode && mt_error_count() > 0) {
    fail_code = (int)mt_opt.error_exitcode;
    fail_via = MT_VIA_ERRORS;
  } else if (!by_signal && mt_opt.leak_exitcode && leaks &&
             leaks->blocks[MT_LEAK_DEFINITE] + leaks->blocks[MT_LEAK_INDIRECT] > 0) {
    fail_code = (int)mt_opt.leak_exitcode;
    fail_via = MT_VIA_LEAKS;
  }
  bool fail = fail_via != MT_VIA_NONE && mt_life_ending()->how != MT_END_SIGNALED;
  /* Ended through exit() (or main's return): the new status is given by
   * exit_group at the end of this work, before exit's own flush of stdio,
   * which is done here instead (the program's last output is not lost). */
  bool flush = fail && mt_life_ending()->via == MT_VIA_EXIT;
  if (fail)
    mt_life_set_ending(MT_END_EXITED, fail_code, 0, fail_via);
  /* A deadly signal that came during work begun by exit or _exit: the
   * process dies of it once the work is done (core/types/life.c), so the
   * dump is a signal's (written in every process of a tree). */
  bool signaled = by_signal || mt_life_ending()->how == MT_END_SIGNALED;
  int sig = signaled ? (int)mt_life_ending()->signal : 0;
  mt_dump_write(signaled ? MT_DUMP_FATAL : MT_DUMP_EXIT, sig);
  mt_live_fini();
  if (mt_opt.stats)
    print_summary();
  if (mt_unwind_memo_mode == 2) {
    uint64_t hits, misses, checked;
    mt_unwind_memo_counts(&hits, &misses, &checked);
    mt_printf("memtype: stack memo check: %lu remembered stacks equal to the walk's, %lu "
              "values equal, %lu walks\n", (unsigned long)hits, (unsigned long)checked,
              (unsigned long)misses);
  }
  if (fail && mt_life_ending()->how != MT_END_SIGNALED) {
    if (flush)
      mt_os_flush_stdio();
    mt_os_exit(fail_code);
  }
}

static void print_summary(void) {
  mt_tstats_t s;
  unsigned threads;
  mt_tcache_sum_stats(&s, &threads);
  mt_page_stats_t ps;
  mt_page_get_stats(&ps);
  /* A forked child owns the blocks live at the fork: they are live in it
   * until it frees them (docs/format.md, INHERITED). */
  uint64_t inherited = 0, bytes;
  for (unsigned t = 0, n = mt_site_count(); t < n; t++)
    inherited += mt_tcache_inherited(t, &bytes);
  char from_parent[64] = "";
  if (mt_tcache_has_inherited())
    mt_snprintf(from_parent, sizeof(from_parent), "%lu blocks inherited at fork, ",
                (unsigned long)inherited);
  uint64_t have = inherited + s.allocs;
  mt_printf("memtype: summary: %s (pid %d): %lu allocations, %lu frees, %lu bytes requested, "
            "%s%lu blocks live at exit, peak heap %lu KiB mapped, %u threads\n",
            mt_os_progname(), mt_os_getpid(), (unsigned long)s.allocs, (unsigned long)s.frees,
            (unsigned long)s.bytes_alloc, from_parent,
            (unsigned long)(have > s.frees ? have - s.frees : 0),
            (unsigned long)(ps.peak_mapped >> 10), threads);
  if (mt_fail_on)
    mt_printf("memtype: failure injection: %lu allocations failed on purpose, 1 in %ld of %lu "
              "eligible, seed %lu\n", (unsigned long)mt_fail_count(), (long)mt_opt.failure_rate,
              (unsigned long)mt_fail_eligible(), (unsigned long)mt_fail_seed());
  if (mt_guard_on) {
    /* Coverage: the share of allocations memguard guarded, and why the
     * others it was asked for were not. */
    uint64_t g = mt_guard_total();
    uint64_t permille = s.allocs ? g * 1000 / s.allocs : 0;
    uint64_t cheap = mt_guard_total_cheap();
    mt_printf("memtype: guard pages (%s): %lu of %lu allocations guarded (%lu.%lu%%: %lu full, %lu "
              "overflow-only); not guarded "
              "when chosen: %lu for the cost bound, %lu for the budget, %lu for the resident-memory "
              "bound, %lu for the mapping limit, %lu for address space; %lu KiB of guarded blocks "
              "live, budget %lu KiB\n",
              mt_guard_method_name(mt_guard_method()), (unsigned long)g, (unsigned long)s.allocs,
              (unsigned long)(permille / 10), (unsigned long)(permille % 10),
              (unsigned long)(g - cheap), (unsigned long)cheap,
              (unsigned long)mt_guard_miss_reason(MT_GUARD_MISS_COST),
              (unsigned long)mt_guard_miss_reason(MT_GUARD_MISS_BUDGET),
              (unsigned long)mt_guard_miss_reason(MT_GUARD_MISS_RSS),
              (unsigned long)mt_guard_miss_reason(MT_GUARD_MISS_MAPS),
              (unsigned long)mt_guard_miss_reason(MT_GUARD_MISS_SPACE),
              (unsigned long)(mt_guard_pages_live() * 4), (unsigned long)(mt_guard_budget_pages() * 4));
  }
  mt_stats_print_types(mt_opt.stats_lines);
}

