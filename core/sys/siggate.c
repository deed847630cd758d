/* siggate.c - the signal gate (see siggate.h). Owns the program's view of
 * the handlers it installed (user[]), the trampoline the kernel calls in
 * their place, and each thread's kept signals. Locking: user[] is written
 * under a spin word by sigaction and read without it by the trampoline (one
 * handler word and one flags word, each atomic); a thread's kept signals are
 * its own, appended by the trampoline (an atomic add on a thread-local
 * counter, safe against nested signals) and taken with every signal blocked.
 * Faults (SEGV, BUS, ILL, FPE, TRAP, SYS) and ABRT are never gated: they
 * come from the thread's own instruction or call and cannot wait. Signal
 * calls here are POSIX ones, not behind os.h: they are this file's subject. */
#define _GNU_SOURCE
#include "siggate.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <ucontext.h>

#include "lock.h"
#include "mt_types.h"
#include "os.h"

#define NSIG_MAX 65
#define KEEP_MAX 8

MT_HIDDEN MT_TLS unsigned mt_tls_locks;
MT_HIDDEN MT_TLS unsigned mt_tls_sig_kept;

typedef struct kept_s {
  int sig;
  int pid; /* the process that got it: a fork child keeps only its own */
  siginfo_t info;
} kept_t;

static MT_TLS kept_t kept[KEEP_MAX];
static MT_TLS unsigned nkept; /* slots taken (may pass KEEP_MAX: the rest are dropped) */

static struct sigaction user[NSIG_MAX]; /* the program's actions, for gated signals */
static bool gated[NSIG_MAX];            /* the kernel has our trampoline for it */
static bool taken[NSIG_MAX]; /* the program's SIG_DFL is memtype's death (mt_siggate_take_default) */
static bool (*death)(int sig);
static MT_TLS const void *death_uc; /* mt_siggate_death_context */
static sigset_t death_mask;
static int owner_pid; /* the process whose memory this is (0: not known yet) */
static int spin;

static bool gateable(int sig) {
  return sig > 0 && sig < NSIG_MAX && sig != SIGKILL && sig != SIGSTOP && sig != SIGSEGV &&
         sig != SIGBUS && sig != SIGILL && sig != SIGFPE && sig != SIGTRAP && sig != SIGSYS &&
         sig != SIGABRT;
}

static void spin_lock(void) {
  while (__atomic_exchange_n(&spin, 1, __ATOMIC_ACQUIRE))
    mt_cpu_relax();
}

static void spin_unlock(void) { __atomic_store_n(&spin, 0, __ATOMIC_RELEASE); }

/* Runs the program's handler for sig as the kernel would have. */
static void run_handler(int sig, siginfo_t *info, void *uc) {
  void *h = __atomic_load_n((void **)&user[sig].sa_sigaction, __ATOMIC_ACQUIRE);
  int flags = __atomic_load_n(&user[sig].sa_flags, __ATOMIC_RELAXED);
  if (flags & SA_RESETHAND) /* the kernel has reset the disposition: so do we */
    __atomic_store_n((void **)&user[sig].sa_sigaction, (void *)SIG_DFL, __ATOMIC_RELEASE);
  if (h == (void *)SIG_IGN)
    return;
  if (h == (void *)SIG_DFL) {
    if (__atomic_load_n(&taken[sig], __ATOMIC_ACQUIRE) && death) {
      const void *was = death_uc;
      death_uc = uc;
      bool go = death(sig);
      death_uc = was;
      if (!go)
        return; /* inside the exit work: it goes on, then dies of sig */
    }
    mt_os_reraise_default(sig); /* after the exit work */
    return;
  }
  if (flags & SA_SIGINFO)
    ((void (*)(int, siginfo_t *, void *))h)(sig, info, uc);
  else
    ((void (*)(int))h)(sig);
}

static void trampoline(int sig, siginfo_t *info, void *uc) {
  if (__atomic_load_n(&mt_tls_locks, __ATOMIC_RELAXED) == 0) {
    run_handler(sig, info, uc);
    return;
  }
  /* This thread is inside memtype with a lock held: keep it for later. */
  unsigned i = __atomic_fetch_add(&nkept, 1, __ATOMIC_RELAXED);
  if (i < KEEP_MAX) {
    kept[i].info = *info;
    kept[i].pid = mt_os_getpid();
    __atomic_store_n(&kept[i].sig, sig, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&mt_tls_sig_kept, 1, __ATOMIC_RELEASE);
}

/* getcontext() apart (it returns twice): the caller's locals stay safe. */
static MT_NOINLINE void capture_context(ucontext_t *uc) {
  memset(uc, 0, sizeof(*uc));
  getcontext(uc);
}

const void *mt_siggate_death_context(void) { return death_uc; }

void mt_siggate_replay(void) {
  int saved = errno;
  sigset_t all, old;
  sigfillset(&all);
  kept_t now[KEEP_MAX];
  unsigned n;
  pthread_sigmask(SIG_BLOCK, &all, &old);
  n = nkept < KEEP_MAX ? nkept : KEEP_MAX;
  memcpy(now, kept, n * sizeof(now[0]));
  memset(kept, 0, sizeof(kept));
  nkept = 0;
  mt_tls_sig_kept = 0;
  for (unsigned i = 0; i < n; i++) {
    int sig = now[i].sig;
    if (sig <= 0 || sig >= NSIG_MAX)
      continue;
    /* The handler's own mask, as the kernel would have set it. */
    sigset_t mask = old;
    for (int s = 1; s < NSIG_MAX; s++)
      if (sigismember(&user[sig].sa_mask, s) == 1)
        sigaddset(&mask, s);
    if (!(user[sig].sa_flags & SA_NODEFER))
      sigaddset(&mask, sig);
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
    /* The interrupted context is gone (the kernel's frame was popped): the
     * handler gets this point's, a real one (memtype's unlock path), so a
     * profiler or stack walker reading it finds valid registers. */
    ucontext_t uc;
    capture_context(&uc);
    run_handler(sig, &now[i].info, &uc);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
}

void mt_siggate_fork_child(void) {
  if (owner_pid)
    owner_pid = mt_os_getpid();
  mt_tls_locks = 0;
  /* A signal sent to the child between fork's return and here (a parent
   * that kills its new child at once: multiprocessing's Pool.terminate)
   * was kept: it is the child's and is run now, the child's books being
   * its own (the last fork-child step). Those kept in the parent before
   * the fork are the parent's, which runs them itself. */
  int me = mt_os_getpid();
  unsigned n = nkept < KEEP_MAX ? nkept : KEEP_MAX, k = 0;
  for (unsigned i = 0; i < n; i++)
    if (kept[i].sig > 0 && kept[i].pid == me)
      kept[k++] = kept[i];
  memset(kept + k, 0, (KEEP_MAX - k) * sizeof(kept[0]));
  nkept = k;
  mt_tls_sig_kept = k != 0;
  if (k != 0)
    mt_siggate_replay();
}

/* The trampoline standing for SIG_DFL (taken signals); under spin. */
static int install_death_locked(int sig, struct sigaction *prev) {
  struct sigaction mine;
  memset(&mine, 0, sizeof(mine));
  mine.sa_sigaction = trampoline;
  /* On the thread's own stack: the registers the kernel saves there are
   * roots for the leak scan (an alternate stack is memtype's memory). */
  mine.sa_flags = SA_SIGINFO | SA_RESTART;
  mine.sa_mask = death_mask;
  memset(&user[sig], 0, sizeof(user[sig]));
  __atomic_store_n((void **)&user[sig].sa_sigaction, (void *)SIG_DFL, __ATOMIC_RELEASE);
  int rc = mt_os_sigaction_real(sig, &mine, prev);
  if (rc == 0)
    gated[sig] = true;
  return rc;
}

bool mt_siggate_take_default(const int *sigs, unsigned n, bool (*fn)(int sig)) {
  bool any = false;
  spin_lock();
  owner_pid = mt_os_getpid();
  death = fn;
  sigemptyset(&death_mask);
  for (unsigned i = 0; i < n; i++)
    sigaddset(&death_mask, sigs[i]);
  for (unsigned i = 0; i < n; i++) {
    int sig = sigs[i];
    struct sigaction cur;
    if (!gateable(sig))
      continue;
    /* From now on the program's SIG_DFL is ours; its action now stays. */
    __atomic_store_n(&taken[sig], true, __ATOMIC_RELEASE);
    if (gated[sig] || mt_os_sigaction_real(sig, NULL, &cur) != 0 ||
        (cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)
      continue; /* ignored (nohup), or handled already: the program's */
    any |= install_death_locked(sig, NULL) == 0;
  }
  spin_unlock();
  return any;
}

/* A vfork child (Python's subprocess resets its handlers there before
 * exec): its memory is its parent's, so nothing here may change; the
 * kernel's table is its own. */
static int sigaction_foreign(int sig, const struct sigaction *act, struct sigaction *old) {
  struct sigaction prev;
  int rc = mt_os_sigaction_real(sig, act, &prev);
  if (rc == 0 && old)
    *old = prev.sa_sigaction == trampoline ? user[sig] : prev;
  return rc;
}

int mt_siggate_sigaction(int sig, const void *act_, void *old_) {
  const struct sigaction *act = act_;
  struct sigaction *old = old_;
  if (!gateable(sig))
    return mt_os_sigaction_real(sig, act, old);
  int owner = __atomic_load_n(&owner_pid, __ATOMIC_RELAXED);
  if (owner && owner != mt_os_getpid())
    return sigaction_foreign(sig, act, old);
  spin_lock();
  struct sigaction prev, was_user = user[sig];
  int rc;
  if (act == NULL) {
    rc = mt_os_sigaction_real(sig, NULL, &prev);
  } else if (act->sa_handler == SIG_DFL && taken[sig]) {
    /* The program's default, with memtype's exit work before it. */
    rc = install_death_locked(sig, &prev);
  } else if (act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN) {
    rc = mt_os_sigaction_real(sig, act, &prev);
    if (rc == 0)
      gated[sig] = false;
  } else {
    struct sigaction mine = *act;
    mine.sa_sigaction = trampoline;
    mine.sa_flags |= SA_SIGINFO;
    /* Kept by the kernel for the trampoline; the handler's own, by us. */
    bool was = gated[sig];
    user[sig].sa_mask = act->sa_mask;
    __atomic_store_n(&user[sig].sa_flags, act->sa_flags, __ATOMIC_RELAXED);
    __atomic_store_n((void **)&user[sig].sa_sigaction, (void *)act->sa_sigaction, __ATOMIC_RELEASE);
    rc = mt_os_sigaction_real(sig, &mine, &prev);
    if (rc == 0) {
      gated[sig] = true;
    } else {
      user[sig] = was_user;
      gated[sig] = was;
    }
  }
  if (rc == 0 && old) {
    /* The trampoline stands for the program's own action (or its SIG_DFL). */
    if (prev.sa_sigaction == trampoline)
      *old = act == NULL ? user[sig] : was_user;
    else
      *old = prev;
  }
  spin_unlock();
  return rc;
}
