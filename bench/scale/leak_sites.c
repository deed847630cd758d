/* leak_sites.c - a heap for timing the reports on it: BLOCKS blocks from
 * call sites FIRST .. FIRST+COUNT-1 (site_alloc, gen_sites.py), every one
 * leaked (no pointer kept), so the exit leak scan finds them all definitely
 * lost and the dump holds one leak record per call site.
 * Usage: leak_sites BLOCKS FIRST COUNT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned long nsites;
void *site_alloc(unsigned long i, size_t n);

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: leak_sites BLOCKS FIRST COUNT\n");
        return 2;
    }
    unsigned long blocks = strtoul(argv[1], NULL, 10), first = strtoul(argv[2], NULL, 10);
    unsigned long count = strtoul(argv[3], NULL, 10);
    if (count == 0 || first + count > nsites) {
        fprintf(stderr, "leak_sites: sites %lu..%lu: only %lu exist\n", first, first + count,
                nsites);
        return 2;
    }
    for (unsigned long i = 0; i < blocks; i++) {
        char *p = site_alloc(first + i % count, 16 + i % 64);
        if (p == NULL) {
            fprintf(stderr, "leak_sites: malloc failed\n");
            return 3;
        }
        memset(p, 0, 8);
    }
    printf("leak_sites: %lu blocks from %lu sites\n", blocks, count);
    return 0;
}
