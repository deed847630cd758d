/* leaky - leaks of every kind, and look-alikes that are not leaks.
 *   leaks    a list of 10 nodes lost through its head (1 definitely lost,
 *            9 indirectly), a cycle of two (1 definitely, 1 indirectly), a
 *            block only an interior pointer holds (possibly lost) and one a
 *            global holds (still reachable)
 *   clean    the same structures, freed or held: no LEAK line
 *   fork     threads hold blocks on their stacks; a forked child exits: it
 *            must not report the blocks of threads that did not survive
 *   million  1,000,000 blocks held in a list and 1,000,000 lost: the scan
 *            stays quick (it prints how long it took with MEMTYPE_VERBOSE) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct node {
  struct node *volatile next;
  char pad[40];
};

struct node *volatile held;   /* a global: what it points to is reachable */
char *volatile inner;         /* an interior pointer */

__attribute__((noinline)) static struct node *new_node(struct node *next) {
  struct node *n = malloc(sizeof(*n));
  n->next = next;
  return n;
}

__attribute__((noinline)) static void lose_list(int n) {
  struct node *h = NULL;
  for (int i = 0; i < n; i++)
    h = new_node(h);
}

__attribute__((noinline)) static void *make_pair(void) {
  struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
  a->next = b;
  b->next = a;
  return a;
}

__attribute__((noinline)) static char *make_inner(void) { return (char *)malloc(64) + 8; }

__attribute__((noinline)) static struct node *make_held(void) { return malloc(100); }

#include <stdint.h> /* here, not above: the tests know new_node's line */
#include <sys/mman.h>

/* protnone, protnone_lost: blocks (a 64 KiB run, a 1 MiB huge block, a
 * 20 KiB guarded one) whose middle pages the program made PROT_NONE: the
 * scan at exit must neither fault nor misclassify them. */
void *volatile kept_blocks[3];

__attribute__((noinline)) static void *make_sealed(size_t n) {
  char *p = malloc(n);
  memset(p, 1, n);
  uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
  if (mprotect((void *)lo, 4096, PROT_NONE) != 0)
    perror("mprotect");
  return p;
}

/* zero, zero_lost: five blocks of size 0, held by a global, or lost. */
void *volatile zero_blocks[5];

__attribute__((noinline)) static void *make_empty(void) { return malloc(0); }

static pthread_barrier_t ready, done;

static void *holder(void *arg) {
  (void)arg;
  struct node *volatile mine = new_node(NULL); /* only this stack holds it */
  pthread_barrier_wait(&ready);
  pthread_barrier_wait(&done);
  free(mine);
  return NULL;
}

/* leader: the main thread ends first (pthread_exit) and the process exits
 * from its last thread, when /proc/self/ (the leader's) reads empty: the scan
 * must still find its roots (no LEAK line). (Variants are described here, not
 * above: the tests know the line numbers of the functions above.) */
static void *nothing(void *arg) { return arg; }
/* Overwrites the dead frames below the caller's: a copy of a pointer left
 * there by pthread_create would hide what the scan sees from the roots. */
static __attribute__((noinline)) void scrub_stack(void) {
  volatile char junk[65536];
  memset((char *)junk, 0, sizeof(junk));
}
static int park[2];
static void *parked(void *arg) { /* blocked at exit: a live thread */
  char c;
  (void)arg;
  return read(park[0], &c, 1) == 1 ? NULL : NULL;
}
#include <fcntl.h> /* here, not at the top: the lines above must not move */
#include <stdbool.h>

static bool leader_ended(void) {
  char c;
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0)
    return true;
  ssize_t n = read(fd, &c, 1);
  close(fd);
  return n <= 0;
}

static void *last_thread(void *arg) {
  (void)arg;
  /* Wait for the state under test (not for a time that may not suffice on a
   * loaded machine): the leader has ended, /proc/self/maps reads empty. */
  int ms = 0;
  while (!leader_ended() && ms < 30000) {
    usleep(1000);
    ms++;
  }
  if (!leader_ended())
    puts("the main thread did not end in 30 s");
  puts("done");
  fflush(stdout);
  return NULL; /* the last thread: glibc calls exit(0), destructors run */
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "clean";
  if (!strcmp(m, "leaks")) {
    if (argc > 2) { /* a log file left open: exit writes out its last lines */
      FILE *log = fopen(argv[2], "w");
      if (log == NULL)
        return 3;
      fputs("logged\n", log);
    }
    lose_list(10);
    make_pair();
    inner = make_inner();
    held = make_held();
  } else if (!strcmp(m, "clean")) {
    struct node *h = NULL;
    for (int i = 0; i < 10; i++)
      h = new_node(h);
    held = h; /* held through a global */
    struct node *a = make_pair();
    free(a->next);
    free(a);
    char *p = make_inner();
    free(p - 8);
  } else if (!strcmp(m, "fork")) {
    pthread_t t[4];
    pthread_barrier_init(&ready, NULL, 5);
    pthread_barrier_init(&done, NULL, 5);
    for (int i = 0; i < 4; i++)
      pthread_create(&t[i], NULL, holder, NULL);
    pthread_barrier_wait(&ready);
    pid_t pid = fork();
    if (pid == 0) {
      puts("child");
      exit(0); /* destructors run: the child scans its heap */
    }
    int status;
    waitpid(pid, &status, 0);
    pthread_barrier_wait(&done);
    for (int i = 0; i < 4; i++)
      pthread_join(t[i], NULL);
  } else if (!strcmp(m, "leader")) {
    struct node *h = NULL;
    for (int i = 0; i < 10; i++)
      h = new_node(h);
    held = h; /* held through a global */
    pthread_t t;
    pthread_create(&t, NULL, last_thread, NULL);
    pthread_exit(NULL);
  } else if (!strcmp(m, "threads")) {
    /* threads: one joined (glibc keeps its stack and TLS for reuse) and one
     * alive at exit; glibc's thread vectors (DTVs) are reached from each
     * thread's control block only through dtv + 1: no LEAK line */
    pthread_t t, u;
    if (pipe(park) != 0)
      return 1;
    pthread_create(&t, NULL, nothing, NULL);
    pthread_join(t, NULL);
    pthread_create(&u, NULL, parked, NULL);
    scrub_stack();
  } else if (!strcmp(m, "protnone") || !strcmp(m, "protnone_lost")) {
    size_t sizes[3] = {64 << 10, 1 << 20, 20 << 10};
    for (int i = 0; i < 3; i++)
      kept_blocks[i] = make_sealed(sizes[i]);
    if (!strcmp(m, "protnone_lost"))
      kept_blocks[1] = NULL; /* the huge one is lost, sealed pages and all */
  } else if (!strcmp(m, "zero") || !strcmp(m, "zero_lost")) {
    for (int i = 0; i < 5; i++)
      zero_blocks[i] = make_empty();
    if (!strcmp(m, "zero_lost"))
      for (int i = 0; i < 5; i++)
        zero_blocks[i] = NULL;
  } else if (!strcmp(m, "million")) {
    struct node *h = NULL;
    for (int i = 0; i < 1000000; i++)
      h = new_node(h);
    held = h;
    lose_list(1000000);
  }
  puts("done");
  return 0;
}
