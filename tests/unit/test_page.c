/* test_page.c - the page map answers "ours? which run? which slot?" for any
 * pointer; runs split, merge and go back; huge blocks map and leave the map. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "alloc.h"
#include "page.h"
#include "zone.h"
#include "unit.h"

static void setup(void) { mt_init(); }

START_TEST(test_slab_pointer_maps_to_its_slab_and_slot) {
  for (size_t n = 1; n <= MT_SMALL_MAX; n = n * 3 + 1) {
    char *p = mt_malloc(n, MT_FAM_MALLOC, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)p), MT_MAP_SEGMENT);
    mt_slab_t *s = mt_run_of((uintptr_t)p);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->kind, MT_RUN_SLAB);
    ck_assert_uint_ge(s->slot_size, n);
    uint32_t idx = mt_slab_index(s, (uintptr_t)p);
    ck_assert_uint_lt(idx, s->nslots);
    ck_assert_uint_eq(s->start + (uintptr_t)idx * s->slot_size, (uintptr_t)p);
    /* an interior pointer maps to the same slot */
    ck_assert_uint_eq(mt_slab_index(s, (uintptr_t)p + s->slot_size - 1), idx);
    ck_assert_uint_eq(s->meta[idx].f.state, MT_STATE_LIVE);
    ck_assert_uint_eq(s->meta[idx].f.size, n);
    mt_free(p, MT_FAM_MALLOC, 0);
    ck_assert_uint_eq(s->meta[idx].f.state, MT_STATE_FREE);
  }
}
END_TEST

START_TEST(test_foreign_pointers_are_not_ours) {
  int local;
  static int global;
  void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ck_assert(!mt_owns(&local));
  ck_assert(!mt_owns(&global));
  ck_assert(!mt_owns(m));
  ck_assert(!mt_owns((void *)(uintptr_t)-4096));
  ck_assert(!mt_owns(NULL));
  void *g = malloc(100); /* glibc's, in this test process */
  ck_assert(!mt_owns(g));
  free(g);
  munmap(m, 1 << 20);
}
END_TEST

START_TEST(test_medium_block_is_one_run_and_returns_to_the_page_level) {
  char *p = mt_malloc(200000, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(p);
  mt_slab_t *r = mt_run_of((uintptr_t)p);
  ck_assert_uint_eq(r->kind, MT_RUN_MEDIUM);
  ck_assert_uint_eq(r->npages, (200000 + 4095) / 4096);
  ck_assert_ptr_eq(mt_run_of((uintptr_t)p + 199999), r);
  ck_assert(mt_owns(p + 100000));
  memset(p, 0x5a, 200000);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert(!mt_owns(p));
  ck_assert(mt_page_is_valid());
}
END_TEST

START_TEST(test_huge_block_maps_every_chunk_and_leaves_the_map_on_free) {
  size_t n = 9u << 20;
  char *p = mt_malloc(n, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(p);
  mt_huge_t *h = mt_huge_of((uintptr_t)p);
  ck_assert_ptr_nonnull(h);
  ck_assert_ptr_eq(mt_huge_of((uintptr_t)p + n - 1), h);
  ck_assert_uint_ge(h->usable, n);
  p[0] = 1;
  p[n - 1] = 2;
  mt_page_stats_t before, after;
  mt_page_get_stats(&before);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_page_get_stats(&after);
  ck_assert(!mt_owns(p));
  ck_assert(!mt_owns(p + n - 1));
  ck_assert_uint_eq(before.huge_blocks - after.huge_blocks, 1);
  /* unmapped, or kept in the huge cache (test_huge.c) until flushed */
  mt_huge_cache_flush();
  mt_page_get_stats(&after);
  ck_assert_uint_ge(before.mapped - after.mapped, n);
}
END_TEST

START_TEST(test_runs_merge_back_into_one_free_run) {
  void *blocks[64];
  for (int i = 0; i < 64; i++)
    blocks[i] = mt_malloc(40000 + (size_t)i * 1000, MT_FAM_MALLOC, 0);
  ck_assert(mt_page_is_valid());
  /* free every other one, then the rest: neighbours must merge */
  for (int i = 0; i < 64; i += 2)
    mt_free(blocks[i], MT_FAM_MALLOC, 0);
  ck_assert(mt_page_is_valid());
  for (int i = 1; i < 64; i += 2)
    mt_free(blocks[i], MT_FAM_MALLOC, 0);
  ck_assert(mt_page_is_valid());
}
END_TEST

START_TEST(test_empty_segments_are_unmapped) {
  mt_page_stats_t base, full, after;
  mt_page_get_stats(&base);
  enum { N = 200 };
  void *b[N];
  for (int i = 0; i < N; i++)
    b[i] = mt_malloc(500000, MT_FAM_MALLOC, 0);
  mt_page_get_stats(&full);
  ck_assert_uint_gt(full.segments, base.segments + 10);
  for (int i = 0; i < N; i++)
    mt_free(b[i], MT_FAM_MALLOC, 0);
  mt_page_get_stats(&after);
  ck_assert_uint_le(after.segments, base.segments + 1);
  ck_assert(mt_page_is_valid());
}
END_TEST


/* The decay (page.c): freed runs stay resident through one purge interval
 * (250 ms), go back with madvise once they stayed free through a whole one,
 * and up to an eighth of the pages in use stay resident whatever their age. */
static void free_run_later(void) { /* a run freed now runs a purge pass */
  void *t = mt_malloc(300000, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(t);
  mt_free(t, MT_FAM_MALLOC, 0);
}

static size_t purged_after_two_passes(void) {
  mt_page_stats_t a, b;
  mt_page_get_stats(&a);
  for (int pass = 0; pass < 2; pass++) {
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    free_run_later();
  }
  mt_page_get_stats(&b);
  return b.purged - a.purged;
}

START_TEST(test_freed_runs_go_back_after_an_interval_not_at_once) {
  enum { N = 24, SZ = 600000 }; /* 147 pages each, 14 MiB in all */
  void *b[N];
  void *pin = mt_malloc(SZ, MT_FAM_MALLOC, 0); /* keeps one segment mapped */
  for (int i = 0; i < N; i++) {
    b[i] = mt_malloc(SZ, MT_FAM_MALLOC, 0);
    memset(b[i], 1, SZ);
  }
  mt_page_stats_t before, freed;
  mt_page_get_stats(&before);
  for (int i = 0; i < N; i += 2) /* every other: the segments stay mapped */
    mt_free(b[i], MT_FAM_MALLOC, 0);
  mt_page_get_stats(&freed);
  /* nothing just freed is given back at once */
  ck_assert_uint_eq(freed.purged, before.purged);
  ck_assert_uint_ge(freed.dirty, (size_t)(N / 2) * SZ);
  /* two passes later most of it is (all but the eighth of the used pages) */
  size_t back = purged_after_two_passes();
  ck_assert_uint_ge(back, (size_t)(N / 2) * SZ / 2);
  for (int i = 1; i < N; i += 2)
    mt_free(b[i], MT_FAM_MALLOC, 0);
  mt_free(pin, MT_FAM_MALLOC, 0);
  ck_assert(mt_page_is_valid());
}
END_TEST

START_TEST(test_an_eighth_of_the_used_pages_stays_resident) {
  enum { N = 64, SZ = 1000000 }; /* 245 pages each, 61 MiB in use */
  void *b[N];
  for (int i = 0; i < N; i++) {
    b[i] = mt_malloc(SZ, MT_FAM_MALLOC, 0);
    memset(b[i], 1, SZ);
  }
  mt_page_stats_t st;
  /* free 4 blocks (under 4 MiB, far less than an eighth of 61 MiB): they
   * stay resident through any number of passes */
  for (int i = 8; i < 16; i += 2)
    mt_free(b[i], MT_FAM_MALLOC, 0);
  ck_assert_uint_eq(purged_after_two_passes(), 0);
  mt_page_get_stats(&st);
  ck_assert_uint_ge(st.dirty, 4 * (size_t)SZ);
  for (int i = 0; i < N; i++)
    if (i < 8 || i >= 16 || i % 2)
      mt_free(b[i], MT_FAM_MALLOC, 0);
  ck_assert(mt_page_is_valid());
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("page");
  TCase *tc = tcase_create("pagemap");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_slab_pointer_maps_to_its_slab_and_slot);
  tcase_add_test(tc, test_foreign_pointers_are_not_ours);
  tcase_add_test(tc, test_medium_block_is_one_run_and_returns_to_the_page_level);
  tcase_add_test(tc, test_huge_block_maps_every_chunk_and_leaves_the_map_on_free);
  tcase_add_test(tc, test_runs_merge_back_into_one_free_run);
  tcase_add_test(tc, test_empty_segments_are_unmapped);
  tcase_add_test(tc, test_freed_runs_go_back_after_an_interval_not_at_once);
  tcase_add_test(tc, test_an_eighth_of_the_used_pages_stays_resident);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
