/* test_site.c - call-site types (core/types/site.h): a call site gets one type id
 * the first time it is seen and the same one after, from any thread; the
 * type names the function of its site; MEMTYPE_TYPES groups the sites of
 * matching functions under a name; MEMTYPE_SKIP looks through a wrapper to
 * its callers; MEMTYPE_DEPTH=2 tells one site apart by its caller. The call
 * sites are real return addresses inside this file's functions, so they
 * are named as a program's would be. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "options.h"
#include "report.h"
#include "site.h"
#include "tcache.h"
#include "unit.h"

static void start(const char *var, const char *value) {
  if (var)
    setenv(var, value, 1);
  mt_init();
}

/* ---- call sites in named functions ---------------------------------------- */

#define NOINLINE __attribute__((noinline))
#define KEEP_CALL() __asm__ volatile("" ::: "memory") /* no tail call */
/* A different store in each function, so that the compiler cannot fold
 * identical ones into one (-fipa-icf): each site must be in its own. */
static volatile int trail;

/* The return address into the caller: a call site inside it. */
static NOINLINE uintptr_t here(void) { return (uintptr_t)__builtin_return_address(0); }

static NOINLINE uintptr_t widget_make(void) {
  trail = 1;
  uintptr_t pc = here();
  KEEP_CALL();
  return pc;
}
static NOINLINE uintptr_t widget_grow(void) {
  trail = 2;
  uintptr_t pc = here();
  KEEP_CALL();
  return pc;
}
static NOINLINE uintptr_t gadget_make(void) {
  trail = 3;
  uintptr_t pc = here();
  KEEP_CALL();
  return pc;
}

static void type_name(unsigned type, char *buf, size_t len) { mt_report_type_name(type, buf, len); }

START_TEST(test_a_new_site_gets_a_new_id_and_a_known_one_its_old_id) {
  start(NULL, NULL);
  unsigned before = mt_site_count();
  uint16_t a = mt_site_intern(0x5000), b = mt_site_intern(0x5010);
  ck_assert_uint_ge(a, MT_TYPE_FIRST);
  ck_assert_uint_eq(b, a + 1); /* ids in order of first sight */
  ck_assert_uint_eq(mt_site_count(), before + 2);
  ck_assert_uint_eq(mt_site_intern(0x5000), a);
  ck_assert_uint_eq(mt_site_intern(0x5010), b);
  ck_assert_uint_eq(mt_site_count(), before + 2); /* a lookup creates nothing */
  ck_assert_uint_eq(mt_site_pc(a), 0x5000);
  ck_assert_uint_eq(mt_site_pc(b), 0x5010);
  ck_assert_ptr_null(mt_site_name(a));
}
END_TEST

START_TEST(test_a_type_is_named_by_the_function_of_its_call_site) {
  start(NULL, NULL);
  uintptr_t pc = widget_make();
  unsigned t = mt_site_intern(pc);
  char name[256];
  type_name(t, name, sizeof(name));
  ck_assert_msg(strncmp(name, "widget_make+0x", 14) == 0, "type named %s", name);
  ck_assert_ptr_nonnull(strstr(name, "(test_site)"));
  uintptr_t frames[4];
  ck_assert_uint_eq(mt_site_stack(t, frames, 4), 1);
  ck_assert_uint_eq(frames[0], pc);
  type_name(MT_TYPE_UNTYPED, name, sizeof(name));
  ck_assert_str_eq(name, "(untyped)");
}
END_TEST

#define THREADS 8
#define SITES 2000
static uint16_t seen[THREADS][SITES];

static void *intern_all(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  for (unsigned i = 0; i < SITES; i++) { /* each thread in its own order */
    unsigned j = (i * 7 + t * 13) % SITES;
    seen[t][j] = mt_site_intern(0x900000 + 16 * j);
  }
  return NULL;
}

START_TEST(test_threads_that_meet_the_same_sites_agree_on_their_ids) {
  start(NULL, NULL);
  unsigned before = mt_site_count();
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++)
    pthread_create(&th[t], NULL, intern_all, (void *)(uintptr_t)t);
  for (int t = 0; t < THREADS; t++)
    pthread_join(th[t], NULL);
  ck_assert_uint_eq(mt_site_count(), before + SITES); /* one id per site, none lost */
  for (unsigned i = 0; i < SITES; i++) {
    ck_assert_uint_ge(seen[0][i], before);
    for (int t = 1; t < THREADS; t++)
      ck_assert_uint_eq(seen[t][i], seen[0][i]);
    ck_assert_uint_eq(mt_site_pc(seen[0][i]), 0x900000 + 16 * i);
  }
}
END_TEST

START_TEST(test_allocations_are_counted_under_the_type_of_their_site) {
  start(NULL, NULL);
  uintptr_t make = widget_make(), grow = widget_grow();
  for (int i = 0; i < 10; i++)
    mt_malloc(32, MT_FAM_MALLOC, make);
  mt_malloc(64, MT_FAM_MALLOC, grow);
  unsigned n = mt_site_count();
  mt_typestat_t *all = calloc(n, sizeof(*all));
  mt_tcache_sum_types(all, n);
  ck_assert_uint_eq(all[mt_site_intern(make)].allocs, 10);
  ck_assert_uint_eq(all[mt_site_intern(make)].bytes_alloc, 320);
  ck_assert_uint_eq(all[mt_site_intern(grow)].allocs, 1);
  free(all);
}
END_TEST

/* ---- MEMTYPE_TYPES ------------------------------------------------------------ */

START_TEST(test_a_naming_rule_groups_the_sites_of_matching_functions) {
  start("MEMTYPE_TYPES", "widgets=widget_*;other=no_such_function");
  unsigned make = mt_site_intern(widget_make()), grow = mt_site_intern(widget_grow());
  unsigned gadget = mt_site_intern(gadget_make());
  ck_assert_uint_eq(make, grow);
  ck_assert_str_eq(mt_site_name(make), "widgets");
  ck_assert_uint_eq(mt_site_pc(make), 0); /* a named type is no call site */
  ck_assert_uint_ne(gadget, make);
  ck_assert_ptr_null(mt_site_name(gadget));
  char name[256];
  type_name(make, name, sizeof(name));
  ck_assert_str_eq(name, "widgets");
}
END_TEST

START_TEST(test_a_malformed_naming_rule_is_refused_with_its_number) {
  start(NULL, NULL);
  char err[512];
  ck_assert(mt_site_set_rules("a=x*;b=y*", err, sizeof(err)));
  ck_assert(!mt_site_set_rules("a=x*;nameonly", err, sizeof(err)));
  ck_assert_ptr_nonnull(strstr(err, "MEMTYPE_TYPES=a=x*;nameonly: rule 2 is not name=glob"));
  ck_assert(!mt_site_set_rules("=glob", err, sizeof(err)));
  ck_assert(!mt_site_set_rules("name=", err, sizeof(err)));
  ck_assert(mt_site_set_rules("", err, sizeof(err)));
}
END_TEST

START_TEST(test_a_named_type_is_keyed_by_its_address_and_keeps_its_name) {
  start(NULL, NULL);
  static const char key_a = 0, key_b = 0;
  uint16_t a = mt_site_intern_named(&key_a, "connection");
  uint16_t b = mt_site_intern_named(&key_b, "buffer");
  ck_assert_uint_ne(a, b);
  ck_assert_uint_eq(mt_site_intern_named(&key_a, "connection"), a);
  ck_assert_str_eq(mt_site_name(a), "connection");
  ck_assert_str_eq(mt_site_name(b), "buffer");
  uint8_t cache[MT_MAX_TYPES] = {0};
  ck_assert(mt_site_type_matches(a, "conn*", cache));
  ck_assert(!mt_site_type_matches(b, "conn*", cache));
}
END_TEST

START_TEST(test_a_type_matches_globs_on_its_function_and_module) {
  start(NULL, NULL);
  unsigned make = mt_site_intern(widget_make()), gadget = mt_site_intern(gadget_make());
  static uint8_t c1[MT_MAX_TYPES], c2[MT_MAX_TYPES], c3[MT_MAX_TYPES];
  ck_assert(mt_site_type_matches(make, "widget_*", c1));
  ck_assert(!mt_site_type_matches(gadget, "widget_*", c1));
  ck_assert(mt_site_type_matches(gadget, "test_site", c2)); /* the module */
  ck_assert(mt_site_type_matches(make, "test_site.c", c3)); /* the source file */
  ck_assert(mt_site_type_matches(MT_TYPE_UNTYPED, "(untyped)", c3));
}
END_TEST

/* ---- MEMTYPE_SKIP and MEMTYPE_DEPTH ----------------------------------------------- */

/* What the allocator does for a site that needs the stack: resolve the
 * type from the return address into the function that called it. */
static NOINLINE uint16_t resolve_from_caller(void) {
  uint16_t t = mt_site_resolve((uintptr_t)__builtin_return_address(0));
  KEEP_CALL();
  return t;
}
static NOINLINE uint16_t my_xmalloc(void) {
  trail = 4;
  uint16_t t = resolve_from_caller();
  KEEP_CALL();
  return t;
}
static NOINLINE uint16_t caller_a(void) {
  trail = 5;
  uint16_t t = my_xmalloc();
  KEEP_CALL();
  return t;
}
static NOINLINE uint16_t caller_b(void) {
  trail = 6;
  uint16_t t = my_xmalloc();
  KEEP_CALL();
  return t;
}

START_TEST(test_a_wrapper_named_by_skip_gives_its_callers_their_own_types) {
  start("MEMTYPE_SKIP", "my_xmalloc");
  uint16_t a = caller_a(), b = caller_b();
  ck_assert_uint_ne(a, b);
  char name[256];
  type_name(a, name, sizeof(name));
  ck_assert_msg(strncmp(name, "caller_a+0x", 11) == 0, "type named %s", name);
  type_name(b, name, sizeof(name));
  ck_assert_msg(strncmp(name, "caller_b+0x", 11) == 0, "type named %s", name);
}
END_TEST

START_TEST(test_without_skip_the_wrapper_is_the_type) {
  start("MEMTYPE_SKIP", "");
  uint16_t a = caller_a(), b = caller_b();
  ck_assert_uint_eq(a, b);
  char name[256];
  type_name(a, name, sizeof(name));
  ck_assert_msg(strncmp(name, "my_xmalloc+0x", 13) == 0, "type named %s", name);
  ck_assert(!mt_site_is_wrapper(a));
}
END_TEST

START_TEST(test_depth_two_tells_one_site_apart_by_its_caller) {
  start("MEMTYPE_DEPTH", "2");
  ck_assert(mt_site_deep);
  uint16_t a = caller_a(), b = caller_b();
  ck_assert_uint_ne(a, b);
  uintptr_t fa[4], fb[4];
  ck_assert_uint_eq(mt_site_stack(a, fa, 4), 2);
  ck_assert_uint_eq(mt_site_stack(b, fb, 4), 2);
  ck_assert_uint_eq(fa[0], fb[0]); /* the same site in my_xmalloc... */
  ck_assert_uint_ne(fa[1], fb[1]); /* ...called from two places */
  ck_assert_uint_eq(caller_a(), a); /* the same stack: the same type */
}
END_TEST

static bool g(const char *pat, const char *s) { return mt_glob(pat, pat + strlen(pat), s); }

START_TEST(test_a_glob_matches_the_whole_name_with_stars_and_marks) {
  ck_assert(g("xmalloc", "xmalloc"));
  ck_assert(!g("xmalloc", "xmalloc2"));
  ck_assert(!g("xmalloc", "my_xmalloc"));
  ck_assert(g("*alloc", "my_xmalloc"));
  ck_assert(g("g_malloc*", "g_malloc0_n"));
  ck_assert(g("*libstdc++*", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"));
  ck_assert(g("a?c", "abc"));
  ck_assert(!g("a?c", "ac"));
  ck_assert(g("*", ""));
  ck_assert(g("**", "anything"));
  ck_assert(!g("", "x"));
  ck_assert(g("", ""));
  ck_assert(g("*a*b*c*", "xxaxxbxxcxx"));
  ck_assert(!g("*a*b*c*", "xxaxxcxxbxx"));
  ck_assert(g("*ab", "aab")); /* the star gives back what the rest needs */
  ck_assert(g("a*b*b", "abbb"));
}
END_TEST

START_TEST(test_a_glob_of_many_stars_takes_linear_time) {
  /* 40 stars against a 4000-character name that fails at the end: a
   * backtracking glob would try more ways than atoms in the universe */
  char pat[82], name[4001];
  for (int i = 0; i < 40; i++)
    pat[2 * i] = '*', pat[2 * i + 1] = 'a';
  pat[80] = 'b';
  pat[81] = '\0';
  memset(name, 'a', 4000);
  name[4000] = '\0';
  ck_assert(!g(pat, name));
  name[3999] = 'b';
  ck_assert(g(pat, name));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("site");
  TCase *tc = tcase_create("types");
  tcase_add_test(tc, test_a_new_site_gets_a_new_id_and_a_known_one_its_old_id);
  tcase_add_test(tc, test_a_type_is_named_by_the_function_of_its_call_site);
  tcase_add_test(tc, test_threads_that_meet_the_same_sites_agree_on_their_ids);
  tcase_add_test(tc, test_allocations_are_counted_under_the_type_of_their_site);
  tcase_add_test(tc, test_a_naming_rule_groups_the_sites_of_matching_functions);
  tcase_add_test(tc, test_a_malformed_naming_rule_is_refused_with_its_number);
  tcase_add_test(tc, test_a_named_type_is_keyed_by_its_address_and_keeps_its_name);
  tcase_add_test(tc, test_a_type_matches_globs_on_its_function_and_module);
  tcase_add_test(tc, test_a_wrapper_named_by_skip_gives_its_callers_their_own_types);
  tcase_add_test(tc, test_without_skip_the_wrapper_is_the_type);
  tcase_add_test(tc, test_depth_two_tells_one_site_apart_by_its_caller);
  tcase_add_test(tc, test_a_glob_matches_the_whole_name_with_stars_and_marks);
  tcase_add_test(tc, test_a_glob_of_many_stars_takes_linear_time);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
