/* test_stats.c - call-site types and per-type statistics: known call sites
 * from several threads give exact totals after join; the site table hands
 * out stable ids; typing off puts everything in the untyped type. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"
#include "options.h"
#include "site.h"
#include "tcache.h"
#include "unit.h"

static void setup(void) { mt_init(); }

#define THREADS 6
#define PER_SITE 5000
static const uintptr_t site_pc[3] = {0x5150001, 0x5150002, 0x5150003};

static void *worker(void *arg) {
  (void)arg;
  void *keep[3][PER_SITE];
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < PER_SITE; i++)
      keep[s][i] = mt_malloc((size_t)(s + 1) * 100, MT_FAM_MALLOC, site_pc[s]);
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < PER_SITE; i += 2)
      mt_free(keep[s][i], MT_FAM_MALLOC, 0);
  return NULL; /* the other half stays live */
}

START_TEST(test_known_sites_from_threads_give_exact_totals) {
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++)
    pthread_create(&th[t], NULL, worker, NULL);
  for (int t = 0; t < THREADS; t++)
    pthread_join(th[t], NULL);
  unsigned n = mt_site_count();
  mt_typestat_t *all = mmap(NULL, n * sizeof(*all), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mt_tcache_sum_types(all, n);
  for (int s = 0; s < 3; s++) {
    unsigned type = mt_site_intern(site_pc[s]);
    ck_assert_uint_ge(type, MT_TYPE_FIRST);
    ck_assert_uint_eq(mt_site_pc(type), site_pc[s]);
    const mt_typestat_t *st = &all[type];
    ck_assert_uint_eq(st->allocs, THREADS * PER_SITE);
    ck_assert_uint_eq(st->frees, THREADS * PER_SITE / 2);
    ck_assert_uint_eq(st->bytes_alloc, (uint64_t)THREADS * PER_SITE * (s + 1) * 100);
    ck_assert_uint_eq(st->bytes_freed, (uint64_t)THREADS * PER_SITE / 2 * (s + 1) * 100);
    unsigned cls = mt_size_class((size_t)(s + 1) * 100);
    ck_assert_uint_eq(st->classes[MT_CLASS_WORD(cls)], MT_CLASS_MASK(cls));
  }
  munmap(all, n * sizeof(*all));
}
END_TEST

START_TEST(test_site_ids_are_stable_and_distinct) {
  uint16_t a = mt_site_intern(0x7000), b = mt_site_intern(0x7001);
  ck_assert_uint_ne(a, b);
  ck_assert_uint_eq(mt_site_intern(0x7000), a);
  ck_assert_uint_eq(mt_site_intern(0), MT_TYPE_UNTYPED);
}
END_TEST

START_TEST(test_full_table_sends_new_sites_to_the_overflow_type) {
  for (uintptr_t pc = 0x100000; mt_site_count() < MT_MAX_TYPES; pc++)
    mt_site_intern(pc);
  ck_assert_uint_eq(mt_site_intern(0xdead0000), MT_TYPE_OVERFLOW);
  ck_assert_uint_ge(mt_site_overflows(), 1);
  void *p = mt_malloc(10, MT_FAM_MALLOC, 0xdead0001); /* still allocates */
  ck_assert_ptr_nonnull(p);
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_block_metadata_carries_its_type) {
  void *p = mt_malloc(40, MT_FAM_MALLOC, 0x6660001);
  void *q = mt_realloc(p, 44, 0x6660002); /* in place: takes realloc's type */
  ck_assert_ptr_eq(p, q);
  unsigned n = mt_site_count();
  mt_typestat_t *all = mmap(NULL, n * sizeof(*all), PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mt_tcache_sum_types(all, n);
  unsigned t1 = mt_site_intern(0x6660001), t2 = mt_site_intern(0x6660002);
  ck_assert_uint_eq(all[t1].allocs, 1);
  ck_assert_uint_eq(all[t1].frees, 1);
  ck_assert_uint_eq(all[t2].allocs, 1);
  ck_assert_uint_eq(all[t2].frees, 0);
  mt_free(q, MT_FAM_MALLOC, 0);
  memset(all, 0, n * sizeof(*all));
  mt_tcache_sum_types(all, n);
  ck_assert_uint_eq(all[t2].frees, 1);
  ck_assert_uint_eq(all[t2].bytes_freed, 44);
  munmap(all, n * sizeof(*all));
}
END_TEST

START_TEST(test_skip_globs_match_functions_and_modules) {
  const char *g = "xmalloc,g_malloc*,*libstdc++*,?trdup";
  ck_assert(mt_site_glob_list_match(g, "xmalloc"));
  ck_assert(mt_site_glob_list_match(g, "g_malloc0_n"));
  ck_assert(mt_site_glob_list_match(g, "libstdc++.so.6"));
  ck_assert(mt_site_glob_list_match(g, "strdup"));
  ck_assert(!mt_site_glob_list_match(g, "xmalloc2"));
  ck_assert(!mt_site_glob_list_match(g, "malloc"));
  ck_assert(!mt_site_glob_list_match(g, "__strdup"));
  ck_assert(!mt_site_glob_list_match("", "anything"));
  ck_assert(!mt_site_glob_list_match(",,", "anything"));
  ck_assert(mt_site_glob_list_match("*", "anything"));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("stats");
  TCase *tc = tcase_create("types");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_known_sites_from_threads_give_exact_totals);
  tcase_add_test(tc, test_site_ids_are_stable_and_distinct);
  tcase_add_test(tc, test_full_table_sends_new_sites_to_the_overflow_type);
  tcase_add_test(tc, test_block_metadata_carries_its_type);
  tcase_add_test(tc, test_skip_globs_match_functions_and_modules);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
