/* deepbind_c.c: a C program (no libstdc++ of its own) opens a C++ module
 * with RTLD_DEEPBIND, which brings libstdc++ in with it. The module's
 * constructors allocate with that libstdc++'s operator new before memtype
 * can rewrite its slots; its blocks must be memtype's all the same, and
 * freeing them (delete in the module, destructors at exit) no error.
 * Usage: deepbind_c CXX_LIB */
#include "mt_test.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: deepbind_c CXX_LIB\n");
    return 2;
  }
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_DEEPBIND);
  CHECK(h != NULL, "dlopen: %s", dlerror());
  if (!h)
    return mt_finish();
  int *(*new_array)(unsigned) = (int *(*)(unsigned))dlsym(h, "dbx_new_array");
  void (*delete_array)(int *) = (void (*)(int *))dlsym(h, "dbx_delete_array");
  long (*vector_sum)(unsigned) = (long (*)(unsigned))dlsym(h, "dbx_vector_sum");
  const char *(*global)(void) = (const char *(*)(void))dlsym(h, "dbx_global");
  void *(*ctor_vector)(void) = (void *(*)(void))dlsym(h, "dbx_ctor_vector_data");
  void (*drop_globals)(void) = (void (*)(void))dlsym(h, "dbx_drop_globals");
  CHECK(new_array && delete_array && vector_sum && global && ctor_vector && drop_globals,
        "symbols");
  if (!(new_array && delete_array && vector_sum && global && ctor_vector && drop_globals))
    return mt_finish();
  CHECK(strcmp(global(), "a global string of the module, long enough for the heap") == 0,
        "the module's global string");
  CHECK_OWNS(global(), "module constructor's std::string");
  CHECK_OWNS(ctor_vector(), "module constructor's std::vector");
  drop_globals();
  for (unsigned i = 1; i < 300; i++) {
    int *p = new_array(i);
    if (i == 1)
      CHECK_OWNS(p, "module new[]");
    p[i - 1] = (int)i;
    delete_array(p);
  }
  CHECK(vector_sum(10000) == 49995000L, "vector in the module");
  /* The global string is destroyed at exit, by the module's destructor. */
  return mt_finish();
}
