/* alloc.c - the allocator's slow paths and public core API (see alloc.h):
 * cache refill and flush, medium runs and huge blocks, realloc, aligned
 * allocation, validation of every pointer handed back to us. Debug work
 * enters only through the prelude and slot hooks of hooks.h; bootstrap,
 * fork and exit are in process.c.
 * The fast paths are in alloc_inline.h. Locks are taken only in zone.c,
 * page.c and tcache.c. */
#define _GNU_SOURCE
#include "alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "alloc_inline.h"
#include "block.h"
#include "depot.h"
#include "heap.h"
#include "hooks.h"
#include "os.h"
#include "rebind.h"
#include "report.h"
#include "site.h"
#include "timeline.h"
#include "unwind.h"

const char *const mt_family_names[MT_FAM_COUNT] = {"malloc", "new", "new[]"};
const char *const mt_family_free_names[MT_FAM_COUNT] = {"free", "delete", "delete[]"};


/* ---- helpers -------------------------------------------------------------- */

MT_HIDDEN uintptr_t mt_site_mask;

static unsigned type_of(uintptr_t pc) {
  mt_tcache_t *tc = mt_tls_own;
  pc &= mt_site_mask;
  if (tc)
    return mt_tcache_site(tc, pc);
  unsigned type = mt_site_intern(pc);
  return mt_site_deep || mt_site_is_wrapper(type) ? mt_site_resolve(pc) : type;
}

/* real: the bytes handed out for the `bytes` asked (waste accounting). */
static inline __attribute__((always_inline)) void count_alloc(unsigned type, unsigned cls,
                                                              uint64_t bytes, uint64_t real) {
  mt_tcache_t *tc = mt_tls_own;
  if (tc == NULL) {
    mt_tcache_count_nocache(true, type, cls, bytes, real);
  } else {
    mt_tcache_count_alloc(tc, type, cls, bytes, real);
    if (cls != MT_CLASS_BIT_POOL) /* the program's own pools are not malloc requests */
      mt_sizeprof_add(&tc->prof, bytes, real);
  }
}

static uint64_t page_round(uint64_t n) {
  return (n + MT_PAGE_SIZE - 1) & ~(uint64_t)(MT_PAGE_SIZE - 1);
}

static inline __attribute__((always_inline)) void count_free(unsigned type, uint64_t bytes) {
  mt_tcache_t *tc = mt_tls_own;
  if (tc == NULL)
    mt_tcache_count_nocache(false, type, 0, bytes, 0);
  else
    mt_tcache_count_free(tc, type, bytes);
}

static mt_tcache_t *get_cache(void) {
  mt_tcache_t *tc = mt_tls_own;
  if (MT_LIKELY(tc != NULL))
    return tc;
  mt_init();
  return mt_tcache_attach();
}

/* Every allocation that fails for want of memory ends here. */
static MT_NOINLINE MT_COLD void *out_of_memory(void) {
  mt_dbg_no_memory();
  errno = ENOMEM;
  return NULL;
}

/* ---- bad parameters (bad-param) ------------------------------------------
 * A size no object can have (above PTRDIFF_MAX: a negative number passed as
 * a size), calloc's or reallocarray's product overflowing size_t, an
 * alignment that is not a power of two: the call fails as glibc's does (NULL
 * and ENOMEM, or EINVAL) and memtype says where, in every mode, once per
 * calling instruction. The program goes on whatever MEMTYPE_ON_ERROR says:
 * it may handle the failure (a parser refusing a hostile count). A size up
 * to PTRDIFF_MAX that cannot be had is plain out of memory, not reported. */
#define BAD_PARAM_SEEN 64u
static uintptr_t bad_param_seen[BAD_PARAM_SEEN];

static bool bad_param_seen_before(uintptr_t pc) {
  for (unsigned i = 0; i < BAD_PARAM_SEEN; i++) {
    uintptr_t old = __atomic_load_n(&bad_param_seen[i], __ATOMIC_RELAXED);
    if (old == pc)
      return true;
    if (old == 0) {
      if (__atomic_compare_exchange_n(&bad_param_seen[i], &old, pc, false, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED))
        return false;
      if (old == pc)
        return true;
    }
  }
  return false; /* the table is full: report */
}

static MT_NOINLINE MT_COLD void bad_param(uintptr_t pc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static MT_NOINLINE MT_COLD void bad_param(uintptr_t pc, const char *fmt, ...) {
  if (bad_param_seen_before(pc))
    return;
  int saved = errno;
  char detail[256];
  va_list ap;
  va_start(ap, fmt);
  mt_vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = MT_ERR_BAD_PARAM;
  e.addr = pc;
  e.type = -1;
  e.detail = detail;
  e.go_on = true;
  mt_report(&e);
  errno = saved;
}

/* A size above PTRDIFF_MAX, as the caller wrote it when it is negative. */
static MT_NOINLINE MT_COLD void bad_size(uintptr_t pc, const char *call, size_t n) {
  bad_param(pc, "%s of %zu bytes (%ld as a signed number): more than any object can hold "
            "(PTRDIFF_MAX); the call fails (ENOMEM)", call, n, (long)n);
}

static MT_NOINLINE MT_COLD void bad_product(uintptr_t pc, const char *call, size_t count,
                                            size_t size) {
  bad_param(pc, "%s(%zu, %zu): the product overflows size_t; the call fails (ENOMEM) rather "
            "than return a short block", call, count, size);
}

static size_t pages_for(size_t n) {
  size_t k = (n + MT_PAGE_SIZE - 1) >> MT_PAGE_SHIFT;
  return k ? k : 1;
}

/* Reports a pointer that is not a live block's start. */
static void report_bad_pointer(mt_error_kind_t bad, mt_error_kind_t freed, uintptr_t a,
                               const mt_block_t *b, bool is_start) {
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.addr = a;
  e.type = -1;
  if (is_start) {
    e.kind = freed;
    e.block = b->start;
    e.size = mt_block_is_gone(b) ? 0 : mt_block_size(b);
    e.type = mt_block_is_gone(b) ? -1 : b->meta->f.type;
    e.free_pc = b->free_pc ? *b->free_pc : 0;
    if (b->stk && !mt_block_is_gone(b)) {
      e.alloc_stack = mt_stk_alloc(*b->stk);
      e.free_stack = mt_stk_free(*b->stk);
    }
    e.detail = "the block was already freed";
  } else if (b->kind != MT_BLOCK_NONE) {
    bool live = b->meta->f.state == MT_STATE_LIVE;
    e.kind = bad;
    e.block = b->start;
    e.size = live ? mt_block_size(b) : 0;
    e.type = live ? b->meta->f.type : -1;
    e.alloc_stack = live && b->stk ? mt_stk_alloc(*b->stk) : 0;
    e.detail = live ? "the pointer is inside a block, not at its start"
                    : "the pointer is inside a free block";
  } else {
    e.kind = bad;
    e.detail = "the pointer was not returned by malloc or new (a stack, global or wild pointer)";
  }
  mt_report(&e);
}

/* ---- slow paths: allocation ------------------------------------------------- */

/* The bytes of storage a block of n bytes takes: with redzones (hooks.h)
 * its front redzone (*front, a multiple of align), n, and its back redzone;
 * else n and *front = 0. */
static inline size_t storage_for(size_t n, size_t align, size_t *front) {
  *front = 0;
  if (MT_LIKELY(mt_hook_slack == 0) || n > SIZE_MAX / 4)
    return n;
  size_t back;
  mt_hook_redzones(n, align > MT_MIN_ALIGN ? align : MT_MIN_ALIGN, front, &back);
  return *front + n + back;
}

/* The class for n bytes and its redzones (*front before the block; the
 * slot holds the back one): MT_NCLASSES when that is no slab size. */
static inline __attribute__((always_inline)) unsigned class_for(size_t n, size_t align,
                                                                size_t *front) {
  size_t need = storage_for(n, align, front);
  if (need > MT_SMALL_MAX)
    return MT_NCLASSES;
  return align > MT_MIN_ALIGN ? mt_size_class_aligned(need, align) : mt_size_class(need);
}

/* A slot of class c for n bytes, the block `front` bytes into it. */
static inline __attribute__((always_inline)) void *alloc_small(unsigned c, size_t n,
                                                               size_t front, unsigned family,
                                                               unsigned type) {
  mt_tcache_t *tc = get_cache();
  if (MT_LIKELY(tc != NULL)) {
    mt_bin_t *b = &tc->bins[c];
    if (b->n == 0 && !mt_tcache_refill(tc, c))
      return out_of_memory();
    unsigned i = --b->n;
    void *p = b->items[i];
    mt_meta_t *m = b->metas[i];
    if (MT_UNLIKELY(mt_hook_slots)) /* (its stack's unwinding may re-enter malloc: the bin changes) */
      mt_dbg_slot_ctor(p, m, c, n, front, type);
    m->word = mt_meta_pack((uint32_t)n, (uint16_t)type, MT_STATE_LIVE, (uint8_t)family);
    count_alloc(type, c, n, mt_classes[c].size);
    return (char *)p + front;
  }
  /* An exiting thread: one slot straight from the zone. */
  void *p;
  mt_meta_t *m;
  if (mt_zone_take(c, &p, &m, 1) == 0)
    return out_of_memory();
  if (MT_UNLIKELY(mt_hook_slots))
    mt_dbg_slot_ctor(p, m, c, n, front, type);
  m->word = mt_meta_pack((uint32_t)n, (uint16_t)type, MT_STATE_LIVE, (uint8_t)family);
  count_alloc(type, c, n, mt_classes[c].size);
  return (char *)p + front;
}

static void *alloc_medium(size_t n, size_t align_pages, unsigned family, bool zero,
                          unsigned type) {
  bool dirty;
  size_t front;
  size_t np = pages_for(storage_for(n, align_pages << MT_PAGE_SHIFT, &front));
  mt_slab_t *run = mt_page_alloc_run(np, align_pages ? align_pages : 1, &dirty);
  if (run == NULL)
    return out_of_memory();
  run->start = mt_run_addr(run) + front;
  uint8_t state = mt_hook_slots ? MT_STATE_BUSY : MT_STATE_LIVE;
  run->run_meta.word = mt_meta_pack((uint32_t)n, (uint16_t)type, state, (uint8_t)family);
  run->free_pc = 0;
  run->stk = 0;
  if (MT_UNLIKELY(mt_hook_stacks))
    mt_dbg_stack_ctor(&run->stk, type);
  __atomic_store_n(&run->kind, MT_RUN_MEDIUM, __ATOMIC_RELEASE);
  if (zero && dirty)
    memset((void *)run->start, 0, n);
  if (MT_UNLIKELY(mt_hook_slots))
    mt_dbg_large_ctor(run->start);
  count_alloc(type, MT_CLASS_BIT_MEDIUM, n, (uint64_t)np << MT_PAGE_SHIFT);
  return (void *)run->start;
}

static void *alloc_huge(size_t n, size_t align, unsigned family, bool zero, unsigned type) {
  mt_huge_t *h;
  bool dirty;
  size_t front;
  void *p = mt_huge_alloc(storage_for(n, align, &front), align, &dirty, &h);
  if (p == NULL)
    return out_of_memory();
  if (zero && dirty)
    mt_os_purge(p, h->usable & ~(MT_PAGE_SIZE - 1)); /* reads as zero, faulted in on use */
  p = (char *)p + front; /* its front redzone first (a multiple of align) */
  h->user += front;
  h->usable -= front;
  h->front = front;
  h->meta.word = mt_meta_pack(n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, (uint16_t)type,
                              mt_hook_slots ? MT_STATE_BUSY : MT_STATE_LIVE, (uint8_t)family);
  h->big_size = n;
  h->free_pc = 0;
  h->stk = 0;
  if (MT_UNLIKELY(mt_hook_stacks))
    mt_dbg_stack_ctor(&h->stk, type);
  if (MT_UNLIKELY(mt_hook_slots))
    mt_dbg_large_ctor((uintptr_t)p);
  count_alloc(type, MT_CLASS_BIT_HUGE, n, page_round(n));
  return p;
}

/* A slow-path event (a large block come or gone): the thread's view of the
 * others for the peak (tcache.h), and the timeline's clock. */
static void slow_event(void) { mt_tcache_slow_tick(mt_tls_own); }

static void *alloc_large(size_t n, unsigned family, bool zero, unsigned type) {
  void *p = n <= MT_MEDIUM_MAX ? alloc_medium(n, 1, family, zero, type)
                               : alloc_huge(n, 0, family, zero, type);
  slow_event();
  return p;
}

/* Any size, a known type; zeroed when asked. No failure injection. */
static void *alloc_any(size_t n, unsigned family, bool zero, unsigned type) {
  size_t front = 0;
  unsigned c = n > MT_SMALL_MAX ? MT_NCLASSES : class_for(n, 0, &front);
  if (c == MT_NCLASSES)
    return alloc_large(n, family, zero, type);
  void *p = alloc_small(c, n, front, family, type);
  if (p && zero)
    memset(p, 0, n);
  return p;
}

/* A new request of a known type: the prelude first (hooks.h). */
static inline __attribute__((always_inline)) void *alloc_typed(size_t n, unsigned family,
                                                               bool zero, unsigned type) {
  mt_init();
  if (MT_UNLIKELY(mt_hook_alloc)) {
    bool taken;
    void *p = mt_dbg_alloc(n, 0, family, zero, type, true, &taken);
    if (taken)
      return p;
  }
  return alloc_any(n, family, zero, type);
}

/* A replacement block (realloc): the prelude may guard it, never fails it. */
static void *alloc_replacement(size_t n, unsigned family, unsigned type) {
  if (MT_UNLIKELY(mt_hook_alloc)) {
    bool taken;
    void *p = mt_dbg_alloc(n, 0, family, false, type, false, &taken);
    if (taken)
      return p;
  }
  return alloc_any(n, family, false, type);
}

/* The caller's frame for the block stacks (unwind.h, mt_unwind_entry):
 * mt_malloc_slow and mt_free_slow are entered through a few instructions
 * that add the stack pointer and rbp they were entered with (sp: the
 * caller's stack pointer after the return, if the entry point jumped to
 * them). It is the caller's frame when the word below sp is pc, the
 * caller's return address: a jump from the entry point leaves the stack,
 * and every callee-saved register, as the caller's call made them; a call
 * (operator new's, which must test the result) leaves a return address of
 * memtype's own there. Set and cleared behind the signal gate (no handler
 * runs in between: the handlers kept run after it is cleared, so one that
 * jumps out leaves nothing behind), and cleared, not restored: a slow path
 * nested in another (one the unwinder's libc calls make) leaves the outer
 * one without it, whose captures then walk from where they are, as all
 * captures did before. */
static inline void entry_set(uintptr_t pc, uintptr_t sp, uintptr_t bp) {
  mt_unwind_at_t *e = &mt_unwind_entry;
  e->sp = sp;
  e->bp = bp;
  e->ip = sp != 0 && *(const uintptr_t *)(sp - sizeof(uintptr_t)) == pc ? pc : 0;
}

/* All of it: the caller's rbp may be a pointer to a block, and memtype's
 * thread-local memory is among the leak scan's roots. */
static inline void entry_clear(void) {
  mt_unwind_at_t *e = &mt_unwind_entry;
  e->ip = 0;
  e->sp = 0;
  e->bp = 0;
}

/* The slow paths run behind the signal gate (siggate.h), as if they held a
 * lock: their thread cache, quarantine batch and counters are not made for a
 * handler that allocates in the middle of them. The handlers kept run on the
 * way out. */
void *mt_malloc_slow_at(size_t n, unsigned family, uintptr_t pc, int arg, uintptr_t sp,
                        uintptr_t bp) {
  (void)arg;
  mt_init();
  if (MT_UNLIKELY(n > PTRDIFF_MAX))
    bad_size(pc, family == MT_FAM_MALLOC ? "malloc" : family == MT_FAM_NEW ? "operator new"
                                                                            : "operator new[]",
             n);
  mt_locks_enter();
  entry_set(pc, sp, bp);
  void *p = alloc_typed(n, family, false, type_of(pc));
  entry_clear();
  mt_locks_leave();
  return p;
}

void *mt_malloc_type(size_t n, unsigned type, bool zero) {
  mt_locks_enter();
  void *p = alloc_typed(n, MT_FAM_MALLOC, zero, type);
  mt_locks_leave();
  return p;
}

/* ---- slow paths: free ----------------------------------------------------- */

/* Gives a block's storage back; `state` is what its metadata says after
 * (FREE, or TRASHED when its bytes are the trash pattern). No counting. */
static void give_back(const mt_block_t *b, void *p, uint8_t state) {
  switch (b->kind) {
  case MT_BLOCK_SLOT: {
    b->meta->f.state = state;
    mt_tcache_t *tc = get_cache();
    unsigned c = b->run->cls;
    p = (void *)b->base; /* the slot, its front redzone included */
    if (tc == NULL) {
      mt_zone_give(c, &p, 1);
      return;
    }
    mt_bin_t *bin = &tc->bins[c];
    if (bin->n == bin->cap)
      mt_tcache_flush(tc, c, bin->batch);
    bin->items[bin->n] = p;
    bin->metas[bin->n] = b->meta;
    bin->n++;
    return;
  }
  case MT_BLOCK_RUN:
    b->meta->f.state = MT_STATE_FREE;
    __atomic_store_n(&b->run->kind, MT_RUN_NONE, __ATOMIC_RELEASE);
    mt_page_free_run(b->run);
    slow_event();
    return;
  case MT_BLOCK_HUGE:
    mt_huge_free(b->huge);
    slow_event();
    return;
  case MT_BLOCK_GUARD:
  case MT_BLOCK_NONE:
  case MT_BLOCK_KINDS:
    break;
  }
}

/* Frees a live block: counted, then the prelude (which may keep it:
 * memguard's, or checks on), else given back at once. */
static inline __attribute__((always_inline)) void release(const mt_block_t *b, void *p,
                                                          uintptr_t pc) {
  count_free(b->meta->f.type, mt_block_size(b));
  if (MT_UNLIKELY(mt_hook_on) && mt_dbg_free(b, p, pc))
    return;
  give_back(b, p, MT_STATE_FREE);
}

/* Is family f (of a free, delete or delete[]) the block's own, and n (a
 * sized delete; SIZE_MAX when none) its size? If not, a report. */
static MT_NOINLINE MT_COLD void family_mismatch(const mt_block_t *b, uintptr_t a,
                                                unsigned family, size_t n);

static inline void check_family(const mt_block_t *b, uintptr_t a, unsigned family, size_t n) {
  if (MT_LIKELY(b->meta->f.family == family && (n == SIZE_MAX || n == mt_block_size(b))))
    return;
  family_mismatch(b, a, family, n);
}

static MT_NOINLINE MT_COLD void family_mismatch(const mt_block_t *b, uintptr_t a,
                                                unsigned family, size_t n) {
  unsigned own = b->meta->f.family;
  if (own == family && (n == SIZE_MAX || n == mt_block_size(b)))
    return;
  /* From malloc, but called by an operator new not ours (rebind.h). */
  if (own == MT_FAM_MALLOC && family != MT_FAM_MALLOC &&
      mt_rebind_is_foreign_new(mt_site_pc(b->meta->f.type)))
    return;
  char detail[192];
  if (mt_fam(own) != mt_fam(family)) {
    mt_snprintf(detail, sizeof(detail), "a block from %s released with %s (it takes %s)",
                mt_family_names[mt_fam(own)], mt_family_free_names[mt_fam(family)],
                mt_family_free_names[mt_fam(own)]);
  } else if (mt_fam_align(own) != mt_fam_align(family)) {
    /* an aligned new's block with another alignment, or with a default
     * one's delete (C++17: the delete must be given the new's alignment) */
    char was[40], now[40];
    mt_snprintf(was, sizeof(was), mt_fam_align(own) ? "aligned to %zu" : "default-aligned",
                mt_fam_align(own));
    mt_snprintf(now, sizeof(now), mt_fam_align(family) ? "aligned to %zu" : "default-aligned",
                mt_fam_align(family));
    mt_snprintf(detail, sizeof(detail), "a block from %s (%s) released with %s (%s)",
                mt_family_names[mt_fam(own)], was, mt_family_free_names[mt_fam(family)], now);
  } else
    mt_snprintf(detail, sizeof(detail), "sized %s of %zu bytes; the block has %zu",
                mt_family_free_names[family], n, mt_block_size(b));
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = MT_ERR_MISMATCHED_FREE;
  e.addr = a;
  e.block = b->start;
  e.size = mt_block_size(b);
  e.type = b->meta->f.type;
  e.alloc_stack = b->stk ? mt_stk_alloc(*b->stk) : 0;
  e.detail = detail;
  mt_report(&e);
}

/* A pointer in no block of ours that glibc's malloc made (a library that
 * looked glibc's malloc up itself, dlsym(RTLD_NEXT) after libc or through
 * libc's handle; memory from before memtype took over): it goes back to
 * glibc, with one warning naming the caller's module. */
static bool foreign(uintptr_t a, const mt_block_t *b, uintptr_t pc, const char *what) {
  if (b->kind != MT_BLOCK_NONE || !mt_os_is_libc_block(a))
    return false;
  static int warned;
  if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED)) {
    char where[512];
    mt_report_pc(where, sizeof(where), pc);
    mt_warn("%s(%p) of a block from glibc's own malloc, called from %s: passed to glibc "
            "(a library that looked glibc's malloc up itself, or memory from before memtype "
            "started; not counted, not checked; said once)", what, (void *)a, where);
  }
  return true;
}

static void free_slow(void *p, unsigned family, size_t n, uintptr_t pc) {
  if (p == NULL)
    return;
  mt_block_t b;
  uintptr_t a = (uintptr_t)p;
  bool is_start = mt_block_lookup(a, &b);
  if (MT_UNLIKELY(!is_start && foreign(a, &b, pc, mt_family_free_names[mt_fam(family)]))) {
    mt_os_libc_free(p);
    return;
  }
  if (MT_UNLIKELY(!is_start || b.meta->f.state != MT_STATE_LIVE)) {
    report_bad_pointer(MT_ERR_INVALID_FREE, MT_ERR_DOUBLE_FREE, a, &b, is_start);
    return;
  }
  check_family(&b, a, family, n);
  release(&b, p, pc);
}

void mt_free_slow_at(void *p, unsigned family, size_t n, uintptr_t pc, uintptr_t sp,
                     uintptr_t bp) {
  mt_locks_enter();
  entry_set(pc, sp, bp);
  free_slow(p, family, n, pc);
  entry_clear();
  mt_locks_leave();
}

/* The entries (alloc_inline.h). */
#if defined(__x86_64__)
MT_SLOW_ENTRY(mt_malloc_slow, mt_malloc_slow_at);
MT_SLOW_ENTRY(mt_free_slow, mt_free_slow_at);
#else
void *mt_malloc_slow(size_t n, unsigned family, uintptr_t pc, int arg) {
  return mt_malloc_slow_at(n, family, pc, arg, 0, 0);
}
void mt_free_slow(void *p, unsigned family, size_t n, uintptr_t pc) {
  mt_free_slow_at(p, family, n, pc, 0, 0);
}
#endif

/* ---- public ----------------------------------------------------------------- */

void *mt_malloc_room_out(mt_tcache_t *tc, mt_typestat_t *s, uint64_t n, void *p) {
  mt_tcache_room_out(tc, s, n, true);
  return p;
}

void mt_free_room_out(mt_tcache_t *tc, mt_typestat_t *s, uint64_t n) {
  mt_tcache_room_out(tc, s, n, false);
}

void *mt_malloc(size_t n, unsigned family, uintptr_t pc) {
  return mt_malloc_inline(n, family, pc);
}
void mt_free(void *p, unsigned family, uintptr_t pc) { mt_free_inline(p, family, pc); }

void mt_block_set_family(void *p, unsigned byte) {
  mt_block_t b;
  if (p && mt_block_lookup((uintptr_t)p, &b) && b.meta->f.state == MT_STATE_LIVE)
    __atomic_store_n(&b.meta->f.family, (uint8_t)byte, __ATOMIC_RELAXED);
}

void mt_type_account(unsigned type, size_t n, bool allocated) {
  mt_init();
  if (allocated)
    count_alloc(type, MT_CLASS_BIT_POOL, n, n);
  else
    count_free(type, n);
}

void *mt_calloc(size_t count_, size_t size, uintptr_t pc) {
  size_t n;
  if (__builtin_mul_overflow(count_, size, &n)) {
    bad_product(pc, "calloc", count_, size);
    return out_of_memory();
  }
  if (MT_UNLIKELY(n > PTRDIFF_MAX))
    bad_size(pc, "calloc", n);
  if (n <= MT_SMALL_MAX) {
    void *p = mt_malloc_inline(n, MT_FAM_MALLOC, pc);
    if (p)
      memset(p, 0, n);
    return p;
  }
  mt_init();
  mt_locks_enter();
  void *p = alloc_typed(n, MT_FAM_MALLOC, true, type_of(pc));
  mt_locks_leave();
  return p;
}

/* Resizes b in place when its storage allows; true on success. */
static bool resize_in_place(mt_block_t *b, size_t n) {
  if (b->start != b->base)
    return false; /* redzones: the checks always move a block (mt_dbg_realloc) */
  switch (b->kind) {
  case MT_BLOCK_SLOT:
    return n <= b->usable && (n >= b->usable / 2 || b->usable <= 32);
  case MT_BLOCK_RUN:
    if (n <= MT_SMALL_MAX || n > MT_MEDIUM_MAX)
      return false;
    if (pages_for(n) <= b->run->npages)
      return pages_for(n) * 2 >= b->run->npages;
    return mt_page_try_grow_run(b->run, pages_for(n));
  case MT_BLOCK_HUGE:
  case MT_BLOCK_GUARD:
  case MT_BLOCK_NONE:
  case MT_BLOCK_KINDS:
    break;
  }
  return false;
}

void *mt_realloc(void *p, size_t n, uintptr_t pc) {
  if (p == NULL)
    return mt_malloc_inline(n, MT_FAM_MALLOC, pc);
  return mt_realloc_type(p, n, type_of(pc), pc);
}

static void *realloc_type(void *p, size_t n, unsigned type, uintptr_t pc);

void *mt_realloc_type(void *p, size_t n, unsigned type, uintptr_t pc) {
  mt_locks_enter();
  void *q = realloc_type(p, n, type, pc);
  mt_locks_leave();
  return q;
}

static void *realloc_type(void *p, size_t n, unsigned type, uintptr_t pc) {
  if (MT_UNLIKELY(n > PTRDIFF_MAX))
    bad_size(pc, "realloc", n);
  if (p == NULL)
    return alloc_typed(n, MT_FAM_MALLOC, false, type);
  if (n == 0) {
    mt_free_inline(p, MT_FAM_MALLOC, pc);
    return NULL;
  }
  mt_block_t b;
  uintptr_t a = (uintptr_t)p;
  bool is_start = mt_block_lookup(a, &b);
  if (MT_UNLIKELY(!is_start && foreign(a, &b, pc, "realloc")))
    return mt_os_libc_realloc(p, n);
  if (MT_UNLIKELY(!is_start || b.meta->f.state != MT_STATE_LIVE)) {
    report_bad_pointer(MT_ERR_INVALID_REALLOC, MT_ERR_REALLOC_OF_FREED, a, &b, is_start);
    errno = ENOMEM;
    return NULL;
  }
  check_family(&b, a, MT_FAM_MALLOC, SIZE_MAX);
  if (MT_UNLIKELY(mt_hook_on)) {
    bool taken;
    void *q = mt_dbg_realloc(&b, p, n, type, pc, &taken);
    if (taken)
      return q;
  }
  unsigned family = mt_fam(b.meta->f.family);
  size_t old = mt_block_size(&b);
  /* A resized block takes the type of the realloc call site. */
  unsigned old_type = b.meta->f.type;
  if (resize_in_place(&b, n)) {
    b.meta->f.size = (uint32_t)n;
    b.meta->f.type = (uint16_t)type;
    count_free(old_type, old);
    count_alloc(type, b.kind == MT_BLOCK_SLOT ? b.run->cls : MT_CLASS_BIT_MEDIUM, n,
                b.kind == MT_BLOCK_SLOT ? b.usable : (uint64_t)b.run->npages << MT_PAGE_SHIFT);
    return p;
  }
  if (b.kind == MT_BLOCK_HUGE && n > MT_MEDIUM_MAX) {
    void *q = mt_huge_resize(b.huge, n);
    if (q == NULL)
      return out_of_memory();
    mt_huge_t *h = mt_huge_of((uintptr_t)q);
    h->meta.f.size = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    h->meta.f.type = (uint16_t)type;
    count_free(old_type, old);
    count_alloc(type, MT_CLASS_BIT_HUGE, n, page_round(n));
    return q;
  }
  void *q = alloc_replacement(n, family, type);
  if (q == NULL)
    return NULL;
  memcpy(q, p, n < b.usable ? n : b.usable);
  release(&b, p, pc);
  return q;
}

void *mt_reallocarray(void *p, size_t count_, size_t size, uintptr_t pc) {
  size_t n;
  if (__builtin_mul_overflow(count_, size, &n)) {
    bad_product(pc, "reallocarray", count_, size);
    return out_of_memory();
  }
  return mt_realloc(p, n, pc);
}

static void *memalign_slow(size_t align, size_t n, unsigned family, uintptr_t pc);
static void *alloc_aligned(size_t n, size_t align, unsigned family, unsigned type);

void *mt_memalign(size_t align, size_t n, unsigned family, uintptr_t pc) {
  /* Every heap block is 16-aligned, but the prelude's may not be (a guarded
   * block ends flush with its guard page): with it on, the alignment goes
   * to it. */
  if (align <= MT_MIN_ALIGN && !(align & (align - 1)) && !mt_hook_on)
    return mt_malloc_inline(n, family, pc);
  mt_locks_enter();
  void *p = memalign_slow(align, n, family, pc);
  mt_locks_leave();
  return p;
}

static void *memalign_slow(size_t align, size_t n, unsigned family, uintptr_t pc) {
  if (MT_UNLIKELY(n > PTRDIFF_MAX))
    bad_size(pc, "an aligned allocation (memalign, aligned_alloc, valloc, pvalloc, aligned new)",
             n);
  if (align & (align - 1)) {
    bad_param(pc, "an alignment of %zu, not a power of two (memalign, aligned_alloc or aligned "
              "new): glibc's memalign rounds it up, aligned_alloc fails from glibc 2.38 on",
              align);
    /* glibc rounds a non-power-of-two alignment up. */
    if (align > ((size_t)1 << 62)) {
      errno = EINVAL;
      return NULL;
    }
    align = (size_t)1 << (64 - __builtin_clzl(align));
  }
  mt_init();
  unsigned type = type_of(pc);
  if (MT_UNLIKELY(mt_hook_alloc)) {
    bool taken;
    void *p = mt_dbg_alloc(n, align, family, false, type, true, &taken);
    if (taken)
      return p;
  }
  if (align <= MT_MIN_ALIGN)
    return alloc_any(n, family, false, type);
  return alloc_aligned(n, align, family, type);
}

static void *alloc_aligned(size_t n, size_t align, unsigned family, unsigned type) {
  size_t front;
  unsigned c = class_for(n, align, &front);
  if (c < MT_NCLASSES)
    return alloc_small(c, n, front, family, type);
  if (n <= MT_MEDIUM_MAX && align <= MT_SEG_SIZE / 8)
    return alloc_medium(n, align >> MT_PAGE_SHIFT, family, false, type);
  return alloc_huge(n, align, family, false, type);
}

int mt_posix_memalign(void **out, size_t align, size_t n, uintptr_t pc) {
  if (align < sizeof(void *) || (align & (align - 1)) || align % sizeof(void *)) {
    bad_param(pc, "posix_memalign's alignment %zu is not a power of two multiple of "
              "sizeof(void *); the call fails (EINVAL)", align);
    return EINVAL;
  }
  int saved = errno;
  void *p = mt_memalign(align, n, MT_FAM_MALLOC, pc);
  if (p == NULL) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}

size_t mt_usable_size(const void *p, uintptr_t pc) {
  mt_block_t b;
  if (p == NULL)
    return 0;
  bool is_start = mt_block_lookup((uintptr_t)p, &b);
  if (!is_start && foreign((uintptr_t)p, &b, pc, "malloc_usable_size"))
    return mt_os_libc_usable((void *)p);
  if (!is_start || b.meta->f.state != MT_STATE_LIVE) {
    report_bad_pointer(MT_ERR_INVALID_USABLE, MT_ERR_USABLE_OF_FREED, (uintptr_t)p, &b, is_start);
    return 0;
  }
  /* With redzones the slack is not the program's to use. */
  return mt_hook_slack ? mt_block_size(&b) : b.usable;
}

/* ---- services to the layers above (heap.h) ------------------------------- */

void *mt_heap_alloc(size_t n, size_t align, unsigned family, bool zero, unsigned type) {
  if (align <= MT_MIN_ALIGN)
    return alloc_any(n, family, zero, type);
  void *p = alloc_aligned(n, align, family, type);
  if (p && zero)
    memset(p, 0, n);
  return p;
}

void mt_heap_give_back(const mt_block_t *b, void *p, uint8_t state) { give_back(b, p, state); }
void mt_heap_release(const mt_block_t *b, void *p, uintptr_t pc) { release(b, p, pc); }
void mt_heap_count_alloc(unsigned type, unsigned cls, uint64_t bytes, uint64_t real) {
  count_alloc(type, cls, bytes, real);
}
void mt_heap_count_free(unsigned type, uint64_t bytes) { count_free(type, bytes); }

bool mt_owns(const void *p) {
  mt_block_t b;
  mt_block_lookup((uintptr_t)p, &b);
  return b.kind != MT_BLOCK_NONE && !mt_block_is_gone(&b);
}

