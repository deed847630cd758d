/* hooks.h - where the heap calls the debug layers, and the only debug names
 * heap code may use (FreeBSD's malloc_dbg()/free_dbg() prelude and UMA's
 * ctor/dtor hooks). The heap includes this header and nothing of the debug
 * layers; the debug layer (prelude.c) defines every function here and sets
 * the hook words once at start, before any thread uses the heap's slow
 * paths with them. Each call site tests one hook word, so with debugging
 * off a slow path pays one predictable branch; the fast paths (alloc_inline.h)
 * test none: the debug gate (mt_debug_gate) keeps them closed instead.
 *
 * Invariants: mt_hook_slots and mt_hook_alloc imply mt_hook_on; mt_hook_slack
 * > 0 implies mt_hook_slots. scripts/check_layers.py fails the build's tests when heap
 * code tests a debug flag other than these words. */
#ifndef MT_HOOKS_H
#define MT_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "mt_types.h"

/* ---- hook words (written at start by mt_dbg_init) ------------------------- */

extern bool mt_hook_on;     /* any debug feature: the prelude runs on the slow paths */
/* The allocation prelude (mt_dbg_alloc) may answer a request itself:
 * failure injection, guard pages or the periodic heap check are on. Checks
 * alone leave it off: their allocations go straight to the heap (the slot
 * hooks do their part). */
extern bool mt_hook_alloc;
extern bool mt_hook_slots;  /* the slot lifecycle hooks run (trash, redzones) */
extern size_t mt_hook_slack; /* redzones on: the least a block has on each side; else 0 */
/* What a thread cache's countdown (sample_left) starts from: the slow path
 * is taken when it reaches 0 (the prelude gives that meaning; UINT32_MAX
 * when nothing samples). */
extern uint32_t mt_hook_sample_every;
/* Blocks keep their allocation stacks (checks or guard pages on and
 * MEMTYPE_STACK_DEPTH > 0): page runs and huge blocks call mt_dbg_stack_ctor
 * (slab slots get theirs in mt_dbg_slot_ctor). */
extern bool mt_hook_stacks;

/* ---- the prelude: one per slow-path entry --------------------------------- */

/* Allocation (malloc, calloc, aligned, realloc's new block), before the heap
 * picks storage. `request` is a new request (the periodic heap check and
 * failure injection apply), not realloc's replacement block. Sets *taken
 * when it answered itself: a guarded block, or NULL for a failure (errno
 * set). Signal gate held (siggate.h). */
void *mt_dbg_alloc(size_t n, size_t align, unsigned family, bool zero, unsigned type,
                   bool request, bool *taken);
/* Free of a live block, already counted: true when the debug layer took it
 * (a guarded block, or checks on: verified, trashed, quarantined); else
 * the heap gives it back at once. */
bool mt_dbg_free(const mt_block_t *b, void *p, uintptr_t pc);
/* Realloc of a live block to n bytes as `type`: failure injection, and with
 * checks on always a new block (the old one checked and quarantined). Sets
 * *taken when it answered. */
void *mt_dbg_realloc(const mt_block_t *b, void *p, size_t n, unsigned type, uintptr_t pc,
                     bool *taken);

/* ---- slot lifecycle hooks (mt_hook_slots) --------------------------------- */

/* A slab slot about to be handed out for n bytes as `type`; m still holds
 * the last owner's metadata (its trash is verified, the redzone laid, its
 * allocation stack taken: unwinding may re-enter malloc). The caller then
 * makes it LIVE. p is the slot's first byte; the block starts `front` bytes
 * into it (its front redzone, mt_hook_redzones; 0 without redzones), which
 * the hook records in the slab's fronts[] once the last owner is checked. */
void mt_dbg_slot_ctor(void *p, mt_meta_t *m, unsigned cls, size_t n, size_t front,
                      unsigned type);
/* The redzone on each side of a block of n bytes: AddressSanitizer's
 * allocator's sizes (ComputeRZLog: 16 << rz_log), 16 bytes up to 48, 32 to
 * 96, 64 to 448, 128 to 3968, 256 to 16128, 512 to 32256, 1024 to 64512,
 * then 2048 (MT_REDZONE_CAP). The smallest that keeps a 64-byte overflow of
 * a 100-byte record in its own redzone (bytes 100..163 of 100 + 64); a
 * slot's rounding to its class adds to the back one. Inline here: the heap
 * sizes a block's storage with it on every checked allocation. */
static inline size_t mt_hook_redzone_size(size_t n) {
  return n <= 48 ? 16 : n <= 96 ? 32 : n <= 448 ? 64 : n <= 3968 ? 128 : n <= 16128 ? 256
         : n <= 32256 ? 512 : n <= 64512 ? 1024 : 2048;
}
/* The redzones of a block of n bytes whose start must be a multiple of
 * align (a power of two, >= 16) when mt_hook_slack > 0: *front bytes
 * before it (a multiple of align), at least *back after it. Both at least
 * mt_hook_slack. */
static inline void mt_hook_redzones(size_t n, size_t align, size_t *front, size_t *back) {
  size_t rz = mt_hook_redzone_size(n);
  *front = (rz + align - 1) & ~(align - 1);
  *back = rz;
}
/* A page run or huge block about to be handed out as `type` (mt_hook_stacks):
 * its allocation stack into *stk (depot.h). No lock held: unwinding may
 * re-enter malloc. */
void mt_dbg_stack_ctor(uint64_t *stk, unsigned type);
/* A page run or huge block just handed out in state BUSY: its redzone, then LIVE. */
void mt_dbg_large_ctor(uintptr_t p);
/* A slab whose pages are about to be given back (zone lock held): the
 * trash of its slots, about to be lost, verified. */
void mt_dbg_slab_dtor(mt_slab_t *s);

/* An allocation failed for want of memory (malloc_last_fail()). */
void mt_dbg_no_memory(void) MT_NOINLINE MT_COLD;

/* ---- the guarded kind of the block model (memguard.c) --------------------- */

/* Guarded runs are memguard's: the heap only knows their address range
 * (MT_MAP_GUARD). Fill b for the guarded block holding a (the start test
 * of mt_block_lookup), and call fn on every live guarded block. */
bool mt_dbg_guard_lookup(uintptr_t a, mt_block_t *b);
void mt_dbg_guard_walk(mt_block_fn fn, void *arg);

/* ---- thread life ---------------------------------------------------------- */

void mt_dbg_thread_start(void); /* a thread's cache is attached */
void mt_dbg_thread_exit(void);  /* a thread's cache is about to be detached */

#endif
