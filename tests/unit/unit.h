/* unit.h - shared by the Check unit tests: one suite per file, run in fork mode. */
#ifndef MT_UNIT_H
#define MT_UNIT_H
#include <check.h>
#include <stdlib.h>

#include <string.h>

/* What the reporter would have written on stderr: tests install
 * unit_capture with mt_report_set_sink() and assert on the text. */
static char captured[8192];
static size_t captured_len;
static inline void unit_capture(const char *buf, size_t len) {
  if (captured_len + len < sizeof(captured)) {
    memcpy(captured + captured_len, buf, len);
    captured_len += len;
    captured[captured_len] = '\0';
  }
}
static inline void unit_capture_reset(void) {
  captured_len = 0;
  captured[0] = '\0';
}

#define MT_UNIT_MAIN(suite_fn)                                   \
  int main(void) {                                               \
    SRunner *sr = srunner_create(suite_fn());                    \
    srunner_set_fork_status(sr, CK_FORK);                        \
    srunner_run_all(sr, CK_NORMAL);                              \
    int failed = srunner_ntests_failed(sr);                      \
    srunner_free(sr);                                            \
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;                 \
  }
#endif
