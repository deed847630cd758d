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

/* "Capture from a fault": the stack of the code a signal interrupted, from
 * the signal's ucontext (the third argument of an SA_SIGINFO handler). The
 * contract the reporter relies on, whatever unwinder implements it: pcs[0] is
 * the interrupted pc itself (the faulting instruction: no return address, no
 * -1), then the return addresses of its callers, innermost first. Neither
 * the handler's own frames nor the kernel's signal trampoline (libc's
 * __restore_rt) are ever in it, so the stack is the same whether or not the
 * machine has debug information that names the trampoline. Returns how many;
 * 0 when it cannot (this thread already unwinding, no support for the
 * architecture): the caller falls back on mt_unwind_capture. */
unsigned mt_unwind_capture_context(uintptr_t *pcs, unsigned max, const void *uc);
bool mt_unwind_busy(void);

#endif
