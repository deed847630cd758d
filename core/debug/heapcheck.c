/* heapcheck.c - trash, redzones and the quarantine (see heapcheck.h). Patterns:
 * trash is the 32-bit word 0xdeadc0de (bytes de c0 ad de) over the whole
 * block, up to MT_TRASH_MAX; the redzone is the byte 0xab over the slack
 * after the requested size, up to MT_REDZONE_MAX. The quarantine FIFO has
 * its own lock, never held while a block is given back. */
#include "heapcheck.h"

#include <string.h>

#include "arena.h"
#include "depot.h"
#include "lock.h"
#include "options.h"
#include "report.h"

#define TRASH_WORD 0xdeadc0deu
#define REDZONE_BYTE 0xab

MT_HIDDEN bool mt_check_on;
MT_HIDDEN bool mt_check_trash;
MT_HIDDEN bool mt_check_redzone;

typedef struct batch_s {
  struct batch_s *next;
  unsigned n;
  size_t bytes;
  void *p[MT_QUARANTINE_BATCH];
} batch_t;

static mt_check_release_fn release_fn;
static void patterns_init(void);
static mt_lock_t quar_lock;
static batch_t *oldest, *newest, *spare; /* the FIFO; recycled nodes */
static size_t quar_bytes;
static MT_TLS batch_t *mine;

void mt_check_init(mt_check_release_fn release) {
  mt_check_trash = mt_opt.trash != 0;
  mt_check_redzone = mt_opt.redzone != 0;
  mt_check_on = mt_check_trash || mt_check_redzone;
  release_fn = release;
  patterns_init();
}

/* ---- patterns ------------------------------------------------------------- */

static size_t trash_len(const mt_blk_t *b) {
  return b->usable < MT_TRASH_MAX ? b->usable : MT_TRASH_MAX;
}

static size_t redzone_len(const mt_blk_t *b) {
  size_t slack = b->usable - b->size;
  return slack < MT_REDZONE_MAX ? slack : MT_REDZONE_MAX;
}


/* The patterns, a page of each: trashing and verifying are memcpy and
 * memcmp against them (libc's, vectorised), a page at a time. */
static uint8_t trash_page[4096] __attribute__((aligned(64)));
static uint8_t redzone_page[MT_REDZONE_MAX] __attribute__((aligned(64)));

static void patterns_init(void) {
  for (size_t i = 0; i < sizeof(trash_page); i += 4)
    memcpy(trash_page + i, &(uint32_t){TRASH_WORD}, 4);
  memset(redzone_page, REDZONE_BYTE, sizeof(redzone_page));
}

/* Blocks start 16-byte aligned: the pattern's phase is the offset's. */
static void trash(uintptr_t p, size_t len) {
  for (size_t off = 0; off < len; off += sizeof(trash_page)) {
    size_t k = len - off < sizeof(trash_page) ? len - off : sizeof(trash_page);
    memcpy((void *)(p + off), trash_page, k);
  }
}

static uint8_t trash_byte(size_t off) {
  static const uint8_t bytes[4] = {0xde, 0xc0, 0xad, 0xde};
  return bytes[off & 3];
}

/* Reports the bytes of [from, from+len) that differ from the pattern
 * (expect(off) for offset off from `base`); false when any do. */
static bool verify(const mt_blk_t *b, uintptr_t from, size_t len, uintptr_t base,
                   uint8_t (*expect)(size_t), mt_error_kind_t kind, const char *what) {
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
  char detail[256];
  mt_snprintf(detail, sizeof(detail), "%s: %zu byte%s changed, from offset %zu to %zu of the "
              "block (as found; '..' = intact):", what, changed, changed == 1 ? "" : "s",
              (size_t)(from - b->start) + first, (size_t)(from - b->start) + last);
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = kind;
  e.access = MT_ACCESS_WRITE;
  e.addr = from + first;
  e.block = b->start;
  e.size = b->size;
  e.type = b->meta->f.type;
  e.free_pc = kind == MT_ERR_WRITE_AFTER_FREE && b->free_pc ? *b->free_pc : 0;
  if (b->stk) {
    e.alloc_stack = mt_stk_alloc(*b->stk);
    e.free_stack = kind == MT_ERR_WRITE_AFTER_FREE ? mt_stk_free(*b->stk) : 0;
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

static uint8_t redzone_byte(size_t off) {
  (void)off;
  return REDZONE_BYTE;
}

/* Quick scans: most blocks are intact, and these compares are what it costs. */
static bool redzone_intact(uintptr_t from, size_t len) {
  return memcmp((const void *)from, redzone_page, len) == 0; /* len <= MT_REDZONE_MAX */
}

static bool trash_intact(uintptr_t from, size_t len) {
  for (size_t off = 0; off < len; off += sizeof(trash_page)) {
    size_t k = len - off < sizeof(trash_page) ? len - off : sizeof(trash_page);
    if (memcmp((const void *)(from + off), trash_page, k) != 0)
      return false;
  }
  return true;
}

bool mt_check_slack_ok(const mt_blk_t *b, const char *what) {
  if (redzone_intact(b->start + b->size, redzone_len(b)))
    return true;
  return verify(b, b->start + b->size, redzone_len(b), b->start, redzone_byte, MT_ERR_OVERFLOW,
                what);
}

bool mt_check_redzone_ok(const mt_blk_t *b) {
  return !mt_check_redzone || mt_check_slack_ok(b, "the redzone after the block was written");
}

bool mt_check_trash_ok(const mt_blk_t *b) {
  if (!mt_check_trash || trash_intact(b->start, trash_len(b)))
    return true;
  return verify(b, b->start, trash_len(b) & ~(size_t)3, b->start, trash_byte,
                MT_ERR_WRITE_AFTER_FREE, "the block was written after it was freed");
}

/* ---- block life ------------------------------------------------------------ */

void mt_check_alloc(const mt_blk_t *b) {
  if (b->meta->f.state == MT_STATE_TRASHED) {
    /* The old owner's size is what the report should show. */
    mt_blk_t old = *b;
    old.size = b->meta->f.size;
    mt_check_trash_ok(&old);
  }
  mt_check_lay_redzone(b);
}

void mt_check_lay_slack(const mt_blk_t *b) {
  memcpy((void *)(b->start + b->size), redzone_page, redzone_len(b));
}

void mt_check_lay_redzone(const mt_blk_t *b) {
  if (mt_check_redzone)
    mt_check_lay_slack(b);
}

void mt_check_free(const mt_blk_t *b, uintptr_t pc) {
  mt_check_redzone_ok(b);
  if (b->free_pc)
    *b->free_pc = pc;
  if (b->stk)
    *b->stk = mt_stk_with_free(*b->stk, mt_depot_on ? mt_depot_capture(pc) : 0);
  if (mt_check_trash)
    trash(b->start, trash_len(b));
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
  while (oldest && quar_bytes > (size_t)mt_opt.quarantine) {
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
      release_fn(o->p[i]);
    mt_lock(&quar_lock);
    o->next = spare;
    spare = o;
    mt_unlock(&quar_lock);
  }
}

void mt_check_quarantine(void *p, size_t usable) {
  if (mt_opt.quarantine == 0) {
    release_fn(p);
    return;
  }
  batch_t *q = mine;
  if (q == NULL && (q = mine = batch_get()) == NULL) {
    release_fn(p); /* no memory for the quarantine: no delay */
    return;
  }
  q->p[q->n++] = p;
  q->bytes += usable;
  if (q->n == MT_QUARANTINE_BATCH || q->bytes * 8 > (size_t)mt_opt.quarantine) {
    mine = NULL;
    batch_put(q);
  }
}

void mt_check_thread_exit(void) {
  batch_t *q = mine;
  mine = NULL;
  if (q && q->n)
    batch_put(q);
}

bool mt_check_intact(const mt_blk_t *b, uint8_t state) {
  if (state == MT_STATE_LIVE)
    return !mt_check_redzone || redzone_intact(b->start + b->size, redzone_len(b));
  if (state == MT_STATE_QUARANTINE || state == MT_STATE_TRASHED)
    return !mt_check_trash || trash_intact(b->start, trash_len(b));
  return true;
}
