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
#include <stdio.h>
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

START_TEST(test_a_forked_child_starts_its_own_cost_bound) {
  /* A parent over its cost bound guards nothing; a child forked from it
   * starts the bound again (a server's short-lived workers were left with
   * their parent's spent budget and guarded none of their blocks). */
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", "MEMTYPE_GUARD_COST", "1", NULL});
  mt_guard_spend_ns(3600ull * 1000000000ull); /* an hour of guarding: far over 1 % */
  char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(131));
  ck_assert(!guarded(p));
  ck_assert_uint_eq(misses(SITE(131)), 1);
  mt_free(p, MT_FAM_MALLOC, SITE(131));
  mt_guard_fork_child(); /* as in the child of a fork */
  p = mt_malloc(100, MT_FAM_MALLOC, SITE(131));
  ck_assert(guarded(p));
  mt_free(p, MT_FAM_MALLOC, SITE(131));
}
END_TEST

START_TEST(test_a_write_into_the_alignment_bytes_is_reported_on_free) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  char *p = mt_memalign(16, 10, MT_FAM_MALLOC, SITE(145)); /* 6 bytes of slack before the guard */
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

/* A block's end is its page's end, its start aligned to the largest power
 * of two dividing its size up to 16 (GWP-ASan's rule), at least 2 for malloc; an
 * alignment asked for is kept. */
START_TEST(test_a_guarded_block_ends_flush_with_its_guard_page_whatever_its_size) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  static const struct { size_t n, align; } want[] = {
      {24, 8}, {100, 4}, {12, 4}, {20, 4}, {48, 16}, {4096, 16}, {5000, 8}, {40, 8}, {10, 2}};
  for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    char *p = mt_malloc(want[i].n, MT_FAM_MALLOC, SITE(150));
    ck_assert(guarded(p));
    ck_assert_uint_eq(page_end(p + want[i].n - 1) - (uintptr_t)p, want[i].n);
    ck_assert_uint_eq((uintptr_t)p % want[i].align, 0);
    ck_assert_msg(want[i].align == 16 || (uintptr_t)p % (want[i].align * 2) != 0 ||
                  want[i].n % (want[i].align * 2) != 0, "size %zu", want[i].n);
    ck_assert(readable(p + want[i].n - 1));
    ck_assert(!readable(p + want[i].n)); /* the first byte past it */
  }
  /* malloc's blocks of odd size, small ones too, are 2-aligned (1 byte after
   * them): fontconfig keeps a tag in the low bit of its strings' pointers */
  static const size_t odd_sizes[] = {1, 3, 5, 15, 17, 99};
  for (unsigned i = 0; i < sizeof(odd_sizes) / sizeof(odd_sizes[0]); i++) {
    char *odd = mt_malloc(odd_sizes[i], MT_FAM_MALLOC, SITE(150));
    ck_assert(guarded(odd));
    ck_assert_uint_eq((uintptr_t)odd % 2, 0);
    ck_assert_uint_eq(page_end(odd) - (uintptr_t)odd, odd_sizes[i] + 1);
  }
  char *a = mt_memalign(64, 100, MT_FAM_MALLOC, SITE(151)); /* memalign's alignment wins */
  ck_assert_uint_eq((uintptr_t)a % 64, 0);
  ck_assert_uint_eq(page_end(a) - (uintptr_t)a, 128);
  void *b = NULL;
  ck_assert_int_eq(mt_posix_memalign(&b, 32, 24, SITE(152)), 0);
  ck_assert_uint_eq((uintptr_t)b % 32, 0);
  ck_assert_str_eq(captured, "");
}
END_TEST

START_TEST(test_a_write_before_the_block_on_its_page_is_reported_on_free_as_an_underflow) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(153));
  p[-1] = 1;   /* the byte before it: no fault, but the pattern changed */
  p[-40] = 1;
  mt_free(p, MT_FAM_MALLOC, SITE(154));
  ck_assert_msg(strstr(captured, "memtype: ERROR: heap-buffer-underflow WRITE at ") != NULL, "%s",
                captured);
  ck_assert_ptr_nonnull(strstr(captured, "40 bytes before a 100-byte block"));
  ck_assert_ptr_nonnull(strstr(captured, "2 bytes changed, from 40 to 1 bytes before the block"));
}
END_TEST

START_TEST(test_a_block_untouched_around_it_is_not_reported_on_free) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(155));
  memset(p, 0xab, 100); /* the pattern's own byte, in bounds */
  mt_free(p, MT_FAM_MALLOC, SITE(156));
  char *q = mt_memalign(64, 100, MT_FAM_MALLOC, SITE(157));
  memset(q, 0, 100);
  mt_free(q, MT_FAM_MALLOC, SITE(158));
  ck_assert_str_eq(captured, "");
}
END_TEST

/* Lines of /proc/self/maps: mappings. */
static int mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  int n = 0, c;
  while ((c = fgetc(f)) != EOF)
    n += c == '\n';
  fclose(f);
  return n;
}

START_TEST(test_with_madvise_guarded_blocks_split_no_mapping) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", NULL});
  if (mt_guard_method() != MT_GUARD_METHOD_MADVISE)
    return; /* a kernel before 6.13: the mprotect test below covers it */
  int before = mappings();
  static char *p[2000];
  for (int i = 0; i < 2000; i++)
    ck_assert(guarded(p[i] = mt_malloc(100, MT_FAM_MALLOC, SITE(159))));
  for (int i = 0; i < 2000; i += 2)
    mt_free(p[i], MT_FAM_MALLOC, SITE(160));
  /* mprotect would split the region 2000 times; a few more lines are
   * memtype's own memory (descriptors, stacks) */
  ck_assert_int_le(mappings(), before + 10);
  ck_assert(!readable(p[0]) && readable(p[1]) && !readable(p[1] + 100));
}
END_TEST

START_TEST(test_with_mprotect_asked_for_every_block_is_its_own_mapping) {
  init_with((const char *const[]){"MEMTYPE_GUARD", "*", "MEMTYPE_GUARD_METHOD", "mprotect", NULL});
  ck_assert_int_eq(mt_guard_method(), MT_GUARD_METHOD_MPROTECT);
  int before = mappings();
  static char *p[200];
  for (int i = 0; i < 200; i++)
    ck_assert(guarded(p[i] = mt_malloc(100, MT_FAM_MALLOC, SITE(161))));
  ck_assert_int_ge(mappings(), before + 200);
  ck_assert(readable(p[7] + 99) && !readable(p[7] + 100));
  mt_free(p[7], MT_FAM_MALLOC, SITE(162));
  ck_assert(!readable(p[7]));
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
static const char *child_side = "after";

static void in_child(void (*touch)(void), char *out, size_t len, int *status) {
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    setenv("MEMTYPE_GUARD", "*", 1);
    setenv("MEMTYPE_GUARD_SIDE", child_side, 1);
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
enum { OVERFLOW_LINE = __LINE__ - 2 }; /* the faulting store's */

static void after_free(void) {
  volatile char *p = mt_malloc(64, MT_FAM_MALLOC, SITE(177));
  mt_free((void *)p, MT_FAM_MALLOC, SITE(178));
  (void)p[3];
}

/* Each 1 byte past the block (24: 8-aligned, 100: 4-aligned): the access faults. */
static void read_past_24(void) {
  volatile char *p = mt_malloc(24, MT_FAM_MALLOC, SITE(163));
  (void)p[24];
}
static void write_past_100(void) {
  volatile char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(164));
  p[100] = 1;
}
/* With the guard before: a block starts a page in, its page's rest after
 * it; an overflow runs on into the guard page before the next block. */
static void overflow_to_next_page(void) {
  volatile char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(165));
  (void)mt_malloc(100, MT_FAM_MALLOC, SITE(166)); /* the next block, after the guard */
  uintptr_t past = page_end((const void *)p) - (uintptr_t)p;
  p[past + 8] = 1; /* 8 bytes into the guard page after p's page */
}
static void underflow_before_page(void) {
  (void)mt_malloc(100, MT_FAM_MALLOC, SITE(167));
  volatile char *p = mt_malloc(100, MT_FAM_MALLOC, SITE(168));
  (void)p[-40];
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
  /* the access's frame names its source line (core/sys/lines.c) */
  char frame[64];
  snprintf(frame, sizeof(frame), "in overflow+0x");
  char *f0 = strstr(out, "    #0 ");
  ck_assert_ptr_nonnull(f0);
  snprintf(frame, sizeof(frame), "(test_memguard.c:%d)\n", (int)OVERFLOW_LINE);
  ck_assert_msg(strstr(f0, frame) != NULL && strstr(f0, frame) < strstr(f0, "    #1 "), "%s", out);
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

START_TEST(test_a_read_one_byte_past_a_24_byte_block_faults_at_the_access) {
  static char out[16384];
  int status;
  child_side = "after";
  in_child(read_past_24, out, sizeof(out), &status);
  ck_assert_msg(strstr(out, "memtype: ERROR: heap-buffer-overflow READ at ") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "(0 bytes after a 24-byte block"));
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}
END_TEST

START_TEST(test_a_write_one_byte_past_a_100_byte_block_faults_around_it_too) {
  static char out[16384];
  int status;
  child_side = "around";
  in_child(write_past_100, out, sizeof(out), &status);
  child_side = "after";
  ck_assert_msg(strstr(out, "memtype: ERROR: heap-buffer-overflow WRITE at ") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "(0 bytes after a 100-byte block"));
}
END_TEST

START_TEST(test_with_the_guard_before_an_overflow_is_the_blocks_own_not_the_next_ones) {
  static char out[16384];
  int status;
  child_side = "before";
  in_child(overflow_to_next_page, out, sizeof(out), &status);
  child_side = "after";
  ck_assert_msg(strstr(out, "memtype: ERROR: heap-buffer-overflow WRITE at ") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "(4004 bytes after a 100-byte block of type site_anchor+0xa5"));
  ck_assert_ptr_null(strstr(out, "underflow"));
}
END_TEST

START_TEST(test_with_the_guard_before_an_underflow_is_the_blocks_own) {
  static char out[16384];
  int status;
  child_side = "before";
  in_child(underflow_before_page, out, sizeof(out), &status);
  child_side = "after";
  ck_assert_msg(strstr(out, "memtype: ERROR: heap-buffer-underflow READ at ") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "(40 bytes before a 100-byte block of type site_anchor+0xa8"));
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
  tcase_add_test(tc, test_a_forked_child_starts_its_own_cost_bound);
  tcase_add_test(tc, test_a_write_into_the_alignment_bytes_is_reported_on_free);
  tcase_add_test(tc, test_a_touch_of_the_guard_page_is_reported_and_ends_the_process);
  tcase_add_test(tc, test_a_read_of_a_freed_guarded_block_is_a_use_after_free);
  tcase_add_test(tc, test_accesses_within_the_block_are_not_reported);
  tcase_add_test(tc, test_a_guarded_block_ends_flush_with_its_guard_page_whatever_its_size);
  tcase_add_test(tc, test_a_write_before_the_block_on_its_page_is_reported_on_free_as_an_underflow);
  tcase_add_test(tc, test_a_block_untouched_around_it_is_not_reported_on_free);
  tcase_add_test(tc, test_with_madvise_guarded_blocks_split_no_mapping);
  tcase_add_test(tc, test_with_mprotect_asked_for_every_block_is_its_own_mapping);
  tcase_add_test(tc, test_a_read_one_byte_past_a_24_byte_block_faults_at_the_access);
  tcase_add_test(tc, test_a_write_one_byte_past_a_100_byte_block_faults_around_it_too);
  tcase_add_test(tc, test_with_the_guard_before_an_overflow_is_the_blocks_own_not_the_next_ones);
  tcase_add_test(tc, test_with_the_guard_before_an_underflow_is_the_blocks_own);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
