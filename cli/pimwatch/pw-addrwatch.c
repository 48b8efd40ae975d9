/* pw-addrwatch.c — notices when the capture interface's addresses change (rtnetlink
 * RTM_NEWADDR / RTM_DELADDR), so that pimwatch's upstream addresses and Hellos follow a
 * renumbering without a restart. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pw.h"

int pw_addrwatch_open(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int pw_addrwatch_read(int fd, int ifindex)
{
    int changed = 0;
    /* Bounded: 64 reads per wake-up; what is left wakes the loop again. */
    for (int round = 0; round < 64; round++) {
        union {
            struct nlmsghdr h;
            char bytes[8192];
        } buf;
        struct sockaddr_nl from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, &buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) { /* notifications were lost: look again */
                changed = 1;
                continue;
            }
            break; /* EAGAIN: all read */
        }
        if (from.nl_pid != 0) /* only the kernel speaks for the interfaces */
            continue;
        /* The messages of one datagram, each length checked before use (NLMSG_OK's
         * int/unsigned comparison is written out in size_t here). */
        size_t off = 0, len = (size_t)n;
        while (len - off >= sizeof(struct nlmsghdr)) {
            const struct nlmsghdr *h = (const struct nlmsghdr *)(void *)(buf.bytes + off);
            size_t ml = h->nlmsg_len;
            if (ml < sizeof *h || ml > len - off)
                break;
            if ((h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) &&
                ml >= NLMSG_LENGTH(sizeof(struct ifaddrmsg))) {
                const struct ifaddrmsg *ifa = NLMSG_DATA(h);
                if ((int)ifa->ifa_index == ifindex)
                    changed = 1;
            }
            off += NLMSG_ALIGN(ml);
            if (off > len)
                break;
        }
    }
    return changed;
}
