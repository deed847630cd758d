/* test_leak.c - the leak scan (core/debug/leak.h): a block a root points to is
 * still reachable, one nothing points to is definitely lost, what only a
 * lost block points to is indirectly lost, what only an interior pointer
 * reaches is possibly lost, and a cycle of lost blocks is lost too. Each
 * kind is allocated from a call site of its own (a made-up pc), so its
 * type finds its record. The blocks meant to be lost are made in a
 * function whose frame is then wiped, and their addresses are kept only
 * disguised (xor), so no stale copy on the stack or in a register holds
 * them. Each test runs in its own process: the scan is made once. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"
#include "leak.h"
#include "options.h"
#include "report.h"
#include "site.h"
#include "unit.h"

#define HIDE(p) ((uintptr_t)(p) ^ 0x5a5a5a5a5a5a5a5aull)
#define PC_ROOTED 0x6100
#define PC_LOST 0x6200
#define PC_CHILD 0x6300
#define PC_INTERIOR 0x6400
#define PC_CYCLE 0x6500
#define PC_ZERO 0x6600

/* The roots: a page of the test's own mapping. Not this file's .bss: the
 * core is linked into the test, and the scan leaves out memtype's own .data
 * and .bss, which here are the test program's. */
static void *volatile *roots;
#define root roots[0]
#define interior_root roots[1] /* points 8 bytes into its block */
static volatile uintptr_t hidden[8]; /* addresses the scan must not see */

static void setup(void) {
  roots = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ck_assert(roots != MAP_FAILED);
  mt_init();
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

/* Overwrites the stack below the caller's frame, where the frames of the
 * functions it called were. */
static __attribute__((noinline)) void wipe_stack(void) {
  volatile char pad[65536];
  memset((char *)pad, 0, sizeof(pad));
  __asm__ volatile("" ::: "memory");
}

static const mt_leak_rec_t *find(const mt_leak_result_t *r, uintptr_t pc, unsigned kind) {
  unsigned type = mt_site_intern(pc);
  for (uint32_t i = 0; i < r->nrecs; i++)
    if (r->recs[i].type == type && r->recs[i].kind == kind)
      return &r->recs[i];
  return NULL;
}

/* The kind of the record of pc's type, or -1 when it has none. */
static int kind_of(const mt_leak_result_t *r, uintptr_t pc) {
  for (unsigned k = 0; k < MT_LEAK_KINDS; k++)
    if (find(r, pc, k))
      return (int)k;
  return -1;
}

static __attribute__((noinline)) void make_blocks(void) {
  root = mt_malloc(100, MT_FAM_MALLOC, PC_ROOTED);
  void **lost = mt_malloc(48, MT_FAM_MALLOC, PC_LOST);
  void *child = mt_malloc(200, MT_FAM_MALLOC, PC_CHILD);
  lost[0] = child; /* reached only from a lost block */
  char *inner = mt_malloc(64, MT_FAM_MALLOC, PC_INTERIOR);
  interior_root = inner + 8;
  void **a = mt_malloc(32, MT_FAM_MALLOC, PC_CYCLE), **b = mt_malloc(32, MT_FAM_MALLOC, PC_CYCLE);
  a[0] = b, b[0] = a; /* a cycle nothing else reaches */
  hidden[0] = HIDE(lost), hidden[1] = HIDE(child), hidden[2] = HIDE(a), hidden[3] = HIDE(b);
  lost = NULL, child = NULL, a = b = NULL;
}

START_TEST(test_each_block_is_classed_by_what_reaches_it) {
  make_blocks();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  ck_assert(r->done);
  ck_assert_int_eq(kind_of(r, PC_ROOTED), MT_LEAK_REACHABLE);
  ck_assert_int_eq(kind_of(r, PC_LOST), MT_LEAK_DEFINITE);
  ck_assert_int_eq(kind_of(r, PC_CHILD), MT_LEAK_INDIRECT);
  ck_assert_int_eq(kind_of(r, PC_INTERIOR), MT_LEAK_POSSIBLE);
  /* The cycle: one leader definitely lost, the other indirectly. */
  const mt_leak_rec_t *def = find(r, PC_CYCLE, MT_LEAK_DEFINITE);
  const mt_leak_rec_t *ind = find(r, PC_CYCLE, MT_LEAK_INDIRECT);
  ck_assert_ptr_nonnull(def);
  ck_assert_ptr_nonnull(ind);
  ck_assert_uint_eq(def->blocks + ind->blocks, 2);
  /* Exact sizes and the sample address of the lost block. */
  const mt_leak_rec_t *lost = find(r, PC_LOST, MT_LEAK_DEFINITE);
  ck_assert_uint_eq(lost->bytes, 48);
  ck_assert_uint_eq(lost->blocks, 1);
  ck_assert_uint_eq(HIDE(lost->sample), hidden[0]);
  ck_assert_uint_eq(find(r, PC_CHILD, MT_LEAK_INDIRECT)->bytes, 200);
  ck_assert_uint_ge(r->bytes[MT_LEAK_DEFINITE], 48 + 32);
  ck_assert_uint_ge(r->scanned_roots, sizeof(void *));
}
END_TEST

#define PC_HOLDER 0x6700
#define PC_ELEM 0x6800
#define PC_HOLDER2 0x6900
#define PC_ELEM2 0x6a00

/* A lost container whose elements point back at a header inside it (a
 * std::map's nodes at the map's own header, 8 bytes in), a cycle: the
 * container is the block the program lost, the elements indirectly lost,
 * as valgrind says, whichever of them the heap walk meets first. Twice,
 * the container smaller and then larger than its elements (other slabs,
 * another order in the walk). */
static __attribute__((noinline)) void make_containers(void) {
  size_t sizes[2][2] = {{32, 256}, {256, 32}};
  uintptr_t pcs[2][2] = {{PC_HOLDER, PC_ELEM}, {PC_HOLDER2, PC_ELEM2}};
  for (int k = 0; k < 2; k++) {
    void **elems[3];
    for (int i = 0; i < 3; i++)
      elems[i] = mt_malloc(sizes[k][1], MT_FAM_MALLOC, pcs[k][1]);
    void **holder = mt_malloc(sizes[k][0], MT_FAM_MALLOC, pcs[k][0]);
    holder[0] = NULL;
    holder[1] = elems[0]; /* the header, 8 bytes in, points at the first element */
    for (int i = 0; i < 3; i++) {
      elems[i][0] = (char *)holder + 8; /* back at the header: an interior pointer */
      elems[i][1] = i < 2 ? elems[i + 1] : NULL;
    }
    hidden[4 + k] = HIDE(holder);
    holder = NULL;
    memset(elems, 0, sizeof(elems));
  }
}

START_TEST(test_a_lost_container_leads_the_elements_that_point_back_into_it) {
  make_containers();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  ck_assert(r->done);
  ck_assert_int_eq(kind_of(r, PC_HOLDER), MT_LEAK_DEFINITE);
  ck_assert_int_eq(kind_of(r, PC_ELEM), MT_LEAK_INDIRECT);
  ck_assert_uint_eq(find(r, PC_ELEM, MT_LEAK_INDIRECT)->blocks, 3);
  ck_assert_uint_eq(HIDE(find(r, PC_HOLDER, MT_LEAK_DEFINITE)->sample), hidden[4]);
  ck_assert_int_eq(kind_of(r, PC_HOLDER2), MT_LEAK_DEFINITE);
  ck_assert_int_eq(kind_of(r, PC_ELEM2), MT_LEAK_INDIRECT);
  ck_assert_uint_eq(find(r, PC_ELEM2, MT_LEAK_INDIRECT)->blocks, 3);
}
END_TEST

#define PC_RING 0x6b00
#define PC_HANGING 0x6c00

/* A cycle of two lost blocks pointing at each other's starts, one of them
 * also pointing into the middle of a third block nothing else holds: the
 * third hangs from the cycle (indirectly lost), and one block of the cycle
 * leads it (definitely lost), not the hanging block, which no lost block
 * points at the start of either. */
static __attribute__((noinline)) void make_hanging(void) {
  void **a = mt_malloc(48, MT_FAM_MALLOC, PC_RING), **b = mt_malloc(48, MT_FAM_MALLOC, PC_RING);
  char *c = mt_malloc(64, MT_FAM_MALLOC, PC_HANGING);
  memset(c, 0, 64);
  a[0] = b, b[0] = a;
  a[1] = c + 16; /* into its middle */
  hidden[6] = HIDE(a), hidden[7] = HIDE(c);
  a = b = NULL, c = NULL;
}

START_TEST(test_a_block_hanging_from_a_lost_cycle_is_indirectly_lost) {
  make_hanging();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  ck_assert(r->done);
  ck_assert_int_eq(kind_of(r, PC_HANGING), MT_LEAK_INDIRECT);
  const mt_leak_rec_t *def = find(r, PC_RING, MT_LEAK_DEFINITE);
  const mt_leak_rec_t *ind = find(r, PC_RING, MT_LEAK_INDIRECT);
  ck_assert_ptr_nonnull(def);
  ck_assert_ptr_nonnull(ind);
  ck_assert_uint_eq(def->blocks, 1);
  ck_assert_uint_eq(ind->blocks, 1);
}
END_TEST

static __attribute__((noinline)) void make_one_kept_one_dropped(void) {
  root = mt_malloc(24, MT_FAM_MALLOC, PC_ROOTED);
  interior_root = mt_malloc(24, MT_FAM_MALLOC, PC_LOST);
  hidden[0] = HIDE(interior_root);
  interior_root = NULL; /* its only reference is gone */
}

START_TEST(test_the_same_block_is_reachable_while_a_root_holds_it_and_lost_after) {
  make_one_kept_one_dropped();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  ck_assert_int_eq(kind_of(r, PC_ROOTED), MT_LEAK_REACHABLE);
  ck_assert_int_eq(kind_of(r, PC_LOST), MT_LEAK_DEFINITE);
  ck_assert_uint_eq(HIDE(find(r, PC_LOST, MT_LEAK_DEFINITE)->sample), hidden[0]);
}
END_TEST

static __attribute__((noinline)) void alloc_and_free(void) {
  void *p = mt_malloc(300, MT_FAM_MALLOC, PC_LOST);
  mt_free(p, MT_FAM_MALLOC, 0);
}

START_TEST(test_freed_blocks_are_never_leaks) {
  alloc_and_free();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  ck_assert_int_eq(kind_of(r, PC_LOST), -1);
  ck_assert_uint_eq(r->blocks[MT_LEAK_DEFINITE], 0);
}
END_TEST

static __attribute__((noinline)) void make_zero(void) { root = mt_malloc(0, MT_FAM_MALLOC, PC_ZERO); }

START_TEST(test_a_block_of_size_zero_held_by_a_root_is_reachable) {
  make_zero();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  ck_assert_int_eq(kind_of(r, PC_ZERO), MT_LEAK_REACHABLE);
}
END_TEST

static __attribute__((noinline)) void make_large_blocks(void) {
  void **big = mt_malloc(100000, MT_FAM_MALLOC, PC_ROOTED);   /* a page run */
  void **huge = mt_malloc(3u << 20, MT_FAM_MALLOC, PC_CHILD); /* a huge block */
  memset(big, 0, 100000);
  big[5000] = huge; /* reachable through a reachable block, deep inside it */
  root = big;
  void **lost = mt_malloc(200000, MT_FAM_MALLOC, PC_LOST);
  hidden[0] = HIDE(lost);
}

START_TEST(test_large_blocks_are_scanned_and_classed_too) {
  make_large_blocks();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  ck_assert_int_eq(kind_of(r, PC_ROOTED), MT_LEAK_REACHABLE);
  ck_assert_int_eq(kind_of(r, PC_CHILD), MT_LEAK_REACHABLE);
  ck_assert_int_eq(kind_of(r, PC_LOST), MT_LEAK_DEFINITE);
  ck_assert_uint_eq(find(r, PC_LOST, MT_LEAK_DEFINITE)->bytes, 200000);
}
END_TEST

START_TEST(test_the_leak_lines_name_the_lost_bytes_and_the_summary_adds_up) {
  make_blocks();
  wipe_stack();
  const mt_leak_result_t *r = mt_leak_scan();
  mt_leak_print(r, 100);
  ck_assert_ptr_nonnull(strstr(captured, "memtype: LEAK: 48 bytes in 1 block is definitely lost, type 0x6200\n"));
  ck_assert_ptr_nonnull(strstr(captured, "memtype: LEAK: 200 bytes in 1 block is indirectly lost, type 0x6300\n"));
  ck_assert_ptr_null(strstr(captured, "type 0x6100")); /* reachable: no LEAK line */
  ck_assert_ptr_nonnull(strstr(captured, "memtype: leak summary: definitely lost: "));
  unit_capture_reset();
  mt_leak_print(r, 0); /* MEMTYPE_LEAK_LINES=0: nothing */
  ck_assert_str_eq(captured, "");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("leak");
  TCase *tc = tcase_create("scan");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_each_block_is_classed_by_what_reaches_it);
  tcase_add_test(tc, test_a_lost_container_leads_the_elements_that_point_back_into_it);
  tcase_add_test(tc, test_a_block_hanging_from_a_lost_cycle_is_indirectly_lost);
  tcase_add_test(tc, test_the_same_block_is_reachable_while_a_root_holds_it_and_lost_after);
  tcase_add_test(tc, test_freed_blocks_are_never_leaks);
  tcase_add_test(tc, test_a_block_of_size_zero_held_by_a_root_is_reachable);
  tcase_add_test(tc, test_large_blocks_are_scanned_and_classed_too);
  tcase_add_test(tc, test_the_leak_lines_name_the_lost_bytes_and_the_summary_adds_up);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
