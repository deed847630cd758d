/* guard - accesses that only guard pages catch, reads included, and the
 * signals a program handles itself.
 *   read      a read 12 bytes past a 100-byte block (a redzone sees no read)
 *   write     a write 12 bytes past it
 *   slack     a write 1 byte past it: its end is flush with the guard page,
 *             the write faults
 *   slackodd  a write 1 byte past a 99-byte block (4-aligned, 1 byte before
 *             its guard page): no fault, found when the block is freed
 *   under     a write 1 byte before a block (with MEMTYPE_GUARD_SIDE=before)
 *   uaf       a read of a freed block
 *   uafw      a write to a freed block
 *   own       the program installs its own SIGSEGV handler, then reads past
 *             a guarded block (memguard reports), ... (ON_ERROR=continue) and
 *             then dereferences NULL: its own handler runs and exits 3
 *   null      a NULL dereference (not memguard's): the program dies of SIGSEGV
 *   many      30000 guarded blocks kept: beyond the budget or the mapping
 *             limit they are not guarded (counted), nothing fails
 *   again     (MEMTYPE_ON_ERROR=continue, MEMTYPE_GUARD_FIFO=0) a read past a
 *             block, reported and let through; the block freed and its run
 *             given to the next block (50 bytes: another address, so not
 *             "the same block again"): a read past that one faults again
 *   churn     200000 blocks allocated, written and freed one after another:
 *             with every block chosen, the cost bound guards only some
 *   churnread the churn, then a read 1 byte past a 24-byte block: guarded
 *             overflow-only (MEMTYPE_GUARD_FULL=0), it still faults at the read
 *   churnok   the churn, then every byte of a 24-byte block read and
 *             written: no report (churnread's look-alike)
 *   uafreuse  a write to a freed block, then a block of its size: with
 *             overflow-only blocks (MEMTYPE_GUARD_FULL=0) and MEMTYPE_TRASH
 *             the write is found when the run is reused
 *   underreuse an underflow write 40 bytes before the block, found at its free
 *             (MEMTYPE_ON_ERROR=continue); blocks of other sizes then reuse
 *             its pooled run (MEMTYPE_GUARD_FULL=0) with no second report
 *   underwin  (overflow-only blocks, continue) the 100-byte block freed intact;
 *             its pooled run's next block, 24 bytes, starts 76 bytes later:
 *             a write 60 bytes before it (where the old block was) is found
 *             at its free; the next, 200 bytes, starts earlier: a write 512
 *             bytes before it (the first byte of its 512-byte front window)
 *             is found at its free
 *   underwinok the same blocks, written in bounds only: no report
 *   calloczero blocks of 10000 bytes (past the slabs: calloc leaves the
 *             zeroing to the allocator) filled with 0xff and freed, each
 *             followed by a calloc of as much (a pooled run's next block,
 *             with MEMTYPE_GUARD_FULL=0) that must read as zero: exit 1 if not
 *   tagged    strings of 1 to 40 bytes from malloc, calloc, realloc, strdup
 *             and strndup, each pointer kept with a tag in its low bit (as
 *             fontconfig does: an odd pointer there is an offset): exit 1 if
 *             a pointer is odd; a correct program, no report
 *   liveunder a write 1 byte before the block, which is never freed: found at
 *             exit
 *   liveslack a write 1 byte past a 17-byte block (its 1 byte before the
 *             guard page), never freed: found at exit
 *   liveok    both blocks written in bounds and never freed: no report
 *   loading   a read past the block while another thread is inside dlopen
 *             (argv[2], a library whose constructor sleeps): the report
 *             comes at once, it does not wait for the loader's lock
 *   deep      a read 12 bytes past the block in read_past(), called by main:
 *             the access stack must start with read_past, then main
 *   underagain three 24-byte labels from one call site, each given a prefix
 *             byte 1 before its start, then freed (MEMTYPE_ON_ERROR=continue):
 *             the first found at its free, the call site learns, the second
 *             faults at the write (in set_prefix); the third, the same
 *             stacks, is not told again. Then a 24-byte read before a 40-byte
 *             block of another site reads its page (no fault, no report:
 *             only a site that underflowed starts at its page's start)
 *   ok        every byte of the block read and written: no report */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) static char *make_buf(size_t n) { return malloc(n); }

/* Not static, never inlined or cloned: its name is read_past in every build. */
__attribute__((noinline, noipa)) int read_past(const char *p, size_t at);
__attribute__((noinline, noipa)) int read_past(const char *p, size_t at) {
  return ((const volatile char *)p)[at];
}

__attribute__((noinline)) static char *make_label(size_t n) { return malloc(n); }
__attribute__((noinline, noipa)) void set_prefix(char *label, char c);
__attribute__((noinline, noipa)) void set_prefix(char *label, char c) { label[-1] = c; }

static void own_handler(int sig) {
  static const char msg[] = "own handler\n";
  (void)sig;
  write(1, msg, sizeof(msg) - 1);
  _exit(3);
}

static void *load(void *path) {
  dlopen(path, RTLD_NOW);
  return NULL;
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ok";
  setvbuf(stdout, NULL, _IONBF, 0);
  char *p = make_buf(100);
  memset(p, 'a', 100);
  if (!strcmp(m, "underagain")) {
    for (int i = 0; i < 3; i++) {
      char *l = make_label(24);
      memset(l, 'a', 24);
      set_prefix(l, '#');
      free(l);
    }
    char *q = make_buf(40);
    printf("%d\n", ((volatile char *)q)[-24]);
    free(q);
  } else if (!strcmp(m, "read")) {
    printf("%d\n", ((volatile char *)p)[100 + 12]);
  } else if (!strcmp(m, "deep")) {
    printf("%d\n", read_past(p, 100 + 12));
  } else if (!strcmp(m, "slack")) {
    ((volatile char *)p)[100] = 1;
  } else if (!strcmp(m, "slackodd")) {
    char *q = make_buf(99);
    ((volatile char *)q)[99] = 1;
    free(q);
  } else if (!strcmp(m, "write")) {
    ((volatile char *)p)[100 + 12] = 1;
  } else if (!strcmp(m, "under")) {
    ((volatile char *)p)[-1] = 1;
  } else if (!strcmp(m, "uaf")) {
    free(p);
    printf("%d\n", ((volatile char *)p)[5]);
    p = NULL;
  } else if (!strcmp(m, "uafw")) {
    free(p);
    ((volatile char *)p)[5] = 1;
    p = NULL;
  } else if (!strcmp(m, "underreuse")) {
    /* 40 bytes before the block, then freed (reported, continue); its
     * pooled run's next blocks, smaller and larger, written in bounds. */
    ((volatile char *)p)[-40] = 1;
    free(p);
    for (int i = 0; i < 6; i++) {
      size_t n = i % 2 ? 100 : 24 + (size_t)i * 16;
      char *q = make_buf(n);
      memset(q, 'b', n);
      free(q);
    }
    p = NULL;
  } else if (!strcmp(m, "underwin") || !strcmp(m, "underwinok")) {
    int bad = !strcmp(m, "underwin");
    memset(p, 'a', 100);
    free(p);
    char *q = make_buf(24);
    memset(q, 'b', 24);
    if (bad)
      ((volatile char *)q)[-60] = 1;
    free(q);
    q = make_buf(200);
    memset(q, 'c', 200);
    if (bad)
      ((volatile char *)q)[-512] = 1;
    free(q);
    p = NULL;
  } else if (!strncmp(m, "live", 4)) {
    static char *volatile kept[2];
    kept[0] = p;
    kept[1] = make_buf(17);
    memset(kept[0], 'a', 100);
    memset(kept[1], 'b', 17);
    if (!strcmp(m, "liveunder"))
      ((volatile char *)kept[0])[-1] = 1;
    if (!strcmp(m, "liveslack"))
      ((volatile char *)kept[1])[17] = 1;
    p = NULL;
  } else if (!strcmp(m, "tagged")) {
    static uintptr_t tagged[5 * 40];
    static const char text[] = "Regular Bold Italic Condensed Semibold Oblique";
    unsigned k = 0;
    for (size_t n = 1; n <= 40; n++) {
      char *s[5];
      s[0] = make_buf(n);
      s[1] = calloc(1, n);
      s[2] = realloc(make_buf(n + 7), n);
      s[3] = strndup(text, n - 1);
      s[4] = malloc(n);
      if (s[4])
        memcpy(s[4], text, n - 1), s[4][n - 1] = 0;
      char *d = strdup(s[4] ? s[4] : "");
      free(s[4]);
      s[4] = d;
      for (int i = 0; i < 5; i++) {
        if (!s[i] || ((uintptr_t)s[i] & 1)) {
          printf("block %d of %zu bytes at %p: its low bit is not free for a tag\n", i, n,
                 (void *)s[i]);
          return 1;
        }
        tagged[k++] = (uintptr_t)s[i] | 1;
      }
    }
    for (unsigned i = 0; i < k; i++)
      free((void *)(tagged[i] & ~(uintptr_t)1));
  } else if (!strcmp(m, "calloczero")) {
    for (int i = 0; i < 2000; i++) {
      char *a = make_buf(10000);
      memset(a, 0xff, 10000);
      free(a);
      unsigned char *z = calloc(1, 10000);
      for (int j = 0; j < 10000; j++)
        if (z[j] != 0) {
          printf("calloc's block not zero at %d (turn %d)\n", j, i);
          return 1;
        }
      free(z);
    }
  } else if (!strcmp(m, "uafreuse")) {
    free(p);
    ((volatile char *)p)[5] = 1;
    p = make_buf(100);
  } else if (!strcmp(m, "own")) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = own_handler;
    sigaction(SIGSEGV, &sa, NULL);
    printf("read %d\n", ((volatile char *)p)[100 + 4096 - 100]); /* in the guard page */
    volatile int *z = NULL;
    *z = 1;
  } else if (!strcmp(m, "again")) {
    printf("%d\n", ((volatile char *)p)[100 + 12]);
    free(p);
    p = make_buf(50);
    printf("%d\n", ((volatile char *)p)[100]); /* 36 bytes into the guard page */
  } else if (!strcmp(m, "churn")) {
    for (int i = 0; i < 200000; i++) {
      char *q = make_buf(64);
      memset(q, 1, 64);
      free(q);
    }
  } else if (!strcmp(m, "churnread") || !strcmp(m, "churnok")) {
    for (int i = 0; i < 200000; i++) {
      char *q = make_buf(64);
      memset(q, 1, 64);
      free(q);
    }
    char *q = make_buf(24);
    memset(q, 2, 24);
    int sum = 0;
    for (int i = 0; i < 24; i++)
      sum += ((volatile char *)q)[i];
    if (!strcmp(m, "churnread"))
      sum += read_past(q, 24); /* 1 byte past the block */
    printf("%d\n", sum);
    free(q);
  } else if (!strcmp(m, "loading") && argc > 2) {
    int fds[2];
    char num[16];
    pthread_t t;
    if (pipe(fds) != 0)
      return 2;
    snprintf(num, sizeof(num), "%d", fds[1]);
    setenv("SLOW_CTOR_FD", num, 1);
    pthread_create(&t, NULL, load, argv[2]);
    char c;
    if (read(fds[0], &c, 1) != 1) /* the constructor runs: the loader's lock is held */
      return 2;
    printf("%d\n", ((volatile char *)p)[100 + 12]);
  } else if (!strcmp(m, "null")) {
    volatile int *z = NULL;
    *z = 1;
  } else if (!strcmp(m, "many")) {
    for (int i = 0; i < 30000; i++) {
      char *q = make_buf(64);
      memset(q, 1, 64);
    }
  } else {
    for (int i = 0; i < 100; i++)
      p[i] = (char)(p[i] + 1);
  }
  free(p);
  puts("done");
  return 0;
}
