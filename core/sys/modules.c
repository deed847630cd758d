/* modules.c - the module snapshot (see modules.h). A snapshot is one
 * mapping: a header and an array of modules. Two take turns: a sync fills
 * the one not in use and publishes it with one pointer store. Readers count
 * themselves in `readers` around their look; a sync reuses the older buffer
 * only when no reader is counted, and otherwise maps a fresh one (the old
 * is abandoned: a reader may still be in it). Paths are interned in
 * internal memory that is never freed, so a copied module stays valid. */
#define _GNU_SOURCE
#include "modules.h"

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <string.h>

#include "arena.h"
#include "lock.h"
#include "os.h"
#include "symtab.h"

typedef struct snap_s {
  size_t bytes;             /* of the mapping */
  unsigned cap, n;
  unsigned long long adds, subs; /* the loader's counters it was made at */
  mt_module_t mods[];
} snap_t;

MT_TLS unsigned mt_modules_hold;
static snap_t *cur, *spare;
MT_HIDDEN unsigned mt_modules_unload_count; /* syncs that saw the loader's unload counter move */
static int readers;
static mt_lock_t lock;

/* ---- interned paths ------------------------------------------------------ */

#define INTERN_SLOTS 4096
static const char *interned[INTERN_SLOTS];

static const char *intern(const char *s) {
  uint32_t h = 2166136261u;
  for (const char *p = s; *p; p++)
    h = (h ^ (uint8_t)*p) * 16777619u;
  for (unsigned i = 0; i < INTERN_SLOTS; i++) {
    const char **slot = &interned[(h + i) % INTERN_SLOTS];
    if (*slot && strcmp(*slot, s) == 0)
      return *slot;
    if (*slot == NULL) {
      size_t n = strlen(s) + 1;
      char *copy = mt_arena_alloc(n);
      if (copy)
        memcpy(copy, s, n);
      return *slot = copy;
    }
  }
  /* Table full (thousands of distinct paths): a copy of its own. */
  size_t n = strlen(s) + 1;
  char *copy = mt_arena_alloc(n);
  if (copy)
    memcpy(copy, s, n);
  return copy;
}

/* ---- asking the loader (not in a signal handler) --------------------------- */

struct counters {
  unsigned long long adds, subs;
  unsigned n;
};

static int first_only(struct dl_phdr_info *info, size_t size, void *data) {
  struct counters *c = data;
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
    c->adds = info->dlpi_adds;
    c->subs = info->dlpi_subs;
  }
  return 1;
}

static int count_one(struct dl_phdr_info *info, size_t size, void *data) {
  (void)info, (void)size;
  ((struct counters *)data)->n++;
  return 0;
}

struct fill {
  snap_t *s;
  bool first, cut;
  char exe[4096];
};

static void build_id_of(const struct dl_phdr_info *info, mt_module_t *m) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE)
      continue;
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
      const char *name = p + sizeof(*nh);
      const char *desc = name + ((nh->n_namesz + 3) & ~3u);
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
          nh->n_descsz <= MT_BUILD_ID_MAX && desc + nh->n_descsz <= end) {
        memcpy(m->build_id, desc, nh->n_descsz);
        m->idlen = (uint8_t)nh->n_descsz;
        return;
      }
      p = desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
}

static int fill_one(struct dl_phdr_info *info, size_t size, void *data) {
  struct fill *f = data;
  snap_t *s = f->s;
  if (f->first) { /* the counters this snapshot matches */
    f->first = false;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
      s->adds = info->dlpi_adds;
      s->subs = info->dlpi_subs;
    }
  }
  if (s->n == s->cap) {
    f->cut = true;
    return 1;
  }
  mt_module_t *m = &s->mods[s->n];
  memset(m, 0, sizeof(*m));
  m->lo = UINTPTR_MAX;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_GNU_EH_FRAME)
      m->eh_hdr = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type != PT_LOAD)
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (lo < m->lo)
      m->lo = lo;
    if (hi > m->hi)
      m->hi = hi;
    /* Readable for the unwinder (unwind.c): the loader maps whole pages. */
    if ((ph->p_flags & PF_R) && m->nseg < MT_MODULE_SEGS && ph->p_memsz > 0) {
      m->seg_lo[m->nseg] = lo & ~(uintptr_t)4095;
      m->seg_hi[m->nseg] = (hi + 4095) & ~(uintptr_t)4095;
      m->nseg++;
    }
  }
  if (m->hi == 0)
    return 0; /* nothing loaded */
  m->bias = info->dlpi_addr;
  m->path = intern(info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : f->exe);
  if (m->path == NULL)
    return 0;
  build_id_of(info, m);
  s->n++;
  return 0;
}

/* A buffer for cap modules: the spare when nobody can be reading it. */
static snap_t *buffer_for(unsigned cap) {
  size_t bytes = sizeof(snap_t) + (size_t)cap * sizeof(mt_module_t);
  snap_t *s = spare;
  spare = NULL;
  if (s && s->cap >= cap && __atomic_load_n(&readers, __ATOMIC_SEQ_CST) == 0)
    return s;
  if (s && __atomic_load_n(&readers, __ATOMIC_SEQ_CST) == 0)
    mt_os_unmap(s, s->bytes);
  /* else abandoned: a reader may still be in it */
  s = mt_os_map(bytes);
  if (s) {
    s->bytes = bytes;
    s->cap = cap;
  }
  return s;
}

/* Locks: the snapshot's lock is taken before the loader's (dl_iterate_phdr
 * takes it), while a thread in dlclose frees memory holding the loader's
 * lock, and the unwinder (a stack captured at that free) or a new call site
 * wants a sync then. Such callers must not wait for the snapshot's lock:
 * they go on with the snapshot as it is (mt_modules_sync_try); only the
 * process's own start and its dump wait. Found as a deadlock in
 * stress_short's dlopen mode with block stacks on. */
static bool sync_locked(void);

bool mt_modules_sync(void) {
  if (mt_modules_hold)
    return false;
  mt_lock(&lock);
  return sync_locked();
}

bool mt_modules_sync_try(void) {
  if (mt_modules_hold || !mt_trylock(&lock))
    return false;
  return sync_locked();
}

/* Under lock; releases it. */
static bool sync_locked(void) {
  struct counters c = {0, 0, 0};
  dl_iterate_phdr(first_only, &c);
  snap_t *old = __atomic_load_n(&cur, __ATOMIC_ACQUIRE);
  bool ok = true;
  if (old == NULL || old->adds != c.adds || old->subs != c.subs || c.adds == 0) {
    dl_iterate_phdr(count_one, &c);
    static struct fill f; /* under lock; keeps 4 KiB off the stack */
    if (mt_os_self_exe(f.exe, sizeof(f.exe)) < 0)
      f.exe[0] = '\0';
    f.s = buffer_for(c.n + 8);
    if (f.s == NULL) {
      ok = false;
    } else {
      f.s->n = 0;
      f.s->adds = c.adds;
      f.s->subs = c.subs;
      f.first = true;
      f.cut = false;
      dl_iterate_phdr(fill_one, &f);
      if (f.cut) /* modules loaded since the count: the next sync starts again */
        f.s->adds = 0;
      if (old && old->subs != c.subs)
        __atomic_add_fetch(&mt_modules_unload_count, 1, __ATOMIC_RELEASE);
      __atomic_store_n(&cur, f.s, __ATOMIC_SEQ_CST);
      spare = old;
    }
  }
  mt_unlock(&lock);
  return ok;
}

/* ---- reading (anywhere) ------------------------------------------------------ */

static bool find(uintptr_t a, mt_module_t *out) {
  __atomic_add_fetch(&readers, 1, __ATOMIC_SEQ_CST);
  const snap_t *s = __atomic_load_n(&cur, __ATOMIC_SEQ_CST);
  bool found = false;
  for (unsigned i = 0; s && i < s->n; i++)
    if (a >= s->mods[i].lo && a < s->mods[i].hi) {
      *out = s->mods[i];
      found = true;
      break;
    }
  __atomic_sub_fetch(&readers, 1, __ATOMIC_SEQ_CST);
  return found;
}

bool mt_modules_find(uintptr_t a, mt_module_t *out) {
  return find(a, out) || (mt_modules_hold == 0 && mt_modules_sync_try() && find(a, out));
}

const mt_module_t *mt_modules_pin(unsigned *n) {
  __atomic_add_fetch(&readers, 1, __ATOMIC_SEQ_CST);
  const snap_t *s = __atomic_load_n(&cur, __ATOMIC_SEQ_CST);
  *n = s ? s->n : 0;
  return s ? s->mods : NULL;
}

void mt_modules_unpin(void) { __atomic_sub_fetch(&readers, 1, __ATOMIC_SEQ_CST); }

bool mt_symbol_at(uintptr_t pc, const char **func, uintptr_t *func_addr, const char **module,
                  uintptr_t *module_base) {
  mt_module_t m;
  if (!mt_modules_find(pc, &m))
    return false;
  *module = m.path;
  *module_base = m.bias;
  if (!mt_symtab_lookup(pc, func, func_addr)) {
    *func = NULL;
    *func_addr = 0;
  }
  return true;
}

bool mt_symbol(uintptr_t pc, const char **func, const char **module) {
  uintptr_t a, b;
  return mt_symbol_at(pc, func, &a, module, &b);
}

void mt_modules_fork_child(void) {
  mt_lock_reset(&lock);
  readers = 0; /* readers in threads that did not survive the fork */
}
