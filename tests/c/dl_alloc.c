/* dl_alloc.c: a module loaded and unloaded 200 times by dlopen_loop.c.
 * It allocates in its constructor, keeps static pointers, returns malloc'd
 * strings that the caller frees, uses a dynamically allocated TLS block
 * (glibc allocates it with malloc on first access), and frees everything in
 * its destructor, reporting to the loader through a counter. */
#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTOR_LEN 4000

static unsigned char *ctor_buf; /* allocated in the constructor */
static char *kept;              /* static pointer, grown by realloc */
static size_t kept_len;
static int *dtor_counter;       /* set by the loader */
static int *dtor_bad;
static __thread char tls_buf[3000]; /* dynamic TLS: glibc mallocs it */
static __thread int tls_calls;

static unsigned char ctor_byte(size_t i) { return (unsigned char)(i * 13 + 7); }

__attribute__((constructor)) static void dl_alloc_ctor(void) {
  ctor_buf = malloc(CTOR_LEN);
  if (ctor_buf)
    for (size_t i = 0; i < CTOR_LEN; i++) ctor_buf[i] = ctor_byte(i);
  kept = NULL;
  kept_len = 0;
}

__attribute__((destructor)) static void dl_alloc_dtor(void) {
  int bad = 0;
  if (!ctor_buf) bad++;
  else
    for (size_t i = 0; i < CTOR_LEN; i++)
      if (ctor_buf[i] != ctor_byte(i)) { bad++; break; }
  for (size_t i = 0; i < kept_len; i++)
    if (kept[i] != (char)('A' + i % 26)) { bad++; break; }
  free(ctor_buf);
  free(kept);
  ctor_buf = NULL;
  kept = NULL;
  if (dtor_counter) (*dtor_counter)++;
  if (dtor_bad) *dtor_bad += bad;
}

void dl_alloc_init(int *counter, int *bad) {
  dtor_counter = counter;
  dtor_bad = bad;
}

/* 1 when the constructor's buffer is intact. */
int dl_alloc_check(void) {
  if (!ctor_buf) return 0;
  for (size_t i = 0; i < CTOR_LEN; i++)
    if (ctor_buf[i] != ctor_byte(i)) return 0;
  return 1;
}

/* Returns a malloc'd string the caller must free. */
char *dl_alloc_make(int i) {
  /* Grow the static buffer a bit on every call. */
  size_t nl = kept_len + 100 + (size_t)i % 50;
  char *k = realloc(kept, nl);
  if (!k) return NULL;
  for (size_t j = kept_len; j < nl; j++) k[j] = (char)('A' + j % 26);
  kept = k;
  kept_len = nl;
  char *s = NULL;
  if (asprintf(&s, "dl_alloc:%d:%zu", i, kept_len) < 0) return NULL;
  return s;
}

/* Touches the module's TLS in the calling thread; returns a checksum. */
long dl_alloc_tls(int i) {
  memset(tls_buf, i & 0x7f, sizeof tls_buf);
  tls_calls++;
  long sum = 0;
  for (size_t j = 0; j < sizeof tls_buf; j++) sum += tls_buf[j];
  return sum + tls_calls;
}
