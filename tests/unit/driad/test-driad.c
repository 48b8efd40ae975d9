/* test-driad.c — unit tests of libdriad's sans-I/O core: names, AMTRELAY RDATA, DNS
 * query/answer handling, ordering, hold-down and the cache. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "driad-internal.h"
#include "test-helpers.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static int decode_hex(const char *h, unsigned flags, struct driad_record *rec)
{
    uint8_t buf[600];
    size_t n = unhex(h, buf);
    return driad_rdata_decode(buf, n, flags, rec);
}

static void fmt_ok(const struct driad_record *rec, const char *want)
{
    char buf[DRIAD_NAME_TEXT_MAX + 32];
    assert_true(driad_record_format(rec, buf, sizeof buf) > 0);
    assert_string_equal(buf, want);
}

/* ---------------------------------------------------------------- RDATA */

static void test_rdata_valid_forms(void **state)
{
    (void)state;
    struct driad_record r;
    /* spec/driad.md §9, W1-W8 */
    assert_int_equal(decode_hex("0a01cb00710f", 0, &r), 0);
    assert_int_equal(r.precedence, 10);
    assert_false(r.discovery_optional);
    assert_int_equal(r.type, 1);
    fmt_ok(&r, "10 0 1 203.0.113.15");
    assert_int_equal(decode_hex("0a0220010db8000000000000000000000015", 0, &r), 0);
    fmt_ok(&r, "10 0 2 2001:db8::15");
    assert_int_equal(decode_hex("808309616d7472656c617973076578616d706c6503636f6d00", 0, &r), 0);
    assert_int_equal(r.precedence, 128);
    assert_true(r.discovery_optional);
    assert_int_equal(r.type, 3);
    assert_int_equal(r.name_len, 23);
    fmt_ok(&r, "128 1 3 amtrelays.example.com.");
    assert_int_equal(decode_hex("0a0220010db8000c0000000000000000000f", 0, &r), 0);
    fmt_ok(&r, "10 0 2 2001:db8:c::f");
    assert_int_equal(decode_hex("0000", 0, &r), 0);
    assert_int_equal(r.type, 0);
    fmt_ok(&r, "0 0 0 .");
    assert_int_equal(decode_hex("0a8309616d7472656c61793200", 0, &r), 0);
    fmt_ok(&r, "10 1 3 amtrelay2.");
    assert_int_equal(decode_hex("000300", 0, &r), 0);
    fmt_ok(&r, "0 0 3 .");
    /* unknown types are valid records, kept but never formatted as a relay */
    assert_int_equal(decode_hex("0504", 0, &r), 0);
    assert_int_equal(r.type, 4);
    assert_int_equal(r.precedence, 5);
    char buf[64];
    assert_int_equal(driad_record_format(&r, buf, sizeof buf), DRIAD_ERR_INVALID_ARGUMENT);
    assert_int_equal(decode_hex("05ff0102030405", 0, &r), 0);
    assert_int_equal(r.type, 127);
    assert_true(r.discovery_optional);
    /* D bit with every address type */
    assert_int_equal(decode_hex("ff81c0000201", 0, &r), 0);
    fmt_ok(&r, "255 1 1 192.0.2.1");
}

static void test_rdata_malformed(void **state)
{
    (void)state;
    struct driad_record r;
    /* W9, W10: type 3 without the root label (strict default) */
    assert_int_equal(decode_hex("808309616d7472656c617973076578616d706c6503636f6d", 0, &r),
                     DRIAD_ERR_NAME_UNTERMINATED);
    assert_int_equal(decode_hex("1003047233763603616d7406616b61646e73036e6574", 0, &r),
                     DRIAD_ERR_NAME_UNTERMINATED);
    assert_int_equal(decode_hex("000100", 0, &r), DRIAD_ERR_RDATA_LENGTH);      /* W11 */
    assert_int_equal(decode_hex("000000", 0, &r), DRIAD_ERR_RDATA_LENGTH);      /* W12 */
    assert_int_equal(decode_hex("0003c00c", 0, &r), DRIAD_ERR_NAME_COMPRESSED); /* W13 */
    assert_int_equal(decode_hex("0a", 0, &r), DRIAD_ERR_RDATA_SHORT);           /* W14 */
    assert_int_equal(decode_hex("", 0, &r), DRIAD_ERR_RDATA_SHORT);
    assert_int_equal(decode_hex("00030000", 0, &r), DRIAD_ERR_NAME_TRAILING);   /* W15 */
    /* over-long addresses */
    assert_int_equal(decode_hex("0001cb00710f00", 0, &r), DRIAD_ERR_RDATA_LENGTH);
    assert_int_equal(decode_hex("000220010db80000000000000000000000", 0, &r),
                     DRIAD_ERR_RDATA_LENGTH);
    assert_int_equal(decode_hex("000220010db800000000000000000000001500", 0, &r),
                     DRIAD_ERR_RDATA_LENGTH);
    /* type 3 with no relay field at all */
    assert_int_equal(decode_hex("0003", 0, &r), DRIAD_ERR_RDATA_LENGTH);
    /* label length 64 (0x40: extended label type) and a label running past RDATA */
    assert_int_equal(decode_hex("000340616100", 0, &r), DRIAD_ERR_NAME_LABEL);
    assert_int_equal(decode_hex("00030561626300", 0, &r), DRIAD_ERR_NAME_LABEL);
    /* compression pointer after a good label */
    assert_int_equal(decode_hex("00030161c00c", 0, &r), DRIAD_ERR_NAME_COMPRESSED);
    /* a name longer than 255 octets: five 63-octet labels */
    uint8_t big[2 + 5 * 64 + 1];
    big[0] = 0;
    big[1] = 3;
    size_t o = 2;
    for (int l = 0; l < 5; l++) {
        big[o++] = 63;
        memset(big + o, 'a', 63);
        o += 63;
    }
    big[o++] = 0;
    assert_int_equal(driad_rdata_decode(big, o, 0, &r), DRIAD_ERR_NAME_TOO_LONG);
    assert_int_equal(driad_rdata_decode(big, o, DRIAD_FLAG_LENIENT_NAMES, &r),
                     DRIAD_ERR_NAME_TOO_LONG);
    /* a name of exactly 255 octets is fine: 3 x 63 + one 62-octet label + root */
    o = 2;
    for (int l = 0; l < 4; l++) {
        uint8_t ll = l < 3 ? 63 : 61;
        big[o++] = ll;
        memset(big + o, 'b', ll);
        o += ll;
    }
    big[o++] = 0;
    assert_int_equal(o - 2, 255);
    assert_int_equal(driad_rdata_decode(big, o, 0, &r), 0);
    assert_int_equal(r.name_len, 255);
}

static void test_rdata_lenient_names(void **state)
{
    (void)state;
    struct driad_record r;
    /* W10 in lenient mode: the deployed record becomes a usable name */
    assert_int_equal(decode_hex("1003047233763603616d7406616b61646e73036e6574",
                                DRIAD_FLAG_LENIENT_NAMES, &r), 0);
    fmt_ok(&r, "16 0 3 r3v6.amt.akadns.net.");
    assert_int_equal(r.name_len, 21);
    assert_int_equal(r.name[20], 0);
    /* lenient mode still rejects labels that do not fit exactly */
    assert_int_equal(decode_hex("100304723376", DRIAD_FLAG_LENIENT_NAMES, &r), DRIAD_ERR_NAME_LABEL);
    assert_int_equal(decode_hex("0003c00c", DRIAD_FLAG_LENIENT_NAMES, &r), DRIAD_ERR_NAME_COMPRESSED);
    /* and a well-formed name decodes the same either way */
    assert_int_equal(decode_hex("0a8309616d7472656c61793200", DRIAD_FLAG_LENIENT_NAMES, &r), 0);
    fmt_ok(&r, "10 1 3 amtrelay2.");
}

/* ---------------------------------------------------------------- names */

static void test_reverse_names(void **state)
{
    (void)state;
    struct driad_ip ip;
    char buf[128];
    assert_int_equal(driad_ip_parse("198.51.100.12", &ip), 0);
    assert_int_equal(driad_reverse_name(&ip, buf, sizeof buf), 27);
    assert_string_equal(buf, "12.100.51.198.in-addr.arpa.");
    assert_int_equal(driad_ip_parse("2001:db8::a", &ip), 0);
    assert_true(driad_reverse_name(&ip, buf, sizeof buf) > 0);
    assert_string_equal(buf,
                        "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
    /* IPv4-mapped sources are normalised to IPv4 (spec §2) */
    assert_int_equal(driad_ip_parse("::ffff:198.51.100.12", &ip), 0);
    assert_int_equal(ip.family, AF_INET);
    assert_true(driad_reverse_name(&ip, buf, sizeof buf) > 0);
    assert_string_equal(buf, "12.100.51.198.in-addr.arpa.");
    /* wire form */
    uint8_t w[DRIAD_NAME_WIRE_MAX];
    assert_int_equal(driad_ip_parse("192.0.2.1", &ip), 0);
    int n = driad_reverse_name_wire(&ip, w, sizeof w);
    assert_int_equal(n, 24);
    assert_memory_equal(w, "\0011\0012\0010\003192\007in-addr\004arpa\0", 24);
    /* buffers too small and bad input */
    assert_int_equal(driad_reverse_name(&ip, buf, 10), DRIAD_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(driad_ip_parse("198.51.100", &ip), DRIAD_ERR_INVALID_ARGUMENT);
    assert_int_equal(driad_ip_parse("2001:db8::g", &ip), DRIAD_ERR_INVALID_ARGUMENT);
    ip.family = 0;
    assert_int_equal(driad_reverse_name(&ip, buf, sizeof buf), DRIAD_ERR_INVALID_ARGUMENT);
}

static void test_name_text(void **state)
{
    (void)state;
    uint8_t w[DRIAD_NAME_WIRE_MAX];
    char t[DRIAD_NAME_TEXT_MAX];
    int n = driad_name_parse("Relay.Example.COM", w, sizeof w);
    assert_int_equal(n, 19);
    assert_int_equal(driad_name_format(w, (size_t)n, t, sizeof t), 18);
    assert_string_equal(t, "Relay.Example.COM.");
    /* escapes round-trip (RFC 4343 §2.1) */
    n = driad_name_parse("a\\.b.c\\\\d.\\000x.", w, sizeof w);
    assert_true(n > 0);
    assert_int_equal(w[0], 3);
    assert_int_equal(w[2], '.');
    assert_true(driad_name_format(w, (size_t)n, t, sizeof t) > 0);
    assert_string_equal(t, "a\\.b.c\\\\d.\\000x.");
    assert_int_equal(driad_name_parse(".", w, sizeof w), 1);
    assert_int_equal(driad_name_format(w, 1, t, sizeof t), 1);
    assert_string_equal(t, ".");
    assert_int_equal(driad_name_parse("a..b", w, sizeof w), DRIAD_ERR_INVALID_ARGUMENT);
    char longlabel[80];
    memset(longlabel, 'x', 64);
    longlabel[64] = 0;
    assert_int_equal(driad_name_parse(longlabel, w, sizeof w), DRIAD_ERR_NAME_LABEL);
    /* format rejects malformed wire names */
    assert_int_equal(driad_name_format((const uint8_t *)"\003abc", 4, t, sizeof t),
                     DRIAD_ERR_NAME_UNTERMINATED);
    assert_int_equal(driad_name_format((const uint8_t *)"\300\014", 2, t, sizeof t),
                     DRIAD_ERR_NAME_COMPRESSED);
    assert_true(driad_wname_equal((const uint8_t *)"\001A\0", 3, (const uint8_t *)"\001a\0", 3));
    assert_false(driad_wname_equal((const uint8_t *)"\001A\0", 3, (const uint8_t *)"\001b\0", 3));
}

static void test_server_parse(void **state)
{
    (void)state;
    struct driad_server s;
    char t[64];
    assert_int_equal(driad_server_parse("127.0.0.1", 53535, &s), 0);
    assert_int_equal(s.port, 53535);
    assert_int_equal(s.ip.family, AF_INET);
    assert_int_equal(driad_server_parse("127.0.0.1:5353", 53, &s), 0);
    assert_int_equal(s.port, 5353);
    assert_int_equal(driad_server_parse("::1", 0, &s), 0);
    assert_int_equal(s.port, 53);
    assert_int_equal(s.ip.family, AF_INET6);
    assert_int_equal(driad_server_parse("[2001:db8::1]:853", 53, &s), 0);
    assert_int_equal(s.port, 853);
    assert_int_equal(driad_ip_format(&s.ip, t, sizeof t), 0);
    assert_string_equal(t, "2001:db8::1");
    assert_int_equal(driad_server_parse("[::1]x", 53, &s), DRIAD_ERR_INVALID_ARGUMENT);
    assert_int_equal(driad_server_parse("1.2.3.4:0", 53, &s), DRIAD_ERR_INVALID_ARGUMENT);
    assert_int_equal(driad_server_parse("1.2.3.4:65536", 53, &s), DRIAD_ERR_INVALID_ARGUMENT);
    assert_int_equal(driad_server_parse("1.2.3.4:", 53, &s), DRIAD_ERR_INVALID_ARGUMENT);
    assert_int_equal(driad_server_parse("host.example", 53, &s), DRIAD_ERR_INVALID_ARGUMENT);
    assert_int_equal(driad_server_parse("[2001:db8::1]:853", 53, &s), 0);
    assert_int_equal(driad_ip_format(&s.ip, t, 4), DRIAD_ERR_BUFFER_TOO_SMALL);
}

/* ---------------------------------------------------------------- messages */

static const char *Q12 = "12.100.51.198.in-addr.arpa.";

static int qwire(const char *text, uint8_t *w)
{
    return driad_name_parse(text, w, DRIAD_NAME_WIRE_MAX);
}

struct parse_env {
    struct driad_record rec[16];
    struct driad_ip addr[16];
    struct driad_answer a;
    int logged_warnings;
};

static void count_log(void *user, int level, const char *msg)
{
    struct parse_env *e = user;
    (void)msg;
    if (level == 4 /* LOG_WARNING */)
        e->logged_warnings++;
}

static int parse(struct parse_env *e, const struct test_msg *m, uint16_t id, const char *qname,
                 uint16_t qtype, unsigned budget, unsigned flags)
{
    uint8_t buf[4096], q[DRIAD_NAME_WIRE_MAX];
    int len = test_build(m, buf, sizeof buf);
    assert_true(len > 0);
    int ql = qwire(qname, q);
    assert_true(ql > 0);
    memset(&e->a, 0, sizeof e->a);
    e->a.records = e->rec;
    e->a.records_cap = 16;
    e->a.addrs = e->addr;
    e->a.addrs_cap = 16;
    return driad_answer_parse(buf, (size_t)len, id, q, (size_t)ql, qtype, budget, flags, &e->a,
                              count_log, e);
}

static void test_query_build(void **state)
{
    (void)state;
    uint8_t q[DRIAD_NAME_WIRE_MAX], buf[512];
    int ql = qwire(Q12, q);
    int n = driad_query_build(q, (size_t)ql, DRIAD_TYPE_AMTRELAY, 0xbeef, true, 1232, buf, sizeof buf);
    assert_true(n > 12);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, buf, (size_t)n), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_id(p), 0xbeef);
    assert_true(ldns_pkt_rd(p));
    assert_false(ldns_pkt_qr(p));
    assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
    assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_question(p)), 1);
    const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
    assert_int_equal(ldns_rr_get_type(qr), 260);
    char *owner = ldns_rdf2str(ldns_rr_owner(qr));
    assert_string_equal(owner, Q12);
    free(owner);
    ldns_pkt_free(p);
    /* RD clear and no EDNS */
    n = driad_query_build(q, (size_t)ql, DRIAD_TYPE_A, 7, false, 0, buf, sizeof buf);
    assert_true(n > 12);
    assert_int_equal(ldns_wire2pkt(&p, buf, (size_t)n), LDNS_STATUS_OK);
    assert_false(ldns_pkt_rd(p));
    assert_int_equal(ldns_pkt_arcount(p), 0);
    ldns_pkt_free(p);
    assert_int_equal(driad_query_build(q, (size_t)ql, 1, 7, false, 0, buf, 20),
                     DRIAD_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(driad_query_build((const uint8_t *)"\003abc", 4, 1, 7, false, 0, buf, sizeof buf),
                     DRIAD_ERR_INVALID_ARGUMENT);
}

static void test_answer_data_with_malformed(void **state)
{
    (void)state;
    struct parse_env e = {0};
    const char *ans[] = {
        "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 6 0a01cb00710f",
        "12.100.51.198.in-addr.arpa. 200 IN TYPE260 \\# 3 000100",
        "12.100.51.198.in-addr.arpa. 250 IN TYPE260 \\# 25 808309616d7472656c617973076578616d706c6503636f6d00",
        "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 4 0003c00c",
        "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 2 0504",
        NULL};
    struct test_msg m = {.id = 42, .qname = Q12, .qtype = 260, .qr = true, .aa = true, .answer = ans};
    assert_int_equal(parse(&e, &m, 42, Q12, 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_DATA);
    assert_int_equal(e.a.n_records, 3); /* two good + the unknown type */
    assert_int_equal(e.a.n_malformed, 2);
    assert_int_equal(e.a.first_malformed, DRIAD_ERR_RDATA_LENGTH);
    assert_int_equal(e.logged_warnings, 2);
    assert_int_equal(e.a.ttl, 200); /* min over the RRset, malformed RRs included */
    assert_true(e.a.authoritative);
    assert_int_equal(e.rec[0].type, 1);
    assert_int_equal(e.rec[0].ttl, 300);
    assert_int_equal(e.rec[1].type, 3);
    assert_int_equal(e.rec[2].type, 4);
    /* the question is compared case-insensitively */
    assert_int_equal(parse(&e, &m, 42, "12.100.51.198.IN-ADDR.ARPA.", 260, 8, 0), 0);
}

static void test_answer_checks(void **state)
{
    (void)state;
    struct parse_env e = {0};
    const char *ans[] = {"12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 6 0a01cb00710f", NULL};
    struct test_msg m = {.id = 42, .qname = Q12, .qtype = 260, .qr = true, .answer = ans};
    /* ldns does not check these (spec §7 #7): we do */
    assert_int_equal(parse(&e, &m, 43, Q12, 260, 8, 0), DRIAD_ERR_ID_MISMATCH);
    assert_int_equal(parse(&e, &m, 42, "13.100.51.198.in-addr.arpa.", 260, 8, 0),
                     DRIAD_ERR_QUESTION_MISMATCH);
    assert_int_equal(parse(&e, &m, 42, Q12, 1, 8, 0), DRIAD_ERR_QUESTION_MISMATCH);
    struct test_msg noq = m;
    noq.qname = NULL;
    assert_int_equal(parse(&e, &noq, 42, Q12, 260, 8, 0), DRIAD_ERR_QUESTION_MISMATCH);
    struct test_msg query = m;
    query.qr = false;
    assert_int_equal(parse(&e, &query, 42, Q12, 260, 8, 0), DRIAD_ERR_NOT_RESPONSE);
    struct test_msg tc = m;
    tc.tc = true;
    assert_int_equal(parse(&e, &tc, 42, Q12, 260, 8, 0), DRIAD_ERR_TRUNCATED);
    struct test_msg sf = m;
    sf.rcode = LDNS_RCODE_SERVFAIL;
    assert_int_equal(parse(&e, &sf, 42, Q12, 260, 8, 0), DRIAD_ERR_SERVFAIL);
    sf.rcode = LDNS_RCODE_REFUSED;
    assert_int_equal(parse(&e, &sf, 42, Q12, 260, 8, 0), DRIAD_ERR_REFUSED);
    sf.rcode = LDNS_RCODE_FORMERR;
    assert_int_equal(parse(&e, &sf, 42, Q12, 260, 8, 0), DRIAD_ERR_RCODE);
    /* garbage after a valid-looking header */
    uint8_t junk[20] = {0, 42, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a'};
    uint8_t q[DRIAD_NAME_WIRE_MAX];
    int ql = qwire(Q12, q);
    memset(&e.a, 0, sizeof e.a);
    assert_int_equal(driad_answer_parse(junk, sizeof junk, 42, q, (size_t)ql, 260, 8, 0, &e.a, NULL, NULL),
                     DRIAD_ERR_PACKET);
    assert_int_equal(driad_answer_parse(junk, 11, 42, q, (size_t)ql, 260, 8, 0, &e.a, NULL, NULL),
                     DRIAD_ERR_PACKET);
}

static void test_answer_negative(void **state)
{
    (void)state;
    struct parse_env e = {0};
    const char *soa[] = {"100.51.198.in-addr.arpa. 600 IN SOA ns1.example.com. h.example.com. 1 3600 900 604800 60",
                         NULL};
    struct test_msg m = {.id = 1, .qname = Q12, .qtype = 260, .qr = true,
                         .rcode = LDNS_RCODE_NXDOMAIN, .authority = soa};
    assert_int_equal(parse(&e, &m, 1, Q12, 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_NXDOMAIN);
    assert_int_equal(e.a.ttl, 60); /* RFC 2308 §5: min(SOA TTL, MINIMUM) */
    m.rcode = 0;
    assert_int_equal(parse(&e, &m, 1, Q12, 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_NODATA);
    assert_int_equal(e.a.ttl, 60);
    const char *soa2[] = {"100.51.198.in-addr.arpa. 30 IN SOA ns1.example.com. h.example.com. 1 3600 900 604800 60",
                          NULL};
    m.authority = soa2;
    assert_int_equal(parse(&e, &m, 1, Q12, 260, 8, 0), 0);
    assert_int_equal(e.a.ttl, 30);
    /* no SOA: not cacheable */
    m.authority = NULL;
    assert_int_equal(parse(&e, &m, 1, Q12, 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_NODATA);
    assert_int_equal(e.a.ttl, 0);
}

static void test_answer_chains(void **state)
{
    (void)state;
    struct parse_env e = {0};
    char t[DRIAD_NAME_TEXT_MAX];
    /* in-zone CNAME followed to the data (RFC 2317 style) */
    const char *full[] = {
        "15.100.51.198.in-addr.arpa. 100 IN CNAME 15.0-63.100.51.198.in-addr.arpa.",
        "15.0-63.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 6 0a81cb00711e", NULL};
    struct test_msg m = {.id = 9, .qname = "15.100.51.198.in-addr.arpa.", .qtype = 260,
                         .qr = true, .answer = full};
    assert_int_equal(parse(&e, &m, 9, "15.100.51.198.in-addr.arpa.", 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_DATA);
    assert_int_equal(e.a.hops, 1);
    assert_int_equal(e.a.ttl, 100);
    assert_int_equal(e.a.n_records, 1);
    assert_true(e.rec[0].discovery_optional);
    /* cross-zone CNAME alone (BIND stops at the zone boundary): re-query the target */
    const char *alone[] = {"15.100.51.198.in-addr.arpa. 100 IN CNAME r.example.com.", NULL};
    m.answer = alone;
    assert_int_equal(parse(&e, &m, 9, "15.100.51.198.in-addr.arpa.", 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_CHAIN);
    assert_true(driad_name_format(e.a.target, e.a.target_len, t, sizeof t) > 0);
    assert_string_equal(t, "r.example.com.");
    /* the same with the target zone's SOA: the target has no AMTRELAY (NODATA) */
    const char *soa[] = {"example.com. 600 IN SOA ns1.example.com. h.example.com. 1 3600 900 604800 45", NULL};
    m.authority = soa;
    assert_int_equal(parse(&e, &m, 9, "15.100.51.198.in-addr.arpa.", 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_NODATA);
    assert_int_equal(e.a.ttl, 45);
    m.authority = NULL;
    /* DNAME with its synthesised CNAME (BIND) */
    const char *dn[] = {"101.51.198.in-addr.arpa. 300 IN DNAME 100.51.198.in-addr.arpa.",
                        "12.101.51.198.in-addr.arpa. 300 IN CNAME 12.100.51.198.in-addr.arpa.", NULL};
    m.qname = "12.101.51.198.in-addr.arpa.";
    m.answer = dn;
    assert_int_equal(parse(&e, &m, 9, "12.101.51.198.in-addr.arpa.", 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_CHAIN);
    assert_true(driad_name_format(e.a.target, e.a.target_len, t, sizeof t) > 0);
    assert_string_equal(t, Q12);
    /* a DNAME alone is applied by the client (RFC 6672 §2.2) */
    const char *dnonly[] = {"101.51.198.in-addr.arpa. 300 IN DNAME 100.51.198.in-addr.arpa.",
                            "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 2 0000", NULL};
    m.answer = dnonly;
    assert_int_equal(parse(&e, &m, 9, "12.101.51.198.in-addr.arpa.", 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_DATA);
    assert_int_equal(e.a.hops, 1);
    assert_int_equal(e.rec[0].type, 0);
    /* the DNAME owner itself is not rewritten */
    m.qname = "101.51.198.in-addr.arpa.";
    assert_int_equal(parse(&e, &m, 9, "101.51.198.in-addr.arpa.", 260, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_NODATA);
    /* loops and overlong chains */
    const char *loop[] = {"a.example. 300 IN CNAME b.example.", "b.example. 300 IN CNAME a.example.", NULL};
    struct test_msg lm = {.id = 3, .qname = "a.example.", .qtype = 260, .qr = true, .answer = loop};
    assert_int_equal(parse(&e, &lm, 3, "a.example.", 260, 8, 0), DRIAD_ERR_CHAIN_LOOP);
    const char *chain[] = {"a.example. 300 IN CNAME b.example.", "b.example. 300 IN CNAME c.example.",
                           "c.example. 300 IN CNAME d.example.", "d.example. 300 IN TYPE260 \\# 2 0000", NULL};
    lm.answer = chain;
    assert_int_equal(parse(&e, &lm, 3, "a.example.", 260, 2, 0), DRIAD_ERR_CHAIN_TOO_LONG);
    assert_int_equal(parse(&e, &lm, 3, "a.example.", 260, 3, 0), 0);
    assert_int_equal(e.a.hops, 3);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_DATA);
}

static void test_answer_addresses(void **state)
{
    (void)state;
    struct parse_env e = {0};
    const char *ans[] = {"relay-alias.example.com. 120 IN CNAME amtrelays.example.com.",
                         "amtrelays.example.com. 300 IN AAAA 2001:db8::15",
                         "amtrelays.example.com. 300 IN AAAA 2001:db8::16",
                         "amtrelays.example.com. 300 IN A 203.0.113.15", NULL};
    struct test_msg m = {.id = 5, .qname = "relay-alias.example.com.", .qtype = 28, .qr = true,
                         .answer = ans};
    assert_int_equal(parse(&e, &m, 5, "relay-alias.example.com.", 28, 8, 0), 0);
    assert_int_equal(e.a.kind, DRIAD_ANSWER_DATA);
    assert_int_equal(e.a.n_addrs, 2); /* the A record does not answer an AAAA question */
    assert_int_equal(e.addr[0].family, AF_INET6);
    assert_int_equal(e.a.ttl, 120);
    char t[64];
    assert_int_equal(driad_ip_format(&e.addr[1], t, sizeof t), 0);
    assert_string_equal(t, "2001:db8::16");
    /* capacity: extra addresses are counted, not written */
    uint8_t buf[1024], q[DRIAD_NAME_WIRE_MAX];
    int len = test_build(&m, buf, sizeof buf), ql = qwire("relay-alias.example.com.", q);
    struct driad_ip one[1];
    struct driad_answer a = {.addrs = one, .addrs_cap = 1};
    assert_int_equal(driad_answer_parse(buf, (size_t)len, 5, q, (size_t)ql, 28, 8, 0, &a, NULL, NULL), 0);
    assert_int_equal(a.n_addrs, 1);
    assert_int_equal(a.n_dropped, 1);
}

static void test_answer_long_rdata(void **state)
{
    (void)state;
    /* RDATA longer than any usable record: unknown types stay valid, others are malformed */
    static char rr[3][1200];
    static const char *const kinds[3] = {"0504", "0a01", "0a03"};
    for (int k = 0; k < 3; k++) {
        int o = snprintf(rr[k], sizeof rr[k], "12.100.51.198.in-addr.arpa. 300 IN TYPE260 \\# 400 %s", kinds[k]);
        for (int i = 0; i < 398; i++)
            o += snprintf(rr[k] + o, sizeof rr[k] - (size_t)o, "%02x", (i % 60) + 1);
    }
    const char *ans[] = {rr[0], rr[1], rr[2], NULL};
    struct parse_env e = {0};
    struct test_msg m = {.id = 4, .qname = Q12, .qtype = 260, .qr = true, .answer = ans};
    assert_int_equal(parse(&e, &m, 4, Q12, 260, 8, 0), 0);
    assert_int_equal(e.a.n_records, 1);
    assert_int_equal(e.rec[0].type, 4);
    assert_int_equal(e.a.n_malformed, 2);
    assert_int_equal(e.a.first_malformed, DRIAD_ERR_RDATA_LENGTH);
}

/* ---------------------------------------------------------------- ordering */

struct seq_rng {
    const uint32_t *v;
    size_t n, i;
};

static uint32_t seq_next(void *user)
{
    struct seq_rng *s = user;
    return s->v[s->i++ % s->n];
}

static uint32_t lcg_next(void *user)
{
    uint32_t *s = user;
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static struct driad_candidate cand(const char *ip, uint8_t prec)
{
    struct driad_candidate c;
    memset(&c, 0, sizeof c);
    assert_int_equal(driad_ip_parse(ip, &c.address), 0);
    c.precedence = prec;
    c.type = c.address.family == AF_INET ? 1 : 2;
    return c;
}

static void expect_order(const struct driad_candidate *c, size_t n, const char *const *want)
{
    for (size_t i = 0; i < n; i++) {
        char t[64];
        assert_int_equal(driad_ip_format(&c[i].address, t, sizeof t), 0);
        assert_string_equal(t, want[i]);
    }
}

static void test_order_precedence_and_rng(void **state)
{
    (void)state;
    struct driad_candidate c[4] = {cand("192.0.2.3", 20), cand("192.0.2.1", 10),
                                   cand("192.0.2.2", 10), cand("192.0.2.4", 5)};
    /* zeros: Fisher-Yates with j = 0 every time rotates the tie group predictably */
    uint32_t zeros[] = {0};
    struct seq_rng z = {zeros, 1, 0};
    struct driad_order_opts o = {.random = seq_next, .random_user = &z};
    assert_int_equal(driad_candidates_order(c, 4, &o), 0);
    const char *w1[] = {"192.0.2.4", "192.0.2.2", "192.0.2.1", "192.0.2.3"};
    expect_order(c, 4, w1);
    /* a different RNG draw gives the other order of the tie, precedence untouched */
    struct driad_candidate d[4] = {cand("192.0.2.3", 20), cand("192.0.2.1", 10),
                                   cand("192.0.2.2", 10), cand("192.0.2.4", 5)};
    uint32_t ones[] = {1};
    struct seq_rng one = {ones, 1, 0};
    o.random_user = &one;
    assert_int_equal(driad_candidates_order(d, 4, &o), 0);
    const char *w2[] = {"192.0.2.4", "192.0.2.1", "192.0.2.2", "192.0.2.3"};
    expect_order(d, 4, w2);
    /* over many draws each of three tied candidates comes first at least once */
    uint32_t lcg = 12345;
    o.random = lcg_next;
    o.random_user = &lcg;
    int first[3] = {0};
    for (int round = 0; round < 24; round++) {
        struct driad_candidate e3[3] = {cand("198.51.100.1", 7), cand("198.51.100.2", 7),
                                        cand("198.51.100.3", 7)};
        assert_int_equal(driad_candidates_order(e3, 3, &o), 0);
        first[e3[0].address.addr[3] - 1]++;
    }
    assert_true(first[0] > 0 && first[1] > 0 && first[2] > 0);
    assert_int_equal(driad_candidates_order(c, 4, &(struct driad_order_opts){0}),
                     DRIAD_ERR_INVALID_ARGUMENT);
}

static void test_order_interleave(void **state)
{
    (void)state;
    struct driad_candidate c[6] = {cand("192.0.2.1", 10), cand("192.0.2.2", 10),
                                   cand("192.0.2.3", 10), cand("2001:db8::1", 10),
                                   cand("2001:db8::2", 10), cand("192.0.2.9", 30)};
    uint32_t zeros[] = {0};
    struct seq_rng z = {zeros, 1, 0};
    struct driad_order_opts o = {.random = seq_next, .random_user = &z, .interleave = true};
    assert_int_equal(driad_candidates_order(c, 6, &o), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(c[i].precedence, 10);
    /* RFC 8305 §4: IPv6 first, then alternate; leftovers of one family at the end */
    assert_int_equal(c[0].address.family, AF_INET6);
    assert_int_equal(c[1].address.family, AF_INET);
    assert_int_equal(c[2].address.family, AF_INET6);
    assert_int_equal(c[3].address.family, AF_INET);
    assert_int_equal(c[4].address.family, AF_INET);
    assert_int_equal(c[5].precedence, 30);
}

static void test_holddown(void **state)
{
    (void)state;
    driad_holddown *hd = NULL;
    assert_int_equal(driad_holddown_new(2, &hd), 0);
    struct driad_ip a, b, x;
    driad_ip_parse("192.0.2.1", &a);
    driad_ip_parse("2001:db8::1", &b);
    driad_ip_parse("192.0.2.7", &x);
    uint64_t now = DRIAD_S(1000);
    /* RFC 8777 §3.3.4.1: 3-10 minutes */
    assert_int_equal(driad_holddown_add(hd, &a, now + DRIAD_S(180)), 0);
    assert_true(driad_holddown_active(hd, &a, now));
    assert_true(driad_holddown_active(hd, &a, now + DRIAD_S(179)));
    assert_false(driad_holddown_active(hd, &a, now + DRIAD_S(180)));
    assert_false(driad_holddown_active(hd, &b, now));
    struct driad_candidate c[3] = {cand("192.0.2.1", 1), cand("2001:db8::1", 5), cand("192.0.2.7", 9)};
    assert_int_equal(driad_holddown_add(hd, &b, now + DRIAD_S(600)), 0);
    uint32_t zeros[] = {0};
    struct seq_rng z = {zeros, 1, 0};
    struct driad_order_opts o = {.random = seq_next, .random_user = &z, .holddown = hd, .now = now};
    assert_int_equal(driad_candidates_order(c, 3, &o), 0);
    const char *w[] = {"192.0.2.7", "192.0.2.1", "2001:db8::1"};
    expect_order(c, 3, w);
    assert_false(c[0].held_down);
    assert_true(c[1].held_down);
    assert_true(c[2].held_down);
    /* after a's hold-down ends it sorts first again by precedence */
    o.now = now + DRIAD_S(200);
    assert_int_equal(driad_candidates_order(c, 3, &o), 0);
    const char *w2[] = {"192.0.2.1", "192.0.2.7", "2001:db8::1"};
    expect_order(c, 3, w2);
    /* clear, and replacement when full (the entry ending first goes) */
    driad_holddown_clear(hd, &b);
    assert_false(driad_holddown_active(hd, &b, now));
    assert_int_equal(driad_holddown_add(hd, &b, now + DRIAD_S(600)), 0);
    assert_int_equal(driad_holddown_add(hd, &x, now + DRIAD_S(300)), 0);
    assert_false(driad_holddown_active(hd, &a, now));
    assert_true(driad_holddown_active(hd, &b, now));
    assert_true(driad_holddown_active(hd, &x, now));
    struct driad_ip bad = {0};
    assert_int_equal(driad_holddown_add(hd, &bad, 1), DRIAD_ERR_INVALID_ARGUMENT);
    driad_holddown_free(hd);
}

/* ---------------------------------------------------------------- cache */

static struct driad_result mkresult(const char *src, int family, enum driad_status st,
                                    uint64_t expires, struct driad_candidate *c, size_t n)
{
    struct driad_result r;
    memset(&r, 0, sizeof r);
    driad_ip_parse(src, &r.source);
    r.family = family;
    r.status = st;
    r.expires = expires;
    r.candidates = c;
    r.n_candidates = n;
    return r;
}

static void test_cache_expiry_fake_clock(void **state)
{
    (void)state;
    driad_cache *c = NULL;
    assert_int_equal(driad_cache_new(8, &c), 0);
    struct driad_candidate cd[2] = {cand("203.0.113.15", 10), cand("2001:db8::15", 10)};
    uint64_t t0 = DRIAD_S(50);
    struct driad_result r = mkresult("198.51.100.12", 0, DRIAD_FOUND, t0 + DRIAD_S(300), cd, 2);
    assert_int_equal(driad_cache_put(c, &r), 0);
    struct driad_result neg = mkresult("198.51.100.16", 0, DRIAD_NO_RECORD, t0 + DRIAD_S(60), NULL, 0);
    assert_int_equal(driad_cache_put(c, &neg), 0);
    const struct driad_result *h = driad_cache_get(c, &r.source, 0, t0 + DRIAD_S(299));
    assert_non_null(h);
    assert_true(h->from_cache);
    assert_int_equal(h->n_candidates, 2);
    assert_true(driad_ip_equal(&h->candidates[1].address, &cd[1].address));
    /* the key includes the family */
    assert_null(driad_cache_get(c, &r.source, 4, t0));
    /* negative entries expire on their own (RFC 2308) deadline */
    assert_non_null(driad_cache_get(c, &neg.source, 0, t0 + DRIAD_S(59)));
    assert_null(driad_cache_get(c, &neg.source, 0, t0 + DRIAD_S(60)));
    assert_int_equal(driad_cache_size(c), 1);
    assert_null(driad_cache_get(c, &r.source, 0, t0 + DRIAD_S(300)));
    assert_int_equal(driad_cache_size(c), 0);
    driad_cache_free(c);
}

static void test_cache_bounded_lru(void **state)
{
    (void)state;
    driad_cache *c = NULL;
    assert_int_equal(driad_cache_new(3, &c), 0);
    char ip[32];
    for (int i = 1; i <= 3; i++) {
        snprintf(ip, sizeof ip, "192.0.2.%d", i);
        struct driad_result r = mkresult(ip, 0, DRIAD_NO_RELAY, 1000, NULL, 0);
        assert_int_equal(driad_cache_put(c, &r), 0);
    }
    struct driad_ip one, two;
    driad_ip_parse("192.0.2.1", &one);
    driad_ip_parse("192.0.2.2", &two);
    assert_non_null(driad_cache_get(c, &one, 0, 1)); /* 1 is now most recent */
    struct driad_result r4 = mkresult("192.0.2.4", 0, DRIAD_NO_RELAY, 1000, NULL, 0);
    assert_int_equal(driad_cache_put(c, &r4), 0);
    assert_int_equal(driad_cache_size(c), 3);
    assert_null(driad_cache_get(c, &two, 0, 1)); /* least recently used went */
    assert_non_null(driad_cache_get(c, &one, 0, 1));
    /* replacing an entry keeps the size */
    struct driad_result r1b = mkresult("192.0.2.1", 0, DRIAD_FOUND, 2000, NULL, 0);
    assert_int_equal(driad_cache_put(c, &r1b), 0);
    assert_int_equal(driad_cache_size(c), 3);
    assert_int_equal(driad_cache_get(c, &one, 0, 1500)->status, DRIAD_FOUND);
    /* allocation failures are reported, and leave the cache usable */
    struct driad_result r5 = mkresult("192.0.2.5", 0, DRIAD_NO_RELAY, 1000, NULL, 0);
    driad_alloc_fail_after(0);
    assert_int_equal(driad_cache_put(c, &r5), DRIAD_ERR_NOMEM);
    driad_alloc_fail_after(1);
    assert_int_equal(driad_cache_put(c, &r5), DRIAD_ERR_NOMEM);
    driad_alloc_fail_after(-1);
    assert_int_equal(driad_cache_size(c), 3);
    assert_int_equal(driad_cache_put(c, &r5), 0);
    driad_cache_flush(c);
    assert_int_equal(driad_cache_size(c), 0);
    driad_cache_free(c);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    for (long n = 0; n < 2; n++) {
        driad_cache *c = NULL;
        driad_alloc_fail_after(n);
        assert_int_equal(driad_cache_new(4, &c), DRIAD_ERR_NOMEM);
        driad_holddown *hd = NULL;
        driad_alloc_fail_after(n);
        assert_int_equal(driad_holddown_new(4, &hd), DRIAD_ERR_NOMEM);
    }
    struct driad_candidate c[2] = {cand("192.0.2.1", 1), cand("192.0.2.2", 1)};
    uint32_t zeros[] = {0};
    struct seq_rng z = {zeros, 1, 0};
    struct driad_order_opts o = {.random = seq_next, .random_user = &z};
    driad_alloc_fail_after(0);
    assert_int_equal(driad_candidates_order(c, 2, &o), DRIAD_ERR_NOMEM);
    struct driad_result r = mkresult("192.0.2.1", 0, DRIAD_FOUND, 5, c, 2), *copy = NULL;
    driad_alloc_fail_after(0);
    assert_int_equal(driad_result_dup(&r, &copy), DRIAD_ERR_NOMEM);
    driad_alloc_fail_after(-1);
    assert_int_equal(driad_result_dup(&r, &copy), 0);
    assert_int_equal(copy->n_candidates, 2);
    assert_ptr_not_equal(copy->candidates, r.candidates);
    driad_result_free(copy);
}

static void test_strings(void **state)
{
    (void)state;
    assert_string_equal(driad_version(), "0.1.0");
    assert_string_equal(driad_status_name(DRIAD_NO_RELAY), "no-relay");
    assert_string_equal(driad_status_name(DRIAD_DNS_ERROR), "error");
    /* every code has its own text */
    for (int e = -201; e >= -244; e--)
        assert_non_null(driad_strerror(e));
    assert_string_equal(driad_strerror(DRIAD_ERR_NAME_UNTERMINATED), "relay name lacks its root label");
    assert_string_equal(driad_strerror(-2), "No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rdata_valid_forms),
        cmocka_unit_test(test_rdata_malformed),
        cmocka_unit_test(test_rdata_lenient_names),
        cmocka_unit_test(test_reverse_names),
        cmocka_unit_test(test_name_text),
        cmocka_unit_test(test_server_parse),
        cmocka_unit_test(test_query_build),
        cmocka_unit_test(test_answer_data_with_malformed),
        cmocka_unit_test(test_answer_checks),
        cmocka_unit_test(test_answer_negative),
        cmocka_unit_test(test_answer_chains),
        cmocka_unit_test(test_answer_addresses),
        cmocka_unit_test(test_answer_long_rdata),
        cmocka_unit_test(test_order_precedence_and_rng),
        cmocka_unit_test(test_order_interleave),
        cmocka_unit_test(test_holddown),
        cmocka_unit_test(test_cache_expiry_fake_clock),
        cmocka_unit_test(test_cache_bounded_lru),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
