/* sizeclass.c - builds the size-class table (see sizeclass.h): slot sizes,
 * slab geometry chosen for the least tail waste, thread-cache bounds. */
#include "sizeclass.h"

mt_class_info_t mt_classes[MT_NCLASSES];
uint8_t mt_class_lut[(4096 >> 4) + 1];

size_t mt_class_size_formula(unsigned cls) {
  if (cls < 16)
    return (size_t)(cls + 1) * 16;
  if (cls < 32) {
    unsigned k = cls - 16;
    unsigned b = 8 + k / 8, q = k % 8;
    return (size_t)(9 + q) << (b - 3);
  }
  unsigned k = cls - 32;
  unsigned b = 10 + k / 16, q = k % 16;
  return (size_t)(17 + q) << (b - 4);
}

static unsigned class_by_formula(size_t n) {
  if (n <= 256)
    return n == 0 ? 0 : (unsigned)((n + 15) >> 4) - 1;
  size_t m = n - 1;
  unsigned b = 63u - (unsigned)__builtin_clzl(m);
  if (b < 10)
    return 16u + (b - 8u) * 8u + (unsigned)((m >> (b - 3u)) & 7u);
  return 32u + (b - 10u) * 16u + (unsigned)((m >> (b - 4u)) & 15u);
}

/* Slab length: four slots at least (8 KiB at least for small classes), then
 * the first length whose tail waste is under 1/32, else the least waste.
 * Short slabs keep a class that holds a few live blocks from pinning pages. */
static unsigned slab_pages(size_t size) {
  size_t want = size * 4;
  if (size <= 1024 && want < 8192)
    want = 8192;
  unsigned kmin = (unsigned)((want + MT_PAGE_SIZE - 1) / MT_PAGE_SIZE);
  if (kmin > MT_SLAB_MAX_PAGES)
    kmin = MT_SLAB_MAX_PAGES;
  unsigned kmax = kmin * 2 < MT_SLAB_MAX_PAGES ? kmin * 2 : MT_SLAB_MAX_PAGES;
  unsigned best = kmin;
  size_t best_waste = (kmin * MT_PAGE_SIZE) % size;
  for (unsigned k = kmin; k <= kmax; k++) {
    size_t waste = (k * MT_PAGE_SIZE) % size;
    if (waste * 32 <= k * MT_PAGE_SIZE)
      return k;
    if (waste * best < best_waste * k) {
      best = k;
      best_waste = waste;
    }
  }
  return best;
}

void mt_sizeclass_init(void) {
  for (unsigned c = 0; c < MT_NCLASSES; c++) {
    mt_class_info_t *ci = &mt_classes[c];
    size_t size = mt_class_size_formula(c);
    ci->size = (uint32_t)size;
    ci->recip = ((((uint64_t)1 << MT_RECIP_SHIFT) + size - 1) / size);
    ci->npages = (uint16_t)slab_pages(size);
    ci->nslots = (uint16_t)(ci->npages * MT_PAGE_SIZE / size);
    /* Small blocks are cached generously (speed); big ones sparingly, since
     * every cached block is resident memory the program does not use. */
    size_t cap = size <= 1024 ? 16384 / size : 8192 / size;
    size_t lo = size <= 1024 ? 16 : 1, hi = size <= 1024 ? MT_TCACHE_MAX_CAP : 8;
    cap = cap < lo ? lo : cap > hi ? hi : cap;
    MT_ASSERT(cap <= MT_TCACHE_MAX_CAP);
    ci->cache_cap = (uint16_t)cap;
    ci->batch = (uint16_t)(cap / 2 ? cap / 2 : 1);
  }
  for (size_t i = 0; i < MT_ARRAY_LEN(mt_class_lut); i++)
    mt_class_lut[i] = (uint8_t)class_by_formula(i << 4);
}

unsigned mt_size_class_aligned(size_t n, size_t align) {
  if (n > MT_SMALL_MAX || align > MT_PAGE_SIZE)
    return MT_NCLASSES;
  for (unsigned c = mt_size_class(n); c < MT_NCLASSES; c++)
    if ((mt_classes[c].size & (align - 1)) == 0)
      return c;
  return MT_NCLASSES;
}

bool mt_sizeclass_is_valid(void) {
  for (unsigned c = 0; c < MT_NCLASSES; c++) {
    const mt_class_info_t *ci = &mt_classes[c];
    if (ci->size % MT_MIN_ALIGN || ci->nslots == 0 || ci->npages > MT_SLAB_MAX_PAGES)
      return false;
    if (ci->nslots > ci->npages * MT_SLOTS_PER_PAGE)
      return false;
    if (c > 0 && ci->size <= mt_classes[c - 1].size)
      return false;
  }
  return mt_classes[MT_NCLASSES - 1].size == MT_SMALL_MAX;
}
