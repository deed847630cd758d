/* leak.h - the leak scan at exit (MEMTYPE_LEAKS), valgrind's classes:
 * definitely lost (no pointer anywhere reaches the block), indirectly lost
 * (reached only from lost blocks), possibly lost (reached only through
 * interior pointers), still reachable (from the roots: every writable
 * mapping that is not memtype's heap - .data/.bss of every module, thread
 * stacks, TLS - and the calling thread's registers). Conservative: a word
 * that looks like a pointer is one. */
#ifndef MT_LEAK_H
#define MT_LEAK_H

#include "mt_types.h"

enum mt_leak_kind {
  MT_LEAK_DEFINITE = 0,
  MT_LEAK_INDIRECT,
  MT_LEAK_POSSIBLE,
  MT_LEAK_REACHABLE,
  MT_LEAK_KINDS
};
extern const char *const mt_leak_kind_names[MT_LEAK_KINDS];

/* One record: the blocks of one type in one class. */
typedef struct mt_leak_rec_s {
  uint64_t bytes;
  uint64_t blocks;
  uint64_t sample; /* the address of one of them */
  uint32_t stack;  /* the sample's allocation stack in the depot (depot.h), 0 = none */
  uint16_t type;
  uint8_t kind;
} mt_leak_rec_t;

typedef struct mt_leak_result_s {
  mt_leak_rec_t *recs; /* biggest first within each kind order (definite, indirect, ...) */
  uint32_t nrecs;
  uint64_t bytes[MT_LEAK_KINDS], blocks[MT_LEAK_KINDS];
  uint64_t scanned_roots;  /* bytes of roots read */
  uint64_t ns;             /* time the scan took */
  bool done;
} mt_leak_result_t;

/* Scans the heap (once; later calls return the first result). Takes the
 * page lock: other threads that need it wait. Never allocates with malloc. */
const mt_leak_result_t *mt_leak_scan(void);
/* The result of the scan made, or NULL. */
const mt_leak_result_t *mt_leak_result(void);
/* Prints the LEAK lines and the summary (nothing when nothing leaked). */
void mt_leak_print(const mt_leak_result_t *r, long lines);

#endif
