/* test_sizeclass.c - the size-class table: coverage, monotonicity, waste
 * bound, slab geometry, exact slot division, aligned classes. */
#include "alloc.h"
#include "sizeclass.h"
#include "unit.h"

static void setup(void) { mt_sizeclass_init(); }

START_TEST(test_table_is_valid) { ck_assert(mt_sizeclass_is_valid()); }
END_TEST

START_TEST(test_every_size_gets_the_smallest_class_that_fits) {
  for (size_t n = 0; n <= MT_SMALL_MAX; n++) {
    unsigned c = mt_size_class(n);
    ck_assert_uint_lt(c, MT_NCLASSES);
    ck_assert_uint_ge(mt_classes[c].size, n);
    if (c > 0)
      ck_assert_uint_lt(mt_classes[c - 1].size, n > 0 ? n : 1);
    ck_assert_uint_eq(mt_classes[c].size, mt_class_size_formula(c));
  }
}
END_TEST

START_TEST(test_waste_stays_under_an_eighth_above_256_bytes) {
  double worst = 0;
  for (size_t n = 257; n <= MT_SMALL_MAX; n++) {
    double w = (double)(mt_classes[mt_size_class(n)].size - n) / (double)n;
    if (w > worst)
      worst = w;
  }
  ck_assert_msg(worst < 0.125, "worst waste %.3f", worst);
}
END_TEST

START_TEST(test_slab_geometry_fits_pages_and_metadata) {
  for (unsigned c = 0; c < MT_NCLASSES; c++) {
    const mt_class_info_t *ci = &mt_classes[c];
    ck_assert_uint_ge(ci->nslots, 1);
    ck_assert_uint_le((size_t)ci->nslots * ci->size, (size_t)ci->npages * MT_PAGE_SIZE);
    ck_assert_uint_lt((size_t)(ci->nslots + 1) * ci->size, (size_t)ci->npages * MT_PAGE_SIZE + ci->size + 1);
    ck_assert_uint_le(ci->npages, MT_SLAB_MAX_PAGES);
    ck_assert_uint_ge(ci->cache_cap, 1);
    ck_assert_uint_ge(ci->batch, 1);
    ck_assert_uint_le(ci->batch, ci->cache_cap);
  }
}
END_TEST

START_TEST(test_reciprocal_division_is_exact_in_every_slab) {
  for (unsigned c = 0; c < MT_NCLASSES; c++) {
    const mt_class_info_t *ci = &mt_classes[c];
    size_t span = (size_t)ci->npages * MT_PAGE_SIZE;
    for (size_t off = 0; off < span; off++) {
      uint64_t q = ((uint64_t)off * ci->recip) >> MT_RECIP_SHIFT;
      if (q != off / ci->size)
        ck_abort_msg("class %u size %u: offset %zu gives %lu, want %zu", c, ci->size, off,
                     (unsigned long)q, off / ci->size);
    }
  }
}
END_TEST

START_TEST(test_aligned_class_has_aligned_slots) {
  for (size_t align = 32; align <= MT_PAGE_SIZE; align <<= 1)
    for (size_t n = 0; n <= 8192; n += 7) {
      unsigned c = mt_size_class_aligned(n, align);
      if (c == MT_NCLASSES)
        continue;
      ck_assert_uint_ge(mt_classes[c].size, n);
      ck_assert_uint_eq(mt_classes[c].size % align, 0);
    }
  ck_assert_uint_eq(mt_size_class_aligned(100, 8192), MT_NCLASSES);
  ck_assert_uint_eq(mt_size_class_aligned(MT_SMALL_MAX + 1, 64), MT_NCLASSES);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("sizeclass");
  TCase *tc = tcase_create("table");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_table_is_valid);
  tcase_add_test(tc, test_every_size_gets_the_smallest_class_that_fits);
  tcase_add_test(tc, test_waste_stays_under_an_eighth_above_256_bytes);
  tcase_add_test(tc, test_slab_geometry_fits_pages_and_metadata);
  tcase_add_test(tc, test_reciprocal_division_is_exact_in_every_slab);
  tcase_add_test(tc, test_aligned_class_has_aligned_slots);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
