/* malloc.c - the C allocation entry points memtype interposes. Each one
 * forwards to core/ in a line or two; semantics live in core/heap/alloc.c. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc_inline.h"
#include "entry.h"

MT_EXPORT void *malloc(size_t n) { return mt_malloc_inline(n, MT_FAM_MALLOC, MT_CALLER); }
MT_EXPORT void free(void *p) { mt_free_inline(p, MT_FAM_MALLOC, MT_CALLER); }
MT_EXPORT void cfree(void *p) { mt_free_inline(p, MT_FAM_MALLOC, MT_CALLER); }
MT_EXPORT void *calloc(size_t count, size_t size) { return mt_calloc(count, size, MT_CALLER); }
MT_EXPORT void *realloc(void *p, size_t n) { return mt_realloc(p, n, MT_CALLER); }
MT_EXPORT void *reallocarray(void *p, size_t count, size_t size) {
  return mt_reallocarray(p, count, size, MT_CALLER);
}
MT_EXPORT int posix_memalign(void **out, size_t align, size_t n) {
  return mt_posix_memalign(out, align, n, MT_CALLER);
}
MT_EXPORT void *memalign(size_t align, size_t n) { return mt_memalign(align, n, MT_FAM_MALLOC, MT_CALLER); }
/* glibc 2.36 treats aligned_alloc exactly as memalign. */
MT_EXPORT void *aligned_alloc(size_t align, size_t n) {
  return mt_memalign(align, n, MT_FAM_MALLOC, MT_CALLER);
}
MT_EXPORT void *valloc(size_t n) { return mt_memalign(MT_PAGE_SIZE, n, MT_FAM_MALLOC, MT_CALLER); }
MT_EXPORT void *pvalloc(size_t n) {
  /* Rounded up, it would wrap: given as it is, past PTRDIFF_MAX, it is
   * reported as a bad size and fails with ENOMEM as glibc's. */
  if (n > SIZE_MAX - 2 * MT_PAGE_SIZE)
    return mt_memalign(MT_PAGE_SIZE, n, MT_FAM_MALLOC, MT_CALLER);
  return mt_memalign(MT_PAGE_SIZE, (n + MT_PAGE_SIZE - 1) & ~(MT_PAGE_SIZE - 1), MT_FAM_MALLOC,
                     MT_CALLER);
}
MT_EXPORT size_t malloc_usable_size(void *p) { return mt_usable_size(p, MT_CALLER); }

/* This library's own malloc and free, whatever the loader binds the names to
 * (the program's own definition comes first in the lookup order). */
extern __typeof(malloc) mt_own_malloc __attribute__((alias("malloc"), visibility("hidden")));
extern __typeof(free) mt_own_free __attribute__((alias("free"), visibility("hidden")));

/* Where malloc is bound is not told by its address alone: a program not built
 * as PIE that takes malloc's address (CPython's allocator table) makes its
 * own PLT stub malloc's address for everyone, a stub that jumps here. So the
 * bound malloc is called: a block memtype owns says it is memtype's. */
const char *mt_preload_foreign_malloc(void) {
  void *(*bound_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
  void (*bound_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
  if (bound_malloc == NULL || bound_free == NULL ||
      (bound_malloc == mt_own_malloc && bound_free == mt_own_free))
    return NULL;
  void *p = bound_malloc(24);
  bool ours = p != NULL && mt_owns(p);
  bound_free(p);
  if (ours || p == NULL)
    return NULL;
  Dl_info info;
  if (dladdr((void *)bound_malloc, &info) && info.dli_fname && info.dli_fname[0])
    return info.dli_fname;
  return "the program"; /* the main program's name is "" */
}

/* glibc's own names, which a few programs and libraries call directly. */
MT_EXPORT void *__libc_malloc(size_t n) { return mt_malloc_inline(n, MT_FAM_MALLOC, MT_CALLER); }
MT_EXPORT void __libc_free(void *p) { mt_free_inline(p, MT_FAM_MALLOC, MT_CALLER); }
MT_EXPORT void *__libc_calloc(size_t c, size_t s) { return mt_calloc(c, s, MT_CALLER); }
MT_EXPORT void *__libc_realloc(void *p, size_t n) { return mt_realloc(p, n, MT_CALLER); }
MT_EXPORT void *__libc_memalign(size_t a, size_t n) { return mt_memalign(a, n, MT_FAM_MALLOC, MT_CALLER); }
