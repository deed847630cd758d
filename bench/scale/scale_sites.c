/* scale_sites.c - cost per malloc/free as the number of distinct call sites grows.
 * Usage: scale_sites SECONDS  (linked with a generated sites file, see gen_sites.py)
 * site_alloc(i, n) calls malloc(n) from call site i: NSITES distinct call
 * instructions, hence NSITES distinct return addresses. Keeps 1024 live blocks; one op
 * frees a random one and allocates 16..256 bytes from a random site in its place,
 * writing 8 bytes. Prints ops=, ns=, cpu_ns=, sites=. */
#define _GNU_SOURCE
#include <string.h>

#include "scale_common.h"

#define RING 1024

extern const unsigned long nsites;
void *site_alloc(unsigned long i, size_t n);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: scale_sites SECONDS\n");
        return 2;
    }
    double secs = arg_double(argv[1], "SECONDS");
    uint64_t seed = 7;
    void *ring[RING];
    for (int i = 0; i < RING; i++) {
        ring[i] = site_alloc(rng_next(&seed) % nsites, 64);
        memset(ring[i], 0, 8);
    }
    unsigned long long ops = 0;
    uint64_t sum = 0, budget = (uint64_t)(secs * 1e9);
    uint64_t t0 = now_ns(), c0 = cpu_ns(), t1;
    do {
        for (int k = 0; k < 256; k++) {
            uint64_t r = rng_next(&seed);
            unsigned j = (unsigned)(r & (RING - 1));
            sum += *(unsigned char *)ring[j];
            free(ring[j]);
            void *p = site_alloc((r >> 16) % nsites, 16 + (r >> 10) % 241);
            if (!p) {
                fprintf(stderr, "malloc failed\n");
                return 3;
            }
            memset(p, (int)r, 8);
            ring[j] = p;
        }
        ops += 256;
        t1 = now_ns();
    } while (t1 - t0 < budget);
    uint64_t c1 = cpu_ns();
    printf("ops=%llu ns=%llu cpu_ns=%llu sites=%lu sum=%llu\n", ops,
           (unsigned long long)(t1 - t0), (unsigned long long)(c1 - c0), nsites,
           (unsigned long long)sum);
    return 0;
}
