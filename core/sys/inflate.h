/* inflate.h - a DEFLATE decoder (RFC 1951) for the zlib streams (RFC 1950)
 * that compressed debug sections hold (SHF_COMPRESSED with ELFCOMPRESS_ZLIB,
 * as `gcc -gz` and Debian's -dbgsym packages write them, and the older
 * .zdebug_* sections). memtype's own: no zlib in the process. Pure code:
 * no lock, no allocation but one mapping for its tables (mt_os_map), so a
 * report in a signal handler may use it. */
#ifndef MT_INFLATE_H
#define MT_INFLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Decodes the zlib stream in[0, in_len) into out[0, out_len): true only
 * when the stream is whole and well-formed (header, blocks, Adler-32 of the
 * output) and it decodes to exactly out_len bytes. Any damage (a bad code,
 * a distance before the start, more or fewer bytes than out_len, input cut
 * short) is false, never a read or write outside the two buffers. */
bool mt_inflate_zlib(const unsigned char *in, size_t in_len, unsigned char *out, size_t out_len);

#endif
