/* driver.c - a stand-in for libFuzzer's main, for compilers without it (the
 * gcc build): replays every file of the corpus directories given, then runs a
 * bounded, deterministic mutation loop over them (bit flips, interesting
 * integers over 1/2/4/8-byte fields, inserted and deleted runs, splices)
 * until -runs= inputs or -max_total_time= seconds. The same seed gives the
 * same inputs, so a failure replays. It understands libFuzzer's spelling of
 * those flags and ignores the others, so scripts call both builds alike.
 * A crash or a broken property ends the process, as under libFuzzer, and the
 * input at fault is written to <-artifact_prefix>crash-driver (run with
 * ASAN_OPTIONS=abort_on_error=1 so that sanitizer reports abort too). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LEN 65536

typedef struct input_s {
  uint8_t *data;
  size_t size;
} input_t;

static input_t *corpus;
static size_t ncorpus, capcorpus;
static uint64_t rng;
static const uint8_t *current; /* the input being run, for the crash handler */
static size_t current_size;
static char artifact[4096] = "crash-driver";

static void run(const uint8_t *data, size_t size) {
  current = data, current_size = size;
  LLVMFuzzerTestOneInput(data, size);
  current = NULL;
}

/* Keeps the input that crashed, then dies of the same signal. */
static void on_crash(int sig) {
  if (current) {
    int fd = open(artifact, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      for (size_t at = 0; at < current_size;) {
        ssize_t n = write(fd, current + at, current_size - at);
        if (n <= 0)
          break;
        at += (size_t)n;
      }
      close(fd);
      static const char msg[] = "fuzz driver: the input at fault is in ";
      if (write(2, msg, sizeof(msg) - 1) && write(2, artifact, strlen(artifact)) && write(2, "\n", 1))
        current = NULL;
    }
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static uint64_t next(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}

static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }

static void add_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return;
  uint8_t *buf = malloc(MAX_LEN);
  size_t n = fread(buf, 1, MAX_LEN, f);
  fclose(f);
  if (ncorpus == capcorpus) {
    capcorpus = capcorpus ? 2 * capcorpus : 64;
    corpus = realloc(corpus, capcorpus * sizeof(*corpus));
  }
  corpus[ncorpus++] = (input_t){buf, n};
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's files in name order (readdir's order varies). */
static void add_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  char **names = NULL;
  size_t n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (e->d_name[0] == '.') /* ".", "..", and ".gitkeep"-like placeholders */
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      names = realloc(names, cap * sizeof(*names));
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    snprintf(names[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n == 0) /* an empty seed directory is no error: no seeds from it */
    return;
  qsort(names, n, sizeof(*names), by_name);
  for (size_t i = 0; i < n; i++) {
    struct stat sb;
    if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode))
      add_file(names[i]);
    free(names[i]);
  }
  free(names);
}

static const uint64_t interesting[] = {0,          1,          2,          7,
                                       8,          15,         16,         63,
                                       64,         127,        128,        255,
                                       256,        4095,       4096,       65535,
                                       65536,      0x7fffffff, 0x80000000, 0xffffffff,
                                       0x100000000, 0x7fffffffffffffffull, 0xffffffffffffffffull};

/* One mutation of buf (size *size, room MAX_LEN) in place. */
static void mutate(uint8_t *buf, size_t *size) {
  size_t n = *size;
  switch (below(7)) {
  case 0: /* flip a bit */
    if (n)
      buf[below(n)] ^= (uint8_t)(1u << below(8));
    break;
  case 1: /* a random byte */
    if (n)
      buf[below(n)] = (uint8_t)next();
    break;
  case 2: { /* an interesting little-endian integer over a field */
    unsigned w = 1u << below(4);
    if (n >= w) {
      uint64_t v = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
      if (next() & 1)
        v += below(3) - 1;
      size_t at = below(n - w + 1);
      if (next() & 1) /* fields are aligned in a dump */
        at &= ~(size_t)(w - 1);
      for (unsigned i = 0; i < w; i++)
        buf[at + i] = (uint8_t)(v >> (8 * i));
    }
    break;
  }
  case 3: { /* delete a run */
    if (n) {
      size_t at = below(n), len = 1 + below(n - at < 64 ? n - at : 64);
      memmove(buf + at, buf + at + len, n - at - len);
      *size = n - len;
    }
    break;
  }
  case 4: { /* insert a run of one byte value */
    size_t len = 1 + below(32);
    if (n + len <= MAX_LEN) {
      size_t at = below(n + 1);
      memmove(buf + at + len, buf + at, n - at);
      memset(buf + at, (int)(next() & 0xff), len);
      *size = n + len;
    }
    break;
  }
  case 5: { /* copy a run within the input */
    if (n > 1) {
      size_t from = below(n), to = below(n), len = 1 + below(64);
      if (from + len > n)
        len = n - from;
      if (to + len > n)
        len = n - to;
      memmove(buf + to, buf + from, len);
    }
    break;
  }
  case 6: { /* splice: the tail of another corpus input */
    const input_t *o = &corpus[below(ncorpus)];
    size_t at = below(n + 1), from = below(o->size + 1), len = o->size - from;
    if (at + len > MAX_LEN)
      len = MAX_LEN - at;
    memcpy(buf + at, o->data + from, len);
    *size = at + len;
    break;
  }
  }
}

static long flag(const char *arg, const char *name, long def) {
  size_t len = strlen(name);
  if (strncmp(arg, name, len) == 0 && arg[len] == '=')
    return strtol(arg + len + 1, NULL, 10);
  return def;
}

int main(int argc, char **argv) {
  long runs = 200000, seconds = 60, seed = 1;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') {
      runs = flag(argv[i], "-runs", runs);
      seconds = flag(argv[i], "-max_total_time", seconds);
      seed = flag(argv[i], "-seed", seed);
      if (strncmp(argv[i], "-artifact_prefix=", 17) == 0)
        snprintf(artifact, sizeof(artifact), "%scrash-driver", argv[i] + 17);
      continue;
    }
    struct stat sb;
    if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
      add_dir(argv[i]);
    else
      add_file(argv[i]);
  }
  rng = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 1;
  printf("fuzz driver (no libFuzzer): replaying %zu inputs, then up to %ld mutated ones "
         "or %ld s, seed %ld\n",
         ncorpus, runs, seconds, seed);
  fflush(stdout);
  static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    signal(sigs[i], on_crash);
  for (size_t i = 0; i < ncorpus; i++)
    run(corpus[i].data, corpus[i].size);
  run((const uint8_t *)"", 0);
  if (ncorpus == 0)
    add_file("/dev/null");
  uint8_t *buf = malloc(MAX_LEN);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long done = 0;
  for (; done < runs; done++) {
    if ((done & 255) == 0) {
      clock_gettime(CLOCK_MONOTONIC, &t);
      if (t.tv_sec - t0.tv_sec >= seconds)
        break;
    }
    const input_t *in = &corpus[below(ncorpus)];
    size_t size = in->size;
    memcpy(buf, in->data, size);
    for (unsigned k = 1 + (unsigned)below(8); k--;)
      mutate(buf, &size);
    /* an exact-size copy, so that a read past the end is a read past a block */
    uint8_t *exact = malloc(size ? size : 1);
    memcpy(exact, buf, size);
    run(exact, size);
    free(exact);
  }
  clock_gettime(CLOCK_MONOTONIC, &t);
  printf("fuzz driver: Done %ld runs in %ld second(s)\n", done + (long)ncorpus + 1,
         (long)(t.tv_sec - t0.tv_sec));
  free(buf);
  for (size_t i = 0; i < ncorpus; i++)
    free(corpus[i].data);
  free(corpus);
  return 0;
}
