/* siggate.h - the signal gate: a program's signal handler never runs while
 * its thread holds one of memtype's locks. Handlers that call malloc are
 * wrong (malloc is not async-signal-safe) but common; without the gate such
 * a handler, interrupting a thread inside memtype's slow path, would wait
 * forever for a lock its own thread holds. mt_lock() counts the locks a
 * thread holds (mt_tls_locks); the program's handlers are installed behind
 * a trampoline (preload/signal.c forwards sigaction and signal here) that
 * runs them at once when the count is 0, and otherwise keeps the signal
 * (number and siginfo) until the thread's last mt_unlock(), which runs them. */
#ifndef MT_SIGGATE_H
#define MT_SIGGATE_H

#include <stdbool.h>

/* sigaction(2) for the program: act and old are struct sigaction. */
int mt_siggate_sigaction(int sig, const void *act, void *old);
/* For each of sigs, memtype stands behind the program's SIG_DFL: now, when
 * that is its action (a signal ignored or handled stays so), and whenever
 * the program sets SIG_DFL again. The program still sees SIG_DFL; when the
 * signal comes, fn runs (the exit work), then the default action when fn
 * returns true; false: the signal's death is fn's to give later (it came
 * in the middle of the exit work, which goes on and then dies of it). The
 * program's own handler or SIG_IGN replaces it as usual. True when any
 * default was taken now. */
bool mt_siggate_take_default(const int *sigs, unsigned n, bool (*fn)(int sig));
/* While fn runs in this thread for a signal: the ucontext_t of the
 * interrupted code (the kernel's, or for a signal kept and replayed the
 * point where it was replayed); else NULL. The leak scan's roots on this
 * thread's stack start at its stack pointer, its registers among them. */
const void *mt_siggate_death_context(void);
/* Runs the handlers of the signals kept while the thread held a lock
 * (called by mt_unlock() when the count falls to 0 and one is waiting). */
void mt_siggate_replay(void);
/* Fork child, the last fork-child step: the forking thread holds nothing
 * any more; what it kept before the fork belongs to the parent, what it
 * kept since (a signal sent to the new child at once) is run now. */
void mt_siggate_fork_child(void);

#endif
