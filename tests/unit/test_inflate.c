/* test_inflate.c - memtype's DEFLATE decoder against zlib's encoder (the
 * test's only use of zlib): every level and strategy, so stored, fixed and
 * dynamic blocks, long and overlapping matches, on text, random bytes and
 * runs; then streams cut short, damaged, or given the wrong size, which
 * must fail without touching memory outside the buffers. */
#include <stdint.h>
#include <zlib.h>

#include "inflate.h"
#include "unit.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

/* Input of a given kind: 0 text-like (few symbols, repeats), 1 random
 * bytes, 2 long runs, 3 a mix of all three. */
static void fill(unsigned char *p, size_t n, unsigned kind) {
  static const char words[][8] = {"malloc", "free", "type", "block", " ", "\n", "0x", "line"};
  for (size_t i = 0; i < n;) {
    unsigned k = kind == 3 ? next_rand() % 3 : kind;
    if (k == 0) {
      const char *w = words[next_rand() % 8];
      for (size_t j = 0; w[j] && i < n; j++)
        p[i++] = (unsigned char)w[j];
    } else if (k == 1) {
      p[i++] = (unsigned char)next_rand();
    } else {
      unsigned char c = (unsigned char)next_rand();
      for (size_t run = 1 + next_rand() % 600; run-- && i < n;)
        p[i++] = c;
    }
  }
}

static size_t deflate_with(const unsigned char *in, size_t n, unsigned char *out, size_t cap,
                           int level, int strategy) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  ck_assert_int_eq(deflateInit2(&z, level, Z_DEFLATED, 15, 8, strategy), Z_OK);
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  size_t len = z.total_out;
  deflateEnd(&z);
  return len;
}

START_TEST(every_level_and_strategy_round_trips) {
  static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
  static const size_t sizes[] = {0, 1, 2, 100, 4096, 65535, 65536, 300000};
  size_t cap = 400000;
  unsigned char *in = malloc(cap), *z = malloc(cap * 2), *out = malloc(cap);
  for (unsigned kind = 0; kind < 4; kind++)
    for (unsigned si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
      for (int level = 0; level <= 9; level += (kind == 1 ? 3 : 1))
        for (unsigned st = 0; st < sizeof(strategies) / sizeof(strategies[0]); st++) {
          size_t n = sizes[si];
          fill(in, n, kind);
          size_t zl = deflate_with(in, n, z, cap * 2, level, strategies[st]);
          memset(out, 0x5a, cap);
          ck_assert_msg(mt_inflate_zlib(z, zl, out, n),
                        "kind %u, %zu bytes, level %d, strategy %d", kind, n, level,
                        strategies[st]);
          ck_assert(memcmp(out, in, n) == 0);
          ck_assert_uint_eq(out[n], 0x5a); /* nothing written past the end */
        }
  free(in);
  free(z);
  free(out);
}
END_TEST

START_TEST(a_stream_cut_short_fails_at_every_length) {
  size_t n = 20000;
  unsigned char *in = malloc(n), *z = malloc(2 * n), *out = malloc(n);
  for (int level = 0; level <= 9; level += 9) {
    fill(in, n, 3);
    size_t zl = deflate_with(in, n, z, 2 * n, level, Z_DEFAULT_STRATEGY);
    for (size_t cut = 0; cut < zl; cut++)
      ck_assert_msg(!mt_inflate_zlib(z, cut, out, n), "level %d cut at %zu of %zu", level, cut,
                    zl);
    ck_assert(mt_inflate_zlib(z, zl, out, n));
  }
  free(in);
  free(z);
  free(out);
}
END_TEST

START_TEST(the_wrong_size_fails) {
  size_t n = 5000;
  unsigned char in[5000], z[10000], out[5001];
  fill(in, n, 0);
  size_t zl = deflate_with(in, n, z, sizeof(z), 6, Z_DEFAULT_STRATEGY);
  ck_assert(!mt_inflate_zlib(z, zl, out, n - 1)); /* more bytes than the buffer holds */
  ck_assert(!mt_inflate_zlib(z, zl, out, n + 1)); /* fewer than the size said */
  ck_assert(mt_inflate_zlib(z, zl, out, n));
}
END_TEST

/* Every byte of a stream changed in turn (and random damage): either a
 * failure or, if a change happens to leave a valid stream, exactly the
 * original bytes (Adler-32 and the size are checked). Under ASan in the
 * sanitizer build: no read or write out of bounds. */
START_TEST(damaged_streams_fail_or_decode_right) {
  size_t n = 3000;
  unsigned char in[3000], z[8000], bad[8000], out[3000];
  for (int level = 1; level <= 9; level += 4) {
    fill(in, n, 3);
    size_t zl = deflate_with(in, n, z, sizeof(z), level, level == 5 ? Z_FIXED : Z_DEFAULT_STRATEGY);
    for (size_t i = 0; i < zl; i++)
      for (unsigned flip = 1; flip < 256; flip <<= 1) {
        memcpy(bad, z, zl);
        bad[i] ^= (unsigned char)flip;
        if (mt_inflate_zlib(bad, zl, out, n))
          ck_assert(memcmp(out, in, n) == 0);
      }
    for (unsigned t = 0; t < 20000; t++) {
      memcpy(bad, z, zl);
      for (unsigned k = 1 + next_rand() % 4; k--;)
        bad[2 + next_rand() % (zl - 2)] = (unsigned char)next_rand();
      if (mt_inflate_zlib(bad, zl, out, n))
        ck_assert(memcmp(out, in, n) == 0);
    }
  }
}
END_TEST

START_TEST(headers_it_cannot_read_are_refused) {
  unsigned char out[16], z[64];
  size_t zl = deflate_with((const unsigned char *)"hello", 5, z, sizeof(z), 6, Z_DEFAULT_STRATEGY);
  ck_assert(mt_inflate_zlib(z, zl, out, 5));
  unsigned char bad[64];
  memcpy(bad, z, zl);
  bad[0] = 0x79; /* a method other than deflate */
  ck_assert(!mt_inflate_zlib(bad, zl, out, 5));
  memcpy(bad, z, zl);
  bad[1] ^= 1; /* the header's check fails */
  ck_assert(!mt_inflate_zlib(bad, zl, out, 5));
  memcpy(bad, z, zl);
  bad[1] = (unsigned char)(bad[1] | 0x20); /* a preset dictionary, with a valid check */
  bad[1] = (unsigned char)(bad[1] - ((bad[0] << 8 | bad[1]) % 31));
  ck_assert(!mt_inflate_zlib(bad, zl, out, 5));
  ck_assert(!mt_inflate_zlib(z, 0, out, 5));
  ck_assert(!mt_inflate_zlib(NULL, 0, out, 0));
}
END_TEST

/* Random bytes after a valid header: never a crash, (almost) never a
 * success. */
START_TEST(noise_is_survived) {
  unsigned char in[600], out[4096];
  for (unsigned t = 0; t < 100000; t++) {
    in[0] = 0x78;
    in[1] = 0x9c;
    size_t len = 3 + next_rand() % (sizeof(in) - 3);
    for (size_t i = 2; i < len; i++)
      in[i] = (unsigned char)next_rand();
    (void)mt_inflate_zlib(in, len, out, next_rand() % sizeof(out));
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("inflate");
  TCase *tc = tcase_create("inflate");
  tcase_add_test(tc, every_level_and_strategy_round_trips);
  tcase_add_test(tc, a_stream_cut_short_fails_at_every_length);
  tcase_add_test(tc, the_wrong_size_fails);
  tcase_add_test(tc, damaged_streams_fail_or_decode_right);
  tcase_add_test(tc, headers_it_cannot_read_are_refused);
  tcase_add_test(tc, noise_is_survived);
  tcase_set_timeout(tc, 110);
  suite_add_tcase(s, tc);
  return s;
}

MT_UNIT_MAIN(suite)
