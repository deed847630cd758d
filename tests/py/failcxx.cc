// failcxx - C++ allocation under failure injection: `new` throws
// std::bad_alloc, nothrow new returns NULL, a new-handler is called first.
#include <cstdio>
#include <new>

static int handler_calls;
static void handler() {
  handler_calls++;
  std::set_new_handler(nullptr);  // give up: the next failure throws
}

int main() {
  try {
    int *p = new int[100];
    std::printf("new[] returned %s\n", p ? "a block" : "NULL");
    delete[] p;
  } catch (const std::bad_alloc &) {
    std::printf("new[] threw bad_alloc\n");
  }
  int *q = new (std::nothrow) int(7);
  std::printf("nothrow new returned %s\n", q ? "a block" : "NULL");
  delete q;
  std::set_new_handler(handler);
  try {
    double *d = new double(1.0);
    std::printf("new returned a block\n");
    delete d;
  } catch (const std::bad_alloc &) {
    std::printf("new threw bad_alloc after %d handler call(s)\n", handler_calls);
  }
  return 0;
}
