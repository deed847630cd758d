/* lock.h - memtype's lock: a futex mutex (0 free, 1 held, 2 held with
 * sleepers) that spins briefly before sleeping. Held only around short
 * slow-path work (zone refill and flush, page runs, the thread registry),
 * never on the fast path. A lock is a zeroed word, so static initialisation
 * and re-initialisation in a fork child are plain stores. */
#ifndef MT_LOCK_H
#define MT_LOCK_H

#include <stdbool.h>

#include "os.h"

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
  int c = 0;
  return __atomic_compare_exchange_n(&l->word, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void mt_unlock(mt_lock_t *l) {
  if (__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2)
    mt_os_futex_wake(&l->word);
}

/* Fork child: the holder is gone, whatever it held is ours now. */
static inline void mt_lock_reset(mt_lock_t *l) { l->word = 0; }

#endif
