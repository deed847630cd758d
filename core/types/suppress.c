/* suppress.c - MEMTYPE_SUPPRESS's rules (see suppress.h). The file is read
 * once at start into a static buffer; each rule keeps its pattern as a glob
 * with the implied '*' at either end. Matching symbolizes each frame (the
 * function's linked and demangled names, the module, the source file): only
 * on the error and leak paths, and a leak's answer is kept per stack. */
#define _GNU_SOURCE
#include "suppress.h"

#include <string.h>

#include "demangle.h"
#include "modules.h"
#include "os.h"
#include "report.h"
#include "site.h"
#include "symtab.h"

#define MAX_RULES 512
#define FILE_MAX (64 * 1024)

enum { RULE_LEAK, RULE_ERROR };

typedef struct rule_s {
  uint8_t what;      /* RULE_* */
  int16_t kind;      /* an error kind, or -1 for every kind */
  const char *pat;   /* the glob, '*' added where the pattern was not anchored */
  const char *text;  /* the line as written, for the exit's list */
  uint64_t hits, bytes;
} rule_t;

static char text[FILE_MAX + 1];
static char globs[FILE_MAX + 2 * MAX_RULES + 1];
static rule_t rules[MAX_RULES];
static unsigned nrules;
static bool errors_on, leaks_on;
static const char *file;
static uint64_t errors_suppressed, leaks_suppressed, leak_bytes_suppressed;

bool mt_suppress_errors_on(void) { return errors_on; }
bool mt_suppress_leaks_on(void) { return leaks_on; }

/* ---- the file ------------------------------------------------------------ */

static int kind_named(const char *name, size_t len) {
  for (unsigned k = 0; k < MT_ERR_COUNT; k++)
    if (strlen(mt_error_names[k]) == len && memcmp(mt_error_names[k], name, len) == 0)
      return (int)k;
  return -2;
}

bool mt_suppress_load(const char *path, char *err, size_t len) {
  if (path == NULL || *path == '\0')
    return true;
  file = path;
  long got = mt_os_read_file(path, text, sizeof(text));
  if (got < 0) {
    mt_snprintf(err, len, "memtype: error: MEMTYPE_SUPPRESS=%s: %s\n", path,
                mt_os_file_exists(path) ? "cannot be read" : "no such file");
    return false;
  }
  if (got > FILE_MAX) {
    mt_snprintf(err, len, "memtype: error: MEMTYPE_SUPPRESS=%s: over %d bytes; accepted: a "
                "file of at most %d rules in %d bytes\n", path, FILE_MAX, MAX_RULES, FILE_MAX);
    return false;
  }
  text[got] = '\0';
  char *g = globs;
  unsigned lineno = 0;
  for (char *line = text, *next; line && *line; line = next) {
    lineno++;
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
      line[--n] = '\0';
    while (*line == ' ' || *line == '\t')
      line++, n--;
    if (n == 0 || *line == '#')
      continue;
    const char *colon = strchr(line, ':');
    size_t wlen = colon ? (size_t)(colon - line) : 0;
    int kind = !colon ? -2
               : wlen == 4 && !memcmp(line, "leak", 4)  ? -1
               : wlen == 5 && !memcmp(line, "error", 5) ? -1
                                                         : kind_named(line, wlen);
    const char *pat = colon ? colon + 1 : "";
    size_t plen = strlen(pat);
    if (kind == -2 || plen == 0 || nrules == MAX_RULES) {
      mt_snprintf(err, len, "memtype: error: MEMTYPE_SUPPRESS=%s: line %u: %s; accepted: lines "
                  "leak:PATTERN, error:PATTERN or KIND:PATTERN (KIND an error's name, as "
                  "heap-buffer-overflow), at most %d, and # comments\n", path, lineno,
                  nrules == MAX_RULES ? "too many rules" : "not a rule", MAX_RULES);
      return false;
    }
    rule_t *r = &rules[nrules++];
    r->what = wlen == 4 && !memcmp(line, "leak", 4) ? RULE_LEAK : RULE_ERROR;
    r->kind = (int16_t)kind;
    r->text = line;
    r->pat = g;
    bool start = pat[0] == '^', end = plen > (size_t)start && pat[plen - 1] == '$';
    if (!start)
      *g++ = '*';
    memcpy(g, pat + start, plen - start - end);
    g += plen - start - end;
    if (!end)
      *g++ = '*';
    *g++ = '\0';
    if (r->what == RULE_LEAK)
      leaks_on = true;
    else
      errors_on = true;
  }
  return true;
}

/* ---- matching -------------------------------------------------------------- */

static bool name_matches(const char *pat, const char *name) {
  return name && *name && mt_glob(pat, pat + strlen(pat), name);
}

/* Does the frame at pc (a return address unless exact) match the rule's
 * pattern by its function, module or source file? */
static bool frame_matches(const char *pat, uintptr_t pc, bool exact) {
  uintptr_t at = exact ? pc : pc - 1;
  const char *func = NULL, *module = NULL;
  if (mt_symbol(at, &func, &module)) {
    char readable[512];
    if (name_matches(pat, func) || name_matches(pat, module) ||
        (func && mt_demangle(func, readable, sizeof(readable)) &&
         name_matches(pat, readable)))
      return true;
  }
  char path[1024];
  unsigned line;
  /* (the file of the call a return address follows; a fault's, its own) */
  return mt_symtab_line(pc, !exact, path, sizeof(path), &line) && name_matches(pat, path);
}

/* The first rule of this kind (what, and kind for errors) with a frame of
 * pcs that matches, or NULL. */
static rule_t *first_match(unsigned what, int kind, const uintptr_t *pcs, unsigned n,
                           bool fault) {
  mt_modules_hold++; /* no loader call under a report or the leak scan's lock */
  rule_t *hit = NULL;
  for (unsigned i = 0; i < nrules && !hit; i++) {
    rule_t *r = &rules[i];
    if (r->what != what || (what == RULE_ERROR && r->kind >= 0 && r->kind != kind))
      continue;
    for (unsigned f = 0; f < n && !hit; f++)
      if (pcs[f] && frame_matches(r->pat, pcs[f], fault && f == 0))
        hit = r;
  }
  mt_modules_hold--;
  return hit;
}

bool mt_suppress_error(unsigned kind, const uintptr_t *pcs, unsigned n, bool fault) {
  if (!errors_on)
    return false;
  rule_t *r = first_match(RULE_ERROR, (int)kind, pcs, n, fault);
  if (r == NULL)
    return false;
  __atomic_fetch_add(&r->hits, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&errors_suppressed, 1, __ATOMIC_RELAXED);
  return true;
}

/* A leak's answer per stack: the leak scan meets the same allocation stack
 * for many blocks. Open addressing on the key; 0 empty; the rule's index
 * plus one, or 0 for none, beside it. */
#define CACHE 4096
static uint64_t cache_key[CACHE];
static uint16_t cache_rule[CACHE];

bool mt_suppress_leak(const uintptr_t *pcs, unsigned n, uint64_t key, size_t bytes) {
  if (!leaks_on)
    return false;
  unsigned slot = CACHE;
  rule_t *r = NULL;
  bool known = false;
  if (key) {
    for (unsigned i = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 52) % CACHE, probes = 0;
         probes < CACHE; i = (i + 1) % CACHE, probes++) {
      if (cache_key[i] == key) {
        r = cache_rule[i] ? &rules[cache_rule[i] - 1] : NULL;
        known = true;
        break;
      }
      if (cache_key[i] == 0) {
        slot = i;
        break;
      }
    }
  }
  if (!known) {
    r = first_match(RULE_LEAK, -1, pcs, n, false);
    if (slot < CACHE) {
      cache_key[slot] = key;
      cache_rule[slot] = r ? (uint16_t)(r - rules + 1) : 0;
    }
  }
  if (r == NULL)
    return false;
  r->hits++;
  r->bytes += bytes;
  leaks_suppressed++;
  leak_bytes_suppressed += bytes;
  return true;
}

void mt_suppress_print(void) {
  /* nothing when nothing was suppressed: each process of a tree (a build's
   * hundred compilers) would say so */
  if (nrules == 0 || errors_suppressed + leaks_suppressed == 0)
    return;
  mt_printf("memtype: suppressed by %s: %lu heap error%s, %lu leaked block%s (%lu bytes)\n", file,
            (unsigned long)errors_suppressed, errors_suppressed == 1 ? "" : "s",
            (unsigned long)leaks_suppressed, leaks_suppressed == 1 ? "" : "s",
            (unsigned long)leak_bytes_suppressed);
  for (unsigned i = 0; i < nrules; i++)
    if (rules[i].hits)
      mt_printf("memtype:   %s: %lu %s%s\n", rules[i].text, (unsigned long)rules[i].hits,
                rules[i].what == RULE_LEAK ? "block" : "error", rules[i].hits == 1 ? "" : "s");
}
