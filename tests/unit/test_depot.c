/* test_depot.c - the stack depot (core/depot.h): a stack gets one id and
 * the same id every time, from any thread and in a fork child; the id gives
 * back the frames exactly; stacks that differ in one frame or in length get
 * different ids; a full depot says 0 and counts it, and what it holds stays
 * readable; a capture starts at the frame it is given, or is that frame
 * alone when the walk does not meet it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "depot.h"
#include "unit.h"

#define NOINLINE __attribute__((noinline))
#define KEEP __asm__ volatile("" ::: "memory")

/* A made-up stack: n frames derived from seed (never 0). */
static void make_stack(uintptr_t *pcs, unsigned n, unsigned seed) {
  for (unsigned i = 0; i < n; i++)
    pcs[i] = 0x400000 + (uintptr_t)seed * 4096 + i * 16 + 1;
}

START_TEST(test_a_stack_gets_one_id_and_gives_its_frames_back) {
  uintptr_t a[16], back[MT_DEPOT_MAX_FRAMES];
  make_stack(a, 16, 1);
  uint32_t id = mt_depot_put(a, 16);
  ck_assert_uint_ne(id, 0);
  ck_assert_uint_eq(mt_depot_put(a, 16), id);
  ck_assert_uint_eq(mt_depot_get(id, back, MT_DEPOT_MAX_FRAMES), 16);
  ck_assert_mem_eq(back, a, sizeof(a));
  ck_assert_uint_eq(mt_depot_get(id, back, 3), 3); /* at most max */
  ck_assert_uint_eq(mt_depot_count(), 1);
}
END_TEST

START_TEST(test_stacks_differing_in_one_frame_or_in_length_get_different_ids) {
  uintptr_t a[16], b[16];
  make_stack(a, 16, 2);
  make_stack(b, 16, 2);
  b[15]++;
  uint32_t ia = mt_depot_put(a, 16), ib = mt_depot_put(b, 16), ishort = mt_depot_put(a, 15);
  ck_assert_uint_ne(ia, ib);
  ck_assert_uint_ne(ia, ishort);
  ck_assert_uint_ne(ib, ishort);
  uintptr_t back[MT_DEPOT_MAX_FRAMES];
  ck_assert_uint_eq(mt_depot_get(ishort, back, MT_DEPOT_MAX_FRAMES), 15);
  ck_assert_uint_eq(mt_depot_count(), 3);
}
END_TEST

START_TEST(test_no_frames_and_unknown_ids_give_nothing) {
  uintptr_t a[80], back[MT_DEPOT_MAX_FRAMES];
  make_stack(a, 80, 3);
  ck_assert_uint_eq(mt_depot_put(a, 0), 0);
  ck_assert_uint_eq(mt_depot_get(0, back, MT_DEPOT_MAX_FRAMES), 0);
  ck_assert_uint_eq(mt_depot_get(12345678, back, MT_DEPOT_MAX_FRAMES), 0);
  uint32_t id = mt_depot_put(a, 80); /* capped at MT_DEPOT_MAX_FRAMES */
  ck_assert_uint_eq(mt_depot_get(id, back, MT_DEPOT_MAX_FRAMES), MT_DEPOT_MAX_FRAMES);
  ck_assert_mem_eq(back, a, sizeof(back));
}
END_TEST

#define NTHREADS 8
#define NSTACKS 2000
static uint32_t ids[NTHREADS][NSTACKS];

static void *put_all(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  uintptr_t a[12];
  for (unsigned k = 0; k < NSTACKS; k++) {
    unsigned s = (k * 7 + t * 131) % NSTACKS; /* each thread in its own order */
    make_stack(a, 12, 100 + s);
    ids[t][s] = mt_depot_put(a, 12);
  }
  return NULL;
}

START_TEST(test_threads_putting_the_same_stacks_agree_on_their_ids) {
  pthread_t th[NTHREADS];
  for (unsigned t = 0; t < NTHREADS; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, put_all, (void *)(uintptr_t)t), 0);
  for (unsigned t = 0; t < NTHREADS; t++)
    pthread_join(th[t], NULL);
  for (unsigned s = 0; s < NSTACKS; s++) {
    ck_assert_uint_ne(ids[0][s], 0);
    for (unsigned t = 1; t < NTHREADS; t++)
      ck_assert_msg(ids[t][s] == ids[0][s], "stack %u: thread %u has id %u, thread 0 %u", s, t,
                    ids[t][s], ids[0][s]);
    uintptr_t a[12], back[12];
    make_stack(a, 12, 100 + s);
    ck_assert_uint_eq(mt_depot_get(ids[0][s], back, 12), 12);
    ck_assert_mem_eq(back, a, sizeof(a));
  }
  ck_assert_uint_eq(mt_depot_count(), NSTACKS); /* one entry published per stack */
}
END_TEST

START_TEST(test_a_fork_child_reads_the_parents_ids_and_adds_its_own) {
  uintptr_t a[10], b[10], back[10];
  make_stack(a, 10, 5);
  make_stack(b, 10, 6);
  uint32_t ia = mt_depot_put(a, 10);
  pid_t pid = fork();
  if (pid == 0) {
    bool ok = mt_depot_get(ia, back, 10) == 10 && back[9] == a[9] && mt_depot_put(a, 10) == ia;
    uint32_t ib = mt_depot_put(b, 10);
    ok = ok && ib != 0 && ib != ia && mt_depot_get(ib, back, 10) == 10 && back[0] == b[0];
    _exit(ok ? 0 : 1);
  }
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(test_a_full_depot_says_0_counts_it_and_keeps_what_it_holds) {
  uintptr_t a[MT_DEPOT_MAX_FRAMES], back[MT_DEPOT_MAX_FRAMES];
  make_stack(a, MT_DEPOT_MAX_FRAMES, 7);
  uint32_t first = mt_depot_put(a, MT_DEPOT_MAX_FRAMES);
  ck_assert_uint_ne(first, 0);
  /* each entry takes at least its frames: this many cannot all fit */
  uint64_t most = MT_DEPOT_BYTES / (MT_DEPOT_MAX_FRAMES * sizeof(uintptr_t)) + 1;
  uint64_t refused = 0;
  for (uint64_t s = 0; s < most; s++) {
    make_stack(a, MT_DEPOT_MAX_FRAMES, (unsigned)(1000 + s));
    refused += mt_depot_put(a, MT_DEPOT_MAX_FRAMES) == 0;
  }
  ck_assert_uint_gt(refused, 0);
  ck_assert_uint_eq(mt_depot_drops(), refused);
  ck_assert_uint_le(mt_depot_bytes(), MT_DEPOT_BYTES);
  make_stack(a, MT_DEPOT_MAX_FRAMES, 7);
  ck_assert_uint_eq(mt_depot_put(a, MT_DEPOT_MAX_FRAMES), first); /* still found */
  ck_assert_uint_eq(mt_depot_get(first, back, MT_DEPOT_MAX_FRAMES), MT_DEPOT_MAX_FRAMES);
  ck_assert_mem_eq(back, a, sizeof(a));
}
END_TEST

static uint32_t captured_id;
static uintptr_t from_pc, outer_pc;

NOINLINE static void capture_here(void) {
  from_pc = (uintptr_t)__builtin_return_address(0); /* in middle() */
  captured_id = mt_depot_capture(from_pc);
  KEEP;
}

NOINLINE static void middle(void) {
  capture_here();
  outer_pc = (uintptr_t)__builtin_return_address(0); /* in outer() */
  KEEP;
}

NOINLINE static void outer(void) {
  middle();
  KEEP;
}

START_TEST(test_a_capture_starts_at_the_frame_it_is_given) {
  mt_init(); /* the options: MEMTYPE_STACK_DEPTH's default */
  outer();
  uintptr_t back[MT_DEPOT_MAX_FRAMES];
  unsigned n = mt_depot_get(captured_id, back, MT_DEPOT_MAX_FRAMES);
  ck_assert_uint_ge(n, 3);
  ck_assert_uint_le(n, 16);
  ck_assert_ptr_eq((void *)back[0], (void *)from_pc);
  ck_assert_ptr_eq((void *)back[1], (void *)outer_pc);
  /* a frame the walk does not meet: that frame alone */
  uint32_t id = mt_depot_capture(0x1234);
  ck_assert_uint_eq(mt_depot_get(id, back, MT_DEPOT_MAX_FRAMES), 1);
  ck_assert_uint_eq(back[0], 0x1234);
}
END_TEST

START_TEST(test_a_capture_keeps_at_most_memtype_stack_depth_frames) {
  setenv("MEMTYPE_STACK_DEPTH", "2", 1);
  mt_init();
  outer();
  uintptr_t back[MT_DEPOT_MAX_FRAMES];
  ck_assert_uint_eq(mt_depot_get(captured_id, back, MT_DEPOT_MAX_FRAMES), 2);
  ck_assert_ptr_eq((void *)back[1], (void *)outer_pc);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("depot");
  TCase *t = tcase_create("depot");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_a_stack_gets_one_id_and_gives_its_frames_back);
  tcase_add_test(t, test_stacks_differing_in_one_frame_or_in_length_get_different_ids);
  tcase_add_test(t, test_no_frames_and_unknown_ids_give_nothing);
  tcase_add_test(t, test_threads_putting_the_same_stacks_agree_on_their_ids);
  tcase_add_test(t, test_a_fork_child_reads_the_parents_ids_and_adds_its_own);
  tcase_add_test(t, test_a_full_depot_says_0_counts_it_and_keeps_what_it_holds);
  tcase_add_test(t, test_a_capture_starts_at_the_frame_it_is_given);
  tcase_add_test(t, test_a_capture_keeps_at_most_memtype_stack_depth_frames);
  suite_add_tcase(s, t);
  return s;
}

MT_UNIT_MAIN(suite)
