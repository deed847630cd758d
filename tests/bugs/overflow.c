/* overflow - heap-buffer-overflow by a write past the end of a block.
 *   slack   one byte past a 40-byte block (inside its slot's slack)
 *   exact   one byte past a 48-byte block (an exact class size: no slack
 *           without MEMTYPE_REDZONE, which gives it some)
 *   far     600 bytes past a 10000-byte block (a page run)
 *   huge    100 bytes past a 3 MiB block (its own mapping)
 *   realloc one byte past, found when the block is resized
 *   kept    one byte past a block never freed: found by the heap check at exit
 *   checked the same, found by memtype_check_heap() (looked up with dlsym)
 *   busy    the same, then 1000 allocations: MEMTYPE_CHECK_INTERVAL finds it
 *   gap     a write past the block's redzone into the free slot after it:
 *           found at exit, with both neighbours named
 *   loop    one byte past each of 200 blocks, each freed: the same bug, the
 *           same stacks, 200 times (found at each free)
 *   loop2   the same, then one byte past a 40-byte block from another line:
 *           a second bug
 *   twocalls  memset one byte past the block from fill_a, then from fill_b
 *             (two errors of one block, at two stacks: suppressions)
 *   ok      every byte of each block written, none past it: no report */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *make(size_t n) { return malloc(n); }

__attribute__((noinline)) static void release(char *p) { free(p); }

__attribute__((noinline)) static void fill_a(char *p, size_t n) { memset(p, 'a', n); }
__attribute__((noinline)) static void fill_b(char *p, size_t n) { memset(p, 'b', n); }

__attribute__((noinline)) static void write_at(char *p, size_t i) {
  ((volatile char *)p)[i] = 'x';
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ok";
  size_t n = !strcmp(m, "exact") ? 48 : !strcmp(m, "far") ? 10000 : !strcmp(m, "huge") ? 3u << 20 : 40;
  char *p = make(n);
  if (!strcmp(m, "gap")) {
    char *more[64];
    for (int i = 0; i < 64; i++)
      more[i] = make(40);
    /* the slot right after more[10]: the nearest block above it (one
     * slot's stride on: 64 bytes plain, 80 with redzones on both sides) */
    int next = -1;
    for (int i = 0; i < 64; i++)
      if (more[i] > more[10] && more[i] - more[10] <= 128 &&
          (next < 0 || more[i] < more[next]))
        next = i;
    if (next >= 0) {
      release(more[next]);
      write_at(more[10], (size_t)(more[next] - more[10]) + 3);
    }
    release(p);
    puts("done");
    return 0;
  }
  if (!strcmp(m, "twocalls")) {
    fill_a(p, n + 1);
    fill_b(p, n + 1);
  } else if (!strncmp(m, "loop", 4)) {
    for (int i = 0; i < 200; i++) {
      char *q = make(n);
      write_at(q, n);
      release(q);
    }
    if (m[4] == '2')
      write_at(p, n);
  } else if (!strcmp(m, "ok")) {
    memset(p, 'a', n);
  } else if (!strcmp(m, "far")) {
    write_at(p, n + 600);
  } else if (!strcmp(m, "huge")) {
    write_at(p, n + 100);
  } else {
    write_at(p, n);
  }
  if (!strcmp(m, "realloc")) {
    p = realloc(p, 4000);
  }
  if (!strcmp(m, "checked")) {
    unsigned long (*check)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "memtype_check_heap");
    printf("found %lu\n", check ? check() : 999);
  }
  if (!strcmp(m, "busy"))
    for (int i = 0; i < 1000; i++)
      release(make(100));
  if (strcmp(m, "kept") && strcmp(m, "checked") && strcmp(m, "busy"))
    release(p);
  puts("done");
  return 0;
}
