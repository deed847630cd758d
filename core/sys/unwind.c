/* unwind.c - stack capture (see unwind.h), x86_64: memtype's own DWARF CFI
 * unwinder. The rule of a pc is found through its module's .eh_frame_hdr
 * (binary search) and .eh_frame (CIE/FDE, the CFA program), then cached in a
 * fixed mmapped table (readers take no lock) so that a pc seen before costs
 * one probe; rules of the common shape are also kept predecoded in a small
 * direct-mapped front table that a tight loop (run_fast, skip_fast) steps
 * on; a module unloaded drops both. glibc's signal
 * trampoline __restore_rt is recognised by its bytes and the walk goes on
 * from the ucontext_t the kernel saved. Memory is read only where it is
 * proved readable: a module's readable segments (CFI, code bytes); this
 * thread's stack range (the main thread's by the address-space layout, a
 * thread's from pthread_getattr_np once, process_vm_readv where that
 * fails); anything else through
 * process_vm_readv itself (rare). A frame it cannot decode or prove ends the
 * stack. No descriptor, lock or malloc: async-signal-safe, fine in a fork
 * child. Across frames it tracks rsp, rbp and rip (a signal frame restores
 * all). Limits: a sandbox that kills on process_vm_readv (seccomp) would
 * kill a process whose walk needs a probe (a signal frame on an alternate
 * stack, a thread pthread_getattr_np does not describe); a frame pointer is
 * never guessed where CFI is missing (the stack stops there). */
#define _GNU_SOURCE
#include "unwind.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "modules.h"
#include "mt_types.h"
#include "os.h"

/* ---- data ---------------------------------------------------------------- */

/* DWARF register numbers of the x86_64 psABI; 16 is the return address. */
enum { R_RBX = 3, R_RBP = 6, R_RSP = 7, R_RIP = 16, NREG = 17 };

/* The psABI's callee-saved registers (rsp aside): what a caller keeps
 * across a call, in registers or in its callees' frames. */
static const uint8_t callee_saved[MT_UNWIND_NSAVED] = {R_RBX, R_RBP, 12, 13, 14, 15};

typedef struct regs_s {
  uintptr_t v[NREG];
  uint32_t known; /* bit r: v[r] holds the frame's value */
} regs_t;

/* The proved-readable memory of one walk. */
typedef struct walk_s {
  uintptr_t lo, span;  /* this thread's proved stack: a word at a is in it when a - lo < span */
  uintptr_t pages[16]; /* pages proved by a probe during this walk */
  unsigned npages, probes;
} walk_t;

/* This thread's stack, proved readable: [stk_lo, stk_hi). stk_block: the
 * range is the thread's whole stack block (pthread_getattr_np), so stk_lo
 * is its end (the main thread's range ends where it was proved, its stack
 * grows on). */
static MT_TLS uintptr_t stk_lo, stk_hi;
static MT_TLS bool stk_block;
static MT_TLS bool unwinding;
/* libc's pthread_getattr_np, set once at load by the preload's interposed
 * one (preload/thread.c), which counts in mt_unwind_in_getattr the calls
 * this thread is inside: glibc allocates there with the target thread's
 * descriptor lock held, so a capture from that malloc must not call it
 * again (its own lock: the thread waits forever, as the JVM's threads did on
 * their first allocation; two threads asking each other: an ABBA wait). */
MT_HIDDEN int (*mt_unwind_getattr)(pthread_t, pthread_attr_t *);
MT_HIDDEN MT_TLS unsigned mt_unwind_in_getattr;

extern void *__libc_stack_end; /* ld.so: the main thread's stack top */

/* The rule cache: key = the pc looked up (a return address minus one, or an
 * exact pc), val = a packed rule with VALID set. A writer claims a slot by
 * CAS on key, then stores val (release); a reader that finds the key but
 * not yet the value decodes for itself. */
#define CACHE_SLOTS (1u << 16)
#define CACHE_PROBES 16
typedef struct slot_s {
  uintptr_t key;
  uint64_t val;
} slot_t;
static slot_t *cache;

/* The front of the rule cache: direct-mapped by the key's low bits, one
 * 64-bit word per slot holding the key's other bits (the tag) and the rule,
 * predecoded, of the commonest shape: the return address at CFA-8, CFA =
 * rsp or rbp + a 16-bit offset, rbp the same or saved at CFA + a multiple
 * of 8. A word is written and read whole (relaxed), so a reader sees a
 * key's exact rule or a miss, never a mix; a collision replaces the word.
 * 32 KiB in .bss: the hot return addresses of a program stay in cache
 * lines, where the main table is 1 MiB. Cleared with the main table when
 * a module is unloaded. */
#define FRONT_BITS 12
#define FRONT_SLOTS (1u << FRONT_BITS)
#define F_TAG_SHIFT 29        /* tag = key >> FRONT_BITS (35 bits: keys < 2^47) */
#define F_CFA_RBP (1u << 24)  /* CFA = rbp + off, else rsp + off */
/* bits 0..15: CFA offset (signed), bits 16..23: saved rbp's offset / 8
 * (signed; 0: rbp the same) */
static uint64_t front[FRONT_SLOTS];
static unsigned cache_unloads; /* mt_modules_unloads() its rules were decoded at */

/* Packed rule: CFA = (rsp|rbp) + cfa_off; rip = [CFA + ra_off]; rbp = same
 * or [CFA + rbp_off]. */
#define VALID (1ull << 63)
#define KIND_SHIFT 61 /* 2 bits */
#define K_FRAME 1ull
#define K_END 2ull    /* outermost frame: return address undefined */
#define K_SIGNAL 3ull /* glibc's __restore_rt */
#define CFA_RBP (1ull << 60)
#define RBP_SAVED (1ull << 59)
/* bits 0..23 cfa_off (signed), 24..39 ra_off, 40..55 rbp_off (signed 16) */

enum { ST_OK, ST_SIGNAL, ST_END, ST_NOCFI, ST_NOMOD };

/* The stack a walk needs below the capture's frame, at most (checked in a
 * -O0 build too: the Debug build's frames are the bigger). */
#define WALK_ROOM 8192u

/* The log of a walk that may be memoized: every stack word the walk read
 * (address, value), in order. A walk is a pure function of its start
 * registers, the words it reads and the rules of the pcs it meets (fixed
 * while no module is unloaded): if every logged word still holds its value,
 * the walk would take the same steps and find the same frames. Only walks
 * whose every step is the common one (a cached rule, its words on the
 * thread's proved stack) or ends at an outermost frame are logged whole;
 * anything else (CFI decoded now, a signal frame, an expression, a probe)
 * sets bad. The index wraps (no branch in the tight loop); n past LOG_MAX
 * means the log was overrun and is not used. */
#define LOG_MAX 32u /* a power of 2, at least MEMO_READS: a longer log is not kept */
typedef struct log_s {
  unsigned n;
  bool bad;        /* a step the log does not describe */
  bool bp_mem;     /* rbp has been read from the stack (no longer the start's) */
  bool need_bp;    /* a CFA was computed from the start's rbp */
  bool bp_pending; /* the read of rbp's value is not logged yet */
  uintptr_t bp_a, bp_v; /* that read */
  uintptr_t a[LOG_MAX], v[LOG_MAX];
} log_t;

static inline void log_read(log_t *lg, uintptr_t a, uintptr_t v) {
  unsigned i = lg->n++ & (LOG_MAX - 1);
  lg->a[i] = a;
  lg->v[i] = v;
}

/* A saved rbp read from the stack matters only if a CFA is computed from
 * it before the next one replaces it (most frames that save rbp use it as
 * a plain register, whose value changes from call to call): kept aside,
 * logged when used. */
static inline void log_bp_read(log_t *lg, uintptr_t a, uintptr_t v) {
  lg->bp_a = a;
  lg->bp_v = v;
  lg->bp_pending = lg->bp_mem = true;
}

static inline void log_bp_use(log_t *lg) {
  if (!lg->bp_mem)
    lg->need_bp = true;
  else if (lg->bp_pending) {
    log_read(lg, lg->bp_a, lg->bp_v);
    lg->bp_pending = false;
  }
}

/* The memo: a thread's recent captures, direct-mapped by (sp, from, key),
 * each with the words its walk read (as offsets from the start's sp) and
 * the frames it found. A capture with the same key whose words all hold
 * the same values returns the frames without walking (see log_t), and a
 * word of the caller's (the depot id or type of the stack; set by CAS, so
 * that a signal handler's capture refilling the entry in between is
 * detected). Only touched while this thread is unwinding (a handler's
 * capture meanwhile returns 0), so it needs no lock; a fork child's copy
 * describes its own (identical) stack. */
#define MEMO_SETS 64u /* of two entries (32: python's checks mode 3-6 % more instructions) */
#define MEMO_READS 32u /* a multiple of 4 (memo_holds) */
#define MEMO_FRAMES 24u
typedef struct memo_s {
  uintptr_t sp, from, key, bp; /* the key (sp 0: empty); bp only when need_bp */
  uintptr_t ip;                /* the capture's own pc (two capture functions) */
  uint32_t max, gen;           /* frames asked; mt_modules_unloads() at the walk */
  uint16_t nreads, n;          /* words to compare (a multiple of 4); frames (0: empty) */
  bool need_bp;
  uintptr_t first, last;       /* the lowest and highest of sp and the words' addresses */
  uint64_t user;               /* the caller's word: (seq << 32) | value (0: none yet) */
  int32_t off[MEMO_READS];     /* word addresses - sp */
  uintptr_t val[MEMO_READS];
  uintptr_t pcs[MEMO_FRAMES];
} memo_t;
/* A thread's memo is mapped on its first capture (about 82 KiB: in static
 * TLS it would be taken from every thread's stack, and glibc refuses a
 * thread whose stack cannot hold the static TLS: pthread_create failed with
 * EINVAL for stacks of 16 and 32 KiB), and kept for the next thread at exit
 * (mt_unwind_thread_release). */
typedef struct memo_tab_s {
  memo_t e[MEMO_SETS][2];
  uint8_t lru[MEMO_SETS]; /* the entry of a set to replace next */
  uint32_t seq;
} memo_tab_t;
#define MEMO_GONE ((memo_tab_t *)1) /* this thread released its memo: no new one */
static MT_TLS memo_tab_t *memo_mine;
/* Released tables, each slot taken and filled by an atomic exchange (no
 * lock: a signal handler's first capture may map or take one). */
#define MEMO_SPARES 64u
static memo_tab_t *memo_spare[MEMO_SPARES];
MT_HIDDEN int mt_unwind_memo_mode = 1;
static uint64_t memo_hits, memo_misses, memo_checked; /* counted in mode 2 only */

/* ---- proving memory readable --------------------------------------------- */

/* Reads len bytes at src through the kernel: fails, rather than faults, on
 * memory that is not readable. Returns the bytes read, or -errno. */
static long vm_read(void *dst, uintptr_t src, size_t len) {
  struct iovec l = {dst, len}, r = {(void *)src, len};
  long n = syscall(SYS_process_vm_readv, (long)syscall(SYS_getpid), &l, 1L, &r, 1L, 0L);
  return n < 0 ? -errno : n;
}

/* Are all pages of [lo, hi) readable? 1 yes, 0 no, -1 cannot tell (no
 * process_vm_readv: seccomp, an old kernel). One byte per page. */
static int pages_readable(uintptr_t lo, uintptr_t hi) {
  struct iovec remote[64];
  char sink[64];
  struct iovec local = {sink, sizeof(sink)};
  for (uintptr_t p = lo; p < hi;) {
    unsigned k = 0;
    for (; k < 64 && p < hi; k++, p += 4096)
      remote[k] = (struct iovec){(void *)p, 1};
    local.iov_len = k;
    long n = syscall(SYS_process_vm_readv, (long)syscall(SYS_getpid), &local, 1L, remote,
                     (long)k, 0L);
    if (n < 0 && (errno == ENOSYS || errno == EPERM))
      return -1;
    if (n != (long)k)
      return 0;
  }
  return 1;
}

/* The stack of this thread around sp, proved once: from sp's page up to the
 * nearest stack top above it (the main thread's __libc_stack_end, or a
 * glibc thread's descriptor, which sits at the top of its stack block).
 * The proof covers every page, so a range across a guard page or a gap
 * (sp on a sigaltstack, a coroutine's stack) is refused. */
static void stack_prove(uintptr_t sp) {
  uintptr_t page = sp & ~(uintptr_t)4095, top = 0;
  uintptr_t main_top = ((uintptr_t)__libc_stack_end + 4095) & ~(uintptr_t)4095;
  uintptr_t self = (uintptr_t)pthread_self();
  if (main_top > sp)
    top = main_top;
  if (self > sp && (top == 0 || self < top))
    top = self;
  if (top == 0 || top - sp > ((uintptr_t)64 << 20))
    return;
  int (*getattr)(pthread_t, pthread_attr_t *) =
      __atomic_load_n(&mt_unwind_getattr, __ATOMIC_RELAXED);
  if (top == self && getattr != NULL && mt_unwind_in_getattr == 0) {
    /* A glibc thread: its stack block (the guard page excluded) from
     * pthread_getattr_np, which for a thread other than the main one reads
     * the thread's descriptor (it allocates its cpu set: memtype's malloc,
     * re-entered while unwinding, does not unwind). Not while this thread
     * is inside the program's own call (its lock is held): the pages are
     * probed then, as for a stack that is not a glibc thread's. */
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (getattr(pthread_self(), &attr) == 0) {
      bool got = pthread_attr_getstack(&attr, &addr, &size) == 0;
      pthread_attr_destroy(&attr);
      uintptr_t lo = ((uintptr_t)addr + 4095) & ~(uintptr_t)4095;
      if (got && sp >= lo && self < (uintptr_t)addr + size) {
        stk_lo = lo;
        stk_hi = self;
        stk_block = true;
        return;
      }
    }
  }
  uintptr_t from = top == stk_hi && stk_lo > page ? stk_lo : top;
  /* The main thread's stack needs no probe: the kernel keeps at least
   * 128 MiB under its top free of mmap's placements (mmap_base is below the
   * stack's rlimit, its random offset and the guard gap), so a live sp that
   * near the top is on the stack mapping, and so is all above it. */
  int ok = top == main_top && top - sp < ((uintptr_t)64 << 20) ? 1 : pages_readable(page, from);
  if (ok == 0)
    return;
  if (ok < 0 && top - sp > ((uintptr_t)8 << 20)) /* cannot probe: trust the near stack only */
    return;
  stk_lo = page;
  stk_hi = top;
  stk_block = false;
}

static void walk_init(walk_t *w, uintptr_t sp) {
  if (!(sp >= stk_lo && sp < stk_hi))
    stack_prove(sp);
  w->lo = stk_lo;
  w->span = stk_hi - stk_lo >= 8 ? stk_hi - stk_lo - 7 : 0;
  w->npages = w->probes = 0;
}

static bool page_proved(const walk_t *w, uintptr_t a) {
  for (unsigned i = 0; i < w->npages; i++)
    if (w->pages[i] == (a & ~(uintptr_t)4095))
      return true;
  return false;
}

/* One word anywhere else: proved by a probe (rare: a signal frame on
 * another stack, a rule pointing off the stack). */
static MT_NOINLINE bool read_word_slow(walk_t *w, uintptr_t a, uintptr_t *out) {
  if (a + 8 < a)
    return false;
  if (page_proved(w, a) && page_proved(w, a + 7)) {
    memcpy(out, (const void *)a, 8);
    return true;
  }
  if (w->probes >= 32 || vm_read(out, a, 8) != 8)
    return false;
  w->probes++;
  for (uintptr_t p = a; p <= a + 7; p += 7)
    if (!page_proved(w, p) && w->npages < MT_ARRAY_LEN(w->pages))
      w->pages[w->npages++] = p & ~(uintptr_t)4095;
  return true;
}

/* One word of the stack (or wherever a rule points), proved first. */
static inline bool read_word(walk_t *w, uintptr_t a, uintptr_t *out) {
  if (MT_LIKELY(a - w->lo < w->span)) { /* the thread's proved stack */
    memcpy(out, (const void *)a, 8);
    return true;
  }
  return read_word_slow(w, a, out);
}

/* The end of m's readable segment holding a (0: none). */
static uintptr_t seg_end(const mt_module_t *m, uintptr_t a) {
  for (unsigned i = 0; i < m->nseg; i++)
    if (a >= m->seg_lo[i] && a < m->seg_hi[i])
      return m->seg_hi[i];
  return 0;
}

/* ---- reading CFI (bounded by the segment) --------------------------------- */

typedef struct cur_s {
  const uint8_t *p, *end;
  bool bad;
} cur_t;

static cur_t cur_at(const mt_module_t *m, uintptr_t a) {
  uintptr_t e = seg_end(m, a);
  return (cur_t){(const uint8_t *)a, (const uint8_t *)e, e == 0};
}

static uint64_t rd_n(cur_t *c, unsigned n) {
  if (c->bad || (size_t)(c->end - c->p) < n) {
    c->bad = true;
    return 0;
  }
  uint64_t v = 0;
  memcpy(&v, c->p, n); /* little-endian */
  c->p += n;
  return v;
}

static uint64_t rd_uleb(cur_t *c) {
  uint64_t v = 0;
  for (unsigned shift = 0; !c->bad; shift += 7) {
    uint8_t b = (uint8_t)rd_n(c, 1);
    if (shift < 64)
      v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      break;
  }
  return v;
}

static int64_t rd_sleb(cur_t *c) {
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b = 0;
  do {
    b = (uint8_t)rd_n(c, 1);
    if (shift < 64)
      v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while ((b & 0x80) && !c->bad);
  if (shift < 64 && (b & 0x40))
    v |= ~(uint64_t)0 << shift;
  return (int64_t)v;
}

/* A DW_EH_PE-encoded value (the indirect bit is left to the caller). */
static uintptr_t rd_enc(cur_t *c, uint8_t enc, uintptr_t datarel) {
  if (enc == 0xff)
    return 0;
  uintptr_t pos = (uintptr_t)c->p, v;
  switch (enc & 0x0f) {
  case 0x00: v = (uintptr_t)rd_n(c, 8); break;
  case 0x01: v = (uintptr_t)rd_uleb(c); break;
  case 0x02: v = (uintptr_t)rd_n(c, 2); break;
  case 0x03: v = (uintptr_t)rd_n(c, 4); break;
  case 0x04: v = (uintptr_t)rd_n(c, 8); break;
  case 0x09: v = (uintptr_t)rd_sleb(c); break;
  case 0x0a: v = (uintptr_t)(int64_t)(int16_t)rd_n(c, 2); break;
  case 0x0b: v = (uintptr_t)(int64_t)(int32_t)rd_n(c, 4); break;
  case 0x0c: v = (uintptr_t)rd_n(c, 8); break;
  default: c->bad = true; return 0;
  }
  switch (enc & 0x70) {
  case 0x00: break;
  case 0x10: v += pos; break;
  case 0x30: v += datarel; break;
  default: c->bad = true; /* textrel, funcrel, aligned: not emitted on x86_64 */
  }
  return v;
}

/* ---- the CFA program ------------------------------------------------------- */

enum { RU_SAME, RU_UNDEF, RU_OFFSET, RU_VAL_OFFSET, RU_REG, RU_EXPR, RU_VAL_EXPR };

typedef struct rule_s {
  uint8_t how;
  int64_t off;            /* offset, or register for RU_REG */
  const uint8_t *expr;    /* RU_EXPR, RU_VAL_EXPR: the block, off = its length */
} rule_t;

typedef struct row_s {
  uint8_t cfa_reg;
  int64_t cfa_off;
  const uint8_t *cfa_expr; /* DW_CFA_def_cfa_expression, cfa_off = its length */
  rule_t r[NREG];
} row_t;

typedef struct cie_s {
  uint64_t code_align;
  int64_t data_align;
  uint64_t ra;
  uint8_t fde_enc;
  bool z, signal;
  const uint8_t *insns, *end;
} cie_t;

static bool parse_cie(const mt_module_t *m, uintptr_t at, uintptr_t datarel, cie_t *cie) {
  cur_t c = cur_at(m, at);
  uint32_t len = (uint32_t)rd_n(&c, 4);
  if (c.bad || len == 0 || len == 0xffffffffu || (size_t)(c.end - c.p) < len)
    return false;
  const uint8_t *end = c.p + len;
  c.end = end;
  if (rd_n(&c, 4) != 0)
    return false;
  uint8_t version = (uint8_t)rd_n(&c, 1);
  if (version != 1 && version != 3 && version != 4)
    return false;
  const char *aug = (const char *)c.p;
  while (!c.bad && rd_n(&c, 1) != 0) {
  }
  if (c.bad)
    return false;
  if (aug[0] == 'e' && aug[1] == 'h')
    rd_n(&c, 8);
  if (version == 4)
    rd_n(&c, 2); /* address and segment sizes */
  cie->code_align = rd_uleb(&c);
  cie->data_align = rd_sleb(&c);
  cie->ra = version == 1 ? rd_n(&c, 1) : rd_uleb(&c);
  cie->fde_enc = 0;
  cie->signal = false;
  cie->z = aug[0] == 'z';
  if (cie->z) {
    uint64_t n = rd_uleb(&c);
    if (c.bad || (uint64_t)(c.end - c.p) < n)
      return false;
    const uint8_t *aend = c.p + n;
    for (const char *a = aug + 1; *a && !c.bad; a++) {
      if (*a == 'L')
        rd_n(&c, 1);
      else if (*a == 'P') {
        uint8_t enc = (uint8_t)rd_n(&c, 1);
        rd_enc(&c, enc & 0x7f, datarel); /* the personality: skipped, never followed */
      } else if (*a == 'R')
        cie->fde_enc = (uint8_t)rd_n(&c, 1);
      else if (*a == 'S')
        cie->signal = true;
      else if (*a != 'B')
        break; /* unknown: the length says where the data ends */
    }
    c.p = aend;
  } else if (aug[0] != '\0' && !(aug[0] == 'e' && aug[1] == 'h' && aug[2] == '\0')) {
    return false;
  }
  if (c.bad || cie->ra >= NREG)
    return false;
  cie->insns = c.p;
  cie->end = end;
  return true;
}

static void set_rule(row_t *row, uint64_t reg, uint8_t how, int64_t off, const uint8_t *expr) {
  if (reg < NREG)
    row->r[reg] = (rule_t){how, off, expr};
  /* other columns (vector registers) do not matter to a walk */
}

/* Runs insns [p, end) from loc until the row for target; init is the CIE's
 * row (NULL while running the CIE's own instructions). */
static bool run_cfa(const uint8_t *p, const uint8_t *end, const cie_t *cie, uintptr_t loc,
                    uintptr_t target, row_t *row, const row_t *init, uintptr_t datarel) {
  cur_t c = {p, end, false};
  row_t saved[4];
  unsigned depth = 0;
  while (c.p < c.end && !c.bad) {
    uint8_t op = (uint8_t)rd_n(&c, 1);
    uint64_t reg, delta;
    switch (op & 0xc0) {
    case 0x40:
      delta = (op & 0x3f) * cie->code_align;
      if (loc + delta > target)
        return true;
      loc += delta;
      continue;
    case 0x80:
      set_rule(row, op & 0x3f, RU_OFFSET, (int64_t)rd_uleb(&c) * cie->data_align, NULL);
      continue;
    case 0xc0:
      if (init == NULL)
        return false;
      if ((op & 0x3f) < NREG)
        row->r[op & 0x3f] = init->r[op & 0x3f];
      continue;
    }
    switch (op) {
    case 0x00: break; /* nop */
    case 0x01: {      /* set_loc */
      uintptr_t to = rd_enc(&c, cie->fde_enc, datarel);
      if (to > target)
        return true;
      loc = to;
      break;
    }
    case 0x02: case 0x03: case 0x04: /* advance_loc1/2/4 */
      delta = rd_n(&c, op == 0x02 ? 1 : op == 0x03 ? 2 : 4) * cie->code_align;
      if (loc + delta > target)
        return true;
      loc += delta;
      break;
    case 0x05: /* offset_extended */
      reg = rd_uleb(&c);
      set_rule(row, reg, RU_OFFSET, (int64_t)rd_uleb(&c) * cie->data_align, NULL);
      break;
    case 0x06: /* restore_extended */
      reg = rd_uleb(&c);
      if (init == NULL)
        return false;
      if (reg < NREG)
        row->r[reg] = init->r[reg];
      break;
    case 0x07: set_rule(row, rd_uleb(&c), RU_UNDEF, 0, NULL); break;
    case 0x08: set_rule(row, rd_uleb(&c), RU_SAME, 0, NULL); break;
    case 0x09: /* register */
      reg = rd_uleb(&c);
      set_rule(row, reg, RU_REG, (int64_t)rd_uleb(&c), NULL);
      break;
    case 0x0a: /* remember_state */
      if (depth == MT_ARRAY_LEN(saved))
        return false;
      saved[depth++] = *row;
      break;
    case 0x0b: /* restore_state */
      if (depth == 0)
        return false;
      *row = saved[--depth];
      break;
    case 0x0c: /* def_cfa */
      row->cfa_reg = (uint8_t)rd_uleb(&c);
      row->cfa_off = (int64_t)rd_uleb(&c);
      row->cfa_expr = NULL;
      break;
    case 0x0d: row->cfa_reg = (uint8_t)rd_uleb(&c); row->cfa_expr = NULL; break;
    case 0x0e: row->cfa_off = (int64_t)rd_uleb(&c); break;
    case 0x0f: { /* def_cfa_expression */
      uint64_t n = rd_uleb(&c);
      if (c.bad || (uint64_t)(c.end - c.p) < n)
        return false;
      row->cfa_expr = c.p;
      row->cfa_off = (int64_t)n;
      c.p += n;
      break;
    }
    case 0x10: case 0x16: { /* expression, val_expression */
      reg = rd_uleb(&c);
      uint64_t n = rd_uleb(&c);
      if (c.bad || (uint64_t)(c.end - c.p) < n)
        return false;
      set_rule(row, reg, op == 0x10 ? RU_EXPR : RU_VAL_EXPR, (int64_t)n, c.p);
      c.p += n;
      break;
    }
    case 0x11: /* offset_extended_sf */
      reg = rd_uleb(&c);
      set_rule(row, reg, RU_OFFSET, rd_sleb(&c) * cie->data_align, NULL);
      break;
    case 0x12: /* def_cfa_sf */
      row->cfa_reg = (uint8_t)rd_uleb(&c);
      row->cfa_off = rd_sleb(&c) * cie->data_align;
      row->cfa_expr = NULL;
      break;
    case 0x13: row->cfa_off = rd_sleb(&c) * cie->data_align; break;
    case 0x14: /* val_offset */
      reg = rd_uleb(&c);
      set_rule(row, reg, RU_VAL_OFFSET, (int64_t)rd_uleb(&c) * cie->data_align, NULL);
      break;
    case 0x15: /* val_offset_sf */
      reg = rd_uleb(&c);
      set_rule(row, reg, RU_VAL_OFFSET, rd_sleb(&c) * cie->data_align, NULL);
      break;
    case 0x2e: rd_uleb(&c); break; /* GNU_args_size */
    case 0x2f: /* GNU_negative_offset_extended */
      reg = rd_uleb(&c);
      set_rule(row, reg, RU_OFFSET, -(int64_t)rd_uleb(&c) * cie->data_align, NULL);
      break;
    default:
      return false;
    }
  }
  return !c.bad;
}

/* ---- DWARF expressions (the subset CFI uses) ------------------------------- */

static bool eval(const uint8_t *expr, size_t len, const regs_t *r, walk_t *w, bool push_cfa,
                 uintptr_t cfa, uintptr_t *out) {
  uintptr_t st[16];
  unsigned sp = 0;
  if (push_cfa)
    st[sp++] = cfa;
  cur_t c = {expr, expr + len, false};
  for (unsigned steps = 0; c.p < c.end && !c.bad; steps++) {
    if (steps > 256)
      return false;
    uint8_t op = (uint8_t)rd_n(&c, 1);
    uintptr_t a, b, v = 0;
    bool push = true;
    if (op >= 0x30 && op <= 0x4f) {
      v = op - 0x30u; /* lit */
    } else if (op >= 0x70 && op <= 0x8f) { /* breg */
      unsigned reg = op - 0x70u;
      int64_t off = rd_sleb(&c);
      if (reg >= NREG || !(r->known & (1u << reg)))
        return false;
      v = r->v[reg] + (uintptr_t)off;
    } else {
      switch (op) {
      case 0x92: { /* bregx */
        uint64_t reg = rd_uleb(&c);
        int64_t off = rd_sleb(&c);
        if (reg >= NREG || !(r->known & (1u << reg)))
          return false;
        v = r->v[reg] + (uintptr_t)off;
        break;
      }
      case 0x03: v = (uintptr_t)rd_n(&c, 8); break;
      case 0x08: v = (uintptr_t)rd_n(&c, 1); break;
      case 0x09: v = (uintptr_t)(int64_t)(int8_t)rd_n(&c, 1); break;
      case 0x0a: v = (uintptr_t)rd_n(&c, 2); break;
      case 0x0b: v = (uintptr_t)(int64_t)(int16_t)rd_n(&c, 2); break;
      case 0x0c: v = (uintptr_t)rd_n(&c, 4); break;
      case 0x0d: v = (uintptr_t)(int64_t)(int32_t)rd_n(&c, 4); break;
      case 0x0e: case 0x0f: v = (uintptr_t)rd_n(&c, 8); break;
      case 0x10: v = (uintptr_t)rd_uleb(&c); break;
      case 0x11: v = (uintptr_t)rd_sleb(&c); break;
      case 0x96: push = false; break; /* nop */
      case 0x2f: case 0x28: { /* skip, bra */
        int16_t d = (int16_t)rd_n(&c, 2);
        push = false;
        if (op == 0x28) {
          if (sp == 0)
            return false;
          if (st[--sp] == 0)
            break;
        }
        if ((d < 0 && (size_t)(c.p - expr) < (size_t)-d) || (d > 0 && c.end - c.p < d))
          return false;
        c.p += d;
        break;
      }
      default:
        push = false;
        if (sp == 0)
          return false;
        switch (op) {
        case 0x12: v = st[sp - 1]; push = true; break;      /* dup */
        case 0x13: sp--; break;                             /* drop */
        case 0x14: if (sp < 2) return false; v = st[sp - 2]; push = true; break; /* over */
        case 0x15: { /* pick */
          uint8_t i = (uint8_t)rd_n(&c, 1);
          if (i >= sp)
            return false;
          v = st[sp - 1 - i];
          push = true;
          break;
        }
        case 0x16: /* swap */
          if (sp < 2) return false;
          a = st[sp - 1], st[sp - 1] = st[sp - 2], st[sp - 2] = a;
          break;
        case 0x17: /* rot */
          if (sp < 3) return false;
          a = st[sp - 1], st[sp - 1] = st[sp - 2], st[sp - 2] = st[sp - 3], st[sp - 3] = a;
          break;
        case 0x06: /* deref */
          if (!read_word(w, st[sp - 1], &st[sp - 1]))
            return false;
          break;
        case 0x19: if ((intptr_t)st[sp - 1] < 0) st[sp - 1] = -st[sp - 1]; break; /* abs */
        case 0x1f: st[sp - 1] = -st[sp - 1]; break;  /* neg */
        case 0x20: st[sp - 1] = ~st[sp - 1]; break;  /* not */
        case 0x23: st[sp - 1] += (uintptr_t)rd_uleb(&c); break; /* plus_uconst */
        default: /* binary */
          if (sp < 2)
            return false;
          b = st[--sp];
          a = st[sp - 1];
          switch (op) {
          case 0x1a: a &= b; break;
          case 0x1b: if (b == 0) return false; a = (uintptr_t)((intptr_t)a / (intptr_t)b); break;
          case 0x1c: a -= b; break;
          case 0x1d: if (b == 0) return false; a %= b; break;
          case 0x1e: a *= b; break;
          case 0x21: a |= b; break;
          case 0x22: a += b; break;
          case 0x24: a = b < 64 ? a << b : 0; break;
          case 0x25: a = b < 64 ? a >> b : 0; break;
          case 0x26: a = (uintptr_t)((intptr_t)a >> (b < 63 ? b : 63)); break;
          case 0x27: a ^= b; break;
          case 0x29: a = (intptr_t)a == (intptr_t)b; break;
          case 0x2a: a = (intptr_t)a >= (intptr_t)b; break;
          case 0x2b: a = (intptr_t)a > (intptr_t)b; break;
          case 0x2c: a = (intptr_t)a <= (intptr_t)b; break;
          case 0x2d: a = (intptr_t)a < (intptr_t)b; break;
          case 0x2e: a = (intptr_t)a != (intptr_t)b; break;
          default: return false;
          }
          st[sp - 1] = a;
        }
      }
    }
    if (push) {
      if (sp == MT_ARRAY_LEN(st))
        return false;
      st[sp++] = v;
    }
  }
  if (c.bad || sp == 0)
    return false;
  *out = st[sp - 1];
  return true;
}

/* ---- the rule cache ------------------------------------------------------- */

static slot_t *cache_table(void) {
  slot_t *t = __atomic_load_n(&cache, __ATOMIC_ACQUIRE);
  if (t)
    return t;
  t = mt_os_map_aligned(CACHE_SLOTS * sizeof(slot_t), 4096);
  if (t == NULL)
    return NULL;
  slot_t *none = NULL;
  if (!__atomic_compare_exchange_n(&cache, &none, t, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    mt_os_unmap(t, CACHE_SLOTS * sizeof(slot_t));
    t = none;
  }
  return t;
}

/* A module was unloaded: its addresses may hold another module's code now,
 * so every rule goes. A reader racing with the clearing may take a wrong
 * rule once: its reads are proved all the same (a wrong frame, never a
 * fault). */
static void cache_check_unloads(void) {
  unsigned now = mt_modules_unloads();
  if (__atomic_load_n(&cache_unloads, __ATOMIC_ACQUIRE) == now)
    return;
  __atomic_store_n(&cache_unloads, now, __ATOMIC_RELEASE);
  slot_t *t = __atomic_load_n(&cache, __ATOMIC_ACQUIRE);
  for (unsigned i = 0; i < FRONT_SLOTS; i++)
    __atomic_store_n(&front[i], 0, __ATOMIC_RELAXED);
  if (t)
    for (unsigned i = 0; i < CACHE_SLOTS; i++) {
      __atomic_store_n(&t[i].val, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&t[i].key, 0, __ATOMIC_RELEASE);
    }
}

static unsigned cache_hash(uintptr_t key) {
  return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 40);
}

static inline uint64_t cache_lookup(const slot_t *t, uintptr_t key) {
  if (t == NULL)
    return 0;
  for (unsigned i = cache_hash(key), n = 0; n < CACHE_PROBES; i++, n++) {
    const slot_t *s = &t[i % CACHE_SLOTS];
    uintptr_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
    if (MT_LIKELY(k == key))
      return __atomic_load_n(&s->val, __ATOMIC_ACQUIRE);
    if (k == 0)
      return 0;
  }
  return 0;
}

static void cache_insert(uintptr_t key, uint64_t val) {
  slot_t *t = cache_table();
  if (t == NULL || key == 0)
    return;
  for (unsigned i = cache_hash(key), n = 0; n < CACHE_PROBES; i++, n++) {
    slot_t *s = &t[i % CACHE_SLOTS];
    uintptr_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
    if (k == 0 && __atomic_compare_exchange_n(&s->key, &k, key, false, __ATOMIC_ACQ_REL,
                                              __ATOMIC_ACQUIRE)) {
      __atomic_store_n(&s->val, val, __ATOMIC_RELEASE);
      return;
    }
    if (k == key)
      return;
  }
  /* full around here: decoded again next time */
}

static uint64_t pack(uint64_t kind, bool cfa_rbp, int64_t cfa_off, int64_t ra_off, bool rbp_saved,
                     int64_t rbp_off) {
  return VALID | kind << KIND_SHIFT | (cfa_rbp ? CFA_RBP : 0) | (rbp_saved ? RBP_SAVED : 0) |
         ((uint64_t)cfa_off & 0xffffff) | ((uint64_t)ra_off & 0xffff) << 24 |
         ((uint64_t)rbp_off & 0xffff) << 40;
}

static int64_t sext(uint64_t v, unsigned bits) {
  return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* ---- one step --------------------------------------------------------------- */

static int apply_cached(uint64_t rule, const regs_t *r, regs_t *next, walk_t *w) {
  uint64_t kind = (rule >> KIND_SHIFT) & 3;
  if (kind == K_END)
    return ST_END;
  unsigned creg = (rule & CFA_RBP) ? R_RBP : R_RSP;
  if (!(r->known & (1u << creg)))
    return ST_NOCFI;
  uintptr_t cfa = r->v[creg] + (uintptr_t)sext(rule, 24);
  uintptr_t ra, rbp = r->v[R_RBP];
  if (!read_word(w, cfa + (uintptr_t)sext(rule >> 24, 16), &ra))
    return ST_NOCFI;
  next->known = r->known & (1u << R_RBP);
  if (rule & RBP_SAVED) {
    if (!read_word(w, cfa + (uintptr_t)sext(rule >> 40, 16), &rbp))
      return ST_NOCFI;
    next->known = 1u << R_RBP;
  }
  next->known |= 1u << R_RSP | 1u << R_RIP;
  next->v[R_RSP] = cfa;
  next->v[R_RBP] = rbp;
  next->v[R_RIP] = ra;
  return ST_OK;
}

/* The kernel's return to __restore_rt: mov $15,%rax; syscall. */
static const uint8_t restore_rt[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

/* The registers the kernel saved in the ucontext_t at sp. */
static bool from_sigframe(uintptr_t uc, regs_t *next, walk_t *w) {
  static const uint8_t dwarf_of[NGREG] = {
      [REG_R8] = 8, [REG_R9] = 9, [REG_R10] = 10, [REG_R11] = 11, [REG_R12] = 12,
      [REG_R13] = 13, [REG_R14] = 14, [REG_R15] = 15, [REG_RDI] = 5, [REG_RSI] = 4,
      [REG_RBP] = R_RBP, [REG_RBX] = R_RBX, [REG_RDX] = 1, [REG_RAX] = 0, [REG_RCX] = 2,
      [REG_RSP] = R_RSP, [REG_RIP] = R_RIP};
  uintptr_t gregs = uc + offsetof(ucontext_t, uc_mcontext.gregs);
  next->known = 0;
  for (unsigned g = 0; g <= REG_RIP; g++) {
    if (!read_word(w, gregs + g * 8, &next->v[dwarf_of[g]]))
      return false;
    next->known |= 1u << dwarf_of[g];
  }
  return true;
}

/* Decodes the rule at key (pc, or a return address minus one), applies it
 * to r, and caches it when it has the common shape. */
static MT_NOINLINE int step_full(uintptr_t key, bool exact, const regs_t *r, regs_t *next,
                                  walk_t *w, uintptr_t *saves) {
  mt_module_t m;
  /* Decoding is rare (once per pc): first bring the snapshot up to date (a
   * look at the loader's counters; nothing under mt_modules_hold), so that
   * no unloaded module's tables are read. */
  mt_modules_sync_try();
  cache_check_unloads();
  if (!mt_modules_find(key, &m))
    return ST_NOMOD;
  uintptr_t pc = r->v[R_RIP];
  uintptr_t code_end = seg_end(&m, pc);
  if (!exact && code_end >= pc + sizeof(restore_rt) &&
      memcmp((const void *)pc, restore_rt, sizeof(restore_rt)) == 0) {
    if (!(r->known & (1u << R_RSP)) || !from_sigframe(r->v[R_RSP], next, w))
      return ST_NOCFI;
    cache_insert(key, VALID | K_SIGNAL << KIND_SHIFT);
    return ST_SIGNAL;
  }
  if (m.eh_hdr == 0)
    return ST_NOCFI;
  /* .eh_frame_hdr: version, three encodings, eh_frame_ptr, fde_count, table */
  uintptr_t hdr = m.eh_hdr;
  cur_t c = cur_at(&m, hdr);
  uint8_t version = (uint8_t)rd_n(&c, 1), ptr_enc = (uint8_t)rd_n(&c, 1);
  uint8_t count_enc = (uint8_t)rd_n(&c, 1), table_enc = (uint8_t)rd_n(&c, 1);
  if (c.bad || version != 1 || table_enc != 0x3b)
    return ST_NOCFI; /* no sorted table (datarel sdata4): not searched */
  rd_enc(&c, ptr_enc, hdr);
  uintptr_t count = rd_enc(&c, count_enc, hdr);
  if (c.bad || count == 0 || (uintptr_t)(c.end - c.p) / 8 < count)
    return ST_NOCFI;
  const int32_t *table = (const int32_t *)(const void *)c.p;
  size_t lo = 0, hi = count;
  while (hi - lo > 1) { /* the last entry whose start <= key */
    size_t mid = lo + (hi - lo) / 2;
    if (hdr + (uintptr_t)(intptr_t)table[2 * mid] <= key)
      lo = mid;
    else
      hi = mid;
  }
  if (hdr + (uintptr_t)(intptr_t)table[2 * lo] > key)
    return ST_NOCFI;
  uintptr_t fde = hdr + (uintptr_t)(intptr_t)table[2 * lo + 1];
  /* the FDE */
  c = cur_at(&m, fde);
  uint32_t len = (uint32_t)rd_n(&c, 4);
  if (c.bad || len == 0 || len == 0xffffffffu || (size_t)(c.end - c.p) < len)
    return ST_NOCFI;
  const uint8_t *fend = c.p + len;
  c.end = fend;
  uintptr_t cie_field = (uintptr_t)c.p;
  uint32_t cie_off = (uint32_t)rd_n(&c, 4);
  cie_t cie;
  if (c.bad || cie_off == 0 || !parse_cie(&m, cie_field - cie_off, hdr, &cie))
    return ST_NOCFI;
  uintptr_t begin = rd_enc(&c, cie.fde_enc, hdr);
  uintptr_t range = rd_enc(&c, cie.fde_enc & 0x0f, 0);
  if (cie.z) {
    uint64_t n = rd_uleb(&c);
    if ((uint64_t)(c.end - c.p) < n)
      return ST_NOCFI;
    c.p += n;
  }
  if (c.bad || key < begin || key - begin >= range)
    return ST_NOCFI;
  /* the rows */
  row_t init, row;
  memset(&init, 0, sizeof(init)); /* every register: same value */
  init.cfa_reg = R_RSP;
  if (!run_cfa(cie.insns, cie.end, &cie, begin, key, &init, NULL, hdr))
    return ST_NOCFI;
  row = init;
  if (!run_cfa(c.p, fend, &cie, begin, key, &row, &init, hdr))
    return ST_NOCFI;
  /* apply */
  const rule_t *ra = &row.r[cie.ra], *fp = &row.r[R_RBP];
  if (ra->how == RU_UNDEF || ra->how == RU_SAME) {
    cache_insert(key, VALID | K_END << KIND_SHIFT);
    return ST_END;
  }
  uintptr_t cfa;
  if (row.cfa_expr) {
    regs_t rr = *r;
    if (!eval(row.cfa_expr, (size_t)row.cfa_off, &rr, w, false, 0, &cfa))
      return ST_NOCFI;
  } else {
    if (row.cfa_reg >= NREG || !(r->known & (1u << row.cfa_reg)))
      return ST_NOCFI;
    cfa = r->v[row.cfa_reg] + (uintptr_t)row.cfa_off;
  }
  uintptr_t val[2];
  const rule_t *want[2] = {ra, fp};
  bool have[2] = {true, true};
  for (unsigned i = 0; i < 2; i++) {
    const rule_t *u = want[i];
    uintptr_t a;
    switch (u->how) {
    case RU_SAME:
      val[i] = r->v[i ? R_RBP : R_RIP];
      have[i] = (r->known & (1u << R_RBP)) != 0; /* (RA: handled above) */
      break;
    case RU_UNDEF: have[i] = false; break;
    case RU_OFFSET:
      if (!read_word(w, cfa + (uintptr_t)u->off, &val[i]))
        return ST_NOCFI;
      break;
    case RU_VAL_OFFSET: val[i] = cfa + (uintptr_t)u->off; break;
    case RU_REG:
      if (u->off >= NREG || !(r->known & (1u << u->off)))
        return ST_NOCFI;
      val[i] = r->v[u->off];
      break;
    case RU_EXPR:
      if (!eval(u->expr, (size_t)u->off, r, w, true, cfa, &a) || !read_word(w, a, &val[i]))
        return ST_NOCFI;
      break;
    case RU_VAL_EXPR:
      if (!eval(u->expr, (size_t)u->off, r, w, true, cfa, &val[i]))
        return ST_NOCFI;
      break;
    }
  }
  if (saves) /* where this frame keeps its caller's callee-saved registers */
    for (unsigned i = 0; i < MT_ARRAY_LEN(callee_saved); i++)
      if (row.r[callee_saved[i]].how == RU_OFFSET)
        saves[callee_saved[i]] = cfa + (uintptr_t)row.r[callee_saved[i]].off;
  next->known = 1u << R_RSP | 1u << R_RIP | (have[1] ? 1u << R_RBP : 0);
  next->v[R_RSP] = cfa;
  next->v[R_RIP] = val[0];
  next->v[R_RBP] = val[1];
  /* the common shape, cached */
  if (!row.cfa_expr && (row.cfa_reg == R_RSP || row.cfa_reg == R_RBP) &&
      row.cfa_off == sext((uint64_t)row.cfa_off, 24) && ra->how == RU_OFFSET &&
      ra->off == sext((uint64_t)ra->off, 16) &&
      (fp->how == RU_SAME || (fp->how == RU_OFFSET && fp->off == sext((uint64_t)fp->off, 16))) &&
      !cie.signal)
    cache_insert(key, pack(K_FRAME, row.cfa_reg == R_RBP, row.cfa_off, ra->off,
                           fp->how == RU_OFFSET, fp->off));
  return ST_OK;
}

/* ---- the walk ---------------------------------------------------------------- */

/* Records frame ip, or skips it while the frame `from` (when not 0) has
 * not been met; false when too many frames went by without it. */
static inline bool keep_frame(uintptr_t ip, uintptr_t *from, unsigned *skipped, uintptr_t *pcs,
                              unsigned *n) {
  if (MT_UNLIKELY(*from != 0)) {
    if (ip != *from)
      return ++*skipped <= 32;
    *from = 0;
  }
  pcs[(*n)++] = ip;
  return true;
}

enum { RUN_MORE, RUN_END };

/* The front word of a main-table rule of the front's shape for key, or 0. */
static uint64_t front_word(uintptr_t key, uint64_t rule) {
  int64_t cfa_off = sext(rule, 24), ra_off = sext(rule >> 24, 16), bp_off = sext(rule >> 40, 16);
  if ((rule >> KIND_SHIFT) != ((VALID >> KIND_SHIFT) | K_FRAME) || ra_off != -8 ||
      cfa_off != (int16_t)cfa_off || cfa_off <= 0 || key >> 47)
    return 0;
  uint64_t w = (uint64_t)(uint16_t)cfa_off | ((rule & CFA_RBP) ? F_CFA_RBP : 0);
  if (rule & RBP_SAVED) {
    if (bp_off % 8 != 0 || bp_off / 8 != (int8_t)(bp_off / 8) || bp_off == 0)
      return 0;
    w |= (uint64_t)(uint8_t)(int8_t)(bp_off / 8) << 16;
  }
  return (uint64_t)(key >> FRONT_BITS) << F_TAG_SHIFT | w;
}

enum { FS_OK, FS_MORE, FS_LAST };

/* One common step from a return address (the key is ip - 1), rbp known: a
 * pc whose rule is in the front table (else in its main-table slot's first
 * probe, then copied to the front) and whose words are on the thread's
 * proved stack. FS_OK: stepped; FS_MORE: the general step must take this
 * frame; FS_LAST: this frame is the walk's last (its caller is 0, or not
 * above it). */
static inline __attribute__((always_inline)) int front_step(const slot_t *t, uintptr_t lo,
                                                            uintptr_t span, uintptr_t *spp,
                                                            uintptr_t *bpp, uintptr_t *ipp,
                                                            log_t *lg, bool last) {
  uintptr_t sp = *spp, key = *ipp - 1;
  uint64_t f = __atomic_load_n(&front[key & (FRONT_SLOTS - 1)], __ATOMIC_RELAXED);
  if (MT_UNLIKELY(f >> F_TAG_SHIFT != key >> FRONT_BITS || f == 0)) {
    /* the main table's first probe, copied to the front */
    const slot_t *s = &t[cache_hash(key) % CACHE_SLOTS];
    if (__atomic_load_n(&s->key, __ATOMIC_ACQUIRE) != key)
      return FS_MORE;
    f = front_word(key, __atomic_load_n(&s->val, __ATOMIC_ACQUIRE));
    if (f == 0)
      return FS_MORE;
    __atomic_store_n(&front[key & (FRONT_SLOTS - 1)], f, __ATOMIC_RELAXED);
  }
  if (last) /* the walk's last frame: its caller is not read */
    return FS_LAST;
  uintptr_t base = sp;
  if (f & F_CFA_RBP) {
    base = *bpp;
    log_bp_use(lg);
  }
  uintptr_t cfa = (uintptr_t)(intptr_t)(int16_t)f + base;
  if (MT_UNLIKELY(cfa - 8 - lo >= span))
    return FS_MORE; /* the general step proves it another way */
  uintptr_t ra = *(const uintptr_t *)(cfa - 8);
  log_read(lg, cfa - 8, ra);
  if (MT_UNLIKELY(cfa <= sp || ra == 0)) /* the stack must unwind upwards */
    return FS_LAST;
  intptr_t bo = (int8_t)(f >> 16);
  if (bo) {
    uintptr_t bp_at = cfa + (uintptr_t)(bo * 8);
    if (MT_UNLIKELY(bp_at - lo >= span))
      return FS_MORE;
    *bpp = *(const uintptr_t *)bp_at;
    log_bp_read(lg, bp_at, *bpp);
  }
  *spp = cfa;
  *ipp = ra;
  return FS_OK;
}

/* The common steps in a tight loop, every frame recorded (the walk's
 * `from` met), from a return address with rbp known. Stops with the state
 * of the frame it could not step, for the general loop to take (RUN_MORE),
 * or at the end of the walk, its last frame recorded (RUN_END). */
static MT_NOINLINE int run_fast(const slot_t *t, const walk_t *w, uintptr_t *pcs, unsigned *np,
                                unsigned max, uintptr_t *spp, uintptr_t *bpp, uintptr_t *ipp,
                                log_t *lg) {
  uintptr_t sp = *spp, bp = *bpp, ip = *ipp;
  const uintptr_t lo = w->lo, span = w->span;
  unsigned n = *np;
  int res = RUN_MORE;
  while (n < max) {
    uintptr_t pc = ip;
    int st = front_step(t, lo, span, &sp, &bp, &ip, lg, n + 1 == max);
    if (st == FS_MORE)
      break;
    pcs[n++] = pc;
    if (st == FS_LAST) {
      res = RUN_END;
      break;
    }
  }
  *spp = sp;
  *bpp = bp;
  *ipp = ip;
  *np = n;
  return res;
}

/* The frames before the walk's `from` (memtype's own, in a capture of a
 * block's stack), walked in the same way without recording, until the frame
 * whose pc is `from` (RUN_MORE, *from = 0), one the general loop must take
 * (RUN_MORE), or the end of the walk (RUN_END: from never met). */
static MT_NOINLINE int skip_fast(const slot_t *t, const walk_t *w, uintptr_t *from,
                                 unsigned *skipped, uintptr_t *spp, uintptr_t *bpp,
                                 uintptr_t *ipp, log_t *lg) {
  uintptr_t sp = *spp, bp = *bpp, ip = *ipp;
  int res = RUN_MORE;
  while (ip != *from) {
    int st = front_step(t, w->lo, w->span, &sp, &bp, &ip, lg, false);
    if (st == FS_MORE)
      break;
    if (st == FS_LAST || ++*skipped > 32) {
      res = RUN_END;
      break;
    }
  }
  if (ip == *from)
    *from = 0;
  *spp = sp;
  *bpp = bp;
  *ipp = ip;
  return res;
}

/* Walks from r; records pcs from the first frame when record_first, and
 * then only from the frame whose pc is `from` on (0: every frame). The
 * common step (a cached rule of the usual shape) is done in place on rsp,
 * rbp and rip; anything else goes through step_full or the signal frame. */
static unsigned walk(regs_t *r, uintptr_t *pcs, unsigned max, bool record_first,
                     uintptr_t from, log_t *lg, bool at_return) {
  unsigned skipped = 0;
  walk_t w;
  walk_init(&w, r->v[R_RSP]);
  /* A thread with a small stack (16 KiB ones exist: thread pools, runtimes)
   * may not have the room a walk through a rule not yet decoded takes
   * (step_full, run_cfa: some 4 KiB): such a capture finds no frame (the
   * caller falls back to the call site) rather than overflow the stack.
   * The stack this code runs on, not the walk's start: a fault's walk (a
   * stack overflow's too) runs on the signal stack. */
  uintptr_t here = (uintptr_t)&w;
  if (stk_block && here - w.lo < WALK_ROOM)
    return 0;
  cache_check_unloads();
  unsigned n = 0, signals = 0;
  /* at_return: r is a frame's state at a return address (mt_unwind_at_t),
   * not the capture's own */
  bool exact = !at_return, first = !at_return;
  /* the fast path's registers, kept in r only around the slow path */
  uintptr_t sp = r->v[R_RSP], bp = r->v[R_RBP], ip = r->v[R_RIP];
  uint32_t known = r->known;
  const slot_t *table = __atomic_load_n(&cache, __ATOMIC_ACQUIRE);
  /* Every turn records a frame or ends the walk (but the first of a
   * capture now): n < max bounds it. */
  while (n < max) {
    if (table && !first && !exact && (known & (1u << R_RBP))) {
      /* (a step keeps rbp known: the same, or read from the stack) */
      if (from != 0 && skip_fast(table, &w, &from, &skipped, &sp, &bp, &ip, lg) == RUN_END)
        break;
      if (from == 0 &&
          (run_fast(table, &w, pcs, &n, max, &sp, &bp, &ip, lg) == RUN_END || n >= max))
        break;
    }
    uintptr_t key = ip - !exact;
    uint64_t rule = cache_lookup(table, key);
    if (MT_LIKELY((rule >> KIND_SHIFT) == ((VALID >> KIND_SHIFT) | K_FRAME))) {
      if (MT_LIKELY(!first || record_first) && !keep_frame(ip, &from, &skipped, pcs, &n))
        break;
      if (n == max) /* the last frame: its caller is not read */
        break;
      first = false;
      uintptr_t cfa, ra;
      if (rule & CFA_RBP) {
        if (!(known & (1u << R_RBP)))
          break;
        cfa = bp + (uintptr_t)sext(rule, 24);
        log_bp_use(lg);
      } else {
        cfa = sp + (uintptr_t)sext(rule, 24);
      }
      uintptr_t ra_at = cfa + (uintptr_t)sext(rule >> 24, 16);
      if (cfa <= sp)
        break;
      lg->bad |= ra_at - w.lo >= w.span; /* read by a probe: not logged */
      if (!read_word(&w, ra_at, &ra))
        break;
      log_read(lg, ra_at, ra);
      if (ra == 0)
        break;
      known = (known & (1u << R_RBP)) | 1u << R_RSP | 1u << R_RIP;
      if (rule & RBP_SAVED) {
        uintptr_t bp_at = cfa + (uintptr_t)sext(rule >> 40, 16);
        lg->bad |= bp_at - w.lo >= w.span;
        if (!read_word(&w, bp_at, &bp))
          break;
        log_bp_read(lg, bp_at, bp);
        known |= 1u << R_RBP;
      }
      sp = cfa;
      ip = ra;
      exact = false;
      continue;
    }
    /* an outermost frame ends a walk the log still describes; any other
     * step here is not logged */
    lg->bad |= (rule >> KIND_SHIFT) != ((VALID >> KIND_SHIFT) | K_END);
    r->v[R_RSP] = sp;
    r->v[R_RBP] = bp;
    r->v[R_RIP] = ip;
    r->known = known;
    regs_t next;
    int st;
    if (rule & VALID)
      st = ((rule >> KIND_SHIFT) & 3) == K_SIGNAL
               ? (from_sigframe(sp, &next, &w) ? ST_SIGNAL : ST_NOCFI)
               : apply_cached(rule, r, &next, &w);
    else {
      st = step_full(key, exact, r, &next, &w, NULL);
      table = __atomic_load_n(&cache, __ATOMIC_ACQUIRE); /* made by the first insert */
    }
    if (st == ST_NOMOD && !(first && record_first))
      break; /* not code: a corrupted stack */
    if ((!first || record_first) && !keep_frame(ip, &from, &skipped, pcs, &n))
      break;
    first = false;
    if (st != ST_OK && st != ST_SIGNAL)
      break;
    if (st == ST_SIGNAL) {
      if (++signals > 8)
        break;
      exact = true;
    } else {
      if (next.v[R_RSP] <= sp) /* the stack must unwind upwards */
        break;
      exact = false;
    }
    if (next.v[R_RIP] == 0)
      break;
    *r = next;
    sp = r->v[R_RSP];
    bp = r->v[R_RBP];
    ip = r->v[R_RIP];
    known = r->known;
  }
  return n;
}

/* ---- public ------------------------------------------------------------------ */

bool mt_unwind_busy(void) { return unwinding; }

/* Inlined into each public "capture now": the walk starts from that
 * function's own pc, rsp and rbp, read at one instruction (its CFI row there
 * gives its caller). */
#define CAPTURE_REGS(r)                                                                    \
  __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"                \
                   : "=r"((r).v[R_RIP]), "=r"((r).v[R_RSP]), "=r"((r).v[R_RBP]));         \
  (r).known = 1u << R_RIP | 1u << R_RSP | 1u << R_RBP

static inline void log_init(log_t *lg) {
  lg->n = 0;
  lg->bad = lg->bp_mem = lg->need_bp = lg->bp_pending = false;
}

static inline __attribute__((always_inline)) unsigned capture_here(uintptr_t *pcs, unsigned max,
                                                                   uintptr_t from) {
  if (unwinding || max == 0)
    return 0;
  unwinding = true;
  int saved = errno;
  regs_t r;
  CAPTURE_REGS(r);
  log_t lg;
  log_init(&lg);
  unsigned n = walk(&r, pcs, max, false, from, &lg, false);
  errno = saved;
  unwinding = false;
  return n;
}

MT_NOINLINE uintptr_t mt_unwind_sp_outside(uintptr_t libc_fn, uintptr_t regs[]) {
  mt_module_t self, libc;
  if (unwinding || !mt_modules_find((uintptr_t)&mt_unwind_sp_outside, &self) ||
      !mt_modules_find(libc_fn, &libc))
    return 0;
  unwinding = true;
  int saved = errno;
  regs_t r;
  CAPTURE_REGS(r);
  /* The callee-saved registers as they are here: a frame on the way up that
   * saves one tells where its caller's value went (saves[]); one none of
   * them saves still holds the value of the frame where the walk stops. */
  uintptr_t live[NREG] = {0}, saves[NREG] = {0};
  __asm__ volatile("mov %%rbx, %0\n\tmov %%r12, %1\n\tmov %%r13, %2\n\tmov %%r14, %3\n\t"
                   "mov %%r15, %4"
                   : "=m"(live[R_RBX]), "=m"(live[12]), "=m"(live[13]), "=m"(live[14]),
                     "=m"(live[15]));
  walk_t w;
  walk_init(&w, r.v[R_RSP]);
  uintptr_t sp = 0;
  bool exact = true;
  for (unsigned i = 0; i < 32; i++) {
    uintptr_t pc = r.v[R_RIP];
    if (!((pc >= self.lo && pc < self.hi) || (pc >= libc.lo && pc < libc.hi))) {
      sp = r.v[R_RSP];
      break;
    }
    regs_t next;
    if (step_full(pc - !exact, exact, &r, &next, &w, saves) != ST_OK ||
        next.v[R_RSP] <= r.v[R_RSP] || next.v[R_RIP] == 0)
      break;
    r = next;
    exact = false;
  }
  if (sp && regs)
    for (unsigned i = 0; i < MT_UNWIND_NSAVED; i++) {
      unsigned reg = callee_saved[i];
      if (reg == R_RBP)
        regs[i] = (r.known & (1u << R_RBP)) ? r.v[R_RBP] : 0;
      else if (saves[reg] == 0 || !read_word(&w, saves[reg], &regs[i]))
        regs[i] = saves[reg] ? 0 : live[reg];
    }
  errno = saved;
  unwinding = false;
  return sp;
}

MT_NOINLINE unsigned mt_unwind_capture(uintptr_t *pcs, unsigned max) {
  return capture_here(pcs, max, 0);
}

MT_NOINLINE unsigned mt_unwind_capture_at(uintptr_t *pcs, unsigned max, uintptr_t from) {
  return capture_here(pcs, max, from);
}

/* ---- the memo ---------------------------------------------------------------- */

static inline unsigned memo_set(uintptr_t sp, uintptr_t from, uintptr_t key) {
  uint64_t h = (sp ^ from * 0x9e3779b97f4a7c15ull ^ key * 0xc2b2ae3d27d4eb4full) >> 4;
  return (unsigned)((h ^ h >> 17) % MEMO_SETS);
}

/* Does m describe the walk a capture from sp and bp would make now? Every
 * word it read, on the thread's proved stack as the walk requires, still
 * holds the value read. */
static inline __attribute__((always_inline)) bool memo_holds(const memo_t *m, uintptr_t ip,
                                                              uintptr_t sp, uintptr_t bp,
                                                              uintptr_t from, uintptr_t key,
                                                              unsigned max, unsigned gen) {
  if (m->sp != sp || m->key != key || m->ip != ip || m->from != from ||
      m->max != max || (m->need_bp && m->bp != bp) || m->gen != gen)
    return false;
  /* sp on the thread's proved stack (as walk_init: the proof the walk
   * would use), and every word the walk read, as it requires of each: the
   * lowest and the highest of them (sp is the same) are, so all between
   * are. last + 8 does not wrap: stack addresses are far below the top. */
  if (m->first < stk_lo || m->last + 8 > stk_hi)
    return false;
  /* Four words a step, no branch but the loop's: nreads is padded to a
   * multiple of 4 with copies of the last word (see memo_fill). */
  uintptr_t diff = 0;
  for (unsigned i = 0; i < m->nreads; i += 4)
    diff |= (*(const uintptr_t *)(sp + (uintptr_t)(intptr_t)m->off[i]) ^ m->val[i]) |
            (*(const uintptr_t *)(sp + (uintptr_t)(intptr_t)m->off[i + 1]) ^ m->val[i + 1]) |
            (*(const uintptr_t *)(sp + (uintptr_t)(intptr_t)m->off[i + 2]) ^ m->val[i + 2]) |
            (*(const uintptr_t *)(sp + (uintptr_t)(intptr_t)m->off[i + 3]) ^ m->val[i + 3]);
  return diff == 0;
}

/* Keeps the walk just made from sp, bp in m when its log describes it
 * whole and fits. */
static void memo_fill(memo_t *m, const log_t *lg, const uintptr_t *pcs, unsigned n, uintptr_t ip,
                      uintptr_t sp, uintptr_t bp, uintptr_t from, uintptr_t key, unsigned max,
                      unsigned gen, uint32_t *seq) {
  m->n = 0;
  m->sp = 0; /* empty (no stack pointer is 0) until it is whole */
  if (lg->bad || n == 0 || n > MEMO_FRAMES || lg->n > MEMO_READS)
    return;
  int32_t lo_off = 0, hi_off = 0; /* sp's own */
  for (unsigned i = 0; i < lg->n; i++) {
    intptr_t off = (intptr_t)(lg->a[i] - sp);
    if (off != (int32_t)off)
      return;
    m->off[i] = (int32_t)off;
    m->val[i] = lg->v[i];
    lo_off = m->off[i] < lo_off ? m->off[i] : lo_off;
    hi_off = m->off[i] > hi_off ? m->off[i] : hi_off;
  }
  unsigned padded = (lg->n + 3u) & ~3u; /* MEMO_READS is a multiple of 4 */
  for (unsigned i = lg->n; i < padded; i++) {
    m->off[i] = m->off[lg->n - 1];
    m->val[i] = m->val[lg->n - 1];
  }
  m->first = sp + (uintptr_t)(intptr_t)lo_off;
  m->last = sp + (uintptr_t)(intptr_t)hi_off;
  m->nreads = (uint16_t)padded;
  memcpy(m->pcs, pcs, n * sizeof(uintptr_t));
  m->ip = ip;
  m->sp = sp;
  m->bp = bp;
  m->need_bp = lg->need_bp;
  m->from = from;
  m->key = key;
  m->max = max;
  m->gen = gen;
  m->user = (uint64_t)++*seq << 32;
  m->n = (uint16_t)n;
}

static MT_NOINLINE void memo_mismatch(void) {
  static const char msg[] = "memtype: internal error: a remembered stack or its value "
                            "(MEMTYPE_STACK_MEMO) differs from the walk's; please report it "
                            "with the program (MEMTYPE_STACK_MEMO=0 runs without it)\n";
  mt_os_write(2, msg, sizeof(msg) - 1);
  mt_os_abort();
}

/* This thread's memo table, mapped or taken from the spares on first use;
 * NULL when none can be had (the capture walks). Called while unwinding. */
static MT_NOINLINE memo_tab_t *memo_table_new(void) {
  if (memo_mine == MEMO_GONE)
    return NULL;
  memo_tab_t *t = NULL;
  for (unsigned i = 0; i < MEMO_SPARES && t == NULL; i++)
    if (__atomic_load_n(&memo_spare[i], __ATOMIC_RELAXED))
      t = __atomic_exchange_n(&memo_spare[i], NULL, __ATOMIC_ACQUIRE);
  if (t) {
    for (unsigned i = 0; i < MEMO_SETS; i++)
      t->e[i][0].sp = t->e[i][1].sp = 0;
  } else if ((t = mt_os_map(sizeof(memo_tab_t))) == NULL) {
    return NULL;
  }
  memo_mine = t;
  return t;
}

void mt_unwind_thread_release(void) {
  memo_tab_t *t = memo_mine;
  memo_mine = MEMO_GONE;
  if (t == NULL || t == MEMO_GONE)
    return;
  for (unsigned i = 0; i < MEMO_SPARES; i++) {
    memo_tab_t *none = NULL;
    if (__atomic_compare_exchange_n(&memo_spare[i], &none, t, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED))
      return;
  }
  mt_os_unmap(t, sizeof(memo_tab_t));
}

MT_NOINLINE unsigned mt_unwind_capture_memo(uintptr_t *pcs, unsigned max, uintptr_t from,
                                            uintptr_t key, mt_unwind_memo_t *ref) {
  ref->word = NULL;
  ref->seen = 0;
  ref->val = 0;
  if (unwinding || max == 0)
    return 0;
  unwinding = true;
  regs_t r;
  CAPTURE_REGS(r);
  int mode = mt_unwind_memo_mode, saved;
  uintptr_t sp = r.v[R_RSP], bp = r.v[R_RBP];
  unsigned n, gen = mt_modules_unloads();
  log_t lg;
  log_init(&lg);
  memo_tab_t *tab = memo_mine;
  if (MT_UNLIKELY((uintptr_t)tab <= (uintptr_t)MEMO_GONE) && mode != 0) {
    saved = errno; /* mmap's on failure */
    tab = memo_table_new();
    errno = saved;
  }
  if (mode == 0 || max > MEMO_FRAMES || tab == NULL) {
    saved = errno;
    n = walk(&r, pcs, max, false, from, &lg, false);
    goto out;
  }
  unsigned set = memo_set(sp, from, key);
  memo_t *ms = tab->e[set], *m;
  uintptr_t ip = r.v[R_RIP];
  int e = memo_holds(&ms[0], ip, sp, bp, from, key, max, gen)   ? 0
          : memo_holds(&ms[1], ip, sp, bp, from, key, max, gen) ? 1
                                                                : -1;
  if (e >= 0) {
    m = &ms[e];
    tab->lru[set] = (uint8_t)!e;
    n = m->n;
    ref->word = &m->user;
    ref->seen = m->user;
    ref->val = (uint32_t)m->user;
    if (ref->val == 0 || MT_UNLIKELY(mode == 2))
      memcpy(pcs, m->pcs, n * sizeof(uintptr_t));
    if (MT_LIKELY(mode != 2)) { /* a hit makes no call that could set errno */
      unwinding = false;
      return n;
    }
    saved = errno;
    { /* the self-test: walk anyway, compare */
      uintptr_t again[MEMO_FRAMES];
      unsigned k = walk(&r, again, max, false, from, &lg, false);
      if (k != n || memcmp(again, pcs, n * sizeof(uintptr_t)) != 0)
        memo_mismatch();
      __atomic_fetch_add(&memo_hits, 1, __ATOMIC_RELAXED);
    }
    goto out;
  }
  saved = errno;
  n = walk(&r, pcs, max, false, from, &lg, false);
  /* the set's entry not used last (two paths to one call site at one
   * stack pointer, as a loop alternating between them, keep one each) */
  e = tab->lru[set];
  m = &ms[e];
  tab->lru[set] = (uint8_t)!e;
  memo_fill(m, &lg, pcs, n, ip, sp, bp, from, key, max, gen, &tab->seq);
  if (m->n) {
    ref->word = &m->user;
    ref->seen = m->user;
  }
  if (MT_UNLIKELY(mode == 2))
    __atomic_fetch_add(&memo_misses, 1, __ATOMIC_RELAXED);
out:
  errno = saved;
  unwinding = false;
  return n;
}

void mt_unwind_memo_note(const mt_unwind_memo_t *ref, uint32_t val) {
  if (ref->word == NULL || val == 0)
    return;
  uint64_t seen = ref->seen;
  /* one CAS: a signal handler's capture that refilled the entry since
   * changed its sequence number, and the value is then not kept */
  __atomic_compare_exchange_n(ref->word, &seen, (seen & ~(uint64_t)0xffffffffu) | val, false,
                              __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

void mt_unwind_memo_checked(bool equal) {
  if (!equal)
    memo_mismatch();
  __atomic_fetch_add(&memo_checked, 1, __ATOMIC_RELAXED);
}

/* The slow half of mt_unwind_memo_value: anything but a hit whose value
 * is kept, in mode 1. ip, sp, bp: the registers mt_unwind_memo_value
 * captured at one instruction; its frame is live below us, so the walk
 * starts there. missed: the fast half found no entry that holds (one
 * filled since, by a signal handler's capture, is only a walk more). fn
 * runs after the walk, not unwinding (it may capture). */
static MT_NOINLINE uint32_t memo_value_slow(uintptr_t ip, uintptr_t sp, uintptr_t bp,
                                            unsigned max, uintptr_t from, uintptr_t key,
                                            mt_unwind_value_fn fn, bool missed,
                                            bool at_return) {
  uintptr_t pcs[MT_UNWIND_VALUE_FRAMES];
  bool keep = false;
  if (max > MT_UNWIND_VALUE_FRAMES)
    max = MT_UNWIND_VALUE_FRAMES;
  if (unwinding || max == 0)
    return fn(from, key, NULL, 0, &keep); /* re-entered (a handler's): no frames */
  unwinding = true;
  int mode = mt_unwind_memo_mode, saved = errno;
  regs_t r;
  r.v[R_RIP] = ip;
  r.v[R_RSP] = sp;
  r.v[R_RBP] = bp;
  r.known = 1u << R_RIP | 1u << R_RSP | 1u << R_RBP;
  log_t lg;
  log_init(&lg);
  unsigned n, gen = mt_modules_unloads();
  memo_tab_t *tab = memo_mine;
  if (MT_UNLIKELY((uintptr_t)tab <= (uintptr_t)MEMO_GONE) && mode != 0)
    tab = memo_table_new();
  memo_t *m = NULL;
  uint64_t seen = 0;
  bool hit = false;
  if (mode == 0 || max > MEMO_FRAMES || tab == NULL) {
    n = walk(&r, pcs, max, false, from, &lg, at_return);
  } else {
    unsigned set = memo_set(sp, from, key);
    memo_t *ms = tab->e[set];
    int e = missed                                                ? -1
            : memo_holds(&ms[0], ip, sp, bp, from, key, max, gen) ? 0
            : memo_holds(&ms[1], ip, sp, bp, from, key, max, gen) ? 1
                                                                  : -1;
    if (e >= 0) {
      hit = true;
      m = &ms[e];
      tab->lru[set] = (uint8_t)!e;
      n = m->n;
      seen = m->user;
      memcpy(pcs, m->pcs, n * sizeof(uintptr_t));
      if (MT_LIKELY(mode != 2) && (uint32_t)seen) { /* the fast half skipped it (a new table) */
        errno = saved;
        unwinding = false;
        return (uint32_t)seen;
      }
      if (mode == 2) { /* the self-test: walk anyway, compare */
        uintptr_t again[MEMO_FRAMES];
        unsigned k = walk(&r, again, max, false, from, &lg, at_return);
        if (k != n || memcmp(again, pcs, n * sizeof(uintptr_t)) != 0)
          memo_mismatch();
        __atomic_fetch_add(&memo_hits, 1, __ATOMIC_RELAXED);
      }
    } else {
      n = walk(&r, pcs, max, false, from, &lg, at_return);
      e = tab->lru[set]; /* the set's entry not used last (see mt_unwind_capture_memo) */
      m = &ms[e];
      tab->lru[set] = (uint8_t)!e;
      memo_fill(m, &lg, pcs, n, ip, sp, bp, from, key, max, gen, &tab->seq);
      if (m->n)
        seen = m->user;
      else
        m = NULL;
      if (MT_UNLIKELY(mode == 2))
        __atomic_fetch_add(&memo_misses, 1, __ATOMIC_RELAXED);
    }
  }
  errno = saved;
  unwinding = false;
  uint32_t v = fn(from, key, pcs, n, &keep);
  if (hit && (uint32_t)seen) {
    mt_unwind_memo_checked((uint32_t)seen == v);
  } else if (m && keep && v) {
    /* one CAS: a signal handler's capture that refilled the entry since
     * changed its sequence number, and the value is then not kept */
    __atomic_compare_exchange_n(&m->user, &seen, (seen & ~(uint64_t)0xffffffffu) | v, false,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  }
  return v;
}

/* The fast half: a hit whose value is kept costs the set's hash, the key's
 * compares and the remembered words' (some 60 instructions), with no frame
 * beyond the few registers it saves. unwinding is set around the reads so
 * that a signal handler's capture cannot refill the entry meanwhile. The
 * kept value, or 0 (*missed: no entry holds; else not looked up, or held
 * without a value yet). */
static inline __attribute__((always_inline)) uint32_t memo_value_fast(uintptr_t ip, uintptr_t sp,
                                                                      uintptr_t bp, unsigned max,
                                                                      uintptr_t from,
                                                                      uintptr_t key,
                                                                      bool *missed) {
  memo_tab_t *tab = memo_mine;
  *missed = false;
  /* (max past MEMO_FRAMES: no entry has it, a miss) */
  if (!MT_LIKELY(!unwinding && (uintptr_t)tab > (uintptr_t)MEMO_GONE &&
                 mt_unwind_memo_mode == 1))
    return 0;
  unwinding = true;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  unsigned set = memo_set(sp, from, key), gen = mt_modules_unloads();
  memo_t *ms = tab->e[set];
  int e = memo_holds(&ms[0], ip, sp, bp, from, key, max, gen)   ? 0
          : memo_holds(&ms[1], ip, sp, bp, from, key, max, gen) ? 1
                                                                : -1;
  uint32_t val = e >= 0 ? (uint32_t)ms[e].user : 0;
  if (val)
    tab->lru[set] = (uint8_t)!e;
  *missed = e < 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  unwinding = false;
  return val;
}

MT_NOINLINE uint32_t mt_unwind_memo_value(unsigned max, uintptr_t from, uintptr_t key,
                                          mt_unwind_value_fn fn) {
  uintptr_t ip, sp, bp;
  __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
                   : "=r"(ip), "=r"(sp), "=r"(bp));
  bool missed;
  uint32_t val = memo_value_fast(ip, sp, bp, max, from, key, &missed);
  if (MT_LIKELY(val))
    return val;
  uint32_t v = memo_value_slow(ip, sp, bp, max, from, key, fn, missed, false);
  __asm__ volatile("" : "+r"(v)); /* no tail call: the walk reads this frame */
  return v;
}

MT_HIDDEN MT_TLS mt_unwind_at_t mt_unwind_entry;

/* As mt_unwind_memo_value, from the registers of `at` (a frame at a return
 * address; `from` is its ip): this frame is not walked, so it may be a
 * tail call. */
uint32_t mt_unwind_memo_value_at(unsigned max, const mt_unwind_at_t *at, uintptr_t key,
                                 mt_unwind_value_fn fn) {
  uintptr_t ip = at->ip, sp = at->sp, bp = at->bp;
  bool missed;
  uint32_t val = memo_value_fast(ip, sp, bp, max, ip, key, &missed);
  if (MT_LIKELY(val))
    return val;
  return memo_value_slow(ip, sp, bp, max, ip, key, fn, missed, true);
}

void mt_unwind_memo_counts(uint64_t *hits, uint64_t *misses, uint64_t *checked) {
  *hits = __atomic_load_n(&memo_hits, __ATOMIC_RELAXED);
  *misses = __atomic_load_n(&memo_misses, __ATOMIC_RELAXED);
  *checked = __atomic_load_n(&memo_checked, __ATOMIC_RELAXED);
}

unsigned mt_unwind_capture_from(const void *ucontext, uintptr_t *pcs, unsigned max) {
  if (unwinding || max == 0 || ucontext == NULL)
    return 0;
  unwinding = true;
  int saved = errno;
  const ucontext_t *uc = ucontext;
  regs_t r;
  static const uint8_t greg_of[R_RIP + 1] = {REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI,
                                             REG_RBP, REG_RSP, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                             REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
  for (unsigned i = 0; i <= R_RIP; i++)
    r.v[i] = (uintptr_t)uc->uc_mcontext.gregs[greg_of[i]];
  r.known = (1u << NREG) - 1;
  log_t lg;
  log_init(&lg);
  unsigned n = walk(&r, pcs, max, true, 0, &lg, false);
  errno = saved;
  unwinding = false;
  return n;
}

unsigned mt_unwind_capture_context(uintptr_t *pcs, unsigned max, const void *uc) {
  return mt_unwind_capture_from(uc, pcs, max);
}
