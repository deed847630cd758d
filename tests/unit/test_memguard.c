/* test_memguard.c - guarded allocation (core/debug/memguard.h), as a program
 * meets it through the allocator: a chosen block ends against (or starts
 * after) an inaccessible page, a freed one is inaccessible whole, a touch
 * of the guard page is reported and kills, the alignment bytes are checked
 * on free; the choice (types, sampling, size) and the bounds (budget,
 * FIFO) are kept, and every refusal for want of budget is counted. The
 * memguard calls used are its public ones (guarded(), misses() below) so
 * that a rename of its API touches those two lines only. Accessibility is
 * probed with process_vm_readv, which fails with EFAULT rather than fault. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "memguard.h"
#include "options.h"
#include "report.h"
#include "site.h"
#include "unit.h"

#define PAGE 4096u

/* Call sites: addresses inside this function, which has a name (globs
 * such as '*' match a type by its function's name: a made-up address
 * matches nothing). SITE(k) for k < 512 is a distinct site in it. */
static __attribute__((noinline)) void site_anchor(void) {
  __asm__ volatile(".fill 512, 1, 0x90"); /* 512 nops: room for the sites */
}
#define SITE(k) ((uintptr_t)&site_anchor + (k))

/* Sets name/value pairs (NULL-terminated), then starts memtype. */
static void init_with(const char *const *vars) {
  /* No cost bound: on a loaded machine the guarding system calls may take
   * long enough to refuse blocks, and these tests count them exactly. */
  setenv("MEMTYPE_GUARD_COST", "100", 1);
  for (; vars && vars[0]; vars += 2)
    setenv(vars[0], vars[1], 1);
  setenv("MEMTYPE_ON_ERROR", "continue", 1);
  mt_init();
  unit_capture_reset();
  mt_report_set_sink(unit_capture);
}

/* Is this block one of memguard's? How many blocks of `pc`'s type did it
 * guard, and how many did it refuse for want of budget? */
static bool guarded(const void *p) { return mt_guard_lookup((uintptr_t)p) != NULL; }
static uint64_t guarded_count(uintptr_t pc) { return mt_guard_count(mt_site_intern(pc)); }
static uint64_t misses(uintptr_t pc) { return mt_guard_misses(mt_site_intern(pc)); }

/* Can this process read the byte at p? (No fault either way.) */
static bool readable(const void *p) {
  char c;
  struct iovec local = {&c, 1}, remote = {(void *)p, 1};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

static uintptr_t page_end(const void *p) { return ((uintptr_t)p + PAGE) & ~(uintptr_t)(PAGE - 1); }

START_TEST(test_a_guarded_block_ends_against_an_inaccessible_page) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  char *p = mt_malloc(96, MT_FAM_MALLOC, SITE(17));
  ck_assert(guarded(p));
  memset(p, 'x', 96); /* every byte asked for is the program's */
  ck_assert_uint_eq(page_end(p) - (uintptr_t)p, 96); /* the block's end is the page's */
  ck_assert(readable(p + 95));
  ck_assert(!readable(p + 96)); /* the first byte past it: the guard page */
  ck_assert_uint_eq(guarded_count(SITE(17)), 1);
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_a_freed_guarded_block_is_inaccessible_and_its_pages_wait) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  char *p = mt_malloc(5000, MT_FAM_MALLOC, SITE(33));
  ck_assert(readable(p) && readable(p + 4999));
  size_t live = mt_guard_pages_live();
  ck_assert_uint_ge(live, 3); /* two data pages and the guard */
  mt_free(p, MT_FAM_MALLOC, SITE(34));
  ck_assert(!readable(p));
  ck_assert(!readable(p + 4999));
  ck_assert_uint_eq(mt_guard_pages_live(), live - 3);
  for (int i = 0; i < 50; i++) /* the FIFO keeps its addresses from reuse */
    ck_assert_ptr_ne(mt_malloc(5000, MT_FAM_MALLOC, SITE(35)), p);
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_without_a_fifo_the_pages_of_a_freed_block_are_used_again) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", "MEMTYPE_GUARD_FIFO", "0", NULL});
  char *p = mt_malloc(5000, MT_FAM_MALLOC, SITE(49));
  mt_free(p, MT_FAM_MALLOC, 0);
  char *q = mt_malloc(5000, MT_FAM_MALLOC, SITE(49));
  ck_assert_ptr_eq(q, p);
  ck_assert(readable(q) && readable(q + 4999)); /* open again */
  ck_assert(!readable(q + 5008)); /* 5000 rounded to 16: the guard page */
}
END_TEST

START_TEST(test_with_the_guard_before_the_block_starts_a_page_after_it) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", "MEMTYPE_GUARD_SIDE", "before", NULL});
  char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(65));
  ck_assert(guarded(p));
  ck_assert_uint_eq((uintptr_t)p % PAGE, 0);
  ck_assert(readable(p));
  ck_assert(!readable(p - 1));
}
END_TEST

START_TEST(test_only_the_types_named_are_guarded) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "no_such_function", NULL});
  char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(81));
  ck_assert(!guarded(p));
  ck_assert_uint_eq(guarded_count(SITE(81)), 0);
  ck_assert_uint_eq(misses(SITE(81)), 0); /* not chosen is not a miss */
}
END_TEST

START_TEST(test_blocks_over_the_size_bound_are_not_guarded) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", "MEMTYPE_GUARD_MAXSIZE", "4096", NULL});
  ck_assert(guarded(mt_malloc(4096, MT_FAM_MALLOC, SITE(97))));
  char *big = mt_malloc(4097, MT_FAM_MALLOC, SITE(97));
  ck_assert_ptr_nonnull(big);
  ck_assert(!guarded(big));
  ck_assert_uint_eq(guarded_count(SITE(97)), 1);
}
END_TEST

START_TEST(test_sampling_guards_one_allocation_in_n) {
  init_with((const char *const[]){"MEMTYPE_GUARD_RATE", "5", NULL});
  unsigned n = 0;
  for (int i = 0; i < 1000; i++)
    n += guarded(mt_malloc(40, MT_FAM_MALLOC, SITE(113)));
  /* The first call, made before the thread has a cache, counts down a
   * countdown of its own: 199 or 200. */
  ck_assert_msg(n == 199 || n == 200, "%u of 1000 guarded", n);
  ck_assert_uint_eq(guarded_count(SITE(113)), n);
}
END_TEST

START_TEST(test_over_budget_an_allocation_falls_back_and_is_counted_as_a_miss) {
  /* The budget: physical memory / 1000000, a few pages on any machine. */
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", "MEMTYPE_GUARD_DIVISOR", "1000000", NULL});
  size_t budget = mt_guard_budget_pages();
  for (int i = 0; i < 100; i++) {
    char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(129));
    ck_assert_ptr_nonnull(p); /* never a failure */
    p[99] = 1;
  }
  uint64_t g = guarded_count(SITE(129)), m = misses(SITE(129));
  ck_assert_uint_eq(g + m, 100);
  ck_assert_uint_le(g * 2, budget); /* a data page and a guard page each */
  ck_assert_uint_ge(m, 100 - budget / 2);
  ck_assert_uint_le(mt_guard_pages_live(), budget);
}
END_TEST

START_TEST(test_a_write_into_the_alignment_bytes_is_reported_on_free) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  char *p = mt_malloc(10, MT_FAM_MALLOC, SITE(145)); /* 6 bytes of slack before the guard */
  ck_assert_uint_eq(page_end(p) - (uintptr_t)p, 16);
  p[9] = 1; /* its own last byte: fine */
  p[12] = 1; /* the bug: no fault, but the pattern changed */
  mt_free(p, MT_FAM_MALLOC, SITE(146));
  ck_assert_msg(strstr(captured, "memtype: ERROR: heap-buffer-overflow WRITE at ") != NULL, "%s",
                captured);
  ck_assert_ptr_nonnull(strstr(captured, "2 bytes after a 10-byte block"));
  ck_assert_ptr_nonnull(strstr(captured, "between the block's end and its guard page"));
}
END_TEST

/* ---- the fault handler ------------------------------------------------------ */

static int report_fd;
static void to_pipe(const char *buf, size_t len) {
  if (write(report_fd, buf, len) < 0)
    _exit(99);
}

/* Runs touch() in a child with memguard and its fault handler installed
 * (MEMTYPE_ON_ERROR=exit:42); returns the child's reports and how it ended. */
static void in_child(void (*touch)(void), char *out, size_t len, int *status) {
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    setenv("MEMTYPE_GUARD", "*", 1);
    setenv("MEMTYPE_OUTPUT", "off", 1);
    setenv("MEMTYPE_ON_ERROR", "exit:42", 1); /* no abort: no core file */
    mt_init();
    report_fd = fd[1];
    mt_report_set_sink(to_pipe);
    mt_guard_fault_init();
    touch();
    _exit(0);
  }
  close(fd[1]);
  size_t got = 0;
  ssize_t k;
  while (got + 1 < len && (k = read(fd[0], out + got, len - 1 - got)) > 0)
    got += (size_t)k;
  out[got] = '\0';
  close(fd[0]);
  waitpid(pid, status, 0);
}

static void overflow(void) {
  volatile char *p = mt_malloc(64, MT_FAM_MALLOC, SITE(161));
  p[64] = 1;
}

static void after_free(void) {
  volatile char *p = mt_malloc(64, MT_FAM_MALLOC, SITE(177));
  mt_free((void *)p, MT_FAM_MALLOC, SITE(178));
  (void)p[3];
}

static void in_bounds(void) {
  volatile char *p = mt_malloc(64, MT_FAM_MALLOC, SITE(193));
  p[0] = p[63] = 1;
  mt_free((void *)p, MT_FAM_MALLOC, SITE(194));
}

START_TEST(test_a_touch_of_the_guard_page_is_reported_and_ends_the_process) {
  static char out[16384];
  int status;
  in_child(overflow, out, sizeof(out), &status);
  ck_assert_msg(strstr(out, "memtype: ERROR: heap-buffer-overflow WRITE at ") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "(0 bytes after a 64-byte block of type site_anchor+0xa1 (test_memguard))"));
  ck_assert_ptr_nonnull(strstr(out, "memtype will now exit with status 42"));
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}
END_TEST

START_TEST(test_a_read_of_a_freed_guarded_block_is_a_use_after_free) {
  static char out[16384];
  int status;
  in_child(after_free, out, sizeof(out), &status);
  ck_assert_msg(strstr(out, "memtype: ERROR: use-after-free READ at ") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "3 bytes into a 64-byte "));
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}
END_TEST

START_TEST(test_accesses_within_the_block_are_not_reported) {
  static char out[16384];
  int status;
  in_child(in_bounds, out, sizeof(out), &status);
  ck_assert_str_eq(out, "");
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("memguard");
  TCase *tc = tcase_create("guarded_allocation");
  tcase_add_test(tc, test_a_guarded_block_ends_against_an_inaccessible_page);
  tcase_add_test(tc, test_a_freed_guarded_block_is_inaccessible_and_its_pages_wait);
  tcase_add_test(tc, test_without_a_fifo_the_pages_of_a_freed_block_are_used_again);
  tcase_add_test(tc, test_with_the_guard_before_the_block_starts_a_page_after_it);
  tcase_add_test(tc, test_only_the_types_named_are_guarded);
  tcase_add_test(tc, test_blocks_over_the_size_bound_are_not_guarded);
  tcase_add_test(tc, test_sampling_guards_one_allocation_in_n);
  tcase_add_test(tc, test_over_budget_an_allocation_falls_back_and_is_counted_as_a_miss);
  tcase_add_test(tc, test_a_write_into_the_alignment_bytes_is_reported_on_free);
  tcase_add_test(tc, test_a_touch_of_the_guard_page_is_reported_and_ends_the_process);
  tcase_add_test(tc, test_a_read_of_a_freed_guarded_block_is_a_use_after_free);
  tcase_add_test(tc, test_accesses_within_the_block_are_not_reported);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
