/* test_assert.c - MT_ASSERT and mt_assert_fail (core/mt_types.h,
 * core/mt_assert.c): a failed assertion writes one line naming the
 * expression, file and line, then dies of SIGABRT; MT_ASSERT checks in a
 * Debug build (MT_DEBUG) and neither checks nor evaluates its expression in
 * the others. Each case runs the assertion in a child of its own and reads
 * the child's stderr through a pipe. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mt_types.h"
#include "unit.h"

typedef struct outcome_s {
  int status;     /* waitpid's */
  char err[1024]; /* what the child wrote on fd 2 */
} outcome_t;

/* Runs fn in a child whose fd 2 is a pipe; its status and stderr. */
static void run_child(void (*fn)(void), outcome_t *o) {
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t got;
  while (n + 1 < sizeof(o->err) && (got = read(fds[0], o->err + n, sizeof(o->err) - 1 - n)) > 0)
    n += (size_t)got;
  o->err[n] = '\0';
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, &o->status, 0), pid);
}

static void fail_directly(void) { mt_assert_fail("slot < nslots", "zone.c", 122); }

START_TEST(test_a_failed_assertion_names_the_expression_then_aborts) {
  outcome_t o;
  run_child(fail_directly, &o);
  ck_assert(WIFSIGNALED(o.status));
  ck_assert_int_eq(WTERMSIG(o.status), SIGABRT);
  ck_assert_str_eq(o.err,
                   "memtype: assertion failed: slot < nslots (zone.c:122); memtype will now abort\n");
}
END_TEST

static void catch_abort(int sig) { (void)sig; }

/* The program's SIGABRT handler does not keep a failed assertion alive. */
static void fail_with_abort_handled(void) {
  signal(SIGABRT, catch_abort);
  mt_assert_fail("false", "here.c", 1);
}

START_TEST(test_a_failed_assertion_dies_even_when_sigabrt_is_handled) {
  outcome_t o;
  run_child(fail_with_abort_handled, &o);
  ck_assert(WIFSIGNALED(o.status));
  ck_assert_int_eq(WTERMSIG(o.status), SIGABRT);
  ck_assert_ptr_nonnull(strstr(o.err, "assertion failed: false (here.c:1)"));
}
END_TEST

static int evaluated;
static int truth(int v) {
  evaluated++;
  return v;
}
static void assert_false(void) { MT_ASSERT(truth(0)); }
static void assert_true(void) { MT_ASSERT(truth(1)); }

START_TEST(test_MT_ASSERT_checks_in_a_debug_build_only) {
  outcome_t o;
  run_child(assert_false, &o);
#ifdef MT_DEBUG
  ck_assert(WIFSIGNALED(o.status));
  ck_assert_int_eq(WTERMSIG(o.status), SIGABRT);
  ck_assert_ptr_nonnull(strstr(o.err, "assertion failed: truth(0) ("));
  ck_assert_ptr_nonnull(strstr(o.err, "test_assert.c:"));
#else
  ck_assert(WIFEXITED(o.status));
  ck_assert_int_eq(WEXITSTATUS(o.status), 0);
  ck_assert_str_eq(o.err, "");
#endif
}
END_TEST

START_TEST(test_a_true_MT_ASSERT_is_silent_and_evaluated_only_in_a_debug_build) {
  outcome_t o;
  run_child(assert_true, &o);
  ck_assert(WIFEXITED(o.status));
  ck_assert_int_eq(WEXITSTATUS(o.status), 0);
  ck_assert_str_eq(o.err, "");
  evaluated = 0;
  assert_true();
#ifdef MT_DEBUG
  ck_assert_int_eq(evaluated, 1);
#else
  ck_assert_int_eq(evaluated, 0);
#endif
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("assert");
  TCase *tc = tcase_create("assert");
  tcase_add_test(tc, test_a_failed_assertion_names_the_expression_then_aborts);
  tcase_add_test(tc, test_a_failed_assertion_dies_even_when_sigabrt_is_handled);
  tcase_add_test(tc, test_MT_ASSERT_checks_in_a_debug_build_only);
  tcase_add_test(tc, test_a_true_MT_ASSERT_is_silent_and_evaluated_only_in_a_debug_build);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
