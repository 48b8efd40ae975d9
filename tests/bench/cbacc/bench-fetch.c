/* bench-fetch URL CACERT N — fetches the CBACC metadata of N flows (10.8.x.y,232.1.1.1)
 * through libcbacc's fetcher from the DORMS server at URL (a static override, so no DNS),
 * driving it with its own epoll loop, and prints the elapsed time and the rate.
 * Exit 1 unless every flow ends with valid metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "cbacc/cbacc.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void log_cb(void *user, int level, const char *msg)
{
    (void)user;
    if (level <= 4) /* LOG_WARNING and worse */
        fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    long n = atol(argv[3]);
    if (n <= 0 || n > 65536)
        return 2;
    struct cbacc_fetcher_settings s;
    memset(&s, 0, sizeof s);
    s.cacert = argv[2];
    s.dns_server = "127.0.0.1:9"; /* unused: every source has a static server */
    s.log = log_cb;
    cbacc_fetcher *f;
    if (cbacc_fetcher_new(&f, &s) != 0 || cbacc_fetcher_add_override(f, "10.8.0.0/16", argv[1]) != 0)
        return 1;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, cbacc_fetcher_get_fd(f), &ev);
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        char text[64];
        cbacc_sg sg;
        snprintf(text, sizeof text, "10.8.%ld.%ld,232.1.1.1", i / 250, i % 250 + 1);
        if (cbacc_sg_parse(text, &sg) != 0 || cbacc_fetcher_watch(f, &sg, t0) != 0)
            return 1;
    }
    uint64_t deadline = t0 + 120 * CBACC_NS_PER_S;
    while (cbacc_fetcher_pending(f) > 0 && now_ns() < deadline) {
        uint64_t now = now_ns(), exp = cbacc_fetcher_get_expiry(f);
        int wait = exp <= now ? 0 : exp - now > 100 * CBACC_NS_PER_MS ? 100 : (int)((exp - now) / CBACC_NS_PER_MS) + 1;
        struct epoll_event out;
        epoll_wait(ep, &out, 1, wait);
        cbacc_fetcher_process(f, now_ns());
    }
    uint64_t el = now_ns() - t0;
    long valid = 0;
    for (long i = 0; i < n; i++) {
        char text[64];
        cbacc_sg sg;
        struct cbacc_md_info info;
        snprintf(text, sizeof text, "10.8.%ld.%ld,232.1.1.1", i / 250, i % 250 + 1);
        cbacc_sg_parse(text, &sg);
        if (cbacc_fetcher_get(f, &sg, &info) == 0 && info.state == CBACC_MD_VALID && info.md.bps == 1000000)
            valid++;
    }
    printf("library: %ld flows, %ld with valid metadata, %.1f ms, %.0f flows/s\n", n, valid, el / 1e6,
           n / (el / 1e9));
    cbacc_fetcher_free(f);
    return valid == n ? 0 : 1;
}
