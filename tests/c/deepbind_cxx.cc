// deepbind_cxx.cc: a C++ module opened with RTLD_DEEPBIND. Its operator
// new and delete references find libstdc++'s definitions (a dependency)
// before memtype's: they must still reach memtype, with their families.
#include <new>
#include <string>
#include <vector>

extern "C" {
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
