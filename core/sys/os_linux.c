/* os_linux.c - Linux implementation of os.h: raw syscalls through libc
 * wrappers that neither allocate nor take locks. */
#define _GNU_SOURCE
#include "os.h"
#include "symtab.h"

#define _GNU_SOURCE_DLADDR 1
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ucontext.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern char *program_invocation_short_name;

/* memtype's own mappings (caches, metadata, tables), so that the leak scan
 * does not take the stale pointers in them for the program's. Heap segments
 * and huge blocks (mt_os_map_aligned) are not listed: the page map knows them. */
#define MAX_INTERNAL 4096
static struct { uintptr_t lo, hi; } internal[MAX_INTERNAL];
static unsigned ninternal;
static bool internal_overflow;
static int internal_lock;

/* The registry's lock is held for a few stores; a signal handler that
 * interrupted its holder (a report) gives up after a while and leaves the
 * registry marked incomplete rather than wait for ever. */
static bool internal_enter(void) {
  for (unsigned tries = 0; __atomic_exchange_n(&internal_lock, 1, __ATOMIC_ACQUIRE); tries++) {
    if (tries == 10000)
      return false;
    sched_yield();
  }
  return true;
}

void mt_os_fork_child(void) { internal_lock = 0; }

static void internal_add(uintptr_t lo, size_t size) {
  if (!internal_enter()) {
    internal_overflow = true;
    return;
  }
  if (ninternal < MAX_INTERNAL)
    internal[ninternal++].lo = lo, internal[ninternal - 1].hi = lo + size;
  else
    internal_overflow = true;
  __atomic_store_n(&internal_lock, 0, __ATOMIC_RELEASE);
}

static void internal_remove(uintptr_t lo) {
  if (!internal_enter())
    return;
  for (unsigned i = 0; i < ninternal; i++)
    if (internal[i].lo == lo) {
      internal[i] = internal[--ninternal];
      break;
    }
  __atomic_store_n(&internal_lock, 0, __ATOMIC_RELEASE);
}

unsigned mt_os_internal_ranges(uintptr_t *lo, uintptr_t *hi, unsigned max, bool *complete) {
  while (__atomic_exchange_n(&internal_lock, 1, __ATOMIC_ACQUIRE))
    sched_yield();
  unsigned n = ninternal < max ? ninternal : max;
  for (unsigned i = 0; i < n; i++)
    lo[i] = internal[i].lo, hi[i] = internal[i].hi;
  *complete = !internal_overflow && n == ninternal;
  __atomic_store_n(&internal_lock, 0, __ATOMIC_RELEASE);
  return n;
}

static void *map_raw(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void *mt_os_map(size_t size) {
  void *p = map_raw(size);
  if (p)
    internal_add((uintptr_t)p, size);
  return p;
}

void *mt_os_map_aligned(size_t size, size_t align) {
  if (size + align < size)
    return NULL;
  /* Over-map, then trim both ends to the aligned window. */
  char *raw = map_raw(size + align);
  if (raw == NULL)
    return NULL;
  uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = start - (uintptr_t)raw;
  size_t tail = align - head;
  if (head)
    munmap(raw, head);
  if (tail)
    munmap((char *)start + size, tail);
  return (void *)start;
}

void mt_os_unmap(void *p, size_t size) {
  internal_remove((uintptr_t)p);
  munmap(p, size);
}

void mt_os_purge(void *p, size_t size) {
  int saved = errno;
  madvise(p, size, MADV_DONTNEED);
  errno = saved;
}

bool mt_os_try_grow(void *p, size_t old_size, size_t new_size) {
  int saved = errno;
  void *q = mremap(p, old_size, new_size, 0);
  errno = saved;
  return q != MAP_FAILED;
}

void *mt_os_move(void *p, size_t old_size, size_t new_size, void *dest) {
  void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
  return q == MAP_FAILED ? NULL : q;
}

void mt_os_shrink(void *p, size_t old_size, size_t new_size) {
  if (new_size < old_size)
    munmap((char *)p + new_size, old_size - new_size);
}

/* The one write loop: at the file offset `off`, or at the file position
 * when off < 0; retries short writes and EINTR; errno is kept. */
static bool write_loop(int fd, const void *buf, size_t len, int64_t off, int *err) {
  int saved = errno;
  const char *p = buf;
  while (len > 0) {
    ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *err = n < 0 ? errno : ENOSPC;
      errno = saved;
      return false;
    }
    p += n;
    len -= (size_t)n;
    if (off >= 0)
      off += n;
  }
  errno = saved;
  return true;
}

bool mt_os_write_all(int fd, const void *buf, size_t len, int *err) {
  return write_loop(fd, buf, len, -1, err);
}

bool mt_os_pwrite_all(int fd, const void *buf, size_t len, uint64_t off, int *err) {
  return write_loop(fd, buf, len, (int64_t)off, err);
}

int mt_os_create_excl(const char *path) {
  int saved = errno;
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int r = fd < 0 ? -errno : fd;
  errno = saved;
  return r;
}

int mt_os_open_rewrite(const char *path) {
  int saved = errno;
  int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  int r = fd < 0 ? -errno : fd;
  errno = saved;
  return r;
}

bool mt_os_truncate(int fd, size_t size) {
  int saved = errno;
  bool ok = ftruncate(fd, (off_t)size) == 0;
  errno = saved;
  return ok;
}

void *mt_os_map_file(int fd, size_t size, void *at) {
  int saved = errno;
  void *p = mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), fd, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

void mt_os_map_anon_fixed(void *p, size_t size) {
  int saved = errno;
  mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  errno = saved;
}

void mt_os_unlink(const char *path) {
  int saved = errno;
  unlink(path);
  errno = saved;
}

void mt_os_chown(const char *path, int uid) {
  int saved = errno;
  syscall(SYS_chown, path, (uid_t)uid, (gid_t)-1);
  errno = saved;
}

bool mt_os_page_resident(const void *p) {
  unsigned char v = 1;
  int saved = errno;
  if (mincore((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, &v) != 0)
    v = 1;
  errno = saved;
  return (v & 1) != 0;
}

int mt_os_geteuid(void) { return (int)syscall(SYS_geteuid); }

void mt_os_close(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

/* /proc/self/<leaf> is the thread-group leader's: once that thread has ended
 * (the main thread left with pthread_exit, or in a child forked from another
 * thread the forking thread finished first) its maps, exe, cmdline and statm
 * read empty or fail, and the leak scan would find no roots at all.
 * /proc/thread-self/<leaf> (Linux 3.17) is the calling thread's, which shares
 * the address space; open_self falls back to /proc/self/ on older kernels. */
static void self_path(char *buf, size_t len, bool thread, const char *leaf) {
  const char *dir = thread ? "/proc/thread-self/" : "/proc/self/";
  size_t a = strlen(dir), b = strlen(leaf);
  if (a + b + 1 > len) {
    buf[0] = '\0';
    return;
  }
  memcpy(buf, dir, a);
  memcpy(buf + a, leaf, b + 1);
}

static int open_self(const char *leaf) {
  char path[64];
  self_path(path, sizeof(path), true, leaf);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    self_path(path, sizeof(path), false, leaf);
    fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  return fd;
}

long mt_os_read_self_file(const char *leaf, char *buf, size_t len) {
  char path[64];
  self_path(path, sizeof(path), true, leaf);
  long n = mt_os_read_file(path, buf, len);
  if (n < 0) {
    self_path(path, sizeof(path), false, leaf);
    n = mt_os_read_file(path, buf, len);
  }
  return n;
}

long mt_os_read_file(const char *path, char *buf, size_t len) {
  int saved = errno;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  long got = -1;
  if (fd >= 0) {
    got = 0;
    while ((size_t)got < len) {
      ssize_t n = read(fd, buf + got, len - (size_t)got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += n;
    }
    close(fd);
  }
  errno = saved;
  return got;
}

unsigned mt_os_blocked_thread_sps(uintptr_t *sp, unsigned max) {
  int saved = errno;
  int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  unsigned n = 0;
  long me = mt_os_gettid();
  char ents[4096];
  while (dir >= 0 && n < max) {
    long got = syscall(SYS_getdents64, dir, ents, sizeof(ents));
    if (got <= 0)
      break;
    for (long off = 0; off < got && n < max;) {
      const struct {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *d = (const void *)(ents + off);
      off += d->reclen;
      if (d->name[0] < '0' || d->name[0] > '9')
        continue;
      if (strtol(d->name, NULL, 10) == me)
        continue;
      /* "NR ARG1 ... ARG6 SP PC", or "-1 SP PC" blocked outside a call,
       * or "running" */
      char path[64] = "/proc/self/task/", line[256];
      size_t k = strlen(path), l = strlen(d->name);
      if (k + l + sizeof("/syscall") > sizeof(path))
        continue;
      memcpy(path + k, d->name, l);
      memcpy(path + k + l, "/syscall", sizeof("/syscall"));
      long r = mt_os_read_file(path, line, sizeof(line) - 1);
      if (r <= 0)
        continue;
      line[r] = '\0';
      if (line[0] != '-' && (line[0] < '0' || line[0] > '9'))
        continue; /* running */
      uint64_t w[9];
      unsigned nw = 0;
      for (char *p = line, *end; nw < 9; p = end) {
        w[nw] = strtoull(p, &end, 0); /* the number, decimal; the rest 0x... */
        if (end == p)
          break;
        nw++;
      }
      uintptr_t s = nw == 9 ? w[7] : nw == 3 ? w[1] : 0;
      if (s)
        sp[n++] = s;
    }
  }
  if (dir >= 0)
    close(dir);
  errno = saved;
  return n;
}

long mt_os_self_exe(char *buf, size_t len) {
  int saved = errno;
  ssize_t n = readlink("/proc/thread-self/exe", buf, len - 1);
  if (n < 0)
    n = readlink("/proc/self/exe", buf, len - 1);
  errno = saved;
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return n;
}

uint64_t mt_os_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int mt_os_getppid(void) { return (int)getppid(); }

const void *mt_os_map_file_ro(const char *path, size_t *size) {
  int saved = errno;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    errno = saved;
    return NULL;
  }
  struct stat st;
  void *p = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  errno = saved;
  if (p == MAP_FAILED)
    return NULL;
  *size = (size_t)st.st_size;
  return p;
}

void mt_os_write(int fd, const char *buf, size_t len) {
  int err;
  write_loop(fd, buf, len, -1, &err);
}

int mt_os_getpid(void) { return (int)syscall(SYS_getpid); }
void mt_os_thread_name(char *buf, size_t len) {
  char name[17] = {0};
  if (len == 0)
    return;
  if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0 || name[0] == '\0')
    name[0] = '?', name[1] = '\0';
  size_t n = strnlen(name, 16);
  if (n >= len)
    n = len - 1;
  memcpy(buf, name, n);
  buf[n] = '\0';
}

long mt_os_gettid(void) { return (long)syscall(SYS_gettid); }
unsigned mt_os_cpu(void) {
  int cpu = sched_getcpu();
  return cpu < 0 ? 0u : (unsigned)cpu;
}
bool mt_os_is_secure(void) { return getauxval(AT_SECURE) != 0; }
char **mt_os_environ(void) { return environ; }

bool mt_os_env_has(char *const env[], unsigned n, const char *entry) {
  size_t len = strcspn(entry, "=");
  for (unsigned i = 0; i < n; i++)
    if (strncmp(env[i], entry, len) == 0 && env[i][len] == '=')
      return true;
  return false;
}

unsigned mt_os_environ_add_missing(char *const entries[], unsigned n) {
  char **env = environ;
  unsigned have = 0, missing = 0;
  while (env && env[have])
    have++;
  for (unsigned i = 0; i < n; i++)
    missing += !mt_os_env_has(env, have, entries[i]);
  if (missing == 0)
    return 0;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t bytes = ((have + missing + 1) * sizeof(char *) + page - 1) & ~(page - 1);
  char **copy = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED)
    return 0;
  memcpy(copy, env, have * sizeof(char *));
  unsigned k = have;
  for (unsigned i = 0; i < n; i++)
    if (!mt_os_env_has(env, have, entries[i]))
      copy[k++] = entries[i];
  copy[k] = NULL;
  environ = copy;
  return k - have;
}

/* program_invocation_short_name points into argv[0], which programs that set
 * their process title write over (postgres, nginx, redis): the name is copied
 * once at start, and a forked child keeps the copy. */
static char progname[256];

void mt_os_note_progname(void) {
  const char *n = program_invocation_short_name;
  if (progname[0] || n == NULL || *n == '\0')
    return;
  size_t k = strnlen(n, sizeof(progname) - 1);
  memcpy(progname, n, k);
  progname[k] = '\0';
}

const char *mt_os_progname(void) {
  if (progname[0])
    return progname;
  const char *n = program_invocation_short_name; /* before the copy: early reports */
  return n && *n ? n : "?";
}

void mt_os_yield(void) { sched_yield(); }

int mt_os_signal_number(const char *name) {
  static const struct {
    const char *name;
    int sig;
  } table[] = {{"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
               {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"PROF", SIGPROF},
               {"WINCH", SIGWINCH}, {"URG", SIGURG}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}};
  if (strncmp(name, "SIG", 3) == 0)
    name += 3;
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (strcmp(name, table[i].name) == 0)
      return table[i].sig;
  int n = 0;
  for (const char *p = name; *p; p++) {
    if (*p < '0' || *p > '9' || n > 64)
      return 0;
    n = n * 10 + (*p - '0');
  }
  return n > 0 && n < 65 && n != SIGKILL && n != SIGSTOP ? n : 0;
}

bool mt_os_catch_signal(int sig, void (*fn)(int, void *, void *)) {
  struct sigaction old, sa;
  if (mt_os_sigaction_real(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
    return false;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))(void (*)(void))fn;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  return mt_os_sigaction_real(sig, &sa, NULL) == 0;
}

void mt_os_reraise_default(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  mt_os_sigaction_real(sig, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
}

uint64_t mt_os_coarse_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mt_os_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mt_os_futex_wait(int *word, int expected) {
  int saved = errno;
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
  errno = saved;
}

void mt_os_futex_wake(int *word) {
  int saved = errno;
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
}

void mt_os_abort(void) {
  /* abort() may flush stdio, which may allocate: raise the signal ourselves
   * (libc's sigaction, not the interposed signal()). */
  mt_os_reraise_default(SIGABRT);
  mt_os_exit(134);
}

/* exit_group itself: preload/ interposes _exit (it runs the exit work). */
void mt_os_exit(int code) {
  for (;;)
    syscall(SYS_exit_group, code);
}

/* glibc's list of every open stream (exported since 2.2.5, declared in no
 * installed header); weak: absent elsewhere, then only the standard ones. */
extern FILE *_IO_list_all __attribute__((weak));
#define STREAM_NO_WRITES 0x0008 /* glibc's _IO_NO_WRITES: a read-only stream */

void mt_os_flush_stdio(void) {
  int saved = errno;
  if (&_IO_list_all == NULL) {
    fflush_unlocked(stdout);
    fflush_unlocked(stderr);
  } else {
    /* As exit's flush: the narrow streams with bytes not yet written, and
     * the wide ones that may write (their buffers are glibc's private). */
    for (FILE *fp = _IO_list_all; fp != NULL; fp = fp->_chain)
      if (fp->_mode > 0 ? !(fp->_flags & STREAM_NO_WRITES)
                        : fp->_IO_write_ptr > fp->_IO_write_base)
        fflush_unlocked(fp);
  }
  errno = saved;
}

bool mt_os_fd_identity(int fd, uint64_t *dev, uint64_t *ino) {
  int saved = errno;
  struct stat st;
  bool ok = fstat(fd, &st) == 0;
  errno = saved;
  if (ok) {
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
  }
  return ok;
}

bool mt_os_fd_reopenable(int fd) {
  int saved = errno;
  struct stat st;
  int fl = fcntl(fd, F_GETFL);
  bool ok = fl >= 0 && fstat(fd, &st) == 0 &&
            (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || (S_ISREG(st.st_mode) && (fl & O_APPEND)));
  errno = saved;
  return ok;
}

long mt_os_fd_path(int fd, char *buf, size_t len) {
  char link[32] = "/proc/self/fd/", digits[12];
  int saved = errno, k = 0;
  unsigned v = (unsigned)fd;
  do
    digits[k++] = (char)('0' + v % 10);
  while ((v /= 10) && k < 11);
  size_t at = strlen(link);
  while (k)
    link[at++] = digits[--k];
  link[at] = '\0';
  ssize_t n = len ? readlink(link, buf, len - 1) : -1;
  errno = saved;
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return (long)n;
}

int mt_os_open_append(const char *path, bool create) {
  int saved = errno;
  int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC |
                          (create ? O_CREAT : 0), 0600);
  int err = errno;
  errno = saved;
  return fd >= 0 ? fd : -err;
}

/* ---- glibc's own blocks -------------------------------------------------- */

/* [lo, hi) of the brk heap, from /proc/self/maps. */
static bool brk_heap(uintptr_t *lo, uintptr_t *hi) {
  static char buf[1 << 16];
  long n = mt_os_read_self_file("maps", buf, sizeof(buf) - 1);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  for (char *line = buf; line && *line;) {
    char *next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (strstr(line, "[heap]")) {
      *lo = (uintptr_t)strtoull(line, &line, 16);
      *hi = (uintptr_t)strtoull(line + 1, NULL, 16);
      return true;
    }
    line = next;
  }
  return false;
}

static bool page_mapped(uintptr_t a) {
  unsigned char v;
  int saved = errno;
  bool ok = mincore((void *)(a & ~(uintptr_t)4095), 1, &v) == 0;
  errno = saved;
  return ok;
}

bool mt_os_is_libc_block(uintptr_t p) {
  if (p == 0 || (p & 15) || p < 4096)
    return false;
  uintptr_t lo, hi;
  if (brk_heap(&lo, &hi) && p >= lo + 16 && p < hi)
    return true;
  /* An mmapped chunk: a page-aligned header 16 bytes before p whose size
   * field has IS_MMAPPED (2) and is a multiple of the page size. */
  uintptr_t hdr = p - 16;
  if ((hdr & 4095) != 0 || !page_mapped(hdr))
    return false;
  size_t size = ((const size_t *)hdr)[1];
  return (size & 2) && (size & ~(size_t)7) % 4096 == 0 && size >= 4096;
}

/* glibc's free, realloc and malloc_usable_size, looked up once: while a
 * RTLD_DEEPBIND load runs, libc's definitions are hidden (core/heap/rebind.c). */
static void *libc_fns[3];

static void *libc_sym(unsigned i) {
  static const char *const names[3] = {"free", "realloc", "malloc_usable_size"};
  void *f = __atomic_load_n(&libc_fns[i], __ATOMIC_RELAXED);
  if (f == NULL) {
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    f = libc ? dlsym(libc, names[i]) : NULL;
    __atomic_store_n(&libc_fns[i], f, __ATOMIC_RELAXED);
  }
  return f;
}

void mt_os_libc_prepare(void) {
  for (unsigned i = 0; i < 3; i++)
    libc_sym(i);
}

void mt_os_libc_free(void *p) {
  void (*f)(void *) = (void (*)(void *))libc_sym(0);
  if (f)
    f(p);
}

void *mt_os_libc_realloc(void *p, size_t n) {
  void *(*f)(void *, size_t) = (void *(*)(void *, size_t))libc_sym(1);
  return f ? f(p, n) : NULL;
}

size_t mt_os_libc_usable(void *p) {
  size_t (*f)(void *) = (size_t (*)(void *))libc_sym(2);
  return f ? f(p) : 0;
}

/* ---- reading our own memory ------------------------------------------------- */

long mt_os_read_self(uintptr_t addr, void *buf, size_t len) {
  struct iovec local = {buf, len}, remote = {(void *)addr, len};
  int saved = errno;
  /* Our thread id, not the process id: the leader may have ended (see self_path). */
  long n = (long)syscall(SYS_process_vm_readv, mt_os_gettid(), &local, 1UL, &remote, 1UL, 0UL);
  errno = saved;
  return n;
}

static void one_mapping(char *line, mt_mapping_fn fn, void *arg, bool unreadable) {
  char *p = line;
  uintptr_t lo = (uintptr_t)strtoull(p, &p, 16);
  uintptr_t hi = *p == '-' ? (uintptr_t)strtoull(p + 1, &p, 16) : 0;
  while (*p == ' ')
    p++;
  bool want = unreadable ? p[0] != 'r' : p[0] == 'r' && p[1] == 'w';
  for (int field = 0; field < 4 && *p; field++) { /* perms offset dev inode, then the name */
    while (*p && *p != ' ')
      p++;
    while (*p == ' ')
      p++;
  }
  if (want && hi > lo)
    fn(lo, hi, p, arg);
}

/* Streams a maps file through a fixed buffer (in our .bss: no mapping of
 * its own appears in the list while it is read), one line at a time. */
static char maps_buf[1 << 16];

static void each_line(int fd, void (*fn)(char *line, void *arg), void *arg) {
  char *buf = maps_buf;
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof(maps_buf) - 1 - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    have += (size_t)n;
    buf[have] = '\0';
    char *line = buf, *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
      *nl = '\0';
      fn(line, arg);
      line = nl + 1;
    }
    have = (size_t)(buf + have - line);
    memmove(buf, line, have);
    if (have == sizeof(maps_buf) - 1)
      have = 0; /* a line longer than the buffer: drop it */
  }
  if (have) {
    buf[have] = '\0';
    fn(buf, arg);
  }
}

struct mapping_walk {
  mt_mapping_fn fn;
  void *arg;
  bool unreadable;
};

static void mapping_line(char *line, void *arg) {
  struct mapping_walk *m = arg;
  one_mapping(line, m->fn, m->arg, m->unreadable);
}

static void each_mapping(mt_mapping_fn fn, void *arg, bool unreadable) {
  int saved = errno;
  int fd = open_self("maps");
  if (fd < 0) {
    errno = saved;
    return;
  }
  struct mapping_walk m = {fn, arg, unreadable};
  each_line(fd, mapping_line, &m);
  close(fd);
  errno = saved;
}

/* The file of a maps line: its "dev inode" fields, found by address in our
 * own maps and looked for in the parent's. */
struct file_id {
  uintptr_t pc;   /* our own code, to find our line */
  char id[64];    /* "08:01 123456", empty until found */
  bool found;     /* the parent maps it too */
};

static const char *maps_file_id(const char *line, size_t *len) {
  const char *p = line;
  for (int field = 0; field < 3 && *p; field++) { /* range perms offset, then dev inode */
    while (*p && *p != ' ')
      p++;
    while (*p == ' ')
      p++;
  }
  const char *q = p;
  while (*q && *q != ' ')
    q++;
  while (*q == ' ')
    q++;
  while (*q && *q != ' ')
    q++;
  *len = (size_t)(q - p);
  return p;
}

static void own_file_line(char *line, void *arg) {
  struct file_id *f = arg;
  char *p = line;
  uintptr_t lo = (uintptr_t)strtoull(p, &p, 16);
  uintptr_t hi = *p == '-' ? (uintptr_t)strtoull(p + 1, &p, 16) : 0;
  if (f->id[0] || f->pc < lo || f->pc >= hi)
    return;
  size_t len;
  const char *id = maps_file_id(line, &len);
  if (len < sizeof(f->id)) {
    memcpy(f->id, id, len);
    f->id[len] = '\0';
  }
}

static void parent_file_line(char *line, void *arg) {
  struct file_id *f = arg;
  size_t len;
  const char *id = maps_file_id(line, &len);
  if (!f->found && len == strlen(f->id) && memcmp(id, f->id, len) == 0)
    f->found = true;
}

bool mt_os_parent_has_self(void) {
  int saved = errno;
  struct file_id f = {(uintptr_t)&mt_os_parent_has_self, "", false};
  int fd = open_self("maps");
  if (fd >= 0) {
    each_line(fd, own_file_line, &f);
    close(fd);
  }
  char path[40] = "/proc/", digits[16];
  unsigned ppid = (unsigned)getppid(), nd = 0;
  do
    digits[nd++] = (char)('0' + ppid % 10);
  while ((ppid /= 10) != 0);
  size_t at = strlen(path);
  while (nd)
    path[at++] = digits[--nd];
  memcpy(path + at, "/maps", 6);
  /* An anonymous inode ("00:00 0") names no file: never a match. */
  if (f.id[0] && strcmp(f.id, "00:00 0") != 0 &&
      (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
    each_line(fd, parent_file_line, &f);
    close(fd);
  }
  errno = saved;
  return f.found;
}

void mt_os_each_writable_mapping(mt_mapping_fn fn, void *arg) { each_mapping(fn, arg, false); }

void mt_os_each_unreadable_mapping(mt_mapping_fn fn, void *arg) { each_mapping(fn, arg, true); }

struct self_data {
  uintptr_t pc, lo, hi;
};

static int find_self_data(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct self_data *d = data;
  bool mine = false;
  for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    mine = ph->p_type == PT_LOAD && d->pc >= lo && d->pc < lo + ph->p_memsz;
  }
  if (!mine)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
      continue;
    uintptr_t lo = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)4095;
    uintptr_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~(uintptr_t)4095;
    d->lo = d->lo && d->lo < lo ? d->lo : lo;
    d->hi = d->hi > hi ? d->hi : hi;
  }
  return 1;
}

bool mt_os_self_data(uintptr_t *lo, uintptr_t *hi) {
  struct self_data d = {(uintptr_t)&mt_os_self_data, 0, 0};
  dl_iterate_phdr(find_self_data, &d);
  *lo = d.lo;
  *hi = d.hi;
  return d.hi > d.lo;
}

/* ---- guard pages ------------------------------------------------------------------ */

void *mt_os_reserve(size_t size, size_t align) {
  void *raw = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
  if (start > (uintptr_t)raw)
    munmap(raw, start - (uintptr_t)raw);
  uintptr_t end = (uintptr_t)raw + size + align;
  if (end > start + size)
    munmap((void *)(start + size), end - (start + size));
  return (void *)start;
}

bool mt_os_protect(uintptr_t p, size_t len, bool rw) {
  int saved = errno;
  bool ok;
  if (rw) {
    /* Mapped with its pages present: one call instead of mprotect and a
     * page fault per page, each a trip through the kernel. */
    ok = mmap((void *)p, len, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED | MAP_POPULATE, -1, 0) !=
         MAP_FAILED;
  } else {
    /* One call drops the pages and closes them (one TLB shootdown, not the
     * two of mprotect + madvise), and the range merges back into the
     * reservation around it: it has the same flags. */
    ok = mmap((void *)p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
              -1, 0) != MAP_FAILED;
    /* At vm.max_map_count the kernel refuses even a mapping that would
     * lower the count; mprotect does not when the range splits nothing,
     * as a whole run or the ballast does (memguard.c). */
    if (!ok)
      ok = mprotect((void *)p, len, PROT_NONE) == 0 && madvise((void *)p, len, MADV_DONTNEED) == 0;
  }
  errno = saved;
  return ok;
}

bool mt_os_open_pages(uintptr_t p, size_t len) {
  int saved = errno;
  bool ok = mprotect((void *)p, len, PROT_READ | PROT_WRITE) == 0;
  errno = saved;
  return ok;
}

/* Linux's uapi values (asm-generic/mman-common.h, 6.13); glibc 2.36's
 * headers predate them. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

bool mt_os_guard_install(uintptr_t p, size_t len) {
  int saved = errno;
  int r;
  /* EINTR: the kernel stops when a signal is pending; the call is idempotent. */
  while ((r = madvise((void *)p, len, MADV_GUARD_INSTALL)) != 0 && errno == EINTR)
    ;
  errno = saved;
  return r == 0;
}

bool mt_os_guard_remove(uintptr_t p, size_t len) {
  int saved = errno;
  bool ok = madvise((void *)p, len, MADV_GUARD_REMOVE) == 0;
  errno = saved;
  return ok;
}

bool mt_os_file_exists(const char *path) {
  struct stat st;
  int saved = errno;
  bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
  errno = saved;
  return ok;
}

bool mt_os_set_writable(uintptr_t p, size_t len, bool writable, bool exec) {
  int saved = errno;
  bool ok = mprotect((void *)p, len,
                     PROT_READ | (writable ? PROT_WRITE : 0) | (exec ? PROT_EXEC : 0)) == 0;
  errno = saved;
  return ok;
}

size_t mt_os_resident_pages(void) {
  char buf[128];
  long n = mt_os_read_self_file("statm", buf, sizeof(buf) - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  const char *p = strchr(buf, ' '); /* the second field: resident */
  long ps = sysconf(_SC_PAGESIZE);
  return p && ps > 0 ? (size_t)strtoul(p + 1, NULL, 10) * ((size_t)ps / 4096) : 0;
}

size_t mt_os_physical_pages(void) {
  long n = sysconf(_SC_PHYS_PAGES), ps = sysconf(_SC_PAGESIZE);
  return n > 0 && ps > 0 ? (size_t)n * ((size_t)ps / 4096) : (size_t)1 << 20;
}

long mt_os_max_map_count(void) {
  char buf[32];
  long n = mt_os_read_file("/proc/sys/vm/max_map_count", buf, sizeof(buf) - 1);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return strtol(buf, NULL, 10);
}

/* libc's own name for sigaction (exported since glibc 2.2.5), called
 * directly: a dlsym here would take the loader's lock, and this runs in
 * signal handlers and in the reporter. */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

int mt_os_sigaction_real(int sig, const void *act, void *old) {
  return __sigaction(sig, act, old);
}

int mt_os_fault_access(const void *uc) {
#if defined(__x86_64__)
  const ucontext_t *u = uc;
  return u ? ((u->uc_mcontext.gregs[REG_ERR] & 2) ? 2 : 1) : 0;
#else
  (void)uc;
  return 0;
#endif
}

bool mt_os_context_pop_return(const void *uc, void *out, size_t len) {
#if defined(__x86_64__)
  if (uc == NULL || len < sizeof(ucontext_t))
    return false;
  ucontext_t *c = out;
  memcpy(c, uc, sizeof(*c));
  uint64_t ret;
  uintptr_t sp = (uintptr_t)c->uc_mcontext.gregs[REG_RSP];
  if (mt_os_read_self(sp, &ret, sizeof(ret)) != (long)sizeof(ret))
    return false;
  c->uc_mcontext.gregs[REG_RIP] = (greg_t)ret;
  c->uc_mcontext.gregs[REG_RSP] = (greg_t)(sp + 8);
  return true;
#else
  (void)uc;
  (void)out;
  (void)len;
  return false;
#endif
}

bool mt_os_fault_is_fetch(const void *uc, uintptr_t addr) {
  if (uc == NULL)
    return false;
#if defined(__x86_64__)
  /* The page fault's error code: bit 4, an instruction fetch. */
  if (((const ucontext_t *)uc)->uc_mcontext.gregs[REG_ERR] & 16)
    return true;
#endif
  return mt_os_fault_pc(uc) == addr;
}

bool mt_os_fault_regs(const void *uc, uint64_t regs[16]) {
#if defined(__x86_64__)
  static const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                REG_R12, REG_R13, REG_R14, REG_R15};
  const ucontext_t *u = uc;
  if (u == NULL)
    return false;
  for (int i = 0; i < 16; i++)
    regs[i] = (uint64_t)u->uc_mcontext.gregs[order[i]];
  return true;
#else
  (void)uc;
  (void)regs;
  return false;
#endif
}

uintptr_t mt_os_fault_pc(const void *uc) {
  const ucontext_t *u = uc;
  if (u == NULL)
    return 0;
#if defined(__x86_64__)
  return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)u->uc_mcontext.pc;
#else
  return 0;
#endif
}

static __thread __attribute__((tls_model("initial-exec"))) void *altstack; /* ours, if any */
#define ALTSTACK_SIZE (64 * 1024)

void mt_os_altstack_ensure(void) {
  stack_t cur;
  if (altstack || sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
    return;
  /* Listed as memtype's own: the signal frames a handled fault leaves on
   * it hold the program's registers of that moment, stale copies the leak
   * scan must not take for roots (the scan reads the part a handler running
   * now uses: mt_leak_scan). */
  void *p = mt_os_map(ALTSTACK_SIZE);
  if (p == NULL)
    return;
  stack_t ss = {.ss_sp = p, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) == 0)
    altstack = p;
  else
    mt_os_unmap(p, ALTSTACK_SIZE);
}

void mt_os_altstack_release(void) {
  if (altstack == NULL)
    return;
  stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
  sigaltstack(&ss, NULL);
  mt_os_unmap(altstack, ALTSTACK_SIZE);
  altstack = NULL;
}

bool mt_os_resident(uintptr_t page, size_t npages, unsigned char *vec) {
  int saved = errno;
  bool ok = mincore((void *)page, npages << 12, vec) == 0;
  errno = saved;
  return ok;
}
