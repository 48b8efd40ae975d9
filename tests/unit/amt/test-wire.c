/* test-wire.c — golden bytes and validation rules of libamt's wire codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "amt-internal.h"
#include "golden.h"

static const uint8_t mac[6] = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6};
#define NONCE 0x0badcafeu

static amt_addr A(const char *s)
{
    amt_addr a;
    assert_int_equal(amt_addr_parse(&a, s), 0);
    return a;
}

static void test_discovery(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x01, 0, 0, 0, 0x12, 0x34, 0x56, 0x78};
    uint8_t buf[64];
    amt_msg m = {.type = AMT_RELAY_DISCOVERY, .nonce = 0x12345678};
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 8);
    assert_memory_equal(buf, want, 8);
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, want, 8), 0);
    assert_int_equal(d.type, AMT_RELAY_DISCOVERY);
    assert_int_equal(d.nonce, 0x12345678);
    assert_int_equal(amt_msg_decode(&d, want, 7), AMT_ERR_TRUNCATED);
    uint8_t longer[9] = {0x01};
    assert_int_equal(amt_msg_decode(&d, longer, 9), AMT_ERR_LENGTH);
}

static void test_advertisement(void **state)
{
    (void)state;
    static const uint8_t v4[] = {0x02, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 10, 3, 3, 1};
    static const uint8_t v6[] = {0x02, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x20, 0x01, 0x0d, 0xb8,
                                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15};
    uint8_t buf[64];
    amt_msg m = {.type = AMT_RELAY_ADVERTISEMENT, .nonce = 0x12345678, .relay_address = A("10.3.3.1")};
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 12);
    assert_memory_equal(buf, v4, 12);
    m.relay_address = A("2001:db8::15");
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 24);
    assert_memory_equal(buf, v6, 24);

    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, v4, sizeof v4), 0);
    assert_true(amt_addr_equal(&d.relay_address, &(amt_addr){0}) == false);
    amt_addr want4 = A("10.3.3.1"), want6 = A("2001:db8::15");
    assert_true(amt_addr_equal(&d.relay_address, &want4));
    assert_int_equal(d.nonce, 0x12345678);
    assert_int_equal(amt_msg_decode(&d, v6, sizeof v6), 0);
    assert_true(amt_addr_equal(&d.relay_address, &want6));
    /* RFC 7450 §5.1.2.4: only 12 or 24 bytes. */
    assert_int_equal(amt_msg_decode(&d, v6, 11), AMT_ERR_TRUNCATED);
    assert_int_equal(amt_msg_decode(&d, v6, 13), AMT_ERR_LENGTH);
    assert_int_equal(amt_msg_decode(&d, v6, 23), AMT_ERR_LENGTH);
    uint8_t v6l[25] = {0x02};
    assert_int_equal(amt_msg_decode(&d, v6l, 25), AMT_ERR_LENGTH);
}

static void test_request(void **state)
{
    (void)state;
    static const uint8_t p0[] = {0x03, 0x00, 0, 0, 0x0b, 0xad, 0xca, 0xfe};
    static const uint8_t p1[] = {0x03, 0x01, 0, 0, 0x0b, 0xad, 0xca, 0xfe};
    uint8_t buf[64];
    amt_msg m = {.type = AMT_REQUEST, .nonce = NONCE};
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 8);
    assert_memory_equal(buf, p0, 8);
    m.p_flag = true;
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 8);
    /* P is bit 0x01 of byte 1, not 0x80 (digest §2). */
    assert_memory_equal(buf, p1, 8);
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, p1, 8), 0);
    assert_true(d.p_flag);
    uint8_t wrongp[8] = {0x03, 0x80, 0, 0, 1, 2, 3, 4};
    assert_int_equal(amt_msg_decode(&d, wrongp, 8), 0);
    assert_false(d.p_flag); /* reserved bits ignored */
    assert_int_equal(amt_msg_encode(&m, buf, 7), AMT_ERR_NOBUF);
}

static void test_query_ihl6(void **state)
{
    (void)state;
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, golden_query_v4_ihl6, sizeof golden_query_v4_ihl6), 0);
    assert_int_equal(d.type, AMT_MEMBERSHIP_QUERY);
    assert_false(d.l_flag);
    assert_false(d.g_flag);
    assert_memory_equal(d.response_mac, mac, 6);
    assert_int_equal(d.nonce, NONCE);
    assert_int_equal(d.ip_len, 36);
    amt_query_info q;
    assert_int_equal(amt_query_parse(&q, d.ip, d.ip_len), 0);
    assert_int_equal(q.family, AMT_IPV4);
    assert_int_equal(q.ip_header_len, 24);
    assert_int_equal(q.qqic, 20);
    assert_int_equal(q.qqi_s, 20);
    assert_int_equal(q.qrv, 2);
    assert_int_equal(q.max_resp_ms, 1600);
    amt_addr src = A("10.3.3.1");
    assert_true(amt_addr_equal(&q.ip_source, &src));

    /* Re-encode from the decoded fields: the same bytes. */
    uint8_t buf[128];
    assert_int_equal(amt_msg_encode(&d, buf, sizeof buf), (int)sizeof golden_query_v4_ihl6);
    assert_memory_equal(buf, golden_query_v4_ihl6, sizeof golden_query_v4_ihl6);
}

static void test_query_ihl5(void **state)
{
    (void)state;
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, golden_query_v4_ihl5, sizeof golden_query_v4_ihl5), 0);
    amt_query_info q;
    assert_int_equal(amt_query_parse(&q, d.ip, d.ip_len), 0);
    assert_int_equal(q.ip_header_len, 20);
    assert_int_equal(q.qqi_s, 20);
}

static void test_query_g(void **state)
{
    (void)state;
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, golden_query_v4_g, sizeof golden_query_v4_g), 0);
    assert_true(d.g_flag);
    assert_int_equal(d.gateway_port, 40000);
    amt_addr gw = A("10.3.3.2");
    assert_true(amt_addr_equal(&d.gateway_address, &gw));
    assert_int_equal(d.ip_len, 36);
    amt_query_info q;
    assert_int_equal(amt_query_parse(&q, d.ip, d.ip_len), 0);
    uint8_t buf[128];
    assert_int_equal(amt_msg_encode(&d, buf, sizeof buf), 66);
    assert_memory_equal(buf, golden_query_v4_g, 66);
    /* G set but too short for the trailer. */
    assert_int_equal(amt_msg_decode(&d, golden_query_v4_g, 12 + 20 + 17), AMT_ERR_TRUNCATED);
}

static void test_query_v6(void **state)
{
    (void)state;
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, golden_query_v6, sizeof golden_query_v6), 0);
    amt_query_info q;
    assert_int_equal(amt_query_parse(&q, d.ip, d.ip_len), 0);
    assert_int_equal(q.family, AMT_IPV6);
    assert_int_equal(q.ip_header_len, 48);
    assert_int_equal(q.max_resp_ms, 1000);
    assert_int_equal(q.qqi_s, 5);
    assert_int_equal(q.qrv, 2);
}

static void test_query_errors(void **state)
{
    (void)state;
    uint8_t b[128];
    amt_query_info q;
    const size_t off = 12;
    /* Bad IGMP checksum. */
    memcpy(b, golden_query_v4_ihl6, 48);
    b[off + 24 + 2] ^= 0x01;
    assert_int_equal(amt_query_parse(&q, b + off, 36), AMT_ERR_CHECKSUM);
    /* Not a query (report type). */
    memcpy(b, golden_query_v4_ihl6, 48);
    b[off + 24] = 0x22;
    assert_int_equal(amt_query_parse(&q, b + off, 36), AMT_ERR_INNER);
    /* Total length beyond the datagram. */
    memcpy(b, golden_query_v4_ihl6, 48);
    b[off + 3] = 60;
    assert_int_equal(amt_query_parse(&q, b + off, 36), AMT_ERR_LENGTH);
    /* IHL below 5. */
    memcpy(b, golden_query_v4_ihl6, 48);
    b[off] = 0x44;
    assert_int_equal(amt_query_parse(&q, b + off, 36), AMT_ERR_INNER);
    /* IGMP part shorter than 12 bytes. */
    memcpy(b, golden_query_v4_ihl6, 48);
    b[off + 3] = 24 + 8;
    assert_int_equal(amt_query_parse(&q, b + off, 36), AMT_ERR_TRUNCATED);
    /* MLD checksum covers the pseudo-header: change the source address. */
    memcpy(b, golden_query_v6, 88);
    b[off + 8 + 15] ^= 0x02;
    assert_int_equal(amt_query_parse(&q, b + off, 76), AMT_ERR_CHECKSUM);
    /* IPv6 payload length beyond the datagram. */
    memcpy(b, golden_query_v6, 88);
    b[off + 5] += 1;
    assert_int_equal(amt_query_parse(&q, b + off, 76), AMT_ERR_LENGTH);
    /* Unknown IP version. */
    memcpy(b, golden_query_v6, 88);
    b[off] = 0x50;
    assert_int_equal(amt_query_parse(&q, b + off, 76), AMT_ERR_INNER);
    assert_int_equal(amt_query_parse(&q, b + off, 19), AMT_ERR_TRUNCATED);
}

static void test_update_v4(void **state)
{
    (void)state;
    amt_addr src = A("10.2.2.1");
    amt_record r = {.type = AMT_MODE_IS_INCLUDE, .group = A("232.1.1.1"), .sources = &src,
                    .n_sources = 1};
    uint8_t buf[256];
    int n = amt_report_build(buf + 12, sizeof buf - 12, AMT_IPV4, NULL, &r, 1);
    assert_int_equal(n, 44);
    assert_int_equal(amt_report_size(AMT_IPV4, &r, 1), 44);
    amt_msg m = {.type = AMT_MEMBERSHIP_UPDATE, .nonce = NONCE, .ip = buf + 12, .ip_len = (size_t)n};
    memcpy(m.response_mac, mac, 6);
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 56);
    assert_memory_equal(buf, golden_update_v4, 56);
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, golden_update_v4, 56), 0);
    assert_int_equal(d.ip_len, 44);
    assert_memory_equal(d.response_mac, mac, 6);
}

static void test_update_v6(void **state)
{
    (void)state;
    amt_addr src = A("2001:db8::1");
    amt_record r = {.type = AMT_ALLOW_NEW_SOURCES, .group = A("ff3e::8000:1"), .sources = &src,
                    .n_sources = 1};
    uint8_t buf[256];
    uint8_t ip[200];
    int n = amt_report_build(ip, sizeof ip, AMT_IPV6, NULL, &r, 1);
    assert_int_equal(n, 92);
    amt_msg m = {.type = AMT_MEMBERSHIP_UPDATE, .nonce = NONCE, .ip = ip, .ip_len = (size_t)n};
    memcpy(m.response_mac, mac, 6);
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 104);
    assert_memory_equal(buf, golden_update_v6, 104);
    assert_int_equal(amt_report_build(ip, 91, AMT_IPV6, NULL, &r, 1), AMT_ERR_NOBUF);
    /* Family mismatch between the report and a record. */
    assert_int_equal(amt_report_build(ip, sizeof ip, AMT_IPV4, NULL, &r, 1), AMT_ERR_FAMILY);
}

struct seen {
    int n;
    amt_record_view v[4];
};

static int collect(void *user, int family, const amt_record_view *rec)
{
    (void)family;
    struct seen *s = user;
    if (s->n < 4)
        s->v[s->n] = *rec;
    s->n++;
    return 0;
}

static void test_report_parse(void **state)
{
    (void)state;
    struct seen s = {0};
    int fam = 0;
    assert_int_equal(amt_report_parse(golden_update_v4 + 12, 44, &fam, collect, &s), 0);
    assert_int_equal(fam, AMT_IPV4);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].type, AMT_MODE_IS_INCLUDE);
    assert_int_equal(s.v[0].n_sources, 1);
    static const uint8_t s0[4] = {10, 2, 2, 1};
    assert_memory_equal(s.v[0].sources, s0, 4);
    memset(&s, 0, sizeof s);
    assert_int_equal(amt_report_parse(golden_update_v6 + 12, 92, &fam, collect, &s), 0);
    assert_int_equal(fam, AMT_IPV6);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].type, AMT_ALLOW_NEW_SOURCES);

    /* Several groups, several sources each: grouped records round-trip. */
    amt_addr srcs[3] = {A("10.0.0.1"), A("10.0.0.2"), A("10.0.0.3")};
    amt_record r[2] = {{AMT_MODE_IS_INCLUDE, A("232.0.0.1"), srcs, 2},
                       {AMT_BLOCK_OLD_SOURCES, A("232.0.0.2"), srcs + 2, 1}};
    uint8_t ip[256];
    amt_addr isrc = A("192.0.2.9");
    int n = amt_report_build(ip, sizeof ip, AMT_IPV4, &isrc, r, 2);
    assert_int_equal(n, 24 + 8 + 8 + 8 + 8 + 4);
    memset(&s, 0, sizeof s);
    assert_int_equal(amt_report_parse(ip, (size_t)n, &fam, collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[0].n_sources, 2);
    assert_int_equal(s.v[1].type, AMT_BLOCK_OLD_SOURCES);
    assert_memory_equal(ip + 12, isrc.bytes, 4);

    /* Strictness: each rule on its own. */
    uint8_t b[128];
    memcpy(b, golden_update_v4 + 12, 44);
    b[8] = 2; /* TTL */
    assert_int_equal(amt_report_parse(b, 44, NULL, NULL, NULL), AMT_ERR_CHECKSUM);
    memcpy(b, golden_update_v4 + 12, 44);
    b[30] ^= 1; /* IGMP checksum */
    assert_int_equal(amt_report_parse(b, 44, NULL, NULL, NULL), AMT_ERR_CHECKSUM);
    assert_int_equal(amt_report_parse(golden_update_v4 + 12, 43, NULL, NULL, NULL), AMT_ERR_LENGTH);
    memcpy(b, golden_update_v6 + 12, 92);
    b[43] = 1; /* Router Alert value 1 is not MLD */
    assert_int_equal(amt_report_parse(b, 92, NULL, NULL, NULL), AMT_ERR_INNER);
    memcpy(b, golden_update_v6 + 12, 92);
    b[60] ^= 0x10; /* MLD checksum */
    assert_int_equal(amt_report_parse(b, 92, NULL, NULL, NULL), AMT_ERR_CHECKSUM);
}

static void test_data(void **state)
{
    (void)state;
    amt_msg m;
    assert_int_equal(amt_msg_decode(&m, golden_data_v4, sizeof golden_data_v4), 0);
    assert_int_equal(m.type, AMT_MULTICAST_DATA);
    amt_data d;
    assert_int_equal(amt_data_parse(&d, m.ip, m.ip_len), 0);
    amt_addr s4 = A("10.2.2.1"), g4 = A("232.1.1.1");
    assert_true(amt_addr_equal(&d.sg.source, &s4));
    assert_true(amt_addr_equal(&d.sg.group, &g4));
    assert_true(d.has_udp);
    assert_int_equal(d.udp_dport, 5001);
    assert_int_equal(d.payload_len, 5);
    assert_memory_equal(d.payload, "hello", 5);
    assert_ptr_equal(d.ip, golden_data_v4 + 2); /* no copy */

    assert_int_equal(amt_msg_decode(&m, golden_data_v6, sizeof golden_data_v6), 0);
    assert_int_equal(amt_data_parse(&d, m.ip, m.ip_len), 0);
    amt_addr g6 = A("ff3e::8000:1");
    assert_true(amt_addr_equal(&d.sg.group, &g6));
    assert_int_equal(d.payload_len, 5);

    uint8_t enc[64];
    amt_msg e = {.type = AMT_MULTICAST_DATA, .ip = golden_data_v6 + 2, .ip_len = sizeof golden_data_v6 - 2};
    assert_int_equal(amt_msg_encode(&e, enc, sizeof enc), (int)sizeof golden_data_v6);
    assert_memory_equal(enc, golden_data_v6, sizeof golden_data_v6);

    uint8_t b[64];
    memcpy(b, golden_data_v4 + 2, 33);
    b[3] = 34; /* total length > datagram */
    assert_int_equal(amt_data_parse(&d, b, 33), AMT_ERR_LENGTH);
    memcpy(b, golden_data_v4 + 2, 33);
    b[16] = 10; /* not multicast */
    assert_int_equal(amt_data_parse(&d, b, 33), AMT_ERR_INNER);
    memcpy(b, golden_data_v4 + 2, 33);
    b[25] = 40; /* UDP length > IP payload */
    assert_int_equal(amt_data_parse(&d, b, 33), AMT_ERR_LENGTH);
    memcpy(b, golden_data_v6 + 2, 53);
    b[5] = 14; /* payload length > datagram */
    assert_int_equal(amt_data_parse(&d, b, 53), AMT_ERR_LENGTH);
    assert_int_equal(amt_msg_decode(&m, golden_data_v4, 21), AMT_ERR_TRUNCATED);
    /* Fragment (MF set): IP delivered, UDP not parsed. */
    memcpy(b, golden_data_v4 + 2, 33);
    b[6] = 0x20;
    assert_int_equal(amt_data_parse(&d, b, 33), 0);
    assert_false(d.has_udp);
}

static void test_teardown(void **state)
{
    (void)state;
    amt_msg m = {.type = AMT_TEARDOWN, .nonce = NONCE, .gateway_port = 40000,
                 .gateway_address = A("2001:db8::2")};
    memcpy(m.response_mac, mac, 6);
    uint8_t buf[64];
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 30);
    assert_memory_equal(buf, golden_teardown_v6, 30);
    amt_msg d;
    assert_int_equal(amt_msg_decode(&d, golden_teardown_v6, 30), 0);
    assert_true(amt_addr_equal(&d.gateway_address, &m.gateway_address));
    assert_int_equal(d.gateway_port, 40000);
    /* IPv4 gateway address travels as ::a.b.c.d. */
    m.gateway_address = A("10.3.3.2");
    assert_int_equal(amt_msg_encode(&m, buf, sizeof buf), 30);
    static const uint8_t compat[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 3, 3, 2};
    assert_memory_equal(buf + 14, compat, 16);
    assert_int_equal(amt_msg_decode(&d, buf, 29), AMT_ERR_TRUNCATED);
    assert_int_equal(amt_msg_decode(&d, buf, 30), 0);
    assert_true(amt_addr_equal(&d.gateway_address, &m.gateway_address));
}

static void test_header_errors(void **state)
{
    (void)state;
    amt_msg d;
    uint8_t b[8] = {0x13, 0, 0, 0, 1, 2, 3, 4}; /* version 1 */
    assert_int_equal(amt_msg_decode(&d, b, 8), AMT_ERR_VERSION);
    b[0] = 0x08;
    assert_int_equal(amt_msg_decode(&d, b, 8), AMT_ERR_TYPE);
    b[0] = 0x00;
    assert_int_equal(amt_msg_decode(&d, b, 8), AMT_ERR_TYPE);
    assert_int_equal(amt_msg_decode(&d, b, 1), AMT_ERR_TRUNCATED);
    assert_int_equal(amt_msg_decode(&d, NULL, 0), AMT_ERR_TRUNCATED);
    assert_int_equal(amt_msg_decode(&d, golden_query_v4_ihl6, 31), AMT_ERR_TRUNCATED);
    assert_int_equal(amt_msg_decode(&d, golden_update_v4, 31), AMT_ERR_TRUNCATED);
    amt_msg e = {.type = 9};
    uint8_t buf[32];
    assert_int_equal(amt_msg_encode(&e, buf, sizeof buf), AMT_ERR_INVALID_ARG);
}

static void test_codes(void **state)
{
    (void)state;
    /* Digest §3.3 examples. */
    assert_int_equal(amt_decode_code8(20), 20);
    assert_int_equal(amt_decode_code8(16), 16);
    assert_int_equal(amt_decode_code8(127), 127);
    assert_int_equal(amt_decode_code8(0x80), 128);
    assert_int_equal(amt_decode_code8(0x8C), 224);
    assert_int_equal(amt_decode_code8(0xFF), 31744);
    assert_int_equal(amt_decode_code16(1000), 1000);
    assert_int_equal(amt_decode_code16(32767), 32767);
    assert_int_equal(amt_decode_code16(0x8000), 32768);
    assert_int_equal(amt_decode_code16(0xFFFF), 8387584);
}

static void test_checksum_and_names(void **state)
{
    (void)state;
    /* RFC 1071 §3 example: sum ddf2, checksum 220d. */
    static const uint8_t v[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(amt_checksum(v, sizeof v), 0x220d);
    assert_int_equal(amt_checksum(v, 7), amt_csum_fold(amt_csum_add(0, v, 7)));
    char buf[AMT_ADDR_STRLEN];
    amt_addr a = A("2001:db8::1");
    assert_string_equal(amt_addr_format(&a, buf, sizeof buf), "2001:db8::1");
    amt_addr bad = {0};
    assert_string_equal(amt_addr_format(&bad, buf, sizeof buf), "?");
    assert_int_equal(amt_addr_parse(&a, "232.1.1"), AMT_ERR_INVALID_ARG);
    assert_string_equal(amt_strerror(AMT_ERR_NONCE), "nonce mismatch");
    assert_string_equal(amt_strerror(-2), "No such file or directory");
    assert_string_equal(amt_version(), "0.1.0");
    for (int e = AMT_ERR_INVALID_ARG; e >= AMT_ERR_SEND; e--)
        assert_string_not_equal(amt_strerror(e), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery),    cmocka_unit_test(test_advertisement),
        cmocka_unit_test(test_request),      cmocka_unit_test(test_query_ihl6),
        cmocka_unit_test(test_query_ihl5),   cmocka_unit_test(test_query_g),
        cmocka_unit_test(test_query_v6),     cmocka_unit_test(test_query_errors),
        cmocka_unit_test(test_update_v4),    cmocka_unit_test(test_update_v6),
        cmocka_unit_test(test_report_parse), cmocka_unit_test(test_data),
        cmocka_unit_test(test_teardown),     cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_codes),        cmocka_unit_test(test_checksum_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
