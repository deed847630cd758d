/* crash.c - faults the program does not handle, and one it does:
 *   wild     read 40,000 bytes past a 20-byte block (far from any block)
 *   null     read through a NULL pointer
 *   trash    read through a pointer made of memtype's trash pattern (not
 *            canonical on x86-64: the kernel gives no address)
 *   uafptr   follow a list's next pointer out of a freed node (with
 *            MEMTYPE_TRASH=1 the pointer read is trash: a use after free)
 *   uafstack the same at -O0, the freed head only in a local variable (no
 *            register holds it when the trash pointer is followed)
 *   words    a list of 3 words with no room for its NULL end: the walk reads
 *            the pointer past the block (with redzones: the pattern) and
 *            strlen follows it
 *   text     a record's name overflows into its label pointer, then the
 *            label is printed (libc's strlen faults on "IJKLMNOP")
 *   exec     copy a function's first bytes into a heap block and call it
 *            (the heap is not executable: SIGSEGV at the block, under glibc
 *            too; with the block guarded memtype must not go on forever)
 *   nullcall call through a NULL function pointer (reported with the caller's
 *            line; no report at all before: address 0 at pc 0 looked like a
 *            fault already handed to a handler of the program's)
 *   farunder write 1 MiB before a block (with MEMTYPE_GUARD='*' the first
 *            guarded one: below memtype's guarded region, which must fault,
 *            as below glibc's heap, not land in memtype's own tables)
 *   bus      read a mapped page past the end of an (empty) file: SIGBUS
 *   recover  its own SIGSEGV handler: the NULL read is caught, siglongjmp
 *            back, "recovered" (memtype must stay silent)
 *   ok       no fault at all */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf back;

static void on_segv(int sig) {
  (void)sig;
  siglongjmp(back, 1);
}

__attribute__((noinline)) static char *make_small(void) {
  char *p = malloc(20);
  memset(p, 'a', 20);
  return p;
}

__attribute__((noinline)) static int touch(volatile char *p, long off) { return p[off]; }

static int answer(void) { return 42; }

static int (*volatile on_event)(void); /* never set */

__attribute__((noinline)) static int fire_event(void) { return on_event() + 1; }

/* Calls code copied into a heap block (as a JIT would without mprotect). */
__attribute__((noinline)) static int call_copy(void) {
  unsigned char *code = malloc(16);
  memcpy(code, (const void *)(uintptr_t)answer, 16);
  int (*fn)(void) = (int (*)(void))(uintptr_t)code;
  return fn();
}

struct node {
  struct node *next;
  long value;
};

__attribute__((noinline)) static struct node *make_node(struct node *next, long value) {
  struct node *n = malloc(sizeof(*n));
  n->next = next;
  n->value = value;
  return n;
}

__attribute__((noinline)) static long second_value(struct node *head) { return head->next->value; }

/* -O0: head lives in its stack slot; the registers a call may leave
 * pointing at the freed node are cleared before the list is followed. */
__attribute__((noinline, optimize("O0"))) static long second_value_o0(void) {
  struct node *head = make_node(make_node(NULL, 7), 1);
  free(head);
  __asm__ volatile("xor %%eax,%%eax\n\txor %%ecx,%%ecx\n\txor %%edx,%%edx\n\txor %%esi,%%esi\n\t"
                   "xor %%edi,%%edi\n\txor %%r8d,%%r8d\n\txor %%r9d,%%r9d\n\txor %%r10d,%%r10d\n\t"
                   "xor %%r11d,%%r11d" ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
  return head->next->value;
}

__attribute__((noinline)) static const char **make_words(int n) {
  const char **v = malloc((size_t)n * sizeof(*v)); /* no room for the NULL at the end */
  for (int i = 0; i < n; i++)
    v[i] = "word";
  return v;
}

__attribute__((noinline)) static size_t total_length(const char **v) {
  size_t t = 0;
  for (; *v; v++)
    t += strlen(*v);
  return t;
}

struct record {
  char name[8];
  char *label;
};

__attribute__((noinline)) static void set_name(struct record *r, const char *name, size_t len) {
  memcpy(r->name, name, len); /* len not checked against sizeof(r->name) */
}

int main(int argc, char **argv) {
  const char *v = argc > 1 ? argv[1] : "ok";
  char *p = make_small();
  if (!strcmp(v, "wild"))
    printf("%d\n", touch(p, 40000));
  else if (!strcmp(v, "null"))
    printf("%d\n", touch(NULL, 0));
  else if (!strcmp(v, "trash"))
    printf("%d\n", touch((volatile char *)(uintptr_t)0xdeadc0dedeadc0deull, 0));
  else if (!strcmp(v, "uafptr")) {
    struct node *head = make_node(make_node(NULL, 7), 1);
    free(head);
    printf("%ld\n", second_value(head));
  } else if (!strcmp(v, "words")) {
    printf("%zu\n", total_length(make_words(3)));
  } else if (!strcmp(v, "uafstack")) {
    printf("%ld\n", second_value_o0());
  } else if (!strcmp(v, "text")) {
    struct record *r = malloc(sizeof(*r));
    r->label = strdup("label");
    const char *name = argc > 2 ? argv[2] : "ABCDEFGHIJKLMNOP";
    set_name(r, name, strlen(name));
    printf("%s\n", r->label);
  }
  else if (!strcmp(v, "nullcall"))
    printf("%d\n", fire_event());
  else if (!strcmp(v, "farunder"))
    p[-(1L << 20)] ^= 'A';
  else if (!strcmp(v, "exec"))
    printf("%d\n", call_copy());
  else if (!strcmp(v, "bus")) {
    FILE *f = tmpfile(); /* empty: its first page is past its end */
    char *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fileno(f), 0);
    if (m != MAP_FAILED)
      printf("%d\n", touch(m, 0));
  } else if (!strcmp(v, "recover")) {
    signal(SIGSEGV, on_segv);
    if (sigsetjmp(back, 1) == 0)
      printf("%d\n", touch(NULL, 0));
    else
      printf("recovered\n");
  }
  free(p);
  printf("done\n");
  return 0;
}
