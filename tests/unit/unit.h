/* unit.h - shared by the Check unit tests: one suite per file, run in fork mode. */
#ifndef MT_UNIT_H
#define MT_UNIT_H
#include <check.h>
#include <stdlib.h>

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
