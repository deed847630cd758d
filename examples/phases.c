/* phases.c - a program whose memory goes through three phases of known
 * sizes: 4 MiB held, then 12 MiB, then 2 MiB, each held while it churns
 * small blocks, so that `memtype report --timeline` draws three plateaus
 * and `--peak` names the 12 MiB phase's type at the peak, exactly:
 *
 *   memtype run --profile -- ./phases && memtype report --timeline --peak memtype.phases.*.mtd
 *
 * Each phase's blocks come from their own call site (a type each). The
 * churn holds CHURN_BLOCKS blocks of CHURN_SIZE bytes at most, so the peak
 * is 12 MiB + 32 KiB exactly (the program allocates nothing else before
 * its last line of output). argv[1]: churn rounds per phase (default 2000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 1024
#define CHURN_BLOCKS 512
#define CHURN_SIZE 64

static void *volatile sink;

/* Each phase's allocation site: a type of its own (the empty asm after the
 * call keeps it a call, not a tail jump that would type it by its caller). */
#define SITE(name, fill)                              \
  __attribute__((noinline)) static void *name(void) { \
    void *p = malloc(BLOCK);                          \
    if (p)                                            \
      memset(p, fill, 16);                            \
    __asm__ volatile("" ::: "memory");                \
    return p;                                         \
  }
SITE(phase_small, 1)
SITE(phase_big, 2)
SITE(phase_end, 3)

/* Allocates and frees CHURN_BLOCKS blocks `rounds` times: the heap holds
 * what the phase holds and at most 32 KiB more. */
static void churn(long rounds) {
  static void *b[CHURN_BLOCKS];
  for (long r = 0; r < rounds; r++) {
    for (int i = 0; i < CHURN_BLOCKS; i++) {
      b[i] = malloc(CHURN_SIZE);
      memset(b[i], (int)r, 8);
    }
    sink = b[r % CHURN_BLOCKS];
    for (int i = 0; i < CHURN_BLOCKS; i++)
      free(b[i]);
  }
}

static void phase(void *(*alloc)(void), size_t bytes, long rounds) {
  size_t n = bytes / BLOCK;
  static void *held[12 * 1024];
  for (size_t i = 0; i < n; i++) {
    held[i] = alloc();
  }
  churn(rounds);
  for (size_t i = 0; i < n; i++)
    free(held[i]);
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 2000;
  if (rounds <= 0) {
    fprintf(stderr, "usage: phases [ROUNDS > 0]\n");
    return 2;
  }
  phase(phase_small, 4u << 20, rounds);
  phase(phase_big, 12u << 20, rounds);
  phase(phase_end, 2u << 20, rounds);
  printf("phases: 4 MiB, 12 MiB, 2 MiB held in turn; the peak is %u bytes\n",
         (12u << 20) + CHURN_BLOCKS * CHURN_SIZE);
  return 0;
}
