/* test-decode.c — frame, IP, PIM header, Join/Prune and Hello decoding, Hello encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pimparse-internal.h"
#include "pp-build.h"

static uint8_t ipbuf[4096], framebuf[4096], msgbuf[4096];

static pimparse_addr A(const char *t)
{
    pimparse_addr a;
    assert_int_equal(pimparse_addr_parse(t, &a), 0);
    return a;
}

static void assert_addr(const pimparse_addr *a, const char *t)
{
    char buf[64];
    pimparse_addr_format(a, buf, sizeof buf);
    assert_string_equal(buf, t);
}

/* Decodes from an exact-size heap copy so a read past the end trips the sanitizer. */
static int decode_exact(int lt, const uint8_t *frame, size_t len, pimparse_packet *pkt)
{
    uint8_t *c = malloc(len ? len : 1);
    assert_non_null(c);
    memcpy(c, frame, len);
    int r = pimparse_frame_decode(lt, c, len, pkt);
    if (r == 0) {
        /* Re-point into the caller's frame: the copy goes away. */
        pkt->pim = frame + (pkt->pim - c);
    }
    free(c);
    return r;
}

static const struct ppb_source v4_joins[] = {
    {"10.0.0.1", PIMPARSE_SOURCE_S, 0},
    {"10.0.0.2", PIMPARSE_SOURCE_S | PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R, 0},
    {"10.0.0.3", PIMPARSE_SOURCE_R, 0},
    {"10.0.0.4", PIMPARSE_SOURCE_W, 0},
    {"10.0.0.5", 0xf8, 24},
};
static const struct ppb_source v4_prunes[] = {
    {"10.0.0.6", 0, 0},
    {"10.0.0.7", PIMPARSE_SOURCE_S | PIMPARSE_SOURCE_R, 0},
};
static const struct ppb_group v4_groups[] = {
    {"232.1.1.1", 0, 0, v4_joins, 5, v4_prunes, 2},
    {"239.2.2.2", PIMPARSE_GROUP_B | PIMPARSE_GROUP_Z, 24, v4_joins, 1, NULL, 0},
    {"232.3.3.3", 0, 0, NULL, 0, NULL, 0},
    {"232.4.4.4", 0x7e, 0, NULL, 0, v4_prunes, 1},
};

static size_t build_v4_jp(uint8_t *frame, int lt)
{
    size_t ml = ppb_jp(msgbuf, sizeof msgbuf, "10.2.0.2", 210, v4_groups, 4);
    size_t il = ppb_ip(ipbuf, sizeof ipbuf, "10.2.0.1", "224.0.0.13", 103, msgbuf, ml, 0);
    return ppb_link(frame, 4096, lt, 0, ipbuf, il);
}

static void test_jp_ipv4_fields(void **state)
{
    (void)state;
    size_t fl = build_v4_jp(framebuf, 1);
    pimparse_packet pkt;
    assert_int_equal(decode_exact(1, framebuf, fl, &pkt), 0);
    assert_int_equal(pkt.pim_type, PIMPARSE_TYPE_JOIN_PRUNE);
    assert_int_equal(pkt.ttl, 1);
    assert_addr(&pkt.ip_src, "10.2.0.1");
    assert_addr(&pkt.ip_dst, "224.0.0.13");
    pimparse_jp jp;
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), 0);
    assert_addr(&jp.upstream_neighbor, "10.2.0.2");
    assert_int_equal(jp.holdtime, 210);
    assert_int_equal(jp.num_groups, 4);

    struct {
        const char *g, *s;
        uint8_t gflags, gmask, gidx, sflags, smask, sidx, kind;
        bool join;
    } want[] = {
        {"232.1.1.1", "10.0.0.1", 0, 32, 0, 0x04, 32, 0, PIMPARSE_ENTRY_SG, true},
        {"232.1.1.1", "10.0.0.2", 0, 32, 0, 0x07, 32, 1, PIMPARSE_ENTRY_STAR_G, true},
        {"232.1.1.1", "10.0.0.3", 0, 32, 0, 0x01, 32, 2, PIMPARSE_ENTRY_SG_RPT, true},
        {"232.1.1.1", "10.0.0.4", 0, 32, 0, 0x02, 32, 3, PIMPARSE_ENTRY_INVALID, true},
        {"232.1.1.1", "10.0.0.5", 0, 32, 0, 0xf8, 24, 4, PIMPARSE_ENTRY_SG, true},
        {"232.1.1.1", "10.0.0.6", 0, 32, 0, 0x00, 32, 0, PIMPARSE_ENTRY_SG, false},
        {"232.1.1.1", "10.0.0.7", 0, 32, 0, 0x05, 32, 1, PIMPARSE_ENTRY_SG_RPT, false},
        {"239.2.2.2", "10.0.0.1", 0x81, 24, 1, 0x04, 32, 0, PIMPARSE_ENTRY_SG, true},
        {"232.4.4.4", "10.0.0.6", 0x7e, 32, 3, 0x00, 32, 0, PIMPARSE_ENTRY_SG, false},
    };
    pimparse_jp_entry e;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(pimparse_jp_next(&jp, &e), 1);
        assert_addr(&e.group, want[i].g);
        assert_addr(&e.source, want[i].s);
        assert_int_equal(e.group_flags, want[i].gflags);
        assert_int_equal(e.group_mask_len, want[i].gmask);
        assert_int_equal(e.group_index, want[i].gidx);
        assert_int_equal(e.source_flags, want[i].sflags);
        assert_int_equal(e.source_mask_len, want[i].smask);
        assert_int_equal(e.source_index, want[i].sidx);
        assert_int_equal(e.kind, want[i].kind);
        assert_int_equal(e.is_join, want[i].join);
    }
    assert_int_equal(pimparse_jp_next(&jp, &e), 0);
    assert_int_equal(pimparse_jp_next(&jp, &e), 0);
}

static void test_jp_ipv6_fields(void **state)
{
    (void)state;
    static const struct ppb_source j[] = {{"2001:db8::1", PIMPARSE_SOURCE_S, 0},
                                          {"2001:db8::99", PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R, 0}};
    static const struct ppb_source p[] = {{"2001:db8::2", 0, 64}};
    static const struct ppb_group g[] = {{"ff3e::8000:1", 0, 0, j, 2, p, 1},
                                         {"ff02::1", PIMPARSE_GROUP_B, 0, j, 1, NULL, 0}};
    size_t ml = ppb_jp(msgbuf, sizeof msgbuf, "fe80::2", 0xffff, g, 2);
    assert_int_equal(ml, 4 + 18 + 4 + (24 + 3 * 20) + (24 + 20));
    size_t il = ppb_ip(ipbuf, sizeof ipbuf, "fe80::1", "ff02::d", 103, msgbuf, ml, 0);
    pimparse_packet pkt;
    assert_int_equal(pimparse_frame_decode(PIMPARSE_LINK_IPV6, ipbuf, il, &pkt), 0);
    assert_addr(&pkt.ip_src, "fe80::1");
    assert_addr(&pkt.ip_dst, "ff02::d");
    pimparse_jp jp;
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), 0);
    assert_addr(&jp.upstream_neighbor, "fe80::2");
    assert_int_equal(jp.holdtime, 0xffff);
    assert_int_equal(jp.num_groups, 2);
    pimparse_jp_entry e;
    assert_int_equal(pimparse_jp_next(&jp, &e), 1);
    assert_addr(&e.group, "ff3e::8000:1");
    assert_addr(&e.source, "2001:db8::1");
    assert_int_equal(e.group_mask_len, 128);
    assert_int_equal(e.source_mask_len, 128);
    assert_int_equal(e.num_joined, 2);
    assert_int_equal(e.num_pruned, 1);
    assert_int_equal(pimparse_jp_next(&jp, &e), 1);
    assert_int_equal(e.kind, PIMPARSE_ENTRY_STAR_G);
    assert_int_equal(pimparse_jp_next(&jp, &e), 1);
    assert_addr(&e.source, "2001:db8::2");
    assert_false(e.is_join);
    assert_int_equal(e.source_mask_len, 64);
    assert_int_equal(pimparse_jp_next(&jp, &e), 1);
    assert_addr(&e.group, "ff02::1");
    assert_int_equal(e.group_flags, PIMPARSE_GROUP_B);
    assert_int_equal(e.group_index, 1);
    assert_int_equal(pimparse_jp_next(&jp, &e), 0);
}

/* The same message must decode identically behind every link type. */
static void test_link_types(void **state)
{
    (void)state;
    static const struct ppb_source j[] = {{"23.212.185.4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g4[] = {{"232.1.1.1", 0, 0, j, 1, NULL, 0}};
    static const struct ppb_source j6[] = {{"2001:db8::4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g6[] = {{"ff3e::1", 0, 0, j6, 1, NULL, 0}};
    const int lts[] = {1, 113, 276, 12, 14, 101, 0, 108};
    for (int fam = 0; fam < 2; fam++) {
        size_t ml = fam ? ppb_jp(msgbuf, sizeof msgbuf, "fe80::2", 210, g6, 1)
                        : ppb_jp(msgbuf, sizeof msgbuf, "10.2.0.2", 210, g4, 1);
        assert_int_equal(ml, fam ? 70 : 34); /* spec/pim.md §5 smallest real messages */
        size_t il = fam ? ppb_ip(ipbuf, sizeof ipbuf, "fe80::1", "ff02::d", 103, msgbuf, ml, 0)
                        : ppb_ip(ipbuf, sizeof ipbuf, "10.2.0.1", "224.0.0.13", 103, msgbuf, ml, 0);
        for (size_t i = 0; i < sizeof lts / sizeof lts[0]; i++) {
            for (int tags = 0; tags <= (lts[i] == 1 ? 3 : 0); tags++) {
                size_t fl = ppb_link(framebuf, sizeof framebuf, lts[i] == 14 || lts[i] == 101 ? 12 : lts[i],
                                     tags, ipbuf, il);
                pimparse_packet pkt;
                assert_int_equal(decode_exact(lts[i], framebuf, fl, &pkt), 0);
                pimparse_jp jp;
                assert_int_equal(pimparse_jp_decode(&pkt, &jp), 0);
                pimparse_jp_entry e;
                assert_int_equal(pimparse_jp_next(&jp, &e), 1);
                assert_addr(&e.source, fam ? "2001:db8::4" : "23.212.185.4");
            }
        }
        /* IPV4/IPV6 link types check the version. */
        pimparse_packet pkt;
        assert_int_equal(pimparse_frame_decode(fam ? PIMPARSE_LINK_IPV6 : PIMPARSE_LINK_IPV4, ipbuf, il, &pkt), 0);
        assert_int_equal(pimparse_frame_decode(fam ? PIMPARSE_LINK_IPV4 : PIMPARSE_LINK_IPV6, ipbuf, il, &pkt),
                         PIMPARSE_ERR_IP_HEADER);
        /* NULL in big-endian order, with each BSD AF_INET6 value. */
        uint8_t *f = framebuf;
        memcpy(f + 4, ipbuf, il);
        const uint32_t afs[] = {2, 10, 24, 28, 30};
        for (size_t k = fam; k < (fam ? 5u : 1u); k++) {
            f[0] = f[1] = f[2] = 0;
            f[3] = (uint8_t)afs[k];
            assert_int_equal(pimparse_frame_decode(PIMPARSE_LINK_NULL, f, il + 4, &pkt), 0);
            f[3] = 0;
            f[0] = (uint8_t)afs[k];
            assert_int_equal(pimparse_frame_decode(PIMPARSE_LINK_NULL, f, il + 4, &pkt), 0);
            /* LOOP is network order only. */
            assert_int_equal(pimparse_frame_decode(PIMPARSE_LINK_LOOP, f, il + 4, &pkt), PIMPARSE_ERR_NOT_IP);
        }
    }
    pimparse_packet pkt;
    assert_int_equal(pimparse_frame_decode(147, framebuf, 100, &pkt), PIMPARSE_ERR_LINKTYPE);
    /* Ethernet with ARP / an 802.3 length field. */
    size_t fl = build_v4_jp(framebuf, 1);
    framebuf[12] = 0x08;
    framebuf[13] = 0x06;
    assert_int_equal(pimparse_frame_decode(1, framebuf, fl, &pkt), PIMPARSE_ERR_NOT_IP);
    framebuf[12] = 0x00;
    framebuf[13] = 0x40;
    assert_int_equal(pimparse_frame_decode(1, framebuf, fl, &pkt), PIMPARSE_ERR_NOT_IP);
    /* Ethertype IPv4 carrying an IPv6 header. */
    fl = build_v4_jp(framebuf, 1);
    framebuf[14] = 0x65;
    assert_int_equal(pimparse_frame_decode(1, framebuf, fl, &pkt), PIMPARSE_ERR_IP_HEADER);
    /* RAW with neither version. */
    framebuf[0] = 0x50;
    assert_int_equal(pimparse_frame_decode(12, framebuf, 30, &pkt), PIMPARSE_ERR_NOT_IP);
    assert_int_equal(pimparse_frame_decode(12, framebuf, 0, &pkt), PIMPARSE_ERR_TRUNCATED);
    assert_int_equal(pimparse_frame_decode(12, NULL, 0, &pkt), PIMPARSE_ERR_INVALID);
}

static void test_ipv4_header_rules(void **state)
{
    (void)state;
    static const struct ppb_source j[] = {{"23.212.185.4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g4[] = {{"232.1.1.1", 0, 0, j, 1, NULL, 0}};
    size_t ml = ppb_jp(msgbuf, sizeof msgbuf, "10.2.0.2", 210, g4, 1);
    size_t il = ppb_ip(ipbuf, sizeof ipbuf, "10.2.0.1", "224.0.0.13", 103, msgbuf, ml, 0);
    pimparse_packet pkt;

    /* Ethernet padding after the IP total length is trimmed, not checksummed. */
    uint8_t pad[128];
    memcpy(pad, ipbuf, il);
    memset(pad + il, 0xaa, 10);
    assert_int_equal(pimparse_frame_decode(12, pad, il + 10, &pkt), 0);
    assert_int_equal(pkt.pim_len, 34);

    /* IHL 6 (Router Alert option, RFC 2113). */
    uint8_t ra[128];
    memcpy(ra, ipbuf, 20);
    ra[0] = 0x46;
    ra[2] = 0;
    ra[3] = (uint8_t)(il + 4);
    ra[20] = 0x94;
    ra[21] = 0x04;
    ra[22] = ra[23] = 0;
    memcpy(ra + 24, ipbuf + 20, ml);
    ppb_fix_ip_csum(ra);
    assert_int_equal(pimparse_frame_decode(12, ra, il + 4, &pkt), 0);
    assert_int_equal(pkt.pim_len, 34);
    assert_int_equal(pkt.pim[0], 0x23);

    /* Total length beyond the captured bytes. */
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il - 1, &pkt), PIMPARSE_ERR_TRUNCATED);
    /* Fragments: MF, offset, both; DF alone is fine. */
    const uint16_t frag[] = {0x2000, 0x0001, 0x2010, 0x1fff};
    for (size_t i = 0; i < 4; i++) {
        memcpy(pad, ipbuf, il);
        pad[6] = (uint8_t)(frag[i] >> 8);
        pad[7] = (uint8_t)frag[i];
        ppb_fix_ip_csum(pad);
        assert_int_equal(pimparse_frame_decode(12, pad, il, &pkt), PIMPARSE_ERR_FRAGMENT);
    }
    memcpy(pad, ipbuf, il);
    pad[6] = 0x40;
    ppb_fix_ip_csum(pad);
    assert_int_equal(pimparse_frame_decode(12, pad, il, &pkt), 0);
    /* Bad header checksum. */
    memcpy(pad, ipbuf, il);
    pad[10] ^= 1;
    assert_int_equal(pimparse_frame_decode(12, pad, il, &pkt), PIMPARSE_ERR_IP_HEADER);
    /* IHL below 5, total length below IHL. */
    memcpy(pad, ipbuf, il);
    pad[0] = 0x44;
    assert_int_equal(pimparse_frame_decode(12, pad, il, &pkt), PIMPARSE_ERR_IP_HEADER);
    memcpy(pad, ipbuf, il);
    pad[2] = 0;
    pad[3] = 19;
    ppb_fix_ip_csum(pad);
    assert_int_equal(pimparse_frame_decode(12, pad, il, &pkt), PIMPARSE_ERR_IP_HEADER);
    /* Another protocol (IGMP: PIMv1 lives there and is ignored). */
    size_t ol = ppb_ip(pad, sizeof pad, "10.2.0.1", "224.0.0.13", 2, msgbuf, ml, 1);
    assert_int_equal(pimparse_frame_decode(12, pad, ol, &pkt), PIMPARSE_ERR_NOT_PIM);
    /* IP total length shorter than the PIM header. */
    memcpy(pad, ipbuf, il);
    pad[3] = 22;
    ppb_fix_ip_csum(pad);
    assert_int_equal(pimparse_frame_decode(12, pad, il, &pkt), PIMPARSE_ERR_TRUNCATED);
}

static void test_ipv6_extension_headers(void **state)
{
    (void)state;
    static const struct ppb_source j6[] = {{"2001:db8::4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g6[] = {{"ff3e::1", 0, 0, j6, 1, NULL, 0}};
    size_t ml = ppb_jp(msgbuf, sizeof msgbuf, "fe80::2", 210, g6, 1);
    size_t il = ppb_ip(ipbuf, sizeof ipbuf, "fe80::1", "ff02::d", 103, msgbuf, ml, 0);
    pimparse_packet pkt;
    /* Hop-by-Hop (8 bytes, Router Alert), Destination Options (16), Routing (8), PIM. */
    uint8_t p[512];
    memcpy(p, ipbuf, 40);
    uint8_t *x = p + 40;
    p[6] = 0;
    x[0] = 60; x[1] = 0; x[2] = 5; x[3] = 2; x[4] = x[5] = 0; x[6] = 1; x[7] = 0;
    x += 8;
    memset(x, 0, 16);
    x[0] = 43; x[1] = 1; x[2] = 1; x[3] = 12;
    x += 16;
    memset(x, 0, 8);
    x[0] = 103; x[1] = 0;
    x += 8;
    memcpy(x, ipbuf + 40, ml);
    size_t total = 40 + 32 + ml;
    p[4] = (uint8_t)((total - 40) >> 8);
    p[5] = (uint8_t)(total - 40);
    assert_int_equal(pimparse_frame_decode(12, p, total, &pkt), 0);
    assert_int_equal(pkt.pim_len, ml);
    pimparse_jp jp;
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), 0);
    /* Every truncation of the extension chain is refused. */
    for (size_t l = 0; l < total; l++)
        assert_int_not_equal(decode_exact(12, p, l, &pkt), 0);
    /* An extension header longer than the payload. */
    p[40 + 1] = 200;
    assert_int_equal(pimparse_frame_decode(12, p, total, &pkt), PIMPARSE_ERR_IP_HEADER);
    p[40 + 1] = 0;
    /* Fragment header, unknown upper layer, jumbogram length. */
    p[40] = 44;
    assert_int_equal(pimparse_frame_decode(12, p, total, &pkt), PIMPARSE_ERR_FRAGMENT);
    p[40] = 17;
    assert_int_equal(pimparse_frame_decode(12, p, total, &pkt), PIMPARSE_ERR_NOT_PIM);
    p[4] = p[5] = 0;
    assert_int_equal(pimparse_frame_decode(12, p, total, &pkt), PIMPARSE_ERR_IP_HEADER);
    /* Payload length beyond the capture. */
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il - 1, &pkt), PIMPARSE_ERR_TRUNCATED);
}

/* The host-order checksum sum against the definition (RFC 1071: 16-bit big-endian words,
 * an odd last byte padded with zero) for every length, alignment and initial sum. */
static uint32_t ref_sum16(const uint8_t *d, size_t len, uint32_t sum)
{
    uint64_t acc = sum;
    for (size_t i = 0; i + 1 < len; i += 2)
        acc += (uint32_t)d[i] << 8 | d[i + 1];
    if (len % 2)
        acc += (uint32_t)d[len - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

static uint32_t fold16(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s;
}

static void test_checksum_sum_reference(void **state)
{
    (void)state;
    uint8_t buf[300];
    uint32_t x = 99;
    for (int round = 0; round < 40; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x = x * 1103515245u + 12345u;
            /* Some rounds all 0xff, to drive the carries to their limit. */
            buf[i] = round % 8 == 0 ? 0xff : (uint8_t)(x >> 16);
        }
        for (size_t off = 0; off < 8; off++) {
            for (size_t len = 0; len + off <= sizeof buf; len++) {
                const uint32_t inits[] = {0, 1, 0xffff, 0x1fffe, 0xfffffffeu, x};
                for (size_t k = 0; k < sizeof inits / sizeof inits[0]; k++) {
                    uint32_t got = pp_sum16(buf + off, len, inits[k]);
                    assert_int_equal(fold16(got), ref_sum16(buf + off, len, inits[k]));
                    uint32_t want = ~ref_sum16(buf + off, len, inits[k]) & 0xffff;
                    assert_int_equal(pimparse_checksum(buf + off, len, inits[k]), want);
                }
            }
        }
    }
}

static void test_pim_header_and_checksum(void **state)
{
    (void)state;
    static const struct ppb_source j[] = {{"23.212.185.4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g4[] = {{"232.1.1.1", 0, 0, j, 1, NULL, 0}};
    size_t ml = ppb_jp(msgbuf, sizeof msgbuf, "10.2.0.2", 210, g4, 1);
    size_t il = ppb_ip(ipbuf, sizeof ipbuf, "10.2.0.1", "224.0.0.13", 103, msgbuf, ml, 0);
    pimparse_packet pkt;
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
    /* Every single-bit flip of the message fails the checksum (or the version). */
    for (size_t i = 20; i < il; i++) {
        for (int b = 0; b < 8; b++) {
            ipbuf[i] ^= (uint8_t)(1u << b);
            int r = pimparse_frame_decode(12, ipbuf, il, &pkt);
            if (i == 20 && b >= 4)
                assert_int_equal(r, PIMPARSE_ERR_PIM_VERSION);
            else
                assert_int_equal(r, PIMPARSE_ERR_CHECKSUM);
            ipbuf[i] ^= (uint8_t)(1u << b);
        }
    }
    /* The reserved/flag byte is covered by the checksum but otherwise ignored. */
    ipbuf[21] = 0x80;
    ppb_fix_pim_csum(ipbuf, il);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
    assert_int_equal(pkt.pim_flags, 0x80);
    pimparse_jp jp;
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), 0);
    /* Version 1 and 3 with a valid checksum. */
    ipbuf[20] = 0x13;
    ppb_fix_pim_csum(ipbuf, il);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), PIMPARSE_ERR_PIM_VERSION);
    ipbuf[20] = 0x33;
    ppb_fix_pim_csum(ipbuf, il);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), PIMPARSE_ERR_PIM_VERSION);

    /* Checksum value 0 has no special meaning: a message whose correct checksum happens
     * to be 0 verifies; a zero field on another message does not. */
    uint8_t m[8] = {0x25, 0x00, 0x00, 0x00, 0xda, 0xff, 0x00, 0x00};
    assert_int_equal(pimparse_checksum(m, 8, 0), 0);
    il = ppb_ip(ipbuf, sizeof ipbuf, "10.0.0.1", "10.0.0.2", 103, m, 8, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
    assert_int_equal(pkt.pim_type, PIMPARSE_TYPE_ASSERT);
    m[4] = 0xdb;
    il = ppb_ip(ipbuf, sizeof ipbuf, "10.0.0.1", "10.0.0.2", 103, m, 8, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), PIMPARSE_ERR_CHECKSUM);

    /* Odd length: padded with a zero byte for the sum. */
    uint8_t odd[5] = {0x25, 0, 0, 0, 0x7b};
    uint16_t c = pimparse_checksum(odd, 5, 0);
    odd[2] = (uint8_t)(c >> 8);
    odd[3] = (uint8_t)c;
    il = ppb_ip(ipbuf, sizeof ipbuf, "10.0.0.1", "10.0.0.2", 103, odd, 5, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
    assert_int_equal(pkt.pim_len, 5);

    /* Register: checksum over the first 8 bytes only, or over the whole message. */
    uint8_t reg[28] = {0x21, 0, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 20};
    for (size_t i = 12; i < sizeof reg; i++)
        reg[i] = (uint8_t)i;
    c = pimparse_checksum(reg, 8, 0);
    reg[2] = (uint8_t)(c >> 8);
    reg[3] = (uint8_t)c;
    il = ppb_ip(ipbuf, sizeof ipbuf, "10.0.0.1", "10.0.0.2", 103, reg, sizeof reg, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
    assert_int_equal(pkt.pim_type, PIMPARSE_TYPE_REGISTER);
    reg[2] = reg[3] = 0;
    c = pimparse_checksum(reg, sizeof reg, 0);
    reg[2] = (uint8_t)(c >> 8);
    reg[3] = (uint8_t)c;
    il = ppb_ip(ipbuf, sizeof ipbuf, "10.0.0.1", "10.0.0.2", 103, reg, sizeof reg, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
    reg[3] ^= 0x10;
    il = ppb_ip(ipbuf, sizeof ipbuf, "10.0.0.1", "10.0.0.2", 103, reg, sizeof reg, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), PIMPARSE_ERR_CHECKSUM);
    /* A Register shorter than 8 bytes. */
    il = ppb_ip(ipbuf, sizeof ipbuf, "10.0.0.1", "10.0.0.2", 103, reg, 6, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), PIMPARSE_ERR_TRUNCATED);
    /* IPv6 Register: pseudo-header with length 8. */
    reg[2] = reg[3] = 0;
    uint8_t s6[16], d6[16];
    ppb_addr("2001:db8::1", s6);
    ppb_addr("2001:db8::2", d6);
    c = pimparse_checksum(reg, 8, pp_pseudo6_sum(s6, d6, 8));
    reg[2] = (uint8_t)(c >> 8);
    reg[3] = (uint8_t)c;
    il = ppb_ip(ipbuf, sizeof ipbuf, "2001:db8::1", "2001:db8::2", 103, reg, sizeof reg, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);

    /* IPv6: a checksum computed without the pseudo-header is refused. */
    static const struct ppb_source j6[] = {{"2001:db8::4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g6[] = {{"ff3e::1", 0, 0, j6, 1, NULL, 0}};
    ml = ppb_jp(msgbuf, sizeof msgbuf, "fe80::2", 210, g6, 1);
    c = pimparse_checksum(msgbuf, ml, 0);
    msgbuf[2] = (uint8_t)(c >> 8);
    msgbuf[3] = (uint8_t)c;
    il = ppb_ip(ipbuf, sizeof ipbuf, "fe80::1", "ff02::d", 103, msgbuf, ml, 1);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), PIMPARSE_ERR_CHECKSUM);
    ppb_fix_pim_csum(ipbuf, il);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
    /* Changing the destination (in the pseudo-header) breaks it again. */
    ipbuf[39] = 0x0e;
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), PIMPARSE_ERR_CHECKSUM);
}

/* Truncation at every offset, for frames of both families and every message type we
 * decode: the frame decoder refuses every cut (the IP length no longer fits), and a
 * message shortened consistently (IP length and checksum fixed) is refused by the
 * message decoder unless the cut falls on a Hello option boundary. */
static void test_truncation_every_offset(void **state)
{
    (void)state;
    static const struct ppb_source j[] = {{"23.212.185.4", PIMPARSE_SOURCE_S, 0},
                                          {"23.212.185.5", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g4[] = {{"232.1.1.1", 0, 0, j, 2, j, 1},
                                          {"232.1.1.2", 0, 0, j, 1, NULL, 0}};
    static const struct ppb_source j6[] = {{"2001:db8::4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g6[] = {{"ff3e::1", 0, 0, j6, 1, j6, 1}, {"ff3e::2", 0, 0, j6, 1, NULL, 0}};
    pimparse_addr sec[2] = {A("10.2.0.9"), A("fe80::9")};
    for (int variant = 0; variant < 4; variant++) {
        size_t ml;
        const char *src, *dst;
        if (variant == 0) {
            ml = ppb_jp(msgbuf, sizeof msgbuf, "10.2.0.2", 210, g4, 2);
            src = "10.2.0.1";
            dst = "224.0.0.13";
        } else if (variant == 1) {
            ml = ppb_jp(msgbuf, sizeof msgbuf, "fe80::2", 210, g6, 2);
            src = "fe80::1";
            dst = "ff02::d";
        } else {
            pimparse_hello_params hp;
            pimparse_hello_params_default(&hp, 0x12345678);
            hp.addresses = sec;
            hp.num_addresses = 2;
            ml = (size_t)pimparse_hello_encode(&hp, NULL, NULL, msgbuf, sizeof msgbuf);
            src = variant == 2 ? "10.2.0.1" : "fe80::1";
            dst = variant == 2 ? "224.0.0.13" : "ff02::d";
        }
        size_t il = ppb_ip(ipbuf, sizeof ipbuf, src, dst, 103, msgbuf, ml, 0);
        size_t fl = ppb_link(framebuf, sizeof framebuf, 1, 1, ipbuf, il);
        pimparse_packet pkt;
        assert_int_equal(decode_exact(1, framebuf, fl, &pkt), 0);
        for (size_t cut = 0; cut < fl; cut++)
            assert_int_not_equal(decode_exact(1, framebuf, cut, &pkt), 0);

        size_t hl = (ipbuf[0] >> 4) == 4 ? 20 : 40;
        for (size_t mlen = 0; mlen < ml; mlen++) {
            uint8_t t[1024];
            memcpy(t, ipbuf, hl + mlen);
            if (hl == 20) {
                t[2] = (uint8_t)((20 + mlen) >> 8);
                t[3] = (uint8_t)(20 + mlen);
                ppb_fix_ip_csum(t);
            } else {
                t[4] = (uint8_t)(mlen >> 8);
                t[5] = (uint8_t)mlen;
            }
            if (mlen >= 4)
                ppb_fix_pim_csum(t, hl + mlen);
            int r = decode_exact(12, t, hl + mlen, &pkt);
            if (mlen < 4) {
                /* IPv6 payload length 0 would be a jumbogram (RFC 2675). */
                assert_int_equal(r, hl == 40 && mlen == 0 ? PIMPARSE_ERR_IP_HEADER
                                                          : PIMPARSE_ERR_TRUNCATED);
                continue;
            }
            assert_int_equal(r, 0);
            if (variant < 2) {
                pimparse_jp jp;
                assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_TRUNCATED);
            } else {
                pimparse_hello h;
                r = pimparse_hello_decode(&pkt, &h);
                /* Option boundaries of the encoded Hello: 4, 10, 18, 26, 34, end. */
                if (mlen == 4 || mlen == 10 || mlen == 18 || mlen == 26 || mlen == 34)
                    assert_int_equal(r, 0);
                else
                    assert_int_equal(r, PIMPARSE_ERR_MALFORMED);
            }
        }
    }
}

static size_t jp_packet(const uint8_t *msg, size_t ml, int v6, pimparse_packet *pkt)
{
    size_t il = v6 ? ppb_ip(ipbuf, sizeof ipbuf, "fe80::1", "ff02::d", 103, msg, ml, 0)
                   : ppb_ip(ipbuf, sizeof ipbuf, "10.2.0.1", "224.0.0.13", 103, msg, ml, 0);
    assert_int_equal(pimparse_frame_decode(12, ipbuf, il, pkt), 0);
    return il;
}

static void test_jp_families_and_encodings(void **state)
{
    (void)state;
    static const struct ppb_source j[] = {{"23.212.185.4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g4[] = {{"232.1.1.1", 0, 0, j, 1, NULL, 0}};
    pimparse_packet pkt;
    pimparse_jp jp;
    uint8_t m[256];
    size_t ml = ppb_jp(m, sizeof m, "10.2.0.2", 210, g4, 1);
    /* Offsets (IPv4 layout, spec/pim.md §5): upstream AF 4, Enc 5; group AF 14, Enc 15;
     * source AF 26, Enc 27. */
    const size_t af_off[] = {4, 14, 26};
    for (size_t i = 0; i < 3; i++) {
        uint8_t t[256];
        memcpy(t, m, ml);
        t[af_off[i]] = 2; /* IPv6 family inside an IPv4 message */
        jp_packet(t, ml, 0, &pkt);
        assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_FAMILY);
        t[af_off[i]] = 3; /* unknown family: length unknown */
        jp_packet(t, ml, 0, &pkt);
        assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_FAMILY);
        t[af_off[i]] = 1;
        t[af_off[i] + 1] = 1; /* RFC 5384 Join Attribute encoding */
        jp_packet(t, ml, 0, &pkt);
        assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_ENCODING);
    }
    /* An IPv6 message with IPv4 encoded addresses. */
    jp_packet(m, ml, 1, &pkt);
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_FAMILY);
    /* Trailing bytes after the last group are ignored. */
    uint8_t t[256];
    memcpy(t, m, ml);
    memset(t + ml, 0xee, 9);
    jp_packet(t, ml + 9, 0, &pkt);
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), 0);
    pimparse_jp_entry e;
    assert_int_equal(pimparse_jp_next(&jp, &e), 1);
    assert_int_equal(pimparse_jp_next(&jp, &e), 0);
    /* Zero groups is legal and yields nothing. */
    ml = ppb_jp(m, sizeof m, "10.2.0.2", 210, NULL, 0);
    jp_packet(m, ml, 0, &pkt);
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), 0);
    assert_int_equal(jp.num_groups, 0);
    assert_int_equal(pimparse_jp_next(&jp, &e), 0);
    /* A count larger than the message (the pre-pass refuses the whole message). */
    ml = ppb_jp(m, sizeof m, "10.2.0.2", 210, g4, 1);
    m[22] = 0xff;
    m[23] = 0xff;
    jp_packet(m, ml, 0, &pkt);
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_TRUNCATED);
    m[22] = 0;
    m[23] = 1;
    m[11] = 2; /* two groups announced, one present */
    jp_packet(m, ml, 0, &pkt);
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_TRUNCATED);
    /* Wrong type and bad arguments. */
    uint8_t hello[4] = {0x20, 0, 0, 0};
    jp_packet(hello, 4, 0, &pkt);
    assert_int_equal(pimparse_jp_decode(&pkt, &jp), PIMPARSE_ERR_WRONG_TYPE);
    assert_int_equal(pimparse_jp_decode(NULL, &jp), PIMPARSE_ERR_INVALID);
    assert_int_equal(pimparse_jp_next(NULL, &e), 0);
}

static size_t hello_packet(const uint8_t *opts, size_t olen, int v6, pimparse_packet *pkt)
{
    uint8_t m[512] = {0x20, 0, 0, 0};
    memcpy(m + 4, opts, olen);
    return jp_packet(m, 4 + olen, v6, pkt);
}

static void test_hello_decode(void **state)
{
    (void)state;
    /* Every option of §4.9.2 plus unknown ones, an Address List with both families. */
    const uint8_t opts[] = {
        0, 1, 0, 2, 0, 105,                    /* Holdtime 105 */
        0, 2, 0, 4, 0x81, 0xf4, 0x09, 0xc4,    /* LAN Prune Delay T=1 500/2500 */
        0, 19, 0, 4, 0, 0, 0, 150,             /* DR Priority 150 */
        0, 20, 0, 4, 0xde, 0xad, 0xbe, 0xef,   /* Generation ID */
        0, 21, 0, 4, 1, 0, 0, 0,               /* State Refresh */
        0, 22, 0, 0,                           /* Bidir Capable */
        0, 26, 0, 0,                           /* Join Attribute */
        0, 18, 0, 4, 0, 0, 0, 1,               /* pre-standard DR priority: skipped */
        0xfd, 0xe9, 0, 2, 1, 2,                /* 65001: skipped */
        0, 24, 0, 24, 1, 0, 10, 2, 0, 9,       /* Address List: 10.2.0.9, fe80::9 */
        2, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
    };
    pimparse_packet pkt;
    hello_packet(opts, sizeof opts, 0, &pkt);
    pimparse_hello h;
    assert_int_equal(pimparse_hello_decode(&pkt, &h), 0);
    assert_int_equal(h.holdtime, 105);
    assert_true(h.t_bit);
    assert_int_equal(h.propagation_delay_ms, 500);
    assert_int_equal(h.override_interval_ms, 2500);
    assert_int_equal(h.dr_priority, 150);
    assert_int_equal(h.generation_id, 0xdeadbeef);
    assert_int_equal(h.state_refresh, 0x01000000);
    assert_int_equal(h.num_unknown_options, 2);
    assert_int_equal(h.present, PIMPARSE_HELLO_HAS_HOLDTIME | PIMPARSE_HELLO_HAS_LAN_PRUNE_DELAY |
                                    PIMPARSE_HELLO_HAS_DR_PRIORITY | PIMPARSE_HELLO_HAS_GENERATION_ID |
                                    PIMPARSE_HELLO_HAS_ADDRESS_LIST | PIMPARSE_HELLO_HAS_STATE_REFRESH |
                                    PIMPARSE_HELLO_BIDIR_CAPABLE | PIMPARSE_HELLO_JOIN_ATTRIBUTE);
    assert_int_equal(h.num_addresses, 2);
    pimparse_addr a;
    assert_int_equal(pimparse_hello_address(&h, 0, &a), 0);
    assert_addr(&a, "10.2.0.9");
    assert_int_equal(pimparse_hello_address(&h, 1, &a), 0);
    assert_addr(&a, "fe80::9");
    assert_int_equal(pimparse_hello_address(&h, 2, &a), PIMPARSE_ERR_INVALID);

    /* Defaults when absent. */
    hello_packet(opts, 0, 1, &pkt);
    assert_int_equal(pimparse_hello_decode(&pkt, &h), 0);
    assert_int_equal(h.holdtime, 105);
    assert_int_equal(h.dr_priority, 1);
    assert_int_equal(h.present, 0);

    /* A known option with the wrong length invalidates the Hello. */
    const struct { uint8_t type; uint8_t len; } bad[] = {
        {1, 0}, {1, 4}, {2, 2}, {19, 2}, {20, 0}, {21, 2}, {22, 4}, {26, 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t o[16] = {0, bad[i].type, 0, bad[i].len};
        hello_packet(o, 4 + bad[i].len, 0, &pkt);
        assert_int_equal(pimparse_hello_decode(&pkt, &h), PIMPARSE_ERR_MALFORMED);
    }
    /* An option running past the end (as tcpdump's pimv2-oobr-2: type 0 length 256). */
    uint8_t o[16] = {0, 0, 1, 0, 0, 1, 0, 0};
    hello_packet(o, 8, 0, &pkt);
    assert_int_equal(pimparse_hello_decode(&pkt, &h), PIMPARSE_ERR_MALFORMED);
    /* Address list: unknown family, encoding 1, a partial entry. */
    uint8_t al[16] = {0, 24, 0, 6, 3, 0, 10, 2, 0, 9};
    hello_packet(al, 10, 0, &pkt);
    assert_int_equal(pimparse_hello_decode(&pkt, &h), PIMPARSE_ERR_FAMILY);
    al[4] = 1;
    al[5] = 1;
    hello_packet(al, 10, 0, &pkt);
    assert_int_equal(pimparse_hello_decode(&pkt, &h), PIMPARSE_ERR_ENCODING);
    al[5] = 0;
    al[3] = 5;
    hello_packet(al, 9, 0, &pkt);
    assert_int_equal(pimparse_hello_decode(&pkt, &h), PIMPARSE_ERR_MALFORMED);
    /* Holdtime 0 and 0xFFFF decode as values. */
    uint8_t ht[6] = {0, 1, 0, 2, 0xff, 0xff};
    hello_packet(ht, 6, 0, &pkt);
    assert_int_equal(pimparse_hello_decode(&pkt, &h), 0);
    assert_int_equal(h.holdtime, 0xffff);
    /* Wrong type. */
    static const struct ppb_source j[] = {{"23.212.185.4", PIMPARSE_SOURCE_S, 0}};
    static const struct ppb_group g4[] = {{"232.1.1.1", 0, 0, j, 1, NULL, 0}};
    size_t ml = ppb_jp(msgbuf, sizeof msgbuf, "10.2.0.2", 210, g4, 1);
    jp_packet(msgbuf, ml, 0, &pkt);
    assert_int_equal(pimparse_hello_decode(&pkt, &h), PIMPARSE_ERR_WRONG_TYPE);
}

static void test_hello_encode(void **state)
{
    (void)state;
    pimparse_hello_params p;
    pimparse_hello_params_default(&p, 0x0a0b0c0d);
    uint8_t buf[256];
    int n = pimparse_hello_encode(&p, NULL, NULL, buf, sizeof buf);
    /* spec/pim.md §10: the 34-byte Hello FRR and pimd accept. */
    const uint8_t want[34] = {
        0x20, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x02, 0x00, 0x69,
        0x00, 0x02, 0x00, 0x04, 0x01, 0xf4, 0x09, 0xc4,
        0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x14, 0x00, 0x04, 0x0a, 0x0b, 0x0c, 0x0d,
    };
    assert_int_equal(n, 34);
    assert_int_equal(pimparse_checksum(buf, 34, 0), 0);
    buf[2] = buf[3] = 0;
    assert_memory_equal(buf, want, 34);

    /* Round trip through the decoder, IPv4 and IPv6 (pseudo-header), with addresses,
     * T bit, no LAN Prune Delay, holdtime 0 (going down). */
    pimparse_addr addrs[3] = {A("10.2.0.3"), A("2001:db8::3"), A("fe80::3")};
    for (int v6 = 0; v6 < 2; v6++) {
        for (int variant = 0; variant < 3; variant++) {
            pimparse_hello_params_default(&p, 0xfeedface);
            p.addresses = addrs;
            p.num_addresses = 3;
            p.dr_priority = 7;
            if (variant == 1) {
                p.lan_prune_delay = false;
                p.holdtime = 0;
            } else if (variant == 2) {
                p.t_bit = true;
                p.propagation_delay_ms = 0x7fff;
                p.override_interval_ms = 0xffff;
            }
            pimparse_addr src = A(v6 ? "fe80::1" : "10.2.0.1");
            pimparse_addr dst = A(v6 ? "ff02::d" : "224.0.0.13");
            n = pimparse_hello_encode(&p, v6 ? &src : NULL, v6 ? &dst : NULL, buf, sizeof buf);
            assert_true(n > 0);
            size_t il = ppb_ip(ipbuf, sizeof ipbuf, v6 ? "fe80::1" : "10.2.0.1",
                               v6 ? "ff02::d" : "224.0.0.13", 103, buf, (size_t)n, 1);
            pimparse_packet pkt;
            assert_int_equal(pimparse_frame_decode(12, ipbuf, il, &pkt), 0);
            pimparse_hello h;
            assert_int_equal(pimparse_hello_decode(&pkt, &h), 0);
            assert_int_equal(h.holdtime, p.holdtime);
            assert_int_equal(h.generation_id, 0xfeedface);
            assert_int_equal(h.dr_priority, 7);
            assert_int_equal((h.present & PIMPARSE_HELLO_HAS_LAN_PRUNE_DELAY) != 0, p.lan_prune_delay);
            if (p.lan_prune_delay) {
                assert_int_equal(h.t_bit, p.t_bit);
                assert_int_equal(h.propagation_delay_ms, p.propagation_delay_ms);
                assert_int_equal(h.override_interval_ms, p.override_interval_ms);
            }
            assert_int_equal(h.num_addresses, 3);
            for (unsigned i = 0; i < 3; i++) {
                pimparse_addr a;
                assert_int_equal(pimparse_hello_address(&h, i, &a), 0);
                assert_true(pimparse_addr_equal(&a, &addrs[i]));
            }
        }
    }
    /* Every buffer size below the need fails cleanly. */
    pimparse_hello_params_default(&p, 1);
    for (size_t s = 0; s < 34; s++)
        assert_int_equal(pimparse_hello_encode(&p, NULL, NULL, buf, s), PIMPARSE_ERR_BUFFER);
    /* Bad arguments. */
    pimparse_addr bad = {0};
    p.addresses = &bad;
    p.num_addresses = 1;
    assert_int_equal(pimparse_hello_encode(&p, NULL, NULL, buf, sizeof buf), PIMPARSE_ERR_INVALID);
    p.num_addresses = 0;
    p.propagation_delay_ms = 0x8000;
    assert_int_equal(pimparse_hello_encode(&p, NULL, NULL, buf, sizeof buf), PIMPARSE_ERR_INVALID);
    pimparse_hello_params_default(&p, 1);
    pimparse_addr s4 = A("10.0.0.1"), d6 = A("ff02::d");
    assert_int_equal(pimparse_hello_encode(&p, &s4, &d6, buf, sizeof buf), PIMPARSE_ERR_INVALID);
    assert_int_equal(pimparse_hello_encode(&p, &s4, NULL, buf, sizeof buf), PIMPARSE_ERR_INVALID);
    assert_int_equal(pimparse_hello_encode(NULL, NULL, NULL, buf, sizeof buf), PIMPARSE_ERR_INVALID);
}

static void test_misc(void **state)
{
    (void)state;
    for (int e = -201; e >= -217; e--) {
        const char *t = pimparse_strerror(e);
        assert_non_null(t);
        assert_string_not_equal(t, "unknown error");
    }
    assert_string_equal(pimparse_strerror(-300), "unknown error");
    assert_string_equal(pimparse_strerror(0), "success");
    assert_non_null(strstr(pimparse_strerror(-2), "No such file"));
    assert_string_equal(pimparse_version(), "0.1.0");
    pimparse_addr a;
    assert_int_equal(pimparse_addr_parse("2001:DB8:0:0:0:0:0:A", &a), 0);
    assert_addr(&a, "2001:db8::a");
    assert_int_equal(pimparse_addr_parse("1.2.3", &a), PIMPARSE_ERR_INVALID);
    assert_int_equal(pimparse_addr_parse(NULL, &a), PIMPARSE_ERR_INVALID);
    pimparse_addr z = {0};
    char buf[8];
    assert_string_equal(pimparse_addr_format(&z, buf, sizeof buf), "?");
    /* Address classes used by the state policy. */
    assert_true(pp_addr_is_ssm((pimparse_addr[]){A("232.0.0.1")}));
    assert_false(pp_addr_is_ssm((pimparse_addr[]){A("239.0.0.1")}));
    assert_true(pp_addr_is_ssm((pimparse_addr[]){A("ff3e::1")}));
    assert_false(pp_addr_is_ssm((pimparse_addr[]){A("ff3e:1::1")}));
    assert_false(pp_addr_is_ssm((pimparse_addr[]){A("ff0e::1")}));
    assert_true(pp_addr_is_link_local_group((pimparse_addr[]){A("224.0.0.13")}));
    assert_false(pp_addr_is_link_local_group((pimparse_addr[]){A("224.0.1.1")}));
    assert_true(pp_addr_is_link_local_group((pimparse_addr[]){A("ff02::d")}));
    assert_true(pp_addr_is_link_local_group((pimparse_addr[]){A("ff31::1")}));
    assert_false(pp_addr_is_link_local_group((pimparse_addr[]){A("ff35::1")}));
    assert_false(pp_addr_is_unicast((pimparse_addr[]){A("0.0.0.0")}));
    assert_false(pp_addr_is_unicast((pimparse_addr[]){A("255.255.255.255")}));
    assert_false(pp_addr_is_unicast((pimparse_addr[]){A("::")}));
    assert_false(pp_addr_is_unicast((pimparse_addr[]){A("ff3e::1")}));
    assert_true(pp_addr_is_unicast((pimparse_addr[]){A("2001:db8::1")}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jp_ipv4_fields),
        cmocka_unit_test(test_jp_ipv6_fields),
        cmocka_unit_test(test_link_types),
        cmocka_unit_test(test_ipv4_header_rules),
        cmocka_unit_test(test_ipv6_extension_headers),
        cmocka_unit_test(test_pim_header_and_checksum),
        cmocka_unit_test(test_checksum_sum_reference),
        cmocka_unit_test(test_truncation_every_offset),
        cmocka_unit_test(test_jp_families_and_encodings),
        cmocka_unit_test(test_hello_decode),
        cmocka_unit_test(test_hello_encode),
        cmocka_unit_test(test_misc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
