/* test_heapcheck.c - trash, redzones and the quarantine (core/debug/heapcheck.h),
 * through the allocator as a program meets them and through the checks' own
 * API: a write after free or past a block's end is reported with its
 * offset, an untouched block is not (near misses included), and the
 * quarantine gives blocks back oldest first once it holds more than its
 * budget. Each test configures memtype through its own environment
 * (MEMTYPE_*), before the first mt_init() of its forked process. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "heapcheck.h"
#include "options.h"
#include "report.h"
#include "unit.h"

/* Sets MEMTYPE_<name>=<value> pairs (NULL-terminated), then starts memtype. */
static void init_with(const char *const *vars) {
  for (; vars && vars[0]; vars += 2)
    setenv(vars[0], vars[1], 1);
  setenv("MEMTYPE_ON_ERROR", "continue", 1);
  mt_init();
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

START_TEST(test_a_freed_block_is_filled_with_the_trash_pattern) {
  init_with((const char *const[]){"MEMTYPE_TRASH", "1", NULL});
  unsigned char *p = mt_malloc(64, MT_FAM_MALLOC, 0x4100);
  memset(p, 0x11, 64);
  mt_free(p, MT_FAM_MALLOC, 0x4101);
  static const unsigned char word[4] = {0xde, 0xc0, 0xad, 0xde};
  for (size_t i = 0; i < 64; i++)
    ck_assert_msg(p[i] == word[i & 3], "byte %zu of the freed block is %#x", i, p[i]);
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_a_write_after_free_is_reported_with_its_offset_when_the_slot_comes_back) {
  init_with((const char *const[]){"MEMTYPE_TRASH", "1", "MEMTYPE_QUARANTINE", "0", NULL});
  unsigned char *p = mt_malloc(64, MT_FAM_MALLOC, 0x4200);
  mt_free(p, MT_FAM_MALLOC, 0x4201);
  p[40] = 0x55; /* the bug */
  unsigned char *q = mt_malloc(64, MT_FAM_MALLOC, 0x4202);
  ck_assert_ptr_eq(q, p); /* no quarantine: the same slot, verified as it goes out */
  ck_assert_msg(strstr(captured, "memtype: ERROR: write-after-free WRITE at ") != NULL, "%s",
                captured);
  ck_assert_ptr_nonnull(strstr(captured, "a 64-byte block of type 0x4200)"));
  ck_assert_ptr_nonnull(strstr(captured, "block freed at:\n    #0 0x4201\n"));
  ck_assert_ptr_nonnull(strstr(captured, "1 byte changed, from offset 40 to 40"));
  ck_assert_ptr_nonnull(strstr(captured, "40 bytes into a 64-byte block"));
}
END_TEST

START_TEST(test_a_freed_block_left_alone_is_handed_out_again_without_a_report) {
  init_with((const char *const[]){"MEMTYPE_TRASH", "1", "MEMTYPE_QUARANTINE", "0", NULL});
  for (int i = 0; i < 1000; i++) {
    unsigned char *p = mt_malloc(64, MT_FAM_MALLOC, 0x4300);
    memset(p, 0x77, 64); /* every byte of the block, and none past it */
    mt_free(p, MT_FAM_MALLOC, 0x4301);
  }
  ck_assert_str_eq(captured, "");
  ck_assert_uint_eq(mt_error_count(), 0);
}
END_TEST

START_TEST(test_a_write_one_past_the_end_is_a_heap_buffer_overflow_on_free) {
  init_with((const char *const[]){"MEMTYPE_REDZONE", "1", NULL});
  char *p = mt_malloc(20, MT_FAM_MALLOC, 0x4400);
  p[20] = 'x'; /* the bug: one byte past the 20 asked for */
  mt_free(p, MT_FAM_MALLOC, 0x4401);
  ck_assert_msg(strstr(captured, "memtype: ERROR: heap-buffer-overflow WRITE at ") != NULL, "%s",
                captured);
  ck_assert_ptr_nonnull(strstr(captured, "0 bytes after a 20-byte block"));
  ck_assert_ptr_nonnull(strstr(captured, "from offset 20 to 20"));
}
END_TEST

START_TEST(test_writing_every_byte_asked_for_is_not_an_overflow) {
  init_with((const char *const[]){"MEMTYPE_REDZONE", "1", NULL});
  size_t sizes[] = {1, 15, 16, 17, 20, 48, 4096, 8191, 8192, 20000, 2u << 20};
  for (size_t i = 0; i < MT_ARRAY_LEN(sizes); i++) {
    char *p = mt_malloc(sizes[i], MT_FAM_MALLOC, 0x4500);
    memset(p, 'y', sizes[i]);
    mt_free(p, MT_FAM_MALLOC, 0x4501);
  }
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_an_overflow_of_a_page_run_and_a_huge_block_is_found) {
  init_with((const char *const[]){"MEMTYPE_REDZONE", "1", NULL});
  char *medium = mt_malloc(20000, MT_FAM_MALLOC, 0x4600);
  char *huge = mt_malloc(3u << 20, MT_FAM_MALLOC, 0x4601);
  medium[20003] = 1;
  huge[(3u << 20) + 5] = 1;
  mt_free(medium, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "3 bytes after a 20000-byte block"));
  unit_capture_reset();
  mt_free(huge, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "5 bytes after a 3145728-byte block"));
}
END_TEST

START_TEST(test_the_whole_heap_check_counts_each_corrupt_live_block) {
  init_with((const char *const[]){"MEMTYPE_REDZONE", "1", NULL});
  char *a = mt_malloc(100, MT_FAM_MALLOC, 0x4700), *b = mt_malloc(200, MT_FAM_MALLOC, 0x4701);
  ck_assert_uint_eq(mt_check_heap(), 0);
  a[101] = 0;
  ck_assert_uint_eq(mt_check_heap(), 1);
  ck_assert_ptr_nonnull(strstr(captured, "1 bytes after a 100-byte block"));
  (void)b;
}
END_TEST

START_TEST(test_the_quarantine_keeps_a_freed_block_from_the_next_allocations) {
  init_with((const char *const[]){"MEMTYPE_TRASH", "1", "MEMTYPE_QUARANTINE", "1M", NULL});
  void *p = mt_malloc(64, MT_FAM_MALLOC, 0x4800);
  mt_free(p, MT_FAM_MALLOC, 0x4801);
  for (int i = 0; i < 1000; i++) /* 64 KiB of new blocks: within the 1 MiB held back */
    ck_assert_ptr_ne(mt_malloc(64, MT_FAM_MALLOC, 0x4802), p);
}
END_TEST

/* ---- the quarantine's own API, with a release function of the test's ---- */

static void *released[256];
static unsigned nreleased;
static void *hints[256];
static void note_release(void *p, void *hint) {
  hints[nreleased] = hint;
  released[nreleased++] = p;
}

START_TEST(test_the_quarantine_gives_back_the_oldest_blocks_once_over_its_budget) {
  init_with((const char *const[]){"MEMTYPE_TRASH", "1", "MEMTYPE_QUARANTINE", "8192", NULL});
  mt_check_init(note_release);
  static char blocks[64][16];
  /* A thread's batch joins the FIFO once it holds over 1/8 of the budget
   * (1024 bytes): with 600-byte blocks, every second block closes a batch
   * of 1200 bytes. Six batches (7200 bytes) are within the budget. */
  for (unsigned i = 0; i < 12; i++)
    mt_check_quarantine(blocks[i], &blocks[i], 600);
  ck_assert_uint_eq(nreleased, 0);
  mt_check_quarantine(blocks[12], &blocks[12], 600);
  mt_check_quarantine(blocks[13], &blocks[13], 600);
  ck_assert_uint_eq(nreleased, 2); /* 8400 bytes: the oldest batch goes, oldest first */
  ck_assert_ptr_eq(released[0], blocks[0]);
  ck_assert_ptr_eq(released[1], blocks[1]);
  ck_assert_ptr_eq(hints[0], &blocks[0]); /* each block's hint comes back with it */
  ck_assert_ptr_eq(hints[1], &blocks[1]);
  mt_check_quarantine(blocks[14], &blocks[14], 600);
  ck_assert_uint_eq(nreleased, 2); /* an open batch is not in the FIFO yet */
  mt_check_quarantine(blocks[15], &blocks[15], 600);
  ck_assert_uint_eq(nreleased, 4);
  ck_assert_ptr_eq(released[2], blocks[2]);
  ck_assert_ptr_eq(released[3], blocks[3]);
}
END_TEST

START_TEST(test_without_a_quarantine_a_block_is_given_back_at_once) {
  init_with((const char *const[]){"MEMTYPE_TRASH", "1", "MEMTYPE_QUARANTINE", "0", NULL});
  mt_check_init(note_release);
  static char block[64];
  mt_check_quarantine(block, &block, 64);
  ck_assert_uint_eq(nreleased, 1);
  ck_assert_ptr_eq(released[0], block);
  ck_assert_ptr_eq(hints[0], &block);
}
END_TEST

START_TEST(test_intact_tells_a_changed_pattern_for_each_state) {
  init_with((const char *const[]){"MEMTYPE_TRASH", "1", "MEMTYPE_REDZONE", "1", NULL});
  static char live[128] __attribute__((aligned(16))), freed[128] __attribute__((aligned(16)));
  mt_meta_t meta = {.word = mt_meta_pack(40, 0, MT_STATE_LIVE, MT_FAM_MALLOC)};
  uintptr_t free_pc = 0;
  /* A live block: 40 bytes, its redzone the 88 after them. */
  mt_blk_t b = {(uintptr_t)live, 40, sizeof(live), &meta, &free_pc, NULL, NULL, 0};
  mt_check_lay_redzone(&b);
  ck_assert(mt_check_intact(&b, MT_STATE_LIVE));
  live[39] = 1; /* the block's own last byte: fine */
  ck_assert(mt_check_intact(&b, MT_STATE_LIVE));
  ck_assert(mt_check_redzone_ok(&b));
  live[127] = 1; /* the redzone's last byte */
  ck_assert(!mt_check_intact(&b, MT_STATE_LIVE));
  ck_assert_str_eq(captured, ""); /* intact() never reports */
  ck_assert(!mt_check_redzone_ok(&b));
  ck_assert_ptr_nonnull(strstr(captured, "heap-buffer-overflow"));
  ck_assert_ptr_nonnull(strstr(captured, "from offset 127 to 127"));
  /* A freed block: trashed whole, the free site kept. */
  unit_capture_reset();
  mt_blk_t f = {(uintptr_t)freed, 40, sizeof(freed), &meta, &free_pc, NULL, NULL, 0};
  mt_check_lay_redzone(&f);
  mt_check_free(&f, 0x4900);
  ck_assert_str_eq(captured, "");
  ck_assert_uint_eq(free_pc, 0x4900);
  ck_assert(mt_check_intact(&f, MT_STATE_QUARANTINE));
  ck_assert(mt_check_trash_ok(&f));
  freed[100] = 0;
  ck_assert(!mt_check_intact(&f, MT_STATE_QUARANTINE));
  ck_assert(!mt_check_trash_ok(&f));
  ck_assert_ptr_nonnull(strstr(captured, "write-after-free"));
  ck_assert_ptr_nonnull(strstr(captured, "from offset 100 to 100"));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("heapcheck");
  TCase *tc = tcase_create("trash_redzone_quarantine");
  tcase_add_test(tc, test_a_freed_block_is_filled_with_the_trash_pattern);
  tcase_add_test(tc, test_a_write_after_free_is_reported_with_its_offset_when_the_slot_comes_back);
  tcase_add_test(tc, test_a_freed_block_left_alone_is_handed_out_again_without_a_report);
  tcase_add_test(tc, test_a_write_one_past_the_end_is_a_heap_buffer_overflow_on_free);
  tcase_add_test(tc, test_writing_every_byte_asked_for_is_not_an_overflow);
  tcase_add_test(tc, test_an_overflow_of_a_page_run_and_a_huge_block_is_found);
  tcase_add_test(tc, test_the_whole_heap_check_counts_each_corrupt_live_block);
  tcase_add_test(tc, test_the_quarantine_keeps_a_freed_block_from_the_next_allocations);
  tcase_add_test(tc, test_the_quarantine_gives_back_the_oldest_blocks_once_over_its_budget);
  tcase_add_test(tc, test_without_a_quarantine_a_block_is_given_back_at_once);
  tcase_add_test(tc, test_intact_tells_a_changed_pattern_for_each_state);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
