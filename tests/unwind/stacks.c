/* stacks: one scenario per run (argv[1]); each ends in a double free whose
 * report's "detected at" stack is memtype's capture of the thread's stack at
 * that call. test_stacks.py compares it with gdb's bt at the same place
 * (uw_* frames and main, in order), and checks a corrupted stack ends
 * cleanly. Run with MEMTYPE_ON_ERROR=continue. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define KEEP __asm__ volatile("" ::: "memory") /* no tail call */

static void *freed;

/* The one place every scenario reports from (gdb breaks here). */
NOINLINE void uw_report_here(void) {
  free(freed); /* the second free of the block */
  KEEP;
}

static void *block(void) {
  void *p = malloc(24);
  uintptr_t a = (uintptr_t)p;
  free(p);
  __asm__ volatile("" : "+r"(a)); /* the address only: no use after free */
  return (void *)a;
}

/* 1. nested C calls */
NOINLINE void uw_c3(int n) { if (n) uw_report_here(); KEEP; }
NOINLINE void uw_c2(int n) { uw_c3(n + 1); KEEP; }
NOINLINE void uw_c1(int n) { uw_c2(n + 1); KEEP; }

/* 2. a libc callback: qsort's comparator allocates and reports */
static int reported;
NOINLINE int uw_cmp(const void *a, const void *b) {
  if (!reported++) {
    void *t = malloc(16); /* the comparator allocates too */
    uw_report_here();
    free(t);
  }
  return *(const int *)a - *(const int *)b;
}
NOINLINE void uw_sort(void) {
  int v[64];
  for (int i = 0; i < 64; i++)
    v[i] = (i * 37) % 64;
  qsort(v, 64, sizeof(int), uw_cmp);
  KEEP;
}

/* 3. a signal handler, raised synchronously */
NOINLINE void uw_handler(int sig) {
  (void)sig;
  void *t = malloc(32); /* the handler allocates */
  uw_report_here();
  free(t);
}
NOINLINE void uw_raise(void) { raise(SIGUSR1); KEEP; }
NOINLINE void uw_sig_top(void) { uw_raise(); KEEP; }

/* 4. a signal interrupting a loop (asynchronous: any pc of uw_spin) */
static volatile sig_atomic_t rang;
NOINLINE void uw_alarm(int sig) {
  (void)sig;
  if (!rang)
    uw_report_here();
  rang = 1;
}
NOINLINE void uw_spin(void) {
  while (!rang) {
  }
}
NOINLINE void uw_async_top(void) { uw_spin(); KEEP; }

/* 5. a thread */
NOINLINE void uw_thread_inner(void) { uw_report_here(); KEEP; }
NOINLINE void *uw_thread_main(void *arg) { uw_thread_inner(); KEEP; return arg; }

/* 7. bsearch's comparator reports (a second libc callback) */
static int searched;
NOINLINE int uw_bcmp(const void *key, const void *elt) {
  if (!searched++)
    uw_report_here();
  return *(const int *)key - *(const int *)elt;
}
NOINLINE void uw_search(void) {
  int v[64], key = 41;
  for (int i = 0; i < 64; i++)
    v[i] = i;
  if (bsearch(&key, v, 64, sizeof(int), uw_bcmp) == NULL)
    abort();
  KEEP;
}

/* 8. an atexit handler: reports from inside exit() */
NOINLINE void uw_atexit_inner(void) { uw_report_here(); KEEP; }
NOINLINE void uw_at_exit(void) { uw_atexit_inner(); KEEP; }

/* 9. clone(2) through glibc's wrapper: a child sharing the address space
 * (and, with no CLONE_SETTLS, the parent's thread pointer: the parent only
 * waits) on a stack of its own that no pthread describes. */
NOINLINE void uw_clone_inner(void) { uw_report_here(); KEEP; }
NOINLINE int uw_clone_main(void *arg) { uw_clone_inner(); KEEP; return arg != NULL; }

/* 6. a corrupted stack: uw_smash overwrites its own return address with
 * garbage while it calls uw_report_here, then puts it back. */
extern void uw_smash(uintptr_t garbage);
__asm__(".text\n"
        ".globl uw_smash\n"
        ".type uw_smash,@function\n"
        "uw_smash:\n"
        "  .cfi_startproc\n"
        "  push %rbx\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %rbx, 0\n"
        "  mov 8(%rsp), %rbx\n"  /* the real return address */
        "  mov %rdi, 8(%rsp)\n"  /* garbage in its place */
        "  call uw_report_here\n"
        "  mov %rbx, 8(%rsp)\n"
        "  pop %rbx\n"
        "  .cfi_adjust_cfa_offset -8\n"
        "  .cfi_restore %rbx\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size uw_smash, .-uw_smash\n");
/* uw_smash_rbp keeps a frame pointer (its CFA is rbp + 16) and sets rbp to
 * garbage while it calls uw_report_here: its caller is at an address that
 * cannot be read. */
extern void uw_smash_rbp(uintptr_t garbage);
__asm__(".text\n"
        ".globl uw_smash_rbp\n"
        ".type uw_smash_rbp,@function\n"
        "uw_smash_rbp:\n"
        "  .cfi_startproc\n"
        "  push %rbp\n"
        "  .cfi_adjust_cfa_offset 8\n"
        "  .cfi_rel_offset %rbp, 0\n"
        "  mov %rsp, %rbp\n"
        "  .cfi_def_cfa_register %rbp\n"
        "  push %rbx\n"
        "  .cfi_offset %rbx, -24\n"
        "  sub $8, %rsp\n"
        "  mov %rbp, %rbx\n"
        "  mov %rdi, %rbp\n" /* garbage as the frame pointer */
        "  call uw_report_here\n"
        "  mov %rbx, %rbp\n"
        "  add $8, %rsp\n"
        "  pop %rbx\n"
        "  pop %rbp\n"
        "  .cfi_def_cfa %rsp, 8\n"
        "  ret\n"
        "  .cfi_endproc\n"
        ".size uw_smash_rbp, .-uw_smash_rbp\n");
static const char not_code[] = "data, not code";
NOINLINE void uw_corrupt_top(uintptr_t garbage) { uw_smash(garbage); KEEP; }

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  freed = block();
  if (strcmp(what, "nested") == 0) {
    uw_c1(1);
  } else if (strcmp(what, "qsort") == 0) {
    uw_sort();
  } else if (strcmp(what, "signal") == 0) {
    signal(SIGUSR1, uw_handler);
    uw_sig_top();
  } else if (strcmp(what, "async") == 0) {
    signal(SIGALRM, uw_alarm);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    uw_async_top();
  } else if (strcmp(what, "thread") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, uw_thread_main, NULL);
    pthread_join(t, NULL);
  } else if (strcmp(what, "bsearch") == 0) {
    uw_search();
  } else if (strcmp(what, "atexit") == 0) {
    atexit(uw_at_exit); /* runs after "done" is printed, when main returns */
  } else if (strcmp(what, "clone") == 0) {
    size_t size = 256 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
      return 1;
    int pid = clone(uw_clone_main, stack + size, CLONE_VM | SIGCHLD, NULL);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
      return 1;
  } else if (strcmp(what, "garbage") == 0) {
    uw_corrupt_top((uintptr_t)0x3f1e2d3c4b5a6978ull); /* points nowhere */
  } else if (strcmp(what, "data") == 0) {
    uw_corrupt_top((uintptr_t)not_code); /* readable, in the program, not code */
  } else if (strcmp(what, "zero") == 0) {
    uw_corrupt_top(0);
  } else if (strcmp(what, "rbp") == 0) {
    uw_smash_rbp((uintptr_t)0x3f1e2d3c4b5a6978ull); /* an unreadable frame pointer */
  } else {
    fprintf(stderr, "usage: stacks nested|qsort|bsearch|atexit|signal|async|thread|clone|garbage|data|zero|rbp\n");
    return 2;
  }
  printf("done %s\n", what);
  return 0;
}
