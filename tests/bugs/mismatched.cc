// mismatched - a block released by the wrong family of deallocation.
//   new-free  malloc-delete  newarr-delete  new-deletearr  sized (delete with a
//   wrong size)  aligned-plain (operator new aligned to 256 released by a
//   plain delete)  aligned-other (new[] aligned to 64, delete[] given 128);
//   ok: each released by its own kind, sized delete right, aligned new and
//   new[] released with their alignment (sized or not).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

struct item {
  long a, b, c;
};

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "ok";
  if (!std::strcmp(m, "new-free")) {
    item *p = new item();
    std::free(p);
  } else if (!std::strcmp(m, "malloc-delete")) {
    item *p = static_cast<item *>(std::malloc(sizeof(item)));
    delete p;
  } else if (!std::strcmp(m, "newarr-delete")) {
    item *p = new item[4];
    delete p;
  } else if (!std::strcmp(m, "new-deletearr")) {
    item *p = new item();
    delete[] p;
  } else if (!std::strcmp(m, "sized")) {
    void *p = ::operator new(sizeof(item));
    ::operator delete(p, sizeof(item) + 8);
  } else if (!std::strcmp(m, "aligned-plain")) {
    void *p = ::operator new(1024, std::align_val_t(256));
    ::operator delete(p);
  } else if (!std::strcmp(m, "aligned-other")) {
    void *p = ::operator new[](32, std::align_val_t(64));
    ::operator delete[](p, 32, std::align_val_t(128));
  } else {
    void *e = ::operator new(1024, std::align_val_t(256));
    void *f = ::operator new[](32, std::align_val_t(64));
    void *g = ::operator new(100, std::align_val_t(32), std::nothrow);
    ::operator delete(e, std::align_val_t(256));
    ::operator delete[](f, 32, std::align_val_t(64));
    ::operator delete(g, std::align_val_t(32), std::nothrow);
    item *a = new item(), *b = new item[3];
    void *c = ::operator new(40), *d = std::malloc(10);
    delete a;
    delete[] b;
    ::operator delete(c, 40);
    std::free(d);
  }
  std::puts("done");
  return 0;
}
