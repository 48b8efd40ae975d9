/* DNS messages for DORMS discovery: query building, SRV / A / AAAA answers, CNAME and
 * DNAME walking, NXDOMAIN, SERVFAIL, mismatched or malformed replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "cbacc-dns.h"
#include "cbacc-internal.h"

static const char *QN = "_dorms._tcp.4.185.212.23.in-addr.arpa.";

/* Builds a reply to (qname, qtype, id) with the given answer records (zone text). */
static uint8_t *reply(const char *qname, uint16_t qtype, uint16_t id, ldns_pkt_rcode rcode,
                      const char *const *rrs, size_t *len)
{
    ldns_rdf *owner = ldns_dname_new_frm_str(qname);
    ldns_pkt *p = ldns_pkt_query_new(owner, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, LDNS_RD);
    assert_non_null(p);
    ldns_pkt_set_id(p, id);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    for (size_t i = 0; rrs && rrs[i]; i++) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, rrs[i], 300, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    uint8_t *w = NULL;
    assert_int_equal(ldns_pkt2wire(&w, p, len), LDNS_STATUS_OK);
    ldns_pkt_free(p);
    return w;
}

static void test_query(void **state)
{
    (void)state;
    uint8_t *w;
    size_t n;
    assert_int_equal(cbacc_dns_build_query(QN, CBACC_DNS_SRV, 0x1234, &w, &n), 0);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, w, n), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_id(p), 0x1234);
    assert_true(ldns_pkt_rd(p));
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)), LDNS_RR_TYPE_SRV);
    assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
    ldns_pkt_free(p);
    cbacc_free(w);
    assert_int_equal(cbacc_dns_build_query("bad..name", CBACC_DNS_A, 1, &w, &n), CBACC_ERR_INVALID);
}

static void test_srv_answer(void **state)
{
    (void)state;
    const char *rrs[] = {
        "_dorms._tcp.4.185.212.23.in-addr.arpa. 300 IN SRV 0 1 8443 dorms-restconf.example.com.",
        "_dorms._tcp.4.185.212.23.in-addr.arpa. 120 IN SRV 10 1 443 Backup.Example.com.",
        "unrelated.example. 5 IN SRV 0 1 1 other.example.",
        NULL};
    size_t n;
    uint8_t *w = reply(QN, CBACC_DNS_SRV, 7, LDNS_RCODE_NOERROR, rrs, &n);
    struct cbacc_dns_answer a;
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 7, &a), 0);
    assert_int_equal(a.rcode_error, 0);
    assert_int_equal(a.nsrv, 2);
    assert_int_equal(a.ttl, 120);
    assert_string_equal(a.srv[0].target, "dorms-restconf.example.com");
    assert_int_equal(a.srv[0].port, 8443);
    assert_string_equal(a.srv[1].target, "backup.example.com");
    assert_int_equal(a.srv[1].priority, 10);
    cbacc_dns_answer_clear(&a);
    /* wrong id, wrong name, wrong type: not our answer */
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 8, &a), CBACC_ERR_DNS);
    assert_int_equal(cbacc_dns_parse(w, n, "_dorms._tcp.5.185.212.23.in-addr.arpa.", CBACC_DNS_SRV, 7, &a), CBACC_ERR_DNS);
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_A, 7, &a), CBACC_ERR_DNS);
    /* every truncation of the message is rejected, never read past */
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, w, cut);
        int rc = cbacc_dns_parse(c, cut, QN, CBACC_DNS_SRV, 7, &a);
        if (rc == 0)
            cbacc_dns_answer_clear(&a);
        free(c);
    }
    free(w);
}

static void test_cname_dname(void **state)
{
    (void)state;
    /* RFC 2317-style CNAME inside the answer, then the SRV at the target. */
    const char *rrs[] = {
        "_dorms._tcp.4.185.212.23.in-addr.arpa. 300 IN CNAME _dorms._tcp.4.0-63.185.212.23.in-addr.arpa.",
        "_dorms._tcp.4.0-63.185.212.23.in-addr.arpa. 60 IN SRV 0 1 8443 d.example.",
        NULL};
    size_t n;
    uint8_t *w = reply(QN, CBACC_DNS_SRV, 1, LDNS_RCODE_NOERROR, rrs, &n);
    struct cbacc_dns_answer a;
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 1, &a), 0);
    assert_int_equal(a.nsrv, 1);
    assert_int_equal(a.ttl, 60);
    assert_string_equal(a.srv[0].target, "d.example");
    cbacc_dns_answer_clear(&a);
    free(w);
    /* A cross-zone CNAME comes back alone: ask again for the target. */
    const char *alone[] = {
        "_dorms._tcp.4.185.212.23.in-addr.arpa. 300 IN CNAME srv.other.example.", NULL};
    w = reply(QN, CBACC_DNS_SRV, 2, LDNS_RCODE_NOERROR, alone, &n);
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 2, &a), 0);
    assert_int_equal(a.nsrv, 0);
    assert_string_equal(a.requery, "srv.other.example");
    cbacc_dns_answer_clear(&a);
    free(w);
    /* DNAME without a synthesised CNAME: substitute the suffix ourselves. */
    const char *dname[] = {
        "185.212.23.in-addr.arpa. 300 IN DNAME 100.51.198.in-addr.arpa.",
        "_dorms._tcp.4.100.51.198.in-addr.arpa. 300 IN SRV 0 0 443 x.example.", NULL};
    w = reply(QN, CBACC_DNS_SRV, 3, LDNS_RCODE_NOERROR, dname, &n);
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 3, &a), 0);
    assert_int_equal(a.nsrv, 1);
    assert_string_equal(a.srv[0].target, "x.example");
    cbacc_dns_answer_clear(&a);
    free(w);
    /* A CNAME loop ends as an error, not a hang. */
    const char *loop[] = {
        "_dorms._tcp.4.185.212.23.in-addr.arpa. 300 IN CNAME a.example.",
        "a.example. 300 IN CNAME _dorms._tcp.4.185.212.23.in-addr.arpa.", NULL};
    w = reply(QN, CBACC_DNS_SRV, 4, LDNS_RCODE_NOERROR, loop, &n);
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 4, &a), 0);
    assert_int_equal(a.nsrv, 0);
    assert_int_not_equal(a.rcode_error, 0);
    cbacc_dns_answer_clear(&a);
    free(w);
}

static void test_negative(void **state)
{
    (void)state;
    size_t n;
    struct cbacc_dns_answer a;
    uint8_t *w = reply(QN, CBACC_DNS_SRV, 5, LDNS_RCODE_NXDOMAIN, NULL, &n);
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 5, &a), 0);
    assert_int_equal(a.rcode_error, CBACC_ERR_NO_SERVER);
    cbacc_dns_answer_clear(&a);
    free(w);
    w = reply(QN, CBACC_DNS_SRV, 6, LDNS_RCODE_NOERROR, NULL, &n); /* NODATA */
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 6, &a), 0);
    assert_int_equal(a.rcode_error, CBACC_ERR_NO_SERVER);
    cbacc_dns_answer_clear(&a);
    free(w);
    w = reply(QN, CBACC_DNS_SRV, 7, LDNS_RCODE_SERVFAIL, NULL, &n);
    assert_int_equal(cbacc_dns_parse(w, n, QN, CBACC_DNS_SRV, 7, &a), 0);
    assert_int_equal(a.rcode_error, CBACC_ERR_DNS);
    cbacc_dns_answer_clear(&a);
    free(w);
    const uint8_t junk[] = {0, 5, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c};
    assert_int_equal(cbacc_dns_parse(junk, sizeof junk, QN, CBACC_DNS_SRV, 5, &a), CBACC_ERR_DNS);
}

static void test_addresses(void **state)
{
    (void)state;
    const char *rrs4[] = {"d.example. 60 IN A 127.0.0.1", "d.example. 60 IN A 192.0.2.7", NULL};
    size_t n;
    struct cbacc_dns_answer a;
    uint8_t *w = reply("d.example.", CBACC_DNS_A, 9, LDNS_RCODE_NOERROR, rrs4, &n);
    assert_int_equal(cbacc_dns_parse(w, n, "d.example", CBACC_DNS_A, 9, &a), 0);
    assert_int_equal(a.naddr, 2);
    assert_string_equal(a.addr[0], "127.0.0.1");
    assert_string_equal(a.addr[1], "192.0.2.7");
    cbacc_dns_answer_clear(&a);
    free(w);
    const char *rrs6[] = {"d.example. 60 IN AAAA 2001:DB8:0::1", NULL};
    w = reply("d.example.", CBACC_DNS_AAAA, 10, LDNS_RCODE_NOERROR, rrs6, &n);
    assert_int_equal(cbacc_dns_parse(w, n, "d.example.", CBACC_DNS_AAAA, 10, &a), 0);
    assert_int_equal(a.naddr, 1);
    assert_string_equal(a.addr[0], "2001:db8::1");
    cbacc_dns_answer_clear(&a);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_srv_answer),
        cmocka_unit_test(test_cname_dname),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
