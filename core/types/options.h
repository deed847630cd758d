/* options.h - the parsed MEMTYPE_* configuration (rows in options.def).
 * Parsed once at bootstrap from the raw environment (again at constructor
 * time when the loader's first malloc came before environ was set), into
 * memtype's own memory; read-only afterwards. */
#ifndef MT_OPTIONS_H
#define MT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ACTION values: MT_ACTION_EXIT_BASE + N means exit:N. */
enum { MT_ACTION_ABORT = 0, MT_ACTION_CONTINUE = -1, MT_ACTION_EXIT_BASE = 1 };

#define MT_OPT_TYPE_BOOL int64_t
#define MT_OPT_TYPE_INT int64_t
#define MT_OPT_TYPE_ACTION int64_t
/* A literal (the default) or options.c's own copy of the value, never the
 * environment's string: programs write over theirs (process titles). */
#define MT_OPT_TYPE_STR const char *

typedef struct mt_options_s {
#define MT_OPT(field, NAME, kind, def, min, max, help) MT_OPT_TYPE_##kind field;
#include "options.def"
#undef MT_OPT
} mt_options_t;

extern mt_options_t mt_opt;

/* Parses env (NULL = defaults only). Returns false and writes the message
 * into err (NUL-terminated, at most errlen) on an invalid value. Unknown
 * MEMTYPE_* names are warned about through mt_warn. In secure-execution
 * mode nothing is read. */
bool mt_options_parse(char **env, bool secure, char *err, unsigned errlen);
void mt_options_set_defaults(void);
/* Writes the effective configuration (MEMTYPE_VERBOSE). */
void mt_options_print(void);

/* Expands a MEMTYPE_OUTPUT template (%p pid, %e program, %% percent) into
 * buf; false when it does not fit. */
bool mt_dump_path(const char *tmpl, int pid, const char *prog, char *buf, size_t len);

#endif
