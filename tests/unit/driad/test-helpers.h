/* test-helpers.h — builds DNS answer messages with ldns for libdriad's unit tests and
 * seed generators.  RRs are given in presentation form; AMTRELAY in RFC 3597 generic form
 * (TYPE260), because Debian's ldns 1.8.3 has no AMTRELAY descriptor. */
#ifndef DRIAD_TEST_HELPERS_H
#define DRIAD_TEST_HELPERS_H

#include <ldns/ldns.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct test_msg {
    uint16_t id;
    const char *qname;
    uint16_t qtype;
    int rcode;
    bool qr;      /* default false: set true for an answer */
    bool tc;
    bool aa;
    const char *const *answer;    /* NULL-terminated RR strings */
    const char *const *authority;
};

/* Returns the wire length, or -1; the message goes into buf. */
static inline int test_build(const struct test_msg *m, uint8_t *buf, size_t size)
{
    ldns_pkt *p = ldns_pkt_new();
    if (!p)
        return -1;
    ldns_pkt_set_id(p, m->id);
    ldns_pkt_set_qr(p, m->qr);
    ldns_pkt_set_tc(p, m->tc);
    ldns_pkt_set_aa(p, m->aa);
    ldns_pkt_set_rcode(p, (uint8_t)m->rcode);
    if (m->qname) {
        ldns_rr *q = ldns_rr_new();
        ldns_rr_set_owner(q, ldns_dname_new_frm_str(m->qname));
        ldns_rr_set_type(q, (ldns_rr_type)m->qtype);
        ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
        ldns_rr_set_question(q, true);
        ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
    }
    for (int s = 0; s < 2; s++) {
        const char *const *list = s == 0 ? m->answer : m->authority;
        for (size_t i = 0; list && list[i]; i++) {
            ldns_rr *rr = NULL;
            if (ldns_rr_new_frm_str(&rr, list[i], 300, NULL, NULL) != LDNS_STATUS_OK) {
                ldns_pkt_free(p);
                return -1;
            }
            ldns_pkt_push_rr(p, s == 0 ? LDNS_SECTION_ANSWER : LDNS_SECTION_AUTHORITY, rr);
        }
    }
    uint8_t *wire = NULL;
    size_t len = 0;
    ldns_status st = ldns_pkt2wire(&wire, p, &len);
    ldns_pkt_free(p);
    if (st != LDNS_STATUS_OK || len > size) {
        free(wire);
        return -1;
    }
    memcpy(buf, wire, len);
    free(wire);
    return (int)len;
}

#endif
