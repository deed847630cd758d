/* wordfreq.c - memtype's demo program: four threads count the words of a
 * generated text in hash tables of their own, then hand their tables to the
 * main thread, which merges them (blocks allocated in one thread and freed
 * in another), sorts the result with a growing array (realloc) and prints
 * the most frequent words. It frees everything it allocates.
 *
 *   memtype run -- build/bin/wordfreq
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define WORDS_PER_THREAD 200000
#define BUCKETS 4096

struct entry {
  char *word;
  long count;
  struct entry *next;
};

struct table {
  struct entry *bucket[BUCKETS];
};

static unsigned long hash(const char *s) {
  unsigned long h = 5381;
  while (*s)
    h = h * 33 + (unsigned char)*s++;
  return h;
}

static void add(struct table *t, const char *w, long n) {
  struct entry **b = &t->bucket[hash(w) % BUCKETS];
  for (struct entry *e = *b; e; e = e->next)
    if (strcmp(e->word, w) == 0) {
      e->count += n;
      return;
    }
  struct entry *e = malloc(sizeof(*e));
  e->word = strdup(w);
  e->count = n;
  e->next = *b;
  *b = e;
}

/* Words from a small deterministic generator: syllables glued together. */
static void make_word(unsigned long *seed, char *out) {
  static const char *syl[] = {"ka", "to", "mi", "re", "su", "no", "ha", "li", "ve", "dor"};
  int n = 1 + (int)(*seed % 3);
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    *seed = *seed * 6364136223846793005ul + 1442695040888963407ul;
    strcat(out, syl[(*seed >> 33) % 10]);
  }
}

static void *count_words(void *arg) {
  long id = (long)arg;
  struct table *t = calloc(1, sizeof(*t));
  unsigned long seed = 12345 + (unsigned long)id * 7919;
  char word[32];
  for (int i = 0; i < WORDS_PER_THREAD; i++) {
    make_word(&seed, word);
    add(t, word, 1);
  }
  return t;
}

static int by_count(const void *a, const void *b) {
  const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  return strcmp(x->word, y->word);
}

int main(void) {
  pthread_t th[NTHREADS];
  for (long i = 0; i < NTHREADS; i++)
    pthread_create(&th[i], NULL, count_words, (void *)i);
  struct table *all = calloc(1, sizeof(*all));
  for (int i = 0; i < NTHREADS; i++) {
    struct table *t;
    pthread_join(th[i], (void **)&t);
    for (int b = 0; b < BUCKETS; b++)
      for (struct entry *e = t->bucket[b], *next; e; e = next) {
        next = e->next;
        add(all, e->word, e->count);
        free(e->word); /* allocated by the worker thread */
        free(e);
      }
    free(t);
  }
  size_t n = 0, cap = 0;
  struct entry **list = NULL;
  for (int b = 0; b < BUCKETS; b++)
    for (struct entry *e = all->bucket[b]; e; e = e->next) {
      if (n == cap) {
        cap = cap ? cap * 2 : 16;
        list = realloc(list, cap * sizeof(*list));
      }
      list[n++] = e;
    }
  qsort(list, n, sizeof(*list), by_count);
  printf("%zu distinct words in %d words; most frequent:\n", n, NTHREADS * WORDS_PER_THREAD);
  for (size_t i = 0; i < 5 && i < n; i++)
    printf("  %-12s %ld\n", list[i]->word, list[i]->count);
  for (size_t i = 0; i < n; i++) {
    free(list[i]->word);
    free(list[i]);
  }
  free(list);
  free(all);
  return 0;
}
