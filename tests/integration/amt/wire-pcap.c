/* wire-pcap.c — writes every AMT message libamt's gateway emits (driven through a real
 * handshake, IPv4 and IPv6 tunnels, IGMPv3 and MLDv2 channels, G flag and Teardown) and
 * the relay-direction golden messages to a pcap (LINKTYPE_RAW, each in IPv4/IPv6 + UDP
 * with checksums), and the expected AMT type of each frame to a text file, for tshark
 * to decode with checksum checks on (spec/amt.md §9).
 * Usage: wire-pcap OUT.pcap EXPECTED.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amt-internal.h"
#include "../../unit/amt/golden.h"

static FILE *pcap, *expect;
static amt_endpoint gw_ep;
static uint32_t rnd = 7;

static void frame(const amt_endpoint *src, const amt_endpoint *dst, const uint8_t *p, size_t len)
{
    uint8_t pkt[2048];
    size_t hl = src->addr.family == AMT_IPV4 ? 20 : 40;
    size_t tot = hl + 8 + len;
    if (tot > sizeof pkt)
        exit(1);
    memset(pkt, 0, hl + 8);
    uint8_t *u = pkt + hl;
    amt_put16(u, src->port);
    amt_put16(u + 2, dst->port);
    amt_put16(u + 4, (uint16_t)(8 + len));
    memcpy(u + 8, p, len);
    if (hl == 20) {
        pkt[0] = 0x45;
        amt_put16(pkt + 2, (uint16_t)tot);
        pkt[8] = 64;
        pkt[9] = 17;
        memcpy(pkt + 12, src->addr.bytes, 4);
        memcpy(pkt + 16, dst->addr.bytes, 4);
        amt_put16(pkt + 10, amt_checksum(pkt, 20));
        /* UDP checksum over the IPv4 pseudo-header (RFC 768). */
        uint8_t ph[12] = {0};
        memcpy(ph, pkt + 12, 8);
        ph[9] = 17;
        amt_put16(ph + 10, (uint16_t)(8 + len));
        uint32_t s = amt_csum_add(0, ph, 12);
        s = (s & 0xFFFF) + (s >> 16);
        uint16_t c = amt_csum_fold(amt_csum_add(s, u, 8 + len));
        amt_put16(u + 6, c ? c : 0xFFFF);
    } else {
        pkt[0] = 0x60;
        amt_put16(pkt + 4, (uint16_t)(8 + len));
        pkt[6] = 17;
        pkt[7] = 64;
        memcpy(pkt + 8, src->addr.bytes, 16);
        memcpy(pkt + 24, dst->addr.bytes, 16);
        /* Same pseudo-header sum as ICMPv6, with Next Header 17. */
        uint8_t tail[8] = {0};
        amt_put32(tail, (uint32_t)(8 + len));
        tail[7] = 17;
        uint32_t s = amt_csum_add(0, pkt + 8, 32);
        s = amt_csum_add(s, tail, 8);
        s = (s & 0xFFFF) + (s >> 16);
        uint16_t c = amt_csum_fold(amt_csum_add(s, u, 8 + len));
        amt_put16(u + 6, c ? c : 0xFFFF);
    }
    uint32_t rec[4] = {1700000000u, 0, (uint32_t)tot, (uint32_t)tot};
    fwrite(rec, 4, 4, pcap);
    fwrite(pkt, 1, tot, pcap);
    fprintf(expect, "%u\n", p[0]);
}

static int on_send(void *user, const amt_endpoint *dst, const uint8_t *buf, size_t len)
{
    (void)user;
    frame(&gw_ep, dst, buf, len);
    return 0;
}

static uint32_t on_rand(void *user)
{
    (void)user;
    rnd = rnd * 1103515245u + 12345u;
    return rnd | 1;
}

static uint32_t last_nonce;
static int capture_nonce(void *user, const amt_endpoint *dst, const uint8_t *buf, size_t len)
{
    amt_msg m;
    if (amt_msg_decode(&m, buf, len) == 0 && (m.type == AMT_RELAY_DISCOVERY || m.type == AMT_REQUEST))
        last_nonce = m.nonce;
    return on_send(user, dst, buf, len);
}

/* One full gateway life: discovery, request, G-flag query, updates for an IPv4 and an
 * IPv6 channel, a leave, shutdown with Teardown. */
static void gateway_run(const char *disc, const char *relay, const char *gw, const uint8_t *q,
                        size_t qlen, size_t ip_off, const char *g_addr)
{
    amt_addr_parse(&gw_ep.addr, gw);
    gw_ep.port = 40000;
    amt_gw_settings s;
    amt_gw_settings_default(&s);
    amt_addr_parse(&s.relay.addr, disc);
    s.rand = on_rand;
    s.send = capture_nonce;
    amt_gw *g;
    if (amt_gw_new(&g, &s) != 0)
        exit(1);
    amt_sg c4, c6;
    amt_addr_parse(&c4.source, "10.2.2.1");
    amt_addr_parse(&c4.group, "232.1.1.1");
    amt_addr_parse(&c6.source, "2001:db8::1");
    amt_addr_parse(&c6.group, "ff3e::8000:1");
    amt_gw_join(g, 1, &c4);
    uint8_t adv[32];
    amt_msg a = {.type = AMT_RELAY_ADVERTISEMENT, .nonce = last_nonce};
    amt_addr_parse(&a.relay_address, relay);
    int n = amt_msg_encode(&a, adv, sizeof adv);
    frame(&s.relay, &gw_ep, adv, (size_t)n);
    amt_gw_recv(g, 2, &s.relay, adv, (size_t)n, NULL);
    /* The relay's Query with G=1 reporting our address and port. */
    uint8_t qb[256];
    amt_msg qm;
    if (amt_msg_decode(&qm, q, qlen) != 0)
        exit(1);
    (void)ip_off;
    qm.nonce = last_nonce;
    qm.g_flag = true;
    qm.gateway_port = gw_ep.port;
    amt_addr_parse(&qm.gateway_address, g_addr);
    n = amt_msg_encode(&qm, qb, sizeof qb);
    const amt_endpoint *r = amt_gw_get_relay(g);
    frame(r, &gw_ep, qb, (size_t)n);
    if (amt_gw_recv(g, 3, r, qb, (size_t)n, NULL) != 0)
        exit(1);
    amt_gw_join(g, 4, &c6);
    frame(r, &gw_ep, golden_data_v4, sizeof golden_data_v4);
    frame(r, &gw_ep, golden_data_v6, sizeof golden_data_v6);
    amt_gw_leave(g, 5, &c4);
    amt_gw_shutdown(g, 6);
    amt_gw_free(g);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    pcap = fopen(argv[1], "wb");
    expect = fopen(argv[2], "w");
    if (!pcap || !expect)
        return 1;
    uint32_t h[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 101};
    fwrite(h, 4, 6, pcap);
    gateway_run("192.52.193.1", "10.3.3.1", "10.3.3.2", golden_query_v4_ihl6,
                sizeof golden_query_v4_ihl6, 12, "10.3.3.2");
    gateway_run("2001:3::1", "2001:db8::15", "2001:db8::2", golden_query_v6, sizeof golden_query_v6, 12,
                "2001:db8::2");
    /* The IHL 5 query older relays send. */
    amt_endpoint rl, gw;
    amt_addr_parse(&rl.addr, "10.3.3.1");
    rl.port = AMT_PORT;
    amt_addr_parse(&gw.addr, "10.3.3.2");
    gw.port = 40000;
    frame(&rl, &gw, golden_query_v4_ihl5, sizeof golden_query_v4_ihl5);
    fclose(pcap);
    fclose(expect);
    return 0;
}
