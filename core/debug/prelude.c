/* prelude.c - the debug prelude (hooks.h): the one place where the slow
 * paths meet the debug layers, as FreeBSD's malloc_dbg()/free_dbg() and
 * UMA's trash ctor/dtor. It decides, per request, failure injection, guard
 * pages (memguard, reached from nowhere else in the allocator), trash,
 * redzones and quarantine, and runs the whole-heap check. It owns the
 * meaning of the thread caches' countdown: the fast path counts down and
 * stops at 0; here that means "sample this one for memguard". Runs behind
 * the signal gate like the slow paths; the hook words are written once, at
 * start (mt_dbg_init). */
#define _GNU_SOURCE
#include "prelude.h"

#include <errno.h>
#include <string.h>

#include "depot.h"
#include "fail.h"
#include "heap.h"
#include "heapcheck.h"
#include "hooks.h"
#include "memguard.h"
#include "options.h"
#include "page.h"
#include "report.h"
#include "site.h"
#include "tcache.h"
#include "zone.h"

MT_HIDDEN bool mt_hook_on;
MT_HIDDEN bool mt_hook_alloc;
MT_HIDDEN bool mt_hook_slots;
MT_HIDDEN size_t mt_hook_slack;
MT_HIDDEN uint32_t mt_hook_sample_every = UINT32_MAX;
MT_HIDDEN bool mt_hook_stacks;

static MT_TLS uint32_t countdown = UINT32_MAX; /* sampling without a thread cache */

/* ---- helpers ------------------------------------------------------------- */

/* The checks' view of a block. */
static mt_blk_t blk_of(const mt_block_t *b) {
  mt_blk_t k = {b->start, mt_block_size(b), b->usable, b->meta, b->free_pc, NULL, b->stk,
                b->start - b->base};
  if (b->kind == MT_BLOCK_HUGE && k.usable > k.size + MT_REDZONE_MAX)
    k.usable = k.size + MT_REDZONE_MAX; /* huge blocks: a bounded tail */
  return k;
}

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

/* ---- memguard: chosen or sampled ----------------------------------------- */

/* The sampling countdown (MEMTYPE_GUARD_RATE): the fast path stops at 0
 * having counted this call; the slow path's other callers count here. */
static bool sampled(void) {
  if (mt_opt.guard_rate <= 0)
    return false;
  uint32_t rate = (uint32_t)mt_opt.guard_rate;
  uint32_t *left = mt_tls_own ? &mt_tls_own->sample_left : &countdown;
  if (*left > rate)
    *left = rate;
  if (*left == 0 || --*left == 0) {
    *left = rate;
    return true;
  }
  return false;
}

/* A guarded block when memguard takes this allocation (MEMTYPE_GUARD...),
 * counted; NULL when it does not (alignment 0: malloc's). */
static void *guarded(size_t n, size_t align, unsigned family, unsigned type, bool zero) {
  if (!mt_guard_on)
    return NULL;
  if (!mt_guard_fits(n, align)) {
    /* Not a candidate; a countdown the fast path left at 0 starts again. */
    if (mt_tls_own && mt_tls_own->sample_left == 0)
      mt_tls_own->sample_left = mt_hook_sample_every;
    return NULL;
  }
  if (!mt_guard_chosen(n, type) && !sampled())
    return NULL;
  void *g = mt_guard_alloc(n, align, type, family, zero);
  if (g)
    mt_heap_count_alloc(type, MT_CLASS_BIT_MEDIUM, n, n); /* guard pages are not rounding waste */
  return g; /* zeroed when zero */
}

/* ---- the prelude ------------------------------------------------------------ */

void *mt_dbg_alloc(size_t n, size_t align, unsigned family, bool zero, unsigned type,
                   bool request, bool *taken) {
  *taken = false;
  if (request) {
    if (MT_UNLIKELY(mt_opt.check_interval) && mt_check_on) {
      static unsigned long count;
      if (__atomic_add_fetch(&count, 1, __ATOMIC_RELAXED) % (unsigned long)mt_opt.check_interval ==
          0)
        mt_check_heap();
    }
    /* Asked before anything changes, so a failure leaves no trace but its count. */
    if (mt_fail_on && mt_fail_should(n, type, family)) {
      *taken = true;
      errno = ENOMEM;
      return NULL;
    }
  }
  void *g = guarded(n, align, family, type, zero);
  *taken = g != NULL;
  return g;
}

bool mt_dbg_free(const mt_block_t *b, void *p, uintptr_t pc) {
  if (b->kind == MT_BLOCK_GUARD) {
    mt_guard_free(b->guard, pc);
    return true;
  }
  if (!mt_check_on)
    return false;
  __atomic_store_n(&b->meta->f.state, MT_STATE_BUSY, __ATOMIC_RELAXED);
  if (MT_LIKELY(b->kind == MT_BLOCK_SLOT)) {
    /* mt_check_free's work, written out for a slot, most blocks: its
     * front redzone is all of the slot before it (at most MT_REDZONE_CAP).
     * Intact, it is trash already (one pattern, heapcheck.h): the block's
     * bytes and what follows them to the slot's end are trashed. */
    size_t size = b->meta->f.size, front = b->start - b->base, back = b->usable - size;
    uintptr_t trash_from = b->start;
    if (back > MT_REDZONE_MAX)
      back = MT_REDZONE_MAX;
    if (mt_check_redzone && MT_UNLIKELY(!mt_check_pattern_intact(b->base, front) ||
                                        !mt_check_pattern_intact(b->start + size, back))) {
      mt_blk_t k = blk_of(b);
      mt_check_redzone_ok(&k); /* reports it */
      trash_from = b->base;    /* and the changed bytes are trashed again */
    }
    if (b->free_pc)
      *b->free_pc = pc;
    if (b->stk)
      *b->stk = mt_stk_with_free(*b->stk, mt_depot_on ? mt_depot_capture(pc) : 0);
    if (mt_check_trash)
      mt_check_trash_at(trash_from, b->start + b->usable - trash_from);
  } else {
    mt_blk_t k = blk_of(b);
    mt_check_free(&k, pc);
  }
  __atomic_store_n(&b->meta->f.state, MT_STATE_QUARANTINE, __ATOMIC_RELEASE);
  mt_check_quarantine(p, b->kind == MT_BLOCK_SLOT ? (void *)b->run : NULL, b->usable);
  return true;
}

void *mt_dbg_realloc(const mt_block_t *b, void *p, size_t n, unsigned type, uintptr_t pc,
                     bool *taken) {
  unsigned family = mt_fam(b->meta->f.family);
  *taken = true;
  if (mt_fail_on && mt_fail_should(n, type, family)) {
    errno = ENOMEM; /* the block stays as it was */
    return NULL;
  }
  if (!mt_check_on) {
    *taken = false;
    return NULL;
  }
  /* Checked: always a new block, the old one verified and quarantined,
   * so a use of the old pointer after realloc is caught as well. */
  size_t old = mt_block_size(b);
  mt_blk_t k = blk_of(b);
  if (b->kind != MT_BLOCK_GUARD)
    mt_check_redzone_ok(&k);
  void *q = guarded(n, 0, family, type, false);
  if (q == NULL)
    q = mt_heap_alloc(n, 0, family, false, type);
  if (q == NULL)
    return NULL;
  memcpy(q, p, n < old ? n : old);
  mt_heap_release(b, p, pc);
  return q;
}

/* ---- slot lifecycle hooks ----------------------------------------------------- */

void mt_dbg_slot_ctor(void *p, mt_meta_t *m, unsigned c, size_t n, size_t front, unsigned type) {
  /* BUSY while its trash is verified and its redzones laid (the whole-heap
   * check skips it), then the caller makes it LIVE. */
  uintptr_t slot = (uintptr_t)p;
  mt_slab_t *s = mt_run_of(slot);
  uint32_t idx = mt_slab_index(s, slot);
  size_t size = mt_classes[c].size;
  MT_ASSERT(slot == s->start + (uintptr_t)idx * s->slot_size);
  uint32_t *fronts = mt_slab_fronts(s);
  MT_ASSERT(front == 0 || (fronts != NULL && front % MT_MIN_ALIGN == 0 && front + n < size));
  mt_meta_t old = *m; /* the last owner's, for a report */
  __atomic_store_n(&m->f.state, MT_STATE_BUSY, __ATOMIC_RELAXED);
  uint64_t *stk = s->stks ? &s->stks[idx] : NULL;
  /* The trash is compared once (from the slot's start, whatever the last
   * owner's front redzone was: it covers the whole slot): a slot found
   * intact only gets its redzones; a changed one is reported (on the last
   * owner's stacks: they are replaced after) with its neighbours. */
  if (MT_UNLIKELY(old.f.state == MT_STATE_TRASHED && mt_check_trash &&
                  !mt_check_trash_intact_at(slot, size < MT_TRASH_MAX ? size : MT_TRASH_MAX))) {
    size_t old_front = fronts ? fronts[idx] : 0;
    uintptr_t *free_pc = s->free_pcs ? &s->free_pcs[idx] : NULL;
    mt_blk_t was = {slot + old_front, old.f.size, size - old_front, &old, free_pc, NULL, stk,
                    old_front};
    mt_blk_t k = {slot + front, n, size - front, &old, free_pc, NULL, stk, front};
    char note[512];
    was.note = neighbours(s, slot, note, sizeof(note));
    mt_check_alloc(&was, &k);
  } else if (mt_check_redzone && (old.f.state != MT_STATE_TRASHED || !mt_check_trash)) {
    /* (A slot whose trash was verified has its redzones laid already: one
     * pattern.) front <= MT_REDZONE_CAP: the whole front redzone; the slack
     * after the block up to MT_REDZONE_MAX. */
    size_t back = size - front - n;
    mt_check_lay_pattern(slot, front);
    mt_check_lay_pattern(slot + front + n, back < MT_REDZONE_MAX ? back : MT_REDZONE_MAX);
  }
  if (fronts)
    fronts[idx] = (uint32_t)front;
  if (stk) /* (unwinding may re-enter malloc and refill the caller's bin) */
    *stk = mt_depot_on ? mt_depot_capture(mt_site_pc(type)) : 0;
}

void mt_dbg_stack_ctor(uint64_t *stk, unsigned type) {
  *stk = mt_depot_capture(mt_site_pc(type));
}

void mt_dbg_large_ctor(uintptr_t p) {
  /* Its bytes are fresh: no trash to verify. */
  mt_block_t b = {0};
  if (mt_block_lookup(p, &b)) {
    mt_blk_t k = blk_of(&b);
    mt_check_lay_redzone(&k);
    __atomic_store_n(&b.meta->f.state, MT_STATE_LIVE, __ATOMIC_RELEASE);
  }
}

void mt_dbg_slab_dtor(mt_slab_t *s) {
  for (uint32_t k = 0; k < s->nslots; k++)
    if (s->meta[k].f.state == MT_STATE_TRASHED) {
      size_t front = mt_slab_fronts(s) ? mt_slab_fronts(s)[k] : 0;
      mt_blk_t b = {s->start + (uintptr_t)k * s->slot_size + front, s->meta[k].f.size,
                    s->slot_size - front, &s->meta[k], s->free_pcs ? &s->free_pcs[k] : NULL, NULL,
                    s->stks ? &s->stks[k] : NULL, front};
      mt_check_trash_ok(&b);
    }
}

/* A block leaves the quarantine and its storage is reused (heapcheck.c
 * calls this, never under a lock). A slot comes with its slab (`run`): it
 * stays one while the slot is in the quarantine (a slab with a slot in use
 * is not freed), so the slot is found without a lookup. */
static void quarantine_release(void *p, void *run) {
  mt_block_t b;
  if (run != NULL && mt_check_trash) {
    /* A slot keeps its trash, verified at its reuse: no block to decode. */
    mt_slab_t *s = run;
    uint32_t idx = mt_slab_index(s, (uintptr_t)p);
    mt_meta_t *m = &s->meta[idx];
    if (m->f.state != MT_STATE_QUARANTINE)
      return; /* cannot happen: only the quarantine moves a block out of this state */
    mt_heap_give_slot(s, s->start + (uintptr_t)idx * s->slot_size, m, MT_STATE_TRASHED);
    return;
  }
  if (run != NULL) {
    mt_slab_t *s = run;
    mt_block_of_slot(s, mt_slab_index(s, (uintptr_t)p), &b);
    MT_ASSERT(b.start == (uintptr_t)p);
  } else if (memset(&b, 0, sizeof(b)), !mt_block_lookup((uintptr_t)p, &b)) {
    return; /* cannot happen: p was a block's start when it was freed */
  }
  if (b.meta->f.state != MT_STATE_QUARANTINE)
    return; /* cannot happen: only the quarantine moves a block out of this state */
  /* Slab slots keep their trash until reuse, where it is verified (once:
   * the block is cold here, and about to be touched there); page runs and
   * huge blocks lose theirs now, so they are verified now; without trash,
   * every block's redzones are verified now. */
  if (b.kind != MT_BLOCK_SLOT || !mt_check_trash) {
    mt_blk_t k = blk_of(&b);
    mt_check_trash_ok(&k);
  }
  mt_heap_give_back(&b, p, mt_check_trash ? MT_STATE_TRASHED : MT_STATE_FREE);
}

void mt_dbg_no_memory(void) { mt_fail_note_real(); }

/* ---- thread life ----------------------------------------------------------- */

void mt_dbg_thread_start(void) {
  mt_guard_thread_start(); /* an alternate stack for the fault handler (every mode) */
}

void mt_dbg_thread_exit(void) { mt_check_thread_exit(); }

/* ---- the whole-heap check ------------------------------------------------ */

/* Verifies one block met on the walk; a mismatch is believed only when the
 * block's metadata has not changed meanwhile (its owner was not busy with it). */
static void walk_check(mt_block_t *b, void *arg) {
  unsigned long *bad = arg;
  if (b->kind == MT_BLOCK_GUARD) /* memguard checks its own on free */
    return;
  mt_meta_t before;
  before.word = __atomic_load_n(&b->meta->word, __ATOMIC_ACQUIRE);
  uint8_t st = before.f.state;
  if (st != MT_STATE_LIVE && st != MT_STATE_QUARANTINE && st != MT_STATE_TRASHED)
    return;
  mt_meta_t m = before;
  mt_blk_t k = blk_of(b);
  k.meta = &m; /* the snapshot, not the live metadata */
  if (b->kind != MT_BLOCK_HUGE)
    k.size = before.f.size;
  if (mt_check_intact(&k, st) ||
      __atomic_load_n(&b->meta->word, __ATOMIC_ACQUIRE) != before.word)
    return;
  (*bad)++;
  char note[512];
  if (st == MT_STATE_LIVE) {
    mt_check_redzone_ok(&k);
  } else {
    k.note = b->kind == MT_BLOCK_SLOT ? neighbours(b->run, b->start, note, sizeof(note)) : NULL;
    mt_check_trash_ok(&k);
  }
}

unsigned long mt_check_heap(void) {
  unsigned long bad = 0;
  if (mt_check_on) /* set once the options are read */
    mt_block_walk(walk_check, &bad);
  return bad;
}

/* ---- set-up ----------------------------------------------------------------- */

void mt_dbg_init(void) {
  mt_fail_init();
  mt_check_init(quarantine_release);
  mt_guard_init();
  mt_depot_on = mt_opt.stack_depth > 0 && (mt_check_on || mt_guard_on);
  mt_hook_stacks = mt_depot_on;
  mt_hook_sample_every = mt_opt.guard_rate > 0 ? (uint32_t)mt_opt.guard_rate : UINT32_MAX;
  if (mt_tls_own) /* a cache attached before the options were read */
    mt_tls_own->sample_left = mt_hook_sample_every;
  mt_hook_slack = mt_check_redzone ? MT_REDZONE_MIN : 0; /* sizes: mt_hook_redzones */
  mt_hook_slots = mt_check_on;
  mt_hook_alloc = mt_fail_on || mt_guard_on || (mt_check_on && mt_opt.check_interval);
  mt_hook_on = mt_fail_on || mt_check_on || mt_guard_on || mt_hook_slots;
  /* The debug gate: with any debug feature on, no thread uses the fast
   * paths (a cache attached before the options were known included);
   * sampling alone keeps them, through the countdown. */
  mt_debug_gate = mt_fail_on || mt_check_on || (mt_guard_on && !mt_guard_sampling_only);
  if (mt_debug_gate)
    mt_tls_cache = NULL;
}
