/* memtype_stat.h - a small C reader of memtype dump files (docs/format.md),
 * in the spirit of FreeBSD's libmemstat(3): open a dump, walk its types,
 * read their coalesced statistics. No dependency beyond libc.
 *
 *   memtype_stat_t *st = memtype_stat_open("memtype.prog.123.mtd", err, sizeof(err));
 *   for (size_t i = 0; i < memtype_stat_ntypes(st); i++) {
 *     const memtype_stat_type_t *t = memtype_stat_type(st, i);
 *     printf("%s %llu\n", t->name, (unsigned long long)t->allocs);
 *   }
 *   memtype_stat_close(st);
 */
#ifndef MEMTYPE_STAT_H
#define MEMTYPE_STAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct memtype_stat_type {
  uint32_t id;            /* type id (0 untyped, 1 overflow) */
  char name[128];         /* explicit type's name, "" for call-site types */
  uint64_t pc;            /* call-site address (0 for named and reserved types) */
  uint64_t allocs, frees; /* summed over every slot */
  uint64_t bytes_alloc, bytes_freed;
  uint64_t classes[2];    /* size classes used (see memtype_stat_class_size) */
  uint64_t failures;      /* allocations failed on purpose (MEMTYPE_FAILURE_RATE) */
  /* A forked child's blocks live at the fork and their bytes (format 1.4,
   * INHERITED; 0 otherwise): they are the child's own, live until freed. */
  uint64_t inherited, bytes_inherited;
} memtype_stat_type_t;

typedef struct memtype_stat memtype_stat_t;

/* How the process ended (the ENDING section, format 1.4 on). */
typedef struct memtype_stat_ending {
  uint32_t how;    /* 0 unknown (or an older dump), 1 exited, 2 killed by a signal, 3 running */
  int32_t status;  /* exit status (how 1) */
  uint32_t signal; /* the signal (how 2) */
  uint32_t via;    /* 1 exit(), 2 _exit(), 3 signal, 4 MEMTYPE_ON_ERROR, 5 crash, 6 leak exit code */
} memtype_stat_ending_t;

/* Reads a whole dump. NULL on any problem, with a one-line reason in err. */
memtype_stat_t *memtype_stat_open(const char *path, char *err, size_t errlen);
/* The same for a dump already in memory (len bytes at data, not kept);
 * name stands for the file in messages. Any bytes at all are safe to pass:
 * a corrupt dump is NULL and a reason, never a read outside data. */
memtype_stat_t *memtype_stat_open_mem(const void *data, size_t len, const char *name, char *err,
                                      size_t errlen);
void memtype_stat_close(memtype_stat_t *st);

uint32_t memtype_stat_pid(const memtype_stat_t *st);
const memtype_stat_ending_t *memtype_stat_ending(const memtype_stat_t *st);
size_t memtype_stat_ntypes(const memtype_stat_t *st);
const memtype_stat_type_t *memtype_stat_type(const memtype_stat_t *st, size_t i);
/* Slot size of class c, 0 past the table (page runs, huge, pool bits). */
uint32_t memtype_stat_class_size(const memtype_stat_t *st, unsigned c);

/* In use (inherited + allocated - freed), clamped at zero as the format asks. */
static inline uint64_t memtype_stat_inuse(const memtype_stat_type_t *t) {
  uint64_t have = t->inherited + t->allocs;
  return have > t->frees ? have - t->frees : 0;
}
static inline uint64_t memtype_stat_memuse(const memtype_stat_type_t *t) {
  uint64_t have = t->bytes_inherited + t->bytes_alloc;
  return have > t->bytes_freed ? have - t->bytes_freed : 0;
}

#ifdef __cplusplus
}
#endif

#endif
