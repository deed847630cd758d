/* life.h - how the process ends, whichever way: exit() or a return from
 * main, _exit() or _Exit() (interposed by preload/), a terminating signal
 * the program does not handle (SIGINT, SIGTERM, SIGHUP, ...: taken through
 * the signal gate while the program's action is SIG_DFL), memtype's own
 * error action, a crash. The exit work (heap check, leak scan, dump,
 * tables) runs once, then the process ends as it would have, and the dump
 * says how (docs/format.md, ENDING). Not covered: exit_group called through
 * syscall(2), and SIGKILL. */
#ifndef MT_LIFE_H
#define MT_LIFE_H

#include <stdbool.h>
#include <stdint.h>

/* How the process ended (or is ending): the dump's ENDING section. */
enum { MT_END_UNKNOWN = 0, MT_END_EXITED = 1, MT_END_SIGNALED = 2, MT_END_RUNNING = 3 };
/* Through what. */
enum {
  MT_VIA_NONE = 0,
  MT_VIA_EXIT = 1,   /* exit() or a return from main */
  MT_VIA__EXIT = 2,  /* _exit() or _Exit() */
  MT_VIA_SIGNAL = 3, /* a signal with its default action */
  MT_VIA_ERROR = 4,  /* memtype's MEMTYPE_ON_ERROR after a heap error */
  MT_VIA_CRASH = 5,  /* a fault (SIGSEGV, SIGBUS, ...) the program did not handle */
  MT_VIA_LEAKS = 6,  /* MEMTYPE_LEAK_EXITCODE replaced the status */
  MT_VIA_ERRORS = 7  /* MEMTYPE_ERROR_EXITCODE replaced the status */
};

typedef struct mt_ending_s {
  uint32_t how;    /* MT_END_* */
  int32_t status;  /* exit status (EXITED) */
  uint32_t signal; /* the signal (SIGNALED) */
  uint32_t via;    /* MT_VIA_* */
} mt_ending_t;

/* Constructor time: work(by_signal) is the exit work; takes the default
 * action of the terminating signals the program leaves at SIG_DFL. late(sig)
 * runs when such a signal ends the process after work begun by exit or
 * _exit (during it or once it is done): the dump must record that death. */
void mt_life_init(void (*work)(bool by_signal), void (*late)(int sig));
void mt_life_fork_child(void);
/* exit(status) is under way (an on_exit handler says so); sp: the stack
 * pointer of the frame that called exit, else of the handler's caller (its
 * CFA), inside exit; regs: MT_LIFE_EXIT_REGS callee-saved registers' values
 * in the frame that called exit, or NULL when the walk could not tell. */
void mt_life_note_exit(int status, uintptr_t sp, const uintptr_t *regs);
#define MT_LIFE_EXIT_REGS 6
/* The destructor: the exit work, unless it ran. */
void mt_life_at_exit(void);
/* _exit(status) was called: the exit work, then the caller ends the process;
 * sp and regs: as for mt_life_note_exit, of _exit's caller. */
void mt_life_exit_now(int status, uintptr_t sp, const uintptr_t *regs);
/* Where the exiting thread's stack was when the program called exit (or
 * _exit), 0 before: the frames below it are exit's own work (handlers,
 * destructors, memtype's exit work) and hold no pointer of the program's,
 * only stale copies left there by calls made before (the leak scan's roots
 * start above it). */
uintptr_t mt_life_exit_sp(void);
/* The callee-saved registers of the frame that called exit or _exit, as
 * that frame held them (MT_LIFE_EXIT_REGS words; 0 for one unknown): a
 * program's only pointer to a block may be in one when it ends, kept by
 * exit's own frames (below the roots' start) or still in the register.
 * NULL before exit or _exit. */
const uintptr_t *mt_life_exit_regs(void);
/* True in a process that shares memory with the one memtype set up without
 * being it (a vfork child): it must not touch memtype's state. */
bool mt_life_is_other_process(void);
/* True in the process memtype set up, once it is (not in a vfork child). */
bool mt_life_is_own_process(void);
const mt_ending_t *mt_life_ending(void);
void mt_life_set_ending(uint32_t how, int status, int sig, uint32_t via);

#endif
