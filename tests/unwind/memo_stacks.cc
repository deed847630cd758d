// memo_stacks.cc - the stack memo's hard cases (tests/unwind/test_memo.py,
// run with MEMTYPE_STACK_MEMO=2: every remembered stack is walked again and
// compared): allocations under recursion of varying depth; frames with
// alloca of varying size (CFA from rbp: a frame pointer); two paths with the
// same frame size to one allocating function at the same stack pointer (the
// word each leaves in the slot the other reads); C++ containers and an
// exception through allocating frames; threads doing the same. Seeded,
// deterministic; prints a checksum.
#include <alloca.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))
#define KEEP __asm__ volatile("" ::: "memory")

static uint64_t next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

struct ctx {
  uint64_t seed;
  uint64_t sum;
  void *keep[64];
};

NOINLINE static void churn(ctx *c) {
  unsigned k = (unsigned)(next(&c->seed) & 63);
  free(c->keep[k]);
  c->keep[k] = malloc(16 + (next(&c->seed) & 511));
  c->sum += k;
  KEEP;
}

// Two callers of churn with the same frame: the same sp at churn's capture.
static volatile int path_word;
NOINLINE static void path_a(ctx *c) { churn(c); path_word = 1; KEEP; }
NOINLINE static void path_b(ctx *c) { churn(c); path_word = 2; KEEP; }

// alloca: the frame's CFA is from rbp, its size varies with n.
NOINLINE static void with_alloca(ctx *c, unsigned n) {
  char *buf = (char *)alloca(16 + n * 16);
  memset(buf, (int)n, 16 + n * 16);
  if (n & 1)
    path_a(c);
  else
    path_b(c);
  c->sum += (unsigned char)buf[n];
  KEEP;
}

NOINLINE static void recurse(ctx *c, unsigned depth) {
  if (depth == 0) {
    unsigned r = (unsigned)(next(&c->seed) % 4);
    if (r == 0)
      path_a(c);
    else if (r == 1)
      path_b(c);
    else
      with_alloca(c, (unsigned)(next(&c->seed) % 40));
    return;
  }
  recurse(c, depth - 1);
  KEEP;
}

NOINLINE static void containers(ctx *c, unsigned depth) {
  if (depth > 0) {
    containers(c, depth - 1);
    KEEP;
    return;
  }
  std::vector<std::string> v;
  std::map<int, std::string> m;
  for (int i = 0; i < 20; i++) {
    v.push_back(std::string(20 + i, 'x'));
    m[i] = v.back();
  }
  c->sum += v.size() + m.size();
}

NOINLINE static void thrower(unsigned n) {
  std::string s(40 + n, 'y');
  if (n % 3 == 0)
    throw std::runtime_error(s);
}

static void *run(void *arg) {
  ctx *c = (ctx *)arg;
  for (int i = 0; i < 20000; i++) {
    recurse(c, (unsigned)(next(&c->seed) % 24));
    if (i % 50 == 0)
      containers(c, (unsigned)(next(&c->seed) % 8));
    if (i % 200 == 0) {
      try {
        thrower((unsigned)i);
      } catch (const std::exception &e) {
        c->sum += strlen(e.what());
      }
    }
  }
  for (void *p : c->keep)
    free(p);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 3;
  if (threads < 0 || threads > 16) {
    fprintf(stderr, "usage: memo_stacks [THREADS 0..16]\n");
    return 2;
  }
  ctx main_ctx = {};
  main_ctx.seed = 88172645463325252ull;
  std::vector<ctx> cs((size_t)threads);
  std::vector<pthread_t> ts((size_t)threads);
  for (int t = 0; t < threads; t++) {
    cs[(size_t)t] = ctx();
    cs[(size_t)t].seed = 1234567ull * (uint64_t)(t + 1);
    pthread_create(&ts[(size_t)t], NULL, run, &cs[(size_t)t]);
  }
  run(&main_ctx);
  uint64_t sum = main_ctx.sum;
  for (int t = 0; t < threads; t++) {
    pthread_join(ts[(size_t)t], NULL);
    sum += cs[(size_t)t].sum;
  }
  printf("memo_stacks: done %d threads, checksum %llu\n", threads,
         (unsigned long long)(sum & 0xffff));
  return 0;
}
