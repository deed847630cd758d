/* stats.c - the vmstat -m table at exit (see stats.h). Columns as in
 * FreeBSD's vmstat -m: Type, InUse (blocks, a forked child's inherited ones
 * included), MemUse (bytes requested: B under 1 KiB, else KiB rounded up),
 * Requests (allocations), Size(s) (the size classes the type used). */
#define _GNU_SOURCE
#include "stats.h"

#include <string.h>

#include "dump_format.h"
#include "fail.h"
#include "os.h"
#include "report.h"
#include "site.h"
#include "sizeclass.h"
#include "tcache.h"

static uint64_t clamp_sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

/* A MemUse/HighUse cell: bytes under 1 KiB exactly ("48B"), else KiB
 * rounded up ("2K"); 0 is "0K". memtype report's tables say the same
 * (report/memtype_report/cli.py, _human_k). */
static const char *mem_text(uint64_t b, char *buf, size_t len) {
  if (b > 0 && b < 1024)
    mt_snprintf(buf, len, "%luB", (unsigned long)b);
  else
    mt_snprintf(buf, len, "%luK", (unsigned long)((b + 1023) >> 10));
  return buf;
}

static void sizes_text(const mt_typestat_t *s, char *buf, size_t len) {
  size_t pos = 0;
  buf[0] = '\0';
#define EXTRA_NAME(name, off, text) [MT_CLASS_BIT_##name - MT_NCLASSES] = text,
  static const char *const extra[] = {MT_DUMP_CLASS_EXTRA(EXTRA_NAME)};
#undef EXTRA_NAME
  _Static_assert(MT_ARRAY_LEN(extra) == MT_CLASS_BITS - MT_NCLASSES, "a name per extra class bit");
  for (unsigned c = 0; c < MT_CLASS_BITS && pos + 16 < len; c++) {
    if (!(s->classes[MT_CLASS_WORD(c)] & MT_CLASS_MASK(c)))
      continue;
    if (c < MT_NCLASSES)
      pos += mt_snprintf(buf + pos, len - pos, "%s%u", pos ? "," : "", mt_classes[c].size);
    else
      pos += mt_snprintf(buf + pos, len - pos, "%s%s", pos ? "," : "", extra[c - MT_NCLASSES]);
  }
}

void mt_stats_print_types(long lines) {
  unsigned n = mt_site_count();
  size_t bytes = (size_t)n * sizeof(mt_typestat_t);
  mt_typestat_t *all = mt_os_map(bytes);
  if (all == NULL)
    return;
  mt_tcache_sum_types(all, n);
  /* A forked child's blocks live at the fork are its own (inherited): they
   * count in InUse and MemUse, not in Requests. in_use[] holds them added,
   * and marks a type taken by the selection below with UINT64_MAX. */
  size_t extra = (size_t)n * 2 * sizeof(uint64_t);
  uint64_t *in_use = mt_os_map(extra);
  if (in_use == NULL) {
    mt_os_unmap(all, bytes);
    return;
  }
  uint64_t *mem_use = in_use + n;
  unsigned used = 0;
  for (unsigned t = 0; t < n; t++) {
    uint64_t ib, iblocks = mt_tcache_inherited(t, &ib);
    in_use[t] = clamp_sub(iblocks + all[t].allocs, all[t].frees);
    mem_use[t] = clamp_sub(ib + all[t].bytes_alloc, all[t].bytes_freed);
    if (all[t].allocs == 0 && all[t].failures == 0 && iblocks == 0)
      in_use[t] = UINT64_MAX; /* nothing to show */
    else
      used++;
  }
  char head[64];
  mt_snprintf(head, sizeof(head), "Type (%u call sites)", used);
  /* A Fail column when failures are injected (MEMTYPE_FAILURE_RATE). */
  mt_printf("memtype: %-49s %9s %9s %9s %10s%s  %s\n", head, "InUse", "MemUse", "HighUse",
            "Requests", mt_fail_on ? "    Fail" : "", "Size(s)");
  /* Selection of the top `lines` by memory in use (then requests): n is at
   * most 65536 and lines small, and it needs no allocation. */
  for (long shown = 0; shown < lines; shown++) {
    unsigned best = n;
    uint64_t best_mem = 0, best_req = 0;
    for (unsigned t = 0; t < n; t++) {
      if (in_use[t] == UINT64_MAX)
        continue;
      uint64_t mem = mem_use[t];
      if (best == n || mem > best_mem || (mem == best_mem && all[t].allocs > best_req)) {
        best = t;
        best_mem = mem;
        best_req = all[t].allocs;
      }
    }
    if (best == n)
      break;
    char name[160], sizes[256];
    mt_report_type_name(best, name, sizeof(name));
    sizes_text(&all[best], sizes, sizeof(sizes));
    uint64_t high = mt_tcache_high(best);
    if (high < best_mem)
      high = best_mem;
    char fails[16] = "";
    if (mt_fail_on)
      mt_snprintf(fails, sizeof(fails), " %7lu", (unsigned long)all[best].failures);
    char memb[24], highb[24];
    mt_printf("memtype: %-49s %9lu %9s %9s %10lu%s  %s\n", name, (unsigned long)in_use[best],
              mem_text(best_mem, memb, sizeof(memb)), mem_text(high, highb, sizeof(highb)),
              (unsigned long)all[best].allocs, fails, sizes);
    in_use[best] = UINT64_MAX; /* taken */
  }
  if (used > (unsigned long)lines)
    mt_printf("memtype: ... %lu more types (MEMTYPE_STATS_LINES=N shows more)\n",
              (unsigned long)(used - lines));
  mt_os_unmap(in_use, extra);
  mt_os_unmap(all, bytes);
}
