/* libc_checks.c - libc range checks at the call (issue 21, point 2). With
 * MEMTYPE_TRASH, MEMTYPE_REDZONE or MEMTYPE_GUARD (not MEMTYPE_GUARD_RATE
 * alone) on, the libc functions that read or write a range the caller gives
 * are checked at the call: each range that starts in memtype's heap is
 * set against its block (the page map, then the run: O(1)), and one past
 * the block's end (its requested size, or what malloc_usable_size says
 * without redzones), before its start, or in a freed block is reported at
 * the call, READ or WRITE, with the caller's stack; then MEMTYPE_ON_ERROR.
 * Writes are checked before libc runs (nothing touched yet); the compares
 * and searches once it has returned, against the bytes it really read (to
 * its first difference, match or NUL: see "the readers" below). The copies
 * (memcpy, mempcpy and the str* copies, not memmove) are also checked for a
 * source and destination that overlap, wherever they are (param-overlap).
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
 * first), and statically linked programs. glibc's __*_chk variants, which
 * programs built with _FORTIFY_SOURCE call (every Debian package), are
 * checked too (see "the fortified calls"). */
#define _GNU_SOURCE
#include "libc_checks.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <time.h>
#include <wchar.h>
#include <ctype.h>
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

/* The checked functions, chosen from what real overflows go through (and
 * what valgrind catches at the call): the mem* and str* copies and mempcpy;
 * the calls that fill a caller's buffer from a file or socket (read, recv,
 * recvfrom, fread, fgets, getline...); the formatters, sized (snprintf,
 * strftime) or not (sprintf, vsprintf: the unbounded writes of old code);
 * the string readers that run off an unterminated buffer (strlen, strnlen,
 * strdup, strndup, strchr, strrchr, strcmp, strncmp) or a size past it
 * (memcmp, memchr), the usual read overflows of parsers; and the calls that
 * send a caller's bytes out (write, pwrite, send, fwrite, fputs, puts),
 * where a read overflow leaks the heap's next bytes; and the calls whose
 * system call valgrind checks a buffer of (readlink, getcwd, getrandom,
 * gethostname, the scatter-gather readv, writev, preadv, pwritev, recvmsg,
 * sendmsg, and sendto, pwrite64), bzero and explicit_bzero, stpncpy; the
 * wide-character copies, fills and measures (see "the wide characters"
 * below); the case-blind compares and the searches (strcasecmp, strstr,
 * strspn...); the strings the printf family reads. Left out: the locale
 * variants and the wide compares and searches (rarer in real overflows),
 * bcmp (clang's memcmp() == 0; glibc's is memcmp). The scanf family is
 * checked once it returns, from its format (see "the scanf family" below). */
enum lc_fn {
  LC_MEMCPY, LC_MEMMOVE, LC_MEMSET, LC_STRCPY, LC_STPCPY, LC_STRNCPY, LC_STRCAT, LC_STRNCAT,
  LC_READ, LC_PREAD, LC_PREAD64, LC_RECV, LC_FREAD, LC_FGETS, LC_GETLINE, LC_GETDELIM,
  LC___GETDELIM,
  LC_SNPRINTF, LC_VSNPRINTF, LC_STRFTIME,
  LC_MEMPCPY, LC_RECVFROM, LC_SPRINTF, LC_VSPRINTF,
  LC_STRLEN, LC_STRNLEN, LC_STRDUP, LC_STRNDUP, LC_MEMCMP, LC_STRCMP, LC_STRNCMP, LC_MEMCHR,
  LC_STRCHR, LC_STRRCHR, LC_WRITE, LC_PWRITE, LC_SEND, LC_FWRITE, LC_FPUTS, LC_PUTS,
  LC_MEMCCPY, LC_POLL, LC_PPOLL,
  /* _FORTIFY_SOURCE's variants (see "the fortified calls" below) */
  LC_MEMCPY_CHK, LC_MEMMOVE_CHK, LC_MEMPCPY_CHK, LC_MEMSET_CHK, LC_STRCPY_CHK, LC_STPCPY_CHK,
  LC_STRNCPY_CHK, LC_STRCAT_CHK, LC_STRNCAT_CHK, LC_SPRINTF_CHK, LC_VSPRINTF_CHK,
  LC_SNPRINTF_CHK, LC_VSNPRINTF_CHK, LC_READ_CHK, LC_PREAD_CHK, LC_PREAD64_CHK, LC_RECV_CHK,
  LC_RECVFROM_CHK, LC_FREAD_CHK, LC_FGETS_CHK, LC_POLL_CHK, LC_PPOLL_CHK,
  /* the calls that fill or send a caller's buffer by a size it gives, as
   * valgrind checks their system calls' parameters */
  LC_READLINK, LC_READLINKAT, LC_GETCWD, LC_GETRANDOM, LC_GETHOSTNAME, LC_READV, LC_PREADV,
  LC_WRITEV, LC_PWRITEV, LC_RECVMSG, LC_SENDMSG, LC_SENDTO, LC_PWRITE64, LC_BZERO,
  LC_EXPLICIT_BZERO, LC_STPNCPY,
  LC_READLINK_CHK, LC_READLINKAT_CHK, LC_GETCWD_CHK, LC_GETHOSTNAME_CHK, LC_EXPLICIT_BZERO_CHK,
  LC_STPNCPY_CHK,
  /* the scanf family (C99's names, which C programs call, and GNU's) */
  LC_SSCANF, LC_VSSCANF, LC_FSCANF, LC_VFSCANF, LC_SCANF, LC_VSCANF, LC_ISOC99_SSCANF,
  LC_ISOC99_VSSCANF, LC_ISOC99_FSCANF, LC_ISOC99_VFSCANF, LC_ISOC99_SCANF, LC_ISOC99_VSCANF,
  /* the wide-character copies, fills and measures, and their fortified forms */
  LC_WMEMCPY, LC_WMEMMOVE, LC_WMEMPCPY, LC_WMEMSET, LC_WCSCPY, LC_WCPCPY, LC_WCSNCPY, LC_WCPNCPY,
  LC_WCSCAT, LC_WCSNCAT, LC_WCSLEN, LC_WCSNLEN, LC_WCSDUP, LC_SWPRINTF, LC_VSWPRINTF,
  LC_MBSTOWCS, LC_WCSTOMBS,
  LC_WMEMCPY_CHK, LC_WMEMMOVE_CHK, LC_WMEMPCPY_CHK, LC_WMEMSET_CHK, LC_WCSCPY_CHK,
  LC_WCPCPY_CHK, LC_WCSNCPY_CHK, LC_WCPNCPY_CHK, LC_WCSCAT_CHK, LC_WCSNCAT_CHK,
  LC_SWPRINTF_CHK, LC_VSWPRINTF_CHK, LC_MBSTOWCS_CHK, LC_WCSTOMBS_CHK,
  /* the printf family's string arguments (see "the strings printf reads") */
  LC_PRINTF, LC_FPRINTF, LC_DPRINTF, LC_VPRINTF, LC_VFPRINTF, LC_VDPRINTF, LC_ASPRINTF,
  LC_VASPRINTF, LC_PRINTF_CHK, LC_FPRINTF_CHK, LC_DPRINTF_CHK, LC_VPRINTF_CHK, LC_VFPRINTF_CHK,
  LC_VDPRINTF_CHK, LC_ASPRINTF_CHK, LC_VASPRINTF_CHK,
  /* the case-blind compares and the searches */
  LC_STRCASECMP, LC_STRNCASECMP, LC_STRSTR, LC_STRCASESTR, LC_STRSPN, LC_STRCSPN, LC_STRPBRK,
  LC_COUNT
};
static const char *const lc_names[LC_COUNT] = {
    [LC_MEMCPY] = "memcpy",     [LC_MEMMOVE] = "memmove",   [LC_MEMSET] = "memset",
    [LC_STRCPY] = "strcpy",     [LC_STPCPY] = "stpcpy",     [LC_STRNCPY] = "strncpy",
    [LC_STRCAT] = "strcat",     [LC_STRNCAT] = "strncat",   [LC_READ] = "read",
    [LC_PREAD] = "pread",       [LC_PREAD64] = "pread64",   [LC_RECV] = "recv",
    [LC_FREAD] = "fread",       [LC_FGETS] = "fgets",       [LC_GETLINE] = "getline",
    [LC_GETDELIM] = "getdelim", [LC___GETDELIM] = "__getdelim", [LC_SNPRINTF] = "snprintf", [LC_VSNPRINTF] = "vsnprintf",
    [LC_STRFTIME] = "strftime", [LC_MEMPCPY] = "mempcpy",   [LC_RECVFROM] = "recvfrom",
    [LC_SPRINTF] = "sprintf",   [LC_VSPRINTF] = "vsprintf", [LC_STRLEN] = "strlen",
    [LC_STRNLEN] = "strnlen",   [LC_STRDUP] = "strdup",     [LC_STRNDUP] = "strndup",
    [LC_MEMCMP] = "memcmp",     [LC_STRCMP] = "strcmp",     [LC_STRNCMP] = "strncmp",
    [LC_MEMCHR] = "memchr",     [LC_STRCHR] = "strchr",     [LC_STRRCHR] = "strrchr",
    [LC_WRITE] = "write",       [LC_PWRITE] = "pwrite",     [LC_SEND] = "send",
    [LC_FWRITE] = "fwrite",     [LC_FPUTS] = "fputs",       [LC_PUTS] = "puts",
    [LC_MEMCCPY] = "memccpy",   [LC_POLL] = "poll",         [LC_PPOLL] = "ppoll",
    [LC_MEMCPY_CHK] = "__memcpy_chk",       [LC_MEMMOVE_CHK] = "__memmove_chk",
    [LC_MEMPCPY_CHK] = "__mempcpy_chk",     [LC_MEMSET_CHK] = "__memset_chk",
    [LC_STRCPY_CHK] = "__strcpy_chk",       [LC_STPCPY_CHK] = "__stpcpy_chk",
    [LC_STRNCPY_CHK] = "__strncpy_chk",     [LC_STRCAT_CHK] = "__strcat_chk",
    [LC_STRNCAT_CHK] = "__strncat_chk",     [LC_SPRINTF_CHK] = "__sprintf_chk",
    [LC_VSPRINTF_CHK] = "__vsprintf_chk",   [LC_SNPRINTF_CHK] = "__snprintf_chk",
    [LC_VSNPRINTF_CHK] = "__vsnprintf_chk", [LC_READ_CHK] = "__read_chk",
    [LC_PREAD_CHK] = "__pread_chk",         [LC_PREAD64_CHK] = "__pread64_chk",
    [LC_RECV_CHK] = "__recv_chk",           [LC_RECVFROM_CHK] = "__recvfrom_chk",
    [LC_FREAD_CHK] = "__fread_chk",         [LC_FGETS_CHK] = "__fgets_chk",
    [LC_POLL_CHK] = "__poll_chk",           [LC_PPOLL_CHK] = "__ppoll_chk",
    [LC_READLINK] = "readlink",             [LC_READLINKAT] = "readlinkat",
    [LC_GETCWD] = "getcwd",                 [LC_GETRANDOM] = "getrandom",
    [LC_GETHOSTNAME] = "gethostname",       [LC_READV] = "readv",
    [LC_PREADV] = "preadv",                 [LC_WRITEV] = "writev",
    [LC_PWRITEV] = "pwritev",               [LC_RECVMSG] = "recvmsg",
    [LC_SENDMSG] = "sendmsg",               [LC_SENDTO] = "sendto",
    [LC_PWRITE64] = "pwrite64",             [LC_BZERO] = "bzero",
    [LC_EXPLICIT_BZERO] = "explicit_bzero", [LC_STPNCPY] = "stpncpy",
    [LC_READLINK_CHK] = "__readlink_chk",   [LC_READLINKAT_CHK] = "__readlinkat_chk",
    [LC_GETCWD_CHK] = "__getcwd_chk",       [LC_GETHOSTNAME_CHK] = "__gethostname_chk",
    [LC_EXPLICIT_BZERO_CHK] = "__explicit_bzero_chk", [LC_STPNCPY_CHK] = "__stpncpy_chk",
    [LC_SSCANF] = "sscanf",                 [LC_VSSCANF] = "vsscanf",
    [LC_FSCANF] = "fscanf",                 [LC_VFSCANF] = "vfscanf",
    [LC_SCANF] = "scanf",                   [LC_VSCANF] = "vscanf",
    [LC_ISOC99_SSCANF] = "__isoc99_sscanf", [LC_ISOC99_VSSCANF] = "__isoc99_vsscanf",
    [LC_ISOC99_FSCANF] = "__isoc99_fscanf", [LC_ISOC99_VFSCANF] = "__isoc99_vfscanf",
    [LC_ISOC99_SCANF] = "__isoc99_scanf",   [LC_ISOC99_VSCANF] = "__isoc99_vscanf",
    [LC_WMEMCPY] = "wmemcpy",               [LC_WMEMMOVE] = "wmemmove",
    [LC_WMEMPCPY] = "wmempcpy",             [LC_WMEMSET] = "wmemset",
    [LC_WCSCPY] = "wcscpy",                 [LC_WCPCPY] = "wcpcpy",
    [LC_WCSNCPY] = "wcsncpy",               [LC_WCPNCPY] = "wcpncpy",
    [LC_WCSCAT] = "wcscat",                 [LC_WCSNCAT] = "wcsncat",
    [LC_WCSLEN] = "wcslen",                 [LC_WCSNLEN] = "wcsnlen",
    [LC_WCSDUP] = "wcsdup",                 [LC_SWPRINTF] = "swprintf",
    [LC_VSWPRINTF] = "vswprintf",           [LC_MBSTOWCS] = "mbstowcs",
    [LC_WCSTOMBS] = "wcstombs",
    [LC_WMEMCPY_CHK] = "__wmemcpy_chk",     [LC_WMEMMOVE_CHK] = "__wmemmove_chk",
    [LC_WMEMPCPY_CHK] = "__wmempcpy_chk",   [LC_WMEMSET_CHK] = "__wmemset_chk",
    [LC_WCSCPY_CHK] = "__wcscpy_chk",       [LC_WCPCPY_CHK] = "__wcpcpy_chk",
    [LC_WCSNCPY_CHK] = "__wcsncpy_chk",     [LC_WCPNCPY_CHK] = "__wcpncpy_chk",
    [LC_WCSCAT_CHK] = "__wcscat_chk",       [LC_WCSNCAT_CHK] = "__wcsncat_chk",
    [LC_SWPRINTF_CHK] = "__swprintf_chk",   [LC_VSWPRINTF_CHK] = "__vswprintf_chk",
    [LC_MBSTOWCS_CHK] = "__mbstowcs_chk",   [LC_WCSTOMBS_CHK] = "__wcstombs_chk",
    [LC_PRINTF] = "printf",                 [LC_FPRINTF] = "fprintf",
    [LC_DPRINTF] = "dprintf",               [LC_VPRINTF] = "vprintf",
    [LC_VFPRINTF] = "vfprintf",             [LC_VDPRINTF] = "vdprintf",
    [LC_ASPRINTF] = "asprintf",             [LC_VASPRINTF] = "vasprintf",
    [LC_PRINTF_CHK] = "__printf_chk",       [LC_FPRINTF_CHK] = "__fprintf_chk",
    [LC_DPRINTF_CHK] = "__dprintf_chk",     [LC_VPRINTF_CHK] = "__vprintf_chk",
    [LC_VFPRINTF_CHK] = "__vfprintf_chk",   [LC_VDPRINTF_CHK] = "__vdprintf_chk",
    [LC_ASPRINTF_CHK] = "__asprintf_chk",   [LC_VASPRINTF_CHK] = "__vasprintf_chk",
    [LC_STRCASECMP] = "strcasecmp",         [LC_STRNCASECMP] = "strncasecmp",
    [LC_STRSTR] = "strstr",                 [LC_STRCASESTR] = "strcasestr",
    [LC_STRSPN] = "strspn",                 [LC_STRCSPN] = "strcspn",
    [LC_STRPBRK] = "strpbrk",
};
_Static_assert(MT_ARRAY_LEN(lc_names) == LC_COUNT, "a name for every checked function");

MT_HIDDEN bool mt_lc_on;
static uintptr_t real[LC_COUNT]; /* libc's, from dlsym(RTLD_NEXT): set before any slot points here */
static uintptr_t ours[LC_COUNT]; /* the checked versions; 0 where libc has none */

#define REAL(i, type) ((type)real[i])

/* ---- the check --------------------------------------------------------------- */

/* The fillers are given a size to fill at most; the other writers write
 * what they are given. */
static bool is_filler(enum lc_fn fn) {
  switch (fn) {
  case LC_RECVFROM: case LC_READ_CHK: case LC_PREAD_CHK: case LC_PREAD64_CHK: case LC_RECV_CHK:
  case LC_RECVFROM_CHK: case LC_FREAD_CHK: case LC_FGETS_CHK: case LC_SNPRINTF_CHK:
  case LC_VSNPRINTF_CHK: case LC_READLINK: case LC_READLINKAT: case LC_GETCWD:
  case LC_GETRANDOM: case LC_GETHOSTNAME: case LC_READV: case LC_PREADV: case LC_RECVMSG:
  case LC_READLINK_CHK: case LC_READLINKAT_CHK: case LC_GETCWD_CHK: case LC_GETHOSTNAME_CHK:
  case LC_SWPRINTF: case LC_VSWPRINTF: case LC_MBSTOWCS: case LC_WCSTOMBS: case LC_SWPRINTF_CHK:
  case LC_VSWPRINTF_CHK: case LC_MBSTOWCS_CHK: case LC_WCSTOMBS_CHK:
    return true;
  default:
    return fn >= LC_READ && fn <= LC_STRFTIME;
  }
}

/* [a, a + n) starts in the heap: reports it when it leaves its block. after:
 * a read checked once libc had made it (see the checked reads below). */
static MT_NOINLINE MT_COLD void check_slow(enum lc_fn fn, uintptr_t a, size_t n, int access,
                                           bool after) {
  mt_near_t b;
  if (!mt_block_near(a, 0, &b))
    return; /* a slot never handed out, or one in flux */
  const char *verb = access == MT_ACCESS_READ ? "reads" : is_filler(fn) ? "may write" : "writes";
  const char *when = !after ? "checked at the call, before any byte was touched"
                     : access == MT_ACCESS_READ
                         ? "checked at the call, when libc had read them; nothing was written"
                         : "checked at the call, when libc had written them";
  char detail[200];
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.access = access;
  e.block = b.start;
  e.size = b.size;
  e.type = b.type;
  e.alloc_stack = b.alloc_stack; /* the whole stacks, not only the type's call site */
  e.free_stack = b.free_stack;
  e.detail = detail;
  if (!b.live) {
    if (b.free_pc == 0)
      return; /* freed when no free site was kept (checks off): not known to be freed */
    e.kind = MT_ERR_USE_AFTER_FREE;
    e.addr = a;
    e.free_pc = b.free_pc;
    mt_snprintf(detail, sizeof(detail), "%s %s %zu bytes in a freed block (%s)", lc_names[fn],
                verb, n, when);
  } else if (a < b.start) {
    e.kind = MT_ERR_UNDERFLOW;
    e.addr = a;
    mt_snprintf(detail, sizeof(detail), "%s %s %zu bytes from %zu bytes before the block (%s)",
                lc_names[fn], verb, n, (size_t)(b.start - a), when);
  } else {
    uintptr_t end = b.start + b.usable;
    if (a < end && n <= end - a)
      return; /* in bounds: the common case */
    e.kind = MT_ERR_OVERFLOW;
    e.addr = a > end ? a : end;
    size_t past = a >= end ? n : n - (end - a);
    mt_snprintf(detail, sizeof(detail), "%s %s %zu bytes at offset %zu of the block, the last "
                "%zu past its end (%s)", lc_names[fn], verb, n, (size_t)(a - b.start), past, when);
  }
  mt_report(&e);
}

/* The common case inline: the bytes from a to the end of the live block of
 * a slab or a page run that a lies in (the page map's byte, the run's
 * descriptor, for a slab a multiply for the slot, the metadata word), as
 * the fast free finds a slot; 0 for anything else (huge and guarded blocks,
 * a freed block, a redzone: check_slow sorts them out). Medium run starts:
 * block_lookup's (a run's first page is its block). */
static inline __attribute__((always_inline)) size_t live_room(uintptr_t a) {
  mt_slab_t *s = mt_run_of(a);
  if (s == NULL)
    return 0;
  mt_meta_t m;
  size_t off, usable;
  uint8_t kind = __atomic_load_n(&s->kind, __ATOMIC_ACQUIRE);
  if (kind == MT_RUN_SLAB) {
    uint32_t idx = mt_slab_index(s, a);
    if (idx >= s->nslots)
      return 0;
    m = s->meta[idx];
    /* from the block's start, after its front redzone (checks on) */
    size_t front = mt_slab_fronts(s) ? mt_slab_fronts(s)[idx] : 0;
    off = (size_t)(a - s->start) - (size_t)idx * s->slot_size;
    if (off < front)
      return 0;
    off -= front;
    usable = s->slot_size - front;
  } else if (kind == MT_RUN_MEDIUM) {
    m = s->run_meta;
    if (a < s->start)
      return 0;
    off = (size_t)(a - s->start);
    usable = mt_run_addr(s) + ((size_t)s->npages << MT_PAGE_SHIFT) - s->start;
  } else {
    return 0;
  }
  size_t lim = mt_check_redzone ? m.f.size : usable; /* what malloc_usable_size says */
  return m.f.state == MT_STATE_LIVE && off < lim ? lim - off : 0;
}

/* [a, a + n) in the live guarded block a lies in: its descriptor through
 * memguard's page table, not the block model's general lookup (some 290
 * instructions a call, on every string or memset of a guarded block). */
/* The bytes from a to the end of the live guarded block a lies in, else 0. */
static MT_NOINLINE size_t guard_room(uintptr_t a) {
  const mt_guard_blk_t *g = mt_guard_lookup(a);
  if (g == NULL)
    return 0;
  mt_meta_t m;
  m.word = __atomic_load_n(&g->meta.word, __ATOMIC_ACQUIRE);
  uintptr_t user = __atomic_load_n(&g->user, __ATOMIC_RELAXED);
  return m.f.state == MT_STATE_LIVE && a >= user && a - user < m.f.size
             ? m.f.size - (a - user)
             : 0;
}
static inline bool guard_fits(uintptr_t a, size_t n) {
  size_t room = guard_room(a);
  return room != 0 && n <= room;
}

/* [a, a + n) lies out of the heap (the stack, globals, a mapping: the page
 * map's byte for its first address, one compare) or in a live block. */
static inline __attribute__((always_inline)) bool fits(uintptr_t a, size_t n) {
  uint8_t map = mt_segmap_lookup(a);
  return MT_LIKELY(map == MT_MAP_NONE) || (map == MT_MAP_SEGMENT && n <= live_room(a)) ||
         (map == MT_MAP_GUARD && guard_fits(a, n));
}
static inline bool in_heap(const void *p) {
  return MT_UNLIKELY(mt_segmap_lookup((uintptr_t)p) != MT_MAP_NONE);
}

static inline void check(enum lc_fn fn, const void *p, size_t n, int access, bool after) {
  uintptr_t a = (uintptr_t)p;
  if (n == 0 || fits(a, n))
    return;
  check_slow(fn, a, n, access, after);
}
#define W(fn, p, n) check(fn, p, n, MT_ACCESS_WRITE, false)
#define R(fn, p, n) check(fn, p, n, MT_ACCESS_READ, false)
/* a read checked after libc made it */
#define RA(fn, p, n) check(fn, p, n, MT_ACCESS_READ, true)

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

/* The checks each copy shares with its _FORTIFY_SOURCE form (always
 * inline: overlap() names the checked function's caller). */
#define SHARED static inline __attribute__((always_inline))
/* n bytes copied from s to d */
SHARED void copy_checked(enum lc_fn fn, void *d, const void *s, size_t n) {
  W(fn, d, n);
  R(fn, s, n);
  overlap(fn, d, n, s, n);
}
/* strncpy and stpncpy: n bytes written whatever the source's length */
SHARED void strn_copy_checked(enum lc_fn fn, char *d, const char *s, size_t n) {
  size_t k = strnlen(s, n);
  R(fn, s, k < n ? k + 1 : k);
  W(fn, d, n);
  overlap(fn, d, n, s, k < n ? k + 1 : k);
}
/* strcat: the destination's range from its start (its string, then the
 * copy), so that a bad one is set against the destination's block, not a
 * neighbour; for overlap too it is the whole string appended to (the source
 * inside it is undefined: AddressSanitizer and valgrind say so). Returns
 * the destination's length, and the source's in *sn */
SHARED size_t cat_checked(enum lc_fn fn, char *d, const char *s, size_t *sn) {
  size_t dn = strlen(d);
  *sn = strlen(s);
  R(fn, s, *sn + 1);
  W(fn, d, dn + *sn + 1);
  overlap(fn, d, dn + *sn + 1, s, *sn + 1);
  return dn;
}
SHARED void ncat_checked(enum lc_fn fn, char *d, const char *s, size_t n) {
  size_t dn = strlen(d), sn = strnlen(s, n);
  R(fn, s, sn < n ? sn + 1 : sn);
  W(fn, d, dn + sn + 1);
  overlap(fn, d, dn + sn + 1, s, sn < n ? sn + 1 : sn);
}
/* poll's array: each entry's revents is written */
SHARED void poll_checked(enum lc_fn fn, struct pollfd *fds, nfds_t n) {
  size_t len;
  if (!__builtin_mul_overflow(n, sizeof(*fds), &len))
    W(fn, fds, len);
}
SHARED void recvfrom_checked(enum lc_fn fn, void *buf, size_t n, struct sockaddr *addr,
                             socklen_t *alen) {
  W(fn, buf, n);
  if (addr && alen)
    W(fn, addr, *alen);
}
SHARED void fread_checked(enum lc_fn fn, void *buf, size_t size, size_t count) {
  if (size != 0 && count <= SIZE_MAX / size)
    W(fn, buf, size * count);
}

typedef void *(*copy_fn)(void *, const void *, size_t);
static void *checked_memcpy(void *d, const void *s, size_t n) {
  copy_checked(LC_MEMCPY, d, s, n);
  return REAL(LC_MEMCPY, copy_fn)(d, s, n);
}
static void *checked_memmove(void *d, const void *s, size_t n) {
  W(LC_MEMMOVE, d, n);
  R(LC_MEMMOVE, s, n);
  return REAL(LC_MEMMOVE, copy_fn)(d, s, n);
}
static void *checked_memset(void *d, int c, size_t n) {
  W(LC_MEMSET, d, n);
  return REAL(LC_MEMSET, void *(*)(void *, int, size_t))(d, c, n);
}

typedef char *(*strn_fn)(char *, const char *, size_t);
/* The string copies measure the source to check it, then copy that many
 * bytes with libc's memcpy rather than scan it again (the same bytes land:
 * source and destination may not overlap). */
/* A whole string's copy, its NUL included: checked as the source read and
 * the destination written; its length with the NUL. */
SHARED size_t str_copy_checked(enum lc_fn fn, char *d, const char *s) {
  size_t n = strlen(s) + 1;
  R(fn, s, n);
  W(fn, d, n);
  overlap(fn, d, n, s, n);
  return n;
}
static char *checked_strcpy(char *d, const char *s) {
  size_t n = str_copy_checked(LC_STRCPY, d, s);
  return REAL(LC_MEMCPY, copy_fn)(d, s, n);
}
static char *checked_stpcpy(char *d, const char *s) {
  size_t n = str_copy_checked(LC_STPCPY, d, s);
  return (char *)REAL(LC_MEMCPY, copy_fn)(d, s, n) + n - 1;
}
/* strncpy writes n bytes whatever the source's length (NULs pad it). */
static char *checked_strncpy(char *d, const char *s, size_t n) {
  strn_copy_checked(LC_STRNCPY, d, s, n);
  return REAL(LC_STRNCPY, strn_fn)(d, s, n);
}
/* memccpy: up to n bytes, to the first c included (found with libc's
 * memchr, which reads what memccpy would) */
static void *checked_memccpy(void *d, const void *s, int c, size_t n) {
  const char *hit = memchr(s, c, n);
  size_t k = hit ? (size_t)(hit - (const char *)s) + 1 : n;
  R(LC_MEMCCPY, s, k);
  W(LC_MEMCCPY, d, k);
  overlap(LC_MEMCCPY, d, k, s, k);
  return REAL(LC_MEMCCPY, void *(*)(void *, const void *, int, size_t))(d, s, c, n);
}
static char *checked_strcat(char *d, const char *s) {
  size_t sn, dn = cat_checked(LC_STRCAT, d, s, &sn);
  REAL(LC_MEMCPY, copy_fn)(d + dn, s, sn + 1);
  return d;
}
static char *checked_strncat(char *d, const char *s, size_t n) {
  ncat_checked(LC_STRNCAT, d, s, n);
  return REAL(LC_STRNCAT, strn_fn)(d, s, n);
}

/* The fillers: the whole size the caller gives (what _FORTIFY_SOURCE's
 * __read_chk and __fgets_chk check too), not only what comes. */
static ssize_t checked_read(int fd, void *buf, size_t n) {
  W(LC_READ, buf, n);
  return REAL(LC_READ, ssize_t (*)(int, void *, size_t))(fd, buf, n);
}
static ssize_t checked_pread(int fd, void *buf, size_t n, off_t off) {
  W(LC_PREAD, buf, n);
  return REAL(LC_PREAD, ssize_t (*)(int, void *, size_t, off_t))(fd, buf, n, off);
}
static ssize_t checked_pread64(int fd, void *buf, size_t n, off_t off) {
  W(LC_PREAD64, buf, n);
  return REAL(LC_PREAD64, ssize_t (*)(int, void *, size_t, off_t))(fd, buf, n, off);
}
static ssize_t checked_recv(int fd, void *buf, size_t n, int flags) {
  W(LC_RECV, buf, n);
  return REAL(LC_RECV, ssize_t (*)(int, void *, size_t, int))(fd, buf, n, flags);
}
/* poll and ppoll read the array and write each entry's revents: a short
 * array in the heap is checked here, since the kernel's write past it into
 * a guard page fails with EFAULT, which no fault shows. */
static int checked_poll(struct pollfd *fds, nfds_t n, int timeout) {
  poll_checked(LC_POLL, fds, n);
  return REAL(LC_POLL, int (*)(struct pollfd *, nfds_t, int))(fds, n, timeout);
}
static int checked_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
                         const sigset_t *mask) {
  poll_checked(LC_PPOLL, fds, n);
  return REAL(LC_PPOLL, int (*)(struct pollfd *, nfds_t, const struct timespec *,
                                const sigset_t *))(fds, n, t, mask);
}
static size_t checked_fread(void *buf, size_t size, size_t count, FILE *f) {
  fread_checked(LC_FREAD, buf, size, count);
  return REAL(LC_FREAD, size_t (*)(void *, size_t, size_t, FILE *))(buf, size, count, f);
}
static char *checked_fgets(char *s, int n, FILE *f) {
  if (n > 0)
    W(LC_FGETS, s, (size_t)n);
  return REAL(LC_FGETS, char *(*)(char *, int, FILE *))(s, n, f);
}
/* getline and getdelim trust *n as the size of *line. glibc's stdio.h
 * makes an optimised getline call __getdelim. */
static ssize_t checked_getline(char **line, size_t *n, FILE *f) {
  if (line && n && *line)
    W(LC_GETLINE, *line, *n);
  return REAL(LC_GETLINE, ssize_t (*)(char **, size_t *, FILE *))(line, n, f);
}
static ssize_t checked_getdelim(char **line, size_t *n, int delim, FILE *f) {
  if (line && n && *line)
    W(LC_GETDELIM, *line, *n);
  return REAL(LC_GETDELIM, ssize_t (*)(char **, size_t *, int, FILE *))(line, n, delim, f);
}
static ssize_t checked___getdelim(char **line, size_t *n, int delim, FILE *f) {
  if (line && n && *line)
    W(LC___GETDELIM, *line, *n);
  return REAL(LC___GETDELIM, ssize_t (*)(char **, size_t *, int, FILE *))(line, n, delim, f);
}

typedef int (*vsnprintf_fn)(char *, size_t, const char *, va_list);
/* the strings a format reads (below, "the strings printf reads") */
static void check_printed(enum lc_fn fn, const char *fmt, va_list ap);
static int checked_vsnprintf(char *d, size_t n, const char *fmt, va_list ap) {
  W(LC_VSNPRINTF, d, n);
  check_printed(LC_VSNPRINTF, fmt, ap);
  return REAL(LC_VSNPRINTF, vsnprintf_fn)(d, n, fmt, ap);
}
static int checked_snprintf(char *d, size_t n, const char *fmt, ...) {
  W(LC_SNPRINTF, d, n);
  va_list ap;
  va_start(ap, fmt);
  check_printed(LC_SNPRINTF, fmt, ap);
  int r = REAL(LC_VSNPRINTF, vsnprintf_fn)(d, n, fmt, ap);
  va_end(ap);
  return r;
}
static size_t checked_strftime(char *d, size_t n, const char *fmt, const struct tm *tm) {
  W(LC_STRFTIME, d, n);
  return REAL(LC_STRFTIME, size_t (*)(char *, size_t, const char *, const struct tm *))(d, n, fmt,
                                                                                         tm);
}

/* The other writers. sprintf and vsprintf are given no size: when the
 * destination lies in the heap, the output's length is found first by
 * formatting to nothing (vsnprintf(NULL, 0, ...), a second formatting only
 * for those), then checked, then the output made. */
static void *checked_mempcpy(void *d, const void *s, size_t n) {
  copy_checked(LC_MEMPCPY, d, s, n);
  return (char *)REAL(LC_MEMCPY, copy_fn)(d, s, n) + n;
}
static ssize_t checked_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                           socklen_t *alen) {
  recvfrom_checked(LC_RECVFROM, buf, n, addr, alen);
  return REAL(LC_RECVFROM, ssize_t (*)(int, void *, size_t, int, struct sockaddr *,
                                       socklen_t *))(fd, buf, n, flags, addr, alen);
}
typedef int (*vsprintf_fn)(char *, const char *, va_list);
static void check_vsprintf(enum lc_fn fn, char *d, const char *fmt, va_list ap) {
  check_printed(fn, fmt, ap);
  if (!in_heap(d))
    return;
  va_list aq;
  va_copy(aq, ap);
  int n = REAL(LC_VSNPRINTF, vsnprintf_fn)(NULL, 0, fmt, aq);
  va_end(aq);
  if (n >= 0)
    W(fn, d, (size_t)n + 1);
}
static int checked_vsprintf(char *d, const char *fmt, va_list ap) {
  check_vsprintf(LC_VSPRINTF, d, fmt, ap);
  return REAL(LC_VSPRINTF, vsprintf_fn)(d, fmt, ap);
}
static int checked_sprintf(char *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  check_vsprintf(LC_SPRINTF, d, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  int r = REAL(LC_VSPRINTF, vsprintf_fn)(d, fmt, ap);
  va_end(ap);
  return r;
}

/* The readers. Nothing is written, so a read is checked when libc has made
 * it, against the bytes it really read: a compare stops at its first
 * difference (or a NUL), a search at its match (or a NUL). The extent comes
 * from the result where it says it (strlen, memchr, strchr); a compare
 * given a size is first checked O(1) for the whole size, and only when that
 * fails is its first difference found, byte by byte, over bytes libc has
 * just read: memtype never reads a byte the function did not (a guard page
 * past the block would fault in memtype). The string compares (no size)
 * ask whether each string's NUL lies in its block (strnlen bounded by the
 * block), and only when not look for the first difference. strdup and
 * strndup measure the source before the call (what they read) and then
 * leave the copy to libc in a tail call, so the copy's allocation site and
 * stack are libc's as without checks. write, pwrite, send and fwrite are
 * given a size to send and are held to all of it, before the call, as read
 * is (valgrind's rule for write too); fputs and puts read their string and
 * its NUL. */
static size_t checked_strlen(const char *s) {
  size_t n = REAL(LC_STRLEN, size_t (*)(const char *))(s);
  RA(LC_STRLEN, s, n + 1);
  return n;
}
static size_t checked_strnlen(const char *s, size_t max) {
  size_t n = REAL(LC_STRNLEN, size_t (*)(const char *, size_t))(s, max);
  RA(LC_STRNLEN, s, n < max ? n + 1 : n);
  return n;
}
static char *checked_strdup(const char *s) {
  if (in_heap(s))
    R(LC_STRDUP, s, strlen(s) + 1);
  return REAL(LC_STRDUP, char *(*)(const char *))(s);
}
static char *checked_strndup(const char *s, size_t max) {
  if (in_heap(s)) {
    size_t n = strnlen(s, max);
    R(LC_STRNDUP, s, n < max ? n + 1 : n);
  }
  return REAL(LC_STRNDUP, char *(*)(const char *, size_t))(s, max);
}

/* The first byte where a and b differ (or n): the bytes memcmp read, plus one. */
static MT_NOINLINE size_t mem_extent(const unsigned char *a, const unsigned char *b, size_t n) {
  size_t i = 0;
  while (i < n && a[i] == b[i])
    i++;
  return i < n ? i + 1 : n;
}
/* The bytes strncmp (n) or strcmp (SIZE_MAX) read: to the first difference
 * or the common NUL, included. */
static MT_NOINLINE size_t str_extent(const unsigned char *a, const unsigned char *b, size_t n) {
  size_t i = 0;
  while (i < n && a[i] == b[i] && a[i] != 0)
    i++;
  return i < n ? i + 1 : n;
}
/* The bytes from a to the end of the live block it lies in (a slab's or a
 * run's, or a guarded one's) by its page map byte; 0 for anything else. */
static inline size_t block_room(uintptr_t a, uint8_t map) {
  return map == MT_MAP_SEGMENT ? live_room(a) : map == MT_MAP_GUARD ? guard_room(a) : 0;
}
/* A string read of at most n bytes from p stays in p's block: p lies out of
 * the heap, or in a live block that holds n bytes from p or the string's NUL
 * (strnlen bounded by the block reads nothing past it). */
static inline bool str_fits(const char *p, size_t n) {
  uintptr_t a = (uintptr_t)p;
  uint8_t map = mt_segmap_lookup(a);
  if (MT_LIKELY(map == MT_MAP_NONE))
    return true;
  size_t room = block_room(a, map);
  return room != 0 && (n <= room || strnlen(p, room) < room);
}

/* ---- the strings printf reads ---------------------------------------------

 * The printf family reads each %s argument to its NUL (or its precision),
 * and its format: an unterminated string in a heap block is a read past the
 * block, as with strlen. Before the call, the format is walked as glibc
 * reads it (flags, width and precision, * taking an int, length modifiers),
 * each argument taken by its type from a copy of the list; a %s (%ls) in a
 * live slab or run block must hold its NUL (a wide one) within the block,
 * or within its precision (a slab or run block's bytes, or a guarded one's:
 * told at the call, not by the guard page's fault inside libc); %n stores
 * its count, held to its type's size. Positional arguments (%1$s) are not
 * followed. */
static size_t int_bytes(int mod) {
  switch (mod) {
  case 'H': return 1;                            /* hh */
  case 'h': return 2;
  case 'l': case 'q': case 'L': case 'j': case 'z': case 'Z': case 't': return 8; /* ll is q */
  default: return 4;
  }
}

/* A string of at most max bytes read from p (wide: wchar_t, max of them). */
static void check_printed_string(enum lc_fn fn, const void *p, size_t max, bool wide) {
  uintptr_t a = (uintptr_t)p;
  uint8_t map = p && max ? mt_segmap_lookup(a) : MT_MAP_NONE; /* (%.0s reads nothing) */
  if (map != MT_MAP_SEGMENT && map != MT_MAP_GUARD)
    return;
  if (!wide && str_fits(p, max))
    return;
  size_t room = block_room(a, map), wroom = room / sizeof(wchar_t);
  if (wide && room != 0 && (max <= wroom || wcsnlen(p, wroom) < wroom))
    return;
  /* at least the block's bytes from p and one past them (a freed block: one) */
  check_slow(fn, a, room + 1, MT_ACCESS_READ, false);
}

static MT_NOINLINE void check_printed(enum lc_fn fn, const char *fmt, va_list ap) {
  if (fmt == NULL)
    return;
  check_printed_string(fn, fmt, SIZE_MAX, false);
  va_list aq;
  va_copy(aq, ap);
  for (const char *f = fmt; *f; f++) {
    if (*f != '%')
      continue;
    f++;
    while (*f && strchr("-+ #0'I", *f))
      f++;
    if (*f == '*')
      (void)va_arg(aq, int), f++;
    while (*f >= '0' && *f <= '9')
      f++;
    if (*f == '$')
      break; /* positional: not followed */
    size_t prec = SIZE_MAX;
    if (*f == '.') {
      f++;
      if (*f == '*') {
        int v = va_arg(aq, int);
        prec = v < 0 ? SIZE_MAX : (size_t)v;
        f++;
      } else {
        prec = 0;
        while (*f >= '0' && *f <= '9')
          prec = prec * 10 + (size_t)(*f++ - '0');
      }
    }
    int mod = 0;
    if (*f == 'h' && f[1] == 'h')
      mod = 'H', f += 2;
    else if (*f == 'l' && f[1] == 'l')
      mod = 'q', f += 2;
    else if (*f && strchr("hlqLjzZt", *f) != NULL)
      mod = *f++;
    char conv = *f;
    if (conv == '\0')
      break;
    if (conv == '%' || conv == 'm')
      continue;
    if (strchr("diouxXcCbB", conv)) {
      if (mod == 'l' || mod == 'q' || mod == 'j' || mod == 'z' || mod == 'Z' || mod == 't')
        (void)va_arg(aq, long);
      else
        (void)va_arg(aq, int);
    } else if (strchr("aAeEfFgG", conv)) {
      if (mod == 'L')
        (void)va_arg(aq, long double);
      else
        (void)va_arg(aq, double);
    } else if (conv == 's' || conv == 'S') {
      bool wide = conv == 'S' || mod == 'l';
      const void *str = va_arg(aq, const void *);
      /* (a wide one: at most prec wide characters, each at least a byte out) */
      check_printed_string(fn, str, prec, wide);
    } else if (conv == 'p') {
      (void)va_arg(aq, void *);
    } else if (conv == 'n') {
      void *at = va_arg(aq, void *);
      if (at)
        check(fn, at, mod == 'H' ? 1 : int_bytes(mod), MT_ACCESS_WRITE, false);
    } else {
      break; /* a conversion not known here: stop following */
    }
  }
  va_end(aq);
}

typedef int (*vprintf_fn)(const char *, va_list);
typedef int (*vfprintf_fn)(FILE *, const char *, va_list);
typedef int (*vdprintf_fn)(int, const char *, va_list);
typedef int (*vasprintf_fn)(char **, const char *, va_list);
typedef int (*vprintf_chk_fn)(int, const char *, va_list);
typedef int (*vfprintf_chk_fn)(FILE *, int, const char *, va_list);
typedef int (*vdprintf_chk_fn)(int, int, const char *, va_list);
typedef int (*vasprintf_chk_fn)(char **, int, const char *, va_list);
/* A variadic one: its list checked, then handed to libc's v-form. */
#define PRINTED_LIST(fn, call)        \
  do {                                \
    va_list ap;                       \
    va_start(ap, fmt);                \
    check_printed(fn, fmt, ap);       \
    int r = (call);                   \
    va_end(ap);                       \
    return r;                         \
  } while (0)
static int checked_vprintf(const char *fmt, va_list ap) {
  check_printed(LC_VPRINTF, fmt, ap);
  return REAL(LC_VPRINTF, vprintf_fn)(fmt, ap);
}
static int checked_vfprintf(FILE *out, const char *fmt, va_list ap) {
  check_printed(LC_VFPRINTF, fmt, ap);
  return REAL(LC_VFPRINTF, vfprintf_fn)(out, fmt, ap);
}
static int checked_vdprintf(int fd, const char *fmt, va_list ap) {
  check_printed(LC_VDPRINTF, fmt, ap);
  return REAL(LC_VDPRINTF, vdprintf_fn)(fd, fmt, ap);
}
static int checked_vasprintf(char **out, const char *fmt, va_list ap) {
  check_printed(LC_VASPRINTF, fmt, ap);
  return REAL(LC_VASPRINTF, vasprintf_fn)(out, fmt, ap);
}
static int checked_printf(const char *fmt, ...) {
  PRINTED_LIST(LC_PRINTF, REAL(LC_VPRINTF, vprintf_fn)(fmt, ap));
}
static int checked_fprintf(FILE *out, const char *fmt, ...) {
  PRINTED_LIST(LC_FPRINTF, REAL(LC_VFPRINTF, vfprintf_fn)(out, fmt, ap));
}
static int checked_dprintf(int fd, const char *fmt, ...) {
  PRINTED_LIST(LC_DPRINTF, REAL(LC_VDPRINTF, vdprintf_fn)(fd, fmt, ap));
}
static int checked_asprintf(char **out, const char *fmt, ...) {
  PRINTED_LIST(LC_ASPRINTF, REAL(LC_VASPRINTF, vasprintf_fn)(out, fmt, ap));
}
static int checked___vprintf_chk(int flag, const char *fmt, va_list ap) {
  check_printed(LC_VPRINTF_CHK, fmt, ap);
  return REAL(LC_VPRINTF_CHK, vprintf_chk_fn)(flag, fmt, ap);
}
static int checked___vfprintf_chk(FILE *out, int flag, const char *fmt, va_list ap) {
  check_printed(LC_VFPRINTF_CHK, fmt, ap);
  return REAL(LC_VFPRINTF_CHK, vfprintf_chk_fn)(out, flag, fmt, ap);
}
static int checked___vdprintf_chk(int fd, int flag, const char *fmt, va_list ap) {
  check_printed(LC_VDPRINTF_CHK, fmt, ap);
  return REAL(LC_VDPRINTF_CHK, vdprintf_chk_fn)(fd, flag, fmt, ap);
}
static int checked___vasprintf_chk(char **out, int flag, const char *fmt, va_list ap) {
  check_printed(LC_VASPRINTF_CHK, fmt, ap);
  return REAL(LC_VASPRINTF_CHK, vasprintf_chk_fn)(out, flag, fmt, ap);
}
static int checked___printf_chk(int flag, const char *fmt, ...) {
  PRINTED_LIST(LC_PRINTF_CHK, REAL(LC_VPRINTF_CHK, vprintf_chk_fn)(flag, fmt, ap));
}
static int checked___fprintf_chk(FILE *out, int flag, const char *fmt, ...) {
  PRINTED_LIST(LC_FPRINTF_CHK, REAL(LC_VFPRINTF_CHK, vfprintf_chk_fn)(out, flag, fmt, ap));
}
static int checked___dprintf_chk(int fd, int flag, const char *fmt, ...) {
  PRINTED_LIST(LC_DPRINTF_CHK, REAL(LC_VDPRINTF_CHK, vdprintf_chk_fn)(fd, flag, fmt, ap));
}
static int checked___asprintf_chk(char **out, int flag, const char *fmt, ...) {
  PRINTED_LIST(LC_ASPRINTF_CHK, REAL(LC_VASPRINTF_CHK, vasprintf_chk_fn)(out, flag, fmt, ap));
}
#undef PRINTED_LIST

static int checked_memcmp(const void *a, const void *b, size_t n) {
  int r = REAL(LC_MEMCMP, int (*)(const void *, const void *, size_t))(a, b, n);
  if (n != 0 && MT_UNLIKELY(!fits((uintptr_t)a, n) || !fits((uintptr_t)b, n))) {
    size_t e = r == 0 ? n : mem_extent(a, b, n);
    RA(LC_MEMCMP, a, e);
    RA(LC_MEMCMP, b, e);
  }
  return r;
}
static int checked_strncmp(const char *a, const char *b, size_t n) {
  int r = REAL(LC_STRNCMP, int (*)(const char *, const char *, size_t))(a, b, n);
  if (n != 0 && MT_UNLIKELY(!str_fits(a, n) || !str_fits(b, n))) {
    size_t e = str_extent((const unsigned char *)a, (const unsigned char *)b, n);
    RA(LC_STRNCMP, a, e);
    RA(LC_STRNCMP, b, e);
  }
  return r;
}
static int checked_strcmp(const char *a, const char *b) {
  int r = REAL(LC_STRCMP, int (*)(const char *, const char *))(a, b);
  if (MT_UNLIKELY(!str_fits(a, SIZE_MAX) || !str_fits(b, SIZE_MAX))) {
    size_t e = r == 0 ? strlen(a) + 1
                      : str_extent((const unsigned char *)a, (const unsigned char *)b, SIZE_MAX);
    RA(LC_STRCMP, a, e);
    RA(LC_STRCMP, b, e);
  }
  return r;
}
/* The case-blind compares, as strcmp and strncmp: to the first difference
 * (letters folded as libc folds them) or the common NUL. */
static MT_NOINLINE size_t strcase_extent(const unsigned char *a, const unsigned char *b,
                                         size_t n) {
  size_t i = 0;
  while (i < n && tolower(a[i]) == tolower(b[i]) && a[i] != 0)
    i++;
  return i < n ? i + 1 : n;
}
static int checked_strcasecmp(const char *a, const char *b) {
  int r = REAL(LC_STRCASECMP, int (*)(const char *, const char *))(a, b);
  if (MT_UNLIKELY(!str_fits(a, SIZE_MAX) || !str_fits(b, SIZE_MAX))) {
    size_t e = strcase_extent((const unsigned char *)a, (const unsigned char *)b, SIZE_MAX);
    RA(LC_STRCASECMP, a, e);
    RA(LC_STRCASECMP, b, e);
  }
  return r;
}
static int checked_strncasecmp(const char *a, const char *b, size_t n) {
  int r = REAL(LC_STRNCASECMP, int (*)(const char *, const char *, size_t))(a, b, n);
  if (n != 0 && MT_UNLIKELY(!str_fits(a, n) || !str_fits(b, n))) {
    size_t e = strcase_extent((const unsigned char *)a, (const unsigned char *)b, n);
    RA(LC_STRNCASECMP, a, e);
    RA(LC_STRNCASECMP, b, e);
  }
  return r;
}
/* The searches read their needle or set whole, and the string to where
 * they stopped: strstr and strcasestr to the match's end (else the NUL),
 * strspn and strcspn to the first byte outside (inside) the set, strpbrk
 * to its match (else the NUL). */
typedef char *(*search_fn)(const char *, const char *);
SHARED void searched(enum lc_fn fn, const char *s, const char *set, size_t read) {
  if (in_heap(s) || in_heap(set)) {
    RA(fn, set, strlen(set) + 1);
    RA(fn, s, read == SIZE_MAX ? strlen(s) + 1 : read);
  }
}
static char *checked_strstr(const char *h, const char *n) {
  char *r = REAL(LC_STRSTR, search_fn)(h, n);
  searched(LC_STRSTR, h, n, r ? (size_t)(r - h) + strlen(n) : SIZE_MAX);
  return r;
}
static char *checked_strcasestr(const char *h, const char *n) {
  char *r = REAL(LC_STRCASESTR, search_fn)(h, n);
  searched(LC_STRCASESTR, h, n, r ? (size_t)(r - h) + strlen(n) : SIZE_MAX);
  return r;
}
static size_t checked_strspn(const char *s, const char *accept) {
  size_t r = REAL(LC_STRSPN, size_t (*)(const char *, const char *))(s, accept);
  searched(LC_STRSPN, s, accept, r + 1);
  return r;
}
static size_t checked_strcspn(const char *s, const char *reject) {
  size_t r = REAL(LC_STRCSPN, size_t (*)(const char *, const char *))(s, reject);
  searched(LC_STRCSPN, s, reject, r + 1);
  return r;
}
static char *checked_strpbrk(const char *s, const char *accept) {
  char *r = REAL(LC_STRPBRK, search_fn)(s, accept);
  searched(LC_STRPBRK, s, accept, r ? (size_t)(r - s) + 1 : SIZE_MAX);
  return r;
}
static void *checked_memchr(const void *s, int c, size_t n) {
  void *r = REAL(LC_MEMCHR, void *(*)(const void *, int, size_t))(s, c, n);
  RA(LC_MEMCHR, s, r ? (size_t)((const char *)r - (const char *)s) + 1 : n);
  return r;
}
/* strchr stops at its match or at the NUL, strrchr reads to the NUL */
static char *checked_strchr(const char *s, int c) {
  char *r = REAL(LC_STRCHR, char *(*)(const char *, int))(s, c);
  if (in_heap(s))
    RA(LC_STRCHR, s, r ? (size_t)(r - s) + 1 : strlen(s) + 1);
  return r;
}
static char *checked_strrchr(const char *s, int c) {
  char *r = REAL(LC_STRRCHR, char *(*)(const char *, int))(s, c);
  if (in_heap(s))
    RA(LC_STRRCHR, s, strlen(s) + 1);
  return r;
}
static ssize_t checked_write(int fd, const void *buf, size_t n) {
  R(LC_WRITE, buf, n);
  return REAL(LC_WRITE, ssize_t (*)(int, const void *, size_t))(fd, buf, n);
}
static ssize_t checked_pwrite(int fd, const void *buf, size_t n, off_t off) {
  R(LC_PWRITE, buf, n);
  return REAL(LC_PWRITE, ssize_t (*)(int, const void *, size_t, off_t))(fd, buf, n, off);
}
static ssize_t checked_send(int fd, const void *buf, size_t n, int flags) {
  R(LC_SEND, buf, n);
  return REAL(LC_SEND, ssize_t (*)(int, const void *, size_t, int))(fd, buf, n, flags);
}
static size_t checked_fwrite(const void *buf, size_t size, size_t count, FILE *f) {
  if (size != 0 && count <= SIZE_MAX / size)
    R(LC_FWRITE, buf, size * count);
  return REAL(LC_FWRITE, size_t (*)(const void *, size_t, size_t, FILE *))(buf, size, count, f);
}
static int checked_fputs(const char *s, FILE *f) {
  if (in_heap(s))
    R(LC_FPUTS, s, strlen(s) + 1);
  return REAL(LC_FPUTS, int (*)(const char *, FILE *))(s, f);
}
static int checked_puts(const char *s) {
  if (in_heap(s))
    R(LC_PUTS, s, strlen(s) + 1);
  return REAL(LC_PUTS, int (*)(const char *))(s);
}

/* The fortified calls. A program built with _FORTIFY_SOURCE (Debian builds
 * every package so) calls __memcpy_chk(d, s, n, dlen) and the like where
 * the compiler knows the destination's object size dlen, and at level 2
 * every sprintf and snprintf becomes __sprintf_chk or __snprintf_chk,
 * whatever it knows: such calls never reach the plain names above. Each is
 * checked as its plain function is, against the heap block, then given to
 * glibc's own variant, which still checks n against dlen (and ends the
 * program on "buffer overflow detected", as it would have): the block,
 * its stacks and the caller's line come first. */
typedef void *(*copy_chk_fn)(void *, const void *, size_t, size_t);
static void *checked___memcpy_chk(void *d, const void *s, size_t n, size_t dlen) {
  copy_checked(LC_MEMCPY_CHK, d, s, n);
  return REAL(LC_MEMCPY_CHK, copy_chk_fn)(d, s, n, dlen);
}
static void *checked___memmove_chk(void *d, const void *s, size_t n, size_t dlen) {
  W(LC_MEMMOVE_CHK, d, n);
  R(LC_MEMMOVE_CHK, s, n);
  return REAL(LC_MEMMOVE_CHK, copy_chk_fn)(d, s, n, dlen);
}
static void *checked___mempcpy_chk(void *d, const void *s, size_t n, size_t dlen) {
  copy_checked(LC_MEMPCPY_CHK, d, s, n);
  return REAL(LC_MEMPCPY_CHK, copy_chk_fn)(d, s, n, dlen);
}
static void *checked___memset_chk(void *d, int c, size_t n, size_t dlen) {
  W(LC_MEMSET_CHK, d, n);
  return REAL(LC_MEMSET_CHK, void *(*)(void *, int, size_t, size_t))(d, c, n, dlen);
}
typedef char *(*str_chk_fn)(char *, const char *, size_t);
static char *checked___strcpy_chk(char *d, const char *s, size_t dlen) {
  str_copy_checked(LC_STRCPY_CHK, d, s);
  return REAL(LC_STRCPY_CHK, str_chk_fn)(d, s, dlen);
}
static char *checked___stpcpy_chk(char *d, const char *s, size_t dlen) {
  str_copy_checked(LC_STPCPY_CHK, d, s);
  return REAL(LC_STPCPY_CHK, str_chk_fn)(d, s, dlen);
}
typedef char *(*strn_chk_fn)(char *, const char *, size_t, size_t);
static char *checked___strncpy_chk(char *d, const char *s, size_t n, size_t dlen) {
  strn_copy_checked(LC_STRNCPY_CHK, d, s, n);
  return REAL(LC_STRNCPY_CHK, strn_chk_fn)(d, s, n, dlen);
}
static char *checked___strcat_chk(char *d, const char *s, size_t dlen) {
  size_t sn;
  cat_checked(LC_STRCAT_CHK, d, s, &sn);
  return REAL(LC_STRCAT_CHK, str_chk_fn)(d, s, dlen);
}
static char *checked___strncat_chk(char *d, const char *s, size_t n, size_t dlen) {
  ncat_checked(LC_STRNCAT_CHK, d, s, n);
  return REAL(LC_STRNCAT_CHK, strn_chk_fn)(d, s, n, dlen);
}
typedef int (*vsprintf_chk_fn)(char *, int, size_t, const char *, va_list);
static int checked___vsprintf_chk(char *d, int flag, size_t dlen, const char *fmt, va_list ap) {
  check_vsprintf(LC_VSPRINTF_CHK, d, fmt, ap);
  return REAL(LC_VSPRINTF_CHK, vsprintf_chk_fn)(d, flag, dlen, fmt, ap);
}
static int checked___sprintf_chk(char *d, int flag, size_t dlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  check_vsprintf(LC_SPRINTF_CHK, d, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  int r = REAL(LC_VSPRINTF_CHK, vsprintf_chk_fn)(d, flag, dlen, fmt, ap);
  va_end(ap);
  return r;
}
typedef int (*vsnprintf_chk_fn)(char *, size_t, int, size_t, const char *, va_list);
static int checked___vsnprintf_chk(char *d, size_t n, int flag, size_t dlen, const char *fmt,
                                   va_list ap) {
  W(LC_VSNPRINTF_CHK, d, n);
  check_printed(LC_VSNPRINTF_CHK, fmt, ap);
  return REAL(LC_VSNPRINTF_CHK, vsnprintf_chk_fn)(d, n, flag, dlen, fmt, ap);
}
static int checked___snprintf_chk(char *d, size_t n, int flag, size_t dlen, const char *fmt,
                                  ...) {
  W(LC_SNPRINTF_CHK, d, n);
  va_list ap;
  va_start(ap, fmt);
  check_printed(LC_SNPRINTF_CHK, fmt, ap);
  int r = REAL(LC_VSNPRINTF_CHK, vsnprintf_chk_fn)(d, n, flag, dlen, fmt, ap);
  va_end(ap);
  return r;
}
static ssize_t checked___read_chk(int fd, void *buf, size_t n, size_t blen) {
  W(LC_READ_CHK, buf, n);
  return REAL(LC_READ_CHK, ssize_t (*)(int, void *, size_t, size_t))(fd, buf, n, blen);
}
typedef ssize_t (*pread_chk_fn)(int, void *, size_t, off_t, size_t);
static ssize_t checked___pread_chk(int fd, void *buf, size_t n, off_t off, size_t blen) {
  W(LC_PREAD_CHK, buf, n);
  return REAL(LC_PREAD_CHK, pread_chk_fn)(fd, buf, n, off, blen);
}
static ssize_t checked___pread64_chk(int fd, void *buf, size_t n, off_t off, size_t blen) {
  W(LC_PREAD64_CHK, buf, n);
  return REAL(LC_PREAD64_CHK, pread_chk_fn)(fd, buf, n, off, blen);
}
static ssize_t checked___recv_chk(int fd, void *buf, size_t n, size_t blen, int flags) {
  W(LC_RECV_CHK, buf, n);
  return REAL(LC_RECV_CHK, ssize_t (*)(int, void *, size_t, size_t, int))(fd, buf, n, blen,
                                                                          flags);
}
static ssize_t checked___recvfrom_chk(int fd, void *buf, size_t n, size_t blen, int flags,
                                      struct sockaddr *addr, socklen_t *alen) {
  recvfrom_checked(LC_RECVFROM_CHK, buf, n, addr, alen);
  return REAL(LC_RECVFROM_CHK, ssize_t (*)(int, void *, size_t, size_t, int, struct sockaddr *,
                                           socklen_t *))(fd, buf, n, blen, flags, addr, alen);
}
static size_t checked___fread_chk(void *buf, size_t blen, size_t size, size_t count, FILE *f) {
  fread_checked(LC_FREAD_CHK, buf, size, count);
  return REAL(LC_FREAD_CHK, size_t (*)(void *, size_t, size_t, size_t, FILE *))(buf, blen, size,
                                                                               count, f);
}
static char *checked___fgets_chk(char *s, size_t blen, int n, FILE *f) {
  if (n > 0)
    W(LC_FGETS_CHK, s, (size_t)n);
  return REAL(LC_FGETS_CHK, char *(*)(char *, size_t, int, FILE *))(s, blen, n, f);
}
static int checked___poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t flen) {
  poll_checked(LC_POLL_CHK, fds, n);
  return REAL(LC_POLL_CHK, int (*)(struct pollfd *, nfds_t, int, size_t))(fds, n, timeout, flen);
}
static int checked___ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t,
                               const sigset_t *mask, size_t flen) {
  poll_checked(LC_PPOLL_CHK, fds, n);
  return REAL(LC_PPOLL_CHK, int (*)(struct pollfd *, nfds_t, const struct timespec *,
                                    const sigset_t *, size_t))(fds, n, t, mask, flen);
}

/* The fillers and senders by a size the caller gives: held to all of it,
 * as read and write are (the scatter-gather ones: each buffer of the
 * vector, and the vector itself, read). */
static ssize_t checked_readlink(const char *path, char *buf, size_t n) {
  W(LC_READLINK, buf, n);
  return REAL(LC_READLINK, ssize_t (*)(const char *, char *, size_t))(path, buf, n);
}
static ssize_t checked_readlinkat(int dirfd, const char *path, char *buf, size_t n) {
  W(LC_READLINKAT, buf, n);
  return REAL(LC_READLINKAT, ssize_t (*)(int, const char *, char *, size_t))(dirfd, path, buf, n);
}
static char *checked_getcwd(char *buf, size_t n) {
  if (buf != NULL) /* (NULL: glibc allocates it) */
    W(LC_GETCWD, buf, n);
  return REAL(LC_GETCWD, char *(*)(char *, size_t))(buf, n);
}
static ssize_t checked_getrandom(void *buf, size_t n, unsigned flags) {
  W(LC_GETRANDOM, buf, n);
  return REAL(LC_GETRANDOM, ssize_t (*)(void *, size_t, unsigned))(buf, n, flags);
}
static int checked_gethostname(char *name, size_t n) {
  W(LC_GETHOSTNAME, name, n);
  return REAL(LC_GETHOSTNAME, int (*)(char *, size_t))(name, n);
}
/* Each buffer of an I/O vector: written (access WRITE) or read. */
static void check_iov(enum lc_fn fn, const struct iovec *iov, int cnt, int access) {
  size_t len;
  if (cnt <= 0 || iov == NULL || __builtin_mul_overflow((size_t)cnt, sizeof(*iov), &len))
    return;
  R(fn, iov, len);
  for (int i = 0; i < cnt; i++)
    check(fn, iov[i].iov_base, iov[i].iov_len, access, false);
}
static ssize_t checked_readv(int fd, const struct iovec *iov, int cnt) {
  check_iov(LC_READV, iov, cnt, MT_ACCESS_WRITE);
  return REAL(LC_READV, ssize_t (*)(int, const struct iovec *, int))(fd, iov, cnt);
}
static ssize_t checked_preadv(int fd, const struct iovec *iov, int cnt, off_t off) {
  check_iov(LC_PREADV, iov, cnt, MT_ACCESS_WRITE);
  return REAL(LC_PREADV, ssize_t (*)(int, const struct iovec *, int, off_t))(fd, iov, cnt, off);
}
static ssize_t checked_writev(int fd, const struct iovec *iov, int cnt) {
  check_iov(LC_WRITEV, iov, cnt, MT_ACCESS_READ);
  return REAL(LC_WRITEV, ssize_t (*)(int, const struct iovec *, int))(fd, iov, cnt);
}
static ssize_t checked_pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  check_iov(LC_PWRITEV, iov, cnt, MT_ACCESS_READ);
  return REAL(LC_PWRITEV, ssize_t (*)(int, const struct iovec *, int, off_t))(fd, iov, cnt, off);
}
/* A message header: its address and control buffers, and its vector
 * (written by recvmsg, read by sendmsg). */
static void check_msg(enum lc_fn fn, const struct msghdr *m, int access) {
  if (m == NULL)
    return;
  R(fn, m, sizeof(*m));
  if (m->msg_name)
    check(fn, m->msg_name, m->msg_namelen, access, false);
  if (m->msg_control)
    check(fn, m->msg_control, m->msg_controllen, access, false);
  check_iov(fn, m->msg_iov, m->msg_iovlen > INT32_MAX ? 0 : (int)m->msg_iovlen, access);
}
static ssize_t checked_recvmsg(int fd, struct msghdr *m, int flags) {
  check_msg(LC_RECVMSG, m, MT_ACCESS_WRITE);
  return REAL(LC_RECVMSG, ssize_t (*)(int, struct msghdr *, int))(fd, m, flags);
}
static ssize_t checked_sendmsg(int fd, const struct msghdr *m, int flags) {
  check_msg(LC_SENDMSG, m, MT_ACCESS_READ);
  return REAL(LC_SENDMSG, ssize_t (*)(int, const struct msghdr *, int))(fd, m, flags);
}
static ssize_t checked_sendto(int fd, const void *buf, size_t n, int flags,
                              const struct sockaddr *addr, socklen_t alen) {
  R(LC_SENDTO, buf, n);
  if (addr)
    R(LC_SENDTO, addr, alen);
  return REAL(LC_SENDTO, ssize_t (*)(int, const void *, size_t, int, const struct sockaddr *,
                                     socklen_t))(fd, buf, n, flags, addr, alen);
}
static ssize_t checked_pwrite64(int fd, const void *buf, size_t n, off_t off) {
  R(LC_PWRITE64, buf, n);
  return REAL(LC_PWRITE64, ssize_t (*)(int, const void *, size_t, off_t))(fd, buf, n, off);
}
static void checked_bzero(void *d, size_t n) {
  W(LC_BZERO, d, n);
  REAL(LC_BZERO, void (*)(void *, size_t))(d, n);
}
static void checked_explicit_bzero(void *d, size_t n) {
  W(LC_EXPLICIT_BZERO, d, n);
  REAL(LC_EXPLICIT_BZERO, void (*)(void *, size_t))(d, n);
}
/* stpncpy writes n bytes, as strncpy */
static char *checked_stpncpy(char *d, const char *s, size_t n) {
  strn_copy_checked(LC_STPNCPY, d, s, n);
  return REAL(LC_STPNCPY, strn_fn)(d, s, n);
}
static ssize_t checked___readlink_chk(const char *path, char *buf, size_t n, size_t blen) {
  W(LC_READLINK_CHK, buf, n);
  return REAL(LC_READLINK_CHK, ssize_t (*)(const char *, char *, size_t, size_t))(path, buf, n,
                                                                                 blen);
}
static ssize_t checked___readlinkat_chk(int dirfd, const char *path, char *buf, size_t n,
                                        size_t blen) {
  W(LC_READLINKAT_CHK, buf, n);
  return REAL(LC_READLINKAT_CHK, ssize_t (*)(int, const char *, char *, size_t, size_t))(
      dirfd, path, buf, n, blen);
}
static char *checked___getcwd_chk(char *buf, size_t n, size_t blen) {
  if (buf != NULL)
    W(LC_GETCWD_CHK, buf, n);
  return REAL(LC_GETCWD_CHK, char *(*)(char *, size_t, size_t))(buf, n, blen);
}
static int checked___gethostname_chk(char *name, size_t n, size_t blen) {
  W(LC_GETHOSTNAME_CHK, name, n);
  return REAL(LC_GETHOSTNAME_CHK, int (*)(char *, size_t, size_t))(name, n, blen);
}
static void checked___explicit_bzero_chk(void *d, size_t n, size_t dlen) {
  W(LC_EXPLICIT_BZERO_CHK, d, n);
  REAL(LC_EXPLICIT_BZERO_CHK, void (*)(void *, size_t, size_t))(d, n, dlen);
}
static char *checked___stpncpy_chk(char *d, const char *s, size_t n, size_t dlen) {
  strn_copy_checked(LC_STPNCPY_CHK, d, s, n);
  return REAL(LC_STPNCPY_CHK, strn_chk_fn)(d, s, n, dlen);
}

/* The scanf family: each conversion's destination, once libc has filled
 * it (only then are a string's length and the conversions made known),
 * for the conversions it assigned: its return value counts them, in the
 * format's order. The format is read as glibc reads it: flags *
 * (no destination), a width, m (GNU's a before s, S or [ in the non-C99
 * names) for a pointer to a buffer libc allocates, the size modifiers
 * (hh h l ll q L j z t), then the conversion: integers and %n by their
 * modifier, floats (4, 8 or 16 bytes), %p, %c (its width, 1 by default),
 * %s and %[ (the string stored, its NUL included; wide with l). A format
 * with positional arguments (%1$d) is not followed. The destinations are
 * all pointers, so each is taken with va_arg(void *). */
static void check_scanned(enum lc_fn fn, const char *fmt, va_list ap, int assigned, bool gnu) {
  if (assigned <= 0 || fmt == NULL || strchr(fmt, '$') != NULL)
    return;
  for (const char *f = fmt; *f && assigned > 0; f++) {
    if (*f != '%')
      continue;
    f++;
    if (*f == '%')
      continue;
    bool skip = false, alloc = false;
    if (*f == '*')
      skip = true, f++;
    size_t width = 0;
    while (*f >= '0' && *f <= '9')
      width = width * 10 + (size_t)(*f++ - '0');
    if (*f == 'm' || (gnu && *f == 'a' && (f[1] == 's' || f[1] == 'S' || f[1] == '[')))
      alloc = true, f++;
    int mod = 0;
    if (*f == 'h' && f[1] == 'h')
      mod = 'H', f += 2;
    else if (*f == 'l' && f[1] == 'l')
      mod = 'q', f += 2;
    else if (*f && strchr("hlqLjzt", *f) != NULL)
      mod = *f++;
    char conv = *f;
    if (conv == '\0')
      return;
    if (conv == '[') { /* the set: a ] first is in it */
      f++;
      if (*f == '^')
        f++;
      if (*f == ']')
        f++;
      while (*f && *f != ']')
        f++;
      if (*f == '\0')
        return;
    }
    if (skip)
      continue;
    void *p = va_arg(ap, void *);
    if (conv == 'n')
      continue; /* stores the count; not an assignment */
    assigned--;
    if (p == NULL)
      continue;
    size_t n;
    bool wide = mod == 'l' || conv == 'S' || conv == 'C';
    if (alloc)
      n = sizeof(void *);
    else if (strchr("diouxX", conv))
      n = int_bytes(mod);
    else if (strchr("aAeEfFgG", conv))
      n = mod == 'L' ? 16 : mod == 'l' ? 8 : 4;
    else if (conv == 'p')
      n = sizeof(void *);
    else if (conv == 'c' || conv == 'C')
      n = (width ? width : 1) * (wide ? sizeof(wchar_t) : 1);
    else if (conv == 's' || conv == 'S' || conv == '[')
      n = wide ? (wcslen(p) + 1) * sizeof(wchar_t) : strlen(p) + 1;
    else
      return; /* a conversion not known here: stop following */
    check(fn, p, n, MT_ACCESS_WRITE, true);
  }
}

typedef int (*vsscanf_fn)(const char *, const char *, va_list);
typedef int (*vfscanf_fn)(FILE *, const char *, va_list);
/* The v-names check from a copy of ap taken before libc consumed it. */
#define SCAN_V(fn, gnu, call)         \
  do {                                \
    va_list aq;                       \
    va_copy(aq, ap);                  \
    int r = (call);                   \
    check_scanned(fn, fmt, aq, r, gnu); \
    va_end(aq);                       \
    return r;                         \
  } while (0)
#define SCAN_LIST(fn, gnu, call)      \
  do {                                \
    va_list ap, aq;                   \
    va_start(ap, fmt);                \
    va_copy(aq, ap);                  \
    int r = (call);                   \
    va_end(ap);                       \
    check_scanned(fn, fmt, aq, r, gnu); \
    va_end(aq);                       \
    return r;                         \
  } while (0)

static int checked_vsscanf(const char *s, const char *fmt, va_list ap) {
  SCAN_V(LC_VSSCANF, true, REAL(LC_VSSCANF, vsscanf_fn)(s, fmt, ap));
}
static int checked_sscanf(const char *s, const char *fmt, ...) {
  SCAN_LIST(LC_SSCANF, true, REAL(LC_VSSCANF, vsscanf_fn)(s, fmt, ap));
}
static int checked_vfscanf(FILE *in, const char *fmt, va_list ap) {
  SCAN_V(LC_VFSCANF, true, REAL(LC_VFSCANF, vfscanf_fn)(in, fmt, ap));
}
static int checked_fscanf(FILE *in, const char *fmt, ...) {
  SCAN_LIST(LC_FSCANF, true, REAL(LC_VFSCANF, vfscanf_fn)(in, fmt, ap));
}
static int checked_vscanf(const char *fmt, va_list ap) {
  SCAN_V(LC_VSCANF, true, REAL(LC_VFSCANF, vfscanf_fn)(stdin, fmt, ap));
}
static int checked_scanf(const char *fmt, ...) {
  SCAN_LIST(LC_SCANF, true, REAL(LC_VFSCANF, vfscanf_fn)(stdin, fmt, ap));
}
static int checked___isoc99_vsscanf(const char *s, const char *fmt, va_list ap) {
  SCAN_V(LC_ISOC99_VSSCANF, false, REAL(LC_ISOC99_VSSCANF, vsscanf_fn)(s, fmt, ap));
}
static int checked___isoc99_sscanf(const char *s, const char *fmt, ...) {
  SCAN_LIST(LC_ISOC99_SSCANF, false, REAL(LC_ISOC99_VSSCANF, vsscanf_fn)(s, fmt, ap));
}
static int checked___isoc99_vfscanf(FILE *in, const char *fmt, va_list ap) {
  SCAN_V(LC_ISOC99_VFSCANF, false, REAL(LC_ISOC99_VFSCANF, vfscanf_fn)(in, fmt, ap));
}
static int checked___isoc99_fscanf(FILE *in, const char *fmt, ...) {
  SCAN_LIST(LC_ISOC99_FSCANF, false, REAL(LC_ISOC99_VFSCANF, vfscanf_fn)(in, fmt, ap));
}
static int checked___isoc99_vscanf(const char *fmt, va_list ap) {
  SCAN_V(LC_ISOC99_VSCANF, false, REAL(LC_ISOC99_VFSCANF, vfscanf_fn)(stdin, fmt, ap));
}
static int checked___isoc99_scanf(const char *fmt, ...) {
  SCAN_LIST(LC_ISOC99_SCANF, false, REAL(LC_ISOC99_VFSCANF, vfscanf_fn)(stdin, fmt, ap));
}

/* The wide characters: the wmem* and wcs* copies, fills and measures, the
 * sized formatter swprintf and the conversions to and from multibyte
 * strings, as their byte forms are checked, counts of wchar_t turned into
 * bytes (saturated: a count past the address space is past any block). The
 * fortified forms are given the destination's size in wide characters
 * (glibc still checks it). */
static inline size_t wbytes(size_t n) {
  return n > SIZE_MAX / sizeof(wchar_t) ? SIZE_MAX : n * sizeof(wchar_t);
}
SHARED void wcopy_checked(enum lc_fn fn, wchar_t *d, const wchar_t *s, size_t n) {
  copy_checked(fn, d, s, wbytes(n));
}
SHARED void wmove_checked(enum lc_fn fn, wchar_t *d, const wchar_t *s, size_t n) {
  W(fn, d, wbytes(n));
  R(fn, s, wbytes(n));
}
SHARED void wstr_copy_checked(enum lc_fn fn, wchar_t *d, const wchar_t *s) {
  copy_checked(fn, d, s, wbytes(wcslen(s) + 1));
}
/* wcsncpy and wcpncpy: n wide characters written whatever the source's length */
SHARED void wstrn_copy_checked(enum lc_fn fn, wchar_t *d, const wchar_t *s, size_t n) {
  size_t k = wcsnlen(s, n), sn = wbytes(k < n ? k + 1 : k);
  R(fn, s, sn);
  W(fn, d, wbytes(n));
  overlap(fn, d, wbytes(n), s, sn);
}
/* as cat_checked and ncat_checked: the destination from its start */
SHARED void wcat_checked(enum lc_fn fn, wchar_t *d, const wchar_t *s, size_t n) {
  size_t dn = wcslen(d), k = wcsnlen(s, n), sn = wbytes(k < n ? k + 1 : k);
  R(fn, s, sn);
  W(fn, d, wbytes(dn + k + 1));
  overlap(fn, d, wbytes(dn + k + 1), s, sn);
}
SHARED void wcat_all_checked(enum lc_fn fn, wchar_t *d, const wchar_t *s) {
  wcat_checked(fn, d, s, SIZE_MAX);
}
/* The copies, each its check and then libc's: (d, s, n) and (d, s), and
 * the fortified forms with the destination's size after them. */
typedef wchar_t *(*wcopy_fn)(wchar_t *, const wchar_t *, size_t);
typedef wchar_t *(*wstr_fn)(wchar_t *, const wchar_t *);
typedef wchar_t *(*wcopy_chk_fn)(wchar_t *, const wchar_t *, size_t, size_t);
typedef wchar_t *(*wstr_chk_fn)(wchar_t *, const wchar_t *, size_t);
#define WCOPY_N(FN, ID, CHECK)                                                 \
  static wchar_t *checked_##FN(wchar_t *d, const wchar_t *s, size_t n) {      \
    CHECK(ID, d, s, n);                                                        \
    return REAL(ID, wcopy_fn)(d, s, n);                                        \
  }
#define WCOPY(FN, ID, CHECK)                                                   \
  static wchar_t *checked_##FN(wchar_t *d, const wchar_t *s) {                \
    CHECK(ID, d, s);                                                           \
    return REAL(ID, wstr_fn)(d, s);                                            \
  }
#define WCOPY_N_CHK(FN, ID, CHECK)                                             \
  static wchar_t *checked___##FN##_chk(wchar_t *d, const wchar_t *s, size_t n, \
                                       size_t dlen) {                          \
    CHECK(ID, d, s, n);                                                        \
    return REAL(ID, wcopy_chk_fn)(d, s, n, dlen);                              \
  }
#define WCOPY_CHK(FN, ID, CHECK)                                               \
  static wchar_t *checked___##FN##_chk(wchar_t *d, const wchar_t *s, size_t dlen) { \
    CHECK(ID, d, s);                                                           \
    return REAL(ID, wstr_chk_fn)(d, s, dlen);                                  \
  }
WCOPY_N(wmemcpy, LC_WMEMCPY, wcopy_checked)
WCOPY_N(wmemmove, LC_WMEMMOVE, wmove_checked)
WCOPY_N(wmempcpy, LC_WMEMPCPY, wcopy_checked)
WCOPY_N(wcsncpy, LC_WCSNCPY, wstrn_copy_checked)
WCOPY_N(wcpncpy, LC_WCPNCPY, wstrn_copy_checked)
WCOPY_N(wcsncat, LC_WCSNCAT, wcat_checked)
WCOPY(wcscpy, LC_WCSCPY, wstr_copy_checked)
WCOPY(wcpcpy, LC_WCPCPY, wstr_copy_checked)
WCOPY(wcscat, LC_WCSCAT, wcat_all_checked)
WCOPY_N_CHK(wmemcpy, LC_WMEMCPY_CHK, wcopy_checked)
WCOPY_N_CHK(wmemmove, LC_WMEMMOVE_CHK, wmove_checked)
WCOPY_N_CHK(wmempcpy, LC_WMEMPCPY_CHK, wcopy_checked)
WCOPY_N_CHK(wcsncpy, LC_WCSNCPY_CHK, wstrn_copy_checked)
WCOPY_N_CHK(wcpncpy, LC_WCPNCPY_CHK, wstrn_copy_checked)
WCOPY_N_CHK(wcsncat, LC_WCSNCAT_CHK, wcat_checked)
WCOPY_CHK(wcscpy, LC_WCSCPY_CHK, wstr_copy_checked)
WCOPY_CHK(wcpcpy, LC_WCPCPY_CHK, wstr_copy_checked)
WCOPY_CHK(wcscat, LC_WCSCAT_CHK, wcat_all_checked)
#undef WCOPY_N
#undef WCOPY
#undef WCOPY_N_CHK
#undef WCOPY_CHK
static wchar_t *checked_wmemset(wchar_t *d, wchar_t c, size_t n) {
  W(LC_WMEMSET, d, wbytes(n));
  return REAL(LC_WMEMSET, wchar_t *(*)(wchar_t *, wchar_t, size_t))(d, c, n);
}
static wchar_t *checked___wmemset_chk(wchar_t *d, wchar_t c, size_t n, size_t dlen) {
  W(LC_WMEMSET_CHK, d, wbytes(n));
  return REAL(LC_WMEMSET_CHK, wchar_t *(*)(wchar_t *, wchar_t, size_t, size_t))(d, c, n, dlen);
}
/* the measures: checked once libc has read, as strlen */
static size_t checked_wcslen(const wchar_t *s) {
  size_t n = REAL(LC_WCSLEN, size_t (*)(const wchar_t *))(s);
  RA(LC_WCSLEN, s, wbytes(n + 1));
  return n;
}
static size_t checked_wcsnlen(const wchar_t *s, size_t max) {
  size_t n = REAL(LC_WCSNLEN, size_t (*)(const wchar_t *, size_t))(s, max);
  RA(LC_WCSNLEN, s, wbytes(n < max ? n + 1 : n));
  return n;
}
static wchar_t *checked_wcsdup(const wchar_t *s) {
  if (in_heap(s))
    R(LC_WCSDUP, s, wbytes(wcslen(s) + 1));
  return REAL(LC_WCSDUP, wchar_t *(*)(const wchar_t *))(s);
}
/* the fillers: n wide characters at most (mbstowcs), n bytes (wcstombs);
 * a NULL destination only measures */
typedef int (*vswprintf_fn)(wchar_t *, size_t, const wchar_t *, va_list);
static int checked_vswprintf(wchar_t *d, size_t n, const wchar_t *fmt, va_list ap) {
  W(LC_VSWPRINTF, d, wbytes(n));
  return REAL(LC_VSWPRINTF, vswprintf_fn)(d, n, fmt, ap);
}
static int checked_swprintf(wchar_t *d, size_t n, const wchar_t *fmt, ...) {
  W(LC_SWPRINTF, d, wbytes(n));
  va_list ap;
  va_start(ap, fmt);
  int r = REAL(LC_VSWPRINTF, vswprintf_fn)(d, n, fmt, ap);
  va_end(ap);
  return r;
}
static size_t checked_mbstowcs(wchar_t *d, const char *s, size_t n) {
  if (d)
    W(LC_MBSTOWCS, d, wbytes(n));
  return REAL(LC_MBSTOWCS, size_t (*)(wchar_t *, const char *, size_t))(d, s, n);
}
static size_t checked_wcstombs(char *d, const wchar_t *s, size_t n) {
  if (d)
    W(LC_WCSTOMBS, d, n);
  return REAL(LC_WCSTOMBS, size_t (*)(char *, const wchar_t *, size_t))(d, s, n);
}
typedef int (*vswprintf_chk_fn)(wchar_t *, size_t, int, size_t, const wchar_t *, va_list);
static int checked___vswprintf_chk(wchar_t *d, size_t n, int flag, size_t dlen,
                                   const wchar_t *fmt, va_list ap) {
  W(LC_VSWPRINTF_CHK, d, wbytes(n));
  return REAL(LC_VSWPRINTF_CHK, vswprintf_chk_fn)(d, n, flag, dlen, fmt, ap);
}
static int checked___swprintf_chk(wchar_t *d, size_t n, int flag, size_t dlen,
                                  const wchar_t *fmt, ...) {
  W(LC_SWPRINTF_CHK, d, wbytes(n));
  va_list ap;
  va_start(ap, fmt);
  int r = REAL(LC_VSWPRINTF_CHK, vswprintf_chk_fn)(d, n, flag, dlen, fmt, ap);
  va_end(ap);
  return r;
}
static size_t checked___mbstowcs_chk(wchar_t *d, const char *s, size_t n, size_t dlen) {
  if (d)
    W(LC_MBSTOWCS_CHK, d, wbytes(n));
  return REAL(LC_MBSTOWCS_CHK, size_t (*)(wchar_t *, const char *, size_t, size_t))(d, s, n,
                                                                                     dlen);
}
static size_t checked___wcstombs_chk(char *d, const wchar_t *s, size_t n, size_t dlen) {
  if (d)
    W(LC_WCSTOMBS_CHK, d, n);
  return REAL(LC_WCSTOMBS_CHK, size_t (*)(char *, const wchar_t *, size_t, size_t))(d, s, n,
                                                                                     dlen);
}

static const uintptr_t checked[LC_COUNT] = {
    [LC_MEMCPY] = (uintptr_t)checked_memcpy,     [LC_MEMMOVE] = (uintptr_t)checked_memmove,
    [LC_MEMSET] = (uintptr_t)checked_memset,     [LC_STRCPY] = (uintptr_t)checked_strcpy,
    [LC_STPCPY] = (uintptr_t)checked_stpcpy,     [LC_STRNCPY] = (uintptr_t)checked_strncpy,
    [LC_STRCAT] = (uintptr_t)checked_strcat,     [LC_STRNCAT] = (uintptr_t)checked_strncat,
    [LC_READ] = (uintptr_t)checked_read,         [LC_PREAD] = (uintptr_t)checked_pread,
    [LC_PREAD64] = (uintptr_t)checked_pread64,   [LC_RECV] = (uintptr_t)checked_recv,
    [LC_FREAD] = (uintptr_t)checked_fread,       [LC_FGETS] = (uintptr_t)checked_fgets,
    [LC_GETLINE] = (uintptr_t)checked_getline,   [LC_GETDELIM] = (uintptr_t)checked_getdelim,
    [LC___GETDELIM] = (uintptr_t)checked___getdelim,
    [LC_SNPRINTF] = (uintptr_t)checked_snprintf, [LC_VSNPRINTF] = (uintptr_t)checked_vsnprintf,
    [LC_STRFTIME] = (uintptr_t)checked_strftime, [LC_MEMPCPY] = (uintptr_t)checked_mempcpy,
    [LC_RECVFROM] = (uintptr_t)checked_recvfrom, [LC_SPRINTF] = (uintptr_t)checked_sprintf,
    [LC_VSPRINTF] = (uintptr_t)checked_vsprintf, [LC_STRLEN] = (uintptr_t)checked_strlen,
    [LC_STRNLEN] = (uintptr_t)checked_strnlen,   [LC_STRDUP] = (uintptr_t)checked_strdup,
    [LC_STRNDUP] = (uintptr_t)checked_strndup,   [LC_MEMCMP] = (uintptr_t)checked_memcmp,
    [LC_STRCMP] = (uintptr_t)checked_strcmp,     [LC_STRNCMP] = (uintptr_t)checked_strncmp,
    [LC_MEMCHR] = (uintptr_t)checked_memchr,     [LC_STRCHR] = (uintptr_t)checked_strchr,
    [LC_STRRCHR] = (uintptr_t)checked_strrchr,   [LC_WRITE] = (uintptr_t)checked_write,
    [LC_PWRITE] = (uintptr_t)checked_pwrite,     [LC_SEND] = (uintptr_t)checked_send,
    [LC_FWRITE] = (uintptr_t)checked_fwrite,     [LC_FPUTS] = (uintptr_t)checked_fputs,
    [LC_PUTS] = (uintptr_t)checked_puts,         [LC_MEMCCPY] = (uintptr_t)checked_memccpy,
    [LC_POLL] = (uintptr_t)checked_poll,         [LC_PPOLL] = (uintptr_t)checked_ppoll,
#define CHK(NAME, FN) [NAME] = (uintptr_t)checked___##FN##_chk
    CHK(LC_MEMCPY_CHK, memcpy),     CHK(LC_MEMMOVE_CHK, memmove),   CHK(LC_MEMPCPY_CHK, mempcpy),
    CHK(LC_MEMSET_CHK, memset),     CHK(LC_STRCPY_CHK, strcpy),     CHK(LC_STPCPY_CHK, stpcpy),
    CHK(LC_STRNCPY_CHK, strncpy),   CHK(LC_STRCAT_CHK, strcat),     CHK(LC_STRNCAT_CHK, strncat),
    CHK(LC_SPRINTF_CHK, sprintf),   CHK(LC_VSPRINTF_CHK, vsprintf), CHK(LC_SNPRINTF_CHK, snprintf),
    CHK(LC_VSNPRINTF_CHK, vsnprintf), CHK(LC_READ_CHK, read),       CHK(LC_PREAD_CHK, pread),
    CHK(LC_PREAD64_CHK, pread64),   CHK(LC_RECV_CHK, recv),         CHK(LC_RECVFROM_CHK, recvfrom),
    CHK(LC_FREAD_CHK, fread),       CHK(LC_FGETS_CHK, fgets),       CHK(LC_POLL_CHK, poll),
    CHK(LC_PPOLL_CHK, ppoll),       CHK(LC_READLINK_CHK, readlink), CHK(LC_GETCWD_CHK, getcwd),
    CHK(LC_READLINKAT_CHK, readlinkat), CHK(LC_GETHOSTNAME_CHK, gethostname),
    CHK(LC_EXPLICIT_BZERO_CHK, explicit_bzero), CHK(LC_STPNCPY_CHK, stpncpy),
    CHK(LC_WMEMCPY_CHK, wmemcpy),   CHK(LC_WMEMMOVE_CHK, wmemmove), CHK(LC_WMEMPCPY_CHK, wmempcpy),
    CHK(LC_WMEMSET_CHK, wmemset),   CHK(LC_WCSCPY_CHK, wcscpy),     CHK(LC_WCPCPY_CHK, wcpcpy),
    CHK(LC_WCSNCPY_CHK, wcsncpy),   CHK(LC_WCPNCPY_CHK, wcpncpy),   CHK(LC_WCSCAT_CHK, wcscat),
    CHK(LC_WCSNCAT_CHK, wcsncat),   CHK(LC_SWPRINTF_CHK, swprintf), CHK(LC_VSWPRINTF_CHK, vswprintf),
    CHK(LC_MBSTOWCS_CHK, mbstowcs), CHK(LC_WCSTOMBS_CHK, wcstombs),
    CHK(LC_PRINTF_CHK, printf),     CHK(LC_FPRINTF_CHK, fprintf),   CHK(LC_DPRINTF_CHK, dprintf),
    CHK(LC_VPRINTF_CHK, vprintf),   CHK(LC_VFPRINTF_CHK, vfprintf), CHK(LC_VDPRINTF_CHK, vdprintf),
    CHK(LC_ASPRINTF_CHK, asprintf), CHK(LC_VASPRINTF_CHK, vasprintf),
#undef CHK
#define PLAIN(NAME, FN) [NAME] = (uintptr_t)checked_##FN
    PLAIN(LC_READLINK, readlink),   PLAIN(LC_READLINKAT, readlinkat), PLAIN(LC_GETCWD, getcwd),
    PLAIN(LC_GETRANDOM, getrandom), PLAIN(LC_GETHOSTNAME, gethostname), PLAIN(LC_READV, readv),
    PLAIN(LC_PREADV, preadv),       PLAIN(LC_WRITEV, writev),       PLAIN(LC_PWRITEV, pwritev),
    PLAIN(LC_RECVMSG, recvmsg),     PLAIN(LC_SENDMSG, sendmsg),     PLAIN(LC_SENDTO, sendto),
    PLAIN(LC_PWRITE64, pwrite64),   PLAIN(LC_BZERO, bzero),
    PLAIN(LC_EXPLICIT_BZERO, explicit_bzero), PLAIN(LC_STPNCPY, stpncpy),
    PLAIN(LC_SSCANF, sscanf),       PLAIN(LC_VSSCANF, vsscanf),     PLAIN(LC_FSCANF, fscanf),
    PLAIN(LC_VFSCANF, vfscanf),     PLAIN(LC_SCANF, scanf),         PLAIN(LC_VSCANF, vscanf),
    PLAIN(LC_ISOC99_SSCANF, __isoc99_sscanf),   PLAIN(LC_ISOC99_VSSCANF, __isoc99_vsscanf),
    PLAIN(LC_ISOC99_FSCANF, __isoc99_fscanf),   PLAIN(LC_ISOC99_VFSCANF, __isoc99_vfscanf),
    PLAIN(LC_ISOC99_SCANF, __isoc99_scanf),     PLAIN(LC_ISOC99_VSCANF, __isoc99_vscanf),
    PLAIN(LC_WMEMCPY, wmemcpy),     PLAIN(LC_WMEMMOVE, wmemmove),   PLAIN(LC_WMEMPCPY, wmempcpy),
    PLAIN(LC_WMEMSET, wmemset),     PLAIN(LC_WCSCPY, wcscpy),       PLAIN(LC_WCPCPY, wcpcpy),
    PLAIN(LC_WCSNCPY, wcsncpy),     PLAIN(LC_WCPNCPY, wcpncpy),     PLAIN(LC_WCSCAT, wcscat),
    PLAIN(LC_WCSNCAT, wcsncat),     PLAIN(LC_WCSLEN, wcslen),       PLAIN(LC_WCSNLEN, wcsnlen),
    PLAIN(LC_WCSDUP, wcsdup),       PLAIN(LC_SWPRINTF, swprintf),   PLAIN(LC_VSWPRINTF, vswprintf),
    PLAIN(LC_MBSTOWCS, mbstowcs),   PLAIN(LC_WCSTOMBS, wcstombs),
    PLAIN(LC_PRINTF, printf),       PLAIN(LC_FPRINTF, fprintf),     PLAIN(LC_DPRINTF, dprintf),
    PLAIN(LC_VPRINTF, vprintf),     PLAIN(LC_VFPRINTF, vfprintf),   PLAIN(LC_VDPRINTF, vdprintf),
    PLAIN(LC_ASPRINTF, asprintf),   PLAIN(LC_VASPRINTF, vasprintf),
    PLAIN(LC_STRCASECMP, strcasecmp), PLAIN(LC_STRNCASECMP, strncasecmp),
    PLAIN(LC_STRSTR, strstr),       PLAIN(LC_STRCASESTR, strcasestr), PLAIN(LC_STRSPN, strspn),
    PLAIN(LC_STRCSPN, strcspn),     PLAIN(LC_STRPBRK, strpbrk),
#undef PLAIN
};

/* ---- public -------------------------------------------------------------------- */

void mt_lc_install(void) {
  if (!(mt_check_on || (mt_guard_on && !mt_guard_sampling_only)) || mt_lc_on)
    return;
  /* libmemtype defines none of the names: the next definition is libc's
   * (RTLD_NEXT also passes over a non-PIE program's PLT entry, which would
   * lead back here). snprintf goes through vsnprintf, sprintf through
   * vsprintf, strcpy, stpcpy, strcat and mempcpy through memcpy. */
  for (unsigned i = 0; i < LC_COUNT; i++)
    real[i] = (uintptr_t)dlsym(RTLD_NEXT, lc_names[i]);
  for (unsigned i = 0; i < LC_COUNT; i++)
    ours[i] = real[i] && real[LC_MEMCPY] && real[LC_VSNPRINTF] &&
                      (i != LC_SPRINTF || real[LC_VSPRINTF]) &&
                      (i != LC_SPRINTF_CHK || real[LC_VSPRINTF_CHK]) &&
                      (i != LC_SNPRINTF_CHK || real[LC_VSNPRINTF_CHK]) &&
                      (i != LC_SSCANF || real[LC_VSSCANF]) &&
                      (i != LC_FSCANF || real[LC_VFSCANF]) && (i != LC_SCANF || real[LC_VFSCANF]) &&
                      (i != LC_VSCANF || real[LC_VFSCANF]) &&
                      (i != LC_ISOC99_SSCANF || real[LC_ISOC99_VSSCANF]) &&
                      (i != LC_ISOC99_FSCANF || real[LC_ISOC99_VFSCANF]) &&
                      (i != LC_ISOC99_SCANF || real[LC_ISOC99_VFSCANF]) &&
                      (i != LC_ISOC99_VSCANF || real[LC_ISOC99_VFSCANF]) &&
                      (i != LC_SWPRINTF || real[LC_VSWPRINTF]) &&
                      (i != LC_SWPRINTF_CHK || real[LC_VSWPRINTF_CHK]) &&
                      (i != LC_PRINTF || real[LC_VPRINTF]) &&
                      (i != LC_FPRINTF || real[LC_VFPRINTF]) &&
                      (i != LC_DPRINTF || real[LC_VDPRINTF]) &&
                      (i != LC_ASPRINTF || real[LC_VASPRINTF]) &&
                      (i != LC_PRINTF_CHK || real[LC_VPRINTF_CHK]) &&
                      (i != LC_FPRINTF_CHK || real[LC_VFPRINTF_CHK]) &&
                      (i != LC_DPRINTF_CHK || real[LC_VDPRINTF_CHK]) &&
                      (i != LC_ASPRINTF_CHK || real[LC_VASPRINTF_CHK])
                  ? checked[i]
                  : 0;
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
