/* inflate.c - see inflate.h. Bits are read least significant first from a
 * 64-bit buffer; a Huffman code is decoded through a table of its first
 * FAST_BITS bits (one load for nearly every symbol) and, for the longer
 * codes, by the canonical walk over the counts of each length. Past the
 * input's end the buffer is fed zero bytes, at most a few: a stream that
 * uses one of them is cut short, and fails. The tables live in one mapping
 * made per call (a report's stack may be a small signal stack). */
#include "inflate.h"

#include <stdint.h>
#include <string.h>

#include "mt_types.h"
#include "os.h"

#define FAST_BITS 10
#define MAX_BITS 15
#define MAX_LIT 288  /* literal/length symbols (286 used, 2 reserved) */
#define MAX_DIST 32  /* distance symbols (30 used, 2 reserved) */

typedef struct huff_s {
  uint16_t fast[1u << FAST_BITS]; /* symbol << 4 | code length; 0: a longer code */
  uint16_t count[MAX_BITS + 1];   /* codes of each length */
  uint16_t sym[MAX_LIT];          /* the symbols in canonical order */
} huff_t;

typedef struct state_s {
  const unsigned char *p, *end;
  uint64_t bits;   /* the next n bits, first in the low bit */
  unsigned n;
  unsigned over;   /* zero bytes fed past the end */
  bool bad;
  unsigned char *out;
  size_t out_len, pos;
  huff_t lit, dist, clen;
  huff_t fixed_lit, fixed_dist; /* the fixed codes, built at the first fixed block */
  bool fixed_built;
} state_t;

/* ---- bits -------------------------------------------------------------------- */

static inline void need(state_t *s, unsigned k) {
  while (s->n < k) {
    uint64_t byte = 0;
    if (s->p < s->end)
      byte = *s->p++;
    else if (++s->over > 8)
      s->bad = true; /* far past the end: nothing left to decode */
    s->bits |= byte << s->n;
    s->n += 8;
  }
}

static inline uint32_t take(state_t *s, unsigned k) { /* k <= 32 */
  need(s, k);
  uint32_t v = (uint32_t)(s->bits & ((1ull << k) - 1));
  s->bits >>= k;
  s->n -= k;
  return v;
}

/* Were any of the zero bytes fed past the end used? (Those still in the
 * buffer were not.) */
static bool cut_short(const state_t *s) { return s->over * 8 > s->n; }

/* ---- Huffman codes ------------------------------------------------------------ */

static unsigned reverse(unsigned code, unsigned len) {
  unsigned r = 0;
  for (unsigned i = 0; i < len; i++, code >>= 1)
    r = r << 1 | (code & 1);
  return r;
}

/* The code of n symbols of these lengths (0: unused). An over-subscribed
 * set is refused; an incomplete one is taken (a lone distance code is one),
 * its missing codes failing when met. */
static bool build(huff_t *h, const uint8_t *len, unsigned n) {
  uint16_t offs[MAX_BITS + 2];
  memset(h->count, 0, sizeof(h->count));
  for (unsigned i = 0; i < n; i++)
    h->count[len[i]]++;
  h->count[0] = 0;
  int left = 1;
  for (unsigned l = 1; l <= MAX_BITS; l++) {
    left = 2 * left - h->count[l];
    if (left < 0)
      return false;
  }
  offs[1] = 0;
  for (unsigned l = 1; l <= MAX_BITS; l++)
    offs[l + 1] = (uint16_t)(offs[l] + h->count[l]);
  for (unsigned i = 0; i < n; i++)
    if (len[i])
      h->sym[offs[len[i]]++] = (uint16_t)i;
  memset(h->fast, 0, sizeof(h->fast));
  unsigned code = 0, k = 0;
  for (unsigned l = 1; l <= MAX_BITS; l++) {
    for (unsigned j = 0; j < h->count[l]; j++, code++) {
      unsigned s = h->sym[k++];
      if (l > FAST_BITS)
        continue;
      for (unsigned r = reverse(code, l); r < (1u << FAST_BITS); r += 1u << l)
        h->fast[r] = (uint16_t)(s << 4 | l);
    }
    code <<= 1;
  }
  return true;
}

/* The next symbol of code h; -1 for a code it does not have. */
static inline int decode(state_t *s, const huff_t *h) {
  need(s, MAX_BITS);
  unsigned e = h->fast[s->bits & ((1u << FAST_BITS) - 1)];
  if (MT_LIKELY(e != 0)) {
    s->bits >>= e & 15;
    s->n -= e & 15;
    return (int)(e >> 4);
  }
  /* the canonical walk: codes of each length are consecutive numbers */
  int code = 0, first = 0, index = 0;
  uint64_t bits = s->bits;
  for (unsigned l = 1; l <= MAX_BITS; l++) {
    code |= (int)(bits & 1);
    bits >>= 1;
    int count = h->count[l];
    if (code - count < first) {
      s->bits >>= l;
      s->n -= l;
      return h->sym[index + (code - first)];
    }
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return -1;
}

/* ---- blocks -------------------------------------------------------------------- */

static bool stored(state_t *s) {
  take(s, s->n & 7); /* to a byte boundary */
  uint32_t len = take(s, 16), nlen = take(s, 16);
  if ((len ^ 0xffffu) != nlen || s->bad || cut_short(s) || len > s->out_len - s->pos)
    return false;
  while (len && s->n >= 8) { /* bytes already in the buffer first */
    s->out[s->pos++] = (unsigned char)take(s, 8);
    len--;
  }
  if (cut_short(s) || len > (size_t)(s->end - s->p))
    return false;
  memcpy(s->out + s->pos, s->p, len);
  s->pos += len;
  s->p += len;
  return true;
}

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* The symbols of a block, to its end-of-block code, in codes lit and dist. */
static bool codes(state_t *s, const huff_t *lit, const huff_t *dists) {
  unsigned char *out = s->out;
  for (;;) {
    int sym = decode(s, lit);
    if (sym < 0 || s->bad)
      return false;
    if (sym < 256) {
      if (s->pos == s->out_len)
        return false;
      out[s->pos++] = (unsigned char)sym;
      continue;
    }
    if (sym == 256)
      return !cut_short(s);
    sym -= 257;
    if (sym >= 29)
      return false;
    size_t len = len_base[sym] + take(s, len_extra[sym]);
    int d = decode(s, dists);
    if (d < 0 || d >= 30)
      return false;
    size_t dist = dist_base[d] + take(s, dist_extra[d]);
    if (s->bad || dist > s->pos || len > s->out_len - s->pos)
      return false;
    const unsigned char *from = out + s->pos - dist;
    unsigned char *to = out + s->pos;
    s->pos += len;
    if (dist >= len) {
      memcpy(to, from, len);
    } else {
      for (size_t i = 0; i < len; i++) /* overlapping: a run */
        to[i] = from[i];
    }
  }
}

static bool fixed(state_t *s) {
  if (!s->fixed_built) { /* once a stream: a stream of empty fixed blocks costs no more */
    uint8_t len[MAX_LIT];
    unsigned i = 0;
    for (; i < 144; i++)
      len[i] = 8;
    for (; i < 256; i++)
      len[i] = 9;
    for (; i < 280; i++)
      len[i] = 7;
    for (; i < MAX_LIT; i++)
      len[i] = 8;
    build(&s->fixed_lit, len, MAX_LIT);
    memset(len, 5, MAX_DIST);
    build(&s->fixed_dist, len, MAX_DIST);
    s->fixed_built = true;
  }
  return codes(s, &s->fixed_lit, &s->fixed_dist);
}

static bool dynamic(state_t *s) {
  static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
  unsigned nlit = take(s, 5) + 257, ndist = take(s, 5) + 1, nclen = take(s, 4) + 4;
  if (nlit > 286 || ndist > 30)
    return false;
  uint8_t len[MAX_LIT + MAX_DIST];
  memset(len, 0, 19);
  for (unsigned i = 0; i < nclen; i++)
    len[order[i]] = (uint8_t)take(s, 3);
  if (s->bad || !build(&s->clen, len, 19))
    return false;
  for (unsigned i = 0; i < nlit + ndist;) {
    int sym = decode(s, &s->clen);
    if (sym < 0 || s->bad)
      return false;
    if (sym < 16) {
      len[i++] = (uint8_t)sym;
      continue;
    }
    unsigned rep;
    uint8_t v = 0;
    if (sym == 16) {
      if (i == 0)
        return false;
      v = len[i - 1];
      rep = 3 + take(s, 2);
    } else {
      rep = sym == 17 ? 3 + take(s, 3) : 11 + take(s, 7);
    }
    if (rep > nlit + ndist - i)
      return false;
    memset(len + i, v, rep);
    i += rep;
  }
  if (len[256] == 0) /* no end-of-block code */
    return false;
  return build(&s->lit, len, nlit) && build(&s->dist, len + nlit, ndist) &&
         codes(s, &s->lit, &s->dist);
}

/* ---- the stream ------------------------------------------------------------------ */

static uint32_t adler32(const unsigned char *p, size_t n) {
  uint32_t a = 1, b = 0;
  while (n) {
    size_t k = n < 5552 ? n : 5552; /* no overflow before the modulo */
    n -= k;
    while (k--) {
      a += *p++;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return b << 16 | a;
}

bool mt_inflate_zlib(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len) {
  /* the header: deflate, a window of at most 32 KiB, no preset dictionary */
  if (in_len < 6 || (in[0] & 15) != 8 || (in[0] >> 4) > 7 || (in[0] << 8 | in[1]) % 31 != 0 ||
      (in[1] & 0x20))
    return false;
  state_t *s = mt_os_map(sizeof(state_t));
  if (s == NULL)
    return false;
  memset(s, 0, sizeof(*s));
  s->p = in + 2;
  s->end = in + in_len;
  s->out = out;
  s->out_len = out_len;
  bool ok = true, last = false;
  while (ok && !last) {
    last = take(s, 1) != 0;
    switch (take(s, 2)) {
    case 0: ok = stored(s); break;
    case 1: ok = fixed(s); break;
    case 2: ok = dynamic(s); break;
    default: ok = false; break;
    }
    ok = ok && !s->bad && !cut_short(s);
  }
  if (ok) { /* the Adler-32 of the output, big-endian, from the next byte */
    take(s, s->n & 7);
    uint32_t want = 0;
    for (unsigned i = 0; i < 4; i++)
      want = want << 8 | take(s, 8);
    ok = !s->bad && !cut_short(s) && s->pos == out_len && want == adler32(out, out_len);
  }
  mt_os_unmap(s, sizeof(state_t));
  return ok;
}
