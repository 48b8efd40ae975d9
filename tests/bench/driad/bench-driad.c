/* bench-driad.c — lookups per second through libdriad's async driver, and the same
 * queries through a bare pipelined UDP loop (pre-built queries, one connected socket,
 * answers counted but not parsed: the limit a client could reach against this server).
 * Usage: bench-driad PORT COUNT WINDOW ROUNDS.  Sources are 198.18.0.0/15 (RFC 2544),
 * the i-th being 198.18.0.0 + i + 1; the server must hold an AMTRELAY for each. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <driad/driad.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void source(unsigned i, struct driad_ip *ip)
{
    uint32_t a = 0xc6120000u + i + 1; /* 198.18.0.0 + i + 1 */
    memset(ip, 0, sizeof *ip);
    ip->family = AF_INET;
    ip->addr[0] = (uint8_t)(a >> 24);
    ip->addr[1] = (uint8_t)(a >> 16);
    ip->addr[2] = (uint8_t)(a >> 8);
    ip->addr[3] = (uint8_t)a;
}

struct drv {
    unsigned done, found;
};

static void on_result(void *user, const struct driad_result *r)
{
    struct drv *d = user;
    d->done++;
    d->found += r->status == DRIAD_FOUND;
}

/* Returns lookups/s, or a negative value when lookups failed. */
static double run_driver(uint16_t port, unsigned count, unsigned window)
{
    struct driad_server sv;
    memset(&sv, 0, sizeof sv);
    driad_ip_parse("127.0.0.1", &sv.ip);
    sv.port = port;
    struct driad_settings s;
    driad_settings_init(&s);
    s.servers = &sv;
    s.n_servers = 1;
    s.recursion_desired = false;
    s.rate_queries = 0;   /* our own local server: the RFC 8777 §3.2.2 cap is lifted */
    s.max_in_flight = window;
    s.cache_entries = 0;  /* every lookup goes to the server */
    s.lookup_timeout = DRIAD_S(30);
    driad_resolver *r = NULL;
    int err = driad_resolver_new(&s, &r);
    if (err < 0) {
        fprintf(stderr, "driad_resolver_new: %s\n", driad_strerror(err));
        return -1;
    }
    struct drv d = {0};
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < count; i++) {
        struct driad_ip ip;
        source(i, &ip);
        if (driad_resolver_lookup(r, t0, &ip, DRIAD_FAMILY_ANY, on_result, &d) < 0)
            return -1;
    }
    /* bounded by the lookups' own 30 s deadline */
    while (d.done < count) {
        uint64_t n = now_ns(), e = driad_resolver_get_expiry(r);
        int ms = e <= n ? 0 : (int)((e - n) / 1000000u + 1);
        if (ms > 1000)
            ms = 1000;
        struct pollfd p = {.fd = driad_resolver_get_fd(r), .events = POLLIN};
        poll(&p, 1, ms);
        if (driad_resolver_process(r, now_ns()) < 0)
            break;
    }
    uint64_t t1 = now_ns();
    driad_resolver_free(r);
    if (d.found != count) {
        fprintf(stderr, "driver: only %u of %u lookups found a relay\n", d.found, count);
        return -1;
    }
    return count / ((double)(t1 - t0) / 1e9);
}

static double run_bare(uint16_t port, unsigned count, unsigned window)
{
    uint8_t (*q)[300] = malloc((size_t)count * sizeof *q);
    size_t *qlen = malloc((size_t)count * sizeof *qlen);
    if (!q || !qlen)
        return -1;
    for (unsigned i = 0; i < count; i++) {
        struct driad_ip ip;
        uint8_t name[DRIAD_NAME_WIRE_MAX];
        source(i, &ip);
        int nl = driad_reverse_name_wire(&ip, name, sizeof name);
        int l = driad_query_build(name, (size_t)nl, DRIAD_TYPE_AMTRELAY, (uint16_t)i, false, 1232,
                                  q[i], sizeof q[i]);
        if (l < 0)
            return -1;
        qlen[i] = (size_t)l;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    uint8_t buf[4096];
    unsigned sent = 0, got = 0;
    uint64_t t0 = now_ns();
    while (got < count) {
        while (sent < count && sent - got < window) {
            if (send(fd, q[sent], qlen[sent], 0) < 0)
                break;
            sent++;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) != 1) {
            fprintf(stderr, "bare loop: %u answers missing\n", sent - got);
            close(fd);
            return -1;
        }
        /* drain what is there, no parsing */
        for (int k = 0; k < 64; k++) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0)
                break;
            got++;
        }
    }
    uint64_t t1 = now_ns();
    close(fd);
    free(q);
    free(qlen);
    return count / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT COUNT WINDOW ROUNDS\n", argv[0]);
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[1]);
    unsigned count = (unsigned)atoi(argv[2]), window = (unsigned)atoi(argv[3]);
    int rounds = atoi(argv[4]);
    double best_drv = 0, best_bare = 0;
    /* alternate the two so both see the same server state; keep the best of each */
    for (int i = 0; i < rounds; i++) {
        double b = run_bare(port, count, window);
        double d = run_driver(port, count, window);
        if (b < 0 || d < 0)
            return 1;
        printf("round %d: driver %.0f lookups/s, bare loop %.0f answers/s\n", i + 1, d, b);
        if (d > best_drv)
            best_drv = d;
        if (b > best_bare)
            best_bare = b;
    }
    printf("driver %.0f\nbare %.0f\n", best_drv, best_bare);
    return 0;
}
