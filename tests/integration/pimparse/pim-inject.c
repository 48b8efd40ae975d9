/* pim-inject.c — sends one PIMv2 Join/Prune from this host, on a raw socket, to
 * ALL-PIM-ROUTERS of an interface (the test stands in for a downstream router where no
 * packaged router speaks the family: Debian 12's FRR has no pim6d).  The IPv6 checksum
 * is left to the kernel (IPV6_CHECKSUM), an independent computation of the pseudo-header
 * sum the decoder verifies.
 *   pim-inject IFNAME SRC UPSTREAM HOLDTIME join|prune SOURCE GROUP */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pimparse/pimparse.h"
#include "pp-build.h"

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: pim-inject IFNAME SRC UPSTREAM HOLDTIME join|prune SOURCE GROUP\n");
        return 2;
    }
    const char *ifname = argv[1], *src = argv[2], *up = argv[3];
    uint16_t ht = (uint16_t)atoi(argv[4]);
    int join = strcmp(argv[5], "join") == 0;
    struct ppb_source s = {argv[6], PIMPARSE_SOURCE_S, 0};
    struct ppb_group g = {argv[7], 0, 0, join ? &s : NULL, join ? 1u : 0u, join ? NULL : &s,
                          join ? 0u : 1u};
    uint8_t m[256];
    size_t ml = ppb_jp(m, sizeof m, up, ht, &g, 1);
    unsigned idx = if_nametoindex(ifname);
    if (!idx) {
        perror(ifname);
        return 1;
    }
    uint8_t a[16];
    int v6 = ppb_addr(src, a) == 16;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, 103);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int hops = 1, off = 2;
    if (v6) {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_scope_id = idx};
        memcpy(&sa.sin6_addr, a, 16);
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof off) ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) ||
            bind(fd, (struct sockaddr *)&sa, sizeof sa)) {
            perror("IPv6 socket setup");
            return 1;
        }
        struct sockaddr_in6 d = {.sin6_family = AF_INET6, .sin6_scope_id = idx};
        uint8_t ff02d[16] = {0xff, 2, [15] = 0xd};
        memcpy(&d.sin6_addr, ff02d, 16);
        if (sendto(fd, m, ml, 0, (struct sockaddr *)&d, sizeof d) < 0) {
            perror("sendto");
            return 1;
        }
    } else {
        uint16_t c = pimparse_checksum(m, ml, 0);
        m[2] = (uint8_t)(c >> 8);
        m[3] = (uint8_t)c;
        struct ip_mreqn mr = {.imr_ifindex = (int)idx};
        struct sockaddr_in sa = {.sin_family = AF_INET};
        memcpy(&sa.sin_addr, a, 4);
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof hops) ||
            bind(fd, (struct sockaddr *)&sa, sizeof sa)) {
            perror("IPv4 socket setup");
            return 1;
        }
        struct sockaddr_in d = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xe000000d)};
        if (sendto(fd, m, ml, 0, (struct sockaddr *)&d, sizeof d) < 0) {
            perror("sendto");
            return 1;
        }
    }
    close(fd);
    return 0;
}
