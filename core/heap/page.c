/* page.c - segments, page runs, huge blocks and the page map (see page.h).
 * Invariants: every data page of a segment has page_head set to the first
 * page of the run (free or used) that holds it; free runs sit in
 * bins[dirty][npages] (runs whose pages may be resident are reused first)
 * and no two free runs touch (they are merged on free). All of it, the huge
 * list, the huge cache and the counters are guarded by mt_page_lock; mt_segmap
 * entries are written under the lock and read without it. */
#include "page.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "os.h"

MT_HIDDEN uint8_t mt_segmap[MT_SEGMAP_LEN];
MT_HIDDEN mt_lock_t mt_page_lock;
MT_HIDDEN uint32_t mt_seg_first_data_page;

static mt_segment_t *segments;  /* all segments */
static mt_slab_t *bins[2][MT_SEG_PAGES + 1];
static uint64_t binmap[2][(MT_SEG_PAGES + 1 + 63) / 64];
static mt_huge_t *huge_list;
static size_t used_pages;       /* pages in allocated runs */
static size_t dirty_pages;      /* pages in dirty free runs */
static size_t peak_used_pages;  /* high-water mark of used_pages */
static mt_page_stats_t stats;

#define DATA_PAGES (MT_SEG_PAGES - mt_seg_first_data_page)
#define PURGE_MIN_PAGES 256             /* 1 MiB of dirty free pages is always kept, */
#define PURGE_KEEP_SHIFT 3              /* and up to an eighth of the pages in use */
#define PURGE_INTERVAL_NS 250000000ull  /* at most one purge pass per 250 ms */
static uint64_t last_purge_ns;
static uint32_t purge_epoch;

/* The huge cache: freed huge mappings kept whole (header page included, pages
 * resident) for a later huge block, so that a loop of large blocks neither
 * maps, faults nor unmaps each time (issue 24 point 3). Entries are oldest
 * first; each starts on a segment boundary and is MT_MAP_CACHED in the page
 * map (so a pointer into one is not ours to free and no leak-scan root). A
 * mapping unused for HUGE_CACHE_AGE_NS, the oldest when a new one would pass
 * huge_cache_limit bytes or HUGE_CACHE_SLOTS entries, and mappings larger
 * than the limit are given back with munmap. The cache ages on huge-block
 * calls and when a page run is freed. When a mapping fails (a new segment, a
 * huge block, a huge realloc's destination) the whole cache is given back and
 * the mapping tried once more: memory pressure empties it. */
#define HUGE_CACHE_SLOTS 16
#define HUGE_CACHE_AGE_NS 1000000000ull /* given back after 1 s unused */
typedef struct huge_cached_s {
  uintptr_t base; /* segment-aligned start of the mapping */
  size_t size;    /* bytes, a multiple of the page size */
  uint64_t when;  /* mt_os_now_ns() when it was cached, read under the page lock */
} huge_cached_t;
static huge_cached_t hcache[HUGE_CACHE_SLOTS];
static unsigned hcache_n;
static size_t huge_cache_limit = MT_HUGE_CACHE_DEFAULT;
static bool hcache_drain_locked(void);

/* ---- helpers ------------------------------------------------------------ */

static inline size_t run_index(const mt_slab_t *run) {
  return (size_t)(run - mt_segment_of((uintptr_t)run)->runs);
}

/* A free run is binned by its length, in the dirty or the clean set; every
 * page of it points at its first (page_head). Under the page lock. */
static void bin_insert(mt_slab_t *run) {
  size_t b = run->npages, d = run->dirty;
  MT_ASSERT(run->kind == MT_RUN_FREE && b > 0 && b <= DATA_PAGES && d <= 1);
  MT_ASSERT(mt_segment_of((uintptr_t)run)->page_head[run_index(run)] == run_index(run));
  run->prev = NULL;
  run->next = bins[d][b];
  if (bins[d][b])
    bins[d][b]->prev = run;
  bins[d][b] = run;
  binmap[d][b >> 6] |= 1ull << (b & 63);
}

static void bin_remove(mt_slab_t *run) {
  size_t b = run->npages, d = run->dirty;
  MT_ASSERT(run->kind == MT_RUN_FREE && b > 0 && b <= DATA_PAGES && d <= 1);
  MT_ASSERT(run->prev ? run->prev->next == run : bins[d][b] == run);
  MT_ASSERT(run->next == NULL || run->next->prev == run);
  if (run->prev)
    run->prev->next = run->next;
  else
    bins[d][b] = run->next;
  if (run->next)
    run->next->prev = run->prev;
  if (!bins[d][b])
    binmap[d][b >> 6] &= ~(1ull << (b & 63));
  run->prev = run->next = NULL;
}

/* Smallest non-empty bin >= k of the dirty or clean set, or 0. */
static size_t bin_find(size_t d, size_t k) {
  for (size_t w = k >> 6; w < MT_ARRAY_LEN(binmap[d]); w++) {
    uint64_t m = binmap[d][w];
    if (w == k >> 6)
      m &= ~0ull << (k & 63);
    if (m)
      return (w << 6) + (size_t)__builtin_ctzll(m);
  }
  return 0;
}

static void set_heads(mt_segment_t *seg, size_t first, size_t n, size_t head) {
  for (size_t i = first; i < first + n; i++)
    seg->page_head[i] = (uint16_t)head;
}

/* Makes pages [first, first+n) of seg a free run and bins it. */
static mt_slab_t *make_free_run(mt_segment_t *seg, size_t first, size_t n, bool dirty) {
  mt_slab_t *run = &seg->runs[first];
  memset(run, 0, sizeof(*run));
  run->kind = MT_RUN_FREE;
  run->npages = (uint16_t)n;
  run->dirty = dirty;
  run->epoch = purge_epoch;
  set_heads(seg, first, n, first);
  bin_insert(run);
  return run;
}

static void segmap_set(uintptr_t base, size_t len, uint8_t head_val, uint8_t tail_val) {
  size_t first = base >> MT_SEG_SHIFT, n = (len + MT_SEG_SIZE - 1) >> MT_SEG_SHIFT;
  __atomic_store_n(&mt_segmap[first], head_val, __ATOMIC_RELEASE);
  for (size_t i = 1; i < n; i++)
    __atomic_store_n(&mt_segmap[first + i], tail_val, __ATOMIC_RELEASE);
}

static void account_map(ssize_t delta) {
  stats.mapped += (size_t)delta;
  if (stats.mapped > stats.peak_mapped)
    stats.peak_mapped = stats.mapped;
}

static bool segment_new_locked(void) {
  mt_segment_t *seg = mt_os_map_aligned(MT_SEG_SIZE, MT_SEG_SIZE);
  if (seg == NULL)
    return false;
  seg->magic = MT_SEG_MAGIC;
  seg->first_data_page = mt_seg_first_data_page;
  seg->free_pages = (uint32_t)DATA_PAGES;
  seg->next = segments;
  segments = seg;
  make_free_run(seg, mt_seg_first_data_page, DATA_PAGES, false);
  segmap_set((uintptr_t)seg, MT_SEG_SIZE, MT_MAP_SEGMENT, MT_MAP_SEGMENT);
  stats.segments++;
  account_map((ssize_t)MT_SEG_SIZE);
  return true;
}

static void segment_release_locked(mt_segment_t *seg) {
  mt_segment_t **pp = &segments;
  while (*pp != seg)
    pp = &(*pp)->next;
  *pp = seg->next;
  bin_remove(&seg->runs[mt_seg_first_data_page]);
  segmap_set((uintptr_t)seg, MT_SEG_SIZE, MT_MAP_NONE, MT_MAP_NONE);
  stats.segments--;
  account_map(-(ssize_t)MT_SEG_SIZE);
  mt_os_unmap(seg, MT_SEG_SIZE);
}

static void purge_run_locked(mt_slab_t *run) {
  uintptr_t addr = mt_run_addr(run);
  size_t len = (size_t)run->npages << MT_PAGE_SHIFT;
  mt_os_purge((void *)addr, len);
  run->dirty = 0;
  dirty_pages -= run->npages;
  stats.purged += len;
}

/* Decay: a pass at most every PURGE_INTERVAL_NS gives back the free runs
 * that stayed dirty through a whole interval, so memory a program frees and
 * takes again within a phase of its work stays resident, and memory it is
 * done with goes back within about half a second. Runs freed since the last
 * pass are left for the next. Dirty pages up to an eighth of the pages in use
 * (at least PURGE_MIN_PAGES) are kept whatever their age: a heap that breathes
 * by that much reuses its own pages instead of faulting in fresh ones. With a
 * 20 ms interval and 1 MiB kept, python3 under checks mode purged 2,641 times
 * in 3 s and took 33,000 page faults against 20,000 now (docs/benchmarks.md,
 * "Purge decay"). */
static size_t purge_keep_locked(void) {
  size_t keep = used_pages >> PURGE_KEEP_SHIFT;
  return keep > PURGE_MIN_PAGES ? keep : PURGE_MIN_PAGES;
}

static void maybe_purge_locked(void) {
  size_t keep = purge_keep_locked();
  if (dirty_pages <= keep)
    return;
  uint64_t now = mt_os_now_ns();
  if (now - last_purge_ns < PURGE_INTERVAL_NS)
    return;
  last_purge_ns = now;
  uint32_t old = purge_epoch++;
  for (size_t b = MT_SEG_PAGES; b > 0 && dirty_pages > keep; b--) {
    mt_slab_t *run = bins[1][b], *next;
    for (; run && dirty_pages > keep; run = next) {
      next = run->next;
      if (run->epoch >= old)
        continue;
      bin_remove(run);
      purge_run_locked(run);
      bin_insert(run);
    }
  }
}

/* ---- public: init and lookups --------------------------------------------- */

void mt_page_init(void) {
  size_t hdr = (sizeof(mt_segment_t) + 63) & ~(size_t)63;
  mt_seg_first_data_page = (uint32_t)((hdr + MT_PAGE_SIZE - 1) >> MT_PAGE_SHIFT);
}

mt_huge_t *mt_huge_of(uintptr_t a) {
  uint8_t v = mt_segmap_lookup(a);
  if (v != MT_MAP_HUGE && v != MT_MAP_HUGE_TAIL)
    return NULL;
  uintptr_t chunk = a & ~MT_SEG_MASK;
  while (v == MT_MAP_HUGE_TAIL) {
    chunk -= MT_SEG_SIZE;
    v = mt_segmap_lookup(chunk);
  }
  if (v != MT_MAP_HUGE)
    return NULL;
  mt_huge_t *h = (mt_huge_t *)chunk;
  if (h->magic != MT_HUGE_MAGIC || a >= chunk + h->map_size)
    return NULL;
  return h;
}

/* ---- public: runs -------------------------------------------------------------- */

static mt_slab_t *take_aligned_locked(size_t k, size_t align_pages) {
  for (size_t d = 2; d-- > 0;)
  for (size_t b = bin_find(d, k); b; b = bin_find(d, b + 1)) {
    for (mt_slab_t *run = bins[d][b]; run; run = run->next) {
      size_t first = run_index(run);
      uintptr_t addr = mt_run_addr(run);
      uintptr_t mask = (align_pages << MT_PAGE_SHIFT) - 1;
      size_t skip = (((addr + mask) & ~mask) - addr) >> MT_PAGE_SHIFT;
      if (skip + k > run->npages)
        continue;
      if (skip == 0)
        return run;
      /* Split off the unaligned head as its own free run (the dirty page
       * count is unchanged: both halves keep the run's state). */
      mt_segment_t *seg = mt_segment_of(addr);
      bool dirty = run->dirty;
      size_t total = run->npages;
      bin_remove(run);
      make_free_run(seg, first, skip, dirty);
      return make_free_run(seg, first + skip, total - skip, dirty);
    }
    if (b >= MT_SEG_PAGES)
      break;
  }
  return NULL;
}

mt_slab_t *mt_page_alloc_run(size_t k, size_t align_pages, bool *dirty) {
  if (k == 0 || k > DATA_PAGES)
    return NULL;
  mt_lock(&mt_page_lock);
  mt_slab_t *run;
  for (;;) {
    if (align_pages > 1) {
      run = take_aligned_locked(k, align_pages);
    } else {
      size_t b = bin_find(1, k);
      run = b ? bins[1][b] : NULL;
      if (run == NULL) {
        b = bin_find(0, k);
        run = b ? bins[0][b] : NULL;
      }
    }
    if (run)
      break;
    if (!segment_new_locked() && !(hcache_drain_locked() && segment_new_locked())) {
      mt_unlock(&mt_page_lock);
      return NULL;
    }
  }
  mt_segment_t *seg = mt_segment_of((uintptr_t)run);
  size_t first = run_index(run), total = run->npages;
  bool was_dirty = run->dirty;
  MT_ASSERT(seg->magic == MT_SEG_MAGIC && total >= k && seg->free_pages >= k);
  MT_ASSERT(first >= mt_seg_first_data_page && first + total <= MT_SEG_PAGES);
  MT_ASSERT(!was_dirty || dirty_pages >= k);
  bin_remove(run);
  if (total > k)
    make_free_run(seg, first + k, total - k, was_dirty);
  if (was_dirty)
    dirty_pages -= k;
  memset(run, 0, sizeof(*run));
  run->npages = (uint16_t)k;
  run->kind = MT_RUN_NONE;
  set_heads(seg, first, k, first);
  seg->free_pages -= (uint32_t)k;
  used_pages += k;
  if (used_pages > peak_used_pages)
    peak_used_pages = used_pages;
  mt_unlock(&mt_page_lock);
  *dirty = was_dirty;
  return run;
}

static void hcache_maybe_age_locked(void);

void mt_page_free_run(mt_slab_t *run) {
  mt_lock(&mt_page_lock);
  mt_segment_t *seg = mt_segment_of((uintptr_t)run);
  size_t first = run_index(run), n = run->npages;
  /* An allocated run of a segment, its pages its own, counted as used. */
  MT_ASSERT(seg->magic == MT_SEG_MAGIC && run->kind != MT_RUN_FREE);
  MT_ASSERT(n > 0 && first >= mt_seg_first_data_page && first + n <= MT_SEG_PAGES);
  MT_ASSERT(seg->page_head[first] == first && seg->page_head[first + n - 1] == first);
  MT_ASSERT(used_pages >= n && seg->free_pages + n <= DATA_PAGES);
  used_pages -= n;
  seg->free_pages += (uint32_t)n;
  bool dirty = true;
  dirty_pages += n;
  /* Merge with the free runs on either side. */
  size_t right = first + n;
  if (right < MT_SEG_PAGES && seg->runs[right].kind == MT_RUN_FREE) {
    mt_slab_t *r = &seg->runs[right];
    bin_remove(r);
    if (!r->dirty)
      dirty_pages += r->npages; /* the merged run counts as dirty */
    n += r->npages;
    r->kind = MT_RUN_NONE;
  }
  if (first > mt_seg_first_data_page) {
    mt_slab_t *l = &seg->runs[seg->page_head[first - 1]];
    if (l->kind == MT_RUN_FREE) {
      bin_remove(l);
      if (!l->dirty)
        dirty_pages += l->npages;
      n += l->npages;
      run->kind = MT_RUN_NONE;
      first = run_index(l);
    }
  }
  if (n == DATA_PAGES && (segments != seg || seg->next)) {
    /* A wholly free segment, and not the only one: unmap it. */
    dirty_pages -= n;
    make_free_run(seg, first, n, false);
    segment_release_locked(seg);
  } else {
    make_free_run(seg, first, n, dirty);
    maybe_purge_locked();
  }
  hcache_maybe_age_locked();
  mt_unlock(&mt_page_lock);
}

bool mt_page_try_grow_run(mt_slab_t *run, size_t k) {
  bool ok = false;
  mt_lock(&mt_page_lock);
  mt_segment_t *seg = mt_segment_of((uintptr_t)run);
  size_t first = run_index(run), n = run->npages, right = first + n;
  if (k <= n) {
    ok = true;
  } else if (right < MT_SEG_PAGES && seg->runs[right].kind == MT_RUN_FREE &&
             n + seg->runs[right].npages >= k) {
    mt_slab_t *r = &seg->runs[right];
    size_t rn = r->npages, need = k - n;
    bool rdirty = r->dirty;
    bin_remove(r);
    r->kind = MT_RUN_NONE;
    if (rdirty)
      dirty_pages -= need;
    if (rn > need)
      make_free_run(seg, right + need, rn - need, rdirty);
    set_heads(seg, right, need, first);
    run->npages = (uint16_t)k;
    seg->free_pages -= (uint32_t)need;
    used_pages += need;
    ok = true;
  }
  mt_unlock(&mt_page_lock);
  return ok;
}

/* ---- the huge cache ---------------------------------------------------------- */

static size_t page_round(size_t n) { return (n + MT_PAGE_SIZE - 1) & ~(MT_PAGE_SIZE - 1); }
static size_t seg_round(size_t n) { return (n + MT_SEG_SIZE - 1) & ~(size_t)MT_SEG_MASK; }

/* Takes entry i out of the cache (its page-map bytes are the caller's). */
static huge_cached_t hcache_take_locked(unsigned i) {
  huge_cached_t e = hcache[i];
  memmove(&hcache[i], &hcache[i + 1], (hcache_n - i - 1) * sizeof(hcache[0]));
  hcache_n--;
  stats.huge_cached -= e.size;
  return e;
}

/* Adds [base, base+size) to the cache if it fits under the bound, making room
 * by moving the oldest entries into out[] (*nout, for the caller to unmap
 * after unlocking); false when it does not fit at all. */
static bool hcache_put_locked(uintptr_t base, size_t size, uint64_t now, huge_cached_t *out,
                              unsigned *nout) {
  if (size > huge_cache_limit)
    return false;
  while (hcache_n && (hcache_n == HUGE_CACHE_SLOTS || stats.huge_cached + size > huge_cache_limit)) {
    out[(*nout)++] = hcache_take_locked(0);
    stats.huge_cache_evicted++;
  }
  hcache[hcache_n++] = (huge_cached_t){base, size, now};
  stats.huge_cached += size;
  segmap_set(base, size, MT_MAP_CACHED, MT_MAP_CACHED);
  return true;
}

/* Moves the entries unused for HUGE_CACHE_AGE_NS into out[]. */
static void hcache_age_locked(uint64_t now, huge_cached_t *out, unsigned *nout) {
  while (hcache_n && now - hcache[0].when > HUGE_CACHE_AGE_NS) {
    out[(*nout)++] = hcache_take_locked(0);
    stats.huge_cache_aged++;
  }
}

/* Unmaps what the two functions above took out (page lock not held, except
 * from hcache_maybe_age_locked). */
static void hcache_unmap(const huge_cached_t *out, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    mt_os_unmap((void *)out[i].base, out[i].size);
}

/* Marks entries taken out of the cache as no longer ours in the page map. */
static void hcache_forget_locked(const huge_cached_t *out, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    segmap_set(out[i].base, out[i].size, MT_MAP_NONE, MT_MAP_NONE);
    account_map(-(ssize_t)out[i].size);
  }
}

/* Ages the cache from the page-run free path, so that a program that stops
 * using huge blocks but goes on freeing medium blocks or slabs gets the cached
 * mappings given back too (unmapped under the lock, as segment_release_locked
 * does; rare: once per mapping). */
static void hcache_maybe_age_locked(void) {
  if (hcache_n == 0)
    return;
  uint64_t now = mt_os_now_ns();
  if (now - hcache[0].when <= HUGE_CACHE_AGE_NS)
    return;
  huge_cached_t old[HUGE_CACHE_SLOTS];
  unsigned nold = 0;
  hcache_age_locked(now, old, &nold);
  hcache_forget_locked(old, nold);
  hcache_unmap(old, nold);
}

/* Memory pressure: a mapping failed. Gives every cached mapping back (under
 * the lock, as segment_release_locked unmaps) and says whether there was any,
 * that is whether a retry may succeed. */
static bool hcache_drain_locked(void) {
  if (hcache_n == 0)
    return false;
  huge_cached_t old[HUGE_CACHE_SLOTS] = {{0}}; /* rare: the zeroing costs nothing that matters */
  unsigned nold = 0;
  while (hcache_n)
    old[nold++] = hcache_take_locked(0);
  hcache_forget_locked(old, nold);
  hcache_unmap(old, nold);
  stats.huge_cache_drained++;
  return true;
}

size_t mt_page_trim(void) {
  mt_lock(&mt_page_lock);
  size_t before = stats.purged, mapped = stats.mapped;
  for (size_t b = MT_SEG_PAGES; b > 0; b--) {
    mt_slab_t *run;
    while ((run = bins[1][b]) != NULL) {
      bin_remove(run);
      purge_run_locked(run);
      bin_insert(run);
    }
  }
  if (hcache_drain_locked())
    stats.huge_cache_drained--; /* asked for, not memory pressure */
  size_t freed = (stats.purged - before) + (mapped - stats.mapped);
  mt_unlock(&mt_page_lock);
  return freed;
}

/* Maps `size` bytes on a segment boundary for a huge block; on failure
 * empties the cache and tries once more. Page lock not held. */
static void *huge_map(size_t size) {
  void *p = mt_os_map_aligned(size, MT_SEG_SIZE);
  if (p == NULL && __atomic_load_n(&hcache_n, __ATOMIC_RELAXED)) {
    mt_lock(&mt_page_lock);
    bool drained = hcache_drain_locked();
    mt_unlock(&mt_page_lock);
    if (drained)
      p = mt_os_map_aligned(size, MT_SEG_SIZE);
  }
  return p;
}

/* A mapping of `total` bytes from the cache, or 0: the smallest entry that
 * holds it (a remainder of a segment or more past the block goes back to the
 * cache as an entry of its own), else the largest grown with mremap (in place
 * or moved), which keeps its resident pages. *size_out is the mapping's size. */
static uintptr_t hcache_get_locked(size_t total, size_t *size_out, uint64_t now) {
  unsigned best = HUGE_CACHE_SLOTS, largest = HUGE_CACHE_SLOTS;
  for (unsigned i = 0; i < hcache_n; i++) {
    if (hcache[i].size >= total && (best == HUGE_CACHE_SLOTS || hcache[i].size < hcache[best].size))
      best = i;
    if (largest == HUGE_CACHE_SLOTS || hcache[i].size > hcache[largest].size)
      largest = i;
  }
  if (best != HUGE_CACHE_SLOTS) {
    huge_cached_t e = hcache_take_locked(best);
    size_t keep = seg_round(total);
    if (keep < e.size && e.size - keep >= MT_SEG_SIZE) {
      hcache[hcache_n++] = (huge_cached_t){e.base + keep, e.size - keep, now};
      stats.huge_cached += e.size - keep;
      e.size = keep;
    }
    *size_out = e.size;
    return e.base;
  }
  if (largest == HUGE_CACHE_SLOTS)
    return 0;
  huge_cached_t e = hcache[largest];
  uintptr_t at = e.base;
  if (!mt_os_try_grow((void *)e.base, e.size, total)) {
    void *dest = mt_os_map_aligned(total, MT_SEG_SIZE);
    if (dest == NULL)
      return 0;
    if (mt_os_move((void *)e.base, e.size, total, dest) == NULL) {
      mt_os_unmap(dest, total);
      return 0;
    }
    segmap_set(e.base, e.size, MT_MAP_NONE, MT_MAP_NONE);
    at = (uintptr_t)dest;
  }
  hcache_take_locked(largest);
  account_map((ssize_t)total - (ssize_t)e.size);
  *size_out = total;
  return at;
}

/* ---- public: huge blocks ---------------------------------------------------- */

void *mt_huge_alloc(size_t n, size_t align, bool *dirty, mt_huge_t **hdr_out) {
  size_t slack = align > MT_PAGE_SIZE ? align : 0;
  if (n > ((size_t)1 << MT_ADDR_BITS) || align > ((size_t)1 << 40)) {
    errno = ENOMEM;
    return NULL;
  }
  size_t total = MT_PAGE_SIZE + page_round(n) + slack;
  huge_cached_t old[HUGE_CACHE_SLOTS];
  unsigned nold = 0;
  char *base = NULL;
  *dirty = false;
  if (__atomic_load_n(&hcache_n, __ATOMIC_RELAXED)) { /* a hint, checked again under the lock */
    mt_lock(&mt_page_lock);
    uint64_t now = mt_os_now_ns(); /* under the lock: entries stay in time order */
    hcache_age_locked(now, old, &nold);
    hcache_forget_locked(old, nold);
    size_t got = 0;
    base = (char *)hcache_get_locked(total, &got, now);
    if (base) {
      total = got;
      stats.huge_reused++;
      *dirty = true;
    }
    mt_unlock(&mt_page_lock);
    hcache_unmap(old, nold);
  }
  if (base == NULL) {
    base = huge_map(total);
    if (base == NULL) {
      errno = ENOMEM;
      return NULL;
    }
  }
  uintptr_t user = (uintptr_t)base + MT_PAGE_SIZE;
  if (slack)
    user = (user + align - 1) & ~(uintptr_t)(align - 1);
  mt_huge_t *h = (mt_huge_t *)base;
  memset(h, 0, sizeof(*h));
  h->magic = MT_HUGE_MAGIC;
  h->map_size = total;
  h->user = user;
  h->usable = (uintptr_t)base + total - user;
  h->big_size = n;
  mt_lock(&mt_page_lock);
  h->prev = NULL;
  h->next = huge_list;
  if (huge_list)
    huge_list->prev = h;
  huge_list = h;
  segmap_set((uintptr_t)base, total, MT_MAP_HUGE, MT_MAP_HUGE_TAIL);
  stats.huge_blocks++;
  if (!*dirty)
    account_map((ssize_t)total);
  mt_unlock(&mt_page_lock);
  *hdr_out = h;
  return (void *)user;
}

void mt_huge_free(mt_huge_t *h) {
  huge_cached_t old[HUGE_CACHE_SLOTS + 1];
  unsigned nold = 0;
  mt_lock(&mt_page_lock);
  uint64_t now = mt_os_now_ns(); /* under the lock: entries stay in time order */
  if (h->prev)
    h->prev->next = h->next;
  else
    huge_list = h->next;
  if (h->next)
    h->next->prev = h->prev;
  stats.huge_blocks--;
  h->magic = 0;
  uintptr_t base = (uintptr_t)h;
  size_t size = h->map_size;
  hcache_age_locked(now, old, &nold);
  bool cached = hcache_put_locked(base, size, now, old, &nold);
  if (!cached)
    old[nold++] = (huge_cached_t){base, size, now};
  hcache_forget_locked(old, nold);
  mt_unlock(&mt_page_lock);
  hcache_unmap(old, nold);
}

void mt_huge_cache_set_limit(size_t bytes) {
  huge_cached_t old[HUGE_CACHE_SLOTS];
  unsigned nold = 0;
  mt_lock(&mt_page_lock);
  huge_cache_limit = bytes;
  while (hcache_n && stats.huge_cached > huge_cache_limit)
    old[nold++] = hcache_take_locked(0);
  hcache_forget_locked(old, nold);
  mt_unlock(&mt_page_lock);
  hcache_unmap(old, nold);
}

void mt_huge_cache_flush(void) {
  huge_cached_t old[HUGE_CACHE_SLOTS];
  unsigned nold = 0;
  mt_lock(&mt_page_lock);
  while (hcache_n)
    old[nold++] = hcache_take_locked(0);
  hcache_forget_locked(old, nold);
  mt_unlock(&mt_page_lock);
  hcache_unmap(old, nold);
}

void *mt_huge_resize(mt_huge_t *h, size_t n) {
  if (n > ((size_t)1 << MT_ADDR_BITS))
    return NULL;
  size_t off = h->user - (uintptr_t)h;
  size_t total = off + page_round(n);
  size_t old = h->map_size;
  if (total == old) {
    h->big_size = n;
    return (void *)h->user;
  }
  mt_lock(&mt_page_lock);
  mt_huge_t *nh = h;
  if (total < old) {
    segmap_set((uintptr_t)h, old, MT_MAP_NONE, MT_MAP_NONE);
    mt_os_shrink(h, old, total);
  } else if (mt_os_try_grow(h, old, total)) {
    /* grown in place */
  } else {
    mt_unlock(&mt_page_lock);
    void *dest = huge_map(total);
    if (dest == NULL)
      return NULL;
    mt_lock(&mt_page_lock);
    nh = mt_os_move(h, old, total, dest);
    if (nh == NULL) {
      mt_unlock(&mt_page_lock);
      mt_os_unmap(dest, total);
      return NULL;
    }
    segmap_set((uintptr_t)h, old, MT_MAP_NONE, MT_MAP_NONE);
    if (nh->prev)
      nh->prev->next = nh;
    else
      huge_list = nh;
    if (nh->next)
      nh->next->prev = nh;
  }
  nh->map_size = total;
  nh->user = (uintptr_t)nh + off;
  nh->usable = total - off;
  nh->big_size = n;
  segmap_set((uintptr_t)nh, total, MT_MAP_HUGE, MT_MAP_HUGE_TAIL);
  account_map((ssize_t)total - (ssize_t)old);
  mt_unlock(&mt_page_lock);
  return (void *)nh->user;
}

/* ---- public: accounting and life cycle -------------------------------------- */

void mt_page_get_stats(mt_page_stats_t *out) {
  mt_lock(&mt_page_lock);
  *out = stats;
  out->dirty = dirty_pages << MT_PAGE_SHIFT;
  out->used = used_pages << MT_PAGE_SHIFT;
  out->peak_used = peak_used_pages << MT_PAGE_SHIFT;
  mt_unlock(&mt_page_lock);
}

void mt_page_fork_prepare(void) { mt_lock(&mt_page_lock); }
void mt_page_fork_parent(void) { mt_unlock(&mt_page_lock); }
void mt_page_fork_child(void) { mt_lock_reset(&mt_page_lock); }

bool mt_page_is_valid(void) {
  bool ok = true;
  size_t free_seen = 0, dirty_seen = 0;
  mt_lock(&mt_page_lock);
  for (mt_segment_t *seg = segments; seg && ok; seg = seg->next) {
    if (seg->magic != MT_SEG_MAGIC || mt_segmap[(uintptr_t)seg >> MT_SEG_SHIFT] != MT_MAP_SEGMENT)
      ok = false;
    size_t seg_free = 0;
    bool prev_free = false;
    for (size_t p = mt_seg_first_data_page; p < MT_SEG_PAGES && ok;) {
      mt_slab_t *run = &seg->runs[p];
      if (run->npages == 0 || p + run->npages > MT_SEG_PAGES) {
        ok = false;
        break;
      }
      for (size_t i = p; i < p + run->npages; i++)
        if (seg->page_head[i] != p)
          ok = false;
      bool is_free = run->kind == MT_RUN_FREE;
      if (is_free && prev_free)
        ok = false; /* two free runs touching */
      if (is_free) {
        seg_free += run->npages;
        if (run->dirty)
          dirty_seen += run->npages;
      }
      prev_free = is_free;
      p += run->npages;
    }
    if (seg_free != seg->free_pages)
      ok = false;
    free_seen += seg_free;
  }
  if (dirty_seen != dirty_pages)
    ok = false;
  size_t cached = 0;
  for (unsigned i = 0; i < hcache_n; i++) {
    cached += hcache[i].size;
    if ((hcache[i].base & MT_SEG_MASK) || mt_segmap_lookup(hcache[i].base) != MT_MAP_CACHED ||
        (i && hcache[i].when < hcache[i - 1].when))
      ok = false;
  }
  if (cached != stats.huge_cached || cached > huge_cache_limit)
    ok = false;
  (void)free_seen;
  mt_unlock(&mt_page_lock);
  return ok;
}

void mt_page_walk(mt_run_fn run_fn, mt_huge_fn huge_fn, void *arg) {
  mt_lock(&mt_page_lock);
  mt_page_walk_locked(run_fn, huge_fn, arg);
  mt_unlock(&mt_page_lock);
}

void mt_page_walk_locked(mt_run_fn run_fn, mt_huge_fn huge_fn, void *arg) {
  for (mt_segment_t *seg = segments; seg; seg = seg->next)
    for (size_t p = mt_seg_first_data_page; p < MT_SEG_PAGES;) {
      mt_slab_t *run = &seg->runs[p];
      if (run->npages == 0)
        break; /* cannot happen: runs tile the data pages */
      uint8_t kind = __atomic_load_n(&run->kind, __ATOMIC_ACQUIRE);
      if (run_fn && (kind == MT_RUN_SLAB || kind == MT_RUN_MEDIUM))
        run_fn(run, arg);
      p += run->npages;
    }
  for (mt_huge_t *h = huge_list; h && huge_fn; h = h->next)
    huge_fn(h, arg);
}

void mt_page_claim(uintptr_t base, size_t size, uint8_t kind) {
  for (uintptr_t a = base; a < base + size; a += MT_SEG_SIZE)
    __atomic_store_n(&mt_segmap[a >> MT_SEG_SHIFT], kind, __ATOMIC_RELEASE);
}
