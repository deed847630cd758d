/* mt_types.h - memtype's shared vocabulary: constants, the segment layout and
 * the structures every core module uses. Owns no state.
 *
 * Glossary
 *   segment  4 MiB of address space aligned to 4 MiB, obtained with mmap. Its
 *            first pages hold the segment header (run descriptors); the rest
 *            are 4 KiB pages handed out in runs.
 *   run      contiguous pages of one segment: either a slab or one medium block.
 *   slab     a run cut into equal slots of one size class.
 *   slot     one block as the program sees it. Its metadata (requested size,
 *            type id, state, family) lives out of band in a metadata block
 *            of internal memory (arena.c), never next to the user's bytes.
 *   zone     the slabs of one size class taken from one CPU, with their lock
 *            (UMA's zone/keg, one per class per CPU shard: mt_zones[shard][c]).
 *   cache    a thread's stack of free slots per class (UMA's per-CPU bucket).
 *   huge     a block too big for a segment: its own aligned mapping, a header
 *            page in front of the user's bytes.
 *   site     the call site that allocated; a type is one site (or a named group).
 *
 *   segment (4 MiB, aligned)
 *   +----------------+-----------------------------------------------------+
 *   | header: runs[] | data pages: runs  [slab c=3 | slab c=9 | medium | free]|
 *   | page_head[]    |                      |  meta[] + bitmap in the arena   |
 *   +----------------+-----------------------------------------------------+
 *   segmap[addr >> 22] says whether an address is in a segment or a huge block;
 *   page_head[(addr - seg) >> 12] gives the first page of the run holding it,
 *   and slabs[head] that run's descriptor; the slot is (addr - start) / size,
 *   a multiply by a reciprocal.
 */
#ifndef MT_TYPES_H
#define MT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT_LIKELY(x) __builtin_expect(!!(x), 1)
#define MT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MT_NOINLINE __attribute__((noinline))
#define MT_COLD __attribute__((cold))
#define MT_HIDDEN __attribute__((visibility("hidden")))
#define MT_TLS __thread __attribute__((tls_model("initial-exec")))
#define MT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* MT_ASSERT(e): an invariant, checked in Debug builds (MT_DEBUG, set by
 * CMAKE_BUILD_TYPE=Debug) and compiled out otherwise (e is then not
 * evaluated, only type-checked, so that what it names counts as used): e
 * must have no side effects. A false one ends in mt_assert_fail
 * (core/mt_assert.c): a line on stderr naming the expression, file and
 * line, then SIGABRT. */
void mt_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn, cold));
#ifdef MT_DEBUG
#define MT_DEBUG_ON 1 /* for `if (MT_DEBUG_ON)` around a loop of assertions */
#define MT_ASSERT(e) (MT_LIKELY(e) ? (void)0 : mt_assert_fail(#e, __FILE__, __LINE__))
#else
#define MT_DEBUG_ON 0
#define MT_ASSERT(e) ((void)sizeof(!(e)))
#endif

/* MT_CONFIG_PEAK: the exact heap peak, each type's own high-water mark and
 * the timeline (issue 23). The CMake option MEMTYPE_NO_PEAK (off; for
 * benchmarks only: it measures what they cost, docs/benchmarks.md) compiles
 * out their work on the fast and slow paths; the dump's PEAK and HIGHUSE
 * then hold nothing and no snapshot is taken. */
#ifdef MT_NO_PEAK
static const bool MT_CONFIG_PEAK = false;
#else
static const bool MT_CONFIG_PEAK = true;
#endif

/* Return addresses an error or injected-failure event keeps (report.h,
 * fail.h); the dump writes as many (dump_format.h, MT_DUMP_EVENT_FRAMES). */
#define MT_EVENT_FRAMES 8

/* ---- geometry ---------------------------------------------------------- */
#define MT_SEG_SHIFT 22
#define MT_SEG_SIZE ((uintptr_t)1 << MT_SEG_SHIFT)
#define MT_SEG_MASK (MT_SEG_SIZE - 1)
#define MT_PAGE_SHIFT 12
#define MT_PAGE_SIZE ((size_t)1 << MT_PAGE_SHIFT)
#define MT_SEG_PAGES (MT_SEG_SIZE >> MT_PAGE_SHIFT) /* 1024 */
#define MT_ADDR_BITS 47
#define MT_SEGMAP_LEN ((size_t)1 << (MT_ADDR_BITS - MT_SEG_SHIFT))

#define MT_MIN_ALIGN 16
#define MT_SMALL_MAX 8192           /* largest size served from slabs */
#define MT_MEDIUM_MAX (1u << 20)    /* largest size served as a page run */
#define MT_SLAB_MAX_PAGES 64        /* slabs are 1..64 pages */
#define MT_RECIP_SHIFT 40           /* slot = (offset * recip) >> 40, exact below 2^18 */
#define MT_SLOTS_PER_PAGE (MT_PAGE_SIZE / MT_MIN_ALIGN) /* 256 */

/* Block states kept in the slot metadata. FREE must be 0: fresh meta is zero.
 * BUSY, QUARANTINE and TRASHED exist only with MEMTYPE_TRASH/REDZONE: a freed block
 * waiting in the quarantine, and a free block whose bytes are the trash
 * pattern (verified when it is handed out again). */
enum mt_state {
  MT_STATE_FREE = 0,
  MT_STATE_LIVE = 1,
  MT_STATE_BUSY = 2, /* checks on: being handed out or freed (its patterns in flux) */
  MT_STATE_QUARANTINE = 3,
  MT_STATE_TRASHED = 4,
};

/* Allocating family: a block must be released by the matching family. */
enum mt_family {
  MT_FAM_MALLOC = 0, /* malloc calloc realloc memalign family */
  MT_FAM_NEW,        /* operator new */
  MT_FAM_NEW_ARRAY,  /* operator new[] */
  MT_FAM_COUNT
};
extern const char *const mt_family_names[MT_FAM_COUNT];
extern const char *const mt_family_free_names[MT_FAM_COUNT];

/* Out-of-band metadata of one slot (or one medium/huge block): 8 bytes,
 * written with one store on allocation, one byte on free. */
typedef union mt_meta_u {
  struct {
    uint32_t size;  /* requested size */
    uint16_t type;  /* type id (0 = untyped) */
    uint8_t state;  /* enum mt_state */
    uint8_t family; /* enum mt_family */
  } f;
  uint64_t word;
} mt_meta_t;
_Static_assert(sizeof(mt_meta_t) == 8, "meta is one word");

/* A meta's family byte: the family (enum mt_family) in its low 2 bits and,
 * for a block of an aligned operator new, log2 of its alignment plus 1
 * above them (0 for any other), so that a delete given another alignment
 * (or none) is told from its own. A free or delete passes the same byte. */
#define MT_FAM_BITS 3u
#define MT_FAM_ALIGN_SHIFT 2
static inline unsigned mt_fam(unsigned byte) { return byte & MT_FAM_BITS; }
/* The byte of family fam with alignment al (an aligned new or delete);
 * fam alone for an alignment that is no power of two or too large. */
static inline unsigned mt_fam_aligned(unsigned fam, size_t al) {
  if (al == 0 || (al & (al - 1)) != 0 || __builtin_ctzll(al) + 1 >= (1 << (8 - MT_FAM_ALIGN_SHIFT)))
    return fam;
  return fam | (unsigned)(__builtin_ctzll(al) + 1) << MT_FAM_ALIGN_SHIFT;
}
/* The alignment a family byte names (0: none). */
static inline size_t mt_fam_align(unsigned byte) {
  unsigned k = (byte & 0xff) >> MT_FAM_ALIGN_SHIFT;
  return k ? (size_t)1 << (k - 1) : 0;
}

static inline uint64_t mt_meta_pack(uint32_t size, uint16_t type, uint8_t state,
                                    uint8_t family) {
  mt_meta_t m;
  m.f.size = size;
  m.f.type = type;
  m.f.state = state;
  m.f.family = family;
  return m.word;
}


enum mt_run_kind { MT_RUN_NONE = 0, MT_RUN_SLAB, MT_RUN_MEDIUM, MT_RUN_FREE };

typedef struct mt_segment_s mt_segment_t;

/* Descriptor of a run, stored in its segment header at the run's first page.
 * Slab fields are guarded by the zone lock of its class and shard; medium
 * and free runs by the page lock. Layout (issue 24): two cache lines, since
 * runs[] starts on a line. The first holds what the fast paths read (start,
 * recip, slot_size, nslots, kind, cls, meta) and nothing written while the
 * slab lives; the second what the zone and page levels write (free count,
 * bitmap cursor, list links, a medium block's metadata). A flush or refill
 * of this slab by one thread (a cross-thread free's flush, say) then does
 * not take from the others the line their free reads. */
typedef struct mt_slab_s {
  /* ---- line 0: fixed while the run is a slab; read by the fast paths ---- */
  uintptr_t start;          /* address of the first slot */
  uint64_t recip;           /* ceil(2^40 / slot_size), see mt_slab_index() */
  uint32_t slot_size;       /* bytes per slot (slabs) */
  uint16_t npages;          /* run length in pages */
  uint16_t nslots;          /* slots in the slab */
  uint8_t kind;             /* enum mt_run_kind */
  uint8_t cls;              /* size class (slabs) */
  uint8_t shard;            /* slabs: the CPU shard of the zone that owns it (zone.h) */
  mt_meta_t *meta;          /* nslots entries */
  uintptr_t *free_pcs;      /* nslots entries with checks on (where each was freed), else NULL */
  uint64_t *stks;           /* nslots entries with checks on: stack depot ids (depot.h), else NULL */
  uint64_t *bits;           /* free bitmap, bit set = slot free in the slab */
  /* ---- line 1: written by the zone (under its lock) and page levels ---- */
  uint16_t nfree __attribute__((aligned(64))); /* slots whose bit is set in bits[] */
  uint16_t scan;            /* first bitmap word that may have a bit set */
  uint8_t list;             /* which zone list holds it (slabs) */
  uint8_t dirty;            /* free run: pages may be resident */
  uint8_t leak_mark;        /* leak scan: the mark of a medium block */
  uint32_t epoch;           /* free runs: purge epoch when it became dirty */
  struct mt_slab_s *prev;   /* zone list links */
  struct mt_slab_s *next;
  uintptr_t free_pc;        /* medium blocks: where it was freed (checks on) */
  uint64_t stk;             /* medium blocks: their stack depot ids (checks on) */
  mt_meta_t run_meta;       /* medium blocks: their metadata */
  uint8_t *leak_marks;      /* leak scan: a mark per slot (slabs), or NULL */
} mt_slab_t;

/* With checks on, the nslots entries after stks[] say, per slot, the bytes
 * between the slot's first byte and its block's start (its front redzone);
 * else NULL. Derived, not a field: a run descriptor stays 128 bytes, so the
 * fast paths index the segment's runs[] with a shift. */
static inline uint32_t *mt_slab_fronts(const mt_slab_t *s) {
  return s->stks ? (uint32_t *)(s->stks + s->nslots) : NULL;
}
_Static_assert(sizeof(mt_slab_t) == 128, "a run descriptor is 128 bytes (the fast paths' shift)");
_Static_assert(offsetof(mt_slab_t, bits) < 64 && offsetof(mt_slab_t, nfree) == 64,
               "the fast paths' fields on line 0, the written ones on line 1");

struct mt_segment_s {
  uint64_t magic;                      /* MT_SEG_MAGIC */
  mt_segment_t *next;                  /* all segments, page lock */
  uint32_t first_data_page;            /* pages before it are header+meta */
  uint32_t free_pages;                 /* pages in free runs */
  uint16_t page_head[MT_SEG_PAGES];    /* first page of the run holding a page; 0 = none */
  mt_slab_t runs[MT_SEG_PAGES];        /* descriptor per run, at its first page; each on two
                                          lines of its own (aligned as mt_slab_t, 64) */
};
_Static_assert(offsetof(mt_segment_t, runs) % 64 == 0, "run descriptors start on a cache line");
#define MT_SEG_MAGIC 0x6d656d7479706531ull /* "memtype1" */

/* Header page of a huge block's own mapping. */
typedef struct mt_huge_s {
  uint64_t magic;       /* MT_HUGE_MAGIC */
  size_t map_size;      /* whole mapping, header included */
  size_t usable;        /* bytes from user pointer to the end of the mapping */
  uintptr_t user;       /* the user pointer */
  mt_meta_t meta;       /* requested size is in `big_size` when >= 4 GiB */
  size_t big_size;      /* requested size (full width) */
  uintptr_t free_pc;    /* where it was freed (checks on, while in quarantine) */
  uint64_t stk;         /* its stack depot ids (checks on; depot.h) */
  size_t front;         /* bytes of its front redzone before `user` (redzones on), else 0 */
  uint8_t leak_mark;    /* leak scan: its mark */
  struct mt_huge_s *prev, *next; /* all huge blocks, page lock */
} mt_huge_t;
#define MT_HUGE_MAGIC 0x6d746875676531ull

/* segmap values */
enum { MT_MAP_NONE = 0, MT_MAP_SEGMENT = 1, MT_MAP_HUGE = 2, MT_MAP_HUGE_TAIL = 3, MT_MAP_GUARD = 4,
       MT_MAP_CACHED = 5 /* a freed huge mapping kept in the huge cache (page.c) */ };

#endif /* MT_TYPES_H */
