/* Decoders: DORMS/CBACC JSON (both layouts, numbers or strings, RESTCONF errors, garbage),
 * modules-state, host-meta (XRD and JSON), rates, URLs, SRV names and order, refresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cbacc/cbacc.h"

struct jcase {
    const char *body;
    const char *sg; /* NULL: decode without an (S,G) */
    int rc;
    uint64_t bps;
    uint16_t prio;
    enum cbacc_rate_leaf leaf;
};

static const struct jcase jcases[] = {
    /* cbacc-03..06 group container, JSON numbers: max-speed is kbit/s. */
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":2,\"max-packet-size\":1400,\"data-rate-window\":2000,\"priority\":256}}",
     NULL, 0, 2000, 256, CBACC_LEAF_MAX_SPEED},
    /* the same as strings (what published examples send) */
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":\"3\",\"priority\":\"7\"}}", NULL, 0, 3000, 7, CBACC_LEAF_MAX_SPEED},
    /* 2019/2021-01 models: max-bits-per-second used as bit/s */
    {"{\"ietf-cbacc:cbacc\":{\"max-bits-per-second\":\"2000\"}}", NULL, 0, 2000, 256, CBACC_LEAF_MAX_BITS_PER_SECOND},
    {"{\"ietf-cbacc:cbacc\":{\"max-bits-per-second\":4294967295}}", NULL, 0, 4294967295u, 256, CBACC_LEAF_MAX_BITS_PER_SECOND},
    /* max-speed preferred when both are present */
    {"{\"ietf-cbacc:cbacc\":{\"max-bits-per-second\":1,\"max-speed\":5}}", NULL, 0, 5000, 256, CBACC_LEAF_MAX_SPEED},
    /* unknown members ignored */
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":1,\"x-vendor\":{\"a\":[1,2]}},\"other:thing\":1}", NULL, 0, 1000, 256, CBACC_LEAF_MAX_SPEED},
    /* group entry, group-level container (new layout, key `address`) */
    {"{\"ietf-dorms:group\":[{\"address\":\"ff3e::8000:1\",\"ietf-cbacc:cbacc\":{\"max-speed\":10,\"priority\":9}}]}",
     "2001:db8::a,ff3e::8000:1", 0, 10000, 9, CBACC_LEAF_MAX_SPEED},
    /* group entry, IPv6 key in another text form still matches */
    {"{\"ietf-dorms:group\":[{\"group-address\":\"FF3E:0:0:0:0:0:8000:1\",\"ietf-cbacc:cbacc\":{\"max-speed\":1}}]}",
     "2001:db8::a,ff3e::8000:1", 0, 1000, 256, CBACC_LEAF_MAX_SPEED},
    /* group entry, stale stream-level containers: summed */
    {"{\"ietf-dorms:group\":[{\"group-address\":\"232.1.1.1\",\"udp-stream\":[{\"port\":\"5001\",\"ietf-cbacc:cbacc\":{\"max-bits-per-second\":\"2000\"}},{\"port\":5002,\"ietf-cbacc:cbacc\":{\"max-bits-per-second\":500}}]}]}",
     "23.212.185.4,232.1.1.1", 0, 2500, 256, CBACC_LEAF_STREAM_SUM},
    /* group entry without any cbacc */
    {"{\"ietf-dorms:group\":[{\"group-address\":\"232.1.1.1\",\"udp-stream\":[{\"port\":\"5001\"}]}]}",
     "23.212.185.4,232.1.1.1", CBACC_ERR_NO_RATE, 0, 0, 0},
    /* whole datastore, 2021 wrapper */
    {"{\"ietf-dorms:dorms\":{\"metadata\":{\"sender\":[{\"source-address\":\"23.185.212.4\",\"group\":[{\"group-address\":\"232.1.1.1\",\"ietf-cbacc:cbacc\":{\"max-speed\":4}},{\"group-address\":\"232.10.10.1\",\"ietf-cbacc:cbacc\":{\"max-speed\":8}}]}]}}}",
     "23.185.212.4,232.10.10.1", 0, 8000, 256, CBACC_LEAF_MAX_SPEED},
    /* whole datastore, 2019 top level; (S,G) absent */
    {"{\"ietf-dorms:metadata\":{\"sender\":[{\"source-address\":\"23.185.212.4\",\"group\":[{\"group-address\":\"232.1.1.1\",\"ietf-cbacc:cbacc\":{\"max-speed\":4}}]}]}}",
     "23.185.212.5,232.1.1.1", CBACC_ERR_NOT_FOUND, 0, 0, 0},
    /* RESTCONF error body */
    {"{\"ietf-restconf:errors\":{\"error\":[{\"error-type\":\"protocol\",\"error-tag\":\"invalid-value\",\"error-message\":\"resource not found\"}]}}",
     NULL, CBACC_ERR_RESTCONF, 0, 0, 0},
    /* value errors */
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":-1}}", NULL, CBACC_ERR_RANGE, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":4294967296}}", NULL, CBACC_ERR_RANGE, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":\"4294967296\"}}", NULL, CBACC_ERR_RANGE, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":1.5}}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":1e3}}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":\"\"}}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":\"-5\"}}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":\"1.0\"}}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":\" 12\"}}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":true}}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":1,\"priority\":65536}}", NULL, CBACC_ERR_RANGE, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"priority\":1}}", NULL, CBACC_ERR_NO_RATE, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":[1]}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    /* duplicate keys rejected */
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":1,\"max-speed\":2}}", NULL, CBACC_ERR_SYNTAX, 0, 0, 0},
    /* garbage */
    {"", NULL, CBACC_ERR_SYNTAX, 0, 0, 0},
    {"<html>502 Bad Gateway</html>", NULL, CBACC_ERR_SYNTAX, 0, 0, 0},
    {"{\"ietf-cbacc:cbacc\":{\"max-speed\":1}", NULL, CBACC_ERR_SYNTAX, 0, 0, 0},
    {"[1,2,3]", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-dorms:group\":5}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-dorms:group\":[]}", NULL, CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-dorms:dorms\":{\"metadata\":{\"sender\":{}}}}", "10.0.0.1,232.1.1.1", CBACC_ERR_SCHEMA, 0, 0, 0},
    {"{\"ietf-dorms:dorms\":{\"metadata\":{\"sender\":[]}}}", NULL, CBACC_ERR_INVALID, 0, 0, 0},
};

static void test_metadata(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof jcases / sizeof jcases[0]; i++) {
        const struct jcase *c = &jcases[i];
        cbacc_sg sg, *psg = NULL;
        if (c->sg) {
            assert_int_equal(cbacc_sg_parse(c->sg, &sg), 0);
            psg = &sg;
        }
        struct cbacc_metadata md;
        char err[200] = "";
        int rc = cbacc_metadata_decode(c->body, strlen(c->body), psg, &md, NULL, err, sizeof err);
        if (rc != c->rc)
            fail_msg("case %zu: rc %d (%s), want %d; %s", i, rc, cbacc_strerror(rc), c->rc, err);
        if (rc == 0) {
            assert_int_equal(md.bps, c->bps);
            assert_int_equal(md.priority, c->prio);
            assert_int_equal(md.leaf, c->leaf);
        } else {
            assert_true(err[0] != '\0'); /* every failure explains itself */
        }
    }
}

static void test_metadata_embedded_nul(void **state)
{
    (void)state;
    static const char body[] = "{\"ietf-cbacc:cbacc\":{\"max-speed\":\"1\0002\"}}";
    struct cbacc_metadata md;
    assert_true(cbacc_metadata_decode(body, sizeof body - 1, NULL, &md, NULL, NULL, 0) < 0);
    /* length-delimited: bytes after len are never read */
    static const char body2[] = "{\"ietf-cbacc:cbacc\":{\"max-speed\":1}}garbage";
    assert_int_equal(cbacc_metadata_decode(body2, sizeof body2 - 1 - 7, NULL, &md, NULL, NULL, 0), 0);
}

static void test_restconf_error_fields(void **state)
{
    (void)state;
    const char *b = "{\"ietf-restconf:errors\":{\"error\":[{\"error-type\":\"protocol\",\"error-tag\":\"invalid-value\",\"error-message\":\"resource not found\"}]}}";
    struct cbacc_restconf_error e;
    struct cbacc_metadata md;
    assert_int_equal(cbacc_metadata_decode(b, strlen(b), NULL, &md, &e, NULL, 0), CBACC_ERR_RESTCONF);
    assert_string_equal(e.error_type, "protocol");
    assert_string_equal(e.error_tag, "invalid-value");
    assert_string_equal(e.error_message, "resource not found");
    b = "{\"ietf-restconf:errors\":7}";
    assert_int_equal(cbacc_metadata_decode(b, strlen(b), NULL, &md, &e, NULL, 0), CBACC_ERR_RESTCONF);
    assert_string_equal(e.error_tag, "");
}

static void test_modules_state(void **state)
{
    (void)state;
    enum cbacc_layout l = CBACC_LAYOUT_UNKNOWN;
    const char *b = "{\"ietf-yang-library:modules-state\":{\"module-set-id\":\"x\",\"module\":[{\"name\":\"ietf-cbacc\",\"revision\":\"2021-01-15\"},{\"name\":\"ietf-dorms\",\"revision\":\"2019-08-25\"}]}}";
    assert_int_equal(cbacc_modules_state_decode(b, strlen(b), &l, NULL, 0), 0);
    assert_int_equal(l, CBACC_LAYOUT_2019);
    b = "{\"ietf-yang-library:module\":[{\"name\":\"ietf-dorms\",\"revision\":\"2025-09-15\"}]}";
    assert_int_equal(cbacc_modules_state_decode(b, strlen(b), &l, NULL, 0), 0);
    assert_int_equal(l, CBACC_LAYOUT_2021);
    b = "{\"ietf-yang-library:modules-state\":{\"module\":[{\"name\":\"ietf-cbacc\",\"revision\":\"2021-01-15\"}]}}";
    assert_int_equal(cbacc_modules_state_decode(b, strlen(b), &l, NULL, 0), CBACC_ERR_NOT_FOUND);
    b = "{\"ietf-yang-library:module\":[{\"name\":\"ietf-dorms\"}]}";
    assert_int_equal(cbacc_modules_state_decode(b, strlen(b), &l, NULL, 0), CBACC_ERR_SCHEMA);
    b = "{\"x\":1}";
    assert_int_equal(cbacc_modules_state_decode(b, strlen(b), &l, NULL, 0), CBACC_ERR_SCHEMA);
    b = "nope";
    assert_int_equal(cbacc_modules_state_decode(b, strlen(b), &l, NULL, 0), CBACC_ERR_SYNTAX);
}

struct hcase {
    const char *body;
    int rc;
    const char *root;
};

static const struct hcase hcases[] = {
    {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  <Link rel=\"restconf\" href=\"/restconf\"/>\n</XRD>\n", 0, "/restconf"},
    {"\xEF\xBB\xBF<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'><!-- c --><Link rel='lrdd' href='/x'/><Link href='/top/restconf/' rel='restconf'></Link></XRD>", 0, "/top/restconf"},
    {"<xrd:XRD xmlns:xrd=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\"><xrd:Link rel=\"restconf\" href=\"/a&amp;b\"/></xrd:XRD>", 0, "/a&b"},
    {"<XRD><Link rel=\"restconf\" href=\"https://other.example:8443/rc\"/></XRD>", 0, "https://other.example:8443/rc"},
    {"<XRD><Link rel=\"restconf\" href=\"/\"/></XRD>", 0, ""},
    {"<XRD><Link rel=\"restconf\" href=\"https://h.example//\"/></XRD>", 0, "https://h.example"},
    {"{\"links\":[{\"rel\":\"restconf\",\"href\":\"https:///\"}]}", CBACC_ERR_SCHEMA, NULL},
    {"<XRD><Link rel=\"lrdd\" href=\"/x\"/></XRD>", CBACC_ERR_NO_RESTCONF, NULL},
    {"<XRD><Subject>x</Subject><Link rel=\"restconf\"/></XRD>", CBACC_ERR_SCHEMA, NULL},
    {"<XRD><Link rel=\"restconf\" href=\"http://plain.example/rc\"/></XRD>", CBACC_ERR_SCHEMA, NULL},
    {"<XRD><Link rel=\"restconf\" href=\"/a b\"/></XRD>", CBACC_ERR_SCHEMA, NULL},
    {"<HTML><Link rel=\"restconf\" href=\"/r\"/></HTML>", CBACC_ERR_SCHEMA, NULL},
    {"<!DOCTYPE XRD [<!ENTITY a \"b\">]><XRD/>", CBACC_ERR_SYNTAX, NULL},
    {"<XRD><Link rel=\"restconf\" href=\"/r&bogus;\"/></XRD>", CBACC_ERR_SYNTAX, NULL},
    {"<XRD><Link rel=\"restconf\" href=\"/r", CBACC_ERR_SYNTAX, NULL},
    {"<XRD><Link rel=restconf href=/r/></XRD>", CBACC_ERR_SYNTAX, NULL},
    {"<XRD><!-- unterminated", CBACC_ERR_SYNTAX, NULL},
    {"<XRD><Link rel=\"restconf\" href=\"/&#114;c\"/></XRD>", 0, "/rc"},
    {"<XRD><Link rel=\"restconf\" href=\"/&#x0;\"/></XRD>", CBACC_ERR_SYNTAX, NULL},
    {"{\"links\":[{\"rel\":\"restconf\",\"href\":\"/top/restconf\"}]}", 0, "/top/restconf"},
    {"{\"links\":[{\"rel\":\"author\",\"href\":\"/a\"}]}", CBACC_ERR_NO_RESTCONF, NULL},
    {"{\"links\":[{\"rel\":\"restconf\",\"href\":7}]}", CBACC_ERR_SCHEMA, NULL},
    {"{\"links\":", CBACC_ERR_SYNTAX, NULL},
    {"restconf=/restconf", CBACC_ERR_SYNTAX, NULL},
    {"", CBACC_ERR_SYNTAX, NULL},
};

static void test_host_meta(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hcases / sizeof hcases[0]; i++) {
        char root[128] = "unchanged", err[200] = "";
        int rc = cbacc_host_meta_parse(hcases[i].body, strlen(hcases[i].body), root, sizeof root, err, sizeof err);
        if (rc != hcases[i].rc)
            fail_msg("host-meta case %zu: rc %d (%s), want %d; %s", i, rc, cbacc_strerror(rc), hcases[i].rc, err);
        if (rc == 0)
            assert_string_equal(root, hcases[i].root);
        else
            assert_true(err[0] != '\0');
    }
    char small[4];
    const char *b = "<XRD><Link rel=\"restconf\" href=\"/restconf\"/></XRD>";
    assert_int_equal(cbacc_host_meta_parse(b, strlen(b), small, sizeof small, NULL, 0), CBACC_ERR_RANGE);
}

static void test_rates(void **state)
{
    (void)state;
    static const struct { const char *t; int rc; uint64_t v; } r[] = {
        {"0", 0, 0}, {"2000", 0, 2000}, {"1k", 0, 1000}, {"1K", 0, 1000}, {"50M", 0, 50000000},
        {"2G", 0, 2000000000}, {"1Ki", 0, 1024}, {"50Mi", 0, 50u * 1048576u},
        {"1Gi", 0, 1073741824}, {"1.5M", 0, 1500000}, {"0.5Ki", 0, 512}, {"2.25k", 0, 2250},
        {"1.0000000001G", 0, 1000000000}, {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", CBACC_ERR_RANGE, 0}, {"17179869184Gi", CBACC_ERR_RANGE, 0},
        {"", CBACC_ERR_INVALID, 0}, {"M", CBACC_ERR_INVALID, 0}, {"-5", CBACC_ERR_INVALID, 0},
        {"5 M", CBACC_ERR_INVALID, 0}, {"5MB", CBACC_ERR_INVALID, 0}, {"5m", CBACC_ERR_INVALID, 0},
        {"1.", CBACC_ERR_INVALID, 0}, {".5", CBACC_ERR_INVALID, 0}, {"5Ti", CBACC_ERR_INVALID, 0},
        {"5ii", CBACC_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        uint64_t v = 12345;
        int rc = cbacc_rate_parse(r[i].t, &v);
        if (rc != r[i].rc || (rc == 0 && v != r[i].v))
            fail_msg("rate \"%s\": rc %d value %llu", r[i].t, rc, (unsigned long long)v);
        if (rc != 0)
            assert_int_equal(v, 12345);
    }
    char buf[32];
    assert_string_equal(cbacc_rate_format(2000, buf, sizeof buf), "2 kbit/s");
    assert_string_equal(cbacc_rate_format(999, buf, sizeof buf), "999 bit/s");
    assert_string_equal(cbacc_rate_format(1500000, buf, sizeof buf), "1.5 Mbit/s");
}

static void test_urls(void **state)
{
    (void)state;
    cbacc_sg sg;
    char buf[512];
    assert_int_equal(cbacc_sg_parse("23.212.185.4,232.1.1.1", &sg), 0);
    assert_true(cbacc_metadata_url("https://h:8443/restconf", CBACC_LAYOUT_2019, &sg, buf, sizeof buf) > 0);
    assert_string_equal(buf, "https://h:8443/restconf/data/ietf-dorms:metadata/sender=23.212.185.4/group=232.1.1.1/ietf-cbacc:cbacc");
    assert_int_equal(cbacc_sg_parse(" 2001:DB8:0:0:0:0:0:A , FF3E:0:0:0:0:0:8000:D ", &sg), 0);
    assert_true(cbacc_metadata_url("https://h/rc", CBACC_LAYOUT_2021, &sg, buf, sizeof buf) > 0);
    assert_string_equal(buf, "https://h/rc/data/ietf-dorms:dorms/metadata/sender=2001%3Adb8%3A%3Aa/group=ff3e%3A%3A8000%3Ad/ietf-cbacc:cbacc");
    assert_int_equal(cbacc_metadata_url("https://h/rc", CBACC_LAYOUT_2021, &sg, buf, 40), CBACC_ERR_RANGE);
    assert_int_equal(cbacc_sg_parse("2001:db8::a,232.1.1.1", &sg), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_sg_parse("10.0.0.1", &sg), CBACC_ERR_INVALID);
    assert_int_equal(cbacc_sg_parse("10.0.0.1,232.1.1.1.1", &sg), CBACC_ERR_INVALID);
}

static void test_srv_names(void **state)
{
    (void)state;
    cbacc_sg sg;
    char buf[256];
    cbacc_sg_parse("203.0.113.4,232.1.1.1", &sg);
    assert_true(cbacc_srv_name(&sg, buf, sizeof buf) > 0);
    assert_string_equal(buf, "_dorms._tcp.4.113.0.203.in-addr.arpa.");
    cbacc_sg_parse("2001:db8::a,ff3e::1", &sg);
    assert_true(cbacc_srv_name(&sg, buf, sizeof buf) > 0);
    assert_string_equal(buf, "_dorms._tcp.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
    assert_int_equal(cbacc_srv_name(&sg, buf, 20), CBACC_ERR_RANGE);
}

struct seq {
    const uint64_t *v;
    size_t i;
};

static uint64_t seq_random(void *user, uint64_t bound)
{
    struct seq *s = user;
    uint64_t v = s->v[s->i++];
    return v > bound ? bound : v;
}

static void test_srv_order(void **state)
{
    (void)state;
    struct cbacc_srv srv[5] = {
        {20, 0, 443, "c.example"},
        {10, 60, 443, "a.example"},
        {10, 0, 443, "z.example"},
        {10, 40, 8443, "b.example"},
        {20, 0, 443, "d.example"},
    };
    /* Priority 10 group after the zero-weight-first arrangement: z(0) a(60) b(40), sum 100.
     * r = 70 → running sums 0, 60, 100: b first; then a(60) z(0)... arranged z, a: sum 60,
     * r = 0 → z (weight 0 only wins with r = 0); priority 20: c, d (all weight 0). */
    uint64_t v[] = {70, 0, 0};
    struct seq s = {v, 0};
    assert_int_equal(cbacc_srv_order(srv, 5, seq_random, &s), 5);
    assert_string_equal(srv[0].target, "b.example");
    assert_string_equal(srv[1].target, "z.example");
    assert_string_equal(srv[2].target, "a.example");
    assert_string_equal(srv[3].target, "c.example");
    assert_string_equal(srv[4].target, "d.example");
    /* r = 1 with weights 0/60/40: the weighted record wins over the zero-weight one. */
    struct cbacc_srv two[2] = {{1, 0, 1, "zero"}, {1, 5, 2, "five"}};
    uint64_t v2[] = {1};
    struct seq s2 = {v2, 0};
    assert_int_equal(cbacc_srv_order(two, 2, seq_random, &s2), 2);
    assert_string_equal(two[0].target, "five");
    /* Target "." alone: decidedly no service. */
    struct cbacc_srv none[1] = {{0, 0, 0, ""}};
    assert_int_equal(cbacc_srv_order(none, 1, NULL, NULL), 0);
    struct cbacc_srv dot[1] = {{0, 0, 0, "."}};
    assert_int_equal(cbacc_srv_order(dot, 1, NULL, NULL), 0);
}

static uint64_t max_random(void *user, uint64_t bound)
{
    (void)user;
    return bound;
}

static void test_refresh(void **state)
{
    (void)state;
    const uint64_t s = CBACC_NS_PER_S;
    assert_int_equal(cbacc_refresh_delay(NULL, NULL, NULL), 30 * s);
    assert_int_equal(cbacc_refresh_delay(NULL, max_random, NULL), 40 * s);
    assert_int_equal(cbacc_refresh_delay("no-cache", max_random, NULL), 40 * s);
    assert_int_equal(cbacc_refresh_delay("No-Store", NULL, NULL), 30 * s);
    assert_int_equal(cbacc_refresh_delay("max-age=120", max_random, NULL), 120 * s);
    assert_int_equal(cbacc_refresh_delay("public, max-age=\"60\"", NULL, NULL), 60 * s);
    assert_int_equal(cbacc_refresh_delay("max-age=1", NULL, NULL), 5 * s);
    assert_int_equal(cbacc_refresh_delay("max-age=999999999999999999999", NULL, NULL), 3600 * s);
    assert_int_equal(cbacc_refresh_delay("max-age=60, no-cache", NULL, NULL), 30 * s);
    assert_int_equal(cbacc_refresh_delay("max-age=abc", NULL, NULL), 30 * s);
    assert_int_equal(cbacc_refresh_delay("s-maxage=100", NULL, NULL), 30 * s);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = -201; e >= -214; e--)
        assert_string_not_equal(cbacc_strerror(e), "unknown error");
    assert_string_equal(cbacc_strerror(-300), "unknown error");
    assert_string_equal(cbacc_version(), CBACC_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_metadata_embedded_nul),
        cmocka_unit_test(test_restconf_error_fields),
        cmocka_unit_test(test_modules_state),
        cmocka_unit_test(test_host_meta),
        cmocka_unit_test(test_rates),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_srv_names),
        cmocka_unit_test(test_srv_order),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
