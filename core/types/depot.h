/* depot.h - the stack depot: each distinct stack (a list of return
 * addresses) stored once and named by a 32-bit id, so that every block can
 * carry its allocation and free stacks in one word (MEMTYPE_STACK_DEPTH,
 * with checks or guard pages on). Lock-free: a writer publishes an entry by
 * one CAS after writing it; readers take no lock and an id, once returned,
 * names the same frames for the life of the process (and of a fork child).
 * Bounded: MT_DEPOT_BYTES of entries and MT_DEPOT_SLOTS ids; when full, put
 * returns 0 (no stack) and counts it. No malloc, no descriptor;
 * async-signal-safe. */
#ifndef MT_DEPOT_H
#define MT_DEPOT_H

#include <stdbool.h>
#include <stdint.h>

#define MT_DEPOT_MAX_FRAMES 64u
#define MT_DEPOT_BYTES ((uint64_t)64 << 20) /* entries: ~480,000 stacks of 16 frames */
#define MT_DEPOT_SLOTS (1u << 20)           /* the hash table's ids */

/* A block's stacks in one word: the allocation stack's id in the low half,
 * the free stack's in the high half (0: none). */
static inline uint32_t mt_stk_alloc(uint64_t w) { return (uint32_t)w; }
static inline uint32_t mt_stk_free(uint64_t w) { return (uint32_t)(w >> 32); }
static inline uint64_t mt_stk_with_free(uint64_t w, uint32_t free_id) {
  return (w & 0xffffffffu) | (uint64_t)free_id << 32;
}

/* The id of the stack pcs[0..n) (n capped at MT_DEPOT_MAX_FRAMES), stored
 * on first sight; 0 when n is 0 or the depot is full. */
uint32_t mt_depot_put(const uintptr_t *pcs, unsigned n);
/* The frames of id into out (at most max); how many (0: no such id). */
unsigned mt_depot_get(uint32_t id, uintptr_t *out, unsigned max);
/* The calling thread's stack now from frame `from` (the return address of
 * the allocation or free call: a block's stacks start where its type's
 * does) outwards, at most MEMTYPE_STACK_DEPTH frames, stored. When `from`
 * is not among the frames (no unwind information, re-entered while
 * unwinding), the one-frame stack {from}; when from is 0 (a named type),
 * the stack without memtype's own frames. 0 when there is none to store
 * (off, depot full). */
uint32_t mt_depot_capture(uintptr_t from);
/* Stacks are recorded for blocks: MEMTYPE_STACK_DEPTH > 0 and checks or
 * guard pages on (set at option load). */
extern bool mt_depot_on;

/* Distinct stacks stored, bytes of entries used, puts refused (full). */
uint64_t mt_depot_count(void);
uint64_t mt_depot_bytes(void);
uint64_t mt_depot_drops(void);

#endif
