/* mallinfo.c - glibc's malloc statistics calls, answered from memtype's
 * heap. Left to glibc, mallinfo2() and malloc_stats() describe glibc's own
 * arena, which memtype leaves nearly empty: a program that reports its
 * memory through them (servers' status pages, test suites checking that
 * in-use bytes grow after a malloc) would read zeros; malloc_trim() would
 * trim an arena nobody uses and report nothing given back.
 *
 * The figures, mapped to glibc's fields as closely as memtype's heap
 * allows (the field comments are glibc's meaning):
 *   arena     bytes mapped for the heap, huge blocks' mappings excluded
 *   hblks     huge blocks (each its own mapping) live now
 *   hblkhd    bytes of their mappings (the huge cache's included)
 *   uordblks  bytes requested by the blocks in use (all threads; racy sum)
 *   fordblks  the rest of the mapped bytes (free slots, free page runs,
 *             metadata), never negative
 *   ordblks   blocks in use (glibc: free chunks; memtype has no chunks)
 *   usmblks   the heap's peak of requested bytes in use (glibc: always 0)
 *   keepcost  dirty free pages that malloc_trim() would give back
 *   smblks, fsmblks  0 (no fastbins)
 * mallopt() and malloc_info()'s per-arena XML are left to glibc: mallopt's
 * settings tune glibc's arena, which has no effect on memtype's. */
#define _GNU_SOURCE
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>

#include "alloc.h"
#include "memguard.h"
#include "page.h"
#include "tcache.h"
#include "entry.h"

static struct mallinfo2 figures(void) {
  mt_init();
  mt_page_stats_t ps;
  mt_page_get_stats(&ps);
  mt_tstats_t ts;
  unsigned threads = 0;
  mt_tcache_sum_stats(&ts, &threads);
  mt_peak_t peak;
  mt_tcache_peak_get(&peak);
  struct mallinfo2 m = {0};
  size_t huge = ps.mapped - ps.segments * MT_SEG_SIZE;
  size_t in_use = ts.bytes_alloc > ts.bytes_freed ? ts.bytes_alloc - ts.bytes_freed : 0;
  m.arena = ps.segments * MT_SEG_SIZE;
  m.hblks = ps.huge_blocks;
  m.hblkhd = huge;
  m.uordblks = in_use;
  m.fordblks = ps.mapped > in_use ? ps.mapped - in_use : 0;
  m.ordblks = ts.allocs > ts.frees ? ts.allocs - ts.frees : 0;
  m.usmblks = peak.bytes;
  m.keepcost = ps.dirty;
  return m;
}

MT_EXPORT struct mallinfo2 mallinfo2(void) { return figures(); }

/* The old int fields: each figure saturated at INT_MAX (glibc wraps). */
static int clamp(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

MT_EXPORT struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = figures();
  struct mallinfo m = {
      .arena = clamp(m2.arena),       .ordblks = clamp(m2.ordblks), .smblks = 0,
      .hblks = clamp(m2.hblks),       .hblkhd = clamp(m2.hblkhd),   .usmblks = clamp(m2.usmblks),
      .fsmblks = 0,                   .uordblks = clamp(m2.uordblks),
      .fordblks = clamp(m2.fordblks), .keepcost = clamp(m2.keepcost)};
  return m;
}

/* glibc's layout on stderr, one arena (memtype's heap), then memtype's
 * own line. */
MT_EXPORT void malloc_stats(void) {
  struct mallinfo2 m = figures();
  fprintf(stderr,
          "Arena 0:\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
          "Total (incl. mmap):\nsystem bytes     = %10zu\nin use bytes     = %10zu\n"
          "max mmap regions = %10zu\nmax mmap bytes   = %10zu\n"
          "memtype: %zu blocks in use, peak %zu bytes in use\n",
          m.arena, m.uordblks, m.arena + m.hblkhd, m.uordblks, m.hblks, m.hblkhd, m.ordblks,
          m.usmblks);
}

/* Gives back every free page run's pages, the huge cache and memguard's
 * pool of freed overflow-only guarded runs (pad is
 * glibc's top-chunk reserve: memtype has no top chunk). 1 when memory was
 * given back, as glibc. */
MT_EXPORT int malloc_trim(size_t pad) {
  (void)pad;
  mt_init();
  size_t freed = mt_page_trim();
  freed += mt_guard_trim();
  return freed > 0;
}
