/* memtype_stat.c - the C dump reader (see memtype_stat.h). The whole file is
 * read into memory and walked with bounds checks on every field: a corrupt
 * or truncated file is an error message, never a crash. A count read from
 * the file is checked against the bytes left before anything is allocated
 * for it, so a hostile count cannot ask for gigabytes
 * (tests/fuzz/fuzz_dump_reader.c holds the reader to this). Corruption is
 * never read as an empty program: the rules of report/memtype_report/dump.py
 * (docs/format.md, "Reading") hold here too -- in a dump of a minor version
 * this reader knows, every section is a known one, at most once, exactly as
 * long as its contents plus zero padding; PROCESS, SIZES, MODULES and TYPES
 * are present; END is last. Only a newer minor's unknown sections are
 * skipped. */
#include "memtype_stat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_format.h"

#define READER_MAJOR MT_DUMP_MAJOR
#define READER_MINOR MT_DUMP_MINOR /* formats 1.0 .. 1.MT_DUMP_MINOR */
#define NTAGS MT_DUMP_NTAGS        /* tags 1 .. NTAGS are known */

#define MT_ARRAY_LEN_(a) (sizeof(a) / sizeof((a)[0]))
#define TAG_NAME(name, tag, since) [tag] = #name,
static const char *const tag_names[NTAGS + 1] = {"?", MT_DUMP_SECTIONS(TAG_NAME)};
#undef TAG_NAME
_Static_assert(MT_ARRAY_LEN_(tag_names) == NTAGS + 1, "tags run from 1 without a gap");
_Static_assert(NTAGS < 32, "the `seen` bitmap holds every tag");
_Static_assert(sizeof(((memtype_stat_type_t *)0)->classes) == 8 * MT_DUMP_CLASS_WORDS,
               "the classes bitmap as the dump holds it");

struct memtype_stat {
  uint32_t pid;
  memtype_stat_ending_t ending; /* ENDING (1.4 on); how 0 when absent */
  size_t ntypes;
  memtype_stat_type_t *types;
  size_t nsizes;
  uint32_t *sizes;
};

typedef struct cursor {
  const unsigned char *p, *end;
  int bad;
} cursor_t;

static uint64_t get(cursor_t *c, unsigned n) {
  if (c->bad || (size_t)(c->end - c->p) < n) {
    c->bad = 1;
    return 0;
  }
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++)
    v |= (uint64_t)c->p[i] << (8 * i);
  c->p += n;
  return v;
}

static const unsigned char *skip(cursor_t *c, uint64_t n) {
  if (c->bad || (uint64_t)(c->end - c->p) < n) {
    c->bad = 1;
    return NULL;
  }
  const unsigned char *at = c->p;
  c->p += n;
  return at;
}

static void align8(cursor_t *c, const unsigned char *base) {
  size_t off = (size_t)(c->p - base);
  if (off & 7)
    skip(c, 8 - (off & 7));
}

static void fail(char *err, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && len)
    vsnprintf(err, len, fmt, ap);
  va_end(ap);
}

static int read_types(memtype_stat_t *st, cursor_t *c, const unsigned char *base,
                      uint32_t header_ntypes) {
  uint32_t n = (uint32_t)get(c, 4);
  get(c, 4); /* depth */
  /* every type record takes at least its 16-byte header */
  if (c->bad || n != header_ntypes || n > MT_DUMP_MAX_TYPES ||
      n > (size_t)(c->end - c->p) / MT_DUMP_TYPE_FIXED)
    return 0;
  st->ntypes = 0;
  st->types = calloc(n ? n : 1, sizeof(*st->types));
  if (st->types == NULL)
    return 0;
  st->ntypes = n;
  for (uint32_t i = 0; i < n && !c->bad; i++) {
    memtype_stat_type_t *t = &st->types[i];
    t->id = (uint32_t)get(c, 4);
    uint32_t npcs = (uint32_t)get(c, 2), name_len = (uint32_t)get(c, 2);
    uint32_t nrec = (uint32_t)get(c, 4);
    get(c, 4);
    for (uint32_t k = 0; k < npcs; k++) {
      uint64_t pc = get(c, 8);
      if (k == 0)
        t->pc = pc;
    }
    const unsigned char *name = skip(c, name_len);
    if (name) {
      size_t keep = name_len < sizeof(t->name) - 1 ? name_len : sizeof(t->name) - 1;
      memcpy(t->name, name, keep);
    }
    align8(c, base);
    for (uint32_t r = 0; r < nrec && !c->bad; r++) {
      const unsigned char *at = c->p;
      get(c, 4); /* slot */
      t->failures += get(c, 4); /* reserved (0) before format 1.2 */
      t->allocs += get(c, 8);
      t->frees += get(c, 8);
      t->bytes_alloc += get(c, 8);
      t->bytes_freed += get(c, 8);
      for (unsigned k = 0; k < MT_DUMP_CLASS_WORDS; k++)
        t->classes[k] |= get(c, 8);
      if (!c->bad && (size_t)(c->p - at) != MT_DUMP_STAT_RECORD)
        c->bad = 1; /* this reader and dump_format.h disagree */
    }
  }
  return !c->bad;
}

/* INHERITED (format 1.4): per type, a forked child's blocks live at the
 * fork. TYPES (written first) holds type i at index i; a record naming a
 * type not there is ignored. */
static void read_inherited(memtype_stat_t *st, cursor_t *c) {
  uint32_t n = (uint32_t)get(c, 4);
  get(c, 4);
  for (uint32_t r = 0; r < n && !c->bad; r++) {
    uint32_t id = (uint32_t)get(c, 4);
    get(c, 4);
    uint64_t blocks = get(c, 8), bytes = get(c, 8);
    if (!c->bad && id < st->ntypes && st->types[id].id == id) {
      st->types[id].inherited += blocks;
      st->types[id].bytes_inherited += bytes;
    }
  }
}

/* Walks a known section other than TYPES (read_types walks that one) to
 * the end of its contents, without keeping anything: its length must agree
 * with them. s->bad when a count runs past the section. */
static void walk_section(uint32_t tag, cursor_t *s, const unsigned char *base) {
  uint64_t n, k, m;
  switch (tag) {
  case MT_DUMP_TAG_PROCESS: { /* facts, the exe, argc length-prefixed strings */
    skip(s, MT_DUMP_PROCESS_FIXED - 12);
    uint64_t argc = get(s, 4), exe_len = get(s, 4);
    skip(s, 4);
    skip(s, exe_len);
    for (k = 0; k < argc && !s->bad; k++)
      skip(s, get(s, 4));
    break;
  }
  case MT_DUMP_TAG_SIZES:
    n = get(s, 4), skip(s, 4), skip(s, n * MT_DUMP_CLASS_RECORD);
    break;
  case MT_DUMP_TAG_MODULES:
    n = get(s, 4), skip(s, 4);
    for (k = 0; k < n && !s->bad; k++) {
      skip(s, 8);
      uint64_t plen = get(s, 2), idlen = get(s, 2);
      skip(s, MT_DUMP_MODULE_FIXED - 12), skip(s, plen + idlen), align8(s, base);
    }
    break;
  case MT_DUMP_TAG_HIGHUSE:
    n = get(s, 4), skip(s, 4), skip(s, n * MT_DUMP_HIGHUSE_VALUE);
    break;
  case MT_DUMP_TAG_FAILURES: /* the header's count is its 5th field, after four of 8 bytes */
    skip(s, 32), n = get(s, 4), skip(s, MT_DUMP_FAILURES_HEADER - 36);
    skip(s, n * MT_DUMP_FAILURE_RECORD);
    break;
  case MT_DUMP_TAG_ERRORS: /* total (8), then the count */
    skip(s, 8), n = get(s, 4), skip(s, MT_DUMP_ERRORS_HEADER - 12);
    skip(s, n * MT_DUMP_ERROR_RECORD);
    break;
  case MT_DUMP_TAG_LEAKS:
    n = get(s, 4), m = get(s, 4), skip(s, m * MT_DUMP_LEAK_TOTAL + MT_DUMP_LEAK_FACTS);
    skip(s, n * MT_DUMP_LEAK_RECORD);
    break;
  case MT_DUMP_TAG_GUARD: /* pages_live, budget_pages (8 each), then the count */
    skip(s, 16), n = get(s, 4), skip(s, MT_DUMP_GUARD_HEADER - 20);
    skip(s, n * MT_DUMP_GUARD_RECORD);
    break;
  case MT_DUMP_TAG_PEAK: /* bytes, time_ns, peaks (8 each), threads, flags, then the count */
    skip(s, 32), n = get(s, 4), skip(s, MT_DUMP_PEAK_HEADER - 36);
    skip(s, n * MT_DUMP_PEAK_RECORD);
    break;
  case MT_DUMP_TAG_TIMELINE: /* count, top, spacing; snapshots of ntop entries each */
    n = get(s, 4), m = get(s, 4), skip(s, MT_DUMP_TIMELINE_HEADER - 8);
    for (k = 0; k < n && !s->bad; k++) {
      skip(s, MT_DUMP_SNAPSHOT_FIXED - 8);
      uint64_t ntop = get(s, 4);
      skip(s, 4);
      if (ntop > m)
        s->bad = 1;
      skip(s, ntop * MT_DUMP_SNAPSHOT_ENTRY);
    }
    break;
  case MT_DUMP_TAG_WASTE:
    n = get(s, 4), m = get(s, 4);
    if (n > MT_DUMP_WASTE_MAX || m > MT_DUMP_WASTE_MAX)
      s->bad = 1;
    skip(s, n * 8 + MT_DUMP_WASTE_LARGE + m * 8);
    break;
  }
}

/* A walked section's rest: at most 7 zero bytes of padding. */
static int rest_is_padding(const cursor_t *s) {
  if (s->bad || s->end - s->p >= 8)
    return 0;
  for (const unsigned char *q = s->p; q < s->end; q++)
    if (*q)
      return 0;
  return 1;
}

memtype_stat_t *memtype_stat_open(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fail(err, errlen, "%s: cannot open", path);
    return NULL;
  }
  unsigned char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 65536;
      unsigned char *grown = realloc(data, cap);
      if (grown == NULL) {
        free(data);
        fclose(f);
        fail(err, errlen, "%s: out of memory", path);
        return NULL;
      }
      data = grown;
    }
    size_t got = fread(data + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
    if (len >= MT_DUMP_MAGIC_LEN && memcmp(data, MT_DUMP_MAGIC, MT_DUMP_MAGIC_LEN) != 0)
      break; /* no dump: not worth reading on (/dev/zero, a pipe) */
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    free(data);
    fail(err, errlen, "%s: read error", path);
    return NULL;
  }
  memtype_stat_t *st = memtype_stat_open_mem(data, len, path, err, errlen);
  free(data);
  return st;
}

memtype_stat_t *memtype_stat_open_mem(const void *bytes, size_t len, const char *path, char *err,
                                      size_t errlen) {
  const unsigned char *data = bytes;
  memtype_stat_t *st = calloc(1, sizeof(*st));
  cursor_t c = {data, data + len, 0};
  const char *why = NULL;
  if (st == NULL) {
    why = "out of memory";
    goto out;
  }
  if (len < MT_DUMP_HEADER_SIZE &&
      memcmp(data, MT_DUMP_MAGIC, len < MT_DUMP_MAGIC_LEN ? len : MT_DUMP_MAGIC_LEN) == 0) {
    /* Empty, or the magic's start: a writer stopped before its header. */
    why = "truncated inside its header (its writer was stopped, or a copy was cut short)";
    goto out;
  }
  if (len < MT_DUMP_HEADER_SIZE || memcmp(data, MT_DUMP_MAGIC, MT_DUMP_MAGIC_LEN) != 0) {
    why = "not a memtype dump";
    goto out;
  }
  skip(&c, MT_DUMP_MAGIC_LEN);
  uint32_t major = (uint32_t)get(&c, 2), minor = (uint32_t)get(&c, 2);
  uint32_t hsize = (uint32_t)get(&c, 2), order = (uint32_t)get(&c, 2);
  uint32_t flags = (uint32_t)get(&c, 4);
  get(&c, 4); /* nslots */
  uint32_t ntypes = (uint32_t)get(&c, 4);
  if (order != MT_DUMP_BYTE_ORDER) {
    why = "corrupt (byte-order mark)";
    goto out;
  }
  if (major > READER_MAJOR) {
    fail(err, errlen,
         "%s: written by a newer memtype (format %u.%u); this reader knows formats up to "
         "%u.%u: upgrade memtype to read it",
         path, major, minor, READER_MAJOR, READER_MINOR);
    goto out_quiet;
  }
  if (major < READER_MAJOR) {
    fail(err, errlen,
         "%s: format %u.%u is older than any this reader knows (1.0 to %u.%u), and no "
         "memtype wrote it (1.0 is the first format): corrupt or foreign file",
         path, major, minor, READER_MAJOR, READER_MINOR);
    goto out_quiet;
  }
  if (!(flags & MT_DUMP_FLAG_COMPLETE)) {
    why = "incomplete (its writer was interrupted)";
    goto out;
  }
  if (hsize < MT_DUMP_HEADER_SIZE || hsize > len) {
    why = "corrupt (header size)";
    goto out;
  }
  c.p = data + hsize;
  int seen_end = 0;
  unsigned seen = 0; /* bit t: known section t read */
  char buf[160];
  while (!c.bad && (size_t)(c.end - c.p) >= MT_DUMP_SECTION_HEADER) {
    size_t at = (size_t)(c.p - data);
    uint32_t tag = (uint32_t)get(&c, 4);
    get(&c, 4);
    uint64_t slen = get(&c, 8);
    const unsigned char *body = skip(&c, slen);
    if (body == NULL)
      break;
    if (slen % MT_DUMP_ALIGN) {
      snprintf(buf, sizeof(buf), "corrupt (section %#x at offset %zu is %llu bytes long, not a "
               "multiple of 8)", tag, at, (unsigned long long)slen);
      why = buf;
      goto out;
    }
    cursor_t s = {body, body + slen, 0};
    if (tag == MT_DUMP_TAG_END) {
      if (slen || c.p != c.end) {
        snprintf(buf, sizeof(buf), "corrupt (the END section at offset %zu is followed by %zu "
                 "bytes)", at, (size_t)(c.end - body));
        why = buf;
        goto out;
      }
      seen_end = 1;
      break;
    }
    if (tag == 0 || tag > NTAGS) {
      if (minor <= READER_MINOR) {
        snprintf(buf, sizeof(buf), "corrupt (section tag %#x at offset %zu is not one of format "
                 "%u.%u's)", tag, at, major, minor);
        why = buf;
        goto out;
      }
      continue; /* a newer minor's section: skipped, as the format promises */
    }
    if (seen & (1u << tag)) {
      snprintf(buf, sizeof(buf), "corrupt (a second %s section at offset %zu)", tag_names[tag],
               at);
      why = buf;
      goto out;
    }
    seen |= 1u << tag;
    if (tag == MT_DUMP_TAG_PROCESS) {
      cursor_t p = s;
      st->pid = (uint32_t)get(&p, 4);
      walk_section(tag, &s, data);
    } else if (tag == MT_DUMP_TAG_ENDING) {
      st->ending.how = (uint32_t)get(&s, 4);
      st->ending.status = (int32_t)(uint32_t)get(&s, 4);
      st->ending.signal = (uint32_t)get(&s, 4);
      st->ending.via = (uint32_t)get(&s, 4);
      if (s.bad)
        memset(&st->ending, 0, sizeof(st->ending));
    } else if (tag == MT_DUMP_TAG_SIZES) {
      uint32_t n = (uint32_t)get(&s, 4);
      get(&s, 4);
      if (s.bad || n > (size_t)(s.end - s.p) / MT_DUMP_CLASS_RECORD) {
        why = "corrupt (SIZES section)";
        goto out;
      }
      st->sizes = calloc(n ? n : 1, sizeof(*st->sizes));
      for (uint32_t i = 0; st->sizes && i < n && !s.bad; i++) {
        st->sizes[i] = (uint32_t)get(&s, 4);
        skip(&s, MT_DUMP_CLASS_RECORD - 4); /* slab_pages, slab_slots, reserved */
      }
      st->nsizes = st->sizes ? n : 0;
    } else if (tag == MT_DUMP_TAG_TYPES) {
      if (!read_types(st, &s, data, ntypes)) {
        why = "corrupt (TYPES section)";
        goto out;
      }
    } else if (tag == MT_DUMP_TAG_INHERITED) {
      read_inherited(st, &s);
    } else if (tag == MT_DUMP_TAG_RUN) { /* RUN: the run's identity, of no use to stat */
      uint32_t n = (uint32_t)get(&s, 4);
      get(&s, 4);
      skip(&s, n);
    } else if (tag == MT_DUMP_TAG_STACKS) { /* STACKS: walked, not kept (memtype report reads it) */
      uint32_t nref = (uint32_t)get(&s, 4), nstk = (uint32_t)get(&s, 4);
      for (uint32_t i = 0; i < nref && !s.bad; i++)
        get(&s, 8), get(&s, 8), get(&s, 8);
      for (uint32_t i = 0; i < nstk && !s.bad; i++) {
        get(&s, 4);
        uint32_t nf = (uint32_t)get(&s, 4);
        for (uint32_t f = 0; f < nf && f < 64 && !s.bad; f++)
          get(&s, 8);
      }
    } else {
      walk_section(tag, &s, data);
    }
    if (minor <= READER_MINOR && !rest_is_padding(&s)) {
      snprintf(buf, sizeof(buf), "corrupt (the %s section at offset %zu is %llu bytes long but "
               "its contents take %s)", tag_names[tag], at, (unsigned long long)slen,
               s.bad ? "more" : "fewer");
      why = buf;
      goto out;
    }
  }
  if (!seen_end) {
    why = "truncated";
    goto out;
  }
  static const unsigned required[] = {MT_DUMP_TAG_PROCESS, MT_DUMP_TAG_SIZES,
                                      MT_DUMP_TAG_MODULES, MT_DUMP_TAG_TYPES};
  for (size_t i = 0; i < MT_ARRAY_LEN_(required); i++)
    if (!(seen & (1u << required[i]))) {
      snprintf(buf, sizeof(buf), "corrupt (no %s section: every dump has one)",
               tag_names[required[i]]);
      why = buf;
      goto out;
    }
out:
  if (why == NULL)
    return st;
  fail(err, errlen, "%s: %s", path, why);
out_quiet:
  memtype_stat_close(st);
  return NULL;
}

void memtype_stat_close(memtype_stat_t *st) {
  if (st == NULL)
    return;
  free(st->types);
  free(st->sizes);
  free(st);
}

uint32_t memtype_stat_pid(const memtype_stat_t *st) { return st->pid; }
const memtype_stat_ending_t *memtype_stat_ending(const memtype_stat_t *st) { return &st->ending; }
size_t memtype_stat_ntypes(const memtype_stat_t *st) { return st->ntypes; }

const memtype_stat_type_t *memtype_stat_type(const memtype_stat_t *st, size_t i) {
  return i < st->ntypes ? &st->types[i] : NULL;
}

uint32_t memtype_stat_class_size(const memtype_stat_t *st, unsigned c) {
  return c < st->nsizes ? st->sizes[c] : 0;
}
