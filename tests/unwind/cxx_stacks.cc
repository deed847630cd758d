// cxx_stacks: C++ at -O2, inlining and exceptions; each scenario ends in a
// double free (reported with its stack under MEMTYPE_ON_ERROR=continue)
// from uw_report_here, compared by test_stacks.py with gdb's frames.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#define NOINLINE __attribute__((noinline))
#define KEEP __asm__ volatile("" ::: "memory")

static void *freed;

extern "C" NOINLINE void uw_report_here(void) {
  free(freed);
  KEEP;
}

// Inlined into its callers at -O2 (always): the physical frame is theirs.
static inline __attribute__((always_inline)) void report_inline(int n) {
  if (n > 0)
    uw_report_here();
  KEEP;
}

struct Guard {
  int n;
  NOINLINE ~Guard() { report_inline(n); } // runs while the exception unwinds
};

NOINLINE void uw_thrower(int n) {
  std::vector<std::string> v(static_cast<size_t>(n), std::string(40, 'x'));
  if (n > 1)
    throw std::runtime_error("thrown through frames with cleanups: " + v[0]);
  KEEP;
}

NOINLINE void uw_with_cleanup(int n) {
  Guard g{n};
  uw_thrower(n + 1);
  KEEP;
}

NOINLINE void uw_catcher(int n) {
  try {
    uw_thrower(n);
  } catch (const std::exception &e) {
    std::string copy(e.what()); // allocates in the handler
    report_inline(static_cast<int>(copy.size()));
  }
  KEEP;
}

NOINLINE void uw_dtor_top(int n) {
  try {
    uw_with_cleanup(n);
  } catch (...) {
  }
  KEEP;
}

int main(int argc, char **argv) {
  void *p = malloc(24);
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  free(p);
  __asm__ volatile("" : "+r"(a)); // the address only: no use after free
  freed = reinterpret_cast<void *>(a);
  const char *what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "catch") == 0)
    uw_catcher(argc + 1);
  else if (strcmp(what, "dtor") == 0)
    uw_dtor_top(argc - 1);
  else
    return 2;
  std::printf("done %s\n", what);
  return 0;
}
