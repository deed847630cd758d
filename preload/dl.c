/* dl.c - dlopen and dlmopen, interposed for the loads that bind apart
 * (RTLD_DEEPBIND): their new objects are bound back to memtype's entry
 * points after the load (core/rebind.h). Every other load is a tail call to
 * the real function, so the loader still sees the program as the caller
 * (its RUNPATH, $ORIGIN and namespace); a rebound load of a bare name is
 * looked up in the caller's search path first (core/rebind.h). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

#include "../core/mt_types.h"
#include "../core/os.h"
#include "../core/rebind.h"
#include "entry.h"
#include "libc_checks.h"

typedef void *(*dlopen_fn)(const char *, int);
typedef void *(*dlmopen_fn)(Lmid_t, const char *, int);

static dlopen_fn real_dlopen(void) {
  static dlopen_fn f;
  dlopen_fn r = __atomic_load_n(&f, __ATOMIC_RELAXED);
  if (MT_UNLIKELY(r == NULL)) {
    r = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
    __atomic_store_n(&f, r, __ATOMIC_RELAXED);
  }
  return r;
}

static dlmopen_fn real_dlmopen(void) {
  static dlmopen_fn f;
  dlmopen_fn r = __atomic_load_n(&f, __ATOMIC_RELAXED);
  if (MT_UNLIKELY(r == NULL)) {
    r = (dlmopen_fn)dlsym(RTLD_NEXT, "dlmopen");
    __atomic_store_n(&f, r, __ATOMIC_RELAXED);
  }
  return r;
}

static MT_NOINLINE void *dlopen_rebound(const char *file, int flags, uintptr_t caller) {
  mt_rebind_mark_t m;
  dlopen_fn real = real_dlopen();
  char path[4096];
  file = mt_rebind_path(file, caller, path, sizeof(path));
  /* Loaded already: nothing new comes in, nothing to rebind. */
  void *loaded = real(file, RTLD_LAZY | RTLD_NOLOAD);
  if (loaded != NULL) {
    void *h = real(file, flags);
    dlclose(loaded);
    return h;
  }
  mt_rebind_mark(&m);
  mt_rebind_hide();
  void *h = real(file, flags);
  mt_rebind_unhide();
  mt_lc_after_load(&m);
  mt_rebind_new_objects(&m);
  return h;
}

static MT_NOINLINE void *dlmopen_rebound(Lmid_t ns, const char *file, int flags,
                                          uintptr_t caller) {
  mt_rebind_mark_t m;
  dlmopen_fn real = real_dlmopen();
  char path[4096];
  file = mt_rebind_path(file, caller, path, sizeof(path));
  void *loaded = real(ns, file, RTLD_LAZY | RTLD_NOLOAD);
  if (loaded != NULL) {
    void *h = real(ns, file, flags);
    dlclose(loaded);
    return h;
  }
  mt_rebind_mark(&m);
  mt_rebind_hide();
  void *h = real(ns, file, flags);
  mt_rebind_unhide();
  mt_lc_after_load(&m);
  mt_rebind_new_objects(&m);
  return h;
}

/* With the libc range checks on, a plain load's new objects get the
 * checked functions too (libc_checks.h); the caller's search path is
 * looked up as for a rebound load. */
static MT_NOINLINE void *dlopen_checked(const char *file, int flags, uintptr_t caller) {
  mt_rebind_mark_t m;
  char path[4096];
  file = mt_rebind_path(file, caller, path, sizeof(path));
  mt_rebind_mark(&m);
  void *h = real_dlopen()(file, flags);
  mt_lc_after_load(&m);
  if (m.bases)
    mt_os_unmap(m.bases, m.bytes);
  return h;
}

MT_EXPORT void *dlopen(const char *file, int flags) {
  if (MT_UNLIKELY(mt_rebind_wanted(flags, true)))
    return dlopen_rebound(file, flags, MT_CALLER);
  if (MT_UNLIKELY(mt_lc_on))
    return dlopen_checked(file, flags, MT_CALLER);
  return real_dlopen()(file, flags);
}

MT_EXPORT void *dlmopen(Lmid_t ns, const char *file, int flags) {
  if (MT_UNLIKELY(mt_rebind_wanted(flags, ns == LM_ID_BASE)))
    return dlmopen_rebound(ns, file, flags, MT_CALLER);
  if (MT_UNLIKELY(mt_lc_on) && ns == LM_ID_BASE) /* other namespaces: their own libc */
    return dlopen_checked(file, flags, MT_CALLER);
  return real_dlmopen()(ns, file, flags);
}
