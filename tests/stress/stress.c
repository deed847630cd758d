/* stress.c - bounded stress workloads for memtype, one per mode, each a
 * correct program: every block it allocates is freed, except KEEP blocks of
 * KEEP_SIZE bytes held from globals at exit (so the dump's figures can be
 * checked against a known live set), and no block is ever reachable only
 * from a dead thread's stack. run_stress.py runs the modes under the preload
 * with a watchdog and checks stderr and the dumps.
 *
 *   stress threads SECONDS NTHREADS      thread create/exit churn, cross-thread frees
 *   stress fork SECONDS                  forks (and grandchildren) of a multithreaded process
 *   stress exec STEPS                    the program execs itself STEPS times
 *   stress signals SECONDS NTHREADS      signals whose handlers allocate hit threads in malloc
 *   stress dlopen SECONDS LIBRARY        dlopen/dlclose churn, blocks outliving their module
 *   stress dumpsig SECONDS NTHREADS      the dump signal sent over and over during allocation
 *
 * Last line on stdout: "stress: mode=M ops=N threads=N forks=N signals=N
 * dumps=N seconds=S" (the figures of this process and its children); the
 * exit status is 0 when every pattern and count checked out. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEEP 64
#define KEEP_SIZE 777
#define RING 64

static atomic_ulong ops, threads_made, forks_made, signals_seen, signals_sent, bad;
static atomic_int stop;
void *stress_keep[KEEP]; /* global, not static: the compiler must keep the stores */
static double t_start;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static void fail(const char *what) {
  atomic_fetch_add(&bad, 1);
  static const char pre[] = "stress: FAIL: ";
  ssize_t r = write(2, pre, sizeof(pre) - 1);
  r = write(2, what, strlen(what));
  r = write(2, "\n", 1);
  (void)r;
}

/* Blocks start with their size and a seed; the rest is a pattern. */
struct blk {
  size_t n;
  uint64_t seed;
};

static size_t pick(uint64_t r) {
  if (r % 509 == 0)
    return (size_t)(200000 + r % 900000); /* page runs and mappings */
  unsigned shift = 4 + (unsigned)((r >> 8) % 11); /* 16 B .. 16 KiB */
  return ((size_t)1 << shift) + (size_t)((r >> 20) % ((size_t)1 << shift));
}

static void *make(uint64_t r) {
  size_t n = pick(r);
  struct blk *b = (r >> 40) % 16 == 0 ? calloc(1, n + sizeof(*b)) : malloc(n + sizeof(*b));
  if (b == NULL) {
    fail("allocation returned NULL");
    return NULL;
  }
  b->n = n;
  b->seed = r;
  unsigned char *d = (unsigned char *)(b + 1);
  size_t step = n > 4096 ? 509 : 1;
  for (size_t i = 0; i < n; i += step)
    d[i] = (unsigned char)(r + i);
  atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
  return b;
}

static void check_and_free(void *p) {
  if (p == NULL)
    return;
  struct blk *b = p;
  const unsigned char *d = (const unsigned char *)(b + 1);
  size_t step = b->n > 4096 ? 509 : 1;
  for (size_t i = 0; i < b->n; i += step)
    if (d[i] != (unsigned char)(b->seed + i)) {
      fail("a block's pattern changed");
      break;
    }
  free(b);
  atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
}

__attribute__((noinline)) static void keep_alive(void) {
  for (int i = 0; i < KEEP; i++) {
    stress_keep[i] = malloc(KEEP_SIZE);
    if (stress_keep[i] == NULL)
      fail("keep_alive: malloc returned NULL");
    else
      memset(stress_keep[i], i, KEEP_SIZE);
  }
}

/* ---- mailboxes: blocks handed to another thread, which frees them ------------ */

#define NBOX 64
struct box {
  pthread_mutex_t mu;
  void *items[256];
  int n;
};
static struct box boxes[NBOX];

static void box_put(unsigned i, void *p) {
  struct box *b = &boxes[i % NBOX];
  pthread_mutex_lock(&b->mu);
  if (b->n < 256) {
    b->items[b->n++] = p;
    p = NULL;
  }
  pthread_mutex_unlock(&b->mu);
  check_and_free(p); /* full: free it here */
}

static void box_drain(unsigned i) {
  struct box *b = &boxes[i % NBOX];
  void *got[256];
  pthread_mutex_lock(&b->mu);
  int n = b->n;
  memcpy(got, b->items, sizeof(void *) * (size_t)n);
  b->n = 0;
  pthread_mutex_unlock(&b->mu);
  for (int k = 0; k < n; k++)
    check_and_free(got[k]);
}

static void boxes_init(void) {
  for (int i = 0; i < NBOX; i++)
    pthread_mutex_init(&boxes[i].mu, NULL);
}

static void boxes_drain_all(void) {
  for (unsigned i = 0; i < NBOX; i++)
    box_drain(i);
}

/* ---- threads: create/exit churn -------------------------------------------------- */

struct churn_arg {
  unsigned id;
  int rounds;
};

static void *churn_thread(void *arg) {
  struct churn_arg *a = arg;
  uint64_t r = mix(a->id * 7919ull + 1);
  void *ring[RING] = {0};
  for (int k = 0; k < a->rounds; k++) {
    r = mix(r);
    unsigned i = (unsigned)(r % RING);
    if (ring[i]) {
      if ((r >> 32) % 3 == 0)
        box_put((unsigned)(r >> 36), ring[i]); /* freed by some other thread */
      else
        check_and_free(ring[i]);
    }
    ring[i] = make(r);
    if (k % 32 == 0)
      box_drain(a->id + (unsigned)k);
  }
  /* Exit owning blocks: the others (or main) free them after we are gone. */
  for (unsigned i = 0; i < RING; i++)
    if (ring[i])
      box_put(a->id + i, ring[i]);
  free(a);
  return NULL;
}

static int mode_threads(double seconds, int nthreads) {
  boxes_init();
  pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
  unsigned next = 0;
  for (int i = 0; i < nthreads; i++) {
    struct churn_arg *a = malloc(sizeof(*a));
    *a = (struct churn_arg){next++, 200 + (int)(mix(next) % 2000)};
    if (pthread_create(&th[i], NULL, churn_thread, a) != 0)
      fail("pthread_create");
    atomic_fetch_add(&threads_made, 1);
  }
  /* Replace each thread as soon as it ends, while the others run on. */
  while (now() - t_start < seconds)
    for (int i = 0; i < nthreads; i++) {
      pthread_join(th[i], NULL);
      struct churn_arg *a = malloc(sizeof(*a));
      *a = (struct churn_arg){next++, 200 + (int)(mix(next) % 2000)};
      if (pthread_create(&th[i], NULL, churn_thread, a) != 0)
        fail("pthread_create");
      atomic_fetch_add(&threads_made, 1);
    }
  for (int i = 0; i < nthreads; i++)
    pthread_join(th[i], NULL);
  boxes_drain_all();
  free(th);
  return 0;
}

/* ---- background churn used by fork, signals and dumpsig ----------------------- */

#define MAXBG 64
static void *bg_rings[MAXBG][RING]; /* global: reachable from a fork child too */

static void *bg_thread(void *arg) {
  unsigned id = (unsigned)(uintptr_t)arg;
  uint64_t r = mix(id + 0xb9ull);
  void **ring = bg_rings[id];
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    /* Bursts: fill then empty, so refills and flushes (memtype's locked
     * slow paths) happen all the time. */
    for (unsigned i = 0; i < RING; i++) {
      r = mix(r);
      check_and_free(ring[i]);
      ring[i] = NULL;
      ring[i] = make(r);
    }
    if ((r >> 50) % 4 == 0)
      for (unsigned i = 0; i < RING; i++) {
        void *p = ring[i];
        ring[i] = NULL;
        check_and_free(p);
      }
  }
  for (unsigned i = 0; i < RING; i++) {
    void *p = ring[i];
    ring[i] = NULL;
    check_and_free(p);
  }
  return NULL;
}

static pthread_t bg[MAXBG];
static int nbg;

static void bg_start(int n) {
  nbg = n > MAXBG ? MAXBG : n;
  for (int i = 0; i < nbg; i++) {
    if (pthread_create(&bg[i], NULL, bg_thread, (void *)(uintptr_t)i) != 0)
      fail("pthread_create");
    atomic_fetch_add(&threads_made, 1);
  }
}

static void bg_stop(void) {
  atomic_store(&stop, 1);
  for (int i = 0; i < nbg; i++)
    pthread_join(bg[i], NULL);
}

/* ---- fork storms ------------------------------------------------------------------ */

/* 256 call sites, each its own function: the first use of each is a new
 * type, added while the process forks. */
#define SITE(n) \
  __attribute__((noinline)) static void *site_##n(size_t k) { void *p = malloc(k + n); __asm__ volatile(""); return p; }
#define SITE4(n) SITE(n##0) SITE(n##1) SITE(n##2) SITE(n##3)
#define SITE16(n) SITE4(n##0) SITE4(n##1) SITE4(n##2) SITE4(n##3)
#define SITE64(n) SITE16(n##0) SITE16(n##1) SITE16(n##2) SITE16(n##3)
SITE64(10) SITE64(11) SITE64(12) SITE64(13)
#define REF(n) site_##n,
#define REF4(n) REF(n##0) REF(n##1) REF(n##2) REF(n##3)
#define REF16(n) REF4(n##0) REF4(n##1) REF4(n##2) REF4(n##3)
#define REF64(n) REF16(n##0) REF16(n##1) REF16(n##2) REF16(n##3)
static void *(*const sites[256])(size_t) = {REF64(10) REF64(11) REF64(12) REF64(13)};

static atomic_int site_wanted, site_going, sites_done;

/* Uses a new call site each time the parent is about to fork, so that the
 * fork lands while memtype adds it. */
static void *sites_thread(void *arg) {
  (void)arg;
  for (int i = 0; i < 256 && !atomic_load(&stop); i++) {
    while (!atomic_load(&site_wanted) && !atomic_load(&stop))
      usleep(100);
    atomic_store(&site_wanted, 0);
    atomic_store(&site_going, 1);
    free(sites[i](16));
  }
  atomic_store(&sites_done, 1);
  return NULL;
}

static int child_work(uint64_t salt) {
  void *v[200];
  uint64_t r = mix(salt);
  for (int k = 0; k < 200; k++) {
    r = mix(r);
    v[k] = make(r);
  }
  for (int k = 0; k < 200; k++)
    check_and_free(v[k]);
  /* Every call site, those the parent was adding when it forked too. */
  for (int i = 0; i < 256; i++)
    free(sites[i](8));
  return atomic_load(&bad) != 0;
}

/* Waits for pid at most 20 s; a child still running then is a hang. */
static int wait_child(pid_t pid) {
  for (int ms = 0; ms < 20000; ms++) {
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) {
      int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      if (rc != 0) { /* say how, for the failure message */
        char m[64];
        snprintf(m, sizeof(m), "a fork child (pid %d) %s %d", (int)pid,
                 WIFEXITED(st) ? "exited with status" : "was killed by signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        fail(m);
      }
      return rc;
    }
    if (w < 0)
      return 100;
    usleep(1000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  fail("a fork child hung (killed after 20 s)");
  return 99;
}

static void *child_thread(void *arg) {
  return (void *)(uintptr_t)child_work((uint64_t)(uintptr_t)arg);
}

static int mode_fork(double seconds) {
  bg_start(4);
  pthread_t st;
  pthread_create(&st, NULL, sites_thread, NULL);
  unsigned n = 0;
  while (now() - t_start < seconds) {
    n++;
    if (!atomic_load(&sites_done)) {
      atomic_store(&site_going, 0);
      atomic_store(&site_wanted, 1);
      while (!atomic_load(&site_going) && !atomic_load(&sites_done))
        ;
    }
    pid_t pid = fork();
    if (pid < 0) {
      fail("fork");
      break;
    }
    if (pid == 0) {
      int rc = child_work(n);
      if (n % 3 == 0) { /* a grandchild, from a child with a thread of its own */
        pthread_t t;
        int made = pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)(n + 1000)) == 0;
        pid_t g = fork();
        if (g == 0)
          exit(child_work(n + 5000));
        if (g > 0)
          rc |= wait_child(g);
        if (made) {
          void *res;
          pthread_join(t, &res);
          rc |= (int)(uintptr_t)res;
        }
      }
      exit(rc); /* normal exit: memtype writes the child's dump */
    }
    atomic_fetch_add(&forks_made, n % 3 == 0 ? 2 : 1);
    if (wait_child(pid) != 0)
      fail("a fork child failed");
  }
  atomic_store(&stop, 1);
  pthread_join(st, NULL);
  bg_stop();
  return 0;
}

/* ---- exec chains ------------------------------------------------------------------- */

/* Each step adds its figures to the ones it was given (argv) and passes them on. */
static int mode_exec(int step, int steps, const char *self, unsigned long carried_ops,
                     unsigned long carried_threads) {
  void *held[100];
  uint64_t r = mix((uint64_t)step);
  for (int k = 0; k < 100; k++)
    held[k] = make(r = mix(r));
  bg_start(2); /* exec from a multithreaded process */
  usleep(2000);
  if (step < steps) {
    char a[16], b[16], c[32], d[32];
    snprintf(a, sizeof(a), "%d", step + 1);
    snprintf(b, sizeof(b), "%d", steps);
    snprintf(c, sizeof(c), "%lu", carried_ops + atomic_load(&ops));
    snprintf(d, sizeof(d), "%lu", carried_threads + atomic_load(&threads_made));
    execl(self, self, "exec", b, a, c, d, (char *)NULL);
    fail("execl");
    return 1;
  }
  bg_stop();
  for (int k = 0; k < 100; k++)
    check_and_free(held[k]);
  atomic_fetch_add(&ops, carried_ops);
  atomic_fetch_add(&threads_made, carried_threads);
  return 0;
}

/* ---- signal storms: handlers that allocate, threads inside malloc ---------------- */

static void on_signal(int sig) {
  (void)sig;
  int saved = errno;
  /* Wrong on purpose (malloc is not async-signal-safe), as real programs do.
   * Page runs and mappings: memtype's locked paths, where a handler must not
   * wait for a lock its own thread holds. (Small blocks would meet the
   * interrupted thread's lock-free cache half-updated, as with glibc's
   * tcache: that race is the handler's, not measured here.) */
  static _Atomic uint64_t seq;
  uint64_t r = mix(atomic_fetch_add(&seq, 1));
  size_t n = 20000 + (size_t)(r % 1200000);
  unsigned char *p = malloc(n);
  if (p) {
    p[0] = 1;
    p[n - 1] = 2;
    unsigned char *q = (r >> 33) % 4 == 0 ? realloc(p, n / 2 + 1) : p;
    free(q ? q : p);
  }
  atomic_fetch_add_explicit(&signals_seen, 1, memory_order_relaxed);
  errno = saved;
}

static int mode_signals(double seconds, int nthreads) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  /* The program sees its own handlers, whatever memtype puts in front of them. */
  struct sigaction back;
  if (sigaction(SIGUSR1, NULL, &back) != 0 || back.sa_handler != on_signal ||
      !(back.sa_flags & SA_RESTART) || (back.sa_flags & SA_SIGINFO))
    fail("sigaction does not give back the handler installed");
  if (signal(SIGALRM, on_signal) != on_signal)
    fail("signal does not give back the handler installed");
  bg_start(nthreads);
  struct itimerval it = {{0, 500}, {0, 500}}; /* process-wide: any thread */
  setitimer(ITIMER_REAL, &it, NULL);
  uint64_t r = 1;
  while (now() - t_start < seconds) {
    for (int k = 0; k < 50; k++) {
      r = mix(r);
      if (pthread_kill(bg[r % (uint64_t)nbg], SIGUSR1) == 0)
        atomic_fetch_add_explicit(&signals_sent, 1, memory_order_relaxed);
    }
    usleep(200);
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  bg_stop();
  return 0;
}

/* ---- dlopen/dlclose churn ---------------------------------------------------------- */

struct dl_arg {
  const char *lib;
  double seconds;
  unsigned cycles;
};

static void *dl_thread(void *arg) {
  struct dl_arg *a = arg;
  void *outlive[32] = {0};
  uint64_t r = mix((uintptr_t)arg);
  while (now() - t_start < a->seconds) {
    void *h = dlopen(a->lib, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
      fail(dlerror());
      break;
    }
    void *(*make_fn)(size_t);
    void *(*resize_fn)(void *, size_t);
    *(void **)&make_fn = dlsym(h, "stress_lib_make");
    *(void **)&resize_fn = dlsym(h, "stress_lib_resize");
    if (make_fn == NULL || resize_fn == NULL) {
      fail("dlsym");
      dlclose(h);
      break;
    }
    for (unsigned i = 0; i < 32; i++) {
      r = mix(r);
      free(outlive[i]); /* allocated in a module unloaded since */
      outlive[i] = NULL;
      void *p = make_fn(pick(r) % 5000 + 1);
      if (p && (r >> 40) % 2)
        p = resize_fn(p, pick(r >> 8) % 9000 + 1);
      outlive[i] = p;
      atomic_fetch_add_explicit(&ops, 2, memory_order_relaxed);
    }
    dlclose(h);
    a->cycles++;
  }
  for (unsigned i = 0; i < 32; i++)
    free(outlive[i]);
  return NULL;
}

static int mode_dlopen(double seconds, const char *lib) {
  enum { N = 3 };
  pthread_t t[N];
  struct dl_arg a[N];
  for (int i = 0; i < N; i++) {
    a[i] = (struct dl_arg){lib, seconds, 0};
    pthread_create(&t[i], NULL, dl_thread, &a[i]);
    atomic_fetch_add(&threads_made, 1);
  }
  unsigned cycles = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    cycles += a[i].cycles;
  }
  printf("stress: dlopen/dlclose cycles=%u\n", cycles);
  return 0;
}

/* ---- the dump signal during heavy allocation ---------------------------------------- */

static int mode_dumpsig(double seconds, int nthreads, int sig) {
  bg_start(nthreads);
  while (now() - t_start < seconds) {
    usleep(30000);
    if (kill(getpid(), sig) == 0)
      atomic_fetch_add(&signals_sent, 1);
  }
  bg_stop();
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  t_start = now();
  const char *mode = argc > 1 ? argv[1] : "";
  double seconds = argc > 2 ? atof(argv[2]) : 5;
  int n = argc > 3 ? atoi(argv[3]) : 8;
  int rc;
  if (!strcmp(mode, "threads"))
    rc = mode_threads(seconds, n);
  else if (!strcmp(mode, "fork"))
    rc = mode_fork(seconds);
  else if (!strcmp(mode, "exec"))
  {
    static char self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[k > 0 ? k : 0] = '\0';
    rc = mode_exec(argc > 3 ? n : 0, (int)seconds, self, argc > 4 ? strtoul(argv[4], NULL, 10) : 0,
                   argc > 5 ? strtoul(argv[5], NULL, 10) : 0);
  }
  else if (!strcmp(mode, "signals"))
    rc = mode_signals(seconds, n);
  else if (!strcmp(mode, "dlopen"))
    rc = mode_dlopen(seconds, argc > 3 ? argv[3] : "");
  else if (!strcmp(mode, "dumpsig"))
    rc = mode_dumpsig(seconds, n, SIGUSR2);
  else {
    fprintf(stderr, "usage: stress threads|fork|exec|signals|dlopen|dumpsig SECONDS [N|LIB]\n");
    return 2;
  }
  keep_alive();
  printf("stress: mode=%s ops=%lu threads=%lu forks=%lu signals=%lu sent=%lu seconds=%.1f "
         "bad=%lu\n", mode, (unsigned long)ops, (unsigned long)threads_made,
         (unsigned long)forks_made, (unsigned long)signals_seen, (unsigned long)signals_sent,
         now() - t_start, (unsigned long)bad);
  return rc || bad ? 1 : 0;
}
