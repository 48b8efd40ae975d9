/* pp-build.c — see pp-build.h. */
#include "pp-build.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void need(size_t have, size_t want)
{
    if (want > have) {
        fprintf(stderr, "pp-build: buffer of %zu bytes too small for %zu\n", have, want);
        abort();
    }
}

int ppb_addr(const char *text, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, text, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, text, out) == 1)
        return 16;
    fprintf(stderr, "pp-build: bad address %s\n", text);
    abort();
}

static size_t put_enc(uint8_t *p, const char *addr, int with_flags, uint8_t flags, uint8_t mask)
{
    uint8_t a[16];
    int l = ppb_addr(addr, a);
    size_t o = 0;
    p[o++] = l == 4 ? 1 : 2;
    p[o++] = 0;
    if (with_flags) {
        p[o++] = flags;
        p[o++] = mask ? mask : (uint8_t)(l * 8);
    }
    memcpy(p + o, a, (size_t)l);
    return o + (size_t)l;
}

size_t ppb_jp(uint8_t *buf, size_t size, const char *upstream, uint16_t holdtime,
              const struct ppb_group *groups, size_t ngroups)
{
    size_t need_len = 4 + 18 + 4;
    for (size_t g = 0; g < ngroups; g++)
        need_len += 24 + (groups[g].nj + groups[g].np) * 20;
    need(size, need_len);
    size_t o = 0;
    buf[o++] = 0x23;
    buf[o++] = 0;
    buf[o++] = 0;
    buf[o++] = 0;
    o += put_enc(buf + o, upstream, 0, 0, 0);
    buf[o++] = 0;
    buf[o++] = (uint8_t)ngroups;
    put16(buf + o, holdtime);
    o += 2;
    for (size_t g = 0; g < ngroups; g++) {
        const struct ppb_group *gr = &groups[g];
        o += put_enc(buf + o, gr->addr, 1, gr->flags, gr->mask);
        put16(buf + o, (unsigned)gr->nj);
        put16(buf + o + 2, (unsigned)gr->np);
        o += 4;
        for (size_t i = 0; i < gr->nj; i++)
            o += put_enc(buf + o, gr->joins[i].addr, 1, gr->joins[i].flags, gr->joins[i].mask);
        for (size_t i = 0; i < gr->np; i++)
            o += put_enc(buf + o, gr->prunes[i].addr, 1, gr->prunes[i].flags, gr->prunes[i].mask);
    }
    return o;
}

static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void ppb_fix_ip_csum(uint8_t *ip)
{
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    ip[10] = ip[11] = 0;
    put16(ip + 10, csum(ip, ihl, 0));
}

void ppb_fix_pim_csum(uint8_t *ip, size_t ip_len)
{
    (void)ip_len;
    if ((ip[0] >> 4) == 4) {
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        size_t total = (size_t)ip[2] << 8 | ip[3];
        uint8_t *m = ip + ihl;
        m[2] = m[3] = 0;
        put16(m + 2, csum(m, total - ihl, 0));
        return;
    }
    size_t plen = (size_t)ip[4] << 8 | ip[5];
    uint8_t *m = ip + 40;
    uint32_t s = 0;
    for (int i = 8; i < 40; i += 2)
        s += (uint32_t)ip[i] << 8 | ip[i + 1];
    s += (uint32_t)(plen >> 16) + (uint32_t)(plen & 0xffff) + 103;
    m[2] = m[3] = 0;
    put16(m + 2, csum(m, plen, s));
}

size_t ppb_ip(uint8_t *buf, size_t size, const char *src, const char *dst, uint8_t proto,
              const uint8_t *pim, size_t pim_len, int keep_csum)
{
    uint8_t s[16], d[16];
    int l = ppb_addr(src, s);
    ppb_addr(dst, d);
    if (l == 4) {
        need(size, 20 + pim_len);
        memset(buf, 0, 20);
        buf[0] = 0x45;
        buf[1] = 0xc0;
        put16(buf + 2, (unsigned)(20 + pim_len));
        buf[8] = 1;
        buf[9] = proto;
        memcpy(buf + 12, s, 4);
        memcpy(buf + 16, d, 4);
        ppb_fix_ip_csum(buf);
        memcpy(buf + 20, pim, pim_len);
        if (!keep_csum && proto == 103)
            ppb_fix_pim_csum(buf, 20 + pim_len);
        return 20 + pim_len;
    }
    need(size, 40 + pim_len);
    memset(buf, 0, 40);
    buf[0] = 0x60;
    put16(buf + 4, (unsigned)pim_len);
    buf[6] = proto;
    buf[7] = 1;
    memcpy(buf + 8, s, 16);
    memcpy(buf + 24, d, 16);
    memcpy(buf + 40, pim, pim_len);
    if (!keep_csum && proto == 103)
        ppb_fix_pim_csum(buf, 40 + pim_len);
    return 40 + pim_len;
}

size_t ppb_link(uint8_t *buf, size_t size, int linktype, int vlan_tags, const uint8_t *ip,
                size_t ip_len)
{
    unsigned et = (ip[0] >> 4) == 6 ? 0x86dd : 0x0800;
    size_t o = 0;
    switch (linktype) {
    case 1: {
        static const uint8_t mac[12] = {1, 0, 0x5e, 0, 0, 13, 2, 0, 0, 0, 0, 1};
        need(size, 14 + 4 * (size_t)vlan_tags + ip_len);
        memcpy(buf, mac, 12);
        o = 12;
        for (int i = 0; i < vlan_tags; i++) {
            put16(buf + o, i == 0 && vlan_tags > 1 ? 0x88a8 : 0x8100);
            put16(buf + o + 2, (unsigned)(100 + i));
            o += 4;
        }
        put16(buf + o, et);
        o += 2;
        break;
    }
    case 113:
        need(size, 16 + ip_len);
        memset(buf, 0, 16);
        put16(buf, 0);     /* packet type: to us */
        put16(buf + 2, 1); /* ARPHRD_ETHER */
        put16(buf + 4, 6);
        put16(buf + 14, et);
        o = 16;
        break;
    case 276:
        need(size, 20 + ip_len);
        memset(buf, 0, 20);
        put16(buf, et);
        buf[8] = 0;
        buf[9] = 1;
        buf[10] = 2; /* multicast */
        buf[11] = 6;
        o = 20;
        break;
    case 0: {
        need(size, 4 + ip_len);
        unsigned af = et == 0x86dd ? 10 : 2;
        buf[0] = (uint8_t)af; /* little-endian host order */
        buf[1] = buf[2] = buf[3] = 0;
        o = 4;
        break;
    }
    case 108: {
        need(size, 4 + ip_len);
        unsigned af = et == 0x86dd ? 24 : 2;
        buf[0] = buf[1] = buf[2] = 0;
        buf[3] = (uint8_t)af;
        o = 4;
        break;
    }
    default: /* RAW, IPV4, IPV6 */
        need(size, ip_len);
        break;
    }
    memcpy(buf + o, ip, ip_len);
    return o + ip_len;
}

static void w32(FILE *f, uint32_t v)
{
    fwrite(&v, 4, 1, f);
}

void ppb_pcap_header(FILE *f, int linktype)
{
    w32(f, 0xa1b23c4d); /* nanosecond-resolution pcap, host byte order */
    uint16_t v[2] = {2, 4};
    fwrite(v, 2, 2, f);
    w32(f, 0);
    w32(f, 0);
    w32(f, 65535);
    w32(f, (uint32_t)linktype);
}

void ppb_pcap_record(FILE *f, uint64_t ts_ns, const uint8_t *frame, size_t len)
{
    w32(f, (uint32_t)(ts_ns / 1000000000u));
    w32(f, (uint32_t)(ts_ns % 1000000000u));
    w32(f, (uint32_t)len);
    w32(f, (uint32_t)len);
    fwrite(frame, 1, len, f);
}
