/* test_siggate.c - the signal gate (core/sys/siggate.h): a program's handler
 * runs at once while its thread holds none of memtype's locks, and waits
 * until the thread's last lock is released when it holds one (the
 * deadlock the gate exists for: a handler that calls malloc while its own
 * thread holds the zone lock); the program sees its own handler, not the
 * trampoline; faults are never gated; SIG_DFL taken over by memtype runs
 * the exit work and then the default death; an ignored signal stays
 * ignored. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lock.h"
#include "siggate.h"
#include "unit.h"

static volatile sig_atomic_t runs, last_sig, last_code, blocked_inside, locks_inside;

static void handler(int sig) {
  runs++;
  last_sig = sig;
  locks_inside = (sig_atomic_t)mt_tls_locks;
}

static void info_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  runs++;
  last_sig = sig;
  last_code = si->si_code;
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  blocked_inside = sigismember(&now, sig); /* the kernel's rule: no nesting of itself */
}

static void install(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  ck_assert_int_eq(mt_siggate_sigaction(sig, &sa, NULL), 0);
}

START_TEST(test_a_handler_runs_at_once_when_no_lock_is_held) {
  install(SIGUSR1, handler, 0);
  raise(SIGUSR1);
  ck_assert_int_eq(runs, 1);
  ck_assert_int_eq(last_sig, SIGUSR1);
  ck_assert_int_eq(locks_inside, 0);
}
END_TEST

START_TEST(test_a_signal_that_comes_while_a_lock_is_held_waits_for_its_release) {
  static mt_lock_t lock;
  install(SIGUSR1, handler, 0);
  mt_lock(&lock);
  raise(SIGUSR1);
  ck_assert_int_eq(runs, 0); /* kept */
  mt_unlock(&lock);
  ck_assert_int_eq(runs, 1); /* run on the way out */
  ck_assert_int_eq(locks_inside, 0);
}
END_TEST

START_TEST(test_with_nested_locks_the_handler_waits_for_the_last_one) {
  static mt_lock_t outer, inner;
  install(SIGUSR2, handler, 0);
  mt_lock(&outer);
  mt_lock(&inner);
  raise(SIGUSR2);
  mt_unlock(&inner);
  ck_assert_int_eq(runs, 0);
  mt_unlock(&outer);
  ck_assert_int_eq(runs, 1);
  ck_assert_int_eq(last_sig, SIGUSR2);
}
END_TEST

START_TEST(test_a_kept_signal_keeps_its_siginfo_and_its_mask) {
  static mt_lock_t lock;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = info_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ck_assert_int_eq(mt_siggate_sigaction(SIGUSR1, &sa, NULL), 0);
  mt_lock(&lock);
  raise(SIGUSR1);
  mt_unlock(&lock);
  ck_assert_int_eq(runs, 1);
  ck_assert_int_eq(last_code, SI_TKILL); /* raise(3) is tgkill: the kernel's siginfo, kept */
  ck_assert_int_eq(blocked_inside, 1);
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  ck_assert_int_eq(sigismember(&now, SIGUSR1), 0); /* the mask is back */
}
END_TEST

START_TEST(test_the_program_sees_its_own_handler_and_the_kernel_the_trampoline) {
  install(SIGUSR1, handler, SA_RESTART);
  struct sigaction old, real;
  ck_assert_int_eq(mt_siggate_sigaction(SIGUSR1, NULL, &old), 0);
  ck_assert_ptr_eq((void *)old.sa_handler, (void *)handler);
  ck_assert_int_eq(old.sa_flags & SA_RESTART, SA_RESTART);
  ck_assert_int_eq(sigaction(SIGUSR1, NULL, &real), 0);
  ck_assert_ptr_ne((void *)real.sa_handler, (void *)handler); /* the gate stands in front */
  /* Replacing it gives back the program's previous handler. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_IGN;
  ck_assert_int_eq(mt_siggate_sigaction(SIGUSR1, &dfl, &old), 0);
  ck_assert_ptr_eq((void *)old.sa_handler, (void *)handler);
  ck_assert_int_eq(sigaction(SIGUSR1, NULL, &real), 0);
  ck_assert_ptr_eq((void *)real.sa_handler, (void *)SIG_IGN);
}
END_TEST

START_TEST(test_a_one_shot_handler_is_reset_to_the_default) {
  static mt_lock_t lock;
  install(SIGUSR1, handler, SA_RESETHAND);
  mt_lock(&lock);
  raise(SIGUSR1);
  mt_unlock(&lock);
  ck_assert_int_eq(runs, 1);
  struct sigaction old;
  ck_assert_int_eq(mt_siggate_sigaction(SIGUSR1, NULL, &old), 0);
  ck_assert_ptr_eq((void *)old.sa_handler, (void *)SIG_DFL);
}
END_TEST

START_TEST(test_faults_are_never_gated) {
  install(SIGSEGV, handler, 0);
  struct sigaction real;
  ck_assert_int_eq(sigaction(SIGSEGV, NULL, &real), 0);
  ck_assert_ptr_eq((void *)real.sa_handler, (void *)handler); /* the kernel has it itself */
  static mt_lock_t lock;
  mt_lock(&lock);
  raise(SIGSEGV); /* a fault cannot wait: it runs inside the lock */
  ck_assert_int_eq(runs, 1);
  ck_assert_int_eq(locks_inside, 1);
  mt_unlock(&lock);
  ck_assert_int_eq(runs, 1);
}
END_TEST

/* ---- SIG_DFL taken over: the exit work, then the default death ------------------- */

static int work_fd;
static bool exit_work(int sig) {
  char c = (char)sig;
  if (write(work_fd, &c, 1) != 1)
    _exit(98);
  return true;
}

/* In a child: take SIGTERM's default, maybe set `before` first, raise it.
 * Returns the exit work's record (the signal, or 0) and the status. */
static int take_and_raise(void (*before)(void), int *status) {
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    work_fd = fd[1];
    signal(SIGTERM, SIG_DFL); /* as a program starts (Check's runner handles it) */
    if (before)
      before();
    const int sigs[] = {SIGTERM};
    mt_siggate_take_default(sigs, 1, exit_work);
    raise(SIGTERM);
    _exit(0);
  }
  close(fd[1]);
  char c = 0;
  if (read(fd[0], &c, 1) != 1)
    c = 0;
  close(fd[0]);
  waitpid(pid, status, 0);
  return c;
}

START_TEST(test_a_default_taken_runs_the_exit_work_then_the_same_death) {
  int status;
  ck_assert_int_eq(take_and_raise(NULL, &status), SIGTERM);
  ck_assert(WIFSIGNALED(status));
  ck_assert_int_eq(WTERMSIG(status), SIGTERM);
}
END_TEST

static void ignore_term(void) { signal(SIGTERM, SIG_IGN); }

START_TEST(test_an_ignored_signal_stays_ignored) {
  int status;
  ck_assert_int_eq(take_and_raise(ignore_term, &status), 0);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* A fork child that gets SIGTERM at once (multiprocessing's
 * Pool.terminate) gets it while the forking thread still holds memtype's
 * locks, before the fork-child step: the signal was kept, then dropped by
 * that step, and the child ran on and exited 0 (no exit work, no dump). */
static void kept_in_the_fork_window(void) {
  mt_locks_enter(); /* as fork's prepare step leaves the child */
  const int sigs[] = {SIGTERM};
  mt_siggate_take_default(sigs, 1, exit_work);
  raise(SIGTERM); /* kept: the thread holds a lock */
  mt_siggate_fork_child();
  _exit(0); /* the signal lost: the child runs on */
}

START_TEST(test_a_signal_kept_in_the_fork_window_is_the_childs_and_kills_it) {
  int status;
  ck_assert_int_eq(take_and_raise(kept_in_the_fork_window, &status), SIGTERM);
  ck_assert(WIFSIGNALED(status));
  ck_assert_int_eq(WTERMSIG(status), SIGTERM);
}
END_TEST

/* One the parent kept before it forked is the parent's: not run in the child. */
START_TEST(test_a_signal_the_parent_kept_is_not_run_in_the_child) {
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    mt_locks_enter();
    const int sigs[] = {SIGTERM};
    mt_siggate_take_default(sigs, 1, exit_work);
    raise(SIGTERM); /* kept by this process */
    pid_t g = fork();
    if (g == 0) {
      mt_siggate_fork_child();
      _exit(0);
    }
    int st;
    waitpid(g, &st, 0);
    _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1); /* its own kept signal never replayed */
  }
  int status;
  waitpid(pid, &status, 0);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_the_program_still_sees_sig_dfl_after_the_takeover) {
  const int sigs[] = {SIGHUP};
  ck_assert(mt_siggate_take_default(sigs, 1, exit_work));
  struct sigaction old, real;
  ck_assert_int_eq(mt_siggate_sigaction(SIGHUP, NULL, &old), 0);
  ck_assert_ptr_eq((void *)old.sa_handler, (void *)SIG_DFL);
  ck_assert_int_eq(sigaction(SIGHUP, NULL, &real), 0);
  ck_assert_ptr_ne((void *)real.sa_handler, (void *)SIG_DFL); /* memtype's, behind it */
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("siggate");
  TCase *tc = tcase_create("gate");
  tcase_add_test(tc, test_a_handler_runs_at_once_when_no_lock_is_held);
  tcase_add_test(tc, test_a_signal_that_comes_while_a_lock_is_held_waits_for_its_release);
  tcase_add_test(tc, test_with_nested_locks_the_handler_waits_for_the_last_one);
  tcase_add_test(tc, test_a_kept_signal_keeps_its_siginfo_and_its_mask);
  tcase_add_test(tc, test_the_program_sees_its_own_handler_and_the_kernel_the_trampoline);
  tcase_add_test(tc, test_a_one_shot_handler_is_reset_to_the_default);
  tcase_add_test(tc, test_faults_are_never_gated);
  tcase_add_test(tc, test_a_default_taken_runs_the_exit_work_then_the_same_death);
  tcase_add_test(tc, test_an_ignored_signal_stays_ignored);
  tcase_add_test(tc, test_the_program_still_sees_sig_dfl_after_the_takeover);
  tcase_add_test(tc, test_a_signal_kept_in_the_fork_window_is_the_childs_and_kills_it);
  tcase_add_test(tc, test_a_signal_the_parent_kept_is_not_run_in_the_child);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
