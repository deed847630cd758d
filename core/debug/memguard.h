/* memguard.h - guard pages for chosen types and sampled allocations, the
 * user-space memguard(9): a guarded block has pages of its own in a region
 * reserved at start, next to an inaccessible guard page (after it, before
 * it, or both: MEMTYPE_GUARD_SIDE); freed, its pages become inaccessible
 * and wait in a FIFO before their addresses are used again. Any access past
 * the block, before it, or after it was freed - reads too - faults, and the
 * fault handler (fault.c) reports it. A block's end is flush with its guard
 * page (its start aligned to the largest power of two dividing its size, up
 * to 16, or to the alignment asked for), the bytes between its page's start
 * and it patterned and checked on free. The guard pages are installed with
 * madvise(MADV_GUARD_INSTALL) where the kernel has it, else made by mprotect. Memory for guarded blocks is bounded
 * (physical memory / MEMTYPE_GUARD_DIVISOR, and the mapping-count limit);
 * over budget, an allocation falls back to the normal allocator and the miss
 * is counted per type. With madvise, a block the cost bound would refuse is
 * guarded overflow-only instead ("cheap"): its run's guard page after it as
 * always, but freed, its data pages stay open and populated in a bounded
 * pool of such runs, recycled with no system call (use after free is then
 * found by MEMTYPE_TRASH's verify when the run is reused, not at the
 * access). One lock (the region's); lookups take none. */
#ifndef MT_MEMGUARD_H
#define MT_MEMGUARD_H

#include <stddef.h>

#include "mt_types.h"

/* One guarded block. */
typedef struct mt_guard_blk_s {
  uintptr_t run;        /* first page of its run (guards included) */
  uint32_t npages;      /* pages of the run */
  uint32_t data_page;   /* first page the program may touch, from run */
  uint32_t data_pages;
  uintptr_t user;       /* the pointer handed out */
  mt_meta_t meta;       /* requested size, type, state (LIVE or FREE), family */
  uintptr_t free_pc;    /* where it was freed */
  uint64_t stk;         /* its allocation and free stacks' depot ids (depot.h) */
  struct mt_guard_blk_s *next; /* FIFO of freed blocks, or free descriptors */
  struct mt_guard_blk_s *all;  /* every descriptor ever made */
  uint8_t leak_mark;    /* leak scan: its mark */
  uint8_t reopened;     /* madvise: the fault handler opened a page of it while it waited */
  uint8_t cheap;        /* overflow-only: freed, its data pages stay open and populated */
  uint8_t dirty;        /* its data pages hold a previous block's bytes (a pooled run) */
} mt_guard_blk_t;

/* How guard pages are made (MEMTYPE_GUARD_METHOD; the dump's GUARD header). */
enum { MT_GUARD_METHOD_MPROTECT = 1, MT_GUARD_METHOD_MADVISE = 2 };
/* Why a chosen block was not guarded (counted apart; memguard(9)'s fail_*). */
enum {
  MT_GUARD_MISS_COST,   /* the cost bound (MEMTYPE_GUARD_COST) */
  MT_GUARD_MISS_BUDGET, /* the memory budget (MEMTYPE_GUARD_DIVISOR) */
  MT_GUARD_MISS_RSS,    /* the resident-memory bound (MEMTYPE_GUARD_RSS) */
  MT_GUARD_MISS_MAPS,   /* mprotect: the kernel's mapping limit */
  MT_GUARD_MISS_SPACE,  /* the region's address space, or the kernel refused */
  MT_GUARD_MISS_REASONS
};

/* MEMTYPE_GUARD or _GUARD_RATE or _GUARD_LARGE is set: allocations ask. */
extern bool mt_guard_on;
/* Only MEMTYPE_GUARD_RATE: the fast paths stay open, and the thread cache's
 * countdown sends one malloc in N to the slow path, where the prelude
 * (prelude.c) decides on sampling; memguard keeps no countdown. */
extern bool mt_guard_sampling_only;

/* Reads the options and reserves the region (idempotent). */
void mt_guard_init(void);
/* Could memguard guard n bytes at this alignment at all (MEMTYPE_GUARD_MAXSIZE,
 * a page at most)? */
bool mt_guard_fits(size_t n, size_t align);
/* Is this allocation chosen by type (MEMTYPE_GUARD globs) or size
 * (MEMTYPE_GUARD_LARGE)? Sampling is the prelude's (MEMTYPE_GUARD_RATE). */
bool mt_guard_chosen(size_t n, unsigned type);
/* A guarded block for an allocation the prelude chose (it fits), or NULL
 * when over budget or the cost bound (then counted as a miss). Zeroed when
 * zero (calloc's); else a fresh run's block is zero and a pooled run's holds
 * its last block's bytes (its trash, with MEMTYPE_TRASH), as a reused slot. */
void *mt_guard_alloc(size_t n, size_t align, unsigned type, unsigned family,
                     bool zero) MT_NOINLINE MT_COLD;
/* At exit: the patterns before and after every live guarded block checked
 * (reported as a free would); the number found written. */
unsigned long mt_guard_check_live(void);
/* The block holding address a (guard pages included), or NULL. */
mt_guard_blk_t *mt_guard_lookup(uintptr_t a);
/* The block a fault at a is about (async-signal-safe, no lock): the one
 * whose data page holds a, else of the blocks around a's guard page the one
 * nearest a (the end of the one before: an overflow; the start of the one
 * after: an underflow); NULL when a is not memguard's. */
mt_guard_blk_t *mt_guard_fault_block(uintptr_t a);
/* Opens the page holding a so the access can complete (the fault handler,
 * MEMTYPE_ON_ERROR=continue). */
void mt_guard_open_page(uintptr_t a);
/* The method in use (MT_GUARD_METHOD_*; 0 when memguard is off), its name. */
int mt_guard_method(void);
const char *mt_guard_method_name(int method);
/* Blocks not guarded for reason `why` (MT_GUARD_MISS_*), all types; blocks
 * guarded, all types (full and overflow-only); of those, overflow-only. */
uint64_t mt_guard_miss_reason(int why);
uint64_t mt_guard_total(void);
uint64_t mt_guard_total_cheap(void);
/* Frees a live guarded block: verifies the alignment slack, makes its pages
 * inaccessible, queues it. */
void mt_guard_free(mt_guard_blk_t *b, uintptr_t pc);

/* fork: the region's lock taken before, released after (parent), reset (child). */
void mt_guard_fork_prepare(void);
void mt_guard_fork_parent(void);
void mt_guard_fork_child(void);

/* Calls fn for every live guarded block (leak scan; racy, never unmapped). */
void mt_guard_each_live(void (*fn)(mt_guard_blk_t *b, void *arg), void *arg);

/* Per-type counters for the dump: guarded allocations (full and
 * overflow-only), of those overflow-only, budget misses. */
uint64_t mt_guard_count(unsigned type);
uint64_t mt_guard_count_cheap(unsigned type);
uint64_t mt_guard_misses(unsigned type);
/* Pages of guarded blocks now live (data and guards), and the budget. */
size_t mt_guard_pages_live(void);
size_t mt_guard_budget_pages(void);
/* Charges ns of guarding time to the cost bound, as guarded allocations
 * and frees do (the unit tests' way to put a process over it). */
void mt_guard_spend_ns(uint64_t ns);
/* malloc_trim: the pooled overflow-only runs leave the pool, their pages
 * given back; the bytes given back. */
size_t mt_guard_trim(void);

/* The fault handler (fault.c): installs it, keeps it first. */
void mt_guard_fault_init(void);
/* realign.c: a general protection fault of an aligned SSE/AVX access inside
 * a guarded block memtype under-aligned, carried out (true) or not ours. */
bool mt_guard_realign_fault(void *uc);
/* realign.c: its SIGTRAP handler, installed with the fault handler; the
 * program's sigaction of SIGTRAP goes to mt_guard_trap_sigaction (true
 * when kept behind memtype's). */
void mt_guard_realign_init(void);
bool mt_guard_trap_sigaction(const void *act, void *old);
/* Is the faulting instruction an SSE/AVX access to a misaligned address
 * (*addr)? (a general protection fault's reason) */
bool mt_sse_misaligned(void *uc, uintptr_t *addr);
/* realign.c's decoder, for its unit test: the memory operand of the SSE/AVX
 * instruction at code (registers as x86 numbers, -1 for none), or false. */
bool mt_realign_decode(const uint8_t *code, size_t len, int *base, int *index, unsigned *scale,
                       int64_t *disp, unsigned *width);
/* The type's next guarded blocks get new's alignment (up to 16). */
void mt_guard_learn_alignment(unsigned type);
/* For preload/'s sigaction and signal: when memguard keeps sig (SIGSEGV,
 * SIGBUS), records act as the handler to chain to and returns the previous
 * one in old; true when it handled the call. */
bool mt_guard_sigaction(int sig, const void *act, void *old);
/* Gives the calling thread an alternate signal stack if it has none. */
void mt_guard_thread_start(void);

#endif
