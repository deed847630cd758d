/* insn.c - the memory operands of one x86-64 instruction (insn.h).
 *
 * Legacy prefixes, REX, the one-byte map, 0F, 0F 38, 0F 3A, VEX (C4, C5) and
 * EVEX (62): which opcodes have a ModRM byte, then ModRM, SIB and the
 * displacement. Whether an operand is read or written is told for the forms
 * compilers and libc's string functions emit (mov, the ALU forms, movzx,
 * setcc, SSE/AVX loads and stores, the string instructions); the rest are
 * "unknown". x87, system instructions and the vector gathers and scatters
 * (whose index is a vector register) are left undecoded or unknown. */
#include <string.h>

#include "insn.h"

/* One-byte opcodes with a ModRM byte (0F, C4, C5 and 62 are escapes). */
static bool modrm_map0(uint8_t op) {
  if (op < 0x40)
    return (op & 7) < 4; /* the ALU rows: r/m forms 0-3, immediates and prefixes 4-7 */
  switch (op) {
  case 0x63: case 0x69: case 0x6b: case 0xc0: case 0xc1: case 0xc6: case 0xc7:
  case 0xf6: case 0xf7: case 0xfe: case 0xff:
    return true;
  default:
    return (op >= 0x80 && op <= 0x8f) || (op >= 0xd0 && op <= 0xd3) || (op >= 0xd8 && op <= 0xdf);
  }
}

/* 0F opcodes without one: system calls, rdtsc, jcc, push/pop fs/gs, cpuid, bswap... */
static bool modrm_map1(uint8_t op) {
  if ((op >= 0x30 && op <= 0x37) || (op >= 0x80 && op <= 0x8f) || (op >= 0xc8 && op <= 0xcf))
    return false;
  switch (op) {
  case 0x04: case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0a: case 0x0b:
  case 0x0c: case 0x0e: case 0x77: case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
    return false;
  default:
    return true;
  }
}

/* Legacy 0F opcodes of SSE with an xmm memory operand. */
static bool sse_map1(uint8_t op) {
  return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
         (op >= 0xc2 && op <= 0xc6) || op >= 0xd0;
}

/* Vector stores (legacy SSE, VEX, EVEX) by map; pp is the implied prefix
 * (0 none, 1 66, 2 F3, 3 F2). */
static bool vec_store(unsigned map, uint8_t op, unsigned pp, bool evex) {
  if (map == 1)
    return op == 0x11 || op == 0x13 || op == 0x17 || op == 0x29 || op == 0x2b || op == 0x7f ||
           op == 0xe7 || op == 0xd6 || (op == 0x7e && pp != 2);
  if (map == 2)
    return op == 0x2e || op == 0x2f || op == 0x8e || (evex && (op == 0x8a || op == 0x8b || op == 0x63)) ||
           (evex && pp == 2 && ((op >= 0x10 && op <= 0x15) || (op >= 0x20 && op <= 0x25) ||
                                (op >= 0x30 && op <= 0x35)));
  if (map == 3)
    return (op >= 0x14 && op <= 0x17) || op == 0x19 || op == 0x1b || op == 0x1d || op == 0x39 ||
           op == 0x3b;
  return false;
}

/* The general-purpose forms: access and width (reg is ModRM's reg field). */
static void gp_access(unsigned map, uint8_t op, unsigned reg, unsigned full, mt_insn_mem_t *m) {
  unsigned acc = MT_INSN_READ, width = full;
  if (map == 0) {
    if (op < 0x40) { /* add/or/adc/sbb/and/sub/xor/cmp: r/m is the destination in forms 0, 1 */
      width = op & 1 ? full : 1;
      acc = (op & 2) || (op >> 3) == 7 ? MT_INSN_READ : MT_INSN_WRITE;
    } else {
      switch (op) {
      case 0x63: width = 4; break;
      case 0x80: width = 1; /* fall through */
      case 0x81: case 0x83: acc = reg == 7 ? MT_INSN_READ : MT_INSN_WRITE; break;
      case 0x84: case 0x8a: width = 1; break;
      case 0x86: case 0x88: case 0xc0: case 0xc6: case 0xd0: case 0xd2: case 0xfe:
        width = 1, acc = MT_INSN_WRITE; break;
      case 0x87: case 0x89: case 0xc1: case 0xc7: case 0xd1: case 0xd3: acc = MT_INSN_WRITE; break;
      case 0x8c: width = 2, acc = MT_INSN_WRITE; break;
      case 0x8e: width = 2; break;
      case 0x8f: width = 8, acc = MT_INSN_WRITE; break;
      case 0xf6: width = 1; /* fall through */
      case 0xf7: acc = reg == 2 || reg == 3 ? MT_INSN_WRITE : MT_INSN_READ; break;
      case 0xff:
        if (reg >= 2)
          width = 8; /* call, jmp, push: 64-bit */
        else
          acc = MT_INSN_WRITE;
        break;
      case 0x69: case 0x6b: case 0x85: case 0x8b: break;
      default: acc = MT_INSN_UNKNOWN, width = 0; /* x87 */
      }
    }
  } else if (map == 1) {
    if (op >= 0x90 && op <= 0x9f)
      width = 1, acc = MT_INSN_WRITE; /* setcc */
    else if (op == 0xb6 || op == 0xbe)
      width = 1;
    else if (op == 0xb7 || op == 0xbf)
      width = 2;
    else if (op == 0xb0 || op == 0xc0)
      width = 1, acc = MT_INSN_WRITE;
    else if (op == 0xab || op == 0xb3 || op == 0xbb || op == 0xa4 || op == 0xa5 || op == 0xac ||
             op == 0xad || op == 0xb1 || op == 0xc1 || op == 0xc3 || op == 0xc7 || (op == 0xba && reg > 4))
      acc = MT_INSN_WRITE;
    else if (!((op >= 0x40 && op <= 0x4f) || op == 0xa3 || op == 0xaf || op == 0xba || op == 0xb8 ||
               op == 0xbc || op == 0xbd))
      acc = MT_INSN_UNKNOWN, width = 0;
  } else {
    acc = MT_INSN_UNKNOWN, width = 0;
  }
  m->access = (uint8_t)acc;
  m->width = width;
}

/* ModRM, SIB and displacement at p: the memory operand, or *isreg for a
 * register form. NULL when the bytes end first. */
static const uint8_t *modrm_operand(const uint8_t *p, const uint8_t *end, unsigned rex,
                                    mt_insn_mem_t *m, unsigned *reg, bool *isreg, bool *disp8) {
  if (p >= end)
    return NULL;
  uint8_t modrm = *p++;
  unsigned mod = modrm >> 6, rm = modrm & 7;
  *reg = (modrm >> 3) & 7;
  *isreg = mod == 3;
  *disp8 = mod == 1;
  if (mod == 3)
    return p;
  m->base = m->index = -1;
  m->scale = 1;
  m->disp = 0;
  bool disp32 = mod == 2;
  if (rm == 4) {
    if (p >= end)
      return NULL;
    uint8_t sib = *p++;
    unsigned base = sib & 7, index = ((sib >> 3) & 7) | ((rex & 2) << 2);
    m->scale = 1u << (sib >> 6);
    if (index != 4)
      m->index = (int)index;
    if (base == 5 && mod == 0)
      disp32 = true; /* no base */
    else
      m->base = (int)(base | ((rex & 1) << 3));
  } else if (rm == 5 && mod == 0) {
    m->rip = true;
    disp32 = true;
  } else {
    m->base = (int)(rm | ((rex & 1) << 3));
  }
  if (mod == 1) {
    if (p >= end)
      return NULL;
    m->disp = (int8_t)*p++;
  } else if (disp32) {
    if (p + 4 > end)
      return NULL;
    int32_t d;
    memcpy(&d, p, 4);
    m->disp = d;
    p += 4;
  }
  return p;
}

/* movs, cmps, stos, lods, scas: rsi and rdi, implied. */
static int string_op(uint8_t op, unsigned full, mt_insn_mem_t op2[2]) {
  unsigned width = op & 1 ? full : 1;
  int n = 0;
  if (op == 0xa4 || op == 0xa5 || op == 0xa6 || op == 0xa7 || op == 0xac || op == 0xad)
    op2[n].base = MT_RSI, op2[n].access = MT_INSN_READ, n++;
  if (op != 0xac && op != 0xad)
    op2[n].base = MT_RDI, op2[n].access = op <= 0xa5 || op == 0xaa || op == 0xab ? MT_INSN_WRITE : MT_INSN_READ, n++;
  for (int i = 0; i < n; i++)
    op2[i].index = -1, op2[i].scale = 1, op2[i].disp = 0, op2[i].width = width;
  return n;
}

int mt_insn_mem(const uint8_t *code, size_t len, mt_insn_mem_t op[2]) {
  const uint8_t *p = code, *end = code + (len < 15 ? len : 15);
  mt_insn_mem_t m;
  memset(&m, 0, sizeof(m));
  memset(op, 0, 2 * sizeof(*op));
  bool opsz = false;
  unsigned rex = 0, pp = 0, map = 0, full;
  for (; p < end; p++) {
    uint8_t b = *p;
    if (b == 0x66)
      opsz = true, pp = 1;
    else if (b == 0xf3)
      pp = 2;
    else if (b == 0xf2)
      pp = 3;
    else if (b == 0x64 || b == 0x65)
      m.seg = true;
    else if (b != 0xf0 && b != 0x2e && b != 0x36 && b != 0x3e && b != 0x26 && b != 0x67)
      break;
  }
  if (p < end && (*p & 0xf0) == 0x40)
    rex = *p++;
  if (p >= end)
    return -1;
  uint8_t first = *p++;
  bool vl256 = false;
  unsigned evex_n = 0;
  if (first == 0xc5 || first == 0xc4 || first == 0x62) {
    unsigned need = first == 0xc5 ? 2 : first == 0xc4 ? 3 : 4;
    if (p + need > end)
      return -1;
    if (first == 0xc5) { /* R vvvv L pp, map 0F */
      rex = p[0] & 0x80 ? 0 : 4;
      vl256 = (p[0] & 4) != 0;
      pp = p[0] & 3;
      map = 1;
      p += 1;
      m.enc = MT_INSN_VEX;
    } else if (first == 0xc4) { /* R X B mmmmm, W vvvv L pp */
      rex = (p[0] & 0x80 ? 0 : 4) | (p[0] & 0x40 ? 0 : 2) | (p[0] & 0x20 ? 0 : 1) | (p[1] & 0x80 ? 8 : 0);
      map = p[0] & 0x1f;
      vl256 = (p[1] & 4) != 0;
      pp = p[1] & 3;
      p += 2;
      m.enc = MT_INSN_VEX;
    } else { /* R X B R' 0 mmm, W vvvv 1 pp, z L'L b V' aaa */
      rex = (p[0] & 0x80 ? 0 : 4) | (p[0] & 0x40 ? 0 : 2) | (p[0] & 0x20 ? 0 : 1) | (p[1] & 0x80 ? 8 : 0);
      map = p[0] & 7;
      pp = p[1] & 3;
      unsigned ll = (p[2] >> 5) & 3;
      /* compressed disp8: the vector's length for full-vector forms, the
       * element's for a broadcast */
      evex_n = p[2] & 0x10 ? (p[1] & 0x80 ? 8 : 4) : 16u << ll;
      m.width = ll < 3 ? 16u << ll : 0;
      p += 3;
      m.enc = MT_INSN_EVEX;
    }
    if (map < 1 || map > 3 || p >= end)
      return -1;
    if (m.enc == MT_INSN_VEX && map == 1 && *p == 0x77)
      return 0; /* vzeroupper, vzeroall */
  } else if (first == 0x0f) {
    if (p >= end)
      return -1;
    if (*p == 0x38 || *p == 0x3a)
      map = *p++ == 0x38 ? 2 : 3;
    else
      map = 1;
  } else {
    --p;
  }
  if (p >= end)
    return -1;
  uint8_t opc = *p++;
  full = rex & 8 ? 8 : opsz ? 2 : 4;
  if (map == 0 && !modrm_map0(opc)) {
    if (opc >= 0xa4 && opc <= 0xaf && opc != 0xa8 && opc != 0xa9)
      return string_op(opc, full, op);
    return opc >= 0xa0 && opc <= 0xa3 ? -1 : 0; /* moffs: an absolute address, not decoded */
  }
  if (map == 1 && m.enc == MT_INSN_GP && !modrm_map1(opc))
    return 0;
  if ((map == 2 && ((opc >= 0x90 && opc <= 0x93) || (m.enc == MT_INSN_EVEX && opc >= 0xa0 && opc <= 0xa3))))
    return -1; /* gather, scatter: a vector index */
  unsigned reg;
  bool isreg, disp8;
  if (modrm_operand(p, end, rex, &m, &reg, &isreg, &disp8) == NULL)
    return -1;
  if (isreg)
    return 0;
  if (map == 0 && opc == 0x8d)
    return 0; /* lea: an address, no access */
  if (map == 1 && m.enc == MT_INSN_GP && ((opc >= 0x18 && opc <= 0x1f) || opc == 0x0d))
    return 0; /* prefetch and hint nops touch nothing */
  if (m.enc == MT_INSN_GP && (map >= 2 || (map == 1 && sse_map1(opc))))
    m.enc = MT_INSN_SSE;
  if (m.enc == MT_INSN_GP) {
    gp_access(map, opc, reg, full, &m);
  } else {
    m.access = vec_store(map, opc, pp, m.enc == MT_INSN_EVEX) ? MT_INSN_WRITE : MT_INSN_READ;
    if (m.enc != MT_INSN_EVEX)
      m.width = vl256 ? 32 : 16;
    if (evex_n && disp8)
      m.disp *= (int64_t)evex_n; /* EVEX scales only a one-byte displacement */
  }
  op[0] = m;
  return 1;
}

bool mt_insn_address(const mt_insn_mem_t *op, const uint64_t regs[16], uintptr_t *addr) {
  if (op->rip || op->seg)
    return false;
  uintptr_t a = (uintptr_t)op->disp;
  if (op->base >= 0)
    a += (uintptr_t)regs[op->base];
  if (op->index >= 0)
    a += (uintptr_t)regs[op->index] * op->scale;
  *addr = a;
  return true;
}
