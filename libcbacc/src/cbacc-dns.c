/* cbacc-dns.c — SRV / A / AAAA queries and answers with CNAME and DNAME walking. */
#include <ldns/ldns.h>
#include <string.h>
#include <strings.h>

#include "cbacc-dns.h"
#include "cbacc-internal.h"

int cbacc_dns_build_query(const char *name, uint16_t type, uint16_t id, uint8_t **wire, size_t *len)
{
    ldns_rdf *owner = ldns_dname_new_frm_str(name);
    if (!owner)
        return CBACC_ERR_INVALID;
    ldns_pkt *q = ldns_pkt_query_new(owner, (ldns_rr_type)type, LDNS_RR_CLASS_IN, LDNS_RD);
    if (!q) {
        return CBACC_ERR_NOMEM;
    }
    ldns_pkt_set_id(q, id);
    ldns_pkt_set_edns_udp_size(q, 1232);
    uint8_t *w = NULL;
    size_t n = 0;
    ldns_status st = ldns_pkt2wire(&w, q, &n);
    ldns_pkt_free(q);
    if (st != LDNS_STATUS_OK)
        return st == LDNS_STATUS_MEM_ERR ? CBACC_ERR_NOMEM : CBACC_ERR_INVALID;
    *wire = cbacc_malloc(n);
    if (!*wire) {
        LDNS_FREE(w);
        return CBACC_ERR_NOMEM;
    }
    memcpy(*wire, w, n);
    LDNS_FREE(w);
    *len = n;
    return 0;
}

void cbacc_dns_answer_clear(struct cbacc_dns_answer *ans)
{
    cbacc_free(ans->srv);
    cbacc_free(ans->addr);
    memset(ans, 0, sizeof *ans);
}

/* Presentation form without the trailing dot, lower case. */
static int dname_text(const ldns_rdf *d, char *buf, size_t size)
{
    char *s = ldns_rdf2str(d);
    if (!s)
        return CBACC_ERR_NOMEM;
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '.')
        s[--n] = '\0';
    if (n >= size) {
        free(s);
        return CBACC_ERR_DNS;
    }
    for (size_t i = 0; i <= n; i++)
        buf[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    free(s);
    return 0;
}

static void norm(const char *in, char *out, size_t size)
{
    size_t n = strlen(in);
    if (n > 1 && in[n - 1] == '.')
        n--;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[n] = '\0';
}

int cbacc_dns_parse(const uint8_t *wire, size_t len, const char *name, uint16_t type, uint16_t id,
                    struct cbacc_dns_answer *ans)
{
    memset(ans, 0, sizeof *ans);
    ldns_pkt *p = NULL;
    ldns_status st = ldns_wire2pkt(&p, wire, len);
    if (st != LDNS_STATUS_OK)
        return st == LDNS_STATUS_MEM_ERR ? CBACC_ERR_NOMEM : CBACC_ERR_DNS;
    int rc = CBACC_ERR_DNS;
    char cur[256], owner[256], qn[256];
    norm(name, cur, sizeof cur);
    /* The reply must answer our question (id and question section), else ignore it. */
    ldns_rr_list *qs = ldns_pkt_question(p);
    if (ldns_pkt_id(p) != id || !ldns_pkt_qr(p) || ldns_rr_list_rr_count(qs) != 1)
        goto out;
    ldns_rr *q0 = ldns_rr_list_rr(qs, 0);
    if (ldns_rr_get_type(q0) != (ldns_rr_type)type || dname_text(ldns_rr_owner(q0), qn, sizeof qn) != 0
        || strcmp(qn, cur) != 0)
        goto out;
    ans->truncated = ldns_pkt_tc(p);
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(p);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        ans->rcode_error = CBACC_ERR_DNS;
        rc = 0;
        goto out;
    }
    ldns_rr_list *an = ldns_pkt_answer(p);
    size_t count = ldns_rr_list_rr_count(an);
    ans->ttl = UINT32_MAX;
    for (int hop = 0; hop <= 8; hop++) {
        size_t found = 0;
        const char *next = NULL;
        char synth[256];
        for (size_t i = 0; i < count; i++) {
            ldns_rr *rr = ldns_rr_list_rr(an, i);
            if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
                continue;
            if ((rc = dname_text(ldns_rr_owner(rr), owner, sizeof owner)) == CBACC_ERR_NOMEM)
                goto out;
            if (rc)
                continue;
            ldns_rr_type t = ldns_rr_get_type(rr);
            size_t olen = strlen(owner), clen = strlen(cur);
            if (t == LDNS_RR_TYPE_DNAME && clen > olen + 1 && strcmp(cur + clen - olen, owner) == 0
                && cur[clen - olen - 1] == '.' && ldns_rr_rd_count(rr) == 1) {
                /* RFC 6672: substitute the owner suffix with the target. */
                char tgt[256];
                if (dname_text(ldns_rr_rdf(rr, 0), tgt, sizeof tgt) != 0)
                    continue;
                int n = snprintf(synth, sizeof synth, "%.*s.%s", (int)(clen - olen - 1), cur, tgt);
                if (n > 0 && (size_t)n < sizeof synth)
                    next = synth;
                continue;
            }
            if (strcmp(owner, cur) != 0)
                continue;
            if (ldns_rr_ttl(rr) < ans->ttl)
                ans->ttl = ldns_rr_ttl(rr);
            if (t == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1) {
                if (dname_text(ldns_rr_rdf(rr, 0), synth, sizeof synth) == 0)
                    next = synth;
                continue;
            }
            if (t != (ldns_rr_type)type)
                continue;
            if (type == CBACC_DNS_SRV) {
                if (ldns_rr_rd_count(rr) != 4)
                    continue;
                struct cbacc_srv *ns = cbacc_realloc(ans->srv, (ans->nsrv + 1) * sizeof *ns);
                if (!ns) {
                    rc = CBACC_ERR_NOMEM;
                    goto out;
                }
                ans->srv = ns;
                struct cbacc_srv *s = &ns[ans->nsrv];
                s->priority = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
                s->weight = ldns_rdf2native_int16(ldns_rr_rdf(rr, 1));
                s->port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
                if (dname_text(ldns_rr_rdf(rr, 3), s->target, sizeof s->target) != 0)
                    continue;
                ans->nsrv++;
            } else {
                ldns_rdf *a = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
                if (!a || (type == CBACC_DNS_A && ldns_rdf_get_type(a) != LDNS_RDF_TYPE_A)
                    || (type == CBACC_DNS_AAAA && ldns_rdf_get_type(a) != LDNS_RDF_TYPE_AAAA))
                    continue;
                char(*na)[46] = cbacc_realloc(ans->addr, (ans->naddr + 1) * sizeof *na);
                if (!na) {
                    rc = CBACC_ERR_NOMEM;
                    goto out;
                }
                ans->addr = na;
                uint8_t raw[16] = {0};
                size_t al = ldns_rdf_size(a);
                if (al != (type == CBACC_DNS_A ? 4u : 16u))
                    continue;
                memcpy(raw, ldns_rdf_data(a), al);
                cbacc_addr_format(type == CBACC_DNS_A ? 4 : 6, raw, na[ans->naddr], 46);
                ans->naddr++;
            }
            found++;
        }
        if (found || !next)
            break;
        if (hop == 8) {
            ans->rcode_error = CBACC_ERR_DNS; /* chain too long */
            break;
        }
        norm(next, cur, sizeof cur);
    }
    if (ans->nsrv == 0 && ans->naddr == 0 && ans->rcode_error == 0) {
        char qnorm[256];
        norm(name, qnorm, sizeof qnorm);
        if (strcmp(cur, qnorm) != 0 && rcode == LDNS_RCODE_NOERROR)
            snprintf(ans->requery, sizeof ans->requery, "%s", cur); /* cross-zone alias */
        else
            ans->rcode_error = CBACC_ERR_NO_SERVER;
    }
    if (ans->ttl == UINT32_MAX)
        ans->ttl = 0;
    rc = 0;
out:
    if (rc)
        cbacc_dns_answer_clear(ans);
    ldns_pkt_free(p);
    return rc;
}
