/* block_stacks: a block allocated three calls deep and freed two calls deep,
 * then written after its free (argv[1] "write") or read (argv[1] "read",
 * for guard pages), and a second block leaked three calls deep. Every
 * report must show the program's own call chains (test_block_stacks.py). */
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define KEEP __asm__ volatile("" ::: "memory")

NOINLINE char *bs_make(size_t n) {
  char *p = malloc(n);
  memset(p, 1, n);
  return p;
}
NOINLINE char *bs_level2(size_t n) {
  char *p = bs_make(n);
  KEEP;
  return p;
}
NOINLINE char *bs_level1(size_t n) {
  char *p = bs_level2(n);
  KEEP;
  return p;
}
NOINLINE void bs_drop(char *p) {
  free(p);
  KEEP;
}
NOINLINE void bs_drop2(char *p) {
  bs_drop(p);
  KEEP;
}
NOINLINE void bs_leak3(void) {
  char *volatile q = bs_level1(50); /* lost when this returns */
  (void)q;
  KEEP;
}

/* The leak scan is conservative: a copy of bs_leak3's pointer left in the
 * stack below main's frame would be taken for a root (memtype's own exit
 * path runs over that part of the stack, and a -O0 build of it may leave
 * the slot unwritten). Wiping that part keeps the leak a leak. */
NOINLINE void bs_wipe_stack(void) {
  volatile char pad[4096];
  for (size_t i = 0; i < sizeof(pad); i++)
    pad[i] = 0;
  KEEP;
}

int main(int argc, char **argv) {
  char *p = bs_level1(40);
  bs_drop2(p);
  if (argc > 1 && strcmp(argv[1], "read") == 0)
    return *(volatile char *)p; /* a read after free: a guard page fault */
  ((volatile char *)p)[3] = 7;  /* a write after free: found when its trash is verified */
  bs_leak3();
  bs_wipe_stack();
  return 0;
}
