/* report.h - the one way memtype speaks: a fixed-buffer formatter and the
 * error reporter. Everything here is async-signal-safe (no malloc, no stdio,
 * write(2) on preformatted buffers); the sink is a function pointer so that
 * tests can capture what would go to stderr. */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "mt_types.h"

/* Kinds of heap error; names are the stderr contract, never renamed. */
typedef enum mt_error_kind {
  MT_ERR_INVALID_FREE,
  MT_ERR_DOUBLE_FREE,
  MT_ERR_REALLOC_OF_FREED,
  MT_ERR_INVALID_REALLOC,
  MT_ERR_OVERFLOW,         /* heap-buffer-overflow: the redzone after a block changed */
  MT_ERR_WRITE_AFTER_FREE, /* the trash of a freed block changed */
  MT_ERR_MISMATCHED_FREE,  /* free of new, delete of malloc, delete of new[], wrong sized delete */
  MT_ERR_USABLE_OF_FREED,  /* malloc_usable_size of a freed block */
  MT_ERR_INVALID_USABLE,   /* malloc_usable_size of a pointer that is no block's start */
  MT_ERR_UNDERFLOW,        /* heap-buffer-underflow: a guard page before a block */
  MT_ERR_USE_AFTER_FREE,   /* use-after-free: a freed guarded block touched */
  MT_ERR_WILD_ACCESS,      /* wild-access: a fault in memtype's heap, in no block, or at an
                              address no memory can have (not canonical) */
  MT_ERR_SEGV,             /* segv: a fault outside memtype's heap (a NULL pointer...) */
  MT_ERR_BUS,              /* bus-error: SIGBUS outside memtype's heap (a truncated file...) */
  MT_ERR_PARAM_OVERLAP,    /* param-overlap: memcpy, strcpy... given overlapping ranges */
  MT_ERR_BAD_PARAM,        /* bad-param: an allocation call given a size or an alignment that
                              no correct call gives (a negative size, calloc's product
                              overflowing, an alignment not a power of two) */
  MT_ERR_COUNT
} mt_error_kind_t;

enum { MT_ACCESS_UNKNOWN = 0, MT_ACCESS_READ = 1, MT_ACCESS_WRITE = 2 };

/* What one report says. Zero fields are left out of it. */
typedef struct mt_err_s {
  mt_error_kind_t kind;
  int access;             /* MT_ACCESS_* */
  uintptr_t addr;         /* the address at fault: the pointer, the first changed byte */
  uintptr_t block;        /* start of the block it concerns, 0 when none */
  size_t size;            /* the block's requested size */
  int type;               /* its type id, -1 when unknown */
  uintptr_t free_pc;      /* where it was freed (freed blocks) */
  uint32_t alloc_stack;   /* the block's allocation stack in the depot (depot.h), 0 = none:
                             then its type's call-site stack is shown */
  uint32_t free_stack;    /* its free stack in the depot, 0 = none: then free_pc */
  const char *detail;     /* one line: what memtype saw */
  const char *detail2;    /* a second line (the neighbours of a corrupt free block), or NULL */
  const unsigned char *seen;   /* a hex window: the bytes as found... */
  const unsigned char *expect; /* ...and as they should be (shown as '.') */
  size_t window;               /* its length (at most 64) */
  uintptr_t window_addr;       /* the address of seen[0] */
  int fatal_sig;               /* a crash: the process dies of it after the report and the
                                  dump, whatever MEMTYPE_ON_ERROR says (mt_report returns) */
  const void *uc;              /* a fault's ucontext (memguard), or NULL: see error_stack */
  bool go_on;                  /* the call fails as glibc's would and the program may handle
                                  that: the report never stops it, whatever MEMTYPE_ON_ERROR
                                  says (bad-param) */
} mt_err_t;

/* The caller's stack without memtype's own frames; how many. */
unsigned mt_report_user_stack(uintptr_t *out, unsigned max);
extern const char *const mt_error_names[MT_ERR_COUNT];

typedef void (*mt_sink_fn)(const char *buf, size_t len);
/* Notes what fd 2 is (constructor time): reports go to fd 2 only while it
 * is still that; then to the same target opened again, or <dump>.log. */
void mt_report_note_stderr(void);
/* Replaces the sink (NULL restores stderr); returns the previous one. */
mt_sink_fn mt_report_set_sink(mt_sink_fn fn);

/* A small formatter: %s %d %u %ld %lu %zu %p %x %lx %%, with a field width
 * and the - flag (%-20s, %9lu). Always terminates. */
size_t mt_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);
size_t mt_snprintf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats and sends one message to the sink. */
void mt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "memtype: warning: ...", rate-limited (and counted). */
void mt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned long mt_warn_count(void);
/* The words for an errno value, as strerror(3) gives them ("No such file or
 * directory"), from a fixed table of the values a file or mapping call
 * returns; "error N" for others. Async-signal-safe, unlike strerror. */
const char *mt_errno_text(int err, char *buf, size_t len);

/* Sends len bytes to the sink as they are. */
void mt_report_write(const char *buf, size_t len);
/* "symbol+0xoff (module)" for a code address, "0xpc (module+0xoff)" without
 * a symbol, "0xpc" outside any module; returns the length. */
size_t mt_report_pc(char *buf, size_t len, uintptr_t pc);
/* A type's name: its MEMTYPE_TYPES or memtype.h name, or its call site as
 * mt_report_pc() writes it. */
void mt_report_type_name(unsigned type, char *buf, size_t len);
/* The stack lines of a return address, "    #i 0xpc in symbol+0xoff (file.c:line)\n"
 * where the module has a line table for it, "... (module)\n" else, preceded
 * by a line "    #i 0xpc in function (file.h:line) (inlined)\n" for each
 * call inlined there (.debug_info); their length. *i numbers the lines and
 * is advanced past them. Demangled. Safe in a signal handler (no malloc, no
 * stdio, no lock waited for in a report: symtab.h). */
size_t mt_report_frame(char *buf, size_t len, unsigned *i, uintptr_t pc);
/* The same for any code address: is_return false for an instruction's own
 * address (a fault's pc), whose line is its own, not the call's before it. */
size_t mt_report_frame_at(char *buf, size_t len, unsigned *i, uintptr_t pc, bool is_return);

/* The one reporter: writes the report, records it as an event for the dump,
 * then does what MEMTYPE_ON_ERROR says. Returns only for `continue`; then a
 * block already reported is not reported again (returns at once). A crash
 * (fatal_sig) returns after the report: the caller writes the dump and
 * lets the signal kill. */
void mt_report(const mt_err_t *e);
/* The short form for pointer errors: kind, address, block (0 = none). */
void mt_report_error(mt_error_kind_t kind, uintptr_t addr, uintptr_t block, size_t block_size,
                     const char *detail);
unsigned long mt_error_count(void);
/* Called before an error makes the process abort (sig 6) or exit (sig 0):
 * writes the dump. */
extern void (*mt_report_exit_hook)(int sig);

/* An error as the dump's ERRORS section records it. */
typedef struct mt_err_event_s {
  uint64_t seq;       /* 1 for the first error; 0 = slot not written */
  uint64_t time_ns;
  uint64_t addr, block, size, free_pc;
  uint32_t tid;
  int32_t type;
  uint8_t kind, access, nframes, flags; /* flags: MT_ERR_EVENT_FAULT_PC */
  uint64_t frames[MT_EVENT_FRAMES]; /* where it was detected, memtype's frames left out */
  uint32_t alloc_stack, free_stack; /* the block's stacks in the depot (depot.h), 0 = none */
} mt_err_event_t;
#define MT_ERR_EVENTS 256
/* An event's frames[0] is a faulting instruction's own address, not a return
 * address (written to the dump as its MT_DUMP_ERROR_FAULT_PC). */
#define MT_ERR_EVENT_FAULT_PC 1u
/* The ring of the latest errors (check seq); the total reported. */
const mt_err_event_t *mt_report_events(void);

/* The reporter's lock is free again in a fork child. */
void mt_report_fork_child(void);

#endif
