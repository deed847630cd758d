/* test_unwind.c - memtype's own unwinder (core/sys/unwind.c): "capture now"
 * gives the callers' return addresses, the same on a decoded and on a cached
 * walk; "capture from ucontext" starts at the faulting instruction itself
 * (frame #0 = the ucontext's pc, even in a leaf that has pushed a register)
 * and goes on through its callers; a handler on a sigaltstack sees, past the
 * signal trampoline, the code the signal interrupted; a thread's stack ends
 * at its start; no descriptor is opened. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "modules.h"
#include "symtab.h"
#include "unit.h"
#include "unwind.h"

#define NOINLINE __attribute__((noinline))
#define KEEP __asm__ volatile("" ::: "memory")

static const char *name_of(uintptr_t pc) {
  const char *name;
  uintptr_t start;
  return mt_symtab_lookup(pc, &name, &start) ? name : "?";
}

/* The kernel's return into libc's signal trampoline (mov $15,%rax; syscall).
 * Told by its bytes, not its name: __restore_rt has a name only where libc's
 * debug symbols are installed (Debian's libc6-dbg). */
static bool is_trampoline(uintptr_t pc) {
  static const unsigned char code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  return pc != 0 && memcmp((const void *)pc, code, sizeof(code)) == 0;
}

/* Whether pc lies in the C library (by the loader's own map, not by a name). */
static bool in_libc(uintptr_t pc) {
  Dl_info di;
  return dladdr((void *)pc, &di) && di.dli_fname && strstr(di.dli_fname, "libc.so") != NULL;
}

/* ---- capture now ---- */

static uintptr_t ret_c, ret_b;
static uintptr_t got[32];
static unsigned ngot;

NOINLINE static void cap_c(void) {
  ret_c = (uintptr_t)__builtin_return_address(0);
  ngot = mt_unwind_capture(got, 32);
  KEEP;
}
NOINLINE static void cap_b(void) {
  ret_b = (uintptr_t)__builtin_return_address(0);
  cap_c();
  KEEP;
}
NOINLINE static void cap_a(void) {
  cap_b();
  KEEP;
}

NOINLINE static void cap_from_one_site(void) {
  cap_a();
  KEEP;
}

START_TEST(capture_now_gives_the_callers) {
  mt_modules_sync();
  uintptr_t first[32];
  unsigned nfirst = 0;
  cap_from_one_site(); /* decoded */
  nfirst = ngot;
  memcpy(first, got, sizeof(first));
  cap_from_one_site(); /* every rule from the cache */
  ck_assert_uint_ge(nfirst, 4);
  ck_assert_str_eq(name_of(first[0]), "cap_c"); /* mt_unwind_capture's return address */
  ck_assert_uint_eq(first[1], ret_c);
  ck_assert_uint_eq(first[2], ret_b);
  ck_assert_str_eq(name_of(first[2]), "cap_a");
  ck_assert_uint_eq(ngot, nfirst);
  for (unsigned i = 0; i < 4; i++) /* the same to cap_from_one_site's caller */
    ck_assert_msg(first[i] == got[i], "frame %u: %s %#lx then %s %#lx", i, name_of(first[i]),
                  (unsigned long)first[i], name_of(got[i]), (unsigned long)got[i]);
  /* max is honoured */
  ck_assert_uint_eq(mt_unwind_capture(got, 2), 2);
  ck_assert_uint_eq(mt_unwind_capture(got, 0), 0);
}
END_TEST

/* ---- the tight loop and its front table against the general walk ---- */

/* A chain of 24 levels of three shapes: plain (CFA = rsp + n), with a frame
 * pointer (CFA = rbp + 16, rbp saved), and one with a 40 KiB frame (an
 * offset the front table cannot hold: the general step takes it). Each
 * level notes its return address, which must be in the capture, in order;
 * the innermost captures twice, the same frames both times. */
#define CHAIN 24
static uintptr_t chain_ra[CHAIN + 1];
static uintptr_t chain_got[2][64];
static unsigned chain_n[2];

NOINLINE static void chain(int i);
NOINLINE __attribute__((optimize("no-omit-frame-pointer"))) static void chain_fp(int i) {
  chain_ra[i] = (uintptr_t)__builtin_return_address(0);
  chain(i + 1);
  KEEP;
}
NOINLINE static void chain_big(int i) {
  volatile char big[40 << 10];
  big[0] = (char)i;
  chain_ra[i] = (uintptr_t)__builtin_return_address(0);
  chain(i + 1);
  big[sizeof(big) - 1] = big[0];
}
NOINLINE static void chain(int i) {
  if (i == CHAIN) {
    chain_ra[i] = (uintptr_t)__builtin_return_address(0);
    for (unsigned k = 0; k < 2; k++) /* the first may decode rules, the second finds them all */
      chain_n[k] = mt_unwind_capture(chain_got[k], 64);
    return;
  }
  if (i % 3 == 1) {
    chain_fp(i);
  } else if (i == 11) {
    chain_big(i);
  } else {
    chain_ra[i] = (uintptr_t)__builtin_return_address(0);
    chain(i + 1);
  }
  KEEP;
}

START_TEST(the_tight_loop_gives_the_general_walks_frames) {
  mt_modules_sync();
  for (unsigned round = 0; round < 3; round++) {
    chain(0);
    ck_assert_uint_eq(chain_n[0], chain_n[1]);
    ck_assert_str_eq(name_of(chain_got[1][0]), "chain");
    for (unsigned k = 1; k < chain_n[0]; k++) /* (#0: two call sites, the loop unrolled) */
      ck_assert_msg(chain_got[0][k] == chain_got[1][k], "round %u frame %u: %s %#lx then %s %#lx",
                    round, k, name_of(chain_got[0][k]), (unsigned long)chain_got[0][k],
                    name_of(chain_got[1][k]), (unsigned long)chain_got[1][k]);
    /* frame #0 is chain's own (the capture's return address); then every
     * frame's return address, innermost first */
    ck_assert_uint_ge(chain_n[1], CHAIN + 2);
    unsigned f = 1;
    for (int i = CHAIN; i >= 0; i--, f++) { /* in order; chain_fp and chain_big add chain's frame */
      while (f < chain_n[1] && chain_got[1][f] != chain_ra[i])
        f++;
      ck_assert_msg(f < chain_n[1], "no frame %s for chain level %d", name_of(chain_ra[i]), i);
    }
  }
}
END_TEST

/* ---- capture from a fault's ucontext ---- */

/* A leaf that pushes rbx, then loads from rdi: the load faults on a
 * PROT_NONE page. uw_fault_insn is the faulting instruction. */
extern void uw_fault_leaf(const void *p);
extern char uw_fault_insn[];
__asm__(".text\n"
        ".globl uw_fault_leaf\n.type uw_fault_leaf,@function\n"
        "uw_fault_leaf:\n"
        "  .cfi_startproc\n"
        "  push %rbx\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %rbx, 0\n"
        ".globl uw_fault_insn\n"
        "uw_fault_insn:\n"
        "  mov (%rdi), %rbx\n"
        "  pop %rbx\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  .cfi_restore %rbx\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size uw_fault_leaf, .-uw_fault_leaf\n");

static sigjmp_buf back;
static uintptr_t fault_pcs[32];
static unsigned nfault;
static uintptr_t ret_fault_caller;

static void on_segv(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)si;
  mt_modules_hold++; /* as memtype's own handlers: no loader lock here */
  nfault = mt_unwind_capture_from(uc, fault_pcs, 32);
  mt_modules_hold--;
  siglongjmp(back, 1);
}

NOINLINE static void fault_caller(const void *p) {
  uw_fault_leaf(p);
  KEEP;
}
NOINLINE static void fault_top(const void *p) {
  ret_fault_caller = (uintptr_t)__builtin_return_address(0);
  fault_caller(p);
  KEEP;
}

START_TEST(capture_from_a_fault_starts_at_the_faulting_instruction) {
  mt_modules_sync();
  void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ck_assert(page != MAP_FAILED);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(back, 1) == 0)
    fault_top(page);
  signal(SIGSEGV, SIG_DFL);
  munmap(page, 4096);
  ck_assert_uint_ge(nfault, 4);
  ck_assert_uint_eq(fault_pcs[0], (uintptr_t)uw_fault_insn);
  ck_assert_str_eq(name_of(fault_pcs[1]), "fault_caller");
  ck_assert_str_eq(name_of(fault_pcs[2]), "fault_top");
  ck_assert_str_eq(name_of(fault_pcs[3]), name_of(ret_fault_caller));
}
END_TEST

/* ---- a handler on a sigaltstack ---- */

static uintptr_t alt_pcs[32];
static unsigned nalt;

static void on_usr1(int sig) {
  (void)sig;
  nalt = mt_unwind_capture(alt_pcs, 32);
}

NOINLINE static void alt_raiser(void) {
  raise(SIGUSR1);
  KEEP;
}

START_TEST(a_handler_on_an_altstack_sees_the_interrupted_code) {
  mt_modules_sync();
  static char altstack[64 * 1024];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0};
  ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  alt_raiser();
  bool tramp = false, raiser = false;
  for (unsigned i = 0; i < nalt; i++) {
    if (is_trampoline(alt_pcs[i]))
      tramp = true;
    if (tramp && strcmp(name_of(alt_pcs[i]), "alt_raiser") == 0)
      raiser = true;
  }
  ck_assert_msg(tramp && raiser, "%u frames, trampoline %d, interrupted code %d", nalt, tramp,
                raiser);
}
END_TEST

/* ---- a thread ---- */

static void *thread_capture(void *arg) {
  (void)arg;
  ngot = mt_unwind_capture(got, 32);
  return NULL;
}

START_TEST(a_threads_stack_ends_at_its_start) {
  mt_modules_sync();
  pthread_t t;
  pthread_create(&t, NULL, thread_capture, NULL);
  pthread_join(t, NULL);
  ck_assert_uint_ge(ngot, 2);
  ck_assert_uint_le(ngot, 4); /* thread_capture, start_thread, clone: the end */
  ck_assert_str_eq(name_of(got[0]), "thread_capture");
  /* start_thread: in libc, named only where its full symbol table is. */
  ck_assert_msg(in_libc(got[1]), "frame 1 %s %#lx is not in libc", name_of(got[1]),
                (unsigned long)got[1]);
}
END_TEST

/* ---- no descriptor ---- */

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

START_TEST(no_descriptor_is_opened) {
  int before = count_fds();
  for (int i = 0; i < 100; i++)
    cap_a();
  pthread_t t;
  pthread_create(&t, NULL, thread_capture, NULL);
  pthread_join(t, NULL);
  ck_assert_int_eq(count_fds(), before);
}
END_TEST


/* ---- the memo ---- */

/* memo_at is called from two callers of the same frame size (memo_p and
 * memo_q, told apart by the word they store): the same stack pointer,
 * different frames; run_p and run_q call them with the memo in a mode, from
 * one call site each. Three frames: memo_at, memo_p or memo_q, run_p or
 * run_q. */
static uintptr_t memo_pcs[24];
static unsigned memo_n;
static mt_unwind_memo_t memo_ref;
static volatile int memo_slot;

NOINLINE static void memo_at(void) {
  memo_n = mt_unwind_capture_memo(memo_pcs, 3, 0, 1234, &memo_ref);
  KEEP;
}
NOINLINE static void memo_p(void) { memo_at(); memo_slot = 1; KEEP; }
NOINLINE static void memo_q(void) { memo_at(); memo_slot = 2; KEEP; }
NOINLINE static void run_p(int mode) {
  int saved = mt_unwind_memo_mode;
  mt_unwind_memo_mode = mode;
  memo_p();
  mt_unwind_memo_mode = saved;
  KEEP;
}
NOINLINE static void run_q(int mode) {
  int saved = mt_unwind_memo_mode;
  mt_unwind_memo_mode = mode;
  memo_q();
  mt_unwind_memo_mode = saved;
  KEEP;
}
NOINLINE static void run_p_deeper(int mode) { run_p(mode); KEEP; }

static unsigned walk_of(void (*run)(int), uintptr_t *out) {
  run(0);
  memcpy(out, memo_pcs, sizeof(memo_pcs));
  return memo_n;
}

START_TEST(a_remembered_stack_is_the_walks_and_keeps_the_callers_value) {
  uintptr_t walked[24];
  unsigned n = walk_of(run_p, walked);
  ck_assert_uint_eq(n, 3);
  run_p(1); /* remembered now (its rules cached by the walk before) */
  ck_assert_ptr_nonnull(memo_ref.word);
  ck_assert_uint_eq(memo_ref.val, 0);
  ck_assert_mem_eq(memo_pcs, walked, n * sizeof(uintptr_t));
  mt_unwind_memo_note(&memo_ref, 77);
  run_p_deeper(1); /* another stack pointer: not this entry */
  ck_assert_uint_eq(memo_ref.val, 0);
  run_p(1);
  ck_assert_uint_eq(memo_ref.val, 77);
  ck_assert_uint_eq(memo_n, n);
  /* mode 2 fills the frames too, and they are the walk's */
  run_p(2);
  ck_assert_uint_eq(memo_ref.val, 77);
  ck_assert_mem_eq(memo_pcs, walked, n * sizeof(uintptr_t));
}
END_TEST

START_TEST(another_caller_at_the_same_stack_pointer_is_not_taken_for_the_remembered_one) {
  uintptr_t wp[24], wq[24];
  unsigned np = walk_of(run_p, wp), nq = walk_of(run_q, wq);
  ck_assert_uint_eq(np, 3);
  ck_assert_uint_eq(nq, 3);
  ck_assert(wp[1] != wq[1]); /* memo_p's and memo_q's return addresses */
  /* (the frames are filled when no value stands for them) */
  for (int round = 0; round < 3; round++) {
    memset(memo_pcs, 0, sizeof(memo_pcs));
    run_p(1);
    if (memo_ref.val == 0) {
      ck_assert_mem_eq(memo_pcs, wp, np * sizeof(uintptr_t));
      mt_unwind_memo_note(&memo_ref, 1);
    }
    ck_assert_uint_ne(memo_ref.val, 2);
    memset(memo_pcs, 0, sizeof(memo_pcs));
    run_q(1); /* another path to the same capture */
    if (memo_ref.val == 0) {
      ck_assert_mem_eq(memo_pcs, wq, nq * sizeof(uintptr_t));
      mt_unwind_memo_note(&memo_ref, 2);
    }
    ck_assert_uint_ne(memo_ref.val, 1);
  }
  run_q(2); /* mode 2: the frames, filled and compared with a walk */
  ck_assert_mem_eq(memo_pcs, wq, nq * sizeof(uintptr_t));
  run_p(1);
  ck_assert_uint_eq(memo_ref.val, 1);
  run_q(1);
  ck_assert_uint_eq(memo_ref.val, 2);
}
END_TEST

START_TEST(a_value_noted_after_the_entry_was_refilled_is_dropped) {
  run_p(0);
  run_p_deeper(1);
  run_p_deeper(1);
  mt_unwind_memo_t stale = memo_ref;
  ck_assert_ptr_nonnull(stale.word);
  ck_assert_uint_eq(stale.val, 0);
  /* the entry refilled in between (as by a signal handler's capture):
   * its sequence number changed as a refill changes it */
  *stale.word += (uint64_t)1 << 32;
  mt_unwind_memo_note(&stale, 99);
  run_p_deeper(1);
  ck_assert_uint_eq(memo_ref.val, 0);
  mt_unwind_memo_note(&memo_ref, 98); /* the entry's own: kept */
  run_p_deeper(1);
  ck_assert_uint_eq(memo_ref.val, 98);
}
END_TEST

START_TEST(the_memo_off_walks_every_time) {
  run_p(0);
  ck_assert_ptr_null(memo_ref.word);
  run_p(0);
  ck_assert_ptr_null(memo_ref.word);
  ck_assert_uint_eq(memo_ref.val, 0);
}
END_TEST

/* mt_unwind_memo_value: value_of numbers the frames it is given (its
 * calls counted), from two callers at the same stack pointer as above. */
static unsigned value_calls, value_n;
static uintptr_t value_pcs[24];
static uint32_t value_seen;
static bool value_keep = true;

static uint32_t value_of(uintptr_t from, uintptr_t key, const uintptr_t *pcs, unsigned n,
                         bool *keep) {
  (void)from;
  (void)key;
  value_calls++;
  value_n = n;
  memcpy(value_pcs, pcs, n * sizeof(uintptr_t));
  *keep = value_keep;
  return n == 3 ? (uint32_t)(pcs[1] & 0xffff) + 1 : 0; /* by the middle frame */
}

NOINLINE static void value_at(void) {
  value_seen = mt_unwind_memo_value(3, 0, 4321, value_of);
  KEEP;
}
NOINLINE static void value_p(void) { value_at(); memo_slot = 1; KEEP; }
NOINLINE static void value_q(void) { value_at(); memo_slot = 2; KEEP; }
NOINLINE static void value_run_p(int mode) {
  int saved = mt_unwind_memo_mode;
  mt_unwind_memo_mode = mode;
  value_p();
  mt_unwind_memo_mode = saved;
  KEEP;
}
NOINLINE static void value_run_q(int mode) {
  int saved = mt_unwind_memo_mode;
  mt_unwind_memo_mode = mode;
  value_q();
  mt_unwind_memo_mode = saved;
  KEEP;
}

START_TEST(a_remembered_value_is_given_without_a_call_and_only_for_its_own_frames) {
  value_run_p(0); /* the walk: its rules cached */
  ck_assert_uint_eq(value_n, 3);
  uint32_t vp = value_seen;
  value_run_q(0);
  uint32_t vq = value_seen;
  ck_assert_uint_ne(vp, 0);
  ck_assert_uint_ne(vp, vq); /* two callers, two values */
  for (int round = 0; round < 3; round++) {
    value_run_p(1);
    ck_assert_uint_eq(value_seen, vp);
    value_run_q(1);
    ck_assert_uint_eq(value_seen, vq);
  }
  unsigned calls = value_calls;
  value_run_p(1);
  value_run_q(1);
  ck_assert_uint_eq(value_calls, calls); /* both remembered: no call */
  ck_assert_uint_eq(value_seen, vq);
  value_run_p(2); /* checked: walked, computed and compared */
  ck_assert_uint_eq(value_calls, calls + 1);
  ck_assert_uint_eq(value_seen, vp);
}
END_TEST

START_TEST(a_value_not_to_be_kept_is_computed_every_time) {
  value_keep = false;
  value_run_p(0);
  unsigned calls = value_calls;
  value_run_p(1);
  value_run_p(1);
  value_keep = true;
  ck_assert_uint_eq(value_calls, calls + 2);
  ck_assert_uint_eq(value_n, 3);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("unwind");
  TCase *t = tcase_create("unwind");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, capture_now_gives_the_callers);
  tcase_add_test(t, the_tight_loop_gives_the_general_walks_frames);
  tcase_add_test(t, capture_from_a_fault_starts_at_the_faulting_instruction);
  tcase_add_test(t, a_handler_on_an_altstack_sees_the_interrupted_code);
  tcase_add_test(t, a_threads_stack_ends_at_its_start);
  tcase_add_test(t, no_descriptor_is_opened);
  tcase_add_test(t, a_remembered_stack_is_the_walks_and_keeps_the_callers_value);
  tcase_add_test(t, another_caller_at_the_same_stack_pointer_is_not_taken_for_the_remembered_one);
  tcase_add_test(t, a_value_noted_after_the_entry_was_refilled_is_dropped);
  tcase_add_test(t, the_memo_off_walks_every_time);
  tcase_add_test(t, a_remembered_value_is_given_without_a_call_and_only_for_its_own_frames);
  tcase_add_test(t, a_value_not_to_be_kept_is_computed_every_time);
  suite_add_tcase(s, t);
  return s;
}

MT_UNIT_MAIN(suite)
