/* report.c - formatter, warnings and the error reporter (see report.h).
 * Every report has the same shape: a rule line, the headline
 * `memtype: ERROR: <kind> ...`, the thread, what memtype does next, a rule. */
#include "report.h"

#include "demangle.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "depot.h"
#include "options.h"
#include "os.h"
#include "life.h"
#include "lock.h"
#include "modules.h"
#include "site.h"
#include "suppress.h"
#include "symtab.h"
#include "unwind.h"

const char *const mt_error_names[MT_ERR_COUNT] = {
    [MT_ERR_INVALID_FREE] = "invalid-free",
    [MT_ERR_DOUBLE_FREE] = "double-free",
    [MT_ERR_REALLOC_OF_FREED] = "realloc-of-freed",
    [MT_ERR_INVALID_REALLOC] = "invalid-realloc",
    [MT_ERR_OVERFLOW] = "heap-buffer-overflow",
    [MT_ERR_WRITE_AFTER_FREE] = "write-after-free",
    [MT_ERR_MISMATCHED_FREE] = "mismatched-free",
    [MT_ERR_USABLE_OF_FREED] = "usable-size-of-freed",
    [MT_ERR_INVALID_USABLE] = "invalid-usable-size",
    [MT_ERR_UNDERFLOW] = "heap-buffer-underflow",
    [MT_ERR_USE_AFTER_FREE] = "use-after-free",
    [MT_ERR_WILD_ACCESS] = "wild-access",
    [MT_ERR_SEGV] = "segv",
    [MT_ERR_BUS] = "bus-error",
    [MT_ERR_PARAM_OVERLAP] = "param-overlap",
    [MT_ERR_BAD_PARAM] = "bad-param",
};
_Static_assert(sizeof(mt_error_names) / sizeof(mt_error_names[0]) == MT_ERR_COUNT,
               "a name for every error kind");

/* Where reports go. fd 2 while it is still what it was at start (the
 * program may close it, or point it elsewhere, as daemons do); otherwise
 * the original target opened again when it has a path and takes appended
 * text safely (a terminal, a FIFO, a file opened to append), else
 * <dump>.log beside the dump. MEMTYPE_LOG names a file for all
 * of them. A file is opened for each message and closed at once: memtype
 * keeps no descriptor the program could see (docs/options.md, MEMTYPE_LOG). */
static bool err_noted, err_known;
static uint64_t err_dev, err_ino;
static char err_path[512];

void mt_report_note_stderr(void) {
  err_known = mt_os_fd_identity(2, &err_dev, &err_ino);
  if (!err_known || !mt_os_fd_reopenable(2) || mt_os_fd_path(2, err_path, sizeof(err_path)) < 0 ||
      err_path[0] != '/')
    err_path[0] = '\0';
  err_noted = true;
}

static bool append_to(const char *path, bool create, bool same, const char *buf, size_t len) {
  int fd = mt_os_open_append(path, create);
  if (fd < 0)
    return false;
  uint64_t dev, ino;
  bool ok = !same || (mt_os_fd_identity(fd, &dev, &ino) && dev == err_dev && ino == err_ino);
  if (ok)
    mt_os_write(fd, buf, len);
  mt_os_close(fd);
  return ok;
}

static bool append_to_template(const char *tmpl, const char *suffix, const char *buf,
                               size_t len) {
  char path[4096];
  if (!mt_dump_path(tmpl, mt_os_getpid(), mt_os_progname(), path, sizeof(path) - 8))
    return false;
  size_t n = strlen(path);
  mt_snprintf(path + n, sizeof(path) - n, "%s", suffix);
  return append_to(path, true, false, buf, len);
}

static void sink_stderr(const char *buf, size_t len) {
  if (mt_opt.log && mt_opt.log[0] && append_to_template(mt_opt.log, "", buf, len))
    return;
  uint64_t dev, ino;
  if (!err_noted || (err_known && mt_os_fd_identity(2, &dev, &ino) && dev == err_dev &&
                     ino == err_ino)) {
    mt_os_write(2, buf, len);
    return;
  }
  if (mt_os_is_secure())
    return;
  if (err_path[0] && append_to(err_path, false, true, buf, len))
    return;
  if (mt_opt.output && strcmp(mt_opt.output, "off") != 0)
    append_to_template(mt_opt.output, ".log", buf, len);
}
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
  /* A warning is one line whatever it quotes: a long value is cut short
   * with "...", leaving room for the tail and the newline. */
  char buf[1024];
  size_t cap = sizeof(buf) - 40;
  size_t pos = mt_snprintf(buf, cap, "memtype: warning: ");
  va_list ap;
  va_start(ap, fmt);
  pos += mt_vsnprintf(buf + pos, cap - pos, fmt, ap);
  va_end(ap);
  if (pos >= cap - 1)
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "...");
  if (n == 99)
    pos += mt_snprintf(buf + pos, sizeof(buf) - pos, " (further warnings suppressed)");
  pos += mt_snprintf(buf + pos, sizeof(buf) - pos, "\n");
  sink(buf, pos);
}

const char *mt_errno_text(int err, char *buf, size_t len) {
  static const struct {
    int err;
    const char *text;
  } table[] = {
      {EPERM, "Operation not permitted"},     {ENOENT, "No such file or directory"},
      {EINTR, "Interrupted system call"},     {EIO, "Input/output error"},
      {EBADF, "Bad file descriptor"},         {EAGAIN, "Resource temporarily unavailable"},
      {ENOMEM, "Cannot allocate memory"},     {EACCES, "Permission denied"},
      {EFAULT, "Bad address"},                {EBUSY, "Device or resource busy"},
      {EEXIST, "File exists"},                {ENOTDIR, "Not a directory"},
      {EISDIR, "Is a directory"},             {EINVAL, "Invalid argument"},
      {ENFILE, "Too many open files in system"}, {EMFILE, "Too many open files"},
      {EFBIG, "File too large"},              {ENOSPC, "No space left on device"},
      {ESPIPE, "Illegal seek"},               {EROFS, "Read-only file system"},
      {EPIPE, "Broken pipe"},                 {ENAMETOOLONG, "File name too long"},
      {ELOOP, "Too many levels of symbolic links"}, {EDQUOT, "Disk quota exceeded"},
      {ENODEV, "No such device"},             {ETXTBSY, "Text file busy"},
      {EOVERFLOW, "Value too large for defined data type"}, {ENOSYS, "Function not implemented"},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (table[i].err == err)
      return table[i].text;
  mt_snprintf(buf, len, "error %d", err);
  return buf;
}

unsigned long mt_warn_count(void) { return __atomic_load_n(&warnings, __ATOMIC_RELAXED); }
unsigned long mt_error_count(void) { return __atomic_load_n(&errors, __ATOMIC_RELAXED); }

/* ---- names and stacks ------------------------------------------------------ */

void mt_report_write(const char *buf, size_t len) { sink(buf, len); }

size_t mt_report_pc(char *buf, size_t len, uintptr_t pc) {
  const char *func, *module;
  uintptr_t faddr, base;
  if (!mt_symbol_at(pc, &func, &faddr, &module, &base) || module == NULL)
    return mt_snprintf(buf, len, "%p", (void *)pc);
  const char *mod = strrchr(module, '/');
  mod = mod ? mod + 1 : module;
  if (*mod == '\0')
    mod = mt_os_progname();
  char readable[512]; /* C++ names demangled (a subset: demangle.c) */
  if (func && mt_demangle(func, readable, sizeof(readable)))
    func = readable;
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
  else {
    /* glibc's internal aliases (__GI_malloc, __GI__IO_file_doallocate) name
     * the function as its public symbol does: memtype report's
     * symbolizer gives the public name, and a type is named alike in both */
    mt_report_pc(buf, len, mt_site_pc(type));
    if (!strncmp(buf, "__GI_", 5))
      memmove(buf, buf + 5, strlen(buf + 5) + 1);
  }
}

/* A path's last part ("stl_vector.h"), as memtype report shows files. */
static const char *base_name(const char *path) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? slash + 1 : path;
}

/* "name (file:line)" of one inlined level: the function by its demangled
 * linkage name, else by its plain name, the file by its base name. */
static void inline_label(char *buf, size_t len, const mt_inline_t *f, const char *file,
                         unsigned line) {
  char readable[512];
  const char *name = f->linkage && mt_demangle(f->linkage, readable, sizeof(readable)) ? readable
                     : f->name                                                        ? f->name
                     : f->linkage                                                     ? f->linkage
                                                                                      : "??";
  const char *base = base_name(file);
  if (base && line)
    mt_snprintf(buf, len, "%s (%s:%u)", name, base, line);
  else
    mt_snprintf(buf, len, "%s", name);
}

size_t mt_report_frame_at(char *buf, size_t len, unsigned *i, uintptr_t pc, bool is_return) {
  char where[512];
  size_t n = mt_report_pc(where, sizeof(where), pc);
  /* Without a symbol the address is already in `where`. */
  if (where[0] == '0' && where[1] == 'x')
    return mt_snprintf(buf, len, "    #%u %s\n", (*i)++, where);
  /* With a line table, the source line in place of the module:
   * "main+0x2a (buggy.c:25)", the file by its base name as memtype report
   * shows it (the line tables were read in process: symtab.c, lines.c). */
  char file[512];
  unsigned line = 0;
  bool has_line = n > 0 && where[n - 1] == ')' &&
                  mt_symtab_line(pc, is_return, file, sizeof(file), &line) && line > 0;
  /* Code inlined there (.debug_info): a line per inlined call, innermost
   * first, each at its own line; the function holding them is at the
   * outermost call's line, as valgrind and addr2line -i show them. */
  mt_inline_t inl[8];
  unsigned ninl = has_line ? mt_symtab_inlined(pc, is_return, inl, 8) : 0;
  size_t pos = 0;
  for (unsigned k = 0; k < ninl && pos < len; k++) {
    char label[640];
    if (k == 0)
      inline_label(label, sizeof(label), &inl[0], file, line);
    else
      inline_label(label, sizeof(label), &inl[k], inl[k - 1].file, inl[k - 1].line);
    pos += mt_snprintf(buf + pos, len - pos, "    #%u %p in %s (inlined)\n", (*i)++, (void *)pc,
                       label);
  }
  const char *at = base_name(file); /* the function's line: the outermost call's */
  if (ninl && inl[ninl - 1].file && inl[ninl - 1].line) {
    at = base_name(inl[ninl - 1].file);
    line = inl[ninl - 1].line;
  }
  char *open = has_line ? strrchr(where, '(') : NULL;
  if (open)
    mt_snprintf(open, sizeof(where) - (size_t)(open - where), "(%s:%u)", at, line);
  if (pos < len)
    pos += mt_snprintf(buf + pos, len - pos, "    #%u %p in %s\n", (*i)++, (void *)pc, where);
  return pos;
}

size_t mt_report_frame(char *buf, size_t len, unsigned *i, uintptr_t pc) {
  return mt_report_frame_at(buf, len, i, pc, true);
}

/* ---- the reporter -------------------------------------------------------- */

static const char rule[] =
    "=================================================================\n";
static mt_err_event_t events[MT_ERR_EVENTS];

const mt_err_event_t *mt_report_events(void) { return events; }

unsigned mt_report_user_stack(uintptr_t *out, unsigned max) {
  uintptr_t all[48];
  unsigned n = mt_unwind_capture(all, 48), k = 0, i = 0;
  const char *self = NULL, *func, *module;
  if (mt_symbol((uintptr_t)&mt_report_user_stack, &func, &module))
    self = module;
  while (i < n && self && mt_symbol(all[i], &func, &module) && module &&
         strcmp(module, self) == 0)
    i++;
  for (; i < n && k < max; i++)
    out[k++] = all[i];
  return k;
}

/* Where an error was detected. For a fault (memguard's handler passes the
 * signal's ucontext in e->uc) the rule is: frame #0 is the faulting
 * instruction's function in the program, then its callers; memtype's handler
 * frames and the kernel's signal trampoline are never shown. So the stack is
 * unwound from the ucontext (mt_unwind_capture_context's contract), not from
 * the handler: skipping frames by name would depend on the machine (libc's
 * __restore_rt has a name only where libc's debug symbols are installed,
 * e.g. Debian's libc6-dbg). Should that capture give nothing, the handler's
 * own stack is searched for the faulting pc (an unwinder that crosses the
 * signal frame shows it right after the trampoline); failing that, the
 * faulting pc alone. Any other error: the caller's stack without memtype's
 * frames. */
static unsigned error_stack(const mt_err_t *e, uintptr_t *out, unsigned max, bool *fault_pc) {
  *fault_pc = false;
  if (e->uc == NULL)
    return mt_report_user_stack(out, max);
  uintptr_t fpc = mt_os_fault_pc(e->uc);
  if (fpc == e->addr && max > 1 && mt_os_fault_is_fetch(e->uc, e->addr)) {
    /* a jump or call to a bad address: no code there to unwind from; the
     * target, then the stack of the call (the return address on top) */
    static uint64_t popped[512]; /* a context's copy (not on a signal stack) */
    static int busy;             /* two threads at once: the second does without */
    if (!__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE)) {
      unsigned n = mt_os_context_pop_return(e->uc, popped, sizeof(popped))
                       ? mt_unwind_capture_context(out + 1, max - 1, popped)
                       : 0;
      __atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
      if (n > 0) {
        *fault_pc = true;
        out[0] = fpc;
        return n + 1;
      }
    }
  }
  unsigned n = mt_unwind_capture_context(out, max, e->uc);
  if (n > 0) {
    *fault_pc = true;
    /* memtype's own frames between libc and the program (a checked call's
     * wrapper, libc faulting under it on a guard page) are not the
     * program's: left out, as they are from every other stack */
    mt_module_t self;
    if (mt_modules_find((uintptr_t)&error_stack, &self)) {
      unsigned k = 1;
      for (unsigned i = 1; i < n; i++)
        if (out[i] < self.lo || out[i] >= self.hi)
          out[k++] = out[i];
      n = k;
    }
    return n;
  }
  uintptr_t pc = mt_os_fault_pc(e->uc), all[48];
  unsigned na = mt_report_user_stack(all, 48), i = 0, k = 0;
  if (pc == 0)
    return mt_report_user_stack(out, max);
  *fault_pc = true;
  while (i < na && all[i] != pc)
    i++;
  if (i == na) {
    out[0] = pc;
    return 1;
  }
  for (; i < na && k < max; i++)
    out[k++] = all[i];
  return k;
}

/* Blocks reported already (MEMTYPE_ON_ERROR=continue reports each once). */
#define SEEN 4096
static uintptr_t seen[SEEN];

static bool seen_before(uintptr_t block) {
  if (block == 0)
    return false;
  for (unsigned i = (unsigned)((block >> 4) * 0x9e3779b1u) % SEEN, probes = 0; probes < SEEN;
       i = (i + 1) % SEEN, probes++) {
    uintptr_t old = __atomic_load_n(&seen[i], __ATOMIC_RELAXED);
    if (old == block)
      return true;
    if (old == 0 && __atomic_compare_exchange_n(&seen[i], &old, block, false, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED))
      return false;
    if (old == block)
      return true;
  }
  return false; /* full: report again rather than stay silent */
}

/* Errors told already, by context: the kind and access, where the access
 * lies against its block (the same distance before, into or after it),
 * the stack that detected it, the block's allocation stack and type. With
 * MEMTYPE_ON_ERROR=continue an error of a context seen before is counted,
 * not printed again: a bug in a loop over a thousand blocks is one report
 * on stderr (valgrind counts an error context once too), not a thousand.
 * The first repeat says so in a line; the dump's ring of the latest errors
 * keeps the first few repeats of a context, not every one, so that a loop
 * does not push the other contexts' errors out of it. */
#define CONTEXTS 1024
#define REPEATS_KEPT 3
static uint64_t contexts[CONTEXTS];
static uint32_t context_hits[CONTEXTS];

static uint64_t context_of(const mt_err_t *e, const uintptr_t *pcs, unsigned n) {
  uint64_t h = 0xcbf29ce484222325ull;
  uintptr_t end = e->block + e->size;
  uint64_t where = !e->block ? 0
                   : e->addr >= end && e->addr != e->block ? 1 + ((e->addr - end) << 2)
                   : e->addr < e->block                   ? 2 + ((e->block - e->addr) << 2)
                                                          : 3 + ((e->addr - e->block) << 2);
  uint64_t words[4] = {(uint64_t)e->kind << 8 | (uint64_t)e->access, where,
                       (uint64_t)e->alloc_stack << 32 | (uint32_t)(e->block ? e->type : -1), n};
  for (unsigned i = 0; i < 4 + n; i++) {
    h ^= i < 4 ? words[i] : pcs[i - 4];
    h *= 0x100000001b3ull;
  }
  return h ? h : 1;
}

/* How many times the context was met before (0: new, now noted; also 0
 * when the table is full: every error is then told). */
static uint32_t context_seen(uint64_t key) {
  for (unsigned i = (unsigned)(key % CONTEXTS), probes = 0; probes < CONTEXTS;
       i = (i + 1) % CONTEXTS, probes++) {
    uint64_t old = __atomic_load_n(&contexts[i], __ATOMIC_RELAXED);
    if (old == 0 && __atomic_compare_exchange_n(&contexts[i], &old, key, false,
                                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return 0;
    if (old == key)
      return __atomic_add_fetch(&context_hits[i], 1, __ATOMIC_RELAXED);
  }
  return 0;
}

/* "  <what>:" then the frames; nothing when there are none. fault: frame
 * #0 is a faulting instruction's own address, not a return address. */
static size_t put_stack(char *buf, size_t len, const char *what, const uintptr_t *pcs,
                        unsigned n, bool fault) {
  if (n == 0)
    return 0;
  size_t pos = mt_snprintf(buf, len, "  %s:\n", what);
  unsigned line = 0; /* inlined calls take lines of their own */
  mt_module_t self;
  bool skip = mt_modules_find((uintptr_t)&put_stack, &self);
  for (unsigned f = 0; f < n && pos < len; f++)
    if (f == 0 || !skip || pcs[f] < self.lo || pcs[f] >= self.hi) /* memtype's wrappers: not shown */
      pos += mt_report_frame_at(buf + pos, len - pos, &line, pcs[f], !(fault && f == 0));
  return pos;
}

/* Hex lines of the window, 16 bytes each, bytes as expected shown as "..". */
static size_t put_window(char *buf, size_t len, const mt_err_t *e) {
  size_t pos = 0, n = e->window > 64 ? 64 : e->window;
  for (size_t row = 0; row < n && pos < len; row += 16) {
    pos += mt_snprintf(buf + pos, len - pos, "    %p:", (void *)(e->window_addr + row));
    for (size_t i = row; i < row + 16 && i < n && pos < len; i++) {
      if (e->seen[i] == e->expect[i])
        pos += mt_snprintf(buf + pos, len - pos, " ..");
      else
        pos += mt_snprintf(buf + pos, len - pos, " %s%x", e->seen[i] < 16 ? "0" : "",
                           (unsigned)e->seen[i]);
    }
    pos += mt_snprintf(buf + pos, len - pos, "\n");
  }
  return pos;
}

static void record(const mt_err_t *e, const uintptr_t *pcs, unsigned n, bool fault_pc) {
  static uint64_t nseq;
  uint64_t seq = __atomic_add_fetch(&nseq, 1, __ATOMIC_RELAXED);
  mt_err_event_t *v = &events[(seq - 1) % MT_ERR_EVENTS];
  __atomic_store_n(&v->seq, 0, __ATOMIC_RELAXED);
  v->time_ns = mt_os_realtime_ns();
  v->addr = e->addr;
  v->block = e->block;
  v->size = e->size;
  v->free_pc = e->free_pc;
  v->alloc_stack = e->block ? e->alloc_stack : 0;
  v->free_stack = e->block ? e->free_stack : 0;
  v->tid = (uint32_t)mt_os_gettid();
  v->type = e->block ? e->type : -1;
  v->kind = (uint8_t)e->kind;
  v->access = (uint8_t)e->access;
  v->flags = fault_pc && n ? MT_ERR_EVENT_FAULT_PC : 0;
  v->nframes = (uint8_t)(n > MT_EVENT_FRAMES ? MT_EVENT_FRAMES : n);
  for (unsigned f = 0; f < MT_EVENT_FRAMES; f++)
    v->frames[f] = f < n ? pcs[f] : 0;
  __atomic_store_n(&v->seq, seq, __ATOMIC_RELEASE);
}

/* One report at a time, but never a wait that could last: the reporter
 * runs in signal handlers (memguard's faults) and in any thread. A report
 * nested in another on the same thread (a fault while reporting), or one
 * that has waited a while for a thread that is stuck or died holding the
 * lock, goes on without it in a buffer of its own. */
static long report_owner; /* the lock: 0, or the thread id reporting */

enum { REPORT_LOCKED, REPORT_NESTED, REPORT_WAITED };

static int report_enter(long me, unsigned tries) {
  for (unsigned i = 0; tries == 0 || i < tries; i++) {
    long cur = 0;
    if (__atomic_compare_exchange_n(&report_owner, &cur, me, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return REPORT_LOCKED;
    if (cur == me)
      return REPORT_NESTED;
    mt_os_yield();
  }
  return REPORT_WAITED;
}

static void report_leave(bool locked) {
  if (locked)
    __atomic_store_n(&report_owner, 0, __ATOMIC_RELEASE);
}

void mt_report_fork_child(void) {
  report_owner = 0;
  /* the child's own first error of each context is told in full */
  memset(contexts, 0, sizeof(contexts));
  memset(context_hits, 0, sizeof(context_hits));
}

static const char *signal_name(int sig) {
  switch (sig) {
  case SIGILL: return "SIGILL";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGFPE: return "SIGFPE";
  case SIGSEGV: return "SIGSEGV";
  default: return "a signal";
  }
}

void mt_report(const mt_err_t *e) {
  int64_t act = e->fatal_sig ? MT_ACTION_ABORT : e->go_on ? MT_ACTION_CONTINUE : mt_opt.on_error;
  mt_modules_hold++; /* nothing below asks the loader */
  static char shared[16384]; /* three stacks of up to 16 frames with file:line */
  char own[2048];
  uintptr_t here[16];
  bool fault_pc;
  unsigned nhere = error_stack(e, here, 16, &fault_pc);
  /* MEMTYPE_SUPPRESS: not told, not counted (a fatal signal still is);
   * before the block is noted as reported, so that a later error of
   * another stack on the same block is still told */
  if ((!e->fatal_sig && mt_suppress_errors_on() &&
       mt_suppress_error((unsigned)e->kind, here, nhere, fault_pc)) ||
      (act == MT_ACTION_CONTINUE && seen_before(e->block))) {
    mt_modules_hold--;
    return;
  }
  __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
  if (act == MT_ACTION_CONTINUE) {
    uint32_t again = context_seen(context_of(e, here, nhere));
    if (again) {
      if (again == 1)
        mt_printf("memtype: %s%s again with the same stacks, at %p: such errors are counted "
                  "from now on, not printed again (memtype report --errors groups them)\n",
                  mt_error_names[e->kind],
                  e->access == MT_ACCESS_WRITE ? " WRITE"
                  : e->access == MT_ACCESS_READ ? " READ" : "", (void *)e->addr);
      if (again <= REPEATS_KEPT)
        record(e, here, nhere, fault_pc);
      mt_modules_hold--;
      return;
    }
  }
  long me = mt_os_gettid();
  int entered = report_enter(me, 100000);
  bool locked = entered == REPORT_LOCKED;
  char *buf = locked ? shared : own;
  size_t pos = 0, len = locked ? sizeof(shared) : sizeof(own);
  pos += mt_snprintf(buf + pos, len - pos, "%smemtype: ERROR: %s%s at %p", rule,
                     mt_error_names[e->kind],
                     e->access == MT_ACCESS_WRITE ? " WRITE" : e->access == MT_ACCESS_READ ? " READ" : "",
                     (void *)e->addr);
  if (e->block) {
    char type[256] = "";
    if (e->type >= 0)
      mt_report_type_name((unsigned)e->type, type, sizeof(type));
    uintptr_t end = e->block + e->size;
    if (e->addr >= end && e->addr != e->block)
      pos += mt_snprintf(buf + pos, len - pos, " (%lu bytes after", (unsigned long)(e->addr - end));
    else if (e->addr < e->block)
      pos += mt_snprintf(buf + pos, len - pos, " (%lu bytes before",
                         (unsigned long)(e->block - e->addr));
    else
      pos += mt_snprintf(buf + pos, len - pos, " (%lu bytes into",
                         (unsigned long)(e->addr - e->block));
    pos += mt_snprintf(buf + pos, len - pos, " a %zu-byte %sblock%s%s)", e->size,
                       e->fatal_sig && e->free_pc ? "freed " : "", type[0] ? " of type " : "",
                       type);
  }
  pos += mt_snprintf(buf + pos, len - pos, "\n");
  if (e->detail)
    pos += mt_snprintf(buf + pos, len - pos, "  %s\n", e->detail);
  if (e->detail2 && pos < len)
    pos += mt_snprintf(buf + pos, len - pos, "  %s\n", e->detail2);
  if (e->window && e->seen && e->expect)
    pos += put_window(buf + pos, len - pos, e);
  char tname[32];
  mt_os_thread_name(tname, sizeof(tname));
  pos += mt_snprintf(buf + pos, len - pos, "  thread %ld (%s) of process %d (%s)\n",
                     me, tname, mt_os_getpid(), mt_os_progname());
  pos += put_stack(buf + pos, len - pos, "detected at", here, nhere, fault_pc);
  uintptr_t frames[MT_DEPOT_MAX_FRAMES];
  unsigned nf = e->block ? mt_depot_get(e->alloc_stack, frames, MT_DEPOT_MAX_FRAMES) : 0;
  if (nf) {
    pos += put_stack(buf + pos, len - pos, "block allocated at", frames, nf, false);
  } else if (e->block && e->type >= 0) {
    unsigned na = mt_site_stack((unsigned)e->type, frames, MT_MAX_DEPTH);
    const char *name = mt_site_name((unsigned)e->type);
    if (na)
      pos += put_stack(buf + pos, len - pos, "block allocated at", frames, na, false);
    else if (name && pos < len)
      pos += mt_snprintf(buf + pos, len - pos, "  block allocated as type %s\n", name);
  }
  nf = e->block ? mt_depot_get(e->free_stack, frames, MT_DEPOT_MAX_FRAMES) : 0;
  if (nf)
    pos += put_stack(buf + pos, len - pos, "block freed at", frames, nf, false);
  else if (e->free_pc)
    pos += put_stack(buf + pos, len - pos, "block freed at", &e->free_pc, 1, false);
  if (pos < len) {
    if (e->fatal_sig)
      pos += mt_snprintf(buf + pos, len - pos,
                         "memtype will now write the dump and let the process die of %s "
                         "(signal %d), as it would have\n", signal_name(e->fatal_sig), e->fatal_sig);
    else if (e->go_on)
      pos += mt_snprintf(buf + pos, len - pos,
                         "memtype will now continue: the call fails as glibc's does, and the "
                         "program may handle that (this call site is not reported again)\n");
    else if (act == MT_ACTION_CONTINUE)
      pos += mt_snprintf(buf + pos, len - pos,
                         "memtype will now continue (the block is not reported again)\n");
    else if (act >= MT_ACTION_EXIT_BASE)
      pos += mt_snprintf(buf + pos, len - pos, "memtype will now exit with status %d\n",
                         (int)(act - MT_ACTION_EXIT_BASE));
    else
      pos += mt_snprintf(buf + pos, len - pos,
                         "memtype will now abort, after writing the dump "
                         "(MEMTYPE_ON_ERROR=continue to go on)\n");
  }
  if (pos < len)
    pos += mt_snprintf(buf + pos, len - pos, "%s", rule);
  sink(buf, pos < len ? pos : len - 1);
  record(e, here, nhere, fault_pc);
  report_leave(locked);
  if (e->fatal_sig) {
    mt_life_set_ending(MT_END_SIGNALED, 0, e->fatal_sig, MT_VIA_CRASH);
    mt_modules_hold--;
    return;
  }
  if (act == MT_ACTION_CONTINUE) {
    mt_modules_hold--;
    return;
  }
  /* Another thread's report is still going (it will end the process, its
   * dump first): this one waits rather than cut that dump short. */
  if (entered == REPORT_WAITED)
    report_enter(me, 0);
  if (act >= MT_ACTION_EXIT_BASE)
    mt_life_set_ending(MT_END_EXITED, (int)(act - MT_ACTION_EXIT_BASE), 0, MT_VIA_ERROR);
  else
    mt_life_set_ending(MT_END_SIGNALED, 0, 6, MT_VIA_ERROR);
  if (mt_report_exit_hook) /* the dump, with this error in it */
    mt_report_exit_hook(act >= MT_ACTION_EXIT_BASE ? 0 : 6);
  if (act >= MT_ACTION_EXIT_BASE)
    mt_os_exit((int)(act - MT_ACTION_EXIT_BASE));
  mt_os_abort();
}

void (*mt_report_exit_hook)(int sig);

void mt_report_error(mt_error_kind_t kind, uintptr_t addr, uintptr_t block, size_t block_size,
                     const char *detail) {
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  e.kind = kind;
  e.addr = addr;
  e.block = block;
  e.size = block_size;
  e.type = -1;
  e.detail = detail;
  mt_report(&e);
}
