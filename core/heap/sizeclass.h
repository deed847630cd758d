/* sizeclass.h - the size-class table: 16-byte steps to 256 B, eight classes
 * per doubling to 1 KiB, sixteen per doubling to MT_SMALL_MAX (8 KiB):
 * internal waste < 12.5 % (< 6.25 % above 1 KiB), about what glibc's
 * boundary tags cost. Larger blocks are page runs, which coalesce. The table is computed once by mt_sizeclass_init() and read-only
 * afterwards; lookups are lock-free. */
#ifndef MT_SIZECLASS_H
#define MT_SIZECLASS_H

#include "mt_types.h"

#define MT_NCLASSES 80

/* A type's Size(s) bitmap (mt_typestat_t.classes, the dump's TYPES
 * `classes`): bit c for slab class c, then one bit each for page runs, huge
 * blocks and memory reported by memtype_type_allocated(), in MT_CLASS_WORDS
 * 64-bit words. */
#define MT_CLASS_BIT_MEDIUM MT_NCLASSES
#define MT_CLASS_BIT_HUGE (MT_NCLASSES + 1)
#define MT_CLASS_BIT_POOL (MT_NCLASSES + 2)
#define MT_CLASS_BITS (MT_NCLASSES + 3)
#define MT_CLASS_WORDS 2
_Static_assert(MT_CLASS_BITS <= 64 * MT_CLASS_WORDS, "class bits fit the Size(s) bitmap");
#define MT_CLASS_WORD(bit) ((bit) >> 6)             /* the word holding a class bit */
#define MT_CLASS_MASK(bit) (1ull << ((bit) & 63))   /* its mask in that word */

#define MT_TCACHE_MAX_CAP 128u /* the largest thread cache bin (sizeclass.c) */

typedef struct mt_class_info_s {
  uint32_t size;      /* slot size */
  uint64_t recip;     /* ceil(2^40 / size) */
  uint16_t npages;    /* pages per slab */
  uint16_t nslots;    /* slots per slab */
  uint16_t cache_cap; /* thread cache bound, at most MT_TCACHE_MAX_CAP */
  uint16_t batch;     /* refill/flush batch */
} mt_class_info_t;

extern mt_class_info_t mt_classes[MT_NCLASSES];
extern uint8_t mt_class_lut[(4096 >> 4) + 1];

void mt_sizeclass_init(void);

/* Class of a request of n bytes, n <= MT_SMALL_MAX. */
static inline unsigned mt_size_class(size_t n) {
  if (MT_LIKELY(n <= 4096))
    return mt_class_lut[(n + 15) >> 4];
  size_t m = n - 1;
  unsigned b = 63u - (unsigned)__builtin_clzl(m);
  return 32u + (b - 10u) * 16u + (unsigned)((m >> (b - 4u)) & 15u);
}

/* Computed directly from the formula; the table is checked against it. */
size_t mt_class_size_formula(unsigned cls);

/* Smallest class whose slots hold n bytes and whose slot addresses are all
 * multiples of align (align <= page size); MT_NCLASSES when none. */
unsigned mt_size_class_aligned(size_t n, size_t align);

bool mt_sizeclass_is_valid(void);

#endif
