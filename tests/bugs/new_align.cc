// C++'s operator new promises 16-byte alignment, and clang relies on it at
// the new expression: it value-initialises this 40-byte object with movaps.
// Built by clang++ and by g++ (test_new_align.py): under MEMTYPE_GUARD='*'
// the clang build must run (its block 16-aligned) and the g++ build keeps
// the exact rule (the block ends flush with its guard page, so 8-aligned),
// and a byte written past a g++-built new char[24] faults at the write.
#include <cstdint>
#include <cstdio>
#include <cstring>

struct Rec {
  long a, b, c, d, e;
};

__attribute__((noinline)) static Rec *make() { return new Rec(); }

int main(int argc, char **argv) {
  Rec *r = make();
  std::printf("%d\n", static_cast<int>(reinterpret_cast<uintptr_t>(r) % 16));
  delete r;
  if (argc > 1 && std::strcmp(argv[1], "overflow") == 0) {
    char *p = new char[24];
    std::memset(p, 'x', 24);
    const_cast<volatile char *>(p)[24] = 'y';
    delete[] p;
  }
  std::puts("done");
  return 0;
}
