/* lock.h - memtype's lock: a futex mutex (0 free, 1 held, 2 held with
 * sleepers) that spins briefly before sleeping. Held only around short
 * slow-path work (zone refill and flush, page runs, the thread registry),
 * never on the fast path. A lock is a zeroed word, so static initialisation
 * and re-initialisation in a fork child are plain stores. Each thread counts
 * the locks it holds (or waits for): while the count is not 0 the program's
 * signal handlers wait (siggate.h), so a handler that calls malloc never
 * waits for a lock its own thread holds. A lock is released by the thread
 * that took it. */
#ifndef MT_LOCK_H
#define MT_LOCK_H

#include <stdbool.h>

#include "mt_types.h"
#include "os.h"
#include "siggate.h"

/* Locks this thread holds or waits for; signals kept meanwhile (siggate.c). */
extern MT_TLS unsigned mt_tls_locks;
extern MT_TLS unsigned mt_tls_sig_kept;

/* Before the lock word is touched: a handler arriving from here on waits. */
static inline void mt_locks_enter(void) {
  mt_tls_locks++;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* After the lock word is released: the last one runs the kept handlers. */
static inline void mt_locks_leave(void) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (mt_tls_locks != 0 && --mt_tls_locks == 0 &&
      MT_UNLIKELY(__atomic_load_n(&mt_tls_sig_kept, __ATOMIC_ACQUIRE)))
    mt_siggate_replay();
}

static inline void mt_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

typedef struct mt_lock_s {
  int word;
} mt_lock_t;

static inline void mt_lock(mt_lock_t *l) {
  mt_locks_enter();
  int c = 0;
  if (__atomic_compare_exchange_n(&l->word, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return;
  for (int spins = 0; spins < 100; spins++) {
    mt_cpu_relax();
    c = 0;
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 &&
        __atomic_compare_exchange_n(&l->word, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return;
  }
  while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE) != 0)
    mt_os_futex_wait(&l->word, 2);
}

/* For signal handlers: never waits. */
static inline bool mt_trylock(mt_lock_t *l) {
  mt_locks_enter();
  int c = 0;
  if (__atomic_compare_exchange_n(&l->word, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return true;
  mt_locks_leave();
  return false;
}

static inline void mt_unlock(mt_lock_t *l) {
  if (__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2)
    mt_os_futex_wake(&l->word);
  mt_locks_leave();
}

/* Fork child: the holder is gone, whatever it held is ours now. */
static inline void mt_lock_reset(mt_lock_t *l) { l->word = 0; }

#endif
