/* memguard.c - the guarded blocks (see memguard.h). A region of address
 * space is reserved inaccessible at start and marked in the page map; a
 * block takes a run of its pages (bump order, then runs given back by the
 * FIFO, same size first). page_blk[] maps every page of a run, guards
 * included, to its block, so free() and the fault handler find it in O(1)
 * without a lock. Two methods (MEMTYPE_GUARD_METHOD, probed once):
 *   madvise   the region opens read-write run by run (one mapping) and
 *             every run ends in a guard page installed once with
 *             MADV_GUARD_INSTALL, kept for good; a run's data pages are
 *             guarded too while its block waits in the FIFO. A recycled run
 *             needs no system call to be handed out.
 *             Overflow-only ("cheap") blocks, given when full guarding is
 *             over half the cost bound: freed, no call; their run, its data
 *             pages populated, waits in a pool by size (at most
 *             MEMTYPE_GUARD_FIFO bytes, within the resident-memory bound),
 *             oldest reused first; past the bound the oldest is purged.
 *   mprotect  (kernels before 6.13) each block's data pages are mapped open
 *             and closed again: two calls and two mapping splits a block. */
#include "memguard.h"

#include <string.h>

#include "arena.h"
#include "block.h"
#include "hooks.h"
#include "depot.h"
#include "heapcheck.h"
#include "lock.h"
#include "options.h"
#include "os.h"
#include "page.h"
#include "report.h"
#include "site.h"
#include "symtab.h"

#define REGION_SIZE ((size_t)16 << 30) /* address space; memory is the budget's */
#define REGION_PAGES (REGION_SIZE >> MT_PAGE_SHIFT)
/* Reserved and never opened on each side of the region: a far underflow or
 * overflow of the first or last guarded block faults there instead of
 * landing in whatever was mapped next to the region (memtype's own page
 * table of it, mapped just after, came right below: a write 1 MiB before
 * the first guarded block went into it unseen). Address space only. */
#define MOAT ((size_t)64 << 20)
#define RUN_LISTS 65 /* free runs by pages 1..64; [0] for longer ones */
/* Ballast: mappings held back for the heap. The region's last pages are
 * split into BALLAST accessible pages between inaccessible ones (2 mappings
 * each, no memory); when the kernel refuses memguard a mapping
 * (vm.max_map_count reached), the ballast is merged back into one, so the
 * heap still gets its next segments, and memguard stops growing. */
#define BALLAST 64
#define USABLE_PAGES (REGION_PAGES - 2 * BALLAST)

enum { SIDE_AFTER = 0, SIDE_BEFORE = 1, SIDE_AROUND = 2 };

MT_HIDDEN bool mt_guard_on;
MT_HIDDEN bool mt_guard_sampling_only;
static uintptr_t region;
static mt_guard_blk_t **page_blk;
static mt_lock_t lock;
static size_t bump;                      /* next page never used */
static mt_guard_blk_t *fifo_head, *fifo_tail;
static size_t fifo_pages, fifo_limit;
static mt_guard_blk_t *runs[RUN_LISTS];  /* runs out of the FIFO, reusable */
/* madvise: runs of freed overflow-only blocks, data pages populated and
 * trashed (MEMTYPE_TRASH), oldest first, by pages (< RUN_LISTS). */
static mt_guard_blk_t *pool_head[RUN_LISTS], *pool_tail[RUN_LISTS];
static size_t pool_pages, pool_data;     /* pages of pooled runs, data pages of them */
static mt_guard_blk_t *spare;            /* unused descriptors */
static mt_guard_blk_t *all_blocks;       /* every descriptor, linked by all */
static size_t live_pages, live_blocks, budget_pages, max_blocks;
static bool ballast_dropped;
static size_t live_data;                 /* data pages of live blocks (resident ones) */
/* The cost bound (MEMTYPE_GUARD_COST): time spent guarding (a guarded
 * allocation and free, their system calls, patterns, lock and stack; a
 * run's release from the FIFO), against the time since start. The memory bound (MEMTYPE_GUARD_RSS):
 * the program's other resident pages, read from /proc every 10 ms. */
#define COST_ALLOWANCE_NS 50000000ull
#define RSS_ALLOWANCE_PAGES 4096
#define RSS_EVERY_NS 10000000ull
static uint64_t start_ns, spent_ns, rss_at_ns;
static size_t rss_limit_pages = SIZE_MAX;
static uint64_t guarded[MT_MAX_TYPES], misses[MT_MAX_TYPES];
static uint64_t guarded_cheap[MT_MAX_TYPES]; /* of guarded, overflow-only */
static uint8_t chosen[MT_MAX_TYPES];     /* MEMTYPE_GUARD cache (site.c) */
static uint64_t miss_why[MT_GUARD_MISS_REASONS]; /* misses by reason (all types) */
static int side;
static int method;                       /* MT_GUARD_METHOD_* */
static size_t opened;                    /* madvise: pages [1, opened) are read-write (runs made) */

/* ---- set-up --------------------------------------------------------------- */

void mt_guard_init(void) {
  bool globs = mt_opt.guard && *mt_opt.guard;
  mt_guard_on = globs || mt_opt.guard_rate > 0 || mt_opt.guard_large;
  mt_guard_sampling_only = mt_guard_on && !globs && !mt_opt.guard_large;
  if (!mt_guard_on || region)
    return;
  side = !strcmp(mt_opt.guard_side, "before") ? SIDE_BEFORE
         : !strcmp(mt_opt.guard_side, "around") ? SIDE_AROUND : SIDE_AFTER;
  _Static_assert(MOAT % MT_SEG_SIZE == 0, "the region stays aligned");
  uintptr_t r = (uintptr_t)mt_os_reserve(MOAT + REGION_SIZE + MOAT, MT_SEG_SIZE);
  if (r != 0)
    r += MOAT;
  page_blk = mt_os_map(REGION_PAGES * sizeof(*page_blk)); /* virtual; touched sparsely */
  if (r == 0 || page_blk == NULL) {
    mt_warn("no address space for guarded blocks: MEMTYPE_GUARD is off");
    mt_guard_on = false;
    return;
  }
  mt_page_claim(r, REGION_SIZE, MT_MAP_GUARD);
  budget_pages = mt_os_physical_pages() / (size_t)mt_opt.guard_divisor;
  fifo_limit = (size_t)mt_opt.guard_fifo >> MT_PAGE_SHIFT;
  method = MT_GUARD_METHOD_MPROTECT;
  if (strcmp(mt_opt.guard_method, "mprotect") != 0) {
    /* The probe: the first chunk opened, a guard installed on its first page
     * and removed. Page 0 stays closed: the first run's guard before it. */
    opened = 2;
    if (mt_os_open_pages(r + MT_PAGE_SIZE, MT_PAGE_SIZE) &&
        mt_os_guard_install(r + MT_PAGE_SIZE, MT_PAGE_SIZE) &&
        mt_os_guard_remove(r + MT_PAGE_SIZE, MT_PAGE_SIZE)) {
      method = MT_GUARD_METHOD_MADVISE;
      bump = 1;
    } else {
      mt_os_protect(r + MT_PAGE_SIZE, MT_PAGE_SIZE, false);
      opened = 0;
      if (!strcmp(mt_opt.guard_method, "madvise"))
        mt_warn("MEMTYPE_GUARD_METHOD=madvise: this kernel has no MADV_GUARD_INSTALL "
                "(Linux 6.13 and later); guard pages use mprotect");
    }
  }
  if (method == MT_GUARD_METHOD_MADVISE) {
    max_blocks = SIZE_MAX; /* guard pages split no mapping */
  } else {
    long maps = mt_os_max_map_count();
    max_blocks = maps > 0 ? (size_t)maps / 4 : 16384; /* each live block splits the region twice */
    for (size_t i = 0; i < BALLAST; i++)
      mt_os_protect(r + ((USABLE_PAGES + 2 * i + 1) << MT_PAGE_SHIFT), MT_PAGE_SIZE, true);
  }
  start_ns = mt_os_now_ns();
  __atomic_store_n(&region, r, __ATOMIC_RELEASE);
}

/* ---- runs and descriptors (under lock) ------------------------------------ */

static mt_guard_blk_t *take_run_locked(size_t npages) {
  mt_guard_blk_t **list = &runs[npages < RUN_LISTS ? npages : 0];
  for (mt_guard_blk_t **pp = list; *pp; pp = &(*pp)->next)
    if ((*pp)->npages == npages) {
      mt_guard_blk_t *b = *pp;
      *pp = b->next;
      return b;
    }
  if (bump + npages > USABLE_PAGES)
    return NULL;
  if (method == MT_GUARD_METHOD_MADVISE) {
    uintptr_t at = region + (bump << MT_PAGE_SHIFT);
    /* The mapping grows by the new run (mprotect extends the read-write
     * mapping before it: no split); the pages never used stay closed, so a
     * wild access past the last run still faults. */
    if (bump + npages > opened) {
      size_t to = bump + npages;
      if (!mt_os_open_pages(region + (opened << MT_PAGE_SHIFT), (to - opened) << MT_PAGE_SHIFT))
        return NULL;
      opened = to;
    }
    /* Its guard page after it, for good: the next run's guard before it. */
    if (!mt_os_guard_install(at + ((npages - 1) << MT_PAGE_SHIFT), MT_PAGE_SIZE))
      return NULL;
  }
  mt_guard_blk_t *b = spare;
  if (b)
    spare = b->next;
  else if ((b = mt_arena_alloc(sizeof(*b))) == NULL)
    return NULL;
  mt_guard_blk_t *keep = b->all;
  bool known = b->run != 0;
  memset(b, 0, sizeof(*b));
  if (known) {
    b->all = keep;
  } else {
    b->all = all_blocks;
    __atomic_store_n(&all_blocks, b, __ATOMIC_RELEASE);
  }
  b->run = region + (bump << MT_PAGE_SHIFT);
  b->npages = (uint32_t)npages;
  bump += npages;
  return b;
}

static void set_pages(const mt_guard_blk_t *b, mt_guard_blk_t *to) {
  size_t first = (b->run - region) >> MT_PAGE_SHIFT;
  for (size_t i = 0; i < b->npages; i++)
    __atomic_store_n(&page_blk[first + i], to, __ATOMIC_RELEASE);
}

/* The checks' view of a guarded block: its slack runs to its last data page's end. */
static mt_blk_t blk_of(mt_guard_blk_t *b) {
  uintptr_t end = b->run + ((uintptr_t)(b->data_page + b->data_pages) << MT_PAGE_SHIFT);
  mt_blk_t k = {b->user, b->meta.f.size, end - b->user, &b->meta, &b->free_pc, NULL, &b->stk, 0};
  return k;
}

/* ---- the cost and memory bounds ------------------------------------------------ */

/* Against wall time, not the program's own: every mapping change also costs
 * the program later (TLB shootdowns, refaults), more than the call itself. */
/* pct: the share of the bound (and of its first allowance) to stay within:
 * 100 for the whole, MEMTYPE_GUARD_FULL for full guarding. */
static bool within_cost(uint64_t now, unsigned pct) {
  if (pct == 0)
    return false;
  if (mt_opt.guard_cost >= 100)
    return true;
  uint64_t spent = __atomic_load_n(&spent_ns, __ATOMIC_RELAXED);
  return spent * 100 * 100 <=
         pct * (COST_ALLOWANCE_NS * 100 +
                (uint64_t)mt_opt.guard_cost * (now > start_ns ? now - start_ns : 0));
}

void mt_guard_spend_ns(uint64_t ns) { __atomic_fetch_add(&spent_ns, ns, __ATOMIC_RELAXED); }

static void charge(uint64_t since) {
  __atomic_fetch_add(&spent_ns, mt_os_now_ns() - since, __ATOMIC_RELAXED);
}

/* A guarded allocation's or free's own time is sampled: one in TIME_EVERY
 * of a thread's is timed with the precise clock and charged TIME_EVERY
 * times over (an unbiased estimate; two clock reads were a fifth of an
 * overflow-only block's cost); the bounds' "now" is the coarse clock. */
#define TIME_EVERY 8
static MT_TLS unsigned time_tick;

/* The bounds' "now": the coarse clock (it ticks every 1 to 4 ms) read once
 * in NOW_EVERY of a thread's guarding decisions, the others taking the
 * latest time any thread read. A clock read on every allocation was 4 % of
 * a threaded churn's time with every type chosen (MEMTYPE_GUARD='*'),
 * where most allocations are refused for the cost bound. A thread that
 * allocates rarely after a pause may see a "now" some calls old: its first
 * decisions then count a little less time in the bound, never more. */
#define NOW_EVERY 16
static uint64_t now_seen; /* the latest coarse time read, by any thread */
static MT_TLS unsigned now_left;

static uint64_t coarse_now(void) {
  if (MT_LIKELY(now_left != 0)) {
    now_left--;
    return __atomic_load_n(&now_seen, __ATOMIC_RELAXED);
  }
  now_left = NOW_EVERY - 1;
  uint64_t t = mt_os_coarse_ns();
  if (t > __atomic_load_n(&now_seen, __ATOMIC_RELAXED)) /* (a race may keep an older one) */
    __atomic_store_n(&now_seen, t, __ATOMIC_RELAXED);
  return t;
}

static uint64_t timed_start(void) {
  return ++time_tick % TIME_EVERY ? 0 : mt_os_now_ns();
}

static void charge_timed(uint64_t since) {
  if (since)
    __atomic_fetch_add(&spent_ns, (mt_os_now_ns() - since) * TIME_EVERY, __ATOMIC_RELAXED);
}

/* The limit on live guarded pages from the program's own resident memory
 * (under lock; refreshed at most every RSS_EVERY_NS). */
static size_t rss_limit_locked(uint64_t now) {
  if (mt_opt.guard_rss == 0)
    return SIZE_MAX;
  if (now - rss_at_ns >= RSS_EVERY_NS || rss_at_ns == 0) {
    rss_at_ns = now;
    size_t resident = mt_os_resident_pages();
    size_t ours = live_data + pool_data;
    size_t other = resident > ours ? resident - ours : 0;
    rss_limit_pages = resident == 0 ? SIZE_MAX /* unknown: no such bound */
                                    : (size_t)mt_opt.guard_rss * other + RSS_ALLOWANCE_PAGES;
  }
  return rss_limit_pages;
}

/* ---- allocation -------------------------------------------------------------- */

bool mt_guard_fits(size_t n, size_t align) {
  return n <= (size_t)mt_opt.guard_maxsize && align <= MT_PAGE_SIZE;
}

bool mt_guard_chosen(size_t n, unsigned type) {
  const char *globs = mt_opt.guard;
  if (globs && *globs && mt_site_type_matches(type, globs, chosen))
    return true;
  return mt_opt.guard_large && n >= MT_PAGE_SIZE;
}

static void miss(unsigned type, int why) {
  __atomic_fetch_add(&misses[type], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&miss_why[why], 1, __ATOMIC_RELAXED);
}

/* Where a block of n bytes starts, its end flush with its last data page's
 * end: aligned to the largest power of two dividing n, up to 16 (GWP-ASan's
 * rule: a 24-byte block is 8-aligned, a 100-byte one 4-aligned, so that the
 * first byte past it is on the guard page), but at least 2, whatever the
 * size: programs keep a tag in the low bit of a pointer that malloc returned.
 * fontconfig does it to the strings of its patterns (an odd pointer is an
 * offset into a cache file to it), so a 1-aligned "Bold" crashed every
 * program that draws text under MEMTYPE_GUARD='*' (fc-match, graphviz's
 * dot); CPython stopped at start with 1-aligned objects ("error reading
 * frozen getpath.py"). A block of odd size keeps 1 byte before its guard
 * page, patterned and checked at free: a write there is found at free, a
 * read of it is not seen. The alignment
 * asked for (memalign and its kin, aligned operator new) wins when larger.
 * operator new and new[] promise more: C++'s default new alignment (16), and
 * clang relies on it at the new expression (it assumes the largest power of
 * two not above min(16, the object's size) and initialises a 40-byte object
 * with movaps, which faults on an 8-aligned block; seen in clang itself).
 * GCC does not: a new whose caller's module was made by GCC alone (its
 * .comment says so) gets the exact rule; any other (clang's, or a Debian
 * package's, whose .comment is stripped) is aligned so, and the bytes after
 * the block up to its page are patterned and checked at free instead.
 * operator new's blocks of odd size (a C++ object's size is a multiple of
 * its alignment; std::string's buffers are odd) stay exact, 1-aligned, where
 * new's rule lets them be (new_promises_alignment). */
#define GUARD_MIN_ALIGN 2
/* malloc promises it too where Rust's standard library calls it: it asks
 * malloc (not memalign) for any alignment up to 16 not above the size, and
 * its hash tables read their control bytes with movdqa (cargo died of
 * SIGSEGV at start under MEMTYPE_GUARD='*'): a malloc whose caller's module
 * names rustc in its .comment gets new's alignment. */
static uint8_t new_rule[MT_MAX_TYPES]; /* by type: 0 not known yet, 1 exact, 2 new's alignment */

static bool new_promises_alignment(unsigned type, unsigned family) {
  uint8_t r = __atomic_load_n(&new_rule[type], __ATOMIC_RELAXED);
  if (r == 0) {
    uintptr_t pc = mt_site_pc(type);
    if (family == MT_FAM_MALLOC)
      r = mt_symtab_rustc(pc) ? 2 : 1;
    else
      r = mt_symtab_gcc_only(pc) ? 1 : 2;
    __atomic_store_n(&new_rule[type], r, __ATOMIC_RELAXED);
  }
  return r == 2;
}

void mt_guard_learn_alignment(unsigned type) {
  if (type < MT_MAX_TYPES)
    __atomic_store_n(&new_rule[type], 2, __ATOMIC_RELAXED);
}

/* By type: an underflow was found in one of its guarded blocks (the pattern
 * before it changed, seen at its free or at exit), so its next blocks start
 * at their page's start, right after a guard page: the same bug again
 * faults at the access, with its line (an overflow of such a block is then
 * found at its free, as the underflow was). A page before the data is a
 * guard page with madvise (every run ends in one, and runs follow each
 * other) and with mprotect when a side before is guarded anyway. */
static uint8_t flush_left[MT_MAX_TYPES];

static bool learn_underflow(unsigned type) {
  if (type >= MT_MAX_TYPES || side == SIDE_BEFORE ||
      (method != MT_GUARD_METHOD_MADVISE && side == SIDE_AFTER))
    return false;
  return __atomic_exchange_n(&flush_left[type], 1, __ATOMIC_RELAXED) == 0;
}

static uintptr_t flush_start(uintptr_t end, size_t n, size_t align, unsigned family,
                             unsigned type) {
  size_t natural = n == 0 ? MT_MIN_ALIGN : n & -n;
  if (n > 1 && new_promises_alignment(type, family)) {
    size_t promised = n >= MT_MIN_ALIGN ? MT_MIN_ALIGN : (size_t)1 << (63 - __builtin_clzll(n));
    if (natural < promised)
      natural = promised;
  }
  if (natural < GUARD_MIN_ALIGN && family == MT_FAM_MALLOC)
    natural = GUARD_MIN_ALIGN;
  if (natural > MT_MIN_ALIGN)
    natural = MT_MIN_ALIGN;
  if (align < natural)
    align = natural;
  return (end - n) & ~(uintptr_t)(align - 1);
}

/* The pattern over the last FRONT_WINDOW bytes before the block on its
 * first data page (the guard after it): an underflow that writes there is
 * caught at free (a read is not). Only a window: laying and comparing the
 * whole page start (up to 4 KiB for a small block) was most of a guarded
 * block's own cost, and so what the cost bound (MEMTYPE_GUARD_COST) ran out
 * on; an underflow lands within a few elements of the block (index -1, a
 * header read before its payload), as checks mode's front redzones assume
 * (16 to 2048 bytes, mt_check_redzone_size). Bytes farther back are not
 * checked. */
#define FRONT_BYTE 0xab
#define FRONT_WINDOW 512u

static uintptr_t data_start(const mt_guard_blk_t *b) {
  return b->run + ((uintptr_t)b->data_page << MT_PAGE_SHIFT);
}

/* Where the front pattern of a block starting at user begins. */
static uintptr_t front_start(const mt_guard_blk_t *b, uintptr_t user) {
  uintptr_t from = data_start(b);
  return user - from > FRONT_WINDOW ? user - FRONT_WINDOW : from;
}

/* was: a reused pooled run's last block's start, whose front was found
 * intact at its free (0: lay it all): only the bytes of the new front that
 * were not in the old one are laid. */
static void lay_front(const mt_guard_blk_t *b, uintptr_t was) {
  uintptr_t lo = front_start(b, b->user), hi = b->user;
  uintptr_t ilo = was ? front_start(b, was) : 0, ihi = was; /* intact */
  if (ihi <= lo || ilo >= hi) { /* no overlap: all of it */
    if (hi > lo)
      memset((void *)lo, FRONT_BYTE, hi - lo);
    return;
  }
  if (ilo > lo)
    memset((void *)lo, FRONT_BYTE, ilo - lo);
  if (hi > ihi)
    memset((void *)ihi, FRONT_BYTE, hi - ihi);
}

/* Reports the first changed byte of the front pattern; false when any
 * changed. when: when it was found, for the report. */
static bool front_ok(mt_guard_blk_t *b, const char *when) {
  static uint8_t front_page[MT_PAGE_SIZE]; /* the pattern, compared at libc's memcmp speed */
  const uint8_t *m = (const uint8_t *)front_start(b, b->user);
  size_t len = b->user - (uintptr_t)m, first = len, last = 0, changed = 0;
  if (front_page[0] != FRONT_BYTE)
    memset(front_page, FRONT_BYTE, sizeof(front_page)); /* racy but idempotent */
  if (len <= sizeof(front_page) && memcmp(m, front_page, len) == 0)
    return true;
  for (size_t i = 0; i < len; i++)
    if (m[i] != FRONT_BYTE) {
      if (first == len)
        first = i;
      last = i;
      changed++;
    }
  if (changed == 0)
    return true;
  uint8_t seen[64], want[64];
  size_t w0 = first & ~(size_t)15, wn = len - w0 < 64 ? len - w0 : 64;
  for (size_t i = 0; i < wn; i++) {
    seen[i] = m[w0 + i];
    want[i] = FRONT_BYTE;
  }
  char detail[256];
  mt_snprintf(detail, sizeof(detail), "the bytes before the guarded block on its page were "
              "written (%s): %zu byte%s changed, from %zu to %zu bytes before the block (as "
              "found; '..' = intact):", when, changed, changed == 1 ? "" : "s", len - first,
              len - last);
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = MT_ERR_UNDERFLOW;
  e.access = MT_ACCESS_WRITE;
  e.addr = (uintptr_t)m + first;
  e.block = b->user;
  e.size = b->meta.f.size;
  e.type = b->meta.f.type;
  e.alloc_stack = mt_stk_alloc(b->stk);
  e.detail = detail;
  e.seen = seen;
  e.expect = want;
  e.window = wn;
  e.window_addr = (uintptr_t)m + w0;
  if (learn_underflow(b->meta.f.type))
    e.detail2 = "from now on this call site's guarded blocks start right after a guard page: "
                "an underflow of the next one faults at the access";
  mt_report(&e);
  return false;
}

/* ---- the pool of overflow-only runs ------------------------------------------- */

/* The oldest pooled run of npages, or NULL (under lock). */
static mt_guard_blk_t *take_pooled_locked(size_t npages) {
  mt_guard_blk_t *b = pool_head[npages];
  if (b == NULL)
    return NULL;
  __atomic_store_n(&pool_head[npages], b->next, __ATOMIC_RELAXED);
  if (b->next == NULL)
    pool_tail[npages] = NULL;
  pool_pages -= npages;
  pool_data -= b->data_pages;
  return b;
}

/* A pooled run leaves the pool for good: its trash verified, its data
 * pages purged (they read as zero), its run reusable by any block. */
static void release_pooled(mt_guard_blk_t *o) {
  if (mt_check_trash) {
    mt_blk_t was = blk_of(o);
    mt_check_trash_ok(&was);
  }
  set_pages(o, NULL);
  uint64_t t = mt_os_now_ns();
  mt_os_purge((void *)data_start(o), (size_t)o->data_pages << MT_PAGE_SHIFT);
  charge(t);
  o->dirty = 0;
  o->cheap = 0;
  mt_lock(&lock);
  size_t k = o->npages < RUN_LISTS ? o->npages : 0;
  o->next = runs[k];
  runs[k] = o;
  mt_unlock(&lock);
}

/* Runs taken from the pool (linked by next), released outside the lock. */
static void release_pooled_list(mt_guard_blk_t *out) {
  while (out) {
    mt_guard_blk_t *o = out;
    out = o->next;
    release_pooled(o);
  }
}

size_t mt_guard_trim(void) {
  if (__atomic_load_n(&region, __ATOMIC_ACQUIRE) == 0)
    return 0;
  mt_guard_blk_t *out = NULL;
  size_t pages = 0;
  mt_lock(&lock);
  for (size_t np = 1; np < RUN_LISTS; np++) {
    mt_guard_blk_t *o;
    while ((o = take_pooled_locked(np)) != NULL) {
      pages += o->data_pages;
      o->next = out;
      out = o;
    }
  }
  mt_unlock(&lock);
  release_pooled_list(out);
  return pages << MT_PAGE_SHIFT;
}

/* A freed overflow-only block: trashed, its run pooled with no system call;
 * the oldest of its size leave when the pool is over MEMTYPE_GUARD_FIFO
 * bytes or the resident-memory bound. Its pages still map to it: a second
 * free is reported as a double free. */
static void pool_put(mt_guard_blk_t *b) {
  if (b->reopened) {
    /* MEMTYPE_ON_ERROR=continue opened its guard page: closed again. */
    uint64_t t = mt_os_now_ns();
    mt_os_guard_install(b->run + ((uintptr_t)(b->npages - 1) << MT_PAGE_SHIFT), MT_PAGE_SIZE);
    charge(t);
    b->reopened = 0;
  }
  mt_blk_t k = blk_of(b);
  mt_check_trash_fill(&k);
  b->dirty = 1;
  size_t np = b->npages;
  mt_guard_blk_t *out = NULL;
  mt_lock(&lock);
  live_pages -= np;
  live_data -= b->data_pages;
  live_blocks--;
  if (np < RUN_LISTS) {
    b->next = NULL;
    if (pool_tail[np])
      pool_tail[np]->next = b;
    else
      __atomic_store_n(&pool_head[np], b, __ATOMIC_RELAXED);
    pool_tail[np] = b;
    pool_pages += np;
    pool_data += b->data_pages;
    while (pool_head[np] &&
           (pool_pages > fifo_limit || live_data + pool_data > rss_limit_pages)) {
      mt_guard_blk_t *o = take_pooled_locked(np);
      o->next = out;
      out = o;
    }
  } else {
    b->next = NULL;
    out = b;
  }
  mt_unlock(&lock);
  release_pooled_list(out);
}

void *mt_guard_alloc(size_t n, size_t align, unsigned type, unsigned family, bool zero) {
  size_t data_pages = n > MT_PAGE_SIZE ? (n + MT_PAGE_SIZE - 1) >> MT_PAGE_SHIFT : 1;
  /* madvise: every run ends in its guard page, the one before it is the
   * previous run's (or the region's first page): both sides guarded. */
  size_t npages = data_pages + (method == MT_GUARD_METHOD_MPROTECT && side == SIDE_AROUND ? 2 : 1);
  uint64_t now = coarse_now(), t0 = timed_start();
  /* madvise: full guarding within MEMTYPE_GUARD_FULL % of the cost bound;
   * beyond, overflow-only blocks, from the pool (no call) or, within the
   * whole bound, new runs. */
  bool madv = method == MT_GUARD_METHOD_MADVISE;
  bool full = within_cost(now, madv ? (unsigned)mt_opt.guard_full : 100);
  bool grow = full || (madv && within_cost(now, 100));
  bool pooled = madv && npages < RUN_LISTS &&
                __atomic_load_n(&pool_head[npages], __ATOMIC_RELAXED) != NULL;
  /* A pooled run makes no call, but laying and checking its patterns,
   * the lock and the stack are guarding's time too: it is charged, and
   * taken only within the whole bound like a new run. */
  if (!grow) {
    miss(type, MT_GUARD_MISS_COST);
    return NULL;
  }
  mt_lock(&lock);
  mt_guard_blk_t *b = NULL;
  int why = MT_GUARD_MISS_BUDGET;
  if (live_blocks >= max_blocks)
    why = MT_GUARD_MISS_MAPS;
  else if (pooled && (b = take_pooled_locked(npages)) != NULL)
    ; /* resident already, counted in the budget and the bound */
  else if (live_pages + pool_pages + npages > budget_pages)
    why = MT_GUARD_MISS_BUDGET;
  else if (live_data + pool_data + data_pages > rss_limit_locked(now))
    why = MT_GUARD_MISS_RSS;
  else if ((b = take_run_locked(npages)) == NULL)
    why = MT_GUARD_MISS_SPACE;
  if (b) {
    live_pages += npages;
    live_data += data_pages;
    live_blocks++;
  }
  mt_unlock(&lock);
  if (b == NULL) {
    miss(type, why);
    return NULL;
  }
  b->data_page = method == MT_GUARD_METHOD_MPROTECT && side != SIDE_AFTER ? 1 : 0;
  b->data_pages = (uint32_t)data_pages;
  uintptr_t data = data_start(b);
  uintptr_t end = data + (data_pages << MT_PAGE_SHIFT);
  /* madvise: the data pages are open already (a new run's, or a recycled
   * one's since it left the FIFO) and read as zero. */
  bool opened_now = madv || mt_os_protect(data, data_pages << MT_PAGE_SHIFT, true);
  if (!opened_now) {
    charge_timed(t0);
    mt_lock(&lock); /* mapping limit: give the run back unused */
    if (!ballast_dropped) {
      /* Leave the heap the ballast's mappings, and no more blocks than now. */
      ballast_dropped = true;
      mt_os_protect(region + (USABLE_PAGES << MT_PAGE_SHIFT), 2 * BALLAST << MT_PAGE_SHIFT, false);
      max_blocks = live_blocks > 1 ? live_blocks - 1 : 0;
    }
    b->next = runs[npages < RUN_LISTS ? npages : 0];
    runs[npages < RUN_LISTS ? npages : 0] = b;
    live_pages -= npages;
    live_data -= data_pages;
    live_blocks--;
    mt_unlock(&lock);
    miss(type, MT_GUARD_MISS_MAPS);
    return NULL;
  }
  if (b->dirty && mt_check_trash) {
    /* A pooled run: its last block's trash verified (write after free). */
    mt_blk_t was = blk_of(b);
    mt_check_trash_ok(&was);
  }
  uintptr_t front_to = b->dirty ? b->user : 0; /* its front intact to there */
  bool left = side == SIDE_BEFORE ||
              (type < MT_MAX_TYPES && __atomic_load_n(&flush_left[type], __ATOMIC_RELAXED));
  b->user = left ? data : flush_start(end, n, align, family, type);
  if (b->dirty && zero)
    memset((void *)b->user, 0, n);
  b->dirty = 0;
  b->reopened = 0;
  b->cheap = !full;
  /* BUSY until its patterns are laid: the check at exit reads only LIVE
   * blocks' (mt_guard_check_live) */
  b->meta.word = mt_meta_pack(n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, (uint16_t)type,
                              MT_STATE_BUSY, (uint8_t)family);
  b->free_pc = 0;
  b->stk = mt_depot_on ? mt_depot_capture(mt_site_pc(type)) : 0; /* no lock held: unwinding may re-enter malloc */
  /* The bytes around the block on its data pages (the page's start before
   * it; after it, alignment asked for, or the page's rest with the guard
   * before): patterns checked on free. */
  lay_front(b, front_to);
  mt_blk_t k = blk_of(b);
  mt_check_lay_slack(&k);
  __atomic_store_n(&b->meta.f.state, MT_STATE_LIVE, __ATOMIC_RELEASE);
  set_pages(b, b);
  __atomic_fetch_add(&guarded[type], 1, __ATOMIC_RELAXED);
  if (b->cheap)
    __atomic_fetch_add(&guarded_cheap[type], 1, __ATOMIC_RELAXED);
  charge_timed(t0);
  return (void *)b->user;
}

/* ---- lookups and free ---------------------------------------------------------- */

mt_guard_blk_t *mt_guard_lookup(uintptr_t a) {
  uintptr_t r = __atomic_load_n(&region, __ATOMIC_ACQUIRE);
  if (r == 0 || a < r || a >= r + REGION_SIZE)
    return NULL;
  return __atomic_load_n(&page_blk[(a - r) >> MT_PAGE_SHIFT], __ATOMIC_ACQUIRE);
}

void mt_guard_free(mt_guard_blk_t *b, uintptr_t pc) {
  uint64_t t0 = timed_start();
  mt_blk_t blk = blk_of(b);
  if (!front_ok(b, "found when it was freed"))
    lay_front(b, 0); /* reported: laid again, for a pooled run's next block */
  mt_check_slack_ok(&blk, "the bytes between the block's end and its guard page were written "
                        "(found when it was freed)");
  b->free_pc = pc;
  b->stk = mt_stk_with_free(b->stk, mt_depot_on ? mt_depot_capture(pc) : 0);
  __atomic_store_n(&b->meta.f.state, MT_STATE_FREE, __ATOMIC_RELEASE);
  if (b->cheap) {
    pool_put(b);
    charge_timed(t0);
    return;
  }
  /* The whole run, guards included (MEMTYPE_ON_ERROR=continue may have
   * opened one): inaccessible, its pages dropped. */
  if (method == MT_GUARD_METHOD_MADVISE)
    mt_os_guard_install(b->run, (size_t)b->npages << MT_PAGE_SHIFT); /* drops the pages too */
  else
    mt_os_protect(b->run, (size_t)b->npages << MT_PAGE_SHIFT, false);
  charge_timed(t0);
  mt_guard_blk_t *out = NULL;
  mt_lock(&lock);
  live_pages -= b->npages;
  live_data -= b->data_pages;
  live_blocks--;
  b->next = NULL;
  if (fifo_tail)
    fifo_tail->next = b;
  else
    fifo_head = b;
  fifo_tail = b;
  fifo_pages += b->npages;
  while (fifo_head && fifo_pages > fifo_limit) {
    mt_guard_blk_t *o = fifo_head;
    fifo_head = o->next;
    if (fifo_head == NULL)
      fifo_tail = NULL;
    fifo_pages -= o->npages;
    o->next = out;
    out = o;
  }
  mt_unlock(&lock);
  /* Out of the FIFO: its addresses may be used again. madvise: its data
   * pages open again (zero), its guard page after it stays; a page the
   * fault handler opened while it waited is dropped first. */
  while (out) {
    mt_guard_blk_t *o = out;
    out = o->next;
    set_pages(o, NULL);
    if (method == MT_GUARD_METHOD_MADVISE) {
      uint64_t t1 = mt_os_now_ns();
      uintptr_t data = data_start(o);
      size_t len = (size_t)o->data_pages << MT_PAGE_SHIFT;
      if (o->reopened)
        mt_os_guard_install(data, len);
      bool ok = mt_os_guard_remove(data, len);
      charge(t1);
      if (!ok)
        continue; /* never used again: its pages stay guarded */
    }
    o->reopened = 0;
    mt_lock(&lock);
    size_t k = o->npages < RUN_LISTS ? o->npages : 0;
    o->next = runs[k];
    runs[k] = o;
    mt_unlock(&lock);
  }
}

static bool in_data(const mt_guard_blk_t *g, uintptr_t a) {
  uintptr_t d = data_start(g);
  return a >= d && a < d + ((uintptr_t)g->data_pages << MT_PAGE_SHIFT);
}

/* How far a is from the block: past its end (an overflow) or before its
 * start (an underflow); 0 inside. */
static uintptr_t distance(const mt_guard_blk_t *g, uintptr_t a) {
  uintptr_t end = g->user + g->meta.f.size;
  return a >= end ? a - end + (g->meta.f.size == 0) : a < g->user ? g->user - a : 0;
}

mt_guard_blk_t *mt_guard_fault_block(uintptr_t a) {
  mt_guard_blk_t *g = mt_guard_lookup(a);
  if (g && in_data(g, a))
    return g; /* its own page: freed, or opened since */
  /* A guard page: the block it belongs to and the neighbours of its page;
   * the nearest wins: an overflow is nearest the end of the block before,
   * an underflow the start of the block after (GWP-ASan splits a guard page
   * between its two slots the same way). */
  mt_guard_blk_t *cand[3] = {g, mt_guard_lookup(a - MT_PAGE_SIZE), mt_guard_lookup(a + MT_PAGE_SIZE)};
  mt_guard_blk_t *best = NULL;
  uintptr_t best_d = UINTPTR_MAX;
  for (int i = 0; i < 3; i++) {
    mt_guard_blk_t *c = cand[i];
    if (c == NULL || c->user == 0)
      continue;
    uintptr_t d = distance(c, a);
    if (d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

void mt_guard_open_page(uintptr_t a) {
  uintptr_t page = a & ~(uintptr_t)(MT_PAGE_SIZE - 1);
  if (method == MT_GUARD_METHOD_MADVISE) {
    mt_guard_blk_t *g = mt_guard_lookup(page);
    if (g && (g->meta.f.state != MT_STATE_LIVE || g->cheap))
      g->reopened = 1; /* closed again before its pages are used again */
    mt_os_guard_remove(page, MT_PAGE_SIZE);
  }
  mt_os_open_pages(page, MT_PAGE_SIZE); /* mprotect, or the region's closed parts */
}

int mt_guard_method(void) { return method; }

const char *mt_guard_method_name(int m) {
  return m == MT_GUARD_METHOD_MADVISE ? "madvise" : m == MT_GUARD_METHOD_MPROTECT ? "mprotect" : "?";
}

uint64_t mt_guard_miss_reason(int why) {
  return why >= 0 && why < MT_GUARD_MISS_REASONS ? __atomic_load_n(&miss_why[why], __ATOMIC_RELAXED)
                                                  : 0;
}

uint64_t mt_guard_total(void) {
  uint64_t n = 0;
  for (unsigned t = 0; t < MT_MAX_TYPES; t++)
    n += __atomic_load_n(&guarded[t], __ATOMIC_RELAXED);
  return n;
}

uint64_t mt_guard_total_cheap(void) {
  uint64_t n = 0;
  for (unsigned t = 0; t < MT_MAX_TYPES; t++)
    n += __atomic_load_n(&guarded_cheap[t], __ATOMIC_RELAXED);
  return n;
}

void mt_guard_fork_prepare(void) { mt_lock(&lock); }
void mt_guard_fork_parent(void) { mt_unlock(&lock); }
void mt_guard_fork_child(void) {
  mt_lock_reset(&lock);
  /* The child's counts are its own, as its allocations' are (stats.c):
   * the coverage it reports is of what it allocated. */
  memset(guarded, 0, sizeof(guarded));
  memset(guarded_cheap, 0, sizeof(guarded_cheap));
  memset(misses, 0, sizeof(misses));
  memset(miss_why, 0, sizeof(miss_why));
  /* ...and so is its time: the cost bound starts again, with its first
   * allowance. A child inherited its parent's account, over budget when
   * the parent was (a loaded machine makes every mapping call slower):
   * a server's short-lived workers then guarded none of their blocks
   * (seen: two postgres processes, 0 of 14 and 0 of 29, in a fresh-root
   * run beside two other builds). */
  __atomic_store_n(&spent_ns, 0, __ATOMIC_RELAXED);
  start_ns = mt_os_now_ns();
  rss_at_ns = 0;
}

void mt_guard_each_live(void (*fn)(mt_guard_blk_t *b, void *arg), void *arg) {
  for (mt_guard_blk_t *b = __atomic_load_n(&all_blocks, __ATOMIC_ACQUIRE); b; b = b->all)
    if (b->meta.f.state == MT_STATE_LIVE && b->user)
      fn(b, arg);
}

/* The patterns of a block still live at exit (its free would have checked
 * them): a write before it, or past it into the bytes before its guard
 * page, that no fault caught, is found now. */
static void check_live_one(mt_guard_blk_t *b, void *arg) {
  unsigned long *bad = arg;
  uint64_t before = __atomic_load_n(&b->meta.word, __ATOMIC_ACQUIRE);
  mt_blk_t k = blk_of(b);
  bool ok = front_ok(b, "found at exit: the block is still live") &&
            mt_check_slack_ok(&k, "the bytes between the block's end and its guard page were "
                                  "written (found at exit: the block is still live)");
  if (!ok && __atomic_load_n(&b->meta.word, __ATOMIC_ACQUIRE) == before)
    (*bad)++;
}

unsigned long mt_guard_check_live(void) {
  unsigned long bad = 0;
  mt_guard_each_live(check_live_one, &bad);
  return bad;
}

/* ---- the block model's view (block.h) -------------------------------------------- */

static void of_guard(mt_guard_blk_t *g, mt_block_t *b) {
  b->kind = MT_BLOCK_GUARD;
  b->guard = g;
  b->start = g->user;
  b->usable = g->meta.f.size;
  b->meta = &g->meta;
  b->free_pc = &g->free_pc;
  b->stk = &g->stk;
  b->leak_mark = &g->leak_mark;
}

bool mt_dbg_guard_lookup(uintptr_t a, mt_block_t *b) {
  mt_guard_blk_t *g = mt_guard_lookup(a);
  if (g == NULL)
    return false;
  of_guard(g, b);
  return a == g->user;
}

typedef struct walk_s {
  mt_block_fn fn;
  void *arg;
} walk_t;

static void walk_one(mt_guard_blk_t *g, void *arg) {
  walk_t *w = arg;
  mt_block_t b;
  memset(&b, 0, sizeof(b));
  of_guard(g, &b);
  w->fn(&b, w->arg);
}

void mt_dbg_guard_walk(mt_block_fn fn, void *arg) {
  walk_t w = {fn, arg};
  mt_guard_each_live(walk_one, &w);
}

/* ---- statistics ----------------------------------------------------------------- */

uint64_t mt_guard_count(unsigned type) {
  return type < MT_MAX_TYPES ? __atomic_load_n(&guarded[type], __ATOMIC_RELAXED) : 0;
}
uint64_t mt_guard_count_cheap(unsigned type) {
  return type < MT_MAX_TYPES ? __atomic_load_n(&guarded_cheap[type], __ATOMIC_RELAXED) : 0;
}
uint64_t mt_guard_misses(unsigned type) {
  return type < MT_MAX_TYPES ? __atomic_load_n(&misses[type], __ATOMIC_RELAXED) : 0;
}
size_t mt_guard_pages_live(void) { return __atomic_load_n(&live_pages, __ATOMIC_RELAXED); }
size_t mt_guard_budget_pages(void) { return budget_pages; }
