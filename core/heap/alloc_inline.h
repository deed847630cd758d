/* alloc_inline.h - the fast paths of malloc and free, inlined into the entry
 * points. Cost, with typing and stats on: malloc = size class (a table
 * load), the call site's type (one compare in the thread's site cache), the
 * guard-sampling countdown (one decrement), a thread-cache pop, one 8-byte metadata store, the type's counters in the
 * thread's own stat slot (plain adds); free = page-map byte, run descriptor,
 * a multiply for the slot, a state check, a push, two counter adds. No lock, syscall, stdio or allocation. Anything else (empty
 * or full cache, no cache yet, large blocks, bad pointers) takes one
 * unlikely branch to the out-of-line slow path in alloc.c. */
#ifndef MT_ALLOC_INLINE_H
#define MT_ALLOC_INLINE_H

#include "alloc.h"
#include "page.h"
#include "tcache.h"
#include "zone.h"

/* The slow paths the fast ones jump to: four arguments (an allocation's
 * fourth, `arg`, is its own: operator new's nothrow), and each is entered
 * through MT_SLOW_ENTRY below, which adds two: the stack pointer and rbp
 * it was entered with, so that a block's stack can start at the caller's
 * frame (mt_malloc_slow_at, alloc.c). */
typedef void *(*mt_alloc_slow_fn)(size_t n, unsigned family, uintptr_t pc, int arg);
void *mt_malloc_slow(size_t n, unsigned family, uintptr_t pc, int arg) MT_NOINLINE MT_COLD;
/* What mt_malloc_slow does, from the registers it was entered with (sp:
 * its stack pointer + 8; 0 when unknown). NULL when out of memory. */
void *mt_malloc_slow_at(size_t n, unsigned family, uintptr_t pc, int arg, uintptr_t sp,
                        uintptr_t bp) MT_NOINLINE MT_COLD;

/* Defines `name`, a slow path's entry: jumps to `target` with the stack
 * pointer as it came + 8 (the caller's, when the entry point jumped here)
 * and rbp added as the 5th and 6th arguments. */
#if defined(__x86_64__)
#if defined(__CET__)
#define MT_SLOW_ENTRY_BRANCH "  endbr64\n"
#else
#define MT_SLOW_ENTRY_BRANCH ""
#endif
#define MT_SLOW_ENTRY(name, target)                                                       \
  __asm__(".pushsection .text\n.p2align 4\n.globl " #name "\n.hidden " #name             \
          "\n.type " #name ", @function\n" #name ":\n.cfi_startproc\n" MT_SLOW_ENTRY_BRANCH \
          "  lea 8(%rsp), %r8\n  mov %rbp, %r9\n  jmp " #target "\n.cfi_endproc\n.size " #name \
          ", .-" #name "\n.popsection\n")
#endif

/* ~0 when call sites type blocks (MEMTYPE_DEPTH >= 1), 0 when typing is off:
 * site 0 is the untyped type and always hits the site cache. */
extern uintptr_t mt_site_mask;
/* n: the size a sized delete gives, SIZE_MAX for every other release. */
void mt_free_slow(void *p, unsigned family, size_t n, uintptr_t pc) MT_NOINLINE MT_COLD;
void mt_free_slow_at(void *p, unsigned family, size_t n, uintptr_t pc, uintptr_t sp,
                     uintptr_t bp) MT_NOINLINE MT_COLD;
/* The peak's slow half after a fast malloc or free (mt_tcache_room_out),
 * as tail calls: the fast paths call nothing else, so they save no
 * register. mt_malloc_room_out returns p. */
void *mt_malloc_room_out(mt_tcache_t *tc, mt_typestat_t *s, uint64_t n, void *p) MT_NOINLINE
    MT_COLD;
void mt_free_room_out(mt_tcache_t *tc, mt_typestat_t *s, uint64_t n) MT_NOINLINE MT_COLD;

/* Anything the fast path does not have at hand (an empty bin, a call site
 * not in the site cache, no stat chunk yet for the type, the sampling
 * countdown at 0) goes to the slow path, which does it all. */
static inline __attribute__((always_inline)) void *mt_alloc_fast(size_t n, unsigned family,
                                                                uintptr_t pc, int arg,
                                                                mt_alloc_slow_fn slow) {
  mt_tcache_t *tc = mt_tls_cache;
  if (MT_LIKELY(tc != NULL && n <= MT_SMALL_MAX)) {
    unsigned c = mt_size_class(n);
    mt_bin_t *b = &tc->bins[c];
    uintptr_t key = pc & mt_site_mask;
    const mt_sitecache_t *e = &tc->sites[(key ^ (key >> 7)) & (MT_SITE_CACHE - 1)];
    if (MT_LIKELY(b->n != 0 && e->pc == key && !e->wrapper)) {
      unsigned type = e->type;
      mt_typestat_t *chunk = tc->stat[type / MT_STAT_CHUNK];
      if (MT_LIKELY(chunk != NULL && --tc->sample_left != 0)) {
        unsigned i = --b->n;
        void *p = b->items[i];
        b->metas[i]->word =
            mt_meta_pack((uint32_t)n, (uint16_t)type, MT_STATE_LIVE, (uint8_t)family);
        mt_typestat_t *s = &chunk[type % MT_STAT_CHUNK];
        mt_sizeprof_add(&tc->prof, n, mt_classes[c].size);
        /* Last: the room's sign, its result, is then tested straight from the flags. */
        bool out = mt_tcache_count_alloc_in(tc, s, c, n, mt_classes[c].size);
        if (MT_UNLIKELY(out))
          return mt_malloc_room_out(tc, s, n, p);
        return p;
      }
    }
  }
  return slow(n, family, pc, arg);
}

static inline void *mt_malloc_inline(size_t n, unsigned family, uintptr_t pc) {
  return mt_alloc_fast(n, family, pc, 0, mt_malloc_slow);
}

/* The fast free; `sized` (a constant) adds the sized-delete check. */
static inline void mt_free_fast(void *p, unsigned family, bool sized, size_t n, uintptr_t pc) {
  uintptr_t a = (uintptr_t)p;
  mt_tcache_t *tc = mt_tls_cache;
  if (MT_LIKELY(tc != NULL && mt_segmap_lookup(a) == MT_MAP_SEGMENT)) {
    mt_slab_t *s = mt_run_of(a);
    if (MT_LIKELY(s != NULL && s->kind == MT_RUN_SLAB)) {
      uint32_t off = (uint32_t)(a - s->start);
      uint32_t idx = mt_slab_index(s, a);
      mt_meta_t *m = &s->meta[idx];
      mt_bin_t *b = &tc->bins[s->cls];
      if (MT_LIKELY(idx * s->slot_size == off && idx < s->nslots &&
                    m->f.state == MT_STATE_LIVE && m->f.family == family && b->n < b->cap &&
                    (!sized || m->f.size == n))) {
        unsigned type = m->f.type;
        uint64_t size = m->f.size;
        mt_typestat_t *chunk = tc->stat[type / MT_STAT_CHUNK];
        if (MT_LIKELY(chunk != NULL)) {
          unsigned k = b->n;
          m->f.state = MT_STATE_FREE;
          mt_typestat_t *st = &chunk[type % MT_STAT_CHUNK];
          mt_tcache_count_free_rec(st, size);
          b->items[k] = p;
          b->metas[k] = m;
          b->n = (uint16_t)(k + 1);
          /* Last: the room's sign is tested straight from the flags. */
          if (MT_UNLIKELY(mt_tcache_count_free_room(tc, size)))
            mt_free_room_out(tc, st, size);
          return;
        }
      }
    }
  }
  mt_free_slow(p, family, sized ? n : SIZE_MAX, pc);
}

static inline void mt_free_inline(void *p, unsigned family, uintptr_t pc) {
  mt_free_fast(p, family, false, 0, pc);
}

/* operator delete(p, n) and delete[](p, n): n must be the block's size. */
static inline void mt_free_sized(void *p, unsigned family, size_t n, uintptr_t pc) {
  mt_free_fast(p, family, true, n, pc);
}

#endif
