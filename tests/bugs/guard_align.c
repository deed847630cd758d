/* guard_align - aligned SSE accesses to objects inside malloc's blocks.
 * malloc promises 16-byte alignment, and code keeps 16-byte-aligned types
 * in blocks whose size is not a multiple of 16 (CPython's ctypes objects in
 * Python subclasses). A guarded block is aligned only to the largest power
 * of two dividing its size, so that its end is flush with its guard page:
 * memtype must carry out the aligned access to such a block (and align the
 * call site's next blocks), not let the program die.
 *   sse    200 blocks of 40 bytes (8-aligned when guarded) from one call
 *          site: movaps, movdqa and paddd (an SSE operation on a memory
 *          operand) on the 16 bytes at offset 16, a VEX vmovaps too where the
 *          CPU has AVX; prints the sum and how many blocks after the first
 *          were not 16-aligned (0: the call site learned)
 *   mine   the program's own misaligned movaps (8 bytes into a 48-byte
 *          block, 16-aligned in every mode): it dies of SIGSEGV as without
 *          memtype
 *   trap   the program's own SIGTRAP handler, installed after a first carried
 *          out access: another access from another call site is carried out
 *          (memtype's trap stays memtype's), then the program's int3 reaches
 *          its handler, once
 *   mine40 the same 4 bytes into a 40-byte block (8-aligned when guarded: an
 *          offset no 16-aligned block would make right): SIGSEGV too */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *make(size_t n) { return malloc(n); }
__attribute__((noinline)) static char *make_other(size_t n) { return malloc(n); }

static volatile int traps;
static void on_trap(int sig) {
  (void)sig;
  traps++;
}

static const int32_t ones[4] __attribute__((aligned(16))) = {1, 1, 1, 1};

/* x = [p]; x += ones; [p] = x, with aligned instructions on p */
__attribute__((noinline)) static void bump(char *p) {
  __asm__ volatile("movdqa (%0), %%xmm1\n\t"
                   "paddd (%1), %%xmm1\n\t"
                   "movaps %%xmm1, (%0)\n\t"
                   "movdqa (%1), %%xmm2\n\t"
                   "paddd (%0), %%xmm2\n\t"
                   "movdqa %%xmm2, (%0)\n\t"
                   :
                   : "r"(p), "r"(ones)
                   : "xmm1", "xmm2", "memory");
}

__attribute__((noinline, target("avx"))) static void bump_vex(char *p) {
  __asm__ volatile("vmovaps (%0), %%xmm3\n\t"
                   "vpaddd (%1), %%xmm3, %%xmm3\n\t"
                   "vmovaps %%xmm3, (%0)\n\t"
                   :
                   : "r"(p), "r"(ones)
                   : "xmm3", "memory");
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "sse";
  if (strcmp(m, "mine") == 0 || strcmp(m, "mine40") == 0) {
    int forty = strcmp(m, "mine40") == 0;
    char *p = make(forty ? 40 : 48);
    memset(p, 0, forty ? 40 : 48);
    bump(p + (forty ? 4 : 8));
    printf("not reached %d\n", p[8]);
    return 0;
  }
  if (strcmp(m, "trap") == 0) {
    char *a = make(40), *b = make_other(40);
    memset(a, 0, 40);
    memset(b, 0, 40);
    bump(a + 16);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_trap;
    sigaction(SIGTRAP, &sa, NULL);
    bump(b + 16);
    __asm__ volatile("int3");
    int32_t v[4];
    memcpy(v, b + 16, sizeof(v));
    printf("traps %d, b %d %d %d %d\n", traps, v[0], v[1], v[2], v[3]);
    free(a);
    free(b);
    return 0;
  }
  int avx = __builtin_cpu_supports("avx");
  long sum = 0;
  int late = 0; /* blocks after the first that are not 16-aligned */
  for (int i = 0; i < 200; i++) {
    char *p = make(40);
    memset(p, 0, 40);
    memcpy(p, &i, sizeof(i));
    bump(p + 16);
    if (avx)
      bump_vex(p + 16);
    int32_t v[4];
    memcpy(v, p + 16, sizeof(v));
    sum += v[0] + v[1] + v[2] + v[3];
    late += i > 0 && ((uintptr_t)p % 16) != 0;
    free(p);
  }
  printf("sum %ld (want %d)\n", sum, 200 * 4 * (avx ? 3 : 2));
  printf("blocks after the first not 16-aligned: %d\n", late);
  return 0;
}
