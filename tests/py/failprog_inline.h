/* An allocation inlined from a header: its call site is in failprog.c's
 * code, its source file is this header (MEMTYPE_TYPES / _FAILURE_TYPES
 * file globs see the difference). */
#include <stdlib.h>

static inline __attribute__((always_inline)) void *site_h(size_t n) { return malloc(n); }
