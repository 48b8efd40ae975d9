/* cbacc-dns.h — DNS messages for DORMS discovery (sans-I/O; ldns does the wire format). */
#ifndef CBACC_DNS_H
#define CBACC_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "cbacc/cbacc.h"

enum { CBACC_DNS_SRV = 33, CBACC_DNS_A = 1, CBACC_DNS_AAAA = 28 };

/* Builds a recursive query (RD set, EDNS0 with a 1232-byte buffer) for name/type with the
 * given id.  *wire is allocated with cbacc_malloc.  Returns 0, CBACC_ERR_INVALID (bad name)
 * or CBACC_ERR_NOMEM. */
int cbacc_dns_build_query(const char *name, uint16_t type, uint16_t id, uint8_t **wire, size_t *len);

/* Result of parsing one answer. */
struct cbacc_dns_answer {
    int rcode_error;        /* 0; CBACC_ERR_NO_SERVER (NXDOMAIN / NODATA); CBACC_ERR_DNS */
    uint32_t ttl;           /* smallest TTL of the records used */
    char requery[256];      /* non-empty: the chain ended in this name without data — ask again */
    int truncated;          /* TC bit set */
    struct cbacc_srv *srv;  /* SRV records (cbacc_malloc; caller frees) */
    size_t nsrv;
    char (*addr)[46];       /* A / AAAA text (cbacc_malloc; caller frees) */
    size_t naddr;
};

/* Parses a reply to the query (name, type, id).  CNAMEs and DNAMEs in the answer are
 * followed from name (at most 8 links; spec §2: RFC 2317 delegations MUST be followed).
 * Returns 0 (see ans->rcode_error for the DNS outcome), CBACC_ERR_DNS (malformed, wrong id or
 * question: log and ignore), CBACC_ERR_NOMEM. */
int cbacc_dns_parse(const uint8_t *wire, size_t len, const char *name, uint16_t type, uint16_t id,
                    struct cbacc_dns_answer *ans);
void cbacc_dns_answer_clear(struct cbacc_dns_answer *ans);

#endif
