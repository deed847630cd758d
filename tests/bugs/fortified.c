/* fortified - the libc range checks on glibc's _FORTIFY_SOURCE variants
 * (__memcpy_chk, __sprintf_chk, ...), which programs built with
 * _FORTIFY_SOURCE call instead of the plain names.
 *
 * `fortified bad|ok FUNCTION`: calls glibc's __FUNCTION_chk directly, with
 * the object size unknown to it ((size_t)-1: glibc checks nothing), to
 * write (or for the copies also read) 41 bytes (bad) or 40 (ok) of a
 * 40-byte block; memtype must report the bad one at the call and leave
 * the ok one alone. Prints "done" at the end. Built without
 * _FORTIFY_SOURCE and builtins, so each call is the one written.
 *
 * `fortified bad|ok sprintf_fortified`: the same as a fortified build
 * makes it (fortified_real.c, built -O2 -D_FORTIFY_SOURCE=2): there the
 * compiler knows the block's size and glibc ends the program on the
 * overflow; memtype's report comes first.
 *
 * `fortified bad|ok wFUNCTION` (wmemcpy, wcscpy, swprintf...): the wide
 * variants, 11 wide characters (bad) or 10 (ok) into the block of 10. */
#define _GNU_SOURCE /* asprintf, vasprintf */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wchar.h>

void *__memcpy_chk(void *, const void *, size_t, size_t);
void *__memmove_chk(void *, const void *, size_t, size_t);
void *__mempcpy_chk(void *, const void *, size_t, size_t);
void *__memset_chk(void *, int, size_t, size_t);
char *__strcpy_chk(char *, const char *, size_t);
char *__stpcpy_chk(char *, const char *, size_t);
char *__strncpy_chk(char *, const char *, size_t, size_t);
char *__strcat_chk(char *, const char *, size_t);
char *__strncat_chk(char *, const char *, size_t, size_t);
int __sprintf_chk(char *, int, size_t, const char *, ...);
int __vsprintf_chk(char *, int, size_t, const char *, va_list);
int __snprintf_chk(char *, size_t, int, size_t, const char *, ...);
int __vsnprintf_chk(char *, size_t, int, size_t, const char *, va_list);
ssize_t __read_chk(int, void *, size_t, size_t);
ssize_t __pread_chk(int, void *, size_t, off_t, size_t);
ssize_t __recv_chk(int, void *, size_t, size_t, int);
size_t __fread_chk(void *, size_t, size_t, size_t, FILE *);
char *__fgets_chk(char *, size_t, int, FILE *);
int __poll_chk(struct pollfd *, nfds_t, int, size_t);
wchar_t *__wmemcpy_chk(wchar_t *, const wchar_t *, size_t, size_t);
wchar_t *__wmemmove_chk(wchar_t *, const wchar_t *, size_t, size_t);
wchar_t *__wmempcpy_chk(wchar_t *, const wchar_t *, size_t, size_t);
wchar_t *__wmemset_chk(wchar_t *, wchar_t, size_t, size_t);
wchar_t *__wcscpy_chk(wchar_t *, const wchar_t *, size_t);
wchar_t *__wcpcpy_chk(wchar_t *, const wchar_t *, size_t);
wchar_t *__wcsncpy_chk(wchar_t *, const wchar_t *, size_t, size_t);
wchar_t *__wcpncpy_chk(wchar_t *, const wchar_t *, size_t, size_t);
wchar_t *__wcscat_chk(wchar_t *, const wchar_t *, size_t);
wchar_t *__wcsncat_chk(wchar_t *, const wchar_t *, size_t, size_t);
int __swprintf_chk(wchar_t *, size_t, int, size_t, const wchar_t *, ...);
size_t __mbstowcs_chk(wchar_t *, const char *, size_t, size_t);
int __printf_chk(int, const char *, ...);
int __fprintf_chk(FILE *, int, const char *, ...);
int __dprintf_chk(int, int, const char *, ...);
int __vprintf_chk(int, const char *, va_list);
int __vfprintf_chk(FILE *, int, const char *, va_list);
int __vdprintf_chk(int, int, const char *, va_list);
int __asprintf_chk(char **, int, const char *, ...);
int __vasprintf_chk(char **, int, const char *, va_list);
void fortified_sprintf(int bad); /* fortified_real.c */

#define ANY ((size_t)-1)

static int vsp(char *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = __vsprintf_chk(d, 1, ANY, fmt, ap);
  va_end(ap);
  return r;
}
static int vsnp(char *d, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = __vsnprintf_chk(d, n, 1, ANY, fmt, ap);
  va_end(ap);
  return r;
}

/* `fortified bad|ok pf_NAME`: printf's family, plain and fortified, given
 * %s of the 40-byte block d with no NUL in it (bad) or its last byte a NUL
 * (ok), written to /dev/null (stdout pointed there for the call). */
static int vcall(const char *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *out = NULL;
  int r = -1;
  if (!strcmp(f, "vprintf"))
    r = vprintf(fmt, ap);
  else if (!strcmp(f, "vfprintf"))
    r = vfprintf(stdout, fmt, ap);
  else if (!strcmp(f, "vdprintf"))
    r = vdprintf(1, fmt, ap);
  else if (!strcmp(f, "vasprintf"))
    r = vasprintf(&out, fmt, ap);
  else if (!strcmp(f, "__vprintf_chk"))
    r = __vprintf_chk(1, fmt, ap);
  else if (!strcmp(f, "__vfprintf_chk"))
    r = __vfprintf_chk(stdout, 1, fmt, ap);
  else if (!strcmp(f, "__vdprintf_chk"))
    r = __vdprintf_chk(1, 1, fmt, ap);
  else if (!strcmp(f, "__vasprintf_chk"))
    r = __vasprintf_chk(&out, 1, fmt, ap);
  va_end(ap);
  free(out);
  return r;
}
static int printed(const char *f, char *d) {
  char *out = NULL;
  if (!strcmp(f, "printf"))
    printf("%s", d);
  else if (!strcmp(f, "fprintf"))
    fprintf(stdout, "%s", d);
  else if (!strcmp(f, "dprintf"))
    dprintf(1, "%s", d);
  else if (!strcmp(f, "asprintf"))
    asprintf(&out, "%s", d);
  else if (!strcmp(f, "__printf_chk"))
    __printf_chk(1, "%s", d);
  else if (!strcmp(f, "__fprintf_chk"))
    __fprintf_chk(stdout, 1, "%s", d);
  else if (!strcmp(f, "__dprintf_chk"))
    __dprintf_chk(1, 1, "%s", d);
  else if (!strcmp(f, "__asprintf_chk"))
    __asprintf_chk(&out, 1, "%s", d);
  else if (vcall(f, "%s", d) < 0)
    return 2;
  free(out);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  int bad = strcmp(argv[1], "bad") == 0;
  const char *f = argv[2];
  size_t n = bad ? 41 : 40;
  char *d = malloc(40), *s = malloc(64);
  memset(s, 's', 63);
  s[n - 1] = '\0'; /* a string of n - 1 characters: n bytes with its NUL */
  s[63] = '\0';
  int fds[2];
  if (pipe(fds) != 0 || write(fds[1], s, 64) != 64)
    return 3;
  wchar_t *wd = (wchar_t *)d, ws[16];
  size_t wn = bad ? 11 : 10;
  wmemset(ws, L's', 15);
  ws[wn - 1] = 0; /* wn wide characters with the NUL */
  ws[15] = 0;
  if (!strncmp(f, "pf_", 3)) {
    memset(d, 'p', 40);
    if (!bad)
      d[39] = '\0';
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    if (saved < 0 || null < 0 || dup2(null, 1) < 0)
      return 3;
    int r = printed(f + 3, d);
    fflush(stdout);
    if (dup2(saved, 1) < 0)
      return 3;
    if (r)
      return r;
  } else if (!strcmp(f, "memcpy"))
    __memcpy_chk(d, s, n, ANY);
  else if (!strcmp(f, "wmemcpy"))
    __wmemcpy_chk(wd, ws, wn, ANY);
  else if (!strcmp(f, "wmemmove"))
    __wmemmove_chk(wd, ws, wn, ANY);
  else if (!strcmp(f, "wmempcpy"))
    __wmempcpy_chk(wd, ws, wn, ANY);
  else if (!strcmp(f, "wmemset"))
    __wmemset_chk(wd, L'x', wn, ANY);
  else if (!strcmp(f, "wcscpy"))
    __wcscpy_chk(wd, ws, ANY);
  else if (!strcmp(f, "wcpcpy"))
    __wcpcpy_chk(wd, ws, ANY);
  else if (!strcmp(f, "wcsncpy"))
    __wcsncpy_chk(wd, L"short", wn, ANY);
  else if (!strcmp(f, "wcpncpy"))
    __wcpncpy_chk(wd, L"short", wn, ANY);
  else if (!strcmp(f, "wcscat")) {
    wd[0] = 0;
    __wcscat_chk(wd, ws, ANY);
  } else if (!strcmp(f, "wcsncat")) {
    wd[0] = 0;
    __wcsncat_chk(wd, ws, wn, ANY);
  } else if (!strcmp(f, "swprintf"))
    __swprintf_chk(wd, wn, 1, ANY, L"%d", 7);
  else if (!strcmp(f, "mbstowcs"))
    __mbstowcs_chk(wd, "abc", wn, ANY);
  else if (!strcmp(f, "memmove"))
    __memmove_chk(d, s, n, ANY);
  else if (!strcmp(f, "mempcpy"))
    __mempcpy_chk(d, s, n, ANY);
  else if (!strcmp(f, "memset"))
    __memset_chk(d, 'x', n, ANY);
  else if (!strcmp(f, "strcpy"))
    __strcpy_chk(d, s, ANY);
  else if (!strcmp(f, "stpcpy"))
    __stpcpy_chk(d, s, ANY);
  else if (!strcmp(f, "strncpy"))
    __strncpy_chk(d, s, n, ANY);
  else if (!strcmp(f, "strcat")) {
    d[0] = '\0';
    __strcat_chk(d, s, ANY);
  } else if (!strcmp(f, "strncat")) {
    d[0] = '\0';
    __strncat_chk(d, s, n, ANY);
  } else if (!strcmp(f, "sprintf"))
    __sprintf_chk(d, 1, ANY, "%s", s);
  else if (!strcmp(f, "vsprintf"))
    vsp(d, "%s", s);
  else if (!strcmp(f, "snprintf"))
    __snprintf_chk(d, n, 1, ANY, "%s", "short");
  else if (!strcmp(f, "vsnprintf"))
    vsnp(d, n, "%s", "short");
  else if (!strcmp(f, "read"))
    __read_chk(fds[0], d, n, ANY);
  else if (!strcmp(f, "pread")) {
    FILE *t = tmpfile();
    if (t == NULL || fwrite(s, 1, 64, t) != 64 || fflush(t) != 0)
      return 3;
    __pread_chk(fileno(t), d, n, 0, ANY);
  } else if (!strcmp(f, "recv")) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || write(sv[1], s, 64) != 64)
      return 3;
    __recv_chk(sv[0], d, n, ANY, 0);
  } else if (!strcmp(f, "fread")) {
    FILE *in = fdopen(fds[0], "r");
    __fread_chk(d, ANY, 1, n, in);
  } else if (!strcmp(f, "fgets")) {
    FILE *in = fdopen(fds[0], "r");
    __fgets_chk(d, ANY, (int)n, in);
  } else if (!strcmp(f, "poll")) {
    struct pollfd *p = malloc(2 * sizeof(*p));
    p[0].fd = p[1].fd = fds[1];
    p[0].events = p[1].events = POLLOUT;
    __poll_chk(p, bad ? 3 : 2, 0, ANY);
    free(p);
  } else if (!strcmp(f, "sprintf_fortified")) {
    fortified_sprintf(bad);
  } else {
    return 2;
  }
  free(s);
  free(d);
  puts("done");
  return 0;
}
