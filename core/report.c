/* report.c - formatter, warnings and the error reporter (see report.h).
 * Every report has the same shape: a rule line, the headline
 * `memtype: ERROR: <kind> ...`, the thread, what memtype does next, a rule. */
#include "report.h"

#include <stdbool.h>
#include <string.h>

#include "options.h"
#include "os.h"
#include "site.h"

const char *const mt_error_names[MT_ERR_COUNT] = {
    [MT_ERR_INVALID_FREE] = "invalid-free",
    [MT_ERR_DOUBLE_FREE] = "double-free",
    [MT_ERR_REALLOC_OF_FREED] = "realloc-of-freed",
    [MT_ERR_INVALID_REALLOC] = "invalid-realloc",
};
_Static_assert(sizeof(mt_error_names) / sizeof(mt_error_names[0]) == MT_ERR_COUNT,
               "a name for every error kind");

static void sink_stderr(const char *buf, size_t len) { mt_os_write(2, buf, len); }
static mt_sink_fn sink = sink_stderr;
static unsigned long warnings, errors;

mt_sink_fn mt_report_set_sink(mt_sink_fn fn) {
  mt_sink_fn old = sink;
  sink = fn ? fn : sink_stderr;
  return old;
}

/* ---- formatter --------------------------------------------------------- */

typedef struct out_s {
  char *buf;
  size_t len, pos;
} out_t;

static void put_c(out_t *o, char c) {
  if (o->pos + 1 < o->len)
    o->buf[o->pos] = c;
  o->pos++;
}

static void put_s(out_t *o, const char *s) {
  while (*s)
    put_c(o, *s++);
}

static void put_u(out_t *o, unsigned long v, unsigned base) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n)
    put_c(o, tmp[--n]);
}

/* Pads the text written since `from` to `width` columns (left-aligned
 * when `left`), moving it right for right alignment. */
static void pad(out_t *o, size_t from, unsigned width, bool left) {
  size_t n = o->pos - from;
  if (n >= width)
    return;
  size_t extra = width - n;
  if (left) {
    while (extra--)
      put_c(o, ' ');
    return;
  }
  for (size_t i = 0; i < extra; i++)
    put_c(o, ' ');
  /* shift the converted text right by `extra` (within the buffer) */
  for (size_t i = o->pos; i-- > from + extra;)
    if (i < o->len && i - extra < o->len)
      o->buf[i] = o->buf[i - extra];
  for (size_t i = from; i < from + extra && i < o->len; i++)
    o->buf[i] = ' ';
}

size_t mt_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap) {
  out_t o = {buf, len, 0};
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      put_c(&o, *f);
      continue;
    }
    f++;
    bool left = false;
    unsigned width = 0;
    if (*f == '-') {
      left = true;
      f++;
    }
    while (*f >= '0' && *f <= '9')
      width = width * 10 + (unsigned)(*f++ - '0');
    size_t from = o.pos;
    int lng = 0;
    while (*f == 'l' || *f == 'z') {
      lng = 1;
      f++;
    }
    switch (*f) {
    case 's': {
      const char *s = va_arg(ap, const char *);
      put_s(&o, s ? s : "(null)");
      break;
    }
    case 'd': {
      long v = lng ? va_arg(ap, long) : va_arg(ap, int);
      if (v < 0) {
        put_c(&o, '-');
        v = -v;
      }
      put_u(&o, (unsigned long)v, 10);
      break;
    }
    case 'u':
      put_u(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
      break;
    case 'x':
      put_u(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
      break;
    case 'p':
      put_s(&o, "0x");
      put_u(&o, (unsigned long)(uintptr_t)va_arg(ap, void *), 16);
      break;
    case '%':
      put_c(&o, '%');
      break;
    case '\0':
      f--;
      break;
    default:
      put_c(&o, '?');
      break;
    }
    if (width)
      pad(&o, from, width, left);
  }
  if (len)
    buf[o.pos < len ? o.pos : len - 1] = '\0';
  return o.pos < len ? o.pos : (len ? len - 1 : 0);
}

size_t mt_snprintf(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = mt_vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return n;
}

void mt_printf(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  size_t n = mt_vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  sink(buf, n);
}

void mt_warn(const char *fmt, ...) {
  unsigned long n = __atomic_fetch_add(&warnings, 1, __ATOMIC_RELAXED);
  if (n >= 100)
    return;
  char buf[1024];
  size_t pos = mt_snprintf(buf, sizeof(buf), "memtype: warning: ");
  va_list ap;
  va_start(ap, fmt);
  pos += mt_vsnprintf(buf + pos, sizeof(buf) - pos, fmt, ap);
  va_end(ap);
  if (n == 99)
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos, " (further warnings suppressed)");
  pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "\n");
  sink(buf, pos);
}

unsigned long mt_warn_count(void) { return __atomic_load_n(&warnings, __ATOMIC_RELAXED); }
unsigned long mt_error_count(void) { return __atomic_load_n(&errors, __ATOMIC_RELAXED); }

/* ---- names and stacks ------------------------------------------------------ */

void mt_report_write(const char *buf, size_t len) { sink(buf, len); }

size_t mt_report_pc(char *buf, size_t len, uintptr_t pc) {
  const char *func, *module;
  uintptr_t faddr, base;
  if (!mt_os_symbol_at(pc, &func, &faddr, &module, &base) || module == NULL)
    return mt_snprintf(buf, len, "%p", (void *)pc);
  const char *mod = strrchr(module, '/');
  mod = mod ? mod + 1 : module;
  if (*mod == '\0')
    mod = mt_os_progname();
  if (func)
    return mt_snprintf(buf, len, "%s+0x%lx (%s)", func, (unsigned long)(pc - faddr), mod);
  return mt_snprintf(buf, len, "%p (%s+0x%lx)", (void *)pc, mod, (unsigned long)(pc - base));
}

void mt_report_type_name(unsigned type, char *buf, size_t len) {
  const char *name = mt_site_name(type);
  if (type == MT_TYPE_UNTYPED)
    mt_snprintf(buf, len, "(untyped)");
  else if (type == MT_TYPE_OVERFLOW)
    mt_snprintf(buf, len, "(other sites: type table full)");
  else if (name)
    mt_snprintf(buf, len, "%s", name);
  else
    mt_report_pc(buf, len, mt_site_pc(type));
}

size_t mt_report_frame(char *buf, size_t len, unsigned i, uintptr_t pc) {
  char where[512];
  mt_report_pc(where, sizeof(where), pc);
  /* Without a symbol the address is already in `where`. */
  if (where[0] == '0' && where[1] == 'x')
    return mt_snprintf(buf, len, "    #%u %s\n", i, where);
  return mt_snprintf(buf, len, "    #%u %p in %s\n", i, (void *)pc, where);
}

/* ---- the reporter -------------------------------------------------------- */

static const char rule[] =
    "=================================================================\n";

void mt_report_error(mt_error_kind_t kind, uintptr_t addr, uintptr_t block, size_t block_size,
                     const char *detail) {
  __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
  char buf[2048];
  size_t pos = 0;
  pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "%s", rule);
  pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "memtype: ERROR: %s at %p",
                     mt_error_names[kind], (void *)addr);
  if (block) {
    if (addr >= block)
      pos += mt_snprintf(buf + pos, sizeof(buf) - pos, " (%lu bytes into a %zu-byte block)",
                         (unsigned long)(addr - block), block_size);
    else
      pos += mt_snprintf(buf + pos, sizeof(buf) - pos, " (%lu bytes before a %zu-byte block)",
                         (unsigned long)(block - addr), block_size);
  }
  pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "\n");
  if (detail)
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "  %s\n", detail);
  pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "  thread %ld of process %d (%s)\n",
                     mt_os_gettid(), mt_os_getpid(), mt_os_progname());
  int64_t act = mt_opt.on_error;
  if (act == MT_ACTION_CONTINUE)
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos,
                       "memtype will now continue, leaving the block alone\n");
  else if (act >= MT_ACTION_EXIT_BASE)
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "memtype will now exit with status %d\n",
                       (int)(act - MT_ACTION_EXIT_BASE));
  else
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos,
                       "memtype will now abort (MEMTYPE_ON_ERROR=continue to go on)\n");
  pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "%s", rule);
  sink(buf, pos);
  if (act == MT_ACTION_CONTINUE)
    return;
  if (act >= MT_ACTION_EXIT_BASE)
    mt_os_exit((int)(act - MT_ACTION_EXIT_BASE));
  mt_os_abort();
}
