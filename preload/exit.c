/* exit.c - _exit and _Exit, interposed so that a program that ends with
 * them (dash does, Python's os._exit, a fork child) still gets memtype's
 * exit work (core/life.c: not in a vfork child). exit() is not
 * interposed: its destructors run the work, and an on_exit handler
 * (init.c) records its status. exit_group through syscall(2) cannot be
 * seen. */
#include "../core/life.h"
#include "../core/os.h"
#include "entry.h"

MT_EXPORT void _exit(int status) {
  mt_life_exit_now(status);
  mt_os_exit(status);
}

MT_EXPORT void _Exit(int status) {
  mt_life_exit_now(status);
  mt_os_exit(status);
}
