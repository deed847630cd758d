/* test_symtab.c - names and source files read from ELF files: this test's
 * own static function is named and placed in this file; a corrupt image
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

START_TEST(source_file_of_a_call) {
  char file[1024];
  ck_assert(mt_symtab_file(a_static_function(), file, sizeof(file)));
  const char *base = strrchr(file, '/');
  ck_assert_str_eq(base ? base + 1 : file, "test_symtab.c");
  ck_assert(!mt_symtab_file(0x10, file, sizeof(file)));
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
  }
  ck_assert_int_gt(parsed, 0);
  ck_assert(mt_lines_index(orig, 100, &n) == NULL); /* truncated */
  free(img);
  free(orig);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("symtab");
  TCase *t = tcase_create("symtab");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, static_functions_are_named);
  tcase_add_test(t, source_file_of_a_call);
  tcase_add_test(t, corrupt_images_are_survived);
  suite_add_tcase(s, t);
  return s;
}

MT_UNIT_MAIN(suite)
