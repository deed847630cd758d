/* unwind.h - "capture now": the return addresses of the calling thread's
 * stack. The only door to libunwind (UNW_LOCAL_ONLY). Re-entrancy: a
 * malloc made while this thread is unwinding (libunwind or the loader may
 * allocate) must not unwind again; mt_unwind_busy() tells. */
#ifndef MT_UNWIND_H
#define MT_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

/* Fills pcs[] with up to max return addresses, innermost first; returns
 * how many (0 when this thread is already unwinding). */
unsigned mt_unwind_capture(uintptr_t *pcs, unsigned max);
bool mt_unwind_busy(void);

#endif
