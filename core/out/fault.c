/* fault.c - the SIGSEGV/SIGBUS handler of memguard (see memguard.h),
 * installed in every mode. It is installed first and stays first: a
 * program that installs its own handler later (sigaction and signal are
 * interposed by preload/) only changes where faults that are not
 * memguard's are passed on, with its SA_SIGINFO choice kept. A fault in a
 * guard page or a freed guarded block is reported; with
 * MEMTYPE_ON_ERROR=continue the page is opened and the access goes on. Any
 * other fault that reaches the default action (the program has no handler)
 * is a crash: reported (wild-access, segv, bus-error) with the nearest
 * block, the dump written, then the same death. With guard pages on, the
 * handler runs on an alternate stack (given to every thread that has none)
 * so that it still reports when the stack itself overflowed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "alloc.h"
#include "block.h"
#include "depot.h"
#include "dump.h"
#include "life.h"
#include "memguard.h"
#include "modules.h"
#include "options.h"
#include "os.h"
#include "report.h"

static struct sigaction next_segv, next_bus; /* where faults that are not ours go */
static bool installed;

static struct sigaction *next_of(int sig) { return sig == SIGBUS ? &next_bus : &next_segv; }

/* The last fault this thread passed to the program's handler: when the
 * same fault comes back at the default action (the handler put it back and
 * returned, as Python's faulthandler does), the program has spoken. */
static MT_TLS uintptr_t handed_addr, handed_pc;

static bool has_handler(const struct sigaction *n) {
  if (n->sa_flags & SA_SIGINFO)
    return n->sa_sigaction != NULL;
  return n->sa_handler != SIG_DFL && n->sa_handler != SIG_IGN;
}

/* A fault the program does not handle: what memtype knows of the address. */
static void crash_report(int sig, siginfo_t *si, void *uc) {
  uintptr_t a = (uintptr_t)si->si_addr;
  /* a general protection fault of an aligned SSE/AVX instruction (movaps,
   * movdqa...): its operand's address, not aligned to its size */
  bool misaligned = sig == SIGSEGV && si->si_code == SI_KERNEL && mt_sse_misaligned(uc, &a);
  mt_err_t e;
  memset(&e, 0, sizeof(e));
  int access = mt_os_fault_access(uc);
  /* A general protection fault (SI_KERNEL) has no page-fault error code. */
  e.access = sig == SIGSEGV && si->si_code != SI_KERNEL ? (access == 1 ? MT_ACCESS_READ : access == 2 ? MT_ACCESS_WRITE
                                                                          : MT_ACCESS_UNKNOWN)
                            : MT_ACCESS_UNKNOWN;
  e.addr = a;
  e.type = -1;
  e.fatal_sig = sig;
  e.uc = uc; /* the stack starts at the faulting instruction (report.c's error_stack) */
  mt_near_t near;
  bool found = mt_block_near(a, 16, &near);
  e.kind = near.in_heap ? MT_ERR_WILD_ACCESS : sig == SIGBUS ? MT_ERR_BUS : MT_ERR_SEGV;
  char detail[256];
  if (found) {
    e.block = near.start;
    e.size = near.size;
    e.type = near.type;
    e.free_pc = near.free_pc;
    e.alloc_stack = near.alloc_stack;
    e.free_stack = near.free_stack;
  }
  if (misaligned) {
    e.kind = MT_ERR_SEGV;
    mt_snprintf(detail, sizeof(detail), "an aligned SSE/AVX access (movaps, movdqa...) to %p, "
                "an address not aligned to the operand's size%s", (void *)a,
                found ? "" : "; not in memtype's heap");
  } else if (found) {
    mt_snprintf(detail, sizeof(detail), "address %p is %s memtype's heap, in no block's memory; "
                "the nearest block is %s%s", (void *)a,
                near.in_heap ? "in" : "not in", near.live ? "allocated" : "freed",
                near.guarded ? " (guarded)" : "");
  } else if (si->si_code == SI_KERNEL) {
    /* x86-64: a general protection fault, no address given. */
    mt_snprintf(detail, sizeof(detail), "the kernel gives no address: most likely a pointer that "
                "is not canonical (0xdeadc0de... is memtype's trash: a pointer read from a "
                "freed block)");
  } else if (a < 4096) {
    mt_snprintf(detail, sizeof(detail), "address %p, not in memtype's heap: a NULL pointer "
                "dereference", (void *)a);
  } else {
    mt_snprintf(detail, sizeof(detail), "address %p, %s memtype's heap, no block near it%s",
                (void *)a, near.in_heap ? "in" : "not in",
                sig == SIGBUS ? " (a mapped file cut short, or a misaligned access)" : "");
  }
  e.detail = detail;
  mt_report(&e); /* returns: the caller lets the signal kill */
}

/* The death the program would have had: the dump first (MEMTYPE_DUMP_FATAL). */
static void die(int sig, siginfo_t *si, void *uc) {
  if (!mt_life_is_other_process()) {
    uintptr_t pc = mt_os_fault_pc(uc);
    bool spoken = si->si_code > 0 && handed_addr == (uintptr_t)si->si_addr && handed_pc == pc;
    if (si->si_code > 0 && !spoken)
      crash_report(sig, si, uc);
    else
      mt_life_set_ending(MT_END_SIGNALED, 0, sig, MT_VIA_SIGNAL);
    if (mt_opt.dump_fatal) {
      mt_modules_hold++;
      mt_dump_write(MT_DUMP_FATAL, sig);
      mt_modules_hold--;
    }
  }
  if (si->si_code <= 0) { /* sent (kill, raise): no instruction to run again */
    mt_os_reraise_default(sig);
    return;
  }
  /* The default action: the faulting instruction runs again and kills. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  mt_os_sigaction_real(sig, &dfl, NULL);
}

/* Passes a fault on as the handler it was meant for would have had it. */
static void chain(int sig, siginfo_t *si, void *uc) {
  struct sigaction *n = next_of(sig);
  if (!has_handler(n)) {
    die(sig, si, uc);
    return;
  }
  handed_addr = (uintptr_t)si->si_addr;
  handed_pc = mt_os_fault_pc(uc);
  if (n->sa_flags & SA_SIGINFO)
    n->sa_sigaction(sig, si, uc);
  else
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
  e.alloc_stack = mt_stk_alloc(b->stk);
  if (b->meta.f.state != MT_STATE_LIVE) {
    e.kind = MT_ERR_USE_AFTER_FREE;
    e.free_pc = b->free_pc;
    e.free_stack = mt_stk_free(b->stk);
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
  /* an aligned SSE/AVX access to a guarded block memtype under-aligned:
   * carried out, as it would have been in an aligned block */
  if (mt_guard_on && sig == SIGSEGV && si->si_code == SI_KERNEL && mt_guard_realign_fault(uc)) {
    errno = saved;
    return;
  }
  mt_guard_blk_t *b = mt_guard_on && si->si_code > 0 ? mt_guard_fault_block(a) : NULL;
  if (b == NULL) {
    errno = saved;
    chain(sig, si, uc);
    return;
  }
  report(b, a, uc);
  /* Going on: open the page so the access can complete (it is reported),
   * keeping its contents: by now the run may hold another block. Its free
   * closes the whole run again, guard pages included. */
  mt_guard_open_page(a);
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
  if (mt_guard_on)
    mt_guard_realign_init(); /* its SIGTRAP handler: guarded blocks may be under-aligned */
  installed = true;
  mt_guard_thread_start();
}

bool mt_guard_sigaction(int sig, const void *act, void *old) {
  if (!installed || (sig != SIGSEGV && sig != SIGBUS && sig != SIGTRAP))
    return false;
  if (mt_life_is_other_process()) /* a vfork child: its parent's memory, its own kernel table */
    return false;
  if (sig == SIGTRAP)
    return mt_guard_trap_sigaction(act, old);
  struct sigaction *n = next_of(sig), prev = *n;
  if (act)
    *n = *(const struct sigaction *)act;
  if (old)
    *(struct sigaction *)old = prev;
  return true;
}

void mt_guard_thread_start(void) {
  if (installed && mt_guard_on)
    mt_os_altstack_ensure();
}
