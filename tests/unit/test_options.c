/* test_options.c - the MEMTYPE_* parser: values, suffixes, typos, bad input,
 * secure mode. */
#include <string.h>

#include "options.h"
#include "report.h"
#include "unit.h"

static void setup(void) {
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

START_TEST(test_defaults_without_environment) {
  char err[256];
  ck_assert(mt_options_parse(NULL, false, err, sizeof(err)));
  ck_assert_int_eq(mt_opt.stats, 0);
  ck_assert_int_eq(mt_opt.on_error, MT_ACTION_ABORT);
}
END_TEST

START_TEST(test_boolean_and_action_values_are_read) {
  char *env[] = {"PATH=/bin", "MEMTYPE_STATS=yes", "MEMTYPE_ON_ERROR=exit:7", NULL};
  char err[256];
  ck_assert(mt_options_parse(env, false, err, sizeof(err)));
  ck_assert_int_eq(mt_opt.stats, 1);
  ck_assert_int_eq(mt_opt.on_error, MT_ACTION_EXIT_BASE + 7);
  char *env2[] = {"MEMTYPE_ON_ERROR=continue", "MEMTYPE_STATS=off", NULL};
  ck_assert(mt_options_parse(env2, false, err, sizeof(err)));
  ck_assert_int_eq(mt_opt.on_error, MT_ACTION_CONTINUE);
  ck_assert_int_eq(mt_opt.stats, 0);
}
END_TEST

START_TEST(test_invalid_value_names_variable_and_accepted_values) {
  char *env[] = {"MEMTYPE_STATS=2", NULL};
  char err[256];
  ck_assert(!mt_options_parse(env, false, err, sizeof(err)));
  ck_assert_str_eq(err, "memtype: error: MEMTYPE_STATS=2: invalid value; accepted: 0, 1, yes, "
                        "no, on, off\n");
  char *env2[] = {"MEMTYPE_ON_ERROR=exit:300", NULL};
  ck_assert(!mt_options_parse(env2, false, err, sizeof(err)));
  ck_assert_ptr_nonnull(strstr(err, "MEMTYPE_ON_ERROR=exit:300"));
  char *env3[] = {"MEMTYPE_ON_ERROR=", NULL};
  ck_assert(!mt_options_parse(env3, false, err, sizeof(err)));
}
END_TEST

START_TEST(test_an_enumerated_option_names_its_values) {
  char err[512];
  char *env[] = {"MEMTYPE_GUARD_SIDE=left", NULL};
  ck_assert(!mt_options_parse(env, false, err, sizeof(err)));
  ck_assert_str_eq(err, "memtype: error: MEMTYPE_GUARD_SIDE=left: invalid value; accepted: "
                        "after, before, around\n");
  char *ok[] = {"MEMTYPE_GUARD_SIDE=around", NULL};
  ck_assert(mt_options_parse(ok, false, err, sizeof(err)));
  ck_assert_str_eq(mt_opt.guard_side, "around");
  char *six[] = {"MEMTYPE_GUARD_SIDE=behind", NULL}; /* the right length is not enough */
  ck_assert(!mt_options_parse(six, false, err, sizeof(err)));
}
END_TEST

START_TEST(test_a_signal_that_cannot_be_caught_is_refused_naming_the_signals) {
  char err[512];
  char *env[] = {"MEMTYPE_DUMP_SIGNAL=KILL", NULL};
  ck_assert(!mt_options_parse(env, false, err, sizeof(err)));
  ck_assert_ptr_eq(strstr(err, "memtype: error: MEMTYPE_DUMP_SIGNAL=KILL: invalid value; accepted: "
                               "off, USR1, USR2, HUP,"), err);
  ck_assert_ptr_nonnull(strstr(err, "a signal number 1..64 other than 9 (KILL) and 19 (STOP)\n"));
  char *nine[] = {"MEMTYPE_DUMP_SIGNAL=9", NULL};
  ck_assert(!mt_options_parse(nine, false, err, sizeof(err)));
  const char *good[] = {"MEMTYPE_DUMP_SIGNAL=USR2", "MEMTYPE_DUMP_SIGNAL=SIGUSR1",
                        "MEMTYPE_DUMP_SIGNAL=34", "MEMTYPE_DUMP_SIGNAL=off"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    char *e[] = {(char *)good[i], NULL};
    ck_assert_msg(mt_options_parse(e, false, err, sizeof(err)), "%s", good[i]);
  }
}
END_TEST

START_TEST(test_unknown_name_gets_a_did_you_mean_warning) {
  char *env[] = {"MEMTYPE_STAT=1", "MEMTYPE_COMPLETELY_UNRELATED=1", NULL};
  char err[256];
  ck_assert(mt_options_parse(env, false, err, sizeof(err)));
  ck_assert_ptr_nonnull(strstr(captured, "memtype: warning: unknown variable MEMTYPE_STAT "
                                         "ignored; did you mean MEMTYPE_STATS?"));
  ck_assert_ptr_nonnull(strstr(captured, "MEMTYPE_COMPLETELY_UNRELATED ignored (see"));
}
END_TEST

START_TEST(test_secure_mode_ignores_everything) {
  char *env[] = {"MEMTYPE_STATS=1", "MEMTYPE_STATS=garbage", NULL};
  char err[256];
  ck_assert(mt_options_parse(env, true, err, sizeof(err)));
  ck_assert_int_eq(mt_opt.stats, 0);
  ck_assert_uint_eq(captured_len, 0);
}
END_TEST

/* Found by tests/fuzz/fuzz_options.c: a newline in a value split the message,
 * a long value pushed "accepted: ..." out of the bootstrap's 512-byte buffer. */
START_TEST(test_strange_or_long_value_gives_one_whole_error_line) {
  char err[512];
  char *env[] = {"MEMTYPE_DEPTH=1\nMEMTYPE_STATS=1", NULL};
  ck_assert(!mt_options_parse(env, false, err, sizeof(err)));
  ck_assert_str_eq(err, "memtype: error: MEMTYPE_DEPTH=1?MEMTYPE_STATS=1: invalid value; "
                        "accepted: an integer in 0..16 (K, M, G suffixes allowed)\n");
  static char long_env[5000] = "MEMTYPE_TYPES=";
  memset(long_env + 14, 'x', 4500);
  char *env2[] = {long_env, NULL};
  ck_assert(!mt_options_parse(env2, false, err, sizeof(err)));
  ck_assert_ptr_nonnull(strstr(err, "xxx...: invalid value; accepted: a string of 0 to 4000"));
  ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
}
END_TEST

START_TEST(test_unknown_name_with_control_characters_warns_on_one_line) {
  char *env[] = {"MEMTYPE_ST\nATS=1", NULL};
  char err[256];
  ck_assert(mt_options_parse(env, false, err, sizeof(err)));
  ck_assert_ptr_nonnull(strstr(captured, "unknown variable MEMTYPE_ST?ATS ignored"));
  ck_assert_ptr_eq(strchr(captured, '\n'), captured + strlen(captured) - 1);
}
END_TEST

/* Programs that set their process title (postgres, nginx) write over their
 * environment strings: the parsed options must not change with them. */
START_TEST(test_string_values_are_copied_out_of_the_environment) {
  char output[] = "MEMTYPE_OUTPUT=off", guard[] = "MEMTYPE_GUARD=*";
  char *env[] = {output, guard, NULL};
  char err[256];
  ck_assert(mt_options_parse(env, false, err, sizeof(err)));
  memset(output, 0, sizeof(output));
  memset(guard, 'X', sizeof(guard) - 1);
  ck_assert_str_eq(mt_opt.output, "off");
  ck_assert_str_eq(mt_opt.guard, "*");
  /* A second parse (the constructor's) replaces the copies. */
  char output2[] = "MEMTYPE_OUTPUT=/tmp/d.%p";
  char *env2[] = {output2, NULL};
  ck_assert(mt_options_parse(env2, false, err, sizeof(err)));
  ck_assert_str_eq(mt_opt.output, "/tmp/d.%p");
  ck_assert_str_eq(mt_opt.guard, "");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("options");
  TCase *tc = tcase_create("parse");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_defaults_without_environment);
  tcase_add_test(tc, test_boolean_and_action_values_are_read);
  tcase_add_test(tc, test_invalid_value_names_variable_and_accepted_values);
  tcase_add_test(tc, test_unknown_name_gets_a_did_you_mean_warning);
  tcase_add_test(tc, test_an_enumerated_option_names_its_values);
  tcase_add_test(tc, test_a_signal_that_cannot_be_caught_is_refused_naming_the_signals);
  tcase_add_test(tc, test_secure_mode_ignores_everything);
  tcase_add_test(tc, test_strange_or_long_value_gives_one_whole_error_line);
  tcase_add_test(tc, test_unknown_name_with_control_characters_warns_on_one_line);
  tcase_add_test(tc, test_string_values_are_copied_out_of_the_environment);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
