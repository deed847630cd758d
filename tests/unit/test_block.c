/* test_block.c - the block model: any pointer decodes to its block (kind,
 * start, requested size, type, state), a pointer inside a block is not its
 * start, freed blocks read as freed, the walk meets every block once, and
 * the nearest block of a stray address is found. */
#include <stdint.h>
#include <stdlib.h>

#include <string.h>

#include "alloc.h"
#include "block.h"
#include "heapcheck.h"
#include "page.h"
#include "report.h"
#include "unit.h"

static void setup(void) { mt_init(); }

static void setup_guard_all(void) {
  setenv("MEMTYPE_GUARD_RATE", "1", 1);
  setenv("MEMTYPE_GUARD_COST", "100", 1); /* no cost bound: a loaded machine refuses none */
  mt_init();
}

#define SMALL 100
#define MEDIUM 200000
#define HUGE (MT_MEDIUM_MAX + 4096)

/* One block of each heap kind, asked with its own size. */
static const struct {
  size_t n;
  mt_block_kind_t kind;
} kinds[] = {{SMALL, MT_BLOCK_SLOT}, {MEDIUM, MT_BLOCK_RUN}, {HUGE, MT_BLOCK_HUGE}};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

START_TEST(test_each_kind_decodes_at_its_start) {
  for (unsigned i = 0; i < NKINDS; i++) {
    char *p = mt_malloc(kinds[i].n, MT_FAM_NEW, 0);
    mt_block_t b;
    ck_assert(mt_block_lookup((uintptr_t)p, &b));
    ck_assert_str_eq(mt_block_kind_names[b.kind], mt_block_kind_names[kinds[i].kind]);
    ck_assert_uint_eq(b.start, (uintptr_t)p);
    ck_assert_uint_eq(mt_block_size(&b), kinds[i].n);
    ck_assert_uint_ge(b.usable, kinds[i].n);
    ck_assert_uint_eq(b.meta->f.state, MT_STATE_LIVE);
    ck_assert_uint_eq(b.meta->f.family, MT_FAM_NEW);
    mt_free(p, MT_FAM_NEW, 0);
  }
}
END_TEST

START_TEST(test_interior_pointer_is_not_a_start_but_names_the_block) {
  for (unsigned i = 0; i < NKINDS; i++) {
    char *p = mt_malloc(kinds[i].n, MT_FAM_MALLOC, 0);
    mt_block_t b;
    ck_assert(!mt_block_lookup((uintptr_t)p + kinds[i].n / 2, &b));
    ck_assert_uint_eq(b.kind, kinds[i].kind);
    ck_assert_uint_eq(b.start, (uintptr_t)p);
    mt_free(p, MT_FAM_MALLOC, 0);
  }
}
END_TEST

START_TEST(test_freed_blocks_read_as_freed) {
  char *s = mt_malloc(SMALL, MT_FAM_MALLOC, 0);
  char *r = mt_malloc(MEDIUM, MT_FAM_MALLOC, 0);
  mt_free(s, MT_FAM_MALLOC, 0);
  mt_free(r, MT_FAM_MALLOC, 0);
  mt_block_t b;
  ck_assert(mt_block_lookup((uintptr_t)s, &b));
  ck_assert_uint_eq(b.kind, MT_BLOCK_SLOT);
  ck_assert_uint_ne(b.meta->f.state, MT_STATE_LIVE);
  /* A freed run is either merged away (no block) or a freed run's start. */
  if (mt_block_lookup((uintptr_t)r, &b))
    ck_assert(mt_block_is_gone(&b) || b.meta->f.state != MT_STATE_LIVE);
  else
    ck_assert(b.kind == MT_BLOCK_NONE || b.start != (uintptr_t)r);
}
END_TEST

START_TEST(test_foreign_pointers_are_no_block) {
  int local;
  void *g = malloc(64); /* glibc's, in this test process */
  uintptr_t foreign[] = {(uintptr_t)&local, (uintptr_t)g, 0, (uintptr_t)-4096};
  for (unsigned i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
    mt_block_t b;
    ck_assert(!mt_block_lookup(foreign[i], &b));
    ck_assert_uint_eq(b.kind, MT_BLOCK_NONE);
  }
  free(g);
}
END_TEST

typedef struct seen_s {
  uintptr_t want[8];
  unsigned times[8];
  mt_block_kind_t kind[8];
  unsigned n;
} seen_t;

static void count_seen(mt_block_t *b, void *arg) {
  seen_t *s = arg;
  for (unsigned i = 0; i < s->n; i++)
    if (b->start == s->want[i] && b->meta->f.state == MT_STATE_LIVE) {
      s->times[i]++;
      s->kind[i] = b->kind;
    }
}

START_TEST(test_walk_meets_every_live_block_once) {
  seen_t s = {.n = NKINDS};
  for (unsigned i = 0; i < NKINDS; i++)
    s.want[i] = (uintptr_t)mt_malloc(kinds[i].n, MT_FAM_MALLOC, 0);
  mt_block_walk(count_seen, &s);
  for (unsigned i = 0; i < NKINDS; i++) {
    ck_assert_uint_eq(s.times[i], 1);
    ck_assert_uint_eq(s.kind[i], kinds[i].kind);
  }
  /* freed, they are no longer met live */
  for (unsigned i = 0; i < NKINDS; i++) {
    mt_free((void *)s.want[i], MT_FAM_MALLOC, 0);
    s.times[i] = 0;
  }
  mt_block_walk(count_seen, &s);
  for (unsigned i = 0; i < NKINDS; i++)
    ck_assert_uint_eq(s.times[i], 0);
}
END_TEST

START_TEST(test_nearest_block_of_an_address_past_it) {
  char *p = mt_malloc(MEDIUM, MT_FAM_MALLOC, 0);
  mt_near_t near;
  ck_assert(mt_block_near((uintptr_t)p + MEDIUM + 8, 16, &near));
  ck_assert(near.in_heap && near.live && !near.guarded);
  ck_assert_uint_eq(near.start, (uintptr_t)p);
  ck_assert_uint_eq(near.size, MEDIUM);
  int local;
  ck_assert(!mt_block_near((uintptr_t)&local, 2, &near));
  ck_assert(!near.in_heap);
  mt_free(p, MT_FAM_MALLOC, 0);
}
END_TEST

START_TEST(test_guarded_block_is_its_own_kind_and_walked) {
  char *p = mt_malloc(SMALL, MT_FAM_MALLOC, 0);
  mt_block_t b;
  ck_assert(mt_block_lookup((uintptr_t)p, &b));
  ck_assert_str_eq(mt_block_kind_names[b.kind], "guarded");
  ck_assert_uint_eq(mt_block_size(&b), SMALL);
  ck_assert_ptr_nonnull(mt_block_mark(&b));
  seen_t s = {.n = 1, .want = {(uintptr_t)p}};
  mt_block_walk(count_seen, &s);
  ck_assert_uint_eq(s.times[0], 1);
  mt_near_t near;
  ck_assert(mt_block_near((uintptr_t)p + 4, 0, &near));
  ck_assert(near.guarded && near.live);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert(mt_block_lookup((uintptr_t)p, &b));
  ck_assert_uint_eq(b.meta->f.state, MT_STATE_FREE);
}
END_TEST

/* ---- redzones on both sides: the block starts inside its storage ---------- */

static void setup_redzones(void) {
  setenv("MEMTYPE_TRASH", "1", 1);
  setenv("MEMTYPE_REDZONE", "1", 1);
  setenv("MEMTYPE_ON_ERROR", "continue", 1);
  mt_init();
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

START_TEST(test_with_redzones_each_kind_starts_after_its_front_redzone) {
  for (unsigned i = 0; i < NKINDS; i++) {
    size_t n = kinds[i].n;
    char *p = mt_malloc(n, MT_FAM_MALLOC, 0);
    mt_block_t b;
    ck_assert(mt_block_lookup((uintptr_t)p, &b));
    ck_assert_uint_eq(b.kind, kinds[i].kind);
    ck_assert_uint_eq(b.start, (uintptr_t)p);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    /* Both redzones at least as wide as the sizing rule says. */
    ck_assert_uint_ge(b.start - b.base, mt_check_redzone_size(n));
    ck_assert_uint_ge(b.usable - n, mt_check_redzone_size(n));
    ck_assert_uint_eq(mt_usable_size(p, 0), n); /* the redzone is not the program's */
    mt_free(p, MT_FAM_MALLOC, 0);
    ck_assert_str_eq(captured, "");
  }
}
END_TEST

START_TEST(test_with_redzones_a_pointer_into_the_front_redzone_names_the_block) {
  for (unsigned i = 0; i < NKINDS; i++) {
    char *p = mt_malloc(kinds[i].n, MT_FAM_MALLOC, 0);
    mt_block_t b;
    ck_assert(!mt_block_lookup((uintptr_t)p - 1, &b));
    ck_assert_uint_eq(b.kind, kinds[i].kind);
    ck_assert_uint_eq(b.start, (uintptr_t)p);
    ck_assert(!mt_block_lookup((uintptr_t)p + kinds[i].n / 2, &b)); /* and an interior one */
    ck_assert_uint_eq(b.start, (uintptr_t)p);
    /* The leak scan: the start reaches the block, the redzone does not. */
    mt_block_live_t l;
    mt_lock(&mt_page_lock);
    ck_assert(mt_block_live_at((uintptr_t)p, &l));
    ck_assert_uint_eq(l.start, (uintptr_t)p);
    ck_assert_uint_eq(l.len, kinds[i].n);
    bool in_front = mt_block_live_at((uintptr_t)p - 1, &l);
    mt_unlock(&mt_page_lock);
    ck_assert(!in_front);
    mt_free(p, MT_FAM_MALLOC, 0);
  }
}
END_TEST

START_TEST(test_with_redzones_aligned_blocks_keep_their_alignment) {
  static const size_t aligns[] = {32, 64, 256, 4096, 65536};
  static const size_t sizes[] = {1, 100, 5000, 300000};
  for (unsigned a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++)
    for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
      char *p = mt_memalign(aligns[a], sizes[s], MT_FAM_MALLOC, 0);
      ck_assert_ptr_nonnull(p);
      ck_assert_uint_eq((uintptr_t)p % aligns[a], 0);
      mt_block_t b;
      ck_assert(mt_block_lookup((uintptr_t)p, &b));
      ck_assert_uint_ge(b.start - b.base, MT_REDZONE_MIN);
      ck_assert_uint_eq((b.start - b.base) % aligns[a], 0);
      ck_assert_uint_eq(mt_usable_size(p, 0), sizes[s]);
      memset(p, 1, sizes[s]);
      mt_free(p, MT_FAM_MALLOC, 0);
      ck_assert_str_eq(captured, "");
    }
}
END_TEST

START_TEST(test_with_redzones_a_far_overflow_of_a_record_lands_in_its_redzone) {
  /* 64 bytes past a 100-byte record, an 8-byte store: still its own. */
  char *p = mt_malloc(100, MT_FAM_MALLOC, 0);
  mt_block_t b;
  ck_assert(mt_block_lookup((uintptr_t)p, &b));
  ck_assert_uint_ge(b.usable, 100 + 64 + 8);
  memset(p + 100 + 63, 'x', 8);
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "heap-buffer-overflow WRITE"));
  ck_assert_ptr_nonnull(strstr(captured, "(63 bytes after a 100-byte block"));
}
END_TEST

START_TEST(test_with_redzones_an_underflow_is_reported_before_the_block) {
  char *p = mt_malloc(100, MT_FAM_MALLOC, 0);
  p[-40] = 'x';
  mt_free(p, MT_FAM_MALLOC, 0);
  ck_assert_ptr_nonnull(strstr(captured, "heap-buffer-underflow WRITE"));
  ck_assert_ptr_nonnull(strstr(captured, "(40 bytes before a 100-byte block"));
}
END_TEST

START_TEST(test_with_redzones_a_freed_slot_is_reused_with_its_new_front) {
  /* One class (128 bytes), two fronts: 60 bytes get 32-byte redzones
   * (32 + 60 + 32), 40 bytes aligned to 64 a 64-byte front (64 + 40 + 16):
   * a slot's front is its owner's (kept per slot, not per class). */
  uintptr_t fronts[2] = {0, 0};
  for (int round = 0; round < 4; round++) {
    size_t n = round % 2 ? 40 : 60;
    char *p = round % 2 ? mt_memalign(64, n, MT_FAM_MALLOC, 0) : mt_malloc(n, MT_FAM_MALLOC, 0);
    mt_block_t b;
    ck_assert(mt_block_lookup((uintptr_t)p, &b));
    ck_assert_uint_eq(b.kind, MT_BLOCK_SLOT);
    ck_assert_uint_eq(b.run->slot_size, 128);
    fronts[round % 2] = b.start - b.base;
    memset(p, 2, n);
    mt_free(p, MT_FAM_MALLOC, 0);
    ck_assert(mt_block_lookup((uintptr_t)p, &b)); /* a freed block's start, still */
    ck_assert_uint_ne(b.meta->f.state, MT_STATE_LIVE);
  }
  ck_assert_uint_eq(fronts[0], 32);
  ck_assert_uint_eq(fronts[1], 64);
  ck_assert_uint_eq(mt_check_heap(), 0);
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_with_redzones_the_sizes_follow_asans_allocator) {
  /* 16 bytes a side up to 48 bytes, then doubling: a 40-byte block takes an
   * 80-byte slot (16 + 40 + 16), a 100-byte one a 240-byte slot (64 + 100 +
   * 64 = 228, rounded to its class), not more. */
  static const struct { size_t n, rz, slot; } want[] = {
      {1, 16, 48}, {40, 16, 80}, {48, 16, 80}, {49, 32, 128}, {96, 32, 160},
      {100, 64, 240}, {448, 64, 576}, {449, 128, 768}, {3968, 128, 0}, {3969, 256, 0}};
  for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    ck_assert_uint_eq(mt_check_redzone_size(want[i].n), want[i].rz);
    char *p = mt_malloc(want[i].n, MT_FAM_MALLOC, 0);
    mt_block_t b;
    ck_assert(mt_block_lookup((uintptr_t)p, &b));
    ck_assert_uint_eq(b.start - b.base, want[i].rz);
    ck_assert_uint_ge(b.usable - want[i].n, want[i].rz);
    if (want[i].slot)
      ck_assert_uint_eq(b.run->slot_size, want[i].slot);
    mt_free(p, MT_FAM_MALLOC, 0);
  }
  ck_assert_uint_eq(mt_check_redzone_size(70000), MT_REDZONE_CAP);
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_with_redzones_the_walk_meets_each_block_at_its_start) {
  char *p[NKINDS];
  for (unsigned i = 0; i < NKINDS; i++)
    p[i] = mt_malloc(kinds[i].n, MT_FAM_MALLOC, 0);
  ck_assert_uint_eq(mt_check_heap(), 0);
  p[0][kinds[0].n] = 1;  /* after the slot's block */
  p[1][-1] = 1;          /* before the run's */
  p[2][-16] = 1;         /* before the huge block's */
  ck_assert_uint_eq(mt_check_heap(), 3);
  ck_assert_ptr_nonnull(strstr(captured, "(0 bytes after a 100-byte block"));
  ck_assert_ptr_nonnull(strstr(captured, "(1 bytes before a 200000-byte block"));
  ck_assert_ptr_nonnull(strstr(captured, "(16 bytes before a 1052672-byte block"));
}
END_TEST

static void setup_redzones_only(void) {
  setenv("MEMTYPE_REDZONE", "1", 1);
  setenv("MEMTYPE_ON_ERROR", "continue", 1);
  mt_init();
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

START_TEST(test_without_trash_a_freed_blocks_redzones_are_checked_with_its_free_stack) {
  /* No trash: a stale write into the redzone of a block in the quarantine
   * is a redzone error, shown with the block's free stack. */
  char *p = mt_malloc(100, MT_FAM_MALLOC, 0);
  mt_free(p, MT_FAM_MALLOC, 0);
  mt_block_t b;
  ck_assert(mt_block_lookup((uintptr_t)p, &b));
  ck_assert_uint_eq(b.meta->f.state, MT_STATE_QUARANTINE);
  ck_assert_uint_eq(mt_check_heap(), 0);
  p[100 + 5] = 1;
  ck_assert_uint_eq(mt_check_heap(), 1);
  ck_assert_ptr_nonnull(strstr(captured, "heap-buffer-overflow WRITE"));
  ck_assert_ptr_nonnull(strstr(captured, "(5 bytes after a 100-byte block"));
  ck_assert_ptr_nonnull(strstr(captured, "block freed at:"));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("block");
  TCase *tc = tcase_create("heap");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_each_kind_decodes_at_its_start);
  tcase_add_test(tc, test_interior_pointer_is_not_a_start_but_names_the_block);
  tcase_add_test(tc, test_freed_blocks_read_as_freed);
  tcase_add_test(tc, test_foreign_pointers_are_no_block);
  tcase_add_test(tc, test_walk_meets_every_live_block_once);
  tcase_add_test(tc, test_nearest_block_of_an_address_past_it);
  suite_add_tcase(s, tc);
  TCase *tg = tcase_create("guarded");
  tcase_add_checked_fixture(tg, setup_guard_all, NULL);
  tcase_add_test(tg, test_guarded_block_is_its_own_kind_and_walked);
  suite_add_tcase(s, tg);
  TCase *tr = tcase_create("redzones");
  tcase_add_checked_fixture(tr, setup_redzones, NULL);
  tcase_add_test(tr, test_with_redzones_each_kind_starts_after_its_front_redzone);
  tcase_add_test(tr, test_with_redzones_a_pointer_into_the_front_redzone_names_the_block);
  tcase_add_test(tr, test_with_redzones_aligned_blocks_keep_their_alignment);
  tcase_add_test(tr, test_with_redzones_a_far_overflow_of_a_record_lands_in_its_redzone);
  tcase_add_test(tr, test_with_redzones_an_underflow_is_reported_before_the_block);
  tcase_add_test(tr, test_with_redzones_a_freed_slot_is_reused_with_its_new_front);
  tcase_add_test(tr, test_with_redzones_the_sizes_follow_asans_allocator);
  tcase_add_test(tr, test_with_redzones_the_walk_meets_each_block_at_its_start);
  suite_add_tcase(s, tr);
  TCase *to = tcase_create("redzones_only");
  tcase_add_checked_fixture(to, setup_redzones_only, NULL);
  tcase_add_test(to, test_without_trash_a_freed_blocks_redzones_are_checked_with_its_free_stack);
  suite_add_tcase(s, to);
  return s;
}

MT_UNIT_MAIN(suite)
