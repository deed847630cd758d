/* alloc.c - the allocator's slow paths and public core API (see alloc.h):
 * bootstrap, cache refill and flush, medium runs and huge blocks, realloc,
 * aligned allocation, validation of every pointer handed back to us.
 * The fast paths are in alloc_inline.h. Locks are taken only in zone.c,
 * page.c and tcache.c. */
#define _GNU_SOURCE
#include "alloc.h"

#include <errno.h>
#include <string.h>

#include "alloc_inline.h"
#include "arena.h"
#include "depot.h"
#include "heapcheck.h"
#include "leak.h"
#include "life.h"
#include "memguard.h"
#include "siggate.h"
#include "modules.h"
#include "options.h"
#include "os.h"
#include "rebind.h"
#include "report.h"
#include "dump.h"
#include "fail.h"
#include "live.h"
#include "site.h"
#include "stats.h"
#include "symtab.h"

const char *const mt_family_names[MT_FAM_COUNT] = {"malloc", "new", "new[]"};
const char *const mt_family_free_names[MT_FAM_COUNT] = {"free", "delete", "delete[]"};

static int init_state; /* 0 none, 1 running, 2 done */
static bool options_from_env;

/* ---- bootstrap ---------------------------------------------------------- */

/* An invalid configuration stops the program at start, saying why. */
static void stop_on_config_error(const char *err) {
  mt_os_write(2, err, strlen(err));
  mt_os_exit(1);
}

static void quarantine_release(void *p);

static void load_options(void) {
  char err[512];
  char **env = mt_os_environ();
  if (!mt_options_parse(env, mt_os_is_secure(), err, sizeof(err)))
    stop_on_config_error(err);
  options_from_env = env != NULL;
  mt_os_note_progname(); /* the name as it is before main may rewrite argv */
  mt_site_mask = mt_opt.depth ? ~(uintptr_t)0 : 0;
  if (!mt_site_set_rules(mt_opt.types, err, sizeof(err)))
    stop_on_config_error(err);
  mt_site_deep = mt_opt.depth > 1;
  mt_fail_init();
  mt_check_init(quarantine_release);
  mt_guard_init();
  mt_depot_on = mt_opt.stack_depth > 0 && (mt_check_on || mt_guard_on);
  /* The debug gate: with any debug feature on, no thread uses the fast
   * paths (a cache attached before the options were known included). */
  mt_debug_gate = mt_fail_on || mt_check_on || (mt_guard_on && !mt_guard_sampling_only);
  if (mt_debug_gate)
    mt_tls_cache = NULL;
}

static void print_config(void) {
  mt_options_print();
  if (mt_fail_on)
    mt_printf("memtype: failure injection seed %lu (MEMTYPE_FAILURE_SEED=%lu repeats this run)\n",
              (unsigned long)mt_fail_seed(), (unsigned long)mt_fail_seed());
}

void mt_init(void) {
  if (MT_LIKELY(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 2))
    return;
  int expect = 0;
  if (!__atomic_compare_exchange_n(&init_state, &expect, 1, false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
      mt_os_yield();
    return;
  }
  mt_sizeclass_init();
  mt_page_init();
  mt_tcache_init();
  mt_dump_note_start();
  load_options();
  __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
  if (options_from_env && mt_opt.verbose)
    print_config();
}

bool mt_is_initialized(void) { return __atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 2; }

/* The loader may call malloc before libc has set environ: read the options
 * again once constructors run. */
static void dump_before_dying(int sig) {
  mt_dump_write(sig ? MT_DUMP_FATAL : MT_DUMP_EXIT, sig);
  mt_live_fini();
}
static void exit_work(bool by_signal);

void mt_late_init(void) {
  mt_init();
  mt_report_note_stderr();
  mt_modules_sync();
  mt_report_exit_hook = dump_before_dying;
  if (!options_from_env) {
    load_options();
    if (mt_opt.verbose)
      print_config();
  }
  mt_live_start();
  char err[512];
  if (!mt_dump_install_signals(err, sizeof(err)))
    stop_on_config_error(err);
  if (mt_guard_on) {
    if (strcmp(mt_opt.guard_side, "after") && strcmp(mt_opt.guard_side, "before") &&
        strcmp(mt_opt.guard_side, "around")) {
      mt_snprintf(err, sizeof(err), "memtype: error: MEMTYPE_GUARD_SIDE=%s: not a side; "
                  "accepted: after, before, around\n", mt_opt.guard_side);
      stop_on_config_error(err);
    }
  }
  mt_guard_fault_init(); /* every mode: crashes are reported (memguard/fault.c) */
  mt_life_init(exit_work);
}

/* ---- helpers -------------------------------------------------------------- */

MT_HIDDEN uintptr_t mt_site_mask;

/* Size(s) bits beyond the slab classes: page runs and huge blocks. */
#define MT_CLASS_BIT_MEDIUM MT_NCLASSES
#define MT_CLASS_BIT_HUGE (MT_NCLASSES + 1)
#define MT_CLASS_BIT_POOL (MT_NCLASSES + 2) /* reported by memtype_type_allocated() */
_Static_assert(MT_NCLASSES + 3 <= 128, "class bits fit the Size(s) bitmap");

static unsigned type_of(uintptr_t pc) {
  mt_tcache_t *tc = mt_tls_own;
  pc &= mt_site_mask;
  if (tc)
    return mt_tcache_site(tc, pc);
  unsigned type = mt_site_intern(pc);
  return mt_site_deep || mt_site_is_wrapper(type) ? mt_site_resolve(pc) : type;
}

/* real: the bytes handed out for the `bytes` asked (waste accounting). */
static void count_alloc(unsigned type, unsigned cls, uint64_t bytes, uint64_t real) {
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

static void count_free(unsigned type, uint64_t bytes) {
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
  mt_fail_note_real();
  errno = ENOMEM;
  return NULL;
}

static size_t pages_for(size_t n) {
  size_t k = (n + MT_PAGE_SIZE - 1) >> MT_PAGE_SHIFT;
  return k ? k : 1;
}

/* Where a pointer handed back to us lands. */
typedef enum { BLK_NONE, BLK_SLOT, BLK_MEDIUM, BLK_HUGE, BLK_GUARD } blk_where_t;

typedef struct block_s {
  blk_where_t where;
  uintptr_t start;  /* block start (the pointer when it is valid) */
  size_t usable;    /* bytes the block may hold */
  mt_slab_t *run;   /* slab or medium run */
  mt_huge_t *huge;
  mt_guard_blk_t *guard;
  mt_meta_t *meta;  /* never NULL once where != BLK_NONE */
  uintptr_t *free_pc; /* where its free site is kept (checks on), or NULL */
  uint64_t *stk;      /* its stack depot ids (checks on), or NULL */
} block_t;

static mt_meta_t freed_run_meta; /* stands for a medium block already freed */

/* Finds the block holding address a. Returns true only when a is the start
 * of a block (live or free); b->where says whether a is inside one at all. */
static bool block_lookup(uintptr_t a, block_t *b) {
  memset(b, 0, sizeof(*b));
  uint8_t map = mt_segmap_lookup(a);
  if (map == MT_MAP_SEGMENT) {
    mt_slab_t *run = mt_run_of(a);
    if (run == NULL)
      return false;
    uint8_t kind = __atomic_load_n(&run->kind, __ATOMIC_ACQUIRE);
    if (kind == MT_RUN_SLAB) {
      uint32_t idx = mt_slab_index(run, a);
      if (idx >= run->nslots)
        return false;
      b->where = BLK_SLOT;
      b->run = run;
      b->start = run->start + (uintptr_t)idx * run->slot_size;
      b->usable = run->slot_size;
      b->meta = &run->meta[idx];
      b->free_pc = run->free_pcs ? &run->free_pcs[idx] : NULL;
      b->stk = run->stks ? &run->stks[idx] : NULL;
      return b->start == a;
    }
    if (kind == MT_RUN_MEDIUM) {
      b->where = BLK_MEDIUM;
      b->run = run;
      b->start = run->start;
      b->usable = (size_t)run->npages << MT_PAGE_SHIFT;
      b->meta = &run->run_meta;
      b->free_pc = &run->free_pc;
      b->stk = &run->stk;
      return b->start == a;
    }
    if (kind == MT_RUN_FREE && a == mt_run_addr(run)) {
      b->where = BLK_MEDIUM;
      b->start = a;
      b->meta = &freed_run_meta;
      return true;
    }
    return false;
  }
  if (map == MT_MAP_GUARD) {
    mt_guard_blk_t *g = mt_guard_lookup(a);
    if (g == NULL)
      return false;
    b->where = BLK_GUARD;
    b->guard = g;
    b->start = g->user;
    b->usable = g->meta.f.size;
    b->meta = &g->meta;
    b->free_pc = &g->free_pc;
    b->stk = &g->stk;
    return a == g->user;
  }
  if (map == MT_MAP_HUGE || map == MT_MAP_HUGE_TAIL) {
    mt_huge_t *h = mt_huge_of(a);
    if (h == NULL)
      return false;
    b->where = BLK_HUGE;
    b->huge = h;
    b->start = h->user;
    b->usable = h->usable;
    b->meta = &h->meta;
    b->free_pc = &h->free_pc;
    b->stk = &h->stk;
    return a == h->user;
  }
  return false;
}

static size_t requested_size(const block_t *b) {
  return b->where == BLK_HUGE ? b->huge->big_size : b->meta->f.size;
}

/* Reports a pointer that is not a live block's start. */
static void report_bad_pointer(mt_error_kind_t bad, mt_error_kind_t freed, uintptr_t a,
                               const block_t *b, bool is_start) {
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.addr = a;
  e.type = -1;
  if (is_start) {
    e.kind = freed;
    e.block = b->start;
    e.size = b->meta == &freed_run_meta ? 0 : requested_size(b);
    e.type = b->meta == &freed_run_meta ? -1 : b->meta->f.type;
    e.free_pc = b->free_pc ? *b->free_pc : 0;
    if (b->stk && b->meta != &freed_run_meta) {
      e.alloc_stack = mt_stk_alloc(*b->stk);
      e.free_stack = mt_stk_free(*b->stk);
    }
    e.detail = "the block was already freed";
  } else if (b->where != BLK_NONE) {
    bool live = b->meta->f.state == MT_STATE_LIVE;
    e.kind = bad;
    e.block = b->start;
    e.size = live ? requested_size(b) : 0;
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

/* The checks' view of a block. */
static mt_blk_t blk_of(const block_t *b) {
  mt_blk_t k = {b->start, requested_size(b), b->usable, b->meta, b->free_pc, NULL, b->stk};
  if (b->where == BLK_HUGE && k.usable > k.size + MT_REDZONE_MAX)
    k.usable = k.size + MT_REDZONE_MAX; /* huge blocks: a bounded tail */
  return k;
}

/* ---- slow paths: allocation ------------------------------------------------- */

static const char *neighbours(const mt_slab_t *run, uintptr_t start, char *buf, size_t len);

/* A slot about to be handed out (checks on): BUSY while its trash is
 * verified and its redzone laid (the whole-heap check skips it), then the
 * caller makes it LIVE. */
static void check_fresh_slot(void *p, mt_meta_t *m, unsigned c, size_t n, unsigned type) {
  mt_slab_t *s = mt_run_of((uintptr_t)p);
  uint32_t idx = mt_slab_index(s, (uintptr_t)p);
  mt_meta_t old = *m; /* the last owner's, for a report */
  __atomic_store_n(&m->f.state, MT_STATE_BUSY, __ATOMIC_RELAXED);
  mt_blk_t k = {(uintptr_t)p, n, mt_classes[c].size, &old, s->free_pcs ? &s->free_pcs[idx] : NULL,
                NULL, s->stks ? &s->stks[idx] : NULL};
  char note[512];
  if (old.f.state == MT_STATE_TRASHED && !mt_check_intact(&k, MT_STATE_TRASHED))
    k.note = neighbours(s, (uintptr_t)p, note, sizeof(note));
  mt_check_alloc(&k); /* may report on the last owner's stacks: they are replaced after */
  if (k.stk)
    *k.stk = mt_depot_on ? mt_depot_capture(mt_site_pc(type)) : 0;
}

/* The class for n bytes: with redzones, one with at least MT_REDZONE_MIN of
 * slack (MT_NCLASSES when that is no slab size). */
static unsigned class_for(size_t n, size_t align) {
  unsigned c = align > MT_MIN_ALIGN ? mt_size_class_aligned(n, align) : mt_size_class(n);
  if (c < MT_NCLASSES && mt_check_needs_more(n, mt_classes[c].size)) {
    if (n + MT_REDZONE_MIN > MT_SMALL_MAX)
      return MT_NCLASSES;
    c = align > MT_MIN_ALIGN ? mt_size_class_aligned(n + MT_REDZONE_MIN, align)
                             : mt_size_class(n + MT_REDZONE_MIN);
  }
  return c;
}

/* A page run or huge block just handed out, BUSY (checks on): its
 * redzone, then LIVE. Its bytes are fresh: no trash to verify. */
static void check_fresh_large(uintptr_t p) {
  block_t b;
  if (block_lookup(p, &b)) {
    mt_blk_t k = blk_of(&b);
    mt_check_lay_redzone(&k);
    __atomic_store_n(&b.meta->f.state, MT_STATE_LIVE, __ATOMIC_RELEASE);
  }
}

static void *alloc_small(unsigned c, size_t n, unsigned family, unsigned type) {
  mt_tcache_t *tc = get_cache();
  if (MT_LIKELY(tc != NULL)) {
    mt_bin_t *b = &tc->bins[c];
    if (b->n == 0 && !mt_tcache_refill(tc, c))
      return out_of_memory();
    unsigned i = --b->n;
    void *p = b->items[i];
    mt_meta_t *m = b->metas[i];
    if (mt_check_on) /* (unwinding for its stack may re-enter malloc and refill the bin) */
      check_fresh_slot(p, m, c, n, type);
    m->word = mt_meta_pack((uint32_t)n, (uint16_t)type, MT_STATE_LIVE, (uint8_t)family);
    count_alloc(type, c, n, mt_classes[c].size);
    return p;
  }
  /* An exiting thread: one slot straight from the zone. */
  void *p;
  mt_meta_t *m;
  if (mt_zone_take(c, &p, &m, 1) == 0)
    return out_of_memory();
  if (mt_check_on)
    check_fresh_slot(p, m, c, n, type);
  m->word = mt_meta_pack((uint32_t)n, (uint16_t)type, MT_STATE_LIVE, (uint8_t)family);
  count_alloc(type, c, n, mt_classes[c].size);
  return p;
}

static void *alloc_medium(size_t n, size_t align_pages, unsigned family, bool zero,
                          unsigned type) {
  bool dirty;
  size_t np = pages_for(n);
  if (mt_check_needs_more(n, np << MT_PAGE_SHIFT))
    np++;
  mt_slab_t *run = mt_page_alloc_run(np, align_pages ? align_pages : 1, &dirty);
  if (run == NULL)
    return out_of_memory();
  run->start = mt_run_addr(run);
  uint8_t state = mt_check_on ? MT_STATE_BUSY : MT_STATE_LIVE;
  run->run_meta.word = mt_meta_pack((uint32_t)n, (uint16_t)type, state, (uint8_t)family);
  run->free_pc = 0;
  run->stk = MT_UNLIKELY(mt_depot_on) ? mt_depot_capture(mt_site_pc(type)) : 0;
  __atomic_store_n(&run->kind, MT_RUN_MEDIUM, __ATOMIC_RELEASE);
  if (zero && dirty)
    memset((void *)run->start, 0, n);
  if (mt_check_on)
    check_fresh_large(run->start);
  count_alloc(type, MT_CLASS_BIT_MEDIUM, n, (uint64_t)np << MT_PAGE_SHIFT);
  return (void *)run->start;
}

static void *alloc_huge(size_t n, size_t align, unsigned family, unsigned type) {
  mt_huge_t *h;
  void *p = mt_huge_alloc(mt_check_redzone && n < SIZE_MAX / 2 ? n + MT_REDZONE_MIN : n, align, &h);
  if (p == NULL)
    return out_of_memory();
  h->meta.word = mt_meta_pack(n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, (uint16_t)type,
                              mt_check_on ? MT_STATE_BUSY : MT_STATE_LIVE, (uint8_t)family);
  h->big_size = n;
  h->free_pc = 0;
  h->stk = MT_UNLIKELY(mt_depot_on) ? mt_depot_capture(mt_site_pc(type)) : 0;
  if (mt_check_on)
    check_fresh_large((uintptr_t)p);
  count_alloc(type, MT_CLASS_BIT_HUGE, n, page_round(n));
  return p;
}

static void *alloc_large(size_t n, unsigned family, bool zero, unsigned type) {
  if (n <= MT_MEDIUM_MAX)
    return alloc_medium(n, 1, family, zero, type);
  return alloc_huge(n, 0, family, type);
}

/* Any size, a known type; zeroed when asked. No failure injection. */
static void *alloc_any(size_t n, unsigned family, bool zero, unsigned type) {
  unsigned c = n > MT_SMALL_MAX ? MT_NCLASSES : class_for(n, 0);
  if (c == MT_NCLASSES)
    return alloc_large(n, family, zero, type);
  void *p = alloc_small(c, n, family, type);
  if (p && zero)
    memset(p, 0, n);
  return p;
}

/* A guarded block when memguard takes this allocation (MEMTYPE_GUARD...),
 * counted; NULL when it does not (alignment 0: malloc's). */
static void *guarded(size_t n, size_t align, unsigned family, unsigned type) {
  void *g = MT_UNLIKELY(mt_guard_on) ? mt_guard_try(n, align, type, family) : NULL;
  if (g)
    count_alloc(type, MT_CLASS_BIT_MEDIUM, n, n); /* guard pages are not rounding waste */
  return g; /* fresh pages: zero */
}

static void *alloc_maybe_guarded(size_t n, size_t align, unsigned family, bool zero,
                                 unsigned type) {
  void *g = guarded(n, align, family, type);
  return g ? g : alloc_any(n, family, zero, type);
}

/* True when this allocation must fail on purpose (MEMTYPE_FAILURE_*):
 * asked before anything changes, so a failure leaves no trace but its count. */
static inline bool inject(size_t n, unsigned type, unsigned family) {
  return MT_UNLIKELY(mt_fail_on) && mt_fail_should(n, type, family);
}

/* The same, failure injection first. */
static void *alloc_typed(size_t n, unsigned family, bool zero, unsigned type) {
  mt_init();
  if (MT_UNLIKELY(mt_opt.check_interval) && mt_check_on) {
    static unsigned long count;
    if (__atomic_add_fetch(&count, 1, __ATOMIC_RELAXED) % (unsigned long)mt_opt.check_interval == 0)
      mt_check_heap();
  }
  if (inject(n, type, family)) {
    errno = ENOMEM;
    return NULL;
  }
  return alloc_maybe_guarded(n, 0, family, zero, type);
}

/* The slow paths run behind the signal gate (siggate.h), as if they held a
 * lock: their thread cache, quarantine batch and counters are not made for a
 * handler that allocates in the middle of them. The handlers kept run on the
 * way out. */
void *mt_malloc_slow(size_t n, unsigned family, uintptr_t pc) {
  mt_init();
  mt_locks_enter();
  void *p = alloc_typed(n, family, false, type_of(pc));
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
static void give_back(const block_t *b, void *p, uint8_t state) {
  switch (b->where) {
  case BLK_SLOT: {
    b->meta->f.state = state;
    mt_tcache_t *tc = get_cache();
    unsigned c = b->run->cls;
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
  case BLK_MEDIUM:
    b->meta->f.state = MT_STATE_FREE;
    __atomic_store_n(&b->run->kind, MT_RUN_NONE, __ATOMIC_RELEASE);
    mt_page_free_run(b->run);
    return;
  case BLK_HUGE:
    mt_huge_free(b->huge);
    return;
  case BLK_GUARD:
  case BLK_NONE:
    break;
  }
}

/* Frees a live block: counted, then (checks on) redzone verified, free
 * site kept, trashed and quarantined; else given back at once. */
static void release(const block_t *b, void *p, uintptr_t pc) {
  count_free(b->meta->f.type, requested_size(b));
  if (b->where == BLK_GUARD) {
    mt_guard_free(b->guard, pc);
    return;
  }
  if (!mt_check_on) {
    give_back(b, p, MT_STATE_FREE);
    return;
  }
  mt_blk_t k = blk_of(b);
  __atomic_store_n(&b->meta->f.state, MT_STATE_BUSY, __ATOMIC_RELAXED);
  mt_check_free(&k, pc);
  __atomic_store_n(&b->meta->f.state, MT_STATE_QUARANTINE, __ATOMIC_RELEASE);
  mt_check_quarantine(p, b->usable);
}

/* A block leaves the quarantine and its storage is reused (heapcheck.c
 * calls this, never under a lock). */
static void quarantine_release(void *p) {
  block_t b;
  if (!block_lookup((uintptr_t)p, &b) || b.meta->f.state != MT_STATE_QUARANTINE)
    return; /* cannot happen: only the quarantine moves a block out of this state */
  /* Slab slots keep their trash until reuse, where it is verified (once:
   * the block is cold here, and about to be touched there); page runs and
   * huge blocks lose theirs now, so they are verified now. */
  if (b.where != BLK_SLOT) {
    mt_blk_t k = blk_of(&b);
    mt_check_trash_ok(&k);
  }
  give_back(&b, p, mt_check_trash ? MT_STATE_TRASHED : MT_STATE_FREE);
}

/* ---- the whole-heap check ------------------------------------------------ */

/* For a corrupt free slot: its live neighbours, since an overflow of the one
 * before or an underflow of the one after would look the same as a write
 * after free. Writes the note into buf; NULL when it has none. */
static const char *neighbours(const mt_slab_t *run, uintptr_t start, char *buf, size_t len) {
  if (run == NULL || run->kind != MT_RUN_SLAB)
    return NULL;
  uint32_t idx = mt_slab_index(run, start);
  size_t pos = 0;
  char type[160];
  if (idx > 0 && run->meta[idx - 1].f.state == MT_STATE_LIVE) {
    mt_report_type_name(run->meta[idx - 1].f.type, type, sizeof(type));
    pos += mt_snprintf(buf + pos, len - pos, "the slot before holds a live %u-byte block of type "
                       "%s (an overflow past its end would land here)",
                       (unsigned)run->meta[idx - 1].f.size, type);
  }
  if (idx + 1 < run->nslots && run->meta[idx + 1].f.state == MT_STATE_LIVE) {
    mt_report_type_name(run->meta[idx + 1].f.type, type, sizeof(type));
    pos += mt_snprintf(buf + pos, len - pos, "%sthe slot after holds a live %u-byte block of "
                       "type %s (an underflow before its start would land here)",
                       pos ? "; " : "", (unsigned)run->meta[idx + 1].f.size, type);
  }
  return pos ? buf : NULL;
}

/* Verifies one block met on the walk; a mismatch is believed only when the
 * block's metadata has not changed meanwhile (its owner was not busy with it). */
static void walk_check(const block_t *b, unsigned long *bad) {
  mt_meta_t before;
  before.word = __atomic_load_n(&b->meta->word, __ATOMIC_ACQUIRE);
  uint8_t st = before.f.state;
  if (st != MT_STATE_LIVE && st != MT_STATE_QUARANTINE && st != MT_STATE_TRASHED)
    return;
  mt_meta_t m = before;
  mt_blk_t k = blk_of(b);
  k.meta = &m; /* the snapshot, not the live metadata */
  if (b->where != BLK_HUGE)
    k.size = before.f.size;
  if (mt_check_intact(&k, st) ||
      __atomic_load_n(&b->meta->word, __ATOMIC_ACQUIRE) != before.word)
    return;
  (*bad)++;
  char note[512];
  if (st == MT_STATE_LIVE) {
    mt_check_redzone_ok(&k);
  } else {
    k.note = b->where == BLK_SLOT ? neighbours(b->run, b->start, note, sizeof(note)) : NULL;
    mt_check_trash_ok(&k);
  }
}

static void walk_run(mt_slab_t *run, void *arg) {
  block_t b;
  memset(&b, 0, sizeof(b));
  b.run = run;
  if (run->kind == MT_RUN_MEDIUM) {
    b.where = BLK_MEDIUM;
    b.start = run->start;
    b.usable = (size_t)run->npages << MT_PAGE_SHIFT;
    b.meta = &run->run_meta;
    b.free_pc = &run->free_pc;
    b.stk = &run->stk;
    walk_check(&b, arg);
    return;
  }
  b.where = BLK_SLOT;
  b.usable = run->slot_size;
  for (uint32_t i = 0; i < run->nslots; i++) {
    b.start = run->start + (uintptr_t)i * run->slot_size;
    b.meta = &run->meta[i];
    b.free_pc = run->free_pcs ? &run->free_pcs[i] : NULL;
    b.stk = run->stks ? &run->stks[i] : NULL;
    walk_check(&b, arg);
  }
}

static void walk_huge(mt_huge_t *h, void *arg) {
  block_t b;
  memset(&b, 0, sizeof(b));
  b.where = BLK_HUGE;
  b.huge = h;
  b.start = h->user;
  b.usable = h->usable;
  b.meta = &h->meta;
  b.free_pc = &h->free_pc;
  b.stk = &h->stk;
  walk_check(&b, arg);
}

unsigned long mt_check_heap(void) {
  unsigned long bad = 0;
  if (mt_is_initialized() && mt_check_on)
    mt_page_walk(walk_run, walk_huge, &bad);
  return bad;
}

/* Is family f (of a free, delete or delete[]) the block's own, and n (a
 * sized delete; SIZE_MAX when none) its size? If not, a report. */
static void check_family(const block_t *b, uintptr_t a, unsigned family, size_t n) {
  unsigned own = b->meta->f.family;
  if (own == family && (n == SIZE_MAX || n == requested_size(b)))
    return;
  /* From malloc, but called by an operator new not ours (rebind.h). */
  if (own == MT_FAM_MALLOC && family != MT_FAM_MALLOC &&
      mt_rebind_is_foreign_new(mt_site_pc(b->meta->f.type)))
    return;
  char detail[192];
  if (own != family)
    mt_snprintf(detail, sizeof(detail), "a block from %s released with %s (it takes %s)",
                mt_family_names[own], mt_family_free_names[family], mt_family_free_names[own]);
  else
    mt_snprintf(detail, sizeof(detail), "sized %s of %zu bytes; the block has %zu",
                mt_family_free_names[family], n, requested_size(b));
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = MT_ERR_MISMATCHED_FREE;
  e.addr = a;
  e.block = b->start;
  e.size = requested_size(b);
  e.type = b->meta->f.type;
  e.alloc_stack = b->stk ? mt_stk_alloc(*b->stk) : 0;
  e.detail = detail;
  mt_report(&e);
}

/* A pointer in no block of ours that glibc's malloc made (a library that
 * looked glibc's malloc up itself, dlsym(RTLD_NEXT) after libc or through
 * libc's handle; memory from before memtype took over): it goes back to
 * glibc, with one warning naming the caller's module. */
static bool foreign(uintptr_t a, const block_t *b, uintptr_t pc, const char *what) {
  if (b->where != BLK_NONE || !mt_os_is_libc_block(a))
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
  block_t b;
  uintptr_t a = (uintptr_t)p;
  bool is_start = block_lookup(a, &b);
  if (MT_UNLIKELY(!is_start && foreign(a, &b, pc, mt_family_free_names[family]))) {
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

void mt_free_slow(void *p, unsigned family, size_t n, uintptr_t pc) {
  mt_locks_enter();
  free_slow(p, family, n, pc);
  mt_locks_leave();
}

/* ---- public ----------------------------------------------------------------- */

void *mt_malloc(size_t n, unsigned family, uintptr_t pc) {
  return mt_malloc_inline(n, family, pc);
}
void mt_free(void *p, unsigned family, uintptr_t pc) { mt_free_inline(p, family, pc); }

void mt_type_account(unsigned type, size_t n, bool allocated) {
  mt_init();
  if (allocated)
    count_alloc(type, MT_CLASS_BIT_POOL, n, n);
  else
    count_free(type, n);
}

void *mt_calloc(size_t count_, size_t size, uintptr_t pc) {
  size_t n;
  if (__builtin_mul_overflow(count_, size, &n))
    return out_of_memory();
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
static bool resize_in_place(block_t *b, size_t n) {
  switch (b->where) {
  case BLK_SLOT:
    return n <= b->usable && (n >= b->usable / 2 || b->usable <= 32);
  case BLK_MEDIUM:
    if (n <= MT_SMALL_MAX || n > MT_MEDIUM_MAX)
      return false;
    if (pages_for(n) <= b->run->npages)
      return pages_for(n) * 2 >= b->run->npages;
    return mt_page_try_grow_run(b->run, pages_for(n));
  case BLK_HUGE:
  case BLK_GUARD:
  case BLK_NONE:
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
  if (p == NULL)
    return alloc_typed(n, MT_FAM_MALLOC, false, type);
  if (n == 0) {
    mt_free_inline(p, MT_FAM_MALLOC, pc);
    return NULL;
  }
  block_t b;
  uintptr_t a = (uintptr_t)p;
  bool is_start = block_lookup(a, &b);
  if (MT_UNLIKELY(!is_start && foreign(a, &b, pc, "realloc")))
    return mt_os_libc_realloc(p, n);
  if (MT_UNLIKELY(!is_start || b.meta->f.state != MT_STATE_LIVE)) {
    report_bad_pointer(MT_ERR_INVALID_REALLOC, MT_ERR_REALLOC_OF_FREED, a, &b, is_start);
    errno = ENOMEM;
    return NULL;
  }
  check_family(&b, a, MT_FAM_MALLOC, SIZE_MAX);
  unsigned family = b.meta->f.family;
  if (inject(n, type, family)) {
    errno = ENOMEM; /* the block stays as it was */
    return NULL;
  }
  size_t old = requested_size(&b);
  if (mt_check_on) {
    /* Checked: always a new block, the old one verified and quarantined,
     * so a use of the old pointer after realloc is caught as well. */
    mt_blk_t k = blk_of(&b);
    if (b.where != BLK_GUARD)
      mt_check_redzone_ok(&k);
    void *q = alloc_maybe_guarded(n, 0, family, false, type);
    if (q == NULL)
      return NULL;
    memcpy(q, p, n < old ? n : old);
    release(&b, p, pc);
    return q;
  }
  /* A resized block takes the type of the realloc call site. */
  unsigned old_type = b.meta->f.type;
  if (resize_in_place(&b, n)) {
    b.meta->f.size = (uint32_t)n;
    b.meta->f.type = (uint16_t)type;
    count_free(old_type, old);
    count_alloc(type, b.where == BLK_SLOT ? b.run->cls : MT_CLASS_BIT_MEDIUM, n,
                b.where == BLK_SLOT ? b.usable : (uint64_t)b.run->npages << MT_PAGE_SHIFT);
    return p;
  }
  if (b.where == BLK_HUGE && n > MT_MEDIUM_MAX) {
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
  void *q = alloc_maybe_guarded(n, 0, family, false, type);
  if (q == NULL)
    return NULL;
  memcpy(q, p, n < b.usable ? n : b.usable);
  release(&b, p, pc);
  return q;
}

void *mt_reallocarray(void *p, size_t count_, size_t size, uintptr_t pc) {
  size_t n;
  if (__builtin_mul_overflow(count_, size, &n))
    return out_of_memory();
  return mt_realloc(p, n, pc);
}

static void *memalign_slow(size_t align, size_t n, unsigned family, uintptr_t pc);

void *mt_memalign(size_t align, size_t n, unsigned family, uintptr_t pc) {
  if (align <= MT_MIN_ALIGN)
    return mt_malloc_inline(n, family, pc);
  mt_locks_enter();
  void *p = memalign_slow(align, n, family, pc);
  mt_locks_leave();
  return p;
}

static void *memalign_slow(size_t align, size_t n, unsigned family, uintptr_t pc) {
  if (align & (align - 1)) {
    /* glibc rounds a non-power-of-two alignment up. */
    if (align > ((size_t)1 << 62)) {
      errno = EINVAL;
      return NULL;
    }
    align = (size_t)1 << (64 - __builtin_clzl(align));
  }
  mt_init();
  unsigned type = type_of(pc);
  if (inject(n, type, family)) {
    errno = ENOMEM;
    return NULL;
  }
  void *g = guarded(n, align, family, type);
  if (g)
    return g;
  unsigned c = class_for(n, align);
  if (c < MT_NCLASSES)
    return alloc_small(c, n, family, type);
  if (n <= MT_MEDIUM_MAX && align <= MT_SEG_SIZE / 8)
    return alloc_medium(n, align >> MT_PAGE_SHIFT, family, false, type);
  return alloc_huge(n, align, family, type);
}

int mt_posix_memalign(void **out, size_t align, size_t n, uintptr_t pc) {
  if (align < sizeof(void *) || (align & (align - 1)) || align % sizeof(void *))
    return EINVAL;
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
  block_t b;
  if (p == NULL)
    return 0;
  bool is_start = block_lookup((uintptr_t)p, &b);
  if (!is_start && foreign((uintptr_t)p, &b, pc, "malloc_usable_size"))
    return mt_os_libc_usable((void *)p);
  if (!is_start || b.meta->f.state != MT_STATE_LIVE) {
    report_bad_pointer(MT_ERR_INVALID_USABLE, MT_ERR_USABLE_OF_FREED, (uintptr_t)p, &b, is_start);
    return 0;
  }
  /* With redzones the slack is not the program's to use. */
  return mt_check_redzone ? requested_size(&b) : b.usable;
}

bool mt_owns(const void *p) {
  uintptr_t a = (uintptr_t)p;
  uint8_t map = mt_segmap_lookup(a);
  if (map == MT_MAP_GUARD)
    return mt_guard_lookup(a) != NULL;
  if (map == MT_MAP_SEGMENT) {
    mt_slab_t *run = mt_run_of(a);
    return run && (run->kind == MT_RUN_SLAB || run->kind == MT_RUN_MEDIUM);
  }
  return mt_huge_of(a) != NULL;
}

bool mt_block_near(uintptr_t a, unsigned max_pages, mt_near_t *out) {
  memset(out, 0, sizeof(*out));
  out->in_heap = mt_segmap_lookup(a) != MT_MAP_NONE;
  for (unsigned d = 0; d <= max_pages; d++) {
    for (int dir = -1; dir <= 1; dir += 2) {
      if (d == 0 && dir > 0)
        continue;
      uintptr_t off = (uintptr_t)d << MT_PAGE_SHIFT;
      if (dir < 0 ? a < off : a > UINTPTR_MAX - off)
        continue;
      uintptr_t c = dir < 0 ? a - off : a + off;
      block_t b;
      block_lookup(c, &b);
      if (b.where == BLK_NONE || b.meta == &freed_run_meta)
        continue;
      uint8_t state = __atomic_load_n(&b.meta->f.state, __ATOMIC_RELAXED);
      if (state == MT_STATE_BUSY || b.meta->word == 0)
        continue; /* in flux, or a slot never handed out: no block to speak of */
      out->start = b.start;
      out->size = requested_size(&b);
      out->type = (int)b.meta->f.type;
      out->live = state == MT_STATE_LIVE;
      out->free_pc = !out->live && b.free_pc ? *b.free_pc : 0;
      out->alloc_stack = b.stk ? mt_stk_alloc(*b.stk) : 0;
      out->free_stack = !out->live && b.stk ? mt_stk_free(*b.stk) : 0;
      out->guarded = b.where == BLK_GUARD;
      return true;
    }
  }
  return false;
}

/* ---- process life ----------------------------------------------------------- */

void mt_fork_prepare(void) {
  if (!mt_is_initialized())
    return;
  mt_dump_fork_prepare();
  mt_guard_fork_prepare();
  mt_tcache_fork_prepare();
  mt_zone_fork_prepare();
  mt_page_fork_prepare();
  mt_arena_fork_prepare();
  mt_check_fork_prepare();
}

void mt_fork_parent(void) {
  if (!mt_is_initialized())
    return;
  mt_check_fork_parent();
  mt_arena_fork_parent();
  mt_page_fork_parent();
  mt_zone_fork_parent();
  mt_tcache_fork_parent();
  mt_guard_fork_parent();
  mt_dump_fork_parent();
}

void mt_fork_child(void) {
  if (!mt_is_initialized())
    return;
  mt_check_fork_child();
  mt_arena_fork_child();
  mt_os_fork_child();
  mt_dump_fork_child();
  mt_guard_fork_child();
  mt_report_fork_child();
  mt_symtab_fork_child();
  mt_site_fork_child();
  mt_modules_fork_child();
  mt_page_fork_child();
  mt_zone_fork_child();
  mt_live_fork_child();
  mt_tcache_fork_child();
  mt_siggate_fork_child();
  mt_rebind_fork_child();
  mt_life_fork_child();
}

static void print_summary(void);

void mt_at_exit(void) { mt_life_at_exit(); }

/* The exit work (core/life.c runs it once): by_signal, in the handler of a
 * terminating signal, after which the process dies of it. */
static void exit_work(bool by_signal) {
  if (!mt_is_initialized())
    return;
  if (mt_check_on)
    mt_check_heap(); /* corruption that no free or reuse saw */
  const mt_leak_result_t *leaks = NULL;
  if (mt_opt.leaks && !mt_os_is_secure()) {
    leaks = mt_leak_scan();
    mt_leak_print(leaks, mt_opt.leak_lines);
  }
  /* MEMTYPE_LEAK_EXITCODE: leaks fail the run when the user asks. */
  bool leak_fail = !by_signal && mt_opt.leak_exitcode && leaks &&
                   leaks->blocks[MT_LEAK_DEFINITE] + leaks->blocks[MT_LEAK_INDIRECT] > 0;
  if (leak_fail)
    mt_life_set_ending(MT_END_EXITED, (int)mt_opt.leak_exitcode, 0, MT_VIA_LEAKS);
  int sig = by_signal ? (int)mt_life_ending()->signal : 0;
  mt_dump_write(by_signal ? MT_DUMP_FATAL : MT_DUMP_EXIT, sig);
  mt_live_fini();
  if (mt_opt.stats)
    print_summary();
  if (leak_fail)
    mt_os_exit((int)mt_opt.leak_exitcode);
}

static void print_summary(void) {
  mt_tstats_t s;
  unsigned threads;
  mt_tcache_sum_stats(&s, &threads);
  mt_page_stats_t ps;
  mt_page_get_stats(&ps);
  /* A forked child owns the blocks live at the fork: they are live in it
   * until it frees them (docs/format.md, INHERITED). */
  uint64_t inherited = 0, bytes;
  for (unsigned t = 0, n = mt_site_count(); t < n; t++)
    inherited += mt_tcache_inherited(t, &bytes);
  char from_parent[64] = "";
  if (mt_tcache_has_inherited())
    mt_snprintf(from_parent, sizeof(from_parent), "%lu blocks inherited at fork, ",
                (unsigned long)inherited);
  uint64_t have = inherited + s.allocs;
  mt_printf("memtype: summary: %s (pid %d): %lu allocations, %lu frees, %lu bytes requested, "
            "%s%lu blocks live at exit, peak heap %lu KiB mapped, %u threads\n",
            mt_os_progname(), mt_os_getpid(), (unsigned long)s.allocs, (unsigned long)s.frees,
            (unsigned long)s.bytes_alloc, from_parent,
            (unsigned long)(have > s.frees ? have - s.frees : 0),
            (unsigned long)(ps.peak_mapped >> 10), threads);
  if (mt_fail_on)
    mt_printf("memtype: failure injection: %lu allocations failed on purpose, 1 in %ld of %lu "
              "eligible, seed %lu\n", (unsigned long)mt_fail_count(), (long)mt_opt.failure_rate,
              (unsigned long)mt_fail_eligible(), (unsigned long)mt_fail_seed());
  mt_stats_print_types(mt_opt.stats_lines);
}

