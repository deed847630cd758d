/* test_sort.c - MT_SORT_DEFINE (sort.h), the sort of memtype's symbol, line
 * and leak tables: ordered and a permutation of its input for every shape
 * (random, sorted, reversed, all equal, few distinct keys, organ pipe,
 * sawtooth, each length up to past the insertion sort's cut), and
 * O(n log n) comparisons on the inputs that make a plain quicksort
 * quadratic (the heap sort takes over). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sort.h"
#include "unit.h"

typedef struct {
  uint64_t key;
  uint32_t id; /* where it was before the sort */
} item_t;

static uint64_t comparisons;
#define ITEM_BEFORE(x, y) (comparisons++, (x)->key < (y)->key)
MT_SORT_DEFINE(sort_items, item_t, ITEM_BEFORE)

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

enum { RANDOM, SORTED, REVERSED, EQUAL, FEW, ORGAN, SAWTOOTH, SHAPES };
static const char *const shape_names[SHAPES] = {"random", "sorted", "reversed", "equal",
                                                "few",    "organ",  "sawtooth"};

static void fill(item_t *a, size_t n, int shape) {
  for (size_t i = 0; i < n; i++) {
    uint64_t k = 0;
    switch (shape) {
    case RANDOM: k = next(); break;
    case SORTED: k = i; break;
    case REVERSED: k = n - i; break;
    case EQUAL: k = 7; break;
    case FEW: k = next() % 3; break;
    case ORGAN: k = i < n / 2 ? i : n - i; break;
    case SAWTOOTH: k = i % 17; break;
    }
    a[i].key = k;
    a[i].id = (uint32_t)i;
  }
}

static void check_sorted_permutation(const item_t *a, size_t n, const char *what, size_t len) {
  unsigned char *seen = calloc(n ? n : 1, 1);
  ck_assert(seen != NULL);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(i == 0 || a[i - 1].key <= a[i].key, "%s, %zu items: out of order at %zu", what,
                  len, i);
    ck_assert_msg(a[i].id < n && !seen[a[i].id], "%s, %zu items: not a permutation", what, len);
    seen[a[i].id] = 1;
  }
  free(seen);
}

START_TEST(test_every_shape_and_length_comes_out_ordered) {
  static const size_t lengths[] = {0, 1, 2, 3, 15, 16, 17, 18, 31, 64, 100, 1000, 6705, 100000};
  for (int shape = 0; shape < SHAPES; shape++)
    for (size_t l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
      size_t n = lengths[l];
      item_t *a = malloc((n ? n : 1) * sizeof(*a));
      ck_assert(a != NULL);
      fill(a, n, shape);
      sort_items(a, n);
      check_sorted_permutation(a, n, shape_names[shape], n);
      free(a);
    }
}
END_TEST

/* McIlroy's adversary ("A Killer Adversary for Quicksort", 1999): keys are
 * decided as the sort compares, each time so that its pivot is as bad as it
 * can be; a quicksort without a way out then does some n^2/4 comparisons. */
static uint32_t *val, gas, nsolid, candidate;
static bool adversary_before(const item_t *x, const item_t *y) {
  comparisons++;
  uint32_t a = x->id, b = y->id;
  if (val[a] == gas && val[b] == gas)
    val[a == candidate ? a : b] = nsolid++;
  if (val[a] == gas)
    candidate = a;
  else if (val[b] == gas)
    candidate = b;
  return val[a] < val[b];
}
#define ADVERSARY_BEFORE(x, y) adversary_before(x, y)
MT_SORT_DEFINE(sort_against, item_t, ADVERSARY_BEFORE)

START_TEST(test_no_input_takes_quadratic_time) {
  const size_t n = 100000;
  double log2n = 0;
  for (size_t m = n; m > 1; m >>= 1)
    log2n += 1;
  const double bound = 8.0 * (double)n * log2n; /* a generous c n log2 n */
  item_t *a = malloc(n * sizeof(*a));
  val = malloc(n * sizeof(*val));
  ck_assert(a != NULL && val != NULL);
  gas = (uint32_t)n, nsolid = 0, candidate = 0;
  for (size_t i = 0; i < n; i++)
    a[i].id = (uint32_t)i, a[i].key = 0, val[i] = gas;
  comparisons = 0;
  sort_against(a, n);
  ck_assert_msg((double)comparisons < bound, "the adversary: %llu comparisons for %zu items",
                (unsigned long long)comparisons, n);
  for (size_t i = 1; i < n; i++)
    ck_assert_msg(val[a[i - 1].id] <= val[a[i].id], "the adversary's keys out of order at %zu", i);
  /* the ordinary hard shapes, for the count too */
  for (int shape = ORGAN; shape <= SAWTOOTH; shape++) {
    fill(a, n, shape);
    comparisons = 0;
    sort_items(a, n);
    check_sorted_permutation(a, n, shape_names[shape], n);
    ck_assert_msg((double)comparisons < bound, "%s: %llu comparisons", shape_names[shape],
                  (unsigned long long)comparisons);
  }
  free(val);
  free(a);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("sort");
  TCase *tc = tcase_create("sort");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_every_shape_and_length_comes_out_ordered);
  tcase_add_test(tc, test_no_input_takes_quadratic_time);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
