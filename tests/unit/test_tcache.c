/* test_tcache.c - thread caches (core/heap/tcache.h): a cache is filled from its
 * zone a batch at a time and handed out newest first; a full cache drains
 * its oldest batch back to the zone; a thread's exit drains it whole and
 * keeps its counters; the guard-sampling countdown sends exactly one
 * malloc in MEMTYPE_GUARD_RATE to the slow path; a debug feature closes
 * the fast paths without taking the cache away. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "memguard.h"
#include "options.h"
#include "site.h"
#include "tcache.h"
#include "zone.h"
#include "unit.h"

static void start(const char *var, const char *value) {
  if (var)
    setenv(var, value, 1);
  mt_init();
}

#define SIZE 48 /* one small class */

static mt_bin_t *bin_of(size_t n) { return &mt_tls_own->bins[mt_size_class(n)]; }

START_TEST(test_the_first_malloc_fills_the_cache_with_one_batch) {
  start(NULL, NULL);
  ck_assert_ptr_null(mt_tls_own); /* no cache before the first call */
  void *p = mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(mt_tls_own);
  ck_assert_ptr_eq(mt_tls_cache, mt_tls_own); /* fast paths open */
  mt_bin_t *b = bin_of(SIZE);
  ck_assert_uint_gt(b->batch, 1);
  ck_assert_uint_eq(b->n, b->batch - 1); /* a batch came, one went out */
  ck_assert_ptr_ne(b->items[b->n - 1], p);
  /* The next mallocs are the cached slots, newest first. */
  void *next = b->items[b->n - 1];
  ck_assert_ptr_eq(mt_malloc(SIZE, MT_FAM_MALLOC, 0), next);
  ck_assert_uint_eq(b->n, b->batch - 2);
}
END_TEST

START_TEST(test_an_empty_cache_is_filled_again_and_hands_out_distinct_slots) {
  start(NULL, NULL);
  mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  mt_bin_t *b = bin_of(SIZE);
  unsigned batch = b->batch, total = 3 * batch;
  void **got = calloc(total, sizeof(void *));
  got[0] = NULL;
  for (unsigned i = 0; i < total; i++) {
    got[i] = mt_malloc(SIZE, MT_FAM_MALLOC, 0);
    ck_assert_uint_lt(b->n, batch); /* never more than one batch from a refill */
  }
  size_t slot = mt_classes[mt_size_class(SIZE)].size;
  for (unsigned i = 0; i < total; i++) {
    ck_assert_uint_eq((uintptr_t)got[i] % 16, 0);
    ck_assert_uint_eq(mt_usable_size(got[i], 0), SIZE);
    for (unsigned j = 0; j < i; j++) /* distinct, and never overlapping */
      ck_assert_msg((uintptr_t)got[i] >= (uintptr_t)got[j] + slot ||
                    (uintptr_t)got[j] >= (uintptr_t)got[i] + slot, "%p and %p overlap",
                    got[i], got[j]);
  }
  free(got);
}
END_TEST

START_TEST(test_a_freed_block_is_the_next_one_handed_out) {
  start(NULL, NULL);
  void *p = mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  unsigned n = bin_of(SIZE)->n;
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_uint_eq(bin_of(SIZE)->n, n + 1);
  ck_assert_ptr_eq(mt_malloc(SIZE, MT_FAM_MALLOC, 0), p);
}
END_TEST

START_TEST(test_a_full_cache_drains_its_oldest_batch_to_the_zone) {
  start(NULL, NULL);
  void *first = mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  mt_bin_t *b = bin_of(SIZE);
  unsigned cap = b->cap, batch = b->batch;
  void **blocks = calloc(cap + 1, sizeof(void *));
  blocks[0] = first;
  for (unsigned i = 1; i <= cap; i++)
    blocks[i] = mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  while (b->n) /* empty the cache: only the blocks below are in play */
    mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  for (unsigned i = 0; i < cap; i++)
    mt_free(blocks[i], MT_FAM_MALLOC, 0);
  ck_assert_uint_eq(b->n, cap); /* full */
  ck_assert_ptr_eq(b->items[0], blocks[0]);
  mt_free(blocks[cap], MT_FAM_MALLOC, 0); /* one more: the oldest batch goes */
  ck_assert_uint_eq(b->n, cap - batch + 1);
  ck_assert_ptr_eq(b->items[0], blocks[batch]); /* the oldest left */
  ck_assert_ptr_eq(b->items[b->n - 1], blocks[cap]);
  ck_assert(mt_zone_is_valid(mt_size_class(SIZE)));
  free(blocks);
}
END_TEST

START_TEST(test_flush_and_refill_move_exactly_what_they_say) {
  start(NULL, NULL);
  mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  mt_tcache_t *tc = mt_tls_own;
  unsigned c = mt_size_class(SIZE);
  mt_bin_t *b = &tc->bins[c];
  unsigned n = b->n;
  ck_assert_uint_ge(n, 4);
  void *third = b->items[3], *newest = b->items[n - 1];
  mt_tcache_flush(tc, c, 3); /* the oldest three */
  ck_assert_uint_eq(b->n, n - 3);
  ck_assert_ptr_eq(b->items[0], third);
  ck_assert_ptr_eq(b->items[b->n - 1], newest);
  mt_tcache_flush(tc, c, b->n); /* all */
  ck_assert_uint_eq(b->n, 0);
  ck_assert(mt_tcache_refill(tc, c));
  ck_assert_uint_eq(b->n, b->batch);
  while (b->n < b->cap - 2) /* two places left: a refill takes two */
    ck_assert(mt_tcache_refill(tc, c));
  ck_assert_uint_eq(b->n, b->cap);
  ck_assert(mt_zone_is_valid(c));
}
END_TEST

static void *churn(void *arg) {
  (void)arg;
  void *keep[500];
  for (int i = 0; i < 500; i++)
    keep[i] = mt_malloc(SIZE, MT_FAM_MALLOC, 0x9100);
  for (int i = 0; i < 500; i++)
    mt_free(keep[i], MT_FAM_MALLOC, 0);
  return NULL;
}

static unsigned cached_in_new_thread[MT_NCLASSES];
static void *look(void *arg) {
  (void)arg;
  mt_free(mt_malloc(8, MT_FAM_MALLOC, 0), MT_FAM_MALLOC, 0); /* attach (a recycled cache) */
  for (unsigned c = 0; c < MT_NCLASSES; c++)
    cached_in_new_thread[c] = mt_tls_own->bins[c].n;
  return NULL;
}

START_TEST(test_a_thread_exit_drains_its_cache_and_keeps_its_counters) {
  start(NULL, NULL);
  mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  unsigned registered = mt_tcache_registered();
  pthread_t th;
  pthread_create(&th, NULL, churn, NULL);
  pthread_join(th, NULL);
  ck_assert_uint_eq(mt_tcache_registered(), registered);
  unsigned n = mt_site_count();
  mt_typestat_t *all = calloc(n, sizeof(*all));
  mt_tcache_sum_types(all, n);
  unsigned t = mt_site_intern(0x9100);
  ck_assert_uint_eq(all[t].allocs, 500);
  ck_assert_uint_eq(all[t].frees, 500);
  free(all);
  ck_assert(mt_zone_is_valid(mt_size_class(SIZE)));
  /* The next thread gets the cache back, empty but for its own first batch. */
  pthread_create(&th, NULL, look, NULL);
  pthread_join(th, NULL);
  for (unsigned c = 0; c < MT_NCLASSES; c++)
    if (c != mt_size_class(8))
      ck_assert_msg(cached_in_new_thread[c] == 0, "class %u holds %u slots", c,
                    cached_in_new_thread[c]);
}
END_TEST

START_TEST(test_the_countdown_sends_one_malloc_in_n_to_memguard) {
  setenv("MEMTYPE_GUARD_COST", "100", 1); /* no block refused on a loaded machine */
  start("MEMTYPE_GUARD_RATE", "7");
  ck_assert(mt_guard_sampling_only);
  mt_malloc(SIZE, MT_FAM_MALLOC, 0); /* attach */
  ck_assert_ptr_eq(mt_tls_cache, mt_tls_own); /* sampling keeps the fast paths */
  uint32_t left = mt_tls_own->sample_left;
  ck_assert_uint_ge(left, 1);
  ck_assert_uint_le(left, 7);
  for (uint32_t i = 1; i < left; i++) {
    void *p = mt_malloc(SIZE, MT_FAM_MALLOC, 0);
    ck_assert_ptr_null(mt_guard_lookup((uintptr_t)p));
    ck_assert_uint_eq(mt_tls_own->sample_left, left - i); /* one per fast malloc */
  }
  void *g = mt_malloc(SIZE, MT_FAM_MALLOC, 0); /* the count reaches 0: the slow path */
  ck_assert_ptr_nonnull(mt_guard_lookup((uintptr_t)g));
  ck_assert_uint_eq(mt_tls_own->sample_left, 7); /* and again */
  for (int i = 0; i < 6; i++)
    ck_assert_ptr_null(mt_guard_lookup((uintptr_t)mt_malloc(SIZE, MT_FAM_MALLOC, 0)));
  ck_assert_ptr_nonnull(mt_guard_lookup((uintptr_t)mt_malloc(SIZE, MT_FAM_MALLOC, 0)));
}
END_TEST

START_TEST(test_without_sampling_the_countdown_does_not_stop_the_fast_path) {
  start(NULL, NULL);
  mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  ck_assert_uint_ge(mt_tls_own->sample_left, UINT32_MAX - 1);
}
END_TEST

START_TEST(test_a_debug_feature_closes_the_fast_paths_but_keeps_the_cache) {
  start("MEMTYPE_TRASH", "1");
  ck_assert(mt_debug_gate);
  void *p = mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(mt_tls_own);
  ck_assert_ptr_null(mt_tls_cache);
  ck_assert_uint_gt(bin_of(SIZE)->n, 0); /* the slow path still uses the cache */
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_the_site_cache_gives_the_type_of_the_site_table) {
  start(NULL, NULL);
  mt_malloc(SIZE, MT_FAM_MALLOC, 0);
  for (uintptr_t pc = 0x9200; pc < 0x9200 + 64 * 16; pc += 16) /* more sites than entries */
    ck_assert_uint_eq(mt_tcache_site(mt_tls_own, pc), mt_site_intern(pc));
  for (uintptr_t pc = 0x9200; pc < 0x9200 + 64 * 16; pc += 16)
    ck_assert_uint_eq(mt_tcache_site(mt_tls_own, pc), mt_site_intern(pc));
}
END_TEST

/* The exact peak against a random walk of one thread over 4 types (sites):
 * climbs, dips and climbs again, sizes 1-600 bytes (the fast path) and some
 * 9-40 KiB blocks (the slow path). Expected: the heap's peak of requested
 * bytes, each type's bytes and blocks at that moment (the first time it was
 * reached) and each type's own high-water mark, all exact. */
#define WALK_TYPES 4
#define WALK_LIVE 2048
static void *walk_p[WALK_LIVE];
static size_t walk_n[WALK_LIVE];
static unsigned walk_k[WALK_LIVE];

static void peak_walk(uint64_t seed, unsigned steps, unsigned grow_pct, unsigned steps2,
                      unsigned grow_pct2) {
  start(NULL, NULL);
  mt_free(mt_malloc(8, MT_FAM_MALLOC, 0), MT_FAM_MALLOC, 0); /* attach */
  uintptr_t pcs[WALK_TYPES] = {0x9400, 0x9410, 0x9420, 0x9430};
  unsigned types[WALK_TYPES];
  for (unsigned k = 0; k < WALK_TYPES; k++)
    types[k] = mt_site_intern(pcs[k]);
  mt_peak_t before;
  mt_tcache_peak_get(&before);
  int64_t base = (int64_t)before.bytes; /* what the attach's block left as the peak */
  int64_t live = 0, peak = base, bytes[WALK_TYPES] = {0}, blocks[WALK_TYPES] = {0};
  int64_t at_bytes[WALK_TYPES] = {0}, at_blocks[WALK_TYPES] = {0}, high[WALK_TYPES] = {0};
  unsigned nlive = 0;
  uint64_t x = seed;
  for (unsigned i = 0; i < steps + steps2; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    unsigned r = (unsigned)(x >> 33), pct = i < steps ? grow_pct : grow_pct2;
    bool grow = nlive == 0 || (nlive < WALK_LIVE && r % 100 < pct);
    if (grow) {
      unsigned k = (r >> 8) % WALK_TYPES;
      size_t n = (r >> 12) % 50 == 0 ? 9000 + (r >> 4) % 31000 : 1 + (r >> 12) % 600;
      walk_p[nlive] = mt_malloc(n, MT_FAM_MALLOC, pcs[k]);
      ck_assert_ptr_nonnull(walk_p[nlive]);
      walk_n[nlive] = n;
      walk_k[nlive++] = k;
      live += (int64_t)n;
      bytes[k] += (int64_t)n;
      blocks[k]++;
      if (bytes[k] > high[k])
        high[k] = bytes[k];
      if (live > peak) {
        peak = live;
        memcpy(at_bytes, bytes, sizeof(bytes));
        memcpy(at_blocks, blocks, sizeof(blocks));
      }
    } else {
      unsigned j = (r >> 8) % nlive, k = walk_k[j];
      mt_free(walk_p[j], MT_FAM_MALLOC, 0);
      live -= (int64_t)walk_n[j];
      bytes[k] -= (int64_t)walk_n[j];
      blocks[k]--;
      walk_p[j] = walk_p[--nlive];
      walk_n[j] = walk_n[nlive];
      walk_k[j] = walk_k[nlive];
    }
  }
  mt_peak_t pk;
  mt_tcache_peak_get(&pk);
  ck_assert_int_eq((int64_t)pk.bytes, peak);
  mt_typestat_t *const *slots[8];
  unsigned nslots = mt_tcache_slots(slots, 8);
  ck_assert_uint_le(nslots, 8);
  for (unsigned k = 0; k < WALK_TYPES; k++) {
    int64_t b = 0, n = 0;
    for (unsigned s = 0; s < nslots; s++) {
      mt_typestat_t *chunk = slots[s][types[k] / MT_STAT_CHUNK];
      if (chunk)
        mt_typestat_at_peak(&chunk[types[k] % MT_STAT_CHUNK], pk.epoch, &b, &n);
    }
    ck_assert_msg(b == at_bytes[k] && n == at_blocks[k],
                  "type %u at the peak: %lld bytes %lld blocks, expected %lld %lld", k,
                  (long long)b, (long long)n, (long long)at_bytes[k], (long long)at_blocks[k]);
    ck_assert_uint_eq(mt_tcache_high(types[k]), (uint64_t)high[k]);
  }
}

START_TEST(test_the_peak_and_each_type_at_it_are_exact_while_the_heap_climbs) {
  peak_walk(1, 20000, 70, 0, 0); /* mostly climbing */
}
END_TEST

START_TEST(test_the_peak_and_each_type_at_it_are_exact_when_the_heap_churns) {
  peak_walk(2, 40000, 51, 0, 0); /* up and down around the top */
}
END_TEST

START_TEST(test_the_peak_and_each_type_at_it_are_exact_after_a_late_climb) {
  peak_walk(3, 1500, 90, 30000, 45); /* a steep climb, then mostly down */
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("tcache");
  TCase *tc = tcase_create("caches");
  tcase_add_test(tc, test_the_first_malloc_fills_the_cache_with_one_batch);
  tcase_add_test(tc, test_an_empty_cache_is_filled_again_and_hands_out_distinct_slots);
  tcase_add_test(tc, test_a_freed_block_is_the_next_one_handed_out);
  tcase_add_test(tc, test_a_full_cache_drains_its_oldest_batch_to_the_zone);
  tcase_add_test(tc, test_flush_and_refill_move_exactly_what_they_say);
  tcase_add_test(tc, test_a_thread_exit_drains_its_cache_and_keeps_its_counters);
  tcase_add_test(tc, test_the_countdown_sends_one_malloc_in_n_to_memguard);
  tcase_add_test(tc, test_without_sampling_the_countdown_does_not_stop_the_fast_path);
  tcase_add_test(tc, test_a_debug_feature_closes_the_fast_paths_but_keeps_the_cache);
  tcase_add_test(tc, test_the_site_cache_gives_the_type_of_the_site_table);
  tcase_add_test(tc, test_the_peak_and_each_type_at_it_are_exact_while_the_heap_climbs);
  tcase_add_test(tc, test_the_peak_and_each_type_at_it_are_exact_when_the_heap_churns);
  tcase_add_test(tc, test_the_peak_and_each_type_at_it_are_exact_after_a_late_climb);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
