/* stack_capture.c - the cost of block stacks (issue 20): a malloc and a
 * free (of an older block) per turn, called 11 frames deep under
 * argv[2] more, argv[1] turns. Measured in instructions with callgrind,
 * as the difference of two runs (20,000 and 40,000 turns) over 20,000, so
 * that start and exit cancel out; see docs/benchmarks.md "Block stacks".
 *   gcc -O2 -g -fno-optimize-sibling-calls -o stack_capture bench/stack_capture.c */
#include <stdlib.h>
#define NOINLINE __attribute__((noinline))
#define KEEP __asm__ volatile("" ::: "memory")
static void *keep[64];
NOINLINE void work(int i) { void *p = malloc(32 + (i & 255)); KEEP; int k = i & 63; free(keep[k]); keep[k] = p; }
NOINLINE void d1(int i) { work(i); KEEP; }
NOINLINE void d2(int i) { d1(i); KEEP; }
NOINLINE void d3(int i) { d2(i); KEEP; }
NOINLINE void d4(int i) { d3(i); KEEP; }
NOINLINE void d5(int i) { d4(i); KEEP; }
NOINLINE void d6(int i) { d5(i); KEEP; }
NOINLINE void d7(int i) { d6(i); KEEP; }
NOINLINE void d8(int i) { d7(i); KEEP; }
NOINLINE void d9(int i) { d8(i); KEEP; }
NOINLINE void d10(int i) { d9(i); KEEP; }
NOINLINE void deep(int k, int n) { if (k > 0) { deep(k - 1, n); KEEP; return; } for (int i = 0; i < n; i++) d10(i); }
int main(int argc, char **argv) { int n = argc > 1 ? atoi(argv[1]) : 200000; deep(argc > 2 ? atoi(argv[2]) : 0, n); return 0; }
