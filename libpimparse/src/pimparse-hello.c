/* pimparse-hello.c — Hello decoding and encoding (RFC 7761 §4.9.2, §4.11). */
#include <string.h>

#include "pimparse-internal.h"

enum {
    OPT_HOLDTIME = 1,
    OPT_LAN_PRUNE_DELAY = 2,
    OPT_DR_PRIORITY = 19,
    OPT_GENERATION_ID = 20,
    OPT_STATE_REFRESH = 21, /* RFC 3973 §4.7.5 */
    OPT_BIDIR_CAPABLE = 22, /* RFC 5015 §3.7.4 */
    OPT_ADDRESS_LIST = 24,
    OPT_JOIN_ATTRIBUTE = 26, /* RFC 5384 §3.1 */
};

static int check_len(uint16_t got, uint16_t want)
{
    return got == want ? 0 : PIMPARSE_ERR_MALFORMED;
}

int pimparse_hello_decode(const pimparse_packet *pkt, pimparse_hello *h)
{
    if (!pkt || !h || !pkt->pim)
        return PIMPARSE_ERR_INVALID;
    if (pkt->pim_type != PIMPARSE_TYPE_HELLO)
        return PIMPARSE_ERR_WRONG_TYPE;
    const uint8_t *m = pkt->pim;
    size_t len = pkt->pim_len;
    pimparse_hello out;
    memset(&out, 0, sizeof out);
    out.holdtime = 105; /* Default_Hello_Holdtime, §4.11 */
    out.dr_priority = 1;
    size_t off = 4;
    /* Each option consumes at least 4 bytes: the loop ends within len / 4 steps. */
    while (off < len) {
        if (len - off < 4)
            return PIMPARSE_ERR_MALFORMED;
        uint16_t type = pp_get16(m + off);
        uint16_t olen = pp_get16(m + off + 2);
        const uint8_t *v = m + off + 4;
        if (len - off - 4 < olen)
            return PIMPARSE_ERR_MALFORMED;
        int r = 0;
        switch (type) {
        case OPT_HOLDTIME:
            if ((r = check_len(olen, 2)) == 0) {
                out.holdtime = pp_get16(v);
                out.present |= PIMPARSE_HELLO_HAS_HOLDTIME;
            }
            break;
        case OPT_LAN_PRUNE_DELAY:
            if ((r = check_len(olen, 4)) == 0) {
                out.t_bit = (v[0] & 0x80) != 0;
                out.propagation_delay_ms = pp_get16(v) & 0x7fff;
                out.override_interval_ms = pp_get16(v + 2);
                out.present |= PIMPARSE_HELLO_HAS_LAN_PRUNE_DELAY;
            }
            break;
        case OPT_DR_PRIORITY:
            if ((r = check_len(olen, 4)) == 0) {
                out.dr_priority = pp_get32(v);
                out.present |= PIMPARSE_HELLO_HAS_DR_PRIORITY;
            }
            break;
        case OPT_GENERATION_ID:
            if ((r = check_len(olen, 4)) == 0) {
                out.generation_id = pp_get32(v);
                out.present |= PIMPARSE_HELLO_HAS_GENERATION_ID;
            }
            break;
        case OPT_STATE_REFRESH:
            if ((r = check_len(olen, 4)) == 0) {
                out.state_refresh = pp_get32(v);
                out.present |= PIMPARSE_HELLO_HAS_STATE_REFRESH;
            }
            break;
        case OPT_BIDIR_CAPABLE:
            if ((r = check_len(olen, 0)) == 0)
                out.present |= PIMPARSE_HELLO_BIDIR_CAPABLE;
            break;
        case OPT_JOIN_ATTRIBUTE:
            if ((r = check_len(olen, 0)) == 0)
                out.present |= PIMPARSE_HELLO_JOIN_ATTRIBUTE;
            break;
        case OPT_ADDRESS_LIST: {
            /* §4.9.2: a list of Encoded-Unicast secondary addresses filling the option. */
            size_t p = 0;
            unsigned n = 0;
            while (p < olen) {
                int el = pp_read_encoded_unicast(v + p, olen - p, NULL);
                if (el < 0)
                    return el == PIMPARSE_ERR_TRUNCATED ? PIMPARSE_ERR_MALFORMED : el;
                p += (size_t)el;
                n++;
            }
            out.address_list = v;
            out.address_list_len = olen;
            out.num_addresses = (uint16_t)n;
            out.present |= PIMPARSE_HELLO_HAS_ADDRESS_LIST;
            break;
        }
        default:
            if (out.num_unknown_options < UINT16_MAX)
                out.num_unknown_options++;
            break;
        }
        if (r < 0)
            return r;
        off += 4 + (size_t)olen;
    }
    *h = out;
    return 0;
}

int pimparse_hello_address(const pimparse_hello *h, unsigned index, pimparse_addr *out)
{
    if (!h || !out || index >= h->num_addresses)
        return PIMPARSE_ERR_INVALID;
    size_t p = 0;
    for (unsigned i = 0;; i++) {
        int el = pp_read_encoded_unicast(h->address_list + p, h->address_list_len - p,
                                         i == index ? out : NULL);
        if (el < 0)
            return PIMPARSE_ERR_INVALID;
        if (i == index)
            return 0;
        p += (size_t)el;
    }
}

void pimparse_hello_params_default(pimparse_hello_params *p, uint32_t generation_id)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->holdtime = 105;
    p->generation_id = generation_id;
    p->dr_priority = 1;
    p->lan_prune_delay = true;
    p->propagation_delay_ms = 500;
    p->override_interval_ms = 2500;
}

int pimparse_hello_encode(const pimparse_hello_params *p, const pimparse_addr *src,
                          const pimparse_addr *dst, uint8_t *buf, size_t size)
{
    if (!p || !buf || (p->num_addresses && !p->addresses))
        return PIMPARSE_ERR_INVALID;
    if (p->propagation_delay_ms > 0x7fff)
        return PIMPARSE_ERR_INVALID;
    size_t alist = 0;
    for (size_t i = 0; i < p->num_addresses; i++) {
        if (p->addresses[i].family == PIMPARSE_AF_IPV4)
            alist += 6;
        else if (p->addresses[i].family == PIMPARSE_AF_IPV6)
            alist += 18;
        else
            return PIMPARSE_ERR_INVALID;
    }
    if (alist > UINT16_MAX)
        return PIMPARSE_ERR_INVALID;
    size_t need = 4 + 6 + (p->lan_prune_delay ? 8 : 0) + 8 + 8 + (alist ? 4 + alist : 0);
    if (need > size)
        return PIMPARSE_ERR_BUFFER;
    if ((src == NULL) != (dst == NULL) || (src && src->family != dst->family))
        return PIMPARSE_ERR_INVALID;
    int v6 = src && src->family == PIMPARSE_AF_IPV6;

    uint8_t *q = buf;
    q[0] = 0x20; /* version 2, type 0 */
    q[1] = 0;
    pp_put16(q + 2, 0);
    q += 4;
    pp_put16(q, OPT_HOLDTIME);
    pp_put16(q + 2, 2);
    pp_put16(q + 4, p->holdtime);
    q += 6;
    if (p->lan_prune_delay) {
        pp_put16(q, OPT_LAN_PRUNE_DELAY);
        pp_put16(q + 2, 4);
        pp_put16(q + 4, (uint16_t)((p->t_bit ? 0x8000u : 0) | p->propagation_delay_ms));
        pp_put16(q + 6, p->override_interval_ms);
        q += 8;
    }
    pp_put16(q, OPT_DR_PRIORITY);
    pp_put16(q + 2, 4);
    pp_put32(q + 4, p->dr_priority);
    q += 8;
    pp_put16(q, OPT_GENERATION_ID);
    pp_put16(q + 2, 4);
    pp_put32(q + 4, p->generation_id);
    q += 8;
    if (alist) {
        pp_put16(q, OPT_ADDRESS_LIST);
        pp_put16(q + 2, (uint16_t)alist);
        q += 4;
        for (size_t i = 0; i < p->num_addresses; i++) {
            const pimparse_addr *a = &p->addresses[i];
            size_t l = a->family == PIMPARSE_AF_IPV4 ? 4 : 16;
            q[0] = a->family == PIMPARSE_AF_IPV4 ? PP_IANA_AF_IPV4 : PP_IANA_AF_IPV6;
            q[1] = 0;
            memcpy(q + 2, a->bytes, l);
            q += 2 + l;
        }
    }
    size_t len = (size_t)(q - buf);
    uint32_t ph = v6 ? pp_pseudo6_sum(src->bytes, dst->bytes, (uint32_t)len) : 0;
    pp_put16(buf + 2, pimparse_checksum(buf, len, ph));
    return (int)len;
}
