/* lock.h - memtype's lock: a test-and-test-and-set spinlock that yields the
 * CPU under contention. Held only around short slow-path work (zone refill
 * and flush, page runs, the thread registry), never on the fast path.
 * A lock is a zeroed word, so static initialisation and re-initialisation in
 * a fork child are plain stores. */
#ifndef MT_LOCK_H
#define MT_LOCK_H

#include "os.h"

static inline void mt_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

typedef struct mt_lock_s {
  int word; /* 0 free, 1 held */
} mt_lock_t;

static inline void mt_lock(mt_lock_t *l) {
  for (unsigned spins = 0;; spins++) {
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 &&
        __atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE) == 0)
      return;
    if (spins < 64)
      mt_cpu_relax();
    else
      mt_os_yield();
  }
}

static inline void mt_unlock(mt_lock_t *l) { __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE); }

/* Fork child: the holder is gone, whatever it held is ours now. */
static inline void mt_lock_reset(mt_lock_t *l) { l->word = 0; }

#endif
