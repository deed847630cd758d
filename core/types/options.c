/* options.c - parser for the rows of options.def (see options.h). Reads the
 * raw environment array: no getenv, no allocation, safe at bootstrap. A
 * string value is copied into this file's own storage (one fixed region per
 * STR row, sized by its longest accepted length): programs that set their
 * process title (postgres, nginx, redis) write over their environment
 * strings, and nothing of memtype may point into them. */
#include "options.h"

#include <string.h>

#include "mt_types.h"
#include "os.h"
#include "report.h"

enum kind { BOOL, INT, ACTION, STR };

/* Where the STR options' values live: a member per STR row, max + 1 bytes. */
typedef struct opt_strings_s {
#define MT_STORE_BOOL(field, max)
#define MT_STORE_INT(field, max)
#define MT_STORE_ACTION(field, max)
#define MT_STORE_STR(field, max) char field[(max) + 1];
#define MT_OPT(field, NAME, kind, def, min, max, help) MT_STORE_##kind(field, max)
#include "options.def"
#undef MT_OPT
} opt_strings_t;
static opt_strings_t strings;

typedef struct opt_row_s {
  const char *name; /* without the MEMTYPE_ prefix */
  enum kind kind;
  int64_t def;      /* numeric kinds */
  const char *sdef; /* STR */
  int64_t min, max;
  const char *help;
  size_t offset;
  size_t store; /* STR: offset of its value's region in `strings` */
} opt_row_t;

static const opt_row_t rows[] = {
#define MT_DEF_BOOL(d) d, NULL
#define MT_DEF_INT(d) d, NULL
#define MT_DEF_ACTION(d) d, NULL
#define MT_DEF_STR(d) 0, d
#define MT_STOFF_BOOL(field) 0
#define MT_STOFF_INT(field) 0
#define MT_STOFF_ACTION(field) 0
#define MT_STOFF_STR(field) offsetof(opt_strings_t, field)
#define MT_OPT(field, NAME, kind, def, min, max, help) \
  {#NAME, kind, MT_DEF_##kind(def), min, max, help, offsetof(mt_options_t, field), \
   MT_STOFF_##kind(field)},
#include "options.def"
#undef MT_OPT
};

/* The enumerated options (MT_OPT_VALUES rows): words separated by '|', and
 * what else the option's own check accepts ("" for nothing). */
static const struct {
  const char *name, *words, *more;
} enums[] = {
#define MT_OPT(field, NAME, kind, def, min, max, help)
#define MT_OPT_VALUES(NAME, words, more) {#NAME, words, more},
#include "options.def"
#undef MT_OPT_VALUES
#undef MT_OPT
};

MT_HIDDEN mt_options_t mt_opt;

static int enum_of(const opt_row_t *r) {
  for (size_t i = 0; i < sizeof(enums) / sizeof(enums[0]); i++)
    if (!strcmp(enums[i].name, r->name))
      return (int)i;
  return -1;
}

/* Is s one of the '|'-separated words? */
static bool is_word(const char *words, const char *s) {
  size_t n = strlen(s);
  for (const char *w = words; *w;) {
    const char *bar = strchr(w, '|');
    size_t wl = bar ? (size_t)(bar - w) : strlen(w);
    if (wl == n && !strncmp(w, s, n))
      return true;
    if (!bar)
      break;
    w = bar + 1;
  }
  return false;
}

void mt_options_set_defaults(void) {
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    if (rows[i].kind == STR)
      *(const char **)((char *)&mt_opt + rows[i].offset) = rows[i].sdef;
    else
      *(int64_t *)((char *)&mt_opt + rows[i].offset) = rows[i].def;
  }
}

static bool parse_int(const char *s, int64_t *out) {
  if (*s == '\0')
    return false;
  int64_t v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (INT64_MAX - 9) / 10)
      return false;
    v = v * 10 + (*s - '0');
  }
  int shift = 0;
  if (*s == 'k' || *s == 'K')
    shift = 10;
  else if (*s == 'm' || *s == 'M')
    shift = 20;
  else if (*s == 'g' || *s == 'G')
    shift = 30;
  if (shift) {
    s++;
    if (v > (INT64_MAX >> shift))
      return false;
    v <<= shift;
  }
  if (*s != '\0')
    return false;
  *out = v;
  return true;
}

static bool parse_value(const opt_row_t *r, const char *s, int64_t *out) {
  switch (r->kind) {
  case BOOL:
    if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "true"))
      return *out = 1, true;
    if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "false"))
      return *out = 0, true;
    return false;
  case INT:
    return parse_int(s, out) && *out >= r->min && *out <= r->max;
  case STR: {
    /* Every STR value fits its row's storage (min..max), enumerated or not. */
    size_t n = strlen(s);
    if ((int64_t)n < r->min || (int64_t)n > r->max)
      return false;
    int e = enum_of(r);
    if (e >= 0)
      /* beyond the words, MEMTYPE_DUMP_SIGNAL takes what the signal table takes */
      return is_word(enums[e].words, s) ||
             (!strcmp(r->name, "DUMP_SIGNAL") && mt_os_signal_number(s) != 0);
    return true;
  }
  case ACTION:
    if (!strcmp(s, "abort"))
      return *out = MT_ACTION_ABORT, true;
    if (!strcmp(s, "continue"))
      return *out = MT_ACTION_CONTINUE, true;
    if (!strncmp(s, "exit:", 5) && parse_int(s + 5, out) && *out <= r->max)
      return *out += MT_ACTION_EXIT_BASE, true;
    return false;
  }
  return false;
}

static const char *accepted(const opt_row_t *r, char *buf, unsigned len) {
  switch (r->kind) {
  case BOOL:
    return "0, 1, yes, no, on, off";
  case ACTION:
    return "abort, continue, exit:N with N in 0..255";
  case STR: {
    int e = enum_of(r);
    if (e < 0) {
      mt_snprintf(buf, len, "a string of %ld to %ld characters", (long)r->min, (long)r->max);
      return buf;
    }
    unsigned pos = 0;
    for (const char *w = enums[e].words; *w && pos + 3 < len; w++) {
      if (*w == '|')
        buf[pos++] = ',', buf[pos++] = ' ';
      else
        buf[pos++] = *w;
    }
    buf[pos] = '\0';
    if (enums[e].more[0])
      mt_snprintf(buf + pos, len - pos, "; or %s", enums[e].more);
    return buf;
  }
  case INT:
    mt_snprintf(buf, len, "an integer in %ld..%ld (K, M, G suffixes allowed)", (long)r->min,
                (long)r->max);
    return buf;
  }
  return "?";
}

/* Text from the environment as a message shows it: at most 80 bytes,
 * control characters as '?', "..." when cut, so that the message stays one
 * line and still ends with what is accepted however long or strange the
 * text (tests/fuzz/fuzz_options.c checks this). n is the text's length. */
static const char *shown(char *buf, size_t len, const char *s, size_t n) {
  size_t keep = n < len - 4 ? n : len - 4, i;
  for (i = 0; i < keep; i++)
    buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
  if (keep < n)
    buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
  buf[i] = '\0';
  return buf;
}

/* Edit distance, for did-you-mean on unknown names (short strings only). */
static unsigned distance(const char *a, size_t la, const char *b) {
  size_t lb = strlen(b);
  unsigned row[64];
  if (la >= 63 || lb >= 63)
    return 99;
  for (size_t j = 0; j <= lb; j++)
    row[j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    unsigned diag = row[0];
    row[0] = (unsigned)i;
    for (size_t j = 1; j <= lb; j++) {
      unsigned up = row[j];
      unsigned best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

bool mt_options_parse(char **env, bool secure, char *err, unsigned errlen) {
  mt_options_set_defaults();
  if (env == NULL || secure)
    return true;
  unsigned unknown = 0; /* unknown MEMTYPE_* names so far */
  for (char **e = env; *e; e++) {
    if (strncmp(*e, "MEMTYPE_", 8) != 0)
      continue;
    const char *name = *e + 8, *eq = strchr(name, '=');
    if (eq == NULL)
      continue;
    size_t nlen = (size_t)(eq - name);
    const opt_row_t *row = NULL;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
      if (strlen(rows[i].name) == nlen && !strncmp(rows[i].name, name, nlen))
        row = &rows[i];
    if (row == NULL) {
      /* Variables of the `memtype` command itself are not ours to judge. */
      if (!strncmp(name, "CMD_", 4))
        continue;
      const char *best = NULL;
      unsigned bestd = 3;
      /* Suggestions for the first 100 unknown names only (as many as
       * mt_warn prints): thousands must not cost seconds at start. */
      for (size_t i = 0; unknown < 100 && i < sizeof(rows) / sizeof(rows[0]); i++) {
        unsigned d = distance(name, nlen, rows[i].name);
        if (d < bestd)
          bestd = d, best = rows[i].name;
      }
      char nm[84];
      shown(nm, sizeof(nm), name, nlen);
      if (best)
        mt_warn("unknown variable MEMTYPE_%s ignored; did you mean MEMTYPE_%s?", nm, best);
      else
        mt_warn("unknown variable MEMTYPE_%s ignored (see `memtype options`)", nm);
      unknown++;
      continue;
    }
    int64_t v = 0;
    if (!parse_value(row, eq + 1, &v)) {
      char acc[256], val[84];
      mt_snprintf(err, errlen, "memtype: error: MEMTYPE_%s=%s: invalid value; accepted: %s\n",
                  row->name, shown(val, sizeof(val), eq + 1, strlen(eq + 1)),
                  accepted(row, acc, sizeof(acc)));
      return false;
    }
    if (row->kind == STR) {
      /* parse_value checked the length against the row's max: it fits. */
      char *copy = (char *)&strings + row->store;
      size_t n = strlen(eq + 1);
      memcpy(copy, eq + 1, n + 1);
      *(const char **)((char *)&mt_opt + row->offset) = copy;
    } else
      *(int64_t *)((char *)&mt_opt + row->offset) = v;
  }
  return true;
}

void mt_options_print(void) {
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    if (rows[i].kind == STR) {
      mt_printf("memtype: option MEMTYPE_%s=%s\n", rows[i].name,
                *(const char **)((char *)&mt_opt + rows[i].offset));
      continue;
    }
    int64_t v = *(int64_t *)((char *)&mt_opt + rows[i].offset);
    if (rows[i].kind == ACTION && v == MT_ACTION_ABORT)
      mt_printf("memtype: option MEMTYPE_%s=abort\n", rows[i].name);
    else if (rows[i].kind == ACTION && v == MT_ACTION_CONTINUE)
      mt_printf("memtype: option MEMTYPE_%s=continue\n", rows[i].name);
    else if (rows[i].kind == ACTION)
      mt_printf("memtype: option MEMTYPE_%s=exit:%ld\n", rows[i].name,
                (long)(v - MT_ACTION_EXIT_BASE));
    else
      mt_printf("memtype: option MEMTYPE_%s=%ld\n", rows[i].name, (long)v);
  }
}

/* The output template (see options.h): shared by the dump and the reporter. */
bool mt_dump_path(const char *tmpl, int pid, const char *prog, char *buf, size_t len) {
  size_t o = 0;
  for (const char *t = tmpl; *t; t++) {
    char part[32];
    const char *add = part;
    if (*t == '%' && t[1] == 'p') {
      mt_snprintf(part, sizeof(part), "%d", pid);
      t++;
    } else if (*t == '%' && t[1] == 'e') {
      add = prog;
      t++;
    } else if (*t == '%' && t[1] == '%') {
      part[0] = '%', part[1] = '\0';
      t++;
    } else {
      part[0] = *t, part[1] = '\0';
    }
    size_t k = strlen(add);
    if (o + k + 1 > len)
      return false;
    memcpy(buf + o, add, k);
    o += k;
  }
  buf[o] = '\0';
  return o > 0;
}
