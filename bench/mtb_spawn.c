/* mtb_spawn.c - tiny launcher used by run_bench.py: runs one program and reports
 * its exit status, peak RSS and wall time as wait4() gives them.
 *
 * Why not measure from Python directly: a fork()ed or vfork()ed child carries its
 * parent's RSS high-water mark until exec, and Linux folds that old mark into the
 * process's ru_maxrss at exec.  Spawned from Python, every workload would report at
 * least the Python interpreter's RSS (~13 MiB here; mt_churn's real peak is ~7 MiB).
 * Spawned from this small program the floor is about 1 MiB, as with /usr/bin/time.
 * The tool's environment (LD_PRELOAD...) is applied in the child only, so this
 * launcher itself always runs on plain glibc.
 *
 * Usage: mtb_spawn RESULT [-e NAME=VALUE]... -- PROGRAM [ARG]...
 * Writes "WAITSTATUS MAXRSS_KIB WALL_NS\n" to RESULT and exits 0; exits 125 on a
 * usage or system error, and the child exits 127 if PROGRAM cannot be executed.
 * Build: gcc -O2 -o mtb_spawn mtb_spawn.c */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr, "usage: mtb_spawn RESULT [-e NAME=VALUE]... -- PROGRAM [ARG]...\n");
    exit(125);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    const char *result = argv[1];
    int i = 2;
    int env_first = i;
    while (i < argc && strcmp(argv[i], "--") != 0) {
        if (strcmp(argv[i], "-e") != 0 || i + 1 >= argc || !strchr(argv[i + 1], '='))
            usage();
        i += 2;
    }
    int env_end = i;
    if (i >= argc || i + 1 >= argc)
        usage();
    char **prog = &argv[i + 1];

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("mtb_spawn: fork");
        return 125;
    }
    if (pid == 0) {
        for (int k = env_first; k < env_end; k += 2) {
            char *kv = argv[k + 1];
            char *eq = strchr(kv, '=');
            *eq = '\0';
            if (setenv(kv, eq + 1, 1) != 0) {
                perror("mtb_spawn: setenv");
                _exit(127);
            }
        }
        execvp(prog[0], prog);
        fprintf(stderr, "mtb_spawn: cannot execute %s: %s\n", prog[0], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    for (;;) {
        pid_t r = wait4(pid, &status, 0, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("mtb_spawn: wait4");
            return 125;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    FILE *f = fopen(result, "w");
    if (!f) {
        perror("mtb_spawn: result file");
        return 125;
    }
    fprintf(f, "%d %ld %lld\n", status, ru.ru_maxrss, ns);
    if (fclose(f) != 0) {
        perror("mtb_spawn: result file");
        return 125;
    }
    return 0;
}
