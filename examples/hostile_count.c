/* hostile_count - reads files whose header gives a record count and a record
 * size, and allocates count * size with calloc. The second file is hostile:
 * 2^60 + 4 records of 16 bytes, 2^64 + 64 bytes, which wraps around to 64.
 * calloc refuses it (NULL, ENOMEM) and the program handles that; had it
 * multiplied the two itself and called malloc, it would have got 64 bytes and
 * written far past them. memtype reports the wrapped product at the calloc
 * call (bad-param), in every mode and at no cost, with the caller's stack,
 * then lets the program go on:
 *
 *   build/bin/memtype run -- build/bin/hostile_count */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct header {
  uint64_t count; /* records that follow, as the input says */
  uint64_t size;  /* bytes each */
};

__attribute__((noinline)) static void *read_records(const struct header *h) {
  void *recs = calloc(h->count, h->size); /* the count comes from the input */
  if (recs == NULL) {
    fprintf(stderr, "hostile_count: %llu records of %llu bytes refused\n",
            (unsigned long long)h->count, (unsigned long long)h->size);
    return NULL;
  }
  return recs;
}

int main(void) {
  const struct header inputs[] = {
      {100, 16},                      /* a sane file */
      {((uint64_t)1 << 60) + 4, 16},  /* a hostile one: 2^64 + 64 bytes, wraps to 64 */
  };
  for (int i = 0; i < 2; i++) {
    void *recs = read_records(&inputs[i]);
    if (recs == NULL)
      continue;
    printf("file %d: %llu records read\n", i, (unsigned long long)inputs[i].count);
    free(recs);
  }
  return 0;
}
