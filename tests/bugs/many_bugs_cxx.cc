// many_bugs_cxx - many_bugs.c's bugs in C++ (new and delete, member
// functions in a namespace), all in one run: `memtype run -- many_bugs_cxx
// bad` with no flag must report each with the source line of the allocation,
// of the delete and, where memtype can see it, of the access, under
// demangled names (shop::Basket::overflow_write(bool)); test_run_defaults.py
// reads the lines marked here.
//   bad  a leaked object; a one-byte write past a 32-byte array and a
//        one-byte read past a 48-byte array (their ends at the guard page); a
//        one-byte write past a 24-byte array (8 bytes before the guard page:
//        found at its delete[]); a read and a write after delete; a double
//        delete
//   ok   the same functions, each access inside its block, each block
//        deleted once: no report
#include <cstdio>
#include <cstring>

namespace shop {

static volatile char sink;

struct Item {
  char name[16];
  explicit Item(int n) { std::snprintf(name, sizeof(name), "item-%d", n); }
};

class Basket {
public:
  __attribute__((noinline)) static Item *make_item(int n) {
    return new Item(n); // ALLOC leak
  }
  __attribute__((noinline)) void leak(bool bad);
  __attribute__((noinline)) void overflow_write(bool bad);
  __attribute__((noinline)) void overflow_read(bool bad);
  __attribute__((noinline)) void overflow_slack(bool bad);
  __attribute__((noinline)) void uaf_read(bool bad);
  __attribute__((noinline)) void uaf_write(bool bad);
  __attribute__((noinline)) void double_free(bool bad);
};

void Basket::leak(bool bad) {
  Item *it = make_item(1);
  sink = it->name[0];
  if (!bad)
    delete it;
}

void Basket::overflow_write(bool bad) {
  char *p = new char[32]; // ALLOC overflow_write
  std::memset(p, 'a', 32);
  const_cast<volatile char *>(p)[bad ? 32 : 31] = 'x'; // ACCESS overflow_write
  delete[] p;
}

void Basket::overflow_read(bool bad) {
  char *p = new char[48]; // ALLOC overflow_read
  std::memset(p, 'b', 48);
  sink = const_cast<volatile char *>(p)[bad ? 48 : 47]; // ACCESS overflow_read
  delete[] p;
}

void Basket::overflow_slack(bool bad) {
  char *p = new char[24]; // ALLOC overflow_slack
  std::memset(p, 'c', 24);
  const_cast<volatile char *>(p)[bad ? 24 : 23] = 'x'; // ACCESS overflow_slack
  delete[] p;
}

void Basket::uaf_read(bool bad) {
  Item *it = new Item(2); // ALLOC uaf_read
  if (!bad)
    sink = const_cast<volatile char *>(it->name)[3];
  delete it; // FREE uaf_read
  if (bad)
    sink = const_cast<volatile char *>(it->name)[3]; // ACCESS uaf_read
}

void Basket::uaf_write(bool bad) {
  Item *it = new Item(3); // ALLOC uaf_write
  if (!bad)
    const_cast<volatile char *>(it->name)[5] = 'w';
  delete it; // FREE uaf_write
  if (bad)
    const_cast<volatile char *>(it->name)[5] = 'w'; // ACCESS uaf_write
}

void Basket::double_free(bool bad) {
  Item *it = new Item(4); // ALLOC double_free
  delete it; // FREE double_free
  if (bad)
    delete it; // ACCESS double_free
}

} // namespace shop

int main(int argc, char **argv) {
  bool bad = argc > 1 && std::strcmp(argv[1], "bad") == 0;
  shop::Basket b;
  b.leak(bad);
  b.overflow_write(bad);
  b.overflow_read(bad);
  b.overflow_slack(bad);
  b.uaf_read(bad);
  b.uaf_write(bad);
  b.double_free(bad);
  std::printf("done\n");
  return 0;
}
