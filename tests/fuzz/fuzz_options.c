/* fuzz_options.c - libFuzzer target for the MEMTYPE_* parser (core/types/options.c)
 * and the formatter it writes its messages with (core/types/report.c).
 *
 * Input: an environment, entries separated by NUL bytes (or by newlines when
 * the input holds no NUL), each copied into a buffer of its exact size so
 * that ASan sees a read past its end. The first byte picks the error buffer's
 * length (1..1017) and bit 7 of it secure-execution mode. Checked each time:
 * no crash or out-of-bounds access; the error message fits its buffer and
 * names the variable, and in a buffer of the bootstrap's size (512) it is
 * one whole line that still says what is accepted, however long or strange
 * the value; every warning is one line (the first 100 of the process: then
 * mt_warn falls silent); a parse that succeeds leaves every number in its
 * row's range, and the configuration MEMTYPE_VERBOSE prints parses back to
 * the same values (round trip). Also feeds MEMTYPE_DUMP_SIGNAL to the signal
 * name parser as the bootstrap does, and reads every value again once the
 * entries are freed (the parser keeps copies, never pointers into them). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "os.h"
#include "report.h"

#define MAX_ENTRIES 4096
#define MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char lines[MAX_LINES][1024]; /* what mt_options_print() wrote, one call each */
static unsigned nlines;

static void capture(const char *buf, size_t len) {
  if (nlines < MAX_LINES) {
    if (len >= sizeof(lines[0]))
      len = sizeof(lines[0]) - 1;
    memcpy(lines[nlines], buf, len);
    lines[nlines][len] = '\0';
    nlines++;
  }
}

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_options: property broken: %s\n", what);
    abort();
  }
}

/* Every numeric option within its row's range. */
static void check_ranges(const mt_options_t *o) {
#define MT_OPT_CHECK_BOOL(v, min, max) check((v) == 0 || (v) == 1, "a BOOL is 0 or 1")
#define MT_OPT_CHECK_INT(v, min, max) check((v) >= (min) && (v) <= (max), "an INT in its range")
#define MT_OPT_CHECK_ACTION(v, min, max)                                                       \
  check((v) == MT_ACTION_ABORT || (v) == MT_ACTION_CONTINUE ||                                 \
            ((v) >= MT_ACTION_EXIT_BASE + (min) && (v) <= MT_ACTION_EXIT_BASE + (max)),        \
        "an ACTION is abort, continue or exit:N in range")
#define MT_OPT_CHECK_STR(v, min, max)                                                          \
  check((v) != NULL && (int64_t)strlen(v) >= (min) && (int64_t)strlen(v) <= (max),             \
        "a STR of an accepted length")
#define MT_OPT(field, NAME, kind, def, min, max, help) MT_OPT_CHECK_##kind(o->field, min, max);
#include "options.def"
#undef MT_OPT
}

static bool same(const mt_options_t *a, const mt_options_t *b) {
#define MT_OPT_SAME_BOOL(x, y) ((x) == (y))
#define MT_OPT_SAME_INT(x, y) ((x) == (y))
#define MT_OPT_SAME_ACTION(x, y) ((x) == (y))
#define MT_OPT_SAME_STR(x, y) (strcmp((x), (y)) == 0)
#define MT_OPT(field, NAME, kind, def, min, max, help)                                         \
  if (!MT_OPT_SAME_##kind(a->field, b->field)) {                                               \
    fprintf(stderr, "fuzz_options: MEMTYPE_" #NAME " differs after the round trip\n");      \
    return false;                                                                              \
  }
#include "options.def"
#undef MT_OPT
  return true;
}

/* Prints the effective configuration and parses it back: the same options.
 * A printed line cut by the printer's buffer (a very long string) or a
 * string holding a newline cannot come back whole, so those are left out. */
static void round_trip(void) {
  /* The strings are the parser's own copies, which the second parse
   * overwrites: keep their text apart. */
  static struct {
#define MT_KEEP_BOOL(field, max)
#define MT_KEEP_INT(field, max)
#define MT_KEEP_ACTION(field, max)
#define MT_KEEP_STR(field, max) char field[(max) + 1];
#define MT_OPT(field, NAME, kind, def, min, max, help) MT_KEEP_##kind(field, max)
#include "options.def"
#undef MT_OPT
  } kept;
  mt_options_t first = mt_opt;
#define MT_COPY_BOOL(field)
#define MT_COPY_INT(field)
#define MT_COPY_ACTION(field)
#define MT_COPY_STR(field) first.field = strcpy(kept.field, mt_opt.field);
#define MT_OPT(field, NAME, kind, def, min, max, help) MT_COPY_##kind(field)
#include "options.def"
#undef MT_OPT
  nlines = 0;
  mt_sink_fn old = mt_report_set_sink(capture);
  mt_options_print();
  mt_report_set_sink(old);
  char *env[MAX_LINES + 1];
  unsigned n = 0;
  const char *prefix = "memtype: option ";
  for (unsigned i = 0; i < nlines; i++) {
    size_t len = strlen(lines[i]);
    check(strncmp(lines[i], prefix, strlen(prefix)) == 0, "printed lines start 'memtype: option'");
    if (len == 0 || lines[i][len - 1] != '\n' || memchr(lines[i], '\n', len - 1))
      return; /* cut or multi-line: no round trip for this input */
    lines[i][len - 1] = '\0';
    env[n++] = lines[i] + strlen(prefix);
  }
  env[n] = NULL;
  char err[512];
  err[0] = '\0';
  bool ok = mt_options_parse(env, false, err, sizeof(err));
  if (!ok)
    fprintf(stderr, "fuzz_options: %s", err);
  check(ok, "the printed configuration parses");
  check(same(&first, &mt_opt), "the printed configuration parses to the same options");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  bool secure = data[0] & 0x80;
  unsigned errlen = 1 + (data[0] & 0x7f) * 8;
  data++, size--;

  int sep = memchr(data, '\0', size) ? '\0' : '\n';
  char **env = calloc(MAX_ENTRIES + 1, sizeof(char *));
  unsigned n = 0;
  for (size_t at = 0; at <= size && n < MAX_ENTRIES;) {
    const uint8_t *end = memchr(data + at, sep, size - at);
    size_t len = end ? (size_t)(end - (data + at)) : size - at;
    env[n] = malloc(len + 1);
    memcpy(env[n], data + at, len);
    env[n][len] = '\0';
    n++;
    at += len + 1;
  }
  env[n] = NULL;

  char *err = malloc(errlen);
  memset(err, 'x', errlen);
  mt_sink_fn old = mt_report_set_sink(capture); /* the warnings */
  nlines = 0;
  bool ok = mt_options_parse(env, secure, err, errlen);
  mt_report_set_sink(old);
  for (unsigned i = 0; i < nlines; i++) {
    size_t len = strlen(lines[i]);
    check(strncmp(lines[i], "memtype: warning: ", 18) == 0, "a warning starts 'memtype: warning: '");
    check(len > 0 && lines[i][len - 1] == '\n' && memchr(lines[i], '\n', len - 1) == NULL,
          "a warning is one line");
  }
  if (!ok) {
    check(!secure, "nothing is parsed in secure mode");
    check(memchr(err, '\0', errlen) != NULL, "the error message is terminated in its buffer");
    const char *head = "memtype: error: MEMTYPE_";
    check(strncmp(err, head, errlen - 1 < strlen(head) ? errlen - 1 : strlen(head)) == 0,
          "the error message starts 'memtype: error: MEMTYPE_'");
    if (errlen >= 512) {
      size_t len = strlen(err);
      check(len > 0 && err[len - 1] == '\n' && memchr(err, '\n', len - 1) == NULL,
            "the error message is one whole line");
      check(strstr(err, "; accepted: ") != NULL, "the error message says what is accepted");
    }
  } else {
    check_ranges(&mt_opt);
    if (strcmp(mt_opt.dump_signal, "off") != 0) {
      int sig = mt_os_signal_number(mt_opt.dump_signal);
      check(sig >= 0 && sig < 65, "a signal number in 0..64");
    }
    round_trip();
  }
  free(err);
  for (unsigned i = 0; i < n; i++)
    free(env[i]);
  free(env);
  /* The options hold copies, not pointers into the entries (programs write
   * over their environment): with the entries gone each value still reads
   * (ASan sees any read of a freed entry). */
  if (ok)
    check_ranges(&mt_opt);
  return 0;
}
