/* cbacc.c — version, error names, (S,G) and address text, decimal numbers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cbacc-internal.h"

const char *cbacc_version(void)
{
    return CBACC_VERSION;
}

const char *cbacc_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case CBACC_ERR_NOMEM: return "out of memory";
    case CBACC_ERR_INVALID: return "invalid argument";
    case CBACC_ERR_SYNTAX: return "malformed document";
    case CBACC_ERR_SCHEMA: return "unexpected document structure or value";
    case CBACC_ERR_NO_RATE: return "CBACC metadata without a bit rate";
    case CBACC_ERR_RANGE: return "value out of range";
    case CBACC_ERR_RESTCONF: return "RESTCONF error response";
    case CBACC_ERR_NOT_FOUND: return "not found";
    case CBACC_ERR_NO_SERVER: return "no DORMS server";
    case CBACC_ERR_DNS: return "DNS failure";
    case CBACC_ERR_TRANSPORT: return "transport failure";
    case CBACC_ERR_HTTP: return "unexpected HTTP status";
    case CBACC_ERR_TOO_LARGE: return "response body too large";
    case CBACC_ERR_NO_RESTCONF: return "host-meta has no restconf link";
    default: break;
    }
    if (err < 0 && err > -200)
        return strerror(-err);
    return "unknown error";
}

void cbacc_set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

int cbacc_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0)
        return CBACC_ERR_SCHEMA;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CBACC_ERR_SCHEMA;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return CBACC_ERR_RANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int cbacc_addr_parse(const char *text, uint8_t *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr) == 1) {
        *family = 6;
        return 0;
    }
    return CBACC_ERR_INVALID;
}

const char *cbacc_addr_format(uint8_t family, const uint8_t addr[16], char *buf, size_t size)
{
    if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)size))
        snprintf(buf, size, "?");
    return buf;
}

int cbacc_sg_parse(const char *text, cbacc_sg *out)
{
    if (!text || !out)
        return CBACC_ERR_INVALID;
    const char *comma = strchr(text, ',');
    if (!comma)
        return CBACC_ERR_INVALID;
    char s[INET6_ADDRSTRLEN + 8], g[INET6_ADDRSTRLEN + 8];
    const char *a = text, *ae = comma, *b = comma + 1, *be = b + strlen(b);
    while (a < ae && isspace((unsigned char)*a)) a++;
    while (ae > a && isspace((unsigned char)ae[-1])) ae--;
    while (b < be && isspace((unsigned char)*b)) b++;
    while (be > b && isspace((unsigned char)be[-1])) be--;
    if ((size_t)(ae - a) >= sizeof s || (size_t)(be - b) >= sizeof g)
        return CBACC_ERR_INVALID;
    memcpy(s, a, (size_t)(ae - a));
    s[ae - a] = '\0';
    memcpy(g, b, (size_t)(be - b));
    g[be - b] = '\0';
    cbacc_sg sg;
    uint8_t gf;
    if (cbacc_addr_parse(s, &sg.family, sg.source) != 0 || cbacc_addr_parse(g, &gf, sg.group) != 0
        || gf != sg.family)
        return CBACC_ERR_INVALID;
    *out = sg;
    return 0;
}

char *cbacc_sg_format(const cbacc_sg *sg, char *buf, size_t size)
{
    char s[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
    snprintf(buf, size, "%s,%s", cbacc_addr_format(sg->family, sg->source, s, sizeof s),
             cbacc_addr_format(sg->family, sg->group, g, sizeof g));
    return buf;
}

int cbacc_sg_compare(const cbacc_sg *a, const cbacc_sg *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    int c = memcmp(a->source, b->source, 16);
    if (c == 0)
        c = memcmp(a->group, b->group, 16);
    return (c > 0) - (c < 0);
}
