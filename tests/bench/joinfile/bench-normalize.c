/* bench-normalize.c — issue 2 benchmark: parse + canonicalize a generated 1,000,000-line
 * joinfile, beside `sort -u` on the same file in the same run, printed as a ratio.
 *
 *     bench-joinfile-normalize [JOINFILE-TOOL]
 *
 * Figures (best of 3 runs each, wall clock, CLOCK_MONOTONIC):
 *   library  joinfile_read_file + joinfile_format_alloc + write(2) to /dev/null
 *   tool     `joinfile normalize FILE > /dev/null` (when the tool's path is given)
 *   peer     `LC_ALL=C sort -u FILE > /dev/null` (C locale: sort's fastest mode)
 * Exits 1 when the library is not faster than sort -u (the target). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <joinfile/joinfile.h>

#define LINES 1000000
#define RUNS 3

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A realistic producer's file in arbitrary order: 7/8 IPv4, 1/8 IPv6, some
 * populations, 5 % duplicate lines, a few comments. */
static int generate(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    for (unsigned i = 0; i < LINES; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned k = i % 20 == 19 ? (unsigned)(rng % (i + 1)) : i;
        /* spread keys over the address space in hash order, not file order */
        unsigned h = (unsigned)((k * 2654435761u) >> 3);
        if (i % 100000 == 0)
            fprintf(f, "# block %u\n", i / 100000);
        if (k % 8 == 7)
            fprintf(f, "2001:db8:%x:%x::%x,ff3e::%x:%x\n", h >> 16, h & 0xffff, k % 4096 + 1, k % 7, h % 251 + 1);
        else if (k % 5 == 0)
            fprintf(f, "%u.%u.%u.%u,232.%u.%u.%u,%u\n", h % 223 + 1, (h >> 8) & 255, (h >> 16) & 255, k & 255,
                    k % 200, (k >> 8) & 255, k % 250 + 1, k % 50 + 2);
        else
            fprintf(f, "%u.%u.%u.%u,232.%u.%u.%u\n", h % 223 + 1, (h >> 8) & 255, (h >> 16) & 255, k & 255,
                    k % 200, (k >> 8) & 255, k % 250 + 1);
    }
    return fclose(f);
}

static double run_library(const char *path, size_t *entries)
{
    double t0 = now_s();
    joinfile_set *set;
    int rc = joinfile_read_file(NULL, path, &set, NULL);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, joinfile_strerror(rc));
        exit(2);
    }
    char *text;
    size_t len;
    if ((rc = joinfile_format_alloc(set, JOINFILE_POPULATION_AUTO, &text, &len))) {
        fprintf(stderr, "format: %s\n", joinfile_strerror(rc));
        exit(2);
    }
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror("/dev/null");
        exit(2);
    }
    close(fd);
    double t = now_s() - t0;
    *entries = joinfile_set_count(set);
    joinfile_free(text);
    joinfile_set_free(set);
    return t;
}

/* Runs argv with stdout to /dev/null; returns wall seconds. */
static double run_command(char *const argv[], char *const envp[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    double t0 = now_s();
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[0], strerror(rc));
        exit(2);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    double t = now_s() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "%s failed\n", argv[0]);
        exit(2);
    }
    return t;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/jf-bench-......";
    memset(dir + sizeof dir - 7, 'X', 6); /* the mkdtemp template */
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/big.sgs", dir);
    if (generate(path)) {
        perror(path);
        return 2;
    }
    char *sort_argv[] = {"sort", "-u", path, NULL};
    char *c_env[] = {"LC_ALL=C", NULL};
    char *tool_argv[] = {argc > 1 ? argv[1] : NULL, "normalize", path, NULL};
    double lib = 1e9, sort = 1e9, tool = 1e9;
    size_t entries = 0;
    for (int i = 0; i < RUNS; i++) {
        double t = run_library(path, &entries);
        lib = t < lib ? t : lib;
        t = run_command(sort_argv, c_env);
        sort = t < sort ? t : sort;
        if (argc > 1) {
            t = run_command(tool_argv, environ);
            tool = t < tool ? t : tool;
        }
    }
    unlink(path);
    rmdir(dir);
    printf("joinfile benchmark: %d generated lines, %zu distinct entries, best of %d runs\n", LINES,
           entries, RUNS);
    printf("  libjoinfile read+parse+canonicalize: %8.1f ms\n", lib * 1e3);
    if (argc > 1)
        printf("  joinfile normalize (tool):           %8.1f ms\n", tool * 1e3);
    printf("  LC_ALL=C sort -u (peer):             %8.1f ms\n", sort * 1e3);
    printf("  ratio sort -u / libjoinfile:         %8.2fx  (target > 1: %s)\n", sort / lib,
           sort > lib ? "met" : "NOT met");
    if (argc > 1)
        printf("  ratio sort -u / joinfile normalize:  %8.2fx\n", sort / tool);
    return sort > lib ? 0 : 1;
}
