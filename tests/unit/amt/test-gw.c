/* test-gw.c — every state transition and timer of the gateway state machine, with a
 * fake clock, scripted randomness and failing allocators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "amt-internal.h"
#include "golden.h"

#define MAXSENT 512
#define MAXEV 64

struct sent {
    amt_endpoint dst;
    uint8_t buf[1600];
    size_t len;
    amt_msg m;
};

struct ctx {
    amt_gw *gw;
    amt_gw_settings s;
    struct sent sent[MAXSENT];
    int n_sent;
    amt_gw_event ev[MAXEV];
    int n_ev;
    uint32_t rnd[64];
    int n_rnd, i_rnd;
    uint32_t counter;
    int send_fail;
    /* allocator */
    int alloc_calls, fail_at;
};

static amt_addr A(const char *s)
{
    amt_addr a;
    assert_int_equal(amt_addr_parse(&a, s), 0);
    return a;
}

static amt_endpoint EP(const char *s, uint16_t port)
{
    amt_endpoint e = {.addr = A(s), .port = port};
    return e;
}

static amt_sg SG(const char *s, const char *g)
{
    amt_sg sg = {.source = A(s), .group = A(g)};
    return sg;
}

static uint32_t t_rand(void *user)
{
    struct ctx *c = user;
    if (c->i_rnd < c->n_rnd)
        return c->rnd[c->i_rnd++];
    return 0x1000 + ++c->counter;
}

static int t_send(void *user, const amt_endpoint *dst, const uint8_t *buf, size_t len)
{
    struct ctx *c = user;
    if (c->send_fail)
        return -1;
    assert_true(c->n_sent < MAXSENT);
    struct sent *s = &c->sent[c->n_sent++];
    s->dst = *dst;
    assert_true(len <= sizeof s->buf);
    memcpy(s->buf, buf, len);
    s->len = len;
    /* Everything the gateway emits must decode. */
    assert_int_equal(amt_msg_decode(&s->m, s->buf, len), 0);
    /* RFC 7450: never a zero nonce (digest §7). */
    assert_int_not_equal(s->m.nonce, 0);
    return 0;
}

static void t_event(void *user, const amt_gw_event *ev)
{
    struct ctx *c = user;
    assert_true(c->n_ev < MAXEV);
    c->ev[c->n_ev++] = *ev;
}

static void *t_malloc(size_t n, void *user)
{
    struct ctx *c = user;
    if (++c->alloc_calls == c->fail_at)
        return NULL;
    return malloc(n);
}

static void *t_realloc(void *p, size_t n, void *user)
{
    struct ctx *c = user;
    if (++c->alloc_calls == c->fail_at)
        return NULL;
    return realloc(p, n);
}

static void t_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static struct ctx *ctx_new(bool discovery)
{
    struct ctx *c = calloc(1, sizeof *c);
    assert_non_null(c);
    amt_gw_settings_default(&c->s);
    c->s.relay = discovery ? EP("192.52.193.1", AMT_PORT) : EP("10.3.3.1", AMT_PORT);
    c->s.discovery = discovery;
    c->s.discovery_jitter_pct = 0;
    c->s.user = c;
    c->s.rand = t_rand;
    c->s.send = t_send;
    c->s.event = t_event;
    return c;
}

static void ctx_start(struct ctx *c)
{
    assert_int_equal(amt_gw_new(&c->gw, &c->s), 0);
}

static void ctx_free(struct ctx *c)
{
    amt_gw_free(c->gw);
    free(c);
}

static struct sent *last(struct ctx *c)
{
    assert_true(c->n_sent > 0);
    return &c->sent[c->n_sent - 1];
}

static int count_events(struct ctx *c, int type)
{
    int n = 0;
    for (int i = 0; i < c->n_ev; i++)
        n += c->ev[i].type == type;
    return n;
}

/* Builds an IGMPv3 General Query datagram (IHL 6) with the given codes. */
static size_t igmp_query(uint8_t *ip, uint8_t mrc, uint8_t qqic)
{
    memcpy(ip, golden_query_v4_ihl6 + 12, 36);
    uint8_t *g = ip + 24;
    g[1] = mrc;
    g[9] = qqic;
    g[2] = g[3] = 0;
    amt_put16(g + 2, amt_checksum(g, 12));
    return 36;
}

static int feed_query(struct ctx *c, uint64_t now, uint32_t nonce, const uint8_t mac[6], bool l,
                      bool g, uint16_t gport, const char *gaddr, uint8_t qqic)
{
    uint8_t ip[64], buf[128];
    size_t n = igmp_query(ip, 16, qqic);
    amt_msg m = {.type = AMT_MEMBERSHIP_QUERY, .nonce = nonce, .l_flag = l, .g_flag = g,
                 .ip = ip, .ip_len = n, .gateway_port = gport};
    if (gaddr)
        m.gateway_address = A(gaddr);
    memcpy(m.response_mac, mac, 6);
    int len = amt_msg_encode(&m, buf, sizeof buf);
    assert_true(len > 0);
    amt_endpoint from = *amt_gw_get_relay(c->gw);
    return amt_gw_recv(c->gw, now, &from, buf, (size_t)len, NULL);
}

static int feed_adv(struct ctx *c, uint64_t now, uint32_t nonce, const char *relay)
{
    uint8_t buf[32];
    amt_msg m = {.type = AMT_RELAY_ADVERTISEMENT, .nonce = nonce, .relay_address = A(relay)};
    int len = amt_msg_encode(&m, buf, sizeof buf);
    return amt_gw_recv(c->gw, now, &c->s.relay, buf, (size_t)len, NULL);
}

static const uint8_t MAC1[6] = {1, 2, 3, 4, 5, 6};
static const uint8_t MAC2[6] = {9, 8, 7, 6, 5, 4};

struct recs {
    int n;
    uint8_t type[256];
    int nsrc;
};

static int count_rec(void *user, int family, const amt_record_view *r)
{
    (void)family;
    struct recs *x = user;
    if (x->n < 256)
        x->type[x->n] = r->type;
    x->n++;
    x->nsrc += r->n_sources;
    return 0;
}

/* Decodes an Update's report strictly and counts its records. */
static struct recs update_records(const struct sent *s, int *family)
{
    struct recs x = {0};
    assert_int_equal(s->m.type, AMT_MEMBERSHIP_UPDATE);
    assert_int_equal(amt_report_parse(s->m.ip, s->m.ip_len, family, count_rec, &x), 0);
    return x;
}

/* Drives a fresh discovery gateway to ACTIVE with one channel; returns the time. */
static uint64_t to_active(struct ctx *c)
{
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    uint32_t dn = last(c)->m.nonce;
    assert_int_equal(feed_adv(c, 10, dn, "10.3.3.1"), 0);
    uint32_t rn = last(c)->m.nonce;
    assert_int_equal(feed_query(c, 20, rn, MAC1, false, false, 0, NULL, 20), 0);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_ACTIVE);
    return 20;
}

/* ---- discovery ------------------------------------------------------------------- */

static void test_discovery_backoff(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_IDLE);
    assert_int_equal(amt_gw_get_expiry(c->gw), AMT_NEVER);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    assert_int_equal(c->n_sent, 1);
    assert_int_equal(last(c)->m.type, AMT_RELAY_DISCOVERY);
    assert_true(amt_addr_equal(&last(c)->dst.addr, &c->s.relay.addr));
    /* 1, 2, 4 … 64 s, capped; a new nonce every attempt (RFC 7450 §5.2.3.4.1). */
    static const uint64_t gaps[] = {1, 2, 4, 8, 16, 32, 64, 64, 64};
    uint64_t t = 0;
    for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
        uint32_t prev = last(c)->m.nonce;
        assert_int_equal(amt_gw_get_expiry(c->gw), t + AMT_S(gaps[i]));
        amt_gw_handle_expiry(c->gw, t + AMT_S(gaps[i]) - 1);
        assert_int_equal(c->n_sent, (int)i + 1); /* not early */
        t += AMT_S(gaps[i]);
        amt_gw_handle_expiry(c->gw, t);
        assert_int_equal(c->n_sent, (int)i + 2);
        assert_int_equal(last(c)->m.type, AMT_RELAY_DISCOVERY);
        assert_int_not_equal(last(c)->m.nonce, prev);
        /* Reported once, after discovery_report_after unanswered attempts. */
        assert_int_equal(count_events(c, AMT_EV_DISCOVERY_FAILED), i >= 3 ? 1 : 0);
    }
    amt_gw_counters k;
    amt_gw_get_counters(c->gw, &k);
    assert_int_equal(k.discoveries, 10);
    assert_int_equal(k.tx[AMT_RELAY_DISCOVERY], 10);
    ctx_free(c);
}

static void test_discovery_jitter(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        struct ctx *c = ctx_new(true);
        c->s.discovery_jitter_pct = 20;
        /* nonce, then the jitter draw: 0 → −20 %, 40 → +20 %. */
        c->rnd[0] = 77;
        c->rnd[1] = k ? 40 : 0;
        c->n_rnd = 2;
        ctx_start(c);
        amt_sg sg = SG("10.2.2.1", "232.1.1.1");
        assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
        assert_int_equal(last(c)->m.nonce, 77);
        assert_int_equal(amt_gw_get_expiry(c->gw), k ? AMT_MS(1200) : AMT_MS(800));
        ctx_free(c);
    }
}

static void test_advertisement_checks(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    uint32_t old = last(c)->m.nonce;
    amt_gw_handle_expiry(c->gw, AMT_S(1));
    uint32_t cur = last(c)->m.nonce;
    /* The nonce of an earlier attempt is stale. */
    assert_int_equal(feed_adv(c, AMT_S(1), old, "10.3.3.1"), AMT_ERR_NONCE);
    /* Unusable relay addresses. */
    assert_int_equal(feed_adv(c, AMT_S(1), cur, "0.0.0.0"), AMT_ERR_ADDRESS);
    assert_int_equal(feed_adv(c, AMT_S(1), cur, "127.0.0.1"), AMT_ERR_ADDRESS);
    assert_int_equal(feed_adv(c, AMT_S(1), cur, "239.1.1.1"), AMT_ERR_ADDRESS);
    assert_int_equal(feed_adv(c, AMT_S(1), cur, "::"), AMT_ERR_ADDRESS);
    /* From another address or port than the discovery address. */
    uint8_t buf[32];
    amt_msg m = {.type = AMT_RELAY_ADVERTISEMENT, .nonce = cur, .relay_address = A("10.3.3.1")};
    int len = amt_msg_encode(&m, buf, sizeof buf);
    amt_endpoint bad = EP("192.52.193.2", AMT_PORT);
    assert_int_equal(amt_gw_recv(c->gw, AMT_S(1), &bad, buf, (size_t)len, NULL), AMT_ERR_SOURCE);
    bad = EP("192.52.193.1", 2269);
    assert_int_equal(amt_gw_recv(c->gw, AMT_S(1), &bad, buf, (size_t)len, NULL), AMT_ERR_SOURCE);
    amt_gw_counters k;
    amt_gw_get_counters(c->gw, &k);
    assert_int_equal(k.drops[AMT_DROP_NONCE], 1);
    assert_int_equal(k.drops[AMT_DROP_MALFORMED], 4);
    assert_int_equal(k.drops[AMT_DROP_SOURCE], 2);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    /* The good one: an IPv6 relay advertised over IPv4 discovery. */
    assert_int_equal(feed_adv(c, AMT_S(1), cur, "2001:db8::15"), 0);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_REQUESTING);
    assert_int_equal(count_events(c, AMT_EV_RELAY_FOUND), 1);
    assert_int_equal(last(c)->m.type, AMT_REQUEST);
    amt_endpoint want = EP("2001:db8::15", AMT_PORT);
    assert_true(amt_addr_equal(&last(c)->dst.addr, &want.addr));
    /* A second Advertisement is not expected any more. */
    assert_int_equal(feed_adv(c, AMT_S(1), cur, "10.3.3.1"), AMT_ERR_STATE);
    ctx_free(c);
}

static void test_loopback_relay_over_loopback(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    c->s.relay = EP("127.0.0.1", AMT_PORT);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(feed_adv(c, 1, last(c)->m.nonce, "127.0.0.1"), 0);
    ctx_free(c);
}

/* ---- request / query / update ---------------------------------------------------- */

static void test_request_query_update(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(feed_adv(c, 5, last(c)->m.nonce, "10.3.3.1"), 0);
    struct sent *rq = last(c);
    assert_int_equal(rq->m.type, AMT_REQUEST);
    assert_false(rq->m.p_flag); /* IPv4 channels: IGMPv3 */
    uint32_t rn = rq->m.nonce;
    /* Retransmissions keep the nonce (RFC 7450 §5.2.3.5.6 spirit; digest §4). */
    amt_gw_handle_expiry(c->gw, 5 + AMT_S(1));
    assert_int_equal(last(c)->m.type, AMT_REQUEST);
    assert_int_equal(last(c)->m.nonce, rn);
    assert_int_equal(amt_gw_get_expiry(c->gw), 5 + AMT_S(3));
    /* A Query with another nonce is dropped. */
    assert_int_equal(feed_query(c, AMT_S(2), rn + 1, MAC1, false, false, 0, NULL, 20), AMT_ERR_NONCE);
    int before = c->n_sent;
    assert_int_equal(feed_query(c, AMT_S(2), rn, MAC1, false, false, 0, NULL, 20), 0);
    assert_int_equal(c->n_sent, before + 1);
    struct sent *up = last(c);
    assert_memory_equal(up->m.response_mac, MAC1, 6);
    assert_int_equal(up->m.nonce, rn);
    int fam;
    struct recs r = update_records(up, &fam);
    assert_int_equal(fam, AMT_IPV4);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.type[0], AMT_MODE_IS_INCLUDE);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_ACTIVE);
    assert_int_equal(count_events(c, AMT_EV_CONNECTED), 1);
    /* Refresh: QQI 20 s − MRT 1.6 s after the Query. */
    assert_int_equal(amt_gw_get_expiry(c->gw), AMT_S(2) + AMT_S(20) - AMT_MS(1600));
    /* The same Query again is a duplicate: no request outstanding. */
    assert_int_equal(feed_query(c, AMT_S(3), rn, MAC1, false, false, 0, NULL, 20), AMT_ERR_STATE);
    amt_gw_counters k;
    amt_gw_get_counters(c->gw, &k);
    assert_int_equal(k.request_cycles, 1);
    assert_int_equal(k.tx[AMT_MEMBERSHIP_UPDATE], 1);
    ctx_free(c);
}

static void test_refresh_cycle(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    uint64_t t = to_active(c);
    uint32_t n1 = c->sent[1].m.nonce;
    uint64_t due = t + AMT_S(20) - AMT_MS(1600);
    amt_gw_handle_expiry(c->gw, due - 1);
    int before = c->n_sent;
    assert_int_equal(c->n_sent, before);
    amt_gw_handle_expiry(c->gw, due);
    /* A new Request cycle with a fresh nonce; still ACTIVE meanwhile. */
    assert_int_equal(last(c)->m.type, AMT_REQUEST);
    uint32_t n2 = last(c)->m.nonce;
    assert_int_not_equal(n2, n1);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_ACTIVE);
    /* A join during the cycle uses the latest MAC+nonce (MAC1, n1). */
    amt_sg sg2 = SG("10.2.2.1", "232.1.1.2");
    assert_int_equal(amt_gw_join(c->gw, due + 1, &sg2), 0);
    assert_memory_equal(last(c)->m.response_mac, MAC1, 6);
    assert_int_equal(last(c)->m.nonce, n1);
    int fam;
    struct recs r = update_records(last(c), &fam);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.type[0], AMT_ALLOW_NEW_SOURCES);
    /* The relay rotated its secret: the new MAC is used from now on. */
    assert_int_equal(feed_query(c, due + 2, n2, MAC2, false, false, 0, NULL, 20), 0);
    r = update_records(last(c), &fam);
    assert_memory_equal(last(c)->m.response_mac, MAC2, 6);
    assert_int_equal(last(c)->m.nonce, n2);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.type[0], AMT_MODE_IS_INCLUDE);
    assert_int_equal(count_events(c, AMT_EV_CONNECTED), 1);
    amt_sg sg1 = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_leave(c->gw, due + 3, &sg1), 0);
    assert_memory_equal(last(c)->m.response_mac, MAC2, 6);
    r = update_records(last(c), &fam);
    assert_int_equal(r.type[0], AMT_BLOCK_OLD_SOURCES);
    ctx_free(c);
}

static void test_refresh_min(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(false);
    c->s.refresh_min = AMT_S(1);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 100, &sg), 0);
    /* QQIC 1 s < MRT 1.6 s: not sooner than refresh_min after the cycle began. */
    assert_int_equal(feed_query(c, 200, last(c)->m.nonce, MAC1, false, false, 0, NULL, 1), 0);
    assert_int_equal(amt_gw_get_expiry(c->gw), 100 + AMT_S(1));
    /* QQIC 0 = the default 125 s (RFC 3376 §8.2). */
    amt_gw_handle_expiry(c->gw, 100 + AMT_S(1));
    assert_int_equal(feed_query(c, AMT_S(2), last(c)->m.nonce, MAC1, false, false, 0, NULL, 0), 0);
    assert_int_equal(amt_gw_get_expiry(c->gw), AMT_S(2) + AMT_S(125) - AMT_MS(1600));
    ctx_free(c);
}

static void test_request_failure_rediscovers(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(feed_adv(c, 0, last(c)->m.nonce, "10.3.3.1"), 0);
    uint32_t rn = last(c)->m.nonce;
    /* Requests at 0, 1, 3, 7 s; at 15 s the relay is lost (4 unanswered). */
    static const uint64_t at[] = {1, 3, 7};
    for (int i = 0; i < 3; i++) {
        amt_gw_handle_expiry(c->gw, AMT_S(at[i]));
        assert_int_equal(last(c)->m.type, AMT_REQUEST);
        assert_int_equal(last(c)->m.nonce, rn);
    }
    assert_int_equal(amt_gw_get_expiry(c->gw), AMT_S(15));
    amt_gw_handle_expiry(c->gw, AMT_S(15));
    assert_int_equal(count_events(c, AMT_EV_RELAY_LOST), 1);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    assert_int_equal(last(c)->m.type, AMT_RELAY_DISCOVERY);
    amt_gw_counters k;
    amt_gw_get_counters(c->gw, &k);
    assert_int_equal(k.relay_lost, 1);
    assert_int_equal(k.tx[AMT_REQUEST], 4);
    ctx_free(c);
}

static void test_active_loss_rediscovers(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    uint64_t t = to_active(c);
    uint64_t due = t + AMT_S(20) - AMT_MS(1600);
    amt_gw_handle_expiry(c->gw, due);
    for (int i = 0; i < 4; i++)
        amt_gw_handle_expiry(c->gw, amt_gw_get_expiry(c->gw));
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    assert_int_equal(count_events(c, AMT_EV_RELAY_LOST), 1);
    /* Nothing is sent with the forgotten MAC any more: a join waits for the new cycle. */
    amt_sg sg2 = SG("10.2.2.1", "232.1.1.2");
    int before = c->n_sent;
    assert_int_equal(amt_gw_join(c->gw, due + AMT_S(20), &sg2), 0);
    assert_int_equal(c->n_sent, before);
    ctx_free(c);
}

static void test_direct_request(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(false);
    c->s.restart_span = AMT_S(10);
    c->rnd[0] = 5;            /* first request nonce */
    c->rnd[1] = UINT32_MAX / 2; /* restart delay draw: half the span */
    c->rnd[2] = 6;            /* second request nonce */
    c->rnd[3] = 7;
    c->n_rnd = 4;
    ctx_start(c);
    amt_sg sg = SG("2001:db8::1", "ff3e::8000:1");
    c->s.relay = EP("10.3.3.1", AMT_PORT);
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_REQUESTING);
    assert_int_equal(last(c)->m.type, AMT_REQUEST);
    assert_true(last(c)->m.p_flag); /* IPv6 channels only: MLDv2 (RFC 7450 §5.1.3.3) */
    assert_int_equal(last(c)->m.nonce, 5);
    assert_int_equal(c->n_sent, 1);
    for (int i = 0; i < 4; i++)
        amt_gw_handle_expiry(c->gw, amt_gw_get_expiry(c->gw));
    /* Lost: a fresh Request cycle after a random delay (RFC 8777 §3.3.4.2), no discovery. */
    assert_int_equal(count_events(c, AMT_EV_RELAY_LOST), 1);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_REQUESTING);
    assert_int_equal(c->n_sent, 4);
    uint64_t t = amt_gw_get_expiry(c->gw);
    assert_int_equal(t, AMT_S(15) + (uint64_t)(UINT32_MAX / 2) * AMT_S(10) / UINT32_MAX);
    amt_gw_handle_expiry(c->gw, t);
    assert_int_equal(c->n_sent, 5);
    assert_int_equal(last(c)->m.nonce, 6);
    for (int i = 0; i < c->n_sent; i++)
        assert_int_not_equal(c->sent[i].m.type, AMT_RELAY_DISCOVERY);
    ctx_free(c);
}

static void test_zero_nonce_avoided(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(false);
    c->rnd[0] = 0;
    c->rnd[1] = 0;
    c->rnd[2] = 42;
    c->n_rnd = 3;
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(last(c)->m.nonce, 42);
    ctx_free(c);
}

static void test_join_leave(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    uint64_t t = to_active(c);
    amt_sg sg1 = SG("10.2.2.1", "232.1.1.1"), sg2 = SG("10.2.2.9", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, t, &sg1), AMT_ERR_EXISTS);
    assert_int_equal(amt_gw_join(c->gw, t, &sg2), 0);
    int fam;
    struct recs r = update_records(last(c), &fam);
    assert_int_equal(r.type[0], AMT_ALLOW_NEW_SOURCES);
    assert_int_equal(amt_gw_channel_count(c->gw), 2);
    amt_sg bad = SG("10.2.2.1", "10.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, t, &bad), AMT_ERR_INVALID_ARG);
    bad = SG("2001:db8::1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, t, &bad), AMT_ERR_INVALID_ARG);
    amt_sg other = SG("10.2.2.1", "232.9.9.9");
    assert_int_equal(amt_gw_leave(c->gw, t, &other), AMT_ERR_NOT_FOUND);
    assert_int_equal(amt_gw_leave(c->gw, t, &sg1), 0);
    r = update_records(last(c), &fam);
    assert_int_equal(r.type[0], AMT_BLOCK_OLD_SOURCES);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_ACTIVE);
    int before = c->n_sent;
    assert_int_equal(amt_gw_leave(c->gw, t, &sg2), 0);
    /* Last leave: BLOCK, no Teardown (no G=1 Query seen), IDLE, no timers. */
    assert_int_equal(c->n_sent, before + 1);
    assert_int_equal(last(c)->m.type, AMT_MEMBERSHIP_UPDATE);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_IDLE);
    assert_int_equal(amt_gw_get_expiry(c->gw), AMT_NEVER);
    /* Joining again starts over with discovery. */
    assert_int_equal(amt_gw_join(c->gw, t + 1, &sg1), 0);
    assert_int_equal(last(c)->m.type, AMT_RELAY_DISCOVERY);
    ctx_free(c);
}

static void test_l_flag_first(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    c->s.holddown = AMT_S(600);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(feed_adv(c, 0, last(c)->m.nonce, "10.3.3.1"), 0);
    int before = c->n_sent;
    assert_int_equal(feed_query(c, 10, last(c)->m.nonce, MAC1, true, false, 0, NULL, 20), 0);
    /* Refused: nothing sent, held down (RFC 8777 §3.3.5), then discovery again. */
    assert_int_equal(c->n_sent, before);
    assert_int_equal(count_events(c, AMT_EV_RELAY_REFUSED), 1);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_HOLDDOWN);
    assert_int_equal(amt_gw_get_expiry(c->gw), 10 + AMT_S(600));
    before = c->n_sent;
    /* Nothing to leave at a relay that took nothing. */
    amt_gw_shutdown(c->gw, 11);
    assert_int_equal(c->n_sent, before);
    assert_int_equal(amt_gw_join(c->gw, 12, &sg), 0);
    assert_int_equal(feed_adv(c, 12, last(c)->m.nonce, "10.3.3.1"), 0);
    assert_int_equal(feed_query(c, 13, last(c)->m.nonce, MAC1, true, false, 0, NULL, 20), 0);
    assert_int_equal(amt_gw_get_expiry(c->gw), 13 + AMT_S(600));
    amt_gw_handle_expiry(c->gw, 13 + AMT_S(600));
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    assert_int_equal(last(c)->m.type, AMT_RELAY_DISCOVERY);
    ctx_free(c);
}

static void test_l_flag_established(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    uint64_t t = to_active(c);
    amt_gw_handle_expiry(c->gw, amt_gw_get_expiry(c->gw));
    uint32_t n2 = last(c)->m.nonce;
    assert_int_equal(feed_query(c, t + AMT_S(19), n2, MAC2, true, false, 0, NULL, 20), 0);
    /* Existing state is refreshed; the relay takes nothing new. */
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_ACTIVE);
    assert_int_equal(count_events(c, AMT_EV_RELAY_REFUSED), 1);
    int fam;
    struct recs r = update_records(last(c), &fam);
    assert_int_equal(r.n, 1);
    int before = c->n_sent;
    amt_sg sg2 = SG("10.2.2.1", "232.1.1.2");
    assert_int_equal(amt_gw_join(c->gw, t + AMT_S(20), &sg2), 0);
    assert_int_equal(c->n_sent, before);
    /* Leaving a channel the relay never took needs no BLOCK. */
    assert_int_equal(amt_gw_leave(c->gw, t + AMT_S(20), &sg2), 0);
    assert_int_equal(c->n_sent, before);
    assert_int_equal(amt_gw_join(c->gw, t + AMT_S(20), &sg2), 0);
    /* The next cycle without L announces it. */
    amt_gw_handle_expiry(c->gw, amt_gw_get_expiry(c->gw));
    assert_int_equal(feed_query(c, t + AMT_S(40), last(c)->m.nonce, MAC1, false, false, 0, NULL, 20), 0);
    r = update_records(last(c), &fam);
    assert_int_equal(r.n, 2);
    ctx_free(c);
}

static void test_g_flag_teardown(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(false);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    uint32_t n1 = last(c)->m.nonce;
    assert_int_equal(feed_query(c, 1, n1, MAC1, false, true, 1000, "10.3.3.2", 20), 0);
    amt_gw_handle_expiry(c->gw, amt_gw_get_expiry(c->gw));
    uint32_t n2 = last(c)->m.nonce;
    /* Same G fields: no Teardown. */
    int before = c->n_sent;
    assert_int_equal(feed_query(c, AMT_S(19), n2, MAC2, false, true, 1000, "10.3.3.2", 20), 0);
    assert_int_equal(c->n_sent, before + 1);
    amt_gw_handle_expiry(c->gw, amt_gw_get_expiry(c->gw));
    uint32_t n3 = last(c)->m.nonce;
    before = c->n_sent;
    /* NAT rebinding: Teardown with the old fields, MAC and nonce, then the Update. */
    assert_int_equal(feed_query(c, AMT_S(40), n3, MAC1, false, true, 2000, "10.3.3.2", 20), 0);
    assert_int_equal(c->n_sent, before + 2);
    struct sent *td = &c->sent[before];
    assert_int_equal(td->m.type, AMT_TEARDOWN);
    assert_int_equal(td->m.gateway_port, 1000);
    assert_int_equal(td->m.nonce, n2);
    assert_memory_equal(td->m.response_mac, MAC2, 6);
    assert_int_equal(count_events(c, AMT_EV_GATEWAY_CHANGED), 1);
    /* Shutdown: BLOCK, then a Teardown with the latest fields. */
    before = c->n_sent;
    amt_gw_shutdown(c->gw, AMT_S(41));
    assert_int_equal(c->n_sent, before + 2);
    int fam;
    struct recs r = update_records(&c->sent[before], &fam);
    assert_int_equal(r.type[0], AMT_BLOCK_OLD_SOURCES);
    assert_int_equal(last(c)->m.type, AMT_TEARDOWN);
    assert_int_equal(last(c)->m.gateway_port, 2000);
    assert_int_equal(last(c)->m.nonce, n3);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_IDLE);
    assert_int_equal(amt_gw_channel_count(c->gw), 0);
    ctx_free(c);
}

static void test_icmp_unreachable(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    int before = c->n_sent;
    /* While discovering the back-off handles it. */
    amt_gw_icmp_unreachable(c->gw, 5);
    assert_int_equal(c->n_sent, before);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    assert_int_equal(feed_adv(c, 10, last(c)->m.nonce, "10.3.3.1"), 0);
    /* Requesting: the Request back-off handles it too (no tight retry loop). */
    before = c->n_sent;
    amt_gw_icmp_unreachable(c->gw, 11);
    assert_int_equal(c->n_sent, before);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_REQUESTING);
    assert_int_equal(feed_query(c, 20, last(c)->m.nonce, MAC1, false, false, 0, NULL, 20), 0);
    amt_gw_icmp_unreachable(c->gw, 30);
    assert_int_equal(count_events(c, AMT_EV_RELAY_LOST), 1);
    int i;
    for (i = c->n_ev - 1; i >= 0 && c->ev[i].type != AMT_EV_RELAY_LOST; i--)
        ;
    assert_int_equal(c->ev[i].reason, AMT_LOST_UNREACHABLE);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    assert_int_equal(last(c)->m.type, AMT_RELAY_DISCOVERY);
    ctx_free(c);
}

static void test_no_traffic(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    c->s.data_timeout = AMT_S(30);
    c->s.restart_span = AMT_S(4);
    ctx_start(c);
    uint64_t t = to_active(c);
    assert_int_equal(amt_gw_get_expiry(c->gw), t + AMT_S(20) - AMT_MS(1600));
    /* Data pushes the deadline out. */
    amt_endpoint relay = EP("10.3.3.1", AMT_PORT);
    amt_data d;
    assert_int_equal(amt_gw_recv(c->gw, t + AMT_S(5), &relay, golden_data_v4, sizeof golden_data_v4, &d), 1);
    /* A refresh cycle meanwhile: Queries are not data. */
    amt_gw_handle_expiry(c->gw, t + AMT_S(20) - AMT_MS(1600));
    assert_int_equal(feed_query(c, t + AMT_S(19), last(c)->m.nonce, MAC1, false, false, 0, NULL, 20), 0);
    assert_int_equal(amt_gw_get_expiry(c->gw), t + AMT_S(35));
    amt_gw_handle_expiry(c->gw, t + AMT_S(35) - 1);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_ACTIVE);
    amt_gw_handle_expiry(c->gw, t + AMT_S(35));
    int i;
    for (i = c->n_ev - 1; i >= 0 && c->ev[i].type != AMT_EV_RELAY_LOST; i--)
        ;
    assert_true(i >= 0);
    assert_int_equal(c->ev[i].reason, AMT_LOST_NO_TRAFFIC);
    /* Re-discovery after a random delay within restart_span (RFC 8777 §3.3.4.2). */
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_DISCOVERING);
    assert_true(amt_gw_get_expiry(c->gw) <= t + AMT_S(39));
    ctx_free(c);
}

/* ---- data path ------------------------------------------------------------------- */

static void test_data_path(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    uint64_t t = to_active(c);
    amt_sg sg6 = SG("2001:db8::1", "ff3e::8000:1");
    assert_int_equal(amt_gw_join(c->gw, t, &sg6), 0);
    amt_endpoint relay = EP("10.3.3.1", AMT_PORT);
    amt_data d;
    assert_int_equal(amt_gw_recv(c->gw, t, &relay, golden_data_v4, sizeof golden_data_v4, &d), 1);
    assert_ptr_equal(d.ip, golden_data_v4 + 2);
    assert_ptr_equal(d.payload, golden_data_v4 + 30);
    assert_int_equal(d.payload_len, 5);
    assert_int_equal(amt_gw_recv(c->gw, t + 1, &relay, golden_data_v4, sizeof golden_data_v4, &d), 1);
    assert_int_equal(count_events(c, AMT_EV_FIRST_DATA), 1);
    /* IPv6 data over the IPv4 tunnel. */
    assert_int_equal(amt_gw_recv(c->gw, t + 2, &relay, golden_data_v6, sizeof golden_data_v6, &d), 1);
    assert_int_equal(count_events(c, AMT_EV_FIRST_DATA), 2);
    amt_channel_stats st;
    amt_sg sg4 = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_channel_stats(c->gw, &sg4, &st), 0);
    assert_int_equal(st.packets, 2);
    assert_int_equal(st.bytes, 66);
    assert_int_equal(st.first_data_at, t);
    /* Wrong port, wrong address. */
    amt_endpoint bad = EP("10.3.3.1", 2269);
    assert_int_equal(amt_gw_recv(c->gw, t, &bad, golden_data_v4, sizeof golden_data_v4, &d), AMT_ERR_SOURCE);
    bad = EP("10.3.3.9", AMT_PORT);
    assert_int_equal(amt_gw_recv(c->gw, t, &bad, golden_data_v4, sizeof golden_data_v4, &d), AMT_ERR_SOURCE);
    /* Not joined. */
    uint8_t b[64];
    memcpy(b, golden_data_v4, sizeof golden_data_v4);
    b[2 + 19] = 2;
    assert_int_equal(amt_gw_recv(c->gw, t, &relay, b, sizeof golden_data_v4, &d), AMT_ERR_NOT_JOINED);
    /* Inner length beyond the datagram; truncated header. */
    memcpy(b, golden_data_v4, sizeof golden_data_v4);
    b[2 + 3] = 40;
    assert_int_equal(amt_gw_recv(c->gw, t, &relay, b, sizeof golden_data_v4, &d), AMT_ERR_LENGTH);
    assert_int_equal(amt_gw_recv(c->gw, t, &relay, golden_data_v4, 21, &d), AMT_ERR_TRUNCATED);
    /* Types a gateway never receives, and a bad version. */
    static const uint8_t req[8] = {0x03, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(amt_gw_recv(c->gw, t, &relay, req, 8, &d), AMT_ERR_TYPE);
    static const uint8_t ver[8] = {0x13, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(amt_gw_recv(c->gw, t, &relay, ver, 8, &d), AMT_ERR_VERSION);
    assert_int_equal(amt_gw_recv(c->gw, t, &relay, ver, 0, &d), AMT_ERR_TRUNCATED);
    amt_gw_counters k;
    amt_gw_get_counters(c->gw, &k);
    assert_int_equal(k.data_packets, 3);
    assert_int_equal(k.drops[AMT_DROP_SOURCE], 2);
    assert_int_equal(k.drops[AMT_DROP_NOT_JOINED], 1);
    assert_int_equal(k.drops[AMT_DROP_INNER], 1);
    assert_int_equal(k.drops[AMT_DROP_MALFORMED], 3);
    assert_int_equal(k.drops[AMT_DROP_TYPE], 1);
    assert_string_equal(amt_drop_name(AMT_DROP_NOT_JOINED), "not-joined");
    ctx_free(c);
}

static void test_ipv6_tunnel(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    c->s.relay = EP("2001:3::1", AMT_PORT);
    ctx_start(c);
    amt_sg sg = SG("2001:db8::1", "ff3e::8000:1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(feed_adv(c, 1, last(c)->m.nonce, "2001:db8::15"), 0);
    uint32_t rn = last(c)->m.nonce;
    /* An MLDv2 query (what P=1 asked for). */
    uint8_t buf[128];
    memcpy(buf, golden_query_v6, sizeof golden_query_v6);
    amt_put32(buf + 8, rn);
    amt_endpoint relay = EP("2001:db8::15", AMT_PORT);
    assert_int_equal(amt_gw_recv(c->gw, 2, &relay, buf, sizeof golden_query_v6, NULL), 0);
    int fam;
    struct recs r = update_records(last(c), &fam);
    assert_int_equal(fam, AMT_IPV6);
    assert_int_equal(r.n, 1);
    /* MLD QQIC 5 s, MRT 1 s. */
    assert_int_equal(amt_gw_get_expiry(c->gw), 2 + AMT_S(4));
    amt_data d;
    assert_int_equal(amt_gw_recv(c->gw, 3, &relay, golden_data_v6, sizeof golden_data_v6, &d), 1);
    ctx_free(c);
}

static void test_query_validation(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    assert_int_equal(feed_adv(c, 1, last(c)->m.nonce, "10.3.3.1"), 0);
    uint32_t rn = last(c)->m.nonce;
    amt_endpoint relay = EP("10.3.3.1", AMT_PORT);
    uint8_t buf[128];
    /* Bad IGMP checksum inside. */
    memcpy(buf, golden_query_v4_ihl6, 48);
    amt_put32(buf + 8, rn);
    buf[12 + 24 + 2] ^= 0xFF;
    assert_int_equal(amt_gw_recv(c->gw, 2, &relay, buf, 48, NULL), AMT_ERR_CHECKSUM);
    /* An MLDv2 query for IPv4 channels (amtrelayd ignores P): accepted, counted. */
    memcpy(buf, golden_query_v6, 88);
    amt_put32(buf + 8, rn);
    assert_int_equal(amt_gw_recv(c->gw, 2, &relay, buf, 88, NULL), 0);
    amt_gw_counters k;
    amt_gw_get_counters(c->gw, &k);
    assert_int_equal(k.queries_ignored_family, 1);
    assert_int_equal(k.drops[AMT_DROP_QUERY], 1);
    /* Updates go in the family of the channels. */
    int fam;
    update_records(last(c), &fam);
    assert_int_equal(fam, AMT_IPV4);
    ctx_free(c);
}

static void test_ihl5_query(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(false);
    ctx_start(c);
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    uint8_t buf[64];
    memcpy(buf, golden_query_v4_ihl5, 44);
    amt_put32(buf + 8, last(c)->m.nonce);
    amt_endpoint relay = EP("10.3.3.1", AMT_PORT);
    assert_int_equal(amt_gw_recv(c->gw, 2, &relay, buf, 44, NULL), 0);
    assert_int_equal(amt_gw_get_state(c->gw), AMT_GW_ACTIVE);
    ctx_free(c);
}

static void test_mixed_families_and_chunking(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(false);
    ctx_start(c);
    char g[32];
    /* 300 IPv4 groups: 8 + 8 bytes each, so the report must be split. */
    for (int i = 0; i < 300; i++) {
        snprintf(g, sizeof g, "232.1.%d.%d", i / 250, i % 250 + 1);
        amt_sg sg = SG("10.2.2.1", g);
        assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    }
    /* Same group, 3 sources: one record. */
    for (int i = 1; i <= 3; i++) {
        snprintf(g, sizeof g, "2001:db8::%d", i);
        amt_sg sg = SG(g, "ff3e::1");
        assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    }
    assert_int_equal(amt_gw_channel_count(c->gw), 303);
    assert_false(last(c)->m.p_flag); /* mixed: IGMPv3 */
    int before = c->n_sent;
    assert_int_equal(feed_query(c, 1, last(c)->m.nonce, MAC1, false, false, 0, NULL, 20), 0);
    int recs4 = 0, recs6 = 0, msgs = 0;
    for (int i = before; i < c->n_sent; i++) {
        int fam;
        struct recs r = update_records(&c->sent[i], &fam);
        assert_true(c->sent[i].m.ip_len <= 1400);
        if (fam == AMT_IPV4)
            recs4 += r.n;
        else {
            recs6 += r.n;
            assert_int_equal(r.nsrc, 3);
        }
        msgs++;
    }
    assert_int_equal(recs4, 300);
    assert_int_equal(recs6, 1);
    assert_true(msgs >= 3);
    /* Data lookup over many channels (binary search). */
    amt_data d;
    uint8_t pkt[64];
    memcpy(pkt, golden_data_v4, sizeof golden_data_v4);
    pkt[2 + 18] = 1;
    pkt[2 + 19] = 50; /* 232.1.1.50 = channel 299 */
    amt_endpoint relay = EP("10.3.3.1", AMT_PORT);
    assert_int_equal(amt_gw_recv(c->gw, 2, &relay, pkt, sizeof golden_data_v4, &d), 1);
    /* Shutdown: BLOCK for everything, in as many Updates as it takes. */
    before = c->n_sent;
    amt_gw_shutdown(c->gw, 3);
    int blocks = 0;
    for (int i = before; i < c->n_sent; i++) {
        int fam;
        struct recs r = update_records(&c->sent[i], &fam);
        for (int j = 0; j < r.n && j < 256; j++)
            assert_int_equal(r.type[j], AMT_BLOCK_OLD_SOURCES);
        blocks += r.n;
    }
    assert_int_equal(blocks, 301);
    ctx_free(c);
}

static void test_send_failure(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    ctx_start(c);
    c->send_fail = 1;
    amt_sg sg = SG("10.2.2.1", "232.1.1.1");
    assert_int_equal(amt_gw_join(c->gw, 0, &sg), 0);
    amt_gw_counters k;
    amt_gw_get_counters(c->gw, &k);
    assert_int_equal(k.send_errors, 1);
    assert_int_equal(k.discoveries, 0);
    /* The timer retries. */
    c->send_fail = 0;
    amt_gw_handle_expiry(c->gw, amt_gw_get_expiry(c->gw));
    assert_int_equal(last(c)->m.type, AMT_RELAY_DISCOVERY);
    ctx_free(c);
}

static void test_invalid_args(void **state)
{
    (void)state;
    struct ctx *c = ctx_new(true);
    amt_gw *gw = NULL;
    amt_gw_settings s = c->s;
    s.rand = NULL;
    assert_int_equal(amt_gw_new(&gw, &s), AMT_ERR_INVALID_ARG);
    s = c->s;
    s.send = NULL;
    assert_int_equal(amt_gw_new(&gw, &s), AMT_ERR_INVALID_ARG);
    s = c->s;
    s.relay = EP("224.0.0.1", AMT_PORT);
    assert_int_equal(amt_gw_new(&gw, &s), AMT_ERR_INVALID_ARG);
    s = c->s;
    s.relay.addr.family = 0;
    assert_int_equal(amt_gw_new(&gw, &s), AMT_ERR_INVALID_ARG);
    s = c->s;
    s.size = 8;
    assert_int_equal(amt_gw_new(&gw, &s), AMT_ERR_INVALID_ARG);
    assert_null(gw);
    amt_gw_free(NULL);
    assert_int_equal(amt_gw_get_expiry(NULL), AMT_NEVER);
    assert_string_equal(amt_gw_state_name(AMT_GW_HOLDDOWN), "holddown");
    ctx_free(c);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* amt_gw_new makes 2 allocations; the first join 3; the 9th join 3 more.  Fail each
     * one in turn and check the gateway stays consistent (ASan checks the leaks). */
    for (int fail = 1; fail <= 8; fail++) {
        struct ctx *c = ctx_new(true);
        amt_mem mem = {t_malloc, t_realloc, t_free, c};
        c->s.mem = &mem;
        c->fail_at = fail;
        int r = amt_gw_new(&c->gw, &c->s);
        if (fail <= 2) {
            assert_int_equal(r, AMT_ERR_NOMEM);
            assert_null(c->gw);
            free(c);
            continue;
        }
        assert_int_equal(r, 0);
        int failed_join = -1;
        for (int i = 0; i < 9; i++) {
            char g[32];
            snprintf(g, sizeof g, "232.1.1.%d", i + 1);
            amt_sg sg = SG("10.2.2.1", g);
            r = amt_gw_join(c->gw, 0, &sg);
            if (r == AMT_ERR_NOMEM) {
                assert_int_equal(failed_join, -1);
                failed_join = i;
                assert_int_equal(amt_gw_channel_count(c->gw), (size_t)i);
                /* Retrying works once memory is back. */
                r = amt_gw_join(c->gw, 0, &sg);
            }
            assert_int_equal(r, 0);
        }
        assert_int_equal(failed_join, fail <= 5 ? 0 : 8);
        assert_int_equal(amt_gw_channel_count(c->gw), 9);
        ctx_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery_backoff),
        cmocka_unit_test(test_discovery_jitter),
        cmocka_unit_test(test_advertisement_checks),
        cmocka_unit_test(test_loopback_relay_over_loopback),
        cmocka_unit_test(test_request_query_update),
        cmocka_unit_test(test_refresh_cycle),
        cmocka_unit_test(test_refresh_min),
        cmocka_unit_test(test_request_failure_rediscovers),
        cmocka_unit_test(test_active_loss_rediscovers),
        cmocka_unit_test(test_direct_request),
        cmocka_unit_test(test_zero_nonce_avoided),
        cmocka_unit_test(test_join_leave),
        cmocka_unit_test(test_l_flag_first),
        cmocka_unit_test(test_l_flag_established),
        cmocka_unit_test(test_g_flag_teardown),
        cmocka_unit_test(test_icmp_unreachable),
        cmocka_unit_test(test_no_traffic),
        cmocka_unit_test(test_data_path),
        cmocka_unit_test(test_ipv6_tunnel),
        cmocka_unit_test(test_query_validation),
        cmocka_unit_test(test_ihl5_query),
        cmocka_unit_test(test_mixed_families_and_chunking),
        cmocka_unit_test(test_send_failure),
        cmocka_unit_test(test_invalid_args),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
