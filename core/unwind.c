/* unwind.c - stack capture through libunwind's unw_backtrace (see unwind.h).
 * A thread-local flag guards against re-entry from allocations made while
 * unwinding. */
#define UNW_LOCAL_ONLY
#include "unwind.h"

#include <libunwind.h>

#include "mt_types.h"

static MT_TLS bool unwinding;

bool mt_unwind_busy(void) { return unwinding; }

unsigned mt_unwind_capture(uintptr_t *pcs, unsigned max) {
  if (unwinding || max == 0)
    return 0;
  unwinding = true;
  int n = unw_backtrace((void **)pcs, (int)max);
  unwinding = false;
  return n > 0 ? (unsigned)n : 0;
}
