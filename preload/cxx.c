/* cxx.c - the C++ allocation operators in every standard form, written in C
 * under their mangled names so that libmemtype needs no libstdc++. Failure
 * follows the standard: call the new-handler and retry; with none, throw
 * std::bad_alloc (through libstdc++'s own thrower, present in any C++
 * program) or, for the nothrow forms, return NULL. A nothrow form whose
 * handler may throw is passed to libstdc++'s own nothrow operator, which
 * wraps our throwing one in try/catch: C cannot catch. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

#include "alloc_inline.h"
#include "report.h"
#include "os.h"
#include "entry.h"

typedef void (*new_handler_t)(void);
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/* libstdc++'s nothrow operators, by (array, aligned). */
static const char *const nothrow_names[2][2] = {
    {"_ZnwmRKSt9nothrow_t", "_ZnwmSt11align_val_tRKSt9nothrow_t"},
    {"_ZnamRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t"},
};

static void *nothrow_via_libstdcxx(size_t n, size_t align, unsigned fam) {
  extern const char _ZSt7nothrow[] __attribute__((weak));
  int array = fam == MT_FAM_NEW_ARRAY, aligned = align != 0;
  void *sym = dlsym(RTLD_NEXT, nothrow_names[array][aligned]);
  if (sym == NULL)
    return NULL;
  if (aligned)
    return ((void *(*)(size_t, size_t, const void *))sym)(n, align, _ZSt7nothrow);
  return ((void *(*)(size_t, const void *))sym)(n, _ZSt7nothrow);
}

static MT_NOINLINE MT_COLD void *new_failed(size_t n, size_t align, unsigned fam, int nothrow,
                                             uintptr_t pc) {
  if (nothrow) {
    new_handler_t h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
    return h ? nothrow_via_libstdcxx(n, align, fam) : NULL;
  }
  for (;;) {
    new_handler_t h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
    if (h == NULL) {
      if (nothrow)
        return NULL;
      if (_ZSt17__throw_bad_allocv)
        _ZSt17__throw_bad_allocv();
      mt_printf("memtype: error: operator new(%zu) failed and std::bad_alloc cannot be "
                "thrown here; aborting\n", n);
      mt_os_abort();
    }
    h();
    void *p = align ? mt_memalign(align, n, fam, pc) : mt_malloc_inline(n, fam, pc);
    if (p)
      return p;
  }
}

/* operator new's slow path: malloc's, then the failure's policy. Entered
 * by a jump from the operator (MT_SLOW_ENTRY), as malloc's is, so that a
 * block's stack starts at the caller's frame. */
void *mt_new_slow(size_t n, unsigned fam, uintptr_t pc, int nothrow) MT_NOINLINE MT_COLD;
MT_HIDDEN void *mt_new_slow_at(size_t n, unsigned fam, uintptr_t pc, int nothrow, uintptr_t sp,
                               uintptr_t bp);
void *mt_new_slow_at(size_t n, unsigned fam, uintptr_t pc, int nothrow, uintptr_t sp,
                     uintptr_t bp) {
  void *p = mt_malloc_slow_at(n, fam, pc, 0, sp, bp);
  return MT_LIKELY(p != NULL) ? p : new_failed(n, 0, fam, nothrow, pc);
}
#if defined(__x86_64__)
MT_SLOW_ENTRY(mt_new_slow, mt_new_slow_at);
#else
void *mt_new_slow(size_t n, unsigned fam, uintptr_t pc, int nothrow) {
  return mt_new_slow_at(n, fam, pc, nothrow, 0, 0);
}
#endif

static inline void *new_plain(size_t n, unsigned fam, int nothrow, uintptr_t pc) {
  return mt_alloc_fast(n, fam, pc, nothrow, mt_new_slow);
}

/* The block remembers its alignment: a delete must be given the same
 * (mt_fam_aligned; a mismatch is reported as AddressSanitizer and valgrind
 * do). */
static inline void *new_aligned(size_t n, size_t align, unsigned fam, int nothrow, uintptr_t pc) {
  void *p = mt_memalign(align, n, fam, pc);
  if (MT_UNLIKELY(p == NULL))
    p = new_failed(n, align, fam, nothrow, pc);
  if (p)
    mt_block_set_family(p, mt_fam_aligned(fam, align));
  return p;
}

typedef struct nothrow_s nothrow_t;

/* operator new / new[] */
MT_EXPORT void *_Znwm(size_t n) { return new_plain(n, MT_FAM_NEW, 0, MT_CALLER); }
MT_EXPORT void *_Znam(size_t n) { return new_plain(n, MT_FAM_NEW_ARRAY, 0, MT_CALLER); }
MT_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const nothrow_t *t) {
  (void)t;
  return new_plain(n, MT_FAM_NEW, 1, MT_CALLER);
}
MT_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const nothrow_t *t) {
  (void)t;
  return new_plain(n, MT_FAM_NEW_ARRAY, 1, MT_CALLER);
}
MT_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t al) {
  return new_aligned(n, al, MT_FAM_NEW, 0, MT_CALLER);
}
MT_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t al) {
  return new_aligned(n, al, MT_FAM_NEW_ARRAY, 0, MT_CALLER);
}
MT_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *t) {
  (void)t;
  return new_aligned(n, al, MT_FAM_NEW, 1, MT_CALLER);
}
MT_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t al, const nothrow_t *t) {
  (void)t;
  return new_aligned(n, al, MT_FAM_NEW_ARRAY, 1, MT_CALLER);
}

/* operator delete / delete[]: plain, sized, nothrow, aligned, sized+aligned */
MT_EXPORT void _ZdlPv(void *p) { mt_free_inline(p, MT_FAM_NEW, MT_CALLER); }
MT_EXPORT void _ZdaPv(void *p) { mt_free_inline(p, MT_FAM_NEW_ARRAY, MT_CALLER); }
MT_EXPORT void _ZdlPvm(void *p, size_t n) { mt_free_sized(p, MT_FAM_NEW, n, MT_CALLER); }
MT_EXPORT void _ZdaPvm(void *p, size_t n) { mt_free_sized(p, MT_FAM_NEW_ARRAY, n, MT_CALLER); }
MT_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const nothrow_t *t) {
  (void)t;
  mt_free_inline(p, MT_FAM_NEW, MT_CALLER);
}
MT_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const nothrow_t *t) {
  (void)t;
  mt_free_inline(p, MT_FAM_NEW_ARRAY, MT_CALLER);
}
MT_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) {
  mt_free_inline(p, mt_fam_aligned(MT_FAM_NEW, al), MT_CALLER);
}
MT_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al) {
  mt_free_inline(p, mt_fam_aligned(MT_FAM_NEW_ARRAY, al), MT_CALLER);
}
MT_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al) {
  mt_free_sized(p, mt_fam_aligned(MT_FAM_NEW, al), n, MT_CALLER);
}
MT_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al) {
  mt_free_sized(p, mt_fam_aligned(MT_FAM_NEW_ARRAY, al), n, MT_CALLER);
}
MT_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const nothrow_t *t) {
  (void)t;
  mt_free_inline(p, mt_fam_aligned(MT_FAM_NEW, al), MT_CALLER);
}
MT_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const nothrow_t *t) {
  (void)t;
  mt_free_inline(p, mt_fam_aligned(MT_FAM_NEW_ARRAY, al), MT_CALLER);
}
