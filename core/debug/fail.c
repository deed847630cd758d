/* fail.c - failure injection (see fail.h). The choice is stateless: the
 * k-th eligible allocation fails when hash(seed, k) falls in 1/N of the
 * range, so one seed gives one failing sequence in a single-threaded
 * program, and threads share nothing but two counters (atomic adds; this
 * is the debug path, never the fast path). Eligibility: the type matches
 * MEMTYPE_FAILURE_TYPES, the size is at least MEMTYPE_FAILURE_MINSIZE, and
 * the call does not come from memtype itself (unwinding, reporting). */
#include "fail.h"

#include <stdint.h>
#include <string.h>

#include "options.h"
#include "os.h"
#include "report.h"
#include "site.h"
#include "tcache.h"
#include "unwind.h"

MT_HIDDEN bool mt_fail_on;

static uint64_t seed;
static uint64_t eligible;       /* eligible allocations seen */
static uint64_t injected;       /* failures injected */
static uint64_t last_fail_ns;   /* monotonic time of the last failure, 0 = none */
static uint8_t type_eligible[MT_MAX_TYPES]; /* MEMTYPE_FAILURE_TYPES cache */
static mt_fail_event_t events[MT_FAIL_EVENTS];
static MT_TLS bool inside; /* this thread is injecting: its own calls are not eligible */

static uint64_t mix(uint64_t x) { /* splitmix64's finaliser */
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void mt_fail_init(void) {
  mt_fail_on = mt_opt.failure_rate > 0;
  seed = (uint64_t)mt_opt.failure_seed;
  if (seed == 0)
    seed = (mix(mt_os_realtime_ns() ^ ((uint64_t)mt_os_getpid() << 32)) >> 2) | 1; /* fits the option */
  memset(type_eligible, 0, sizeof(type_eligible));
}

uint64_t mt_fail_seed(void) { return seed; }
uint64_t mt_fail_count(void) { return __atomic_load_n(&injected, __ATOMIC_RELAXED); }
uint64_t mt_fail_eligible(void) { return __atomic_load_n(&eligible, __ATOMIC_RELAXED); }
const mt_fail_event_t *mt_fail_events(void) { return events; }

void mt_fail_note_real(void) {
  uint64_t now = mt_os_now_ns();
  __atomic_store_n(&last_fail_ns, now ? now : 1, __ATOMIC_RELAXED);
}

int mt_fail_last_seconds(void) {
  uint64_t t = __atomic_load_n(&last_fail_ns, __ATOMIC_RELAXED);
  if (t == 0)
    return INT32_MAX;
  uint64_t s = (mt_os_now_ns() - t) / 1000000000u;
  return s > INT32_MAX ? INT32_MAX : (int)s;
}

/* Takes one failure from the MEMTYPE_FAILURE_TIMES budget; its number. */
static uint64_t take_one(void) {
  uint64_t n = __atomic_load_n(&injected, __ATOMIC_RELAXED);
  do {
    if (mt_opt.failure_times > 0 && n >= (uint64_t)mt_opt.failure_times)
      return 0;
  } while (!__atomic_compare_exchange_n(&injected, &n, n + 1, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
  return n + 1;
}

/* Fills e and publishes a copy in the ring (seq last: a reader that sees
 * it sees the rest). */
static void record(mt_fail_event_t *e, uint64_t seq, uint64_t nth, size_t n, unsigned type,
                   unsigned family) {
  mt_fail_event_t *slot = &events[(seq - 1) % MT_FAIL_EVENTS];
  __atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
  e->eligible = nth;
  e->time_ns = mt_os_realtime_ns();
  e->size = n;
  e->tid = (uint32_t)mt_os_gettid();
  e->type = (uint16_t)type;
  e->family = (uint8_t)family;
  uintptr_t frames[MT_EVENT_FRAMES];
  e->nframes = (uint8_t)mt_report_user_stack(frames, MT_EVENT_FRAMES);
  for (unsigned f = 0; f < e->nframes; f++)
    e->frames[f] = frames[f];
  e->seq = seq;
  memcpy((char *)slot + sizeof(slot->seq), (char *)e + sizeof(e->seq),
         sizeof(*e) - sizeof(e->seq));
  __atomic_store_n(&slot->seq, seq, __ATOMIC_RELEASE);
}

static void print(const mt_fail_event_t *e) {
  char buf[3072], name[256];
  mt_report_type_name(e->type, name, sizeof(name));
  size_t pos = mt_snprintf(buf, sizeof(buf),
                           "memtype: failure injected #%lu: %s(%lu) returns NULL "
                           "(eligible allocation %lu), type %s, thread %u of process %d (%s)\n",
                           (unsigned long)e->seq, mt_family_names[e->family],
                           (unsigned long)e->size, (unsigned long)e->eligible, name,
                           (unsigned)e->tid, mt_os_getpid(), mt_os_progname());
  unsigned line = 0;
  for (unsigned f = 0; f < e->nframes; f++)
    pos += mt_report_frame(buf + pos, sizeof(buf) - pos, &line, e->frames[f]);
  mt_report_write(buf, pos);
}

bool mt_fail_should(size_t n, unsigned type, unsigned family) {
  if (inside || mt_unwind_busy() || n < (uint64_t)mt_opt.failure_minsize)
    return false;
  const char *globs = mt_opt.failure_types;
  if (globs && *globs && !mt_site_type_matches(type, globs, type_eligible))
    return false;
  uint64_t nth = __atomic_add_fetch(&eligible, 1, __ATOMIC_RELAXED);
  if (nth <= (uint64_t)mt_opt.failure_after)
    return false;
  uint64_t rate = (uint64_t)mt_opt.failure_rate;
  if (rate > 1 && mix(seed ^ mix(nth)) % rate != 0)
    return false;
  uint64_t seq = take_one();
  if (seq == 0)
    return false;
  inside = true;
  mt_tcache_count_failure(mt_tls_own, type);
  mt_fail_event_t e;
  memset(&e, 0, sizeof(e));
  record(&e, seq, nth, n, type, family);
  if (mt_opt.failure_verbose)
    print(&e);
  mt_fail_note_real();
  inside = false;
  return true;
}
