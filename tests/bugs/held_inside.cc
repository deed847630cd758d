// held_inside - blocks a correct program holds only through a pointer
// inside them, as valgrind's leak heuristics know them, held by globals
// until exit:
//   held  a new[] array of a type with a destructor (the pointer is after
//         the element count), an object held by its second base (multiple
//         inheritance: the pointer is at that base), a block with a size
//         header (the pointer is after it), an old-ABI std::string (the
//         pointer is after its length, capacity and reference count; a
//         global std::string holds one), and memtype's own: a CPython
//         object tracked by its garbage collector (the pointer is after the
//         collector's 16-byte header; the object is a reference count and a
//         type whose type's type is its own type): no leak may be reported
//   lost  the same blocks but the string's, the globals cleared: each is
//         definitely lost (a string object on the heap: its characters
//         indirectly)
//   notpy a block held 16 bytes in like the object, but what it holds there
//         is no object (its "type" chain does not end in a type of its own
//         type): possibly lost, as valgrind says
// Built with the old std::string ABI (_GLIBCXX_USE_CXX11_ABI=0), which keeps
// {length, capacity, refcount} before a string's characters.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

struct Counted {
  int value = 7;
  ~Counted() { value = 0; }
};
struct Shape {
  virtual ~Shape() {}
  long area = 1;
};
struct Named {
  virtual ~Named() {}
  long id = 2;
};
struct Square : Shape, Named {
  long side = 3;
};

static Counted *volatile array;
static Named *volatile named;
static char *volatile sized;
static std::string kept;                // a global string: holds a pointer to its characters
static std::string *volatile text;      // (lost) a string on the heap

// A CPython-like object: {ob_refcnt, ob_type}; PyType_Type's type is itself.
struct PyLike {
  long refcnt;
  const PyLike *type;
};
static const PyLike meta_type = {1, &meta_type};
static const PyLike list_type = {1, &meta_type};
// a chain of types that never reaches a type of its own type
extern const PyLike cycle[4];
const PyLike cycle[4] = {{1, &cycle[1]}, {1, &cycle[2]}, {1, &cycle[3]}, {1, &cycle[0]}};
static char *volatile pyobj;                  // 16 bytes into its block

static char *make_object(const PyLike *type) {
  char *b = (char *)calloc(1, 16 + sizeof(PyLike) + 16); // the collector's header first
  PyLike o = {1, type};
  memcpy(b + 16, &o, sizeof(o));
  return b + 16;
}

__attribute__((noinline)) static void make(void) {
  array = new Counted[5];
  named = new Square;
  size_t n = 100;
  char *b = (char *)malloc(sizeof(size_t) + n);
  memcpy(b, &n, sizeof(n));
  sized = b + sizeof(size_t);
  kept.assign(60, 'k'); // its characters on the heap, after the header
  text = new std::string(60, 'x');
  pyobj = make_object(&list_type);
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "held";
  make();
  if (strcmp(what, "notpy") == 0) {
    free((void *)(pyobj - 16));
    pyobj = make_object(&cycle[0]);
  }
  printf("%d %ld %c %c %c\n", array[0].value, named->id, sized[-8] == 100 ? 'y' : 'n', kept[0],
         (*text)[0]);
  if (strcmp(what, "lost") == 0) {
    array = nullptr;
    named = nullptr;
    sized = nullptr;
    text = nullptr;
    pyobj = nullptr;
  }
  puts("done");
  return 0;
}
