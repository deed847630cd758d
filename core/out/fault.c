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
#include "hooks.h"
#include "insn.h"
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
static MT_TLS bool handed; /* handed_* are set (a call through NULL faults at pc 0, address 0) */

static bool has_handler(const struct sigaction *n) {
  if (n->sa_flags & SA_SIGINFO)
    return n->sa_sigaction != NULL;
  return n->sa_handler != SIG_DFL && n->sa_handler != SIG_IGN;
}

static const char *const reg_names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                          "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

/* A general protection fault names no address (x86-64): the faulting
 * instruction's memory operand, decoded (insn.c), when its address is not
 * canonical. *reg is the register the address was made from (its base, else
 * its index), -1 when none. */
static bool gp_address(const void *uc, uint64_t regs[16], uintptr_t *addr, int *access, int *reg) {
  uint8_t code[16];
  uintptr_t pc = mt_os_fault_pc(uc);
  long got = pc ? mt_os_read_self(pc, code, sizeof(code)) : 0;
  mt_insn_mem_t op[2];
  int n = got > 0 ? mt_insn_mem(code, (size_t)got, op) : -1;
  if (n <= 0 || !mt_os_fault_regs(uc, regs))
    return false;
  for (int i = 0; i < n; i++) {
    uintptr_t a;
    if (!mt_insn_address(&op[i], regs, &a) || mt_insn_canonical(a))
      continue;
    *addr = a;
    *access = op[i].access == MT_INSN_READ    ? MT_ACCESS_READ
              : op[i].access == MT_INSN_WRITE ? MT_ACCESS_WRITE
                                              : MT_ACCESS_UNKNOWN;
    *reg = op[i].base >= 0 && !mt_insn_canonical(regs[op[i].base]) ? op[i].base
           : op[i].index >= 0                                      ? op[i].index
                                                                   : op[i].base;
    return true;
  }
  return false;
}

/* Eight bytes of memtype's pattern (heapcheck.h), read at any offset: a
 * pointer loaded from a freed block's trash or from a redzone. */
static bool is_pattern(uint64_t v) {
  for (unsigned r = 0; r < 64; r += 8)
    if (((v >> r) | (v << ((64 - r) & 63))) == 0xdeadc0dedeadc0deull)
      return true;
  return false;
}

/* Does v point into a freed block? (near: that block) */
static bool into_freed(uint64_t v, mt_near_t *near) {
  if (v < 4096 || !mt_insn_canonical(v))
    return false;
  return mt_block_near(v, 0, near) && !near->live && v >= near->start &&
         v - near->start < (near->size ? near->size : 1);
}

/* Does v point into the redzone of a live block, the pattern past its end
 * (or, for the second, before its start)? Only with redzones, whose bytes
 * are the pattern. Past the end is looked for first, in the registers and
 * then the stack: a pointer to a slot's front redzone is also what the
 * allocator's own scratch registers are left holding. */
static bool into_redzone_side(uint64_t v, mt_near_t *near, bool after) {
  if (!mt_hook_slack || v < 4096 || !mt_insn_canonical(v))
    return false;
  return mt_block_near(v, 0, near) && near->live && !near->guarded &&
         (after ? v >= near->start && v - near->start >= near->size : v < near->start);
}
static bool into_redzone_after(uint64_t v, mt_near_t *near) { return into_redzone_side(v, near, true); }
static bool into_redzone_before(uint64_t v, mt_near_t *near) { return into_redzone_side(v, near, false); }

#define FRAME_WORDS 64 /* the stack words looked at above rsp */

/* Where a pointer made of the pattern was most likely read: a register
 * other than rsp, else a word of the stack just above rsp (a local variable
 * of code built without optimisation, or a register saved by a callee), for
 * which into() holds. Its value
 * (0 when none), the block in near, and holder naming where it was. */
static uint64_t block_held(const uint64_t regs[16], int skip, bool (*into)(uint64_t, mt_near_t *),
                           mt_near_t *near, char *holder, size_t hlen) {
  for (int i = 0; i < 16; i++)
    if (i != MT_RSP && i != skip && into(regs[i], near)) {
      mt_snprintf(holder, hlen, "%s points", reg_names[i]);
      return regs[i];
    }
  uint64_t words[FRAME_WORDS];
  long got = mt_os_read_self((uintptr_t)regs[MT_RSP], words, sizeof(words));
  for (long k = 0; k < got / 8; k++)
    if (into(words[k], near)) {
      mt_snprintf(holder, hlen, "the stack word at rsp+%lu (a local or a saved register) points",
                  (unsigned long)(k * 8));
      return words[k];
    }
  return 0;
}

#define SOURCE_WORDS 128     /* a block's first words looked at for the bad pointer */
#define SOURCE_FRAME_WORDS 1024 /* the stack words above rsp looked at for its block (8 KiB:
                                   the frames of printf's machinery are large; a block must
                                   hold the very value, so a stale word rarely misleads) */

/* The live heap block a bad pointer v was most likely read from: one that a
 * register or a stack word above rsp points into and that holds v in one of
 * its first words. The offsets where it does (up to 3), their count, or 0
 * (near: the block). */
static int source_block(const uint64_t regs[16], uint64_t v, mt_near_t *near, long offs[3]) {
  static uint64_t words[SOURCE_FRAME_WORDS]; /* static: signal stacks are small (see below) */
  long got = mt_os_read_self((uintptr_t)regs[MT_RSP], words, sizeof(words));
  for (long k = -16; k < got / 8; k++) {
    uint64_t c = k < 0 ? regs[k + 16] : words[k];
    if ((k < 0 && k + 16 == MT_RSP) || c < 4096 || !mt_insn_canonical(c) ||
        !mt_block_near(c, 0, near) || !near->live || c < near->start ||
        c - near->start >= (near->size ? near->size : 1))
      continue;
    uint64_t body[SOURCE_WORDS];
    uintptr_t from = (near->start + 7) & ~(uintptr_t)7;
    size_t span = near->start + near->size > from ? near->start + near->size - from : 0;
    long n = mt_os_read_self(from, body, span < sizeof(body) ? span & ~(size_t)7 : sizeof(body));
    int found = 0;
    for (long w = 0; w < n / 8 && found < 3; w++)
      if (body[w] == v)
        offs[found++] = (long)(from - near->start) + w * 8;
    if (found)
      return found;
  }
  return 0;
}

static void set_block(mt_err_t *e, const mt_near_t *near) {
  e->block = near->start;
  e->size = near->size;
  e->type = near->type;
  e->free_pc = near->free_pc;
  e->alloc_stack = near->alloc_stack;
  e->free_stack = near->free_stack;
}

/* The report of a non-canonical address: which block a pointer of trash
 * came from, or what the address's bytes say. */
static void gp_report(mt_err_t *e, const uint64_t regs[16], int reg, char *detail, size_t len) {
  uint64_t v = reg >= 0 ? regs[reg] : e->addr;
  char where[24] = "";
  if (reg >= 0)
    mt_snprintf(where, sizeof(where), " in %s", reg_names[reg]);
  e->kind = MT_ERR_WILD_ACCESS;
  if (is_pattern(v)) {
    mt_near_t near;
    char holder[64];
    uint64_t from = block_held(regs, reg, into_freed, &near, holder, sizeof(holder));
    if (from) {
      e->kind = MT_ERR_USE_AFTER_FREE;
      e->addr = from;
      e->access = MT_ACCESS_READ;
      set_block(e, &near);
      mt_snprintf(detail, len, "a pointer read from this freed block (memtype's trash %p%s) "
                  "was used as an address; %s into the block: the read of the freed "
                  "block is at this line or just before it", (void *)v, where, holder);
      return;
    }
    if ((from = block_held(regs, reg, into_redzone_after, &near, holder, sizeof(holder))) ||
        (from = block_held(regs, reg, into_redzone_before, &near, holder, sizeof(holder)))) {
      e->kind = from < near.start ? MT_ERR_UNDERFLOW : MT_ERR_OVERFLOW;
      e->addr = from;
      e->access = MT_ACCESS_READ;
      set_block(e, &near);
      mt_snprintf(detail, len, "a pointer read from this block's redzone (memtype's pattern %p%s, "
                  "%s the block) was used as an address; %s there: the read is at this line or "
                  "just before it", (void *)v, where, from < near.start ? "before" : "past",
                  holder);
      return;
    }
    mt_snprintf(detail, len, "address %p is not canonical: it is made of memtype's trash "
                "pattern (%p%s), a pointer read from a freed block or from past a block's end",
                (void *)e->addr, (void *)v, where);
    return;
  }
  char text[9];
  unsigned i;
  for (i = 0; i < 8; i++) {
    unsigned char c = (unsigned char)(v >> (8 * i));
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
      break;
    text[i] = (char)c;
  }
  text[i] = '\0';
  if (i == 8)
    mt_snprintf(detail, len, "address %p is not canonical (no memory can be there): the "
                "pointer%s is text, \"%s\": the bytes of a string written over it",
                (void *)e->addr, where, text);
  else
    mt_snprintf(detail, len, "address %p is not canonical (no memory can be there): the "
                "pointer%s, %p, was overwritten or never set", (void *)e->addr, where, (void *)v);
  /* a heap block that holds the same bytes: the object whose pointer was
   * overwritten (a copy overflowing inside it), or the source of the copy
   * that overwrote it (a stack buffer filled from a heap string) */
  static char source[320];
  static int busy; /* two threads crashing at once: the second does without (never reset: the
                      process dies of its crash) */
  mt_near_t near;
  if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE))
    return;
  long offs[3];
  int found = source_block(regs, v, &near, offs);
  if (found) {
    char type[256] = "", at[64] = "";
    if (near.type >= 0)
      mt_report_type_name((unsigned)near.type, type, sizeof(type));
    size_t p = 0;
    for (int k = 0; k < found; k++)
      p += mt_snprintf(at + p, sizeof(at) - p, "%s%ld", k == 0 ? "" : k + 1 < found ? ", " : " and ",
                       offs[k]);
    mt_snprintf(source, sizeof(source), "the same 8 bytes are at byte%s %s of a %zu-byte block%s%s "
                "(still allocated): the pointer was read from there, or its bytes copied from "
                "there", found > 1 ? "s" : "", at, near.size, type[0] ? " of type " : "", type);
    e->detail2 = source;
  }
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
  char detail[320];
  uint64_t regs[16];
  uintptr_t ga = 0;
  int gacc = 0, greg = -1;
  if (found) {
    e.block = near.start;
    e.size = near.size;
    e.type = near.type;
    e.free_pc = near.free_pc;
    e.alloc_stack = near.alloc_stack;
    e.free_stack = near.free_stack;
  }
  if (sig == SIGSEGV && si->si_code > 0 && mt_os_fault_is_fetch(uc, a)) {
    /* a jump or call into data: the heap is not executable (nor glibc's) */
    bool inside = found && a >= near.start && a - near.start < (near.size ? near.size : 1);
    e.kind = MT_ERR_SEGV;
    e.access = MT_ACCESS_UNKNOWN;
    if (found || near.in_heap)
      mt_snprintf(detail, sizeof(detail), "the program jumped to %p (an instruction fetch: "
                  "the instruction pointer is that address), %s; memory that malloc returns is "
                  "not executable, under glibc as under memtype: a function pointer "
                  "overwritten, or code copied into a block and called", (void *)a,
                  inside ? (near.live ? "inside an allocated block" : "inside a freed block")
                  : found ? "in memtype's heap, near a block" : "in memtype's heap");
    else
      mt_snprintf(detail, sizeof(detail), "the program jumped to %p (an instruction fetch: "
                  "the instruction pointer is that address), not in memtype's heap: a call "
                  "through a %s function pointer, or a return address overwritten", (void *)a,
                  a < 4096 ? "NULL" : "bad");
  } else if (misaligned) {
    e.kind = MT_ERR_SEGV;
    mt_snprintf(detail, sizeof(detail), "an aligned SSE/AVX access (movaps, movdqa...) to %p, "
                "an address not aligned to the operand's size%s", (void *)a,
                found ? "" : "; not in memtype's heap");
  } else if (found) {
    mt_snprintf(detail, sizeof(detail), "address %p is %s memtype's heap, in no block's memory; "
                "the nearest block is %s%s", (void *)a,
                near.in_heap ? "in" : "not in", near.live ? "allocated" : "freed",
                near.guarded ? " (guarded)" : "");
  } else if (si->si_code == SI_KERNEL && gp_address(uc, regs, &ga, &gacc, &greg)) {
    e.addr = ga;
    e.access = gacc;
    gp_report(&e, regs, greg, detail, sizeof(detail));
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
    bool spoken = si->si_code > 0 && handed && handed_addr == (uintptr_t)si->si_addr &&
                  handed_pc == pc;
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
  handed = true;
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

/* The last guard fault this thread went on from (the page opened). */
static MT_TLS uintptr_t reopened_addr, reopened_pc;
static MT_TLS unsigned reopened_times;

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
  /* Not a guard page's fault: a jump into a guarded block (the heap is not
   * executable: opening the page would not let it run, and the same fault
   * would come back forever), or the same access faulting again and again
   * right after its page was opened (something opening cannot mend). */
  uintptr_t pc = mt_os_fault_pc(uc);
  if (b != NULL && reopened_addr == a && reopened_pc == pc) {
    reopened_times++; /* legitimate only when its page was closed again each time */
  } else {
    reopened_times = 0;
  }
  if (b == NULL || reopened_times >= 16 || mt_os_fault_is_fetch(uc, a)) {
    reopened_addr = reopened_pc = 0;
    reopened_times = 0;
    errno = saved;
    chain(sig, si, uc);
    return;
  }
  report(b, a, uc);
  reopened_addr = a;
  reopened_pc = pc;
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
