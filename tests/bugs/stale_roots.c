/* stale_roots - leaks whose only copies left are stale words on the stack,
 * below where the program called exit (left there by the allocation path,
 * which runs on the program's stack) or on memtype's signal stack (the
 * registers a handled fault saved there): the leak scan must still call
 * them definitely lost, as valgrind does. And look-alikes whose pointer is
 * live at exit: never lost.
 *   ret        a strdup'd block dropped in a callee; main returns
 *   exit       the same, then exit(0) from a callee of main
 *   _exit      the same, then _exit(0)
 *   fault      a read 1 byte past a block (a guard page's fault with
 *              MEMTYPE_GUARD='*' and MEMTYPE_ON_ERROR=continue), then the
 *              block dropped; main returns
 *   report     poll() given 2 entries in a 15-byte block (reported at the call,
 *              MEMTYPE_ON_ERROR=continue), the block dropped; main returns
 *   mainlocal  the same with the block held by a local of main's own frame
 *              (valgrind's badpoll): main returns, and exit's own frames
 *              (__run_exit_handlers') stand where main's did, the word not
 *              overwritten
 *   thread     a thread drops a strdup'd block, then blocks in read(); main
 *              exits meanwhile: the thread's stack below where it is
 *              blocked is dead frames
 *   heldthread the same, the thread's block held by a local of the frame
 *              that blocks: still reachable
 *   held       the block kept in a global: still reachable
 *   heldlocal  exit(0) called from a function whose local holds the block
 *              (a live frame above exit's): still reachable
 *   heldreg    exit(0) called while the block's only pointer is in a
 *              callee-saved register (r12) of the caller's frame: exit's own
 *              frames keep it, below where the roots start, or it is still in
 *              the register: still reachable (valgrind reads the registers)
 *   heldreg_exit  the same through _exit(0) */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *volatile kept;

__attribute__((noinline)) static void drop(void) {
  char *p = strdup("abc");
  p[0] = 'x';
}

__attribute__((noinline)) static void drop_after_fault(void) {
  char *p = strdup("abcdefghijklmnopqrstuvw"); /* 24 bytes */
  printf("%d\n", ((volatile char *)p)[24] != 0x7f);
}

__attribute__((noinline)) static void drop_after_report(void) {
  static volatile nfds_t two = 2; /* not known to the compiler: no warning */
  struct pollfd *p = malloc(2 * sizeof(struct pollfd) - 1);
  p[0].fd = 0;
  p[0].events = 0;
  poll(p, two, 0);
}

__attribute__((noinline)) static void exit_now(int how) {
  fflush(stdout);
  if (how)
    _exit(0);
  exit(0);
}

__attribute__((noinline)) static void exit_holding(void) {
  char *volatile p = strdup("abc");
  puts("done");
  exit(p[0] == 'a' ? 0 : 1);
}

/* The pointer only in r12, never stored in this frame: live across the
 * call (its use after it), so kept in a callee-saved register. */
__attribute__((noinline)) static void exit_holding_in_register(int how) {
  register char *held __asm__("r12") = strdup("abc");
  __asm__ volatile("" : "+r"(held));
  puts("done");
  exit_now(how);
  __asm__ volatile("" : : "r"(held));
}

static int ready[2], never[2];

__attribute__((noinline)) static void block_holding(void) {
  char *volatile p = strdup("abc");
  char c;
  if (write(ready[1], "r", 1) != 1 || read(never[0], &c, 1) != 1 || p[0] != 'a')
    _exit(3);
}

static void *worker(void *arg) {
  char c;
  if (arg)
    block_holding();
  drop();
  if (write(ready[1], "r", 1) != 1 || read(never[0], &c, 1) != 1)
    _exit(3);
  return NULL;
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ret";
  if (!strcmp(m, "mainlocal")) {
    static volatile nfds_t two = 2;
    struct pollfd *volatile p = malloc(2 * sizeof(struct pollfd) - 1);
    p[0].fd = 0;
    p[0].events = 0;
    poll(p, two, 0);
    puts("done");
    return 0;
  }
  if (!strcmp(m, "thread") || !strcmp(m, "heldthread")) {
    pthread_t t;
    char c;
    if (pipe(ready) || pipe(never) ||
        pthread_create(&t, NULL, worker, m[0] == 'h' ? (void *)1 : NULL) ||
        read(ready[0], &c, 1) != 1)
      return 2;
    usleep(20000); /* into its read() */
    puts("done");
    fflush(stdout);
    exit(0);
  }
  if (!strcmp(m, "heldlocal"))
    exit_holding();
  if (!strcmp(m, "heldreg") || !strcmp(m, "heldreg_exit"))
    exit_holding_in_register(m[7] != 0);
  if (!strcmp(m, "fault"))
    drop_after_fault();
  else if (!strcmp(m, "report"))
    drop_after_report();
  else if (!strcmp(m, "held"))
    kept = strdup("abc");
  else
    drop();
  puts("done");
  if (!strcmp(m, "exit"))
    exit_now(0);
  if (!strcmp(m, "_exit"))
    exit_now(1);
  return 0;
}
