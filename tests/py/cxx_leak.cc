// cxx_leak - a C++ leak whose call site has a namespaced, overloaded name:
// the leak report must print it demangled, cache::make_entry(int).
#include <cstdio>

namespace cache {
struct Entry {
  int key;
  char payload[44];
};
__attribute__((noinline)) Entry *make_entry(int key) { return new Entry{key, {}}; }
__attribute__((noinline)) Entry *make_entry(const char *) { return new Entry{0, {}}; }
}  // namespace cache

int main() {
  for (int i = 0; i < 3; i++)
    cache::make_entry(i);  // dropped: definitely lost
  std::printf("done\n");
  return 0;
}
