/* scale_size.c - cost per malloc/free as the block size grows.
 * Usage: scale_size SIZE SECONDS
 * Keeps 16 live blocks of SIZE bytes; one op frees the oldest and allocates a new
 * one, writing its first and last byte (the allocator's cost, not the program's
 * memset: pages a block never touches are never faulted in). Measured for SECONDS.
 * Prints ops=, ns=, cpu_ns=. */
#define _GNU_SOURCE
#include <string.h>

#include "scale_common.h"

#define RING 16

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: scale_size SIZE SECONDS\n");
        return 2;
    }
    size_t size = arg_ull(argv[1], "SIZE");
    double secs = arg_double(argv[2], "SECONDS");
    char *ring[RING];
    for (int i = 0; i < RING; i++) {
        ring[i] = xmalloc(size);
        ring[i][0] = ring[i][size - 1] = 1;
    }
    /* clock checks: every 256 ops for small blocks, every 4 for big ones */
    int batch = size <= 65536 ? 256 : 4;
    unsigned long long ops = 0;
    uint64_t sum = 0, budget = (uint64_t)(secs * 1e9);
    unsigned i = 0;
    uint64_t t0 = now_ns(), c0 = cpu_ns(), t1;
    do {
        for (int k = 0; k < batch; k++, i++) {
            char **s = &ring[i % RING];
            sum += (unsigned char)(*s)[size - 1];
            free(*s);
            *s = xmalloc(size);
            (*s)[0] = (char)i;
            (*s)[size - 1] = (char)(i >> 3);
        }
        ops += batch;
        t1 = now_ns();
    } while (t1 - t0 < budget);
    uint64_t c1 = cpu_ns();
    printf("ops=%llu ns=%llu cpu_ns=%llu size=%zu sum=%llu\n", ops,
           (unsigned long long)(t1 - t0), (unsigned long long)(c1 - c0), size,
           (unsigned long long)sum);
    return 0;
}
