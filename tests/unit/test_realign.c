/* test_realign.c - the decoder of realign.c (an aligned SSE/AVX access to a
 * guarded block memtype under-aligned, carried out): the memory operand of
 * each instruction form, as the assembler encodes it, and the forms it must
 * refuse (no memory operand, RIP-relative, a segment prefix, not SSE). */
#include <stdint.h>

#include "insn.h"
#include "memguard.h"
#include "unit.h"

enum { NONE = -1 };

typedef struct {
  const char *what;
  uint8_t code[15];
  size_t len;
  int base, index;
  unsigned scale;
  int64_t disp;
  unsigned width;
} form_t;

/* bytes from `as` and `objdump -d` */
static const form_t forms[] = {
    {"movaps %xmm0,0x60(%rbx)", {0x0f, 0x29, 0x43, 0x60}, 4, MT_RBX, NONE, 1, 0x60, 16},
    {"movdqa (%rax,%rcx,4),%xmm1", {0x66, 0x0f, 0x6f, 0x0c, 0x88}, 5, MT_RAX, MT_RCX, 4, 0, 16},
    {"paddd 0x10(%r12),%xmm2", {0x66, 0x41, 0x0f, 0xfe, 0x54, 0x24, 0x10}, 7, MT_R12, NONE, 1, 0x10, 16},
    {"movaps -0x8(%r13),%xmm3", {0x41, 0x0f, 0x28, 0x5d, 0xf8}, 5, MT_R13, NONE, 1, -8, 16},
    {"movdqa 0x10(,%r10,2),%xmm4", {0x66, 0x42, 0x0f, 0x6f, 0x24, 0x55, 0x10, 0, 0, 0}, 10, NONE,
     MT_R10, 2, 0x10, 16},
    {"vmovaps (%r9),%xmm8", {0xc4, 0x41, 0x78, 0x28, 0x01}, 5, MT_R9, NONE, 1, 0, 16},
    {"vmovdqa (%rdi,%r11,1),%xmm5", {0xc4, 0xa1, 0x79, 0x6f, 0x2c, 0x1f}, 6, MT_RDI, MT_R11, 1, 0, 16},
    {"vmovaps %ymm1,0x20(%rsi)", {0xc5, 0xfc, 0x29, 0x4e, 0x20}, 5, MT_RSI, NONE, 1, 0x20, 32},
    {"pshufb 0x100(%rdx),%xmm6", {0x66, 0x0f, 0x38, 0x00, 0xb2, 0x00, 0x01, 0, 0}, 9, MT_RDX, NONE, 1,
     0x100, 16},
};

START_TEST(test_each_form_gives_its_operand) {
  for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    const form_t *f = &forms[i];
    int base = 99, index = 99;
    unsigned scale = 0, width = 0;
    int64_t disp = 12345;
    ck_assert_msg(mt_realign_decode(f->code, f->len, &base, &index, &scale, &disp, &width), "%s",
                  f->what);
    ck_assert_msg(base == f->base && index == f->index && scale == f->scale && disp == f->disp &&
                      width == f->width,
                  "%s: base %d index %d scale %u disp %lld width %u", f->what, base, index, scale,
                  (long long)disp, width);
  }
}
END_TEST

START_TEST(test_forms_without_a_heap_operand_are_refused) {
  static const struct {
    const char *what;
    uint8_t code[15];
    size_t len;
  } refused[] = {
      {"movaps 0x10(%rip),%xmm0 (a module's data)", {0x0f, 0x28, 0x05, 0x10, 0, 0, 0}, 7},
      {"movaps %fs:0x10,%xmm0 (thread-local)", {0x64, 0x0f, 0x28, 0x04, 0x25, 0x10, 0, 0, 0}, 9},
      {"movaps %xmm1,%xmm2 (no memory)", {0x0f, 0x28, 0xd1}, 3},
      {"vzeroupper", {0xc5, 0xf8, 0x77}, 3},
      {"mov (%rax),%rbx (not SSE)", {0x48, 0x8b, 0x18}, 3},
      {"cpuid (0F, no ModRM)", {0x0f, 0xa2}, 2},
      {"movaps 0x60(%rbx) cut short", {0x0f, 0x29, 0x43}, 3},
  };
  for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    int base, index;
    unsigned scale, width;
    int64_t disp;
    ck_assert_msg(!mt_realign_decode(refused[i].code, refused[i].len, &base, &index, &scale,
                                     &disp, &width),
                  "%s", refused[i].what);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("realign");
  TCase *tc = tcase_create("decode");
  tcase_add_test(tc, test_each_form_gives_its_operand);
  tcase_add_test(tc, test_forms_without_a_heap_operand_are_refused);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
