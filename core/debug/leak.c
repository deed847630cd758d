/* leak.c - the leak scan (see leak.h). Marks live in a byte per slot (in
 * internal memory, made on first need), in the run descriptor of a page run
 * and in the header of a huge block. Phase 1 marks from the roots: a pointer
 * to a block's start makes it REACHABLE, an interior pointer POSSIBLE; what
 * a reachable block points to is reachable (or possible), what a possible
 * block points to is possible. Phase 2 looks at the unmarked live blocks:
 * those another lost block points to are INDIRECT, the rest DEFINITE; a
 * cycle of lost blocks that no definite one leads to gets one definite
 * leader, as valgrind's cliques do. The page lock is held throughout, so no
 * segment or huge block disappears while it is read; roots are read with
 * process_vm_readv, so a mapping that goes away cannot fault the scan. A
 * block is read in place unless it meets a page the program made
 * unreadable (mprotect; listed once from /proc/self/maps before the scan):
 * then through process_vm_readv too, its unreadable pages skipped. */
#define _GNU_SOURCE /* REG_RSP */
#include "leak.h"

#include <string.h>

#include "arena.h"
#include "depot.h"
#include "options.h"
#include "os.h"
#include "block.h"
#include "page.h"
#include "zone.h"
#include "report.h"
#include "life.h"
#include "modules.h"
#include "siggate.h"

#include <ucontext.h>
#include "site.h"
#include "sort.h"
#include "suppress.h"

const char *const mt_leak_kind_names[MT_LEAK_KINDS] = {"definitely lost", "indirectly lost",
                                                       "possibly lost", "still reachable"};
_Static_assert(sizeof(mt_leak_kind_names) / sizeof(mt_leak_kind_names[0]) == MT_LEAK_KINDS,
               "a name for every leak kind");

enum {
  M_NONE = 0, M_REACH = 1, M_POSS = 2, M_IND = 3, M_DEF = 4,
  M_OUT = 0x20, M_HELD = 0x40, M_COVER = 0x80
};
/* A mark's kind, without its flags: M_OUT (this lost block points at
 * another lost block), M_HELD (a lost block holds a pointer to this one's
 * start) and M_COVER (reached from a definitely lost block). */
#define KIND(m) ((m) & 0x1f)

typedef mt_block_live_t blk_t; /* a live block: start, len, mark, type */

typedef struct scan_s {
  uintptr_t *sealed;  /* unreadable ranges, lo and hi pairs in address order */
  size_t nsealed, sealed_cap;
  bool sealed_partial; /* the list could not grow: read every block safely */
  blk_t *stack;
  size_t n, cap;
  bool oom;           /* the work stack could not grow: results are partial */
  uint64_t *acc;      /* per type and kind: bytes, blocks, sample, the sample's stack (ACC words) */
  unsigned ntypes;
  int lead_pass;      /* lead_cycle's pass: which indirect blocks may lead */
} scan_t;

static mt_leak_result_t result;

#define ACC 4 /* words of s->acc per type and kind */

/* ---- blocks ------------------------------------------------------------- */

/* The scan's view of a live block: from the block model (block.h). */
static bool blk_of(mt_block_t *k, blk_t *b) {
  mt_meta_t m = *k->meta;
  if (m.f.state != MT_STATE_LIVE || (b->mark = mt_block_mark(k)) == NULL)
    return false;
  b->start = k->start;
  b->len = mt_block_size(k);
  b->type = m.f.type;
  return true;
}

/* The live block holding v (block.h's light lookup); *interior when v is
 * not its start. Inlined into its two callers, the scan's per-word loops:
 * as a call it costs some 65 M instructions of py_churn's 810 M
 * (docs/benchmarks.md, "Redzones on both sides"). */
static inline __attribute__((always_inline)) bool resolve(uintptr_t v, blk_t *b, bool *interior) {
  if (!mt_block_live_at(v, b))
    return false;
  *interior = v != b->start;
  return true;
}

static void push(scan_t *s, const blk_t *b) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 65536;
    blk_t *bigger = mt_os_map(cap * sizeof(blk_t));
    if (bigger == NULL) {
      s->oom = true;
      return;
    }
    if (s->stack) {
      memcpy(bigger, s->stack, s->n * sizeof(blk_t));
      mt_os_unmap(s->stack, s->cap * sizeof(blk_t));
    }
    s->stack = bigger;
    s->cap = cap;
  }
  s->stack[s->n++] = *b;
}

/* ---- interior pointers a correct program holds -------------------------------- */

/* The loaded modules, pinned for the scan (heuristics' vtable check). */
static const mt_module_t *scan_mods;
static unsigned scan_nmods;

/* Are [a, a + n) inside a readable segment of a loaded module? */
static bool in_module(uintptr_t a, size_t n) {
  for (unsigned i = 0; i < scan_nmods; i++) {
    const mt_module_t *m = &scan_mods[i];
    if (a < m->lo || a >= m->hi)
      continue;
    for (unsigned k = 0; k < m->nseg; k++)
      if (a >= m->seg_lo[k] && a + n <= m->seg_hi[k])
        return true;
    return false;
  }
  return false;
}

static bool is_sealed(const scan_t *s, uintptr_t lo, uintptr_t hi);

/* Is v, a pointer into b but not at its start, one a correct program keeps
 * as its only reference to b? Then b is reachable through it, as valgrind's
 * leak-check heuristics (all on by default) have it:
 *  - length64: a header with the size of the rest, the pointer after it
 *    (sqlite3's allocator, many others);
 *  - newarray: C++'s new[] of a type with a destructor, the element count
 *    before the array (the first word divides the rest);
 *  - stdstring: the old-ABI std::string, {length, capacity, refcount} then
 *    the characters (length <= capacity, capacity + 25 bytes);
 *  - multiple inheritance: a base subobject at offset off, its vtable
 *    pointer's offset-to-top -off (the word 16 bytes before the vtable's
 *    address point, in a module's readable segment);
 *  - pyobject (memtype's own): a CPython object with a header before it
 *    (see python_object).
 * Only words of b the process can read are read. */
static MT_NOINLINE bool held_inside(const scan_t *s, uintptr_t v, const blk_t *b);

/* The word at a, if the scan may read it: in a module's readable segment,
 * or inside a live block of ours the program did not seal (a guarded one
 * read without faulting, as each_words does: another thread may close it
 * meanwhile). */
static bool block_word(const scan_t *s, uintptr_t a, uint64_t *out) {
  blk_t b;
  if ((a & 7) != 0 || a < 4096)
    return false;
  if (!in_module(a, 8)) {
    if (!mt_block_live_at(a, &b) || a + 8 > b.start + b.len || is_sealed(s, a, a + 8))
      return false;
    if (mt_segmap_lookup(b.start) == MT_MAP_GUARD)
      return mt_os_read_self(a, out, 8) == 8;
  }
  memcpy(out, (const void *)a, 8);
  return true;
}

/* Is v a CPython object whose block starts with a header? Objects the
 * garbage collector tracks have its two words before them (PyGC_Head,
 * 16 bytes; 24 before 3.8), and from 3.11 those with a managed dict two
 * more (32): the program's pointers to them all point that far into the
 * block, and valgrind calls every such block "possibly lost" (2,761 of
 * them after `import decimal`, under PYTHONMALLOC=malloc, which memtype run
 * sets). An object is a reference count, then its type: a type object
 * whose type's type is its own type (PyType_Type, or a metatype whose type
 * is PyType_Type). */
static bool python_object(const scan_t *s, uintptr_t v) {
  uint64_t refcnt, type, meta, root, root_type;
  if (!block_word(s, v, &refcnt) || refcnt == 0 || refcnt > ((uint64_t)1 << 40) ||
      !block_word(s, v + 8, &type) || !block_word(s, (uintptr_t)type + 8, &meta) ||
      !block_word(s, (uintptr_t)meta + 8, &root) ||
      !block_word(s, (uintptr_t)root + 8, &root_type))
    return false;
  return root_type == root;
}

static MT_NOINLINE bool held_inside(const scan_t *s, uintptr_t v, const blk_t *b) {
  uintptr_t off = v - b->start;
  /* (words counted from the block's start: a guarded block may start at any
   * address its size allows, flush with its guard page) */
  if ((off & 7) != 0 || off + 8 > b->len || is_sealed(s, b->start, v + 8))
    return false;
  uint64_t w[2], vptr;
  if (mt_segmap_lookup(b->start) == MT_MAP_GUARD) {
    /* a guarded block may be freed by another thread during a deadly
     * signal's scan, its pages closed at once: read it as each_words does,
     * without faulting */
    size_t head = off >= 16 ? 16 : 8;
    if (mt_os_read_self(b->start, w, head) != (long)head || mt_os_read_self(v, &vptr, 8) != 8)
      return false;
  } else {
    memcpy(w, (const void *)b->start, off >= 16 ? 16 : 8);
    memcpy(&vptr, (const void *)v, 8);
  }
  if (off == 8 && (w[0] + 8 == b->len || (w[0] != 0 && w[0] <= b->len - 8 &&
                                          (b->len - 8) % w[0] == 0)))
    return true;
  if (off == 24 && w[0] <= w[1] && w[1] + 25 == b->len)
    return true;
  if (off < 4096 && (vptr & 7) == 0 && vptr > 4096 && in_module(vptr - 16, 16)) {
    int64_t top;
    memcpy(&top, (const void *)(vptr - 16), 8);
    if (top == -(int64_t)off)
      return true;
  }
  return (off == 16 || off == 24 || off == 32) && b->len >= off + 16 && python_object(s, v);
}

/* ---- phase 1: from the roots ----------------------------------------------- */

/* Every value that falls in a live block counts, aligned or not: a pointer
 * with tag bits in its low bits (glibc's tsearch keeps a node's colour in the
 * low bit of its left pointer) is an interior pointer, as any other. Skipping
 * the unaligned ones made a reachable tsearch tree "definitely lost". */
static void mark(scan_t *s, uintptr_t v, bool from_reachable) {
  blk_t b;
  bool interior;
  if (!resolve(v, &b, &interior))
    return;
  if (interior && from_reachable && *b.mark != M_REACH && held_inside(s, v, &b))
    interior = false;
  uint8_t want = from_reachable && !interior ? M_REACH : M_POSS, cur = *b.mark;
  if (cur == M_REACH || cur == want)
    return;
  *b.mark = want;
  push(s, &b);
}

static void mark_words(scan_t *s, const uintptr_t *w, size_t n, bool from_reachable) {
  for (size_t i = 0; i < n; i++)
    if (w[i] > 4096)
      mark(s, w[i], from_reachable);
}

/* ---- reading a block ------------------------------------------------------ */

static void note_sealed(uintptr_t lo, uintptr_t hi, const char *name, void *arg) {
  (void)name;
  scan_t *s = arg;
  if (s->nsealed == s->sealed_cap) {
    size_t cap = s->sealed_cap ? s->sealed_cap * 2 : 4096;
    uintptr_t *bigger = mt_os_map(cap * 2 * sizeof(uintptr_t));
    if (bigger == NULL) {
      s->sealed_partial = true;
      return;
    }
    if (s->sealed) {
      memcpy(bigger, s->sealed, s->nsealed * 2 * sizeof(uintptr_t));
      mt_os_unmap(s->sealed, s->sealed_cap * 2 * sizeof(uintptr_t));
    }
    s->sealed = bigger;
    s->sealed_cap = cap;
  }
  s->sealed[2 * s->nsealed] = lo;
  s->sealed[2 * s->nsealed + 1] = hi;
  s->nsealed++;
}

/* Does [lo, hi) meet a page the process cannot read? (Binary search over the
 * list; when it could not be made whole, assume so.) */
static bool is_sealed(const scan_t *s, uintptr_t lo, uintptr_t hi) {
  if (s->sealed_partial)
    return true;
  size_t a = 0, b = s->nsealed; /* first range whose end is above lo */
  while (a < b) {
    size_t m = (a + b) / 2;
    if (s->sealed[2 * m + 1] <= lo)
      a = m + 1;
    else
      b = m;
  }
  return a < s->nsealed && s->sealed[2 * a] < hi;
}

typedef void (*words_fn)(scan_t *s, const blk_t *b, const uintptr_t *w, size_t n, void *ctx);

/* Calls fn on the words of b: in place, or (b meets an unreadable page)
 * copied a chunk at a time without faulting, the unreadable pages left out
 * (also every guarded block).
 * fn must not read another block through this function (one buffer). */
static void each_words(scan_t *s, const blk_t *b, words_fn fn, void *ctx) {
  size_t n = b->len / 8;
  if (n == 0)
    return;
  /* A guarded block is read safely too: its guard pages do not show in the
   * maps when the kernel made them (MADV_GUARD_INSTALL), and at a fatal
   * signal another thread may free it, closing its run, while it is read. */
  if (mt_segmap_lookup(b->start) != MT_MAP_GUARD && !is_sealed(s, b->start, b->start + n * 8)) {
    fn(s, b, (const uintptr_t *)b->start, n, ctx);
    return;
  }
  static uintptr_t buf[1024];
  uintptr_t a = b->start, end = b->start + n * 8;
  while (a < end) {
    size_t len = end - a < sizeof(buf) ? (size_t)(end - a) : sizeof(buf);
    long got = mt_os_read_self(a, buf, len);
    if (got < 8) {
      a = (a + MT_PAGE_SIZE) & ~(uintptr_t)(MT_PAGE_SIZE - 1); /* unreadable: skip it */
      continue;
    }
    fn(s, b, buf, (size_t)got / 8, ctx);
    a += (uintptr_t)got & ~(uintptr_t)7;
  }
}

static void mark_from(scan_t *s, const blk_t *b, const uintptr_t *w, size_t n, void *ctx) {
  (void)b;
  mark_words(s, w, n, *(const bool *)ctx);
}

static void drain(scan_t *s) {
  while (s->n) {
    blk_t b = s->stack[--s->n];
    bool reach = *b.mark == M_REACH;
    each_words(s, &b, mark_from, &reach);
  }
}

/* Reads [lo, hi) of our own memory safely, a chunk at a time, and marks
 * from every word. */
static void scan_resident(scan_t *s, uintptr_t lo, uintptr_t hi);

/* Only the resident pages of a root are read: a page never touched holds
 * no pointer, and reading it would bring it in (a thread's 8 MiB stack). */
static void scan_range(scan_t *s, uintptr_t lo, uintptr_t hi) {
  static unsigned char vec[256];
  while (lo < hi) {
    uintptr_t page = lo & ~(uintptr_t)(MT_PAGE_SIZE - 1);
    size_t npages = (hi - page + MT_PAGE_SIZE - 1) >> MT_PAGE_SHIFT;
    if (npages > sizeof(vec))
      npages = sizeof(vec);
    uintptr_t end = page + (npages << MT_PAGE_SHIFT);
    if (end > hi)
      end = hi;
    if (!mt_os_resident(page, npages, vec)) {
      scan_resident(s, lo, end); /* cannot tell: read it all */
      lo = end;
      continue;
    }
    for (size_t i = 0; i < npages;) {
      size_t j = i;
      while (j < npages && (vec[j] & 1))
        j++;
      if (j > i) {
        uintptr_t a = page + (i << MT_PAGE_SHIFT), b = page + (j << MT_PAGE_SHIFT);
        scan_resident(s, a > lo ? a : lo, b < end ? b : end);
      }
      i = j + 1;
    }
    lo = end;
  }
}

/* glibc's thread control block begins with tcbhead_t { tcb, dtv, self } on
 * x86_64, tcb and self its own address, and keeps the thread's DTV (the
 * calloc'ed vector of its TLS blocks, allocate_dtv in elf/dl-tls.c) as
 * dtv + 1 (INSTALL_DTV in sysdeps/x86_64/nptl/tls.h): an interior pointer
 * 16 bytes in, the only one, so every thread's DTV read as "possibly lost"
 * (issue 22; valgrind frees them through __libc_freeres). The TCBs are in
 * the roots (thread stacks, cached ones of joined threads included): a
 * word pair pointing at its own address with a word between that points 16
 * bytes into a block's start makes that block reachable. No false match is
 * likely: the pair must hold its own address twice. w[] is read from at. */
static void mark_thread_dtvs(scan_t *s, uintptr_t at, const uintptr_t *w, size_t n) {
  for (size_t i = 0; i + 2 < n; i++) {
    if (w[i] != at + 8 * i || w[i + 2] != w[i] || w[i + 1] < 4096 + 16)
      continue;
    blk_t b;
    bool interior;
    if (resolve(w[i + 1] - 16, &b, &interior) && !interior)
      mark(s, b.start, true);
  }
}

static void scan_resident(scan_t *s, uintptr_t lo, uintptr_t hi) {
  static uintptr_t buf[8192];
  lo = (lo + 7) & ~(uintptr_t)7;
  while (lo + 8 <= hi) {
    size_t len = hi - lo < sizeof(buf) ? (size_t)(hi - lo) & ~(size_t)7 : sizeof(buf);
    long got = mt_os_read_self(lo, buf, len);
    if (got <= 0) {
      lo = (lo + 4096) & ~(uintptr_t)4095; /* unreadable page: skip it */
      continue;
    }
    mark_thread_dtvs(s, lo, buf, (size_t)got / 8);
    mark_words(s, buf, (size_t)got / 8, true);
    result.scanned_roots += (uint64_t)got;
    lo += (uintptr_t)got;
    drain(s);
  }
}

#define MAX_INTERNAL 4096
/* Scans [lo, hi) leaving out the 4 MiB windows the page map says are our
 * heap (segments and huge blocks: the kernel may merge them with a
 * neighbouring mapping into one line of /proc/self/maps). */
static void scan_outside_heap(scan_t *s, uintptr_t lo, uintptr_t hi) {
  while (lo < hi) {
    uintptr_t end = (lo | MT_SEG_MASK) + 1;
    if (end > hi || end == 0)
      end = hi;
    if (mt_segmap_lookup(lo) == MT_MAP_NONE)
      scan_range(s, lo, end);
    lo = end;
  }
}

#define MAX_STACK_STARTS 260
typedef struct roots_s {
  scan_t *s;
  /* Where the live frames of a stack start: a stack is read from the
   * highest of these that lies in it up. Below, the frames are dead or are
   * memtype's and exit's own work, their uninitialised slots full of stale
   * copies left by the calls made there before: a pointer of a block the
   * program leaked, left by the allocation that made it (memtype's
   * allocation path runs on the program's stack), read as a root would
   * call the leak "still reachable" (valgrind's allocator runs on a stack
   * of its own). */
  uintptr_t start[MAX_STACK_STARTS];
  unsigned nstart;
  uintptr_t lo[MAX_INTERNAL], hi[MAX_INTERNAL]; /* memtype's own mappings, sorted */
  unsigned n;
} roots_t;

static void one_root(uintptr_t lo, uintptr_t hi, const char *name, void *arg) {
  roots_t *r = arg;
  if (strcmp(name, "[vvar]") == 0 || strcmp(name, "[vsyscall]") == 0 ||
      strcmp(name, "[vdso]") == 0)
    return;
  for (unsigned i = 0; i < r->nstart; i++)
    if (r->start[i] > lo && r->start[i] < hi)
      lo = r->start[i];
  /* The kernel merges neighbouring mappings: cut memtype's own out. */
  for (unsigned i = 0; i < r->n && lo < hi; i++) {
    if (r->hi[i] <= lo || r->lo[i] >= hi)
      continue;
    if (r->lo[i] > lo)
      scan_outside_heap(r->s, lo, r->lo[i]);
    lo = r->hi[i] > lo ? r->hi[i] : lo;
  }
  if (lo < hi)
    scan_outside_heap(r->s, lo, hi);
}

static MT_NOINLINE void scan_roots(scan_t *s) {
  static roots_t r; /* 64 KiB: not on the stack */
  bool complete;
  r.s = s;
  /* this thread's own frames (the scan's); where the program called exit
   * or _exit; other threads blocked in a system call (their stack pointer
   * there) */
  uintptr_t exit_sp = mt_life_exit_sp();
  const uintptr_t *exit_regs = mt_life_exit_regs();
  if (exit_regs) {
    /* what the frame that called exit held in its callee-saved registers:
     * kept in exit's frames below exit_sp, or in the registers still */
    uintptr_t regs[MT_LIFE_EXIT_REGS];
    memcpy(regs, exit_regs, sizeof(regs));
    mark_words(s, regs, MT_LIFE_EXIT_REGS, true);
    drain(s);
  }
  r.start[0] = (uintptr_t)&complete;
  r.start[1] = exit_sp;
  r.nstart = 2 + mt_os_blocked_thread_sps(r.start + 2, MAX_STACK_STARTS - 3);
  const ucontext_t *uc = mt_siggate_death_context();
  if (uc) {
    /* Under a deadly signal's exit work: the interrupted code's registers
     * are roots, and its stack from its stack pointer up (not the kernel's
     * frame and the handler's below). Not the 128-byte red zone below it
     * that a leaf function may use (valgrind reads it): memtype's own calls
     * made there before leave stale copies in it (seen: the pointer to the
     * block a program lost, under pause() interrupted by SIGTERM). */
    uintptr_t regs[NGREG];
    memcpy(regs, uc->uc_mcontext.gregs, sizeof(regs));
    mark_words(s, regs, NGREG, true);
    drain(s);
    r.start[r.nstart++] = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  }
  r.n = mt_os_internal_ranges(r.lo, r.hi, MAX_INTERNAL - 1, &complete);
  if (mt_os_self_data(&r.lo[r.n], &r.hi[r.n])) /* our own .data and .bss */
    r.n++;
  for (unsigned i = 1; i < r.n; i++) /* insertion sort by start */
    for (unsigned j = i; j > 0 && r.lo[j - 1] > r.lo[j]; j--) {
      uintptr_t a = r.lo[j], b = r.hi[j];
      r.lo[j] = r.lo[j - 1], r.hi[j] = r.hi[j - 1];
      r.lo[j - 1] = a, r.hi[j - 1] = b;
    }
  if (!complete)
    mt_warn("the leak scan could not tell all of memtype's own memory from the program's: "
            "some leaks may go unreported");
  mt_os_each_writable_mapping(one_root, &r);
  /* exit called on one of memtype's own mappings: from a program's handler
   * running on memtype's signal stack (a guard page's fault let through):
   * the frames above are live, the program's registers of the signal among
   * them. */
  for (unsigned i = 0; i < r.n; i++)
    if (exit_sp >= r.lo[i] && exit_sp < r.hi[i])
      scan_range(s, exit_sp, r.hi[i]);
}

/* ---- phase 2: the lost blocks ------------------------------------------------ */

typedef void (*blk_fn)(scan_t *s, blk_t *b);

#define WALKER(name, fn)                                    \
  static void name##_blk(mt_block_t *k, void *arg) {         \
    blk_t b;                                                 \
    if (blk_of(k, &b))                                       \
      fn(arg, &b);                                           \
  }

static void mark_indirect(scan_t *s, const blk_t *b, const uintptr_t *w, size_t n, void *ctx) {
  (void)s, (void)ctx;
  for (size_t i = 0; i < n; i++) {
    blk_t t;
    bool interior;
    if (w[i] <= 4096 || !resolve(w[i], &t, &interior) || t.start == b->start)
      continue;
    if (KIND(*t.mark) == M_NONE || KIND(*t.mark) == M_IND)
      *b->mark |= M_OUT;
    if (KIND(*t.mark) == M_NONE)
      *t.mark = (uint8_t)(M_IND | (*t.mark & ~0x1f)); /* (its flags kept) */
    if (KIND(*t.mark) == M_IND && !interior)
      *t.mark |= M_HELD;
  }
}

/* A lost block: the lost blocks it points to are indirectly lost. */
static void point_from_lost(scan_t *s, blk_t *b) {
  if (KIND(*b->mark) != M_NONE && KIND(*b->mark) != M_IND)
    return;
  each_words(s, b, mark_indirect, NULL);
}
WALKER(lost, point_from_lost)

static void make_definite(scan_t *s, blk_t *b) {
  (void)s;
  if (KIND(*b->mark) == M_NONE)
    *b->mark = M_DEF;
}
WALKER(definite, make_definite)

static void cover_words(scan_t *s, const blk_t *b, const uintptr_t *w, size_t n, void *ctx) {
  (void)b, (void)ctx;
  for (size_t i = 0; i < n; i++) {
    blk_t t;
    bool interior;
    if (w[i] > 4096 && resolve(w[i], &t, &interior) && KIND(*t.mark) == M_IND &&
        !(*t.mark & M_COVER)) {
      *t.mark |= M_COVER;
      push(s, &t);
    }
  }
}

/* Covers (marks) every lost block reachable from b. */
static void cover_from(scan_t *s, blk_t *b) {
  *b->mark |= M_COVER;
  push(s, b);
  while (s->n) {
    blk_t c = s->stack[--s->n];
    each_words(s, &c, cover_words, NULL);
  }
}

static void cover_definite(scan_t *s, blk_t *b) {
  if (KIND(*b->mark) == M_DEF && !(*b->mark & M_COVER))
    cover_from(s, b);
}
WALKER(cover, cover_definite)

/* An indirect block nothing definite leads to is in a cycle, or hangs from
 * one: one block of the cycle leads, as definitely lost, the others are
 * covered from it. First a block of a cycle (it points at a lost block)
 * that no lost block points at the start of (only interior pointers: a
 * container whose elements point back at a header inside it, as a
 * std::map's nodes at the map's own header); then any block of a cycle;
 * then any (none should be left): the block a program lost is the one it
 * held, not the elements that point back, nor a block hanging from them. */
static void lead_cycle(scan_t *s, blk_t *b) {
  uint8_t m = *b->mark;
  if (KIND(m) != M_IND || (m & M_COVER) || (s->lead_pass < 2 && !(m & M_OUT)) ||
      (s->lead_pass < 1 && (m & M_HELD)))
    return;
  *b->mark = M_DEF;
  cover_from(s, b);
}
WALKER(cycle, lead_cycle)

/* The allocation stack's depot id of the live block starting at start
 * (page lock held), 0 when it has none. */
static uint32_t alloc_stack_of(uintptr_t start) {
  mt_block_t k;
  return mt_block_lookup(start, &k) && k.stk ? mt_stk_alloc(*k.stk) : 0;
}

/* MEMTYPE_SUPPRESS: a leak rule matches the block's allocation stack (its
 * own, else its type's call site). */
static bool suppressed(const blk_t *b) {
  uintptr_t frames[MT_DEPOT_MAX_FRAMES];
  uint32_t id = alloc_stack_of(b->start);
  unsigned n = id ? mt_depot_get(id, frames, MT_DEPOT_MAX_FRAMES) : 0;
  uint64_t key = id;
  if (n == 0) {
    n = mt_site_stack(b->type, frames, MT_MAX_DEPTH);
    key = 1ull << 63 | b->type;
  }
  return mt_suppress_leak(frames, n, key, b->len);
}

static void account(scan_t *s, blk_t *b) {
  static const uint8_t kind_of[] = {[M_REACH] = MT_LEAK_REACHABLE, [M_POSS] = MT_LEAK_POSSIBLE,
                                    [M_IND] = MT_LEAK_INDIRECT, [M_DEF] = MT_LEAK_DEFINITE};
  uint8_t m = KIND(*b->mark);
  if (m == M_NONE || m > M_DEF || b->type >= s->ntypes)
    return;
  unsigned k = kind_of[m];
  if (k != MT_LEAK_REACHABLE && mt_suppress_leaks_on() && suppressed(b))
    return;
  uint64_t *a = &s->acc[((size_t)b->type * MT_LEAK_KINDS + k) * ACC];
  a[0] += b->len;
  a[1]++;
  if (a[2] == 0) {
    a[2] = b->start;
    a[3] = alloc_stack_of(b->start);
  }
  result.bytes[k] += b->len;
  result.blocks[k]++;
}
WALKER(account, account)

/* ---- records ------------------------------------------------------------------- */

/* Definitely lost first, then indirectly..., biggest first within a kind. */
#define REC_BEFORE(a, b)                                                                           \
  ((a)->kind != (b)->kind     ? (a)->kind < (b)->kind                                              \
   : (a)->bytes != (b)->bytes ? (a)->bytes > (b)->bytes                                            \
                              : (a)->type < (b)->type)
MT_SORT_DEFINE(sort_recs, mt_leak_rec_t, REC_BEFORE)

static void make_records(scan_t *s) {
  uint32_t n = 0;
  for (size_t i = 0; i < (size_t)s->ntypes * MT_LEAK_KINDS; i++)
    n += s->acc[i * ACC + 1] != 0;
  if (n == 0 || (result.recs = mt_os_map(n * sizeof(mt_leak_rec_t))) == NULL)
    return;
  for (size_t i = 0; i < (size_t)s->ntypes * MT_LEAK_KINDS; i++) {
    uint64_t *a = &s->acc[i * ACC];
    if (a[1])
      result.recs[result.nrecs++] = (mt_leak_rec_t){a[0], a[1], a[2], (uint32_t)a[3],
                                                    (uint16_t)(i / MT_LEAK_KINDS),
                                                    (uint8_t)(i % MT_LEAK_KINDS)};
  }
  sort_recs(result.recs, n);
}

/* ---- public ----------------------------------------------------------------------- */

const mt_leak_result_t *mt_leak_result(void) { return result.done ? &result : NULL; }

const mt_leak_result_t *mt_leak_scan(void) {
  static mt_lock_t once;
  mt_lock(&once);
  if (result.done) {
    mt_unlock(&once);
    return &result;
  }
  uint64_t t0 = mt_os_now_ns();
  scan_t s;
  memset(&s, 0, sizeof(s));
  s.ntypes = mt_site_count();
  size_t acc_bytes = (size_t)s.ntypes * MT_LEAK_KINDS * ACC * sizeof(uint64_t);
  s.acc = mt_os_map(acc_bytes);
  mt_os_each_unreadable_mapping(note_sealed, &s);
  /* Freed huge mappings go back to the OS first: the roots scan skips whole
   * 4 MiB windows the page map calls ours, and a cached mapping's last window
   * may hold someone else's data (libc's, just above it): its roots would be
   * missed and what they hold reported lost (bench_programs_plain, bigloop). */
  mt_huge_cache_flush();
  mt_lock(&mt_page_lock);
  __builtin_unwind_init(); /* callee-saved registers onto the stack, a root */
  scan_mods = mt_modules_pin(&scan_nmods);
  scan_roots(&s);
  drain(&s);
  mt_modules_unpin();
  scan_mods = NULL, scan_nmods = 0;
  mt_block_walk_locked(lost_blk, &s);
  mt_block_walk_locked(definite_blk, &s);
  mt_block_walk_locked(cover_blk, &s);
  for (s.lead_pass = 0; s.lead_pass < 3; s.lead_pass++)
    mt_block_walk_locked(cycle_blk, &s);
  if (s.acc) {
    mt_block_walk_locked(account_blk, &s);
  }
  mt_unlock(&mt_page_lock);
  if (s.acc) {
    make_records(&s);
    mt_os_unmap(s.acc, acc_bytes);
  }
  if (s.stack)
    mt_os_unmap(s.stack, s.cap * sizeof(blk_t));
  if (s.sealed)
    mt_os_unmap(s.sealed, s.sealed_cap * 2 * sizeof(uintptr_t));
  if (s.oom)
    mt_warn("the leak scan ran out of memory for its work list: some blocks may be "
            "reported lost that are not");
  result.ns = mt_os_now_ns() - t0;
  result.done = true;
  mt_unlock(&once);
  return &result;
}

void mt_leak_print(const mt_leak_result_t *r, long lines) {
  /* MEMTYPE_LEAK_LINES=0: nothing on stderr, not even the summary (programs
   * whose tests compare their children's stderr); the records are in the dump. */
  if (r == NULL || lines <= 0 ||
      r->bytes[MT_LEAK_DEFINITE] + r->bytes[MT_LEAK_INDIRECT] + r->blocks[MT_LEAK_DEFINITE] +
              r->blocks[MT_LEAK_INDIRECT] == 0)
    return;
  long shown = 0, more = 0;
  for (uint32_t i = 0; i < r->nrecs; i++) {
    const mt_leak_rec_t *e = &r->recs[i];
    if (e->kind > MT_LEAK_INDIRECT)
      continue;
    if (shown >= lines) {
      more++;
      continue;
    }
    char type[256];
    mt_report_type_name(e->type, type, sizeof(type));
    mt_printf("memtype: LEAK: %lu bytes in %lu block%s %s %s, type %s\n", (unsigned long)e->bytes,
              (unsigned long)e->blocks, e->blocks == 1 ? "" : "s",
              e->blocks == 1 ? "is" : "are", mt_leak_kind_names[e->kind], type);
    /* One line per record (DESIGN.md's stderr contract; tools filter these
     * lines): its block's allocation stack is in the dump (STACKS), shown by
     * memtype report --leaks. */
    shown++;
  }
  if (more)
    mt_printf("memtype: ... %ld more leak records (MEMTYPE_LEAK_LINES=N shows more; all are in "
              "the dump)\n", more);
  char buf[512];
  size_t pos = mt_snprintf(buf, sizeof(buf), "memtype: leak summary:");
  for (unsigned k = 0; k < MT_LEAK_KINDS; k++)
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "%s %s: %lu bytes in %lu blocks",
                       k ? ";" : "", mt_leak_kind_names[k], (unsigned long)r->bytes[k],
                       (unsigned long)r->blocks[k]);
  mt_printf("%s\n", buf);
}
