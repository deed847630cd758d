/* unwind.h - stack capture: "capture now" (the return addresses of the
 * calling thread's stack) and "capture from ucontext" (a signal handler's
 * view of the interrupted code). memtype's own x86_64 DWARF CFI unwinder
 * (unwind.c): no descriptor, no allocation, no lock; async-signal-safe; in
 * the common case no system call. Re-entrancy: a malloc made while this
 * thread is unwinding (the module snapshot may be synced) must not unwind
 * again; mt_unwind_busy() tells. */
#ifndef MT_UNWIND_H
#define MT_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

/* Fills pcs[] with up to max return addresses, innermost first (the first
 * is where mt_unwind_capture returns to, in its caller); returns how many (0
 * when this thread is already unwinding). A frame the unwinder cannot decode
 * or whose memory it cannot prove readable ends the stack there. */
unsigned mt_unwind_capture(uintptr_t *pcs, unsigned max);
/* The same from the frame whose pc is `from` on (pcs[0] == from): the
 * frames before it (the caller's own, at most 32) are walked, not kept, and
 * the walk stops once max frames are kept. 0 when the walk does not meet
 * it. */
unsigned mt_unwind_capture_at(uintptr_t *pcs, unsigned max, uintptr_t from);
/* Same from a signal handler's ucontext_t (passed as void *): pcs[0] is the
 * interrupted pc itself (the faulting instruction), then its callers. */
unsigned mt_unwind_capture_from(const void *ucontext, uintptr_t *pcs, unsigned max);
/* The same contract under the name the reporter uses: "capture from a
 * fault". pcs[0] is the interrupted pc itself (no return address, no -1),
 * then its callers; neither the handler's frames nor the kernel's signal
 * trampoline are ever in it, whether or not debug information names the
 * trampoline (__restore_rt). 0 when it cannot: the caller falls back. */
unsigned mt_unwind_capture_context(uintptr_t *pcs, unsigned max, const void *uc);
bool mt_unwind_busy(void);

#endif
