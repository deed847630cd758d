/* test_report.c - the formatter and the fixed shape of an error report. */
#include <string.h>

#include "options.h"
#include "report.h"
#include "unit.h"


START_TEST(test_formatter_handles_every_conversion) {
  char buf[128];
  mt_snprintf(buf, sizeof(buf), "%s|%d|%u|%ld|%lu|%zu|%x|%p|%%", "ab", -12, 34u, -5L, 6UL,
              (size_t)7, 255u, (void *)0x10);
  ck_assert_str_eq(buf, "ab|-12|34|-5|6|7|ff|0x10|%");
}
END_TEST

START_TEST(test_formatter_pads_to_the_field_width) {
  char buf[64];
  mt_snprintf(buf, sizeof(buf), "[%5d|%-5s|%3s|%2lu]", 42, "ab", "abcd", 123UL);
  ck_assert_str_eq(buf, "[   42|ab   |abcd|123]");
  mt_snprintf(buf, 6, "%8d", 7);
  ck_assert_str_eq(buf, "     ");
}
END_TEST

START_TEST(test_formatter_truncates_and_terminates) {
  char buf[8];
  size_t n = mt_snprintf(buf, sizeof(buf), "%s", "0123456789");
  ck_assert_str_eq(buf, "0123456");
  ck_assert_uint_eq(n, 7);
}
END_TEST

START_TEST(test_error_report_has_the_fixed_shape) {
  mt_report_set_sink(unit_capture);
  mt_opt.on_error = MT_ACTION_CONTINUE;
  mt_report_error(MT_ERR_DOUBLE_FREE, 0x1010, 0x1000, 48, "the block was already freed");
  ck_assert_ptr_eq(strstr(captured, "====="), captured);
  ck_assert_ptr_nonnull(strstr(captured, "\nmemtype: ERROR: double-free at 0x1010 (16 bytes into a "
                                         "48-byte block)\n"));
  ck_assert_ptr_nonnull(strstr(captured, "  thread "));
  ck_assert_ptr_nonnull(strstr(captured, "memtype will now continue"));
  ck_assert_uint_eq(mt_error_count(), 1);
}
END_TEST

START_TEST(test_errno_values_are_told_in_words) {
  char buf[24];
  ck_assert_str_eq(mt_errno_text(2, buf, sizeof(buf)), "No such file or directory");
  ck_assert_str_eq(mt_errno_text(13, buf, sizeof(buf)), "Permission denied");
  ck_assert_str_eq(mt_errno_text(28, buf, sizeof(buf)), "No space left on device");
  ck_assert_str_eq(mt_errno_text(17, buf, sizeof(buf)), "File exists");
  ck_assert_str_eq(mt_errno_text(4242, buf, sizeof(buf)), "error 4242");
}
END_TEST

START_TEST(test_a_long_warning_is_cut_short_on_one_line) {
  mt_report_set_sink(unit_capture);
  static char value[3000];
  memset(value, 'v', sizeof(value) - 1);
  mt_warn("MEMTYPE_X=%s: ignored", value);
  size_t n = strlen(captured);
  ck_assert_ptr_eq(strstr(captured, "memtype: warning: MEMTYPE_X=vvv"), captured);
  ck_assert_ptr_eq(strchr(captured, '\n'), captured + n - 1);
  ck_assert_str_eq(captured + n - 5, "v...\n");
  ck_assert_uint_lt(n, 1024);
  unit_capture_reset();
  mt_warn("short %d", 1);
  ck_assert_str_eq(captured, "memtype: warning: short 1\n");
}
END_TEST

START_TEST(test_exit_action_exits_with_the_status) {
  mt_report_set_sink(unit_capture);
  mt_opt.on_error = MT_ACTION_EXIT_BASE + 23;
  mt_report_error(MT_ERR_INVALID_FREE, 0x2000, 0, 0, NULL);
}
END_TEST

START_TEST(test_abort_action_raises_sigabrt) {
  mt_report_set_sink(unit_capture);
  mt_opt.on_error = MT_ACTION_ABORT;
  mt_report_error(MT_ERR_INVALID_FREE, 0x2000, 0, 0, NULL);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("report");
  TCase *tc = tcase_create("report");
  tcase_add_test(tc, test_formatter_handles_every_conversion);
  tcase_add_test(tc, test_formatter_truncates_and_terminates);
  tcase_add_test(tc, test_formatter_pads_to_the_field_width);
  tcase_add_test(tc, test_error_report_has_the_fixed_shape);
  tcase_add_test(tc, test_a_long_warning_is_cut_short_on_one_line);
  tcase_add_test(tc, test_errno_values_are_told_in_words);
  tcase_add_exit_test(tc, test_exit_action_exits_with_the_status, 23);
  tcase_add_test_raise_signal(tc, test_abort_action_raises_sigabrt, 6);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
