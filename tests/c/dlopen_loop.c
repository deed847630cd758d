/* dlopen_loop.c: dlopen/dlsym/call/dlclose a module 200 times.  The module
 * (dl_alloc.c) allocates in its constructor, frees in its destructor, keeps
 * static pointers and returns malloc'd strings; ld.so and libc allocate link
 * maps, TLS blocks and scope arrays through the (preloaded) malloc.
 *
 * Usage: dlopen_loop /path/to/dl_alloc.so */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt_test.h"

#define LOOPS 200

typedef void (*init_fn)(int *, int *);
typedef int (*check_fn)(void);
typedef char *(*make_fn)(int);
typedef long (*tls_fn)(int);

struct tls_arg {
  tls_fn fn;
  int i;
  long got;
};

static void *tls_thread(void *arg) {
  struct tls_arg *a = arg;
  a->got = a->fn(a->i);
  /* A heap block freed by the main thread after this thread exits. */
  return malloc(64);
}

static long expect_tls(int i, int calls) { return (long)(i & 0x7f) * 3000 + calls; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: %s /path/to/dl_alloc.so\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  printf("dlopen_loop: %d loops of %s, memtype_owns %s\n", LOOPS, path, mt_owns() ? "present" : "absent");

  int dtor_count = 0, dtor_bad = 0;
  int open_fail = 0, sym_fail = 0, check_fail = 0, str_fail = 0, tls_fail = 0, unload_fail = 0, close_fail = 0;
  for (int i = 0; i < LOOPS; i++) {
    int flags = (i % 2 ? RTLD_NOW : RTLD_LAZY) | (i % 3 ? RTLD_LOCAL : RTLD_GLOBAL);
    void *h = dlopen(path, flags);
    if (!h) {
      if (open_fail++ < 3) fprintf(stderr, "dlopen: %s\n", dlerror());
      continue;
    }
    /* A second reference: the module must stay loaded after one dlclose. */
    void *h2 = (i % 4 == 0) ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : NULL;
    if (i % 4 == 0 && h2 != h) sym_fail++;

    init_fn init = (init_fn)dlsym(h, "dl_alloc_init");
    check_fn check = (check_fn)dlsym(h, "dl_alloc_check");
    make_fn make = (make_fn)dlsym(h, "dl_alloc_make");
    tls_fn tls = (tls_fn)dlsym(h, "dl_alloc_tls");
    if (!init || !check || !make || !tls) {
      sym_fail++;
      dlclose(h);
      if (h2) dlclose(h2);
      continue;
    }
    init(&dtor_count, &dtor_bad);
    if (!check()) check_fail++;

    size_t kept = 0;
    for (int k = 0; k < 5; k++) {
      char *s = make(i * 5 + k);
      kept += 100 + (size_t)(i * 5 + k) % 50;
      char want[64];
      snprintf(want, sizeof want, "dl_alloc:%d:%zu", i * 5 + k, kept);
      if (!s || strcmp(s, want) != 0) {
        if (str_fail++ < 3) fprintf(stderr, "got '%s' want '%s'\n", s ? s : "(null)", want);
      }
      if (s && k == 0) CHECK_OWNS(s, "string malloc'd by the module (asprintf)");
      free(s); /* freed by the caller, allocated in the module */
    }

    if (tls(i) != expect_tls(i, 1) || tls(i) != expect_tls(i, 2)) tls_fail++;
    if (i % 10 == 0) {
      struct tls_arg a = {tls, i, 0};
      pthread_t t;
      void *ret = NULL;
      if (pthread_create(&t, NULL, tls_thread, &a) == 0) {
        pthread_join(t, &ret);
        if (a.got != expect_tls(i, 1)) tls_fail++;
        free(ret);
      } else {
        tls_fail++;
      }
    }

    if (!check()) check_fail++;
    int before = dtor_count;
    if (h2) {
      if (dlclose(h2) != 0) close_fail++;
      if (dtor_count != before) unload_fail++; /* unloaded too early */
    }
    if (dlclose(h) != 0) close_fail++;
    /* The destructor must have run (module really unloaded). */
    if (dtor_count != before + 1) {
      if (unload_fail++ < 3) fprintf(stderr, "loop %d: destructor count %d, want %d\n", i, dtor_count, before + 1);
    }
  }
  CHECK(open_fail == 0, "%d dlopen failures", open_fail);
  CHECK(sym_fail == 0, "%d dlsym/RTLD_NOLOAD failures", sym_fail);
  CHECK(check_fail == 0, "%d times the constructor's buffer was corrupted", check_fail);
  CHECK(str_fail == 0, "%d bad strings from the module", str_fail);
  CHECK(tls_fail == 0, "%d TLS checksum failures", tls_fail);
  CHECK(close_fail == 0, "%d dlclose failures", close_fail);
  CHECK(unload_fail == 0, "%d loops where the destructor did not run exactly at the last dlclose", unload_fail);
  CHECK(dtor_count == LOOPS, "destructor ran %d times, want %d", dtor_count, LOOPS);
  CHECK(dtor_bad == 0, "destructor found %d corrupted buffers", dtor_bad);
  return mt_finish();
}
