/* page.h - the page level: segments and their page runs, huge blocks, and the
 * page map that says for any address whether it is ours and which run holds it.
 * Runs and huge blocks are handed out under one page lock; lookups take no
 * lock (a run's descriptor is stable while the caller owns a block in it). */
#ifndef MT_PAGE_H
#define MT_PAGE_H

#include "lock.h"
#include "mt_types.h"

extern uint8_t mt_segmap[MT_SEGMAP_LEN];
extern mt_lock_t mt_page_lock;

/* Layout constants computed by mt_page_init(). */
extern uint32_t mt_seg_first_data_page;

void mt_page_init(void);

/* ---- lookups (lock-free) ---------------------------------------------- */
static inline uint8_t mt_segmap_lookup(uintptr_t a) {
  if (MT_UNLIKELY(a >> MT_ADDR_BITS))
    return MT_MAP_NONE;
  return mt_segmap[a >> MT_SEG_SHIFT];
}

static inline mt_segment_t *mt_segment_of(uintptr_t a) {
  return (mt_segment_t *)(a & ~MT_SEG_MASK);
}

/* The run holding a, for an address in a segment; NULL for header pages. */
static inline mt_slab_t *mt_run_of(uintptr_t a) {
  mt_segment_t *seg = mt_segment_of(a);
  MT_ASSERT(seg->magic == MT_SEG_MAGIC); /* the page map said: a segment */
  uint16_t head = seg->page_head[(a & MT_SEG_MASK) >> MT_PAGE_SHIFT];
  MT_ASSERT(head == 0 || (head <= (a & MT_SEG_MASK) >> MT_PAGE_SHIFT && head < MT_SEG_PAGES));
  return head ? &seg->runs[head] : NULL;
}

static inline uintptr_t mt_run_addr(const mt_slab_t *run) {
  uintptr_t seg = (uintptr_t)run & ~MT_SEG_MASK;
  size_t idx = (size_t)(run - ((mt_segment_t *)seg)->runs);
  return seg + (idx << MT_PAGE_SHIFT);
}

/* Huge block whose mapping holds a, or NULL. */
mt_huge_t *mt_huge_of(uintptr_t a);

/* ---- runs ------------------------------------------------------------- */
/* A run of npages whose address is a multiple of align_pages pages; the
 * descriptor is returned with kind MT_RUN_NONE for the caller to fill.
 * *dirty tells whether its pages may hold old bytes. NULL when out of memory. */
mt_slab_t *mt_page_alloc_run(size_t npages, size_t align_pages, bool *dirty);
void mt_page_free_run(mt_slab_t *run);
/* Grows a medium run in place by taking the free pages after it. */
bool mt_page_try_grow_run(mt_slab_t *run, size_t npages);

/* ---- huge blocks ------------------------------------------------------ */
/* Returns the user pointer; *dirty tells whether its memory may hold old
 * bytes (a mapping reused from the huge cache) or is fresh (zero). NULL +
 * ENOMEM on failure. Memory pressure: a mapping that fails (here, for a new
 * segment and for a huge realloc that moves) empties the huge cache and is
 * tried once more. */
void *mt_huge_alloc(size_t n, size_t align, bool *dirty, mt_huge_t **hdr_out);
/* Gives the mapping to the huge cache (bounded, aged) or back to the OS. */
void mt_huge_free(mt_huge_t *h);
/* Bytes the huge cache may hold (0 = no cache); the oldest go past it.
 * mt_init() sets it from MEMTYPE_HUGE_CACHE (whose default this is). */
#define MT_HUGE_CACHE_DEFAULT ((size_t)128 << 20)
void mt_huge_cache_set_limit(size_t bytes);
/* Gives every cached mapping back to the OS. */
void mt_huge_cache_flush(void);
/* Resizes; returns the new user pointer or NULL (old block intact). */
void *mt_huge_resize(mt_huge_t *h, size_t n);

/* Marks [base, base+size) (4 MiB aligned) in the page map as `kind`
 * (memguard's region: MT_MAP_GUARD). */
void mt_page_claim(uintptr_t base, size_t size, uint8_t kind);

/* ---- walking the heap ------------------------------------------------- */
/* Calls run_fn for every slab and medium run and huge_fn for every huge
 * block, under the page lock: none appears or vanishes meanwhile (their
 * slots may still change state). The callbacks must not allocate. */
typedef void (*mt_run_fn)(mt_slab_t *run, void *arg);
typedef void (*mt_huge_fn)(mt_huge_t *h, void *arg);
void mt_page_walk(mt_run_fn run_fn, mt_huge_fn huge_fn, void *arg);
/* The same when the caller holds mt_page_lock. */
void mt_page_walk_locked(mt_run_fn run_fn, mt_huge_fn huge_fn, void *arg);

/* ---- accounting and life cycle ----------------------------------------- */
typedef struct mt_page_stats_s {
  size_t mapped;      /* bytes mapped now (segments + huge) */
  size_t peak_mapped; /* high-water mark of mapped */
  size_t segments;    /* segments mapped now */
  size_t huge_blocks; /* huge blocks live now */
  size_t huge_cached; /* bytes of freed huge mappings in the huge cache (in mapped) */
  size_t huge_reused; /* huge blocks served from the huge cache */
  size_t huge_cache_evicted; /* cached mappings unmapped to stay under the bound */
  size_t huge_cache_aged;    /* cached mappings unmapped after HUGE_CACHE_AGE_NS unused */
  size_t huge_cache_drained; /* times a failed mapping emptied the cache before its retry */
  size_t purged;      /* bytes given back with madvise over the run */
  size_t dirty;       /* free pages that may be resident, in bytes */
  size_t used;        /* bytes in allocated runs (slabs and medium blocks) */
  size_t peak_used;   /* high-water mark of used */
} mt_page_stats_t;

void mt_page_get_stats(mt_page_stats_t *out);
/* malloc_trim: gives back every free page run's pages (not only those the
 * decay would) and empties the huge cache; the bytes given back. */
size_t mt_page_trim(void);
void mt_page_fork_prepare(void);
void mt_page_fork_parent(void);
void mt_page_fork_child(void);
bool mt_page_is_valid(void);

#endif
