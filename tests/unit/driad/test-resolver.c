/* test-resolver.c — the async driver against a scripted DNS peer on a loopback socket
 * owned by the test.  Time is a fake clock handed to process(), so retransmission,
 * back-off and rate limiting are checked exactly, with no wall-clock dependence.
 * Loopback UDP delivery is synchronous on Linux, so a datagram sent by one side is
 * readable by the other as soon as sendto() returns; poll() bounds every wait anyway. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "driad-internal.h"
#include "test-helpers.h"

struct peer {
    int udp, tcp_listen;
    uint16_t port;
    struct sockaddr_storage client; /* where the last query came from */
    socklen_t client_len;
    uint16_t id;
    uint16_t qtype;
    char qname[DRIAD_NAME_TEXT_MAX];
};

struct got {
    int calls;
    struct driad_result *r;
};

static uint32_t lcg(void *user)
{
    uint32_t *s = user;
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void peer_open(struct peer *p, bool with_tcp)
{
    memset(p, 0, sizeof *p);
    p->udp = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(p->udp >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(p->udp, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(p->udp, (struct sockaddr *)&a, &l), 0);
    p->port = ntohs(a.sin_port);
    p->tcp_listen = -1;
    if (with_tcp) {
        p->tcp_listen = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(p->tcp_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        /* same port number as the UDP socket: a DNS server listens on both */
        assert_int_equal(bind(p->tcp_listen, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(listen(p->tcp_listen, 4), 0);
    }
}

static void peer_close(struct peer *p)
{
    close(p->udp);
    if (p->tcp_listen >= 0)
        close(p->tcp_listen);
}

static bool readable(int fd, int ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    return poll(&pf, 1, ms) == 1;
}

static bool parse_query(struct peer *p, const uint8_t *buf, size_t n)
{
    ldns_pkt *q = NULL;
    if (ldns_wire2pkt(&q, buf, n) != LDNS_STATUS_OK)
        return false;
    p->id = ldns_pkt_id(q);
    const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    p->qtype = (uint16_t)ldns_rr_get_type(qr);
    char *s = ldns_rdf2str(ldns_rr_owner(qr));
    snprintf(p->qname, sizeof p->qname, "%s", s);
    free(s);
    ldns_pkt_free(q);
    return true;
}

/* Reads one query if one is waiting (the resolver has already sent it). */
static bool peer_query(struct peer *p)
{
    uint8_t buf[1500];
    if (!readable(p->udp, 1000))
        return false;
    p->client_len = sizeof p->client;
    ssize_t n = recvfrom(p->udp, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&p->client,
                         &p->client_len);
    return n > 0 && parse_query(p, buf, (size_t)n);
}

static int peer_pending_queries(struct peer *p)
{
    int n = 0;
    uint8_t buf[1500];
    while (readable(p->udp, 0) && n < 1000) {
        p->client_len = sizeof p->client;
        ssize_t k = recvfrom(p->udp, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&p->client,
                             &p->client_len);
        if (k <= 0)
            break;
        parse_query(p, buf, (size_t)k);
        n++;
    }
    return n;
}

static void peer_send_from(int fd, struct peer *p, const struct test_msg *m)
{
    uint8_t buf[8192];
    int len = test_build(m, buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal(sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&p->client, p->client_len), len);
}

static void peer_reply(struct peer *p, const struct test_msg *m)
{
    peer_send_from(p->udp, p, m);
}

static void on_result(void *user, const struct driad_result *r)
{
    struct got *g = user;
    g->calls++;
    driad_result_free(g->r);
    assert_int_equal(driad_result_dup(r, &g->r), 0);
}

static driad_resolver *mk(struct peer *p, uint32_t *seed, unsigned rate, unsigned attempts)
{
    static struct driad_server sv;
    memset(&sv, 0, sizeof sv);
    assert_int_equal(driad_ip_parse("127.0.0.1", &sv.ip), 0);
    sv.port = p->port;
    struct driad_settings s;
    driad_settings_init(&s);
    s.servers = &sv;
    s.n_servers = 1;
    s.random = lcg;
    s.random_user = seed;
    s.rate_queries = rate;
    s.attempts = attempts;
    s.retrans_initial = DRIAD_S(1);
    s.retrans_max = DRIAD_S(4);
    s.lookup_timeout = DRIAD_S(60);
    driad_resolver *r = NULL;
    assert_int_equal(driad_resolver_new(&s, &r), 0);
    return r;
}

/* Lets the resolver read what is waiting on its sockets. */
static void pump(driad_resolver *r, uint64_t now)
{
    readable(driad_resolver_get_fd(r), 1000);
    assert_int_equal(driad_resolver_process(r, now), 0);
}

static const char *Q12 = "12.100.51.198.in-addr.arpa.";

static void test_spoofed_answers_rejected(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, false);
    uint32_t seed = 1;
    driad_resolver *r = mk(&p, &seed, 10, 3);
    struct got g = {0};
    struct driad_ip src;
    driad_ip_parse("198.51.100.12", &src);
    uint64_t now = DRIAD_S(100);
    assert_int_equal(driad_resolver_lookup(r, now, &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    assert_true(driad_resolver_get_expiry(r) <= now); /* the query is due at once */
    assert_int_equal(driad_resolver_process(r, now), 0);
    assert_true(peer_query(&p));
    assert_string_equal(p.qname, Q12);
    assert_int_equal(p.qtype, 260);
    const char *ans[] = {"12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 6 0a01cb00710f",
                         "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 25 0a0309616d7472656c617973076578616d706c6503636f6d00",
                         NULL};
    /* wrong ID, wrong question, right answer from another port: all ignored */
    struct test_msg bad_id = {.id = (uint16_t)(p.id + 1), .qname = Q12, .qtype = 260, .qr = true, .answer = ans};
    peer_reply(&p, &bad_id);
    struct test_msg bad_q = {.id = p.id, .qname = "13.100.51.198.in-addr.arpa.", .qtype = 260, .qr = true, .answer = ans};
    peer_reply(&p, &bad_q);
    struct test_msg good = {.id = p.id, .qname = Q12, .qtype = 260, .qr = true, .answer = ans};
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    peer_send_from(other, &p, &good);
    close(other);
    pump(r, now + 1);
    assert_int_equal(g.calls, 0);
    assert_int_equal(peer_pending_queries(&p), 0);
    /* the genuine answer: then the type-3 name is resolved, AAAA and A */
    peer_reply(&p, &good);
    pump(r, now + 2);
    assert_int_equal(g.calls, 0);
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        assert_true(peer_query(&p));
        assert_string_equal(p.qname, "amtrelays.example.com.");
        seen |= p.qtype == 28 ? 1 : p.qtype == 1 ? 2 : 4;
        const char *aaaa[] = {"amtrelays.example.com. 60 IN AAAA 2001:db8::15", NULL};
        const char *a[] = {"amtrelays.example.com. 60 IN A 203.0.113.16", NULL};
        struct test_msg m = {.id = p.id, .qname = "amtrelays.example.com.", .qtype = p.qtype,
                             .qr = true, .answer = p.qtype == 28 ? aaaa : a};
        peer_reply(&p, &m);
    }
    assert_int_equal(seen, 3);
    pump(r, now + 3);
    if (g.calls == 0)
        pump(r, now + 4);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.r->status, DRIAD_FOUND);
    assert_int_equal(g.r->n_records, 2);
    assert_int_equal(g.r->n_candidates, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(g.r->candidates[i].precedence, 10);
    /* interleaved: IPv6 first */
    assert_int_equal(g.r->candidates[0].address.family, AF_INET6);
    assert_int_equal(g.r->candidates[1].address.family, AF_INET);
    /* positive TTL is the minimum over AMTRELAY and A/AAAA */
    assert_int_equal(g.r->expires, now + 3 + DRIAD_S(60));
    assert_false(g.r->from_cache);

    /* a second lookup is a cache hit, delivered by process() without a query, and
     * honours a hold-down set in the meantime */
    struct driad_ip v6;
    driad_ip_parse("2001:db8::15", &v6);
    assert_int_equal(driad_resolver_holddown(r, &v6, now + DRIAD_S(300)), 0);
    assert_int_equal(driad_resolver_lookup(r, now + 10, &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    assert_int_equal(g.calls, 1);
    assert_int_equal(driad_resolver_get_expiry(r), 0);
    assert_int_equal(driad_resolver_process(r, now + 10), 0);
    assert_int_equal(g.calls, 2);
    assert_true(g.r->from_cache);
    assert_int_equal(peer_pending_queries(&p), 0);
    assert_true(g.r->candidates[2].held_down);
    assert_true(driad_ip_equal(&g.r->candidates[2].address, &v6));
    /* after the TTL the entry is gone and a new query goes out */
    assert_int_equal(driad_resolver_lookup(r, now + DRIAD_S(61), &src, DRIAD_FAMILY_V4, on_result, &g), 0);
    assert_int_equal(driad_resolver_process(r, now + DRIAD_S(61)), 0);
    assert_true(peer_query(&p));
    driad_resolver_free(r);
    /* free() cancels the pending lookup through its callback */
    assert_int_equal(g.calls, 3);
    assert_int_equal(g.r->status, DRIAD_DNS_ERROR);
    assert_int_equal(g.r->error, DRIAD_ERR_CANCELLED);
    driad_result_free(g.r);
    peer_close(&p);
}

static void test_retries_backoff_timeout(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, false);
    uint32_t seed = 7;
    driad_resolver *r = mk(&p, &seed, 10, 4);
    struct got g = {0};
    struct driad_ip src;
    driad_ip_parse("2001:db8::a", &src);
    uint64_t now = DRIAD_S(5);
    assert_int_equal(driad_resolver_lookup(r, now, &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    uint16_t ids[4];
    for (int attempt = 0; attempt < 4; attempt++) {
        assert_int_equal(driad_resolver_process(r, now), 0);
        assert_true(peer_query(&p));
        assert_int_equal(peer_pending_queries(&p), 0); /* exactly one per attempt */
        assert_string_equal(p.qname,
                            "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
        ids[attempt] = p.id;
        uint64_t exp = driad_resolver_get_expiry(r);
        /* RFC 8777 §3.5: wait in [1 s, min(1 s * 2^n, 4 s)] */
        uint64_t hi = DRIAD_S(1) << attempt;
        if (hi > DRIAD_S(4))
            hi = DRIAD_S(4);
        assert_true(exp >= now + DRIAD_S(1));
        assert_true(exp <= now + hi);
        /* nothing happens before the deadline */
        assert_int_equal(driad_resolver_process(r, exp - 1), 0);
        assert_int_equal(peer_pending_queries(&p), 0);
        now = exp;
    }
    /* a fresh random ID for every send */
    assert_true(ids[0] != ids[1] || ids[1] != ids[2] || ids[2] != ids[3]);
    assert_int_equal(g.calls, 0);
    assert_int_equal(driad_resolver_process(r, now), 0);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.r->status, DRIAD_DNS_ERROR);
    assert_int_equal(g.r->error, DRIAD_ERR_TIMEOUT);
    assert_int_equal(driad_resolver_pending(r), 0);
    assert_int_equal(driad_resolver_get_expiry(r), DRIAD_NEVER);
    driad_result_free(g.r);
    driad_resolver_free(r);
    peer_close(&p);
}

static void test_rate_limit(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, false);
    uint32_t seed = 3;
    /* RFC 8777 §3.2.2 shape: 2 queries per 100 ms for this test */
    static struct driad_server sv;
    driad_ip_parse("127.0.0.1", &sv.ip);
    sv.port = p.port;
    struct driad_settings s;
    driad_settings_init(&s);
    s.servers = &sv;
    s.n_servers = 1;
    s.random = lcg;
    s.random_user = &seed;
    s.rate_queries = 2;
    s.rate_interval = DRIAD_MS(100);
    driad_resolver *r = NULL;
    assert_int_equal(driad_resolver_new(&s, &r), 0);
    struct got g = {0};
    uint64_t now = DRIAD_S(1);
    for (int i = 1; i <= 5; i++) {
        struct driad_ip src;
        char t[32];
        snprintf(t, sizeof t, "192.0.2.%d", i);
        driad_ip_parse(t, &src);
        assert_int_equal(driad_resolver_lookup(r, now, &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    }
    assert_int_equal(driad_resolver_process(r, now), 0);
    readable(p.udp, 1000);
    assert_int_equal(peer_pending_queries(&p), 2);
    /* one token every 50 ms */
    assert_int_equal(driad_resolver_get_expiry(r), now + DRIAD_MS(50));
    assert_int_equal(driad_resolver_process(r, now + DRIAD_MS(49)), 0);
    assert_int_equal(peer_pending_queries(&p), 0);
    assert_int_equal(driad_resolver_process(r, now + DRIAD_MS(50)), 0);
    readable(p.udp, 1000);
    assert_int_equal(peer_pending_queries(&p), 1);
    assert_int_equal(driad_resolver_process(r, now + DRIAD_MS(150)), 0);
    readable(p.udp, 1000);
    assert_int_equal(peer_pending_queries(&p), 2);
    assert_int_equal(driad_resolver_pending(r), 5);
    driad_resolver_free(r);
    assert_int_equal(g.calls, 5);
    driad_result_free(g.r);
    peer_close(&p);
}

static void test_truncation_tcp_and_outcomes(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, true);
    uint32_t seed = 11;
    driad_resolver *r = mk(&p, &seed, 0, 3);
    struct got g = {0};
    struct driad_ip src;
    driad_ip_parse("198.51.100.12", &src);
    uint64_t now = DRIAD_S(1);
    assert_int_equal(driad_resolver_lookup(r, now, &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    assert_int_equal(driad_resolver_process(r, now), 0);
    assert_true(peer_query(&p));
    struct test_msg tc = {.id = p.id, .qname = Q12, .qtype = 260, .qr = true, .tc = true};
    peer_reply(&p, &tc);
    pump(r, now);
    /* the resolver connects over TCP with the same question */
    assert_true(readable(p.tcp_listen, 1000));
    int c = accept(p.tcp_listen, NULL, NULL);
    assert_true(c >= 0);
    pump(r, now); /* connect completes: query written */
    uint8_t buf[4096];
    size_t got = 0;
    for (int i = 0; i < 10 && (got < 2 || got < 2u + (size_t)(buf[0] << 8 | buf[1])); i++) {
        assert_true(readable(c, 1000));
        ssize_t n = recv(c, buf + got, sizeof buf - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_true(parse_query(&p, buf + 2, got - 2));
    assert_string_equal(p.qname, Q12);
    const char *ans[] = {"12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 2 0000",
                         "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 6 1401cb00710f", NULL};
    struct test_msg m = {.id = p.id, .qname = Q12, .qtype = 260, .qr = true, .answer = ans};
    int len = test_build(&m, buf + 2, sizeof buf - 2);
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    /* in two pieces, to exercise partial reads */
    assert_int_equal(send(c, buf, 5, 0), 5);
    pump(r, now);
    assert_int_equal(send(c, buf + 5, (size_t)len - 3, 0), len - 3);
    pump(r, now);
    close(c);
    assert_int_equal(g.calls, 1);
    /* type 0 at the best precedence (project rule, spec §4) */
    assert_int_equal(g.r->status, DRIAD_NO_RELAY);
    assert_int_equal(g.r->n_candidates, 0);

    /* SERVFAIL from the only server is final; NXDOMAIN is NO_RECORD and cached */
    driad_ip_parse("198.51.100.13", &src);
    assert_int_equal(driad_resolver_lookup(r, now, &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    assert_int_equal(driad_resolver_process(r, now), 0);
    assert_true(peer_query(&p));
    struct test_msg sf = {.id = p.id, .qname = "13.100.51.198.in-addr.arpa.", .qtype = 260,
                          .qr = true, .rcode = LDNS_RCODE_SERVFAIL};
    peer_reply(&p, &sf);
    pump(r, now);
    assert_int_equal(g.calls, 2);
    assert_int_equal(g.r->status, DRIAD_DNS_ERROR);
    assert_int_equal(g.r->error, DRIAD_ERR_SERVFAIL);
    assert_int_equal(driad_resolver_lookup(r, now, &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    assert_int_equal(driad_resolver_process(r, now), 0);
    assert_true(peer_query(&p)); /* errors are not cached */
    const char *soa[] = {"100.51.198.in-addr.arpa. 300 IN SOA ns1.example.com. h.example.com. 1 3600 900 604800 60", NULL};
    struct test_msg nx = {.id = p.id, .qname = "13.100.51.198.in-addr.arpa.", .qtype = 260,
                          .qr = true, .rcode = LDNS_RCODE_NXDOMAIN, .authority = soa};
    peer_reply(&p, &nx);
    pump(r, now);
    assert_int_equal(g.calls, 3);
    assert_int_equal(g.r->status, DRIAD_NO_RECORD);
    assert_int_equal(g.r->expires, now + DRIAD_S(60));
    assert_int_equal(driad_resolver_lookup(r, now + DRIAD_S(59), &src, DRIAD_FAMILY_ANY, on_result, &g), 0);
    assert_int_equal(driad_resolver_process(r, now + DRIAD_S(59)), 0);
    assert_int_equal(g.calls, 4);
    assert_true(g.r->from_cache);
    assert_int_equal(g.r->status, DRIAD_NO_RECORD);
    assert_int_equal(peer_pending_queries(&p), 0);
    driad_result_free(g.r);
    driad_resolver_free(r);
    peer_close(&p);
}

static void test_sync_call(void **state)
{
    (void)state;
    /* the blocking call against a port nobody answers: it returns a DNS_ERROR result
     * once its (short) lookup deadline passes */
    struct peer p;
    peer_open(&p, false);
    struct driad_server sv;
    driad_ip_parse("127.0.0.1", &sv.ip);
    sv.port = p.port;
    struct driad_settings s;
    driad_settings_init(&s);
    s.servers = &sv;
    s.n_servers = 1;
    s.retrans_initial = DRIAD_MS(20);
    s.retrans_max = DRIAD_MS(40);
    s.attempts = 2;
    s.lookup_timeout = DRIAD_MS(200);
    struct driad_ip src;
    driad_ip_parse("192.0.2.1", &src);
    struct driad_result *res = NULL;
    assert_int_equal(driad_lookup_sync(&s, &src, DRIAD_FAMILY_ANY, &res), 0);
    assert_non_null(res);
    assert_int_equal(res->status, DRIAD_DNS_ERROR);
    assert_int_equal(res->error, DRIAD_ERR_TIMEOUT);
    assert_int_equal(peer_pending_queries(&p), 2);
    driad_result_free(res);
    /* bad settings are refused up front */
    s.attempts = 0;
    assert_int_equal(driad_lookup_sync(&s, &src, DRIAD_FAMILY_ANY, &res), DRIAD_ERR_INVALID_ARGUMENT);
    peer_close(&p);
}

static void test_resolv_conf(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/driad-resolv-%ld", (long)getpid());
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    const char *text = "# comment\nsearch example.com\nnameserver fe80::1%eth0\nnameserver 127.0.0.1\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct driad_settings s;
    driad_settings_init(&s);
    s.resolv_conf = path;
    driad_resolver *r = NULL;
    assert_int_equal(driad_resolver_new(&s, &r), 0);
    driad_resolver_free(r);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "search x\n", 9), 9);
    close(fd);
    assert_int_equal(driad_resolver_new(&s, &r), DRIAD_ERR_NO_SERVER);
    unlink(path);
    assert_int_equal(driad_resolver_new(&s, &r), DRIAD_ERR_CONFIG);
}

struct status_only {
    int calls;
    enum driad_status status;
    int error;
};

static void on_status(void *user, const struct driad_result *r)
{
    struct status_only *s = user;
    s->calls++;
    s->status = r->status;
    s->error = r->error;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    struct peer p;
    peer_open(&p, false);
    uint32_t seed = 5;
    struct driad_ip src;
    driad_ip_parse("198.51.100.12", &src);
    int created = 0, failed = 0;
    /* fail the 1st, 2nd ... allocation of creating a resolver and starting a lookup:
     * every failure is reported (DRIAD_ERR_NOMEM, or a DNS_ERROR result carrying it),
     * nothing leaks (the sanitizer build checks) and the callback always runs once */
    for (long n = 0; n < 12; n++) {
        driad_alloc_fail_after(n);
        driad_resolver *r = NULL;
        static struct driad_server sv;
        driad_ip_parse("127.0.0.1", &sv.ip);
        sv.port = p.port;
        struct driad_settings s;
        driad_settings_init(&s);
        s.servers = &sv;
        s.n_servers = 1;
        s.random = lcg;
        s.random_user = &seed;
        int err = driad_resolver_new(&s, &r);
        if (err < 0) {
            driad_alloc_fail_after(-1);
            assert_int_equal(err, DRIAD_ERR_NOMEM);
            failed++;
            continue;
        }
        created++;
        struct status_only st = {0};
        int e2 = driad_resolver_lookup(r, DRIAD_S(1), &src, DRIAD_FAMILY_ANY, on_status, &st);
        if (e2 == 0)
            assert_int_equal(driad_resolver_process(r, DRIAD_S(1)), 0);
        driad_alloc_fail_after(-1);
        driad_resolver_free(r);
        if (e2 < 0) {
            assert_int_equal(e2, DRIAD_ERR_NOMEM);
            assert_int_equal(st.calls, 0);
        } else {
            assert_int_equal(st.calls, 1);
            assert_int_equal(st.status, DRIAD_DNS_ERROR);
            assert_true(st.error == DRIAD_ERR_NOMEM || st.error == DRIAD_ERR_CANCELLED);
        }
        peer_pending_queries(&p);
    }
    assert_true(created > 0 && failed > 0);
    peer_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spoofed_answers_rejected),
        cmocka_unit_test(test_retries_backoff_timeout),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_truncation_tcp_and_outcomes),
        cmocka_unit_test(test_sync_call),
        cmocka_unit_test(test_resolv_conf),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
