/* stale_next.c - a use after free that ends in a crash far from the bug: a
 * print queue keeps jobs in a list; cancelling the head job frees it, but the
 * queue's head pointer is left on it (the bug). The next walk of the queue
 * reads the freed job's next pointer and follows it. With the heap checks
 * (memtype's trash, 0xdeadc0de, over every freed block) that pointer is
 * 0xdeadc0dedeadc0de, an address no memory can have, and the kernel's
 * SIGSEGV says no address at all; memtype decodes the faulting instruction,
 * sees its trash, finds the freed job in another register and reports a use
 * after free of that job with where it was allocated and freed. Under
 * `memtype run`'s defaults (a guard page for every block) the first read of
 * the freed job faults instead. examples/README.md walks through both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job {
  struct job *next;
  int pages;
  char name[20];
};

static struct job *queue;

static __attribute__((noinline)) void submit(const char *name, int pages) {
  struct job *j = malloc(sizeof(*j));
  if (j == NULL)
    exit(1);
  j->pages = pages;
  snprintf(j->name, sizeof(j->name), "%s", name);
  j->next = NULL;
  struct job **tail = &queue;
  while (*tail)
    tail = &(*tail)->next;
  *tail = j;
}

static __attribute__((noinline)) void cancel_head(void) {
  free(queue); /* the bug: queue still points at the freed job */
}

static __attribute__((noinline)) int pages_after(const struct job *head) {
  int pages = 0;
  for (const struct job *j = head->next; j; j = j->next)
    pages += j->pages;
  return pages;
}

int main(void) {
  submit("report.pdf", 12);
  submit("invoice.pdf", 2);
  submit("photo.png", 1);
  cancel_head();
  printf("%d pages waiting behind the printing job\n", pages_after(queue));
  return 0;
}
