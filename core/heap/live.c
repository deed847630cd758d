/* live.c - the shared live file (see live.h). One mapping, laid out as
 *   [header 4 KiB][directory: SLOTS x 256 u32][types: MAX_TYPES x 64 B]
 *   [chunks: up to MAX_CHUNKS x 12 KiB]
 * sized with ftruncate and sparse: only what is written takes memory.
 * Chunk indexes are handed out by an atomic counter; the directory entry
 * is stored after the chunk is zeroed (release), and a reader that sees an
 * index reads a valid chunk. */
#define _GNU_SOURCE
#include "live.h"

#include <string.h>

#include "options.h"
#include "os.h"
#include "report.h"
#include "site.h"
#include "sizeclass.h"

#define MAGIC "mtlive\0\1"
#define MAX_CHUNKS 4096u
#define HDR_SIZE 4096u
#define DIR_OFF HDR_SIZE
#define DIR_SIZE (MT_LIVE_SLOTS * MT_STAT_CHUNKS * 4u)
#define TYPES_OFF (DIR_OFF + DIR_SIZE)
#define TYPE_REC 64u
#define TYPES_SIZE (MT_MAX_TYPES * TYPE_REC)
#define CHUNK_BYTES (MT_STAT_CHUNK * sizeof(mt_typestat_t))
#define CHUNKS_OFF (TYPES_OFF + TYPES_SIZE)
#define FILE_SIZE (CHUNKS_OFF + (size_t)MAX_CHUNKS * CHUNK_BYTES)

/* Header fields, little-endian, at fixed offsets (docs/format.md). */
typedef struct live_hdr_s {
  char magic[8];
  uint32_t version;     /* 2 */
  uint32_t pid;
  uint32_t slots;       /* MT_LIVE_SLOTS */
  uint32_t chunk_types; /* MT_STAT_CHUNK */
  uint32_t chunks_per_slot;
  uint32_t record_size; /* sizeof(mt_typestat_t) */
  uint64_t dir_off, types_off, chunks_off;
  uint32_t ntypes;      /* type ids handed out so far (updated) */
  uint32_t nchunks;     /* chunks handed out so far (updated) */
  uint32_t nclasses;    /* size classes in classes[] */
  uint32_t classes[MT_NCLASSES]; /* slot size per class, for Size(s) */
} live_hdr_t;
_Static_assert(sizeof(live_hdr_t) <= HDR_SIZE, "the live header fits its page");

static char *base;
static char path[128];
static uint32_t next_chunk;

static live_hdr_t *hdr(void) { return (live_hdr_t *)base; }

static bool make_file(char *out, size_t len, int *fd_out) {
  mt_snprintf(out, len, "/dev/shm/memtype.%d.live", mt_os_getpid());
  mt_os_unlink(out); /* a stale file of a dead process with our pid */
  int fd = mt_os_create_excl(out);
  if (fd < 0 || !mt_os_truncate(fd, FILE_SIZE)) {
    char eb[24];
    mt_warn("cannot create the live file %s (%s); no live view", out,
            fd < 0 ? mt_errno_text(-fd, eb, sizeof(eb)) : "cannot set its size");
    if (fd >= 0) {
      mt_os_close(fd);
      mt_os_unlink(out);
    }
    return false;
  }
  *fd_out = fd;
  return true;
}

static void write_header(void) {
  live_hdr_t *h = hdr();
  h->version = 2; /* 2: the record's order of tcache.h (failures at 64) */
  h->pid = (uint32_t)mt_os_getpid();
  h->slots = MT_LIVE_SLOTS;
  h->chunk_types = MT_STAT_CHUNK;
  h->chunks_per_slot = MT_STAT_CHUNKS;
  h->record_size = sizeof(mt_typestat_t);
  h->dir_off = DIR_OFF;
  h->types_off = TYPES_OFF;
  h->chunks_off = CHUNKS_OFF;
  __atomic_store_n(&h->ntypes, mt_site_count(), __ATOMIC_RELEASE);
  h->nclasses = MT_NCLASSES;
  for (unsigned c = 0; c < MT_NCLASSES; c++)
    h->classes[c] = mt_classes[c].size;
  memcpy(h->magic, MAGIC, 8); /* last: a reader trusts nothing before it */
}

bool mt_live_start(void) {
  if (!mt_opt.live || mt_os_is_secure() || base)
    return base != NULL;
  int fd;
  if (!make_file(path, sizeof(path), &fd))
    return false;
  base = mt_os_map_file(fd, FILE_SIZE, NULL);
  mt_os_close(fd);
  if (base == NULL) {
    mt_warn("cannot map the live file %s; no live view", path);
    mt_os_unlink(path);
    return false;
  }
  write_header();
  /* Types interned before the file existed. */
  for (unsigned t = MT_TYPE_FIRST; t < mt_site_count(); t++)
    mt_live_note_type(t, mt_site_pc(t), mt_site_name(t));
  /* And their counters so far. */
  mt_tcache_live_adopt();
  return true;
}

bool mt_live_on(void) { return base != NULL; }

MT_HIDDEN void (*const mt_site_note_hook)(unsigned, uintptr_t, const char *) = mt_live_note_type;

bool mt_live_owns(const void *p) {
  return base != NULL && (const char *)p >= base && (const char *)p < base + FILE_SIZE;
}

mt_typestat_t *mt_live_chunk(unsigned slot, unsigned chunk) {
  if (base == NULL || slot >= MT_LIVE_SLOTS)
    return NULL;
  uint32_t i = __atomic_fetch_add(&next_chunk, 1, __ATOMIC_RELAXED);
  if (i >= MAX_CHUNKS)
    return NULL;
  mt_typestat_t *c = (mt_typestat_t *)(base + CHUNKS_OFF + (size_t)i * CHUNK_BYTES);
  memset(c, 0, CHUNK_BYTES);
  uint32_t *dir = (uint32_t *)(base + DIR_OFF);
  __atomic_store_n(&dir[slot * MT_STAT_CHUNKS + chunk], i + 1, __ATOMIC_RELEASE);
  uint32_t n = i + 1;
  uint32_t old = __atomic_load_n(&hdr()->nchunks, __ATOMIC_RELAXED);
  while (old < n && !__atomic_compare_exchange_n(&hdr()->nchunks, &old, n, true,
                                                 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
    ;
  return c;
}

void mt_live_note_type(unsigned id, uintptr_t pc, const char *name) {
  if (base == NULL || id >= MT_MAX_TYPES)
    return;
  char *rec = base + TYPES_OFF + (size_t)id * TYPE_REC;
  uint64_t v = pc;
  memcpy(rec, &v, 8);
  if (name) {
    size_t n = strlen(name);
    if (n > TYPE_REC - 9)
      n = TYPE_REC - 9;
    memcpy(rec + 8, name, n);
    rec[8 + n] = '\0';
  }
  uint32_t count = mt_site_count();
  uint32_t old = __atomic_load_n(&hdr()->ntypes, __ATOMIC_RELAXED);
  while (old < count && !__atomic_compare_exchange_n(&hdr()->ntypes, &old, count, true,
                                                     __ATOMIC_RELEASE, __ATOMIC_RELAXED))
    ;
}

/* Copies [0, used) of the parent's file into fd page by page, leaving out
 * the pages that are all zero: the child's file stays as sparse as the
 * parent's (a header, a few directory and type pages, the chunks in use)
 * instead of megabytes of written zeros. */
static bool copy_sparse(int fd, size_t used) {
  static const char zero[4096];
  for (size_t off = 0; off < used; off += sizeof(zero)) {
    size_t n = used - off < sizeof(zero) ? used - off : sizeof(zero);
    /* Only pages the file has: reading a hole of a shared tmpfs mapping
     * would give the parent's file a page there (megabytes of them). */
    if (!mt_os_page_resident(base + off) || memcmp(base + off, zero, n) == 0)
      continue;
    int err = 0;
    if (!mt_os_pwrite_all(fd, base + off, n, off, &err))
      return false;
  }
  return true;
}

void mt_live_fork_child(void) {
  if (base == NULL)
    return;
  int fd;
  char child_path[128];
  path[0] = '\0'; /* the parent's file is the parent's to remove */
  if (!make_file(child_path, sizeof(child_path), &fd)) {
    /* No file of its own: the child must not write into the parent's. */
    mt_os_map_anon_fixed(base, FILE_SIZE);
    base = NULL;
    return;
  }
  /* Copy what is in use, then put the child's file where the parent's was
   * mapped, so every pointer into it stays valid in the child. */
  size_t used = CHUNKS_OFF + (size_t)__atomic_load_n(&next_chunk, __ATOMIC_RELAXED) * CHUNK_BYTES;
  if (used > FILE_SIZE)
    used = FILE_SIZE;
  if (!copy_sparse(fd, used) || mt_os_map_file(fd, FILE_SIZE, base) != base) {
    mt_os_close(fd);
    mt_os_unlink(child_path);
    mt_os_map_anon_fixed(base, FILE_SIZE);
    base = NULL;
    return;
  }
  mt_os_close(fd);
  memcpy(path, child_path, sizeof(path));
  hdr()->pid = (uint32_t)mt_os_getpid();
}

void mt_live_set_owner(int uid) {
  if (base == NULL || path[0] == '\0' || uid < 0)
    return;
  mt_os_chown(path, uid);
}

void mt_live_fini(void) {
  if (base == NULL || path[0] == '\0')
    return;
  mt_os_unlink(path);
  path[0] = '\0';
}
