/* test_dump.c - the dump writer (core/dump.h) read back by the C reader
 * (report/c/memtype_stat.h): the figures of known call sites, a named
 * type and injected failures come back exactly; a dump is never written
 * over an existing file; MEMTYPE_OUTPUT=off writes nothing; dumps on
 * request are numbered; a dump cut short or never marked whole is refused
 * with a reason. Every dump goes to a temporary directory of the test's,
 * removed after it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "dump.h"
#include "memtype_stat.h"
#include "options.h"
#include "report.h"
#include "site.h"
#include "sizeclass.h"
#include "unit.h"

/* base: made by the runner before the tests, removed with all it holds
 * after them (even when a test failed midway); dir: a test's own, in it. */
static char base[256], dir[512], path[600];

static void make_base(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(base, sizeof(base), "%s/mt_unit_dump.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(base));
}

static int remove_one(const char *f, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(f);
}

static void remove_base(void) {
  if (base[0])
    nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_dir(void) {
  snprintf(dir, sizeof(dir), "%s/test.XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Sets MEMTYPE_OUTPUT into the test's directory and name/value pairs
 * (NULL-terminated), then starts memtype. */
static void init_with(const char *const *vars) {
  make_dir();
  char tmpl[700];
  snprintf(tmpl, sizeof(tmpl), "%s/unit.%%p.mtd", dir);
  snprintf(path, sizeof(path), "%s/unit.%d.mtd", dir, (int)getpid());
  setenv("MEMTYPE_OUTPUT", tmpl, 1);
  /* Check runs each test in a forked child of a process that holds memtype
   * too: without this only the top process would write its exit dump. */
  setenv("MEMTYPE_DUMP_CHILDREN", "1", 1);
  for (; vars && vars[0]; vars += 2)
    setenv(vars[0], vars[1], 1);
  mt_init();
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

static memtype_stat_t *read_back(const char *file) {
  char err[512] = "";
  memtype_stat_t *st = memtype_stat_open(file, err, sizeof(err));
  ck_assert_msg(st != NULL, "the reader refused the dump: %s", err);
  return st;
}

static const memtype_stat_type_t *type_at(const memtype_stat_t *st, uintptr_t pc) {
  for (size_t i = 0; i < memtype_stat_ntypes(st); i++)
    if (memtype_stat_type(st, i)->pc == pc)
      return memtype_stat_type(st, i);
  return NULL;
}

static const memtype_stat_type_t *type_named(const memtype_stat_t *st, const char *name) {
  for (size_t i = 0; i < memtype_stat_ntypes(st); i++)
    if (strcmp(memtype_stat_type(st, i)->name, name) == 0)
      return memtype_stat_type(st, i);
  return NULL;
}

START_TEST(test_the_figures_of_known_sites_come_back_exactly) {
  init_with(NULL);
  void *small[10];
  for (int i = 0; i < 10; i++)
    small[i] = mt_malloc(100, MT_FAM_MALLOC, 0xa100);
  for (int i = 0; i < 4; i++)
    mt_free(small[i], MT_FAM_MALLOC, 0);
  for (int i = 0; i < 3; i++)
    mt_malloc(5000, MT_FAM_MALLOC, 0xa200);
  void *huge = mt_malloc(2u << 20, MT_FAM_MALLOC, 0xa300);
  mt_free(huge, MT_FAM_MALLOC, 0);
  static const char key = 0;
  unsigned named = mt_site_intern_named(&key, "session");
  mt_malloc_type(64, named, false);
  mt_malloc_type(64, named, true);
  ck_assert(mt_dump_write(MT_DUMP_EXIT, 0));
  ck_assert_str_eq(captured, "");

  memtype_stat_t *st = read_back(path);
  ck_assert_uint_eq(memtype_stat_pid(st), (uint32_t)getpid());
  const memtype_stat_type_t *a = type_at(st, 0xa100), *b = type_at(st, 0xa200);
  const memtype_stat_type_t *h = type_at(st, 0xa300), *n = type_named(st, "session");
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_nonnull(h);
  ck_assert_ptr_nonnull(n);
  ck_assert_uint_eq(a->allocs, 10);
  ck_assert_uint_eq(a->frees, 4);
  ck_assert_uint_eq(a->bytes_alloc, 1000);
  ck_assert_uint_eq(a->bytes_freed, 400);
  ck_assert_uint_eq(memtype_stat_inuse(a), 6);
  ck_assert_uint_eq(memtype_stat_memuse(a), 600);
  unsigned cls = mt_size_class(100);
  ck_assert_uint_eq(a->classes[MT_CLASS_WORD(cls)], MT_CLASS_MASK(cls)); /* one class: 100's */
  ck_assert_uint_eq(memtype_stat_class_size(st, cls), mt_classes[cls].size);
  ck_assert_uint_eq(b->allocs, 3);
  ck_assert_uint_eq(b->bytes_alloc, 15000);
  ck_assert_uint_eq(b->frees, 0);
  ck_assert_uint_eq(h->allocs, 1);
  ck_assert_uint_eq(h->frees, 1);
  ck_assert_uint_eq(h->bytes_alloc, 2u << 20);
  ck_assert_uint_eq(n->allocs, 2);
  ck_assert_uint_eq(n->bytes_alloc, 128);
  ck_assert_uint_eq(n->pc, 0); /* a named type is no call site */
  ck_assert_ptr_null(type_at(st, 0xa400)); /* no such site */
  memtype_stat_close(st);
}
END_TEST

START_TEST(test_injected_failures_reach_the_dump_as_failures_not_allocations) {
  init_with((const char *const[]){"MEMTYPE_FAILURE_RATE", "1", "MEMTYPE_FAILURE_TIMES", "2", NULL});
  for (int i = 0; i < 5; i++)
    mt_malloc(32, MT_FAM_MALLOC, 0xa500);
  ck_assert(mt_dump_write(MT_DUMP_EXIT, 0));
  memtype_stat_t *st = read_back(path);
  const memtype_stat_type_t *t = type_at(st, 0xa500);
  ck_assert_ptr_nonnull(t);
  ck_assert_uint_eq(t->failures, 2);
  ck_assert_uint_eq(t->allocs, 3);
  memtype_stat_close(st);
}
END_TEST

START_TEST(test_an_existing_file_is_never_written_over) {
  init_with(NULL);
  mt_malloc(10, MT_FAM_MALLOC, 0xa600);
  ck_assert(mt_dump_write(MT_DUMP_EXIT, 0));
  struct stat before, after;
  ck_assert_int_eq(stat(path, &before), 0);
  mt_malloc(10, MT_FAM_MALLOC, 0xa601); /* a new type: a second dump would differ */
  ck_assert(!mt_dump_write(MT_DUMP_EXIT, 0));
  ck_assert_ptr_nonnull(strstr(captured, "memtype never overwrites a dump"));
  ck_assert_int_eq(stat(path, &after), 0);
  ck_assert_int_eq(after.st_size, before.st_size);
  ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  memtype_stat_t *st = read_back(path);
  ck_assert_ptr_null(type_at(st, 0xa601));
  memtype_stat_close(st);
  ck_assert_int_eq(before.st_mode & 0777, 0600); /* the owner's only */
}
END_TEST

START_TEST(test_output_off_writes_nothing) {
  init_with((const char *const[]){"MEMTYPE_OUTPUT", "off", NULL});
  mt_malloc(10, MT_FAM_MALLOC, 0xa700);
  ck_assert(!mt_dump_write(MT_DUMP_EXIT, 0));
  DIR *d = opendir(dir);
  struct dirent *e;
  unsigned files = 0;
  while ((e = readdir(d)) != NULL)
    files += e->d_name[0] != '.';
  closedir(d);
  ck_assert_uint_eq(files, 0);
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_dumps_on_request_are_numbered_and_the_exit_dump_keeps_the_name) {
  init_with(NULL);
  mt_malloc(10, MT_FAM_MALLOC, 0xa800);
  ck_assert(mt_dump_write(MT_DUMP_SIGNAL, 0));
  mt_malloc(10, MT_FAM_MALLOC, 0xa800);
  ck_assert(mt_dump_write(MT_DUMP_SIGNAL, 0));
  ck_assert(mt_dump_write(MT_DUMP_EXIT, 0));
  char one[700], two[700];
  snprintf(one, sizeof(one), "%s.1", path);
  snprintf(two, sizeof(two), "%s.2", path);
  memtype_stat_t *s1 = read_back(one), *s2 = read_back(two), *s3 = read_back(path);
  ck_assert_uint_eq(type_at(s1, 0xa800)->allocs, 1);
  ck_assert_uint_eq(type_at(s2, 0xa800)->allocs, 2);
  ck_assert_uint_eq(type_at(s3, 0xa800)->allocs, 2);
  memtype_stat_close(s1);
  memtype_stat_close(s2);
  memtype_stat_close(s3);
}
END_TEST

START_TEST(test_the_path_template_expands_pid_program_and_percent) {
  char buf[64];
  ck_assert(mt_dump_path("d/memtype.%e.%p.mtd", 4242, "prog", buf, sizeof(buf)));
  ck_assert_str_eq(buf, "d/memtype.prog.4242.mtd");
  ck_assert(mt_dump_path("100%%-%x", 1, "p", buf, sizeof(buf)));
  ck_assert_str_eq(buf, "100%-%x");
  ck_assert(!mt_dump_path("a-rather-long-name-%p", 123456, "p", buf, 20)); /* does not fit */
  ck_assert(!mt_dump_path("", 1, "p", buf, sizeof(buf)));
}
END_TEST

/* The dump's bytes, read whole. */
static unsigned char *slurp(const char *file, size_t *len) {
  FILE *f = fopen(file, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*len);
  ck_assert_uint_eq(fread(b, 1, *len, f), *len);
  fclose(f);
  return b;
}

START_TEST(test_a_dump_cut_short_or_never_marked_whole_is_refused) {
  init_with(NULL);
  mt_malloc(10, MT_FAM_MALLOC, 0xa900);
  ck_assert(mt_dump_write(MT_DUMP_EXIT, 0));
  size_t len;
  unsigned char *b = slurp(path, &len);
  char err[512];
  memtype_stat_t *whole = memtype_stat_open_mem(b, len, "whole", err, sizeof(err));
  ck_assert_msg(whole != NULL, "%s", err);
  memtype_stat_close(whole);
  for (size_t cut = 0; cut < len; cut += 1 + cut / 3) {
    ck_assert_msg(memtype_stat_open_mem(b, cut, "cut", err, sizeof(err)) == NULL,
                  "a dump cut to %zu of %zu bytes was read", cut, len);
    ck_assert_ptr_nonnull(strstr(err, "cut: "));
  }
  b[16] &= (unsigned char)~1u; /* the header's `complete` flag, set last by the writer */
  ck_assert_ptr_null(memtype_stat_open_mem(b, len, "unfinished", err, sizeof(err)));
  ck_assert_str_eq(err, "unfinished: incomplete (its writer was interrupted)");
  free(b);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("dump");
  TCase *tc = tcase_create("write_and_read_back");
  tcase_add_unchecked_fixture(tc, make_base, remove_base);
  tcase_add_test(tc, test_the_figures_of_known_sites_come_back_exactly);
  tcase_add_test(tc, test_injected_failures_reach_the_dump_as_failures_not_allocations);
  tcase_add_test(tc, test_an_existing_file_is_never_written_over);
  tcase_add_test(tc, test_output_off_writes_nothing);
  tcase_add_test(tc, test_dumps_on_request_are_numbered_and_the_exit_dump_keeps_the_name);
  tcase_add_test(tc, test_the_path_template_expands_pid_program_and_percent);
  tcase_add_test(tc, test_a_dump_cut_short_or_never_marked_whole_is_refused);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
