/* lines.c - see lines.h. The line-number programs are run twice, once to
 * count the entries and once to fill them; then a heap sort (no qsort: it
 * may call malloc). A line lookup runs one unit's program a third time,
 * without its file table. Compressed sections (SHF_COMPRESSED zlib, or the
 * older .zdebug_* ones) are inflated once, on an image's first use, and
 * kept in a table of their own for the process's life, as the images are. */
#include "lines.h"

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "inflate.h"
#include "os.h"
#include "sort.h"

typedef struct rd_s {
  const unsigned char *p, *end;
  int bad;
} rd_t;

static uint64_t rd_u(rd_t *r, unsigned n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return 0;
  }
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++)
    v |= (uint64_t)r->p[i] << (8 * i);
  r->p += n;
  return v;
}

static inline uint64_t rd_uleb(rd_t *r) {
  /* one byte, the common case (codes, attributes, forms, small numbers) */
  if (__builtin_expect(!r->bad && r->p < r->end && *r->p < 0x80, 1))
    return *r->p++;
  uint64_t v = 0;
  for (unsigned shift = 0; !r->bad; shift += 7) {
    uint64_t b = rd_u(r, 1);
    if (shift < 64)
      v |= (b & 0x7f) << shift;
    if (!(b & 0x80))
      break;
  }
  return v;
}

static int64_t rd_sleb(rd_t *r) {
  int64_t v = 0;
  unsigned shift = 0;
  uint64_t b = 0;
  do {
    b = rd_u(r, 1);
    if (shift < 64)
      v |= (int64_t)((b & 0x7f) << shift);
    shift += 7;
  } while ((b & 0x80) && !r->bad);
  if (shift < 64 && (b & 0x40))
    v |= (int64_t)(~(uint64_t)0 << shift); /* (no signed shift into the sign bit) */
  return v;
}

static const char *rd_str(rd_t *r) {
  const unsigned char *s = r->p;
  while (r->p < r->end && *r->p)
    r->p++;
  if (r->p >= r->end) {
    r->bad = 1;
    return NULL;
  }
  r->p++;
  return (const char *)s;
}

/* ---- images -------------------------------------------------------------- */

typedef struct image_s {
  const unsigned char *line, *str, *line_str;
  size_t line_len, str_len, line_str_len;
  /* for the inlined calls (mt_lines_inlined) */
  const unsigned char *info, *abbrev, *rnglists, *ranges, *addr, *str_offsets;
  size_t info_len, abbrev_len, rnglists_len, ranges_len, addr_len, str_offsets_len;
} image_t;

/* The sections read, and where each goes in an image_t. */
#define SECTION(name, field) {name, offsetof(image_t, field), offsetof(image_t, field##_len)}
static const struct {
  const char *name;
  size_t at, len;
} sections[] = {SECTION(".debug_line", line),         SECTION(".debug_str", str),
                SECTION(".debug_line_str", line_str), SECTION(".debug_info", info),
                SECTION(".debug_abbrev", abbrev),     SECTION(".debug_rnglists", rnglists),
                SECTION(".debug_ranges", ranges),     SECTION(".debug_addr", addr),
                SECTION(".debug_str_offsets", str_offsets)};
#undef SECTION

/* ---- compressed sections ------------------------------------------------------ */

/* Inflated sections, by where their compressed bytes are: filled once (a
 * slot claimed by an atomic add, published by a release store of `ready`),
 * never changed or freed after, so any thread or handler may read them
 * without a lock. Callers serialize the first reading of an image
 * (symtab.c's lock): two threads inflating the same section at once would
 * each get a copy of its own, and an index built on one would not match
 * the other. A section that does not inflate (damaged, or no memory then)
 * is kept too, with no data, so that it is not tried again. */
#define INFLATED_MAX 1024 /* sections; past it, a compressed section is not read */
#define INFLATED_LIMIT ((size_t)1 << 30) /* a section's inflated size, at most */
typedef struct inflated_s {
  const unsigned char *from; /* its compressed bytes in the image */
  size_t from_len;
  const unsigned char *data; /* inflated (NULL: it did not inflate) */
  size_t len;
  bool ready;
} inflated_t;
static inflated_t inflated[INFLATED_MAX];
static unsigned inflated_n;

/* The inflated bytes of the zlib stream z[0, zlen), size bytes when whole;
 * NULL when they cannot be had. */
static const unsigned char *inflate_section(const unsigned char *z, size_t zlen, size_t size) {
  unsigned n = __atomic_load_n(&inflated_n, __ATOMIC_ACQUIRE);
  n = n < INFLATED_MAX ? n : INFLATED_MAX;
  for (unsigned i = 0; i < n; i++)
    if (__atomic_load_n(&inflated[i].ready, __ATOMIC_ACQUIRE) && inflated[i].from == z &&
        inflated[i].from_len == zlen)
      return inflated[i].len == size ? inflated[i].data : NULL;
  if (size == 0 || size > INFLATED_LIMIT || n == INFLATED_MAX)
    return NULL;
  unsigned i = __atomic_fetch_add(&inflated_n, 1, __ATOMIC_ACQ_REL);
  if (i >= INFLATED_MAX) /* (past it by at most one a thread: no wrap) */
    return NULL;
  unsigned char *out = mt_os_map(size);
  if (out && !mt_inflate_zlib(z, zlen, out, size)) {
    mt_os_unmap(out, size);
    out = NULL;
  }
  inflated[i].from = z;
  inflated[i].from_len = zlen;
  inflated[i].data = out;
  inflated[i].len = size;
  __atomic_store_n(&inflated[i].ready, true, __ATOMIC_RELEASE);
  return out;
}

/* A section's bytes as the program wrote them: as they are, or inflated
 * (SHF_COMPRESSED with a zlib header; `gnu`: a .zdebug_* section, "ZLIB"
 * and the size in 8 big-endian bytes). NULL when compressed otherwise, or
 * damaged. */
static const unsigned char *section_bytes(const unsigned char *body, size_t len, uint64_t flags,
                                          bool gnu, size_t *out_len) {
  *out_len = len;
  if (gnu) {
    if (len < 12 || memcmp(body, "ZLIB", 4) != 0)
      return NULL;
    uint64_t size = 0;
    for (unsigned i = 4; i < 12; i++)
      size = size << 8 | body[i];
    *out_len = (size_t)size;
    return inflate_section(body + 12, len - 12, (size_t)size);
  }
  if (!(flags & SHF_COMPRESSED))
    return body;
  Elf64_Chdr ch;
  if (len < sizeof(ch))
    return NULL;
  memcpy(&ch, body, sizeof(ch));
  if (ch.ch_type != ELFCOMPRESS_ZLIB)
    return NULL; /* zstd (ELFCOMPRESS_ZSTD) and others: not read */
  *out_len = (size_t)ch.ch_size;
  return inflate_section(body + sizeof(ch), len - sizeof(ch), (size_t)ch.ch_size);
}

/* ---- sections ---------------------------------------------------------------- */

static bool find_sections(const unsigned char *f, size_t size, image_t *im) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  memset(im, 0, sizeof(*im));
  if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
      eh->e_shoff > size || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum ||
      eh->e_shstrndx >= eh->e_shnum)
    return false;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
  const Elf64_Shdr *names = &sh[eh->e_shstrndx];
  if (names->sh_offset > size || names->sh_size > size - names->sh_offset)
    return false;
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type == SHT_NOBITS || sh[i].sh_offset > size ||
        sh[i].sh_size > size - sh[i].sh_offset || sh[i].sh_name >= names->sh_size)
      continue;
    const char *nm = (const char *)f + names->sh_offset + sh[i].sh_name;
    size_t room = names->sh_size - sh[i].sh_name;
    if (strnlen(nm, room) == room)
      continue;
    /* ".zdebug_line" is ".debug_line" compressed the GNU way */
    bool gnu = strncmp(nm, ".zdebug_", 8) == 0;
    for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
      if (gnu ? strcmp(nm + 2, sections[k].name + 1) == 0 : strcmp(nm, sections[k].name) == 0) {
        size_t len;
        const unsigned char *body = section_bytes(f + sh[i].sh_offset, sh[i].sh_size,
                                                  sh[i].sh_flags, gnu, &len);
        if (body == NULL)
          break;
        *(const unsigned char **)((char *)im + sections[k].at) = body;
        *(size_t *)((char *)im + sections[k].len) = len;
      }
  }
  return im->line != NULL;
}

/* ---- one line-number program ------------------------------------------- */

#define MAX_FILES 4096
#define MAX_DIRS 1024

typedef struct unit_s {
  const char *dirs[MAX_DIRS];
  const char *files[MAX_FILES];
  uint32_t file_dir[MAX_FILES];
  unsigned ndirs, nfiles;
} unit_t;

static const char *str_at(const unsigned char *sec, size_t len, uint64_t off) {
  if (sec == NULL || off >= len || memchr(sec + off, 0, len - off) == NULL)
    return NULL;
  return (const char *)sec + off;
}

/* Reads one attribute of a v5 directory or file entry; a string for
 * DW_LNCT_path, a number for DW_LNCT_directory_index. */
static bool read_form(rd_t *r, const image_t *im, uint64_t form, bool dwarf64, const char **s,
                      uint64_t *v) {
  *s = NULL;
  *v = 0;
  switch (form) {
  case 0x08: *s = rd_str(r); return true;                                   /* string */
  case 0x1f: *s = str_at(im->line_str, im->line_str_len, rd_u(r, dwarf64 ? 8 : 4)); return true;
  case 0x0e: *s = str_at(im->str, im->str_len, rd_u(r, dwarf64 ? 8 : 4)); return true;
  case 0x0b: *v = rd_u(r, 1); return true;                                 /* data1 */
  case 0x05: *v = rd_u(r, 2); return true;                                 /* data2 */
  case 0x06: *v = rd_u(r, 4); return true;                                 /* data4 */
  case 0x07: *v = rd_u(r, 8); return true;                                 /* data8 */
  case 0x1e: rd_u(r, 8); rd_u(r, 8); return true;                          /* data16 */
  case 0x0f: *v = rd_uleb(r); return true;                                 /* udata */
  case 0x09: {                                                             /* block */
    uint64_t len = rd_uleb(r);
    if (len > (uint64_t)(r->end - r->p))
      return r->bad = 1, false;
    r->p += len;
    return true;
  }
  default:
    return false;
  }
}

static bool read_entries_v5(rd_t *r, const image_t *im, bool dwarf64, bool files, unit_t *u) {
  uint64_t fmt[16][2];
  unsigned nfmt = (unsigned)rd_u(r, 1);
  if (nfmt > 16)
    return false;
  for (unsigned i = 0; i < nfmt; i++) {
    fmt[i][0] = rd_uleb(r);
    fmt[i][1] = rd_uleb(r);
  }
  uint64_t count = rd_uleb(r);
  if (nfmt == 0 && count > 0)
    return false; /* entries of no bytes: a count of 2^64 would never end */
  for (uint64_t k = 0; k < count && !r->bad; k++) {
    const char *path = NULL;
    uint64_t dir = 0;
    for (unsigned i = 0; i < nfmt; i++) {
      const char *s;
      uint64_t v;
      if (!read_form(r, im, fmt[i][1], dwarf64, &s, &v))
        return false;
      if (fmt[i][0] == 1) /* DW_LNCT_path */
        path = s;
      else if (fmt[i][0] == 2) /* DW_LNCT_directory_index */
        dir = v;
    }
    if (files && u->nfiles < MAX_FILES) {
      u->file_dir[u->nfiles] = (uint32_t)dir;
      u->files[u->nfiles++] = path;
    } else if (!files && u->ndirs < MAX_DIRS) {
      u->dirs[u->ndirs++] = path;
    }
  }
  return !r->bad;
}

typedef struct out_s {
  mt_line_t *v; /* NULL while counting */
  uint32_t n, cap;
  const unsigned char *unit; /* the unit being run */
  /* a line lookup (want_line): the row covering `want` */
  bool want_line;
  uint64_t want;
  unsigned line; /* its line once found, else 0 */
  bool open;     /* the last entry filled is a file's (not an end marker) */
} out_t;

static void emit(out_t *o, uint64_t addr, const unit_t *u, uint64_t file, bool v5) {
  uint64_t i = v5 ? file : file - 1; /* before v5, files count from 1 */
  const char *name = NULL, *dir = NULL;
  if (file != (uint64_t)-1) {
    if (i >= u->nfiles || u->files[i] == NULL)
      return;
    name = u->files[i];
    uint32_t d = u->file_dir[i];
    if (!v5) /* directory 0 was the compilation directory, not in the list */
      d = d ? d - 1 : MAX_DIRS;
    dir = d < u->ndirs ? u->dirs[d] : NULL;
  }
  /* Rows of several files at one address (an inlined call's first row
   * after its caller's, at one address): the last one is the address's, as
   * the line lookup's row is; an entry for the others would cover nothing
   * and, the sort not being stable, could be found in its place. */
  if (o->v && o->open && name && o->n > 0 && o->n <= o->cap && o->v[o->n - 1].addr == addr) {
    o->v[o->n - 1] = (mt_line_t){addr, dir, name, o->unit};
    return;
  }
  if (o->v && o->n < o->cap)
    o->v[o->n] = (mt_line_t){addr, dir, name, o->unit};
  o->n++;
  o->open = name != NULL;
}

/* Runs the program of one unit starting at r->p; leaves r->p at its end.
 * A line lookup (o->want_line) skips the file table (u may be NULL) and
 * stops at the row that covers o->want. */
static void run_unit(rd_t *all, const image_t *im, out_t *o, unit_t *u) {
  bool dwarf64 = false;
  o->unit = all->p;
  uint64_t len = rd_u(all, 4);
  if (len == 0xffffffffu) {
    dwarf64 = true;
    len = rd_u(all, 8);
  }
  if (all->bad || len > (uint64_t)(all->end - all->p)) {
    all->bad = 1;
    return;
  }
  rd_t r = {all->p, all->p + len, 0};
  all->p += len;
  unsigned version = (unsigned)rd_u(&r, 2);
  if (version < 2 || version > 5)
    return;
  if (version >= 5)
    rd_u(&r, 2); /* address_size, segment_selector_size */
  uint64_t hlen = rd_u(&r, dwarf64 ? 8 : 4);
  if (r.bad || hlen > (uint64_t)(r.end - r.p))
    return;
  const unsigned char *prog = r.p + hlen;
  unsigned min_len = (unsigned)rd_u(&r, 1);
  if (version >= 4)
    rd_u(&r, 1); /* maximum_operations_per_instruction */
  bool def_stmt = rd_u(&r, 1) != 0;
  (void)def_stmt;
  int line_base = (int8_t)rd_u(&r, 1);
  unsigned line_range = (unsigned)rd_u(&r, 1);
  unsigned opcode_base = (unsigned)rd_u(&r, 1);
  uint8_t std_len[256] = {0};
  for (unsigned i = 1; i < opcode_base && !r.bad; i++)
    std_len[i] = (uint8_t)rd_u(&r, 1);
  if (r.bad || line_range == 0 || opcode_base == 0)
    return;
  if (o->want_line) {
    r.p = prog;
  } else if (version >= 5) {
    u->ndirs = u->nfiles = 0;
    if (!read_entries_v5(&r, im, dwarf64, false, u) || !read_entries_v5(&r, im, dwarf64, true, u))
      return;
  } else {
    u->ndirs = u->nfiles = 0;
    const char *s;
    while ((s = rd_str(&r)) != NULL && *s)
      if (u->ndirs < MAX_DIRS)
        u->dirs[u->ndirs++] = s;
    while ((s = rd_str(&r)) != NULL && *s) {
      uint64_t dir = rd_uleb(&r);
      rd_uleb(&r);
      rd_uleb(&r);
      if (u->nfiles < MAX_FILES) {
        u->file_dir[u->nfiles] = (uint32_t)dir;
        u->files[u->nfiles++] = s;
      }
    }
  }
  r.p = prog;
  uint64_t addr = 0, file = 1, last_file = (uint64_t)-2;
  int64_t line = 1;
  /* a line lookup: the previous row of this sequence (none while prev_addr
   * is above addr) */
  uint64_t prev_addr = UINT64_MAX;
  int64_t prev_line = 0;
  bool v5 = version >= 5;
  while (r.p < r.end && !r.bad) {
    unsigned op = (unsigned)rd_u(&r, 1);
    bool row = false, end = false;
    if (op >= opcode_base) {
      unsigned adj = op - opcode_base;
      addr += (uint64_t)(adj / line_range) * min_len;
      line += line_base + (int)(adj % line_range);
      row = true;
    } else if (op == 0) {
      uint64_t elen = rd_uleb(&r);
      if (elen == 0 || elen > (uint64_t)(r.end - r.p))
        break;
      const unsigned char *next = r.p + elen;
      unsigned sub = (unsigned)rd_u(&r, 1);
      if (sub == 1) { /* end_sequence */
        end = true;
      } else if (sub == 2) { /* set_address */
        addr = rd_u(&r, elen - 1 >= 8 ? 8 : (unsigned)(elen - 1));
      }
      r.p = next;
    } else {
      switch (op) {
      case 1: row = true; break;                          /* copy */
      case 2: addr += rd_uleb(&r) * min_len; break;       /* advance_pc */
      case 3: line += rd_sleb(&r); break;                 /* advance_line */
      case 4: file = rd_uleb(&r); break;                  /* set_file */
      case 8: addr += (uint64_t)((255 - opcode_base) / line_range) * min_len; break;
      case 9: addr += rd_u(&r, 2); break;                 /* fixed_advance_pc */
      default:
        for (unsigned a = 0; a < std_len[op]; a++)
          rd_uleb(&r);
      }
    }
    if (o->want_line) {
      /* The previous row covers [prev_addr, addr) of this sequence. */
      if ((row || end) && prev_addr <= o->want && o->want < addr && prev_line > 0) {
        o->line = (unsigned)prev_line;
        return;
      }
      if (row)
        prev_addr = addr, prev_line = line;
      if (end)
        prev_addr = UINT64_MAX;
    } else if (row && file != last_file) {
      emit(o, addr, u, file, v5);
      last_file = file;
    } else if (end) {
      emit(o, addr, u, (uint64_t)-1, v5);
    }
    if (end)
      addr = 0, file = 1, last_file = (uint64_t)-2, line = 1;
  }
}

/* By address; at one address an end marker (no name) before the start of
 * the next sequence, and the rest in one order every time. */
#define LINE_BEFORE(x, y)                                                                          \
  ((x)->addr != (y)->addr                   ? (x)->addr < (y)->addr                               \
   : ((x)->name == NULL) != ((y)->name == NULL) ? (x)->name == NULL                                  \
   : (x)->unit != (y)->unit                 ? (x)->unit < (y)->unit                               \
                                            : (uintptr_t)(x)->name < (uintptr_t)(y)->name)
MT_SORT_DEFINE(sort_lines, mt_line_t, LINE_BEFORE)

static void run_all(const image_t *im, out_t *o, unit_t *u) {
  rd_t r = {im->line, im->line + im->line_len, 0};
  while (r.p < r.end && !r.bad)
    run_unit(&r, im, o, u);
}

mt_line_t *mt_lines_index(const unsigned char *elf, size_t size, uint32_t *n) {
  image_t im;
  *n = 0;
  if (!find_sections(elf, size, &im))
    return NULL;
  /* Mapped, not from the arena: a report may build the index in a signal
   * handler that interrupted a thread holding the arena's lock. */
  unit_t *u = mt_os_map(sizeof(unit_t)); /* 50 KiB: not on the stack */
  if (u == NULL)
    return NULL;
  out_t o;
  memset(&o, 0, sizeof(o));
  run_all(&im, &o, u);
  o.cap = o.n;
  o.v = o.n ? mt_os_map((size_t)o.cap * sizeof(mt_line_t)) : NULL;
  if (o.v == NULL) {
    mt_os_unmap(u, sizeof(unit_t));
    return NULL;
  }
  o.n = 0;
  run_all(&im, &o, u);
  mt_os_unmap(u, sizeof(unit_t));
  uint32_t count = o.n < o.cap ? o.n : o.cap;
  /* Sequences come in any order: sort; at one address an end marker goes
   * before the start of the next sequence. */
  sort_lines(o.v, count);
  *n = count;
  return o.v;
}

const mt_line_t *mt_lines_find(const mt_line_t *index, uint32_t n, uint64_t addr) {
  uint32_t lo = 0, hi = n; /* first entry after addr */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (index[mid].addr <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  /* Among entries at the same address, prefer a file over an end marker. */
  for (uint32_t k = lo; k-- > 0;) {
    if (index[k].name)
      return &index[k];
    if (k == 0 || index[k - 1].addr != index[k].addr)
      return NULL;
  }
  return NULL;
}

unsigned mt_lines_line(const unsigned char *elf, size_t size, const mt_line_t *e, uint64_t addr) {
  image_t im;
  if (e == NULL || e->unit == NULL || !find_sections(elf, size, &im) || e->unit < im.line ||
      e->unit >= im.line + im.line_len)
    return 0;
  out_t o;
  memset(&o, 0, sizeof(o));
  o.want_line = true;
  o.want = addr;
  rd_t r = {e->unit, im.line + im.line_len, 0};
  run_unit(&r, &im, &o, NULL);
  return o.line;
}

/* ---- inlined calls (.debug_info) -----------------------------------------
 * Which inlined calls cover an address: the compile unit whose ranges hold
 * it, then that unit's DIEs in order, a subtree skipped (DW_AT_sibling)
 * when its code ranges do not hold the address; every
 * DW_TAG_inlined_subroutine that holds it is one level of the chain, the
 * outer ones first. DWARF 2 to 5, 32-bit units (a 64-bit one ends the
 * search); split and type units are passed over. Nothing is kept between
 * lookups: a report is rare, and a lookup reads one unit. */

enum {
  TAG_INLINED = 0x1d, TAG_SUBPROGRAM = 0x2e, TAG_LEXICAL = 0x0b, TAG_CU = 0x11, TAG_PARTIAL = 0x3c,
  TAG_NAMESPACE = 0x39, TAG_MODULE = 0x1e,
  AT_SIBLING = 0x01, AT_NAME = 0x03, AT_STMT_LIST = 0x10, AT_LOW_PC = 0x11, AT_HIGH_PC = 0x12,
  AT_ABSTRACT_ORIGIN = 0x31, AT_SPECIFICATION = 0x47, AT_RANGES = 0x55, AT_CALL_FILE = 0x58,
  AT_CALL_LINE = 0x59, AT_LINKAGE_NAME = 0x6e, AT_STR_OFFSETS_BASE = 0x72, AT_ADDR_BASE = 0x73,
  AT_RNGLISTS_BASE = 0x74, AT_MIPS_LINKAGE_NAME = 0x2007,
};

#define ABBREV_FAST 512 /* codes below this found by index (GCC uses some 300), the rest by a scan */
#define INLINE_DEPTH 32

typedef struct cu_s {
  const image_t *im; /* &img */
  image_t img;       /* the image's sections (a copy: the unit may outlive its caller's) */
  const unsigned char *start, *end; /* the unit, its header included */
  const unsigned char *abbrev, *abbrev_end;
  unsigned version, addr_size;
  uint64_t base, str_offsets_base, addr_base, rnglists_base, stmt_list;
  bool has_stmt, indexed;
  uint32_t abbrev_at[ABBREV_FAST]; /* offset + 1 in .debug_abbrev of each code's entry */
  /* each indexed code's DIE shape: its tag and children flag, its size when
   * every form of it has a fixed size (else -1), and where its DW_AT_sibling
   * reference is in it (-1: none at a fixed place): a DIE of no interest is
   * passed over without reading its attributes */
  struct {
    int16_t size, sib;
    uint8_t sib_size, children;
    uint16_t tag;
  } shape[ABBREV_FAST];
} cu_t;

typedef struct die_s {
  unsigned tag;
  bool children, has_low, has_high, high_is_size, has_ranges;
  uint64_t low, high, ranges;
  unsigned ranges_form;
  const unsigned char *sibling, *origin, *spec;
  const char *name, *linkage;
  uint64_t call_file, call_line;
} die_t;

/* Past one abbreviation's tag, children flag and attribute specs. */
static void skip_abbrev(rd_t *r) {
  rd_uleb(r), rd_u(r, 1);
  for (;;) {
    uint64_t a = rd_uleb(r), f = rd_uleb(r);
    if (f == 0x21) /* implicit_const: its value is here */
      rd_sleb(r);
    if ((a == 0 && f == 0) || r->bad)
      break;
  }
}

static const unsigned char *abbrev_entry(cu_t *cu, uint64_t code) {
  if (cu->indexed && code < ABBREV_FAST && cu->abbrev_at[code])
    return cu->im->abbrev + cu->abbrev_at[code] - 1;
  rd_t r = {cu->abbrev, cu->abbrev_end, 0};
  while (r.p < r.end && !r.bad) {
    const unsigned char *at = r.p;
    uint64_t c = rd_uleb(&r);
    if (c == 0)
      return NULL;
    if (c == code)
      return at;
    skip_abbrev(&r);
  }
  return NULL;
}

/* The size of a form's value when it is fixed, else -1. */
static int form_size(unsigned form, const cu_t *cu) {
  switch (form) {
  case 0x19: case 0x21: return 0;                                   /* flag_present, implicit_const */
  case 0x0b: case 0x11: case 0x0c: case 0x25: case 0x29: return 1;
  case 0x05: case 0x12: case 0x26: case 0x2a: return 2;
  case 0x27: case 0x2b: return 3;
  case 0x06: case 0x13: case 0x17: case 0x1c: case 0x0e: case 0x1f: case 0x1d: case 0x28:
  case 0x2c: case 0x1f20: case 0x1f21: return 4;
  case 0x07: case 0x14: case 0x20: case 0x24: return 8;
  case 0x1e: return 16;
  case 0x01: return (int)cu->addr_size;
  case 0x10: return cu->version <= 2 ? (int)cu->addr_size : 4;
  default: return -1;
  }
}

static void index_abbrevs(cu_t *cu) {
  memset(cu->abbrev_at, 0, sizeof(cu->abbrev_at));
  rd_t r = {cu->abbrev, cu->abbrev_end, 0};
  while (r.p < r.end && !r.bad) {
    const unsigned char *at = r.p;
    uint64_t c = rd_uleb(&r);
    if (c == 0)
      break;
    uint64_t tag = rd_uleb(&r);
    unsigned children = (unsigned)rd_u(&r, 1);
    int size = 0, sib = -1, sib_size = 0;
    for (;;) {
      uint64_t a = rd_uleb(&r), f = rd_uleb(&r);
      if ((a == 0 && f == 0) || r.bad)
        break;
      if (f == 0x21)
        rd_sleb(&r);
      int fs = f < 0x10000 ? form_size((unsigned)f, cu) : -1;
      if (a == AT_SIBLING && size >= 0 && fs > 0 && f >= 0x11 && f <= 0x14)
        sib = size, sib_size = fs;
      size = size < 0 || fs < 0 || size + fs > 0x7fff ? -1 : size + fs;
    }
    if (c < ABBREV_FAST) {
      cu->abbrev_at[c] = (uint32_t)(at - cu->im->abbrev) + 1;
      cu->shape[c].size = (int16_t)size;
      cu->shape[c].sib = (int16_t)sib;
      cu->shape[c].sib_size = (uint8_t)sib_size;
      cu->shape[c].children = children != 0;
      cu->shape[c].tag = (uint16_t)(tag < 0x10000 ? tag : 0xffff);
    }
  }
  cu->indexed = true;
}

static uint64_t addr_index(const cu_t *cu, uint64_t i) {
  const image_t *im = cu->im;
  uint64_t off = cu->addr_base + i * cu->addr_size;
  if (im->addr == NULL || off > im->addr_len || im->addr_len - off < cu->addr_size)
    return 0;
  rd_t r = {im->addr + off, im->addr + im->addr_len, 0};
  return rd_u(&r, cu->addr_size);
}

static const char *str_index(const cu_t *cu, uint64_t i) {
  const image_t *im = cu->im;
  uint64_t off = cu->str_offsets_base + i * 4;
  if (im->str_offsets == NULL || off > im->str_offsets_len || im->str_offsets_len - off < 4)
    return NULL;
  rd_t r = {im->str_offsets + off, im->str_offsets + im->str_offsets_len, 0};
  return str_at(im->str, im->str_len, rd_u(&r, 4));
}

/* One attribute's value: a number (v), a string (s) or a DIE (ref). False
 * for a form this reader does not know (the rest of the DIE cannot be read). */
typedef struct val_s {
  uint64_t v;
  const char *s;
  const unsigned char *ref;
} val_t;

static bool read_value(rd_t *r, const cu_t *cu, uint64_t form, int64_t implicit, val_t *out) {
  const image_t *im = cu->im;
  memset(out, 0, sizeof(*out));
  uint64_t n = 0;
  switch (form) {
  case 0x01: out->v = rd_u(r, cu->addr_size); break;                      /* addr */
  case 0x0b: case 0x11: case 0x0c: out->v = rd_u(r, 1); break;           /* data1 ref1 flag */
  case 0x05: case 0x12: out->v = rd_u(r, 2); break;                      /* data2 ref2 */
  case 0x06: case 0x13: case 0x17: case 0x1c: out->v = rd_u(r, 4); break; /* data4 ref4 sec_offset ref_sup4 */
  case 0x07: case 0x14: case 0x20: case 0x24: out->v = rd_u(r, 8); break; /* data8 ref8 ref_sig8 ref_sup8 */
  case 0x1e: rd_u(r, 8), rd_u(r, 8); break;                              /* data16 */
  case 0x0d: out->v = (uint64_t)rd_sleb(r); break;                        /* sdata */
  case 0x0f: case 0x15: case 0x22: case 0x23: out->v = rd_uleb(r); break; /* udata ref_udata loclistx rnglistx */
  case 0x10: out->v = rd_u(r, cu->version <= 2 ? cu->addr_size : 4); break; /* ref_addr */
  case 0x19: out->v = 1; break;                                           /* flag_present */
  case 0x21: out->v = (uint64_t)implicit; break;                          /* implicit_const */
  case 0x08: out->s = rd_str(r); break;                                   /* string */
  case 0x0e: out->s = str_at(im->str, im->str_len, rd_u(r, 4)); break;    /* strp */
  case 0x1f: out->s = str_at(im->line_str, im->line_str_len, rd_u(r, 4)); break; /* line_strp */
  case 0x1d: case 0x1f21: case 0x1f20: rd_u(r, 4); break;                /* strp_sup, GNU alt */
  case 0x1a: case 0x1f02: out->s = str_index(cu, rd_uleb(r)); break;     /* strx */
  case 0x25: out->s = str_index(cu, rd_u(r, 1)); break;
  case 0x26: out->s = str_index(cu, rd_u(r, 2)); break;
  case 0x27: out->s = str_index(cu, rd_u(r, 3)); break;
  case 0x28: out->s = str_index(cu, rd_u(r, 4)); break;
  case 0x1b: case 0x1f01: out->v = addr_index(cu, rd_uleb(r)); break;    /* addrx */
  case 0x29: out->v = addr_index(cu, rd_u(r, 1)); break;
  case 0x2a: out->v = addr_index(cu, rd_u(r, 2)); break;
  case 0x2b: out->v = addr_index(cu, rd_u(r, 3)); break;
  case 0x2c: out->v = addr_index(cu, rd_u(r, 4)); break;
  case 0x0a: n = rd_u(r, 1); goto block;                                  /* block1 */
  case 0x03: n = rd_u(r, 2); goto block;                                  /* block2 */
  case 0x04: n = rd_u(r, 4); goto block;                                  /* block4 */
  case 0x09: case 0x18: n = rd_uleb(r); goto block;                       /* block exprloc */
  case 0x16: /* indirect: the form, then the value (once: an indirect form of an indirect
              * form would recurse as deep as the input is long) */
    n = rd_uleb(r);
    if (n == 0x16) {
      r->bad = 1;
      return false;
    }
    return read_value(r, cu, n, implicit, out);
  default: r->bad = 1; return false;
  block:
    if (n > (uint64_t)(r->end - r->p))
      return r->bad = 1, false;
    r->p += n;
    break;
  }
  if (form == 0x11 || form == 0x12 || form == 0x13 || form == 0x14 || form == 0x15) {
    if (out->v < (uint64_t)(cu->end - cu->start))
      out->ref = cu->start + out->v; /* a reference within the unit */
  } else if (form == 0x10 && out->v < im->info_len) {
    out->ref = im->info + out->v;
  }
  return !r->bad;
}

/* Reads the DIE at r->p (its code already read into `code`). */
static bool read_die(rd_t *r, cu_t *cu, uint64_t code, die_t *d) {
  memset(d, 0, sizeof(*d));
  const unsigned char *a = abbrev_entry(cu, code);
  if (a == NULL)
    return false;
  rd_t ar = {a, cu->abbrev_end, 0};
  rd_uleb(&ar); /* the code */
  d->tag = (unsigned)rd_uleb(&ar);
  d->children = rd_u(&ar, 1) != 0;
  while (!ar.bad && !r->bad) {
    uint64_t at = rd_uleb(&ar), form = rd_uleb(&ar);
    int64_t implicit = form == 0x21 ? rd_sleb(&ar) : 0;
    if (at == 0 && form == 0)
      break;
    val_t v;
    if (!read_value(r, cu, form, implicit, &v))
      return false;
    switch (at) {
    case AT_SIBLING: d->sibling = v.ref; break;
    case AT_NAME: d->name = v.s; break;
    case AT_LINKAGE_NAME: case AT_MIPS_LINKAGE_NAME: d->linkage = v.s; break;
    case AT_LOW_PC: d->low = v.v, d->has_low = true; break;
    case AT_HIGH_PC:
      d->high = v.v, d->has_high = true;
      d->high_is_size = form != 0x01 && !(form >= 0x29 && form <= 0x2c) && form != 0x1b &&
                        form != 0x1f01;
      break;
    case AT_RANGES: d->ranges = v.v, d->has_ranges = true, d->ranges_form = (unsigned)form; break;
    case AT_ABSTRACT_ORIGIN: d->origin = v.ref; break;
    case AT_SPECIFICATION: d->spec = v.ref; break;
    case AT_CALL_FILE: d->call_file = v.v; break;
    case AT_CALL_LINE: d->call_line = v.v; break;
    case AT_STMT_LIST: cu->stmt_list = v.v, cu->has_stmt = d->tag == TAG_CU || d->tag == TAG_PARTIAL; break;
    case AT_STR_OFFSETS_BASE: cu->str_offsets_base = v.v; break;
    case AT_ADDR_BASE: case 0x2133: cu->addr_base = v.v; break;
    case AT_RNGLISTS_BASE: cu->rnglists_base = v.v; break;
    default: break;
    }
  }
  return !ar.bad && !r->bad;
}

/* Calls fn on each [lo, hi) of d's range list until it returns true;
 * whether one did. */
typedef bool (*range_fn)(void *ctx, uint64_t lo, uint64_t hi);
static bool each_range(const cu_t *cu, const die_t *d, range_fn fn, void *ctx) {
  const image_t *im = cu->im;
  uint64_t base = cu->base;
  if (cu->version >= 5) {
    uint64_t off = d->ranges;
    if (d->ranges_form == 0x23) { /* rnglistx: an index into the offsets after the base */
      uint64_t at = cu->rnglists_base + d->ranges * 4;
      if (im->rnglists == NULL || at > im->rnglists_len || im->rnglists_len - at < 4)
        return false;
      rd_t t = {im->rnglists + at, im->rnglists + im->rnglists_len, 0};
      off = cu->rnglists_base + rd_u(&t, 4);
    }
    if (im->rnglists == NULL || off >= im->rnglists_len)
      return false;
    rd_t r = {im->rnglists + off, im->rnglists + im->rnglists_len, 0};
    for (unsigned k = 0; k < 65536 && !r.bad; k++) {
      uint64_t lo = 0, hi = 0;
      switch (rd_u(&r, 1)) {
      case 0: return false;                                                 /* end_of_list */
      case 1: base = addr_index(cu, rd_uleb(&r)); continue;                 /* base_addressx */
      case 2: lo = addr_index(cu, rd_uleb(&r)); hi = addr_index(cu, rd_uleb(&r)); break;
      case 3: lo = addr_index(cu, rd_uleb(&r)); hi = lo + rd_uleb(&r); break;
      case 4: lo = base + rd_uleb(&r); hi = base + rd_uleb(&r); break;      /* offset_pair */
      case 5: base = rd_u(&r, cu->addr_size); continue;                     /* base_address */
      case 6: lo = rd_u(&r, cu->addr_size); hi = rd_u(&r, cu->addr_size); break;
      case 7: lo = rd_u(&r, cu->addr_size); hi = lo + rd_uleb(&r); break;
      default: return false;
      }
      if (!r.bad && lo < hi && fn(ctx, lo, hi))
        return true;
    }
    return false;
  }
  if (im->ranges == NULL || d->ranges >= im->ranges_len)
    return false;
  rd_t r = {im->ranges + d->ranges, im->ranges + im->ranges_len, 0};
  for (unsigned k = 0; k < 65536 && !r.bad; k++) {
    uint64_t lo = rd_u(&r, cu->addr_size), hi = rd_u(&r, cu->addr_size);
    if (r.bad || (lo == 0 && hi == 0))
      return false;
    if (lo == (cu->addr_size == 8 ? UINT64_MAX : 0xffffffffu)) {
      base = hi;
      continue;
    }
    if (lo < hi && fn(ctx, base + lo, base + hi))
      return true;
  }
  return false;
}

static bool range_holds(void *ctx, uint64_t lo, uint64_t hi) {
  uint64_t addr = *(const uint64_t *)ctx;
  return lo <= addr && addr < hi;
}

/* Does the range list of d hold addr? */
static bool ranges_hold(const cu_t *cu, const die_t *d, uint64_t addr) {
  return each_range(cu, d, range_holds, &addr);
}

/* -1: d has no code ranges; else whether they hold addr. */
static int die_holds(const cu_t *cu, const die_t *d, uint64_t addr) {
  if (d->has_ranges)
    return ranges_hold(cu, d, addr);
  if (d->has_low && d->has_high) {
    uint64_t hi = d->high_is_size ? d->low + d->high : d->high;
    return d->low <= addr && addr < hi;
  }
  return -1;
}

/* The name of the function a DIE stands for: its own, or its abstract
 * origin's or declaration's (a few steps at most). */
static void die_names(cu_t *cu, const die_t *d, const char **name, const char **linkage) {
  *name = d->name, *linkage = d->linkage;
  const unsigned char *next = d->origin ? d->origin : d->spec;
  for (unsigned step = 0; step < 4 && next && (*linkage == NULL || *name == NULL); step++) {
    const image_t *im = cu->im;
    if (next < im->info || next >= im->info + im->info_len)
      break;
    if (next < cu->start || next >= cu->end)
      break; /* another unit's DIE (ref_addr): its abbreviations differ; not followed */
    rd_t r = {next, cu->end, 0};
    die_t o;
    if (!read_die(&r, cu, rd_uleb(&r), &o))
      break;
    if (*name == NULL)
      *name = o.name;
    if (*linkage == NULL)
      *linkage = o.linkage;
    next = o.origin ? o.origin : o.spec;
  }
}

/* File `index` of the unit's line table (DW_AT_call_file): its name and
 * directory. */
static bool call_file(const cu_t *cu, uint64_t index, const char **dir, const char **name) {
  const image_t *im = cu->im;
  *dir = *name = NULL;
  if (!cu->has_stmt || im->line == NULL || cu->stmt_list >= im->line_len)
    return false;
  rd_t r = {im->line + cu->stmt_list, im->line + im->line_len, 0};
  uint64_t len = rd_u(&r, 4);
  if (len == 0xffffffffu || len > (uint64_t)(r.end - r.p))
    return false;
  r.end = r.p + len;
  unsigned version = (unsigned)rd_u(&r, 2);
  if (version < 2 || version > 5)
    return false;
  if (version >= 5)
    rd_u(&r, 2);
  rd_u(&r, 4); /* header_length */
  rd_u(&r, 1); /* minimum_instruction_length */
  if (version >= 4)
    rd_u(&r, 1);
  rd_u(&r, 3); /* default_is_stmt, line_base, line_range */
  unsigned opcode_base = (unsigned)rd_u(&r, 1);
  for (unsigned i = 1; i < opcode_base && !r.bad; i++)
    rd_u(&r, 1);
  if (r.bad)
    return false;
  if (version >= 5) {
    /* two tables of entries, each with its own format: the directories, then the files */
    const unsigned char *dirs = r.p;
    uint64_t want[2] = {UINT64_MAX, index}; /* [0] filled once the file names its directory */
    const char *found[2] = {NULL, NULL};
    for (int pass = 0; pass < 3 && !r.bad; pass++) {
      int table = pass == 1 ? 1 : 0; /* dirs, files, dirs again */
      if (pass == 2)
        r.p = dirs;
      uint64_t fmt[16][2];
      unsigned nfmt = (unsigned)rd_u(&r, 1);
      if (nfmt > 16)
        return false;
      for (unsigned i = 0; i < nfmt; i++)
        fmt[i][0] = rd_uleb(&r), fmt[i][1] = rd_uleb(&r);
      uint64_t count = rd_uleb(&r);
      if (nfmt == 0 && count > 0)
        return false; /* entries of no bytes (see read_entries_v5) */
      for (uint64_t k = 0; k < count && !r.bad; k++) {
        for (unsigned i = 0; i < nfmt; i++) {
          const char *s;
          uint64_t v;
          if (!read_form(&r, im, fmt[i][1], false, &s, &v))
            return false;
          if (k != want[table])
            continue;
          if (fmt[i][0] == 1)
            found[table] = s;
          else if (fmt[i][0] == 2 && table == 1)
            want[0] = v;
        }
      }
      if (pass == 1 && want[0] == UINT64_MAX)
        break;
    }
    *name = found[1], *dir = found[0];
    return *name != NULL;
  }
  /* before v5: directories, then files, both counting from 1 (0: the unit's own) */
  const unsigned char *dirs = r.p;
  const char *s;
  while ((s = rd_str(&r)) != NULL && *s) {
  }
  uint64_t d = 0;
  for (uint64_t k = 1; (s = rd_str(&r)) != NULL && *s; k++) {
    uint64_t di = rd_uleb(&r);
    rd_uleb(&r), rd_uleb(&r);
    if (k == index) {
      *name = s, d = di;
      break;
    }
  }
  if (*name == NULL)
    return false;
  r.p = dirs;
  for (uint64_t k = 1; d && (s = rd_str(&r)) != NULL && *s; k++)
    if (k == d) {
      *dir = s;
      break;
    }
  return true;
}

/* Reads a unit's header and its first DIE; false when it is not a unit
 * this reader walks. */
static bool open_unit(const image_t *im, const unsigned char *at, cu_t *cu, rd_t *r, die_t *top) {
  rd_t h = {at, im->info + im->info_len, 0};
  uint64_t len = rd_u(&h, 4);
  if (h.bad || len >= 0xfffffff0u || len > (uint64_t)(h.end - h.p))
    return false;
  memset(cu, 0, offsetof(cu_t, abbrev_at));
  cu->img = *im;
  cu->im = &cu->img;
  cu->start = at;
  cu->end = h.p + len;
  h.end = cu->end;
  cu->version = (unsigned)rd_u(&h, 2);
  uint64_t abbrev_off;
  if (cu->version >= 5) {
    unsigned type = (unsigned)rd_u(&h, 1);
    cu->addr_size = (unsigned)rd_u(&h, 1);
    abbrev_off = rd_u(&h, 4);
    if (type != 1 && type != 3) /* compile, partial: not type or split units */
      return false;
  } else {
    abbrev_off = rd_u(&h, 4);
    cu->addr_size = (unsigned)rd_u(&h, 1);
  }
  if (h.bad || cu->version < 2 || cu->version > 5 || (cu->addr_size != 4 && cu->addr_size != 8) ||
      im->abbrev == NULL || abbrev_off >= im->abbrev_len)
    return false;
  cu->abbrev = im->abbrev + abbrev_off;
  cu->abbrev_end = im->abbrev + im->abbrev_len;
  /* the first DIE by a scan (the index is built only for the unit walked) */
  uint64_t code = rd_uleb(&h);
  /* Read twice: the unit's own bases (DW_AT_addr_base, DW_AT_str_offsets_base)
   * may come after the attributes that need them (clang writes DW_AT_low_pc
   * as an address index before DW_AT_addr_base). */
  rd_t again = h;
  if (code == 0 || !read_die(&h, cu, code, top) || (top->tag != TAG_CU && top->tag != TAG_PARTIAL))
    return false;
  h = again;
  if (!read_die(&h, cu, code, top))
    return false;
  cu->base = top->has_low ? top->low : 0;
  *r = h;
  return true;
}

/* ---- the walk ------------------------------------------------------------
 * The DIEs of a unit from r.p on, the subtrees of no interest passed over:
 * a DIE that is no code and no namespace is skipped whole by its sibling
 * reference (or, without one, read through DIE by DIE, each passed over by
 * its abbreviation's fixed size where it has one). For each DIE of code
 * (function, inlined call, lexical block) visit says what to do: WALK_OVER
 * its subtree, WALK_IN, or WALK_LAST (walk in, then stop after it). The
 * walk ends at the end of the unit's children, or after the first DIE's
 * subtree when r.p starts at one DIE (one). */
enum { WALK_OVER, WALK_IN, WALK_LAST };
typedef int (*visit_fn)(void *ctx, cu_t *cu, const die_t *d, const unsigned char *here);

static void walk(cu_t *cu, rd_t r, bool one, visit_fn visit, void *ctx) {
  unsigned depth = 0, stop = 0; /* stop: a depth the walk ends under (0: none) */
  die_t d;
  r.end = cu->end;
  while (r.p < r.end && !r.bad) {
    const unsigned char *here = r.p;
    uint64_t code = rd_uleb(&r);
    if (code == 0) {
      if (depth == 0)
        return; /* the unit's children end */
      depth--;
      if ((stop && depth < stop) || (one && depth == 0))
        return;
      continue;
    }
    if (code < ABBREV_FAST && cu->abbrev_at[code] && cu->shape[code].size >= 0) {
      unsigned tag = cu->shape[code].tag;
      if (tag != TAG_SUBPROGRAM && tag != TAG_INLINED && tag != TAG_LEXICAL &&
          tag != TAG_NAMESPACE && tag != TAG_MODULE) {
        size_t size = (size_t)cu->shape[code].size;
        if ((size_t)(r.end - r.p) < size)
          return;
        if (cu->shape[code].children && cu->shape[code].sib >= 0) {
          rd_t t = {r.p + cu->shape[code].sib, r.end, 0};
          uint64_t off = rd_u(&t, cu->shape[code].sib_size);
          if (off < (uint64_t)(cu->end - cu->start) && cu->start + off > r.p + size) {
            r.p = cu->start + off; /* its subtree skipped */
            continue;
          }
        }
        r.p += size;
        if (cu->shape[code].children)
          depth++;
        continue;
      }
    }
    if (!read_die(&r, cu, code, &d))
      return;
    bool code_tag = d.tag == TAG_SUBPROGRAM || d.tag == TAG_INLINED || d.tag == TAG_LEXICAL;
    int what = code_tag                                           ? visit(ctx, cu, &d, here)
               : d.tag == TAG_NAMESPACE || d.tag == TAG_MODULE ? WALK_IN
                                                                  : WALK_OVER;
    if (what == WALK_OVER && d.children && d.sibling && d.sibling > r.p && d.sibling <= cu->end) {
      r.p = d.sibling;
      if (one && depth == 0)
        return;
      continue;
    }
    if (what == WALK_LAST && !stop)
      stop = depth + 1;
    if (d.children)
      depth++;
    else if (one && depth == 0)
      return;
  }
}

/* The chain of inlined calls at an address: every inlined call that holds
 * it, the outer ones first (a DIE's children come after it). */
typedef struct chain_s {
  uint64_t addr;
  const unsigned char *at[INLINE_DEPTH];
  unsigned n;
} chain_t;

static int visit_chain(void *ctx, cu_t *cu, const die_t *d, const unsigned char *here) {
  chain_t *c = ctx;
  if (die_holds(cu, d, c->addr) != 1)
    return WALK_OVER; /* its code is elsewhere, or it has none (abstract, declared) */
  if (d->tag == TAG_INLINED && c->n < INLINE_DEPTH)
    c->at[c->n++] = here;
  return d->tag == TAG_SUBPROGRAM ? WALK_LAST : WALK_IN;
}

/* The chain's entries, innermost first. */
static unsigned chain_out(cu_t *cu, const chain_t *c, mt_inline_t *out, unsigned max) {
  unsigned k = 0;
  for (unsigned i = c->n; i-- > 0 && k < max;) {
    rd_t t = {c->at[i], cu->end, 0};
    die_t d;
    if (!read_die(&t, cu, rd_uleb(&t), &d))
      break;
    mt_inline_t *o = &out[k++];
    memset(o, 0, sizeof(*o));
    die_names(cu, &d, &o->name, &o->linkage);
    o->line = (unsigned)d.call_line;
    call_file(cu, d.call_file, &o->dir, &o->file);
  }
  return k;
}

/* The unit starting at at, opened into cu with its abbreviations indexed;
 * r at its first child, top its DIE. */
static bool enter_unit(const image_t *im, const unsigned char *at, cu_t *cu, rd_t *r,
                       die_t *top) {
  if (!open_unit(im, at, cu, r, top))
    return false;
  index_abbrevs(cu);
  return true;
}

unsigned mt_lines_inlined(const unsigned char *elf, size_t size, uint64_t addr, mt_inline_t *out,
                          unsigned max) {
  image_t im;
  if (max == 0 || !find_sections(elf, size, &im) || im.info == NULL || im.abbrev == NULL)
    return 0;
  /* (mapped, not on the stack: 6 KiB, and a report may run on a small
   * stack; not from the arena, as the line index) */
  cu_t *cu = mt_os_map(sizeof(cu_t));
  if (cu == NULL)
    return 0;
  unsigned k = 0;
  const unsigned char *at = im.info;
  while (at < im.info + im.info_len) {
    /* (a unit this reader cannot open is passed over by its length) */
    rd_t h = {at, im.info + im.info_len, 0}, r;
    uint64_t len = rd_u(&h, 4);
    if (h.bad || len >= 0xfffffff0u || len > (uint64_t)(h.end - h.p))
      break;
    die_t top;
    if (open_unit(&im, at, cu, &r, &top) && die_holds(cu, &top, addr) == 1) {
      if (top.children) {
        index_abbrevs(cu);
        chain_t c = {.addr = addr};
        walk(cu, r, false, visit_chain, &c);
        k = chain_out(cu, &c, out, max);
      }
      break;
    }
    at = h.p + len;
  }
  mt_os_unmap(cu, sizeof(cu_t));
  return k;
}

/* ---- the functions' index ------------------------------------------------- */

typedef struct fns_s {
  mt_fn_range_t *v; /* NULL while counting */
  uint32_t n, cap;
  uint32_t unit, die; /* the function being added */
} fns_t;

static bool add_range(void *ctx, uint64_t lo, uint64_t hi) {
  fns_t *f = ctx;
  if (f->v && f->n < f->cap)
    f->v[f->n] = (mt_fn_range_t){lo, hi, f->unit, f->die};
  f->n++;
  return false;
}

static int visit_fns(void *ctx, cu_t *cu, const die_t *d, const unsigned char *here) {
  fns_t *f = ctx;
  if (d->tag != TAG_SUBPROGRAM)
    return WALK_OVER;
  f->unit = (uint32_t)(cu->start - cu->im->info);
  f->die = (uint32_t)(here - cu->im->info);
  if (d->has_ranges) {
    each_range(cu, d, add_range, f);
  } else if (d->has_low && d->has_high) {
    uint64_t hi = d->high_is_size ? d->low + d->high : d->high;
    if (d->low < hi)
      add_range(f, d->low, hi);
  }
  return WALK_IN; /* (a function nested in it has ranges of its own: a GNU C nested function) */
}

static void collect_fns(const image_t *im, cu_t *cu, fns_t *f) {
  const unsigned char *at = im->info;
  while (at < im->info + im->info_len) {
    rd_t h = {at, im->info + im->info_len, 0}, r;
    uint64_t len = rd_u(&h, 4);
    if (h.bad || len >= 0xfffffff0u || len > (uint64_t)(h.end - h.p))
      return;
    die_t top;
    if (enter_unit(im, at, cu, &r, &top) && top.children)
      walk(cu, r, false, visit_fns, f);
    at = h.p + len;
  }
}

#define FN_BEFORE(x, y)                                                                            \
  ((x)->lo != (y)->lo ? (x)->lo < (y)->lo : (x)->hi != (y)->hi ? (x)->hi < (y)->hi : (x)->die < (y)->die)
MT_SORT_DEFINE(sort_fns, mt_fn_range_t, FN_BEFORE)

mt_fn_range_t *mt_lines_fn_index(const unsigned char *elf, size_t size, uint32_t *n) {
  image_t im;
  *n = 0;
  if (!find_sections(elf, size, &im) || im.info == NULL || im.abbrev == NULL ||
      im.info_len > UINT32_MAX)
    return NULL;
  cu_t *cu = mt_os_map(sizeof(cu_t));
  if (cu == NULL)
    return NULL;
  fns_t f = {0};
  collect_fns(&im, cu, &f); /* counted, then filled */
  f.cap = f.n;
  f.v = f.n ? mt_os_map((size_t)f.cap * sizeof(mt_fn_range_t)) : NULL;
  if (f.v) {
    f.n = 0;
    collect_fns(&im, cu, &f);
    *n = f.n < f.cap ? f.n : f.cap;
    sort_fns(f.v, *n);
  }
  mt_os_unmap(cu, sizeof(cu_t));
  return f.v;
}

size_t mt_lines_scratch_size(void) { return sizeof(cu_t); }

unsigned mt_lines_inlined_by(const unsigned char *elf, size_t size, const mt_fn_range_t *index,
                             uint32_t n, uint64_t addr, mt_inline_t *out, unsigned max,
                             void *scratch) {
  image_t im;
  if (max == 0 || index == NULL || n == 0 || !find_sections(elf, size, &im) || im.info == NULL ||
      im.abbrev == NULL)
    return 0;
  uint32_t lo = 0, hi = n; /* the first function starting after addr */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (index[mid].lo <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  /* (the ranges of two functions do not overlap; a few before, should they) */
  const mt_fn_range_t *fn = NULL;
  for (uint32_t k = lo; k-- > 0 && lo - k <= 4;)
    if (addr < index[k].hi) {
      fn = &index[k];
      break;
    }
  if (fn == NULL || fn->unit >= im.info_len || fn->die >= im.info_len)
    return 0;
  cu_t *cu = scratch ? scratch : mt_os_map(sizeof(cu_t));
  if (cu == NULL)
    return 0;
  unsigned k = 0;
  rd_t r;
  die_t top;
  /* the unit of the last lookup is still open and indexed in the scratch
   * (a stack's frames often share one) */
  bool open = scratch && cu->indexed && cu->img.info == im.info &&
              cu->start == im.info + fn->unit;
  if ((open || enter_unit(&im, im.info + fn->unit, cu, &r, &top)) &&
      im.info + fn->die > cu->start && im.info + fn->die < cu->end) {
    chain_t c = {.addr = addr};
    r = (rd_t){im.info + fn->die, cu->end, 0};
    walk(cu, r, true, visit_chain, &c);
    k = chain_out(cu, &c, out, max);
  }
  if (scratch == NULL)
    mt_os_unmap(cu, sizeof(cu_t));
  return k;
}
