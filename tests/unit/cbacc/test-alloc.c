/* Allocation-failure injection: every allocation of each operation fails in turn; each
 * failure must come back as CBACC_ERR_NOMEM (no crash, no leak — ASan checks the latter),
 * and the engine's state must be unchanged by a failed evaluation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cbacc-dns.h"
#include "cbacc-internal.h"

typedef int (*op_fn)(void *ctx);

/* Runs op with allocation n failing, for n = 1, 2, … until op no longer reaches n.
 * strict: every failure must surface as CBACC_ERR_NOMEM.  Not strict (operations whose
 * allocations are jansson's): any error code is accepted, only crashes and leaks fail —
 * jansson 2.14 does not report every failed allocation (a failed strbuffer append while
 * lexing a key yields a shortened key, e.g. "ietf-dorms:dors", and parsing succeeds). */
static void each_failure(op_fn op, void *ctx, int ok_rc, int strict)
{
    unsigned long seen_nomem = 0;
    for (unsigned long n = 1; n < 100000; n++) {
        cbacc_alloc_fail_at(n, 0);
        int rc = op(ctx);
        unsigned long used = cbacc_alloc_fail_at(0, 0);
        if (used < n) {
            assert_int_equal(rc, ok_rc);
            assert_true(seen_nomem > 0 || n == 1 || !strict);
            return;
        }
        if (strict && rc != ok_rc && rc != CBACC_ERR_NOMEM)
            fail_msg("allocation %lu failed: rc %d (%s)", n, rc, cbacc_strerror(rc));
        seen_nomem += rc == CBACC_ERR_NOMEM;
    }
    fail_msg("operation did not finish");
}

static struct cbacc_flow flows[6];

static int op_admit(void *ctx)
{
    (void)ctx;
    struct cbacc_decision d[6];
    struct cbacc_admit_params p = {100, 10, 0, NULL, NULL};
    return cbacc_admit(&p, flows, 6, 0, d, NULL);
}

static void test_admit(void **state)
{
    (void)state;
    for (int i = 0; i < 6; i++) {
        flows[i].sg.family = 4;
        flows[i].sg.source[3] = (uint8_t)(i % 2);
        flows[i].sg.group[3] = (uint8_t)i;
        flows[i].population = 1;
        flows[i].bps = 30;
        flows[i].priority = (uint16_t)i;
    }
    each_failure(op_admit, NULL, 3, 1);
}

struct engine_ctx {
    cbacc_engine *e;
    struct cbacc_engine_flow f[6];
};

static int op_engine(void *ctx)
{
    struct engine_ctx *c = ctx;
    struct cbacc_decision d[6];
    return cbacc_engine_evaluate(c->e, c->f, 6, 5, d);
}

static void test_engine(void **state)
{
    (void)state;
    struct engine_ctx c;
    struct cbacc_admit_params p = {100, 10, 0, NULL, NULL};
    assert_int_equal(cbacc_engine_new(&c.e, &p, CBACC_NEVER), 0);
    for (int i = 0; i < 6; i++) {
        memset(&c.f[i], 0, sizeof c.f[i]);
        c.f[i].sg = flows[i].sg;
        c.f[i].population = 1;
        c.f[i].has_metadata = i != 5;
        c.f[i].bps = 30;
        c.f[i].priority = 256;
    }
    struct cbacc_decision d[6];
    /* First evaluation sets up hold state, then every failure of a second one. */
    assert_int_equal(cbacc_engine_evaluate(c.e, c.f, 6, 0, d), 3);
    uint64_t exp = cbacc_engine_get_expiry(c.e);
    each_failure(op_engine, &c, 3, 1);
    assert_int_equal(cbacc_engine_get_expiry(c.e), exp);
    cbacc_engine_free(c.e);
    /* Constructor. */
    cbacc_alloc_fail_at(1, 0);
    assert_int_equal(cbacc_engine_new(&c.e, &p, 0), CBACC_ERR_NOMEM);
    cbacc_alloc_fail_at(0, 0);
}

static const char *body;

static int op_decode(void *ctx)
{
    (void)ctx;
    struct cbacc_metadata md;
    cbacc_sg sg;
    cbacc_sg_parse("23.185.212.4,232.10.10.1", &sg);
    return cbacc_metadata_decode(body, strlen(body), &sg, &md, NULL, NULL, 0);
}

static int op_host_meta(void *ctx)
{
    (void)ctx;
    char root[64];
    return cbacc_host_meta_parse(body, strlen(body), root, sizeof root, NULL, 0);
}

static int op_modules(void *ctx)
{
    (void)ctx;
    enum cbacc_layout l;
    return cbacc_modules_state_decode(body, strlen(body), &l, NULL, 0);
}

static void test_decoders(void **state)
{
    (void)state;
    body = "{\"ietf-dorms:dorms\":{\"metadata\":{\"sender\":[{\"source-address\":\"23.185.212.4\",\"group\":["
           "{\"group-address\":\"232.1.1.1\",\"udp-stream\":[{\"port\":\"5001\",\"ietf-cbacc:cbacc\":{\"max-bits-per-second\":\"2000\"}}]},"
           "{\"group-address\":\"232.10.10.1\",\"udp-stream\":[{\"port\":\"12001\",\"ietf-cbacc:cbacc\":{\"max-bits-per-second\":\"10000000\"}}]}]}]}}}";
    each_failure(op_decode, NULL, 0, 0);
    body = "{\"links\":[{\"rel\":\"restconf\",\"href\":\"/top/restconf\"}]}";
    each_failure(op_host_meta, NULL, 0, 0);
    body = "{\"ietf-yang-library:modules-state\":{\"module\":[{\"name\":\"ietf-dorms\",\"revision\":\"2019-08-25\"}]}}";
    each_failure(op_modules, NULL, 0, 0);
}

static const uint8_t *dns_wire;
static size_t dns_len;

static int op_dns(void *ctx)
{
    (void)ctx;
    struct cbacc_dns_answer a;
    int rc = cbacc_dns_parse(dns_wire, dns_len, "_dorms._tcp.4.185.212.23.in-addr.arpa", CBACC_DNS_SRV, 0x4242, &a);
    if (rc == 0) {
        rc = (int)a.nsrv == 2 ? 0 : -1;
        cbacc_dns_answer_clear(&a);
    }
    return rc;
}

static void test_dns(void **state)
{
    (void)state;
    /* A reply with two SRV records, written out byte by byte (RFC 1035 §4.1). */
    static const uint8_t wire[] = {
        0x42, 0x42, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
        6, '_', 'd', 'o', 'r', 'm', 's', 4, '_', 't', 'c', 'p', 1, '4', 3, '1', '8', '5',
        3, '2', '1', '2', 2, '2', '3', 7, 'i', 'n', '-', 'a', 'd', 'd', 'r', 4, 'a', 'r', 'p', 'a', 0,
        0, 33, 0, 1,
        0xc0, 12, 0, 33, 0, 1, 0, 0, 1, 44, 0, 17, 0, 0, 0, 1, 0x20, 0xfb,
        1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
        0xc0, 12, 0, 33, 0, 1, 0, 0, 1, 44, 0, 10, 0, 1, 0, 1, 0x01, 0xbb, 1, 'b', 0xc0, 75,
    };
    dns_wire = wire;
    dns_len = sizeof wire;
    each_failure(op_dns, NULL, 0, 1);
}

int main(void)
{
    /* jansson's allocations go through the library allocator too, so they fail in turn. */
    json_set_alloc_funcs(cbacc_malloc, cbacc_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_engine),
        cmocka_unit_test(test_decoders),
        cmocka_unit_test(test_dns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
