// deepbind.cc: blocks cross between the program and modules opened with
// RTLD_DEEPBIND (C, bound at load and lazily; C++), both ways; a module in a
// new namespace (dlmopen) allocates and frees on its own. Under memtype
// every block the modules allocate must be memtype's, and every free of
// either side must reach memtype: glibc's free given a memtype block aborts.
// Usage: deepbind NOW_LIB LAZY_LIB CXX_LIB (CXX_LIB's directory in the RUNPATH)
#include "mt_test.h"

#include <string>

#define SYM(h, name, type) ((type)dlsym((h), (name)))

typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef size_t (*usable_fn)(void *);
typedef char *(*strdup_fn)(const char *);
typedef long (*roundtrip_fn)(int);

static bool under_memtype() { return mt_owns() != nullptr; }

static void c_module(const char *path, int flags, const char *what, size_t keep) {
  void *h = dlopen(path, flags);
  CHECK(h != nullptr, "%s: dlopen: %s", what, dlerror());
  if (!h)
    return;
  alloc_fn dbl_alloc = SYM(h, "dbl_alloc", alloc_fn);
  free_fn dbl_free = SYM(h, "dbl_free", free_fn);
  realloc_fn dbl_realloc = SYM(h, "dbl_realloc", realloc_fn);
  calloc_fn dbl_calloc = SYM(h, "dbl_calloc", calloc_fn);
  memalign_fn dbl_memalign = SYM(h, "dbl_memalign", memalign_fn);
  memalign_fn dbl_aligned_alloc = SYM(h, "dbl_aligned_alloc", memalign_fn);
  usable_fn dbl_usable = SYM(h, "dbl_usable", usable_fn);
  strdup_fn dbl_strdup = SYM(h, "dbl_strdup", strdup_fn);
  alloc_fn dbl_via_table = SYM(h, "dbl_via_table", alloc_fn);
  alloc_fn dbl_keep_block = SYM(h, "dbl_keep_block", alloc_fn);
  CHECK(dbl_alloc && dbl_free && dbl_realloc && dbl_calloc && dbl_memalign && dbl_usable &&
            dbl_strdup && dbl_via_table && dbl_keep_block && dbl_aligned_alloc,
        "%s: symbols", what);

  // The constructor's block, made while the module loaded.
  auto take_ctor_block = SYM(h, "dbl_take_ctor_block", char *(*)(void));
  CHECK(take_ctor_block != nullptr, "%s: dbl_take_ctor_block", what);
  if (take_ctor_block) {
    char *c = take_ctor_block();
    CHECK(c && strcmp(c, "made by the constructor") == 0, "%s: constructor's block", what);
    CHECK_OWNS(c, "module constructor's malloc");
    free(c);
  }
  // The program's blocks freed by the module, the module's by the program.
  for (int i = 0; i < 1000; i++) {
    size_t n = (size_t)(i * 37 % 5000) + 1;
    void *p = malloc(n);
    mt_fill(p, n, (uint64_t)i);
    dbl_free(p);
    void *q = dbl_alloc(n);
    if (i % 100 == 0)
      CHECK_OWNS(q, "module malloc");
    mt_fill(q, n, (uint64_t)i);
    CHECK(mt_verify(q, n, (uint64_t)i) == MT_OK, "%s: module block %zu", what, n);
    free(q);
  }
  char *s = (char *)malloc(64);
  strcpy(s, "from the program");
  s = (char *)dbl_realloc(s, 100000);
  CHECK(s && strcmp(s, "from the program") == 0, "%s: realloc across", what);
  CHECK_OWNS(s, "module realloc");
  free(s);
  int *z = (int *)dbl_calloc(1000, sizeof(int));
  CHECK(z && mt_is_zero(z, 1000 * sizeof(int)), "%s: calloc", what);
  CHECK_OWNS(z, "module calloc");
  z = (int *)realloc(z, 8000 * sizeof(int));
  dbl_free(z);
  void *a = dbl_memalign(256, 3000);
  CHECK(a && ((uintptr_t)a & 255) == 0, "%s: posix_memalign", what);
  CHECK_OWNS(a, "module posix_memalign");
  CHECK(dbl_usable(a) >= 3000, "%s: malloc_usable_size %zu", what, dbl_usable(a));
  free(a);
  void *b = dbl_aligned_alloc(64, 640);
  CHECK(b && ((uintptr_t)b & 63) == 0, "%s: aligned_alloc", what);
  CHECK_OWNS(b, "module aligned_alloc");
  free(b);
  void *mine = malloc(77);
  CHECK(dbl_usable(mine) >= 77, "%s: malloc_usable_size of the program's block", what);
  dbl_free(mine);
  char *d = dbl_strdup("strdup in the module");
  CHECK(d && strcmp(d, "strdup in the module") == 0, "%s: strdup", what);
  CHECK_OWNS(d, "module strdup");
  free(d);
  void *t = dbl_via_table(4096);
  CHECK(t != nullptr, "%s: malloc through a data pointer", what);
  CHECK_OWNS(t, "module malloc through a data pointer");
  free(t);
  void *k = dbl_keep_block(keep);
  CHECK(k != nullptr, "%s: kept block", what);
  CHECK_OWNS(k, "module kept block");
  // The module stays loaded: its kept block is live at exit.
}

static void cxx_module(const char *path) {
  // Through dlmopen into the base namespace: the same as dlopen. By its bare
  // name, found through the program's RUNPATH (the loader must see the
  // program as the caller, not libmemtype).
  const char *slash = strrchr(path, '/');
  void *h = dlmopen(LM_ID_BASE, slash ? slash + 1 : path, RTLD_NOW | RTLD_DEEPBIND);
  CHECK(h != nullptr, "cxx: dlmopen: %s", dlerror());
  if (!h)
    return;
  auto new_array = SYM(h, "dbx_new_array", int *(*)(unsigned));
  auto delete_array = SYM(h, "dbx_delete_array", void (*)(int *));
  auto new_string = SYM(h, "dbx_new_string", std::string *(*)(const char *));
  auto delete_string = SYM(h, "dbx_delete_string", void (*)(std::string *));
  auto new_aligned = SYM(h, "dbx_new_aligned", void *(*)(unsigned));
  auto delete_aligned = SYM(h, "dbx_delete_aligned", void (*)(void *));
  auto new_nothrow = SYM(h, "dbx_new_nothrow", void *(*)(unsigned));
  auto delete_plain = SYM(h, "dbx_delete_plain", void (*)(void *));
  auto vector_sum = SYM(h, "dbx_vector_sum", long (*)(unsigned));
  CHECK(new_array && delete_array && new_string && delete_string && new_aligned &&
            delete_aligned && new_nothrow && delete_plain && vector_sum,
        "cxx: symbols");
  for (unsigned i = 1; i < 500; i++) {
    int *p = new_array(i);
    if (i == 1)
      CHECK_OWNS(p, "module new[]");
    p[i - 1] = (int)i;
    delete[] p;  // program's delete[] of the module's new[]
    int *q = new int[i];
    q[0] = 1;
    delete_array(q);  // and the reverse
  }
  std::string *s = new_string("a string long enough to be on the heap, not inline");
  CHECK_OWNS(s, "module new std::string");
  CHECK(*s == "a string long enough to be on the heap, not inline", "cxx: string");
  delete s;
  delete_string(new std::string("the program's string, also long enough for the heap"));
  void *a = new_aligned(100);
  CHECK(((uintptr_t)a & 63) == 0, "cxx: aligned new");
  CHECK_OWNS(a, "module aligned new");
  ::operator delete(a, std::align_val_t(64));
  delete_aligned(::operator new(200, std::align_val_t(64)));
  void *n = new_nothrow(300);
  CHECK_OWNS(n, "module nothrow new");
  ::operator delete(n);
  delete_plain(::operator new(400));
  CHECK(vector_sum(10000) == 49995000L, "cxx: vector in the module");
  auto global = SYM(h, "dbx_global", const char *(*)(void));
  auto ctor_vector = SYM(h, "dbx_ctor_vector_data", void *(*)(void));
  auto drop_globals = SYM(h, "dbx_drop_globals", void (*)(void));
  CHECK(global && ctor_vector && drop_globals, "cxx: global symbols");
  if (global && ctor_vector && drop_globals) {
    CHECK(strcmp(global(), "a global string of the module, long enough for the heap") == 0,
          "cxx: the module's global string");
    CHECK_OWNS(global(), "module constructor's std::string");
    CHECK_OWNS(ctor_vector(), "module constructor's std::vector");
    drop_globals();
  }
}

// A new namespace has its own libc, whose allocator serves the objects
// there: they allocate and free among themselves, memtype stays out.
static void new_namespace(const char *path) {
  void *h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_DEEPBIND);
  CHECK(h != nullptr, "dlmopen(LM_ID_NEWLM): %s", dlerror());
  if (!h)
    return;
  roundtrip_fn roundtrip = SYM(h, "dbl_roundtrip", roundtrip_fn);
  alloc_fn ns_alloc = SYM(h, "dbl_alloc", alloc_fn);
  free_fn ns_free = SYM(h, "dbl_free", free_fn);
  CHECK(roundtrip && ns_alloc && ns_free, "new namespace: symbols");
  long want = 0;
  for (int i = 0; i < 5000; i++) want += (unsigned char)i;
  CHECK(roundtrip(5000) == want, "new namespace: round trip");
  void *p = ns_alloc(1000);
  CHECK(p != nullptr, "new namespace: malloc");
  if (under_memtype())
    CHECK(mt_owns()(p) == 0, "new namespace: its block is its libc's");
  ns_free(p);
  dlclose(h);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: deepbind NOW_LIB LAZY_LIB CXX_LIB\n");
    return 2;
  }
  printf("deepbind: memtype_owns %s\n", under_memtype() ? "present" : "absent");
  c_module(argv[1], RTLD_NOW | RTLD_DEEPBIND, "now", 48 << 10);
  c_module(argv[2], RTLD_LAZY | RTLD_DEEPBIND, "lazy", 40 << 10);
  cxx_module(argv[3]);
  new_namespace(argv[2]);
  // A plain load by bare name goes through the program's RUNPATH as well
  // (memtype passes it on as a tail call: the loader sees the program).
  void *plain = dlopen("libdl_alloc.so", RTLD_NOW);
  CHECK(plain != nullptr, "plain dlopen through the RUNPATH: %s", dlerror());
  if (plain)
    dlclose(plain);
  return mt_finish();
}
