/* rebind.c - binds the objects a RTLD_DEEPBIND load brings in back to
 * memtype (see rebind.h). An object's relocation tables (DT_JMPREL and
 * DT_RELA) name, for each slot the loader filled, the symbol it holds; the
 * slots naming an entry point of ours are rewritten to what the global scope
 * resolves that name to, through an mprotect when the slot lies in the
 * object's RELRO pages (restored after). A lazy slot rewritten so never goes
 * back to the loader's resolver. While the load runs, the definitions of
 * those names in the objects already loaded are hidden from the loader, so
 * that the load's relocation and constructors bind to memtype too. Objects
 * of other namespaces (dlmopen) are left to their own libc copy:
 * dl_iterate_phdr lists the caller's namespace only. Locking: the loader's
 * (dl_iterate_phdr), and hide_lock around hiding and restoring; callers are
 * dlopen paths, never an allocation. */
#define _GNU_SOURCE
#include "rebind.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include "lock.h"
#include "mt_types.h"
#include "options.h"
#include "os.h"
#include "report.h"

/* ---- data ------------------------------------------------------------------ */

/* Every name libmemtype interposes that a DEEPBIND object would otherwise
 * bind to glibc or libstdc++: the allocator (preload/malloc.c, cxx.c), the
 * signal entry points memguard must stay first in (preload/signal.c), and the
 * loader entry points (preload/dl.c), so the object's own loads are rebound. */
static const char *const names[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
    "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size", "cfree", "__libc_malloc",
    "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign",
    "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t",
    "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t",
    "_ZnamSt11align_val_tRKSt9nothrow_t", "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
    "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t",
    "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
    "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t",
    "sigaction", "signal", "dlopen", "dlmopen",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))
static uintptr_t targets[NNAMES]; /* the global scope's definition, 0 when none */
static int targets_state;         /* 0 not looked up, 2 done */

/* ---- helpers --------------------------------------------------------------- */

/* Looks every name up in the global scope (dlsym from libmemtype: its scope
 * is the global one, libmemtype first after the program). Threads racing
 * here each look up and store the same values: none waits for another, which
 * may hold the loader's lock (a constructor that loads). */
static void resolve_targets(void) {
  if (__atomic_load_n(&targets_state, __ATOMIC_ACQUIRE) == 2)
    return;
  for (unsigned i = 0; i < NNAMES; i++)
    __atomic_store_n(&targets[i], (uintptr_t)dlsym(RTLD_DEFAULT, names[i]), __ATOMIC_RELAXED);
  __atomic_store_n(&targets_state, 2, __ATOMIC_RELEASE);
}

/* Names and the values their slots get: the allocator's (above), or a
 * caller's (mt_rebind_redirect). */
typedef struct slot_names_s {
  const char *const *names;
  const uintptr_t *targets;
  unsigned n;
} slot_names_t;
static const slot_names_t alloc_names = {names, targets, NNAMES};

static int name_index(const slot_names_t *t, const char *s) {
  for (unsigned i = 0; i < t->n; i++)
    if (s[0] == t->names[i][0] && strcmp(s, t->names[i]) == 0)
      return (int)i;
  return -1;
}

/* What the loader left in one object's dynamic section. On x86-64 glibc
 * relocates the d_ptr entries in place; a value below the base is not. */
typedef struct obj_s {
  uintptr_t base;
  const ElfW(Sym) *symtab;
  const char *strtab;
  size_t strsz;
  const uint32_t *gnu_hash;
  const ElfW(Rela) *rela, *jmprel;
  size_t relasz, jmprelsz;
  uintptr_t relro_lo, relro_hi; /* pages the loader made read-only */
  const ElfW(Phdr) *phdr;
  unsigned phnum;
} obj_t;

static uintptr_t dyn_ptr(const obj_t *o, uintptr_t v) { return v >= o->base ? v : o->base + v; }

static bool obj_parse(const struct dl_phdr_info *info, obj_t *o) {
  memset(o, 0, sizeof(*o));
  o->base = info->dlpi_addr;
  o->phdr = info->dlpi_phdr;
  o->phnum = info->dlpi_phnum;
  const ElfW(Dyn) *dyn = NULL;
  for (unsigned i = 0; i < o->phnum; i++) {
    const ElfW(Phdr) *ph = &o->phdr[i];
    if (ph->p_type == PT_DYNAMIC)
      dyn = (const ElfW(Dyn) *)(o->base + ph->p_vaddr);
    else if (ph->p_type == PT_GNU_RELRO) {
      o->relro_lo = (o->base + ph->p_vaddr) & ~(uintptr_t)(MT_PAGE_SIZE - 1);
      o->relro_hi = (o->base + ph->p_vaddr + ph->p_memsz) & ~(uintptr_t)(MT_PAGE_SIZE - 1);
    }
  }
  if (dyn == NULL)
    return false;
  int pltrel = DT_RELA;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    uintptr_t v = dyn->d_un.d_ptr;
    switch (dyn->d_tag) {
    case DT_SYMTAB: o->symtab = (const ElfW(Sym) *)dyn_ptr(o, v); break;
    case DT_STRTAB: o->strtab = (const char *)dyn_ptr(o, v); break;
    case DT_STRSZ: o->strsz = dyn->d_un.d_val; break;
    case DT_GNU_HASH: o->gnu_hash = (const uint32_t *)dyn_ptr(o, v); break;
    case DT_RELA: o->rela = (const ElfW(Rela) *)dyn_ptr(o, v); break;
    case DT_RELASZ: o->relasz = dyn->d_un.d_val; break;
    case DT_JMPREL: o->jmprel = (const ElfW(Rela) *)dyn_ptr(o, v); break;
    case DT_PLTRELSZ: o->jmprelsz = dyn->d_un.d_val; break;
    case DT_PLTREL: pltrel = (int)dyn->d_un.d_val; break;
    default: break;
    }
  }
  if (pltrel != DT_RELA)
    o->jmprel = NULL;
  return o->symtab != NULL && o->strtab != NULL;
}

/* Is [slot, slot+8) in a segment the object may write (now, or once the
 * RELRO pages are opened)? */
static bool slot_in_object(const obj_t *o, uintptr_t slot) {
  for (unsigned i = 0; i < o->phnum; i++) {
    const ElfW(Phdr) *ph = &o->phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && slot >= o->base + ph->p_vaddr &&
        slot + sizeof(uintptr_t) <= o->base + ph->p_vaddr + ph->p_memsz)
      return true;
  }
  return false;
}

static unsigned write_slot(const obj_t *o, uintptr_t slot, uintptr_t value) {
  uintptr_t *p = (uintptr_t *)slot;
  if (!slot_in_object(o, slot) || __atomic_load_n(p, __ATOMIC_RELAXED) == value)
    return 0;
  bool relro = slot >= o->relro_lo && slot < o->relro_hi;
  uintptr_t page = slot & ~(uintptr_t)(MT_PAGE_SIZE - 1);
  if (relro && !mt_os_set_writable(page, MT_PAGE_SIZE, true, false))
    return 0;
  /* One aligned store: a thread already calling through the slot sees the
   * old target or the new, both whole. */
  __atomic_store_n(p, value, __ATOMIC_RELAXED);
  if (relro)
    mt_os_set_writable(page, MT_PAGE_SIZE, false, false);
  return 1;
}

static unsigned rebind_table(const obj_t *o, const ElfW(Rela) *r, size_t bytes,
                             const slot_names_t *t) {
  unsigned done = 0;
  if (r == NULL)
    return 0;
  for (size_t i = 0; i < bytes / sizeof(*r); i++) {
    unsigned type = ELF64_R_TYPE(r[i].r_info), sym = ELF64_R_SYM(r[i].r_info);
    if (sym == 0)
      continue;
    /* PLT and GOT slots, and absolute data words (a table of function
     * pointers) without an addend. */
    if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT &&
        !(type == R_X86_64_64 && r[i].r_addend == 0))
      continue;
    size_t off = o->symtab[sym].st_name;
    if (off >= o->strsz)
      continue;
    int k = name_index(t, o->strtab + off);
    if (k >= 0 && t->targets[k] != 0)
      done += write_slot(o, o->base + r[i].r_offset, t->targets[k]);
  }
  return done;
}

/* ---- hiding definitions while a load runs ------------------------------------ */

/* A DEEPBIND object is relocated, and its constructors run, inside the real
 * dlopen, before its slots can be rewritten: its malloc would bind to libc's
 * and its operator new to libstdc++'s. For that window, the definitions of
 * our names in the objects already loaded (but the program and libmemtype)
 * are hidden from the loader (st_value 0: "no value", which its lookup
 * skips), so the lookup goes on to the global scope: memtype. Restored when
 * the last load in its window returns. A dependency the load itself brings
 * in cannot be hidden in time: its slots are rewritten after the load. */
#define MAX_HIDDEN 512
#define MAX_GROUPS 64
static struct {
  ElfW(Sym) *sym;
  ElfW(Addr) value;
} hidden[MAX_HIDDEN];
/* The hidden symbols of one object: hidden[first, first + n), on the pages
 * [lo, hi) of a segment that is executable or not. */
static struct {
  unsigned first, n;
  uintptr_t lo, hi;
  bool exec;
} groups[MAX_GROUPS];
static unsigned nhidden, ngroups;
static int hide_users; /* loads in their window, any thread; under hide_lock */
static MT_TLS int hide_depth; /* of them, this thread's (a constructor may load) */
static mt_lock_t hide_lock;

static uint32_t gnu_hash_of(const char *s) {
  uint32_t h = 5381;
  for (; *s; s++)
    h = h * 33 + (unsigned char)*s;
  return h;
}

/* The flags of the segment holding [a, a + len), false when none does. */
static bool seg_flags(const obj_t *o, uintptr_t a, size_t len, uint32_t *flags) {
  for (unsigned i = 0; i < o->phnum; i++) {
    const ElfW(Phdr) *ph = &o->phdr[i];
    if (ph->p_type == PT_LOAD && a >= o->base + ph->p_vaddr &&
        a + len <= o->base + ph->p_vaddr + ph->p_memsz) {
      *flags = ph->p_flags;
      return true;
    }
  }
  return false;
}

/* Notes (does not yet hide) every defined version of name in o. */
static void find_name(const obj_t *o, const char *name) {
  const uint32_t *gh = o->gnu_hash;
  uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2];
  if (nbuckets == 0)
    return;
  const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)&gh[4] + bloom_size);
  const uint32_t *chain = buckets + nbuckets;
  uint32_t h = gnu_hash_of(name);
  uint32_t i = buckets[h % nbuckets];
  if (i < symoffset)
    return;
  /* Every version of the name (libc has dlopen@GLIBC_2.2.5 and @@2.34). */
  for (;; i++) {
    uint32_t h2 = chain[i - symoffset];
    ElfW(Sym) *sym = (ElfW(Sym) *)&o->symtab[i];
    if ((h | 1) == (h2 | 1) && sym->st_name < o->strsz &&
        strcmp(o->strtab + sym->st_name, name) == 0 && sym->st_shndx != SHN_UNDEF &&
        sym->st_value != 0 && nhidden < MAX_HIDDEN)
      hidden[nhidden++].sym = sym;
    if (h2 & 1)
      break;
  }
}

static bool in_object(const struct dl_phdr_info *info, uintptr_t a) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && a >= info->dlpi_addr + ph->p_vaddr &&
        a < info->dlpi_addr + ph->p_vaddr + ph->p_memsz)
      return true;
  }
  return false;
}

/* Writes the values of a group (0 to hide, the saved ones to restore),
 * opening its read-only pages around the stores: one mprotect each way. */
static void group_store(unsigned g, bool hide) {
  if (!mt_os_set_writable(groups[g].lo, groups[g].hi - groups[g].lo, true, groups[g].exec))
    return;
  for (unsigned i = groups[g].first; i < groups[g].first + groups[g].n; i++)
    hidden[i].sym->st_value = hide ? 0 : hidden[i].value;
  mt_os_set_writable(groups[g].lo, groups[g].hi - groups[g].lo, false, groups[g].exec);
}

static int hide_one(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size, (void)arg;
  obj_t o;
  /* Not the program (it comes first in every scope anyway) nor us. */
  if (ngroups == MAX_GROUPS || info->dlpi_name == NULL || info->dlpi_name[0] == '\0' ||
      in_object(info, (uintptr_t)&hide_one) || !obj_parse(info, &o) || o.gnu_hash == NULL)
    return 0;
  unsigned first = nhidden;
  for (unsigned k = 0; k < NNAMES; k++)
    find_name(&o, names[k]);
  if (nhidden == first)
    return 0;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (unsigned i = first; i < nhidden; i++) {
    hidden[i].value = hidden[i].sym->st_value;
    lo = (uintptr_t)hidden[i].sym < lo ? (uintptr_t)hidden[i].sym : lo;
    hi = (uintptr_t)(hidden[i].sym + 1) > hi ? (uintptr_t)(hidden[i].sym + 1) : hi;
  }
  uint32_t flags;
  if (!seg_flags(&o, lo, hi - lo, &flags) || (flags & PF_W)) {
    nhidden = first; /* a writable symbol table: not seen in practice, left alone */
    return 0;
  }
  unsigned g = ngroups++;
  groups[g].first = first;
  groups[g].n = nhidden - first;
  groups[g].lo = lo & ~(uintptr_t)(MT_PAGE_SIZE - 1);
  groups[g].hi = (hi + MT_PAGE_SIZE - 1) & ~(uintptr_t)(MT_PAGE_SIZE - 1);
  groups[g].exec = (flags & PF_X) != 0;
  group_store(g, true);
  return 0;
}

/* Puts every hidden value back (the pages' flags as they were). */
static void unhide_all(void) {
  while (ngroups)
    group_store(--ngroups, false);
  nhidden = 0;
}

/* ---- the loaded objects ---------------------------------------------------- */

static int note_one(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  mt_rebind_mark_t *m = arg;
  m->adds = info->dlpi_adds;
  if (m->n < m->cap && m->bases)
    m->bases[m->n] = info->dlpi_addr;
  m->n++;
  return 0;
}

typedef struct fresh_s {
  const mt_rebind_mark_t *m;
  unsigned done, objects;
} fresh_t;

static bool was_loaded(const mt_rebind_mark_t *m, unsigned long base) {
  for (unsigned i = 0; i < m->n && i < m->cap; i++)
    if (m->bases[i] == base)
      return true;
  return false;
}

static int rebind_one(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  fresh_t *f = arg;
  obj_t o;
  if (was_loaded(f->m, info->dlpi_addr) || !obj_parse(info, &o))
    return 0;
  unsigned done = rebind_table(&o, o.jmprel, o.jmprelsz, &alloc_names) +
                  rebind_table(&o, o.rela, o.relasz, &alloc_names);
  f->done += done;
  f->objects++;
  if (mt_opt.verbose)
    mt_printf("memtype: %s (opened with RTLD_DEEPBIND): %u slots bound back to memtype\n",
              info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "?", done);
  return 0;
}

typedef struct redirect_s {
  const mt_rebind_mark_t *m; /* objects loaded before, left alone; or NULL */
  const slot_names_t *t;
  uintptr_t skip;            /* the object holding this address is left alone */
  unsigned done, objects;
} redirect_t;

static int redirect_one(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  redirect_t *r = arg;
  obj_t o;
  if ((r->m && was_loaded(r->m, info->dlpi_addr)) || in_object(info, (uintptr_t)&redirect_one) ||
      (r->skip && in_object(info, r->skip)) || !obj_parse(info, &o))
    return 0;
  unsigned done = rebind_table(&o, o.jmprel, o.jmprelsz, r->t) +
                  rebind_table(&o, o.rela, o.relasz, r->t);
  r->done += done;
  r->objects += done != 0;
  return 0;
}

/* ---- the caller's search path ------------------------------------------------ */

/* The real dlopen searches a bare name with its caller's DT_RPATH/DT_RUNPATH;
 * called from libmemtype it would use ours. The caller's search list
 * (dlinfo RTLD_DI_SERINFO: its RPATH, LD_LIBRARY_PATH, its RUNPATH, the
 * default directories, $ORIGIN expanded) is walked here instead, and the
 * first directory that holds the file names it. Not the ld.so cache: a name
 * found only there is left to the real search, which has the cache. */
static bool caller_path(const char *file, uintptr_t caller, char *out, size_t len) {
  Dl_info info;
  struct link_map *lm = NULL;
  if (file == NULL || strchr(file, '/') != NULL || caller == 0 ||
      !dladdr1((void *)caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || lm == NULL)
    return false;
  Dl_serinfo size;
  if (dlinfo(lm, RTLD_DI_SERINFOSIZE, &size) != 0 || size.dls_size < sizeof(Dl_serinfo))
    return false;
  size_t bytes = (size.dls_size + MT_PAGE_SIZE - 1) & ~(MT_PAGE_SIZE - 1);
  Dl_serinfo *si = mt_os_map(bytes);
  if (si == NULL)
    return false;
  bool found = false;
  si->dls_size = size.dls_size;
  si->dls_cnt = size.dls_cnt;
  if (dlinfo(lm, RTLD_DI_SERINFOSIZE, si) == 0 && dlinfo(lm, RTLD_DI_SERINFO, si) == 0) {
    for (unsigned i = 0; i < si->dls_cnt && !found; i++) {
      const char *dir = si->dls_serpath[i].dls_name;
      size_t dl = strlen(dir), fl = strlen(file);
      if (dl == 0 || dl + 1 + fl >= len)
        continue;
      memcpy(out, dir, dl);
      out[dl] = '/';
      memcpy(out + dl + 1, file, fl + 1);
      found = mt_os_file_exists(out);
    }
  }
  mt_os_unmap(si, bytes);
  return found;
}

/* ---- public ---------------------------------------------------------------- */

const char *mt_rebind_path(const char *file, uintptr_t caller, char *buf, size_t len) {
  return caller_path(file, caller, buf, len) ? buf : file;
}

bool mt_rebind_is_foreign_new(uintptr_t pc) {
  Dl_info info;
  if (pc == 0 || !dladdr((void *)pc, &info) || info.dli_sname == NULL)
    return false;
  return strncmp(info.dli_sname, "_Znw", 4) == 0 || strncmp(info.dli_sname, "_Zna", 4) == 0;
}

/* x86-64 only: elsewhere the relocation types differ, and nothing is done. */
static const bool MT_CONFIG_REBIND =
#if defined(__x86_64__)
    true;
#else
    false;
#endif

bool mt_rebind_wanted(int flags, bool base_ns) {
  return MT_CONFIG_REBIND && base_ns && (flags & RTLD_DEEPBIND) != 0;
}

void mt_rebind_hide(void) {
  /* What must not be looked up while the names are hidden: now. */
  resolve_targets();
  mt_os_libc_prepare();
  mt_locks_enter();
  mt_lock(&hide_lock);
  if (hide_users++ == 0)
    dl_iterate_phdr(hide_one, NULL);
  hide_depth++;
  mt_unlock(&hide_lock);
  mt_locks_leave();
}

void mt_rebind_unhide(void) {
  mt_locks_enter();
  mt_lock(&hide_lock);
  if (--hide_users == 0)
    unhide_all();
  hide_depth--;
  mt_unlock(&hide_lock);
  mt_locks_leave();
}

void mt_rebind_fork_child(void) {
  /* Only this thread's loads go on in the child: another thread's window
   * would never close, its hidden names never come back. */
  mt_lock_reset(&hide_lock);
  hide_users = hide_depth;
  if (hide_users == 0)
    unhide_all();
}

void mt_rebind_mark(mt_rebind_mark_t *m) {
  memset(m, 0, sizeof(*m));
  dl_iterate_phdr(note_one, m); /* counts */
  for (;;) {
    unsigned want = m->n + 16;
    m->bytes = ((want * sizeof(unsigned long)) + MT_PAGE_SIZE - 1) & ~(MT_PAGE_SIZE - 1);
    m->bases = mt_os_map(m->bytes);
    m->cap = m->bases ? (unsigned)(m->bytes / sizeof(unsigned long)) : 0;
    m->n = 0;
    if (m->bases == NULL)
      return; /* then every object counts as new: rewriting a slot that
               * already holds the target is skipped */
    dl_iterate_phdr(note_one, m);
    if (m->n <= m->cap)
      return;
    mt_os_unmap(m->bases, m->bytes); /* objects came meanwhile: again */
  }
}

unsigned mt_rebind_new_objects(mt_rebind_mark_t *m) {
  fresh_t f = {m, 0, 0};
  resolve_targets();
  dl_iterate_phdr(rebind_one, &f);
  if (m->bases)
    mt_os_unmap(m->bases, m->bytes);
  m->bases = NULL;
  return f.done;
}

unsigned mt_rebind_redirect(const char *const *names_, const uintptr_t *targets_, unsigned n,
                            uintptr_t skip, const mt_rebind_mark_t *since, unsigned *objects) {
  slot_names_t t = {names_, targets_, n};
  redirect_t r = {since, &t, skip, 0, 0};
  if (MT_CONFIG_REBIND)
    dl_iterate_phdr(redirect_one, &r);
  if (objects)
    *objects = r.objects;
  return r.done;
}
