// held_inside - blocks a correct program holds only through a pointer
// inside them, as valgrind's leak heuristics know them, held by globals
// until exit:
//   held  a new[] array of a type with a destructor (the pointer is after
//         the element count), an object held by its second base (multiple
//         inheritance: the pointer is at that base), a block with a size
//         header (the pointer is after it), an old-ABI std::string (the
//         pointer is after its length, capacity and reference count; a
//         global std::string holds one): no leak may be reported
//   lost  the same blocks but the string's, the globals cleared: each is
//         definitely lost (a string object on the heap: its characters
//         indirectly)
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

__attribute__((noinline)) static void make(void) {
  array = new Counted[5];
  named = new Square;
  size_t n = 100;
  char *b = (char *)malloc(sizeof(size_t) + n);
  memcpy(b, &n, sizeof(n));
  sized = b + sizeof(size_t);
  kept.assign(60, 'k'); // its characters on the heap, after the header
  text = new std::string(60, 'x');
}

int main(int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "held";
  make();
  printf("%d %ld %c %c %c\n", array[0].value, named->id, sized[-8] == 100 ? 'y' : 'n', kept[0],
         (*text)[0]);
  if (strcmp(what, "lost") == 0) {
    array = nullptr;
    named = nullptr;
    sized = nullptr;
    text = nullptr;
  }
  puts("done");
  return 0;
}
