/* api.c - the public memtype_* functions declared in include/memtype.h. */
#include <stdint.h>

#include "alloc.h"
#include "fail.h"
#include "heapcheck.h"
#include "site.h"
#include "../include/memtype.h"
#include "entry.h"

/* The type's id, interning it under its name on first use (idempotent, so
 * threads racing here agree). */
static unsigned type_id(struct memtype_type *t) {
  unsigned id = __atomic_load_n(&t->id, __ATOMIC_ACQUIRE);
  if (id == 0) {
    mt_init();
    id = mt_site_intern_named(t, t->shortdesc ? t->shortdesc : "(unnamed type)");
    __atomic_store_n(&t->id, id, __ATOMIC_RELEASE);
  }
  return id;
}

MT_EXPORT void *memtype_malloc(size_t size, struct memtype_type *type, int flags) {
  return mt_malloc_type(size, type_id(type), (flags & MEMTYPE_ZERO) != 0);
}

MT_EXPORT void *memtype_realloc(void *p, size_t size, struct memtype_type *type, int flags) {
  (void)flags;
  return mt_realloc_type(p, size, type_id(type), (uintptr_t)__builtin_return_address(0));
}

MT_EXPORT void memtype_free(void *p, struct memtype_type *type) {
  (void)type;
  mt_free(p, MT_FAM_MALLOC, (uintptr_t)__builtin_return_address(0));
}

MT_EXPORT void memtype_type_allocated(struct memtype_type *type, size_t size) {
  mt_type_account(type_id(type), size, true);
}

MT_EXPORT void memtype_type_freed(struct memtype_type *type, size_t size) {
  mt_type_account(type_id(type), size, false);
}

MT_EXPORT int memtype_owns(const void *p) { return mt_owns(p) ? 1 : 0; }

MT_EXPORT int malloc_last_fail(void) {
  mt_init();
  return mt_fail_last_seconds();
}

MT_EXPORT unsigned long memtype_check_heap(void) { return mt_check_heap(); }
