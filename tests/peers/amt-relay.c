/* amt-relay.c — a strict AMT relay (RFC 7450 §5.3) for tests.  Its own code, sharing
 * nothing with libamt, so that it catches gateway bugs instead of mirroring them.
 *
 * Relay Discovery → Advertisement; Request → Membership Query with a MAC keyed on the
 * gateway's address, port and nonce (SipHash-2-4 under a random secret); every Update
 * checked strictly (reserved bits, nonce, MAC, lengths, IP header and checksum, TTL,
 * Router Alert, IGMPv3/MLDv2 type and checksum, record layout); Teardown checked the
 * same way.  Data comes from a real multicast sender on --data-if (captured with a
 * packet socket; the relay joins each (S,G) with source-specific membership) or from
 * a built-in generator.  Fault modes for the gateway's recovery paths.
 *
 * Logs one line per event on stderr; prints counters as key=value on exit. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_NO_CHECK6_TX
#define UDP_NO_CHECK6_TX 101
#endif

#define MAX_SOCKS 8
#define MAX_GWS 64
#define MAX_SUBS 512
#define NONCES 4

/* ---- small helpers ---------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ info amt-relay: ", stamp, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* RFC 1071 over one or two pieces. */
static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}
static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xFFFF) + (s >> 16);
    return (uint16_t)~s;
}
static uint16_t cksum(const uint8_t *p, size_t n) { return fold(sum16(0, p, n)); }
static uint16_t cksum6(const uint8_t *src, const uint8_t *dst, uint8_t nh, const uint8_t *p, size_t n)
{
    uint8_t ph[8] = {0};
    wr32(ph, (uint32_t)n);
    ph[7] = nh;
    uint32_t s = sum16(0, src, 16);
    s = sum16(s, dst, 16);
    s = sum16(s, ph, 8);
    return fold(sum16(s, p, n));
}

/* SipHash-2-4 (Aumasson & Bernstein), for the Response MAC. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                               \
    do {                                                                                       \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                              \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                 \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                 \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                              \
    } while (0)
static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint64_t siphash(const uint8_t key[16], const uint8_t *in, size_t len)
{
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t m = le64(in + i);
        v3 ^= m;
        SIPROUND; SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t j = 0; i + j < len; j++)
        b |= (uint64_t)in[i + j] << (8 * j);
    v3 ^= b;
    SIPROUND; SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND; SIPROUND; SIPROUND; SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- addresses ------------------------------------------------------------------- */

struct addr {
    int family; /* AF_INET / AF_INET6 */
    uint8_t b[16];
};

static bool addr_parse(struct addr *a, const char *s)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, a->b) == 1) {
        a->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, a->b) == 1) {
        a->family = AF_INET6;
        return true;
    }
    return false;
}
static size_t alen(int fam) { return fam == AF_INET6 ? 16 : 4; }
static const char *fmt(const struct addr *a, char *buf)
{
    return inet_ntop(a->family, a->b, buf, INET6_ADDRSTRLEN) ? buf : "?";
}
static bool addr_eq(const struct addr *a, const struct addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, alen(a->family)) == 0;
}
static void ss_to(const struct sockaddr_storage *ss, struct addr *a, uint16_t *port)
{
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)ss;
        a->family = AF_INET;
        memcpy(a->b, &s->sin_addr, 4);
        *port = ntohs(s->sin_port);
    } else {
        const struct sockaddr_in6 *s = (const void *)ss;
        a->family = AF_INET6;
        memcpy(a->b, &s->sin6_addr, 16);
        *port = ntohs(s->sin6_port);
    }
}
static socklen_t to_ss(const struct addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == AF_INET) {
        struct sockaddr_in *s = (void *)ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        memcpy(&s->sin_addr, a->b, 4);
        return sizeof *s;
    }
    struct sockaddr_in6 *s = (void *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    memcpy(&s->sin6_addr, a->b, 16);
    return sizeof *s;
}

/* ---- state ----------------------------------------------------------------------- */

struct sock {
    struct addr addr;
    bool relay; /* an advertised relay address (closed by the restart/close faults) */
    bool discovery;
    int fd;
};

struct sub {
    struct addr s, g;
    uint64_t expires;
};

struct gw {
    bool used;
    struct addr addr;
    uint16_t port;
    int sock;
    uint32_t nonces[NONCES];
    unsigned n_nonce;
    struct sub subs[MAX_SUBS];
    unsigned n_subs;
};

enum fault { F_NONE, F_SILENT, F_RESTART, F_CLOSE };

static struct {
    uint16_t port;
    struct sock socks[MAX_SOCKS];
    int n_socks;
    struct addr adv[2];
    int n_adv;
    uint8_t secret[16];
    struct gw gws[MAX_GWS];
    unsigned qqic, mrc, mld_qqic, mld_mrc, qrv;
    bool ihl5, gflag, lflag, ignore_p, zero_csum6;
    unsigned ignore_requests, wrong_nonce, malformed;
    enum fault fault_mode;
    bool silent, await_discovery, sockets_closed;
    uint64_t sub_timeout;
    int data_if;
    int pkt_fd;
    int join_fd4, join_fd6;
    /* generator */
    double gen_rate;
    unsigned gen_size;
    uint64_t gen_count, gen_sent;
    uint16_t gen_dport;
    struct addr static_gw;
    uint16_t static_gw_port;
    struct sub static_sg;
    bool has_static;
    bool gen_wait; /* generator held until SIGUSR1 (benchmarks: fill a stopped receiver) */
    /* counters */
    uint64_t c_discovery, c_adv, c_request, c_query, c_update, c_reject, c_join, c_leave,
        c_teardown, c_teardown_reject, c_forwarded, c_malformed_sent, c_ignored;
} R;

static volatile sig_atomic_t stop;

static void new_secret(void)
{
    if (getrandom(R.secret, sizeof R.secret, 0) != (ssize_t)sizeof R.secret) {
        /* Tests only need distinct secrets per run: mix the clock and pid in. */
        uint64_t t = now_ns() ^ (uint64_t)getpid() << 32;
        memcpy(R.secret, &t, 8);
        memcpy(R.secret + 8, &t, 8);
        R.secret[0] ^= 0x5A;
    }
}

/* RFC 7450 §5.3.5: the MAC binds the gateway's source address, port and nonce. */
static void make_mac(const struct addr *a, uint16_t port, uint32_t nonce, uint8_t mac[6])
{
    uint8_t in[24] = {0};
    memcpy(in, a->b, alen(a->family));
    wr16(in + 16, port);
    wr32(in + 18, nonce);
    in[22] = (uint8_t)a->family;
    uint64_t h = siphash(R.secret, in, sizeof in);
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * i));
}

static struct gw *find_gw(const struct addr *a, uint16_t port, bool create)
{
    struct gw *free_slot = NULL;
    for (int i = 0; i < MAX_GWS; i++) {
        struct gw *g = &R.gws[i];
        if (g->used && g->port == port && addr_eq(&g->addr, a))
            return g;
        if (!g->used && !free_slot)
            free_slot = g;
    }
    if (!create || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->addr = *a;
    free_slot->port = port;
    return free_slot;
}

static void send_to(int sock, const struct addr *a, uint16_t port, const uint8_t *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = to_ss(a, port, &ss);
    if (sock < 0 || R.socks[sock].fd < 0)
        return;
    if (sendto(R.socks[sock].fd, buf, len, 0, (struct sockaddr *)&ss, sl) < 0 && errno != EAGAIN)
        logf_("sendto: %s", strerror(errno));
}

/* ---- source-specific membership on the data interface ------------------------------ */

static void membership(const struct sub *s, bool join)
{
    if (!R.data_if)
        return;
    struct group_source_req r;
    memset(&r, 0, sizeof r);
    r.gsr_interface = (uint32_t)R.data_if;
    to_ss(&s->g, 0, &r.gsr_group);
    to_ss(&s->s, 0, &r.gsr_source);
    int fd = s->g.family == AF_INET ? R.join_fd4 : R.join_fd6;
    int level = s->g.family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    if (fd >= 0 && setsockopt(fd, level, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP,
                              &r, sizeof r) < 0 && errno != EADDRINUSE && errno != EADDRNOTAVAIL)
        logf_("source membership: %s", strerror(errno));
}

static unsigned sub_users(const struct sub *s)
{
    unsigned n = 0;
    for (int i = 0; i < MAX_GWS; i++) {
        if (!R.gws[i].used)
            continue;
        for (unsigned j = 0; j < R.gws[i].n_subs; j++)
            n += addr_eq(&R.gws[i].subs[j].s, &s->s) && addr_eq(&R.gws[i].subs[j].g, &s->g);
    }
    return n;
}

static void sub_add(struct gw *g, const struct addr *s, const struct addr *grp, uint64_t now)
{
    char a[64], b[64], c[64];
    for (unsigned i = 0; i < g->n_subs; i++) {
        if (addr_eq(&g->subs[i].s, s) && addr_eq(&g->subs[i].g, grp)) {
            g->subs[i].expires = now + R.sub_timeout;
            return;
        }
    }
    if (g->n_subs == MAX_SUBS)
        return;
    struct sub *n = &g->subs[g->n_subs++];
    n->s = *s;
    n->g = *grp;
    n->expires = now + R.sub_timeout;
    R.c_join++;
    logf_("join %s,%s from %s port %u", fmt(s, a), fmt(grp, b), fmt(&g->addr, c), g->port);
    if (sub_users(n) == 1)
        membership(n, true);
}

static void sub_del(struct gw *g, unsigned i, const char *why)
{
    char a[64], b[64], c[64];
    struct sub old = g->subs[i];
    g->subs[i] = g->subs[--g->n_subs];
    R.c_leave++;
    logf_("leave %s,%s from %s port %u (%s)", fmt(&old.s, a), fmt(&old.g, b), fmt(&g->addr, c),
          g->port, why);
    if (sub_users(&old) == 0)
        membership(&old, false);
}

static void sub_remove(struct gw *g, const struct addr *s, const struct addr *grp, const char *why)
{
    for (unsigned i = 0; i < g->n_subs; i++)
        if (addr_eq(&g->subs[i].s, s) && addr_eq(&g->subs[i].g, grp)) {
            sub_del(g, i, why);
            return;
        }
}

/* ---- Query ----------------------------------------------------------------------- */

static size_t build_query(uint8_t *out, const struct gw *g, uint32_t nonce, bool mld, int sock)
{
    out[0] = 0x04;
    out[1] = (uint8_t)((R.lflag ? 0x02 : 0) | (R.gflag ? 0x01 : 0));
    make_mac(&g->addr, g->port, nonce, out + 2);
    wr32(out + 8, nonce);
    uint8_t *ip = out + 12;
    size_t n;
    if (!mld) {
        size_t hl = R.ihl5 ? 20 : 24;
        memset(ip, 0, hl + 12);
        ip[0] = (uint8_t)(0x40 | hl / 4);
        ip[1] = 0xC0;
        wr16(ip + 2, (unsigned)(hl + 12));
        ip[8] = 1;
        ip[9] = 2;
        const struct addr *src = &R.socks[sock].addr;
        if (src->family == AF_INET)
            memcpy(ip + 12, src->b, 4);
        ip[16] = 224; ip[19] = 1;
        if (!R.ihl5)
            ip[20] = 0x94, ip[21] = 0x04;
        wr16(ip + 10, cksum(ip, hl));
        uint8_t *q = ip + hl;
        q[0] = 0x11;
        q[1] = (uint8_t)R.mrc;
        q[8] = (uint8_t)(R.qrv & 7);
        q[9] = (uint8_t)R.qqic;
        wr16(q + 2, cksum(q, 12));
        n = hl + 12;
    } else {
        memset(ip, 0, 48 + 28);
        ip[0] = 0x60;
        wr16(ip + 4, 8 + 28);
        ip[6] = 0;
        ip[7] = 1;
        ip[8] = 0xfe; ip[9] = 0x80; ip[23] = 1;          /* fe80::1 */
        ip[24] = 0xff; ip[25] = 0x02; ip[39] = 1;        /* ff02::1 */
        static const uint8_t hbh[8] = {58, 0, 5, 2, 0, 0, 1, 0};
        memcpy(ip + 40, hbh, 8);
        uint8_t *q = ip + 48;
        q[0] = 130;
        wr16(q + 4, R.mld_mrc);
        q[24] = (uint8_t)(R.qrv & 7);
        q[25] = (uint8_t)R.mld_qqic;
        wr16(q + 2, cksum6(ip + 8, ip + 24, 58, q, 28));
        n = 48 + 28;
    }
    size_t len = 12 + n;
    if (R.gflag) {
        wr16(out + len, g->port);
        memset(out + len + 2, 0, 16);
        memcpy(out + len + 2 + (g->addr.family == AF_INET ? 12 : 0), g->addr.b, alen(g->addr.family));
        len += 18;
    }
    return len;
}

/* Malformed messages a relay could send, each aimed at one gateway check. */
static void send_malformed(const struct gw *g, uint32_t nonce, int sock)
{
    uint8_t b[256];
    size_t n = build_query(b, g, nonce, false, sock);
    send_to(sock, &g->addr, g->port, b, 20);               /* truncated Query */
    uint8_t bad[256];
    memcpy(bad, b, n);
    bad[12 + (R.ihl5 ? 20 : 24) + 2] ^= 0x55;               /* inner IGMP checksum */
    send_to(sock, &g->addr, g->port, bad, n);
    memcpy(bad, b, n);
    bad[12 + 3] = 200;                                     /* inner total length */
    send_to(sock, &g->addr, g->port, bad, n);
    memcpy(bad, b, n);
    bad[0] = 0x14;                                         /* version 1 */
    send_to(sock, &g->addr, g->port, bad, n);
    uint8_t adv[13] = {0x02, 0, 0, 0, 1, 2, 3, 4, 10, 0, 0, 1, 0}; /* 13-byte Advertisement */
    send_to(sock, &g->addr, g->port, adv, sizeof adv);
    uint8_t unk[8] = {0x08};                                /* unknown type */
    send_to(sock, &g->addr, g->port, unk, sizeof unk);
    uint8_t data[40] = {0x06, 0, 0x45, 0, 0, 200};          /* Data: inner length too big */
    send_to(sock, &g->addr, g->port, data, sizeof data);
    uint8_t shortd[10] = {0x06, 0, 0x45};                   /* Data: truncated */
    send_to(sock, &g->addr, g->port, shortd, sizeof shortd);
    R.c_malformed_sent += 8;
}

/* ---- Update validation (strict) ---------------------------------------------------- */

static bool nonce_issued(const struct gw *g, uint32_t nonce)
{
    for (unsigned i = 0; i < NONCES && i < g->n_nonce; i++)
        if (g->nonces[i] == nonce)
            return true;
    return false;
}

static const char *check_update(struct gw *g, const uint8_t *b, size_t len, uint64_t now)
{
    if (len < 12 + 20)
        return "shorter than 12 + 20 bytes";
    if (b[1] != 0)
        return "reserved bits set";
    uint32_t nonce = rd32(b + 8);
    if (!nonce_issued(g, nonce))
        return "nonce not issued to this gateway address and port";
    uint8_t mac[6];
    make_mac(&g->addr, g->port, nonce, mac);
    if (memcmp(mac, b + 2, 6) != 0)
        return "response MAC mismatch";
    const uint8_t *ip = b + 12;
    size_t iplen = len - 12;
    const uint8_t *r;
    size_t rl;
    int fam;
    if (ip[0] >> 4 == 4) {
        fam = AF_INET;
        if (ip[0] != 0x46)
            return "IPv4 header is not IHL 6";
        static const uint8_t ra[4] = {0x94, 0x04, 0, 0};
        if (memcmp(ip + 20, ra, 4) != 0)
            return "IPv4 Router Alert option missing";
        if (rd16(ip + 2) != iplen)
            return "IPv4 total length != datagram length";
        if (cksum(ip, 24) != 0)
            return "IPv4 header checksum";
        if (ip[1] != 0xC0)
            return "IPv4 TOS is not 0xC0 (RFC 3376 §4)";
        if (rd16(ip + 6) & 0x3FFF)
            return "IPv4 fragment";
        if (ip[8] != 1)
            return "TTL is not 1";
        if (ip[9] != 2)
            return "protocol is not IGMP";
        if (ip[16] != 224 || ip[17] != 0 || ip[18] != 0 || ip[19] != 22)
            return "destination is not 224.0.0.22";
        r = ip + 24;
        rl = iplen - 24;
        if (rl < 8)
            return "IGMP report truncated";
        if (r[0] != 0x22)
            return "IGMP type is not 0x22";
        if (r[1] || r[4] || r[5])
            return "IGMP reserved fields set";
        if (cksum(r, rl) != 0)
            return "IGMP checksum";
    } else if (ip[0] >> 4 == 6) {
        fam = AF_INET6;
        if (iplen < 48 + 8)
            return "MLD report truncated";
        if ((size_t)rd16(ip + 4) + 40 != iplen)
            return "IPv6 payload length != datagram length";
        if (ip[6] != 0)
            return "IPv6 next header is not Hop-by-Hop";
        if (ip[7] != 1)
            return "hop limit is not 1";
        static const uint8_t dst[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};
        if (memcmp(ip + 24, dst, 16) != 0)
            return "destination is not ff02::16";
        static const uint8_t hbh[8] = {58, 0, 5, 2, 0, 0, 1, 0};
        if (memcmp(ip + 40, hbh, 8) != 0)
            return "Hop-by-Hop header is not Router Alert (MLD) + PadN";
        r = ip + 48;
        rl = iplen - 48;
        if (r[0] != 143)
            return "ICMPv6 type is not 143";
        if (r[1] || r[4] || r[5])
            return "MLD reserved fields set";
        if (cksum6(ip + 8, ip + 24, 58, r, rl) != 0)
            return "ICMPv6 checksum";
    } else {
        return "encapsulated datagram is neither IPv4 nor IPv6";
    }
    size_t al = alen(fam), nrec = rd16(r + 6), off = 8;
    /* First pass: the layout must add up exactly before any state changes. */
    for (size_t i = 0; i < nrec; i++) {
        if (off + 4 + al > rl)
            return "record header beyond the report";
        if (r[off] < 1 || r[off] > 6)
            return "unknown record type";
        if (r[off + 1] != 0)
            return "aux data length not 0";
        const uint8_t *gp = r + off + 4;
        if (fam == AF_INET ? (gp[0] & 0xF0) != 0xE0 : gp[0] != 0xFF)
            return "record group is not multicast";
        off += 4 + al + (size_t)rd16(r + off + 2) * al;
        if (off > rl)
            return "record sources beyond the report";
    }
    if (off != rl)
        return "trailing bytes after the records";
    off = 8;
    for (size_t i = 0; i < nrec; i++) {
        uint8_t type = r[off];
        size_t ns = rd16(r + off + 2);
        struct addr grp = {.family = fam};
        memcpy(grp.b, r + off + 4, al);
        /* IS_IN/TO_IN with no sources leaves every source of the group (as amtrelayd). */
        if ((type == 1 || type == 3) && ns == 0) {
            for (unsigned k = g->n_subs; k-- > 0;)
                if (addr_eq(&g->subs[k].g, &grp))
                    sub_del(g, k, "include {}");
        }
        for (size_t j = 0; j < ns; j++) {
            struct addr s = {.family = fam};
            memcpy(s.b, r + off + 4 + al + j * al, al);
            if (type == 1 || type == 3 || type == 5)
                sub_add(g, &s, &grp, now);
            else if (type == 6)
                sub_remove(g, &s, &grp, "block");
        }
        off += 4 + al + ns * al;
    }
    return NULL;
}

/* ---- message handling ------------------------------------------------------------ */

static int adv_for(int family)
{
    for (int i = 0; i < R.n_adv; i++)
        if (R.adv[i].family == family)
            return i;
    return R.n_adv ? 0 : -1;
}

static void open_socket(int i);

static void handle(int sock, const struct addr *from, uint16_t port, const uint8_t *b, size_t len,
                   uint64_t now)
{
    char a[64], a2[64];
    if (len < 1)
        return;
    if (R.silent) {
        R.c_ignored++;
        return;
    }
    uint8_t out[512];
    uint8_t type = b[0];
    if (type == 0x01) {
        if (len != 8 || b[1] || b[2] || b[3] || rd32(b + 4) == 0) {
            R.c_reject++;
            logf_("REJECT discovery from %s port %u: bad length, reserved bits or zero nonce",
                  fmt(from, a), port);
            return;
        }
        R.c_discovery++;
        int ai = adv_for(from->family);
        if (ai < 0)
            return;
        if (R.await_discovery) {
            /* The restarted relay serves its advertised address again (digest §7). */
            R.await_discovery = false;
            for (int i = 0; i < R.n_socks; i++)
                if (R.socks[i].fd < 0)
                    open_socket(i);
            logf_("restart: relay address open again after a discovery");
        }
        out[0] = 0x02;
        out[1] = out[2] = out[3] = 0;
        memcpy(out + 4, b + 4, 4);
        memcpy(out + 8, R.adv[ai].b, alen(R.adv[ai].family));
        send_to(sock, from, port, out, 8 + alen(R.adv[ai].family));
        R.c_adv++;
        logf_("advertisement to %s port %u: relay %s", fmt(from, a), port, fmt(&R.adv[ai], a2));
        return;
    }
    if (type == 0x03) {
        uint32_t nonce = len == 8 ? rd32(b + 4) : 0;
        if (len != 8 || (b[1] & 0xFE) || b[2] || b[3] || nonce == 0) {
            R.c_reject++;
            logf_("REJECT request from %s port %u: bad length, reserved bits or zero nonce",
                  fmt(from, a), port);
            return;
        }
        R.c_request++;
        if (R.ignore_requests) {
            R.ignore_requests--;
            logf_("fault: ignoring request from %s port %u (%u more)", fmt(from, a), port,
                  R.ignore_requests);
            return;
        }
        struct gw *g = find_gw(from, port, true);
        if (!g)
            return;
        g->sock = sock;
        g->nonces[g->n_nonce++ % NONCES] = nonce;
        bool mld = (b[1] & 1) && !R.ignore_p;
        if (R.malformed) {
            R.malformed--;
            send_malformed(g, nonce, sock);
            logf_("fault: sent malformed messages to %s port %u", fmt(from, a), port);
        }
        uint32_t qn = nonce;
        if (R.wrong_nonce) {
            R.wrong_nonce--;
            qn = nonce + 1;
            logf_("fault: query with a wrong nonce to %s port %u", fmt(from, a), port);
        }
        size_t n = build_query(out, g, qn, mld, sock);
        if (qn != nonce)
            wr32(out + 8, qn);
        send_to(sock, from, port, out, n);
        R.c_query++;
        logf_("query to %s port %u (%s, nonce 0x%08x%s%s)", fmt(from, a), port, mld ? "MLDv2" : "IGMPv3",
              qn, R.lflag ? ", L" : "", R.gflag ? ", G" : "");
        return;
    }
    if (type == 0x05) {
        struct gw *g = find_gw(from, port, false);
        const char *why = g ? check_update(g, b, len, now) : "no request from this address and port";
        if (why) {
            R.c_reject++;
            logf_("REJECT update from %s port %u: %s", fmt(from, a), port, why);
            return;
        }
        R.c_update++;
        return;
    }
    if (type == 0x07) {
        const char *why = NULL;
        struct addr ga = {0};
        uint16_t gp = 0;
        struct gw *g = NULL;
        if (len != 30 || b[1]) {
            why = "bad length or reserved bits";
        } else {
            static const uint8_t z[12];
            gp = rd16(b + 12);
            if (memcmp(b + 14, z, 12) == 0) {
                ga.family = AF_INET;
                memcpy(ga.b, b + 26, 4);
            } else {
                ga.family = AF_INET6;
                memcpy(ga.b, b + 14, 16);
            }
            uint8_t mac[6];
            make_mac(&ga, gp, rd32(b + 8), mac);
            g = find_gw(&ga, gp, false);
            if (memcmp(mac, b + 2, 6) != 0)
                why = "response MAC does not match the gateway fields";
            else if (!R.gflag)
                why = "no query with the G flag was sent";
            else if (!g || !nonce_issued(g, rd32(b + 8)))
                why = "nonce not issued to that gateway";
        }
        if (why) {
            R.c_teardown_reject++;
            R.c_reject++;
            logf_("REJECT teardown from %s port %u: %s", fmt(from, a), port, why);
            return;
        }
        R.c_teardown++;
        logf_("teardown from %s port %u for %s port %u", fmt(from, a), port, fmt(&ga, a2), gp);
        while (g->n_subs)
            sub_del(g, 0, "teardown");
        g->used = false;
        return;
    }
    R.c_reject++;
    logf_("REJECT message type %u (%zu bytes) from %s port %u", type, len, fmt(from, a), port);
}

/* ---- data ------------------------------------------------------------------------ */

static void send_data(const struct gw *g, const uint8_t *ip, size_t len)
{
    uint8_t buf[70000];
    if (len > sizeof buf - 2)
        return;
    buf[0] = 0x06;
    buf[1] = 0;
    memcpy(buf + 2, ip, len);
    int fd = g->sock >= 0 ? R.socks[g->sock].fd : -1;
    if (fd < 0)
        return;
    bool z = R.zero_csum6 && R.socks[g->sock].addr.family == AF_INET6;
    int one = 1, zero = 0;
    /* RFC 7450 §4.2.2.3 / RFC 6935: data may go with a zero UDP checksum over IPv6;
     * control messages keep theirs, so the option is on only around data. */
    if (z)
        setsockopt(fd, SOL_UDP, UDP_NO_CHECK6_TX, &one, sizeof one);
    send_to(g->sock, &g->addr, g->port, buf, len + 2);
    if (z)
        setsockopt(fd, SOL_UDP, UDP_NO_CHECK6_TX, &zero, sizeof zero);
    R.c_forwarded++;
}

static void forward(const uint8_t *ip, size_t len)
{
    struct addr s, grp;
    memset(&s, 0, sizeof s);
    memset(&grp, 0, sizeof grp);
    if (len >= 20 && ip[0] >> 4 == 4) {
        s.family = grp.family = AF_INET;
        memcpy(s.b, ip + 12, 4);
        memcpy(grp.b, ip + 16, 4);
    } else if (len >= 40 && ip[0] >> 4 == 6) {
        s.family = grp.family = AF_INET6;
        memcpy(s.b, ip + 8, 16);
        memcpy(grp.b, ip + 24, 16);
    } else {
        return;
    }
    for (int i = 0; i < MAX_GWS; i++) {
        struct gw *g = &R.gws[i];
        if (!g->used)
            continue;
        for (unsigned j = 0; j < g->n_subs; j++)
            if (addr_eq(&g->subs[j].s, &s) && addr_eq(&g->subs[j].g, &grp)) {
                send_data(g, ip, len);
                break;
            }
    }
}

/* Builds one generator datagram for a channel: IPv4 or IPv6 + UDP, payload = 8-byte
 * sequence number then a pattern. */
static size_t gen_packet(uint8_t *ip, const struct sub *c, uint64_t seq)
{
    size_t pl = R.gen_size < 8 ? 8 : R.gen_size;
    size_t hl = c->g.family == AF_INET ? 20 : 40;
    uint8_t *u = ip + hl;
    memset(ip, 0, hl + 8);
    if (c->g.family == AF_INET) {
        ip[0] = 0x45;
        wr16(ip + 2, (unsigned)(hl + 8 + pl));
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, c->s.b, 4);
        memcpy(ip + 16, c->g.b, 4);
        wr16(ip + 10, cksum(ip, 20));
    } else {
        ip[0] = 0x60;
        wr16(ip + 4, (unsigned)(8 + pl));
        ip[6] = 17;
        ip[7] = 64;
        memcpy(ip + 8, c->s.b, 16);
        memcpy(ip + 24, c->g.b, 16);
    }
    wr16(u, 5000);
    wr16(u + 2, R.gen_dport);
    wr16(u + 4, (unsigned)(8 + pl));
    for (int i = 0; i < 8; i++)
        u[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
    for (size_t i = 8; i < pl; i++)
        u[8 + i] = (uint8_t)(i * 7 + seq);
    if (c->g.family == AF_INET6) {
        uint16_t ck = cksum6(ip + 8, ip + 24, 17, u, 8 + pl);
        wr16(u + 6, ck ? ck : 0xFFFF);
    }
    return hl + 8 + pl;
}

#define GEN_BATCH 64

/* Sends up to `budget` generator packets with sendmmsg; returns how many went. */
static uint64_t generate(uint64_t budget)
{
    static uint8_t bufs[GEN_BATCH][2048];
    struct mmsghdr mm[GEN_BATCH];
    struct iovec iov[GEN_BATCH];
    struct sockaddr_storage dst[GEN_BATCH];
    unsigned n = 0;
    int fd = -1;
    if (budget > GEN_BATCH)
        budget = GEN_BATCH;
    /* Targets: the static gateway, else every subscribed gateway's channels. */
    for (int gi = -1; gi < MAX_GWS && n < budget; gi++) {
        const struct sub *subs;
        unsigned ns;
        struct addr ga;
        uint16_t gp;
        int sfd;
        if (gi < 0) {
            if (!R.has_static)
                continue;
            subs = &R.static_sg;
            ns = 1;
            ga = R.static_gw;
            gp = R.static_gw_port;
            sfd = R.socks[0].fd;
        } else {
            const struct gw *g = &R.gws[gi];
            if (!g->used || !g->n_subs || g->sock < 0)
                continue;
            subs = g->subs;
            ns = g->n_subs;
            ga = g->addr;
            gp = g->port;
            sfd = R.socks[g->sock].fd;
        }
        if (sfd < 0 || (fd >= 0 && sfd != fd))
            continue;
        fd = sfd;
        while (n < budget) {
            const struct sub *c = &subs[(R.gen_sent + n) % ns];
            bufs[n][0] = 0x06;
            bufs[n][1] = 0;
            size_t l = gen_packet(bufs[n] + 2, c, R.gen_sent + n);
            iov[n].iov_base = bufs[n];
            iov[n].iov_len = l + 2;
            memset(&mm[n], 0, sizeof mm[n]);
            mm[n].msg_hdr.msg_iov = &iov[n];
            mm[n].msg_hdr.msg_iovlen = 1;
            mm[n].msg_hdr.msg_name = &dst[n];
            mm[n].msg_hdr.msg_namelen = to_ss(&ga, gp, &dst[n]);
            n++;
        }
    }
    if (!n || fd < 0)
        return 0;
    int r = sendmmsg(fd, mm, n, 0);
    if (r < 0)
        return 0;
    R.gen_sent += (uint64_t)r;
    R.c_forwarded += (uint64_t)r;
    return (uint64_t)r;
}

/* ---- sockets --------------------------------------------------------------------- */

static void open_socket(int i)
{
    struct sock *s = &R.socks[i];
    s->fd = socket(s->addr.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        logf_("socket: %s", strerror(errno));
        exit(1);
    }
    int one = 1, big = 8 << 20;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
        setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (s->addr.family == AF_INET6)
        setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t sl = to_ss(&s->addr, R.port, &ss);
    if (bind(s->fd, (struct sockaddr *)&ss, sl) < 0) {
        char a[64];
        logf_("bind %s port %u: %s", fmt(&s->addr, a), R.port, strerror(errno));
        exit(1);
    }
}

static void close_socket(int i)
{
    if (R.socks[i].fd >= 0)
        close(R.socks[i].fd);
    R.socks[i].fd = -1;
}

static void add_sock(const struct addr *a, bool relay, bool disc)
{
    for (int i = 0; i < R.n_socks; i++)
        if (addr_eq(&R.socks[i].addr, a)) {
            R.socks[i].relay |= relay;
            R.socks[i].discovery |= disc;
            return;
        }
    if (R.n_socks == MAX_SOCKS) {
        logf_("too many addresses");
        exit(2);
    }
    R.socks[R.n_socks] = (struct sock){.addr = *a, .relay = relay, .discovery = disc, .fd = -1};
    R.n_socks++;
}

static void fault_on(void)
{
    switch (R.fault_mode) {
    case F_SILENT:
        R.silent = true;
        logf_("fault: silent");
        break;
    case F_RESTART:
        /* A restarted relay: new secret, no tunnels, its relay address closed until a
         * Relay Discovery arrives (amtrelayd, digest §7). */
        new_secret();
        for (int i = 0; i < MAX_GWS; i++) {
            while (R.gws[i].used && R.gws[i].n_subs)
                sub_del(&R.gws[i], 0, "restart");
            R.gws[i].used = false;
        }
        for (int i = 0; i < R.n_socks; i++)
            if (R.socks[i].relay && !R.socks[i].discovery)
                close_socket(i);
        R.await_discovery = true;
        logf_("fault: restart with a new secret");
        break;
    case F_CLOSE:
        for (int i = 0; i < R.n_socks; i++)
            close_socket(i);
        R.sockets_closed = true;
        logf_("fault: port closed");
        break;
    case F_NONE:
        break;
    }
}

static void fault_off(void)
{
    R.silent = false;
    if (R.sockets_closed) {
        for (int i = 0; i < R.n_socks; i++)
            if (R.socks[i].fd < 0)
                open_socket(i);
        R.sockets_closed = false;
    }
    logf_("fault: cleared");
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: amt-relay [options]\n"
            "  -l, --listen ADDR        discovery address to serve (repeatable)\n"
            "  -a, --advertise ADDR     relay address to advertise and serve (repeatable, one per family)\n"
            "  -p, --port PORT          UDP port (2268)\n"
            "      --data-if IFNAME     forward multicast arriving on IFNAME (packet socket)\n"
            "      --qqic N             IGMPv3 QQIC (20)          --mrc N   IGMPv3 MRC (16)\n"
            "      --mld-qqic N         MLDv2 QQIC (5)            --mld-mrc N  MLDv2 MRC ms (1000)\n"
            "      --qrv N              QRV (2)\n"
            "      --timeout SECONDS    channel idle timeout (3 x QQI + 10)\n"
            "      --ihl5               queries without Router Alert (IHL 5)\n"
            "      --g-flag             queries carry the gateway address (G)\n"
            "      --l-flag             queries refuse new state (L)\n"
            "      --ignore-p           always IGMPv3 queries (amtrelayd quirk)\n"
            "      --zero-csum6         IPv6 data with a zero UDP checksum\n"
            "      --ignore-requests N  drop the first N Requests\n"
            "      --wrong-nonce N      answer the first N Requests with a wrong nonce\n"
            "      --malformed N        send malformed messages before the first N Queries\n"
            "      --fault MODE         on SIGUSR1: silent | restart | close; SIGUSR2 clears\n"
            "      --generate PPS       generator: PPS packets/s to every channel (0 = flat out)\n"
            "      --size BYTES         generator UDP payload size (64)\n"
            "      --count N            generator: stop after N packets\n"
            "      --gen-port PORT      generator UDP destination port (5001)\n"
            "      --static GW,PORT,S,G generator target without a tunnel (benchmark limit)\n"
            "      --gen-wait           hold the generator until SIGUSR1\n");
}

int main(int argc, char **argv)
{
    enum { O_DATAIF = 256, O_QQIC, O_MRC, O_MQQIC, O_MMRC, O_QRV, O_TIMEOUT, O_IHL5, O_G, O_L,
           O_IGNP, O_Z6, O_IGNREQ, O_WRONG, O_MAL, O_FAULT, O_GEN, O_SIZE, O_COUNT, O_GPORT,
           O_STATIC, O_GWAIT };
    static const struct option lo[] = {
        {"listen", required_argument, NULL, 'l'}, {"advertise", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'}, {"data-if", required_argument, NULL, O_DATAIF},
        {"qqic", required_argument, NULL, O_QQIC}, {"mrc", required_argument, NULL, O_MRC},
        {"mld-qqic", required_argument, NULL, O_MQQIC}, {"mld-mrc", required_argument, NULL, O_MMRC},
        {"qrv", required_argument, NULL, O_QRV}, {"timeout", required_argument, NULL, O_TIMEOUT},
        {"ihl5", no_argument, NULL, O_IHL5}, {"g-flag", no_argument, NULL, O_G},
        {"l-flag", no_argument, NULL, O_L}, {"ignore-p", no_argument, NULL, O_IGNP},
        {"zero-csum6", no_argument, NULL, O_Z6},
        {"ignore-requests", required_argument, NULL, O_IGNREQ},
        {"wrong-nonce", required_argument, NULL, O_WRONG},
        {"malformed", required_argument, NULL, O_MAL}, {"fault", required_argument, NULL, O_FAULT},
        {"generate", required_argument, NULL, O_GEN}, {"size", required_argument, NULL, O_SIZE},
        {"count", required_argument, NULL, O_COUNT}, {"gen-port", required_argument, NULL, O_GPORT},
        {"static", required_argument, NULL, O_STATIC}, {"gen-wait", no_argument, NULL, O_GWAIT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    R.port = 2268;
    R.qqic = 20;
    R.mrc = 16;
    R.mld_qqic = 5;
    R.mld_mrc = 1000;
    R.qrv = 2;
    R.gen_size = 64;
    R.gen_dport = 5001;
    R.gen_rate = -1;
    R.join_fd4 = R.join_fd6 = R.pkt_fd = -1;
    uint64_t timeout_s = 0;
    const char *data_if = NULL;
    int c;
    struct addr a;
    while ((c = getopt_long(argc, argv, "l:a:p:h", lo, NULL)) != -1) {
        switch (c) {
        case 'l':
        case 'a':
            if (!addr_parse(&a, optarg)) {
                fprintf(stderr, "amt-relay: bad address %s\n", optarg);
                return 2;
            }
            add_sock(&a, c == 'a', c == 'l');
            if (c == 'a' && R.n_adv < 2)
                R.adv[R.n_adv++] = a;
            break;
        case 'p': R.port = (uint16_t)atoi(optarg); break;
        case O_DATAIF: data_if = optarg; break;
        case O_QQIC: R.qqic = (unsigned)atoi(optarg); break;
        case O_MRC: R.mrc = (unsigned)atoi(optarg); break;
        case O_MQQIC: R.mld_qqic = (unsigned)atoi(optarg); break;
        case O_MMRC: R.mld_mrc = (unsigned)atoi(optarg); break;
        case O_QRV: R.qrv = (unsigned)atoi(optarg); break;
        case O_TIMEOUT: timeout_s = (uint64_t)atoi(optarg); break;
        case O_IHL5: R.ihl5 = true; break;
        case O_G: R.gflag = true; break;
        case O_L: R.lflag = true; break;
        case O_IGNP: R.ignore_p = true; break;
        case O_Z6: R.zero_csum6 = true; break;
        case O_IGNREQ: R.ignore_requests = (unsigned)atoi(optarg); break;
        case O_WRONG: R.wrong_nonce = (unsigned)atoi(optarg); break;
        case O_MAL: R.malformed = (unsigned)atoi(optarg); break;
        case O_FAULT:
            R.fault_mode = !strcmp(optarg, "silent") ? F_SILENT : !strcmp(optarg, "restart") ? F_RESTART
                         : !strcmp(optarg, "close") ? F_CLOSE : F_NONE;
            if (R.fault_mode == F_NONE) {
                usage(stderr);
                return 2;
            }
            break;
        case O_GEN: R.gen_rate = atof(optarg); break;
        case O_SIZE: R.gen_size = (unsigned)atoi(optarg); break;
        case O_COUNT: R.gen_count = strtoull(optarg, NULL, 10); break;
        case O_GPORT: R.gen_dport = (uint16_t)atoi(optarg); break;
        case O_STATIC: {
            char tmp[256], *f[4], *save = NULL;
            snprintf(tmp, sizeof tmp, "%s", optarg);
            int nf = 0;
            for (char *t = strtok_r(tmp, ",", &save); t && nf < 4; t = strtok_r(NULL, ",", &save))
                f[nf++] = t;
            if (nf != 4 || !addr_parse(&R.static_gw, f[0]) || !addr_parse(&R.static_sg.s, f[2]) ||
                !addr_parse(&R.static_sg.g, f[3])) {
                usage(stderr);
                return 2;
            }
            R.static_gw_port = (uint16_t)atoi(f[1]);
            R.has_static = true;
            break;
        }
        case O_GWAIT: R.gen_wait = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!R.n_socks || (!R.n_adv && !R.has_static)) {
        usage(stderr);
        return 2;
    }
    if (R.gen_size > 1400)
        R.gen_size = 1400;
    R.sub_timeout = (timeout_s ? timeout_s : 3ull * (R.qqic ? R.qqic : 125) + 10) * 1000000000ull;
    new_secret();
    for (int i = 0; i < R.n_socks; i++)
        open_socket(i);
    if (data_if) {
        R.data_if = (int)if_nametoindex(data_if);
        if (!R.data_if) {
            logf_("interface %s: %s", data_if, strerror(errno));
            return 1;
        }
        R.pkt_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(0x0003));
        if (R.pkt_fd < 0) {
            logf_("packet socket: %s", strerror(errno));
            return 1;
        }
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(0x0003),
                                  .sll_ifindex = R.data_if};
        if (bind(R.pkt_fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
            logf_("bind packet socket: %s", strerror(errno));
            return 1;
        }
        R.join_fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        R.join_fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    char la[64];
    logf_("listening on port %u (%d addresses; advertising %s)", R.port, R.n_socks,
          R.n_adv ? fmt(&R.adv[0], la) : "-");

    uint64_t gen_start = 0;
    uint8_t buf[70000];
    while (!stop) {
        struct pollfd p[MAX_SOCKS + 2];
        int np = 0, idx[MAX_SOCKS];
        for (int i = 0; i < R.n_socks; i++)
            if (R.socks[i].fd >= 0) {
                idx[np] = i;
                p[np++] = (struct pollfd){.fd = R.socks[i].fd, .events = POLLIN};
            }
        int pk = -1, sg = np;
        p[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        if (R.pkt_fd >= 0) {
            pk = np;
            p[np++] = (struct pollfd){.fd = R.pkt_fd, .events = POLLIN};
        }
        bool gen_on = R.gen_rate >= 0 && !R.silent && !R.gen_wait &&
                      (!R.gen_count || R.gen_sent < R.gen_count);
        int timeout = gen_on ? 0 : 200;
        if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR)
            break;
        uint64_t now = now_ns();
        if (p[sg].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGUSR1 && R.gen_wait && R.fault_mode == F_NONE) {
                    R.gen_wait = false;
                    logf_("generator: start");
                } else if (si.ssi_signo == SIGUSR1)
                    fault_on();
                else if (si.ssi_signo == SIGUSR2)
                    fault_off();
                else
                    stop = 1;
            }
        }
        for (int k = 0; k < sg; k++) {
            if (!(p[k].revents & (POLLIN | POLLERR)))
                continue;
            int i = idx[k];
            /* Bounded per wakeup so the generator and other sockets get their turn. */
            for (int j = 0; j < 64 && R.socks[i].fd >= 0; j++) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof ss;
                ssize_t n = recvfrom(R.socks[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl);
                if (n < 0)
                    break;
                struct addr from;
                uint16_t port;
                ss_to(&ss, &from, &port);
                handle(i, &from, port, buf, (size_t)n, now);
            }
        }
        if (pk >= 0 && (p[pk].revents & POLLIN)) {
            for (int j = 0; j < 256; j++) {
                struct sockaddr_ll sll;
                socklen_t sl = sizeof sll;
                ssize_t n = recvfrom(R.pkt_fd, buf, sizeof buf, 0, (struct sockaddr *)&sll, &sl);
                if (n < 0)
                    break;
                if (sll.sll_pkttype == PACKET_OUTGOING || R.silent)
                    continue;
                forward(buf, (size_t)n);
            }
        }
        if (gen_on) {
            if (!gen_start)
                gen_start = now;
            uint64_t budget = GEN_BATCH;
            if (R.gen_rate > 0) {
                double due = (double)(now - gen_start) / 1e9 * R.gen_rate;
                budget = due > (double)R.gen_sent ? (uint64_t)(due - (double)R.gen_sent) : 0;
                if (!budget) {
                    struct timespec ts = {0, 200000};
                    nanosleep(&ts, NULL);
                }
            }
            if (R.gen_count && budget > R.gen_count - R.gen_sent)
                budget = R.gen_count - R.gen_sent;
            if (budget && generate(budget) && R.gen_count && R.gen_sent >= R.gen_count)
                logf_("generator: sent %llu", (unsigned long long)R.gen_sent);
        }
        /* Channel idle timeouts (relays forget unrefreshed state, RFC 7450 §5.3.3.4). */
        for (int i = 0; i < MAX_GWS; i++)
            for (unsigned j = R.gws[i].used ? R.gws[i].n_subs : 0; j-- > 0;)
                if (R.gws[i].subs[j].expires < now)
                    sub_del(&R.gws[i], j, "timeout");
    }
    printf("discoveries=%llu advertisements=%llu requests=%llu queries=%llu updates=%llu "
           "rejected=%llu joins=%llu leaves=%llu teardowns=%llu teardowns_rejected=%llu "
           "forwarded=%llu malformed_sent=%llu ignored=%llu\n",
           (unsigned long long)R.c_discovery, (unsigned long long)R.c_adv,
           (unsigned long long)R.c_request, (unsigned long long)R.c_query,
           (unsigned long long)R.c_update, (unsigned long long)R.c_reject,
           (unsigned long long)R.c_join, (unsigned long long)R.c_leave,
           (unsigned long long)R.c_teardown, (unsigned long long)R.c_teardown_reject,
           (unsigned long long)R.c_forwarded, (unsigned long long)R.c_malformed_sent,
           (unsigned long long)R.c_ignored);
    fflush(stdout);
    return 0;
}
