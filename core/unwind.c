/* unwind.c - stack capture through libunwind's unw_backtrace (see unwind.h).
 * A thread-local flag guards against re-entry from allocations made while
 * unwinding. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "unwind.h"

#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mt_types.h"

static MT_TLS bool unwinding;

bool mt_unwind_busy(void) { return unwinding; }

unsigned mt_unwind_capture(uintptr_t *pcs, unsigned max) {
  if (unwinding || max == 0)
    return 0;
  unwinding = true;
  int n = unw_backtrace((void **)pcs, (int)max);
  unwinding = false;
  return n > 0 ? (unsigned)n : 0;
}

unsigned mt_unwind_capture_context(uintptr_t *pcs, unsigned max, const void *uc) {
#if defined(__x86_64__)
  /* There unw_context_t is the ucontext_t itself (libunwind-x86_64.h); libunwind
   * gets a copy (its prototype is not const). UNW_INIT_SIGNAL_FRAME: the first
   * pc is where the signal struck, not a return address. Elsewhere the
   * reporter's fallback applies (report.c's error_stack). */
  if (unwinding || max == 0 || uc == NULL)
    return 0;
  unwinding = true;
  unw_context_t ctx = *(const unw_context_t *)uc;
  unw_cursor_t cur;
  unsigned n = 0;
  if (unw_init_local2(&cur, &ctx, UNW_INIT_SIGNAL_FRAME) == 0) {
    do {
      unw_word_t ip;
      if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
        break;
      pcs[n++] = (uintptr_t)ip;
    } while (n < max && unw_step(&cur) > 0);
  }
  unwinding = false;
  return n;
#else
  (void)pcs, (void)max, (void)uc;
  return 0;
#endif
}

/* libunwind (1.6) checks the addresses it reads while stepping by write()ing
 * a byte from them into a pipe that it opens when it starts and keeps for the
 * life of the process. Its two descriptors would be the lowest free ones: 3
 * and 4, which the program then finds taken (its first open() returns 5, a
 * dup2 onto 3 or 4 gives libunwind the program's file), or 0 when the program
 * was started with stdin closed (its stdin is then libunwind's pipe; CPython's
 * test_posix notices). So pipe2 and pipe are interposed: a pipe made while
 * this thread unwinds is moved up, below min(RLIMIT_NOFILE, 1024), out of the
 * program's way. (A program that lists every descriptor still sees the two.)
 * Every other caller gets the plain system call. */
static int move_up(int fd, int flags) {
  struct rlimit rl;
  long top = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)top)
    top = (long)rl.rlim_cur;
  if (top - 16 <= fd)
    return fd;
  int up = fcntl(fd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, (int)(top - 16));
  if (up < 0)
    return fd;
  close(fd);
  return up;
}

__attribute__((visibility("default"))) int pipe2(int fds[2], int flags) {
  int r = (int)syscall(SYS_pipe2, fds, flags);
  if (r == 0 && unwinding) {
    int saved = errno;
    fds[0] = move_up(fds[0], flags);
    fds[1] = move_up(fds[1], flags);
    errno = saved;
  }
  return r;
}

__attribute__((visibility("default"))) int pipe(int fds[2]) { return pipe2(fds, 0); }
