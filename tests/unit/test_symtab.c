/* test_symtab.c - names and source files read from ELF files: this test's
 * own static function is named and placed in this file; calls inlined into
 * it are found, innermost first, each with the line it was called from; a
 * corrupt image
 * (random bytes written over a real one, many times) yields less, never a
 * crash or a hang. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lines.h"
#include "os.h"
#include "symtab.h"
#include "unit.h"

static __attribute__((noinline)) uintptr_t here(void) {
  return (uintptr_t)__builtin_return_address(0);
}

static __attribute__((noinline)) uintptr_t a_static_function(void) {
  uintptr_t pc = here();
  __asm__ volatile("" ::: "memory"); /* keep the call a call */
  return pc;
}

START_TEST(static_functions_are_named) {
  const char *name;
  uintptr_t start;
  uintptr_t pc = a_static_function();
  ck_assert(mt_symtab_lookup(pc, &name, &start));
  ck_assert_str_eq(name, "a_static_function");
  ck_assert(start <= pc);
}
END_TEST

/* One function under four names: three local aliases and a global one,
 * as glibc's __libc_start_main has (_impl, _alias_1, _alias_2): the global
 * name is the one a lookup gives. */
__attribute__((noinline, used, visibility("hidden"))) uintptr_t aliased_impl(void) {
  uintptr_t pc = here();
  __asm__ volatile("" ::: "memory");
  return pc;
}
static uintptr_t aliased_local_1(void) __attribute__((alias("aliased_impl"), used));
static uintptr_t aliased_local_2(void) __attribute__((alias("aliased_impl"), used));
uintptr_t aliased_global(void) __attribute__((alias("aliased_impl")));
/* (aliased_impl is hidden: the link makes it a local symbol) */

START_TEST(aliases_are_named_by_a_global_name) {
  const char *name;
  uintptr_t start;
  uintptr_t pc = aliased_global();
  ck_assert(mt_symtab_lookup(pc, &name, &start));
  ck_assert_str_eq(name, "aliased_global");
}
END_TEST

START_TEST(source_file_of_a_call) {
  char file[1024];
  ck_assert(mt_symtab_file(a_static_function(), file, sizeof(file)));
  const char *base = strrchr(file, '/');
  ck_assert_str_eq(base ? base + 1 : file, "test_symtab.c");
  ck_assert(!mt_symtab_file(0x10, file, sizeof(file)));
}
END_TEST

/* A call inlined into a function: the line of the inner call and of the
 * outer one are recorded where they are made. */
static unsigned inner_line, outer_line;
static inline __attribute__((always_inline)) uintptr_t inlined_twice(void) {
  inner_line = __LINE__ + 1;
  uintptr_t pc = here();
  __asm__ volatile("" ::: "memory");
  return pc;
}
static inline __attribute__((always_inline)) uintptr_t inlined_once(void) {
  outer_line = __LINE__ + 1;
  uintptr_t pc = inlined_twice();
  __asm__ volatile("" ::: "memory");
  return pc;
}
static unsigned holder_line;
static __attribute__((noinline)) uintptr_t holds_inlined_calls(void) {
  holder_line = __LINE__ + 1;
  uintptr_t pc = inlined_once();
  __asm__ volatile("" ::: "memory");
  return pc;
}

START_TEST(inlined_calls_are_found_innermost_first) {
  uintptr_t pc = holds_inlined_calls();
  mt_inline_t inl[8];
  unsigned n = mt_symtab_inlined(pc, true, inl, 8);
  ck_assert_uint_eq(n, 2);
  /* the innermost: inlined_twice, called from inlined_once's line */
  ck_assert_str_eq(inl[0].name, "inlined_twice");
  ck_assert_uint_eq(inl[0].line, outer_line);
  ck_assert_ptr_nonnull(strstr(inl[0].file, "test_symtab.c"));
  ck_assert_str_eq(inl[1].name, "inlined_once");
  ck_assert_uint_eq(inl[1].line, holder_line);
  ck_assert_ptr_nonnull(strstr(inl[1].file, "test_symtab.c"));
  /* the innermost frame's own line is the line table's */
  char file[1024];
  unsigned line;
  ck_assert(mt_symtab_line(pc, true, file, sizeof(file), &line));
  ck_assert_uint_eq(line, inner_line);
  ck_assert_uint_eq(mt_symtab_inlined(pc, true, inl, 1), 1); /* max respected */
  ck_assert_str_eq(inl[0].name, "inlined_twice");
  /* a call not inlined: none */
  ck_assert_uint_eq(mt_symtab_inlined(a_static_function(), true, inl, 8), 0);
  ck_assert_uint_eq(mt_symtab_inlined(0x10, true, inl, 8), 0);
}
END_TEST

static unsigned char *read_self(size_t *size) {
  FILE *f = fopen("/proc/self/exe", "rb");
  ck_assert(f != NULL);
  fseek(f, 0, SEEK_END);
  *size = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*size);
  ck_assert(fread(b, 1, *size, f) == *size);
  fclose(f);
  return b;
}

START_TEST(corrupt_images_are_survived) {
  size_t size;
  unsigned char *orig = read_self(&size), *img = malloc(size);
  uint32_t n;
  ck_assert(mt_lines_index(orig, size, &n) != NULL && n > 0);
  /* Damage the debug sections (between the code and the section headers at
   * the end), so the line programs themselves are read corrupt. */
  uint64_t shoff;
  memcpy(&shoff, orig + 0x28, 8);
  ck_assert(shoff > size / 2 && shoff < size);
  uint64_t x = 88172645463325252ull;
  int parsed = 0;
  unsigned long inlined_seen = 0;
  for (int round = 0; round < 300; round++) {
    memcpy(img, orig, size);
    for (int k = 0; k < 16; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      size_t at = size / 2 + (size_t)(x % (shoff - size / 2));
      img[at] = (unsigned char)(x >> 32);
    }
    mt_line_t *idx = mt_lines_index(img, size, &n);
    if (idx) {
      parsed++;
      (void)mt_lines_find(idx, n, 0x1000);
    }
    /* the inlined calls of every 97th address of the code, read corrupt */
    mt_inline_t inl[8];
    for (uint64_t a = 0x1000 + (uint64_t)round; a < 0x1000 + (size / 8); a += 97 * 31)
      inlined_seen += mt_lines_inlined(img, size, a, inl, 8);
  }
  ck_assert_int_gt(parsed, 0);
  ck_assert(mt_lines_index(orig, 100, &n) == NULL); /* truncated */
  mt_inline_t inl[8];
  ck_assert_uint_eq(mt_lines_inlined(orig, 100, 0x1000, inl, 8), 0);
  (void)inlined_seen;
  free(img);
  free(orig);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("symtab");
  TCase *t = tcase_create("symtab");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, static_functions_are_named);
  tcase_add_test(t, aliases_are_named_by_a_global_name);
  tcase_add_test(t, source_file_of_a_call);
  tcase_add_test(t, inlined_calls_are_found_innermost_first);
  tcase_add_test(t, corrupt_images_are_survived);
  suite_add_tcase(s, t);
  return s;
}

MT_UNIT_MAIN(suite)
