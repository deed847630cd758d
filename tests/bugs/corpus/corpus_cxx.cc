// corpus_cxx - the C++ half of memtype's bug corpus, with corpus.c's rules:
// `corpus_cxx CASE bad` commits one heap bug, `corpus_cxx CASE ok` is its
// look-alike; every access under test is made in an extern "C" at_ function
// (never inlined) on a line marked ACCESS; blocks are made in make_* and
// freed in drop_* (never inlined either), so a report made there or at exit
// is told from one made at the access; sizes and indexes go through
// opaque(). Prints "done" when the case ran to its end.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

/* noipa (gcc): neither inlined nor cloned nor analysed by its callers;
 * clang has no noipa, optnone keeps the body as written. */
#if defined(__clang__)
#define AT __attribute__((noinline, optnone))
#else
#define AT __attribute__((noinline, noipa))
#endif

extern "C" {
AT std::size_t opaque(std::size_t n);
static volatile std::size_t opaque_slot;
AT std::size_t opaque(std::size_t n) {
  opaque_slot = n; // a volatile round trip: no compiler sees the value through
  return opaque_slot;
}
AT void at_poke(char *p, long i);
AT void at_poke(char *p, long i) { static_cast<volatile char *>(p)[i] = 'x'; /* ACCESS */ }
AT int at_peek(const char *p, long i);
AT int at_peek(const char *p, long i) { return static_cast<const volatile char *>(p)[i]; /* ACCESS */ }
AT void at_vector_poke(std::vector<char> &v, long i);
AT void at_vector_poke(std::vector<char> &v, long i) {
  v[static_cast<std::size_t>(i)] = 'x'; /* ACCESS */
  asm volatile("" ::"r"(v.data()) : "memory");
}
AT int at_vector_peek(const std::vector<char> &v, long i);
AT int at_vector_peek(const std::vector<char> &v, long i) {
  return *static_cast<const volatile char *>(&v[static_cast<std::size_t>(i)]); /* ACCESS */
}
AT void at_string_poke(std::string &s, long i);
AT void at_string_poke(std::string &s, long i) {
  static_cast<volatile char *>(&s[0])[i] = 'x'; /* ACCESS */
}
AT void at_string_append(std::string &s, const char *t, std::size_t n);
AT void at_string_append(std::string &s, const char *t, std::size_t n) {
  std::memcpy(&s[0] + s.size(), t, n); /* ACCESS: a copy past the string's capacity */
}
AT void at_delete(char *p);
AT void at_delete(char *p) { delete p; /* ACCESS */ }
AT void at_delete_array(char *p);
AT void at_delete_array(char *p) { delete[] p; /* ACCESS */ }
AT void at_operator_new(std::size_t n);
AT void at_operator_new(std::size_t n) {
  try {
    ::operator delete(::operator new(n)); /* ACCESS */
  } catch (const std::bad_alloc &) {
  }
}
AT void at_free(void *p);
AT void at_free(void *p) { std::free(p); /* ACCESS */ }
}

AT char *make_array(std::size_t n);
AT char *make_array(std::size_t n) {
  char *p = new char[n];
  std::memset(p, 'a', n);
  return p;
}
AT char *make_one();
AT char *make_one() { return new char('a'); }
AT char *make_malloc(std::size_t n);
AT char *make_malloc(std::size_t n) { return static_cast<char *>(std::malloc(n)); }
AT void drop_array(char *p);
AT void drop_array(char *p) { delete[] p; }
AT void drop_one(char *p);
AT void drop_one(char *p) { delete p; }
AT void drop_malloc(char *p);
AT void drop_malloc(char *p) { std::free(p); }
// The containers are made and destroyed out of line, so their frees are in
// drop_vector / drop_string frames, not in the case's.
AT std::vector<char> *make_vector(std::size_t n);
AT std::vector<char> *make_vector(std::size_t n) {
  auto *v = new std::vector<char>();
  v->reserve(n); // capacity n exactly: the block has n bytes
  v->resize(n, 'a');
  return v;
}
AT void drop_vector(std::vector<char> *v);
AT void drop_vector(std::vector<char> *v) { delete v; }
AT std::string *make_string(std::size_t n);
AT std::string *make_string(std::size_t n) {
  auto *s = new std::string();
  s->reserve(n); // a heap buffer of n + 1 bytes (the NUL)
  s->assign(n, 'a');
  return s;
}
AT void drop_string(std::string *s);
AT void drop_string(std::string *s) { delete s; }

AT void scrub();
AT void scrub() {
  volatile char junk[8192];
  for (std::size_t i = 0; i < sizeof(junk); i++)
    junk[i] = 0;
}

namespace {

const std::size_t N = 40;

// new[]: one byte past, 8 past, one before
void newarr_w1(int bad) {
  char *p = make_array(opaque(N));
  at_poke(p, static_cast<long>(opaque(bad ? N : N - 1)));
  drop_array(p);
}
void newarr_r1(int bad) {
  char *p = make_array(opaque(N));
  at_peek(p, static_cast<long>(opaque(bad ? N : N - 1)));
  drop_array(p);
}
void newarr_w8(int bad) {
  char *p = make_array(opaque(N));
  at_poke(p, static_cast<long>(opaque(bad ? N + 7 : N - 1)));
  drop_array(p);
}
// new char[24] (8-aligned when guarded) and new char[100] (4-aligned):
// the 1st and the 8th byte past them, read and written
void newarr24_r1(int bad) {
  char *p = make_array(opaque(24));
  at_peek(p, static_cast<long>(opaque(bad ? 24 : 23)));
  drop_array(p);
}
void newarr24_w8(int bad) {
  char *p = make_array(opaque(24));
  at_poke(p, static_cast<long>(opaque(bad ? 24 + 7 : 23)));
  drop_array(p);
}
void newarr100_r8(int bad) {
  char *p = make_array(opaque(100));
  at_peek(p, static_cast<long>(opaque(bad ? 100 + 7 : 99)));
  drop_array(p);
}
void newarr100_w1(int bad) {
  char *p = make_array(opaque(100));
  at_poke(p, static_cast<long>(opaque(bad ? 100 : 99)));
  drop_array(p);
}
// an underflow 40 bytes before new char[40], read
void newarr_unf_r40(int bad) {
  char *a = make_array(opaque(N)), *p = make_array(opaque(N)), *c = make_array(opaque(N));
  at_peek(p, bad ? -40 : 0);
  drop_array(a);
  drop_array(p);
  drop_array(c);
}
// a far overflow and underflow of a new char[100] record (inside its redzones)
void newarr_w64_rec(int bad) {
  char *p = make_array(opaque(100));
  at_poke(p, static_cast<long>(opaque(bad ? 100 + 63 : 99)));
  drop_array(p);
}
void newarr_unf_w40_rec(int bad) {
  char *a = make_array(opaque(100)), *p = make_array(opaque(100));
  at_poke(p, bad ? -40 : 0);
  drop_array(p);
  drop_array(a);
}
// still live at exit (reachable from a global), its redzone written
char *kept;
void live_newarr_exit(int bad) {
  kept = make_array(opaque(N));
  at_poke(kept, static_cast<long>(opaque(bad ? N + 5 : N - 1)));
}
void newarr_unf_w1(int bad) {
  char *a = make_array(opaque(N)), *p = make_array(opaque(N)), *c = make_array(opaque(N));
  at_poke(p, bad ? -1 : 0);
  drop_array(a);
  drop_array(p);
  drop_array(c);
}

// std::vector<char> of 40 elements and capacity 40: v[40] is past the block
void vector_w(int bad) {
  std::vector<char> *v = make_vector(opaque(N));
  at_vector_poke(*v, static_cast<long>(opaque(bad ? N : N - 1)));
  drop_vector(v);
}
void vector_r(int bad) {
  std::vector<char> *v = make_vector(opaque(N));
  at_vector_peek(*v, static_cast<long>(opaque(bad ? N : N - 1)));
  drop_vector(v);
}
void vector_r64(int bad) {
  std::vector<char> *v = make_vector(opaque(N));
  at_vector_peek(*v, static_cast<long>(opaque(bad ? N + 63 : N - 1)));
  drop_vector(v);
}
void vector_unf_w(int bad) {
  std::vector<char> *a = make_vector(opaque(N)), *v = make_vector(opaque(N));
  at_vector_poke(*v, bad ? -1 : 0);
  drop_vector(v);
  drop_vector(a);
}

// std::string of 40 characters, capacity 40: its buffer is 41 bytes
void string_w(int bad) {
  std::string *s = make_string(opaque(N));
  at_string_poke(*s, static_cast<long>(opaque(bad ? N + 1 : N - 1)));
  drop_string(s);
}
void string_append(int bad) {
  std::string *s = make_string(opaque(N));
  s->resize(opaque(N - 8));
  at_string_append(*s, "0123456789", opaque(bad ? 10 : 8));
  drop_string(s);
}

// after delete
void delete_uaf_r(int bad) {
  char *p = make_array(opaque(N)), *q = make_array(opaque(N));
  drop_array(p);
  at_peek(bad ? p : q, static_cast<long>(opaque(8)));
  drop_array(q);
}
void delete_uaf_w(int bad) {
  char *p = make_array(opaque(N)), *q = make_array(opaque(N));
  drop_array(p);
  at_poke(bad ? p : q, static_cast<long>(opaque(8)));
  drop_array(q);
}
void string_uaf_r(int bad) {
  std::string *s = make_string(opaque(N)), *t = make_string(opaque(N));
  const char *c = s->c_str();
  if (bad)
    drop_string(s);
  at_peek(c, static_cast<long>(opaque(8)));
  if (!bad)
    drop_string(s);
  drop_string(t);
}
void double_delete(int bad) {
  char *p = make_array(opaque(N)), *q = make_array(opaque(N));
  drop_array(p);
  at_delete_array(bad ? p : q);
}

// mismatched families
void mismatch_newarr_delete(int bad) {
  char *p = make_array(opaque(N));
  if (bad)
    at_delete(p);
  else
    at_delete_array(p);
}
void mismatch_new_deletearr(int bad) {
  char *p = make_one();
  if (bad)
    at_delete_array(p);
  else
    at_delete(p);
}
void mismatch_new_free(int bad) {
  char *p = make_one();
  if (bad)
    at_free(p);
  else
    at_delete(p);
}
void mismatch_malloc_delete(int bad) {
  char *p = make_malloc(opaque(N));
  if (bad)
    at_delete(p);
  else
    at_free(p);
}

// still live at exit
AT void lose_array(int bad);
AT void lose_array(int bad) {
  char *p = make_array(opaque(100));
  if (!bad)
    drop_array(p);
}
AT void lose_vector(int bad);
AT void lose_vector(int bad) {
  std::vector<char> *v = make_vector(opaque(200)); // the vector and its buffer
  if (!bad)
    drop_vector(v);
}
void leak_new(int bad) { lose_array(bad); }
void leak_vector(int bad) { lose_vector(bad); }

// operator new given a negative size (bad-param): std::bad_alloc, caught; the
// look-alike asks for 16 TiB, as sure to fail for want of memory, no bug
void bp_new_neg(int bad) { at_operator_new(opaque(bad ? static_cast<std::size_t>(-64) : std::size_t(1) << 44)); }

struct entry {
  const char *name;
  void (*run)(int bad);
};
#define C(x) {#x, x}
const entry cases[] = {
    C(newarr_w1),     C(newarr_r1),     C(newarr_w8),
    C(newarr_unf_w1), C(vector_w),      C(vector_r),
    C(newarr24_r1),   C(newarr24_w8),   C(newarr100_r8),
    C(newarr100_w1),  C(newarr_unf_r40),
    C(vector_r64),    C(vector_unf_w),  C(string_w),
    C(string_append), C(delete_uaf_r),  C(delete_uaf_w),
    C(string_uaf_r),  C(double_delete), C(mismatch_newarr_delete),
    C(mismatch_new_deletearr), C(mismatch_new_free), C(mismatch_malloc_delete),
    C(leak_new),      C(leak_vector),   C(newarr_w64_rec),
    C(newarr_unf_w40_rec), C(live_newarr_exit), C(bp_new_neg),
};
#undef C

} // namespace

int main(int argc, char **argv) {
  if (argc == 2 && !std::strcmp(argv[1], "--list")) {
    for (const entry &e : cases)
      std::puts(e.name);
    return 0;
  }
  if (argc != 3 || (std::strcmp(argv[2], "bad") && std::strcmp(argv[2], "ok"))) {
    std::fprintf(stderr, "usage: corpus_cxx CASE bad|ok, or corpus_cxx --list\n");
    return 2;
  }
  for (const entry &e : cases)
    if (!std::strcmp(e.name, argv[1])) {
      e.run(!std::strcmp(argv[2], "bad"));
      scrub();
      std::puts("done");
      return 0;
    }
  std::fprintf(stderr, "corpus_cxx: no case %s\n", argv[1]);
  return 2;
}
