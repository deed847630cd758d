// deepbind_cxx.cc: a C++ module opened with RTLD_DEEPBIND. Its operator
// new and delete references find libstdc++'s definitions (a dependency)
// before memtype's: they must still reach memtype, with their families.
#include <new>
#include <string>
#include <vector>

// Made while the module loads (its constructors), before memtype could
// rewrite its slots: they must be memtype's blocks all the same, and their
// destruction (at exit, or by dbx_drop_globals) no mismatched free.
static std::string g_name("a global string of the module, long enough for the heap");
static std::vector<int> *g_vec = new std::vector<int>(1000, 7);

extern "C" {
const char *dbx_global(void) { return g_name.c_str(); }
void *dbx_ctor_vector_data(void) { return g_vec ? g_vec->data() : nullptr; }
void dbx_drop_globals(void) {
  delete g_vec;
  g_vec = nullptr;
}
int *dbx_new_array(unsigned n) { return new int[n]; }
void dbx_delete_array(int *p) { delete[] p; }
std::string *dbx_new_string(const char *s) { return new std::string(s); }
void dbx_delete_string(std::string *s) { delete s; }
void *dbx_new_aligned(unsigned n) { return ::operator new(n, std::align_val_t(64)); }
void dbx_delete_aligned(void *p) { ::operator delete(p, std::align_val_t(64)); }
void *dbx_new_nothrow(unsigned n) { return ::operator new(n, std::nothrow); }
void dbx_delete_plain(void *p) { ::operator delete(p); }
// A vector grown inside the module: its buffers come and go here.
long dbx_vector_sum(unsigned n) {
  std::vector<long> v;
  for (unsigned i = 0; i < n; i++) v.push_back(i);
  long s = 0;
  for (long x : v) s += x;
  return s;
}
}
