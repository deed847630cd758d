/* An allocator wrapper inlined into its callers, as ld.so's calloc from
 * rtld-malloc.h is inlined into allocate_dtv: every caller's allocation has
 * this header's line as its innermost frame. */
#include <stdlib.h>

static inline __attribute__((always_inline)) void *wrap_alloc(size_t n) { return calloc(1, n); }
