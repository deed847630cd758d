// cxx_ops.cc: every standard form of operator new/delete, new_handler
// semantics, and STL container churn.  Runs under glibc and under
// LD_PRELOAD=libmemtype.so; the same checks must pass under both.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "mt_test.h"

namespace {

// Sizes the compiler cannot see (avoids -Walloc-size-larger-than and folding).
volatile std::size_t v_huge = std::size_t(1) << 62;
volatile std::size_t v_size_max = SIZE_MAX;
volatile std::size_t v_ptrdiff_max_1 = std::size_t(PTRDIFF_MAX) + 1;

void *escape(void *p) {
  __asm__ volatile("" : "+r"(p) : : "memory");
  return p;
}

bool aligned_to(const void *p, std::size_t a) { return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0; }

const std::size_t kSizes[] = {0, 1, 15, 16, 17, 100, 1000, 4096, 4097, 65536, 100000, 1 << 20, 8 << 20};

// Common checks on a block returned by some operator new.
void check_block(void *p, std::size_t n, std::size_t align, const char *what) {
  CHECK(p != nullptr, "%s(%zu) returned null", what, n);
  if (!p) return;
  CHECK(aligned_to(p, align), "%s(%zu) = %p not %zu-aligned", what, n, p, align);
  CHECK_OWNS(p, what);
  mt_fill(p, n, n * 31 + align);
  CHECK(mt_verify(escape(p), n, n * 31 + align) == MT_OK, "%s(%zu) does not hold data", what, n);
}

void test_plain_forms() {
  const std::size_t A = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  for (std::size_t n : kSizes) {
    void *p = ::operator new(n);
    check_block(p, n, A, "operator new");
    ::operator delete(escape(p));

    p = ::operator new(n);
    check_block(p, n, A, "operator new (sized delete)");
    ::operator delete(escape(p), n);

    p = ::operator new[](n);
    check_block(p, n, A, "operator new[]");
    ::operator delete[](escape(p));

    p = ::operator new[](n);
    check_block(p, n, A, "operator new[] (sized delete[])");
    ::operator delete[](escape(p), n);

    p = ::operator new(n, std::nothrow);
    check_block(p, n, A, "operator new nothrow");
    ::operator delete(escape(p), std::nothrow);

    p = ::operator new[](n, std::nothrow);
    check_block(p, n, A, "operator new[] nothrow");
    ::operator delete[](escape(p), std::nothrow);

    // Blocks from operator new may also be released with the nothrow form
    // of delete and vice versa (they share one allocator).
    p = ::operator new(n, std::nothrow);
    check_block(p, n, A, "operator new nothrow / plain delete");
    ::operator delete(escape(p));
  }

  // operator new(0) returns distinct non-null pointers.
  void *a = ::operator new(0), *b = ::operator new(0);
  CHECK(a && b && a != b, "operator new(0) twice: %p %p", a, b);
  ::operator delete(a);
  ::operator delete(b, std::size_t(0));
}

void test_aligned_forms() {
  const std::size_t aligns[] = {16, 32, 64, 256, 4096, 65536, 2 << 20};
  for (std::size_t al : aligns) {
    std::align_val_t av{al};
    for (std::size_t n : kSizes) {
      void *p = ::operator new(n, av);
      check_block(p, n, al, "aligned operator new");
      ::operator delete(escape(p), av);

      p = ::operator new(n, av);
      check_block(p, n, al, "aligned operator new (sized aligned delete)");
      ::operator delete(escape(p), n, av);

      p = ::operator new[](n, av);
      check_block(p, n, al, "aligned operator new[]");
      ::operator delete[](escape(p), av);

      p = ::operator new[](n, av);
      check_block(p, n, al, "aligned operator new[] (sized aligned delete[])");
      ::operator delete[](escape(p), n, av);

      p = ::operator new(n, av, std::nothrow);
      check_block(p, n, al, "aligned nothrow operator new");
      ::operator delete(escape(p), av, std::nothrow);

      p = ::operator new[](n, av, std::nothrow);
      check_block(p, n, al, "aligned nothrow operator new[]");
      ::operator delete[](escape(p), av, std::nothrow);
    }
  }
}

// new-expressions: the compiler picks the sized / aligned deallocation forms.
int g_live_objects;

struct alignas(64) Over64 {
  unsigned char bytes[200];
  Over64() { std::memset(bytes, 0x64, sizeof bytes); g_live_objects++; }
  ~Over64() { g_live_objects--; }
};
struct alignas(256) Over256 {
  std::uint64_t v[3];
  Over256() : v{1, 2, 3} { g_live_objects++; }
  ~Over256() { g_live_objects--; }
};
struct alignas(4096) Over4096 {
  char page[5000];
  Over4096() { page[0] = 1; page[4999] = 2; g_live_objects++; }
  ~Over4096() { g_live_objects--; }
};
struct WithDtor {  // array cookie + sized delete[]
  std::uint64_t x[5];
  WithDtor() : x{5, 4, 3, 2, 1} { g_live_objects++; }
  ~WithDtor() { g_live_objects--; }
};

template <typename T>
void new_expressions(const char *name) {
  std::size_t al = alignof(T);
  T *one = new T;
  CHECK(aligned_to(one, al), "new %s misaligned %p", name, static_cast<void *>(one));
  CHECK_OWNS(one, name);
  delete static_cast<T *>(escape(one));

  for (int n : {1, 2, 7, 33}) {
    T *arr = new T[n];
    CHECK(aligned_to(arr, al), "new %s[%d] misaligned %p", name, n, static_cast<void *>(arr));
    CHECK_OWNS(arr, name);
    delete[] static_cast<T *>(escape(arr));
  }
  T *nt = new (std::nothrow) T;
  CHECK(nt && aligned_to(nt, al), "new (nothrow) %s -> %p", name, static_cast<void *>(nt));
  delete nt;
  T *nta = new (std::nothrow) T[3];
  CHECK(nta && aligned_to(nta, al), "new (nothrow) %s[3] -> %p", name, static_cast<void *>(nta));
  delete[] nta;
}

void test_new_expressions() {
  new_expressions<Over64>("Over64");
  new_expressions<Over256>("Over256");
  new_expressions<Over4096>("Over4096");
  new_expressions<WithDtor>("WithDtor");
  CHECK(g_live_objects == 0, "constructor/destructor imbalance: %d", g_live_objects);
  // Scalars and arrays of trivial types.
  for (int i = 0; i < 1000; i++) {
    auto *ip = new int(i);
    auto *ia = new long[static_cast<std::size_t>(i) + 1]();
    CHECK(*ip == i && ia[i] == 0, "new int / new long[] value-init broken at %d", i);
    delete ip;
    delete[] ia;
  }
}

template <typename F>
bool throws_bad_alloc(F f) {
  try {
    escape(f());  // success is a failure here; the block is leaked
    return false;
  } catch (const std::bad_alloc &) {
    return true;
  }
}

void test_huge_sizes() {
  const std::size_t sizes[] = {v_huge, v_size_max, v_ptrdiff_max_1, v_size_max - 4096};
  for (std::size_t n : sizes) {
    CHECK(throws_bad_alloc([n] { return ::operator new(n); }), "operator new(%zu) did not throw", n);
    CHECK(throws_bad_alloc([n] { return ::operator new[](n); }), "operator new[](%zu) did not throw", n);
    void *p = ::operator new(n, std::nothrow);
    CHECK(p == nullptr, "nothrow operator new(%zu) = %p", n, p);
    p = ::operator new[](n, std::nothrow);
    CHECK(p == nullptr, "nothrow operator new[](%zu) = %p", n, p);
    // libstdc++ (GCC 12) rounds the size of aligned new up to a multiple of
    // the alignment without an overflow check, so SIZE_MAX wraps to 0 and
    // "succeeds" under glibc; only sizes that cannot wrap are checked.
    if (n == SIZE_MAX) continue;
    CHECK(throws_bad_alloc([n] { return ::operator new(n, std::align_val_t(64)); }),
          "aligned operator new(%zu) did not throw", n);
    CHECK(throws_bad_alloc([n] { return ::operator new[](n, std::align_val_t(4096)); }),
          "aligned operator new[](%zu) did not throw", n);
    p = ::operator new(n, std::align_val_t(256), std::nothrow);
    CHECK(p == nullptr, "nothrow aligned operator new(%zu) = %p", n, p);
    p = ::operator new[](n, std::align_val_t(256), std::nothrow);
    CHECK(p == nullptr, "nothrow aligned operator new[](%zu) = %p", n, p);
  }
  // A new-expression with a huge element count.
  bool threw = false;
  try {
    volatile std::size_t cnt = v_huge;
    auto *a = new std::uint64_t[cnt];
    delete[] a;
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw, "new uint64_t[2^62] did not throw bad_alloc");
}

// ---- new_handler ------------------------------------------------------------

int g_handler_calls;
struct HandlerError {};

void handler_throws() {
  g_handler_calls++;
  throw HandlerError();
}

// Called repeatedly by the retry loop; gives up (uninstalls itself) on the
// third call, after which operator new must throw bad_alloc.
void handler_gives_up_after_3() {
  if (++g_handler_calls >= 3) std::set_new_handler(nullptr);
}

void handler_throws_bad_alloc() {
  g_handler_calls++;
  throw std::bad_alloc();
}

void *g_reserve;
rlimit g_saved_as;

// Frees a reserve and lifts the address-space limit so the retry succeeds.
void handler_frees_reserve() {
  g_handler_calls++;
  ::operator delete(g_reserve);
  g_reserve = nullptr;
  setrlimit(RLIMIT_AS, &g_saved_as);
  if (g_handler_calls > 5) std::set_new_handler(nullptr);  // never loop forever
}

std::size_t vm_size_bytes() {
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  std::size_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

void test_new_handler() {
  // 1. A handler that throws: the exception propagates out of operator new.
  g_handler_calls = 0;
  std::set_new_handler(handler_throws);
  bool caught = false;
  try {
    escape(::operator new(v_huge));
  } catch (const HandlerError &) {
    caught = true;
  } catch (const std::bad_alloc &) {
  }
  CHECK(caught && g_handler_calls == 1, "throwing new_handler: caught=%d calls=%d", caught, g_handler_calls);

  g_handler_calls = 0;
  caught = false;
  try {
    escape(::operator new[](v_huge, std::align_val_t(128)));
  } catch (const HandlerError &) {
    caught = true;
  } catch (const std::bad_alloc &) {
  }
  CHECK(caught && g_handler_calls == 1, "throwing new_handler (aligned new[]): caught=%d calls=%d", caught,
        g_handler_calls);

  // 2. The handler is called again after each failed retry; once it uninstalls
  //    itself operator new throws bad_alloc.
  g_handler_calls = 0;
  std::set_new_handler(handler_gives_up_after_3);
  CHECK(throws_bad_alloc([] { return ::operator new(v_huge); }), "operator new did not throw after handler gave up");
  CHECK(g_handler_calls == 3, "new_handler called %d times, want 3", g_handler_calls);

  g_handler_calls = 0;
  std::set_new_handler(handler_gives_up_after_3);
  CHECK(throws_bad_alloc([] { return ::operator new(v_huge, std::align_val_t(64)); }),
        "aligned operator new did not throw after handler gave up");
  CHECK(g_handler_calls == 3, "aligned: new_handler called %d times, want 3", g_handler_calls);

  // 3. nothrow new also runs the handler loop, then returns null.
  g_handler_calls = 0;
  std::set_new_handler(handler_gives_up_after_3);
  void *p = ::operator new(v_huge, std::nothrow);
  CHECK(p == nullptr && g_handler_calls == 3, "nothrow new with handler: %p, %d calls (want 3)", p,
        g_handler_calls);

  // A handler that throws bad_alloc: nothrow new must catch it and return
  // null.  Run in a child process so that an escaping exception
  // (std::terminate) is reported as one failure and the rest still runs.
  std::set_new_handler(nullptr);
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    g_handler_calls = 0;
    std::set_new_handler(handler_throws_bad_alloc);
    void *q = ::operator new[](v_huge, std::nothrow);
    void *qa = ::operator new(v_huge, std::align_val_t(64), std::nothrow);
    _exit(q == nullptr && qa == nullptr && g_handler_calls == 2 ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/waitpid failed");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "nothrow new with a bad_alloc-throwing new_handler: child %s %d (want null returned, handler called once "
        "per call; signal 6 = the exception escaped nothrow new)",
        WIFSIGNALED(status) ? "killed by signal" : "exit status",
        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  std::set_new_handler(nullptr);

  // 4. A handler that frees a reserve and lets the retry succeed.  The
  //    failure is provoked by lowering RLIMIT_AS just above the current
  //    address-space size.  If the allocator needs no new address space for
  //    the request (it pre-reserved it), the failure cannot be provoked and
  //    only the success is checked.
  const std::size_t kReserve = 64u << 20, kRequest = 512u << 20;
  g_reserve = ::operator new(kReserve);
  std::memset(g_reserve, 1, kReserve);
  std::size_t vm = vm_size_bytes();
  CHECK(getrlimit(RLIMIT_AS, &g_saved_as) == 0, "getrlimit failed");
  rlimit low = g_saved_as;
  if (vm != 0 && (low.rlim_cur == RLIM_INFINITY || low.rlim_cur > vm + (32u << 20)))
    low.rlim_cur = vm + (32u << 20);
  int lowered = vm != 0 && setrlimit(RLIMIT_AS, &low) == 0;
  g_handler_calls = 0;
  std::set_new_handler(handler_frees_reserve);
  void *big = nullptr;
  bool threw = false;
  try {
    big = ::operator new(kRequest);
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  std::set_new_handler(nullptr);
  setrlimit(RLIMIT_AS, &g_saved_as);
  CHECK(!threw && big != nullptr, "operator new(512 MiB) after reserve-freeing handler threw (handler calls %d)",
        g_handler_calls);
  if (lowered && g_handler_calls == 0)
    std::printf("note: 512 MiB succeeded under RLIMIT_AS=%zu MiB without calling the handler\n",
                static_cast<std::size_t>(low.rlim_cur >> 20));
  else
    CHECK(g_handler_calls == 1, "reserve-freeing handler called %d times, want 1", g_handler_calls);
  if (big) {
    static_cast<char *>(big)[0] = 1;
    static_cast<char *>(big)[kRequest - 1] = 2;
    CHECK_OWNS(big, "operator new after handler retry");
    ::operator delete(big, kRequest);
  }
  if (g_reserve) ::operator delete(g_reserve);
  g_reserve = nullptr;
}

// ---- STL churn with checksums -----------------------------------------------

std::uint64_t fnv(std::uint64_t h, const void *data, std::size_t n) {
  const unsigned char *b = static_cast<const unsigned char *>(data);
  for (std::size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

// Deterministic string for key k (length 0..300), also computed without STL.
std::size_t str_len(std::uint64_t k) { return static_cast<std::size_t>(mt_mix64(k) % 301); }
char str_char(std::uint64_t k, std::size_t i) { return static_cast<char>('a' + (mt_mix64(k * 1000003u + i) % 26)); }

std::string make_string(std::uint64_t k) {
  std::string s;
  std::size_t n = str_len(k);
  for (std::size_t i = 0; i < n; i++) s += str_char(k, i);  // grows step by step
  return s;
}

std::uint64_t expected_string_hash(std::uint64_t k) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  std::size_t n = str_len(k);
  for (std::size_t i = 0; i < n; i++) {
    char c = str_char(k, i);
    h = fnv(h, &c, 1);
  }
  return h;
}

void test_stl_churn() {
  for (int round = 0; round < 6; round++) {
    // vector: growth by push_back, shrink, reserve.
    std::vector<std::uint64_t> v;
    std::uint64_t want = 0, got = 0;
    const std::size_t N = 200000 + static_cast<std::size_t>(round) * 1000;
    for (std::size_t i = 0; i < N; i++) {
      std::uint64_t x = mt_mix64(i + static_cast<std::uint64_t>(round) * 7777);
      v.push_back(x);
      want += x;
    }
    CHECK_OWNS(v.data(), "vector data");
    for (std::uint64_t x : v) got += x;
    CHECK(got == want, "vector checksum %llx != %llx", (unsigned long long)got, (unsigned long long)want);
    v.resize(N / 3);
    v.shrink_to_fit();
    got = 0;
    std::uint64_t want3 = 0;
    for (std::size_t i = 0; i < N / 3; i++) want3 += mt_mix64(i + static_cast<std::uint64_t>(round) * 7777);
    for (std::uint64_t x : v) got += x;
    CHECK(got == want3, "vector after shrink_to_fit checksum mismatch");

    // vector<vector<...>> of strings.
    std::vector<std::string> strs;
    std::uint64_t hs = 0, hw = 0;
    for (std::uint64_t k = 0; k < 3000; k++) strs.push_back(make_string(k + static_cast<std::uint64_t>(round) * 3000));
    for (std::uint64_t k = 0; k < 3000; k++) {
      const std::string &s = strs[k];
      hs += fnv(0xcbf29ce484222325ull, s.data(), s.size());
      hw += expected_string_hash(k + static_cast<std::uint64_t>(round) * 3000);
    }
    CHECK(hs == hw, "string checksum mismatch in round %d", round);
    // concatenation of everything, then erase in the middle.
    std::string all;
    for (const std::string &s : strs) all += s;
    std::size_t total = 0;
    for (const std::string &s : strs) total += s.size();
    CHECK(all.size() == total, "concatenated length %zu != %zu", all.size(), total);
    if (all.size() > 100) {
      CHECK_OWNS(all.data(), "long string data");
      std::string cut = all.substr(10, all.size() - 20);
      all.erase(0, 10);
      all.resize(all.size() - 10);
      CHECK(cut == all, "substr/erase mismatch");
    }

    // map<int, string>: insert, erase the odd keys, sum.
    std::map<int, std::string> m;
    for (int k = 0; k < 20000; k++) m.emplace(k, std::to_string(k * 3 + round));
    for (int k = 1; k < 20000; k += 2) m.erase(k);
    long long sum = 0, want_sum = 0;
    for (const auto &kv : m) sum += std::stoll(kv.second);
    for (int k = 0; k < 20000; k += 2) want_sum += k * 3 + round;
    CHECK(m.size() == 10000 && sum == want_sum, "map size %zu sum %lld want %lld", m.size(), sum, want_sum);
    CHECK_OWNS(&*m.begin(), "map node");

    // unordered_map with rehashing, list, shared_ptr.
    std::unordered_map<std::uint64_t, std::vector<int>> um;
    for (std::uint64_t k = 0; k < 5000; k++) um[mt_mix64(k)].assign(static_cast<std::size_t>(k % 17), static_cast<int>(k));
    std::uint64_t usum = 0, uwant = 0;
    for (const auto &kv : um)
      for (int x : kv.second) usum += static_cast<std::uint64_t>(x);
    for (std::uint64_t k = 0; k < 5000; k++) uwant += (k % 17) * k;
    CHECK(usum == uwant, "unordered_map checksum mismatch");

    std::list<std::shared_ptr<std::string>> l;
    for (int k = 0; k < 5000; k++) l.push_back(std::make_shared<std::string>(static_cast<std::size_t>(k % 50), 'x'));
    std::size_t lsum = 0;
    for (const auto &sp : l) lsum += sp->size();
    std::size_t lwant = 0;
    for (int k = 0; k < 5000; k++) lwant += static_cast<std::size_t>(k % 50);
    CHECK(lsum == lwant, "list<shared_ptr<string>> checksum mismatch");
    auto u = std::make_unique<std::uint64_t[]>(100000);
    CHECK(u[99999] == 0, "make_unique<T[]> not value-initialised");
  }
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("cxx_ops: memtype_owns %s\n", mt_owns() ? "present" : "absent");
  test_plain_forms();
  test_aligned_forms();
  test_new_expressions();
  test_huge_sizes();
  test_new_handler();
  test_stl_churn();
  return mt_finish();
}
