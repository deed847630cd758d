/* mt_assert.c - where a failed MT_ASSERT (mt_types.h) ends: one line through
 * the reporter's sink (stderr, or where the reporter sends it once the
 * program closed fd 2), then SIGABRT with its default action. Safe in a
 * signal handler and inside malloc: it formats into a stack buffer with
 * mt_snprintf, writes with write(2), allocates nothing and takes no lock. No
 * dump is written: the heap it would walk is the one found inconsistent. */
#include <signal.h>

#include "mt_types.h"
#include "os.h"
#include "report.h"

void mt_assert_fail(const char *expr, const char *file, int line) {
  static int failing; /* a second failure while reporting the first: just die */
  if (!__atomic_exchange_n(&failing, 1, __ATOMIC_RELAXED)) {
    char buf[512];
    size_t n = mt_snprintf(buf, sizeof(buf),
                           "memtype: assertion failed: %s (%s:%d); memtype will now abort\n",
                           expr, file, line);
    mt_report_write(buf, n);
  }
  mt_os_reraise_default(SIGABRT);
  __builtin_trap(); /* SIGABRT blocked or caught again before the default took hold */
}
