/* corpus - the C half of memtype's bug corpus: `corpus CASE bad` commits one
 * heap bug, `corpus CASE ok` is its correct look-alike (the same blocks,
 * allocated, resized and freed the same way; only the access stays in
 * bounds). cases.txt lists the cases and what each mode must catch;
 * corpus.py runs them. The rules that let the harness tell where a report
 * was made:
 *   - every access under test is made in a function whose name starts with
 *     at_ (AT: never inlined, cloned or renamed), on a line marked ACCESS;
 *     a report whose first frame in this program is an at_ function was made
 *     at the access, any other (release, resize, main, the exit) later;
 *   - blocks come from make(), are resized by resize(), freed by release();
 *   - sizes and indexes go through opaque(), so the compiler cannot see an
 *     access is out of bounds, warn about it or drop it.
 * Prints "done" when the case ran to its end. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <malloc.h> /* pvalloc */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* pvalloc */

/* noipa (gcc): neither inlined nor cloned nor analysed by its callers;
 * clang has no noipa, optnone keeps the body as written. */
#if defined(__clang__)
#define AT __attribute__((noinline, optnone))
#else
#define AT __attribute__((noinline, noipa))
#endif

AT size_t opaque(size_t n);
static volatile size_t opaque_slot;
AT size_t opaque(size_t n) {
  opaque_slot = n; /* a volatile round trip: no compiler sees the value through */
  return opaque_slot;
}

AT char *make(size_t n);
AT char *make(size_t n) {
  char *p = malloc(n);
  if (p)
    memset(p, 'a', n);
  return p;
}
AT char *resize(char *p, size_t n);
AT char *resize(char *p, size_t n) { return realloc(p, n); }
AT void release(void *p);
AT void release(void *p) { free(p); }

/* ---- the accesses -------------------------------------------------------- */

AT void at_poke(char *p, long i);
AT void at_poke(char *p, long i) { ((volatile char *)p)[i] = 'x'; /* ACCESS */ }
AT int at_peek(const char *p, long i);
AT int at_peek(const char *p, long i) { return ((const volatile char *)p)[i]; /* ACCESS */ }
/* 8 bytes at once (a straddle: its first bytes in the block, the rest past it) */
typedef unsigned long long u64_unaligned __attribute__((aligned(1), may_alias));
AT void at_poke8(char *p, long i);
AT void at_poke8(char *p, long i) {
  *(volatile u64_unaligned *)(p + i) = 0x7878787878787878ull; /* ACCESS */
}
AT unsigned long long at_peek8(const char *p, long i);
AT unsigned long long at_peek8(const char *p, long i) {
  return *(const volatile u64_unaligned *)(p + i); /* ACCESS */
}

AT void at_memcpy(char *d, const char *s, size_t n);
AT void at_memcpy(char *d, const char *s, size_t n) { memcpy(d, s, n); /* ACCESS */ }
AT void at_memmove(char *d, const char *s, size_t n);
AT void at_memmove(char *d, const char *s, size_t n) { memmove(d, s, n); /* ACCESS */ }
AT void at_memset(char *d, size_t n);
AT void at_memset(char *d, size_t n) { memset(d, 'y', n); /* ACCESS */ }
AT void at_strcpy(char *d, const char *s);
AT void at_strcpy(char *d, const char *s) { strcpy(d, s); /* ACCESS */ }
AT void at_strncpy(char *d, const char *s, size_t n);
AT void at_strncpy(char *d, const char *s, size_t n) { strncpy(d, s, n); /* ACCESS */ }
AT void at_strcat(char *d, const char *s);
AT void at_strcat(char *d, const char *s) { strcat(d, s); /* ACCESS */ }
AT void at_strncat(char *d, const char *s, size_t n);
AT void at_strncat(char *d, const char *s, size_t n) { strncat(d, s, n); /* ACCESS */ }
AT char *at_stpcpy(char *d, const char *s);
AT char *at_stpcpy(char *d, const char *s) { return stpcpy(d, s); /* ACCESS */ }
AT long at_read(int fd, char *d, size_t n);
AT long at_read(int fd, char *d, size_t n) { return read(fd, d, n); /* ACCESS */ }
AT long at_pread(int fd, char *d, size_t n);
AT long at_pread(int fd, char *d, size_t n) { return pread(fd, d, n, 0); /* ACCESS */ }
AT long at_pread64(int fd, char *d, size_t n);
AT long at_pread64(int fd, char *d, size_t n) { return pread64(fd, d, n, 0); /* ACCESS */ }
AT long at_recv(int fd, char *d, size_t n);
AT long at_recv(int fd, char *d, size_t n) { return recv(fd, d, n, MSG_WAITALL); /* ACCESS */ }
AT size_t at_fread(char *d, size_t n, FILE *f);
AT size_t at_fread(char *d, size_t n, FILE *f) { return fread(d, 1, n, f); /* ACCESS */ }
AT char *at_fgets(char *d, size_t n, FILE *f);
AT char *at_fgets(char *d, size_t n, FILE *f) { return fgets(d, (int)n, f); /* ACCESS */ }
AT long at_getline(char **d, size_t *n, FILE *f);
AT long at_getline(char **d, size_t *n, FILE *f) { return getline(d, n, f); /* ACCESS */ }
AT long at_getdelim(char **d, size_t *n, FILE *f);
AT long at_getdelim(char **d, size_t *n, FILE *f) { return getdelim(d, n, ';', f); /* ACCESS */ }
AT int at_vsnprintf(char *d, size_t n, const char *fmt, va_list ap);
AT int at_vsnprintf(char *d, size_t n, const char *fmt, va_list ap) {
  return vsnprintf(d, n, fmt, ap); /* ACCESS */
}
AT int at_snprintf(char *d, size_t n, const char *s);
AT int at_snprintf(char *d, size_t n, const char *s) { return snprintf(d, n, "%s", s); /* ACCESS */ }
AT size_t at_strftime(char *d, size_t n, const struct tm *tm);
AT size_t at_strftime(char *d, size_t n, const struct tm *tm) {
  return strftime(d, n, "%Y-%m-%d %H:%M:%S", tm); /* ACCESS */
}
AT void *at_mempcpy(char *d, const char *s, size_t n);
AT void *at_mempcpy(char *d, const char *s, size_t n) { return mempcpy(d, s, n); /* ACCESS */ }
AT int at_poll(struct pollfd *p, size_t n);
AT int at_poll(struct pollfd *p, size_t n) { return poll(p, n, 0); /* ACCESS */ }
AT void *at_memccpy(char *d, const char *s, int c, size_t n);
AT void *at_memccpy(char *d, const char *s, int c, size_t n) { return memccpy(d, s, c, n); /* ACCESS */ }
AT long at_recvfrom(int fd, char *d, size_t n);
AT long at_recvfrom(int fd, char *d, size_t n) {
  return recvfrom(fd, d, n, MSG_WAITALL, NULL, NULL); /* ACCESS */
}
AT int at_sprintf(char *d, const char *s);
AT int at_sprintf(char *d, const char *s) { return sprintf(d, "%s", s); /* ACCESS */ }
AT int at_vsprintf(char *d, const char *fmt, va_list ap);
AT int at_vsprintf(char *d, const char *fmt, va_list ap) { return vsprintf(d, fmt, ap); /* ACCESS */ }
AT size_t at_strlen(const char *s);
AT size_t at_strlen(const char *s) { return strlen(s); /* ACCESS */ }
AT size_t at_strnlen(const char *s, size_t n);
AT size_t at_strnlen(const char *s, size_t n) { return strnlen(s, n); /* ACCESS */ }
AT char *at_strdup(const char *s);
AT char *at_strdup(const char *s) { return strdup(s); /* ACCESS */ }
AT char *at_strndup(const char *s, size_t n);
AT char *at_strndup(const char *s, size_t n) { return strndup(s, n); /* ACCESS */ }
AT int at_memcmp(const char *a, const char *b, size_t n);
AT int at_memcmp(const char *a, const char *b, size_t n) { return memcmp(a, b, n); /* ACCESS */ }
AT int at_strcmp(const char *a, const char *b);
AT int at_strcmp(const char *a, const char *b) { return strcmp(a, b); /* ACCESS */ }
AT int at_strncmp(const char *a, const char *b, size_t n);
AT int at_strncmp(const char *a, const char *b, size_t n) { return strncmp(a, b, n); /* ACCESS */ }
AT const void *at_memchr(const char *s, int c, size_t n);
AT const void *at_memchr(const char *s, int c, size_t n) { return memchr(s, c, n); /* ACCESS */ }
AT const char *at_strchr(const char *s, int c);
AT const char *at_strchr(const char *s, int c) { return strchr(s, c); /* ACCESS */ }
AT const char *at_strrchr(const char *s, int c);
AT const char *at_strrchr(const char *s, int c) { return strrchr(s, c); /* ACCESS */ }
AT long at_write(int fd, const char *s, size_t n);
AT long at_write(int fd, const char *s, size_t n) { return write(fd, s, n); /* ACCESS */ }
AT long at_pwrite(int fd, const char *s, size_t n);
AT long at_pwrite(int fd, const char *s, size_t n) { return pwrite(fd, s, n, 0); /* ACCESS */ }
AT long at_send(int fd, const char *s, size_t n);
AT long at_send(int fd, const char *s, size_t n) { return send(fd, s, n, 0); /* ACCESS */ }
AT long at_readlink(char *d, size_t n);
AT long at_readlink(char *d, size_t n) { return readlink("/proc/self/exe", d, n); /* ACCESS */ }
AT long at_readlinkat(char *d, size_t n);
AT long at_readlinkat(char *d, size_t n) {
  return readlinkat(AT_FDCWD, "/proc/self/exe", d, n); /* ACCESS */
}
AT char *at_getcwd(char *d, size_t n);
AT char *at_getcwd(char *d, size_t n) { return getcwd(d, n); /* ACCESS */ }
AT long at_getrandom(char *d, size_t n);
AT long at_getrandom(char *d, size_t n) { return getrandom(d, n, 0); /* ACCESS */ }
AT int at_gethostname(char *d, size_t n);
AT int at_gethostname(char *d, size_t n) { return gethostname(d, n); /* ACCESS */ }
AT long at_readv(int fd, const struct iovec *v, int cnt);
AT long at_readv(int fd, const struct iovec *v, int cnt) { return readv(fd, v, cnt); /* ACCESS */ }
AT long at_preadv(int fd, const struct iovec *v, int cnt);
AT long at_preadv(int fd, const struct iovec *v, int cnt) {
  return preadv(fd, v, cnt, 0); /* ACCESS */
}
AT long at_writev(int fd, const struct iovec *v, int cnt);
AT long at_writev(int fd, const struct iovec *v, int cnt) { return writev(fd, v, cnt); /* ACCESS */ }
AT long at_pwritev(int fd, const struct iovec *v, int cnt);
AT long at_pwritev(int fd, const struct iovec *v, int cnt) {
  return pwritev(fd, v, cnt, 0); /* ACCESS */
}
AT long at_recvmsg(int fd, struct msghdr *m);
AT long at_recvmsg(int fd, struct msghdr *m) { return recvmsg(fd, m, MSG_WAITALL); /* ACCESS */ }
AT long at_sendmsg(int fd, const struct msghdr *m);
AT long at_sendmsg(int fd, const struct msghdr *m) { return sendmsg(fd, m, 0); /* ACCESS */ }
AT long at_sendto(int fd, const char *s, size_t n);
AT long at_sendto(int fd, const char *s, size_t n) {
  return sendto(fd, s, n, 0, NULL, 0); /* ACCESS */
}
AT long at_pwrite64(int fd, const char *s, size_t n);
AT long at_pwrite64(int fd, const char *s, size_t n) { return pwrite64(fd, s, n, 0); /* ACCESS */ }
AT void at_bzero(char *d, size_t n);
AT void at_bzero(char *d, size_t n) { bzero(d, n); /* ACCESS */ }
AT void at_explicit_bzero(char *d, size_t n);
AT void at_explicit_bzero(char *d, size_t n) { explicit_bzero(d, n); /* ACCESS */ }
AT int at_sscanf(const char *in, char *d);
AT int at_sscanf(const char *in, char *d) { return sscanf(in, "%s", d); /* ACCESS */ }
AT int at_fscanf(FILE *in, short *d);
AT int at_fscanf(FILE *in, short *d) { return fscanf(in, "%*s %d", (int *)d); /* ACCESS */ }
AT wchar_t *at_wcscpy(wchar_t *d, const wchar_t *s);
AT wchar_t *at_wcscpy(wchar_t *d, const wchar_t *s) { return wcscpy(d, s); /* ACCESS */ }
AT wchar_t *at_wcsncpy(wchar_t *d, const wchar_t *s, size_t n);
AT wchar_t *at_wcsncpy(wchar_t *d, const wchar_t *s, size_t n) { return wcsncpy(d, s, n); /* ACCESS */ }
AT wchar_t *at_wcscat(wchar_t *d, const wchar_t *s);
AT wchar_t *at_wcscat(wchar_t *d, const wchar_t *s) { return wcscat(d, s); /* ACCESS */ }
AT wchar_t *at_wmemcpy(wchar_t *d, const wchar_t *s, size_t n);
AT wchar_t *at_wmemcpy(wchar_t *d, const wchar_t *s, size_t n) { return wmemcpy(d, s, n); /* ACCESS */ }
AT wchar_t *at_wmemset(wchar_t *d, size_t n);
AT wchar_t *at_wmemset(wchar_t *d, size_t n) { return wmemset(d, L'w', n); /* ACCESS */ }
AT size_t at_wcslen(const wchar_t *s);
AT size_t at_wcslen(const wchar_t *s) { return wcslen(s); /* ACCESS */ }
AT int at_swprintf(wchar_t *d, size_t n, int v);
AT int at_swprintf(wchar_t *d, size_t n, int v) { return swprintf(d, n, L"%d", v); /* ACCESS */ }
AT size_t at_mbstowcs(wchar_t *d, const char *s, size_t n);
AT size_t at_mbstowcs(wchar_t *d, const char *s, size_t n) { return mbstowcs(d, s, n); /* ACCESS */ }
AT int at_strcasecmp(const char *a, const char *b);
AT int at_strcasecmp(const char *a, const char *b) { return strcasecmp(a, b); /* ACCESS */ }
AT char *at_strstr(const char *h, const char *n);
AT char *at_strstr(const char *h, const char *n) { return strstr(h, n); /* ACCESS */ }
AT size_t at_strspn(const char *s, const char *set);
AT size_t at_strspn(const char *s, const char *set) { return strspn(s, set); /* ACCESS */ }
AT char *at_strpbrk(const char *s, const char *set);
AT char *at_strpbrk(const char *s, const char *set) { return strpbrk(s, set); /* ACCESS */ }
AT int at_fprintf_s(FILE *out, const char *s);
AT int at_fprintf_s(FILE *out, const char *s) { return fprintf(out, "<%s>", s); /* ACCESS */ }
AT int at_fprintf_prec(FILE *out, int prec, const char *s);
AT int at_fprintf_prec(FILE *out, int prec, const char *s) {
  return fprintf(out, "%d %.*s", prec, prec, s); /* ACCESS */
}
AT int at_printf_s(const char *s);
AT int at_printf_s(const char *s) { return printf("%5.2f %s", 1.5, s); /* ACCESS */ }
AT char *at_stpncpy(char *d, const char *s, size_t n);
AT char *at_stpncpy(char *d, const char *s, size_t n) { return stpncpy(d, s, n); /* ACCESS */ }
AT size_t at_fwrite(const char *s, size_t n, FILE *f);
AT size_t at_fwrite(const char *s, size_t n, FILE *f) { return fwrite(s, 1, n, f); /* ACCESS */ }
AT int at_fputs(const char *s, FILE *f);
AT int at_fputs(const char *s, FILE *f) { return fputs(s, f); /* ACCESS */ }
AT int at_puts(const char *s);
AT int at_puts(const char *s) { return puts(s); /* ACCESS */ }
AT void at_free(void *p);
AT void at_free(void *p) { free(p); /* ACCESS */ }
AT char *at_realloc(char *p, size_t n);
AT char *at_realloc(char *p, size_t n) { return realloc(p, n); /* ACCESS */ }

/* ---- helpers ------------------------------------------------------------- */

/* A string of n 'b's in a block of its own (freed by the caller). */
static char *text(size_t n) {
  char *s = make(n + 1);
  memset(s, 'b', n);
  s[n] = 0;
  return s;
}

static int zero_fd(void) { return open("/dev/zero", O_RDONLY | O_CLOEXEC); }

/* Clears the stack below main's frame: no copy of a pointer the leak cases
 * dropped stays in a dead frame for the leak scan to find. */
AT void scrub(void);
AT void scrub(void) {
  volatile char junk[8192];
  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = 0;
}

/* ---- the cases: bad != 0 commits the bug, bad == 0 is the look-alike ----- */

#define N 40 /* the usual block: not a multiple of 16, so it has slack */

/* Overflow by `past` bytes: the byte at offset n + past - 1. */
static void overflow(int bad, size_t n, size_t past, int write) {
  char *p = make(opaque(n));
  long i = bad ? (long)(n + past - 1) : (long)n - 1;
  if (write)
    at_poke(p, (long)opaque((size_t)i));
  else
    at_peek(p, (long)opaque((size_t)i));
  release(p);
}
static void ovf_w1(int bad) { overflow(bad, N, 1, 1); }
static void ovf_w8(int bad) { overflow(bad, N, 8, 1); }
static void ovf_w64(int bad) { overflow(bad, N, 64, 1); }
static void ovf_w4100(int bad) { overflow(bad, N, 4100, 1); }
static void ovf_r1(int bad) { overflow(bad, N, 1, 0); }
static void ovf_r8(int bad) { overflow(bad, N, 8, 0); }
static void ovf_r64(int bad) { overflow(bad, N, 64, 0); }
static void ovf_r4100(int bad) { overflow(bad, N, 4100, 0); }
/* a block whose end is 16-byte aligned: no alignment bytes after it */
static void ovf_w1_a16(int bad) { overflow(bad, 48, 1, 1); }
static void ovf_r1_a16(int bad) { overflow(bad, 48, 1, 0); }
/* blocks whose size is not a multiple of 16: 24 bytes (8-aligned), 100
 * bytes (4-aligned); the 1st and the 8th byte past them, read and written */
static void ovf24_r1(int bad) { overflow(bad, 24, 1, 0); }
static void ovf24_r8(int bad) { overflow(bad, 24, 8, 0); }
static void ovf24_w1(int bad) { overflow(bad, 24, 1, 1); }
static void ovf24_w8(int bad) { overflow(bad, 24, 8, 1); }
static void ovf100_r1(int bad) { overflow(bad, 100, 1, 0); }
static void ovf100_r8(int bad) { overflow(bad, 100, 8, 0); }
static void ovf100_w1(int bad) { overflow(bad, 100, 1, 1); }
static void ovf100_w8(int bad) { overflow(bad, 100, 8, 1); }
/* a 10-byte block: 2-aligned when guarded (ASan's heap-overflow test's) */
static void ovf10_r1(int bad) { overflow(bad, 10, 1, 0); }
/* a 3-byte block (a 2-character string): 2-aligned when guarded (programs
 * tag the low bit of malloc's pointers), so its 1st byte past is the one byte
 * before the guard page, patterned: a write there is found at free, the 2nd
 * byte past faults */
static void ovf3_w1(int bad) { overflow(bad, 3, 1, 1); }
static void ovf3_r2(int bad) { overflow(bad, 3, 2, 0); }
/* a page run and a block of its own mapping */
static void ovf_w1_run(int bad) { overflow(bad, 10000, 1, 1); }
static void ovf_w1_huge(int bad) { overflow(bad, 3u << 20, 1, 1); }
/* a far overflow: the 64th byte past a 100-byte record (inside its redzone) */
static void ovf_w64_rec(int bad) { overflow(bad, 100, 64, 1); }

/* Underflow by `before` bytes: the byte at offset -before. The block is the
 * second of three of its size, so a neighbour lies before it. */
static void underflow_of(int bad, size_t n, size_t before, int write) {
  char *a = make(opaque(n)), *p = make(opaque(n)), *c = make(opaque(n));
  long i = bad ? -(long)before : 0;
  if (write)
    at_poke(p, (long)opaque((size_t)i));
  else
    at_peek(p, (long)opaque((size_t)i));
  release(a);
  release(p);
  release(c);
}
static void underflow(int bad, size_t before, int write) { underflow_of(bad, N, before, write); }
static void unf_w1(int bad) { underflow(bad, 1, 1); }
static void unf_w40(int bad) { underflow(bad, 40, 1); }
static void unf_r1(int bad) { underflow(bad, 1, 0); }
static void unf_r40(int bad) { underflow(bad, 40, 0); }
/* 40 bytes before a 100-byte record (inside its redzone) */
static void unf_w40_rec(int bad) { underflow_of(bad, 100, 40, 1); }

/* An 8-byte access whose first 4 bytes are the block's last 4. */
static void straddle_w(int bad) {
  char *p = make(opaque(N));
  at_poke8(p, (long)opaque(bad ? N - 4 : N - 8));
  release(p);
}
/* An 8-byte store whose last 4 bytes are the block's first 4. */
static void straddle_unf_w(int bad) {
  char *p = make(opaque(N));
  at_poke8(p, bad ? -4 : 0);
  release(p);
}
static void straddle_r(int bad) {
  char *p = make(opaque(N));
  at_peek8(p, (long)opaque(bad ? N - 4 : N - 8));
  release(p);
}

/* Copies whose source and destination overlap (undefined for memcpy and
 * strcpy; memmove is the right call and its look-alike is not flagged). */
static void overlap_memcpy(int bad) {
  char *p = make(opaque(64));
  at_memcpy(p + opaque(bad ? 8 : 32), p, opaque(24));
  release(p);
}
static void overlap_strcpy(int bad) {
  char *p = make(opaque(64));
  memset(p, 'c', 20);
  p[20] = 0;
  at_strcpy(p + opaque(bad ? 4 : 32), p);
  release(p);
}
/* strncat whose source lies in the string it appends to (its bytes already
 * there, not those written): undefined all the same */
static void overlap_strncat(int bad) {
  char *p = make(opaque(64));
  memcpy(p, "hello", 6);
  memcpy(p + 32, "ell", 4);
  at_strncat(p, p + opaque(bad ? 1 : 32), opaque(3));
  release(p);
}

/* realloc: shrink 48 -> 40 then write at 47 (inside the old size); grow
 * 40 -> 100 then read at 100 (past the new size). */
static void realloc_shrink_w(int bad) {
  char *p = resize(make(opaque(48)), opaque(N));
  at_poke(p, (long)opaque(bad ? 47 : N - 1));
  release(p);
}
static void realloc_grow_w(int bad) {
  char *p = resize(make(opaque(N)), opaque(100));
  at_poke(p, (long)opaque(bad ? 100 : 99));
  release(p);
}
/* A block still live at exit (reachable from a global: no leak) whose
 * redzone after or before it was written: found by the check at exit. */
static char *kept;
static void live_ovf_exit(int bad) {
  kept = make(opaque(N));
  at_poke(kept, (long)opaque(bad ? N + 3 : N - 1));
}
static void live_unf_exit(int bad) {
  kept = make(opaque(N));
  at_poke(kept, bad ? -2 : 0);
}
static void realloc_grow_r(int bad) {
  char *p = resize(make(opaque(N)), opaque(100));
  at_peek(p, (long)opaque(bad ? 100 : 99));
  release(p);
}

/* The interposed libc functions, each writing one byte past a 40-byte
 * destination (or, for memcpy_src, reading one byte past its source). */
static void lc_memcpy(int bad) {
  char *d = make(opaque(N)), *s = make(opaque(N + 1));
  at_memcpy(d, s, opaque(bad ? N + 1 : N));
  release(s);
  release(d);
}
static void lc_memcpy_src(int bad) {
  char *d = make(opaque(N + 1)), *s = make(opaque(N));
  at_memcpy(d, s, opaque(bad ? N + 1 : N));
  release(s);
  release(d);
}
/* a page run and a block of its own mapping */
static void lc_memcpy_run(int bad) {
  char *d = make(opaque(10000)), *s = make(opaque(10001));
  at_memcpy(d, s, opaque(bad ? 10001 : 10000));
  release(s);
  release(d);
}
static void lc_memset_huge(int bad) {
  char *d = make(opaque(3u << 20));
  at_memset(d, opaque(bad ? (3u << 20) + 1 : 3u << 20));
  release(d);
}
static void lc_memmove(int bad) {
  char *d = make(opaque(N)), *s = make(opaque(N + 1));
  at_memmove(d, s, opaque(bad ? N + 1 : N));
  release(s);
  release(d);
}
static void lc_memset(int bad) {
  char *d = make(opaque(N));
  at_memset(d, opaque(bad ? N + 1 : N));
  release(d);
}
static void lc_strcpy(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(bad ? N : N - 1));
  at_strcpy(d, s);
  release(s);
  release(d);
}
static void lc_strncpy(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(N));
  at_strncpy(d, s, opaque(bad ? N + 1 : N));
  release(s);
  release(d);
}
static void lc_strcat(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(bad ? N - 20 : N - 21));
  memset(d, 'd', 20);
  d[20] = 0;
  at_strcat(d, s);
  release(s);
  release(d);
}
static void lc_strncat(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(N));
  memset(d, 'd', 20);
  d[20] = 0;
  at_strncat(d, s, opaque(bad ? N - 20 : N - 21));
  release(s);
  release(d);
}
static void lc_stpcpy(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(bad ? N : N - 1));
  at_stpcpy(d, s);
  release(s);
  release(d);
}
static void lc_read(int bad) {
  char *d = make(opaque(N));
  int fd = zero_fd();
  at_read(fd, d, opaque(bad ? N + 1 : N));
  close(fd);
  release(d);
}
static void lc_pread(int bad) {
  char *d = make(opaque(N));
  int fd = zero_fd();
  at_pread(fd, d, opaque(bad ? N + 1 : N));
  close(fd);
  release(d);
}
static void lc_pread64(int bad) {
  char *d = make(opaque(N));
  int fd = zero_fd();
  at_pread64(fd, d, opaque(bad ? N + 1 : N));
  close(fd);
  release(d);
}
static void lc_recv(int bad) {
  char *d = make(opaque(N));
  int sv[2];
  char msg[N + 1];
  memset(msg, 'm', sizeof(msg));
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
      write(sv[1], msg, sizeof(msg)) != (long)sizeof(msg))
    abort();
  at_recv(sv[0], d, opaque(bad ? N + 1 : N));
  close(sv[0]);
  close(sv[1]);
  release(d);
}
static void lc_fread(int bad) {
  char *d = make(opaque(N));
  FILE *f = fopen("/dev/zero", "re");
  at_fread(d, opaque(bad ? N + 1 : N), f);
  fclose(f);
  release(d);
}
static void lc_fgets(int bad) {
  char *d = make(opaque(N));
  FILE *f = fopen("/dev/zero", "re"); /* no newline: fgets fills size - 1 bytes and a NUL */
  at_fgets(d, opaque(bad ? N + 1 : N), f);
  fclose(f);
  release(d);
}
/* getline told the 16-byte buffer has 64 bytes: a 16-character line and its
 * newline and NUL (18 bytes) go into it. The look-alike tells the truth and
 * getline grows the buffer with realloc. */
static void lc_getline(int bad) {
  static char line[] = "0123456789abcdef\nrest\n";
  size_t cap = opaque(bad ? 64 : 16);
  char *d = make(opaque(16));
  FILE *f = fmemopen(line, sizeof(line) - 1, "r");
  at_getline(&d, &cap, f);
  fclose(f);
  release(d);
}
/* getdelim told the 16-byte buffer has 64 bytes: a 16-character record,
 * its ';' and a NUL go into it. */
static void lc_getdelim(int bad) {
  static char recs[] = "0123456789abcdef;rest;";
  size_t cap = opaque(bad ? 64 : 16);
  char *d = make(opaque(16));
  FILE *f = fmemopen(recs, sizeof(recs) - 1, "r");
  at_getdelim(&d, &cap, f);
  fclose(f);
  release(d);
}
static int vformat(char *d, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = at_vsnprintf(d, n, fmt, ap);
  va_end(ap);
  return r;
}
static void lc_vsnprintf(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(N));
  vformat(d, opaque(bad ? N + 1 : N), "%s", s);
  release(s);
  release(d);
}
static void lc_snprintf(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(N));
  at_snprintf(d, opaque(bad ? N + 1 : N), s);
  release(s);
  release(d);
}
/* "2001-09-09 01:46:40": 19 characters and a NUL, into 19 bytes */
static void lc_strftime(int bad) {
  char *d = make(opaque(19));
  time_t t = 1000000000;
  struct tm tm;
  gmtime_r(&t, &tm);
  at_strftime(d, opaque(bad ? 20 : 19), &tm);
  release(d);
}

/* The writers added with the readers: mempcpy, recvfrom, and sprintf and
 * vsprintf (no size: memtype formats once to measure when the destination
 * is in the heap). */
static void lc_mempcpy(int bad) {
  char *d = make(opaque(N)), *s = make(opaque(N + 1));
  at_mempcpy(d, s, opaque(bad ? N + 1 : N));
  release(s);
  release(d);
}
static void lc_memccpy(int bad) { /* no '!' in the source: n bytes copied */
  char *d = make(opaque(N)), *s = make(opaque(N + 1));
  memset(s, 'x', N + 1);
  at_memccpy(d, s, '!', opaque(bad ? N + 1 : N));
  release(s);
  release(d);
}
/* poll given 2 entries in a block that holds 1 (8 bytes), as valgrind's
 * badpoll test does with a 15-byte one */
static void lc_poll(int bad) {
  struct pollfd *p = (struct pollfd *)make(opaque(bad ? 15 : 16));
  p[0].fd = 0;
  p[0].events = 0;
  if (bad) {
    ((char *)p)[8] = 0; /* the second entry's fd and events, in bounds: 7 bytes */
  } else {
    p[1].fd = -1;
    p[1].events = 0;
  }
  at_poll(p, 2);
  release((char *)p);
}
static void overlap_memccpy(int bad) {
  char *p = make(opaque(64));
  memset(p, 'c', 64);
  p[20] = '!';
  at_memccpy(p + opaque(bad ? 8 : 32), p, '!', opaque(30)); /* 21 bytes copied */
  release(p);
}
static void lc_recvfrom(int bad) {
  char *d = make(opaque(N));
  int sv[2];
  char msg[N + 1];
  memset(msg, 'm', sizeof(msg));
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
      write(sv[1], msg, sizeof(msg)) != (long)sizeof(msg))
    abort();
  at_recvfrom(sv[0], d, opaque(bad ? N + 1 : N));
  close(sv[0]);
  close(sv[1]);
  release(d);
}
/* 40 characters and the NUL into 40 bytes; the look-alike 39 and the NUL */
static void lc_sprintf(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(bad ? N : N - 1));
  at_sprintf(d, s);
  release(s);
  release(d);
}
static int vformat_unsized(char *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = at_vsprintf(d, fmt, ap);
  va_end(ap);
  return r;
}
static void lc_vsprintf(int bad) {
  char *d = make(opaque(N)), *s = text(opaque(bad ? N : N - 1));
  vformat_unsized(d, "%s", s);
  release(s);
  release(d);
}

/* The readers. A string read past its block: 40 characters and no NUL in
 * a 40-byte block (the read goes on past it to some NUL); the look-alike's
 * NUL is the block's last byte. */
static char *unterminated(int bad) {
  char *p = make(opaque(N)); /* N 'a's */
  if (!bad)
    p[opaque(N - 1)] = 0;
  return p;
}
static void lc_strlen(int bad) {
  char *p = unterminated(bad);
  at_strlen(p);
  release(p);
}
/* The case-blind compare and the searches, on 40 'a's with no NUL (the
 * look-alike: the NUL last): strcasecmp against 41 'A's (equal to the end
 * of the block), strstr of a needle not there, strspn of a set that holds
 * 'a', strpbrk of a set without it: each reads past the block. */
static void lc_strcasecmp(int bad) {
  char *p = unterminated(bad);
  char upper[N + 2];
  memset(upper, 'A', N + 1);
  upper[N + 1] = 0;
  at_strcasecmp(p, upper);
  release(p);
}
static void lc_strstr(int bad) {
  char *p = unterminated(bad);
  at_strstr(p, "needle");
  release(p);
}
static void lc_strspn(int bad) {
  char *p = unterminated(bad);
  at_strspn(p, "ab");
  release(p);
}
static void lc_strpbrk(int bad) {
  char *p = unterminated(bad);
  at_strpbrk(p, "xyz");
  release(p);
}
/* The strings printf reads: %s of 40 bytes with no NUL (the look-alike:
 * the NUL last); %.*s given 41 of them (the look-alike 40); printf's %s
 * after a double (the look-alike prints a terminated string). All printed
 * to /dev/null (printf's stdout pointed there for the call). */
static FILE *devnull(void) {
  FILE *f = fopen("/dev/null", "w");
  if (f == NULL)
    abort();
  return f;
}
static void lc_fprintf(int bad) {
  char *p = unterminated(bad);
  FILE *f = devnull();
  at_fprintf_s(f, p);
  fclose(f);
  release(p);
}
static void lc_fprintf_prec(int bad) {
  char *p = make(opaque(N));
  FILE *f = devnull();
  at_fprintf_prec(f, (int)opaque(bad ? N + 1 : N), p);
  fclose(f);
  release(p);
}
static void lc_printf(int bad) {
  char *p = unterminated(bad);
  fflush(stdout);
  int saved = dup(1), null = open("/dev/null", O_WRONLY);
  if (saved < 0 || null < 0 || dup2(null, 1) < 0)
    abort();
  at_printf_s(p);
  fflush(stdout);
  if (dup2(saved, 1) < 0)
    abort();
  close(saved);
  close(null);
  release(p);
}
/* strnlen told 41 bytes of a 40-byte block with no NUL; the look-alike 40 */
static void lc_strnlen(int bad) {
  char *p = make(opaque(N));
  at_strnlen(p, opaque(bad ? N + 1 : N));
  release(p);
}
static void lc_strdup(int bad) {
  char *p = unterminated(bad);
  release(at_strdup(p));
  release(p);
}
/* strndup with a bound past the block: the look-alike's NUL stops it */
static void lc_strndup(int bad) {
  char *p = unterminated(bad);
  release(at_strndup(p, opaque(100)));
  release(p);
}
/* memcmp of 41 bytes, a 40-byte block against a 41-byte one: equal through
 * the 40 (so byte 40 is read); the look-alike differs at byte 3 and memcmp
 * stops there, its n past the block all the same */
static void lc_memcmp(int bad) {
  char *a = make(opaque(N)), *b = make(opaque(N + 1));
  if (!bad)
    b[opaque(3)] = 'z';
  at_memcmp(a, b, opaque(N + 1));
  release(b);
  release(a);
}
/* strcmp of a 40-byte block with no NUL against 40 'a's and a NUL: equal
 * through the 40; the look-alike's first string ends at the block's last
 * byte (39 'a's), where the two differ */
static void lc_strcmp(int bad) {
  char *a = unterminated(bad), *b = make(opaque(N + 1));
  b[opaque(N)] = 0;
  at_strcmp(a, b);
  release(b);
  release(a);
}
/* strncmp of 41 bytes, the same strings; the look-alike's differ at the
 * block's last byte (its first string has no NUL: strncmp stops at the
 * difference) */
static void lc_strncmp(int bad) {
  char *a = make(opaque(N)), *b = make(opaque(N + 1));
  b[opaque(N)] = 0;
  if (!bad)
    b[opaque(N - 1)] = 'z';
  at_strncmp(a, b, opaque(N + 1));
  release(b);
  release(a);
}
/* memchr of 41 bytes for a 'z' the block does not hold; the look-alike's
 * is its last byte */
static void lc_memchr(int bad) {
  char *p = make(opaque(N));
  if (!bad)
    p[opaque(N - 1)] = 'z';
  at_memchr(p, 'z', opaque(N + 1));
  release(p);
}
static void lc_strchr(int bad) {
  char *p = unterminated(bad);
  at_strchr(p, 'z');
  release(p);
}
static void lc_strrchr(int bad) {
  char *p = unterminated(bad);
  at_strrchr(p, 'a');
  release(p);
}
/* 41 bytes of a 40-byte block sent out */
static int null_fd(void) { return open("/dev/null", O_WRONLY | O_CLOEXEC); }
static void lc_write(int bad) {
  char *p = make(opaque(N));
  int fd = null_fd();
  at_write(fd, p, opaque(bad ? N + 1 : N));
  close(fd);
  release(p);
}
static void lc_pwrite(int bad) {
  char *p = make(opaque(N));
  int fd = null_fd();
  at_pwrite(fd, p, opaque(bad ? N + 1 : N));
  close(fd);
  release(p);
}
static void lc_send(int bad) {
  char *p = make(opaque(N));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    abort();
  at_send(sv[1], p, opaque(bad ? N + 1 : N));
  close(sv[0]);
  close(sv[1]);
  release(p);
}
static void lc_fwrite(int bad) {
  char *p = make(opaque(N));
  FILE *f = fopen("/dev/null", "we");
  at_fwrite(p, opaque(bad ? N + 1 : N), f);
  fclose(f);
  release(p);
}
static void lc_fputs(int bad) {
  char *p = unterminated(bad);
  FILE *f = fopen("/dev/null", "we");
  at_fputs(p, f);
  fclose(f);
  release(p);
}
/* puts writes to stdout: pointed at /dev/null for the call */
static void lc_puts(int bad) {
  char *p = unterminated(bad);
  fflush(stdout);
  int saved = dup(1), fd = null_fd();
  if (saved < 0 || fd < 0 || dup2(fd, 1) < 0)
    abort();
  at_puts(p);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  close(fd);
  release(p);
}

/* The fillers by a size given: 41 bytes of a 40-byte block */
static void lc_readlink(int bad) {
  char *d = make(opaque(N));
  at_readlink(d, opaque(bad ? N + 1 : N));
  release(d);
}
static void lc_readlinkat(int bad) {
  char *d = make(opaque(N));
  at_readlinkat(d, opaque(bad ? N + 1 : N));
  release(d);
}
static void lc_getcwd(int bad) {
  char *d = make(opaque(N));
  at_getcwd(d, opaque(bad ? N + 1 : N)); /* (ERANGE when the path is longer: no matter) */
  release(d);
}
static void lc_getrandom(int bad) {
  char *d = make(opaque(N));
  at_getrandom(d, opaque(bad ? N + 1 : N));
  release(d);
}
static void lc_gethostname(int bad) {
  char *d = make(opaque(N));
  at_gethostname(d, opaque(bad ? N + 1 : N));
  release(d);
}
/* a vector of two buffers, the second one byte too long when bad */
static void iov_two(struct iovec v[2], char *p, int bad) {
  v[0].iov_base = p;
  v[0].iov_len = opaque(N / 2);
  v[1].iov_base = p + N / 2;
  v[1].iov_len = opaque(bad ? N / 2 + 1 : N / 2);
}
static void lc_readv(int bad) {
  char *d = make(opaque(N));
  struct iovec v[2];
  iov_two(v, d, bad);
  int fd = zero_fd();
  at_readv(fd, v, 2);
  close(fd);
  release(d);
}
static void lc_preadv(int bad) {
  char *d = make(opaque(N));
  struct iovec v[2];
  iov_two(v, d, bad);
  int fd = zero_fd();
  at_preadv(fd, v, 2);
  close(fd);
  release(d);
}
static void lc_writev(int bad) {
  char *p = make(opaque(N));
  struct iovec v[2];
  iov_two(v, p, bad);
  int fd = null_fd();
  at_writev(fd, v, 2);
  close(fd);
  release(p);
}
static void lc_pwritev(int bad) {
  char *p = make(opaque(N));
  struct iovec v[2];
  iov_two(v, p, bad);
  int fd = null_fd();
  at_pwritev(fd, v, 2);
  close(fd);
  release(p);
}
static void lc_recvmsg(int bad) {
  char *d = make(opaque(N));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    abort();
  static const char bytes[2 * N];
  if (write(sv[1], bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes))
    abort();
  struct iovec v[2];
  iov_two(v, d, bad);
  struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
  at_recvmsg(sv[0], &m);
  close(sv[0]);
  close(sv[1]);
  release(d);
}
static void lc_sendmsg(int bad) {
  char *p = make(opaque(N));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    abort();
  struct iovec v[2];
  iov_two(v, p, bad);
  struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
  at_sendmsg(sv[1], &m);
  close(sv[0]);
  close(sv[1]);
  release(p);
}
static void lc_sendto(int bad) {
  char *p = make(opaque(N));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    abort();
  at_sendto(sv[1], p, opaque(bad ? N + 1 : N));
  close(sv[0]);
  close(sv[1]);
  release(p);
}
static void lc_pwrite64(int bad) {
  char *p = make(opaque(N));
  int fd = null_fd();
  at_pwrite64(fd, p, opaque(bad ? N + 1 : N));
  close(fd);
  release(p);
}
static void lc_bzero(int bad) {
  char *d = make(opaque(N));
  at_bzero(d, opaque(bad ? N + 1 : N));
  release(d);
}
static void lc_explicit_bzero(int bad) {
  char *d = make(opaque(N));
  at_explicit_bzero(d, opaque(bad ? N + 1 : N));
  release(d);
}
static void lc_stpncpy(int bad) {
  char *d = make(opaque(N));
  at_stpncpy(d, "short", opaque(bad ? N + 1 : N)); /* pads with NULs to n bytes */
  release(d);
}

/* The wide characters: a block of 10 wchar_t (40 bytes); wtext(n) a
 * heap string of n wide characters and its NUL. */
#define WN (N / sizeof(wchar_t))
static wchar_t *wmake(size_t n) { return (wchar_t *)make(opaque(n * sizeof(wchar_t))); }
static wchar_t *wtext(size_t n) {
  wchar_t *p = wmake(n + 1);
  for (size_t i = 0; i < n; i++)
    p[i] = L'x';
  p[n] = 0;
  return p;
}
/* wcscpy of 10 wide characters and the NUL into 10; look-alike 9 */
static void lc_wcscpy(int bad) {
  wchar_t *d = wmake(WN), *s = wtext(opaque(bad ? WN : WN - 1));
  at_wcscpy(d, s);
  release(s);
  release(d);
}
/* wcsncpy told 11 wide characters for 10 */
static void lc_wcsncpy(int bad) {
  wchar_t *d = wmake(WN);
  at_wcsncpy(d, L"short", opaque(bad ? WN + 1 : WN));
  release(d);
}
/* wcscat of 5 onto 5 in 10 (its NUL the 11th); look-alike 4 onto 5 */
static void lc_wcscat(int bad) {
  wchar_t *d = wmake(WN), *s = wtext(opaque(bad ? 5 : 4));
  wmemset(d, L'd', 5);
  d[5] = 0;
  at_wcscat(d, s);
  release(s);
  release(d);
}
/* wmemcpy of 11 wide characters out of an 11 into a 10 */
static void lc_wmemcpy(int bad) {
  wchar_t *d = wmake(WN), *s = wtext(WN);
  at_wmemcpy(d, s, opaque(bad ? WN + 1 : WN));
  release(s);
  release(d);
}
static void lc_wmemset(int bad) {
  wchar_t *d = wmake(WN);
  at_wmemset(d, opaque(bad ? WN + 1 : WN));
  release(d);
}
/* wcslen of 10 wide characters with no NUL; look-alike: the NUL last */
static void lc_wcslen(int bad) {
  wchar_t *p = wmake(WN);
  wmemset(p, L'u', WN);
  p[WN - 1] = bad ? L'u' : 0;
  at_wcslen(p);
  release(p);
}
/* swprintf told 11 wide characters of room in 10 (what it writes fits:
 * the size is what is held to the block) */
static void lc_swprintf(int bad) {
  wchar_t *d = wmake(WN);
  at_swprintf(d, opaque(bad ? WN + 1 : WN), 42);
  release(d);
}
/* mbstowcs told 11 wide characters of room in 10 */
static void lc_mbstowcs(int bad) {
  wchar_t *d = wmake(WN);
  at_mbstowcs(d, "abc", opaque(bad ? WN + 1 : WN));
  release(d);
}

/* scanf's destinations, checked once it has filled them: a word of 40
 * characters (41 bytes with its NUL) into a 40-byte block; an int into a
 * 2-byte block */
static void lc_sscanf(int bad) {
  char *d = make(opaque(N));
  char word[N + 2];
  memset(word, 'w', sizeof(word) - 1);
  word[bad ? N : N - 1] = '\0';
  at_sscanf(word, d);
  release(d);
}
static void lc_fscanf(int bad) {
  short *d = (short *)make(opaque(bad ? 2 : 4));
  static char text[] = "count 12345";
  FILE *in = fmemopen(text, sizeof(text) - 1, "r");
  if (in == NULL)
    abort();
  at_fscanf(in, d);
  fclose(in);
  release((char *)d);
}

/* After free. */
static void uaf_r(int bad) {
  char *p = make(opaque(N)), *q = make(opaque(N));
  release(p);
  at_peek(bad ? p : q, (long)opaque(8));
  release(q);
}
static void uaf_w(int bad) {
  char *p = make(opaque(N)), *q = make(opaque(N));
  release(p);
  at_poke(bad ? p : q, (long)opaque(8));
  release(q);
}

/* Bad frees. */
static void double_free(int bad) {
  char *p = make(opaque(N)), *q = make(opaque(N));
  release(p);
  at_free(bad ? p : q);
}
static void invalid_free_interior(int bad) {
  char *p = make(opaque(100));
  at_free(p + opaque(bad ? 8 : 0));
}
static void invalid_free_stack(int bad) {
  char buf[64], *p = make(opaque(64));
  memset(buf, 0, sizeof(buf));
  at_free(bad ? buf : p);
  if (bad)
    release(p);
}
static char global_buf[64];
static void invalid_free_global(int bad) {
  char *p = make(opaque(64));
  at_free(bad ? global_buf : p);
  if (bad)
    release(p);
}
static void realloc_freed(int bad) {
  char *p = make(opaque(N)), *q = make(opaque(N));
  release(p);
  release(at_realloc(bad ? p : q, opaque(100)));
}

/* Blocks still live at exit. */
struct node {
  struct node *next;
  char pad[40];
};
AT void lose_block(int bad);
AT void lose_block(int bad) {
  char *p = make(opaque(100));
  if (!bad)
    release(p);
}
AT void lose_list(int bad);
AT void lose_list(int bad) {
  struct node *h = NULL;
  for (int i = 0; i < 4; i++) {
    struct node *n = (struct node *)make(sizeof(*n));
    n->next = h;
    h = n;
  }
  while (!bad && h) {
    struct node *next = h->next;
    release(h);
    h = next;
  }
}
static void leak_block(int bad) { lose_block(bad); }
static void leak_list(int bad) { lose_list(bad); }

/* Allocation calls given a size or an alignment no correct call gives
 * (bad-param); each look-alike makes the same call with a value that is
 * legal, some of them as sure to fail (a 16 TiB calloc: refused for want of
 * memory, which is no bug). Every call fails or succeeds as glibc's would. */
AT void *at_malloc(size_t n);
AT void *at_malloc(size_t n) { return malloc(n); /* ACCESS */ }
AT void *at_calloc(size_t k, size_t n);
AT void *at_calloc(size_t k, size_t n) { return calloc(k, n); /* ACCESS */ }
AT void *at_realloc_to(void *p, size_t n);
AT void *at_realloc_to(void *p, size_t n) { return realloc(p, n); /* ACCESS */ }
AT void *at_reallocarray(void *p, size_t k, size_t n);
AT void *at_reallocarray(void *p, size_t k, size_t n) { return reallocarray(p, k, n); /* ACCESS */ }
AT int at_posix_memalign(void **out, size_t align, size_t n);
AT int at_posix_memalign(void **out, size_t align, size_t n) {
  return posix_memalign(out, align, n); /* ACCESS */
}
AT void *at_aligned_alloc(size_t align, size_t n);
AT void *at_aligned_alloc(size_t align, size_t n) { return aligned_alloc(align, n); /* ACCESS */ }
AT void *at_pvalloc(size_t n);
AT void *at_pvalloc(size_t n) { return pvalloc(n); /* ACCESS */ }

#define TIB16 ((size_t)1 << 44)
static void bp_malloc_neg(int bad) { /* malloc(-40): a length computed as end - start, reversed */
  release(at_malloc(opaque(bad ? (size_t)-40 : 40)));
}
static void bp_calloc_ovf(int bad) { /* a count from a header, times 16, wraps around */
  release(at_calloc(opaque(bad ? (size_t)1 << 61 : TIB16 / 16), opaque(16)));
}
static void bp_realloc_neg(int bad) {
  char *p = make(opaque(N));
  char *q = at_realloc_to(p, opaque(bad ? (size_t)-1 : 2 * N));
  release(q ? q : p);
}
static void bp_reallocarray_ovf(int bad) {
  char *p = make(opaque(N));
  char *q = at_reallocarray(p, opaque(bad ? (size_t)1 << 62 : TIB16 / 8), opaque(8));
  release(q ? q : p);
}
static void bp_posix_memalign(int bad) { /* an alignment of 24: not a power of two */
  void *p = NULL;
  if (at_posix_memalign(&p, opaque(bad ? 24 : 32), opaque(N)) == 0)
    release(p);
}
static void bp_aligned_alloc(int bad) { /* an alignment of 48: not a power of two */
  release(at_aligned_alloc(opaque(bad ? 48 : 64), opaque(96)));
}
static void bp_pvalloc_neg(int bad) { /* pvalloc(-100): its rounding up to pages would wrap */
  release(at_pvalloc(opaque(bad ? (size_t)-100 : 100)));
}

/* ---- the table ----------------------------------------------------------- */

static const struct {
  const char *name;
  void (*run)(int bad);
} cases[] = {
#define C(x) {#x, x}
    C(ovf_w1),         C(ovf_w8),          C(ovf_w64),          C(ovf_w4100),
    C(ovf_r1),         C(ovf_r8),          C(ovf_r64),          C(ovf_r4100),
    C(ovf_w1_a16),     C(ovf_r1_a16),      C(ovf_w1_run),       C(ovf_w1_huge),
    C(ovf24_r1),       C(ovf24_r8),        C(ovf24_w1),         C(ovf24_w8),
    C(ovf100_r1),      C(ovf100_r8),       C(ovf100_w1),        C(ovf100_w8),
    C(ovf10_r1),        C(ovf3_w1),         C(ovf3_r2),
    C(unf_w1),         C(unf_w40),         C(unf_r1),           C(unf_r40),
    C(straddle_w),     C(straddle_r),      C(overlap_memcpy),   C(overlap_strcpy),
    C(overlap_strncat), C(overlap_memccpy), C(lc_memccpy), C(lc_poll),
    C(realloc_shrink_w), C(realloc_grow_r), C(lc_memcpy),       C(lc_memcpy_src),
    C(lc_memmove),     C(lc_memset),       C(lc_strcpy),        C(lc_strncpy),
    C(lc_strcat),      C(lc_strncat),      C(lc_read),          C(lc_pread),
    C(lc_recv),        C(lc_fread),        C(lc_fgets),         C(lc_getline),
    C(lc_snprintf),    C(lc_strftime),     C(lc_stpcpy),        C(lc_pread64),
    C(lc_getdelim),    C(lc_vsnprintf),    C(lc_memcpy_run),    C(lc_memset_huge),
    C(lc_mempcpy),     C(lc_recvfrom),     C(lc_sprintf),       C(lc_vsprintf),
    C(lc_strlen),      C(lc_strnlen),      C(lc_strdup),        C(lc_strndup),
    C(lc_memcmp),      C(lc_strcmp),       C(lc_strncmp),       C(lc_memchr),
    C(lc_strchr),      C(lc_strrchr),      C(lc_write),         C(lc_pwrite),
    C(lc_send),        C(lc_fwrite),       C(lc_fputs),         C(lc_puts),
    C(uaf_r),          C(uaf_w),           C(ovf_w64_rec),      C(unf_w40_rec),
    C(straddle_unf_w), C(realloc_grow_w),  C(live_ovf_exit),    C(live_unf_exit),
    C(double_free),    C(invalid_free_interior), C(invalid_free_stack),
    C(invalid_free_global), C(realloc_freed), C(leak_block),    C(leak_list),
    C(bp_malloc_neg),  C(bp_calloc_ovf),   C(bp_realloc_neg),   C(bp_reallocarray_ovf),
    C(bp_posix_memalign), C(bp_aligned_alloc), C(bp_pvalloc_neg),
    C(lc_readlink),    C(lc_readlinkat),   C(lc_getcwd),        C(lc_getrandom),
    C(lc_gethostname), C(lc_readv),        C(lc_preadv),        C(lc_writev),
    C(lc_pwritev),     C(lc_recvmsg),      C(lc_sendmsg),       C(lc_sendto),
    C(lc_pwrite64),    C(lc_bzero),        C(lc_explicit_bzero), C(lc_stpncpy),
    C(lc_sscanf),      C(lc_fscanf),       C(lc_wcscpy),        C(lc_wcsncpy),
    C(lc_wcscat),      C(lc_wmemcpy),      C(lc_wmemset),       C(lc_wcslen),
    C(lc_swprintf),    C(lc_mbstowcs),     C(lc_fprintf),       C(lc_fprintf_prec),
    C(lc_printf),      C(lc_strcasecmp),   C(lc_strstr),        C(lc_strspn),
    C(lc_strpbrk),
#undef C
};

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--list")) {
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
      puts(cases[i].name);
    return 0;
  }
  if (argc != 3 || (strcmp(argv[2], "bad") && strcmp(argv[2], "ok"))) {
    fprintf(stderr, "usage: corpus CASE bad|ok, or corpus --list\n");
    return 2;
  }
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    if (!strcmp(cases[i].name, argv[1])) {
      cases[i].run(!strcmp(argv[2], "bad"));
      scrub();
      puts("done");
      return 0;
    }
  fprintf(stderr, "corpus: no case %s\n", argv[1]);
  return 2;
}
