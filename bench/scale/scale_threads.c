/* scale_threads.c - cost per malloc/free as threads are added.
 * Usage: scale_threads THREADS MINSIZE MAXSIZE SLOTS SECONDS [REMOTE]
 * Each thread keeps SLOTS live blocks; one op frees a random slot and mallocs a
 * block of a random size in [MINSIZE, MAXSIZE] into it, writing its first 8 bytes.
 * One free in REMOTE (default 8; 0 = none) is handed to the next thread (batches of
 * 32 through a small locked inbox, drained every 64 ops) and freed there, so blocks
 * migrate between threads as in producer/consumer programs; with one thread those
 * frees stay local. Threads start
 * together on a barrier, main sleeps SECONDS then raises a stop flag.
 * Prints ops=, ns= (the measured phase's wall time), cpu_ns= (process CPU time). */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "scale_common.h"

#define BATCH 32
#define INBOX 64 /* batches */

struct inbox {
    pthread_mutex_t mu;
    void **batches[INBOX];
    int count;
};

struct worker {
    int id;
    pthread_t tid;
    struct inbox in;
    struct worker *next;
    unsigned long long ops;
    uint64_t sum;
} __attribute__((aligned(128)));

static size_t minsize, maxsize, slots;
static unsigned remote = 8;
static int nthreads;
static volatile int stop;
static pthread_barrier_t start;

static void drain(struct worker *w)
{
    void **got[INBOX];
    int n;
    pthread_mutex_lock(&w->in.mu);
    n = w->in.count;
    memcpy(got, w->in.batches, n * sizeof(got[0]));
    w->in.count = 0;
    pthread_mutex_unlock(&w->in.mu);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < BATCH; k++)
            free(got[i][k]);
        free(got[i]);
    }
}

/* Returns 1 if the next thread took the batch; 0 if its inbox is full. */
static int hand_over(struct worker *to, void **batch)
{
    int ok = 0;
    pthread_mutex_lock(&to->in.mu);
    if (to->in.count < INBOX) {
        to->in.batches[to->in.count++] = batch;
        ok = 1;
    }
    pthread_mutex_unlock(&to->in.mu);
    return ok;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1);
    void **ring = xmalloc(slots * sizeof(void *));
    void **batch = NULL;
    int nb = 0;
    size_t span = maxsize - minsize + 1;
    for (size_t i = 0; i < slots; i++) {
        ring[i] = xmalloc(minsize + rng_next(&seed) % span);
        memset(ring[i], 1, 8);
    }
    pthread_barrier_wait(&start);
    unsigned long long ops = 0;
    uint64_t sum = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        for (int k = 0; k < 64; k++) {
            uint64_t r = rng_next(&seed);
            size_t j = (r >> 8) % slots;
            void *old = ring[j];
            sum += *(unsigned char *)old;
            if (nthreads > 1 && remote && (r >> 48) % remote == 0) {
                if (batch == NULL)
                    batch = xmalloc(BATCH * sizeof(void *));
                batch[nb++] = old;
                if (nb == BATCH) {
                    if (!hand_over(w->next, batch)) {
                        for (int b = 0; b < BATCH; b++)
                            free(batch[b]);
                        free(batch);
                    }
                    batch = NULL;
                    nb = 0;
                }
            } else {
                free(old);
            }
            void *p = xmalloc(minsize + (r >> 24) % span);
            memset(p, (int)r, 8);
            ring[j] = p;
        }
        ops += 64;
        if (nthreads > 1 && w->in.count) /* racy peek; drain() locks */
            drain(w);
    }
    w->ops = ops;
    w->sum = sum;
    pthread_barrier_wait(&start); /* nobody hands over any more */
    drain(w);
    for (int b = 0; b < nb; b++)
        free(batch[b]);
    free(batch);
    for (size_t i = 0; i < slots; i++)
        free(ring[i]);
    free(ring);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: scale_threads THREADS MINSIZE MAXSIZE SLOTS SECONDS [REMOTE]\n");
        return 2;
    }
    nthreads = (int)arg_ull(argv[1], "THREADS");
    minsize = arg_ull(argv[2], "MINSIZE");
    maxsize = arg_ull(argv[3], "MAXSIZE");
    slots = arg_ull(argv[4], "SLOTS");
    double secs = arg_double(argv[5], "SECONDS");
    if (argc == 7)
        remote = (unsigned)strtoul(argv[6], NULL, 0);
    if (minsize < 8 || maxsize < minsize) {
        fprintf(stderr, "need 8 <= MINSIZE <= MAXSIZE\n");
        return 2;
    }
    struct worker *ws = calloc(nthreads, sizeof(*ws));
    if (!ws)
        return 3;
    pthread_barrier_init(&start, NULL, nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        ws[i].id = i;
        ws[i].next = &ws[(i + 1) % nthreads];
        pthread_mutex_init(&ws[i].in.mu, NULL);
    }
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&ws[i].tid, NULL, run, &ws[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 3;
        }
    pthread_barrier_wait(&start);
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    struct timespec d = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    nanosleep(&d, NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    pthread_barrier_wait(&start);
    uint64_t t1 = now_ns(), c1 = cpu_ns();
    unsigned long long ops = 0;
    uint64_t sum = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(ws[i].tid, NULL);
        ops += ws[i].ops;
        sum += ws[i].sum;
    }
    printf("ops=%llu ns=%llu cpu_ns=%llu threads=%d sum=%llu\n", ops,
           (unsigned long long)(t1 - t0), (unsigned long long)(c1 - c0), nthreads,
           (unsigned long long)sum);
    return 0;
}
