/* life.c - every way the process ends (see life.h). The exit work runs at
 * most once per process (an atomic state word); a second thread that ends
 * the process meanwhile waits for it. The pid of the process that set
 * things up is kept so that a vfork child (which shares the parent's
 * memory) or a clone without fork handlers never runs the work: it would
 * write over the parent's books. Signal deaths come through the signal
 * gate (core/sys/siggate.h), so never while this thread holds a memtype lock. */
#define _GNU_SOURCE
#include "life.h"

#include <signal.h>
#include <string.h>

#include "modules.h"
#include "os.h"
#include "report.h"
#include "siggate.h"

static int life_pid;             /* the process memtype set up; 0 before */
static int work_state;           /* 0 not yet, 1 running, 2 done */
static long work_tid;            /* the thread running it */
static int dying_sig;            /* the first signal that ended the process */
static int late_sig;             /* one that came during exit work begun by exit or _exit */
static bool work_by_signal;      /* the exit work runs in a signal's handler */
static mt_ending_t ending;
static uintptr_t exit_sp;        /* mt_life_exit_sp */
static uintptr_t exit_regs[MT_LIFE_EXIT_REGS]; /* mt_life_exit_regs */
static void (*exit_work)(bool signal);
static void (*late_death)(int sig);

/* Default action: end the process (core or not). SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT, SIGTRAP and SIGSYS are faults: memguard's handler and the
 * dump's fatal handler take those. */
static const int deadly[] = {SIGHUP,  SIGINT,    SIGQUIT, SIGPIPE, SIGALRM, SIGTERM,
                             SIGUSR1, SIGUSR2,   SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
                             SIGIO,   SIGSTKFLT, SIGPWR};

const mt_ending_t *mt_life_ending(void) { return &ending; }

void mt_life_set_ending(uint32_t how, int status, int sig, uint32_t via) {
  ending.how = how;
  ending.status = status;
  ending.signal = (uint32_t)sig;
  ending.via = via;
}

bool mt_life_is_own_process(void) {
  int pid = __atomic_load_n(&life_pid, __ATOMIC_RELAXED);
  return pid != 0 && pid == mt_os_getpid();
}

bool mt_life_is_other_process(void) {
  int pid = __atomic_load_n(&life_pid, __ATOMIC_RELAXED);
  return pid != 0 && pid != mt_os_getpid();
}

/* Runs the exit work unless it ran or runs; false when another thread has
 * it (the caller then waits for that thread to end the process). Work begun
 * by exit or _exit that a deadly signal interrupted (late_sig) ends in that
 * signal's death: the program, without memtype, would have died of it. */
static bool run_work(bool by_signal) {
  int expect = 0;
  long me = mt_os_gettid();
  if (!__atomic_compare_exchange_n(&work_state, &expect, 1, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE))
    return expect == 2 || __atomic_load_n(&work_tid, __ATOMIC_RELAXED) == me;
  __atomic_store_n(&work_tid, me, __ATOMIC_RELAXED);
  __atomic_store_n(&work_by_signal, by_signal, __ATOMIC_RELAXED);
  if (exit_work)
    exit_work(by_signal);
  __atomic_store_n(&work_state, 2, __ATOMIC_RELEASE);
  int late = __atomic_load_n(&late_sig, __ATOMIC_ACQUIRE);
  if (late && !by_signal) {
    if (late_death)
      late_death(late); /* it may have come after the dump was written */
    mt_os_reraise_default(late);
  }
  return true;
}

/* A deadly signal whose action is the program's SIG_DFL (the signal gate
 * calls it, never while this thread holds a memtype lock). True: the
 * default action now; false: the signal came in the middle of this
 * thread's exit work (begun by exit or _exit: a Pool worker told to stop
 * that gets Pool.terminate's SIGTERM while it scans for leaks), which goes
 * on, writes the dump with this signal as the ending, and then dies of it
 * (run_work). Dying at once there lost the dump. */
static bool on_death(int sig) {
  if (mt_life_is_other_process())
    return true; /* a vfork child: the parent's memory; just the default action */
  int first = 0;
  if (!__atomic_compare_exchange_n(&dying_sig, &first, sig, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    if (first == sig)
      return true; /* the same signal again (a second Ctrl-C): die now */
  }
  int state = __atomic_load_n(&work_state, __ATOMIC_ACQUIRE);
  if (state == 0)
    mt_life_set_ending(MT_END_SIGNALED, 0, sig, MT_VIA_SIGNAL);
  if (state == 1) {
    int none = 0;
    if (!__atomic_load_n(&work_by_signal, __ATOMIC_RELAXED) &&
        __atomic_compare_exchange_n(&late_sig, &none, sig, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      mt_life_set_ending(MT_END_SIGNALED, 0, sig, MT_VIA_SIGNAL); /* the dump to come */
    if (__atomic_load_n(&work_tid, __ATOMIC_RELAXED) == mt_os_gettid())
      return false; /* back into this thread's exit work */
  }
  if (state == 2 && !__atomic_load_n(&work_by_signal, __ATOMIC_RELAXED)) {
    /* The work is done (exit's last steps, _exit): the dump says so; it
     * is this signal's death now. */
    mt_life_set_ending(MT_END_SIGNALED, 0, sig, MT_VIA_SIGNAL);
    if (late_death)
      late_death(sig);
    return true;
  }
  mt_modules_hold++; /* in a handler: the module snapshot as it is */
  while (!run_work(true))
    mt_os_yield(); /* another thread's exit work: it ends the process */
  mt_modules_hold--;
  return true;
}

void mt_life_init(void (*work)(bool by_signal), void (*late)(int sig)) {
  exit_work = work;
  late_death = late;
  __atomic_store_n(&life_pid, mt_os_getpid(), __ATOMIC_RELAXED);
  mt_siggate_take_default(deadly, sizeof(deadly) / sizeof(deadly[0]), on_death);
}

void mt_life_fork_child(void) {
  if (__atomic_load_n(&life_pid, __ATOMIC_RELAXED) == 0)
    return;
  __atomic_store_n(&life_pid, mt_os_getpid(), __ATOMIC_RELAXED);
  work_state = 0;
  dying_sig = 0;
  late_sig = 0;
  work_by_signal = false;
  exit_sp = 0;
  memset(exit_regs, 0, sizeof(exit_regs));
  memset(&ending, 0, sizeof(ending));
}

static void note_where(uintptr_t sp, const uintptr_t *regs) {
  if (regs)
    memcpy(exit_regs, regs, sizeof(exit_regs));
  __atomic_store_n(&exit_sp, sp, __ATOMIC_RELEASE);
}

void mt_life_note_exit(int status, uintptr_t sp, const uintptr_t *regs) {
  if (__atomic_load_n(&work_state, __ATOMIC_ACQUIRE) == 0) {
    mt_life_set_ending(MT_END_EXITED, status & 0xff, 0, MT_VIA_EXIT);
    note_where(sp, regs);
  }
}

uintptr_t mt_life_exit_sp(void) { return __atomic_load_n(&exit_sp, __ATOMIC_ACQUIRE); }

const uintptr_t *mt_life_exit_regs(void) {
  return __atomic_load_n(&exit_sp, __ATOMIC_ACQUIRE) ? exit_regs : NULL;
}

void mt_life_at_exit(void) {
  if (mt_life_is_other_process())
    return;
  while (!run_work(false))
    mt_os_yield();
}

void mt_life_exit_now(int status, uintptr_t sp, const uintptr_t *regs) {
  if (life_pid == 0 || mt_life_is_other_process())
    return;
  if (__atomic_load_n(&work_state, __ATOMIC_ACQUIRE) == 0) {
    mt_life_set_ending(MT_END_EXITED, status & 0xff, 0, MT_VIA__EXIT);
    note_where(sp, regs);
  }
  while (!run_work(false))
    mt_os_yield();
}
