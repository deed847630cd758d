/* exit.c - _exit and _Exit, interposed so that a program that ends with
 * them (dash does, Python's os._exit, a fork child) still gets memtype's
 * exit work (core/types/life.c: not in a vfork child). exit() is not
 * interposed: its destructors run the work. Its status is recorded by an
 * on_exit handler registered as main starts (__libc_start_main passes
 * through here): registered in a constructor it would run after the
 * destructors, since glibc registers its own _dl_fini only once the
 * libraries' constructors have run. exit_group through syscall(2) cannot
 * be seen. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

#include "life.h"
#include "unwind.h"
#include "os.h"
#include "entry.h"

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

/* Where the program called exit: the first frame up that is neither
 * memtype's nor libc's (exit's own frames, __run_exit_handlers', hold
 * stale words too); else this handler's caller's stack pointer
 * (__builtin_dwarf_cfa), below exit's frames. */
static void note_exit(int status, void *arg) {
  (void)arg;
  uintptr_t regs[MT_UNWIND_NSAVED];
  uintptr_t sp = mt_unwind_sp_outside((uintptr_t)&exit, regs);
  mt_life_note_exit(status, sp ? sp : (uintptr_t)__builtin_dwarf_cfa(), sp ? regs : NULL);
}

/* _exit and _Exit: the same from their caller (the program's frame). Not
 * in a vfork child (it shares the parent's memory: no walk, which fills
 * the unwinder's caches) nor before memtype is set up: no exit work runs
 * there. */
static inline __attribute__((always_inline)) void exit_now(int status) {
  if (!mt_life_is_own_process())
    return;
  uintptr_t regs[MT_UNWIND_NSAVED];
  uintptr_t sp = mt_unwind_sp_outside((uintptr_t)&exit, regs);
  mt_life_exit_now(status, sp ? sp : (uintptr_t)__builtin_dwarf_cfa(), sp ? regs : NULL);
}

static int main_with_exit_note(int argc, char **argv, char **envp) {
  on_exit(note_exit, NULL);
  return real_main(argc, argv, envp);
}

MT_EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                                void (*fini)(void), void (*rtld_fini)(void), void *stack_end) {
  typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void),
                          void (*)(void), void *);
  start_fn next = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
  if (next == NULL)
    mt_os_exit(127); /* no libc to start the program with: cannot happen with glibc */
  real_main = main;
  return next(main_with_exit_note, argc, argv, init, fini, rtld_fini, stack_end);
}

MT_EXPORT void _exit(int status) {
  exit_now(status);
  mt_os_exit(status);
}

MT_EXPORT void _Exit(int status) {
  exit_now(status);
  mt_os_exit(status);
}
