/* driad-packet.c — DNS queries built and answers parsed with ldns's packet API, and the
 * client-side CNAME/DNAME walk RFC 8777 §3.4 requires ("any CNAMEs or DNAMEs found MUST
 * be followed").  ldns checks neither the ID nor the question of an answer
 * (spec/driad.md §7 #7), so both are checked here. */
#include <ldns/ldns.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "driad-internal.h"

int driad_query_build(const uint8_t *qname, size_t qname_len, uint16_t qtype, uint16_t id,
                      bool recursion_desired, uint16_t edns_udp_size, uint8_t *buf, size_t size)
{
    if (!qname || !buf || driad_wname_check(qname, qname_len) != 0)
        return DRIAD_ERR_INVALID_ARGUMENT;
    ldns_rdf *dn = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, qname_len, qname);
    if (!dn)
        return DRIAD_ERR_NOMEM;
    ldns_pkt *pkt = ldns_pkt_query_new(dn, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN,
                                       recursion_desired ? LDNS_RD : 0);
    if (!pkt) {
        ldns_rdf_deep_free(dn);
        return DRIAD_ERR_NOMEM;
    }
    ldns_pkt_set_id(pkt, id);
    if (edns_udp_size)
        ldns_pkt_set_edns_udp_size(pkt, edns_udp_size); /* RFC 6891 §6.2.5 */
    uint8_t *wire = NULL;
    size_t wlen = 0;
    ldns_status st = ldns_pkt2wire(&wire, pkt, &wlen);
    ldns_pkt_free(pkt);
    if (st != LDNS_STATUS_OK) {
        free(wire);
        return st == LDNS_STATUS_MEM_ERR ? DRIAD_ERR_NOMEM : DRIAD_ERR_INVALID_ARGUMENT;
    }
    if (wlen > size) {
        free(wire);
        return DRIAD_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(buf, wire, wlen);
    free(wire);
    return (int)wlen;
}

/* RDATA of an RR as one byte string (ldns may split it into several fields). */
static size_t rr_rdata(const ldns_rr *rr, uint8_t *buf, size_t size, bool *overflow)
{
    size_t n = 0;
    *overflow = false;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        const ldns_rdf *f = ldns_rr_rdf(rr, i);
        size_t fl = ldns_rdf_size(f);
        if (n + fl > size) {
            /* keep the prefix: the type octet decides how the overflow is reported */
            memcpy(buf + n, ldns_rdf_data(f), size - n);
            *overflow = true;
            return size;
        }
        memcpy(buf + n, ldns_rdf_data(f), fl);
        n += fl;
    }
    return n;
}

static bool rdf_name_equal(const ldns_rdf *f, const uint8_t *name, size_t len)
{
    return f && ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME &&
           driad_wname_equal(ldns_rdf_data(f), ldns_rdf_size(f), name, len);
}

/* Is `suffix` a label-aligned proper suffix of `name`?  Returns the prefix length. */
static size_t name_proper_suffix(const uint8_t *name, size_t len, const uint8_t *suffix,
                                 size_t slen)
{
    size_t pos = 0;
    while (pos < len && name[pos] != 0) {
        pos += 1u + name[pos];
        if (pos < len && len - pos == slen && driad_wname_equal(name + pos, slen, suffix, slen))
            return pos;
    }
    return 0;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static int collect_record(const ldns_rr *rr, unsigned flags, struct driad_answer *a,
                          const uint8_t *owner, size_t owner_len, driad_log_fn log, void *user)
{
    uint8_t rd[2 + DRIAD_NAME_WIRE_MAX + 1]; /* longer RDATA is malformed for every type we use */
    bool overflow;
    size_t n = rr_rdata(rr, rd, sizeof rd, &overflow);
    struct driad_record rec;
    int r;
    if (overflow && n >= 2 && (rd[1] & 0x7f) > DRIAD_RELAY_NAME)
        r = driad_rdata_decode(rd, 2, flags, &rec); /* unknown type: relay field unused */
    else if (overflow)
        r = (rd[1] & 0x7f) == DRIAD_RELAY_NAME ? DRIAD_ERR_NAME_TOO_LONG : DRIAD_ERR_RDATA_LENGTH;
    else
        r = driad_rdata_decode(rd, n, flags, &rec);
    if (r < 0) {
        char name[DRIAD_NAME_TEXT_MAX];
        if (driad_name_format(owner, owner_len, name, sizeof name) < 0)
            strcpy(name, "?");
        /* spec §1.5: one bad record never poisons the RRset */
        driad_logf(log, user, LOG_WARNING, "malformed AMTRELAY record at %s (%zu octets): %s",
                   name, n, driad_strerror(r));
        if (a->n_malformed++ == 0)
            a->first_malformed = r;
        return 0;
    }
    rec.ttl = ldns_rr_ttl(rr);
    if (a->n_records < a->records_cap)
        a->records[a->n_records++] = rec;
    else
        a->n_dropped++;
    return 1;
}

static int collect_addr(const ldns_rr *rr, uint16_t qtype, struct driad_answer *a)
{
    const ldns_rdf *f = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
    size_t want = qtype == DRIAD_TYPE_A ? 4 : 16;
    if (!f || ldns_rdf_size(f) != want)
        return 0;
    struct driad_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.family = qtype == DRIAD_TYPE_A ? AF_INET : AF_INET6;
    memcpy(ip.addr, ldns_rdf_data(f), want);
    if (a->n_addrs < a->addrs_cap)
        a->addrs[a->n_addrs++] = ip;
    else
        a->n_dropped++;
    return 1;
}

static int walk(const ldns_pkt *pkt, const uint8_t *qname, size_t qname_len, uint16_t qtype,
                unsigned hop_budget, unsigned flags, struct driad_answer *a, driad_log_fn log,
                void *user)
{
    const ldns_rr_list *ans = ldns_pkt_answer(pkt);
    size_t count = ans ? ldns_rr_list_rr_count(ans) : 0;
    uint8_t visited[DRIAD_MAX_CHAIN + 1][DRIAD_NAME_WIRE_MAX];
    size_t visited_len[DRIAD_MAX_CHAIN + 1];
    uint8_t cur[DRIAD_NAME_WIRE_MAX];
    size_t cur_len = qname_len;
    uint32_t ttl = UINT32_MAX;
    unsigned nvisited = 0;

    memcpy(cur, qname, qname_len);
    memcpy(visited[nvisited], cur, cur_len);
    visited_len[nvisited++] = cur_len;
    /* bounded: each pass either ends the walk or takes one hop, and hops are capped */
    for (;;) {
        bool found = false;
        for (size_t i = 0; i < count; i++) {
            const ldns_rr *rr = ldns_rr_list_rr(ans, i);
            if ((uint16_t)ldns_rr_get_type(rr) != qtype ||
                ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
                !rdf_name_equal(ldns_rr_owner(rr), cur, cur_len))
                continue;
            found = true;
            ttl = min32(ttl, ldns_rr_ttl(rr));
            if (qtype == DRIAD_TYPE_AMTRELAY)
                collect_record(rr, flags, a, cur, cur_len, log, user);
            else
                collect_addr(rr, qtype, a);
        }
        if (found) {
            a->kind = DRIAD_ANSWER_DATA;
            break;
        }
        const uint8_t *next = NULL;
        size_t next_len = 0;
        uint8_t synth[DRIAD_NAME_WIRE_MAX];
        for (size_t i = 0; i < count && !next; i++) {
            const ldns_rr *rr = ldns_rr_list_rr(ans, i);
            if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
                !rdf_name_equal(ldns_rr_owner(rr), cur, cur_len) || ldns_rr_rd_count(rr) != 1)
                continue;
            const ldns_rdf *t = ldns_rr_rdf(rr, 0);
            if (ldns_rdf_get_type(t) != LDNS_RDF_TYPE_DNAME)
                continue;
            next = ldns_rdf_data(t);
            next_len = ldns_rdf_size(t);
            ttl = min32(ttl, ldns_rr_ttl(rr));
        }
        for (size_t i = 0; i < count && !next; i++) {
            /* RFC 6672 §2.2: substitute the DNAME owner suffix by its target */
            const ldns_rr *rr = ldns_rr_list_rr(ans, i);
            if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME || ldns_rr_rd_count(rr) != 1)
                continue;
            const ldns_rdf *o = ldns_rr_owner(rr), *t = ldns_rr_rdf(rr, 0);
            if (ldns_rdf_get_type(t) != LDNS_RDF_TYPE_DNAME)
                continue;
            size_t plen = name_proper_suffix(cur, cur_len, ldns_rdf_data(o), ldns_rdf_size(o));
            if (plen == 0)
                continue;
            if (plen + ldns_rdf_size(t) > DRIAD_NAME_WIRE_MAX)
                return DRIAD_ERR_NAME_TOO_LONG; /* the server should have said YXDOMAIN */
            memcpy(synth, cur, plen);
            memcpy(synth + plen, ldns_rdf_data(t), ldns_rdf_size(t));
            next = synth;
            next_len = plen + ldns_rdf_size(t);
            ttl = min32(ttl, ldns_rr_ttl(rr));
        }
        if (!next) {
            a->kind = DRIAD_ANSWER_NODATA;
            break;
        }
        if (driad_wname_check(next, next_len) != 0)
            return DRIAD_ERR_PACKET;
        for (unsigned v = 0; v < nvisited; v++)
            if (driad_wname_equal(visited[v], visited_len[v], next, next_len))
                return DRIAD_ERR_CHAIN_LOOP;
        if (a->hops >= hop_budget || nvisited > DRIAD_MAX_CHAIN)
            return DRIAD_ERR_CHAIN_TOO_LONG;
        a->hops++;
        memmove(cur, next, next_len);
        cur_len = next_len;
        memcpy(visited[nvisited], cur, cur_len);
        visited_len[nvisited++] = cur_len;
    }
    memcpy(a->target, cur, cur_len);
    a->target_len = (uint8_t)cur_len;

    if (a->kind == DRIAD_ANSWER_DATA) {
        a->ttl = ttl;
        return 0;
    }
    /* No data at the end of the chain: find the negative-answer SOA (RFC 2308 §3). */
    const ldns_rr_list *auth = ldns_pkt_authority(pkt);
    const ldns_rr *soa = NULL;
    for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(auth, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7)
            continue;
        const ldns_rdf *o = ldns_rr_owner(rr);
        if (rdf_name_equal(o, cur, cur_len) ||
            name_proper_suffix(cur, cur_len, ldns_rdf_data(o), ldns_rdf_size(o)) > 0) {
            soa = rr;
            break;
        }
    }
    uint32_t neg = 0;
    if (soa) {
        const ldns_rdf *minimum = ldns_rr_rdf(soa, 6);
        /* RFC 2308 §5: the lesser of the SOA TTL and its MINIMUM field */
        neg = ldns_rr_ttl(soa);
        if (ldns_rdf_size(minimum) == 4)
            neg = min32(neg, ldns_rdf2native_int32(minimum));
    }
    if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) {
        /* RFC 6604 §3: the rcode describes the last name of the chain */
        a->kind = DRIAD_ANSWER_NXDOMAIN;
        a->ttl = neg;
    } else if (a->hops > 0 && !soa) {
        /* BIND and most authoritative servers stop at the zone boundary (spec §3): the
         * caller re-queries the target. */
        a->kind = DRIAD_ANSWER_CHAIN;
        a->ttl = ttl;
    } else {
        a->kind = DRIAD_ANSWER_NODATA;
        a->ttl = a->hops > 0 ? min32(ttl, neg) : neg;
    }
    return 0;
}

int driad_answer_parse(const uint8_t *wire, size_t len, uint16_t id, const uint8_t *qname,
                       size_t qname_len, uint16_t qtype, unsigned hop_budget, unsigned flags,
                       struct driad_answer *answer, driad_log_fn log, void *log_user)
{
    if (!wire || !qname || !answer || driad_wname_check(qname, qname_len) != 0)
        return DRIAD_ERR_INVALID_ARGUMENT;
    answer->kind = DRIAD_ANSWER_NODATA;
    answer->target_len = 0;
    answer->hops = 0;
    answer->ttl = 0;
    answer->authoritative = false;
    answer->n_records = answer->n_malformed = answer->n_addrs = answer->n_dropped = 0;
    answer->first_malformed = 0;

    /* RFC 1035 §4.1.1 header: cheap checks before handing the message to ldns */
    if (len < 12)
        return DRIAD_ERR_PACKET;
    if ((uint16_t)(wire[0] << 8 | wire[1]) != id)
        return DRIAD_ERR_ID_MISMATCH;
    if (!(wire[2] & 0x80) || ((wire[2] >> 3) & 0x0f) != LDNS_PACKET_QUERY)
        return DRIAD_ERR_NOT_RESPONSE;
    bool tc = (wire[2] & 0x02) != 0;

    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
        /* a truncated answer may be cut mid-record; TCP will bring the whole one */
        return tc ? DRIAD_ERR_TRUNCATED : DRIAD_ERR_PACKET;
    }
    int ret = 0;
    const ldns_rr_list *q = ldns_pkt_question(pkt);
    if (!q || ldns_rr_list_rr_count(q) != 1) {
        ret = DRIAD_ERR_QUESTION_MISMATCH;
        goto out;
    }
    const ldns_rr *qr = ldns_rr_list_rr(q, 0);
    if ((uint16_t)ldns_rr_get_type(qr) != qtype || ldns_rr_get_class(qr) != LDNS_RR_CLASS_IN ||
        !rdf_name_equal(ldns_rr_owner(qr), qname, qname_len)) {
        ret = DRIAD_ERR_QUESTION_MISMATCH;
        goto out;
    }
    if (tc) {
        ret = DRIAD_ERR_TRUNCATED;
        goto out;
    }
    answer->authoritative = ldns_pkt_aa(pkt);
    switch (ldns_pkt_get_rcode(pkt)) {
    case LDNS_RCODE_NOERROR:
    case LDNS_RCODE_NXDOMAIN:
        break;
    case LDNS_RCODE_SERVFAIL:
        ret = DRIAD_ERR_SERVFAIL;
        goto out;
    case LDNS_RCODE_REFUSED:
        ret = DRIAD_ERR_REFUSED;
        goto out;
    default:
        ret = DRIAD_ERR_RCODE;
        goto out;
    }
    ret = walk(pkt, qname, qname_len, qtype, hop_budget, flags, answer, log, log_user);
out:
    ldns_pkt_free(pkt);
    return ret;
}
