/* thread.c - pthread_getattr_np, interposed so that memtype's stack capture
 * knows when this thread is inside it: glibc allocates the cpu set there
 * with the target thread's descriptor lock held, and the capture (which
 * learns a thread's stack block with the same call, core/sys/unwind.c)
 * would wait on that lock from the malloc. The call itself is glibc's,
 * unchanged; libc's is looked up at load, so the capture never calls dlsym
 * from a malloc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "mt_types.h"
#include "entry.h"
#include "unwind.h"


static int (*next_getattr(void))(pthread_t, pthread_attr_t *) {
  int (*f)(pthread_t, pthread_attr_t *) = __atomic_load_n(&mt_unwind_getattr, __ATOMIC_ACQUIRE);
  if (f == NULL) {
    f = (int (*)(pthread_t, pthread_attr_t *))dlsym(RTLD_NEXT, "pthread_getattr_np");
    __atomic_store_n(&mt_unwind_getattr, f, __ATOMIC_RELEASE);
  }
  return f;
}

__attribute__((constructor(101))) static void memtype_thread_init(void) { next_getattr(); }

MT_EXPORT int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr) {
  int (*f)(pthread_t, pthread_attr_t *) = next_getattr();
  if (f == NULL)
    return ENOSYS;
  mt_unwind_in_getattr++;
  int r = f(thread, attr);
  mt_unwind_in_getattr--;
  return r;
}
