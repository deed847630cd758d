/* realign.c - a guarded block's aligned SSE/AVX access, carried out.
 *
 * A guarded block ends flush with its guard page, so its start is aligned
 * only to the largest power of two dividing its size (memguard.c,
 * flush_start): a 184-byte block is 8-aligned, and a one-byte overflow of it
 * faults. But code may hold a 16-byte-aligned type inside such a block
 * (CPython's ctypes objects keep a long double in a union; a Python subclass
 * adds 8 bytes of slots to them) and GCC then moves it with movaps, which
 * raises a general protection fault on an 8-aligned address: the program
 * died under MEMTYPE_GUARD='*' (test_ctypes).
 *
 * Such a fault (SIGSEGV, SI_KERNEL) is looked at here before it is taken for
 * a crash: when the instruction is a 16- or 32-byte SSE/AVX access whose
 * memory operand lies inside a live guarded block memtype under-aligned,
 * the operand's bytes are copied to an aligned scratch area of the thread,
 * the instruction's base register is moved by the same distance, and the
 * instruction runs alone (the trap flag: one instruction, then SIGTRAP);
 * the trap puts the register back and copies back the bytes it changed.
 * The block's type learns new's alignment (up to 16, memguard.c): its next
 * blocks are aligned so and fault no more. Nothing is printed: the access
 * was correct.
 *
 * Only what glibc's 16-byte alignment would have made right is carried out:
 * the operand's offset in its block a multiple of 16 (32 for a 32-byte
 * operand); a misaligned access of the program's own stays a crash. The
 * instruction runs with every asynchronous signal blocked (a handler's own
 * realignment would reuse the scratch area); rsp is never moved (the trap's
 * signal frame would land below the scratch, in thread-local storage); a
 * process being traced (a debugger keeps SIGTRAP for itself), or one that
 * single-steps itself, is left alone. The SIGTRAP handler is installed with
 * the fault handler and stays first as it does (mt_guard_sigaction): a
 * program's handler gets the traps that are not memtype's. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "insn.h"
#include "memguard.h"
#include "os.h"

#define TRAP_FLAG 0x100

/* The thread's access in flight between the fault and the trap. */
typedef struct {
  uint8_t scratch[32] __attribute__((aligned(32))); /* the operand, run on */
  uint8_t before[32]; /* the operand's bytes as copied */
  uintptr_t addr;     /* the operand's real address */
  intptr_t delta;     /* added to the register */
  int reg;            /* the gregs index moved */
  unsigned width;
  sigset_t mask;      /* the interrupted code's signal mask */
  bool active;
} realign_t;
static MT_TLS realign_t rt;

static struct sigaction next_trap; /* where traps that are not ours go */
static bool trap_installed;

/* x86-64 register numbers (ModRM, SIB, REX) to ucontext's. */
static const int greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                REG_R12, REG_R13, REG_R14, REG_R15};

typedef struct {
  int base, index; /* register numbers, -1 when none */
  unsigned scale;
  int64_t disp;
  unsigned width; /* bytes the operand spans */
} operand_t;

/* The memory operand of the instruction at code, if it is an SSE or AVX
 * instruction (legacy 0F, 0F 38, 0F 3A maps, or VEX) with one (insn.c);
 * false for anything else, RIP-relative and segment-prefixed operands
 * included. */
static bool decode(const uint8_t *code, size_t len, operand_t *o) {
  mt_insn_mem_t m[2];
  if (mt_insn_mem(code, len, m) != 1 || (m[0].enc != MT_INSN_SSE && m[0].enc != MT_INSN_VEX) ||
      m[0].rip || m[0].seg)
    return false;
  o->base = m[0].base;
  o->index = m[0].index;
  o->scale = m[0].scale;
  o->disp = m[0].disp;
  o->width = m[0].width;
  return true;
}

bool mt_realign_decode(const uint8_t *code, size_t len, int *base, int *index, unsigned *scale,
                       int64_t *disp, unsigned *width) {
  operand_t o;
  if (!decode(code, len, &o))
    return false;
  *base = o.base;
  *index = o.index;
  *scale = o.scale;
  *disp = o.disp;
  *width = o.width;
  return true;
}

static void on_trap(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  if (rt.active && si->si_code == TRAP_TRACE) {
    greg_t *g = uc->uc_mcontext.gregs;
    g[rt.reg] = (greg_t)((uint64_t)g[rt.reg] - (uint64_t)rt.delta);
    g[REG_EFL] &= ~(greg_t)TRAP_FLAG;
    uc->uc_sigmask = rt.mask;
    for (unsigned i = 0; i < rt.width; i++) /* what the instruction wrote */
      if (rt.scratch[i] != rt.before[i])
        ((volatile uint8_t *)rt.addr)[i] = rt.scratch[i];
    rt.active = false;
    return;
  }
  /* not ours: as the program's handler, or the default, would have it */
  if (next_trap.sa_flags & SA_SIGINFO) {
    if (next_trap.sa_sigaction) {
      next_trap.sa_sigaction(sig, si, ucv);
      return;
    }
  } else if (next_trap.sa_handler == SIG_IGN) {
    return;
  } else if (next_trap.sa_handler != SIG_DFL) {
    next_trap.sa_handler(sig);
    return;
  }
  mt_os_reraise_default(sig);
}

void mt_guard_realign_init(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  trap_installed = mt_os_sigaction_real(SIGTRAP, &sa, &next_trap) == 0;
}

bool mt_guard_trap_sigaction(const void *act, void *old) {
  if (!trap_installed)
    return false;
  struct sigaction prev = next_trap;
  if (act)
    next_trap = *(const struct sigaction *)act;
  if (old)
    *(struct sigaction *)old = prev;
  return true;
}

/* The faulting instruction's memory operand, when it is an SSE/AVX one
 * whose address is canonical (a non-canonical one, such as memtype's trash
 * read as a pointer, is what else raises a general protection fault) and
 * not aligned to its width. */
static bool misaligned_operand(const ucontext_t *uc, operand_t *o, uintptr_t *addr) {
  const greg_t *g = uc->uc_mcontext.gregs;
  uint8_t code[16];
  long got = mt_os_read_self((uintptr_t)g[REG_RIP], code, sizeof(code));
  if (got <= 0 || !decode(code, (size_t)got, o))
    return false;
  uintptr_t a = (uintptr_t)o->disp;
  if (o->base >= 0)
    a += (uintptr_t)g[greg_of[o->base]];
  if (o->index >= 0)
    a += (uintptr_t)g[greg_of[o->index]] * o->scale;
  if ((uintptr_t)((intptr_t)(a << 16) >> 16) != a || (a & (o->width - 1)) == 0)
    return false;
  *addr = a;
  return true;
}

bool mt_sse_misaligned(void *uc, uintptr_t *addr) {
  operand_t o;
  return misaligned_operand(uc, &o, addr);
}

/* Is a tracer attached (a debugger, which takes the single-step trap)?
 * Read once per process: an object the program keeps touching faults at
 * each access, and /proc costs three system calls. */
static bool traced(void) {
  static long known_pid; /* the process whose answer traced_answer holds */
  static bool traced_answer;
  long pid = mt_os_getpid();
  if (__atomic_load_n(&known_pid, __ATOMIC_ACQUIRE) == pid)
    return traced_answer;
  char buf[1024];
  long n = mt_os_read_self_file("status", buf, sizeof(buf) - 1);
  if (n <= 0)
    return true;
  buf[n] = '\0';
  const char *t = strstr(buf, "TracerPid:");
  if (t == NULL)
    return true;
  t += 10;
  while (*t == ' ' || *t == '\t')
    t++;
  traced_answer = *t != '0';
  __atomic_store_n(&known_pid, pid, __ATOMIC_RELEASE);
  return traced_answer;
}

bool mt_guard_realign_fault(void *ucv) {
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  operand_t o;
  uintptr_t addr;
  if (!trap_installed || rt.active || (g[REG_EFL] & TRAP_FLAG) ||
      !misaligned_operand(uc, &o, &addr))
    return false;
  mt_guard_blk_t *b = mt_guard_lookup(addr);
  /* inside a live block memtype under-aligned, at an offset a 16-aligned
   * block (32 for a 32-byte operand) would have made right */
  if (b == NULL || b->meta.f.state != MT_STATE_LIVE || (b->user & 15) == 0 || addr < b->user ||
      addr + o.width > b->user + b->meta.f.size || ((addr - b->user) & (o.width - 1)) != 0)
    return false;
  /* the register that moves the operand: the base (by delta / (1 + scale)
   * when it is the index too), else the index (by delta / scale); never rsp */
  int reg;
  uintptr_t s = (uintptr_t)rt.scratch;
  intptr_t delta = (intptr_t)(s - addr);
  if ((s & 31) != 0)
    return false; /* (the TLS block keeps the declared alignment) */
  intptr_t per = o.base >= 0 && o.base == o.index ? 1 + (intptr_t)o.scale : 1;
  if (o.base >= 0 && o.base != 4 && delta % per == 0) {
    reg = greg_of[o.base];
    delta /= per;
  } else if (o.base < 0 && o.index >= 0 && delta % (intptr_t)o.scale == 0) {
    reg = greg_of[o.index];
    delta /= (intptr_t)o.scale;
  } else {
    return false;
  }
  /* no other signal from here to the trap: a handler's own realignment
   * would reuse the scratch area */
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  if (traced()) {
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return false;
  }
  memcpy(rt.scratch, (const void *)addr, o.width);
  memcpy(rt.before, rt.scratch, o.width);
  rt.addr = addr;
  rt.width = o.width;
  rt.reg = reg;
  rt.delta = delta;
  rt.mask = uc->uc_sigmask;
  rt.active = true;
  /* the instruction runs with the asynchronous signals blocked (sigreturn
   * sets this mask); the trap puts the program's back */
  sigset_t run = all;
  static const int sync[] = {SIGTRAP, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
  for (unsigned i = 0; i < sizeof(sync) / sizeof(sync[0]); i++)
    sigdelset(&run, sync[i]);
  uc->uc_sigmask = run;
  g[reg] = (greg_t)((uint64_t)g[reg] + (uint64_t)delta);
  g[REG_EFL] |= TRAP_FLAG;
  mt_guard_learn_alignment(b->meta.f.type);
  return true;
}
