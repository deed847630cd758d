/* unwind.h - stack capture: "capture now" (the return addresses of the
 * calling thread's stack) and "capture from ucontext" (a signal handler's
 * view of the interrupted code). memtype's own x86_64 DWARF CFI unwinder
 * (unwind.c): no descriptor, no allocation, no lock; async-signal-safe; in
 * the common case no system call. Re-entrancy: a malloc made while this
 * thread is unwinding (the module snapshot may be synced) must not unwind
 * again; mt_unwind_busy() tells. */
#ifndef MT_UNWIND_H
#define MT_UNWIND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mt_types.h"

/* Fills pcs[] with up to max return addresses, innermost first (the first
 * is where mt_unwind_capture returns to, in its caller); returns how many (0
 * when this thread is already unwinding). A frame the unwinder cannot decode
 * or whose memory it cannot prove readable ends the stack there. */
unsigned mt_unwind_capture(uintptr_t *pcs, unsigned max);
/* The stack pointer of the first frame above the caller whose pc is in
 * neither libmemtype nor the module holding libc_fn (libc): where the
 * program called into them (exit's caller, once memtype's exit hook and
 * exit's own frames are passed); 0 when the walk cannot tell. */
uintptr_t mt_unwind_sp_outside(uintptr_t libc_fn, uintptr_t regs[]);
/* regs (when not NULL and the walk found that frame): the callee-saved
 * registers' values there (rbx, rbp, r12 to r15), which the frames below
 * keep in theirs or leave in place; 0 for one that cannot be read. */
#define MT_UNWIND_NSAVED 6
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

/* The memo (MEMTYPE_STACK_MEMO): a capture now, as mt_unwind_capture (from
 * 0) or mt_unwind_capture_at (from a pc), that remembers the thread's recent
 * walks, keyed by the stack pointer, from, key (any word the caller's value
 * depends on besides the frames) and max. A walk is remembered with every
 * stack word it read; a capture whose words all still hold those values
 * returns its frames without walking: exactly the frames the walk would
 * find (not a guess; a walk through anything but cached rules of the common
 * shape on the thread's stack is not remembered). ref names the entry's
 * caller word: ref->val is the value noted for these frames before (0:
 * none), and mt_unwind_memo_note keeps one (a depot id, a type) for the
 * next hit; when ref->val is not 0, pcs[] may be left unfilled (the value
 * stands for them). Async-signal-safe; max above 24 is not remembered. */
typedef struct mt_unwind_memo_s {
  uint64_t *word; /* the entry's caller word (NULL: not remembered) */
  uint64_t seen;  /* its value at the capture */
  uint32_t val;   /* the caller's value kept with these frames (0: none) */
} mt_unwind_memo_t;
unsigned mt_unwind_capture_memo(uintptr_t *pcs, unsigned max, uintptr_t from, uintptr_t key,
                                mt_unwind_memo_t *ref);
void mt_unwind_memo_note(const mt_unwind_memo_t *ref, uint32_t val);
/* The memo for a value of the stack now (a type): as mt_unwind_capture_memo
 * with the caller's value kept in the entry, in one call. A capture whose
 * remembered words all hold returns the value kept (never 0) without
 * walking or calling fn; otherwise fn(from, key, pcs, n, &keep) gets the
 * frames (n of at most min(max, MT_UNWIND_VALUE_FRAMES); 0 when none can
 * be had), runs outside the unwinder (it may capture), and its value is
 * returned, and kept for the next hit when it sets keep and is not 0.
 * Async-signal-safe when fn is. */
#define MT_UNWIND_VALUE_FRAMES 64u
typedef uint32_t (*mt_unwind_value_fn)(uintptr_t from, uintptr_t key, const uintptr_t *pcs,
                                       unsigned n, bool *keep);
uint32_t mt_unwind_memo_value(unsigned max, uintptr_t from, uintptr_t key, mt_unwind_value_fn fn);
/* Where a walk may start instead of here: the registers of the frame of
 * return address ip (its rsp after the return, and its rbp), or ip 0 when
 * the thread has none. The slow paths of malloc and free set the thread's
 * mt_unwind_entry to their caller's when they are entered by a jump from
 * the entry point (the stack then is the caller's), so that a block's
 * stack starts at the program's frame: memtype's own frames are neither
 * walked nor compared by the memo. Set behind the signal gate and cleared
 * before it opens (a nested slow path clears it for the outer one, which
 * then walks from where it is, as every capture did before). */
typedef struct mt_unwind_at_s {
  uintptr_t ip, sp, bp;
} mt_unwind_at_t;
extern MT_TLS mt_unwind_at_t mt_unwind_entry MT_HIDDEN;
/* mt_unwind_memo_value from the frame `at` (at->ip recorded first, as the
 * frame `from` = at->ip of a capture from here would be). */
uint32_t mt_unwind_memo_value_at(unsigned max, const mt_unwind_at_t *at, uintptr_t key,
                                 mt_unwind_value_fn fn);
/* The calling thread is exiting: its memo table is kept for another thread
 * (or unmapped), and it takes no new one (its later captures walk). */
void mt_unwind_thread_release(void);
/* libc's pthread_getattr_np (NULL until the preload's interposed one finds
 * it at load, preload/thread.c), and the calls to it this thread is inside:
 * the stack proof probes pages instead of calling it then (glibc allocates
 * inside it with the thread's lock held). */
extern int (*mt_unwind_getattr)(pthread_t, pthread_attr_t *);
extern MT_TLS unsigned mt_unwind_in_getattr;
/* 0: off (walk every time), 1: on, 2: on and checked: every remembered
 * stack is walked again and compared (a difference aborts), and callers
 * compare their kept value (mt_unwind_memo_checked counts each). Set at
 * option load. */
extern int mt_unwind_memo_mode;
void mt_unwind_memo_checked(bool equal); /* aborts when not equal */
/* Mode 2's counts: hits walked again and equal, walks remembered or not,
 * caller values compared. */
void mt_unwind_memo_counts(uint64_t *hits, uint64_t *misses, uint64_t *checked);

#endif
