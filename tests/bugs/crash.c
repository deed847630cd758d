/* crash.c - faults the program does not handle, and one it does:
 *   wild     read 40,000 bytes past a 20-byte block (far from any block)
 *   null     read through a NULL pointer
 *   trash    read through a pointer made of memtype's trash pattern (not
 *            canonical on x86-64: the kernel gives no address)
 *   bus      read a mapped page past the end of an (empty) file: SIGBUS
 *   recover  its own SIGSEGV handler: the NULL read is caught, siglongjmp
 *            back, "recovered" (memtype must stay silent)
 *   ok       no fault at all */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf back;

static void on_segv(int sig) {
  (void)sig;
  siglongjmp(back, 1);
}

__attribute__((noinline)) static char *make_small(void) {
  char *p = malloc(20);
  memset(p, 'a', 20);
  return p;
}

__attribute__((noinline)) static int touch(volatile char *p, long off) { return p[off]; }

int main(int argc, char **argv) {
  const char *v = argc > 1 ? argv[1] : "ok";
  char *p = make_small();
  if (!strcmp(v, "wild"))
    printf("%d\n", touch(p, 40000));
  else if (!strcmp(v, "null"))
    printf("%d\n", touch(NULL, 0));
  else if (!strcmp(v, "trash"))
    printf("%d\n", touch((volatile char *)(uintptr_t)0xdeadc0dedeadc0deull, 0));
  else if (!strcmp(v, "bus")) {
    FILE *f = tmpfile(); /* empty: its first page is past its end */
    char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fileno(f), 0);
    if (m != MAP_FAILED)
      printf("%d\n", touch(m, 0));
  } else if (!strcmp(v, "recover")) {
    signal(SIGSEGV, on_segv);
    if (sigsetjmp(back, 1) == 0)
      printf("%d\n", touch(NULL, 0));
    else
      printf("recovered\n");
  }
  free(p);
  printf("done\n");
  return 0;
}
