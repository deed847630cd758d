/* test_alloc.c - the core API: glibc semantics of every entry point, thread
 * caches across threads, bad pointers going to the reporter. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "options.h"
#include "page.h"
#include "report.h"
#include "tcache.h"
#include "zone.h"
#include "unit.h"


static void setup(void) {
  mt_init();
  mt_opt.on_error = MT_ACTION_CONTINUE;
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

START_TEST(test_calloc_overflow_returns_null_with_enomem) {
  errno = 0;
  ck_assert_ptr_null(mt_calloc(SIZE_MAX / 2, 3, 0));
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(mt_reallocarray(NULL, SIZE_MAX / 4, 8, 0));
  ck_assert_int_eq(errno, ENOMEM);
  errno = 0;
  ck_assert_ptr_null(mt_malloc(SIZE_MAX, MT_FAM_MALLOC, 0));
  ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(test_calloc_zeroes_reused_blocks_of_every_regime) {
  size_t sizes[] = {24, 4000, 100000, 3u << 20};
  for (size_t i = 0; i < 4; i++) {
    char *p = mt_malloc(sizes[i], MT_FAM_MALLOC, 0);
    memset(p, 0xff, sizes[i]);
    mt_free(p, MT_FAM_MALLOC, 0);
    char *q = mt_calloc(1, sizes[i], 0);
    for (size_t j = 0; j < sizes[i]; j++)
      if (q[j])
        ck_abort_msg("calloc(%zu) byte %zu is %d", sizes[i], j, q[j]);
    mt_free(q, MT_FAM_MALLOC, 0);
  }
}
END_TEST

START_TEST(test_realloc_keeps_contents_across_regimes) {
  size_t sizes[] = {1, 17, 300, 5000, 16384, 16385, 70000, 1u << 20, (1u << 20) + 1, 5u << 20, 40, 3};
  unsigned char *p = mt_malloc(sizes[0], MT_FAM_MALLOC, 0);
  p[0] = 0;
  size_t have = 1;
  for (size_t i = 1; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    size_t n = sizes[i];
    p = mt_realloc(p, n, 0);
    ck_assert_ptr_nonnull(p);
    size_t keep = have < n ? have : n;
    for (size_t j = 0; j < keep; j++)
      if (p[j] != (unsigned char)(j * 7))
        ck_abort_msg("realloc to %zu lost byte %zu", n, j);
    for (size_t j = 0; j < n; j++)
      p[j] = (unsigned char)(j * 7);
    have = n;
    ck_assert_uint_ge(mt_usable_size(p, 0), n);
  }
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_realloc_zero_frees_and_null_mallocs) {
  void *p = mt_realloc(NULL, 10, 0);
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_null(mt_realloc(p, 0, 0));
  ck_assert_uint_eq(mt_usable_size(p, 0), 0); /* freed */
}
END_TEST

START_TEST(test_malloc_zero_is_unique) {
  void *a = mt_malloc(0, MT_FAM_MALLOC, 0), *b = mt_malloc(0, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_ne(a, b);
  mt_free(a, MT_FAM_MALLOC, 0);
  mt_free(b, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_alignment_of_every_entry_point) {
  for (size_t n = 1; n < 5000; n += 13) {
    void *p = mt_malloc(n, MT_FAM_MALLOC, 0);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    mt_free(p, MT_FAM_MALLOC, 0);
  }
  for (size_t a = 32; a <= (4u << 20); a <<= 1) {
    size_t ns[] = {1, a / 2 + 1, 3 * a, 100000};
    for (int i = 0; i < 4; i++) {
      void *p = mt_memalign(a, ns[i], MT_FAM_MALLOC, 0);
      ck_assert_ptr_nonnull(p);
      ck_assert_msg((uintptr_t)p % a == 0, "memalign(%zu, %zu) = %p", a, ns[i], p);
      ck_assert_uint_ge(mt_usable_size(p, 0), ns[i]);
      memset(p, 1, ns[i]);
      mt_free(p, MT_FAM_MALLOC, 0);
    }
  }
  void *p = (void *)1;
  ck_assert_int_eq(mt_posix_memalign(&p, 24, 10, 0), EINVAL);
  ck_assert_int_eq(mt_posix_memalign(&p, 4, 10, 0), EINVAL);
  ck_assert_ptr_eq(p, (void *)1);
  errno = 777;
  ck_assert_int_eq(mt_posix_memalign(&p, 64, 10, 0), 0);
  ck_assert_int_eq(errno, 777);
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_errno_untouched_on_success) {
  errno = 4242;
  void *p = mt_malloc(100, MT_FAM_MALLOC, 0);
  p = mt_realloc(p, 100000, 0);
  void *q = mt_calloc(10, 10, 0);
  void *h = mt_malloc(8u << 20, MT_FAM_MALLOC, 0);
  h = mt_realloc(h, 16u << 20, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_free(q, MT_FAM_MALLOC, 0);
  mt_free(h, MT_FAM_MALLOC, 0);
  mt_free(NULL, MT_FAM_MALLOC, 0);
  ck_assert_int_eq(errno, 4242);
}
END_TEST

START_TEST(test_double_free_is_reported_once_and_kept_out) {
  char *p = mt_malloc(64, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "memtype: ERROR: double-free at "));
  ck_assert_ptr_nonnull(strstr(captured, "0 bytes into a 64-byte block"));
  ck_assert_ptr_nonnull(strstr(captured, "memtype will now continue"));
  /* the slot was not pushed twice: two mallocs give two different blocks */
  void *a = mt_malloc(64, MT_FAM_MALLOC, 0), *b = mt_malloc(64, MT_FAM_MALLOC, 0);
  ck_assert_ptr_ne(a, b);
}
END_TEST

START_TEST(test_interior_pointer_free_is_reported) {
  char *p = mt_malloc(100, MT_FAM_MALLOC, 0);
  mt_free(p + 8, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "memtype: ERROR: invalid-free at "));
  ck_assert_ptr_nonnull(strstr(captured, "8 bytes into a 100-byte block"));
  ck_assert_uint_eq(mt_usable_size(p, 0), 112); /* still live */
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_foreign_free_is_reported) {
  static char buf[64];
  mt_free(buf, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "memtype: ERROR: invalid-free at "));
  ck_assert_ptr_nonnull(strstr(captured, "not returned by malloc"));
}
END_TEST

START_TEST(test_realloc_of_freed_is_reported) {
  char *p = mt_malloc(2000, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_ptr_null(mt_realloc(p, 3000, 0));
  ck_assert_ptr_nonnull(strstr(captured, "memtype: ERROR: realloc-of-freed at "));
}
END_TEST

START_TEST(test_freed_medium_block_double_free_is_reported) {
  char *p = mt_malloc(300000, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "memtype: ERROR: double-free at "));
}
END_TEST

/* ---- threads ------------------------------------------------------------- */

#define NT 8
#define PER 20000
static void *handoff[NT][PER];

static void *producer(void *arg) {
  long t = (long)arg;
  for (int i = 0; i < PER; i++) {
    size_t n = 8 + (size_t)((i * 131 + t * 17) % 3000);
    unsigned char *p = mt_malloc(n, MT_FAM_MALLOC, 0);
    memset(p, (int)(t + i), n);
    handoff[t][i] = p;
  }
  return NULL;
}

static void *consumer(void *arg) {
  long t = (long)arg;
  long from = (t + 1) % NT;
  for (int i = 0; i < PER; i++) {
    unsigned char *p = handoff[from][i];
    if (p[0] != (unsigned char)(from + i))
      return (void *)1;
    mt_free(p, MT_FAM_MALLOC, 0);
  }
  return NULL;
}

START_TEST(test_cross_thread_frees_keep_counts_exact) {
  mt_tstats_t before, after;
  mt_tcache_sum_stats(&before, NULL);
  pthread_t th[NT];
  for (long t = 0; t < NT; t++)
    pthread_create(&th[t], NULL, producer, (void *)t);
  for (int t = 0; t < NT; t++)
    pthread_join(th[t], NULL);
  for (long t = 0; t < NT; t++)
    pthread_create(&th[t], NULL, consumer, (void *)t);
  for (int t = 0; t < NT; t++) {
    void *r;
    pthread_join(th[t], &r);
    ck_assert_ptr_null(r);
  }
  mt_tcache_sum_stats(&after, NULL);
  ck_assert_uint_eq(after.allocs - before.allocs, NT * PER);
  ck_assert_uint_eq(after.frees - before.frees, NT * PER);
  ck_assert_uint_eq(after.bytes_alloc - before.bytes_alloc, after.bytes_freed - before.bytes_freed);
  for (unsigned c = 0; c < MT_NCLASSES; c++)
    ck_assert(mt_zone_is_valid(c));
  ck_assert(mt_page_is_valid());
}
END_TEST

/* ---- thread exit and fork ------------------------------------------------ */

static unsigned zone_free_slots(unsigned c) {
  unsigned n = 0;
  for (unsigned k = 0; k < MT_ZONE_SHARDS; k++) {
    mt_zone_t *z = &mt_zones[k][c];
    mt_lock(&z->lock);
    for (mt_slab_t *s = z->partial; s; s = s->next)
      n += s->nfree;
    mt_unlock(&z->lock);
  }
  return n;
}

static void *alloc_then_free_40(void *arg) {
  (void)arg;
  void *p[40];
  for (int i = 0; i < 40; i++)
    p[i] = mt_malloc(200, MT_FAM_MALLOC, 0);
  for (int i = 0; i < 40; i++)
    mt_free(p[i], MT_FAM_MALLOC, 0);
  return NULL;
}

START_TEST(test_thread_exit_returns_its_cached_slots) {
  unsigned c = mt_size_class(200);
  unsigned regs = mt_tcache_registered();
  pthread_t t;
  pthread_create(&t, NULL, alloc_then_free_40, NULL);
  pthread_join(t, NULL);
  ck_assert_uint_eq(mt_tcache_registered(), regs);
  /* every slot the thread took is back: the zone holds only whole slabs'
   * worth of free slots minus what this (main) thread still caches */
  unsigned free_slots = zone_free_slots(c);
  ck_assert_uint_eq(free_slots % mt_classes[c].nslots, 0);
  ck_assert(mt_zone_is_valid(c));
}
END_TEST

static pthread_barrier_t bar;
static void *cache_and_wait(void *arg) {
  (void)arg;
  alloc_then_free_40(NULL);
  pthread_barrier_wait(&bar); /* cache populated */
  pthread_barrier_wait(&bar); /* parent forked */
  return NULL;
}

START_TEST(test_fork_child_flushes_caches_of_threads_that_did_not_survive) {
  mt_malloc(1, MT_FAM_MALLOC, 0); /* this thread has a cache */
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, cache_and_wait, NULL);
  pthread_barrier_wait(&bar);
  ck_assert_uint_ge(mt_tcache_registered(), 2);
  mt_fork_prepare();
  pid_t pid = fork();
  if (pid == 0) {
    mt_fork_child();
    mt_tstats_t zero;
    mt_tcache_sum_stats(&zero, NULL);
    int ok = mt_tcache_registered() == 1 && mt_zone_is_valid(mt_size_class(200)) &&
             zero.allocs == 0 && zero.frees == 0; /* figures restart at the fork */
    void *p = mt_malloc(200, MT_FAM_MALLOC, 0); /* the child's heap works */
    mt_free(p, MT_FAM_MALLOC, 0);
    _exit(ok ? 0 : 1);
  }
  mt_fork_parent();
  int status;
  waitpid(pid, &status, 0);
  pthread_barrier_wait(&bar);
  pthread_join(t, NULL);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("alloc");
  TCase *tc = tcase_create("semantics");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_calloc_overflow_returns_null_with_enomem);
  tcase_add_test(tc, test_calloc_zeroes_reused_blocks_of_every_regime);
  tcase_add_test(tc, test_realloc_keeps_contents_across_regimes);
  tcase_add_test(tc, test_realloc_zero_frees_and_null_mallocs);
  tcase_add_test(tc, test_malloc_zero_is_unique);
  tcase_add_test(tc, test_alignment_of_every_entry_point);
  tcase_add_test(tc, test_errno_untouched_on_success);
  suite_add_tcase(s, tc);
  TCase *bad = tcase_create("bad_pointers");
  tcase_add_checked_fixture(bad, setup, NULL);
  tcase_add_test(bad, test_double_free_is_reported_once_and_kept_out);
  tcase_add_test(bad, test_interior_pointer_free_is_reported);
  tcase_add_test(bad, test_foreign_free_is_reported);
  tcase_add_test(bad, test_realloc_of_freed_is_reported);
  tcase_add_test(bad, test_freed_medium_block_double_free_is_reported);
  suite_add_tcase(s, bad);
  TCase *th = tcase_create("threads");
  tcase_add_checked_fixture(th, setup, NULL);
  tcase_add_test(th, test_cross_thread_frees_keep_counts_exact);
  tcase_add_test(th, test_thread_exit_returns_its_cached_slots);
  tcase_add_test(th, test_fork_child_flushes_caches_of_threads_that_did_not_survive);
  tcase_set_timeout(th, 60);
  suite_add_tcase(s, th);
  return s;
}

MT_UNIT_MAIN(suite)
