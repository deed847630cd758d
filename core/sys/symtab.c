/* symtab.c - see symtab.h. Each module is loaded once, on the first lookup
 * in it: its file is mapped read-only, its function symbols copied into
 * internal memory as (start, size, name offset) and heap-sorted by start;
 * a lookup is a binary search. The names stay in the file mapping. Tables
 * are kept until exit (at most MAX_MODULES; later modules go unnamed). One
 * lock, only try-locked in a report or a handler. */
#include "symtab.h"

#include <elf.h>
#include <string.h>

#include "arena.h"
#include "lines.h"
#include "lock.h"
#include "modules.h"
#include "os.h"
#include "sort.h"

#define MAX_MODULES 256

typedef struct sym_s {
  uint64_t start;     /* relative to the module's load bias */
  uint32_t size : 26; /* (capped) */
  uint32_t rank : 6;  /* among aliases (the same start): the higher is named */
  uint32_t name;      /* offset in the string table */
} sym_t;
#define SYM_SIZE_MAX ((1u << 26) - 1)

typedef struct table_s {
  uintptr_t bias;
  const char *path; /* interned by modules.c: one pointer per path */
  const char *strtab;
  uint64_t strsize;
  sym_t *syms;
  uint32_t n;      /* 0: the module has no usable symbol table */
  const unsigned char *image, *debug; /* the file, its separate debug file */
  size_t image_size, debug_size;
  mt_line_t *lines; /* source files by address, built on first use */
  uint32_t nlines;
  bool lines_done;
  bool lines_in_debug; /* lines indexes the debug file, not the image */
  mt_fn_range_t *fns;  /* functions by address, for inlined calls: built on first use */
  uint32_t nfns;
  bool fns_done, fns_in_debug;
  int8_t comment;      /* .comment read: COMMENT_* bits; not read: -1 */
} table_t;

static table_t tables[MAX_MODULES];
static unsigned ntables;
static mt_lock_t lock;

/* ---- loading ------------------------------------------------------------ */

/* By start; aliases by rank, so that the one a lookup names (the last of
 * them) is a global name rather than a local one: glibc's debug symbols
 * give __libc_start_main three local aliases (__libc_start_main_impl,
 * _alias_1, _alias_2) besides its exported name. Aliases of one rank by
 * their names' offsets: the same order every time. */
#define SYM_BEFORE(x, y)                                                                           \
  ((x)->start != (y)->start  ? (x)->start < (y)->start                                             \
   : (x)->rank != (y)->rank ? (x)->rank < (y)->rank                                                \
                            : (x)->name > (y)->name)
MT_SORT_DEFINE(sort_syms, sym_t, SYM_BEFORE)

/* Exported global, exported weak, hidden or internal, local; within each,
 * a plain name, then a default version ("f@@V1"), then another ("f@V0");
 * within those, the fewer leading underscores (glibc's "fopen" over its
 * alias "_IO_fopen", both global). (At most 47: sym_t's 6 bits.) */
static uint8_t sym_rank(const Elf64_Sym *s, const char *name, size_t room) {
  unsigned bind = ELF64_ST_BIND(s->st_info), r = 0, vis = ELF64_ST_VISIBILITY(s->st_other);
  if (bind == STB_GLOBAL || bind == STB_WEAK)
    r = vis != STV_DEFAULT && vis != STV_PROTECTED ? 1 : bind == STB_GLOBAL ? 3 : 2;
  size_t len = strnlen(name, room);
  const char *at = memchr(name, '@', len);
  unsigned under = 0;
  while (under < 3 && under < len && name[under] == '_')
    under++;
  return (uint8_t)((r * 3 + (at == NULL ? 2 : at[1] == '@' ? 1 : 0)) * 4 + (3 - under));
}

/* Fills t from the ELF image at f (size bytes) with the functions of its
 * sections of type `kind` (SHT_SYMTAB, or SHT_DYNSYM: the exported ones, all
 * a stripped library keeps); every offset is checked. */
static void load(table_t *t, const unsigned char *f, size_t size, uint32_t kind) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
      eh->e_shoff > size || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
    return;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != kind || sh[i].sh_link >= eh->e_shnum ||
        sh[i].sh_entsize != sizeof(Elf64_Sym) || sh[i].sh_offset > size ||
        sh[i].sh_size > size - sh[i].sh_offset)
      continue;
    const Elf64_Shdr *str = &sh[sh[i].sh_link];
    if (str->sh_offset > size || str->sh_size > size - str->sh_offset)
      continue;
    const Elf64_Sym *sym = (const Elf64_Sym *)(f + sh[i].sh_offset);
    uint64_t count = sh[i].sh_size / sizeof(Elf64_Sym), funcs = 0;
    for (uint64_t k = 0; k < count; k++)
      funcs += ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && sym[k].st_value &&
               sym[k].st_name < str->sh_size;
    if (funcs == 0 || funcs > UINT32_MAX)
      return;
    /* Mapped, not from the arena: a report may load a table in a signal
     * handler that interrupted a thread holding the arena's lock. */
    sym_t *out = mt_os_map(funcs * sizeof(sym_t));
    if (out == NULL)
      return;
    uint32_t n = 0;
    for (uint64_t k = 0; k < count && n < funcs; k++)
      if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && sym[k].st_value &&
          sym[k].st_name < str->sh_size)
        out[n++] = (sym_t){sym[k].st_value,
                           sym[k].st_size > SYM_SIZE_MAX ? SYM_SIZE_MAX : (uint32_t)sym[k].st_size,
                           sym_rank(&sym[k], (const char *)(f + str->sh_offset) + sym[k].st_name,
                                    str->sh_size - sym[k].st_name),
                           sym[k].st_name};
    sort_syms(out, n);
    t->strtab = (const char *)(f + str->sh_offset);
    t->strsize = str->sh_size;
    t->syms = out;
    t->n = n;
    return;
  }
}

/* The separate debug file of an image, by its GNU build-id, as Debian's
 * -dbgsym packages install them: /usr/lib/debug/.build-id/ab/cdef....debug */
static const unsigned char *debug_file(const unsigned char *f, size_t size, size_t *dsize) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_NOTE || sh[i].sh_offset > size ||
        sh[i].sh_size > size - sh[i].sh_offset)
      continue;
    const unsigned char *p = f + sh[i].sh_offset, *end = p + sh[i].sh_size;
    while ((size_t)(end - p) >= sizeof(Elf64_Nhdr)) {
      const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
      const unsigned char *name = p + sizeof(*nh);
      size_t nlen = (nh->n_namesz + 3) & ~3u, dlen = (nh->n_descsz + 3) & ~3u;
      if ((size_t)(end - name) < nlen || (size_t)(end - name - nlen) < dlen)
        break;
      const unsigned char *desc = name + nlen;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
          nh->n_descsz >= 2 && nh->n_descsz <= 64) {
        static const char hex[] = "0123456789abcdef";
        char path[256] = "/usr/lib/debug/.build-id/";
        size_t o = strlen(path);
        for (unsigned k = 0; k < nh->n_descsz; k++) {
          path[o++] = hex[desc[k] >> 4];
          path[o++] = hex[desc[k] & 15];
          if (k == 0)
            path[o++] = '/';
        }
        memcpy(path + o, ".debug", 7);
        return mt_os_map_file_ro(path, dsize);
      }
      p = desc + dlen;
    }
  }
  return NULL;
}

static bool is_elf64(const unsigned char *f, size_t size) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  return f && size >= sizeof(*eh) && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
         eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_shentsize == sizeof(Elf64_Shdr) &&
         eh->e_shoff <= size && (size - eh->e_shoff) / sizeof(Elf64_Shdr) >= eh->e_shnum;
}

static table_t *table_for(uintptr_t pc) {
  mt_module_t m;
  if (!mt_modules_find(pc, &m))
    return NULL;
  const char *path = m.path;
  uintptr_t bias = m.bias;
  for (unsigned i = 0; i < ntables; i++)
    if (tables[i].bias == bias && tables[i].path == path)
      return &tables[i];
  if (ntables == MAX_MODULES)
    return NULL;
  table_t *t = &tables[ntables]; /* counted once loaded: a fork may cut a load short */
  memset(t, 0, sizeof(*t));
  t->comment = -1;
  t->bias = bias;
  t->path = path;
  size_t size;
  const unsigned char *f = mt_os_map_file_ro(path, &size);
  if (!is_elf64(f, size)) {
    ntables++;
    return t;
  }
  ntables++;
  t->image = f, t->image_size = size; /* the mapping stays: names point into it */
  load(t, f, size, SHT_SYMTAB);
  const unsigned char *d = debug_file(f, size, &t->debug_size);
  if (is_elf64(d, t->debug_size)) {
    t->debug = d;
    if (t->n == 0) /* a stripped file: its symbols are in the debug file */
      load(t, d, t->debug_size, SHT_SYMTAB);
  }
  if (t->n == 0) /* no debug file either: the exported functions */
    load(t, f, size, SHT_DYNSYM);
  return t;
}

/* What the image's .comment says of the compilers that made it. Debian
 * strips .comment from what it packages: those answer 0. */
#define COMMENT_GCC_ONLY 1 /* GCC and no other compiler */
#define COMMENT_RUSTC 2    /* rustc (its std allocates through malloc) */
static int comment_flags(const unsigned char *f, size_t size) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
  if (eh->e_shstrndx >= eh->e_shnum)
    return 0;
  const Elf64_Shdr *names = &sh[eh->e_shstrndx];
  if (names->sh_offset > size || names->sh_size > size - names->sh_offset)
    return 0;
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_PROGBITS || sh[i].sh_name >= names->sh_size ||
        names->sh_size - sh[i].sh_name < sizeof(".comment") ||
        memcmp(f + names->sh_offset + sh[i].sh_name, ".comment", sizeof(".comment")) != 0 ||
        sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset)
      continue;
    /* NUL-separated strings, one per compiler that made an object in it. */
    const char *c = (const char *)(f + sh[i].sh_offset), *end = c + sh[i].sh_size;
    bool gcc = false, other = false, rustc = false;
    while (c < end) {
      size_t n = strnlen(c, (size_t)(end - c));
      if (n >= 4 && memcmp(c, "GCC:", 4) == 0)
        gcc = true;
      else if (n > 0)
        other = true; /* clang, or a linker's or another tool's line: not only GCC */
      if (n >= 6 && memcmp(c, "rustc ", 6) == 0)
        rustc = true;
      c += n + 1;
    }
    return (gcc && !other ? COMMENT_GCC_ONLY : 0) | (rustc ? COMMENT_RUSTC : 0);
  }
  return 0;
}

/* ---- lookup ----------------------------------------------------------- */

void mt_symtab_fork_child(void) { mt_lock_reset(&lock); }

/* In a report or a handler, a lookup never waits (it answers "unknown");
 * elsewhere it waits for a table another thread is loading, so that a
 * call site's name never depends on timing (type rules cache it). */
static bool enter(void) {
  if (mt_modules_hold)
    return mt_trylock(&lock);
  mt_lock(&lock);
  return true;
}

bool mt_symtab_lookup(uintptr_t pc, const char **name, uintptr_t *start) {
  if (!enter())
    return false;
  table_t *t = table_for(pc);
  bool found = false;
  if (t && t->n) {
    uint64_t off = pc - t->bias;
    uint32_t lo = 0, hi = t->n; /* first symbol starting after off */
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (t->syms[mid].start <= off)
        lo = mid + 1;
      else
        hi = mid;
    }
    /* The innermost function covering off (sizes may nest with aliases). */
    for (uint32_t k = lo; k-- > 0 && lo - k <= 8;) {
      const sym_t *s = &t->syms[k];
      if (off < s->start + (s->size ? s->size : 1)) {
        *name = t->strtab + s->name;
        *start = t->bias + s->start;
        found = true;
        break;
      }
    }
  }
  mt_unlock(&lock);
  return found;
}

/* An index of a module's DWARF (lines.c: the line index, the functions'
 * index) from its file, else from its separate debug file; *in_debug says
 * which. */
typedef void *(*index_fn)(const unsigned char *elf, size_t size, uint32_t *n);
static void *index_of(const table_t *t, index_fn build, uint32_t *n, bool *in_debug) {
  void *v = t->image ? build(t->image, t->image_size, n) : NULL;
  *in_debug = v == NULL && t->debug && (v = build(t->debug, t->debug_size, n)) != NULL;
  return v;
}

static void *lines_index(const unsigned char *elf, size_t size, uint32_t *n) {
  return mt_lines_index(elf, size, n);
}
static void *fn_index(const unsigned char *elf, size_t size, uint32_t *n) {
  return mt_lines_fn_index(elf, size, n);
}

/* The source file (and line, when line is not NULL) of code address a. */
static bool file_line(uintptr_t a, char *buf, size_t len, unsigned *line) {
  if (len == 0 || !enter())
    return false;
  table_t *t = table_for(a);
  bool found = false;
  if (t && !t->lines_done) {
    t->lines_done = true;
    t->lines = index_of(t, lines_index, &t->nlines, &t->lines_in_debug);
  }
  const mt_line_t *e = t && t->lines ? mt_lines_find(t->lines, t->nlines, a - t->bias) : NULL;
  if (e) {
    size_t dl = e->dir && e->name[0] != '/' ? strlen(e->dir) : 0, nl = strlen(e->name);
    if (dl + 1 + nl < len) {
      if (dl) {
        memcpy(buf, e->dir, dl);
        buf[dl++] = '/';
      }
      memcpy(buf + dl, e->name, nl + 1);
      found = true;
    }
    if (found && line)
      *line = mt_lines_line(t->lines_in_debug ? t->debug : t->image,
                            t->lines_in_debug ? t->debug_size : t->image_size, e, a - t->bias);
  }
  mt_unlock(&lock);
  return found;
}

unsigned mt_symtab_inlined(uintptr_t pc, bool is_return, mt_inline_t *out, unsigned max) {
  uintptr_t a = is_return ? pc - 1 : pc;
  if (max == 0 || !enter())
    return 0;
  table_t *t = table_for(a);
  unsigned n = 0;
  if (t && !t->fns_done) {
    t->fns_done = true;
    t->fns = index_of(t, fn_index, &t->nfns, &t->fns_in_debug);
  }
  /* one scratch for every module's lookups, under the lock (mapped once) */
  static void *scratch;
  if (t && t->fns && scratch == NULL)
    scratch = mt_os_map(mt_lines_scratch_size());
  if (t && t->fns) {
    n = mt_lines_inlined_by(t->fns_in_debug ? t->debug : t->image,
                            t->fns_in_debug ? t->debug_size : t->image_size, t->fns, t->nfns,
                            a - t->bias, out, max, scratch);
  } else if (t) {
    /* no index (no memory for it, or no function in .debug_info): a walk of
     * the address's unit, in the file, else in the debug file */
    if (t->image)
      n = mt_lines_inlined(t->image, t->image_size, a - t->bias, out, max);
    if (n == 0 && t->debug)
      n = mt_lines_inlined(t->debug, t->debug_size, a - t->bias, out, max);
  }
  mt_unlock(&lock);
  return n;
}

/* GCC's own C++ runtime, libstdc++.so.N: made by GCC whatever its
 * .comment says (Debian strips it). */
static bool is_libstdcxx(const char *path) {
  const char *base = path ? strrchr(path, '/') : NULL;
  base = base ? base + 1 : path;
  return base && strncmp(base, "libstdc++.so", 12) == 0;
}

static int comment_of(uintptr_t pc) {
  if (!enter())
    return 0;
  table_t *t = table_for(pc);
  int flags = 0;
  if (t) {
    if (t->comment < 0)
      t->comment = (int8_t)(is_libstdcxx(t->path) ? COMMENT_GCC_ONLY
                            : t->image            ? comment_flags(t->image, t->image_size)
                                                  : 0);
    flags = t->comment;
  }
  mt_unlock(&lock);
  return flags;
}

bool mt_symtab_gcc_only(uintptr_t pc) { return (comment_of(pc) & COMMENT_GCC_ONLY) != 0; }

bool mt_symtab_rustc(uintptr_t pc) { return (comment_of(pc) & COMMENT_RUSTC) != 0; }

/* A return address: the call is the byte before it. */
bool mt_symtab_file(uintptr_t pc, char *buf, size_t len) {
  return file_line(pc - 1, buf, len, NULL);
}

bool mt_symtab_line(uintptr_t pc, bool is_return, char *buf, size_t len, unsigned *line) {
  *line = 0;
  return file_line(is_return ? pc - 1 : pc, buf, len, line);
}
