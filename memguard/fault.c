/* fault.c - the SIGSEGV/SIGBUS handler of memguard (see memguard.h). It is
 * installed first and stays first: a program that installs its own handler
 * later (sigaction and signal are interposed by preload/) only changes where
 * faults that are not memguard's are passed on, with its SA_SIGINFO choice
 * kept. A fault in a guard page or a freed guarded block is reported; with
 * MEMTYPE_ON_ERROR=continue the page is opened and the access goes on. The
 * handler runs on an alternate stack (given to every thread that has none)
 * so that it still reports when the stack itself overflowed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "memguard.h"
#include "os.h"
#include "report.h"

static struct sigaction next_segv, next_bus; /* where faults that are not ours go */
static bool installed;

static struct sigaction *next_of(int sig) { return sig == SIGBUS ? &next_bus : &next_segv; }

/* Passes a fault on as the handler it was meant for would have had it. */
static void chain(int sig, siginfo_t *si, void *uc) {
  struct sigaction *n = next_of(sig);
  if ((n->sa_flags & SA_SIGINFO) && n->sa_sigaction) {
    n->sa_sigaction(sig, si, uc);
    return;
  }
  if (n->sa_handler == SIG_DFL || n->sa_handler == SIG_IGN) {
    /* The default action: the faulting instruction runs again and kills. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    mt_os_sigaction_real(sig, &dfl, NULL);
    return;
  }
  n->sa_handler(sig);
}

static void report(mt_guard_blk_t *b, uintptr_t a, void *uc) {
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  int access = mt_os_fault_access(uc);
  e.access = access == 1 ? MT_ACCESS_READ : access == 2 ? MT_ACCESS_WRITE : MT_ACCESS_UNKNOWN;
  e.addr = a;
  e.uc = uc; /* the stack starts at the faulting instruction (report.c's error_stack) */
  e.block = b->user;
  e.size = b->meta.f.size;
  e.type = b->meta.f.type;
  if (b->meta.f.state != MT_STATE_LIVE) {
    e.kind = MT_ERR_USE_AFTER_FREE;
    e.free_pc = b->free_pc;
    e.detail = "the block was freed: its pages are inaccessible (guard page memory, "
               "MEMTYPE_GUARD)";
  } else if (a < b->user) {
    e.kind = MT_ERR_UNDERFLOW;
    e.detail = "the access hit the guard page before the block (MEMTYPE_GUARD)";
  } else {
    e.kind = MT_ERR_OVERFLOW;
    e.detail = "the access hit the guard page after the block (MEMTYPE_GUARD)";
  }
  mt_report(&e); /* returns only for MEMTYPE_ON_ERROR=continue */
}

static void on_fault(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  uintptr_t a = (uintptr_t)si->si_addr;
  mt_guard_blk_t *b = si->si_code > 0 ? mt_guard_lookup(a) : NULL;
  if (b == NULL) {
    errno = saved;
    chain(sig, si, uc);
    return;
  }
  report(b, a, uc);
  /* Going on: open the page so the access can complete (it is reported),
   * keeping its contents: by now the run may hold another block. Its free
   * closes the whole run again, guard pages included. */
  mt_os_open_pages(a & ~(uintptr_t)(MT_PAGE_SIZE - 1), MT_PAGE_SIZE);
  errno = saved;
}

void mt_guard_fault_init(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  mt_os_sigaction_real(SIGSEGV, &sa, &next_segv);
  mt_os_sigaction_real(SIGBUS, &sa, &next_bus);
  installed = true;
  mt_guard_thread_start();
}

bool mt_guard_sigaction(int sig, const void *act, void *old) {
  if (!installed || (sig != SIGSEGV && sig != SIGBUS))
    return false;
  struct sigaction *n = next_of(sig), prev = *n;
  if (act)
    *n = *(const struct sigaction *)act;
  if (old)
    *(struct sigaction *)old = prev;
  return true;
}

void mt_guard_thread_start(void) {
  if (installed)
    mt_os_altstack_ensure();
}
