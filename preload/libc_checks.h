/* libc_checks.h - the libc range checks (issue 21, point 2): see
 * libc_checks.c. Called from the constructor (init.c) and after each load
 * (dl.c); nothing else. */
#ifndef MT_LIBC_CHECKS_H
#define MT_LIBC_CHECKS_H

#include <stdbool.h>

#include "../core/rebind.h"

/* True once the checks are installed (constructor time). */
extern bool mt_lc_on;

/* With MEMTYPE_TRASH, MEMTYPE_REDZONE or MEMTYPE_GUARD (not the sampling
 * alone) on: points the checked functions' slots in every loaded object at
 * memtype's checked versions. Once, at constructor time; nothing otherwise. */
void mt_lc_install(void);
/* After a load (checks on): the same for the objects loaded since m. */
void mt_lc_after_load(const mt_rebind_mark_t *m);

#endif
