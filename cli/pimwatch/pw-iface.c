/* pw-iface.c — the capture interface's index and addresses (getifaddrs). */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "pw.h"

int pw_iface_lookup(const char *name, struct pw_iface *ifc)
{
    memset(ifc, 0, sizeof *ifc);
    if (strlen(name) >= sizeof ifc->name)
        return -ENAMETOOLONG;
    strcpy(ifc->name, name);
    ifc->ifindex = (int)if_nametoindex(name);
    if (ifc->ifindex == 0)
        return -errno;
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0)
        return -errno;
    for (struct ifaddrs *a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || strcmp(a->ifa_name, name) != 0)
            continue;
        pimparse_addr p;
        memset(&p, 0, sizeof p);
        if (a->ifa_addr->sa_family == AF_INET && ifc->n_v4 < PW_MAX_ADDRS) {
            p.family = PIMPARSE_AF_IPV4;
            memcpy(p.bytes, &((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr, 4);
            ifc->v4[ifc->n_v4++] = p;
        } else if (a->ifa_addr->sa_family == AF_INET6 && ifc->n_v6 < PW_MAX_ADDRS) {
            p.family = PIMPARSE_AF_IPV6;
            memcpy(p.bytes, &((struct sockaddr_in6 *)(void *)a->ifa_addr)->sin6_addr, 16);
            /* RFC 7761 §4.3.1: IPv6 PIM is sourced from the link-local address, which
             * is also what neighbors name as Upstream Neighbor: keep it first. */
            if (p.bytes[0] == 0xfe && (p.bytes[1] & 0xc0) == 0x80 && !ifc->has_ll6) {
                memmove(&ifc->v6[1], &ifc->v6[0], (size_t)ifc->n_v6 * sizeof p);
                ifc->v6[0] = p;
                ifc->has_ll6 = true;
            } else {
                ifc->v6[ifc->n_v6] = p;
            }
            ifc->n_v6++;
        }
    }
    freeifaddrs(list);
    return 0;
}

bool pw_iface_same_addresses(const struct pw_iface *a, const struct pw_iface *b)
{
    return a->n_v4 == b->n_v4 && a->n_v6 == b->n_v6 && a->has_ll6 == b->has_ll6 &&
           memcmp(a->v4, b->v4, (size_t)a->n_v4 * sizeof a->v4[0]) == 0 &&
           memcmp(a->v6, b->v6, (size_t)a->n_v6 * sizeof a->v6[0]) == 0;
}
