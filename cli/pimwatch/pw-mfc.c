/* pw-mfc.c — programs the kernel's multicast forwarding cache for joined (S,G)s:
 * traffic from the upstream interface (the TUN device driad-ingest writes into) goes out
 * of the capture interface, toward the downstream routers that joined.  This replaces the
 * patched pimd and dummy neighbor of the old platform (DESIGN.md). */
#include <errno.h>
/* netinet/in.h first: it tells the kernel headers not to redefine its types. */
#include <netinet/in.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mc-common.h"
#include "pw.h"

static int open4(struct pw_mfc *m, char *errmsg, size_t size)
{
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_IGMP);
    if (fd < 0) {
        int e = errno;
        snprintf(errmsg, size, "IPv4 multicast routing socket: %s", strerror(e));
        return -e;
    }
    int one = 1;
    if (setsockopt(fd, IPPROTO_IP, MRT_INIT, &one, sizeof one) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            snprintf(errmsg, size, "another process already owns the IPv4 multicast routing "
                                   "socket (a multicast routing daemon such as pimd or FRR "
                                   "pimd in this network namespace?)");
        else
            snprintf(errmsg, size, "MRT_INIT: %s", strerror(e));
        return -e;
    }
    const int ifs[2] = {m->in_ifindex, m->out_ifindex};
    for (int i = 0; i < 2; i++) {
        struct vifctl v;
        memset(&v, 0, sizeof v);
        v.vifc_vifi = (vifi_t)i;
        v.vifc_flags = VIFF_USE_IFINDEX;
        v.vifc_threshold = 1;
        v.vifc_lcl_ifindex = ifs[i];
        if (setsockopt(fd, IPPROTO_IP, MRT_ADD_VIF, &v, sizeof v) != 0) {
            int e = errno;
            snprintf(errmsg, size, "MRT_ADD_VIF %d: %s", i, strerror(e));
            close(fd);
            return -e;
        }
    }
    m->fd4 = fd;
    return 0;
}

static int open6(struct pw_mfc *m, char *errmsg, size_t size)
{
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) {
        int e = errno;
        snprintf(errmsg, size, "IPv6 multicast routing socket: %s", strerror(e));
        return -e;
    }
    int one = 1;
    if (setsockopt(fd, IPPROTO_IPV6, MRT6_INIT, &one, sizeof one) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            snprintf(errmsg, size, "another process already owns the IPv6 multicast routing "
                                   "socket (a multicast routing daemon such as pim6d?)");
        else
            snprintf(errmsg, size, "MRT6_INIT: %s", strerror(e));
        return -e;
    }
    const int ifs[2] = {m->in_ifindex, m->out_ifindex};
    for (int i = 0; i < 2; i++) {
        struct mif6ctl v;
        memset(&v, 0, sizeof v);
        v.mif6c_mifi = (mifi_t)i;
        v.mif6c_pifi = (unsigned short)ifs[i];
        v.vifc_threshold = 1;
        if (setsockopt(fd, IPPROTO_IPV6, MRT6_ADD_MIF, &v, sizeof v) != 0) {
            int e = errno;
            snprintf(errmsg, size, "MRT6_ADD_MIF %d: %s", i, strerror(e));
            close(fd);
            return -e;
        }
    }
    m->fd6 = fd;
    return 0;
}

int pw_mfc_open(struct pw_mfc *m, int in_ifindex, int out_ifindex, char *errmsg, size_t size)
{
    memset(m, 0, sizeof *m);
    m->fd4 = m->fd6 = -1;
    m->in_ifindex = in_ifindex;
    m->out_ifindex = out_ifindex;
    int r = open4(m, errmsg, size);
    if (r < 0)
        return r;
    char msg6[256];
    r = open6(m, msg6, sizeof msg6);
    if (r == -EADDRINUSE) {
        snprintf(errmsg, size, "%s", msg6);
        pw_mfc_close(m);
        return r;
    }
    /* A kernel without IPv6 multicast routing still forwards IPv4. */
    if (r < 0)
        mc_warn("IPv6 forwarding disabled: %s", msg6);
    return 0;
}

int pw_mfc_add(struct pw_mfc *m, const pimparse_addr *s, const pimparse_addr *g)
{
    int r = 0;
    if (s->family == PIMPARSE_AF_IPV4) {
        if (m->fd4 < 0)
            return -EAFNOSUPPORT;
        struct mfcctl c;
        memset(&c, 0, sizeof c);
        memcpy(&c.mfcc_origin, s->bytes, 4);
        memcpy(&c.mfcc_mcastgrp, g->bytes, 4);
        c.mfcc_parent = 0;
        c.mfcc_ttls[1] = 1;
        if (setsockopt(m->fd4, IPPROTO_IP, MRT_ADD_MFC, &c, sizeof c) != 0)
            r = -errno;
    } else {
        if (m->fd6 < 0)
            return -EAFNOSUPPORT;
        struct mf6cctl c;
        memset(&c, 0, sizeof c);
        c.mf6cc_origin.sin6_family = AF_INET6;
        memcpy(&c.mf6cc_origin.sin6_addr, s->bytes, 16);
        c.mf6cc_mcastgrp.sin6_family = AF_INET6;
        memcpy(&c.mf6cc_mcastgrp.sin6_addr, g->bytes, 16);
        c.mf6cc_parent = 0;
        IF_SET(1, &c.mf6cc_ifset);
        if (setsockopt(m->fd6, IPPROTO_IPV6, MRT6_ADD_MFC, &c, sizeof c) != 0)
            r = -errno;
    }
    if (r == 0)
        m->added++;
    else
        m->failed++;
    return r;
}

int pw_mfc_del(struct pw_mfc *m, const pimparse_addr *s, const pimparse_addr *g)
{
    int r = 0;
    if (s->family == PIMPARSE_AF_IPV4) {
        if (m->fd4 < 0)
            return -EAFNOSUPPORT;
        struct mfcctl c;
        memset(&c, 0, sizeof c);
        memcpy(&c.mfcc_origin, s->bytes, 4);
        memcpy(&c.mfcc_mcastgrp, g->bytes, 4);
        c.mfcc_parent = 0;
        if (setsockopt(m->fd4, IPPROTO_IP, MRT_DEL_MFC, &c, sizeof c) != 0)
            r = -errno;
    } else {
        if (m->fd6 < 0)
            return -EAFNOSUPPORT;
        struct mf6cctl c;
        memset(&c, 0, sizeof c);
        c.mf6cc_origin.sin6_family = AF_INET6;
        memcpy(&c.mf6cc_origin.sin6_addr, s->bytes, 16);
        c.mf6cc_mcastgrp.sin6_family = AF_INET6;
        memcpy(&c.mf6cc_mcastgrp.sin6_addr, g->bytes, 16);
        c.mf6cc_parent = 0;
        if (setsockopt(m->fd6, IPPROTO_IPV6, MRT6_DEL_MFC, &c, sizeof c) != 0)
            r = -errno;
    }
    if (r == 0)
        m->removed++;
    return r;
}

void pw_mfc_drain(struct pw_mfc *m)
{
    uint8_t buf[2048];
    /* Bounded per wake-up; upcalls (unknown (S,G) arrivals) carry nothing we need. */
    for (int i = 0; i < 256 && m->fd4 >= 0; i++)
        if (recv(m->fd4, buf, sizeof buf, MSG_DONTWAIT) < 0)
            break;
    for (int i = 0; i < 256 && m->fd6 >= 0; i++)
        if (recv(m->fd6, buf, sizeof buf, MSG_DONTWAIT) < 0)
            break;
}

void pw_mfc_close(struct pw_mfc *m)
{
    int zero = 0;
    if (m->fd4 >= 0) {
        setsockopt(m->fd4, IPPROTO_IP, MRT_DONE, &zero, sizeof zero);
        close(m->fd4);
    }
    if (m->fd6 >= 0) {
        setsockopt(m->fd6, IPPROTO_IPV6, MRT6_DONE, &zero, sizeof zero);
        close(m->fd6);
    }
    m->fd4 = m->fd6 = -1;
}
