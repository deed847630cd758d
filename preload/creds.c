/* creds.c - setuid and friends, interposed for the live file: a server that
 * starts as root and runs its workers as another user (nginx's workers as
 * nobody, postgres's as postgres) would leave each worker's live file in
 * /dev/shm at exit, since /dev/shm is sticky and the file root's. The file
 * is given to the new effective user before the call (while the process may
 * still chown) and again after it (when the call gave it the right), so
 * whoever the process is at exit can remove it. The calls themselves are
 * glibc's, unchanged (they reach every thread). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/types.h>
#include <unistd.h>

#include "live.h"
#include "os.h"
#include "entry.h"

static void *next_fn(void **cache, const char *name) {
  void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (f == NULL) {
    f = dlsym(RTLD_NEXT, name);
    __atomic_store_n(cache, f, __ATOMIC_RELEASE);
  }
  return f;
}

/* euid: the effective uid the call asks for, -1 when it keeps the current. */
static void before(int euid) {
  if (euid >= 0 && euid != mt_os_geteuid())
    mt_live_set_owner(euid);
}

static int after(int r) {
  if (r == 0)
    mt_live_set_owner(mt_os_geteuid());
  return r;
}

#define NEXT(type, name) ((type)next_fn(&next_##name, #name))
static void *next_setuid, *next_seteuid, *next_setreuid, *next_setresuid;

MT_EXPORT int setuid(uid_t uid) {
  int (*f)(uid_t) = NEXT(int (*)(uid_t), setuid);
  if (f == NULL)
    return -1;
  before((int)uid);
  return after(f(uid));
}

MT_EXPORT int seteuid(uid_t euid) {
  int (*f)(uid_t) = NEXT(int (*)(uid_t), seteuid);
  if (f == NULL)
    return -1;
  before(euid == (uid_t)-1 ? -1 : (int)euid);
  return after(f(euid));
}

MT_EXPORT int setreuid(uid_t ruid, uid_t euid) {
  int (*f)(uid_t, uid_t) = NEXT(int (*)(uid_t, uid_t), setreuid);
  if (f == NULL)
    return -1;
  before(euid == (uid_t)-1 ? -1 : (int)euid);
  return after(f(ruid, euid));
}

MT_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid) {
  int (*f)(uid_t, uid_t, uid_t) = NEXT(int (*)(uid_t, uid_t, uid_t), setresuid);
  if (f == NULL)
    return -1;
  before(euid == (uid_t)-1 ? -1 : (int)euid);
  return after(f(ruid, euid, suid));
}
