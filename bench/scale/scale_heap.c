/* scale_heap.c - cost per malloc/free as the live heap grows.
 * Usage: scale_heap LIVE_BYTES SECONDS
 * Fill: allocate blocks until their requested sizes add up to LIVE_BYTES, writing
 * every byte (so the heap is really resident); 31 blocks in 32 are 16..512 bytes,
 * 1 in 32 is 8..64 KiB. Churn (the measured phase): for SECONDS, free a random live
 * block and allocate one of a new random size from the same mix in its place, writing
 * every byte. The slot array is mmap'd, outside the allocator under test.
 * Prints ops=, ns=, cpu_ns= for the churn, then blocks=, fill_ns=, fill_cpu_ns=. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "scale_common.h"

static inline size_t pick_size(uint64_t r)
{
    if ((r & 31) == 0)
        return 8192 + (r >> 8) % (57344 + 1);
    return 16 + (r >> 8) % (512 - 16 + 1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: scale_heap LIVE_BYTES SECONDS\n");
        return 2;
    }
    unsigned long long live = arg_ull(argv[1], "LIVE_BYTES");
    double secs = arg_double(argv[2], "SECONDS");
    size_t cap = live / 16 + 2;
    void **slot = mmap(NULL, cap * sizeof(void *), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (slot == MAP_FAILED) {
        perror("mmap");
        return 3;
    }
    uint64_t seed = 42;
    size_t n = 0;
    unsigned long long have = 0;
    uint64_t f0 = now_ns(), fc0 = cpu_ns();
    while (have < live && n < cap) {
        size_t sz = pick_size(rng_next(&seed));
        slot[n] = xmalloc(sz);
        memset(slot[n], (int)n, sz);
        have += sz;
        n++;
    }
    uint64_t f1 = now_ns(), fc1 = cpu_ns();
    unsigned long long ops = 0;
    uint64_t sum = 0;
    uint64_t budget = (uint64_t)(secs * 1e9);
    uint64_t t0 = now_ns(), c0 = cpu_ns(), t1;
    do {
        for (int k = 0; k < 256; k++) {
            uint64_t r = rng_next(&seed);
            size_t j = (r >> 16) % n;
            sum += *(unsigned char *)slot[j];
            free(slot[j]);
            size_t sz = pick_size(rng_next(&seed));
            slot[j] = xmalloc(sz);
            memset(slot[j], (int)r, sz);
        }
        ops += 256;
        t1 = now_ns();
    } while (t1 - t0 < budget);
    uint64_t c1 = cpu_ns();
    printf("ops=%llu ns=%llu cpu_ns=%llu blocks=%zu fill_ns=%llu fill_cpu_ns=%llu sum=%llu\n",
           ops, (unsigned long long)(t1 - t0), (unsigned long long)(c1 - c0), n,
           (unsigned long long)(f1 - f0), (unsigned long long)(fc1 - fc0),
           (unsigned long long)sum);
    return 0; /* the blocks are left to exit, as most programs do */
}
