/* pimparse-frame.c — link, IP and PIM common header decoding of one captured frame
 * (spec/pim.md §1-§3). */
#include <string.h>

#include "pimparse-internal.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86DD
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88A8
#define ETHERTYPE_QINQ_OLD 0x9100

#define IPPROTO_PIM_NUM 103

/* The IPv4 path (every frame of an IPv4 network) is inlined into its callers (PP_INLINE):
 * one call per frame instead of four. */

PP_INLINE int decode_pim(const uint8_t *ip_src_bytes, const uint8_t *ip_dst_bytes, int v6,
                         const uint8_t *msg, size_t len, pimparse_packet *out)
{
    /* RFC 7761 §4.9: PIM Ver(4) Type(4) Reserved(8) Checksum(16). */
    if (len < 4)
        return PIMPARSE_ERR_TRUNCATED;
    if ((msg[0] >> 4) != 2)
        return PIMPARSE_ERR_PIM_VERSION;
    uint8_t type = msg[0] & 0x0f;

    /* RFC 7761 §4.9: the checksum covers the whole message, except for Register, where
     * it covers the first 8 bytes (some implementations cover the whole Register: accept
     * either).  For IPv6 the pseudo-header of RFC 8200 §8.1 is included. */
    int ok;
    if (type == PIMPARSE_TYPE_REGISTER) {
        if (len < 8)
            return PIMPARSE_ERR_TRUNCATED;
        uint32_t ph8 = v6 ? pp_pseudo6_sum(ip_src_bytes, ip_dst_bytes, 8) : 0;
        ok = pp_checksum(msg, 8, ph8) == 0;
        if (!ok) {
            uint32_t phl = v6 ? pp_pseudo6_sum(ip_src_bytes, ip_dst_bytes, (uint32_t)len) : 0;
            ok = pp_checksum(msg, len, phl) == 0;
        }
    } else {
        uint32_t ph = v6 ? pp_pseudo6_sum(ip_src_bytes, ip_dst_bytes, (uint32_t)len) : 0;
        ok = pp_checksum(msg, len, ph) == 0;
    }
    if (!ok)
        return PIMPARSE_ERR_CHECKSUM;

    out->pim_type = type;
    out->pim_flags = msg[1];
    out->pim = msg;
    out->pim_len = len;
    return 0;
}

PP_INLINE int decode_ipv4(const uint8_t *p, size_t len, pimparse_packet *out)
{
    if (len < 20)
        return PIMPARSE_ERR_TRUNCATED;
    if ((p[0] >> 4) != 4)
        return PIMPARSE_ERR_IP_HEADER;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl < 20)
        return PIMPARSE_ERR_IP_HEADER;
    if (p[9] != IPPROTO_PIM_NUM)
        return PIMPARSE_ERR_NOT_PIM;
    /* MF set or a non-zero offset: routers never fragment J/Ps (they split them at the
     * MTU), and a first fragment is not a whole message. */
    if (pp_get16(p + 6) & 0x3fff)
        return PIMPARSE_ERR_FRAGMENT;
    if (len < ihl)
        return PIMPARSE_ERR_TRUNCATED;
    size_t total = pp_get16(p + 2);
    if (total < ihl)
        return PIMPARSE_ERR_IP_HEADER;
    if (total > len)
        return PIMPARSE_ERR_TRUNCATED;
    /* A header whose checksum fails would have been dropped by the receiving stack. */
    if (pp_checksum(p, ihl, 0) != 0)
        return PIMPARSE_ERR_IP_HEADER;

    memset(&out->ip_src, 0, sizeof out->ip_src);
    memset(&out->ip_dst, 0, sizeof out->ip_dst);
    out->ip_src.family = PIMPARSE_AF_IPV4;
    out->ip_dst.family = PIMPARSE_AF_IPV4;
    memcpy(out->ip_src.bytes, p + 12, 4);
    memcpy(out->ip_dst.bytes, p + 16, 4);
    out->ttl = p[8];
    /* total trims the link layer's padding (Ethernet minimum frame size). */
    return decode_pim(NULL, NULL, 0, p + ihl, total - ihl, out);
}

static int decode_ipv6(const uint8_t *p, size_t len, pimparse_packet *out)
{
    if (len < 40)
        return PIMPARSE_ERR_TRUNCATED;
    if ((p[0] >> 4) != 6)
        return PIMPARSE_ERR_IP_HEADER;
    size_t plen = pp_get16(p + 4);
    uint8_t nh = p[6];
    /* Payload length 0 means a jumbogram (RFC 2675), which PIM never uses. */
    if (plen == 0)
        return PIMPARSE_ERR_IP_HEADER;
    size_t off = 40, end = 40 + plen;
    /* Skip the extension headers that may precede the upper layer (RFC 8200 §4.1).
     * Every header is at least 8 bytes, so the loop ends within plen / 8 steps. */
    for (;;) {
        if (nh == IPPROTO_PIM_NUM)
            break;
        if (nh == 44)
            return PIMPARSE_ERR_FRAGMENT;
        if (nh != 0 && nh != 43 && nh != 60)
            return PIMPARSE_ERR_NOT_PIM;
        if (off + 2 > end || off + 2 > len)
            return PIMPARSE_ERR_TRUNCATED;
        size_t hlen = ((size_t)p[off + 1] + 1) * 8;
        nh = p[off];
        off += hlen;
        if (off > end)
            return PIMPARSE_ERR_IP_HEADER;
    }
    if (end > len)
        return PIMPARSE_ERR_TRUNCATED;

    memset(&out->ip_src, 0, sizeof out->ip_src);
    memset(&out->ip_dst, 0, sizeof out->ip_dst);
    out->ip_src.family = PIMPARSE_AF_IPV6;
    out->ip_dst.family = PIMPARSE_AF_IPV6;
    memcpy(out->ip_src.bytes, p + 8, 16);
    memcpy(out->ip_dst.bytes, p + 24, 16);
    out->ttl = p[7];
    return decode_pim(p + 8, p + 24, 1, p + off, end - off, out);
}

int pimparse_ip_decode(const uint8_t *ip, size_t len, pimparse_packet *out)
{
    if (!ip || !out)
        return PIMPARSE_ERR_INVALID;
    if (len < 1)
        return PIMPARSE_ERR_TRUNCATED;
    switch (ip[0] >> 4) {
    case 4: return decode_ipv4(ip, len, out);
    case 6: return decode_ipv6(ip, len, out);
    default: return PIMPARSE_ERR_NOT_IP;
    }
}

PP_INLINE int decode_ethertype(uint16_t et, const uint8_t *p, size_t len, pimparse_packet *out)
{
    if (et == ETHERTYPE_IPV4) {
        if (len >= 1 && (p[0] >> 4) != 4)
            return PIMPARSE_ERR_IP_HEADER;
        return decode_ipv4(p, len, out);
    }
    if (et == ETHERTYPE_IPV6) {
        if (len >= 1 && (p[0] >> 4) != 6)
            return PIMPARSE_ERR_IP_HEADER;
        return decode_ipv6(p, len, out);
    }
    return PIMPARSE_ERR_NOT_IP;
}

/* BSD address family values found in DLT_NULL / DLT_LOOP headers: AF_INET is 2
 * everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (Darwin). */
static int null_family(uint32_t af)
{
    if (af == 2)
        return 4;
    if (af == 10 || af == 24 || af == 28 || af == 30)
        return 6;
    return 0;
}

int pimparse_frame_decode(int linktype, const uint8_t *frame, size_t len, pimparse_packet *out)
{
    if (!frame || !out)
        return PIMPARSE_ERR_INVALID;
    switch (linktype) {
    case PIMPARSE_LINK_EN10MB: {
        if (len < 14)
            return PIMPARSE_ERR_TRUNCATED;
        size_t off = 12;
        uint16_t et = pp_get16(frame + off);
        /* 802.1Q and QinQ tags: 4 bytes each; the loop consumes 4 bytes per step. */
        while (et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ || et == ETHERTYPE_QINQ_OLD) {
            off += 4;
            if (off + 2 > len)
                return PIMPARSE_ERR_TRUNCATED;
            et = pp_get16(frame + off);
        }
        off += 2;
        return decode_ethertype(et, frame + off, len - off, out);
    }
    case PIMPARSE_LINK_LINUX_SLL:
        if (len < 16)
            return PIMPARSE_ERR_TRUNCATED;
        return decode_ethertype(pp_get16(frame + 14), frame + 16, len - 16, out);
    case PIMPARSE_LINK_LINUX_SLL2:
        if (len < 20)
            return PIMPARSE_ERR_TRUNCATED;
        return decode_ethertype(pp_get16(frame), frame + 20, len - 20, out);
    case PIMPARSE_LINK_RAW:
    case 14:  /* DLT_RAW on OpenBSD */
    case 101: /* LINKTYPE_RAW */
        return pimparse_ip_decode(frame, len, out);
    case PIMPARSE_LINK_IPV4:
        if (len >= 1 && (frame[0] >> 4) != 4)
            return PIMPARSE_ERR_IP_HEADER;
        return decode_ipv4(frame, len, out);
    case PIMPARSE_LINK_IPV6:
        if (len >= 1 && (frame[0] >> 4) != 6)
            return PIMPARSE_ERR_IP_HEADER;
        return decode_ipv6(frame, len, out);
    case PIMPARSE_LINK_NULL:
    case PIMPARSE_LINK_LOOP: {
        if (len < 4)
            return PIMPARSE_ERR_TRUNCATED;
        uint32_t be = pp_get32(frame);
        uint32_t le = (uint32_t)frame[3] << 24 | (uint32_t)frame[2] << 16 |
                      (uint32_t)frame[1] << 8 | frame[0];
        /* LOOP is network order; NULL is the capturing host's order: accept both. */
        int v = null_family(be);
        if (!v && linktype == PIMPARSE_LINK_NULL)
            v = null_family(le);
        if (v == 4)
            return decode_ethertype(ETHERTYPE_IPV4, frame + 4, len - 4, out);
        if (v == 6)
            return decode_ethertype(ETHERTYPE_IPV6, frame + 4, len - 4, out);
        return PIMPARSE_ERR_NOT_IP;
    }
    default:
        return PIMPARSE_ERR_LINKTYPE;
    }
}
