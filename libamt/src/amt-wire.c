/* amt-wire.c — encodes and decodes AMT messages (RFC 7450 §5.1), builds IGMPv3/MLDv2
 * reports and parses General Queries and encapsulated data. Pure functions over caller
 * buffers: no allocation, no I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "amt-internal.h"

/* ---- addresses and checksums ----------------------------------------------------- */

void amt_addr_set(amt_addr *a, int family, const void *bytes)
{
    memset(a, 0, sizeof *a);
    a->family = (uint8_t)family;
    memcpy(a->bytes, bytes, amt_addr_len(family));
}

int amt_addr_parse(amt_addr *a, const char *text)
{
    uint8_t b[16];
    if (!a || !text)
        return AMT_ERR_INVALID_ARG;
    if (inet_pton(AF_INET, text, b) == 1) {
        amt_addr_set(a, AMT_IPV4, b);
        return 0;
    }
    if (inet_pton(AF_INET6, text, b) == 1) {
        amt_addr_set(a, AMT_IPV6, b);
        return 0;
    }
    return AMT_ERR_INVALID_ARG;
}

char *amt_addr_format(const amt_addr *a, char *buf, size_t size)
{
    if (!a || (a->family != AMT_IPV4 && a->family != AMT_IPV6) ||
        !inet_ntop(a->family == AMT_IPV4 ? AF_INET : AF_INET6, a->bytes, buf,
                   (socklen_t)size)) {
        if (size)
            snprintf(buf, size, "?");
    }
    return buf;
}

bool amt_addr_equal(const amt_addr *a, const amt_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, amt_addr_len(a->family)) == 0;
}

static bool bytes_multicast(int family, const uint8_t *b)
{
    return family == AMT_IPV4 ? (b[0] & 0xF0) == 0xE0 : b[0] == 0xFF;
}

bool amt_addr_is_multicast(const amt_addr *a)
{
    return (a->family == AMT_IPV4 || a->family == AMT_IPV6) && bytes_multicast(a->family, a->bytes);
}

uint32_t amt_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    /* Callers only split sums at even offsets, so odd lengths occur only last. */
    while (len >= 2) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

uint16_t amt_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t amt_checksum(const void *buf, size_t len)
{
    /* Sum in 64 bits so that any length fits before folding. */
    const uint8_t *p = buf;
    uint64_t sum = 0;
    while (len >= 2) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t amt_csum_icmp6(const uint8_t *src16, const uint8_t *dst16, const uint8_t *msg, size_t len)
{
    uint8_t tail[8] = {0};
    amt_put32(tail, (uint32_t)len);
    tail[7] = 58; /* RFC 8200 §8.1 pseudo-header: Next Header = ICMPv6 */
    uint32_t sum = amt_csum_add(0, src16, 16);
    sum = amt_csum_add(sum, dst16, 16);
    sum = amt_csum_add(sum, tail, 8);
    /* Fold as we go so long messages cannot overflow 32 bits. */
    sum = (sum & 0xFFFF) + (sum >> 16);
    const uint8_t *p = msg;
    size_t left = len;
    while (left) {
        size_t chunk = left > 32768 ? 32768 : left;
        sum = amt_csum_add(sum, p, chunk);
        sum = (sum & 0xFFFF) + (sum >> 16);
        p += chunk;
        left -= chunk;
    }
    return amt_csum_fold(sum);
}

/* ---- AMT messages ---------------------------------------------------------------- */

/* Gateway IP Address is always 16 bytes; IPv4 travels IPv4-compatible, ::a.b.c.d
 * (RFC 7450 §5.1.4.6 / §5.1.7.5, as tshark decodes it). */
static void gateway_addr_decode(amt_addr *a, const uint8_t *b16)
{
    static const uint8_t zero12[12];
    if (memcmp(b16, zero12, 12) == 0)
        amt_addr_set(a, AMT_IPV4, b16 + 12);
    else
        amt_addr_set(a, AMT_IPV6, b16);
}

static void gateway_addr_encode(uint8_t *b16, const amt_addr *a)
{
    memset(b16, 0, 16);
    if (a->family == AMT_IPV4)
        memcpy(b16 + 12, a->bytes, 4);
    else if (a->family == AMT_IPV6)
        memcpy(b16, a->bytes, 16);
}

static int exact(size_t len, size_t want)
{
    return len < want ? AMT_ERR_TRUNCATED : len > want ? AMT_ERR_LENGTH : 0;
}

int amt_msg_decode(amt_msg *m, const uint8_t *buf, size_t len)
{
    int r;
    if (!m || (!buf && len))
        return AMT_ERR_INVALID_ARG;
    memset(m, 0, sizeof *m);
    if (len < 2)
        return AMT_ERR_TRUNCATED;
    /* RFC 7450 §5.1: high nibble Version (0), low nibble Type. */
    if (buf[0] >> 4)
        return AMT_ERR_VERSION;
    m->type = buf[0] & 0x0F;
    switch (m->type) {
    case AMT_RELAY_DISCOVERY:
    case AMT_REQUEST:
        if ((r = exact(len, 8)) < 0)
            return r;
        m->nonce = amt_get32(buf + 4);
        /* RFC 7450 §5.1.3.3: P flag is the least significant bit of byte 1. */
        if (m->type == AMT_REQUEST)
            m->p_flag = buf[1] & 0x01;
        return 0;
    case AMT_RELAY_ADVERTISEMENT:
        /* RFC 7450 §5.1.2.4: the family is implied by the length. */
        if (len < AMT_ADVERTISEMENT_V4_LEN)
            return AMT_ERR_TRUNCATED;
        if (len != AMT_ADVERTISEMENT_V4_LEN && len != AMT_ADVERTISEMENT_V6_LEN)
            return AMT_ERR_LENGTH;
        m->nonce = amt_get32(buf + 4);
        amt_addr_set(&m->relay_address, len == AMT_ADVERTISEMENT_V4_LEN ? AMT_IPV4 : AMT_IPV6,
                     buf + 8);
        return 0;
    case AMT_MEMBERSHIP_QUERY: {
        if (len < AMT_QUERY_HDR_LEN + 20)
            return AMT_ERR_TRUNCATED;
        m->l_flag = (buf[1] & 0x02) != 0;
        m->g_flag = (buf[1] & 0x01) != 0;
        memcpy(m->response_mac, buf + 2, AMT_MAC_LEN);
        m->nonce = amt_get32(buf + 8);
        size_t end = len;
        if (m->g_flag) {
            /* RFC 7450 §5.1.4: the gateway fields are the last 18 bytes. */
            if (len < AMT_QUERY_HDR_LEN + 20 + AMT_GATEWAY_TRAILER_LEN)
                return AMT_ERR_TRUNCATED;
            end = len - AMT_GATEWAY_TRAILER_LEN;
            m->gateway_port = amt_get16(buf + end);
            gateway_addr_decode(&m->gateway_address, buf + end + 2);
        }
        m->ip = buf + AMT_QUERY_HDR_LEN;
        m->ip_len = end - AMT_QUERY_HDR_LEN;
        return 0;
    }
    case AMT_MEMBERSHIP_UPDATE:
        if (len < AMT_UPDATE_HDR_LEN + 20)
            return AMT_ERR_TRUNCATED;
        memcpy(m->response_mac, buf + 2, AMT_MAC_LEN);
        m->nonce = amt_get32(buf + 8);
        m->ip = buf + AMT_UPDATE_HDR_LEN;
        m->ip_len = len - AMT_UPDATE_HDR_LEN;
        return 0;
    case AMT_MULTICAST_DATA:
        if (len < AMT_DATA_HDR_LEN + 20)
            return AMT_ERR_TRUNCATED;
        m->ip = buf + AMT_DATA_HDR_LEN;
        m->ip_len = len - AMT_DATA_HDR_LEN;
        return 0;
    case AMT_TEARDOWN:
        if ((r = exact(len, AMT_TEARDOWN_LEN)) < 0)
            return r;
        memcpy(m->response_mac, buf + 2, AMT_MAC_LEN);
        m->nonce = amt_get32(buf + 8);
        m->gateway_port = amt_get16(buf + 12);
        gateway_addr_decode(&m->gateway_address, buf + 14);
        return 0;
    default:
        return AMT_ERR_TYPE;
    }
}

int amt_msg_encode(const amt_msg *m, uint8_t *buf, size_t size)
{
    size_t len, hdr = 0;
    if (!m || !buf)
        return AMT_ERR_INVALID_ARG;
    switch (m->type) {
    case AMT_RELAY_DISCOVERY:
    case AMT_REQUEST:
        len = 8;
        break;
    case AMT_RELAY_ADVERTISEMENT:
        if (m->relay_address.family != AMT_IPV4 && m->relay_address.family != AMT_IPV6)
            return AMT_ERR_INVALID_ARG;
        len = 8 + amt_addr_len(m->relay_address.family);
        break;
    case AMT_MEMBERSHIP_QUERY:
        hdr = AMT_QUERY_HDR_LEN;
        len = hdr + m->ip_len + (m->g_flag ? AMT_GATEWAY_TRAILER_LEN : 0);
        break;
    case AMT_MEMBERSHIP_UPDATE:
        hdr = AMT_UPDATE_HDR_LEN;
        len = hdr + m->ip_len;
        break;
    case AMT_MULTICAST_DATA:
        hdr = AMT_DATA_HDR_LEN;
        len = hdr + m->ip_len;
        break;
    case AMT_TEARDOWN:
        len = AMT_TEARDOWN_LEN;
        break;
    default:
        return AMT_ERR_INVALID_ARG;
    }
    if (hdr && m->ip_len && !m->ip)
        return AMT_ERR_INVALID_ARG;
    if (len > size || len > 0x7FFFFFFF)
        return AMT_ERR_NOBUF;
    /* Payload first: it may already sit right after the header in buf. */
    if (hdr && m->ip_len && m->ip != buf + hdr)
        memmove(buf + hdr, m->ip, m->ip_len);
    memset(buf, 0, hdr ? hdr : len);
    buf[0] = m->type; /* version 0 (RFC 7450 §5.1: a relay drops other versions) */
    switch (m->type) {
    case AMT_RELAY_DISCOVERY:
        amt_put32(buf + 4, m->nonce);
        break;
    case AMT_REQUEST:
        buf[1] = m->p_flag ? 0x01 : 0x00;
        amt_put32(buf + 4, m->nonce);
        break;
    case AMT_RELAY_ADVERTISEMENT:
        amt_put32(buf + 4, m->nonce);
        memcpy(buf + 8, m->relay_address.bytes, amt_addr_len(m->relay_address.family));
        break;
    case AMT_MEMBERSHIP_QUERY:
        buf[1] = (uint8_t)((m->l_flag ? 0x02 : 0) | (m->g_flag ? 0x01 : 0));
        memcpy(buf + 2, m->response_mac, AMT_MAC_LEN);
        amt_put32(buf + 8, m->nonce);
        if (m->g_flag) {
            uint8_t *t = buf + hdr + m->ip_len;
            amt_put16(t, m->gateway_port);
            gateway_addr_encode(t + 2, &m->gateway_address);
        }
        break;
    case AMT_MEMBERSHIP_UPDATE:
        memcpy(buf + 2, m->response_mac, AMT_MAC_LEN);
        amt_put32(buf + 8, m->nonce);
        break;
    case AMT_MULTICAST_DATA:
        break;
    case AMT_TEARDOWN:
        memcpy(buf + 2, m->response_mac, AMT_MAC_LEN);
        amt_put32(buf + 8, m->nonce);
        amt_put16(buf + 12, m->gateway_port);
        gateway_addr_encode(buf + 14, &m->gateway_address);
        break;
    default:
        break;
    }
    return (int)len;
}

/* ---- reports (RFC 3376 §4.2, RFC 3810 §5.2) -------------------------------------- */

#define IP4_REPORT_HDR 24 /* IHL 6: 20 + Router Alert (RFC 2113) */
#define IP6_REPORT_HDR 48 /* 40 + Hop-by-Hop with Router Alert (RFC 2711) */

static const uint8_t igmp_report_dst[4] = {224, 0, 0, 22};
static const uint8_t mld_report_dst[16] = {0xFF, 0x02, 0, 0, 0, 0, 0, 0,
                                           0,    0,    0, 0, 0, 0, 0, 0x16};
static const uint8_t hbh_router_alert_mld[8] = {58, 0, 5, 2, 0, 0, 1, 0};

size_t amt_report_size(int family, const amt_record *recs, size_t n)
{
    size_t al = amt_addr_len(family);
    size_t len = (family == AMT_IPV6 ? IP6_REPORT_HDR : IP4_REPORT_HDR) + 8;
    for (size_t i = 0; i < n; i++)
        len += 4 + al + recs[i].n_sources * al;
    return len;
}

int amt_report_build(uint8_t *buf, size_t size, int family, const amt_addr *ip_source,
                     const amt_record *recs, size_t n)
{
    if (!buf || (family != AMT_IPV4 && family != AMT_IPV6) || (n && !recs) || n > 0xFFFF)
        return AMT_ERR_INVALID_ARG;
    if (ip_source && ip_source->family && ip_source->family != family)
        return AMT_ERR_FAMILY;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].group.family != family || recs[i].n_sources > 0xFFFF ||
            (recs[i].n_sources && !recs[i].sources))
            return recs[i].group.family != family ? AMT_ERR_FAMILY : AMT_ERR_INVALID_ARG;
        for (size_t j = 0; j < recs[i].n_sources; j++)
            if (recs[i].sources[j].family != family)
                return AMT_ERR_FAMILY;
    }
    size_t total = amt_report_size(family, recs, n);
    if (total > size || total > 0xFFFF)
        return AMT_ERR_NOBUF;
    size_t al = amt_addr_len(family);
    size_t hl = family == AMT_IPV6 ? IP6_REPORT_HDR : IP4_REPORT_HDR;
    uint8_t *r = buf + hl;
    size_t rlen = total - hl;
    memset(buf, 0, total);
    r[0] = family == AMT_IPV6 ? 143 : 0x22; /* MLDv2 Report / IGMPv3 Membership Report */
    amt_put16(r + 6, (uint16_t)n);
    uint8_t *p = r + 8;
    for (size_t i = 0; i < n; i++) {
        p[0] = recs[i].type;
        amt_put16(p + 2, (uint16_t)recs[i].n_sources);
        memcpy(p + 4, recs[i].group.bytes, al);
        p += 4 + al;
        for (size_t j = 0; j < recs[i].n_sources; j++, p += al)
            memcpy(p, recs[i].sources[j].bytes, al);
    }
    if (family == AMT_IPV4) {
        buf[0] = 0x46;
        buf[1] = 0xC0; /* RFC 3376 §4: IP Precedence Internetwork Control */
        amt_put16(buf + 2, (uint16_t)total);
        buf[8] = 1; /* TTL 1 */
        buf[9] = 2; /* IGMP */
        if (ip_source && ip_source->family)
            memcpy(buf + 12, ip_source->bytes, 4);
        memcpy(buf + 16, igmp_report_dst, 4);
        buf[20] = 0x94; /* RFC 2113 Router Alert, value 0 */
        buf[21] = 0x04;
        amt_put16(buf + 10, amt_checksum(buf, IP4_REPORT_HDR));
        amt_put16(r + 2, amt_checksum(r, rlen));
    } else {
        buf[0] = 0x60;
        amt_put16(buf + 4, (uint16_t)(total - 40));
        buf[6] = 0; /* Hop-by-Hop */
        buf[7] = 1; /* hop limit 1 (RFC 3810 §5) */
        if (ip_source && ip_source->family)
            memcpy(buf + 8, ip_source->bytes, 16);
        memcpy(buf + 24, mld_report_dst, 16);
        memcpy(buf + 40, hbh_router_alert_mld, 8);
        amt_put16(r + 2, amt_csum_icmp6(buf + 8, buf + 24, r, rlen));
    }
    return (int)total;
}

/* Finds an IPv4 Router Alert option (RFC 2113) in the options area. */
static bool ip4_has_router_alert(const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (opt[i] == 0) /* End of Option List */
            return false;
        if (opt[i] == 1) { /* No Operation */
            i++;
            continue;
        }
        if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
            return false;
        if (opt[i] == 0x94 && opt[i + 1] == 4)
            return true;
        i += opt[i + 1];
    }
    return false;
}

/* Finds a Router Alert option for MLD (RFC 2711 type 5, value 0) in a Hop-by-Hop body. */
static bool hbh_has_mld_router_alert(const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (opt[i] == 0) { /* Pad1 */
            i++;
            continue;
        }
        if (i + 1 >= len || i + 2 + (size_t)opt[i + 1] > len)
            return false;
        if (opt[i] == 5 && opt[i + 1] == 2 && opt[i + 2] == 0 && opt[i + 3] == 0)
            return true;
        i += 2 + (size_t)opt[i + 1];
    }
    return false;
}

int amt_report_parse(const uint8_t *ip, size_t len, int *family, amt_record_fn cb, void *user)
{
    const uint8_t *r;
    size_t rlen;
    int fam;
    if (!ip)
        return AMT_ERR_INVALID_ARG;
    if (len < 20)
        return AMT_ERR_TRUNCATED;
    if (ip[0] >> 4 == 4) {
        fam = AMT_IPV4;
        size_t hl = (size_t)(ip[0] & 0x0F) * 4;
        if (hl < 20 || hl > len)
            return AMT_ERR_INNER;
        if (amt_get16(ip + 2) != len)
            return AMT_ERR_LENGTH;
        if (amt_checksum(ip, hl) != 0)
            return AMT_ERR_CHECKSUM;
        if (ip[8] != 1 || ip[9] != 2 || (amt_get16(ip + 6) & 0x3FFF) ||
            memcmp(ip + 16, igmp_report_dst, 4) != 0 || !ip4_has_router_alert(ip + 20, hl - 20))
            return AMT_ERR_INNER;
        r = ip + hl;
        rlen = len - hl;
        if (rlen < 8)
            return AMT_ERR_TRUNCATED;
        if (r[0] != 0x22)
            return AMT_ERR_INNER;
        if (amt_checksum(r, rlen) != 0)
            return AMT_ERR_CHECKSUM;
    } else if (ip[0] >> 4 == 6) {
        fam = AMT_IPV6;
        if (len < 48)
            return AMT_ERR_TRUNCATED;
        if ((size_t)amt_get16(ip + 4) + 40 != len)
            return AMT_ERR_LENGTH;
        if (ip[6] != 0 || ip[7] != 1 || memcmp(ip + 24, mld_report_dst, 16) != 0)
            return AMT_ERR_INNER;
        size_t hbh = ((size_t)ip[41] + 1) * 8;
        if (40 + hbh > len)
            return AMT_ERR_LENGTH;
        if (ip[40] != 58 || !hbh_has_mld_router_alert(ip + 42, hbh - 2))
            return AMT_ERR_INNER;
        r = ip + 40 + hbh;
        rlen = len - 40 - hbh;
        if (rlen < 8)
            return AMT_ERR_TRUNCATED;
        if (r[0] != 143)
            return AMT_ERR_INNER;
        if (amt_csum_icmp6(ip + 8, ip + 24, r, rlen) != 0)
            return AMT_ERR_CHECKSUM;
    } else {
        return AMT_ERR_INNER;
    }
    size_t al = amt_addr_len(fam);
    size_t nrec = amt_get16(r + 6), off = 8;
    if (family)
        *family = fam;
    for (size_t i = 0; i < nrec; i++) {
        if (off + 4 + al > rlen)
            return AMT_ERR_LENGTH;
        amt_record_view v;
        v.type = r[off];
        size_t aux = (size_t)r[off + 1] * 4;
        v.n_sources = amt_get16(r + off + 2);
        amt_addr_set(&v.group, fam, r + off + 4);
        size_t rl = 4 + al + (size_t)v.n_sources * al + aux;
        if (off + rl > rlen)
            return AMT_ERR_LENGTH;
        if (v.type < AMT_MODE_IS_INCLUDE || v.type > AMT_BLOCK_OLD_SOURCES ||
            !amt_addr_is_multicast(&v.group))
            return AMT_ERR_INNER;
        v.sources = r + off + 4 + al;
        off += rl;
        if (cb) {
            int c = cb(user, fam, &v);
            if (c)
                return c;
        }
    }
    if (off != rlen)
        return AMT_ERR_LENGTH;
    return 0;
}

/* ---- queries (RFC 3376 §4.1, RFC 3810 §5.1) -------------------------------------- */

uint32_t amt_decode_code8(uint8_t code)
{
    if (code < 128)
        return code;
    return (uint32_t)((code & 0x0F) | 0x10) << (((code >> 4) & 0x07) + 3);
}

uint32_t amt_decode_code16(uint16_t code)
{
    if (code < 32768)
        return code;
    return (uint32_t)((code & 0x0FFF) | 0x1000) << (((code >> 12) & 0x07) + 3);
}

/* Walks IPv6 extension headers that may precede an upper layer (RFC 8200 §4).  Returns
 * the upper-layer offset and protocol, or a negative error; *frag is set when a Fragment
 * header was seen. */
static int ip6_walk(const uint8_t *ip, size_t end, size_t *off, uint8_t *proto, bool *frag)
{
    uint8_t nh = ip[6];
    size_t o = 40;
    *frag = false;
    /* At most a handful of headers precede an upper layer; the bound keeps the loop
     * finite whatever the input. */
    for (int i = 0; i < 8; i++) {
        if (nh != 0 && nh != 43 && nh != 60 && nh != 44) {
            *off = o;
            *proto = nh;
            return 0;
        }
        if (o + 8 > end)
            return AMT_ERR_TRUNCATED;
        size_t l = nh == 44 ? 8 : ((size_t)ip[o + 1] + 1) * 8;
        if (nh == 44) {
            *frag = true;
            if (amt_get16(ip + o + 2) & 0xFFF9) /* offset != 0 or M: not the whole packet */
                return AMT_ERR_INNER;
        }
        if (o + l > end)
            return AMT_ERR_LENGTH;
        nh = ip[o];
        o += l;
    }
    return AMT_ERR_INNER;
}

int amt_query_parse(amt_query_info *q, const uint8_t *ip, size_t len)
{
    if (!q || !ip)
        return AMT_ERR_INVALID_ARG;
    memset(q, 0, sizeof *q);
    if (len < 20)
        return AMT_ERR_TRUNCATED;
    if (ip[0] >> 4 == 4) {
        size_t hl = (size_t)(ip[0] & 0x0F) * 4;
        size_t tot = amt_get16(ip + 2);
        /* Relays send IHL 6 (Router Alert) or 5: parse by IHL (digest §7). */
        if (hl < 20)
            return AMT_ERR_INNER;
        if (hl > len || tot > len || tot < hl)
            return AMT_ERR_LENGTH;
        if (ip[9] != 2)
            return AMT_ERR_INNER;
        const uint8_t *g = ip + hl;
        size_t glen = tot - hl;
        if (glen < 12)
            return AMT_ERR_TRUNCATED;
        if (g[0] != 0x11)
            return AMT_ERR_INNER;
        if (amt_checksum(g, glen) != 0)
            return AMT_ERR_CHECKSUM;
        if (12 + (size_t)amt_get16(g + 10) * 4 > glen)
            return AMT_ERR_LENGTH;
        q->family = AMT_IPV4;
        q->ip_header_len = (uint8_t)hl;
        q->max_resp_ms = amt_decode_code8(g[1]) * 100; /* RFC 3376 §4.1.1: 0.1 s units */
        q->s_flag = (g[8] & 0x08) != 0;
        q->qrv = g[8] & 0x07;
        q->qqic = g[9];
        amt_addr_set(&q->ip_source, AMT_IPV4, ip + 12);
    } else if (ip[0] >> 4 == 6) {
        if (len < 40)
            return AMT_ERR_TRUNCATED;
        size_t end = 40 + (size_t)amt_get16(ip + 4);
        if (end > len)
            return AMT_ERR_LENGTH;
        size_t off;
        uint8_t proto;
        bool frag;
        int r = ip6_walk(ip, end, &off, &proto, &frag);
        if (r < 0)
            return r;
        if (proto != 58 || frag)
            return AMT_ERR_INNER;
        const uint8_t *g = ip + off;
        size_t glen = end - off;
        if (glen < 28)
            return AMT_ERR_TRUNCATED;
        if (g[0] != 130)
            return AMT_ERR_INNER;
        if (amt_csum_icmp6(ip + 8, ip + 24, g, glen) != 0)
            return AMT_ERR_CHECKSUM;
        if (28 + (size_t)amt_get16(g + 26) * 16 > glen)
            return AMT_ERR_LENGTH;
        q->family = AMT_IPV6;
        q->ip_header_len = off > 255 ? 255 : (uint8_t)off;
        q->max_resp_ms = amt_decode_code16(amt_get16(g + 4)); /* RFC 3810 §5.1.3: ms */
        q->s_flag = (g[24] & 0x08) != 0;
        q->qrv = g[24] & 0x07;
        q->qqic = g[25];
        amt_addr_set(&q->ip_source, AMT_IPV6, ip + 8);
    } else {
        return AMT_ERR_INNER;
    }
    /* RFC 3376 §4.1.7 / RFC 3810 §5.1.9; 0 means the default 125 s (RFC 3376 §8.2). */
    q->qqi_s = q->qqic ? amt_decode_code8(q->qqic) : 125;
    return 0;
}

/* ---- data (RFC 7450 §5.1.6) ------------------------------------------------------ */

int amt_data_parse(amt_data *d, const uint8_t *ip, size_t len)
{
    if (!d || !ip)
        return AMT_ERR_INVALID_ARG;
    d->has_udp = false;
    d->payload = NULL;
    d->payload_len = 0;
    d->udp_sport = d->udp_dport = 0;
    if (len < 20)
        return AMT_ERR_TRUNCATED;
    size_t hl, tot;
    bool whole;
    if (ip[0] >> 4 == 4) {
        hl = (size_t)(ip[0] & 0x0F) * 4;
        tot = amt_get16(ip + 2);
        if (hl < 20)
            return AMT_ERR_INNER;
        if (tot > len || tot < hl)
            return AMT_ERR_LENGTH;
        if ((ip[16] & 0xF0) != 0xE0)
            return AMT_ERR_INNER;
        memset(&d->sg, 0, sizeof d->sg);
        d->sg.source.family = d->sg.group.family = AMT_IPV4;
        memcpy(d->sg.source.bytes, ip + 12, 4);
        memcpy(d->sg.group.bytes, ip + 16, 4);
        d->protocol = ip[9];
        whole = (amt_get16(ip + 6) & 0x3FFF) == 0; /* MF clear, offset 0 */
    } else if (ip[0] >> 4 == 6) {
        if (len < 40)
            return AMT_ERR_TRUNCATED;
        tot = 40 + (size_t)amt_get16(ip + 4);
        if (tot > len)
            return AMT_ERR_LENGTH;
        if (ip[24] != 0xFF)
            return AMT_ERR_INNER;
        bool frag;
        uint8_t proto;
        int r = ip6_walk(ip, tot, &hl, &proto, &frag);
        if (r < 0)
            return r;
        memset(&d->sg, 0, sizeof d->sg);
        d->sg.source.family = d->sg.group.family = AMT_IPV6;
        memcpy(d->sg.source.bytes, ip + 8, 16);
        memcpy(d->sg.group.bytes, ip + 24, 16);
        d->protocol = proto;
        whole = !frag;
    } else {
        return AMT_ERR_INNER;
    }
    d->ip = ip;
    d->ip_len = tot;
    if (d->protocol == 17 && whole) {
        if (hl + 8 > tot)
            return AMT_ERR_TRUNCATED;
        const uint8_t *u = ip + hl;
        size_t ul = amt_get16(u + 4);
        /* A zero UDP checksum is legal (IPv4; and amtrelayd zeroes it: digest §6). */
        if (ul < 8 || ul > tot - hl)
            return AMT_ERR_LENGTH;
        d->has_udp = true;
        d->udp_sport = amt_get16(u);
        d->udp_dport = amt_get16(u + 2);
        d->payload = u + 8;
        d->payload_len = ul - 8;
    }
    return 0;
}

/* ---- names ----------------------------------------------------------------------- */

const char *amt_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case AMT_ERR_INVALID_ARG: return "invalid argument";
    case AMT_ERR_NOMEM: return "out of memory";
    case AMT_ERR_NOBUF: return "output buffer too small";
    case AMT_ERR_TRUNCATED: return "message truncated";
    case AMT_ERR_LENGTH: return "inconsistent length";
    case AMT_ERR_VERSION: return "unsupported AMT version";
    case AMT_ERR_TYPE: return "unknown or unexpected message type";
    case AMT_ERR_CHECKSUM: return "bad checksum";
    case AMT_ERR_INNER: return "malformed encapsulated datagram";
    case AMT_ERR_ADDRESS: return "unusable address";
    case AMT_ERR_SOURCE: return "unexpected source address or port";
    case AMT_ERR_NONCE: return "nonce mismatch";
    case AMT_ERR_STATE: return "message not expected in this state";
    case AMT_ERR_NOT_JOINED: return "channel not joined";
    case AMT_ERR_EXISTS: return "channel already joined";
    case AMT_ERR_NOT_FOUND: return "channel not found";
    case AMT_ERR_FAMILY: return "address family mismatch";
    case AMT_ERR_SEND: return "send failed";
    default:
        if (err < 0 && err > -200)
            return strerror(-err);
        return "unknown error";
    }
}

const char *amt_version(void)
{
    return AMT_VERSION_STRING;
}
