/* exec.c - MEMTYPE_FOLLOW_EXEC: memtype stays in the programs this process
 * executes even when it gives them an environment without memtype's
 * variables. The preload passes to children through LD_PRELOAD in the
 * environment; a program that executes another with an environment of its
 * own making (`env -i`, a test runner's minimal environment, Python's
 * subprocess with env=...) drops it, and that child ran without memtype,
 * silently. With the option on (`memtype run` sets it), the exec calls that
 * take an environment, and those that take the process's own (which the
 * program may have cleared), are interposed: LD_PRELOAD gets libmemtype back
 * (first, the program's own entries after it), and every MEMTYPE_* variable
 * this process started with and the new environment lacks is added, as it
 * was at start. A variable the program set itself is left as it set it.
 *
 * These calls run in vfork children (CPython's subprocess, posix_spawn's
 * own clone): nothing here allocates, takes a lock or resolves a symbol
 * then. The saved variables are copied at start (a process title rewrites
 * the environment's strings later), the libc functions resolved at start in
 * every mode (an exec made before memtype's constructor, from another
 * library's, resolves them by dlsym); the new environment is built on the
 * stack (a mapping past 1024 entries). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "entry.h"
#include "options.h"
#include "os.h"

extern char **environ;

/* ---- the variables kept at start ------------------------------------------- */

#define SAVED_MAX 96
#define STORE_BYTES 16384
static char store[STORE_BYTES];
static const char *saved[SAVED_MAX]; /* "MEMTYPE_X=value", in store */
static unsigned nsaved;
static char self_path[4096]; /* libmemtype as the loader loaded it */
static bool follow;

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);
static execve_fn real_execve, real_execvpe;
static int (*real_fexecve)(int, char *const[], char *const[]);
static spawn_fn real_posix_spawn, real_posix_spawnp;

/* Called once the options are known (preload constructor). */
void mt_exec_init(void) {
  /* libc's calls, resolved now in every mode: not by dlsym in a vfork
   * child (it may take the loader's lock) */
  real_execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
  real_execvpe = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
  real_fexecve = (int (*)(int, char *const[], char *const[]))dlsym(RTLD_NEXT, "fexecve");
  real_posix_spawn = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
  real_posix_spawnp = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
  if (!mt_opt.follow_exec || follow)
    return;
  Dl_info info;
  if (!dladdr((void *)mt_exec_init, &info) || info.dli_fname == NULL)
    return;
  /* LD_PRELOAD=build/lib/libmemtype.so names it from here only: a child
   * started elsewhere is given the absolute path (the directory now is the
   * one the loader read it from: no constructor of the program ran yet) */
  if (info.dli_fname[0] == '/' && strlen(info.dli_fname) < sizeof(self_path))
    strcpy(self_path, info.dli_fname);
  else if (realpath(info.dli_fname, self_path) == NULL)
    return;
  size_t used = 0;
  char **env = mt_os_environ();
  for (unsigned i = 0; env && env[i] && nsaved < SAVED_MAX; i++) {
    size_t len = strlen(env[i]);
    if (strncmp(env[i], "MEMTYPE_", 8) != 0 || used + len + 1 > STORE_BYTES)
      continue;
    memcpy(store + used, env[i], len + 1);
    saved[nsaved++] = store + used;
    used += len + 1;
  }
  follow = real_execve != NULL;
}

/* ---- the environment given to the child ------------------------------------ */

/* Does the LD_PRELOAD value v name self_path (separated by ':' or ' ')? */
static bool preloads_us(const char *v) {
  size_t n = strlen(self_path);
  for (const char *p = v; (p = strstr(p, self_path)) != NULL; p += n)
    if ((p == v || p[-1] == ':' || p[-1] == ' ') && (p[n] == '\0' || p[n] == ':' || p[n] == ' '))
      return true;
  return false;
}

#define STACK_ENTRIES 1024u

/* The bytes an LD_PRELOAD entry naming libmemtype first takes, env's own
 * entries after it. */
static size_t preload_bytes(char *const env[]) {
  size_t old = 0;
  for (unsigned i = 0; env && env[i]; i++)
    if (strncmp(env[i], "LD_PRELOAD=", 11) == 0)
      old = strlen(env[i] + 11);
  return 11 + strlen(self_path) + 1 + old + 1;
}

/* An environment to run a child with: env itself when it keeps memtype
 * (or following is off), else one built in arr (cap entries; NULL if too
 * few) with ld (preload_bytes(env)) for the LD_PRELOAD entry. */
static char *const *child_env(char *const env[], char **arr, unsigned cap, char *ld) {
  static char *const empty[] = {NULL};
  if (!follow)
    return env;
  if (env == NULL)
    env = empty;
  unsigned n = 0, preload = ~0u;
  for (; env[n]; n++)
    if (strncmp(env[n], "LD_PRELOAD=", 11) == 0)
      preload = n;
  unsigned missing = 0;
  for (unsigned i = 0; i < nsaved; i++)
    missing += !mt_os_env_has(env, n, saved[i]);
  bool ours = preload != ~0u && preloads_us(env[preload] + 11);
  if (ours && missing == 0)
    return env;
  if (arr == NULL || n + nsaved + 2 > cap)
    return env; /* (cannot happen: the caller sized arr) */
  const char *old = preload != ~0u ? env[preload] + 11 : "";
  if (!ours) {
    size_t a = strlen(self_path), b = strlen(old);
    memcpy(ld, "LD_PRELOAD=", 11);
    memcpy(ld + 11, self_path, a);
    if (b) {
      ld[11 + a] = ':';
      memcpy(ld + 12 + a, old, b + 1);
    } else {
      ld[11 + a] = '\0';
    }
  }
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++)
    arr[k++] = i == preload && !ours ? ld : env[i];
  if (preload == ~0u)
    arr[k++] = ld;
  for (unsigned i = 0; i < nsaved; i++)
    if (!mt_os_env_has(env, n, saved[i]))
      arr[k++] = (char *)saved[i];
  arr[k] = NULL;
  return arr;
}

static unsigned count(char *const env[]) {
  unsigned n = 0;
  while (env && env[n])
    n++;
  return n;
}

/* Runs CALL with `E` the child's environment made from ENV: on the stack
 * up to STACK_ENTRIES entries, in a mapping beyond (given back if the call
 * returns). */
#define WITH_CHILD_ENV(ENV, E, CALL)                                                      \
  do {                                                                                   \
    char *const *env_ = (ENV);                                                           \
    unsigned need_ = count(env_) + nsaved + 2;                                           \
    char ld_[follow ? preload_bytes(env_) : 1];                                          \
    char *small_[need_ <= STACK_ENTRIES ? need_ : 1];                                    \
    char **arr_ = small_;                                                                \
    size_t map_ = 0;                                                                     \
    if (follow && need_ > STACK_ENTRIES) {                                               \
      map_ = (size_t)need_ * sizeof(char *);                                             \
      arr_ = mmap(NULL, map_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); \
      if (arr_ == MAP_FAILED)                                                            \
        arr_ = NULL, map_ = 0;                                                           \
    }                                                                                    \
    char *const *E = child_env(env_, arr_, arr_ == small_ ? STACK_ENTRIES : need_, ld_); \
    CALL;                                                                                \
    if (map_) {                                                                          \
      int e_ = errno;                                                                    \
      munmap(arr_, map_);                                                                \
      errno = e_;                                                                        \
    }                                                                                    \
  } while (0)

static execve_fn next_execve(void) {
  return real_execve ? real_execve : (execve_fn)dlsym(RTLD_NEXT, "execve");
}

/* ---- the interposed calls -------------------------------------------------- */

MT_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  int r;
  WITH_CHILD_ENV(envp, e, r = next_execve()(path, argv, e));
  return r;
}

MT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  execve_fn f = real_execvpe ? real_execvpe : (execve_fn)dlsym(RTLD_NEXT, "execvpe");
  int r;
  WITH_CHILD_ENV(envp, e, r = f(file, argv, e));
  return r;
}

MT_EXPORT int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

MT_EXPORT int execvp(const char *file, char *const argv[]) {
  return execvpe(file, argv, environ);
}

MT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  int (*f)(int, char *const[], char *const[]) =
      real_fexecve ? real_fexecve
                   : (int (*)(int, char *const[], char *const[]))dlsym(RTLD_NEXT, "fexecve");
  int r;
  WITH_CHILD_ENV(envp, e, r = f(fd, argv, e));
  return r;
}

/* execl, execle, execlp: their arguments counted, then gathered on the
 * stack. */
static unsigned nargs(va_list ap) {
  unsigned n = 1; /* the first, then up to the NULL */
  while (va_arg(ap, char *) != NULL)
    n++;
  return n;
}

/* Runs BODY with argv the list's arguments (first, then up to the NULL,
 * which is passed over) and ap just past them. */
#define WITH_LIST_ARGV(first, argv, ap, BODY)    \
  do {                                           \
    va_list ap, aq_;                             \
    va_start(ap, first);                         \
    va_copy(aq_, ap);                            \
    unsigned n_ = nargs(aq_);                    \
    va_end(aq_);                                 \
    char *argv[n_ + 1];                          \
    argv[0] = (char *)(first);                   \
    for (unsigned i_ = 1; i_ < n_; i_++)         \
      argv[i_] = va_arg(ap, char *);             \
    argv[n_] = NULL;                             \
    (void)va_arg(ap, char *);                    \
    BODY;                                        \
    va_end(ap);                                  \
  } while (0)

MT_EXPORT int execl(const char *path, const char *arg, ...) {
  int r;
  WITH_LIST_ARGV(arg, argv, ap, r = execve(path, argv, environ));
  return r;
}

MT_EXPORT int execlp(const char *file, const char *arg, ...) {
  int r;
  WITH_LIST_ARGV(arg, argv, ap, r = execvpe(file, argv, environ));
  return r;
}

MT_EXPORT int execle(const char *path, const char *arg, ...) {
  int r;
  WITH_LIST_ARGV(arg, argv, ap, r = execve(path, argv, va_arg(ap, char *const *)));
  return r;
}

MT_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[],
                          char *const envp[]) {
  spawn_fn f = real_posix_spawn ? real_posix_spawn : (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
  int r;
  WITH_CHILD_ENV(envp, e, r = f(pid, path, fa, attr, argv, e));
  return r;
}

MT_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[],
                           char *const envp[]) {
  spawn_fn f =
      real_posix_spawnp ? real_posix_spawnp : (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
  int r;
  WITH_CHILD_ENV(envp, e, r = f(pid, file, fa, attr, argv, e));
  return r;
}
