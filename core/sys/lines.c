/* lines.c - see lines.h. The line-number programs are run twice, once to
 * count the entries and once to fill them; then a heap sort (no qsort: it
 * may call malloc). A line lookup runs one unit's program a third time,
 * without its file table. Compressed sections are not read (no zlib here). */
#include "lines.h"

#include <elf.h>
#include <stdbool.h>
#include <string.h>

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

static uint64_t rd_uleb(rd_t *r) {
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
    v |= -((int64_t)1 << shift);
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

/* ---- sections -------------------------------------------------------------- */

typedef struct image_s {
  const unsigned char *line, *str, *line_str;
  size_t line_len, str_len, line_str_len;
} image_t;

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
    if (sh[i].sh_type == SHT_NOBITS || (sh[i].sh_flags & SHF_COMPRESSED) ||
        sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset ||
        sh[i].sh_name >= names->sh_size)
      continue;
    const char *nm = (const char *)f + names->sh_offset + sh[i].sh_name;
    size_t room = names->sh_size - sh[i].sh_name;
    const unsigned char *body = f + sh[i].sh_offset;
    if (strnlen(nm, room) == room)
      continue;
    if (strcmp(nm, ".debug_line") == 0)
      im->line = body, im->line_len = sh[i].sh_size;
    else if (strcmp(nm, ".debug_str") == 0)
      im->str = body, im->str_len = sh[i].sh_size;
    else if (strcmp(nm, ".debug_line_str") == 0)
      im->line_str = body, im->line_str_len = sh[i].sh_size;
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
  if (o->v && o->n < o->cap)
    o->v[o->n] = (mt_line_t){addr, dir, name, o->unit};
  o->n++;
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

static bool line_before(const void *a, const void *b) {
  return ((const mt_line_t *)a)->addr < ((const mt_line_t *)b)->addr;
}

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
  mt_sort(o.v, count, sizeof(*o.v), line_before);
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
