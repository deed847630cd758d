/* live.h - the live view: per-thread stat chunks and the type table placed
 * in a shared file (/dev/shm/memtype.<pid>.live, mode 0600) that `memtype
 * stat PID` maps and sums without stopping or signalling the program, as
 * libmemstat reads the kernel's per-CPU slots. On only with MEMTYPE_LIVE=1;
 * the file is removed at exit (and by `memtype stat` when its process is
 * gone without removing it). Layout: docs/format.md, "The live file". */
#ifndef MT_LIVE_H
#define MT_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "tcache.h"

/* Creates and maps the file (constructor time); false with a warning when
 * it cannot (the program goes on without a live view). */
bool mt_live_start(void);
bool mt_live_on(void);
/* Is p inside the live file's mapping? */
bool mt_live_owns(const void *p);
/* A zeroed stat chunk for (slot, chunk) from the shared file, NULL when
 * the live view is off or full (the caller uses private memory). */
mt_typestat_t *mt_live_chunk(unsigned slot, unsigned chunk);
/* Publishes type `id`'s call site and name to readers. */
void mt_live_note_type(unsigned id, uintptr_t pc, const char *name);
/* Fork child: moves the mapping onto a file of the child's own. */
void mt_live_fork_child(void);
/* The process is ending (exit, a fatal signal, a report that ends it):
 * removes the file. The one place the file goes; idempotent. The mapping
 * stays, so counters written after it land in the unlinked file. */
void mt_live_fini(void);
/* The process is about to take effective uid `uid` (setuid and friends):
 * the file is given to it, so that the process can still remove it at exit
 * from /dev/shm (sticky: only a file's owner may unlink it). */
void mt_live_set_owner(int uid);

#define MT_LIVE_SLOTS 1024u /* slot 0 is the shared slot, then one per cache */

#endif
