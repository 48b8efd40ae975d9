/* cbacc-url.c — the names a fetch needs: the SRV owner of a source, RFC 2782 ordering of
 * the answer, the per-(S,G) RESTCONF URL, and the refresh delay from Cache-Control. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cbacc-internal.h"

int cbacc_srv_name(const cbacc_sg *sg, char *buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    int n;
    if (sg->family == 4) {
        n = snprintf(buf, size, "_dorms._tcp.%u.%u.%u.%u.in-addr.arpa.", sg->source[3], sg->source[2],
                     sg->source[1], sg->source[0]);
    } else {
        char nib[64];
        for (int i = 0; i < 16; i++) {
            nib[(15 - i) * 4] = hex[sg->source[i] & 0xf];
            nib[(15 - i) * 4 + 1] = '.';
            nib[(15 - i) * 4 + 2] = hex[sg->source[i] >> 4];
            nib[(15 - i) * 4 + 3] = '.';
        }
        n = snprintf(buf, size, "_dorms._tcp.%.64sip6.arpa.", nib);
    }
    return n < 0 || (size_t)n >= size ? CBACC_ERR_RANGE : n;
}

static int cmp_srv_prio(const void *a, const void *b)
{
    const struct cbacc_srv *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    /* Weight-0 records first within a priority (RFC 2782 "Usage rules"), then a fixed
     * order so the weighted draw below is reproducible with a given random source. */
    if ((x->weight == 0) != (y->weight == 0))
        return x->weight == 0 ? -1 : 1;
    int c = strcmp(x->target, y->target);
    if (c)
        return c;
    return x->port < y->port ? -1 : x->port > y->port;
}

size_t cbacc_srv_order(struct cbacc_srv *srv, size_t n, cbacc_random_fn random, void *random_user)
{
    /* RFC 2782: a single record with target "." means the service is decidedly absent. */
    if (n == 1 && (srv[0].target[0] == '\0' || strcmp(srv[0].target, ".") == 0))
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (srv[i].target[0] != '\0' && strcmp(srv[i].target, ".") != 0)
            srv[m++] = srv[i];
    if (m > 1)
        qsort(srv, m, sizeof *srv, cmp_srv_prio);
    for (size_t s = 0; s < m;) {
        size_t e = s;
        while (e < m && srv[e].priority == srv[s].priority)
            e++;
        /* Weighted selection: pick r in [0, sum]; the first record whose running sum
         * is ≥ r goes next.  Weight-0 records, placed first, win only when r is 0. */
        for (size_t k = s; k + 1 < e; k++) {
            uint64_t sum = 0;
            for (size_t j = k; j < e; j++)
                sum += srv[j].weight;
            uint64_t r = random && sum ? random(random_user, sum) : 0;
            uint64_t run = 0;
            size_t pick = k;
            for (size_t j = k; j < e; j++) {
                run += srv[j].weight;
                if (run >= r) {
                    pick = j;
                    break;
                }
            }
            if (pick != k) {
                struct cbacc_srv t = srv[pick];
                memmove(&srv[k + 1], &srv[k], (pick - k) * sizeof *srv);
                srv[k] = t;
            }
        }
        s = e;
    }
    return m;
}

/* RFC 8040 §3.5.3: key values are percent-encoded; ':' included (erratum 7866). */
static int put_key(char *buf, size_t size, size_t *o, uint8_t family, const uint8_t addr[16])
{
    char text[64];
    cbacc_addr_format(family, addr, text, sizeof text);
    for (const char *p = text; *p; p++) {
        const char *rep = *p == ':' ? "%3A" : NULL;
        size_t need = rep ? 3 : 1;
        if (*o + need >= size)
            return CBACC_ERR_RANGE;
        if (rep)
            memcpy(buf + *o, rep, 3);
        else
            buf[*o] = *p;
        *o += need;
    }
    buf[*o] = '\0';
    return 0;
}

static int put_str(char *buf, size_t size, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (*o + n >= size)
        return CBACC_ERR_RANGE;
    memcpy(buf + *o, s, n + 1);
    *o += n;
    return 0;
}

int cbacc_metadata_url(const char *root_url, enum cbacc_layout layout, const cbacc_sg *sg, char *buf,
                       size_t size)
{
    if (!root_url || !sg || !buf || size == 0)
        return CBACC_ERR_INVALID;
    size_t o = 0;
    buf[0] = '\0';
    const char *mid = layout == CBACC_LAYOUT_2019 ? "/data/ietf-dorms:metadata/sender="
                                                  : "/data/ietf-dorms:dorms/metadata/sender=";
    int rc;
    if ((rc = put_str(buf, size, &o, root_url)) || (rc = put_str(buf, size, &o, mid))
        || (rc = put_key(buf, size, &o, sg->family, sg->source)) || (rc = put_str(buf, size, &o, "/group="))
        || (rc = put_key(buf, size, &o, sg->family, sg->group))
        || (rc = put_str(buf, size, &o, "/ietf-cbacc:cbacc")))
        return rc;
    return (int)o;
}

uint64_t cbacc_refresh_delay(const char *cc, cbacc_random_fn random, void *random_user)
{
    /* no-cache / no-store / absent: 30 s + U[0, 10] s (draft-ietf-mboned-cbacc §2.1.7). */
    uint64_t dflt = 30 * CBACC_NS_PER_S + (random ? random(random_user, 10 * CBACC_NS_PER_S) % (10 * CBACC_NS_PER_S + 1) : 0);
    if (!cc)
        return dflt;
    int no_cache = 0, have_age = 0;
    uint64_t age = 0;
    const char *p = cc;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != '=' && *p != ' ' && *p != '\t')
            p++;
        size_t tl = (size_t)(p - tok);
        const char *val = NULL;
        size_t vl = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '=') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            int quoted = *p == '"';
            p += quoted;
            val = p;
            while (*p && (quoted ? *p != '"' : (*p != ',' && *p != ' ' && *p != '\t')))
                p++;
            vl = (size_t)(p - val);
            if (quoted && *p == '"')
                p++;
        }
        while (*p && *p != ',')
            p++;
        if ((tl == 8 && strncasecmp(tok, "no-cache", 8) == 0) || (tl == 8 && strncasecmp(tok, "no-store", 8) == 0))
            no_cache = 1;
        else if (tl == 7 && strncasecmp(tok, "max-age", 7) == 0 && val) {
            uint64_t v;
            int rc = cbacc_parse_decimal(val, vl, UINT64_MAX / CBACC_NS_PER_S, &v);
            if (rc == 0 || rc == CBACC_ERR_RANGE) {
                age = rc == 0 ? v : 3600;
                have_age = 1;
            }
        }
    }
    if (no_cache || !have_age)
        return dflt;
    /* ours: clamp to 5 s … 1 h (spec §5). */
    if (age < 5)
        age = 5;
    if (age > 3600)
        age = 3600;
    return age * CBACC_NS_PER_S;
}
