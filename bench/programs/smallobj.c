/* smallobj.c - many small short-lived objects, as an interpreter or a parser
 * makes them: each round builds a short list of 1-32 nodes (16-96 B) and a
 * string or two, walks them and frees them all, while a window of 4096
 * longer-lived objects (8-256 B) is replaced at random. One thread.
 *
 *   smallobj ROUNDS */
#include <string.h>

#include "prog_common.h"

#define WINDOW 4096

typedef struct node_s {
  struct node_s *next;
  uint64_t value;
  char payload[];
} node_t;

int main(int argc, char **argv) {
  const char *usage = "ROUNDS";
  if (argc < 2) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 2;
  }
  unsigned long long rounds = arg_ull(argc, argv, 1, 1, usage);
  uint64_t rng = rng_seed(42), sum = 0, ops = 0;
  static char *window[WINDOW];
  static uint16_t wsize[WINDOW];
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  for (unsigned long long r = 0; r < rounds; r++) {
    uint64_t x = rng_next(&rng);
    unsigned len = 1 + (unsigned)(x % 32);
    node_t *head = NULL;
    for (unsigned i = 0; i < len; i++) {
      size_t extra = (size_t)((x >> (8 + i % 32)) % 81); /* node of 16..96 bytes */
      node_t *n = xmalloc(sizeof(node_t) + extra);
      n->value = r + i + extra;
      n->next = head;
      head = n;
    }
    size_t slen = 1 + (size_t)((x >> 40) % 60);
    char *s = xmalloc(slen + 1);
    memset(s, 'a' + (int)(r % 26), slen);
    s[slen] = 0;
    ops += len + 1;
    for (node_t *n = head, *next; n; n = next) {
      next = n->next;
      sum += n->value;
      free(n);
    }
    sum += (unsigned char)s[slen - 1] + slen;
    free(s);
    if ((x >> 50) % 4 == 0) { /* a longer-lived object replaced */
      size_t w = (size_t)(rng_next(&rng) % WINDOW);
      if (window[w]) {
        sum += (unsigned char)window[w][0] + wsize[w];
        free(window[w]);
        ops++;
      }
      wsize[w] = (uint16_t)(8 + (x >> 20) % 249);
      window[w] = xmalloc(wsize[w]);
      window[w][0] = (char)w;
    }
  }
  timing_line(ops, t0, c0);
  for (size_t w = 0; w < WINDOW; w++)
    if (window[w]) {
      sum += (unsigned char)window[w][0] + wsize[w];
      free(window[w]);
    }
  printf("smallobj rounds=%llu sum=%llu\n", rounds, (unsigned long long)sum);
  return 0;
}
