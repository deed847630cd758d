/* semantics.c: every C allocation entry point must behave exactly like glibc.
 *
 * Run plain (glibc) and under LD_PRELOAD=libmemtype.so; both must pass.
 * Compiled with -fno-builtin so the compiler cannot fold malloc calls. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mt_test.h"

/* valloc/pvalloc/memalign are obsolete and may carry deprecation attributes. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* Sizes the compiler cannot see (avoids -Walloc-size-larger-than). */
static volatile size_t v_size_max = SIZE_MAX;
static volatile size_t v_ptrdiff_max_1 = (size_t)PTRDIFF_MAX + 1;
static volatile size_t v_half = SIZE_MAX / 2 + 1;
static volatile size_t v_two = 2;
static volatile size_t v_2_32 = (size_t)1 << 32;

/* Hide a pointer from the optimizer. */
static void *launder(void *p) {
  __asm__ volatile("" : "+r"(p) : : "memory");
  return p;
}

static int aligned_to(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* Sizes crossing every plausible size-class regime (tiny, small, medium,
 * page-run, huge/mmap). */
static const size_t regime_sizes[] = {
    1,       2,       3,         7,         8,          15,         16,
    17,      24,      31,        32,        48,         63,         64,
    100,     127,     128,       255,       256,        500,        512,
    1000,    1024,    2000,      2048,      4000,       4096,       4097,
    8192,    10000,   16384,     32767,     65536,      100000,     131072,
    262144,  500000,  1 << 20,   (1 << 20) + 1, 2 << 20, 4 << 20,   (4 << 20) + 5,
    8 << 20,
};
#define NREGIME (sizeof regime_sizes / sizeof regime_sizes[0])

static void test_malloc_free_basic(void) {
  /* malloc(0): unique, non-NULL, freeable. */
  void *a = malloc(0), *b = malloc(0);
  CHECK(a != NULL && b != NULL, "malloc(0) returned NULL (%p, %p)", a, b);
  CHECK(a != b, "two malloc(0) returned the same pointer %p", a);
  CHECK(aligned_to(a, 16) && aligned_to(b, 16), "malloc(0) not 16-aligned");
  CHECK_OWNS(a, "malloc(0)");
  free(a);
  free(b);

  /* Other zero-size forms are non-NULL in glibc too. */
  void *c = calloc(0, 0), *d = calloc(0, 100), *e = calloc(100, 0);
  CHECK(c && d && e, "calloc with a zero factor returned NULL");
  CHECK_OWNS(c, "calloc(0,0)");
  free(c); free(d); free(e);
  void *r = realloc(NULL, 0);
  CHECK(r != NULL, "realloc(NULL, 0) returned NULL");
  CHECK_OWNS(r, "realloc(NULL,0)");
  free(r);
  void *pm = NULL;
  int rc = posix_memalign(&pm, 64, 0);
  CHECK(rc == 0 && pm != NULL, "posix_memalign(64, 0) -> %d, %p", rc, pm);
  free(pm);
  void *ma = memalign(64, 0), *aa = aligned_alloc(64, 0);
  CHECK(ma != NULL && aa != NULL, "memalign/aligned_alloc(64, 0) returned NULL");
  free(ma); free(aa);

  /* free(NULL) is a no-op that preserves errno. */
  errno = 12345;
  free(NULL);
  CHECK(errno == 12345, "free(NULL) changed errno to %d", errno);

  /* malloc_usable_size(NULL) == 0 in glibc. */
  CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu", malloc_usable_size(NULL));
}

static void test_enomem(void) {
  void *p;
  int e;

  errno = 0;
  p = malloc(v_size_max);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "malloc(SIZE_MAX) -> %p errno %d", p, e);

  errno = 0;
  p = malloc(v_ptrdiff_max_1);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "malloc(PTRDIFF_MAX+1) -> %p errno %d", p, e);

  errno = 0;
  p = malloc(v_size_max - 4096);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "malloc(SIZE_MAX-4096) -> %p errno %d", p, e);

  /* calloc overflow of n*m. */
  static const struct { size_t n, m; } ovf[] = {
      {SIZE_MAX / 2 + 1, 2}, {2, SIZE_MAX / 2 + 1}, {(size_t)1 << 32, (size_t)1 << 32},
      {SIZE_MAX, SIZE_MAX},  {3, SIZE_MAX / 3 + 1}, {SIZE_MAX, 2},
  };
  for (size_t i = 0; i < sizeof ovf / sizeof ovf[0]; i++) {
    volatile size_t n = ovf[i].n, m = ovf[i].m;
    errno = 0;
    p = calloc(n, m);
    e = errno;
    CHECK(p == NULL && e == ENOMEM, "calloc(%zu, %zu) -> %p errno %d", (size_t)n, (size_t)m, p, e);
  }
  errno = 0;
  p = calloc(v_size_max, 1);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "calloc(SIZE_MAX, 1) -> %p errno %d", p, e);
  errno = 0;
  p = calloc(1, v_ptrdiff_max_1);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "calloc(1, PTRDIFF_MAX+1) -> %p errno %d", p, e);

  /* reallocarray overflow: NULL + ENOMEM, original block untouched. */
  errno = 0;
  p = reallocarray(NULL, v_half, v_two);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "reallocarray(NULL, SIZE_MAX/2+1, 2) -> %p errno %d", p, e);
  char *q = malloc(100);
  mt_fill(q, 100, 7);
  errno = 0;
  p = reallocarray(launder(q), v_2_32, v_2_32);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "reallocarray(p, 2^32, 2^32) -> %p errno %d", p, e);
  CHECK(mt_verify(q, 100, 7) == MT_OK, "reallocarray failure clobbered the old block");
  /* reallocarray that fits works like realloc. */
  errno = 12345;
  char *q2 = reallocarray(q, 10, 300);
  CHECK(q2 != NULL && errno == 12345, "reallocarray(p, 10, 300) -> %p errno %d", (void *)q2, errno);
  if (q2) {
    CHECK(mt_verify(q2, 100, 7) == MT_OK, "reallocarray lost contents");
    CHECK(malloc_usable_size(q2) >= 3000, "reallocarray usable %zu < 3000", malloc_usable_size(q2));
    CHECK_OWNS(q2, "reallocarray");
    memset(q2, 1, 3000);
    q = q2;
  }

  /* realloc to an impossible size: NULL + ENOMEM, old block intact. */
  mt_fill(q, 100, 9);
  errno = 0;
  p = realloc(launder(q), v_size_max);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "realloc(p, SIZE_MAX) -> %p errno %d", p, e);
  CHECK(mt_verify(q, 100, 9) == MT_OK, "failed realloc(SIZE_MAX) clobbered the block");
  errno = 0;
  p = realloc(launder(q), v_ptrdiff_max_1);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "realloc(p, PTRDIFF_MAX+1) -> %p errno %d", p, e);
  CHECK(mt_verify(q, 100, 9) == MT_OK, "failed realloc(PTRDIFF_MAX+1) clobbered the block");
  free(q);

  /* Aligned entry points with impossible sizes. */
  errno = 0;
  p = aligned_alloc(64, v_size_max);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "aligned_alloc(64, SIZE_MAX) -> %p errno %d", p, e);
  errno = 0;
  p = memalign(4096, v_size_max);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "memalign(4096, SIZE_MAX) -> %p errno %d", p, e);
  errno = 0;
  p = valloc(v_size_max);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "valloc(SIZE_MAX) -> %p errno %d", p, e);
  errno = 0;
  p = pvalloc(v_size_max);
  e = errno;
  CHECK(p == NULL && e == ENOMEM, "pvalloc(SIZE_MAX) -> %p errno %d", p, e);
  void *sentinel = (void *)(uintptr_t)0x1234;
  void *mp = sentinel;
  int rc = posix_memalign(&mp, 64, v_size_max);
  CHECK(rc == ENOMEM, "posix_memalign(64, SIZE_MAX) returned %d", rc);
  CHECK(mp == sentinel || mp == NULL, "posix_memalign ENOMEM set *memptr to %p", mp);
}

static void test_calloc_zero(void) {
  static const size_t sizes[] = {1,      8,       16,      24,        32,        48,
                                 100,    256,     1000,    4096,      5000,      65536,
                                 100000, 262144,  1 << 20, (1 << 20) + 1, 4 << 20, 8 << 20,
                                 32 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    for (int round = 0; round < 4; round++) {
      /* Dirty a block of this size, free it, calloc the same size. */
      unsigned char *p = malloc(n);
      CHECK(p != NULL, "malloc(%zu) failed", n);
      if (!p) continue;
      memset(p, 0xff, malloc_usable_size(p));
      free(p);
      unsigned char *q;
      if (round & 1)
        q = calloc(1, n);
      else
        q = (n % 8 == 0) ? calloc(n / 8, 8) : calloc(n, 1);
      CHECK(q != NULL, "calloc of %zu bytes failed", n);
      if (!q) continue;
      CHECK(mt_is_zero(q, n), "calloc(%zu) after dirty free not zero (round %d)", n, round);
      CHECK(aligned_to(q, 16), "calloc(%zu) = %p not 16-aligned", n, (void *)q);
      CHECK_OWNS(q, "calloc");
      memset(q, 0xa5, n);
      free(q);
    }
  }

  /* Many dirty small blocks freed, then many callocs of the same size. */
  enum { N = 512 };
  static void *blk[N];
  for (size_t sz = 16; sz <= 2048; sz *= 2) {
    for (int i = 0; i < N; i++) {
      blk[i] = malloc(sz);
      memset(blk[i], 0xee, sz);
    }
    for (int i = 0; i < N; i++) free(blk[i]);
    int bad = 0;
    for (int i = 0; i < N; i++) {
      blk[i] = calloc(sz, 1);
      if (!blk[i] || !mt_is_zero(blk[i], sz)) bad++;
    }
    CHECK(bad == 0, "%d of %d calloc(%zu) reusing dirty blocks were not zero", bad, N, sz);
    for (int i = 0; i < N; i++) free(blk[i]);
  }

  /* Big calloc, dirtied, freed, calloc'd again. */
  size_t big = 64 * MiB;
  for (int round = 0; round < 2; round++) {
    unsigned char *p = calloc(big / 16, 16);
    CHECK(p != NULL, "calloc(64 MiB) failed");
    if (!p) break;
    CHECK(mt_is_zero(p, big), "calloc(64 MiB) not zero (round %d)", round);
    CHECK_OWNS(p, "big calloc");
    memset(p, 0x5a, big);
    free(p);
  }
}

static void test_realloc(void) {
  /* realloc(NULL, n) behaves like malloc. */
  errno = 12345;
  char *p = realloc(NULL, 100);
  CHECK(p != NULL && errno == 12345, "realloc(NULL, 100) -> %p errno %d", (void *)p, errno);
  CHECK(aligned_to(p, 16), "realloc(NULL,100) not 16-aligned");
  CHECK(malloc_usable_size(p) >= 100, "realloc(NULL,100) usable %zu", malloc_usable_size(p));
  CHECK_OWNS(p, "realloc(NULL,n)");
  memset(p, 3, 100);

  /* realloc(p, 0) frees p and returns NULL (glibc), errno untouched. */
  errno = 12345;
  void *z = realloc(launder(p), 0);
  CHECK(z == NULL, "realloc(p, 0) returned %p, glibc returns NULL", z);
  CHECK(errno == 12345, "realloc(p, 0) changed errno to %d", errno);
  if (z) free(z);
  /* The same for a big block. */
  p = malloc(4 * MiB);
  memset(p, 1, 4 * MiB);
  z = realloc(launder(p), 0);
  CHECK(z == NULL, "realloc(4 MiB block, 0) returned %p", z);
  if (z) free(z);

  /* Growing through every regime, one block, contents preserved. */
  uint64_t seed = 0x1111;
  size_t cur = regime_sizes[0];
  char *b = malloc(cur);
  mt_fill(b, cur, seed);
  for (size_t i = 1; i < NREGIME; i++) {
    size_t n = regime_sizes[i];
    /* An unrelated allocation in between, so realloc cannot always extend. */
    void *noise = malloc(n / 3 + 1);
    errno = 12345;
    char *nb = realloc(b, n);
    CHECK(nb != NULL && errno == 12345, "grow realloc %zu -> %zu: %p errno %d", cur, n, (void *)nb, errno);
    if (!nb) { free(noise); break; }
    CHECK(aligned_to(nb, 16), "realloc to %zu not 16-aligned", n);
    CHECK(malloc_usable_size(nb) >= n, "realloc to %zu usable %zu", n, malloc_usable_size(nb));
    CHECK(mt_verify(nb, cur, seed) == MT_OK, "grow realloc %zu -> %zu lost data at %zu", cur, n,
          mt_verify(nb, cur, seed));
    CHECK_OWNS(nb, "realloc grow");
    mt_fill(nb, n, seed);
    b = nb;
    cur = n;
    free(noise);
  }
  /* And shrinking back down. */
  for (size_t i = NREGIME - 1; i-- > 0;) {
    size_t n = regime_sizes[i];
    void *noise = malloc(n + 7);
    char *nb = realloc(b, n);
    CHECK(nb != NULL, "shrink realloc %zu -> %zu failed", cur, n);
    if (!nb) { free(noise); break; }
    CHECK(mt_verify(nb, n, seed) == MT_OK, "shrink realloc %zu -> %zu lost data at %zu", cur, n,
          mt_verify(nb, n, seed));
    CHECK(malloc_usable_size(nb) >= n, "shrink to %zu usable %zu", n, malloc_usable_size(nb));
    b = nb;
    cur = n;
    free(noise);
  }
  free(b);

  /* Shrink by small and large factors keeps data, for every regime. */
  for (size_t i = 0; i < NREGIME; i++) {
    size_t n = regime_sizes[i];
    for (int div = 1; div <= 4; div++) {
      size_t m = n / (size_t)div;
      if (div == 4) m = n - 1;
      if (m == 0) m = 1; /* realloc(p, 0) would free */
      char *x = malloc(n);
      mt_fill(x, n, n * 7 + (size_t)div);
      char *y = realloc(x, m);
      CHECK(y != NULL, "shrink %zu -> %zu failed", n, m);
      if (!y) { free(x); continue; }
      CHECK(mt_verify(y, m, n * 7 + (size_t)div) == MT_OK, "shrink %zu -> %zu lost data", n, m);
      /* Grow it back: the kept prefix must survive. */
      char *w = realloc(y, n);
      CHECK(w != NULL, "regrow %zu -> %zu failed", m, n);
      if (!w) { free(y); continue; }
      CHECK(mt_verify(w, m, n * 7 + (size_t)div) == MT_OK, "regrow %zu -> %zu lost data", m, n);
      free(w);
    }
  }

  /* Random walk of sizes with live neighbours, deterministic seed. */
  uint64_t rng = 42;
  enum { SLOTS = 8 };
  char *slot[SLOTS] = {0};
  size_t ssz[SLOTS] = {0};
  int bad = 0;
  for (int step = 0; step < 600; step++) {
    rng = mt_mix64(rng + (uint64_t)step);
    int s = (int)(rng % SLOTS);
    unsigned shift = (unsigned)((rng >> 8) % 23); /* up to 4 MiB */
    size_t n = ((size_t)1 << shift) + (size_t)((rng >> 16) % ((size_t)1 << shift));
    char *nb = realloc(slot[s], n);
    if (!nb) { bad++; continue; }
    size_t keep = ssz[s] < n ? ssz[s] : n;
    if (mt_verify(nb, keep, (uint64_t)s * 1000003u) != MT_OK) bad++;
    mt_fill(nb, n, (uint64_t)s * 1000003u);
    slot[s] = nb;
    ssz[s] = n;
  }
  CHECK(bad == 0, "random realloc walk: %d bad steps", bad);
  for (int s = 0; s < SLOTS; s++) free(slot[s]);
}

static void test_alignment_all_sizes(void) {
  static void *keep[4097];
  int bad_align = 0, bad_null = 0, bad_usable = 0;
  for (size_t n = 1; n <= 4096; n++) {
    keep[n] = malloc(n);
    if (!keep[n]) { bad_null++; continue; }
    if (!aligned_to(keep[n], 16)) bad_align++;
    if (malloc_usable_size(keep[n]) < n) bad_usable++;
    memset(keep[n], (int)(n & 0xff), n);
  }
  CHECK(bad_null == 0, "%d malloc(1..4096) returned NULL", bad_null);
  CHECK(bad_align == 0, "%d malloc(1..4096) results not 16-byte aligned", bad_align);
  CHECK(bad_usable == 0, "%d malloc(1..4096) usable size < request", bad_usable);
  int bad_data = 0;
  for (size_t n = 1; n <= 4096; n++) {
    if (!keep[n]) continue;
    const unsigned char *c = keep[n];
    for (size_t k = 0; k < n; k++)
      if (c[k] != (unsigned char)(n & 0xff)) { bad_data++; break; }
  }
  CHECK(bad_data == 0, "%d of the 4096 live blocks were overwritten by neighbours", bad_data);
  CHECK_OWNS(keep[1], "malloc(1)");
  CHECK_OWNS(keep[4096], "malloc(4096)");
  for (size_t n = 1; n <= 4096; n++) free(keep[n]);

  /* calloc and realloc results too. */
  bad_align = 0;
  for (size_t n = 1; n <= 4096; n += 7) {
    void *c = calloc(1, n);
    void *r = realloc(NULL, n);
    if (!c || !r || !aligned_to(c, 16) || !aligned_to(r, 16)) bad_align++;
    r = realloc(r, n * 2 + 1);
    if (!r || !aligned_to(r, 16)) bad_align++;
    free(c);
    free(r);
  }
  CHECK(bad_align == 0, "%d calloc/realloc results not 16-byte aligned", bad_align);

  static const size_t large[] = {4097,    8191,     12345,      65535,    65537,      100001,
                                 262145,  1000003,  (1 << 20) + 3, 3 << 20, (8 << 20) + 5,
                                 33 << 20};
  for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
    void *p = malloc(large[i]);
    CHECK(p != NULL && aligned_to(p, 16), "malloc(%zu) = %p not 16-aligned", large[i], p);
    if (p) {
      CHECK(malloc_usable_size(p) >= large[i], "malloc(%zu) usable %zu", large[i], malloc_usable_size(p));
      CHECK_OWNS(p, "large malloc");
      memset(p, 0x77, large[i]);
    }
    free(p);
  }
}

static void test_usable_size(void) {
  for (size_t i = 0; i < NREGIME; i++) {
    size_t n = regime_sizes[i];
    unsigned char *p = malloc(n);
    CHECK(p != NULL, "malloc(%zu) failed", n);
    if (!p) continue;
    size_t u = malloc_usable_size(p);
    CHECK(u >= n, "malloc_usable_size(malloc(%zu)) = %zu", n, u);
    /* Every usable byte may be written, and it must not corrupt neighbours. */
    unsigned char *nb = malloc(n);
    mt_fill(nb, n, 99);
    memset(p, 0xcd, u);
    CHECK(mt_verify(nb, n, 99) == MT_OK, "writing %zu usable bytes of a %zu block hit a neighbour", u, n);
    CHECK(malloc_usable_size(p) == u, "usable size changed after write");
    free(p);
    CHECK(mt_verify(nb, n, 99) == MT_OK, "free of neighbour clobbered block of %zu", n);
    free(nb);
  }
}

static void test_posix_memalign(void) {
  /* Invalid alignments: EINVAL, *memptr untouched. */
  static const size_t badal[] = {0, 1, 2, 4, 3, 12, 24, 40, 48, 100, 4097, 65536 + 8, SIZE_MAX};
  for (size_t i = 0; i < sizeof badal / sizeof badal[0]; i++) {
    void *sentinel = (void *)(uintptr_t)0xdeadbee0;
    void *p = sentinel;
    int rc = posix_memalign(&p, badal[i], 64);
    CHECK(rc == EINVAL, "posix_memalign(align=%zu) returned %d, want EINVAL", badal[i], rc);
    CHECK(p == sentinel, "posix_memalign(align=%zu) modified *memptr to %p", badal[i], p);
    if (rc == 0 && p != sentinel) free(p);
  }

  /* sizeof(void*) itself is valid. */
  void *p8 = NULL;
  int rc8 = posix_memalign(&p8, sizeof(void *), 10);
  CHECK(rc8 == 0 && p8 != NULL, "posix_memalign(sizeof(void*)) -> %d", rc8);
  free(p8);
}

typedef void *(*align_fn)(size_t al, size_t n, int *rc);

static void *via_posix_memalign(size_t al, size_t n, int *rc) {
  void *p = NULL;
  *rc = posix_memalign(&p, al, n);
  return *rc == 0 ? p : NULL;
}
static void *via_aligned_alloc(size_t al, size_t n, int *rc) {
  void *p = aligned_alloc(al, n);
  *rc = p ? 0 : errno;
  return p;
}
static void *via_memalign(size_t al, size_t n, int *rc) {
  void *p = memalign(al, n);
  *rc = p ? 0 : errno;
  return p;
}

static void test_aligned_family(void) {
  static const struct { const char *name; align_fn fn; } fns[] = {
      {"posix_memalign", via_posix_memalign},
      {"aligned_alloc", via_aligned_alloc},
      {"memalign", via_memalign},
  };
  for (size_t f = 0; f < 3; f++) {
    size_t aligns[32], na = 0;
    for (size_t a = 16; a <= 64 * KiB; a *= 2) aligns[na++] = a;
    aligns[na++] = 2 * MiB;
    for (size_t ai = 0; ai < na; ai++) {
      size_t al = aligns[ai];
      size_t sizes[] = {1, al - 1, al, al + 1, 3 * al + 5, 100000};
      void *live[6];
      for (size_t si = 0; si < 6; si++) {
        size_t n = sizes[si];
        int rc = -1;
        errno = 12345;
        void *p = fns[f].fn(al, n, &rc);
        int e = errno;
        live[si] = p;
        CHECK(p != NULL && rc == 0, "%s(%zu, %zu) failed rc=%d", fns[f].name, al, n, rc);
        if (!p) continue;
        CHECK(e == 12345, "%s(%zu, %zu) changed errno on success to %d", fns[f].name, al, n, e);
        CHECK(aligned_to(p, al), "%s(%zu, %zu) = %p misaligned", fns[f].name, al, n, p);
        CHECK(malloc_usable_size(p) >= n, "%s(%zu, %zu) usable %zu", fns[f].name, al, n,
              malloc_usable_size(p));
        CHECK_OWNS(p, fns[f].name);
        mt_fill(p, n, al ^ n);
      }
      for (size_t si = 0; si < 6; si++) {
        if (!live[si]) continue;
        CHECK(mt_verify(live[si], sizes[si], al ^ sizes[si]) == MT_OK,
              "%s(%zu, %zu) block overwritten", fns[f].name, al, sizes[si]);
        /* realloc of an aligned block keeps the data. */
        void *r = realloc(live[si], sizes[si] + 1000);
        CHECK(r != NULL && mt_verify(r, sizes[si], al ^ sizes[si]) == MT_OK,
              "realloc of %s block lost data", fns[f].name);
        errno = 12345;
        free(r ? r : live[si]);
        CHECK(errno == 12345, "free of aligned block changed errno to %d", errno);
      }
    }
  }

  /* Tiny alignments (below 16) are fine for memalign/aligned_alloc and yield
   * normally aligned memory. */
  for (size_t al = 1; al <= 8; al *= 2) {
    void *a = aligned_alloc(al, 10), *m = memalign(al, 10);
    CHECK(a && m && aligned_to(a, 16) && aligned_to(m, 16), "aligned_alloc/memalign(%zu, 10) = %p %p",
          al, a, m);
    free(a);
    free(m);
  }

  /* valloc: page aligned. */
  size_t pg = page_size();
  static const size_t vs[] = {0, 1, 100, 4095, 4096, 4097, 100000, 3 << 20};
  for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
    errno = 12345;
    void *p = valloc(vs[i]);
    CHECK(p != NULL && errno == 12345, "valloc(%zu) -> %p errno %d", vs[i], p, errno);
    if (!p) continue;
    CHECK(aligned_to(p, pg), "valloc(%zu) = %p not page aligned", vs[i], p);
    CHECK(malloc_usable_size(p) >= vs[i], "valloc(%zu) usable %zu", vs[i], malloc_usable_size(p));
    CHECK_OWNS(p, "valloc");
    memset(p, 0x11, vs[i]);
    free(p);
  }

  /* pvalloc: page aligned, size rounded up to whole pages. */
  static const size_t ps[] = {1, 100, 4095, 4096, 4097, 10000, 100000, (3 << 20) + 1};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
    size_t rounded = (ps[i] + pg - 1) & ~(pg - 1);
    errno = 12345;
    void *p = pvalloc(ps[i]);
    CHECK(p != NULL && errno == 12345, "pvalloc(%zu) -> %p errno %d", ps[i], p, errno);
    if (!p) continue;
    CHECK(aligned_to(p, pg), "pvalloc(%zu) = %p not page aligned", ps[i], p);
    CHECK(malloc_usable_size(p) >= rounded, "pvalloc(%zu) usable %zu < %zu", ps[i],
          malloc_usable_size(p), rounded);
    CHECK_OWNS(p, "pvalloc");
    memset(p, 0x22, rounded); /* the whole rounded size is ours */
    free(p);
  }
}

static void test_errno_preserved(void) {
  static const size_t sizes[] = {1, 64, 1000, 70000, 1 << 20, 16 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    errno = 12345;
    void *a = malloc(n);
    CHECK(a && errno == 12345, "malloc(%zu) success changed errno to %d", n, errno);
    errno = 12345;
    void *b = calloc(n, 1);
    CHECK(b && errno == 12345, "calloc(%zu) success changed errno to %d", n, errno);
    errno = 12345;
    void *c = realloc(a, n * 2);
    CHECK(c && errno == 12345, "realloc(%zu) success changed errno to %d", n * 2, errno);
    if (c) a = c;
    errno = 12345;
    c = realloc(a, n / 2 + 1);
    CHECK(c && errno == 12345, "shrink realloc success changed errno to %d", errno);
    if (c) a = c;
    void *d = NULL;
    errno = 12345;
    int rc = posix_memalign(&d, 256, n);
    CHECK(rc == 0 && errno == 12345, "posix_memalign(%zu) success changed errno to %d", n, errno);
    errno = 12345;
    free(a);
    free(b);
    free(d);
    CHECK(errno == 12345, "free of %zu-byte blocks changed errno to %d", n, errno);
  }
}

static void test_huge(void) {
  /* 1 GiB succeeds, lazily: touch a few pages only. */
  errno = 12345;
  unsigned char *p = malloc(GiB);
  CHECK(p != NULL, "malloc(1 GiB) failed errno %d", errno);
  if (p) {
    CHECK(errno == 12345, "malloc(1 GiB) success changed errno to %d", errno);
    CHECK(aligned_to(p, 16), "malloc(1 GiB) misaligned");
    CHECK(malloc_usable_size(p) >= GiB, "malloc(1 GiB) usable %zu", malloc_usable_size(p));
    CHECK_OWNS(p, "malloc(1 GiB)");
    p[0] = 1;
    p[GiB / 2] = 2;
    p[GiB - 1] = 3;
    CHECK(p[0] == 1 && p[GiB / 2] == 2 && p[GiB - 1] == 3, "1 GiB block does not hold data");
    free(p);
  }
  unsigned char *c = calloc(GiB / 4096, 4096);
  CHECK(c != NULL, "calloc(1 GiB) failed");
  if (c) {
    int bad = 0;
    for (size_t off = 0; off < GiB; off += 64 * MiB)
      if (!mt_is_zero(c + off, 4096)) bad++;
    if (!mt_is_zero(c + GiB - 4096, 4096)) bad++;
    CHECK(bad == 0, "calloc(1 GiB): %d sampled pages not zero", bad);
    free(c);
  }

  /* 1 TiB: usually NULL+ENOMEM; success is acceptable (overcommit). */
  errno = 0;
  void *t = malloc((size_t)1 << 40);
  int e = errno;
  if (t == NULL) {
    CHECK(e == ENOMEM, "malloc(1 TiB) failed with errno %d, want ENOMEM", e);
  } else {
    CHECK(aligned_to(t, 16), "malloc(1 TiB) misaligned");
    ((unsigned char *)t)[0] = 1;
    free(t);
  }
  void *pm = NULL;
  int rc = posix_memalign(&pm, 4096, (size_t)1 << 40);
  CHECK(rc == 0 || rc == ENOMEM, "posix_memalign(1 TiB) returned %d", rc);
  if (rc == 0) free(pm);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  (void)mt_owns();
  printf("semantics: memtype_owns %s, LD_PRELOAD=%s\n", mt_owns() ? "present" : "absent",
         getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
  test_malloc_free_basic();
  test_enomem();
  test_calloc_zero();
  test_realloc();
  test_alignment_all_sizes();
  test_usable_size();
  test_posix_memalign();
  test_aligned_family();
  test_errno_preserved();
  test_huge();
  return mt_finish();
}
