/* lines_probe.c - memtype's in-process reading of an ELF file's inlined
 * calls (mt_lines_inlined), for test_inlined.py to compare with
 * llvm-symbolizer's or addr2line's (through the functions' index, as memtype
 * reads them, or with MEMTYPE_PROBE_SCAN=1 without it): reads hex addresses
 * on stdin and prints,
 * for each, "ADDR | name file:line | ..." (innermost first, the file by its
 * base name, the names as in the file: linkage name, else name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: lines_probe ELF < addresses\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
    perror(argv[1]);
    return 1;
  }
  long size = ftell(f);
  unsigned char *img = malloc((size_t)size);
  rewind(f);
  if (img == NULL || fread(img, 1, (size_t)size, f) != (size_t)size) {
    perror(argv[1]);
    return 1;
  }
  fclose(f);
  /* MEMTYPE_PROBE_SCAN=1: without the functions' index (a walk of the
   * address's unit each time), as memtype does when the index cannot be
   * made */
  uint32_t nfns = 0;
  const char *scan = getenv("MEMTYPE_PROBE_SCAN");
  mt_fn_range_t *fns = scan && *scan == '1' ? NULL : mt_lines_fn_index(img, (size_t)size, &nfns);
  char line[64];
  while (fgets(line, sizeof(line), stdin)) {
    unsigned long a = strtoul(line, NULL, 16);
    mt_inline_t inl[16];
    static uint64_t scratch[8192];
    if (mt_lines_scratch_size() > sizeof(scratch)) {
      fprintf(stderr, "lines_probe: scratch too small\n");
      return 1;
    }
    unsigned n = fns ? mt_lines_inlined_by(img, (size_t)size, fns, nfns, a, inl, 16, scratch)
                     : mt_lines_inlined(img, (size_t)size, a, inl, 16);
    printf("%lx", a);
    for (unsigned k = 0; k < n; k++) {
      const char *file = inl[k].file ? inl[k].file : "??", *base = strrchr(file, '/');
      const char *name = inl[k].linkage ? inl[k].linkage : inl[k].name ? inl[k].name : "??";
      printf(" | %s %s:%u", name, base ? base + 1 : file, inl[k].line);
    }
    printf("\n");
  }
  free(img);
  return 0;
}
