/* pimparse-jp.c — Join/Prune message validation and iteration (RFC 7761 §4.9.5). */
#include <string.h>

#include "pimparse-internal.h"

/* The error for an Encoded-Unicast, -Group or -Source header (§4.9.1) whose first two
 * bytes are not {the message's address family, encoding type 0}. */
static int encoded_error(const uint8_t *p, uint8_t iana_af)
{
    if (p[0] != iana_af)
        return PIMPARSE_ERR_FAMILY;
    /* Encoding type 1 (RFC 5384 Join Attributes) is only sent to neighbors that
     * advertised Hello option 26, which we never do. */
    return PIMPARSE_ERR_ENCODING;
}

int pimparse_jp_decode(const pimparse_packet *pkt, pimparse_jp *jp)
{
    unsigned n;
    return pp_jp_decode(pkt, jp, 0, NULL, 0, &n);
}

int pp_jp_decode(const pimparse_packet *pkt, pimparse_jp *jp, uint64_t seed, uint32_t *hash,
                 unsigned max, unsigned *nhash)
{
    *nhash = 0;
    if (!pkt || !jp || !pkt->pim)
        return PIMPARSE_ERR_INVALID;
    if (pkt->pim_type != PIMPARSE_TYPE_JOIN_PRUNE)
        return PIMPARSE_ERR_WRONG_TYPE;
    const uint8_t *m = pkt->pim;
    size_t len = pkt->pim_len;
    size_t alen = pkt->ip_src.family == PIMPARSE_AF_IPV6 ? 16 : 4;
    uint8_t iana_af = alen == 16 ? PP_IANA_AF_IPV6 : PP_IANA_AF_IPV4;
    /* Every Encoded address starts with {family, encoding type 0}: one 16-bit compare. */
    uint16_t head = (uint16_t)(iana_af << 8);
    size_t ulen = 2 + alen;     /* Encoded-Unicast */
    size_t elen = 4 + alen;     /* Encoded-Group and Encoded-Source */

    if (len < 4 + ulen + 4)
        return PIMPARSE_ERR_TRUNCATED;
    if (pp_get16(m + 4) != head)
        return encoded_error(m + 4, iana_af);
    size_t off = 4 + ulen;
    unsigned num_groups = m[off + 1]; /* m[off] is reserved */
    uint16_t holdtime = pp_get16(m + off + 2);
    off += 4;

    /* Pre-pass (as pimd): every group header and source list must fit before anything
     * is used; one shortfall refuses the whole message. */
    const uint8_t *groups = m + off;
    uint8_t fam = alen == 16 ? PIMPARSE_AF_IPV6 : PIMPARSE_AF_IPV4;
    unsigned nh = 0;
    for (unsigned g = 0; g < num_groups; g++) {
        if (len - off < elen + 4)
            return PIMPARSE_ERR_TRUNCATED;
        if (pp_get16(m + off) != head)
            return encoded_error(m + off, iana_af);
        const uint8_t *gaddr = m + off + 4;
        size_t n = (size_t)pp_get16(m + off + elen) + pp_get16(m + off + elen + 2);
        off += elen + 4;
        /* n <= 131070, times 20 fits any size_t (and a multiply costs less than the
         * division it replaces, once per group of every message). */
        if (n * elen > len - off)
            return PIMPARSE_ERR_TRUNCATED;
        for (size_t i = 0; i < n; i++, off += elen) {
            if (pp_get16(m + off) != head)
                return encoded_error(m + off, iana_af);
            /* Entries without W or R are the (S,G) entries; the addresses are hashed where
             * they lie. */
            if (nh < max && !(m[off + 2] & (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R)))
                hash[nh++] = pp_hash_sg(seed, fam, m + off + 4, gaddr);
        }
    }
    memset(jp, 0, sizeof *jp);
    jp->upstream_neighbor.family = fam;
    if (alen == 16)
        memcpy(jp->upstream_neighbor.bytes, m + 6, 16);
    else
        memcpy(jp->upstream_neighbor.bytes, m + 6, 4);
    jp->num_groups = (uint8_t)num_groups;
    jp->holdtime = holdtime;
    jp->it_pos = groups;
    jp->it_end = m + off; /* bytes after the last group are ignored (as pimd, tcpdump) */
    jp->it_alen = (uint8_t)alen;
    *nhash = nh;
    return 0;
}

int pimparse_jp_next(pimparse_jp *jp, pimparse_jp_entry *e)
{
    if (!jp || !e || !jp->it_pos)
        return 0;
    size_t alen = jp->it_alen;
    size_t elen = 4 + alen;
    uint8_t fam = alen == 16 ? PIMPARSE_AF_IPV6 : PIMPARSE_AF_IPV4;
    while (jp->it_group < jp->num_groups) {
        const uint8_t *g = jp->it_pos;
        uint16_t nj = pp_get16(g + elen);
        uint16_t np = pp_get16(g + elen + 2);
        unsigned total = (unsigned)nj + np;
        if (jp->it_source >= total) {
            jp->it_pos = g + elen + 4 + (size_t)total * elen;
            jp->it_group++;
            jp->it_source = 0;
            continue;
        }
        unsigned i = jp->it_source++;
        const uint8_t *s = g + elen + 4 + (size_t)i * elen;
        memset(&e->group, 0, sizeof e->group);
        e->group.family = fam;
        memcpy(e->group.bytes, g + 4, alen);
        e->group_flags = g[2];
        e->group_mask_len = g[3];
        e->group_index = jp->it_group;
        e->num_joined = nj;
        e->num_pruned = np;
        memset(&e->source, 0, sizeof e->source);
        e->source.family = fam;
        memcpy(e->source.bytes, s + 4, alen);
        e->source_flags = s[2];
        e->source_mask_len = s[3];
        e->is_join = i < nj;
        e->source_index = (uint16_t)(e->is_join ? i : i - nj);
        /* §4.9.5.1: W and R select (S,G), (*,G) or (S,G,rpt); W without R is invalid. */
        unsigned wr = s[2] & (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R);
        e->kind = wr == 0 ? PIMPARSE_ENTRY_SG
                : wr == (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R) ? PIMPARSE_ENTRY_STAR_G
                : wr == PIMPARSE_SOURCE_R ? PIMPARSE_ENTRY_SG_RPT
                : PIMPARSE_ENTRY_INVALID;
        return 1;
    }
    return 0;
}
