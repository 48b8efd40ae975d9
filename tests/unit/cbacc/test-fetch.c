/* The fetcher driver against a scripted DNS peer on loopback (this process answers, or
 * does not): retries and timeout, replies that do not match the query, NXDOMAIN, SERVFAIL;
 * a static override to a closed port; argument checks; allocation failures.  Real servers
 * (BIND, nginx) are exercised by tests/integration/cbacc. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "cbacc-internal.h"

static char logbuf[16384];
static int updates;

static void log_cb(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    size_t l = strlen(logbuf);
    snprintf(logbuf + l, sizeof logbuf - l, "%s\n", msg);
}

static void update_cb(void *user, const cbacc_sg *sg, const struct cbacc_md_info *info)
{
    (void)user;
    (void)sg;
    (void)info;
    updates++;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * CBACC_NS_PER_S + (uint64_t)ts.tv_nsec;
}

enum script { SILENT, WRONG_ID_THEN_NXDOMAIN, SERVFAIL, TRUNCATED_THEN_TCP };

struct peer {
    int fd;
    int tcp_listen, tcp_conn; /* TRUNCATED_THEN_TCP: the TCP side on the same port */
    uint8_t tcp_in[600];
    size_t tcp_have;
    char addr[32];
    int queries, tcp_queries;
    enum script script;
};

static void peer_open(struct peer *p, enum script s)
{
    memset(p, 0, sizeof *p);
    p->script = s;
    p->tcp_listen = p->tcp_conn = -1;
    for (int tries = 0; tries < 20; tries++) {
        p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        assert_true(p->fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof a), 0);
        socklen_t al = sizeof a;
        getsockname(p->fd, (struct sockaddr *)&a, &al);
        snprintf(p->addr, sizeof p->addr, "127.0.0.1:%u", ntohs(a.sin_port));
        if (s != TRUNCATED_THEN_TCP)
            return;
        /* The same port number over TCP (usually free: a separate namespace). */
        p->tcp_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (bind(p->tcp_listen, (struct sockaddr *)&a, sizeof a) == 0 && listen(p->tcp_listen, 4) == 0)
            return;
        close(p->tcp_listen);
        close(p->fd);
    }
    fail_msg("no port free for both UDP and TCP");
}

static void peer_close(struct peer *p)
{
    close(p->fd);
    if (p->tcp_listen >= 0)
        close(p->tcp_listen);
    if (p->tcp_conn >= 0)
        close(p->tcp_conn);
}

/* Sends a reply to query q: over UDP to from, or over the TCP connection (from NULL). */
static void reply(struct peer *p, const uint8_t *q, size_t n, struct sockaddr_in *from, uint16_t id,
                  ldns_pkt_rcode rcode, bool tc)
{
    ldns_pkt *pkt = NULL;
    assert_int_equal(ldns_wire2pkt(&pkt, q, n), LDNS_STATUS_OK);
    ldns_pkt_set_id(pkt, id);
    ldns_pkt_set_qr(pkt, true);
    ldns_pkt_set_tc(pkt, tc);
    ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
    uint8_t *w = NULL;
    size_t wl = 0;
    assert_int_equal(ldns_pkt2wire(&w, pkt, &wl), LDNS_STATUS_OK);
    if (from) {
        sendto(p->fd, w, wl, 0, (struct sockaddr *)from, sizeof *from);
    } else {
        uint8_t len[2] = {(uint8_t)(wl >> 8), (uint8_t)wl};
        assert_int_equal(send(p->tcp_conn, len, 2, 0), 2);
        assert_int_equal(send(p->tcp_conn, w, wl, 0), (ssize_t)wl);
    }
    free(w);
    ldns_pkt_free(pkt);
}

static void peer_serve(struct peer *p)
{
    uint8_t buf[1500];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n;
    while ((n = recvfrom(p->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) > 12) {
        p->queries++;
        uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
        if (p->script == WRONG_ID_THEN_NXDOMAIN) {
            reply(p, buf, (size_t)n, &from, (uint16_t)(id + 1), LDNS_RCODE_NXDOMAIN, false);
            reply(p, buf, (size_t)n, &from, id, LDNS_RCODE_NXDOMAIN, false);
        } else if (p->script == SERVFAIL) {
            reply(p, buf, (size_t)n, &from, id, LDNS_RCODE_SERVFAIL, false);
        } else if (p->script == TRUNCATED_THEN_TCP) {
            reply(p, buf, (size_t)n, &from, id, LDNS_RCODE_NOERROR, true);
        }
        fl = sizeof from;
    }
    if (p->tcp_listen < 0)
        return;
    if (p->tcp_conn < 0)
        p->tcp_conn = accept4(p->tcp_listen, NULL, NULL, SOCK_NONBLOCK);
    if (p->tcp_conn < 0)
        return;
    n = recv(p->tcp_conn, p->tcp_in + p->tcp_have, sizeof p->tcp_in - p->tcp_have, 0);
    if (n > 0)
        p->tcp_have += (size_t)n;
    size_t want = p->tcp_have >= 2 ? 2 + ((size_t)p->tcp_in[0] << 8 | p->tcp_in[1]) : SIZE_MAX;
    if (p->tcp_have >= want) {
        p->tcp_queries++;
        uint16_t id = (uint16_t)(p->tcp_in[2] << 8 | p->tcp_in[3]);
        reply(p, p->tcp_in + 2, want - 2, NULL, id, LDNS_RCODE_NXDOMAIN, false);
        close(p->tcp_conn);
        p->tcp_conn = -1;
        p->tcp_have = 0;
    }
}

/* Drives fetcher and peer until nothing is pending; bounded by iterations. */
static void drive(cbacc_fetcher *f, struct peer *p)
{
    for (int i = 0; i < 5000 && cbacc_fetcher_pending(f) > 0; i++) {
        struct pollfd pf[2] = {{cbacc_fetcher_get_fd(f), POLLIN, 0}, {p ? p->fd : -1, POLLIN, 0}};
        uint64_t now = now_ns(), exp = cbacc_fetcher_get_expiry(f);
        int wait = exp <= now ? 0 : exp - now > 10 * CBACC_NS_PER_MS ? 10 : (int)((exp - now) / CBACC_NS_PER_MS) + 1;
        poll(pf, p ? 2 : 1, wait);
        if (p)
            peer_serve(p);
        assert_int_equal(cbacc_fetcher_process(f, now_ns()), 0);
    }
    assert_int_equal(cbacc_fetcher_pending(f), 0);
}

static cbacc_fetcher *make(const char *dns)
{
    struct cbacc_fetcher_settings s;
    memset(&s, 0, sizeof s);
    s.dns_server = dns;
    s.dns_timeout_ns = 20 * CBACC_NS_PER_MS;
    s.timeout_ns = 2 * CBACC_NS_PER_S;
    s.log = log_cb;
    s.update = update_cb;
    cbacc_fetcher *f = NULL;
    assert_int_equal(cbacc_fetcher_new(&f, &s), 0);
    logbuf[0] = '\0';
    updates = 0;
    return f;
}

static cbacc_sg sg_of(const char *t)
{
    cbacc_sg sg;
    assert_int_equal(cbacc_sg_parse(t, &sg), 0);
    return sg;
}

static void test_dns_silence(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, SILENT);
    cbacc_fetcher *f = make(p.addr);
    cbacc_sg sg = sg_of("192.0.2.1,232.1.1.1");
    assert_int_equal(cbacc_fetcher_watch(f, &sg, now_ns()), 0);
    assert_int_equal(cbacc_fetcher_pending(f), 1);
    drive(f, &p);
    struct cbacc_md_info info;
    assert_int_equal(cbacc_fetcher_get(f, &sg, &info), 0);
    assert_int_equal(info.state, CBACC_MD_NONE);
    assert_int_equal(info.last_error, CBACC_ERR_DNS);
    assert_int_equal(p.queries, 3); /* first try and two retransmissions */
    assert_non_null(strstr(logbuf, "_dorms._tcp.1.2.0.192.in-addr.arpa.: no answer after 3 attempts"));
    assert_int_equal(updates, 1);
    /* A retry is scheduled, so the driver has a deadline. */
    assert_true(cbacc_fetcher_get_expiry(f) != CBACC_NEVER);
    cbacc_fetcher_free(f);
    peer_close(&p);
}

static void test_dns_wrong_id_then_nxdomain(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, WRONG_ID_THEN_NXDOMAIN);
    cbacc_fetcher *f = make(p.addr);
    cbacc_sg sg = sg_of("192.0.2.2,232.1.1.1");
    cbacc_sg sg2 = sg_of("192.0.2.2,232.1.1.2");
    assert_int_equal(cbacc_fetcher_watch(f, &sg, now_ns()), 0);
    assert_int_equal(cbacc_fetcher_watch(f, &sg2, now_ns()), 0);
    assert_int_equal(cbacc_fetcher_watch(f, &sg2, now_ns()), 0); /* no-op */
    drive(f, &p);
    struct cbacc_md_info info;
    assert_int_equal(cbacc_fetcher_get(f, &sg2, &info), 0);
    assert_int_equal(info.state, CBACC_MD_NONE);
    assert_int_equal(info.last_error, CBACC_ERR_NO_SERVER);
    /* One SRV query for the source, not one per flow. */
    assert_int_equal(p.queries, 1);
    assert_non_null(strstr(logbuf, "DORMS discovery for 192.0.2.2: no service (no SRV record)"));
    assert_int_equal(updates, 2);
    cbacc_fetcher_unwatch(f, &sg2);
    assert_int_equal(cbacc_fetcher_get(f, &sg2, NULL), CBACC_ERR_NOT_FOUND);
    assert_int_equal(cbacc_fetcher_get(f, &sg, NULL), 0);
    cbacc_fetcher_free(f);
    peer_close(&p);
}

static void test_dns_servfail(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, SERVFAIL);
    cbacc_fetcher *f = make(p.addr);
    cbacc_sg sg = sg_of("192.0.2.3,232.1.1.1");
    assert_int_equal(cbacc_fetcher_watch(f, &sg, now_ns()), 0);
    drive(f, &p);
    struct cbacc_md_info info;
    assert_int_equal(cbacc_fetcher_get(f, &sg, &info), 0);
    assert_int_equal(info.state, CBACC_MD_NONE);
    assert_int_equal(info.last_error, CBACC_ERR_DNS);
    assert_non_null(strstr(logbuf, "DORMS discovery for 192.0.2.3"));
    cbacc_fetcher_free(f);
    peer_close(&p);
}

static void test_dns_truncated_then_tcp(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, TRUNCATED_THEN_TCP);
    cbacc_fetcher *f = make(p.addr);
    cbacc_sg sg = sg_of("192.0.2.4,232.1.1.1");
    assert_int_equal(cbacc_fetcher_watch(f, &sg, now_ns()), 0);
    drive(f, &p);
    struct cbacc_md_info info;
    assert_int_equal(cbacc_fetcher_get(f, &sg, &info), 0);
    assert_int_equal(info.state, CBACC_MD_NONE);
    assert_int_equal(info.last_error, CBACC_ERR_NO_SERVER); /* the TCP answer (NXDOMAIN) counts */
    assert_int_equal(p.queries, 1);
    assert_int_equal(p.tcp_queries, 1);
    assert_non_null(strstr(logbuf, "DORMS discovery for 192.0.2.4: no service (no SRV record)"));
    cbacc_fetcher_free(f);
    peer_close(&p);
}

static void test_override_closed_port(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s); /* nothing listens there now */
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/restconf/", ntohs(a.sin_port));
    struct peer p;
    peer_open(&p, SILENT);
    cbacc_fetcher *f = make(p.addr);
    assert_int_equal(cbacc_fetcher_add_override(f, "192.0.2.0/24", url), 0);
    cbacc_sg sg = sg_of("192.0.2.9,232.1.1.1");
    assert_int_equal(cbacc_fetcher_watch(f, &sg, now_ns()), 0);
    drive(f, &p);
    struct cbacc_md_info info;
    assert_int_equal(cbacc_fetcher_get(f, &sg, &info), 0);
    assert_int_equal(info.state, CBACC_MD_NONE);
    assert_int_equal(info.last_error, CBACC_ERR_TRANSPORT);
    assert_int_equal(p.queries, 0); /* the override replaces DNS */
    assert_non_null(strstr(logbuf, "/restconf/data/ietf-yang-library:modules-state"));
    cbacc_fetcher_free(f);
    peer_close(&p);
}

static void test_arguments(void **state)
{
    (void)state;
    struct cbacc_fetcher_settings s;
    memset(&s, 0, sizeof s);
    cbacc_fetcher *f = NULL;
    static const char *const bad_dns[] = {"1.2.3.4:99999", "1.2.3.4:0", "[::1", "[::1]x", "host.example", "1.2.3.4:"};
    for (size_t i = 0; i < sizeof bad_dns / sizeof bad_dns[0]; i++) {
        s.dns_server = bad_dns[i];
        assert_int_equal(cbacc_fetcher_new(&f, &s), CBACC_ERR_INVALID);
    }
    static const char *const good_dns[] = {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353"};
    for (size_t i = 0; i < sizeof good_dns / sizeof good_dns[0]; i++) {
        s.dns_server = good_dns[i];
        assert_int_equal(cbacc_fetcher_new(&f, &s), 0);
        cbacc_fetcher_free(f);
    }
    s.dns_server = "127.0.0.1";
    assert_int_equal(cbacc_fetcher_new(&f, &s), 0);
    assert_int_equal(cbacc_fetcher_add_override(f, "192.0.2.0/24", "http://x.example"), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_fetcher_add_override(f, "192.0.2.0/33", "https://x.example"), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_fetcher_add_override(f, "nonsense", "https://x.example"), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_fetcher_add_override(f, "2001:db8::/32", "https://[2001:db8::1]:8443/rc"), 0);
    assert_int_equal(cbacc_fetcher_add_override(f, "2001:db8::/32", "https://[2001:db8::1"), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_fetcher_add_override(f, "192.0.2.1", "https://x.example:0"), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_fetcher_add_override(f, "192.0.2.1", "https://x.example/a b"), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_fetcher_add_override_arg(f, "192.0.2.0/24=https://x.example:8443"), 0);
    assert_int_equal(cbacc_fetcher_add_override_arg(f, "192.0.2.0/24"), CBACC_ERR_INVALID);
    cbacc_sg sg = sg_of("192.0.2.1,232.1.1.1");
    assert_int_equal(cbacc_fetcher_get(f, &sg, NULL), CBACC_ERR_NOT_FOUND);
    cbacc_fetcher_unwatch(f, &sg); /* not watched: no-op */
    cbacc_fetcher_free(f);
    cbacc_fetcher_free(NULL);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    struct cbacc_fetcher_settings s;
    memset(&s, 0, sizeof s);
    s.dns_server = "127.0.0.1";
    s.cacert = "/nonexistent/ca.crt";
    for (unsigned long n = 1; n < 100; n++) {
        cbacc_alloc_fail_at(n, 0);
        cbacc_fetcher *f = NULL;
        int rc = cbacc_fetcher_new(&f, &s);
        int rc2 = f ? cbacc_fetcher_add_override(f, "192.0.2.0/24", "https://x.example") : 0;
        cbacc_sg sg = sg_of("192.0.2.1,232.1.1.1");
        int rc3 = f ? cbacc_fetcher_watch(f, &sg, 0) : 0;
        unsigned long used = cbacc_alloc_fail_at(0, 0);
        assert_true(rc == 0 || rc == CBACC_ERR_NOMEM);
        assert_true(rc2 == 0 || rc2 == CBACC_ERR_NOMEM);
        assert_true(rc3 == 0 || rc3 == CBACC_ERR_NOMEM);
        cbacc_fetcher_free(f);
        if (used < n) {
            assert_int_equal(rc | rc2 | rc3, 0);
            return;
        }
    }
    fail_msg("allocation loop did not finish");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_silence),
        cmocka_unit_test(test_dns_wrong_id_then_nxdomain),
        cmocka_unit_test(test_dns_servfail),
        cmocka_unit_test(test_dns_truncated_then_tcp),
        cmocka_unit_test(test_override_closed_port),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
