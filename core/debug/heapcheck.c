/* heapcheck.c - trash, redzones and the quarantine (see heapcheck.h). One
 * pattern, the 32-bit word 0xdeadc0de at every 4-aligned address (bytes de
 * c0 ad de): trash over the whole block's storage (its front redzone
 * included), up to MT_TRASH_MAX; the redzones before the block's start (its
 * front redzone) and over the slack after its requested size, up to
 * MT_REDZONE_MAX each. The quarantine FIFO has its own lock, never held
 * while a block is given back. */
#include "heapcheck.h"

#include <string.h>

#include "arena.h"
#include "depot.h"
#include "lock.h"
#include "options.h"
#include "report.h"

#define TRASH_WORD 0xdeadc0deu

MT_HIDDEN bool mt_check_on;
MT_HIDDEN bool mt_check_trash;
MT_HIDDEN bool mt_check_redzone;

typedef mt_check_batch_t batch_t; /* heapcheck.h: the fast push is inline there */

static mt_check_release_fn release_fn;
static void patterns_init(void);
static mt_lock_t quar_lock;
static batch_t *oldest, *newest, *spare; /* the FIFO; recycled nodes */
static size_t quar_bytes;
MT_HIDDEN MT_TLS batch_t *mt_check_mine;

void mt_check_init(mt_check_release_fn release) {
  mt_check_trash = mt_opt.trash != 0;
  mt_check_redzone = mt_opt.redzone != 0;
  mt_check_on = mt_check_trash || mt_check_redzone;
  release_fn = release;
  patterns_init();
}

/* ---- patterns ------------------------------------------------------------- */

/* Trash covers the block's storage from its front redzone on. */
static uintptr_t trash_from(const mt_blk_t *b) { return b->start - b->front; }

static size_t trash_len(const mt_blk_t *b) {
  size_t all = b->front + b->usable;
  return all < MT_TRASH_MAX ? all : MT_TRASH_MAX;
}

/* The back redzone: [start + size, + back_len); the front one: the
 * front_len bytes just before start. */
static size_t back_len(const mt_blk_t *b) {
  size_t slack = b->usable - b->size;
  return slack < MT_REDZONE_MAX ? slack : MT_REDZONE_MAX;
}

static size_t front_len(const mt_blk_t *b) {
  return b->front < MT_REDZONE_MAX ? b->front : MT_REDZONE_MAX;
}


/* The patterns (heapcheck.h), written once at start. */
MT_HIDDEN uint8_t mt_check_pattern_page[MT_PATTERN_SPAN + 4] __attribute__((aligned(64)));
_Static_assert(MT_SMALL_MAX <= MT_TRASH_MAX, "a freed slot is trash from end to end");

static void patterns_init(void) {
  for (size_t i = 0; i < sizeof(mt_check_pattern_page); i += 4)
    memcpy(mt_check_pattern_page + i, &(uint32_t){TRASH_WORD}, 4);
}

static uint8_t trash_byte(size_t off) {
  static const uint8_t bytes[4] = {0xde, 0xc0, 0xad, 0xde};
  return bytes[off & 3];
}

/* Where the changed bytes [lo, hi] lie relative to block b, as a report
 * says it: "from offset 40 to 47 of the block", "from 8 to 1 bytes before
 * its start", "from 2 bytes before its start to offset 5". */
static void place(char *buf, size_t len, const mt_blk_t *b, uintptr_t lo, uintptr_t hi) {
  if (hi < b->start)
    mt_snprintf(buf, len, "from %zu to %zu bytes before its start", (size_t)(b->start - lo),
                (size_t)(b->start - hi));
  else if (lo < b->start)
    mt_snprintf(buf, len, "from %zu bytes before its start to offset %zu", (size_t)(b->start - lo),
                (size_t)(hi - b->start));
  else
    mt_snprintf(buf, len, "from offset %zu to %zu of the block", (size_t)(lo - b->start),
                (size_t)(hi - b->start));
}

/* Reports the bytes of [from, from+len) that differ from the pattern
 * (expect(off) for offset off from `base`); false when any do. `freed`:
 * the block has been freed (its free stack is shown). */
static bool verify(const mt_blk_t *b, uintptr_t from, size_t len, uintptr_t base,
                   uint8_t (*expect)(size_t), mt_error_kind_t kind, bool freed,
                   const char *what) {
  const uint8_t *m = (const uint8_t *)from;
  size_t first = len, changed = 0, last = 0;
  for (size_t i = 0; i < len; i++) {
    if (m[i] != expect(from + i - base)) {
      if (first == len)
        first = i;
      changed++;
      last = i;
    }
  }
  if (changed == 0)
    return true;
  uint8_t seen[64], want[64];
  size_t w0 = first & ~(size_t)15, wn = len - w0 < 64 ? len - w0 : 64;
  for (size_t i = 0; i < wn; i++) {
    seen[i] = m[w0 + i];
    want[i] = expect(from + w0 + i - base);
  }
  char detail[320], where[128];
  place(where, sizeof(where), b, from + first, from + last);
  mt_snprintf(detail, sizeof(detail), "%s: %zu byte%s changed, %s (as found; '..' = intact):",
              what, changed, changed == 1 ? "" : "s", where);
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = kind;
  e.access = MT_ACCESS_WRITE;
  e.addr = from + first;
  e.block = b->start;
  e.size = b->size;
  e.type = b->meta->f.type;
  e.free_pc = freed && b->free_pc ? *b->free_pc : 0;
  if (b->stk) {
    e.alloc_stack = mt_stk_alloc(*b->stk);
    e.free_stack = freed ? mt_stk_free(*b->stk) : 0;
  }
  e.detail = detail;
  e.detail2 = b->note;
  e.seen = seen;
  e.expect = want;
  e.window = wn;
  e.window_addr = from + w0;
  mt_report(&e);
  return false;
}

static bool redzones_intact(const mt_blk_t *b) {
  return mt_check_pattern_intact(b->start - front_len(b), front_len(b)) &&
         mt_check_pattern_intact(b->start + b->size, back_len(b));
}

bool mt_check_slack_ok(const mt_blk_t *b, const char *what) {
  if (mt_check_pattern_intact(b->start + b->size, back_len(b)))
    return true;
  return verify(b, b->start + b->size, back_len(b), 0, trash_byte, MT_ERR_OVERFLOW,
                false, what);
}

/* Both redzones, the one before first (a block is reported once). */
static bool redzones_ok(const mt_blk_t *b, bool freed) {
  if (redzones_intact(b))
    return true;
  uintptr_t f = b->start - front_len(b);
  if (!mt_check_pattern_intact(f, front_len(b)))
    return verify(b, f, front_len(b), 0, trash_byte, MT_ERR_UNDERFLOW, freed,
                  "the redzone before the block was written");
  return verify(b, b->start + b->size, back_len(b), 0, trash_byte, MT_ERR_OVERFLOW,
                freed, "the redzone after the block was written");
}

bool mt_check_redzone_ok(const mt_blk_t *b) { return !mt_check_redzone || redzones_ok(b, false); }

bool mt_check_redzone_freed_ok(const mt_blk_t *b) {
  return !mt_check_redzone || redzones_ok(b, true);
}

bool mt_check_trash_ok(const mt_blk_t *b) {
  if (!mt_check_trash)
    return mt_check_redzone_freed_ok(b);
  if (mt_check_trash_intact_at(trash_from(b), trash_len(b)))
    return true;
  return verify(b, trash_from(b), trash_len(b) & ~(size_t)3, 0, trash_byte,
                MT_ERR_WRITE_AFTER_FREE, true, "the block was written after it was freed");
}

void mt_check_trash_fill(const mt_blk_t *b) {
  if (mt_check_trash)
    mt_check_trash_at(trash_from(b), trash_len(b));
}

/* ---- block life ------------------------------------------------------------ */

void mt_check_alloc(const mt_blk_t *old, const mt_blk_t *b) {
  if (old->meta->f.state == MT_STATE_TRASHED)
    mt_check_trash_ok(old);
  mt_check_lay_redzone(b);
}

void mt_check_lay_slack(const mt_blk_t *b) {
  mt_check_lay_pattern(b->start + b->size, back_len(b));
}

void mt_check_lay_redzone(const mt_blk_t *b) {
  if (!mt_check_redzone)
    return;
  mt_check_lay_pattern(b->start - front_len(b), front_len(b));
  mt_check_lay_slack(b);
}

void mt_check_free(const mt_blk_t *b, uintptr_t pc) {
  mt_check_redzone_ok(b);
  if (b->free_pc)
    *b->free_pc = pc;
  if (b->stk)
    *b->stk = mt_stk_with_free(*b->stk, mt_depot_on ? mt_depot_capture(pc) : 0);
  if (mt_check_trash)
    mt_check_trash_at(trash_from(b), trash_len(b));
}

/* ---- quarantine ------------------------------------------------------------ */

void mt_check_fork_prepare(void) { mt_lock(&quar_lock); }
void mt_check_fork_parent(void) { mt_unlock(&quar_lock); }
void mt_check_fork_child(void) { mt_lock_reset(&quar_lock); }

static batch_t *batch_get(void) {
  mt_lock(&quar_lock);
  batch_t *q = spare;
  if (q)
    spare = q->next;
  mt_unlock(&quar_lock);
  if (q == NULL)
    q = mt_arena_alloc(sizeof(batch_t));
  if (q) {
    q->next = NULL;
    q->n = 0;
    q->bytes = 0;
  }
  return q;
}

/* The newest batch stays in the FIFO even when it alone is more than the
 * quarantine holds (one freed block of 256 KiB against the default 256K),
 * until the next batch comes, as long as it holds at most this much: a
 * block bigger than the quarantine still waits for the next free, and its
 * trash is still verified then or at exit (a write after free into it was
 * never seen: it left the quarantine in the free that put it there). */
#define KEEP_NEWEST_MAX ((size_t)64 << 20)

/* Appends q to the FIFO and gives back the oldest batches while it holds
 * too much; their blocks are released outside the lock. */
static void batch_put(batch_t *q) {
  batch_t *out = NULL, **tail = &out;
  mt_lock(&quar_lock);
  if (newest)
    newest->next = q;
  else
    oldest = q;
  newest = q;
  quar_bytes += q->bytes;
  while (oldest && quar_bytes > (size_t)mt_opt.quarantine &&
         !(oldest == q && q->bytes <= KEEP_NEWEST_MAX)) {
    batch_t *o = oldest;
    oldest = o->next;
    if (oldest == NULL)
      newest = NULL;
    quar_bytes -= o->bytes;
    o->next = NULL;
    *tail = o;
    tail = &o->next;
  }
  mt_unlock(&quar_lock);
  while (out) {
    batch_t *o = out;
    out = o->next;
    for (unsigned i = 0; i < o->n; i++)
      release_fn(o->e[i].p, o->e[i].hint);
    mt_lock(&quar_lock);
    o->next = spare;
    spare = o;
    mt_unlock(&quar_lock);
  }
}

void mt_check_quarantine_slow(void *p, void *hint, size_t usable) {
  if (mt_opt.quarantine == 0) {
    release_fn(p, hint);
    return;
  }
  batch_t *q = mt_check_mine;
  if (q == NULL && (q = mt_check_mine = batch_get()) == NULL) {
    release_fn(p, hint); /* no memory for the quarantine: no delay */
    return;
  }
  q->e[q->n].p = p;
  q->e[q->n].hint = hint;
  q->n++;
  q->bytes += usable;
  if (q->n == MT_QUARANTINE_BATCH || q->bytes * 8 > (size_t)mt_opt.quarantine) {
    mt_check_mine = NULL;
    batch_put(q);
  }
}

void mt_check_thread_exit(void) {
  batch_t *q = mt_check_mine;
  mt_check_mine = NULL;
  if (q && q->n)
    batch_put(q);
}

bool mt_check_intact(const mt_blk_t *b, uint8_t state) {
  if (state == MT_STATE_LIVE)
    return !mt_check_redzone || redzones_intact(b);
  if (state == MT_STATE_QUARANTINE || state == MT_STATE_TRASHED) {
    if (mt_check_trash)
      return mt_check_trash_intact_at(trash_from(b), trash_len(b));
    return state == MT_STATE_TRASHED || !mt_check_redzone || redzones_intact(b);
  }
  return true;
}
