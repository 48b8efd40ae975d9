/* pimparse-util.c — error text, version, addresses and the Internet checksum. */
#include <arpa/inet.h>
#include <string.h>

#include "pimparse-internal.h"

#ifndef PIMPARSE_VERSION
#define PIMPARSE_VERSION "0.0.0"
#endif

const char *pimparse_version(void)
{
    return PIMPARSE_VERSION;
}

const char *pimparse_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case PIMPARSE_ERR_TRUNCATED: return "truncated packet";
    case PIMPARSE_ERR_LINKTYPE: return "unsupported link type";
    case PIMPARSE_ERR_NOT_IP: return "not an IP packet";
    case PIMPARSE_ERR_NOT_PIM: return "not a PIM packet";
    case PIMPARSE_ERR_FRAGMENT: return "IP fragment";
    case PIMPARSE_ERR_IP_HEADER: return "bad IP header";
    case PIMPARSE_ERR_PIM_VERSION: return "PIM version is not 2";
    case PIMPARSE_ERR_CHECKSUM: return "bad PIM checksum";
    case PIMPARSE_ERR_MALFORMED: return "malformed PIM message";
    case PIMPARSE_ERR_FAMILY: return "bad encoded address family";
    case PIMPARSE_ERR_ENCODING: return "unsupported encoded address type";
    case PIMPARSE_ERR_WRONG_TYPE: return "wrong PIM message type";
    case PIMPARSE_ERR_NOMEM: return "out of memory";
    case PIMPARSE_ERR_INVALID: return "invalid argument";
    case PIMPARSE_ERR_BUFFER: return "buffer too small";
    case PIMPARSE_ERR_PCAP: return "capture error";
    case PIMPARSE_ERR_EOF: return "end of capture";
    default:
        if (err < 0 && err > -200)
            return strerror(-err);
        return "unknown error";
    }
}

char *pimparse_addr_format(const pimparse_addr *a, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    if (!a)
        return buf;
    if (a->family == PIMPARSE_AF_IPV4) {
        if (!inet_ntop(AF_INET, a->bytes, buf, (socklen_t)size))
            buf[0] = '\0';
    } else if (a->family == PIMPARSE_AF_IPV6) {
        if (!inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)size))
            buf[0] = '\0';
    } else if (size >= 2) {
        buf[0] = '?';
        buf[1] = '\0';
    }
    return buf;
}

int pimparse_addr_parse(const char *text, pimparse_addr *out)
{
    if (!text || !out)
        return PIMPARSE_ERR_INVALID;
    pimparse_addr a;
    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, text, a.bytes) == 1) {
        a.family = PIMPARSE_AF_IPV4;
    } else if (inet_pton(AF_INET6, text, a.bytes) == 1) {
        a.family = PIMPARSE_AF_IPV6;
    } else {
        return PIMPARSE_ERR_INVALID;
    }
    *out = a;
    return 0;
}

bool pimparse_addr_equal(const pimparse_addr *a, const pimparse_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

uint16_t pimparse_checksum(const uint8_t *data, size_t len, uint32_t initial)
{
    return pp_checksum(data, len, initial);
}

uint32_t pp_pseudo6_sum(const uint8_t *src, const uint8_t *dst, uint32_t len)
{
    uint32_t s = pp_sum16(src, 16, 0);
    s = pp_sum16(dst, 16, s);
    uint64_t acc = (uint64_t)s + (len >> 16) + (len & 0xffffu) + 103;
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return (uint32_t)acc;
}

int pp_read_encoded_unicast(const uint8_t *p, size_t avail, pimparse_addr *out)
{
    /* RFC 7761 §4.9.1 Encoded-Unicast: Addr Family, Encoding Type, address. */
    if (avail < 2)
        return PIMPARSE_ERR_TRUNCATED;
    size_t alen;
    uint8_t fam;
    if (p[0] == PP_IANA_AF_IPV4) {
        alen = 4;
        fam = PIMPARSE_AF_IPV4;
    } else if (p[0] == PP_IANA_AF_IPV6) {
        alen = 16;
        fam = PIMPARSE_AF_IPV6;
    } else {
        return PIMPARSE_ERR_FAMILY;
    }
    if (p[1] != 0)
        return PIMPARSE_ERR_ENCODING;
    if (avail < 2 + alen)
        return PIMPARSE_ERR_TRUNCATED;
    if (out) {
        memset(out, 0, sizeof *out);
        out->family = fam;
        memcpy(out->bytes, p + 2, alen);
    }
    return (int)(2 + alen);
}
