/* preload_in_charge.c: is memtype really the allocator?
 *
 * Usage: preload_in_charge memtype   (run with LD_PRELOAD=libmemtype.so)
 *        preload_in_charge glibc     (run plain)
 *
 * memtype mode: malloc, free, calloc, realloc, ... resolve (both through the
 * program's own references and through dlsym(RTLD_DEFAULT)) to a file whose
 * path contains "libmemtype"; so does operator new (_Znwm) when that symbol
 * exists in the process; memtype_owns() is 1 for heap blocks of several sizes
 * (also for an interior and the last byte) and 0 for stack, static data,
 * read-only data, code, a private mmap and NULL.
 *
 * glibc mode: memtype_owns must be absent and malloc must resolve to libc. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mt_test.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static int static_var = 42;
static char static_bss[4096];
static const char rodata[] = "read-only data";

static const char *where(const void *addr) {
  Dl_info info;
  if (addr == NULL) return "(symbol not found)";
  if (dladdr(addr, &info) == 0 || info.dli_fname == NULL) return "(dladdr failed)";
  return info.dli_fname;
}

static void *fn_addr(void (*f)(void)) {
  void *p;
  memcpy(&p, &f, sizeof p);
  return p;
}

struct sym {
  const char *name;
  void *direct; /* the program's own reference (&malloc), or NULL */
};

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2 || (strcmp(argv[1], "memtype") != 0 && strcmp(argv[1], "glibc") != 0)) {
    fprintf(stderr, "usage: %s memtype|glibc\n", argv[0]);
    return 2;
  }
  int want_memtype = strcmp(argv[1], "memtype") == 0;
  const char *lib = want_memtype ? "libmemtype" : "libc.so";

  /* Addresses of the program's own references to the allocator. */
  struct sym syms[] = {
      {"malloc", fn_addr((void (*)(void))malloc)},
      {"free", fn_addr((void (*)(void))free)},
      {"calloc", fn_addr((void (*)(void))calloc)},
      {"realloc", fn_addr((void (*)(void))realloc)},
      {"posix_memalign", fn_addr((void (*)(void))posix_memalign)},
      {"malloc_usable_size", fn_addr((void (*)(void))malloc_usable_size)},
      {"aligned_alloc", fn_addr((void (*)(void))aligned_alloc)},
      {"memalign", fn_addr((void (*)(void))memalign)},
      {"valloc", fn_addr((void (*)(void))valloc)},
      {"pvalloc", fn_addr((void (*)(void))pvalloc)},
      {"reallocarray", fn_addr((void (*)(void))reallocarray)},
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    const char *d = where(syms[i].direct);
    void *looked = dlsym(RTLD_DEFAULT, syms[i].name);
    const char *l = where(looked);
    printf("  %-20s &sym -> %s, dlsym -> %s\n", syms[i].name, d, l);
    CHECK(strstr(d, lib) != NULL, "&%s resolves to %s, want %s", syms[i].name, d, lib);
    CHECK(strstr(l, lib) != NULL, "dlsym(%s) resolves to %s, want %s", syms[i].name, l, lib);
  }

  /* C++ operators: required to be memtype's when operator new exists. */
  static const char *const cxx[] = {
      "_Znwm", "_Znam", "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZnwmRKSt9nothrow_t", "_ZnwmSt11align_val_t",
      "_ZdlPvSt11align_val_t",
  };
  for (size_t i = 0; i < sizeof cxx / sizeof cxx[0]; i++) {
    void *p = dlsym(RTLD_DEFAULT, cxx[i]);
    if (!p) {
      printf("  %-20s not present in the process\n", cxx[i]);
      continue;
    }
    const char *w = where(p);
    printf("  %-20s dlsym -> %s\n", cxx[i], w);
    if (want_memtype && strcmp(cxx[i], "_Znwm") == 0)
      CHECK(strstr(w, "libmemtype") != NULL, "operator new (_Znwm) resolves to %s", w);
  }

  void *owns_sym = dlsym(RTLD_DEFAULT, "memtype_owns");
  if (!want_memtype) {
    CHECK(owns_sym == NULL, "memtype_owns is present without LD_PRELOAD (in %s)", where(owns_sym));
    CHECK(!mt_under_memtype(), "glibc mode but LD_PRELOAD names libmemtype");
    return mt_finish();
  }

  CHECK(mt_under_memtype(), "memtype mode but LD_PRELOAD does not name libmemtype");
  CHECK(owns_sym != NULL, "memtype_owns is not exported");
  if (!owns_sym) return mt_finish();
  CHECK(strstr(where(owns_sym), "libmemtype") != NULL, "memtype_owns found in %s", where(owns_sym));
  mt_owns_fn owns;
  memcpy(&owns, &owns_sym, sizeof owns);

  /* Heap blocks of several sizes and kinds. */
  static const size_t sizes[] = {16, 1024, 100 * 1024, 8 << 20, 1, 0};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    unsigned char *p = malloc(n);
    CHECK(p != NULL, "malloc(%zu) failed", n);
    if (!p) continue;
    CHECK(owns(p) == 1, "memtype_owns(malloc(%zu) = %p) = %d", n, (void *)p, owns(p));
    if (n > 1) {
      CHECK(owns(p + n / 2) == 1, "memtype_owns(interior of malloc(%zu)) = %d", n, owns(p + n / 2));
      CHECK(owns(p + n - 1) == 1, "memtype_owns(last byte of malloc(%zu)) = %d", n, owns(p + n - 1));
    }
    free(p);
  }
  void *c = calloc(100, 100);
  CHECK(c && owns(c) == 1, "memtype_owns(calloc) = %d", c ? owns(c) : -1);
  void *r = realloc(c, 50000);
  CHECK(r && owns(r) == 1, "memtype_owns(realloc) = %d", r ? owns(r) : -1);
  free(r);
  static const size_t aligns[] = {64, 4096, 65536, 2 << 20};
  for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
    void *p = NULL;
    int rc = posix_memalign(&p, aligns[i], 3000);
    CHECK(rc == 0 && owns(p) == 1, "memtype_owns(posix_memalign(%zu)) = %d", aligns[i], rc == 0 ? owns(p) : -1);
    free(p);
    p = aligned_alloc(aligns[i], aligns[i] * 2);
    CHECK(p && owns(p) == 1, "memtype_owns(aligned_alloc(%zu)) = %d", aligns[i], p ? owns(p) : -1);
    free(p);
    p = memalign(aligns[i], 100);
    CHECK(p && owns(p) == 1, "memtype_owns(memalign(%zu)) = %d", aligns[i], p ? owns(p) : -1);
    free(p);
  }
  void *v = valloc(5000), *pv = pvalloc(5000);
  CHECK(v && owns(v) == 1, "memtype_owns(valloc) = %d", v ? owns(v) : -1);
  CHECK(pv && owns(pv) == 1, "memtype_owns(pvalloc) = %d", pv ? owns(pv) : -1);
  free(v);
  free(pv);
  /* Memory allocated inside libc (strdup, asprintf) comes from memtype too. */
  char *sd = strdup("hello");
  CHECK(sd && owns(sd) == 1, "memtype_owns(strdup) = %d", sd ? owns(sd) : -1);
  free(sd);

  /* Not memtype's memory. */
  int stack_var = 1;
  CHECK(owns(&stack_var) == 0, "memtype_owns(stack %p) = %d", (void *)&stack_var, owns(&stack_var));
  CHECK(owns(&static_var) == 0, "memtype_owns(static %p) = %d", (void *)&static_var, owns(&static_var));
  CHECK(owns(static_bss + 100) == 0, "memtype_owns(bss) = %d", owns(static_bss + 100));
  CHECK(owns(rodata) == 0, "memtype_owns(rodata) = %d", owns(rodata));
  CHECK(owns(fn_addr((void (*)(void))main)) == 0, "memtype_owns(code) = %d", owns(fn_addr((void (*)(void))main)));
  CHECK(owns(NULL) == 0, "memtype_owns(NULL) = %d", owns(NULL));
  CHECK(owns(argv) == 0, "memtype_owns(argv) = %d", owns(argv));
  size_t mlen = 4 << 20;
  unsigned char *m = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED, "mmap failed");
  if (m != MAP_FAILED) {
    m[0] = 1;
    CHECK(owns(m) == 0, "memtype_owns(private mmap %p) = %d", (void *)m, owns(m));
    CHECK(owns(m + mlen / 2) == 0, "memtype_owns(private mmap interior) = %d", owns(m + mlen / 2));
    CHECK(owns(m + mlen - 1) == 0, "memtype_owns(private mmap end) = %d", owns(m + mlen - 1));
    munmap(m, mlen);
  }
  return mt_finish();
}
