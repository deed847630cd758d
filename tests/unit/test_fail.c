/* test_fail.c - failure injection's decisions (core/debug/fail.h): which
 * allocations fail under MEMTYPE_FAILURE_RATE, _SEED, _AFTER, _TIMES,
 * _MINSIZE and _TYPES, what a failure looks like to the program (NULL,
 * ENOMEM) and what it leaves behind (the count, the type's counter, the
 * event, the verbose line, malloc_last_fail's clock). Each test sets its
 * variables before the first mt_init() of its process; the seed tests run
 * the same configuration in two child processes and compare. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "fail.h"
#include "options.h"
#include "report.h"
#include "site.h"
#include "tcache.h"
#include "unit.h"

/* Sets name/value pairs (NULL-terminated), then starts memtype. */
static void init_with(const char *const *vars) {
  for (; vars && vars[0]; vars += 2)
    setenv(vars[0], vars[1], 1);
  mt_init();
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

START_TEST(test_off_by_default_nothing_fails_and_nothing_is_counted) {
  init_with(NULL);
  ck_assert(!mt_fail_on);
  for (int i = 0; i < 10000; i++) {
    void *p = mt_malloc(64, MT_FAM_MALLOC, 0x7100);
    ck_assert_ptr_nonnull(p);
    mt_free(p, MT_FAM_MALLOC, 0);
  }
  ck_assert_uint_eq(mt_fail_count(), 0);
}
END_TEST

START_TEST(test_rate_one_fails_every_allocation_with_enomem) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "1", NULL});
  ck_assert(mt_fail_on);
  errno = 0;
  ck_assert_ptr_null(mt_malloc(10, MT_FAM_MALLOC, 0x7200));
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(mt_calloc(3, 10, 0x7201));
  ck_assert_int_eq(errno, ENOMEM);
  void *q = (void *)1;
  ck_assert_int_eq(mt_posix_memalign(&q, 64, 10, 0x7202), ENOMEM);
  ck_assert_uint_eq(mt_fail_count(), 3);
  ck_assert_uint_eq(mt_fail_eligible(), 3);
}
END_TEST

START_TEST(test_one_in_n_fails_within_a_binomial_bound) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "10", "MEMTYPE_FAILURE_SEED", "12345",
                                  NULL});
  unsigned failed = 0, n = 100000;
  for (unsigned i = 0; i < n; i++)
    failed += mt_fail_should(16, 0, MT_FAM_MALLOC);
  /* Expected 10000; the standard deviation is sqrt(n p (1 - p)) = 95: 5 of them. */
  ck_assert_msg(failed > 10000 - 475 && failed < 10000 + 475, "%u of %u failed", failed, n);
  ck_assert_uint_eq(mt_fail_count(), failed);
  ck_assert_uint_eq(mt_fail_eligible(), n);
}
END_TEST

/* The decisions of 2000 eligible allocations of a child process that runs
 * with these settings, as a string of 0 and 1. */
static void decisions(const char *seed, const char *rate, char out[2001]) {
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fd[0]);
    init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", rate, "MEMTYPE_FAILURE_SEED", seed,
                                    NULL});
    char buf[2000];
    for (int i = 0; i < 2000; i++)
      buf[i] = mt_malloc(100, MT_FAM_MALLOC, 0x7300) == NULL ? '1' : '0';
    _exit(write(fd[1], buf, sizeof(buf)) == (ssize_t)sizeof(buf) ? 0 : 1);
  }
  close(fd[1]);
  size_t got = 0;
  ssize_t k;
  while (got < 2000 && (k = read(fd[0], out + got, 2000 - got)) > 0)
    got += (size_t)k;
  close(fd[0]);
  out[got] = '\0';
  int status;
  waitpid(pid, &status, 0);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ck_assert_uint_eq(got, 2000);
}

START_TEST(test_the_same_seed_fails_the_same_allocations_and_another_seed_others) {
  static char a[2001], b[2001], c[2001];
  decisions("777", "7", a);
  decisions("777", "7", b);
  decisions("778", "7", c);
  ck_assert_str_eq(a, b);
  ck_assert_str_ne(a, c);
  ck_assert_ptr_nonnull(strchr(a, '1'));
  ck_assert_ptr_nonnull(strchr(a, '0'));
}
END_TEST

START_TEST(test_after_lets_the_first_n_through_and_times_caps_the_failures) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "1", "MEMTYPE_FAILURE_AFTER", "100",
                                  "MEMTYPE_FAILURE_TIMES", "3", NULL});
  for (int i = 0; i < 100; i++)
    ck_assert_msg(!mt_fail_should(8, 0, MT_FAM_MALLOC), "eligible allocation %d failed", i + 1);
  ck_assert(mt_fail_should(8, 0, MT_FAM_MALLOC)); /* the 101st */
  ck_assert(mt_fail_should(8, 0, MT_FAM_MALLOC));
  ck_assert(mt_fail_should(8, 0, MT_FAM_MALLOC));
  for (int i = 0; i < 1000; i++)
    ck_assert(!mt_fail_should(8, 0, MT_FAM_MALLOC));
  ck_assert_uint_eq(mt_fail_count(), 3);
}
END_TEST

START_TEST(test_smaller_allocations_than_minsize_are_not_eligible) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "1", "MEMTYPE_FAILURE_MINSIZE", "1000",
                                  NULL});
  ck_assert(!mt_fail_should(999, 0, MT_FAM_MALLOC));
  ck_assert_uint_eq(mt_fail_eligible(), 0);
  ck_assert(mt_fail_should(1000, 0, MT_FAM_MALLOC));
  ck_assert_ptr_nonnull(mt_malloc(500, MT_FAM_MALLOC, 0x7400));
  ck_assert_ptr_null(mt_malloc(5000, MT_FAM_MALLOC, 0x7401));
}
END_TEST

START_TEST(test_only_the_types_named_by_failure_types_fail) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "1", "MEMTYPE_FAILURE_TYPES",
                                  "victim*", NULL});
  static const char k1 = 0, k2 = 0;
  unsigned victim = mt_site_intern_named(&k1, "victim_cache");
  unsigned bystander = mt_site_intern_named(&k2, "bystander");
  for (int i = 0; i < 100; i++) {
    ck_assert(!mt_fail_should(64, bystander, MT_FAM_MALLOC));
    ck_assert(mt_fail_should(64, victim, MT_FAM_MALLOC));
  }
  ck_assert_uint_eq(mt_fail_eligible(), 100);
  void *p = mt_malloc_type(64, bystander, false);
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_null(mt_malloc_type(64, victim, false));
}
END_TEST

START_TEST(test_a_failure_is_counted_for_its_type_and_kept_as_an_event) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "1", "MEMTYPE_FAILURE_AFTER", "2",
                                  NULL});
  ck_assert_int_eq(mt_fail_last_seconds(), INT32_MAX); /* no failure yet */
  ck_assert_ptr_nonnull(mt_malloc(11, MT_FAM_MALLOC, 0x7500));
  ck_assert_ptr_nonnull(mt_malloc(22, MT_FAM_MALLOC, 0x7500));
  ck_assert_ptr_null(mt_malloc(33, MT_FAM_NEW, 0x7500));
  unsigned type = mt_site_intern(0x7500);
  const mt_fail_event_t *e = &mt_fail_events()[0];
  ck_assert_uint_eq(e->seq, 1);
  ck_assert_uint_eq(e->eligible, 3);
  ck_assert_uint_eq(e->size, 33);
  ck_assert_uint_eq(e->type, type);
  ck_assert_uint_eq(e->family, MT_FAM_NEW);
  ck_assert_uint_eq(e->tid, (uint32_t)getpid()); /* the main thread */
  ck_assert_uint_eq(mt_fail_events()[1].seq, 0);
  unsigned n = mt_site_count();
  mt_typestat_t *all = calloc(n, sizeof(*all));
  mt_tcache_sum_types(all, n);
  ck_assert_uint_eq(all[type].failures, 1);
  ck_assert_uint_eq(all[type].allocs, 2); /* a failure is not an allocation */
  free(all);
  ck_assert_int_le(mt_fail_last_seconds(), 1);
}
END_TEST

START_TEST(test_verbose_prints_each_failure) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "1", "MEMTYPE_FAILURE_VERBOSE", "1",
                                  NULL});
  ck_assert_ptr_null(mt_malloc(123, MT_FAM_MALLOC, 0x7600));
  ck_assert_msg(strstr(captured, "memtype: failure injected #1: malloc(123) returns NULL "
                                 "(eligible allocation 1), type 0x7600, thread ") != NULL,
                "%s", captured);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("fail");
  TCase *tc = tcase_create("decisions");
  tcase_add_test(tc, test_off_by_default_nothing_fails_and_nothing_is_counted);
  tcase_add_test(tc, test_rate_one_fails_every_allocation_with_enomem);
  tcase_add_test(tc, test_one_in_n_fails_within_a_binomial_bound);
  tcase_add_test(tc, test_the_same_seed_fails_the_same_allocations_and_another_seed_others);
  tcase_add_test(tc, test_after_lets_the_first_n_through_and_times_caps_the_failures);
  tcase_add_test(tc, test_smaller_allocations_than_minsize_are_not_eligible);
  tcase_add_test(tc, test_only_the_types_named_by_failure_types_fail);
  tcase_add_test(tc, test_a_failure_is_counted_for_its_type_and_kept_as_an_event);
  tcase_add_test(tc, test_verbose_prints_each_failure);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
