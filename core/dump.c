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

#define MAGIC "memtype\x1a"
#define TAG_PROCESS 1u
#define TAG_SIZES 2u
#define TAG_MODULES 3u
#define TAG_TYPES 4u
#define TAG_HIGHUSE 5u
#define TAG_FAILURES 6u
#define TAG_ERRORS 7u
#define TAG_LEAKS 8u
#define TAG_GUARD 9u
#define TAG_WASTE 10u
#define TAG_INHERITED 11u
#define TAG_ENDING 12u
#define TAG_STACKS 13u
#define TAG_END 0xffffffffu
#define FLAG_COMPLETE 1u
#define MAX_SLOTS 65536u

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
  static const char zero[8];
  size_t at = (size_t)((w.off + w.n) & 7);
  if (at)
    put(zero, 8 - at);
}

static void section_begin(uint32_t tag) {
  pad8();
  w.section = w.off + w.n;
  put32(tag);
  put32(0);
  put64(0); /* length, patched by section_end */
}

static void section_end(void) {
  pad8();
  flush();
  uint64_t len = w.off - w.section - 16;
  if (!w.err)
    mt_os_pwrite_all(w.fd, &len, 8, w.section + 8, &w.err);
}

/* ---- sections -------------------------------------------------------------- */

static void header(uint32_t flags, uint32_t nslots, uint32_t ntypes, uint32_t reason) {
  put(MAGIC, 8);
  put16(1); /* major */
  put16(6); /* minor: 1.1 HIGHUSE; 1.2 FAILURES, ERRORS, LEAKS, GUARD, the records' failures;
              * 1.3 WASTE; 1.4 INHERITED; 1.5 ENDING; 1.6 STACKS */
  put16(64);
  put16(0x0102);
  put32(flags);
  put32(nslots);
  put32(ntypes);
  put32(reason);
  static const char reserved[32];
  put(reserved, sizeof(reserved));
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
  section_begin(TAG_PROCESS);
  put32((uint32_t)mt_os_getpid());
  put32((uint32_t)mt_os_getppid());
  put64(start_ns);
  put64(mt_os_realtime_ns());
  put32((uint32_t)sig);
  put32(argc);
  put32((uint32_t)elen);
  put32(0);
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
  section_begin(TAG_INHERITED);
  put32(count);
  put32(0);
  for (unsigned t = 0; t < ntypes; t++) {
    uint64_t blocks = mt_tcache_inherited(t, &bytes);
    if (blocks == 0)
      continue;
    put32(t);
    put32(0);
    put64(blocks);
    put64(bytes);
  }
  section_end();
}

static void sizes_section(void) {
  section_begin(TAG_SIZES);
  put32(MT_NCLASSES);
  put32(0);
  for (unsigned c = 0; c < MT_NCLASSES; c++) {
    put32(mt_classes[c].size);
    put32(mt_classes[c].npages);
    put32(mt_classes[c].nslots);
    put32(0);
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
  put64(base);
  put16((uint16_t)plen);
  put16((uint16_t)idlen);
  put32(0);
  put(path, plen);
  if (idlen)
    put(id, idlen);
  pad8();
}

static void modules_section(void) {
  mt_modules_sync(); /* a no-op in a handler or a report: the snapshot as it is */
  unsigned n;
  const mt_module_t *mods = mt_modules_pin(&n);
  section_begin(TAG_MODULES);
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
  section_begin(TAG_TYPES);
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
    put32(t);
    put16((uint16_t)npcs);
    put16((uint16_t)name_len);
    /* Count, then write: a record can change in between, never appear. */
    for (unsigned s = 0; s < nslots; s++) {
      const mt_typestat_t *st = slot_stat(slots[s], t);
      nrec += st && !stat_is_zero(st);
    }
    put32(nrec);
    put32(0);
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
      v->classes[0] = __atomic_load_n(&st->classes[0], __ATOMIC_RELAXED);
      v->classes[1] = __atomic_load_n(&st->classes[1], __ATOMIC_RELAXED);
      v->failures = __atomic_load_n(&st->failures, __ATOMIC_RELAXED);
      put32(s);
      put32(v->failures > UINT32_MAX ? UINT32_MAX : (uint32_t)v->failures);
      put64(v->allocs);
      put64(v->frees);
      put64(v->bytes_alloc);
      put64(v->bytes_freed);
      put64(v->classes[0]);
      put64(v->classes[1]);
      written++;
    }
    /* A slot emptied since counting: keep the promised record count. */
    for (; written < nrec; written++) {
      static const char zero[56];
      put(zero, sizeof(zero));
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
  section_begin(TAG_FAILURES);
  put64(total);
  put64(mt_fail_eligible());
  put64(mt_fail_seed());
  put64((uint64_t)mt_opt.failure_rate);
  put32(n);
  put32(0);
  uint32_t written = 0;
  for (uint64_t q = first; q <= total && written < n; q++) {
    mt_fail_event_t e = ev[(q - 1) % MT_FAIL_EVENTS];
    if (e.seq != q)
      continue;
    if (e.nframes > 8)
      e.nframes = 8;
    put64(e.seq);
    put64(e.eligible);
    put64(e.time_ns);
    put64(e.size);
    put32(e.tid);
    put16(e.type);
    put16(e.family);
    put32(e.nframes);
    put32(0);
    for (unsigned f = 0; f < 8; f++)
      put64(f < e.nframes ? e.frames[f] : 0);
    written++;
  }
  for (; written < n; written++) { /* overwritten meanwhile: keep the count */
    static const char zero[112];
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
  section_begin(TAG_ERRORS);
  put64(total);
  put32(n);
  put32(0);
  uint32_t written = 0;
  for (uint64_t q = first; q <= last && written < n; q++) {
    mt_err_event_t e = ev[(q - 1) % MT_ERR_EVENTS];
    if (e.seq != q)
      continue;
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
    put32(e.nframes > 8 ? 8 : e.nframes);
    for (unsigned f = 0; f < 8; f++)
      put64(f < e.nframes ? e.frames[f] : 0);
    written++;
  }
  for (; written < n; written++) {
    static const char zero[128];
    put(zero, sizeof(zero));
  }
  section_end();
}

/* The leak scan's records, when it ran (exit dumps). */
static void leaks_section(void) {
  const mt_leak_result_t *r = mt_leak_result();
  if (r == NULL)
    return;
  section_begin(TAG_LEAKS);
  put32(r->nrecs);
  put32(MT_LEAK_KINDS);
  for (unsigned k = 0; k < MT_LEAK_KINDS; k++) {
    put64(r->bytes[k]);
    put64(r->blocks[k]);
  }
  put64(r->ns);
  put64(r->scanned_roots);
  for (uint32_t i = 0; i < r->nrecs; i++) {
    put64(r->recs[i].bytes);
    put64(r->recs[i].blocks);
    put64(r->recs[i].sample);
    put32(r->recs[i].type);
    put32(r->recs[i].kind);
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
  section_begin(TAG_STACKS);
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
  section_begin(TAG_GUARD);
  put64(mt_guard_pages_live());
  put64(mt_guard_budget_pages());
  put32(n);
  put32(0);
  for (unsigned t = 0, done = 0; t < ntypes && done < n; t++) {
    uint64_t g = mt_guard_count(t), m = mt_guard_misses(t);
    if ((g | m) == 0)
      continue;
    put32(t);
    put32(0);
    put64(g);
    put64(m);
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
  section_begin(TAG_WASTE);
  put32(MT_WASTE_BUCKETS);
  put32(ntypes);
  for (unsigned b = 0; b < MT_WASTE_BUCKETS; b++)
    put64(prof.requests[b]);
  put64(prof.large_requests);
  put64(prof.large_bytes);
  put64(prof.large_real);
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
static void ending_section(int reason) {
  mt_ending_t e = *mt_life_ending();
  if (reason == MT_DUMP_SIGNAL)
    memset(&e, 0, sizeof(e)), e.how = MT_END_RUNNING;
  section_begin(TAG_ENDING);
  put32(e.how);
  put32((uint32_t)e.status);
  put32(e.signal);
  put32(e.via);
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
    /* SIGSEGV and SIGBUS: memguard/fault.c, which reports the crash first. */
    static const int fatal[] = {SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
      mt_os_catch_signal(fatal[i], on_fatal);
  }
  return true;
}

/* ---- public ----------------------------------------------------------------- */

bool mt_dump_path(const char *tmpl, int pid, const char *prog, char *buf, size_t len) {
  size_t o = 0;
  for (const char *t = tmpl; *t; t++) {
    char part[32];
    const char *add = part;
    if (*t == '%' && t[1] == 'p') {
      mt_snprintf(part, sizeof(part), "%d", pid);
      t++;
    } else if (*t == '%' && t[1] == 'e') {
      add = prog;
      t++;
    } else if (*t == '%' && t[1] == '%') {
      part[0] = '%', part[1] = '\0';
      t++;
    } else {
      part[0] = *t, part[1] = '\0';
    }
    size_t k = strlen(add);
    if (o + k + 1 > len)
      return false;
    memcpy(buf + o, add, k);
    o += k;
  }
  buf[o] = '\0';
  return o > 0;
}

bool mt_dump_write(int reason, int sig) {
  const char *tmpl = mt_opt.output;
  if (tmpl == NULL || strcmp(tmpl, "off") == 0 || mt_os_is_secure())
    return false;
  static char path[4096];
  static unsigned seq;
  /* A signal's dump, or one the reporter writes before ending the process
   * (perhaps in memguard's fault handler): no lock is waited for. */
  bool in_handler = reason != MT_DUMP_EXIT || mt_modules_hold;
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
  unsigned nslots = in_handler ? mt_tcache_slots_try(slot_buf, MAX_SLOTS)
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
  section_begin(TAG_HIGHUSE);
  put32(ntypes);
  put32(0);
  for (unsigned t = 0; t < ntypes; t++)
    put64(mt_tcache_highuse(t));
  section_end();
  failures_section();
  errors_section();
  leaks_section();
  stacks_section();
  guard_section(ntypes);
  waste_section((mt_typestat_t *const *const *)slot_buf, nslots, ntypes);
  ending_section(reason);
  section_begin(TAG_END);
  section_end();
  flush();
  /* Last: mark the file whole. */
  uint32_t flags = FLAG_COMPLETE;
  if (!w.err)
    mt_os_pwrite_all(fd, &flags, 4, 16, &w.err);
  mt_os_close(fd);
  bool ok = !w.err;
  if (!ok) {
    char eb[24];
    mt_warn("writing the dump %s failed (%s); the file is incomplete and marked so", path,
            mt_errno_text(w.err, eb, sizeof(eb)));
  }
  mt_unlock(&dump_lock);
  return ok;
}
