/* test_huge.c - the huge cache (core/page.c): a freed huge mapping is reused
 * by the next huge block it can hold, a remainder stays cached, a calloc'ed
 * block from the cache reads as zero, the cache stays under its bound (and
 * the process's resident memory with it) in a loop, a mapping unused for a
 * second is given back, a pointer into a cached mapping is not ours, realloc
 * keeps a huge block's contents whether it grows in place, moves or shrinks,
 * with the heap checks on nothing is cached (a late access still faults), and
 * MEMTYPE_HUGE_CACHE sets the bound (0: no cache), and under memory pressure
 * (a mapping refused by RLIMIT_AS) the cache is emptied and the mapping made.
 * Each test configures memtype through its own environment before mt_init(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "leak.h"
#include "os.h"
#include "page.h"
#include "unit.h"

#define MiB ((size_t)1 << 20)

static void setup(void) { mt_init(); }

static mt_page_stats_t page_stats(void) {
  mt_page_stats_t s;
  mt_page_get_stats(&s);
  return s;
}

/* Writes a word derived from seed in every page of p[0..n). */
static void fill(unsigned char *p, size_t n, uint64_t seed) {
  for (size_t off = 0; off + 8 <= n; off += 4096) {
    uint64_t v = seed ^ off;
    memcpy(p + off, &v, 8);
  }
}

static void assert_filled(const unsigned char *p, size_t n, uint64_t seed) {
  for (size_t off = 0; off + 8 <= n; off += 4096) {
    uint64_t v;
    memcpy(&v, p + off, 8);
    ck_assert_msg(v == (seed ^ off), "page at offset %zu lost its contents", off);
  }
}

START_TEST(test_a_freed_huge_mapping_is_reused_by_the_next_huge_block_it_holds) {
  unsigned char *p = mt_malloc(9 * MiB, MT_FAM_MALLOC, 0);
  fill(p, 9 * MiB, 1);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_page_stats_t freed = page_stats();
  ck_assert_uint_ge(freed.huge_cached, 9 * MiB);
  unsigned char *q = mt_malloc(7 * MiB, MT_FAM_MALLOC, 0);
  mt_page_stats_t after = page_stats();
  ck_assert_ptr_eq(q, p); /* the same mapping, header page in front */
  ck_assert_uint_eq(after.huge_reused - freed.huge_reused, 1);
  ck_assert_uint_eq(after.mapped, freed.mapped); /* nothing mapped anew */
  ck_assert(mt_owns(q + 7 * MiB - 1));
  ck_assert(mt_page_is_valid());
  mt_free(q, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_a_remainder_of_a_segment_or_more_stays_in_the_cache) {
  unsigned char *p = mt_malloc(30 * MiB, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  unsigned char *q = mt_malloc(3 * MiB, MT_FAM_MALLOC, 0);
  ck_assert_ptr_eq(q, p);
  mt_page_stats_t s = page_stats();
  ck_assert_uint_ge(s.huge_cached, 30 * MiB - 4 * MiB); /* all but the first segment */
  ck_assert(mt_page_is_valid());
  /* the remainder serves the next block */
  unsigned char *r = mt_malloc(20 * MiB, MT_FAM_MALLOC, 0);
  ck_assert_uint_eq(page_stats().huge_reused - s.huge_reused, 1);
  ck_assert_ptr_eq(r, p + 4 * MiB);
  fill(r, 20 * MiB, 3);
  fill(q, 3 * MiB, 4);
  assert_filled(r, 20 * MiB, 3);
  ck_assert(mt_page_is_valid());
}
END_TEST

START_TEST(test_calloc_from_the_cache_reads_as_zero) {
  unsigned char *p = mt_malloc(6 * MiB, MT_FAM_MALLOC, 0);
  memset(p, 0xab, 6 * MiB);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  unsigned char *q = mt_calloc(1, 6 * MiB, 0);
  ck_assert_uint_eq(page_stats().huge_reused - before.huge_reused, 1);
  for (size_t i = 0; i < 6 * MiB; i += 511)
    ck_assert_msg(q[i] == 0, "byte %zu of a calloc'ed block is %#x", i, q[i]);
  ck_assert_uint_eq(q[6 * MiB - 1], 0);
}
END_TEST

START_TEST(test_a_pointer_into_a_cached_mapping_is_not_ours) {
  unsigned char *p = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_uint_ge(page_stats().huge_cached, 5 * MiB);
  ck_assert(!mt_owns(p));
  ck_assert(!mt_owns(p + 5 * MiB - 1));
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)p), MT_MAP_CACHED);
}
END_TEST

START_TEST(test_the_cache_and_resident_memory_stay_bounded_in_a_loop) {
  const size_t limit = 24 * MiB, maxblock = 14 * MiB;
  mt_huge_cache_set_limit(limit);
  uint64_t rng = 12345;
  unsigned char *prev = NULL;
  size_t rss0 = 0, rss_max = 0;
  size_t reused0 = page_stats().huge_reused;
  for (int i = 0; i < 120; i++) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    size_t n = 2 * MiB + (size_t)(rng >> 33) % (maxblock - 2 * MiB);
    unsigned char *p = mt_malloc(n, MT_FAM_MALLOC, 0);
    fill(p, n, (uint64_t)i);
    assert_filled(p, n, (uint64_t)i);
    if (prev)
      mt_free(prev, MT_FAM_MALLOC, 0);
    prev = p;
    mt_page_stats_t s = page_stats();
    ck_assert_uint_le(s.huge_cached, limit);
    size_t rss = mt_os_resident_pages() * 4096;
    if (i == 10)
      rss0 = rss;
    if (rss > rss_max)
      rss_max = rss;
  }
  ck_assert(mt_page_is_valid());
  ck_assert_uint_gt(page_stats().huge_reused - reused0, 60); /* most blocks came from it */
  /* two live blocks and the cache: nothing accumulates beyond them */
  ck_assert_msg(rss_max <= rss0 + limit + 2 * maxblock,
                "resident memory grew from %zu KiB (iteration 10) to %zu KiB", rss0 >> 10,
                rss_max >> 10);
}
END_TEST

START_TEST(test_a_mapping_larger_than_the_bound_is_unmapped) {
  mt_huge_cache_set_limit(8 * MiB);
  unsigned char *p = mt_malloc(20 * MiB, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_page_stats_t after = page_stats();
  ck_assert_uint_eq(after.huge_cached, before.huge_cached);
  ck_assert_uint_ge(before.mapped - after.mapped, 20 * MiB);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)p), MT_MAP_NONE);
}
END_TEST

START_TEST(test_the_oldest_mappings_go_when_a_new_one_would_pass_the_bound) {
  mt_huge_cache_set_limit(16 * MiB);
  unsigned char *a = mt_malloc(6 * MiB, MT_FAM_MALLOC, 0);
  unsigned char *b = mt_malloc(6 * MiB, MT_FAM_MALLOC, 0);
  unsigned char *c = mt_malloc(6 * MiB, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  mt_free(a, MT_FAM_MALLOC, 0);
  mt_free(b, MT_FAM_MALLOC, 0);
  mt_free(c, MT_FAM_MALLOC, 0); /* a goes */
  mt_page_stats_t after = page_stats();
  ck_assert_uint_eq(after.huge_cache_evicted - before.huge_cache_evicted, 1);
  ck_assert_uint_le(after.huge_cached, 16 * MiB);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)a), MT_MAP_NONE);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)b), MT_MAP_CACHED);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)c), MT_MAP_CACHED);
  ck_assert(mt_page_is_valid());
}
END_TEST

START_TEST(test_a_mapping_unused_for_a_second_is_given_back) {
  unsigned char *p = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  ck_assert_uint_ge(before.huge_cached, 5 * MiB);
  usleep(1200 * 1000);
  unsigned char *q = mt_malloc(3 * MiB, MT_FAM_MALLOC, 0); /* ages the cache first */
  mt_page_stats_t after = page_stats();
  ck_assert_uint_eq(after.huge_cache_aged - before.huge_cache_aged, 1);
  ck_assert_uint_eq(after.huge_reused, before.huge_reused);
  ck_assert_uint_eq(after.huge_cached, 0);
  mt_free(q, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_freeing_a_page_run_also_gives_back_a_mapping_unused_for_a_second) {
  unsigned char *p = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  unsigned char *run = mt_malloc(100000, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  usleep(1200 * 1000);
  mt_free(run, MT_FAM_MALLOC, 0); /* a medium block: no huge call at all */
  mt_page_stats_t after = page_stats();
  ck_assert_uint_eq(after.huge_cache_aged - before.huge_cache_aged, 1);
  ck_assert_uint_eq(after.huge_cached, 0);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)p), MT_MAP_NONE);
}
END_TEST

START_TEST(test_realloc_keeps_a_huge_blocks_contents_as_it_grows_moves_and_shrinks) {
  unsigned char *p = mt_malloc(3 * MiB, MT_FAM_MALLOC, 0);
  fill(p, 3 * MiB, 7);
  /* a cached mapping right after it: growing in place is impossible */
  unsigned char *next = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  mt_free(next, MT_FAM_MALLOC, 0);
  p = mt_realloc(p, 40 * MiB, 0);
  ck_assert_ptr_nonnull(p);
  assert_filled(p, 3 * MiB, 7);
  fill(p, 40 * MiB, 8);
  p = mt_realloc(p, 64 * MiB + 123, 0);
  assert_filled(p, 40 * MiB, 8);
  p = mt_realloc(p, 2 * MiB + 5, 0);
  assert_filled(p, 2 * MiB, 8);
  ck_assert(mt_owns(p + 2 * MiB + 4));
  ck_assert(mt_page_is_valid());
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_with_the_heap_checks_on_nothing_is_cached) {
  setenv("MEMTYPE_TRASH", "1", 1);
  setenv("MEMTYPE_QUARANTINE", "0", 1);
  mt_init();
  unsigned char *q = mt_malloc(1024, MT_FAM_MALLOC, 0); /* its segment mapped now */
  unsigned char *p = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_free(q, MT_FAM_MALLOC, 0); /* the quarantine moves on */
  mt_page_stats_t after = page_stats();
  ck_assert_uint_eq(after.huge_cached, 0);
  ck_assert_uint_ge(before.mapped - after.mapped, 5 * MiB);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)p), MT_MAP_NONE);
}
END_TEST

START_TEST(test_memtype_huge_cache_0_unmaps_each_freed_mapping) {
  setenv("MEMTYPE_HUGE_CACHE", "0", 1);
  mt_init();
  unsigned char *p = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_page_stats_t after = page_stats();
  ck_assert_uint_eq(after.huge_cached, 0);
  ck_assert_uint_ge(before.mapped - after.mapped, 5 * MiB);
}
END_TEST

START_TEST(test_memtype_huge_cache_sets_the_bound) {
  setenv("MEMTYPE_HUGE_CACHE", "8M", 1);
  mt_init();
  unsigned char *a = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  unsigned char *b = mt_malloc(10 * MiB, MT_FAM_MALLOC, 0);
  mt_free(a, MT_FAM_MALLOC, 0);
  mt_free(b, MT_FAM_MALLOC, 0); /* over the bound: unmapped */
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)a), MT_MAP_CACHED);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)b), MT_MAP_NONE);
  ck_assert_uint_le(page_stats().huge_cached, 8 * MiB);
}
END_TEST

START_TEST(test_the_leak_scan_gives_the_cached_mappings_back_first) {
  unsigned char *p = mt_malloc(5 * MiB, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_uint_ge(page_stats().huge_cached, 5 * MiB);
  mt_leak_scan();
  ck_assert_uint_eq(page_stats().huge_cached, 0);
  ck_assert_uint_eq(mt_segmap_lookup((uintptr_t)p), MT_MAP_NONE);
}
END_TEST

/* The process's address space now (/proc/self/statm's first field). */
static size_t vm_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  ck_assert_ptr_nonnull(f);
  unsigned long pages = 0;
  ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
  fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Address space limited to `room` bytes more than now (0: no limit). */
static void limit_vm(size_t room) {
  struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
  if (room)
    rl.rlim_cur = vm_bytes() + room;
  ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
}

START_TEST(test_a_huge_block_refused_a_mapping_empties_the_cache_and_gets_one) {
  unsigned char *a = mt_malloc(40 * MiB, MT_FAM_MALLOC, 0);
  unsigned char *b = mt_malloc(40 * MiB, MT_FAM_MALLOC, 0);
  fill(a, 40 * MiB, 1);
  fill(b, 40 * MiB, 2);
  mt_free(a, MT_FAM_MALLOC, 0);
  mt_free(b, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  ck_assert_uint_ge(before.huge_cached, 80 * MiB);
  /* 20 MiB of room: no cached mapping holds 70 MiB, growing one needs 30 more,
   * a new one 70: only giving the cache back makes room */
  limit_vm(20 * MiB);
  unsigned char *p = mt_malloc(70 * MiB, MT_FAM_MALLOC, 0);
  mt_page_stats_t after = page_stats();
  if (p)
    fill(p, 70 * MiB, 3);
  limit_vm(0);
  ck_assert_ptr_nonnull(p);
  assert_filled(p, 70 * MiB, 3);
  ck_assert_uint_eq(after.huge_cache_drained - before.huge_cache_drained, 1);
  ck_assert_uint_eq(after.huge_cached, 0);
  ck_assert_uint_ne(mt_segmap_lookup((uintptr_t)b), MT_MAP_CACHED); /* unmapped, or p's now */
  ck_assert(mt_page_is_valid());
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_a_new_segment_refused_a_mapping_empties_the_cache_and_gets_one) {
  unsigned char *a = mt_malloc(40 * MiB, MT_FAM_MALLOC, 0);
  mt_free(a, MT_FAM_MALLOC, 0);
  mt_page_stats_t before = page_stats();
  ck_assert_uint_ge(before.huge_cached, 40 * MiB);
  /* 2 MiB of room: the second segment of 512 KiB page runs cannot be mapped
   * (a segment is 4 MiB) unless the cache is given back */
  enum { N = 24 };
  unsigned char *runs[N];
  limit_vm(2 * MiB);
  unsigned got = 0;
  for (; got < N; got++) {
    runs[got] = mt_malloc(512 * 1024, MT_FAM_MALLOC, 0);
    if (runs[got] == NULL)
      break;
    memset(runs[got], (int)got, 512 * 1024);
  }
  mt_page_stats_t after = page_stats();
  limit_vm(0);
  ck_assert_uint_eq(got, N);
  ck_assert_uint_eq(after.huge_cache_drained - before.huge_cache_drained, 1);
  ck_assert_uint_eq(after.huge_cached, 0);
  for (unsigned i = 0; i < got; i++)
    ck_assert_uint_eq(runs[i][512 * 1024 - 1], (unsigned char)i);
  ck_assert(mt_page_is_valid());
}
END_TEST

START_TEST(test_with_nothing_cached_a_refused_mapping_is_enomem) {
  mt_huge_cache_flush();
  limit_vm(20 * MiB);
  errno = 0;
  void *p = mt_malloc(70 * MiB, MT_FAM_MALLOC, 0);
  int err = errno;
  mt_page_stats_t s = page_stats();
  limit_vm(0);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(err, ENOMEM);
  ck_assert_uint_eq(s.huge_cache_drained, 0);
}
END_TEST

static void *huge_churn(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 1;
  for (int i = 0; i < 40; i++) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    size_t n = 2 * MiB + (size_t)(rng >> 33) % (8 * MiB);
    unsigned char *p = mt_malloc(n, MT_FAM_MALLOC, 0);
    ck_assert_ptr_nonnull(p);
    fill(p, n, rng);
    assert_filled(p, n, rng);
    mt_free(p, MT_FAM_MALLOC, 0);
  }
  return NULL;
}

START_TEST(test_threads_sharing_the_cache_keep_their_blocks_apart) {
  pthread_t th[4];
  for (uintptr_t i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, huge_churn, (void *)i);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  ck_assert(mt_page_is_valid());
  ck_assert_uint_le(page_stats().huge_cached, MT_HUGE_CACHE_DEFAULT);
  ck_assert_uint_eq(page_stats().huge_blocks, 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("huge");
  TCase *tc = tcase_create("cache");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_a_freed_huge_mapping_is_reused_by_the_next_huge_block_it_holds);
  tcase_add_test(tc, test_a_remainder_of_a_segment_or_more_stays_in_the_cache);
  tcase_add_test(tc, test_calloc_from_the_cache_reads_as_zero);
  tcase_add_test(tc, test_a_pointer_into_a_cached_mapping_is_not_ours);
  tcase_add_test(tc, test_the_cache_and_resident_memory_stay_bounded_in_a_loop);
  tcase_add_test(tc, test_a_mapping_larger_than_the_bound_is_unmapped);
  tcase_add_test(tc, test_the_oldest_mappings_go_when_a_new_one_would_pass_the_bound);
  tcase_add_test(tc, test_a_mapping_unused_for_a_second_is_given_back);
  tcase_add_test(tc, test_freeing_a_page_run_also_gives_back_a_mapping_unused_for_a_second);
  tcase_add_test(tc, test_realloc_keeps_a_huge_blocks_contents_as_it_grows_moves_and_shrinks);
  tcase_add_test(tc, test_threads_sharing_the_cache_keep_their_blocks_apart);
  tcase_add_test(tc, test_the_leak_scan_gives_the_cached_mappings_back_first);
  tcase_add_test(tc, test_a_huge_block_refused_a_mapping_empties_the_cache_and_gets_one);
  tcase_add_test(tc, test_a_new_segment_refused_a_mapping_empties_the_cache_and_gets_one);
  tcase_add_test(tc, test_with_nothing_cached_a_refused_mapping_is_enomem);
  suite_add_tcase(s, tc);
  TCase *checks = tcase_create("options"); /* each test starts memtype itself */
  tcase_add_test(checks, test_with_the_heap_checks_on_nothing_is_cached);
  tcase_add_test(checks, test_memtype_huge_cache_0_unmaps_each_freed_mapping);
  tcase_add_test(checks, test_memtype_huge_cache_sets_the_bound);
  suite_add_tcase(s, checks);
  return s;
}

MT_UNIT_MAIN(suite)
