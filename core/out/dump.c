/* dump.c - the dump writer (see dump.h, docs/format.md). Sections are
 * written through one 64 KiB buffer; a section's length is patched with
 * pwrite once its body is out, and the header's `complete` flag last, so an
 * interrupted dump is never taken for a whole one. Called at exit only; one
 * writer at a time (dump_lock). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "dump.h"
#include "dump_format.h"
#include "fail.h"
#include "leak.h"
#include "live.h"
#include "depot.h"
#include "life.h"
#include "memguard.h"
#include "modules.h"
#include "lock.h"
#include "options.h"
#include "os.h"
#include "report.h"
#include "site.h"
#include "sizeclass.h"
#include "tcache.h"
#include "timeline.h"

#define MAX_SLOTS 65536u

/* What the core keeps is what the format holds (dump_format.h). */
_Static_assert(MT_EVENT_FRAMES == MT_DUMP_EVENT_FRAMES, "event stacks as the dump writes them");
_Static_assert(MT_LEAK_KINDS == MT_DUMP_LEAK_KINDS, "leak kinds as the dump writes them");
_Static_assert(MT_CLASS_WORDS == MT_DUMP_CLASS_WORDS, "the Size(s) bitmap as the dump writes it");
#define CLASS_BIT_AGREES(name, off, text) \
  _Static_assert(MT_CLASS_BIT_##name == MT_NCLASSES + (off), "class bit " text);
MT_DUMP_CLASS_EXTRA(CLASS_BIT_AGREES)
_Static_assert(MT_CLASS_BITS == MT_NCLASSES + MT_DUMP_CLASS_EXTRAS,
               "every class bit in the format");
#define REASON_AGREES(name, value, text) \
  _Static_assert(MT_DUMP_##name == (value), "dump reason " text);
MT_DUMP_REASONS(REASON_AGREES)

typedef struct writer_s {
  int fd;
  int err;         /* first errno, 0 while all is well */
  uint64_t off;    /* file offset of buf[0] */
  size_t n;        /* bytes in buf */
  uint64_t section; /* file offset of the open section's header */
  char buf[65536];
} writer_t;

static writer_t w;
static mt_lock_t dump_lock;

void mt_dump_fork_prepare(void) { mt_lock(&dump_lock); }
void mt_dump_fork_parent(void) { mt_unlock(&dump_lock); }
void mt_dump_fork_child(void) { mt_lock_reset(&dump_lock); }
static uint64_t start_ns;

/* The command line as the process started: read at start, because programs
 * that set their process title (postgres, nginx) write over argv, and
 * /proc/self/cmdline shows the title afterwards. A forked child keeps it. */
static char cmdline[65536];
static long cmdline_len = -1;

void mt_dump_note_start(void) {
  start_ns = mt_os_realtime_ns();
  cmdline_len = mt_os_read_self_file("cmdline", cmdline, sizeof(cmdline));
}

/* ---- buffered little-endian output --------------------------------------- */

static void flush(void) {
  if (w.n && !w.err && !mt_os_write_all(w.fd, w.buf, w.n, &w.err))
    return;
  w.off += w.n;
  w.n = 0;
}

static void put(const void *p, size_t len) {
  const char *c = p;
  while (len) {
    if (w.n == sizeof(w.buf))
      flush();
    size_t k = sizeof(w.buf) - w.n < len ? sizeof(w.buf) - w.n : len;
    memcpy(w.buf + w.n, c, k);
    w.n += k;
    c += k;
    len -= k;
  }
}

/* x86-64 and every target memtype builds for are little-endian: the
 * integers go out as they are in memory. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the dump writer assumes little-endian");
static void put16(uint16_t v) { put(&v, 2); }
static void put32(uint32_t v) { put(&v, 4); }
static void put64(uint64_t v) { put(&v, 8); }

static void pad8(void) {
  static const char zero[MT_DUMP_ALIGN];
  size_t at = (size_t)((w.off + w.n) % MT_DUMP_ALIGN);
  if (at)
    put(zero, MT_DUMP_ALIGN - at);
}

/* The file offset the next byte goes to. */
static uint64_t here(void) { return w.off + w.n; }

/* Debug builds check each fixed record against the format's size: a field
 * added here and not in dump_format.h (or the readers) stops the test. */
#define RECORD_BEGIN(at) uint64_t at __attribute__((unused)) = here()
#define RECORD_END(at, size) MT_ASSERT(here() - (at) == (size))

static void section_begin(uint32_t tag) {
  pad8();
  w.section = here();
  put32(tag);
  put32(0);
  put64(0); /* length, patched by section_end */
}

static void section_end(void) {
  pad8();
  flush();
  uint64_t len = w.off - w.section - MT_DUMP_SECTION_HEADER;
  if (!w.err)
    mt_os_pwrite_all(w.fd, &len, sizeof(len), w.section + 8, &w.err); /* after tag, reserved */
}

/* ---- sections -------------------------------------------------------------- */

static void header(uint32_t flags, uint32_t nslots, uint32_t ntypes, uint32_t reason) {
  RECORD_BEGIN(head);
  put(MT_DUMP_MAGIC, MT_DUMP_MAGIC_LEN);
  put16(MT_DUMP_MAJOR);
  put16(MT_DUMP_MINOR);
  put16(MT_DUMP_HEADER_SIZE);
  put16(MT_DUMP_BYTE_ORDER);
  MT_ASSERT(here() == MT_DUMP_FLAGS_OFFSET);
  put32(flags);
  put32(nslots);
  put32(ntypes);
  put32(reason);
  static const char reserved[MT_DUMP_HEADER_RESERVED];
  put(reserved, sizeof(reserved));
  RECORD_END(head, MT_DUMP_HEADER_SIZE);
}

static void process_section(int sig) {
  static char exe[4096];
  long clen = cmdline_len;
  long elen = mt_os_self_exe(exe, sizeof(exe));
  if (elen < 0)
    elen = 0;
  uint32_t argc = 0;
  for (long i = 0; i < clen; i++)
    argc += cmdline[i] == '\0';
  section_begin(MT_DUMP_TAG_PROCESS);
  RECORD_BEGIN(head);
  put32((uint32_t)mt_os_getpid());
  put32((uint32_t)mt_os_getppid());
  put64(start_ns);
  put64(mt_os_realtime_ns());
  put32((uint32_t)sig);
  put32(argc);
  put32((uint32_t)elen);
  put32(0);
  RECORD_END(head, MT_DUMP_PROCESS_FIXED);
  put(exe, (size_t)elen);
  for (long i = 0, s = 0; i < clen; i++)
    if (cmdline[i] == '\0') {
      put32((uint32_t)(i - s));
      put(cmdline + s, (size_t)(i - s));
      s = i + 1;
    }
  section_end();
}

/* A forked child's blocks live at the fork, per type (tcache.h): only in a
 * process that inherited any. */
static void inherited_section(unsigned ntypes) {
  if (!mt_tcache_has_inherited())
    return;
  uint32_t count = 0;
  uint64_t bytes;
  for (unsigned t = 0; t < ntypes; t++)
    count += mt_tcache_inherited(t, &bytes) != 0;
  section_begin(MT_DUMP_TAG_INHERITED);
  put32(count);
  put32(0);
  for (unsigned t = 0; t < ntypes; t++) {
    uint64_t blocks = mt_tcache_inherited(t, &bytes);
    if (blocks == 0)
      continue;
    RECORD_BEGIN(rec);
    put32(t);
    put32(0);
    put64(blocks);
    put64(bytes);
    RECORD_END(rec, MT_DUMP_INHERITED_RECORD);
  }
  section_end();
}

static void sizes_section(void) {
  section_begin(MT_DUMP_TAG_SIZES);
  put32(MT_NCLASSES);
  put32(0);
  for (unsigned c = 0; c < MT_NCLASSES; c++) {
    RECORD_BEGIN(rec);
    put32(mt_classes[c].size);
    put32(mt_classes[c].npages);
    put32(mt_classes[c].nslots);
    put32(0);
    RECORD_END(rec, MT_DUMP_CLASS_RECORD);
  }
  section_end();
}

static void put_module(const mt_module_t *m) {
  uint64_t base = m->bias;
  const char *path = m->path;
  const uint8_t *id = m->build_id;
  size_t idlen = m->idlen;
  size_t plen = strlen(path);
  if (plen > 65535)
    plen = 65535;
  if (idlen > 65535)
    idlen = 0;
  RECORD_BEGIN(head);
  put64(base);
  put16((uint16_t)plen);
  put16((uint16_t)idlen);
  put32(0);
  RECORD_END(head, MT_DUMP_MODULE_FIXED);
  put(path, plen);
  if (idlen)
    put(id, idlen);
  pad8();
}

static void modules_section(void) {
  mt_modules_sync(); /* a no-op in a handler or a report: the snapshot as it is */
  unsigned n;
  const mt_module_t *mods = mt_modules_pin(&n);
  section_begin(MT_DUMP_TAG_MODULES);
  put32(n);
  put32(0);
  for (unsigned i = 0; i < n; i++)
    put_module(&mods[i]);
  mt_modules_unpin();
  section_end();
}

static bool stat_is_zero(const mt_typestat_t *s) {
  return !(s->allocs | s->frees | s->bytes_alloc | s->bytes_freed | s->failures);
}

static const mt_typestat_t *slot_stat(mt_typestat_t *const *slot, unsigned type) {
  const mt_typestat_t *chunk = __atomic_load_n(&slot[type / MT_STAT_CHUNK], __ATOMIC_ACQUIRE);
  return chunk ? &chunk[type % MT_STAT_CHUNK] : NULL;
}

static void types_section(mt_typestat_t *const *const *slots, unsigned nslots, unsigned ntypes) {
  section_begin(MT_DUMP_TAG_TYPES);
  put32(ntypes);
  put32((uint32_t)mt_opt.depth);
  for (unsigned t = 0; t < ntypes; t++) {
    mt_typestat_t snap;
    uint32_t nrec = 0;
    uintptr_t stack[MT_MAX_DEPTH];
    unsigned npcs = mt_site_stack(t, stack, MT_MAX_DEPTH);
    const char *name = mt_site_name(t);
    size_t name_len = name ? strlen(name) : 0;
    if (name_len > 65535)
      name_len = 65535;
    /* Count, then write: a record can change in between, never appear. */
    for (unsigned s = 0; s < nslots; s++) {
      const mt_typestat_t *st = slot_stat(slots[s], t);
      nrec += st && !stat_is_zero(st);
    }
    RECORD_BEGIN(rec);
    put32(t);
    put16((uint16_t)npcs);
    put16((uint16_t)name_len);
    put32(nrec);
    put32(0);
    RECORD_END(rec, MT_DUMP_TYPE_FIXED);
    for (unsigned f = 0; f < npcs; f++)
      put64(stack[f]);
    if (name_len) {
      put(name, name_len);
      pad8();
    }
    uint32_t written = 0;
    for (unsigned s = 0; s < nslots && written < nrec; s++) {
      const mt_typestat_t *st = slot_stat(slots[s], t);
      if (!st || stat_is_zero(st))
        continue;
      mt_typestat_t *v = &snap;
      v->allocs = __atomic_load_n(&st->allocs, __ATOMIC_RELAXED);
      v->frees = __atomic_load_n(&st->frees, __ATOMIC_RELAXED);
      v->bytes_alloc = __atomic_load_n(&st->bytes_alloc, __ATOMIC_RELAXED);
      v->bytes_freed = __atomic_load_n(&st->bytes_freed, __ATOMIC_RELAXED);
      for (unsigned k = 0; k < MT_CLASS_WORDS; k++)
        v->classes[k] = __atomic_load_n(&st->classes[k], __ATOMIC_RELAXED);
      v->failures = __atomic_load_n(&st->failures, __ATOMIC_RELAXED);
      RECORD_BEGIN(stat);
      put32(s);
      put32(v->failures > UINT32_MAX ? UINT32_MAX : (uint32_t)v->failures);
      put64(v->allocs);
      put64(v->frees);
      put64(v->bytes_alloc);
      put64(v->bytes_freed);
      for (unsigned k = 0; k < MT_CLASS_WORDS; k++)
        put64(v->classes[k]);
      RECORD_END(stat, MT_DUMP_STAT_RECORD);
      written++;
    }
    /* A slot emptied since counting: keep the promised record count. */
    for (; written < nrec; written++) {
      static const char zero[MT_DUMP_STAT_RECORD];
      put(zero, sizeof(zero));
    }
  }
  section_end();
}

/* ---- the peak and the timeline (HIGHUSE, PEAK, TIMELINE) ----------------- */

typedef struct peak_row_s {
  uint64_t bytes, blocks, high; /* at the peak; the type's own high-water mark */
  bool exact;                   /* high is exact: one slot counted the type */
} peak_row_t;

static uint64_t tl_high[MT_DUMP_MAX_TYPES]; /* per type, the most a snapshot saw */

static uint64_t pos64(int64_t v) { return v > 0 ? (uint64_t)v : 0; }

/* Type t's row: its values at the peak summed over the slots, and its own
 * high-water mark: exact (the slot's own mark) when one slot counted it,
 * else the most it was seen to hold (at the peak, in a snapshot, now). */
static peak_row_t peak_row(mt_typestat_t *const *const *slots, unsigned nslots, unsigned t,
                           uint64_t epoch) {
  uint64_t ibytes, iblocks = mt_tcache_inherited(t, &ibytes);
  int64_t bytes = (int64_t)ibytes, blocks = (int64_t)iblocks, high = (int64_t)ibytes;
  int64_t now = (int64_t)ibytes;
  unsigned counted = 0;
  for (unsigned s = 0; s < nslots; s++) {
    const mt_typestat_t *st = slot_stat(slots[s], t);
    if (!st || stat_is_zero(st))
      continue;
    counted++;
    mt_typestat_at_peak(st, epoch, &bytes, &blocks);
    high += mt_typestat_high(st);
    now += (int64_t)(__atomic_load_n(&st->bytes_alloc, __ATOMIC_RELAXED) -
                     __atomic_load_n(&st->bytes_freed, __ATOMIC_RELAXED));
  }
  peak_row_t r = {pos64(bytes), pos64(blocks), pos64(high), counted <= 1};
  if (!r.exact) {
    r.high = r.bytes;
    if (tl_high[t] > r.high)
      r.high = tl_high[t];
  }
  if (pos64(now) > r.high) /* racy reads: never below what it holds */
    r.high = pos64(now);
  if (r.bytes > r.high)
    r.high = r.bytes;
  return r;
}

static void peak_sections(mt_typestat_t *const *const *slots, unsigned nslots, unsigned ntypes) {
  if (ntypes > MT_DUMP_MAX_TYPES)
    ntypes = MT_DUMP_MAX_TYPES;
  mt_timeline_take(true); /* the last snapshot: the end */
  unsigned nsnap;
  uint64_t spacing;
  const mt_tl_snap_t *snaps = mt_timeline_get(&nsnap, &spacing);
  memset(tl_high, 0, ntypes * sizeof(tl_high[0]));
  for (unsigned i = 0; i < nsnap; i++)
    for (unsigned k = 0; k < snaps[i].ntop; k++) {
      const mt_tl_entry_t *e = &snaps[i].top[k];
      if (e->type < ntypes && e->bytes > tl_high[e->type])
        tl_high[e->type] = e->bytes;
    }
  mt_peak_t pk;
  mt_tcache_peak_get(&pk);

  section_begin(MT_DUMP_TAG_HIGHUSE);
  put32(ntypes);
  put32(0);
  uint32_t nrows = 0;
  for (unsigned t = 0; t < ntypes; t++) {
    peak_row_t r = peak_row(slots, nslots, t, pk.epoch);
    put64(r.high);
    nrows += r.bytes || r.high;
  }
  section_end();

  section_begin(MT_DUMP_TAG_PEAK);
  RECORD_BEGIN(head);
  put64(pk.bytes);
  uint64_t t0 = mt_timeline_start();
  put64(pk.time_ns > t0 ? pk.time_ns - t0 : 0);
  put64(pk.count);
  put32(pk.threads);
  put32(pk.threads <= 1 ? MT_DUMP_PEAK_EXACT : 0);
  put32(nrows);
  put32(0);
  RECORD_END(head, MT_DUMP_PEAK_HEADER);
  uint32_t written = 0;
  for (unsigned t = 0; t < ntypes && written < nrows; t++) {
    peak_row_t r = peak_row(slots, nslots, t, pk.epoch);
    if (!r.bytes && !r.high)
      continue;
    RECORD_BEGIN(rec);
    put32(t);
    put32(r.exact ? MT_DUMP_PEAK_EXACT : 0);
    put64(r.bytes);
    put64(r.blocks);
    put64(r.high);
    RECORD_END(rec, MT_DUMP_PEAK_RECORD);
    written++;
  }
  for (; written < nrows; written++) { /* a row emptied since counting */
    static const char zero[MT_DUMP_PEAK_RECORD];
    put(zero, sizeof(zero));
  }
  section_end();

  if (!mt_timeline_is_on()) /* MEMTYPE_TIMELINE=0: none, as in a dump before 1.8 */
    return;
  section_begin(MT_DUMP_TAG_TIMELINE);
  RECORD_BEGIN(th);
  put32(nsnap);
  put32(MT_TL_TOP);
  put64(spacing);
  RECORD_END(th, MT_DUMP_TIMELINE_HEADER);
  for (unsigned i = 0; i < nsnap; i++) {
    const mt_tl_snap_t *sn = &snaps[i];
    RECORD_BEGIN(snap);
    put64(sn->time_ns);
    put64(sn->bytes);
    put64(sn->blocks);
    put64(sn->allocated);
    put32(sn->ntop);
    put32(0);
    RECORD_END(snap, MT_DUMP_SNAPSHOT_FIXED);
    for (unsigned k = 0; k < sn->ntop; k++) {
      RECORD_BEGIN(ent);
      put32(sn->top[k].type);
      put32(0);
      put64(sn->top[k].bytes);
      put64(sn->top[k].blocks);
      RECORD_END(ent, MT_DUMP_SNAPSHOT_ENTRY);
    }
  }
  section_end();
}

/* Injected failures: totals, then the events still in the ring, oldest
 * first. Absent when failure injection is off. */
static void failures_section(void) {
  if (!mt_fail_on)
    return;
  const mt_fail_event_t *ev = mt_fail_events();
  uint64_t total = mt_fail_count();
  uint64_t first = total > MT_FAIL_EVENTS ? total - MT_FAIL_EVENTS + 1 : 1;
  uint32_t n = 0;
  for (uint64_t q = first; q <= total; q++)
    n += __atomic_load_n(&ev[(q - 1) % MT_FAIL_EVENTS].seq, __ATOMIC_ACQUIRE) == q;
  section_begin(MT_DUMP_TAG_FAILURES);
  RECORD_BEGIN(head);
  put64(total);
  put64(mt_fail_eligible());
  put64(mt_fail_seed());
  put64((uint64_t)mt_opt.failure_rate);
  put32(n);
  put32(0);
  RECORD_END(head, MT_DUMP_FAILURES_HEADER);
  uint32_t written = 0;
  for (uint64_t q = first; q <= total && written < n; q++) {
    mt_fail_event_t e = ev[(q - 1) % MT_FAIL_EVENTS];
    if (e.seq != q)
      continue;
    if (e.nframes > MT_DUMP_EVENT_FRAMES)
      e.nframes = MT_DUMP_EVENT_FRAMES;
    RECORD_BEGIN(rec);
    put64(e.seq);
    put64(e.eligible);
    put64(e.time_ns);
    put64(e.size);
    put32(e.tid);
    put16(e.type);
    put16(e.family);
    put32(e.nframes);
    put32(0);
    for (unsigned f = 0; f < MT_DUMP_EVENT_FRAMES; f++)
      put64(f < e.nframes ? e.frames[f] : 0);
    RECORD_END(rec, MT_DUMP_FAILURE_RECORD);
    written++;
  }
  for (; written < n; written++) { /* overwritten meanwhile: keep the count */
    static const char zero[MT_DUMP_FAILURE_RECORD];
    put(zero, sizeof(zero));
  }
  section_end();
}

/* Heap errors reported: the latest MT_ERR_EVENTS, oldest first. Absent
 * when there were none. */
static void errors_section(void) {
  unsigned long total = mt_error_count();
  if (total == 0)
    return;
  const mt_err_event_t *ev = mt_report_events();
  uint64_t last = 0;
  for (unsigned i = 0; i < MT_ERR_EVENTS; i++) {
    uint64_t q = __atomic_load_n(&ev[i].seq, __ATOMIC_ACQUIRE);
    last = q > last ? q : last;
  }
  uint64_t first = last > MT_ERR_EVENTS ? last - MT_ERR_EVENTS + 1 : 1;
  uint32_t n = 0;
  for (uint64_t q = first; q <= last; q++)
    n += __atomic_load_n(&ev[(q - 1) % MT_ERR_EVENTS].seq, __ATOMIC_ACQUIRE) == q;
  section_begin(MT_DUMP_TAG_ERRORS);
  RECORD_BEGIN(head);
  put64(total);
  put32(n);
  put32(0);
  RECORD_END(head, MT_DUMP_ERRORS_HEADER);
  uint32_t written = 0;
  for (uint64_t q = first; q <= last && written < n; q++) {
    mt_err_event_t e = ev[(q - 1) % MT_ERR_EVENTS];
    if (e.seq != q)
      continue;
    RECORD_BEGIN(rec);
    put64(e.seq);
    put64(e.time_ns);
    put64(e.addr);
    put64(e.block);
    put64(e.size);
    put64(e.free_pc);
    put32(e.tid);
    put32((uint32_t)e.type);
    put16(e.kind);
    put16(e.access);
    put16(e.nframes > MT_DUMP_EVENT_FRAMES ? MT_DUMP_EVENT_FRAMES : e.nframes);
    _Static_assert(MT_ERR_EVENT_FAULT_PC == MT_DUMP_ERROR_FAULT_PC, "the event's flag is the dump's");
    put16(e.flags);
    for (unsigned f = 0; f < MT_DUMP_EVENT_FRAMES; f++)
      put64(f < e.nframes ? e.frames[f] : 0);
    RECORD_END(rec, MT_DUMP_ERROR_RECORD);
    written++;
  }
  for (; written < n; written++) {
    static const char zero[MT_DUMP_ERROR_RECORD];
    put(zero, sizeof(zero));
  }
  section_end();
}

/* The leak scan's records, when it ran (exit dumps). */
static void leaks_section(void) {
  const mt_leak_result_t *r = mt_leak_result();
  if (r == NULL)
    return;
  section_begin(MT_DUMP_TAG_LEAKS);
  RECORD_BEGIN(head);
  put32(r->nrecs);
  put32(MT_DUMP_LEAK_KINDS);
  for (unsigned k = 0; k < MT_DUMP_LEAK_KINDS; k++) {
    put64(r->bytes[k]);
    put64(r->blocks[k]);
  }
  put64(r->ns);
  put64(r->scanned_roots);
  RECORD_END(head,
             MT_DUMP_COUNT_HEADER + MT_DUMP_LEAK_KINDS * MT_DUMP_LEAK_TOTAL + MT_DUMP_LEAK_FACTS);
  for (uint32_t i = 0; i < r->nrecs; i++) {
    RECORD_BEGIN(rec);
    put64(r->recs[i].bytes);
    put64(r->recs[i].blocks);
    put64(r->recs[i].sample);
    put32(r->recs[i].type);
    put32(r->recs[i].kind);
    RECORD_END(rec, MT_DUMP_LEAK_RECORD);
  }
  section_end();
}

/* The blocks' stacks (depot.h) of the error and leak records written
 * above: first the references (an error by its seq, a leak record by its
 * index), then each stack they name, once. Absent when there is none. */
typedef struct stack_ref_s {
  uint64_t key;
  uint32_t what, alloc, free;
} stack_ref_t;
enum { REF_ERROR = 1, REF_LEAK = 2 };

static void stacks_section(void) {
  const mt_leak_result_t *lr = mt_leak_result();
  uint32_t nleak = lr ? lr->nrecs : 0;
  size_t cap = MT_ERR_EVENTS + (size_t)nleak, nref = 0;
  size_t bytes = cap * sizeof(stack_ref_t) + 2 * cap * 2 * sizeof(uint32_t);
  stack_ref_t *refs = mt_os_map(bytes);
  if (refs == NULL)
    return;
  uint32_t *ids = (uint32_t *)(refs + cap), nids = 0; /* a set: 4 * cap slots, 0 = empty */
  size_t set_len = 4 * cap;
  const mt_err_event_t *ev = mt_report_events();
  for (unsigned i = 0; i < MT_ERR_EVENTS && mt_error_count(); i++) {
    mt_err_event_t e = ev[i];
    if (e.seq && (e.alloc_stack || e.free_stack))
      refs[nref++] = (stack_ref_t){e.seq, REF_ERROR, e.alloc_stack, e.free_stack};
  }
  for (uint32_t i = 0; i < nleak; i++)
    if (lr->recs[i].stack)
      refs[nref++] = (stack_ref_t){i, REF_LEAK, lr->recs[i].stack, 0};
  if (nref == 0) {
    mt_os_unmap(refs, bytes);
    return;
  }
  for (size_t r = 0; r < nref; r++)
    for (unsigned k = 0; k < 2; k++) {
      uint32_t id = k ? refs[r].free : refs[r].alloc;
      if (id == 0)
        continue;
      size_t s = (id * 0x9e3779b1u) % set_len;
      while (ids[s] && ids[s] != id)
        s = (s + 1) % set_len;
      nids += ids[s] == 0;
      ids[s] = id;
    }
  section_begin(MT_DUMP_TAG_STACKS);
  put32((uint32_t)nref);
  put32(nids);
  for (size_t r = 0; r < nref; r++) {
    put64(refs[r].key);
    put32(refs[r].what);
    put32(0);
    put32(refs[r].alloc);
    put32(refs[r].free);
  }
  for (size_t s = 0; s < set_len; s++) {
    if (ids[s] == 0)
      continue;
    uintptr_t frames[MT_DEPOT_MAX_FRAMES];
    unsigned n = mt_depot_get(ids[s], frames, MT_DEPOT_MAX_FRAMES);
    put32(ids[s]);
    put32(n);
    for (unsigned f = 0; f < n; f++)
      put64(frames[f]);
  }
  section_end();
  mt_os_unmap(refs, bytes);
}

/* memguard's counters: per type guarded allocations and budget misses
 * (types with neither are left out), pages live and the budget. */
static void guard_section(unsigned ntypes) {
  if (!mt_guard_on)
    return;
  uint32_t n = 0;
  for (unsigned t = 0; t < ntypes; t++)
    n += (mt_guard_count(t) | mt_guard_misses(t)) != 0;
  section_begin(MT_DUMP_TAG_GUARD);
  RECORD_BEGIN(head);
  put64(mt_guard_pages_live());
  put64(mt_guard_budget_pages());
  put32(n);
  put32((uint32_t)mt_guard_method()); /* MT_DUMP_GUARD_METHODS */
  RECORD_END(head, MT_DUMP_GUARD_HEADER);
  for (unsigned t = 0, done = 0; t < ntypes && done < n; t++) {
    uint64_t g = mt_guard_count(t), m = mt_guard_misses(t);
    if ((g | m) == 0)
      continue;
    uint64_t c = mt_guard_count_cheap(t);
    RECORD_BEGIN(rec);
    put32(t);
    put32(c > UINT32_MAX ? UINT32_MAX : (uint32_t)c); /* overflow_only (1.9), saturated */
    put64(g);
    put64(m);
    RECORD_END(rec, MT_DUMP_GUARD_RECORD);
    done++;
  }
  section_end();
}

/* MALLOC_PROFILE's table: requests by size rounded to 16 bytes, the larger
 * ones in one row, and each type's bytes handed out (its waste is those
 * minus its bytes requested). Left out when the registry stays busy (a
 * dump in a handler that interrupted it). */
static void waste_section(mt_typestat_t *const *const *slots, unsigned nslots, unsigned ntypes) {
  static mt_sizeprof_t prof;
  if (!mt_tcache_sum_sizes(&prof))
    return;
  section_begin(MT_DUMP_TAG_WASTE);
  put32(MT_WASTE_BUCKETS);
  put32(ntypes);
  for (unsigned b = 0; b < MT_WASTE_BUCKETS; b++)
    put64(prof.requests[b]);
  RECORD_BEGIN(head);
  put64(prof.large_requests);
  put64(prof.large_bytes);
  put64(prof.large_real);
  RECORD_END(head, MT_DUMP_WASTE_LARGE);
  for (unsigned t = 0; t < ntypes; t++) {
    uint64_t real = 0;
    for (unsigned s = 0; s < nslots; s++) {
      const mt_typestat_t *st = slot_stat(slots[s], t);
      if (st)
        real += __atomic_load_n(&st->bytes_real, __ATOMIC_RELAXED);
    }
    put64(real);
  }
  section_end();
}

/* How the process ended: an exit status or a signal, and through what
 * (life.h). A dump on request is written by a process still running. */
/* The last exit or fatal dump this process wrote, and where its ending
 * record is: a deadly signal that comes once it is written (the process
 * dies of it after all) rewrites the ending there (mt_dump_late_death). */
static char final_path[4096];
static uint64_t final_ending_at;
static int final_pid;

static void ending_section(int reason) {
  mt_ending_t e = *mt_life_ending();
  if (reason == MT_DUMP_SIGNAL)
    memset(&e, 0, sizeof(e)), e.how = MT_END_RUNNING;
  section_begin(MT_DUMP_TAG_ENDING);
  if (reason != MT_DUMP_SIGNAL)
    final_ending_at = here();
  RECORD_BEGIN(head);
  put32(e.how);
  put32((uint32_t)e.status);
  put32(e.signal);
  put32(e.via);
  RECORD_END(head, MT_DUMP_ENDING_SIZE);
  section_end();
}

/* MEMTYPE_RUN, so that `memtype run` tells its own processes' dumps from
 * others' written to the same place. */
static void run_section(void) {
  uint32_t len = (uint32_t)strlen(mt_opt.run);
  section_begin(MT_DUMP_TAG_RUN);
  put32(len);
  put32(0);
  put(mt_opt.run, len);
  section_end();
}

/* ---- signals ----------------------------------------------------------------- */

static void on_dump_signal(int sig, void *info, void *uc) {
  (void)info, (void)uc;
  int saved = errno;
  mt_modules_hold++; /* in a handler: the module snapshot as it is */
  mt_dump_write(MT_DUMP_SIGNAL, sig);
  mt_modules_hold--;
  errno = saved;
}

/* Post-mortem, like DDB's `show malloc`: the dump, then the death the
 * program would have had (the faulting instruction runs again, or the
 * signal is raised again, with the default action). */
static void on_fatal(int sig, void *info, void *uc) {
  (void)info, (void)uc;
  if (mt_life_is_other_process()) { /* a vfork child: the parent's books */
    mt_os_reraise_default(sig);
    return;
  }
  mt_life_set_ending(MT_END_SIGNALED, 0, sig, MT_VIA_SIGNAL);
  mt_modules_hold++;
  mt_dump_write(MT_DUMP_FATAL, sig);
  mt_live_fini();
  mt_os_reraise_default(sig);
}

bool mt_dump_install_signals(char *err, size_t errlen) {
  if (mt_os_is_secure() || mt_opt.output == NULL || strcmp(mt_opt.output, "off") == 0)
    return true;
  if (strcmp(mt_opt.dump_signal, "off") != 0) {
    int sig = mt_os_signal_number(mt_opt.dump_signal);
    if (sig == 0) {
      mt_snprintf(err, errlen, "memtype: error: MEMTYPE_DUMP_SIGNAL=%s: not a signal; accepted: "
                  "off, a name (USR1, USR2, HUP, ...) or a number 1..64\n", mt_opt.dump_signal);
      return false;
    }
    if (!mt_os_catch_signal(sig, on_dump_signal))
      mt_warn("MEMTYPE_DUMP_SIGNAL=%s: the program handles that signal already; not taken",
              mt_opt.dump_signal);
  }
  if (mt_opt.dump_fatal) {
    /* SIGSEGV and SIGBUS: core/out/fault.c, which reports the crash first. */
    static const int fatal[] = {SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
      mt_os_catch_signal(fatal[i], on_fatal);
  }
  return true;
}

/* ---- public ----------------------------------------------------------------- */

bool mt_dump_write(int reason, int sig) {
  const char *tmpl = mt_opt.output;
  if (tmpl == NULL || strcmp(tmpl, "off") == 0 || mt_os_is_secure())
    return false;
  /* A tree's processes under plain LD_PRELOAD (a shell script's commands):
   * only the top one writes its exit dump unless asked. A crash's dump and
   * one on request are always written. */
  if (reason == MT_DUMP_EXIT && !mt_opt.dump_children && mt_os_parent_has_self())
    return false;
  static char path[4096];
  static unsigned seq;
  /* A signal's dump, or one the reporter writes before ending the process
   * (perhaps in memguard's fault handler): no lock is waited for. */
  bool in_handler = reason != MT_DUMP_EXIT || mt_modules_hold;
  /* A thread that holds none of memtype's locks (a deadly signal comes
   * through the signal gate only then) may wait for another thread's. */
  bool holds_none = __atomic_load_n(&mt_tls_locks, __ATOMIC_RELAXED) == 0;
  if (in_handler ? !mt_trylock(&dump_lock) : (mt_lock(&dump_lock), false)) {
    mt_warn("signal %d: a dump is being written already; no second one", sig);
    return false;
  }
  size_t plen = 0;
  if (mt_dump_path(tmpl, mt_os_getpid(), mt_os_progname(), path, sizeof(path) - 16))
    plen = strlen(path);
  if (plen == 0) {
    mt_warn("MEMTYPE_OUTPUT: the path is too long once expanded (at most %zu characters); "
            "no dump written", sizeof(path) - 17);
    mt_unlock(&dump_lock);
    return false;
  }
  /* Dumps on request get a sequence number: the exit dump keeps the name. */
  if (reason == MT_DUMP_SIGNAL)
    mt_snprintf(path + plen, sizeof(path) - plen, ".%u", ++seq);
  int fd = mt_os_create_excl(path);
  if (fd < 0) {
    char eb[24];
    mt_warn("cannot create the dump %s (%s%s); no dump written", path,
            mt_errno_text(-fd, eb, sizeof(eb)),
            -fd == EEXIST ? ": memtype never overwrites a dump" : "");
    mt_unlock(&dump_lock);
    return false;
  }
  static mt_typestat_t *const *slot_buf[MAX_SLOTS];
  unsigned nslots = in_handler && !holds_none ? mt_tcache_slots_try(slot_buf, MAX_SLOTS)
                                             : mt_tcache_slots(slot_buf, MAX_SLOTS);
  if (nslots == 0) {
    mt_warn("signal %d: memtype's thread registry is busy in this thread; no dump written",
            sig);
    mt_os_close(fd);
    mt_os_unlink(path);
    mt_unlock(&dump_lock);
    return false;
  }
  if (nslots > MAX_SLOTS)
    nslots = MAX_SLOTS;
  unsigned ntypes = mt_site_count();
  memset(&w, 0, sizeof(w.fd) + sizeof(w.err) + sizeof(w.off) + sizeof(w.n) + sizeof(w.section));
  w.fd = fd;
  header(0, nslots, ntypes, (uint32_t)reason);
  process_section(sig);
  sizes_section();
  modules_section();
  types_section((mt_typestat_t *const *const *)slot_buf, nslots, ntypes);
  inherited_section(ntypes);
  peak_sections((mt_typestat_t *const *const *)slot_buf, nslots, ntypes);
  failures_section();
  errors_section();
  leaks_section();
  stacks_section();
  guard_section(ntypes);
  waste_section((mt_typestat_t *const *const *)slot_buf, nslots, ntypes);
  ending_section(reason);
  run_section();
  section_begin(MT_DUMP_TAG_END);
  section_end();
  flush();
  /* Last: mark the file whole. */
  uint32_t flags = MT_DUMP_FLAG_COMPLETE;
  if (!w.err)
    mt_os_pwrite_all(fd, &flags, sizeof(flags), MT_DUMP_FLAGS_OFFSET, &w.err);
  mt_os_close(fd);
  bool ok = !w.err;
  if (ok && reason != MT_DUMP_SIGNAL) {
    memcpy(final_path, path, sizeof(final_path));
    __atomic_store_n(&final_pid, mt_os_getpid(), __ATOMIC_RELEASE);
  }
  if (!ok) {
    char eb[24];
    mt_warn("writing the dump %s failed (%s); the file is incomplete and marked so", path,
            mt_errno_text(w.err, eb, sizeof(eb)));
  }
  mt_unlock(&dump_lock);
  return ok;
}

void mt_dump_late_death(int sig) {
  if (__atomic_load_n(&final_pid, __ATOMIC_ACQUIRE) != mt_os_getpid()) {
    /* None written (a child's exit dump under plain LD_PRELOAD is not):
     * a signal's dump is, in every process. */
    mt_modules_hold++;
    mt_dump_write(MT_DUMP_FATAL, sig);
    mt_modules_hold--;
    return;
  }
  int fd = mt_os_open_rewrite(final_path);
  if (fd < 0)
    return;
  const mt_ending_t *e = mt_life_ending();
  uint32_t rec[4] = {e->how, (uint32_t)e->status, e->signal, e->via};
  int err = 0;
  mt_os_pwrite_all(fd, rec, sizeof(rec), final_ending_at, &err);
  mt_os_close(fd);
}
