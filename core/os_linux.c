/* os_linux.c - Linux implementation of os.h: raw syscalls through libc
 * wrappers that neither allocate nor take locks. */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern char *program_invocation_short_name;

void *mt_os_map(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void *mt_os_map_aligned(size_t size, size_t align) {
  if (size + align < size)
    return NULL;
  /* Over-map, then trim both ends to the aligned window. */
  char *raw = mt_os_map(size + align);
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

void mt_os_unmap(void *p, size_t size) { munmap(p, size); }

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

void mt_os_write(int fd, const char *buf, size_t len) {
  int saved = errno;
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    buf += n;
    len -= (size_t)n;
  }
  errno = saved;
}

int mt_os_getpid(void) { return (int)syscall(SYS_getpid); }
long mt_os_gettid(void) { return (long)syscall(SYS_gettid); }
bool mt_os_is_secure(void) { return getauxval(AT_SECURE) != 0; }
char **mt_os_environ(void) { return environ; }

const char *mt_os_progname(void) {
  const char *n = program_invocation_short_name;
  return n && *n ? n : "?";
}

void mt_os_yield(void) { sched_yield(); }

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
  /* abort() may flush stdio, which may allocate: raise the signal ourselves. */
  signal(SIGABRT, SIG_DFL);
  raise(SIGABRT);
  _exit(134);
}

void mt_os_exit(int code) { _exit(code); }
