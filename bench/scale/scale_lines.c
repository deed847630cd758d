/* scale_lines.c - how many cache lines hold live blocks of two threads.
 * Usage: scale_lines THREADS MINSIZE MAXSIZE SLOTS OPS
 * Each thread keeps SLOTS live blocks and replaces a random one per op (as
 * scale_threads with no cross-thread frees), OPS times; then every block's
 * 64-byte lines are listed with their thread, and the program prints how many
 * distinct lines hold blocks of one thread only (own=) and how many hold
 * blocks of two or more threads (shared=). Then the same for groups of 8
 * slots (groups8_own=, groups8_shared=: blocks of one usable size S whose
 * addresses agree in addr / (8 S)), a stand-in for memtype's slot metadata,
 * 8 bytes a slot in slot order, so 8 slots to a cache line (the true groups
 * start at the slab's start, which is not visible from here). A line or group
 * shared so is written by both threads. Counts, not times: the result does
 * not depend on the machine's load, only on which thread got which slots. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scale_common.h"

static size_t minsize, maxsize, slots;
static unsigned long long nops;
static pthread_barrier_t start;

struct worker {
    pthread_t tid;
    int id;
    void **ring;
};

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1);
    size_t span = maxsize - minsize + 1;
    w->ring = xmalloc(slots * sizeof(void *));
    for (size_t i = 0; i < slots; i++) {
        w->ring[i] = xmalloc(minsize + rng_next(&seed) % span);
        memset(w->ring[i], 1, 8);
    }
    pthread_barrier_wait(&start);
    for (unsigned long long k = 0; k < nops; k++) {
        uint64_t r = rng_next(&seed);
        size_t j = (r >> 8) % slots;
        free(w->ring[j]);
        w->ring[j] = xmalloc(minsize + (r >> 24) % span);
        memset(w->ring[j], (int)r, 8);
    }
    pthread_barrier_wait(&start); /* all done before main reads the rings */
    pthread_barrier_wait(&start); /* main has read them */
    return NULL;
}

struct line {
    uintptr_t addr;
    int thread;
};

static int by_addr(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sorts l and counts the distinct keys held by one thread and by several. */
static void count(struct line *l, size_t n, size_t *own, size_t *shared)
{
    qsort(l, n, sizeof(*l), by_addr);
    *own = *shared = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        int mixed = 0;
        while (j < n && l[j].addr == l[i].addr) {
            mixed |= l[j].thread != l[i].thread;
            j++;
        }
        if (mixed)
            ++*shared;
        else
            ++*own;
        i = j;
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: scale_lines THREADS MINSIZE MAXSIZE SLOTS OPS\n");
        return 2;
    }
    int nthreads = (int)arg_ull(argv[1], "THREADS");
    minsize = arg_ull(argv[2], "MINSIZE");
    maxsize = arg_ull(argv[3], "MAXSIZE");
    slots = arg_ull(argv[4], "SLOTS");
    nops = arg_ull(argv[5], "OPS");
    struct worker *w = xmalloc((size_t)nthreads * sizeof(*w));
    pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
    for (int t = 0; t < nthreads; t++) {
        w[t].id = t;
        pthread_create(&w[t].tid, NULL, run, &w[t]);
    }
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&start);
    size_t cap = 0, n = 0;
    for (int t = 0; t < nthreads; t++)
        for (size_t i = 0; i < slots; i++)
            cap += malloc_usable_size(w[t].ring[i]) / 64 + 2;
    struct line *l = xmalloc(cap * sizeof(*l));
    for (int t = 0; t < nthreads; t++)
        for (size_t i = 0; i < slots; i++) {
            uintptr_t a = (uintptr_t)w[t].ring[i];
            size_t size = malloc_usable_size(w[t].ring[i]);
            for (uintptr_t x = a & ~(uintptr_t)63; x < a + size; x += 64)
                l[n++] = (struct line){x, t};
        }
    size_t own, shared, gown, gshared;
    count(l, n, &own, &shared);
    n = 0;
    for (int t = 0; t < nthreads; t++)
        for (size_t i = 0; i < slots; i++) {
            uintptr_t a = (uintptr_t)w[t].ring[i];
            size_t size = malloc_usable_size(w[t].ring[i]);
            /* the size in the key's top bits: groups of different sizes apart */
            l[n++] = (struct line){(uintptr_t)size << 48 | (a / (8 * size)), t};
        }
    count(l, n, &gown, &gshared);
    printf("threads=%d own=%zu shared=%zu groups8_own=%zu groups8_shared=%zu\n", nthreads, own,
           shared, gown, gshared);
    pthread_barrier_wait(&start);
    for (int t = 0; t < nthreads; t++)
        pthread_join(w[t].tid, NULL);
    return 0;
}
