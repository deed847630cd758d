/* test_zone.c - slab accounting: take and give keep bitmaps, free counts and
 * the partial list consistent; empty slabs go back to the page level. */
#include <stdint.h>

#include "alloc.h"
#include "page.h"
#include "zone.h"
#include "unit.h"

static void setup(void) { mt_init(); }

START_TEST(test_take_hands_out_distinct_slots_of_the_class) {
  unsigned c = mt_size_class(100);
  enum { N = 500 };
  void *p[N];
  mt_meta_t *m[N];
  unsigned got = 0;
  while (got < N)
    got += mt_zone_take(c, p + got, m + got, N - got);
  for (unsigned i = 0; i < N; i++) {
    mt_slab_t *s = mt_run_of((uintptr_t)p[i]);
    ck_assert_uint_eq(s->cls, c);
    ck_assert_ptr_eq(&s->meta[mt_slab_index(s, (uintptr_t)p[i])], m[i]);
    for (unsigned j = 0; j < i; j++)
      ck_assert_ptr_ne(p[i], p[j]);
  }
  ck_assert(mt_zone_is_valid(c));
  mt_zone_give(c, p, N);
  ck_assert(mt_zone_is_valid(c));
}
END_TEST

START_TEST(test_free_count_matches_bitmap_after_mixed_traffic) {
  unsigned c = mt_size_class(48);
  enum { N = 3000 };
  static void *p[N];
  static mt_meta_t *m[N];
  unsigned got = 0;
  while (got < N)
    got += mt_zone_take(c, p + got, m + got, N - got);
  for (unsigned i = 0; i < N; i += 3)
    mt_zone_give(c, &p[i], 1);
  ck_assert(mt_zone_is_valid(c));
  for (unsigned i = 1; i < N; i += 3)
    mt_zone_give(c, &p[i], 1);
  for (unsigned i = 2; i < N; i += 3)
    mt_zone_give(c, &p[i], 1);
  ck_assert(mt_zone_is_valid(c));
  for (unsigned k = 0; k < MT_ZONE_SHARDS; k++) /* one kept per CPU shard at most */
    ck_assert_uint_le(mt_zones[k][c].nempty, 1);
}
END_TEST

START_TEST(test_empty_slabs_return_pages) {
  unsigned c = mt_size_class(8000);
  mt_page_stats_t before, during, after;
  mt_page_get_stats(&before);
  enum { N = 400 };
  static void *p[N];
  static mt_meta_t *m[N];
  unsigned got = 0;
  while (got < N)
    got += mt_zone_take(c, p + got, m + got, N - got);
  mt_page_get_stats(&during);
  ck_assert_uint_ge(during.used - before.used, (size_t)N * 8000);
  mt_zone_give(c, p, N);
  mt_page_get_stats(&after);
  /* at most one empty slab is kept */
  ck_assert_uint_le(after.used - before.used,
                    (size_t)mt_classes[c].npages * MT_PAGE_SIZE);
  for (unsigned k = 0; k < MT_ZONE_SHARDS; k++)
    ck_assert_uint_le(mt_zones[k][c].nslabs, 1);
  ck_assert(mt_zone_is_valid(c));
  ck_assert(mt_page_is_valid());
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("zone");
  TCase *tc = tcase_create("slabs");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_take_hands_out_distinct_slots_of_the_class);
  tcase_add_test(tc, test_free_count_matches_bitmap_after_mixed_traffic);
  tcase_add_test(tc, test_empty_slabs_return_pages);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
