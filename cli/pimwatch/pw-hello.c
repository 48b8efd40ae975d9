/* pw-hello.c — sends our PIM Hellos so downstream routers treat the ingest device as a
 * neighbor and send it their Joins (spec/pim.md §10): to ALL-PIM-ROUTERS, TTL 1,
 * TOS 0xC0, loop off; three triggered Hellos 1 s apart at start, then every period;
 * holdtime 0 on shutdown (RFC 7761 §4.3.1). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mc-common.h"
#include "pw.h"

#ifndef IPPROTO_PIM
#define IPPROTO_PIM 103
#endif

static int open4(struct pw_hello *h)
{
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_PIM);
    if (fd < 0)
        return -errno;
    int ttl = 1, loop = 0, tos = 0xc0;
    struct ip_mreqn mr;
    memset(&mr, 0, sizeof mr);
    mr.imr_ifindex = h->ifc->ifindex;
    memcpy(&mr.imr_address, h->ifc->v4[0].bytes, 4);
    struct ip_mreqn join = mr;
    join.imr_multiaddr.s_addr = htonl(0xe000000d); /* 224.0.0.13 */
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, h->ifc->name, (socklen_t)strlen(h->ifc->name)) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) ||
        setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join)) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct sockaddr_in src = {.sin_family = AF_INET};
    memcpy(&src.sin_addr, h->ifc->v4[0].bytes, 4);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    h->fd4 = fd;
    return 0;
}

static int open6(struct pw_hello *h)
{
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_PIM);
    if (fd < 0)
        return -errno;
    int hops = 1, loop = 0, tclass = 0xc0;
    unsigned idx = (unsigned)h->ifc->ifindex;
    struct ipv6_mreq join;
    memset(&join, 0, sizeof join);
    join.ipv6mr_interface = idx;
    static const uint8_t ff02d[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xd};
    memcpy(&join.ipv6mr_multiaddr, ff02d, 16);
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, h->ifc->name, (socklen_t)strlen(h->ifc->name)) ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop) ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass) ||
        setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &join, sizeof join)) {
        int e = errno;
        close(fd);
        return -e;
    }
    /* Not bound to the link-local address: right after link-up it is still tentative
     * (DAD) and bind() would fail; the kernel picks it as the source for ff02::d once it
     * is usable.  IPV6_CHECKSUM makes the kernel fill the checksum over the source it
     * picked (RFC 8200 §8.1 pseudo-header). */
    int csum_offset = 2;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &csum_offset, sizeof csum_offset) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    h->fd6 = fd;
    return 0;
}

int pw_hello_open(struct pw_hello *h, struct pw_iface *ifc, uint16_t holdtime, uint64_t period,
                  uint32_t dr_priority, uint32_t generation_id, uint64_t now)
{
    memset(h, 0, sizeof *h);
    h->fd4 = h->fd6 = -1;
    h->ifc = ifc;
    h->holdtime = holdtime;
    h->period = period;
    h->dr_priority = dr_priority;
    h->generation_id = generation_id;
    h->next = now;
    h->startup_left = 3;
    int r;
    if (ifc->n_v4 > 0 && (r = open4(h)) < 0)
        return r;
    /* An IPv6 link-local address may still be tentative (DAD) right after link-up. */
    if (ifc->has_ll6 && (r = open6(h)) < 0)
        mc_warn("no IPv6 Hellos on %s: %s", ifc->name, strerror(-r));
    if (h->fd4 < 0 && h->fd6 < 0)
        return -EADDRNOTAVAIL;
    return 0;
}

static int send_one(struct pw_hello *h, int v6, uint16_t holdtime)
{
    pimparse_hello_params p;
    pimparse_hello_params_default(&p, h->generation_id);
    p.holdtime = holdtime;
    p.dr_priority = h->dr_priority;
    /* RFC 7761 §4.3.4: secondary addresses of the family go in the Address List. */
    p.addresses = v6 ? &h->ifc->v6[1] : &h->ifc->v4[1];
    p.num_addresses = (size_t)(v6 ? h->ifc->n_v6 - 1 : h->ifc->n_v4 - 1);
    uint8_t buf[1500];
    int n;
    if (v6) {
        pimparse_addr dst;
        pimparse_addr_parse("ff02::d", &dst);
        n = pimparse_hello_encode(&p, &h->ifc->v6[0], &dst, buf, sizeof buf);
    } else {
        n = pimparse_hello_encode(&p, NULL, NULL, buf, sizeof buf);
    }
    if (n < 0)
        return -EINVAL;
    ssize_t w;
    if (v6) {
        struct sockaddr_in6 d = {.sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)h->ifc->ifindex};
        static const uint8_t ff02d[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xd};
        memcpy(&d.sin6_addr, ff02d, 16);
        w = sendto(h->fd6, buf, (size_t)n, 0, (struct sockaddr *)&d, sizeof d);
    } else {
        struct sockaddr_in d = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xe000000d)};
        w = sendto(h->fd4, buf, (size_t)n, 0, (struct sockaddr *)&d, sizeof d);
    }
    if (w < 0)
        return -errno;
    return 0;
}

int pw_hello_send(struct pw_hello *h, uint16_t holdtime)
{
    int sent = 0, r;
    if (h->fd4 >= 0) {
        if ((r = send_one(h, 0, holdtime)) == 0)
            sent++;
        else
            mc_warn("Hello on %s (IPv4) not sent: %s", h->ifc->name, strerror(-r));
    }
    if (h->fd6 >= 0) {
        if ((r = send_one(h, 1, holdtime)) == 0)
            sent++;
        else
            mc_warn("Hello on %s (IPv6) not sent: %s", h->ifc->name, strerror(-r));
    }
    return sent;
}

int pw_hello_process(struct pw_hello *h, uint64_t now)
{
    if (now < h->next)
        return 0;
    int n = pw_hello_send(h, h->holdtime);
    if (n > 0)
        mc_debug("Hello sent on %s (holdtime %u, generation ID %08x)", h->ifc->name, h->holdtime,
                 h->generation_id);
    /* A start-up Hello that could not be sent (an interface still coming up) does not
     * count: routers send no Join until they have heard one (spec/pim.md §10). */
    if (n == 0 && h->startup_left > 0) {
        h->next = now + MC_S(1);
        return 0;
    }
    if (h->startup_left > 1) {
        h->startup_left--;
        h->next = now + MC_S(1);
    } else {
        h->startup_left = 0;
        h->next = now + h->period;
    }
    return n;
}

int pw_hello_addresses_changed(struct pw_hello *h, const pimparse_addr *old_primary4,
                               uint64_t now, bool *fd4_changed)
{
    *fd4_changed = false;
    const pimparse_addr *p4 = h->ifc->n_v4 > 0 ? &h->ifc->v4[0] : NULL;
    bool same = p4 && old_primary4 && pimparse_addr_equal(p4, old_primary4);
    int r = 0;
    if (!same && (h->fd4 >= 0 || p4)) {
        /* The IPv4 socket is bound to the primary address (the Hello source). */
        if (h->fd4 >= 0)
            close(h->fd4);
        h->fd4 = -1;
        *fd4_changed = true;
        if (p4)
            r = open4(h);
    }
    h->next = now; /* a triggered Hello with the new list */
    return r;
}

void pw_hello_drain(struct pw_hello *h)
{
    uint8_t buf[2048];
    /* Bounded: at most 256 datagrams per wake-up; the rest waits for the next one. */
    for (int i = 0; i < 256 && h->fd4 >= 0; i++)
        if (recv(h->fd4, buf, sizeof buf, MSG_DONTWAIT) < 0)
            break;
    for (int i = 0; i < 256 && h->fd6 >= 0; i++)
        if (recv(h->fd6, buf, sizeof buf, MSG_DONTWAIT) < 0)
            break;
}

void pw_hello_close(struct pw_hello *h)
{
    if (h->fd4 >= 0)
        close(h->fd4);
    if (h->fd6 >= 0)
        close(h->fd6);
    h->fd4 = h->fd6 = -1;
}
