/* signal.c - sigaction and signal, interposed so that memguard's fault
 * handler stays first when the program installs its own SIGSEGV or SIGBUS
 * handler (which memguard then calls for the faults that are not its own),
 * and so that the program's other handlers go through the signal gate
 * (core/sys/siggate.h: never run while their thread holds a memtype lock). */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "os.h"
#include "siggate.h"
#include "memguard.h"
#include "entry.h"

MT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (mt_guard_sigaction(sig, act, old))
    return 0;
  return mt_siggate_sigaction(sig, act, old);
}

MT_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (mt_guard_sigaction(sig, &sa, &old))
    return old.sa_handler;
  /* As glibc's signal(): BSD semantics, the signal blocked in its handler. */
  sigaddset(&sa.sa_mask, sig);
  if (mt_siggate_sigaction(sig, &sa, &old) != 0)
    return SIG_ERR;
  return old.sa_handler;
}
