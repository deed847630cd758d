/* test_insn.c - the x86-64 operand decoder (insn.c) that names the address
 * of a general protection fault: each form's memory operands (base, index,
 * scale, displacement, read or write, width) as the assembler encodes them,
 * the forms with none, and the ones it cannot decode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "insn.h"
#include "unit.h"

enum { NONE = -1 };
enum { R = MT_INSN_READ, W = MT_INSN_WRITE, U = MT_INSN_UNKNOWN };

typedef struct {
  const char *what;
  uint8_t code[15];
  size_t len;
  int base, index;
  unsigned scale;
  int64_t disp;
  unsigned access, width;
} form_t;

/* bytes from `as` and `objdump -d` */
static const form_t forms[] = {
    {"mov (%rax),%rbx", {0x48, 0x8b, 0x18}, 3, MT_RAX, NONE, 1, 0, R, 8},
    {"mov %ecx,0x10(%rdx)", {0x89, 0x4a, 0x10}, 3, MT_RDX, NONE, 1, 0x10, W, 4},
    {"movb $1,-0x8(%rbp)", {0xc6, 0x45, 0xf8, 0x01}, 4, MT_RBP, NONE, 1, -8, W, 1},
    {"add %eax,(%rsi,%rdi,8)", {0x01, 0x04, 0xfe}, 3, MT_RSI, MT_RDI, 8, 0, W, 4},
    {"add (%rsi),%eax", {0x03, 0x06}, 2, MT_RSI, NONE, 1, 0, R, 4},
    {"cmp %rax,0x20(%r12)", {0x49, 0x39, 0x44, 0x24, 0x20}, 5, MT_R12, NONE, 1, 0x20, R, 8},
    {"cmpl $3,0x0(%r13)", {0x41, 0x83, 0x7d, 0x00, 0x03}, 5, MT_R13, NONE, 1, 0, R, 4},
    {"movzbl 0x1(%r9),%eax", {0x41, 0x0f, 0xb6, 0x41, 0x01}, 5, MT_R9, NONE, 1, 1, R, 1},
    {"movswq (%r14,%r15,2),%rax", {0x4b, 0x0f, 0xbf, 0x04, 0x7e}, 5, MT_R14, MT_R15, 2, 0, R, 2},
    {"sete (%r8)", {0x41, 0x0f, 0x94, 0x00}, 4, MT_R8, NONE, 1, 0, W, 1},
    {"incq 0x100(%rax)", {0x48, 0xff, 0x80, 0x00, 0x01, 0x00, 0x00}, 7, MT_RAX, NONE, 1, 0x100, W, 8},
    {"push 0x18(%rsp)", {0xff, 0x74, 0x24, 0x18}, 4, MT_RSP, NONE, 1, 0x18, R, 8},
    {"call *0x8(%rax)", {0xff, 0x50, 0x08}, 3, MT_RAX, NONE, 1, 8, R, 8},
    {"stos %rax,(%rdi)", {0x48, 0xab}, 2, MT_RDI, NONE, 1, 0, W, 8},
    {"lods (%rsi),%al", {0xac}, 1, MT_RSI, NONE, 1, 0, R, 1},
    {"repnz scas (%rdi),%al", {0xf2, 0xae}, 2, MT_RDI, NONE, 1, 0, R, 1},
    {"cmpxchg %rcx,(%rdx)", {0x48, 0x0f, 0xb1, 0x0a}, 4, MT_RDX, NONE, 1, 0, W, 8},
    {"xchg %rax,(%rbx)", {0x48, 0x87, 0x03}, 3, MT_RBX, NONE, 1, 0, W, 8},
    {"movups %xmm0,(%rcx)", {0x0f, 0x11, 0x01}, 3, MT_RCX, NONE, 1, 0, W, 16},
    {"movq (%rax),%xmm0 (F3 0F 7E: a load)", {0xf3, 0x0f, 0x7e, 0x00}, 4, MT_RAX, NONE, 1, 0, R, 16},
    {"movq %xmm0,(%rax) (66 0F D6)", {0x66, 0x0f, 0xd6, 0x00}, 4, MT_RAX, NONE, 1, 0, W, 16},
    {"vmovdqu %ymm1,0x40(%rdi)", {0xc5, 0xfe, 0x7f, 0x4f, 0x40}, 5, MT_RDI, NONE, 1, 0x40, W, 32},
    {"vpcmpeqb (%rdi),%ymm0,%ymm1", {0xc5, 0xfd, 0x74, 0x0f}, 4, MT_RDI, NONE, 1, 0, R, 32},
    /* EVEX: a one-byte displacement is scaled by the vector's length */
    {"vpcmpeqb 0x20(%rdi),%ymm16,%k0", {0x62, 0xf3, 0x7d, 0x20, 0x3f, 0x47, 0x01, 0x00}, 8, MT_RDI,
     NONE, 1, 0x20, R, 32},
    {"vmovdqu64 %zmm16,0x80(%rsi)", {0x62, 0xe1, 0xfe, 0x48, 0x7f, 0x46, 0x02}, 7, MT_RSI, NONE, 1,
     0x80, W, 64},
    {"vpcmpeqb 0x7f0(%rdi),%ymm16,%k0 (disp32: not scaled)",
     {0x62, 0xf3, 0x7d, 0x20, 0x3f, 0x87, 0xf0, 0x07, 0x00, 0x00, 0x00}, 11, MT_RDI, NONE, 1, 0x7f0, R,
     32},
};

START_TEST(test_each_form_gives_its_operand) {
  for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    const form_t *f = &forms[i];
    mt_insn_mem_t m[2];
    ck_assert_msg(mt_insn_mem(f->code, f->len, m) == 1, "%s", f->what);
    ck_assert_msg(m[0].base == f->base && m[0].index == f->index && m[0].scale == f->scale &&
                      m[0].disp == f->disp && m[0].access == f->access && m[0].width == f->width,
                  "%s: base %d index %d scale %u disp %lld access %u width %u", f->what, m[0].base,
                  m[0].index, m[0].scale, (long long)m[0].disp, m[0].access, m[0].width);
  }
}
END_TEST

START_TEST(test_movs_and_cmps_have_two_operands_the_source_first) {
  mt_insn_mem_t m[2];
  static const uint8_t movsb[] = {0xf3, 0xa4}, cmpsw[] = {0x66, 0xa7};
  ck_assert_int_eq(mt_insn_mem(movsb, sizeof(movsb), m), 2);
  ck_assert(m[0].base == MT_RSI && m[0].access == R && m[0].width == 1);
  ck_assert(m[1].base == MT_RDI && m[1].access == W && m[1].width == 1);
  ck_assert_int_eq(mt_insn_mem(cmpsw, sizeof(cmpsw), m), 2);
  ck_assert(m[0].base == MT_RSI && m[0].access == R && m[0].width == 2);
  ck_assert(m[1].base == MT_RDI && m[1].access == R && m[1].width == 2);
}
END_TEST

START_TEST(test_forms_that_touch_no_memory_have_no_operand) {
  static const struct {
    const char *what;
    uint8_t code[15];
    size_t len;
  } none[] = {
      {"lea 0x8(%rax),%rbx", {0x48, 0x8d, 0x58, 0x08}, 4},
      {"prefetcht0 (%rax)", {0x0f, 0x18, 0x08}, 3},
      {"mov %rax,%rbx", {0x48, 0x89, 0xc3}, 3},
      {"vzeroupper", {0xc5, 0xf8, 0x77}, 3},
      {"cpuid", {0x0f, 0xa2}, 2},
      {"ret", {0xc3}, 1},
  };
  for (unsigned i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
    mt_insn_mem_t m[2];
    ck_assert_msg(mt_insn_mem(none[i].code, none[i].len, m) == 0, "%s", none[i].what);
  }
}
END_TEST

START_TEST(test_what_it_cannot_place_is_said) {
  mt_insn_mem_t m[2];
  /* a vector index, an absolute 64-bit address, bytes cut short: undecoded */
  static const uint8_t gather[] = {0xc4, 0xe2, 0x6d, 0x90, 0x1c, 0x88};
  static const uint8_t moffs[] = {0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  static const uint8_t cut[] = {0x48, 0x8b, 0x80, 0x00, 0x01};
  ck_assert_int_eq(mt_insn_mem(gather, sizeof(gather), m), -1);
  ck_assert_int_eq(mt_insn_mem(moffs, sizeof(moffs), m), -1);
  ck_assert_int_eq(mt_insn_mem(cut, sizeof(cut), m), -1);
  /* RIP-relative and thread-local operands are decoded but have no address */
  static const uint8_t rip[] = {0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00};
  static const uint8_t fs[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00};
  uint64_t regs[16] = {0};
  uintptr_t a;
  ck_assert_int_eq(mt_insn_mem(rip, sizeof(rip), m), 1);
  ck_assert(m[0].rip && !mt_insn_address(&m[0], regs, &a));
  ck_assert_int_eq(mt_insn_mem(fs, sizeof(fs), m), 1);
  ck_assert(m[0].seg && !mt_insn_address(&m[0], regs, &a));
}
END_TEST

START_TEST(test_the_address_is_base_plus_scaled_index_plus_displacement) {
  static const uint8_t code[] = {0x01, 0x04, 0xfe}; /* add %eax,(%rsi,%rdi,8) */
  mt_insn_mem_t m[2];
  uint64_t regs[16] = {0};
  regs[MT_RSI] = 0x4141414141414141ull;
  regs[MT_RDI] = 2;
  uintptr_t a;
  ck_assert_int_eq(mt_insn_mem(code, sizeof(code), m), 1);
  ck_assert(mt_insn_address(&m[0], regs, &a));
  ck_assert_uint_eq(a, 0x4141414141414151ull);
  ck_assert(!mt_insn_canonical(a));
  ck_assert(mt_insn_canonical(0x00007fffffffffffull) && mt_insn_canonical(0xffff800000000000ull));
  ck_assert(!mt_insn_canonical(0xdeadc0dedeadc0deull) && !mt_insn_canonical(0x0000800000000000ull));
}
END_TEST

/* Any bytes, cut at any length: the decoder reads only the bytes it is
 * given (a fault's instruction may end at an unreadable page) and gives
 * operands within bounds, or -1. */
START_TEST(test_random_bytes_are_decoded_or_refused_within_bounds) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (unsigned round = 0; round < 200000; round++) {
    uint8_t code[15];
    for (unsigned i = 0; i < sizeof(code); i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* prefixes, escapes and ModRM bytes more often than chance */
      static const uint8_t common[] = {0x0f, 0x66, 0xf3, 0xf2, 0x48, 0x4c, 0xc4, 0xc5, 0x62, 0x38,
                                       0x3a, 0x04, 0x44, 0x84, 0x24, 0x25, 0x05, 0x8b, 0x89, 0xa5};
      code[i] = (x >> 40) % 3 ? (uint8_t)(x >> 8) : common[(x >> 16) % sizeof(common)];
    }
    size_t len = (x >> 24) % 16;
    uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes: a read past them is caught */
    memcpy(copy, code, len);
    mt_insn_mem_t m[2];
    int n = mt_insn_mem(copy, len, m);
    ck_assert_int_ge(n, -1);
    ck_assert_int_le(n, 2);
    for (int k = 0; k < n; k++) {
      ck_assert(m[k].base >= -1 && m[k].base < 16 && m[k].index >= -1 && m[k].index < 16);
      ck_assert(m[k].scale == 1 || m[k].scale == 2 || m[k].scale == 4 || m[k].scale == 8);
      ck_assert(m[k].access <= MT_INSN_WRITE && m[k].width <= 64);
    }
    free(copy);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("insn");
  TCase *tc = tcase_create("decode");
  tcase_add_test(tc, test_each_form_gives_its_operand);
  tcase_add_test(tc, test_movs_and_cmps_have_two_operands_the_source_first);
  tcase_add_test(tc, test_forms_that_touch_no_memory_have_no_operand);
  tcase_add_test(tc, test_what_it_cannot_place_is_said);
  tcase_add_test(tc, test_the_address_is_base_plus_scaled_index_plus_displacement);
  tcase_add_test(tc, test_random_bytes_are_decoded_or_refused_within_bounds);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
