// faults_new.cc - operator new when the address space runs out (RLIMIT_AS set
// to what is mapped now + MB): new and new[] throw std::bad_alloc, the nothrow
// forms return nullptr, and once memory is freed new works again.
//   faults_new MB
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

static long vm_size_kb() {
  FILE *f = std::fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && std::fgets(line, sizeof(line), f))
    if (std::sscanf(line, "VmSize: %ld", &kb) == 1)
      break;
  if (f)
    std::fclose(f);
  return kb;
}

int main(int argc, char **argv) {
  long mb = argc > 1 ? std::atol(argv[1]) : 256;
  int bad = 0;
  std::vector<char *> held;
  held.reserve(1 << 20);
  long before = vm_size_kb();
  rlimit rl = {rlim_t(before + mb * 1024) * 1024, rlim_t(before + mb * 1024) * 1024};
  if (setrlimit(RLIMIT_AS, &rl) != 0)
    bad++;
  unsigned long throws = 0, got = 0;
  for (size_t n : {size_t(1) << 22, size_t(100000), size_t(64)}) {
    for (;;) {
      try {
        char *p = new char[n];
        std::memset(p, 1, n < 4096 ? n : 4096);
        held.push_back(p);
        got++;
      } catch (const std::bad_alloc &) {
        throws++;
        break;
      }
    }
  }
  try {
    auto *big = new std::vector<char>(size_t(64) << 20);
    std::fprintf(stderr, "faults_new: FAIL: new of 64M succeeded at the limit\n");
    delete big;
    bad++;
  } catch (const std::bad_alloc &) {
    throws++;
  }
  char *nt = new (std::nothrow) char[size_t(64) << 20];
  if (nt != nullptr) {
    std::fprintf(stderr, "faults_new: FAIL: nothrow new returned memory at the limit\n");
    bad++;
  }
  delete[] nt;
  long *one = new (std::nothrow) long[size_t(16) << 20];
  bad += one != nullptr;
  delete[] one;
  // Free half: new works again.
  size_t half = held.size() / 2;
  for (size_t i = 0; i < half; i++)
    delete[] held[i];
  try {
    char *a = new char[100];
    char *b = new char[1 << 22];
    delete[] a;
    delete[] b;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "faults_new: FAIL: new failed after half was freed\n");
    bad++;
  }
  for (size_t i = half; i < held.size(); i++)
    delete[] held[i];
  std::printf("faults_new: limit=+%ldM blocks=%lu bad_alloc=%lu bad=%d\n", mb, got, throws, bad);
  return bad != 0 || throws < 4;
}
