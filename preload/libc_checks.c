/* libc_checks.c - libc range checks at the call (issue 21, point 2). With
 * MEMTYPE_TRASH, MEMTYPE_REDZONE or MEMTYPE_GUARD (not MEMTYPE_GUARD_RATE
 * alone) on, the libc functions that read or write a range the caller gives
 * are checked before they run: each range that starts in memtype's heap is
 * set against its block (the page map, then the run: O(1)), and one past
 * the block's end (its requested size, or what malloc_usable_size says
 * without redzones), before its start, or in a freed block is reported at
 * the call, READ or WRITE, with the caller's stack; then MEMTYPE_ON_ERROR.
 * The copies (memcpy and the str* copies, not memmove) are also checked for
 * a source and destination that overlap, wherever they are (param-overlap).
 *
 * Not by exporting the names: libmemtype defines no memcpy. Once the options
 * are known (constructor time), every loaded object's PLT/GOT slots naming
 * these functions are rewritten to the checked versions (core/rebind.h), and
 * those of each object loaded later (dl.c); libmemtype's own slots and
 * libc's are left alone, so memtype's own copies and libc's internal calls
 * (which never go through a PLT) stay unchecked and nothing recurses. Checks
 * off: nothing is rewritten, the cost is nil. Not seen: calls the compiler
 * inlined (a memcpy or memset of a small constant size, strcpy of a literal),
 * calls made before the constructor (other libraries' constructors run
 * first), glibc's __*_chk variants (_FORTIFY_SOURCE; glibc checks those
 * against the object size it knows), and statically linked programs. */
#define _GNU_SOURCE
#include "libc_checks.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "block.h"
#include "heapcheck.h"
#include "options.h"
#include "page.h"
#include "report.h"
#include "zone.h"
#include "memguard.h"

/* ---- data ------------------------------------------------------------------ */

/* The checked functions, chosen from what real overflows go through: the
 * mem* and str* copies, the calls that fill a caller's buffer from a file or
 * socket, and the formatters given a destination size. */
enum lc_fn {
  LC_MEMCPY, LC_MEMMOVE, LC_MEMSET, LC_STRCPY, LC_STPCPY, LC_STRNCPY, LC_STRCAT, LC_STRNCAT,
  LC_READ, LC_PREAD, LC_PREAD64, LC_RECV, LC_FREAD, LC_FGETS, LC_GETLINE, LC_GETDELIM,
  LC___GETDELIM,
  LC_SNPRINTF, LC_VSNPRINTF, LC_STRFTIME, LC_COUNT
};
static const char *const lc_names[LC_COUNT] = {
    [LC_MEMCPY] = "memcpy",     [LC_MEMMOVE] = "memmove",   [LC_MEMSET] = "memset",
    [LC_STRCPY] = "strcpy",     [LC_STPCPY] = "stpcpy",     [LC_STRNCPY] = "strncpy",
    [LC_STRCAT] = "strcat",     [LC_STRNCAT] = "strncat",   [LC_READ] = "read",
    [LC_PREAD] = "pread",       [LC_PREAD64] = "pread64",   [LC_RECV] = "recv",
    [LC_FREAD] = "fread",       [LC_FGETS] = "fgets",       [LC_GETLINE] = "getline",
    [LC_GETDELIM] = "getdelim", [LC___GETDELIM] = "__getdelim", [LC_SNPRINTF] = "snprintf", [LC_VSNPRINTF] = "vsnprintf",
    [LC_STRFTIME] = "strftime",
};
_Static_assert(MT_ARRAY_LEN(lc_names) == LC_COUNT, "a name for every checked function");

MT_HIDDEN bool mt_lc_on;
static uintptr_t real[LC_COUNT]; /* libc's, from dlsym(RTLD_NEXT): set before any slot points here */
static uintptr_t ours[LC_COUNT]; /* the checked versions; 0 where libc has none */

#define REAL(i, type) ((type)real[i])

/* ---- the check --------------------------------------------------------------- */

/* [a, a + n) starts in the heap: reports it when it leaves its block. */
static MT_NOINLINE MT_COLD void check_slow(enum lc_fn fn, uintptr_t a, size_t n, int access) {
  mt_near_t b;
  if (!mt_block_near(a, 0, &b))
    return; /* a slot never handed out, or one in flux */
  /* the fillers are given a size to fill at most */
  const char *verb = access == MT_ACCESS_READ ? "reads" : fn >= LC_READ ? "may write" : "writes";
  char detail[200];
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.access = access;
  e.block = b.start;
  e.size = b.size;
  e.type = b.type;
  e.detail = detail;
  if (!b.live) {
    if (b.free_pc == 0)
      return; /* freed when no free site was kept (checks off): not known to be freed */
    e.kind = MT_ERR_USE_AFTER_FREE;
    e.addr = a;
    e.free_pc = b.free_pc;
    mt_snprintf(detail, sizeof(detail), "%s %s %zu bytes in a freed block (checked at the call, "
                "before any byte was touched)", lc_names[fn], verb, n);
  } else if (a < b.start) {
    e.kind = MT_ERR_UNDERFLOW;
    e.addr = a;
    mt_snprintf(detail, sizeof(detail), "%s %s %zu bytes from %zu bytes before the block "
                "(checked at the call, before any byte was touched)", lc_names[fn], verb, n,
                (size_t)(b.start - a));
  } else {
    uintptr_t end = b.start + b.usable;
    if (a < end && n <= end - a)
      return; /* in bounds: the common case */
    e.kind = MT_ERR_OVERFLOW;
    e.addr = a > end ? a : end;
    size_t past = a >= end ? n : n - (end - a);
    mt_snprintf(detail, sizeof(detail), "%s %s %zu bytes at offset %zu of the block, the last "
                "%zu past its end (checked at the call, before any byte was touched)",
                lc_names[fn], verb, n, (size_t)(a - b.start), past);
  }
  mt_report(&e);
}

/* The common case inline: [a, a + n) inside a live block of a slab or a
 * page run (the page map's byte, the run's descriptor, for a slab a
 * multiply for the slot, the metadata word), as the fast free finds a slot.
 * Anything else (huge and guarded blocks, a bad range) goes to check_slow.
 * Medium run starts: block_lookup's (a run's first page is its block). */
static inline bool in_live_block(uintptr_t a, size_t n) {
  mt_slab_t *s = mt_run_of(a);
  if (s == NULL)
    return false;
  mt_meta_t m;
  size_t off, usable;
  uint8_t kind = __atomic_load_n(&s->kind, __ATOMIC_ACQUIRE);
  if (kind == MT_RUN_SLAB) {
    uint32_t idx = mt_slab_index(s, a);
    if (idx >= s->nslots)
      return false;
    m = s->meta[idx];
    /* from the block's start, after its front redzone (checks on) */
    size_t front = mt_slab_fronts(s) ? mt_slab_fronts(s)[idx] : 0;
    off = (size_t)(a - s->start) - (size_t)idx * s->slot_size;
    if (off < front)
      return false;
    off -= front;
    usable = s->slot_size - front;
  } else if (kind == MT_RUN_MEDIUM) {
    m = s->run_meta;
    if (a < s->start)
      return false;
    off = (size_t)(a - s->start);
    usable = mt_run_addr(s) + ((size_t)s->npages << MT_PAGE_SHIFT) - s->start;
  } else {
    return false;
  }
  size_t lim = mt_check_redzone ? m.f.size : usable; /* what malloc_usable_size says */
  return m.f.state == MT_STATE_LIVE && off < lim && n <= lim - off;
}

/* One compare when the range is not in the heap (the stack, globals, a
 * mapping): the page map's byte for its first address. */
static inline void check(enum lc_fn fn, const void *p, size_t n, int access) {
  uintptr_t a = (uintptr_t)p;
  if (n == 0)
    return;
  uint8_t map = mt_segmap_lookup(a);
  if (MT_LIKELY(map == MT_MAP_NONE) || (map == MT_MAP_SEGMENT && in_live_block(a, n)))
    return;
  check_slow(fn, a, n, access);
}
#define W(fn, p, n) check(fn, p, n, MT_ACCESS_WRITE)
#define R(fn, p, n) check(fn, p, n, MT_ACCESS_READ)

/* A copy whose source and destination overlap: undefined for memcpy and the
 * str* copies (memmove is the call for it), and what glibc's memcpy does
 * with it depends on the machine. Reported once per calling instruction
 * (a loop would say it at every turn with MEMTYPE_ON_ERROR=continue); the
 * call then goes on as it would have. Wherever the ranges are. */
#define OVERLAP_SEEN 64u
static uintptr_t overlap_seen[OVERLAP_SEEN];

static MT_NOINLINE MT_COLD void overlap_report(enum lc_fn fn, uintptr_t d, size_t dn, uintptr_t s,
                                               size_t sn, uintptr_t caller) {
  for (unsigned i = 0; i < OVERLAP_SEEN; i++) {
    uintptr_t old = __atomic_load_n(&overlap_seen[i], __ATOMIC_RELAXED);
    if (old == caller)
      return;
    if (old == 0) {
      if (__atomic_compare_exchange_n(&overlap_seen[i], &old, caller, false, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED))
        break;
      if (old == caller)
        return;
    }
  }
  uintptr_t lo = d > s ? d : s, hi = d + dn < s + sn ? d + dn : s + sn;
  char detail[220];
  mt_snprintf(detail, sizeof(detail), "%s's destination [%p, +%zu) and source [%p, +%zu) overlap "
              "by %zu bytes (checked at the call, before any byte was touched)", lc_names[fn],
              (void *)d, dn, (void *)s, sn, (size_t)(hi - lo));
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = MT_ERR_PARAM_OVERLAP;
  e.access = MT_ACCESS_WRITE;
  e.addr = lo;
  e.type = -1;
  e.detail = detail;
  mt_report(&e);
}

static inline __attribute__((always_inline)) void overlap(enum lc_fn fn, const void *d, size_t dn,
                                                          const void *s, size_t sn) {
  uintptr_t a = (uintptr_t)d, b = (uintptr_t)s;
  /* a == b is left alone, as AddressSanitizer leaves it: compilers copy a
   * struct onto itself (x = x) with memcpy, and glibc's copies are exact
   * there */
  if (MT_UNLIKELY(dn && sn && a != b && a < b + sn && b < a + dn))
    overlap_report(fn, a, dn, b, sn, (uintptr_t)__builtin_return_address(0));
}

/* ---- the checked functions --------------------------------------------------- */

typedef void *(*copy_fn)(void *, const void *, size_t);
static void *lc_memcpy(void *d, const void *s, size_t n) {
  W(LC_MEMCPY, d, n);
  R(LC_MEMCPY, s, n);
  overlap(LC_MEMCPY, d, n, s, n);
  return REAL(LC_MEMCPY, copy_fn)(d, s, n);
}
static void *lc_memmove(void *d, const void *s, size_t n) {
  W(LC_MEMMOVE, d, n);
  R(LC_MEMMOVE, s, n);
  return REAL(LC_MEMMOVE, copy_fn)(d, s, n);
}
static void *lc_memset(void *d, int c, size_t n) {
  W(LC_MEMSET, d, n);
  return REAL(LC_MEMSET, void *(*)(void *, int, size_t))(d, c, n);
}

typedef char *(*strn_fn)(char *, const char *, size_t);
/* The string copies measure the source to check it, then copy that many
 * bytes with libc's memcpy rather than scan it again (the same bytes land:
 * source and destination may not overlap). */
static char *lc_strcpy(char *d, const char *s) {
  size_t n = strlen(s) + 1;
  R(LC_STRCPY, s, n);
  W(LC_STRCPY, d, n);
  overlap(LC_STRCPY, d, n, s, n);
  return REAL(LC_MEMCPY, copy_fn)(d, s, n);
}
static char *lc_stpcpy(char *d, const char *s) {
  size_t n = strlen(s) + 1;
  R(LC_STPCPY, s, n);
  W(LC_STPCPY, d, n);
  overlap(LC_STPCPY, d, n, s, n);
  return (char *)REAL(LC_MEMCPY, copy_fn)(d, s, n) + n - 1;
}
/* strncpy writes n bytes whatever the source's length (NULs pad it). */
static char *lc_strncpy(char *d, const char *s, size_t n) {
  size_t k = strnlen(s, n);
  R(LC_STRNCPY, s, k < n ? k + 1 : k);
  W(LC_STRNCPY, d, n);
  overlap(LC_STRNCPY, d, n, s, k < n ? k + 1 : k);
  return REAL(LC_STRNCPY, strn_fn)(d, s, n);
}
/* The destination's range from its start (its string, then the copy), so
 * that a bad one is set against the destination's block, not a neighbour. */
static char *lc_strcat(char *d, const char *s) {
  size_t dn = strlen(d), sn = strlen(s);
  R(LC_STRCAT, s, sn + 1);
  W(LC_STRCAT, d, dn + sn + 1);
  overlap(LC_STRCAT, d + dn, sn + 1, s, sn + 1);
  REAL(LC_MEMCPY, copy_fn)(d + dn, s, sn + 1);
  return d;
}
static char *lc_strncat(char *d, const char *s, size_t n) {
  size_t dn = strlen(d), sn = strnlen(s, n);
  R(LC_STRNCAT, s, sn < n ? sn + 1 : sn);
  W(LC_STRNCAT, d, dn + sn + 1);
  overlap(LC_STRNCAT, d + dn, sn + 1, s, sn < n ? sn + 1 : sn);
  return REAL(LC_STRNCAT, strn_fn)(d, s, n);
}

/* The fillers: the whole size the caller gives (what _FORTIFY_SOURCE's
 * __read_chk and __fgets_chk check too), not only what comes. */
static ssize_t lc_read(int fd, void *buf, size_t n) {
  W(LC_READ, buf, n);
  return REAL(LC_READ, ssize_t (*)(int, void *, size_t))(fd, buf, n);
}
static ssize_t lc_pread(int fd, void *buf, size_t n, off_t off) {
  W(LC_PREAD, buf, n);
  return REAL(LC_PREAD, ssize_t (*)(int, void *, size_t, off_t))(fd, buf, n, off);
}
static ssize_t lc_pread64(int fd, void *buf, size_t n, off_t off) {
  W(LC_PREAD64, buf, n);
  return REAL(LC_PREAD64, ssize_t (*)(int, void *, size_t, off_t))(fd, buf, n, off);
}
static ssize_t lc_recv(int fd, void *buf, size_t n, int flags) {
  W(LC_RECV, buf, n);
  return REAL(LC_RECV, ssize_t (*)(int, void *, size_t, int))(fd, buf, n, flags);
}
static size_t lc_fread(void *buf, size_t size, size_t count, FILE *f) {
  if (size != 0 && count <= SIZE_MAX / size)
    W(LC_FREAD, buf, size * count);
  return REAL(LC_FREAD, size_t (*)(void *, size_t, size_t, FILE *))(buf, size, count, f);
}
static char *lc_fgets(char *s, int n, FILE *f) {
  if (n > 0)
    W(LC_FGETS, s, (size_t)n);
  return REAL(LC_FGETS, char *(*)(char *, int, FILE *))(s, n, f);
}
/* getline and getdelim trust *n as the size of *line. glibc's stdio.h
 * makes an optimised getline call __getdelim. */
static ssize_t lc_getline(char **line, size_t *n, FILE *f) {
  if (line && n && *line)
    W(LC_GETLINE, *line, *n);
  return REAL(LC_GETLINE, ssize_t (*)(char **, size_t *, FILE *))(line, n, f);
}
static ssize_t lc_getdelim(char **line, size_t *n, int delim, FILE *f) {
  if (line && n && *line)
    W(LC_GETDELIM, *line, *n);
  return REAL(LC_GETDELIM, ssize_t (*)(char **, size_t *, int, FILE *))(line, n, delim, f);
}
static ssize_t lc___getdelim(char **line, size_t *n, int delim, FILE *f) {
  if (line && n && *line)
    W(LC___GETDELIM, *line, *n);
  return REAL(LC___GETDELIM, ssize_t (*)(char **, size_t *, int, FILE *))(line, n, delim, f);
}

typedef int (*vsnprintf_fn)(char *, size_t, const char *, va_list);
static int lc_vsnprintf(char *d, size_t n, const char *fmt, va_list ap) {
  W(LC_VSNPRINTF, d, n);
  return REAL(LC_VSNPRINTF, vsnprintf_fn)(d, n, fmt, ap);
}
static int lc_snprintf(char *d, size_t n, const char *fmt, ...) {
  W(LC_SNPRINTF, d, n);
  va_list ap;
  va_start(ap, fmt);
  int r = REAL(LC_VSNPRINTF, vsnprintf_fn)(d, n, fmt, ap);
  va_end(ap);
  return r;
}
static size_t lc_strftime(char *d, size_t n, const char *fmt, const struct tm *tm) {
  W(LC_STRFTIME, d, n);
  return REAL(LC_STRFTIME, size_t (*)(char *, size_t, const char *, const struct tm *))(d, n, fmt,
                                                                                         tm);
}

static const uintptr_t checked[LC_COUNT] = {
    [LC_MEMCPY] = (uintptr_t)lc_memcpy,     [LC_MEMMOVE] = (uintptr_t)lc_memmove,
    [LC_MEMSET] = (uintptr_t)lc_memset,     [LC_STRCPY] = (uintptr_t)lc_strcpy,
    [LC_STPCPY] = (uintptr_t)lc_stpcpy,     [LC_STRNCPY] = (uintptr_t)lc_strncpy,
    [LC_STRCAT] = (uintptr_t)lc_strcat,     [LC_STRNCAT] = (uintptr_t)lc_strncat,
    [LC_READ] = (uintptr_t)lc_read,         [LC_PREAD] = (uintptr_t)lc_pread,
    [LC_PREAD64] = (uintptr_t)lc_pread64,   [LC_RECV] = (uintptr_t)lc_recv,
    [LC_FREAD] = (uintptr_t)lc_fread,       [LC_FGETS] = (uintptr_t)lc_fgets,
    [LC_GETLINE] = (uintptr_t)lc_getline,   [LC_GETDELIM] = (uintptr_t)lc_getdelim,
    [LC___GETDELIM] = (uintptr_t)lc___getdelim,
    [LC_SNPRINTF] = (uintptr_t)lc_snprintf, [LC_VSNPRINTF] = (uintptr_t)lc_vsnprintf,
    [LC_STRFTIME] = (uintptr_t)lc_strftime,
};

/* ---- public -------------------------------------------------------------------- */

void mt_lc_install(void) {
  if (!(mt_check_on || (mt_guard_on && !mt_guard_sampling_only)) || mt_lc_on)
    return;
  /* libmemtype defines none of the names: the next definition is libc's
   * (RTLD_NEXT also passes over a non-PIE program's PLT entry, which would
   * lead back here). snprintf goes through vsnprintf, strcpy, stpcpy and
   * strcat through memcpy. */
  for (unsigned i = 0; i < LC_COUNT; i++)
    real[i] = (uintptr_t)dlsym(RTLD_NEXT, lc_names[i]);
  for (unsigned i = 0; i < LC_COUNT; i++)
    ours[i] = real[i] && real[LC_MEMCPY] && real[LC_VSNPRINTF] ? checked[i] : 0;
  mt_lc_on = true;
  unsigned objects = 0;
  unsigned slots = mt_rebind_redirect(lc_names, ours, LC_COUNT, real[LC_MEMCPY], NULL, &objects);
  if (mt_opt.verbose)
    mt_printf("memtype: libc range checks: %u call slots in %u objects point to memtype's "
              "checked memcpy, strcpy, read, snprintf...\n", slots, objects);
}

void mt_lc_after_load(const mt_rebind_mark_t *m) {
  if (mt_lc_on)
    mt_rebind_redirect(lc_names, ours, LC_COUNT, real[LC_MEMCPY], m, NULL);
}
