/* page.c - segments, page runs, huge blocks and the page map (see page.h).
 * Invariants: every data page of a segment has page_head set to the first
 * page of the run (free or used) that holds it; free runs sit in
 * bins[dirty][npages] (runs whose pages may be resident are reused first)
 * and no two free runs touch (they are merged on free). All of it, the huge
 * list and the counters are guarded by mt_page_lock; mt_segmap entries are
 * written under the lock and read without it. */
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
#define PURGE_MIN_PAGES 256            /* 1 MiB of dirty free pages is always kept */
#define PURGE_INTERVAL_NS 20000000ull  /* at most one purge pass per 20 ms */
static uint64_t last_purge_ns;
static uint32_t purge_epoch;

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
 * soon takes again stays resident, and memory it is done with goes back
 * within ~40 ms. Runs freed since the last pass are left for the next. */
static void maybe_purge_locked(void) {
  if (dirty_pages <= PURGE_MIN_PAGES)
    return;
  uint64_t now = mt_os_now_ns();
  if (now - last_purge_ns < PURGE_INTERVAL_NS)
    return;
  last_purge_ns = now;
  uint32_t old = purge_epoch++;
  for (size_t b = MT_SEG_PAGES; b > 0 && dirty_pages > PURGE_MIN_PAGES; b--) {
    mt_slab_t *run = bins[1][b], *next;
    for (; run && dirty_pages > PURGE_MIN_PAGES; run = next) {
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
    if (!segment_new_locked()) {
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

/* ---- public: huge blocks ---------------------------------------------------- */

static size_t page_round(size_t n) { return (n + MT_PAGE_SIZE - 1) & ~(MT_PAGE_SIZE - 1); }

void *mt_huge_alloc(size_t n, size_t align, mt_huge_t **hdr_out) {
  size_t slack = align > MT_PAGE_SIZE ? align : 0;
  if (n > ((size_t)1 << MT_ADDR_BITS) || align > ((size_t)1 << 40)) {
    errno = ENOMEM;
    return NULL;
  }
  size_t total = MT_PAGE_SIZE + page_round(n) + slack;
  char *base = mt_os_map_aligned(total, MT_SEG_SIZE);
  if (base == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  uintptr_t user = (uintptr_t)base + MT_PAGE_SIZE;
  if (slack)
    user = (user + align - 1) & ~(uintptr_t)(align - 1);
  mt_huge_t *h = (mt_huge_t *)base;
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
  account_map((ssize_t)total);
  mt_unlock(&mt_page_lock);
  *hdr_out = h;
  return (void *)user;
}

void mt_huge_free(mt_huge_t *h) {
  mt_lock(&mt_page_lock);
  if (h->prev)
    h->prev->next = h->next;
  else
    huge_list = h->next;
  if (h->next)
    h->next->prev = h->prev;
  segmap_set((uintptr_t)h, h->map_size, MT_MAP_NONE, MT_MAP_NONE);
  stats.huge_blocks--;
  account_map(-(ssize_t)h->map_size);
  h->magic = 0;
  mt_unlock(&mt_page_lock);
  mt_os_unmap(h, h->map_size);
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
    void *dest = mt_os_map_aligned(total, MT_SEG_SIZE);
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
