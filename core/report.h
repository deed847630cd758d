/* report.h - the one way memtype speaks: a fixed-buffer formatter and the
 * error reporter. Everything here is async-signal-safe (no malloc, no stdio,
 * write(2) on preformatted buffers); the sink is a function pointer so that
 * tests can capture what would go to stderr. */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Kinds of heap error; names are the stderr contract, never renamed. */
typedef enum mt_error_kind {
  MT_ERR_INVALID_FREE,
  MT_ERR_DOUBLE_FREE,
  MT_ERR_REALLOC_OF_FREED,
  MT_ERR_INVALID_REALLOC,
  MT_ERR_COUNT
} mt_error_kind_t;
extern const char *const mt_error_names[MT_ERR_COUNT];

typedef void (*mt_sink_fn)(const char *buf, size_t len);
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

/* Sends len bytes to the sink as they are. */
void mt_report_write(const char *buf, size_t len);
/* "symbol+0xoff (module)" for a code address, "0xpc (module+0xoff)" without
 * a symbol, "0xpc" outside any module; returns the length. */
size_t mt_report_pc(char *buf, size_t len, uintptr_t pc);
/* A type's name: its MEMTYPE_TYPES or memtype.h name, or its call site as
 * mt_report_pc() writes it. */
void mt_report_type_name(unsigned type, char *buf, size_t len);
/* One stack line, "    #i 0xpc in symbol+0xoff (module)\n"; its length. */
size_t mt_report_frame(char *buf, size_t len, unsigned i, uintptr_t pc);

/* Reports a heap error about address addr and then does what MEMTYPE_ON_ERROR
 * says. block/block_size/type describe the block it concerns when known
 * (block == 0 when none). Returns only for `continue`. */
void mt_report_error(mt_error_kind_t kind, uintptr_t addr, uintptr_t block, size_t block_size,
                     const char *detail);
unsigned long mt_error_count(void);

#endif
