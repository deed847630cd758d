/* test_assert.c - MT_ASSERT and mt_assert_fail (core/mt_types.h,
 * core/mt_assert.c): a failed assertion writes one line naming the
 * expression, file and line, then dies of SIGABRT; MT_ASSERT checks in a
 * Debug build (MT_DEBUG) and neither checks nor evaluates its expression in
 * the others. In a Debug build, the invariants of the zones, the thread
 * caches and the page map stop a program that breaks them (a slot given
 * back twice, a slot cached twice, a run freed twice). Each case runs in a
 * child of its own and reads the child's stderr through a pipe. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "mt_types.h"
#include "page.h"
#include "tcache.h"
#include "zone.h"
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
  ck_assert_str_eq(o.err, "memtype: assertion failed: slot < nslots (zone.c:122); "
                         "memtype will now abort\n");
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

#ifdef MT_DEBUG
static void *take_one(unsigned c) {
  void *p;
  mt_meta_t *m;
  ck_assert_uint_eq(mt_zone_take(c, &p, &m, 1), 1);
  return p;
}

static void give_twice(void) {
  mt_init();
  unsigned c = mt_size_class(100);
  void *keep = take_one(c), *p = take_one(c); /* keep: the slab stays partial */
  (void)keep;
  mt_zone_give(c, &p, 1);
  mt_zone_give(c, &p, 1);
}

static void cache_twice(void) {
  mt_init();
  mt_tcache_t *tc = mt_tcache_attach();
  ck_assert_ptr_nonnull(tc);
  unsigned c = mt_size_class(64);
  ck_assert(mt_tcache_refill(tc, c));
  mt_bin_t *b = &tc->bins[c];
  ck_assert_uint_ge(b->n, 2);
  b->items[0] = b->items[1]; /* one slot cached twice, its meta the other's */
  mt_tcache_flush(tc, c, b->n);
}

static void free_run_twice(void) {
  mt_init();
  bool dirty;
  mt_slab_t *run = mt_page_alloc_run(3, 1, &dirty);
  ck_assert_ptr_nonnull(run);
  mt_page_free_run(run);
  mt_page_free_run(run);
}

static void expect_invariant(void (*fn)(void), const char *file) {
  outcome_t o;
  run_child(fn, &o);
  ck_assert_msg(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGABRT, "status %#x: %s",
                o.status, o.err);
  ck_assert_ptr_nonnull(strstr(o.err, "memtype: assertion failed: "));
  ck_assert_msg(strstr(o.err, file) != NULL, "%s", o.err);
}

START_TEST(test_a_slot_given_back_twice_stops_a_debug_build) {
  expect_invariant(give_twice, "zone.c:");
}
END_TEST

START_TEST(test_a_slot_cached_twice_stops_a_debug_build) {
  expect_invariant(cache_twice, "tcache.c:");
}
END_TEST

START_TEST(test_a_run_freed_twice_stops_a_debug_build) {
  expect_invariant(free_run_twice, "page.c:");
}
END_TEST
#endif

static Suite *suite(void) {
  Suite *s = suite_create("assert");
  TCase *tc = tcase_create("assert");
  tcase_add_test(tc, test_a_failed_assertion_names_the_expression_then_aborts);
  tcase_add_test(tc, test_a_failed_assertion_dies_even_when_sigabrt_is_handled);
  tcase_add_test(tc, test_MT_ASSERT_checks_in_a_debug_build_only);
  tcase_add_test(tc, test_a_true_MT_ASSERT_is_silent_and_evaluated_only_in_a_debug_build);
  suite_add_tcase(s, tc);
#ifdef MT_DEBUG /* the invariants are asserted in Debug builds only */
  TCase *inv = tcase_create("invariants");
  tcase_add_test(inv, test_a_slot_given_back_twice_stops_a_debug_build);
  tcase_add_test(inv, test_a_slot_cached_twice_stops_a_debug_build);
  tcase_add_test(inv, test_a_run_freed_twice_stops_a_debug_build);
  suite_add_tcase(s, inv);
#endif
  return s;
}

MT_UNIT_MAIN(suite)
