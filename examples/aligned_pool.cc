// aligned_pool - a pool of cache-line-aligned counters, one per worker, that
// hands its slots back with the wrong delete.
//
// Each counter is alignas(64), so that two workers never share a cache line:
// `new Counter` calls the aligned operator new (C++17), and the matching
// delete must be given the same alignment. The pool takes raw memory itself
// (operator new with std::align_val_t, as a hand-written allocator does) but
// releases it with a plain ::operator delete, which C++ leaves undefined (and
// which breaks under an allocator that keeps aligned blocks apart). The first
// release is right, the second is the bug.
#include <cstdio>
#include <new>

struct alignas(64) Counter {
  long hits;
  long misses;
};

__attribute__((noinline)) static Counter *take_counter() {
  void *raw = ::operator new(sizeof(Counter), std::align_val_t(alignof(Counter)));
  return new (raw) Counter{0, 0};
}

__attribute__((noinline)) static void give_back_right(Counter *c) {
  c->~Counter();
  ::operator delete(c, std::align_val_t(alignof(Counter)));
}

__attribute__((noinline)) static void give_back_wrong(Counter *c) {
  c->~Counter();
  ::operator delete(c); /* BUG: the block came from the aligned operator new */
}

int main() {
  Counter *a = take_counter(), *b = take_counter();
  a->hits = 3;
  b->hits = 4;
  std::printf("hits %ld\n", a->hits + b->hits);
  give_back_right(a);
  give_back_wrong(b);
  return 0;
}
