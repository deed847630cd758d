/* insn.h - the memory operands of one x86-64 instruction, decoded from its
 * bytes: enough to say where a faulting instruction pointed when the kernel
 * does not (a general protection fault, raised by a non-canonical address
 * such as text or memtype's trash read as a pointer, gives none), and to
 * carry out an aligned SSE/AVX access (realign.c). Pure: no state, no
 * system call; safe in a signal handler. */
#ifndef MT_INSN_H
#define MT_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { MT_INSN_GP, MT_INSN_SSE, MT_INSN_VEX, MT_INSN_EVEX }; /* the encoding */
/* x86-64's register numbers, as ModRM, SIB and REX give them */
enum { MT_RAX, MT_RCX, MT_RDX, MT_RBX, MT_RSP, MT_RBP, MT_RSI, MT_RDI,
       MT_R8,  MT_R9,  MT_R10, MT_R11, MT_R12, MT_R13, MT_R14, MT_R15 };
enum { MT_INSN_UNKNOWN = 0, MT_INSN_READ = 1, MT_INSN_WRITE = 2 };

typedef struct {
  int base, index; /* MT_RAX ... MT_R15, -1 when none */
  unsigned scale;
  int64_t disp;    /* EVEX's one-byte displacement scaled as its full-vector forms are */
  unsigned width;  /* bytes accessed when known, else 0 (SSE 16; VEX 16 or 32) */
  uint8_t access;  /* MT_INSN_READ, MT_INSN_WRITE or MT_INSN_UNKNOWN */
  uint8_t enc;     /* MT_INSN_GP, _SSE (legacy 0F with an xmm operand, 0F 38, 0F 3A), _VEX, _EVEX */
  bool rip;        /* RIP-relative: disp is from the next instruction */
  bool seg;        /* an fs or gs prefix: thread-local */
} mt_insn_mem_t;

/* The memory operands of the instruction at code (len bytes readable, at
 * most 15 used): 0 when it has none (lea, a register form), 1, or 2 for
 * movs and cmps (the source first); -1 when it cannot be decoded. */
int mt_insn_mem(const uint8_t *code, size_t len, mt_insn_mem_t op[2]);

/* The operand's address given the 16 general registers (x86-64 order);
 * false for a RIP-relative or thread-local one. */
bool mt_insn_address(const mt_insn_mem_t *op, const uint64_t regs[16], uintptr_t *addr);

static inline bool mt_insn_canonical(uintptr_t a) {
  return (uintptr_t)((intptr_t)(a << 16) >> 16) == a;
}

#endif
