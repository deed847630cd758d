/* modules.h - the loaded modules (program, shared libraries, the vDSO) as a
 * snapshot memtype can read anywhere: in its fault handler, in a report,
 * while another thread holds the loader's lock. dladdr and dl_iterate_phdr
 * take that lock; reading the snapshot takes none and calls nothing.
 *
 * The snapshot is brought up to date by mt_modules_sync(), which asks the
 * loader (cheaply: one look at its load and unload counters) and rebuilds
 * only when they moved. Syncs happen where taking the loader's lock is safe:
 * at start, when a new call site is seen, before a dump written outside a
 * signal handler, before the leak scan; never in a report or a handler. */
#ifndef MT_MODULES_H
#define MT_MODULES_H

#include "mt_types.h"

#define MT_BUILD_ID_MAX 40
#define MT_MODULE_SEGS 6 /* readable PT_LOAD segments kept per module */

typedef struct mt_module_s {
  uintptr_t lo, hi;  /* span of its loaded segments */
  uintptr_t bias;    /* load bias: file address + bias = memory address */
  const char *path;  /* never freed (interned); the program's own full path */
  uint8_t build_id[MT_BUILD_ID_MAX];
  uint8_t idlen;
  uint8_t nseg;      /* readable segments in seg_lo/seg_hi (the first MT_MODULE_SEGS) */
  uintptr_t eh_hdr;  /* its .eh_frame_hdr in memory (PT_GNU_EH_FRAME); 0: none */
  uintptr_t seg_lo[MT_MODULE_SEGS], seg_hi[MT_MODULE_SEGS]; /* PF_R PT_LOADs, page-rounded */
} mt_module_t;

/* Brings the snapshot up to date (takes the loader's lock; not in a signal
 * handler: under mt_modules_hold it does nothing). Returns false when it
 * could not (out of memory, or held): the old snapshot stays. */
bool mt_modules_sync(void);
/* The same, unless another thread is syncing: then nothing, and false. For
 * callers that may run inside the loader (a free in dlclose): modules.c. */
bool mt_modules_sync_try(void);
/* The module holding address a, copied into out; false when there is none.
 * A miss syncs first, except under mt_modules_hold: in a report or a
 * handler it is lock-free and async-signal-safe. */
bool mt_modules_find(uintptr_t a, mt_module_t *out);
/* The snapshot's n modules, readable (and unchanged) until
 * mt_modules_unpin(): for a dump that counts them, then writes them. */
const mt_module_t *mt_modules_pin(unsigned *n);
void mt_modules_unpin(void);
/* The function and module holding pc: the function from the module's own
 * symbol table (symtab.c), the module from the snapshot. func is NULL when
 * no symbol covers pc; func_addr is then 0. Async-signal-safe. */
bool mt_symbol_at(uintptr_t pc, const char **func, uintptr_t *func_addr, const char **module,
                  uintptr_t *module_base);
bool mt_symbol(uintptr_t pc, const char **func, const char **module);

/* Nonzero while this thread is in memtype's reporter or in one of its signal
 * handlers: mt_modules_sync() then does nothing (the loader's lock may be
 * held by the code that was interrupted). */
extern MT_TLS unsigned mt_modules_hold;

/* How many syncs have seen a module unloaded: code addresses may since
 * belong to another module (unwind.c drops its cached rules). */
extern unsigned mt_modules_unload_count;
static inline unsigned mt_modules_unloads(void) {
  return __atomic_load_n(&mt_modules_unload_count, __ATOMIC_ACQUIRE);
}

/* The snapshot's lock is free again in a fork child. */
void mt_modules_fork_child(void);

#endif
