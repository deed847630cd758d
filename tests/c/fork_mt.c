/* fork_mt.c: fork() from a multithreaded process whose threads are busy in
 * malloc/free.  The child must not deadlock on an allocator lock held by a
 * thread that does not exist in the child, must see the parent's blocks
 * intact (and be able to free them), and must be able to allocate in every
 * size regime and start threads of its own.  Also fork+exec of /bin/true and
 * of this program in a mode that allocates.
 *
 * Usage: fork_mt            run the test
 *        fork_mt --alloc    (used by the test itself via exec) allocate,
 *                           verify, exit 0 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mt_test.h"

#define NFORKS 50
#define NBG 3
#define CHILD_TIMEOUT_MS 10000

static atomic_int stop, paused;
static int hung; /* children killed after CHILD_TIMEOUT_MS */
static atomic_ulong bg_ops, bg_bad;

/* Background threads: allocate/verify/free in a tight loop until stopped. */
static void *bg_thread(void *arg) {
  uint64_t rng = 0xb6000000ull + (uint64_t)(uintptr_t)arg;
  enum { RING = 32 };
  unsigned char *ring[RING] = {0};
  size_t sz[RING] = {0};
  uint64_t seed[RING] = {0};
  unsigned long ops = 0;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    if (atomic_load_explicit(&paused, memory_order_relaxed)) {
      /* A child is running: give it the CPUs (2-core machines). */
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
      continue;
    }
    rng = mt_mix64(rng + 1);
    int i = (int)(rng % RING);
    if (ring[i]) {
      if (mt_verify(ring[i], sz[i], seed[i]) != MT_OK) atomic_fetch_add(&bg_bad, 1);
      free(ring[i]);
    }
    unsigned shift = 4 + (unsigned)((rng >> 8) % 12); /* 16 B .. 64 KiB */
    sz[i] = ((size_t)1 << shift) + (size_t)((rng >> 20) % ((size_t)1 << shift));
    if ((rng >> 40) % 128 == 0) sz[i] = ((size_t)1 << 18) << ((rng >> 48) % 4); /* 256 KiB .. 2 MiB */
    seed[i] = rng;
    ring[i] = (rng >> 50) % 8 == 0 ? calloc(1, sz[i]) : malloc(sz[i]);
    if (!ring[i]) { atomic_fetch_add(&bg_bad, 1); continue; }
    mt_fill(ring[i], sz[i], seed[i]);
    ops++;
  }
  for (int i = 0; i < RING; i++) {
    if (ring[i] && mt_verify(ring[i], sz[i], seed[i]) != MT_OK) atomic_fetch_add(&bg_bad, 1);
    free(ring[i]);
  }
  atomic_fetch_add(&bg_ops, ops);
  return NULL;
}

/* Allocation work done in children (and in the exec'd --alloc mode).
 * Returns the number of problems found. */
static const size_t kChildSizes[] = {1,     16,     24,      100,     256,     1000,    4096,
                                     5000,  20000,  65536,   100000,  262144,  1 << 20, (2 << 20) + 5};
#define NCHILD_SIZES (sizeof kChildSizes / sizeof kChildSizes[0])

static int alloc_work(uint64_t salt, int rounds) {
  int bad = 0;
  void *blk[NCHILD_SIZES * 2];
  for (int r = 0; r < rounds; r++) {
    for (size_t i = 0; i < NCHILD_SIZES; i++) {
      size_t n = kChildSizes[i];
      uint64_t s = salt * 1000 + i + (uint64_t)r * 77;
      blk[2 * i] = malloc(n);
      if (!blk[2 * i]) { bad++; continue; }
      mt_fill(blk[2 * i], n, s);
      void *p = NULL;
      size_t an = n > 300000 ? n / 8 : n; /* page faults are slow on small VMs */
      if (posix_memalign(&p, i % 2 ? 4096 : 64, an) != 0) { bad++; p = NULL; }
      if (p && ((uintptr_t)p & (i % 2 ? 4095 : 63))) bad++;
      blk[2 * i + 1] = p;
      if (p) mt_fill(p, an, ~s);
    }
    for (size_t i = 0; i < NCHILD_SIZES; i++) {
      size_t n = kChildSizes[i];
      size_t an = n > 300000 ? n / 8 : n;
      uint64_t s = salt * 1000 + i + (uint64_t)r * 77;
      if (blk[2 * i]) {
        if (mt_verify(blk[2 * i], n, s) != MT_OK) bad++;
        unsigned char *g = realloc(blk[2 * i], n + n / 2 + 3);
        if (!g) { bad++; free(blk[2 * i]); }
        else {
          if (mt_verify(g, n, s) != MT_OK) bad++;
          free(g);
        }
      }
      if (blk[2 * i + 1]) {
        if (mt_verify(blk[2 * i + 1], an, ~s) != MT_OK) bad++;
        free(blk[2 * i + 1]);
      }
      unsigned char *c = calloc(an, 1);
      if (!c || !mt_is_zero(c, an)) bad++;
      free(c);
    }
  }
  /* Many small blocks. */
  enum { SMALL = 2000 };
  void **v = malloc(SMALL * sizeof *v);
  if (!v) return bad + 1;
  for (int i = 0; i < SMALL; i++) {
    v[i] = malloc((size_t)(i % 300) + 1);
    if (v[i]) memset(v[i], i & 0xff, (size_t)(i % 300) + 1);
    else bad++;
  }
  for (int i = 0; i < SMALL; i++) {
    const unsigned char *c = v[i];
    if (c && (c[0] != (i & 0xff) || c[i % 300] != (i & 0xff))) bad++;
    free(v[i]);
  }
  free(v);
  return bad;
}

static void *child_thread(void *arg) {
  int bad = alloc_work((uint64_t)(uintptr_t)arg, 1);
  return (void *)(intptr_t)bad;
}

/* Blocks the main thread holds across fork; the child verifies and frees
 * them (memory allocated before fork must be usable in the child). */
#define NPRE 12
static unsigned char *pre[NPRE];
static size_t pre_sz[NPRE];

static void refresh_pre(int iter) {
  for (int i = 0; i < NPRE; i++) {
    free(pre[i]);
    pre_sz[i] = kChildSizes[(size_t)(i + iter) % NCHILD_SIZES];
    pre[i] = malloc(pre_sz[i]);
    if (pre[i]) mt_fill(pre[i], pre_sz[i], (uint64_t)iter * 100 + (uint64_t)i);
  }
}

static int child_main(int iter) {
  int bad = 0;
  for (int i = 0; i < NPRE; i++) {
    if (!pre[i]) { bad++; continue; }
    if (mt_verify(pre[i], pre_sz[i], (uint64_t)iter * 100 + (uint64_t)i) != MT_OK) bad++;
    if (i % 2) {
      free(pre[i]);
    } else {
      unsigned char *g = realloc(pre[i], pre_sz[i] + 1000);
      if (!g) bad++;
      else if (mt_verify(g, pre_sz[i], (uint64_t)iter * 100 + (uint64_t)i) != MT_OK) bad++;
      free(g ? g : pre[i]);
    }
    pre[i] = NULL;
  }
  bad += alloc_work((uint64_t)iter, 1);
  if (iter % 3 == 0) {
    /* The child starts threads of its own. */
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
      if (pthread_create(&t[k], NULL, child_thread, (void *)(uintptr_t)(iter * 10 + k)) != 0) {
        bad++;
        t[k] = 0;
      }
    for (int k = 0; k < 2; k++) {
      void *ret = NULL;
      if (t[k]) {
        pthread_join(t[k], &ret);
        bad += (int)(intptr_t)ret;
      }
    }
  }
  if (bad) fprintf(stderr, "child %d: %d problems\n", iter, bad);
  return bad ? 1 : 0;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for pid with a timeout; a hung child (allocator deadlock after fork)
 * is killed and reported.  Returns 1 when the child exited 0. */
static int wait_child(pid_t pid, const char *what, int iter) {
  long deadline = now_ms() + CHILD_TIMEOUT_MS;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      fprintf(stderr, "%s %d: waitpid: %s\n", what, iter, strerror(errno));
      return 0;
    }
    if (now_ms() > deadline) {
      fprintf(stderr, "%s %d: child hung for %d ms (deadlock after fork?), killing it\n", what, iter,
              CHILD_TIMEOUT_MS);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      hung++;
      return 0;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "%s %d: child killed by signal %d (%s)\n", what, iter, WTERMSIG(status),
            strsignal(WTERMSIG(status)));
    return 0;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "%s %d: child exit status %d\n", what, iter, WEXITSTATUS(status));
    return 0;
  }
  return 1;
}

/* Let the background threads run (so they are inside malloc/free at the
 * moment of fork), then fork. */
static pid_t fork_while_busy(void) {
  atomic_store(&paused, 0);
  struct timespec ts = {0, 2000000};
  nanosleep(&ts, NULL);
  fflush(NULL);
  pid_t pid = fork();
  if (pid > 0) atomic_store(&paused, 1);
  return pid;
}

static char self_exe[4096];

static void exec_child(int kind) {
  if (kind == 0) {
    execl("/bin/true", "true", (char *)NULL);
  } else {
    execl(self_exe, self_exe, "--alloc", (char *)NULL);
  }
  _exit(127);
}

/* fork from a thread other than main. */
struct fork_from_thread_arg {
  int iter, ok;
};
static void *fork_from_thread(void *arg) {
  struct fork_from_thread_arg *a = arg;
  pid_t pid = fork_while_busy();
  if (pid == 0) _exit(child_main(a->iter));
  a->ok = pid > 0 && wait_child(pid, "fork-from-thread", a->iter);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--alloc") == 0) {
    /* exec'd child: allocate in every regime, with a thread too. */
    int bad = alloc_work(4242, 1);
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)99) == 0) {
      pthread_join(t, &ret);
      bad += (int)(intptr_t)ret;
    } else {
      bad++;
    }
    return bad ? 3 : 0;
  }

  setvbuf(stdout, NULL, _IOLBF, 0);
  ssize_t l = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  CHECK(l > 0, "readlink /proc/self/exe failed");
  if (l > 0) self_exe[l] = 0;
  printf("fork_mt: %d forks with %d busy threads, memtype_owns %s\n", NFORKS, NBG,
         mt_owns() ? "present" : "absent");

  pthread_t bg[NBG];
  for (int i = 0; i < NBG; i++) CHECK(pthread_create(&bg[i], NULL, bg_thread, (void *)(uintptr_t)i) == 0, "bg thread");

  int n_fork = 0, ok_fork = 0, ok_exec_true = 0, ok_exec_self = 0, ok_thread_fork = 0;
  int n_exec_true = 0, n_exec_self = 0, n_thread_fork = 0;
  for (int iter = 0; iter < NFORKS; iter++) {
    if (hung >= 2) {
      fprintf(stderr, "stopping after %d hung children\n", hung);
      break;
    }
    refresh_pre(iter);
    n_fork++;
    pid_t pid = fork_while_busy();
    if (pid < 0) {
      CHECK(0, "fork failed: %s", strerror(errno));
      continue;
    }
    if (pid == 0) {
      int rc = child_main(iter);
      if (iter % 2) exit(rc); /* atexit handlers, stdio flush */
      _exit(rc);
    }
    ok_fork += wait_child(pid, "fork", iter);

    if (iter % 10 == 0) {
      pid = fork_while_busy();
      if (pid == 0) exec_child(0);
      n_exec_true++;
      ok_exec_true += pid > 0 && wait_child(pid, "fork+exec /bin/true", iter);
    }
    if (iter % 10 == 5) {
      pid = fork_while_busy();
      if (pid == 0) exec_child(1);
      n_exec_self++;
      ok_exec_self += pid > 0 && wait_child(pid, "fork+exec self --alloc", iter);
    }
    if (iter % 10 == 7) {
      struct fork_from_thread_arg a = {iter, 0};
      pthread_t t;
      n_thread_fork++;
      if (pthread_create(&t, NULL, fork_from_thread, &a) == 0) {
        pthread_join(t, NULL);
        ok_thread_fork += a.ok;
      }
    }
  }
  atomic_store(&paused, 0);
  atomic_store(&stop, 1);
  for (int i = 0; i < NBG; i++) pthread_join(bg[i], NULL);
  for (int i = 0; i < NPRE; i++) free(pre[i]);

  printf("fork_mt: forks ok %d/%d, exec /bin/true ok %d/%d, exec self ok %d/%d, fork from thread ok %d/%d, "
         "background ops %lu\n",
         ok_fork, n_fork, ok_exec_true, n_exec_true, ok_exec_self, n_exec_self, ok_thread_fork, n_thread_fork,
         (unsigned long)bg_ops);
  CHECK(n_fork == NFORKS, "only %d of %d forks attempted", n_fork, NFORKS);
  CHECK(ok_fork == n_fork, "%d of %d forked children failed", n_fork - ok_fork, n_fork);
  CHECK(ok_exec_true == n_exec_true, "%d fork+exec /bin/true failed", n_exec_true - ok_exec_true);
  CHECK(ok_exec_self == n_exec_self, "%d fork+exec self failed", n_exec_self - ok_exec_self);
  CHECK(ok_thread_fork == n_thread_fork, "%d forks from a thread failed", n_thread_fork - ok_thread_fork);
  CHECK(bg_bad == 0, "background threads saw %lu corrupted/failed blocks", (unsigned long)bg_bad);
  CHECK(bg_ops > 0, "background threads did no work");
  CHECK(hung == 0, "%d children hung (deadlock in the allocator after fork?)", hung);
  return mt_finish();
}
